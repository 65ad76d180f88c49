"""Leak-free replay of the forecast simulation on the backtests: are its lead probabilities reliable?

The lead probabilities stored by ``electio evaluate`` only account for the communes' residuals,
so when the territory totals are themselves forecast they are overconfident. The forecasts add
the territory uncertainty (:mod:`.uncertainty`); this module checks that addition. For each
unconditional backtest of the retained model (territory totals forecast, not given), it re-runs
the forecast simulation with only what was known before the test ballot:

* the territory's central totals: the backtest forecast's own totals (exprimés- and
  inscrits-weighted means of its commune forecasts), each commune keeping its forecast deviation;
* the territory spread: the swings of comparable ballot pairs that ended before the test ballot;
* the commune residuals: the conditional backtests of earlier ballots only.

Ballots without an earlier swing or an earlier calibration are skipped. The resulting lead
probabilities are compared with the observed leaders (source ``simulation`` of
``forecast_calibration``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from electio.features.modelling_table import ElectionData
from electio.forecasts.simulate import commune_draws, lead_probabilities, residual_draws
from electio.forecasts.uncertainty import horizon_calibration, swings, territory_draws, yearly_variance
from electio.models.backtest import Prediction
from electio.models.compositional import clr_deviation, logit
from electio.models.intervals import calibration_scale, sizes

REPLAY_DRAWS = 1000


def central_totals(prediction: Prediction) -> tuple[np.ndarray, float]:
    """The territory totals implied by a backtest forecast: exprimés-weighted shares, inscrits-weighted abstention."""
    rows, k = prediction.rows, prediction.predicted.shape[1] - 1
    shares = np.average(prediction.predicted[:, :k], axis=0, weights=rows["exprimes"].to_numpy(float))
    return shares, float(np.average(prediction.predicted[:, k], weights=rows["inscrits"].to_numpy(float)))


def replay(prediction: Prediction, data: ElectionData, conditional: Sequence[Prediction], draws: int = REPLAY_DRAWS, seed: int = 0) -> np.ndarray | None:
    """Simulated lead probabilities (n × k) of one unconditional backtest, or None when nothing earlier calibrates it."""
    earlier = [p for p in conditional if p.date < prediction.date]
    table = swings(data, before=prediction.date)
    if not earlier or table.empty:
        return None
    variance = yearly_variance(table).reindex([*data.blocs, "abstention"]).to_numpy(float)
    calibration, _ = horizon_calibration(earlier, prediction.horizon_ans)
    k = len(data.blocs)
    present = prediction.present[:, :k]
    shares, abstention = central_totals(prediction)
    deviation = np.column_stack([np.nan_to_num(clr_deviation(prediction.predicted[:, :k], np.tile(shares, (len(present), 1)), present)),
                                 logit(prediction.predicted[:, k]) - logit(abstention)])
    rng = np.random.default_rng(seed)
    territory, rates = territory_draws(shares, abstention, variance, prediction.horizon_ans, rng.standard_normal((draws, k + 1)))
    spread = calibration_scale(calibration, prediction.predicted, sizes(prediction))
    residuals = residual_draws(calibration, spread, draws, rng)
    rows = prediction.rows
    drawn, _ = commune_draws(deviation, present, rows["exprimes"].to_numpy(float), rows["inscrits"].to_numpy(float), territory, rates, residuals)
    return lead_probabilities(drawn, present)


def replay_outcomes(predictions: Sequence[Prediction], data: ElectionData, draws: int = REPLAY_DRAWS) -> pd.DataFrame:
    """Outcome rows (as :func:`.uncertainty.lead_outcomes`) of the replayed unconditional backtests."""
    conditional = [p for p in predictions if p.conditionnel]
    frames = []
    for prediction in (p for p in predictions if not p.conditionnel):
        probability = replay(prediction, data, conditional, draws)
        if probability is None:
            continue
        k = probability.shape[1]
        present = prediction.present[:, :k]
        observed = np.where(present, prediction.observed[:, :k], -np.inf)
        leader = observed == observed.max(axis=1, keepdims=True)
        frames.append(pd.DataFrame({
            "scrutin_test": prediction.scrutin_test, "horizon_ans": prediction.horizon_ans, "conditionnel": False,
            "bloc": np.tile(np.asarray(data.blocs), len(present))[present.ravel()],
            "proba_tete": probability[present], "en_tete": leader[present].astype(float),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
