"""NSPPolls 2022 présidentielle polls (``presidentielle.csv``): one row per candidate × poll ×
round × hypothesis × population.

A scenario is (``id``, ``tour``, ``hypothese``, ``population``); ``erreur_inf``/``erreur_sup``
are already absolute bounds. Ids ending in ``r`` and ``rolling`` = True are rolling waves (thinned
later by the exclusion rule ``vagues_glissantes``).
"""

from __future__ import annotations

from pathlib import Path

from electio.parse.polls_common import ParsedPolls, number, polls_frames, read_csv_rows, round_number

COLUMNS = ["candidat", "intentions", "erreur_sup", "erreur_inf", "id", "nom_institut", "commanditaire",
           "debut_enquete", "fin_enquete", "echantillon", "population", "rolling", "tour", "hypothese"]


def parse(path: Path, companions: dict[str, Path] | None = None) -> ParsedPolls:
    """Scenarios and options of the NSPPolls présidentielle CSV."""
    scenarios: list[dict] = []
    options: list[dict] = []
    key_of: dict[tuple[str, ...], int] = {}
    for line, row in read_csv_rows(path, COLUMNS):
        tour = round_number(row["tour"], path, line)
        key = (row["id"], str(tour), row["hypothese"], row["population"])
        if key not in key_of:
            key_of[key] = len(scenarios)
            scenarios.append({
                "scenario": len(scenarios), "id_source": row["id"], "ligne_source": line,
                "institut_source": row["nom_institut"], "commanditaire": row["commanditaire"] or None,
                "date_debut": row["debut_enquete"], "date_fin": row["fin_enquete"],
                "echantillon": number(row["echantillon"], path, line, "echantillon"),
                "population": row["population"] or None, "tour": tour, "hypothese_id": row["hypothese"] or None,
                "scrutin_cible": f"pres2022_t{tour}", "vague_glissante": row["rolling"].strip().lower() == "true",
            })
        options.append({
            "scenario": key_of[key], "option": row["candidat"], "intention": number(row["intentions"], path, line, "intentions"),
            "borne_inf": number(row["erreur_inf"], path, line, "erreur_inf"),
            "borne_sup": number(row["erreur_sup"], path, line, "erreur_sup"), "ligne_source": line,
        })
    return polls_frames("nsppolls", path, scenarios, options)
