"""Source catalogue and checksum-verified fetching."""

from __future__ import annotations

import csv
import dataclasses
import gzip
from pathlib import Path

import pytest

from electio import fetch as fetch_mod
from electio.catalogue import load_catalogue
from electio.config import SOURCES_DIR
from electio.errors import ChecksumError, InputError


def test_catalogue_declares_every_mirror_file(mirror: Path) -> None:
    """Each file of the mirror's SOURCES.csv is in the catalogue with the same sha256."""
    declared = {s.mirror_path: s for s in load_catalogue(SOURCES_DIR).values()}
    for folder in ("elections", "geo", "indicators", "polls"):
        for row in csv.DictReader((mirror / folder / "SOURCES.csv").open(encoding="utf-8")):
            assert row["path"] in declared, row["path"]
            assert declared[row["path"]].sha256 == row["sha256"]


def test_catalogue_entries_are_complete() -> None:
    for source in load_catalogue(SOURCES_DIR).values():
        assert source.licence and source.publisher and len(source.sha256) == 64
        assert source.download in {"http", "npm", "mirror"}
        if source.download == "http":
            assert source.url.startswith("https://") and " " not in source.url
        if source.folder == "elections":
            assert source.parser, source.id


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    text = (SOURCES_DIR / "elections.toml").read_text(encoding="utf-8")
    (tmp_path / "a.toml").write_text(text, encoding="utf-8")
    (tmp_path / "b.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="double"):
        load_catalogue(tmp_path)


def test_fetch_verifies_mirror_file(mirror: Path) -> None:
    source = load_catalogue(SOURCES_DIR)["pres2022_t2_commune_69"]
    located = fetch_mod.fetch(source, allow_download=False)
    assert located.origin == "miroir" and located.sha256 == source.sha256


def _fake_source(tmp_path: Path, content: bytes, sha: str) -> fetch_mod.Source:
    base = next(iter(load_catalogue(SOURCES_DIR).values()))
    return dataclasses.replace(base, id="test", mirror_path="elections/test/file.csv", sha256=sha, download="mirror", url="")


def test_checksum_mismatch_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELECTIO_MIRROR", str(tmp_path))
    target = tmp_path / "elections" / "test" / "file.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"a,b\n1,2\n")
    source = _fake_source(tmp_path, b"", "0" * 64)
    with pytest.raises(ChecksumError, match="file.csv"):
        fetch_mod.fetch(source, allow_download=False)
    assert fetch_mod.status(source) == "present"
    assert target.read_bytes() == b"a,b\n1,2\n"  # raw file untouched


def test_missing_file_without_url_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELECTIO_MIRROR", str(tmp_path))
    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path / "home"))
    source = _fake_source(tmp_path, b"", "0" * 64)
    assert fetch_mod.status(source) == "missing"
    with pytest.raises(InputError, match="miroir"):
        fetch_mod.fetch(source)


def test_served_sha_applies_to_ungzipped_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A polygon file fetched from its URL (uncompressed) is checked against served_sha256."""
    monkeypatch.setenv("ELECTIO_MIRROR", str(tmp_path / "none"))
    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    payload = b'{"type": "FeatureCollection", "features": []}'
    base = _fake_source(tmp_path, payload, "1" * 64)
    source = dataclasses.replace(base, mirror_path="geo/x/communes.geojson.gz", served_sha256=fetch_mod.hashlib.sha256(payload).hexdigest())
    cached = tmp_path / "data" / "raw" / "geo" / "x" / "communes.geojson"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(payload)
    assert fetch_mod.fetch(source).path == cached
    (cached.parent / "communes.geojson.gz").write_bytes(gzip.compress(payload))
    with pytest.raises(ChecksumError):
        fetch_mod.fetch(source)


def test_cli_help_panels_are_in_french() -> None:
    from typer.testing import CliRunner

    from electio.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert top.exit_code == 0 and "Commandes" in top.output and "--install-completion" not in top.output
    etl = runner.invoke(app, ["etl", "--help"], env={"COLUMNS": "120"})
    assert "[défaut : 69]" in etl.output
    wrong = runner.invoke(app, ["etl", "--inconnue"], env={"COLUMNS": "120"})
    assert wrong.exit_code != 0 and "pour l'aide" in wrong.output
    assert "Show this message" not in top.output + etl.output and "Afficher cette aide et quitter." in etl.output
    listed = [line.split()[1] for line in top.output.splitlines() if line.startswith("│ ") and len(line.split()) > 2 and line.split()[1].isalpha()]
    commands = [name for name in listed if name in {"sources", "etl", "explore", "evaluate", "forecast", "export", "report", "serve", "load", "run"}]
    assert commands[:7] == ["sources", "etl", "explore", "evaluate", "forecast", "export", "report"]  # pipeline order
