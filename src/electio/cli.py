"""Command-line interface ``electio`` (texts in French)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from electio import cli_texts, config, guard
from electio.catalogue import catalogue
from electio.errors import ElectioError
from electio.failures import explain
from electio.fetch import locate, status

RUN_NOTES: list[str] = []
"""What a stage left out on this machine (e.g. the PDF without Pango), repeated in ``electio run``'s summary."""

WRITING_COMMANDS = frozenset({"etl", "explore", "evaluate", "forecast", "export", "report", "run"})
"""Commands that write into the project home: each holds the home's lock (``electio.guard``)."""


class GuardedTyper(typer.Typer):
    """The application, run under one handler: interruptions and expected failures end with a French message."""

    def __call__(self, *args, **kwargs):
        guard.install_signal_handlers()
        try:
            return super().__call__(*args, **kwargs)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001  (the one place that reports every failure)
            failure = explain(exc, guard.interrupted())
            if failure is None:
                console.print(f"[red]Erreur inattendue[/red] ({type(exc).__name__}) : {exc}")
                console.print("Merci de la signaler avec la commande lancée ; l'état précédent du dossier est conservé.")
                raise
            report_failure(failure)
            raise SystemExit(failure.code) from None


def stop(exc: BaseException, note: str | None = None) -> None:
    """End a command on an expected failure: French message, ``note`` (what was kept), advice; exit code 1."""
    failure = explain(exc) or explain(ElectioError(str(exc)))
    console.print("[red]Erreur :[/red]", escape(failure.message))
    if note:
        console.print(escape(note))
    if failure.advice and not isinstance(exc, ElectioError):
        console.print(escape(failure.advice))
    raise typer.Exit(code=1) from None


def report_failure(failure) -> None:
    """Print a failure's French message and advice (markup in the message is not interpreted)."""
    console.print("[red]Erreur :[/red]", escape(failure.message))
    console.print(escape(failure.advice))


cli_texts.install()
app = GuardedTyper(help="Electio : prévision des tendances électorales par commune à partir de données publiques.",
                  no_args_is_help=True, add_completion=False, cls=cli_texts.PipelineGroup)
console = Console()

DepartementOpt = Annotated[str, typer.Option("--departement", "-d", help="Département à charger (code INSEE, ex. 69, 2A, 971).")]
FranceOpt = Annotated[bool, typer.Option("--france", help="Charger toutes les communes de France (scrutins nationaux).")]
WarehouseOpt = Annotated[Path | None, typer.Option("--entrepot", help="Fichier DuckDB de l'entrepôt (défaut : data/warehouse/electio.duckdb).")]
AsOfOpt = Annotated[str | None, typer.Option("--au", metavar="AAAA-MM-JJ", help="Date de référence : seules les données publiées avant elle servent (scrutins, sondages, indicateurs) ; les cibles sont les scrutins du calendrier qui la suivent. Défaut : aujourd'hui. Une date passée rejoue la prévision telle qu'elle aurait été faite ce jour-là.")]


@app.callback()
def main_callback(ctx: typer.Context) -> None:
    """Electio : prévision des tendances électorales par commune à partir de données publiques."""
    if ctx.invoked_subcommand in WRITING_COMMANDS:
        home = config.home()
        guard.lock_home(home, ctx.invoked_subcommand)
        ctx.call_on_close(lambda: guard.unlock_home(home))


def as_of_date(text: str | None):
    """The ``--au`` date (None: today), or a French usage error."""
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise cli_texts.FrenchBadParameter(f"« {text} » n'est pas une date au format AAAA-MM-JJ (ex. 2024-05-15)", param_hint="--au") from None


def territory_from(departement: str, france: bool):
    from electio.pipeline.etl import Territory

    return Territory(None if france else departement.upper().zfill(2))


