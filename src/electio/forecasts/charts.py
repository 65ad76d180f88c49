"""Charts of the forecasts (French): time curves with fans, heat maps, probability maps and bars,
scenario comparison, reliability diagram. PNG (matplotlib, for print) and HTML (plotly, offline).

Style and helpers come from :mod:`electio.analysis.figures` (French numbers, bloc colours, maps,
captions). Figures are drawn for one scenario (the custom one if given, else the first named one
asked for, else ``tendance``), except the scenario comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib import colormaps, colors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from plotly.subplots import make_subplots
from scipy.cluster.hierarchy import leaves_list, linkage

from electio.analysis import figures
from electio.analysis.explore import publishers
from electio.analysis.figures import Layer, finish_figure
from electio.analysis.geometry import commune_shapes
from electio.features.modelling_table import ABSTENTION, TARGET_TYPES, outputs
from electio.forecasts import scenarios as sc
from electio.forecasts.targets import TYPE_LABELS, Target
from electio.forecasts.trajectories import decimal_year
from electio.forecasts.uncertainty import territory_totals

if TYPE_CHECKING:
    from electio.forecasts.stage import ForecastOptions, ForecastResult, Inputs

SHOWN_COMMUNES = 40
MIN_PROBABILITY = 0.05
LEGEND_HEIGHT_IN = 0.35
ABSTENTION_COLOUR = "#555555"
ABSTENTION_LABEL = "Abstention"
SCENARIO_COLOURS = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#D55E00")
SCENARIO_MARKERS = ("o", "s", "D", "^", "v", "P")
BANDS = (("q025", "q975", "95 %", 0.15), ("q10", "q90", "80 %", 0.25), ("q25", "q75", "50 %", 0.4))
TYPE_STYLES = {"presidentielle": ("o", "-"), "europeennes": ("s", "--")}
TARGET_GAP = 0.6
"""Least distance (years) between two forecast bars on the curves: same-day targets stand side by side."""


def percent(value: float, digits: int = 1) -> str:
    """A fraction as a French percentage."""
    return f"{figures.fr_number(100 * value, digits)}\u202f%"


def text_colour(fill: object) -> str:
    """Black or white, whichever reads better on ``fill`` (relative luminance)."""
    red, green, blue = colors.to_rgb(fill)
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"


def html_layout(fig: go.Figure, title: str, text: str, height: int) -> go.Figure:
    """The exploration pages' layout; the title kept in the top margin however tall the page."""
    figures.html_page_layout(fig, title, text, height)
    return fig.update_layout(title_y=1 - 30 / height)


def with_legend_band(width: float, height: float) -> tuple[Figure, Figure, Figure]:
    """A constrained figure split into a thin top band for the legend and a body for the axes.

    (A figure legend « outside upper center » overlaps the title drawn by the figures helpers.)
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    band, body = fig.subfigures(2, 1, height_ratios=[LEGEND_HEIGHT_IN, height - LEGEND_HEIGHT_IN])
    return fig, band, body


# ─── Labels, colours, selections ─────────────────────────────────────────────────────────

def labels(inputs: Inputs) -> dict[str, str]:
    """French label of every output."""
    return {**dict(zip(inputs.blocs["code_bloc"], inputs.blocs["libelle"], strict=True)), ABSTENTION: ABSTENTION_LABEL}


def colours(inputs: Inputs) -> dict[str, str]:
    """Okabe–Ito colour of every bloc, grey for abstention."""
    return {**dict(zip(inputs.blocs["code_bloc"], inputs.blocs["couleur"], strict=True)), ABSTENTION: ABSTENTION_COLOUR}


def focus_scenario(scenarios: Sequence[sc.Scenario], asked: Sequence[str]) -> sc.Scenario:
    """The scenario of the charts: the custom one, else the first named one asked for, else the trend."""
    by_name = {s.nom: s for s in scenarios}
    for name in (sc.CUSTOM, *asked):
        if name in by_name:
            return by_name[name]
    return by_name[sc.TREND]


def select(forecasts: pd.DataFrame, scenario: str, target: Target | None = None, code: str | None = None) -> pd.DataFrame:
    """Rows of one scenario, optionally of one target and one commune (or territory) code."""
    keep = forecasts["scenario"] == scenario
    if target is not None:
        keep &= forecasts["scrutin_cible"] == target.scrutin_cible
    if code is not None:
        keep &= forecasts["code_commune"] == code
    return forecasts[keep]


def largest(inputs: Inputs, count: int) -> list[str]:
    """Codes of the ``count`` communes with the most inscrits at the latest ballot."""
    results = inputs.data.results
    latest = results[results["scrutin_id"] == inputs.data.ballots["scrutin_id"].iloc[-1]]
    return latest.nlargest(count, "inscrits")["code_commune"].tolist()


def names(inputs: Inputs) -> dict[str, str]:
    """Commune names by code, the territory's name for its code."""
    return {**dict(zip(inputs.communes["code_commune"], inputs.communes["nom_commune"], strict=True)),
            inputs.data.territoire: f"{inputs.territory_name} (ensemble du territoire)"}


