"""pollsposition layouts: présidentielle poll JSON (2017, 2022) and the bloc-level first-round
table ``tour1_complet_unitedfl.csv`` (polls and official results, 1965–2019).

JSON: ``{"sondages": {id: {institut, commanditaires, date_debut, date_fin, methode, interroges,
premier_tour: [scenario], second_tour: [scenario]}}}``; a scenario has ``base`` (I = inscrits,
SV = sûrs de voter), ``hypothese`` (round 2) and ``intentions`` {candidate: share}. JSON has no
line numbers: errors name the poll id. In the 2017 file the dates carry year 2021: the id's
``YYYYMMDD`` prefix has the right year, which replaces it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from electio.errors import InputError
from electio.parse.polls_common import ParsedPolls, number, polls_frames, read_csv_rows

BASES = {"I": "Inscrits sur les listes électorales", "SV": "Sûrs d'aller voter", "SVC": "Sûrs d'aller voter (choix certain)"}
ROUNDS = {"premier_tour": 1, "second_tour": 2}
BLOC_PREFIX = "nb"
BALLOT_PREFIX = {"president": "pres", "europeennes": "euro", "legislatives": "leg", "regionales": "reg"}
RESULT_LABEL = "result"


def poll_date(text: str | None, poll_id: str, path: Path) -> date | None:
    """A fieldwork date, its year taken from the id when they disagree (2017 file bug)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
        id_year = int(poll_id[:4])
    except ValueError:
        raise InputError(path, f"sondage {poll_id} : date illisible {text!r}") from None
    return day.replace(year=id_year) if day.year != id_year and poll_id[:4].isdigit() else day


def parse_json(path: Path, year: int) -> ParsedPolls:
    """Scenarios of one présidentielle JSON file (``year`` gives the target ballot)."""
    try:
        polls = json.loads(path.read_text(encoding="utf-8"))["sondages"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise InputError(path, f"JSON pollsposition illisible ({exc})") from exc
    scenarios: list[dict] = []
    options: list[dict] = []
    for poll_id, poll in polls.items():
        start, end = poll_date(poll.get("date_debut"), poll_id, path), poll_date(poll.get("date_fin"), poll_id, path)
        for key, tour in ROUNDS.items():
            for scenario in poll.get(key) or []:
                if "intentions" not in scenario or scenario.get("base") not in BASES:
                    raise InputError(path, f"sondage {poll_id} ({key}) : intentions ou base absentes/inconnues")
                number_ = len(scenarios)
                scenarios.append({
                    "scenario": number_, "id_source": poll_id, "institut_source": poll.get("institut"),
                    "commanditaire": ", ".join(poll.get("commanditaires") or []) or None, "date_debut": start,
                    "date_fin": end, "echantillon": poll.get("interroges"), "population": BASES[scenario["base"]],
                    "methode": poll.get("methode"), "tour": tour, "hypothese_id": scenario.get("hypothese"),
                    "scrutin_cible": f"pres{year}_t{tour}",
                })
                for candidate, share in scenario["intentions"].items():
                    options.append({"scenario": number_, "option": candidate,
                                    "intention": number(share, path, None, f"{poll_id}/{candidate}")})
    return polls_frames("pollsposition", path, scenarios, options)


def parse_pres2017(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """``presidentielles_2017.json`` (final month; dates fixed from the ids)."""
    return parse_json(path, 2017)


def parse_pres2022(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """``presidentielles_2022.json``."""
    return parse_json(path, 2022)


def parse_blocs(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """``tour1_complet_unitedfl.csv``: one row per bloc-level poll, ``result`` rows flagged as results."""
    rows = read_csv_rows(path, ["type", "dateelection", "date", "sondage", "samplesize"])
    blocs = [c for c in (rows[0][1] if rows else {}) if c.startswith(BLOC_PREFIX)]
    scenarios: list[dict] = []
    options: list[dict] = []
    for line, row in rows:
        if row["type"] not in BALLOT_PREFIX:
            raise InputError(path, f"type d'élection inconnu : {row['type']!r}", line=line)
        number_ = len(scenarios)
        scenarios.append({
            "scenario": number_, "id_source": f"{row['date']}_{row['sondage']}_{line}", "ligne_source": line,
            "institut_source": None if row["sondage"] == RESULT_LABEL else row["sondage"], "date_fin": row["date"],
            "echantillon": number(row["samplesize"], path, line, "samplesize"), "tour": 1,
            "scrutin_cible": f"{BALLOT_PREFIX[row['type']]}{row['dateelection'][:4]}_t1", "niveau": "bloc",
            "est_resultat": row["sondage"] == RESULT_LABEL,
        })
        for bloc in blocs:
            share = number(row[bloc], path, line, bloc)
            if share is not None:
                options.append({"scenario": number_, "option": bloc, "intention": share, "ligne_source": line})
    return polls_frames("pollsposition", path, scenarios, options)
