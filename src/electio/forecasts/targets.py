"""Forecast targets: the real ballots of the electoral calendar in the three years after the as-of date.

The calendar (:mod:`.calendar`, ``referentials/calendrier.csv``) gives each ballot its real or
scheduled date and a status (officiel, prévu, hypothèse). A target is a first round of a type the
model forecasts (:data:`electio.features.modelling_table.BALLOT_TYPES`), dated after the as-of date
and at most three years later; its id is the ballot id (``pres2027_t1``, ``euro2029_t1``), so that a
target replayed in the past carries the id of the real ballot it forecasts. Its horizon is counted
from the as-of date, in whole years rounded up (a ballot four months ahead is in the 1-year view).

A target becomes a modelling-table row set by adding it to the ballots as a ballot without results:
every feature (comparable ballot, history, time since the last ballot, indicators published before
its date) is then built by :func:`electio.features.modelling_table.build_modelling_table` exactly as
for the backtests; its target columns (``y_*``) are meaningless and never used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from electio.features.modelling_table import BALLOT_TYPES, ElectionData, build_modelling_table, years_between
from electio.forecasts.calendar import STATUSES, Skipped, split_window

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre")
TYPE_LABELS = {"europeennes": "européennes", "presidentielle": "présidentielle", "legislatives": "législatives",
               "municipales": "municipales", "regionales": "régionales", "departementales": "départementales"}


@dataclass(frozen=True)
class Target:
    """One forecast ballot: identifier, type, real date, horizon (years after the as-of date) and date status."""

    scrutin_cible: str
    type_scrutin: str
    date: pd.Timestamp
    horizon_ans: int
    statut: str = "prevu"

    @property
    def hypothetical(self) -> bool:
        """Whether the ballot itself may not take place (e.g. after a dissolution)."""
        return self.statut == "hypothese"

    @property
    def date_fr(self) -> str:
        """« 11 avril 2027 »."""
        day = "1er" if self.date.day == 1 else str(self.date.day)
        return f"{day} {MONTHS[self.date.month - 1]} {self.date.year}"

    @property
    def libelle(self) -> str:
        """French label, e.g. « Présidentielle 2027, 1er tour (11 avril 2027, date prévue) »."""
        kind = TYPE_LABELS.get(self.type_scrutin, self.type_scrutin).capitalize()
        return f"{kind} {self.date.year}, 1er tour ({self.date_fr}, {STATUSES[self.statut]})"

    @property
    def court(self) -> str:
        """Short French label for axes: « prés. 2027 (1 an) »."""
        kind = {"presidentielle": "prés.", "legislatives": "légis.", "europeennes": "euro."}.get(self.type_scrutin, self.type_scrutin)
        return f"{kind} {self.date.year} ({self.horizon_ans} an{'s' if self.horizon_ans > 1 else ''})"


def horizon_years(as_of: pd.Timestamp, date: pd.Timestamp) -> int:
    """Whole years from the as-of date to the ballot, rounded up (at least 1)."""
    return max(1, math.ceil(years_between(as_of, date) - 1e-9))


def forecast_targets(calendar: pd.DataFrame, as_of: pd.Timestamp, modelled: frozenset[str] = frozenset(BALLOT_TYPES)) -> tuple[list[Target], list[Skipped]]:
    """The targets of the calendar after ``as_of`` (first rounds of modelled types, within three years), and the ballots left out."""
    as_of = pd.Timestamp(as_of)
    kept, skipped = split_window(calendar, as_of, modelled)
    targets = [Target(r.scrutin_id, r.type_scrutin, pd.Timestamp(r.date_scrutin), horizon_years(as_of, pd.Timestamp(r.date_scrutin)), r.statut)
               for r in kept.itertuples(index=False)]
    return targets, skipped


def target_frame(calendar: pd.DataFrame, targets: list[Target], skipped: list[Skipped], as_of: pd.Timestamp) -> pd.DataFrame:
    """``dim_scrutin_cible`` rows: the targets, then the window's ballots left out with their reason."""
    info = calendar.set_index("scrutin_id")
    reasons = {s.scrutin_id: s.raison for s in skipped}
    rows = []
    for sid in [t.scrutin_cible for t in targets] + list(reasons):
        row = info.loc[sid]
        target = Target(sid, row["type_scrutin"], pd.Timestamp(row["date_scrutin"]), horizon_years(pd.Timestamp(as_of), pd.Timestamp(row["date_scrutin"])), row["statut"])
        label = target.libelle if row["tour"] == 1 else target.libelle.replace("1er tour", "2d tour")
        rows.append({"scrutin_cible": sid, "type_scrutin": row["type_scrutin"], "tour": int(row["tour"]), "date_scrutin": target.date.date(),
                     "statut": row["statut"], "source_date": row["source"], "date_reference": pd.Timestamp(as_of).date(),
                     "horizon_ans": target.horizon_ans, "libelle": label, "libelle_court": target.court, "prevu": sid not in reasons, "raison_exclusion": reasons.get(sid)})
    return pd.DataFrame(rows)


def stored_targets(frame: pd.DataFrame) -> list[Target]:
    """The targets of stored ``dim_scrutin_cible`` rows (those forecast), by date."""
    kept = frame[frame["prevu"].astype(bool)].sort_values("date_scrutin")
    return [Target(r.scrutin_cible, r.type_scrutin, pd.Timestamp(r.date_scrutin), int(r.horizon_ans), r.statut) for r in kept.itertuples(index=False)]


def latest_rows(data: ElectionData) -> pd.DataFrame:
    """Each unit's row at the latest ballot where the cut data hold it (an arrondissement whose latest
    ballot is estimated from a later one is absent there), marked measured: a placeholder target row."""
    dates = data.results["scrutin_id"].map(data.ballots.set_index("scrutin_id")["date_scrutin"])
    latest = data.results.assign(_date=dates).sort_values("_date", kind="stable").groupby("code_commune").tail(1)
    latest = latest.drop(columns="_date").sort_values("code_commune").reset_index(drop=True)
    return latest.assign(estime=False) if "estime" in latest.columns else latest


def with_target(data: ElectionData, target: Target, standing: np.ndarray | None = None) -> ElectionData:
    """``data`` plus the target as a ballot without results.

    Blocs standing: ``standing`` when given (k flags, e.g. those the polls of the target test), else those
    of the last ballot of the same type (else of the latest ballot). Units: each with its inscrits and
    exprimés at its latest ballot (:func:`latest_rows`; never used as targets).
    """
    ballots = data.ballots
    same = ballots[ballots["type_scrutin"] == target.type_scrutin]
    model = (same if len(same) else ballots).iloc[-1]
    row = model.to_frame().T.assign(scrutin_id=target.scrutin_cible, type_scrutin=target.type_scrutin, date_scrutin=target.date)
    if standing is not None:
        row[list(data.blocs)] = np.asarray(standing, dtype=bool)[None, :]
    extended = pd.concat([ballots, row], ignore_index=True).astype(ballots.dtypes.to_dict())
    results = latest_rows(data).assign(scrutin_id=target.scrutin_cible)
    results[[f"voix_{b}" for b in data.blocs]] = np.nan
    return replace(data, ballots=extended.sort_values("date_scrutin").reset_index(drop=True),
                   results=pd.concat([data.results, results], ignore_index=True))


def target_table(data: ElectionData, target: Target, standing: np.ndarray | None = None) -> pd.DataFrame:
    """Modelling-table rows (one per commune) of a forecast target (``standing``: see :func:`with_target`)."""
    return build_modelling_table(with_target(data, target, standing), targets=[target.scrutin_cible])
