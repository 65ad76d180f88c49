"""Synthesis report (« dossier de synthèse »): warehouse queries → context dict → HTML and PDF.

Every figure printed in the report is read from the warehouse here (never typed in the
template): the template only formats the context's numbers (French conventions, filters
``entier``, ``dec``, ``pct``, ``pts``). The same context feeds the slides (``slides.py``) and the
notebooks read the same tables (``notebooks/*.ipynb``, executed by :func:`execute_notebooks`).

Sections: territory, criteria and indicators, method and data flow, MCD, exploratory figures,
the brief's three questions, models tested, retained model, accuracy, forecasts (when the
forecast stage has written its tables), limits, security/GDPR, recommendations.
"""

from __future__ import annotations

import base64
import html
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from electio import config
from electio.atomic import staged_folder
from electio.analysis.explore import has_relation, theme_label
from electio.analysis.figures import fr_number
from electio.forecasts import summary
from electio.outputs import figures_report
from electio.warehouse.store import connect

REPORT_DIR = "rapport"
HTML_NAME, PDF_NAME, PPTX_NAME = "dossier_synthese.html", "dossier_synthese.pdf", "soutenance.pptx"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
NOTEBOOKS_DIR = config.PROJECT_DIR / "notebooks"
SECURITY_MD = config.PROJECT_DIR / "SECURITY.md"
FIGURE_MAX_WIDTH = 1600  # pixels of the copies embedded in the HTML, PDF and slides
SMALL_COMMUNE = 1_000  # inhabitants: "petite commune" in the size summary
FORECAST_TABLES = ("fact_prevision", "dim_scenario", "forecast_calibration")
BRIEF_THEMES = {  # the brief's criteria → warehouse themes
    "securite": "demandé (sécurité)", "emploi": "demandé (emploi)", "vie_associative": "demandé (vie associative)",
    "population": "demandé (population, densité)", "entreprises": "demandé (nombre d'entreprises)",
    "pauvrete_revenus": "demandé (pauvreté)", "logement": "ajouté", "education": "ajouté", "structure_sociale": "ajouté",
}
THEME_REASONS = {
    "securite": "Délinquance enregistrée (SSMSI) : thème cité par le client, souvent mobilisé dans les campagnes.",
    "emploi": "Chômage, emploi salarié, demandeurs d'emploi : conditions économiques locales.",
    "vie_associative": "Densité associative (RNA) : lien social ; un seul relevé (2026, publié après tous les scrutins passés) : "
                       "utilisable pour la prévision 2027, pas pour apprendre sur les scrutins passés ni pour mesurer un lien avec eux.",
    "population": "Taille, densité, âge, immigration : le gradient urbain/rural structure le vote.",
    "entreprises": "Établissements pour 1 000 habitants : tissu économique local.",
    "pauvrete_revenus": "Niveau de vie, pauvreté, prestations (Filosofi, CNAF) : clivage social du vote.",
    "logement": "Propriétaires, HLM, vacance : ajouté, marqueur social et résidentiel classique.",
    "education": "Diplômes : ajouté, l'un des meilleurs prédicteurs connus du vote écologiste et centriste.",
    "structure_sociale": "Cadres, ouvriers : ajouté, composition socioprofessionnelle.",
}
MODEL_DESCRIPTIONS = {
    "persistance": "Référence : chaque commune refait son dernier résultat du même type de scrutin.",
    "swing_uniforme": "Référence : l'évolution départementale (en points) appliquée à chaque commune.",
    "swing_proportionnel": "Référence : l'évolution départementale appliquée en proportion à chaque commune.",
    "plancher_bruit": "Référence : l'erreur du seul hasard du vote (tirage binomial aux exprimés de chaque commune), qu'aucun modèle ne peut battre en moyenne.",
    "frequence_tete": "Référence sans fuite de la probabilité d'arriver en tête : la part des communes où chaque bloc était en tête au scrutin comparable précédent.",
    "ridge_logratio": "Régression ridge sur les écarts log-ratio de la commune à son département.",
    "mixte_communes": "Ridge + effets aléatoires par commune, rétrécis vers zéro.",
    "foret_aleatoire": "Forêt aléatoire (scikit-learn) sur les mêmes variables.",
    "lightgbm": "Gradient boosting d'arbres (LightGBM) sur les mêmes variables.",
}
GLOSSARY = (  # (term, plain French definition): every technical word the report and the slides use
    ("Bloc politique", "Regroupement de candidats ou de listes de sensibilité proche (par exemple « Centre »). Le rattachement de chaque candidat est en annexe."),
    ("Part des exprimés", "Voix d'un bloc divisées par les suffrages exprimés (hors blancs et nuls)."),
    ("Corrélation (ρ, « rho » de Spearman)", "Mesure de −1 à 1 indiquant si deux grandeurs varient dans le même sens d'une commune à l'autre (1), en sens inverse (−1) ou sans lien (0). Elle ne prouve aucune causalité."),
    ("Corrélation partielle", "La même mesure, une fois retiré l'effet de la taille et de la densité des communes."),
    ("Intervalle de confiance (IC 95 %)", "Fourchette dans laquelle la vraie valeur se trouve avec 95 % de confiance, obtenue en rééchantillonnant les communes de nombreuses fois (méthode dite « bootstrap »)."),
    ("Erreur absolue moyenne (MAE)", "Écart moyen, en points de pourcentage, entre la part prévue d'un bloc et la part obtenue, commune par commune."),
    ("Backtest", "Test d'un modèle sur un scrutin passé qu'il n'a jamais vu : on ne lui donne que les données antérieures à ce scrutin."),
    ("Découpage chronologique (« forward chaining »)", "Chaque scrutin testé n'est prévu qu'avec des scrutins plus anciens, comme dans la réalité."),
    ("Conditionnel / non conditionnel", "Conditionnel : on donne au modèle le vrai résultat du département et il répartit les voix entre communes. Non conditionnel : il doit aussi prévoir le résultat du département (cas réel d'une prévision)."),
    ("Swing uniforme", "Méthode de référence : l'évolution du département, en points, est appliquée telle quelle à chaque commune."),
    ("Persistance", "Méthode de référence : chaque commune refait son dernier résultat."),
    ("Valeur centrale", "Moyenne des simulations : c'est le chiffre affiché partout (dossier, présentation, tableau de bord) ; les moyennes des blocs somment à 100 %."),
    ("Intervalle à 80 %", "Fourchette qui contient le résultat dans 8 cas sur 10 selon les simulations."),
    ("Probabilité d'arriver en tête", "Part des simulations où le bloc obtient la plus forte part des exprimés."),
    ("Score de Brier", "Qualité des probabilités annoncées : moyenne des carrés des écarts entre probabilité et résultat (0 = parfait ; comparé à une référence naïve)."),
    ("Scénario", "Jeu d'hypothèses sur l'évolution du département (par exemple +3 points pour un bloc) appliqué aux prévisions."),
    ("Miroir local", "Copie locale, vérifiée par empreinte numérique, des fichiers publics téléchargés : les calculs ne dépendent pas d'internet."),
    ("Empreinte sha256", "Code calculé à partir d'un fichier, qui change si le fichier change : il prouve que la donnée utilisée est la donnée publiée."),
    ("COG 2026", "Code officiel géographique de l'INSEE au 1er janvier 2026 : toutes les communes fusionnées depuis 2008 sont ramenées à leur commune actuelle."),
)
Progress = Callable[[str], None]


# ─── Formatting (French conventions; also used by the slides) ────────────────────────────

def entier(value: object) -> str:
    """An integer with a narrow no-break space between thousands."""
    return fr_number(float(value), 0) if value is not None else "n.d."  # type: ignore[arg-type]


def dec(value: object, digits: int = 2) -> str:
    """A decimal number with a decimal comma."""
    return fr_number(None if value is None else float(value), digits)  # type: ignore[arg-type]


def pct(value: object, digits: int = 1) -> str:
    """A fraction (0–1) as a percentage."""
    text = dec(None if value is None else 100 * float(value), digits)  # type: ignore[arg-type]
    return text if text == "n.d." else f"{text}\u202f%"


def pts(value: object, digits: int = 2) -> str:
    """Percentage points."""
    text = dec(value, digits)
    return text if text == "n.d." else f"{text}\u202fpt"


def rank(key: str, order: Sequence[str]) -> int:
    """Position of ``key`` in ``order`` (unknown keys last)."""
    return list(order).index(key) if key in order else len(order)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as dicts, NaN as None (for the template)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# ─── Reading ─────────────────────────────────────────────────────────────────────────────

