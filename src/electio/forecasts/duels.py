"""Second round of the présidentielle, commune by commune: duels from the first round through vote transfers.

For one duel (two candidates A and B, of blocs ``a`` and ``b`` ordered left to right) and one set of
first-round commune mixes (share of inscrits of each T1 bloc and of the non-exprimés), A's share of
the second-round exprimés in commune ``c`` is

    s_c = expit( logit( Σ_i x_ci R̃_iA / Σ_i x_ci (R̃_iA + R̃_iB) ) + σ_res ε_c ),   ε_c ~ N(0, 1),

with R̃ = the transfer rates of the duel shifted on the logit scale by a national δ:

    R̃_iA = (R_iA + R_iB) · expit(logit(R_iA / (R_iA + R_iB)) + δ),   R̃_iB = (R_iA + R_iB) − R̃_iA,

δ = δ_nat − δ_hist. δ_nat is solved (bisection) so that the territory's rates applied to the **national**
first round give the national poll aggregate of the duel; δ_hist is the same shift measured on the
analogue ballots, where the territory's fitted rates applied to France's first round had to be moved
to give France's true result (:func:`territory_deviation`): the territory's voters of a bloc may
transfer differently from France's (the Rhône's moved to Macron more than France's), and that
difference is kept, the national swing δ_nat − δ_hist being the same everywhere. The shift moves every
T1 bloc's split between A and B by the same log-odds and keeps its turnout; the territory's (and each
commune's) deviation from France then comes from that behavioural difference and from its own
first-round mix (how many voters of each bloc it has).

Transfer rates of a duel (:func:`duel_rates`): the historical fits (:mod:`electio.models.transfers`,
one per présidentielle T2) mapped to the duel by ``referentials/duels_analogues.csv``: for each
analogue ballot, which historical finalist plays A and B (``finalistes``) and which historical T1
bloc's row each T1 bloc inherits (``lignes``, identity when not listed); the rows are averaged over
the analogue ballots held before the as-of date. A T1 option with no analogue row (its bloc did not
stand in any analogue ballot) takes the mean of the other eliminated blocs' rows.

Uncertainty, drawn jointly (same draws for the communes and the territory, so that the territory's
P(win) is that of the same simulations): the first-round commune mixes (draws), the transfer rates
(commune bootstrap replicates of each analogue fit), the national poll aggregate (normal on the logit
scale, standard deviation :func:`poll_spread`), and a commune residual σ_res (the fits' weighted
residual spread). P(win) = share of draws where A's share exceeds 50 %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from electio import config
from electio.errors import InputError
from electio.features.election_data import ElectionData, load_election_data
from electio.models.compositional import expit, logit
from electio.models.transfers import NON_EXPRIMES, Transfers, a_share, fit_transfers

ANALOGUES_CSV = config.REFERENTIALS_DIR / "duels_analogues.csv"
LEVEL = 0.8
EPS = 1e-6
SPLIT_FLOOR = 0.01
"""A T1 bloc's split between A and B is kept within [1 %, 99 %] before a logit shift: the bounded regression returns
boundary splits (exactly 0 or 100 %) that no finite shift would move, so the national tie would need absurd shifts."""


# ─── The one loader ──────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class DuelInputs:
    """What the duels read from a warehouse, cut to ``data.as_of``.

    ``data``: the models' loader output (T1 commune results, polls per scenario and bloc, France and
    département totals). ``second``: présidentielle T2 commune results (scrutin_id, code_commune,
    inscrits, exprimes, ``voix_<bloc>``). ``ballots``: présidentielle rounds (scrutin_id, tour,
    date_scrutin). ``france``: France participation per ballot (scrutin_id, inscrits, votants, exprimes).
    """

    data: ElectionData
    second: pd.DataFrame
    ballots: pd.DataFrame
    france: pd.DataFrame
    transfer_fits: dict[tuple, Transfers] = field(default_factory=dict, compare=False, repr=False)
    """Transfer fits already made on these inputs (:func:`historical_transfers`; the stage and its backtests share them)."""


def load_duel_inputs(path: Path, as_of: pd.Timestamp | None = None) -> DuelInputs:
    """Read a warehouse for the duels: :func:`load_election_data` plus the présidentielle second rounds, cut to ``as_of``."""
    from electio.warehouse.store import connect

    path = Path(path)
    data = load_election_data(path, as_of=as_of)
    with connect(path) as con:
        ballots = con.execute("SELECT scrutin_id, tour, date_scrutin FROM dim_scrutin WHERE type_scrutin = 'presidentielle' ORDER BY date_scrutin").df()
        # Second rounds per unit of analysis, like the first rounds of ``data``; an estimated
        # arrondissement row (a city total split with a reference ballot's shares) is never used.
        long = con.execute(
            """SELECT r.scrutin_id, r.code_unite AS code_commune, r.bloc, sum(r.voix) AS voix FROM v_resultat_bloc_unite r
               JOIN dim_scrutin s USING (scrutin_id)
               WHERE s.type_scrutin = 'presidentielle' AND s.tour = 2 AND r.type_unite IN ('commune', 'arrondissement')
                 AND NOT r.estime GROUP BY ALL"""
        ).df()
        participation = con.execute(
            """SELECT p.scrutin_id, p.code_unite AS code_commune, p.inscrits, p.exprimes FROM v_participation_unite p JOIN dim_scrutin s USING (scrutin_id)
               WHERE s.type_scrutin = 'presidentielle' AND s.tour = 2 AND p.inscrits > 0 AND NOT p.estime"""
        ).df()
        france = con.execute(
            "SELECT scrutin_id, inscrits, votants, exprimes FROM fact_participation_territoire WHERE niveau = 'france'"
        ).df()
    ballots["date_scrutin"] = pd.to_datetime(ballots["date_scrutin"])
    if as_of is not None:
        ballots = ballots[ballots["date_scrutin"] < pd.Timestamp(as_of)].reset_index(drop=True)
    wide = long.pivot_table(index=["scrutin_id", "code_commune"], columns="bloc", values="voix", aggfunc="sum").add_prefix("voix_").reset_index()
    wide.columns.name = None
    second = wide.merge(participation, on=["scrutin_id", "code_commune"])
    second = second[second["scrutin_id"].isin(ballots["scrutin_id"])].reset_index(drop=True)
    return DuelInputs(data, second, ballots, france[france["scrutin_id"].isin(ballots["scrutin_id"])].reset_index(drop=True))


# ─── Analogues: which historical pattern a duel follows ──────────────────────────────────

@dataclass(frozen=True)
class Analogue:
    """One row of ``duels_analogues.csv``: a duel (its two blocs) read through one historical T2."""

    duel: tuple[str, str]
    scrutin_id: str
    finalistes: Mapping[str, str]
    lignes: Mapping[str, str] = field(default_factory=dict)


def _pairs(text: object, path: Path, line: int) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        return {}
    out = {}
    for part in text.split(";"):
        if part.count("=") != 1:
            raise InputError(path, f"correspondance mal formée « {part} » (attendu : bloc=bloc_historique séparés par « ; »)", line=line)
        key, value = (p.strip() for p in part.split("="))
        out[key] = value
    return out


def load_analogues(path: Path = ANALOGUES_CSV, blocs: Sequence[str] | None = None) -> dict[tuple[str, str], list[Analogue]]:
    """Analogues per duel (bloc pair ordered as in the file); unknown blocs or finalists that do not cover the duel stop with an :class:`InputError`."""
    frame = pd.read_csv(path, dtype=str)
    known = set(blocs) | {NON_EXPRIMES} if blocs is not None else None
    out: dict[tuple[str, str], list[Analogue]] = {}
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        duel = tuple(b.strip() for b in str(row.duel).split("|"))
        finalists, lines = _pairs(row.finalistes, path, number), _pairs(row.lignes, path, number)
        if len(duel) != 2 or set(finalists) != set(duel):
            raise InputError(path, f"le duel « {row.duel} » doit nommer deux blocs, et « finalistes » donner le rôle historique de chacun", line=number)
        names = set(duel) | set(finalists.values()) | set(lines) | set(lines.values())
        if known is not None and names - known:
            raise InputError(path, f"bloc(s) inconnu(s) : {', '.join(sorted(names - known))} (blocs : {', '.join(sorted(known))})", line=number)
        out.setdefault(duel, []).append(Analogue(duel, str(row.scrutin_id), finalists, lines))
    return out


def historical_transfers(inputs: DuelInputs, scrutins: Sequence[str], replicates: int = 100, seed: int = 2026) -> dict[str, Transfers]:
    """One transfer fit per présidentielle T2 of ``scrutins`` (T1 options: every bloc, then the non-exprimés)."""
    options = (*inputs.data.blocs, NON_EXPRIMES)
    first = inputs.data.results
    fits = {}
    for t2 in scrutins:
        second = inputs.second[inputs.second["scrutin_id"] == t2]
        finalists = tuple(c.removeprefix("voix_") for c in second.columns if c.startswith("voix_") and second[c].fillna(0).sum() > 0)
        if len(finalists) != 2:
            continue
        key = (t2, replicates, seed)
        if key not in inputs.transfer_fits:  # deterministic (seeded): the same inputs give the same fit
            inputs.transfer_fits[key] = fit_transfers(first[first["scrutin_id"] == t2.replace("_t2", "_t1")], second, options, finalists,
                                                      replicates, seed, t2)  # type: ignore[arg-type]
        fits[t2] = inputs.transfer_fits[key]
    return fits


@dataclass(frozen=True)
class DuelRates:
    """Transfer rates of one duel: ``rates`` (options × 3: A, B, non), ``draws`` (replicates × options × 3), residual spread, analogue ballots used."""

    options: tuple[str, ...]
    rates: np.ndarray
    draws: np.ndarray
    residual_sd: float
    scrutins: tuple[str, ...]
    deviation: float = 0.0


def _mapped(fit: Transfers, analogue: Analogue, options: Sequence[str], matrix: np.ndarray) -> np.ndarray:
    """One fit's rate matrix (or replicate) in the duel's frame: rows inherited per option, columns A and B swapped as the finalists say."""
    a_hist, b_hist = (analogue.finalistes[b] for b in analogue.duel)
    order = [fit.finalists.index(a_hist), fit.finalists.index(b_hist), 2]
    out = np.full((len(options), 3), np.nan)
    for i, option in enumerate(options):
        source = analogue.lignes.get(option, option)
        if source in fit.options:
            out[i] = matrix[fit.options.index(source)][order]
    return out


def _fill_missing(rates: np.ndarray, options: Sequence[str], duel: tuple[str, str]) -> np.ndarray:
    """Rows still NaN take the mean of the other eliminated blocs' rows (module doc)."""
    eliminated = [i for i, o in enumerate(options) if o not in duel and o != NON_EXPRIMES]
    mean = np.nanmean(rates[..., eliminated, :], axis=-2)
    missing = np.isnan(rates).any(axis=-1)
    return np.where(missing[..., None], mean[..., None, :] if rates.ndim == 3 else mean[None, :], rates)


