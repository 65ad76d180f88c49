"""Ministry result files by département or circonscription: totals, not commune rows.

Every layout has fixed columns (département code, counts) then one block of columns per
candidate or nuance, as many blocks as the row needs. Output: one participation row per
département (circonscriptions summed) and its votes per candidate (présidentielle:
``candidat`` = surname as printed, e.g. ``LE PEN``) or per nuance (législatives:
``candidat`` = ``nuance`` = the Ministry code). Ministry overseas codes become INSEE codes
(ZA → 971 …); ``ZX`` (Saint-Martin/Saint-Barthélemy, one unit) and ``ZZ`` (abroad) stay.
Législatives second-round files hold only the circonscriptions that had a second round.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from electio.errors import InputError
from electio.parse.ballot import COUNT_COLUMNS, OVERSEAS_DEPARTEMENTS, decode_utf8, read_bytes

TERRITORY = "code_territoire"
LABEL = "libelle_territoire"
ROW = "ligne_source"
VOTE_COLUMNS: tuple[str, ...] = (TERRITORY, "candidat", "prenom", "nuance", "voix")
#: Source header → output column of the counts (same names in every layout).
COUNTS: dict[str, str] = {"Inscrits": "inscrits", "Votants": "votants", "Blancs": "blancs", "Nuls": "nuls", "Exprimés": "exprimes"}
DEPARTEMENT_HEADERS: tuple[str, ...] = ("Code du département", "Code département")
LABEL_HEADERS: tuple[str, ...] = ("Libellé du département", "Libellé département")
_DEPARTEMENT = re.compile(r"[0-9]{2,3}|2[AB]|Z[A-Z]")


@dataclass(frozen=True)
class ParsedTotals:
    """One ballot's totals by département: participation and votes per candidate or nuance."""

    scrutin_id: str
    participation: pd.DataFrame
    voix: pd.DataFrame


@dataclass(frozen=True)
class Layout:
    """Where a layout's candidate blocks start and what each block holds (offsets in the block)."""

    first_block: str
    size: int
    voix: int
    nuance: int | None = None
    nom: int | None = None
    prenom: int | None = None

    def key(self, block: Sequence[str]) -> tuple[str, str | None, str | None]:
        """(candidat, prenom, nuance) of one block: the surname when there is one, else the nuance."""
        nuance = block[self.nuance].strip() if self.nuance is not None else None
        prenom = block[self.prenom].strip() if self.prenom is not None and self.nuance is None else None
        candidat = block[self.nom].strip() if self.nom is not None and self.nuance is None else nuance
        return candidat or "", prenom or None, nuance or None


PRES2022 = Layout("Sexe", 6, voix=3, nom=1, prenom=2)
LEG2022_DEP = Layout("Code Nuance", 5, voix=1, nuance=0)
LEG2022_CIRCO = Layout("N°Panneau", 9, voix=5, nuance=4, nom=2, prenom=3)
LEG2024_DEP = Layout("Nuance candidat 1", 4, voix=1, nuance=0)
LEG2024_CIRCO = Layout("Numéro de panneau 1", 9, voix=5, nuance=1, nom=2, prenom=3)


def parse_pres2022(path: Path, scrutin_id: str) -> ParsedTotals:
    """Présidentielle 2022 by département (xlsx, first sheet); votes keyed by surname."""
    return _totals(path, scrutin_id, _xlsx_rows(path), (PRES2022,))


def parse_leg2022_t2(path: Path, scrutin_id: str) -> ParsedTotals:
    """Législatives 2022 T2 by département or circonscription (``;``, latin-1); keyed by nuance."""
    text = read_bytes(path).decode("latin-1")
    return _totals(path, scrutin_id, _text_rows(text), (LEG2022_CIRCO, LEG2022_DEP))


def parse_leg2024_t2(path: Path, scrutin_id: str) -> ParsedTotals:
    """Législatives 2024 T2 by département or circonscription (``;``, UTF-8); keyed by nuance."""
    text = decode_utf8(path, read_bytes(path))
    return _totals(path, scrutin_id, _text_rows(text), (LEG2024_CIRCO, LEG2024_DEP))


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet; empty cells as ""."""
    import openpyxl  # only these files need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors on a bad file
        raise InputError(path, f"classeur xlsx illisible ({exc})") from exc
    try:
        for number, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, ["" if cell is None else _cell_text(cell) for cell in row]
    finally:
        book.close()


def _cell_text(cell: Any) -> str:
    """A cell as text: integral floats without their ``.0`` (counts stored as numbers or text)."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _text_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a ``;``-separated text with quoted fields."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    line = 1
    for row in reader:
        if any(field.strip() for field in row):
            yield line, row
        line = reader.line_num + 1


