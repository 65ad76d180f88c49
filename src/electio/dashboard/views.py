"""Forecast views shared by the territory and scenario pages: maps, bars and their key sentences.

Every function takes forecast rows in the shape of ``fact_prevision`` (shares as fractions), so
the scenario page draws its recomputed forecasts exactly like the baseline ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from dash import html

from electio.analysis.figures import fr_number
from electio.dashboard import charts, components, data
from electio.dashboard.charts import percent


@dataclass(frozen=True)
class ForecastView:
    """Figures and key sentences of one set of forecasts."""

    share_map: go.Figure
    share_text: str
    leader_map: go.Figure
    leader_text: str
    legend: html.Ul
    bars: go.Figure
    bars_text: str
    probabilities: go.Figure
    probabilities_text: str


def interval(low: float, high: float) -> str:
    """``de 21,0 % à 27,5 %``."""
    return f"de {percent(low)} à {percent(high)}"


def bloc_options(path: Path) -> list[dict]:
    """Dropdown options of the blocs, in display order."""
    return [{"label": label, "value": code} for code, label in zip(data.blocs(path)["code_bloc"], data.blocs(path)["libelle"], strict=True)]


def target_options(path: Path) -> list[dict]:
    """Radio options of the forecast targets (horizons, then named ballots)."""
    return [{"label": label, "value": key} for key, label in zip(data.targets(path)["key"], data.targets(path)["label"], strict=True)]


def target_label(path: Path, key: str) -> str:
    """French label of a forecast target key."""
    rows = data.targets(path)
    found = rows.loc[rows["key"] == key, "label"]
    return str(found.iloc[0]) if len(found) else data.target_label(*data.parse_target(key))


def named(path: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with the communes' names."""
    return rows.merge(data.communes(path)[["code_commune", "nom_commune"]], on="code_commune", how="inner")


def share_view(path: Path, communes: pd.DataFrame, total: pd.DataFrame, bloc: str, when: str) -> tuple[go.Figure, str]:
    """Map of one bloc's expected share per commune, and its key sentence."""
    labels, colours = data.bloc_labels(path), data.bloc_colours(path)
    rows = named(path, communes[communes["bloc"] == bloc]).rename(columns={"moyenne": "part"})
    rows = rows.assign(detail=[f"{labels[bloc]} : {percent(m)} (80 % : {interval(lo, hi)})"
                               for m, lo, hi in zip(rows["part"], rows["q10"], rows["q90"], strict=True)])
    fig = charts.share_map(data.outlines_url(path), rows, colours[bloc], f"{labels[bloc]} : part prévue par commune", "Part prévue")
    if rows.empty:
        return fig, f"Pas de prévision pour le bloc {labels[bloc]} à cet horizon."
    top = rows.loc[rows["part"].idxmax()]
    whole = total.loc[total["bloc"] == bloc, "moyenne"]
    overall = f"{percent(float(whole.iloc[0]))} des exprimés dans l'ensemble du territoire" if len(whole) else "part du territoire non calculée"
    text = (f"{labels[bloc]}, {when.lower()} : {overall} ; de {percent(rows['part'].min())} à {percent(top['part'])} "
            f"selon les communes (la plus haute : {top['nom_commune']}).")
    return fig, text


