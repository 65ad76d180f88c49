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
from electio.models.intervals import SIZE_LABELS, size_class
from electio.models.proper_scores import (
    BOOTSTRAP_LEVEL,
    bootstrap_counts,
    bootstrap_interval,
    brier_decomposition,
    column_mean,
    inside,
    interval_score,
    joint_inside,
    lead_outcome,
)

MEAN = "moyenne"
ABSTENTION = "abstention"

EXPLANATIONS: dict[str, str] = {
    "mae": "Erreur absolue moyenne, en points de pourcentage : écart moyen entre la part prévue et la part observée d'un bloc dans une commune (chaque commune compte pareil).",
    "rmse": "Racine de l'erreur quadratique moyenne, en points : comme la MAE mais pénalise davantage les grosses erreurs.",
    "mae_pond": "MAE pondérée par les suffrages exprimés (les inscrits pour l'abstention), en points : chaque électeur compte pareil, les grandes communes pèsent davantage.",
    "rmse_pond": "RMSE pondérée par les exprimés (les inscrits pour l'abstention), en points.",
    "r2": "R² : part de la variance entre communes expliquée par la prévision (1 = parfait, 0 = pas mieux que la moyenne observée).",
    "acc_tete": "Exactitude du bloc en tête : part des communes où le bloc prévu en tête est bien arrivé en tête.",
    "bacc_tete": "Exactitude équilibrée du bloc en tête : moyenne, sur les blocs réellement arrivés en tête quelque part, de la part de leurs communes bien prévues (ne favorise pas le bloc majoritaire).",
    "brier": "Score de Brier : écart quadratique moyen entre la probabilité annoncée que le bloc prévu en tête le soit (simulée à partir des erreurs passées) et le résultat (1 s'il l'est, 0 sinon) ; 0 = parfait, 0,25 = hasard à 50 %.",
    "couv80": "Couverture des intervalles à 80 % : part des résultats observés (commune × bloc) tombés dans l'intervalle ; idéalement 0,80.",
    "couv95": "Couverture des intervalles à 95 % : idéalement 0,95.",
    "couv80_joint": "Couverture jointe à 80 % : part des communes dont tous les blocs en lice tombent ensemble dans leurs intervalles (bien plus basse que 0,80 : c'est normal, chaque bloc a sa chance de sortir).",
    "couv80_pond": "Couverture à 80 % pondérée par les exprimés : part des électeurs dont la commune est dans l'intervalle.",
    "couv80_taille_*": "Couverture à 80 % par classe de taille (exprimés au scrutin comparable : moins de 200, 200 à 999, 1 000 à 4 999, 5 000 et plus) ; chaque classe devrait être proche de 0,80.",
    "is80": "Score d'intervalle à 80 %, en points : largeur de l'intervalle + 10 × l'écart quand le résultat tombe dehors (plus bas = meilleur ; récompense les intervalles étroits mais justes).",
    "brier_blocs": "Score de Brier de la probabilité d'arriver en tête, sur chaque couple commune × bloc en lice (0 = parfait).",
    "brier_fiabilite": "Part « fiabilité » du Brier : écart entre les probabilités annoncées et les fréquences observées (0 = probabilités fiables).",
    "brier_resolution": "Part « résolution » du Brier : capacité à distinguer les communes où un bloc arrive en tête de celles où il n'y arrive pas (plus haut = meilleur).",
    "ic_basse / ic_haute": "Intervalle à 90 % de la mesure par bootstrap sur les communes (on retire au hasard des communes avec remise) : l'incertitude due au nombre limité de communes.",
}

