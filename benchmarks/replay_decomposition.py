"""Where the commune error of the unconditional replays comes from: territory totals or local model.

For each goal replay of issue 14 (euro2024 as of 2024-05-15, pres2022 T1 as of 2022-03-10) the
learner retained today is trained and calibrated on the cut data exactly as in
:func:`electio.forecasts.replays.compute_replay`, then the engine is run three times with the same
local model and random numbers:

* ``inconditionnel``: the territory totals ``electio forecast`` would have made that day
  (:func:`electio.forecasts.engine.target_setup`) — the replay's figure;
* ``conditionnel``: the TRUE département totals of the ballot, with no territory spread — the
  local model's own error (what is left when the totals are perfect);
* ``reference_brute``: the issue's crude reference, no learner — the FINAL national polls (aggregate
  as of the vote, so it knows a month more polls than the replay) times the département's ratio to
  France at its last same-type ballot, spread over the communes by proportional swing from that
  ballot (euro2019 for euro2024, pres2017 for pres2022);

and persistence and the binomial noise floor. ``territoire_mae`` is the département-level error of
the totals used (mean over the standing blocs, points).

With ``--echelles``: the commune 80 % coverage of the replay (poll-driven totals) when the territory
variance is multiplied by s² (s = 0.5 … 1), for the goal replays and euro2019 as of 2019-04-26 — what a
spread rescaled on the earlier one-month replays would give.

Usage: python benchmarks/replay_decomposition.py [WAREHOUSE] [--fits DIR] [--echelles]
(``--fits``: pickle the fitted learners there and reuse them; a fit depends only on the cut data).
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from electio import config
from electio.features.election_data import ElectionData, cut_to_date, load_election_data
from electio.features.modelling_table import table_hash
from electio.forecasts import scenarios as sc
from electio.forecasts.engine import DRAWS, SEED, THRESHOLD, EngineSettings, scenario_rows, setup_with, target_setup, tiled
from electio.forecasts.replays import (
    NOISE_FLOOR,
    PERSISTENCE,
    ReplayCase,
    calibration_tables,
    fitted,
    percent_indicators,
    persistence_rows,
    replay_target,
    score,
    summary_rows,
)
from electio.models.baselines import BASELINES
from electio.models.compositional import close
from electio.models.polls_aggregate import national_results, poll_aggregate
from electio.models.territory import latest_known, totals_wide

CASES = (ReplayCase("euro2024_t1", pd.Timestamp("2024-05-15"), 0), ReplayCase("pres2022_t1", pd.Timestamp("2022-03-10"), 0))
LEARNER = "foret_aleatoire"
UNCONDITIONAL, CONDITIONAL, CRUDE = "inconditionnel", "conditionnel", "reference_brute"
METRICS = ("mae", "acc_tete", "brier_blocs", "couv80", "couv95")


def true_totals(full: ElectionData, scrutin_id: str) -> tuple[np.ndarray, float]:
    """The département's real bloc shares (0 where a bloc did not stand) and abstention at the ballot."""
    row = totals_wide(full, full.territoire).loc[scrutin_id]
    return np.nan_to_num(row[list(full.blocs)].to_numpy(float)), float(row["abstention"])


def crude_totals(full: ElectionData, data: ElectionData, scrutin_id: str, type_scrutin: str, present: np.ndarray) -> np.ndarray:
    """Final national polls (as of the vote) × the territory's ratio to France at its last same-type ballot."""
    blocs = list(full.blocs)
    date = full.ballots.set_index("scrutin_id").loc[scrutin_id, "date_scrutin"]
    final = poll_aggregate(cut_to_date(full, date).polls, blocs, scrutin_id, as_of=date)
    known = totals_wide(data, data.territoire)
    ratio, _ = latest_known(known[blocs].div(totals_wide(data, "FR")[blocs]).join(known["type_scrutin"]), blocs, type_scrutin)
    fallback, _ = latest_known(national_results(data), blocs, type_scrutin)
    national = np.nan_to_num(np.where(np.isnan(final.shares.to_numpy(float)), fallback, final.shares.to_numpy(float)))
    return close((national * np.nan_to_num(ratio, nan=1.0))[None], present[None])[0]


def crude_rows(base: pd.DataFrame, blocs: list[str], shares: np.ndarray, abstention: float) -> pd.DataFrame:
    """Proportional swing of the comparable ballot's commune shares to the crude totals, in the engine's long shape."""
    forecast = BASELINES["swing_proportionnel"](base, blocs, tiled(shares, abstention, len(base)))
    frame = pd.DataFrame(np.column_stack([forecast.shares, forecast.abstention]), columns=[*blocs, "abstention"])
    long = frame.assign(code_commune=base["code_commune"].to_numpy()).melt(id_vars="code_commune", var_name="bloc", value_name="moyenne")
    return summary_rows(CRUDE, long, base)


