"""INSEE localised unemployment rates by zone d'emploi 2020, brought to communes.

``chomage-zone-t1-2003-t3-2023.xlsx``, sheet ``txcho_ze``: one row per zone d'emploi 2020
(302 zones, France hors Mayotte et Guyane; interregional zones once, with ``REG = 00``),
variable codes on Excel row 6 (``ZE2020, LIBZE2020, REG, LIBREG, 2003-T1 .. 2023-T3``), data
from row 7: quarterly rates (%, seasonally adjusted), decimal point. The sheet ``txcho_parties
reg`` (regional parts of interregional zones) is not used: the composition table gives the
whole zone of each commune.

``ZE2020_au_01-01-2023.xlsx``, sheet ``Composition_communale`` (codes on row 6: ``CODGEO,
LIBGEO, ZE2020, ...``): commune → zone d'emploi, COG 2023 (34,945 communes).

Output: ``taux_chomage_zone_emploi`` per commune (COG 2023) and year = mean of the year's four
quarters of the commune's zone; a year with fewer than four quarters in the file (2023: T1–T3)
is left out, and so is a zone-year with an empty quarter (the DOM zones start later than 2003).
Every commune of a zone gets the zone's value (it is NOT a commune rate).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    OK,
    finalize,
    keep_communes,
    parse_numbers,
    read_excel_sheet,
    require_columns,
)

log = logging.getLogger(__name__)
COG = 2023
INDICATEUR = "taux_chomage_zone_emploi"
RATES_SHEET, COMPOSITION_SHEET, CODE_ROW = "txcho_ze", "Composition_communale", 6
ZONE = "ZE2020"
QUARTER = re.compile(r"^(\d{4})-T([1-4])$")
NOT_PUBLISHED = frozenset({""})
"""Empty quarterly cell: no estimate for that zone and quarter (DOM zones before their first year)."""
COMPANIONS = {"parse_zone_rates": {"composition": "emploi__insee_ze2020_composition_communale_au_01_01_2023_xlsx"}}
"""Other catalogue files a parser needs (keyword → source id), fetched by the indicators pipeline."""


def parse_composition(path: Path) -> pd.DataFrame:
    """``code_commune_source`` (COG 2023) → ``zone`` (ZE2020 code) of the composition workbook."""
    path = Path(path)
    frame = read_excel_sheet(path, COMPOSITION_SHEET, code_row=CODE_ROW)
    require_columns(frame, ["CODGEO", ZONE], path)
    frame = keep_communes(frame[frame["CODGEO"].str.strip() != ""], "CODGEO", path)
    if frame["CODGEO"].duplicated().any():
        first = frame[frame["CODGEO"].duplicated()].iloc[0]
        raise InputError(path, f"commune {first['CODGEO']} en double", line=int(first["_ligne"]))
    return pd.DataFrame({"code_commune_source": frame["CODGEO"], "zone": frame[ZONE].str.strip()})


def annual_zone_rates(path: Path) -> pd.DataFrame:
    """``zone, annee, valeur``: mean of the four quarterly rates of each complete year of ``txcho_ze``."""
    path = Path(path)
    frame = read_excel_sheet(path, RATES_SHEET, code_row=CODE_ROW)
    require_columns(frame, [ZONE], path)
    frame = frame[frame[ZONE].str.strip() != ""]
    quarters = [c for c in frame.columns if QUARTER.match(c)]
    if not quarters:
        raise InputError(path, "aucune colonne trimestrielle AAAA-Tn", line=CODE_ROW)
    parts = []
    for column in quarters:
        valeur, _ = parse_numbers(frame[column], frame["_ligne"], path, column, secret_tokens=NOT_PUBLISHED)
        parts.append(pd.DataFrame({"zone": frame[ZONE].str.strip(), "annee": int(column[:4]), "valeur": valeur}))
    long = pd.concat(parts, ignore_index=True).dropna(subset=["valeur"])
    grouped = long.groupby(["zone", "annee"])["valeur"]
    rates = grouped.mean().to_frame("valeur").assign(trimestres=grouped.count()).reset_index()
    return rates[rates["trimestres"] == 4].drop(columns="trimestres")


def parse_zone_rates(path: Path, composition: Path) -> pd.DataFrame:
    """Long frame of ``taux_chomage_zone_emploi``: each commune of ``composition`` gets its zone's annual mean."""
    path = Path(path)
    communes = parse_composition(composition)
    rates = annual_zone_rates(path)
    unknown = sorted(set(communes["zone"]) - set(rates["zone"]))
    rows = communes.merge(rates, on="zone", how="inner")
    out = pd.DataFrame(
        {
            "code_commune_source": rows["code_commune_source"],
            "cog_annee": COG,
            "indicateur": INDICATEUR,
            "annee": rows["annee"],
            "valeur": rows["valeur"],
            "qualite": OK,
            "ligne_source": pd.NA,
        }
    )
    if unknown:
        log.info("%s : zones d'emploi sans taux publié (communes sans ligne) : %s", path.name, ", ".join(unknown))
    return finalize(out)