def leader_view(path: Path, communes: pd.DataFrame, when: str) -> tuple[go.Figure, str, html.Ul]:
    """Map of the leading bloc per commune, its key sentence and its HTML legend."""
    labels, colours = data.bloc_labels(path), data.bloc_colours(path)
    lead = named(path, data.leaders(communes))
    lead = lead.assign(detail=[f"en tête : {labels[b]} ({percent(m)}, probabilité {percent(p, 0)})"
                               for b, m, p in zip(lead["bloc"], lead["moyenne"], lead["p_tete"], strict=True)])
    counts = charts.category_counts(lead["bloc"])
    order = [b for b in data.blocs(path)["code_bloc"] if b in counts.index]
    counts = counts.reindex(order)
    fig = charts.category_map(data.outlines_url(path), lead, colours, labels, "Bloc prévu en tête par commune")
    legend = components.swatches(counts, colours, labels, "legende-tete")
    if counts.empty:
        return fig, "Pas de prévision à cet horizon.", legend
    ranked = counts.sort_values(ascending=False)
    parts = [f"{labels[b]} dans {n} commune{'s' if n > 1 else ''}" for b, n in ranked.items()]
    text = f"{when} : bloc prévu en tête — {', '.join(parts)} (sur {len(lead)} communes)."
    return fig, text, legend


def territory_view(path: Path, total: pd.DataFrame, when: str) -> tuple[go.Figure, str, go.Figure, str]:
    """Bars of the territory's expected shares and probabilities of leading, with their key sentences."""
    labels, colours = data.bloc_labels(path), data.bloc_colours(path)
    name = data.territory(path)[1]
    bars = charts.territory_bars(total, colours, labels, f"{name} : parts prévues")
    probabilities = charts.probability_bars(total, colours, labels, f"{name} : probabilité d'arriver en tête")
    shares = total[total["bloc"] != "abstention"]
    if shares.empty:
        return bars, "Pas de total départemental prévu à cet horizon.", probabilities, ""
    first = shares.loc[shares["moyenne"].idxmax()]
    bars_text = (f"{name}, {when.lower()} : {labels[first['bloc']]} en tête avec {percent(first['moyenne'])} des exprimés "
                 f"(intervalle à 80 % : {interval(first['q10'], first['q90'])}).")
    likely = shares.loc[shares["p_tete"].idxmax()]
    probabilities_text = (f"Probabilité que {labels[likely['bloc']]} arrive en tête dans le {name} : "
                          f"{percent(likely['p_tete'], 0)}.")
    return bars, bars_text, probabilities, probabilities_text


def split(path: Path, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast rows → (communes' rows, the territory's rows in bloc order)."""
    code = data.territory(path)[0]
    return rows[rows["code_commune"] != code], data.in_bloc_order(path, rows[rows["code_commune"] == code])


def bloc_free_parts(path: Path, rows: pd.DataFrame, when: str) -> tuple:
    """The figures of a target that do not depend on the chosen bloc: leading-bloc map, its sentence and legend, bars,
    probabilities and their sentences (:func:`leader_view` then :func:`territory_view`)."""
    communes, total = split(path, rows)
    return (*leader_view(path, communes, when), *territory_view(path, total, when))


def forecast_view(path: Path, rows: pd.DataFrame, bloc: str, when: str, bloc_free: tuple | None = None) -> ForecastView:
    """All the forecast figures of one target (communes and territory rows together); ``bloc_free``: the
    :func:`bloc_free_parts` of the same rows when already computed."""
    communes, total = split(path, rows)
    share_map, share_text = share_view(path, communes, total, bloc, when)
    return ForecastView(share_map, share_text, *(bloc_free or bloc_free_parts(path, rows, when)))


def signed_points(value: float) -> str:
    """A swing in points with its sign: ``+2,0 pts``."""
    return f"{'+' if value > 0 else ''}{fr_number(value, 1)}\u202fpt{'s' if abs(value) >= 2 else ''}"


def commune_href(click: dict | None) -> str | None:
    """Address of the commune page for a click on a map (plotly ``clickData``), or None."""
    points = (click or {}).get("points") or []
    code = points[0].get("location") if points else None
    return f"/commune?code={code}" if code else None


def requested_commune(search: str | None, known: set[str]) -> str | None:
    """The commune asked for in the address (``?code=69123``) when it is one of ``known``."""
    from urllib.parse import parse_qs

    code = (parse_qs((search or "").lstrip("?")).get("code") or [None])[0]
    return code if code in known else None
