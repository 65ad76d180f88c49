"""INSEE comparateur de territoires, edition of January 2022 (zipped), read with ``zipfile``.

``base_cc_comparateur.CSV``: ``;``-separated, UTF-8 (checked, no BOM), decimal point, one
header row; RP counts are weighted estimates (non-integer). Empty cell = secret/absent → NA
``secret`` (the 17 communes of Mayotte have no RP 2018; PIMP19/TP6019 are secret for most
small communes). ``meta_base_cc_comparateur.CSV`` is the variable dictionary (not read).

Codes: 34,965 communes + 45 arrondissements municipaux = exactly the COG **2021** (checked
against the COGugaison list: no code outside it, none missing), as expected for RP 2018,
published in the geography of 1 January 2021. Arrondissement rows are dropped (Paris, Lyon
and Marseille have their own row).

Indicators (raw counts only; rates and density are computed in
``electio.harmonise.indicators.derive_rates``): RP 2013 and 2018 (population, emplois),
RP 2018 (ménages, logements by category, population/actifs/chômeurs 15-64), Filosofi 2019
(ménages fiscaux, median, poverty rate, share of taxed households), établissements actifs at
the end of 2018 (total, 1-9 and 10+ employees), ``superficie`` (km², geography 2021, given
``annee`` 2021). Births/deaths 2020 and sector breakdowns are not kept.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import drop_arrondissements, keep_communes, read_text_table, wide_to_long

DATA_MEMBER = "base_cc_comparateur.CSV"
COG = 2021
COLUMNS: dict[str, tuple[str, int]] = {
    "P18_POP": ("population", 2018),
    "P13_POP": ("population", 2013),
    "SUPERF": ("superficie", COG),
    "P18_MEN": ("menages", 2018),
    "P18_LOG": ("logements", 2018),
    "P18_RP": ("residences_principales", 2018),
    "P18_RSECOCC": ("residences_secondaires", 2018),
    "P18_LOGVAC": ("logements_vacants", 2018),
    "P18_RP_PROP": ("rp_proprietaires", 2018),
    "NBMENFISC19": ("nb_menages_fiscaux", 2019),
    "PIMP19": ("part_menages_imposes", 2019),
    "MED19": ("revenu_median", 2019),
    "TP6019": ("taux_pauvrete", 2019),
    "P18_EMPLT": ("emplois", 2018),
    "P13_EMPLT": ("emplois", 2013),
    "P18_POP1564": ("population_15_64", 2018),
    "P18_CHOM1564": ("chomeurs_15_64", 2018),
    "P18_ACT1564": ("actifs_15_64", 2018),
    "ETTOT18": ("etablissements", 2018),
    "ETTEF118": ("etablissements_1_9_salaries", 2018),
    "ETTEFP1018": ("etablissements_10_salaries_plus", 2018),
}
"""Source column → (indicateur, annee). The column names fix the edition: another edition fails."""


def read_member(path: Path, member: str) -> bytes:
    """Bytes of one member of the zip, or an InputError naming the archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(member)
    except KeyError as exc:
        raise InputError(path, f"membre {member} absent de l'archive") from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(path, f"archive zip illisible : {exc}") from exc


def parse_comparateur(path: Path) -> pd.DataFrame:
    """Long frame of the comparateur de territoires (2022 edition, COG 2021 codes)."""
    path = Path(path)
    data = read_member(path, DATA_MEMBER)
    where = Path(f"{path}!{DATA_MEMBER}")
    frame = keep_communes(read_text_table(where, data, sep=";", encoding="utf-8"), "CODGEO", where)
    long = wide_to_long(frame, where, code_column="CODGEO", columns=COLUMNS, cog_annee=COG)
    return drop_arrondissements(long)
