"""Prediction intervals by split conformal prediction, calibrated on earlier ballots only.

For a test ballot, the calibration set is the same model's backtest errors on every earlier
ballot of the chain (same horizon table, same conditional flag). Errors are normalised by a
scale with a sampling term in 1/n and a structural term:

    scale² = a · v / n + κ · v²,   v = p (1 − p),   n = exprimés (inscrits for abstention) at the comparable ballot.

The sampling term is binomial noise inflated by a (fitted, pooled over outputs: the backtests
give a ≈ 2, not the 1 of pure binomial noise — a commune's share at the comparable ballot,
which the forecast starts from, carries its own sampling noise); the structural term is a
relative error in log-ratio space (δ in clr moves a share by about v · δ), so it scales with
the bloc's level and follows a bloc whose share doubles between ballots. a and κ (per output)
are fitted on the calibration errors by iteratively reweighted least squares of r² / v on (1 / n, v).

The interval is p ± q × scale, q being the conformal quantile of |error| / scale at level
⌈(m + 1)(1 − α)⌉ / m, computed per output and size class (Mondrian conformal prediction:
classes of exprimés at the comparable ballot, ``SIZE_EDGES``; a class with fewer than
``MIN_CLASS_SCORES`` scores uses the output's quantile over all classes). An output without
calibration scores (a bloc standing for the first time) uses the quantile pooled over the
blocs and the blocs' median κ — never an unbounded [0, 1] interval. Intervals are clipped to [0, 1] and always
contain the point forecast. The probability that each bloc leads a commune is simulated by adding
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
KAPPA_RANGE = (1e-4, 10.0)
SAMPLING_RANGE = (1.0, 5.0)
VARIANCE_FLOOR = 1e-3  # v = p(1 − p) below this is not used to fit the scale (shares near 0 or 1)
SIZE_EDGES = (200.0, 1000.0, 5000.0)  # exprimés at the comparable ballot: classes < 200, 200–999, 1000–4999, ≥ 5000
SIZE_LABELS = ("moins_200", "200_999", "1000_4999", "5000_plus")
MIN_CLASS_SCORES = 30
FIT_ITERATIONS = 4
DRAWS = 200
DRAW_CHUNK = 25


@dataclass(frozen=True)
class Calibration:
    """Conformal calibration of one model: scale terms, quantiles per size class × output, signed scores."""

    kappa: np.ndarray
    quantiles: dict[float, np.ndarray]  # level → size classes × outputs
    scores: np.ndarray  # m calibration communes × outputs, NaN where the bloc did not stand
    ballots: tuple[str, ...]
    sampling: float = 1.0


def sizes(prediction: Prediction) -> np.ndarray:
    """Sample size of each output: exprimés for blocs, inscrits for abstention (n × outputs)."""
    rows = prediction.rows
    blocs = prediction.predicted.shape[1] - 1
    return np.column_stack([np.repeat(rows["taille_exprimes"].to_numpy(float)[:, None], blocs, axis=1), rows["taille_inscrits"].to_numpy(float)])


def size_class(size: np.ndarray) -> np.ndarray:
    """Size class index (0 … len(SIZE_EDGES)) of exprimés counts."""
    return np.searchsorted(np.asarray(SIZE_EDGES), np.asarray(size, dtype=float), side="right")


def scale(predicted: np.ndarray, size: np.ndarray, kappa: np.ndarray, sampling: float = 1.0) -> np.ndarray:
    """Error scale sqrt(a · v / n + κ · v²), v = p(1 − p), floored (module doc)."""
    p = np.clip(predicted, 0.0, 1.0)
    v = p * (1 - p)
    return np.sqrt(sampling * v / np.maximum(size, 1.0) + kappa * v**2) + SCALE_FLOOR


def calibration_scale(calibration: Calibration, predicted: np.ndarray, size: np.ndarray) -> np.ndarray:
    """:func:`scale` with a calibration's fitted terms."""
    return scale(predicted, size, calibration.kappa, calibration.sampling)


