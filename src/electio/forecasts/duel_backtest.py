"""Backtest of the duel model: a past présidentielle second round predicted commune by commune from its first round.

Conditional replay of ``pres2022_t2`` and ``pres2017_t2`` (the true first round is given): the
transfer rates come only from the présidentielle T2 held **before** the target's first round (2022:
2017 — and 2012 when the referential maps it to the duel; 2017: 2012), through the analogues of
``referentials/duels_analogues.csv``; the national level comes from the target duel's polls as known
shortly after the first-round evening: fieldwork ended before T1 + ``POST_T1_DAYS`` days, the last 30
days of them (the compilers hold no 2017 T2 poll before the first round: the first ones end on
24 April 2017, T1 being on the 23rd). The poll spread uses the final-month errors of the earlier
second rounds only.

Reported per target (table ``model_evaluation_duel``): MAE of the first candidate's share of the
exprimés over the communes (points), winner accuracy (communes whose predicted winner — mean share
above 50 % — won), coverage of the 80 % interval, the territory's error, next to a **uniform swing**
from the previous T2: each commune's share of the candidate playing the same role in the previous
second round (the analogue's ``finalistes``), moved by the national change from that round's result
to the poll aggregate (not available when the warehouse has no France total of the previous round:
pres2012).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from electio.forecasts.duels import (
    DuelInputs,
    DuelRates,
    duel_rates,
    historical_transfers,
    holdout_spread,
    load_analogues,
    mix_from_shares,
    observed_mix,
    poll_spread,
    simulate_duel,
    summarise_draws,
)
from electio.forecasts.hypotheses import Duel, bloc_order, candidate_names, list_duels
from electio.models.compositional import logit

POST_T1_DAYS = 3
TARGETS = ("pres2017_t2", "pres2022_t2")
EVALUATION_COLUMNS = ["scrutin_test", "methode", "conditionnel", "analogues", "sondages", "part_sondages", "communes",
                      "mae_points", "precision_vainqueur", "couverture_80", "erreur_territoire_points"]


@dataclass(frozen=True)
class Finals:
    """The two finalists of a past T2: blocs ordered left to right, candidate keys in the same order."""

    blocs: tuple[str, str]
    candidats: tuple[str, str]


def finals(inputs: DuelInputs, t2: str, candidates: pd.DataFrame) -> Finals:
    """The finalists of ``t2`` from its commune results (``candidates``: scrutin_id, candidat, bloc)."""
    order = bloc_order()
    rows = candidates[candidates["scrutin_id"] == t2].drop_duplicates("bloc").copy()
    rows["ordre"] = rows["bloc"].map(order)
    rows = rows.sort_values("ordre")
    return Finals(tuple(rows["bloc"]), tuple(rows["candidat"]))  # type: ignore[arg-type]


def known_finals(inputs: DuelInputs, t2: str, candidates: pd.DataFrame) -> Finals:
    """:func:`finals`, or a French ValueError when the territory has no commune result of ``t2`` (no finalists known)."""
    final = finals(inputs, t2, candidates)
    if len(final.blocs) < 2:
        raise ValueError(f"{t2} : aucun résultat par commune du second tour dans l'entrepôt (finalistes inconnus)")
    return final


def poll_cut(inputs: DuelInputs, t2: str) -> pd.Timestamp:
    """The date before which a T2 poll counts: the first round's date + ``POST_T1_DAYS`` + 1 day."""
    ballots = inputs.ballots.set_index("scrutin_id")["date_scrutin"]
    return ballots[t2.replace("_t2", "_t1")] + pd.Timedelta(days=POST_T1_DAYS + 1)


def duel_polls(inputs: DuelInputs, t2: str, final: Finals) -> Duel | None:
    """The duel of ``t2``'s polls matching the true finalists, as known at :func:`poll_cut`."""
    cut = poll_cut(inputs, t2)
    polls = inputs.data.polls
    return polls_of_duel(polls[polls["date_fin"] < cut], cut, t2, final)


def polls_of_duel(polls: pd.DataFrame | None, as_of: pd.Timestamp, t2: str, final: Finals) -> Duel | None:
    """The duel of ``t2`` among ``polls`` (already cut) matching the finalists, its aggregate as of ``as_of``; None without such polls."""
    if polls is None:
        return None
    duels = list_duels(polls, as_of, target=t2, names=candidate_names(t2))
    return next((d for d in duels if set(d.candidats) == set(final.candidats)), None)


def france_share(inputs: DuelInputs, t2: str, bloc: str) -> float | None:
    """France's result of ``bloc`` at ``t2`` (share of exprimés), None when the warehouse has no France total."""
    totals = inputs.data.totals
    row = totals[(totals["scrutin_id"] == t2) & (totals["niveau"] == "france") & (totals["output"] == bloc)]
    return None if row.empty else float(row["part"].iloc[0])


