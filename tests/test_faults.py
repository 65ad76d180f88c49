"""Faults, interruptions and concurrent use (issue 19): nothing lost, nothing leaked, a French message every time.

Signals are sent at points the test controls: a command started with ``ELECTIO_PAUSE_AT=<point>``
writes the marker file ``ELECTIO_PAUSE_MARKER`` when it reaches that point and waits there
(``electio.guard.pause_point``); the test waits for the marker, then signals. No fixed sleeps.
"""

from __future__ import annotations

import errno
import functools
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio import atomic, guard
from electio.errors import ChecksumError, ElectioError, InputError, Interrupted, ModelFileError, PortBusy
from electio.failures import INTERRUPTED_CODE, explain
from electio.fetch import sha256_of
from electio.warehouse import postgres
from electio.warehouse.store import connect, file_identity, replace_stage_tables, wal_of, write_tables
from test_dashboard import warehouse  # noqa: F401  (session fixture: the Rhône home with evaluation and forecasts)
from test_warehouse_store import tiny_tables

SRC = Path(__file__).resolve().parents[1] / "src"
FIXTURES = Path(__file__).parent / "fixtures" / "indicators"
WAIT_S = 900.0  # a Rhône ETL takes 20 s alone, minutes on a loaded machine


# ─── Helpers ─────────────────────────────────────────────────────────────────────────────