def territory_deviation(fit: Transfers, analogue: Analogue, france_mix: np.ndarray, france_share: float) -> float:
    """δ_h of one analogue ballot: the logit shift that takes the territory's fitted rates, applied to France's first round,
    to France's true result (A's role as in the duel). Negative when the territory's voters moved to A more than France's."""
    rates = _mapped(fit, Analogue(analogue.duel, analogue.scrutin_id, analogue.finalistes, {}), fit.options, fit.rates)
    return float(national_shift(np.nan_to_num(rates), france_mix, france_share))


def duel_rates(duel: tuple[str, str], analogues: Mapping[tuple[str, str], Sequence[Analogue]], fits: Mapping[str, Transfers],
               options: Sequence[str], france: Mapping[str, tuple[np.ndarray, Mapping[str, float]]] | None = None) -> DuelRates:
    """The duel's transfer rates: analogue fits mapped (:func:`_mapped`) and averaged; error when no analogue ballot is available.

    ``france``: per T2 ballot, (France's T1 mix over the fits' options, France's T2 share per bloc); the analogue ballots
    found there give the territory's deviation (mean of :func:`territory_deviation`, 0 when none)."""
    usable = [a for a in analogues.get(duel, ()) if a.scrutin_id in fits and all(f in fits[a.scrutin_id].finalists for f in a.finalistes.values())]
    if not usable:
        known = ", ".join(" contre ".join(d) for d in analogues) or "aucun"
        raise InputError(ANALOGUES_CSV, f"aucun second tour historique disponible comme analogue du duel {' contre '.join(duel)} "
                         f"(duels décrits : {known})")
    with np.errstate(invalid="ignore"):
        rates = np.nanmean(np.stack([_mapped(fits[a.scrutin_id], a, options, fits[a.scrutin_id].rates) for a in usable]), axis=0)
        replicates = min(len(fits[a.scrutin_id].draws) for a in usable)
        draws = np.nanmean(np.stack([np.stack([_mapped(fits[a.scrutin_id], a, options, m) for m in fits[a.scrutin_id].draws[:replicates]]) for a in usable]), axis=0)
    residual = float(np.sqrt(np.mean([fits[a.scrutin_id].residual_sd ** 2 for a in usable])))
    france = france or {}
    deviations = [territory_deviation(fits[a.scrutin_id], a, france[a.scrutin_id][0], france[a.scrutin_id][1][a.finalistes[duel[0]]])
                  for a in usable if a.scrutin_id in france and a.finalistes[duel[0]] in france[a.scrutin_id][1]]
    return DuelRates(tuple(options), _fill_missing(rates, options, duel), _fill_missing(draws, options, duel), residual,
                     tuple(a.scrutin_id for a in usable), float(np.mean(deviations)) if deviations else 0.0)


