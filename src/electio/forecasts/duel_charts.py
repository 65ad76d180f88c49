"""Outputs of the duels: a map of P(win) per duel (the winner is the side above 50 %) and the communes that swing between duels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib import colormaps, colors

from electio.analysis import figures
from electio.analysis.figures import Layer
from electio.analysis.geometry import commune_shapes
from electio.forecasts.duel_stage import DuelResult

MAP_NAME = "carte_duels_proba_victoire.png"
SWING_NAME = "communes_basculant_entre_duels.csv"


def winners(result: DuelResult, territory: str, column: str = "candidat") -> pd.DataFrame:
    """One row per commune, one column per duel: the candidate (or, ``column="bloc"``, its bloc) with the higher mean share."""
    rows = result.forecasts[result.forecasts["code_commune"] != territory]
    blocs = {c: b for d in result.duels for c, b in zip(d.candidats, d.blocs, strict=True)}
    best = rows.sort_values("moyenne", ascending=False).drop_duplicates(["duel_id", "code_commune"]).assign(bloc=lambda f: f["candidat"].map(blocs))
    return best.pivot(index="code_commune", columns="duel_id", values=column)


def swing_table(result: DuelResult, territory: str, names: dict[str, str]) -> pd.DataFrame:
    """Communes whose predicted winner's bloc differs between duels (Le Pen or Bardella alike): code, name, winner per duel (French headers)."""
    wide = winners(result, territory)
    swinging = wide[winners(result, territory, "bloc").nunique(axis=1) > 1]
    labels = {d.duel_id: d.libelle for d in result.duels}
    table = swinging.rename(columns=labels).reset_index()
    table.insert(1, "nom_commune", table["code_commune"].map(names))
    return table


def duel_layers(result: DuelResult, territory: str) -> list[Layer]:
    """P(win) of each duel's first candidate per commune (percent), the territory's as the reference mark."""
    layers = []
    for duel in result.duels:
        rows = result.forecasts[(result.forecasts["duel_id"] == duel.duel_id) & (result.forecasts["candidat"] == duel.candidats[0])]
        values = rows.set_index("code_commune")["p_victoire"]
        layers.append(Layer(duel.duel_id, f"{duel.libelle} : probabilité de victoire du premier", 100 * values.drop(territory, errors="ignore"),
                            colormaps["RdBu"], colors.Normalize(0, 100), "%", 0, 100 * float(values.get(territory, float("nan")))))
    return layers


def draw_duels(result: DuelResult, communes: pd.DataFrame, mapping: pd.DataFrame, territory: str, folder: Path) -> list[Path]:
    """The P(win) map (one panel per duel) and the CSV of swinging communes, written into ``folder``."""
    if not result.duels:
        return []
    shapes, cover, _ = commune_shapes(communes.assign(code_departement=territory), mapping)
    caption = (f"{result.hypothesis.libelle}. Probabilité simulée que le premier candidat dépasse 50 % des exprimés au second tour "
               "(bleu : il gagne, rouge : il perd). Reports de voix des présidentielles 2012–2022, calés sur les sondages du duel. "
               "Contours IGN 2018 fusionnés au COG 2026.")
    png = figures.save_png(figures.map_figure(shapes, duel_layers(result, territory), "Présidentielle 2027, second tour : probabilité de victoire par commune",
                                              caption, cover.missing), folder / MAP_NAME)
    names = dict(zip(communes["code_commune"], communes["nom_commune"], strict=True))
    csv = folder / SWING_NAME
    swing_table(result, territory, names).to_csv(csv, index=False, sep=";", encoding="utf-8-sig")
    return [png, csv]