@app.command("sources")
def sources_cmd(
    verifier: Annotated[bool, typer.Option("--verifier/--sans-verifier", help="Recalculer les empreintes sha256.")] = False,
    dossier: Annotated[str | None, typer.Option("--dossier", help="Filtrer : elections, geo ou indicators.")] = None,
) -> None:
    """Lister le catalogue des sources : titre, producteur, licence, URL et statut."""
    table = Table(title="Catalogue des sources", show_lines=False)
    for column in ("id", "titre", "producteur", "licence", "url", "statut"):
        table.add_column(column, overflow="fold")
    counts: dict[str, int] = {}
    for source in catalogue().values():
        if dossier and source.folder != dossier:
            continue
        state = status(source) if verifier else ("present" if locate(source) else "missing")
        counts[state] = counts.get(state, 0) + 1
        table.add_row(source.id, source.title, source.publisher[:60], source.licence[:40], source.url or source.provenance_url, state)
    console.print(table)
    console.print(" · ".join(f"{k} : {v}" for k, v in sorted(counts.items())))


def _print_result(result) -> None:
    checks = Table(title="Contrats de qualité")
    for column in ("table", "règle", "sévérité", "lignes en échec"):
        checks.add_column(column)
    for check in result.checks:
        style = "red" if check.lignes_en_echec and check.severite == "bloquante" else None
        checks.add_row(check.table_name, check.regle, check.severite, str(check.lignes_en_echec), style=style)
    console.print(checks)
    order = {sid: i for i, sid in enumerate(result.coverage["scrutin_id"].drop_duplicates())}
    by_ballot = result.coverage.groupby("scrutin_id", sort=False)[["communes_presentes", "communes_attendues"]].sum()
    cov = Table(title=f"Couverture : communes présentes / attendues (COG 2026), {result.coverage['territoire'].nunique()} département(s)")
    for column in ("scrutin", "présentes", "attendues", "taux"):
        cov.add_column(column, justify="right")
    for scrutin, row in sorted(by_ballot.iterrows(), key=lambda item: order[item[0]]):
        cov.add_row(scrutin, str(row.communes_presentes), str(row.communes_attendues), f"{row.communes_presentes / row.communes_attendues:.1%}")
    console.print(cov)
    console.print(f"Entrepôt écrit : {result.warehouse} (exécution {result.run_id})")


def run_etl_with_progress(departement: str, france: bool, entrepot: Path | None):
    from electio.pipeline.etl import load_scrutins, load_total_sources, run_etl

    territory = territory_from(departement, france)
    steps = 7 + sum(territory.covers(c) for c in load_scrutins()["couverture"]) + len(load_total_sources())
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(f"ETL {territory.code}", total=steps)

        def advance(message: str) -> None:
            bar.update(task, advance=1, description=message)

        return run_etl(territory, entrepot, progress=advance)


@app.command("etl")
def etl_cmd(departement: DepartementOpt = config.DEFAULT_DEPARTEMENT, france: FranceOpt = False, entrepot: WarehouseOpt = None) -> None:
    """Construire l'entrepôt (résultats électoraux harmonisés au COG 2026) pour un territoire."""
    try:
        result = run_etl_with_progress(departement, france, entrepot)
    except ElectioError as exc:
        stop(exc, "L'entrepôt précédent est intact.")
    _print_result(result)


