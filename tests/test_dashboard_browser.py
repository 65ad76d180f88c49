"""End-to-end tests of ``electio serve`` in headless Chromium (Debian's binary driven by Playwright's Python client).

The server runs as a subprocess on a free local port against the warehouse built by
test_dashboard.py's session fixture. Each test opens a page, acts like a user (horizon, commune
search, scenario slider), and compares the displayed sentences and tables with values queried
here from DuckDB. Screenshots go to output/dashboard_screenshots/ (laptop and projector sizes).
No browser is downloaded: under CI=true a missing Chromium or Playwright fails these tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from electio import config
from electio.analysis.figures import fr_number
from electio.dashboard.charts import percent
from electio.dashboard.pages.commune import number
from test_dashboard import TERRITORY, sql, warehouse  # noqa: F401  (warehouse: session fixture)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = config.PROJECT_DIR / "output" / "dashboard_screenshots"
LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1920, "height": 1080}
VILLEURBANNE = "69266"
READY = "() => { const keys = [...document.querySelectorAll('.cle')]; return (keys.length > 0 && keys.every(e => e.textContent.trim())) || document.querySelector('.avis') !== null; }"


def chromium_path() -> str:
    """Debian's Chromium; fails under CI when it (or Playwright's client) is missing, skips elsewhere."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        found = None
    if found is None:
        message = "Chromium (apt-get install chromium) ou le client Playwright (pip install -e '.[test]') introuvable"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " : requis en CI")
        pytest.skip(message)
    return found


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 300.0) -> None:
    """Poll the server until it answers (fail if it exits or stays silent): it listens once the overview's maps are computed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"le serveur s'est arrêté : {process.stdout.read() if process.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail("le serveur du tableau de bord ne répond pas")


@pytest.fixture(scope="module")
def server(warehouse: Path) -> Iterator[str]:  # noqa: F811
    """``electio serve`` on a free port, stopped at the end of the module."""
    port = free_port()
    env = {**os.environ, "ELECTIO_HOME": str(warehouse.parents[2])}
    command = [sys.executable, "-m", "electio.cli", "serve", "--port", str(port), "--entrepot", str(warehouse)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: object, server: str) -> Iterator[object]:
    """A laptop-sized tab; fails if the page asks anything from outside the local server."""
    context = browser.new_context(viewport=LAPTOP, locale="fr-FR")
    tab = context.new_page()
    outside: list[str] = []
    tab.on("request", lambda request: outside.append(request.url) if not request.url.startswith((server, "data:", "blob:")) else None)
    yield tab
    context.close()
    assert not outside, f"requêtes hors du serveur local : {outside[:3]}"


def open_page(tab: object, url: str) -> float:
    """Go to a page and wait until every key sentence is filled; seconds taken."""
    start = time.perf_counter()
    tab.goto(url)
    tab.wait_for_function(READY, timeout=30_000)
    return time.perf_counter() - start


def text(tab: object, element_id: str) -> str:
    """Visible text of an element (narrow no-break spaces kept, as rendered)."""
    return tab.locator(f"#{element_id}").inner_text()


def wait_text(tab: object, element_id: str, expected: str, timeout: float = 30_000) -> str:
    """Wait until an element's text contains ``expected``; return the text (fail with the text shown when it never does)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        tab.wait_for_function("([id, want]) => (document.getElementById(id)?.textContent || '').includes(want)", arg=[element_id, expected],
                              timeout=timeout)
    except PlaywrightTimeout:
        pytest.fail(f"#{element_id} n'affiche pas « {expected} » après {timeout / 1000:.0f} s : « {text(tab, element_id)} »")
    return text(tab, element_id)