def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "ELECTIO_HOME": str(home), "COLUMNS": "200", "PYTHONPATH": str(SRC)}
    env.pop(guard.PAUSE_ENV, None)
    return {**env, **extra}


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(marker: Path, child: subprocess.Popen) -> None:
    """Wait until the child reaches its pause point (or fail with its output if it ended first)."""
    deadline = time.monotonic() + WAIT_S
    while not marker.is_file():
        if child.poll() is not None:
            pytest.fail(f"le processus s'est terminé avant le point d'arrêt :\n{child.stdout.read()}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail("point d'arrêt jamais atteint")
        time.sleep(0.02)


def paused(args: list[str], home: Path, point: str, tmp_path: Path, **extra: str) -> subprocess.Popen:
    """A child process stopped at ``point``."""
    marker = tmp_path / f"pause-{point}"
    marker.unlink(missing_ok=True)
    child = start(args, child_env(home, **{guard.PAUSE_ENV: point, guard.MARKER_ENV: str(marker)}, **extra))
    wait_for(marker, child)
    return child


def finish(child: subprocess.Popen, sig: int | None = None) -> tuple[int, str]:
    if sig is not None:
        child.send_signal(sig)
    out, _ = child.communicate(timeout=WAIT_S)
    return child.returncode, out


def electio(*args: str) -> list[str]:
    return [sys.executable, "-m", "electio.cli", *args]


def snippet(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def assert_french_failure(output: str) -> None:
    assert "Erreur :" in output and "Traceback" not in output, output


# ─── 1. A stale WAL never bricks the warehouse ──────────────────────────────────────────

def leave_wal(target: Path) -> None:
    """Write into ``target`` from a process that dies without a checkpoint (as SIGTERM did): a WAL stays."""
    code = f"""
        import os, duckdb
        con = duckdb.connect({str(target)!r})
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("SET checkpoint_threshold = '10GB'")
        con.execute("CREATE TABLE fact_prevision_orpheline AS SELECT range AS x FROM range(1000)")
        os._exit(0)
    """
    subprocess.run(snippet(code), check=True)
    assert wal_of(target).is_file()


def test_a_stale_wal_is_removed_when_the_etl_swaps_the_warehouse(tmp_path: Path) -> None:
    """Failure 1: an ETL after an interrupted writer replaced only the main file; every later command failed."""
    target = tmp_path / "electio.duckdb"
    write_tables(target, tiny_tables())
    leave_wal(target)
    write_tables(target, tiny_tables())  # what « electio etl » does
    assert not wal_of(target).exists()
    with connect(target) as con:
        assert con.execute("SELECT count(*) FROM dim_commune").fetchone()[0] == 2
        assert "fact_prevision_orpheline" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}


def test_a_stage_write_is_checkpointed(tmp_path: Path) -> None:
    """A later stage's transaction leaves no WAL beside the file (nothing for a swap to orphan)."""
    target = tmp_path / "electio.duckdb"
    write_tables(target, tiny_tables())
    card = pd.DataFrame({"territoire": ["69"], "ordre": [1], "section": ["modele"], "cle": ["nom"], "valeur": ["x"]})
    assert replace_stage_tables(target, "models.sql", {"model_card": card}, {}) == {"model_card": 1}
    assert not wal_of(target).exists()


def test_a_broken_wal_gets_a_french_message_with_the_fix(tmp_path: Path) -> None:
    """Before the fix, `WAL does not match database file` came as a traceback; now it says to rebuild."""
    target = tmp_path / "electio.duckdb"
    write_tables(target, tiny_tables())
    leave_wal(target)
    stale = wal_of(target).read_bytes()
    write_tables(target, tiny_tables())
    wal_of(target).write_bytes(stale)  # the state the old swap produced
    with pytest.raises(duckdb.Error) as error:
        connect(target)
    failure = explain(error.value)
    assert failure is not None and "electio etl" in failure.advice and "abîmé" in failure.message


# ─── 2. Passwords are never printed ──────────────────────────────────────────────────────

URLS = [
    ("postgresql:/bob:s3cret@127.0.0.1:1/db", "s3cret"),
    ("postgresql://bob:p@ss-w0rd@127.0.0.1:1/db", "p@ss-w0rd"),
    ("postgresql://bob:s3 cr3t@127.0.0.1:1/db", "s3 cr3t"),
    ("postgresql://bob:s3%ZZcret@127.0.0.1:1/db", "s3%ZZcret"),
    ("postgresql://bob:s3cr%40t@127.0.0.1:1/db", "s3cr%40t"),
]


def secret_pieces(password: str) -> set[str]:
    """The password as written and decoded, and its parts of 2 characters or more (what libpq may quote)."""
    return {password, postgres.unquote(password), *(p for p in password.replace("@", " ").split() if len(p) >= 2)}


@pytest.mark.parametrize(("url", "password"), URLS)
def test_load_never_prints_the_password(url: str, password: str, tmp_path: Path) -> None:
    """Failure 2: single slash (printed twice), « @ » or a space in the password, invalid « % » escape."""
    target = tmp_path / "electio.duckdb"
    write_tables(target, tiny_tables())
    done = subprocess.run(electio("load", "--target", url, "--entrepot", str(target)), env=child_env(tmp_path / "home"),
                          capture_output=True, text=True, timeout=WAIT_S)
    shown = done.stdout + done.stderr
    assert done.returncode == 1 and "Erreur :" in shown and "Traceback" not in shown, shown
    for piece in secret_pieces(password):
        assert piece not in shown, (piece, shown)


@pytest.mark.parametrize(("url", "password"), URLS)
def test_redact_masks_every_form_of_the_password(url: str, password: str) -> None:
    libpq_host = "ss-w0rd@127.0.0.1"  # how libpq reads « p@ss-w0rd »: the end of the password becomes the host
    text = postgres.redact(f"échec vers {url} ; hôte « {libpq_host} » ; {postgres.unquote(password)}", url)
    for piece in secret_pieces(password):
        assert piece not in text, (piece, text)


# ─── 3. The saved model: written atomically, checked before loading ──────────────────────

def test_sigterm_while_a_file_is_staged_keeps_the_previous_one(tmp_path: Path) -> None:
    """Failure 3: SIGTERM during `joblib.dump` left a 0-byte model; a staged file keeps the old one whole."""
    model = tmp_path / "data" / "models" / "retenu_69.joblib"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"ancien modele")
    code = f"""
        from pathlib import Path
        from electio import atomic, guard
        from electio.cli import app
        guard.install_signal_handlers()
        with atomic.staged_file(Path({str(model)!r})) as staging:
            staging.write_bytes(b"moitie")
            guard.pause_point("dump")
    """
    child = paused(snippet(code), tmp_path, "dump", tmp_path)
    code, out = finish(child, signal.SIGTERM)
    assert code != 0 and "Interrupted" in out
    assert model.read_bytes() == b"ancien modele"
    assert sorted(p.name for p in model.parent.iterdir()) == ["retenu_69.joblib"]


