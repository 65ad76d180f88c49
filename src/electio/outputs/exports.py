"""Exports of the warehouse for the client's tools (``electio export``).

Writes into one folder (built in a staging folder, then swapped in whole):

- ``csv/`` and ``parquet/``: one file per table and per view ``v_*`` (the DDL's views and the BI
  views of :data:`electio.warehouse.postgres.BI_VIEWS`). CSV follows Excel and Power BI in a
  French locale: UTF-8 with BOM, ``;`` separator, ``,`` decimal mark, ISO dates.
- ``electio_dump.sql``: DDL files, data as ``COPY … FROM stdin`` blocks in foreign-key order,
  comments and views, in one transaction (``psql -v ON_ERROR_STOP=1 -f``).
- ``dictionnaire_donnees.csv`` / ``.md``: every column with its type, keys, comment and source.
- ``powerbi/``: connection files, Power Query script, relationships and DAX measures.
- ``mcd/``: the conceptual data model (:mod:`electio.outputs.mcd`).
- ``README.md``: the listing, formats and row counts.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import duckdb

from electio import config
from electio.atomic import staged_folder
from electio.outputs import markdown, powerbi
from electio.outputs.mcd import Model, ddl_model, ddl_table_files, write_mcd
from electio.warehouse.postgres import BI_VIEWS, ddl_scripts, duckdb_tables
from electio.warehouse.store import connect

CSV_SEPARATOR = ";"
CSV_DECIMAL = ","
CSV_ENCODING = "utf-8-sig"  # UTF-8 with BOM: Excel and Power BI then detect UTF-8
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DECIMAL_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")
DUMP_FILE = "electio_dump.sql"
DICTIONARY_FILE = "dictionnaire_donnees"
DICTIONARY_FIELDS = ("table", "colonne", "type", "obligatoire", "cle", "description", "description_table", "source")
COPY_BATCH_ROWS = 50_000
EXCEL_MAX_ROWS = 1_048_575  # Excel's 1 048 576 rows, header included: larger objects get no CSV


@dataclass(frozen=True)
class Exported:
    """One exported table or view."""

    name: str
    kind: str  # "table" or "vue"
    rows: int
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type)
    description: str

    @property
    def has_csv(self) -> bool:
        """Whether the object fits an Excel sheet, hence gets a CSV file."""
        return self.rows <= EXCEL_MAX_ROWS


def quote(identifier: str) -> str:
    """A double-quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str | Path) -> str:
    """A single-quoted SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


# ─── Objects to export ───────────────────────────────────────────────────────────────────

def create_bi_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create the BI views as temporary views (the warehouse stays read-only)."""
    con.execute(re.sub(r"\bCREATE VIEW\b", "CREATE TEMP VIEW", BI_VIEWS))


def exported_objects(con: duckdb.DuckDBPyConnection) -> list[Exported]:
    """Tables of the DDL present in the warehouse (foreign-key order), then the ``v_*`` views."""
    present = set(duckdb_tables(con))
    comments = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
    views = con.execute(
        "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND starts_with(view_name, 'v_') "
        "ORDER BY temporary, view_name"
    ).fetchall()
    objects = [(t, "table", comments.get(t)) for t in ddl_table_files() if t in present]
    return [_describe(con, name, kind, comment) for name, kind, comment in [*objects, *((v, "vue", c) for v, c in views)]]


def _describe(con: duckdb.DuckDBPyConnection, name: str, kind: str, comment: str | None) -> Exported:
    relation = con.sql(f"SELECT * FROM {quote(name)}")
    rows = con.execute(f"SELECT count(*) FROM {quote(name)}").fetchall()[0][0]
    columns = tuple((c, str(t)) for c, t in zip(relation.columns, relation.types, strict=True))
    return Exported(name, kind, rows, columns, comment or "")


# ─── CSV and Parquet ─────────────────────────────────────────────────────────────────────

def select(item: Exported, expression: Callable[[str, str], str]) -> str:
    """SELECT of an object, each column through ``expression(quoted name, DuckDB type)``."""
    return f"SELECT {', '.join(expression(quote(c), t) for c, t in item.columns)} FROM {quote(item.name)}"


