"""Territory totals of a target ballot from what a forecaster reads: national polls, recent ballots.

Pure functions on :class:`~electio.features.election_data.ElectionData` already cut to its as-of
date (they never filter by date themselves). One entry point, :func:`territory_totals`:

1. National bloc shares. With polls of the target in ``data.polls`` (method ``sondages``): the
   poll aggregate of one candidate hypothesis (:mod:`electio.models.polls_aggregate`), its error
   sd calibrated on past ballots at the same distance from the vote (an effective poll size: the sd
   of a share p is s · √((1 − p) / p) on the log scale, :mod:`~electio.models.polls_aggregate`). Without polls (method
   ``dernier_scrutin_comparable``): the last national first round of the same type (France
   totals, else the 1965–2019 bloc results), a bloc missing there taking its share at the latest
   national ballot where it stood; its error is a random walk whose variance per year is measured
   on consecutive same-type national ballots 1965–2024 (log-ratio swings over the blocs standing in
   both, divided by the years between them; each bloc's mean shrunk halfway to the mean over blocs),
   over the years from that ballot to the target.
2. National → territory. The territory's deviation ``log(T_b) − log(F_b)`` from France at the last
   national ballot of the same type in ``data.totals`` (a bloc that did not stand there: at the
   latest national ballot where it stood). Measured on every département of the warehouse, the
   last same-type deviation predicts the next ballot's deviation better than the latest ballot of
   any type, their mean, or the mean of the last two or three ballots (``docs/territory.md``). Its
   error sd per bloc is the RMS change of that deviation between consecutive same-type ballots,
   half from the territory's own ballots and half from every département's (few pairs per
   territory; the départements' part by the 80 % quantile of the absolute changes, :func:`level_variance`:
   heavy tails).
3. Abstention (polls do not give it): the territory's rate at its last same-type ballot (département
   totals, else the sum over its communes, :func:`local_history`), with a
   logit random-walk error whose variance per year is measured on consecutive same-type ballots
   of the territory and of France.

Shares are closed over the blocs standing in the target (``present``); sd's add in variance
(national error + deviation error) on the log scale of
:func:`electio.forecasts.uncertainty.territory_draws`, at the target's horizon (total).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from electio.features.election_data import ABSTENTION, ElectionData
from electio.features.modelling_table import TARGET_TYPES, territory_shares
from electio.models.compositional import close, logit
from electio.models.polls_aggregate import (
    CLASS_LABELS,
    NATIONAL_TYPES,
    PollCalibration,
    calibrate_errors,
    distance_class,
    hypothesis_spread,
    log_error,
    national_results,
    poll_aggregate,
    poll_errors,
)

DAYS_PER_YEAR = 365.25
METHODS = ("sondages", "dernier_scrutin_comparable")


@dataclass(frozen=True)
class TerritoryForecast:
    """Central territory totals of one target ballot and their spread (see the module doc)."""

    shares: np.ndarray        # k blocs (data.blocs order), share of exprimés, sum 1 over standing blocs, 0 elsewhere
    abstention: float         # share of inscrits
    sd: np.ndarray            # k + 1 sd on the log-ratio (blocs) / logit (abstention) scale at the target's horizon (total)
    method: str               # 'sondages' | 'dernier_scrutin_comparable'
    notes: tuple[str, ...]    # French notes for the outputs
    polls: pd.DataFrame       # the scenarios used, with their weights (may be empty)


# ─── Territory and national totals ───────────────────────────────────────────────────────

def all_totals_wide(data: ElectionData) -> pd.DataFrame:
    """First-round shares of every territory (``FR`` and départements) of the national ballot types: index
    (code_territoire, scrutin_id), columns blocs then ``abstention`` (NaN = bloc did not stand), with
    ``type_scrutin`` and ``date_scrutin`` (cached)."""
    def compute() -> pd.DataFrame:
        columns = [*data.blocs, ABSTENTION, "type_scrutin", "date_scrutin"]
        if data.totals is None or data.totals.empty:
            return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_tuples([], names=["code_territoire", "scrutin_id"]))
        rows = data.totals[(data.totals["tour"] == 1) & data.totals["type_scrutin"].isin(NATIONAL_TYPES)]
        wide = rows.pivot_table(index=["code_territoire", "scrutin_id"], columns="output", values="part", aggfunc="sum")
        wide = wide.reindex(columns=[*data.blocs, ABSTENTION])
        wide[list(data.blocs)] = wide[list(data.blocs)].where(wide[list(data.blocs)] > 0)
        meta = rows.groupby("scrutin_id")[["type_scrutin", "date_scrutin"]].first()
        wide = wide.join(meta, on="scrutin_id")
        return wide.sort_values(["code_territoire", "date_scrutin"])[columns]

    return _cached("totaux", data, compute)


def totals_wide(data: ElectionData, territory: str) -> pd.DataFrame:
    """First-round shares of one territory (``FR`` or a département), index ballot id, in date order (see
    :func:`all_totals_wide`)."""
    wide = all_totals_wide(data)
    if territory not in wide.index.get_level_values(0):
        return wide.iloc[:0].droplevel(0)
    return wide.xs(territory, level="code_territoire")


def local_history(data: ElectionData) -> pd.DataFrame:
    """The territory's first rounds as :func:`totals_wide` gives them, completed with the ballots of
    ``data.ballots`` that the totals lack, summed over the territory's communes (``data.results``)."""
    known = totals_wide(data, data.territoire)
    missing = data.ballots[~data.ballots["scrutin_id"].isin(known.index)]
    rows = data.results[data.results["scrutin_id"].isin(missing["scrutin_id"])]
    if rows.empty:
        return known
    sums = territory_shares(rows, data.blocs, level="scrutin_id")
    sums.columns = [c.removeprefix("T_") for c in sums.columns]
    sums[list(data.blocs)] = sums[list(data.blocs)].where(sums[list(data.blocs)] > 0)
    extra = sums.join(missing.set_index("scrutin_id")[["type_scrutin", "date_scrutin"]])
    return pd.concat([known, extra[known.columns]]).sort_values("date_scrutin")


