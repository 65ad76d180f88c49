"""Atomic writes of files and folders: build beside the target, then rename it into place.

A staging name carries the writing process's id (``.{name}.{pid}.building``), so that a later
run can sweep what a killed process left (:func:`remove_stale`) without touching the work of a
live one. Nothing here imports a pipeline stage: every stage may use it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STAGING = "building"
PREVIOUS = "previous"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (owned by anyone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def staging_name(target: Path, kind: str = STAGING) -> Path:
    """The hidden sibling of ``target`` this process builds in (or moves the old version to)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{kind}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale(target: Path) -> list[Path]:
    """Delete the staging files and folders of ``target`` left by processes that are gone; return them."""
    removed = []
    for path in target.parent.glob(f".{target.name}.*"):
        pid = path.name.removeprefix(f".{target.name}.").split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            _remove(path)
            removed.append(path)
    return removed


@contextmanager
def staged_file(target: Path) -> Iterator[Path]:
    """Yield a staging path beside ``target``; on success it replaces ``target`` (one rename), else it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    staging = staging_name(target)
    staging.unlink(missing_ok=True)
    try:
        yield staging
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield a fresh staging folder; on success it replaces ``target`` whole, else it is removed.

    The swap is two renames (old folder aside, new folder in) followed by the removal of the old
    one; an interruption between them leaves the previous folder under a staging name, which
    the next run of the stage sweeps.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    staging, previous = staging_name(target), staging_name(target, PREVIOUS)
    for path in (staging, previous):
        _remove(path)
    staging.mkdir()
    try:
        yield staging
        if target.exists():
            target.rename(previous)
        staging.rename(target)
    except BaseException:
        _remove(staging)
        if previous.exists() and not target.exists():
            previous.rename(target)
        raise
    _remove(previous)
