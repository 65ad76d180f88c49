"""Time ``electio run`` on the Rhône (ETL → report, replays included): cold, then warm (replays cached).

Both runs use the same fresh ``ELECTIO_HOME`` (a temporary folder, or ``--home``): the first one
starts empty (no warehouse, no replay cache), the second one finds the first one's results: ``electio
run`` skips the stages whose inputs did not change (docs/speed.md) and reuses the cached replays. The
machine load (``uptime``) is printed before and after each run, with the CPU seconds of the run (less
sensitive to the load than the wall time): the wall times are only comparable at equal load.
Goal (issue 14, Speed): under 3 minutes on 2 cores. Usage:

    python benchmarks/run_time.py [--departement 69] [--home /tmp/bench-home] [--warm-only]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 180


def load() -> str:
    """The ``uptime`` load averages (1, 5, 15 min)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip().split("load average:")[-1].strip()


def stage_seconds(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Wall seconds of each stage, from the time-stamped output lines (a stage starts at its « Étape n/N » rule)."""
    starts = [(t, re.sub(r"^.*Étape (\d+)/\d+ : (.*?) ─*$", r"\1 \2", line)) for t, line in lines if "Étape " in line and "─" in line]
    ends = [t for t, _ in starts[1:]] + [lines[-1][0] if lines else 0.0]
    return {name: round(end - start, 1) for (start, name), end in zip(starts, ends, strict=True)}


def timed_run(home: Path, departement: str, name: str) -> dict:
    """One ``electio run`` in a fresh interpreter; wall seconds, exit code, load before/after, cached replays after,
    CPU seconds (user + system, the run and its children: less sensitive to the machine's load than the wall time),
    seconds per stage. The whole output is kept in ``<home>/benchmark_<name>.log``."""
    env = {**os.environ, "ELECTIO_HOME": str(home), "COLUMNS": "120", "PYTHONUNBUFFERED": "1"}  # unbuffered: lines time-stamped as printed
    before = load()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen([sys.executable, "-m", "electio.cli", "run", "--departement", departement], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env) as process:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append((time.perf_counter() - t0, line.rstrip("\n")))
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    home.mkdir(parents=True, exist_ok=True)
    (home / f"benchmark_{name}.log").write_text("\n".join(f"{t:8.1f} {line}" for t, line in lines) + "\n", encoding="utf-8")
    cache = home / "data" / "cache" / "replays"
    return {"secondes": round(wall, 1), "cpu_secondes": round(cpu, 1), "code_retour": process.returncode, "charge_avant": before, "charge_apres": load(),
            "rejeux_en_cache": len(list(cache.glob("*.parquet"))) if cache.is_dir() else 0, "etapes": stage_seconds(lines),
            "fin_sortie": [line for _, line in lines[-3:]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departement", default="69")
    parser.add_argument("--home", type=Path, default=None, help="ELECTIO_HOME à utiliser (défaut : dossier temporaire)")
    parser.add_argument("--warm-only", action="store_true", help="une seule mesure, sur un ELECTIO_HOME dont le cache est déjà rempli")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch)
        runs = {}
        for name in (("chaud",) if args.warm_only else ("froid", "chaud")):
            run = runs[name] = timed_run(home, args.departement, name)
            status = "objectif atteint" if run["secondes"] < GOAL_SECONDS and run["code_retour"] == 0 else "objectif MANQUÉ"
            print(f"{name:<6} {run['secondes']:>8} s, CPU {run['cpu_secondes']} s  ({status} : < {GOAL_SECONDS} s) charge {run['charge_avant']} → {run['charge_apres']}, "
                  f"{run['rejeux_en_cache']} rejeux en cache", flush=True)
    print(json.dumps(runs, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
