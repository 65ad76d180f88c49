"""Page — présidentielle 2027 second rounds by commune (issue 16): choose the first-round hypothesis and the duel, see the
winner and the probability of winning in every commune, and the communes that change side from one duel to another.

Everything is read from the duels stage's stored tables (``dim_hypothese``, ``dim_duel``,
``fact_prevision_duel``), loaded once and cached: a change of hypothesis or duel only filters them and
redraws the maps (``benchmarks/duel_page_timing.py`` measures it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, html

from electio.dashboard import charts, components, data, views
from electio.dashboard.charts import percent

PATH = "/duels"
TITLE = "Seconds tours 2027"
TABLES = ("dim_hypothese", "dim_duel", "fact_prevision_duel")
NO_DUELS = ("Les seconds tours 2027 ne sont pas encore calculés : lancez « electio forecast » sur un entrepôt qui contient les sondages "
            "de la présidentielle 2027, puis rechargez la page.")
SWING_ROWS = 40
SWING_DUELS = 4  # the most polled duels compared in the table (a readable width; the report compares the same ones)


@lru_cache(maxsize=8)
def hypotheses(path: Path) -> pd.DataFrame:
    """Hypotheses whose duels are stored, the retained one first."""
    return data.query(path, "SELECT hypothese_id, libelle, sondages, retenue, par_defaut FROM dim_hypothese WHERE duels_calcules "
                            "ORDER BY retenue DESC, sondages_recents DESC, sondages DESC, hypothese_id")


@lru_cache(maxsize=8)
def duels(path: Path) -> pd.DataFrame:
    """Duels, the most polled first."""
    return data.query(path, "SELECT * FROM dim_duel ORDER BY sondages_fenetre DESC, sondages DESC, duel_id")


@lru_cache(maxsize=8)
def forecasts(path: Path) -> pd.DataFrame:
    """Every stored duel forecast (all hypotheses), read once."""
    return data.query(path, "SELECT * FROM fact_prevision_duel")


@lru_cache(maxsize=1)
def candidates() -> dict[str, str]:
    """Candidate key → display name."""
    from electio.forecasts.hypotheses import candidate_names

    return candidate_names("pres2027_t2")


@lru_cache(maxsize=256)
def selection(path: Path, hypothesis: str, duel: str) -> pd.DataFrame:
    """The first candidate's rows of one hypothesis and duel (communes and territory), with the commune names."""
    first = duels(path).set_index("duel_id").loc[duel, "candidat_a"]
    rows = forecasts(path)
    rows = rows[(rows["hypothese_id"] == hypothesis) & (rows["duel_id"] == duel) & (rows["candidat"] == first)]
    return rows.merge(data.communes(path)[["code_commune", "nom_commune"]], on="code_commune", how="left")


def available(path: Path) -> bool:
    return all(data.has(path, t) for t in TABLES) and not hypotheses(path).empty and not duels(path).empty


def layout(path: Path) -> html.Div:
    """Controls, the two maps side by side, then the table of communes that swing between duels."""
    name = data.territory(path)[1]
    intro = (f"Second tour de la présidentielle 2027 dans le {name}, commune par commune : choisissez l'hypothèse de candidats du premier tour "
             "et le duel. Parts en pourcentage des suffrages exprimés ; probabilités tirées de 2 000 simulations.")
    if not available(path):
        return components.page(TITLE, intro, components.notice(NO_DUELS, "duels-avis"))
    hyp = hypotheses(path)
    hyp_options = [{"label": f"{r.libelle}{' (retenue)' if r.retenue else ''} — {r.sondages} sondage(s)", "value": r.hypothese_id} for r in hyp.itertuples()]
    duel_options = [{"label": f"{r.libelle} ({r.sondages} sondage(s))", "value": r.duel_id} for r in duels(path).itertuples()]
    controls = html.Div([
        components.dropdown("duels-hypothese", "Hypothèse de premier tour", hyp_options, hyp_options[0]["value"]),
        components.dropdown("duels-duel", "Duel de second tour", duel_options, duel_options[0]["value"]),
    ], className="controles")
    maps = html.Div([
        html.Div([components.chart("duels-carte-vainqueur", "duels-carte-vainqueur-texte"), html.Div(id="duels-legende")]),
        components.chart("duels-carte-proba", "duels-carte-proba-texte"),
    ], className="grille")
    swings = components.section("Communes qui changent de camp selon le duel", html.Div(id="duels-bascules"), section_id="duels-section-bascules")
    answer = html.Div(components.key_figure("duels-reponse"), className="reponse")
    return components.page(f"{TITLE} — {name}", intro, answer, controls, maps, swings)


def probability_map(geojson: dict | str, frame: pd.DataFrame, title: str, legend: str) -> go.Figure:
    """Choropleth of a probability per commune (``part`` 0–1), diverging around 50 % (red below, blue above)."""
    fig = go.Figure(go.Choropleth(
        geojson=geojson, locations=frame["code_commune"], z=frame["part"].to_numpy(float) * 100, zmin=0, zmax=100, zmid=50,
        colorscale="RdBu", marker={"line": {"color": "white", "width": 0.4}}, customdata=np.stack([frame["nom_commune"], frame["detail"]], axis=1),
        hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>",
        colorbar={"title": {"text": legend}, "ticksuffix": " %", "thickness": 18, "len": 0.8},
    ))
    return charts.styled(charts._geo(fig), title, charts.MAP_HEIGHT)  # noqa: SLF001  (the maps' shared framing)


