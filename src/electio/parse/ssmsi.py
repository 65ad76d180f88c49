"""SSMSI recorded offences: choisir-sa-ville yearly JSONs (2016..2024) and the raw base layout.

**Yearly JSON** ``{year, unit, source, columns, rows}``; ``columns`` = insee, population,
violencesPersonnesPer1000, securiteBiensPer1000, tranquillitePer1000, indexGlobal, level,
dataCompleteness. Each group rate is the sum of the *published* SSMSI categories of the group
divided by ``population`` (× 1000). Checked on the raw Gironde 2017 sample: a group is null
exactly when all its categories are non-diffused, and otherwise equals published counts /
population (100 % of communes for the biens group, within rounding); ``population`` is the
same in all nine files (Lyon 515,695 = PL 2016), i.e. every year is divided by one fixed
population. So the parser **reconstructs counts** (``faits_*`` = rate × population / 1000,
flagged ``derive``; the 0.1 ‰ rounding of the rate gives ± 0.05 × population / 1000 facts)
and the per-1,000 rates are re-derived with each year's population by ``derive_rates``.

Non-published values (the SSMSI withholds a category with 1 to 4 facts: in the raw sample
no diffused count lies between 1 and 4): ``null`` → NA ``non_publie``. A **0** of the
violences or biens group (several categories) cannot be told apart from "published
categories are 0, others withheld" (376 of the 437 zeros of the violences group in the
Gironde 2017 sample were partly withheld) → NA ``non_publie``. A 0 of the tranquillité group
(one category, destructions/dégradations) is a published zero → kept. A positive group value
with some withheld categories is a lower bound (by at most 4 facts per withheld category);
it cannot be detected in the JSON and stays ``derive``. Stupéfiants are excluded by the
derivative's author; indexGlobal/level/dataCompleteness are not kept.

The meta JSON (``*_meta.json``, read when next to the file or given) names the code column
``CODGEO_2025`` → ``cog_annee`` 2025 (PLM arrondissements already merged into their
commune); it also checks the unit and the year. Without it ``cog_annee`` is NA.
``ligne_source`` is the 1-based index of the row in ``rows``.

**Raw base layout** (``parse_ssmsi_base``, used as a layout check on the Gironde 2017
sample): ``CODGEO_YYYY, annee, indicateur, …, nombre, …, est_diffuse`` (``NA`` + ``ndiff`` =
non diffusé). Gives the same ``faits_*`` groups from true counts; a group with any
non-diffused category is NA ``non_publie`` there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    DERIVE,
    NON_PUBLIE,
    OK,
    finalize,
    keep_communes,
    parse_numbers,
    read_text_table,
    require_columns,
)

GROUPS = {
    "violencesPersonnesPer1000": "faits_atteintes_personnes",
    "securiteBiensPer1000": "faits_atteintes_biens",
    "tranquillitePer1000": "faits_destructions_degradations",
}
"""JSON rate column → reconstructed count indicator."""
SINGLE_CATEGORY = {"tranquillitePer1000"}
"""Groups made of one SSMSI category: their zeros are published zeros."""
UNIT = "faits pour 1000 habitants"
BASE_CATEGORIES: Mapping[str, str] = {
    "Coups et blessures volontaires intrafamiliaux": "faits_atteintes_personnes",
    "Autres coups et blessures volontaires": "faits_atteintes_personnes",
    "Violences physiques intrafamiliales": "faits_atteintes_personnes",
    "Violences physiques hors cadre familial": "faits_atteintes_personnes",
    "Violences sexuelles": "faits_atteintes_personnes",
    "Vols avec armes": "faits_atteintes_personnes",
    "Vols violents sans arme": "faits_atteintes_personnes",
    "Vols sans violence contre des personnes": "faits_atteintes_biens",
    "Cambriolages de logement": "faits_atteintes_biens",
    "Vols de véhicules": "faits_atteintes_biens",
    "Vols dans les véhicules": "faits_atteintes_biens",
    "Vols d'accessoires sur véhicules": "faits_atteintes_biens",
    "Escroqueries": "faits_atteintes_biens",
    "Escroqueries et fraudes aux moyens de paiement": "faits_atteintes_biens",
    "Destructions et dégradations volontaires": "faits_destructions_degradations",
}
"""Raw SSMSI categories → group (the total "Coups et blessures volontaires" and stupéfiants are left out)."""
_CODGEO = re.compile(r"^CODGEO_(\d{4})$")


def _load_json(path: Path) -> dict:
    """Parsed JSON object, or an InputError naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"JSON illisible : {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(path, "objet JSON attendu")
    return data


def meta_path_for(path: Path) -> Path:
    """The meta JSON expected next to a yearly file (``…_2017.json`` → ``…_meta.json``)."""
    return path.with_name(re.sub(r"_\d{4}\.json$", "_meta.json", path.name))


def read_meta(meta: Path, year: int, unit: str) -> int:
    """COG vintage of the codes named by the meta JSON; checks the unit and the year."""
    data = _load_json(meta)
    column = str(data.get("inferredColumns", {}).get("inseeColumn", ""))
    match = _CODGEO.match(column)
    if match is None:
        raise InputError(meta, f"colonne de code commune inattendue : « {column} »")
    if data.get("unit") != unit:
        raise InputError(meta, f"unité différente de celle des fichiers annuels : « {data.get('unit')} »")
    if year not in data.get("yearsAvailable", []):
        raise InputError(meta, f"année {year} absente de yearsAvailable")
    return int(match.group(1))


