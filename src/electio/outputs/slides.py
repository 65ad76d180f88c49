"""Defence slides (PPTX, python-pptx): about fifteen slides for a 20-minute technical defence.

Built from the report's context (``report.build_context``) and its figures, so every number
matches the synthesis report; each slide carries French speaker notes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageFont
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.slide import Slide
from pptx.util import Emu, Inches, Pt

from electio.outputs.report import dec, entier, pct, pts
from electio.outputs.slides_replays import provenance_box, slide_replays

FONT = "Arial"  # Liberation Sans (metric-compatible) where Arial is missing
NAVY = RGBColor(0x0B, 0x3D, 0x6B)
GREY = RGBColor(0x55, 0x5F, 0x6B)
LIGHT = RGBColor(0xE8, 0xEE, 0xF5)
HIGHLIGHT = RGBColor(0xFF, 0xF5, 0xD6)
RED = RGBColor(0xB0, 0x00, 0x20)
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)
TOP = Inches(1.25)  # below the title
Box = tuple[float, float, float, float]  # left, top, width, height in inches


def split_text(largest: dict) -> str:
    """How the largest commune is counted: by arrondissement when it has some, else as one commune."""
    count = int(largest.get("arrondissements") or 0)
    if count:
        return (f"est découpée en ses {count} arrondissements : chacun est une unité des modèles, des prévisions et des cartes "
                "(résultats par bureau de vote depuis 2017 ; avant, parts estimées, jamais cibles).")
    return "compte pour une seule commune."


# ─── Text measurement (every text fits its box) ──────────────────────────────────────────

INSET = 0.1  # inches: python-pptx's default left + right (and top + bottom) text insets
LINE = 1.2  # line height, in font sizes
MIN_SCALE = 0.6  # a text is shrunk down to 60 % of its size at most, never cut


@lru_cache(maxsize=64)
def _font(size: float, bold: bool) -> ImageFont.FreeTypeFont:
    """The deck's font (Liberation Sans, metric-compatible with Arial; matplotlib's DejaVu Sans, wider, otherwise) at ``size`` pt × 10 px."""
    from matplotlib import font_manager

    properties = font_manager.FontProperties(family=["Liberation Sans", "Arial", "DejaVu Sans"], weight="bold" if bold else "normal")
    return ImageFont.truetype(font_manager.findfont(properties), round(size * 10))


def text_width(value: str, size: float, bold: bool = False) -> float:
    """Width of ``value`` in inches at ``size`` points."""
    return _font(size, bold).getlength(value) / 720


def line_count(value: str, width: float, size: float, bold: bool = False) -> int | None:
    """Lines ``value`` takes when wrapped at word boundaries in ``width`` inches; None when a word alone is too wide."""
    lines, current = 0, ""
    for word in value.split():
        if text_width(word, size, bold) > width:
            return None
        candidate = f"{current} {word}" if current else word
        if current and text_width(candidate, size, bold) > width:
            lines, current = lines + 1, word
        else:
            current = candidate
    return lines + 1


def text_height(lines: Sequence[str], width: float, size: float, bold: bool = False) -> float | None:
    """Height in inches of paragraphs wrapped in ``width`` (None when a word does not fit)."""
    counts = [line_count(re.sub(r"\*\*", "", line), width, size, bold) for line in lines]
    if any(c is None for c in counts):
        return None
    return sum(counts) * size * LINE / 72 + len(lines) * size * 0.45 / 72  # type: ignore[misc]


def fitting_size(lines: Sequence[str], width: float, height: float, size: float, bold: bool = False) -> float:
    """The largest size, from ``size`` down to ``MIN_SCALE`` × ``size`` by half points, at which ``lines`` fit the box."""
    candidate = size
    while candidate > size * MIN_SCALE:
        needed = text_height(lines, width - INSET * 2, candidate, bold)
        if needed is not None and needed <= height - INSET:
            return candidate
        candidate -= 0.5
    return candidate


# ─── Building blocks ─────────────────────────────────────────────────────────────────────

def _style(run, size: float, bold: bool = False, colour: RGBColor | None = None) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour


def new_slide(deck: Presentation, title: str, notes: str, number: int) -> Slide:
    """A blank slide with its title, a rule, a footer and the speaker notes."""
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    text(slide, [title], (0.5, 0.35, 12.3, 0.7), 26, bold=True, colour=NAVY)
    rule = slide.shapes.add_shape(1, MARGIN, Inches(1.05), WIDTH - 2 * MARGIN, Emu(22000))
    rule.fill.solid()
    rule.fill.fore_color.rgb = NAVY
    rule.line.fill.background()
    text(slide, [f"Electio — soutenance technique · {number}"], (0.5, 7.05, 12.3, 0.3), 10, colour=GREY, align=PP_ALIGN.RIGHT)
    slide.notes_slide.notes_text_frame.text = notes
    return slide


def text(slide: Slide, lines: Sequence[str], box: Box, size: float = 16, bold: bool = False, colour: RGBColor | None = None,
         align: PP_ALIGN = PP_ALIGN.LEFT, bullets: bool = False) -> None:
    """A text box: one paragraph per line (``**x**``: x in bold), optionally with bullets."""
    shape = slide.shapes.add_textbox(*(Inches(v) for v in box))
    size = fitting_size([("• " if bullets else "") + line for line in lines], box[2], box[3], size, bold)
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.TOP
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.alignment = align
        paragraph.space_after = Pt(size * 0.45)
        pieces = re.split(r"\*\*(.+?)\*\*", ("• " if bullets else "") + line)
        for k, content in enumerate(pieces):
            if content:
                _style(paragraph.add_run(), size, bold or k % 2 == 1, colour)
                paragraph.runs[-1].text = content


def is_number(value: str) -> bool:
    """Whether a cell holds only a formatted number, interval or ratio (aligned right)."""
    return bool(re.fullmatch(r"[\d\s\u202f,.%\[\];/()—−+\-]*", value.replace("pt", "").replace("n.d.", "")))


def table(slide: Slide, header: Sequence[str], rows: Sequence[Sequence[str]], box: Box, size: float = 12,
          widths: Sequence[float] = (), highlight: Callable[[int], bool] = lambda _i: False) -> None:
    """A table with a shaded header; ``widths``: relative column widths."""
    left, top, width, height = box
    shape = slide.shapes.add_table(len(rows) + 1, len(header), Inches(left), Inches(top), Inches(width), Inches(height))
    grid = shape.table
    shares = list(widths) or [1.0] * len(header)
    for j, share in enumerate(shares):
        grid.columns[j].width = Inches(width * share / sum(shares))
    numeric = [all(is_number(str(row[j])) for row in rows) for j in range(len(header))]
    size = table_size([header, *rows], [width * share / sum(shares) for share in shares], height / (len(rows) + 1), size,
                      lambda r: r == 0 or highlight(r - 1))
    for i, values in enumerate([header, *rows]):
        grid.rows[i].height = Inches(height / (len(rows) + 1))
        for j, value in enumerate(values):
            cell = grid.cell(i, j)
            cell.margin_top = cell.margin_bottom = Inches(0.03)
            cell.text = ""
            _style(cell.text_frame.paragraphs[0].add_run(), size, bold=i == 0 or highlight(i - 1), colour=NAVY if i == 0 else None)
            cell.text_frame.paragraphs[0].runs[0].text = str(value)
            cell.text_frame.paragraphs[0].alignment = PP_ALIGN.RIGHT if j > 0 and numeric[j] else PP_ALIGN.LEFT
            cell.fill.solid()
            cell.fill.fore_color.rgb = LIGHT if i == 0 else HIGHLIGHT if highlight(i - 1) else RGBColor(0xFF, 0xFF, 0xFF)


def table_size(cells: Sequence[Sequence[object]], widths: Sequence[float], row_height: float, size: float,
               bold: Callable[[int], bool] = lambda r: r == 0) -> float:
    """The largest size (down to ``MIN_SCALE`` × ``size``) at which every cell's text fits its column and row (``bold`` rows in bold)."""
    candidate = size
    while candidate > size * MIN_SCALE:
        heights = [text_height([str(value)], w - INSET * 2, candidate, bold=bold(r))
                   for r, row in enumerate(cells) for value, w in zip(row, widths, strict=True)]
        if all(h is not None and h <= row_height + 0.02 for h in heights):
            return candidate
        candidate -= 0.5
    return candidate


