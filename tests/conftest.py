"""Shared fixtures: the public mirror (real data) and a throw-away project home."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from electio import config


def require_mirror() -> Path:
    """The mirror of raw files; fails under CI when missing, skips elsewhere."""
    mirror = config.mirror_dir()
    if mirror is None or not mirror.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("miroir des données brutes introuvable (../shared/data/raw ou ELECTIO_MIRROR) : requis en CI")
        pytest.skip("miroir des données brutes absent")
    return mirror


@pytest.fixture(scope="session")
def mirror() -> Path:
    return require_mirror()


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ELECTIO_HOME so tests never touch the project's own warehouse."""
    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def rhone_etl(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Rhône warehouse as ``electio etl`` builds it, once per test session. Read it only:
    a test that writes into a warehouse takes ``rhone_copy``."""
    from electio.pipeline.etl import Territory, run_etl

    return run_etl(Territory("69"), tmp_path_factory.mktemp("rhone_etl") / "electio.duckdb").warehouse


@pytest.fixture()
def rhone_copy(rhone_etl: Path, tmp_path: Path) -> Path:
    """A private copy of the session's Rhône warehouse, free to modify."""
    target = tmp_path / "electio.duckdb"
    shutil.copy(rhone_etl, target)
    return target


_GEOGRAPHY: dict[str, tuple[dict, object]] = {}


def _shared_geography(build):
    """``reference_geography`` computed once per territory and test session (the bad-input tests damage ballots or
    indicators, never the COG files); each call gets its own copies of the frames."""
    def geography(lineage, territory):  # noqa: ANN001, ANN202
        if territory.code not in _GEOGRAPHY:
            _GEOGRAPHY[territory.code] = build(lineage, territory)
        dims, mapping = _GEOGRAPHY[territory.code]
        return {name: frame.copy() for name, frame in dims.items()}, mapping.copy()
    return geography


@pytest.fixture()
def narrow_etl(monkeypatch: pytest.MonkeyPatch):
    """Restrict ``run_etl`` to the sources a bad-input test damages, so that it stops at their parser at once instead of
    building every other ballot and indicator first (the full builds are the ``rhone_etl`` and France fixtures).

    The COG geography is built once per session. ``narrow(ballots=("euro2014_t1",))`` keeps those rows of the ballots referential (commune results and totals) and
    skips the indicators; ``narrow(indicator_ids=("source_id",))`` keeps those indicator sources and no ballot."""
    from electio.pipeline import etl, indicators

    def narrow(ballots: tuple[str, ...] = (), indicator_ids: tuple[str, ...] | None = None) -> None:
        every, totals, sources = etl.load_scrutins, etl.load_total_sources(), indicators.indicator_sources
        monkeypatch.setattr(etl, "reference_geography", _shared_geography(etl.reference_geography))
        monkeypatch.setattr(etl, "load_scrutins", lambda *_a, covers=None: every(covers=covers).loc[lambda f: f["scrutin_id"].isin(ballots)]
                            .reset_index(drop=True))
        monkeypatch.setattr(etl, "load_total_sources", lambda *_a: totals[totals["scrutin_id"].isin(ballots)].reset_index(drop=True))
        if indicator_ids is None:
            monkeypatch.setattr(etl, "build_indicators", lambda *_a, **_k: {})
        else:
            monkeypatch.setattr(indicators, "indicator_sources", lambda: [s for s in sources() if s.id in indicator_ids])

    return narrow
