"""Conceptual data model (MCD) generated from the warehouse DDL.

The DDL files (``postgres.DDL_FILES`` order) are run in an in-memory DuckDB database; entities,
identifiers and foreign keys are then read from ``duckdb_tables()``, ``duckdb_columns()`` and
``duckdb_constraints()`` (:func:`read_model` works on any DuckDB connection; the warehouse file does
not declare the keys of its big fact tables, so exports use :func:`ddl_model`).
Each foreign key is a binary association with Merise cardinalities: ``1,1`` (or ``0,1`` when the
key is nullable) on the referencing entity, ``0,n`` on the referenced one.

Outputs: ``mcd.png``, the conceptual model (entities = dimensions, associations = facts and
foreign keys between dimensions, Merise cardinalities) drawn with matplotlib, so that it needs no
system binary and reads at projector size; Mermaid ``erDiagram`` text of the whole model
(``mcd.mmd``); and the physical schema as Graphviz sources (``schema_physique.dot``: star schema,
``schema_complet.dot``: every table, keys only), rendered to ``.svg`` and ``.png`` only when the
optional ``dot`` binary of Debian's ``graphviz`` is installed (an annex, never required).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import duckdb

from electio.outputs.diagrams import Box, Link
from electio.warehouse.postgres import ddl_scripts, ddl_tables

TITLE = "Modèle conceptuel de données — entrepôt Electio"
STAR_TITLE = "Schéma physique Electio — schéma en étoile"
FULL_TITLE = "Schéma physique Electio — toutes les tables"
CONCEPT_TITLE = "Modèle conceptuel de données (MCD) — entrepôt Electio"
FONT = "Helvetica,Arial,sans-serif"
SHOWN_ATTRIBUTES = 2  # non-key attributes drawn per entity
PNG_DPI = 150

# (French label, table-name prefixes, header colour); the first matching group wins.
GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Dimensions", ("dim_",), "#cfe2f3"),
    ("Faits", ("fact_",), "#fce5cd"),
    ("Tables de passage (audit des codes communes)", ("map_",), "#d9ead3"),
    ("Traçabilité et qualité", ("etl_", "dq_", "couverture_"), "#e6e6e6"),
    ("Analyse exploratoire", ("analysis_",), "#e1d5f0"),
    ("Modèles et prévisions", ("model", "forecast", "prevision", "backtest"), "#fff2cc"),
)
OTHER_GROUP = ("Autres tables", (), "#f3f3f3")
STAR_GROUPS = ("Dimensions", "Faits")  # the groups of the report-page diagram
_CLAUSE = re.compile(r" : | \(| ; |, |\. |\.$| «")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    comment: str
    primary: bool
    foreign: bool


@dataclass(frozen=True)
class Entity:
    name: str
    comment: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Relation:
    """A foreign key: ``child.columns`` references ``parent.parent_columns``."""

    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    optional: bool

    @property
    def child_cardinality(self) -> str:
        return "0,1" if self.optional else "1,1"

    @property
    def parent_cardinality(self) -> str:
        return "0,n"

    def describe(self) -> str:
        """``child.col → parent.col (1,1 / 0,n)``."""
        return (f"{self.child}.{', '.join(self.columns)} → {self.parent}.{', '.join(self.parent_columns)} "
                f"({self.child_cardinality} / {self.parent_cardinality})")


@dataclass(frozen=True)
class Model:
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]


# ─── Reading the model ───────────────────────────────────────────────────────────────────

def ddl_table_files() -> dict[str, str]:
    """Every table of the DDL files, in creation (foreign-key) order, with its DDL file."""
    return {table: name for name, text in ddl_scripts() for table in ddl_tables(text)}


def _keys(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, set[str]], list[tuple]]:
    """Primary-key columns per table, and foreign keys (table, columns, parent, parent columns)."""
    rows = con.execute(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, referenced_column_names "
        "FROM duckdb_constraints() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') ORDER BY table_name, constraint_index"
    ).fetchall()
    primary = {table: set(cols) for table, kind, cols, _, _ in rows if kind == "PRIMARY KEY"}
    foreign = [(table, tuple(cols), parent, tuple(parent_cols)) for table, kind, cols, parent, parent_cols in rows if kind == "FOREIGN KEY"]
    return primary, foreign


def read_model(con: duckdb.DuckDBPyConnection, tables: Sequence[str]) -> Model:
    """Entities (in ``tables`` order) and the foreign keys between them, from DuckDB's catalog."""
    where = "WHERE database_name = current_database() AND schema_name = 'main'"
    comments = dict(con.execute(f"SELECT table_name, comment FROM duckdb_tables() {where}").fetchall())
    columns = con.execute(
        f"SELECT table_name, column_name, data_type, is_nullable, comment FROM duckdb_columns() {where} ORDER BY table_name, column_index"
    ).fetchall()
    primary, foreign = _keys(con)
    fk_columns = {(t, c) for t, cols, _, _ in foreign for c in cols}
    nullable = {(t, c): n for t, c, _, n, _ in columns}
    entities = tuple(
        Entity(table, comments.get(table) or "", tuple(
            Column(c, dtype, n, comment or "", c in primary.get(table, set()), (table, c) in fk_columns)
            for t, c, dtype, n, comment in columns if t == table
        ))
        for table in tables
    )
    order = {t: i for i, t in enumerate(tables)}
    relations = tuple(
        Relation(t, cols, parent, parent_cols, any(nullable[(t, c)] for c in cols))
        for t, cols, parent, parent_cols in sorted(foreign, key=lambda fk: order.get(fk[0], len(order)))
        if t in order and parent in order
    )
    return Model(entities, relations)


