"""Report context, first part: what the data are (territory, criteria, method and data flow, MCD,
the brief's first question). Each function reads the warehouse and returns one section's values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from electio.analysis.explore import has_relation, theme_label
from electio.analysis.territories import TerritoryComparison, compare_territories, socio_gaps
from electio.outputs.report_format import ballot_totals, entier, pct, query, rank, records, scalar, turnout
from electio.warehouse.store import connect

SMALL_COMMUNE = 1_000  # inhabitants: "petite commune" in the size summary
BRIEF_THEMES = {  # the brief's criteria → warehouse themes
    "securite": "demandé (sécurité)", "emploi": "demandé (emploi)", "vie_associative": "demandé (vie associative)",
    "population": "demandé (population, densité)", "entreprises": "demandé (nombre d'entreprises)",
    "pauvrete_revenus": "demandé (pauvreté)", "logement": "ajouté", "education": "ajouté", "structure_sociale": "ajouté",
}
THEME_REASONS = {
    "securite": "Délinquance enregistrée (SSMSI) : thème cité par le client, souvent mobilisé dans les campagnes.",
    "emploi": "Chômage, emploi salarié, demandeurs d'emploi : conditions économiques locales.",
    "vie_associative": "Densité associative (RNA) : lien social ; un seul relevé (2026, publié après tous les scrutins passés) : "
                       "utilisable pour la prévision 2027, pas pour apprendre sur les scrutins passés ni pour mesurer un lien avec eux.",
    "population": "Taille, densité, âge, immigration : le gradient urbain/rural structure le vote.",
    "entreprises": "Établissements pour 1 000 habitants : tissu économique local.",
    "pauvrete_revenus": "Niveau de vie, pauvreté, prestations (Filosofi, CNAF) : clivage social du vote.",
    "logement": "Propriétaires, HLM, vacance : ajouté, marqueur social et résidentiel classique.",
    "education": "Diplômes : ajouté, l'un des meilleurs prédicteurs connus du vote écologiste et centriste.",
    "structure_sociale": "Cadres, ouvriers : ajouté, composition socioprofessionnelle.",
}


# ─── Sections ────────────────────────────────────────────────────────────────────────────

def meta_section(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Territory code and name, ETL run, date of the report."""
    run = query(con, "SELECT run_id, started_at, finished_at, code_version, territoire FROM etl_run ORDER BY finished_at DESC LIMIT 1").iloc[0]
    code = str(run["territoire"])
    name = scalar(con, "SELECT nom_departement FROM dim_departement WHERE code_departement = ?", code) or "France"
    return {"territoire": code, "nom": name, "run_id": run["run_id"], "code_version": run["code_version"],
            "etl_date": pd.Timestamp(run["finished_at"]).strftime("%d/%m/%Y"), "genere_le": datetime.now().strftime("%d/%m/%Y à %H:%M")}


