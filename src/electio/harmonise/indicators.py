"""Derived indicator values (rates, density) and mapping of indicator rows to COG 2026.

The work runs in DuckDB on a few working tables (``ind_*``, see ``create_work_tables``); the
SQL lives in ``harmonise/sql/``. ``to_reference_cog`` and ``derive_rates`` apply the same SQL
to one pandas frame in the long layout of the indicator parsers
(``electio.parse.indicators_common.COLUMNS``). See ``docs/indicators.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

from electio.config import REFERENCE_COG, REFERENTIALS_DIR
from electio.errors import InputError
from electio.frames import registered
from electio.parse.indicators_common import QUALITES, finalize

INDICATORS_FILE = REFERENTIALS_DIR / "indicateurs.csv"
ADDITIVE_UNITS = frozenset({"habitants", "nombre", "km²"})
"""Units whose values add up over merged communes; every other unit is averaged."""
SAME_YEAR, EARLIER, STATIC = "meme_annee", "anterieure", "statique"
RANK = {q: i for i, q in enumerate(QUALITES)}
RAW_DDL = """
CREATE OR REPLACE TEMP TABLE ind_brut (
    source_id VARCHAR NOT NULL, src_ord INTEGER NOT NULL, code_commune_source VARCHAR NOT NULL,
    cog_annee INTEGER, indicateur VARCHAR NOT NULL, annee INTEGER, valeur DOUBLE,
    rang TINYINT NOT NULL, ligne_source BIGINT
)"""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ratio:
    """A derived value: numerator / denominator × factor, the denominator matched by ``match``."""

    indicateur: str
    numerateur: str
    denominateur: str
    facteur: float
    appariement: str = EARLIER


RATIOS = (
    Ratio("densite", "population", "superficie", 1.0, STATIC),
    Ratio("taux_chomage", "chomeurs_15_64", "actifs_15_64", 100.0, SAME_YEAR),
    Ratio("taux_rsa", "personnes_couvertes_rsa", "population", 100.0),
    Ratio("etablissements_pour_1000hab", "etablissements", "population", 1000.0),
    Ratio("salaries_prives_pour_1000hab", "effectifs_salaries_prives", "population", 1000.0),
    Ratio("demandeurs_emploi_pour_1000hab", "demandeurs_emploi", "population", 1000.0),
    Ratio("atteintes_personnes_pour_1000hab", "faits_atteintes_personnes", "population", 1000.0),
    Ratio("atteintes_biens_pour_1000hab", "faits_atteintes_biens", "population", 1000.0),
    Ratio("destructions_degradations_pour_1000hab", "faits_destructions_degradations", "population", 1000.0),
    Ratio("part_logements_vacants", "logements_vacants", "logements", 100.0, SAME_YEAR),
    Ratio("part_residences_secondaires", "residences_secondaires", "logements", 100.0, SAME_YEAR),
    Ratio("part_proprietaires", "rp_proprietaires", "residences_principales", 100.0, SAME_YEAR),
    Ratio("associations_pour_1000hab", "associations", "population", 1000.0),
    Ratio("part_ventes_maisons", "ventes_maisons", "ventes_logements", 100.0, SAME_YEAR),
    Ratio("etablissements_employeurs_pour_1000hab", "etablissements_employeurs", "population", 1000.0),
)
"""Every per-capita rate, share and density of the project is computed here and only here."""


@lru_cache(maxsize=4)
def indicator_units(path: Path = INDICATORS_FILE) -> dict[str, str]:
    """Unit of each indicator code of the referential."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns[:4]) != ["indicateur", "libelle", "theme", "unite"]:
        raise InputError(path, "colonnes indicateur,libelle,theme,unite attendues", line=1)
    return dict(zip(table["indicateur"], table["unite"], strict=True))


def sql_text(name: str) -> str:
    """One script of ``harmonise/sql/``."""
    return resources.files("electio.harmonise").joinpath("sql", name).read_text(encoding="utf-8")


