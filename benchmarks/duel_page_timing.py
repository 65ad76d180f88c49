"""Time the dashboard's « Seconds tours 2027 » page: how long the maps take to update when the user changes hypothesis or duel.

    python benchmarks/duel_page_timing.py [--entrepot PATH] [--paires N]

Builds the app on a warehouse (after ``electio forecast``), opens the page once (layout: the stored duel tables are
read then), then posts the page's map callback to the app's Flask server, as the browser does, for N distinct
(hypothesis, duel) pairs — each pair once, so that no response is replayed from the app's response cache — and prints
the time of each request (server side: query filter, figures, JSON serialisation; the browser's drawing is not
counted). Goal (issue 16): under one second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from electio import config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entrepot", type=Path, default=None)
    parser.add_argument("--paires", type=int, default=20)
    args = parser.parse_args()
    path = (args.entrepot or config.warehouse_path()).resolve()

    from electio.dashboard import app as dashboard
    from electio.dashboard import responses
    from electio.dashboard.pages import duels

    app = dashboard.create_app(path, engine=False)
    start = time.perf_counter()
    duels.layout(path)
    duels.forecasts(path)
    print(f"page ouverte (mise en page, lecture des tables des duels) : {time.perf_counter() - start:.3f} s")
    output = next(key for key in app.callback_map if "duels-carte-vainqueur.figure" in key)
    client = app.server.test_client()
    pairs = [(h, d) for h in duels.hypotheses(path)["hypothese_id"] for d in duels.duels(path)["duel_id"]][: args.paires]
    times = []
    for hypothesis, duel in pairs:
        body = responses.callback_request(output, {"duels-hypothese.value": hypothesis, "duels-duel.value": duel})
        start = time.perf_counter()
        reply = client.post(responses.UPDATE_PATH, json=body)
        times.append(time.perf_counter() - start)
        assert reply.status_code == 200, reply.data[:300]
        print(f"{hypothesis[:48]:48s} {duel:22s} {times[-1]:.3f} s ({len(reply.data) / 1e3:.0f} ko)")
    print(f"{len(times)} changements d'hypothèse ou de duel : médiane {statistics.median(times):.3f} s, maximum {max(times):.3f} s "
          f"(objectif : moins d'une seconde)")


if __name__ == "__main__":
    main()