def query(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> pd.DataFrame:
    """A query's result as a frame."""
    return con.execute(sql, list(params)).df()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> Any:
    """The first value of a query."""
    row = con.execute(sql, list(params)).fetchone()
    return None if row is None else row[0]


def card_values(con: duckdb.DuckDBPyConnection, section: str) -> dict[str, str]:
    """``model_card`` rows of a section (key → value), in order."""
    if not has_relation(con, "model_card"):
        return {}
    rows = query(con, "SELECT cle, valeur FROM model_card WHERE section = ? ORDER BY ordre", section)
    return dict(zip(rows["cle"], rows["valeur"], strict=True))


def bloc_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Bloc code → French label (plus abstention, participation, mean)."""
    labels = dict(con.execute("SELECT code_bloc, libelle FROM dim_bloc ORDER BY ordre").fetchall())
    return {**labels, "abstention": "Abstention", "participation": "Participation", "moyenne": "Moyenne des blocs"}


def ballot_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per ballot and bloc: the territory's votes, exprimés and share."""
    return query(con, """
        SELECT scrutin_id, bloc, SUM(voix) AS voix, SUM(exprimes) AS exprimes, SUM(voix) / SUM(exprimes) AS part
        FROM v_resultat_bloc_commune GROUP BY ALL""")


def turnout(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per ballot: the territory's turnout (votants / inscrits)."""
    return query(con, "SELECT scrutin_id, SUM(votants) / SUM(inscrits) AS participation FROM fact_participation GROUP BY 1")


# ─── Sections ────────────────────────────────────────────────────────────────────────────

def meta_section(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Territory code and name, ETL run, date of the report."""
    run = query(con, "SELECT run_id, started_at, finished_at, code_version, territoire FROM etl_run ORDER BY finished_at DESC LIMIT 1").iloc[0]
    code = str(run["territoire"])
    name = scalar(con, "SELECT nom_departement FROM dim_departement WHERE code_departement = ?", code) or "France"
    return {"territoire": code, "nom": name, "run_id": run["run_id"], "code_version": run["code_version"],
            "etl_date": pd.Timestamp(run["finished_at"]).strftime("%d/%m/%Y"), "genere_le": datetime.now().strftime("%d/%m/%Y à %H:%M")}


def coverage_matrix(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per ballot: communes present / expected, registered voters, turnout."""
    return query(con, """
        WITH p AS (SELECT scrutin_id, SUM(inscrits) AS inscrits, SUM(votants) AS votants FROM fact_participation GROUP BY 1)
        SELECT s.scrutin_id, s.libelle, s.date_scrutin, s.source_id, SUM(c.communes_presentes) AS presentes,
               SUM(c.communes_attendues) AS attendues, SUM(c.communes_presentes) / SUM(c.communes_attendues) AS taux,
               ANY_VALUE(p.inscrits) AS inscrits, ANY_VALUE(p.votants) / ANY_VALUE(p.inscrits) AS participation
        FROM couverture_scrutin c JOIN dim_scrutin s USING (scrutin_id) LEFT JOIN p USING (scrutin_id)
        GROUP BY ALL ORDER BY s.date_scrutin""")


def size_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Communes, population, largest communes, density range."""
    size = query(con, """
        SELECT count(*) AS communes, SUM(population) AS population, MEDIAN(population) AS mediane,
               MIN(population) AS minimum, SUM(CASE WHEN population < ? THEN 1 ELSE 0 END) AS petites
        FROM dim_commune WHERE type_unite = 'commune'""", SMALL_COMMUNE).iloc[0].to_dict()
    largest = query(con, """SELECT nom_commune, population FROM dim_commune WHERE type_unite = 'commune'
                            ORDER BY population DESC NULLS LAST LIMIT 3""")
    largest["part"] = largest["population"] / size["population"]
    density = query(con, """
        SELECT annee, MIN(valeur) AS minimum, MEDIAN(valeur) AS mediane, MAX(valeur) AS maximum, count(valeur) AS communes
        FROM fact_indicateur_commune WHERE indicateur = 'densite' AND valeur IS NOT NULL
        GROUP BY annee ORDER BY communes DESC, annee DESC LIMIT 1""") if has_relation(con, "fact_indicateur_commune") else pd.DataFrame()
    return {**size, "seuil_petite": SMALL_COMMUNE, "plus_grandes": records(largest),
            "densite": records(density)[0] if not density.empty else None}


def national_comparison(con: duckdb.DuckDBPyConnection, france: Path | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """The territory's first-round results against France's (France warehouse, ballots it covers nationwide)."""
    if france is None or not france.is_file():
        return None
    with connect(france) as fr:
        national = query(fr, "SELECT scrutin_id, libelle, date_scrutin FROM dim_scrutin WHERE couverture = 'FR' AND tour = 1 AND type_scrutin <> 'municipales'")
        national_totals = ballot_totals(fr)
        fr_turnout = turnout(fr)
    local = ballot_totals(con)
    ballots = national[national["scrutin_id"].isin(local["scrutin_id"])].sort_values("date_scrutin")
    if ballots.empty:
        return None
    both = local.merge(national_totals, on=["scrutin_id", "bloc"], suffixes=("_local", "_fr"))
    both = both[both["scrutin_id"].isin(ballots["scrutin_id"])]
    both["ecart"] = 100 * (both["part_local"] - both["part_fr"])
    rows = []
    for bloc, group in sorted(both.groupby("bloc"), key=lambda item: rank(item[0], list(labels))):
        values = group.set_index("scrutin_id")
        rows.append({"bloc": labels.get(bloc, bloc), "valeurs": [
            {"local": values["part_local"].get(s), "fr": values["part_fr"].get(s)} for s in ballots["scrutin_id"]]})
    both_turnout = turnout(con).merge(fr_turnout, on="scrutin_id", suffixes=("_local", "_fr")).set_index("scrutin_id")
    rows.append({"bloc": "Participation", "valeurs": [
        {"local": both_turnout["participation_local"].get(s), "fr": both_turnout["participation_fr"].get(s)} for s in ballots["scrutin_id"]]})
    gaps = both.groupby("scrutin_id")["ecart"].apply(lambda s: s.abs().mean())
    return {"scrutins": records(ballots.assign(ecart_moyen=ballots["scrutin_id"].map(gaps))), "lignes": rows,
            "ecart_moyen": float(gaps.mean()), "ecart_max": float(both["ecart"].abs().max()),
            "bloc_ecart_max": labels.get(both.loc[both["ecart"].abs().idxmax(), "bloc"], "")}


def model_france_rows(con: duckdb.DuckDBPyConnection, territory: str) -> pd.DataFrame:
    """Retained model's conditional mean MAE where it was also tested on all of France."""
    if not has_relation(con, "model_evaluation"):
        return pd.DataFrame()
    return query(con, """
        SELECT scrutin_test, territoire, horizon_ans, valeur AS mae FROM model_evaluation
        WHERE modele = 'retenu' AND conditionnel AND bloc = 'moyenne' AND metrique = 'mae'
          AND scrutin_test IN (SELECT scrutin_test FROM model_evaluation WHERE territoire = 'FR')
          AND territoire IN ('FR', ?) AND horizon_ans = (SELECT MIN(horizon_ans) FROM model_evaluation WHERE territoire = 'FR')
        ORDER BY territoire""", territory)


def territory_section(con: duckdb.DuckDBPyConnection, meta: dict, france: Path | None, labels: dict[str, str]) -> dict[str, Any]:
    """Justification of the territory: coverage, size, representativeness."""
    matrix = coverage_matrix(con)
    return {"couverture": records(matrix), "scrutins": len(matrix), "couverture_min": float(matrix["taux"].min()),
            "couverture_complete": int((matrix["taux"] >= 1).sum()), "premier": matrix["libelle"].iloc[0],
            "dernier": matrix["libelle"].iloc[-1], "annee_min": int(pd.Timestamp(matrix["date_scrutin"].min()).year),
            "annee_max": int(pd.Timestamp(matrix["date_scrutin"].max()).year), "taille": size_summary(con),
            "france": national_comparison(con, france, labels),
            "modele_france": records(model_france_rows(con, meta["territoire"]))}


def year_ranges(years: Sequence[int]) -> str:
    """Years as compact runs: ``2014–2016, 2018, 2021``."""
    runs: list[list[int]] = []
    for year in sorted({int(y) for y in years}):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def indicator_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per indicator and year: share of the territory's communes with a value (distinct communes, any source)."""
    return query(con, """
        WITH n AS (SELECT count(*) AS attendues FROM dim_commune WHERE type_unite = 'commune')
        SELECT f.indicateur, d.theme, f.annee, count(DISTINCT f.code_commune) / ANY_VALUE(n.attendues) AS taux
        FROM fact_indicateur_commune f JOIN dim_indicateur d USING (indicateur) CROSS JOIN n
        WHERE f.valeur IS NOT NULL GROUP BY ALL""")


def theme_order(theme: str) -> int:
    """Display order: the brief's themes first, then the added ones."""
    return rank(theme, list(BRIEF_THEMES))


def indicator_matrix(con: duckdb.DuckDBPyConnection, cover: pd.DataFrame) -> tuple[list[int], list[dict[str, Any]]]:
    """Theme × year: best share of communes covered by an indicator of the theme."""
    years = sorted(int(y) for y in cover["annee"].unique())
    themes = sorted(query(con, "SELECT DISTINCT theme FROM dim_indicateur")["theme"], key=theme_order)
    table = cover.pivot_table(index="theme", columns="annee", values="taux", aggfunc="max").reindex(index=themes, columns=years)
    return years, [{"theme": theme_label(t), "cellules": [None if pd.isna(v) else float(v) for v in table.loc[t]]} for t in themes]


def strongest_by_theme(con: duckdb.DuckDBPyConnection, ballot: str | None) -> pd.DataFrame:
    """Per theme: the indicator and target with the largest |Spearman ρ| for the reference ballot, among the
    indicators known in at least :data:`MIN_ANSWER_COVERAGE` of the communes (the ranking's coverage rule) and
    the targets kept in the answer (:func:`target_flags`: no one-candidate or sparse bloc)."""
    from electio.analysis.explore import MIN_ANSWER_COVERAGE

    if ballot is None or not has_relation(con, "analysis_correlation"):
        return pd.DataFrame(columns=["theme", "libelle", "cible", "coefficient"])
    rows = query(con, """
        SELECT d.theme, d.libelle, a.cible, a.coefficient FROM analysis_correlation a JOIN dim_indicateur d USING (indicateur)
        WHERE a.scrutin_id = ? AND a.methode = 'spearman' AND a.ponderation = 'aucune'
          AND a.n_communes >= ? * (SELECT count(*) FROM dim_commune WHERE type_unite = 'commune')""", ballot, MIN_ANSWER_COVERAGE)
    flags = target_flags(con)
    excluded = set(flags.loc[(flags["scrutin_id"] == ballot) & (flags["exclusion"] != ""), "cible"])
    rows = rows[~rows["cible"].isin(excluded)]
    return rows.loc[rows["coefficient"].abs().groupby(rows["theme"]).idxmax()].reset_index(drop=True) if not rows.empty else rows


def indicators_section(con: duckdb.DuckDBPyConnection, ballot: str | None, labels: dict[str, str]) -> dict[str, Any]:
    """Criteria: themes, indicators, coverage, strongest correlation per theme, gaps."""
    per_indicator = query(con, """
        SELECT d.indicateur, d.libelle, d.theme, d.unite, d.source, MIN(c.statut) AS statut
        FROM dim_indicateur d LEFT JOIN couverture_indicateur c USING (indicateur) GROUP BY ALL""")
    cover = indicator_coverage(con)
    years = cover.groupby("indicateur")["annee"].agg(list)
    per_indicator["annees"] = per_indicator["indicateur"].map(lambda i: year_ranges(years[i]) if i in years.index else "")
    per_indicator["couverture"] = per_indicator["indicateur"].map(cover.groupby("indicateur")["taux"].max()).fillna(0.0)
    used = query(con, """SELECT DISTINCT substr(variable, 7) AS indicateur FROM model_importance
                         WHERE modele = 'retenu' AND variable LIKE 'f_ind_%'""") if has_relation(con, "model_importance") else pd.DataFrame({"indicateur": []})
    per_indicator["modele"] = per_indicator["indicateur"].isin(used["indicateur"])
    per_indicator["libelle_theme"] = per_indicator["theme"].map(theme_label)
    strongest = strongest_by_theme(con, ballot).set_index("theme")
    themes = []
    for theme, group in per_indicator.groupby("theme"):
        best = strongest.loc[theme] if theme in strongest.index else None
        themes.append({"code": theme, "theme": theme_label(theme), "origine": BRIEF_THEMES.get(theme, "ajouté"),
                       "raison": THEME_REASONS.get(theme, ""), "indicateurs": len(group), "au_modele": int(group["modele"].sum()),
                       "annees": year_ranges(cover.loc[cover["theme"] == theme, "annee"]),
                       "couverture": group["couverture"].max(), "lacune": bool((group["statut"] == "lacune").all()),
                       "meilleur": None if best is None else {"libelle": best["libelle"], "cible": labels.get(best["cible"], best["cible"]),
                                                               "coefficient": float(best["coefficient"])}})
    themes.sort(key=lambda t: theme_order(t["code"]))
    matrix_years, matrix = indicator_matrix(con, cover)
    gaps = per_indicator[per_indicator["statut"] == "lacune"]
    security = scalar(con, """SELECT MIN(date_publication) FROM fact_indicateur_commune f JOIN dim_indicateur d USING (indicateur)
                              WHERE d.theme = 'securite'""")
    return {"themes": themes, "indicateurs": records(per_indicator.sort_values(["theme", "indicateur"])), "n_indicateurs": len(per_indicator),
            "n_themes": len(themes), "annees_matrice": matrix_years, "matrice": matrix, "n_modele": int(per_indicator["modele"].sum()),
            "lacunes": records(gaps), "annees_entreprises": year_ranges(cover.loc[cover["theme"] == "entreprises", "annee"]),
            "securite_publication": None if security is None else pd.Timestamp(security).strftime("%d/%m/%Y")}


def method_section(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Lineage (inputs, steps) and quality contracts of the ETL run."""
    inputs = query(con, "SELECT count(*) AS fichiers, SUM(octets) AS octets, count(DISTINCT licence) AS licences, "
                        "SUM(CASE WHEN origine = 'miroir' THEN 1 ELSE 0 END) AS miroir FROM etl_input").iloc[0].to_dict()
    steps = query(con, """SELECT etape, count(*) AS executions, SUM(lignes_lues) AS lues, SUM(lignes_ecrites) AS ecrites,
                                 SUM(lignes_rejetees) AS rejetees FROM etl_step GROUP BY etape ORDER BY MIN(started_at)""")
    checks = query(con, "SELECT table_name, regle, severite, lignes_en_echec FROM dq_check ORDER BY severite, table_name")
    stages = {name: scalar(con, f"SELECT count(*) FROM {name}") if has_relation(con, name) else None
              for name in ("analysis_correlation", "model_evaluation", "fact_prevision")}
    bootstrap = scalar(con, "SELECT MAX(n_bootstrap) FROM analysis_correlation") if stages["analysis_correlation"] else None
    return {"entrees": inputs, "etapes": records(steps), "controles": records(checks), "n_controles": len(checks),
            "n_bloquants": int((checks["severite"] == "bloquante").sum()), "echecs": int(checks["lignes_en_echec"].sum()),
            "etages": stages, "bootstrap": bootstrap}


FLOW_ROWS = (("sources", "fetch", "parse"), ("harmonise", "quality", "warehouse"), ("explore", "evaluate", "forecast"), ("deliver",))


def flow_steps(meta: dict, method: dict, indicators: dict) -> tuple[list, list]:
    """Nodes and edges of the data-flow diagram, labelled with the warehouse's counts."""
    inputs, stages = method["entrees"], method["etages"]

    def rows(name: str) -> str:
        return "étape non exécutée" if stages[name] is None else f"{entier(stages[name])} lignes"

    steps = [
        ("sources", "Sources publiques", f"{entier(inputs['fichiers'])} fichiers · {entier(inputs['licences'])} licences", "#e8f1fa"),
        ("fetch", "Collecte", "miroir ou URL · empreinte sha256", "#e8f1fa"),
        ("parse", "Lecture", "un module par famille de source", "#fdf2e3"),
        ("harmonise", "Harmonisation", "COG 2026 · blocs politiques versionnés", "#fdf2e3"),
        ("quality", "Contrats qualité", f"{entier(method['n_controles'])} règles pandera", "#fdf2e3"),
        ("warehouse", "Entrepôt DuckDB", f"schéma en étoile · {meta['territoire']} · {entier(indicators['n_indicateurs'])} indicateurs", "#e6f4ea"),
        ("explore", "Exploration", f"cartes, corrélations · {rows('analysis_correlation')}", "#f3e8f7"),
        ("evaluate", "Modèles supervisés", f"backtests chronologiques · {rows('model_evaluation')}", "#f3e8f7"),
        ("forecast", "Prévisions 1 à 3 ans", rows("fact_prevision"), "#f3e8f7"),
        ("deliver", "Livrables", "CSV, Parquet, SQL, Power BI, rapport, notebooks", "#e6f4ea"),
    ]
    edges = [("sources", "fetch", ""), ("fetch", "parse", "fichiers bruts"), ("parse", "harmonise", "tables"),
             ("harmonise", "quality", ""), ("quality", "warehouse", "ETL"), ("warehouse", "explore", ""),
             ("warehouse", "evaluate", ""), ("evaluate", "forecast", "modèle retenu"), ("explore", "deliver", ""),
             ("forecast", "deliver", ""), ("warehouse", "deliver", "exports")]
    return steps, edges


def mcd_section(con: duckdb.DuckDBPyConnection, exports_dir: Path) -> dict[str, Any]:
    """The MCD image (regenerated from the DDL when absent) and the warehouse's tables with their rows."""
    from electio.outputs.mcd import write_mcd

    folder = exports_dir / "mcd"
    image, physical = folder / "mcd.png", folder / "schema_physique.png"
    if not image.is_file():
        write_mcd(folder)
    tables = query(con, "SELECT table_name, comment FROM duckdb_tables() ORDER BY table_name")
    tables["lignes"] = [scalar(con, f'SELECT count(*) FROM "{name}"') for name in tables["table_name"]]
    families = (("dim_", "dimension"), ("fact_", "fait"), ("map_", "correspondance"), ("etl_", "traçabilité"),
                ("dq_", "qualité"), ("couverture_", "couverture"), ("analysis_", "analyse"), ("model_", "modèle"), ("forecast_", "prévision"))
    tables["famille"] = [next((label for prefix, label in families if n.startswith(prefix)), "autre") for n in tables["table_name"]]
    tables["comment"] = tables["comment"].fillna("").str.split(r"(?<=\.) ", regex=True).str[0]
    return {"image": image, "physique": physical if physical.is_file() else None, "tables": records(tables), "n_tables": len(tables)}


def reference_ballot(con: duckdb.DuckDBPyConnection) -> str | None:
    """The ballot of the displayed answer: présidentielle 2022 T1 when analysed, else the latest analysed."""
    from electio.models.evaluate import MAIN_TEST

    if not has_relation(con, "analysis_answer"):
        return None
    found = query(con, "SELECT DISTINCT a.scrutin_id, s.date_scrutin FROM analysis_answer a JOIN dim_scrutin s USING (scrutin_id) ORDER BY 2")
    if found.empty:
        return None
    return MAIN_TEST if MAIN_TEST in set(found["scrutin_id"]) else found["scrutin_id"].iloc[-1]


def target_flags(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per ballot and bloc: candidates, share of communes where the bloc has votes, and the French reason it is
    kept out of the headline answer ('' when it is not): one candidate (a vote for a person, not a bloc) or
    present in fewer communes than the coverage rule asks (:data:`electio.analysis.explore.MIN_ANSWER_COVERAGE`)."""
    from electio.analysis.explore import MIN_ANSWER_COVERAGE

    rows = query(con, """
        WITH n AS (SELECT count(*) AS communes FROM dim_commune WHERE type_unite = 'commune')
        SELECT r.scrutin_id, c.code_bloc AS cible, count(DISTINCT r.candidat_id) AS candidats,
               count(DISTINCT CASE WHEN r.voix > 0 THEN r.code_commune END) / ANY_VALUE(n.communes) AS presence
        FROM fact_resultat_commune r JOIN dim_candidat c USING (candidat_id) CROSS JOIN n GROUP BY ALL""")
    reasons = []
    for row in rows.itertuples():
        found = []
        if row.candidats == 1:
            found.append("un seul candidat (vote pour une personne plus que pour un bloc)")
        if row.presence < MIN_ANSWER_COVERAGE:
            found.append(f"présent dans {pct(row.presence, 0)} des communes seulement")
        reasons.append(" ; ".join(found))
    return rows.assign(exclusion=reasons)


def correlation_section(con: duckdb.DuckDBPyConnection, ballot: str | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """Question 1: the most correlated indicator per target, with CIs, for the reference ballot; the headline is the
    robust result: the indicator most often first across ballots, one-candidate and sparse blocs left out."""
    from electio.analysis.explore import MIN_ANSWER_COVERAGE

    if ballot is None:
        return None
    weights = query(con, "SELECT DISTINCT ponderation FROM analysis_answer WHERE scrutin_id = ?", ballot)["ponderation"].tolist()
    weighting = "aucune" if "aucune" in weights else weights[0]
    every = query(con, """
        SELECT a.*, d.libelle AS libelle_second, s.libelle AS libelle_scrutin FROM analysis_answer a
        JOIN dim_scrutin s USING (scrutin_id) LEFT JOIN dim_indicateur d ON d.indicateur = a.second_indicateur
        WHERE a.ponderation = ?""", weighting)
    flags = target_flags(con)
    every = every.merge(flags[["scrutin_id", "cible", "candidats", "exclusion"]], on=["scrutin_id", "cible"], how="left")
    every["exclusion"] = every["exclusion"].fillna("")
    answers = every[every["scrutin_id"] == ballot].copy()
    answers = answers.sort_values("cible", key=lambda c: c.map(lambda v: rank(v, list(labels))))
    answers["libelle_cible"] = answers["cible"].map(lambda c: labels.get(c, c))
    sound = answers[answers["exclusion"] == ""]
    top = (sound if not sound.empty else answers).pipe(lambda f: f.loc[f["coefficient"].abs().idxmax()])
    robust_rows = every[every["exclusion"] == ""]
    frequent = (robust_rows.groupby("libelle_indicateur").agg(fois=("cible", "size"), scrutins=("scrutin_id", "nunique"),
                                                              rho_min=("coefficient", lambda c: c.abs().min()), rho_max=("coefficient", lambda c: c.abs().max()))
                .reset_index().sort_values(["fois", "libelle_indicateur"], ascending=[False, True]).head(3))
    robust = None
    if not frequent.empty:
        name = frequent["libelle_indicateur"].iloc[0]
        here = sound[sound["libelle_indicateur"] == name]
        example = here.loc[here["coefficient"].abs().idxmax()] if not here.empty else None
        robust = {**records(frequent.head(1))[0], "exemple": None if example is None else records(answers.loc[[example.name]])[0]}
    settings = query(con, "SELECT MAX(n_bootstrap) AS n_bootstrap, MAX(niveau_confiance) AS niveau FROM analysis_correlation WHERE scrutin_id = ?", ballot).iloc[0]
    return {"scrutin": ballot, "libelle_scrutin": top["libelle_scrutin"], "ponderation": weighting, "reponses": records(answers),
            "top": records(answers.loc[[top.name]])[0], "frequents": records(frequent), "robuste": robust,
            "total_reponses": len(robust_rows), "exclues": len(every) - len(robust_rows),
            "scrutins_analyses": int(every["scrutin_id"].nunique()),
            "seuil_couverture": MIN_ANSWER_COVERAGE,
            "avertissement": answers["avertissement"].iloc[0], "n_bootstrap": settings["n_bootstrap"], "niveau": settings["niveau"],
            "methode": answers["methode_classement"].iloc[0]}


def model_label(code: str) -> str:
    """French label of a model code (the models' own labels, the retained copy spelled out)."""
    from electio.models.evaluate import MODEL_LABELS, RETAINED

    return "modèle retenu" if code == RETAINED else MODEL_LABELS.get(code, code)


def evaluation_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The ``model_evaluation`` backtest rows (the replays, models ``*_rejoue``, are shown apart)."""
    return query(con, "SELECT * FROM model_evaluation WHERE modele NOT LIKE '%_rejoue'")


def folds(con: duckdb.DuckDBPyConnection, targets: Sequence[str]) -> pd.DataFrame:
    """Forward-chaining splits at the natural horizon: training targets and feature ballots of each test ballot."""
    ballots = query(con, "SELECT scrutin_id, libelle, date_scrutin, tour, type_scrutin FROM dim_scrutin ORDER BY date_scrutin")
    tested = query(con, """SELECT scrutin_test, territoire, MIN(horizon_ans) AS horizon_ans FROM model_evaluation
                           WHERE modele = 'retenu' GROUP BY ALL""")
    communes = query(con, """SELECT scrutin_test, territoire, count(DISTINCT code_commune) AS communes FROM model_prediction_backtest
                             WHERE modele = 'retenu' AND conditionnel GROUP BY ALL""")
    tested = tested.merge(communes, on=["scrutin_test", "territoire"], how="left").merge(
        ballots[["scrutin_id", "date_scrutin"]].rename(columns={"scrutin_id": "scrutin_test"}), on="scrutin_test")
    features = ballots[(ballots["tour"] == 1) & (ballots["type_scrutin"] != "municipales")]
    tested["entrainement"] = [[s for s in targets if s in set(ballots.loc[ballots["date_scrutin"] < d, "scrutin_id"])] for d in tested["date_scrutin"]]
    tested["variables"] = [list(features.loc[features["date_scrutin"] < d, "scrutin_id"]) for d in tested["date_scrutin"]]
    return tested.sort_values(["date_scrutin", "territoire"], key=lambda c: c if c.name != "territoire" else c.eq("FR")).reset_index(drop=True)


def supervised_section(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Question 2: the supervised set-up (targets, features, forward-chaining splits, selection rule)."""
    data = card_values(con, "donnees")
    targets = [s.strip() for s in data.get("scrutins", "").split(",") if s.strip()]
    chain = folds(con, targets)
    selection = card_values(con, "selection")
    rows = [(key.rsplit("_", 2)[0], "_".join(key.rsplit("_", 2)[1:]), float(value)) for key, value in selection.items()]
    table = pd.DataFrame(rows, columns=["modele", "scrutin", "mae"]).pivot_table(index="modele", columns="scrutin", values="mae") if rows else pd.DataFrame()
    return {"cibles": targets, "blocs": data.get("blocs", ""), "indicateurs": data.get("indicateurs", ""), "plis": records(chain),
            "regle": card_values(con, "regle").get("choix_retenu", ""), "selection_scrutins": list(table.columns),
            "selection": [{"modele": m, "libelle": model_label(m), "valeurs": [float(v) for v in table.loc[m]], "moyenne": float(table.loc[m].mean())}
                          for m in table.index],
            "ballots": query(con, "SELECT scrutin_id, libelle, date_scrutin FROM dim_scrutin WHERE tour = 1 AND type_scrutin <> 'municipales' ORDER BY date_scrutin")}


def models_section(con: duckdb.DuckDBPyConnection, evaluation: pd.DataFrame, territory: str) -> dict[str, Any]:
    """Models tested: main test ballot table and every test case at the natural horizon."""
    from electio.models.evaluate import MAIN_TEST, MODEL_LABELS, RETAINED, main_table, tests_overview

    main = main_table(evaluation, MAIN_TEST, territory)
    overview = tests_overview(evaluation)
    tables = []
    for flag, name in ((True, "conditionnelle (vrais totaux départementaux donnés)"), (False, "non conditionnelle (totaux départementaux prévus)")):
        part = overview.loc[:, [c for c in overview.columns if c[3] == flag]].dropna(how="all")
        tables.append({"nom": name, "cas": [{"scrutin": s, "territoire": "France" if t == "FR" else t, "horizon": int(h)} for s, t, h, _ in part.columns],
                       "lignes": [{"modele": model_label(m), "code": m, "valeurs": [None if pd.isna(v) else float(v) for v in part.loc[m]]} for m in part.index]})
    chosen = card_values(con, "modele").get("nom", "")
    main_rows = [{"code": m, "modele": model_label(m), "description": MODEL_DESCRIPTIONS.get(m, f"copie du modèle choisi ({MODEL_LABELS.get(chosen, chosen)})"),
                  **row} for m, row in zip(main.index, records(main), strict=True)]
    return {"test": MAIN_TEST, "test_libelle": scalar(con, "SELECT libelle FROM dim_scrutin WHERE scrutin_id = ?", MAIN_TEST),
            "principal": main_rows, "par_code": {r["code"]: r for r in main_rows}, "tableaux": tables, "retenu": chosen, "retenu_libelle": MODEL_LABELS.get(chosen, chosen),
            "n_testes": sum(1 for m in main.index if m in MODEL_DESCRIPTIONS and m not in ("persistance", "swing_uniforme", "swing_proportionnel", "plancher_bruit", "frequence_tete")),
            "n_references": sum(1 for m in main.index if m in ("persistance", "swing_uniforme", "swing_proportionnel")),
            "retenu_principal": records(main.loc[[RETAINED]])[0] if RETAINED in main.index else None}


def retained_section(con: duckdb.DuckDBPyConnection, evaluation: pd.DataFrame, territory: str, labels: dict[str, str]) -> dict[str, Any]:
    """The chosen model on the main test ballot: per-bloc errors and the most important variables."""
    from electio.models.evaluate import MAIN_TEST, RETAINED

    rows = evaluation[(evaluation["modele"] == RETAINED) & (evaluation["scrutin_test"] == MAIN_TEST) & (evaluation["territoire"] == territory)]
    rows = rows[rows["horizon_ans"] == rows["horizon_ans"].min()]
    table = rows.pivot_table(index="bloc", columns=["conditionnel", "metrique"], values="valeur")
    order = [b for b in labels if b in table.index]
    blocs = [{"bloc": labels[b], "code": b, "mae": table.loc[b].get((True, "mae")), "rmse": table.loc[b].get((True, "rmse")),
              "r2": table.loc[b].get((True, "r2")), "couv80": table.loc[b].get((True, "couv80")),
              "mae_non_cond": table.loc[b].get((False, "mae"))} for b in order]
    importance = query(con, """
        SELECT m.variable, m.famille, m.importance, m.ecart_type, d.libelle FROM model_importance m
        LEFT JOIN dim_indicateur d ON 'f_ind_' || d.indicateur = m.variable
        WHERE m.modele = 'retenu' AND m.bloc = 'moyenne' ORDER BY m.rang LIMIT 10""")
    families = query(con, """SELECT famille, SUM(importance) AS importance FROM model_importance
                             WHERE modele = 'retenu' AND bloc = 'moyenne' GROUP BY 1 ORDER BY 2 DESC""")
    card = card_values(con, "modele")
    if "fichier" in card:
        card["fichier"] = shown_path(card["fichier"])
    return {"blocs": blocs, "importance": records(importance), "familles": records(families),
            "horizon": int(rows["horizon_ans"].min()) if not rows.empty else None, "card": card}


def accuracy_section(con: duckdb.DuckDBPyConnection, evaluation: pd.DataFrame, territory: str) -> dict[str, Any]:
    """Question 3: the metrics, by horizon, against the goals."""
    from electio.models.evaluate import GOALS, RETAINED, TERRITORY_MODEL, goals_status
    from electio.models.metrics import EXPLANATIONS, MEAN

    means = evaluation[(evaluation["bloc"] == MEAN) & (evaluation["metrique"] == "mae")]
    by_horizon = (means[means["modele"].isin([RETAINED, "swing_uniforme", "persistance"]) & means["conditionnel"]]
                  .groupby(["territoire", "horizon_ans", "modele"])["valeur"].mean().unstack("modele"))
    tests = means[(means["modele"] == RETAINED) & means["conditionnel"]].groupby(["territoire", "horizon_ans"])["scrutin_test"].agg(lambda s: ", ".join(sorted(s)))
    uncond = means[(means["modele"] == RETAINED) & ~means["conditionnel"]].groupby(["territoire", "horizon_ans"])["valeur"].mean()
    horizons = [{"territoire": t, "horizon": int(h), "scrutins": tests.get((t, h), ""), "retenu": row.get(RETAINED),
                 "swing_uniforme": row.get("swing_uniforme"), "persistance": row.get("persistance"), "non_cond": uncond.get((t, h))}
                for (t, h), row in by_horizon.iterrows()]
    horizons.sort(key=lambda r: (r["territoire"] != territory, r["horizon"]))
    territory_errors = evaluation[(evaluation["modele"] == TERRITORY_MODEL) & (evaluation["bloc"] == MEAN)]
    goals = [{"objectif": g, "valeur": float(v), "atteint": bool(ok)} for g, v, ok in goals_status(evaluation, territory)]
    measured = sorted({int(h) for h in means.loc[means["territoire"] == territory, "horizon_ans"]})
    from electio.models.evaluate import BASE_RATE, MAIN_TEST
    from electio.models.goals import goal_table
    from electio.models.metrics import PLAIN_FRENCH

    plain = [{"titre": title, "texte": text} for title, text in PLAIN_FRENCH.values()]
    cases = records(goal_table(evaluation, RETAINED, BASE_RATE, MAIN_TEST)) if "ic_basse" in evaluation.columns else []
    return {"definitions": EXPLANATIONS, "horizons": horizons, "horizons_mesures": measured, "en_clair": plain, "objectifs_cas": cases,
            "horizon_1": 1 in measured, "objectifs": goals, "seuil_gain": GOALS["gain_mae"],
            "total_territoire": records(territory_errors[["scrutin_test", "territoire", "horizon_ans", "valeur"]].sort_values(["territoire", "scrutin_test"])),
            "limite_horizon": card_values(con, "limites").get("horizons", "")}


FORECAST_PICKS = (  # (file pattern, title); {first}: the nearest target, {last}: the farthest one
    ("courbes_territoire.png", "Trajectoires du territoire : passé observé et prévisions des prochains scrutins"),
    ("proba_tete_barres.png", "Probabilité de chaque bloc d'arriver en tête"),
    ("comparaison_scenarios.png", "Comparaison des scénarios"),
    ("chaleur_{first}.png", "Carte de chaleur des parts prévues par commune"),
    ("carte_proba_tete_{first}.png", "Carte de la probabilité d'arriver en tête"),
    ("carte_proba_tete_{last}.png", "Carte de la probabilité d'arriver en tête, dernier scrutin prévu"),
    ("fiabilite_proba_tete.png", "Diagramme de fiabilité des probabilités (backtests)"),
)


def forecast_targets(con: duckdb.DuckDBPyConnection, territory: str, scenario: str, labels: dict[str, str]) -> tuple[list[dict], list[dict], pd.DataFrame]:
    """Targets (date order); per bloc, the territory's headline figures for each target (``forecasts.summary``:
    mean, 80 % interval, P(lead), communes led) in ``scenario``; and that summary table."""
    rows = query(con, "SELECT * FROM fact_prevision WHERE scenario = ?", scenario)
    table = summary.summary(rows, territory)
    dates = query(con, "SELECT scrutin_cible, date_scrutin FROM dim_scrutin_cible") if has_relation(con, "dim_scrutin_cible") \
        else pd.DataFrame(columns=["scrutin_cible", "date_scrutin"])
    targets = (table[["scrutin_cible", "horizon_ans"]].drop_duplicates().merge(dates, on="scrutin_cible", how="left")
               .sort_values(["date_scrutin", "scrutin_cible"])[["scrutin_cible", "horizon_ans"]])
    order = [b for b in labels if b in set(table["bloc"])]
    blocs = []
    for bloc in order:
        part = table[table["bloc"] == bloc].set_index("scrutin_cible")
        blocs.append({"bloc": labels[bloc], "code": bloc, "valeurs": [records(part.loc[[t]])[0] for t in targets["scrutin_cible"]]})
    return records(targets), blocs, table


def calibration_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Brier scores of the lead probabilities, one row per source (when given) and conditioning."""
    keys = [c for c in ("source", "conditionnel") if c in rows.columns]
    if rows.empty:
        return pd.DataFrame(columns=[*keys, "brier", "brier_reference", "scrutins", "libelle"])
    summary = rows.groupby(keys, sort=False).agg(brier=("brier", "first"), brier_reference=("brier_reference", "first"),
                                                 scrutins=("scrutins", "first")).reset_index()
    sources = {"backtest": "backtests,", "simulation": "simulation rejouée,"}
    summary["libelle"] = [" ".join(filter(None, (sources.get(row.get("source"), row.get("source")), "totaux connus" if row["conditionnel"] else "totaux prévus")))
                          for row in summary.to_dict("records")]
    return summary


def forecast_section(con: duckdb.DuckDBPyConnection, folder: Path, territory: str, labels: dict[str, str]) -> dict[str, Any]:
    """Forecasts at one to three years, when ``electio forecast`` has written its tables and charts."""
    missing = [t for t in FORECAST_TABLES if not has_relation(con, t)]
    charts = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if missing:
        return {"disponible": False, "tables_absentes": missing, "graphiques": []}
    scenario = scalar(con, "SELECT scenario FROM dim_scenario ORDER BY scenario <> 'tendance', scenario LIMIT 1")
    targets, table, totals = forecast_targets(con, territory, scenario, labels)
    stored = query(con, "SELECT * FROM dim_scrutin_cible") if has_relation(con, "dim_scrutin_cible") else pd.DataFrame(columns=["scrutin_cible", "libelle", "libelle_court", "date_scrutin"])
    described = summary.target_labels(stored)
    short = dict(zip(stored["scrutin_cible"], stored["libelle_court"], strict=True))
    for t in targets:
        t["libelle"], t["date"] = described.get(t["scrutin_cible"], (t["scrutin_cible"], None))
        t["court"] = short.get(t["scrutin_cible"], t["scrutin_cible"])
    leaders = totals[(totals["bloc"] != "abstention") & (totals["communes_en_tete"] > 0)].rename(columns={"communes_en_tete": "communes"})
    leaders = leaders.sort_values(["scrutin_cible", "communes", "bloc"], ascending=[True, False, True])
    leaders["libelle"] = leaders["bloc"].map(lambda b: labels.get(b, b))
    heads = {t["scrutin_cible"]: summary.headline(totals[totals["scrutin_cible"] == t["scrutin_cible"]]) for t in targets}
    calibration = calibration_summary(query(con, "SELECT * FROM forecast_calibration WHERE modele = 'retenu'"))
    effects = scenario_effects(con, territory, scenario, targets[0]["scrutin_cible"] if targets else "")
    first = targets[0]["scrutin_cible"] if targets else ""
    last = targets[-1]["scrutin_cible"] if targets else ""
    picks = list(dict.fromkeys((folder / pattern.format(first=first, last=last), title) for pattern, title in FORECAST_PICKS))
    return {"disponible": True, "tables_absentes": [], "graphiques": [(p, t) for p, t in picks if p.is_file()],
            "autres_graphiques": len(charts) - sum(p.is_file() for p, _ in picks),
            "scenario": scenario, "scenarios": records(query(con, "SELECT scenario, libelle, description FROM dim_scenario ORDER BY scenario <> 'tendance', scenario")),
            "cibles": targets, "territoire": table, "tetes": {t["scrutin_cible"]: records(leaders[leaders["scrutin_cible"] == t["scrutin_cible"]]) for t in targets},
            "en_tete": {t: None if h is None else {**h.to_dict(), "libelle": labels.get(h["bloc"], h["bloc"])} for t, h in heads.items()},
            "valeur_centrale": summary.CENTRAL_LABEL, "effets_scenarios": effects,
            "calibration": records(calibration), "lignes": scalar(con, "SELECT count(*) FROM fact_prevision"),
            "communes": scalar(con, "SELECT count(DISTINCT code_commune) FROM fact_prevision WHERE code_commune <> ?", territory)}


def scenario_effects(con: duckdb.DuckDBPyConnection, territory: str, reference: str, target: str) -> list[dict[str, Any]]:
    """Per scenario other than ``reference``, at ``target``: the communes whose leading bloc changes and the largest move
    of a bloc's territory mean (points) — what a scenario actually changes."""
    rows = query(con, "SELECT scenario, code_commune, bloc, moyenne, p_tete FROM fact_prevision WHERE scrutin_cible = ?", target)
    if rows.empty:
        return []
    leads = summary.leaders(rows[rows["code_commune"] != territory]).set_index(["scenario", "code_commune"])["bloc"]
    totals = rows[(rows["code_commune"] == territory) & (rows["bloc"] != "abstention")].pivot(index="bloc", columns="scenario", values="moyenne")
    base = leads.xs(reference, level="scenario")
    names = dict(con.execute("SELECT scenario, libelle FROM dim_scenario").fetchall())
    out = []
    for name in sorted(set(rows["scenario"]) - {reference}):
        changed = int((leads.xs(name, level="scenario").reindex(base.index) != base).sum())
        out.append({"scenario": names.get(name, name), "communes_changees": changed, "ecart_max": float(100 * (totals[name] - totals[reference]).abs().max())})
    return out


def markdown_bullets(text: str, heading: str) -> list[str]:
    """The bullets of a Markdown section, continuation lines joined, ``**bold**`` and ``code`` turned to HTML."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    if match is None:
        return []
    items = [" ".join(item.split()) for item in re.split(r"^- ", match.group(1), flags=re.MULTILINE)[1:]]
    inline = [(r"\*\*(.+?)\*\*", r"<strong>\1</strong>"), (r"`(.+?)`", r"<code>\1</code>")]
    out = []
    for item in items:
        escaped = html.escape(item, quote=False)
        for pattern, replacement in inline:
            escaped = re.sub(pattern, replacement, escaped)
        out.append(escaped)
    return out


def referential_section(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The bloc assignments (dim_candidat): one row per candidate or list of the présidentielles and européennes,
    one per nuance for the législatives, with the justification, so that a political client can challenge them."""
    return records(query(con, """
        SELECT s.libelle AS scrutin, CASE WHEN d.prenom IS NULL THEN d.candidat ELSE d.prenom || ' ' || d.candidat END AS candidat,
               b.libelle AS bloc, d.justification, s.date_scrutin, b.ordre
        FROM dim_candidat d JOIN dim_scrutin s USING (scrutin_id) JOIN dim_bloc b ON b.code_bloc = d.code_bloc
        WHERE s.type_scrutin <> 'legislatives'
        UNION ALL
        SELECT 'Législatives (toutes)' AS scrutin, 'nuance ' || d.nuance AS candidat, b.libelle AS bloc, ANY_VALUE(d.justification),
               MAX(s.date_scrutin) + INTERVAL 1 DAY, b.ordre
        FROM dim_candidat d JOIN dim_scrutin s USING (scrutin_id) JOIN dim_bloc b ON b.code_bloc = d.code_bloc
        WHERE s.type_scrutin = 'legislatives' GROUP BY d.nuance, b.libelle, b.ordre
        ORDER BY date_scrutin, scrutin, ordre, candidat"""))


def limits_section(con: duckdb.DuckDBPyConnection, indicators: dict, accuracy: dict) -> dict[str, Any]:
    """Data gaps and limits: the model card's, the indicators' gaps, the measured horizons."""
    card = card_values(con, "limites")
    notes = list(card_values(con, "notes").values())
    return {"modele": [v for k, v in card.items()], "notes": notes, "lacunes": indicators["lacunes"],
            "annees_entreprises": indicators["annees_entreprises"], "securite_publication": indicators["securite_publication"],
            "horizons_mesures": accuracy["horizons_mesures"]}


# ─── Figures ─────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class ReportFigure:
    """An image of the report: file (a reduced copy in the report folder), title and caption."""

    key: str
    path: Path
    title: str
    caption: str = ""


def reduced_copy(source: Path, folder: Path, max_width: int = FIGURE_MAX_WIDTH) -> Path:
    """A copy of ``source`` at most ``max_width`` pixels wide (PNG), for embedding."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{source.parent.name}_{source.name}" if source.parent != folder else source
    with Image.open(source) as image:
        if image.width > max_width:
            image = image.resize((max_width, round(image.height * max_width / image.width)), Image.Resampling.LANCZOS)
        image.convert("RGB").save(target, optimize=True)
    return target


EXPLORATION_PICKS = (  # (file pattern, title); {ref}: reference ballot
    ("carte_blocs_{ref}.png", "Carte des blocs et de la participation"),
    ("histogrammes_blocs_{ref}.png", "Distribution des parts des blocs entre communes"),
    ("carte_evolution_*.png", "Évolution entre deux présidentielles"),
    ("correlations_{ref}.png", "Carte de chaleur des corrélations indicateurs × vote"),
    ("nuages_{ref}.png", "Nuages de points des couples les plus corrélés"),
    ("carte_indicateurs_pauvrete_revenus.png", "Cartes des indicateurs : pauvreté et revenus"),
)


def exploration_figures(folder: Path, ballot: str | None, target: Path) -> tuple[list[ReportFigure], list[str]]:
    """The selected exploration PNGs that exist (reduced copies), and the patterns not found."""
    found, missing = [], []
    for pattern, title in EXPLORATION_PICKS:
        matches = sorted(folder.glob(pattern.format(ref=ballot or "*"))) if folder.is_dir() else []
        if matches:
            found.append(ReportFigure(Path(pattern).stem.format(ref=""), reduced_copy(matches[-1], target), title, f"output/exploration/{matches[-1].name}"))
        else:
            missing.append(pattern.format(ref=ballot or "…"))
    return found, missing


def model_figures(con: duckdb.DuckDBPyConnection, ctx: dict, evaluation: pd.DataFrame, target: Path) -> dict[str, ReportFigure]:
    """Backtests, horizons, forecast against outcome, forward chaining (drawn from the warehouse)."""
    from electio.models.evaluate import MAIN_TEST, MODEL_LABELS, RETAINED

    territory = ctx["meta"]["territoire"]
    labels = {**MODEL_LABELS, RETAINED: model_label(RETAINED)}
    source = f"Entrepôt Electio, ETL du {ctx['meta']['etl_date']} (territoire {territory}), table model_evaluation."
    table = ctx["models"]["tableaux"][0]
    conditional = pd.DataFrame([r["valeurs"] for r in table["lignes"]], index=[r["code"] for r in table["lignes"]],
                               columns=[f"{c['scrutin']} ({c['territoire']}, {c['horizon']} ans)" for c in table["cas"]])
    out = {"backtests": ReportFigure("backtests", figures_report.backtest_figure(conditional, labels, target / "backtests.png", source),
                                     "Erreur des modèles par scrutin testé (conditionnelle aux totaux départementaux)")}
    by_horizon = pd.DataFrame([{**{m: r[m] for m in (RETAINED, "swing_uniforme", "persistance")}, "h": r["horizon"]}
                               for r in ctx["accuracy"]["horizons"] if r["territoire"] == territory]).set_index("h")
    out["horizons"] = ReportFigure("horizons", figures_report.horizon_figure(by_horizon, labels, target / "horizons.png", source),
                                   "MAE moyenne par bloc selon l'horizon")
    points = query(con, """
        SELECT bloc, part_prevue, part_observee FROM model_prediction_backtest
        WHERE modele = 'retenu' AND scrutin_test = ? AND territoire = ? AND conditionnel AND bloc <> 'abstention'
          AND horizon_ans = (SELECT MIN(horizon_ans) FROM model_prediction_backtest WHERE modele = 'retenu' AND scrutin_test = ? AND territoire = ?)""",
                   MAIN_TEST, territory, MAIN_TEST, territory)
    blocs = query(con, "SELECT code_bloc, libelle, couleur FROM dim_bloc ORDER BY ordre")
    title = f"{ctx['models']['test_libelle']} : part prévue (backtest) et part observée par commune"
    out["nuage"] = ReportFigure("nuage", figures_report.scatter_figure(points, blocs, target / "prevu_observe.png", title,
                                                                        source.replace("model_evaluation", "model_prediction_backtest") + " Diagonale : prévision parfaite."), title)
    chain = pd.DataFrame(ctx["supervised"]["plis"])
    out["chainage"] = ReportFigure("chainage", figures_report.chaining_figure(ctx["supervised"]["ballots"], chain, target / "decoupage.png",
                                                                              "Premiers tours des présidentielles, législatives et européennes de l'entrepôt (dim_scrutin)."),
                                   "Découpage entraînement / test")
    return out


# ─── Context, rendering ──────────────────────────────────────────────────────────────────

def build_context(warehouse: Path, france: Path | None = None, output: Path | None = None, progress: Progress | None = None,
                  figures_dir: Path | None = None) -> dict[str, Any]:
    """Everything the report and the slides show, read from the warehouse (figures written to ``figures_dir``,
    by default ``output``/rapport/figures)."""
    say = progress or (lambda _m: None)
    output = output or config.output_dir()
    figures_dir = figures_dir or output / REPORT_DIR / "figures"
    ctx: dict[str, Any] = {}
    with connect(warehouse) as con:
        say("Lecture de l'entrepôt")
        labels = bloc_labels(con)
        ctx["meta"] = meta_section(con)
        territory = ctx["meta"]["territoire"]
        ballot = reference_ballot(con)
        ctx["territory"] = territory_section(con, ctx["meta"], france, labels)
        ctx["indicators"] = indicators_section(con, ballot, labels)
        ctx["method"] = method_section(con)
        ctx["mcd"] = mcd_section(con, output / "exports")
        ctx["q1"] = correlation_section(con, ballot, labels)
        has_models = has_relation(con, "model_evaluation")
        if has_models:
            evaluation = evaluation_frame(con)
            ctx["supervised"] = supervised_section(con)
            ctx["models"] = models_section(con, evaluation, territory)
            ctx["retained"] = retained_section(con, evaluation, territory, labels)
            ctx["accuracy"] = accuracy_section(con, evaluation, territory)
        ctx["forecast"] = forecast_section(con, output / "previsions", territory, labels)
        ctx["referentiel"] = referential_section(con)
        ctx["limits"] = limits_section(con, ctx["indicators"], ctx.get("accuracy", {"horizons_mesures": []}))
        say("Figures")
        ctx["figures"] = {}
        steps, edges = flow_steps(ctx["meta"], ctx["method"], ctx["indicators"])
        flow = figures_report.flow_diagram(figures_dir, steps, edges, FLOW_ROWS)
        ctx["figures"]["flux"] = ReportFigure("flux", flow, "Flux de données, de la source publique aux livrables")
        ctx["figures"]["mcd"] = ReportFigure("mcd", reduced_copy(ctx["mcd"]["image"], figures_dir), "Modèle conceptuel de données",
                                             "exports/mcd/mcd.png, dessiné à partir de la définition des tables")
        if ctx["mcd"]["physique"] is not None:
            ctx["figures"]["schema"] = ReportFigure("schema", reduced_copy(ctx["mcd"]["physique"], figures_dir), "Schéma physique (annexe)",
                                                    "exports/mcd/schema_physique.png : tables, clés et liens")
        if has_models:
            ctx["figures"].update(model_figures(con, ctx, evaluation, figures_dir))
    ctx["exploration"], ctx["exploration_absentes"] = exploration_figures(output / "exploration", ballot, figures_dir)
    ctx["forecast"]["figures"] = [ReportFigure(p.stem, reduced_copy(p, figures_dir), title, f"output/previsions/{p.name}")
                                  for p, title in ctx["forecast"]["graphiques"]]
    ctx["security"] = markdown_bullets(SECURITY_MD.read_text(encoding="utf-8"), "Résumé RGPD") if SECURITY_MD.is_file() else []
    ctx["has_models"] = has_models
    ctx["glossaire"] = [{"terme": t, "definition": d} for t, d in GLOSSARY]
    ctx["livrables"] = deliverables(output, warehouse)
    return ctx


def phrase(text: str) -> str:
    """A sentence: capital first letter, final full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?", "…")) else ".")


def deliverables(output: Path, warehouse: Path) -> list[dict[str, Any]]:
    """The brief's deliverables, where they are and whether they exist yet."""
    items = [("Dossier de synthèse (HTML, PDF)", output / REPORT_DIR / "dossier_synthese.pdf", "electio report"),
             ("Support de soutenance (PPTX)", output / REPORT_DIR / "soutenance.pptx", "electio report"),
             ("Notebooks Jupyter (sources ; copies exécutées)", NOTEBOOKS_DIR, "electio report"),
             ("Jeu de données nettoyé : entrepôt DuckDB", warehouse, "electio etl"),
             ("Exports CSV, Parquet, dump SQL, Power BI", output / "exports", "electio export"),
             ("Modèle conceptuel de données", output / "exports" / "mcd", "electio export"),
             ("Fiche du modèle retenu", output / "model_card.md", "electio evaluate"),
             ("Code commenté", config.PACKAGE_DIR, "—")]
    stages = {"electio report": "rapport", "electio etl": "construction de l'entrepôt", "electio export": "exports", "electio evaluate": "modélisation"}
    return [{"livrable": name, "chemin": shown_path(path), "commande": stages.get(command, command),
             "present": command == "electio report" or path.exists()} for name, path, command in items]


def shown_path(path: Path | str) -> str:
    """A path as a deliverable prints it: relative to the project home or to the code's folder, never a machine path."""
    path = Path(path)
    for base in (config.home(), config.PROJECT_DIR):
        if path.is_absolute() and path.is_relative_to(base):
            return str(path.relative_to(base)) or "."
    return path.name if path.is_absolute() else str(path)


def data_uri(path: Path) -> str:
    """An image as a ``data:`` URI (the HTML stays self-contained)."""
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def environment():
    """The Jinja2 environment of the report templates, with the French number filters."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(entier=entier, dec=dec, pct=pct, pts=pts, data_uri=data_uri, phrase=phrase)
    return env


def render_html(ctx: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    return environment().get_template("rapport.html.j2").render(**ctx)


def write_pdf(page: str, path: Path) -> int:
    """Write the PDF of the HTML page (WeasyPrint); its number of pages."""
    import weasyprint

    path.parent.mkdir(parents=True, exist_ok=True)
    document = weasyprint.HTML(string=page, base_url=str(TEMPLATES_DIR)).render()
    document.write_pdf(path)
    return len(document.pages)


# ─── Notebooks ───────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook: its copy, run time and error (None when it ran to the end)."""

    name: str
    path: Path
    seconds: float
    error: str | None = None


def inject_warehouse(notebook: Any, warehouse: Path) -> None:
    """Insert, after the cell tagged ``parameters``, a cell setting ``WAREHOUSE`` (papermill's convention)."""
    import nbformat

    index = next((i for i, cell in enumerate(notebook.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])), -1)
    cell = nbformat.v4.new_code_cell(f"from pathlib import Path\nWAREHOUSE = Path({str(warehouse)!r})", metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)


def execute_notebooks(warehouse: Path, target: Path, sources: Path = NOTEBOOKS_DIR, timeout: int = 300) -> list[NotebookRun]:
    """Execute every notebook of ``sources`` on ``warehouse`` into ``target`` (the sources are left untouched)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    target.mkdir(parents=True, exist_ok=True)
    runs = []
    for source in sorted(sources.glob("*.ipynb")):
        notebook = nbformat.read(source, as_version=4)
        inject_warehouse(notebook, warehouse)
        start, error = time.perf_counter(), None
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(config.home())}})
        try:
            client.execute(stderr=subprocess.DEVNULL)  # the kernel's own start-up warnings
        except CellExecutionError as exc:
            lines = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
            error = lines[-1] if lines else type(exc).__name__
        out = target / source.name
        nbformat.write(notebook, out)
        runs.append(NotebookRun(source.stem, out, time.perf_counter() - start, error))
    return runs


# ─── Entry point ─────────────────────────────────────────────────────────────────────────

@dataclass
class ReportResult:
    """Files written by ``electio report`` and the time each step took."""

    html: Path
    pdf: Path
    pages: int
    pptx: Path | None
    notebooks: list[NotebookRun]
    context: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed_notebooks(self) -> list[NotebookRun]:
        return [run for run in self.notebooks if run.error]


def run_report(warehouse: Path | None = None, france: Path | None = None, notebooks: bool = True, slides: bool = True,
               progress: Progress | None = None) -> ReportResult:
    """Write the report (HTML, PDF), the slides (PPTX) and the executed notebooks into ``output/rapport``."""
    say = progress or (lambda _m: None)
    warehouse = warehouse or config.warehouse_path()
    final = config.output_dir() / REPORT_DIR
    timings: dict[str, float] = {}

    def timed(name: str, step: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = step()
        timings[name] = time.perf_counter() - start
        return value

    with staged_folder(final) as folder:  # the whole folder is replaced: no new report beside old notebooks
        ctx = timed("contexte", lambda: build_context(warehouse, france, config.output_dir(), say, folder / "figures"))
        say("Rapport HTML")
        page = timed("html", lambda: render_html(ctx))
        (folder / HTML_NAME).write_text(page, encoding="utf-8")
        say("Rapport PDF")
        pages = timed("pdf", lambda: write_pdf(page, folder / PDF_NAME))
        if slides:
            from electio.outputs.slides import write_slides

            say("Présentation")
            timed("pptx", lambda: write_slides(ctx, folder / PPTX_NAME))
        runs: list[NotebookRun] = []
        if notebooks:
            say("Notebooks")
            runs = timed("notebooks", lambda: execute_notebooks(warehouse, folder / "notebooks"))
    runs = [replace(run, path=final / run.path.relative_to(folder)) for run in runs]
    html_path, pdf, pptx = final / HTML_NAME, final / PDF_NAME, final / PPTX_NAME if slides else None
    timings["total"] = sum(timings.values())
    return ReportResult(html_path, pdf, pages, pptx, runs, ctx, timings)
