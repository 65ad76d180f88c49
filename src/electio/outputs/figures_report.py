"""Figures of the synthesis report that no earlier stage draws: data-flow diagram, backtests,
accuracy by horizon, forecast against outcome, forward-chaining splits.

Every figure is built from frames the report read in the warehouse (no figure typed by hand);
texts are French, numbers use a decimal comma, bloc colours come from ``dim_bloc``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from electio.analysis.figures import fr_formatter, fr_number, save_png, wrap
from electio.outputs.diagrams import Box, Link, draw

MODEL_COLOURS = {"retenu": "#0072B2", "swing_uniforme": "#E69F00", "persistance": "#999999"}
TRAIN_COLOUR, TEST_COLOUR, UNUSED_COLOUR = "#56B4E9", "#D55E00", "#d9d9d9"


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _caption(fig: Figure, title: str, caption: str) -> None:
    fig.suptitle(title, fontsize=12, fontweight="bold")
    if caption:
        fig.supxlabel(wrap(caption, fig.get_figwidth(), 7), x=0.01, ha="left", fontsize=7, color="#444444")


# ─── Data flow (matplotlib: no system binary needed) ─────────────────────────────────────

def flow_layout(steps: Sequence[tuple[str, str, str, str]], rows: Sequence[Sequence[str]], width: float = 15.0,
                row_height: float = 2.1) -> list[Box]:
    """One box per step, ``rows`` drawn top to bottom, the boxes of a row spread evenly across ``width``."""
    placed = {key: (i, j, len(row)) for i, row in enumerate(rows) for j, key in enumerate(row)}
    extra = [s[0] for s in steps if s[0] not in placed]
    placed |= {key: (len(rows), j, len(extra)) for j, key in enumerate(extra)}
    boxes = []
    for key, title, detail, fill in steps:
        row, column, count = placed[key]
        boxes.append(Box(key, width * (column + 0.5) / count, -row * row_height, title, tuple(textwrap.wrap(detail, 34)),
                         fill, 4.0, 1.25))
    return boxes


def flow_diagram(out_dir: Path, steps: Sequence[tuple[str, str, str, str]], edges: Sequence[tuple[str, str, str]],
                 rows: Sequence[Sequence[str]] = ()) -> Path:
    """``flux_donnees.png``: ``steps`` (node, title, detail, colour), ``edges`` (from, to, label), ``rows``:
    groups of nodes drawn on the same line (top to bottom)."""
    boxes = flow_layout(steps, rows)
    row_of = {key: i for i, row in enumerate(rows) for key in row}
    links = [Link(a, b, label, label_at=0.5 if row_of.get(a) == row_of.get(b) else 0.3) for a, b, label in edges]
    return draw(boxes, links, out_dir / "flux_donnees.png", size=(13.33, 7.0), title_size=14, text_size=11)


# ─── Backtests ───────────────────────────────────────────────────────────────────────────

def backtest_figure(mae: pd.DataFrame, labels: Mapping[str, str], path: Path, caption: str) -> Path:
    """Grouped bars: conditional mean bloc MAE (points) of each model (rows) on each test case (columns)."""
    fig = _figure(9, 4.2)
    ax = fig.add_subplot()
    cases, models = list(mae.columns), list(mae.index)
    width = 0.8 / len(cases)
    palette = ["#0072B2", "#009E73", "#CC79A7", "#E69F00"]
    x = np.arange(len(models))
    for i, case in enumerate(cases):
        values = mae[case].to_numpy(float)
        bars = ax.bar(x + (i - (len(cases) - 1) / 2) * width, values, width, label=case, color=palette[i % len(palette)])
        ax.bar_label(bars, labels=[fr_number(v, 1) for v in values], fontsize=6, padding=1)
    ax.set_xticks(x, [labels.get(m, m) for m in models], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("MAE moyenne par bloc (points)")
    ax.yaxis.set_major_formatter(fr_formatter(0))
    ax.legend(fontsize=7, title="scrutin testé", title_fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    _caption(fig, "Backtests : erreur de chaque modèle sur les scrutins jamais vus à l'entraînement", caption)
    return save_png(fig, path)


def horizon_figure(by_horizon: pd.DataFrame, labels: Mapping[str, str], path: Path, caption: str) -> Path:
    """Lines: conditional mean bloc MAE (points) by horizon (index, years) for each model (columns)."""
    fig = _figure(6.5, 3.6)
    ax = fig.add_subplot()
    for model in by_horizon.columns:
        series = by_horizon[model].dropna()
        ax.plot(series.index, series.to_numpy(float), marker="o", label=labels.get(model, model), color=MODEL_COLOURS.get(model))
        below = model == "retenu"
        for h, v in series.items():
            ax.annotate(fr_number(v, 2), (h, v), textcoords="offset points", xytext=(4, -10 if below else 5), fontsize=7,
                        color=MODEL_COLOURS.get(model, "#333333"))
    ax.set_xticks(list(by_horizon.index), [f"{h} an{'s' if h > 1 else ''}" for h in by_horizon.index])
    ax.set_xlabel("horizon (années entre le dernier scrutin connu et le scrutin prévu)")
    ax.set_ylabel("MAE moyenne par bloc (points)")
    ax.yaxis.set_major_formatter(fr_formatter(0))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    _caption(fig, "Précision selon l'horizon de prévision", caption)
    return save_png(fig, path)


def scatter_figure(points: pd.DataFrame, blocs: pd.DataFrame, path: Path, title: str, caption: str) -> Path:
    """Forecast against outcome, one panel per bloc: ``points`` has bloc, part_prevue, part_observee (fractions)."""
    shown = blocs[blocs["code_bloc"].isin(points["bloc"].unique())]
    columns = 4
    rows = int(np.ceil(len(shown) / columns))
    fig = _figure(10, 2.6 * rows + 0.6)
    for i, bloc in enumerate(shown.itertuples()):
        ax = fig.add_subplot(rows, columns, i + 1)
        part = points[points["bloc"] == bloc.code_bloc]
        x, y = 100 * part["part_prevue"].to_numpy(float), 100 * part["part_observee"].to_numpy(float)
        top = max(x.max(), y.max()) * 1.05
        ax.plot([0, top], [0, top], color="#444444", lw=0.8, ls="--")
        ax.scatter(x, y, s=6, color=bloc.couleur, alpha=0.7, linewidths=0)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_title(bloc.libelle, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_formatter(fr_formatter(0, "%"))
        ax.yaxis.set_major_formatter(fr_formatter(0, "%"))
    fig.supylabel("part observée", fontsize=8)
    _caption(fig, title, caption)
    return save_png(fig, path)


def chaining_figure(ballots: pd.DataFrame, folds: pd.DataFrame, path: Path, caption: str) -> Path:
    """Forward chaining: one line per test ballot; earlier ballots train, the tested one is never seen.

    ``ballots``: scrutin_id, libelle, date_scrutin (every ballot of the warehouse); ``folds``:
    scrutin_test, territoire, entrainement (list of training target ballots).
    """
    fig = _figure(9, 0.55 * len(folds) + 1.6)
    ax = fig.add_subplot()
    dates = pd.to_datetime(ballots["date_scrutin"])
    for row, fold in enumerate(folds.itertuples()):
        test_date = dates[ballots["scrutin_id"] == fold.scrutin_test].iloc[0]
        for sid, date in zip(ballots["scrutin_id"], dates, strict=True):
            colour = TEST_COLOUR if sid == fold.scrutin_test else TRAIN_COLOUR if sid in fold.entrainement else \
                "#a6a6a6" if date < test_date else UNUSED_COLOUR
            ax.scatter(date, row, s=70, color=colour, edgecolors="white", zorder=3)
        ax.plot([dates.min(), test_date], [row, row], color="#bbbbbb", lw=1, zorder=1)
    ax.set_yticks(range(len(folds)), [f"test {f.scrutin_test} ({f.territoire})" for f in folds.itertuples()], fontsize=8)
    ax.invert_yaxis()
    top = ax.secondary_xaxis("top")
    top.set_xticks(list(dates), list(ballots["scrutin_id"]), rotation=35, ha="left", fontsize=7)
    top.tick_params(length=0)
    top.spines["top"].set_visible(False)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right", "left"]].set_visible(False)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=t) for c, t in (
        (TRAIN_COLOUR, "cible d'entraînement"), ("#a6a6a6", "antérieur : variables seulement"),
        (TEST_COLOUR, "scrutin testé (jamais vu)"), (UNUSED_COLOUR, "postérieur : ignoré"))]
    ax.legend(handles=handles, fontsize=7, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    _caption(fig, "Apprentissage supervisé : découpage chronologique (forward chaining)", caption)
    return save_png(fig, path)


# ─── Territory justification ─────────────────────────────────────────────────────────────

def territory_figure(table: pd.DataFrame, territory: str, path: Path, caption: str, named: int = 5) -> Path:
    """Metropolitan départements: bloc distance to France (x, points) against turnout gap (y, points); the territory
    named, the ``named`` closest départements in their own colour (listed in the legend). Overseas départements,
    far from every other, would crush the scale: the caption says how many are left out."""
    overseas = table["code_departement"].str.startswith("97")
    shown = table[~overseas | (table["code_departement"] == territory)]
    fig = _figure(7.5, 3.4)
    ax = fig.add_subplot()
    closest = shown.nsmallest(named, "distance_blocs")
    mine = shown["code_departement"] == territory
    rest = ~mine & ~shown["code_departement"].isin(closest["code_departement"])
    ax.scatter(shown.loc[rest, "distance_blocs"], shown.loc[rest, "ecart_participation"], s=14, color="#9aa5b1", label="autres départements")
    names = ", ".join(closest["nom_departement"])
    ax.scatter(closest["distance_blocs"], closest["ecart_participation"], s=22, color="#009E73", label=wrap(f"{named} plus proches : {names}", 3.2, 7))
    for row in shown[mine].itertuples():
        ax.scatter([row.distance_blocs], [row.ecart_participation], s=70, color="#D55E00", zorder=3, label="territoire étudié")
        ax.annotate(f"{row.nom_departement} : {row.rang}ᵉ sur {len(table)}", (row.distance_blocs, row.ecart_participation), xytext=(12, 14),
                    textcoords="offset points", fontsize=9, fontweight="bold", color="#D55E00",
                    arrowprops={"arrowstyle": "-", "color": "#D55E00", "lw": 0.8})
    ax.set_xlabel("Écart moyen des parts des blocs à la France (points)", fontsize=8)
    ax.set_ylabel("Écart de participation (points)", fontsize=8)
    ax.xaxis.set_major_formatter(fr_formatter(0))
    ax.yaxis.set_major_formatter(fr_formatter(0))
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)
    left_out = int((overseas & (table["code_departement"] != territory)).sum())
    note = f" {left_out} départements d'outre-mer, loin de tous les autres, hors du graphique (comptés dans le rang)." if left_out else ""
    _caption(fig, "Le territoire parmi les départements : écart au vote national", caption + note)
    return save_png(fig, path)