def picture(slide: Slide, path: Path | None, box: Box) -> None:
    """An image fitted (aspect kept) and centred in ``box``; a notice when missing."""
    if path is None or not Path(path).is_file():
        text(slide, ["Figure absente : étape non exécutée."], box, 16, colour=RED)
        return
    left, top, width, height = box
    with Image.open(path) as image:
        ratio = image.width / image.height
    w, h = (width, width / ratio) if width / ratio <= height else (height * ratio, height)
    slide.shapes.add_picture(str(path), Inches(left + (width - w) / 2), Inches(top + (height - h) / 2), Inches(w), Inches(h))


def kpis(slide: Slide, items: Sequence[tuple[str, str]], box: Box) -> None:
    """Key figures side by side: (value, label)."""
    left, top, width, height = box
    step = width / len(items)
    for i, (value, label) in enumerate(items):
        text(slide, [value], (left + i * step, top, step - 0.2, 0.6), 28, bold=True, colour=NAVY)
        text(slide, [label], (left + i * step, top + 0.65, step - 0.2, height - 0.65), 12, colour=GREY)


def figure_path(ctx: dict, key: str) -> Path | None:
    """The report figure ``key`` (exploration and forecast figures included)."""
    found = ctx["figures"].get(key)
    if found is None:
        found = next((f for f in [*ctx["exploration"], *ctx["forecast"].get("figures", [])] if f.key == key), None)
    return None if found is None else found.path


# ─── Slides ──────────────────────────────────────────────────────────────────────────────

def slide_title(deck: Presentation, ctx: dict, n: int) -> None:
    meta, t = ctx["meta"], ctx["territory"]
    slide = new_slide(deck, "Electio — prévoir les tendances électorales par commune",
                      f"Bonjour. Nous présentons la preuve de concept réalisée pour Electio-Analytics : prévoir, un à trois ans à l'avance, "
                      f"le rapport de force entre blocs politiques dans chacune des {entier(t['taille']['communes'])} communes du département "
                      f"{meta['nom']}, à partir de données publiques seulement. Plan : territoire, données et architecture, exploration et "
                      f"réponse aux trois questions du client, modèles et précision, prévisions, limites et recommandations. Tous les chiffres "
                      f"présentés viennent de l'entrepôt, exécution {meta['run_id']} du {meta['etl_date']}.", n)
    text(slide, [f"Preuve de concept · {meta['nom']} ({meta['territoire']}) · soutenance technique"], (0.5, 1.4, 12.3, 0.6), 22, colour=GREY)
    kpis(slide, [(entier(t["taille"]["communes"]), "communes (COG 2026)"), (entier(t["scrutins"]), f"scrutins chargés, {t['annee_min']}–{t['annee_max']}")],
         (0.5, 2.5, 6.6, 1.5))
    kpis(slide, [(entier(ctx["indicators"]["n_indicateurs"]), f"indicateurs locaux, {entier(ctx['indicators']['n_themes'])} thèmes"),
                 (entier(ctx["mcd"]["n_tables"]), "tables dans l'entrepôt")], (0.5, 4.1, 6.6, 1.5))
    picture(slide, figure_path(ctx, "carte_blocs_"), (7.3, 2.2, 5.6, 3.9))
    text(slide, [f"Entrepôt construit le {meta['etl_date']} · version du code {meta['code_version']} · document généré le {meta['genere_le']}"],
         (0.5, 6.2, 12.3, 0.5), 12, colour=GREY)


