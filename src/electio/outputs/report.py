"""Synthesis report (« dossier de synthèse »): warehouse queries → context dict → HTML and PDF.

Every figure printed in the report is read from the warehouse here (never typed in the
template): the template only formats the context's numbers (French conventions, filters
``entier``, ``dec``, ``pct``, ``pts``). The same context feeds the slides (``slides.py``) and the
notebooks read the same tables (``notebooks/*.ipynb``, executed by :func:`execute_notebooks`).

Sections: territory, criteria and indicators, method and data flow, MCD, exploratory figures,
the brief's three questions, models tested, retained model, accuracy, forecasts (when the
forecast stage has written its tables), limits, security/GDPR, recommendations.

Layout: ``report_format`` (French number formats, warehouse reading helpers), ``report_data``
(sections on the data: territory, criteria, method, MCD, first question), ``report_results``
(sections on the models, forecasts, referential and limits), ``notebooks`` (executed copies);
this module gathers the figures, builds the context, renders HTML and PDF and runs the stage.
Every name used as ``report.X`` before the split is still importable from here.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from electio import config
from electio.atomic import staged_folder
from electio.analysis.explore import has_relation
from electio.outputs import figures_report, report_replays
from electio.warehouse.store import connect
from electio.outputs.report_format import (  # noqa: F401  (re-exported)
    ballot_totals, bloc_labels, card_values, dec, entier, pct, pts, query, rank, records, scalar, shown_path, turnout,
)
from electio.outputs.report_data import (  # noqa: F401  (re-exported)
    BRIEF_THEMES, FLOW_ROWS, SMALL_COMMUNE, THEME_REASONS, correlation_section, coverage_matrix, departements_section,
    flow_steps, indicator_coverage, indicator_matrix, indicators_section, mcd_section, meta_section, method_section,
    model_france_rows, national_comparison, reference_ballot, size_summary, strongest_by_theme, target_flags, territory_section,
    theme_order, year_ranges,
)
from electio.outputs.report_duels import duel_section
from electio.outputs.report_results import (  # noqa: F401  (re-exported)
    FORECAST_PICKS, FORECAST_TABLES, MODEL_DESCRIPTIONS, accuracy_section, calibration_summary, evaluation_frame, folds,
    forecast_section, forecast_targets, limits_section, markdown_bullets, model_label, models_section, referential_section,
    retained_section, scenario_effects, supervised_section,
)
from electio.outputs.notebooks import (  # noqa: F401  (re-exported)
    NOTEBOOKS_DIR, NotebookRun, execute_notebooks, inject_warehouse,
)

REPORT_DIR = "rapport"
HTML_NAME, PDF_NAME, PPTX_NAME = "dossier_synthese.html", "dossier_synthese.pdf", "soutenance.pptx"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SECURITY_MD = config.PROJECT_DIR / "SECURITY.md"
DASHBOARD_CAPTURE = Path("captures") / "tableau_de_bord.png"  # in the output folder: a screenshot of the dashboard, when one was taken
FIGURE_MAX_WIDTH = 1600  # pixels of the copies embedded in the HTML, PDF and slides
GLOSSARY = (  # (term, plain French definition): every technical word the report and the slides use
    ("Bloc politique", "Regroupement de candidats ou de listes de sensibilité proche (par exemple « Centre »). Le rattachement de chaque candidat est en annexe."),
    ("Part des exprimés", "Voix d'un bloc divisées par les suffrages exprimés (hors blancs et nuls)."),
    ("Corrélation (ρ, « rho » de Spearman)", "Mesure de −1 à 1 indiquant si deux grandeurs varient dans le même sens d'une commune à l'autre (1), en sens inverse (−1) ou sans lien (0). Elle ne prouve aucune causalité."),
    ("Corrélation partielle", "La même mesure, une fois retiré l'effet de la taille et de la densité des communes."),
    ("Intervalle de confiance (IC 95 %)", "Fourchette dans laquelle la vraie valeur se trouve avec 95 % de confiance, obtenue en rééchantillonnant les communes de nombreuses fois (méthode dite « bootstrap »)."),
    ("Erreur absolue moyenne (MAE)", "Écart moyen, en points de pourcentage, entre la part prévue d'un bloc et la part obtenue, commune par commune."),
    ("Backtest", "Test d'un modèle sur un scrutin passé qu'il n'a jamais vu : on ne lui donne que les données antérieures à ce scrutin."),
    ("Découpage chronologique (« forward chaining »)", "Chaque scrutin testé n'est prévu qu'avec des scrutins plus anciens, comme dans la réalité."),
    ("Conditionnel / non conditionnel", "Conditionnel : on donne au modèle le vrai résultat du département et il répartit les voix entre communes. Non conditionnel : il doit aussi prévoir le résultat du département (cas réel d'une prévision)."),
    ("Swing uniforme", "Méthode de référence : l'évolution du département, en points, est appliquée telle quelle à chaque commune."),
    ("Persistance", "Méthode de référence : chaque commune refait son dernier résultat."),
    ("Valeur centrale", "Moyenne des simulations : c'est le chiffre affiché partout (dossier, présentation, tableau de bord) ; les moyennes des blocs somment à 100 %."),
    ("Intervalle à 80 %", "Fourchette qui contient le résultat dans 8 cas sur 10 selon les simulations."),
    ("Probabilité d'arriver en tête", "Part des simulations où le bloc obtient la plus forte part des exprimés."),
    ("Score de Brier", "Qualité des probabilités annoncées : moyenne des carrés des écarts entre probabilité et résultat (0 = parfait ; comparé à une référence naïve)."),
    ("Scénario", "Jeu d'hypothèses sur l'évolution du département (par exemple +3 points pour un bloc) appliqué aux prévisions."),
    ("Hors ligne", "Sans connexion à internet : une donnée « non disponible hors ligne » n'a pas pu être copiée dans le miroir local, elle manque donc aux calculs."),
    ("Miroir local", "Copie locale, vérifiée par empreinte numérique, des fichiers publics téléchargés : les calculs ne dépendent pas d'internet."),
    ("Empreinte sha256", "Code calculé à partir d'un fichier, qui change si le fichier change : il prouve que la donnée utilisée est la donnée publiée."),
    ("COG 2026", "Code officiel géographique de l'INSEE au 1er janvier 2026 : toutes les communes fusionnées depuis 2008 sont ramenées à leur commune actuelle."),
)
PDF_SKIPPED = ("PDF non produit : WeasyPrint ne trouve pas la bibliothèque système Pango (paquet Debian/Ubuntu "
               "« libpango-1.0-0 libpangoft2-1.0-0 », macOS « brew install pango »). Le dossier HTML est complet : "
               "l'ouvrir dans un navigateur et l'imprimer en PDF, ou installer Pango puis relancer « electio report ».")
Progress = Callable[[str], None]


# ─── Figures ─────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class ReportFigure:
    """An image of the report: file (a reduced copy in the report folder), title and caption."""

    key: str
    path: Path
    title: str
    caption: str = ""


def reduced_copy(source: Path, folder: Path, max_width: int = FIGURE_MAX_WIDTH) -> Path:
    """A copy of ``source`` at most ``max_width`` pixels wide (PNG), for embedding."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{source.parent.name}_{source.name}" if source.parent != folder else source
    with Image.open(source) as image:
        if image.width > max_width:
            image = image.resize((max_width, round(image.height * max_width / image.width)), Image.Resampling.LANCZOS)
        image.convert("RGB").save(target, optimize=True)
    return target


