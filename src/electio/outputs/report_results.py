"""Report context, second part: what the models say (supervised learning, models tested, retained model,
accuracy, forecasts, scenarios), the bloc referential and the limits."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from electio.analysis.explore import has_relation
from electio.forecasts import summary
from electio.outputs.labels import feature_label
from electio.outputs.report_format import card_values, query, records, scalar, shown_path

FORECAST_TABLES = ("fact_prevision", "dim_scenario", "forecast_calibration")
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


def main_test(con: duckdb.DuckDBPyConnection) -> str:
    """The main test ballot of the last model stage (``model_card``), the preferred one for an older card."""
    from electio.models.evaluate import MAIN_TEST, MAIN_TEST_KEY

    return card_values(con, "modele").get(MAIN_TEST_KEY) or MAIN_TEST


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
    from electio.models.evaluate import MODEL_LABELS, RETAINED, main_table, tests_overview

    test = main_test(con)
    main = main_table(evaluation, test, territory)
    overview = tests_overview(evaluation, test)
    tables = []
    for flag, name in ((True, "conditionnelle (vrais totaux départementaux donnés)"), (False, "non conditionnelle (totaux départementaux prévus)")):
        part = overview.loc[:, [c for c in overview.columns if c[3] == flag]].dropna(how="all")
        tables.append({"nom": name, "cas": [{"scrutin": s, "territoire": "France" if t == "FR" else t, "horizon": int(h)} for s, t, h, _ in part.columns],
                       "lignes": [{"modele": model_label(m), "code": m, "valeurs": [None if pd.isna(v) else float(v) for v in part.loc[m]]} for m in part.index]})
    chosen = card_values(con, "modele").get("nom", "")
    main_rows = [{"code": m, "modele": model_label(m), "description": MODEL_DESCRIPTIONS.get(m, f"copie du modèle choisi ({MODEL_LABELS.get(chosen, chosen)})"),
                  **row} for m, row in zip(main.index, records(main), strict=True)]
    return {"test": test, "test_libelle": scalar(con, "SELECT libelle FROM dim_scrutin WHERE scrutin_id = ?", test),
            "principal": main_rows, "par_code": {r["code"]: r for r in main_rows}, "tableaux": tables, "retenu": chosen, "retenu_libelle": MODEL_LABELS.get(chosen, chosen),
            "n_testes": sum(1 for m in main.index if m in MODEL_DESCRIPTIONS and m not in ("persistance", "swing_uniforme", "swing_proportionnel", "plancher_bruit", "frequence_tete")),
            "n_references": sum(1 for m in main.index if m in ("persistance", "swing_uniforme", "swing_proportionnel")),
            "retenu_principal": records(main.loc[[RETAINED]])[0] if RETAINED in main.index else None}


def retained_section(con: duckdb.DuckDBPyConnection, evaluation: pd.DataFrame, territory: str, labels: dict[str, str]) -> dict[str, Any]:
    """The chosen model on the main test ballot: per-bloc errors and the most important variables."""
    from electio.models.evaluate import RETAINED

    rows = evaluation[(evaluation["modele"] == RETAINED) & (evaluation["scrutin_test"] == main_test(con)) & (evaluation["territoire"] == territory)]
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
    importance["libelle"] = [feature_label(v, lab if isinstance(lab, str) else None) for v, lab in zip(importance["variable"], importance["libelle"], strict=True)]
    return {"blocs": blocs, "importance": records(importance), "familles": records(families),
            "horizon": int(rows["horizon_ans"].min()) if not rows.empty else None, "card": card}


def accuracy_section(con: duckdb.DuckDBPyConnection, evaluation: pd.DataFrame, territory: str) -> dict[str, Any]:
    """Question 3: the metrics, by horizon, against the goals."""
    from electio.models.evaluate import GOALS, RETAINED, TERRITORY_MODEL, goals_status
    from electio.models.metrics import EXPLANATIONS, MEAN

    test = main_test(con)
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
    goals = [{"objectif": g, "valeur": float(v), "atteint": bool(ok)} for g, v, ok in goals_status(evaluation, territory, test)]
    measured = sorted({int(h) for h in means.loc[means["territoire"] == territory, "horizon_ans"]})
    from electio.models.evaluate import BASE_RATE
    from electio.models.goals import goal_table
    from electio.models.metrics import PLAIN_FRENCH

    plain = [{"titre": title, "texte": text} for title, text in PLAIN_FRENCH.values()]
    cases = records(goal_table(evaluation, RETAINED, BASE_RATE, test)) if "ic_basse" in evaluation.columns else []
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
            "calendrier": records(stored.sort_values(["date_scrutin", "scrutin_cible"])) if "prevu" in stored else [],
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
