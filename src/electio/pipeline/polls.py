"""Polls ETL: every poll source of the catalogue → parse → pollsters, blocs, exclusions →
quality contract (sums) → cross-compiler dedupe → rolling waves thinned → warehouse tables.

Polls are national: the same tables are built whatever the territory. Tables:
``dim_sondage`` (one row per kept scenario), ``fact_intention_vote`` (scenario × option),
``resultat_bloc_sondage`` (official bloc results of the bloc-level table, kept apart from polls)
and ``couverture_sondage`` (per target ballot and level, before and after dedupe).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from electio.catalogue import Source, catalogue
from electio.errors import InputError
from electio.fetch import fetch
from electio.harmonise import blocs
from electio.harmonise import polls as harmonise
from electio.parse.polls_common import ParsedPolls
from electio.pipeline.lineage import Lineage, now
from electio.quality.polls import completeness

Say = Callable[[str], None]
FOLDER = "polls"
COMPANION = "companion_file"
SONDAGE_COLUMNS = [
    "sondage_id", "scrutin_cible", "tour", "niveau", "institut", "commanditaire", "date_debut", "date_fin",
    "date_publication", "echantillon", "population", "methode", "hypothese_id", "candidats", "nb_options",
    "somme_intentions", "complet", "vague_glissante", "compilateur", "compilateurs", "source_id", "id_source", "ligne_source",
]
INTENTION_COLUMNS = ["sondage_id", "option", "cle", "code_bloc", "intention", "borne_inf", "borne_sup"]
RESULT_COLUMNS = ["scrutin_cible", "option", "code_bloc", "part", "date_scrutin", "source_id", "ligne_source"]


def poll_sources() -> list[Source]:
    """Poll sources the ETL parses (a parser, ``charger`` true, not a companion file)."""
    return [s for s in catalogue().values()
            if s.folder == FOLDER and s.parser and s.charger and not s.parser.endswith(f".{COMPANION}")]


def companions_of(source: Source) -> list[Source]:
    """Companion files of a source: same mirror folder, parser ``<its module>.companion_file``."""
    module = source.parser.rpartition(".")[0]
    folder = source.mirror_path.rpartition("/")[0]
    return [s for s in catalogue().values() if s.folder == FOLDER and s.charger and s.parser == f"{module}.{COMPANION}"
            and s.mirror_path.rpartition("/")[0] == folder]


def parse_source(source: Source, path: Path, companions: dict[str, Path]) -> ParsedPolls:
    """Dispatch to the parser the catalogue names (``module.function`` under electio.parse)."""
    module_name, _, function = source.parser.rpartition(".")
    return getattr(importlib.import_module(f"electio.parse.{module_name}"), function)(path, companions)


def harmonised(parsed: ParsedPolls, source_id: str, refs: dict, assignments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """One source's scenarios and options with pollster, keys, blocs and completeness; excluded count."""
    sondages = parsed.sondages.copy()
    motif = harmonise.excluded_rows(sondages, parsed.compilateur, refs["exclusions"])
    excluded = int(motif.notna().sum())
    sondages = sondages[motif.isna()]
    sondages["institut"] = harmonise.canonical_pollsters(sondages, refs["instituts"], parsed.meta_path)
    options = parsed.intentions[parsed.intentions["scenario"].isin(sondages["scenario"])]
    options = options.merge(sondages[["scenario", "scrutin_cible"]], on="scenario")
    options = harmonise.option_keys(options, parsed.compilateur, refs["aliases"])
    options = harmonise.map_blocs(options, assignments, parsed.source_path)
    sondages = completeness(sondages, options, parsed.source_path)
    for frame in (sondages, options):
        frame["uid"] = source_id + "#" + frame["scenario"].astype(str)
    sondages["source_id"], sondages["compilateur"] = source_id, parsed.compilateur
    return sondages, options, excluded


def scenario_lists(sondages: pd.DataFrame, options: pd.DataFrame) -> pd.DataFrame:
    """``candidats`` (sorted option keys, ``; ``-joined) and ``nb_options`` per scenario."""
    lists = options.groupby("uid")["cle"].agg(lambda keys: "; ".join(sorted(keys)))
    out = sondages.copy()
    out["candidats"] = out["uid"].map(lists).fillna("")
    out["nb_options"] = out["uid"].map(options.groupby("uid").size()).fillna(0).astype("Int64")
    return out


