"""Time the dashboard's « Seconds tours 2027 » page: how long the maps take to update when the user changes hypothesis or duel.

    python benchmarks/duel_page_timing.py [--entrepot PATH] [--paires N] [--navigateur]

Builds the app on a warehouse (after ``electio forecast``), opens the page once (layout: the stored duel tables are
read then), then posts the page's map callback to the app's Flask server, as the browser does, for N distinct
(hypothesis, duel) pairs — each pair once, so that no response is replayed from the app's response cache — and prints
the time of each request (server side: query filter, figures, JSON serialisation). With ``--navigateur``: ``electio
serve`` in a subprocess and headless Chromium at 1366×768, time from the choice of another duel (or hypothesis) in the
dropdown until the page's answer sentence has changed and both maps are drawn again (the browser's drawing included).
Goal (issue 16): under one second.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

from electio import config


MAPS_DRAWN = ("() => ['duels-carte-vainqueur', 'duels-carte-proba'].every(id => "
              "document.querySelectorAll('#' + id + ' .choroplethlayer path').length > 200)")


def browser_side(path: Path, changes: int = 6) -> list[tuple[str, float]]:
    """Seconds from a dropdown choice until the answer sentence changed and both maps are drawn, in headless Chromium."""
    from playwright.sync_api import sync_playwright
    from serving import serving

    from electio.dashboard.pages import duels

    out = []
    with serving(path) as server, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1366, "height": 768})
        tab.goto(server.url + "/duels")
        tab.wait_for_function("() => (document.getElementById('duels-reponse')?.textContent || '').trim().length > 0", timeout=60_000)
        tab.wait_for_function(MAPS_DRAWN, timeout=60_000)
        labels = [(control, label) for control, frame, column in (("duels-duel", duels.duels(path), "libelle"),
                                                                  ("duels-hypothese", duels.hypotheses(path), "libelle"))
                  for label in frame[column].iloc[1: changes + 1]]
        for control, label in labels:
            before = tab.inner_text("#duels-reponse")
            tab.click(f"#{control}")
            option = tab.get_by_role("option").filter(has_text=label).first
            start = time.perf_counter()
            option.click()
            tab.wait_for_function(f"() => document.getElementById('duels-reponse').textContent !== {before!r}", timeout=30_000)
            tab.wait_for_function(MAPS_DRAWN, timeout=30_000)
            out.append((f"{'duel' if control == 'duels-duel' else 'hypothèse'} → {label[:60]}", time.perf_counter() - start))
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entrepot", type=Path, default=None)
    parser.add_argument("--paires", type=int, default=20)
    parser.add_argument("--navigateur", action="store_true", help="mesurer aussi dans Chromium (cartes redessinées comprises)")
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
    if args.navigateur and shutil.which("chromium"):
        seconds = browser_side(path)
        for name, value in seconds:
            print(f"navigateur : {name} : {value:.2f} s")
        values = [v for _, v in seconds]
        print(f"navigateur, {len(values)} changements : médiane {statistics.median(values):.2f} s, maximum {max(values):.2f} s")


if __name__ == "__main__":
    main()