def france_mix(inputs: DuelInputs, t1: str) -> np.ndarray | None:
    """France's T1 mix (options: blocs, non-exprimés) from the France totals, None when absent."""
    totals = inputs.data.totals
    rows = totals[(totals["scrutin_id"] == t1) & (totals["niveau"] == "france")].set_index("output")["part"]
    france = inputs.france.set_index("scrutin_id")
    if rows.empty or t1 not in france.index:
        return None
    shares = np.array([rows.get(b, 0.0) for b in inputs.data.blocs], float)
    return mix_from_shares(shares, 1 - france.loc[t1, "exprimes"] / france.loc[t1, "inscrits"])


def france_results(inputs: DuelInputs, scrutins: Sequence[str]) -> dict[str, tuple[np.ndarray, dict[str, float]]]:
    """Per T2 ballot with France totals: France's T1 mix and France's T2 share per bloc (see :func:`~electio.forecasts.duels.duel_rates`)."""
    totals = inputs.data.totals
    out = {}
    for t2 in scrutins:
        mix = france_mix(inputs, t2.replace("_t2", "_t1"))
        shares = totals[(totals["scrutin_id"] == t2) & (totals["niveau"] == "france")].set_index("output")["part"].to_dict()
        if mix is not None and shares:
            out[t2] = (mix, {k: float(v) for k, v in shares.items() if k != "abstention"})
    return out


def past_errors(inputs: DuelInputs, before: pd.Timestamp, candidates: pd.DataFrame) -> list[float]:
    """Logit errors (result − final-month poll aggregate) of the présidentielle T2 held before ``before``, where both are known
    (a T2 without commune results in the territory, hence without known finalists, is left out)."""
    errors = []
    for t2 in inputs.ballots.loc[(inputs.ballots["tour"] == 2) & (inputs.ballots["date_scrutin"] < before), "scrutin_id"]:
        final = finals(inputs, t2, candidates)
        if len(final.blocs) < 2:
            continue
        duel, result = duel_polls(inputs, t2, final), france_share(inputs, t2, final.blocs[0])
        if duel is not None and result is not None:
            errors.append(float(logit(np.array(result)) - logit(np.array(duel.part_a))))
    return errors


def with_holdout(rates: DuelRates, duel: tuple[str, str], analogues, fits, inputs: DuelInputs) -> DuelRates:
    """``rates`` with the out-of-sample commune spread (:func:`~electio.forecasts.duels.holdout_spread`) when one can be measured."""
    spread = holdout_spread(duel, analogues, fits, inputs, rates.options)
    return rates if spread is None else replace(rates, residual_sd=spread)


