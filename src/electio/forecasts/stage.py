"""The forecast stage (``electio forecast``): simulate, store ``fact_prevision`` and friends, draw the charts.

Reads the warehouse (results, indicators, ``model_prediction_backtest``) and the retained model
saved by ``electio evaluate``; for each target (:mod:`.targets`) and scenario (:mod:`.scenarios`)
it builds the target's modelling rows with projected indicators (:mod:`.trajectories`), draws the
territory totals (:mod:`.uncertainty`) and the communes (:mod:`.simulate`), with common random
numbers across scenarios (the same draws, only the scenario differs). Writes ``dim_scenario``,
``fact_prevision`` and ``forecast_calibration`` (DDL ``warehouse/forecasts.sql``) in one
transaction, ``output/previsions/previsions.csv`` and the charts.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import joblib
import pandas as pd

from electio import config
from electio.atomic import staged_folder
from electio.errors import ElectioError, ModelFileError
from electio.fetch import sha256_of
from electio.analysis.figures import fr_number
from electio.features.modelling_table import ABSTENTION, ElectionData, build_modelling_table, load_election_data, outputs, table_hash
from electio.forecasts import scenarios as sc
from electio.forecasts.calendar import Skipped, load_calendar
from electio.forecasts.engine import DRAWS, SEED, THRESHOLD, EngineSettings, forecast_target
from electio.forecasts.simulate import STORED_QUANTILES
from electio.forecasts.provenance import CSV_COLUMNS, csv_provenance
from electio.forecasts.targets import Target, forecast_targets, target_frame
from electio.forecasts.trajectories import indicator_features
from electio.forecasts.uncertainty import (
    backtest_predictions,
    horizon_calibration,
    lead_outcomes,
    previous_lead_rates,
    reliability_rows,
    swings,
    yearly_variance,
)
from electio.forecasts.validation import replay_outcomes
from electio.models.evaluate import MODEL_SHA_KEY, RETAINED, models_dir
from electio.models.intervals import Calibration
from electio.models.learners import PooledLearner
from electio.models.territory import TerritoryForecast
from electio.warehouse.store import connect, file_identity, replace_stage_tables

FORECAST_DIR = "previsions"
FORECAST_DDL = "forecasts.sql"
CSV_NAME = "previsions.csv"
FACT_COLUMNS = ["scenario", "horizon_ans", "scrutin_cible", "code_commune", "bloc", "moyenne", *STORED_QUANTILES, "p_tete"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ForecastOptions:
    """What ``electio forecast`` computes and draws."""

    scenarios: tuple[str, ...] = ()  # names of the scenario file; empty: all of them
    scenario_file: Path | None = None  # default: scenarios/exemples.toml when it exists
    swings: tuple[str, ...] = ()  # « bloc=+3 »: a custom scenario
    indicators: tuple[str, ...] = ()  # « indicateur=+2 »
    communes: tuple[str, ...] = ()  # codes or names of communes to draw time curves for
    draws: int = DRAWS
    seed: int = SEED
    threshold: float = THRESHOLD
    html: bool = True
    model: Path | None = None
    as_of: date | None = None  # date de référence : les cibles sont les scrutins du calendrier qui la suivent (défaut : aujourd'hui)
    duels: bool = True  # second rounds of the présidentielle 2027 by commune (forecasts/duel_stage.py)
    hypothesis: str | None = None  # first-round candidate hypothesis of the duels (default: the highest recency weight of polls in 60 days)
    duel_ids: tuple[str, ...] = ()  # duels to forecast (default: every duel the polls test)


@dataclass
class Inputs:
    """What the stage reads: election data, the retained model, backtests and labels."""

    data: ElectionData
    learner: PooledLearner
    model_name: str
    backtests: pd.DataFrame
    communes: pd.DataFrame  # code_commune, nom_commune, population
    blocs: pd.DataFrame  # code_bloc, libelle, couleur
    ballots: pd.DataFrame  # scrutin_id, libelle
    percent: frozenset[str]
    run_date: datetime
    sources: list[str]
    mapping: pd.DataFrame
    territory_name: str
    notes: list[str] = field(default_factory=list)


@dataclass
class ForecastResult:
    """Everything the stage produced."""

    territoire: str
    output: Path
    targets: list[Target]
    scenarios: list[sc.Scenario]
    forecasts: pd.DataFrame  # fact_prevision columns + q25, q75, p_seuil
    calibration: pd.DataFrame
    swings: pd.DataFrame
    variance: pd.Series
    calibration_horizons: dict[int, int]
    draws: int
    libelles: dict[str, str]
    nom_territoire: str
    figures: list[Path] = field(default_factory=list)
    stored: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    as_of: pd.Timestamp | None = None
    skipped: list[Skipped] = field(default_factory=list)
    territories: dict[str, TerritoryForecast] = field(default_factory=dict)  # territory totals per target
    duels: object | None = None  # forecasts.duel_stage.DuelResult when the duels ran


# ─── Reading ─────────────────────────────────────────────────────────────────────────────

def model_path(territory: str, path: Path | None = None) -> Path:
    """The retained model saved by ``electio evaluate`` for a territory."""
    return path or models_dir() / f"{RETAINED}_{territory}.joblib"


def recorded_model_sha(con: duckdb.DuckDBPyConnection) -> str | None:
    """The sha256 of the model file that the warehouse's model run wrote (``model_card``), if recorded."""
    present = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'model_card'").fetchone()[0]
    if not present:
        return None
    row = con.execute("SELECT valeur FROM model_card WHERE section = 'modele' AND cle = ?", [MODEL_SHA_KEY]).fetchone()
    return row[0] if row else None


