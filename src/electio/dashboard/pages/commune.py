"""Page (b) — one commune: history and forecast fan, forecast table, indicators against the territory, model drivers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, html

from electio.analysis.explore import theme_label
from electio.analysis.figures import fr_number
from electio.dashboard import charts, components, data, replays, views
from electio.dashboard.charts import percent
from electio.models.evaluate import MODEL_LABELS, RETAINED
from electio.models.metrics import MEAN
from electio.outputs.labels import FEATURE_LABELS

PATH = "/commune"
TITLE = "Commune"
DIRECTION = {"hausse": "une hausse est défavorable", "baisse": "une baisse est défavorable", "neutre": "neutre"}
INDICATOR_HEADERS = {"theme": "Thème", "libelle": "Indicateur", "annee": "Année", "valeur": "Commune", "mediane": "Médiane du territoire",
                     "centile": "Rang parmi les communes", "unite": "Unité", "sens_defavorable": "Sens défavorable", "lecture": "Lecture"}
COUNT_UNITS = frozenset({"nombre", "habitants", "km²"})
"""Units of raw counts and sizes: they grow with the commune, so only rates are compared with the median."""
FORECAST_HEADERS = {"libelle": "Bloc", "moyenne": "Part prévue", "intervalle": "Intervalle à 80 %", "p_tete": "Probabilité d'être en tête"}


def default_commune(path: Path) -> str:
    """The most populous commune (the one a user most likely looks for first)."""
    rows = data.communes(path)
    return str(rows.loc[rows["population"].fillna(0).idxmax(), "code_commune"])


def layout(path: Path) -> html.Div:
    """Commune search, bloc and target selectors, then the four sections."""
    communes = data.communes(path)
    options = [{"label": f"{n} ({c})", "value": c} for c, n in zip(communes["code_commune"], communes["nom_commune"], strict=True)]
    models = [{"label": model_label(path, m), "value": m} for m in data.importance(path)["modele"].drop_duplicates()]
    targets = views.target_options(path)
    controls = html.Div([
        components.dropdown("commune-choix", "Commune", options, default_commune(path), searchable=True, help_text="Tapez les premières lettres du nom."),
        components.dropdown("commune-bloc", "Bloc politique", views.bloc_options(path), str(data.blocs(path)["code_bloc"].iloc[0])),
        components.radio("commune-horizon", "Échéance du tableau de prévision", targets, targets[0]["value"] if targets else None),
    ], className="controles")
    history = html.Div([components.chart("commune-eventail", "commune-eventail-texte"),
                        components.section("Prévisions de la commune", html.Div(id="commune-previsions"), section_id="section-previsions")],
                       className="grille")
    drivers = components.section(
        "Ce qui pèse dans le modèle", html.P("Importance des variables pour l'ensemble des communes : hausse de l'erreur moyenne quand la variable est brouillée."),
        components.dropdown("commune-modele", "Modèle", models, RETAINED if any(m["value"] == RETAINED for m in models) else (models[0]["value"] if models else None)),
        components.chart("commune-facteurs", "commune-facteurs-texte"), section_id="section-facteurs",
    )
    indicators = components.section("Indicateurs de la commune comparés au territoire", html.Div(id="commune-indicateurs"), section_id="section-indicateurs")
    intro = "Historique des résultats, prévision et situation locale d'une commune. Choisissez la commune dans la liste (recherche par nom)."
    intro = f"{intro} {replays.as_of_note(path)}".strip()  # ─── as-of date (dashboard/replays.py)
    return components.page(TITLE, intro, controls, history, indicators, drivers)


def model_label(path: Path, model: str) -> str:
    """French name of a model; the retained one says which model it is."""
    if model == RETAINED:
        chosen = data.retained_model(path)
        return f"Modèle retenu ({MODEL_LABELS.get(chosen, chosen)})"
    return MODEL_LABELS.get(model, model)


def past_points(path: Path, code: str, bloc: str) -> pd.DataFrame:
    """Observed first-round shares of a bloc in a commune: date, label, share."""
    rows = data.history(path)
    rows = rows[(rows["code_commune"] == code) & (rows["bloc"] == bloc)]
    return rows.assign(annee=pd.to_datetime(rows["date_scrutin"]))[["annee", "libelle", "part", "scrutin_id", "type_scrutin"]].reset_index(drop=True)


def future_points(path: Path, code: str, bloc: str) -> pd.DataFrame:
    """Forecast quantiles of a bloc in a commune for every target, dated, with its short label ``court`` (tendance scenario)."""
    targets = data.targets(path)
    rows = data.forecasts(path)
    rows = rows[(rows["scenario"] == data.TENDANCE) & (rows["code_commune"] == code) & (rows["bloc"] == bloc)]
    rows = rows.merge(targets, on=["horizon_ans", "scrutin_cible"])
    short = data.stored_targets(path).set_index("scrutin_cible")["libelle_court"].to_dict()
    court = [str(short.get(t) or label).split(" (")[0] for t, label in zip(rows["scrutin_cible"], rows["label"], strict=True)]
    return rows.assign(annee=pd.to_datetime(rows["date"]), court=court).sort_values("annee").reset_index(drop=True)


def fan_sentence(name: str, label: str, past: pd.DataFrame, future: pd.DataFrame) -> str:
    """Key sentence of the fan chart: last observed share, then the first forecast with its interval."""
    if past.empty:
        return f"{name} : aucun résultat connu pour {label}."
    last = past.iloc[-1]
    text = f"{name}, {label} : {percent(last['part'])} au dernier scrutin ({last['libelle']})"
    if future.empty:
        return text + " ; pas de prévision calculée."
    first = future.iloc[0]
    return (text + f" ; prévision {first['label'].lower()} : {percent(first['moyenne'])} "
            f"(intervalle à 80 % : {views.interval(first['q10'], first['q90'])}).")


def forecast_table(path: Path, code: str, key: str | None) -> html.Div:
    """Every bloc's forecast for the commune at one target."""
    if not key:
        return components.notice("Les prévisions ne sont pas encore calculées : lancez « electio forecast ».")
    rows = data.forecast_slice(path, key)
    rows = data.in_bloc_order(path, rows[(rows["code_commune"] == code) & (rows["bloc"] != "abstention")])
    rows = rows.assign(libelle=rows["bloc"].map(data.bloc_labels(path)),
                       intervalle=[views.interval(lo, hi) for lo, hi in zip(rows["q10"], rows["q90"], strict=True)])
    top = rows["moyenne"].max() if not rows.empty else None
    caption = f"{data.commune_name(path, code)} — {views.target_label(path, key)}"
    return components.table(rows, FORECAST_HEADERS, "commune-tableau-previsions", caption,
                            {"moyenne": percent, "p_tete": lambda p: percent(p, 0)}, lambda r: r["moyenne"] == top)


