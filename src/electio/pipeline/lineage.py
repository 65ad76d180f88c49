"""Lineage of an ETL run: inputs with their checksums, rows per step, code version."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from electio import __version__
from electio.config import PROJECT_DIR
from electio.fetch import Located


def now() -> datetime:
    """Current UTC time without tzinfo (stored as TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def code_version() -> str:
    """Package version plus the git commit of the code (``+dirty`` when uncommitted changes exist)."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(PROJECT_DIR), *args], capture_output=True, text=True, check=False)
        except OSError:  # no git on this machine (code from an archive): the package version alone
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return __version__
    dirty = "+dirty" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{__version__} ({commit}{dirty})"


@dataclass
class Lineage:
    """Collects what an ETL run read and wrote, then renders the lineage tables."""

    territoire: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=now)
    inputs: dict[str, Located] = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)

    def record_input(self, located: Located) -> Path:
        """Remember a verified input; return its path."""
        self.inputs[located.source.id] = located
        return located.path

    def record_step(self, etape: str, source_id: str | None, read: int, written: int, rejected: int, started: datetime) -> None:
        """Remember one step's row counts."""
        self.steps.append(
            {"run_id": self.run_id, "etape": etape, "source_id": source_id, "lignes_lues": read,
             "lignes_ecrites": written, "lignes_rejetees": rejected, "started_at": started, "finished_at": now()}
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """``etl_run``, ``etl_input`` and ``etl_step`` rows (the run is marked successful when written)."""
        run = pd.DataFrame([{
            "run_id": self.run_id, "started_at": self.started_at, "finished_at": now(),
            "code_version": code_version(), "territoire": self.territoire, "statut": "succes",
        }])
        inputs = pd.DataFrame([{
            "run_id": self.run_id, "source_id": sid, "chemin": str(loc.path), "origine": loc.origin,
            "sha256": loc.sha256, "octets": loc.path.stat().st_size, "licence": loc.source.licence,
            "url": loc.source.url or loc.source.provenance_url,
        } for sid, loc in self.inputs.items()])
        return {"etl_run": run, "etl_input": inputs, "etl_step": pd.DataFrame(self.steps)}
