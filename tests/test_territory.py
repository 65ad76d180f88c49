"""Territory totals from polls and recent ballots (models/territory.py, models/polls_aggregate.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from electio.features.election_data import ElectionData, cut_to_date
from electio.models.compositional import close
from electio.models.polls_aggregate import (
    HALF_LIFE_DAYS,
    calibrate_errors,
    default_hypothesis,
    hypothesis_spread,
    log_error,
    poll_aggregate,
    poll_errors,
)
from electio.models.territory import deviation_sd, national_results, territory_totals

BLOCS = ("gauche", "centre", "droite")
ROOT = Path(__file__).resolve().parents[1]


def poll(sid: str, target: str, institut: str | None, end: str, shares: dict[str, float], candidats: str = "A; B; C",
         sample: int = 1000, niveau: str = "candidat") -> list[dict]:
    """Rows of one scenario (one per bloc), in the loader's columns."""
    date = pd.Timestamp(end)
    return [{"sondage_id": sid, "scrutin_cible": target, "tour": 1, "niveau": niveau, "institut": institut,
             "date_debut": date - pd.Timedelta(days=2), "date_fin": date, "date_connue": date, "echantillon": sample,
             "candidats": candidats, "complet": True, "vague_glissante": False, "code_bloc": b, "intention": v}
            for b, v in shares.items()]