def reading(value: float, median: float, direction: str, unit: str = "") -> str:
    """Whether the commune is on the unfavourable side of the territory median (rates only: a count is not compared)."""
    if unit in COUNT_UNITS:
        return "effectif : non comparé"
    if direction not in ("hausse", "baisse") or value == median:
        return "—"
    worse = value > median if direction == "hausse" else value < median
    return "moins favorable que la médiane" if worse else "plus favorable que la médiane"


def centile(value: float) -> str:
    """A percentile as French text: ``82e centile`` (share of the communes at or below the commune's value)."""
    rounded = max(1, min(100, round(value)))
    return f"{rounded}{'er' if rounded == 1 else 'e'} centile"


def number(value: float) -> str:
    """A value with decimals suited to its size."""
    return fr_number(value, 0 if abs(value) >= 100 else 1 if abs(value) >= 1 else 2)


def indicator_section(path: Path, code: str) -> list:
    """Key sentence and table of the commune's indicators against the territory median."""
    rows = data.indicator_table(path, code)
    name = data.commune_name(path, code)
    if rows.empty:
        return [components.notice(f"Aucun indicateur local connu pour {name}.")]
    rows = rows.assign(lecture=[reading(v, m, d, u) for v, m, d, u in zip(rows["valeur"], rows["mediane"], rows["sens_defavorable"], rows["unite"], strict=True)])
    judged = rows[rows["lecture"].str.endswith("que la médiane")]
    worse = int((judged["lecture"] == "moins favorable que la médiane").sum())
    sentence = (f"{name} est du côté défavorable de la médiane du territoire pour {worse} taux ou indicateur{'s' if worse > 1 else ''} "
                f"sur {len(judged)} comparables (les effectifs bruts, qui dépendent de la taille de la commune, ne sont pas comparés ; "
                f"{len(rows)} indicateurs affichés).")
    formats = {"valeur": number, "mediane": number, "annee": str, "theme": theme_label, "centile": centile,
               "sens_defavorable": lambda d: DIRECTION.get(str(d), str(d))}
    caption = f"{name} : dernière valeur connue et médiane des communes du territoire la même année"
    table = components.table(rows, INDICATOR_HEADERS, "commune-tableau-indicateurs", caption, formats)
    return [components.key_figure("commune-indicateurs-texte", sentence), table]


