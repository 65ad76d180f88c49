"""Indicators ETL: every indicator source of the catalogue → COG 2026 → derived rates → dated facts.

Each source is parsed, restricted to the territory, mapped to COG 2026 on its own
(``to_reference_cog``: counts summed, rates population-weighted), then all sources are
concatenated and the per-capita rates and density derived in one place (``derive_rates``).
Every value carries its publication date (``referentials/indicateurs_disponibilite.csv``):
a model may use it for a ballot only if it was published before the ballot.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from electio import config
from electio.catalogue import Source, catalogue
from electio.errors import InputError
from electio.fetch import fetch
from electio.harmonise import geography
from electio.referentials import read_referential
from electio.harmonise.indicators import RATIOS, derive_rates, to_reference_cog
from electio.pipeline.lineage import Lineage, now

INDICATORS_CSV = config.REFERENTIALS_DIR / "indicateurs.csv"
AVAILABILITY_CSV = config.REFERENTIALS_DIR / "indicateurs_disponibilite.csv"
DERIVED_SOURCE = "calcul"
Say = Callable[[str], None]


def load_dim_indicateur(path: Path = INDICATORS_CSV) -> pd.DataFrame:
    """``dim_indicateur`` rows from the referential."""
    columns = ["indicateur", "libelle", "theme", "unite", "definition", "source", "sens_defavorable", "calcul"]
    frame = read_referential(path, columns)
    if frame["indicateur"].duplicated().any():
        dup = frame["indicateur"][frame["indicateur"].duplicated()].iloc[0]
        raise InputError(path, f"indicateur en double : {dup}", line=int(frame.index[frame["indicateur"] == dup][1]) + 2)
    return frame[columns]


def load_availability(path: Path = AVAILABILITY_CSV) -> pd.DataFrame:
    """Publication date of each (source, reference year)."""
    frame = read_referential(path, ["source_id", "annee", "date_publication", "regle"])
    frame["annee"] = frame["annee"].astype(int)
    frame["date_publication"] = pd.to_datetime(frame["date_publication"]).dt.date
    return frame


def indicator_sources() -> list[Source]:
    """Indicator sources the ETL loads (those with a parser and not marked ``charger = false``)."""
    return [s for s in catalogue().values() if s.folder == "indicators" and s.parser and s.charger]


def parse_indicator(source: Source, path: Path) -> pd.DataFrame:
    """Dispatch to the indicator parser the catalogue names."""
    module_name, _, function = source.parser.rpartition(".")
    return getattr(importlib.import_module(f"electio.parse.{module_name}"), function)(path)


def expected_codes_by_year(lineage: Lineage) -> dict[int, set[str]]:
    """Commune codes of each COG year 2008–2025, to detect communes missing a merged part."""
    from electio.pipeline.etl import GEO_SOURCES, get_source

    passage = lineage.record_input(fetch(get_source(GEO_SOURCES["passage"])))
    history = lineage.record_input(fetch(get_source(GEO_SOURCES["cog_history"])))
    cogs, _ = geography.read_cog_history(passage, history)
    return {year: set(frame.iloc[:, 0]) for year, frame in cogs.items()}


def _one_source(frame: pd.DataFrame, mapping: pd.DataFrame, population: pd.DataFrame, expected: dict[int, set[str]]) -> pd.DataFrame:
    """Map one source's rows (possibly several COG vintages) to COG 2026."""
    parts = []
    for cog, rows in frame.groupby("cog_annee", dropna=False):
        codes = expected.get(int(cog)) if pd.notna(cog) else None
        parts.append(to_reference_cog(rows, mapping, population, expected_codes=codes))
    return pd.concat(parts, ignore_index=True)