def polls_frame(*scenarios: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([row for scenario in scenarios for row in scenario])


def totals_rows(sid: str, kind: str, date: str, territory: str, shares: dict[str, float], abstention: float) -> list[dict]:
    level = "france" if territory == "FR" else "departement"
    base = {"scrutin_id": sid, "type_scrutin": kind, "tour": 1, "date_scrutin": pd.Timestamp(date), "niveau": level, "code_territoire": territory}
    return [{**base, "output": b, "part": v} for b, v in shares.items()] + [{**base, "output": "abstention", "part": abstention}]


def tiny_data(polls: pd.DataFrame, as_of: str = "2024-05-15") -> ElectionData:
    """Two européennes and one présidentielle for France and two départements, and some polls."""
    totals = pd.DataFrame(
        totals_rows("euro2014_t1", "europeennes", "2014-05-25", "FR", {"gauche": 0.40, "centre": 0.20, "droite": 0.40}, 0.57)
        + totals_rows("euro2014_t1", "europeennes", "2014-05-25", "69", {"gauche": 0.30, "centre": 0.30, "droite": 0.40}, 0.55)
        + totals_rows("euro2014_t1", "europeennes", "2014-05-25", "01", {"gauche": 0.35, "centre": 0.20, "droite": 0.45}, 0.58)
        + totals_rows("euro2019_t1", "europeennes", "2019-05-26", "FR", {"gauche": 0.30, "centre": 0.30, "droite": 0.40}, 0.50)
        + totals_rows("euro2019_t1", "europeennes", "2019-05-26", "69", {"gauche": 0.25, "centre": 0.40, "droite": 0.35}, 0.48)
        + totals_rows("euro2019_t1", "europeennes", "2019-05-26", "01", {"gauche": 0.28, "centre": 0.27, "droite": 0.45}, 0.52)
        + totals_rows("pres2022_t1", "presidentielle", "2022-04-10", "FR", {"gauche": 0.35, "centre": 0.30, "droite": 0.35}, 0.26)
        + totals_rows("pres2022_t1", "presidentielle", "2022-04-10", "69", {"gauche": 0.40, "centre": 0.35, "droite": 0.25}, 0.24)
        + totals_rows("pres2022_t1", "presidentielle", "2022-04-10", "01", {"gauche": 0.30, "centre": 0.30, "droite": 0.40}, 0.27))
    ballots = pd.DataFrame({"scrutin_id": ["euro2014_t1", "euro2019_t1", "pres2022_t1"], "type_scrutin": ["europeennes", "europeennes", "presidentielle"],
                            "date_scrutin": pd.to_datetime(["2014-05-25", "2019-05-26", "2022-04-10"])})
    for b in BLOCS:
        ballots[b] = True
    results = pd.DataFrame(columns=["scrutin_id", "code_commune", "code_departement", *[f"voix_{b}" for b in BLOCS], "inscrits", "votants", "exprimes"])
    full = ElectionData(BLOCS, ballots, results, None, "69", polls, totals, None, None)
    return cut_to_date(full, pd.Timestamp(as_of))


# ─── Poll aggregate ──────────────────────────────────────────────────────────────────────

def test_a_pollster_publishing_often_weighs_as_much_as_its_best_poll() -> None:
    frequent = [poll(f"a{i}", "euro2024_t1", "A", "2024-05-01", {"gauche": 30, "centre": 30, "droite": 40}) for i in range(3)]
    other = poll("b", "euro2024_t1", "B", "2024-05-01", {"gauche": 20, "centre": 40, "droite": 40})
    aggregate = poll_aggregate(polls_frame(*frequent, other), BLOCS, "euro2024_t1", as_of=pd.Timestamp("2024-05-15"))
    assert aggregate.shares["gauche"] == pytest.approx(0.25)
    assert aggregate.polls.groupby("institut")["poids"].sum().to_dict() == pytest.approx({"A": 0.5, "B": 0.5})


def test_recency_and_sample_set_the_weights() -> None:
    older = poll("old", "euro2024_t1", "A", "2024-04-17", {"gauche": 10, "centre": 40, "droite": 50})
    newer = poll("new", "euro2024_t1", "B", "2024-05-01", {"gauche": 40, "centre": 30, "droite": 30}, sample=4000)
    aggregate = poll_aggregate(polls_frame(older, newer), BLOCS, "euro2024_t1", as_of=pd.Timestamp("2024-05-15"))
    w_old, w_new = 0.5 ** (14 / HALF_LIFE_DAYS) * 1.0, 1.0 * 2.0  # half-life 14 days, √(4000 / 1000) = 2
    assert aggregate.shares["gauche"] == pytest.approx((0.1 * w_old + 0.4 * w_new) / (w_old + w_new))
    assert aggregate.shares.sum() == pytest.approx(1.0)


def test_hypotheses_are_not_averaged_and_their_gap_is_reported() -> None:
    united = [poll(f"u{i}", "pres2027_t1", f"P{i}", "2027-03-01", {"gauche": 30, "centre": 30, "droite": 40}, candidats="UNION; X; Y") for i in range(3)]
    split = poll("s", "pres2027_t1", "P9", "2027-03-02", {"gauche": 20, "centre": 35, "droite": 45}, candidats="A; B; X; Y")
    frame = polls_frame(*united, split)
    as_of = pd.Timestamp("2027-03-10")
    assert default_hypothesis(frame[frame["scrutin_cible"] == "pres2027_t1"], as_of) == "UNION; X; Y"
    chosen = poll_aggregate(frame, BLOCS, "pres2027_t1", as_of=as_of)
    assert chosen.shares["gauche"] == pytest.approx(0.30) and set(chosen.polls["candidats"]) == {"UNION; X; Y"}
    forced = poll_aggregate(frame, BLOCS, "pres2027_t1", hypothesis="A; B; X; Y", as_of=as_of)
    assert forced.shares["gauche"] == pytest.approx(0.20)
    spread = hypothesis_spread(frame, BLOCS, "pres2027_t1", chosen, as_of)
    assert spread["candidats"].tolist() == ["A; B; X; Y"] and spread["ecart_max"].iloc[0] == pytest.approx(10.0)


def test_log_error_and_calibration_grow_with_distance() -> None:
    error = log_error(np.array([0.2, 0.3, np.nan]), np.array([0.25, 0.25, 0.5]))
    assert np.isnan(error[2]) and error[0] == pytest.approx(np.log(0.4 / 0.5)) and error[1] == pytest.approx(np.log(0.6 / 0.5))
    errors = pd.DataFrame({"scrutin_cible": ["x", "x", "y", "y"], "jours": [7, 7, 200, 200], "distance": [7, 7, 200, 200],
                           "classe": [0, 0, 2, 2], "bloc": ["gauche", "centre", "gauche", "centre"], "erreur": [0.3, 0.1, 0.05, 0.05],
                           "part": [0.2, 0.5, 0.2, 0.5]})
    calibration = calibrate_errors(errors, BLOCS)
    s2 = (0.09 * 0.2 / 0.8 + 0.01 * 0.5 / 0.5) / 2  # mean of e² · p / (1 − p) over the ballot's blocs
    assert calibration.scale["< 1 mois"] == pytest.approx(np.sqrt(s2))
    assert (calibration.scale.diff().fillna(0) >= -1e-12).all()  # non-decreasing with distance
    assert calibration.ballots.tolist() == [1, 0, 1, 0]
    sd = calibration.at(7, np.array([0.05, 0.30, np.nan]))
    assert sd[0] == pytest.approx(np.sqrt(s2 * 0.95 / 0.05)) and sd[1] == pytest.approx(np.sqrt(s2 * 0.7 / 0.3)) and np.isnan(sd[2])
    assert sd[0] > sd[1]  # a small bloc errs more in log than a large one


def test_poll_and_deviation_spreads_use_only_ballots_before_the_as_of_date() -> None:
    """The territory sd of euro2024 as of 2024-05-15 is the same whether or not the warehouse already holds
    euro2024's polls, results and totals: the poll error scale and the deviation errors come from earlier ballots."""
    early = recent_polls()
    later_polls = polls_frame(poll("p24", "euro2024_t1", "C", "2024-06-05", {"gauche": 10, "centre": 10, "droite": 80}))
    without = tiny_data(early)
    with_later = tiny_data(pd.concat([early, later_polls], ignore_index=True))
    extra = pd.DataFrame(totals_rows("euro2024_t1", "europeennes", "2024-06-09", "FR", {"gauche": 0.1, "centre": 0.1, "droite": 0.8}, 0.5)
                         + totals_rows("euro2024_t1", "europeennes", "2024-06-09", "69", {"gauche": 0.6, "centre": 0.2, "droite": 0.2}, 0.4))
    full = ElectionData(BLOCS, without.ballots, without.results, None, "69", pd.concat([early, later_polls], ignore_index=True),
                        pd.concat([with_later.totals, extra], ignore_index=True), None, None)
    cut = cut_to_date(full, pd.Timestamp("2024-05-15"))
    assert "euro2024_t1" not in set(cut.totals["scrutin_id"]) and "p24" not in set(cut.polls["sondage_id"])
    date = pd.Timestamp("2024-06-09")
    reference = territory_totals(without, "euro2024_t1", "europeennes", date)
    replayed = territory_totals(cut, "euro2024_t1", "europeennes", date)
    np.testing.assert_allclose(replayed.sd, reference.sd)
    np.testing.assert_allclose(replayed.shares, reference.shares)
    assert "euro2024_t1" not in set(poll_errors(cut)["scrutin_cible"])


# ─── Territory totals ────────────────────────────────────────────────────────────────────

def recent_polls() -> pd.DataFrame:
    return polls_frame(poll("e1", "euro2024_t1", "A", "2024-05-01", {"gauche": 20, "centre": 40, "droite": 40}),
                       poll("p19", "euro2019_t1", "A", "2019-05-01", {"gauche": 25, "centre": 35, "droite": 40}),
                       poll("late", "euro2024_t1", "B", "2024-06-01", {"gauche": 50, "centre": 25, "droite": 25}))


def test_poll_driven_totals_apply_the_last_same_type_deviation() -> None:
    data = tiny_data(recent_polls())
    assert "late" not in set(data.polls["sondage_id"])  # the cut was made upstream, once
    forecast = territory_totals(data, "euro2024_t1", "europeennes", pd.Timestamp("2024-06-09"))
    national = np.array([0.2, 0.4, 0.4])
    deviation = np.log(np.array([0.25, 0.40, 0.35])) - np.log(np.array([0.30, 0.30, 0.40]))  # euro2019, not pres2022
    assert forecast.method == "sondages"
    np.testing.assert_allclose(forecast.shares, close((national * np.exp(deviation))[None])[0])
    assert forecast.abstention == pytest.approx(0.48)
    assert list(forecast.polls["sondage_id"]) == ["e1"]
    # the poll error measured on euro2019 (its polls vs its result) and the deviation's own error both enter
    error = log_error(np.array([0.25, 0.35, 0.40]), np.array([0.30, 0.30, 0.40]))
    assert np.all(forecast.sd[:3] > deviation_sd(data, "69")) and np.all(forecast.sd[:3] >= np.abs(error).min())
    assert any("1 scénario" in note for note in forecast.notes)


def test_without_polls_the_last_comparable_ballot_and_a_measured_drift() -> None:
    data = tiny_data(recent_polls(), as_of="2023-01-01")
    forecast = territory_totals(data, "euro2024_t1", "europeennes", pd.Timestamp("2024-06-09"), present=np.array([True, True, False]))
    assert forecast.method == "dernier_scrutin_comparable" and forecast.polls.empty
    national = national_results(data).loc["euro2019_t1", list(BLOCS)].to_numpy(float)
    deviation = np.log(np.array([0.25, 0.40, 0.35])) - np.log(national)
    expected = close((national * np.exp(deviation))[None], np.array([[True, True, False]]))[0]
    np.testing.assert_allclose(forecast.shares, expected)
    assert forecast.shares[2] == 0 and forecast.sd[2] == 0
    # one national pair of européennes (2014 → 2019): its swing per year sets the drift, over the years from 2019 to 2024
    swing = log_error(national, np.array([0.40, 0.20, 0.40]))
    per_year = swing ** 2 / ((pd.Timestamp("2019-05-26") - pd.Timestamp("2014-05-25")).days / 365.25)
    drift = (0.5 * per_year + 0.5 * per_year.mean()) * (pd.Timestamp("2024-06-09") - pd.Timestamp("2019-05-26")).days / 365.25
    np.testing.assert_allclose(forecast.sd[:2], np.sqrt(drift + deviation_sd(data, "69") ** 2)[:2])
    assert forecast.sd[-1] > 0


# ─── Real data ───────────────────────────────────────────────────────────────────────────

def load_replay():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("territory_replay", ROOT / "benchmarks" / "territory_replay.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.realdata
def test_real_poll_driven_totals_beat_the_old_territory_model(rhone_etl: Path) -> None:
    replay = load_replay()
    table = replay.replay(rhone_etl, offsets=replay.OFFSETS[:1])
    polled = table[table["methode"] == "sondages"]
    assert len(polled) >= 3, table  # pres2017, euro2019, pres2022, euro2024 had polls one month before
    assert (polled["mae_nouveau"] < polled["mae_ancien"]).sum() >= len(polled) - 1
    assert polled["mae_nouveau"].mean() < polled["mae_persistance"].mean()
    assert polled["couv80_nouveau"].mean() > polled["couv80_ancien"].mean()


@pytest.mark.realdata
def test_real_poll_error_calibration_covers_about_80_percent(rhone_etl: Path) -> None:
    from electio.features.election_data import load_election_data
    from electio.models.polls_aggregate import loo_coverage

    data = load_election_data(rhone_etl, as_of="2024-05-15")
    errors = poll_errors(data)
    assert {"pres2017_t1", "euro2019_t1", "pres2022_t1", "pres1995_t1"} <= set(errors["scrutin_cible"])
    assert "euro2024_t1" not in set(errors["scrutin_cible"])  # not yet voted on the as-of date
    coverage = loo_coverage(errors, data.blocs)
    assert 0.7 <= coverage.loc["< 1 mois", "couverture"] <= 0.9


# ─── Rules chosen on earlier ballots ─────────────────────────────────────────────────────

def test_a_withdrawn_list_loses_the_default_to_the_recent_polls() -> None:
    with_t = [poll(f"t{i}", "pres2022_t1", f"P{i}", day, {"gauche": 30, "centre": 30, "droite": 40}, candidats="A; B; T")
              for i, day in enumerate(["2022-01-20", "2022-01-25", "2022-02-01", "2022-02-10", "2022-02-20", "2022-03-01"])]
    without = [poll(f"n{i}", "pres2022_t1", f"Q{i}", "2022-03-08", {"gauche": 20, "centre": 35, "droite": 45}, candidats="A; B") for i in range(2)]
    rows = polls_frame(*with_t, *without)
    # six polls with T in the 60 days (weights 0.5^(age / 14 days): 0.23 at most for the last, 9 days old) against two polls
    # without T two days old (0.9 each): the list polled now wins, where a count over 60 days would keep the withdrawn one
    assert default_hypothesis(rows, pd.Timestamp("2022-03-10")) == "A; B"
    assert default_hypothesis(rows[rows["sondage_id"].str.startswith("t")], pd.Timestamp("2022-03-10")) == "A; B; T"


def smooth_data(deviations: list[list[float]]) -> ElectionData:
    """France constant, one département whose log deviations at euro2014, pres2017, euro2019, pres2022 are given."""
    france, dates = np.array([0.3, 0.3, 0.4]), ["2014-05-25", "2017-04-23", "2019-05-26", "2022-04-10"]
    ids, kinds = ["euro2014_t1", "pres2017_t1", "euro2019_t1", "pres2022_t1"], ["europeennes", "presidentielle", "europeennes", "presidentielle"]
    rows = []
    for sid, kind, day, deviation in zip(ids, kinds, dates, deviations, strict=True):
        local = close((france * np.exp(deviation))[None])[0]
        rows += totals_rows(sid, kind, day, "FR", dict(zip(BLOCS, france, strict=True)), 0.5)
        rows += totals_rows(sid, kind, day, "69", dict(zip(BLOCS, local, strict=True)), 0.5)
    ballots = pd.DataFrame({"scrutin_id": ids, "type_scrutin": kinds, "date_scrutin": pd.to_datetime(dates)})
    for b in BLOCS:
        ballots[b] = True
    results = pd.DataFrame(columns=["scrutin_id", "code_commune", "code_departement", *[f"voix_{b}" for b in BLOCS], "inscrits", "votants", "exprimes"])
    return cut_to_date(ElectionData(BLOCS, ballots, results, None, "69", None, pd.DataFrame(rows), None, None), pd.Timestamp("2024-05-15"))


def test_the_deviation_rule_is_the_one_that_predicted_earlier_ballots_better() -> None:
    from electio.models import territory
    from electio.models.territory import deviation_blend, deviation_table

    # a deviation drifting halfway between ballots: the mean of the same-type and the latest pres/euro ballot predicts it
    drifting = smooth_data([[0.0, 0.0, 0.0], [0.2, -0.1, 0.0], [0.1, -0.05, 0.0], [0.15, -0.075, 0.0]])
    assert deviation_blend(drifting, "europeennes")
    forecast = territory_totals(drifting, "euro2024_t1", "europeennes", pd.Timestamp("2024-06-09"))
    table = deviation_table(drifting, "69")[list(BLOCS)]
    mean = (table.loc["euro2019_t1"].to_numpy(float) + table.loc["pres2022_t1"].to_numpy(float)) / 2
    national = national_results(drifting).loc["pres2022_t1", list(BLOCS)].to_numpy(float)  # no poll: the last national first round
    np.testing.assert_allclose(forecast.shares, close((national * np.exp(mean))[None])[0])
    assert any("moyenne" in note for note in forecast.notes)
    # a deviation that alternates with the ballot type: the same-type deviation predicts it, and is kept
    alternating = smooth_data([[0.0, 0.0, 0.0], [0.3, -0.2, 0.0], [0.0, 0.0, 0.0], [0.3, -0.2, 0.0]])
    territory._MEASURED.clear()  # the memo keys on as-of date and frame sizes, the same for both made-up data sets
    assert not deviation_blend(alternating, "europeennes")
    kept = territory_totals(alternating, "euro2024_t1", "europeennes", pd.Timestamp("2024-06-09"))
    same = deviation_table(alternating, "69")[list(BLOCS)].loc["euro2019_t1"].to_numpy(float)
    np.testing.assert_allclose(kept.shares, close((national * np.exp(same))[None])[0])


def test_a_bloc_the_polls_test_stands_even_if_absent_from_the_last_same_type_ballot() -> None:
    from dataclasses import replace

    from electio.models.territory import standing_blocs

    data = tiny_data(recent_polls())
    ballots = data.ballots.copy()
    ballots.loc[ballots["scrutin_id"] == "euro2019_t1", "droite"] = False  # no droite list at the last européennes
    data = replace(data, ballots=ballots)
    assert standing_blocs(data, "euro2024_t1", "europeennes").tolist() == [True, True, True]  # the polls give droite 40 %
    without = replace(data, polls=data.polls[data.polls["code_bloc"] != "droite"])
    assert standing_blocs(without, "euro2024_t1", "europeennes").tolist() == [True, True, False]
