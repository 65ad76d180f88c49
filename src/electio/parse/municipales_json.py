"""Municipales 2026 T1, commune level: a tar.gz of one JSON array per département.

Each ``public/data/communes/<dép>.json`` holds one object per commune (``codeCommune``,
``libelleCommune``, ``inscrits``, ``votants``, ``blancs``, ``nuls``, ``exprimes``) with its
lists in ``candidats`` (``nuance``, ``libelleListe``, ``voix``). The sector files
``plm-*.json`` (Paris, Lyon, Marseille by secteur) repeat communes already present as one
row and are not read. Votes are keyed by nuance (lists of one nuance in a commune are
summed); a list without nuance (small communes) gets the key :data:`NO_NUANCE`, which the
blocs referential counts in no bloc. A few communes' votes do not add up to their exprimés
in the source: that is a quality warning, not a parse error. ``nuls`` is negative in five
communes (the source derives it as votants − blancs − exprimés, and their votants are wrong):
it is left missing there (:data:`DERIVED`).
"""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pandas as pd

from electio.errors import InputError
from electio.parse.ballot import CODE, LIBELLE, LINE, LOCATION, ParsedBallot, assemble, missing

MEMBER = re.compile(r"(?:^|/)communes/(?!plm-)[0-9AB]{2,3}\.json$")
NO_NUANCE = "NC"
COUNTS: tuple[str, ...] = ("inscrits", "votants", "blancs", "nuls", "exprimes")
#: Counts the source derives from the others: a negative value there is missing, not an error.
DERIVED: frozenset[str] = frozenset({"nuls"})
_INSEE = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")


def parse_municipales(path: Path, scrutin_id: str) -> ParsedBallot:
    """Parse the archive: one participation row per commune, votes per (commune, nuance)."""
    units: list[dict[str, Any]] = []
    votes: list[dict[str, Any]] = []
    for member, records in _members(path):
        for index, record in enumerate(records, start=1):
            where = f"{member}, commune n° {index}"
            unit = _unit(path, where, record)
            unit[LINE], unit[LOCATION] = len(units) + 1, where
            units.append(unit)
            votes.extend(_lists(path, where, record, unit))
    if not units:
        raise InputError(path, "aucun fichier communes/<département>.json dans l'archive")
    frame = pd.DataFrame(units)
    duplicated = frame[CODE].duplicated()
    if duplicated.any():
        row = frame[duplicated].iloc[0]
        raise InputError(path, f"commune {row[CODE]} en double ({row[LOCATION]})")
    for column in COUNTS:
        frame[column] = frame[column].astype("Int64")
    voix = pd.DataFrame(votes, columns=[CODE, "candidat", "nuance", "voix", LINE])
    voix["prenom"] = missing(voix.index, "str")
    voix["voix"] = voix["voix"].astype("Int64")
    ballot = assemble(scrutin_id, frame.drop(columns=LOCATION), voix)
    by_code = frame.set_index(CODE)  # one unit per commune: missing derived counts stay missing
    for column in DERIVED:
        ballot.participation[column] = ballot.participation[CODE].map(by_code[column]).astype("Int64")
    ballot.participation[LOCATION] = ballot.participation[CODE].map(by_code[LOCATION]).astype("str")
    return ballot


def _members(path: Path) -> list[tuple[str, list[Any]]]:
    """The département JSON arrays of the archive, in member order."""
    try:
        with tarfile.open(path, "r:*") as archive:
            found = []
            for info in archive:
                if info.isfile() and MEMBER.search(info.name):
                    content = archive.extractfile(info)
                    found.append((info.name, _json_array(path, info.name, content.read() if content else b"")))
            return found
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(path, f"archive tar.gz illisible ou tronquée ({exc})") from exc


def _json_array(path: Path, member: str, raw: bytes) -> list[Any]:
    """A member's content as a JSON array; the error names the member."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"{member} : JSON illisible ({exc})") from exc
    if not isinstance(data, list):
        raise InputError(path, f"{member} : un tableau JSON de communes est attendu")
    return data


def _count(path: Path, where: str, record: dict[str, Any], key: str) -> int | None:
    """A non-negative integer field of ``record``; the error names the member and the commune."""
    value = record.get(key)
    if key in DERIVED and isinstance(value, int) and value < 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(path, f"{where} : valeur « {value} » invalide pour « {key} » (entier positif attendu)")
    return value


def _unit(path: Path, where: str, record: Any) -> dict[str, Any]:
    """Participation of one commune object, with its INSEE code checked for shape."""
    if not isinstance(record, dict):
        raise InputError(path, f"{where} : objet JSON attendu")
    code = str(record.get("codeCommune", "")).strip()
    if not _INSEE.fullmatch(code):
        raise InputError(path, f"{where} : code commune INSEE invalide « {code} »")
    unit = {CODE: code, LIBELLE: str(record.get("libelleCommune", "")).strip()}
    unit.update({key: _count(path, where, record, key) for key in COUNTS})
    return unit


def _lists(path: Path, where: str, record: dict[str, Any], unit: dict[str, Any]) -> list[dict[str, Any]]:
    """One vote row per list of the commune, keyed by its nuance (NO_NUANCE when empty)."""
    lists = record.get("candidats")
    if not isinstance(lists, list):
        raise InputError(path, f"{where} : liste « candidats » absente")
    rows = []
    for entry in lists:
        if not isinstance(entry, dict):
            raise InputError(path, f"{where} : liste mal formée dans « candidats »")
        nuance = str(entry.get("nuance") or "").strip() or NO_NUANCE
        voix = _count(path, where, entry, "voix")
        rows.append({CODE: unit[CODE], "candidat": nuance, "nuance": nuance, "voix": voix, LINE: unit[LINE]})
    return rows
