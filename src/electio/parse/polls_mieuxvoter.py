"""MieuxVoter 2027 présidentielle polls: ``presidentielle2027.csv`` with ``polls.csv``,
``hypotheses.csv`` and ``candidats.csv`` beside it (the catalogue declares them as companions).

One scenario per ``poll_id`` (``polls.csv`` row); the consolidated CSV gives the options.
Error margins are ± deltas around the share: stored as absolute bounds. The per-scenario
files in ``polls/`` hold the same values and are not read.
"""

from __future__ import annotations

from pathlib import Path

from electio.errors import InputError
from electio.parse.polls_common import ParsedPolls, number, polls_frames, read_csv_rows, round_number

COMPANIONS = ("polls.csv", "hypotheses.csv", "candidats.csv")
RESULT_COLUMNS = ["poll_id", "candidat", "surname", "intentions", "erreur_sup", "erreur_inf", "tour"]
POLL_COLUMNS = ["poll_id", "hypothese", "nom_institut", "commanditaire", "debut_enquete", "fin_enquete",
                "echantillon", "population", "rolling", "tour"]


def companion(companions: dict[str, Path], name: str, main: Path) -> Path:
    """Path of a companion file, or an error naming the main file."""
    if name not in companions:
        raise InputError(main, f"fichier compagnon {name} non déclaré au catalogue (analyseur polls_mieuxvoter.companion_file)")
    return companions[name]


def hypotheses(path: Path) -> dict[str, str]:
    """Hypothesis id → its candidate list, sorted and ``; ``-joined (trailing commas dropped)."""
    rows = read_csv_rows(path, ["id_hypothese", "hypothese_complete"])
    return {row["id_hypothese"]: "; ".join(sorted(n.strip() for n in row["hypothese_complete"].split(",") if n.strip()))
            for _, row in rows}


def parse(path: Path, companions: dict[str, Path]) -> ParsedPolls:
    """Scenarios from ``polls.csv``, options from ``presidentielle2027.csv``."""
    meta = read_csv_rows(companion(companions, "polls.csv", path), POLL_COLUMNS)
    known_hypotheses = hypotheses(companion(companions, "hypotheses.csv", path))
    surnames = {row["complete_name"]: row["surname"] for _, row in
                read_csv_rows(companion(companions, "candidats.csv", path), ["complete_name", "surname"])}
    scenarios, key_of = [], {}
    for line, row in meta:
        if row["poll_id"] in key_of:
            raise InputError(companions["polls.csv"], f"poll_id en double : {row['poll_id']}", line=line)
        hypothesis = row["hypothese"].strip() or None
        if hypothesis and hypothesis not in known_hypotheses:
            raise InputError(companions["polls.csv"], f"hypothèse inconnue de hypotheses.csv : {hypothesis}", line=line)
        tour = round_number(row["tour"], companions["polls.csv"], line)
        key_of[row["poll_id"]] = len(scenarios)
        scenarios.append({
            "scenario": len(scenarios), "id_source": row["poll_id"], "ligne_source": line,
            "institut_source": row["nom_institut"], "commanditaire": row["commanditaire"] or None,
            "date_debut": row["debut_enquete"], "date_fin": row["fin_enquete"], "echantillon": row["echantillon"] or None,
            "population": row["population"] or None, "tour": tour, "hypothese_id": hypothesis,
            "scrutin_cible": f"pres2027_t{tour}", "vague_glissante": row["rolling"].strip().lower() == "true",
        })
    options = []
    for line, row in read_csv_rows(path, RESULT_COLUMNS):
        if row["poll_id"] not in key_of:
            raise InputError(path, f"poll_id absent de polls.csv : {row['poll_id']}", line=line)
        share = number(row["intentions"], path, line, "intentions")
        plus, minus = number(row["erreur_sup"], path, line, "erreur_sup"), number(row["erreur_inf"], path, line, "erreur_inf")
        options.append({
            "scenario": key_of[row["poll_id"]], "option": row["candidat"],
            "nom_famille": row["surname"] or surnames.get(row["candidat"]), "intention": share,
            "borne_inf": None if share is None or minus is None else share + minus,
            "borne_sup": None if share is None or plus is None else share + plus, "ligne_source": line,
        })
    check_hypotheses(scenarios, options, known_hypotheses, path)
    return polls_frames("mieuxvoter", path, scenarios, options, companions["polls.csv"])


def check_hypotheses(scenarios: list[dict], options: list[dict], known: dict[str, str], path: Path) -> None:
    """Each scenario's published candidates are its hypothesis' list (hypotheses.csv)."""
    published: dict[int, list[str]] = {}
    first_line: dict[int, int] = {}
    for option in options:
        published.setdefault(option["scenario"], []).append(option["option"])
        first_line.setdefault(option["scenario"], option["ligne_source"])
    for scenario in scenarios:
        hypothesis, number_ = scenario["hypothese_id"], scenario["scenario"]
        if hypothesis and "; ".join(sorted(published.get(number_, []))) != known[hypothesis]:
            raise InputError(path, f"sondage {scenario['id_source']} : candidats publiés différents de l'hypothèse "
                                   f"{hypothesis} de hypotheses.csv", line=first_line.get(number_))


def companion_file(path: Path, companions: dict[str, Path]) -> None:  # pragma: no cover - marker only
    """Catalogue marker: a companion file read by :func:`parse`, never parsed on its own."""
    raise InputError(path, "fichier compagnon : lu avec presidentielle2027.csv, pas seul")