def caption(inputs: Inputs, note: str, folders: tuple[str, ...] = ("elections", "indicators")) -> str:
    """Sources, ETL date, model and the chart's own note."""
    sources = publishers(inputs.sources, folders) or ["non renseignées"]
    return (f"Sources : {', '.join(sources)}. Entrepôt Electio, ETL du {inputs.run_date:%d/%m/%Y} (territoire {inputs.data.territoire}) ; "
            f"modèle retenu : {inputs.model_name}. {note}").strip()


def method_note(result: ForecastResult) -> str:
    """How the forecasts are made (for captions)."""
    listed = "; ".join(f"{t.libelle}, horizon {t.horizon_ans} an{'s' if t.horizon_ans > 1 else ''}" for t in result.targets)
    as_of = f" au {result.as_of:%d/%m/%Y}" if result.as_of is not None else ""
    draws = figures.fr_number(result.draws, 0)
    return (f"Scrutins prévus (calendrier électoral, prévision établie{as_of}) : {listed}. {polls_note(result)} Intervalles issus de "
            f"{draws} simulations : incertitude du total du territoire (erreur passée des sondages, ou écarts passés entre scrutins de "
            "même type sans sondage, croissant avec l'horizon) et erreurs communales du modèle mesurées en backtest.")


def polls_note(result: ForecastResult) -> str:
    """Polls behind each target's totals and the candidate hypothesis used (:func:`electio.forecasts.provenance.polls_caption`)."""
    from electio.forecasts.provenance import polls_caption
    from electio.forecasts.stage import totals_provenance

    territories = getattr(result, "territories", {}) or {}
    return polls_caption(result.targets, totals_provenance(territories), {k: v.notes for k, v in territories.items()})


# ─── Time curves ─────────────────────────────────────────────────────────────────────────

def history(inputs: Inputs, code: str) -> pd.DataFrame:
    """Observed values of every output at past présidentielles and européennes (territory or one commune)."""
    data = inputs.data
    ballots = data.ballots[data.ballots["type_scrutin"].isin(TARGET_TYPES)]
    names_, stood_in = outputs(data.blocs), ballots.set_index("scrutin_id")[list(data.blocs)]
    rows = []
    for ballot in ballots.itertuples():
        if code == data.territoire:
            values = territory_totals(data, ballot.scrutin_id)
        else:
            found = data.results[(data.results["scrutin_id"] == ballot.scrutin_id) & (data.results["code_commune"] == code)]
            if found.empty:
                continue
            one = found.iloc[0]
            values = np.append(np.nan_to_num(one[[f"voix_{b}" for b in data.blocs]].to_numpy(float)) / one["exprimes"], 1 - one["votants"] / one["inscrits"])
        stood = np.append(stood_in.loc[ballot.scrutin_id].to_numpy(bool), True)
        rows += [(ballot.scrutin_id, ballot.type_scrutin, decimal_year(ballot.date_scrutin), o, v) for o, v, s in zip(names_, values, stood, strict=True) if s]
    return pd.DataFrame(rows, columns=["scrutin_id", "type_scrutin", "annee", "bloc", "valeur"])


def forecast_points(result: ForecastResult, scenario: str, code: str) -> pd.DataFrame:
    """Forecast statistics of one code with the target's type, decimal year, short label (``court``) and drawing
    ``position``: targets closer than :data:`TARGET_GAP` (same day, or a few weeks apart) stand side by side."""
    rows = select(result.forecasts, scenario, code=code)
    meta = pd.DataFrame([(t.scrutin_cible, t.type_scrutin, decimal_year(t.date), t.court.split(" (")[0]) for t in result.targets],
                        columns=["scrutin_cible", "type_scrutin", "annee", "court"])
    return rows.merge(meta.assign(position=figures.side_by_side(meta["annee"], TARGET_GAP)), on="scrutin_cible")


def _draw_history(ax: Axes, past: pd.DataFrame, colour: str) -> None:
    for kind, rows in past.groupby("type_scrutin"):
        marker, line = TYPE_STYLES.get(kind, ("o", "-"))
        ax.plot(rows["annee"], 100 * rows["valeur"], linestyle=line, marker=marker, color=colour, linewidth=1.3, markersize=4.5)


def _draw_forecast(ax: Axes, points: pd.DataFrame, past: pd.DataFrame, colour: str) -> None:
    """One bar per target at its ``position`` (never a band joining two targets), dotted from the last result of its type."""
    for kind, rows in points.groupby("type_scrutin"):
        first = rows.sort_values("annee").iloc[0]
        same = past[past["type_scrutin"] == kind].sort_values("annee")
        if len(same):
            ax.plot([same["annee"].iloc[-1], first["position"]], [100 * same["valeur"].iloc[-1], 100 * first["moyenne"]], linestyle=":", color=colour, linewidth=1)
    for (low, high, _, alpha), width in zip(BANDS, (1.5, 4, 7), strict=True):
        ax.vlines(points["position"], 100 * points[low], 100 * points[high], color=colour, alpha=min(1.0, 2 * alpha), linewidth=width)
    ax.plot(points["position"], 100 * points["moyenne"], marker="D", markersize=4, color="black", markerfacecolor=colour, linestyle="none")


