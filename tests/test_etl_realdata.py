"""End-to-end ETL on the public mirror: exact totals, harmonisation, bad input, lineage."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio.catalogue import get_source
from electio.config import REFERENTIALS_DIR
from electio.errors import ChecksumError, InputError
from electio.fetch import sha256_of
from electio.harmonise.geography import GEO_SOURCES
from electio.pipeline import etl
from electio.pipeline.etl import Territory, load_scrutins, run_etl

pytestmark = pytest.mark.realdata

AKTIUR_FIXED = {"departement", "commune", "commune_libelle", "inscrits", "votants", "blancs", "exprimes"}


@pytest.fixture(scope="module")
def rhone(rhone_etl: Path) -> Path:
    return rhone_etl


@pytest.fixture(scope="module")
def france(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("france") / "electio.duckdb"
    run_etl(Territory(None), target)
    return target


def raw_sums(path: Path, departement: str | None) -> dict[str, int]:
    """Column sums of a raw aktiur wide file, straight from the file with DuckDB (independent of the parsers)."""
    con = duckdb.connect()
    where = f"WHERE departement = '{departement}'" if departement else ""
    rel = con.sql(f"SELECT * FROM read_csv('{path}', all_varchar=true, quote='\"') {where}")
    columns = [c for c in rel.columns if c not in {"departement", "commune", "commune_libelle", "bureau", "circonscription"}]
    sums = rel.aggregate(", ".join(f'SUM(CAST("{c}" AS BIGINT)) AS "{c}"' for c in columns)).fetchall()[0]
    return dict(zip(columns, (int(v) for v in sums), strict=True))


def warehouse_sums(path: Path, scrutin_id: str) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    part = con.execute(
        "SELECT SUM(inscrits), SUM(votants), SUM(exprimes) FROM fact_participation WHERE scrutin_id = ?", [scrutin_id]
    ).fetchone()
    voix = con.execute(
        "SELECT candidat, SUM(voix) FROM v_resultat_candidat_commune WHERE scrutin_id = ? GROUP BY candidat", [scrutin_id]
    ).fetchall()
    return {"inscrits": part[0], "votants": part[1], "exprimes": part[2], **{c: int(v) for c, v in voix}}


def rhone_commune_ballots() -> int:
    """Ballots of the referential with commune results in the Rhône (France-wide or Rhône files)."""
    return int(load_scrutins()["couverture"].isin(["FR", "69"]).sum())


NATIONAL_WIDE = ["pres2017_t1", "pres2017_t2", "leg2017_t2", "euro2014_t1", "euro2019_t1"]


@pytest.mark.parametrize("scrutin_id", NATIONAL_WIDE)
@pytest.mark.parametrize("territory", ["69", "FR"])
def test_totals_equal_raw_file(scrutin_id: str, territory: str, rhone: Path, france: Path, mirror: Path) -> None:
    source = get_source(load_scrutins().set_index("scrutin_id").loc[scrutin_id, "source_id"])
    raw = raw_sums(mirror / source.mirror_path, None if territory == "FR" else territory)
    built = warehouse_sums(france if territory == "FR" else rhone, scrutin_id)
    for column, value in raw.items():
        if column != "blancs":
            assert built[column] == value, (scrutin_id, column)


def test_pres2017_t1_france_inscrits(france: Path) -> None:
    assert warehouse_sums(france, "pres2017_t1")["inscrits"] == 47_582_183


def test_rhone_ministry_files_totals(rhone: Path, mirror: Path) -> None:
    """pres2012 and pres2022 (Ministry layouts) : sums equal the raw file's columns."""
    for scrutin_id, sep in (("pres2012_t1", ";"), ("pres2022_t1", ";"), ("pres2022_t2", ";")):
        source = get_source(load_scrutins().set_index("scrutin_id").loc[scrutin_id, "source_id"])
        raw = pd.read_csv(mirror / source.mirror_path, sep=sep, dtype=str)
        built = warehouse_sums(rhone, scrutin_id)
        assert built["inscrits"] == raw["Inscrits"].astype(int).sum()
        assert built["exprimes"] == raw["Exprimés"].astype(int).sum()
        voix_columns = [c for c in raw.columns if c.startswith("Voix_")]
        assert sum(v for k, v in built.items() if k not in {"inscrits", "votants", "exprimes"}) == sum(raw[c].astype(int).sum() for c in voix_columns)
    assert warehouse_sums(rhone, "pres2012_t1")["HOLLANDE"] == 237_779


