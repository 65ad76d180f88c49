"""Stage skipping of ``electio run`` (electio.run_cache): what is skipped, and what makes a stage run again."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from electio import run_cache


@pytest.fixture()
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    path = tmp_path / "data" / "warehouse" / "electio.duckdb"
    path.parent.mkdir(parents=True)
    write_etl_run(path, "run-a")
    return path


def write_etl_run(path: Path, run_id: str) -> None:
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE etl_run (run_id VARCHAR)")
        con.execute("INSERT INTO etl_run VALUES (?)", [run_id])


def full_run(warehouse: Path, etl_key: str, keys: dict[str, str], force: bool = False) -> list[str]:
    """One simulated ``electio run``: the stages that would run (the ETL is named ``etl``)."""
    plan = run_cache.StagePlan(warehouse, etl_key, force)
    ran = [] if plan.skip_etl else ["etl"]
    plan.etl_done()
    for name, key in keys.items():
        if plan.skipped_notes(name, key) is None:
            ran.append(name)
        plan.done(name, key, [f"note {name}"])
    return ran


KEYS = {"explore": "k1", "evaluate": "k2", "forecast": "k3"}


def test_second_run_skips_every_stage(warehouse: Path) -> None:
    assert full_run(warehouse, "etl-1", KEYS) == ["etl", *KEYS]
    assert full_run(warehouse, "etl-1", KEYS) == []


def test_forced_run_recomputes_everything(warehouse: Path) -> None:
    full_run(warehouse, "etl-1", KEYS)
    assert full_run(warehouse, "etl-1", KEYS, force=True) == ["etl", *KEYS]


def test_changed_sources_rerun_the_etl_and_every_stage(warehouse: Path) -> None:
    full_run(warehouse, "etl-1", KEYS)
    assert full_run(warehouse, "etl-2", KEYS) == ["etl", *KEYS]


def test_a_changed_stage_key_reruns_it_and_the_later_stages(warehouse: Path) -> None:
    full_run(warehouse, "etl-1", KEYS)
    assert full_run(warehouse, "etl-1", {**KEYS, "evaluate": "other"}) == ["evaluate", "forecast"]


def test_another_etl_build_of_the_warehouse_is_not_skipped(warehouse: Path) -> None:
    full_run(warehouse, "etl-1", KEYS)
    write_etl_run(warehouse, "run-b")  # e.g. a standalone « electio etl » since
    assert full_run(warehouse, "etl-1", KEYS) == ["etl", *KEYS]


def test_outputs_changed_since_the_run_rerun_the_stages_but_not_the_etl(warehouse: Path) -> None:
    full_run(warehouse, "etl-1", KEYS)
    report = Path(run_cache.config.output_dir()) / "rapport.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("modifié à la main", encoding="utf-8")
    assert full_run(warehouse, "etl-1", KEYS) == list(KEYS)


def test_notes_of_a_skipped_stage_are_kept(warehouse: Path) -> None:
    full_run(warehouse, "etl-1", KEYS)
    plan = run_cache.StagePlan(warehouse, "etl-1")
    plan.etl_done()
    assert plan.skipped_notes("explore", "k1") == ["note explore"]


def test_code_hash_changes_with_an_electio_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    before = run_cache.code_hash()
    monkeypatch.setenv("ELECTIO_SOMETHING", "1")
    assert run_cache.code_hash() != before


def test_electio_run_skips_unchanged_stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI wiring: a second ``electio run`` with nothing changed calls no stage; ``--tout-recalculer`` calls them all."""
    import uuid

    from typer.testing import CliRunner

    from electio import cli

    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    monkeypatch.setenv("ELECTIO_MIRROR", str(tmp_path / "miroir"))  # an empty mirror: every source « absent », quick to hash
    calls: list[str] = []

    def etl(*_args: object) -> None:
        calls.append("etl")
        path = run_cache.config.warehouse_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_etl_run(path, uuid.uuid4().hex)

    def stage(name: str):
        def run(**_kwargs: object) -> None:
            calls.append(name)
            out = run_cache.config.output_dir() / f"{name}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(name, encoding="utf-8")
        return run

    monkeypatch.setattr(cli, "etl_cmd", etl)
    for name in ("explore_cmd", "evaluate_cmd", "forecast_cmd", "export_cmd", "report_cmd"):
        monkeypatch.setattr(cli, name, stage(name))
    runner = CliRunner()
    assert runner.invoke(cli.app, ["run"]).exit_code == 0
    assert len(calls) == 6
    calls.clear()
    second = runner.invoke(cli.app, ["run"])
    assert second.exit_code == 0 and calls == []
    assert "ETL inchangé" in second.output
    assert runner.invoke(cli.app, ["run", "--au", "2024-05-15"]).exit_code == 0
    assert calls == ["explore_cmd", "evaluate_cmd", "forecast_cmd", "export_cmd", "report_cmd"]  # another as-of date
    calls.clear()
    assert runner.invoke(cli.app, ["run", "--au", "2024-05-15", "--tout-recalculer"]).exit_code == 0
    assert len(calls) == 6