def ddl_model(tables: Sequence[str] | None = None) -> Model:
    """The model the DDL files declare (all tables, or ``tables`` in that order), built in an in-memory DuckDB database.

    Use it rather than the warehouse's catalog: the warehouse file checks the keys of its
    big fact tables in bulk instead of declaring them (``electio.warehouse.store.BULK_TABLES``).
    """
    with duckdb.connect() as con:
        for _, text in ddl_scripts():
            con.execute(text)
        return read_model(con, list(ddl_table_files()) if tables is None else list(tables))


# Links that the DDL cannot declare as foreign keys: fact_prevision also holds the territory total (département
# code in code_commune) and the abstention (in bloc), members of no dimension. The MCD and Power BI draw them
# (optional on the fact's side: those rows match no member).
LOGICAL_RELATIONS: tuple[Relation, ...] = (
    # forecasts are per unit of analysis (a commune, or an arrondissement of Lyon, Paris, Marseille)
    Relation("fact_prevision", ("code_commune",), "dim_unite", ("code_unite",), True),
    Relation("fact_prevision", ("bloc",), "dim_bloc", ("code_bloc",), True),
)


def with_logical(model: Model) -> Model:
    """``model`` plus the :data:`LOGICAL_RELATIONS` between its entities."""
    names = {e.name for e in model.entities}
    extra = tuple(r for r in LOGICAL_RELATIONS if r.child in names and r.parent in names and r not in model.relations)
    return Model(model.entities, model.relations + extra)


# ─── Labels and groups ───────────────────────────────────────────────────────────────────

def group_of(table: str) -> tuple[str, tuple[str, ...], str]:
    """(French label, prefixes, colour) of the group a table belongs to."""
    return next((g for g in GROUPS if table.startswith(g[1])), OTHER_GROUP)


def short_label(comment: str, width: int = 26) -> list[str]:
    """A short French title from a table comment: its first clause, on two lines at most."""
    head = _CLAUSE.split(comment, maxsplit=1)[0].strip() if comment else ""
    lines = textwrap.wrap(head, width) or [""]
    return lines if len(lines) <= 2 else [lines[0], lines[1] + "…"]


