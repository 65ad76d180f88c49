"""Unconditional backtest of the duels: a past présidentielle second round as it would have been forecast one month
before its first round (issue 16, item 3; stored in ``model_evaluation_duel`` with ``conditionnel = false``).

The whole chain of :mod:`.duel_stage`, run as of ``D`` = first round − 1 month (the replays' one-month date,
:func:`electio.forecasts.replays.replay_cases`):

1. ``inputs = load_duel_inputs(warehouse, D)`` — the as-of cut is made once, by
   :func:`~electio.features.election_data.load_election_data` (ballots, polls, indicators known before ``D``);
2. the first round by commune is the replay of the first round at ``D``
   (:func:`electio.forecasts.replays.cached_replay`: the retained learner trained on the cut data, the
   territory totals from the first-round polls of the time; read from the replays' cache when
   ``electio evaluate`` has already made it); its quantiles are drawn back as in the stage
   (:func:`~electio.forecasts.duel_stage.first_round_draws`);
3. transfer rates from the présidentielle T1→T2 pairs held before ``D`` only (2022: 2017 and 2012;
   2017: 2012), through the analogues;
4. the national tie: the duel's second-round polls with fieldwork ended before ``D`` (last 30 days of
   them), the national first round from the first-round polls of the time (default hypothesis), the poll
   spread from the earlier second rounds' errors, grown to the T2's distance. **Without any such poll**
   (2017: the compilers' first T2 poll ends on 24 April 2017) the rates are not shifted: the national level
   is what the transfers give on the national first-round polls, and the row says ``sondages = 0``.

The duel is the one really played (the finalists are read from the results): the backtest is conditional on the
pair of finalists, not on their first-round scores. Scores and baseline as in :mod:`.duel_backtest` (the uniform
swing from the previous T2 moved by the poll aggregate at ``D``; not computable without a poll).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from electio.forecasts import hypotheses as hy
from electio.forecasts.duel_backtest import (
    TARGETS,
    candidate_blocs,
    evaluation_rows,
    france_results,
    known_finals,
    observed_t2,
    past_errors,
    polls_of_duel,
    uniform_swing,
    with_holdout,
)
from electio.forecasts.duel_stage import (
    DAYS_PER_MONTH,
    blank_rates,
    first_round_draws,
    national_first_round,
)
from electio.forecasts.duels import (
    DuelInputs,
    a_share,
    duel_rates,
    historical_transfers,
    load_analogues,
    load_duel_inputs,
    mix_from_shares,
    poll_spread,
    shift_rates,
    simulate_duel,
)


def replay_case(full: DuelInputs, t1: str):
    """The replays' one-month case of the first round ``t1`` (same date and cache key as ``electio evaluate``'s replays)."""
    from electio.forecasts.replays import replay_cases

    return next(c for c in replay_cases(full.data, [t1]) if c.horizon_ans == 0)


def replayed_first_round(path: Path, inputs: DuelInputs, case, learner: str, fast: bool = False) -> pd.DataFrame:
    """The retained learner's first-round commune rows of the replay at ``case.as_of`` (cut data of ``inputs``), cached."""
    from electio.forecasts.replays import (
        RETAINED,
        cache_dir,
        cached_replay,
        percent_indicators,
        replay_target,
    )

    target = replay_target(case, frozenset(inputs.data.ballots["type_scrutin"]))
    if target is None:
        raise ValueError(f"{case.scrutin_id} absent du calendrier au {case.as_of:%d/%m/%Y}")
    summaries, _ = cached_replay(inputs.data, target, case, learner, percent_indicators(path), cache_dir(), fast)
    return summaries[summaries["modele"] == RETAINED]


def national_mix_at(inputs: DuelInputs, t1: str, as_of: pd.Timestamp) -> np.ndarray:
    """France's first round as the polls of ``as_of`` saw it (default hypothesis of ``t1``'s polls, :func:`~.duel_stage.national_first_round`)."""
    hypotheses = hy.list_hypotheses(inputs.data.polls, as_of, target=t1, names=hy.candidate_names(t1))
    if not hypotheses:
        raise ValueError(f"{t1} : aucun sondage de premier tour avant le {as_of:%d/%m/%Y}")
    return national_first_round(inputs, hypotheses[0])


