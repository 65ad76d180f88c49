"""Write the star schema into a DuckDB file atomically: build a new file, then swap it in.

A failed build removes its temporary file and leaves the previous warehouse untouched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from electio.atomic import pid_alive
from electio.errors import ElectioError
from electio.frames import registered
from electio.guard import pause_point

# Load order respects foreign keys.
TABLE_ORDER = [
    "dim_region",
    "dim_departement",
    "dim_commune",
    "map_commune_cog",
    "dim_scrutin",
    "dim_bloc",
    "dim_candidat",
    "fact_participation",
    "fact_resultat_commune",
    "map_commune_scrutin",
    "fact_participation_territoire",
    "fact_resultat_territoire",
    "etl_run",
    "etl_input",
    "etl_step",
    "dq_check",
    "couverture_scrutin",
    "dim_indicateur",
    "fact_indicateur_commune",
    "couverture_indicateur",
    "fact_indicateur_territoire",
    "disponibilite_territoire",
    "dim_sondage",
    "fact_intention_vote",
    "resultat_bloc_sondage",
    "couverture_sondage",
    "dim_unite",
    "fact_participation_arrondissement",
    "fact_resultat_arrondissement",
    "map_bureau_unite",
    "fact_indicateur_unite",
    "couverture_indicateur_unite",
]
ETL_DDL = ("schema.sql", "indicators.sql", "polls.sql", "units.sql")  # the tables the ETL builds; later stages add their own DDL files
BULK_TABLES = ("fact_participation", "fact_resultat_commune", "map_commune_scrutin", "fact_indicateur_commune")
"""Fact and audit tables with one row per ballot or indicator value (France: 0.2 M to 6.2 M rows).
DuckDB checks declared keys row by row while inserting (~18 s for France, with the key
indexes held in memory), so the warehouse file creates these without declared keys and
checks the same keys, read from the DDL, in bulk before the swap (:func:`check_keys`: ~1 s).
PostgreSQL and the MCD keep the declared keys."""
BUILD_MEMORY = "512MB"
"""DuckDB memory while a warehouse file is built; beyond it, DuckDB writes blocks to the file."""
_REFERENCES = re.compile(r"\s+REFERENCES\s+\w+\s*\([^)]*\)", re.IGNORECASE)
_PRIMARY_KEY = re.compile(r",\s*PRIMARY\s+KEY\s*\([^)]*\)", re.IGNORECASE)


@dataclass(frozen=True)
class Key:
    """A primary or foreign key declared in the DDL."""

    table: str
    kind: str
    columns: tuple[str, ...]
    parent: str | None = None
    parent_columns: tuple[str, ...] = ()


def ddl(name: str) -> str:
    """One portable DDL file of the warehouse package."""
    return resources.files("electio.warehouse").joinpath(name).read_text(encoding="utf-8")


def schema_sql() -> str:
    """The portable DDL of the tables the ETL builds."""
    return "\n".join(ddl(name) for name in ETL_DDL)


def without_keys(ddl_text: str, tables: Iterable[str] = BULK_TABLES) -> str:
    """The DDL with the PRIMARY KEY and REFERENCES clauses of ``tables`` removed (NOT NULL kept)."""
    names = "|".join(tables)
    block = re.compile(rf"CREATE\s+TABLE\s+(?:{names})\s*\(.*?\n\);", re.IGNORECASE | re.DOTALL)
    return block.sub(lambda m: _PRIMARY_KEY.sub("", _REFERENCES.sub("", m.group(0))), ddl_text)


def declared_keys(ddl_text: str, tables: Iterable[str] = BULK_TABLES) -> list[Key]:
    """Primary and foreign keys that ``ddl_text`` declares on ``tables`` (read by DuckDB itself)."""
    wanted = set(tables)
    with duckdb.connect() as con:
        con.execute(ddl_text)
        rows = con.execute(
            "SELECT table_name, constraint_type, constraint_column_names, referenced_table, referenced_column_names "
            "FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') ORDER BY table_name, constraint_index"
        ).fetchall()
    return [Key(t, kind, tuple(cols), parent, tuple(pcols or ())) for t, kind, cols, parent, pcols in rows if t in wanted]


def key_violation(con: duckdb.DuckDBPyConnection, key: Key) -> str | None:
    """What breaks ``key`` in the loaded table (first example), or None."""
    columns = ", ".join(f"t.{c}" for c in key.columns)
    if key.kind == "PRIMARY KEY":
        rows = con.execute(f"SELECT {columns} FROM {key.table} AS t GROUP BY ALL HAVING count(*) > 1 LIMIT 1").fetchall()
        return f"clé primaire ({', '.join(key.columns)}) en double : {rows[0]}" if rows else None
    on = " AND ".join(f"p.{pc} = t.{c}" for c, pc in zip(key.columns, key.parent_columns, strict=True))
    present = " AND ".join(f"t.{c} IS NOT NULL" for c in key.columns)
    rows = con.execute(f"SELECT {columns} FROM {key.table} AS t ANTI JOIN {key.parent} AS p ON {on} WHERE {present} LIMIT 1").fetchall()
    return f"({', '.join(key.columns)}) = {rows[0]} absent de {key.parent}" if rows else None


def check_keys(con: duckdb.DuckDBPyConnection, keys: Iterable[Key]) -> None:
    """Raise DuckDB's ConstraintException, naming the table, when a key of ``keys`` is broken."""
    for key in keys:
        problem = key_violation(con, key)
        if problem:
            raise duckdb.ConstraintException(f"table {key.table} : {problem}")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of a table, in DDL order."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()
    return [r[0] for r in rows]


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | pa.Table) -> int:
    """Insert a frame (pandas or Arrow) into an existing table, matching columns by name."""
    columns = table_columns(con, table)
    names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"table {table} : colonnes manquantes {missing}")
    with registered(con, frame.select(columns) if isinstance(frame, pa.Table) else frame[columns]):
        con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
    return len(frame)