def shown_columns(entity: Entity, extra: int = SHOWN_ATTRIBUTES) -> tuple[list[Column], int]:
    """Key columns plus the first ``extra`` other attributes; and how many attributes are left out."""
    keys = [c for c in entity.columns if c.primary or c.foreign]
    others = [c for c in entity.columns if not (c.primary or c.foreign)]
    return keys + others[:extra], max(len(others) - extra, 0)


def more_attributes(hidden: int) -> str:
    """``+ 1 autre attribut`` / ``+ n autres attributs``."""
    return f"+ {hidden} autre attribut" if hidden == 1 else f"+ {hidden} autres attributs"


# ─── Mermaid ─────────────────────────────────────────────────────────────────────────────

def _mermaid_entity(entity: Entity) -> list[str]:
    columns, hidden = shown_columns(entity)
    title = " ".join(short_label(entity.comment, 200)).replace('"', "'")
    lines = [f'    {entity.name}["{title}"] {{']
    for column in columns:
        keys = ", ".join(k for k, on in (("PK", column.primary), ("FK", column.foreign)) if on)
        lines.append(f"        {re.sub(r'[^A-Za-z0-9_]', '_', column.type)} {column.name}{' ' + keys if keys else ''}")
    lines.append("    }")
    if hidden:
        lines.append(f"    %% {entity.name} : {more_attributes(hidden)} (voir le dictionnaire de données)")
    return lines


def mermaid(model: Model) -> str:
    """Mermaid ``erDiagram`` (crow's foot: ``||`` exactly one, ``|o`` zero or one, ``o{`` zero or more)."""
    lines = ["---", f"title: {TITLE}", "---", "erDiagram"]
    for label, entities in grouped(model):
        lines.append(f"    %% ─── {label} ───")
        for entity in entities:
            lines += _mermaid_entity(entity)
    lines.append("    %% ─── Associations (clés étrangères) ───")
    for r in model.relations:
        lines.append(f'    {r.parent} {"|o" if r.optional else "||"}--o{{ {r.child} : "{", ".join(r.columns)}"')
    return "\n".join(lines) + "\n"


def grouped(model: Model) -> list[tuple[str, list[Entity]]]:
    """Entities by group, groups in :data:`GROUPS` order, empty groups left out."""
    groups = [*GROUPS, OTHER_GROUP]
    return [(g[0], members) for g in groups if (members := [e for e in model.entities if group_of(e.name) == g])]


# ─── Conceptual model (matplotlib) ───────────────────────────────────────────────────────

ENTITY_NAMES = {"dim_region": "Région", "dim_departement": "Département", "dim_commune": "Commune", "dim_scrutin": "Scrutin",
                "dim_bloc": "Bloc politique", "dim_candidat": "Candidat ou liste", "dim_indicateur": "Indicateur",
                "dim_scenario": "Scénario", "dim_scrutin_cible": "Scrutin prévu", "dim_unite": "Unité d'analyse",
                "dim_sondage": "Sondage", "dim_hypothese": "Hypothèse", "dim_duel": "Duel (2nd tour)"}
ASSOCIATION_NAMES = {"fact_participation": "PARTICIPATION", "fact_resultat_commune": "OBTENIR DES VOIX",
                     "fact_indicateur_commune": "MESURER", "fact_prevision": "PRÉVOIR",
                     "fact_participation_territoire": "PARTICIPATION", "fact_resultat_territoire": "OBTENIR DES VOIX",
                     "fact_participation_arrondissement": "PARTICIPATION", "fact_resultat_arrondissement": "OBTENIR DES VOIX",
                     "fact_intention_vote": "INTENTION DE VOTE", "fact_prevision_duel": "PRÉVOIR LE 2ND TOUR"}
LINK_NAMES = {("dim_departement", "dim_region"): "APPARTENIR", ("dim_commune", "dim_departement"): "APPARTENIR",
              ("dim_candidat", "dim_scrutin"): "SE PRÉSENTER", ("dim_candidat", "dim_bloc"): "RATTACHER",
              ("dim_duel", "dim_hypothese"): "DÉCOULER DE"}
