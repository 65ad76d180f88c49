"""Report context of the présidentielle 2027 second rounds (issue 16): duels of the retained hypothesis, backtests,
communes that swing between duels, and the two maps the forecast stage drew (``output/previsions``).

Everything is read from the warehouse tables of the duels stage (``dim_hypothese``, ``dim_duel``,
``fact_prevision_duel``, ``model_evaluation_duel``); the report (:mod:`.report`) and the slides
(:mod:`.slides_duels`) show the same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from electio.analysis.explore import has_relation
from electio.outputs.report_format import query, records

TABLES = ("dim_hypothese", "dim_duel", "fact_prevision_duel", "model_evaluation_duel")
MAPS = (("carte_duels_vainqueur.png", "Vainqueur prévu par commune, pour chaque duel"),
        ("carte_duels_proba_victoire.png", "Probabilité de victoire du premier candidat, par commune et par duel"))
MAIN_MAPS = ("carte_duels_vainqueur_principaux.png", "carte_duels_proba_victoire_principaux.png")  # the slides' maps (most polled duels)
METHODS = {"transferts": "Reports de voix (modèle)", "swing_uniforme": "Swing uniforme depuis le second tour précédent (référence)"}
SWING_ROWS = 15
SWING_DUELS = 4  # the most polled duels compared in the table of swinging communes (a readable width)


def candidate_labels() -> dict[str, str]:
    """Candidate key → display name (« Édouard Philippe »), from the bloc referential."""
    from electio.forecasts.hypotheses import candidate_names

    return candidate_names("pres2027_t2")


def retained_forecasts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``fact_prevision_duel`` rows of the retained hypothesis."""
    return query(con, """SELECT f.* FROM fact_prevision_duel f JOIN dim_hypothese h USING (hypothese_id) WHERE h.retenue""")


def duel_rows(forecasts: pd.DataFrame, duels: pd.DataFrame, territory: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Per duel (most polled first): the first candidate's territory share, 80 % interval, P(win), communes won (P(win) above
    50 %, as on the maps), national polls."""
    out = []
    for _, duel in duels.iterrows():
        rows = forecasts[(forecasts["duel_id"] == duel["duel_id"]) & (forecasts["candidat"] == duel["candidat_a"])].set_index("code_commune")
        if territory not in rows.index:
            continue
        total, communes = rows.loc[territory], rows.drop(territory)
        out.append({"duel_id": duel["duel_id"], "libelle": duel["libelle"], "premier": names.get(duel["candidat_a"], duel["candidat_a"]),
                    "second": names.get(duel["candidat_b"], duel["candidat_b"]), "part": float(total["moyenne"]), "q10": float(total["q10"]),
                    "q90": float(total["q90"]), "p_victoire": float(total["p_victoire"]), "communes_gagnees": int((communes["p_victoire"] > 0.5).sum()),
                    "communes": len(communes), "sondages": float(duel["part_a_sondages"]), "nb_sondages": int(duel["sondages"])})
    return out


def backtest_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """``model_evaluation_duel`` rows in French (unconditional first), NULL scores kept as None."""
    rows = query(con, "SELECT * FROM model_evaluation_duel ORDER BY scrutin_test DESC, conditionnel, methode DESC")
    rows["methode_libelle"] = rows["methode"].map(METHODS).fillna(rows["methode"])
    rows["cas"] = rows["conditionnel"].map({True: "vrai premier tour donné", False: "un mois avant le premier tour"})
    rows["annee"] = rows["scrutin_test"].str.extract(r"(\d{4})")[0]
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in records(rows)]


def duel_section(con: duckdb.DuckDBPyConnection, folder: Path, figures_dir: Path, territory: str) -> dict[str, Any]:
    """The report's duel section (``disponible`` false when the stage has not run), maps copied into ``figures_dir``."""
    missing = [t for t in TABLES if not has_relation(con, t)]
    if missing:
        return {"disponible": False, "tables_absentes": missing}
    from electio.forecasts.duel_charts import swing_table
    from electio.outputs.report import ReportFigure, reduced_copy

    names = candidate_labels()
    hypothesis = query(con, "SELECT * FROM dim_hypothese WHERE retenue").iloc[0]
    duels = query(con, "SELECT * FROM dim_duel ORDER BY sondages_fenetre DESC, sondages DESC, duel_id")
    forecasts = retained_forecasts(con)
    communes = query(con, "SELECT code_commune, nom_commune, population FROM dim_commune WHERE type_unite = 'commune'")
    swings = swing_table(forecasts, duels.head(SWING_DUELS), territory, dict(zip(communes["code_commune"], communes["nom_commune"], strict=True)), names,
                         dict(zip(communes["code_commune"], communes["population"], strict=True)))
    maps = [ReportFigure(Path(name).stem, reduced_copy(folder / name, figures_dir), title, f"output/previsions/{name}")
            for name, title in (*MAPS, *((m, "duels les plus sondés") for m in MAIN_MAPS)) if (folder / name).is_file()]
    main = {Path(m).stem for m in MAIN_MAPS}
    conditional = query(con, "SELECT scrutin_test, bool_or(NOT conditionnel) AS rejoue FROM model_evaluation_duel GROUP BY 1 ORDER BY 1")
    return {"disponible": True, "hypothese": hypothesis["libelle"], "par_defaut": bool(hypothesis["par_defaut"]),
            "hypothese_sondages": int(hypothesis["sondages"]), "date_reference": duels["date_reference"].iloc[0] if len(duels) else None,
            "hypotheses_calculees": int(query(con, "SELECT count(*) AS n FROM dim_hypothese WHERE duels_calcules")["n"].iloc[0]),
            "duels": duel_rows(forecasts, duels, territory, names), "backtests": backtest_rows(con),
            "bascules": {"colonnes": list(swings.columns[2:]), "lignes": records(swings.head(SWING_ROWS)), "total": len(swings),
                        "communes": int(forecasts.loc[forecasts["code_commune"] != territory, "code_commune"].nunique())},
            "figures": [m for m in maps if m.key not in main], "cartes_principales": [m for m in maps if m.key in main],
            "sans_rejeu": [s[4:8] for s, replayed in zip(conditional["scrutin_test"], conditional["rejoue"], strict=True) if not replayed]}
