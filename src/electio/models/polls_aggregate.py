"""National poll aggregate per bloc for one target ballot, and its error calibrated on past ballots.

Aggregate (:func:`poll_aggregate`). The polls of the target (``data.polls``, already cut to the
as-of date: this module never filters by date itself) of one candidate hypothesis are averaged
per bloc with weights

    w_i = 0.5 ** (age_i / 14 days) · √(n_i / 1000) · (max_{j∈p} r_j / Σ_{j∈p} r_j),

``age_i`` being the days between the scenario's fieldwork end and the latest fieldwork end of the
hypothesis, ``n_i`` its sample (the median sample when unknown, capped at 5,000), and the last
factor making each pollster ``p`` weigh as much as its best-weighted poll (``r_j`` = recency ×
sample weight of its polls): a pollster publishing every week (rolling waves are already thinned
by the ETL) does not outweigh one publishing monthly. Only scenarios whose fieldwork ended within
60 days of the latest one enter. Why a weighted mean and not a state-space model: French
pollsters publish irregularly, hypotheses change every few months and house effects dominate the
sampling noise, so a random walk's variances would be fitted on a handful of points per
hypothesis; a weighted mean with a short half-life tracks the last month like the published
averages do, and its error is measured below rather than modelled. The sample enters through its
square root because the sampling error is a minor part of a poll's error (quota design, house
effects): weights ∝ n would let a single large online panel dominate.

Hypotheses. A scenario's ``candidats`` (its candidate list) is its hypothesis. Scenarios of
different hypotheses are never averaged together: :func:`default_hypothesis` picks the list with the
highest recency weight (Σ 0.5^(age / 14 days) over its scenarios of the 60 days before the as-of date;
when no poll is that recent, before the latest poll) and
:func:`hypothesis_spread` says how far the other recent hypotheses' aggregates are from it.

Error (:func:`poll_errors`, :func:`calibrate_errors`). For every past ballot with polls and a
national result in ``data`` (France totals of the warehouse, else the 1965–2019 bloc results kept
with the polls), the aggregate as the polls stood ``d`` days before the vote (``d`` on a grid,
through :func:`electio.features.election_data.cut_to_date`, the one place where data are cut) is
compared with the result: error ``log(aggregate_b) − log(result_b)`` per bloc, both renormalised
over the blocs present in both. Distances are those of the latest poll used, in four classes
(< 1 month, 1–6 months, 6–18 months, > 18 months). The error of a share p behaves like the
sampling error of a poll of some effective size m (house effects, late swings and quota design
included): sd(p̂) ≈ √(p (1 − p) / m), hence on the log scale

    sd_b = s · √((1 − p_b) / p_b),   s² = 1 / m = mean over ballots of mean_b(e²_b · p_b / (1 − p_b)),

p_b being the aggregate's share (renormalised like the error), s per distance class (each ballot
weighs the same; non-decreasing with distance). A single log-scale sd per bloc, as before, was
dominated by the small blocs: a 3 % bloc polled at 4 % errs by 0.29 in log where a 30 % bloc
off by 2 points errs by 0.07; on the ballots before 2024, one month out, it covered 96 % of the
errors of blocs above 20 % and 66 % of those below 5 % (leave one ballot out), the share-dependent
scale 89 % and 97 %. :func:`loo_coverage` checks
it: share of each ballot's errors inside the 80 % interval calibrated on the other ballots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from electio.features.election_data import ElectionData, cut_to_date

HALF_LIFE_DAYS = 14.0
WINDOW_DAYS = 60
HYPOTHESIS_DAYS = 60
REFERENCE_SAMPLE = 1000.0
SAMPLE_CAP = 5000.0
CLASS_EDGES = (0, 31, 183, 548, 100_000)  # days: < 1 month, 1–6 months, 6–18 months, > 18 months
CLASS_LABELS = ("< 1 mois", "1–6 mois", "6–18 mois", "> 18 mois")
CALIBRATION_DAYS = (7, 21, 45, 90, 150, 240, 365, 540, 730, 1000)
Z80 = 1.2815515655446004
SHARE_FLOOR = 0.005  # p below this is taken as 0.5 % in the error scale √((1 − p) / p)
HISTORY_TYPES = {"pres": "presidentielle", "leg": "legislatives", "euro": "europeennes"}
NATIONAL_TYPES = tuple(HISTORY_TYPES.values())


@dataclass(frozen=True)
class PollAggregate:
    """Weighted mean of one hypothesis' scenarios: per-bloc shares (fractions, NaN = bloc not polled)."""

    shares: pd.Series
    polls: pd.DataFrame  # one row per scenario used: sondage_id, institut, date_debut, date_fin, echantillon, candidats, poids
    hypothesis: str
    latest: pd.Timestamp


