"""Page (d) — model accuracy: backtest table against the baselines, reliability diagram, what accuracy means."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from dash import Dash, html

from electio.analysis.figures import fr_number
from electio.dashboard import charts, components, data, replays
from electio.dashboard.charts import percent
from electio.models.evaluate import MODEL_LABELS, RETAINED
from electio.models.metrics import PLAIN_FRENCH

PATH = "/precision"
TITLE = "Précision des modèles"
BASELINES = ("persistance", "swing_uniforme", "swing_proportionnel", "plancher_bruit", "frequence_tete")
HEADERS = {"nom": "Modèle", "role": "Rôle", "mae_cond": "Erreur moyenne, total départemental connu (points)",
           "mae_non_cond": "Erreur moyenne, total prévu aussi (points)", "acc_tete": "Bloc en tête exact",
           "couv80": "Couverture des intervalles à 80 %", "couv95": "Couverture des intervalles à 95 %"}
EXPLANATION = (
    ("Ce que l'on mesure", "Chaque modèle a prévu la présidentielle 2022 (1er tour) sans l'avoir vue, en n'apprenant que sur les "
     "scrutins antérieurs (« backtest » chronologique). On compare ensuite la prévision au résultat réel, commune par commune."),
    ("Erreur moyenne (MAE), en points", "Écart moyen entre la part prévue et la part obtenue par un bloc dans une commune. "
     "Une erreur de 2 points signifie qu'un bloc prévu à 25 % a obtenu en moyenne entre 23 % et 27 %. Plus c'est bas, mieux c'est."),
    ("Total départemental connu ou prévu", "« Connu » : on donne au modèle le vrai résultat du département et il doit seulement "
     "le répartir entre les communes (précision de la géographie du vote). « Prévu » : il doit aussi deviner le niveau du "
     "département, ce qui ajoute l'incertitude de la campagne : c'est l'erreur à attendre pour une vraie prévision."),
    ("Bloc en tête exact", "Part des communes où le bloc prévu en tête est bien arrivé en tête."),
    ("Couverture des intervalles", "Un intervalle à 80 % doit contenir le vrai résultat 8 fois sur 10 : une couverture proche de "
     "80 % montre que les marges d'incertitude affichées sont honnêtes, ni trop étroites ni trop larges."),
    ("Références", "Persistance (on reprend le dernier résultat) et swing uniforme ou proportionnel (on applique à chaque commune "
     "l'évolution du département) : un modèle n'est utile que s'il fait mieux que ces règles simples."),
    *PLAIN_FRENCH.values(),  # intervals, small communes, coverage, honest references (electio.models.metrics)
)


def role(model: str) -> str:
    """Role of a model in the comparison."""
    return "référence" if model in BASELINES else "modèle retenu" if model == RETAINED else "modèle testé"


def main_test_label(path: Path) -> str:
    """The main test ballot's label (``dim_scrutin``), its id when unknown."""
    test = data.main_test(path)
    found = data.ballots(path).loc[lambda f: f["scrutin_id"] == test, "libelle"]
    return str(found.iloc[0]) if len(found) else test


def accuracy_rows(path: Path) -> pd.DataFrame:
    """The backtest table on the main test ballot, one row per model, baselines first."""
    table = data.accuracy(path, data.main_test(path))
    if table.empty:
        return table
    table = table.reset_index(names="modele")
    chosen = data.retained_model(path)
    names = [f"{MODEL_LABELS.get(chosen, chosen)} (retenu)" if m == RETAINED else MODEL_LABELS.get(m, m) for m in table["modele"]]
    return table.assign(nom=names, role=table["modele"].map(role))