PLAIN_FRENCH: dict[str, tuple[str, str]] = {  # key → (title, text), plain French for the card, report and dashboard
    "intervalle_80": (
        "Ce que veut dire « intervalle à 80 % » pour une commune.",
        "Pour chaque commune et chaque bloc, la prévision donne "
        "une part (par exemple 24 %) et une fourchette (par exemple de 20 % à 28 %). La fourchette est construite pour que, "
        "sur un grand nombre de communes, le vrai résultat tombe dedans 8 fois sur 10 : dans 2 communes sur 10, il tombera "
        "dehors, et c'est prévu. On vérifie cette promesse sur les élections passées, bloc par bloc et par taille de commune."),
    "petites_communes": (
        "Pourquoi les petites communes sont moins prévisibles.",
        "Dans un village de 80 votants, il suffit que 4 personnes "
        "changent d'avis pour qu'un bloc gagne ou perde 5 points ; dans une ville de 50 000 votants, le même écart demande "
        "des milliers de voix. Une part de l'erreur est donc du pur hasard du vote, que rien ne peut prévoir : c'est le "
        "« plancher de bruit ». Les fourchettes des petites communes sont plus larges pour cette raison, et le modèle donne "
        "plus de poids aux grandes communes, dont les résultats sont plus stables."),
    "couverture": (
        "Lire la couverture.",
        "Une moyenne de 80 % peut cacher un bloc bien couvert et un autre mal couvert : on donne donc "
        "la couverture de chaque bloc (objectif : entre 70 % et 90 %) et de chaque taille de commune (entre 72 % et 88 %), "
        "avec une marge d'incertitude obtenue en retirant des communes au hasard. La couverture « jointe » (tous les blocs "
        "d'une commune dans leur fourchette en même temps) est forcément plus basse. Un bloc absent d'un scrutin n'est pas "
        "compté."),
    "references": (
        "Comparer à des références honnêtes.",
        "Un modèle n'est utile que s'il fait mieux que des règles simples connues "
        "avant le vote : reprendre le résultat précédent de la commune (persistance), ou l'ajuster de l'évolution du bloc "
        "dans le département (swing proportionnel). Pour la probabilité d'arriver en tête, la référence est la part des "
        "communes où chaque bloc était en tête au scrutin précédent du même type : un score de Brier plus bas que le sien "
        "montre que les probabilités apportent une information réelle."),
}

REFERENCE_EXPLANATIONS: dict[str, str] = {
    "plancher_bruit": "Plancher de bruit : l'erreur d'une prévision qui connaîtrait la vraie propension de chaque commune ; il reste l'aléa du vote de quelques centaines d'électeurs (tirage binomial aux exprimés). Aucun modèle ne peut faire mieux en moyenne.",
    "frequence_tete": "Fréquence de tête sans fuite : la probabilité qu'un bloc arrive en tête est la part des communes où il était en tête au scrutin comparable précédent, connu avant le vote. Un modèle utile doit avoir un Brier plus bas.",
    "persistance": "Persistance : on reprend les résultats de la commune au scrutin comparable précédent.",
    "swing_proportionnel": "Swing proportionnel : les résultats précédents de la commune, multipliés par l'évolution du bloc dans le département.",
}


