"""Replays: the whole forecast made as of past dates, scored on the real ballots (issue 14, items 4–5).

For each real ballot that had polls (:data:`REPLAYED`, those in the warehouse) and each offset of
:data:`OFFSETS` (one month, one, two and three years before the vote), as of ``D`` = vote − offset:

1. ``data = load_election_data(warehouse, as_of=D)`` — the one place where the as-of cut is made;
2. the learner type retained today (``electio evaluate``'s choice by its fixed rule; re-running
   the whole model selection per replay would multiply the run time by about twelve) is trained
   on the modelling table of the cut data;
3. its commune calibration comes from its conditional backtests within the cut data (every
   horizon table the cut data allow, the one closest to the target's horizon is used);
4. the territory totals are those ``electio forecast`` would have made that day
   (:func:`electio.forecasts.engine.target_setup`: the polls when there were any); the previous
   territory model is replayed beside it (same local model, the comparable ballot's totals), and
   persistence (the comparable ballot's shares);
5. the target is the calendar ballot (its real id, e.g. ``euro2024_t1``), horizon from ``D``;
   weights (exprimés, inscrits) are those of the last ballot known on ``D``
   (:func:`electio.forecasts.targets.with_target`), never those of the ballot forecast.

The commune forecasts are scored against the real results (the full warehouse) with the
backtests' metrics (:func:`electio.models.metrics.prediction_metrics`: mean bloc MAE, leading-bloc
accuracy, Brier of P(lead), 80 % and 95 % coverage…) and stored as ``model_evaluation`` rows with
``conditionnel = false``, ``date_reference = D`` and ``horizon_ans`` = whole years between ``D``
and the vote (0: the one-month replay); model names end in ``_rejoue`` (:data:`REPLAY_MODELS`).

A replay whose inputs have not changed is read back from ``data/cache/replays/<hash>.parquet``
(:func:`replay_key`: hash of the cut data, the learner, the settings and :data:`REPLAY_VERSION`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from electio import __version__, config
from electio.atomic import staged_file
from electio.features.election_data import ElectionData, cut_to_date, load_election_data
from electio.features.modelling_table import ABSTENTION, available_horizons, build_modelling_table, outputs, table_hash
from electio.forecasts import scenarios as sc
from electio.forecasts.calendar import load_calendar
from electio.forecasts.engine import DRAWS, SEED, THRESHOLD, EngineSettings, TargetSetup, scenario_rows, setup_with, target_setup
from electio.forecasts.simulate import STORED_QUANTILES
from electio.forecasts.targets import Target, forecast_targets
from electio.forecasts.uncertainty import closest_horizon, horizon_calibration, swings, yearly_variance
from electio.models.backtest import Prediction, backtest, learner_method, territory_forecast, test_ballots
from electio.models.baselines import BASELINES
from electio.models.evaluate import EVALUATION_COLUMNS, LONGEST_HORIZON
from electio.models.goals import REPLAY_NOISE_FLOOR, REPLAY_PERSISTENCE, REPLAY_PREVIOUS, REPLAY_RETAINED
from electio.models.intervals import Calibration
from electio.models.learners import PooledLearner, make_learner
from electio.models.metrics import noise_floor_metrics, prediction_metrics

REPLAYED: tuple[str, ...] = ("pres2017_t1", "euro2019_t1", "pres2022_t1", "euro2024_t1")
OFFSETS: tuple[tuple[int, pd.DateOffset], ...] = ((0, pd.DateOffset(months=1)), (1, pd.DateOffset(years=1)),
                                                  (2, pd.DateOffset(years=2)), (3, pd.DateOffset(years=3)))
"""(stored horizon_ans, offset before the vote): one month, one, two and three years."""
GOAL_DATES: dict[str, str] = {"euro2024_t1": "2024-05-15"}
"""The one-month replay's date where issue 14 states its goal at another date (euro2024: 25 days before the vote)."""
REPLAY_VERSION = "5"  # bump when the replay's computation changes: every cached replay is then recomputed
RETAINED, PREVIOUS, PERSISTENCE, NOISE_FLOOR = REPLAY_RETAINED, REPLAY_PREVIOUS, REPLAY_PERSISTENCE, REPLAY_NOISE_FLOOR
REPLAY_MODELS = (RETAINED, PREVIOUS, PERSISTENCE, NOISE_FLOOR)
REPLAY_COLUMNS = [*EVALUATION_COLUMNS, "date_reference"]
SUMMARY_COLUMNS = ["modele", "code_commune", "bloc", "moyenne", *STORED_QUANTILES, "p_tete", "taille_exprimes", "taille_inscrits"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReplayCase:
    """One replay: the real ballot, the as-of date, the stored horizon (whole years before the vote)."""

    scrutin_id: str
    as_of: pd.Timestamp
    horizon_ans: int


@dataclass
class ReplayResult:
    """The replays' ``model_evaluation`` rows, the cases left out (with their reason) and the cache use."""

    rows: pd.DataFrame
    skipped: list[tuple[ReplayCase, str]]
    hits: int = 0
    misses: int = 0


# ─── Cases ───────────────────────────────────────────────────────────────────────────────

def replay_cases(full: ElectionData, ballots: Sequence[str] = REPLAYED) -> list[ReplayCase]:
    """The replay cases of the ballots of ``ballots`` held in the warehouse, at every offset."""
    dates = full.ballots.set_index("scrutin_id")["date_scrutin"]

    def as_of(sid: str, horizon: int, offset: pd.DateOffset) -> pd.Timestamp:
        return pd.Timestamp(GOAL_DATES[sid]) if horizon == 0 and sid in GOAL_DATES else pd.Timestamp(dates[sid]) - offset

    return [ReplayCase(sid, as_of(sid, horizon, offset), horizon) for sid in ballots if sid in dates.index for horizon, offset in OFFSETS]


def replay_target(case: ReplayCase, modelled: frozenset[str]) -> Target | None:
    """The calendar target of the case's ballot as of its date (None when the calendar does not list it then)."""
    targets, _ = forecast_targets(load_calendar(), case.as_of, modelled)
    return next((t for t in targets if t.scrutin_cible == case.scrutin_id), None)


# ─── Territory totals ────────────────────────────────────────────────────────────────────

def previous_setup(data: ElectionData, target: Target, base: pd.DataFrame, calibration: Calibration, settings: EngineSettings) -> TargetSetup:
    """The previous territory model (comparable ballot's totals, :func:`~electio.models.backtest.territory_forecast`)
    with the random-walk variance of the comparable swings (:mod:`.uncertainty`) over the rows' horizon."""
    yearly = yearly_variance(swings(data)).reindex(outputs(data.blocs)).to_numpy(float)
    return setup_with(target, data.blocs, territory_forecast(base, data.blocs), yearly * float(base["horizon_ans"].iloc[0]), calibration, settings)


# ─── One replay ──────────────────────────────────────────────────────────────────────────

def data_hash(data: ElectionData) -> str:
    """sha256 of every input frame of cut data (the replay's data key), independent of row order: two ETL runs
    on the same mirror give the same rows in another order, and must hit the same cached replay."""
    digest = hashlib.sha256(",".join(data.blocs).encode() + data.territoire.encode())
    for frame in (data.ballots, data.results, data.indicators, data.polls, data.totals, data.poll_history):
        if frame is None:
            digest.update(b"none")
            continue
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return digest.hexdigest()


def replay_key(data: ElectionData, case: ReplayCase, learner: str, percent: frozenset[str], fast: bool = False) -> str:
    """Hash of a replay's inputs: cut data, case, learner, settings, code version."""
    settings = {"version": REPLAY_VERSION, "electio": __version__, "learner": learner, "rapide": fast, "case": [case.scrutin_id, str(case.as_of.date())],
                "draws": DRAWS, "seed": SEED, "percent": sorted(percent), "data": data_hash(data)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def cache_dir() -> Path:
    """``data/cache/replays`` under the project home."""
    return config.home() / "data" / "cache" / "replays"


def calibration_tables(data: ElectionData, horizon: int) -> dict[int | None, pd.DataFrame]:
    """The natural modelling table of the cut data (key None) and, when the backtest horizon closest to
    ``horizon`` is a longer one (as in ``electio evaluate``'s chains), that horizon's table only."""
    natural = build_modelling_table(data)
    if natural.empty:
        return {None: natural}
    gaps = natural.groupby("scrutin_id")["horizon_ans"].first()
    tests = test_ballots(natural)
    longer = {h for sid in tests for h in available_horizons(data.ballots, sid, LONGEST_HORIZON) if h > gaps[sid]}
    candidates = sorted({int(gaps[sid]) for sid in tests} | longer)
    chosen = closest_horizon(candidates, horizon) if candidates else None
    return {None: natural, **({chosen: build_modelling_table(data, horizon=chosen)} if chosen in longer else {})}


def calibration_predictions(tables: dict[int | None, pd.DataFrame], blocs: Sequence[str], learner: str, horizon: int,
                            fast: bool = False) -> list[Prediction]:
    """Conditional backtests of ``learner`` within the cut data's horizon tables, only at the backtest horizon
    closest to ``horizon`` (the one :func:`~electio.forecasts.uncertainty.horizon_calibration` would use)."""
    cases = [(key, sid, int(h)) for key, table in tables.items() if not table.empty
             for sid, h in table.groupby("scrutin_id")["horizon_ans"].first().items() if sid in set(test_ballots(table))]
    if not cases:
        return []
    chosen = closest_horizon(sorted({h for _, _, h in cases}), horizon)
    methods = {learner: learner_method(learner, blocs, fast)}
    out = []
    for key, table in tables.items():
        tests = [sid for k, sid, h in cases if k == key and h == chosen]
        if tests:
            out += [p for p in backtest(table, blocs, methods, tests) if p.conditionnel]
    return out


def summary_rows(name: str, frame: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """The engine's commune rows (territory row dropped) of one model, with the communes' sizes at the comparable ballot."""
    sizes = pd.DataFrame({"code_commune": base["code_commune"].to_numpy(),
                          "taille_exprimes": base["aux_exprimes_ref"].fillna(base["exprimes"]).to_numpy(float),
                          "taille_inscrits": base["aux_inscrits_ref"].fillna(base["inscrits"]).to_numpy(float)})
    return frame.merge(sizes, on="code_commune", how="inner").assign(modele=name).reindex(columns=SUMMARY_COLUMNS)


def persistence_rows(data: ElectionData, base: pd.DataFrame) -> pd.DataFrame:
    """Persistence (the comparable ballot's shares and abstention) in the engine's long shape (no intervals)."""
    forecast = BASELINES["persistance"](base, data.blocs, None)
    values = np.column_stack([forecast.shares, forecast.abstention])
    frame = pd.DataFrame(values, columns=outputs(data.blocs)).assign(code_commune=base["code_commune"].to_numpy())
    long = frame.melt(id_vars="code_commune", var_name="bloc", value_name="moyenne")
    return summary_rows(PERSISTENCE, long, base)


Fits = dict[tuple, tuple[Calibration, PooledLearner]]
"""Calibrations and fitted learners of one run, by (modelling tables' hashes, learner, settings, horizon): two replays
whose cut data give the same modelling tables (e.g. dates between the same two ballots) share them."""


def fitted(data: ElectionData, target: Target, learner_name: str, fast: bool, fits: Fits) -> tuple[Calibration, PooledLearner]:
    """The interval calibration and the learner trained on the cut data (computed once per distinct modelling tables)."""
    tables = calibration_tables(data, target.horizon_ans)
    key = (tuple(tables), tuple(table_hash(t) for t in tables.values()), learner_name, fast, target.horizon_ans)
    if key not in fits:
        conditional = calibration_predictions(tables, data.blocs, learner_name, target.horizon_ans, fast)
        if not conditional:
            raise ValueError("aucun backtest possible avant la date de référence (calibration des intervalles)")
        calibration, _ = horizon_calibration(conditional, target.horizon_ans)
        fits[key] = (calibration, make_learner(learner_name, data.blocs, fast).fit(tables[None]))
    return fits[key]


def compute_replay(data: ElectionData, target: Target, learner_name: str, percent: frozenset[str], fast: bool = False,
                   fits: Fits | None = None) -> pd.DataFrame:
    """The commune summaries (:data:`SUMMARY_COLUMNS`) of one replay: the retained learner with the territory totals
    of ``electio forecast`` (:func:`.engine.target_setup`: polls when there were any), the same learner with the
    previous territory model's totals, and persistence."""
    calibration, learner = fitted(data, target, learner_name, fast, {} if fits is None else fits)
    settings = EngineSettings(DRAWS, SEED, THRESHOLD)
    base, projected, setup, _ = target_setup(data, target, calibration, settings, percent)
    frames = []
    for name, chosen in ((RETAINED, setup), (PREVIOUS, previous_setup(data, target, base, calibration, settings))):
        forecast = scenario_rows(data, learner, target, base, projected, chosen, [sc.TREND_SCENARIO], settings.threshold)
        frames.append(summary_rows(name, forecast[forecast["code_commune"] != data.territoire], base))
    frames.append(persistence_rows(data, base))
    return pd.concat(frames, ignore_index=True)


def cached_replay(data: ElectionData, target: Target, case: ReplayCase, learner: str, percent: frozenset[str],
                  folder: Path, fast: bool = False, fits: Fits | None = None) -> tuple[pd.DataFrame, bool]:
    """The replay's commune summaries, read from the cache when its inputs are unchanged; (frame, hit)."""
    path = folder / f"{replay_key(data, case, learner, percent, fast)}.parquet"
    if path.is_file():
        return pd.read_parquet(path), True
    frame = compute_replay(data, target, learner, percent, fast, fits)
    path.parent.mkdir(parents=True, exist_ok=True)
    with staged_file(path) as staging:
        frame.to_parquet(staging, index=False)
    return frame, False


# ─── Scoring ─────────────────────────────────────────────────────────────────────────────

def truth(full: ElectionData, scrutin_id: str) -> pd.DataFrame:
    """Real shares of a ballot per unit (code_commune, inscrits, exprimes, one column per output); an
    estimated arrondissement row is not a result, so it is never scored."""
    rows = full.results[full.results["scrutin_id"] == scrutin_id]
    rows = rows[~rows["estime"]] if "estime" in rows.columns else rows
    shares = rows[[f"voix_{b}" for b in full.blocs]].div(rows["exprimes"], axis=0).set_axis(list(full.blocs), axis=1)
    shares[ABSTENTION] = 1 - rows["votants"] / rows["inscrits"]
    return pd.concat([rows[["code_commune", "code_departement", "inscrits", "exprimes"]], shares], axis=1).reset_index(drop=True)


def as_prediction(summary: pd.DataFrame, real: pd.DataFrame, blocs: Sequence[str], case: ReplayCase, stood: np.ndarray) -> Prediction:
    """One model's replayed commune forecasts as a :class:`Prediction` against the real results (communes in both)."""
    names = outputs(blocs)
    wide = summary.pivot_table(index="code_commune", columns="bloc", values=["moyenne", *STORED_QUANTILES, "p_tete"], aggfunc="first", dropna=False)
    real = real[real["code_commune"].isin(wide.index)].reset_index(drop=True)
    wide = wide.reindex(real["code_commune"])
    sizes = summary.groupby("code_commune")[["taille_exprimes", "taille_inscrits"]].first().reindex(real["code_commune"])

    def block(column: str, columns: Sequence[str] = names) -> np.ndarray:
        return wide[column].reindex(columns=list(columns)).to_numpy(float) if column in wide.columns.get_level_values(0) else np.full((len(real), len(columns)), np.nan)

    present = np.column_stack([np.broadcast_to(stood, (len(real), len(blocs))), np.ones(len(real), bool)])
    observed = real[names].to_numpy(float)
    present &= ~np.isnan(observed)
    rows = real[["code_commune", "code_departement", "inscrits", "exprimes"]].assign(
        taille_exprimes=sizes["taille_exprimes"].to_numpy(float), taille_inscrits=sizes["taille_inscrits"].to_numpy(float))
    intervals = {}
    if not np.isnan(block("q10")).all():
        intervals = {"lower80": block("q10"), "upper80": block("q90"), "lower95": block("q025"), "upper95": block("q975"),
                     "lead_proba": np.nan_to_num(block("p_tete", blocs))}
    return Prediction(str(summary["modele"].iloc[0]), case.scrutin_id, case.horizon_ans, False, case.as_of, rows, np.nan_to_num(observed),
                      np.nan_to_num(block("moyenne")), present, **intervals)


UNIT_GROUPS = ("arrondissements", "autres_communes")
GROUP_METRICS = ("mae", "acc_tete", "brier", "couv80", "couv95")


def group_metrics(prediction: Prediction, full: ElectionData) -> list[tuple]:
    """The main metrics on the arrondissements and on the other communes apart (``<metrique>_<groupe>``,
    ``classe_taille`` = the group). Read by commune, the group ``arrondissements`` is the city with
    arrondissements as one row (Lyon), so the other communes are the same set in both readings."""
    if not full.arrondissements:
        return []
    member = prediction.rows["code_commune"].isin(full.arrondissements).to_numpy()
    out = []
    for group, mask in zip(UNIT_GROUPS, (member, ~member), strict=True):
        if mask.any():
            out += [(bloc, f"{metric}_{group}", value, low, high, n, group)
                    for bloc, metric, value, low, high, n, _size in prediction_metrics(prediction.subset(mask), full.blocs)
                    if metric in GROUP_METRICS]
    return out


def score(summaries: pd.DataFrame, full: ElectionData, case: ReplayCase) -> pd.DataFrame:
    """``model_evaluation`` rows (with ``date_reference``) of one replay's models, and the noise floor of the case."""
    real = truth(full, case.scrutin_id)
    stood = full.ballots.set_index("scrutin_id").loc[case.scrutin_id, list(full.blocs)].to_numpy(bool)
    out = []
    for name, summary in summaries.groupby("modele", sort=False):
        prediction = as_prediction(summary, real, full.blocs, case, stood)
        out += [(name, *row) for row in [*prediction_metrics(prediction, full.blocs), *group_metrics(prediction, full)]]
        if name == RETAINED:
            out += [(NOISE_FLOOR, *row) for row in noise_floor_metrics(prediction, full.blocs)]
    frame = pd.DataFrame(out, columns=["modele", *EVALUATION_COLUMNS[5:]])  # metric rows: bloc, metrique, valeur, ic…, classe_taille
    return frame.assign(scrutin_test=case.scrutin_id, territoire=full.territoire, horizon_ans=case.horizon_ans, conditionnel=False,
                        date_reference=case.as_of.date())[REPLAY_COLUMNS]


# ─── Entry point ─────────────────────────────────────────────────────────────────────────

def percent_indicators(warehouse: Path) -> frozenset[str]:
    """Indicators measured in % (projected as such)."""
    from electio.warehouse.store import connect

    with connect(warehouse) as con:
        present = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'dim_indicateur'").fetchone()[0]
        return frozenset(r[0] for r in con.execute("SELECT indicateur FROM dim_indicateur WHERE unite = '%'").fetchall()) if present else frozenset()


def run_replays(warehouse: Path, learner: str, ballots: Sequence[str] = REPLAYED, offsets: Sequence[int] | None = None,
                progress: Progress | None = None, folder: Path | None = None, fast: bool = False,
                as_of: date | None = None, units: bool = True) -> ReplayResult:
    """Every replay case of the warehouse (``offsets``: stored horizons to keep, default all), scored on the real ballots.

    ``as_of``: the evaluation's own date of reference; only ballots held before it are replayed and scored.
    ``units``: arrondissements municipaux as units (False: Lyon, Paris, Marseille as one commune each)."""
    say = progress or (lambda _message: None)
    full = load_election_data(warehouse, as_of=as_of, units=units)
    percent = percent_indicators(warehouse)
    modelled = frozenset(full.ballots["type_scrutin"])
    folder = folder or cache_dir()
    result = ReplayResult(pd.DataFrame(columns=REPLAY_COLUMNS), [])
    frames, fits = [], {}
    for case in replay_cases(full, ballots):
        if offsets is not None and case.horizon_ans not in offsets:
            continue
        say(f"Rejeu : {case.scrutin_id} au {case.as_of:%d/%m/%Y}")
        if case.as_of <= full.ballots["date_scrutin"].min():
            result.skipped.append((case, "aucun scrutin connu à cette date dans l'entrepôt"))
            continue
        target = replay_target(case, modelled)
        if target is None:
            result.skipped.append((case, "scrutin absent du calendrier à cette date"))
            continue
        data = cut_to_date(full, case.as_of)  # the loader's as-of cut (load_election_data(warehouse, as_of=D) without re-reading)
        try:
            summaries, hit = cached_replay(data, target, case, learner, percent, folder, fast, fits)
        except ValueError as exc:
            result.skipped.append((case, str(exc)))
            continue
        result.hits, result.misses = result.hits + hit, result.misses + (not hit)
        frames.append(score(summaries, full, case))
    if frames:
        result.rows = pd.concat(frames, ignore_index=True)
    return result


def replay_rows(warehouse: Path, learner: str, progress: Progress | None = None, fast: bool = False,
                as_of: date | None = None) -> pd.DataFrame:
    """The replays' ``model_evaluation`` rows (the hook ``electio evaluate`` passes to the model stage)."""
    return run_replays(warehouse, learner, progress=progress, fast=fast, as_of=as_of).rows
