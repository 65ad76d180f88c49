"""Exploratory analysis stage (``electio explore``): maps, histograms, heat maps, correlation table.

Reads the warehouse built by the ETL, writes figures into ``output/exploration/`` (PNG for print,
HTML for screens) and the tables ``analysis_correlation`` and ``analysis_answer`` (DDL
``warehouse/analysis.sql``) into the same warehouse file, in one transaction.

Indicator values used for a ballot (no look-ahead): a value is usable if it was published
before the ballot date. The publication date is the view's ``date_publication`` when it has one,
else the date of ``referentials/indicateurs_disponibilite.csv`` for its (``source``, ``annee``);
rows with no known date fall back to ``annee <= ballot year - 1``. The rule applied is stored in
``regle_disponibilite``. For each indicator the year kept is the latest usable year whose coverage
is at least half of the best usable year's (so a sparse recent vintage does not replace a full one).

Analysed indicators: rates, shares, medians… Raw counts (units habitants, nombre, km²) measure
commune size, not its character, and are left out, except population and density, which enter
as log10. Partial correlations hold log10 population and log10 density constant (population:
the indicator when usable, else ``dim_commune``; density: the indicator, else population / polygon
area).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib import colormaps
from matplotlib.figure import Figure

from electio import config
from electio.analysis import figures
from electio.analysis.correlations import BootstrapSettings, correlation_table
from electio.analysis.figures import Layer
from electio.analysis.geometry import Coverage, area_km2, commune_shapes
from electio.catalogue import catalogue
from electio.warehouse.store import connect, replace_stage_tables

EXPLORATION_DIR = "exploration"
ANALYSIS_DDL = "analysis.sql"
CALENDAR_CSV = config.REFERENTIALS_DIR / "indicateurs_disponibilite.csv"
TURNOUT = "participation"
LOG_INDICATORS = frozenset({"population", "densite"})
COUNT_UNITS = frozenset({"habitants", "nombre", "km²"})
CONTROLS_LABEL = "log10 population, log10 densité"
RANKING_METHOD = "spearman"
PARTIAL_METHOD = "partielle_spearman"
MIN_COVERAGE_SHARE = 0.5
MIN_ANSWER_COVERAGE = 0.8
DISPLAY_UNITS = {"%": "%", "€/an": "€", "€/heure": "€/h", "hab/km²": "hab/km²", "habitants": "hab."}
CAUSATION = (
    "Attention : une corrélation n'est pas une causalité. Un lien statistique entre un indicateur et un vote, "
    "observé d'une commune à l'autre, ne prouve pas que l'indicateur cause ce vote : d'autres facteurs "
    "(taille, urbanisation, âge, histoire locale…) peuvent expliquer les deux, et un lien entre communes ne "
    "dit rien des comportements individuels (erreur écologique)."
)
THEMES = {
    "population": "Population", "structure_sociale": "Structure sociale", "education": "Éducation",
    "pauvrete_revenus": "Pauvreté et revenus", "emploi": "Emploi", "entreprises": "Entreprises",
    "logement": "Logement", "securite": "Sécurité", "vie_associative": "Vie associative",
}
Progress = Callable[[str], None]


def theme_rank(theme: str) -> int:
    """Display order of a theme (unknown themes last)."""
    return list(THEMES).index(theme) if theme in THEMES else len(THEMES)


def theme_label(theme: str) -> str:
    """French label of a theme."""
    return THEMES.get(theme, theme.replace("_", " ").capitalize())


@dataclass(frozen=True)
class ExploreOptions:
    """What ``electio explore`` computes and draws."""

    scrutins: tuple[str, ...] = ()  # empty: every ballot of the warehouse
    evolution: tuple[str, str] = ("pres2017_t1", "pres2022_t1")
    reference: str | None = None  # ballot of the printed answer (default: latest presidential 1st round)
    ponderation: str = "aucune"  # or "votants"
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)
    html: bool = True


@dataclass
class Data:
    """What the stage reads from the warehouse."""

    territoire: str
    run_id: str
    run_date: datetime
    scrutins: pd.DataFrame
    blocs: pd.DataFrame
    communes: pd.DataFrame
    results: pd.DataFrame
    turnout: pd.DataFrame
    mapping: pd.DataFrame
    input_sources: list[str]
    indicators: pd.DataFrame | None = None
    indicator_info: pd.DataFrame | None = None


@dataclass
class ExploreResult:
    """Figures written, polygon coverage, stored tables, French notes for the console."""

    output: Path
    figures: list[Path]
    coverage: Coverage
    correlations: pd.DataFrame
    answers: pd.DataFrame
    reference: str
    reference_label: str
    stored: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# ─── Reading the warehouse ──────────────────────────────────────────────────────────────

def has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view exists."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0])


def read_data(con: duckdb.DuckDBPyConnection, scrutins: tuple[str, ...] = ()) -> Data:
    """Everything the stage needs; indicators stay None while their view is absent."""
    run = con.execute("SELECT run_id, finished_at, territoire FROM etl_run ORDER BY finished_at DESC LIMIT 1").fetchall()[0]
    # Ballots with commune results (not those known only as France / département totals).
    ballots = con.sql("SELECT * FROM dim_scrutin WHERE scrutin_id IN (SELECT scrutin_id FROM fact_participation) ORDER BY date_scrutin, scrutin_id").df()
    if scrutins:
        unknown = sorted(set(scrutins) - set(ballots["scrutin_id"]))
        if unknown:
            raise ValueError(f"scrutins absents de l'entrepôt : {', '.join(unknown)}")
        ballots = ballots[ballots["scrutin_id"].isin(scrutins)].reset_index(drop=True)
    data = Data(
        territoire=run[2], run_id=run[0], run_date=run[1], scrutins=ballots,
        blocs=con.sql("SELECT code_bloc, libelle, ordre, couleur FROM dim_bloc ORDER BY ordre").df(),
        communes=con.sql("SELECT code_commune, nom_commune, code_departement, population FROM v_unite_analyse ORDER BY code_commune").df(),
        # units of analysis (Lyon's arrondissements), measured rows only: an estimated row is no result
        results=con.sql("SELECT scrutin_id, code_unite AS code_commune, bloc, voix, exprimes FROM v_resultat_bloc_unite WHERE NOT estime").df(),
        turnout=con.sql("SELECT scrutin_id, code_unite AS code_commune, inscrits, votants FROM v_participation_unite WHERE NOT estime").df(),
        mapping=con.sql("SELECT code_source, code_reference FROM map_commune_cog").df(),
        input_sources=[r[0] for r in con.execute("SELECT DISTINCT source_id FROM etl_input ORDER BY 1").fetchall()],
    )
    data.indicators, data.indicator_info = read_indicators(con)
    return data


def read_indicators(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Indicator rows per unit of analysis (``v_indicateur_unite``: the communes' rows and the arrondissements'
    own rows, ``code_commune`` = the unit; else ``v_indicateur_commune``) and the ``dim_indicateur`` labels;
    (None, None) while absent."""
    if not (has_relation(con, "v_indicateur_commune") and has_relation(con, "dim_indicateur")):
        return None, None
    rows = (con.sql("SELECT * EXCLUDE (code_commune) FROM v_indicateur_unite").df().rename(columns={"code_unite": "code_commune"})
            if has_relation(con, "v_indicateur_unite") else con.sql("SELECT * FROM v_indicateur_commune").df())
    return rows, con.sql("SELECT indicateur, libelle, theme, unite FROM dim_indicateur").df()


