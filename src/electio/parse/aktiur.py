"""aktiur/resultats-electoraux files: wide (one column per candidate) and long layouts.

Both share ``departement,commune,commune_libelle,inscrits,votants[,blancs],exprimes``
(Ministry département codes, 3-digit commune numbers); nuls = votants - blancs - exprimes,
and blancs/nuls stay missing where the file has no ``blancs`` column (euro2014).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.ballot import (
    CODE,
    LIBELLE,
    LINE,
    ParsedBallot,
    BUREAU,
    assemble,
    check_votes_match_exprimes,
    commune_codes,
    missing,
    optional_text,
    read_table,
    reject_blank,
    reject_duplicates,
    reject_rows,
    require_columns,
    to_int,
)

SEPARATOR = ","
UNIT_COLUMNS: tuple[str, ...] = (
    "departement",
    "commune",
    "commune_libelle",
    "inscrits",
    "votants",
    "exprimes",
)
#: Fixed columns a wide file may also hold (bureau files: bureau, circonscription).
OPTIONAL_FIXED: tuple[str, ...] = ("blancs", "bureau", "circonscription")
LONG_COLUMNS: tuple[str, ...] = ("numero_panneau", "nom", "prenom", "nuance", "voix")
#: Scrutins whose wide columns are nuance codes (candidat = nuance); the others are
#: candidate surnames (présidentielles) or list names (euro2019), with no nuance.
NUANCE_HEADER_PREFIXES: tuple[str, ...] = ("leg", "euro2014")


def parse_wide(path: Path, scrutin_id: str) -> ParsedBallot:
    """Parse a wide file (commune or bureau level); candidates = columns after the fixed ones."""
    table = read_table(path, SEPARATOR)
    require_columns(table, path, UNIT_COLUMNS)
    fixed = [*UNIT_COLUMNS, *(column for column in OPTIONAL_FIXED if column in table.columns)]
    candidates = _candidate_columns(table, path, fixed)
    reject_duplicates(table, path, [c for c in ("departement", "commune", "bureau") if c in table])
    units = _units(table, path)
    votes = pd.concat({name: to_int(table, path, name) for name in candidates}, axis=1)
    votes[CODE] = units[CODE]
    votes[LINE] = table[LINE]
    ids = [CODE, LINE]
    if BUREAU in table.columns:  # bureau file: keep the bureaux for the units below the commune
        units[BUREAU] = votes[BUREAU] = table[BUREAU].str.strip()
        ids.append(BUREAU)
    votes = votes.melt(id_vars=ids, var_name="candidat", value_name="voix")
    votes["prenom"] = missing(votes.index, "str")
    nuance_header = scrutin_id.startswith(NUANCE_HEADER_PREFIXES)
    votes["nuance"] = votes["candidat"] if nuance_header else votes["prenom"]
    return assemble(scrutin_id, units, votes)


def parse_long(path: Path, scrutin_id: str) -> ParsedBallot:
    """Parse the long file (one row per commune part x candidate), candidat = "NOM Prénom".

    A commune split across circonscriptions has one participation per part: a part is a
    distinct (inscrits, votants, blancs, exprimés) of the commune, repeated once more for
    each extra occurrence of a panel number (two parts with identical counts). The summed
    votes must equal the summed exprimés of every commune.
    """
    table = read_table(path, SEPARATOR)
    require_columns(table, path, (*UNIT_COLUMNS, *LONG_COLUMNS))
    units = _units(table, path)
    panel = to_int(table, path, "numero_panneau")
    part_keys = [CODE, "inscrits", "votants", "blancs", "exprimes"]
    occurrence = units.assign(panneau=panel).groupby(
        [*part_keys, "panneau"], dropna=False, sort=False
    ).cumcount()
    parts = units.assign(occurrence=occurrence).drop_duplicates([*part_keys, "occurrence"])
    nom, prenom = table["nom"].str.strip(), optional_text(table["prenom"])
    reject_blank(table, path, nom, "nom")
    votes = pd.DataFrame(
        {
            CODE: units[CODE],
            "candidat": (nom + " " + prenom.fillna("")).str.strip(),
            "prenom": prenom,
            "nuance": optional_text(table["nuance"]),
            "voix": to_int(table, path, "voix"),
            LINE: table[LINE],
        }
    )
    ballot = assemble(scrutin_id, parts.drop(columns="occurrence"), votes)
    check_votes_match_exprimes(ballot, path)
    return ballot


def _candidate_columns(table: pd.DataFrame, path: Path, fixed: list[str]) -> list[str]:
    """Columns after the last fixed one; every fixed column must come before them."""
    columns = [column for column in table.columns if column != LINE]
    last_fixed = max(columns.index(column) for column in fixed)
    candidates = columns[last_fixed + 1 :]
    if not candidates:
        raise InputError(path, "aucune colonne de candidat ou de liste après « exprimes »")
    return candidates


def _units(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Participation of each row, with nuls derived from votants - blancs - exprimes."""
    units = pd.DataFrame(
        {
            CODE: commune_codes(table, path, "departement", "commune"),
            LIBELLE: table["commune_libelle"].str.strip(),
            "inscrits": to_int(table, path, "inscrits"),
            "votants": to_int(table, path, "votants"),
            "exprimes": to_int(table, path, "exprimes"),
            LINE: table[LINE],
        }
    )
    if "blancs" in table.columns:
        units["blancs"] = to_int(table, path, "blancs")
        units["nuls"] = units["votants"] - units["blancs"] - units["exprimes"]
        negative = (units["nuls"] < 0).to_numpy(dtype=bool)
        reject_rows(table, path, negative, "votants inférieurs à blancs + exprimes")
    else:
        units["blancs"] = missing(units.index, "Int64")
        units["nuls"] = missing(units.index, "Int64")
    return units

