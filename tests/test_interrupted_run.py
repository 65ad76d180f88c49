"""Reliability under interruption and malformed layouts: the warehouse is never half-written."""

from __future__ import annotations

import gzip
import signal
from pathlib import Path

import pytest

from electio.errors import InputError
from electio.fetch import sha256_of
from electio.parse import aktiur
from electio.warehouse.store import remove_stale_staging, write_tables
from test_faults import finish, paused, write_warehouse_command
from test_warehouse_store import tiny_tables


def test_killed_build_leaves_previous_warehouse(tmp_path: Path) -> None:
    """SIGKILL the warehouse writer while it fills its working file: the previous file is intact and the next build sweeps
    the leftovers. The writer stops at its write (``ELECTIO_PAUSE_AT=warehouse-write``, see tests/test_faults.py) instead of
    being polled against a fixed deadline, which a loaded machine could miss."""
    target = tmp_path / "electio.duckdb"
    write_tables(target, tiny_tables())
    before = sha256_of(target)
    finish(paused(write_warehouse_command(target), tmp_path / "home", "warehouse-write", tmp_path), signal.SIGKILL)
    assert sha256_of(target) == before
    leftovers = list(tmp_path.glob(".electio.duckdb.*.building*"))
    assert leftovers  # the killed process could not clean up…
    assert sorted(remove_stale_staging(target)) == sorted(leftovers)  # …the next build does
    assert not list(tmp_path.glob(".electio.duckdb.*.building*"))


def _write_gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def test_wrong_separator_names_the_missing_columns(tmp_path: Path) -> None:
    path = _write_gz(tmp_path / "x.csv.gz", "departement;commune;commune_libelle;inscrits;votants;blancs;exprimes;MACRON\n01;001;A;10;8;1;7;7\n")
    with pytest.raises(InputError, match=r"x\.csv\.gz.*(colonne|inscrits)"):
        aktiur.parse_wide(path, "pres2017_t2")


def test_extra_column_becomes_a_candidate_that_the_blocs_referential_rejects(tmp_path: Path) -> None:
    """An unexpected column in a wide file is read as a candidate, so it cannot pass silently."""
    from electio.harmonise import blocs

    path = _write_gz(tmp_path / "x.csv.gz", "departement,commune,commune_libelle,inscrits,votants,blancs,exprimes,MACRON,LE PEN,COLONNE_EN_TROP\n"
                                           "01,001,A,10,8,1,7,4,3,0\n")
    parsed = aktiur.parse_wide(path, "pres2017_t2")
    assert "COLONNE_EN_TROP" in set(parsed.voix["candidat"])
    candidates = parsed.voix[["candidat", "prenom", "nuance"]].drop_duplicates().assign(scrutin_id="pres2017_t2")
    with pytest.raises(InputError, match="COLONNE_EN_TROP"):
        blocs.assign_blocs(candidates, blocs.load_assignments(), str(path))
