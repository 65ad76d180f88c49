"""Flavien Ganter's poll data (``PollsData.RData``, data.frame ``data``, long format: one row per
poll × scenario × candidate or list), for the 2022 présidentielle (shares as fractions) and the
2024 européennes (shares in percent, 8 main lists only).

Dates come as ``year`` + month/day of start and end; a start after the end is read as
December of the previous year when it falls in December, else left unknown (two rows).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from electio.errors import InputError
from electio.parse.polls_common import ParsedPolls, polls_frames

COLUMNS = ["id", "id_hyp", "year", "month_start", "day_start", "month_end", "day_end", "house", "unsure",
           "poll_type", "n_t1", "candidate", "share"]


def read_data(path: Path) -> pd.DataFrame:
    """The ``data`` frame of the RData file, required columns checked."""
    import pyreadr  # imported here: only these two sources need it

    try:
        frame = pyreadr.read_r(str(path))["data"]
    except (OSError, KeyError, pyreadr.custom_errors.PyreadrError) as exc:
        raise InputError(path, f"fichier RData illisible ou sans data.frame « data » ({exc})") from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(path, f"colonnes manquantes : {', '.join(missing)}")
    return frame


def fieldwork(row: pd.Series, path: Path, line: int) -> tuple[date | None, date]:
    """(start, end) of a poll's fieldwork."""
    try:
        end = date(int(row["year"]), int(row["month_end"]), int(row["day_end"]))
        start = date(int(row["year"]), int(row["month_start"]), int(row["day_start"]))
    except (ValueError, TypeError):
        raise InputError(path, "date de terrain illisible", line=line) from None
    if start > end:
        start = start.replace(year=start.year - 1) if start.month == 12 else None
    return start, end


def parse(path: Path, scrutin_cible: str, scale: float) -> ParsedPolls:
    """Scenarios (``id`` × ``id_hyp``) and options; ``scale`` turns shares into percent."""
    frame = read_data(path)
    scenarios: list[dict] = []
    options: list[dict] = []
    key_of: dict[tuple[int, int], int] = {}
    for position, row in enumerate(frame.to_dict("records"), start=1):
        key = (int(row["id"]), int(row["id_hyp"]))
        if key not in key_of:
            start, end = fieldwork(pd.Series(row), path, position)
            key_of[key] = len(scenarios)
            scenarios.append({
                "scenario": len(scenarios), "id_source": f"{key[0]}_{key[1]}", "ligne_source": position,
                "institut_source": row["house"], "date_debut": start, "date_fin": end, "echantillon": row["n_t1"],
                "population": f"indécis : {row['unsure']}", "tour": 1, "hypothese_id": str(key[1]),
                "scrutin_cible": scrutin_cible, "vague_glissante": row["poll_type"] == "rolling",
            })
        share = row["share"]
        options.append({"scenario": key_of[key], "option": row["candidate"],
                        "intention": None if pd.isna(share) else round(float(share) * scale, 4), "ligne_source": position})
    return polls_frames("flavienganter", path, scenarios, options)


def parse_pres2022(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """2022 présidentielle first-round polls (fractions → percent)."""
    return parse(path, "pres2022_t1", 100.0)


def parse_euro2024(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """2024 européennes polls (percent; 8 main lists, so scenarios sum to 84–94 %)."""
    return parse(path, "euro2024_t1", 1.0)