def csv_expression(column: str, dtype: str) -> str:
    """Decimal numbers written with a decimal comma."""
    return f"replace(CAST({column} AS VARCHAR), '.', '{CSV_DECIMAL}') AS {column}" if dtype.startswith(DECIMAL_TYPES) else column


def parquet_expression(column: str, dtype: str) -> str:
    """128-bit integers (DuckDB's SUM of BIGINT) as BIGINT: Parquet would store them as DOUBLE."""
    return f"CAST({column} AS BIGINT) AS {column}" if dtype == "HUGEINT" else column


def write_csv(con: duckdb.DuckDBPyConnection, item: Exported, path: Path) -> Path:
    """Write one object as CSV (header, ``;``, decimal comma, empty field for NULL), BOM first."""
    part = path.with_name(path.name + ".part")
    con.execute(f"COPY ({select(item, csv_expression)}) TO {literal(part)} "
                f"(HEADER, DELIMITER '{CSV_SEPARATOR}', TIMESTAMPFORMAT '{TIMESTAMP_FORMAT}')")
    with path.open("wb") as out, part.open("rb") as body:
        out.write("\ufeff".encode())
        shutil.copyfileobj(body, out)
    part.unlink()
    return path


def write_parquet(con: duckdb.DuckDBPyConnection, item: Exported, path: Path) -> Path:
    """Write one object as Parquet (zstd), types kept."""
    con.execute(f"COPY ({select(item, parquet_expression)}) TO {literal(path)} (FORMAT parquet, COMPRESSION zstd)")
    return path


# ─── SQL dump ────────────────────────────────────────────────────────────────────────────

def copy_field(column: str, dtype: str) -> str:
    """DuckDB expression of a column in PostgreSQL's COPY text format (``\\N`` for NULL).

    Backslash, tab, newline and carriage return are escaped in the types Power Query reads as text
    (strings and the like); numbers, dates and booleans cannot contain them.
    """
    text = f"CAST({quote(column)} AS VARCHAR)"
    if powerbi.m_type(dtype) == "type text":
        for char, escaped in ((r"'\'", r"'\\'"), ("chr(9)", r"'\t'"), ("chr(10)", r"'\n'"), ("chr(13)", r"'\r'")):
            text = f"replace({text}, {char}, {escaped})"
    return f"COALESCE({text}, '\\N')"


def write_copy_block(con: duckdb.DuckDBPyConnection, item: Exported, out: TextIO) -> None:
    """One ``COPY table (columns) FROM stdin`` block with the table's rows."""
    out.write(f"\nCOPY {item.name} ({', '.join(quote(c) for c, _ in item.columns)}) FROM stdin;\n")
    line = " || chr(9) || ".join(copy_field(c, t) for c, t in item.columns)
    for batch in con.sql(f"SELECT {line} FROM {quote(item.name)}").to_arrow_reader(COPY_BATCH_ROWS):
        if batch.num_rows:
            out.write("\n".join(batch.column(0).to_pylist()) + "\n")
    out.write("\\.\n")