def _year_rows(data: dict, path: Path) -> tuple[int, pd.DataFrame]:
    """Year and row table of a yearly JSON, with its layout checked."""
    if not {"year", "columns", "rows", "unit"} <= set(data):
        raise InputError(path, "clés year/unit/columns/rows attendues")
    if data["unit"] != UNIT:
        raise InputError(path, f"unité inattendue : « {data['unit']} »")
    if not isinstance(data["columns"], list) or not all(isinstance(c, str) for c in data["columns"]):
        raise InputError(path, "« columns » doit être une liste de noms de colonnes")
    columns = list(data["columns"])
    missing = [c for c in ["insee", "population", *GROUPS] if c not in columns]
    if missing:
        raise InputError(path, f"colonnes absentes : {', '.join(missing)}")
    if not isinstance(data["rows"], list) or not data["rows"]:
        raise InputError(path, "« rows » doit être une liste non vide de lignes")
    bad = next((i for i, row in enumerate(data["rows"], 1) if not isinstance(row, list) or len(row) != len(columns)), None)
    if bad is not None:
        raise InputError(path, f"la ligne {bad} de « rows » n'est pas une liste de {len(columns)} valeurs (une par colonne)", line=bad)
    if isinstance(data["year"], bool) or not str(data["year"]).isdigit():
        raise InputError(path, f"année illisible : « {data['year']} »")
    rows = pd.DataFrame(data["rows"], columns=columns, dtype=object)
    rows["_ligne"] = range(1, len(rows) + 1)
    return int(data["year"]), rows


def _numbers(rows: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Float64 column of a JSON row table (null → NA); text is an InputError."""
    values = rows[column].map(lambda v: "" if v is None else str(v))
    numbers, _ = parse_numbers(values, rows["_ligne"], path, column, secret_tokens=frozenset({""}))
    return numbers


def parse_ssmsi(path: Path, meta: Path | None = None) -> pd.DataFrame:
    """Long frame of reconstructed offence counts of one yearly JSON (see module doc)."""
    path = Path(path)
    year, rows = _year_rows(_load_json(path), path)
    meta = meta_path_for(path) if meta is None else Path(meta)
    cog = read_meta(meta, year, UNIT) if meta.is_file() else None
    rows = keep_communes(rows.assign(insee=rows["insee"].astype(str)), "insee", path)
    population = _numbers(rows, "population", path)
    parts = []
    for column, indicateur in GROUPS.items():
        rate = _numbers(rows, column, path)
        withheld = rate.isna() | population.isna() | population.le(0).fillna(True)
        if column not in SINGLE_CATEGORY:
            withheld |= rate.eq(0).fillna(False)
        parts.append(
            pd.DataFrame(
                {
                    "code_commune_source": rows["insee"],
                    "cog_annee": cog,
                    "indicateur": indicateur,
                    "annee": year,
                    "valeur": (rate * population / 1000).where(~withheld),
                    "qualite": pd.Series(DERIVE, index=rows.index).where(~withheld, NON_PUBLIE),
                    "ligne_source": rows["_ligne"],
                }
            )
        )
    return finalize(pd.concat(parts, ignore_index=True))


def parse_ssmsi_base(path: Path) -> pd.DataFrame:
    """Long frame of offence counts by group from the raw SSMSI base communale layout."""
    path = Path(path)
    frame = read_text_table(path, sep=",")
    code = next((c for c in frame.columns if _CODGEO.match(c)), None)
    if code is None:
        raise InputError(path, "colonne CODGEO_AAAA absente", line=1)
    require_columns(frame, ["annee", "indicateur", "nombre", "est_diffuse"], path)
    frame = keep_communes(frame, code, path)
    frame = frame[frame["indicateur"].isin(BASE_CATEGORIES)]
    withheld = frozenset({"NA", ""})
    nombre, _ = parse_numbers(frame["nombre"], frame["_ligne"], path, "nombre", secret_tokens=withheld)
    annee, _ = parse_numbers(frame["annee"], frame["_ligne"], path, "annee")
    frame = frame.assign(
        _groupe=frame["indicateur"].map(BASE_CATEGORIES),
        _nombre=nombre,
        _annee=annee.astype("Int64"),
        _retenu=nombre.isna() | frame["est_diffuse"].ne("diff"),
    )
    grouped = frame.groupby([code, "_annee", "_groupe"]).agg(
        valeur=("_nombre", "sum"), retenu=("_retenu", "any"), ligne_source=("_ligne", "min")
    )
    grouped = grouped.reset_index()
    out = pd.DataFrame(
        {
            "code_commune_source": grouped[code],
            "cog_annee": int(_CODGEO.match(code).group(1)),
            "indicateur": grouped["_groupe"],
            "annee": grouped["_annee"],
            "valeur": grouped["valeur"].where(~grouped["retenu"]),
            "qualite": grouped["retenu"].map({True: NON_PUBLIE, False: OK}),
            "ligne_source": grouped["ligne_source"],
        }
    )
    return finalize(out)
