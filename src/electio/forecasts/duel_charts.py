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
MAIN_SUFFIX = "_principaux"  # the same maps for the MAIN_DUELS most polled duels only (slides)
MAIN_DUELS = 4
SWING_NAME = "communes_basculant_entre_duels.csv"
SOURCE = "Reports de voix des présidentielles 2012–2022, calés sur les sondages du duel. Contours IGN 2018 fusionnés au COG 2026."


def duel_frame(result: DuelResult) -> pd.DataFrame:
    """``dim_duel``-like rows (duel_id, libelle, candidat_a, candidat_b, bloc_a, bloc_b) of the stage's duels."""
    return pd.DataFrame([{"duel_id": d.duel_id, "libelle": d.libelle, "candidat_a": d.candidats[0], "candidat_b": d.candidats[1],
                          "bloc_a": d.blocs[0], "bloc_b": d.blocs[1]} for d in result.duels])


def winners(forecasts: pd.DataFrame, duels: pd.DataFrame, territory: str, column: str = "candidat") -> pd.DataFrame:
    """One row per commune, one column per duel: the predicted winner, the candidate who wins in more than half of the
    simulations (``column="premier"``: whether it is the duel's first candidate, the one further left)."""
    rows = forecasts[(forecasts["code_commune"] != territory) & forecasts["duel_id"].isin(duels["duel_id"])]
    best = rows.sort_values(["p_victoire", "moyenne"], ascending=False).drop_duplicates(["duel_id", "code_commune"])
    best = best.assign(premier=best["candidat"] == best["duel_id"].map(dict(zip(duels["duel_id"], duels["candidat_a"], strict=True))))
    return best.pivot(index="code_commune", columns="duel_id", values=column).reindex(columns=list(duels["duel_id"]))


def swing_table(forecasts: pd.DataFrame, duels: pd.DataFrame, territory: str, names: dict[str, str],
                candidates: dict[str, str] | None = None, population: dict[str, float] | None = None) -> pd.DataFrame:
    """Communes that change side between the duels of ``duels``: won by the first candidate (the one further left) in some,
    by the second in others — Philippe then Mélenchon against Le Pen is no change, Philippe against Le Pen then Bardella
    against Mélenchon is. Code, name, winner per duel (French headers; ``candidates``: key → display name), the most
    populous first when ``population`` is given."""
    wide = winners(forecasts, duels, territory)
    swinging = wide[winners(forecasts, duels, territory, "premier").nunique(axis=1) > 1]
    if population:
        swinging = swinging.loc[sorted(swinging.index, key=lambda code: -float(population.get(code, 0) or 0))]
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
    """The winner of each duel per commune (who wins in more than half of the simulations): the first candidate's P(win)
    (percent) in two colours, its bloc's above 50 %, the second's below."""
    layers = []
    for _, duel in duels.iterrows():
        values = 100 * _first_candidate(forecasts, duel)["p_victoire"]
        cmap = colors.ListedColormap([colours.get(duel["bloc_b"], "#d55e00"), colours.get(duel["bloc_a"], "#0072b2")])
        layers.append(Layer(duel["duel_id"], f"{duel['libelle']} (probabilité de victoire de {names.get(duel['candidat_a'], duel['candidat_a'])})",
                            values.drop(territory, errors="ignore"), cmap, colors.BoundaryNorm([0, 50, 100], 2), "%", 0,
                            float(values.get(territory, float("nan")))))
    return layers


def draw_maps(forecasts: pd.DataFrame, duels: pd.DataFrame, label: str, communes: pd.DataFrame, mapping: pd.DataFrame, territory: str,
              colours: dict[str, str], names: dict[str, str], folder: Path) -> list[Path]:
    """The winner map and the P(win) map of one hypothesis (``label``), one panel per duel, then the same two for the
    :data:`MAIN_DUELS` most polled duels (names ending in :data:`MAIN_SUFFIX`), written into ``folder``."""
    shapes, cover, _ = commune_shapes(communes.assign(code_departement=territory), mapping)
    title = "Présidentielle 2027, second tour"
    captions = (f"{label}. Couleur du bloc du vainqueur prévu : le candidat qui gagne dans plus de la moitié des simulations "
                "(échelle : probabilité de victoire du premier candidat nommé, trait noir : total du territoire). " + SOURCE,
                f"{label}. Probabilité simulée que le premier candidat dépasse 50 % des exprimés (bleu : il gagne, rouge : il perd). " + SOURCE)
    out = []
    for chosen, suffix in ((duels, ""), (duels.head(MAIN_DUELS), MAIN_SUFFIX)):
        for layers, heading, caption, name in (
                (winner_layers(forecasts, chosen, territory, colours, names), "vainqueur prévu par commune", captions[0], WINNER_MAP_NAME),
                (probability_layers(forecasts, chosen, territory), "probabilité de victoire par commune", captions[1], MAP_NAME)):
            figure = figures.map_figure(shapes, layers, f"{title} : {heading}", caption, cover.missing)
            out.append(figures.save_png(figure, folder / name.replace(".png", f"{suffix}.png")))
    return out


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
    population = dict(zip(communes["code_commune"], communes["population"], strict=True)) if "population" in communes else None
    swing_table(forecasts, duels, territory, names, people, population).to_csv(csv, index=False, sep=";", encoding="utf-8-sig")
    return [*paths, csv]
