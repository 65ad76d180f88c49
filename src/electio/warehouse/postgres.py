"""Copy the DuckDB warehouse into PostgreSQL for the dashboard and BI tools.

The load is atomic: everything is built in a staging schema inside one transaction, then the
previous schema is dropped and the staging schema renamed before the commit. Any failure rolls
the whole transaction back and leaves the previous schema untouched.

Credentials come only from the URL given on the command line, the ``ELECTIO_PG_URL`` environment
variable or a ``.env`` file in the project home (never committed). Passwords are never printed:
messages go through :func:`redact`.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

import duckdb
import psycopg
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from electio import config
from electio.errors import ElectioError
from electio.warehouse.store import connect, table_columns

URL_ENV = "ELECTIO_PG_URL"
READER_ROLE = "electio_reader"

# The portable DDL files, in execution (foreign-key) order; files not yet written are skipped.
# Every *.sql of electio/warehouse must be listed here (checked by tests/test_postgres.py).
DDL_FILES: tuple[str, ...] = ("schema.sql", "indicators.sql", "polls.sql", "units.sql", "models.sql", "analysis.sql", "forecasts.sql", "duels.sql")

# Columns the dashboard filters or joins on; each gets an index in every table that has it.
DASHBOARD_KEYS: tuple[str, ...] = ("code_commune", "scrutin_id")

# PostgreSQL-only denormalised views for BI tools (run after the DDL files).
BI_VIEWS = """
CREATE VIEW v_bi_resultat_bloc AS
SELECT r.scrutin_id, s.type_scrutin, s.annee, s.tour, s.date_scrutin, s.libelle AS libelle_scrutin,
       r.code_commune, c.nom_commune, c.code_departement, d.nom_departement, c.population,
       r.bloc AS code_bloc, b.libelle AS libelle_bloc, b.ordre AS ordre_bloc, b.couleur,
       r.voix, r.exprimes, r.part
FROM v_resultat_bloc_commune r
JOIN dim_scrutin s ON s.scrutin_id = r.scrutin_id
JOIN dim_commune c ON c.code_commune = r.code_commune
JOIN dim_departement d ON d.code_departement = c.code_departement
JOIN dim_bloc b ON b.code_bloc = r.bloc;
COMMENT ON VIEW v_bi_resultat_bloc IS
    'BI : voix et part de chaque bloc par commune et scrutin, avec libellés (commune, département, scrutin, bloc).';

CREATE VIEW v_bi_participation AS
SELECT p.scrutin_id, s.type_scrutin, s.annee, s.tour, s.libelle AS libelle_scrutin,
       p.code_commune, c.nom_commune, c.code_departement, d.nom_departement,
       p.inscrits, p.votants, p.blancs, p.nuls, p.exprimes,
       CASE WHEN p.inscrits > 0 THEN p.votants * 1.0 / p.inscrits END AS taux_participation,
       CASE WHEN p.votants > 0 THEN (p.votants - p.exprimes) * 1.0 / p.votants END AS part_blancs_nuls
FROM fact_participation p
JOIN dim_scrutin s ON s.scrutin_id = p.scrutin_id
JOIN dim_commune c ON c.code_commune = p.code_commune
JOIN dim_departement d ON d.code_departement = c.code_departement;
COMMENT ON VIEW v_bi_participation IS
    'BI : participation par commune et scrutin, avec libellés, taux de participation (votants / inscrits) '
    'et part des blancs et nuls (sur les votants).';
"""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE | re.MULTILINE)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*:/{0,3}[^:/@\s]*:)(\S*)(@)", re.IGNORECASE)  # greedy: up to the token's last @
_PG_URL = re.compile(r"^\s*(postgres(?:ql)?):(/*)(.*?)\s*$", re.IGNORECASE | re.DOTALL)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)", re.IGNORECASE)
BATCH_ROWS = 100_000


# ─── Credentials ─────────────────────────────────────────────────────────────────────────

def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (comments, blank lines and ``export`` allowed)."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().removeprefix("export ").strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def resolve_url(url: str | None = None) -> str:
    """The target URL: the argument, else ``ELECTIO_PG_URL``, else the project home's ``.env`` (checked by :func:`check_url`)."""
    resolved = url or os.environ.get(URL_ENV) or read_dotenv(config.home() / ".env").get(URL_ENV)
    if not resolved:
        raise ElectioError(f"aucune base PostgreSQL cible : passez --target ou définissez {URL_ENV} (environnement ou fichier .env)")
    check_url(resolved)
    return resolved


def url_password(url: str) -> str | None:
    """The password of a ``postgresql:`` URL as written: between the user's ``:`` and the last ``@`` (None without one)."""
    found = _PG_URL.match(url)
    if not found:
        return None
    userinfo, at, _host = found.group(3).rpartition("@")
    user, colon, password = userinfo.partition(":")
    return password if at and colon and password else None