@app.command("run")
def run_cmd(departement: DepartementOpt = config.DEFAULT_DEPARTEMENT, france: FranceOpt = False, entrepot: WarehouseOpt = None,
            au: AsOfOpt = None,
            tout_recalculer: Annotated[bool, typer.Option("--tout-recalculer", help="Refaire chaque étape, même celles dont les entrées n'ont pas changé depuis la dernière exécution.")] = False) -> None:
    """Exécuter toute la chaîne sur un territoire : ETL, exploration, modèles, prévisions, exports, rapport.

    Une étape dont les entrées n'ont pas changé depuis la dernière exécution (fichiers sources, code, date de référence) est reprise telle quelle."""
    from datetime import date

    from electio import run_cache

    as_of = as_of_date(au) or date.today()  # a malformed date stops the run before the ETL
    warehouse = entrepot or config.warehouse_path()
    code = run_cache.code_hash()
    territory = territory_from(departement, france)
    plan = run_cache.StagePlan(warehouse, run_cache.key_of("etl", territory.code, warehouse.resolve(), code, run_cache.sources_hash()), tout_recalculer)
    stages = [
        ("Analyse exploratoire", lambda: explore_cmd(entrepot=entrepot)),
        ("Modèles et backtests", lambda: evaluate_cmd(entrepot=entrepot, au=au)),
        ("Prévisions des prochains scrutins", lambda: forecast_cmd(entrepot=entrepot, au=au)),
        ("Exports et MCD", lambda: export_cmd(entrepot=entrepot)),
        ("Dossier de synthèse, présentation, notebooks", lambda: report_cmd(entrepot=entrepot)),
    ]
    RUN_NOTES.clear()
    total = len(stages) + 1
    console.rule(f"Étape 1/{total} : ETL")
    if plan.skip_etl:
        console.print("ETL inchangé (mêmes fichiers sources à l'octet près, même code) : entrepôt repris tel quel.")
    else:
        etl_cmd(departement, france, entrepot)
    plan.etl_done()
    for number, (label, stage) in enumerate(stages, start=2):
        console.rule(f"Étape {number}/{total} : {label}")
        key = run_cache.key_of(label, code, as_of, territory.code, warehouse.resolve())
        notes = plan.skipped_notes(label, key)
        if notes is None:
            before = len(RUN_NOTES)
            stage()
            notes = RUN_NOTES[before:]
        else:
            console.print("Étape inchangée (mêmes entrées que la dernière exécution) : résultats repris tels quels.")
            RUN_NOTES.extend(notes)
        plan.done(label, key, list(notes))
    console.rule("Bilan")
    console.print(f"Les {total} étapes sont terminées.")
    for note in RUN_NOTES:
        console.print(f"[yellow]{escape(note)}[/yellow]")


@app.command("load")
def load_cmd(
    target: Annotated[str | None, typer.Option("--target", help="URL PostgreSQL cible (postgresql://utilisateur@hôte:port/base). Défaut : variable ELECTIO_PG_URL, puis fichier .env ; préférez-les pour ne pas exposer le mot de passe.")] = None,
    entrepot: WarehouseOpt = None,
    schema: Annotated[str, typer.Option("--schema", help="Schéma PostgreSQL à remplacer.")] = "electio",
) -> None:
    """Copier l'entrepôt DuckDB dans PostgreSQL (schéma remplacé d'un bloc) et comparer les lignes par table."""
    import psycopg
    from rich.markup import escape

    from electio.warehouse import postgres

    url = target or ""
    try:
        url = postgres.resolve_url(target)
        source = entrepot or config.warehouse_path()
        console.print(f"Chargement de {source} vers {postgres.redact(url, url)} (schéma {schema})…")
        before = postgres.duckdb_counts(source)
        loaded = postgres.load_to_postgres(source, url, schema)
    except (ElectioError, FileNotFoundError, psycopg.Error) as exc:
        console.print("[red]Erreur :[/red]", escape(postgres.redact(str(exc), url)))
        console.print("Le schéma PostgreSQL précédent est intact.")
        raise typer.Exit(code=1) from None
    table = Table(title=f"Lignes par table : DuckDB → PostgreSQL ({schema})")
    for column in ("table", "DuckDB", "PostgreSQL", "statut"):
        table.add_column(column, justify="right" if column in ("DuckDB", "PostgreSQL") else "left")
    for name in [*loaded, *(t for t in before if t not in loaded)]:
        copied = loaded.get(name)
        state = "non copiée (absente du DDL)" if copied is None else ("identique" if copied == before[name] else "écart")
        table.add_row(name, str(before[name]), "" if copied is None else str(copied), state)
    console.print(table)
    console.print(f"{len(loaded)} tables chargées ; lecture seule : rôle {postgres.READER_ROLE}.")