def latest_known(frame: pd.DataFrame, blocs: list[str], type_scrutin: str) -> tuple[np.ndarray, str | None]:
    """Per bloc: its value at the last ballot of ``type_scrutin`` in ``frame`` (date order), else at the latest
    ballot of any type where it is known (NaN: never); and that same-type ballot's id (None: none)."""
    same = frame[frame["type_scrutin"] == type_scrutin]
    reference = same.index[-1] if not same.empty else None
    values = frame[blocs].ffill().iloc[-1].to_numpy(float) if not frame.empty else np.full(len(blocs), np.nan)
    if reference is not None:
        values = np.where(np.isnan(frame.loc[reference, blocs].to_numpy(float)), values, frame.loc[reference, blocs].to_numpy(float))
    return values, reference


def all_deviations(data: ElectionData) -> pd.DataFrame:
    """log(territory share) − log(France share) per territory, ballot and bloc (both renormalised over the
    blocs standing in both), index (code_territoire, scrutin_id), with ``type_scrutin`` and ``date_scrutin`` (cached)."""
    def compute() -> pd.DataFrame:
        wide, blocs = all_totals_wide(data), list(data.blocs)
        france = totals_wide(data, "FR")[blocs]
        local = wide[wide.index.get_level_values(0) != "FR"]
        local = local[local.index.get_level_values(1).isin(france.index)]
        values = log_error(local[blocs].to_numpy(float), france.reindex(local.index.get_level_values(1))[blocs].to_numpy(float))
        return pd.DataFrame(values, index=local.index, columns=blocs).join(local[["type_scrutin", "date_scrutin"]])

    return _cached("ecarts", data, compute)


def deviation_table(data: ElectionData, territory: str) -> pd.DataFrame:
    """The territory's deviation from France per ballot (index ballot id, date order; see :func:`all_deviations`)."""
    table = all_deviations(data)
    if territory not in table.index.get_level_values(0):
        return table.iloc[:0].droplevel(0)
    return table.xs(territory, level="code_territoire").sort_values("date_scrutin")


def deviation_changes(table: pd.DataFrame, blocs: list[str]) -> pd.DataFrame:
    """Changes of the deviation between consecutive same-type ballots (one row per pair, one column per bloc)."""
    rows = []
    for _, group in table.groupby("type_scrutin"):
        values = group.sort_values("date_scrutin")[blocs].to_numpy(float)
        rows += list(values[1:] - values[:-1])
    return pd.DataFrame(np.array(rows, dtype=float).reshape(-1, len(blocs)), columns=blocs)


