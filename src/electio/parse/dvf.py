"""DVF house-price indicators per commune and year, 2014–2024 (B. Mericskay, data.gouv.fr).

One CSV a year, ``,``-separated. 2014–2023: quoted, a first unnamed column (R row index),
columns ``INSEE_COM, Annee, Nb_mutations, NbMaisons, NbApparts, propmaison, propappart,
PrixMoyen, Prixm2Moyen, SurfaceMoy``; 2024: unquoted, no index, same columns with other
capitals (``annee, nb_mutations, PropMaison``...). Column names are matched case-insensitively.
``Nb_mutations`` = single-sale transactions of houses and flats (``NbMaisons + NbApparts``,
checked on every file). ``Prixm2Moyen`` is a **mean** price per m² (not a median). Prices may be
written ``1e+05``. One row per file has the code ``NA`` (sales without a commune): dropped.

Kept: ``ventes_logements`` (Nb_mutations), ``ventes_maisons`` (NbMaisons), ``prix_m2_moyen``.
The share columns are NOT read: in the 2024 file ``PropMaison``/``PropAppart`` are swapped
(01001: 4 houses, 0 flats, PropMaison = 0); the share of houses is derived from the counts in
``electio.harmonise.indicators`` (``part_ventes_maisons``). No DVF in Alsace-Moselle and
Mayotte (no row). Paris, Lyon, Marseille are whole communes. Codes: see :data:`COG`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import keep_communes, read_text_table, wide_to_long, year_from_name

COG = {2024: 2024}
"""COG of the codes by file year, checked against the COG lists: 2014–2023 files → COG 2022 (no code
outside COG 2021/2022), the 2024 file → COG 2024."""
DEFAULT_COG = 2022
COLUMNS = {"nb_mutations": "ventes_logements", "nbmaisons": "ventes_maisons", "prixm2moyen": "prix_m2_moyen"}
"""Lower-cased source column → indicator."""
UNKNOWN_CODE = re.compile(r"^NA$")


def parse_dvf(path: Path) -> pd.DataFrame:
    """Long frame of one ``dvf_communes_YYYY.csv`` file (year from the ``annee`` column, checked against the name)."""
    path = Path(path)
    frame = read_text_table(path, sep=",")
    frame.columns = [c.lower() for c in frame.columns]
    if "insee_com" not in frame.columns or "annee" not in frame.columns:
        raise InputError(path, "colonnes INSEE_COM et Annee attendues", line=1)
    frame = keep_communes(frame, "insee_com", path, aggregate=UNKNOWN_CODE)
    years = frame["annee"].str.strip().unique()
    expected = year_from_name(path, r"(\d{4})")
    if len(years) != 1 or not years[0].isdigit() or (expected is not None and int(years[0]) != expected):
        raise InputError(path, f"année inattendue dans la colonne Annee : {', '.join(map(str, years[:3]))} (fichier {expected})")
    year = int(years[0])
    columns = {column: (indicateur, year) for column, indicateur in COLUMNS.items()}
    return wide_to_long(frame, path, code_column="insee_com", columns=columns, cog_annee=COG.get(year, DEFAULT_COG), secret_tokens=frozenset())