def check_url(url: str) -> None:
    """Refuse, without echoing it, a ``postgresql:`` URL that libpq would misread (and quote in its errors)."""
    found = _PG_URL.match(url)
    if not found:
        return  # a keyword DSN (host=… password=…): libpq parses it, messages are redacted
    if found.group(2) != "//":
        raise ElectioError("URL PostgreSQL mal formée (adresse masquée) : écrivez postgresql://utilisateur:motdepasse@hôte:port/base, "
                           "avec deux barres obliques après « postgresql: »")
    password = url_password(url) or ""
    if "@" in password or any(c.isspace() for c in password) or _BAD_ESCAPE.search(password):
        raise ElectioError("le mot de passe de l'URL PostgreSQL (masqué) contient « @ », une espace ou un « % » non suivi de deux "
                           "chiffres hexadécimaux : encodez ces caractères (%40, %20, %25) ou passez l'URL par ELECTIO_PG_URL / .env")


def _password(url: str) -> str | None:
    """The password embedded in a URL or keyword DSN, if any."""
    try:
        return conninfo_to_dict(url).get("password") or None
    except psycopg.ProgrammingError:
        return None


def _secrets(url: str) -> list[str]:
    """Every form a password of ``url`` may take in a message: as written, decoded, as libpq read it, and its pieces."""
    written, read = url_password(url), _password(url)
    whole = {written, unquote(written)} if written else set()
    if read and (not written or read == unquote(written)):
        whole.add(read)  # a libpq reading that differs is a fragment of the written one: covered by the pieces
    pieces = {piece for password in whole | {read or ""} for piece in re.split(r"[@\s]+", password) if len(piece) >= 2}
    return sorted(whole | pieces, key=len, reverse=True)


def redact(text: str, url: str | None = None) -> str:
    """``text`` with every password (in URLs, ``password=`` pairs, or ``url``'s own, in any form) masked."""
    for secret in _secrets(url) if url else []:
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***\3", text)
    return _KEYWORD_PASSWORD.sub(r"\1***", text)


# ─── DDL ─────────────────────────────────────────────────────────────────────────────────

def ddl_scripts() -> list[tuple[str, str]]:
    """(file name, text) of the DDL files that exist, in :data:`DDL_FILES` order."""
    folder = resources.files("electio.warehouse")
    return [(name, folder.joinpath(name).read_text(encoding="utf-8")) for name in DDL_FILES if folder.joinpath(name).is_file()]


def ddl_tables(ddl: str) -> list[str]:
    """Tables created by a DDL text, in creation (foreign-key) order."""
    return [name.lower() for name in _CREATE_TABLE.findall(ddl)]


def staging_schema(schema: str) -> str:
    """Name of the staging schema of a load into ``schema`` (checked identifiers only)."""
    staging = f"{schema}_staging_{os.getpid()}"
    if not _IDENTIFIER.match(schema) or not _IDENTIFIER.match(staging):
        raise ElectioError(f"nom de schéma PostgreSQL invalide : {schema!r} (minuscules, chiffres et _, 40 caractères environ au plus)")
    return staging


# ─── DuckDB side ─────────────────────────────────────────────────────────────────────────

