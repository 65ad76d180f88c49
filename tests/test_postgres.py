"""PostgreSQL load: same data, keys and comments as DuckDB, read-only role, atomic swap, no password leak.

Needs ``ELECTIO_PG_TEST_URL`` (set by .ci/run); without it these tests fail under CI and skip elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
from test_warehouse_store import tiny_tables
from typer.testing import CliRunner

from electio.cli import app
from electio.warehouse import postgres
from electio.warehouse.store import TABLE_ORDER, schema_sql, write_tables

AGGREGATES = {
    "voix par bloc": "SELECT bloc, SUM(voix) FROM {s}v_resultat_bloc_commune GROUP BY bloc ORDER BY bloc",
    "inscrits": "SELECT SUM(inscrits) FROM {s}fact_participation",
    "prénoms NULL, descriptions vides": "SELECT (SELECT count(*) FROM {s}dim_candidat WHERE prenom IS NULL), "
    "(SELECT count(*) FROM {s}dim_bloc WHERE description = '')",
}


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get("ELECTIO_PG_TEST_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("ELECTIO_PG_TEST_URL absent : .ci/run doit démarrer PostgreSQL en CI")
        pytest.skip("ELECTIO_PG_TEST_URL absent (PostgreSQL de test non démarré)")
    return url


@pytest.fixture()
def schema(pg_url: str) -> Iterator[str]:
    """A unique target schema, dropped afterwards."""
    name = f"electio_t_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    write_tables(path, tiny_tables())
    return path


def pg_rows(url: str, query: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def duck_rows(path: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query).fetchall()


def unconstrained_warehouse(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """A DuckDB file with the warehouse's tables but no constraints (so it can hold bad rows)."""
    with duckdb.connect(str(path)) as con:
        for name, frame in tables.items():
            con.register("_frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _frame")
            con.unregister("_frame")
    return path


def assert_previous_intact(url: str, schema: str) -> None:
    assert pg_rows(url, f"SELECT SUM(inscrits) FROM {schema}.fact_participation") == [(180,)]
    assert pg_rows(url, f"SELECT count(*) FROM {schema}.fact_resultat_commune") == [(4,)]
    leftovers = pg_rows(url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [f"{schema}_staging_%"])
    assert leftovers == []


# ─── Without a server ────────────────────────────────────────────────────────────────────

def test_every_ddl_file_is_listed_and_ordered() -> None:
    on_disk = {p.name for p in resources.files("electio.warehouse").iterdir() if p.name.endswith(".sql")}
    assert on_disk <= set(postgres.DDL_FILES), f"ajoutez {sorted(on_disk - set(postgres.DDL_FILES))} à postgres.DDL_FILES"
    assert postgres.ddl_tables(schema_sql()) == TABLE_ORDER


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://bob:s3cr%3At@db.example:5432/electio",
        "host=db user=bob password=s3cr%3At dbname=electio",
        "postgresql://bob@db/electio?password=s3cr%3At&sslmode=require",
    ],
)
def test_redact_masks_passwords(text: str) -> None:
    masked = postgres.redact(f"échec : {text}", text)
    assert "s3cr" not in masked and "***" in masked