def remove_stale_staging(target: Path) -> list[Path]:
    """Delete staging files left by a killed build (their process is gone); return them."""
    removed = []
    for path in target.parent.glob(f".{target.name}.*.building*"):
        pid = path.name.removeprefix(f".{target.name}.").split(".")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def staged_warehouse(target: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to a fresh warehouse file; swap it over ``target`` only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = target.with_name(f".{target.name}.{os.getpid()}.building")
    staging.unlink(missing_ok=True)
    con = duckdb.connect(str(staging), config={"memory_limit": BUILD_MEMORY})
    try:
        con.execute(without_keys(schema_sql()))
        yield con
        con.execute("CHECKPOINT")
        con.close()
        pause_point("warehouse-swap")
        wal_of(target).unlink(missing_ok=True)  # a WAL left by a killed writer belongs to the file being replaced
        os.replace(staging, target)
    except BaseException:
        con.close()
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
        raise


def write_tables(target: Path, tables: Mapping[str, pd.DataFrame | pa.Table]) -> dict[str, int]:
    """Build a new warehouse from frames (one per table) and swap it in atomically.

    The keys of :data:`BULK_TABLES` are checked after loading; a broken key aborts the swap.
    """
    unknown = set(tables) - set(TABLE_ORDER)
    if unknown:
        raise ValueError(f"tables inconnues du schéma : {sorted(unknown)}")
    counts: dict[str, int] = {}
    with staged_warehouse(target) as con:
        for table in TABLE_ORDER:
            if table in tables:
                counts[table] = insert_frame(con, table, tables[table])
                pause_point("warehouse-write")
        check_keys(con, declared_keys(schema_sql()))
    return counts


def wal_of(path: Path) -> Path:
    """DuckDB's write-ahead log of a database file."""
    return path.with_name(path.name + ".wal")


def file_identity(path: Path) -> tuple[int, int, int]:
    """(inode, size, mtime in ns) of the warehouse file: it changes when the file is replaced or written."""
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def connect(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (read-only by default)."""
    if not path.is_file():
        raise FileNotFoundError(f"entrepôt absent : {path} (lancez d'abord « electio etl »)")
    return duckdb.connect(str(path), read_only=read_only)


def replace_stage_tables(target: Path, ddl_file: str, tables: Mapping[str, pd.DataFrame], keys: Mapping[str, object],
                         read_from: tuple[int, int, int] | None = None, recreate: bool = False) -> dict[str, int]:
    """Write a later stage's tables into the existing warehouse, in one transaction.

    Creates the tables of ``ddl_file`` when absent (its ``CREATE TABLE`` run as ``IF NOT EXISTS``,
    comments re-applied, foreign keys checked in bulk before the commit instead of declared), deletes the
    rows matching ``keys`` (column → value, e.g. the territory) from each table of ``tables``, then inserts
    the frames. Any failure (a broken foreign key included) rolls back: the file is left as it was; a
    success is checkpointed (no WAL left beside the file). With ``read_from`` (:func:`file_identity` when
    the stage read its inputs), a warehouse replaced meanwhile is refused. ``recreate`` (a stage that rewrites
    whole tables, no ``keys``): the tables of ``tables`` are dropped and created again in the same transaction, so
    that a table written by an older version with other columns takes the current DDL. Returns the rows inserted per table.
    """
    if read_from is not None and file_identity(target)[0] != read_from[0]:
        raise ElectioError(f"l'entrepôt {target} a été reconstruit pendant le calcul : résultats non écrits, relancez la commande")
    text = resources.files("electio.warehouse").joinpath(ddl_file).read_text(encoding="utf-8")
    declared = {name.lower() for name in re.findall(r"CREATE\s+TABLE\s+(\w+)", text, flags=re.IGNORECASE)}
    unknown = set(tables) - declared
    if unknown:
        raise ValueError(f"tables absentes de {ddl_file} : {sorted(unknown)}")
    keys_to_check = [k for k in declared_keys(schema_sql() + "\n" + text, declared) if k.kind == "FOREIGN KEY"]
    text = _REFERENCES.sub("", text)  # DuckDB refuses to delete parent rows whose children the same transaction deleted
    text = re.sub(r"CREATE\s+TABLE\s+", "CREATE TABLE IF NOT EXISTS ", text, flags=re.IGNORECASE)
    where = " AND ".join(f'"{column}" = ?' for column in keys) or "TRUE"
    counts: dict[str, int] = {}
    with connect(target, read_only=False) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for table in tables if recreate and not keys else ():
                con.execute(f'DROP TABLE IF EXISTS "{table}"')
            con.execute(text)
            for table, frame in tables.items():
                con.execute(f'DELETE FROM "{table}" WHERE {where}', list(keys.values()))
                counts[table] = insert_frame(con, table, frame)
                pause_point("stage-write")
            check_keys(con, keys_to_check)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("CHECKPOINT")
    return counts
