"""Process-level safety: interruption signals, the project-home lock and a test pause point.

- :func:`install_signal_handlers` turns SIGINT and SIGTERM into :class:`~electio.errors.Interrupted`
  raised where the program stands, so that staging files are removed on the way out.
- :func:`lock_home` takes an exclusive ``flock`` on ``<home>/.electio.lock`` while a command
  writes: a second writer stops at once with a French message naming the command that holds
  it. The kernel releases the lock when the process ends, however it ends.
- :func:`pause_point` lets a test stop a command at a named point (``ELECTIO_PAUSE_AT``), write
  a marker file (``ELECTIO_PAUSE_MARKER``) and wait for a signal: no timing guesses in tests.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO

from electio.errors import HomeBusy, Interrupted

LOCK_NAME = ".electio.lock"
PAUSE_ENV = "ELECTIO_PAUSE_AT"
MARKER_ENV = "ELECTIO_PAUSE_MARKER"
PAUSE_LIMIT_S = 300.0

_received: list[str] = []
_held: dict[Path, IO[str]] = {}


def interrupted() -> str | None:
    """Name of the first interruption signal this process received, if any."""
    return _received[0] if _received else None


def _on_signal(number: int, _frame: FrameType | None) -> None:
    name = signal.Signals(number).name
    _received.append(name)
    raise Interrupted(name)


def install_signal_handlers() -> None:
    """Raise :class:`Interrupted` on SIGINT and SIGTERM (main thread only)."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _on_signal)


def lock_home(home: Path, command: str) -> None:
    """Hold the home's write lock until the process ends; raise HomeBusy if another process holds it.

    Re-entrant within a process (``electio run`` runs every stage under one lock).
    """
    home = home.resolve()
    if home in _held:
        return
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_NAME
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        holder = handle.read().strip() or "une autre commande electio"
        handle.close()
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise
        raise HomeBusy(f"le dossier {home} est en cours d'écriture par {holder}. "
                       "Attendez la fin de cette commande puis relancez la vôtre.") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"« electio {command} » (processus {os.getpid()}, depuis {datetime.now():%H:%M:%S})")
    handle.flush()
    _held[home] = handle


def unlock_home(home: Path) -> None:
    """Release the home's lock taken by this process (the lock file stays: removing it would race)."""
    handle = _held.pop(home.resolve(), None)
    if handle is not None:
        handle.close()


def pause_point(name: str) -> None:
    """If ``ELECTIO_PAUSE_AT`` names this point: write the marker file, then wait for a signal."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + PAUSE_LIMIT_S
    while time.monotonic() < deadline:
        time.sleep(0.02)
