"""INSEE mean net hourly salary by commune and CSP, 2014 (Kaggle compilation of DADS data).

Layout: ``,``-separated, decimal point, ``CODGEO,LIBGEO,SNHM14,SNHMC14,SNHMP14,SNHME14,
SNHMO14,…`` (also by sex and age, not kept). Only 5,136 communes (those with enough
salaried people: 119 in the Rhône, Lyon as 69123); the compiler does not say whether the
salaries are by place of residence or of work, and they are means (not medians). Kept as a
secondary income indicator: ``salaire_net_horaire_moyen`` and its four CSP breakdowns
(cadres, professions intermédiaires, employés, ouvriers), in EUR per hour, ``annee`` 2014.
Codes: valid in both COG 2014 and 2015 (no merged commune among them); compiled with the
2014 establishments file, whose codes are COG 2014 → ``cog_annee`` 2014.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.parse.indicators_common import keep_communes, read_text_table, wide_to_long

COG = 2014
YEAR = 2014
COLUMNS = {
    "SNHM14": ("salaire_net_horaire_moyen", YEAR),
    "SNHMC14": ("salaire_net_horaire_cadres", YEAR),
    "SNHMP14": ("salaire_net_horaire_prof_intermediaires", YEAR),
    "SNHME14": ("salaire_net_horaire_employes", YEAR),
    "SNHMO14": ("salaire_net_horaire_ouvriers", YEAR),
}


def parse_salaries(path: Path) -> pd.DataFrame:
    """Long frame of mean net hourly salaries (all, and by CSP), 2014."""
    path = Path(path)
    frame = keep_communes(read_text_table(path, sep=","), "CODGEO", path)
    return wide_to_long(frame, path, code_column="CODGEO", columns=COLUMNS, cog_annee=COG)
