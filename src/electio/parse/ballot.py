"""Output type of the election parsers and the helpers every layout shares.

Reading (gzip or plain, UTF-8, 1-based line numbers), column checks, vote-count
conversion, Ministry → INSEE commune codes, and the aggregation of counting units
(communes, bureaux, circonscription parts) to one row per commune.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from electio.errors import InputError

LINE = "ligne_source"
CODE = "code_commune_source"
LIBELLE = "libelle_commune"
#: Optional participation column of multi-file sources (archives): where each commune was read.
LOCATION = "emplacement_source"
#: Optional column of the units and votes of bureau-level files: the bureau de vote code.
BUREAU = "bureau"
COUNT_COLUMNS: tuple[str, ...] = ("inscrits", "votants", "blancs", "nuls", "exprimes")
PARTICIPATION_COLUMNS: tuple[str, ...] = (CODE, LIBELLE, *COUNT_COLUMNS, LINE)
VOTE_KEYS: tuple[str, ...] = (CODE, "candidat", "prenom", "nuance")
VOIX_COLUMNS: tuple[str, ...] = (*VOTE_KEYS, "voix")

GZIP_MAGIC = b"\x1f\x8b"
_COUNT_PATTERN = r"[0-9]{1,15}"
_NEGATIVE_PATTERN = re.compile(r"-\s*[0-9]+(?:[.,][0-9]*)?")
_INSEE_PATTERN = r"[0-9]{5}|2[AB][0-9]{3}"

#: Ministry overseas département codes → INSEE département code. The 3-digit codes that
#: euro2014 already uses map to themselves. INSEE commune code = this code + the last two
#: digits of the Ministry's 3-digit commune number: ZA 101 → 97101, ZC 362 → 97362,
#: ZM 501 (2017 files) or 601 (2019) → 97601, ZP 011 (2017) or 711 (2019) → 98711,
#: ZN 801 → 98801, ZS 501 → 97501. Wallis-et-Futuna (ZW 001) is reported as one unit,
#: which has no INSEE commune code (its circonscriptions are 98611-98613): it becomes 98601.
OVERSEAS_DEPARTEMENTS: dict[str, str] = {
    "ZA": "971",  # Guadeloupe
    "ZB": "972",  # Martinique
    "ZC": "973",  # Guyane
    "ZD": "974",  # La Réunion
    "ZS": "975",  # Saint-Pierre-et-Miquelon
    "ZM": "976",  # Mayotte
    "ZW": "986",  # Wallis-et-Futuna
    "ZP": "987",  # Polynésie française
    "ZN": "988",  # Nouvelle-Calédonie
}
OVERSEAS_DEPARTEMENTS.update({code: code for code in list(OVERSEAS_DEPARTEMENTS.values())})
#: Saint-Barthélemy and Saint-Martin share one Ministry code (ZX, 977 in 2014); the commune
#: number carries the collectivity: INSEE = "97" + number (701 → 97701, 801 → 97801).
SAINT_BARTH_MARTIN: frozenset[str] = frozenset({"ZX", "977"})
#: Français de l'étranger: kept as "ZZ" + the 3-digit number; the geography step maps them.
ABROAD = "ZZ"


@dataclass(frozen=True)
class ParsedBallot:
    """One ballot at commune level: participation and votes per candidate or list.

    Bureau-level sources also keep their bureaux (``bureaux``: ``CODE``, ``BUREAU`` and the
    counts; ``voix_bureaux``: ``VOIX_COLUMNS`` plus ``BUREAU``) for the units of analysis
    below the commune (arrondissements municipaux); None for commune-level sources.
    """

    scrutin_id: str
    participation: pd.DataFrame
    voix: pd.DataFrame
    bureaux: pd.DataFrame | None = None
    voix_bureaux: pd.DataFrame | None = None


def read_bytes(path: Path) -> bytes:
    """Content of ``path``, decompressed when it is gzip (by suffix or magic bytes)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, f"fichier illisible ({exc.strerror})") from exc
    if Path(path).suffix == ".gz" or raw.startswith(GZIP_MAGIC):
        try:
            return gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(path, f"archive gzip tronquée ou corrompue ({exc})") from exc
    return raw


