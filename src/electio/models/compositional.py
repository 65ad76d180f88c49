"""Compositional data: smoothing, log-ratio transforms, closure and reconciliation to totals.

Bloc shares of one commune form a composition (non-negative, summing to 1). The learners work
on centred log-ratio (clr) deviations from the territory's composition; these helpers map
shares to that space and back, and rescale a set of commune forecasts so that their weighted
territory total equals a given total exactly (iterative proportional fitting).
"""

from __future__ import annotations

import numpy as np

PSEUDO_COUNT = 0.5  # added to each bloc's voix before taking logs (Jeffreys-like prior)
EPS = 1e-9


def close(shares: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """Rows clipped to [0, ∞), zero outside ``present`` blocs, divided by their sum (rows sum to 1)."""
    out = np.clip(np.nan_to_num(np.asarray(shares, dtype=float)), 0.0, None)
    if present is not None:
        out = np.where(present, out, 0.0)
    total = out.sum(axis=1, keepdims=True)
    uniform = present if present is not None else np.ones_like(out, dtype=bool)
    fallback = uniform / np.maximum(uniform.sum(axis=1, keepdims=True), 1)
    return np.where(total > EPS, out / np.where(total > EPS, total, 1.0), fallback)


def smooth_shares(voix: np.ndarray, exprimes: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Shares with a pseudo-count added to each bloc that stood, so that logs stay finite."""
    counts = np.where(present, np.nan_to_num(voix) + PSEUDO_COUNT, 0.0)
    total = np.asarray(exprimes, dtype=float)[:, None] + PSEUDO_COUNT * present.sum(axis=1, keepdims=True)
    return counts / np.where(total > 0, total, 1.0)


def clr(shares: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Centred log-ratio over the blocs present (NaN for absent blocs; a row without any bloc present is all NaN)."""
    logs = np.where(present, np.log(np.clip(shares, EPS, None)), 0.0)
    mask = np.broadcast_to(present, logs.shape)
    count = mask.sum(axis=1, keepdims=True)
    centre = np.where(count > 0, logs.sum(axis=1, keepdims=True) / np.maximum(count, 1), np.nan)
    return np.where(mask, logs - centre, np.nan)


def clr_deviation(shares: np.ndarray, territory: np.ndarray, present: np.ndarray) -> np.ndarray:
    """clr(commune) − clr(territory): the commune's relative position, 0 = like its territory."""
    return clr(shares, present) - clr(territory, present)


def from_deviation(deviation: np.ndarray, territory: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Inverse of :func:`clr_deviation`: shares ∝ territory × exp(deviation), closed."""
    dev = np.nan_to_num(deviation)
    dev = dev - np.max(np.where(present, dev, -np.inf), axis=1, keepdims=True)
    return close(territory * np.exp(dev), present)


def rake(shares: np.ndarray, weights: np.ndarray, totals: np.ndarray, iterations: int = 200, tol: float = 1e-10) -> np.ndarray:
    """Rescale commune shares so rows sum to 1 and the ``weights``-weighted mean equals ``totals``.

    Iterative proportional fitting on the matrix weights × shares: column margins are the
    territory's bloc totals, row margins the communes' weights. Blocs with a zero total get 0.
    """
    w = np.asarray(weights, dtype=float)
    w = np.where(w > 0, w, 1.0)
    target = np.asarray(totals, dtype=float)
    out = close(shares, target[None, :] > 0)
    for _ in range(iterations):
        current = (w[:, None] * out).sum(axis=0) / w.sum()
        factor = np.divide(target, current, out=np.zeros_like(target), where=current > 0)
        out = close(out * factor[None, :])
        if np.max(np.abs((w[:, None] * out).sum(axis=0) / w.sum() - target)) < tol:
            break
    return out


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 − p)) with p clipped away from 0 and 1."""
    q = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def expit(x: np.ndarray) -> np.ndarray:
    """Inverse of :func:`logit`."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def shift_to_mean(rates: np.ndarray, weights: np.ndarray, target: float) -> np.ndarray:
    """Shift rates in logit space by one constant so their weighted mean equals ``target``."""
    z, w = logit(rates), np.asarray(weights, dtype=float)
    lo, hi = -20.0, 20.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.average(expit(z + mid), weights=w) < target:
            lo = mid
        else:
            hi = mid
    return expit(z + (lo + hi) / 2)


# ─── Many draws at once (simulation of forecasts) ────────────────────────────────────────

def rake_draws(shares: np.ndarray, weights: np.ndarray, totals: np.ndarray, iterations: int = 200, tol: float = 1e-10) -> np.ndarray:
    """:func:`rake` of many draws at once: shares draws × n × k, one total row per draw (draws × k)."""
    w = np.asarray(weights, dtype=float)
    w = np.where(w > 0, w, 1.0) / np.where(w > 0, w, 1.0).sum()
    target = np.asarray(totals, dtype=float)
    positive = np.broadcast_to((target > 0)[:, None, :], shares.shape).reshape(-1, shares.shape[-1])
    out = close(shares.reshape(-1, shares.shape[-1]), positive).reshape(shares.shape)
    ones = np.ones(shares.shape[-1])
    for _ in range(iterations):
        current = np.matmul(w, out)  # weighted territory totals per draw (matrix products: twice as fast as einsum and sum)
        if np.max(np.abs(current - target)) < tol:
            break
        out *= np.divide(target, current, out=np.zeros_like(target), where=current > 0)[:, None, :]
        total = (out @ ones)[..., None]
        out /= np.where(total > EPS, total, 1.0)  # rows stay closed (as :func:`close` does, without its checks)
    return out


def shift_to_mean_draws(rates: np.ndarray, weights: np.ndarray, targets: np.ndarray, iterations: int = 50, tol: float = 1e-13) -> np.ndarray:
    """:func:`shift_to_mean` of many draws at once (rates draws × n, one target per draw), by Newton steps."""
    z, w = logit(rates), np.asarray(weights, dtype=float) / np.sum(weights)
    goal = np.asarray(targets, dtype=float)
    shift = logit(goal) - z @ w
    for _ in range(iterations):
        p = expit(z + shift[:, None])
        gap = p @ w - goal
        if np.max(np.abs(gap)) < tol:
            break
        shift -= np.clip(gap / np.maximum((p * (1 - p)) @ w, 1e-12), -5.0, 5.0)
    return expit(z + shift[:, None])