def screenshots(tab: object, name: str) -> None:
    """Full-page screenshots at laptop and projector sizes."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1366x768", LAPTOP), ("1920x1080", PROJECTOR)):
        tab.set_viewport_size(size)
        tab.wait_for_timeout(400)
        tab.screenshot(path=str(SCREENSHOTS / f"{name}_{label}.png"), full_page=True)
    tab.set_viewport_size(LAPTOP)


def pick(tab: object, dropdown_id: str, option: str, typed: str = "") -> None:
    """Choose an option of a Dash dropdown, typing the first letters in its search box when given."""
    tab.click(f"#{dropdown_id}")
    if typed:
        tab.locator("input.dash-dropdown-search:visible").fill(typed)
    tab.get_by_role("option", name=option, exact=True).click()


def set_slider(tab: object, code: str, value: float) -> None:
    """Type a value in a scenario slider's box and confirm it."""
    box = tab.locator(f"[data-code='{code}'] input[type=number]")
    box.fill(str(value))
    box.press("Tab")  # the box commits its value when it loses the focus


def territory_rows(path: Path, scenario: str, target: str) -> dict[str, tuple[float, float, float, float]]:
    """bloc → (moyenne, q10, q90, p_tete) of the territory in fact_prevision, for one target ballot."""
    rows = sql(path, "SELECT bloc, moyenne, q10, q90, p_tete FROM fact_prevision WHERE scenario = ? AND scrutin_cible = ? AND code_commune = ?",
               [scenario, target, TERRITORY])
    return {r.bloc: (r.moyenne, r.q10, r.q90, r.p_tete) for r in rows.itertuples()}


def first_target_id(path: Path) -> str:
    """The first forecast target (by date), which the pages show by default."""
    return sql(path, "SELECT scrutin_cible FROM dim_scrutin_cible WHERE prevu ORDER BY date_scrutin, scrutin_cible LIMIT 1")["scrutin_cible"].iloc[0]


def labels(path: Path) -> dict[str, str]:
    """French label of each bloc."""
    return dict(sql(path, "SELECT code_bloc, libelle FROM dim_bloc").itertuples(index=False))


def test_territory_page_shows_the_stored_forecasts(page: object, server: str, warehouse: Path) -> None:  # noqa: F811
    open_page(page, server + "/")
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert float(page.evaluate("getComputedStyle(document.body).fontSize").removesuffix("px")) >= 16
    names = labels(warehouse)
    stored = sql(warehouse, "SELECT scrutin_cible, libelle FROM dim_scrutin_cible WHERE prevu ORDER BY date_scrutin, scrutin_cible")
    first, last = stored.iloc[0], stored.iloc[-1]
    for target, radio in ((first["scrutin_cible"], None), (last["scrutin_cible"], last["libelle"])):
        if radio:
            page.locator("#territoire-horizon label", has_text=radio).click()
        rows = {b: v for b, v in territory_rows(warehouse, "tendance", target).items() if b != "abstention"}
        first = max(rows, key=lambda b: rows[b][0])
        mean, low, high, _ = rows[first]
        wait_text(page, "territoire-barres-texte", f"{names[first]} en tête avec {percent(mean)} des exprimés (intervalle à 80 % : "
                                                   f"de {percent(low)} à {percent(high)})")
        likely = max(rows, key=lambda b: rows[b][3])
        assert f"{percent(rows[likely][3], 0)}" in text(page, "territoire-probabilites-texte")
        counts = sql(warehouse, "SELECT bloc, count(*) AS n FROM (SELECT code_commune, arg_max(bloc, moyenne) AS bloc FROM fact_prevision "
                                "WHERE scenario = 'tendance' AND scrutin_cible = ? AND bloc <> 'abstention' AND code_commune <> ? GROUP BY 1) "
                                "GROUP BY 1 ORDER BY n DESC", [target, TERRITORY])
        top = counts.iloc[0]
        assert f"{names[top['bloc']]} dans {top['n']} communes" in text(page, "territoire-carte-tete-texte")
        assert page.locator("#legende-tete li").count() == len(counts)
    screenshots(page, "1_vue_ensemble")


