"""Slides of the présidentielle 2027 second rounds (issue 16): the duels by commune, then how the transfer model did on 2017
and 2022. Numbers come from the report context (:func:`electio.outputs.report_duels.duel_section`, read from the warehouse);
titles state the message."""

from __future__ import annotations

from pptx import Presentation

from pathlib import Path

from electio.outputs.slides import GREY, entier, new_slide, pct, picture, pts, table, text

SHOWN_DUELS = 4


def map_path(ctx: dict, key: str) -> Path | None:
    """A duel map of the report context (None when the stage did not draw it)."""
    return next((f.path for f in ctx["duels"]["cartes_principales"] if f.key == key), None)


def duel_title(duels: list[dict]) -> str:
    """« Face à Marine Le Pen, Édouard Philippe gagnerait le territoire (59 %), Jean-Luc Mélenchon non (48 %) »: the most polled duel,
    and the first duel with the other outcome."""
    first = duels[0]
    verb = "gagnerait" if first["part"] > 0.5 else "perdrait"
    title = f"Face à {first['second']}, {first['premier']} {verb} le territoire ({pct(first['part'], 0)})"
    other = next((d for d in duels[1:] if (d["part"] > 0.5) != (first["part"] > 0.5)), None)
    if other is not None:
        title += f", {other['premier']} {'aussi' if other['part'] > 0.5 and first['part'] > 0.5 else 'non'} ({pct(other['part'], 0)})"
    return title


def slide_duels(deck: Presentation, ctx: dict, n: int) -> None:
    """Duels of the retained hypothesis: winner map, territory table."""
    du = ctx["duels"]
    shown = du["duels"][:SHOWN_DUELS]
    slide = new_slide(deck, duel_title(du["duels"]),
                      f"Hypothèse de premier tour : {du['hypothese']}. Pour chaque duel testé par les sondages, le premier tour prévu de chaque commune "
                      "passe par les reports de voix estimés sur les présidentielles 2012 à 2022 du territoire, calés sur les sondages nationaux du duel. "
                      f"{entier(du['bascules']['total'])} communes changent de camp selon le duel. Mêmes chiffres que le dossier et le tableau de bord "
                      "(page « Seconds tours 2027 »).", n)
    rows = [(d["libelle"], f"{pct(d['part'], 0)} ({pct(d['q10'], 0)} – {pct(d['q90'], 0)})", pct(d["p_victoire"], 0),
             f"{entier(d['communes_gagnees'])} sur {entier(d['communes'])}") for d in shown]
    table(slide, ["Duel (total du territoire)", "Part du premier (80 %)", "Probabilité de victoire", "Communes gagnées"], rows,
          (0.5, 1.3, 12.3, 0.36 * (len(rows) + 1)), 12, (3.2, 2.0, 1.6, 1.6))
    picture(slide, map_path(ctx, "carte_duels_vainqueur_principaux"), (0.4, 1.45 + 0.36 * (len(rows) + 1), 12.5, 6.9 - 1.45 - 0.36 * (len(rows) + 1)))


def comparison(model: float, baseline: float, tie: float = 0.2) -> str:
    """« mieux que », « autant que » or « moins bien que » (errors in points, within ``tie`` points: as good)."""
    return "autant que" if abs(model - baseline) <= tie else "mieux que" if model < baseline else "moins bien que"


def backtest_title(rows: list[dict]) -> str:
    """The unconditional 2022 result against the uniform swing, or the conditional one when that is all there is."""
    def find(method: str, conditional: bool) -> dict | None:
        return next((r for r in rows if r["annee"] == "2022" and r["methode"] == method and r["conditionnel"] == conditional
                     and r["mae_points"] is not None), None)

    for conditional in (False, True):
        model, swing = find("transferts", conditional), find("swing_uniforme", conditional)
        if model is not None:
            when = "vrai premier tour donné" if conditional else "un mois avant"
            versus = "" if swing is None else f", {comparison(model['mae_points'], swing['mae_points'])} le swing uniforme"
            return (f"2022 rejoué ({when}) : {pts(model['mae_points'], 1)} d'erreur par commune{versus} ; "
                    f"{pct(model['precision_vainqueur'], 0)} de bons vainqueurs")
    return "Le modèle de reports rejoué sur les seconds tours passés"


def slide_duels_backtest(deck: Presentation, ctx: dict, n: int) -> None:
    """The duel backtests: table and the P(win) map."""
    du = ctx["duels"]
    slide = new_slide(deck, backtest_title(du["backtests"]),
                      "Chaque second tour passé est prévu avec les seules présidentielles antérieures : vrai premier tour donné (conditionnel), "
                      "ou toute la chaîne un mois avant le premier tour (premier tour prévu, sondages de l'époque). Référence : le second tour précédent "
                      "décalé partout de l'écart national (swing uniforme)."
                      + (f" Pas de rejeu un mois avant pour {', '.join(du['sans_rejeu'])} : aucun backtest du premier tour n'existe avant cette date."
                         if du["sans_rejeu"] else ""), n)
    rows = [(b["annee"], b["cas"], "reports" if b["methode"] == "transferts" else "swing uniforme",
             *((pts(b["mae_points"], 1), pct(b["precision_vainqueur"], 0), pct(b["couverture_80"], 0) if b["couverture_80"] is not None else "—")
               if b["mae_points"] is not None else ("n.d.", "n.d.", "n.d."))) for b in du["backtests"]]
    top = 1.3 + 0.34 * (len(rows) + 1)
    table(slide, ["Second tour", "Cas", "Méthode", "Erreur par commune", "Bon vainqueur", "Couverture 80 %"], rows, (0.5, 1.3, 12.3, top - 1.3), 11,
          (1.0, 2.4, 1.6, 1.4, 1.3, 1.4))
    text(slide, ["Erreur : écart moyen par commune sur la part du premier candidat. Couverture : part des communes dont le résultat tombe "
                 "dans l'intervalle à 80 % (idéal : 80 %). Carte : probabilité de victoire en 2027, duels les plus sondés."],
         (0.5, top + 0.05, 12.3, 0.55), 11, colour=GREY)
    picture(slide, map_path(ctx, "carte_duels_proba_victoire_principaux"), (0.4, top + 0.6, 12.5, 6.95 - top - 0.6))
