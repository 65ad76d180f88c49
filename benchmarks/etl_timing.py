"""Time the ETL (wall time, peak memory) for the Rhône and for France, next to a bare parse.

The bare parse reads the same raw files as the ETL with their readers only — the geography
referentials (Etalab JSON, COGugaison RData), the election files (commune files and the
totals-only département files), the opinion polls and the indicator files — with
no mapping, no contracts and no warehouse, so the ratio shows the ETL's own overhead.
Usage: python benchmarks/etl_timing.py [--france]   (results printed as a table and JSON)
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, arg, out = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
if mode == "etl":
    from electio.pipeline.etl import Territory, run_etl
    run_etl(Territory(None if arg == "FR" else arg), Path(out))
else:
    from electio.catalogue import get_source
    from electio.fetch import fetch
    from electio.harmonise import geography
    from electio.harmonise.geography import GEO_SOURCES
    from electio.pipeline.etl import Territory, call_parser, load_scrutins, load_total_sources
    from electio.pipeline.indicators import indicator_sources, parse_indicator
    from electio.pipeline.polls import companions_of, parse_source, poll_sources
    territory = Territory(None if arg == "FR" else arg)
    geo = {key: fetch(get_source(sid)).path for key, sid in GEO_SOURCES.items()}
    for key in ("communes", "communes_2024"):
        geography.read_communes_json(geo[key])
    geography.load_departements(geo["departements"])
    geography.load_regions(geo["regions"])
    geography.read_cog_history(geo["passage"], geo["cog_history"])
    for row in load_scrutins().itertuples():
        if territory.covers(row.couverture):
            source = get_source(row.source_id)
            call_parser(source, fetch(source).path, row.scrutin_id)
    for row in load_total_sources().itertuples():
        source = get_source(row.source_id)
        call_parser(source, fetch(source).path, row.scrutin_id)
    for source in poll_sources():
        parse_source(source, fetch(source).path, {c.filename: fetch(c).path for c in companions_of(source)})
    for source in indicator_sources():
        parse_indicator(source, fetch(source).path)
wall = time.perf_counter() - t0
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"mode": mode, "territoire": arg, "wall_s": round(wall, 2), "peak_mib": round(peak_mib, 1)}))
"""


def measure(mode: str, territory: str) -> dict:
    """Run one measurement in a fresh interpreter so peak memory is its own."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", CHILD, mode, territory, str(Path(tmp) / "w.duckdb")],
                              capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    territories = ["69", "FR"] if "--france" in sys.argv else ["69"]
    results = [measure(mode, t) for t in territories for mode in ("parse", "etl")]
    print(f"{'territoire':<10} {'mode':<6} {'secondes':>9} {'pic Mio':>9}")
    for r in results:
        print(f"{r['territoire']:<10} {r['mode']:<6} {r['wall_s']:>9} {r['peak_mib']:>9}")
    for t in territories:
        parse, etl = (next(r for r in results if r["territoire"] == t and r["mode"] == m) for m in ("parse", "etl"))
        print(f"{t} : ETL / analyse seule = {etl['wall_s'] / parse['wall_s']:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
