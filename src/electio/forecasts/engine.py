"""The in-memory forecast engine: one target's commune summaries from data already cut at the as-of date.

Given an :class:`~electio.features.election_data.ElectionData` (cut by
:func:`~electio.features.election_data.load_election_data` — the engine never filters dates
itself), a fitted learner, the interval calibration of its conditional backtests, the territory's
central totals and their variance, it draws the territory and the communes with common random
numbers across scenarios and returns long summary rows (mean, stored quantiles, P(lead),
P(share > threshold)) of every commune then of the territory. The forecast stage
(:mod:`.stage`) is the I/O around it; the replays (:mod:`.replays`) call it as of past dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from electio.features.modelling_table import ElectionData, outputs
from electio.forecasts import scenarios as sc
from electio.forecasts.simulate import commune_draws, residual_draws, residual_scale, summarise, summary_frame
from electio.forecasts.targets import Target, target_table
from electio.forecasts.trajectories import project, with_indicators
from electio.forecasts.uncertainty import territory_draws
from electio.models.backtest import reconcile, territory_forecast
from electio.models.baselines import Totals, present_mask
from electio.models.intervals import Calibration
from electio.models.learners import PooledLearner


@dataclass(frozen=True)
class TargetSetup:
    """What every scenario of one target shares: central totals, territory variance, calibration, random numbers.

    ``horizon``: the factor of ``variance`` in the territory draws; None: the target rows' ``horizon_ans``
    (``variance`` is then per year); 1.0 when ``variance`` is already the total at the horizon.
    """

    center: Totals
    variance: np.ndarray
    calibration: Calibration
    normals: np.ndarray  # draws × (k + 1) standard normals of the territory draws
    residual_seed: tuple[int, ...]  # seed of the residual picks (the same for every scenario)
    horizon: float | None = None


@dataclass(frozen=True)
class EngineSettings:
    """Number of draws, seed, P(share > threshold)."""

    draws: int
    seed: int
    threshold: float


def exceedance(shares: np.ndarray, threshold: float, present: np.ndarray) -> np.ndarray:
    """P(share > threshold) per commune and bloc (n × k), from draws × n × k."""
    return np.where(present, (shares > threshold).mean(axis=0), 0.0)


def simulate(rows: pd.DataFrame, learner: PooledLearner, scenario: sc.Scenario, setup: TargetSetup, threshold: float, territory: str) -> pd.DataFrame:
    """Long rows of one target × scenario: every commune, then the territory (code = département)."""
    blocs, k, center, calibration = learner.blocs, len(learner.blocs), setup.center, setup.calibration
    present = present_mask(rows, blocs)
    deviation = rows[[f"ref_z_{o}" for o in outputs(blocs)]].to_numpy(float) + learner.predict(rows)
    mid_shares, mid_abstention = sc.apply_swings(center.shares[0], center.abstention[0], blocs, scenario.swing)
    n = len(rows)
    middle = reconcile(deviation[:, :k], deviation[:, k], rows, blocs, Totals(np.tile(mid_shares, (n, 1)), np.full(n, mid_abstention)))
    spread = residual_scale(rows, np.column_stack([middle.shares, middle.abstention]), np.column_stack([present, np.ones(n, bool)]), calibration)
    horizon = float(rows["horizon_ans"].iloc[0]) if setup.horizon is None else setup.horizon
    drawn, rates = territory_draws(center.shares[0], float(center.abstention[0]), setup.variance, horizon, setup.normals)
    drawn, rates = sc.apply_swings(drawn, rates, blocs, scenario.swing)
    residuals = residual_draws(calibration, spread, len(setup.normals), np.random.default_rng(list(setup.residual_seed)))
    weights = rows["aux_exprimes_ref"].fillna(rows["exprimes"].median()).to_numpy(float)
    inscrits = rows["aux_inscrits_ref"].fillna(rows["inscrits"].median()).to_numpy(float)
    shares, abstention = commune_draws(deviation, present, weights, inscrits, drawn, rates, residuals)
    communes = summary_frame(rows["code_commune"].tolist(), blocs, summarise(shares, abstention, present), present)
    whole = summary_frame([territory], blocs, summarise(drawn[:, None, :], rates[:, None], present[:1]), present[:1])
    communes["p_seuil"] = np.column_stack([exceedance(shares, threshold, present), np.full(n, np.nan)])[np.column_stack([present, np.ones(n, bool)])]
    whole["p_seuil"] = np.append(exceedance(drawn[:, None, :], threshold, present[:1])[0][present[0]], np.nan)
    return pd.concat([communes, whole], ignore_index=True)


def tiled(shares: np.ndarray, abstention: float, n: int) -> Totals:
    """One territory's totals (k shares, abstention) repeated on ``n`` commune rows."""
    return Totals(np.tile(np.asarray(shares, dtype=float), (n, 1)), np.full(n, float(abstention)))


def forecast_target(data: ElectionData, learner: PooledLearner, target: Target, scenarios: Sequence[sc.Scenario], variance: np.ndarray,
                    calibration: Calibration, settings: EngineSettings, percent: frozenset[str] = frozenset(),
                    base: pd.DataFrame | None = None, center: Totals | None = None, horizon: float | None = None) -> pd.DataFrame:
    """Long summary rows of every scenario of one target, with common random numbers.

    ``base``: the target's modelling rows (default: built from ``data``); ``center``: the
    territory's central totals (default: the territory model of :mod:`electio.models.backtest`);
    ``variance``/``horizon``: see :class:`TargetSetup`.
    """
    base = target_table(data, target) if base is None else base
    projected = project(data.indicators, target.date, percent) if data.indicators is not None else pd.DataFrame()
    normals = np.random.default_rng([settings.seed, target.horizon_ans]).standard_normal((settings.draws, len(data.blocs) + 1))
    center = territory_forecast(base, data.blocs) if center is None else center
    setup = TargetSetup(center, variance, calibration, normals, (settings.seed, target.horizon_ans, 1), horizon)
    frames = [simulate(with_indicators(base, projected, scenario.indicateurs), learner, scenario, setup, settings.threshold, data.territoire)
              .assign(scenario=scenario.nom, horizon_ans=target.horizon_ans, scrutin_cible=target.scrutin_cible) for scenario in scenarios]
    return pd.concat(frames, ignore_index=True)