def slide_brief(deck: Presentation, ctx: dict, n: int) -> None:
    slide = new_slide(deck, "Chaque exigence du cahier des charges a son livrable, produit par une seule commande",
                      "Le cahier des charges demande un périmètre unique justifié, des données publiques nettoyées dans une base structurée, "
                      "un pipeline ETL automatisé et traçable, une analyse exploratoire, un modèle supervisé testé sur des données jamais vues, "
                      "des prévisions à un, deux et trois ans, et un rapport. Il pose trois questions que nous traitons chacune sur une diapositive : "
                      "l'indicateur le plus corrélé, le principe de l'apprentissage supervisé, et la définition de la précision.", n)
    text(slide, ["**Périmètre** unique, justifié : disponibilité, représentativité, taille",
                 "**Pipeline** ETL automatisé, traçable (sha256, lignage, contrats qualité)",
                 "**Entrepôt** en étoile nommé et commenté ; exports CSV, Parquet, SQL, Power BI",
                 "**Exploration** : cartes, histogrammes, cartes de chaleur des corrélations",
                 "**Modèle supervisé** testé sur des scrutins jamais vus ; prévisions des scrutins des trois prochaines années",
                 "**Livrables** : dossier de synthèse (HTML, PDF), cette présentation, notebooks"], (0.5, 1.4, 7.4, 5.4), 17, bullets=True)
    text(slide, ["Trois questions du client", "Q1 · Quelle donnée est la plus corrélée aux résultats ?", "Q2 · Principe de l'apprentissage supervisé ?",
                 "Q3 · Comment définir la précision (accuracy) ?"], (8.3, 1.6, 4.6, 3.5), 16, colour=NAVY)


def slide_territory(deck: Presentation, ctx: dict, n: int) -> None:
    t, meta = ctx["territory"], ctx["meta"]
    size, france = t["taille"], t["france"]
    largest = size["plus_grandes"][0]
    comparison = (f"Face à la France, sur les premiers tours nationaux des deux entrepôts, l'écart moyen est de {pts(france['ecart_moyen'], 1)} par bloc, "
                  f"le plus grand ({pts(france['ecart_max'], 1)}) pour le bloc {france['bloc_ecart_max']}." if france else
                  "")
    d = t.get("departements")
    mine = d["territoire"] if d else None
    standing = (f"Le {meta['nom']} est le {entier(mine['rang'])}ᵉ département sur {entier(d['n'])} le plus proche du vote national : écart moyen "
                f"{pts(mine['distance_blocs'], 1)} par bloc sur {entier(len(d['scrutins']))} premiers tours depuis {d['scrutins'][0]['date_scrutin'].year} "
                f"(médiane des départements {pts(d['mediane'], 1)}). " if mine else "")
    title = (f"Le {meta['nom']} : {entier(mine['rang'])}ᵉ département sur {entier(d['n'])} le plus proche du vote national, avec une métropole et des villages"
             if mine else f"Le {meta['nom']} : toutes les données, une métropole et des villages")
    slide = new_slide(deck, title,
                      f"Trois critères. Disponibilité : {entier(t['couverture_complete'])} scrutins sur {entier(t['scrutins'])} couvrent 100 % des communes. "
                      f"Taille : {entier(size['communes'])} communes, {entier(size['population'])} habitants, assez pour apprendre commune par commune, "
                      f"assez peu pour tout recalculer en quelques minutes. Représentativité : de {largest['nom_commune']} "
                      f"({entier(largest['population'])} habitants) à des villages ; {entier(size['petites'])} communes de moins de "
                      f"{entier(size['seuil_petite'])} habitants. {standing}{comparison} {'Unités' if largest.get('arrondissements') else 'Limite'} : {largest['nom_commune']} "
                      f"({pct(largest['part'], 0)} de la population) {split_text(largest)}", n)
    kpis(slide, [(entier(size["communes"]), "communes"), (entier(size["population"]), "habitants"),
                 (f"{entier(t['couverture_complete'])}/{entier(t['scrutins'])}", "scrutins complets"),
                 (entier(size["petites"]), f"communes < {entier(size['seuil_petite'])} hab.")], (0.5, 1.35, 12.3, 1.3))
    rows = [(r["libelle"], f"{entier(r['presentes'])}/{entier(r['attendues'])}", pct(r["participation"])) for r in t["couverture"]]
    table(slide, ["Scrutin", "Communes", "Participation"], rows, (0.5, 2.8, 6.4, 4.1), 11, (3.2, 1.4, 1.4))
    if mine:
        picture(slide, figure_path(ctx, "departements"), (7.1, 2.8, 5.8, 3.2))
        text(slide, [f"**{largest['nom_commune']}** ({pct(largest['part'], 0)} de la population) {split_text(largest)}"],
             (7.1, 6.05, 5.8, 0.9), 12, colour=GREY)
    elif france:
        header = ["Bloc", *(s["scrutin_id"] for s in france["scrutins"])]
        body = [(r["bloc"], *(f"{pct(v['local'], 0) if v['local'] is not None else '—'} / {pct(v['fr'], 0) if v['fr'] is not None else '—'}"
                              for v in r["valeurs"])) for r in france["lignes"]]
        text(slide, [f"{meta['territoire']} / France (part des exprimés)"], (7.2, 2.75, 5.7, 0.4), 12, bold=True, colour=NAVY)
        table(slide, header, body, (7.2, 3.15, 5.7, 3.7), 10, (1.6, *([1.0] * len(france["scrutins"]))))
    else:
        text(slide, ["Comparaison nationale : entrepôt France non fourni (electio report --entrepot-france)."], (7.2, 3.0, 5.7, 1.0), 14, colour=GREY)