def accuracy_sentence(path: Path, rows: pd.DataFrame) -> str:
    """Key sentence: the retained model's errors against uniform swing."""
    by_model = rows.set_index("modele")
    if RETAINED not in by_model.index or "swing_uniforme" not in by_model.index:
        return "Résultats de backtest incomplets."
    kept, swing = by_model.loc[RETAINED], by_model.loc["swing_uniforme"]
    return (f"{main_test_label(path)} : le modèle retenu se trompe en moyenne de {fr_number(kept['mae_cond'], 2)} points par bloc "
            f"et par commune quand le total départemental est connu (swing uniforme : {fr_number(swing['mae_cond'], 2)}), et de "
            f"{fr_number(kept['mae_non_cond'], 2)} points quand il faut aussi le prévoir ; bloc en tête exact dans "
            f"{percent(kept['acc_tete'], 0)} des communes ; intervalles à 80 % : couverture {percent(kept['couv80'], 0)}.")


def reliability_sentence(bins: pd.DataFrame) -> str:
    """Key sentence: Brier score of the published forecasts (else the backtests) against the no-model reference, and the largest gap."""
    published = bins[(bins["source"] == "simulation") & ~bins["conditionnel"]]
    shown = published if not published.empty else bins[~bins["conditionnel"]] if (~bins["conditionnel"]).any() else bins
    first = shown.iloc[0]
    worst = shown.loc[(shown["frequence"] - shown["proba"]).abs().idxmax()]
    what = "des prévisions publiées" if not published.empty else "des backtests"
    return (f"Score de Brier {what} : {fr_number(first['brier'], 3)} (0 = parfait ; sans modèle : {fr_number(first['brier_reference'], 3)}). "
            f"Plus grand écart : annoncé {percent(worst['proba'], 0)}, observé {percent(worst['frequence'], 0)}.")


def reliability_section(path: Path) -> html.Section:
    """Reliability diagram of the probability of leading, with the Brier scores, from ``forecast_calibration``."""
    title = "Les probabilités annoncées sont-elles fiables ?"
    bins = data.reliability(path)
    if bins.empty:
        note = components.notice("Diagramme indisponible : la calibration des prévisions n'est pas encore calculée (« electio forecast »).")
        return components.section(title, note, section_id="section-fiabilite")
    figure = charts.reliability_chart(bins, "Diagramme de fiabilité — probabilité d'arriver en tête")
    intro = html.P(f"Quand le modèle annonce 70 % de chances qu'un bloc arrive en tête, cela doit se produire environ 7 fois sur 10 : "
                   f"les points doivent suivre la diagonale. Scrutins rejoués : {bins['scrutins'].iloc[-1]}.")
    chart = components.chart("precision-fiabilite", "precision-fiabilite-texte", figure, reliability_sentence(bins))
    return components.section(title, intro, chart, section_id="section-fiabilite")


def layout(path: Path) -> html.Div:
    """Backtest table, reliability diagram and the plain-French explanation."""
    rows = accuracy_rows(path)
    intro = "Avant de se fier aux prévisions : de combien les modèles se sont-ils trompés sur un scrutin qu'ils n'avaient pas vu ?"
    if rows.empty:
        backtest = components.notice("Les modèles ne sont pas encore évalués : lancez « electio evaluate ».", "precision-avis")
    else:
        formats = {"mae_cond": lambda v: fr_number(v, 2), "mae_non_cond": lambda v: fr_number(v, 2),
                   "acc_tete": lambda v: percent(v, 0), "couv80": lambda v: percent(v, 0), "couv95": lambda v: percent(v, 0)}
        backtest = html.Div([
            components.key_figure("precision-texte", accuracy_sentence(path, rows)),
            components.table(rows, HEADERS, "precision-tableau", f"{main_test_label(path)} — erreurs des modèles et des références",
                             formats, lambda r: r["modele"] == RETAINED),
        ])
    explanation = html.Dl([part for term, text in EXPLANATION for part in (html.Dt(term), html.Dd(text))], className="explication")
    return components.page(TITLE, intro,
                           components.section("Erreurs mesurées en backtest", backtest, section_id="section-backtest"),
                           replays.replays_section(path),  # ─── replays of the whole forecast (dashboard/replays.py)
                           reliability_section(path),
                           components.section("Que veut dire « précision » ici ?", explanation, section_id="section-explication"))


def register(app: Dash, path: Path) -> None:
    """No callback: the page is static for a given warehouse."""