def replay_duel(path: Path, full: DuelInputs, t2: str, candidates: pd.DataFrame, learner: str, draws: int = 2000, seed: int = 2026,
                replicates: int = 100, fast: bool = False) -> pd.DataFrame:
    """``model_evaluation_duel`` rows (``conditionnel`` false) of one past T2 forecast one month before its first round (module doc)."""
    t1 = t2.replace("_t2", "_t1")
    case = replay_case(full, t1)
    inputs = load_duel_inputs(path, case.as_of)  # the one as-of cut
    final = known_finals(full, t2, candidates)
    first = replayed_first_round(path, inputs, case, learner, fast)
    codes, observed, exprimes = observed_t2(full, t2, final, pd.Index(sorted(first["code_commune"].unique())))
    rng = np.random.default_rng([seed, 3])
    shares, abstention = first_round_draws(first, list(codes), inputs.data.blocs, draws, rng)
    mixes = mix_from_shares(shares, np.clip(abstention + blank_rates(inputs, codes)[None, :], 0, 1))
    inscrits = inputs.data.results.groupby("code_commune")["inscrits"].last().reindex(codes).fillna(0).to_numpy(float)
    earlier = inputs.ballots.loc[inputs.ballots["tour"] == 2, "scrutin_id"].tolist()
    fits = historical_transfers(inputs, earlier, replicates, seed)
    analogues = load_analogues(blocs=inputs.data.blocs)
    options = (*inputs.data.blocs, "abstention")
    rates = with_holdout(duel_rates(final.blocs, analogues, fits, options, france_results(inputs, earlier)), final.blocs, analogues, fits, inputs)
    national = national_mix_at(inputs, t1, case.as_of)
    duel = polls_of_duel(inputs.data.polls, case.as_of, t2, final)
    t2_date = full.ballots.set_index("scrutin_id").loc[t2, "date_scrutin"]
    if duel is None:  # no T2 poll yet: the transfers' own national level, no poll spread (module doc)
        share, spread, polls = float(a_share(national, shift_rates(rates.rates, rates.deviation))), 0.0, 0
    else:
        months = (t2_date - case.as_of).days / DAYS_PER_MONTH
        share, polls = duel.part_a, duel.sondages_fenetre
        spread = poll_spread(duel.ecart_type_sondages, duel.sondages_fenetre, past_errors(inputs, case.as_of, candidates), months)
    simulated = simulate_duel(list(codes), mixes, inscrits, rates, national, share, spread, np.random.default_rng([seed, 4]))
    common = {"scrutin_test": t2, "conditionnel": False, "analogues": ", ".join(rates.scrutins), "sondages": polls, "part_sondages": share,
              "communes": len(codes)}
    return evaluation_rows(common, simulated, observed, exprimes, uniform_swing(inputs, t2, final, duel, earlier, candidates, codes, observed, exprimes))


def replay_duels(path: Path, learner: str, targets: Sequence[str] = TARGETS, draws: int = 2000, seed: int = 2026, replicates: int = 100,
                 fast: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Unconditional rows of every target T2 of the warehouse, and a French note per target that could not be replayed
    (e.g. pres2017: no backtest of the first-round model is possible before March 2017, so no calibrated first round)."""
    path = Path(path)
    full = load_duel_inputs(path)
    candidates = candidate_blocs(full, path)
    frames, notes = [], []
    for t2 in (t for t in targets if t in set(full.second["scrutin_id"])):
        try:
            frames.append(replay_duel(path, full, t2, candidates, learner, draws, seed, replicates, fast))
        except ValueError as error:
            notes.append(f"Backtest inconditionnel de {t2} non calculé : {error}.")
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), notes
