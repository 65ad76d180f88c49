"""Uncertainty of the forecasts: territory swings, commune residuals, reliability of lead probabilities.

Territory part. The swings between consecutive *comparable* ballots (same type, first rounds of
présidentielles and européennes: pres2012→pres2017→pres2022, euro2014→euro2019 in the Rhône) are
measured in centred log-ratios of the département's bloc shares (blocs standing in both ballots)
and in logit of its abstention rate. Treating the totals as a random walk in that space, the
variance per year of output b is

    s²_b = ½ · mean_j(δ²_jb / g_j) + ½ · mean_{j,c}(δ²_jc / g_j),

δ_jb being the swing of pair j (g_j years apart): each bloc's own mean squared swing per year,
shrunk halfway towards the mean over blocs (one to three swings per bloc cannot estimate it alone;
abstention is not pooled with the blocs). At horizon h years the territory's shares are drawn as

    T = close(T̂ · exp(√(h s²_b) · z_b − h s²_b / 2)),   abstention = expit(logit(Â) + √(h s²_abst) · z),   z ~ N(0, 1),

around the central totals T̂, Â of the territory model: independent log-normal perturbations of
the blocs with mean 1 (hence the − h s²_b / 2), closed so that they sum to 1; the spread grows like
√h. The draws are then reconciled like the communes (:func:`electio.models.compositional.rake`
over the draws, :func:`~electio.models.compositional.shift_to_mean` for abstention) so that their
mean is exactly T̂ and Â: the mean forecast of ``tendance`` is the territory model's, the median
lies below it for the small blocs (right-skewed distributions).

Commune part. The local model's errors when the true territory totals were given (conditional
backtests of the retained model, ``model_prediction_backtest``), calibrated by split conformal
prediction (:func:`electio.models.intervals.calibrate`: normalised scores and κ per output), at the
backtest horizon closest to the forecast's (ties: the longer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from electio.features.modelling_table import ABSTENTION, TARGET_TYPES, ElectionData, outputs, territory_shares, years_between
from electio.models.backtest import Prediction
from electio.models.compositional import close, clr, expit, logit, rake, shift_to_mean
from electio.models.intervals import Calibration, calibrate

BINS = 10


# ─── Territory swings ────────────────────────────────────────────────────────────────────

def comparable_pairs(ballots: pd.DataFrame, types: Sequence[str] = TARGET_TYPES) -> list[tuple[str, str, float]]:
    """(earlier, later, years apart) of consecutive ballots of the same type, in date order."""
    pairs = []
    for _, group in ballots[ballots["type_scrutin"].isin(types)].sort_values("date_scrutin").groupby("type_scrutin"):
        ids, dates = group["scrutin_id"].tolist(), group["date_scrutin"].tolist()
        pairs += [(ids[i], ids[i + 1], years_between(dates[i], dates[i + 1])) for i in range(len(ids) - 1)]
    return pairs


def territory_totals(data: ElectionData, scrutin_id: str) -> np.ndarray:
    """The territory's bloc shares then abstention rate at one ballot (k + 1)."""
    rows = data.results[data.results["scrutin_id"] == scrutin_id].assign(code_departement=data.territoire)
    return territory_shares(rows, data.blocs).iloc[0].to_numpy(float)


def swing(earlier: np.ndarray, later: np.ndarray, stood: np.ndarray) -> np.ndarray:
    """clr swing of the blocs standing in both ballots (NaN elsewhere), then the logit swing of abstention."""
    blocs = clr(later[None, :-1], stood[None]) - clr(earlier[None, :-1], stood[None])
    return np.append(blocs[0], logit(later[-1]) - logit(earlier[-1]))


def swings(data: ElectionData, before: pd.Timestamp | None = None) -> pd.DataFrame:
    """Swings between consecutive comparable ballots (one row per pair, one column per output, plus ``annees``),
    only of pairs whose later ballot is dated before ``before`` when given."""
    stood = data.ballots.set_index("scrutin_id")[list(data.blocs)]
    known = data.ballots if before is None else data.ballots[data.ballots["date_scrutin"] < before]
    rows = {}
    for earlier, later, gap in comparable_pairs(known):
        both = stood.loc[earlier].to_numpy(bool) & stood.loc[later].to_numpy(bool)
        rows[f"{earlier}→{later}"] = [*swing(territory_totals(data, earlier), territory_totals(data, later), both), gap]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[*outputs(data.blocs), "annees"])


def yearly_variance(table: pd.DataFrame) -> pd.Series:
    """Variance per year of each output's swing, blocs shrunk halfway to their common mean (module doc)."""
    per_year = (table.drop(columns="annees") ** 2).div(table["annees"], axis=0)
    own = per_year.mean()
    blocs = [c for c in per_year.columns if c != ABSTENTION]
    pooled = float(np.nanmean(per_year[blocs].to_numpy()))
    shrunk = 0.5 * own[blocs].fillna(pooled) + 0.5 * pooled
    return pd.concat([shrunk, own[[ABSTENTION]].fillna(0.0)])


