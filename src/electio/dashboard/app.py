"""App factory of the dashboard: French shell (``lang="fr"``), navigation, one callback per page.

Routing is a plain ``dcc.Location`` → page callback (no Dash ``pages`` registry), so that an app
can be built for any warehouse file, several times in one process (tests), with fixed DOM ids.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from types import ModuleType

from dash import Dash, Input, Output, dcc, html
from flask import Response, json

from electio import config
from electio.dashboard import components, data, simulation
from electio.dashboard.components import TOPOJSON_URL
from electio.dashboard.pages import commune, donnees, precision, scenarios, territoire

PAGES: tuple[ModuleType, ...] = (territoire, commune, scenarios, precision, donnees)
TITLE = "Electio — tableau de bord"
INDEX = """<!DOCTYPE html>
<html lang="fr">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
<style>__STYLE__</style>
</head>
<body>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""


def stylesheet() -> str:
    """The dashboard's CSS (shipped beside this module)."""
    return resources.files("electio.dashboard").joinpath("style.css").read_text(encoding="utf-8")


def slug(module: ModuleType) -> str:
    """DOM id suffix of a page: its module name."""
    return module.__name__.rsplit(".", 1)[-1]


def shell(path: Path) -> html.Div:
    """Header with the navigation links, the page container and a footer naming the warehouse."""
    code, name = data.territory(path)
    links = [dcc.Link(module.TITLE, href=module.PATH, id=f"lien-{slug(module)}") for module in PAGES]
    header = html.Header([html.P(f"Electio · {name} ({code})", className="marque"),
                          html.Nav(links, className="navigation", **{"aria-label": "Pages du tableau de bord"})], className="entete")
    footer = html.P(f"Entrepôt lu en lecture seule : {path.name} — données publiques, voir la page « {donnees.TITLE} ».", className="pied")
    return html.Div([dcc.Location(id="url"), dcc.Store(id="titre-onglet"), header, html.Main(id="page", role="main"), footer])


def not_found(pathname: str) -> html.Div:
    """The page of an unknown address: said plainly, with the list of pages."""
    links = html.Ul([html.Li(dcc.Link(module.TITLE, href=module.PATH)) for module in PAGES])
    return components.page("Page introuvable", f"L'adresse « {pathname} » ne correspond à aucune page du tableau de bord. Pages disponibles :", links)


def empty_world(name: str) -> Response:  # noqa: ARG001  (plotly asks for <scope>_<resolution>.json)
    """An empty TopoJSON base map: the maps hide plotly's world layers and draw only the communes."""
    return Response(json.dumps({"type": "Topology", "objects": {}, "arcs": []}), mimetype="application/json")


def create_app(warehouse: Path | None = None) -> Dash:
    """Build the dashboard for one warehouse, its queries run and cached at once."""
    path = (warehouse or config.warehouse_path()).resolve()
    data.warm(path)
    threading.Thread(target=simulation.warm, args=(path,), name="electio-scenarios", daemon=True).start()
    app = Dash(__name__, title=TITLE, update_title=None, suppress_callback_exceptions=True, serve_locally=True,
               meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}])
    app.index_string = INDEX.replace("__STYLE__", stylesheet())
    app.layout = shell(path)
    app.server.add_url_rule(f"{TOPOJSON_URL}<name>", "fonds_de_carte", empty_world)
    routes = {module.PATH: module for module in PAGES}

    @app.callback(Output("page", "children"), *(Output(f"lien-{slug(m)}", "className") for m in PAGES), Input("url", "pathname"))
    def route(pathname: str | None) -> tuple:
        module = routes.get(pathname or "/")
        if module is None:
            return (not_found(pathname or ""), *("" for _ in PAGES))
        return (module.layout(path), *("actif" if m is module else "" for m in PAGES))

    titles = json.dumps({module.PATH: f"{module.TITLE} — {TITLE}" for module in PAGES})
    app.clientside_callback(  # each tab named after its page
        f"function(p) {{ const t = {titles}; document.title = t[p] || 'Page introuvable — {TITLE}'; return document.title; }}",
        Output("titre-onglet", "data"), Input("url", "pathname"))

    for module in PAGES:
        module.register(app, path)
    return app


def serve(warehouse: Path | None = None, port: int = 8050, host: str = "127.0.0.1") -> None:
    """Start the dashboard's web server (blocks until interrupted)."""
    create_app(warehouse).run(host=host, port=port, debug=False)
