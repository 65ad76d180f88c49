"""Screenshot of the dashboard's overview for the defence deck (optional: needs Chromium and Playwright).

    ELECTIO_HOME=… .venv/bin/python scripts/capture_dashboard.py [--port 8765]

Starts ``electio serve`` on the home's warehouse, opens the overview at 1366 × 768 in headless Chromium
and writes ``output/captures/tableau_de_bord.png``; ``electio report`` then puts it on the dashboard slide
(without it, the slide describes the layout in words).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from electio import config
from electio.outputs.report import DASHBOARD_CAPTURE


def wait_for(url: str, seconds: int = 180) -> None:
    """Return once ``url`` answers (the server loads the warehouse first)."""
    for _ in range(seconds):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"Le tableau de bord ne répond pas sur {url}.")


def main() -> None:
    parser = argparse.ArgumentParser(description="Capture d'écran du tableau de bord pour la présentation.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium introuvable (apt-get install chromium) : la diapositive décrira le tableau de bord sans capture.")
    from playwright.sync_api import sync_playwright

    target = config.output_dir() / DASHBOARD_CAPTURE
    target.parent.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen([sys.executable, "-m", "electio.cli", "serve", "--port", str(args.port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{args.port}/"
        wait_for(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url, wait_until="networkidle", timeout=120_000)
            page.wait_for_timeout(8000)  # the maps finish drawing (the warehouse is read, then the maps are drawn)
            page.screenshot(path=str(target))
            browser.close()
    finally:
        server.terminate()
        server.wait()
    print(f"Capture écrite : {target}")


if __name__ == "__main__":
    main()
