"""Forecasts: simulation on tiny hand-made arrays, scenarios, trajectories, calibration, and the stage on the Rhône."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from electio.cli import app
from electio.errors import InputError
from electio.features.modelling_table import BALLOT_TYPES
from electio.forecasts import scenarios as sc
from electio.forecasts.calendar import CALENDAR_CSV, load_calendar
from electio.forecasts.simulate import QUANTILES, commune_draws, lead_probabilities, self_coverage, summarise
from electio.forecasts.targets import forecast_targets, stored_targets, target_frame
from electio.forecasts.trajectories import damped_sum, project, reference_year
from electio.forecasts.uncertainty import brier, closest_horizon, reliability, territory_draws, yearly_variance
from electio.models.compositional import rake, rake_draws, shift_to_mean, shift_to_mean_draws
from test_dashboard import warehouse  # noqa: F401  (session fixture: the Rhône home with a fast evaluation and forecasts)

BLOCS = ("gauche", "centre", "droite")


# ─── Tiny hand-made simulation ───────────────────────────────────────────────────────────

@pytest.fixture()
def tiny() -> dict[str, np.ndarray]:
    """Five communes, three blocs (the third absent in one commune), 40 territory draws, residuals."""
    rng = np.random.default_rng(3)
    present = np.ones((5, 3), bool)
    present[4, 2] = False
    territory = rng.dirichlet([8, 6, 4], size=40)
    return {
        "deviation": rng.normal(0, 0.4, size=(5, 4)), "present": present, "exprimes": np.array([100.0, 2500, 800, 40, 1200]),
        "inscrits": np.array([180.0, 4000, 1300, 70, 2000]), "territory": territory, "abstention": rng.uniform(0.2, 0.5, 40),
        "residuals": rng.normal(0, 0.03, size=(40, 5, 4)),
    }


def draws_of(tiny: dict[str, np.ndarray], territory: np.ndarray | None = None, abstention: np.ndarray | None = None):
    return commune_draws(tiny["deviation"], tiny["present"], tiny["exprimes"], tiny["inscrits"],
                         tiny["territory"] if territory is None else territory, tiny["abstention"] if abstention is None else abstention,
                         tiny["residuals"])


def test_each_commune_sums_to_one_and_territory_is_reproduced(tiny) -> None:
    shares, abstention = draws_of(tiny)
    np.testing.assert_allclose(shares.sum(axis=-1), 1.0, atol=1e-12)
    assert (shares >= 0).all() and (shares[:, 4, 2] == 0).all()
    weights = tiny["exprimes"] / tiny["exprimes"].sum()
    np.testing.assert_allclose(np.einsum("n,dnk->dk", weights, shares), tiny["territory"], atol=1e-9)
    np.testing.assert_allclose(abstention @ (tiny["inscrits"] / tiny["inscrits"].sum()), tiny["abstention"], atol=1e-9)
    stats = summarise(shares, abstention, tiny["present"])
    np.testing.assert_allclose(stats["moyenne"][:, :3].sum(axis=1), 1.0, atol=1e-12)


def test_quantiles_are_ordered_and_contain_mean_and_median(tiny) -> None:
    stats = summarise(*draws_of(tiny), tiny["present"])
    levels = np.stack([stats[name] for name in QUANTILES])
    assert (np.diff(levels, axis=0) >= -1e-15).all()
    assert ((stats["q025"] <= stats["moyenne"]) & (stats["moyenne"] <= stats["q975"])).all()
    assert ((stats["q10"] <= stats["q50"]) & (stats["q50"] <= stats["q90"])).all()


def test_lead_probabilities_sum_to_one_and_absent_blocs_never_lead(tiny) -> None:
    shares, abstention = draws_of(tiny)
    lead = summarise(shares, abstention, tiny["present"])["p_tete"]
    np.testing.assert_allclose(lead[:, :3].sum(axis=1), 1.0)
    assert np.isnan(lead[:, 3]).all() and lead[4, 2] == 0
    by_hand = np.array([[[0.5, 0.3, 0.2]], [[0.2, 0.5, 0.3]], [[0.6, 0.1, 0.3]], [[0.1, 0.2, 0.7]]])
    np.testing.assert_allclose(lead_probabilities(by_hand, np.ones((1, 3), bool)), [[0.5, 0.25, 0.25]])


def test_a_three_point_swing_moves_the_territory_total_by_exactly_three_points(tiny) -> None:
    base_shares, _ = draws_of(tiny)
    moved, rates = sc.apply_swings(tiny["territory"], tiny["abstention"], BLOCS, {"droite": 3.0})
    np.testing.assert_allclose(moved[:, 2] - tiny["territory"][:, 2], 0.03, atol=1e-15)
    np.testing.assert_allclose(moved.sum(axis=1), 1.0)
    np.testing.assert_allclose(moved[:, 0] / moved[:, 1], tiny["territory"][:, 0] / tiny["territory"][:, 1])  # others scaled alike
    np.testing.assert_array_equal(rates, tiny["abstention"])
    shares, _ = draws_of(tiny, moved, rates)
    weights = tiny["exprimes"] / tiny["exprimes"].sum()
    before, after = np.einsum("n,dnk->dk", weights, base_shares), np.einsum("n,dnk->dk", weights, shares)
    np.testing.assert_allclose(after[:, 2] - before[:, 2], 0.03, atol=1e-9)
    np.testing.assert_allclose(after.mean(axis=0)[2] - before.mean(axis=0)[2], 0.03, atol=1e-9)


def test_swings_keep_shares_valid() -> None:
    shares, rates = sc.apply_swings(np.array([0.5, 0.3, 0.2]), np.array(0.3), BLOCS, {"gauche": -60.0, "abstention": 2.0})
    np.testing.assert_allclose(shares, [0.0, 0.6, 0.4])
    assert rates == pytest.approx(0.32)
    with pytest.raises(ValueError):
        sc.apply_swings(np.array([0.5, 0.3, 0.2]), np.array(0.3), BLOCS, {"gauche": 40.0, "centre": 40.0})


def test_batched_reconciliation_matches_the_backtests_one() -> None:
    rng = np.random.default_rng(0)
    shares, weights = rng.dirichlet([2, 3, 1, 4], size=(6, 30)), rng.uniform(10, 1000, 30)
    totals = rng.dirichlet([5, 5, 2, 3], size=6)
    batched = rake_draws(shares.copy(), weights, totals)
    rates, targets = rng.uniform(0.1, 0.6, size=(6, 30)), rng.uniform(0.2, 0.5, 6)
    shifted = shift_to_mean_draws(rates, weights, targets)
    for d in range(6):
        np.testing.assert_allclose(batched[d], rake(shares[d], weights, totals[d]), atol=1e-9)
        np.testing.assert_allclose(shifted[d], shift_to_mean(rates[d], weights, float(targets[d])), atol=1e-9)


# ─── Territory uncertainty, trajectories, targets ────────────────────────────────────────

def test_yearly_variance_and_territory_draws_by_hand() -> None:
    table = pd.DataFrame({"gauche": [0.2, -0.4], "centre": [0.6, np.nan], "abstention": [0.1, 0.3], "annees": [5.0, 2.0]})
    variance = yearly_variance(table)
    own = {"gauche": (0.04 / 5 + 0.16 / 2) / 2, "centre": 0.36 / 5}
    pooled = (0.04 / 5 + 0.16 / 2 + 0.36 / 5) / 3
    assert variance["gauche"] == pytest.approx(own["gauche"] / 2 + pooled / 2)
    assert variance["centre"] == pytest.approx(own["centre"] / 2 + pooled / 2)
    assert variance["abstention"] == pytest.approx((0.01 / 5 + 0.09 / 2) / 2)
    normals = np.random.default_rng(1).standard_normal((4000, 4))
    center, var = np.array([0.5, 0.3, 0.2]), np.array([0.04, 0.04, 0.04, 0.01])
    near, far = (territory_draws(center, 0.4, var, h, normals) for h in (1, 4))
    np.testing.assert_allclose(near[0].sum(axis=1), 1.0)
    assert far[0].std(axis=0)[0] > 1.5 * near[0].std(axis=0)[0] and far[1].std() > 1.5 * near[1].std()
    np.testing.assert_allclose(near[0].mean(axis=0), center, atol=1e-9)  # draws reconciled to the central totals
    assert near[1].mean() == pytest.approx(0.4, abs=1e-9)
    assert (np.median(far[0], axis=0)[1:] < center[1:]).all()  # right-skewed: the median of the smaller blocs lies below


def test_damped_trend_by_hand() -> None:
    rows = [("69001", "taux_chomage", year, value, pd.Timestamp(f"{year + 2}-07-01")) for year, value in ((2017, 8.0), (2018, 9.0), (2019, 10.0))]
    rows += [("69001", "part_cadres", 2019, 99.0, pd.Timestamp("2022-07-01")), ("69001", "part_cadres", 2018, 95.0, pd.Timestamp("2021-07-01"))]
    indicators = pd.DataFrame(rows, columns=["code_commune", "indicateur", "annee", "valeur", "date_publication"])
    assert reference_year(pd.Timestamp("2023-04-10"), 1.5) == 2020
    known = project(indicators, pd.Timestamp("2021-04-10"), frozenset({"part_cadres"}))
    assert known.loc["69001", "taux_chomage"] == 9.0  # 2019 not yet published on that date: the 2018 value
    future = project(indicators, pd.Timestamp("2025-04-10"), frozenset({"part_cadres"}))
    assert future.loc["69001", "taux_chomage"] == pytest.approx(10.0 + 1.0 * damped_sum(3))  # reference year 2022, trend +1/year
    assert damped_sum(3) == pytest.approx(0.8 + 0.64 + 0.512)
    assert future.loc["69001", "part_cadres"] == 100.0  # a percentage stays ≤ 100


def test_targets_are_the_calendar_ballots_after_the_as_of_date() -> None:
    calendar = load_calendar()
    targets, skipped = forecast_targets(calendar, pd.Timestamp("2026-12-01"), frozenset({"presidentielle", "europeennes", "legislatives"}))
    assert [(t.scrutin_cible, t.horizon_ans, t.statut) for t in targets] == [
        ("pres2027_t1", 1, "prevu"), ("leg2027_t1", 1, "hypothese"), ("euro2029_t1", 3, "prevu"), ("leg2029_t1", 3, "prevu")]
    assert all(t.date > pd.Timestamp("2026-12-01") for t in targets)
    assert targets[0].libelle == "Présidentielle 2027, 1er tour (11 avril 2027, date prévue)"
    assert {s.scrutin_id for s in skipped} == {"pres2027_t2", "reg2028_t1", "dep2028_t1"}
    # Replayed in the past, a target carries the id of the real ballot it forecasts.
    replay, _ = forecast_targets(calendar, pd.Timestamp("2024-05-15"), frozenset({"europeennes", "presidentielle", "legislatives"}))
    # leg2024 was called by the dissolution of 9 June 2024: unknown on 15 May.
    assert [t.scrutin_cible for t in replay][:2] == ["euro2024_t1", "pres2027_t1"] and replay[0].horizon_ans == 1
    assert [closest_horizon([2, 3, 5], h) for h in (1, 2, 3, 4, 5)] == [2, 2, 3, 5, 5]


def test_target_table_lists_the_ballots_left_out() -> None:
    calendar = load_calendar()
    as_of = pd.Timestamp("2026-12-01")
    targets, skipped = forecast_targets(calendar, as_of, frozenset({"presidentielle"}))
    frame = target_frame(calendar, targets, skipped, as_of)
    assert list(frame.loc[frame["prevu"], "scrutin_cible"]) == ["pres2027_t1"]
    left = frame[~frame["prevu"]].set_index("scrutin_cible")["raison_exclusion"]
    assert "second tour" in left["pres2027_t2"] and "ne prévoit pas" in left["euro2029_t1"]
    assert [t.scrutin_cible for t in stored_targets(frame)] == ["pres2027_t1"]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("type_scrutin", "senatoriales", "type de scrutin inconnu"), ("statut", "probable", "statut inconnu"),
    ("tour", "3", "tour invalide"), ("date_scrutin", "2027-13-01", "date invalide"), ("annonce_le", "9 juin", "date invalide dans annonce_le")])
def test_bad_calendar_row_names_the_file_and_line(tmp_path: Path, field: str, value: str, message: str) -> None:
    rows = list(csv.DictReader(CALENDAR_CSV.open(encoding="utf-8")))
    rows[3][field] = value
    path = tmp_path / "calendrier.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(InputError, match=message) as caught:
        load_calendar(path)
    assert caught.value.line == 5 and "calendrier.csv" in str(caught.value)


# ─── Scenarios and calibration ───────────────────────────────────────────────────────────

def test_scenario_file_and_command_line_settings() -> None:
    named = sc.load_scenarios(sc.DEFAULT_FILE)
    assert {"poussee_extreme_droite", "remontee_gauche", "degradation_emploi"} <= set(named)
    assert named["poussee_extreme_droite"].swing == {"extreme_droite": 5.0}
    assert sc.parse_assignment("extreme_droite=+3") == ("extreme_droite", 3.0)
    assert sc.parse_assignment(" taux_chomage = -1,5 ") == ("taux_chomage", -1.5)
    with pytest.raises(ValueError):
        sc.parse_assignment("extreme_droite+3")
    custom = sc.custom_scenario(["centre=+2"], ["taux_chomage=+1"])
    assert custom.nom == sc.CUSTOM and '"centre": 2.0' in custom.parametres
    with pytest.raises(ValueError):
        sc.check_scenario(custom, ["centre"], ["revenu_median"])


def test_reliability_bins_and_brier_by_hand() -> None:
    p = np.array([0.05, 0.15, 0.95, 0.92, 0.5, 1.0])
    o = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    table = reliability(p, o).set_index("classe")
    assert table["effectif"].tolist() == [1, 1, 0, 0, 0, 1, 0, 0, 0, 3]
    assert table.loc[9, "proba_moyenne"] == pytest.approx((0.95 + 0.92 + 1.0) / 3)
    assert table.loc[9, "frequence_observee"] == pytest.approx(2 / 3)
    assert table.loc[1, "frequence_observee"] == 1.0 and np.isnan(table.loc[2, "proba_moyenne"])
    assert table.loc[9, "borne_basse"] == pytest.approx(0.9) and table.loc[9, "borne_haute"] == 1.0
    assert brier(p, o) == pytest.approx(sum((a - b) ** 2 for a, b in zip(p, o, strict=True)) / len(p))


def test_forecasts_ddl_is_commented_and_portable() -> None:
    ddl = (Path(__file__).parents[1] / "src" / "electio" / "warehouse" / "forecasts.sql").read_text(encoding="utf-8")
    assert "DOUBLE" not in ddl.upper() and "FLOAT8" in ddl
    with duckdb.connect() as con:
        con.execute(ddl)
        uncommented = "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal AND comment IS NULL"
        assert con.execute(uncommented).fetchall() == []
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE comment IS NULL").fetchone()[0] == 0
        columns = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'fact_prevision' ORDER BY column_index").fetchall()]
        parents = {r[0] for r in con.execute("SELECT referenced_table FROM duckdb_constraints() WHERE table_name = 'fact_prevision' AND constraint_type = 'FOREIGN KEY'").fetchall()}
    assert parents == {"dim_scenario", "dim_scrutin_cible"}
    assert columns == ["scenario", "horizon_ans", "scrutin_cible", "code_commune", "bloc", "moyenne", "q025", "q10", "q50", "q90", "q975", "p_tete"]


# ─── The stage on the Rhône (public mirror) ──────────────────────────────────────────────

@pytest.fixture(scope="module")
def forecast_run(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Path]]:  # noqa: F811
    """One ``electio forecast`` (few draws) in a copy of the session's evaluated Rhône home (test_dashboard's ``warehouse``:
    the ETL and a fast evaluation, made once per session); the command replaces every forecast table and file."""
    home = tmp_path_factory.mktemp("home_prevision")
    shutil.copytree(warehouse.parents[2], home, dirs_exist_ok=True)
    path = home / warehouse.relative_to(warehouse.parents[2])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ELECTIO_HOME", str(home))
        result = CliRunner().invoke(app, ["forecast", "--entrepot", str(path), "--tirages", "400", "--commune", "Villeurbanne",
                                          "--scenario", "poussee_extreme_droite", "--swing", "extreme_droite=+3", "--indicateur", "taux_chomage=+2"], env={"COLUMNS": "220"})
        assert result.exit_code == 0, result.output
        yield path, result.output, home / "output" / "previsions"


def todays_targets() -> list:
    """The targets ``electio forecast`` picks today from the calendar."""
    return forecast_targets(load_calendar(), pd.Timestamp(date.today()), frozenset(BALLOT_TYPES))[0]


@pytest.mark.realdata
def test_forecast_tables_are_consistent(forecast_run) -> None:
    warehouse, output, _ = forecast_run
    with duckdb.connect(str(warehouse), read_only=True) as con:
        facts = con.sql("SELECT * FROM fact_prevision").df()
        stored = con.sql("SELECT * FROM dim_scrutin_cible").df()
        scenarios = set(con.sql("SELECT scenario FROM dim_scenario").df()["scenario"])
        calibration = con.sql("SELECT * FROM forecast_calibration").df()
    assert scenarios == {"tendance", "personnalise", "poussee_extreme_droite"} == set(facts["scenario"])
    expected = todays_targets()
    assert set(facts["scrutin_cible"]) == {t.scrutin_cible for t in expected} == set(stored.loc[stored["prevu"], "scrutin_cible"])
    assert (pd.to_datetime(stored["date_scrutin"]) > pd.Timestamp(date.today())).all()
    assert (pd.to_datetime(stored["date_reference"]) == pd.Timestamp(date.today())).all()
    horizons = facts.groupby("scrutin_cible")["horizon_ans"].first()
    assert all(horizons[t.scrutin_cible] == t.horizon_ans for t in expected)
    assert "scénario « Tendance »" in output and "Présidentielle" in output and "Extrême droite" in output
    assert facts["code_commune"].nunique() == 275 and "69" in set(facts["code_commune"])  # 274 units (Lyon as 9 arrondissements) + the territory
    blocs = facts[facts["bloc"] != "abstention"]
    np.testing.assert_allclose(blocs.groupby(["scenario", "scrutin_cible", "code_commune"])["moyenne"].sum(), 1.0, atol=1e-9)
    np.testing.assert_allclose(blocs.groupby(["scenario", "scrutin_cible", "code_commune"])["p_tete"].sum(), 1.0, atol=1e-9)
    ordered = facts[["q025", "q10", "q50", "q90", "q975"]].to_numpy()
    assert (np.diff(ordered, axis=1) >= -1e-12).all() and ((facts["q025"] <= facts["moyenne"]) & (facts["moyenne"] <= facts["q975"])).all()
    territory = facts[facts["code_commune"] == "69"].pivot_table(index=["scrutin_cible", "bloc"], columns="scenario", values="moyenne")
    moved = territory.xs("extreme_droite", level="bloc")
    np.testing.assert_allclose(moved["personnalise"] - moved["tendance"], 0.03, atol=1e-9)
    assert set(calibration["source"]) == {"backtest", "simulation"} and (calibration["brier"].between(0, 1)).all()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        targets = con.sql("SELECT * FROM dim_scrutin_cible").df().set_index("scrutin_cible")
    assert set(targets.index[targets["prevu"]]) == set(facts["scrutin_cible"]) and targets.loc["pres2027_t1", "libelle"].startswith("Présidentielle")
    assert targets.loc["pres2027_t1", "statut"] == "prevu" and targets.loc["leg2027_t1", "statut"] == "hypothese"
    assert targets.loc[~targets["prevu"], "raison_exclusion"].notna().all()


@pytest.mark.realdata
def test_forecast_files_open(forecast_run) -> None:
    _, _, folder = forecast_run
    expected = todays_targets()
    first, last = expected[0].scrutin_cible, expected[-1].scrutin_cible
    for name in ("courbes_territoire", "courbes_commune_69266", f"chaleur_{first}", f"carte_proba_tete_{last}",
                 f"carte_proba_seuil_{first}", "proba_tete_barres", "comparaison_scenarios", "fiabilite_proba_tete"):
        image = matplotlib.image.imread(folder / f"{name}.png")
        assert image.shape[0] > 500 and image.shape[1] > 500 and image.std() > 0.01, name
    for page in folder.glob("*.html"):
        assert "plotly-graph-div" in page.read_text(encoding="utf-8"), page.name
    raw = (folder / "previsions.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, first = raw.decode("utf-8-sig").splitlines()[:2]
    assert header.split(";") == ["scenario", "horizon_ans", "scrutin_cible", "libelle_cible", "date_cible", "code_commune", "nom_commune", "bloc",
                                 "libelle_bloc", "moyenne_pct", "q025_pct", "q10_pct", "q50_pct", "q90_pct", "q975_pct", "p_tete_pct",
                                 "date_reference", "methode_totaux", "nb_sondages", "sondage_debut", "sondage_fin", "instituts",
                                 "hypothese_candidats", "autres_hypotheses"]
    table = pd.read_csv(folder / "previsions.csv", sep=";", decimal=",", encoding="utf-8-sig", dtype={"code_commune": str})
    assert table["date_reference"].nunique() == 1 and table["date_cible"].notna().all()  # as-of date and each target's real date
    polled = table[table["methode_totaux"] == "sondages"]
    assert (polled["nb_sondages"] > 0).all() and polled["sondage_fin"].notna().all() and (polled["sondage_fin"] < polled["date_reference"]).all()
    assert table["nom_commune"].notna().all() and table["libelle_cible"].notna().all() and table["libelle_bloc"].notna().all()
    assert table.loc[table["code_commune"] == "69383", "nom_commune"].iloc[0] == "Lyon 3e Arrondissement"  # Lyon by arrondissement
    assert "69123" not in set(table["code_commune"])
    assert table["moyenne_pct"].between(0, 100).all() and table["moyenne_pct"].max() > 1  # percentages, not fractions
    assert "," in first.split(";")[9] and "." not in first.split(";")[9]


def test_one_ballot_coverage_varies_widely_when_the_territory_error_is_shared() -> None:
    """Draws with a common (territory) shift: one draw taken as the truth is inside the 80 % intervals of far more or
    far fewer than 80 % of the communes, where independent commune errors give about 80 % every time."""
    rng = np.random.default_rng(0)
    n, draws = 300, 2000
    present = np.ones((n, 2), bool)
    local = rng.normal(0, 0.02, (draws, n, 2))
    shared = rng.normal(0, 0.05, (draws, 1, 2))
    independent = self_coverage(0.3 + local, present)
    common = self_coverage(0.3 + local + shared, present)
    assert abs(independent.mean() - 0.8) < 0.02 and independent.std() < 0.03
    assert abs(common.mean() - 0.8) < 0.03 and common.std() > 3 * independent.std()
    assert np.quantile(common, 0.95) > 0.93  # here a calibrated forecast shows 93 %+ on one ballot once in twenty