def test_the_model_is_loaded_only_with_the_recorded_hash(tmp_path: Path) -> None:
    """Failure 3 (pickle risk) and 9 (a truncated model gave only « Interrompu. »)."""
    import joblib

    from electio.forecasts.stage import load_model

    path = tmp_path / "retenu_69.joblib"
    joblib.dump({"modele": "retenu"}, path)
    assert load_model(path, sha256_of(path)) == {"modele": "retenu"}
    with pytest.raises(ModelFileError, match="empreinte du modèle"):
        load_model(path, None)
    recorded = sha256_of(path)
    path.write_bytes(path.read_bytes()[:10])  # truncated
    with pytest.raises(ModelFileError, match="tronqué, modifié ou venu d'ailleurs.*electio evaluate"):
        load_model(path, recorded)
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="n'est pas celui"):
        load_model(path, recorded)
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="illisible"):
        load_model(path, sha256_of(path))  # even a matching hash cannot make an empty file a model


# ─── 4. Plausibility ranges ──────────────────────────────────────────────────────────────

@pytest.mark.parametrize("written", ["22,490", "22.490"])
def test_a_thousands_separator_read_as_a_decimal_fails_with_file_and_line(written: str, tmp_path: Path) -> None:
    """Failure 4: « 22.490 » or « 22,490 » (22 490 €) was read as 22.49 €."""
    from electio.parse import insee_filosofi
    from electio.quality.contracts import check_plausibility

    source = (FIXTURES / "FILO2019_DISP_COM.csv").read_bytes().decode("utf-8")
    path = tmp_path / "FILO2019_DISP_COM.csv"
    path.write_bytes(source.replace(";22490;", f";{written};", 1).encode("utf-8"))
    frame = insee_filosofi.parse_disp(path)
    with pytest.raises(InputError, match=r"ligne 2 : revenu_median = 22,49 hors de la plage plausible \[5 000 ; 100 000\]") as error:
        check_plausibility(frame, path)
    assert str(path) in str(error.value)
    check_plausibility(insee_filosofi.parse_disp(FIXTURES / "FILO2019_DISP_COM.csv"), path)  # the true file passes


def test_plausibility_referential_is_well_formed() -> None:
    from electio.pipeline.indicators import load_dim_indicateur
    from electio.quality.contracts import load_plausibility

    ranges = load_plausibility()
    assert set(ranges["indicateur"]) <= set(load_dim_indicateur()["indicateur"])
    median = ranges.set_index("indicateur").loc["revenu_median"]
    assert (median["minimum"], median["maximum"]) == (5000, 100000)


# ─── 5. The download fallback, end to end on loopback ───────────────────────────────────

@pytest.fixture()
def catalogue_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A local HTTP server on 127.0.0.1 serving one catalogue file."""
    served = tmp_path / "serveur"
    served.mkdir()
    payload = (Path(__file__).parent / "fixtures" / "indicators" / "FILO2019_DISP_COM.csv").read_bytes()
    (served / "FILO2019_DISP_COM.csv").write_bytes(payload)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/FILO2019_DISP_COM.csv", payload
    finally:
        server.shutdown()
        server.server_close()


def test_download_fallback_over_loopback(catalogue_server: tuple[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failure 5: an unreadable mirror file (symlink loop) fell back to pooch with a tqdm progress bar, which is not installed."""
    import dataclasses
    import hashlib

    from electio import fetch
    from electio.catalogue import load_catalogue
    from electio.config import SOURCES_DIR

    url, payload = catalogue_server
    mirror = tmp_path / "miroir"
    loop = mirror / "indicators" / "test" / "FILO2019_DISP_COM.csv"
    loop.parent.mkdir(parents=True)
    loop.symlink_to(loop)  # a symlink loop: unreadable, reported as missing
    monkeypatch.setenv("ELECTIO_MIRROR", str(mirror))
    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path / "home"))
    base = next(iter(load_catalogue(SOURCES_DIR).values()))
    source = dataclasses.replace(base, id="test", mirror_path="indicators/test/FILO2019_DISP_COM.csv", download="http", url=url,
                                 sha256=hashlib.sha256(payload).hexdigest(), served_sha256=None)
    located = fetch.fetch(source)
    assert located.origin == "cache" and located.path.read_bytes() == payload
    assert located.path == tmp_path / "home" / "data" / "raw" / "indicators" / "test" / "FILO2019_DISP_COM.csv"
    located.path.unlink()
    with pytest.raises(ChecksumError, match="empreinte du catalogue"):
        fetch.fetch(dataclasses.replace(source, sha256="0" * 64))
    with pytest.raises(InputError, match="téléchargement impossible"):
        fetch.fetch(dataclasses.replace(source, url=url.replace("FILO2019", "ABSENT")))


