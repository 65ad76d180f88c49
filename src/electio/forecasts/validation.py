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
from electio.models.intervals import SIZE_LABELS, calibration_scale, size_class, sizes

REPLAY_DRAWS = 1000


def central_totals(prediction: Prediction) -> tuple[np.ndarray, float]:
    """The territory totals implied by a backtest forecast: exprimés-weighted shares, inscrits-weighted abstention."""
    rows, k = prediction.rows, prediction.predicted.shape[1] - 1
    shares = np.average(prediction.predicted[:, :k], axis=0, weights=rows["exprimes"].to_numpy(float))
    return shares, float(np.average(prediction.predicted[:, k], weights=rows["inscrits"].to_numpy(float)))


def replay(prediction: Prediction, data: ElectionData, conditional: Sequence[Prediction], draws: int = REPLAY_DRAWS, seed: int = 0) -> np.ndarray | None:
    """Simulated lead probabilities (n × k) of one unconditional backtest, or None when nothing earlier calibrates it."""
    drawn = replay_draws(prediction, data, conditional, draws, seed)
    return None if drawn is None else lead_probabilities(drawn, prediction.present[:, :len(data.blocs)])


def replay_draws(prediction: Prediction, data: ElectionData, conditional: Sequence[Prediction], draws: int = REPLAY_DRAWS, seed: int = 0) -> np.ndarray | None:
    """Simulated bloc shares (draws × n × k) of one unconditional backtest, or None when nothing earlier calibrates it."""
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
    return drawn


def replay_coverage(predictions: Sequence[Prediction], data: ElectionData, level: float = 0.8, draws: int = REPLAY_DRAWS) -> pd.DataFrame:
    """Coverage of the replayed central ``level`` intervals (quantiles of the draws) of the unconditional backtests,
    per ballot and bloc (blocs that did not stand are left out) and per size class (mean over blocs):
    columns scrutin_test, horizon_ans, bloc, classe_taille, couverture, communes."""
    conditional = [p for p in predictions if p.conditionnel]
    rows = []
    k = len(data.blocs)
    for prediction in (p for p in predictions if not p.conditionnel):
        drawn = replay_draws(prediction, data, conditional, draws)
        if drawn is None:
            continue
        low, high = np.quantile(drawn, [(1 - level) / 2, (1 + level) / 2], axis=0)
        present = prediction.present[:, :k]
        observed = prediction.observed[:, :k]
        hit = np.where(present, (observed >= low - 1e-12) & (observed <= high + 1e-12), np.nan)
        case = (prediction.scrutin_test, prediction.horizon_ans)
        rows += [(*case, b, "toutes", float(np.nanmean(hit[:, j])), int(present[:, j].sum())) for j, b in enumerate(data.blocs) if present[:, j].any()]
        classes = size_class(prediction.rows["taille_exprimes"].to_numpy(float))
        for c, label in enumerate(SIZE_LABELS):
            member = classes == c
            if member.any():
                by_bloc = np.nanmean(hit[member], axis=0)
                rows.append((*case, "moyenne", label, float(np.nanmean(by_bloc[present[member].any(axis=0)])), int(member.sum())))
    return pd.DataFrame(rows, columns=["scrutin_test", "horizon_ans", "bloc", "classe_taille", "couverture", "communes"])


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