EXPLORATION_PICKS = (  # (file pattern, title); {ref}: reference ballot
    ("carte_blocs_{ref}.png", "Carte des blocs et de la participation"),
    ("histogrammes_blocs_{ref}.png", "Distribution des parts des blocs entre communes"),
    ("carte_evolution_*.png", "Évolution entre deux présidentielles"),
    ("correlations_{ref}_principaux.png", "Carte de chaleur des corrélations : les indicateurs les plus liés au vote"),
    ("nuages_{ref}.png", "Nuages de points des couples les plus corrélés"),
    ("carte_indicateurs_pauvrete_revenus.png", "Cartes des indicateurs : pauvreté et revenus"),
)


def exploration_figures(folder: Path, ballot: str | None, target: Path) -> tuple[list[ReportFigure], list[str]]:
    """The selected exploration PNGs that exist (reduced copies), and the patterns not found."""
    found, missing = [], []
    for pattern, title in EXPLORATION_PICKS:
        matches = sorted(folder.glob(pattern.format(ref=ballot or "*"))) if folder.is_dir() else []
        if matches:
            found.append(ReportFigure(Path(pattern).stem.format(ref=""), reduced_copy(matches[-1], target), title, f"output/exploration/{matches[-1].name}"))
        else:
            missing.append(pattern.format(ref=ballot or "…"))
    return found, missing


