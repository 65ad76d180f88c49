"""The in-memory forecast engine: one target's commune summaries from data already cut at the as-of date.

Given an :class:`~electio.features.election_data.ElectionData` (cut by
:func:`~electio.features.election_data.load_election_data` — the engine never filters dates
itself), a fitted learner and the interval calibration of its conditional backtests, it sets up the
target (modelling rows, projected indicators, territory totals of :mod:`electio.models.territory`,
common random numbers), then draws the territory and the communes, scenario by scenario with the
same random numbers, and returns long summary rows (mean, stored quantiles, P(lead), P(share >
threshold)) of every commune then of the territory. The forecast stage (:mod:`.stage`), the
dashboard's what-if engine and the replays (:mod:`.replays`) all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from electio.features.election_data import ElectionData
from electio.features.modelling_table import outputs
from electio.forecasts import scenarios as sc
from electio.forecasts.simulate import commune_draws, residual_draws, residual_scale, summarise, summary_frame
from electio.forecasts.targets import Target, target_table
from electio.forecasts.trajectories import project, with_indicators
from electio.forecasts.uncertainty import territory_draws
from electio.models.backtest import reconcile
from electio.models.baselines import Totals, present_mask
from electio.models.intervals import Calibration
from electio.models.learners import PooledLearner
from electio.models.territory import TerritoryForecast, standing_blocs, territory_totals

DRAWS = 2000
SEED = 2026
THRESHOLD = 0.30


@dataclass(frozen=True)
class EngineSettings:
    """Number of draws, seed, P(share > threshold)."""

    draws: int = DRAWS
    seed: int = SEED
    threshold: float = THRESHOLD


@dataclass(frozen=True)
class TargetSetup:
    """What every scenario of one target shares: central totals, territory variance, calibration, random numbers."""

    center: Totals
    variance: np.ndarray  # territory variance per output at the target's horizon (log-ratio / logit scale)
    calibration: Calibration
    normals: np.ndarray  # draws × (k + 1) standard normals of the territory draws
    residual_seed: tuple[int, ...]  # seed of the residual picks (the same for every scenario)


def tiled(shares: np.ndarray, abstention: float, n: int) -> Totals:
    """One territory's totals (k shares, abstention) repeated on ``n`` commune rows."""
    return Totals(np.tile(np.asarray(shares, dtype=float), (n, 1)), np.full(n, float(abstention)))


def exceedance(shares: np.ndarray, threshold: float, present: np.ndarray) -> np.ndarray:
    """P(share > threshold) per commune and bloc (n × k), from draws × n × k."""
    return np.where(present, (shares > threshold).mean(axis=0), 0.0)


