"""Shared helpers of the indicator parsers: the long output frame, code and number checks.

Every indicator parser returns :data:`COLUMNS`, in this order and with these dtypes:
``code_commune_source`` (str, INSEE code as in the file), ``cog_annee`` (Int64),
``indicateur`` (str, a code of ``referentials/indicateurs.csv``), ``annee`` (Int64),
``valeur`` (Float64), ``qualite`` (one of :data:`QUALITES`), ``ligne_source`` (Int64).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import pandas as pd

from electio.errors import InputError

COLUMNS = [
    "code_commune_source",
    "cog_annee",
    "indicateur",
    "annee",
    "valeur",
    "qualite",
    "ligne_source",
]
OK, DERIVE, NON_PUBLIE, SECRET = "ok", "derive", "non_publie", "secret"
QUALITES = (OK, DERIVE, NON_PUBLIE, SECRET)
"""Quality flags, from best to worst (the order is used when parts are merged)."""

INSEE_SECRET_TOKENS = frozenset({"", "s", "nd"})
"""INSEE cells that mean "secret statistique / non disponible": NA flagged ``secret``."""

COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
ARRONDISSEMENT_PARENTS = {"751": "75056", "693": "69123", "132": "13055"}
_ARRONDISSEMENT = re.compile(r"^(?:751(?:0[1-9]|1\d|20)|6938[1-9]|132(?:0[1-9]|1[0-6]))$")
_DTYPES = {
    "code_commune_source": "str",
    "cog_annee": "Int64",
    "indicateur": "str",
    "annee": "Int64",
    "valeur": "Float64",
    "qualite": "str",
    "ligne_source": "Int64",
}


def is_arrondissement(codes: pd.Series) -> pd.Series:
    """True for arrondissements municipaux of Paris (751xx), Lyon (6938x), Marseille (132xx)."""
    return codes.str.match(_ARRONDISSEMENT)


def parent_commune(codes: pd.Series) -> pd.Series:
    """Commune code of each code: arrondissements municipaux go to Paris, Lyon or Marseille."""
    parents = codes.str[:3].map(ARRONDISSEMENT_PARENTS)
    return codes.where(~is_arrondissement(codes), parents)


def finalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Order, type and sort a long indicator frame (also accepts an empty frame)."""
    out = frame.reindex(columns=COLUMNS).astype(_DTYPES)
    bad = ~out["qualite"].isin(QUALITES)
    if bad.any():
        raise ValueError(f"qualité inconnue : {sorted(out.loc[bad, 'qualite'].unique())}")
    out = out.sort_values(["indicateur", "annee", "code_commune_source"], kind="stable")
    return out.reset_index(drop=True)


def read_text_table(
    path: Path, data: bytes | None = None, *, sep: str, encoding: str = "utf-8-sig"
) -> pd.DataFrame:
    """Read a delimited text file as strings; ``_ligne`` holds each row's line number (header = 1)."""
    raw = path.read_bytes() if data is None else data
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(path, f"encodage inattendu (attendu : {encoding}) : {exc}") from exc
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise InputError(path, f"ligne mal formée : {exc}", line=int(line.group(1)) if line else None) from exc
    frame.columns = [c.strip() for c in frame.columns]
    frame["_ligne"] = range(2, len(frame) + 2)
    return frame


def read_excel_sheet(path: Path, sheet: str, *, code_row: int) -> pd.DataFrame:
    """One sheet of an INSEE xlsx file as strings, columns named by the row of variable codes.

    ``code_row`` is the 1-based Excel row holding the codes (``CODGEO``...); data start on the
    next row. ``_ligne`` holds each data row's Excel row number. Needs ``openpyxl``.
    """
    try:
        raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=str, engine="openpyxl")
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(path, f"classeur illisible ou feuille « {sheet} » absente : {exc}") from exc
    if len(raw) < code_row:
        raise InputError(path, f"feuille « {sheet} » : ligne des codes {code_row} absente", line=code_row)
    frame = raw.iloc[code_row:].copy()
    frame.columns = [str(c).strip() for c in raw.iloc[code_row - 1]]
    frame = frame.fillna("").astype(str)
    frame["_ligne"] = range(code_row + 1, code_row + 1 + len(frame))
    return frame.reset_index(drop=True)


def drop_empty_rows(frame: pd.DataFrame, line_column: str = "_ligne") -> pd.DataFrame:
    """Drop rows whose every cell is empty (trailing ``;;;;`` lines of some INSEE exports)."""
    cells = frame.drop(columns=line_column).astype(str).apply(lambda c: c.str.strip())
    return frame[cells.ne("").any(axis=1)]


def read_parquet(path: Path) -> pd.DataFrame:
    """Parquet file as a frame with ``_ligne`` (1-based row number), or an InputError."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"parquet illisible : {exc}") from exc
    return frame.assign(_ligne=range(1, len(frame) + 1))


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    """Raise an InputError naming the file when expected columns are missing."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(path, f"colonnes attendues absentes : {', '.join(missing)}", line=1)


def keep_communes(
    frame: pd.DataFrame,
    code_column: str,
    path: Path,
    *,
    aggregate: re.Pattern[str] | None = None,
    line_column: str = "_ligne",
) -> pd.DataFrame:
    """Keep commune rows; drop rows whose code matches ``aggregate``; any other bad code is an error."""
    codes = frame[code_column].astype(str).str.strip()
    frame = frame.assign(**{code_column: codes})
    if aggregate is not None:
        frame = frame[~codes.str.match(aggregate)]
        codes = frame[code_column]
    bad = ~codes.str.match(COMMUNE_CODE)
    if bad.any():
        first = frame[bad].iloc[0]
        line = first.get(line_column)
        line = None if line is None or pd.isna(line) else int(line)
        raise InputError(
            path,
            f"code commune invalide « {first[code_column]} » (5 caractères attendus)",
            line=line,
        )
    return frame


