"""Territory justification: how close each département votes to France (analysis/territories.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from electio.analysis.territories import compare_territories


def tiny_totals() -> duckdb.DuckDBPyConnection:
    """France, two départements and one collectivity on two national first rounds, plus a municipal ballot and a 2012 one."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE dim_scrutin AS SELECT * FROM (VALUES
        ('pres2022_t1', 'Présidentielle 2022 - 1er tour', DATE '2022-04-10', 'presidentielle', 1),
        ('euro2024_t1', 'Européennes 2024', DATE '2024-06-09', 'europeennes', 1),
        ('muni2026_t1', 'Municipales 2026', DATE '2026-03-15', 'municipales', 1),
        ('pres2012_t1', 'Présidentielle 2012 - 1er tour', DATE '2012-04-22', 'presidentielle', 1))
        t(scrutin_id, libelle, date_scrutin, type_scrutin, tour)""")
    con.execute("""CREATE TABLE dim_departement AS SELECT * FROM (VALUES ('01', 'Ain', '84'), ('69', 'Rhône', '84'), ('975', 'Saint-Pierre-et-Miquelon', '975'))
        t(code_departement, nom_departement, code_region)""")
    rows = []  # (ballot, level, code, bloc, share)
    for ballot in ("pres2022_t1", "euro2024_t1", "muni2026_t1", "pres2012_t1"):
        rows += [(ballot, "france", "FR", "a", 0.5), (ballot, "france", "FR", "b", 0.3), (ballot, "france", "FR", "c", 0.2),
                 (ballot, "departement", "975", "a", 0.5), (ballot, "departement", "975", "b", 0.3), (ballot, "departement", "975", "c", 0.2)]
    rows += [("pres2022_t1", "departement", "01", "a", 0.52), ("pres2022_t1", "departement", "01", "b", 0.28), ("pres2022_t1", "departement", "01", "c", 0.20),
             ("euro2024_t1", "departement", "01", "a", 0.50), ("euro2024_t1", "departement", "01", "b", 0.30), ("euro2024_t1", "departement", "01", "c", 0.20),
             # bloc c has no candidate in the Rhône in 2022: it counts 0, a 20-point gap
             ("pres2022_t1", "departement", "69", "a", 0.60), ("pres2022_t1", "departement", "69", "b", 0.40),
             ("euro2024_t1", "departement", "69", "a", 0.44), ("euro2024_t1", "departement", "69", "b", 0.36), ("euro2024_t1", "departement", "69", "c", 0.20),
             ("muni2026_t1", "departement", "01", "a", 0.9), ("pres2012_t1", "departement", "69", "a", 0.9)]
    con.execute("CREATE TABLE v_resultat_bloc_territoire (scrutin_id VARCHAR, niveau VARCHAR, code_territoire VARCHAR, bloc VARCHAR, part DOUBLE)")
    con.executemany("INSERT INTO v_resultat_bloc_territoire VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE fact_participation_territoire (scrutin_id VARCHAR, niveau VARCHAR, code_territoire VARCHAR, inscrits BIGINT, votants BIGINT)")
    turnout = [("FR", 1000, 700), ("01", 100, 72), ("69", 100, 64), ("975", 100, 70)]
    con.executemany("INSERT INTO fact_participation_territoire VALUES (?, ?, ?, ?, ?)",
                    [(b, "france" if c == "FR" else "departement", c, i, v) for b in ("pres2022_t1", "euro2024_t1", "muni2026_t1", "pres2012_t1") for c, i, v in turnout])
    return con


def test_departements_are_ranked_by_their_gap_to_france() -> None:
    result = compare_territories(tiny_totals())
    assert result.ballots["scrutin_id"].tolist() == ["pres2022_t1", "euro2024_t1"]  # recent national first rounds only
    assert result.table["code_departement"].tolist() == ["01", "69"]  # a collectivity is not a candidate département
    ain, rhone = result.row("01"), result.row("69")
    assert ain["distance_blocs"] == pytest.approx((4 / 3 + 0) / 2)  # 2022: (2 + 2 + 0) / 3 points; 2024: identical
    assert rhone["distance_blocs"] == pytest.approx(((10 + 10 + 20) / 3 + (6 + 6 + 0) / 3) / 2)
    assert ain["ecart_participation"] == pytest.approx(2.0) and rhone["ecart_participation"] == pytest.approx(6.0)
    assert (ain["rang"], rhone["rang"]) == (1, 2) and (ain["rang_participation"], rhone["rang_participation"]) == (1, 2)
    assert result.row("975") is None


def test_no_comparison_without_territory_totals() -> None:
    con = tiny_totals()
    con.execute("DROP TABLE fact_participation_territoire")
    assert compare_territories(con) is None


@pytest.mark.realdata
def test_every_departement_is_compared_in_the_rhone_warehouse(rhone_etl: Path) -> None:
    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        result = compare_territories(con)
        departements = con.execute("SELECT count(*) FROM dim_departement WHERE code_region <> code_departement").fetchone()[0]
    assert len(result.ballots) >= 6 and set(result.ballots["scrutin_id"]) >= {"pres2022_t1", "euro2024_t1"}
    assert len(result.table) == departements  # France's 101 départements, each on the same ballots
    assert result.table["rang"].tolist() == list(range(1, len(result.table) + 1))
    assert result.table["distance_blocs"].is_monotonic_increasing and (result.table["distance_blocs"] > 0).all()
    rhone = result.row("69")
    assert rhone is not None and 0 < rhone["distance_blocs"] < result.table["distance_blocs"].max()
