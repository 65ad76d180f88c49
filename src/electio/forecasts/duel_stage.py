"""The duels stage: présidentielle 2027 second rounds by commune, written after the first-round forecasts.

Called from ``electio forecast`` (:func:`electio.forecasts.stage.run_forecast`, one hook) once
``fact_prevision`` is written. It reads the warehouse through :func:`~electio.forecasts.duels.load_duel_inputs`
cut to the as-of date, picks the first-round hypothesis (:mod:`.hypotheses`, ``--hypothese``, default
the highest recency weight of polls in the last 60 days) and the duels (``--duel``, default every duel the polls test
that has a historical analogue), and for each duel simulates the communes (:mod:`.duels`) from the
stored ``pres2027_t1`` commune forecasts.

First-round draws. ``fact_prevision`` keeps quantiles, not draws: each commune's bloc shares and
abstention are drawn back by inverse CDF (piecewise linear through the stored 2.5/10/50/90/97.5 %
quantiles, clamped beyond), with uniforms ``Φ(√ρ·z_b + √(1−ρ)·e_cb)`` sharing a territory-wide
normal ``z_b`` per bloc and draw (ρ = ``RANK_CORRELATION``: the forecast stage draws one territory
total per draw, which moves every commune together) — then the blocs are closed to sum to 1. The
non-exprimés add to the abstention the commune's blancs and nuls of the last présidentielle T1.

Hypothesis. The stored first round is the forecast stage's for the chosen hypothesis: its territory
totals come from that hypothesis's polls (:func:`electio.forecasts.engine.poll_hypothesis`, the same
choice as here), so the draws are used as they are. The duels are also stored for the other recent
hypotheses (:data:`STORED_HYPOTHESES`, the most polled in the last 60 days, so that the dashboard can
switch between them without computing): their first-round draws are the chosen hypothesis's, each
bloc's share multiplied in every commune by the ratio of the two hypotheses' national aggregates
(:func:`recentre`, then closed), with the same random numbers.

National first round (for the poll tie): the chosen hypothesis's poll aggregate per bloc, with
France's non-exprimés rate of the last présidentielle T1. The backtests are run too and stored in
``model_evaluation_duel``: conditional (:mod:`.duel_backtest`) and, given the retained learner, unconditional
(:mod:`.duel_replay`, one month before the first round).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from electio import config
from electio.errors import ElectioError, InputError
from electio.forecasts import hypotheses as hy
from electio.forecasts.duel_backtest import TARGETS as BACKTEST_TARGETS
from electio.forecasts.duel_backtest import backtest_duels, candidate_blocs, france_mix, france_results, past_errors, with_holdout
from electio.forecasts.duels import (
    DuelInputs,
    duel_rates,
    duel_rows,
    historical_transfers,
    load_analogues,
    load_duel_inputs,
    mix_from_shares,
    poll_spread,
    simulate_duel,
)
from electio.forecasts.simulate import STORED_QUANTILES

DDL = "duels.sql"
TARGET_T1, TARGET_T2 = "pres2027_t1", "pres2027_t2"
RANK_CORRELATION = 0.5
LEVELS = np.array([0.025, 0.1, 0.5, 0.9, 0.975])
DAYS_PER_MONTH = 30.44
STORED_HYPOTHESES = 8


@dataclass
class DuelResult:
    """What the stage computed: the hypothesis, the duels, the tables' rows, French notes."""

    hypothesis: hy.Hypothesis
    duels: list[hy.Duel]
    dim_hypothese: pd.DataFrame
    dim_duel: pd.DataFrame
    forecasts: pd.DataFrame  # every stored hypothesis (column hypothese_id)
    evaluation: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    stored: dict[str, int] = field(default_factory=dict)

    def retained(self) -> pd.DataFrame:
        """The forecasts of the chosen hypothesis."""
        if self.hypothesis is None or "hypothese_id" not in self.forecasts:
            return self.forecasts
        return self.forecasts[self.forecasts["hypothese_id"] == self.hypothesis.hypothese_id]


