"""Indicators ETL: every indicator source of the catalogue → COG 2026 → derived rates → dated facts.

Each source is parsed and restricted to the territory; its rows go into an in-memory DuckDB
database where ``electio.harmonise.indicators`` maps them to COG 2026 (counts summed, rates
population-weighted, each source on its own) and derives the per-capita rates and density
in one place.
Every value carries its publication date (``referentials/indicateurs_disponibilite.csv``):
a model may use it for a ballot only if it was published before the ballot.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from electio import config
from electio.catalogue import Source, catalogue, get_source
from electio.errors import InputError
from electio.fetch import fetch
from electio.frames import registered
from electio.harmonise import geography
from electio.harmonise import indicators as harmonise
from electio.harmonise.territory_indicators import NationalViews
from electio.parse.indicators_common import collecting_arrondissements
from electio.quality import contracts
from electio.referentials import read_referential
from electio.pipeline.lineage import Lineage, now

INDICATORS_CSV = config.REFERENTIALS_DIR / "indicateurs.csv"
AVAILABILITY_CSV = config.REFERENTIALS_DIR / "indicateurs_disponibilite.csv"
COMPLEMENTS_CSV = config.REFERENTIALS_DIR / "population_complements.csv"
WORK_MEMORY = "1GB"
"""Memory the indicator SQL may use before spilling to disk (France fits in 2 GiB with the elections)."""
Say = Callable[[str], None]


def load_dim_indicateur(path: Path = INDICATORS_CSV) -> pd.DataFrame:
    """``dim_indicateur`` rows from the referential."""
    columns = ["indicateur", "libelle", "theme", "unite", "definition", "source", "sens_defavorable", "calcul"]
    frame = read_referential(path, columns)
    if frame["indicateur"].duplicated().any():
        dup = frame["indicateur"][frame["indicateur"].duplicated()].iloc[0]
        raise InputError(path, f"indicateur en double : {dup}", line=int(frame.index[frame["indicateur"] == dup][1]) + 2)
    return frame[columns]


def load_availability(path: Path = AVAILABILITY_CSV) -> pd.DataFrame:
    """Publication date of each (source, reference year)."""
    frame = read_referential(path, ["source_id", "annee", "date_publication", "regle"])
    frame["annee"] = frame["annee"].astype(int)
    frame["date_publication"] = pd.to_datetime(frame["date_publication"]).dt.date
    return frame


def indicator_sources() -> list[Source]:
    """Indicator sources the ETL loads (those with a parser and not marked ``charger = false``)."""
    return [s for s in catalogue().values() if s.folder == "indicators" and s.parser and s.charger]


def parse_indicator(source: Source, path: Path, lineage: Lineage | None = None) -> pd.DataFrame:
    """Dispatch to the indicator parser the catalogue names.

    A parser module may declare ``COMPANIONS = {function: {keyword: source_id}}``: the other
    catalogue files that parser reads (e.g. the commune → zone d'emploi table), fetched,
    verified and recorded in the lineage here, then passed by keyword.
    """
    module_name, _, function = source.parser.rpartition(".")
    module = importlib.import_module(f"electio.parse.{module_name}")
    companions = {}
    for keyword, source_id in getattr(module, "COMPANIONS", {}).get(function, {}).items():
        located = fetch(get_source(source_id))
        companions[keyword] = lineage.record_input(located) if lineage is not None else located.path
    return getattr(module, function)(path, **companions)


def _geo_path(lineage: Lineage, key: str) -> Path:
    """Verified path of one geography source (``geography.GEO_SOURCES``), recorded in the lineage."""
    return lineage.record_input(fetch(get_source(geography.GEO_SOURCES[key])))


def expected_codes_by_year(lineage: Lineage) -> dict[int, set[str]]:
    """Commune codes of each COG year 2008–2025, to detect communes missing a merged part."""
    cogs, _ = geography.read_cog_history(_geo_path(lineage, "passage"), _geo_path(lineage, "cog_history"))
    return {year: set(frame.iloc[:, 0]) for year, frame in cogs.items()}


def population_complements(lineage: Lineage, path: Path = COMPLEMENTS_CSV) -> pd.DataFrame:
    """Populations légales from COGugaison's COG tables for the package vintages they match.

    ``referentials/population_complements.csv`` pins each table to a package, its COG vintage
    and its PL year (the match was measured on every common code and is tested).
    """
    pinned = read_referential(path, ["source_id", "table_cogugaison", "cog_annee", "annee", "concordance"])
    pinned[["cog_annee", "annee"]] = pinned[["cog_annee", "annee"]].astype(int)
    population = geography.read_cog_population(_geo_path(lineage, "cog_history"), dict(zip(pinned["table_cogugaison"], pinned["cog_annee"], strict=True)))
    rows = population.merge(pinned[["source_id", "cog_annee", "annee"]], on="cog_annee")
    return rows.assign(indicateur="population").rename(columns={"population": "valeur"})


def work_config(spill: str) -> dict[str, str]:
    """DuckDB settings of the working database: bounded memory, spilling to ``spill`` beyond it."""
    return {"threads": "2", "memory_limit": WORK_MEMORY, "temp_directory": spill}


def fetch_facts(con: duckdb.DuckDBPyConnection, dim: pd.DataFrame, communes: pd.DataFrame) -> pa.Table:
    """``ind_faits`` as an Arrow table, text columns dictionary-encoded (6.2 M rows for France: ~150 MB).

    The dictionaries are DuckDB ENUM types built from the small tables that bound each column.
    """
    domains = {
        "code_commune": communes["code_commune"],
        "indicateur": dim["indicateur"],
        "source_id": pd.Series([s.id for s in indicator_sources()]),
        "qualite": pd.Series(harmonise.QUALITES),
    }
    for column, values in domains.items():
        with registered(con, pd.DataFrame({"v": values.astype(str).drop_duplicates()})):
            con.execute(f"CREATE OR REPLACE TYPE enum_{column} AS ENUM (SELECT v FROM _frame)")
    columns = [r[0] for r in con.execute("DESCRIBE ind_faits").fetchall()]
    select = ", ".join(f"{c}::enum_{c} AS {c}" if c in domains else c for c in columns)
    return con.sql(f"SELECT {select} FROM ind_faits").to_arrow_table()


def load_sources(con: duckdb.DuckDBPyConnection, lineage: Lineage, unit_codes: frozenset[str] = frozenset(),
                 national: NationalViews | None = None) -> list[pd.DataFrame]:
    """Parse every indicator source, check its values' plausible ranges and append the territory's rows
    (codes of ``ind_passage``) to ``ind_brut``. Returns the rows the parsers published for the units
    ``unit_codes`` (arrondissements municipaux), one frame per source with ``source_id`` and ``src_ord``.
    ``national`` collects each file's France and département views before the restriction."""
    ranges = contracts.load_plausibility()
    below = []
    for order, source in enumerate(indicator_sources()):
        t0 = now()
        path = lineage.record_input(fetch(source))
        with collecting_arrondissements() as unit_rows:
            frame = parse_indicator(source, path, lineage)
        contracts.check_plausibility(frame, path, ranges)
        if national is not None:
            national.add_indicators(source.id, frame)
        kept = harmonise.add_rows(con, frame, source.id, order, restrict=True)
        duplicate = harmonise.first_duplicate(con, source.id)
        if duplicate:
            code, indicateur, annee, line = duplicate
            raise InputError(path, f"plusieurs lignes pour la commune {code}, {indicateur} {annee}", line=line)
        lineage.record_step("parse_indicateur", source.id, len(frame), kept, len(frame) - kept, t0)
        rows = [r[r["code_commune_source"].isin(unit_codes)] for r in unit_rows]
        below += [r.assign(source_id=source.id, src_ord=order) for r in rows if not r.empty]
    return below


def unit_facts(rows: list[pd.DataFrame], dim: pd.DataFrame, unit_codes: frozenset[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``fact_indicateur_unite`` and ``couverture_indicateur_unite`` from the units' published rows.

    The same SQL as the commune facts, on a geography where each unit maps to itself: derived
    rates (per-capita rates need the unit's own population row), dated by the source's publication.
    An indicator of the referential with no unit row is a gap (``statut = lacune``).
    """
    columns = ["code_unite", "indicateur", "annee", "valeur", "source_id", "qualite", "date_publication"]
    with tempfile.TemporaryDirectory(prefix="electio-unites-") as spill, duckdb.connect(config=work_config(spill)) as con:
        harmonise.create_work_tables(con)
        codes = sorted(unit_codes)
        harmonise.set_geography(con, pd.DataFrame({"code_source": codes, "code_reference": codes}), {})
        for frame in rows:
            harmonise.add_rows(con, frame, str(frame["source_id"].iloc[0]), int(frame["src_ord"].iloc[0]))
        harmonise.population_from_rows(con)
        harmonise.map_to_reference_cog(con)
        harmonise.derive(con)
        con.register("ind_disponibilite", load_availability()[["source_id", "annee", "date_publication"]])
        harmonise.run_sql(con, "indicators_facts.sql")
        facts = con.execute("SELECT * FROM ind_faits").df().rename(columns={"code_commune": "code_unite"})[columns]
    facts = facts.drop_duplicates(["code_unite", "indicateur", "annee", "source_id"]).reset_index(drop=True)
    return facts, unit_coverage(facts, dim, len(unit_codes))


def unit_coverage(facts: pd.DataFrame, dim: pd.DataFrame, expected: int) -> pd.DataFrame:
    """Per indicator of the referential: units with a value, the years, and ``ok`` or ``lacune``."""
    known = facts[facts["valeur"].notna()]
    per = known.groupby("indicateur").agg(unites_couvertes=("code_unite", "nunique"), annees=("annee", lambda a: ", ".join(map(str, sorted(set(a))))),
                                          sources=("source_id", lambda a: ", ".join(sorted(set(a)))))
    frame = dim[["theme", "indicateur"]].merge(per, left_on="indicateur", right_index=True, how="left")
    frame["unites_couvertes"] = frame["unites_couvertes"].fillna(0).astype(int)
    frame["unites_attendues"] = expected
    frame["statut"] = frame["unites_couvertes"].gt(0).map({True: "ok", False: "lacune"})
    return frame[["theme", "indicateur", "unites_couvertes", "unites_attendues", "annees", "sources", "statut"]].reset_index(drop=True)


def complete_population(con: duckdb.DuckDBPyConnection, lineage: Lineage) -> None:
    """Add the merged-commune parts the population packages lack (see :func:`population_complements`)."""
    t0 = now()
    complements = population_complements(lineage)
    added = harmonise.complete_parts(con, complements)
    lineage.record_step("completer_population", geography.GEO_SOURCES["cog_history"], len(complements), added, 0, t0)


def harmonised_facts(con: duckdb.DuckDBPyConnection, dim: pd.DataFrame, communes: pd.DataFrame, lineage: Lineage) -> pa.Table:
    """Map ``ind_brut`` to COG 2026, derive the rates, date the values: ``fact_indicateur_commune``."""
    t0 = now()
    raw_rows = con.execute("SELECT count(*) FROM ind_brut").fetchall()[0][0]
    harmonise.population_from_rows(con)
    harmonise.map_to_reference_cog(con)
    harmonise.derive(con)
    con.register("ind_disponibilite", load_availability()[["source_id", "annee", "date_publication"]])
    harmonise.run_sql(con, "indicators_facts.sql")
    facts = fetch_facts(con, dim, communes)
    lineage.record_step("harmonise_indicateurs", None, raw_rows, facts.num_rows, 0, t0)
    return facts


def build_indicators(lineage: Lineage, mapping: pd.DataFrame, communes: pd.DataFrame, say: Say,
                     unit_codes: frozenset[str] = frozenset(), national: NationalViews | None = None) -> dict[str, pd.DataFrame | pa.Table]:
    """``dim_indicateur``, ``fact_indicateur_commune`` (an Arrow table) and ``couverture_indicateur`` for the territory,
    plus ``fact_indicateur_unite`` and ``couverture_indicateur_unite`` for the units below the commune ``unit_codes``
    (``national``, when given, collects the France and département views of each file).

    Parsed rows go into an in-memory DuckDB database where the SQL of ``harmonise/sql/``
    maps them to COG 2026, derives the rates, dates the values and measures the coverage.
    """
    dim = load_dim_indicateur()
    territory = mapping[mapping["code_reference"].isin(set(communes["code_commune"]))][["code_source", "code_reference"]]
    with tempfile.TemporaryDirectory(prefix="electio-indicateurs-") as spill, duckdb.connect(config=work_config(spill)) as con:
        harmonise.create_work_tables(con)
        harmonise.set_geography(con, territory, expected_codes_by_year(lineage))
        below = load_sources(con, lineage, unit_codes, national)
        unknown = harmonise.unknown_indicators(con)
        if unknown:
            raise InputError(INDICATORS_CSV, f"indicateurs absents du référentiel : {', '.join(unknown)}")
        complete_population(con, lineage)
        say("Indicateurs : passage au COG 2026 et taux dérivés")
        facts = harmonised_facts(con, dim, communes, lineage)
        con.register("ind_dim", dim.assign(ordre=range(len(dim))))
        expected = int((communes["type_unite"] == "commune").sum())
        coverage = con.execute(harmonise.sql_text("indicators_coverage.sql"), [expected]).df()
    coverage["annee"] = coverage["annee"].astype("Int64")
    t0 = now()
    unit_values, unit_cover = unit_facts(below, dim, unit_codes)
    lineage.record_step("indicateurs_unites", None, sum(len(r) for r in below), len(unit_values), 0, t0)
    return {"dim_indicateur": dim, "fact_indicateur_commune": facts, "couverture_indicateur": coverage,
            "fact_indicateur_unite": unit_values, "couverture_indicateur_unite": unit_cover}
