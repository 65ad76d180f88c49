"""Loading the warehouse for the models, cut to an as-of date: the single place where that cut is made.

:func:`load_election_data` reads a warehouse (read-only) into :class:`ElectionData` — first-round
commune results of the modelled ballot types, local indicators with their publication dates, the
national vote-intention polls (summed per bloc), and the France and département totals of every
ballot — and, given an as-of date ``D``, keeps only what was public before ``D``
(:func:`cut_to_date`):

* ballots held before ``D`` (results, commune facts, France and département totals, and the
  official bloc results of 1965–2019 kept with the polls); an estimated arrondissement row (a
  commune total split with the shares of a reference ballot, docs/units.md) only when its
  reference ballot is also before ``D`` (the split uses that ballot's results);
* polls whose publication date, or failing it (no compiler gives it) whose fieldwork end, is
  before ``D``;
* indicators published before ``D`` (``date_publication``; a derived rate is dated by the later
  of its numerator's and its denominator's publication).

Every later stage (features, training rows, interval calibration, territory totals, spreads)
works on the cut data only, so a forecast replayed "as of" a past date sees exactly what a
forecaster saw that day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from electio import config
from electio.errors import ElectioError
from electio.features.unit_estimates import reestimate

BALLOT_TYPES: tuple[str, ...] = ("presidentielle", "legislatives", "europeennes")
AVAILABILITY_CSV = config.REFERENTIALS_DIR / "indicateurs_disponibilite.csv"
KEYS = ["scrutin_id", "code_commune"]
ABSTENTION = "abstention"


@dataclass(frozen=True)
class ElectionData:
    """Election results of one warehouse, in the shape the models need, as known on ``as_of``.

    ``ballots``: scrutin_id, type_scrutin, date_scrutin (Timestamp), one bool column per bloc
    (the bloc stood), sorted by date. ``results``: scrutin_id, code_commune, code_departement,
    inscrits, votants, exprimes, ``voix_<bloc>``, ``estime`` and ``date_estimation`` (reference
    ballot's date of an estimated row, else NaT); ``code_commune`` is the unit of analysis (the
    commune, or an arrondissement municipal: :func:`load_election_data`). ``indicators``: code_commune, indicateur,
    annee, valeur, date_publication — or None when the warehouse has none. ``polls``: one row per
    poll scenario and bloc (see :func:`load_polls`). ``totals``: France and département shares of
    every ballot, blocs and abstention (see :func:`load_totals`). ``poll_history``: official bloc
    results 1965–2019 published with the polls (scrutin_cible, date_scrutin, code_bloc, part).
    ``as_of``: the cut date (None: everything in the warehouse). ``arrondissements``: the codes of
    ``results`` that stand for a commune with arrondissements municipaux: its arrondissements, or
    the commune itself when read by commune (so that both readings score the same other communes).
    ``cities``: the city-level rows (``results`` layout) of the communes read by arrondissement, and
    ``parents`` the (arrondissement, city) pairs: :func:`cut_to_date` re-estimates from them.
    """

    blocs: tuple[str, ...]
    ballots: pd.DataFrame
    results: pd.DataFrame
    indicators: pd.DataFrame | None = None
    territoire: str = "69"
    polls: pd.DataFrame | None = None
    totals: pd.DataFrame | None = None
    poll_history: pd.DataFrame | None = None
    as_of: pd.Timestamp | None = None
    arrondissements: frozenset[str] = frozenset()
    cities: pd.DataFrame | None = None
    parents: tuple[tuple[str, str], ...] = ()


# ─── Reading ─────────────────────────────────────────────────────────────────────────────

def _has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])


def _relation_columns(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]).fetchall()
    return {r[0] for r in rows}


def load_indicators(con: duckdb.DuckDBPyConnection, availability: Path = AVAILABILITY_CSV,
                    relation: str = "v_indicateur_commune") -> pd.DataFrame | None:
    """Indicator values with their publication date, or None when the warehouse has none.

    The date comes from the view's ``date_publication`` column when it has one, else from
    ``referentials/indicateurs_disponibilite.csv`` joined on (source, annee). Values without a
    publication date are dropped: their availability cannot be proven. ``relation``:
    ``v_indicateur_unite`` reads the arrondissements' own rows (``code_commune`` = ``code_unite``).
    """
    if not _has_relation(con, relation):
        return None
    columns = _relation_columns(con, relation)
    dated = "date_publication" in columns
    code = "code_unite AS code_commune" if "code_unite" in columns else "code_commune"
    select = f"{code}, indicateur, annee, valeur" + (", date_publication" if dated else ", source")
    where = " AND code_unite <> code_commune" if "code_unite" in columns else ""
    frame = con.execute(f"SELECT {select} FROM {relation} WHERE valeur IS NOT NULL{where}").df()
    if not dated:
        if not availability.is_file():
            return None
        dates = pd.read_csv(availability, dtype={"source_id": str})[["source_id", "annee", "date_publication"]]
        frame = frame.merge(dates, left_on=["source", "annee"], right_on=["source_id", "annee"], how="inner")
    frame["date_publication"] = pd.to_datetime(frame["date_publication"])
    frame["valeur"] = frame["valeur"].astype(float)
    return frame[["code_commune", "indicateur", "annee", "valeur", "date_publication"]].dropna().reset_index(drop=True)


def load_polls(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """Vote-intention polls per scenario and bloc, or None when the warehouse has no poll tables.

    Columns: sondage_id, scrutin_cible, tour, niveau, institut, date_debut, date_fin,
    date_publication, date_connue (publication, else fieldwork end), echantillon, candidats,
    complet, vague_glissante, code_bloc, intention (percent of the scenario's options of the bloc).
    """
    if not (_has_relation(con, "dim_sondage") and _has_relation(con, "fact_intention_vote")):
        return None
    frame = con.execute(
        """SELECT s.sondage_id, s.scrutin_cible, s.tour, s.niveau, s.institut, s.date_debut, s.date_fin, s.date_publication,
                  coalesce(s.date_publication, s.date_fin) AS date_connue, s.echantillon, s.candidats, s.complet, s.vague_glissante,
                  f.code_bloc, sum(f.intention) AS intention
           FROM dim_sondage s JOIN fact_intention_vote f USING (sondage_id)
           WHERE f.code_bloc IS NOT NULL AND f.intention IS NOT NULL
           GROUP BY ALL ORDER BY s.date_fin, s.sondage_id, f.code_bloc"""
    ).df()
    for column in ("date_debut", "date_fin", "date_publication", "date_connue"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def load_poll_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """Official bloc results published with the historical polls (1965–2019), shares as fractions."""
    if not _has_relation(con, "resultat_bloc_sondage"):
        return None
    frame = con.execute(
        "SELECT scrutin_cible, date_scrutin, code_bloc, sum(part) / 100 AS part FROM resultat_bloc_sondage WHERE part IS NOT NULL GROUP BY ALL ORDER BY 2, 3"
    ).df()
    frame["date_scrutin"] = pd.to_datetime(frame["date_scrutin"])
    return frame


def load_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """France and département totals of every ballot: one row per ballot, territory and output.

    Columns: scrutin_id, type_scrutin, tour, date_scrutin, niveau, code_territoire, output (a bloc
    or ``abstention``), part (share of exprimés; abstention: share of inscrits).
    """
    if not (_has_relation(con, "v_resultat_bloc_territoire") and _has_relation(con, "fact_participation_territoire")):
        return None
    frame = con.execute(
        f"""SELECT t.scrutin_id, s.type_scrutin, s.tour, s.date_scrutin, t.niveau, t.code_territoire, t.bloc AS output, t.part
            FROM v_resultat_bloc_territoire t JOIN dim_scrutin s USING (scrutin_id)
            UNION ALL
            SELECT p.scrutin_id, s.type_scrutin, s.tour, s.date_scrutin, p.niveau, p.code_territoire, '{ABSTENTION}', 1 - p.votants / p.inscrits
            FROM fact_participation_territoire p JOIN dim_scrutin s USING (scrutin_id) WHERE p.inscrits > 0
            ORDER BY date_scrutin, niveau, code_territoire, output"""
    ).df()
    frame["date_scrutin"] = pd.to_datetime(frame["date_scrutin"])
    return frame


MODELLED_UNIT_TYPES: tuple[str, ...] = ("commune", "arrondissement")


def _commune_frames(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bloc results and participation of every commune (Paris, Lyon, Marseille as one row each)."""
    long = con.execute(
        """SELECT r.scrutin_id, r.code_commune, c.code_departement, r.bloc, r.voix
           FROM v_resultat_bloc_commune r JOIN dim_commune c USING (code_commune)
           WHERE c.type_unite = 'commune'"""
    ).df()
    participation = con.execute(
        """SELECT p.scrutin_id, p.code_commune, p.inscrits, p.votants, p.exprimes,
                  FALSE AS estime, CAST(NULL AS DATE) AS date_estimation
           FROM v_participation_commune p JOIN dim_commune c USING (code_commune)
           WHERE c.type_unite = 'commune' AND p.exprimes > 0 AND p.inscrits > 0"""
    ).df()
    return long, participation


def _unit_frames(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bloc results and participation per unit of analysis (``code_commune`` holds ``code_unite``).

    ``estime``: the row splits a commune total (docs/units.md); ``date_estimation``: the date of
    its reference ballot, after which only the row may be known (see :func:`cut_to_date`).
    """
    types = ", ".join(f"'{t}'" for t in MODELLED_UNIT_TYPES)
    long = con.execute(
        f"""SELECT r.scrutin_id, r.code_unite AS code_commune, u.code_departement, r.bloc, r.voix
            FROM v_resultat_bloc_unite r JOIN dim_unite u USING (code_unite)
            WHERE u.type_unite IN ({types})"""
    ).df()
    participation = con.execute(
        f"""SELECT p.scrutin_id, p.code_unite AS code_commune, p.inscrits, p.votants, p.exprimes,
                   p.estime, s.date_scrutin AS date_estimation
            FROM v_participation_unite p JOIN dim_unite u USING (code_unite)
            LEFT JOIN dim_scrutin s ON s.scrutin_id = p.scrutin_reference
            WHERE u.type_unite IN ({types}) AND p.exprimes > 0 AND p.inscrits > 0"""
    ).df()
    return long, participation


def unit_parents(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Arrondissement → its commune, for the units below the commune (empty without ``dim_unite``)."""
    if not _has_relation(con, "dim_unite"):
        return {}
    rows = con.execute("SELECT code_unite, code_commune FROM dim_unite WHERE code_unite <> code_commune").fetchall()
    return dict(rows)


def unit_indicators(indicators: pd.DataFrame | None, own: pd.DataFrame | None, parents: dict[str, str]) -> pd.DataFrame | None:
    """Indicators per unit of analysis: an arrondissement's own values of an indicator where its
    sources publish them (``own``), else every value of its commune (the whole city's) for that
    indicator — never a mix of the two for one indicator."""
    if indicators is None or not parents:
        return indicators
    own = own if own is not None else indicators.iloc[:0]
    has_own = set(zip(own["code_commune"], own["indicateur"], strict=True))
    inherited = []
    for unit, parent in parents.items():
        rows = indicators[indicators["code_commune"] == parent]
        keep = [(unit, i) not in has_own for i in rows["indicateur"]]
        inherited.append(rows[keep].assign(code_commune=unit))
    frame = pd.concat([indicators[~indicators["code_commune"].isin(set(parents.values()))], own, *inherited], ignore_index=True)
    return frame.reset_index(drop=True)


def has_units(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse carries the units of analysis (``v_participation_unite`` and a filled ``dim_unite``)."""
    return (_has_relation(con, "v_participation_unite") and _has_relation(con, "dim_unite")
            and bool(con.execute("SELECT count(*) FROM dim_unite").fetchone()[0]))


def load_election_data(path: Path, territoire: str | None = None, as_of: date | pd.Timestamp | None = None,
                       units: bool = True) -> ElectionData:
    """Read a warehouse (read-only) as known on ``as_of`` (default: everything it holds).

    ``units``: one row per unit of analysis — the commune, or in a commune with arrondissements
    municipaux each arrondissement (``code_commune`` then holds the unit's code, e.g. 69381);
    False: one row per commune (Lyon as one). Rule for estimated unit rows: :func:`cut_to_date`
    and ``features.modelling_table.target_rows``.
    """
    from electio.warehouse.store import connect

    with connect(path) as con:
        blocs = tuple(r[0] for r in con.execute("SELECT code_bloc FROM dim_bloc ORDER BY ordre").fetchall())
        types = ", ".join(f"'{t}'" for t in BALLOT_TYPES)
        ballots = con.execute(
            f"SELECT scrutin_id, type_scrutin, date_scrutin FROM dim_scrutin WHERE tour = 1 AND type_scrutin IN ({types}) ORDER BY date_scrutin"
        ).df()
        by_unit = units and has_units(con)
        long, participation = _unit_frames(con) if by_unit else _commune_frames(con)
        city_frames = _commune_frames(con) if by_unit else None
        parents = unit_parents(con)
        own = load_indicators(con, relation="v_indicateur_unite") if by_unit else None
        indicators = unit_indicators(load_indicators(con), own, parents if by_unit else {})
        polls, totals, history = load_polls(con), load_totals(con), load_poll_history(con)
        run_territory = con.execute("SELECT territoire FROM etl_run ORDER BY started_at DESC LIMIT 1").fetchone()
    long = long[long["scrutin_id"].isin(ballots["scrutin_id"])]
    participation = participation.assign(estime=participation["estime"].astype(bool),
                                         date_estimation=pd.to_datetime(participation["date_estimation"]))
    data = assemble(blocs, ballots, long, participation, indicators, territoire or (run_territory[0] if run_territory else "69"))
    divided = frozenset(parents) if by_unit else frozenset(parents.values())
    cities = None
    if by_unit:
        city_long, city_part = city_frames
        city_long = city_long[city_long["code_commune"].isin(set(parents.values()))]
        cities = assemble(blocs, ballots, city_long, city_part.assign(date_estimation=pd.NaT), None).results
    data = replace(data, polls=polls, totals=totals, poll_history=history, arrondissements=divided, cities=cities,
                   parents=tuple(sorted(parents.items())))
    return data if as_of is None else checked_cut(data, pd.Timestamp(as_of), path)


def checked_cut(data: ElectionData, as_of: pd.Timestamp, path: Path) -> ElectionData:
    """:func:`cut_to_date`, refusing a date in the future or one before the warehouse's second ballot (nothing to learn from)."""
    if as_of.normalize() > pd.Timestamp(date.today()):
        raise ElectioError(f"date de référence {as_of:%d/%m/%Y} dans le futur : une prévision ne peut être établie qu'à une date passée ou aujourd'hui")
    cut = cut_to_date(data, as_of)
    if len(cut.ballots) < 2:
        first = data.ballots["date_scrutin"].iloc[1] if len(data.ballots) > 1 else None
        after = f" ; choisissez une date postérieure au {first:%d/%m/%Y}" if first is not None else ""
        raise ElectioError(f"date de référence {as_of:%d/%m/%Y} trop ancienne : l'entrepôt {path.name} a moins de deux scrutins avant elle{after}")
    return cut


def assemble(blocs: Sequence[str], ballots: pd.DataFrame, long: pd.DataFrame, participation: pd.DataFrame,
             indicators: pd.DataFrame | None = None, territoire: str = "69") -> ElectionData:
    """Build :class:`ElectionData` from long bloc results (scrutin_id, code_commune, code_departement, bloc, voix)."""
    stood = long[["scrutin_id", "bloc"]].drop_duplicates().assign(flag=True)
    presence = stood.pivot(index="scrutin_id", columns="bloc", values="flag").reindex(columns=list(blocs)).fillna(False).astype(bool)
    ballots = ballots.assign(date_scrutin=pd.to_datetime(ballots["date_scrutin"]))
    ballots = ballots.merge(presence, left_on="scrutin_id", right_index=True, how="inner").sort_values("date_scrutin").reset_index(drop=True)
    wide = long.pivot_table(index=["scrutin_id", "code_commune", "code_departement"], columns="bloc", values="voix", aggfunc="sum")
    wide = wide.reindex(columns=list(blocs)).add_prefix("voix_").reset_index()
    wide.columns.name = None
    results = wide.merge(participation, on=KEYS, how="inner")
    results = results[results["scrutin_id"].isin(ballots["scrutin_id"])].reset_index(drop=True)
    return ElectionData(tuple(blocs), ballots, results, indicators, territoire)


# ─── The as-of cut ───────────────────────────────────────────────────────────────────────

def _before(frame: pd.DataFrame | None, column: str, as_of: pd.Timestamp) -> pd.DataFrame | None:
    return None if frame is None else frame[frame[column] < as_of].reset_index(drop=True)


def cut_to_date(data: ElectionData, as_of: pd.Timestamp) -> ElectionData:
    """What was public strictly before ``as_of`` (see the module docstring for the rule per input)."""
    as_of = pd.Timestamp(as_of)
    if data.as_of is not None and data.as_of < as_of:
        raise ValueError(f"données déjà coupées au {data.as_of.date()} : impossible de les couper au {as_of.date()}, plus tard")
    ballots = _before(data.ballots, "date_scrutin", as_of)
    results = data.results[data.results["scrutin_id"].isin(ballots["scrutin_id"])]
    if "date_estimation" in results.columns:  # an estimated unit row is known once its reference ballot is
        results = results[~(results["date_estimation"] >= as_of)]
        if data.cities is not None:  # ... else re-estimated from the ballots measured before the date
            cities = data.cities[data.cities["scrutin_id"].isin(ballots["scrutin_id"])]
            results = pd.concat([results, reestimate(results, cities, ballots, dict(data.parents))], ignore_index=True)
    results = results.reset_index(drop=True)
    return replace(data, ballots=ballots, results=results, indicators=_before(data.indicators, "date_publication", as_of),
                   polls=_before(data.polls, "date_connue", as_of), totals=_before(data.totals, "date_scrutin", as_of),
                   poll_history=_before(data.poll_history, "date_scrutin", as_of), as_of=as_of)


def latest_dates(data: ElectionData) -> dict[str, pd.Timestamp | None]:
    """The newest date of each input of ``data`` (to prove that nothing reaches past the cut)."""
    def newest(frame: pd.DataFrame | None, column: str) -> pd.Timestamp | None:
        return None if frame is None or frame.empty else pd.Timestamp(frame[column].max())

    return {"scrutins": newest(data.ballots, "date_scrutin"), "indicateurs": newest(data.indicators, "date_publication"),
            "sondages": newest(data.polls, "date_connue"), "totaux": newest(data.totals, "date_scrutin"),
            "historique_sondages": newest(data.poll_history, "date_scrutin")}