def test_commune_page_after_a_search(page: object, server: str, warehouse: Path) -> None:  # noqa: F811
    open_page(page, server + "/commune")  # the most populous unit by default (Villeurbanne since Lyon is its arrondissements)…
    wait_text(page, "commune-indicateurs-texte", "médiane du territoire")  # …its indicators shown on load
    open_page(page, server + "/commune?code=69386")
    wait_text(page, "commune-indicateurs-texte", "Lyon 6e")
    pick(page, "commune-choix", f"Villeurbanne ({VILLEURBANNE})", "Villeurb")
    sentence = wait_text(page, "commune-eventail-texte", "Villeurbanne")
    bloc = sql(warehouse, "SELECT code_bloc FROM dim_bloc ORDER BY ordre LIMIT 1")["code_bloc"].iloc[0]
    latest = sql(warehouse, "SELECT scrutin_id FROM dim_scrutin WHERE tour = 1 AND type_scrutin IN ('presidentielle', 'europeennes', 'legislatives') "
                            "AND scrutin_id IN (SELECT scrutin_id FROM fact_participation) ORDER BY date_scrutin DESC LIMIT 1")["scrutin_id"].iloc[0]
    last = sql(warehouse, "SELECT part FROM v_resultat_bloc_commune WHERE scrutin_id = ? AND code_commune = ? AND bloc = ?",
               [latest, VILLEURBANNE, bloc])["part"].iloc[0]
    first = first_target_id(warehouse)
    forecast = sql(warehouse, "SELECT moyenne, q10, q90 FROM fact_prevision WHERE scenario = 'tendance' AND scrutin_cible = ? AND code_commune = ? "
                              "AND bloc = ?", [first, VILLEURBANNE, bloc]).iloc[0]
    assert f"{percent(last)} au dernier scrutin" in sentence
    assert f"{percent(forecast['moyenne'])} (intervalle à 80 % : de {percent(forecast['q10'])} à {percent(forecast['q90'])})" in sentence  # the mean, as the table
    centre = sql(warehouse, "SELECT moyenne FROM fact_prevision WHERE scenario = 'tendance' AND scrutin_cible = ? AND code_commune = ? "
                            "AND bloc = 'centre'", [first, VILLEURBANNE])["moyenne"].iloc[0]
    assert percent(centre) in page.locator("#commune-tableau-previsions tr", has_text="Centre").inner_text()
    poverty = sql(warehouse, """
        WITH v AS (SELECT i.code_unite AS code_commune, i.annee, arg_min(i.valeur, i.source) AS valeur FROM v_indicateur_unite i
                   JOIN v_unite_analyse u ON u.code_commune = i.code_unite
                   WHERE i.indicateur = 'taux_pauvrete' AND i.valeur IS NOT NULL GROUP BY ALL),
             y AS (SELECT max(annee) AS annee FROM v WHERE code_commune = ?)
        SELECT (SELECT valeur FROM v, y WHERE v.code_commune = ? AND v.annee = y.annee) AS valeur, MEDIAN(valeur) AS mediane
        FROM v, y WHERE v.annee = y.annee""", [VILLEURBANNE, VILLEURBANNE]).iloc[0]
    row = page.locator("#commune-tableau-indicateurs tr", has_text="Taux de pauvreté")
    assert row.locator("[data-col=valeur]").inner_text() == number(poverty["valeur"])
    assert row.locator("[data-col=mediane]").inner_text() == number(poverty["mediane"])
    assert "une hausse est défavorable" in row.inner_text()
    top = sql(warehouse, "SELECT importance FROM model_importance WHERE modele = 'retenu' AND bloc = ? ORDER BY rang LIMIT 1", [bloc])
    assert fr_number(top["importance"].iloc[0], 2) in text(page, "commune-facteurs-texte")
    screenshots(page, "2_commune")


