"""Cached, read-only queries of the warehouse for the dashboard.

Every function is pure: its result depends only on its (hashable) arguments and on the
warehouse file, which the dashboard never writes. Results are kept in memory with
``lru_cache`` (callers must treat the returned frames as read-only). Each query opens a short
read-only DuckDB connection and closes it at once, so the dashboard never holds the file's lock
between queries; :func:`warm` runs the page-independent queries at start-up.

Shares are fractions (0–1) as in the warehouse; the pages turn them into percentages.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from electio.catalogue import catalogue
from electio.errors import ElectioError
from electio.models.metrics import MEAN

TENDANCE = "tendance"
BUSY_WAIT_S = 60.0
"""How long a query waits while a stage (``electio forecast``…) holds the warehouse open for writing."""
QUANTILES = ("q025", "q10", "q50", "q90", "q975")
FORECAST_COLUMNS = ("scenario", "horizon_ans", "scrutin_cible", "code_commune", "bloc", "moyenne", *QUANTILES, "p_tete")
BALLOT_ID = re.compile(r"^(pres|leg|euro|muni|reg|dep)(\d{4})_t(\d)$")
BALLOT_TYPES = {"pres": "Présidentielle", "leg": "Législatives", "euro": "Européennes", "muni": "Municipales", "reg": "Régionales", "dep": "Départementales"}
FIRST_ROUND_TYPES = ("presidentielle", "europeennes", "legislatives")


# ─── Low level ──────────────────────────────────────────────────────────────────────────

_seen: dict[tuple[Path, int], tuple[int, int, int] | None] = {}
_seen_lock = threading.Lock()


def replaced(path: Path, observer: object = None) -> bool:
    """Whether the warehouse file changed (rebuilt by ``electio etl``, rewritten by a later stage) since this
    ``observer``'s last call (each app keeps its own view); the first call only records it. A stat per call:
    cheap enough to run before every request."""
    from electio.warehouse.store import file_identity

    try:
        identity = file_identity(path)
    except FileNotFoundError:
        identity = None
    seen = (path, id(observer))
    with _seen_lock:
        first, before = seen not in _seen, _seen.get(seen)
        _seen[seen] = identity
    return not first and before != identity


@lru_cache(maxsize=256)
def query(path: Path, sql: str, params: tuple = ()) -> pd.DataFrame:
    """Result of one SQL query on the warehouse opened read-only (cached)."""
    if not path.is_file():
        raise FileNotFoundError(f"entrepôt absent : {path} (lancez d'abord « electio etl »)")
    deadline = time.monotonic() + BUSY_WAIT_S
    while True:
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                return con.execute(sql, list(params)).df()
        except duckdb.IOException as exc:  # a stage holds the file open for writing: wait for its commit
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@lru_cache(maxsize=8)
def relations(path: Path) -> frozenset[str]:
    """Names of the tables and views of the warehouse."""
    return frozenset(query(path, "SELECT table_name FROM information_schema.tables")["table_name"])


def has(path: Path, name: str) -> bool:
    """Whether the warehouse has this table or view (later stages may not have run)."""
    return name in relations(path)


def table_or_empty(path: Path, name: str, sql: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """``sql`` when ``name`` exists, else an empty frame with ``columns``."""
    return query(path, sql) if has(path, name) else pd.DataFrame(columns=list(columns))


# ─── Reference data ─────────────────────────────────────────────────────────────────────

@lru_cache(maxsize=8)
def blocs(path: Path) -> pd.DataFrame:
    """Blocs in display order (left to right) with their colour-blind-safe colours."""
    return query(path, "SELECT code_bloc, libelle, ordre, couleur FROM dim_bloc ORDER BY ordre")


def bloc_labels(path: Path) -> dict[str, str]:
    """French label of each bloc code, plus abstention."""
    frame = blocs(path)
    return {**dict(zip(frame["code_bloc"], frame["libelle"], strict=True)), "abstention": "Abstention"}


def bloc_colours(path: Path) -> dict[str, str]:
    """Hex colour of each bloc code."""
    frame = blocs(path)
    return dict(zip(frame["code_bloc"], frame["couleur"], strict=True))


@lru_cache(maxsize=8)
def communes(path: Path) -> pd.DataFrame:
    """Units of analysis of the territory (communes, and Lyon's arrondissements instead of Lyon), sorted by name."""
    return query(path, "SELECT code_commune, nom_commune, population FROM v_unite_analyse ORDER BY nom_commune, code_commune")


def commune_name(path: Path, code: str) -> str:
    """Name of a commune from its code (the code itself when unknown)."""
    found = communes(path).loc[lambda f: f["code_commune"] == code, "nom_commune"]
    return str(found.iloc[0]) if len(found) else code


@lru_cache(maxsize=8)
def territory(path: Path) -> tuple[str, str]:
    """Code and name of the territory loaded by the last ETL run (``FR``: France)."""
    code = str(query(path, "SELECT territoire FROM etl_run ORDER BY started_at DESC LIMIT 1")["territoire"].iloc[0])
    names = query(path, "SELECT code_departement, nom_departement FROM dim_departement")
    found = names.loc[names["code_departement"] == code, "nom_departement"]
    return code, (str(found.iloc[0]) if len(found) else "France")


@lru_cache(maxsize=8)
def ballots(path: Path) -> pd.DataFrame:
    """Loaded ballots with commune results, in date order (not those known only as territory totals)."""
    return query(path, "SELECT scrutin_id, type_scrutin, annee, tour, date_scrutin, libelle FROM dim_scrutin "
                       "WHERE scrutin_id IN (SELECT scrutin_id FROM fact_participation) ORDER BY date_scrutin")


@lru_cache(maxsize=8)
def outlines(path: Path) -> dict | None:
    """Commune outlines as WGS84 GeoJSON (feature id = code_commune, simplified to ~30 m); None without polygons.

    Read from the verified polygon files of the catalogue (mirror or cache), dissolved onto COG 2026.
    """
    import shapely

    from electio.analysis.geometry import SOURCE_CRS, commune_shapes

    try:
        rows = query(path, "SELECT code_commune, nom_commune, code_departement FROM v_unite_analyse")
        mapping = query(path, "SELECT code_source, code_reference FROM map_commune_cog")
        shapes, _, _ = commune_shapes(rows, mapping)
    except (ElectioError, OSError, KeyError):
        return None
    shapes = shapes[shapes.geometry.notna()].copy()
    shapes["geometry"] = shapes.geometry.simplify(30)
    shapes = shapes.to_crs(SOURCE_CRS)
    shapes["geometry"] = shapely.transform(shapes.geometry.to_numpy(), lambda xy: xy.round(4))  # ~10 m, short JSON numbers
    return json.loads(shapes.set_index("code_commune")[["geometry"]].to_json(drop_id=False))


OUTLINES_URL = "/contours/"


@lru_cache(maxsize=8)
def outlines_file(path: Path) -> tuple[str, bytes] | None:
    """The outlines as served to the browser: (file name carrying a hash of the content, JSON bytes); None without polygons.

    Maps reference this URL instead of embedding the ~0.5 MB GeoJSON in every figure: the browser
    fetches it once, and a callback serialises only the commune values.
    """
    shapes = outlines(path)
    if shapes is None:
        return None
    body = json.dumps(shapes, separators=(",", ":")).encode("utf-8")
    return f"communes-{hashlib.sha256(body).hexdigest()[:16]}.json", body


def outlines_url(path: Path) -> str | dict:
    """URL of the outlines for the maps (an empty collection when the warehouse has no polygons)."""
    found = outlines_file(path)
    return f"{OUTLINES_URL}{found[0]}" if found else {"type": "FeatureCollection", "features": []}


# ─── Election results ───────────────────────────────────────────────────────────────────

@lru_cache(maxsize=8)
def history(path: Path) -> pd.DataFrame:
    """Bloc shares of every unit of analysis at every first round (and the territory total, its code);
    an arrondissement only at the ballots measured by bureau (estimated rows are no result)."""
    code, _ = territory(path)
    sql = """
        WITH r AS (
            SELECT v.scrutin_id, v.code_unite AS code_commune, v.bloc, v.voix, v.exprimes
            FROM v_resultat_bloc_unite v JOIN dim_scrutin s USING (scrutin_id)
            WHERE s.tour = 1 AND s.type_scrutin IN ('presidentielle', 'europeennes', 'legislatives') AND NOT v.estime
              AND v.type_unite IN ('commune', 'arrondissement')
        ), t AS (
            SELECT scrutin_id, ? AS code_commune, bloc, SUM(voix) AS voix, SUM(exprimes) AS exprimes FROM r GROUP BY ALL
        )
        SELECT u.scrutin_id, s.libelle, s.date_scrutin, s.type_scrutin, u.code_commune, u.bloc, u.voix * 1.0 / NULLIF(u.exprimes, 0) AS part
        FROM (SELECT * FROM r UNION ALL SELECT * FROM t) u JOIN dim_scrutin s USING (scrutin_id)
        ORDER BY s.date_scrutin, u.code_commune, u.bloc
    """
    return query(path, sql, (code,))


# ─── Forecasts (stage « electio forecast ») ─────────────────────────────────────────────

@lru_cache(maxsize=8)
def forecasts(path: Path) -> pd.DataFrame:
    """Every row of ``fact_prevision`` (empty with the contract's columns before the forecast stage)."""
    return table_or_empty(path, "fact_prevision", f"SELECT {', '.join(FORECAST_COLUMNS)} FROM fact_prevision", FORECAST_COLUMNS)


def target_label(horizon: int, target: str) -> str:
    """Fallback French label of a forecast target the forecast stage does not describe."""
    match = BALLOT_ID.match(target)
    if match:
        kind, year, tour = match.groups()
        return f"{BALLOT_TYPES[kind]} {year} ({'1er' if tour == '1' else '2d'} tour)"
    return f"Dans {horizon} an{'s' if horizon > 1 else ''}"


TARGET_COLUMNS = ("scrutin_cible", "type_scrutin", "tour", "date_scrutin", "statut", "source_date", "date_reference", "horizon_ans", "libelle", "libelle_court", "prevu", "raison_exclusion")


def stored_targets(path: Path) -> pd.DataFrame:
    """``dim_scrutin_cible``: the calendar ballots the forecast stage forecast (and left out), as stored."""
    return table_or_empty(path, "dim_scrutin_cible", "SELECT * FROM dim_scrutin_cible ORDER BY date_scrutin", TARGET_COLUMNS)


def described_targets(path: Path) -> dict[str, tuple[str, pd.Timestamp]]:
    """Label and date of each forecast target, as the forecast stage stored them (empty without that stage)."""
    from electio.forecasts.summary import target_labels

    return target_labels(stored_targets(path))


def target_key(horizon: int, target: str) -> str:
    """Value of a target in the selectors: ``horizon|scrutin_cible``."""
    return f"{int(horizon)}|{target}"


def parse_target(key: str) -> tuple[int, str]:
    """Inverse of :func:`target_key`."""
    horizon, target = key.split("|", 1)
    return int(horizon), target


@lru_cache(maxsize=8)
def targets(path: Path, scenario: str = TENDANCE) -> pd.DataFrame:
    """Forecast targets of a scenario, by horizon: horizon_ans, scrutin_cible, key, label, date."""
    rows = forecasts(path)
    rows = rows.loc[rows["scenario"] == scenario, ["horizon_ans", "scrutin_cible"]].drop_duplicates()
    columns = ["horizon_ans", "scrutin_cible", "key", "label", "date"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    known = described_targets(path)
    latest = pd.Timestamp(ballots(path)["date_scrutin"].max())
    pairs = list(zip(rows["horizon_ans"].astype(int), rows["scrutin_cible"], strict=True))
    rows = rows.assign(
        key=[target_key(h, t) for h, t in pairs],
        label=[known[t][0] if t in known else target_label(h, t) for h, t in pairs],
        date=[known[t][1] if t in known else latest + pd.DateOffset(years=h) for h, t in pairs],
    )
    return rows.sort_values(["date", "scrutin_cible"])[columns].reset_index(drop=True)


@lru_cache(maxsize=64)
def forecast_slice(path: Path, key: str, scenario: str = TENDANCE) -> pd.DataFrame:
    """Forecast rows of one target and scenario (communes and the territory aggregate)."""
    horizon, target = parse_target(key)
    rows = forecasts(path)
    chosen = rows[(rows["scenario"] == scenario) & (rows["horizon_ans"] == horizon) & (rows["scrutin_cible"] == target)]
    return chosen.reset_index(drop=True)


def commune_forecasts(path: Path, key: str, scenario: str = TENDANCE) -> pd.DataFrame:
    """Forecast rows of the communes only (territory aggregate left out)."""
    rows = forecast_slice(path, key, scenario)
    return rows[rows["code_commune"].isin(communes(path)["code_commune"])].reset_index(drop=True)


def territory_forecast(path: Path, key: str, scenario: str = TENDANCE) -> pd.DataFrame:
    """Forecast rows of the territory aggregate (``code_commune`` = territory code), blocs in display order."""
    rows = forecast_slice(path, key, scenario)
    rows = rows[rows["code_commune"] == territory(path)[0]]
    return in_bloc_order(path, rows)


def in_bloc_order(path: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of blocs (column ``bloc``) sorted by the blocs' display order, abstention last."""
    order = {code: rank for rank, code in enumerate(blocs(path)["code_bloc"])}
    return rows.assign(_o=rows["bloc"].map(order).fillna(len(order))).sort_values("_o").drop(columns="_o").reset_index(drop=True)


def leaders(rows: pd.DataFrame) -> pd.DataFrame:
    """Leading bloc of each commune (highest mean share, abstention excluded): code_commune, bloc, moyenne, p_tete.

    The same rule as the report and the slides (``electio.forecasts.summary.leaders``)."""
    from electio.forecasts.summary import leaders as summary_leaders

    return summary_leaders(rows[[c for c in rows.columns if c not in ("scenario", "horizon_ans", "scrutin_cible")]])


@lru_cache(maxsize=8)
def scenarios(path: Path) -> pd.DataFrame:
    """``dim_scenario`` as stored (empty before the forecast stage)."""
    return table_or_empty(path, "dim_scenario", "SELECT * FROM dim_scenario", ("scenario",))


@lru_cache(maxsize=8)
def calibration(path: Path) -> pd.DataFrame:
    """``forecast_calibration`` as stored (reliability diagram data and Brier scores)."""
    columns = ("territoire", "modele", "source", "conditionnel", "classe", "borne_basse", "borne_haute", "proba_moyenne",
               "frequence_observee", "effectif", "brier", "brier_reference", "scrutins")
    return table_or_empty(path, "forecast_calibration", "SELECT * FROM forecast_calibration ORDER BY ALL", columns)


def reliability(path: Path) -> pd.DataFrame:
    """Non-empty probability classes of the territory: source, conditionnel, proba, frequence, effectif, brier, brier_reference, scrutins."""
    rows = calibration(path)
    if "source" not in rows.columns:
        rows = rows.assign(source="backtest")
    rows = rows[(rows["territoire"] == territory(path)[0]) & (rows["effectif"] > 0) & rows["proba_moyenne"].notna()]
    return rows.rename(columns={"proba_moyenne": "proba", "frequence_observee": "frequence"}).reset_index(drop=True)


# ─── Indicators ─────────────────────────────────────────────────────────────────────────

@lru_cache(maxsize=8)
def indicator_info(path: Path) -> pd.DataFrame:
    """``dim_indicateur``: label, theme, unit, unfavourable direction."""
    return query(path, "SELECT indicateur, libelle, theme, unite, sens_defavorable FROM dim_indicateur ORDER BY theme, indicateur")


@lru_cache(maxsize=8)
def indicator_latest(path: Path) -> pd.DataFrame:
    """For every commune and indicator, its latest known value, its percentile among the territory's communes
    that year (share of communes with a value at most as high, %) and the territory median of that year.
    A year published by several sources counts once per commune (the first source by identifier)."""
    sql = """
        WITH once AS (
            SELECT i.code_unite AS code_commune, i.indicateur, i.annee, arg_min(i.valeur, i.source) AS valeur
            FROM v_indicateur_unite i JOIN v_unite_analyse c ON c.code_commune = i.code_unite
            WHERE i.valeur IS NOT NULL GROUP BY ALL
        ), v AS (
            SELECT *, 100 * CUME_DIST() OVER (PARTITION BY indicateur, annee ORDER BY valeur) AS centile FROM once
        ), m AS (
            SELECT indicateur, annee, MEDIAN(valeur) AS mediane, COUNT(*) AS communes FROM v GROUP BY ALL
        ), latest AS (
            SELECT * FROM v QUALIFY ROW_NUMBER() OVER (PARTITION BY code_commune, indicateur ORDER BY annee DESC) = 1
        )
        SELECT latest.code_commune, latest.indicateur, latest.annee, latest.valeur, latest.centile, m.mediane, m.communes
        FROM latest JOIN m USING (indicateur, annee)
    """
    return query(path, sql)


@lru_cache(maxsize=512)
def indicator_table(path: Path, code: str) -> pd.DataFrame:
    """One commune's indicators next to the territory median, with the unfavourable direction."""
    rows = indicator_latest(path)
    rows = rows[rows["code_commune"] == code]
    table = indicator_info(path).merge(rows, on="indicateur", how="inner")
    return table.sort_values(["theme", "libelle"]).reset_index(drop=True)


# ─── Models ─────────────────────────────────────────────────────────────────────────────

@lru_cache(maxsize=8)
def importance(path: Path) -> pd.DataFrame:
    """``model_importance`` rows (empty before the model stage)."""
    return table_or_empty(path, "model_importance", "SELECT * FROM model_importance ORDER BY modele, bloc, rang",
                          ("modele", "scrutin_test", "territoire", "bloc", "variable", "famille", "importance", "ecart_type", "rang"))


@lru_cache(maxsize=64)
def drivers(path: Path, model: str, bloc: str = MEAN, top: int = 10) -> pd.DataFrame:
    """The ``top`` variables of one model and bloc by permutation importance (positive ones only)."""
    rows = importance(path)
    rows = rows[(rows["modele"] == model) & (rows["bloc"] == bloc) & (rows["importance"] > 0)]
    return rows.nsmallest(top, "rang").reset_index(drop=True)


@lru_cache(maxsize=8)
def evaluation(path: Path) -> pd.DataFrame:
    """``model_evaluation`` rows (empty before the model stage)."""
    return table_or_empty(path, "model_evaluation", "SELECT * FROM model_evaluation WHERE modele NOT LIKE '%_rejoue'",  # backtests only (replays apart)
                          ("modele", "scrutin_test", "territoire", "horizon_ans", "conditionnel", "bloc", "metrique", "valeur"))


@lru_cache(maxsize=8)
def accuracy(path: Path, scrutin: str) -> pd.DataFrame:
    """Per model, on ``scrutin`` in the territory: mean bloc MAE (conditional or not), lead accuracy, coverage."""
    from electio.models.evaluate import main_table

    rows = evaluation(path)
    return pd.DataFrame() if rows.empty else main_table(rows, scrutin, territory(path)[0])


@lru_cache(maxsize=8)
def main_test(path: Path) -> str:
    """The main test ballot of the model stage (``model_card``), the preferred one when the card does not say."""
    from electio.models.evaluate import MAIN_TEST, MAIN_TEST_KEY

    if not has(path, "model_card"):
        return MAIN_TEST
    rows = query(path, "SELECT valeur FROM model_card WHERE section = 'modele' AND cle = ?", (MAIN_TEST_KEY,))
    return str(rows["valeur"].iloc[0]) if len(rows) else MAIN_TEST


@lru_cache(maxsize=8)
def retained_model(path: Path) -> str:
    """Name of the model chosen by the model stage (``model_card``), ``retenu`` when unknown."""
    if not has(path, "model_card"):
        return "retenu"
    rows = query(path, "SELECT valeur FROM model_card WHERE section = 'modele' AND cle = 'nom'")
    return str(rows["valeur"].iloc[0]) if len(rows) else "retenu"


# ─── Lineage ────────────────────────────────────────────────────────────────────────────

@lru_cache(maxsize=8)
def last_run(path: Path) -> pd.DataFrame:
    """The ETL run that built the warehouse."""
    return query(path, "SELECT * FROM etl_run ORDER BY started_at DESC LIMIT 1")


@lru_cache(maxsize=8)
def run_inputs(path: Path) -> pd.DataFrame:
    """Files read by the last run, with their verified sha256, and the catalogue's title and publisher."""
    rows = query(path, "SELECT source_id, origine, sha256, octets, licence, url FROM etl_input "
                       "WHERE run_id = (SELECT run_id FROM etl_run ORDER BY started_at DESC LIMIT 1) ORDER BY source_id")
    info = sources()[["source_id", "titre", "producteur"]]
    return rows.merge(info, on="source_id", how="left")


@lru_cache(maxsize=1)
def sources() -> pd.DataFrame:
    """The source catalogue: id, folder, title, publisher, licence, URL."""
    rows = [(s.id, s.folder, s.title, s.publisher, s.licence, s.url or s.provenance_url) for s in catalogue().values()]
    return pd.DataFrame(rows, columns=["source_id", "dossier", "titre", "producteur", "licence", "url"])


@lru_cache(maxsize=8)
def quality_checks(path: Path) -> pd.DataFrame:
    """Data-quality contracts of the last run."""
    return query(path, "SELECT table_name, regle, severite, lignes_en_echec, exemple FROM dq_check "
                       "WHERE run_id = (SELECT run_id FROM etl_run ORDER BY started_at DESC LIMIT 1)")


@lru_cache(maxsize=8)
def ballot_coverage(path: Path) -> pd.DataFrame:
    """Communes present / expected per ballot, in date order."""
    return query(path, "SELECT c.scrutin_id, s.libelle, c.territoire, c.communes_presentes, c.communes_attendues, c.taux "
                       "FROM couverture_scrutin c JOIN dim_scrutin s USING (scrutin_id) ORDER BY s.date_scrutin, c.territoire")


@lru_cache(maxsize=8)
def indicator_coverage(path: Path) -> pd.DataFrame:
    """Indicator coverage per theme and year, labels included; gaps (statut lacune) first."""
    sql = """
        SELECT c.theme, c.indicateur, d.libelle, c.annee, c.communes_couvertes, c.communes_attendues,
               c.nulls_secret, c.nulls_non_publie, c.statut
        FROM couverture_indicateur c JOIN dim_indicateur d USING (indicateur)
        ORDER BY c.statut = 'ok', c.theme, d.libelle, c.annee
    """
    return query(path, sql)


def indicator_coverage_summary(path: Path) -> pd.DataFrame:
    """One row per indicator: years available, latest coverage, gap flag."""
    rows = indicator_coverage(path)
    grouped = rows.groupby(["theme", "indicateur", "libelle"], sort=False)
    summary = grouped.agg(annees=("annee", lambda a: ", ".join(str(int(y)) for y in sorted(a.dropna()))),
                          couvertes=("communes_couvertes", "last"), attendues=("communes_attendues", "last"),
                          statut=("statut", "first"))
    return summary.reset_index()


# ─── Start-up ───────────────────────────────────────────────────────────────────────────

def warm(path: Path) -> None:
    """Run every query that does not depend on a user's choice, so that pages answer from memory."""
    for load in (relations, blocs, communes, territory, ballots, history, outlines, outlines_file, forecasts, targets, scenarios, calibration,
                 indicator_info, indicator_latest, importance, evaluation, last_run, run_inputs, quality_checks,
                 ballot_coverage, indicator_coverage):
        load(path)
    sources()