# Centres in grid units (22 × 12.4, a slide's proportions), placed by hand so that no two shapes overlap
# (tests/test_exports.py checks it); a table absent from the layout goes on a spare bottom row.
LAYOUT = {"dim_unite": (1.9, 11.4), "dim_scrutin": (9.0, 11.4), "dim_candidat": (16.6, 11.4), "dim_hypothese": (20.4, 11.4),
          "dim_departement": (1.9, 6.2), "dim_commune": (8.0, 6.2), "dim_bloc": (16.6, 6.2), "dim_duel": (21.6, 8.3),
          "dim_region": (1.9, 1.0), "dim_indicateur": (6.0, 1.0), "dim_scrutin_cible": (10.2, 1.0), "dim_scenario": (14.2, 1.0),
          "dim_sondage": (20.4, 1.0),
          "fact_participation_arrondissement": (5.45, 12.45), "fact_resultat_arrondissement": (5.45, 9.9),
          "fact_resultat_territoire": (12.8, 12.6), "fact_participation_territoire": (12.9, 9.95),
          "fact_participation": (5.0, 8.4), "fact_resultat_commune": (10.4, 8.1), "fact_indicateur_commune": (6.0, 3.6),
          "fact_prevision": (12.2, 3.6), "fact_intention_vote": (17.0, 3.4), "fact_prevision_duel": (19.0, 4.9),
          ("dim_departement", "dim_region"): (1.9, 3.6), ("dim_commune", "dim_departement"): (4.95, 6.2),
          ("dim_candidat", "dim_scrutin"): (12.8, 11.3), ("dim_candidat", "dim_bloc"): (16.6, 8.8),
          ("dim_duel", "dim_hypothese"): (21.9, 9.85)}
CONCEPT_LEGEND = ("Rectangles : entités (clé, un attribut) · ovales : associations (ce qu'elles mesurent) · "
                  "(min,max) : cardinalités · tirets : lien facultatif · MESURER existe aussi par unité d'analyse, pour la France et les départements")
CONCEPT_OMITTED = frozenset({"fact_indicateur_unite", "fact_indicateur_territoire"})  # drawn as MESURER already (the legend says so): one more long edge would cross the entities
MEASURES = {"fact_participation": "inscrits, votants", "fact_resultat_commune": "voix", "fact_indicateur_commune": "valeur, année",
            "fact_prevision": "parts, intervalles, P(tête)", "fact_participation_territoire": "France, département",
            "fact_resultat_territoire": "voix : France, département", "fact_participation_arrondissement": "par arrondissement",
            "fact_resultat_arrondissement": "voix par arrondissement", "fact_intention_vote": "intention, bornes",
            "fact_prevision_duel": "parts, P(victoire)"}
ENTITY_SIZE, ASSOCIATION_SIZE, LINK_SIZE = (3.2, 1.45), (3.6, 1.05), (2.5, 0.8)
CONCEPT_TEXT = {"title_size": 12.5, "text_size": 10}  # points, at slide size
ENTITY_FILL, ASSOCIATION_FILL = "#cfe2f3", "#fff2cc"


def implied(model: Model, relation: Relation) -> bool:
    """Whether a foreign key between two entities is implied by a chain of others (commune → département → région)."""
    parents: dict[str, set[str]] = {}
    for r in model.relations:
        if r is not relation:
            parents.setdefault(r.child, set()).add(r.parent)
    seen, todo = set(), [relation.child]
    while todo:
        for parent in parents.get(todo.pop(), set()) - seen:
            seen.add(parent)
            todo.append(parent)
    return relation.parent in seen


def _entity_box(entity: Entity, centre: tuple[float, float]) -> Box:
    keys = [c.name for c in entity.columns if c.primary]
    others = [c.name for c in entity.columns if not (c.primary or c.foreign)]
    lines = (f"clé : {', '.join(keys)}", *others[:1])
    return Box(entity.name, *centre, ENTITY_NAMES.get(entity.name, " ".join(short_label(entity.comment))), lines, ENTITY_FILL, *ENTITY_SIZE)


