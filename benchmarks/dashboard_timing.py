"""Time the dashboard on a warehouse: start-up, server-side page work, and (optionally) pages in Chromium.

    python benchmarks/dashboard_timing.py [--entrepot PATH] [--navigateur]

Server side: each page's layout and the work of its callbacks (figures serialised to JSON, as Dash
sends them), first call (cold) and second call (cached). Browser: ``electio serve`` in a subprocess,
time from a click on a page's link until its key sentence is displayed (after a first full load), and after a scenario slider move.
Goal: every page under one second on the Rhône warehouse.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import plotly.io as pio
from serving import serving

from electio import config

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PAGES = (("lien-commune", "commune-eventail-texte"), ("lien-scenarios", "scenario-resume"), ("lien-precision", "precision-texte"),
         ("lien-donnees", "donnees-execution-texte"), ("lien-territoire", "territoire-barres-texte"))
READY = "() => [...document.querySelectorAll('.cle')].every(e => e.textContent.trim()) && document.querySelectorAll('.cle').length > 0"


def timed(work: Callable[[], object]) -> float:
    """Seconds taken by ``work`` (its figures serialised like a Dash response)."""
    start = time.perf_counter()
    result = work()
    for item in result if isinstance(result, tuple) else (result,):
        if hasattr(item, "to_plotly_json"):
            pio.to_json(item) if hasattr(item, "layout") else item.to_plotly_json()
    return time.perf_counter() - start


def server_side(path: Path) -> list[tuple[str, float, float]]:
    """(step, cold seconds, cached seconds) of every page's layout and callbacks."""
    from electio.dashboard import data, simulation, views
    from electio.dashboard.pages import commune, donnees, precision, scenarios, territoire

    key = data.targets(path)["key"].iloc[0]
    code = commune.default_commune(path)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("vue d'ensemble : mise en page", lambda: territoire.layout(path)),
        ("vue d'ensemble : cartes et barres", lambda: tuple(vars(views.forecast_view(path, data.forecast_slice(path, key), "centre", "x")).values())),
        ("commune : mise en page", lambda: commune.layout(path)),
        ("commune : éventail", lambda: commune.past_points(path, code, "centre").merge(commune.future_points(path, code, "centre"), how="cross")),
        ("commune : tableaux", lambda: (commune.forecast_table(path, code, key), *commune.indicator_section(path, code))),
        ("commune : facteurs", lambda: commune.drivers_view(path, "retenu", "centre")),
        ("scénarios : mise en page", lambda: scenarios.layout(path)),
        ("scénarios : scénario enregistré", lambda: simulation.simulate(path, key, (), ())),
        ("scénarios : curseur déplacé (+2 pts)", lambda: simulation.simulate(path, key, (("droite", 2.0),), ())),
        ("précision : page", lambda: precision.layout(path)),
        ("données : page", lambda: donnees.layout(path)),
    ]
    return [(name, timed(work), timed(work)) for name, work in steps]


def browser_side(path: Path) -> list[tuple[str, float]]:
    """Seconds until each page's key sentences are shown in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with serving(path) as server:
        url = server.url
        time.sleep(8)  # let the scenario engine finish preparing in the background
        out = []
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
            tab = browser.new_page(viewport={"width": 1366, "height": 768})
            start = time.perf_counter()
            tab.goto(url + "/")
            tab.wait_for_function(READY, timeout=60_000)
            out.append(("premier chargement de / (scripts de Dash et plotly compris)", time.perf_counter() - start))
            for link, sentence in PAGES:
                start = time.perf_counter()
                tab.click(f"#{link}")
                tab.wait_for_function(f"() => (document.getElementById('{sentence}')?.textContent || '').trim().length > 0", timeout=60_000)
                out.append((f"clic sur « {tab.inner_text('#' + link)} » → phrase clé affichée", time.perf_counter() - start))
            tab.click("#lien-scenarios")
            tab.wait_for_function("() => (document.getElementById('scenario-resume')?.textContent || '').trim().length > 0", timeout=60_000)
            box = tab.locator("[data-code='droite'] input[type=number]")
            start = time.perf_counter()
            box.fill("2.5")
            box.press("Tab")  # the box commits its value when it loses the focus
            tab.wait_for_function("() => document.getElementById('scenario-resume').textContent.includes('+2,5')", timeout=60_000)
            out.append(("curseur de scénario → cartes à jour", time.perf_counter() - start))
            browser.close()
        return out


def main() -> None:
    """Print the timings as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entrepot", type=Path, default=config.warehouse_path())
    parser.add_argument("--navigateur", action="store_true", help="mesurer aussi dans Chromium (Debian)")
    options = parser.parse_args()
    path = options.entrepot.resolve()
    from electio.dashboard import simulation
    from electio.dashboard.app import create_app

    start = time.perf_counter()
    create_app(path)
    startup = time.perf_counter() - start
    start = time.perf_counter()
    simulation.warm(path)
    engine = time.perf_counter() - start
    print(f"Entrepôt : {path}\n\nDémarrage (requêtes mises en cache) : {startup:.2f} s ; moteur de scénarios (en arrière-plan) : {engine:.2f} s\n")
    print("| étape (serveur) | 1er appel (s) | en cache (s) |\n|---|---:|---:|")
    for name, cold, warm in server_side(path):
        print(f"| {name} | {cold:.3f} | {warm:.3f} |")
    if options.navigateur and shutil.which("chromium"):
        print("\n| page (Chromium, 1366×768) | secondes |\n|---|---:|")
        for name, seconds in browser_side(path):
            print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
