"""The tested models: one pooled regressor of log-ratio deviations for every bloc and abstention.

Each learner sees one row per commune × output (see ``stacked_design``), weighted by the inverse
of its expected variance (``stacked_weights``: binomial sampling at the commune's exprimés at both
ballots plus a structural term), and predicts the
*change* of the commune's relative position: deviation at the target ballot − reference
deviation (at the comparable ballot). Pooling the blocs makes the model learn how relative
positions persist or revert in general, rather than the particular shifts of each bloc between
two given ballots, which do not carry over to the next pair of ballots. Shares are rebuilt from
territory totals in :mod:`electio.models.backtest`, so they stay in [0, 1] and sum to 1.

* ``ridge_logratio``: ridge regression (penalty chosen by leave-one-out on the training rows);
* ``foret_aleatoire``: random forest;
* ``lightgbm``: gradient-boosted trees (LightGBM);
* ``mixte_communes``: the ridge plus a random effect per commune and output, shrunk towards 0
  by the ratio of residual to between-commune variance (partial pooling, two-level model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.base import RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from electio.features.modelling_table import outputs, stacked_design, stacked_weights

RIDGE_ALPHAS = np.logspace(-1, 4, 11)
LARGE_TRAINING = 50_000  # stacked rows above which the random forest subsamples each tree


def _imputer() -> SimpleImputer:
    return SimpleImputer(strategy="median", keep_empty_features=True)


def ridge_estimator(fast: bool = False, n_rows: int = 0) -> Pipeline:
    """Median imputation, standardisation, ridge with leave-one-out choice of the penalty."""
    return make_pipeline(_imputer(), StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))


def forest_estimator(fast: bool = False, n_rows: int = 0) -> Pipeline:
    """Random forest (fewer trees in ``fast`` mode; each tree on a subsample of large tables).

    Trees are grown and queried on every core (``n_jobs=-1``): the trees are the same as with one core
    (their seeds are drawn before the parallel loop), predictions differ by float rounding only.
    """
    forest = RandomForestRegressor(
        n_estimators=20 if fast else 200, min_samples_leaf=10, max_features=0.33, n_jobs=-1, random_state=0,
        max_samples=min(1.0, LARGE_TRAINING / n_rows) if n_rows > LARGE_TRAINING else None,
    )
    return make_pipeline(_imputer(), forest)


def lightgbm_estimator(fast: bool = False, n_rows: int = 0) -> LGBMRegressor:
    """Gradient boosting with shrinkage, row and column subsampling."""
    return LGBMRegressor(
        n_estimators=40 if fast else 400, learning_rate=0.03, num_leaves=15, min_child_samples=50,
        subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0, n_jobs=1, random_state=0, verbose=-1,
    )


EstimatorFactory = Callable[[bool, int], RegressorMixin]


def weight_parameters(estimator: RegressorMixin, weights: np.ndarray | None) -> dict[str, np.ndarray]:
    """``fit`` keyword passing row weights to the final step of a pipeline (or to a bare estimator)."""
    if weights is None:
        return {}
    name = f"{estimator.steps[-1][0]}__sample_weight" if isinstance(estimator, Pipeline) else "sample_weight"
    return {name: weights / weights.mean()}


@dataclass
class PooledLearner:
    """One regressor over the stacked commune × output rows of a modelling table."""

    name: str
    factory: EstimatorFactory
    blocs: tuple[str, ...]
    fast: bool = False
    weighted: bool = True
    estimator: RegressorMixin | None = None
    features: list[str] = field(default_factory=list)

    def design(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stacked features (in the fitted column order), residual targets and groups."""
        x, y, groups = stacked_design(table, outputs(self.blocs))
        if self.features:
            x = x.reindex(columns=self.features)
        else:
            self.features = list(x.columns)
        return x.to_numpy(float), y, groups

    def fit(self, table: pd.DataFrame) -> PooledLearner:
        """Fit on the rows where the target is defined (blocs that stood)."""
        self.features = []
        x, y, groups = self.design(table)
        keep = ~np.isnan(y)
        estimator = self.factory(self.fast, int(keep.sum()))
        weights = stacked_weights(table, outputs(self.blocs))[keep] if self.weighted else None
        self.estimator = estimator.fit(x[keep], y[keep], **weight_parameters(estimator, weights))
        self.after_fit(x[keep], y[keep], groups[keep])
        return self

    def after_fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> None:
        """Hook for a second level (nothing for plain learners)."""

    def predict_stacked(self, x: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Predicted residual deviation of each stacked row."""
        return self.estimator.predict(x)

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        """Predicted deviation − reference deviation, n communes × outputs (blocs…, abstention)."""
        x, _, groups = self.design(table)
        return self.predict_stacked(x, groups).reshape(len(self.blocs) + 1, len(table)).T


def shrunk_group_means(residuals: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Random-effect estimates: group mean residual × n / (n + σ²_e / σ²_u) (method of moments)."""
    if residuals.size == 0:
        return {}
    labels, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=residuals) / counts
    within = np.sum((residuals - means[inverse]) ** 2) / max(residuals.size - labels.size, 1)
    between = max(np.var(means) - within * np.mean(1 / counts), 1e-12)
    return dict(zip(labels, means * counts / (counts + within / between), strict=True))


@dataclass
class MixedLearner(PooledLearner):
    """Ridge fixed effects plus shrunk random effects per commune and output."""

    effects: dict[str, float] = field(default_factory=dict)

    def after_fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> None:
        self.effects = shrunk_group_means(y - self.estimator.predict(x), groups)

    def predict_stacked(self, x: np.ndarray, groups: np.ndarray) -> np.ndarray:
        return self.estimator.predict(x) + np.array([self.effects.get(g, 0.0) for g in groups])


LEARNERS: dict[str, tuple[type[PooledLearner], EstimatorFactory]] = {
    "ridge_logratio": (PooledLearner, ridge_estimator),
    "foret_aleatoire": (PooledLearner, forest_estimator),
    "lightgbm": (PooledLearner, lightgbm_estimator),
    "mixte_communes": (MixedLearner, ridge_estimator),
}


def make_learner(name: str, blocs: Sequence[str], fast: bool = False) -> PooledLearner:
    """A fresh, unfitted learner by name."""
    kind, factory = LEARNERS[name]
    return kind(name=name, factory=factory, blocs=tuple(blocs), fast=fast)