def coverage(kept: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """``couverture_sondage``: polls per target ballot and level, before and after dedupe."""
    def surveys(frame: pd.DataFrame) -> pd.Series:
        who = frame["institut"].fillna(frame["sondage_id"] if "sondage_id" in frame else frame["uid"])
        return (who + "|" + frame["date_fin"].astype(str))
    keys = ["scrutin_cible", "niveau"]
    table = kept.assign(_enquete=surveys(kept)).groupby(keys).agg(
        nb_scenarios=("sondage_id", "size"), nb_enquetes=("_enquete", "nunique"), nb_hypotheses=("candidats", "nunique"),
        nb_incomplets=("complet", lambda s: int((~s).sum())), date_terrain_min=("date_fin", "min"), date_terrain_max=("date_fin", "max"),
        instituts=("institut", lambda s: ", ".join(sorted(s.dropna().unique()))),
        compilateurs=("compilateur", lambda s: ", ".join(sorted(s.unique()))))
    raw = before.assign(_enquete=surveys(before)).groupby(keys).agg(
        nb_scenarios_avant_dedoublonnage=("uid", "size"), nb_enquetes_avant_dedoublonnage=("_enquete", "nunique"))
    table = table.join(raw, how="left").reset_index()
    first_start = kept.groupby(keys)["date_debut"].min()
    table["date_terrain_min"] = [min(d for d in (first_start.get((c, n)), m) if pd.notna(d))
                                 for c, n, m in zip(table["scrutin_cible"], table["niveau"], table["date_terrain_min"], strict=True)]
    return table


def load_refs() -> dict:
    """The poll referentials (pollsters, aliases, exclusions, compilers, blocs assignments)."""
    return {"instituts": harmonise.load_instituts(), "aliases": harmonise.load_aliases(),
            "exclusions": harmonise.load_exclusions(), "compilers": harmonise.load_compilers(),
            "assignments": blocs.load_assignments(blocs.ASSIGNMENTS_CSV, blocs.load_blocs())}


def poll_tables(parsed: list[tuple[str, ParsedPolls]], refs: dict, lineage: Lineage | None = None) -> dict[str, pd.DataFrame]:
    """The poll tables from parsed sources (``(source_id, ParsedPolls)``, in catalogue order)."""
    record = lineage.record_step if lineage else (lambda *_args: None)
    all_sondages, all_options = [], []
    for source_id, one in parsed:
        t0 = now()
        if one.compilateur not in refs["compilers"].index:
            raise InputError(one.source_path, f"compilateur {one.compilateur!r} absent de {harmonise.COMPILERS_CSV.name}")
        sondages, options, excluded = harmonised(one, source_id, refs, refs["assignments"])
        record("harmonise_sondages", source_id, len(one.sondages), len(sondages), excluded, t0)
        all_sondages.append(sondages.assign(_order=len(all_sondages) * 100_000 + sondages["scenario"]))
        all_options.append(options)
    t0 = now()
    sondages, options = pd.concat(all_sondages, ignore_index=True), pd.concat(all_options, ignore_index=True)
    results = sondages[sondages["est_resultat"]]
    polls = sondages[~sondages["est_resultat"]]
    deduped = harmonise.dedupe(polls, options, refs["compilers"])
    unique = deduped[deduped["doublon_de"].isna()]
    record("dedoublonnage_sondages", None, len(polls), len(unique), len(polls) - len(unique), t0)
    t0 = now()
    rolling_dropped = harmonise.thin_rolling(unique)
    kept = scenario_lists(unique[~rolling_dropped], options)
    kept["sondage_id"] = harmonise.poll_ids(kept).to_numpy()
    record("vagues_glissantes_sondages", None, len(unique), len(kept), int(rolling_dropped.sum()), t0)
    facts = options.merge(kept[["uid", "sondage_id"]], on="uid")[INTENTION_COLUMNS]
    result_rows = options.merge(results[["uid", "date_fin", "source_id"]], on="uid").rename(
        columns={"intention": "part", "date_fin": "date_scrutin"})[RESULT_COLUMNS]
    return {
        "dim_sondage": kept[SONDAGE_COLUMNS].sort_values("sondage_id").reset_index(drop=True),
        "fact_intention_vote": facts.sort_values(["sondage_id", "option"]).reset_index(drop=True),
        "resultat_bloc_sondage": result_rows.reset_index(drop=True),
        "couverture_sondage": coverage(kept, scenario_lists(polls, options)),
    }


def build_polls(lineage: Lineage, say: Say) -> dict[str, pd.DataFrame]:
    """Parse every poll source of the catalogue and build the poll tables (see module docstring)."""
    refs = load_refs()
    parsed = []
    for source in poll_sources():
        t0 = now()
        say(f"Sondages {source.id}")
        path = lineage.record_input(fetch(source))
        companions = {s.filename: lineage.record_input(fetch(s)) for s in companions_of(source)}
        one = parse_source(source, path, companions)
        lineage.record_step("parse_sondages", source.id, len(one.sondages), len(one.sondages), 0, t0)
        parsed.append((source.id, one))
    return poll_tables(parsed, refs, lineage)