def short_publisher(publisher: str) -> str:
    """The producer's name without details: text before the first bracket, comma, semicolon, '+', 'via'…"""
    cut = len(publisher)
    for mark in (" (", ",", ";", " +", " via ", " - ", " / ", " base "):
        position = publisher.find(mark)
        if position > 0:
            cut = min(cut, position)
    return publisher[:cut].strip()


def publishers(source_ids: list[str], folders: tuple[str, ...]) -> list[str]:
    """Short producer names of the catalogue sources of ``folders`` among ``source_ids`` (in order, unique)."""
    known = catalogue()
    names = [short_publisher(known[s].publisher) for s in source_ids if s in known and known[s].folder in folders]
    return list(dict.fromkeys(names))


def caption(names: list[str], data: Data, note: str = "") -> str:
    """Figure caption: sources, ETL date, optional note."""
    text = f"Sources : {', '.join(names) or 'non renseignées'}. Entrepôt Electio, ETL du {data.run_date:%d/%m/%Y} (territoire {data.territoire})."
    return f"{text} {note}".strip()


# ─── Electoral targets ──────────────────────────────────────────────────────────────────

def targets(data: Data, scrutin_id: str) -> pd.DataFrame:
    """Commune × (bloc shares of valid votes, turnout), in %, for one ballot; columns in bloc order."""
    rows = data.results[data.results["scrutin_id"] == scrutin_id]
    shares = rows.assign(part=100.0 * rows["voix"] / rows["exprimes"].where(rows["exprimes"] > 0))
    wide = shares.pivot(index="code_commune", columns="bloc", values="part")
    wide = wide[[b for b in data.blocs["code_bloc"] if b in wide.columns]]
    turnout = data.turnout[data.turnout["scrutin_id"] == scrutin_id].set_index("code_commune")
    wide[TURNOUT] = 100.0 * turnout["votants"] / turnout["inscrits"].where(turnout["inscrits"] > 0)
    wide.columns.name = None
    return wide


def territory_values(data: Data, scrutin_id: str) -> dict[str, float]:
    """Whole-territory bloc shares and turnout (%) of a ballot: sums of votes, not mean of communes."""
    rows = data.results[data.results["scrutin_id"] == scrutin_id]
    voix = rows.groupby("bloc")["voix"].sum()
    exprimes = rows.drop_duplicates("code_commune")["exprimes"].sum()
    values = (100.0 * voix / exprimes).to_dict()
    turnout = data.turnout[data.turnout["scrutin_id"] == scrutin_id]
    values[TURNOUT] = 100.0 * turnout["votants"].sum() / turnout["inscrits"].sum()
    return values


def voters(data: Data, scrutin_id: str) -> pd.Series:
    """Voters per commune of a ballot (the optional correlation weights)."""
    rows = data.turnout[data.turnout["scrutin_id"] == scrutin_id]
    return rows.set_index("code_commune")["votants"].astype(float)