def decode_utf8(path: Path, raw: bytes) -> str:
    """``raw`` decoded as UTF-8 (a BOM is dropped); the error names the first bad line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            path, f"contenu non décodable en UTF-8 (octet 0x{raw[exc.start]:02x})", line=line
        ) from exc


def read_table(path: Path, sep: str) -> pd.DataFrame:
    """Every field of a delimited file as ``str``, plus ``LINE``: where each record starts."""
    text = decode_utf8(path, read_bytes(path))
    if not text.strip():
        raise InputError(path, "fichier vide")
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, na_filter=False)
    except pd.errors.ParserError as exc:
        line = _first_malformed_line(text, sep)
        raise InputError(path, "ligne mal formée (nombre de champs inattendu)", line=line) from exc
    if table.empty:
        raise InputError(path, "aucune ligne de données après l'en-tête")
    table.columns = [str(column).strip() for column in table.columns]
    table[LINE] = _record_lines(path, text, sep, len(table))
    return table


def _records(text: str, sep: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records of ``text`` with the 1-based line where each starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    previous = 0
    for row in reader:
        if row:
            yield previous + 1, row
        previous = reader.line_num


def _record_lines(path: Path, text: str, sep: str, n_records: int) -> np.ndarray:
    """1-based line where each data record starts (header = line 1)."""
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    if physical == n_records + 1:  # no blank line, no quoted line break: one record per line
        return np.arange(2, n_records + 2, dtype="int64")
    starts = [line for line, _ in _records(text, sep)]
    if len(starts) != n_records + 1:
        raise InputError(path, "structure CSV incohérente (lignes impossibles à localiser)")
    return np.asarray(starts[1:], dtype="int64")


def _first_malformed_line(text: str, sep: str) -> int | None:
    """Line of the first record whose field count differs from the header's."""
    records = _records(text, sep)
    _, header = next(records)
    return next((line for line, row in records if len(row) != len(header)), None)


def require_columns(table: pd.DataFrame, path: Path, columns: Iterable[str]) -> None:
    """Raise when one of ``columns`` is missing from the header, naming them all."""
    absent = [column for column in columns if column not in table.columns]
    if absent:
        names = ", ".join(f"« {column} »" for column in absent)
        raise InputError(path, f"colonne(s) obligatoire(s) absente(s) : {names}")


def reject_rows(
    table: pd.DataFrame,
    path: Path,
    mask: pd.Series | np.ndarray,
    message: str | Callable[[pd.Series], str],
) -> None:
    """Raise at the line of the first row of ``table`` selected by ``mask``, if any.

    ``message`` is the French text, or a function building it from that row.
    """
    selected = np.flatnonzero(np.asarray(mask, dtype=bool))
    if selected.size:
        row = table.iloc[int(selected[0])]
        text = message(row) if callable(message) else message
        raise InputError(path, text, line=int(row[LINE]))