# ─── 6. One writer per home; a reader notices a replaced warehouse ──────────────────────

HOLD_LOCK = """
    from pathlib import Path
    from electio import guard
    guard.lock_home(Path({home!r}), "etl")
    guard.pause_point("verrou")
"""


@pytest.mark.parametrize("command", [["forecast"], ["etl", "--departement", "69"], ["report", "--sans-notebooks"]])
def test_a_second_writer_stops_naming_the_command_holding_the_home(command: list[str], tmp_path: Path) -> None:
    """Failure 6: a forecast started during an ETL wrote into the new file; two ETLs: the last won silently."""
    home = tmp_path / "home"
    holder = paused(snippet(HOLD_LOCK.format(home=str(home))), home, "verrou", tmp_path)
    try:
        done = subprocess.run(electio(*command), env=child_env(home), capture_output=True, text=True, timeout=WAIT_S)
    finally:
        finish(holder, signal.SIGTERM)
    assert done.returncode == 1
    assert_french_failure(done.stdout)
    assert "« electio etl »" in done.stdout and f"processus {holder.pid}" in done.stdout
    assert not (home / "data").exists()  # nothing written


def test_the_lock_is_released_at_the_end_of_a_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    guard.lock_home(home, "explore")
    child = subprocess.run(snippet(HOLD_LOCK.format(home=str(home)).replace('guard.pause_point("verrou")', "")), env=child_env(home),
                           capture_output=True, text=True)
    assert child.returncode == 1 and "HomeBusy" in child.stderr and "« electio explore »" in child.stderr
    guard.unlock_home(home)
    assert subprocess.run(snippet(HOLD_LOCK.format(home=str(home))), env=child_env(home)).returncode == 0


def test_a_stage_refuses_to_write_into_a_warehouse_rebuilt_under_it(tmp_path: Path) -> None:
    """The forecast reads the file, an ETL swaps a new one in, the forecast must not write into the new one."""
    target = tmp_path / "electio.duckdb"
    write_tables(target, tiny_tables())
    read_from = file_identity(target)
    write_tables(target, tiny_tables())  # rebuilt meanwhile
    card = pd.DataFrame({"territoire": ["69"], "ordre": [1], "section": ["modele"], "cle": ["nom"], "valeur": ["x"]})
    with pytest.raises(ElectioError, match="reconstruit pendant le calcul"):
        replace_stage_tables(target, "models.sql", {"model_card": card}, {}, read_from=read_from)
    with connect(target) as con:
        assert "model_card" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}


def test_the_dashboard_reloads_a_replaced_warehouse(tmp_path: Path) -> None:
    """Failure 7: after an ETL, the dashboard kept serving the replaced warehouse's data from its cache."""
    from electio.dashboard import data
    from electio.dashboard.app import reload_if_replaced

    target = (tmp_path / "electio.duckdb").resolve()
    write_tables(target, tiny_tables())
    data.replaced(target)
    assert data.communes(target)["code_commune"].tolist() == ["69001", "69002"]
    tables = tiny_tables()
    tables["dim_commune"] = tables["dim_commune"].iloc[:1]
    tables["fact_participation"] = tables["fact_participation"].iloc[:1]
    tables["fact_resultat_commune"] = tables["fact_resultat_commune"].iloc[:2]
    write_tables(target, tables)  # « electio etl » swaps a new file in
    assert data.communes(target)["code_commune"].tolist() == ["69001", "69002"]  # still the cached answer…
    assert reload_if_replaced(target)
    assert data.communes(target)["code_commune"].tolist() == ["69001"]  # …until the next request notices the swap
    assert not reload_if_replaced(target)


