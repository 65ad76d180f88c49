"""Plotly figures of the dashboard (French, colour-blind safe, readable on a projector).

Maps are ``go.Choropleth`` traces on the communes' own GeoJSON with the base map hidden, so
nothing is fetched from the Internet. Bloc colours come from ``dim_bloc`` (Okabe–Ito); other
sequential values use cividis. Colour scales are shared with the analysis stage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from electio.analysis.figures import MISSING_COLOUR, bloc_cmap, fr_number, plotly_scale, side_by_side

FONT = {"family": "Arial, Helvetica, sans-serif", "size": 16, "color": "#1a1a1a"}
MAP_HEIGHT = 640
NEUTRAL = "#3b528b"  # a dark blue of the cividis map, for charts that are not about a bloc
PERCENT_TICKS = {"ticksuffix": " %", "tickformat": ".0f"}


def styled(fig: go.Figure, title: str, height: int = 520) -> go.Figure:
    """Common layout: French separators, 16 px text, title above, no plotly logo."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 19}}, height=height, font=FONT,
        separators=",\u202f", margin={"l": 10, "r": 10, "t": 60, "b": 10}, paper_bgcolor="white", plot_bgcolor="white",
        hoverlabel={"font": {"size": 16}, "namelength": -1}, legend={"font": {"size": 15}},
    )
    return fig


def percent(share: float, digits: int = 1) -> str:
    """A share (fraction) as a French percentage: ``0.2345`` → ``23,5 %``."""
    return f"{fr_number(share * 100, digits)}\u202f%" if share == share else "n.d."


def _geo(fig: go.Figure) -> go.Figure:
    """Fit the map to the communes and hide the world base map (no download)."""
    fig.update_geos(fitbounds="locations", visible=False, projection={"type": "mercator"}, bgcolor="white")
    return fig


def share_map(geojson: dict | str, frame: pd.DataFrame, colour: str, title: str, legend: str) -> go.Figure:
    """Choropleth of one share per commune (``code_commune``, ``nom_commune``, ``part``, ``detail``); ``geojson``: outlines or their URL."""
    values = frame["part"].to_numpy(float) * 100
    known = values[np.isfinite(values)]
    low, high = (np.percentile(known, [2, 98]) if known.size else (0.0, 1.0))
    fig = go.Figure(go.Choropleth(
        geojson=geojson, locations=frame["code_commune"], z=values, zmin=float(low), zmax=float(max(high, low + 0.1)),
        colorscale=plotly_scale(bloc_cmap(colour)), marker={"line": {"color": "white", "width": 0.4}},
        customdata=np.stack([frame["nom_commune"], frame["detail"]], axis=1),
        hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>",
        colorbar={"title": {"text": legend}, "ticksuffix": " %", "thickness": 18, "len": 0.8},
    ))
    return styled(_geo(fig), title, MAP_HEIGHT)


def category_map(geojson: dict | str, frame: pd.DataFrame, colours: dict[str, str], labels: dict[str, str], title: str) -> go.Figure:
    """Choropleth of a category per commune (``code_commune``, ``nom_commune``, ``bloc``, ``detail``), one colour each.

    ``geojson``: the outlines or their URL; every trace references the same outlines and draws its own
    communes (``locations``). The legend is drawn in HTML beside the map (see ``components.swatches``),
    so the traces hide theirs.
    """
    fig = go.Figure()
    for bloc, rows in frame.groupby("bloc", sort=False):
        colour = colours.get(bloc, MISSING_COLOUR)
        fig.add_choropleth(
            geojson=geojson, locations=rows["code_commune"], z=np.ones(len(rows)), colorscale=[[0, colour], [1, colour]],
            showscale=False, name=labels.get(bloc, bloc), marker={"line": {"color": "white", "width": 0.4}},
            customdata=np.stack([rows["nom_commune"], rows["detail"]], axis=1),
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>",
        )
    return styled(_geo(fig), title, MAP_HEIGHT)


