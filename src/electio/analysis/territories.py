"""How close each département votes to France: the territory's representativeness, computed.

Every warehouse holds the totals of France and of every département for every national ballot
(``v_resultat_bloc_territoire``, ``fact_participation_territoire``). For the recent national first rounds,
each département's distance to France is the mean absolute gap of the bloc shares (points of the votes
cast, every bloc of the ballot, a bloc without candidate counting 0) and the mean absolute gap of turnout
(points of the registered voters). Départements are ranked by the bloc distance (1 = closest to France).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from electio.analysis.explore import has_relation

NATIONAL_TYPES = ("presidentielle", "legislatives", "europeennes")  # municipales are local contests: not comparable
RECENT_FROM = 2017  # two full electoral cycles (présidentielle, législatives, européennes)


@dataclass(frozen=True)
class TerritoryComparison:
    """Départements against France: ``table`` (one row per département, ranked), ``ballots`` used, ``per_ballot`` distances."""

    table: pd.DataFrame
    ballots: pd.DataFrame
    per_ballot: pd.DataFrame

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
    return TerritoryComparison(table, ballots, per_ballot.rename(columns={"code_territoire": "code_departement"}))