def first_round_draws(quantiles: pd.DataFrame, codes: Sequence[str], blocs: Sequence[str], draws: int, rng: np.random.Generator,
                      rho: float = RANK_CORRELATION) -> tuple[np.ndarray, np.ndarray]:
    """(bloc shares draws × n × k, abstention draws × n) from ``fact_prevision`` rows (code_commune, bloc, q025…q975) (module doc)."""
    outputs = [*blocs, "abstention"]
    grid = quantiles.set_index(["code_commune", "bloc"])[list(STORED_QUANTILES)]
    values = np.stack([grid.reindex(pd.MultiIndex.from_product([codes, [o]])).to_numpy(float) for o in outputs], axis=1)  # n × (k+1) × 5
    common = rng.standard_normal((draws, 1, len(outputs)))
    uniforms = norm.cdf(np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal((draws, len(codes), len(outputs))))
    position = np.clip(np.interp(uniforms, LEVELS, np.arange(len(LEVELS))), 0, len(LEVELS) - 1)
    low = np.floor(position).astype(int).clip(max=len(LEVELS) - 2)
    weight = position - low
    lower = np.take_along_axis(values[None], low[..., None], axis=-1)[..., 0]
    upper = np.take_along_axis(values[None], (low + 1)[..., None], axis=-1)[..., 0]
    drawn = np.nan_to_num(lower + weight * (upper - lower))
    shares = np.clip(drawn[..., :-1], 0, None)
    shares = shares / np.maximum(shares.sum(axis=-1, keepdims=True), 1e-12)
    return shares, np.clip(drawn[..., -1], 0, 1)


def stored_first_round(path: Path, scenario: str = "tendance") -> pd.DataFrame:
    """The ``pres2027_t1`` rows of ``fact_prevision`` (one scenario); an error saying what to run when absent."""
    from electio.warehouse.store import connect

    with connect(path) as con:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'fact_prevision'").fetchone()[0]:
            raise ElectioError("prévisions du premier tour absentes de l'entrepôt : lancez d'abord « electio forecast »")
        rows = con.execute("SELECT * FROM fact_prevision WHERE scrutin_cible = ? AND scenario = ?", [TARGET_T1, scenario]).df()
    if rows.empty:
        raise ElectioError(f"aucune prévision {TARGET_T1} dans fact_prevision (scénario {scenario}) : la présidentielle 2027 n'est pas une cible de cette date")
    return rows


def blank_rates(inputs: DuelInputs, codes: Sequence[str]) -> np.ndarray:
    """Blancs + nuls share of the inscrits per commune at the last présidentielle T1 (0 where unknown)."""
    results = inputs.data.results
    last = inputs.data.ballots[inputs.data.ballots["type_scrutin"] == "presidentielle"]["scrutin_id"].iloc[-1]
    rows = results[results["scrutin_id"] == last].set_index("code_commune").reindex(codes)
    return ((rows["votants"] - rows["exprimes"]) / rows["inscrits"]).fillna(0).to_numpy(float)


def national_first_round(inputs: DuelInputs, hypothesis: hy.Hypothesis) -> np.ndarray:
    """France's T1 mix under the hypothesis: its poll aggregate per bloc, France's last présidentielle non-exprimés rate."""
    last = inputs.data.ballots[inputs.data.ballots["type_scrutin"] == "presidentielle"]["scrutin_id"].iloc[-1]
    reference = france_mix(inputs, last)
    non = float(reference[-1]) if reference is not None else 0.0
    shares = np.array([hypothesis.agregat.get(b, 0.0) for b in inputs.data.blocs], float)
    return mix_from_shares(shares / shares.sum(), non)


