"""Ministry of the Interior layouts with repeated candidate blocks (``Nom_i``, ``Voix_i`` …).

Commune level (pres2012, pres2022 T2) or bureau level when ``Code du b.vote`` is present
(pres2022 T1, summed to communes). The number of blocks is read from the ``Voix_i``
headers; columns outside the fixed set and the blocks (provenance columns) are ignored.
Blancs and nuls stay missing when the file only has ``Blancs et nuls`` (2012).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.ballot import BUREAU as BUREAU_COLUMN
from electio.parse.ballot import (
    CODE,
    LIBELLE,
    LINE,
    ParsedBallot,
    assemble,
    commune_codes,
    missing,
    optional_text,
    read_table,
    reject_blank,
    reject_duplicates,
    require_columns,
    to_int,
)

SEPARATOR = ";"
DEPARTEMENT = "Code du département"
COMMUNE = "Code de la commune"
BUREAU = "Code du b.vote"
#: Source header → output column, for the columns every file must have.
REQUIRED_COUNTS: dict[str, str] = {
    "Inscrits": "inscrits",
    "Votants": "votants",
    "Exprimés": "exprimes",
}
SPLIT_BLANKS: dict[str, str] = {"Blancs": "blancs", "Nuls": "nuls"}
UNSPLIT_BLANKS = "Blancs et nuls"
REQUIRED_TEXT: tuple[str, ...] = (DEPARTEMENT, COMMUNE, "Libellé de la commune")
_VOTES_HEADER = re.compile(r"Voix_(\d+)")


def parse_blocks(path: Path, scrutin_id: str) -> ParsedBallot:
    """Parse a Ministry file with candidate blocks; candidat = ``Nom_i``, prenom = ``Prénom_i``."""
    table = read_table(path, SEPARATOR)
    require_columns(table, path, (*REQUIRED_TEXT, *REQUIRED_COUNTS))
    blocks = _block_numbers(table, path)
    keys = [DEPARTEMENT, COMMUNE, *([BUREAU] if BUREAU in table.columns else [])]
    reject_duplicates(table, path, keys)
    units = _units(table, path)
    votes = pd.concat([_block_votes(table, path, units[CODE], i) for i in blocks])
    if BUREAU in table.columns:  # bureau file: keep the bureaux for the units below the commune
        units[BUREAU_COLUMN] = table[BUREAU].str.strip()
        votes[BUREAU_COLUMN] = units[BUREAU_COLUMN].loc[votes.index].to_numpy()
    return assemble(scrutin_id, units, votes)


def _block_numbers(table: pd.DataFrame, path: Path) -> list[int]:
    """Numbers ``i`` of the candidate blocks, each with its ``Nom_i`` column."""
    found = (_VOTES_HEADER.fullmatch(column) for column in table.columns)
    numbers = sorted(int(match.group(1)) for match in found if match)
    if not numbers:
        raise InputError(path, "aucun bloc de candidat (colonnes « Voix_1 », « Voix_2 » …)")
    require_columns(table, path, [f"Nom_{i}" for i in numbers])
    return numbers


def _units(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Participation of each row (commune or bureau)."""
    units = pd.DataFrame(
        {
            CODE: commune_codes(table, path, DEPARTEMENT, COMMUNE),
            LIBELLE: table["Libellé de la commune"].str.strip(),
            LINE: table[LINE],
        }
    )
    for source, column in REQUIRED_COUNTS.items():
        units[column] = to_int(table, path, source)
    if UNSPLIT_BLANKS in table.columns and not set(SPLIT_BLANKS) <= set(table.columns):
        for column in SPLIT_BLANKS.values():
            units[column] = missing(units.index, "Int64")
    else:
        require_columns(table, path, SPLIT_BLANKS)
        for source, column in SPLIT_BLANKS.items():
            units[column] = to_int(table, path, source)
    return units


def _block_votes(table: pd.DataFrame, path: Path, codes: pd.Series, number: int) -> pd.DataFrame:
    """Votes of block ``number``; a block left empty (no name, no votes) is no candidate."""
    name = table[f"Nom_{number}"].str.strip()
    votes_column = f"Voix_{number}"
    present = ((name != "") | (table[votes_column].str.strip() != "")).to_numpy(dtype=bool)
    block = table.loc[present]
    name = name[present]
    reject_blank(block, path, name, f"Nom_{number}")
    first_name = f"Prénom_{number}"
    return pd.DataFrame(
        {
            CODE: codes[present],
            "candidat": name,
            "prenom": optional_text(block[first_name])
            if first_name in block.columns
            else missing(block.index, "str"),
            "nuance": missing(block.index, "str"),
            "voix": to_int(block, path, votes_column),
            LINE: block[LINE],
        }
    )