def test_rhone_one_row_per_reference_commune(rhone: Path) -> None:
    con = duckdb.connect(str(rhone), read_only=True)
    communes = con.execute("SELECT COUNT(*) FROM dim_commune").fetchone()[0]
    per_ballot = con.execute("SELECT scrutin_id, COUNT(*) , COUNT(DISTINCT code_commune) FROM fact_participation GROUP BY 1").fetchall()
    assert communes == 266
    assert len(per_ballot) == rhone_commune_ballots()
    assert all(n == d == communes for _, n, d in per_ballot)
    coverage = con.execute("SELECT MIN(taux) FROM couverture_scrutin").fetchone()[0]
    assert coverage == 1.0


def test_every_source_commune_is_mapped_and_audited(rhone: Path) -> None:
    con = duckdb.connect(str(rhone), read_only=True)
    methods = dict(con.execute("SELECT methode, COUNT(*) FROM map_commune_scrutin GROUP BY 1").fetchall())
    assert "inconnu" not in methods and methods["fusion"] > 0
    # pres2012 had 293 Rhône communes of the 2012 geography: all are audited.
    assert con.execute("SELECT COUNT(*) FROM map_commune_scrutin WHERE scrutin_id = 'pres2012_t1'").fetchone()[0] == 293


def test_bloc_shares_sum_to_one(rhone: Path) -> None:
    """Bloc shares plus the share of lists counted in no bloc (municipales without nuance) make 1."""
    con = duckdb.connect(str(rhone), read_only=True)
    worst = con.execute(
        """SELECT MAX(ABS(s + COALESCE(u.voix, 0) / exprimes - 1))
           FROM (SELECT scrutin_id, code_commune, SUM(part) s, ANY_VALUE(exprimes) exprimes FROM v_resultat_bloc_commune GROUP BY 1, 2) b
           LEFT JOIN (SELECT f.scrutin_id, f.code_commune, SUM(f.voix) voix FROM fact_resultat_commune f
                      JOIN dim_candidat c USING (candidat_id) WHERE c.code_bloc IS NULL GROUP BY 1, 2) u USING (scrutin_id, code_commune)"""
    ).fetchone()[0]
    assert worst < 1e-9


def test_lineage_and_quality_recorded(rhone: Path) -> None:
    con = duckdb.connect(str(rhone), read_only=True)
    run = con.execute("SELECT run_id, code_version, territoire, statut FROM etl_run").fetchall()
    assert len(run) == 1 and run[0][2] == "69" and run[0][3] == "succes"
    inputs = con.execute("SELECT source_id, sha256 FROM etl_input").fetchall()
    assert {sid for sid, _ in inputs} >= {"pres2017_t1_commune", "pres2022_t1_bureau_69", "cog__decoupage_administratif_6_0_0_communes"}
    assert all(sha == get_source(sid).sha256 for sid, sha in inputs)
    steps = con.execute("SELECT COUNT(*) FROM etl_step WHERE etape = 'parse_harmonise' AND lignes_lues > 0").fetchone()[0]
    assert steps == rhone_commune_ballots()
    blocking = con.execute("SELECT SUM(lignes_en_echec) FROM dq_check WHERE severite = 'bloquante'").fetchone()[0]
    assert blocking == 0


# ─── Bad input: clear error naming the file, previous warehouse intact ──────────────────

def _corrupt(source_id: str, tmp_path: Path, mirror: Path, damage) -> tuple[Path, object]:
    """Write a damaged copy of a source's file; return it and a catalogue entry whose sha matches it."""
    source = get_source(source_id)
    damaged = tmp_path / Path(source.mirror_path).name
    damage(mirror / source.mirror_path, damaged)
    return damaged, dataclasses.replace(source, sha256=sha256_of(damaged))


def _truncate_gzip(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])


def _rewrite_text(edit):
    def damage(src: Path, dst: Path) -> None:
        text = gzip.decompress(src.read_bytes()).decode("utf-8")
        dst.write_bytes(gzip.compress(edit(text).encode("utf-8")))
    return damage


def _drop_column(text: str) -> str:
    return text.replace("inscrits,", "inscrit_s,", 1)


def _non_numeric_vote(text: str) -> str:
    lines = text.split("\n")
    fields = lines[5].split(",")
    fields[-1] = "douze"
    lines[5] = ",".join(fields)
    return "\n".join(lines)


def _unknown_candidate(text: str) -> str:
    return text.replace("LFN", "LXYZ", 1)


