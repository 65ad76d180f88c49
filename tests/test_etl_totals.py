"""Real data: municipales 2026 and the France / département totals of a Rhône warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio.catalogue import get_source
from electio.parse import departement_totals
from electio.parse.municipales_json import NO_NUANCE, parse_municipales

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def muni2026(mirror: Path):
    return parse_municipales(mirror / get_source("muni2026_t1_commune").mirror_path, "muni2026_t1")


def sql(path: Path, query: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query, params or []).df()


def test_muni2026_france_inscrits(muni2026) -> None:
    part = muni2026.participation
    assert part["inscrits"].sum() == 48_474_213  # national.json of the archive: totalInscrits
    assert len(part) == 34_836 and part["code_commune_source"].is_unique


def test_muni2026_votes_match_exprimes_except_29_communes(muni2026) -> None:
    votes = muni2026.voix.groupby("code_commune_source")["voix"].sum()
    exprimes = muni2026.participation.set_index("code_commune_source")["exprimes"]
    assert int((votes.reindex(exprimes.index, fill_value=0) != exprimes).sum()) == 29


def test_pres2022_t1_france_exprimes_in_rhone_warehouse(rhone_etl: Path) -> None:
    france = sql(rhone_etl, "SELECT * FROM fact_participation_territoire WHERE scrutin_id = 'pres2022_t1' AND niveau = 'france'")
    assert france["exprimes"].tolist() == [35_132_947] and france["code_territoire"].tolist() == ["FR"]
    voix = sql(rhone_etl, "SELECT SUM(voix) v FROM fact_resultat_territoire WHERE scrutin_id = 'pres2022_t1' AND niveau = 'france'")
    assert voix["v"].iloc[0] == 35_132_947


def test_rhone_total_equals_commune_facts_pres2022(rhone_etl: Path) -> None:
    """Two Ministry publications (bureau file of the Rhône, département file) agree on the Rhône."""
    for scrutin_id in ("pres2022_t1", "pres2022_t2"):
        total = sql(rhone_etl, "SELECT inscrits, votants, exprimes FROM fact_participation_territoire WHERE scrutin_id = ? AND code_territoire = '69'", [scrutin_id])
        communes = sql(rhone_etl, "SELECT SUM(inscrits) inscrits, SUM(votants) votants, SUM(exprimes) exprimes FROM fact_participation WHERE scrutin_id = ?", [scrutin_id])
        assert total.astype("int64").to_dict("records") == communes.astype("int64").to_dict("records")
        by_total = sql(rhone_etl, "SELECT candidat_id, voix FROM fact_resultat_territoire WHERE scrutin_id = ? AND code_territoire = '69' ORDER BY 1", [scrutin_id])
        by_commune = sql(rhone_etl, "SELECT candidat_id, SUM(voix) voix FROM fact_resultat_commune WHERE scrutin_id = ? GROUP BY 1 ORDER BY 1", [scrutin_id])
        assert by_total.astype("int64").equals(by_commune.astype("int64"))


def test_every_departement_has_pres2022_totals(rhone_etl: Path) -> None:
    """All COG départements but 977/978 (one Ministry unit, ZX) and 984/989 (no voters), plus ZX and ZZ."""
    departements = set(sql(rhone_etl, "SELECT code_departement FROM dim_departement")["code_departement"])
    for scrutin_id in ("pres2022_t1", "pres2022_t2"):
        found = set(sql(rhone_etl, "SELECT code_territoire FROM fact_participation_territoire WHERE scrutin_id = ? AND niveau = 'departement'", [scrutin_id])["code_territoire"])
        assert found == (departements - {"977", "978", "984", "989"}) | {"ZX", "ZZ"}, scrutin_id


def test_national_commune_file_totals_in_rhone_warehouse(rhone_etl: Path) -> None:
    """Totals summed from a national commune file before the Rhône filter: France = raw file, Rhône = facts."""
    france = sql(rhone_etl, "SELECT inscrits FROM fact_participation_territoire WHERE scrutin_id = 'pres2017_t1' AND niveau = 'france'")
    assert france["inscrits"].tolist() == [47_582_183]
    rhone = sql(rhone_etl, """SELECT t.scrutin_id, t.inscrits, t.exprimes, c.inscrits AS ci, c.exprimes AS ce
                               FROM fact_participation_territoire t
                               JOIN (SELECT scrutin_id, SUM(inscrits) inscrits, SUM(exprimes) exprimes FROM fact_participation GROUP BY 1) c USING (scrutin_id)
                               WHERE t.code_territoire = '69' AND t.methode = 'agregation_communes'""")
    assert {"pres2017_t1", "euro2019_t1", "leg2017_t1", "muni2026_t1"} <= set(rhone["scrutin_id"])
    assert (rhone["inscrits"] == rhone["ci"]).all() and (rhone["exprimes"] == rhone["ce"]).all()


def test_departements_sum_to_france(rhone_etl: Path) -> None:
    gaps = sql(rhone_etl, """SELECT f.scrutin_id FROM fact_participation_territoire f
                              JOIN (SELECT scrutin_id, SUM(inscrits) i, SUM(exprimes) e FROM fact_participation_territoire
                                    WHERE niveau = 'departement' GROUP BY 1) d USING (scrutin_id)
                              WHERE f.niveau = 'france' AND (f.inscrits <> d.i OR f.exprimes <> d.e)""")
    assert gaps.empty
    ballots = set(sql(rhone_etl, "SELECT DISTINCT scrutin_id FROM fact_participation_territoire")["scrutin_id"])
    assert {"pres2022_t1", "pres2022_t2", "leg2022_t2", "leg2024_t2", "pres2017_t1", "euro2014_t1", "muni2026_t1"} <= ballots


def test_rhone_muni2026_communes_and_lists_without_nuance(rhone_etl: Path, muni2026) -> None:
    """All 266 Rhône communes had at least one list; lists without nuance are in no bloc, and said so."""
    part = sql(rhone_etl, "SELECT COUNT(*) n FROM fact_participation WHERE scrutin_id = 'muni2026_t1'")
    assert part["n"].iloc[0] == 266
    rhone = muni2026.voix[muni2026.voix["code_commune_source"].str.startswith("69")]
    assert rhone["code_commune_source"].nunique() == 266
    without = set(rhone.loc[rhone["nuance"] == NO_NUANCE, "code_commune_source"])
    nc = sql(rhone_etl, "SELECT candidat_id, code_bloc FROM dim_candidat WHERE scrutin_id = 'muni2026_t1' AND nuance = ?", [NO_NUANCE])
    assert len(nc) == 1 and pd.isna(nc["code_bloc"].iloc[0])
    check = sql(rhone_etl, "SELECT severite, lignes_en_echec FROM dq_check WHERE regle LIKE '%aucun bloc%' AND table_name = 'fact_resultat_commune'")
    assert check.to_dict("records") == [{"severite": "avertissement", "lignes_en_echec": len(without)}]
    # A commune whose lists all lack a nuance has a bloc share of 0 in every political bloc.
    code = sorted(without)[0]
    shares = sql(rhone_etl, "SELECT SUM(part) s FROM v_resultat_bloc_commune WHERE scrutin_id = 'muni2026_t1' AND code_commune = ?", [code])
    assert shares["s"].iloc[0] == 0


def test_leg2022_t2_circonscription_file_sums_to_departement_file(mirror: Path) -> None:
    """The two Ministry files of the second round agree once circonscriptions are summed."""
    for scrutin_id, parse, dep_id, circo_id in (
        ("leg2022_t2", departement_totals.parse_leg2022_t2, "leg2022_t2_dep", "leg2022_t2_circo"),
        ("leg2024_t2", departement_totals.parse_leg2024_t2, "leg2024_t2_dep", "leg2024_t2_circo"),
    ):
        dep = parse(mirror / get_source(dep_id).mirror_path, scrutin_id)
        circo = parse(mirror / get_source(circo_id).mirror_path, scrutin_id)
        counts = ["code_territoire", "inscrits", "votants", "blancs", "nuls", "exprimes"]
        pd.testing.assert_frame_equal(dep.participation[counts].sort_values("code_territoire").reset_index(drop=True),
                                      circo.participation[counts].sort_values("code_territoire").reset_index(drop=True))
        keys = ["code_territoire", "nuance"]
        pd.testing.assert_series_equal(dep.voix.groupby(keys)["voix"].sum(), circo.voix.groupby(keys)["voix"].sum())
