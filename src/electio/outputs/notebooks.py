"""Executed copies of the project's notebooks (nbclient), on the report's warehouse."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from electio import config

NOTEBOOKS_DIR = config.PROJECT_DIR / "notebooks"


@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook: its copy, run time and error (None when it ran to the end)."""

    name: str
    path: Path
    seconds: float
    error: str | None = None


def inject_warehouse(notebook: Any, warehouse: Path) -> None:
    """Insert, after the cell tagged ``parameters``, a cell setting ``WAREHOUSE`` (papermill's convention)."""
    import nbformat

    index = next((i for i, cell in enumerate(notebook.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])), -1)
    cell = nbformat.v4.new_code_cell(f"from pathlib import Path\nWAREHOUSE = Path({str(warehouse)!r})", metadata={"tags": ["injected-parameters"]})
    notebook.cells.insert(index + 1, cell)


def execute_notebooks(warehouse: Path, target: Path, sources: Path = NOTEBOOKS_DIR, timeout: int = 300) -> list[NotebookRun]:
    """Execute every notebook of ``sources`` on ``warehouse`` into ``target`` (the sources are left untouched)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    target.mkdir(parents=True, exist_ok=True)
    runs = []
    for source in sorted(sources.glob("*.ipynb")):
        notebook = nbformat.read(source, as_version=4)
        inject_warehouse(notebook, warehouse)
        start, error = time.perf_counter(), None
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(config.home())}})
        try:
            client.execute(stderr=subprocess.DEVNULL)  # the kernel's own start-up warnings
        except CellExecutionError as exc:
            lines = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
            error = lines[-1] if lines else type(exc).__name__
        out = target / source.name
        nbformat.write(notebook, out)
        runs.append(NotebookRun(source.stem, out, time.perf_counter() - start, error))
    return runs
