"""Bureau-level ballots 2022-2024 (long ``.rds``) on the real mirror: exact totals, Rhône ETL, bad input.

France totals are checked on the parsed frames (a France ETL is costly); the expected figures
are the official national results documented in the mirror's SOURCES.csv. The Rhône checks
compare the warehouse with sums taken straight from the raw data frames.
"""

from __future__ import annotations

import dataclasses
import shutil
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pyreadr
import pytest

from electio.catalogue import get_source
from electio.errors import InputError
from electio.fetch import _candidates as real_candidates
from electio.fetch import sha256_of
from electio.parse import rds_long
from electio.parse.ballot import ParsedBallot
from electio.parse.rds_xdr import data_frame, element, read_rds
from electio.pipeline import etl
from electio.pipeline.etl import Territory, load_scrutins, run_etl

pytestmark = pytest.mark.realdata

NEW_BALLOTS = {"euro2024_t1": rds_long.parse_euro2024, "leg2024_t1": rds_long.parse_leg2024,
               "leg2022_t1": rds_long.parse_leg2022}
NON_EXPRIMES = {"abstentions", "blancs", "nuls"}


def source_path(mirror: Path, scrutin_id: str) -> Path:
    return mirror / get_source(load_scrutins().set_index("scrutin_id").loc[scrutin_id, "source_id"]).mirror_path


@cache
def parsed(mirror: Path, scrutin_id: str) -> ParsedBallot:
    return NEW_BALLOTS[scrutin_id](source_path(mirror, scrutin_id), scrutin_id)


@cache
def raw_rhone(mirror: Path, scrutin_id: str) -> pd.DataFrame:
    """Rows of département 69 straight from the raw data frame: (kind, nuance or list, voix)."""
    path = source_path(mirror, scrutin_id)
    if scrutin_id == "leg2022_t1":
        frame = data_frame(element(read_rds(path), "Leg", path), path)
        frame = frame[frame["code_du_departement"] == "69"]
        key = frame["nuance_ministere"]
    else:
        frame = pyreadr.read_r(str(path))[None]
        frame = frame[(frame["code_du_departement"] == "69") & (frame["libelle_du_departement"] == "Rhône")]
        key = frame["candidat"]
    return pd.DataFrame({"cle": key.astype("str"), "voix": frame["voix"].astype("int64")})


def test_euro2024_france_totals(mirror: Path) -> None:
    ballot = parsed(mirror, "euro2024_t1")
    assert ballot.participation["inscrits"].sum() == 49_462_931
    assert ballot.participation["exprimes"].sum() == 24_753_773
    voix = ballot.voix.groupby("candidat")["voix"].sum()
    assert voix["La FRANCE REVIENT"] == 7_765_945
    assert len(voix) == 38


def test_leg2022_france_totals(mirror: Path) -> None:
    ballot = parsed(mirror, "leg2022_t1")
    assert ballot.participation["inscrits"].sum() == 48_953_748
    assert ballot.participation["exprimes"].sum() == 22_744_708
    nuances = ballot.voix.groupby("nuance")["voix"].sum()
    assert (nuances["ENS"], nuances["NUP"], nuances["RN"]) == (5_857_364, 5_836_079, 4_248_537)


def test_leg2024_france_totals(mirror: Path) -> None:
    ballot = parsed(mirror, "leg2024_t1")
    assert ballot.participation["inscrits"].sum() == 49_332_696
    assert ballot.participation["exprimes"].sum() == 32_057_933
    assert ballot.participation["votants"].sum() == 32_908_655


@pytest.mark.parametrize("scrutin_id", list(NEW_BALLOTS))
def test_parsed_codes_are_insee_and_votes_match_exprimes(scrutin_id: str, mirror: Path) -> None:
    ballot = parsed(mirror, scrutin_id)
    codes = ballot.participation["code_commune_source"]
    assert codes.str.fullmatch(r"[0-9]{5}|2[AB][0-9]{3}|ZZ[0-9]{3}").all()
    assert codes.str.startswith(("971", "972", "973", "974", "976", "2A", "2B", "ZZ")).groupby(codes.str[:3]).any().sum() >= 8
    votes = ballot.voix.groupby("code_commune_source")["voix"].sum()
    exprimes = ballot.participation.set_index("code_commune_source")["exprimes"]
    assert (votes.reindex(exprimes.index, fill_value=0) == exprimes).all()