def write_dump(con: duckdb.DuckDBPyConnection, tables: Sequence[Exported], path: Path, origin: str) -> Path:
    """Portable dump for PostgreSQL: DDL (tables, comments, views), data, BI views; one transaction."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(
            f"-- Electio : dump SQL de l'entrepôt {origin}, généré par « electio export ».\n"
            "-- Chargement dans une base PostgreSQL vide (schéma courant, public par défaut) :\n"
            f"--   psql -v ON_ERROR_STOP=1 -d electio -f {DUMP_FILE}\n"
            "-- Une seule transaction : en cas d'erreur, rien n'est chargé.\n"
            "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nSET client_min_messages = warning;\n"
            "BEGIN;\n"
        )
        for name, ddl in ddl_scripts():
            out.write(f"\n-- ─── DDL : {name} ───\n{ddl.strip()}\n")
        out.write("\n-- ─── Données (ordre des clés étrangères) ───\n")
        for item in tables:
            write_copy_block(con, item, out)
        out.write(f"\n-- ─── Vues BI ───\n{BI_VIEWS.strip()}\n\nCOMMIT;\n")
    return path


# ─── Data dictionary ─────────────────────────────────────────────────────────────────────

def _distinct(con: duckdb.DuckDBPyConnection, table: str, column: str) -> list[str]:
    if table not in duckdb_tables(con):
        return []
    return [r[0] for r in con.execute(f"SELECT DISTINCT {quote(column)} FROM {quote(table)} ORDER BY 1").fetchall()]


def table_sources(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Where each table comes from: catalogue sources (facts, geography) or referential CSV files."""
    from electio.harmonise.blocs import ASSIGNMENTS_CSV, BLOCS_CSV
    from electio.harmonise.geography import GEO_SOURCES
    from electio.pipeline.etl import EXTRA_MAPPING_CSV, SCRUTINS_CSV
    from electio.pipeline.indicators import COMPLEMENTS_CSV, INDICATORS_CSV

    def catalogue(*ids: str) -> str:
        return "catalogue : " + (", ".join(ids) or "aucune source chargée")

    def referential(path: Path) -> str:
        return f"référentiel : {path.relative_to(config.PROJECT_DIR)}"

    ballots = catalogue(*_distinct(con, "dim_scrutin", "source_id"))
    lineage = "traçabilité de l'exécution de « electio etl »"
    return {
        "dim_region": catalogue(GEO_SOURCES["regions"]),
        "dim_departement": catalogue(GEO_SOURCES["departements"]),
        "dim_commune": catalogue(GEO_SOURCES["communes"], GEO_SOURCES["departements"], GEO_SOURCES["regions"]),
        "map_commune_cog": catalogue(*(GEO_SOURCES[k] for k in ("communes", "communes_2024", "passage", "cog_history")))
        + " ; " + referential(EXTRA_MAPPING_CSV),
        "dim_scrutin": referential(SCRUTINS_CSV),
        "dim_bloc": referential(BLOCS_CSV),
        "dim_candidat": f"{referential(ASSIGNMENTS_CSV)} ; {ballots}",
        "fact_participation": ballots,
        "fact_resultat_commune": ballots,
        "map_commune_scrutin": ballots,
        "fact_participation_territoire": catalogue(*_distinct(con, "fact_participation_territoire", "source_id")),
        "fact_resultat_territoire": catalogue(*_distinct(con, "fact_participation_territoire", "source_id")),
        "dim_indicateur": referential(INDICATORS_CSV),
        "fact_indicateur_commune": catalogue(*_distinct(con, "fact_indicateur_commune", "source_id"), GEO_SOURCES["cog_history"])
        + " (populations des communes fusionnées) ; " + referential(COMPLEMENTS_CSV),
        "couverture_indicateur": "calcul : fact_indicateur_commune et dim_commune",
        "fact_indicateur_unite": catalogue(*_distinct(con, "fact_indicateur_unite", "source_id")),
        "couverture_indicateur_unite": "calcul : fact_indicateur_unite et dim_unite",
        "fact_indicateur_territoire": catalogue(*_distinct(con, "fact_indicateur_territoire", "source_id")) + " (toutes les communes de France)",
        "disponibilite_territoire": "calcul : chaque fichier de scrutin et d'indicateurs lu par l'ETL, toutes ses communes",
        "couverture_scrutin": "calcul : fact_participation et dim_commune",
        "etl_run": lineage, "etl_input": lineage, "etl_step": lineage,
        "dq_check": "contrats de qualité de « electio etl »",
    }


def source_of(table: str, sources: dict[str, str], files: dict[str, str]) -> str:
    """A table's source; tables of later stages are computed by electio from the warehouse."""
    return sources.get(table) or f"calcul : electio, à partir de l'entrepôt (DDL {files.get(table, '?')})"


def dictionary_rows(model: Model, sources: dict[str, str]) -> list[dict[str, str]]:
    """One row per column of every table of ``model``."""
    targets = {(r.child, c): f"{r.parent}.{p}" for r in model.relations for c, p in zip(r.columns, r.parent_columns, strict=True)}
    files = ddl_table_files()
    rows = []
    for entity in model.entities:
        for column in entity.columns:
            keys = ["PK"] if column.primary else []
            if (entity.name, column.name) in targets:
                keys.append(f"FK → {targets[(entity.name, column.name)]}")
            rows.append({
                "table": entity.name, "colonne": column.name, "type": column.type,
                "obligatoire": "non" if column.nullable else "oui", "cle": ", ".join(keys),
                "description": column.comment, "description_table": entity.comment,
                "source": source_of(entity.name, sources, files),
            })
    return rows