def conceptual(model: Model) -> tuple[list[Box], list[Link]]:
    """Boxes and links of the conceptual MCD: entities (dimensions), associations (facts, and foreign keys
    between dimensions, chains' shortcuts left out) with their cardinalities on each entity's side."""
    dims = [e for e in model.entities if not model_is_fact(e.name)]
    facts = [e for e in model.entities if model_is_fact(e.name) and e.name not in CONCEPT_OMITTED]
    spare = iter((2.0 + 3.4 * i, -1.0) for i in range(len(model.entities)))
    boxes = [_entity_box(e, LAYOUT.get(e.name) or next(spare)) for e in dims]
    links: list[Link] = []
    for fact in facts:
        legs = [r for r in model.relations if r.child == fact.name]
        if not legs:
            continue
        measures = MEASURES.get(fact.name) or ", ".join(c.name for c in fact.columns if not (c.primary or c.foreign))
        boxes.append(Box(fact.name, *(LAYOUT.get(fact.name) or next(spare)), ASSOCIATION_NAMES.get(fact.name, fact.name.upper()),
                         (measures,) if measures else (), ASSOCIATION_FILL, *ASSOCIATION_SIZE, "ellipse"))
        links += [Link(r.parent, fact.name, start_label="0,n", arrow=False, dashed=r.optional and r in LOGICAL_RELATIONS) for r in legs]
    for r in model.relations:
        if model_is_fact(r.child) or model_is_fact(r.parent) or implied(model, r):
            continue
        key = f"{r.child}→{r.parent}"
        boxes.append(Box(key, *(LAYOUT.get((r.child, r.parent)) or next(spare)), LINK_NAMES.get((r.child, r.parent), "RELIER"),
                         (), ASSOCIATION_FILL, *LINK_SIZE, "ellipse"))
        links += [Link(r.child, key, start_label=r.child_cardinality, arrow=False, dashed=r.optional),
                  Link(r.parent, key, start_label=r.parent_cardinality, arrow=False, dashed=r.optional)]
    return boxes, links


def model_is_fact(table: str) -> bool:
    """Facts become associations of the conceptual model; every other table is an entity."""
    return table.startswith("fact_")


# ─── Graphviz ────────────────────────────────────────────────────────────────────────────

LEGEND = (
    "Identifiant souligné · # clé étrangère · tirets : lien facultatif",
    "Cardinalités Merise (min,max) : 1,1 ou 0,1 à droite de la clé étrangère,",
    "0,n au départ du lien (entité référencée)",
)


def _column_row(column: Column, cardinality: str | None) -> str:
    name = escape(column.name)
    text = f"<U>{name}</U>" if column.primary else name
    right = f'<FONT COLOR="#1f4e79"><B>{cardinality}</B></FONT>' if cardinality else ""
    return f'<TR><TD ALIGN="LEFT" PORT="{name}">{"#" if column.foreign else ""}{text}</TD><TD ALIGN="RIGHT">{right}</TD></TR>'


def _node(entity: Entity, cardinalities: dict[str, str], attributes: int) -> str:
    """An entity box: French title, table name, shown columns, count of the others."""
    columns, hidden = shown_columns(entity, attributes)
    title = "<BR/>".join(f"<B>{escape(line)}</B>" for line in short_label(entity.comment))
    rows = [
        f'<TR><TD COLSPAN="2" BGCOLOR="{group_of(entity.name)[2]}" CELLPADDING="5">{title}<BR/>'
        f'<FONT POINT-SIZE="11" COLOR="#333333"><I>{escape(entity.name)}</I></FONT></TD></TR>',
        *(_column_row(c, cardinalities.get(c.name)) for c in columns),
    ]
    if hidden:
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT COLOR="#666666"><I>{more_attributes(hidden)}</I></FONT></TD></TR>')
    table = f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" COLOR="#6d7f99" BGCOLOR="white">{"".join(rows)}</TABLE>'
    return f"    {entity.name} [label=<{table}>];"