def target_labels(data: Data) -> dict[str, str]:
    """French label of every target code."""
    return {**dict(zip(data.blocs["code_bloc"], data.blocs["libelle"], strict=True)), TURNOUT: "Participation"}


def ballot_label(data: Data, scrutin_id: str) -> str:
    """French label of a ballot."""
    return str(data.scrutins.set_index("scrutin_id").at[scrutin_id, "libelle"])


# ─── Indicator availability ─────────────────────────────────────────────────────────────

def load_calendar(path: Path = CALENDAR_CSV) -> pd.DataFrame | None:
    """Publication dates per (source_id, annee), or None when the referential is absent."""
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"source_id": str})
    return frame.assign(date_publication=pd.to_datetime(frame["date_publication"]))[["source_id", "annee", "date_publication"]]


def dated(indicators: pd.DataFrame, calendar: pd.DataFrame | None) -> pd.DataFrame:
    """Indicator rows with ``date_disponible`` (NaT when unknown): the view's date, else the calendar's."""
    frame = indicators.assign(annee=indicators["annee"].astype(int))
    dates = pd.to_datetime(frame["date_publication"]) if "date_publication" in frame else pd.Series(pd.NaT, index=frame.index)
    if calendar is not None:
        lookup = calendar.drop_duplicates(["source_id", "annee"]).set_index(["source_id", "annee"])["date_publication"]
        keys = pd.MultiIndex.from_arrays([frame["source"].astype(str), frame["annee"]])
        dates = dates.fillna(pd.Series(lookup.reindex(keys).to_numpy(), index=frame.index))
    return frame.assign(date_disponible=dates)


def available_before(frame: pd.DataFrame, ballot_date: pd.Timestamp) -> pd.DataFrame:
    """Rows usable for a ballot on ``ballot_date``, with the rule applied to each."""
    known = frame["date_disponible"].notna()
    usable = np.where(known, frame["date_disponible"] < ballot_date, frame["annee"] <= ballot_date.year - 1)
    rule = np.where(known, "date_publication", "annee_anterieure")
    return frame.assign(regle=rule)[usable]


def pick_years(rows: pd.DataFrame) -> pd.DataFrame:
    """One value per (commune, indicator): the latest year covering at least half of the best year's communes."""
    rows = rows.assign(_na=rows["valeur"].isna()).sort_values(["_na", "date_disponible"], na_position="last")
    rows = rows.drop_duplicates(["code_commune", "indicateur", "annee"]).drop(columns="_na")
    counts = rows.dropna(subset=["valeur"]).groupby(["indicateur", "annee"]).size().rename("n").reset_index()
    counts = counts[counts["n"] >= MIN_COVERAGE_SHARE * counts.groupby("indicateur")["n"].transform("max")]
    chosen = counts.groupby("indicateur")["annee"].max().rename("annee_choisie")
    kept = rows.join(chosen, on="indicateur")
    return kept[kept["annee"] == kept["annee_choisie"]].drop(columns="annee_choisie")


def analysable(info: pd.DataFrame) -> pd.DataFrame:
    """Indicators worth correlating: not raw counts, except population and density (log10)."""
    keep = ~info["unite"].isin(COUNT_UNITS) | info["indicateur"].isin(LOG_INDICATORS)
    return info[keep]


