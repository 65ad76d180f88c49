"""INSEE populations légales from the ``@etalab/decoupage-administratif`` npm tarballs.

The tarball is read as published (``tarfile``): ``package/data/communes.json`` (key
``population``, population municipale), ``package/package.json`` (version) and
``package/README.md`` (link to the INSEE page of the populations légales used).

Vintages (from the README links and checked against the COGugaison commune lists):

=========  ===========================  ==================  =====================
package    INSEE page → PL millésime N  codes of package    geography of values
=========  ===========================  ==================  =====================
0.8.0      3677855 → 2016               COG 2019            COG 2018
1.1.1      6011070 → 2019               COG 2021            COG 2021
3.1.1      6683035 → 2020               COG 2023            COG 2022
4.0.0      7739582 → 2021               COG 2024            COG 2023
5.0.1      8290591 → 2022               COG 2025            COG 2024
6.0.0      8680726 → 2023               COG 2026            COG 2025
=========  ===========================  ==================  =====================

INSEE publishes PL N in the geography of 1 January N+2; Etalab joined it by code onto the
package's (later) COG. So every code that carries a population is a commune of COG N+2 with
its own N+2 value: a commune nouvelle created after N+2 that kept a former code shows only
that former commune's population (0.8.0: Vindry-sur-Turdine 69157 = 2,695, Pontcharra alone),
the communes it absorbed have no population, and codes created after N+2 have none. Hence
``cog_annee`` = N+2 (the geography of the values), not the package's COG; mapping to COG 2026
with the list of COG N+2 codes lets ``to_reference_cog`` detect the incomplete fusions (the ETL
first completes them from COGugaison where a table is pinned to the vintage:
``referentials/population_complements.csv``).

Kept: ``commune-actuelle`` entries with a population. Dropped (documented): communes
déléguées/associées (no population), arrondissements municipaux (their population is inside
Paris/Lyon/Marseille: dropping them avoids double counting), the COM (975, 977, 978, 98x:
populations from other censuses and years) and entries without population. Mayotte (976)
carries the 2017 census population in every package ≥ 1.1.1: those rows get ``annee`` 2017.
``ligne_source`` is NA (JSON member of a tarball).
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import OK, finalize, keep_communes

COMMUNES_MEMBER = "package/data/communes.json"
PACKAGE_MEMBER = "package/package.json"
README_MEMBER = "package/README.md"
PL_PAGE_YEAR = {
    "3677855": 2016,
    "6011070": 2019,
    "6683035": 2020,
    "7739582": 2021,
    "8290591": 2022,
    "8680726": 2023,
}
"""INSEE page id of the populations légales → millésime N."""
PACKAGE_COG = {"0.8.0": 2019, "1.1.1": 2021, "3.1.1": 2023, "4.0.0": 2024, "5.0.1": 2025, "6.0.0": 2026}
"""Package version → COG of its codes (checked against the COGugaison lists, see module doc)."""
PL_GEOGRAPHY_LAG = 2
MAYOTTE_PREFIX = "976"
MAYOTTE_YEAR = 2017
_COM = re.compile(r"^(?:97[578]|98)")
_PL_LINK = re.compile(r"\[Population l[ée]gale\]\(https?://www\.insee\.fr/fr/statistiques/(\d+)")


def _read_member(archive: tarfile.TarFile, name: str, path: Path) -> bytes:
    """Bytes of one tarball member, or an InputError naming the archive."""
    try:
        member = archive.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise InputError(path, f"membre {name} absent de l'archive")
    return member.read()


def population_vintage(readme: str, path: Path) -> int:
    """PL millésime N named by the package README's link to the INSEE page."""
    match = _PL_LINK.search(readme)
    if match is None or match.group(1) not in PL_PAGE_YEAR:
        found = match.group(1) if match else "aucun lien"
        raise InputError(path, f"millésime de population légale inconnu (page INSEE : {found})")
    return PL_PAGE_YEAR[match.group(1)]


def check_version(package_json: bytes, path: Path) -> str:
    """Package version, which must be one whose vintages were checked (see :data:`PACKAGE_COG`)."""
    version = str(json.loads(package_json).get("version", ""))
    if version not in PACKAGE_COG:
        raise InputError(path, f"version du paquet non vérifiée : « {version} »")
    return version


def parse_population(path: Path) -> pd.DataFrame:
    """Long frame of ``population`` (PL N) per commune, codes in the geography of N+2."""
    path = Path(path)
    try:
        with tarfile.open(path, "r:gz") as archive:
            check_version(_read_member(archive, PACKAGE_MEMBER, path), path)
            communes = json.loads(_read_member(archive, COMMUNES_MEMBER, path))
            readme = _read_member(archive, README_MEMBER, path).decode("utf-8")
    except (tarfile.TarError, OSError, json.JSONDecodeError) as exc:
        raise InputError(path, f"archive npm illisible : {exc}") from exc
    annee = population_vintage(readme, path)
    frame = pd.DataFrame(communes)
    if "population" not in frame.columns:
        frame["population"] = pd.NA
    if not {"code", "type"} <= set(frame.columns):
        raise InputError(path, f"{COMMUNES_MEMBER} : clés code/type absentes")
    frame = frame[(frame["type"] == "commune-actuelle") & frame["population"].notna()]
    frame = frame.assign(_ligne=pd.NA, code=frame["code"].astype(str))
    frame = frame[~frame["code"].str.match(_COM)]
    frame = keep_communes(frame, "code", path)
    valeur = pd.to_numeric(frame["population"], errors="coerce")
    if valeur.isna().any():
        bad = frame.loc[valeur.isna(), "code"].iloc[0]
        raise InputError(path, f"population non numérique pour la commune {bad}")
    mayotte = frame["code"].str.startswith(MAYOTTE_PREFIX)
    out = pd.DataFrame(
        {
            "code_commune_source": frame["code"],
            "cog_annee": annee + PL_GEOGRAPHY_LAG,
            "indicateur": "population",
            "annee": [MAYOTTE_YEAR if m else annee for m in mayotte],
            "valeur": valeur,
            "qualite": OK,
            "ligne_source": pd.NA,
        }
    )
    return finalize(out)