def test_scenario_slider_updates_maps_and_probabilities(page: object, server: str, warehouse: Path) -> None:  # noqa: F811
    open_page(page, server + "/scenarios")
    assert "tendance" in wait_text(page, "scenario-methode", "tendance")
    pick(page, "scenario-bloc", "Extrême droite")
    first_target = first_target_id(warehouse)
    trend = territory_rows(warehouse, "tendance", first_target)["extreme_droite"][0]
    wait_text(page, "scenario-carte-bloc-texte", f"{percent(trend)} des exprimés dans l'ensemble du territoire")
    stored = sql(warehouse, "SELECT scenario FROM dim_scenario WHERE parametres LIKE '%\"swing_points\": {\"extreme_droite\": 5.0}%'")
    if len(stored):
        name = stored["scenario"].iloc[0]
        set_slider(page, "extreme_droite", 5)
        wait_text(page, "scenario-methode", name)
        rows = territory_rows(warehouse, name, first_target)
        wait_text(page, "scenario-carte-bloc-texte", f"{percent(rows['extreme_droite'][0])} des exprimés")
        first = max((b for b in rows if b != "abstention"), key=lambda b: rows[b][0])
        wait_text(page, "scenario-barres-texte", f"{percent(rows[first][0])} des exprimés")
    set_slider(page, "extreme_droite", 3)
    # every output of the slider's callback is awaited, not read at once: the page may show them a frame apart
    assert "Extrême droite +3,0\u202fpts" in wait_text(page, "scenario-resume", "Extrême droite +3,0", timeout=60_000)
    wait_text(page, "scenario-methode", "Calcul à la volée")
    wait_text(page, "scenario-carte-bloc-texte", f"{percent(trend + 0.03)} des exprimés dans l'ensemble du territoire")
    assert "Probabilité que" in wait_text(page, "scenario-probabilites-texte", "Probabilité que")
    screenshots(page, "3_scenarios")


def test_accuracy_page_matches_the_backtests(page: object, server: str, warehouse: Path) -> None:  # noqa: F811
    open_page(page, server + "/precision")
    values = sql(warehouse, """
        SELECT modele, conditionnel, valeur FROM model_evaluation
        WHERE scrutin_test = 'pres2022_t1' AND territoire = ? AND bloc = 'moyenne' AND metrique = 'mae'
          AND horizon_ans = (SELECT min(horizon_ans) FROM model_evaluation WHERE scrutin_test = 'pres2022_t1' AND territoire = ?)""",
                 [TERRITORY, TERRITORY]).set_index(["modele", "conditionnel"])["valeur"]
    retained = page.locator("#precision-tableau tr.fort")
    assert retained.locator("[data-col=mae_cond]").inner_text() == fr_number(values[("retenu", True)], 2)
    assert retained.locator("[data-col=mae_non_cond]").inner_text() == fr_number(values[("retenu", False)], 2)
    swing = page.locator("#precision-tableau tr", has_text="swing uniforme")
    assert swing.locator("[data-col=mae_cond]").inner_text() == fr_number(values[("swing_uniforme", True)], 2)
    brier = sql(warehouse, "SELECT brier FROM forecast_calibration WHERE source = 'simulation' AND NOT conditionnel LIMIT 1")["brier"].iloc[0]
    assert fr_number(brier, 3) in text(page, "precision-fiabilite-texte")
    assert "Erreur moyenne (MAE), en points" in page.inner_text("#section-explication")
    screenshots(page, "4_precision")


def test_data_page_lists_sources_coverage_and_the_last_run(page: object, server: str, warehouse: Path) -> None:  # noqa: F811
    open_page(page, server + "/donnees")
    inputs = sql(warehouse, "SELECT source_id, sha256 FROM etl_input ORDER BY source_id")
    assert page.locator("#donnees-sources tbody tr").count() == len(inputs)
    assert page.locator(f"#donnees-sources [title='sha256 : {inputs['sha256'].iloc[0]}']").count() == 1  # the fingerprint on hover
    assert page.locator("#donnees-couverture-scrutins tbody tr").count() == len(sql(warehouse, "SELECT * FROM couverture_scrutin"))
    gaps = sql(warehouse, "SELECT DISTINCT d.libelle FROM couverture_indicateur c JOIN dim_indicateur d USING (indicateur) WHERE c.statut = 'lacune'")
    for label in gaps["libelle"]:
        assert label in text(page, "donnees-couverture-indicateurs-texte")
    checks = len(sql(warehouse, "SELECT * FROM dq_check"))
    assert f"{checks} contrôles qualité" in text(page, "donnees-execution-texte")
    screenshots(page, "5_donnees")
