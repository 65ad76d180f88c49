"""Rhône-only third-party tables of the axcvwy/prediction-electorale-rhone-2027 project.

Both files: ``;``, UTF-8 with BOM, decimal point, département 69 only, built by the project's
scripts from a larger official file that is not in the mirror (values unchanged per its code).

``axcvwy_taux_chomage_communes_dep69_2011_2016_2022.csv`` (``annee;code_commune;nom_commune;
taux_chomage``): census unemployment rate of the 15–64 (RP 2011, 2016, 2022), most likely the
Observatoire des territoires export; Lyon as 69123. Loaded as ``taux_chomage`` (its own source
id): the exact commune rate, where the IRIS files only give an IRIS-weighted approximation.

``axcvwy_urssaf_etablissements_effectifs_communes_dep69_2012_2017_2022.csv`` (``annee;
code_commune;nom_commune;nb_etablissements;effectifs_salaries``): URSSAF private-sector
establishments with at least one employee and salaried headcount (year end), summed over APE
sectors by the project. Lyon only by arrondissement (names garbled in the file, e.g. « Lyon 81e
Arrondissement » for 69381: codes are used, names ignored), summed on 69123 (``derive``).

Codes, checked against the COG lists: unemployment → COG 2026 (the 266 communes of the Rhône
in 2026: the source recomputed 2011 and 2016 in today's geography); URSSAF → COG 2023 (no code
outside COG 2012–2023).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    finalize,
    keep_communes,
    read_text_table,
    sum_arrondissements,
    wide_to_long,
)

UNEMPLOYMENT_COG = 2026
URSSAF_COG = 2023
UNEMPLOYMENT_COLUMNS = {"taux_chomage": "taux_chomage"}
URSSAF_COLUMNS = {"nb_etablissements": "etablissements_employeurs", "effectifs_salaries": "effectifs_salaries_prives"}


def _by_year(path: Path, columns: dict[str, str], cog: int) -> pd.DataFrame:
    """Long frame of a ``annee;code_commune;...`` table: one wide-to-long pass per year."""
    frame = keep_communes(read_text_table(path, sep=";"), "code_commune", path)
    if "annee" not in frame.columns:
        raise InputError(path, "colonne annee attendue", line=1)
    bad = ~frame["annee"].str.fullmatch(r"\d{4}")
    if bad.any():
        raise InputError(path, f"année invalide « {frame.loc[bad, 'annee'].iloc[0]} »", line=int(frame.loc[bad, "_ligne"].iloc[0]))
    parts = []
    for year, rows in frame.groupby("annee"):
        mapping = {column: (indicateur, int(year)) for column, indicateur in columns.items()}
        parts.append(
            wide_to_long(rows, path, code_column="code_commune", columns=mapping, cog_annee=cog, secret_tokens=frozenset())
        )
    return finalize(pd.concat(parts, ignore_index=True))


def parse_unemployment(path: Path) -> pd.DataFrame:
    """Long frame of ``taux_chomage`` (census, %) per commune for 2011, 2016, 2022."""
    return _by_year(Path(path), UNEMPLOYMENT_COLUMNS, UNEMPLOYMENT_COG)


def parse_establishments(path: Path) -> pd.DataFrame:
    """Long frame of ``etablissements_employeurs`` and ``effectifs_salaries_prives`` (arrondissements summed)."""
    return sum_arrondissements(_by_year(Path(path), URSSAF_COLUMNS, URSSAF_COG))