def slide_indicators(deck: Presentation, ctx: dict, n: int) -> None:
    ind = ctx["indicators"]
    gaps = ", ".join(g["libelle"] for g in ind["lacunes"]) or "aucune"
    slide = new_slide(deck, f"{entier(ind['n_indicateurs'])} indicateurs locaux en {entier(ind['n_themes'])} thèmes, chacun daté avant le scrutin qu'il sert",
                      f"Les {entier(sum(t['origine'] != 'ajouté' for t in ind['themes']))} critères du client ont chacun un thème ; nous avons ajouté "
                      f"{', '.join(t['theme'].lower() for t in ind['themes'] if t['origine'] == 'ajouté')}, très liés au "
                      f"vote. {entier(ind['n_indicateurs'])} indicateurs, datés : pour un scrutin, seules les valeurs publiées avant sa date sont "
                      f"utilisées. La dernière colonne justifie le choix par les données : la corrélation la plus forte du thème. Lacune : {gaps} "
                      f"; vie associative : un seul relevé du répertoire des associations (2026), utilisable pour la prévision 2027 mais pas pour "
                      f"les scrutins passés ; entreprises : seulement {ind['annees_entreprises']}.", n)
    rows = [(th["theme"], th["origine"].split(" (")[0], entier(th["indicateurs"]), th["annees"] or "—",
             "lacune" if th["lacune"] else (f"{th['meilleur']['libelle']} × {th['meilleur']['cible']} : {dec(th['meilleur']['coefficient'])}"
                                            if th["meilleur"] else "—")) for th in ind["themes"]]
    table(slide, ["Thème", "Origine", "Indic.", "Années", "Corrélation la plus forte (ρ)"], rows, (0.5, 1.35, 12.3, 5.4), 11,
          (1.6, 1.0, 0.6, 2.2, 4.6), highlight=lambda i: ind["themes"][i]["lacune"])


def slide_flow(deck: Presentation, ctx: dict, n: int) -> None:
    method = ctx["method"]
    slide = new_slide(deck, f"{entier(method['entrees']['fichiers'])} fichiers publics vérifiés, six étapes, un entrepôt remplacé seulement s'il est complet",
                      f"Une commande par étape : etl, explore, evaluate, forecast, export, report. L'ETL a lu {entier(method['entrees']['fichiers'])} "
                      f"fichiers, chacun vérifié par son empreinte sha256 et tracé avec sa licence ; chaque étape consigne ses lignes lues, écrites et "
                      f"rejetées. L'entrepôt est reconstruit dans un nouveau fichier puis substitué : un échec laisse l'ancien intact. DuckDB pour le "
                      f"poste de travail, chargement PostgreSQL avec un rôle en lecture seule pour Power BI.", n)
    picture(slide, figure_path(ctx, "flux"), (0.5, 1.3, 12.3, 5.6))


def slide_mcd(deck: Presentation, ctx: dict, n: int) -> None:
    mcd = ctx["mcd"]
    star_tables = [r for r in mcd["tables"] if r["famille"] in ("dimension", "fait")]
    facts = [r for r in star_tables if r["famille"] == "fait"]
    slide = new_slide(deck, f"Un schéma en étoile : {entier(len(star_tables))} tables de dimensions et de faits, dessinées depuis leur définition",
                      f"Schéma en étoile : dimensions communes, scrutins, blocs, candidats, indicateurs, sondages ; faits participation, voix, "
                      f"valeurs d'indicateurs, intentions de vote et prévisions. {entier(mcd['n_tables'])} tables au total avec lignage, qualité, "
                      f"analyses et modèles. Le MCD est généré depuis le DDL, donc toujours à jour ; chaque table et colonne porte un "
                      f"commentaire, repris dans le dictionnaire de données.", n)
    picture(slide, figure_path(ctx, "mcd"), (0.3, 1.3, 9.0, 5.6))
    rows = [(r["table_name"], entier(r["lignes"])) for r in facts]
    table(slide, ["Table de faits", "Lignes"], rows, (9.4, 1.4, 3.7, min(0.36 * (len(rows) + 1), 5.4)), 10, (2.7, 1.0))


QUALITY_ROWS = 10  # controls listed on the slide (failing first, then blocking); the report lists them all


def slide_quality(deck: Presentation, ctx: dict, n: int) -> None:
    method = ctx["method"]
    slide = new_slide(deck, f"{entier(method['n_controles'])} contrôles de qualité à chaque construction, {entier(method['n_bloquants'])} bloquants",
                      f"{entier(method['n_controles'])} contrats de qualité, dont {entier(method['n_bloquants'])} bloquants : une violation arrête l'ETL. "
                      f"Cette exécution : {entier(method['echecs'])} ligne en échec. Les codes communes de toutes les années sont ramenés au COG 2026 ; "
                      f"les candidats sont rattachés aux blocs par un référentiel versionné et justifié, relu comme du code.", n)
    shown = sorted(method["controles"], key=lambda c: (-(c["lignes_en_echec"] or 0), c["severite"] != "bloquante"))[:QUALITY_ROWS]
    rows = [(c["table_name"], c["regle"], c["severite"], entier(c["lignes_en_echec"])) for c in shown]
    table(slide, ["Table", "Règle", "Sévérité", "Échecs"], rows, (0.5, 1.35, 8.2, 0.45 * (len(rows) + 1)), 11, (2.0, 4.0, 1.3, 0.9))
    if len(method["controles"]) > len(rows):
        text(slide, [f"… et {entier(len(method['controles']) - len(rows))} autres contrôles : liste complète dans le dossier de synthèse."],
             (0.5, 1.45 + 0.45 * (len(rows) + 1), 8.2, 0.4), 11, colour=GREY)
    steps = [f"**{s['etape']}** {entier(s['lues'])} lues → {entier(s['ecrites'])} écrites" for s in method["etapes"]]
    text(slide, ["Lignage (etl_step)"], (9.0, 1.4, 3.9, 0.5), 15, bold=True, colour=NAVY)
    text(slide, steps, (9.0, 1.95, 3.9, 4.9), 13)


def slide_exploration(deck: Presentation, ctx: dict, n: int) -> None:
    q1 = ctx["q1"]
    slide = new_slide(deck, "La métropole et les communes rurales ne votent pas pour les mêmes blocs",
                      "Cartes des parts de chaque bloc et de la participation : palette lisible par les daltoniens, trait noir sur l'échelle pour la "
                      "valeur du territoire, commune sans donnée hachurée. On voit l'opposition entre la métropole et les communes rurales, qui "
                      "structure toutes les corrélations suivantes."
                      + (f" Référence : {q1['libelle_scrutin']}." if q1 else ""), n)
    picture(slide, figure_path(ctx, "carte_blocs_"), (0.5, 1.25, 12.3, 5.75))


