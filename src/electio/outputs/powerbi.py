"""Power BI starter of the export: connection files, Power Query script, relationships, DAX measures.

Relationships come from the warehouse's foreign keys: each is many-to-one, filtering from the
referenced table (the dimension) to the referencing one. Power BI allows a single active path
between two tables: when a table reaches a dimension both directly and through another table
(``fact_resultat_commune`` → ``dim_scrutin`` directly and via ``dim_candidat``), the indirect
relationship is marked inactive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg.conninfo import conninfo_to_dict

from electio.errors import ElectioError
from electio.outputs import markdown
from electio.outputs.mcd import Model, Relation, with_logical
from electio.warehouse.postgres import resolve_url

if TYPE_CHECKING:
    from electio.outputs.exports import Exported

PG_SCHEMA = "electio"  # the schema ``electio load`` writes by default
FOLDER_PARAMETER = "DossierExports"

# (name, DAX expression, format, meaning); a measure is kept when the model has every table it reads.
MEASURES: tuple[tuple[str, str, str, str], ...] = (
    ("Voix", "SUM ( fact_resultat_commune[voix] )", "nombre entier", "voix des candidats filtrés (par bloc via dim_candidat)"),
    ("Inscrits", "SUM ( fact_participation[inscrits] )", "nombre entier", "électeurs inscrits"),
    ("Votants", "SUM ( fact_participation[votants] )", "nombre entier", "votants"),
    ("Exprimés", "SUM ( fact_participation[exprimes] )", "nombre entier", "suffrages exprimés (non filtrés par le bloc)"),
    ("Part des exprimés", "DIVIDE ( [Voix], [Exprimés] )", "pourcentage", "part = voix / exprimés"),
    ("Taux de participation", "DIVIDE ( [Votants], [Inscrits] )", "pourcentage", "votants / inscrits"),
    ("Taux d'abstention", "1 - [Taux de participation]", "pourcentage", "abstentionnistes / inscrits"),
    ("Part des blancs et nuls", "DIVIDE ( [Votants] - [Exprimés], [Votants] )", "pourcentage", "(votants − exprimés) / votants"),
    ("Communes", "DISTINCTCOUNT ( fact_participation[code_commune] )", "nombre entier", "communes ayant des résultats"),
    ("Valeur moyenne de l'indicateur", "AVERAGE ( fact_indicateur_commune[valeur] )", "décimal",
     "moyenne simple des communes (filtrer un seul indicateur et une seule année)"),
)
M_TYPES = (
    (("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"), "Int64.Type"),
    (("DOUBLE", "FLOAT", "REAL", "DECIMAL"), "type number"),
    (("TIMESTAMP",), "type datetime"),
    (("DATE",), "type date"),
    (("BOOLEAN",), "type logical"),
)


# ─── Relationships ───────────────────────────────────────────────────────────────────────

def _reaches(relations: Sequence[Relation], start: str, goal: str) -> bool:
    """Whether ``start`` reaches ``goal`` by following foreign keys (child → parent)."""
    seen, todo = set(), [start]
    while todo:
        table = todo.pop()
        if table == goal:
            return True
        if table not in seen:
            seen.add(table)
            todo += [r.parent for r in relations if r.child == table]
    return False


def inactive_relations(relations: Sequence[Relation]) -> set[Relation]:
    """``X → B`` is inactive when another table ``A`` references ``B`` directly and reaches ``X``."""
    return {r for r in relations
            if any(o.parent == r.parent and o.child != r.child and _reaches(relations, o.child, r.child) for o in relations)}


def relationships_table(model: Model) -> str:
    """Markdown table of the relationships: the foreign keys, then the links the DDL cannot declare (``mcd.LOGICAL_RELATIONS``)."""
    relations = with_logical(model).relations
    inactive = inactive_relations(relations)
    logical = set(relations) - set(model.relations)
    rows = [
        (f"`{r.child}[{', '.join(r.columns)}]`", f"`{r.parent}[{', '.join(r.parent_columns)}]`",
         "plusieurs à un (*:1)", f"unique : {r.parent} filtre {r.child}",
         "non (double chemin : à activer avec USERELATIONSHIP)" if r in inactive else
         "oui (le total du territoire et l'abstention n'ont pas de ligne correspondante)" if r in logical else "oui")
        for r in relations
    ]
    return markdown.table(("de (côté plusieurs)", "vers (côté un)", "cardinalité", "direction du filtre", "active"), rows)


# ─── Measures and queries ────────────────────────────────────────────────────────────────

def available_measures(model: Model) -> list[tuple[str, str, str, str]]:
    """The measures whose tables are all in the model (measure references ``[x]`` are not tables)."""
    tables = {e.name for e in model.entities}
    return [m for m in MEASURES if set(re.findall(r"(\w+)\[", m[1])) <= tables]


def measures_text(measures: Iterable[tuple[str, str, str, str]]) -> str:
    return "\n".join(f"{name} = {dax}" for name, dax, _, _ in measures)


def m_type(duckdb_type: str) -> str:
    """Power Query type of a DuckDB column type (text by default)."""
    return next((m for prefixes, m in M_TYPES if duckdb_type.startswith(prefixes)), "type text")


def power_query(item: Exported) -> str:
    """One Power Query (M) query: the CSV with its column types (culture fr-FR), else the Parquet file."""
    head = f"// ─── {item.name} : nouvelle requête vide nommée {item.name}, coller dans l'éditeur avancé ───\nlet\n"
    if not item.has_csv:
        parquet = f'{FOLDER_PARAMETER} & "\\parquet\\{item.name}.parquet"'
        return head + f"    Source = Parquet.Document(File.Contents({parquet}))\nin\n    Source\n"
    types = ", ".join(f'{{"{c}", {m_type(t)}}}' for c, t in item.columns)
    return head + (
        f'    Source = Csv.Document(File.Contents({FOLDER_PARAMETER} & "\\csv\\{item.name}.csv"), '
        '[Delimiter = ";", Encoding = 65001, QuoteStyle = QuoteStyle.Csv]),\n'
        "    Entetes = Table.PromoteHeaders(Source, [PromoteAllScalars = true]),\n"
        f'    Types = Table.TransformColumnTypes(Entetes, {{{types}}}, "fr-FR")\n'
        "in\n    Types\n"
    )


def power_query_script(items: Sequence[Exported], export_dir: Path) -> str:
    header = (
        "// Requêtes Power Query (M) des fichiers exportés par « electio export » (CSV, ou Parquet au-delà d'un million de lignes).\n"
        f"// 1. Créer le paramètre texte {FOLDER_PARAMETER} (Accueil > Gérer les paramètres), valeur : le dossier des exports,\n"
        f'//    ex. "C:\\Electio\\exports" (dossier d\'origine : {export_dir}).\n'
        "// 2. Pour chaque table : Nouvelle source > Requête vide, la nommer, Éditeur avancé, coller le bloc.\n"
    )
    return header + "\n" + "\n".join(power_query(i) for i in items)


# ─── Connection files ────────────────────────────────────────────────────────────────────

def pg_server() -> tuple[str, str]:
    """``host:port`` and database of ``ELECTIO_PG_URL`` (never the user or password); localhost by default."""
    try:
        info = conninfo_to_dict(resolve_url())
    except (ElectioError, psycopg.ProgrammingError):
        info = {}
    host = str(info.get("host") or "localhost")
    host = "localhost" if host.startswith("/") else host.split(",")[0]
    return f"{host}:{str(info.get('port') or 5432).split(',')[0]}", str(info.get("dbname") or "electio")


def pbids(protocol: str, address: dict[str, str]) -> str:
    """A Power BI data source file (one connection, import mode)."""
    connection = {"details": {"protocol": protocol, "address": address}, "options": {}, "mode": "Import"}
    return json.dumps({"version": "0.1", "connections": [connection]}, ensure_ascii=False, indent=2) + "\n"


def readme(model: Model, server: str, database: str) -> str:
    measures = available_measures(model)
    measure_rows = [(name, f"`{dax}`", fmt, meaning) for name, dax, fmt, meaning in measures]
    return f"""# Démarrer un rapport Power BI sur l'entrepôt Electio

