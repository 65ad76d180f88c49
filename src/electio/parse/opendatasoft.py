"""Opendatasoft export of the municipales 2020 results: long, one row per bureau x list.

Each bureau's participation is repeated on every list row (it must be identical) and
counted once. Communes under 1,000 inhabitants vote for individual candidates, not lists
(empty ``Liste``, nuance ``NC``; votes may exceed exprimés): candidat = "NOM Prénom" there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.parse.ballot import (
    CODE,
    LIBELLE,
    LINE,
    ParsedBallot,
    assemble,
    check_insee_codes,
    missing,
    optional_text,
    read_table,
    reject_blank,
    reject_duplicates,
    reject_rows,
    require_columns,
    to_int,
)

SEPARATOR = ";"
COMMUNE = "Code Officiel Commune"
BUREAU = "Code B.Vote"
PANEL = "N.Pan."
#: Source header → output column of the bureau counts.
COUNTS: dict[str, str] = {
    "Inscrits": "inscrits",
    "Votants": "votants",
    "Blancs": "blancs",
    "Nuls": "nuls",
    "Exprimés": "exprimes",
}
UNIT_COLUMNS: tuple[str, ...] = (COMMUNE, "Nom Officiel Commune", BUREAU)
CANDIDATE_COLUMNS: tuple[str, ...] = (PANEL, "Code Nuance", "Nom", "Prénom", "Liste", "Voix")


def parse_municipales(path: Path, scrutin_id: str) -> ParsedBallot:
    """Parse the export; candidat = ``Liste`` (else "NOM Prénom"), nuance = ``Code Nuance``."""
    table = read_table(path, SEPARATOR)
    require_columns(table, path, (*UNIT_COLUMNS, *COUNTS, *CANDIDATE_COLUMNS))
    reject_duplicates(table, path, [COMMUNE, BUREAU, PANEL])
    rows = pd.DataFrame(
        {
            CODE: check_insee_codes(table, path, COMMUNE),
            "bureau": table[BUREAU].str.strip(),
            LIBELLE: table["Nom Officiel Commune"].str.strip(),
            **{column: to_int(table, path, source) for source, column in COUNTS.items()},
            LINE: table[LINE],
        }
    )
    units = _bureau_units(rows, path)
    return assemble(scrutin_id, units, _votes(table, path, rows[CODE]))


def _bureau_units(rows: pd.DataFrame, path: Path) -> pd.DataFrame:
    """One row per bureau; raises when a bureau's rows disagree on its counts."""
    keys = [CODE, "bureau"]
    conflict = rows.duplicated(keys) & ~rows.duplicated([*keys, *COUNTS.values()])
    reject_rows(
        rows,
        path,
        conflict,
        lambda row: "participation différente d'une ligne à l'autre pour le bureau "
        f"{row['bureau']} de la commune {row[CODE]}",
    )
    return rows.drop_duplicates(keys).drop(columns="bureau")


def _votes(table: pd.DataFrame, path: Path, codes: pd.Series) -> pd.DataFrame:
    """Votes per row: the list, or the candidate where there is no list."""
    liste = optional_text(table["Liste"])
    nom = table["Nom"].str.strip()
    prenom = optional_text(table["Prénom"])
    individual = liste.isna()
    reject_blank(table, path, nom, "Nom")
    person = (nom + " " + prenom.fillna("")).str.strip()
    return pd.DataFrame(
        {
            CODE: codes,
            "candidat": liste.fillna(person),
            "prenom": prenom.where(individual, missing(table.index, "str")),
            "nuance": optional_text(table["Code Nuance"]),
            "voix": to_int(table, path, "Voix"),
            LINE: table[LINE],
        }
    )
