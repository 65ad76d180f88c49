"""Candidate hypotheses of the first-round polls and duels of the second-round polls (présidentielle 2027).

A **hypothesis** is a candidate list of the first-round polls (``dim_sondage.candidats``, the sorted
candidate keys), never a compiler's label: MieuxVoter reuses its labels across pollsters. Its French
label names its *distinctive* candidates, those absent from at least one other recent hypothesis
(the candidates every hypothesis shares are not worth naming). The **default** hypothesis is the one
with the highest recency weight, Σ 0.5^(age / 14 days) over its poll scenarios whose fieldwork ended in
the 60 days before the as-of date (when no poll is that recent: the 60 days up to the latest poll, ages
from it) — the same rule as :func:`electio.models.polls_aggregate.default_hypothesis`; ties: the most
recent, then the most polled. A list the pollsters abandon (a withdrawal) thus loses the lead within weeks.

A **duel** is a pair of candidates tested by second-round polls. Its poll aggregate is the mean
share of the first candidate among the two over the duel's polls of the last 30 days before the
as-of date (failing any, the 30 days up to its latest poll); each duel is keyed by its two blocs too
(``referentials/blocs_affectation.csv``), ordered left to right (``blocs.csv``'s ``ordre``).

Input frames are the poll rows of :func:`electio.features.election_data.load_polls` (one row per
scenario and bloc, already cut to the as-of date): pure functions, no warehouse access here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from electio import config
from electio.errors import InputError
from electio.models.polls_aggregate import recency_weights

ASSIGNMENTS_CSV = config.REFERENTIALS_DIR / "blocs_affectation.csv"
BLOCS_CSV = config.REFERENTIALS_DIR / "blocs.csv"
FIRST_ROUND, SECOND_ROUND = "pres2027_t1", "pres2027_t2"
RECENT_DAYS = 60
DUEL_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Hypothesis:
    """One candidate list of the first-round polls, with its recent poll aggregate per bloc (fractions summing to 1)."""

    hypothese_id: str
    candidats: tuple[str, ...]
    libelle: str
    sondages: int
    sondages_recents: int
    dernier_sondage: pd.Timestamp
    agregat: pd.Series
    poids_recents: float = 0.0  # Σ 0.5^(age / 14 days) over the recent scenarios (the default's criterion)


@dataclass(frozen=True)
class Duel:
    """Two candidates tested by second-round polls; ``part_a`` = poll aggregate of A's share of the two (fraction)."""

    duel_id: str
    candidats: tuple[str, str]
    blocs: tuple[str, str]
    sondages: int
    sondages_fenetre: int
    premier_sondage: pd.Timestamp
    dernier_sondage: pd.Timestamp
    part_a: float
    ecart_type_sondages: float
    libelle: str


def plain(text: str) -> str:
    """Upper case without accents, single spaces (to match candidate names typed by a user)."""
    decomposed = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return " ".join(decomposed.upper().replace("'", " ").split())


def candidate_names(scrutin: str = FIRST_ROUND, path=ASSIGNMENTS_CSV) -> dict[str, str]:
    """Candidate key → display name (« Édouard Philippe ») from the referential rows of one target ballot."""
    rows = pd.read_csv(path, dtype=str)
    rows = rows[(rows["scrutin_id"] == scrutin) & (rows["type_cle"] == "candidat")]
    def display(libelle: str) -> str:
        name = libelle.split("(")[0].strip()
        return " ".join(w if not w.isupper() else "-".join(p.capitalize() for p in w.split("-")) for w in name.split())
    return dict(zip(rows["cle"], rows["libelle"].map(display), strict=True))


def bloc_order(path=BLOCS_CSV) -> dict[str, int]:
    """Bloc → position on the left–right axis."""
    blocs = pd.read_csv(path)
    return dict(zip(blocs["code_bloc"], blocs["ordre"].astype(int), strict=True))


def split_candidates(text: str) -> tuple[str, ...]:
    return tuple(sorted(c.strip() for c in str(text).split(";") if c.strip()))


def slug(keys: Sequence[str]) -> str:
    """Stable ASCII id of a candidate set (« le-pen_philippe »)."""
    return "_".join(re.sub(r"[^a-z0-9]+", "-", plain(k).lower()).strip("-") for k in sorted(keys))