def slide_q1(deck: Presentation, ctx: dict, n: int) -> None:
    q1 = ctx["q1"]
    if q1 is None:
        new_slide(deck, "Q1 — Indicateur le plus corrélé", "L'analyse exploratoire n'a pas été exécutée sur cet entrepôt.", n)
        return
    top, robust = q1["top"], q1["robuste"]
    lead = robust["libelle_indicateur"] if robust else top["libelle_indicateur"]
    slide = new_slide(deck, f"Q1 — « {lead} » est l'indicateur le plus souvent en tête",
                      (f"Sur {entier(q1['scrutins_analyses'])} scrutins, « {lead} » est en tête {entier(robust['fois'])} fois sur "
                       f"{entier(q1['total_reponses'])} couples scrutin × cible. " if robust else "")
                      + f"La réponse dépend du bloc : le tableau donne, pour chacun, l'indicateur de plus forte corrélation de rang, avec son "
                      f"intervalle de confiance ({entier(q1['n_bootstrap'])} rééchantillonnages des communes). Règles : un indicateur n'est classé que "
                      f"s'il est connu dans au moins {pct(q1['seuil_couverture'], 0)} des communes ; un bloc d'un seul candidat ou présent dans peu de "
                      f"communes est signalé et exclu de la réponse. Une corrélation n'est pas une causalité.", n)
    rows = [(r["libelle_cible"], f"{r['libelle_indicateur']} ({r['annee_indicateur']})", dec(r["coefficient"]),
             f"[{dec(r['ic_bas'])} ; {dec(r['ic_haut'])}]", "exclu : " + r["exclusion"].split(" (")[0] if r["exclusion"] else "—")
            for r in q1["reponses"]]
    table(slide, ["Cible", f"Indicateur le plus corrélé, {q1['libelle_scrutin']}", "ρ", f"IC {pct(q1['niveau'], 0)}", "Réserve"], rows,
          (0.5, 1.35, 12.3, 4.3), 12, (1.5, 5.0, 0.7, 1.6, 3.0), highlight=lambda i: q1["reponses"][i]["cible"] == top["cible"])
    text(slide, [f"Indicateurs connus dans au moins {pct(q1['seuil_couverture'], 0)} des communes. ρ : corrélation de rang, de −1 (sens inverse) à 1 "
                 "(même sens). Une corrélation n'est pas une causalité : la taille et l'urbanisation des communes expliquent une partie de ces liens."],
         (0.5, 5.85, 12.3, 1.0), 13, bold=True, colour=RED)


def slide_q2(deck: Presentation, ctx: dict, n: int) -> None:
    sup = ctx["supervised"]
    slide = new_slide(deck, "Q2 — Le modèle apprend sur le passé et n'est jugé que sur des scrutins jamais vus",
                      "Principe : apprendre une fonction des variables X vers une réponse connue y à partir d'exemples étiquetés, puis mesurer "
                      "l'erreur sur des exemples jamais vus. Ici, un exemple est une commune à un scrutin ; y est la part de chaque bloc et "
                      "l'abstention ; X ne contient que ce qui était connu avant le scrutin. Le découpage est chronologique : pour tester un scrutin, "
                      "on n'entraîne que sur les scrutins antérieurs, sinon le contexte national du scrutin testé fuirait dans l'entraînement. "
                      "Le modèle est choisi par une règle fixée avant de regarder le test principal.", n)
    text(slide, [f"**Exemples** : commune × scrutin cible ({', '.join(sup['cibles'])})", "**y** : part des exprimés de chaque bloc, abstention",
                 "**X** : résultats passés de la commune, taille, indicateurs publiés avant le scrutin",
                 "**Test** : scrutin postérieur, jamais vu (forward chaining)"], (0.5, 1.35, 12.3, 1.9), 15, bullets=True)
    picture(slide, figure_path(ctx, "chainage"), (0.5, 3.25, 12.3, 3.7))


def slide_models(deck: Presentation, ctx: dict, n: int) -> None:
    models = ctx["models"]
    retained, swing = models["retenu_principal"], models["par_code"]["swing_uniforme"]
    gain = retained["gain_vs_swing_uniforme"]
    slide = new_slide(deck, f"Le modèle retenu se trompe {pct(gain, 0)} de moins que le swing uniforme, la méthode de référence" if gain and gain > 0
                      else "Le modèle retenu ne fait pas mieux que le swing uniforme, la méthode de référence",
                      f"{entier(models['n_testes'])} modèles d'apprentissage (ridge, mixte, forêt aléatoire, LightGBM) et {entier(models['n_references'])} "
                      f"références (persistance, swing uniforme et proportionnel), dans les mêmes backtests. Sur {models['test_libelle']}, le modèle "
                      f"retenu, {models['retenu_libelle']}, a une erreur de {pts(retained['mae_cond'])} contre {pts(swing['mae_cond'])} pour le swing "
                      f"uniforme. Règle de choix : {ctx['supervised']['regle']}", n)
    picture(slide, figure_path(ctx, "backtests"), (0.5, 1.25, 8.2, 5.7))
    rows = [(r["modele"], pts(r["mae_cond"]), pct(r["gain_vs_swing_uniforme"], 0)) for r in models["principal"]]
    table(slide, ["Modèle", "MAE", "Gain"], rows, (8.9, 1.4, 4.0, 0.4 * (len(rows) + 1)), 11, (2.0, 1.0, 0.9),
          highlight=lambda i: models["principal"][i]["code"] == "retenu")


def slide_retained(deck: Presentation, ctx: dict, n: int) -> None:
    models, retained = ctx["models"], ctx["retained"]
    top = retained["importance"][0] if retained["importance"] else None
    slide = new_slide(deck, f"Modèle retenu ({models['retenu_libelle']}) : « {top['libelle']} » pèse le plus" if top else f"Modèle retenu : {models['retenu_libelle']}",
                      f"Erreur par bloc sur {models['test_libelle']}, scrutin jamais vu, totaux départementaux connus. Les blocs les plus gros ont les "
                      f"erreurs les plus grandes en points. Variable la plus importante : {top['libelle'] if top else 'n.d.'} "
                      f"(famille {top['famille'] if top else 'n.d.'}) : l'historique électoral de la commune domine, les indicateurs locaux ajoutent peu. "
                      f"Le nuage compare part prévue et part observée, commune par commune.", n)
    rows = [(b["bloc"], pts(b["mae"]), dec(b["r2"]), pct(b["couv80"], 0)) for b in retained["blocs"]]
    table(slide, ["Bloc", "MAE", "R²", "Couv. 80 %"], rows, (0.5, 1.35, 5.0, 0.42 * (len(rows) + 1)), 12, (2.0, 1.0, 0.8, 1.1),
          highlight=lambda i: retained["blocs"][i]["code"] == "moyenne")
    picture(slide, figure_path(ctx, "nuage"), (5.8, 1.25, 7.1, 5.7))


