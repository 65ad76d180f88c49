"""France Travail job seekers (DEFM) by month, 2020..2024, communes over 5,000 inhabitants.

Layout: ``,``-separated, UTF-8, ``codgeo,YEAR,Demandeurs_Emploi``; ``YEAR`` is a French month
label (``janvier_2020``); values are rounded to 10. The category (A, ABC…) is not documented
(Lyon 69123 = 53,440 in January 2020 suggests ABC). Dropped rows: département rows (2-3
character codes) and region rows (``reg..``).

Cleaning, with counts logged:

* exact duplicate rows (a join artefact of the compiler: 2,647 in the mirror file) are dropped;
* the compiler matched codes from postal code + name: 10 codes then carry two *different*
  values for the same month (e.g. 69149 Oullins-Pierre-Bénite = Oullins and Pierre-Bénite,
  93066 = Saint-Denis and Pierrefitte, but also 59606 Valenciennes 5,960 vs 780): these
  (code, month) pairs cannot be trusted and are dropped.

Output: ``demandeurs_emploi`` = mean of the 12 monthly values of each calendar year (flagged
``derive``; a year with fewer than 12 months gives no row); ``ligne_source`` is NA. Codes:
the 2024/2025 geography of the compiler (the merged 69149 Oullins-Pierre-Bénite of 2024,
49069 valid until 2024) → ``cog_annee`` 2024.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    DERIVE,
    finalize,
    keep_communes,
    parse_numbers,
    read_text_table,
    require_columns,
)

COG = 2024
INDICATEUR = "demandeurs_emploi"
MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "janvier",
            "fevrier",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "aout",
            "septembre",
            "octobre",
            "novembre",
            "decembre",
        ],
        start=1,
    )
}
_AGGREGATE = re.compile(r"^(?:[0-9AB]{2,3}|reg\d{2})$")
_MONTH = re.compile(r"^([a-z]+)_(\d{4})$")
log = logging.getLogger(__name__)


def parse_month(labels: pd.Series, lines: pd.Series, path: Path) -> pd.DataFrame:
    """Year and month of each ``mois_AAAA`` label; an unknown label is an InputError."""
    parts = labels.str.extract(_MONTH)
    month = parts[0].map(MONTHS)
    bad = month.isna() | parts[1].isna()
    if bad.any():
        position = bad.to_numpy().nonzero()[0][0]
        raise InputError(path, f"mois inconnu « {labels.iloc[position]} »", line=int(lines.iloc[position]))
    return pd.DataFrame({"annee": parts[1].astype(int), "mois": month.astype(int)}, index=labels.index)


def clean(frame: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Drop exact duplicates and conflicting (code, month) pairs; return the counts dropped."""
    duplicated = frame.duplicated(["codgeo", "YEAR", "Demandeurs_Emploi"])
    frame = frame[~duplicated]
    conflicting = frame.duplicated(["codgeo", "YEAR"], keep=False)
    return frame[~conflicting], int(duplicated.sum()), int(conflicting.sum())


def parse_job_seekers(path: Path) -> pd.DataFrame:
    """Long frame of the yearly mean number of job seekers per commune."""
    path = Path(path)
    frame = read_text_table(path, sep=",")
    require_columns(frame, ["codgeo", "YEAR", "Demandeurs_Emploi"], path)
    frame = keep_communes(frame, "codgeo", path, aggregate=_AGGREGATE)
    frame, duplicates, conflicts = clean(frame)
    log.info(
        "%s : %d lignes dupliquées et %d lignes contradictoires écartées", path.name, duplicates, conflicts
    )
    valeur, _ = parse_numbers(frame["Demandeurs_Emploi"], frame["_ligne"], path, "Demandeurs_Emploi")
    frame = frame.assign(valeur=valeur).join(parse_month(frame["YEAR"], frame["_ligne"], path))
    yearly = frame.groupby(["codgeo", "annee"]).agg(valeur=("valeur", "mean"), mois=("valeur", "count"))
    yearly = yearly[yearly["mois"] == len(MONTHS)].reset_index()
    out = pd.DataFrame(
        {
            "code_commune_source": yearly["codgeo"],
            "cog_annee": COG,
            "indicateur": INDICATEUR,
            "annee": yearly["annee"],
            "valeur": yearly["valeur"],
            "qualite": DERIVE,
            "ligne_source": pd.NA,
        }
    )
    return finalize(out)