def parse_numbers(
    values: pd.Series,
    lines: pd.Series,
    path: Path,
    column: str,
    *,
    decimal_comma: bool = False,
    secret_tokens: frozenset[str] = INSEE_SECRET_TOKENS,
) -> tuple[pd.Series, pd.Series]:
    """Parse text cells into (Float64 values, qualite): secret tokens give NA + ``secret``.

    Any other non-numeric cell raises an InputError naming the file, the column and the line.
    """
    text = values.astype(str).str.strip()
    secret = text.isin(secret_tokens)
    cleaned = text.str.replace(",", ".", regex=False) if decimal_comma else text
    numbers = pd.to_numeric(cleaned.where(~secret), errors="coerce")
    bad = numbers.isna() & ~secret
    if bad.any():
        position = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            path,
            f"valeur non numérique « {text.iloc[position]} » dans la colonne {column}",
            line=int(lines.iloc[position]),
        )
    qualite = pd.Series(OK, index=values.index, dtype="str").where(~secret, SECRET)
    return numbers.astype("Float64"), qualite


def wide_to_long(
    frame: pd.DataFrame,
    path: Path,
    *,
    code_column: str,
    columns: Mapping[str, tuple[str, int]],
    cog_annee: int | None,
    decimal_comma: bool = False,
    secret_tokens: frozenset[str] = INSEE_SECRET_TOKENS,
    line_column: str = "_ligne",
) -> pd.DataFrame:
    """Turn a wide commune table into the long frame: ``columns`` maps a source column to (indicateur, annee)."""
    require_columns(frame, [code_column, *columns], path)
    parts = []
    for column, (indicateur, annee) in columns.items():
        valeur, qualite = parse_numbers(
            frame[column],
            frame[line_column],
            path,
            column,
            decimal_comma=decimal_comma,
            secret_tokens=secret_tokens,
        )
        parts.append(
            pd.DataFrame(
                {
                    "code_commune_source": frame[code_column],
                    "cog_annee": cog_annee,
                    "indicateur": indicateur,
                    "annee": annee,
                    "valeur": valeur,
                    "qualite": qualite,
                    "ligne_source": frame[line_column],
                }
            )
        )
    return finalize(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame())


_COLLECTED: ContextVar[list[pd.DataFrame] | None] = ContextVar("arrondissement_rows", default=None)


@contextmanager
def collecting_arrondissements() -> Iterator[list[pd.DataFrame]]:
    """Collect the arrondissement rows that the parsers called inside the block take out of their
    commune frames (:func:`drop_arrondissements`, :func:`sum_arrondissements`, IRIS aggregates):
    the indicators of the units of analysis below the commune (docs/units.md)."""
    rows: list[pd.DataFrame] = []
    token = _COLLECTED.set(rows)
    try:
        yield rows
    finally:
        _COLLECTED.reset(token)


def collecting() -> bool:
    """Whether a :func:`collecting_arrondissements` block is active."""
    return _COLLECTED.get() is not None


def keep_arrondissement_rows(frame: pd.DataFrame) -> None:
    """Hand the arrondissement rows of a long frame to :func:`collecting_arrondissements`, if active."""
    rows = _COLLECTED.get()
    if rows is not None:
        own = frame[is_arrondissement(frame["code_commune_source"].astype(str))]
        if not own.empty:
            rows.append(finalize(own))


def drop_arrondissements(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop arrondissement rows of a long frame (their values are inside Paris, Lyon, Marseille).

    Use it only for files that also carry the parent commune's own row.
    """
    keep_arrondissement_rows(frame)
    return frame[~is_arrondissement(frame["code_commune_source"])].reset_index(drop=True)


def sum_arrondissements(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace arrondissement rows of a long frame of counts by their sum on the parent commune.

    For files (e.g. URSSAF) that give Paris, Lyon, Marseille mainly by arrondissement. A row
    already on the parent code (URSSAF: a few salaried posts not assigned to an arrondissement)
    is added to the sum. A parent with a missing part gets NA with the worst flag; sums are
    flagged ``derive``.
    """
    arr = is_arrondissement(frame["code_commune_source"])
    if not arr.any():
        return frame
    keep_arrondissement_rows(frame)
    arr |= frame["code_commune_source"].isin(set(parent_commune(frame.loc[arr, "code_commune_source"])))
    parts = frame[arr].assign(code_commune_source=parent_commune(frame.loc[arr, "code_commune_source"]))
    keys = ["code_commune_source", "cog_annee", "indicateur", "annee"]
    rank = parts["qualite"].map({q: i for i, q in enumerate(QUALITES)})
    grouped = parts.assign(_rang=rank).groupby(keys, dropna=False)
    summed = grouped.agg(
        valeur=("valeur", lambda v: v.sum() if v.notna().all() else pd.NA),
        _rang=("_rang", "max"),
    ).reset_index()
    summed["qualite"] = summed["_rang"].map(lambda r: QUALITES[max(int(r), 1)])
    summed["ligne_source"] = pd.NA
    return finalize(pd.concat([frame[~arr], summed.drop(columns="_rang")], ignore_index=True))


def year_from_name(path: Path, pattern: str) -> int | None:
    """First 4-digit year captured by ``pattern`` in the file name, or None."""
    match = re.search(pattern, path.name, flags=re.IGNORECASE)
    return int(match.group(1)) if match else None
