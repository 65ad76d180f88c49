"""``electio serve`` in a subprocess for the dashboard benchmarks (dashboard_burst.py, dashboard_timing.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Server:
    """A running dashboard: its base URL and the seconds from launch until its home page answered."""

    url: str
    startup_s: float


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(warehouse: Path, timeout_s: float = 300.0) -> Iterator[Server]:
    """Start ``electio serve`` on ``warehouse`` and a free port, wait until ``/`` answers 200, stop it on exit."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "electio.cli", "serve", "--port", str(port), "--entrepot", str(warehouse)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"« electio serve » s'est arrêté (code {process.returncode})")
            if time.perf_counter() - start > timeout_s:
                raise RuntimeError(f"« electio serve » ne répond pas après {timeout_s:.0f} s")
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield Server(url, time.perf_counter() - start)
    finally:
        process.terminate()
        process.wait(timeout=60)