def load_model(path: Path, expected_sha256: str | None) -> dict:
    """The saved retained model (dict with learner, blocs, table_sha256…), loaded only if its sha256 is
    the one recorded by the model run of the warehouse: a model file is a pickle, loading it runs code."""
    again = "relancez « electio evaluate »"
    if not path.is_file():
        raise ModelFileError(f"modèle retenu absent : {path} (lancez d'abord « electio evaluate »)")
    if not expected_sha256:
        raise ModelFileError(f"l'entrepôt n'enregistre pas l'empreinte du modèle {path.name} (table model_card) : il n'est pas chargé ; {again}")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise ModelFileError(f"le modèle {path} n'est pas celui qu'a écrit l'évaluation enregistrée dans l'entrepôt (empreinte sha256 "
                             f"{actual[:12]}… au lieu de {expected_sha256[:12]}… : fichier tronqué, modifié ou venu d'ailleurs) ; "
                             f"il n'est pas chargé : {again}")
    try:
        return joblib.load(path)
    except Exception as exc:  # noqa: BLE001  (any unpickling failure means the same thing to the user)
        raise ModelFileError(f"modèle {path} illisible ({type(exc).__name__}) : {again}") from exc


def read_backtests(con: duckdb.DuckDBPyConnection, territory: str) -> pd.DataFrame:
    """The retained model's backtest rows of the territory (both conditional flags)."""
    present = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'model_prediction_backtest'").fetchone()[0]
    frame = con.execute("SELECT * FROM model_prediction_backtest WHERE modele = ? AND territoire = ?", [RETAINED, territory]).df() if present else pd.DataFrame()
    if frame.empty:
        raise ElectioError("aucun backtest du modèle retenu dans l'entrepôt (table model_prediction_backtest) : lancez d'abord « electio evaluate »")
    return frame


