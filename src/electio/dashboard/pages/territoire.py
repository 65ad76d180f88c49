"""Page (a) — territory overview: forecast maps by bloc and of the leading bloc, for a chosen horizon."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from dash import Dash, Input, Output, callback_context, html, no_update

from electio.dashboard import components, data, replays, views

PATH = "/"
TITLE = "Vue d'ensemble"
NO_FORECAST = "Les prévisions ne sont pas encore calculées : lancez « electio forecast », puis rechargez la page."


def layout(path: Path) -> html.Div:
    """Controls, two maps side by side, then the territory's shares and probabilities."""
    name = data.territory(path)[1]
    intro = (f"Prévision tendancielle des résultats par commune dans le {name} : choisissez l'échéance et le bloc politique. "
             "Les parts sont exprimées en pourcentage des suffrages exprimés.")
    intro = f"{intro} {replays.as_of_note(path)}".strip()  # ─── as-of date (dashboard/replays.py)
    options = views.target_options(path)
    if not options:
        return components.page(f"{TITLE} — {name}", intro, components.notice(NO_FORECAST, "territoire-avis"))
    blocs = views.bloc_options(path)
    controls = html.Div([
        components.radio("territoire-horizon", "Échéance de la prévision", options, options[0]["value"]),
        components.dropdown("territoire-bloc", "Bloc politique de la carte", blocs, _default_bloc(path, options[0]["value"])),
    ], className="controles")
    maps = html.Div([
        components.chart("territoire-carte-bloc", "territoire-carte-bloc-texte"),
        html.Div([components.chart("territoire-carte-tete", "territoire-carte-tete-texte"), html.Div(id="territoire-legende")]),
    ], className="grille")
    bars = html.Div([
        components.chart("territoire-barres", "territoire-barres-texte"),
        components.chart("territoire-probabilites", "territoire-probabilites-texte"),
    ], className="grille")
    answer = html.Div(components.key_figure("territoire-reponse"), className="reponse")  # the answer, above the fold
    sources = replays.provenance_section(path)  # ─── as-of date, polls, hypothesis (dashboard/replays.py)
    return components.page(f"{TITLE} — {name}", intro, answer, controls, maps, bars, *([sources] if sources else []))


def _default_bloc(path: Path, key: str) -> str:
    """The bloc leading the territory at the first horizon (else the first bloc)."""
    total = data.territory_forecast(path, key)
    shares = total[total["bloc"] != "abstention"]
    return str(shares.loc[shares["moyenne"].idxmax(), "bloc"]) if not shares.empty else str(data.blocs(path)["code_bloc"].iloc[0])


@lru_cache(maxsize=32)
def _bloc_free_parts(path: Path, key: str) -> tuple:
    """A target's figures that do not depend on the bloc (leading-bloc map, bars, probabilities): computed once for all
    its blocs (emptied with the other caches when the warehouse is replaced)."""
    return views.bloc_free_parts(path, data.forecast_slice(path, key), views.target_label(path, key))


def register(app: Dash, path: Path) -> None:
    """Callback: horizon and bloc → maps, bars and their sentences."""

    @app.callback(
        Output("territoire-carte-bloc", "figure"), Output("territoire-carte-bloc-texte", "children"),
        Output("territoire-carte-tete", "figure"), Output("territoire-carte-tete-texte", "children"), Output("territoire-legende", "children"),
        Output("territoire-barres", "figure"), Output("territoire-barres-texte", "children"),
        Output("territoire-probabilites", "figure"), Output("territoire-probabilites-texte", "children"), Output("territoire-reponse", "children"),
        Input("territoire-horizon", "value"), Input("territoire-bloc", "value"),
    )
    def update(key: str, bloc: str) -> tuple:
        view = views.forecast_view(path, data.forecast_slice(path, key), bloc, views.target_label(path, key), _bloc_free_parts(path, key))
        return (view.share_map, view.share_text, view.leader_map, view.leader_text, view.legend,
                view.bars, view.bars_text, view.probabilities, view.probabilities_text,
                f"{view.bars_text} {view.probabilities_text} {view.leader_text}")

    @app.callback(Output("url", "href"), Input("territoire-carte-bloc", "clickData"), Input("territoire-carte-tete", "clickData"),
                  prevent_initial_call=True)
    def open_commune(*clicks: dict | None) -> str:
        """A click on a commune of either map opens its page."""
        href = views.commune_href(callback_context.triggered[0]["value"] if callback_context.triggered else None)
        return href if href else no_update