def feature_frame(rows: pd.DataFrame, info: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide commune × indicator values (log10 for population and density) and one meta row per indicator."""
    rows = rows[rows["indicateur"].isin(analysable(info)["indicateur"])]
    wide = rows.pivot(index="code_commune", columns="indicateur", values="valeur")
    for column in LOG_INDICATORS & set(wide.columns):
        wide[column] = np.log10(wide[column].where(wide[column] > 0))
    meta = rows.groupby("indicateur").agg(annee=("annee", "max"), regle=("regle", lambda r: "+".join(sorted(set(r)))))
    meta["transformation"] = ["log10" if i in LOG_INDICATORS else "aucune" for i in meta.index]
    return wide, meta


def controls(features: pd.DataFrame, communes: pd.DataFrame, area: pd.Series) -> pd.DataFrame:
    """log10 population and log10 density per commune (indicator values first, fallbacks otherwise)."""
    population = communes.set_index("code_commune")["population"].astype(float).where(lambda p: p > 0)
    frame = pd.DataFrame(index=population.index)
    frame["log10_population"] = features.get("population", pd.Series(dtype=float)).reindex(frame.index)
    frame["log10_population"] = frame["log10_population"].fillna(np.log10(population))
    density = np.log10(population / area.reindex(frame.index))
    frame["log10_densite"] = features.get("densite", pd.Series(dtype=float)).reindex(frame.index).fillna(density)
    return frame


# ─── Correlations and answers ───────────────────────────────────────────────────────────

def ballot_correlations(
    data: Data, scrutin_id: str, indicators: pd.DataFrame, area: pd.Series, options: ExploreOptions
) -> pd.DataFrame:
    """Correlation rows of one ballot (indicators usable before it × targets), labelled for storage."""
    ballot = data.scrutins.set_index("scrutin_id").loc[scrutin_id]
    usable = pick_years(available_before(indicators, pd.Timestamp(ballot["date_scrutin"])))
    features, meta = feature_frame(usable, data.indicator_info)
    aims = targets(data, scrutin_id)
    weights = voters(data, scrutin_id) if options.ponderation == "votants" else None
    table = correlation_table(features, aims, weights, controls(features, data.communes, area), options.bootstrap)
    table = table[~(table["methode"].str.startswith("partielle") & table["variable"].isin(LOG_INDICATORS))]
    table = table.rename(columns={"variable": "indicateur"}).join(meta, on="indicateur")
    return table.assign(scrutin_id=scrutin_id).rename(columns={"annee": "annee_indicateur", "regle": "regle_disponibilite"})


def storage_frame(table: pd.DataFrame, data: Data, options: ExploreOptions, computed: datetime) -> pd.DataFrame:
    """Correlation rows with the lineage columns of ``analysis_correlation``."""
    settings = options.bootstrap
    return table.assign(
        territoire=data.territoire, ponderation=options.ponderation, niveau_confiance=settings.level,
        n_bootstrap=settings.n_boot, graine=settings.seed, run_id=data.run_id, calcule_le=computed,
        variables_controle=np.where(table["methode"].str.startswith("partielle"), CONTROLS_LABEL, None),
    )


def interval(low: float, high: float, digits: int = 2) -> str:
    """A confidence interval in French."""
    return f"IC 95\u202f% : {figures.fr_number(low, digits)} à {figures.fr_number(high, digits)}"


def answer_row(group: pd.DataFrame, partial: pd.DataFrame, labels: dict[str, str], names: dict[str, str]) -> dict:
    """The most correlated indicator of one (ballot, target): coefficient, CI, partial, runner-up, text."""
    ranked = group.assign(force=group["coefficient"].abs()).sort_values("force", ascending=False)
    top, second = ranked.iloc[0], (ranked.iloc[1] if len(ranked) > 1 else None)
    part = partial[partial["indicateur"] == top["indicateur"]]
    p = part.iloc[0] if len(part) else None
    distinct = second is None or _separated(top, second)
    label = names.get(top["indicateur"], top["indicateur"])
    text = (f"{labels.get(top['cible'], top['cible'])} : l'indicateur le plus corrélé est « {label} » ({top['annee_indicateur']}), "
            f"ρ de Spearman = {figures.fr_number(top['coefficient'], 2)} ({interval(top['ic_bas'], top['ic_haut'])} ; "
            f"{top['n_communes']} communes).")
    if p is not None:
        text += (f" À population et densité égales (corrélation partielle) : {figures.fr_number(p['coefficient'], 2)} "
                 f"({interval(p['ic_bas'], p['ic_haut'])}).")
    if second is not None:
        verdict = "écart significatif" if distinct else "écart non significatif : les deux sont au coude à coude"
        text += (f" Deuxième : « {names.get(second['indicateur'], second['indicateur'])} » "
                 f"({figures.fr_number(second['coefficient'], 2)}) — {verdict}.")
    return {
        "scrutin_id": top["scrutin_id"], "cible": top["cible"], "libelle_cible": labels.get(top["cible"], top["cible"]),
        "methode_classement": RANKING_METHOD,
        "indicateur": top["indicateur"], "libelle_indicateur": label, "annee_indicateur": int(top["annee_indicateur"]),
        "coefficient": top["coefficient"], "ic_bas": top["ic_bas"], "ic_haut": top["ic_haut"],
        "coefficient_partiel": None if p is None else p["coefficient"],
        "ic_partiel_bas": None if p is None else p["ic_bas"], "ic_partiel_haut": None if p is None else p["ic_haut"],
        "n_communes": int(top["n_communes"]), "second_indicateur": None if second is None else second["indicateur"],
        "second_coefficient": None if second is None else second["coefficient"], "ecart_significatif": bool(distinct),
        "texte": text, "avertissement": CAUSATION,
    }


def _separated(top: pd.Series, second: pd.Series) -> bool:
    """Whether the absolute-value confidence intervals of two coefficients do not overlap."""
    def absolute(row: pd.Series) -> tuple[float, float]:
        low, high = sorted((abs(row["ic_bas"]), abs(row["ic_haut"])))
        return (0.0, high) if row["ic_bas"] <= 0 <= row["ic_haut"] else (low, high)

    return absolute(top)[0] > absolute(second)[1]


def answers(table: pd.DataFrame, data: Data) -> pd.DataFrame:
    """One answer per (ballot, target) from the Spearman rows of the correlation table."""
    if table.empty:
        return pd.DataFrame()
    names = dict(zip(data.indicator_info["indicateur"], data.indicator_info["libelle"], strict=True))
    ranking = table[table["methode"] == RANKING_METHOD].dropna(subset=["coefficient"])
    covered = ranking["n_communes"] >= MIN_ANSWER_COVERAGE * len(data.communes)
    partial = table[table["methode"] == PARTIAL_METHOD]
    rows = []
    for key, group in ranking[covered].groupby(["scrutin_id", "cible"], sort=False):
        row = answer_row(group, partial[(partial["scrutin_id"] == key[0]) & (partial["cible"] == key[1])], target_labels(data), names)
        left_out = ranking[~covered & (ranking["scrutin_id"] == key[0]) & (ranking["cible"] == key[1])]
        rows.append({**row, "texte": row["texte"] + excluded_note(left_out, row["coefficient"], names)})
    return pd.DataFrame(rows)


def excluded_note(left_out: pd.DataFrame, best: float, names: dict[str, str]) -> str:
    """French note on a stronger indicator left out of the ranking for lack of coverage, if any."""
    stronger = left_out[left_out["coefficient"].abs() > abs(best)]
    if stronger.empty:
        return ""
    top = stronger.loc[stronger["coefficient"].abs().idxmax()]
    return (f" Hors classement (moins de {MIN_ANSWER_COVERAGE:.0%} des communes renseignées, échantillon non comparable) : "
            f"« {names.get(top['indicateur'], top['indicateur'])} » atteint {figures.fr_number(top['coefficient'], 2)} "
            f"sur {top['n_communes']} communes.").replace("%", " %")


def reference_ballot(data: Data, requested: str | None) -> str:
    """The ballot of the printed answer: the requested one, else the latest presidential 1st round, else the latest."""
    if requested:
        return requested
    first_rounds = data.scrutins[(data.scrutins["type_scrutin"] == "presidentielle") & (data.scrutins["tour"] == 1)]
    return str((first_rounds if len(first_rounds) else data.scrutins)["scrutin_id"].iloc[-1])


# ─── Figures ────────────────────────────────────────────────────────────────────────────

def bloc_layers(data: Data, scrutin_id: str) -> list[Layer]:
    """One layer per bloc of the ballot (bloc colour) and one for turnout (cividis)."""
    wide, whole = targets(data, scrutin_id), territory_values(data, scrutin_id)
    colours, labels = data.blocs.set_index("code_bloc")["couleur"], target_labels(data)
    layers = [
        Layer(code, labels[code], wide[code], figures.bloc_cmap(colours[code]), figures.sequential_norm(wide[code]),
              "%", 1, whole.get(code))
        for code in wide.columns if code != TURNOUT
    ]
    turnout = wide[TURNOUT]
    return [*layers, Layer(TURNOUT, "Participation (votants / inscrits)", turnout, colormaps[figures.TURNOUT_CMAP],
                           figures.sequential_norm(turnout), "%", 1, whole[TURNOUT])]


def swing_layers(data: Data, start: str, end: str) -> list[Layer]:
    """Change of each target between two ballots (points), diverging around the territory's own change."""
    before, after = targets(data, start), targets(data, end)
    whole_before, whole_after = territory_values(data, start), territory_values(data, end)
    labels = target_labels(data)
    layers = []
    for code in [c for c in after.columns if c in before.columns]:
        change = (after[code] - before[code]).dropna()
        centre = whole_after[code] - whole_before[code]
        layers.append(Layer(code, labels[code], change, colormaps[figures.SWING_CMAP],
                            figures.diverging_norm(change, centre), "pts", 1, centre, "Évolution du territoire"))
    return layers


def indicator_layers(frame: pd.DataFrame, info: pd.DataFrame) -> list[Layer]:
    """One layer per analysable indicator (its latest year), viridis, log scale for population and density."""
    labels = info.set_index("indicateur")
    layers = []
    for code, rows in frame.groupby("indicateur", sort=False):
        values = rows.set_index("code_commune")["valeur"]
        log = code in LOG_INDICATORS
        title = f"{labels.at[code, 'libelle']} ({rows['annee'].iloc[0]})"
        layers.append(Layer(code, title, values, colormaps[figures.SEQUENTIAL_CMAP], figures.sequential_norm(values, log),
                            DISPLAY_UNITS.get(str(labels.at[code, "unite"]), ""), figures.auto_digits(values)))
    return layers


def heatmap_frames(table: pd.DataFrame, data: Data, method: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Coefficient matrix (indicator labels × target labels), significance mask and hover texts."""
    rows = table[table["methode"] == method]
    info = data.indicator_info.set_index("indicateur")
    order = info.assign(rang=info["theme"].map(theme_rank)).sort_values(["rang", "libelle"]).index
    codes = [c for c in order if c in set(rows["indicateur"])]
    labels = target_labels(data)
    columns = [c for c in labels if c in set(rows["cible"])]
    first = rows.drop_duplicates("indicateur").set_index("indicateur")
    everyone = rows["n_communes"].max()
    row_labels = [f"{info.at[c, 'libelle']} ({first.at[c, 'annee_indicateur']}"
                  + ("" if first.at[c, "n_communes"] == everyone else f" ; {first.at[c, 'n_communes']} communes") + ")" for c in codes]
    coefficient, low, high, n = (rows.pivot(index="indicateur", columns="cible", values=v).reindex(index=codes, columns=columns)
                                 for v in ("coefficient", "ic_bas", "ic_haut", "n_communes"))
    significant = (low > 0) | (high < 0)
    hover = pd.DataFrame(
        [[f"{figures.fr_number(c, 2)} ({interval(lo, hi)}, {int(k) if np.isfinite(k) else 0} communes)"
          for c, lo, hi, k in zip(*(f.loc[i] for f in (coefficient, low, high, n)), strict=True)] for i in codes],
        index=row_labels, columns=[labels[c] for c in columns],
    )
    relabel = {"index": dict(zip(codes, row_labels, strict=True)), "columns": {c: labels[c] for c in columns}}
    return coefficient.rename(**relabel), significant.rename(**relabel), hover


def scatter_pairs(table: pd.DataFrame, found: pd.DataFrame, data: Data, features: pd.DataFrame, weighted: bool) -> list[figures.ScatterPair]:
    """Each answer of one ballot (a target and its most correlated indicator) as a scatter plot."""
    scrutin_id = found["scrutin_id"].iloc[0]
    aims, sizes = targets(data, scrutin_id), voters(data, scrutin_id)
    names = data.communes.set_index("code_commune")["nom_commune"].rename("nom")
    pearson = table[(table["scrutin_id"] == scrutin_id) & (table["methode"] == "pearson")].set_index(["cible", "indicateur"])["coefficient"]
    info, labels = data.indicator_info.set_index("indicateur"), target_labels(data)
    colours = {**data.blocs.set_index("code_bloc")["couleur"].to_dict(), TURNOUT: "#555555"}
    pairs = []
    for answer in found.itertuples():
        code, cible, log = answer.indicateur, answer.cible, answer.indicateur in LOG_INDICATORS
        frame = pd.concat([features[code].rename("x"), aims[cible].rename("y"), sizes.rename("s"), names], axis=1, join="inner").dropna()
        note = (f"ρ = {figures.fr_number(answer.coefficient, 2)} [{figures.fr_number(answer.ic_bas, 2)} ; "
                f"{figures.fr_number(answer.ic_haut, 2)}] · r{' (log10)' if log else ''} = {figures.fr_number(pearson[(cible, code)], 2)}"
                f" · {answer.n_communes} communes")
        y_label = "Participation (%)" if cible == TURNOUT else f"{labels[cible]} (% des exprimés)"
        pairs.append(figures.ScatterPair(
            10 ** frame["x"] if log else frame["x"], frame["y"], frame["nom"], frame["s"],
            f"{info.at[code, 'libelle']} ({answer.annee_indicateur}, {info.at[code, 'unite']})", y_label,
            f"{labels[cible]} × {info.at[code, 'libelle']}", colours[cible], note, log, frame["s"] if weighted else None,
        ))
    return pairs


class Writer:
    """Writes figures into the exploration folder and remembers them."""

    def __init__(self, folder: Path, html: bool) -> None:
        self.folder, self.html, self.paths = folder, html, []

    def png(self, fig: Figure, name: str) -> None:
        self.paths.append(figures.save_png(fig, self.folder / f"{name}.png"))

    def page(self, name: str, make: Callable[..., go.Figure], *args: object) -> None:
        """Build (only when HTML pages are wanted) and write ``make(*args)``."""
        if self.html:
            self.paths.append(figures.save_html(make(*args), self.folder / f"{name}.html"))


def election_figures(data: Data, shapes: gpd.GeoDataFrame, cover: Coverage, write: Writer, text: str) -> None:
    """Bloc share and turnout maps and histograms of every ballot."""
    for scrutin_id in data.scrutins["scrutin_id"]:
        layers, title = bloc_layers(data, scrutin_id), ballot_label(data, scrutin_id)
        write.png(figures.map_figure(shapes, layers, f"{title} : part des blocs (% des exprimés) et participation", text, cover.missing), f"carte_blocs_{scrutin_id}")
        write.page(f"carte_blocs_{scrutin_id}", figures.map_html, shapes, layers, f"{title} : résultats par commune", text)
        write.png(figures.histogram_figure(layers, f"{title} : distribution des communes", text), f"histogrammes_blocs_{scrutin_id}")


def swing_figures(data: Data, shapes: gpd.GeoDataFrame, cover: Coverage, write: Writer, text: str, pair: tuple[str, str]) -> str | None:
    """Map of changes between two ballots; a French note instead when one is missing."""
    start, end = pair
    present = set(data.scrutins["scrutin_id"])
    if start not in present or end not in present:
        return f"Carte d'évolution non produite : scrutin(s) absent(s) ({', '.join(s for s in pair if s not in present)})."
    layers = swing_layers(data, start, end)
    title = f"Évolution {ballot_label(data, start)} → {ballot_label(data, end)} (points)"
    note = text + (" Couleurs centrées sur l'évolution de l'ensemble du territoire (trait noir sur l'échelle) : "
                   "orange = évolution plus favorable au bloc que sur l'ensemble du territoire, violet = moins favorable.")
    absent = [target_labels(data)[c] for c in targets(data, end).columns.symmetric_difference(targets(data, start).columns)]
    if absent:
        note += f" Sans candidat à l'un des deux scrutins, donc sans carte : {', '.join(absent)}."
    write.png(figures.map_figure(shapes, layers, title, note, cover.missing), f"carte_evolution_{start}_{end}")
    write.page(f"carte_evolution_{start}_{end}", figures.map_html, shapes, layers, title, note)
    return None


def indicator_figures(latest: pd.DataFrame, data: Data, shapes: gpd.GeoDataFrame, cover: Coverage, write: Writer, text: str) -> None:
    """Maps and histograms of every analysable indicator (latest year), one PNG per theme."""
    info = analysable(data.indicator_info)
    layers = indicator_layers(latest[latest["indicateur"].isin(info["indicateur"])], data.indicator_info)
    themes = info.set_index("indicateur")["theme"]
    for theme in sorted(set(themes[[layer.key for layer in layers]]), key=theme_rank):
        selected, label = [layer for layer in layers if themes[layer.key] == theme], theme_label(theme)
        write.png(figures.map_figure(shapes, selected, f"Indicateurs — {label}", text, cover.missing), f"carte_indicateurs_{theme}")
        write.png(figures.histogram_figure(selected, f"Indicateurs — {label} : distribution des communes", text), f"histogrammes_indicateurs_{theme}")
    if layers:
        write.page("carte_indicateurs", figures.map_html, shapes, layers, "Indicateurs locaux par commune", text)


def weighting_label(options: ExploreOptions) -> str:
    """Suffix of the titles of weighted analyses."""
    return " (communes pondérées par les votants)" if options.ponderation == "votants" else ""


HEATMAP_TOP = 12  # indicators on the printed heat map


def strongest_rows(matrix: pd.DataFrame, count: int) -> list[str]:
    """The ``count`` rows of largest absolute coefficient (any column), in the matrix's own order (themes)."""
    strength = matrix.abs().max(axis=1).fillna(0)
    keep = set(strength.sort_values(ascending=False, kind="stable").index[:count])
    return [label for label in matrix.index if label in keep]


def well_covered(rows: pd.DataFrame, data: Data, labels: pd.Index) -> np.ndarray:
    """Which heat-map rows (labels in the order of :func:`heatmap_frames`) are indicators known in at least
    :data:`MIN_ANSWER_COVERAGE` of the communes, the rule of the headline answer."""
    info = data.indicator_info.set_index("indicateur")
    order = info.assign(rang=info["theme"].map(theme_rank)).sort_values(["rang", "libelle"]).index
    codes = [c for c in order if c in set(rows["indicateur"])]
    counts = rows.groupby("indicateur")["n_communes"].max()
    communes = len(data.communes)
    mask = np.array([counts.get(c, 0) >= MIN_ANSWER_COVERAGE * communes for c in codes], dtype=bool)
    return mask if len(mask) == len(labels) else np.ones(len(labels), dtype=bool)


def correlation_figures(table: pd.DataFrame, data: Data, write: Writer, text: str, suffix: str = "") -> None:
    """Heat map of Spearman correlations (indicators × targets) for every ballot."""
    for scrutin_id, rows in table.groupby("scrutin_id", sort=False):
        matrix, significant, hover = heatmap_frames(rows, data, RANKING_METHOD)
        title = f"{ballot_label(data, scrutin_id)} : corrélation de Spearman entre indicateurs et vote{suffix}"
        note = (text + " Entre parenthèses : année des valeurs, la plus récente publiée avant le scrutin, et nombre de communes "
                "renseignées s'il en manque. Chiffres en gras : intervalle de confiance à 95\u202f% (bootstrap) excluant 0. " + CAUSATION)
        write.png(figures.heatmap_figure(matrix, significant, title, note), f"correlations_{scrutin_id}")
        covered = well_covered(rows, data, matrix.index)
        top = strongest_rows(matrix[covered], HEATMAP_TOP)
        if 0 < len(top) < len(matrix):  # a print page: the strongest well-covered indicators (the full table goes to the annex)
            write.png(figures.heatmap_figure(matrix.loc[top], significant.loc[top], title + f" — les {len(top)} indicateurs les plus liés",
                                             note + f" Parmi les indicateurs connus dans au moins {MIN_ANSWER_COVERAGE:.0%} des communes (règle de la "
                                             f"réponse), ceux dont le plus fort coefficient (en valeur absolue) est parmi les {len(top)} premiers ;"
                                             f" les {len(matrix)} indicateurs : correlations_{scrutin_id}.png.".replace("%", "\u202f%")),
                      f"correlations_{scrutin_id}_principaux")
        write.page(f"correlations_{scrutin_id}", figures.heatmap_html, matrix, hover, title, note)


# ─── Orchestration ──────────────────────────────────────────────────────────────────────

def exploration_dir() -> Path:
    """``output/exploration`` under the project home."""
    return config.output_dir() / EXPLORATION_DIR


def _clean(folder: Path) -> None:
    """Remove the figures of a previous run (the folder only holds this stage's outputs)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.suffix in {".png", ".html", ".csv", ".txt"}:
            path.unlink()


def answer_report(found: pd.DataFrame, data: Data, options: ExploreOptions) -> str:
    """The stored French text: method, availability rule, answers per ballot, causation warning."""
    weighting = "communes pondérées par leur nombre de votants" if options.ponderation == "votants" else "chaque commune compte pour un"
    lines = [
        f"Quel indicateur est le plus corrélé aux résultats électoraux ? Territoire {data.territoire}, ETL du {data.run_date:%d/%m/%Y}.",
        (f"Méthode : corrélation de Spearman commune par commune ({weighting}), intervalle de confiance à "
         f"{options.bootstrap.level:.0%} par bootstrap ({figures.fr_number(options.bootstrap.n_boot, 0)} rééchantillonnages, "
         f"graine {options.bootstrap.seed}) ; corrélation partielle à {CONTROLS_LABEL} constantes.").replace("%", "\u202f%"),
        ("Valeurs d'indicateurs : la plus récente publiée avant le scrutin (référentiel indicateurs_disponibilite.csv), "
         "à défaut l'année ≤ année du scrutin − 1."),
        "",
    ]
    for scrutin_id, rows in found.groupby("scrutin_id", sort=False):
        lines.append(ballot_label(data, scrutin_id))
        lines += [f"  - {t}" for t in rows["texte"]]
        lines.append("")
    return "\n".join([*lines, CAUSATION, ""])


def run_explore(warehouse: Path | None = None, options: ExploreOptions = ExploreOptions(), progress: Progress | None = None) -> ExploreResult:
    """Draw every figure, compute and store the correlation table and the answers."""
    say = progress or (lambda _: None)
    path = warehouse or config.warehouse_path()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    with connect(path) as con:
        data = read_data(con, options.scrutins)
    shapes, cover, sources = commune_shapes(data.communes, data.mapping)
    shapes["population"] = shapes["code_commune"].map(data.communes.set_index("code_commune")["population"])  # the main communes are named
    folder, notes = exploration_dir(), []
    _clean(folder)
    write = Writer(folder, options.html)
    election_text = caption(publishers(data.input_sources, ("elections",)) + publishers([s.id for s in sources], ("geo",)), data,
                            f"Contours IGN 2018 fusionnés au COG 2026 ; {cover.describe()}. Trait noir sur l'échelle de couleur : valeur de l'ensemble du territoire.")
    timings["lecture"] = time.perf_counter() - clock
    say("Cartes et histogrammes des scrutins")
    election_figures(data, shapes, cover, write, election_text)
    if note := swing_figures(data, shapes, cover, write, election_text, options.evolution):
        notes.append(note)
    timings["figures_scrutins"] = time.perf_counter() - clock - sum(timings.values())
    table, found = pd.DataFrame(), pd.DataFrame()
    reference = reference_ballot(data, options.reference)
    if data.indicators is None or data.indicators.empty:
        notes.append("Indicateurs absents de l'entrepôt (vue v_indicateur_commune) : cartes d'indicateurs, corrélations et "
                     "réponse « indicateur le plus corrélé » non produites. Relancez « electio etl » une fois les indicateurs chargés.")
    else:
        say("Corrélations (bootstrap)")
        table, found = indicator_stage(data, shapes, cover, write, options, reference)
        timings["correlations_et_figures"] = time.perf_counter() - clock - sum(timings.values())
    stored = {}
    if not table.empty:
        computed = datetime.now(UTC).replace(tzinfo=None)
        stored = store(path, data, options, storage_frame(table, data, options, computed), found.assign(calcule_le=computed))
        table.to_csv(folder / "correlations.csv", index=False)
        (folder / "reponse_correlation.txt").write_text(answer_report(found, data, options), encoding="utf-8")
    timings["total"] = time.perf_counter() - clock
    label = ballot_label(data, reference) if reference in set(data.scrutins["scrutin_id"]) else reference
    return ExploreResult(folder, write.paths, cover, table, found, reference, label, stored, notes, timings)


def indicator_stage(
    data: Data, shapes: gpd.GeoDataFrame, cover: Coverage, write: Writer, options: ExploreOptions, reference: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indicator maps, correlation table, heat maps, scatter plots; returns the table and the answers."""
    indicators = dated(data.indicators, load_calendar())
    sources = publishers(data.input_sources + sorted(indicators["source"].dropna().astype(str).unique()), ("indicators",))
    text = caption(sources, data)
    indicator_figures(pick_years(indicators), data, shapes, cover, write, text + f" Contours IGN 2018 fusionnés au COG 2026 ; {cover.describe()}.")
    area = area_km2(shapes.dropna(subset=["geometry"]))
    table = pd.concat([ballot_correlations(data, s, indicators, area, options) for s in data.scrutins["scrutin_id"]], ignore_index=True)
    if table.empty:
        return table, pd.DataFrame()
    both = caption(list(dict.fromkeys(sources + publishers(data.input_sources, ("elections",)))), data)
    correlation_figures(table, data, write, both, weighting_label(options))
    found = answers(table, data)
    shown = found[found["scrutin_id"] == reference] if len(found) else found
    if len(shown):
        ballot = data.scrutins.set_index("scrutin_id").loc[reference]
        features, _ = feature_frame(pick_years(available_before(indicators, pd.Timestamp(ballot["date_scrutin"]))), data.indicator_info)
        pairs = scatter_pairs(table, shown, data, features, options.ponderation == "votants")
        title = f"{ballot_label(data, reference)} : indicateur le plus corrélé à chaque bloc{weighting_label(options)}"
        note = (both + " ρ : corrélation de Spearman [intervalle de confiance à 95\u202f%] ; r : corrélation de Pearson. "
                "Taille des points : nombre de votants. " + CAUSATION)
        write.png(figures.scatter_figure(pairs, title, note), f"nuages_{reference}")
        write.page(f"nuages_{reference}", figures.scatter_html, pairs, title, note)
    return table, found


def store(path: Path, data: Data, options: ExploreOptions, table: pd.DataFrame, found: pd.DataFrame) -> dict[str, int]:
    """Replace this territory's (and weighting's) rows of the analysis tables, in one transaction."""
    keys = {"territoire": data.territoire, "ponderation": options.ponderation}
    found = found.assign(territoire=data.territoire, ponderation=options.ponderation, run_id=data.run_id)
    return replace_stage_tables(path, ANALYSIS_DDL, {"analysis_correlation": table, "analysis_answer": found}, keys)

