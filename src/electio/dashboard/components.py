"""Small reusable pieces of the dashboard's pages: labelled controls, figures with their key sentence, tables.

Each chart is an HTML ``<figure>`` whose ``<figcaption>`` is a short French sentence stating its
key figure (the text alternative read by screen readers and asserted by the browser tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from electio.analysis.figures import fr_number

TOPOJSON_URL = "/fonds-de-carte/"  # served by the app: an empty world, so that plotly never fetches its own from the Internet
GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": False, "scrollZoom": True, "locale": "fr", "topojsonURL": TOPOJSON_URL}
"""Plotly's tool bar is hidden: its tooltips are English (no French locale is shipped offline); zoom with the mouse wheel."""
DROPDOWN_LABELS = {"select_all": "Tout sélectionner", "deselect_all": "Tout désélectionner", "selected_count": "{num_selected} choisi(s)",
                   "search": "Rechercher", "clear_search": "Effacer la recherche", "clear_selection": "Effacer le choix",
                   "no_options_found": "Aucun résultat"}
Formatter = Callable[[object], str]


def key_figure(sentence_id: str, text: str = "") -> html.P:
    """The sentence that states a chart's key figure."""
    return html.P(text, id=sentence_id, className="cle", **{"aria-live": "polite"})


def chart(graph_id: str, sentence_id: str, figure: go.Figure | None = None, sentence: str = "") -> html.Figure:
    """A graph and, under it, its key sentence (``figcaption``)."""
    graph = dcc.Graph(id=graph_id, figure=figure or go.Figure(), config=GRAPH_CONFIG, className="graphique")
    return html.Figure([graph, html.Figcaption(key_figure(sentence_id, sentence))], className="carte-graphique")


def labelled(control_id: str, label: str, control: object, help_text: str = "") -> html.Div:
    """A control with its visible ``<label>`` (and an optional hint)."""
    parts = [html.Label(label, htmlFor=control_id, className="etiquette")]
    if help_text:
        parts.append(html.Span(help_text, className="aide"))
    return html.Div([*parts, control], className="controle")


def dropdown(control_id: str, label: str, options: Sequence[dict], value: str | None, searchable: bool = False, help_text: str = "") -> html.Div:
    """A labelled dropdown (never empty: no clear button)."""
    control = dcc.Dropdown(id=control_id, options=list(options), value=value, clearable=False, searchable=searchable,
                           placeholder="Choisissez…", labels=DROPDOWN_LABELS)
    return labelled(control_id, label, control, help_text)


def radio(control_id: str, label: str, options: Sequence[dict], value: str | None) -> html.Div:
    """Labelled radio buttons, laid out inline."""
    control = dcc.RadioItems(id=control_id, options=list(options), value=value, inline=True, className="radios")
    return labelled(control_id, label, control)


def notice(text: str, notice_id: str | None = None) -> html.P:
    """An information message (stage not run, missing data…)."""
    return html.P(text, className="avis", role="status", **({"id": notice_id} if notice_id else {}))


def section(title: str, *children: object, section_id: str | None = None) -> html.Section:
    """A titled section of a page."""
    return html.Section([html.H2(title), *children], className="section", **({"id": section_id} if section_id else {}))


def page(title: str, intro: str, *children: object) -> html.Div:
    """A whole page: title, one-sentence introduction, content."""
    return html.Div([html.H1(title), html.P(intro, className="intro"), *children], className="page")


def text(value: object) -> str:
    """Default cell text: numbers the French way, missing values as a dash."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return fr_number(value, 0)
    if isinstance(value, float):
        return fr_number(value, 2)
    return str(value)


def table(frame: pd.DataFrame, headers: Mapping[str, str], table_id: str, caption: str,
          formats: Mapping[str, Formatter] | None = None, highlight: Callable[[pd.Series], bool] | None = None) -> html.Div:
    """An accessible HTML table of ``frame``'s ``headers`` columns (caption, header cells with scope)."""
    formats = formats or {}
    head = html.Thead(html.Tr([html.Th(label, scope="col") for label in headers.values()]))
    rows = []
    for _, row in frame.iterrows():
        cells = [html.Td(formats.get(column, text)(row[column]), **{"data-col": column}) for column in headers]
        rows.append(html.Tr(cells, className="fort" if highlight and highlight(row) else None))
    body = html.Tbody(rows)
    return html.Div(html.Table([html.Caption(caption), head, body], id=table_id, className="tableau"), className="defilement")


def swatches(counts: pd.Series, colours: Mapping[str, str], labels: Mapping[str, str], legend_id: str, unit: str = "commune") -> html.Ul:
    """HTML legend of a category map: a colour square, the label and the count of each category."""
    items = []
    for code, count in counts.items():
        plural = f"{unit}s" if count > 1 else unit
        items.append(html.Li([html.Span(className="pastille", style={"backgroundColor": colours.get(code, "#d9d9d9")}),
                              f"{labels.get(code, code)} : {count} {plural}"], **{"data-bloc": code}))
    return html.Ul(items, id=legend_id, className="legende")
