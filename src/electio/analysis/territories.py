"""How close each département votes to France: the territory's representativeness, computed.

Every warehouse holds the totals of France and of every département for every national ballot
(``v_resultat_bloc_territoire``, ``fact_participation_territoire``). For the recent national first rounds,
each département's distance to France is the mean absolute gap of the bloc shares (points of the votes
cast, every bloc of the ballot, a bloc without candidate counting 0) and the mean absolute gap of turnout
(points of the registered voters). Départements are ranked by the bloc distance (1 = closest to France).

Two more rankings, when the warehouse holds the ETL's national views (``fact_indicateur_territoire``,
``disponibilite_territoire``, see ``electio.harmonise.territory_indicators``):

* socio-economic profile: for each indicator of :data:`SOCIO_INDICATORS` (latest year), the département's gap to
  France in standard deviations of the départements (z-gap; density on a log scale), and their mean absolute value
  (``distance_socio``, 1 = the profile closest to France's);
* data availability: for every ballot and indicator file the ETL read, the share of the département's communes with
  a value (0 when the file has none); the mean over the ballot files and the mean over the indicator files, and
  their average (``disponibilite``, 1 = the best-covered département); the same on the national files only
  (``disponibilite_nationale``: without the files gathered for one département, such as the Rhône's own).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from electio.analysis.explore import has_relation

FRANCE = "FR"
NATIONAL_TYPES = ("presidentielle", "legislatives", "europeennes")  # municipales are local contests: not comparable
RECENT_FROM = 2017  # two full electoral cycles (présidentielle, législatives, européennes)
SOCIO_INDICATORS = ("densite", "taux_chomage", "taux_pauvrete", "revenu_median", "part_menages_imposes", "part_proprietaires",
                    "part_logements_vacants", "part_residences_secondaires", "etablissements_pour_1000hab")
NATIONAL_FILE = 0.5  # a file with communes in more than half of the départements is national (the others cover one or a few)
LOG_SCALE = frozenset({"densite"})  # from 20 to 20,000 inhabitants per km²: compared on a log scale


@dataclass(frozen=True)
class TerritoryComparison:
    """Départements against France: ``table`` (one row per département, ranked), ``ballots`` used, ``per_ballot`` distances."""

    table: pd.DataFrame
    ballots: pd.DataFrame
    per_ballot: pd.DataFrame
    profile: pd.DataFrame | None = None
    """Socio-economic indicators (rows) of France (``FR``), each candidate département and their median (``mediane``)."""
    indicators: pd.DataFrame | None = None
    """The indicators of ``profile``: indicateur, libelle, unite, annee, source_id."""

    def row(self, code: str) -> dict | None:
        """The row of département ``code`` (None when it is not among the candidates)."""
        found = self.table[self.table["code_departement"] == code]
        return None if found.empty else found.iloc[0].to_dict()


def national_ballots(con: duckdb.DuckDBPyConnection, since: int = RECENT_FROM) -> pd.DataFrame:
    """Recent national first rounds with France and département totals in the warehouse."""
    return con.execute("""
        SELECT s.scrutin_id, s.libelle, s.date_scrutin FROM dim_scrutin s
        WHERE s.tour = 1 AND s.type_scrutin IN (SELECT unnest(?)) AND year(s.date_scrutin) >= ?
          AND s.scrutin_id IN (SELECT scrutin_id FROM fact_participation_territoire WHERE niveau = 'france')
          AND s.scrutin_id IN (SELECT scrutin_id FROM fact_participation_territoire WHERE niveau = 'departement')
        ORDER BY s.date_scrutin""", [list(NATIONAL_TYPES), since]).df()


def candidate_departements(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every département (metropolitan and overseas), not the collectivities that are their own region."""
    return con.execute("""
        SELECT code_departement, nom_departement FROM dim_departement
        WHERE code_region IS NOT NULL AND code_region <> code_departement ORDER BY code_departement""").df()