def coverage_matrix(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per ballot: communes present / expected, registered voters, turnout."""
    return query(con, """
        WITH p AS (SELECT scrutin_id, SUM(inscrits) AS inscrits, SUM(votants) AS votants FROM fact_participation GROUP BY 1)
        SELECT s.scrutin_id, s.libelle, s.date_scrutin, s.source_id, SUM(c.communes_presentes) AS presentes,
               SUM(c.communes_attendues) AS attendues, SUM(c.communes_presentes) / SUM(c.communes_attendues) AS taux,
               ANY_VALUE(p.inscrits) AS inscrits, ANY_VALUE(p.votants) / ANY_VALUE(p.inscrits) AS participation
        FROM couverture_scrutin c JOIN dim_scrutin s USING (scrutin_id) LEFT JOIN p USING (scrutin_id)
        GROUP BY ALL ORDER BY s.date_scrutin""")


def size_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Communes, population, largest communes, density range."""
    size = query(con, """
        SELECT count(*) AS communes, SUM(population) AS population, MEDIAN(population) AS mediane,
               MIN(population) AS minimum, SUM(CASE WHEN population < ? THEN 1 ELSE 0 END) AS petites
        FROM dim_commune WHERE type_unite = 'commune'""", SMALL_COMMUNE).iloc[0].to_dict()
    units = "(SELECT count(*) FROM dim_unite u WHERE u.code_commune = c.code_commune AND u.type_unite = 'arrondissement')" \
        if has_relation(con, "dim_unite") else "0"
    largest = query(con, f"""SELECT nom_commune, population, {units} AS arrondissements FROM dim_commune c WHERE type_unite = 'commune'
                             ORDER BY population DESC NULLS LAST LIMIT 3""")
    largest["part"] = largest["population"] / size["population"]
    density = query(con, """
        SELECT annee, MIN(valeur) AS minimum, MEDIAN(valeur) AS mediane, MAX(valeur) AS maximum, count(valeur) AS communes
        FROM fact_indicateur_commune WHERE indicateur = 'densite' AND valeur IS NOT NULL
        GROUP BY annee ORDER BY communes DESC, annee DESC LIMIT 1""") if has_relation(con, "fact_indicateur_commune") else pd.DataFrame()
    return {**size, "seuil_petite": SMALL_COMMUNE, "plus_grandes": records(largest),
            "densite": records(density)[0] if not density.empty else None}


def national_comparison(con: duckdb.DuckDBPyConnection, france: Path | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """The territory's first-round results against France's (France warehouse, ballots it covers nationwide)."""
    if france is None or not france.is_file():
        return None
    with connect(france) as fr:
        national = query(fr, "SELECT scrutin_id, libelle, date_scrutin FROM dim_scrutin WHERE couverture = 'FR' AND tour = 1 AND type_scrutin <> 'municipales'")
        national_totals = ballot_totals(fr)
        fr_turnout = turnout(fr)
    local = ballot_totals(con)
    ballots = national[national["scrutin_id"].isin(local["scrutin_id"])].sort_values("date_scrutin")
    if ballots.empty:
        return None
    both = local.merge(national_totals, on=["scrutin_id", "bloc"], suffixes=("_local", "_fr"))
    both = both[both["scrutin_id"].isin(ballots["scrutin_id"])]
    both["ecart"] = 100 * (both["part_local"] - both["part_fr"])
    rows = []
    for bloc, group in sorted(both.groupby("bloc"), key=lambda item: rank(item[0], list(labels))):
        values = group.set_index("scrutin_id")
        rows.append({"bloc": labels.get(bloc, bloc), "valeurs": [
            {"local": values["part_local"].get(s), "fr": values["part_fr"].get(s)} for s in ballots["scrutin_id"]]})
    both_turnout = turnout(con).merge(fr_turnout, on="scrutin_id", suffixes=("_local", "_fr")).set_index("scrutin_id")
    rows.append({"bloc": "Participation", "valeurs": [
        {"local": both_turnout["participation_local"].get(s), "fr": both_turnout["participation_fr"].get(s)} for s in ballots["scrutin_id"]]})
    gaps = both.groupby("scrutin_id")["ecart"].apply(lambda s: s.abs().mean())
    return {"scrutins": records(ballots.assign(ecart_moyen=ballots["scrutin_id"].map(gaps))), "lignes": rows,
            "ecart_moyen": float(gaps.mean()), "ecart_max": float(both["ecart"].abs().max()),
            "bloc_ecart_max": labels.get(both.loc[both["ecart"].abs().idxmax(), "bloc"], "")}


def model_france_rows(con: duckdb.DuckDBPyConnection, territory: str) -> pd.DataFrame:
    """Retained model's conditional mean MAE where it was also tested on all of France."""
    if not has_relation(con, "model_evaluation"):
        return pd.DataFrame()
    return query(con, """
        SELECT scrutin_test, territoire, horizon_ans, valeur AS mae FROM model_evaluation
        WHERE modele = 'retenu' AND conditionnel AND bloc = 'moyenne' AND metrique = 'mae'
          AND scrutin_test IN (SELECT scrutin_test FROM model_evaluation WHERE territoire = 'FR')
          AND territoire IN ('FR', ?) AND horizon_ans = (SELECT MIN(horizon_ans) FROM model_evaluation WHERE territoire = 'FR')
        ORDER BY territoire""", territory)


def departements_section(con: duckdb.DuckDBPyConnection, territory: str) -> dict[str, Any] | None:
    """Where the territory stands among the départements on its distance to France (analysis/territories.py)."""
    compared = compare_territories(con)
    if compared is None or compared.table.empty:
        return None
    table = compared.table
    mine = compared.row(territory)
    return {"n": len(table), "territoire": mine, "table": table, "scrutins": records(compared.ballots),
            "mediane": float(table["distance_blocs"].median()), "proches": records(table.head(5)),
            "meilleur_quart": bool(mine is not None and mine["rang"] <= len(table) / 4),
            "moitie": bool(mine is not None and mine["rang"] <= len(table) / 2),
            "socio": socio_section(compared, territory), "disponibilite": availability_section(table, mine)}


def socio_section(compared: TerritoryComparison, territory: str) -> dict[str, Any] | None:
    """The territory's socio-economic profile next to France's and the median département's, and its rank."""
    profile, table = compared.profile, compared.table
    ranked = table.dropna(subset=["distance_socio"]).sort_values(["distance_socio", "code_departement"])
    if profile is None or ranked.empty or territory not in profile.columns:
        return None
    info = compared.indicators.set_index("indicateur")
    lines = [{"libelle": info.at[i, "libelle"], "unite": info.at[i, "unite"], "annee": int(info.at[i, "annee"]),
              "fr": profile.at[i, "FR"], "territoire": profile.at[i, territory], "mediane": profile.at[i, "mediane"]} for i in profile.index]
    mine = ranked[ranked["code_departement"] == territory]
    gaps = socio_gaps(profile)[territory].dropna().sort_values(ascending=False)
    by_code = dict(zip(profile.index, lines, strict=True))
    return {"n": len(ranked), "lignes": lines, "plus_eloignes": [by_code[i] | {"z": float(z)} for i, z in gaps.head(2).items()], "proches": records(ranked.head(3)), "annees": sorted({line["annee"] for line in lines}),
            "rang": int(mine["rang_socio"].iloc[0]) if not mine.empty else None,
            "distance": float(mine["distance_socio"].iloc[0]) if not mine.empty else None,
            "mediane_distance": float(ranked["distance_socio"].median()),
            "sources": sorted(set(compared.indicators["source_id"]))}


def availability_section(table: pd.DataFrame, mine: dict | None) -> dict[str, Any] | None:
    """The territory's data availability (ballot and indicator files with its communes) against the départements'."""
    ranked = table.dropna(subset=["disponibilite"])
    if ranked.empty or mine is None or pd.isna(mine.get("disponibilite")):
        return None
    best = ranked.sort_values(["disponibilite", "code_departement"], ascending=[False, True])
    return {"n": len(ranked), "rang": int(mine["rang_disponibilite"]), "territoire": mine, "meilleurs": records(best.head(3)),
            "rang_national": int(mine["rang_disponibilite_nationale"]), "fichiers_nationaux": int(mine["fichiers_nationaux"]),
            "scrutins_lus": int(mine["scrutins_lus"]), "indicateurs_lus": int(mine["indicateurs_lus"]), "mediane_scrutins": float(ranked["scrutins_communes"].median()),
            "mediane_couverture_scrutins": float(ranked["couverture_scrutins"].median()),
            "mediane_couverture_indicateurs": float(ranked["couverture_indicateurs"].median())}


def territory_section(con: duckdb.DuckDBPyConnection, meta: dict, france: Path | None, labels: dict[str, str]) -> dict[str, Any]:
    """Justification of the territory: coverage, size, representativeness."""
    matrix = coverage_matrix(con)
    return {"departements": departements_section(con, meta["territoire"]), "couverture": records(matrix), "scrutins": len(matrix), "couverture_min": float(matrix["taux"].min()),
            "couverture_complete": int((matrix["taux"] >= 1).sum()), "premier": matrix["libelle"].iloc[0],
            "dernier": matrix["libelle"].iloc[-1], "annee_min": int(pd.Timestamp(matrix["date_scrutin"].min()).year),
            "annee_max": int(pd.Timestamp(matrix["date_scrutin"].max()).year), "taille": size_summary(con),
            "france": national_comparison(con, france, labels),
            "modele_france": records(model_france_rows(con, meta["territoire"]))}


def year_ranges(years: Sequence[int]) -> str:
    """Years as compact runs: ``2014–2016, 2018, 2021``."""
    runs: list[list[int]] = []
    for year in sorted({int(y) for y in years}):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def indicator_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per indicator and year: share of the territory's communes with a value (distinct communes, any source)."""
    return query(con, """
        WITH n AS (SELECT count(*) AS attendues FROM dim_commune WHERE type_unite = 'commune')
        SELECT f.indicateur, d.theme, f.annee, count(DISTINCT f.code_commune) / ANY_VALUE(n.attendues) AS taux
        FROM fact_indicateur_commune f JOIN dim_indicateur d USING (indicateur) CROSS JOIN n
        WHERE f.valeur IS NOT NULL GROUP BY ALL""")


def theme_order(theme: str) -> int:
    """Display order: the brief's themes first, then the added ones."""
    return rank(theme, list(BRIEF_THEMES))


def indicator_matrix(con: duckdb.DuckDBPyConnection, cover: pd.DataFrame) -> tuple[list[int], list[dict[str, Any]]]:
    """Theme × year: best share of communes covered by an indicator of the theme."""
    years = sorted(int(y) for y in cover["annee"].unique())
    themes = sorted(query(con, "SELECT DISTINCT theme FROM dim_indicateur")["theme"], key=theme_order)
    table = cover.pivot_table(index="theme", columns="annee", values="taux", aggfunc="max").reindex(index=themes, columns=years)
    return years, [{"theme": theme_label(t), "cellules": [None if pd.isna(v) else float(v) for v in table.loc[t]]} for t in themes]


def strongest_by_theme(con: duckdb.DuckDBPyConnection, ballot: str | None) -> pd.DataFrame:
    """Per theme: the indicator and target with the largest |Spearman ρ| for the reference ballot, among the
    indicators known in at least :data:`MIN_ANSWER_COVERAGE` of the communes (the ranking's coverage rule) and
    the targets kept in the answer (:func:`target_flags`: no one-candidate or sparse bloc)."""
    from electio.analysis.explore import MIN_ANSWER_COVERAGE

    if ballot is None or not has_relation(con, "analysis_correlation"):
        return pd.DataFrame(columns=["theme", "libelle", "cible", "coefficient"])
    rows = query(con, """
        SELECT d.theme, d.libelle, a.cible, a.coefficient FROM analysis_correlation a JOIN dim_indicateur d USING (indicateur)
        WHERE a.scrutin_id = ? AND a.methode = 'spearman' AND a.ponderation = 'aucune'
          AND a.n_communes >= ? * (SELECT count(*) FROM dim_commune WHERE type_unite = 'commune')""", ballot, MIN_ANSWER_COVERAGE)
    flags = target_flags(con)
    excluded = set(flags.loc[(flags["scrutin_id"] == ballot) & (flags["exclusion"] != ""), "cible"])
    rows = rows[~rows["cible"].isin(excluded)]
    return rows.loc[rows["coefficient"].abs().groupby(rows["theme"]).idxmax()].reset_index(drop=True) if not rows.empty else rows


def indicators_section(con: duckdb.DuckDBPyConnection, ballot: str | None, labels: dict[str, str]) -> dict[str, Any]:
    """Criteria: themes, indicators, coverage, strongest correlation per theme, gaps."""
    per_indicator = query(con, """
        SELECT d.indicateur, d.libelle, d.theme, d.unite, d.source, MIN(c.statut) AS statut
        FROM dim_indicateur d LEFT JOIN couverture_indicateur c USING (indicateur) GROUP BY ALL""")
    cover = indicator_coverage(con)
    years = cover.groupby("indicateur")["annee"].agg(list)
    per_indicator["annees"] = per_indicator["indicateur"].map(lambda i: year_ranges(years[i]) if i in years.index else "")
    per_indicator["couverture"] = per_indicator["indicateur"].map(cover.groupby("indicateur")["taux"].max()).fillna(0.0)
    used = query(con, """SELECT DISTINCT substr(variable, 7) AS indicateur FROM model_importance
                         WHERE modele = 'retenu' AND variable LIKE 'f_ind_%'""") if has_relation(con, "model_importance") else pd.DataFrame({"indicateur": []})
    per_indicator["modele"] = per_indicator["indicateur"].isin(used["indicateur"])
    per_indicator["libelle_theme"] = per_indicator["theme"].map(theme_label)
    strongest = strongest_by_theme(con, ballot).set_index("theme")
    themes = []
    for theme, group in per_indicator.groupby("theme"):
        best = strongest.loc[theme] if theme in strongest.index else None
        themes.append({"code": theme, "theme": theme_label(theme), "origine": BRIEF_THEMES.get(theme, "ajouté"),
                       "raison": THEME_REASONS.get(theme, ""), "indicateurs": len(group), "au_modele": int(group["modele"].sum()),
                       "annees": year_ranges(cover.loc[cover["theme"] == theme, "annee"]),
                       "couverture": group["couverture"].max(), "lacune": bool((group["statut"] == "lacune").all()),
                       "meilleur": None if best is None else {"libelle": best["libelle"], "cible": labels.get(best["cible"], best["cible"]),
                                                               "coefficient": float(best["coefficient"])}})
    themes.sort(key=lambda t: theme_order(t["code"]))
    matrix_years, matrix = indicator_matrix(con, cover)
    gaps = per_indicator[per_indicator["statut"] == "lacune"]
    security = scalar(con, """SELECT MIN(date_publication) FROM fact_indicateur_commune f JOIN dim_indicateur d USING (indicateur)
                              WHERE d.theme = 'securite'""")
    return {"themes": themes, "indicateurs": records(per_indicator.sort_values(["theme", "indicateur"])), "n_indicateurs": len(per_indicator),
            "n_themes": len(themes), "annees_matrice": matrix_years, "matrice": matrix, "n_modele": int(per_indicator["modele"].sum()),
            "lacunes": records(gaps), "annees_entreprises": year_ranges(cover.loc[cover["theme"] == "entreprises", "annee"]),
            "securite_publication": None if security is None else pd.Timestamp(security).strftime("%d/%m/%Y"),
            "arrondissements": unit_indicator_coverage(con, per_indicator)}


def unit_indicator_coverage(con: duckdb.DuckDBPyConnection, per_indicator: pd.DataFrame) -> dict[str, Any] | None:
    """Indicators published by arrondissement municipal (``couverture_indicateur_unite``): counts and the
    labels of the gaps (an arrondissement then takes its city's value); None without such units."""
    if not has_relation(con, "couverture_indicateur_unite"):
        return None
    cover = query(con, "SELECT indicateur, statut, unites_attendues FROM couverture_indicateur_unite")
    if cover.empty or int(cover["unites_attendues"].max()) == 0:
        return None
    labels = per_indicator.set_index("indicateur")["libelle"]
    gaps = cover.loc[cover["statut"] == "lacune", "indicateur"].map(labels).dropna().sort_values()
    return {"publies": int((cover["statut"] == "ok").sum()), "lacunes": list(gaps), "unites": int(cover["unites_attendues"].max())}


def method_section(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Lineage (inputs, steps) and quality contracts of the ETL run."""
    inputs = query(con, "SELECT count(*) AS fichiers, SUM(octets) AS octets, count(DISTINCT licence) AS licences, "
                        "SUM(CASE WHEN origine = 'miroir' THEN 1 ELSE 0 END) AS miroir FROM etl_input").iloc[0].to_dict()
    steps = query(con, """SELECT etape, count(*) AS executions, SUM(lignes_lues) AS lues, SUM(lignes_ecrites) AS ecrites,
                                 SUM(lignes_rejetees) AS rejetees FROM etl_step GROUP BY etape ORDER BY MIN(started_at)""")
    checks = query(con, "SELECT table_name, regle, severite, lignes_en_echec FROM dq_check ORDER BY severite, table_name")
    stages = {name: scalar(con, f"SELECT count(*) FROM {name}") if has_relation(con, name) else None
              for name in ("analysis_correlation", "model_evaluation", "fact_prevision")}
    bootstrap = scalar(con, "SELECT MAX(n_bootstrap) FROM analysis_correlation") if stages["analysis_correlation"] else None
    return {"entrees": inputs, "etapes": records(steps), "controles": records(checks), "n_controles": len(checks),
            "n_bloquants": int((checks["severite"] == "bloquante").sum()), "echecs": int(checks["lignes_en_echec"].sum()),
            "etages": stages, "bootstrap": bootstrap}


FLOW_ROWS = (("sources", "fetch", "parse"), ("harmonise", "quality", "warehouse"), ("explore", "evaluate", "forecast"), ("deliver",))


def flow_steps(meta: dict, method: dict, indicators: dict) -> tuple[list, list]:
    """Nodes and edges of the data-flow diagram, labelled with the warehouse's counts."""
    inputs, stages = method["entrees"], method["etages"]

    def rows(name: str) -> str:
        return "étape non exécutée" if stages[name] is None else f"{entier(stages[name])} lignes"

    steps = [
        ("sources", "Sources publiques", f"{entier(inputs['fichiers'])} fichiers · {entier(inputs['licences'])} licences", "#e8f1fa"),
        ("fetch", "Collecte", "miroir ou URL · empreinte sha256", "#e8f1fa"),
        ("parse", "Lecture", "un module par famille de source", "#fdf2e3"),
        ("harmonise", "Harmonisation", "COG 2026 · blocs politiques versionnés", "#fdf2e3"),
        ("quality", "Contrats qualité", f"{entier(method['n_controles'])} règles pandera", "#fdf2e3"),
        ("warehouse", "Entrepôt DuckDB", f"schéma en étoile · {meta['territoire']} · {entier(indicators['n_indicateurs'])} indicateurs", "#e6f4ea"),
        ("explore", "Exploration", f"cartes, corrélations · {rows('analysis_correlation')}", "#f3e8f7"),
        ("evaluate", "Modèles supervisés", f"backtests chronologiques · {rows('model_evaluation')}", "#f3e8f7"),
        ("forecast", "Prévisions 1 à 3 ans", rows("fact_prevision"), "#f3e8f7"),
        ("deliver", "Livrables", "CSV, Parquet, SQL, Power BI, rapport, notebooks", "#e6f4ea"),
    ]
    edges = [("sources", "fetch", ""), ("fetch", "parse", "fichiers bruts"), ("parse", "harmonise", "tables"),
             ("harmonise", "quality", ""), ("quality", "warehouse", "ETL"), ("warehouse", "explore", ""),
             ("warehouse", "evaluate", ""), ("evaluate", "forecast", "modèle retenu"), ("explore", "deliver", ""),
             ("forecast", "deliver", ""), ("warehouse", "deliver", "exports")]
    return steps, edges


def mcd_section(con: duckdb.DuckDBPyConnection, exports_dir: Path) -> dict[str, Any]:
    """The MCD image (regenerated from the DDL when absent) and the warehouse's tables with their rows."""
    from electio.outputs.mcd import write_mcd

    folder = exports_dir / "mcd"
    image, physical = folder / "mcd.png", folder / "schema_physique.png"
    if not image.is_file():
        write_mcd(folder)
    tables = query(con, "SELECT table_name, comment FROM duckdb_tables() ORDER BY table_name")
    tables["lignes"] = [scalar(con, f'SELECT count(*) FROM "{name}"') for name in tables["table_name"]]
    families = (("dim_", "dimension"), ("fact_", "fait"), ("map_", "correspondance"), ("etl_", "traçabilité"),
                ("dq_", "qualité"), ("couverture_", "couverture"), ("analysis_", "analyse"), ("model_", "modèle"), ("forecast_", "prévision"))
    tables["famille"] = [next((label for prefix, label in families if n.startswith(prefix)), "autre") for n in tables["table_name"]]
    tables["comment"] = tables["comment"].fillna("").str.split(r"(?<=\.) ", regex=True).str[0]
    return {"image": image, "physique": physical if physical.is_file() else None, "tables": records(tables), "n_tables": len(tables)}


def reference_ballot(con: duckdb.DuckDBPyConnection) -> str | None:
    """The ballot of the displayed answer: présidentielle 2022 T1 when analysed, else the latest analysed."""
    from electio.models.evaluate import MAIN_TEST

    if not has_relation(con, "analysis_answer"):
        return None
    found = query(con, "SELECT DISTINCT a.scrutin_id, s.date_scrutin FROM analysis_answer a JOIN dim_scrutin s USING (scrutin_id) ORDER BY 2")
    if found.empty:
        return None
    return MAIN_TEST if MAIN_TEST in set(found["scrutin_id"]) else found["scrutin_id"].iloc[-1]


def target_flags(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per ballot and bloc: candidates, share of communes where the bloc has votes, and the French reason it is
    kept out of the headline answer ('' when it is not): one candidate (a vote for a person, not a bloc) or
    present in fewer communes than the coverage rule asks (:data:`electio.analysis.explore.MIN_ANSWER_COVERAGE`)."""
    from electio.analysis.explore import MIN_ANSWER_COVERAGE

    rows = query(con, """
        WITH n AS (SELECT count(*) AS communes FROM dim_commune WHERE type_unite = 'commune')
        SELECT r.scrutin_id, c.code_bloc AS cible, count(DISTINCT r.candidat_id) AS candidats,
               count(DISTINCT CASE WHEN r.voix > 0 THEN r.code_commune END) / ANY_VALUE(n.communes) AS presence
        FROM fact_resultat_commune r JOIN dim_candidat c USING (candidat_id) CROSS JOIN n GROUP BY ALL""")
    reasons = []
    for row in rows.itertuples():
        found = []
        if row.candidats == 1:
            found.append("un seul candidat (vote pour une personne plus que pour un bloc)")
        if row.presence < MIN_ANSWER_COVERAGE:
            found.append(f"présent dans {pct(row.presence, 0)} des communes seulement")
        reasons.append(" ; ".join(found))
    return rows.assign(exclusion=reasons)


def correlation_section(con: duckdb.DuckDBPyConnection, ballot: str | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """Question 1: the most correlated indicator per target, with CIs, for the reference ballot; the headline is the
    robust result: the indicator most often first across ballots, one-candidate and sparse blocs left out."""
    from electio.analysis.explore import MIN_ANSWER_COVERAGE

    if ballot is None:
        return None
    weights = query(con, "SELECT DISTINCT ponderation FROM analysis_answer WHERE scrutin_id = ?", ballot)["ponderation"].tolist()
    weighting = "aucune" if "aucune" in weights else weights[0]
    every = query(con, """
        SELECT a.*, d.libelle AS libelle_second, s.libelle AS libelle_scrutin FROM analysis_answer a
        JOIN dim_scrutin s USING (scrutin_id) LEFT JOIN dim_indicateur d ON d.indicateur = a.second_indicateur
        WHERE a.ponderation = ?""", weighting)
    flags = target_flags(con)
    every = every.merge(flags[["scrutin_id", "cible", "candidats", "exclusion"]], on=["scrutin_id", "cible"], how="left")
    every["exclusion"] = every["exclusion"].fillna("")
    answers = every[every["scrutin_id"] == ballot].copy()
    answers = answers.sort_values("cible", key=lambda c: c.map(lambda v: rank(v, list(labels))))
    answers["libelle_cible"] = answers["cible"].map(lambda c: labels.get(c, c))
    sound = answers[answers["exclusion"] == ""]
    top = (sound if not sound.empty else answers).pipe(lambda f: f.loc[f["coefficient"].abs().idxmax()])
    robust_rows = every[every["exclusion"] == ""]
    frequent = (robust_rows.groupby("libelle_indicateur").agg(fois=("cible", "size"), scrutins=("scrutin_id", "nunique"),
                                                              rho_min=("coefficient", lambda c: c.abs().min()), rho_max=("coefficient", lambda c: c.abs().max()))
                .reset_index().sort_values(["fois", "libelle_indicateur"], ascending=[False, True]).head(3))
    robust = None
    if not frequent.empty:
        name = frequent["libelle_indicateur"].iloc[0]
        here = sound[sound["libelle_indicateur"] == name]
        example = here.loc[here["coefficient"].abs().idxmax()] if not here.empty else None
        robust = {**records(frequent.head(1))[0], "exemple": None if example is None else records(answers.loc[[example.name]])[0]}
    settings = query(con, "SELECT MAX(n_bootstrap) AS n_bootstrap, MAX(niveau_confiance) AS niveau FROM analysis_correlation WHERE scrutin_id = ?", ballot).iloc[0]
    return {"scrutin": ballot, "libelle_scrutin": top["libelle_scrutin"], "ponderation": weighting, "reponses": records(answers),
            "top": records(answers.loc[[top.name]])[0], "frequents": records(frequent), "robuste": robust,
            "total_reponses": len(robust_rows), "exclues": len(every) - len(robust_rows),
            "scrutins_analyses": int(every["scrutin_id"].nunique()),
            "seuil_couverture": MIN_ANSWER_COVERAGE,
            "avertissement": answers["avertissement"].iloc[0], "n_bootstrap": settings["n_bootstrap"], "niveau": settings["niveau"],
            "methode": answers["methode_classement"].iloc[0]}
