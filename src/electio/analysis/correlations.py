"""Pure statistics: Pearson/Spearman correlations, weighted, partial, with seeded bootstrap CIs.

Every function works along the last axis and broadcasts over leading axes, so one call can
score a whole batch (bootstrap resamples × targets). No I/O, no warehouse access.

Conventions (documented for the report):

- weights are frequency-like (e.g. voters); a weighted correlation is the Pearson coefficient
  of the weighted covariance matrix;
- Spearman = Pearson on ranks (average ranks for ties); with weights, ranks are unweighted and
  the correlation of the ranks is weighted;
- partial correlation = correlation of the residuals of x and y after a weighted least-squares
  fit on ``[1, controls]`` (for Spearman, every variable, controls included, is ranked first);
- bootstrap: ``numpy.random.default_rng(seed).integers(0, n, size=(n_boot, n))`` resamples whole
  rows (x, y, weight, controls); percentile interval. The same seed gives the same resamples for
  every pair with the same ``n``. A resample is computed exactly, without copying rows, as the
  original rows weighted by how many times each was drawn (ranks are those of the resample).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("pearson", "spearman", "partielle_pearson", "partielle_spearman")
"""Methods of :func:`correlate`: plain or partial (controls), on values or on ranks."""


def _normalised(weights: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """Weights summing to 1 along the last axis (uniform when ``weights`` is None)."""
    w = np.ones(like.shape[-1]) if weights is None else np.asarray(weights, dtype=float)
    return w / w.sum(axis=-1, keepdims=True)


def _dot(*arrays: np.ndarray) -> np.ndarray:
    """Sum over the last axis of the product of broadcast arrays, without temporaries."""
    return np.einsum(",".join(["...n"] * len(arrays)) + "->...", *arrays)


def weighted_pearson(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted Pearson coefficient along the last axis (NaN when a variable is constant)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x = x - x.mean(axis=-1, keepdims=True)  # centred first for numerical stability
    y = y - y.mean(axis=-1, keepdims=True)
    w = _normalised(weights, x)
    mean_x, mean_y = _dot(w, x), _dot(w, y)
    cov = _dot(w, x, y) - mean_x * mean_y
    var_x, var_y = _dot(w, x, x) - mean_x**2, _dot(w, y, y) - mean_y**2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(var_x * var_y)
    return np.clip(r, -1.0, 1.0)


def _ranks_1d(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average ranks that the rows of ``values`` (n,) take in resamples drawn ``counts`` (B, n) times."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group = np.add.reduceat(counts[:, order], starts, axis=1)  # resampled rows per distinct value
    below = np.cumsum(group, axis=1) - group
    group_of_row = np.empty(len(values), dtype=int)
    group_of_row[order] = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    return (below + (group + 1.0) / 2.0)[:, group_of_row]


def ranks(values: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Average ranks (1-based, ties averaged) along the last axis.

    With ``counts`` (B, n): the ranks each row takes in each of B resamples where row i appears
    ``counts[:, i]`` times; shape (…, B, n).
    """
    values = np.asarray(values, dtype=float)
    if counts is None:
        return stats.rankdata(values, axis=-1)
    ranked = [_ranks_1d(values[i], counts) for i in np.ndindex(values.shape[:-1])]
    return np.stack(ranked).reshape(*values.shape[:-1], *counts.shape)


