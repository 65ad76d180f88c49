"""Slides of issue 14: the error of a replayed forecast (item 4) and the forecasts' provenance line (item 6).

Built from the report's context (``ctx["replays"]``, ``ctx["provenance"]``: :mod:`electio.outputs.report_replays`),
so every number is the warehouse's and matches the report. The deck's helpers are imported when a slide is drawn
(``slides`` lists these functions in its ``SLIDES``).
"""

from __future__ import annotations

from typing import Any

from pptx import Presentation
from pptx.slide import Slide

from electio.outputs.report_format import pct, pts


def replay_rows(replays: dict[str, Any]) -> list[tuple[str, ...]]:
    """One table row per replay: ballot, as-of date, lead time, MAE of the retained model, persistence, noise floor,
    leading bloc right, 80 % coverage."""
    return [(str(r["libelle_scrutin"]).split(" (")[0], r["date"], r["avance"], pts(r["mae_retenu"], 1), pts(r["mae_persistance"], 1),
             pts(r["mae_plancher"], 1), pct(r["acc_tete"], 0), pct(r["couv80"], 0)) for r in replays["lignes"]]


def goal_lines(replays: dict[str, Any]) -> list[str]:
    """« **non atteint** — Européennes 2024, prévision du 15/05/2024 : MAE moyenne par bloc ≤ 2,2 points (mesuré 2,81 pt) »."""
    out = []
    for g in replays["objectifs"]:
        measured = "non mesuré" if not g["mesure"] else pts(g["valeur"], 2) if g["unite"] == "pts" else pct(g["valeur"])
        out.append(f"**{'atteint' if g['atteint'] else 'non atteint'}** — {g.get('libelle', g['scrutin_test'])}, prévision du {g['date_reference']} : "
                   f"{g['objectif']} (mesuré {measured})")
    return out


def slide_replays(deck: Presentation, ctx: dict, n: int) -> None:
    """« Rejouée un mois avant, la prévision se trompe de X points par bloc »: the replays' table and the goals."""
    from electio.outputs.slides import GREY, NAVY, figure_path, new_slide, picture, table, text

    replays = ctx.get("replays")
    if not replays or not replays["disponible"]:
        return
    p = replays["principal"]
    slide = new_slide(deck, replays["titre"],
                      f"{replays['en_clair']} Sur le dernier scrutin rejoué, prévision faite le {p['date']} : erreur moyenne de "
                      f"{pts(p['mae_retenu'], 1)} par bloc et par commune, contre {pts(p['mae_persistance'], 1)} pour la persistance ; "
                      f"le seul hasard du vote en laisse {pts(p['mae_plancher'], 1)}. Objectifs fixés avant la mesure : affichés atteints "
                      "ou non, tels quels.", n)
    closest = [r for r in replays["lignes"] if r["horizon_ans"] == 0]
    picture(slide, figure_path(ctx, "rejeux"), (0.4, 1.2, 8.3, 2.8))
    height = 0.36 * (len(closest) + 1)
    table(slide, ["Scrutin rejoué", "Faite le", "Avant le vote", "Erreur", "Persistance", "Hasard seul", "Tête juste", "Couv. 80 %"],
          replay_rows({"lignes": closest}), (0.5, 4.1, 8.1, height), 11, (2.2, 1.2, 1.1, 0.9, 1.1, 1.0, 0.9, 0.9),
          highlight=lambda i: closest[i]["date_reference"] == p["date_reference"] and closest[i]["scrutin_test"] == p["scrutin_test"])
    text(slide, ["Erreur moyenne par bloc et par commune (points), prévision faite un mois avant le vote ; « Hasard seul » : "
                 "erreur qu'aucun modèle ne peut éviter."], (0.5, 4.12 + height, 8.1, 0.45), 10, colour=GREY)
    text(slide, ["Objectifs fixés avant la mesure"], (9.1, 1.3, 3.8, 0.5), 16, bold=True, colour=NAVY)
    text(slide, goal_lines(replays) or ["Aucun objectif mesuré"], (9.1, 1.85, 3.8, 4.0), 12, bullets=True)
    text(slide, [f"**Rejouée** : {replays['en_clair']}"], (0.5, 6.05, 12.3, 0.95), 12)


def provenance_box(slide: Slide, ctx: dict, box: tuple[float, float, float, float]) -> None:
    """The forecasts' as-of date, polls per target and candidate hypothesis, in small grey type."""
    from electio.outputs.slides import GREY, text

    shown = ctx.get("provenance") or {}
    if shown.get("disponible"):
        text(slide, shown["court"], box, 9, colour=GREY)