@app.command("explore")
def explore_cmd(
    entrepot: WarehouseOpt = None,
    scrutins: Annotated[str | None, typer.Option("--scrutins", help="Scrutins à analyser, séparés par des virgules (défaut : tous).")] = None,
    evolution: Annotated[str, typer.Option("--evolution", help="Carte d'évolution entre deux scrutins : départ:arrivée.")] = "pres2017_t1:pres2022_t1",
    reference: Annotated[str | None, typer.Option("--reference", help="Scrutin de la réponse affichée (défaut : dernière présidentielle, 1er tour).")] = None,
    ponderation: Annotated[str, typer.Option("--ponderation", help="aucune (chaque commune compte pour un) ou votants.")] = "aucune",
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=50, help="Nombre de rééchantillonnages bootstrap.")] = 1000,
    graine: Annotated[int, typer.Option("--graine", help="Graine du générateur aléatoire (résultats reproductibles).")] = 2026,
    html: Annotated[bool, typer.Option("--html/--sans-html", help="Écrire aussi les pages HTML interactives.")] = True,
) -> None:
    """Analyse exploratoire : cartes, histogrammes, cartes de chaleur des corrélations, indicateur le plus corrélé."""
    import duckdb

    from electio.analysis.correlations import BootstrapSettings
    from electio.analysis.explore import CAUSATION, ExploreOptions, run_explore

    if ponderation not in ("aucune", "votants") or evolution.count(":") != 1:
        console.print("[red]Erreur :[/red] --ponderation vaut aucune ou votants ; --evolution s'écrit départ:arrivée.")
        raise typer.Exit(code=2)
    options = ExploreOptions(
        scrutins=tuple(s.strip() for s in scrutins.split(",")) if scrutins else (), evolution=tuple(evolution.split(":")),
        reference=reference, ponderation=ponderation, bootstrap=BootstrapSettings(bootstrap, graine), html=html,
    )
    try:
        with console.status("Analyse exploratoire…") as spinner:
            result = run_explore(entrepot, options, progress=lambda message: spinner.update(message))
    except (ElectioError, FileNotFoundError, ValueError) as exc:
        stop(exc)
    except duckdb.Error as exc:
        stop(exc, "L'entrepôt est inchangé.")
    console.print(result.coverage.describe().capitalize(), style=None if result.coverage.complete else "red")
    for note in result.notes:
        console.print(f"[yellow]{note}[/yellow]")
    if not result.answers.empty:
        shown = result.answers[result.answers["scrutin_id"] == result.reference]
        console.rule(f"Indicateur le plus corrélé à chaque cible — {result.reference_label}")
        for text in shown["texte"]:
            console.print(f"• {text}")
        if shown.empty:
            console.print("Aucun indicateur disponible avant ce scrutin : voir les autres scrutins dans analysis_answer.")
        console.print(f"Tableau complet : table analysis_correlation ({result.stored.get('analysis_correlation', 0)} lignes), "
                      f"réponses : analysis_answer ({result.stored.get('analysis_answer', 0)} lignes) et {result.output / 'reponse_correlation.txt'}")
        console.print(f"[bold]{CAUSATION}[/bold]")
    console.print(f"{len(result.figures)} fichiers écrits dans {result.output} en {result.timings['total']:.0f} s.")


@app.command("export")
def export_cmd(
    entrepot: WarehouseOpt = None,
    dossier: Annotated[Path | None, typer.Option("--dossier", help="Dossier des exports, entièrement régénéré (défaut : output/exports).")] = None,
) -> None:
    """Exporter le schéma en étoile (CSV, Parquet, dump SQL, dictionnaire, Power BI) et le MCD."""
    import duckdb

    from electio.outputs.exports import EXCEL_MAX_ROWS, export_all

    try:
        with console.status("Export de l'entrepôt…"):
            result = export_all(entrepot or config.warehouse_path(), dossier or config.output_dir() / "exports")
    except (ElectioError, FileNotFoundError, duckdb.Error) as exc:
        stop(exc, "Le dossier d'exports précédent est intact.")
    table = Table(title="Objets exportés")
    for column in ("objet", "type", "lignes", "fichiers"):
        table.add_column(column, justify="right" if column == "lignes" else "left")
    for kind, counts in (("table", result["tables"]), ("vue", result["views"])):
        for name, rows in counts.items():
            files = "CSV, Parquet" if rows <= EXCEL_MAX_ROWS else "Parquet (trop grand pour Excel)"
            table.add_row(name, kind, f"{rows:,}".replace(",", " "), files)
    console.print(table)
    console.print(f"{len(result['relations'])} relations (clés étrangères) ; dump SQL, dictionnaire de données et démarrage Power BI écrits.")
    if not result["images"]:
        console.print("[yellow]Graphviz (dot) absent : MCD conceptuel en PNG ; schéma physique écrit en DOT seulement (apt-get install graphviz pour ses images).[/yellow]")
    console.print(f"{len(result['files'])} fichiers dans {result['out_dir']} en {result['seconds']:.1f} s.")