def residualiser(controls: np.ndarray, weights: np.ndarray | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """Function giving the residuals of a weighted least-squares fit on ``[1, controls]`` (…, n, k)."""
    controls = np.asarray(controls, dtype=float)
    design = np.concatenate([np.ones((*controls.shape[:-1], 1)), controls], axis=-1)
    weighted = np.swapaxes(design * _normalised(weights, design[..., 0])[..., None], -1, -2)
    projector = np.linalg.pinv(weighted @ design) @ weighted  # (…, k+1, n); pinv: collinear controls allowed

    def residual(values: np.ndarray) -> np.ndarray:
        return values - (design @ (projector @ np.asarray(values, dtype=float)[..., None]))[..., 0]

    return residual


def residuals(values: np.ndarray, controls: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Residuals of a weighted least-squares fit of ``values`` (…, n) on ``[1, controls]`` (…, n, k)."""
    return residualiser(controls, weights)(values)


def _effective_weights(weights: np.ndarray | None, counts: np.ndarray | None) -> np.ndarray | None:
    """Row weights times resample counts (either may be None)."""
    if counts is None:
        return weights
    return counts if weights is None else counts * np.asarray(weights, dtype=float)


def transformer(
    method: str,
    weights: np.ndarray | None = None,
    controls: np.ndarray | None = None,
    counts: np.ndarray | None = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """Function making values (…, n) ready for :func:`weighted_pearson` under ``method``: ranked
    and/or residualised on ``controls`` (n, k); with ``counts`` (B, n), once per resample (…, B, n)."""
    if method not in METHODS:
        raise ValueError(f"méthode inconnue : {method}")
    on_ranks = method.endswith("spearman")
    residual = None
    if method.startswith("partielle"):
        if controls is None:
            raise ValueError("corrélation partielle : variables de contrôle requises")
        z = np.moveaxis(ranks(np.transpose(controls), counts), 0, -1) if on_ranks else controls
        residual = residualiser(z, _effective_weights(weights, counts))

    def apply(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if on_ranks:
            values = ranks(values, counts)
        elif counts is not None:
            values = values[..., None, :]
        return values if residual is None else residual(values)

    return apply


def correlate(
    x: np.ndarray,
    y: np.ndarray,
    method: str = "pearson",
    weights: np.ndarray | None = None,
    controls: np.ndarray | None = None,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """Correlation of ``x`` and ``y`` along the last axis by one of :data:`METHODS`.

    ``controls`` (n, k) is required by the ``partielle_*`` methods and ignored otherwise.
    ``counts`` (B, n): score B resamples at once, row i drawn ``counts[:, i]`` times in each
    (result with a resample axis last); ``x`` is then 1-D and ``y`` (…, n).
    """
    prepare = transformer(method, weights, controls, counts)
    return weighted_pearson(prepare(x), prepare(y), _effective_weights(weights, counts))


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Row indices of ``n_boot`` resamples with replacement of ``n`` rows (seeded)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def resample_counts(index: np.ndarray) -> np.ndarray:
    """How many times each row is drawn in each resample: (B, n) counts from (B, n) indices."""
    n_boot, n = index.shape
    flat = (index + n * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(float)


def percentile_interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along the first axis, ignoring NaN resamples."""
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (constant variable) give NaN
        return np.nanpercentile(samples, tail, axis=0), np.nanpercentile(samples, 100.0 - tail, axis=0)


def bootstrap_ci(
    x: np.ndarray,
    y: np.ndarray,
    method: str = "pearson",
    weights: np.ndarray | None = None,
    controls: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of :func:`correlate` for 1-D ``x`` and ``y`` (…, n).

    ``y`` may carry leading axes (several targets at once); the resamples are shared.
    """
    counts = resample_counts(bootstrap_indices(len(x), n_boot, seed))
    samples = correlate(np.asarray(x, dtype=float), y, method, weights, controls, counts)  # (…, B)
    return percentile_interval(np.moveaxis(samples, -1, 0), level)


def p_value(r: np.ndarray, n: int, n_controls: int = 0) -> np.ndarray:
    """Two-sided p-value of a (partial) correlation by the t test, ``n - 2 - k`` degrees of freedom."""
    dof = n - 2 - n_controls
    if dof < 1:
        return np.full(np.shape(r), np.nan)
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt(dof / np.clip(1.0 - r * r, 1e-300, None))
    return 2.0 * stats.t.sf(np.abs(t), dof)


@dataclass(frozen=True)
class BootstrapSettings:
    """Seeded percentile bootstrap: number of resamples, seed, confidence level."""

    n_boot: int = 1000
    seed: int = 2026
    level: float = 0.95


COLUMNS = ["variable", "cible", "methode", "coefficient", "ic_bas", "ic_haut", "p_valeur", "n_communes"]


def _complete_blocks(features: pd.DataFrame, required: pd.Series, min_n: int) -> list[tuple[pd.Series, list[str]]]:
    """Feature columns grouped by their set of complete rows (rows where ``required`` also holds)."""
    masks = features.notna() & required.to_numpy()[:, None]
    blocks: dict[bytes, tuple[pd.Series, list[str]]] = {}
    for column in features.columns:
        mask = masks[column]
        if mask.sum() >= min_n:
            blocks.setdefault(mask.to_numpy().tobytes(), (mask, []))[1].append(column)
    return list(blocks.values())


def correlation_table(
    features: pd.DataFrame,
    targets: pd.DataFrame,
    weights: pd.Series | None = None,
    controls: pd.DataFrame | None = None,
    settings: BootstrapSettings = BootstrapSettings(),
    min_n: int = 10,
) -> pd.DataFrame:
    """Every method for every (feature column, target column) pair; frames aligned on their index.

    Each pair uses the rows where the feature, every target, the weight and the controls are
    known (at least ``min_n``). Partial methods need ``controls``. Bootstrap resamples are drawn
    from ``settings.seed`` for each set of complete rows, shared by all pairs on that set.
    """
    required = targets.notna().all(axis=1)
    if weights is not None:
        required &= weights.reindex(targets.index).notna()
    if controls is not None:
        required &= controls.reindex(targets.index).notna().all(axis=1)
    methods = [m for m in METHODS if controls is not None or not m.startswith("partielle")]
    features = features.reindex(targets.index)
    frames = []
    for mask, columns in _complete_blocks(features, required, min_n):
        rows = mask.to_numpy()
        y = targets.to_numpy(float)[rows].T
        w = None if weights is None else weights.reindex(targets.index).to_numpy(float)[rows]
        z = None if controls is None else controls.reindex(targets.index).to_numpy(float)[rows]
        counts = resample_counts(bootstrap_indices(int(rows.sum()), settings.n_boot, settings.seed))
        boot_weights = _effective_weights(w, counts)
        for method in methods:
            k = z.shape[1] if method.startswith("partielle") else 0
            point, boot = transformer(method, w, z), transformer(method, w, z, counts)
            ty_point, ty_boot = point(y), boot(y)
            for column in columns:
                x = features[column].to_numpy(float)[rows]
                r = weighted_pearson(point(x), ty_point, w)
                samples = weighted_pearson(boot(x), ty_boot, boot_weights)
                low, high = percentile_interval(np.moveaxis(samples, -1, 0), settings.level)
                frames.append(pd.DataFrame({
                    "variable": column, "cible": targets.columns, "methode": method, "coefficient": r,
                    "ic_bas": low, "ic_haut": high, "p_valeur": p_value(r, int(rows.sum()), k), "n_communes": int(rows.sum()),
                }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
