"""INSEE Filosofi: FILO2014..2019 ``DISP_COM`` files and the Filosofi 2021 comparateur file.

``FILO20yy_DISP_COM.csv`` (``;``, UTF-8 with BOM, decimal comma, columns suffixed ``yy``):
France entière, one row per commune of at least ~50 households (smaller communes are absent)
plus the 45 arrondissements municipaux. Empty cell = secret statistique → NA ``secret``
(deciles, Gini and income shares are secret below ~2,000 households; the median is almost
always published). Arrondissement rows are dropped: Paris, Lyon and Marseille have their own
row. Codes, checked against the COGugaison lists: FILO2014 → COG 2015 (the 2015 fusions are
applied; one code, 14697 L'Oudon, predates its 2015 renumbering), 2015 → COG 2016,
2016 → COG 2017, 2018 → COG 2019, 2019 → COG 2020 (INSEE: geography of 1 January N+1).
No poverty rate in these files (it is in the separate DISP_Pauvres files, not mirrored).

``cc_filosofi_2021_COM.csv`` (``;``, UTF-8, decimal comma): all communes of COG **2024**
(not 2023 as the mirror notes say: it holds 60694, 85165, 85212, created on 1 January 2024,
as ``nd``, and no code absorbed in 2024), with the arrondissements (dropped) and without
Guadeloupe, Guyane and Mayotte (not covered by Filosofi). ``s`` and ``nd`` → NA ``secret``.

The expected vintage comes from the ``annee`` argument or the file name; a file whose columns
carry another year's suffix raises an InputError.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    drop_arrondissements,
    keep_communes,
    read_text_table,
    wide_to_long,
    year_from_name,
)

DISP_COG = {2014: 2015, 2015: 2016, 2016: 2017, 2017: 2018, 2018: 2019, 2019: 2020}
"""Filosofi DISP millésime → COG of its codes."""
DISP_COLUMNS = {
    "NBMEN{yy}": "nb_menages_fiscaux",
    "NBPERS{yy}": "nb_personnes_menages_fiscaux",
    "Q2{yy}": "revenu_median",
    "D1{yy}": "revenu_d1",
    "D9{yy}": "revenu_d9",
    "RD": "rapport_interdecile",
    "GI{yy}": "indice_gini",
    "PACT{yy}": "part_revenus_activite",
    "PPSOC{yy}": "part_prestations_sociales",
    "PPMINI{yy}": "part_minima_sociaux",
}
"""Source column template → indicator (``PACT`` is absent from FILO2014)."""
CC2021_COG = 2024
CC_COLUMNS = {
    "NBMENFISC{yy}": "nb_menages_fiscaux",
    "NBPERSMENFISC{yy}": "nb_personnes_menages_fiscaux",
    "MED{yy}": "revenu_median",
    "D1{yy}": "revenu_d1",
    "D9{yy}": "revenu_d9",
    "RD{yy}": "rapport_interdecile",
    "TP60{yy}": "taux_pauvrete",
    "PIMP{yy}": "part_menages_imposes",
    "PACT{yy}": "part_revenus_activite",
    "PPSOC{yy}": "part_prestations_sociales",
    "PPMINI{yy}": "part_minima_sociaux",
}
_OPTIONAL = {"PACT{yy}"}


def _expected_year(path: Path, annee: int | None, pattern: str) -> int:
    """Vintage asked by the caller, else read in the file name."""
    year = annee if annee is not None else year_from_name(path, pattern)
    if year is None:
        raise InputError(path, "millésime Filosofi introuvable (ni argument annee, ni nom de fichier)")
    return year


def _columns_for(
    frame: pd.DataFrame, templates: dict[str, str], year: int, path: Path
) -> dict[str, tuple[str, int]]:
    """Source columns of ``year``; an InputError when the file carries another vintage."""
    yy = f"{year % 100:02d}"
    anchor = next(iter(templates)).format(yy=yy)
    if anchor not in frame.columns:
        prefix = next(iter(templates)).split("{")[0]
        found = [c for c in frame.columns if c.startswith(prefix)]
        raise InputError(
            path,
            f"millésime inattendu : colonne {anchor} attendue (Filosofi {year}), trouvé {found or 'aucune'}",
            line=1,
        )
    columns = {}
    for template, indicateur in templates.items():
        column = template.format(yy=yy)
        if column in frame.columns or template not in _OPTIONAL:
            columns[column] = (indicateur, year)
    return columns


def _parse(path: Path, year: int, templates: dict[str, str], cog: int | None) -> pd.DataFrame:
    """Shared body of the two Filosofi layouts."""
    frame = keep_communes(read_text_table(path, sep=";"), "CODGEO", path)
    columns = _columns_for(frame, templates, year, path)
    long = wide_to_long(frame, path, code_column="CODGEO", columns=columns, cog_annee=cog, decimal_comma=True)
    return drop_arrondissements(long)


def parse_disp(path: Path, annee: int | None = None) -> pd.DataFrame:
    """Long frame of a ``FILO20yy_DISP_COM.csv`` file (income distribution, 2014..2019)."""
    path = Path(path)
    year = _expected_year(path, annee, r"FILO(\d{4})")
    return _parse(path, year, DISP_COLUMNS, DISP_COG.get(year))


def parse_cc_2021(path: Path, annee: int | None = None) -> pd.DataFrame:
    """Long frame of the Filosofi 2021 comparateur file (``s``/``nd`` → NA ``secret``)."""
    path = Path(path)
    year = _expected_year(path, annee, r"filosofi[_-]?(\d{4})")
    cog = CC2021_COG if year == 2021 else None
    return _parse(path, year, CC_COLUMNS, cog)