def _target_ticks(ax: Axes, past: pd.DataFrame, points: pd.DataFrame) -> None:
    """Year ticks under the results, and each target's short label under its bar."""
    years = list(range(int(past["annee"].min()), int(past["annee"].max()) + 1, 3)) if len(past) else []
    targets = points.drop_duplicates("scrutin_cible").sort_values("position")
    ax.set_xticks([*years, *targets["position"]], [*map(str, years), *targets["court"]])
    for label in ax.get_xticklabels()[len(years):]:
        label.set_rotation(90)


def curves_figure(result: ForecastResult, inputs: Inputs, code: str, scenario: sc.Scenario) -> Figure:
    """Small multiples (one per output): observed history and forecast fans of a territory or commune."""
    past, points = history(inputs, code), forecast_points(result, scenario.nom, code)
    shown = [o for o in outputs(inputs.data.blocs) if o in set(points["bloc"])]
    rows, columns = figures.grid(len(shown))
    fig, band, body = with_legend_band(4.1 * columns, 3.3 * rows + 1.7)
    axes = body.subplots(rows, columns, squeeze=False)
    label, colour = labels(inputs), colours(inputs)
    for ax, output in zip(axes.flat, shown, strict=False):
        _draw_history(ax, past[past["bloc"] == output], colour[output])
        _draw_forecast(ax, points[points["bloc"] == output], past[past["bloc"] == output], colour[output])
        ax.set_title(label[output], fontsize=10, color="black")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(figures.nice_ticks())
        ax.yaxis.set_major_formatter(figures.fr_formatter(0, "%"))
        ax.tick_params(labelsize=7)
        _target_ticks(ax, past, points[points["bloc"] == output])
        ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color="#444444", marker="o", label="Présidentielle (observé)"),
               Line2D([], [], color="#444444", marker="s", linestyle="--", label="Européennes (observé)"),
               Line2D([], [], color="black", marker="D", markerfacecolor="#999999", linewidth=0.8, label="Prévision : moyenne"),
               *(Patch(facecolor="#444444", alpha=alpha, label=f"Intervalle à {text}") for _, _, text, alpha in BANDS)]
    band.legend(handles=handles, loc="center", ncols=6, fontsize=8, frameon=False)
    title = f"{names(inputs)[code]} : historique et prévisions par bloc — scénario « {scenario.libelle} »"
    note = (method_note(result) + " Parts des exprimés (abstention : part des inscrits). Losanges : moyenne de la distribution "
            "(la médiane est plus basse pour les petits blocs, distributions asymétriques). Pointillés : du dernier scrutin observé du même type "
            "à la première prévision du même type ; une barre par scrutin prévu, nommé sous l'axe (deux scrutins le même jour sont dessinés côte à côte) ; "
            "une prévision ne se compare qu'aux résultats du même type.")
    return finish_figure(fig, title, caption(inputs, note))


