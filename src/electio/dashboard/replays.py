"""Dashboard pieces of issue 14: the replayed forecasts (accuracy page, item 4) and what the forecasts rest on
(territory page, item 6: as-of date, polls used, each target's real date, candidate hypothesis).

Read-only: the stored ``model_evaluation`` replays (``date_reference`` set), ``dim_scrutin_cible`` and
``dim_hypothese`` (through :func:`electio.dashboard.data.query`, cached and cleared with the other queries).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from dash import html

from electio.analysis.figures import fr_number
from electio.dashboard import components, data
from electio.dashboard.charts import percent
from electio.forecasts import provenance
from electio.models.goals import REPLAY_GOALS, REPLAY_NOISE_FLOOR, REPLAY_RETAINED, replay_goal_table
from electio.models.replay_summary import GROUP_HEADERS, HEADERS, REPLAY_SQL, REPLAYED_MEANING, by_group, closest_replay, headline, replay_summary

TITLE = "Erreur d'une prévision rejouée"


def replay_rows(path: Path) -> pd.DataFrame:
    """The replays' ``model_evaluation`` rows (empty before the model stage or without replays)."""
    if not data.has(path, "model_evaluation"):
        return pd.DataFrame()
    columns = data.query(path, "SELECT * FROM model_evaluation LIMIT 0").columns
    return data.query(path, REPLAY_SQL) if "date_reference" in columns else pd.DataFrame()


def replay_table(path: Path) -> pd.DataFrame:
    """One row per replayed ballot and as-of date (:func:`electio.models.replay_summary.replay_summary`)."""
    return replay_summary(replay_rows(path))


def goal_items(rows: pd.DataFrame, names: dict[str, str]) -> list[html.Li]:
    """The issue-14 goals measured on the replays: « non atteint — Européennes 2024, prévision du 15/05/2024 : … (mesuré
    2,81 points) »; ``names``: ballot id → label."""
    if rows.empty:
        return []
    items = []
    for (_, goal), (_, _, metric, *_) in zip(replay_goal_table(rows, REPLAY_RETAINED, REPLAY_NOISE_FLOOR).iterrows(), REPLAY_GOALS, strict=True):
        measured = "non mesuré" if pd.isna(goal["valeur"]) else f"{fr_number(goal['valeur'], 2)} points" if metric == "mae" else percent(goal["valeur"])
        status = "atteint" if goal["atteint"] else "non atteint"
        items.append(html.Li([html.Strong(status, className="ok" if goal["atteint"] else "ko"),
                              f" — {names.get(goal['scrutin_test'], goal['scrutin_test'])}, prévision du {provenance.day(goal['date_reference'])} : {goal['objectif']} (mesuré {measured})"]))
    return items


def replays_section(path: Path) -> html.Section:
    """The replays' table with French labels, its key sentence, the goals and what « rejouée » means."""
    rows = replay_rows(path)
    table = replay_summary(rows)
    meaning = html.P(REPLAYED_MEANING, className="intro")
    if table.empty:
        note = components.notice("Aucune prévision rejouée dans l'entrepôt : lancez « electio evaluate » (rejeux inclus par défaut).", "rejeux-avis")
        return components.section(TITLE, meaning, note, section_id="section-rejeux")
    best = closest_replay(table)
    sentence = (f"{headline(table)}. Dernier scrutin rejoué, {str(best['libelle_scrutin']).split(' (')[0]}, prévision du "
                f"{provenance.day(best['date_reference'])} : {fr_number(best['mae_retenu'], 1)} points (persistance : "
                f"{fr_number(best['mae_persistance'], 1)} ; hasard seul : {fr_number(best['mae_plancher'], 1)}), bloc en tête juste dans "
                f"{percent(best['acc_tete'], 0)} des communes.")
    shown = table.assign(libelle_scrutin=table["libelle_scrutin"].map(lambda s: str(s).split(" (")[0]),
                         date_reference=[provenance.day(d) for d in table["date_reference"]])
    points = {c: (lambda v: fr_number(v, 1)) for c in HEADERS if c.startswith("mae_")}
    formats = {**points, "acc_tete": lambda v: percent(v, 0), "couv80": lambda v: percent(v, 0)}
    grid = components.table(shown, HEADERS, "rejeux-tableau", "Prévisions rejouées : erreur moyenne par bloc et par commune", formats,
                            lambda r: r["scrutin_test"] == best["scrutin_test"] and r["date_reference"] == provenance.day(best["date_reference"]))
    goals = goal_items(rows, dict(zip(shown["scrutin_test"], shown["libelle_scrutin"], strict=True)))
    parts = [meaning, components.key_figure("rejeux-texte", sentence), grid]
    split = by_group(shown)
    if not split.empty:
        shown_as = {c: (lambda v: fr_number(v, 1)) if c.startswith("mae_") else (lambda v: "—" if pd.isna(v) else percent(v, 0))
                    for c in GROUP_HEADERS if c != "libelle_scrutin"}
        parts.append(components.table(split, GROUP_HEADERS, "rejeux-arrondissements", "Arrondissements municipaux à part : prévisions rejouées "
                                      "un mois avant le vote (modèle retenu)", shown_as))
    if goals:
        parts += [html.H3("Objectifs fixés avant la mesure"), html.Ul(goals, id="rejeux-objectifs")]
    return components.section(TITLE, *parts, section_id="section-rejeux")


def provenance_section(path: Path) -> html.Section | None:
    """« Sur quoi repose cette prévision » : as-of date, one line per target (real date, polls), the hypothesis used."""
    if not data.has(path, "dim_scrutin_cible"):
        return None
    targets = data.query(path, "SELECT * FROM dim_scrutin_cible")
    if "date_reference" not in targets.columns:
        return None
    hypotheses = data.query(path, "SELECT * FROM dim_hypothese ORDER BY retenue DESC, sondages_recents DESC, dernier_sondage DESC") \
        if data.has(path, "dim_hypothese") else None
    lines = [html.P(provenance.as_of_sentence(targets))]
    lines.append(html.Ul([html.Li(s) for s in provenance.target_sentences(targets)]))
    hypothesis = provenance.hypothesis_sentence(hypotheses)
    if hypothesis:
        lines.append(html.P(hypothesis))
    return components.section("Sur quoi repose cette prévision", *lines, section_id="section-provenance")


def as_of_note(path: Path) -> str:
    """« Prévision établie au 02/12/2026 : … » for a page's introduction (empty before the forecast stage)."""
    if not data.has(path, "dim_scrutin_cible"):
        return ""
    targets = data.query(path, "SELECT * FROM dim_scrutin_cible")
    return provenance.as_of_sentence(targets) if "date_reference" in targets.columns else ""