def read_inputs(warehouse: Path, model: Path | None = None, as_of: pd.Timestamp | None = None) -> Inputs:
    """Read everything the stage needs as known on ``as_of`` (the warehouse is opened read-only)."""
    data = load_election_data(warehouse, as_of=as_of)
    if data.territoire == "FR" or data.results["code_departement"].nunique() != 1:
        raise ElectioError("prévisions : un entrepôt départemental est requis (electio etl --departement …)")
    with connect(warehouse) as con:
        recorded = recorded_model_sha(con)
    saved = load_model(model_path(data.territoire, model), recorded)
    if tuple(saved["blocs"]) != tuple(data.blocs):
        raise ElectioError("les blocs du modèle sauvegardé diffèrent de ceux de l'entrepôt : relancez « electio evaluate »")
    with connect(warehouse) as con:
        run = con.execute("SELECT finished_at FROM etl_run ORDER BY finished_at DESC LIMIT 1").fetchone()
        inputs = Inputs(
            data=data, learner=saved["learner"], model_name=saved["modele"], backtests=read_backtests(con, data.territoire),
            communes=con.sql("SELECT code_commune, nom_commune, population FROM v_unite_analyse").df(),
            blocs=con.sql("SELECT code_bloc, libelle, couleur FROM dim_bloc ORDER BY ordre").df(),
            ballots=con.sql("SELECT scrutin_id, libelle FROM dim_scrutin").df(),
            percent=frozenset(r[0] for r in con.execute("SELECT indicateur FROM dim_indicateur WHERE unite = '%'").fetchall())
            if data.indicators is not None else frozenset(),
            run_date=run[0], sources=[r[0] for r in con.execute("SELECT DISTINCT source_id FROM etl_input ORDER BY 1").fetchall()],
            mapping=con.sql("SELECT code_source, code_reference FROM map_commune_cog").df(),
            territory_name=str(con.execute("SELECT nom_departement FROM dim_departement WHERE code_departement = ?", [data.territoire]).fetchone()[0]),
        )
    trained_on, stale = saved.get("date_reference"), table_hash(build_modelling_table(data)) != saved.get("table_sha256")
    if stale and as_of is not None and trained_on and trained_on != as_of.date().isoformat():
        raise ElectioError(f"le modèle retenu a été entraîné avec les données connues au {pd.Timestamp(trained_on):%d/%m/%Y}, pas au {as_of:%d/%m/%Y} : "
                           f"relancez « electio evaluate --au {as_of.date().isoformat()} » avant cette prévision")
    if stale:
        inputs.notes.append("Le modèle retenu a été entraîné sur une autre version de l'entrepôt : relancez « electio evaluate » pour des prévisions à jour.")
    return inputs


# ─── Scenarios and communes ──────────────────────────────────────────────────────────────

def resolve_scenarios(options: ForecastOptions, outputs_: Sequence[str], indicators: Sequence[str]) -> list[sc.Scenario]:
    """``tendance``, the chosen named scenarios (all of the file by default), then the custom one."""
    path = options.scenario_file or (sc.DEFAULT_FILE if sc.DEFAULT_FILE.is_file() else None)
    named = sc.load_scenarios(path) if path else {}
    wanted = [n for n in options.scenarios if n != sc.TREND]
    unknown = [n for n in wanted if n not in named]
    if unknown:
        raise ValueError(f"scénario(s) inconnu(s) : {', '.join(unknown)} (disponibles : {', '.join([sc.TREND, *named])})")
    chosen = [named[n] for n in (wanted or ([] if options.scenarios else list(named)))]
    custom = sc.custom_scenario(options.swings, options.indicators)
    out = [sc.TREND_SCENARIO, *chosen, *([custom] if custom else [])]
    for scenario in out:
        sc.check_scenario(scenario, outputs_, indicators)
    return out


def plain(text: str) -> str:
    """Lower case without accents, hyphens as spaces (to match commune names)."""
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(decomposed.lower().replace("-", " ").replace("'", " ").split())


def find_commune(communes: pd.DataFrame, query: str) -> str:
    """A commune's code from its code or its name (accents and case ignored)."""
    if query in set(communes["code_commune"]):
        return query
    matches = communes[communes["nom_commune"].map(plain) == plain(query)]
    if len(matches) != 1:
        raise ValueError(f"commune introuvable ou ambiguë : « {query} » (donnez son code INSEE)")
    return str(matches["code_commune"].iloc[0])


# ─── Simulation ──────────────────────────────────────────────────────────────────────────

def run_target(inputs: Inputs, target: Target, scenarios: Sequence[sc.Scenario], calibration: Calibration,
               options: ForecastOptions) -> tuple[pd.DataFrame, TerritoryForecast]:
    """Long rows of every scenario of one target, with common random numbers, and the target's territory totals
    (:func:`.engine.forecast_target`)."""
    return forecast_target(inputs.data, inputs.learner, target, scenarios, calibration,
                           EngineSettings(options.draws, options.seed, options.threshold), inputs.percent, options.hypothesis)