def bloc_gaps(con: duckdb.DuckDBPyConnection, ballots: list[str]) -> pd.DataFrame:
    """Per département and ballot, the mean absolute gap (points) of the bloc shares to France's."""
    shares = con.execute("""
        SELECT scrutin_id, niveau, code_territoire, bloc, part FROM v_resultat_bloc_territoire
        WHERE scrutin_id IN (SELECT unnest(?)) AND niveau IN ('france', 'departement')""", [ballots]).df()
    france = shares[shares["niveau"] == "france"][["scrutin_id", "bloc", "part"]].rename(columns={"part": "part_fr"})
    local = shares[shares["niveau"] == "departement"]
    grid = local[["scrutin_id", "code_territoire"]].drop_duplicates().merge(france, on="scrutin_id")  # every bloc France had
    grid = grid.merge(local[["scrutin_id", "code_territoire", "bloc", "part"]], on=["scrutin_id", "code_territoire", "bloc"], how="left")
    grid["ecart"] = 100 * (grid["part"].fillna(0.0) - grid["part_fr"]).abs()
    return grid.groupby(["code_territoire", "scrutin_id"], as_index=False)["ecart"].mean().rename(columns={"ecart": "distance_blocs"})


def turnout_gaps(con: duckdb.DuckDBPyConnection, ballots: list[str]) -> pd.DataFrame:
    """Per département and ballot, the absolute turnout gap (points of the registered voters) to France."""
    return con.execute("""
        WITH t AS (SELECT scrutin_id, niveau, code_territoire, votants / inscrits AS participation
                   FROM fact_participation_territoire WHERE scrutin_id IN (SELECT unnest(?)) AND inscrits > 0)
        SELECT d.code_territoire, d.scrutin_id, 100 * abs(d.participation - f.participation) AS ecart_participation
        FROM t d JOIN t f ON f.scrutin_id = d.scrutin_id AND f.niveau = 'france'
        WHERE d.niveau = 'departement'""", [ballots]).df()


def compare_territories(con: duckdb.DuckDBPyConnection, since: int = RECENT_FROM) -> TerritoryComparison | None:
    """Rank every département by how close its recent national first rounds are to France's; None without totals."""
    if not (has_relation(con, "v_resultat_bloc_territoire") and has_relation(con, "fact_participation_territoire")):
        return None
    ballots = national_ballots(con, since)
    if ballots.empty:
        return None
    ids = ballots["scrutin_id"].tolist()
    per_ballot = bloc_gaps(con, ids).merge(turnout_gaps(con, ids), on=["code_territoire", "scrutin_id"], how="left")
    departements = candidate_departements(con)
    per_ballot = per_ballot[per_ballot["code_territoire"].isin(departements["code_departement"])]
    complete = per_ballot.groupby("code_territoire")["scrutin_id"].transform("nunique") == len(ids)  # the same ballots for all
    table = (per_ballot[complete].groupby("code_territoire", as_index=False)
             .agg(distance_blocs=("distance_blocs", "mean"), ecart_participation=("ecart_participation", "mean"))
             .rename(columns={"code_territoire": "code_departement"}).merge(departements, on="code_departement"))
    table = table.sort_values(["distance_blocs", "code_departement"]).reset_index(drop=True)
    table["rang"] = range(1, len(table) + 1)
    table["rang_participation"] = table["ecart_participation"].rank(method="min").astype(int)
    profile, indicators = socio_profile(con, departements["code_departement"])
    table = table.merge(socio_distance(profile), on="code_departement", how="left").merge(availability(con, departements), on="code_departement", how="left")
    for score, rank, closest_first in (("distance_socio", "rang_socio", True), ("disponibilite", "rang_disponibilite", False),
                                       ("disponibilite_nationale", "rang_disponibilite_nationale", False)):
        table[rank] = table[score].rank(method="min", ascending=closest_first).astype("Int64")
    return TerritoryComparison(table, ballots, per_ballot.rename(columns={"code_territoire": "code_departement"}), profile, indicators)