def duckdb_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Base tables of the DuckDB warehouse."""
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def _duck_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def duckdb_counts(duckdb_path: Path) -> dict[str, int]:
    """Row count of every table of the DuckDB warehouse."""
    with connect(duckdb_path) as con:
        return {t: _duck_count(con, t) for t in duckdb_tables(con)}


# ─── PostgreSQL side ─────────────────────────────────────────────────────────────────────

def _pg_columns(cur: psycopg.Cursor, schema: str, table: str) -> list[str]:
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        [schema, table],
    )
    return [r[0] for r in cur.fetchall()]


def _copy_table(duck: duckdb.DuckDBPyConnection, cur: psycopg.Cursor, schema: str, table: str) -> None:
    """Stream one table from DuckDB into PostgreSQL with COPY (CSV batches built by Arrow)."""
    columns = _pg_columns(cur, schema, table)
    missing = sorted(set(columns) - set(table_columns(duck, table)))
    if missing:
        raise ElectioError(f"table {table} : colonnes absentes de l'entrepôt DuckDB {missing} (entrepôt à reconstruire)")
    select = ", ".join(f'"{c}"' for c in columns)
    batches = duck.sql(f'SELECT {select} FROM "{table}"').to_arrow_reader(BATCH_ROWS)
    copy_sql = sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    options = pacsv.WriteOptions(include_header=False)
    with cur.copy(copy_sql) as copy:
        for batch in batches:
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getvalue())


def _pg_count(cur: psycopg.Cursor, schema: str, table: str) -> int:
    cur.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
    return cur.fetchone()[0]


def _index_columns(cur: psycopg.Cursor, schema: str, table: str) -> list[str]:
    """Dashboard keys and single-column foreign keys of a table not already leading an index."""
    relation = f"{schema}.{table}"
    cur.execute(
        "SELECT a.attname FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
        "WHERE k.conrelid = %s::regclass AND k.contype = 'f' AND cardinality(k.conkey) = 1",
        [relation],
    )
    wanted = {r[0] for r in cur.fetchall()} | (set(DASHBOARD_KEYS) & set(_pg_columns(cur, schema, table)))
    cur.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = %s::regclass",
        [relation],
    )
    return sorted(wanted - {r[0] for r in cur.fetchall()})


def _create_indexes(cur: psycopg.Cursor, schema: str, tables: Iterable[str]) -> None:
    for table in tables:
        for column in _index_columns(cur, schema, table):
            cur.execute(sql.SQL("CREATE INDEX {} ON {}.{} ({})").format(
                sql.Identifier(f"ix_{table}_{column}"[:63]), sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column)
            ))
        cur.execute(sql.SQL("ANALYZE {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))


def _detach_foreign_keys(cur: psycopg.Cursor, schema: str) -> list[tuple[str, str, str]]:
    """Drop the foreign keys of ``schema`` (table, name, definition), to re-add them after COPY."""
    cur.execute(
        "SELECT t.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
        "JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = %s AND k.contype = 'f' ORDER BY k.oid",
        [schema],
    )
    keys = cur.fetchall()
    for table, name, _ in keys:
        cur.execute(sql.SQL("ALTER TABLE {}.{} DROP CONSTRAINT {}").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Identifier(name)
        ))
    return keys


def _attach_foreign_keys(cur: psycopg.Cursor, schema: str, keys: list[tuple[str, str, str]]) -> None:
    """Re-add foreign keys: each is checked in one pass over the loaded rows (ForeignKeyViolation)."""
    for table, name, definition in keys:
        cur.execute(sql.SQL("ALTER TABLE {}.{} ADD CONSTRAINT {} {}").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
        ))


def _ensure_reader(cur: psycopg.Cursor, schema: str) -> None:
    """Create the NOLOGIN read-only role if missing and grant it read access to ``schema``."""
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE])
    if cur.fetchone() is None:
        try:
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(READER_ROLE)))
        except psycopg.errors.InsufficientPrivilege:
            raise ElectioError(
                f"le rôle {READER_ROLE} n'existe pas et cet utilisateur ne peut pas le créer : "
                f"créez-le une fois (CREATE ROLE {READER_ROLE} NOLOGIN) ou accordez CREATEROLE"
            ) from None
    reader, target = sql.Identifier(READER_ROLE), sql.Identifier(schema)
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(target, reader))
    cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(target, reader))


def _build_staging(cur: psycopg.Cursor, duck: duckdb.DuckDBPyConnection, staging: str) -> dict[str, int]:
    """Create the DDL in ``staging``, copy the tables DuckDB has, index them; rows per table.

    Foreign keys are dropped during COPY and re-added afterwards: the same constraints, checked
    in bulk rather than row by row (several times faster on the France-wide fact tables).
    """
    cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staging)))
    cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(staging)))
    tables: list[str] = []
    for _, ddl in ddl_scripts():
        cur.execute(ddl)
        tables += ddl_tables(ddl)
    cur.execute(BI_VIEWS)
    present = set(duckdb_tables(duck))
    copied = [t for t in tables if t in present]
    foreign_keys = _detach_foreign_keys(cur, staging)
    for table in copied:
        _copy_table(duck, cur, staging, table)
    _attach_foreign_keys(cur, staging, foreign_keys)
    _create_indexes(cur, staging, tables)
    _ensure_reader(cur, staging)
    return {t: _pg_count(cur, staging, t) for t in copied}


def _check_counts(loaded: dict[str, int], expected: dict[str, int]) -> None:
    wrong = {t: (expected[t], n) for t, n in loaded.items() if expected[t] != n}
    if wrong:
        raise ElectioError(f"nombres de lignes différents (DuckDB, PostgreSQL) : {wrong}")


def load_to_postgres(duckdb_path: Path, url: str, schema: str = "electio") -> dict[str, int]:
    """Copy the warehouse into ``schema`` atomically; rows per copied table, in load order.

    Only tables present both in the DuckDB file and in the DDL files are copied. The previous
    ``schema`` is dropped (CASCADE) and replaced only if every step succeeded.
    """
    staging = staging_schema(schema)
    with connect(duckdb_path) as duck, psycopg.connect(url, connect_timeout=15, application_name="electio load") as conn:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"electio load {schema}"])
            counts = _build_staging(cur, duck, staging)
            _check_counts(counts, {t: _duck_count(duck, t) for t in counts})
            cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            cur.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(schema)))
    return counts
