"""Atomic warehouse writes and data-quality contracts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio.errors import QualityError
from electio.quality import contracts
from electio.warehouse.store import BULK_TABLES, declared_keys, schema_sql, without_keys, write_tables


def tiny_tables() -> dict[str, pd.DataFrame]:
    i64 = lambda values: pd.array(values, dtype="Int64")  # noqa: E731
    return {
        "dim_region": pd.DataFrame({"code_region": ["84"], "nom_region": ["Auvergne-Rhône-Alpes"]}),
        "dim_departement": pd.DataFrame({"code_departement": ["69"], "nom_departement": ["Rhône"], "code_region": ["84"]}),
        "dim_commune": pd.DataFrame({"code_commune": ["69001", "69002"], "nom_commune": ["Affoux", "Aigueperse"],
                                     "code_departement": ["69", "69"], "code_region": ["84", "84"], "zone": ["metro"] * 2,
                                     "population": i64([400, 300]), "type_unite": ["commune"] * 2}),
        "dim_bloc": pd.DataFrame({"code_bloc": ["gauche", "droite"], "libelle": ["Gauche", "Droite"], "ordre": [1, 2],
                                  "couleur": ["#000000", "#ffffff"], "description": ["", ""]}),
        "dim_scrutin": pd.DataFrame({"scrutin_id": ["pres2017_t2"], "type_scrutin": ["presidentielle"], "annee": [2017], "tour": [2],
                                     "date_scrutin": [pd.Timestamp("2017-05-07").date()], "libelle": ["P"], "source_id": ["s"],
                                     "cog_annee": [2017], "couverture": ["FR"]}),
        "dim_candidat": pd.DataFrame({"candidat_id": i64([1, 2]), "scrutin_id": ["pres2017_t2"] * 2, "candidat": ["A", "B"],
                                      "prenom": [None, None], "nuance": [None, None], "code_bloc": ["gauche", "droite"],
                                      "version_referentiel": ["t"] * 2, "justification": ["", ""]}),
        "fact_participation": pd.DataFrame({"scrutin_id": ["pres2017_t2"] * 2, "code_commune": ["69001", "69002"],
                                            "inscrits": i64([100, 80]), "votants": i64([80, 60]), "blancs": i64([5, 2]),
                                            "nuls": i64([5, 3]), "exprimes": i64([70, 55])}),
        "fact_resultat_commune": pd.DataFrame({"scrutin_id": ["pres2017_t2"] * 4, "code_commune": ["69001", "69001", "69002", "69002"],
                                               "candidat_id": i64([1, 2, 1, 2]), "voix": i64([30, 40, 25, 30])}),
    }


def test_schema_is_commented_and_portable() -> None:
    con = duckdb.connect()
    con.execute(schema_sql())
    uncommented = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND comment IS NULL "
        "AND table_name NOT LIKE 'v_%'"
    ).fetchall()
    assert uncommented == []
    assert "DOUBLE" not in schema_sql().upper().replace("DOUBLE PRECISION", "")


def test_views_compute_bloc_shares(tmp_path: Path) -> None:
    target = tmp_path / "w.duckdb"
    write_tables(target, tiny_tables())
    con = duckdb.connect(str(target), read_only=True)
    rows = con.execute("SELECT code_commune, bloc, voix, part FROM v_resultat_bloc_commune ORDER BY 1, 2").fetchall()
    assert rows[0] == ("69001", "droite", 40, pytest.approx(40 / 70))
    assert len(rows) == 4


def test_failed_build_leaves_previous_warehouse(tmp_path: Path) -> None:
    target = tmp_path / "w.duckdb"
    write_tables(target, tiny_tables())
    before = target.read_bytes()
    broken = tiny_tables()
    broken["fact_participation"] = broken["fact_participation"].assign(code_commune=["69001", "99999"])  # FK violation
    with pytest.raises(duckdb.Error):
        write_tables(target, broken)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["w.duckdb"]


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        ("fact_participation", {"code_commune": ["69001", "99999"]}, "absent de dim_commune"),
        ("fact_resultat_commune", {"candidat_id": pd.array([1, 2, 1, 1], dtype="Int64")}, "clé primaire"),
        ("fact_resultat_commune", {"candidat_id": pd.array([1, 2, 1, 7], dtype="Int64")}, "absent de dim_candidat"),
    ],
)
def test_fact_keys_are_checked_in_bulk(tmp_path: Path, table: str, change: dict, message: str) -> None:
    target = tmp_path / "w.duckdb"
    write_tables(target, tiny_tables())
    before = target.read_bytes()
    broken = tiny_tables()
    broken[table] = broken[table].assign(**change)
    with pytest.raises(duckdb.ConstraintException, match=f"table {table} : .*{message}"):
        write_tables(target, broken)
    assert target.read_bytes() == before


def test_fact_tables_declare_their_keys_in_the_ddl_only() -> None:
    keys = declared_keys(schema_sql())
    assert {k.table for k in keys} == set(BULK_TABLES)
    assert ("fact_indicateur_commune", "PRIMARY KEY", ("code_commune", "indicateur", "annee", "source_id")) in {
        (k.table, k.kind, k.columns) for k in keys}
    con = duckdb.connect()
    con.execute(without_keys(schema_sql()))
    left = con.execute("SELECT DISTINCT table_name FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')").fetchall()
    assert not {t for (t,) in left} & set(BULK_TABLES) and len(left) > 5


def test_contracts_pass_on_consistent_tables() -> None:
    results = contracts.run_contracts(tiny_tables())
    assert all(r.lignes_en_echec == 0 for r in results)
    contracts.raise_on_blocking(results)


@pytest.mark.parametrize(
    ("table", "column", "values", "rule"),
    [
        ("fact_participation", "votants", [120, 60], "inscrits ≥ votants"),
        ("fact_participation", "exprimes", [-1, 55], "exprimes"),
        ("fact_resultat_commune", "voix", [31, 40, 25, 30], "somme des voix = exprimés"),
        ("dim_candidat", "code_bloc", ["gauche", "centre"], "code_bloc connu"),
        ("fact_participation", "code_commune", ["69001", "69001"], "unique"),
    ],
)
def test_contracts_block_bad_rows(table: str, column: str, values: list, rule: str) -> None:
    tables = tiny_tables()
    frame = tables[table].copy()
    frame[column] = pd.array(values, dtype=frame[column].dtype)
    tables[table] = frame
    results = contracts.run_contracts(tables)
    failed = [r for r in results if r.lignes_en_echec > 0]
    assert any(rule in r.regle or rule in (r.exemple or "") for r in failed), failed
    with pytest.raises(QualityError):
        contracts.raise_on_blocking(results)


def test_stage_foreign_keys_are_checked_and_rows_replaced(tmp_path: Path) -> None:
    """fact_prevision → dim_scenario / dim_scrutin_cible: a rerun replaces parents and children together; a broken key rolls back."""
    import datetime

    import duckdb as db

    from electio.warehouse.store import replace_stage_tables

    target = tmp_path / "w.duckdb"
    db.connect(str(target)).close()  # an existing warehouse file (the ETL's)
    scenario = pd.DataFrame({"scenario": ["tendance"], "libelle": ["Tendance"], "description": ["d"], "parametres": ["{}"]})
    cible = pd.DataFrame({"scrutin_cible": ["pres2027_t1"], "type_scrutin": ["presidentielle"], "tour": [1], "date_scrutin": [datetime.date(2027, 4, 11)],
                          "statut": ["prevu"], "source_date": ["Constitution, art. 7"], "date_reference": [datetime.date(2026, 12, 1)],
                          "horizon_ans": [1], "libelle": ["Présidentielle"], "libelle_court": ["prés. 2027 (1 an)"], "prevu": [True],
                          "raison_exclusion": [None], "methode_totaux": ["sondages"], "nb_sondages": [3], "sondage_debut": [datetime.date(2026, 6, 1)],
                          "sondage_fin": [datetime.date(2026, 7, 10)], "instituts": ["Elabe"], "note_totaux": ["n"]})
    fact = pd.DataFrame({"scenario": ["tendance"], "horizon_ans": [5], "scrutin_cible": ["pres2027_t1"], "code_commune": ["69123"], "bloc": ["centre"],
                         "moyenne": [0.3], "q025": [0.1], "q10": [0.2], "q50": [0.3], "q90": [0.4], "q975": [0.5], "p_tete": [0.6]})
    tables = {"dim_scenario": scenario, "dim_scrutin_cible": cible, "fact_prevision": fact}
    assert replace_stage_tables(target, "forecasts.sql", tables, {})["fact_prevision"] == 1
    assert replace_stage_tables(target, "forecasts.sql", tables, {})["dim_scenario"] == 1  # parents deleted and rewritten with their children
    broken = {**tables, "fact_prevision": fact.assign(scenario="inconnu")}
    with pytest.raises(db.ConstraintException, match="fact_prevision.*dim_scenario"):
        replace_stage_tables(target, "forecasts.sql", broken, {})
    with db.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT scenario FROM fact_prevision").fetchall() == [("tendance",)]


def test_recreated_stage_tables_take_the_current_columns(tmp_path: Path) -> None:
    """A stage table written by an older version (other columns) is dropped and created again by a whole-table rewrite."""
    import datetime

    import duckdb as db

    from electio.warehouse.store import replace_stage_tables

    target = tmp_path / "w.duckdb"
    with db.connect(str(target)) as con:
        con.execute("CREATE TABLE dim_hypothese (hypothese_id VARCHAR, libelle VARCHAR)")  # an older schema
        con.execute("INSERT INTO dim_hypothese VALUES ('ancienne', 'x')")
    row = pd.DataFrame({"hypothese_id": ["a"], "libelle": ["Hypothèse A"], "candidats": ["A; B"], "sondages": [2], "sondages_recents": [1],
                        "dernier_sondage": [datetime.date(2026, 7, 1)], "par_defaut": [True], "retenue": [True], "duels_calcules": [True], "agregat": ["{}"]})
    assert replace_stage_tables(target, "duels.sql", {"dim_hypothese": row}, {}, recreate=True) == {"dim_hypothese": 1}
    with db.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT hypothese_id, duels_calcules FROM dim_hypothese").fetchall() == [("a", True)]
