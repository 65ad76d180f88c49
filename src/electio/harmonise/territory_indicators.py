"""France and département views of the national files, kept before the ETL restricts them to its territory.

Every commune file is restricted to the territory; before that, the national files give two small tables for
the territory's justification (``electio.analysis.territories``):

* ``fact_indicateur_territoire``: for the sources of :data:`TERRITORY_SOURCES` (the INSEE comparateur de
  territoires: population, area, RP 2018 unemployment and housing, Filosofi 2019, establishments, for every
  commune of France), the rates, shares, densities and medians of France and of each département. Counts are
  summed over the communes that publish them, then the rates of :data:`~electio.harmonise.indicators.RATIOS`
  are derived from the sums (the same definitions as for a commune); a rate or median the file publishes
  (poverty rate, median standard of living, share of taxed households) is the mean of the communes' values
  weighted by their population in the same file, over the communes that publish it (for a median, an
  approximation).
* ``disponibilite_territoire``: for every file the ETL reads (ballots and indicators), the COG 2026 communes of
  each département it gives a value for, and the département's communes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from electio.harmonise import geography
from electio.harmonise.indicators import ADDITIVE_UNITS, derive_rates, indicator_units
from electio.parse.indicators_common import OK

TERRITORY_SOURCES = ("multi_themes__insee_base_cc_comparateur_csv_2022_01",)
FRANCE, DEPARTEMENT = "france", "departement"
FRANCE_CODE = "FR"
VALUE_COLUMNS = ["indicateur", "niveau", "code_territoire", "annee", "valeur", "source_id", "communes"]
AVAILABILITY_COLUMNS = ["code_departement", "famille", "source_id", "scrutin_id", "communes", "communes_attendues"]


def departement_of(codes: pd.Series) -> pd.Series:
    """Département of INSEE commune codes: three characters overseas (97x), else two (2A, 2B included)."""
    codes = codes.astype(str)
    return codes.str[:2].where(~codes.str.startswith("97"), codes.str[:3])


def _levels(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows twice: under their département, and under France."""
    local = frame.assign(niveau=DEPARTEMENT, code_territoire=departement_of(frame["code_commune_source"]))
    return pd.concat([local, frame.assign(niveau=FRANCE, code_territoire=FRANCE_CODE)], ignore_index=True)


def territory_values(frame: pd.DataFrame, source_id: str, units: dict[str, str] | None = None) -> pd.DataFrame:
    """France and département values (:data:`VALUE_COLUMNS`) of one national long frame of the indicator parsers."""
    units = indicator_units() if units is None else units
    known = _levels(frame[frame["valeur"].notna() & frame["annee"].notna()][["code_commune_source", "indicateur", "annee", "valeur"]])
    keys = ["indicateur", "niveau", "code_territoire", "annee"]
    additive = known["indicateur"].map(lambda i: units.get(i) in ADDITIVE_UNITS)
    sums = known[additive].groupby(keys, as_index=False).agg(valeur=("valeur", "sum"), communes=("valeur", "size"))
    derived = derive_rates(sums.assign(code_commune_source=sums["niveau"] + ":" + sums["code_territoire"], cog_annee=pd.NA, qualite=OK, ligne_source=pd.NA))
    derived = derived[~derived["indicateur"].isin(sums["indicateur"]) & derived["valeur"].notna()]
    derived[["niveau", "code_territoire"]] = derived["code_commune_source"].str.split(":", n=1, expand=True).to_numpy()
    counted = sums.groupby(["niveau", "code_territoire"])["communes"].max().rename("communes").reset_index()
    rates = derived.merge(counted, on=["niveau", "code_territoire"])
    weighted = _weighted(known[~additive], known[known["indicateur"] == "population"], keys)
    out = pd.concat([rates, weighted], ignore_index=True).assign(source_id=source_id)
    out["annee"] = out["annee"].astype(int)
    return out[VALUE_COLUMNS].sort_values(keys).reset_index(drop=True)


def _weighted(values: pd.DataFrame, population: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Population-weighted mean of published rates and medians (the file's latest population as weight)."""
    if values.empty or population.empty:
        return pd.DataFrame(columns=[*keys, "valeur", "communes"])
    latest = population[population["annee"] == population["annee"].max()]
    weights = latest.drop_duplicates(["code_commune_source", "niveau"])[["code_commune_source", "niveau", "valeur"]].rename(columns={"valeur": "poids"})
    rows = values.merge(weights, on=["code_commune_source", "niveau"])
    rows = rows[rows["poids"] > 0].assign(produit=lambda r: r["valeur"] * r["poids"])
    grouped = rows.groupby(keys, as_index=False).agg(produit=("produit", "sum"), poids=("poids", "sum"), communes=("valeur", "size"))
    return grouped.assign(valeur=grouped["produit"] / grouped["poids"])[[*keys, "valeur", "communes"]]


def published_communes(codes: pd.Series, expected: pd.Series) -> pd.DataFrame:
    """Per département, distinct COG 2026 ``codes`` with a value, and the département's communes (``expected``: its codes)."""
    present = pd.Series(codes.dropna().astype(str).unique())
    counts = departement_of(present).value_counts().rename("communes")
    attendues = departement_of(pd.Series(expected.astype(str).unique())).value_counts().rename("communes_attendues")
    frame = pd.concat([counts, attendues], axis=1, join="inner").rename_axis("code_departement").reset_index()
    return frame.astype({"communes": int, "communes_attendues": int})


@dataclass
class NationalViews:
    """Collects, file by file, the national views of :mod:`this module <electio.harmonise.territory_indicators>`.

    ``mapping``: every commune code of every COG vintage → its COG 2026 code (``geography.build_commune_mapping``).
    """

    mapping: pd.DataFrame
    values: list[pd.DataFrame] = field(default_factory=list)
    availability: list[pd.DataFrame] = field(default_factory=list)

    def _to_2026(self, codes: pd.Series) -> pd.Series:
        unique = pd.Series(codes.dropna().astype(str).unique())
        return pd.Series(geography.map_codes(unique, self.mapping)["code_reference"].to_numpy())

    def add_indicators(self, source_id: str, frame: pd.DataFrame) -> None:
        """One indicator file (long frame, all its rows): its communes with a value, and its France/département values."""
        codes = self._to_2026(frame.loc[frame["valeur"].notna(), "code_commune_source"])
        self.availability.append(published_communes(codes, self.mapping["code_reference"]).assign(famille="indicateur", source_id=source_id, scrutin_id=None))
        if source_id in TERRITORY_SOURCES:
            self.values.append(territory_values(frame, source_id))

    def add_ballot(self, scrutin_id: str, source_id: str, codes: pd.Series) -> None:
        """One ballot file: the commune codes (as in the file) of its result rows."""
        found = published_communes(self._to_2026(codes), self.mapping["code_reference"])
        self.availability.append(found.assign(famille="scrutin", source_id=source_id, scrutin_id=scrutin_id))

    def tables(self) -> dict[str, pd.DataFrame]:
        """``fact_indicateur_territoire`` and ``disponibilite_territoire``."""
        values = pd.concat(self.values, ignore_index=True) if self.values else pd.DataFrame(columns=VALUE_COLUMNS)
        available = pd.concat(self.availability, ignore_index=True) if self.availability else pd.DataFrame(columns=AVAILABILITY_COLUMNS)
        return {"fact_indicateur_territoire": values[VALUE_COLUMNS], "disponibilite_territoire": available[AVAILABILITY_COLUMNS]}