@app.command("evaluate")
def evaluate_cmd(
    entrepot: WarehouseOpt = None,
    entrepot_france: Annotated[Path | None, typer.Option("--entrepot-france", help="Entrepôt France (electio etl --france) : européennes 2019 entraînées sur toutes les communes et testées sur la France et le département.")] = None,
    rapide: Annotated[bool, typer.Option("--rapide", help="Réglages légers (peu d'arbres) pour un essai rapide ; chiffres non représentatifs.")] = False,
    carte: Annotated[Path | None, typer.Option("--carte", help="Fiche du modèle (Markdown) à écrire (défaut : output/model_card.md).")] = None,
    au: AsOfOpt = None,
    rejeux: Annotated[bool, typer.Option("--rejeux/--sans-rejeux", help="Rejouer la prévision complète à des dates passées (un mois, un, deux et trois ans avant chaque scrutin sondé) et la comparer aux vrais résultats ; les rejeux inchangés sont relus du cache.")] = True,
) -> None:
    """Entraîner et évaluer les modèles par backtests chronologiques, choisir le modèle retenu, écrire les tables model_*."""
    import duckdb

    from electio.forecasts.replays import replay_rows
    from electio.models import evaluate

    try:
        with console.status("Modèles…") as spinner:
            say = lambda message: spinner.update(message)  # noqa: E731
            replays = (lambda chosen: replay_rows(entrepot or config.warehouse_path(), chosen, say, rapide, as_of_date(au))) if rejeux else None
            result = evaluate.run_evaluation(entrepot, entrepot_france, fast=rapide, progress=say, as_of=as_of_date(au), replays=replays)
    except (ElectioError, FileNotFoundError, ValueError, duckdb.Error) as exc:
        stop(exc, "Les tables de l'entrepôt sont intactes.")
    for note in result.notes:
        console.print(f"[yellow]{note}[/yellow]")
    _print_evaluation(result, evaluate, _ballot_label(entrepot or config.warehouse_path(), result.main_test))
    _print_replays(result.replays)
    path = carte or config.output_dir() / "model_card.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(evaluate.model_card_markdown(result), encoding="utf-8")
    console.print(f"Modèle retenu sauvegardé : {result.model_path} (empreinte des données {result.table_sha256[:12]}…) ; fiche : {path}")
    console.print("Lignes écrites : " + ", ".join(f"{t} {n}" for t, n in result.stored.items()) + f" ; durée {result.timings['total']:.0f} s.")


def _cell(value, kind: str = "pts") -> str:
    """A French-formatted number: points (2 decimals), percentage or plain."""
    if value is None or value != value:
        return "—"
    text = {"pts": f"{value:.2f}", "pct": f"{value:.1%}", "num": f"{value:.3f}"}[kind]
    return text.replace(".", ",").replace("%", " %")


def _print_replays(replays) -> None:
    """The goals of the replays (issue 14), measured, in French."""
    from electio.models.goals import REPLAY_NOISE_FLOOR, REPLAY_RETAINED, replay_goal_table

    if replays.empty:
        return
    for row in replay_goal_table(replays, REPLAY_RETAINED, REPLAY_NOISE_FLOOR).itertuples():
        value = "non mesuré" if row.valeur != row.valeur else _cell(row.valeur, "pts" if "MAE" in row.objectif else "pct")
        console.print(f"Rejeu {row.scrutin_test} au {row.date_reference} — {row.objectif} : {value} "
                      + ("[green]atteint[/green]" if row.atteint else "[red]MANQUÉ[/red]"))