def run_sql(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Run one script of ``harmonise/sql/`` on the working tables."""
    con.execute(sql_text(name))


def _table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """(Re)create a temporary table from a frame."""
    with registered(con, frame):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _frame")


def create_work_tables(
    con: duckdb.DuckDBPyConnection, units: Mapping[str, str] | None = None, ratios: Collection[Ratio] = RATIOS
) -> None:
    """Empty ``ind_brut`` plus the referential tables ``ind_unites``, ``ind_ratios``, ``ind_qualites``."""
    units = indicator_units() if units is None else units
    con.execute(RAW_DDL)
    _table(con, "ind_unites", pd.DataFrame({"indicateur": list(units), "additif": [u in ADDITIVE_UNITS for u in units.values()]}))
    _table(con, "ind_ratios", pd.DataFrame([asdict(r) for r in ratios]))
    _table(con, "ind_qualites", pd.DataFrame({"rang": range(len(QUALITES)), "qualite": list(QUALITES)}))


def add_rows(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, source_id: str, order: int, *, restrict: bool = False) -> int:
    """Append one source's long frame to ``ind_brut`` (with ``restrict``, only codes of ``ind_passage``).

    Returns the number of rows added.
    """
    territory = "SEMI JOIN ind_passage AS p ON p.code_source = r.code_commune_source" if restrict else ""
    with registered(con, frame, "_rows"):
        return con.execute(
            f"""INSERT INTO ind_brut
            SELECT ?, ?, r.code_commune_source, r.cog_annee, r.indicateur, r.annee, r.valeur, q.rang, r.ligne_source
            FROM _rows AS r JOIN ind_qualites AS q USING (qualite) {territory}""",
            [source_id, order],
        ).fetchall()[0][0]


def first_duplicate(con: duckdb.DuckDBPyConnection, source_id: str) -> tuple | None:
    """First (code, indicateur, annee, line) that a source gives twice for the same COG vintage."""
    rows = con.execute(
        """SELECT code_commune_source, indicateur, annee, max(ligne_source) FROM ind_brut WHERE source_id = ?
        GROUP BY cog_annee, code_commune_source, indicateur, annee HAVING count(*) > 1 ORDER BY 4 LIMIT 1""",
        [source_id],
    ).fetchall()
    return rows[0] if rows else None


def unknown_indicators(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Indicator codes of ``ind_brut`` absent from the referential."""
    rows = con.execute("SELECT DISTINCT indicateur FROM ind_brut ANTI JOIN ind_unites USING (indicateur) ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def check_mapping(mapping: pd.DataFrame) -> pd.DataFrame:
    """Mapping with exactly one row per ``code_source``, else an InputError."""
    where = "table de passage (code_source → code_reference)"
    missing = {"code_source", "code_reference"} - set(mapping.columns)
    if missing:
        raise InputError(where, f"colonnes absentes : {', '.join(sorted(missing))}")
    mapping = mapping[["code_source", "code_reference"]].astype(str)
    duplicated = mapping["code_source"][mapping["code_source"].duplicated()]
    if not duplicated.empty:
        raise InputError(where, f"code_source en double : {', '.join(sorted(duplicated.unique())[:5])}")
    return mapping


def set_geography(con: duckdb.DuckDBPyConnection, mapping: pd.DataFrame, expected: Mapping[int, Collection[str]]) -> None:
    """``ind_passage`` (code_source → code_reference) and ``ind_attendus`` (codes of each COG vintage)."""
    _table(con, "ind_passage", check_mapping(mapping))
    attendus = [pd.DataFrame({"cog_annee": year, "code": list(codes)}) for year, codes in expected.items()]
    empty = pd.DataFrame({"cog_annee": pd.Series(dtype="int32"), "code": pd.Series(dtype="str")})
    _table(con, "ind_attendus", pd.concat([empty, *attendus], ignore_index=True).astype({"cog_annee": "int32"}))


def population_from_rows(con: duckdb.DuckDBPyConnection) -> None:
    """``ind_population`` (weights) from the population rows of ``ind_brut``, first source first."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE ind_population AS
        SELECT code_commune_source AS code, annee, arg_min(valeur, src_ord) AS poids
        FROM ind_brut WHERE indicateur = 'population' AND valeur IS NOT NULL AND annee IS NOT NULL
        GROUP BY code_commune_source, annee"""
    )


def population_weights(population: pd.DataFrame) -> pd.DataFrame:
    """``ind_population`` rows (code, annee, poids) from a long frame of ``population`` values."""
    if "indicateur" in population.columns:
        population = population[population["indicateur"] == "population"]
    weights = pd.DataFrame(
        {
            "code": population["code_commune_source"].astype(str),
            "annee": population["annee"].astype("Int64"),
            "poids": population["valeur"].astype("Float64"),
        }
    )
    return weights.dropna().drop_duplicates(["code", "annee"])


def complete_parts(con: duckdb.DuckDBPyConnection, complements: pd.DataFrame) -> int:
    """Add to ``ind_brut`` the parts of merged communes a source lacks (SQL ``indicators_complete.sql``).

    ``complements``: ``source_id, code, cog_annee, indicateur, annee, valeur``. Returns the rows added.
    """
    _table(con, "ind_complements", complements[["source_id", "code", "cog_annee", "indicateur", "annee", "valeur"]])
    before = con.execute("SELECT count(*) FROM ind_brut").fetchall()[0][0]
    run_sql(con, "indicators_complete.sql")
    return con.execute("SELECT count(*) FROM ind_brut").fetchall()[0][0] - before


def map_to_reference_cog(con: duckdb.DuckDBPyConnection) -> None:
    """``ind_cog`` from ``ind_brut`` (SQL ``indicators_to_cog.sql``); logs dropped and unweighted rows."""
    unmapped = con.execute("SELECT count(*), min(code_commune_source) FROM ind_brut ANTI JOIN ind_passage ON code_source = code_commune_source").fetchall()[0]
    if unmapped[0]:
        log.warning("%d lignes sans code de référence écartées (%s…)", unmapped[0], unmapped[1])
    run_sql(con, "indicators_to_cog.sql")
    values, communes = con.execute("SELECT count(*), count(DISTINCT code_commune) FROM ind_cog WHERE sans_poids").fetchall()[0]
    if values:
        log.warning("%d valeurs de %d communes fusionnées sans poids de population : moyenne simple", values, communes)


def derive(con: duckdb.DuckDBPyConnection) -> None:
    """``ind_derive``: the rates of :data:`RATIOS` missing from ``ind_cog`` (SQL ``indicators_derive.sql``)."""
    run_sql(con, "indicators_derive.sql")


def _long(con: duckdb.DuckDBPyConnection, table: str, cog: str) -> pd.DataFrame:
    """A working table (``ind_cog`` layout) back in the long layout of the parsers."""
    frame = con.execute(
        f"""SELECT t.code_commune AS code_commune_source, {cog} AS cog_annee, t.indicateur, t.annee,
                   t.valeur, q.qualite, t.ligne_source
            FROM {table} AS t JOIN ind_qualites AS q USING (rang)"""
    ).df()
    return finalize(frame)


def to_reference_cog(
    frame: pd.DataFrame,
    mapping: pd.DataFrame,
    population: pd.DataFrame,
    *,
    expected_codes: Collection[str] | None = None,
    units: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Map ``code_commune_source`` to the COG 2026 code and merge the parts of each commune.

    ``mapping``: columns ``code_source, code_reference``, one row per ``code_source``
    (``electio.harmonise.geography``). ``population``: long rows of ``population`` in the
    frame's geography, used as weights. Counts (units ``habitants``, ``nombre``, ``km²``) are
    summed; rates, shares and medians are population-weighted (a weighted mean of medians is
    only an approximation) and flagged at least ``derive`` when several parts merge. The flag
    is the worst of the parts; any NA part gives NA. With ``expected_codes`` (the codes of
    the frame's COG), a commune missing one of its expected parts gets NA ``non_publie``.
    Codes absent from the mapping are dropped (logged). Input keys must be unique.
    """
    frame = finalize(frame)
    if frame.duplicated(["code_commune_source", "indicateur", "annee"]).any():
        message = "plusieurs lignes par commune, indicateur et année : une source à la fois"
        raise InputError("tableau d'indicateurs", message)
    with duckdb.connect() as con:
        create_work_tables(con, units)
        add_rows(con, frame.assign(cog_annee=0), "tableau", 0)
        unknown = unknown_indicators(con)
        if unknown:
            raise InputError(INDICATORS_FILE, f"indicateurs absents du référentiel : {', '.join(unknown)}")
        set_geography(con, mapping, {0: expected_codes} if expected_codes is not None else {})
        _table(con, "ind_population", population_weights(population))
        map_to_reference_cog(con)
        return _long(con, "ind_cog", str(REFERENCE_COG))


def derive_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the derived rates, shares and density of :data:`RATIOS` to a long frame.

    Run it on one geography (normally after :func:`to_reference_cog`): codes are matched on
    ``code_commune_source``. The denominator is the same year's, or the nearest earlier
    year's for per-capita rates; ``superficie`` is taken from the nearest year (static). A
    value already in ``frame`` for the same key wins over a derived one. Derived values are
    flagged ``derive``; an NA part gives NA with the worst flag (at least ``non_publie``).
    """
    frame = finalize(frame)
    with duckdb.connect() as con:
        create_work_tables(con)
        rows = pd.DataFrame(
            {
                "source_id": "tableau",
                "src_ord": 0,
                "cog_source": frame["cog_annee"],
                "code_commune": frame["code_commune_source"],
                "indicateur": frame["indicateur"],
                "annee": frame["annee"],
                "valeur": frame["valeur"],
                "rang": frame["qualite"].map(RANK).astype("int8"),
                "ligne_source": frame["ligne_source"],
                "sans_poids": False,
            }
        )
        _table(con, "ind_cog", rows)
        derive(con)
        new = _long(con, "ind_derive", "t.cog_source")
    return finalize(pd.concat([frame, new], ignore_index=True)) if not new.empty else frame