def write_semicolon_csv(path: Path, fields: Sequence[str], rows: Sequence[dict[str, object]]) -> Path:
    """A small CSV in the export's convention (UTF-8 with BOM, ``;``)."""
    with path.open("w", encoding=CSV_ENCODING, newline="") as out:
        writer = csv.DictWriter(out, fields, delimiter=CSV_SEPARATOR)
        writer.writeheader()
        writer.writerows(rows)
    return path


def dictionary_markdown(rows: Sequence[dict[str, str]]) -> str:
    """The dictionary as Markdown: one section per table."""
    parts = ["# Dictionnaire de données de l'entrepôt Electio\n\n",
             "Généré par « electio export » à partir des commentaires (`COMMENT ON`) du DDL. "
             "PK : identifiant ; FK : clé étrangère (table.colonne référencée).\n"]
    for table in dict.fromkeys(r["table"] for r in rows):
        columns = [r for r in rows if r["table"] == table]
        parts.append(f"\n## {table}\n\n{columns[0]['description_table']}\n\nSource : {columns[0]['source']}\n\n")
        parts.append(markdown.table(("colonne", "type", "obligatoire", "clé", "description"),
                                    [(f"`{r['colonne']}`", r["type"], r["obligatoire"], r["cle"], r["description"]) for r in columns]))
    return "".join(parts)


def write_dictionary(rows: Sequence[dict[str, str]], out_dir: Path) -> list[Path]:
    md = out_dir / f"{DICTIONARY_FILE}.md"
    md.write_text(dictionary_markdown(rows), encoding="utf-8")
    return [write_semicolon_csv(out_dir / f"{DICTIONARY_FILE}.csv", DICTIONARY_FIELDS, rows), md]


# ─── README ──────────────────────────────────────────────────────────────────────────────

def _size(path: Path) -> str:
    return f"{markdown.thousands(max(1, round(path.stat().st_size / 1024)))} Ko" if path.is_file() else "— (Parquet)"


def run_summary(con: duckdb.DuckDBPyConnection) -> str:
    """The ETL run the warehouse comes from, in French."""
    if "etl_run" not in duckdb_tables(con):
        return "exécution ETL inconnue"
    row = con.execute("SELECT run_id, territoire, finished_at FROM etl_run ORDER BY finished_at DESC NULLS LAST LIMIT 1").fetchone()
    if row is None:
        return "aucune exécution ETL"
    run_id, territory, finished = row
    return f"exécution ETL {run_id}, territoire {territory}" + (f", terminée le {finished:%Y-%m-%d %H:%M} UTC" if finished else "")