def cached_fit(data: ElectionData, target, fits_dir: Path | None):  # noqa: ANN001, ANN201 - benchmark helper
    """``replays.fitted`` (calibration, learner), pickled under ``fits_dir`` by the modelling tables' hash."""
    if fits_dir is None:
        return fitted(data, target, LEARNER, False, {})
    tables = calibration_tables(data, target.horizon_ans)
    key = hashlib.sha256("".join(table_hash(t) for t in tables.values()).encode() + f"{LEARNER}{target.horizon_ans}".encode()).hexdigest()[:24]
    path = fits_dir / f"{key}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    value = fitted(data, target, LEARNER, False, {})
    fits_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def decompose(full: ElectionData, case: ReplayCase, percent: frozenset[str], fits_dir: Path | None) -> pd.DataFrame:
    """One row per model of one case: commune metrics and the département-level MAE of its totals."""
    blocs, k = list(full.blocs), len(full.blocs)
    data = cut_to_date(full, case.as_of)
    target = replay_target(case, frozenset(full.ballots["type_scrutin"]))
    calibration, learner = cached_fit(data, target, fits_dir)
    settings = EngineSettings(DRAWS, SEED, THRESHOLD)
    base, projected, setup, totals = target_setup(data, target, calibration, settings, percent)
    shares, abstention = true_totals(full, case.scrutin_id)
    present = shares > 0
    conditional = setup_with(target, blocs, tiled(shares, abstention, len(base)), np.zeros(k + 1), calibration, settings)
    frames, centres = [], {UNCONDITIONAL: totals.shares, CONDITIONAL: shares}
    for name, chosen in ((UNCONDITIONAL, setup), (CONDITIONAL, conditional)):
        forecast = scenario_rows(data, learner, target, base, projected, chosen, [sc.TREND_SCENARIO], settings.threshold)
        frames.append(summary_rows(name, forecast[forecast["code_commune"] != data.territoire], base))
    centres[CRUDE] = crude_totals(full, data, case.scrutin_id, target.type_scrutin, present)
    frames += [crude_rows(base, blocs, centres[CRUDE], float(totals.abstention)), persistence_rows(data, base)]
    rows = score(pd.concat(frames, ignore_index=True), full, case)
    mean = rows[(rows["bloc"] == "moyenne") & (rows["classe_taille"] == "toutes") & rows["metrique"].isin(METRICS)]
    table = mean.pivot_table(index="modele", columns="metrique", values="valeur", aggfunc="first").reindex(columns=list(METRICS))
    table["territoire_mae"] = pd.Series({name: float(100 * np.mean(np.abs(value - shares)[present])) for name, value in centres.items()})
    order = [UNCONDITIONAL, CONDITIONAL, CRUDE, PERSISTENCE, NOISE_FLOOR]
    return table.reindex([m for m in order if m in table.index]).reset_index().assign(scrutin=case.scrutin_id, au=case.as_of.date())


SCALES = (0.5, 0.6, 0.7, 0.8, 1.0)


def coverage_by_scale(full: ElectionData, case: ReplayCase, percent: frozenset[str], fits_dir: Path | None) -> dict[float, float]:
    """Commune 80 % coverage of the replay with the territory variance × s² for each s of :data:`SCALES`."""
    data = cut_to_date(full, case.as_of)
    target = replay_target(case, frozenset(full.ballots["type_scrutin"]))
    calibration, learner = cached_fit(data, target, fits_dir)
    settings = EngineSettings(DRAWS, SEED, THRESHOLD)
    base, projected, setup, _ = target_setup(data, target, calibration, settings, percent)
    out = {}
    for scale in SCALES:
        scaled = setup_with(target, list(full.blocs), setup.center, setup.variance * scale ** 2, calibration, settings)
        forecast = scenario_rows(data, learner, target, base, projected, scaled, [sc.TREND_SCENARIO], settings.threshold)
        rows = score(summary_rows(UNCONDITIONAL, forecast[forecast["code_commune"] != data.territoire], base), full, case)
        kept = rows[(rows["modele"] == UNCONDITIONAL) & (rows["bloc"] == "moyenne") & (rows["classe_taille"] == "toutes") & (rows["metrique"] == "couv80")]
        out[scale] = float(kept["valeur"].iloc[0])
    return out


def main(argv: list[str]) -> None:
    args = [a for a in argv[1:] if not a.startswith("--")]
    fits_dir = Path(argv[argv.index("--fits") + 1]) if "--fits" in argv else None
    if fits_dir is not None and str(fits_dir) in args:
        args.remove(str(fits_dir))
    path = Path(args[0]) if args else config.warehouse_path()
    pd.set_option("display.width", 250)
    full, percent = load_election_data(path), percent_indicators(path)
    started = time.perf_counter()
    table = pd.concat([decompose(full, case, percent, fits_dir) for case in CASES], ignore_index=True)
    print(table[["scrutin", "au", "modele", "territoire_mae", *METRICS]].round(3).to_string(index=False))
    if "--echelles" in argv:
        earlier = ReplayCase("euro2019_t1", pd.Timestamp("2019-04-26"), 0)
        scales = pd.DataFrame({f"{c.scrutin_id} au {c.as_of.date()}": coverage_by_scale(full, c, percent, fits_dir) for c in (earlier, *CASES)}).T
        print("\nCouverture à 80 % selon l'échelle s de l'écart-type du territoire :")
        print(scales.round(3).to_string())
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv)