def test_url_precedence(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(postgres.URL_ENV, raising=False)
    (home / ".env").write_text(f"# local\nexport {postgres.URL_ENV}='postgresql://fichier@h/db'\n", encoding="utf-8")
    assert postgres.resolve_url() == "postgresql://fichier@h/db"
    monkeypatch.setenv(postgres.URL_ENV, "postgresql://env@h/db")
    assert postgres.resolve_url() == "postgresql://env@h/db"
    assert postgres.resolve_url("postgresql://arg@h/db") == "postgresql://arg@h/db"


# ─── Against PostgreSQL ──────────────────────────────────────────────────────────────────

def test_load_matches_duckdb(pg_url: str, schema: str, warehouse: Path) -> None:
    counts = postgres.load_to_postgres(warehouse, pg_url, schema)
    assert list(counts) == TABLE_ORDER
    assert counts == postgres.duckdb_counts(warehouse)
    for name, query in AGGREGATES.items():
        assert pg_rows(pg_url, query.format(s=f"{schema}.")) == duck_rows(warehouse, query.format(s="")), name
    bi = pg_rows(pg_url, f"SELECT SUM(voix), count(DISTINCT nom_commune) FROM {schema}.v_bi_resultat_bloc")
    assert bi == [(125, 2)]


def test_keys_indexes_and_comments(pg_url: str, schema: str, warehouse: Path) -> None:
    postgres.load_to_postgres(warehouse, pg_url, schema)
    # The keys the DDL declares (the DuckDB file checks those of its fact tables in bulk instead).
    with duckdb.connect() as declared:
        declared.execute(schema_sql())
        expected = declared.execute("SELECT table_name, constraint_type, count(*) FROM duckdb_constraints() "
                                    "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') GROUP BY ALL ORDER BY ALL").fetchall()
    actual = pg_rows(pg_url, "SELECT table_name, constraint_type, count(*) FROM information_schema.table_constraints "
                             "WHERE table_schema = %s AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') "
                             "GROUP BY 1, 2 ORDER BY 1, 2", [schema])
    # Tables of later stages absent from this DuckDB file are created empty in PostgreSQL.
    in_duckdb = {table for table, _, _ in expected}
    assert [row for row in actual if row[0] in in_duckdb] == expected and len(expected) > 20
    uncommented = pg_rows(pg_url, "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                  "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                                  "WHERE n.nspname = %s AND c.relkind = 'r' "
                                  "AND (col_description(c.oid, a.attnum) IS NULL OR obj_description(c.oid, 'pg_class') IS NULL)",
                          [schema])
    assert uncommented == []
    leading = pg_rows(pg_url, "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s", [schema])
    for table in ("fact_participation", "fact_resultat_commune"):
        for column in ("scrutin_id", "code_commune"):
            assert any(t == table and f"({column}" in d for t, d in leading), (table, column)
    views = {r[0] for r in pg_rows(pg_url, "SELECT table_name FROM information_schema.views WHERE table_schema = %s", [schema])}
    assert {"v_participation_commune", "v_resultat_candidat_commune", "v_resultat_bloc_commune", "v_bi_resultat_bloc"} <= views


def test_reader_role_selects_but_cannot_write(pg_url: str, schema: str, warehouse: Path) -> None:
    postgres.load_to_postgres(warehouse, pg_url, schema)
    postgres.load_to_postgres(warehouse, pg_url, schema)  # idempotent: role kept, grants renewed
    assert pg_rows(pg_url, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [postgres.READER_ROLE]) == [(False,)]
    with psycopg.connect(pg_url) as conn, conn.transaction(force_rollback=True):
        conn.execute(f"GRANT {postgres.READER_ROLE} TO CURRENT_USER")
        conn.execute(f"SET LOCAL ROLE {postgres.READER_ROLE}")
        assert conn.execute(f"SELECT SUM(voix) FROM {schema}.v_resultat_bloc_commune").fetchone() == (125,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(f"INSERT INTO {schema}.dim_region VALUES ('99', 'Nulle part')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
            conn.execute(f"CREATE TABLE {schema}.intrus (x int)")


def test_foreign_key_violation_keeps_previous_schema(pg_url: str, schema: str, warehouse: Path, tmp_path: Path) -> None:
    postgres.load_to_postgres(warehouse, pg_url, schema)
    broken = tiny_tables()
    broken["fact_participation"] = broken["fact_participation"].assign(code_commune=["69001", "99999"], inscrits=[1, 1])
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        postgres.load_to_postgres(unconstrained_warehouse(tmp_path / "bad.duckdb", broken), pg_url, schema)
    assert_previous_intact(pg_url, schema)


def test_failure_mid_copy_keeps_previous_schema(
    pg_url: str, schema: str, warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres.load_to_postgres(warehouse, pg_url, schema)
    changed = tiny_tables()
    changed["fact_participation"] = changed["fact_participation"].assign(inscrits=pd.array([1, 1], dtype="Int64"))
    write_tables(other := tmp_path / "other.duckdb", changed)
    copy_table = postgres._copy_table

    def fail_on_facts(duck, cur, staging: str, table: str) -> None:
        if table == "fact_resultat_commune":
            raise RuntimeError("coupure simulée")
        copy_table(duck, cur, staging, table)

    monkeypatch.setattr(postgres, "_copy_table", fail_on_facts)
    with pytest.raises(RuntimeError, match="coupure simulée"):
        postgres.load_to_postgres(other, pg_url, schema)
    assert_previous_intact(pg_url, schema)


def test_cli_compares_counts_and_hides_password(pg_url: str, schema: str, warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = psycopg.conninfo.conninfo_to_dict(pg_url)["password"]
    runner = CliRunner()
    ok = runner.invoke(app, ["load", "--target", pg_url, "--entrepot", str(warehouse), "--schema", schema])
    assert ok.exit_code == 0, ok.output
    assert "identique" in ok.output and "écart" not in ok.output and "fact_resultat_commune" in ok.output
    wrong = pg_url.replace(f":{password}@", ":mauvais-s3cret-42@")
    monkeypatch.setenv(postgres.URL_ENV, wrong)
    failed = runner.invoke(app, ["load", "--entrepot", str(warehouse), "--schema", schema])
    assert failed.exit_code == 1 and "intact" in failed.output
    for output in (ok.output, failed.output):
        flat = "".join(output.split())
        assert password not in flat and "mauvais-s3cret-42" not in flat


@pytest.mark.realdata
def test_real_warehouse_loads_every_table(pg_url: str, schema: str, rhone_etl: Path) -> None:
    path = rhone_etl
    counts = postgres.load_to_postgres(path, pg_url, schema)
    expected = postgres.duckdb_counts(path)
    assert set(TABLE_ORDER) <= set(counts)
    assert counts == {t: expected[t] for t in counts}
    assert counts["fact_resultat_commune"] > 0
