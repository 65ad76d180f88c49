"""Replays of the whole forecast as of past dates (issue 14, items 4–5): no leak past the as-of date,
the real ballot's id and results, the cache, and storage in ``model_evaluation``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio.features.election_data import cut_to_date, latest_dates, load_election_data
from electio.forecasts import replays as rp
from electio.forecasts.targets import target_table
from electio.models.goals import REPLAY_NOISE_FLOOR, REPLAY_RETAINED, replay_goal_table

LEARNER = "ridge_logratio"  # the cheapest learner: these tests check the replay's plumbing, not the model choice
AS_OF = pd.Timestamp("2024-05-15")


def test_goal_table_marks_a_missing_replay_as_missed() -> None:
    """A goal whose replay was not run has no value and is not reached (never silently passed)."""
    table = replay_goal_table(pd.DataFrame(columns=rp.REPLAY_COLUMNS), REPLAY_RETAINED, REPLAY_NOISE_FLOOR)
    assert len(table) == 4 and not table["atteint"].any() and table["valeur"].isna().all()


@pytest.fixture(scope="module")
def euro2024(rhone_etl: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[rp.ReplayResult, Path]:
    """The euro2024 replay as of 2024-05-15 on the Rhône, computed once (cache folder kept for the cache test)."""
    folder = tmp_path_factory.mktemp("replay_cache")
    return rp.run_replays(rhone_etl, LEARNER, ballots=["euro2024_t1"], offsets=[0], folder=folder), folder


@pytest.mark.realdata
def test_replay_sees_nothing_dated_after_its_date(rhone_etl: Path) -> None:
    full = load_election_data(rhone_etl)
    case = next(c for c in rp.replay_cases(full, ["euro2024_t1"]) if c.horizon_ans == 0)
    assert case.as_of == AS_OF
    data = cut_to_date(full, case.as_of)
    for name, newest in latest_dates(data).items():
        assert newest is None or newest < AS_OF, name
    target = rp.replay_target(case, frozenset(full.ballots["type_scrutin"]))
    assert target is not None and target.scrutin_cible == "euro2024_t1"
    tables = rp.calibration_tables(data, target.horizon_ans)
    for table in tables.values():  # every training and calibration row belongs to a ballot held before the date
        assert (table["date_scrutin"] < AS_OF).all()
        assert "euro2024_t1" not in set(table["scrutin_id"])
    calibration = rp.calibration_predictions(tables, data.blocs, LEARNER, target.horizon_ans, fast=True)
    assert calibration and all(p.date < AS_OF and p.conditionnel for p in calibration)
    base = target_table(data, target)
    assert set(base["scrutin_id"]) == {"euro2024_t1"}
    latest = data.ballots["scrutin_id"].iloc[-1]  # weights: the last ballot known on the date, never the ballot forecast
    known = data.results[data.results["scrutin_id"] == latest].set_index("code_commune")["exprimes"]
    assert (base.set_index("code_commune")["exprimes"] == known.reindex(base["code_commune"])).all()
    real = full.results[full.results["scrutin_id"] == "euro2024_t1"].set_index("code_commune")["exprimes"]
    assert not (base.set_index("code_commune")["exprimes"] == real.reindex(base["code_commune"])).all()


@pytest.mark.realdata
def test_replay_is_scored_on_the_real_ballot_and_stored(euro2024: tuple[rp.ReplayResult, Path], rhone_copy: Path) -> None:
    from electio.warehouse.store import replace_stage_tables

    result, _ = euro2024
    rows = result.rows
    assert result.misses == 1 and not result.skipped
    assert set(rows["scrutin_test"]) == {"euro2024_t1"} and set(rows["date_reference"]) == {AS_OF.date()}
    assert set(rows["modele"]) == set(rp.REPLAY_MODELS)
    means = rows[(rows["bloc"] == "moyenne") & (rows["classe_taille"] == "toutes")].set_index(["modele", "metrique"])["valeur"]
    for metric in ("mae", "acc_tete", "brier_blocs", "couv80", "couv95"):
        value = means[(rp.RETAINED, metric)]
        assert 0 <= value <= (100 if metric == "mae" else 1), metric
    # scored against the real results: the noise floor uses the real ballot's exprimés, the MAE is above it
    assert 0 < means[(rp.NOISE_FLOOR, "mae")] < means[(rp.RETAINED, "mae")]
    stored = replace_stage_tables(rhone_copy, "models.sql", {"model_evaluation": rows}, {})
    assert stored["model_evaluation"] == len(rows)
    with duckdb.connect(str(rhone_copy), read_only=True) as con:
        back = con.execute("SELECT count(*), min(date_reference), max(date_reference) FROM model_evaluation WHERE modele = ?", [rp.RETAINED]).fetchone()
    assert back[0] == int((rows["modele"] == rp.RETAINED).sum()) and back[1] == back[2] == AS_OF.date()


@pytest.mark.realdata
def test_replay_cache_is_hit_then_missed_when_an_input_changes(euro2024: tuple[rp.ReplayResult, Path], rhone_etl: Path) -> None:
    first, folder = euro2024
    again = rp.run_replays(rhone_etl, LEARNER, ballots=["euro2024_t1"], offsets=[0], folder=folder)
    assert (again.hits, again.misses) == (1, 0)
    pd.testing.assert_frame_equal(again.rows, first.rows)
    full = load_election_data(rhone_etl)
    case = next(c for c in rp.replay_cases(full, ["euro2024_t1"]) if c.horizon_ans == 0)
    data = cut_to_date(full, case.as_of)
    key = rp.replay_key(data, case, LEARNER, frozenset())
    changed = data.results.copy()
    changed.loc[changed.index[0], "exprimes"] += 1
    assert rp.replay_key(replace(data, results=changed), case, LEARNER, frozenset()) != key
    assert rp.replay_key(data, case, "lightgbm", frozenset()) != key
    shuffled = data.results.sample(frac=1.0, random_state=0)  # another ETL run: the same rows in another order
    assert rp.replay_key(replace(data, results=shuffled), case, LEARNER, frozenset()) == key
    assert rp.replay_key(data, case, LEARNER, frozenset()) == key
