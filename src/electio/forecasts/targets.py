"""Forecast targets: hypothetical ballots 1, 2 and 3 years after the latest ballot, and the next présidentielle.

Assumptions (no ballot of those dates is in the warehouse, so each target is a hypothesis):

* horizons h = 1, 2, 3 years: a national first round of the **européennes** type — a national list
  ballot with the same offer in every commune, every bloc that stood at the last européennes standing
  again — dated exactly h years after the latest ballot (pres2022_t1, 10 April 2022: April 2023,
  2024 and 2025). The only national ballot actually held in that window was of that type (the
  européennes of June 2024); using one type for the three horizons keeps them comparable, and a
  présidentielle-type forecast is given by the next target;
* the next scheduled national ballot: the first round of the présidentielle five years after the
  last one (``pres2027_t1``, April 2027; horizon 5 years), blocs as at the last présidentielle.

A target becomes a modelling-table row set by adding it to the ballots as a ballot without results:
every feature (comparable ballot, history, time since the last ballot, indicators published before
its date) is then built by :func:`electio.features.modelling_table.build_modelling_table` exactly as
for the backtests; its target columns (``y_*``) are meaningless and never used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from electio.features.modelling_table import ElectionData, build_modelling_table, years_between

HORIZONS: tuple[int, ...] = (1, 2, 3)
HORIZON_TYPE = "europeennes"
PRESIDENTIAL = "presidentielle"
PRESIDENTIAL_TERM_YEARS = 5
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre")
TYPE_LABELS = {"europeennes": "européennes", "presidentielle": "présidentielle", "legislatives": "législatives"}


@dataclass(frozen=True)
class Target:
    """One forecast ballot: identifier, type, date and horizon (years after the latest ballot)."""

    scrutin_cible: str
    type_scrutin: str
    date: pd.Timestamp
    horizon_ans: int
    hypothetical: bool = True

    @property
    def libelle(self) -> str:
        """French label, e.g. « Européennes (hypothèse), avril 2024 »."""
        kind = TYPE_LABELS.get(self.type_scrutin, self.type_scrutin).capitalize()
        status = " (hypothèse)" if self.hypothetical else ", 1er tour"
        return f"{kind}{status}, {MONTHS[self.date.month - 1]} {self.date.year}"

    @property
    def court(self) -> str:
        """Short French label for axes: « 2024 (h = 2 ans) »."""
        return f"{self.date.year} ({self.horizon_ans} an{'s' if self.horizon_ans > 1 else ''})"


def forecast_targets(ballots: pd.DataFrame, horizons: Sequence[int] = HORIZONS) -> list[Target]:
    """The targets of a warehouse's ballots (scrutin_id, type_scrutin, date_scrutin): horizons, then the next présidentielle."""
    latest = pd.Timestamp(ballots["date_scrutin"].max())
    out = []
    for h in horizons:
        date = latest + pd.DateOffset(years=h)
        out.append(Target(f"euro{date.year}_hyp", HORIZON_TYPE, date, h))
    presidential = ballots.loc[ballots["type_scrutin"] == PRESIDENTIAL, "date_scrutin"]
    if len(presidential):
        date = pd.Timestamp(presidential.max()) + pd.DateOffset(years=PRESIDENTIAL_TERM_YEARS)
        while date <= latest:
            date += pd.DateOffset(years=PRESIDENTIAL_TERM_YEARS)
        out.append(Target(f"pres{date.year}_t1", PRESIDENTIAL, date, round(years_between(latest, date)), hypothetical=False))
    return out


def with_target(data: ElectionData, target: Target) -> ElectionData:
    """``data`` plus the target as a ballot without results.

    Blocs standing: those of the last ballot of the same type (else of the latest ballot). Communes:
    those of the latest ballot, with its inscrits and exprimés (never used as targets).
    """
    ballots = data.ballots
    same = ballots[ballots["type_scrutin"] == target.type_scrutin]
    model = (same if len(same) else ballots).iloc[-1]
    row = model.to_frame().T.assign(scrutin_id=target.scrutin_cible, type_scrutin=target.type_scrutin, date_scrutin=target.date)
    extended = pd.concat([ballots, row], ignore_index=True).astype(ballots.dtypes.to_dict())
    latest = ballots["scrutin_id"].iloc[-1]
    results = data.results[data.results["scrutin_id"] == latest].assign(scrutin_id=target.scrutin_cible)
    results[[f"voix_{b}" for b in data.blocs]] = np.nan
    return replace(data, ballots=extended.sort_values("date_scrutin").reset_index(drop=True),
                   results=pd.concat([data.results, results], ignore_index=True))


def target_table(data: ElectionData, target: Target) -> pd.DataFrame:
    """Modelling-table rows (one per commune) of a forecast target."""
    return build_modelling_table(with_target(data, target), targets=[target.scrutin_cible])