def curves_html(result: ForecastResult, inputs: Inputs, code: str, scenario: sc.Scenario) -> go.Figure:
    """Interactive version of :func:`curves_figure`."""
    past, points = history(inputs, code), forecast_points(result, scenario.nom, code)
    shown = [o for o in outputs(inputs.data.blocs) if o in set(points["bloc"])]
    rows, columns = figures.grid(len(shown))
    label, colour = labels(inputs), colours(inputs)
    fig = make_subplots(rows, columns, subplot_titles=[label[o] for o in shown], vertical_spacing=0.12)
    for index, output in enumerate(shown):
        place = {"row": index // columns + 1, "col": index % columns + 1}
        for kind, part in past[past["bloc"] == output].groupby("type_scrutin"):
            fig.add_scatter(x=part["annee"], y=100 * part["valeur"], mode="lines+markers", name=f"{TYPE_LABELS.get(kind, kind).capitalize()} (observé)",
                            line={"color": colour[output], "dash": "dash" if kind == "europeennes" else "solid"}, showlegend=False,
                            text=part["scrutin_id"], hovertemplate="%{text} : %{y:.1f} %<extra></extra>", **place)
        part = points[points["bloc"] == output]
        hover = [f"{t} : moyenne {percent(m)} ; 80 % : {percent(lo)} – {percent(hi)}" for t, m, lo, hi
                 in zip(part["court"], part["moyenne"], part["q10"], part["q90"], strict=True)]
        fig.add_scatter(x=part["position"], y=100 * part["moyenne"], mode="markers+text", marker={"symbol": "diamond", "color": colour[output], "size": 8},
                        showlegend=False, text=part["court"].str.replace(" ", "<br>", n=1), textposition="middle right", textfont={"size": 9},
                        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
                        error_y={"type": "data", "symmetric": False, "array": 100 * (part["q90"] - part["moyenne"]),
                                 "arrayminus": 100 * (part["moyenne"] - part["q10"]), "color": colour[output]}, **place)
        fig.update_yaxes(ticksuffix=" %", rangemode="tozero", **place)
    title = f"{names(inputs)[code]} : historique et prévisions par bloc — scénario « {scenario.libelle} »"
    note = method_note(result) + " Losanges : moyenne ; barres : intervalle à 80 %."
    return html_layout(fig, title, caption(inputs, note), 300 * rows + 300)


# ─── Heat maps ───────────────────────────────────────────────────────────────────────────

def comparable_ballot(inputs: Inputs, target: Target) -> str:
    """The last ballot of the target's type (else the latest ballot)."""
    ballots = inputs.data.ballots
    same = ballots[ballots["type_scrutin"] == target.type_scrutin]
    return str((same if len(same) else ballots)["scrutin_id"].iloc[-1])


def observed_shares(inputs: Inputs, scrutin_id: str) -> pd.DataFrame:
    """Commune × bloc observed shares of one ballot."""
    rows = inputs.data.results[inputs.data.results["scrutin_id"] == scrutin_id].set_index("code_commune")
    blocs = list(inputs.data.blocs)
    return rows[[f"voix_{b}" for b in blocs]].fillna(0.0).div(rows["exprimes"], axis=0).set_axis(blocs, axis=1)


def heat_matrices(result: ForecastResult, inputs: Inputs, target: Target, scenario: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast shares and change vs the comparable ballot (points), commune × bloc (fractions / points)."""
    rows = select(result.forecasts, scenario, target)
    rows = rows[rows["bloc"] != ABSTENTION]
    shares = rows.pivot(index="code_commune", columns="bloc", values="moyenne")
    shares = shares[[b for b in inputs.data.blocs if b in shares.columns]]
    before = observed_shares(inputs, comparable_ballot(inputs, target))
    whole = pd.Series(territory_totals(inputs.data, comparable_ballot(inputs, target))[:-1], index=list(inputs.data.blocs))
    before.loc[inputs.data.territoire] = whole
    return shares, 100 * (shares - before.reindex(index=shares.index, columns=shares.columns))


def cluster_order(matrix: pd.DataFrame) -> list[str]:
    """Rows ordered by Ward hierarchical clustering of their profiles (similar communes side by side)."""
    if len(matrix) < 3:
        return list(matrix.index)
    return list(matrix.index[leaves_list(linkage(matrix.to_numpy(float), method="ward", optimal_ordering=True))])


def _heat_panel(ax: Axes, matrix: pd.DataFrame, cmap: colors.Colormap, norm: colors.Normalize, signed: bool, title: str, columns: list[str]) -> None:
    values = matrix.to_numpy(float)
    image = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            text = ("+" if signed and value > 0.05 else "") + figures.fr_number(value, 1)
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color=text_colour(cmap(norm(value))))
    ax.set_xticks(range(len(columns)), columns, rotation=35, ha="left", fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(matrix)), matrix.index, fontsize=7.5)
    ax.axhline(0.5, color="black", linewidth=1.5)
    ax.set_title(title, fontsize=10)
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.4, pad=0.01, location="bottom")
    bar.ax.xaxis.set_major_formatter(figures.fr_formatter(0, "pts" if signed else "%"))
    bar.ax.tick_params(labelsize=7)


def heat_norms(shares: pd.DataFrame, change: pd.DataFrame) -> tuple[colors.Normalize, colors.Normalize]:
    """Colour ranges: shares from 0 to their maximum (%), changes symmetric around 0 (points)."""
    high = float(np.nanmax(shares.to_numpy(float))) * 100
    spread = float(np.nanpercentile(np.abs(change.to_numpy(float)), 98)) or 1.0
    return colors.Normalize(0, high), colors.Normalize(-spread, spread)


def heat_figure(result: ForecastResult, inputs: Inputs, target: Target, scenario: sc.Scenario) -> Figure:
    """Forecast share and change per bloc for the territory and the largest communes (clustered)."""
    shares, change = heat_matrices(result, inputs, target, scenario.nom)
    shown = [c for c in largest(inputs, SHOWN_COMMUNES) if c in shares.index]
    order = [inputs.data.territoire, *cluster_order(shares.loc[shown])]
    label, named = labels(inputs), names(inputs)
    columns = [label[b] for b in shares.columns]
    share_norm, change_norm = heat_norms(shares.loc[order], change.loc[order])
    fig = Figure(figsize=(15, 0.24 * len(order) + 3.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    reference = comparable_ballot(inputs, target)
    _heat_panel(left, (100 * shares.loc[order]).rename(index=named), colormaps[figures.SEQUENTIAL_CMAP], share_norm, False,
                "Part prévue (moyenne, % des exprimés)", columns)
    _heat_panel(right, change.loc[order].rename(index=named), colormaps[figures.SWING_CMAP], change_norm, True,
                f"Évolution par rapport à : {ballot_label(inputs, reference)} (points)", columns)
    title = f"{target.libelle} : parts prévues par commune — scénario « {scenario.libelle} »"
    note = (f"Les {len(shown)} communes comptant le plus d'inscrits (sur {len(shares) - 1}), regroupées par profil de vote prévu "
            "(classification hiérarchique de Ward) ; toutes les communes figurent dans la version HTML. Première ligne : ensemble du territoire. "
            f"Évolution mesurée par rapport au dernier scrutin du même type. {method_note(result)}")
    return finish_figure(fig, title, caption(inputs, note))


def ballot_label(inputs: Inputs, scrutin_id: str) -> str:
    """French label of a past ballot."""
    found = inputs.ballots.loc[inputs.ballots["scrutin_id"] == scrutin_id, "libelle"]
    return str(found.iloc[0]) if len(found) else scrutin_id


def heat_html(result: ForecastResult, inputs: Inputs, target: Target, scenario: sc.Scenario) -> go.Figure:
    """Interactive heat maps of every commune (share and change side by side)."""
    shares, change = heat_matrices(result, inputs, target, scenario.nom)
    communes = [c for c in shares.index if c != inputs.data.territoire]
    order = [inputs.data.territoire, *cluster_order(shares.loc[communes])]
    label, named = labels(inputs), names(inputs)
    columns, rows = [label[b] for b in shares.columns], [f"{named.get(c, c)} ({c})" for c in order]
    fig = make_subplots(1, 2, horizontal_spacing=0.2)
    spread = float(np.nanpercentile(np.abs(change.to_numpy(float)), 98)) or 1.0
    fig.add_heatmap(z=100 * shares.loc[order].to_numpy(float), x=columns, y=rows, colorscale=figures.plotly_scale(colormaps[figures.SEQUENTIAL_CMAP]),
                    colorbar={"x": 0.41, "len": 0.3, "y": 1, "yanchor": "top", "ticksuffix": " %", "title": {"text": "Part prévue"}},
                    hovertemplate="%{y}<br>%{x} : %{z:.1f} %<extra></extra>", row=1, col=1)
    fig.add_heatmap(z=change.loc[order].to_numpy(float), x=columns, y=rows, zmid=0, zmin=-spread, zmax=spread,
                    colorscale=figures.plotly_scale(colormaps[figures.SWING_CMAP]),
                    colorbar={"len": 0.3, "y": 1, "yanchor": "top", "ticksuffix": " pts", "title": {"text": "Évolution"}},
                    hovertemplate="%{y}<br>%{x} : %{z:+.1f} points<extra></extra>", row=1, col=2)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 9})
    fig.update_xaxes(side="top")
    title = f"{target.libelle} : parts prévues, toutes les communes — scénario « {scenario.libelle} »"
    note = ("À gauche : part prévue (moyenne, % des exprimés) ; à droite : évolution par rapport au dernier scrutin du même type (points). "
            "Communes regroupées par profil de vote prévu (classification de Ward) ; première ligne : ensemble du territoire. " + method_note(result))
    return html_layout(fig, title, caption(inputs, note), 16 * len(order) + 400)


# ─── Probability maps and bars ───────────────────────────────────────────────────────────

def probability_layers(result: ForecastResult, inputs: Inputs, target: Target, scenario: str, column: str, suffix: str = "") -> list[Layer]:
    """One map layer per bloc whose probability (``p_tete`` or ``p_seuil``) reaches :data:`MIN_PROBABILITY` somewhere."""
    rows = select(result.forecasts, scenario, target)
    rows = rows[rows["bloc"] != ABSTENTION]
    territory = rows[rows["code_commune"] == inputs.data.territoire].set_index("bloc")[column]
    wide = rows[rows["code_commune"] != inputs.data.territoire].pivot(index="code_commune", columns="bloc", values=column)
    label, colour = labels(inputs), colours(inputs)
    return [Layer(b, f"{label[b]}{suffix}", 100 * wide[b], figures.bloc_cmap(colour[b]), colors.Normalize(0, 100), "%", 0,
                  100 * float(territory[b]), "Ensemble du territoire")
            for b in inputs.data.blocs if b in wide.columns and wide[b].max() >= MIN_PROBABILITY]


def map_caption(result: ForecastResult, inputs: Inputs, note: str) -> str:
    """Caption of a probability map (with the polygons' source)."""
    return caption(inputs, f"{note} Trait noir sur l'échelle : ensemble du territoire. Contours IGN 2018 fusionnés au COG 2026. {method_note(result)}")


def lead_table(result: ForecastResult, inputs: Inputs, target: Target, scenario: str, codes: Sequence[str]) -> pd.DataFrame:
    """P(lead) of the blocs (columns) for ``codes`` (rows, in order)."""
    rows = select(result.forecasts, scenario, target)
    wide = rows[rows["bloc"] != ABSTENTION].pivot(index="code_commune", columns="bloc", values="p_tete")
    return wide.reindex(index=list(codes), columns=[b for b in inputs.data.blocs if b in wide.columns]).fillna(0.0)


def bars_figure(result: ForecastResult, inputs: Inputs, scenario: sc.Scenario) -> Figure:
    """Stacked bars of P(lead) for the territory and the largest communes, one panel per target."""
    codes = [inputs.data.territoire, *largest(inputs, SHOWN_COMMUNES)]
    named, label, colour = names(inputs), labels(inputs), colours(inputs)
    fig, band, body = with_legend_band(3.6 * len(result.targets) + 2.2, 0.22 * len(codes) + 2.9)
    axes = body.subplots(1, len(result.targets), sharey=True, squeeze=False)[0]
    for ax, target in zip(axes, result.targets, strict=True):
        table = lead_table(result, inputs, target, scenario.nom, codes)
        left = np.zeros(len(table))
        for bloc in table.columns:
            values = 100 * table[bloc].to_numpy(float)
            ax.barh(range(len(table)), values, left=left, color=colour[bloc], edgecolor="white", linewidth=0.3, label=label[bloc])
            for i, (start, width) in enumerate(zip(left, values, strict=True)):
                if width >= 20:
                    ax.text(start + width / 2, i, figures.fr_number(width, 0), ha="center", va="center", fontsize=6, color=text_colour(colour[bloc]))
            left += values
        ax.set_title(target.libelle, fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75])  # no 100 % tick: it would touch the next panel's 0 %
        ax.xaxis.set_major_formatter(figures.fr_formatter(0, "%"))
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(range(len(codes)), [named.get(c, c) for c in codes], fontsize=7.5)
    axes[0].invert_yaxis()
    handles, texts = axes[0].get_legend_handles_labels()
    band.legend(handles, texts, loc="center", ncols=len(texts), fontsize=8, frameon=False)
    title = f"Probabilité que chaque bloc arrive en tête — scénario « {scenario.libelle} »"
    note = (f"Ensemble du territoire (première ligne) et les {len(codes) - 1} communes comptant le plus d'inscrits, par taille décroissante ; "
            f"chiffres : probabilités d'au moins 20 %. {method_note(result)}")
    return finish_figure(fig, title, caption(inputs, note))


def bars_html(result: ForecastResult, inputs: Inputs, scenario: sc.Scenario) -> go.Figure:
    """Interactive stacked bars of P(lead) for every commune, a menu chooses the target."""
    codes = [inputs.data.territoire, *largest(inputs, len(inputs.communes))]
    named, label, colour = names(inputs), labels(inputs), colours(inputs)
    fig = go.Figure()
    for index, target in enumerate(result.targets):
        table = lead_table(result, inputs, target, scenario.nom, codes)
        for bloc in table.columns:
            fig.add_bar(y=[named.get(c, c) for c in codes], x=100 * table[bloc], orientation="h", name=label[bloc], marker_color=colour[bloc],
                        visible=index == 0, legendgroup=bloc, showlegend=True, hovertemplate="%{y}<br>" + label[bloc] + " : %{x:.0f} %<extra></extra>")
    per_target = len(fig.data) // len(result.targets)
    args = [[{"visible": [i // per_target == j for i in range(len(fig.data))]}] for j in range(len(result.targets))]
    fig.update_layout(barmode="stack", updatemenus=figures.dropdown_menu([t.libelle for t in result.targets], args),
                      xaxis={"ticksuffix": " %", "range": [0, 100], "side": "top"},
                      yaxis={"autorange": "reversed", "tickmode": "linear", "dtick": 1, "tickfont": {"size": 9}})
    title = f"Probabilité que chaque bloc arrive en tête, par commune — scénario « {scenario.libelle} »"
    return html_layout(fig, title, caption(inputs, "Communes par nombre d'inscrits décroissant. " + method_note(result)), 16 * len(codes) + 350)


# ─── Scenario comparison ─────────────────────────────────────────────────────────────────

def scenario_figure(result: ForecastResult, inputs: Inputs) -> Figure:
    """Territory mean with 80 % and 95 % intervals per output, one marker per scenario, one panel per target."""
    territory = result.forecasts[result.forecasts["code_commune"] == inputs.data.territoire]
    label = labels(inputs)
    shown = [o for o in outputs(inputs.data.blocs) if o in set(territory["bloc"])]
    columns = min(2, len(result.targets))
    rows = -(-len(result.targets) // columns)
    fig, band, body = with_legend_band(6.6 * columns, (0.3 * len(shown) * max(1.0, len(result.scenarios) / 2) + 1.0) * rows + 2.4)
    axes = body.subplots(rows, columns, squeeze=False, sharex=True)
    offsets = np.linspace(-0.3, 0.3, len(result.scenarios)) if len(result.scenarios) > 1 else np.zeros(1)
    for ax, target in zip(axes.flat, result.targets, strict=False):
        for scenario, offset, colour, marker in zip(result.scenarios, offsets, SCENARIO_COLOURS, SCENARIO_MARKERS, strict=False):
            part = select(territory, scenario.nom, target).set_index("bloc").reindex(shown)
            y = np.arange(len(shown)) + offset
            ax.hlines(y, 100 * part["q025"], 100 * part["q975"], color=colour, linewidth=0.8)
            ax.hlines(y, 100 * part["q10"], 100 * part["q90"], color=colour, linewidth=3)
            ax.plot(100 * part["moyenne"], y, linestyle="none", marker=marker, color=colour, markeredgecolor="white", markersize=6, label=scenario.libelle)
        ax.set_yticks(range(len(shown)), [label[o] for o in shown], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(target.libelle, fontsize=10)
        ax.xaxis.set_major_locator(figures.nice_ticks())
        ax.xaxis.set_major_formatter(figures.fr_formatter(0, "%"))
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(result.targets):]:
        ax.set_visible(False)
    handles, texts = axes.flat[0].get_legend_handles_labels()
    band.legend(handles, texts, loc="center", ncols=min(len(texts), 5), fontsize=8, frameon=False)
    title = f"{inputs.territory_name} : totaux prévus selon le scénario (moyenne, intervalles à 80 % et 95 %)"
    note = ("Symbole : moyenne ; trait épais : intervalle à 80 % ; trait fin : 95 %. Écarts de scénario en points appliqués à chaque simulation "
            "(autres blocs rééchelonnés pour sommer à 100 %) ; les décalages d'indicateurs ne changent pas les totaux du territoire, seulement la "
            "répartition entre communes ; mêmes tirages aléatoires pour tous les scénarios. " + method_note(result))
    return finish_figure(fig, title, caption(inputs, note))


def scenario_html(result: ForecastResult, inputs: Inputs) -> go.Figure:
    """Interactive comparison of scenarios: a menu chooses the target."""
    territory = result.forecasts[result.forecasts["code_commune"] == inputs.data.territoire]
    label = labels(inputs)
    shown = [o for o in outputs(inputs.data.blocs) if o in set(territory["bloc"])]
    fig = go.Figure()
    for index, target in enumerate(result.targets):
        for scenario, colour in zip(result.scenarios, SCENARIO_COLOURS, strict=False):
            part = select(territory, scenario.nom, target).set_index("bloc").reindex(shown)
            fig.add_scatter(x=100 * part["moyenne"], y=[label[o] for o in shown], mode="markers", name=scenario.libelle, visible=index == 0, orientation="h",
                            marker={"color": colour, "size": 10}, hovertemplate="%{y} : %{x:.1f} %<extra>" + scenario.libelle + "</extra>",
                            error_x={"type": "data", "symmetric": False, "array": 100 * (part["q90"] - part["moyenne"]),
                                     "arrayminus": 100 * (part["moyenne"] - part["q10"]), "color": colour, "thickness": 3})
    per_target = len(result.scenarios)
    args = [[{"visible": [i // per_target == j for i in range(len(fig.data))]}] for j in range(len(result.targets))]
    fig.update_layout(updatemenus=figures.dropdown_menu([t.libelle for t in result.targets], args), scattermode="group",
                      xaxis={"ticksuffix": " %"}, yaxis={"autorange": "reversed"})
    title = f"{inputs.territory_name} : totaux prévus selon le scénario (moyenne et intervalle à 80 %)"
    return html_layout(fig, title, caption(inputs, method_note(result)), 700)


# ─── Reliability ─────────────────────────────────────────────────────────────────────────

RELIABILITY_SERIES = {
    ("backtest", True): ("Backtests, totaux départementaux réels donnés", "#009E73", "^"),
    ("backtest", False): ("Backtests, totaux prévus (erreurs communales seules)", "#D55E00", "s"),
    ("simulation", False): ("Simulation des prévisions rejouée (totaux prévus + incertitude du territoire)", "#0072B2", "o"),
}


def reliability_figure(calibration: pd.DataFrame, inputs: Inputs) -> Figure:
    """Reliability diagram of the lead probabilities: stored backtest ones and the replayed forecast simulation."""
    fig = Figure(figsize=(8, 7.4), layout="constrained")
    ax = fig.subplots()
    ax.plot([0, 100], [0, 100], color="#888888", linestyle="--", linewidth=1, label="Fiabilité parfaite")
    for (source, conditional), rows in calibration.groupby(["source", "conditionnel"]):
        text, colour, marker = RELIABILITY_SERIES.get((source, conditional), (f"{source} {conditional}", "#555555", "x"))
        rows = rows[rows["effectif"] > 0]
        ax.plot(100 * rows["proba_moyenne"], 100 * rows["frequence_observee"], marker=marker, color=colour,
                label=f"{text} — Brier {figures.fr_number(rows['brier'].iloc[0], 3)}")
        ax.scatter(100 * rows["proba_moyenne"], 100 * rows["frequence_observee"], s=8 + 4 * np.sqrt(rows["effectif"]), color=colour, alpha=0.3)
    reference = calibration["brier_reference"].iloc[0]
    ax.plot([], [], " ", label=f"Référence (fréquence de tête de chaque bloc, connue après coup) — Brier {figures.fr_number(reference, 3)}")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.xaxis.set_major_formatter(figures.fr_formatter(0, "%"))
    ax.yaxis.set_major_formatter(figures.fr_formatter(0, "%"))
    ax.set_xlabel("Probabilité annoncée d'arriver en tête (moyenne de la classe)", fontsize=9)
    ax.set_ylabel("Fréquence observée d'arrivée en tête", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    ax.grid(color="#eeeeee", linewidth=0.6)
    title = "Fiabilité des probabilités d'arriver en tête (backtests)"
    cases = " ; ".join(f"{text.split(' (')[0]} : {rows['scrutins'].iloc[0]}" for (source, conditional), rows in calibration.groupby(["source", "conditionnel"])
                      for text in [RELIABILITY_SERIES.get((source, conditional), (source,))[0]])
    note = ("Couples commune × bloc regroupés par classes de 10 points de probabilité annoncée ; taille des points ∝ √effectif. "
            f"Brier : moyenne de (probabilité − issue)², 0 = parfait. Scrutins — {cases}. La simulation rejouée n'utilise que les scrutins "
            "antérieurs à chaque scrutin testé.")
    return finish_figure(fig, title, caption(inputs, note, ("elections",)))


# ─── All charts ──────────────────────────────────────────────────────────────────────────

class Writer:
    """Writes PNG and (optionally) HTML files into the forecast folder and remembers them."""

    def __init__(self, folder: Path, html: bool) -> None:
        self.folder, self.html, self.paths = folder, html, []

    def png(self, name: str, fig: Figure) -> None:
        """Write a PNG."""
        self.paths.append(figures.save_png(fig, self.folder / f"{name}.png"))

    def page(self, name: str, make: Callable[[], go.Figure]) -> None:
        """Write the page built by ``make()`` when HTML pages are wanted."""
        if self.html:
            self.paths.append(figures.save_html(make(), self.folder / f"{name}.html"))

    def both(self, name: str, fig: Figure, make: Callable[[], go.Figure]) -> None:
        """A PNG and its HTML page."""
        self.png(name, fig)
        self.page(name, make)


def probability_charts(result: ForecastResult, inputs: Inputs, target: Target, scenario: sc.Scenario, shapes: gpd.GeoDataFrame, missing: tuple[str, ...],
                       threshold: str, write: Writer) -> None:
    """Maps of P(lead) and P(share above the threshold): one PNG each, one HTML page with both (menu)."""
    kinds = (("tete", "p_tete", "probabilité d'arriver en tête", "Probabilité, dans chaque commune, que le bloc arrive en tête."),
             ("seuil", "p_seuil", f"probabilité de dépasser {threshold} des exprimés",
              f"Probabilité, dans chaque commune, que la part du bloc dépasse {threshold} des exprimés."))
    everything = []
    for name, column, what, note in kinds:
        text = map_caption(result, inputs, f"{note} Blocs atteignant {percent(MIN_PROBABILITY, 0)} dans au moins une commune.")
        write.png(f"carte_proba_{name}_{target.scrutin_cible}", figures.map_figure(
            shapes, probability_layers(result, inputs, target, scenario.nom, column), f"{target.libelle} : {what} — scénario « {scenario.libelle} »",
            text, missing))
        everything += probability_layers(result, inputs, target, scenario.nom, column, f" : {what}")
    title = f"{target.libelle} : probabilités par commune — scénario « {scenario.libelle} »"
    write.page(f"carte_probabilites_{target.scrutin_cible}", lambda: figures.map_html(shapes, everything, title, map_caption(result, inputs, "")))


def draw_all(result: ForecastResult, inputs: Inputs, communes: Sequence[str], options: ForecastOptions) -> list[Path]:
    """Every chart of the stage; returns the files written."""
    write = Writer(result.output, options.html)
    scenario = focus_scenario(result.scenarios, options.scenarios)
    for code in [inputs.data.territoire, *communes]:
        name = "territoire" if code == inputs.data.territoire else f"commune_{code}"
        write.both(f"courbes_{name}", curves_figure(result, inputs, code, scenario), lambda c=code: curves_html(result, inputs, c, scenario))
    shapes, cover, _ = commune_shapes(inputs.communes.assign(code_departement=inputs.data.territoire), inputs.mapping)
    for target in result.targets:
        write.both(f"chaleur_{target.scrutin_cible}", heat_figure(result, inputs, target, scenario),
                   lambda t=target: heat_html(result, inputs, t, scenario))
        probability_charts(result, inputs, target, scenario, shapes, cover.missing, percent(options.threshold, 0), write)
    write.both("proba_tete_barres", bars_figure(result, inputs, scenario), lambda: bars_html(result, inputs, scenario))
    write.both("comparaison_scenarios", scenario_figure(result, inputs), lambda: scenario_html(result, inputs))
    if not result.calibration.empty:
        write.png("fiabilite_proba_tete", reliability_figure(result.calibration, inputs))
    return write.paths