def _data_key(data: ElectionData) -> tuple:
    """A cheap identity of the inputs of the measured spreads (as-of date, sizes and newest dates of the frames used)."""
    sizes = tuple(0 if f is None else len(f) for f in (data.polls, data.totals, data.poll_history))
    newest = tuple(None if f is None or f.empty else f[c].max() for f, c in ((data.polls, "date_connue"), (data.totals, "date_scrutin")))
    return (data.as_of, sizes, newest)


_MEASURED: dict[tuple, object] = {}


def _cached(name: str, data: ElectionData, compute):  # noqa: ANN001, ANN202 - small memo helper
    """Memoise a measurement that depends on the whole cut data (the replays call it once per as-of date)."""
    key = (name, _data_key(data))
    if key not in _MEASURED:
        if len(_MEASURED) > 64:
            _MEASURED.clear()
        _MEASURED[key] = compute()
    return _MEASURED[key]


def departement_changes(data: ElectionData) -> pd.DataFrame:
    """Deviation changes between consecutive same-type ballots of every département of the warehouse."""
    def compute() -> pd.DataFrame:
        table = all_deviations(data).sort_values("date_scrutin")
        keys = [table.index.get_level_values(0), table["type_scrutin"]]
        changes = table[list(data.blocs)].groupby(keys).diff()
        return changes.dropna(how="all").reset_index(drop=True)

    return _cached("departements", data, compute)


def level_variance(errors: pd.DataFrame, level: float = 0.8) -> pd.Series:
    """Per column: (the ``level`` quantile of |error| / the normal's)², the variance of the normal whose central
    ``level`` interval covers that share of the errors (NaN without any). Pooled over every département the
    deviation errors are heavy-tailed (overseas départements, a bloc standing in a few places): their mean square
    gave normal 80 % intervals covering far more than 80 % of them, and the Rhône's sd twice its own errors."""
    from scipy.stats import norm

    quantile = errors.abs().quantile(level)
    return (quantile / norm.ppf(0.5 + level / 2)) ** 2


def deviation_sd(data: ElectionData, territory: str) -> np.ndarray:
    """Per bloc: RMS change of the deviation between consecutive same-type ballots, half the territory's, half
    every département's; a bloc without any pair takes the mean over blocs (0 when nothing is measured)."""
    blocs = list(data.blocs)
    own = (deviation_changes(deviation_table(data, territory), blocs) ** 2).mean().reindex(blocs)
    pooled = level_variance(departement_changes(data)).reindex(blocs)
    variance = 0.5 * own.fillna(pooled) + 0.5 * pooled.fillna(own)
    variance = variance.fillna(float(np.nanmean(variance.to_numpy(float))) if variance.notna().any() else 0.0)
    return np.sqrt(variance.to_numpy(float))


def deviation_pair(table: pd.DataFrame, blocs: list[str], type_scrutin: str) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """From a territory's deviation table (date order): the same-type deviation (:func:`latest_known`), the most
    recent présidentielle or européenne deviation when that is another ballot (a bloc missing there: the
    same-type value; None otherwise) and the same-type ballot's id."""
    same, reference = latest_known(table, blocs, type_scrutin)
    recent = table[table["type_scrutin"].isin(TARGET_TYPES)]
    if reference is None or recent.empty or recent.index[-1] == reference:
        return same, None, reference
    return same, np.where(np.isnan(recent[blocs].iloc[-1].to_numpy(float)), same, recent[blocs].iloc[-1].to_numpy(float)), reference


def blend_group(type_scrutin: str) -> tuple[str, ...]:
    """The ballot types whose past deviations decide the rule for a target of ``type_scrutin``."""
    return TARGET_TYPES if type_scrutin in TARGET_TYPES else (type_scrutin,)


