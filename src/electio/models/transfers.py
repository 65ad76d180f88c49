"""Vote transfers (report de voix) from the first round to the second, by ecological inference on commune results.

The data. For each présidentielle T1→T2 pair (2012, 2017, 2022) and each commune ``c``, the T1 mix
``x_c`` (share of inscrits of each T1 bloc and of the non-exprimés, i.e. abstention + blancs + nuls;
sums to 1) and the T2 mix ``y_c`` (share of inscrits of candidate A, of candidate B and of the
non-exprimés; sums to 1). Inscrits barely change between the two rounds (two weeks apart).

The model (constrained Goodman regression). One transfer matrix ``R`` (T1 options × {A, B, non}) per
ballot, the same in every commune of the territory, estimated by weighted least squares

    min_R  Σ_c w_c ‖y_c − x_c R‖²    subject to  R ≥ 0 and R·1 = 1 (each T1 option's row on the simplex),

``w_c`` = the commune's inscrits. The constraints make every fitted rate a proportion, so the fit
cannot return the negative or > 100 % rates of an unconstrained Goodman regression; the problem is a
small convex quadratic programme solved exactly by accelerated projected gradient (FISTA, each row
projected on the simplex), deterministic and fast enough to bootstrap.

Why not a hierarchical model (King's EI, Rosen et al.'s Dirichlet–multinomial with commune-level
rates)? It would give every commune its own rates, but with 8 T1 options × 3 T2 options per commune
its posterior is identified mostly by its prior; it needs MCMC (minutes per ballot on the shared two
cores, no sampler in the dependencies), and the second-round forecast only needs the territory-wide
rates plus a commune-level residual spread, which the constrained regression gives with a bootstrap
over communes (rate uncertainty) and the weighted residuals of the fit (commune heterogeneity, see
:attr:`Transfers.residual_sd`). The price is the constancy assumption (same rates in every commune):
its violation shows in the residual spread, which the duel forecast draws from, and in the backtest.

Rows of T1 options absent from a ballot (no candidate of that bloc) carry no information and are
left as NaN. Mapping a 2027 duel to the historical patterns is done by :mod:`electio.forecasts.duels`
from ``referentials/duels_analogues.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

NON_EXPRIMES = "abstention"
"""T1 option and T2 outcome of the inscrits who did not cast a valid vote (abstention, blancs, nuls)."""
T2_OUTCOMES = ("a", "b", NON_EXPRIMES)


@dataclass(frozen=True)
class Transfers:
    """Transfer rates of one T1→T2 pair: ``rates[i, j]`` = share of T1 option ``options[i]`` going to outcome j (A, B, non).

    ``draws``: bootstrap replicates (replicates × options × 3). ``residual_sd``: inscrits-weighted standard
    deviation over communes of the fitted-minus-observed logit of A's share of the exprimés (commune
    heterogeneity the common rates miss). ``finalists``: the blocs of A and B.
    """

    options: tuple[str, ...]
    rates: np.ndarray
    draws: np.ndarray
    residual_sd: float
    finalists: tuple[str, str]
    scrutin_id: str = ""


def project_simplex(rows: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row onto the probability simplex (Duchi et al. 2008)."""
    n, k = rows.shape
    ordered = -np.sort(-rows, axis=1)
    cumulative = np.cumsum(ordered, axis=1) - 1.0
    index = np.arange(1, k + 1)
    condition = ordered - cumulative / index > 0
    rho = k - 1 - np.argmax(condition[:, ::-1], axis=1)
    theta = cumulative[np.arange(n), rho] / (rho + 1)
    return np.maximum(rows - theta[:, None], 0.0)