def territory_bars(rows: pd.DataFrame, colours: dict[str, str], labels: dict[str, str], title: str) -> go.Figure:
    """Horizontal bars of the territory's expected shares with their 80 % interval (q10–q90); values in the axis labels."""
    rows = rows[rows["bloc"] != "abstention"].iloc[::-1]
    mean = rows["moyenne"].to_numpy(float) * 100
    names = [f"{labels.get(b, b)} : {percent(m)}" for b, m in zip(rows["bloc"], rows["moyenne"], strict=True)]
    fig = go.Figure(go.Bar(
        y=names, x=mean, orientation="h", marker={"color": [colours.get(b, MISSING_COLOUR) for b in rows["bloc"]]},
        error_x={"type": "data", "symmetric": False, "array": rows["q90"].to_numpy(float) * 100 - mean,
                 "arrayminus": mean - rows["q10"].to_numpy(float) * 100, "color": "#333333", "thickness": 2, "width": 6},
        customdata=[f"{percent(lo)} à {percent(hi)}" for lo, hi in zip(rows["q10"], rows["q90"], strict=True)],
        hovertemplate="%{y} (80 % : %{customdata})<extra></extra>",
    ))
    fig.update_xaxes(title={"text": "Part des suffrages exprimés (trait : intervalle à 80 %)"}, **PERCENT_TICKS, gridcolor="#e5e5e5")
    return styled(fig, title, 460)


