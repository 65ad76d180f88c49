"""Exports: CSV / Parquet round-trips, data dictionary, MCD, Power BI starter, SQL dump into PostgreSQL.

The dump tests need ``ELECTIO_PG_TEST_URL`` and ``psql`` (set up by .ci/run); the MCD images need
Graphviz's ``dot``. Without them these tests fail under CI and skip elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from test_postgres import duck_rows, pg_rows, pg_url, schema  # noqa: F401  (pg_url, schema: fixtures)
from test_warehouse_store import tiny_tables
from typer.testing import CliRunner

from electio.cli import app
from electio.outputs import exports, mcd, powerbi
from electio.warehouse import postgres
from electio.warehouse.store import TABLE_ORDER, write_tables

TRICKY = 'tab\there; "guillemets", antislash \\ et\nretour à la ligne'
VIEWS = ["v_participation_commune", "v_resultat_bloc_commune", "v_resultat_candidat_commune", "v_bi_participation", "v_bi_resultat_bloc"]


def require(tool: str) -> str:
    """Path of a command-line tool; fails under CI when missing, skips elsewhere."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} absent : .ci/run doit l'installer en CI")
        pytest.skip(f"{tool} absent")
    return path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny warehouse, with a description full of CSV and COPY special characters."""
    tables = tiny_tables()
    tables["dim_bloc"].loc[0, "description"] = TRICKY
    path = tmp_path_factory.mktemp("entrepot") / "w.duckdb"
    write_tables(path, tables)
    return path


@pytest.fixture(scope="module")
def exported(warehouse: Path) -> tuple[Path, dict]:
    folder = warehouse.parent / "exports"
    return folder, exports.export_all(warehouse, folder)


def read_csv(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / "csv" / f"{name}.csv", sep=";", decimal=",", encoding="utf-8-sig", dtype={"code_commune": str})


def psql_load(url: str, target_schema: str, dump: Path) -> subprocess.CompletedProcess:
    """Run the dump with psql into ``target_schema`` (credentials through libpq variables, not argv)."""
    info = conninfo_to_dict(url)
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE"}
    env = {**os.environ, "PGOPTIONS": f"-c search_path={target_schema}"}
    env.update({variable: str(info[key]) for key, variable in names.items() if info.get(key)})
    return subprocess.run([require("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump)],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def load_dump(url: str, target_schema: str, dump: Path) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {target_schema}")
    done = psql_load(url, target_schema, dump)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ERROR" not in done.stderr


def declared_foreign_keys() -> set[tuple[str, str, str, str]]:
    """(table, column, referenced table, referenced column) of every REFERENCES in the DDL text."""
    keys, table = set(), ""
    for _, text in postgres.ddl_scripts():
        for line in text.splitlines():
            if created := re.match(r"\s*CREATE TABLE (\w+)", line, re.IGNORECASE):
                table = created.group(1)
            elif ref := re.match(r"\s*(\w+)\s+[\w ]*?REFERENCES\s+(\w+)\s*\((\w+)\)", line, re.IGNORECASE):
                keys.add((table, ref.group(1), ref.group(2), ref.group(3)))
    return keys


# ─── Files, CSV, Parquet ─────────────────────────────────────────────────────────────────

def test_every_table_and_view_is_exported(exported: tuple[Path, dict]) -> None:
    folder, result = exported
    assert list(result["tables"]) == TABLE_ORDER
    assert set(VIEWS) <= set(result["views"])
    for name in [*result["tables"], *result["views"]]:
        assert (folder / "csv" / f"{name}.csv").is_file() and (folder / "parquet" / f"{name}.parquet").is_file(), name
    for path in ("README.md", "electio_dump.sql", "dictionnaire_donnees.csv", "dictionnaire_donnees.md", "mcd/mcd.mmd",
                 "powerbi/README.md", "powerbi/electio_postgresql.pbids", "powerbi/electio_csv.pbids", "powerbi/requetes_power_query.pq"):
        assert (folder / path).is_file(), path
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_csv_round_trip(exported: tuple[Path, dict], warehouse: Path) -> None:
    folder, result = exported
    assert (folder / "csv" / "dim_commune.csv").read_bytes().startswith("\ufeffcode_commune;".encode())
    for name, rows in [*result["tables"].items(), *result["views"].items()]:
        assert len(read_csv(folder, name)) == rows, name
    assert read_csv(folder, "dim_bloc")["description"].tolist()[0] == TRICKY
    communes = read_csv(folder, "dim_commune")
    assert communes["code_commune"].tolist() == ["69001", "69002"] and communes["population"].sum() == 700
    parts = read_csv(folder, "v_resultat_bloc_commune").sort_values(["code_commune", "bloc"])
    assert parts["part"].iloc[0] == pytest.approx(40 / 70)
    assert "0,5714285714285714" in (folder / "csv" / "v_resultat_bloc_commune.csv").read_text(encoding="utf-8-sig")
    assert sorted(read_csv(folder, "v_bi_participation")["taux_participation"]) == pytest.approx([0.75, 0.8])
    assert read_csv(folder, "dim_scrutin")["date_scrutin"].tolist() == ["2017-05-07"]


def test_parquet_round_trip(exported: tuple[Path, dict], warehouse: Path) -> None:
    folder, _ = exported
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for name in ("fact_participation", "dim_candidat", "dim_scrutin", "v_resultat_bloc_commune"):
            written = con.sql(f"SELECT * FROM read_parquet('{folder / 'parquet' / name}.parquet') ORDER BY ALL")
            original = con.sql(f"SELECT * FROM {name} ORDER BY ALL")  # a view's row order is not fixed
            assert [str(t) for t in written.types] == [str(t).replace("HUGEINT", "BIGINT") for t in original.types], name
            assert written.fetchall() == original.fetchall(), name
    participation = pd.read_parquet(folder / "parquet" / "fact_participation.parquet")
    assert participation["inscrits"].sum() == 180 and str(participation["inscrits"].dtype).lower().startswith("int")


def test_objects_too_large_for_excel_get_parquet_only(warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 3)
    folder = tmp_path / "exp"
    exports.export_all(warehouse, folder)
    assert not (folder / "csv" / "fact_resultat_commune.csv").exists()
    assert (folder / "parquet" / "fact_resultat_commune.parquet").is_file() and (folder / "csv" / "fact_participation.csv").is_file()
    assert "| `fact_resultat_commune` | table | 4 | 4 | — (Parquet) |" in (folder / "README.md").read_text(encoding="utf-8")
    queries = (folder / "powerbi" / "requetes_power_query.pq").read_text(encoding="utf-8")
    assert 'Parquet.Document(File.Contents(DossierExports & "\\parquet\\fact_resultat_commune.parquet"))' in queries


def test_readme_lists_generated_row_counts(exported: tuple[Path, dict]) -> None:
    text = (exported[0] / "README.md").read_text(encoding="utf-8")
    assert "| `fact_resultat_commune` | table | 4 | 4 |" in text
    assert "| `v_bi_resultat_bloc` | vue | 4 |" in text
    assert "UTF-8 avec BOM" in text and "`;`" in text


# ─── Data dictionary ─────────────────────────────────────────────────────────────────────

def test_dictionary_covers_every_column(exported: tuple[Path, dict], warehouse: Path) -> None:
    folder, result = exported
    dictionary = pd.read_csv(folder / "dictionnaire_donnees.csv", sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    columns = duck_rows(warehouse, "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal "
                                   "AND table_name IN (SELECT table_name FROM duckdb_tables())")
    assert set(zip(dictionary["table"], dictionary["colonne"], strict=True)) == set(columns)
    assert set(dictionary["table"]) == set(result["tables"])
    assert (dictionary["description"].str.strip() != "").all() and (dictionary["source"].str.strip() != "").all()
    row = dictionary.set_index(["table", "colonne"])
    assert row.loc[("fact_resultat_commune", "candidat_id"), "cle"] == "PK, FK → dim_candidat.candidat_id"
    assert row.loc[("dim_commune", "code_region"), "obligatoire"] == "non"
    assert "referentials/blocs.csv" in row.loc[("dim_bloc", "code_bloc"), "source"]
    assert row.loc[("fact_participation", "inscrits"), "source"] == "catalogue : s"
    markdown_text = (folder / "dictionnaire_donnees.md").read_text(encoding="utf-8")
    assert all(f"## {table}\n" in markdown_text for table in result["tables"])


# ─── MCD ─────────────────────────────────────────────────────────────────────────────────

def test_mcd_lists_every_foreign_key(exported: tuple[Path, dict]) -> None:
    folder, _ = exported
    declared = declared_foreign_keys()
    model = mcd.ddl_model()
    assert {(r.child, r.columns[0], r.parent, r.parent_columns[0]) for r in model.relations} == declared
    assert len(declared) >= 19
    text = (folder / "mcd" / "mcd.mmd").read_text(encoding="utf-8")
    assert text.splitlines()[3] == "erDiagram"
    for child, column, parent, _ in declared:
        assert re.search(rf'^    {parent} (\|\||\|o)--o\{{ {child} : "{column}"$', text, re.MULTILINE), (child, column)
    assert 'dim_region |o--o{ dim_departement : "code_region"' in text
    star = (folder / "mcd" / "schema_physique.dot").read_text(encoding="utf-8")
    assert "dim_scrutin -> fact_participation:scrutin_id" in star and "Dimensions" in star and "etl_run" not in star
    assert "etl_run -> dq_check:run_id" in (folder / "mcd" / "schema_complet.dot").read_text(encoding="utf-8")
    assert (folder / "mcd" / "mcd.png").read_bytes().startswith(b"\x89PNG")  # conceptual model: drawn without Graphviz


def test_mcd_images(exported: tuple[Path, dict]) -> None:
    require("dot")
    folder = exported[0] / "mcd"
    for stem in ("schema_physique", "schema_complet"):
        assert (folder / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
        svg = (folder / f"{stem}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg and "Communes du territoire" in svg


def test_conceptual_mcd_is_drawn_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "vide"))  # no program at all on the PATH: no dot
    model = mcd.star(mcd.ddl_model())
    boxes, links = mcd.conceptual(model)
    shapes = {b.key: b.shape for b in boxes}
    assert {e.name for e in model.entities if e.name.startswith("dim_")} <= {k for k, v in shapes.items() if v == "box"}
    assert shapes["fact_resultat_commune"] == "ellipse"  # a fact is an association between its entities
    legs = {(link.start, link.end): link.start_label for link in links}
    assert legs[("dim_candidat", "fact_resultat_commune")] == "0,n" and legs[("dim_commune", "dim_commune→dim_departement")] == "1,1"
    assert "dim_commune→dim_region" not in shapes  # implied by commune → département → région
    files = mcd.write_mcd(tmp_path / "mcd")
    assert (tmp_path / "mcd" / "mcd.png").read_bytes().startswith(b"\x89PNG") and not [f for f in files if f.suffix == ".svg"]


def test_short_labels_are_french_and_short() -> None:
    assert mcd.short_label("Scrutins chargés : un tour d'une élection.") == ["Scrutins chargés"]
    assert mcd.short_label("Régions du COG de référence (2026).") == ["Régions du COG de", "référence"]
    assert all(len(line) <= 27 for e in mcd.ddl_model().entities for line in mcd.short_label(e.comment))


# ─── Power BI ────────────────────────────────────────────────────────────────────────────

def test_powerbi_starter(exported: tuple[Path, dict]) -> None:
    folder = exported[0] / "powerbi"
    source = json.loads((folder / "electio_postgresql.pbids").read_text(encoding="utf-8"))
    assert source["connections"][0]["details"]["protocol"] == "postgresql"
    assert "password" not in json.dumps(source).lower()
    csv_source = json.loads((folder / "electio_csv.pbids").read_text(encoding="utf-8"))["connections"][0]["details"]
    assert csv_source["protocol"] == "folder" and csv_source["address"]["path"].endswith("csv")
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert "| `fact_resultat_commune[candidat_id]` | `dim_candidat[candidat_id]` | plusieurs à un (*:1) |" in text
    assert "Part des exprimés = DIVIDE ( [Voix], [Exprimés] )" in text
    queries = (folder / "requetes_power_query.pq").read_text(encoding="utf-8")
    assert '{"code_commune", type text}' in queries and '{"inscrits", Int64.Type}' in queries and '"fr-FR"' in queries


def test_indirect_relationships_are_inactive() -> None:
    inactive = powerbi.inactive_relations(mcd.ddl_model().relations)
    # fact_prevision_duel references dim_hypothese and dim_duel, which references dim_hypothese: a second filter path
    assert {(r.child, r.parent) for r in inactive} == {("dim_departement", "dim_region"), ("dim_candidat", "dim_scrutin"), ("dim_duel", "dim_hypothese")}


# ─── Atomicity and command line ──────────────────────────────────────────────────────────

def test_failed_export_keeps_previous_folder(exported: tuple[Path, dict], warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = exported[0]
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))

    def broken(*_args, **_kwargs) -> None:
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(exports, "write_dump", broken)
    with pytest.raises(RuntimeError, match="panne simulée"):
        exports.export_all(warehouse, folder)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_cli_export(warehouse: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["export", "--entrepot", str(warehouse), "--dossier", str(tmp_path / "exp")])
    assert ok.exit_code == 0, ok.output
    assert "fact_resultat_commune" in ok.output and (tmp_path / "exp" / "electio_dump.sql").is_file()
    missing = runner.invoke(app, ["export", "--entrepot", str(tmp_path / "absent.duckdb"), "--dossier", str(tmp_path / "exp")])
    assert missing.exit_code == 1 and "intact" in missing.output
    assert (tmp_path / "exp" / "electio_dump.sql").is_file()


# ─── SQL dump into PostgreSQL ────────────────────────────────────────────────────────────

def test_dump_loads_into_fresh_postgres(exported: tuple[Path, dict], warehouse: Path, pg_url: str, schema: str) -> None:  # noqa: F811
    folder, result = exported
    load_dump(pg_url, schema, folder / "electio_dump.sql")
    counts = {t: pg_rows(pg_url, f"SELECT count(*) FROM {schema}.{t}")[0][0] for t in result["tables"]}
    assert counts == postgres.duckdb_counts(warehouse)
    assert pg_rows(pg_url, f"SELECT description FROM {schema}.dim_bloc WHERE code_bloc = 'gauche'") == [(TRICKY,)]
    assert pg_rows(pg_url, f"SELECT count(*) FROM {schema}.dim_candidat WHERE prenom IS NULL AND justification = ''") == [(2,)]
    query = "SELECT bloc, SUM(voix), SUM(part) FROM {s}v_resultat_bloc_commune GROUP BY bloc ORDER BY bloc"
    loaded, expected = pg_rows(pg_url, query.format(s=f"{schema}.")), duck_rows(warehouse, query.format(s=""))
    assert [r[:2] for r in loaded] == [r[:2] for r in expected]
    assert [float(r[2]) for r in loaded] == pytest.approx([r[2] for r in expected])
    assert pg_rows(pg_url, f"SELECT SUM(voix) FROM {schema}.v_bi_resultat_bloc") == [(125,)]
    assert pg_rows(pg_url, f"SELECT obj_description('{schema}.fact_participation'::regclass)")[0][0].startswith("Participation")
    foreign = pg_rows(pg_url, "SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = %s "
                              "AND constraint_type = 'FOREIGN KEY'", [schema])[0][0]
    assert foreign == len(mcd.ddl_model().relations)


def test_dump_is_all_or_nothing(exported: tuple[Path, dict], pg_url: str, schema: str, tmp_path: Path) -> None:  # noqa: F811
    broken = tmp_path / "broken.sql"
    text = (exported[0] / "electio_dump.sql").read_text(encoding="utf-8")
    broken.write_text(text.replace("69001\tAffoux", "69001\tAffoux\tcolonne en trop", 1), encoding="utf-8")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    done = psql_load(pg_url, schema, broken)
    assert done.returncode != 0 and "ERROR" in done.stderr
    assert pg_rows(pg_url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", [schema]) == [(0,)]


@pytest.mark.realdata
def test_real_warehouse_export_and_dump(pg_url: str, schema: str, tmp_path: Path, rhone_etl: Path) -> None:  # noqa: F811
    path = rhone_etl
    result = exports.export_all(path, tmp_path / "exports")
    assert result["seconds"] < 30
    expected = postgres.duckdb_counts(path)
    assert result["tables"] == {t: expected[t] for t in result["tables"]} and result["tables"]["fact_resultat_commune"] > 0
    load_dump(pg_url, schema, tmp_path / "exports" / "electio_dump.sql")
    for table, rows in result["tables"].items():
        assert pg_rows(pg_url, f"SELECT count(*) FROM {schema}.{table}") == [(rows,)], table
    for name, rows in {**result["tables"], **result["views"]}.items():
        if rows <= exports.EXCEL_MAX_ROWS:
            assert len(read_csv(tmp_path / "exports", name)) == rows, name
        else:
            assert not (tmp_path / "exports" / "csv" / f"{name}.csv").exists(), name


def test_conceptual_mcd_places_every_shape_without_overlap() -> None:
    """Every entity and association of the drawn MCD has its place in the layout, and no two shapes overlap
    (a new table must be placed by hand, not dropped on a crowded spare row)."""
    boxes, links = mcd.conceptual(mcd.with_logical(mcd.star(mcd.ddl_model())))
    placed = set(mcd.LAYOUT) | {f"{child}→{parent}" for child, parent in (k for k in mcd.LAYOUT if isinstance(k, tuple))}
    assert [b.key for b in boxes if b.key not in placed] == []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = abs(a.x - b.x) >= (a.width + b.width) / 2 or abs(a.y - b.y) >= (a.height + b.height) / 2
            assert apart, (a.key, b.key)
    assert {link.start for link in links} | {link.end for link in links} <= {b.key for b in boxes}
