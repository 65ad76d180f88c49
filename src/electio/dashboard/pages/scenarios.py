"""Page (c) — scenarios: sliders for bloc swings and indicator shifts → updated maps and probabilities.

Computed by the forecast stage's engine (:mod:`electio.dashboard.simulation`); a stored scenario
can be picked as a starting point (it sets the sliders).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, dcc, html

from electio.dashboard import components, data, replays, simulation, views
from electio.dashboard.charts import percent
from electio.errors import ElectioError
from electio.models.evaluate import RETAINED
from electio.models.metrics import MEAN

PATH = "/scenarios"
TITLE = "Scénarios"
SWING_RANGE = 10.0
SHIFT_RANGE = 5.0
MAX_INDICATORS = 4
NO_ENGINE = "Scénarios indisponibles : lancez « electio evaluate » puis « electio forecast », puis relancez « electio serve »."


def slider(kind: str, code: str, label: str, limit: float) -> html.Div:
    """A labelled slider from −limit to +limit (points), 0 in the middle."""
    control_id = {"type": kind, "code": code}
    marks = {v: f"{'+' if v > 0 else ''}{v:g}" for v in (-limit, -limit / 2, 0, limit / 2, limit)}
    control = dcc.Slider(id=control_id, min=-limit, max=limit, step=0.5, value=0, marks=marks, updatemode="mouseup",
                         tooltip={"placement": "top", "always_visible": False})
    return html.Div([html.Span(label, className="etiquette", id=f"etiquette-{kind}-{code}"), control], className="controle",
                    **{"data-code": code})


LEVER_THEMES = ("emploi", "pauvrete_revenus", "logement", "education", "entreprises")
"""Themes whose indicators are offered as what-if levers. Population make-up (foreigners, immigrants, age) and
security stay in the analysis: as levers shown to parties they are politically loaded and move the forecast little."""


def indicator_choices(path: Path) -> list[str]:
    """Percentage indicators the model uses, of the :data:`LEVER_THEMES`, most important first, plus those of the stored scenarios."""
    found = simulation.engine(path)
    if found is None:
        return []
    info = data.indicator_info(path).set_index("indicateur")
    usable = [c for c in found.indicators if c in info.index and info.loc[c, "unite"] == "%" and info.loc[c, "theme"] in LEVER_THEMES]
    ranked = data.drivers(path, RETAINED, MEAN, 200)["variable"].str.removeprefix("f_ind_")
    ordered = [c for c in ranked if c in usable][:MAX_INDICATORS]
    named = [c for _, shifts in simulation.stored_scenarios(path) for c, _ in shifts if c in usable]
    return list(dict.fromkeys([*named, *ordered]))


def preset_options(path: Path) -> list[dict]:
    """Stored scenarios as starting points."""
    rows = data.scenarios(path)
    return [{"label": label, "value": name} for name, label in zip(rows["scenario"], rows.get("libelle", rows["scenario"]), strict=True)
            if name != "personnalise"]


def layout(path: Path) -> html.Div:
    """Target, starting scenario and map bloc; sliders; maps, bars and probabilities."""
    intro = ("Et si… ? Déplacez les curseurs : écart d'un bloc en points sur le total du territoire (les autres blocs s'ajustent "
             "pour que le total fasse 100 %), ou évolution d'un indicateur dans chaque commune. Les cartes et les probabilités se mettent à jour.")
    intro = f"{intro} {replays.as_of_note(path)}".strip()  # ─── as-of date (dashboard/replays.py)
    targets = views.target_options(path)
    if not targets or simulation.engine(path) is None:
        return components.page(TITLE, intro, components.notice(NO_ENGINE, "scenarios-avis"))
    labels = data.bloc_labels(path)
    info = data.indicator_info(path).set_index("indicateur")
    controls = html.Div([
        components.radio("scenario-horizon", "Échéance", targets, targets[0]["value"]),
        components.dropdown("scenario-depart", "Point de départ", preset_options(path), data.TENDANCE, help_text="Un scénario enregistré règle les curseurs."),
        components.dropdown("scenario-bloc", "Bloc de la carte", views.bloc_options(path), str(data.blocs(path)["code_bloc"].iloc[0])),
    ], className="controles")
    swings = [slider("ecart", code, f"{labels[code]} (points)", SWING_RANGE) for code in [*data.blocs(path)["code_bloc"], "abstention"]]
    shifts = [slider("indicateur", code, f"{info.loc[code, 'libelle']} (points)", SHIFT_RANGE) for code in indicator_choices(path)]
    sliders = html.Div([
        html.H2("Écarts des blocs sur le total du territoire"), html.Div(swings, className="curseurs"),
        html.H2("Évolution des indicateurs dans chaque commune"), html.Div(shifts, className="curseurs"),
    ], className="section", id="scenario-curseurs")
    summary = html.Div([components.key_figure("scenario-resume"), html.P(id="scenario-methode", className="aide")], className="section")
    maps = html.Div([
        components.chart("scenario-carte-bloc", "scenario-carte-bloc-texte"),
        html.Div([components.chart("scenario-carte-tete", "scenario-carte-tete-texte"), html.Div(id="scenario-legende")]),
    ], className="grille")
    bars = html.Div([components.chart("scenario-barres", "scenario-barres-texte"),
                     components.chart("scenario-probabilites", "scenario-probabilites-texte")], className="grille")
    return components.page(TITLE, intro, controls, sliders, summary, maps, bars)


def preset_values(path: Path, name: str, codes: list[str], kind: str) -> list[float]:
    """Slider values of a stored scenario (0 for the codes it does not move)."""
    rows = data.scenarios(path)
    text = rows.loc[rows["scenario"] == name, "parametres"]
    parameters = json.loads(text.iloc[0]) if len(text) else {}
    values = parameters.get("swing_points" if kind == "ecart" else "indicateurs", {})
    return [float(values.get(code, 0.0)) for code in codes]


def describe(path: Path, swing: simulation.Settings, shifts: simulation.Settings) -> str:
    """The settings in French: « Extrême droite +5,0 pts ; Taux de chômage +2,0 pts »."""
    labels = data.bloc_labels(path)
    info = data.indicator_info(path).set_index("indicateur")["libelle"]
    parts = [f"{labels.get(c, c)} {views.signed_points(v)}" for c, v in swing] + [f"{info.get(c, c)} {views.signed_points(v)}" for c, v in shifts]
    return " ; ".join(parts) or "aucun écart (tendance)"


def changes(path: Path, rows: pd.DataFrame, key: str) -> str:
    """Comparison with the trend: leading bloc of the territory and communes whose leader changes."""
    labels, code = data.bloc_labels(path), data.territory(path)[0]
    trend = data.forecast_slice(path, key)
    now = data.leaders(rows[rows["code_commune"] != code]).set_index("code_commune")["bloc"]
    before = data.leaders(trend[trend["code_commune"] != code]).set_index("code_commune")["bloc"]
    moved = int((now != before.reindex(now.index)).sum())
    communes = "aucune commune ne change" if not moved else f"{moved} commune{'s changent' if moved > 1 else ' change'}"
    total = rows[(rows["code_commune"] == code) & (rows["bloc"] != "abstention")]
    first = total.loc[total["moyenne"].idxmax()]
    return (f"{labels[first['bloc']]} en tête dans le territoire avec {percent(first['moyenne'])} "
            f"(probabilité {percent(first['p_tete'], 0)}) ; {communes} de bloc en tête par rapport à la tendance.")


def register(app: Dash, path: Path) -> None:
    """Callbacks: starting scenario → sliders; sliders, target and bloc → figures."""

    @app.callback(Output({"type": "ecart", "code": ALL}, "value"), Output({"type": "indicateur", "code": ALL}, "value"),
                  Input("scenario-depart", "value"), State({"type": "ecart", "code": ALL}, "id"), State({"type": "indicateur", "code": ALL}, "id"),
                  prevent_initial_call=True)  # the sliders start at 0, the trend
    def preset(name: str, swing_ids: list[dict], shift_ids: list[dict]) -> tuple:
        return (preset_values(path, name, [i["code"] for i in swing_ids], "ecart"),
                preset_values(path, name, [i["code"] for i in shift_ids], "indicateur"))

    @app.callback(
        Output("scenario-resume", "children"), Output("scenario-methode", "children"),
        Output("scenario-carte-bloc", "figure"), Output("scenario-carte-bloc-texte", "children"),
        Output("scenario-carte-tete", "figure"), Output("scenario-carte-tete-texte", "children"), Output("scenario-legende", "children"),
        Output("scenario-barres", "figure"), Output("scenario-barres-texte", "children"),
        Output("scenario-probabilites", "figure"), Output("scenario-probabilites-texte", "children"),
        Input("scenario-horizon", "value"), Input("scenario-bloc", "value"),
        Input({"type": "ecart", "code": ALL}, "value"), Input({"type": "indicateur", "code": ALL}, "value"),
        State({"type": "ecart", "code": ALL}, "id"), State({"type": "indicateur", "code": ALL}, "id"),
    )
    def update(key: str, bloc: str, swing_values: list, shift_values: list, swing_ids: list[dict], shift_ids: list[dict]) -> tuple:
        swing = simulation.settings({i["code"]: v for i, v in zip(swing_ids, swing_values, strict=True)})
        shifts = simulation.settings({i["code"]: v for i, v in zip(shift_ids, shift_values, strict=True)})
        try:
            rows, stored = simulation.simulate(path, key, swing, shifts)
        except (ElectioError, ValueError) as exc:
            empty = go.Figure()
            return (str(exc), "", empty, "", empty, "", None, empty, "", empty, "")
        view = views.forecast_view(path, rows, bloc, views.target_label(path, key))
        summary = f"Scénario : {describe(path, swing, shifts)}. {changes(path, rows, key)}"
        method = (f"Scénario enregistré « {stored} » (2 000 tirages, identique à « electio forecast »)." if stored else
                  f"Calcul à la volée : total du territoire sur 2 000 tirages, communes sur {simulation.INTERACTIVE_DRAWS} tirages "
                  "(écarts possibles de quelques dixièmes de point avec un calcul complet).")
        return (summary, method, view.share_map, view.share_text, view.leader_map, view.leader_text, view.legend,
                view.bars, view.bars_text, view.probabilities, view.probabilities_text)