def fit_scale(residual: np.ndarray, predicted: np.ndarray, size: np.ndarray) -> tuple[float, np.ndarray]:
    """Sampling inflation a (pooled) and structural κ per output, least squares of r² / v on (1 / n, v)."""
    v = np.clip(predicted, 0.0, 1.0) * (1 - np.clip(predicted, 0.0, 1.0))
    outputs = residual.shape[1]
    usable = ~np.isnan(residual) & (v > VARIANCE_FLOOR)
    if not usable.any():
        return 1.0, np.full(outputs, KAPPA_RANGE[0])
    rows, cols = np.nonzero(usable)
    target = residual[rows, cols] ** 2 / v[rows, cols]
    design = np.zeros((rows.size, outputs + 1))
    design[:, 0] = 1 / np.maximum(size[rows, cols], 1.0)
    design[np.arange(rows.size), 1 + cols] = v[rows, cols]
    solution = np.concatenate([[1.0], np.full(outputs, 0.01)])
    for _ in range(FIT_ITERATIONS):  # iteratively reweighted: r² / v has a spread proportional to its expectation
        expected = np.clip(design @ solution, 1e-6, None)
        weight = 1 / expected
        solution = np.linalg.lstsq(design * weight[:, None], target * weight, rcond=None)[0]
        solution = np.clip(solution, 0.0, None)
    sampling = float(np.clip(solution[0], *SAMPLING_RANGE))
    # κ again with a fixed (clipped): per output, mean of (r² / v − a / n) / v
    kappa = np.full(outputs, np.nan)
    for j in range(outputs):
        keep = usable[:, j]
        if keep.any():
            excess = residual[keep, j] ** 2 / v[keep, j] - sampling / np.maximum(size[keep, j], 1.0)
            kappa[j] = np.clip(np.sum(excess * v[keep, j]) / np.sum(v[keep, j] ** 2), *KAPPA_RANGE)
    blocs = kappa[:-1]
    pooled = float(np.nanmedian(blocs)) if not np.isnan(blocs).all() else KAPPA_RANGE[0]
    kappa[:-1] = np.where(np.isnan(blocs), pooled, blocs)  # a bloc standing for the first time: the blocs' median κ
    return sampling, np.nan_to_num(kappa, nan=KAPPA_RANGE[0])


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile of absolute scores (NaN ignored); inf when too few scores."""
    values = np.abs(scores[~np.isnan(scores)])
    m = values.size
    rank = int(np.ceil((m + 1) * level))
    return float(np.sort(values)[rank - 1]) if 0 < rank <= m else float("inf")


def class_quantiles(scores: np.ndarray, classes: np.ndarray, level: float) -> np.ndarray:
    """Conformal quantiles per size class × output (module doc for the fallbacks)."""
    outputs = scores.shape[1]
    overall = np.array([conformal_quantile(scores[:, j], level) for j in range(outputs)])
    blocs = scores[:, :-1]
    pooled = conformal_quantile(blocs.ravel(), level)
    overall[:-1] = np.where(np.isfinite(overall[:-1]), overall[:-1], pooled)
    out = np.tile(overall, (len(SIZE_LABELS), 1))
    for c in range(len(SIZE_LABELS)):
        in_class = classes == c
        for j in range(outputs):
            values = scores[in_class, j]
            if np.count_nonzero(~np.isnan(values)) >= MIN_CLASS_SCORES:
                out[c, j] = conformal_quantile(values, level)
    return out


def calibrate(earlier: Sequence[Prediction]) -> Calibration | None:
    """Calibration from earlier predictions of one model (None when there are none)."""
    if not earlier:
        return None
    predicted = np.vstack([p.predicted for p in earlier])
    residual = np.vstack([np.where(p.present, p.observed - p.predicted, np.nan) for p in earlier])
    size = np.vstack([sizes(p) for p in earlier])
    sampling, kappa = fit_scale(residual, predicted, size)
    scores = residual / scale(predicted, size, kappa, sampling)
    classes = size_class(size[:, 0])
    quantiles = {level: class_quantiles(scores, classes, level) for level in LEVELS}
    return Calibration(kappa, quantiles, scores, tuple(dict.fromkeys(p.scrutin_test for p in earlier)), sampling)


def interval_quantiles(calibration: Calibration, size: np.ndarray, level: float) -> np.ndarray:
    """Each commune's conformal quantile per output, from its size class (n × outputs)."""
    return calibration.quantiles[level][size_class(size[:, 0])]


def lead_probability(prediction: Prediction, calibration: Calibration, draws: int = DRAWS, seed: int = 0) -> np.ndarray:
    """Simulated probability that each bloc comes first in each commune (n × blocs)."""
    rng = np.random.default_rng(seed)
    k = prediction.predicted.shape[1] - 1
    point, present = prediction.predicted[:, :k], prediction.present[:, :k]
    spread = calibration_scale(calibration, prediction.predicted, sizes(prediction))[:, :k]
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
    size = sizes(prediction)
    spread = calibration_scale(calibration, prediction.predicted, size)
    bounds = {}
    for level, tag in zip(LEVELS, ("80", "95"), strict=True):
        half = interval_quantiles(calibration, size, level) * spread
        lower = np.where(prediction.present, np.clip(prediction.predicted - half, 0.0, 1.0), 0.0)
        upper = np.where(prediction.present, np.clip(prediction.predicted + half, 0.0, 1.0), 0.0)
        bounds[f"lower{tag}"], bounds[f"upper{tag}"] = lower, upper
    return replace(prediction, **bounds, lead_proba=lead_probability(prediction, calibration))


def calibrate_chain(predictions: Sequence[Prediction]) -> list[Prediction]:
    """Add intervals to every prediction, each calibrated on the same model's ballots held before its information date.

    ``predictions`` must come from one backtest (one horizon table, one chain of ballots).
    """
    out = []
    for p in predictions:
        earlier = [q for q in predictions if q.modele == p.modele and q.conditionnel == p.conditionnel and q.date < p.information_date]
        out.append(with_intervals(p, calibrate(earlier)))
    return out