def hypothesis_rows(hypotheses: Sequence[hy.Hypothesis], chosen: hy.Hypothesis, stored: Sequence[hy.Hypothesis] = ()) -> pd.DataFrame:
    """``dim_hypothese`` rows."""
    kept = {h.hypothese_id for h in stored}
    return pd.DataFrame([{"hypothese_id": h.hypothese_id, "libelle": h.libelle, "candidats": "; ".join(h.candidats), "sondages": h.sondages,
                          "sondages_recents": h.sondages_recents, "dernier_sondage": h.dernier_sondage.date(), "par_defaut": i == 0,
                          "retenue": h.hypothese_id == chosen.hypothese_id, "duels_calcules": h.hypothese_id in kept,
                          "agregat": json.dumps({k: round(float(v), 4) for k, v in h.agregat.items()})} for i, h in enumerate(hypotheses)])


def stored_hypotheses(hypotheses: Sequence[hy.Hypothesis], chosen: hy.Hypothesis, limit: int = STORED_HYPOTHESES) -> list[hy.Hypothesis]:
    """The chosen hypothesis, then the others in default order that had polls in the last 60 days, ``limit`` in all."""
    others = [h for h in hypotheses if h.hypothese_id != chosen.hypothese_id and h.sondages_recents > 0]
    return [chosen, *others[: max(limit - 1, 0)]]


def recentre(shares: np.ndarray, blocs: Sequence[str], source: hy.Hypothesis, target: hy.Hypothesis) -> np.ndarray:
    """First-round bloc shares (… × k) moved from ``source``'s national aggregate to ``target``'s: each bloc multiplied by the
    ratio of the two (a bloc absent from ``source`` gets ``target``'s share added), then closed to 1."""
    before = np.array([float(source.agregat.get(b, 0.0)) for b in blocs])
    after = np.array([float(target.agregat.get(b, 0.0)) for b in blocs])
    ratio = np.divide(after, before, out=np.zeros_like(after), where=before > 0)
    moved = shares * ratio + np.where(before > 0, 0.0, after)
    return moved / np.maximum(moved.sum(axis=-1, keepdims=True), 1e-12)