def scenarios(polls: pd.DataFrame, target: str) -> pd.DataFrame:
    """One row per poll scenario of ``target``: sondage_id, date_fin, institut, candidats, echantillon, then one column per bloc (percent)."""
    rows = polls[polls["scrutin_cible"] == target]
    wide = rows.pivot_table(index=["sondage_id", "date_fin", "candidats"], columns="code_bloc", values="intention", aggfunc="sum").reset_index()
    wide.columns.name = None
    return wide.sort_values(["date_fin", "sondage_id"]).reset_index(drop=True)


def window(frame: pd.DataFrame, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    """Rows whose fieldwork ended in the ``days`` before ``as_of``; failing any, the ``days`` up to the latest row."""
    recent = frame[frame["date_fin"] >= as_of - pd.Timedelta(days=days)]
    if recent.empty and not frame.empty:
        last = frame["date_fin"].max()
        recent = frame[frame["date_fin"] > last - pd.Timedelta(days=days)]
    return recent


def list_hypotheses(polls: pd.DataFrame, as_of: pd.Timestamp, target: str = FIRST_ROUND, names: dict[str, str] | None = None) -> list[Hypothesis]:
    """Every candidate list of ``target``'s polls, the default first (module doc), then by recent and total poll count."""
    table = scenarios(polls, target)
    if table.empty:
        return []
    names = names if names is not None else candidate_names(target)
    blocs = [c for c in table.columns if c not in ("sondage_id", "date_fin", "candidats")]
    table["cle"] = table["candidats"].map(split_candidates)
    recent = window(table, as_of, RECENT_DAYS)
    recent_sets = set(recent["cle"])
    common = set.intersection(*(set(c) for c in recent_sets))
    reference = as_of if (table["date_fin"] >= as_of - pd.Timedelta(days=RECENT_DAYS)).any() else table["date_fin"].max()
    out = []
    for cle, group in table.groupby("cle", sort=False):
        inside = window(group, as_of, RECENT_DAYS)
        mean = inside[blocs].fillna(0).mean()
        distinct = [names.get(c, c.title()) for c in cle if c not in common] or ["candidats communs à toutes les hypothèses"]
        out.append(Hypothesis(slug(cle), cle, "Hypothèse " + ", ".join(distinct), len(group),
                              int(group["sondage_id"].isin(recent["sondage_id"]).sum()), group["date_fin"].max(), mean / mean.sum(),
                              float(recency_weights(group["date_fin"], reference).sum())))
    return sorted(out, key=lambda h: (-round(h.poids_recents, 9), -h.dernier_sondage.value, -h.sondages, h.hypothese_id))


def list_duels(polls: pd.DataFrame, as_of: pd.Timestamp, target: str = SECOND_ROUND, names: dict[str, str] | None = None,
               order: dict[str, int] | None = None, days: int = DUEL_WINDOW_DAYS) -> list[Duel]:
    """Every pair of candidates of ``target``'s polls, most polled in the window first (module doc)."""
    rows = polls[polls["scrutin_cible"] == target]
    if rows.empty:
        return []
    names = names if names is not None else candidate_names(target)
    order = order or bloc_order()
    out = []
    for cle, group in rows.groupby(rows["candidats"].map(split_candidates), sort=False):
        if len(cle) != 2 or group["code_bloc"].nunique() != 2:
            continue
        blocs = tuple(sorted(group["code_bloc"].unique(), key=lambda b: order.get(b, 99)))
        wide = group.pivot_table(index=["sondage_id", "date_fin"], columns="code_bloc", values="intention", aggfunc="sum").reset_index()
        wide["part_a"] = wide[blocs[0]] / (wide[blocs[0]] + wide[blocs[1]])
        inside = window(wide, as_of, days)
        by_bloc = _candidate_of_bloc(cle, group, blocs)
        label = f"{names.get(by_bloc[0], by_bloc[0].title())} contre {names.get(by_bloc[1], by_bloc[1].title())}"
        out.append(Duel(slug(cle), by_bloc, blocs, len(wide), len(inside), wide["date_fin"].min(), wide["date_fin"].max(),
                        float(inside["part_a"].mean()), float(inside["part_a"].std(ddof=1)) if len(inside) > 1 else float("nan"), label))
    return sorted(out, key=lambda d: (-d.sondages_fenetre, -d.sondages, d.duel_id))


def _candidate_of_bloc(cle: tuple[str, ...], group: pd.DataFrame, blocs: tuple[str, str]) -> tuple[str, str]:
    """The two candidate keys in the order of their blocs (from the referential rows of the poll's target)."""
    assignments = pd.read_csv(ASSIGNMENTS_CSV, dtype=str)
    target = group["scrutin_cible"].iloc[0]
    mapping = assignments[(assignments["scrutin_id"] == target) & assignments["cle"].isin(cle)].set_index("cle")["bloc"].to_dict()
    ordered = sorted(cle, key=lambda c: blocs.index(mapping[c]) if mapping.get(c) in blocs else 9)
    return ordered[0], ordered[1]


def listing(lines: Sequence[str], limit: int = 15) -> str:
    """Indented lines of an error message, the first ``limit`` then how many more."""
    shown = [f"  {line}" for line in lines[:limit]] or ["  (aucun)"]
    return "\n".join(shown + ([f"  … et {len(lines) - limit} autre(s)"] if len(lines) > limit else []))


def choose_hypothesis(hypotheses: Sequence[Hypothesis], query: str | None, names: dict[str, str] | None = None) -> Hypothesis:
    """The hypothesis ``query`` names (its id, or its candidates separated by commas), the default when None.

    Candidates name the hypothesis with exactly that list, else the first (default order) of those that contain them all.

    A candidate unknown to the referential, or a list no poll tests, raises :class:`InputError` listing the available ones.
    """
    if not hypotheses:
        raise InputError(ASSIGNMENTS_CSV, "aucun sondage de premier tour dans l'entrepôt : aucune hypothèse de candidats disponible")
    if query is None or not query.strip():
        return hypotheses[0]
    available = listing([f"{h.hypothese_id} — {h.libelle} ({h.sondages} sondage(s))" for h in hypotheses])
    for h in hypotheses:
        if query.strip() == h.hypothese_id:
            return h
    names = names if names is not None else candidate_names()
    known = {plain(k): k for k in names} | {plain(v): k for k, v in names.items()} | {plain(v.split()[-1]): k for k, v in names.items()}
    wanted = [p.strip() for p in re.split(r"[,;/+]", query) if p.strip()]
    unknown = [w for w in wanted if plain(w) not in known]
    if unknown:
        raise InputError(ASSIGNMENTS_CSV, f"candidat(s) inconnu(s) du référentiel : {', '.join(unknown)}. Candidats connus : "
                         f"{', '.join(sorted(names.values()))}. Hypothèses disponibles :\n{available}")
    keys = {known[plain(w)] for w in wanted}
    exact = [h for h in hypotheses if set(h.candidats) == keys]
    matching = exact or [h for h in hypotheses if keys <= set(h.candidats)]
    if not matching:
        raise InputError(ASSIGNMENTS_CSV, f"aucune hypothèse des sondages ne contient les candidats {', '.join(sorted(keys))}. "
                         f"Hypothèses disponibles :\n{available}")
    return matching[0]  # several contain them: the first in default order (the highest recency weight)


def choose_duels(duels: Sequence[Duel], queries: Sequence[str], names: dict[str, str] | None = None) -> list[Duel]:
    """The duels ``queries`` name (id, or two candidates separated by « contre », « / », « - » or a comma); all when empty."""
    if not queries:
        return list(duels)
    available = listing([f"{d.duel_id} — {d.libelle} ({d.sondages} sondage(s))" for d in duels])
    names = names if names is not None else candidate_names(SECOND_ROUND)
    known = {plain(k): k for k in names} | {plain(v): k for k, v in names.items()} | {plain(v.split()[-1]): k for k, v in names.items()}
    out = []
    for query in queries:
        found = next((d for d in duels if d.duel_id == query.strip()), None)
        if found is None:
            parts = [p.strip() for p in re.split(r",|/| contre | vs\.? | - ", query, flags=re.IGNORECASE) if p.strip()]
            unknown = [p for p in parts if plain(p) not in known]
            if unknown:
                raise InputError(ASSIGNMENTS_CSV, f"candidat(s) inconnu(s) du référentiel : {', '.join(unknown)}. Duels testés par les sondages :\n{available}")
            keys = {known[plain(p)] for p in parts}
            found = next((d for d in duels if set(d.candidats) == keys), None)
            if found is None:
                raise InputError(ASSIGNMENTS_CSV, f"aucun sondage de second tour ne teste le duel « {query} ». Duels testés par les sondages :\n{available}")
        out.append(found)
    return out
