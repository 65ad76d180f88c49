"""Bureau-level ballots 2022-2024 re-published as LONG R data frames (``.rds``, Reinaldodos).

One row per bureau × list or nuance, plus rows ``abstentions``, ``blancs`` and ``nuls``:
inscrits = sum of a bureau's rows, exprimés = sum of its list/nuance rows, votants =
inscrits - abstentions. A list without a row got no vote (zero rows were dropped in 2024).
``ligne_source`` is the 1-based row number in the R data frame.

- européennes 2024 and législatives 2024 T1: the département code was cut to 2 characters
  (971 → "71", 987 → "87"), so the département is read from the code AND its
  ``libelle_du_departement`` (``CUT_OVERSEAS``), never from the code alone.
- législatives 2022 T1: element ``$Leg`` of a named list (``$Pdt`` is ignored), read with
  ``rds_xdr`` because ``pyreadr`` skips lists; Ministry codes (ZA … ZZ), commune number as an
  integer; the Ministry nuance ``nuance_ministere`` is kept, not Le Monde's coding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadr

from electio.errors import InputError
from electio.parse.ballot import (
    CODE,
    LIBELLE,
    LINE,
    ParsedBallot,
    assemble,
    commune_codes,
    missing,
    optional_text,
    reject_blank,
    reject_rows,
    require_columns,
)
from electio.parse.rds_xdr import data_frame, element, read_rds

DEPARTEMENT = "code_du_departement"
DEPARTEMENT_LIBELLE = "libelle_du_departement"
COMMUNE = "code_de_la_commune"
COMMUNE_LIBELLE = "libelle_de_la_commune"
BUREAU = "code_du_b_vote"
ROW_KIND = "candidat"
NON_EXPRIMES: tuple[str, ...] = ("abstentions", "blancs", "nuls")
UNIT_COLUMNS: tuple[str, ...] = (DEPARTEMENT, COMMUNE, COMMUNE_LIBELLE, BUREAU, ROW_KIND, "voix")
EURO2024_COLUMNS: tuple[str, ...] = (*UNIT_COLUMNS, DEPARTEMENT_LIBELLE)
LEG2024_COLUMNS: tuple[str, ...] = (*EURO2024_COLUMNS, "nom")
LEG2022_COLUMNS: tuple[str, ...] = (*UNIT_COLUMNS, "nom", "prenom", "nuance_ministere")
LEG2022_ELEMENT = "Leg"
#: (2-character code, libellé) of the 2024 files → Ministry overseas code (``ballot.insee_commune``).
CUT_OVERSEAS: dict[tuple[str, str], str] = {
    ("71", "Guadeloupe"): "ZA",
    ("72", "Martinique"): "ZB",
    ("73", "Guyane"): "ZC",
    ("74", "La Réunion"): "ZD",
    ("75", "Saint-Pierre-et-Miquelon"): "ZS",
    ("76", "Mayotte"): "ZM",
    ("86", "Wallis et Futuna"): "ZW",
    ("87", "Polynésie française"): "ZP",
    ("88", "Nouvelle-Calédonie"): "ZN",
}
_MINISTRY_DEPARTEMENT = r"0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|Z[A-Z]"


def parse_euro2024(path: Path, scrutin_id: str) -> ParsedBallot:
    """Européennes 2024 by bureau: candidat = the list's short label, no nuance."""
    table = _read_frame(path)
    require_columns(table, path, EURO2024_COLUMNS)
    departements = _uncut_departements(table, path)
    lists = _text(table, path, ROW_KIND)
    return _ballot(scrutin_id, table, path, departements, lists, missing(table.index, "str"))


def parse_leg2024(path: Path, scrutin_id: str) -> ParsedBallot:
    """Législatives 2024 T1 by bureau: nuance = ``candidat`` (Ministry nuance), candidat = ``nom``.

    The file's ``prenom`` repeats ``nom`` (upstream bug): it is not used.
    """
    table = _read_frame(path)
    require_columns(table, path, LEG2024_COLUMNS)
    departements = _uncut_departements(table, path)
    nuance = _text(table, path, ROW_KIND)
    _reject_blank_candidates(table, path, table["nom"], "nom", nuance)
    return _ballot(scrutin_id, table, path, departements, table["nom"], nuance)


def parse_leg2022(path: Path, scrutin_id: str) -> ParsedBallot:
    """Législatives 2022 T1 by bureau (``$Leg``): candidat = "NOM Prénom", nuance = Ministry nuance."""
    table = _leg2022_frame(path)
    require_columns(table, path, LEG2022_COLUMNS)
    table[COMMUNE] = table[COMMUNE].astype("str")
    table[ROW_KIND] = table[ROW_KIND].fillna("")
    departements = _text(table, path, DEPARTEMENT)
    reject_rows(
        table,
        path,
        ~departements.str.fullmatch(_MINISTRY_DEPARTEMENT).to_numpy(dtype=bool),
        lambda row: f"code département invalide « {row[DEPARTEMENT]} »",
    )
    nom, prenom = table["nom"].fillna("").str.strip(), optional_text(table["prenom"].fillna(""))
    candidat = (nom + " " + prenom.fillna("")).str.strip()
    _reject_blank_candidates(table, path, nom, "nom", table[ROW_KIND])
    _reject_blank_candidates(table, path, table["nuance_ministere"], "nuance_ministere", table[ROW_KIND])
    return _ballot(scrutin_id, table, path, departements, candidat, table["nuance_ministere"], prenom)