def rule_errors(data: ElectionData, type_scrutin: str) -> pd.DataFrame:
    """Errors of both deviation rules at every département's earlier ballots of the target's group
    (:func:`blend_group`) that have a same-type and another recent ballot (:func:`deviation_pair`): one row per
    (territory, ballot, rule ``meme_type`` | ``moyenne``), one column per bloc (prediction − truth, log scale).
    Everything is in ``data``, already cut to the as-of date: only earlier ballots enter (cached)."""
    def compute() -> pd.DataFrame:
        table, blocs, rows_out = all_deviations(data), list(data.blocs), []
        for territory, rows in table.groupby(level="code_territoire"):
            rows = rows.droplevel(0).sort_values("date_scrutin")
            for i in range(1, len(rows)):
                if rows["type_scrutin"].iloc[i] not in blend_group(type_scrutin):
                    continue
                same, recent, _ = deviation_pair(rows.iloc[:i], blocs, rows["type_scrutin"].iloc[i])
                if recent is not None:
                    truth = rows[blocs].iloc[i].to_numpy(float)
                    rows_out += [(territory, rows.index[i], "meme_type", *(same - truth)), (territory, rows.index[i], "moyenne", *((same + recent) / 2 - truth))]
        return pd.DataFrame(rows_out, columns=["code_territoire", "scrutin_id", "regle", *blocs])

    return _cached(f"regles_{type_scrutin}", data, compute)


def deviation_blend(data: ElectionData, type_scrutin: str) -> bool:
    """Whether the mean of the same-type and the recent deviations predicted the départements' deviations at the
    earlier ballots of the target's group better than the same-type deviation alone (squared log error summed
    over blocs and cases, :func:`rule_errors`); False without such a case."""
    errors = rule_errors(data, type_scrutin)
    squares = errors.drop(columns=["code_territoire", "scrutin_id"]).groupby("regle").apply(lambda f: float(np.nansum(f.to_numpy(float) ** 2)))
    return bool(len(squares) == 2 and squares["moyenne"] < squares["meme_type"])


def rule_sd(data: ElectionData, territory: str, type_scrutin: str, blended: bool) -> np.ndarray:
    """Per bloc: RMS error of the deviation rule used (:func:`rule_errors`), half the territory's, half every
    département's (:func:`level_variance`); without any measured case, the RMS change between consecutive same-type ballots (:func:`deviation_sd`)."""
    errors = rule_errors(data, type_scrutin)
    errors = errors[errors["regle"] == ("moyenne" if blended else "meme_type")]
    if errors.empty:
        return deviation_sd(data, territory)
    blocs = list(data.blocs)
    pooled = level_variance(errors[blocs]).reindex(blocs)
    own = (errors.loc[errors["code_territoire"] == territory, blocs] ** 2).mean().reindex(blocs)
    variance = 0.5 * own.fillna(pooled) + 0.5 * pooled.fillna(own)
    fallback = deviation_sd(data, territory) ** 2
    return np.sqrt(np.where(variance.isna(), fallback, variance.to_numpy(float)))


# ─── Drifts without polls ────────────────────────────────────────────────────────────────

def years_apart(earlier: pd.Timestamp, later: pd.Timestamp) -> float:
    """Years between two dates (at least one day)."""
    return max((pd.Timestamp(later) - pd.Timestamp(earlier)).days, 1) / DAYS_PER_YEAR


def national_drift_variance(data: ElectionData) -> tuple[np.ndarray, int]:
    """Variance per year of each bloc's national log-ratio swing between consecutive same-type first rounds
    (blocs standing in both; each bloc's mean shrunk halfway to the mean over blocs), and the number of pairs."""
    results, blocs = national_results(data), list(data.blocs)
    rows = []
    for _, group in results.groupby("type_scrutin"):
        group = group.sort_values("date_scrutin")
        for (_, a), (_, b) in zip(group.iloc[:-1].iterrows(), group.iloc[1:].iterrows(), strict=True):
            swing = log_error(b[blocs].to_numpy(float), a[blocs].to_numpy(float))
            rows.append(swing ** 2 / years_apart(a["date_scrutin"], b["date_scrutin"]))
    if not rows:
        return np.zeros(len(blocs)), 0
    per_year = np.array(rows)
    own, pooled = np.nanmean(np.where(np.isnan(per_year).all(axis=0), 0.0, per_year), axis=0), float(np.nanmean(per_year))
    own = np.where(np.isnan(per_year).all(axis=0), pooled, own)
    return 0.5 * own + 0.5 * pooled, len(rows)