def slide_q3(deck: Presentation, ctx: dict, n: int) -> None:
    acc, main = ctx["accuracy"], ctx["models"]["retenu_principal"]
    slide = new_slide(deck, f"Q3 — Précision : {pts(main['mae_cond'])} d'écart moyen par bloc, bloc en tête juste dans {pct(main['acc_tete'], 0)} des communes",
                      f"La cible est une part, pas une classe : l'accuracy au sens strict ne vaut que pour le bloc en tête ({pct(main['acc_tete'])} des "
                      f"communes). Mesure principale : la MAE, écart moyen en points entre part prévue et observée ({pts(main['mae_cond'])} avec les "
                      f"totaux connus, {pts(main['mae_non_cond'])} sans). On vérifie aussi les intervalles : {pct(main['couv80'])} des résultats tombent "
                      f"dans l'intervalle à 80 %. Horizons mesurés : {', '.join(map(str, acc['horizons_mesures']))} ans ; aucun cas à un an dans "
                      f"l'historique. Objectifs fixés avant le test : atteints ou non, on les affiche tels quels.", n)
    text(slide, [f"**MAE** {pts(main['mae_cond'])} (totaux connus) · {pts(main['mae_non_cond'])} (totaux prévus)",
                 f"**Bloc en tête exact** {pct(main['acc_tete'])} · équilibrée {pct(main['bacc_tete'])}",
                 f"**Brier** {dec(main['brier'], 3)} · **couverture 80 %** {pct(main['couv80'])} · **95 %** {pct(main['couv95'])}"],
         (0.5, 1.35, 6.6, 1.9), 14, bullets=True)
    rows = [(g["objectif"], pct(g["valeur"]), "atteint" if g["atteint"] else "non atteint") for g in acc["objectifs"]]
    table(slide, ["Objectif (fixé avant le test)", "Mesuré", "Statut"], rows, (0.5, 3.4, 6.6, 1.6), 11, (4.2, 1.0, 1.2),
          highlight=lambda i: not acc["objectifs"][i]["atteint"])
    picture(slide, figure_path(ctx, "horizons"), (7.3, 1.3, 5.6, 4.6))
    text(slide, [f"**Définition retenue** : la MAE, écart moyen en points entre part prévue et part observée de chaque bloc dans chaque commune, "
                 f"sur des scrutins jamais vus à l'entraînement. Horizons mesurés : {', '.join(map(str, acc['horizons_mesures']))} ans."],
         (0.5, 5.3, 6.6, 1.5), 13)


def slide_forecast(deck: Presentation, ctx: dict, n: int) -> None:
    fc = ctx["forecast"]
    if not fc["disponible"]:
        slide = new_slide(deck, "Prévisions des prochains scrutins", "L'étape de prévision n'a pas encore écrit ses tables dans l'entrepôt : cette diapositive "
                          "le dit plutôt que de montrer des chiffres inventés. Relancer electio report après electio forecast.", n)
        text(slide, ["Section manquante : tables " + ", ".join(fc["tables_absentes"]) + " absentes de l'entrepôt.",
                     "Relancer « electio report » après « electio forecast »."], (0.5, 2.0, 12.3, 2.0), 20, colour=RED)
        return
    leading = {row["bloc"]: row["valeurs"] for row in fc["territoire"]}
    first, last = fc["cibles"][0], fc["cibles"][-1]
    best, final = fc["en_tete"][first["scrutin_cible"]], fc["en_tete"][last["scrutin_cible"]]
    slide = new_slide(deck, f"{final['libelle']} en tête en {last['date'].year} : {pct(final['moyenne'])}, probabilité {pct(final['p_tete'], 0)}",
                      f"Scénario « {fc['scenario']} ». {first['libelle']} : {best['libelle']} en tête du territoire avec {pct(best['moyenne'])} "
                      f"des exprimés (probabilité {pct(best['p_tete'], 0)}), en tête dans {entier(best['communes_en_tete'])} communes. "
                      f"{last['libelle']} : {final['libelle']} {pct(final['moyenne'])}, en tête dans {entier(final['communes_en_tete'])} communes. "
                      f"Valeur centrale : {fc['valeur_centrale']} (les mêmes chiffres que le dossier et le tableau de bord). Les intervalles "
                      f"s'élargissent avec l'horizon. {entier(len(fc['scenarios']))} scénarios sont fournis.", n)
    picture(slide, figure_path(ctx, "courbes_territoire"), (0.4, 1.3, 7.3, 4.0))
    heads = fc["tetes"].get(last["scrutin_cible"], [])
    lines = [f"**{t['libelle']}** : {h['libelle']} {pct(h['moyenne'])} (probabilité {pct(h['p_tete'], 0)}), en tête dans {entier(h['communes_en_tete'])} communes"
             for t, h in ((first, best), (last, final))]
    lines.append(f"Bloc en tête par commune, {last['libelle']} : " + ", ".join(f"{r['libelle']} {entier(r['communes'])}" for r in heads) + " communes")
    text(slide, lines, (0.5, 5.35, 7.2, 1.6), 12)
    rows = [(bloc, *(f"{pct(v['moyenne'], 0)} ({pct(v['p_tete'], 0) if v['p_tete'] is not None else '—'})" for v in values))
            for bloc, values in leading.items()]
    table(slide, ["Bloc", *(c["court"] for c in fc["cibles"])], rows,
          (7.9, 1.4, 4.95, 0.4 * (len(rows) + 1)), 9, (1.4, *([1.0] * len(fc["cibles"]))))
    text(slide, ["Part prévue, " + fc["valeur_centrale"] + " (probabilité d'être en tête), total du territoire, scénario « " + fc["scenario"] + " »"],
         (7.9, 1.45 + 0.4 * (len(rows) + 1), 4.95, 0.5), 10, colour=GREY)
    provenance_box(slide, ctx, (7.9, 2.0 + 0.4 * (len(rows) + 1), 4.95, 4.9 - 0.4 * (len(rows) + 1)))  # ─── as-of date, polls (slides_replays.py)


