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

``base-cc-filosofi-2012_COM.csv`` and ``cc_filosofi_2020_COM.csv`` share the comparateur
layout (suffix ``12``/``20``; 2012: decimal point, empty = secret; 2020: decimal comma, ``s``).
2012 has no ``PACT``. Codes, checked against the COGugaison lists: 2012 → COG 2013, 2020 → COG
**2022** (not 2023 as the mirror notes say: no code outside COG 2021/2022, 11 outside 2023).

``FILO2021_DEC_COM.csv`` (``;``, BOM, decimal comma, ``s``/``nd`` = secret, one trailing
empty row dropped): **declared** income per consumption unit (before taxes and benefits, not
the disposable income of the other files): median, D1, D9, Gini; codes of COG **2022** (the mirror notes say 2023: same code list as the
2020 comparateur file) with the arrondissements (dropped).

``ntd_filosofi2017_revenu_median_commune.csv`` (third party, ``,``, decimal point): the 2017
median only (``MED17`` of base-cc-filosofi-2017 kept by the NTD project), arrondissements
included (dropped), COG 2018.

``FILO2019_DISP_Pauvres_COM.xlsx``, sheet ``ENSEMBLE`` (codes on Excel row 6): poverty rate
at 60 % and poverty intensity, only for the ~4,400 communes large enough for diffusion (the
others are absent), empty = secret, COG 2020.

The expected vintage comes from the ``annee`` argument or the file name; a file whose columns
carry another year's suffix raises an InputError.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    drop_arrondissements,
    drop_empty_rows,
    keep_communes,
    read_excel_sheet,
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
CC_COG = {2012: 2013, 2020: 2022, 2021: CC2021_COG}
"""Comparateur-layout Filosofi vintage → COG of its codes."""
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
DEC_COG = {2021: 2022}
DEC_COLUMNS = {
    "Q2{yy}": "revenu_declare_median",
    "D1{yy}": "revenu_declare_d1",
    "D9{yy}": "revenu_declare_d9",
    "GI{yy}": "indice_gini_declare",
}
"""Declared-income columns of ``FILO20yy_DEC_COM`` → indicator."""
MEDIAN_2017_COG = 2018
MEDIAN_2017_COLUMN = "revenu_median_2017"
POVERTY_SHEET = "ENSEMBLE"
POVERTY_CODE_ROW = 6
POVERTY_COG = {2019: 2020}
POVERTY_COLUMNS = {"TP60{yy}": "taux_pauvrete", "TP60IP{yy}": "intensite_pauvrete"}


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


def _parse(
    path: Path, year: int, templates: dict[str, str], cog: int | None, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Shared body of the Filosofi layouts (``frame``: the file already read, else a ``;`` text file)."""
    frame = keep_communes(read_text_table(path, sep=";") if frame is None else frame, "CODGEO", path)
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
    return parse_cc(path, annee)


def parse_cc(path: Path, annee: int | None = None) -> pd.DataFrame:
    """Long frame of a comparateur-layout Filosofi file (2012, 2020, 2021; codes per :data:`CC_COG`)."""
    path = Path(path)
    year = _expected_year(path, annee, r"filosofi[_-]?(\d{4})")
    return _parse(path, year, CC_COLUMNS, CC_COG.get(year))


def parse_dec(path: Path, annee: int | None = None) -> pd.DataFrame:
    """Long frame of a ``FILO20yy_DEC_COM.csv`` file (declared income per consumption unit)."""
    path = Path(path)
    year = _expected_year(path, annee, r"FILO(\d{4})")
    frame = drop_empty_rows(read_text_table(path, sep=";"))
    return _parse(path, year, DEC_COLUMNS, DEC_COG.get(year), frame)


def parse_median_2017(path: Path) -> pd.DataFrame:
    """Long frame of the third-party 2017 median file (``CODGEO,revenu_median_2017``)."""
    path = Path(path)
    frame = keep_communes(read_text_table(path, sep=","), "CODGEO", path)
    columns = {MEDIAN_2017_COLUMN: ("revenu_median", 2017)}
    long = wide_to_long(frame, path, code_column="CODGEO", columns=columns, cog_annee=MEDIAN_2017_COG)
    return drop_arrondissements(long)


def parse_poverty(path: Path, annee: int | None = None) -> pd.DataFrame:
    """Long frame of the ``ENSEMBLE`` sheet of a ``FILO20yy_DISP_Pauvres_COM.xlsx`` workbook."""
    path = Path(path)
    year = _expected_year(path, annee, r"FILO(\d{4})")
    frame = read_excel_sheet(path, POVERTY_SHEET, code_row=POVERTY_CODE_ROW)
    return _parse(path, year, POVERTY_COLUMNS, POVERTY_COG.get(year), frame)
