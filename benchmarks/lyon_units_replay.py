"""Replay scores with the arrondissements municipaux as units next to their city as one commune (issue 18).

Replays the whole forecast one month before each ballot of the issue "Forecasts that stand on today"
(euro2024 as of 2024-05-15, pres2022 T1 as of 2022-03-10 by default) twice on the same warehouse:
``units=True`` (Lyon as its nine arrondissements) and ``units=False`` (Lyon as one commune), and
prints, for the retained model, the mean bloc MAE (points), the leading-bloc accuracy and the 80 %
coverage over all units, on the arrondissements (or the city) and on the other communes.

Usage: python benchmarks/lyon_units_replay.py [WAREHOUSE] [--learner foret_aleatoire] [--ballots euro2024_t1,pres2022_t1]
(default warehouse: $ELECTIO_HOME/data/warehouse/electio.duckdb). Several minutes on two cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from electio import config
from electio.forecasts.replays import run_replays

METRICS = ("mae", "acc_tete", "couv80")
GROUPS = ("", "_arrondissements", "_autres_communes")


def scores(rows: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(ballot, metric+group) → value of the retained model's mean-bloc rows."""
    kept = rows[(rows["modele"] == "retenu_rejoue") & (rows["bloc"] == "moyenne")]
    return {(r.scrutin_test, r.metrique): float(r.valeur) for r in kept.itertuples()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", nargs="?", type=Path, default=config.warehouse_path())
    parser.add_argument("--learner", default="foret_aleatoire")
    parser.add_argument("--ballots", default="euro2024_t1,pres2022_t1")
    args = parser.parse_args()
    ballots = args.ballots.split(",")
    found: dict[bool, dict] = {}
    for units in (True, False):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as cache:  # no replay cached by the other reading
            result = run_replays(args.warehouse, args.learner, ballots=ballots, offsets=[0], folder=Path(cache), units=units)
        found[units] = scores(result.rows)
        print(f"{'arrondissements' if units else 'Lyon en une commune'} : {time.perf_counter() - start:.0f} s")
    print(f"{'scrutin':<13} {'mesure':<28} {'9 arrondissements':>18} {'Lyon en une commune':>20}")
    for ballot in ballots:
        for metric in METRICS:
            for group in GROUPS:
                key = (ballot, metric + group)
                values = [found[u].get(key) for u in (True, False)]
                if any(v is not None for v in values):
                    shown = [f"{v:.3f}" if v is not None else "—" for v in values]
                    print(f"{ballot:<13} {metric + group:<28} {shown[0]:>18} {shown[1]:>20}")


if __name__ == "__main__":
    main()