def constrained_regression(x: np.ndarray, y: np.ndarray, weights: np.ndarray, iterations: int = 3000, tol: float = 1e-12) -> np.ndarray:
    """Rates R (options × outcomes) minimising Σ_c w_c ‖y_c − x_c R‖² with every row of R on the simplex.

    Options with no mass in ``x`` are returned as NaN rows (unidentified).
    """
    x, y, w = np.asarray(x, float), np.asarray(y, float), np.asarray(weights, float)
    used = x.T @ w > 0
    xs = x[:, used]
    gram = xs.T @ (xs * w[:, None])
    cross = xs.T @ (y * w[:, None])
    step = 1.0 / max(float(np.linalg.eigvalsh(gram).max()), 1e-12)
    rates = np.full((xs.shape[1], y.shape[1]), 1.0 / y.shape[1])
    momentum, t = rates.copy(), 1.0
    for _ in range(iterations):
        updated = project_simplex(momentum - step * (gram @ momentum - cross))
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        momentum = updated + (t - 1) / t_next * (updated - rates)
        change = float(np.abs(updated - rates).max())
        rates, t = updated, t_next
        if change < tol:
            break
    out = np.full((x.shape[1], y.shape[1]), np.nan)
    out[used] = rates
    return out


def mixes(first: pd.DataFrame, second: pd.DataFrame, options: Sequence[str], finalists: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index]:
    """(x, y, inscrits, communes) of the communes present in both rounds.

    ``first``: code_commune, inscrits, exprimes, one ``voix_<bloc>`` column per bloc of ``options``
    (missing columns count 0). ``second``: code_commune, inscrits, exprimes, ``voix_<bloc>`` of the two
    finalists. Shares are of the round's own inscrits; the non-exprimés are inscrits − exprimés.
    """
    blocs = [o for o in options if o != NON_EXPRIMES]
    one = first.set_index("code_commune")
    two = second.set_index("code_commune")
    communes = one.index.intersection(two.index)
    one, two = one.loc[communes], two.loc[communes]
    voix = np.column_stack([one[f"voix_{b}"].fillna(0).to_numpy(float) if f"voix_{b}" in one else np.zeros(len(one)) for b in blocs])
    x = np.column_stack([voix, (one["inscrits"] - voix.sum(axis=1)).to_numpy(float)]) / one["inscrits"].to_numpy(float)[:, None]
    a, b = (two[f"voix_{f}"].to_numpy(float) for f in finalists)
    y = np.column_stack([a, b, two["inscrits"].to_numpy(float) - a - b]) / two["inscrits"].to_numpy(float)[:, None]
    keep = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1) & (x.min(axis=1) >= 0) & (y.min(axis=1) >= 0)
    return x[keep], y[keep], one["inscrits"].to_numpy(float)[keep], communes[keep]


def a_share(x: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """A's share of the T2 exprimés implied by T1 mixes ``x`` (… × options) and rates (options × 3)."""
    flows = np.nan_to_num(x @ np.nan_to_num(rates))
    return flows[..., 0] / np.maximum(flows[..., 0] + flows[..., 1], 1e-12)


def weighted_sd(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted standard deviation (weighted mean removed)."""
    mean = np.average(values, weights=weights)
    return float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))


def fit_transfers(first: pd.DataFrame, second: pd.DataFrame, options: Sequence[str], finalists: tuple[str, str],
                  replicates: int = 100, seed: int = 2026, scrutin_id: str = "") -> Transfers:
    """Estimate one ballot's transfers (:func:`constrained_regression`) with a commune bootstrap and the residual spread."""
    from electio.models.compositional import logit

    x, y, w, _ = mixes(first, second, options, finalists)
    rates = constrained_regression(x, y, w)
    rng = np.random.default_rng(seed)
    draws = np.stack([constrained_regression(x[i], y[i], w[i], iterations=800) for i in (rng.integers(0, len(x), len(x)) for _ in range(replicates))]) \
        if replicates else rates[None]
    observed = y[:, 0] / np.maximum(y[:, 0] + y[:, 1], 1e-12)
    clip = lambda p: np.clip(p, 1e-4, 1 - 1e-4)  # noqa: E731
    residual = logit(clip(observed)) - logit(clip(a_share(x, rates)))
    return Transfers(tuple(options), rates, draws, weighted_sd(residual, w), finalists, scrutin_id)
