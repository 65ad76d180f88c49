"""Interval coverage of the one-month replays, next to the coverage the forecast itself expects on one ballot.

For each ballot (default euro2024_t1 as of 2024-05-15, pres2022_t1 as of 2022-03-10): the retained
model's replay scores (mean bloc MAE, leading-bloc accuracy, Brier of P(lead), 80 % and 95 % commune
coverage, per bloc), and the distribution of :func:`electio.forecasts.simulate.self_coverage` — the
80 % coverage the same ballot would show if the forecast were exactly right (one joint draw taken as
the truth): one territory error is shared by every commune, so one ballot's coverage is far from
exactly 80 % even for a calibrated forecast.

Usage: ELECTIO_HOME=… python benchmarks/replay_coverage.py [--ballots euro2024_t1,pres2022_t1] (a minute or two on two cores).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from electio import config
from electio.features.election_data import cut_to_date, load_election_data
from electio.forecasts import replays as rp
from electio.forecasts import scenarios as sc
from electio.forecasts.engine import EngineSettings, scenario_draws, target_setup
from electio.forecasts.simulate import self_coverage
from electio.forecasts.trajectories import with_indicators

METRICS = ["mae", "acc_tete", "brier", "couv80", "couv95"]


def expected_coverage(full, sid: str, learner: str) -> np.ndarray:  # noqa: ANN001 - ElectionData
    """Self-coverage of the one-month replay of ``sid`` (:func:`self_coverage` over its draws)."""
    case = next(c for c in rp.replay_cases(full, [sid]) if c.horizon_ans == 0)
    target = rp.replay_target(case, frozenset(full.ballots["type_scrutin"]))
    data = cut_to_date(full, case.as_of)
    calibration, fitted = rp.fitted(data, target, learner, False, {})
    base, projected, setup, _ = target_setup(data, target, calibration, EngineSettings(), rp.percent_indicators(config.warehouse_path()))
    shares, _, _, _, present = scenario_draws(with_indicators(base, projected, sc.TREND_SCENARIO.indicateurs), fitted, sc.TREND_SCENARIO, setup)
    return self_coverage(shares, present)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", default="euro2024_t1,pres2022_t1")
    parser.add_argument("--learner", default="foret_aleatoire")
    args = parser.parse_args()
    ballots = args.ballots.split(",")
    with tempfile.TemporaryDirectory() as cache:
        result = rp.run_replays(config.warehouse_path(), args.learner, ballots=ballots, offsets=[0], folder=Path(cache))
    rows = result.rows[(result.rows["modele"] == rp.RETAINED) & result.rows["metrique"].isin(METRICS)]
    pd.set_option("display.width", 200)
    print(rows.pivot_table(index=["scrutin_test", "bloc"], columns="metrique", values="valeur").reindex(columns=METRICS).round(3).to_string())
    full = load_election_data(config.warehouse_path())
    for sid in ballots:
        values = expected_coverage(full, sid, args.learner)
        q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
        print(f"{sid} : couverture 80 % attendue d'un scrutin si la prévision était exacte — moyenne {values.mean():.3f}, "
              f"5 % {q[0]:.3f}, 25 % {q[1]:.3f}, médiane {q[2]:.3f}, 75 % {q[3]:.3f}, 95 % {q[4]:.3f}")


if __name__ == "__main__":
    main()
