"""PTOD IRIS indicators (départements 01, 38, 42, 69) aggregated to the commune.

Parquet, one row per IRIS (``code`` 9 characters, ``COM`` = commune or, for Lyon, the
arrondissement municipal; ``TYP_IRIS`` Z = commune non irisée), 264 columns named
``theme_indicator_unit_period`` (period suffix 11, 16, 22 = RP 2011, 2016, 2022). The
dictionary ``ptod_ddict_indicateurs_v3.7.0.json`` gives labels, units and formulas; when it
is found next to the file (or given) the parser checks that each kept rate is a ``%``.

The file only holds rates (shares in %), plus two stocks per year that serve as weights:
``Pyy_POP`` (population) and ``men_tot_stock_yy`` (households = résidences principales).
IRIS → commune (arrondissements of Lyon → 69123; also per arrondissement inside
``collecting_arrondissements``): the commune value is the weighted mean of
its IRIS values, Σ(rate × weight) / Σ weight over IRIS where both are known:

=============================  ====================  =========  ===============================
indicateur                     PTOD stem             weight     exactness
=============================  ====================  =========  ===============================
part_immigres                  dm_imm_pct            population exact (denominator = population)
part_etrangers                 dm_etr_pct            population exact
part_65ans_plus                dmv_65p_pct           population exact
taux_chomage                   soc_txchom_1564       population approx. (true denominator: actifs 15-64)
taux_emploi                    eco_txemp_1564        population approx. (population 15-64)
part_cadres, part_ouvriers     dsp_csp_*_pct         population approx. (population 15+)
part_diplomes_sup_bac2,        dsp_dipl_*_pct        population approx. (non-students 15+)
part_sans_bac
part_proprietaires             log_prop_pct          ménages    exact (denominator = résidences principales)
part_locataires_hlm (2022)     log_lochlm_pct        ménages    exact
part_familles_monoparentales   men_mono_pct          ménages    exact
part_logements_vacants         log_vac_pct           ménages    approx. (denominator: all dwellings)
=============================  ====================  =========  ===============================

No count is emitted: the populations (``Pyy_POP``) duplicate the populations légales, and the
Filosofi columns (``rev_*``) duplicate the commune-level Filosofi files, which are exact
where an IRIS aggregation of medians would only be approximate. SIRENE 2026, DVF and the
composite indices are not kept.

Quality: a commune with one IRIS keeps the value as is (``ok``, ``ligne_source`` = parquet
row, 1-based); a commune with several IRIS gets the weighted mean (``derive``, NA line);
no usable IRIS value → NA ``secret`` (INSEE blanks small IRIS). Codes: COG **2025**
(checked: no code outside it; 69114 Porte des Pierres Dorées, created in 2025, is absent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.indicators_common import (
    DERIVE,
    OK,
    SECRET,
    collecting,
    finalize,
    keep_arrondissement_rows,
    keep_communes,
    parent_commune,
    parse_numbers,
    read_parquet,
    require_columns,
)

COG = 2025
PERIODS = {"11": 2011, "16": 2016, "22": 2022}
WEIGHTS = {"population": "P{yy}_POP", "menages": "men_tot_stock_{yy}"}


@dataclass(frozen=True)
class Spec:
    """One kept PTOD rate: indicator code, column stem, periods and weight."""

    indicateur: str
    stem: str
    weight: str
    periods: tuple[str, ...] = ("11", "16", "22")


SPECS = (
    Spec("part_immigres", "dm_imm_pct", "population"),
    Spec("part_etrangers", "dm_etr_pct", "population"),
    Spec("part_65ans_plus", "dmv_65p_pct", "population"),
    Spec("taux_chomage", "soc_txchom_1564", "population"),
    Spec("taux_emploi", "eco_txemp_1564", "population"),
    Spec("part_cadres", "dsp_csp_cadres_pct", "population"),
    Spec("part_ouvriers", "dsp_csp_ouvriers_pct", "population"),
    Spec("part_diplomes_sup_bac2", "dsp_dipl_supbac2_pct", "population"),
    Spec("part_sans_bac", "dsp_dipl_infbac_pct", "population"),
    Spec("part_proprietaires", "log_prop_pct", "menages"),
    Spec("part_locataires_hlm", "log_lochlm_pct", "menages", ("22",)),
    Spec("part_familles_monoparentales", "men_mono_pct", "menages"),
    Spec("part_logements_vacants", "log_vac_pct", "menages"),
)


def dictionary_path_for(path: Path) -> Path | None:
    """The PTOD dictionary next to the parquet file, if any."""
    found = sorted(path.parent.glob("ptod_ddict_indicateurs_*.json"))
    return found[-1] if found else None


def check_dictionary(dictionary: Path) -> None:
    """Each kept stem described in the dictionary must be a percentage."""
    try:
        entries = json.loads(dictionary.read_text(encoding="utf-8"))["indicateurs"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise InputError(dictionary, f"dictionnaire PTOD illisible : {exc}") from exc
    for spec in SPECS:
        unit = entries.get(spec.stem, {}).get("unit", "%")
        if unit != "%":
            raise InputError(dictionary, f"{spec.stem} : unité « {unit} », % attendu")


def numeric(iris: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """A numeric parquet column as float; a text column must hold numbers (else InputError)."""
    if pd.api.types.is_numeric_dtype(iris[column]):
        return iris[column].astype("float64")
    text = iris[column].astype("string").fillna("")
    values, _ = parse_numbers(text, iris["_ligne"], path, column, secret_tokens=frozenset({""}))
    return values.astype("float64")


def aggregate(iris: pd.DataFrame, value: str, weight: str) -> pd.DataFrame:
    """Weighted mean of one rate per commune (``_commune``), with IRIS count and first row."""
    v, w = iris[value], iris[weight]
    usable = v.notna() & w.notna() & (w > 0)
    frame = pd.DataFrame(
        {
            "_commune": iris["_commune"],
            "vw": (v * w).where(usable, 0.0),
            "w": w.where(usable, 0.0),
            "v": v,
            "_ligne": iris["_ligne"],
        }
    )
    grouped = frame.groupby("_commune").agg(
        vw=("vw", "sum"), w=("w", "sum"), v=("v", "first"), n=("v", "size"), ligne=("_ligne", "first")
    )
    single = grouped["n"] == 1
    mean = (grouped["vw"] / grouped["w"]).where(grouped["w"] > 0)
    grouped["valeur"] = grouped["v"].where(single, mean)
    grouped["qualite"] = pd.Series(OK, index=grouped.index).where(single, DERIVE)
    grouped.loc[grouped["valeur"].isna(), "qualite"] = SECRET
    grouped["ligne_source"] = grouped["ligne"].where(single)
    return grouped.reset_index()


def parse_iris(path: Path, dictionary: Path | None = None) -> pd.DataFrame:
    """Long frame of PTOD IRIS rates aggregated to communes (see the module table)."""
    path = Path(path)
    dictionary = dictionary_path_for(path) if dictionary is None else Path(dictionary)
    if dictionary is not None:
        check_dictionary(dictionary)
    iris = read_parquet(path)
    columns = ["COM"]
    for spec in SPECS:
        for yy in spec.periods:
            columns += [f"{spec.stem}_{yy}", WEIGHTS[spec.weight].format(yy=yy)]
    require_columns(iris, columns, path)
    iris = keep_communes(iris, "COM", path)
    iris = iris.assign(_commune=parent_commune(iris["COM"]))
    iris = iris.assign(**{c: numeric(iris, c, path) for c in columns[1:]})
    if collecting():  # each IRIS of Lyon, Paris, Marseille carries its arrondissement in COM
        keep_arrondissement_rows(aggregated(iris.assign(_commune=iris["COM"])))
    return aggregated(iris)


def aggregated(iris: pd.DataFrame) -> pd.DataFrame:
    """Long frame of the IRIS rates aggregated to ``_commune`` (weighted means, see the module table)."""
    parts = []
    for spec in SPECS:
        for yy in spec.periods:
            weight = WEIGHTS[spec.weight].format(yy=yy)
            grouped = aggregate(iris, f"{spec.stem}_{yy}", weight)
            parts.append(
                pd.DataFrame(
                    {
                        "code_commune_source": grouped["_commune"],
                        "cog_annee": COG,
                        "indicateur": spec.indicateur,
                        "annee": PERIODS[yy],
                        "valeur": grouped["valeur"],
                        "qualite": grouped["qualite"],
                        "ligne_source": grouped["ligne_source"],
                    }
                )
            )
    return finalize(pd.concat(parts, ignore_index=True))