def test_rhone_euro2024_exprimes(rhone_etl: Path) -> None:
    con = duckdb.connect(str(rhone_etl), read_only=True)
    exprimes = con.execute("SELECT SUM(exprimes) FROM fact_participation WHERE scrutin_id = 'euro2024_t1'").fetchone()[0]
    assert exprimes == 679_947


@pytest.mark.parametrize("scrutin_id", list(NEW_BALLOTS))
def test_rhone_warehouse_equals_raw_file(scrutin_id: str, rhone_etl: Path, mirror: Path) -> None:
    raw = raw_rhone(mirror, scrutin_id)
    con = duckdb.connect(str(rhone_etl), read_only=True)
    inscrits, votants, exprimes, blancs, nuls = con.execute(
        "SELECT SUM(inscrits), SUM(votants), SUM(exprimes), SUM(blancs), SUM(nuls) FROM fact_participation WHERE scrutin_id = ?",
        [scrutin_id],
    ).fetchone()
    by_key = raw.groupby("cle")["voix"].sum()
    assert inscrits == raw["voix"].sum()
    assert votants == inscrits - by_key.get("abstentions", 0)
    assert (blancs, nuls) == (by_key.get("blancs", 0), by_key.get("nuls", 0))
    expected = by_key.drop(list(NON_EXPRIMES & set(by_key.index)))
    assert exprimes == expected.sum()
    column = "candidat" if scrutin_id == "euro2024_t1" else "nuance"
    built = dict(con.execute(
        f"SELECT {column}, SUM(voix) FROM v_resultat_candidat_commune WHERE scrutin_id = ? GROUP BY 1", [scrutin_id]
    ).fetchall())
    assert built == {key: int(value) for key, value in expected.items() if value > 0 or key in built}


@pytest.mark.parametrize("scrutin_id", list(NEW_BALLOTS))
def test_rhone_coverage_and_audit(scrutin_id: str, rhone_etl: Path, mirror: Path) -> None:
    con = duckdb.connect(str(rhone_etl), read_only=True)
    present, expected, rate = con.execute(
        "SELECT communes_presentes, communes_attendues, taux FROM couverture_scrutin WHERE scrutin_id = ? AND territoire = '69'",
        [scrutin_id],
    ).fetchone()
    assert present == expected == 266 and rate == 1.0
    audited = con.execute(
        "SELECT code_commune_source, methode FROM map_commune_scrutin WHERE scrutin_id = ?", [scrutin_id]
    ).fetchall()
    source = parsed(mirror, scrutin_id).participation["code_commune_source"]
    assert sorted(code for code, _ in audited) == sorted(source[source.str.startswith("69")])
    assert "inconnu" not in {methode for _, methode in audited}
    blocs = con.execute("SELECT COUNT(*) FROM dim_candidat WHERE scrutin_id = ? AND code_bloc IS NULL", [scrutin_id]).fetchone()[0]
    assert blocs == 0


# ─── Bad input: clear error naming the file, previous warehouse intact ──────────────────


def _drop_column(src: Path, dst: Path) -> None:
    frame = pyreadr.read_r(str(src))[None]
    pyreadr.write_rds(str(dst), frame.drop(columns="libelle_du_departement").head(5000), compress="gzip")


def _truncate(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 3])


@pytest.mark.parametrize(("damage", "expected"), [(_drop_column, "libelle_du_departement"), (_truncate, "illisible|corromp|tronqu")],
                         ids=["colonne_manquante", "rds_illisible"])
def test_bad_rds_names_file_and_keeps_warehouse(damage, expected: str, rhone_etl: Path, mirror: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, narrow_etl) -> None:
    narrow_etl(ballots=("euro2024_t1",))  # the ETL stops at the damaged file instead of building every other source first
    target = tmp_path / "w.duckdb"
    shutil.copy(rhone_etl, target)
    before = sha256_of(target)
    source = get_source("euro2024_t1_bureau")
    damaged = tmp_path / Path(source.mirror_path).name
    damage(mirror / source.mirror_path, damaged)
    source = dataclasses.replace(source, sha256=sha256_of(damaged))
    monkeypatch.setattr(etl, "get_source", lambda sid: source if sid == source.id else get_source(sid))
    monkeypatch.setattr("electio.fetch._candidates", lambda s: [(damaged, "miroir")] if s.id == source.id else real_candidates(s))
    with pytest.raises(InputError, match=expected) as error:
        run_etl(Territory("69"), target)
    assert damaged.name in str(error.value)
    assert sha256_of(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["w.duckdb", damaged.name])