def probability_bars(rows: pd.DataFrame, colours: dict[str, str], labels: dict[str, str], title: str) -> go.Figure:
    """Bars of each bloc's probability of coming first in the territory (``p_tete``)."""
    rows = rows[rows["bloc"] != "abstention"].iloc[::-1]
    fig = go.Figure(go.Bar(
        y=[labels.get(b, b) for b in rows["bloc"]], x=rows["p_tete"].to_numpy(float) * 100, orientation="h",
        marker={"color": [colours.get(b, MISSING_COLOUR) for b in rows["bloc"]]},
        text=[percent(v, 0) for v in rows["p_tete"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y} : %{text}<extra></extra>",
    ))
    fig.update_xaxes(title={"text": "Probabilité d'arriver en tête"}, range=[0, 112], **PERCENT_TICKS, gridcolor="#e5e5e5")
    return styled(fig, title, 420)


TARGET_GAP = {False: 1.0, True: pd.Timedelta(days=365)}
"""Least distance between two forecast bars (years, or days on a date axis): same-day targets stand side by side."""
HISTORY_STYLES = {"presidentielle": ("Présidentielles (observé)", "solid", "circle"), "europeennes": ("Européennes (observé)", "dot", "square"),
                  "legislatives": ("Législatives (observé)", "dashdot", "triangle-up")}


def fan_chart(past: pd.DataFrame, future: pd.DataFrame, colour: str, title: str) -> go.Figure:
    """History of one bloc's share (``annee``, ``part``, ``libelle``) and its forecasts (``annee``, quantiles, ``label``).

    Past results are drawn as one line per ballot type (``type_scrutin`` when given); each forecast target is a
    point (the mean, the central value everywhere) with its 80 % interval (q10–q90, thick bar) and 95 % interval
    (q025–q975, thin bar): targets of different types are never joined by a line (no sawtooth). Targets on the
    same day or close dates are drawn side by side (:func:`side_by_side`), each labelled above its bar (``court`` when
    given, else ``label``).
    """
    fig = go.Figure()
    kinds = past.groupby("type_scrutin", sort=False) if "type_scrutin" in past.columns else [("", past)]
    for kind, part in kinds:  # one line per ballot type: a présidentielle is never joined to a législative (no sawtooth)
        style = HISTORY_STYLES.get(kind, ("Résultats observés", "solid", "circle"))
        fig.add_scatter(x=part["annee"], y=part["part"] * 100, mode="lines+markers", name=style[0],
                        line={"color": colour, "width": 3, "dash": style[1]}, marker={"size": 9, "symbol": style[2]}, customdata=part["libelle"],
                        hovertemplate="%{customdata} : %{y:.1f} %<extra></extra>")
    if not future.empty:
        mean = future["moyenne"].to_numpy(float) * 100
        x = side_by_side(future["annee"], TARGET_GAP[pd.api.types.is_datetime64_any_dtype(future["annee"])])
        for low, high, name, width, opacity in (("q025", "q975", "Intervalle à 95 %", 1.5, 0.45), ("q10", "q90", "Intervalle à 80 %", 5, 0.8)):
            fig.add_scatter(x=x, y=mean, mode="markers", marker={"size": 1, "color": colour}, name=name, hoverinfo="skip",
                            error_y={"type": "data", "symmetric": False, "array": future[high].to_numpy(float) * 100 - mean,
                                     "arrayminus": mean - future[low].to_numpy(float) * 100, "thickness": width, "width": 0,
                                     "color": _rgba(colour, opacity)})
        fig.add_scatter(x=x, y=mean, mode="markers", name="Prévision (moyenne)",
                        marker={"size": 12, "symbol": "diamond", "color": colour, "line": {"color": "white", "width": 1.5}},
                        customdata=future["label"], hovertemplate="%{customdata} : %{y:.1f} %<extra></extra>")
        names = future["court"] if "court" in future.columns else future["label"]
        fig.add_scatter(x=x, y=future["q975"].to_numpy(float) * 100, mode="text", text=names.str.replace(" ", "<br>", n=1), textposition="top center",
                        textfont={"size": 11, "color": "#333333"}, name="Scrutin prévu", showlegend=False, hoverinfo="skip", cliponaxis=False)
    fig.update_yaxes(title={"text": "Part des exprimés"}, ticksuffix=" %", rangemode="tozero", gridcolor="#e5e5e5")
    fig.update_xaxes(title={"text": "Année"}, dtick="M24", tickformat="%Y", gridcolor="#f0f0f0")
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return styled(fig, title, 500)


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` with an opacity, for plotly fills."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def importance_bars(rows: pd.DataFrame, title: str) -> go.Figure:
    """Horizontal bars of permutation importance (``libelle``, ``importance`` in points, ``ecart_type``)."""
    rows = rows.iloc[::-1]
    fig = go.Figure(go.Bar(
        y=rows["libelle"], x=rows["importance"], orientation="h", marker={"color": NEUTRAL},
        text=[f"+{fr_number(v, 2)} pt" for v in rows["importance"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y} : %{text}<extra></extra>",
    ))
    fig.update_xaxes(title={"text": "Hausse de l'erreur moyenne quand la variable est brouillée (points)"}, gridcolor="#e5e5e5")
    return styled(fig, title, max(360, 44 * len(rows) + 140))


RELIABILITY_SERIES = (("simulation", False, "Prévisions publiées (totaux prévus, simulation rejouée)", "#D55E00", "circle"),
                      ("backtest", False, "Modèle seul, totaux prévus", "#56B4E9", "diamond"),
                      ("backtest", True, "Modèle seul, totaux connus", "#0072B2", "square"))


def reliability_chart(bins: pd.DataFrame, title: str) -> go.Figure:
    """Reliability diagram: announced probability (x) against observed frequency (y), one line per backtest kind.

    ``bins``: source, conditionnel, proba, frequence, effectif (point area grows with the number of cases).
    """
    fig = go.Figure()
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name="Fiabilité parfaite", line={"color": "#777777", "dash": "dot", "width": 2})
    for source, flag, name, colour, symbol in RELIABILITY_SERIES:
        rows = bins[(bins["source"] == source) & (bins["conditionnel"] == flag)]
        if rows.empty:
            continue
        sizes = rows["effectif"].to_numpy(float)
        fig.add_scatter(x=rows["proba"] * 100, y=rows["frequence"] * 100, mode="lines+markers", name=name,
                        line={"color": colour, "width": 3}, customdata=sizes,
                        marker={"size": 9 + 16 * np.sqrt(sizes / sizes.max()), "color": colour, "symbol": symbol, "line": {"color": "white", "width": 1}},
                        hovertemplate="annoncé %{x:.0f} % → observé %{y:.0f} % (%{customdata:.0f} cas)<extra></extra>")
    axis = {"range": [-2, 102], "ticksuffix": " %", "gridcolor": "#e5e5e5", "dtick": 20}
    fig.update_xaxes(title={"text": "Probabilité annoncée d'arriver en tête"}, **axis)
    fig.update_yaxes(title={"text": "Fréquence observée"}, **axis)
    fig.update_layout(legend={"orientation": "h", "y": -0.18})
    return styled(fig, title, 560)


def category_counts(values: Sequence[str]) -> pd.Series:
    """How many times each category appears (for the HTML legend of a category map)."""
    return pd.Series(list(values)).value_counts()
