"""Simulation of commune forecasts: territory draws × local model × calibrated residuals, reconciled.

For each draw d, with territory shares T_d and abstention A_d (see :mod:`.uncertainty`):

1. each commune's shares are T_d × exp(deviation predicted by the local model), closed
   (:func:`electio.models.compositional.from_deviation`); its abstention is expit(logit A_d + deviation);
2. a calibrated residual is added: the normalised score vector of one backtest commune drawn at
   random (all outputs together, so that their correlation is kept) times the forecast's own
   scale sqrt(a·v/n + κ·v²), v = p(1 − p) (:mod:`electio.models.intervals`);
3. the shares are raked so that their exprimés-weighted total equals T_d exactly and the rates
   shifted (logit) so that their inscrits-weighted mean equals A_d (the backtests' reconciliation).

Every draw therefore sums to 1 in each commune and reproduces its territory draw exactly; the
distribution of T_d carries the territory uncertainty, step 2 the local one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from electio.features.modelling_table import outputs
from electio.models.backtest import Prediction, prediction_rows
from electio.models.compositional import expit, from_deviation, logit, rake_draws, shift_to_mean_draws
from electio.models.intervals import Calibration, calibration_scale, sizes

QUANTILES: dict[str, float] = {"q025": 0.025, "q10": 0.10, "q25": 0.25, "q50": 0.50, "q75": 0.75, "q90": 0.90, "q975": 0.975}
STORED_QUANTILES: tuple[str, ...] = ("q025", "q10", "q50", "q90", "q975")


def residual_scale(rows: pd.DataFrame, central: np.ndarray, present: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Scale of each commune's residual around a central forecast (n × outputs)."""
    prediction = Prediction("prevision", "", 0, True, pd.NaT, prediction_rows(rows), np.full_like(central, np.nan), central, present)
    return calibration_scale(calibration, central, sizes(prediction))


def residual_draws(calibration: Calibration, spread: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Residuals (draws × n × outputs): whole backtest score vectors drawn at random, times ``spread``."""
    scores = np.nan_to_num(calibration.scores)
    return scores[rng.integers(0, len(scores), size=(draws, spread.shape[0]))] * spread[None]


def commune_draws(deviation: np.ndarray, present: np.ndarray, exprimes: np.ndarray, inscrits: np.ndarray,
                  territory: np.ndarray, abstention: np.ndarray, residuals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shares (draws × n × k) and abstention (draws × n) of every commune in every draw (module doc)."""
    k = present.shape[1]
    relative = from_deviation(deviation[:, :k], np.ones_like(present, dtype=float), present)  # exp(deviation), closed
    base = territory[:, None, :] * relative[None]
    base /= base.sum(axis=-1, keepdims=True)  # = from_deviation(deviation, T_d, present) for every draw d
    noisy = np.where(present, np.clip(base + residuals[..., :k], 0.0, None), 0.0)
    shares = rake_draws(noisy, exprimes, territory)
    rates = expit(logit(abstention)[:, None] + deviation[None, :, k])
    rates = shift_to_mean_draws(np.clip(rates + residuals[..., k], 0.0, 1.0), inscrits, abstention)
    return shares, rates


def lead_probabilities(shares: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Share of draws in which each bloc comes first (… × k), from draws × … × k."""
    k = shares.shape[-1]
    leaders = np.where(present, shares, -1.0).argmax(axis=-1)
    return np.eye(k)[leaders].mean(axis=0)


def summarise(shares: np.ndarray, abstention: np.ndarray, present: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, quantiles and P(lead) of draws (draws × n × k and draws × n): arrays n × (k + 1), P(lead) NaN for abstention."""
    values = np.concatenate([shares, abstention[..., None]], axis=-1)
    stats = {"moyenne": values.mean(axis=0)}
    levels = np.quantile(values, list(QUANTILES.values()), axis=0)
    stats |= dict(zip(QUANTILES, levels, strict=True))
    lead = lead_probabilities(shares, present)
    stats["p_tete"] = np.concatenate([lead, np.full(lead.shape[:-1] + (1,), np.nan)], axis=-1)
    return stats


def summary_frame(codes: Sequence[str], blocs: Sequence[str], stats: dict[str, np.ndarray], present: np.ndarray) -> pd.DataFrame:
    """Long rows (code_commune, bloc, statistics…) of the outputs standing (abstention always)."""
    names = outputs(blocs)
    n = len(codes)
    frame = pd.DataFrame({"code_commune": np.repeat(np.asarray(codes), len(names)), "bloc": np.tile(names, n)})
    for key, array in stats.items():
        frame[key] = array.reshape(-1)
    stood = np.column_stack([present, np.ones((n, 1), bool)]).reshape(-1)
    return frame[stood].reset_index(drop=True)


def self_coverage(shares: np.ndarray, present: np.ndarray, level: float = 0.8, every: int = 5) -> np.ndarray:
    """The coverage one ballot would show if the forecast were exactly right: for every ``every``-th draw taken as
    the truth, the mean over the blocs standing of the share of communes inside the bloc's central ``level``
    interval of all the draws (the replays' ``couv80`` of bloc ``moyenne``).

    The territory error is common to every commune of a draw, so one ballot's commune coverage varies widely
    around ``level`` even for a calibrated forecast; its spread over the draws says how far."""
    low, high = np.quantile(shares, [0.5 - level / 2, 0.5 + level / 2], axis=0)
    picked = shares[::every]
    inside = np.where(present, (picked >= low) & (picked <= high), np.nan)
    stood = present.any(axis=0)
    return np.nanmean(inside[..., stood], axis=1).mean(axis=-1)