def score(predicted: np.ndarray, low: np.ndarray, high: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """MAE (points), winner accuracy and 80 % coverage (NaN bounds: coverage NaN)."""
    coverage = float(np.mean((observed >= low) & (observed <= high))) if np.isfinite(low).all() else float("nan")
    return {"mae_points": float(100 * np.mean(np.abs(predicted - observed))),
            "precision_vainqueur": float(np.mean((predicted > 0.5) == (observed > 0.5))), "couverture_80": coverage}


def candidate_blocs(inputs: DuelInputs, path) -> pd.DataFrame:
    """scrutin_id, candidat, bloc of the présidentielle T2 candidates (for the finalists' keys)."""
    from electio.warehouse.store import connect

    with connect(path) as con:
        return con.execute(
            """SELECT DISTINCT scrutin_id, candidat, bloc FROM v_resultat_candidat_commune
               WHERE scrutin_id IN (SELECT scrutin_id FROM dim_scrutin WHERE type_scrutin = 'presidentielle' AND tour = 2) AND voix > 0"""
        ).df()


def backtest_duel(inputs: DuelInputs, t2: str, candidates: pd.DataFrame, draws: int = 2000, seed: int = 2026, replicates: int = 100) -> pd.DataFrame:
    """``model_evaluation_duel`` rows of one past T2 (transfer model, then the uniform-swing baseline)."""
    t1 = t2.replace("_t2", "_t1")
    final = known_finals(inputs, t2, candidates)
    first_date = inputs.ballots.set_index("scrutin_id").loc[t1, "date_scrutin"]
    earlier = inputs.ballots.loc[(inputs.ballots["tour"] == 2) & (inputs.ballots["date_scrutin"] < first_date), "scrutin_id"].tolist()
    fits = historical_transfers(inputs, earlier, replicates, seed)
    options = (*inputs.data.blocs, "abstention")
    analogues = load_analogues(blocs=inputs.data.blocs)
    rates: DuelRates = with_holdout(duel_rates(final.blocs, analogues, fits, options, france_results(inputs, earlier)), final.blocs, analogues, fits, inputs)
    duel = duel_polls(inputs, t2, final)
    national = france_mix(inputs, t1)
    if duel is None or national is None:
        raise ValueError(f"{t2} : sondages du duel ou total national du premier tour absents de l'entrepôt")
    first = inputs.data.results[inputs.data.results["scrutin_id"] == t1].set_index("code_commune")
    codes, observed, exprimes = observed_t2(inputs, t2, final, first.index)
    first = first.loc[codes]
    mix = observed_mix(first.reset_index(), inputs.data.blocs)
    spread = poll_spread(duel.ecart_type_sondages, duel.sondages_fenetre, past_errors(inputs, first_date, candidates))
    rng = np.random.default_rng([seed, 2])
    simulated = simulate_duel(list(codes), np.broadcast_to(mix, (draws, *mix.shape)), first["inscrits"].to_numpy(float), rates, national,
                              duel.part_a, spread, rng)
    common = {"scrutin_test": t2, "conditionnel": True, "analogues": ", ".join(rates.scrutins), "sondages": duel.sondages_fenetre,
              "part_sondages": duel.part_a, "communes": len(codes)}
    return evaluation_rows(common, simulated, observed, exprimes, uniform_swing(inputs, t2, final, duel, earlier, candidates, codes, observed, exprimes))


def observed_t2(inputs: DuelInputs, t2: str, final: Finals, communes: pd.Index) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The communes of ``communes`` with a ``t2`` result, the first finalist's true share of the two and their exprimés."""
    second = inputs.second[inputs.second["scrutin_id"] == t2].set_index("code_commune")
    codes = pd.Index(communes).intersection(second.index)
    a, b = (second.loc[codes, f"voix_{bloc}"].to_numpy(float) for bloc in final.blocs)
    return codes, a / (a + b), a + b


def evaluation_rows(common: dict, simulated, observed: np.ndarray, exprimes: np.ndarray, swing: dict[str, float]) -> pd.DataFrame:
    """``model_evaluation_duel`` rows: the transfer model's scores from its draws, then the uniform swing's (``swing``)."""
    summary = summarise_draws(simulated.communes)
    actual_territory = float(np.sum(observed * exprimes) / exprimes.sum())
    rows = [{**common, "methode": "transferts", **score(summary["moyenne"], summary["q10"], summary["q90"], observed),
             "erreur_territoire_points": 100 * (float(simulated.territory.mean()) - actual_territory)},
            {**common, "methode": "swing_uniforme", **swing}]
    return pd.DataFrame(rows)[EVALUATION_COLUMNS]


def uniform_swing(inputs: DuelInputs, t2: str, final: Finals, duel: Duel | None, earlier: Sequence[str], candidates: pd.DataFrame,
                  codes: pd.Index, observed: np.ndarray, exprimes: np.ndarray) -> dict[str, float]:
    """Scores of the uniform swing from the previous T2 (module doc); NaN without a duel poll or when that T2's France result is unknown."""
    empty = {"mae_points": float("nan"), "precision_vainqueur": float("nan"), "couverture_80": float("nan"), "erreur_territoire_points": float("nan")}
    if not earlier or duel is None:
        return empty
    previous = earlier[-1]
    analogue = next((a for a in load_analogues(blocs=inputs.data.blocs).get(final.blocs, ()) if a.scrutin_id == previous), None)
    if analogue is None:
        return empty
    a_prev, b_prev = (analogue.finalistes[b] for b in final.blocs)
    national_prev = france_share(inputs, previous, a_prev)
    if national_prev is None:
        return empty
    rows = inputs.second[inputs.second["scrutin_id"] == previous].set_index("code_commune").reindex(codes)
    before = (rows[f"voix_{a_prev}"] / (rows[f"voix_{a_prev}"] + rows[f"voix_{b_prev}"])).to_numpy(float)
    predicted = np.clip(before + (duel.part_a - national_prev), 0, 1)
    known = np.isfinite(predicted)
    out = score(predicted[known], np.full(known.sum(), np.nan), np.full(known.sum(), np.nan), observed[known])
    out["erreur_territoire_points"] = 100 * float((np.sum(predicted[known] * exprimes[known]) - np.sum(observed[known] * exprimes[known])) / exprimes[known].sum())
    return out


def backtest_duels(path, targets: Sequence[str] = TARGETS, draws: int = 2000, seed: int = 2026, replicates: int = 100) -> pd.DataFrame:
    """``model_evaluation_duel`` rows of every target T2 present in the warehouse."""
    from pathlib import Path

    from electio.forecasts.duels import load_duel_inputs

    inputs = load_duel_inputs(Path(path))
    candidates = candidate_blocs(inputs, Path(path))
    present = [t for t in targets if t in set(inputs.second["scrutin_id"])]
    if not present:
        raise ValueError("aucun second tour de présidentielle à rejouer dans l'entrepôt")
    return pd.concat([backtest_duel(inputs, t, candidates, draws, seed, replicates) for t in present], ignore_index=True)
