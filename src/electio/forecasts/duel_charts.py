"""Outputs of the duels: maps of the winner and of P(win) per duel, and the communes that swing between duels.

The functions read plain frames shaped like the warehouse tables (``fact_prevision_duel`` rows of one
hypothesis, ``dim_duel`` rows), so that the stage (from its :class:`~.duel_stage.DuelResult`), the report
and the dashboard (from the warehouse) draw the same things.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib import colormaps, colors

from electio.analysis import figures
from electio.analysis.figures import Layer
from electio.analysis.geometry import commune_shapes
from electio.forecasts.duel_stage import DuelResult

MAP_NAME = "carte_duels_proba_victoire.png"
WINNER_MAP_NAME = "carte_duels_vainqueur.png"
SWING_NAME = "communes_basculant_entre_duels.csv"
SOURCE = "Reports de voix des présidentielles 2012–2022, calés sur les sondages du duel. Contours IGN 2018 fusionnés au COG 2026."


def duel_frame(result: DuelResult) -> pd.DataFrame:
    """``dim_duel``-like rows (duel_id, libelle, candidat_a, candidat_b, bloc_a, bloc_b) of the stage's duels."""
    return pd.DataFrame([{"duel_id": d.duel_id, "libelle": d.libelle, "candidat_a": d.candidats[0], "candidat_b": d.candidats[1],
                          "bloc_a": d.blocs[0], "bloc_b": d.blocs[1]} for d in result.duels])


def winners(forecasts: pd.DataFrame, duels: pd.DataFrame, territory: str, column: str = "candidat") -> pd.DataFrame:
    """One row per commune, one column per duel: the candidate (or, ``column="bloc"``, its bloc) with the higher mean share."""
    rows = forecasts[forecasts["code_commune"] != territory]
    blocs = {**dict(zip(duels["candidat_a"], duels["bloc_a"], strict=True)), **dict(zip(duels["candidat_b"], duels["bloc_b"], strict=True))}
    best = rows.sort_values("moyenne", ascending=False).drop_duplicates(["duel_id", "code_commune"]).assign(bloc=lambda f: f["candidat"].map(blocs))
    return best.pivot(index="code_commune", columns="duel_id", values=column)


def swing_table(forecasts: pd.DataFrame, duels: pd.DataFrame, territory: str, names: dict[str, str],
                candidates: dict[str, str] | None = None) -> pd.DataFrame:
    """Communes whose predicted winner's bloc differs between duels (Le Pen or Bardella alike): code, name, winner per duel
    (French headers; ``candidates``: key → display name)."""
    wide = winners(forecasts, duels, territory)
    swinging = wide[winners(forecasts, duels, territory, "bloc").nunique(axis=1) > 1]
    if candidates:
        swinging = swinging.apply(lambda column: column.map(lambda key: candidates.get(key, key)))
    table = swinging.rename(columns=dict(zip(duels["duel_id"], duels["libelle"], strict=True))).reset_index()
    table.insert(1, "nom_commune", table["code_commune"].map(names))
    return table


def _first_candidate(forecasts: pd.DataFrame, duel: pd.Series) -> pd.Series:
    rows = forecasts[(forecasts["duel_id"] == duel["duel_id"]) & (forecasts["candidat"] == duel["candidat_a"])]
    return rows.set_index("code_commune")


def probability_layers(forecasts: pd.DataFrame, duels: pd.DataFrame, territory: str) -> list[Layer]:
    """P(win) of each duel's first candidate per commune (percent), the territory's as the reference mark."""
    layers = []
    for _, duel in duels.iterrows():
        values = _first_candidate(forecasts, duel)["p_victoire"]
        layers.append(Layer(duel["duel_id"], f"{duel['libelle']} : probabilité de victoire du premier", 100 * values.drop(territory, errors="ignore"),
                            colormaps["RdBu"], colors.Normalize(0, 100), "%", 0, 100 * float(values.get(territory, float("nan")))))
    return layers


def winner_layers(forecasts: pd.DataFrame, duels: pd.DataFrame, territory: str, colours: dict[str, str], names: dict[str, str]) -> list[Layer]:
    """The winner of each duel per commune: the first candidate's mean share (percent) in two colours, its bloc's above 50 %."""
    layers = []
    for _, duel in duels.iterrows():
        values = 100 * _first_candidate(forecasts, duel)["moyenne"]
        cmap = colors.ListedColormap([colours.get(duel["bloc_b"], "#d55e00"), colours.get(duel["bloc_a"], "#0072b2")])
        first, second = (names.get(duel[c], duel[c]) for c in ("candidat_a", "candidat_b"))
        layers.append(Layer(duel["duel_id"], f"{duel['libelle']} : {first} en tête au-dessus de 50 %, {second} en dessous",
                            values.drop(territory, errors="ignore"), cmap, colors.BoundaryNorm([0, 50, 100], 2), "%", 0,
                            float(values.get(territory, float("nan")))))
    return layers


def draw_maps(forecasts: pd.DataFrame, duels: pd.DataFrame, label: str, communes: pd.DataFrame, mapping: pd.DataFrame, territory: str,
              colours: dict[str, str], names: dict[str, str], folder: Path) -> list[Path]:
    """The winner map and the P(win) map (one panel per duel) of one hypothesis (``label``), written into ``folder``."""
    shapes, cover, _ = commune_shapes(communes.assign(code_departement=territory), mapping)
    title = "Présidentielle 2027, second tour"
    winner = figures.map_figure(shapes, winner_layers(forecasts, duels, territory, colours, names), f"{title} : vainqueur prévu par commune",
                                f"{label}. Part moyenne simulée du premier candidat parmi les exprimés ; couleur du bloc du vainqueur. {SOURCE}",
                                cover.missing)
    chance = figures.map_figure(shapes, probability_layers(forecasts, duels, territory), f"{title} : probabilité de victoire par commune",
                                f"{label}. Probabilité simulée que le premier candidat dépasse 50 % des exprimés (bleu : il gagne, rouge : il perd). "
                                f"{SOURCE}", cover.missing)
    return [figures.save_png(winner, folder / WINNER_MAP_NAME), figures.save_png(chance, folder / MAP_NAME)]


def draw_duels(result: DuelResult, communes: pd.DataFrame, mapping: pd.DataFrame, territory: str, folder: Path,
               colours: dict[str, str] | None = None) -> list[Path]:
    """The stage's outputs for the chosen hypothesis: both maps and the CSV of swinging communes, written into ``folder``."""
    if not result.duels:
        return []
    from electio.forecasts.hypotheses import candidate_names

    duels, forecasts = duel_frame(result), result.retained()
    names = dict(zip(communes["code_commune"], communes["nom_commune"], strict=True))
    people = candidate_names("pres2027_t2")
    paths = draw_maps(forecasts, duels, result.hypothesis.libelle, communes, mapping, territory, colours or {}, people, folder)
    csv = folder / SWING_NAME
    swing_table(forecasts, duels, territory, names, people).to_csv(csv, index=False, sep=";", encoding="utf-8-sig")
    return [*paths, csv]
