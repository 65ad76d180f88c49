"""Territory totals replayed as of past dates, scored against the real département totals.

For each ballot that had polls (pres2017 T1, euro2019, pres2022 T1, euro2024, leg2024 T1), the
territory's totals are forecast as of one month before the vote and one, two and three years
before where the warehouse allows (an earlier ballot of any national type is known), with
:func:`electio.models.territory.territory_totals` on the data cut to that date, next to:

* ``ancien``: the previous territory model (:func:`electio.models.backtest.territory_forecast`'s
  rule: the last same-type ballot's territory totals, a bloc missing there from the latest ballot
  where it stood) with its spread (random walk of :mod:`electio.forecasts.uncertainty`, variance
  per year × horizon in whole years);
* ``persistance``: the territory's totals at the last national ballot of any type;
* ``reference``: the issue's crude reference — the final national polls (the aggregate of every
  poll published before the vote, NOT only those before the as-of date: a bar that knows more)
  times the territory's ratio to France at the last same-type ballot (a bloc the polls do not
  give: its share at the last same-type national ballot, as in the model).

Scores: mean absolute error over the blocs standing (points), abstention error (points), and the
share of blocs whose true share lies in the 80 % interval (4,000 draws of
:func:`electio.forecasts.uncertainty.territory_draws`).

Usage: python benchmarks/territory_replay.py [WAREHOUSE] (default: $ELECTIO_HOME/data/warehouse/electio.duckdb)
"""

from __future__ import annotations

import math
import sys
import warnings
import time
from pathlib import Path

import numpy as np
import pandas as pd

from electio import config
from electio.features.election_data import ABSTENTION, ElectionData, cut_to_date, load_election_data
from electio.features.modelling_table import TARGET_TYPES
from electio.forecasts.uncertainty import swings, territory_draws, yearly_variance
from electio.models.compositional import close
from electio.models.polls_aggregate import poll_aggregate
from electio.models.polls_aggregate import calibration_summary, national_results
from electio.models.territory import all_deviations, latest_known, local_history, territory_totals, totals_wide

POLLED = ("pres2017_t1", "euro2019_t1", "pres2022_t1", "euro2024_t1", "leg2024_t1")
OFFSETS = (("1 mois", pd.DateOffset(months=1)), ("1 an", pd.DateOffset(years=1)), ("2 ans", pd.DateOffset(years=2)), ("3 ans", pd.DateOffset(years=3)))
GOALS = {"euro2024_t1": "2024-05-15", "pres2022_t1": "2022-03-10"}  # the goal dates
DRAWS = 4000