def _totals(path: Path, scrutin_id: str, rows: Iterator[tuple[int, list[str]]], layouts: Sequence[Layout]) -> ParsedTotals:
    """Parse header + rows with the first layout whose block header is present (most specific first)."""
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputError(path, "fichier vide") from None
    header = [name.strip() for name in header]
    layout = next((candidate for candidate in layouts if candidate.first_block in header), None)
    if layout is None:
        expected = " ou ".join(f"« {candidate.first_block} »" for candidate in layouts)
        raise InputError(path, f"en-tête inattendu : colonne {expected} absente")
    code_at, label_at = _column(path, header, DEPARTEMENT_HEADERS), _column(path, header, LABEL_HEADERS)
    count_at = {column: _column(path, header, (source,)) for source, column in COUNTS.items()}
    start = header.index(layout.first_block)
    units, votes = [], []
    for line, row in rows:
        code = _departement(path, line, row[code_at] if code_at < len(row) else "")
        unit = {TERRITORY: code, LABEL: row[label_at].strip(), ROW: line}
        unit.update({column: _count(path, line, row, at, column) for column, at in count_at.items()})
        units.append(unit)
        for offset in range(start, len(row) - layout.voix, layout.size):
            block = row[offset : offset + layout.size]
            candidat, prenom, nuance = layout.key(block + [""] * (layout.size - len(block)))
            if not candidat:
                if any(field.strip() for field in block):
                    raise InputError(path, f"bloc de candidat sans nom ni nuance (colonne {offset + 1})", line=line)
                continue
            voix = _count(path, line, row, offset + layout.voix, f"voix de {candidat}")
            votes.append({TERRITORY: code, "candidat": candidat, "prenom": prenom, "nuance": nuance, "voix": voix})
    if not units:
        raise InputError(path, "aucune ligne de données après l'en-tête")
    return ParsedTotals(scrutin_id, _by_departement(units), _votes_by_departement(votes))


def _column(path: Path, header: list[str], names: Sequence[str]) -> int:
    """Index of the first of ``names`` in the header; InputError when none is there."""
    for name in names:
        if name in header:
            return header.index(name)
    raise InputError(path, f"colonne obligatoire absente : « {names[0]} »")


def _departement(path: Path, line: int, value: str) -> str:
    """INSEE département code of a Ministry code (1 → 01, ZA → 971; ZX, ZZ kept)."""
    code = value.strip()
    code = "0" + code if re.fullmatch(r"[0-9]", code) else code
    if not _DEPARTEMENT.fullmatch(code):
        raise InputError(path, f"code département invalide « {value} »", line=line)
    return OVERSEAS_DEPARTEMENTS.get(code, code) if code.startswith("Z") else code


def _count(path: Path, line: int, row: list[str], at: int, column: str) -> int:
    """A non-negative integer cell; the error names the column and the line."""
    value = row[at].strip() if at < len(row) else ""
    if not re.fullmatch(r"[0-9]{1,15}", value):
        shown = f"« {value} »" if value else "vide"
        raise InputError(path, f"valeur {shown} invalide pour « {column} » (entier attendu)", line=line)
    return int(value)


def _by_departement(units: list[dict[str, Any]]) -> pd.DataFrame:
    """Participation summed per département (a circonscription file has several rows each)."""
    frame = pd.DataFrame(units)
    grouped = frame.groupby(TERRITORY, sort=False)
    summed = grouped[list(COUNT_COLUMNS)].sum().astype("Int64")
    first = grouped.agg(**{LABEL: (LABEL, "first"), ROW: (ROW, "min")})
    return first.join(summed).reset_index()[[TERRITORY, LABEL, *COUNT_COLUMNS, ROW]]


def _votes_by_departement(votes: list[dict[str, Any]]) -> pd.DataFrame:
    """Votes summed per (département, candidat, prenom, nuance)."""
    frame = pd.DataFrame(votes, columns=list(VOTE_COLUMNS))
    keys = [TERRITORY, "candidat", "prenom", "nuance"]
    summed = frame.groupby(keys, sort=False, dropna=False)["voix"].sum().reset_index()
    for column in ("candidat", "prenom", "nuance"):
        summed[column] = summed[column].astype("str").where(summed[column].notna())
    summed["voix"] = summed["voix"].astype("Int64")
    return summed[list(VOTE_COLUMNS)]