# ─── Tying the rates to the national polls ───────────────────────────────────────────────

def shift_rates(rates: np.ndarray, delta: np.ndarray | float) -> np.ndarray:
    """Rates with every row's A-versus-B split moved by ``delta`` on the logit scale (turnout kept); ``delta`` broadcasts over leading axes."""
    rates = np.nan_to_num(np.asarray(rates, float))
    voting = rates[..., 0] + rates[..., 1]
    split = np.clip(rates[..., 0] / np.maximum(voting, EPS), SPLIT_FLOOR, 1 - SPLIT_FLOOR)
    moved = voting * expit(logit(split) + np.asarray(delta, float)[..., None])
    return np.stack([moved, voting - moved, rates[..., 2]], axis=-1)


def national_shift(rates: np.ndarray, national: np.ndarray, target: np.ndarray | float, iterations: int = 60) -> np.ndarray:
    """δ (one per leading index of ``rates``/``target``) such that ``national`` (options) through the shifted rates gives A's share ``target``."""
    target = np.asarray(target, float)
    low, high = np.full(np.broadcast_shapes(target.shape, rates.shape[:-2]), -15.0), np.full(np.broadcast_shapes(target.shape, rates.shape[:-2]), 15.0)
    for _ in range(iterations):
        middle = (low + high) / 2
        share = a_share(national, shift_rates(rates, middle))
        low, high = np.where(share < target, middle, low), np.where(share < target, high, middle)
    return (low + high) / 2


