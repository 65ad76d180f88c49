"""Lyon by arrondissement on the real Rhône warehouse: exact totals against the raw files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.realdata

COUNTS = ["inscrits", "votants", "blancs", "nuls", "exprimes"]
MEASURED = {"pres2017_t1", "pres2017_t2", "pres2022_t1", "leg2022_t1", "euro2024_t1", "leg2024_t1"}
ESTIMATED = {"pres2012_t1", "pres2012_t2", "euro2014_t1", "euro2019_t1", "leg2017_t1", "leg2017_t2", "pres2022_t2", "muni2026_t1"}
LYON = "69123"


def _query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


def test_measured_and_estimated_ballots(rhone_etl: Path) -> None:
    kinds = _query(rhone_etl, "SELECT scrutin_id, bool_and(estime) AS estime, count(*) AS n "
                              "FROM fact_participation_arrondissement GROUP BY scrutin_id")
    kinds = kinds.set_index("scrutin_id")
    assert set(kinds.index[~kinds["estime"]]) == MEASURED
    assert set(kinds.index[kinds["estime"]]) == ESTIMATED
    arrondissements = _query(rhone_etl, "SELECT scrutin_id, count(*) AS n FROM fact_participation_arrondissement "
                                        "WHERE code_unite BETWEEN '69381' AND '69389' GROUP BY scrutin_id")
    assert (arrondissements["n"] == 9).all() and len(arrondissements) == len(kinds)


def test_units_sum_to_the_commune_for_every_ballot(rhone_etl: Path) -> None:
    sums = ", ".join(f"sum({c}) AS {c}" for c in COUNTS)
    units = _query(rhone_etl, f"SELECT scrutin_id, {sums} FROM fact_participation_arrondissement GROUP BY scrutin_id")
    commune = _query(rhone_etl, f"SELECT scrutin_id, {', '.join(COUNTS)} FROM fact_participation WHERE code_commune = '{LYON}'")
    merged = units.merge(commune, on="scrutin_id", suffixes=("_unites", ""))
    assert len(merged) == len(MEASURED | ESTIMATED)
    for column in COUNTS:
        assert (merged[f"{column}_unites"].fillna(-1) == merged[column].fillna(-1)).all(), column
    gap = _query(rhone_etl, f"""
        SELECT c.scrutin_id, c.candidat_id, c.voix, u.voix AS voix_unites
        FROM fact_resultat_commune c
        FULL JOIN (SELECT scrutin_id, candidat_id, sum(voix) AS voix FROM fact_resultat_arrondissement
                   GROUP BY ALL) u USING (scrutin_id, candidat_id)
        WHERE (c.code_commune = '{LYON}' OR c.code_commune IS NULL) AND c.voix IS DISTINCT FROM u.voix""")
    assert gap.empty, gap.head()


def test_pres2022_units_match_the_raw_bureau_file(rhone_etl: Path, mirror: Path) -> None:
    raw = pd.read_csv(mirror / "elections/pres2022_t1/2022-pres-t1-bureau-rhone-69.csv", sep=";", dtype=str)
    lyon = raw[raw["Code de la commune"].str.strip() == "123"]
    arrondissement = lyon["Code du b.vote"].str[:2].map(lambda p: "69123_HA" if p == "00" else f"6938{int(p)}")
    expected = lyon[["Inscrits", "Votants", "Exprimés"]].astype(int).groupby(arrondissement.to_numpy()).sum()
    units = _query(rhone_etl, "SELECT code_unite, inscrits, votants, exprimes FROM fact_participation_arrondissement "
                              "WHERE scrutin_id = 'pres2022_t1'").set_index("code_unite").sort_index()
    assert units["inscrits"].to_dict() == expected["Inscrits"].to_dict()
    assert units["exprimes"].to_dict() == expected["Exprimés"].to_dict()
    audit = _query(rhone_etl, "SELECT count(*) AS n FROM map_bureau_unite WHERE scrutin_id = 'pres2022_t1'")
    assert audit["n"].iloc[0] == len(lyon)


def test_pres2017_units_match_the_raw_bureau_file(rhone_etl: Path, mirror: Path) -> None:
    raw = pd.read_csv(mirror / "elections/pres2017_t1/2017-presidentielle-1_par_bureau_large.csv.gz", dtype=str,
                      usecols=["departement", "commune", "bureau", "inscrits", "exprimes", "MACRON"])
    lyon = raw[(raw["departement"] == "69") & (raw["commune"] == "123")]
    assert lyon["bureau"].str.fullmatch(r"0[1-9][0-9]{2}").all()  # audit: every bureau has its arrondissement
    expected = lyon[["inscrits", "exprimes", "MACRON"]].astype(int).groupby(("6938" + lyon["bureau"].str[1]).to_numpy()).sum()
    units = _query(rhone_etl, """
        SELECT p.code_unite, p.inscrits, p.exprimes, r.voix AS macron
        FROM fact_participation_arrondissement p
        JOIN fact_resultat_arrondissement r USING (scrutin_id, code_unite)
        JOIN dim_candidat c ON c.candidat_id = r.candidat_id
        WHERE p.scrutin_id = 'pres2017_t1' AND c.candidat = 'MACRON'""").set_index("code_unite").sort_index()
    assert units["inscrits"].to_dict() == expected["inscrits"].to_dict()
    assert units["macron"].to_dict() == expected["MACRON"].to_dict()


def test_unit_views_keep_the_rhone_totals(rhone_etl: Path) -> None:
    by_unit = _query(rhone_etl, "SELECT scrutin_id, sum(inscrits) AS i, sum(exprimes) AS e, count(*) AS n "
                                "FROM v_participation_unite GROUP BY scrutin_id").set_index("scrutin_id")
    by_commune = _query(rhone_etl, "SELECT scrutin_id, sum(inscrits) AS i, sum(exprimes) AS e, count(*) AS n "
                                   "FROM v_participation_commune GROUP BY scrutin_id").set_index("scrutin_id")
    assert (by_unit[["i", "e"]] == by_commune.loc[by_unit.index, ["i", "e"]]).all().all()
    lyon_units = _query(rhone_etl, "SELECT count(*) AS n FROM fact_participation_arrondissement "
                                   "WHERE scrutin_id = 'pres2022_t1'")["n"].iloc[0]
    assert by_unit.at["pres2022_t1", "n"] == by_commune.at["pres2022_t1", "n"] - 1 + lyon_units
    blocs = _query(rhone_etl, "SELECT scrutin_id, bloc, sum(voix) AS v FROM v_resultat_bloc_unite GROUP BY ALL")
    blocs_commune = _query(rhone_etl, "SELECT scrutin_id, bloc, sum(voix) AS v FROM v_resultat_bloc_commune GROUP BY ALL")
    merged = blocs.merge(blocs_commune, on=["scrutin_id", "bloc"], suffixes=("", "_c"))
    assert len(merged) == len(blocs_commune) and (merged["v"] == merged["v_c"]).all()
    units = _query(rhone_etl, "SELECT * FROM dim_unite WHERE code_commune = '69123'")
    assert len(units) == 10 and units.loc[units["type_unite"] == "arrondissement", "population"].notna().all()


def _raw_bureaux(mirror: Path) -> dict[str, pd.DataFrame]:
    """(departement, commune, bureau) of the three cities in every national bureau-level raw file."""
    import pyreadr

    from electio.parse.rds_long import _leg2022_frame

    cities = {("75", "056"), ("69", "123"), ("13", "055")}
    frames = {}
    for tour in (1, 2):
        raw = pd.read_csv(mirror / f"elections/pres2017_t{tour}/2017-presidentielle-{tour}_par_bureau_large.csv.gz",
                          dtype=str, usecols=["departement", "commune", "bureau"])
        frames[f"pres2017_t{tour}"] = raw
    for scrutin_id, name in (("euro2024_t1", "euro2024_t1/reinaldodos_europeennes-2024_output_resultats.rds"),
                             ("leg2024_t1", "leg2024_t1/reinaldodos_legislatives-2024_resultats-bdv-T1.rds")):
        raw = next(iter(pyreadr.read_r(str(mirror / "elections" / name)).values()))
        frames[scrutin_id] = raw[["code_du_departement", "code_de_la_commune", "code_du_b_vote"]].set_axis(
            ["departement", "commune", "bureau"], axis=1)
    raw = _leg2022_frame(mirror / "elections/leg2022_t1/reinaldodos_legislatives-2022_sankey_donnees.rds")
    frames["leg2022_t1"] = pd.DataFrame({"departement": raw["code_du_departement"].astype(str),
                                         "commune": raw["code_de_la_commune"].astype(str).str.zfill(3),
                                         "bureau": raw["code_du_b_vote"].astype(str)})
    for key, frame in frames.items():
        frame = frame.astype(str).drop_duplicates()
        pairs = pd.Series(list(zip(frame["departement"], frame["commune"], strict=True)), index=frame.index)
        frames[key] = frame[pairs.isin(cities)]
    return frames


def test_every_bureau_of_paris_lyon_marseille_maps_to_one_unit(mirror: Path) -> None:
    """Audit of the rule on the raw files: only Lyon's bureau 0001 (2022 on) is outside the arrondissements."""
    from electio.harmonise import units

    declared = units.load_units()
    for scrutin_id, frame in _raw_bureaux(mirror).items():
        bureaux = pd.DataFrame({"code_commune_source": frame["departement"] + frame["commune"], "bureau": frame["bureau"]})
        assert bureaux["bureau"].str.fullmatch(r"[0-9]{4}").all(), scrutin_id
        found = units.bureau_units(bureaux, declared, Path(scrutin_id))  # raises on a bureau without unit
        per_city = found.groupby(bureaux["code_commune_source"].to_numpy()).nunique()
        assert (per_city["13055"], per_city["75056"], per_city["69123"] in (9, 10)) == (16, 20, True), scrutin_id
        outside = bureaux[found.str.endswith("_HA")]
        assert set(outside["bureau"]) <= {"0001"} and set(outside["code_commune_source"]) <= {"69123"}, scrutin_id