def readme(items: Sequence[Exported], folder: Path, origin: str) -> str:
    """French README of the export folder: files, formats, rows per table and view."""
    listing = markdown.table(
        ("objet", "type", "lignes", "colonnes", "CSV", "Parquet", "description"),
        [(f"`{i.name}`", i.kind, markdown.thousands(i.rows), len(i.columns), _size(folder / "csv" / f"{i.name}.csv"),
          _size(folder / "parquet" / f"{i.name}.parquet"), i.description or "vue SQL (définition dans le dump)") for i in items],
        right=(2, 3, 4, 5),
    )
    return f"""# Exports de l'entrepôt Electio

Généré par `electio export` le {datetime.now(UTC):%Y-%m-%d à %H:%M} UTC à partir de l'entrepôt {origin}.
Ce dossier est entièrement régénéré à chaque export : n'y rangez pas d'autres fichiers.

## Contenu

| chemin | contenu |
| --- | --- |
| `csv/<objet>.csv` | une table ou une vue par fichier, pour Excel et Power BI (format ci-dessous) |
| `parquet/<objet>.parquet` | les mêmes données, types conservés (pandas / Jupyter, Power BI, DuckDB) |
| `{DUMP_FILE}` | dump SQL PostgreSQL : tables (ordre des clés étrangères), commentaires, données, vues |
| `{DICTIONARY_FILE}.csv`, `{DICTIONARY_FILE}.md` | dictionnaire de données : table, colonne, type, clé, description, source |
| `powerbi/` | démarrage Power BI : fichiers de connexion `.pbids`, requêtes Power Query, relations et mesures DAX |
| `mcd/` | MCD : `mcd.png` (modèle conceptuel : entités, associations, cardinalités), `mcd.mmd` (Mermaid) ; schéma physique `schema_physique.dot` (schéma en étoile) et `schema_complet.dot` (toutes les tables), en PNG et SVG si Graphviz est installé |

## Format des CSV

- Encodage **UTF-8 avec BOM** : Excel (double-clic) et Power BI reconnaissent alors l'UTF-8 et les accents.
- Séparateur **`;`** et décimale **`,`** : ce sont les réglages régionaux français d'Excel et de Power BI
  (avec `,` comme séparateur, Excel-FR mettrait chaque ligne dans une seule colonne ; avec le point
  décimal, il lirait `0.57` comme du texte ou une date).
- Dates `AAAA-MM-JJ`, horodatages `AAAA-MM-JJ HH:MM:SS` (UTC), booléens `true` / `false`.
- Valeur absente (NULL) : champ vide ; texte vide : `""`. Pas de séparateur de milliers.
- Au-delà de {markdown.thousands(EXCEL_MAX_ROWS)} lignes (limite d'une feuille Excel), pas de CSV : utilisez
  le Parquet (Power BI, Jupyter) ou la base PostgreSQL.
- Les codes (`code_commune`, `code_departement`…) sont du texte : dans Excel, passez par
  *Données > À partir d'un fichier texte/CSV* pour garder les zéros initiaux (`01001`).
- Python : `pd.read_csv(chemin, sep=";", decimal=",", encoding="utf-8-sig", dtype=str)`, ou mieux
  `pd.read_parquet(...)` qui garde les types.

## Charger le dump SQL

```bash
createdb electio
psql -v ON_ERROR_STOP=1 -d electio -f {DUMP_FILE}
```

Le dump crée les tables dans le schéma courant (`public` par défaut) d'une base vide, en une seule
transaction : en cas d'erreur, rien n'est chargé.

## Tables et vues

{listing}"""


# ─── Orchestration ───────────────────────────────────────────────────────────────────────

def export_all(warehouse: Path, out_dir: Path) -> dict[str, Any]:
    """Write every export of ``warehouse`` into ``out_dir`` (replaced whole).

    Objects of more than :data:`EXCEL_MAX_ROWS` rows get no CSV (Parquet and the dump only).
    Returns ``tables`` and ``views`` (rows per object), ``files`` (paths relative to ``out_dir``),
    ``relations`` (foreign keys, described), ``images`` (whether Graphviz drew the MCD) and ``seconds``.
    """
    started = time.perf_counter()
    out_dir = out_dir.resolve()
    with staged_folder(out_dir) as folder, connect(warehouse) as con:
        create_bi_views(con)
        items = exported_objects(con)
        origin = f"{warehouse.name} ({run_summary(con)})"
        (folder / "csv").mkdir()
        (folder / "parquet").mkdir()
        for item in items:
            if item.has_csv:
                write_csv(con, item, folder / "csv" / f"{item.name}.csv")
            write_parquet(con, item, folder / "parquet" / f"{item.name}.parquet")
        tables = [i for i in items if i.kind == "table"]
        write_dump(con, tables, folder / DUMP_FILE, origin)
        model = ddl_model([t.name for t in tables])
        write_dictionary(dictionary_rows(model, table_sources(con)), folder)
        powerbi.write_powerbi(folder / "powerbi", model, items, out_dir)
        images = [p for p in write_mcd(folder / "mcd") if p.suffix == ".svg"]  # Graphviz drawings of the physical schema
        (folder / "README.md").write_text(readme(items, folder, origin), encoding="utf-8")
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    return {
        "out_dir": out_dir,
        "tables": {i.name: i.rows for i in items if i.kind == "table"},
        "views": {i.name: i.rows for i in items if i.kind == "vue"},
        "files": files,
        "relations": [r.describe() for r in model.relations],
        "images": bool(images),
        "seconds": round(time.perf_counter() - started, 1),
    }