def indicator_effect(forecasts: pd.DataFrame, scenario: str, territory: str) -> pd.Series:
    """|scenario − tendance| of the communes' mean shares (points), territory rows excluded."""
    blocs = forecasts[(forecasts["bloc"] != ABSTENTION) & (forecasts["code_commune"] != territory)]
    keys = ["scrutin_cible", "code_commune", "bloc"]
    by = {name: blocs[blocs["scenario"] == name].set_index(keys)["moyenne"] for name in (scenario, sc.TREND)}
    return (100 * (by[scenario] - by[sc.TREND])).abs().dropna()


def indicator_notes(forecasts: pd.DataFrame, scenarios: Sequence[sc.Scenario], used: Sequence[str], territory: str) -> list[str]:
    """French notes on indicator shifts: unused indicators, and the measured effect of indicator-only scenarios."""
    notes = [] if used else ["Le modèle retenu n'utilise aucun indicateur local : les décalages d'indicateurs sont sans effet."]
    for scenario in (s for s in scenarios if s.indicateurs):
        unused = sorted(set(scenario.indicateurs) - set(used))
        if unused:
            notes.append(f"Scénario {scenario.nom} : {', '.join(unused)} absent(s) des variables du modèle retenu, décalage sans effet.")
        if not scenario.swing:
            effect = indicator_effect(forecasts, scenario.nom, territory)
            notes.append(f"Scénario {scenario.nom} (indicateurs seuls) : parts communales déplacées de {fr_number(effect.mean(), 2)} point en "
                         f"moyenne (au plus {fr_number(effect.max(), 2)}) par rapport à la tendance ; totaux du territoire inchangés.")
    return notes


# ─── Orchestration ───────────────────────────────────────────────────────────────────────

def forecast_dir() -> Path:
    """``output/previsions`` under the project home."""
    return config.output_dir() / FORECAST_DIR


def scenario_frame(scenarios: Sequence[sc.Scenario]) -> pd.DataFrame:
    """``dim_scenario`` rows."""
    return pd.DataFrame([(s.nom, s.libelle, s.description, s.parametres) for s in scenarios], columns=["scenario", "libelle", "description", "parametres"])


PERCENT_COLUMNS = ("moyenne", *STORED_QUANTILES, "p_tete")


