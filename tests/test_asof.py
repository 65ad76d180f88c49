"""The as-of cut: nothing dated on or after a forecast's as-of date reaches it, through any path.

Unit tests on tiny frames for the cut and the information dates of longer-horizon backtests; a
real-data test poisons every input dated on or after the as-of date in a copy of the Rhône
warehouse (indicators, commune results, France and département totals, polls) and checks that the
cut data, the modelling table (features and training rows), the target rows (weights) and the
territory totals are exactly the same as with the true warehouse.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from electio.errors import ElectioError
from electio.features.election_data import ElectionData, cut_to_date, latest_dates, load_election_data
from electio.features.modelling_table import build_modelling_table, information_date, known_ballots
from electio.models.backtest import test_ballots as ballots_to_test

AS_OF = pd.Timestamp("2024-05-15")


def tiny_data() -> ElectionData:
    ballots = pd.DataFrame({"scrutin_id": ["pres2012_t1", "euro2014_t1", "pres2017_t1", "euro2019_t1", "pres2022_t1"],
                            "type_scrutin": ["presidentielle", "europeennes", "presidentielle", "europeennes", "presidentielle"],
                            "date_scrutin": pd.to_datetime(["2012-04-22", "2014-05-25", "2017-04-23", "2019-05-26", "2022-04-10"]),
                            "a": True, "b": True})
    results = pd.DataFrame({"scrutin_id": ballots["scrutin_id"].repeat(2).to_numpy(), "code_commune": ["1", "2"] * 5, "code_departement": "69",
                            "voix_a": 10.0, "voix_b": 20.0, "inscrits": 50, "votants": 35, "exprimes": 30})
    indicators = pd.DataFrame({"code_commune": ["1", "1"], "indicateur": ["x", "x"], "annee": [2019, 2021], "valeur": [1.0, 2.0],
                               "date_publication": pd.to_datetime(["2021-06-30", "2022-04-10"])})
    polls = pd.DataFrame({"sondage_id": ["s1", "s2"], "date_connue": pd.to_datetime(["2022-04-08", "2022-04-10"])})
    return ElectionData(("a", "b"), ballots, results, indicators, "69", polls=polls)


def test_cut_keeps_only_what_was_public_strictly_before_the_date() -> None:
    cut = cut_to_date(tiny_data(), pd.Timestamp("2022-04-10"))
    assert cut.ballots["scrutin_id"].tolist() == ["pres2012_t1", "euro2014_t1", "pres2017_t1", "euro2019_t1"]
    assert set(cut.results["scrutin_id"]) == set(cut.ballots["scrutin_id"])
    assert cut.indicators["annee"].tolist() == [2019]  # the 2021 value is published on the day itself
    assert cut.polls["sondage_id"].tolist() == ["s1"]
    assert all(d is None or d < pd.Timestamp("2022-04-10") for d in latest_dates(cut).values())
    with pytest.raises(ValueError):
        cut_to_date(cut, pd.Timestamp("2023-01-01"))  # data already cut cannot be un-cut


def test_longer_horizon_rows_know_only_ballots_before_their_information_date() -> None:
    ballots = tiny_data().ballots
    # pres2022 at 5 years: made the day after pres2017 (4.97 years before, rounded to 5): euro2019 is not known.
    assert information_date(ballots, "pres2022_t1", 5) == pd.Timestamp("2017-04-24")
    assert known_ballots(ballots, "pres2022_t1", 5)["scrutin_id"].tolist() == ["pres2012_t1", "euro2014_t1", "pres2017_t1"]
    assert information_date(ballots, "pres2022_t1") == pd.Timestamp("2022-04-10")


def test_longer_horizon_backtests_train_only_on_rows_known_on_the_information_date() -> None:
    table = build_modelling_table(tiny_data(), horizon=5)
    known_on = table.groupby("scrutin_id")["date_information"].first()
    dates = table.groupby("scrutin_id")["date_scrutin"].first()
    for test in ballots_to_test(table):
        assert (dates < known_on[test]).any()
    assert "euro2019_t1" not in ballots_to_test(table)  # at 5 years only pres2012/euro2014 are older: no training row before 2014-05-26


@pytest.mark.realdata
def test_as_of_date_in_the_future_or_too_early_is_refused(rhone_etl: Path) -> None:
    with pytest.raises(ElectioError, match="futur"):
        load_election_data(rhone_etl, as_of=pd.Timestamp.today() + pd.Timedelta(days=30))
    with pytest.raises(ElectioError, match="trop ancienne"):
        load_election_data(rhone_etl, as_of="2012-05-01")


def poison(warehouse: Path, as_of: pd.Timestamp) -> None:
    """Change every input dated on or after ``as_of``: indicator values, commune and territory results, polls."""
    day = as_of.date().isoformat()
    with duckdb.connect(str(warehouse)) as con:
        later = f"(SELECT scrutin_id FROM dim_scrutin WHERE date_scrutin >= DATE '{day}')"
        con.execute(f"UPDATE fact_indicateur_commune SET valeur = valeur * 7 + 3 WHERE date_publication >= DATE '{day}'")
        con.execute(f"UPDATE fact_resultat_commune SET voix = voix * 3 + 11 WHERE scrutin_id IN {later}")
        con.execute(f"UPDATE fact_resultat_territoire SET voix = voix * 5 + 1 WHERE scrutin_id IN {later}")
        con.execute(f"UPDATE fact_participation_territoire SET votants = votants / 2 WHERE scrutin_id IN {later}")
        con.execute(f"UPDATE fact_intention_vote SET intention = 100 - intention WHERE sondage_id IN "
                    f"(SELECT sondage_id FROM dim_sondage WHERE coalesce(date_publication, date_fin) >= DATE '{day}')")


def assert_same(left: pd.DataFrame | None, right: pd.DataFrame | None) -> None:
    if left is None or right is None:
        assert left is None and right is None
        return
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))


@pytest.mark.realdata
def test_nothing_dated_after_the_as_of_date_reaches_a_forecast(rhone_etl: Path, rhone_copy: Path) -> None:
    from electio.forecasts.targets import Target, target_table
    from electio.models.territory import territory_totals

    full = load_election_data(rhone_etl)
    assert full.ballots["date_scrutin"].max() >= AS_OF and full.polls["date_connue"].max() >= AS_OF  # the poison has something to change
    poison(rhone_copy, AS_OF)
    true, poisoned = load_election_data(rhone_etl, as_of=AS_OF), load_election_data(rhone_copy, as_of=AS_OF)
    assert all(d is None or d < AS_OF for d in latest_dates(true).values())
    for name in ("ballots", "results", "indicators", "polls", "totals", "poll_history"):
        assert_same(getattr(true, name), getattr(poisoned, name))
    # features and training rows (the modelling table), longer-horizon rows (calibration of the intervals) alike
    assert_same(build_modelling_table(true), build_modelling_table(poisoned))
    assert_same(build_modelling_table(true, horizon=2), build_modelling_table(poisoned, horizon=2))
    target = Target("euro2024_t1", "europeennes", pd.Timestamp("2024-06-09"), 1)
    rows = target_table(true, target)
    assert_same(rows, target_table(poisoned, target))  # weights: exprimés and inscrits of the last known ballot
    assert (rows["scrutin_dernier"] == "leg2022_t1").all()
    a, b = territory_totals(true, "euro2024_t1", "europeennes", target.date), territory_totals(poisoned, "euro2024_t1", "europeennes", target.date)
    np.testing.assert_array_equal(a.shares, b.shares)
    np.testing.assert_array_equal(a.sd, b.sd)
    assert a.method == "sondages" and (pd.to_datetime(a.polls["date_fin"]) < AS_OF).all()
    # and the poison does reach the uncut data: the test would see a leak
    assert not load_election_data(rhone_copy).totals.equals(full.totals)


def test_a_ballot_called_by_a_dissolution_is_unknown_before_its_announcement() -> None:
    from electio.forecasts.calendar import load_calendar
    from electio.forecasts.targets import forecast_targets

    calendar = load_calendar()
    before = [t.scrutin_cible for t in forecast_targets(calendar, AS_OF)[0]]
    after = [t.scrutin_cible for t in forecast_targets(calendar, pd.Timestamp("2024-06-10"))[0]]
    assert before[0] == "euro2024_t1" and "leg2024_t1" not in before
    assert "leg2024_t1" in after and "euro2024_t1" not in after