def test_a_dashboard_query_waits_while_a_stage_writes(tmp_path: Path) -> None:
    """A reader sees the warehouse before or after a stage's write, never an error in between."""
    from electio.dashboard import data

    target = (tmp_path / "electio.duckdb").resolve()
    write_tables(target, tiny_tables())
    code = f"""
        import sys, duckdb
        con = duckdb.connect({str(target)!r})  # a stage holds the file open for writing
        con.execute("CREATE TABLE ecrite_par_une_etape AS SELECT 1 AS x")
        print("ouvert", flush=True)
        sys.stdin.readline()
        con.close()
    """
    writer = subprocess.Popen(snippet(code), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ouvert"
    found: list[pd.DataFrame] = []
    reader = threading.Thread(target=lambda: found.append(data.query(target, "SELECT table_name FROM information_schema.tables")))
    reader.start()
    reader.join(timeout=0.5)
    assert reader.is_alive() and not found  # waiting for the writer, not failing
    writer.stdin.write("fini\n")
    writer.stdin.flush()
    writer.wait(timeout=WAIT_S)
    reader.join(timeout=WAIT_S)
    assert "ecrite_par_une_etape" in set(found[0]["table_name"])


@pytest.mark.realdata
def test_the_dashboard_server_reloads_before_a_request(rhone_copy: Path) -> None:
    """Wired into the Flask app: a request after a swap sees the new warehouse."""
    from electio.dashboard import data
    from electio.dashboard.app import create_app

    path = rhone_copy.resolve()
    client = create_app(path).server.test_client()
    assert client.get("/").status_code == 200
    assert data.commune_name(path, "69386") == "Lyon 6e Arrondissement"
    with duckdb.connect(str(path)) as con:  # a later stage (or an ETL) changes the file
        con.execute("UPDATE dim_unite SET nom_unite = 'Lyon 6e (entrepôt remplacé)' WHERE code_unite = '69386'")
    assert data.commune_name(path, "69386") == "Lyon 6e Arrondissement"  # cached
    assert client.get("/_dash-layout").status_code == 200
    assert data.commune_name(path, "69386") == "Lyon 6e (entrepôt remplacé)"


# ─── 8. A busy port ──────────────────────────────────────────────────────────────────────

def test_serve_on_a_busy_port_says_so_in_french(tmp_path: Path) -> None:
    """Failure 8: « Dash is running on … » then a C++ abort (exit 134)."""
    from electio.dashboard.app import check_port

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PortBusy, match=f"port {port}.*--port {port + 1}"):
            check_port("127.0.0.1", port)
        done = subprocess.run(electio("serve", "--port", str(port)), env=child_env(tmp_path), capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 1
    assert_french_failure(done.stdout)
    assert "déjà utilisé" in done.stdout and "Dash is running" not in done.stdout + done.stderr


# ─── 9. French messages instead of tracebacks ───────────────────────────────────────────

WRITE_WAREHOUSE = """
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from electio import cli
    from electio.warehouse.store import write_tables
    from test_warehouse_store import tiny_tables

    @cli.app.command("essai-ecriture")
    def write() -> None:
        write_tables(Path({target!r}), tiny_tables())

    sys.argv = ["electio", "essai-ecriture"]
    cli.app()
"""


def write_warehouse_command(target: Path) -> list[str]:
    """A CLI command that only writes a small warehouse into ``target`` (the ETL's writer behind the CLI's handler)."""
    return snippet(WRITE_WAREHOUSE.format(tests=str(Path(__file__).parent), target=str(target)))


def assert_interrupted_write_kept(code: int, out: str, target: Path, before: str) -> None:
    assert code == INTERRUPTED_CODE, out
    assert "interrompue" in out and "Relancez" in out and "Traceback" not in out, out
    assert sha256_of(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["electio.duckdb"]


@pytest.mark.realdata
def test_interrupting_the_etl_write_keeps_the_previous_warehouse(mirror: Path, tmp_path: Path) -> None:
    """Failure 9: Ctrl+C during the ETL write gave `RuntimeError: Query interrupted` (the real `electio etl`, stopped at its write)."""
    home = tmp_path / "home"
    target = home / "data" / "warehouse" / "electio.duckdb"
    write_tables(target, tiny_tables())
    before = sha256_of(target)
    child = paused(electio("etl", "--departement", "69"), home, "warehouse-write", tmp_path)
    assert_interrupted_write_kept(*finish(child, signal.SIGINT), target, before)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_warehouse_write_removes_the_staging_file(sig: int, tmp_path: Path) -> None:
    """Failure 9: SIGTERM during the ETL write left the staging file (the writer the ETL uses, behind the CLI's handler)."""
    target = tmp_path / "home" / "data" / "warehouse" / "electio.duckdb"
    write_tables(target, tiny_tables())
    before = sha256_of(target)
    child = paused(write_warehouse_command(target), tmp_path / "home", "warehouse-write", tmp_path)
    assert_interrupted_write_kept(*finish(child, sig), target, before)


def test_a_read_only_home_stops_at_once(tmp_path: Path) -> None:
    """Failure 9: a read-only home gave an OSError after up to 50 s of work."""
    if os.geteuid() == 0:  # root ignores file modes: /sys refuses new folders to everyone
        home = Path("/sys/electio-test-lecture-seule")
    else:
        home = tmp_path / "lecture_seule"
        home.mkdir()
        home.chmod(0o555)
    done = subprocess.run(electio("explore"), env=child_env(home), capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 1
    assert_french_failure(done.stdout)
    assert "lecture seule ou droits insuffisants" in done.stdout and "ELECTIO_HOME" in done.stdout
    # stopped by the home lock, before any work (the warehouse is absent: its message would come later)
    assert explain(PermissionError(errno.EACCES, "Permission denied", "/x/y")).message.startswith("écriture impossible dans /x/y")


def test_an_older_warehouse_schema_says_to_rebuild(tmp_path: Path) -> None:
    """Failure 9: `Binder Error` or a Jinja `UndefinedError` with no hint to rebuild."""
    import jinja2

    target = tmp_path / "electio.duckdb"
    write_tables(target, tiny_tables())
    with duckdb.connect(str(target)) as con:
        con.execute("ALTER TABLE dim_commune DROP COLUMN type_unite")  # as written by an older version
    with connect(target) as con:
        with pytest.raises(duckdb.Error) as binder:
            con.execute("SELECT type_unite FROM dim_commune")
        with pytest.raises(duckdb.Error) as catalog:
            con.execute("SELECT * FROM model_card")
    for error in (binder.value, catalog.value):
        failure = explain(error)
        assert failure is not None and "schéma ancien" in failure.message and "electio etl" in failure.advice
    with pytest.raises(jinja2.UndefinedError) as undefined:
        jinja2.Environment(undefined=jinja2.StrictUndefined).from_string("{{ forecast.figures }}").render(forecast={})
    failure = explain(undefined.value)
    assert failure is not None and "electio run" in failure.advice


def test_a_nan_or_infinite_scenario_setting_is_refused(tmp_path: Path) -> None:
    """Failure 9: a `nan` swing ran 67 s then « Current transaction is aborted »; 400 digits were stored as Infinity."""
    from electio.forecasts import scenarios as sc

    path = tmp_path / "scenarios.toml"
    path.write_text('[hausse]\nlibelle = "Hausse"\nswing = { droite = nan }\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"scénario hausse, swing\.droite : nombre invalide"):
        sc.load_scenarios(path)
    with pytest.raises(ValueError, match="nombre invalide ou hors limites"):
        sc.parse_assignment("taux_chomage=+" + "9" * 400)
    with pytest.raises(ValueError, match="nombre invalide"):
        sc.check_scenario(sc.Scenario("x", "x", "", {"droite": float("inf")}, {}), ["droite"], [])
    done = subprocess.run(electio("forecast", "--indicateur", "taux_chomage=+" + "9" * 400), env=child_env(tmp_path / "home"),
                          capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 1 and "nombre invalide ou hors limites" in done.stdout and "Traceback" not in done.stdout, done.stdout
    done = subprocess.run(electio("forecast", "--fichier-scenarios", str(path)), env=child_env(tmp_path / "home"),
                          capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 1 and "swing.droite : nombre invalide" in done.stdout and "Traceback" not in done.stdout, done.stdout
    # the home has no warehouse: « entrepôt absent » would show if the settings were checked after reading it


def ssmsi_file(tmp_path: Path, rows: object, columns: object = None) -> Path:
    from electio.parse import ssmsi

    path = tmp_path / "delinquance_2017.json"
    columns = columns if columns is not None else ["insee", "population", *ssmsi.GROUPS]
    path.write_text(json.dumps({"year": 2017, "unit": ssmsi.UNIT, "source": "SSMSI", "columns": columns, "rows": rows}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("rows", "columns", "message"), [
    ([], None, "liste non vide"),
    ({"69001": [1]}, None, "liste non vide"),
    ([["69001", 100]], None, "ligne 1 : la ligne 1 de « rows »"),
    ([["69001"]], "insee,population", "« columns » doit être une liste"),
])
def test_a_crime_statistics_file_of_the_wrong_shape_names_the_file(rows: object, columns: object, message: str, tmp_path: Path) -> None:
    """Failure 9: empty `rows` accepted; other shapes gave a `ValueError` without the file name."""
    from electio.parse import ssmsi

    path = ssmsi_file(tmp_path, rows, columns)
    with pytest.raises(InputError, match=message) as error:
        ssmsi.parse_ssmsi(path, meta=None)
    assert str(path) in str(error.value)


# ─── 10. No leftovers ────────────────────────────────────────────────────────────────────

def test_an_interrupted_folder_build_keeps_the_previous_folder_and_leaves_nothing(tmp_path: Path) -> None:
    """Failure 10: SIGTERM during `export` left a hidden staging folder; `forecast` and `report` a mix of old and new files."""
    target = tmp_path / "output" / "exports"
    target.mkdir(parents=True)
    (target / "ancien.csv").write_text("a\n", encoding="utf-8")
    with pytest.raises(Interrupted):
        with atomic.staged_folder(target) as folder:
            (folder / "nouveau.csv").write_text("b\n", encoding="utf-8")
            raise Interrupted("SIGTERM")
    assert sorted(p.name for p in target.parent.iterdir()) == ["exports"]
    assert sorted(p.name for p in target.iterdir()) == ["ancien.csv"]
    with atomic.staged_folder(target) as folder:
        (folder / "nouveau.csv").write_text("b\n", encoding="utf-8")
    assert sorted(p.name for p in target.iterdir()) == ["nouveau.csv"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["exports"]


def test_sigterm_during_a_folder_build_cleans_up_and_a_killed_build_is_swept(tmp_path: Path) -> None:
    target = tmp_path / "output" / "exports"
    code = f"""
        from pathlib import Path
        from electio import atomic, guard
        guard.install_signal_handlers()
        with atomic.staged_folder(Path({str(target)!r})) as folder:
            (folder / "gros.parquet").write_bytes(b"x" * 100000)
            guard.pause_point("export")
    """
    child = paused(snippet(code), tmp_path, "export", tmp_path)
    finish(child, signal.SIGTERM)
    assert sorted(p.name for p in target.parent.iterdir()) == []
    child = paused(snippet(code), tmp_path, "export", tmp_path)
    finish(child, signal.SIGKILL)  # no chance to clean up…
    assert len(list(target.parent.glob(".exports.*.building"))) == 1
    with atomic.staged_folder(target):  # …the next build sweeps it
        pass
    assert sorted(p.name for p in target.parent.iterdir()) == ["exports"]


def test_the_cli_turns_a_sigterm_into_a_french_message(tmp_path: Path) -> None:
    """SIGTERM or Ctrl+C during `report` gave an `AssertionError`: the handler reports the interruption whatever comes out."""
    code = """
        import sys
        from electio import cli, guard

        @cli.app.command("essai-pause")
        def pause() -> None:
            guard.pause_point("cli")
            raise AssertionError("effet de bord de l'interruption dans une bibliothèque")

        sys.argv = ["electio", "essai-pause"]
        cli.app()
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        child = paused(snippet(code), tmp_path, "cli", tmp_path)
        returncode, out = finish(child, sig)
        assert returncode == INTERRUPTED_CODE and "commande interrompue" in out and "Traceback" not in out, out


def row_counts(path: Path, tables: tuple[str, ...]) -> dict[str, int]:
    with connect(path) as con:
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


@pytest.mark.realdata
def test_an_interrupted_forecast_keeps_the_previous_charts_and_tables(warehouse: Path, tmp_path: Path,  # noqa: F811
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Failure 10: an interrupted `forecast` kept its tables but its chart folder dropped from 29 files to 6."""
    from electio.forecasts import charts, stage

    home = tmp_path / "home"
    shutil.copytree(warehouse.parents[2], home)  # the session's Rhône home: ETL, fast evaluation, forecasts
    monkeypatch.setenv("ELECTIO_HOME", str(home))
    path = home / warehouse.relative_to(warehouse.parents[2])
    folder = stage.forecast_dir()
    (folder / "ancien_graphique.png").write_bytes(b"graphique du run precedent")
    before_files = {p.name: p.read_bytes() for p in folder.iterdir()}
    before_tables = row_counts(path, ("fact_prevision", "dim_scenario", "dim_scrutin_cible"))
    before = sha256_of(path)

    def interrupted(result, *_args, **_kwargs):  # noqa: ANN001
        (result.output / "nouveau_graphique.png").write_bytes(b"moitie")  # some charts drawn, then SIGTERM
        raise Interrupted("SIGTERM")

    monkeypatch.setattr(charts, "draw_all", interrupted)
    with pytest.raises(Interrupted):
        stage.run_forecast(path, stage.ForecastOptions(html=False, draws=200))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before_files
    assert not [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging folder left
    assert sha256_of(path) == before  # the tables were not touched
    assert row_counts(path, tuple(before_tables)) == before_tables


@pytest.mark.realdata
def test_an_interrupted_report_keeps_the_previous_report(rhone_copy: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failure 10: an interrupted `report` left new HTML/PDF/PPTX beside old notebooks."""
    from electio.outputs import report

    folder = home / "output" / report.REPORT_DIR
    (folder / "notebooks").mkdir(parents=True)
    (folder / "notebooks" / "ancien.ipynb").write_text("{}", encoding="utf-8")
    (folder / report.HTML_NAME).write_text("ancien", encoding="utf-8")

    def interrupted(*_args, **_kwargs):
        raise Interrupted("SIGTERM")

    monkeypatch.setattr(report, "write_pdf", interrupted)
    with pytest.raises(Interrupted):
        report.run_report(rhone_copy, notebooks=False, slides=False)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == [report.HTML_NAME, "notebooks", "notebooks/ancien.ipynb"]
    assert (folder / report.HTML_NAME).read_text(encoding="utf-8") == "ancien"
    assert not [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging folder left


# ─── 11. A burst of dashboard users ──────────────────────────────────────────────────────

def test_identical_callback_requests_are_computed_once() -> None:
    """Failure 11 (p95 11 s under 20 clients): a view is computed once, then replayed to every client asking for it."""
    from flask import Flask, jsonify

    from electio.dashboard import responses

    server, cache, calls = Flask("essai"), responses.ResponseCache(), []
    gate = threading.Event()

    @server.post(responses.UPDATE_PATH)
    def update():  # a slow callback
        calls.append(1)
        gate.wait(timeout=WAIT_S)
        return jsonify({"response": {"valeur": len(calls)}})

    responses.install(server, cache)
    body = responses.callback_request("..carte.figure...texte.children..", {"horizon.value": "1|x", "bloc.value": "droite"})
    results: list[bytes] = []

    def client() -> None:
        results.append(server.test_client().post(responses.UPDATE_PATH, json=body).data)

    clients = [threading.Thread(target=client) for _ in range(8)]
    for thread in clients:
        thread.start()
    while not calls:
        time.sleep(0.01)
    gate.set()
    for thread in clients:
        thread.join(timeout=WAIT_S)
    assert len(calls) == 1 and len(set(results)) == 1 and len(results) == 8
    other = {**body, "changedPropIds": ["bloc.value"]}  # the same view asked after a click: still one computation
    assert server.test_client().post(responses.UPDATE_PATH, json=other).data == results[0] and len(calls) == 1
    cache.clear()  # what a replaced warehouse does
    server.test_client().post(responses.UPDATE_PATH, json=body)
    assert len(calls) == 2
