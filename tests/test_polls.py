"""Polls source family: parsers on tiny fixtures in the compilers' layouts, referential rules,
dedupe, quality contract; real-data checks on the mirror and on the Rhône warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio.errors import InputError
from electio.parse import polls_flavienganter, polls_misc, polls_mieuxvoter, polls_nsppolls, polls_pollsposition
from electio.pipeline import polls as pipeline

FIXTURES = Path(__file__).parent / "fixtures" / "polls"
MV = FIXTURES / "mieuxvoter"


def mieuxvoter(folder: Path = MV) -> polls_mieuxvoter.ParsedPolls:
    return polls_mieuxvoter.parse(folder / "presidentielle2027.csv", {n: folder / n for n in polls_mieuxvoter.COMPANIONS})


@pytest.fixture(scope="module")
def refs() -> dict:
    return pipeline.load_refs()


def copy_mieuxvoter(tmp_path: Path) -> Path:
    folder = tmp_path / "mv"
    folder.mkdir()
    for file in MV.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    return folder


# --- parsers -------------------------------------------------------------------------------

def test_mieuxvoter_scenarios_bounds_and_surnames() -> None:
    parsed = mieuxvoter()
    assert list(parsed.sondages["id_source"]) == ["20260101_0102_ve_A", "20260201_0202_ve_A", "20260301_0302_cl_A"]
    assert set(parsed.sondages["scrutin_cible"]) == {"pres2027_t1"}
    first = parsed.intentions[parsed.intentions["scenario"] == 0].set_index("option")
    assert first.loc["Jean-Luc Mélenchon", "borne_inf"] == pytest.approx(37.9)  # 40 - 2.1 (± deltas → bounds)
    assert first.loc["Marine Le Pen", "borne_sup"] == pytest.approx(62.5)
    assert first.loc["Marine Le Pen", "nom_famille"] == "Le Pen"
    assert parsed.intentions["ligne_source"].min() == 2


def test_mieuxvoter_unknown_hypothesis_names_file_and_line(tmp_path: Path) -> None:
    folder = copy_mieuxvoter(tmp_path)
    polls = folder / "polls.csv"
    polls.write_text(polls.read_text(encoding="utf-8").replace(",H78,", ",H99,"), encoding="utf-8")
    with pytest.raises(InputError, match="H99") as err:
        mieuxvoter(folder)
    assert err.value.line == 4 and err.value.path.endswith("polls.csv")


def test_nsppolls_scenarios_keep_absolute_bounds() -> None:
    parsed = polls_nsppolls.parse(FIXTURES / "nsppolls.csv")
    assert len(parsed.sondages) == 4
    assert list(parsed.sondages["tour"]) == [1, 1, 1, 2]
    assert parsed.sondages["vague_glissante"].tolist() == [True, True, True, False]
    first = parsed.intentions.iloc[0]
    assert (first["intention"], first["borne_inf"], first["borne_sup"]) == (60, 58, 62)


def test_pollsposition_2017_dates_take_the_id_year() -> None:
    parsed = polls_pollsposition.parse_pres2017(FIXTURES / "pollsposition_2017.json")
    row = parsed.sondages.iloc[0]
    assert (row["date_debut"], row["date_fin"]) == (date(2017, 4, 18), date(2017, 4, 20))
    assert row["population"].startswith("Sûrs") and row["scrutin_cible"] == "pres2017_t1"


def test_flavienganter_fractions_become_percent(tmp_path: Path) -> None:
    pyreadr = pytest.importorskip("pyreadr")
    frame = pd.DataFrame({
        "id": [1.0, 1.0], "id_hyp": [1, 1], "year": [2022.0, 2022.0], "month_start": [12.0, 12.0], "day_start": [30.0, 30.0],
        "month_end": [1.0, 1.0], "day_end": [3.0, 3.0], "house": ["ifop", "ifop"], "unsure": ["included"] * 2,
        "poll_type": ["rolling"] * 2, "n_t1": [931.0] * 2, "candidate": ["c_macron", "c_lepen"], "share": [0.515, 0.485],
    })
    path = tmp_path / "PollsData.RData"
    pyreadr.write_rdata(str(path), frame, df_name="data")
    parsed = polls_flavienganter.parse_pres2022(path)
    row = parsed.sondages.iloc[0]
    assert (row["date_debut"], row["date_fin"]) == (date(2021, 12, 30), date(2022, 1, 3))
    assert row["vague_glissante"]
    assert parsed.intentions["intention"].tolist() == [51.5, 48.5]


def test_wide_tables_oost_and_harvilehal() -> None:
    oost = polls_misc.parse_oost_pres2017(FIXTURES / "oost_2017.csv")
    assert len(oost.sondages) == 2 and oost.sondages["institut_source"].isna().all()
    assert set(oost.intentions["option"]) == {"Macron", "Le Pen"}  # empty cells = not tested
    leg = polls_misc.parse_harvilehal(FIXTURES / "harvilehal.csv")
    assert set(leg.sondages["niveau"]) == {"bloc"} and len(leg.intentions) == 16


# --- referentials, contract, dedupe --------------------------------------------------------

def test_verian_spellings_and_h78_exclusion_on_fixture(refs: dict) -> None:
    tables = pipeline.poll_tables([("mv", mieuxvoter())], refs)
    dim = tables["dim_sondage"]
    assert set(dim["institut"]) == {"Verian"}
    assert "H78" not in set(dim["hypothese_id"])
    assert set(tables["fact_intention_vote"]["code_bloc"]) == {"gauche_radicale", "extreme_droite"}


def test_unknown_pollster_names_file_and_row(tmp_path: Path, refs: dict) -> None:
    folder = copy_mieuxvoter(tmp_path)
    polls = folder / "polls.csv"
    polls.write_text(polls.read_text(encoding="utf-8").replace(",verian,", ",Institut Imaginaire,"), encoding="utf-8")
    with pytest.raises(InputError, match="Institut Imaginaire") as err:
        pipeline.poll_tables([("mv", mieuxvoter(folder))], refs)
    assert err.value.line == 3 and err.value.path.endswith("polls.csv")


def test_scenario_at_130_percent_is_an_error(tmp_path: Path, refs: dict) -> None:
    folder = copy_mieuxvoter(tmp_path)
    results = folder / "presidentielle2027.csv"
    text = results.read_bytes().decode("utf-8").replace("Mélenchon,La France Insoumise,,,,40,", "Mélenchon,La France Insoumise,,,,70,", 1)
    results.write_bytes(text.encode("utf-8"))
    with pytest.raises(InputError, match="130.00 %") as err:
        pipeline.poll_tables([("mv", mieuxvoter(folder))], refs)
    assert err.value.line == 2


def test_duel_must_sum_to_100(tmp_path: Path, refs: dict) -> None:
    path = tmp_path / "nsppolls.csv"
    path.write_text((FIXTURES / "nsppolls.csv").read_text(encoding="utf-8").replace(",45,47,43,", ",42,47,43,"), encoding="utf-8")
    with pytest.raises(InputError, match="second tour"):
        pipeline.poll_tables([("nsp", polls_nsppolls.parse(path))], refs)


def test_unmapped_candidate_fails_loudly(tmp_path: Path, refs: dict) -> None:
    path = tmp_path / "oost.csv"
    path.write_text("date,Macron,Inconnu\n2017-04-21,60,40\n", encoding="utf-8")
    with pytest.raises(InputError, match="INCONNU") as err:
        pipeline.poll_tables([("oost", polls_misc.parse_oost_pres2017(path))], refs)
    assert err.value.line == 2


def test_rolling_waves_keep_disjoint_windows(refs: dict) -> None:
    dim = pipeline.poll_tables([("nsp", polls_nsppolls.parse(FIXTURES / "nsppolls.csv"))], refs)["dim_sondage"]
    rolling = dim[dim["vague_glissante"]].sort_values("date_fin")
    # latest wave 06→09 kept; 03→06 overlaps it (ends on its first day); 02→05 ends before: kept
    assert [(r.date_debut, r.date_fin) for r in rolling.itertuples()] == [(date(2022, 1, 2), date(2022, 1, 5)), (date(2022, 1, 6), date(2022, 1, 9))]


def test_dedupe_keeps_one_copy_from_the_priority_compiler(refs: dict) -> None:
    parsed = [("oost", polls_misc.parse_oost_pres2017(FIXTURES / "oost_2017.csv")),
              ("pp", polls_pollsposition.parse_pres2017(FIXTURES / "pollsposition_2017.json"))]
    tables = pipeline.poll_tables(parsed, refs)
    dim = tables["dim_sondage"].set_index("date_fin")
    # pollsposition (priority 2) Ifop 04-18→20 = oost 04-21 (end ±1 day, Macron 55.5 vs 55, Le Pen 44.5 vs 44)
    assert len(dim) == 2
    assert dim.loc[date(2017, 4, 20), "compilateurs"] == "pollsposition, oost"
    assert dim.loc[date(2017, 4, 20), "institut"] == "Ifop"
    assert dim.loc[date(2017, 4, 19), "compilateur"] == "oost"  # 50/50: more than 1 point away, another poll
    cover = tables["couverture_sondage"].iloc[0]
    assert (cover["nb_scenarios"], cover["nb_scenarios_avant_dedoublonnage"]) == (2, 3)


def test_harvilehal_result_row_dropped_by_exclusion(refs: dict) -> None:
    dim = pipeline.poll_tables([("leg", polls_misc.parse_harvilehal(FIXTURES / "harvilehal.csv"))], refs)["dim_sondage"]
    assert list(dim["date_fin"]) == [date(2024, 6, 28)]


# --- real data -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_tables(mirror: Path) -> dict[str, pd.DataFrame]:
    from electio.pipeline.lineage import Lineage

    return pipeline.build_polls(Lineage("FR"), lambda _msg: None)


@pytest.mark.realdata
def test_real_2027_polls_hypotheses_and_exclusions(real_tables: dict, mirror: Path) -> None:
    dim = real_tables["dim_sondage"]
    p27 = dim[dim["scrutin_cible"].str.startswith("pres2027")]
    raw = pd.read_csv(mirror / "polls/pres2027/mieuxvoter/polls.csv")
    hypotheses = pd.read_csv(mirror / "polls/pres2027/mieuxvoter/hypotheses.csv")
    assert len(p27) == len(raw) - 1  # every scenario but H78
    assert "H78" not in set(p27["hypothese_id"])
    assert set(p27["hypothese_id"].dropna()) == set(hypotheses["id_hypothese"]) - {"H78"}
    assert p27["date_fin"].max() == pd.to_datetime(raw["fin_enquete"]).max().date() <= date(2026, 7, 10)
    assert "verian" not in set(p27["institut"]) and "Verian" in set(p27["institut"])
    assert p27["complet"].all()


@pytest.mark.realdata
def test_real_dedupe_pres2022(real_tables: dict) -> None:
    dim, cover = real_tables["dim_sondage"], real_tables["couverture_sondage"].set_index(["scrutin_cible", "niveau"])
    p22 = dim[dim["scrutin_cible"] == "pres2022_t1"]
    row = cover.loc[("pres2022_t1", "candidat")]
    assert row["nb_scenarios"] == len(p22) < row["nb_scenarios_avant_dedoublonnage"]
    # BVA's last poll before the 2022 first round (5–7 April) is in all four compilers: kept once
    last_bva = p22[(p22["institut"] == "BVA") & (p22["date_fin"] == date(2022, 4, 7))]
    assert len(last_bva) == 1
    assert set(last_bva["compilateurs"].iloc[0].split(", ")) == {"nsppolls", "pollsposition", "flavienganter", "oost"}
    assert last_bva["compilateur"].iloc[0] == "nsppolls"
    # a poll found only by a lower-priority compiler is kept from it
    assert {"flavienganter", "oost"} <= set(p22["compilateur"])


@pytest.mark.realdata
def test_real_euro2024_flagged_incomplete_and_leg2024_results_dropped(real_tables: dict, mirror: Path) -> None:
    dim = real_tables["dim_sondage"]
    euro = dim[dim["scrutin_cible"] == "euro2024_t1"]
    assert len(euro) > 0 and not euro["complet"].any()
    assert euro["somme_intentions"].between(83, 95).all()
    leg = dim[dim["scrutin_cible"] == "leg2024_t1"]
    raw = pd.read_csv(mirror / "polls/leg2024/harvilehal/poll.csv")
    assert len(leg) == len(raw) - 2
    assert leg["date_fin"].max() < date(2024, 6, 30)


@pytest.mark.realdata
def test_real_bloc_results_kept_apart(real_tables: dict, mirror: Path) -> None:
    raw = pd.read_csv(mirror / "polls/multi/pollsposition/tour1_complet_unitedfl.csv")
    results = real_tables["resultat_bloc_sondage"]
    assert results.groupby(["scrutin_cible", "date_scrutin"]).ngroups == (raw["sondage"] == "result").sum()
    dim = real_tables["dim_sondage"]
    assert not dim["institut"].isin(["result", "seats"]).any()
    euro19 = results[results["scrutin_cible"] == "euro2019_t1"].set_index("option")["part"]
    assert euro19["nbfarright"] == pytest.approx(23.34)  # RN 23.34 % in the official 2019 result


@pytest.mark.realdata
def test_rhone_warehouse_holds_the_polls(rhone_etl: Path) -> None:
    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        n = con.execute("SELECT count(*) FROM dim_sondage WHERE scrutin_cible = 'pres2027_t1'").fetchone()[0]
        orphans = con.execute("SELECT count(*) FROM fact_intention_vote f ANTI JOIN dim_sondage d USING (sondage_id)").fetchone()[0]
        steps = con.execute("SELECT count(*) FROM etl_step WHERE etape = 'parse_sondages'").fetchone()[0]
        comments = con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'dim_sondage' AND comment IS NULL").fetchone()[0]
    assert n > 0 and orphans == 0 and steps == len(pipeline.poll_sources()) and comments == 0


def test_catalogue_poll_parsers_resolve() -> None:
    import importlib

    from electio.catalogue import catalogue

    declared = [s for s in catalogue().values() if s.folder == "polls" and s.parser]
    assert {s.parser.rpartition(".")[0] for s in declared} >= {"polls_mieuxvoter", "polls_nsppolls", "polls_pollsposition",
                                                              "polls_flavienganter", "polls_misc"}
    for source in declared:
        module, _, function = source.parser.rpartition(".")
        assert callable(getattr(importlib.import_module(f"electio.parse.{module}"), function)), source.id
    per_scenario = [s for s in catalogue().values() if s.mirror_path.startswith("polls/pres2027/mieuxvoter/polls/")]
    assert per_scenario and not any(s.charger for s in per_scenario)  # they equal the consolidated CSV


@pytest.mark.realdata
def test_real_polls_per_target_ballot(real_tables: dict) -> None:
    cover = real_tables["couverture_sondage"].set_index(["scrutin_cible", "niveau"])
    before, after = cover["nb_scenarios_avant_dedoublonnage"], cover["nb_scenarios"]
    # one compiler and no rolling waves: nothing to merge
    for key in [("pres2027_t1", "candidat"), ("pres2027_t2", "candidat"), ("euro2019_t1", "candidat"),
                ("leg2024_t1", "bloc"), ("pres2017_t2", "candidat")]:
        assert after[key] == before[key], key
    # several compilers of the same polls: merged
    for key in [("pres2022_t1", "candidat"), ("pres2022_t2", "candidat"), ("pres2017_t1", "candidat")]:
        assert after[key] < before[key], key
    dim = real_tables["dim_sondage"]
    p17 = dim[dim["scrutin_cible"].str.startswith("pres2017") & (dim["compilateur"] == "pollsposition")]
    assert p17["date_fin"].max() <= date(2017, 5, 7)  # 2021 in the raw dates: year taken from the ids
    assert p17["date_debut"].min() >= date(2017, 1, 1)


def test_consecutive_rolling_waves_of_one_file_are_not_merged(refs: dict) -> None:
    from electio.harmonise import polls as harmonise

    parsed = polls_nsppolls.parse(FIXTURES / "nsppolls.csv")
    sondages, options, _ = pipeline.harmonised(parsed, "nsp", refs, refs["assignments"])
    deduped = harmonise.dedupe(sondages.assign(_order=sondages["scenario"]), options, refs["compilers"])
    # waves 02→05 and 03→06: same pollster, ends one day apart, shares within 1 point, but two compiler ids
    assert deduped["doublon_de"].isna().all()


def test_mieuxvoter_published_candidates_match_the_hypothesis(tmp_path: Path) -> None:
    folder = copy_mieuxvoter(tmp_path)
    hypotheses = folder / "hypotheses.csv"
    hypotheses.write_text(hypotheses.read_text(encoding="utf-8").replace('H1,"Jean-Luc Mélenchon,', 'H1,"Fabien Roussel,'),
                          encoding="utf-8")
    with pytest.raises(InputError, match="hypothèse H1") as err:
        mieuxvoter(folder)
    assert err.value.line == 2
