"""Stage skipping for ``electio run``: a stage whose inputs have not changed since the last run is not redone.

The record ``data/cache/run/<warehouse>.json`` (one per warehouse file) keeps, after each stage of a run,
the stage's key and the state of what the stages wrote. A later ``electio run`` skips:

* the **ETL** when its key is unchanged — the territory, the warehouse path, the sha256 of every catalogue
  file found on disk (mirror or cache; the file's real bytes, read again), the code (:func:`code_hash`)
  — and the warehouse still holds the ETL run that the record names (``etl_run.run_id``);
* then each following stage, in order, while its key (the code, the as-of date, the run's options) is the
  recorded one and nothing written by the stages (the warehouse file, ``output/``, ``data/models``) changed
  since the record was written. The first stage that runs makes every later stage run.

Safe because every input of a stage is in its key: the raw files by their bytes, the referentials, catalogue,
scenarios, notebooks and package code by their bytes, the installed libraries by their versions, the
``ELECTIO_*`` settings by their values, the as-of date (today by default: a run on another day recomputes).
A skipped stage keeps the figures of the run that computed it (the random forest's figures depend on the
warehouse's row order, see docs/replays.md). ``electio run --tout-recalculer`` ignores the record.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from electio import config
from electio.atomic import staged_file
from electio.catalogue import catalogue
from electio.fetch import locate, sha256_of

CODE_DIRS = ("src/electio", "sources", "referentials", "scenarios", "notebooks")
"""Folders of the project whose every file is an input of some stage (code, catalogue, referentials…)."""
RECORD_VERSION = "1"


def _tree_digest(digest: "hashlib._Hash", root: Path) -> None:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(sha256_of(path).encode())


def code_hash() -> str:
    """sha256 of the project's code and referentials (:data:`CODE_DIRS`), the installed libraries' versions and the
    ``ELECTIO_*`` settings other than the home."""
    digest = hashlib.sha256(RECORD_VERSION.encode())
    for name in CODE_DIRS:
        if (config.PROJECT_DIR / name).is_dir():
            _tree_digest(digest, config.PROJECT_DIR / name)
    digest.update(json.dumps(sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())).encode())
    digest.update(json.dumps(sorted((k, v) for k, v in os.environ.items() if k.startswith("ELECTIO_") and k != "ELECTIO_HOME")).encode())
    return digest.hexdigest()


def sources_hash() -> str:
    """sha256 over every catalogue source: the real sha256 of its file on disk, or ``absent``."""
    digest = hashlib.sha256()
    for source_id, source in sorted(catalogue().items()):
        path = locate(source)
        digest.update(f"{source_id}={sha256_of(path) if path else 'absent'};".encode())
    return digest.hexdigest()


def key_of(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()


def outputs_state(warehouse: Path) -> str:
    """Hash of (path, size, mtime) of the warehouse and of every file under ``output/`` and ``data/models``."""
    digest = hashlib.sha256()
    roots = [config.output_dir(), config.home() / "data" / "models"]
    files = [warehouse] + [p for root in roots if root.is_dir() for p in sorted(root.rglob("*")) if p.is_file()]
    for path in files:
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def etl_run_id(warehouse: Path) -> str | None:
    """The ``etl_run.run_id`` of the warehouse (None when absent or unreadable)."""
    import duckdb

    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute("SELECT run_id FROM etl_run").fetchall()
    except (duckdb.Error, OSError):
        return None
    return rows[0][0] if len(rows) == 1 else None


@dataclass
class RunRecord:
    """What the last ``electio run`` on a warehouse did: the ETL's key and run, the later stages' keys and notes."""

    warehouse: Path
    etl_key: str = ""
    etl_run: str = ""
    stages: list[dict] = field(default_factory=list)  # {"name", "key", "notes"}
    state: str = ""

    @staticmethod
    def path_for(warehouse: Path) -> Path:
        name = hashlib.sha256(str(warehouse.resolve()).encode()).hexdigest()[:16]
        return config.home() / "data" / "cache" / "run" / f"{name}.json"

    @classmethod
    def load(cls, warehouse: Path) -> RunRecord:
        """The stored record (an empty one when absent or unreadable)."""
        try:
            stored = json.loads(cls.path_for(warehouse).read_text(encoding="utf-8"))
            return cls(warehouse, stored["etl_key"], stored["etl_run"], list(stored["stages"]), stored["state"])
        except (OSError, ValueError, KeyError, TypeError):
            return cls(warehouse)

    def save(self) -> None:
        """Write the record (atomically), with the current state of the stages' outputs."""
        self.state = outputs_state(self.warehouse)
        path = self.path_for(self.warehouse)
        path.parent.mkdir(parents=True, exist_ok=True)
        with staged_file(path) as staging:
            Path(staging).write_text(json.dumps({"etl_key": self.etl_key, "etl_run": self.etl_run, "stages": self.stages,
                                                 "state": self.state}, indent=1), encoding="utf-8")


class StagePlan:
    """Decides, stage by stage, whether ``electio run`` may skip it, and records what ran."""

    def __init__(self, warehouse: Path, etl_key: str, force: bool = False) -> None:
        self.record = RunRecord.load(warehouse)
        self.warehouse, self.etl_key = warehouse, etl_key
        unchanged = not force and self.record.state == outputs_state(warehouse)
        self.skip_etl = (not force and self.record.etl_key == etl_key and bool(self.record.etl_run)
                         and etl_run_id(warehouse) == self.record.etl_run)
        self._previous = {s["name"]: s for s in self.record.stages} if self.skip_etl and unchanged else {}
        self._chain = self.skip_etl

    def etl_done(self) -> None:
        """The ETL ran (or was skipped): the record names the warehouse's ETL run; later stages are recorded anew."""
        self.record = RunRecord(self.warehouse, self.etl_key, etl_run_id(self.warehouse) or "", [])
        self.record.save()

    def skipped_notes(self, name: str, key: str) -> list[str] | None:
        """The notes of the recorded stage when it may be skipped (every earlier stage skipped, same key), else None."""
        previous = self._previous.get(name)
        self._chain = self._chain and previous is not None and previous["key"] == key
        return list(previous.get("notes", [])) if self._chain and previous is not None else None

    def done(self, name: str, key: str, notes: list[str]) -> None:
        """Record a stage run (or skipped) with its key and notes."""
        self.record.stages.append({"name": name, "key": key, "notes": notes})
        self.record.save()