def _ballot_label(warehouse: Path, scrutin_id: str) -> str:
    """A ballot's label (``dim_scrutin``), its id when the warehouse does not have it."""
    from electio.warehouse.store import connect

    with connect(warehouse) as con:
        found = con.execute("SELECT libelle FROM dim_scrutin WHERE scrutin_id = ?", [scrutin_id]).fetchone()
    return str(found[0]) if found else scrutin_id


def _print_evaluation(result, evaluate, test_label: str) -> None:
    """The French tables of ``electio evaluate`` (``test_label``: the main test ballot's label)."""
    from electio.models.metrics import EXPLANATIONS

    territory = result.territoire
    main = evaluate.main_table(result.evaluation, result.main_test, territory)
    if not main.empty:
        table = Table(title=f"{test_label} — {territory} : MAE moyenne par bloc (points) et autres mesures")
        for column in ("modèle", "MAE cond.", "gain / swing unif.", "MAE non cond.", "tête exacte", "tête équil.", "Brier", "couv. 80 %", "couv. 95 %"):
            table.add_column(column, justify="left" if column == "modèle" else "right")
        for name, row in main.iterrows():
            table.add_row(evaluate.MODEL_LABELS[name], _cell(row["mae_cond"]), _cell(row["gain_vs_swing_uniforme"], "pct"), _cell(row["mae_non_cond"]),
                          _cell(row["acc_tete"], "pct"), _cell(row["bacc_tete"], "pct"), _cell(row["brier"], "num"), _cell(row["couv80"], "pct"),
                          _cell(row["couv95"], "pct"), style="bold" if name == evaluate.RETAINED else None)
        console.print(table)
    console.print(f"Modèle retenu : [bold]{evaluate.MODEL_LABELS[result.chosen]}[/bold]. {evaluate.RULE}")
    for goal, value, reached in evaluate.goals_status(result.evaluation, territory, result.main_test):
        console.print(f"  {'[green]atteint[/green]' if reached else '[red]non atteint[/red]'} — {goal} : {_cell(value, 'pct')}")
    overview = evaluate.tests_overview(result.evaluation, result.main_test)
    table = Table(title="MAE moyenne par bloc (points), horizon naturel : conditionnelle / non conditionnelle (totaux départementaux prévus)")
    table.add_column("modèle")
    scenarios = list(dict.fromkeys(column[:3] for column in overview.columns))
    for scrutin, terr, horizon in scenarios:
        table.add_column(f"{scrutin} {terr} ({horizon} ans)", justify="right")
    for name, row in overview.iterrows():
        cells = [" / ".join(_cell(row.get((*scenario, c))) for c in (True, False)) for scenario in scenarios]
        table.add_row(evaluate.MODEL_LABELS[name], *cells, style="bold" if name == evaluate.RETAINED else None)
    console.print(table)
    horizons = Table(title="Cas par horizon (années entre le dernier scrutin connu et le scrutin prévu), modèle retenu, conditionnel")
    for column in ("horizon", "territoire", "scrutins prévus", "communes × scrutins", "MAE moyenne"):
        horizons.add_column(column, justify="right")
    for row in result.horizons.itertuples():
        horizons.add_row(f"{row.horizon_ans} an{'s' if row.horizon_ans > 1 else ''}", row.territoire, row.scrutins or "aucun", str(int(row.communes)), _cell(row.mae_retenu))
    console.print(horizons)
    console.print("[bold]Lecture des mesures[/bold]")
    for name, text in EXPLANATIONS.items():
        console.print(f"  {name} : {text}")


@app.command("serve")
def serve_cmd(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port local du serveur web.")] = 8050,
    entrepot: WarehouseOpt = None,
) -> None:
    """Ouvrir le tableau de bord web (français, pour non-spécialistes) sur http://127.0.0.1:PORT."""
    import duckdb

    from electio.dashboard.app import check_port, serve

    try:
        check_port("127.0.0.1", port)
        console.print(f"Tableau de bord : http://127.0.0.1:{port}/ (Ctrl+C pour arrêter)")
        serve(entrepot, port)
    except (ElectioError, FileNotFoundError, duckdb.Error) as exc:
        stop(exc)


