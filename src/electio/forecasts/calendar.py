"""The electoral calendar (``referentials/calendrier.csv``): real ballots, past and scheduled.

Each row is one ballot and round with its date, a status and the source of that date:

* ``officiel``: held, or convened by decree;
* ``prevu``: required by law in a known window, the exact day not yet fixed (the day chosen is stated);
* ``hypothese``: a ballot that may not happen at all (e.g. législatives after a dissolution).

``annonce_le`` (optional) is the day a ballot that was not scheduled became known (the dissolution
of 9 June 2024 for the législatives of 30 June): before that day it is not in any forecast window,
so a replay as of an earlier date neither forecasts nor lists it.

The forecast targets are the calendar's ballots after the as-of date and within the forecast window
whose type the model forecasts; the others are listed with the reason they are not forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from electio.config import REFERENTIALS_DIR
from electio.errors import InputError
from electio.referentials import read_referential

CALENDAR_CSV = REFERENTIALS_DIR / "calendrier.csv"
COLUMNS = ["scrutin_id", "type_scrutin", "tour", "date_scrutin", "statut", "source", "annonce_le"]
BALLOT_TYPES = ("presidentielle", "legislatives", "europeennes", "municipales", "regionales", "departementales")
STATUSES = {"officiel": "date officielle", "prevu": "date prévue", "hypothese": "hypothèse"}
WINDOW_YEARS = 3


@dataclass(frozen=True)
class Skipped:
    """A calendar ballot of the forecast window that is not forecast, and why (French)."""

    scrutin_id: str
    date: pd.Timestamp
    raison: str


def _fail(path: Path, line: int, message: str) -> None:
    raise InputError(path, message, line=line)


def load_calendar(path: Path = CALENDAR_CSV) -> pd.DataFrame:
    """The calendar, checked row by row: known type and status, round 1 or 2, a real date, unique ids."""
    frame = read_referential(path, COLUMNS)
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        if row.type_scrutin not in BALLOT_TYPES:
            _fail(path, i, f"type de scrutin inconnu {row.type_scrutin!r} (attendu : {', '.join(BALLOT_TYPES)})")
        if row.statut not in STATUSES:
            _fail(path, i, f"statut inconnu {row.statut!r} (attendu : {', '.join(STATUSES)})")
        if row.tour not in ("1", "2"):
            _fail(path, i, f"tour invalide {row.tour!r} (attendu : 1 ou 2)")
        for column in ("date_scrutin", "annonce_le"):
            value = getattr(row, column)
            if (value or column == "date_scrutin") and pd.isna(pd.to_datetime(value, format="%Y-%m-%d", errors="coerce")):
                _fail(path, i, f"date invalide dans {column} : {value!r} (format attendu AAAA-MM-JJ)")
    dupes = frame["scrutin_id"].duplicated()
    if dupes.any():
        _fail(path, int(dupes.idxmax()) + 2, f"scrutin en double : {frame.loc[dupes.idxmax(), 'scrutin_id']}")
    frame["tour"] = frame["tour"].astype(int)
    frame["date_scrutin"] = pd.to_datetime(frame["date_scrutin"], format="%Y-%m-%d")
    frame["annonce_le"] = pd.to_datetime(frame["annonce_le"].replace("", None), format="%Y-%m-%d")
    return frame.sort_values(["date_scrutin", "scrutin_id"]).reset_index(drop=True)


def in_window(calendar: pd.DataFrame, as_of: pd.Timestamp, years: int = WINDOW_YEARS) -> pd.DataFrame:
    """Ballots strictly after ``as_of``, at most ``years`` years later, and already announced on ``as_of``."""
    end = as_of + pd.DateOffset(years=years)
    announced = calendar["annonce_le"].isna() | (calendar["annonce_le"] < as_of)
    return calendar[(calendar["date_scrutin"] > as_of) & (calendar["date_scrutin"] <= end) & announced]


def skip_reason(row: pd.Series, modelled: frozenset[str]) -> str | None:
    """Why a ballot of the window is not forecast, or None when it is."""
    if row["tour"] != 1:
        return "second tour : dépend des qualifiés du premier tour et des reports de voix, non prévu ici"
    if row["type_scrutin"] not in modelled:
        return "type de scrutin que le modèle ne prévoit pas (scrutin local ou sans historique comparable dans l'entrepôt)"
    return None


def split_window(calendar: pd.DataFrame, as_of: pd.Timestamp, modelled: frozenset[str],
                 years: int = WINDOW_YEARS) -> tuple[pd.DataFrame, list[Skipped]]:
    """(ballots to forecast, ballots of the window left out with their reason)."""
    window = in_window(calendar, as_of, years).reset_index(drop=True)
    reasons = [skip_reason(row, modelled) for _, row in window.iterrows()]
    kept = window[[reason is None for reason in reasons]].reset_index(drop=True)
    skipped = [Skipped(row.scrutin_id, row.date_scrutin, reason) for row, reason in zip(window.itertuples(index=False), reasons, strict=True)
               if reason is not None]
    return kept, skipped