def distance_class(days: float) -> int:
    """Index of the distance class (:data:`CLASS_LABELS`) of a distance in days."""
    return int(np.clip(np.searchsorted(CLASS_EDGES, days, side="right") - 1, 0, len(CLASS_LABELS) - 1))


def target_polls(polls: pd.DataFrame | None, target: str) -> pd.DataFrame:
    """Poll rows of ``target`` at one level: the level whose latest poll is the most recent (ties: candidates)."""
    if polls is None or polls.empty:
        return pd.DataFrame(columns=[] if polls is None else polls.columns)
    rows = polls[polls["scrutin_cible"] == target]
    if rows.empty:
        return rows
    latest = rows.groupby("niveau")["date_fin"].max()
    level = max(latest.index, key=lambda n: (latest[n], n == "candidat"))
    return rows[rows["niveau"] == level].reset_index(drop=True)


def scenarios(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario (sondage_id, institut, date_debut, date_fin, echantillon, candidats)."""
    keep = ["sondage_id", "institut", "date_debut", "date_fin", "echantillon", "candidats"]
    return rows[keep].drop_duplicates("sondage_id").sort_values(["date_fin", "sondage_id"]).reset_index(drop=True)


def recency_weights(dates: pd.Series, reference: pd.Timestamp) -> np.ndarray:
    """0.5 ** (days before ``reference`` / 14) for fieldwork ends in the 60 days up to ``reference``, else 0."""
    age = (pd.Timestamp(reference) - dates).dt.days.to_numpy(float)
    return np.where((age >= 0) & (age <= HYPOTHESIS_DAYS), 0.5 ** (np.clip(age, 0, None) / HALF_LIFE_DAYS), 0.0)


def hypotheses(rows: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Per candidate list: scenarios in the 60 days before ``as_of`` (``recents``; when no poll is that recent, in
    the 60 days before the latest poll), their recency weight (``poids``: Σ 0.5^(age / 14 days), age from that
    date), every scenario, and latest fieldwork end; highest recency weight first. The recency weight makes a
    list the pollsters have just abandoned (a withdrawal, the official list published) lose the lead within
    weeks, where a count over 60 days would keep it for two months."""
    table = scenarios(rows)
    latest = table["date_fin"].max()
    reference = latest if as_of is None or latest < as_of - pd.Timedelta(days=HYPOTHESIS_DAYS) else as_of
    recent = table["date_fin"] >= reference - pd.Timedelta(days=HYPOTHESIS_DAYS)
    return (table.assign(recent=recent, poids=recency_weights(table["date_fin"], reference)).groupby("candidats")
            .agg(poids=("poids", "sum"), recents=("recent", "sum"), scenarios=("sondage_id", "size"), dernier=("date_fin", "max"))
            .sort_values(["poids", "dernier", "scenarios"], ascending=False))


def default_hypothesis(rows: pd.DataFrame, as_of: pd.Timestamp | None) -> str | None:
    """The candidate list with the highest recency weight in the 60 days before ``as_of`` (else before the latest poll)."""
    table = hypotheses(rows, as_of)
    return None if table.empty else str(table.index[0])


def poll_weights(table: pd.DataFrame) -> np.ndarray:
    """Recency × √sample × pollster weights of scenarios (module doc), 0 outside the 60-day window."""
    age = (table["date_fin"].max() - table["date_fin"]).dt.days.to_numpy(float)
    known = pd.to_numeric(table["echantillon"], errors="coerce")
    sample = known.fillna(known.median() if known.notna().any() else REFERENCE_SAMPLE).clip(upper=SAMPLE_CAP).to_numpy(float)
    raw = np.where(age <= WINDOW_DAYS, 0.5 ** (age / HALF_LIFE_DAYS) * np.sqrt(sample / REFERENCE_SAMPLE), 0.0)
    pollster = table["institut"].fillna("(institut inconnu)").to_numpy()
    frame = pd.DataFrame({"p": pollster, "w": raw})
    grouped = frame.groupby("p")["w"]
    factor = (grouped.transform("max") / grouped.transform("sum").where(lambda s: s > 0, 1.0)).to_numpy(float)
    return raw * factor


def poll_aggregate(polls: pd.DataFrame | None, blocs: Sequence[str], target: str, hypothesis: str | None = None,
                   as_of: pd.Timestamp | None = None) -> PollAggregate | None:
    """The weighted mean per bloc of ``target``'s scenarios of one hypothesis (default: :func:`default_hypothesis`).

    Each scenario's shares are renormalised over the blocs it polled; None when there is no poll.
    """
    rows = target_polls(polls, target)
    if rows.empty:
        return None
    chosen = hypothesis if hypothesis is not None and hypothesis in set(rows["candidats"]) else default_hypothesis(rows, as_of)
    rows = rows[rows["candidats"] == chosen]
    table = scenarios(rows)
    table["poids"] = poll_weights(table)
    table = table[table["poids"] > 0].reset_index(drop=True)
    wide = rows.pivot_table(index="sondage_id", columns="code_bloc", values="intention", aggfunc="sum").reindex(index=table["sondage_id"], columns=list(blocs))
    wide = wide.div(wide.sum(axis=1), axis=0)
    weights = table["poids"].to_numpy(float)
    values = wide.to_numpy(float)
    mass = (np.where(np.isnan(values), 0.0, 1.0) * weights[:, None]).sum(axis=0)
    mean = np.where(mass > 0, np.nansum(values * weights[:, None], axis=0) / np.where(mass > 0, mass, 1.0), np.nan)
    table["poids"] = weights / weights.sum()
    return PollAggregate(pd.Series(mean, index=list(blocs)), table, str(chosen), pd.Timestamp(table["date_fin"].max()))


def hypothesis_spread(polls: pd.DataFrame | None, blocs: Sequence[str], target: str, chosen: PollAggregate,
                      as_of: pd.Timestamp | None) -> pd.DataFrame:
    """Other hypotheses polled in the 60 days before ``as_of``: per hypothesis, scenarios and the largest bloc
    gap (points) between its aggregate and the chosen one (columns candidats, recents, ecart_max, bloc)."""
    rows = target_polls(polls, target)
    table = hypotheses(rows, as_of) if not rows.empty else pd.DataFrame()
    out = []
    for candidats, row in table.iterrows():
        if candidats == chosen.hypothesis or row["recents"] == 0:
            continue
        other = poll_aggregate(polls, blocs, target, str(candidats), as_of)
        gap = (100 * (other.shares - chosen.shares)).abs().dropna()
        if not gap.empty:
            out.append((candidats, int(row["recents"]), float(gap.max()), str(gap.idxmax())))
    return pd.DataFrame(out, columns=["candidats", "recents", "ecart_max", "bloc"])


# ─── Calibration on past ballots ─────────────────────────────────────────────────────────

def national_results(data: ElectionData) -> pd.DataFrame:
    """Official national first-round bloc shares (index ballot id, columns blocs, NaN = did not stand) with
    ``type_scrutin`` and ``date_scrutin``: France totals of the warehouse, else the 1965–2019 bloc results."""
    parts = []
    if data.totals is not None and not data.totals.empty:
        france = data.totals[(data.totals["niveau"] == "france") & (data.totals["tour"] == 1)
                             & data.totals["type_scrutin"].isin(NATIONAL_TYPES) & (data.totals["output"] != "abstention")]
        parts.append(france.rename(columns={"output": "code_bloc"})[["scrutin_id", "type_scrutin", "date_scrutin", "code_bloc", "part"]])
    if data.poll_history is not None and not data.poll_history.empty:
        history = data.poll_history.rename(columns={"scrutin_cible": "scrutin_id"})
        history = history.assign(type_scrutin=history["scrutin_id"].str.extract(r"^([a-z]+)\d", expand=False).map(HISTORY_TYPES))
        history = history[history["type_scrutin"].notna() & history["scrutin_id"].str.endswith("_t1")]
        known = set(parts[0]["scrutin_id"]) if parts else set()
        parts.append(history[~history["scrutin_id"].isin(known)][["scrutin_id", "type_scrutin", "date_scrutin", "code_bloc", "part"]])
    if not parts:
        return pd.DataFrame(columns=[*data.blocs, "type_scrutin", "date_scrutin"])
    long = pd.concat(parts, ignore_index=True)
    wide = long.pivot_table(index="scrutin_id", columns="code_bloc", values="part", aggfunc="sum").reindex(columns=list(data.blocs))
    wide = wide.where(wide > 0)
    meta = long.groupby("scrutin_id")[["type_scrutin", "date_scrutin"]].first()
    return wide.join(meta).sort_values("date_scrutin")


def log_error(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """log(estimate) − log(truth) per bloc (last axis), both renormalised over the blocs positive in both (NaN elsewhere)."""
    estimate, truth = np.asarray(estimate, dtype=float), np.asarray(truth, dtype=float)
    common = (np.nan_to_num(estimate) > 0) & (np.nan_to_num(truth) > 0)
    a, b = np.where(common, estimate, np.nan), np.where(common, truth, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = a / np.nansum(a, axis=-1, keepdims=True)
        b = b / np.nansum(b, axis=-1, keepdims=True)
        return np.log(a) - np.log(b)


def _polls_only(data: ElectionData, polls: pd.DataFrame) -> ElectionData:
    """``data`` reduced to some of its polls (cheap to cut many times)."""
    return replace(data, ballots=data.ballots.iloc[:0], results=data.results.iloc[:0], indicators=None, totals=None,
                   poll_history=None, polls=polls)


_ERRORS: dict[tuple, list[tuple]] = {}  # errors of one past ballot: they do not depend on the as-of date once it is past


def poll_errors(data: ElectionData, days: Sequence[int] = CALIBRATION_DAYS) -> pd.DataFrame:
    """Errors of the aggregate ``d`` days before every past ballot with polls and a national result in ``data``.

    One row per ballot, grid distance and bloc: scrutin_cible, jours (grid), distance (days from the
    latest poll used to the vote), classe, bloc, erreur (log scale), part (the aggregate's share,
    renormalised like the error). Duplicate aggregates (same latest poll for several grid points) are kept once.
    """
    results = national_results(data)
    rows = []
    for target, result in results.iterrows():
        own = data.polls[data.polls["scrutin_cible"] == target] if data.polls is not None else None
        if own is None or own.empty:
            continue
        key = (target, tuple(days), len(own), own["date_connue"].max(), tuple(np.round(result[list(data.blocs)].to_numpy(float), 6)))
        if key in _ERRORS:
            rows += _ERRORS[key]
            continue
        light, seen, found = _polls_only(data, own), set(), []
        for d in days:
            cut = cut_to_date(light, result["date_scrutin"] - pd.Timedelta(days=d))
            if cut.polls.empty or cut.polls["date_fin"].max() in seen:
                continue
            aggregate = poll_aggregate(cut.polls, data.blocs, target, as_of=cut.as_of)
            seen.add(aggregate.latest)
            distance = float((result["date_scrutin"] - aggregate.latest).days)
            estimate = aggregate.shares.to_numpy(float)
            error = log_error(estimate, result[list(data.blocs)].to_numpy(float))
            share = np.where(np.isfinite(error), estimate, np.nan) / np.nansum(np.where(np.isfinite(error), estimate, np.nan))
            found += [(target, d, distance, distance_class(distance), b, float(e), float(p))
                      for b, e, p in zip(data.blocs, error, share, strict=True) if np.isfinite(e)]
        _ERRORS[key] = found
        rows += found
    return pd.DataFrame(rows, columns=["scrutin_cible", "jours", "distance", "classe", "bloc", "erreur", "part"])


def share_factor(shares: np.ndarray | pd.Series) -> np.ndarray:
    """√((1 − p) / p) of shares (floored at :data:`SHARE_FLOOR`): the log-scale error of a share per unit of ``s``."""
    p = np.clip(np.asarray(shares, dtype=float), SHARE_FLOOR, 1 - SHARE_FLOOR)
    return np.sqrt((1 - p) / p)


@dataclass(frozen=True)
class PollCalibration:
    """Error scale ``s`` of the aggregate per distance class (index :data:`CLASS_LABELS`; module doc)."""

    scale: pd.Series
    ballots: pd.Series  # ballots per class

    def at(self, days: float, shares: np.ndarray | pd.Series) -> np.ndarray:
        """The log-scale sd of each share (NaN share: NaN) for a distance in days."""
        factor = share_factor(np.nan_to_num(np.asarray(shares, dtype=float), nan=SHARE_FLOOR))
        return np.where(np.isnan(np.asarray(shares, dtype=float)), np.nan, float(self.scale.iloc[distance_class(days)]) * factor)

    @property
    def effective_size(self) -> pd.Series:
        """The poll size m = 1 / s² whose sampling error matches the aggregate's error, per class."""
        return 1 / self.scale**2


def calibrate_errors(errors: pd.DataFrame, blocs: Sequence[str] | None = None) -> PollCalibration:
    """Per class: s = √(mean over ballots of mean_b(e² p / (1 − p))), made non-decreasing with distance (module doc).

    Each ballot weighs the same within a class (its errors averaged first). An empty class takes the
    nearest class's value; no error at all gives NaN. ``blocs`` is unused (the scale is pooled over blocs).
    """
    classes = range(len(CLASS_LABELS))
    unit = errors["erreur"].to_numpy(float) / share_factor(errors["part"].to_numpy(float))
    per_ballot = errors.assign(carre=unit**2).groupby(["classe", "scrutin_cible"])["carre"].mean()
    variance = per_ballot.groupby(level="classe").mean().reindex(classes).ffill().bfill()
    scale = pd.Series(np.sqrt(variance.to_numpy(float)), index=list(CLASS_LABELS)).cummax()
    counts = errors.groupby("classe")["scrutin_cible"].nunique().reindex(classes, fill_value=0)
    counts.index = list(CLASS_LABELS)
    return PollCalibration(scale, counts)


def loo_coverage(errors: pd.DataFrame, blocs: Sequence[str] | None = None, level_z: float = Z80) -> pd.DataFrame:
    """Leave-one-ballot-out check: per class, share of errors inside ±z·sd calibrated without their ballot."""
    inside = []
    for ballot, rows in errors.groupby("scrutin_cible"):
        calibration = calibrate_errors(errors[errors["scrutin_cible"] != ballot])
        sd = calibration.scale.to_numpy(float)[rows["classe"].to_numpy(int)] * share_factor(rows["part"].to_numpy(float))
        inside.append(rows.assign(dedans=np.abs(rows["erreur"].to_numpy(float)) <= level_z * sd))
    frame = pd.concat(inside, ignore_index=True)
    out = frame.groupby("classe").agg(couverture=("dedans", "mean"), erreurs=("dedans", "size"), scrutins=("scrutin_cible", "nunique"))
    out.index = [CLASS_LABELS[i] for i in out.index]
    return out


def calibration_summary(data: ElectionData) -> str:
    """Plain-text table of the poll error sd per bloc and distance class, and its leave-one-ballot-out 80 % coverage."""
    errors = poll_errors(data)
    if errors.empty:
        return "aucun scrutin passé avec sondages et résultat"
    calibration = calibrate_errors(errors)
    shares = (0.03, 0.10, 0.30)
    table = pd.DataFrame({f"sd à {100 * p:.0f} %": calibration.scale * share_factor(p) for p in shares})
    table["taille effective"] = calibration.effective_size.round()
    coverage = loo_coverage(errors).round(3).to_string()
    return f"{table.round(3).to_string()}\nscrutins par classe : {calibration.ballots.to_dict()}\n{coverage}"