def _date_derived(facts: pd.DataFrame) -> pd.DataFrame:
    """Derived rows take the source and publication date of their numerator."""
    numerator = {r.indicateur: r.numerator for r in RATIOS}
    derived = facts["source_id"].isna()
    lookup = facts.loc[~derived, ["code_commune", "indicateur", "annee", "source_id", "date_publication"]]
    lookup = lookup.drop_duplicates(["code_commune", "indicateur", "annee"])
    rows = facts[derived].assign(_num=lambda f: f["indicateur"].map(numerator))
    rows = rows.drop(columns=["source_id", "date_publication"]).merge(
        lookup.rename(columns={"indicateur": "_num"}), on=["code_commune", "_num", "annee"], how="left"
    )
    rows["source_id"] = rows["source_id"].fillna(DERIVED_SOURCE)
    return pd.concat([facts[~derived], rows.drop(columns="_num")], ignore_index=True)


def build_indicators(lineage: Lineage, mapping: pd.DataFrame, communes: pd.DataFrame, say: Say) -> dict[str, pd.DataFrame]:
    """``dim_indicateur``, ``fact_indicateur_commune`` and ``couverture_indicateur`` for the territory."""
    dim = load_dim_indicateur()
    availability = load_availability()
    territory = mapping[mapping["code_reference"].isin(set(communes["code_commune"]))][["code_source", "code_reference"]]
    expected = expected_codes_by_year(lineage)
    parsed: list[tuple[Source, pd.DataFrame]] = []
    for source in indicator_sources():
        t0 = now()
        frame = parse_indicator(source, lineage.record_input(fetch(source)))
        kept = frame[frame["code_commune_source"].isin(set(territory["code_source"]))]
        lineage.record_step("parse_indicateur", source.id, len(frame), len(kept), len(frame) - len(kept), t0)
        parsed.append((source, kept))
    say("Indicateurs : passage au COG 2026 et taux dérivés")
    population = pd.concat([f for _, f in parsed if (f["indicateur"] == "population").any()], ignore_index=True)
    population = population[population["indicateur"] == "population"].drop_duplicates(["code_commune_source", "annee"])
    mapped = []
    for source, frame in parsed:
        if not frame.empty:
            mapped.append(_one_source(frame, territory, population, expected).assign(source_id=source.id))
    facts = pd.concat(mapped, ignore_index=True)
    ids = facts[["code_commune_source", "indicateur", "annee", "source_id"]]
    derived = derive_rates(facts)
    derived = derived.merge(ids.drop_duplicates(), on=["code_commune_source", "indicateur", "annee"], how="left")
    derived = derived.rename(columns={"code_commune_source": "code_commune"})
    dated = derived.merge(availability[["source_id", "annee", "date_publication"]], on=["source_id", "annee"], how="left")
    facts = _date_derived(dated)
    facts = facts.drop_duplicates(["code_commune", "indicateur", "annee", "source_id"])
    facts = facts[["code_commune", "indicateur", "annee", "valeur", "source_id", "qualite", "date_publication"]]
    return {"dim_indicateur": dim, "fact_indicateur_commune": facts.reset_index(drop=True),
            "couverture_indicateur": indicator_coverage(facts, dim, communes)}


def indicator_coverage(facts: pd.DataFrame, dim: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Per theme, indicator and year: communes with a value, NULLs by secret / not published; gaps listed."""
    expected = int((communes["type_unite"] == "commune").sum())
    # One row per commune, indicator and year (a value from any source wins over a NULL).
    best = facts.sort_values("valeur", na_position="last").drop_duplicates(["code_commune", "indicateur", "annee"])
    grouped = best.groupby(["indicateur", "annee"]).agg(
        communes_couvertes=("valeur", lambda v: int(v.notna().sum())),
        nulls_secret=("qualite", lambda q: int((q == "secret").sum())),
        nulls_non_publie=("qualite", lambda q: int((q == "non_publie").sum())),
    ).reset_index()
    coverage = dim[["indicateur", "theme"]].merge(grouped, on="indicateur", how="left")
    coverage["statut"] = coverage["annee"].notna().map({True: "ok", False: "lacune"})
    coverage["communes_attendues"] = expected
    for column in ("communes_couvertes", "nulls_secret", "nulls_non_publie"):
        coverage[column] = coverage[column].fillna(0).astype(int)
    coverage["annee"] = coverage["annee"].astype("Int64")
    return coverage[["theme", "indicateur", "annee", "communes_couvertes", "communes_attendues", "nulls_secret", "nulls_non_publie", "statut"]]
