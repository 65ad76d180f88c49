"""App factory of the dashboard: French shell (``lang="fr"``), navigation, one callback per page.

Routing is a plain ``dcc.Location`` → page callback (no Dash ``pages`` registry), so that an app
can be built for any warehouse file, several times in one process (tests), with fixed DOM ids.
"""

from __future__ import annotations

import errno
import functools
import socket
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from types import ModuleType

from dash import Dash, Input, Output, dcc, html
from flask import Response, json

from electio import config
from electio.dashboard import components, data, responses, simulation, views
from electio.dashboard.components import TOPOJSON_URL
from electio.dashboard.pages import commune, donnees, duels, precision, scenarios, territoire
from electio.errors import PortBusy

PAGES: tuple[ModuleType, ...] = (territoire, commune, scenarios, duels, precision, donnees)
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


def clear_caches(sent: responses.ResponseCache | None = None) -> None:
    """Forget every cached query and scenario engine, and the app's callback responses ``sent`` (the warehouse was replaced)."""
    if sent is not None:
        sent.clear()
    for module in (data, simulation, *PAGES):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def warm_engine(path: Path) -> None:
    """Prepare the scenario engine in the background."""
    # not a daemon: a process ending while DuckDB runs in a daemon thread aborts in C++ (exit 134)
    threading.Thread(target=simulation.warm, args=(path,), name="electio-scenarios").start()


def warm(path: Path, engine: bool = True) -> None:
    """Run the page-independent queries now and (``engine``) prepare the scenario engine in the background."""
    data.warm(path)
    if engine:
        warm_engine(path)


def _warm_quietly(path: Path, refill: Callable[[], None] | None = None) -> None:
    """:func:`warm` in the background after a reload, then ``refill`` (the overview's maps): a page that needs a
    missing table says so itself."""
    try:
        data.warm(path)
        if refill is not None:
            refill()
        simulation.warm(path)
    except Exception:  # noqa: BLE001,S110  (only a cache warm-up: the request that needs the data reports the problem)
        pass


def reload_if_replaced(path: Path, sent: responses.ResponseCache | None = None, refill: Callable[[], None] | None = None) -> bool:
    """Before each request: when the warehouse file changed, drop the caches so that pages show the new data
    (queries re-run on demand, the page-independent ones and ``refill`` in the background); whether it reloaded."""
    if not data.replaced(path, sent):
        return False
    clear_caches(sent)
    threading.Thread(target=_warm_quietly, args=(path, refill), name="electio-rechargement").start()
    return True


def outlines_response(path: Path, name: str) -> Response:
    """The commune outlines the maps reference by URL (their name carries a hash of the content: cached for a day)."""
    found = data.outlines_file(path)
    if found is None or found[0] != name:
        return Response("contours introuvables", status=404, mimetype="text/plain")
    return Response(found[1], mimetype="application/geo+json", headers={"Cache-Control": "public, max-age=86400"})


def create_app(warehouse: Path | None = None, engine: bool = True) -> Dash:
    """Build the dashboard for one warehouse, its queries run and cached at once (and again when the file is replaced);
    ``engine``: prepare the scenario engine now, in the background (else the caller starts :func:`warm_engine`)."""
    path = (warehouse or config.warehouse_path()).resolve()
    sent = responses.ResponseCache()
    data.replaced(path, sent)
    warm(path, engine)
    app = Dash(__name__, title=TITLE, update_title=None, suppress_callback_exceptions=True, serve_locally=True,
               meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}])
    app.index_string = INDEX.replace("__STYLE__", stylesheet())
    app.layout = lambda: shell(path)  # rebuilt per page load: the header follows a replaced warehouse
    refill = functools.partial(prefill, app, path)
    app.server.before_request(lambda: None if reload_if_replaced(path, sent, refill) else None)  # Flask: a non-None value would be the response
    responses.install(app.server, sent)
    app.server.add_url_rule(f"{TOPOJSON_URL}<name>", "fonds_de_carte", empty_world)
    app.server.add_url_rule(f"{data.OUTLINES_URL}<name>", "contours", lambda name: outlines_response(path, name))
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


def overview_requests(app: Dash, path: Path) -> list[dict]:
    """The overview page's map callback for every (horizon, bloc), the page's first view first: computed once at start-up."""
    output = next((key for key in app.callback_map if "territoire-carte-bloc.figure" in key), None)
    keys = [option["value"] for option in views.target_options(path)] if data.has(path, "fact_prevision") else []
    if output is None or not keys:
        return []
    first = territoire._default_bloc(path, keys[0])  # noqa: SLF001  (the bloc the page opens on)
    blocs = [first] + [option["value"] for option in views.bloc_options(path) if option["value"] != first]
    return [responses.callback_request(output, {"territoire-horizon.value": key, "territoire-bloc.value": bloc}) for key in keys for bloc in blocs]


def prefill(app: Dash, path: Path, stop: threading.Event | None = None) -> None:
    """Compute the overview maps in the background (a burst of users then only replays them)."""
    try:
        responses.prefill(app.server, overview_requests(app, path), stop)
    except Exception:  # noqa: BLE001,S110  (a warm-up only: a request that needs the data reports the problem)
        pass


def check_port(host: str, port: int) -> None:
    """Raise PortBusy when another program listens on ``host:port`` (checked before the slow start-up)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            raise PortBusy(f"le port {port} de {host} est déjà utilisé par un autre programme (ou un autre tableau de bord) : "
                           f"fermez-le ou choisissez un autre port, ex. « electio serve --port {port + 1} »") from None


def serve(warehouse: Path | None = None, port: int = 8050, host: str = "127.0.0.1") -> None:
    """Start the dashboard's web server (blocks until interrupted).

    The overview's maps (every horizon × bloc) are computed before the server listens: the first users,
    even a burst of them, get answers replayed from the cache instead of sharing the CPU to compute them.
    The scenario engine is prepared next, in the background."""
    check_port(host, port)
    path = (warehouse or config.warehouse_path()).resolve()
    app = create_app(path, engine=False)
    prefill(app, path)
    warm_engine(path)  # after the maps: the two would share the CPU and delay the start
    app.run(host=host, port=port, debug=False)