def model_figures(con: duckdb.DuckDBPyConnection, ctx: dict, evaluation: pd.DataFrame, target: Path) -> dict[str, ReportFigure]:
    """Backtests, horizons, forecast against outcome, forward chaining (drawn from the warehouse)."""
    from electio.models.evaluate import MODEL_LABELS, RETAINED

    territory = ctx["meta"]["territoire"]
    labels = {**MODEL_LABELS, RETAINED: model_label(RETAINED)}
    source = f"Entrepôt Electio, ETL du {ctx['meta']['etl_date']} (territoire {territory}), table model_evaluation."
    table = ctx["models"]["tableaux"][0]
    conditional = pd.DataFrame([r["valeurs"] for r in table["lignes"]], index=[r["code"] for r in table["lignes"]],
                               columns=[f"{c['scrutin']} ({c['territoire']}, {c['horizon']} ans)" for c in table["cas"]])
    out = {"backtests": ReportFigure("backtests", figures_report.backtest_figure(conditional, labels, target / "backtests.png", source),
                                     "Erreur des modèles par scrutin testé (conditionnelle aux totaux départementaux)")}
    by_horizon = pd.DataFrame([{**{m: r[m] for m in (RETAINED, "swing_uniforme", "persistance")}, "h": r["horizon"]}
                               for r in ctx["accuracy"]["horizons"] if r["territoire"] == territory]).set_index("h")
    out["horizons"] = ReportFigure("horizons", figures_report.horizon_figure(by_horizon, labels, target / "horizons.png", source),
                                   "MAE moyenne par bloc selon l'horizon")
    points = query(con, """
        SELECT bloc, part_prevue, part_observee FROM model_prediction_backtest
        WHERE modele = 'retenu' AND scrutin_test = ? AND territoire = ? AND conditionnel AND bloc <> 'abstention'
          AND horizon_ans = (SELECT MIN(horizon_ans) FROM model_prediction_backtest WHERE modele = 'retenu' AND scrutin_test = ? AND territoire = ?)""",
                   ctx["models"]["test"], territory, ctx["models"]["test"], territory)
    blocs = query(con, "SELECT code_bloc, libelle, couleur FROM dim_bloc ORDER BY ordre")
    title = f"{ctx['models']['test_libelle']} : part prévue (backtest) et part observée par commune"
    out["nuage"] = ReportFigure("nuage", figures_report.scatter_figure(points, blocs, target / "prevu_observe.png", title,
                                                                        source.replace("model_evaluation", "model_prediction_backtest") + " Diagonale : prévision parfaite."), title)
    chain = pd.DataFrame(ctx["supervised"]["plis"])
    out["chainage"] = ReportFigure("chainage", figures_report.chaining_figure(ctx["supervised"]["ballots"], chain, target / "decoupage.png",
                                                                              "Premiers tours des présidentielles, législatives et européennes de l'entrepôt (dim_scrutin)."),
                                   "Découpage entraînement / test")
    return out


# ─── Context, rendering ──────────────────────────────────────────────────────────────────

