"""Indicator trajectories: each commune's indicators projected to a forecast ballot, with a damped trend.

The model's indicator features are « the latest value published before the ballot » (see
:func:`electio.features.modelling_table.indicator_features`). For a future ballot the value used
is therefore that of the *reference year* — the last year whose figures would be published by the
ballot date:

    reference year = ⌊t − L⌋ − 1,   t = ballot date in decimal years,
    L = median over the indicator's rows of (publication date − 1 January of year + 1), in years.

When the reference year has been published, its value (or the latest earlier one) is used as is.
Otherwise it is extrapolated from the commune's last known value x_L (year L₀) with a damped
linear trend (Gardner–McKenzie):

    x(Y) = x_L + b · Σ_{i=1..Y−L₀} φ^i = x_L + b · φ (1 − φ^(Y−L₀)) / (1 − φ),   φ = 0.8,

b being the least-squares slope of the commune's values over its last 5 known years (0 with fewer
than two). The damping makes the trend fade (at most b · φ / (1 − φ) = 4 b in total), so that
short series do not run away. Values stay ≥ 0, and ≤ 100 for percentages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from electio.features.modelling_table import DAYS_PER_YEAR, FEATURE_PREFIX

DAMPING = 0.8
TREND_WINDOW = 5
INDICATOR_PREFIX = f"{FEATURE_PREFIX}ind_"


def decimal_year(date: pd.Timestamp) -> float:
    """A date as a decimal year (2024-07-01 → 2024.5)."""
    return date.year + (date.day_of_year - 1) / DAYS_PER_YEAR


def publication_lags(indicators: pd.DataFrame) -> pd.Series:
    """Median delay (years) between the end of an indicator's year and its publication, per indicator."""
    end = pd.to_datetime((indicators["annee"] + 1).astype(str) + "-01-01")
    delay = (pd.to_datetime(indicators["date_publication"]) - end).dt.days / DAYS_PER_YEAR
    return delay.groupby(indicators["indicateur"]).median()


def reference_year(date: pd.Timestamp, lag: float) -> int:
    """The last year of an indicator published by ``date`` (see module doc)."""
    return int(np.floor(decimal_year(date) - lag)) - 1


def damped_sum(steps: np.ndarray, phi: float = DAMPING) -> np.ndarray:
    """Σ_{i=1..steps} φ^i (0 for steps ≤ 0)."""
    steps = np.maximum(np.asarray(steps, dtype=float), 0.0)
    return phi * (1 - phi**steps) / (1 - phi)


def series_trends(indicators: pd.DataFrame, window: int = TREND_WINDOW) -> pd.DataFrame:
    """Per (code_commune, indicateur): last year, last value and least-squares slope over the last ``window`` years."""
    rows = indicators.dropna(subset=["valeur"]).sort_values("annee").drop_duplicates(["code_commune", "indicateur", "annee"], keep="last")
    keys = ["code_commune", "indicateur"]
    last = rows.groupby(keys).agg(annee_derniere=("annee", "max"), valeur_derniere=("valeur", "last"))
    recent = rows.join(last["annee_derniere"], on=keys)
    recent = recent[recent["annee"] > recent["annee_derniere"] - window]
    x = recent["annee"].astype(float)
    centred = recent.assign(dx=x - x.groupby([recent[k] for k in keys]).transform("mean"),
                            dy=recent["valeur"] - recent.groupby(keys)["valeur"].transform("mean"))
    sums = centred.assign(sxy=centred["dx"] * centred["dy"], sxx=centred["dx"] ** 2).groupby(keys)[["sxy", "sxx"]].sum()
    last["pente"] = np.divide(sums["sxy"], sums["sxx"], out=np.zeros(len(sums)), where=sums["sxx"].to_numpy() > 0)
    return last.reset_index()


def project(indicators: pd.DataFrame, date: pd.Timestamp, percent: frozenset[str] = frozenset(), phi: float = DAMPING) -> pd.DataFrame:
    """Commune × indicator values for a ballot on ``date`` (columns: indicator codes; see module doc)."""
    years = {code: reference_year(date, lag) for code, lag in publication_lags(indicators).items()}
    published = indicators[indicators["annee"] <= indicators["indicateur"].map(years)].dropna(subset=["valeur"])
    known = published.sort_values("annee").groupby(["code_commune", "indicateur"])["valeur"].last()
    trends = series_trends(indicators).set_index(["code_commune", "indicateur"])
    wanted = trends.index.get_level_values("indicateur").map(years).to_numpy()
    steps = wanted - trends["annee_derniere"].to_numpy()
    extrapolated = pd.Series(trends["valeur_derniere"].to_numpy() + trends["pente"].to_numpy() * damped_sum(steps, phi), index=trends.index)
    values = known.reindex(trends.index).where(steps <= 0, extrapolated).clip(lower=0.0)
    is_percent = values.index.get_level_values("indicateur").isin(list(percent))
    values = values.where(~is_percent, values.clip(upper=100.0))
    return values.unstack("indicateur")


def indicator_features(columns: Iterable[str]) -> list[str]:
    """Indicator codes of the feature columns (``f_ind_<code>``) among ``columns`` (modelling rows, a model's features)."""
    return [c.removeprefix(INDICATOR_PREFIX) for c in columns if c.startswith(INDICATOR_PREFIX)]


def with_indicators(rows: pd.DataFrame, projected: pd.DataFrame, shifts: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Rows whose indicator features are the projected values (kept where none), plus additive ``shifts`` (indicator units;
    ignored for indicators without a feature column)."""
    out = rows.copy()
    values = projected.reindex(rows["code_commune"].to_numpy())
    for code in indicator_features(rows.columns):
        column = f"{INDICATOR_PREFIX}{code}"
        if code in values.columns:
            out[column] = values[code].to_numpy(float)
            out[column] = out[column].fillna(rows[column])
    for code, shift in (shifts or {}).items():
        column = f"{INDICATOR_PREFIX}{code}"
        if column in out.columns:  # an indicator the model does not use has no feature: its shift has no effect
            out[column] = out[column] + shift
    return out