def duel_view(path: Path, hypothesis: str, duel: str) -> tuple:
    """Winner map, its sentence and legend, P(win) map and its sentence, the page's answer."""
    described = duels(path).set_index("duel_id").loc[duel]
    names = candidates()
    first, second = (names.get(described[c], described[c]) for c in ("candidat_a", "candidat_b"))
    rows = selection(path, hypothesis, duel)
    territory = data.territory(path)[0]
    total, communes = rows[rows["code_commune"] == territory], rows[rows["code_commune"] != territory]
    communes = communes.assign(bloc=np.where(communes["p_victoire"] > 0.5, described["bloc_a"], described["bloc_b"]),
                               detail=[f"{first} : {percent(m)} des exprimés (80 % : {views.interval(lo, hi)}), probabilité de victoire {percent(p, 0)}"
                                       for m, lo, hi, p in zip(communes["moyenne"], communes["q10"], communes["q90"], communes["p_victoire"], strict=True)])
    colours, labels = data.bloc_colours(path), {described["bloc_a"]: first, described["bloc_b"]: second}
    winner = charts.category_map(data.outlines_url(path), communes, colours, labels, f"{described['libelle']} : vainqueur prévu par commune")
    counts = charts.category_counts(communes["bloc"]).reindex([described["bloc_a"], described["bloc_b"]]).fillna(0).astype(int)
    legend = components.swatches(counts[counts > 0], colours, labels, "duels-legende-vainqueur")
    chance = probability_map(data.outlines_url(path), communes.assign(part=communes["p_victoire"]),
                             f"Probabilité de victoire de {first} par commune", "Probabilité")
    won = int(counts.get(described["bloc_a"], 0))
    winner_text = (f"{first} vainqueur prévu dans {won} commune{'s' if won > 1 else ''} sur {len(communes)} (il y gagne dans plus de la moitié "
                   f"des simulations), {second} dans {len(communes) - won}.")
    likely = int((communes["p_victoire"] >= 0.75).sum()), int((communes["p_victoire"] <= 0.25).sum())
    chance_text = (f"Probabilité de victoire de {first} : de {percent(communes['p_victoire'].min(), 0)} à {percent(communes['p_victoire'].max(), 0)} "
                   f"selon les communes ; au moins 75 % dans {likely[0]} commune(s), au plus 25 % dans {likely[1]}.")
    if total.empty:
        answer = winner_text
    else:
        t = total.iloc[0]
        answer = (f"{described['libelle']} : {first} obtiendrait {percent(t['moyenne'])} des exprimés dans le territoire "
                  f"(80 % : {views.interval(t['q10'], t['q90'])}), probabilité de victoire {percent(t['p_victoire'], 0)} ; "
                  f"sondages nationaux : {percent(described['part_a_sondages'])} pour {first}.")
    return winner, winner_text, legend, chance, chance_text, answer


@lru_cache(maxsize=32)
def swing_view(path: Path, hypothesis: str) -> html.Div:
    """The communes of one hypothesis whose winning side differs between duels (first rows), in an HTML table."""
    from electio.forecasts.duel_charts import swing_table

    rows, communes = forecasts(path), data.communes(path)
    names = dict(zip(communes["code_commune"], communes["nom_commune"], strict=True))
    people = dict(zip(communes["code_commune"], communes["population"], strict=True))
    swings = swing_table(rows[rows["hypothese_id"] == hypothesis], duels(path).head(SWING_DUELS), data.territory(path)[0], names, candidates(), people)
    if swings.empty:
        return components.notice("Sous cette hypothèse, chaque commune a le même camp vainqueur dans tous les duels.")
    headers = {"nom_commune": "Commune", **{c: c for c in swings.columns[2:]}}
    caption = (f"{len(swings)} commune(s) changent de camp vainqueur entre les {SWING_DUELS} duels les plus sondés ; vainqueur prévu "
               "(il gagne dans plus de la moitié des simulations) dans chaque duel, les communes les plus peuplées d'abord"
               + (f", {SWING_ROWS} premières affichées." if len(swings) > SWING_ROWS else "."))
    return components.table(swings.head(SWING_ROWS), headers, "duels-tableau-bascules", caption)


def register(app: Dash, path: Path) -> None:
    """Callbacks: hypothesis and duel → maps and sentences; hypothesis → the table of swinging communes."""

    @app.callback(
        Output("duels-carte-vainqueur", "figure"), Output("duels-carte-vainqueur-texte", "children"), Output("duels-legende", "children"),
        Output("duels-carte-proba", "figure"), Output("duels-carte-proba-texte", "children"), Output("duels-reponse", "children"),
        Input("duels-hypothese", "value"), Input("duels-duel", "value"),
    )
    def update(hypothesis: str, duel: str) -> tuple:
        return duel_view(path, hypothesis, duel)

    @app.callback(Output("duels-bascules", "children"), Input("duels-hypothese", "value"))
    def update_swings(hypothesis: str) -> html.Div:
        return swing_view(path, hypothesis)
