"""Page (e) — data and lineage: sources, coverage of ballots and indicators, last ETL run and quality checks."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
from dash import Dash, html

from electio.analysis.explore import theme_label
from electio.analysis.figures import fr_number
from electio.dashboard import components, data
from electio.dashboard.charts import percent

PATH = "/donnees"
TITLE = "Données et traçabilité"
SOURCE_HEADERS = {"titre": "Titre", "producteur": "Producteur", "licence": "Licence", "url": "Adresse", "sha256": "Empreinte (survol : valeur)"}
BALLOT_HEADERS = {"libelle": "Scrutin", "communes_presentes": "Communes présentes", "communes_attendues": "Communes attendues", "taux": "Couverture"}
INDICATOR_HEADERS = {"theme": "Thème", "libelle": "Indicateur", "annees": "Années disponibles", "couvertes": "Communes couvertes (dernière année)",
                     "attendues": "Communes attendues", "statut": "Statut"}
CHECK_HEADERS = {"table_name": "Table", "regle": "Règle", "severite": "Sévérité", "lignes_en_echec": "Lignes en échec"}
STATUS = {"ok": "disponible", "lacune": "lacune (aucune donnée)"}
RUN_STATUS = {"succes": "succès"}


def link(url: object) -> html.A | str:
    """A source address as a link named by its site (the full address on hover), a dash when empty."""
    if not url:
        return "—"
    site = urlsplit(str(url)).netloc or str(url)
    return html.A(site, href=str(url), title=str(url), rel="noopener", target="_blank")


def fingerprint(value: object) -> html.Span | str:
    """A verified sha256 shown as « vérifiée » (the full fingerprint on hover): 64 characters do not fit a laptop screen."""
    return html.Span("vérifiée", title=f"sha256 : {value}", className="empreinte") if value else "—"


def sources_section(path: Path) -> html.Section:
    """Sources read by the last run: title, publisher, licence and URL from the catalogue, sha256 verified by the run."""
    inputs = data.run_inputs(path)
    used = data.sources().merge(inputs[["source_id", "sha256"]], on="source_id", how="inner")
    ballots = dict(zip(data.ballots(path)["scrutin_id"], data.ballots(path)["libelle"], strict=True))
    used["titre"] = [ballots.get(t, t) for t in used["titre"]]  # a ballot's file is titled by the ballot's French label, not its code
    used["producteur"] = used["producteur"].str.replace("normalised by", "mis en forme par", regex=False)
    sentence = (f"{len(used)} fichiers sources lus par la dernière exécution, chacun vérifié par son empreinte sha256 "
                f"(catalogue : {len(data.sources())} sources déclarées dans sources/*.toml).")
    table = components.table(used, SOURCE_HEADERS, "donnees-sources", "Sources des données de l'entrepôt et empreinte des fichiers lus",
                             {"url": link, "sha256": fingerprint})
    return components.section("Sources", components.key_figure("donnees-sources-texte", sentence), table, section_id="section-sources")


def ballot_sentence(rows: pd.DataFrame) -> str:
    """Key sentence of ballot coverage: the lowest rate."""
    if rows.empty:
        return "Aucun scrutin chargé."
    low = rows.loc[rows["taux"].idxmin()]
    return (f"{rows['scrutin_id'].nunique()} scrutins chargés ; couverture la plus faible : {percent(low['taux'])} "
            f"({low['libelle']}, {low['communes_presentes']} communes sur {low['communes_attendues']}).")


def indicator_sentence(rows: pd.DataFrame) -> str:
    """Key sentence of indicator coverage: how many indicators, and which are gaps."""
    gaps = rows[rows["statut"] != "ok"]
    text = f"{len(rows)} indicateurs locaux"
    if gaps.empty:
        return text + ", aucun sans donnée."
    return text + f" ; {len(gaps)} sans aucune donnée (lacune) : {', '.join(gaps['libelle'])}."


def coverage_section(path: Path) -> html.Section:
    """Coverage of ballots (communes present / expected) and of indicators, gaps first."""
    ballots = data.ballot_coverage(path)
    indicators = data.indicator_coverage_summary(path)
    return components.section(
        "Couverture",
        components.key_figure("donnees-couverture-scrutins-texte", ballot_sentence(ballots)),
        components.table(ballots, BALLOT_HEADERS, "donnees-couverture-scrutins", "Résultats électoraux : communes présentes sur communes attendues (COG 2026)",
                         {"taux": percent}),
        components.key_figure("donnees-couverture-indicateurs-texte", indicator_sentence(indicators)),
        components.table(indicators, INDICATOR_HEADERS, "donnees-couverture-indicateurs", "Indicateurs locaux : années et communes couvertes",
                         {"theme": theme_label, "statut": lambda s: STATUS.get(str(s), str(s))},
                         lambda r: r["statut"] != "ok"),
        section_id="section-couverture",
    )


def when(value: object) -> str:
    """A UTC timestamp the French way: ``29/11/2026 à 04 h 33 (UTC)``."""
    stamp = pd.Timestamp(value)
    return f"{stamp:%d/%m/%Y} à {stamp:%H} h {stamp:%M} (UTC)"


def run_section(path: Path) -> html.Section:
    """The last ETL run and its data-quality checks (its input files are listed with the sources)."""
    run = data.last_run(path).iloc[0]
    checks = data.quality_checks(path)
    failed = checks[(checks["lignes_en_echec"] > 0) & (checks["severite"] == "bloquante")]
    seconds = (pd.Timestamp(run["finished_at"]) - pd.Timestamp(run["started_at"])).total_seconds()
    sentence = (f"Dernière exécution de l'ETL le {when(run['started_at'])}, territoire {run['territoire']}, statut « {RUN_STATUS.get(str(run['statut']), run['statut'])} », "
                f"durée {fr_number(seconds, 0)} s ; {len(checks)} contrôles qualité, {len(failed)} bloquant{'s' if len(failed) > 1 else ''} en échec.")
    facts = html.Ul([html.Li(f"Identifiant de l'exécution : {run['run_id']}"), html.Li(f"Version du code : {run['code_version']}")])
    return components.section(
        "Dernière exécution de l'ETL",
        components.key_figure("donnees-execution-texte", sentence), facts,
        components.table(checks, CHECK_HEADERS, "donnees-controles", "Contrôles de qualité des données", highlight=lambda r: r["lignes_en_echec"] > 0),
        section_id="section-execution",
    )


def layout(path: Path) -> html.Div:
    """The three sections of the page."""
    intro = "D'où viennent les chiffres, ce qui manque, et quand l'entrepôt a été construit."
    return components.page(TITLE, intro, sources_section(path), coverage_section(path), run_section(path))


def register(app: Dash, path: Path) -> None:
    """No callback: the page is static for a given warehouse."""
