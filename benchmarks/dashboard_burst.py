"""A burst of local dashboard users: N clients × M requests on the overview's map callback, p50 / p95 latency.

    python benchmarks/dashboard_burst.py [--entrepot PATH] [--clients 20] [--requetes 10]

Starts ``electio serve`` in a subprocess (``serving.py``), waits until the home page answers (the
server computes the overview's maps before it listens: the start-up time is printed), then runs
the burst twice: at once, and after every (horizon, bloc) view was requested once. Each client requests the views in its own order, so that all 4 horizons
× 7 blocs are asked for. Goal (issue 19): p95 under 2 s with 20 clients × 10 requests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import urllib.request
from pathlib import Path

from serving import serving

from electio import config


def post(url: str, body: dict) -> float:
    """Seconds for one callback request (the response is read whole)."""
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"réponse {response.status}")
    return time.perf_counter() - start


def burst(url: str, bodies: list[dict], clients: int, requests: int) -> list[float]:
    """Latencies of ``clients`` threads sending ``requests`` callback requests each, all started together."""
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(number: int) -> None:
        start.wait()
        for j in range(requests):
            try:
                seconds = post(url, bodies[(number * requests + j) % len(bodies)])
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
                continue
            with lock:
                latencies.append(seconds)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"{len(errors)} erreur(s), ex. {errors[0]!r}")
    return latencies


def summary(label: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return f"| {label} | {len(ordered)} | {statistics.median(ordered):.3f} | {p95:.3f} | {ordered[-1]:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entrepot", type=Path, default=config.warehouse_path())
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requetes", type=int, default=10)
    options = parser.parse_args()
    path = options.entrepot.resolve()

    from electio.dashboard.app import create_app, overview_requests

    bodies = overview_requests(create_app(path, engine=False), path)  # the bodies the browser sends (from the app's callbacks)
    with serving(path) as server:
        url = server.url + "/_dash-update-component"
        print(f"Entrepôt : {path} ; {len(bodies)} vues (échéance × bloc) ; {options.clients} clients × {options.requetes} requêtes ; "
              f"page d'accueil servie {server.startup_s:.1f} s après le lancement de « electio serve »\n")
        print("| rafale | requêtes | p50 (s) | p95 (s) | max (s) |\n|---|---:|---:|---:|---:|")
        print(summary("dès que la page d'accueil répond", burst(url, bodies, options.clients, options.requetes)), flush=True)
        for body in bodies:
            post(url, body)
        print(summary("après une première demande de chaque vue", burst(url, bodies, options.clients, options.requetes)))


if __name__ == "__main__":
    main()