def build_context(warehouse: Path, france: Path | None = None, output: Path | None = None, progress: Progress | None = None,
                  figures_dir: Path | None = None) -> dict[str, Any]:
    """Everything the report and the slides show, read from the warehouse (figures written to ``figures_dir``,
    by default ``output``/rapport/figures)."""
    say = progress or (lambda _m: None)
    output = output or config.output_dir()
    figures_dir = figures_dir or output / REPORT_DIR / "figures"
    ctx: dict[str, Any] = {}
    with connect(warehouse) as con:
        say("Lecture de l'entrepôt")
        labels = bloc_labels(con)
        ctx["meta"] = meta_section(con)
        territory = ctx["meta"]["territoire"]
        ballot = reference_ballot(con)
        ctx["territory"] = territory_section(con, ctx["meta"], france, labels)
        ctx["indicators"] = indicators_section(con, ballot, labels)
        ctx["method"] = method_section(con)
        ctx["mcd"] = mcd_section(con, output / "exports")
        ctx["q1"] = correlation_section(con, ballot, labels)
        has_models = has_relation(con, "model_evaluation")
        if has_models:
            evaluation = evaluation_frame(con)
            ctx["supervised"] = supervised_section(con)
            ctx["models"] = models_section(con, evaluation, territory)
            ctx["retained"] = retained_section(con, evaluation, territory, labels)
            ctx["accuracy"] = accuracy_section(con, evaluation, territory)
            ctx["replays"] = report_replays.replay_section(con)  # ─── replays hook (report_replays.py)
        ctx["forecast"] = forecast_section(con, output / "previsions", territory, labels)
        ctx["provenance"] = report_replays.provenance_section(con)  # ─── as-of date, polls, hypothesis (report_replays.py)
        ctx["duels"] = duel_section(con, output / "previsions", figures_dir, territory)  # présidentielle 2027 duels (report_duels.py)
        ctx["referentiel"] = referential_section(con)
        ctx["limits"] = limits_section(con, ctx["indicators"], ctx.get("accuracy", {"horizons_mesures": []}))
        say("Figures")
        ctx["figures"] = {}
        steps, edges = flow_steps(ctx["meta"], ctx["method"], ctx["indicators"])
        flow = figures_report.flow_diagram(figures_dir, steps, edges, FLOW_ROWS)
        ctx["figures"]["flux"] = ReportFigure("flux", flow, "Flux de données, de la source publique aux livrables")
        ctx["figures"]["mcd"] = ReportFigure("mcd", reduced_copy(ctx["mcd"]["image"], figures_dir), "Modèle conceptuel de données",
                                             "exports/mcd/mcd.png, dessiné à partir de la définition des tables")
        if ctx["territory"]["departements"] is not None:
            ctx["figures"]["departements"] = ReportFigure(
                "departements", figures_report.territory_figure(ctx["territory"]["departements"]["table"], territory, figures_dir / "territoires.png",
                                                                "Chaque point est un département ; premiers tours nationaux depuis 2017 "
                                                                "(v_resultat_bloc_territoire, fact_participation_territoire)."),
                "Le territoire parmi les départements")
        if ctx["mcd"]["physique"] is not None:
            ctx["figures"]["schema"] = ReportFigure("schema", reduced_copy(ctx["mcd"]["physique"], figures_dir), "Schéma physique (annexe)",
                                                    "exports/mcd/schema_physique.png : tables, clés et liens")
        if has_models:
            ctx["figures"].update(model_figures(con, ctx, evaluation, figures_dir))
            replays = report_replays.replay_figure(ctx["replays"]["tableau"], figures_dir / "rejeux.png",
                                                   f"Entrepôt Electio, ETL du {ctx['meta']['etl_date']}, table model_evaluation (modèles *_rejoue).")
            if replays is not None:
                ctx["figures"]["rejeux"] = ReportFigure("rejeux", replays, "Erreur d'une prévision rejouée selon le délai avant le vote")
    ctx["exploration"], ctx["exploration_absentes"] = exploration_figures(output / "exploration", ballot, figures_dir)
    full = output / "exploration" / f"correlations_{ballot}.png"
    if ballot and full.is_file():  # the whole heat map, one page of the annex
        ctx["figures"]["correlations_completes"] = ReportFigure("correlations_completes", reduced_copy(full, figures_dir),
                                                                "Carte de chaleur complète : tous les indicateurs", f"output/exploration/{full.name}")
    ctx["forecast"]["figures"] = [ReportFigure(p.stem, reduced_copy(p, figures_dir), title, f"output/previsions/{p.name}")
                                  for p, title in ctx["forecast"]["graphiques"]]
    ctx["security"] = markdown_bullets(SECURITY_MD.read_text(encoding="utf-8"), "Résumé RGPD") if SECURITY_MD.is_file() else []
    ctx["has_models"] = has_models
    ctx["glossaire"] = [{"terme": t, "definition": d} for t, d in GLOSSARY]
    ctx["livrables"] = deliverables(output, warehouse)
    capture = output / DASHBOARD_CAPTURE
    ctx["capture_tableau"] = reduced_copy(capture, figures_dir) if capture.is_file() else None
    return ctx