def _read_frame(path: Path) -> pd.DataFrame:
    """The one data frame of an ``.rds`` (pyreadr), with ``LINE`` = 1-based row number."""
    try:
        objects = pyreadr.read_r(str(path))
    except (OSError, pyreadr.PyreadrError, pyreadr.LibrdataError) as exc:
        raise InputError(path, f"fichier .rds illisible ou corrompu ({exc})") from exc
    frames = [frame for frame in objects.values() if isinstance(frame, pd.DataFrame)]
    if len(frames) != 1:
        raise InputError(path, "le fichier .rds ne contient pas une table unique (data.frame)")
    return _numbered(frames[0], path)


def _leg2022_frame(path: Path) -> pd.DataFrame:
    """Element ``$Leg`` of the législatives 2022 named list, numbered like ``_read_frame``."""
    return _numbered(data_frame(element(read_rds(path), LEG2022_ELEMENT, path), path), path)


def _numbered(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``frame`` with a fresh index and ``LINE`` = row number in R (1-based)."""
    if frame.empty:
        raise InputError(path, "table vide (aucune ligne)")
    frame = frame.reset_index(drop=True)
    frame[LINE] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


def _text(table: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """Stripped values of a required text column; raises at the first missing one."""
    values = table[column].astype("str").where(table[column].notna(), "").str.strip()
    reject_blank(table, path, values, column)
    return values


def _uncut_departements(table: pd.DataFrame, path: Path) -> pd.Series:
    """Ministry département code of each row of a 2024 file, from the cut code and the libellé.

    A cut code shared by a metropolitan and an overseas département is resolved by
    ``CUT_OVERSEAS``; any other code must be a Ministry code carried by one libellé only.
    """
    codes = _text(table, path, DEPARTEMENT)
    pairs = codes + "|" + _text(table, path, DEPARTEMENT_LIBELLE)
    known = {pair: tuple(pair.split("|", 1)) for pair in pairs.unique()}
    mapping = {pair: CUT_OVERSEAS.get(key, key[0]) for pair, key in known.items()}
    metropole = pd.Series([key[1] for pair, key in known.items() if key not in CUT_OVERSEAS],
                          index=[key[0] for key in known.values() if key not in CUT_OVERSEAS])
    shared = metropole.index.duplicated(keep=False)
    if shared.any():
        code = metropole.index[shared][0]
        names = " et ".join(f"« {name} »" for name in metropole.loc[[code]])
        raise InputError(path, f"code département « {code} » porté par plusieurs libellés : {names}")
    departements = pairs.map(mapping)
    reject_rows(
        table,
        path,
        ~departements.str.fullmatch(_MINISTRY_DEPARTEMENT).to_numpy(dtype=bool),
        lambda row: f"département inconnu (code « {row[DEPARTEMENT]} », libellé « {row[DEPARTEMENT_LIBELLE]} »)",
    )
    return departements


def _reject_blank_candidates(
    table: pd.DataFrame, path: Path, values: pd.Series, column: str, kind: pd.Series
) -> None:
    """Raise at the first list/nuance row (not abstentions, blancs, nuls) with ``column`` empty."""
    exprime = ~kind.astype("str").str.strip().isin(NON_EXPRIMES)
    blank = values.isna() | (values.astype("str").str.strip() == "")
    reject_rows(table, path, (exprime & blank).to_numpy(dtype=bool), f"valeur manquante dans la colonne « {column} »")


def _counts(table: pd.DataFrame, path: Path) -> pd.Series:
    """``voix`` as non-negative int64; raises at the first missing, negative or fractional one."""
    voix = pd.to_numeric(table["voix"], errors="coerce").astype("float64")
    bad = ~np.isfinite(voix) | (voix < 0) | (voix % 1 != 0)
    reject_rows(
        table,
        path,
        bad.to_numpy(dtype=bool),
        lambda row: f"valeur invalide « {row['voix']} » dans la colonne « voix » (entier positif attendu)",
    )
    return voix.astype("int64")


def _ballot(
    scrutin_id: str,
    table: pd.DataFrame,
    path: Path,
    departements: pd.Series,
    candidat: pd.Series,
    nuance: pd.Series,
    prenom: pd.Series | None = None,
) -> ParsedBallot:
    """Bureaux (participation from the non-exprimé rows) and votes, summed to communes."""
    table = table.assign(departement_ministere=departements)
    codes = commune_codes(table, path, "departement_ministere", COMMUNE)
    kind = table[ROW_KIND].astype("str").str.strip()
    voix = _counts(table, path)
    bureau = _text(table, path, BUREAU)
    exprime = ~kind.isin(NON_EXPRIMES)
    rows = pd.DataFrame({CODE: codes, "bureau": bureau, LINE: table[LINE], "inscrits": voix})
    for name in NON_EXPRIMES:
        rows[name] = voix.where(kind == name, 0)
    rows["exprimes"] = voix.where(exprime, 0)
    rows[LIBELLE] = _text(table, path, COMMUNE_LIBELLE)
    grouped = rows.groupby([CODE, "bureau"], sort=False)
    units = grouped.agg(
        **{LIBELLE: (LIBELLE, "first"), LINE: (LINE, "min")},
        **{name: (name, "sum") for name in ("inscrits", "abstentions", "blancs", "nuls", "exprimes")},
    ).reset_index()
    units["votants"] = units["inscrits"] - units["abstentions"]
    for name in ("inscrits", "votants", "blancs", "nuls", "exprimes"):
        units[name] = units[name].astype("Int64")
    votes = pd.DataFrame(
        {
            CODE: codes[exprime],
            "candidat": candidat[exprime].str.strip(),
            "prenom": missing(table.index[exprime], "str") if prenom is None else prenom[exprime],
            "nuance": optional_text(nuance[exprime].fillna("")),
            "voix": voix[exprime].astype("Int64"),
            LINE: table[LINE][exprime],
            "bureau": bureau[exprime],
        }
    )
    return assemble(scrutin_id, units.drop(columns="abstentions"), votes)