def territory_draws(shares: np.ndarray, abstention: float, variance: np.ndarray, horizon: float, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draws of the territory's shares (draws × k) and abstention (draws) around central values (module doc)."""
    sd = np.sqrt(horizon * np.asarray(variance, dtype=float))
    present = np.broadcast_to(shares > 0, normals[:, :-1].shape)
    drawn = close(shares[None, :] * np.exp(sd[None, :-1] * normals[:, :-1] - sd[None, :-1] ** 2 / 2), present)
    rates = expit(logit(abstention) + sd[-1] * normals[:, -1])
    weights = np.ones(len(normals))
    return rake(drawn, weights, shares), shift_to_mean(rates, weights, abstention)


def interval_coverage(table: pd.DataFrame, variance: pd.Series, level: float = 0.8) -> float:
    """Share of the past swings inside the central ``level`` interval of the random walk (in-sample check)."""
    from scipy.stats import norm

    z = np.abs(table.drop(columns="annees")) / np.sqrt(np.outer(table["annees"], variance[table.columns.drop("annees")]))
    values = z.to_numpy(float)[~np.isnan(z.to_numpy(float))]
    return float(np.mean(values <= norm.ppf(0.5 + level / 2)))


# ─── Commune residuals from the backtests ────────────────────────────────────────────────

def backtest_predictions(frame: pd.DataFrame, blocs: Sequence[str], territory: str, dates: Mapping[str, pd.Timestamp]) -> list[Prediction]:
    """``model_prediction_backtest`` rows of one model and territory as :class:`Prediction` objects (one per ballot, horizon, flag).

    Sizes are the test ballot's exprimés and inscrits (the table keeps those); ``dates`` gives each ballot's date.
    """
    names = outputs(blocs)
    out = []
    for (scrutin, horizon, conditional), rows in frame.groupby(["scrutin_test", "horizon_ans", "conditionnel"], sort=True):
        wide = rows.pivot_table(index="code_commune", columns="bloc", values=["part_observee", "part_prevue"], aggfunc="first")
        size = rows.groupby("code_commune")[["inscrits", "exprimes"]].first().reindex(wide.index)
        observed, predicted = (wide[v].reindex(columns=names).to_numpy(float) for v in ("part_observee", "part_prevue"))
        kept = pd.DataFrame({"code_commune": wide.index, "code_departement": territory, "inscrits": size["inscrits"].to_numpy(),
                             "exprimes": size["exprimes"].to_numpy(), "taille_exprimes": size["exprimes"].to_numpy(float),
                             "taille_inscrits": size["inscrits"].to_numpy(float)})
        present = ~np.isnan(predicted)
        out.append(Prediction("retenu", scrutin, int(horizon), bool(conditional), pd.Timestamp(dates[scrutin]), kept, observed,
                              np.nan_to_num(predicted), present))
    return out


def closest_horizon(available: Sequence[int], horizon: int) -> int:
    """The available backtest horizon closest to ``horizon`` (ties: the longer)."""
    return min(available, key=lambda h: (abs(h - horizon), -h))


def horizon_calibration(predictions: Sequence[Prediction], horizon: int) -> tuple[Calibration, int]:
    """Conformal calibration from the (conditional) backtests at the horizon closest to ``horizon``, and that horizon."""
    chosen = closest_horizon(sorted({p.horizon_ans for p in predictions}), horizon)
    calibration = calibrate([p for p in predictions if p.horizon_ans == chosen])
    return calibration, chosen


# ─── Reliability of the lead probabilities ───────────────────────────────────────────────

def brier(probability: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared difference between probabilities and 0/1 outcomes."""
    return float(np.mean((np.asarray(probability, dtype=float) - np.asarray(outcome, dtype=float)) ** 2))


def reliability(probability: np.ndarray, outcome: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Reliability-diagram rows: per probability bin [i/bins, (i+1)/bins) (last bin closed), mean forecast, observed frequency, count."""
    p, o = np.asarray(probability, dtype=float), np.asarray(outcome, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"classe": index, "p": p, "o": o}).groupby("classe").agg(proba_moyenne=("p", "mean"), frequence_observee=("o", "mean"), effectif=("p", "size"))
    frame = frame.reindex(range(bins)).reset_index().rename(columns={"index": "classe"})
    frame["effectif"] = frame["effectif"].fillna(0).astype(int)
    frame["borne_basse"], frame["borne_haute"] = frame["classe"] / bins, (frame["classe"] + 1) / bins
    return frame[["classe", "borne_basse", "borne_haute", "proba_moyenne", "frequence_observee", "effectif"]]


def lead_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows with a lead probability, each with ``en_tete`` (1 if the bloc came first in the commune)."""
    blocs = frame[(frame["bloc"] != ABSTENTION) & frame["proba_tete"].notna()].copy()
    case = ["scrutin_test", "horizon_ans", "conditionnel", "code_commune"]
    blocs["en_tete"] = (blocs["part_observee"] == blocs.groupby(case)["part_observee"].transform("max")).astype(float)
    return blocs


def comparable_ballot(ballots: pd.DataFrame, target: str) -> str | None:
    """The last ballot of the same type before ``target``, else the last earlier ballot of any type (None: none)."""
    meta = ballots.set_index("scrutin_id")
    earlier = ballots[ballots["date_scrutin"] < meta.loc[target, "date_scrutin"]].sort_values("date_scrutin")
    same = earlier[earlier["type_scrutin"] == meta.loc[target, "type_scrutin"]]
    chosen = same if not same.empty else earlier
    return None if chosen.empty else str(chosen["scrutin_id"].iloc[-1])


def previous_lead_rates(data: ElectionData, targets: Sequence[str]) -> pd.DataFrame:
    """Leak-free base rate of P(lead): per target ballot and bloc standing in it, the share of the territory's
    communes the bloc led at the comparable earlier ballot, renormalised over the target's blocs
    (columns scrutin_test, bloc, frequence_reference). The same reference as ``frequence_tete`` in
    ``model_evaluation``; a reference computed from the test ballot's own outcomes is not one a
    forecaster could have had."""
    stood = data.ballots.set_index("scrutin_id")[list(data.blocs)]
    rows = []
    for target in targets:
        before = comparable_ballot(data.ballots, target) if target in stood.index else None
        if before is None:
            continue
        results = data.results[data.results["scrutin_id"] == before]
        voix = results[[f"voix_{b}" for b in data.blocs]].to_numpy(float)
        known = ~np.isnan(voix).all(axis=1)
        leaders = np.nanargmax(np.where(np.isnan(voix), -1.0, voix)[known], axis=1)
        frequency = np.bincount(leaders, minlength=len(data.blocs)) / max(int(known.sum()), 1)
        present = stood.loc[target].to_numpy(bool)
        frequency = np.where(present, frequency, 0.0)
        frequency = frequency / frequency.sum() if frequency.sum() > 0 else present / max(present.sum(), 1)
        rows += [(target, b, float(f)) for b, f, ok in zip(data.blocs, frequency, present, strict=True) if ok]
    return pd.DataFrame(rows, columns=["scrutin_test", "bloc", "frequence_reference"])


def brier_by_ballot(outcomes: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """Per (ballot, horizon, flag): Brier of the lead probabilities and of the leak-free base rate."""
    rows = outcomes.merge(rates, on=["scrutin_test", "bloc"], how="left")
    rows["base"] = rows["frequence_reference"].fillna(0.0)
    grouped = rows.groupby(["scrutin_test", "horizon_ans", "conditionnel"])
    return pd.DataFrame({"brier": grouped.apply(lambda f: brier(f["proba_tete"], f["en_tete"]), include_groups=False),
                         "brier_reference": grouped.apply(lambda f: brier(f["base"], f["en_tete"]), include_groups=False),
                         "communes": grouped["bloc"].size() / grouped["bloc"].nunique()}).reset_index()


def reliability_rows(outcomes: pd.DataFrame, source: str, territory: str, bins: int = BINS, rates: pd.DataFrame | None = None) -> pd.DataFrame:
    """``forecast_calibration`` rows of (proba_tete, en_tete, bloc, scrutin_test, horizon_ans, conditionnel) outcomes.

    ``brier_reference`` is the Brier of the leak-free base rate (:func:`previous_lead_rates`) when
    ``rates`` is given, else (older behaviour) of each bloc's lead frequency among the outcomes themselves.
    """
    if outcomes.empty:
        return pd.DataFrame()
    parts = []
    for conditional, rows in outcomes.groupby("conditionnel"):
        p, o = rows["proba_tete"].to_numpy(float), rows["en_tete"].to_numpy(float)
        if rates is not None:
            base = rows.merge(rates, on=["scrutin_test", "bloc"], how="left")["frequence_reference"].fillna(0.0).to_numpy(float)
        else:
            base = rows.groupby("bloc")["en_tete"].transform("mean").to_numpy(float)
        cases = sorted(set(zip(rows["scrutin_test"], rows["horizon_ans"], strict=True)))
        parts.append(reliability(p, o, bins).assign(
            territoire=territory, modele="retenu", source=source, conditionnel=bool(conditional), brier=brier(p, o),
            brier_reference=brier(base, o), scrutins=", ".join(f"{s} à {h} ans" for s, h in cases)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