def run_duels(path: Path, as_of: pd.Timestamp, hypothese: str | None = None, duels: Sequence[str] = (), draws: int = 2000, seed: int = 2026,
              replicates: int = 60, backtest: bool = True, write: bool = True, learner: str | None = None) -> DuelResult:
    """Simulate the duels and (if ``write``) replace ``dim_hypothese``, ``dim_duel``, ``fact_prevision_duel``, ``model_evaluation_duel``.

    ``learner``: the retained first-round learner; when given, the backtest also replays the past T2 unconditionally
    (:mod:`.duel_replay`, one month before their first round)."""
    from electio.warehouse.store import file_identity, replace_stage_tables

    read_from = file_identity(path)
    inputs = load_duel_inputs(path, as_of)
    polls = inputs.data.polls if inputs.data.polls is not None else pd.DataFrame(columns=["scrutin_cible"])
    hypotheses = hy.list_hypotheses(polls, as_of)
    tested = hy.list_duels(polls, as_of)
    if not hypotheses or not tested or inputs.second.empty:
        missing = "sondages de premier tour" if not hypotheses else "sondages de second tour" if not tested else "seconds tours passés"
        return DuelResult(None, [], pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),  # type: ignore[arg-type]
                          [f"Seconds tours 2027 non calculés : aucun(s) {missing} dans l'entrepôt à la date de référence."])
    chosen = hy.choose_hypothesis(hypotheses, hypothese)
    analogues = load_analogues(blocs=inputs.data.blocs)
    wanted = hy.choose_duels(tested, duels)
    modelled = [d for d in wanted if d.blocs in analogues]
    if duels and len(modelled) < len(wanted):
        check_choices(path, as_of, hypothese, duels)
    notes = [f"Hypothèse de premier tour : {chosen.libelle} ({'par défaut' if hypothese is None else 'choisie'}, {chosen.sondages} sondage(s))."]
    notes += [f"Duel non prévu faute d'analogue historique : {d.libelle}." for d in wanted if d not in modelled]
    stored = stored_first_round(path)
    territory = inputs.data.territoire
    codes = sorted(set(stored["code_commune"]) - {territory})
    rng = np.random.default_rng([seed, 27])
    shares, abstention = first_round_draws(stored, codes, inputs.data.blocs, draws, rng)
    non = np.clip(abstention + blank_rates(inputs, codes)[None, :], 0, 1)
    mixes = mix_from_shares(shares, non)
    inscrits = inputs.data.results.groupby("code_commune")["inscrits"].last().reindex(codes).fillna(0).to_numpy(float)
    earlier = inputs.ballots.loc[inputs.ballots["tour"] == 2, "scrutin_id"].tolist()
    fits = historical_transfers(inputs, earlier, replicates, seed)
    france = france_results(inputs, earlier)
    candidates = candidate_blocs(inputs, path)
    errors = past_errors(inputs, as_of, candidates)
    t2_date = pd.Timestamp(pd.read_csv(config.REFERENTIALS_DIR / "calendrier.csv").set_index("scrutin_id").loc[TARGET_T2, "date_scrutin"])
    months = (t2_date - as_of).days / DAYS_PER_MONTH
    options = (*inputs.data.blocs, "abstention")
    kept = stored_hypotheses(hypotheses, chosen)
    frames, described = [], []
    for number, duel in enumerate(modelled):
        rates = with_holdout(duel_rates(duel.blocs, analogues, fits, options, france), duel.blocs, analogues, fits, inputs)
        spread = poll_spread(duel.ecart_type_sondages, duel.sondages_fenetre, errors, months)
        for h in kept:  # the same random numbers for every hypothesis
            h_mixes = mixes if h is chosen else mix_from_shares(recentre(shares, inputs.data.blocs, chosen, h), non)
            simulated = simulate_duel(codes, h_mixes, inscrits, rates, national_first_round(inputs, h), duel.part_a, spread,
                                      np.random.default_rng([seed, 28, number]))
            frames.append(duel_rows(duel.duel_id, duel.candidats, simulated, territory).assign(hypothese_id=h.hypothese_id))
        described.append({"duel_id": duel.duel_id, "libelle": duel.libelle, "candidat_a": duel.candidats[0], "candidat_b": duel.candidats[1],
                          "bloc_a": duel.blocs[0], "bloc_b": duel.blocs[1], "sondages": duel.sondages, "sondages_fenetre": duel.sondages_fenetre,
                          "premier_sondage": duel.premier_sondage.date(), "dernier_sondage": duel.dernier_sondage.date(), "part_a_sondages": duel.part_a,
                          "ecart_type_logit": spread, "analogues": ", ".join(rates.scrutins), "hypothese_id": chosen.hypothese_id,
                          "date_reference": as_of.date()})
    columns = ["hypothese_id", "duel_id", "code_commune", "candidat", "moyenne", "q10", "q50", "q90", "p_victoire"]
    forecasts = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    evaluation = pd.DataFrame()
    held = [t for t in BACKTEST_TARGETS if t in set(inputs.ballots["scrutin_id"])]  # only past T2 held before the as-of date
    if backtest:
        try:
            evaluation = backtest_duels(path, targets=held, draws=draws, seed=seed, replicates=replicates)
        except (ValueError, InputError) as error:  # a warehouse without the past polls or France totals
            backtest, notes = False, [*notes, f"Backtest des duels non calculé : {error}"]
    if backtest and learner is not None:
        from electio.forecasts.duel_replay import replay_duels

        unconditional, skipped = replay_duels(path, learner, targets=held, draws=draws, seed=seed, replicates=replicates)
        evaluation, notes = pd.concat([evaluation, unconditional], ignore_index=True), [*notes, *skipped]
    result = DuelResult(chosen, modelled, hypothesis_rows(hypotheses, chosen, kept), pd.DataFrame(described), forecasts, evaluation, notes)
    if write:
        tables = {"dim_hypothese": result.dim_hypothese, "dim_duel": result.dim_duel, "fact_prevision_duel": forecasts}
        if backtest:
            tables["model_evaluation_duel"] = evaluation
        result.stored = replace_stage_tables(path, DDL, tables, {}, read_from=read_from, recreate=True)  # a run replaces every row
    return result


