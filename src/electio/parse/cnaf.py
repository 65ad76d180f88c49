"""CNAF: foyers allocataires du RSA and persons covered, by commune, December 2020.

Layout: ``;``, UTF-8 with BOM, columns ``Date référence;Numéro commune;RSA ou PPA;Nom
commune;Nombre foyers RSA_PPA;Nombre personnes RSA_PPA``; one ``RSA seul`` row per code.
Counts are rounded to 5 by the CNAF and **0 means "fewer than 5 or none"** (secret, and also
the value of the ~4,300 rows without a commune name added for communes absent from the CAF
extract): 0 → NA flagged ``secret``, never a true zero. ``annee`` is the year of the
reference date (2020-12 → 2020, a December stock).

Dropped rows (not communes): codes with ``X`` (``XXX``, ``02XXX``, ``972XX``…: allocataires
whose commune is unknown, by département) and ``99999`` (abroad/unknown). Paris, Lyon and
Marseille only appear by arrondissement municipal: their counts are summed on 75056, 69123,
13055 (flagged ``derive``). Codes: COG **2020**
(checked against the COGugaison lists: no commune code outside it; 97801 Saint-Martin kept).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    SECRET,
    keep_communes,
    read_text_table,
    require_columns,
    sum_arrondissements,
    wide_to_long,
)

COG = 2020
CODE, DATE, KIND = "Numéro commune", "Date référence", "RSA ou PPA"
COLUMNS = {"Nombre foyers RSA_PPA": "foyers_rsa", "Nombre personnes RSA_PPA": "personnes_couvertes_rsa"}
_NOT_COMMUNE = re.compile(r"^(?:.*X.*|99999)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})$")


def reference_year(frame: pd.DataFrame, path: Path) -> int:
    """Year of the single ``Date référence`` (YYYY-MM) of the file."""
    dates = frame[DATE].unique()
    if len(dates) != 1 or not _DATE.match(str(dates[0])):
        raise InputError(path, f"date de référence unique AAAA-MM attendue, trouvé {list(dates)[:5]}")
    return int(str(dates[0])[:4])


def parse_rsa(path: Path) -> pd.DataFrame:
    """Long frame of RSA households and covered persons (0 = secret → NA)."""
    path = Path(path)
    frame = read_text_table(path, sep=";")
    require_columns(frame, [CODE, DATE, KIND, *COLUMNS], path)
    kinds = set(frame[KIND].unique())
    if kinds != {"RSA seul"}:
        raise InputError(path, f"lignes « RSA seul » uniquement attendues, trouvé {sorted(kinds)}")
    year = reference_year(frame, path)
    frame = keep_communes(frame, CODE, path, aggregate=_NOT_COMMUNE)
    columns = {column: (indicateur, year) for column, indicateur in COLUMNS.items()}
    long = wide_to_long(frame, path, code_column=CODE, columns=columns, cog_annee=COG)
    zero = long["valeur"].eq(0).fillna(False)
    long.loc[zero, "valeur"] = pd.NA
    long.loc[zero, "qualite"] = SECRET
    return sum_arrondissements(long)