def phrase(text: str) -> str:
    """A sentence: capital first letter, final full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?", "…")) else ".")


def deliverables(output: Path, warehouse: Path) -> list[dict[str, Any]]:
    """The brief's deliverables, where they are and whether they exist yet."""
    items = [("Dossier de synthèse (HTML, PDF)", output / REPORT_DIR / "dossier_synthese.pdf", "electio report"),
             ("Support de soutenance (PPTX)", output / REPORT_DIR / "soutenance.pptx", "electio report"),
             ("Notebooks Jupyter (sources ; copies exécutées)", NOTEBOOKS_DIR, "electio report"),
             ("Jeu de données nettoyé : entrepôt DuckDB", warehouse, "electio etl"),
             ("Exports CSV, Parquet, dump SQL, Power BI", output / "exports", "electio export"),
             ("Modèle conceptuel de données", output / "exports" / "mcd", "electio export"),
             ("Fiche du modèle retenu", output / "model_card.md", "electio evaluate"),
             ("Code commenté", config.PACKAGE_DIR, "—")]
    stages = {"electio report": "rapport", "electio etl": "construction de l'entrepôt", "electio export": "exports", "electio evaluate": "modélisation"}
    return [{"livrable": name, "chemin": shown_path(path), "commande": stages.get(command, command),
             "present": command == "electio report" or path.exists()} for name, path, command in items]



def data_uri(path: Path) -> str:
    """An image as a ``data:`` URI (the HTML stays self-contained)."""
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def environment():
    """The Jinja2 environment of the report templates, with the French number filters."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(entier=entier, dec=dec, pct=pct, pts=pts, data_uri=data_uri, phrase=phrase)
    return env


def render_html(ctx: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    return environment().get_template("rapport.html.j2").render(**ctx)


def write_pdf(page: str, path: Path) -> int | None:
    """Write the PDF of the HTML page (WeasyPrint); its number of pages, None when WeasyPrint cannot load its
    system libraries (Pango: an ``OSError`` at import or while rendering), so that the HTML report still stands."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import weasyprint

        document = weasyprint.HTML(string=page, base_url=str(TEMPLATES_DIR)).render()
        document.write_pdf(path)
    except OSError:
        path.unlink(missing_ok=True)
        return None
    return len(document.pages)


# ─── Entry point ─────────────────────────────────────────────────────────────────────────

@dataclass
class ReportResult:
    """Files written by ``electio report`` and the time each step took."""

    html: Path
    pdf: Path | None  # None when WeasyPrint could not load (``notes`` says why)
    pages: int
    pptx: Path | None
    notebooks: list[NotebookRun]
    context: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def failed_notebooks(self) -> list[NotebookRun]:
        return [run for run in self.notebooks if run.error]


def run_report(warehouse: Path | None = None, france: Path | None = None, notebooks: bool = True, slides: bool = True,
               progress: Progress | None = None) -> ReportResult:
    """Write the report (HTML, PDF), the slides (PPTX) and the executed notebooks into ``output/rapport``."""
    say = progress or (lambda _m: None)
    warehouse = warehouse or config.warehouse_path()
    final = config.output_dir() / REPORT_DIR
    timings: dict[str, float] = {}

    def timed(name: str, step: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = step()
        timings[name] = time.perf_counter() - start
        return value

    with staged_folder(final) as folder:  # the whole folder is replaced: no new report beside old notebooks
        ctx = timed("contexte", lambda: build_context(warehouse, france, config.output_dir(), say, folder / "figures"))
        say("Rapport HTML")
        page = timed("html", lambda: render_html(ctx))
        (folder / HTML_NAME).write_text(page, encoding="utf-8")
        say("Rapport PDF")
        pages = timed("pdf", lambda: write_pdf(page, folder / PDF_NAME))
        if slides:
            from electio.outputs.slides import write_slides

            say("Présentation")
            timed("pptx", lambda: write_slides(ctx, folder / PPTX_NAME))
        runs: list[NotebookRun] = []
        if notebooks:
            say("Notebooks")
            runs = timed("notebooks", lambda: execute_notebooks(warehouse, folder / "notebooks"))
    runs = [replace(run, path=final / run.path.relative_to(folder)) for run in runs]
    html_path, pptx = final / HTML_NAME, final / PPTX_NAME if slides else None
    pdf, notes = (final / PDF_NAME, []) if pages is not None else (None, [PDF_SKIPPED])
    timings["total"] = sum(timings.values())
    return ReportResult(html_path, pdf, pages or 0, pptx, runs, ctx, timings, notes)
