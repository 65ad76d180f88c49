"""Prediction intervals by split conformal prediction, calibrated on earlier ballots only.

For a test ballot, the calibration set is the same model's backtest errors on every earlier
ballot of the chain (same horizon table, same conditional flag). Errors are normalised by a
scale that grows for small communes and for shares near ½:

    scale = sqrt(p (1 − p) (1 / n + κ)),   n = exprimés (inscrits for abstention) at the comparable ballot,

where κ (the part of the variance not due to sampling) is fitted per bloc on the calibration
errors by the method of moments. The interval is p ± q × scale, q being the conformal quantile
of |error| / scale at level ⌈(m + 1)(1 − α)⌉ / m; it is clipped to [0, 1] and always contains
the point forecast. The probability that each bloc leads a commune is simulated by adding
whole calibration error vectors (all blocs of one calibration commune together, so the
negative correlation between blocs is kept) to the forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from electio.models.backtest import Prediction

LEVELS = (0.80, 0.95)
SCALE_FLOOR = 1e-3
KAPPA_RANGE = (1e-4, 1.0)
DRAWS = 200
DRAW_CHUNK = 25


@dataclass(frozen=True)
class Calibration:
    """Conformal calibration of one model: κ, quantiles per output, signed scores for simulation."""

    kappa: np.ndarray
    quantiles: dict[float, np.ndarray]
    scores: np.ndarray  # m calibration communes × outputs, NaN where the bloc did not stand
    ballots: tuple[str, ...]


def sizes(prediction: Prediction) -> np.ndarray:
    """Sample size of each output: exprimés for blocs, inscrits for abstention (n × outputs)."""
    rows = prediction.rows
    blocs = prediction.predicted.shape[1] - 1
    return np.column_stack([np.repeat(rows["taille_exprimes"].to_numpy(float)[:, None], blocs, axis=1), rows["taille_inscrits"].to_numpy(float)])


def scale(predicted: np.ndarray, size: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """Error scale sqrt(p(1 − p)(1/n + κ)), floored."""
    p = np.clip(predicted, 0.0, 1.0)
    return np.sqrt(p * (1 - p) * (1 / np.maximum(size, 1.0) + kappa)) + SCALE_FLOOR


def fit_kappa(residual: np.ndarray, predicted: np.ndarray, size: np.ndarray) -> float:
    """Extra-sampling variance share κ = mean(r² / (p(1 − p)) − 1/n), clipped."""
    variance = np.clip(predicted * (1 - predicted), 1e-4, None)
    excess = residual**2 / variance - 1 / np.maximum(size, 1.0)
    if np.isnan(excess).all():
        return KAPPA_RANGE[0]
    return float(np.clip(np.nanmean(excess), *KAPPA_RANGE))


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile of absolute scores (NaN ignored); inf when too few scores."""
    values = np.abs(scores[~np.isnan(scores)])
    m = values.size
    rank = int(np.ceil((m + 1) * level))
    return float(np.sort(values)[rank - 1]) if 0 < rank <= m else float("inf")


def calibrate(earlier: Sequence[Prediction]) -> Calibration | None:
    """Calibration from earlier predictions of one model (None when there are none)."""
    if not earlier:
        return None
    predicted = np.vstack([p.predicted for p in earlier])
    residual = np.vstack([np.where(p.present, p.observed - p.predicted, np.nan) for p in earlier])
    size = np.vstack([sizes(p) for p in earlier])
    kappa = np.array([fit_kappa(residual[:, j], predicted[:, j], size[:, j]) for j in range(predicted.shape[1])])
    scores = residual / scale(predicted, size, kappa)
    quantiles = {level: np.array([conformal_quantile(scores[:, j], level) for j in range(scores.shape[1])]) for level in LEVELS}
    return Calibration(kappa, quantiles, scores, tuple(dict.fromkeys(p.scrutin_test for p in earlier)))


def lead_probability(prediction: Prediction, calibration: Calibration, draws: int = DRAWS, seed: int = 0) -> np.ndarray:
    """Simulated probability that each bloc comes first in each commune (n × blocs)."""
    rng = np.random.default_rng(seed)
    k = prediction.predicted.shape[1] - 1
    point, present = prediction.predicted[:, :k], prediction.present[:, :k]
    spread = scale(prediction.predicted, sizes(prediction), calibration.kappa)[:, :k]
    scores = np.nan_to_num(calibration.scores[:, :k])
    counts = np.zeros_like(point)
    for start in range(0, draws, DRAW_CHUNK):
        n_draws = min(DRAW_CHUNK, draws - start)
        picked = scores[rng.integers(0, len(scores), size=(n_draws, len(point)))]
        simulated = np.where(present, np.clip(point + picked * spread, 0.0, None), -1.0)
        leaders = simulated.argmax(axis=2)
        counts += np.eye(k)[leaders].sum(axis=0)
    return counts / draws


def with_intervals(prediction: Prediction, calibration: Calibration | None) -> Prediction:
    """The prediction with 80 % / 95 % intervals and lead probabilities (unchanged without calibration)."""
    if calibration is None:
        return prediction
    spread = scale(prediction.predicted, sizes(prediction), calibration.kappa)
    bounds = {}
    for level, tag in zip(LEVELS, ("80", "95"), strict=True):
        half = calibration.quantiles[level] * spread
        lower = np.where(prediction.present, np.clip(prediction.predicted - half, 0.0, 1.0), 0.0)
        upper = np.where(prediction.present, np.clip(prediction.predicted + half, 0.0, 1.0), 0.0)
        bounds[f"lower{tag}"], bounds[f"upper{tag}"] = lower, upper
    return replace(prediction, **bounds, lead_proba=lead_probability(prediction, calibration))


def calibrate_chain(predictions: Sequence[Prediction]) -> list[Prediction]:
    """Add intervals to every prediction, each calibrated on the same model's earlier ballots.

    ``predictions`` must come from one backtest (one horizon table, one chain of ballots).
    """
    out = []
    for p in predictions:
        earlier = [q for q in predictions if q.modele == p.modele and q.conditionnel == p.conditionnel and q.date < p.date]
        out.append(with_intervals(p, calibrate(earlier)))
    return out