def slide_forecast_map(deck: Presentation, ctx: dict, n: int) -> None:
    fc = ctx["forecast"]
    if not fc["disponible"]:
        return
    last = fc["cibles"][-1]
    heads = fc["tetes"].get(last["scrutin_cible"], [])
    lead = heads[0] if heads else None
    title = (f"{last['date'].year} : {lead['libelle']} en tête dans {entier(lead['communes'])} communes sur {entier(fc['communes'])}"
             if lead and last.get("date") is not None else "Prévisions : carte par commune")
    slide = new_slide(deck, title,
                      f"Une carte par bloc : probabilité que le bloc arrive en tête dans chaque commune, {last['libelle']} (simulations). "
                      f"Les communes aux teintes moyennes sont incertaines : aucun bloc n'y dépasse nettement les autres. Le total du territoire "
                      f"peut revenir à un bloc qui ne mène pas dans le plus grand nombre de communes (les grandes villes pèsent plus).", n)
    picture(slide, figure_path(ctx, f"carte_proba_tete_{last['scrutin_cible']}"), (0.5, 1.3, 12.3, 5.7))


def slide_team(deck: Presentation, ctx: dict, n: int) -> None:
    slide = new_slide(deck, "Quatre rôles, un livrable chacun, et un client qui sait qui appeler",
                      "L'équipe projet compte quatre membres (cahier des charges) ; chacun porte une partie de la chaîne et la présente. "
                      "Côté Electio-Analytics, l'expert en analyse politique relit le rattachement des candidats aux blocs et les scénarios, "
                      "le business developer utilise le tableau de bord et la présentation devant les partis et les financeurs, "
                      "l'assistante suit le planning des scrutins et des mises à jour.", n)
    text(slide, ["Équipe projet"], (0.5, 1.35, 6.2, 0.5), 18, bold=True, colour=NAVY)
    text(slide, ["**Ingénierie des données** : sources publiques, ETL, entrepôt, contrôles de qualité",
                 "**Science des données** : exploration, corrélations, modèles, backtests",
                 "**Prévision et scénarios** : simulations, sondages, scénarios pour les partis",
                 "**Restitution** : dossier, présentation, tableau de bord, Power BI"], (0.5, 1.9, 6.2, 5.0), 15, bullets=True)
    text(slide, ["Electio-Analytics (utilisateurs)"], (7.0, 1.35, 5.9, 0.5), 18, bold=True, colour=NAVY)
    text(slide, ["**Expert en analyse politique** : valide les blocs (annexe du dossier) et les scénarios",
                 "**Business developer** : présente le tableau de bord aux partis et aux financeurs",
                 "**Assistante** : suit le calendrier des scrutins et des mises à jour"], (7.0, 1.9, 5.9, 5.0), 15, bullets=True)


def slide_planning(deck: Presentation, ctx: dict, n: int) -> None:
    fc = ctx["forecast"]
    ballots = [b for b in fc.get("calendrier", []) if b.get("tour") == 1] or fc.get("calendrier", [])
    if not ballots:
        return
    first = ballots[0]
    forecast = [b for b in ballots if b["prevu"]]
    slide = new_slide(deck, f"Prochain rendez-vous : {first['libelle'].split(' (')[0]} le {first['date_scrutin']:%d/%m/%Y} ; "
                            f"{entier(len(forecast))} scrutins prévus d'ici {ballots[-1]['date_scrutin'].year}",
                      "Le calendrier vient du référentiel des scrutins (dates officielles, prévues par la loi ou hypothétiques, chacune sourcée). "
                      "Electio prévoit les premiers tours des scrutins nationaux ; les seconds tours et les scrutins locaux sont listés avec la raison "
                      "pour laquelle ils ne sont pas prévus. Après chaque scrutin, les résultats sont chargés et la précision mesurée à nouveau ; "
                      "les prévisions sont recalculées à chaque nouveau sondage.", n)
    statuses = {"officiel": "officielle", "prevu": "prévue", "hypothese": "hypothèse"}
    rows = [(f"{b['date_scrutin']:%d/%m/%Y}", b["libelle"].split(" (")[0], statuses.get(b["statut"], b["statut"]),
             "prévu par Electio" if b["prevu"] else (b["raison_exclusion"] or "—").split(" : ")[0].split(" (")[0]) for b in ballots]
    table(slide, ["Date", "Scrutin", "Statut de la date", "Dans Electio"], rows, (0.5, 1.35, 12.3, 0.42 * (len(rows) + 1)), 12, (1.4, 3.6, 1.4, 5.9),
          highlight=lambda i: ballots[i]["prevu"])
    text(slide, ["Après chaque scrutin : chargement des résultats, nouvelle mesure de la précision. À chaque sondage : prévisions recalculées."],
         (0.5, 1.5 + 0.42 * (len(rows) + 1), 12.3, 0.8), 14, colour=GREY)