@pytest.mark.parametrize(
    ("damage", "expected", "line"),
    [
        (_truncate_gzip, "gzip|tronqué|corrompu", None),
        (_rewrite_text(_drop_column), "inscrits", None),
        (_rewrite_text(_non_numeric_vote), "douze", 6),
        (_rewrite_text(_unknown_candidate), "LXYZ", None),
    ],
    ids=["gzip_tronque", "colonne_manquante", "voix_non_numerique", "nuance_inconnue"],
)
def test_bad_input_names_file_and_keeps_warehouse(damage, expected: str, line: int | None, rhone: Path, mirror: Path,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch, narrow_etl) -> None:
    narrow_etl(ballots=("euro2014_t1",))  # the ETL stops at the damaged file instead of building every other source first
    target = tmp_path / "w.duckdb"
    shutil.copy(rhone, target)
    before = sha256_of(target)
    damaged, source = _corrupt("euro2014_commune", tmp_path, mirror, damage)
    monkeypatch.setattr(etl, "get_source", lambda sid: source if sid == source.id else get_source(sid))
    monkeypatch.setattr("electio.fetch._candidates", lambda s: [(damaged, "miroir")] if s.id == source.id else _real_candidates(s))
    with pytest.raises(InputError, match=expected) as error:
        run_etl(Territory("69"), target)
    assert damaged.name in str(error.value)
    if line is not None:
        assert f"ligne {line}" in str(error.value)
    assert sha256_of(target) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".gz") == ["w.duckdb"]


def _text_in_rate_column(src: Path, dst: Path) -> None:
    lines = src.read_text(encoding="utf-8-sig").split("\n")
    assert lines[3].startswith("01004;") and ";20510;" in lines[3]  # Q219, the median
    lines[3] = lines[3].replace(";20510;", ";abc;", 1)
    dst.write_text("\ufeff" + "\n".join(lines), encoding="utf-8")


def _short_commune_code(src: Path, dst: Path) -> None:
    lines = src.read_text(encoding="utf-8-sig").split("\n")
    assert lines[4].startswith("01005;")
    lines[4] = lines[4][2:]  # "01005;…" becomes "005;…"
    dst.write_text("\ufeff" + "\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize(("damage", "expected", "line"), [(_text_in_rate_column, "abc", 4), (_short_commune_code, "code", 5)],
                         ids=["taux_texte", "code_commune_court"])
def test_bad_indicator_file_names_file_and_keeps_warehouse(damage, expected: str, line: int, rhone: Path, mirror: Path,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch, narrow_etl) -> None:
    target = tmp_path / "w.duckdb"
    shutil.copy(rhone, target)
    before = sha256_of(target)
    damaged, source = _corrupt("revenus__insee_filosofi_filo2019_disp_com", tmp_path, mirror, damage)
    narrow_etl(indicator_ids=(source.id,))  # the ETL stops at the damaged file instead of parsing every other indicator first
    monkeypatch.setattr("electio.pipeline.indicators.catalogue", lambda: {**_real_catalogue(), source.id: source})
    monkeypatch.setattr("electio.fetch._candidates", lambda s: [(damaged, "miroir")] if s.id == source.id else _real_candidates(s))
    with pytest.raises(InputError, match=expected) as error:
        run_etl(Territory("69"), target)
    assert damaged.name in str(error.value) and f"ligne {line}" in str(error.value)
    assert sha256_of(target) == before


def test_checksum_mismatch_stops_the_run(rhone: Path, mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, narrow_etl) -> None:
    narrow_etl(ballots=("euro2014_t1",))
    target = tmp_path / "w.duckdb"
    shutil.copy(rhone, target)
    before = sha256_of(target)
    damaged, _ = _corrupt("euro2014_commune", tmp_path, mirror, _rewrite_text(_unknown_candidate))
    monkeypatch.setattr("electio.fetch._candidates", lambda s: [(damaged, "miroir")] if s.id == "euro2014_commune" else _real_candidates(s))
    with pytest.raises(ChecksumError, match=damaged.name):
        run_etl(Territory("69"), target)
    assert sha256_of(target) == before


from electio.catalogue import catalogue as _real_catalogue  # noqa: E402  (kept after the tests that patch it)
from electio.fetch import _candidates as _real_candidates  # noqa: E402


# ─── Indicators ──────────────────────────────────────────────────────────────────────────

def test_indicator_view_contract(rhone: Path) -> None:
    con = duckdb.connect(str(rhone), read_only=True)
    columns = [r[0] for r in con.execute("DESCRIBE v_indicateur_commune").fetchall()]
    assert columns[:7] == ["code_commune", "indicateur", "annee", "valeur", "unite", "source", "qualite"]
    dim = [r[0] for r in con.execute("DESCRIBE dim_indicateur").fetchall()]
    assert dim[:6] == ["indicateur", "libelle", "theme", "unite", "definition", "source"]
    # Secret or unpublished values are NULL, never 0; every value is dated.
    bad = con.execute("SELECT COUNT(*) FROM fact_indicateur_commune WHERE qualite IN ('secret', 'non_publie') AND valeur IS NOT NULL").fetchone()[0]
    assert bad == 0
    undated = con.execute("SELECT COUNT(*) FROM fact_indicateur_commune WHERE date_publication IS NULL").fetchone()[0]
    assert undated == 0
    themes = {r[0] for r in con.execute("SELECT DISTINCT theme FROM couverture_indicateur WHERE statut = 'ok'").fetchall()}
    assert {"securite", "emploi", "pauvrete_revenus", "population", "entreprises", "vie_associative"} <= themes
    gaps = {r[0] for r in con.execute("SELECT indicateur FROM couverture_indicateur WHERE statut = 'lacune'").fetchall()}
    assert "creations_entreprises" in gaps and "associations_pour_1000hab" not in gaps


