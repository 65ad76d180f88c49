"""Command-line interface ``electio`` (texts in French)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from electio import config
from electio.catalogue import catalogue
from electio.errors import ElectioError
from electio.fetch import locate, status

app = typer.Typer(help="Electio : prévision des tendances électorales par commune à partir de données publiques.", no_args_is_help=True)
console = Console()

DepartementOpt = Annotated[str, typer.Option("--departement", "-d", help="Département à charger (code INSEE, ex. 69, 2A, 971).")]
FranceOpt = Annotated[bool, typer.Option("--france", help="Charger toutes les communes de France (scrutins nationaux).")]
WarehouseOpt = Annotated[Path | None, typer.Option("--entrepot", help="Fichier DuckDB de l'entrepôt (défaut : data/warehouse/electio.duckdb).")]


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
    from electio.pipeline.etl import load_scrutins, run_etl

    territory = territory_from(departement, france)
    steps = 7 + sum(territory.covers(c) for c in load_scrutins()["couverture"])
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
        console.print(f"[red]Erreur :[/red] {exc}")
        console.print("L'entrepôt précédent est intact.")
        raise typer.Exit(code=1) from None
    _print_result(result)


@app.command("run")
def run_cmd(departement: DepartementOpt = config.DEFAULT_DEPARTEMENT, france: FranceOpt = False, entrepot: WarehouseOpt = None) -> None:
    """Exécuter toute la chaîne sur un territoire (ETL, puis les étapes suivantes)."""
    etl_cmd(departement, france, entrepot)


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
        console.print(f"[red]Erreur :[/red] {exc}")
        raise typer.Exit(code=1) from None
    cover = result.coverage
    console.print(f"Contours des communes : {cover.covered}/{cover.expected} couvertes" + (f" ; sans contour : {', '.join(cover.missing)}" if cover.missing else ""))
    for note in result.notes:
        console.print(f"[yellow]{note}[/yellow]")
    if not result.answers.empty:
        shown = result.answers[result.answers["scrutin_id"] == result.reference]
        table = Table(title=f"Indicateur le plus corrélé — {result.reference_label} (ρ de Spearman, IC 95 % bootstrap)")
        for column in ("cible", "indicateur (année)", "ρ", "IC 95 %", "ρ partiel", "IC 95 % partiel", "communes", "devant le 2e ?"):
            table.add_column(column, justify="right" if column not in ("cible", "indicateur (année)") else "left")
        for _, row in shown.iterrows():
            table.add_row(*answer_cells(row))
        console.print(table)
        console.print(f"Tableau complet : table analysis_correlation ({result.stored.get('analysis_correlation', 0)} lignes), "
                      f"réponses : analysis_answer ({result.stored.get('analysis_answer', 0)} lignes) et {result.output / 'reponse_correlation.txt'}")
        console.print(f"[bold]{CAUSATION}[/bold]")
    console.print(f"{len(result.figures)} fichiers écrits dans {result.output} en {result.timings['total']:.0f} s.")


def answer_cells(row) -> list[str]:
    """One printed row of the answer table, numbers in French."""
    from electio.analysis.figures import fr_number

    def ci(low, high) -> str:
        return "" if low is None or low != low else f"{fr_number(low, 2)} à {fr_number(high, 2)}"

    partial = row["coefficient_partiel"]
    return [
        row["libelle_cible"], f"{row['libelle_indicateur']} ({row['annee_indicateur']})", fr_number(row["coefficient"], 2),
        ci(row["ic_bas"], row["ic_haut"]), "" if partial is None or partial != partial else fr_number(partial, 2),
        ci(row["ic_partiel_bas"], row["ic_partiel_haut"]), str(row["n_communes"]), "oui" if row["ecart_significatif"] else "non (ex æquo)",
    ]


if __name__ == "__main__":
    app()