def feature_label(path: Path, variable: str) -> str:
    """French label of a model variable (indicators by their ``dim_indicateur`` label)."""
    if variable.startswith("f_ind_"):
        info = data.indicator_info(path)
        found = info.loc[info["indicateur"] == variable.removeprefix("f_ind_"), "libelle"]
        return f"Indicateur : {found.iloc[0]}" if len(found) else variable
    return FEATURE_LABELS.get(variable, variable)


def drivers_view(path: Path, model: str | None, bloc: str) -> tuple:
    """Importance bars of one model for one bloc (its mean over blocs when the bloc has none) and the key sentence."""
    labels = data.bloc_labels(path)
    if not model:
        return charts.styled(go.Figure(), "Importance des variables"), "Les modèles ne sont pas encore évalués : lancez « electio evaluate »."
    rows = data.drivers(path, model, bloc)
    scope = labels.get(bloc, bloc)
    if rows.empty:
        rows, scope = data.drivers(path, model, MEAN), "moyenne des blocs"
    rows = rows.assign(libelle=[feature_label(path, v) for v in rows["variable"]])
    name = model_label(path, model)
    fig = charts.importance_bars(rows, f"Variables les plus influentes — {name}, {scope}")
    if rows.empty:
        return fig, f"Aucune importance mesurée pour le modèle {name}."
    top = rows.iloc[0]
    text = (f"Variable la plus influente ({name}, {scope}) : {top['libelle']} — la brouiller augmente l'erreur moyenne de "
            f"{fr_number(top['importance'], 2)} point{'s' if top['importance'] >= 2 else ''}.")
    return fig, text


def register(app: Dash, path: Path) -> None:
    """Callbacks: commune and bloc → fan chart; commune and target → forecast table; commune → indicators; model and bloc → drivers."""
    colours, labels = data.bloc_colours(path), data.bloc_labels(path)

    @app.callback(Output("commune-eventail", "figure"), Output("commune-eventail-texte", "children"),
                  Input("commune-choix", "value"), Input("commune-bloc", "value"))
    def fan(code: str, bloc: str) -> tuple:
        name, past, future = data.commune_name(path, code), past_points(path, code, bloc), future_points(path, code, bloc)
        fig = charts.fan_chart(past, future, colours[bloc], f"{name} — {labels[bloc]} : résultats et prévision")
        return fig, fan_sentence(name, labels[bloc], past, future)

    @app.callback(Output("commune-choix", "value"), Input("url", "search"))
    def from_address(search: str | None) -> str:
        """The commune of the address (a click on a map opens ``/commune?code=…``), else the default one: an answer is
        always sent, since Dash does not run the callbacks fed only by this value when it sends none on load."""
        code = views.requested_commune(search, set(data.communes(path)["code_commune"]))
        return code or default_commune(path)

    @app.callback(Output("commune-previsions", "children"), Input("commune-choix", "value"), Input("commune-horizon", "value"))
    def forecasts(code: str, key: str | None) -> html.Div:
        return forecast_table(path, code, key)

    @app.callback(Output("commune-indicateurs", "children"), Input("commune-choix", "value"))
    def indicators(code: str) -> list:
        return indicator_section(path, code)

    @app.callback(Output("commune-facteurs", "figure"), Output("commune-facteurs-texte", "children"),
                  Input("commune-modele", "value"), Input("commune-bloc", "value"))
    def drivers(model: str | None, bloc: str) -> tuple:
        return drivers_view(path, model, bloc)