def poll_spread(between: float, polls: int, past_errors: Sequence[float], months: float = 1.0) -> float:
    """Standard deviation (logit scale) of the national poll aggregate of a duel.

    The sampling spread of the aggregate (``between`` / √polls, logit scale) combined with the root mean square
    of the past final-month aggregate errors of présidentielle second rounds (``past_errors``, logit scale, as
    known at the as-of date), the latter growing like √months (random walk) when the ballot is further than a
    month away.
    """
    sampling = (between if np.isfinite(between) else 0.0) / np.sqrt(max(polls, 1))
    systematic = float(np.sqrt(np.mean(np.square(past_errors)))) if len(past_errors) else 0.0
    return float(np.sqrt(sampling ** 2 + systematic ** 2 * max(months, 1.0)))


# ─── Simulation ──────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class DuelDraws:
    """Simulated A shares of the T2 exprimés: ``communes`` (draws × n), ``territory`` (draws), with the communes' codes."""

    codes: list[str]
    communes: np.ndarray
    territory: np.ndarray


def simulate_duel(codes: Sequence[str], mixes: np.ndarray, inscrits: np.ndarray, rates: DuelRates, national: np.ndarray, poll_share: float,
                  poll_sd: float, rng: np.random.Generator) -> DuelDraws:
    """Joint draws of one duel (module doc). ``mixes``: draws × n × options (T1 shares of inscrits); ``national``: options (France's T1 mix)."""
    draws = mixes.shape[0]
    replicate = rates.draws[rng.integers(0, len(rates.draws), draws)]
    target = expit(logit(np.clip(poll_share, EPS, 1 - EPS)) + poll_sd * rng.standard_normal(draws))
    delta = national_shift(replicate, national, target)
    shifted = shift_rates(replicate, delta - rates.deviation)
    flows = np.einsum("dno,doj->dnj", mixes, shifted)
    share = flows[..., 0] / np.maximum(flows[..., 0] + flows[..., 1], EPS)
    share = expit(logit(np.clip(share, EPS, 1 - EPS)) + rates.residual_sd * rng.standard_normal(share.shape))
    exprimes = (flows[..., 0] + flows[..., 1]) * np.asarray(inscrits, float)[None, :]
    territory = (share * exprimes).sum(axis=1) / np.maximum(exprimes.sum(axis=1), EPS)
    return DuelDraws(list(codes), share, territory)


