"""Baselines: persistence, uniform swing and proportional swing.

All three start from the commune's shares at the *comparable* ballot (the last ballot of the
same type, else the last ballot of any type: ``aux_part_ref_*`` in the modelling table).

* persistence: the comparable ballot's shares, unchanged;
* uniform swing: comparable shares + (territory total of the target − territory total of the
  comparable ballot), in points;
* proportional swing: comparable shares × (target total / comparable total); a bloc absent from
  the comparable ballot gets the target total.

A bloc that does not stand in the target ballot gets 0; every forecast is clipped to [0, 1]
and closed (rows sum to 1). The same rules apply to the abstention rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from electio.features.modelling_table import ABSTENTION
from electio.models.compositional import close


@dataclass(frozen=True)
class Totals:
    """Territory totals repeated on each commune row: bloc shares (n × k) and abstention (n)."""

    shares: np.ndarray
    abstention: np.ndarray


@dataclass(frozen=True)
class Forecast:
    """Commune forecasts: bloc shares (n × k, rows sum to 1) and abstention rates (n)."""

    shares: np.ndarray
    abstention: np.ndarray


def present_mask(rows: pd.DataFrame, blocs: Sequence[str]) -> np.ndarray:
    """Blocs standing in each row's target ballot (n × k booleans)."""
    return rows[[f"present_{b}" for b in blocs]].to_numpy(bool)


def _reference(rows: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Values at the comparable ballot; the territory's when the commune has no result there."""
    own = rows[[f"aux_part_ref_{o}" for o in names]].to_numpy(float)
    territory = np.nan_to_num(rows[[f"aux_T_ref_{o}" for o in names]].to_numpy(float))
    return np.where(np.isnan(own), territory, own)


def reference_shares(rows: pd.DataFrame, blocs: Sequence[str]) -> np.ndarray:
    """Bloc shares at the comparable ballot (n × k)."""
    return _reference(rows, blocs)


def reference_totals(rows: pd.DataFrame, blocs: Sequence[str]) -> Totals:
    """Territory totals at the comparable ballot."""
    return Totals(np.nan_to_num(rows[[f"aux_T_ref_{b}" for b in blocs]].to_numpy(float)), rows[f"aux_T_ref_{ABSTENTION}"].to_numpy(float))


def _reference_abstention(rows: pd.DataFrame) -> np.ndarray:
    return _reference(rows, [ABSTENTION])[:, 0]


def persistence(rows: pd.DataFrame, blocs: Sequence[str], totals: Totals | None = None) -> Forecast:
    """The comparable ballot's shares (``totals`` is ignored: persistence needs none)."""
    return Forecast(close(reference_shares(rows, blocs), present_mask(rows, blocs)), _reference_abstention(rows))


def uniform_swing(rows: pd.DataFrame, blocs: Sequence[str], totals: Totals) -> Forecast:
    """Comparable shares shifted by the territory's change in points."""
    before = reference_totals(rows, blocs)
    shares = reference_shares(rows, blocs) + totals.shares - before.shares
    abstention = _reference_abstention(rows) + totals.abstention - before.abstention
    return Forecast(close(shares, present_mask(rows, blocs)), np.clip(abstention, 0.0, 1.0))


def _ratio(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return np.divide(new, old, out=np.full_like(new, np.nan, dtype=float), where=old > 0)


def proportional_swing(rows: pd.DataFrame, blocs: Sequence[str], totals: Totals) -> Forecast:
    """Comparable shares multiplied by the territory's ratio (new bloc: the target total)."""
    before = reference_totals(rows, blocs)
    ratio = _ratio(totals.shares, before.shares)
    shares = np.where(np.isnan(ratio), totals.shares, reference_shares(rows, blocs) * np.nan_to_num(ratio))
    abstention = _reference_abstention(rows) * np.nan_to_num(_ratio(totals.abstention, before.abstention), nan=1.0)
    return Forecast(close(shares, present_mask(rows, blocs)), np.clip(abstention, 0.0, 1.0))


BASELINES = {"persistance": persistence, "swing_uniforme": uniform_swing, "swing_proportionnel": proportional_swing}
