"""Time the model stage (training + forward-chaining backtests) on the Rhône and on France.

Each measurement runs ``electio.models.evaluate.run_evaluation`` (all backtests, metrics,
importance, final fit; no warehouse write) in a fresh interpreter, so the peak memory is its
own. Usage:

    python benchmarks/model_timing.py [--entrepot data/warehouse/electio.duckdb] [--france /tmp/fr.duckdb]

With ``--france`` (a warehouse built by ``electio etl --france``), two more runs: the France
warehouse alone (européennes 2019 on every French commune) and the Rhône with the
France-trained européennes 2019 (what ``electio evaluate --entrepot-france`` does).
Results are printed as a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from electio.models.evaluate import run_evaluation
warehouse, france, fast = Path(sys.argv[1]), (Path(sys.argv[2]) if sys.argv[2] else None), sys.argv[3] == "1"
t0 = time.perf_counter()
result = run_evaluation(warehouse, france, fast=fast, write=False)
wall = time.perf_counter() - t0
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": round(wall, 1), "peak_mib": round(peak_mib, 1), "retenu": result.chosen,
                  "etapes_s": {k: round(v, 1) for k, v in result.timings.items()}}))
"""


def measure(label: str, warehouse: Path, france: Path | None, fast: bool) -> dict:
    """One run in a fresh interpreter, with a throw-away ELECTIO_HOME for the saved model."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ELECTIO_HOME": home}
        done = subprocess.run([sys.executable, "-c", CHILD, str(warehouse), str(france or ""), "1" if fast else "0"],
                              capture_output=True, text=True, check=True, env=env)
    return {"cas": label, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entrepot", type=Path, default=Path("data/warehouse/electio.duckdb"))
    parser.add_argument("--france", type=Path, default=None)
    parser.add_argument("--rapide", action="store_true", help="réglages légers (peu d'arbres)")
    args = parser.parse_args()
    cases = [("69", args.entrepot, None)]
    if args.france:
        cases += [("FR", args.france, None), ("69 + FR (européennes 2019)", args.entrepot, args.france)]
    results = [measure(label, warehouse, france, args.rapide) for label, warehouse, france in cases]
    print(f"{'cas':<28} {'secondes':>9} {'pic Mio':>9}  retenu")
    for r in results:
        print(f"{r['cas']:<28} {r['wall_s']:>9} {r['peak_mib']:>9}  {r['retenu']}")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