def readable_frame(forecasts: pd.DataFrame, targets: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    """``fact_prevision`` rows for a spreadsheet: target label and date (``dim_scrutin_cible`` rows), commune name, bloc label, percentages (0–100)."""
    from electio.forecasts.charts import labels
    described = targets[["scrutin_cible", "libelle", "date_scrutin"]].rename(columns={"libelle": "libelle_cible", "date_scrutin": "date_cible"})
    names = dict(zip(inputs.communes["code_commune"], inputs.communes["nom_commune"], strict=True))
    names[inputs.data.territoire] = f"{inputs.territory_name} (total du territoire)"
    rows = forecasts[FACT_COLUMNS].merge(described, on="scrutin_cible", how="left")
    rows = rows.merge(csv_provenance(targets), on="scrutin_cible", how="left")  # ─── as-of date, polls, hypothesis (provenance.py)
    rows["nom_commune"] = rows["code_commune"].map(names)
    rows["libelle_bloc"] = rows["bloc"].map(labels(inputs))
    for column in PERCENT_COLUMNS:
        rows[f"{column}_pct"] = (100 * rows[column]).round(2)
    return rows[["scenario", "horizon_ans", "scrutin_cible", "libelle_cible", "date_cible", "code_commune", "nom_commune", "bloc", "libelle_bloc",
                 *(f"{c}_pct" for c in PERCENT_COLUMNS), *CSV_COLUMNS]]


def totals_provenance(territories: dict[str, TerritoryForecast]) -> pd.DataFrame:
    """Per target: how its territory totals were obtained (``dim_scrutin_cible`` columns: method, polls used, notes)."""
    rows = []
    for target, totals in territories.items():
        polls = totals.polls
        dates = pd.to_datetime(polls["date_fin"]) if "date_fin" in polls else pd.Series(dtype="datetime64[ns]")
        pollsters = sorted(polls["institut"].dropna().unique()) if "institut" in polls else []
        rows.append({"scrutin_cible": target, "methode_totaux": totals.method, "nb_sondages": len(polls),
                     "sondage_debut": dates.min().date() if len(dates) else None, "sondage_fin": dates.max().date() if len(dates) else None,
                     "instituts": ", ".join(pollsters) or None, "note_totaux": " ".join(totals.notes)})
    return pd.DataFrame(rows, columns=["scrutin_cible", "methode_totaux", "nb_sondages", "sondage_debut", "sondage_fin", "instituts", "note_totaux"])


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Forecast rows as CSV with the export's writer (UTF-8 BOM, ``;``, decimal comma)."""
    from electio.outputs.exports import Exported
    from electio.outputs.exports import write_csv as export_csv

    with duckdb.connect() as con:
        con.register("source", frame)
        con.execute("CREATE TABLE fact_prevision AS SELECT * FROM source")
        relation = con.sql("SELECT * FROM fact_prevision")
        columns = tuple((c, str(t)) for c, t in zip(relation.columns, relation.types, strict=True))
        return export_csv(con, Exported("fact_prevision", "table", len(frame), columns, ""), path)


def run_forecast(warehouse: Path | None = None, options: ForecastOptions = ForecastOptions(), progress: Progress | None = None,
                 write: bool = True) -> ForecastResult:
    """Run the stage: simulations, tables (if ``write``), CSV and charts."""
    from electio.forecasts import charts

    say = progress or (lambda _message: None)
    warehouse = warehouse or config.warehouse_path()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    sc.custom_scenario(options.swings, options.indicators)  # a malformed setting or scenario file stops the run before any reading
    if options.scenario_file:
        sc.load_scenarios(options.scenario_file)
    if options.duels and warehouse.is_file():  # ─── duels hook: a bad --hypothese / --duel stops before any simulation
        from electio.forecasts.duel_stage import check_choices
        check_choices(warehouse, pd.Timestamp(options.as_of or date.today()), options.hypothesis, options.duel_ids)
    say("Lecture de l'entrepôt et du modèle retenu")
    read_from = file_identity(warehouse) if warehouse.is_file() else None
    as_of = pd.Timestamp(options.as_of or date.today())
    inputs = read_inputs(warehouse, options.model, as_of)
    data = inputs.data
    communes = [find_commune(inputs.communes, c) for c in options.communes]
    calendar = load_calendar()
    targets, skipped = forecast_targets(calendar, as_of, frozenset(data.ballots["type_scrutin"]))
    if not targets:
        raise ElectioError(f"aucun scrutin du calendrier à prévoir dans les trois ans après le {as_of.date():%d/%m/%Y} (referentials/calendrier.csv)")
    used_indicators = indicator_features(inputs.learner.features)
    known = set(used_indicators) | (set(data.indicators["indicateur"]) if data.indicators is not None else set())
    scenarios = resolve_scenarios(options, outputs(data.blocs), sorted(known))
    table = swings(data)
    variance = yearly_variance(table).reindex(outputs(data.blocs)).to_numpy(float)
    predictions = backtest_predictions(inputs.backtests, data.blocs, data.territoire, data.ballots.set_index("scrutin_id")["date_scrutin"])
    conditional = [p for p in predictions if p.conditionnel]
    timings["lecture"] = time.perf_counter() - clock
    frames, used = [], {}
    territories: dict[str, TerritoryForecast] = {}
    for target in targets:
        say(f"Simulation : {target.libelle}")
        calibration, used[target.horizon_ans] = horizon_calibration(conditional, target.horizon_ans)
        frame, territories[target.scrutin_cible] = run_target(inputs, target, scenarios, calibration, options)
        frames.append(frame)
    timings["simulation"] = time.perf_counter() - clock - sum(timings.values())
    forecasts = pd.concat(frames, ignore_index=True)
    say("Fiabilité des probabilités (backtests)")
    rates = previous_lead_rates(data, sorted(inputs.backtests["scrutin_test"].unique()))
    reliability = pd.concat([reliability_rows(lead_outcomes(inputs.backtests), "backtest", data.territoire, rates=rates),
                             reliability_rows(replay_outcomes(predictions, data), "simulation", data.territoire, rates=rates)], ignore_index=True)
    timings["fiabilite"] = time.perf_counter() - clock - sum(timings.values())
    result = ForecastResult(
        territoire=data.territoire, output=forecast_dir(), targets=targets, scenarios=scenarios, forecasts=forecasts, calibration=reliability,
        swings=table, variance=pd.Series(variance, index=outputs(data.blocs)), calibration_horizons=used, draws=options.draws,
        libelles=charts.labels(inputs), nom_territoire=inputs.territory_name, notes=list(inputs.notes), as_of=as_of, skipped=skipped)
    result.notes += [f"Non prévu : {s.scrutin_id} ({s.date:%d/%m/%Y}) — {s.raison}." for s in skipped]
    result.notes += indicator_notes(forecasts, scenarios, used_indicators, data.territoire)
    result.territories = territories
    result.notes += [f"Totaux du territoire, {t.libelle} : {' '.join(territories[t.scrutin_cible].notes)}" for t in targets]
    described = target_frame(calendar, targets, skipped, as_of).merge(totals_provenance(territories), on="scrutin_cible", how="left")
    with staged_folder(result.output) as folder:  # files first, tables next, then the folder swapped in: never half of a run
        final, result.output = result.output, folder
        result.figures.append(write_csv(readable_frame(forecasts, described, inputs), folder / CSV_NAME))
        say("Graphiques")
        result.figures += charts.draw_all(result, inputs, communes, options)
        timings["graphiques"] = time.perf_counter() - clock - sum(timings.values())
        if write:
            say("Écriture dans l'entrepôt")
            tables = {"dim_scenario": scenario_frame(scenarios), "dim_scrutin_cible": described,
                      "fact_prevision": forecasts[FACT_COLUMNS], "forecast_calibration": result.calibration}
            result.stored = replace_stage_tables(warehouse, FORECAST_DDL, tables, {}, read_from=read_from)
            duel_hook(result, inputs, warehouse, options, say)  # ─── duels hook (forecasts/duel_stage.py)
        timings["tables"] = time.perf_counter() - clock - sum(timings.values())
        result.output = final
    result.figures = [final / path.relative_to(folder) for path in result.figures]
    timings["total"] = time.perf_counter() - clock
    result.timings = timings
    return result


def duel_hook(result: ForecastResult, inputs: Inputs, warehouse: Path, options: ForecastOptions, say: Progress) -> None:
    """Second rounds of the présidentielle 2027 (:func:`electio.forecasts.duel_stage.run_duels`) once its first round is stored,
    with their map and table in the forecast folder."""
    from electio.forecasts.duel_charts import draw_duels
    from electio.forecasts.duel_stage import TARGET_T1, run_duels

    if not options.duels or TARGET_T1 not in {t.scrutin_cible for t in result.targets}:
        return
    say("Seconds tours de la présidentielle 2027 (duels)")
    try:  # the first round is already stored: a failure of the duels must not undo it (bad --hypothese / --duel stopped earlier)
        result.duels = run_duels(warehouse, result.as_of, options.hypothesis, options.duel_ids, draws=options.draws, seed=options.seed,
                                 learner=inputs.model_name)
    except (ElectioError, ValueError) as error:
        result.notes.append(f"Seconds tours 2027 non calculés : {error}")
        return
    result.stored.update(result.duels.stored)
    result.notes += result.duels.notes
    colours = dict(zip(inputs.blocs["code_bloc"], inputs.blocs["couleur"], strict=True))
    result.figures += draw_duels(result.duels, inputs.communes, inputs.mapping, result.territoire, result.output, colours)


def territory_table(forecasts: pd.DataFrame, territory: str) -> pd.DataFrame:
    """The territory rows (mean, 80 % interval, P(lead)) of every scenario and target, for printing."""
    rows = forecasts[forecasts["code_commune"] == territory]
    return rows[["scenario", "horizon_ans", "scrutin_cible", "bloc", "moyenne", "q10", "q90", "p_tete"]].reset_index(drop=True)