Ce dossier est généré par `electio export` à partir des clés étrangères de l'entrepôt.

## Ouvrir les données

Deux sources au choix, en mode Importation :

1. **PostgreSQL** (recommandé, actualisable) : chargez l'entrepôt avec `electio load` (schéma
   `{PG_SCHEMA}`, rôle en lecture seule `electio_reader`), puis ouvrez `electio_postgresql.pbids`
   (serveur `{server}`, base `{database}` ; modifiez-les dans le fichier au besoin). Power BI demande
   l'identifiant et le mot de passe : ils ne sont jamais écrits dans ces fichiers. Si votre version de
   Power BI refuse le fichier, passez par *Obtenir des données > Base de données PostgreSQL* avec le
   même serveur et la même base. Dans le Navigateur, cochez les tables `{PG_SCHEMA}.dim_*`,
   `{PG_SCHEMA}.fact_*` et, si besoin, les vues `v_bi_*`.
2. **Dossier de CSV** : ouvrez `electio_csv.pbids` après avoir remplacé le chemin par celui du
   dossier `csv` sur votre poste, ou, plus simple pour garder les types et les zéros initiaux des
   codes, collez les requêtes de `requetes_power_query.pq` (une par table : encodage UTF-8,
   séparateur `;`, culture fr-FR pour la virgule décimale ; Parquet pour les tables trop grandes
   pour un CSV).

## Relations à créer (vue Modèle)

Power BI en détecte la plupart à partir des clés ; vérifiez-les avec ce tableau. Toutes sont
« plusieurs à un », filtre dans une seule direction (de la dimension vers le fait).

{relationships_table(model)}
Les relations inactives évitent deux chemins de filtre entre les mêmes tables ; le chemin direct
(par exemple `fact_resultat_commune` → `dim_scrutin`) reste actif.

## Mesures DAX suggérées

Créez une table de mesures (*Accueil > Entrer des données*, nommée `Mesures`), puis une mesure par ligne :

```dax
{measures_text(measures)}
```

{markdown.table(("mesure", "DAX", "format", "signification"), measure_rows)}
Conseils : triez `dim_bloc[libelle]` par `dim_bloc[ordre]` (gauche → droite) et utilisez
`dim_bloc[couleur]` en mise en forme conditionnelle ; masquez les colonnes de clé des tables de faits ;
pour une part par bloc, placez `dim_bloc[libelle]` en axe et la mesure *Part des exprimés* en valeur.
Les vues `v_bi_resultat_bloc` et `v_bi_participation` sont déjà dénormalisées (libellés inclus) pour
un rapport rapide sans modèle : n'y additionnez pas `exprimes` sur plusieurs blocs (répété par bloc).
"""


def write_powerbi(folder: Path, model: Model, items: Sequence[Exported], export_dir: Path) -> list[Path]:
    """Write the Power BI starter; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    server, database = pg_server()
    texts = {
        "electio_postgresql.pbids": pbids("postgresql", {"server": server, "database": database}),
        "electio_csv.pbids": pbids("folder", {"path": str(export_dir / "csv")}),
        "requetes_power_query.pq": power_query_script(items, export_dir),
        "README.md": readme(model, server, database),
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in texts]
