"""Small wide poll tables: one row per poll, one column per list, candidate or bloc.

- rozierguillaume ``Sondages_hyp_GJ.csv`` (européennes 2019): ``date``, ``organisme``, 17 lists.
- harvilehal ``poll.csv`` (législatives 2024, bloc level): ``Date`` + 8 bloc columns, no pollster.
- oost ``YYYY_first_round_polls.csv`` (présidentielle first round): ``date`` + main candidates +
  ``year``, no pollster; an empty cell = candidate not tested in that poll.
The single date is the fieldwork end.
"""

from __future__ import annotations

from pathlib import Path

from electio.parse.polls_common import ParsedPolls, number, polls_frames, read_csv_rows


def parse_wide(path: Path, compilateur: str, scrutin_cible: str, date_column: str, pollster_column: str | None,
               skip: tuple[str, ...] = (), niveau: str = "candidat") -> ParsedPolls:
    """One scenario per row; every other column (but ``skip``) is an option."""
    rows = read_csv_rows(path, [date_column] + ([pollster_column] if pollster_column else []))
    meta = {date_column, pollster_column, *skip}
    scenarios: list[dict] = []
    options: list[dict] = []
    for line, row in rows:
        institut = row[pollster_column] if pollster_column else None
        scenarios.append({
            "scenario": len(scenarios), "id_source": f"{row[date_column]}_{line}", "ligne_source": line,
            "institut_source": institut, "date_fin": row[date_column], "tour": 1, "scrutin_cible": scrutin_cible,
            "vague_glissante": bool(institut and institut.lower().startswith("rolling")), "niveau": niveau,
        })
        for column in (c for c in row if c not in meta):
            share = number(row[column], path, line, column)
            if share is not None:
                options.append({"scenario": len(scenarios) - 1, "option": column, "intention": share, "ligne_source": line})
    return polls_frames(compilateur, path, scenarios, options)


def parse_rozierguillaume(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """Européennes 2019 list-level polls."""
    return parse_wide(path, "rozierguillaume", "euro2019_t1", "date", "organisme")


def parse_harvilehal(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """Législatives 2024 bloc-level polls (its two result rows are dropped by the exclusions)."""
    return parse_wide(path, "harvilehal", "leg2024_t1", "Date", None, niveau="bloc")


def parse_oost_pres2017(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """Présidentielle 2017 first-round polls (Wikipedia via oost)."""
    return parse_wide(path, "oost", "pres2017_t1", "date", None, skip=("year",))


def parse_oost_pres2022(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """Présidentielle 2022 first-round polls (Wikipedia via oost)."""
    return parse_wide(path, "oost", "pres2022_t1", "date", None, skip=("year",))