def summarise_draws(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, 10/50/90 % quantiles and P(> 50 %) over the first axis."""
    q10, q50, q90 = np.quantile(values, [0.1, 0.5, 0.9], axis=0)
    return {"moyenne": values.mean(axis=0), "q10": q10, "q50": q50, "q90": q90, "p_victoire": (values > 0.5).mean(axis=0)}


def duel_rows(duel_id: str, candidates: tuple[str, str], draws: DuelDraws, territory_code: str) -> pd.DataFrame:
    """``fact_prevision_duel`` rows: every commune then the territory, one row per candidate (B's share = 1 − A's)."""
    frames = []
    for values, codes in ((draws.communes, draws.codes), (draws.territory[:, None], [territory_code])):
        for candidate, side in zip(candidates, (values, 1 - values), strict=True):
            frames.append(pd.DataFrame({"duel_id": duel_id, "code_commune": codes, "candidat": candidate, **summarise_draws(side)}))
    return pd.concat(frames, ignore_index=True)


def mix_from_shares(shares: np.ndarray, non_exprimes: np.ndarray) -> np.ndarray:
    """T1 mixes (… × options) from bloc shares of the exprimés (… × k) and the non-exprimés rate of the inscrits (…)."""
    non = np.asarray(non_exprimes, float)[..., None]
    return np.concatenate([np.nan_to_num(shares) * (1 - non), non], axis=-1)


def observed_mix(results: pd.DataFrame, blocs: Sequence[str]) -> np.ndarray:
    """T1 mixes of commune result rows (inscrits, exprimes, ``voix_<bloc>``)."""
    voix = np.column_stack([results[f"voix_{b}"].fillna(0).to_numpy(float) for b in blocs])
    inscrits = results["inscrits"].to_numpy(float)
    return np.column_stack([voix, inscrits - voix.sum(axis=1)]) / inscrits[:, None]


def holdout_spread(duel: tuple[str, str], analogues: Mapping[tuple[str, str], Sequence[Analogue]], fits: Mapping[str, Transfers],
                   inputs: DuelInputs, options: Sequence[str]) -> float | None:
    """Out-of-sample commune spread of the transfer model (logit of A's share), None when no ballot can be held out.

    Each analogue ballot ``h`` of the duel is predicted from its true first round with the rates of the *other* ballots
    (through the analogues of ``h``'s own duel), shifted so that the territory's total equals ``h``'s true total: what
    is left is the error of the commune pattern alone. Root mean square over the held-out ballots of their
    inscrits-weighted standard deviations; it replaces the in-sample residual spread of the fits when available.
    """
    from electio.forecasts.hypotheses import bloc_order
    from electio.models.transfers import mixes, weighted_sd

    order = bloc_order()
    spreads = []
    for analogue in analogues.get(duel, ()):
        held = fits.get(analogue.scrutin_id)
        if held is None:
            continue
        own = tuple(sorted(held.finalists, key=lambda b: order.get(b, 99)))
        others = {k: f for k, f in fits.items() if k != analogue.scrutin_id}
        try:
            rates = duel_rates(own, analogues, others, options)  # type: ignore[arg-type]
        except InputError:
            continue
        first = inputs.data.results[inputs.data.results["scrutin_id"] == analogue.scrutin_id.replace("_t2", "_t1")]
        x, y, w, _ = mixes(first, inputs.second[inputs.second["scrutin_id"] == analogue.scrutin_id], options, own)  # type: ignore[arg-type]
        observed = np.clip(y[:, 0] / np.maximum(y[:, 0] + y[:, 1], EPS), EPS, 1 - EPS)
        total = float(np.sum(y[:, 0] * w) / np.sum((y[:, 0] + y[:, 1]) * w))
        shifted = shift_rates(rates.rates, national_shift(rates.rates, np.average(x, axis=0, weights=w), total))
        predicted = np.clip(a_share(x, shifted), EPS, 1 - EPS)
        spreads.append(weighted_sd(logit(observed) - logit(predicted), w))
    return float(np.sqrt(np.mean(np.square(spreads)))) if spreads else None