def interval_hits(shares: np.ndarray, abstention: float, variance: np.ndarray, truth: np.ndarray, present: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per standing bloc: whether the true share lies in the central 80 % interval of the draws."""
    normals = np.random.default_rng(seed).standard_normal((DRAWS, len(shares) + 1))
    drawn, _ = territory_draws(shares, abstention, variance, 1.0, normals)
    low, high = np.quantile(drawn, 0.1, axis=0), np.quantile(drawn, 0.9, axis=0)
    return ((truth >= low) & (truth <= high))[present]


def mae(predicted: np.ndarray, truth: np.ndarray, present: np.ndarray) -> float:
    """Mean absolute error over the standing blocs, in points."""
    return float(100 * np.mean(np.abs(predicted - truth)[present]))


def old_model(data: ElectionData, type_scrutin: str, present: np.ndarray, date: pd.Timestamp) -> tuple[np.ndarray, float, np.ndarray]:
    """The previous territory model's totals and its variance at the stage's horizon (whole years)."""
    local, blocs = local_history(data), list(data.blocs)
    values, reference = latest_known(local, blocs, type_scrutin)
    same = local[local["type_scrutin"] == type_scrutin]
    abstention = float((same if not same.empty else local)[ABSTENTION].iloc[-1])
    table = swings(data)
    horizon = max(1, math.ceil((date - data.as_of).days / 365.25))
    variance = yearly_variance(table).to_numpy(float) * horizon if not table.empty else np.zeros(len(blocs) + 1)
    return close(np.nan_to_num(values)[None], present[None])[0], abstention, variance


def replay(path: Path, ballots: tuple[str, ...] = POLLED, offsets: tuple = OFFSETS, goals: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per replayed (ballot, as-of date): errors and coverage of each territory model."""
    full = load_election_data(path)
    blocs, territory = list(full.blocs), full.territoire
    truth_table = totals_wide(full, territory)
    first = full.totals["date_scrutin"].min()
    rows = []
    for target in ballots:
        if target not in truth_table.index:
            continue
        date, type_scrutin = truth_table.loc[target, "date_scrutin"], truth_table.loc[target, "type_scrutin"]
        truth = np.nan_to_num(truth_table.loc[target, blocs].to_numpy(float))
        present = truth > 0
        final = poll_aggregate(cut_to_date(full, date).polls, blocs, target, as_of=date)
        dates = [(label, pd.Timestamp(date) - offset) for label, offset in offsets]
        dates += [("objectif", pd.Timestamp(goals[target]))] if goals and target in goals else []
        for index, (label, as_of) in enumerate(dates):
            if as_of <= first or as_of in [when for _, when in dates[:index]]:
                continue
            data = cut_to_date(full, as_of)
            started = time.perf_counter()
            forecast = territory_totals(data, target, type_scrutin, date, present=present)
            seconds = time.perf_counter() - started
            old, old_abst, old_var = old_model(data, type_scrutin, present, date)
            local = local_history(data)
            persistence = close(np.nan_to_num(local[blocs].iloc[-1].to_numpy(float))[None], present[None])[0]
            row = {"scrutin": target, "au": as_of.date(), "horizon": label, "methode": forecast.method, "sondages": len(forecast.polls),
                   "mae_nouveau": mae(forecast.shares, truth, present), "mae_ancien": mae(old, truth, present),
                   "mae_persistance": mae(persistence, truth, present),
                   "abst_nouveau": 100 * abs(forecast.abstention - truth_table.loc[target, ABSTENTION]),
                   "abst_ancien": 100 * abs(old_abst - truth_table.loc[target, ABSTENTION]),
                   "couv80_nouveau": float(np.mean(interval_hits(forecast.shares, forecast.abstention, forecast.sd ** 2, truth, present))),
                   "couv80_ancien": float(np.mean(interval_hits(old, old_abst, old_var, truth, present))),
                   "blocs": int(present.sum()), "secondes": seconds}
            if final is not None:
                known = totals_wide(data, territory)
                ratio, _ = latest_known(known[blocs].div(totals_wide(data, "FR")[blocs]).join(known["type_scrutin"]), blocs, type_scrutin)
                fallback, _ = latest_known(national_results(data), blocs, type_scrutin)
                national = np.nan_to_num(np.where(np.isnan(final.shares.to_numpy(float)), fallback, final.shares.to_numpy(float)))
                row["mae_reference"] = mae(close((national * np.nan_to_num(ratio, nan=1.0))[None], present[None])[0], truth, present)
            rows.append(row)
    return pd.DataFrame(rows)


def deviation_rules(data: ElectionData) -> pd.DataFrame:
    """RMS error (log scale) of rules predicting a ballot's deviation from France from earlier ballots, per bloc,
    over every département and every ballot with an earlier same-type ballot and two earlier ballots; rows by
    rule and group of the predicted ballot (``prés./euro.``, ``législatives``, ``tous``)."""
    table, blocs = all_deviations(data), list(data.blocs)
    errors: dict[tuple[str, str], list[np.ndarray]] = {}
    for _, rows in table.groupby(level="code_territoire"):
        rows = rows.sort_values("date_scrutin")
        for i in range(2, len(rows)):
            earlier, kind = rows.iloc[:i], rows["type_scrutin"].iloc[i]
            same = earlier[earlier["type_scrutin"] == kind]
            if same.empty:
                continue
            recent = earlier[earlier["type_scrutin"].isin(TARGET_TYPES)]
            s, l1, l2, y = same[blocs].iloc[-1].to_numpy(float), earlier[blocs].iloc[-1].to_numpy(float), earlier[blocs].iloc[-2].to_numpy(float), rows[blocs].iloc[i].to_numpy(float)
            r = np.where(np.isnan(recent[blocs].iloc[-1].to_numpy(float)), s, recent[blocs].iloc[-1].to_numpy(float)) if not recent.empty else s
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                rules = {"dernier du même type": s, "dernier scrutin": l1, "moyenne même type + dernier": np.nanmean([s, l1], axis=0),
                         "moyenne même type + dernier prés./euro.": np.nanmean([s, r], axis=0),
                         "moyenne des deux derniers": np.nanmean([l1, l2], axis=0), "moyenne même type + deux derniers": np.nanmean([s, l1, l2], axis=0)}
            group = "prés./euro." if kind in TARGET_TYPES else "législatives"
            for name, value in rules.items():
                for key in ((name, group), (name, "tous")):
                    errors.setdefault(key, []).append(value - y)
    out = pd.DataFrame({key: np.sqrt(np.nanmean(np.array(e) ** 2, axis=0)) for key, e in errors.items()}, index=blocs).T
    out.index = out.index.set_names(["regle", "groupe"])
    return out.assign(moyenne=out.mean(axis=1)).sort_values(["groupe", "moyenne"])


def main(argv: list[str]) -> None:
    path = Path(argv[1]) if len(argv) > 1 else config.warehouse_path()
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    table = replay(path, goals=GOALS)
    print(table.round(3).to_string(index=False))
    print("\nMoyennes par horizon :")
    print(table.groupby("horizon", sort=False)[[c for c in table.columns if c.startswith(("mae_", "abst_", "couv80_"))]].mean().round(3).to_string())
    print("\nRègles d'écart à la France (erreur quadratique moyenne, échelle log, tous départements) :")
    print(deviation_rules(load_election_data(path)).round(3).to_string())
    print("\nCalibration des sondages (écart-type log par bloc et distance, couverture 80 % en validation croisée par scrutin) :")
    print(calibration_summary(load_election_data(path)))


if __name__ == "__main__":
    main(sys.argv)