@app.command("report")
def report_cmd(
    entrepot: WarehouseOpt = None,
    entrepot_france: Annotated[Path | None, typer.Option("--entrepot-france", help="Entrepôt France (electio etl --france) : comparer les résultats du territoire à ceux de la France.")] = None,
    notebooks: Annotated[bool, typer.Option("--notebooks/--sans-notebooks", help="Exécuter les notebooks (copies exécutées dans output/rapport/notebooks).")] = True,
) -> None:
    """Générer le dossier de synthèse (HTML, PDF), la présentation (PPTX) et exécuter les notebooks."""
    import duckdb

    from electio.outputs.report import run_report

    try:
        with console.status("Dossier de synthèse…") as spinner:
            result = run_report(entrepot, entrepot_france, notebooks=notebooks, progress=lambda message: spinner.update(message))
    except (ElectioError, FileNotFoundError, duckdb.Error) as exc:
        stop(exc)
    if not result.context["forecast"]["disponible"]:
        console.print("[yellow]Prévisions absentes de l'entrepôt : la section est signalée comme manquante (lancer « electio forecast »).[/yellow]")
    pdf = f" et {result.pdf} ({result.pages} pages)" if result.pdf else " (HTML seul)"
    console.print(f"Dossier : {result.html}{pdf} ; présentation : {result.pptx}")
    for note in result.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]")
    RUN_NOTES.extend(result.notes)
    for run in result.notebooks:
        state = f"[red]erreur : {run.error}[/red]" if run.error else "exécuté"
        console.print(f"Notebook {run.name} : {state} en {run.seconds:.1f} s → {run.path}")
    console.print("Durées : " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in result.timings.items()))
    if result.failed_notebooks:
        raise typer.Exit(code=1)


@app.command("forecast")
def forecast_cmd(
    entrepot: WarehouseOpt = None,
    scenario: Annotated[list[str] | None, typer.Option("--scenario", help="Scénario nommé du fichier de scénarios (répétable ; défaut : tous). La tendance est toujours calculée.")] = None,
    fichier_scenarios: Annotated[Path | None, typer.Option("--fichier-scenarios", help="Fichier TOML de scénarios (défaut : scenarios/exemples.toml).")] = None,
    swing: Annotated[list[str] | None, typer.Option("--swing", help="Écart du total du territoire en points pour un bloc, ex. extreme_droite=+3 (répétable ; crée le scénario « personnalise »).")] = None,
    indicateur: Annotated[list[str] | None, typer.Option("--indicateur", help="Décalage d'un indicateur dans son unité pour toutes les communes, ex. taux_chomage=+2 (répétable).")] = None,
    commune: Annotated[list[str] | None, typer.Option("--commune", help="Commune (code INSEE ou nom) dont tracer les courbes (répétable).")] = None,
    tirages: Annotated[int, typer.Option("--tirages", min=200, help="Nombre de simulations.")] = 2000,
    graine: Annotated[int, typer.Option("--graine", help="Graine du générateur aléatoire (résultats reproductibles).")] = 2026,
    seuil: Annotated[float, typer.Option("--seuil", min=1, max=99, help="Seuil (en % des exprimés) des cartes de probabilité de dépassement.")] = 30.0,
    html: Annotated[bool, typer.Option("--html/--sans-html", help="Écrire aussi les pages HTML interactives.")] = True,
    modele: Annotated[Path | None, typer.Option("--modele", help="Modèle retenu sauvegardé (défaut : data/models/retenu_<territoire>.joblib).")] = None,
    au: AsOfOpt = None,
    hypothese: Annotated[str | None, typer.Option("--hypothese", help="Hypothèse de candidats du premier tour 2027 : identifiant ou candidats séparés par des virgules (défaut : la plus sondée ces dernières semaines : sondages des 60 derniers jours pondérés par leur fraîcheur, demi-vie 14 jours).")] = None,
    duel: Annotated[list[str] | None, typer.Option("--duel", help="Duel de second tour 2027 à prévoir, ex. « Le Pen contre Philippe » ou son identifiant (répétable ; défaut : tous les duels testés par les sondages).")] = None,
    duels: Annotated[bool, typer.Option("--duels/--sans-duels", help="Calculer aussi les seconds tours 2027 par commune (duels).")] = True,
) -> None:
    """Prévisions des scrutins du calendrier électoral des trois prochaines années : scénarios, incertitude, graphiques et tables fact_prevision."""
    import duckdb

    from electio.forecasts.stage import ForecastOptions, run_forecast, territory_table

    options = ForecastOptions(tuple(scenario or ()), fichier_scenarios, tuple(swing or ()), tuple(indicateur or ()), tuple(commune or ()),
                              tirages, graine, seuil / 100, html, modele, as_of_date(au), duels=duels, hypothesis=hypothese, duel_ids=tuple(duel or ()))
    try:
        with console.status("Prévisions…") as spinner:
            result = run_forecast(entrepot, options, progress=lambda message: spinner.update(message))
    except (ElectioError, FileNotFoundError, ValueError, duckdb.Error) as exc:
        stop(exc, "Les tables de l'entrepôt sont intactes.")
    _print_forecast(result, territory_table(result.forecasts, result.territoire))
    if result.duels is not None:
        _print_duels(result.duels, result.territoire)


