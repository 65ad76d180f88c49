"""The source catalogue: every raw file declared as data in ``sources/*.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from electio.config import SOURCES_DIR
from electio.errors import InputError


@dataclass(frozen=True)
class Source:
    """One public file: where it comes from, its checksum and how to read it."""

    id: str
    folder: str
    title: str
    publisher: str
    licence: str
    mirror_path: str
    download: str  # "http", "npm" (package spec in url) or "mirror" (no URL serves these exact bytes)
    url: str
    provenance_url: str
    obtained_from: str
    sha256: str
    bytes: int
    derivative: str
    format: str
    parser: str = ""
    served_sha256: str = ""  # sha256 of the bytes the URL serves, when the mirror stores them gzipped
    charger: bool = True  # false: declared (layout check, sample) but not loaded by the ETL

    @property
    def filename(self) -> str:
        return Path(self.mirror_path).name


def load_catalogue(directory: Path = SOURCES_DIR) -> dict[str, Source]:
    """Read every ``*.toml`` of the catalogue; ids must be unique."""
    sources: dict[str, Source] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            entries = tomllib.loads(path.read_text(encoding="utf-8")).get("source", [])
        except tomllib.TOMLDecodeError as exc:
            raise InputError(path, f"catalogue illisible ({exc})") from exc
        for entry in entries:
            try:
                source = Source(**entry)
            except TypeError as exc:
                raise InputError(path, f"entrée de catalogue invalide {entry.get('id')!r} ({exc})") from exc
            if source.id in sources:
                raise InputError(path, f"identifiant de source en double : {source.id}")
            sources[source.id] = source
    return sources


@cache
def catalogue() -> dict[str, Source]:
    """The project's catalogue, read once."""
    return load_catalogue()


def get_source(source_id: str) -> Source:
    """One source by id, with a clear error when it is not declared."""
    try:
        return catalogue()[source_id]
    except KeyError:
        raise InputError(SOURCES_DIR, f"source inconnue du catalogue : {source_id}") from None