def slide_tools(deck: Presentation, ctx: dict, n: int) -> None:
    mcd = ctx["mcd"]
    slide = new_slide(deck, "Le tableau de bord et Power BI : les mêmes chiffres pour tous",
                      "Le tableau de bord web se lance sur le poste (aucune donnée ne sort) et lit le même entrepôt que ce dossier : mêmes valeurs "
                      "centrales, mêmes communes en tête. Power BI se branche sur les exports CSV ou sur PostgreSQL (rôle en lecture seule) ; les "
                      "relations entre tables sont fournies.", n)
    capture = ctx.get("capture_tableau")
    text(slide, ["Tableau de bord (navigateur, sans connexion internet)"], (0.5, 1.35, 6.0, 0.5), 18, bold=True, colour=NAVY)
    if capture:
        picture(slide, capture, (0.5, 1.9, 6.2, 4.2))
        text(slide, ["Vue d'ensemble à 1366 × 768 : la réponse en tête de page."], (0.5, 6.2, 6.2, 0.6), 12, colour=GREY)
    else:
        text(slide, ["**Vue d'ensemble** : la réponse en tête de page, cartes du bloc et du bloc en tête, probabilités",
                     "**Commune** : historique par type de scrutin, prévision, indicateurs comparés (taux et rangs)",
                     "**Scénarios** : curseurs par bloc et indicateurs économiques, cartes mises à jour",
                     "**Précision** et **Données** : erreurs mesurées, sources et empreintes"], (0.5, 1.9, 6.0, 5.0), 14, bullets=True)
    text(slide, ["Power BI"], (7.0, 1.35, 5.9, 0.5), 18, bold=True, colour=NAVY)
    text(slide, [f"Schéma en étoile : {entier(sum(r['famille'] in ('dimension', 'fait') for r in mcd['tables']))} tables de dimensions et de faits",
                 "Connexion : fichiers .pbids (CSV ou PostgreSQL)", "Relations plusieurs-à-un prêtes, filtres de la dimension vers le fait",
                 "Mesures suggérées (parts, participation, prévisions)", "Dictionnaire de données : chaque colonne décrite en français"],
         (7.0, 1.9, 5.9, 5.0), 14, bullets=True)


def slide_limits(deck: Presentation, ctx: dict, n: int) -> None:
    limits = ctx["limits"]
    slide = new_slide(deck, "Limites : des lacunes connues et dites ; aucune donnée d'électeur",
                      "Limites de données : associations connues à une seule date (2026, rien pour les scrutins passés), pas de série annuelle d'entreprises, sécurité publiée au niveau communal "
                      f"seulement depuis le {limits['securite_publication'] or 'n.d.'}. Limites du modèle : peu de scrutins comparables, la précision complète dépend du scénario départemental. "
                      "RGPD : uniquement des données publiques agrégées ; seules données personnelles, les noms des candidats, personnes publiques ; "
                      "aucune donnée d'électeur ; identifiants PostgreSQL jamais affichés, rôle en lecture seule pour la BI.", n)
    data = [f"{g['libelle']} : aucune donnée" for g in limits["lacunes"]] + [f"Entreprises : seulement {limits['annees_entreprises']}"]
    if limits["securite_publication"]:
        data.append(f"Sécurité : base communale publiée le {limits['securite_publication']}")
    text(slide, ["Limites"], (0.5, 1.35, 6.2, 0.5), 18, bold=True, colour=NAVY)
    text(slide, [*data, *(v[0].upper() + v[1:] for v in limits["modele"])], (0.5, 1.9, 6.2, 5.0), 14, bullets=True)
    text(slide, ["Sécurité et RGPD"], (7.0, 1.35, 5.9, 0.5), 18, bold=True, colour=NAVY)
    text(slide, ["Données publiques agrégées, aucune donnée d'électeur", "Noms des candidats : personnes publiques (art. 6.1.e/f, 9.2.e)",
                 "Sources tracées : URL, licence, sha256", "Identifiants : variables d'environnement, masqués", "Rôle PostgreSQL en lecture seule pour la BI"],
         (7.0, 1.9, 5.9, 5.0), 14, bullets=True)


def slide_recommendations(deck: Presentation, ctx: dict, n: int) -> None:
    main = ctx["models"]["retenu_principal"] if ctx["has_models"] else None
    slide = new_slide(deck, "Recommandation : piloter le scénario départemental par les sondages",
                      "Pour passer du POC à la production : combiner sondages et modèle, combler les lacunes de données, afficher l'incertitude, "
                      "mesurer à nouveau après chaque scrutin, charger l'entrepôt dans PostgreSQL pour Power BI, garder les référentiels versionnés. "
                      "Merci ; nous répondons à vos questions.", n)
    gain = f" (erreur {pts(main['mae_non_cond'])} → {pts(main['mae_cond'])})" if main else ""
    text(slide, [f"**Sondages** pour le scénario départemental{gain}", "**Combler les lacunes** : série SIRENE annuelle, second relevé des associations (RNA)",
                 "**Intervalles et probabilités** plutôt que des valeurs seules", "**Mesurer après chaque scrutin** : test gratuit, historique plus long",
                 "**Production** : PostgreSQL, rôle lecture seule, Power BI", "**Gouvernance** : référentiels versionnés (blocs, disponibilité)"],
         (0.5, 1.4, 12.3, 5.4), 20, bullets=True)


def slide_duels(deck: Presentation, ctx: dict, n: int) -> None:  # présidentielle 2027 duels (slides_duels.py)
    from electio.outputs import slides_duels
    slides_duels.slide_duels(deck, ctx, n)


def slide_duels_backtest(deck: Presentation, ctx: dict, n: int) -> None:
    from electio.outputs import slides_duels
    slides_duels.slide_duels_backtest(deck, ctx, n)


SLIDES = (slide_title, slide_team, slide_brief, slide_territory, slide_indicators, slide_flow, slide_mcd, slide_quality, slide_exploration,
          slide_q1, slide_q2, slide_models, slide_retained, slide_q3, slide_replays, slide_forecast, slide_forecast_map, slide_duels,
          slide_duels_backtest, slide_planning, slide_tools, slide_limits, slide_recommendations)
NEEDS_MODELS = frozenset({slide_q2, slide_models, slide_retained, slide_q3, slide_replays})
NEEDS_FORECASTS = frozenset({slide_forecast_map, slide_planning})
NEEDS_DUELS = frozenset({slide_duels, slide_duels_backtest})


def write_slides(ctx: dict[str, Any], path: Path) -> Path:
    """The defence deck (16:9), one slide per function of ``SLIDES``."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    number = 0
    for build in SLIDES:
        if (build in NEEDS_MODELS and not ctx["has_models"]) or (build in NEEDS_FORECASTS and not ctx["forecast"]["disponible"]) \
                or (build in NEEDS_DUELS and not ctx.get("duels", {}).get("disponible")):
            continue
        number += 1
        build(deck, ctx, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    deck.save(path)
    return path