def percent(value: float, digits: int = 1) -> str:
    """A fraction as a French percentage (« 52,3 % »)."""
    return f"{100 * value:.{digits}f} %".replace(".", ",")


def duel_lines(result: DuelResult, territory: str) -> list[str]:
    """French lines for the terminal: per duel, the territory's shares (80 % interval) and P(win); then the backtest."""
    if result.hypothesis is None:
        return []
    lines = [f"Seconds tours 2027 — {result.hypothesis.libelle}"]
    retained = result.retained()
    rows = retained[retained["code_commune"] == territory]
    for duel in result.duels:
        part = rows[rows["duel_id"] == duel.duel_id].set_index("candidat")
        communes = retained[(retained["duel_id"] == duel.duel_id) & (retained["code_commune"] != territory)
                            & (retained["candidat"] == duel.candidats[0])]
        a = part.loc[duel.candidats[0]]
        lines.append(f"  {duel.libelle} : {percent(a['moyenne'])} ({percent(a['q10'])} – {percent(a['q90'])}) pour le premier, "
                     f"probabilité de victoire dans le territoire {percent(a['p_victoire'], 0)} ; communes où il gagne dans plus de la moitié "
                     f"des simulations : {int((communes['p_victoire'] > 0.5).sum())} sur {len(communes)} (sondages : {percent(duel.part_a)} au niveau national).")
    for row in result.evaluation.itertuples():
        if row.mae_points == row.mae_points:
            cover = "" if row.couverture_80 != row.couverture_80 else f", couverture 80 % {percent(row.couverture_80, 0)}"
            kind = "conditionnel" if row.conditionnel else "un mois avant"
            lines.append(f"  Backtest {row.scrutin_test} ({row.methode}, {kind}) : erreur absolue moyenne {row.mae_points:.2f} points".replace(".", ",")
                         + f", bon vainqueur {percent(row.precision_vainqueur, 0)}{cover}, erreur du territoire {row.erreur_territoire_points:+.1f} points".replace(".", ","))
        else:
            lines.append(f"  Backtest {row.scrutin_test} ({row.methode}) : non calculable (pas de total national du second tour précédent, "
                         "ou pas de sondage du duel à cette date).")
    return lines


def check_choices(path: Path, as_of: pd.Timestamp, hypothese: str | None, duels: Sequence[str]) -> None:
    """Stop before any simulation when ``--hypothese`` or ``--duel`` names nothing the polls test (French :class:`InputError`)."""
    if hypothese is None and not duels:
        return
    from electio.features.election_data import load_polls
    from electio.warehouse.store import connect

    with connect(Path(path)) as con:
        polls = load_polls(con)
    polls = polls[polls["date_connue"] < as_of] if polls is not None else pd.DataFrame(columns=["scrutin_cible"])
    hy.choose_hypothesis(hy.list_hypotheses(polls, as_of), hypothese)
    chosen = hy.choose_duels(hy.list_duels(polls, as_of), duels)
    analogues = load_analogues()
    missing = [d.libelle for d in chosen if d.blocs not in analogues]
    if missing:
        raise InputError(config.REFERENTIALS_DIR / "duels_analogues.csv", f"aucun analogue historique pour : {', '.join(missing)} "
                         f"(duels décrits : {', '.join(' contre '.join(k) for k in analogues)})")