def _label_angles(model: Model) -> list[int]:
    """Angle of each association's ``0,n`` label, alternated around a shared referenced entity."""
    seen: dict[str, int] = {}
    angles = []
    for r in model.relations:
        k = seen[r.parent] = seen.get(r.parent, -1) + 1
        angles.append((-1) ** k * (25 + 15 * (k // 2)))
    return angles


def dot_source(model: Model, title: str = TITLE, attributes: int = SHOWN_ATTRIBUTES) -> str:
    """Graphviz source: one cluster per group; each association runs from the referenced entity to
    the foreign-key row of the referencing one, which carries the ``1,1`` / ``0,1`` cardinality."""
    cardinalities = {(r.child, r.columns[0]): r.child_cardinality for r in model.relations}
    lines = [
        "digraph mcd {",
        f'  graph [rankdir=TB, newrank=true, nodesep=0.3, ranksep=0.6, pad=0.2, fontname="{FONT}", fontsize=22, labelloc=t, '
        f'label=<<B>{escape(title)}</B><BR/><FONT POINT-SIZE="13">{"<BR/>".join(map(escape, LEGEND))}</FONT>>];',
        f'  node [shape=plain, fontname="{FONT}", fontsize=13];',
        f'  edge [fontname="{FONT}", fontsize=12, color="#4d4d4d", arrowhead=none, labeldistance=2.2];',
    ]
    for index, (label, entities) in enumerate(grouped(model)):
        lines.append(f'  subgraph cluster_{index} {{ label=<<B>{escape(label)}</B>>; fontsize=16; style="rounded,filled"; '
                     f'fillcolor="#fbfbfb"; color="#b7b7b7";')
        lines += [_node(e, {c: k for (t, c), k in cardinalities.items() if t == e.name}, attributes) for e in entities]
        lines.append("  }")
    for r, angle in zip(model.relations, _label_angles(model), strict=True):
        style = ", style=dashed" if r.optional else ""
        lines.append(f'  {r.parent} -> {r.child}:{r.columns[0]} [taillabel="{r.parent_cardinality}", labelangle={angle}{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def star(model: Model) -> Model:
    """The star schema alone: dimensions, facts and the associations between them."""
    kept = {e.name for e in model.entities if group_of(e.name)[0] in STAR_GROUPS}
    return Model(tuple(e for e in model.entities if e.name in kept),
                 tuple(r for r in model.relations if r.child in kept and r.parent in kept))


def render(dot_file: Path) -> list[Path]:
    """SVG and PNG next to ``dot_file``; nothing when Graphviz's ``dot`` is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        return []
    outputs = [dot_file.with_suffix(".svg"), dot_file.with_suffix(".png")]
    for target, options in zip(outputs, (["-Tsvg"], ["-Tpng", f"-Gdpi={PNG_DPI}"]), strict=True):
        subprocess.run([dot, *options, "-o", str(target), str(dot_file)], check=True, capture_output=True, timeout=120)
    return outputs


def write_mcd(out_dir: Path, model: Model | None = None) -> list[Path]:
    """Write the MCD; the files written.

    ``mcd.png``: the conceptual model (always, matplotlib); ``mcd.mmd``: Mermaid text of the whole
    model; ``schema_physique.dot`` (+ ``.svg``, ``.png`` with Graphviz): the star schema;
    ``schema_complet.dot`` (+ images): every table, keys only.
    """
    from electio.outputs.diagrams import draw  # matplotlib, loaded only when drawing

    model = model or ddl_model()
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {
        out_dir / "mcd.mmd": mermaid(model),
        out_dir / "schema_physique.dot": dot_source(star(model), STAR_TITLE),
        out_dir / "schema_complet.dot": dot_source(model, FULL_TITLE, attributes=0),
    }
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    boxes, links = conceptual(with_logical(star(model)))
    concept = draw(boxes, links, out_dir / "mcd.png", CONCEPT_TITLE, CONCEPT_LEGEND, **CONCEPT_TEXT)
    return [concept, *texts, *(image for path in texts if path.suffix == ".dot" for image in render(path))]
