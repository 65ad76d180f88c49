"""Report and slides: the error of a replayed forecast (issue 14, item 4) and what every forecast output states
about its inputs (item 6).

* :func:`replay_section` — « Erreur d'une prévision rejouée » of the accuracy part: per replayed ballot and as-of
  date, the retained model's mean bloc MAE next to persistence, the previous territory model and the noise floor,
  leading-bloc accuracy and 80 % coverage; the issue-14 goals (:data:`electio.models.goals.REPLAY_GOALS`) atteints
  or not; the headline message the slide uses as its title.
* :func:`replay_figure` — MAE by how long before the vote the forecast was made: retained model against persistence.
* :func:`provenance_section` — as-of date, polls used (count, fieldwork dates, pollsters), each target's real date,
  the candidate hypothesis (:mod:`electio.forecasts.provenance`).

Every number is read from the warehouse (``model_evaluation``, ``dim_scrutin_cible``, ``dim_hypothese``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from electio.analysis.explore import has_relation
from electio.analysis.figures import fr_formatter, fr_number, save_png
from electio.forecasts import provenance
from electio.models.goals import REPLAY_GOALS, REPLAY_NOISE_FLOOR, REPLAY_RETAINED, replay_goal_table
from electio.models.replay_summary import REPLAY_SQL, REPLAYED_MEANING, by_group, closest_replay, headline, replay_summary
from electio.outputs.report_format import query, records


def replay_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The replays' ``model_evaluation`` rows (empty before ``electio evaluate`` or without replays)."""
    if not has_relation(con, "model_evaluation"):
        return pd.DataFrame()
    columns = set(query(con, "SELECT * FROM model_evaluation LIMIT 0").columns)
    return query(con, REPLAY_SQL) if "date_reference" in columns else pd.DataFrame()


def goal_rows(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """The issue-14 goals measured on the replays, each with its unit (``pts`` for a MAE, ``pct`` otherwise)."""
    table = replay_goal_table(rows, REPLAY_RETAINED, REPLAY_NOISE_FLOOR) if not rows.empty else pd.DataFrame()
    if table.empty:
        return []
    units = ["pts" if metric == "mae" else "pct" for _, _, metric, *_ in REPLAY_GOALS]
    return [{**r, "date_reference": provenance.day(r["date_reference"]), "unite": u, "mesure": r["valeur"] is not None}
            for r, u in zip(records(table), units, strict=True)]


def replay_section(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything the section « Erreur d'une prévision rejouée » and its slide print."""
    rows = replay_rows(con)
    summary = replay_summary(rows)
    best = closest_replay(summary)
    lines = records(summary.assign(date=[provenance.day(d) for d in summary["date_reference"]],
                                   vote=[provenance.day(d) for d in summary["date_scrutin"]]))
    names = {r["scrutin_test"]: str(r["libelle_scrutin"]).split(" (")[0] for r in lines}
    goals = [{**g, "libelle": names.get(g["scrutin_test"], g["scrutin_test"])} for g in goal_rows(rows)]
    split = records(by_group(summary))
    return {"disponible": not summary.empty, "lignes": lines, "objectifs": goals, "titre": headline(summary), "arrondissements": split,
            "principal": next((r for r in lines if best is not None and r["scrutin_test"] == best["scrutin_test"]
                               and r["date_reference"] == best["date_reference"]), None), "en_clair": REPLAYED_MEANING,
            "n_scrutins": int(summary["scrutin_test"].nunique()), "tableau": summary}


def replay_figure(summary: pd.DataFrame, path: Path, caption: str) -> Path | None:
    """One panel per replayed ballot: mean bloc MAE by how long before the vote the forecast was made, retained model
    against persistence (and the noise floor, dotted); None without replays."""
    from electio.outputs.figures_report import MODEL_COLOURS, _caption, _figure

    if summary.empty:
        return None
    ballots = list(dict.fromkeys(summary["scrutin_test"]))
    fig = _figure(min(3.0 * len(ballots) + 1.0, 12.0), 3.4)
    axes = fig.subplots(1, len(ballots), sharey=True, squeeze=False)[0]
    series = (("mae_retenu", "prévision rejouée (modèle retenu)", MODEL_COLOURS["retenu"], "-"),
              ("mae_persistance", "persistance", MODEL_COLOURS["persistance"], "-"),
              ("mae_plancher", "plancher du hasard", "#444444", ":"))
    for ax, ballot in zip(axes, ballots, strict=True):
        part = summary[summary["scrutin_test"] == ballot].sort_values("date_reference")
        x = range(len(part))
        for column, label, colour, style in series:
            ax.plot(x, part[column].to_numpy(float), marker="o", color=colour, linestyle=style, label=label)
        for i, value in zip(x, part["mae_retenu"], strict=True):
            if pd.notna(value):
                ax.annotate(fr_number(value, 1), (i, value), textcoords="offset points", xytext=(4, 5), fontsize=7, color=MODEL_COLOURS["retenu"])
        ax.set_xticks(list(x), [f"{a}\navant" for a in part["avance"]], fontsize=7)
        ax.set_title(str(part["libelle_scrutin"].iloc[0]).split(" (")[0], fontsize=9)
        ax.yaxis.set_major_formatter(fr_formatter(0))
        ax.set_ylim(bottom=0)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("erreur moyenne par bloc (points)")
    axes[-1].legend(fontsize=7, frameon=False)
    _caption(fig, "Erreur d'une prévision rejouée, selon le délai avant le vote", caption)
    return save_png(fig, path)


def provenance_section(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """As-of date, each target's real date and polls, the candidate hypothesis (:mod:`electio.forecasts.provenance`)."""
    targets = query(con, "SELECT * FROM dim_scrutin_cible") if has_relation(con, "dim_scrutin_cible") else pd.DataFrame()
    hypotheses = query(con, "SELECT * FROM dim_hypothese ORDER BY retenue DESC, sondages_recents DESC, dernier_sondage DESC") \
        if has_relation(con, "dim_hypothese") else None
    if targets.empty or "date_reference" not in targets:
        return {"disponible": False, "date": "", "phrases": [], "court": [], "cibles": [], "hypothese": ""}
    shown = provenance.forecast_targets(targets)
    return {"disponible": True, "date": provenance.as_of_sentence(targets), "phrases": provenance.provenance_lines(targets, hypotheses),
            "court": provenance.compact_lines(targets, hypotheses),
            "cibles": [{"phrase": provenance.target_sentence(row), "note": row.get("note_totaux") if isinstance(row.get("note_totaux"), str) else ""}
                       for _, row in shown.iterrows()],
            "hypothese": provenance.hypothesis_sentence(hypotheses)}