def _print_duels(duels, territory: str) -> None:
    """The French table of the duels: the territory's mean share of the first candidate (80 % interval), P(win), backtest."""
    from rich.markup import escape

    from electio.forecasts.duel_stage import duel_lines

    for line in duel_lines(duels, territory):
        console.print(escape(line))


def _print_forecast(result, table) -> None:
    """The French tables of ``electio forecast``: territory mean, 80 % interval and P(lead) per scenario and target."""
    from rich.markup import escape

    from electio.analysis.figures import fr_number

    def share(value: float) -> str:
        return fr_number(100 * value, 1)

    heads = {t.scrutin_cible: f"{t.libelle} (horizon {t.horizon_ans} an{'s' if t.horizon_ans > 1 else ''})" for t in result.targets}
    for scenario in result.scenarios:
        rows = table[table["scenario"] == scenario.nom]
        grid = Table(title=f"{result.nom_territoire} ({result.territoire}) — scénario « {scenario.libelle} » : moyenne (intervalle à 80 %), en % des exprimés "
                           "(abstention : des inscrits) ; probabilité d'arriver en tête")
        grid.add_column("bloc")
        for target in result.targets:
            grid.add_column(heads[target.scrutin_cible], justify="right")
        for bloc, part in rows.groupby("bloc", sort=False):
            cells = []
            for target in result.targets:
                row = part[part["scrutin_cible"] == target.scrutin_cible].iloc[0]
                lead = "" if row["p_tete"] != row["p_tete"] else f" ; tête {fr_number(100 * row['p_tete'], 0)} %"
                cells.append(escape(f"{share(row['moyenne'])} ({share(row['q10'])} – {share(row['q90'])}){lead}"))
            grid.add_row(result.libelles.get(bloc, bloc), *cells)
        console.print(grid)
        console.print(f"  {escape(scenario.description)}")
    kinds = {("backtest", True): "backtests, vrais totaux départementaux donnés", ("backtest", False): "backtests, totaux prévus",
             ("simulation", False): "simulation des prévisions rejouée sur les backtests"}
    for row in result.calibration.drop_duplicates(["source", "conditionnel"]).itertuples():
        console.print(f"Fiabilité de la probabilité d'arriver en tête — {kinds.get((row.source, row.conditionnel), row.source)} : "
                      f"score de Brier {fr_number(row.brier, 3)} (référence {fr_number(row.brier_reference, 3)})")
    for note in result.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]")
    console.print("Lignes écrites : " + ", ".join(f"{t} {n}" for t, n in result.stored.items())
                  + f" ; {len(result.figures)} fichiers dans {result.output} ; durée {result.timings['total']:.0f} s.")

if __name__ == "__main__":
    app()