def abstention_variance(data: ElectionData, territory: str) -> tuple[float, int]:
    """Variance per year of the logit abstention swing between consecutive same-type first rounds of the
    territory and of France, and the number of pairs (0 when none)."""
    values = []
    for place in dict.fromkeys((territory, "FR")):
        wide = totals_wide(data, place)
        for _, group in wide.groupby("type_scrutin"):
            group = group.sort_values("date_scrutin")
            rates, dates = logit(group[ABSTENTION].to_numpy(float)), group["date_scrutin"].tolist()
            values += [(rates[i + 1] - rates[i]) ** 2 / years_apart(dates[i], dates[i + 1]) for i in range(len(group) - 1)]
    values = [v for v in values if np.isfinite(v)]
    return (float(np.mean(values)), len(values)) if values else (0.0, 0)


def poll_calibration(data: ElectionData) -> PollCalibration:
    """The poll error sd per bloc and distance class, measured on the past ballots of ``data`` (cached)."""
    return _cached("sondages", data, lambda: calibrate_errors(poll_errors(data), data.blocs))


# ─── Entry point ─────────────────────────────────────────────────────────────────────────

def default_present(data: ElectionData, type_scrutin: str) -> np.ndarray:
    """Blocs that stood at the last ballot of the same type (else the last ballot; all blocs without any)."""
    ballots = data.ballots
    same = ballots[ballots["type_scrutin"] == type_scrutin]
    chosen = same if not same.empty else ballots
    if chosen.empty:
        return np.ones(len(data.blocs), bool)
    return chosen.sort_values("date_scrutin").iloc[-1][list(data.blocs)].to_numpy(bool)


def standing_blocs(data: ElectionData, target: str, type_scrutin: str, hypothesis: str | None = None) -> np.ndarray:
    """Blocs expected to stand in ``target``: those of the last same-type ballot (:func:`default_present`) plus those
    the polls of the hypothesis give a positive share (the candidate lists are public before the vote: a bloc
    absent from the last same-type ballot, the écologistes of 2022 after 2017, stands when the polls test it)."""
    present = default_present(data, type_scrutin)
    aggregate = poll_aggregate(data.polls, list(data.blocs), target, hypothesis, data.as_of)
    if aggregate is None:
        return present
    return present | (np.nan_to_num(aggregate.shares.to_numpy(float)) > 0)


def _date_fr(value: pd.Timestamp) -> str:
    return pd.Timestamp(value).strftime("%d/%m/%Y")


def _points(values: np.ndarray) -> str:
    return ", ".join(f"{b} {100 * v:.1f}" for b, v in values)


def _poll_notes(aggregate, spread: pd.DataFrame, calibration: PollCalibration, distance: float) -> list[str]:  # noqa: ANN001
    polls = aggregate.polls
    pollsters = sorted(polls["institut"].dropna().unique())
    notes = [f"Sondages nationaux : {len(polls)} scénario(s) de {len(pollsters) or 'instituts inconnus'} institut(s) "
             f"({', '.join(pollsters) or 'non renseignés'}), terrains du {_date_fr(polls['date_fin'].min())} au "
             f"{_date_fr(polls['date_fin'].max())}, pondérés par ancienneté (demi-vie 14 jours), taille d'échantillon et institut.",
             f"Hypothèse de candidatures retenue : {aggregate.hypothesis}."]
    if spread.empty:
        notes.append("Aucune autre hypothèse de candidatures testée dans les 60 jours : pas d'écart entre hypothèses à signaler.")
    else:
        top = spread.sort_values("ecart_max", ascending=False).iloc[0]
        notes.append(f"{len(spread)} autre(s) hypothèse(s) testée(s) dans les 60 jours : leurs intentions par bloc s'écartent de "
                     f"l'hypothèse retenue de {top['ecart_max']:.1f} point(s) au plus ({top['bloc']}) ; elles ne sont pas moyennées.")
    label = CLASS_LABELS[distance_class(distance)]
    notes.append(f"Erreur des sondages calibrée sur {int(calibration.ballots.iloc[distance_class(distance)])} scrutins passés "
                 f"sondés à la même distance du vote ({label}).")
    return notes


