"""Locations: project home, warehouse file, raw-data mirror."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent
SOURCES_DIR = PROJECT_DIR / "sources"
REFERENTIALS_DIR = PROJECT_DIR / "referentials"
DEFAULT_DEPARTEMENT = "69"
REFERENCE_COG = 2026


def home() -> Path:
    """Project home: ``ELECTIO_HOME`` or the project folder."""
    return Path(os.environ.get("ELECTIO_HOME", PROJECT_DIR)).resolve()


def warehouse_path() -> Path:
    """Default DuckDB warehouse file."""
    return home() / "data" / "warehouse" / "electio.duckdb"


def cache_dir() -> Path:
    """Where files downloaded from their original URL are kept."""
    return home() / "data" / "raw"


def output_dir() -> Path:
    """Where figures, reports and exports are written."""
    return home() / "output"


def mirror_dir() -> Path | None:
    """Local mirror of the raw files: ``ELECTIO_MIRROR`` or ``../shared/data/raw``."""
    env = os.environ.get("ELECTIO_MIRROR")
    if env:
        return Path(env).resolve()
    default = PROJECT_DIR.parent / "shared" / "data" / "raw"
    return default if default.is_dir() else None