def _masked(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return np.where(present, values, np.nan)


def _column_mean(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Mean of each column over its non-NaN rows, optionally weighted (weights n or n × m)."""
    return column_mean(values, weights)


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


Row = tuple[str, str, float, float, float, int, str]  # bloc, metrique, valeur, ic_basse, ic_haute, n_communes, classe_taille
ALL_SIZES = "toutes"
NAN = float("nan")


def _bloc_rows(values: np.ndarray, present: np.ndarray, labels: Sequence[str], metric: str, mean: bool = True,
               interval: tuple[np.ndarray, np.ndarray] | None = None, size_class: str = ALL_SIZES) -> list[Row]:
    """(bloc, metric, value, CI low, CI high, communes, size class) per output that stood, plus the mean over blocs."""
    stood = present.any(axis=0)
    counts = present.sum(axis=0)
    low, high = interval if interval is not None else (np.full(len(values), np.nan), np.full(len(values), np.nan))
    rows = [(label, metric, float(v), float(lo), float(hi), int(c), size_class)
            for label, v, lo, hi, c, ok in zip(labels, values, low, high, counts, stood, strict=True) if ok and np.isfinite(v)]
    if mean:
        bloc_values = values[:-1][stood[:-1]]
        if bloc_values.size and not np.isnan(bloc_values).all():
            rows.append((MEAN, metric, float(np.nanmean(bloc_values)), NAN, NAN, int(present[:, :-1].any(axis=1).sum()), size_class))
    return rows


def _single(metric: str, value: float, n: int, interval: tuple[float, float] = (NAN, NAN), size_class: str = ALL_SIZES) -> Row:
    return (MEAN, metric, float(value), float(interval[0]), float(interval[1]), int(n), size_class)


def output_weights(prediction: Prediction) -> np.ndarray:
    """Weight of each output of each commune: exprimés for blocs, inscrits for abstention (n × outputs)."""
    rows, m = prediction.rows, prediction.predicted.shape[1]
    exprimes = rows["exprimes"].to_numpy(float)
    return np.column_stack([np.repeat(exprimes[:, None], m - 1, axis=1), rows["inscrits"].to_numpy(float)])


def commune_size_class(prediction: Prediction) -> np.ndarray:
    """Size class of each commune (exprimés at the comparable ballot, known before the vote)."""
    return size_class(prediction.rows["taille_exprimes"].to_numpy(float))


def point_metrics(obs: np.ndarray, pred: np.ndarray, present: np.ndarray, weights: np.ndarray, labels: Sequence[str],
                  counts: np.ndarray | None = None) -> list[Row]:
    """MAE (with a cluster-bootstrap interval when ``counts`` is given), RMSE (unweighted and weighted by
    exprimés / inscrits) and R² per output."""
    interval = None
    if counts is not None:
        low, high = bootstrap_interval(np.where(present, np.abs(obs - pred), np.nan), counts)
        interval = (100 * low, 100 * high)
    rows = _bloc_rows(mae_points(obs, pred, present), present, labels, "mae", interval=interval)
    rows += _bloc_rows(rmse_points(obs, pred, present), present, labels, "rmse")
    rows += _bloc_rows(mae_points(obs, pred, present, weights), present, labels, "mae_pond")
    rows += _bloc_rows(rmse_points(obs, pred, present, weights), present, labels, "rmse_pond")
    rows += _bloc_rows(r2(obs, pred, present), present, labels, "r2")
    return rows


def interval_metrics(prediction: Prediction, labels: Sequence[str], counts: np.ndarray) -> list[Row]:
    """Coverage per bloc (with cluster-bootstrap interval), joint, weighted, by size class; interval score."""
    obs, present = prediction.observed, prediction.present
    weights, classes = output_weights(prediction), commune_size_class(prediction)
    k = len(labels) - 1
    stood = present[:, :k].any(axis=0)
    rows: list[Row] = []
    for level, tag, lower, upper in ((0.80, "80", prediction.lower80, prediction.upper80), (0.95, "95", prediction.lower95, prediction.upper95)):
        hits = inside(obs, lower, upper, present)
        cov = column_mean(hits)
        rows += _bloc_rows(cov, present, labels, f"couv{tag}", mean=False, interval=bootstrap_interval(hits, counts))
        bloc_means = counts @ np.nan_to_num(hits[:, :k]) / np.maximum(counts @ present[:, :k], 1)
        spread = np.quantile(bloc_means[:, stood].mean(axis=1), [(1 - BOOTSTRAP_LEVEL) / 2, (1 + BOOTSTRAP_LEVEL) / 2])
        rows.append(_single(f"couv{tag}", np.nanmean(cov[:k][stood]), len(obs), (spread[0], spread[1])))
        joint = joint_inside(hits)
        low, high = bootstrap_interval(joint, counts)
        rows.append(_single(f"couv{tag}_joint", column_mean(joint)[0], len(obs), (low[0], high[0])))
        rows += _bloc_rows(column_mean(hits, weights), present, labels, f"couv{tag}_pond")
        rows += _bloc_rows(column_mean(interval_score(obs, lower, upper, present, 1 - level)), present, labels, f"is{tag}")
        for c, name in enumerate(SIZE_LABELS):
            member = classes == c
            if member.any():
                part = hits[member]
                rows += _bloc_rows(column_mean(part), present[member], labels, f"couv{tag}_taille_{name}",
                                   interval=bootstrap_interval(part, counts[:, member]) if tag == "80" else None, size_class=name)
    return rows


def lead_metrics(obs: np.ndarray, pred: np.ndarray, present: np.ndarray, probability: np.ndarray) -> list[Row]:
    """Brier of the forecast leader and decomposed Brier over every (commune, bloc that stood)."""
    rows = [_single("brier", lead_brier(obs, pred, present, probability), len(obs))]
    decomposition = brier_decomposition(np.where(present, probability, np.nan), lead_outcome(obs, present))
    rows += [_single(name, value, len(obs)) for name, value in decomposition.items()]
    return rows


def prediction_metrics(prediction: Prediction, blocs: Sequence[str]) -> list[Row]:
    """Every metric of one prediction (module doc and :mod:`.proper_scores`)."""
    obs, pred, present = prediction.observed, prediction.predicted, prediction.present
    labels = [*blocs, ABSTENTION]
    k = len(blocs)
    weights, classes = output_weights(prediction), commune_size_class(prediction)
    counts = bootstrap_counts(len(obs))
    rows = point_metrics(obs, pred, present, weights, labels, counts)
    for c, name in enumerate(SIZE_LABELS):
        member = classes == c
        if member.any():
            rows += _bloc_rows(mae_points(obs[member], pred[member], present[member]), present[member], labels, f"mae_taille_{name}", size_class=name)
    rows.append(_single("acc_tete", lead_accuracy(obs[:, :k], pred[:, :k], present[:, :k]), len(obs)))
    rows.append(_single("bacc_tete", lead_balanced_accuracy(obs[:, :k], pred[:, :k], present[:, :k]), len(obs)))
    if prediction.lead_proba is not None:
        rows += lead_metrics(obs[:, :k], pred[:, :k], present[:, :k], prediction.lead_proba)
        rows += interval_metrics(prediction, labels, counts)
    return rows


# ─── Honest references ───────────────────────────────────────────────────────────────────

def noise_floor_metrics(prediction: Prediction, blocs: Sequence[str]) -> list[Row]:
    """Errors of a forecast that knew each commune's true probability: binomial sampling alone.

    With n = exprimés (inscrits for abstention) at the test ballot and p the observed share, the
    expected absolute error is √(2/π) · √(p(1 − p)/n) (normal approximation) and the expected
    squared error p(1 − p)/n: no model can do better on average.
    """
    obs, present = prediction.observed, prediction.present
    labels = [*blocs, ABSTENTION]
    weights, classes = output_weights(prediction), commune_size_class(prediction)
    variance = np.where(present, np.clip(obs, 0, 1) * (1 - np.clip(obs, 0, 1)) / np.maximum(weights, 1.0), np.nan)
    absolute = np.sqrt(2 / np.pi) * np.sqrt(variance)
    rows = _bloc_rows(100 * column_mean(absolute), present, labels, "mae")
    rows += _bloc_rows(100 * np.sqrt(column_mean(variance)), present, labels, "rmse")
    rows += _bloc_rows(100 * column_mean(absolute, weights), present, labels, "mae_pond")
    rows += _bloc_rows(100 * np.sqrt(column_mean(variance, weights)), present, labels, "rmse_pond")
    for c, name in enumerate(SIZE_LABELS):
        member = classes == c
        if member.any():
            rows += _bloc_rows(100 * column_mean(absolute[member]), present[member], labels, f"mae_taille_{name}", size_class=name)
    return rows


def base_rate_metrics(prediction: Prediction, blocs: Sequence[str]) -> list[Row]:
    """Brier scores of the leak-free base rate (lead frequencies at the comparable ballot, ``lead_base``)."""
    if prediction.lead_base is None:
        return []
    k = len(blocs)
    obs, present = prediction.observed[:, :k], prediction.present[:, :k]
    return lead_metrics(obs, prediction.lead_base, present, prediction.lead_base)


def mean_bloc_mae(prediction: Prediction) -> float:
    """Mean over the blocs that stood of the unweighted MAE, in points (the selection criterion)."""
    k = prediction.predicted.shape[1] - 1
    present = prediction.present[:, :k]
    values = mae_points(prediction.observed[:, :k], prediction.predicted[:, :k], present)
    return float(np.nanmean(values[present.any(axis=0)]))