def to_int(table: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """``column`` as non-negative ``Int64``; the error gives the first bad value's line."""
    values = table[column].str.strip()
    valid = values.str.fullmatch(_COUNT_PATTERN).to_numpy(dtype=bool)
    reject_rows(table, path, ~valid, lambda row: _bad_count_message(column, row[column].strip()))
    return values.astype("int64").astype("Int64")


def _bad_count_message(column: str, value: str) -> str:
    """French message for a vote count that is missing, negative or not an integer."""
    if value == "":
        return f"valeur manquante dans la colonne « {column} »"
    if _NEGATIVE_PATTERN.fullmatch(value):
        return f"valeur négative « {value} » dans la colonne « {column} »"
    return f"valeur non numérique « {value} » dans la colonne « {column} » (entier attendu)"


def reject_blank(table: pd.DataFrame, path: Path, values: pd.Series, column: str) -> None:
    """Raise at the first empty value of a required text column (``values``, stripped)."""
    reject_rows(table, path, values == "", f"valeur manquante dans la colonne « {column} »")


def reject_duplicates(table: pd.DataFrame, path: Path, keys: Sequence[str]) -> None:
    """Raise on the first row repeating an earlier row's ``keys`` (one counting unit)."""

    def message(row: pd.Series) -> str:
        unit = ", ".join(f"{key} = {row[key]}" for key in keys)
        return f"unité de vote en double ({unit})"

    reject_rows(table, path, table.duplicated(list(keys)), message)


def insee_commune(departement: str, commune: str) -> str | None:
    """INSEE-form commune code from Ministry codes, or None when they are not valid."""
    departement, commune = departement.strip(), commune.strip()
    if not re.fullmatch(r"[0-9]{1,3}", commune):
        return None
    number = commune.zfill(3)
    if re.fullmatch(r"[0-9]", departement):
        departement = "0" + departement
    if re.fullmatch(r"[0-9]{2}|2[AB]", departement) or departement == ABROAD:
        return departement + number
    if departement in SAINT_BARTH_MARTIN:
        return "97" + number if number[0] in "78" else None
    if departement in OVERSEAS_DEPARTEMENTS:
        return OVERSEAS_DEPARTEMENTS[departement] + number[1:]
    return None


def commune_codes(table: pd.DataFrame, path: Path, departement: str, commune: str) -> pd.Series:
    """INSEE-form codes of two Ministry columns; raises on invalid or clashing codes."""
    pairs = table[departement].str.strip() + "|" + table[commune].str.strip()
    mapping = {pair: insee_commune(*pair.split("|", 1)) for pair in pairs.unique()}
    codes = pairs.map(mapping)
    reject_rows(
        table,
        path,
        codes.isna(),
        lambda row: "code commune invalide "
        f"(département « {row[departement]} », commune « {row[commune]} »)",
    )
    sources = pd.Series(list(mapping.keys()), index=list(mapping.values()))
    clashing = sources.index.duplicated()
    if clashing.any():
        code = sources.index[clashing][0]
        found = " et ".join(sources.loc[code].str.replace("|", " ", regex=False))
        raise InputError(path, f"codes commune {found} convertis tous deux en {code}")
    return codes.astype("str")


def check_insee_codes(table: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """``column`` when every value is a 5-character INSEE commune code; else InputError."""
    codes = table[column].str.strip()
    reject_rows(
        table,
        path,
        ~codes.str.fullmatch(_INSEE_PATTERN).to_numpy(dtype=bool),
        lambda row: f"code commune INSEE invalide « {row[column]} » (colonne « {column} »)",
    )
    return codes


def missing(index: pd.Index, dtype: str) -> pd.Series:
    """A column of missing values: text (``"str"``) or counts (``"Int64"``)."""
    return pd.Series(pd.NA, index=index, dtype=dtype)


def optional_text(values: pd.Series) -> pd.Series:
    """Stripped strings, empty ones as missing."""
    stripped = values.astype("str").str.strip()
    return stripped.where(stripped != "")


def assemble(scrutin_id: str, units: pd.DataFrame, votes: pd.DataFrame) -> ParsedBallot:
    """Sum counting units and their votes to one row per commune, in the output contract.

    ``units`` holds one row per counting unit (commune, bureau or circonscription part)
    with ``PARTICIPATION_COLUMNS``; ``votes`` one row per unit and candidate with
    ``VOIX_COLUMNS`` plus ``LINE``. A count column that is entirely missing (not split by
    the source) stays missing.
    """
    units = units.sort_values(LINE, kind="stable")
    grouped = units.groupby(CODE, sort=False)
    participation = grouped.agg(**{LIBELLE: (LIBELLE, "first"), LINE: (LINE, "min")})
    for column in COUNT_COLUMNS:
        if units[column].isna().all():
            participation[column] = missing(participation.index, "Int64")
        else:
            participation[column] = grouped[column].sum().astype("Int64")
    participation = participation.reset_index()[list(PARTICIPATION_COLUMNS)]
    participation[CODE] = participation[CODE].astype("str")
    participation[LIBELLE] = participation[LIBELLE].astype("str")
    participation[LINE] = participation[LINE].astype("int64")
    participation = participation.reset_index(drop=True)
    if BUREAU in units.columns and BUREAU in votes.columns:
        bureaux = units[[CODE, BUREAU, *COUNT_COLUMNS]].astype({CODE: "str", BUREAU: "str"}).reset_index(drop=True)
        return ParsedBallot(scrutin_id, participation, _sum_votes(votes, participation), bureaux, _bureau_votes(votes))
    return ParsedBallot(scrutin_id, participation, _sum_votes(votes, participation))


def _bureau_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """Votes per (bureau, candidate), typed like :func:`_sum_votes`'s."""
    keys = [*VOTE_KEYS, BUREAU]
    summed = votes.groupby(keys, sort=False, dropna=False)["voix"].sum().reset_index()
    for column in keys:
        summed[column] = summed[column].astype("str")
    summed["voix"] = summed["voix"].astype("Int64")
    return summed[[*VOIX_COLUMNS, BUREAU]]


def _sum_votes(votes: pd.DataFrame, participation: pd.DataFrame) -> pd.DataFrame:
    """Votes summed per (commune, candidate), ordered like the communes then the source."""
    votes = votes.sort_values(LINE, kind="stable")
    summed = votes.groupby(list(VOTE_KEYS), sort=False, dropna=False)["voix"].sum().reset_index()
    order = pd.Series(np.arange(len(participation)), index=participation[CODE])
    summed = summed.iloc[np.argsort(order.loc[summed[CODE]].to_numpy(), kind="stable")]
    for column in VOTE_KEYS:
        summed[column] = summed[column].astype("str")
    summed["voix"] = summed["voix"].astype("Int64")
    return summed[list(VOIX_COLUMNS)].reset_index(drop=True)


def check_votes_match_exprimes(ballot: ParsedBallot, path: Path) -> None:
    """Raise when a commune's summed votes differ from its exprimés."""
    votes = ballot.voix.groupby(CODE, sort=False)["voix"].sum()
    participation = ballot.participation.set_index(CODE)
    gap = votes.reindex(participation.index).fillna(0) != participation["exprimes"]
    if gap.any():
        code = gap[gap].index[0]
        raise InputError(
            path,
            f"commune {code} : somme des voix ({votes.get(code, 0)}) "
            f"différente des exprimés ({participation.at[code, 'exprimes']})",
            line=int(participation.at[code, LINE]),
        )