def socio_profile(con: duckdb.DuckDBPyConnection, departements: pd.Series) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Latest value of each socio-economic indicator for France and every candidate département, plus their median."""
    if not has_relation(con, "fact_indicateur_territoire"):
        return None, None
    rows = con.execute("""
        SELECT f.indicateur, d.libelle, d.unite, f.annee, f.source_id, f.code_territoire, f.valeur
        FROM fact_indicateur_territoire f JOIN dim_indicateur d USING (indicateur)
        WHERE f.indicateur IN (SELECT unnest(?))
        QUALIFY f.annee = max(f.annee) OVER (PARTITION BY f.indicateur)""", [list(SOCIO_INDICATORS)]).df()
    rows = rows[rows["code_territoire"].isin([FRANCE, *departements])]
    if rows.empty or FRANCE not in set(rows["code_territoire"]):
        return None, None
    profile = rows.pivot_table(index="indicateur", columns="code_territoire", values="valeur", aggfunc="first")
    order = [i for i in SOCIO_INDICATORS if i in profile.index]
    profile = profile.reindex(order)
    profile["mediane"] = profile.drop(columns=FRANCE).median(axis=1)
    indicators = rows.drop_duplicates("indicateur").set_index("indicateur").loc[order, ["libelle", "unite", "annee", "source_id"]].reset_index()
    return profile, indicators


def socio_gaps(profile: pd.DataFrame) -> pd.DataFrame:
    """Absolute gap of each département (columns) to France on each indicator (rows), in standard deviations of the
    départements (log10 for :data:`LOG_SCALE`)."""
    values = profile.drop(columns="mediane").copy()
    for indicator in LOG_SCALE & set(values.index):
        row = values.loc[indicator]
        values.loc[indicator] = np.log10(row.where(row > 0))
    local = values.drop(columns=FRANCE)
    return local.sub(values[FRANCE], axis=0).div(local.std(axis=1, ddof=0).replace(0, np.nan), axis=0).abs()


def socio_distance(profile: pd.DataFrame | None) -> pd.DataFrame:
    """Per département: mean absolute z-gap to France over the indicators (``distance_socio``), and their number."""
    columns = ["code_departement", "distance_socio", "indicateurs_socio"]
    if profile is None:
        return pd.DataFrame(columns=columns)
    gaps = socio_gaps(profile)
    complete = gaps.notna().sum() == len(gaps)  # every indicator known: the same yardstick for all
    frame = pd.DataFrame({"distance_socio": gaps.mean(), "indicateurs_socio": gaps.notna().sum()})[complete]
    return frame.rename_axis("code_departement").reset_index()[columns]


def availability(con: duckdb.DuckDBPyConnection, departements: pd.DataFrame) -> pd.DataFrame:
    """Per département: ballot files with commune results, mean share of communes covered by the ballot files and by
    the indicator files the ETL read, and their average (``disponibilite``)."""
    columns = ["code_departement", "scrutins_communes", "scrutins_lus", "indicateurs_lus", "couverture_scrutins", "couverture_indicateurs", "disponibilite",
               "disponibilite_nationale", "fichiers_nationaux"]
    if not has_relation(con, "disponibilite_territoire"):
        return pd.DataFrame(columns=columns)
    rows = con.execute("SELECT code_departement, famille, source_id, communes / communes_attendues AS part FROM disponibilite_territoire").df()
    files = rows[["famille", "source_id"]].drop_duplicates()
    grid = departements[["code_departement"]].merge(files, how="cross").merge(rows, on=["code_departement", "famille", "source_id"], how="left")
    grid["part"] = grid["part"].fillna(0.0).clip(upper=1.0)
    shares = grid.pivot_table(index="code_departement", columns="famille", values="part", aggfunc="mean")
    if not {"scrutin", "indicateur"} <= set(shares.columns):
        return pd.DataFrame(columns=columns)
    ballots = grid[grid["famille"] == "scrutin"]
    frame = pd.DataFrame({"scrutins_communes": ballots[ballots["part"] > 0].groupby("code_departement").size(),
                          "couverture_scrutins": shares["scrutin"], "couverture_indicateurs": shares["indicateur"]})
    frame["scrutins_communes"] = frame["scrutins_communes"].fillna(0).astype(int)
    frame["scrutins_lus"] = int((files["famille"] == "scrutin").sum())
    frame["indicateurs_lus"] = int((files["famille"] == "indicateur").sum())
    frame["disponibilite"] = (frame["couverture_scrutins"] + frame["couverture_indicateurs"]) / 2
    national = grid[grid.groupby(["famille", "source_id"])["part"].transform(lambda p: (p > 0).mean()) > NATIONAL_FILE]
    national_shares = national.pivot_table(index="code_departement", columns="famille", values="part", aggfunc="mean")
    frame["disponibilite_nationale"] = national_shares.reindex(columns=["scrutin", "indicateur"]).mean(axis=1)
    frame["fichiers_nationaux"] = len(national[["famille", "source_id"]].drop_duplicates())
    return frame.rename_axis("code_departement").reset_index()[columns]