def _raw_population(path: Path, departement: str | None) -> dict[str, int]:
    """Population of each commune (of a département, or all) straight from an npm tarball (independent of the parser)."""
    import json
    import tarfile

    with tarfile.open(path) as tar:
        communes = json.load(tar.extractfile("package/data/communes.json"))
    return {c["code"]: int(c["population"]) for c in communes
            if departement in (None, c.get("departement")) and c.get("type", "commune-actuelle") == "commune-actuelle"
            and c.get("population") is not None}


def _cogugaison_population(mirror: Path, table: str) -> dict[str, float]:
    """``POP`` of one COGugaison COG table, straight from the RData file (independent of the ETL)."""
    import pyreadr

    path = mirror / get_source(GEO_SOURCES["cog_history"]).mirror_path
    frame = pyreadr.read_r(str(path), use_objects=[table])[table]
    return dict(zip(frame["CODGEO"], frame["POP"], strict=True))


COMPLEMENTS = pd.read_csv(REFERENTIALS_DIR / "population_complements.csv", dtype=str)
PINNED = dict(zip(COMPLEMENTS["source_id"], COMPLEMENTS["table_cogugaison"], strict=True))
POPULATION_GAPS = {("69114", 2022)}
"""PL 2022 of Porte des Pierres Dorées is in no mirrored file (docs/indicators.md, "Gaps")."""


@pytest.mark.parametrize("source_id", sorted(PINNED))
def test_cogugaison_population_is_the_package_vintage(source_id: str, mirror: Path) -> None:
    """The pinned COGugaison table holds exactly the package's populations légales (every common code but Mayotte,
    for which the packages give the 2017 census)."""
    cog = _cogugaison_population(mirror, PINNED[source_id])
    package = _raw_population(mirror / get_source(source_id).mirror_path, None)
    common = {c for c in set(cog) & set(package) if not c.startswith("976")}
    assert len(common) > 34_000
    assert [c for c in common if cog[c] != package[c]] == []


@pytest.mark.parametrize("version", ["0_8_0", "1_1_1", "3_1_1", "4_0_0", "5_0_1", "6_0_0"])
def test_population_reconciles_with_raw_files(version: str, rhone: Path, mirror: Path) -> None:
    """Rhône population (COG 2026) = the raw sum for dep 69, with incomplete merges completed or set aside.

    Where a COGugaison table is pinned to the package, every part is there and the total is that
    table's sum over dep 69; otherwise the values set aside (incomplete merges) make up the raw sum.
    """
    source = get_source(f"population__npm_etalab_decoupage_administratif_{version}")
    raw = _raw_population(mirror / source.mirror_path, "69")
    con = duckdb.connect(str(rhone), read_only=True)
    rows = con.execute(
        "SELECT f.code_commune, f.valeur FROM fact_indicateur_commune f WHERE indicateur = 'population' AND source_id = ?", [source.id]
    ).fetchall()
    mapping = dict(con.execute("SELECT code_source, code_reference FROM map_commune_cog").fetchall())
    kept = {code: value for code, value in rows if value is not None}
    if source.id in PINNED:
        complete = {c: v for c, v in _cogugaison_population(mirror, PINNED[source.id]).items() if c.startswith("69")}
        assert sum(kept.values()) == sum(complete.values()) >= sum(raw.values())
        assert len(kept) == len(rows) == 266
    else:
        set_aside = sum(v for code, v in raw.items() if mapping.get(code, code) not in kept)
        assert sum(kept.values()) + set_aside == sum(raw.values())
        assert len(rows) >= 265 and len(kept) == len(rows)


def test_every_rhone_commune_has_population_for_each_vintage(rhone: Path) -> None:
    con = duckdb.connect(str(rhone), read_only=True)
    communes = {r[0] for r in con.execute("SELECT code_commune FROM dim_commune WHERE type_unite = 'commune'").fetchall()}
    known = set(con.execute("SELECT code_commune, annee FROM fact_indicateur_commune WHERE indicateur = 'population' "
                            "AND source_id LIKE 'population__npm%' AND valeur IS NOT NULL").fetchall())
    vintages = {annee for _, annee in known}
    assert vintages == {2016, 2019, 2020, 2021, 2022, 2023} and len(communes) == 266
    assert {(c, y) for c in communes for y in vintages} - known == POPULATION_GAPS
