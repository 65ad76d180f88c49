"""Accuracy metrics of commune forecasts, and their explanations in French.

Arrays are n communes × outputs (blocs…, abstention); a bloc that did not stand in the test
ballot is left out of every metric. ``moyenne`` is the mean over the blocs that stood
(abstention excluded).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from electio.models.backtest import Prediction

MEAN = "moyenne"
ABSTENTION = "abstention"

EXPLANATIONS: dict[str, str] = {
    "mae": "Erreur absolue moyenne, en points de pourcentage : écart moyen entre la part prévue et la part observée d'un bloc dans une commune (chaque commune compte pareil).",
    "rmse": "Racine de l'erreur quadratique moyenne, en points : comme la MAE mais pénalise davantage les grosses erreurs.",
    "mae_pond": "MAE pondérée par les inscrits, en points : les grandes communes comptent davantage.",
    "rmse_pond": "RMSE pondérée par les inscrits, en points.",
    "r2": "R² : part de la variance entre communes expliquée par la prévision (1 = parfait, 0 = pas mieux que la moyenne observée).",
    "acc_tete": "Exactitude du bloc en tête : part des communes où le bloc prévu en tête est bien arrivé en tête.",
    "bacc_tete": "Exactitude équilibrée du bloc en tête : moyenne, sur les blocs réellement arrivés en tête quelque part, de la part de leurs communes bien prévues (ne favorise pas le bloc majoritaire).",
    "brier": "Score de Brier : écart quadratique moyen entre la probabilité annoncée que le bloc prévu en tête le soit (simulée à partir des erreurs passées) et le résultat (1 s'il l'est, 0 sinon) ; 0 = parfait, 0,25 = hasard à 50 %.",
    "couv80": "Couverture des intervalles à 80 % : part des résultats observés (commune × bloc) tombés dans l'intervalle ; idéalement 0,80.",
    "couv95": "Couverture des intervalles à 95 % : idéalement 0,95.",
}


def _masked(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return np.where(present, values, np.nan)


def _column_mean(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Mean of each column over its non-NaN rows, optionally weighted."""
    w = np.ones(values.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    mask = ~np.isnan(values)
    total = (np.where(mask, values, 0.0) * w[:, None]).sum(axis=0)
    norm = (mask * w[:, None]).sum(axis=0)
    return np.divide(total, norm, out=np.full(values.shape[1], np.nan), where=norm > 0)


def mae_points(observed: np.ndarray, predicted: np.ndarray, present: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean absolute error per output, in percentage points."""
    return 100 * _column_mean(_masked(np.abs(observed - predicted), present), weights)


def rmse_points(observed: np.ndarray, predicted: np.ndarray, present: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Root mean squared error per output, in percentage points."""
    return 100 * np.sqrt(_column_mean(_masked((observed - predicted) ** 2, present), weights))


def r2(observed: np.ndarray, predicted: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Coefficient of determination per output (NaN when the observed values do not vary)."""
    residual = _column_mean(_masked((observed - predicted) ** 2, present), None)
    spread = _column_mean(_masked((observed - _column_mean(_masked(observed, present), None)) ** 2, present), None)
    return 1 - np.divide(residual, spread, out=np.full_like(residual, np.nan), where=spread > 0)


def leaders(shares: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Index of the leading bloc of each commune (blocs only, absent blocs never lead)."""
    return np.where(present, shares, -np.inf).argmax(axis=1)


def lead_accuracy(observed: np.ndarray, predicted: np.ndarray, present: np.ndarray) -> float:
    """Share of communes whose leading bloc is forecast right."""
    return float(np.mean(leaders(observed, present) == leaders(predicted, present)))


def lead_balanced_accuracy(observed: np.ndarray, predicted: np.ndarray, present: np.ndarray) -> float:
    """Mean recall over the blocs that actually led somewhere."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a forecast leader that never led: recall undefined, ignored
        return float(balanced_accuracy_score(leaders(observed, present), leaders(predicted, present)))


def lead_brier(observed: np.ndarray, predicted: np.ndarray, present: np.ndarray, lead_proba: np.ndarray) -> float:
    """Brier score of the probability given to the forecast leader."""
    forecast = leaders(predicted, present)
    probability = lead_proba[np.arange(len(forecast)), forecast]
    hit = (leaders(observed, present) == forecast).astype(float)
    return float(np.mean((probability - hit) ** 2))


def coverage(observed: np.ndarray, lower: np.ndarray, upper: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Share of observed values inside [lower, upper], per output."""
    inside = ((observed >= lower - 1e-12) & (observed <= upper + 1e-12)).astype(float)
    return _column_mean(_masked(inside, present), None)


def _bloc_rows(values: np.ndarray, present: np.ndarray, labels: Sequence[str], metric: str, mean: bool = True) -> list[tuple[str, str, float]]:
    """(bloc, metric, value) per output that stood, plus the mean over blocs."""
    stood = present.any(axis=0)
    rows = [(label, metric, float(v)) for label, v, ok in zip(labels, values, stood, strict=True) if ok and np.isfinite(v)]
    if mean:
        bloc_values = values[:-1][stood[:-1]]
        rows.append((MEAN, metric, float(np.nanmean(bloc_values))))
    return rows


def prediction_metrics(prediction: Prediction, blocs: Sequence[str]) -> list[tuple[str, str, float]]:
    """Every metric of one prediction as (bloc, metrique, valeur) rows."""
    obs, pred, present = prediction.observed, prediction.predicted, prediction.present
    weights = prediction.rows["inscrits"].to_numpy(float)
    labels = [*blocs, ABSTENTION]
    k = len(blocs)
    rows = _bloc_rows(mae_points(obs, pred, present), present, labels, "mae")
    rows += _bloc_rows(rmse_points(obs, pred, present), present, labels, "rmse")
    rows += _bloc_rows(mae_points(obs, pred, present, weights), present, labels, "mae_pond")
    rows += _bloc_rows(rmse_points(obs, pred, present, weights), present, labels, "rmse_pond")
    rows += _bloc_rows(r2(obs, pred, present), present, labels, "r2")
    rows.append((MEAN, "acc_tete", lead_accuracy(obs[:, :k], pred[:, :k], present[:, :k])))
    rows.append((MEAN, "bacc_tete", lead_balanced_accuracy(obs[:, :k], pred[:, :k], present[:, :k])))
    if prediction.lead_proba is not None:
        rows.append((MEAN, "brier", lead_brier(obs[:, :k], pred[:, :k], present[:, :k], prediction.lead_proba)))
        for tag, lower, upper in (("couv80", prediction.lower80, prediction.upper80), ("couv95", prediction.lower95, prediction.upper95)):
            cov = coverage(obs, lower, upper, present)
            rows += _bloc_rows(cov, present, labels, tag, mean=False)
            rows.append((MEAN, tag, float(np.nanmean(cov[:k][present[:, :k].any(axis=0)]))))
    return rows


def mean_bloc_mae(prediction: Prediction) -> float:
    """Mean over the blocs that stood of the unweighted MAE, in points (the selection criterion)."""
    k = prediction.predicted.shape[1] - 1
    present = prediction.present[:, :k]
    values = mae_points(prediction.observed[:, :k], prediction.predicted[:, :k], present)
    return float(np.nanmean(values[present.any(axis=0)]))
