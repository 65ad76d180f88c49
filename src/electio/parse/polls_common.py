"""Output type of the poll parsers (one per compiler layout) and the helpers they share.

A parser returns a :class:`ParsedPolls`: one row per poll *scenario* (a pollster's question
for one round and one candidate hypothesis) and one row per scenario × option (candidate,
list or bloc) with the share as published, in percent. Pollster names, blocs, exclusions and
the cross-compiler dedupe are applied later (``electio.pipeline.polls``), from referentials.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from electio.errors import InputError

SCENARIO_COLUMNS: tuple[str, ...] = (
    "scenario", "id_source", "ligne_source", "institut_source", "commanditaire", "date_debut", "date_fin",
    "date_publication", "echantillon", "population", "methode", "tour", "hypothese_id", "scrutin_cible",
    "vague_glissante", "niveau", "est_resultat",
)
"""``scenario`` is the parser's own integer key linking a scenario to its options."""
OPTION_COLUMNS: tuple[str, ...] = ("scenario", "option", "nom_famille", "intention", "borne_inf", "borne_sup", "ligne_source")
"""``option`` as published; ``nom_famille`` the surname when the layout gives it (bloc key source)."""


@dataclass
class ParsedPolls:
    """Poll scenarios and their options read from one compiler's file(s)."""

    compilateur: str
    source_path: Path
    sondages: pd.DataFrame
    intentions: pd.DataFrame
    sondages_path: Path | None = None
    """File holding the scenario rows when it is not ``source_path`` (MieuxVoter ``polls.csv``)."""

    @property
    def meta_path(self) -> Path:
        """File that the scenarios' ``ligne_source`` refers to."""
        return self.sondages_path or self.source_path


def polls_frames(compilateur: str, path: Path, scenarios: list[dict], options: list[dict],
                 sondages_path: Path | None = None) -> ParsedPolls:
    """Build a :class:`ParsedPolls` from records (missing columns become null, dates parsed)."""
    sondages = pd.DataFrame(scenarios).reindex(columns=list(SCENARIO_COLUMNS))
    for column in ("date_debut", "date_fin", "date_publication"):
        sondages[column] = pd.to_datetime(sondages[column], errors="coerce").dt.date
    sondages["echantillon"] = pd.to_numeric(sondages["echantillon"], errors="coerce").round().astype("Int64")
    sondages["tour"] = sondages["tour"].astype("Int64")
    sondages["ligne_source"] = pd.to_numeric(sondages["ligne_source"]).astype("Int64")
    for column in ("vague_glissante", "est_resultat"):
        sondages[column] = sondages[column].eq(True)
    sondages["niveau"] = sondages["niveau"].astype("string").fillna("candidat").astype(object)
    intentions = pd.DataFrame(options).reindex(columns=list(OPTION_COLUMNS))
    for column in ("intention", "borne_inf", "borne_sup"):
        intentions[column] = pd.to_numeric(intentions[column], errors="coerce").astype("Float64")
    intentions["ligne_source"] = pd.to_numeric(intentions["ligne_source"]).astype("Int64")
    return ParsedPolls(compilateur, path, sondages, intentions, sondages_path)


def read_csv_rows(path: Path, required: list[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV with their 1-based file line (header = line 1); required columns checked."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(path, f"colonnes manquantes : {', '.join(missing)}")
            return [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"fichier de sondages illisible ({exc})") from exc


def number(value: object, path: Path, line: int | None, column: str) -> float | None:
    """A decimal share or count ("", "NA" → None); anything else unreadable is an error."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip().replace(",", ".")
    if text in ("", "NA", "nan", "NaN"):
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(path, f"valeur numérique illisible dans la colonne {column} : {value!r}", line=line) from None


def round_number(label: str, path: Path, line: int | None) -> int:
    """Round 1 or 2 from the compilers' labels ("1er Tour", "Premier tour", "2nd Tour", ...)."""
    text = label.strip().lower()
    if text.startswith(("1", "premier")):
        return 1
    if text.startswith(("2", "deuxième", "second")):
        return 2
    raise InputError(path, f"tour de scrutin illisible : {label!r}", line=line)