def scenario_draws(rows: pd.DataFrame, learner: PooledLearner, scenario: sc.Scenario, setup: TargetSetup
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The draws of one target × scenario: commune shares (draws × n × k) and abstention (draws × n), the
    territory's shares (draws × k) and abstention (draws), and the blocs standing per commune (n × k)."""
    blocs, k, center, calibration = learner.blocs, len(learner.blocs), setup.center, setup.calibration
    present = present_mask(rows, blocs)
    deviation = rows[[f"ref_z_{o}" for o in outputs(blocs)]].to_numpy(float) + learner.predict(rows)
    mid_shares, mid_abstention = sc.apply_swings(center.shares[0], center.abstention[0], blocs, scenario.swing)
    n = len(rows)
    middle = reconcile(deviation[:, :k], deviation[:, k], rows, blocs, Totals(np.tile(mid_shares, (n, 1)), np.full(n, mid_abstention)))
    spread = residual_scale(rows, np.column_stack([middle.shares, middle.abstention]), np.column_stack([present, np.ones(n, bool)]), calibration)
    drawn, rates = territory_draws(center.shares[0], float(center.abstention[0]), setup.variance, 1.0, setup.normals)
    drawn, rates = sc.apply_swings(drawn, rates, blocs, scenario.swing)
    residuals = residual_draws(calibration, spread, len(setup.normals), np.random.default_rng(list(setup.residual_seed)))
    weights = rows["aux_exprimes_ref"].fillna(rows["exprimes"].median()).to_numpy(float)
    inscrits = rows["aux_inscrits_ref"].fillna(rows["inscrits"].median()).to_numpy(float)
    shares, abstention = commune_draws(deviation, present, weights, inscrits, drawn, rates, residuals)
    return shares, abstention, drawn, rates, present


def simulate(rows: pd.DataFrame, learner: PooledLearner, scenario: sc.Scenario, setup: TargetSetup, threshold: float, territory: str) -> pd.DataFrame:
    """Long rows of one target × scenario: every commune, then the territory (code = département)."""
    shares, abstention, drawn, rates, present = scenario_draws(rows, learner, scenario, setup)
    blocs, n = learner.blocs, len(rows)
    communes = summary_frame(rows["code_commune"].tolist(), blocs, summarise(shares, abstention, present), present)
    whole = summary_frame([territory], blocs, summarise(drawn[:, None, :], rates[:, None], present[:1]), present[:1])
    communes["p_seuil"] = np.column_stack([exceedance(shares, threshold, present), np.full(n, np.nan)])[np.column_stack([present, np.ones(n, bool)])]
    whole["p_seuil"] = np.append(exceedance(drawn[:, None, :], threshold, present[:1])[0][present[0]], np.nan)
    return pd.concat([communes, whole], ignore_index=True)


def setup_with(target: Target, blocs: Sequence[str], center: Totals, variance: np.ndarray, calibration: Calibration,
               settings: EngineSettings) -> TargetSetup:
    """A target's setup from given central totals and variance, with the engine's common random numbers."""
    normals = np.random.default_rng([settings.seed, target.horizon_ans]).standard_normal((settings.draws, len(blocs) + 1))
    return TargetSetup(center, np.asarray(variance, dtype=float), calibration, normals, (settings.seed, target.horizon_ans, 1))


def target_setup(data: ElectionData, target: Target, calibration: Calibration, settings: EngineSettings = EngineSettings(),
                 percent: frozenset[str] = frozenset(), hypothesis_query: str | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, TargetSetup, TerritoryForecast]:
    """What every scenario of one target shares: its modelling rows (blocs standing: the last same-type
    ballot's and those the polls test, :func:`electio.models.territory.standing_blocs`), projected indicators,
    the territory totals (:func:`electio.models.territory.territory_totals`, from the polls of the first-round
    hypothesis :func:`poll_hypothesis` picks for ``hypothesis_query``) and the common random numbers."""
    hypothesis = poll_hypothesis(data, target, hypothesis_query)
    base = target_table(data, target, standing_blocs(data, target.scrutin_cible, target.type_scrutin, hypothesis))
    projected = project(data.indicators, target.date, percent) if data.indicators is not None else pd.DataFrame()
    totals = territory_totals(data, target.scrutin_cible, target.type_scrutin, target.date, present=present_mask(base, data.blocs)[0], hypothesis=hypothesis)
    setup = setup_with(target, data.blocs, tiled(totals.shares, totals.abstention, len(base)), totals.sd ** 2, calibration, settings)
    return base, projected, setup, totals


def poll_hypothesis(data: ElectionData, target: Target, query: str | None) -> str | None:
    """The candidate list (polls' ``candidats``) of the first-round hypothesis of ``target``: the one asked for
    (``--hypothese``), else the default of :mod:`electio.forecasts.hypotheses`; None for a target without such polls."""
    from electio.forecasts import hypotheses as hy

    if data.polls is None or target.scrutin_cible != hy.FIRST_ROUND or data.polls[data.polls["scrutin_cible"] == target.scrutin_cible].empty:
        return None
    chosen = hy.choose_hypothesis(hy.list_hypotheses(data.polls, data.as_of or pd.Timestamp(date.today()), target.scrutin_cible), query)
    rows = data.polls.loc[data.polls["candidats"].map(hy.split_candidates) == chosen.candidats, "candidats"]
    return str(rows.iloc[0]) if len(rows) else None


def scenario_rows(data: ElectionData, learner: PooledLearner, target: Target, base: pd.DataFrame, projected: pd.DataFrame,
                  setup: TargetSetup, scenarios: Sequence[sc.Scenario], threshold: float) -> pd.DataFrame:
    """Long rows of every scenario of one set-up target (the same random numbers for each)."""
    frames = [simulate(with_indicators(base, projected, scenario.indicateurs), learner, scenario, setup, threshold, data.territoire)
              .assign(scenario=scenario.nom, horizon_ans=target.horizon_ans, scrutin_cible=target.scrutin_cible) for scenario in scenarios]
    return pd.concat(frames, ignore_index=True)


def forecast_target(data: ElectionData, learner: PooledLearner, target: Target, scenarios: Sequence[sc.Scenario], calibration: Calibration,
                    settings: EngineSettings = EngineSettings(), percent: frozenset[str] = frozenset(),
                    hypothesis_query: str | None = None) -> tuple[pd.DataFrame, TerritoryForecast]:
    """Long summary rows of every scenario of one target, and the target's territory totals.

    ``hypothesis_query``: the first-round hypothesis asked for (``--hypothese``; default: the highest recency weight of polls in 60 days)."""
    base, projected, setup, totals = target_setup(data, target, calibration, settings, percent, hypothesis_query)
    return scenario_rows(data, learner, target, base, projected, setup, scenarios, settings.threshold), totals
