"""Write the star schema into a DuckDB file atomically: build a new file, then swap it in.

A failed build removes its temporary file and leaves the previous warehouse untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd

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
    "etl_run",
    "etl_input",
    "etl_step",
    "dq_check",
    "couverture_scrutin",
    "dim_indicateur",
    "fact_indicateur_commune",
    "couverture_indicateur",
]
ETL_DDL = ("schema.sql", "indicators.sql")  # the tables the ETL builds; later stages add their own DDL files


def ddl(name: str) -> str:
    """One portable DDL file of the warehouse package."""
    return resources.files("electio.warehouse").joinpath(name).read_text(encoding="utf-8")


def schema_sql() -> str:
    """The portable DDL of the tables the ETL builds."""
    return "\n".join(ddl(name) for name in ETL_DDL)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of a table, in DDL order."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()
    return [r[0] for r in rows]


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Insert a frame into an existing table, matching columns by name."""
    columns = table_columns(con, table)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"table {table} : colonnes manquantes {missing}")
    con.register("_frame", frame[columns])
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _frame")
    finally:
        con.unregister("_frame")
    return len(frame)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(target: Path) -> list[Path]:
    """Delete staging files left by a killed build (their process is gone); return them."""
    removed = []
    for path in target.parent.glob(f".{target.name}.*.building*"):
        pid = path.name.removeprefix(f".{target.name}.").split(".")[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
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
    con = duckdb.connect(str(staging))
    try:
        con.execute(schema_sql())
        yield con
        con.execute("CHECKPOINT")
        con.close()
        os.replace(staging, target)
    except BaseException:
        con.close()
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
        raise


def write_tables(target: Path, tables: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Build a new warehouse from frames (one per table) and swap it in atomically."""
    unknown = set(tables) - set(TABLE_ORDER)
    if unknown:
        raise ValueError(f"tables inconnues du schéma : {sorted(unknown)}")
    counts: dict[str, int] = {}
    with staged_warehouse(target) as con:
        for table in TABLE_ORDER:
            if table in tables:
                counts[table] = insert_frame(con, table, tables[table])
    return counts


def connect(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (read-only by default)."""
    if not path.is_file():
        raise FileNotFoundError(f"entrepôt absent : {path} (lancez d'abord « electio etl »)")
    return duckdb.connect(str(path), read_only=read_only)


def replace_stage_tables(target: Path, ddl_file: str, tables: Mapping[str, pd.DataFrame], keys: Mapping[str, object]) -> dict[str, int]:
    """Write a later stage's tables into the existing warehouse, in one transaction.

    Creates the tables of ``ddl_file`` when absent (its ``CREATE TABLE`` run as ``IF NOT EXISTS``,
    comments re-applied), deletes the rows matching ``keys`` (column → value, e.g. the territory)
    from each table of ``tables``, then inserts the frames. Any failure rolls back: the file is
    left as it was. Returns the rows inserted per table.
    """
    import re

    text = resources.files("electio.warehouse").joinpath(ddl_file).read_text(encoding="utf-8")
    declared = {name.lower() for name in re.findall(r"CREATE\s+TABLE\s+(\w+)", text, flags=re.IGNORECASE)}
    unknown = set(tables) - declared
    if unknown:
        raise ValueError(f"tables absentes de {ddl_file} : {sorted(unknown)}")
    text = re.sub(r"CREATE\s+TABLE\s+", "CREATE TABLE IF NOT EXISTS ", text, flags=re.IGNORECASE)
    where = " AND ".join(f'"{column}" = ?' for column in keys) or "TRUE"
    counts: dict[str, int] = {}
    with connect(target, read_only=False) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(text)
            for table, frame in tables.items():
                con.execute(f'DELETE FROM "{table}" WHERE {where}', list(keys.values()))
                counts[table] = insert_frame(con, table, frame)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return counts
