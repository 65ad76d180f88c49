"""Scores of the intervals and lead probabilities that do not hide: joint, by size class, bootstrapped.

Arrays are n communes × outputs (blocs…, abstention); a bloc that did not stand is left out.

* coverage per output, weighted or not, and *joint* coverage (all the blocs of a commune inside
  their intervals together);
* a cluster bootstrap over communes (each commune's outputs resampled together) for an
  interval around any column mean: ``BOOTSTRAP`` resamples, central ``BOOTSTRAP_LEVEL`` interval;
* the interval score of a central (1 − α) interval (Gneiting & Raftery 2007), a proper score:
  width + (2/α) × distance to the interval when the observed value falls outside, in points;
* the Brier score of the lead probabilities of every (commune, bloc that stood) and its Murphy
  decomposition into reliability (lower is better), resolution (higher is better) and
  uncertainty (of the outcomes alone), on ``BRIER_BINS`` probability bins:
  Brier ≈ reliability − resolution + uncertainty.
"""

from __future__ import annotations

import warnings

import numpy as np

BOOTSTRAP = 200
BOOTSTRAP_LEVEL = 0.90
BRIER_BINS = 10


def column_mean(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean of each column over its non-NaN rows; ``weights`` n or n × m."""
    w = np.ones(values.shape) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float).reshape(values.shape[0], -1), values.shape)
    mask = ~np.isnan(values)
    total = np.where(mask, values * w, 0.0).sum(axis=0)
    norm = np.where(mask, w, 0.0).sum(axis=0)
    return np.divide(total, norm, out=np.full(values.shape[1], np.nan), where=norm > 0)


def inside(observed: np.ndarray, lower: np.ndarray, upper: np.ndarray, present: np.ndarray) -> np.ndarray:
    """1.0 where the observed value lies in [lower, upper], 0.0 outside, NaN for absent blocs."""
    hit = ((observed >= lower - 1e-12) & (observed <= upper + 1e-12)).astype(float)
    return np.where(present, hit, np.nan)


def joint_inside(hits: np.ndarray) -> np.ndarray:
    """Per commune: 1.0 when every bloc that stood (abstention excluded) is inside its interval (n × 1)."""
    blocs = hits[:, :-1]
    stood = ~np.isnan(blocs)
    return np.where(stood.any(axis=1), np.where(stood, blocs, 1.0).min(axis=1), np.nan)[:, None]


def interval_score(observed: np.ndarray, lower: np.ndarray, upper: np.ndarray, present: np.ndarray, alpha: float) -> np.ndarray:
    """Interval score of central (1 − alpha) intervals, in points, NaN for absent blocs."""
    below = np.clip(lower - observed, 0.0, None)
    above = np.clip(observed - upper, 0.0, None)
    return np.where(present, 100 * ((upper - lower) + (2 / alpha) * (below + above)), np.nan)


def bootstrap_counts(n: int, draws: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """Multinomial resampling counts of n communes (draws × n)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1 / n), size=draws).astype(float) if n else np.zeros((draws, 0))


def bootstrap_interval(values: np.ndarray, counts: np.ndarray, weights: np.ndarray | None = None,
                       level: float = BOOTSTRAP_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Cluster-bootstrap interval of each column mean: communes resampled with their outputs together."""
    w = np.ones(values.shape) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float).reshape(values.shape[0], -1), values.shape)
    mask = ~np.isnan(values)
    total = counts @ np.where(mask, values * w, 0.0)
    norm = counts @ np.where(mask, w, 0.0)
    means = np.divide(total, norm, out=np.full(total.shape, np.nan), where=norm > 0)
    tail = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column with no value (bloc absent): NaN interval
        return np.nanquantile(means, tail, axis=0), np.nanquantile(means, 1 - tail, axis=0)


def brier_decomposition(probability: np.ndarray, outcome: np.ndarray, bins: int = BRIER_BINS) -> dict[str, float]:
    """Brier score and its Murphy decomposition (reliability, resolution, uncertainty) on probability bins."""
    p, o = np.asarray(probability, dtype=float).ravel(), np.asarray(outcome, dtype=float).ravel()
    keep = ~(np.isnan(p) | np.isnan(o))
    p, o = p[keep], o[keep]
    if p.size == 0:
        return {}
    index = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(float)
    mean_p = np.divide(np.bincount(index, p, bins), counts, out=np.zeros(bins), where=counts > 0)
    mean_o = np.divide(np.bincount(index, o, bins), counts, out=np.zeros(bins), where=counts > 0)
    base = o.mean()
    return {"brier_blocs": float(np.mean((p - o) ** 2)),
            "brier_fiabilite": float(np.sum(counts * (mean_p - mean_o) ** 2) / p.size),
            "brier_resolution": float(np.sum(counts * (mean_o - base) ** 2) / p.size),
            "brier_incertitude": float(base * (1 - base))}


def lead_outcome(observed: np.ndarray, present: np.ndarray) -> np.ndarray:
    """1.0 for the bloc that came first in each commune, 0.0 for the others that stood, NaN for absent ones (n × blocs)."""
    shares = np.where(present, observed, -np.inf)
    first = (shares == shares.max(axis=1, keepdims=True)).astype(float)
    return np.where(present, first, np.nan)