def national_part(data: ElectionData, target: str, type_scrutin: str, date: pd.Timestamp,
                  hypothesis: str | None) -> tuple[np.ndarray, np.ndarray, str, list[str], pd.DataFrame]:
    """National bloc shares of ``target`` (NaN = unknown), their sd, the method, French notes and the polls used."""
    blocs = list(data.blocs)
    results = national_results(data)
    fallback, reference = latest_known(results, blocs, type_scrutin)
    aggregate = poll_aggregate(data.polls, blocs, target, hypothesis, data.as_of)
    if aggregate is not None:
        national = aggregate.shares.to_numpy(float)
        distance = float((date - aggregate.latest).days)
        calibration = poll_calibration(data)
        notes = _poll_notes(aggregate, hypothesis_spread(data.polls, blocs, target, aggregate, data.as_of), calibration, distance)
        shares = np.where(np.isnan(national), fallback, national)
        return shares, calibration.at(distance, shares / np.nansum(shares)), "sondages", notes, aggregate.polls
    variance, pairs = national_drift_variance(data)
    start = results.loc[reference, "date_scrutin"] if reference is not None else (results["date_scrutin"].max() if not results.empty else date)
    notes = [f"Aucun sondage de ce scrutin avant la date de prévision : dernier scrutin national comparable ({reference or 'aucun'}), "
             f"dérive mesurée sur {pairs} paires de scrutins nationaux successifs du même type."]
    return fallback, np.sqrt(years_apart(start, date) * variance), "dernier_scrutin_comparable", notes, pd.DataFrame()


def abstention_part(data: ElectionData, type_scrutin: str, date: pd.Timestamp) -> tuple[float, float, str]:
    """The territory's abstention at its last same-type ballot (else its last ballot, else France's), its logit sd, a note."""
    local = local_history(data)
    same = local[local["type_scrutin"] == type_scrutin]
    source = same if not same.empty else (local if not local.empty else totals_wide(data, "FR"))
    if source.empty:
        return float("nan"), 0.0, "Abstention : aucun scrutin connu."
    variance, pairs = abstention_variance(data, data.territoire)
    sd = float(np.sqrt(years_apart(source["date_scrutin"].iloc[-1], date) * variance))
    note = f"Abstention : taux du territoire au scrutin {source.index[-1]}, dérive mesurée sur {pairs} paires de scrutins successifs du même type."
    return float(source[ABSTENTION].iloc[-1]), sd, note


def territory_totals(data: ElectionData, target: str, type_scrutin: str, date: pd.Timestamp,
                     present: np.ndarray | None = None, hypothesis: str | None = None) -> TerritoryForecast:
    """The territory's totals of ``target`` (national polls or last comparable ballot × deviation; module doc)."""
    blocs, date = list(data.blocs), pd.Timestamp(date)
    present = default_present(data, type_scrutin) if present is None else np.asarray(present, dtype=bool)
    national, national_sd, method, notes, polls = national_part(data, target, type_scrutin, date, hypothesis)
    deviation, recent, deviation_ref = deviation_pair(deviation_table(data, data.territoire), blocs, type_scrutin)
    blended = recent is not None and deviation_blend(data, type_scrutin)
    deviation = np.nanmean([deviation, recent], axis=0) if blended else deviation
    shares = close((np.nan_to_num(national) * np.exp(np.nan_to_num(deviation)))[None, :], present[None, :])[0]
    bloc_sd = np.sqrt(np.nan_to_num(national_sd) ** 2 + rule_sd(data, data.territoire, type_scrutin, blended) ** 2)
    abstention, abstention_sd, abstention_note = abstention_part(data, type_scrutin, date)
    rule = (f"moyenne de celui du dernier scrutin du même type ({deviation_ref}) et du dernier scrutin présidentiel ou européen "
            "(règle choisie car elle prédisait mieux les écarts des départements aux scrutins passés)") if blended else \
        f"celui du dernier scrutin du même type ({deviation_ref or 'aucun, écart nul'})"
    notes += [f"Écart du territoire à la France : {rule}.", abstention_note]
    sd = np.append(np.where(present, bloc_sd, 0.0), abstention_sd)
    return TerritoryForecast(shares, abstention, sd, method, tuple(notes), polls)
