"""Models: leak-free features, compositional forecasts, baselines, metrics, intervals, stage output."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from electio.features.modelling_table import (
    assemble,
    ballot_profile,
    build_modelling_table,
    feature_columns,
    outputs,
    stacked_design,
    stacked_weights,
)
from electio.models import baselines, intervals, metrics, proper_scores
from electio.models.backtest import all_methods, backtest, lead_base_rate, territory_truth
from electio.models.compositional import clr_deviation, close, from_deviation, rake, shift_to_mean
from electio.models.intervals import calibrate_chain
from electio.warehouse.store import write_tables

BLOCS = ("gauche", "centre", "droite", "extreme_droite")
BALLOTS = pd.DataFrame({
    "scrutin_id": ["pres2012_t1", "euro2014_t1", "pres2017_t1", "leg2017_t1", "euro2019_t1", "pres2022_t1"],
    "type_scrutin": ["presidentielle", "europeennes", "presidentielle", "legislatives", "europeennes", "presidentielle"],
    "date_scrutin": pd.to_datetime(["2012-04-22", "2014-05-25", "2017-04-23", "2017-06-11", "2019-05-26", "2022-04-10"]),
})
ABSENT = {("pres2017_t1", "gauche")}  # a bloc that did not stand: exercises the absent-bloc rules


def synthetic(seed: int = 0, communes: int = 24) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Long bloc results, participation and dated indicators of a small fake territory."""
    rng = np.random.default_rng(seed)
    codes = [f"69{i:03d}" for i in range(1, communes + 1)]
    lean = rng.normal(0, 0.5, size=(communes, len(BLOCS)))
    size = rng.integers(80, 3000, size=communes)
    long, participation = [], []
    for b, ballot in enumerate(BALLOTS["scrutin_id"]):
        national = np.log(rng.dirichlet(np.ones(len(BLOCS)) * 5))
        stood = np.array([(ballot, bloc) not in ABSENT for bloc in BLOCS])
        for i, code in enumerate(codes):
            logits = np.where(stood, national + lean[i] + rng.normal(0, 0.2, len(BLOCS)), -np.inf)
            p = np.exp(logits - logits.max())
            inscrits = int(size[i] * (1 + 0.05 * b))
            votants = int(inscrits * rng.uniform(0.4, 0.8))
            voix = rng.multinomial(votants - 2, p / p.sum())
            participation.append((ballot, code, inscrits, votants, votants - 2))
            long += [(ballot, code, "69", bloc, int(v)) for bloc, v, s in zip(BLOCS, voix, stood, strict=True) if s]
    indicators = pd.DataFrame([(code, "revenu_median", year, float(rng.normal(20000, 3000)), pd.Timestamp(f"{year + 3}-01-01"))
                               for code in codes for year in range(2010, 2022)],
                              columns=["code_commune", "indicateur", "annee", "valeur", "date_publication"])
    return (pd.DataFrame(long, columns=["scrutin_id", "code_commune", "code_departement", "bloc", "voix"]),
            pd.DataFrame(participation, columns=["scrutin_id", "code_commune", "inscrits", "votants", "exprimes"]), indicators)


def data_from(long: pd.DataFrame, participation: pd.DataFrame, indicators: pd.DataFrame | None):
    return assemble(BLOCS, BALLOTS[["scrutin_id", "type_scrutin", "date_scrutin"]], long, participation, indicators)


@pytest.fixture(scope="module")
def parts() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return synthetic()


@pytest.fixture(scope="module")
def table(parts):
    return build_modelling_table(data_from(*parts))


# ─── Leakage ─────────────────────────────────────────────────────────────────────────────

def perturbed(parts, date: pd.Timestamp, seed: int):
    """Every value of ballots on or after ``date``, and every indicator published then or later, changed."""
    long, participation, indicators = (frame.copy() for frame in parts)
    rng = np.random.default_rng(seed)
    later = set(BALLOTS.loc[BALLOTS["date_scrutin"] >= date, "scrutin_id"])
    hit = long["scrutin_id"].isin(later)
    long.loc[hit, "voix"] = rng.integers(0, 500, hit.sum())
    hit = participation["scrutin_id"].isin(later)
    participation.loc[hit, "inscrits"] = rng.integers(3000, 6000, hit.sum())
    participation.loc[hit, "votants"] = rng.integers(2000, 3000, hit.sum())
    participation.loc[hit, "exprimes"] = long[long["scrutin_id"].isin(later)].groupby(["scrutin_id", "code_commune"])["voix"].sum().reindex(
        pd.MultiIndex.from_frame(participation.loc[hit, ["scrutin_id", "code_commune"]])).to_numpy()
    late = indicators["date_publication"] >= date
    indicators.loc[late, "valeur"] = rng.normal(0, 1e6, late.sum())
    return long, participation, indicators


@pytest.mark.parametrize("horizon", [None, 5])
def test_no_feature_uses_the_target_ballot_or_later(parts, horizon) -> None:
    original = build_modelling_table(data_from(*parts), horizon=horizon)
    assert not original.empty
    known = [c for c in original.columns if c.startswith(("f_", "aux_", "ref_"))]
    assert any(c.startswith("f_ind_") for c in known)
    for seed, target in enumerate(original["scrutin_id"].unique()):
        date = BALLOTS.set_index("scrutin_id").loc[target, "date_scrutin"]
        changed = build_modelling_table(data_from(*perturbed(parts, date, seed)), horizon=horizon)
        before = original[original["scrutin_id"] == target].reset_index(drop=True)
        after = changed[changed["scrutin_id"] == target].reset_index(drop=True)
        pd.testing.assert_frame_equal(before[known], after[known])
        assert not np.allclose(before["y_part_centre"], after["y_part_centre"])  # the perturbation did reach the target


def test_features_are_built_without_indicators(parts) -> None:
    table = build_modelling_table(data_from(parts[0], parts[1], None))
    assert not any(c.startswith("f_ind_") for c in table.columns)
    assert {"f_der_z_centre", "f_meme_part_droite", "f_moy_z_abstention", "f_der_annees"} <= set(table.columns)


def test_targets_are_presidential_and_european_first_rounds(table) -> None:
    assert set(table["type_scrutin"]) == {"presidentielle", "europeennes"}
    assert "pres2012_t1" not in set(table["scrutin_id"])  # nothing known before it


def test_stacked_design_is_generic_per_output(table) -> None:
    x, y, groups = stacked_design(table, outputs(BLOCS))
    assert len(x) == len(table) * (len(BLOCS) + 1) == len(y) == len(groups)
    assert "f_der_z" in x.columns and not any(c.endswith("_centre") for c in x.columns)
    absent = (table["scrutin_id"] == "pres2017_t1").to_numpy()
    assert np.isnan(y[: len(table)][absent]).all()  # gauche did not stand in pres2017


# ─── Compositional helpers ───────────────────────────────────────────────────────────────

def test_clr_deviation_round_trip_and_raking() -> None:
    present = np.array([[True, True, False], [True, True, True]])
    territory = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    shares = close(np.array([[0.7, 0.3, 0.0], [0.1, 0.6, 0.3]]), present)
    back = from_deviation(clr_deviation(shares, territory, present), territory, present)
    np.testing.assert_allclose(back, shares, atol=1e-12)
    weights, totals = np.array([100.0, 300.0]), np.array([0.3, 0.5, 0.2])
    raked = rake(np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3]]), weights, totals)
    np.testing.assert_allclose(raked.sum(axis=1), 1.0)
    np.testing.assert_allclose(weights @ raked / weights.sum(), totals, atol=1e-9)
    rates = shift_to_mean(np.array([0.2, 0.4]), weights, 0.5)
    assert np.average(rates, weights=weights) == pytest.approx(0.5, abs=1e-9)


# ─── Baselines on a hand-made case ───────────────────────────────────────────────────────

def test_baselines_by_hand() -> None:
    blocs = ("a", "b", "c")
    rows = pd.DataFrame({
        "aux_part_ref_a": [0.6, 0.2], "aux_part_ref_b": [0.4, 0.8], "aux_part_ref_c": [0.0, 0.0],
        "aux_T_ref_a": [0.5, 0.5], "aux_T_ref_b": [0.5, 0.5], "aux_T_ref_c": [0.0, 0.0],
        "aux_part_ref_abstention": [0.3, 0.5], "aux_T_ref_abstention": [0.4, 0.4],
        "present_a": True, "present_b": True, "present_c": True,
    })
    totals = baselines.Totals(np.array([[0.4, 0.4, 0.2]] * 2), np.array([0.2, 0.2]))
    persistence = baselines.persistence(rows, blocs)
    np.testing.assert_allclose(persistence.shares, [[0.6, 0.4, 0.0], [0.2, 0.8, 0.0]])
    np.testing.assert_allclose(persistence.abstention, [0.3, 0.5])
    uniform = baselines.uniform_swing(rows, blocs, totals)  # + (0.4 − 0.5, 0.4 − 0.5, 0.2 − 0)
    np.testing.assert_allclose(uniform.shares, [[0.5, 0.3, 0.2], [0.1, 0.7, 0.2]])
    np.testing.assert_allclose(uniform.abstention, [0.1, 0.3])
    proportional = baselines.proportional_swing(rows, blocs, totals)  # × 0.8, × 0.8, new bloc c: its total
    np.testing.assert_allclose(proportional.shares, [[0.48, 0.32, 0.2], [0.16, 0.64, 0.2]])
    np.testing.assert_allclose(proportional.abstention, [0.15, 0.25])
    rows["present_c"] = False  # c does not stand: its share goes, the rest is closed
    np.testing.assert_allclose(baselines.uniform_swing(rows, blocs, totals).shares, [[0.625, 0.375, 0.0], [0.125, 0.875, 0.0]])


# ─── Metrics against direct computation ──────────────────────────────────────────────────

def test_metrics_by_hand() -> None:
    observed = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    predicted = np.array([[0.35, 0.45, 0.2], [0.3, 0.4, 0.3], [0.3, 0.4, 0.3]])
    present = np.ones_like(observed, dtype=bool)
    weights = np.array([1.0, 1.0, 2.0])
    np.testing.assert_allclose(metrics.mae_points(observed, predicted, present), [100 * 0.55 / 3, 100 * 0.55 / 3, 0.0])
    np.testing.assert_allclose(metrics.mae_points(observed, predicted, present, weights)[0], 100 * (0.15 + 0.1 + 0.6) / 4)
    np.testing.assert_allclose(metrics.rmse_points(observed, predicted, present)[0], 100 * np.sqrt((0.0225 + 0.01 + 0.09) / 3))
    r2_first = 1 - (0.0225 + 0.01 + 0.09) / np.sum((observed[:, 0] - observed[:, 0].mean()) ** 2)
    assert metrics.r2(observed, predicted, present)[0] == pytest.approx(r2_first)
    # true leaders: 0, 1, 0 ; forecast leaders: 1, 1, 1
    assert metrics.lead_accuracy(observed, predicted, present) == pytest.approx(1 / 3)
    assert metrics.lead_balanced_accuracy(observed, predicted, present) == pytest.approx((0 / 2 + 1 / 1) / 2)
    proba = np.array([[0.2, 0.7, 0.1], [0.1, 0.9, 0.0], [0.5, 0.5, 0.0]])
    assert metrics.lead_brier(observed, predicted, present, proba) == pytest.approx(((0.7 - 0) ** 2 + (0.9 - 1) ** 2 + (0.5 - 0) ** 2) / 3)
    lower, upper = predicted - 0.12, predicted + 0.12
    np.testing.assert_allclose(metrics.coverage(observed, lower, upper, present), [1 / 3, 1 / 3, 1.0])


# ─── Backtests: closure and intervals ────────────────────────────────────────────────────

@pytest.fixture(scope="module")
def predictions(table):
    learners = ("ridge_logratio", "mixte_communes", "foret_aleatoire", "lightgbm")
    return calibrate_chain(backtest(table, BLOCS, all_methods(BLOCS, learners, fast=True)))


def test_forward_chaining_and_closed_shares(predictions, table) -> None:
    assert {p.scrutin_test for p in predictions} == {"pres2017_t1", "euro2019_t1", "pres2022_t1"}
    assert len({p.modele for p in predictions}) == 7
    for p in predictions:
        shares, abstention = p.predicted[:, :-1], p.predicted[:, -1]
        assert np.isfinite(p.predicted).all()
        assert ((shares >= 0) & (shares <= 1)).all() and ((abstention >= 0) & (abstention <= 1)).all()
        np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-9)
        assert (shares[:, ~p.present[0, :-1]] == 0).all()


def test_conditional_learners_match_the_true_totals(predictions, table) -> None:
    rows = table[table["scrutin_id"] == "euro2019_t1"].reset_index(drop=True)
    truth = territory_truth(rows, BLOCS).shares[0]
    weights = rows["aux_exprimes_ref"].to_numpy(float)
    for p in predictions:
        if p.scrutin_test == "euro2019_t1" and p.conditionnel and p.modele == "lightgbm":
            np.testing.assert_allclose(weights @ p.predicted[:, :-1] / weights.sum(), truth, atol=1e-8)


def test_intervals_contain_the_forecast_and_are_calibrated_on_earlier_ballots(predictions) -> None:
    first = [p for p in predictions if p.scrutin_test == "pres2017_t1"]
    assert all(p.lower80 is None for p in first)  # nothing earlier to calibrate on
    later = [p for p in predictions if p.scrutin_test != "pres2017_t1"]
    for p in later:
        assert (p.lower95 <= p.lower80 + 1e-12).all() and (p.lower80 <= p.predicted + 1e-12).all()
        assert (p.predicted <= p.upper80 + 1e-12).all() and (p.upper80 <= p.upper95 + 1e-12).all()
        assert ((p.lower95 >= 0) & (p.upper95 <= 1)).all()
        np.testing.assert_allclose(p.lead_proba.sum(axis=1), 1.0)


# ─── The stage on a tiny warehouse ───────────────────────────────────────────────────────

def tiny_warehouse(path: Path, parts) -> None:
    """A star-schema warehouse holding the synthetic results."""
    long, participation, _ = parts
    communes = sorted(participation["code_commune"].unique())
    candidates = long[["scrutin_id", "bloc"]].drop_duplicates().reset_index(drop=True)
    candidates["candidat_id"] = pd.array(range(1, len(candidates) + 1), dtype="Int64")
    scrutins = BALLOTS.assign(annee=BALLOTS["date_scrutin"].dt.year, tour=1, date_scrutin=BALLOTS["date_scrutin"].dt.date,
                              libelle=BALLOTS["scrutin_id"], source_id="s", cog_annee=2026, couverture="69")
    facts = long.merge(candidates, on=["scrutin_id", "bloc"])
    now = pd.Timestamp("2026-01-01")
    write_tables(path, {
        "dim_region": pd.DataFrame({"code_region": ["84"], "nom_region": ["ARA"]}),
        "dim_departement": pd.DataFrame({"code_departement": ["69"], "nom_departement": ["Rhône"], "code_region": ["84"]}),
        "dim_commune": pd.DataFrame({"code_commune": communes, "nom_commune": communes, "code_departement": "69", "code_region": "84",
                                     "zone": "metro", "population": pd.array([1000] * len(communes), dtype="Int64"), "type_unite": "commune"}),
        "dim_scrutin": scrutins,
        "dim_bloc": pd.DataFrame({"code_bloc": list(BLOCS), "libelle": list(BLOCS), "ordre": range(1, len(BLOCS) + 1), "couleur": "#000000", "description": ""}),
        "dim_candidat": candidates.assign(candidat=candidates["bloc"], prenom=None, nuance=None, code_bloc=candidates["bloc"], version_referentiel="t", justification=""),
        "fact_participation": participation.assign(blancs=1, nuls=1),
        "fact_resultat_commune": facts[["scrutin_id", "code_commune", "candidat_id", "voix"]],
        "etl_run": pd.DataFrame({"run_id": ["r"], "started_at": [now], "finished_at": [now], "code_version": ["t"], "territoire": ["69"], "statut": ["succes"]}),
    })


def test_evaluate_command_writes_the_model_tables(tmp_path: Path, home: Path, parts) -> None:
    from electio.cli import app

    warehouse = tmp_path / "w.duckdb"
    tiny_warehouse(warehouse, parts)
    card = tmp_path / "card.md"
    result = CliRunner().invoke(app, ["evaluate", "--entrepot", str(warehouse), "--rapide", "--carte", str(card)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "swing uniforme" in result.output and "Lecture des mesures" in result.output
    assert "pres2022_t1 — 69 : MAE moyenne par bloc" in result.output  # the main test ballot by its dim_scrutin label (here its id)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        main = con.execute("SELECT valeur FROM model_card WHERE section = 'modele' AND cle = 'scrutin_test_principal'").fetchone()[0]
        assert main == "pres2022_t1"  # backtested here: the preferred main test ballot
        columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'model_evaluation' ORDER BY ordinal_position").fetchall()]
        assert columns == ["modele", "scrutin_test", "territoire", "horizon_ans", "conditionnel", "bloc", "metrique", "valeur",
                           "ic_basse", "ic_haute", "n_communes", "classe_taille", "date_reference"]
        models = {r[0] for r in con.execute("SELECT DISTINCT modele FROM model_evaluation").fetchall()}
        assert {"persistance", "swing_uniforme", "swing_proportionnel", "retenu", "lightgbm", "ridge_logratio", "total_territoire"} <= models
        metrics_found = {r[0] for r in con.execute("SELECT DISTINCT metrique FROM model_evaluation").fetchall()}
        assert {"mae", "rmse", "r2", "acc_tete", "bacc_tete", "brier", "couv80", "couv95", "couv80_joint", "couv80_pond", "is80",
                "brier_blocs", "brier_fiabilite", "brier_resolution", "couv80_taille_200_999"} <= metrics_found
        assert {"plancher_bruit", "frequence_tete"} <= models
        absent = con.execute("""SELECT count(*) FROM model_evaluation WHERE scrutin_test = 'pres2017_t1' AND bloc = 'gauche'""").fetchone()[0]
        assert absent == 0  # a bloc that did not stand is never scored
        bounded = con.execute("""SELECT count(*) FROM model_evaluation WHERE metrique = 'couv80' AND bloc <> 'abstention' AND modele = 'retenu'
                                 AND NOT (ic_basse <= valeur AND valeur <= ic_haute)""").fetchone()[0]
        assert bounded == 0
        assert con.execute("SELECT count(*) FROM model_importance WHERE modele = 'retenu'").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM model_prediction_backtest WHERE borne_basse_80 > part_prevue").fetchone()[0] == 0
        uncommented = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE table_name LIKE 'model_%' AND comment IS NULL").fetchall()
        assert uncommented == []
    assert list((home / "data" / "models").glob("retenu_69.joblib")) and card.read_text(encoding="utf-8").startswith("# Model card")
    again = CliRunner().invoke(app, ["evaluate", "--entrepot", str(warehouse), "--rapide", "--carte", str(card)])
    assert again.exit_code == 0, again.output  # re-running replaces the rows, no duplicates


def test_models_ddl_is_portable() -> None:
    text = (Path(__file__).parents[1] / "src" / "electio" / "warehouse" / "models.sql").read_text(encoding="utf-8")
    assert "DOUBLE" not in text.upper() and "FLOAT8" in text


def test_feature_columns_are_numeric(table) -> None:
    assert table[feature_columns(table)].dtypes.map(lambda d: np.issubdtype(d, np.number)).all()


# ─── Issue 15: absent is missing, honest references, scores that do not hide ─────────────

def test_a_commune_without_candidate_is_missing_not_a_lean(parts) -> None:
    long, participation, indicators = parts
    gone = (long["scrutin_id"] == "leg2017_t1") & (long["bloc"] == "droite") & long["code_commune"].isin(["69001", "69002"])
    data = data_from(long[~gone], participation, indicators)
    profile = ballot_profile(data, "leg2017_t1")
    assert profile.loc[["69001", "69002"], ["part_droite", "ecart_droite", "z_droite"]].isna().all().all()
    assert profile.loc["69003", ["part_droite", "z_droite"]].notna().all()
    stood = ~long[~gone]["code_commune"].isin(["69001", "69002"])
    legs = long[~gone][(long[~gone]["scrutin_id"] == "leg2017_t1") & stood]
    voix = legs[legs["bloc"] == "droite"]["voix"].sum()
    exprimes = participation[(participation["scrutin_id"] == "leg2017_t1") & ~participation["code_commune"].isin(["69001", "69002"])]["exprimes"].sum()
    assert profile["T_droite"].iloc[0] == pytest.approx(voix / exprimes)  # département share where it stood
    table = build_modelling_table(data)
    euro = table[(table["scrutin_id"] == "euro2019_t1") & table["code_commune"].isin(["69001", "69002"])]
    assert euro["f_der_z_droite"].isna().all()  # leg2017 is euro2019's last ballot: no lean read into the absence


def test_lead_base_rate_is_the_comparable_ballots_lead_frequency() -> None:
    rows = pd.DataFrame({"code_departement": ["69"] * 4, "aux_part_ref_a": [0.6, 0.2, 0.5, np.nan], "aux_part_ref_b": [0.4, 0.8, 0.3, np.nan],
                         "aux_part_ref_c": [0.0, 0.0, 0.2, np.nan], "present_a": True, "present_b": True, "present_c": True})
    base = lead_base_rate(rows, ("a", "b", "c"))
    np.testing.assert_allclose(base, [[2 / 3, 1 / 3, 0.0]] * 4)  # a led 2 of the 3 communes with a result
    rows["present_a"] = False  # a does not stand: renormalised over b and c
    np.testing.assert_allclose(lead_base_rate(rows, ("a", "b", "c")), [[0.0, 1.0, 0.0]] * 4)


def test_noise_floor_is_binomial_sampling(predictions) -> None:
    p = next(q for q in predictions if q.modele == "persistance" and q.scrutin_test == "pres2022_t1" and q.conditionnel)
    rows = {(b, m): v for b, m, v, *_ in metrics.noise_floor_metrics(p, BLOCS)}
    share, n = p.observed[:, 1], p.rows["exprimes"].to_numpy(float)
    assert rows[("centre", "mae")] == pytest.approx(100 * np.mean(np.sqrt(2 / np.pi * share * (1 - share) / n)))
    assert rows[("centre", "rmse")] == pytest.approx(100 * np.sqrt(np.mean(share * (1 - share) / n)))


def test_brier_decomposition_adds_up_and_scores_by_hand() -> None:
    rng = np.random.default_rng(3)
    p = (rng.integers(0, 10, 2000) + 0.5) / 10  # constant within each bin: the decomposition is exact
    o = (rng.random(2000) < p ** 1.5).astype(float)
    parts = proper_scores.brier_decomposition(p, o)
    assert parts["brier_blocs"] == pytest.approx(parts["brier_fiabilite"] - parts["brier_resolution"] + parts["brier_incertitude"])
    assert parts["brier_blocs"] == pytest.approx(np.mean((p - o) ** 2))
    observed = np.array([[0.5, 0.3, 0.2, 0.4], [0.2, 0.5, 0.3, 0.4]])
    present = np.array([[True, True, True, True], [True, True, False, True]])
    lower, upper = np.full((2, 4), 0.25), np.full((2, 4), 0.45)
    hits = proper_scores.inside(observed, lower, upper, present)
    np.testing.assert_array_equal(proper_scores.joint_inside(hits)[:, 0], [0.0, 0.0])
    upper[0, 0] = 0.5
    upper[1, 1] = 0.5
    lower[0, 2] = 0.2
    lower[1, 0] = 0.2
    np.testing.assert_array_equal(proper_scores.joint_inside(proper_scores.inside(observed, lower, upper, present))[:, 0], [1.0, 1.0])
    score = proper_scores.interval_score(np.array([[0.5]]), np.array([[0.3]]), np.array([[0.4]]), np.array([[True]]), 0.2)
    assert score[0, 0] == pytest.approx(100 * (0.1 + 10 * 0.1))


def test_bootstrap_interval_brackets_the_mean() -> None:
    values = np.random.default_rng(1).random((300, 2))
    counts = proper_scores.bootstrap_counts(300)
    low, high = proper_scores.bootstrap_interval(values, counts)
    assert (low < values.mean(axis=0)).all() and (values.mean(axis=0) < high).all() and (high - low < 0.15).all()


def test_scale_fit_finds_the_doubled_sampling_term() -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(50, 20000, size=(4000, 1)).astype(float) * np.ones((1, 3))
    p = rng.uniform(0.1, 0.5, size=(4000, 3))
    v = p * (1 - p)
    residual = rng.normal(0, np.sqrt(2 * v / n + 0.01 * v**2))
    sampling, kappa = intervals.fit_scale(residual, p, n)
    assert sampling == pytest.approx(2.0, rel=0.25) and np.allclose(kappa, 0.01, rtol=0.35)


def test_a_bloc_without_calibration_gets_the_pooled_quantile(predictions) -> None:
    p = next(q for q in predictions if q.modele == "ridge_logratio" and q.scrutin_test == "euro2019_t1" and q.conditionnel)
    earlier = [q for q in predictions if q.modele == "ridge_logratio" and q.scrutin_test == "pres2017_t1" and q.conditionnel]
    calibration = intervals.calibrate(earlier)  # gauche did not stand in pres2017: no score for it
    assert np.isnan(calibration.scores[:, 0]).all() and np.isfinite(calibration.quantiles[0.8]).all()
    with_bounds = intervals.with_intervals(p, calibration)
    assert (with_bounds.upper80[:, 0] - with_bounds.lower80[:, 0] < 1.0).all()


def test_learner_weights_follow_sample_size(table) -> None:
    weights = stacked_weights(table, outputs(BLOCS)).reshape(len(BLOCS) + 1, len(table))
    small, big = table["exprimes"].idxmin(), table["exprimes"].idxmax()
    assert (weights[:, big] > weights[:, small]).all()



@pytest.mark.parametrize("learner_name", ["foret_aleatoire", "mixte_communes"])
def test_batched_permutations_give_the_one_at_a_time_importances(table, monkeypatch: pytest.MonkeyPatch, learner_name: str) -> None:
    """Permuted designs predicted in batches (several permutations per call) give the importances of one call each."""
    from electio.models import evaluate
    from electio.models.learners import make_learner

    last = table["date_scrutin"].max()
    learner = make_learner(learner_name, tuple(BLOCS), fast=True).fit(table[table["date_scrutin"] < last])
    rows = table[table["date_scrutin"] == last].reset_index(drop=True)
    batched = evaluate.permutation_importance(learner, rows, repeats=2)
    monkeypatch.setattr(evaluate, "PERMUTED_ROWS_PER_CALL", 1)  # one permutation per call
    single = evaluate.permutation_importance(learner, rows, repeats=2)
    assert len(batched) == len(single) > 0
    keys = ["bloc", "variable"]
    both = batched.merge(single, on=keys, suffixes=("", "_seul"))
    assert len(both) == len(batched)
    np.testing.assert_allclose(both["importance"], both["importance_seul"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(both["ecart_type"], both["ecart_type_seul"], rtol=1e-9, atol=1e-12)


def test_main_test_is_the_latest_backtested_ballot_where_pres2022_is_not() -> None:
    """Outside the Rhône the mirror has no pres2022 commune results: the main test ballot is then the latest backtested one."""
    from types import SimpleNamespace

    from electio.models.evaluate import main_test

    def run(*tested: tuple[str, str]) -> SimpleNamespace:
        return SimpleNamespace(predictions={None: [SimpleNamespace(date=pd.Timestamp(d), scrutin_test=s) for d, s in tested]})

    assert main_test(run(("2019-05-26", "euro2019_t1"), ("2022-04-10", "pres2022_t1"), ("2024-06-09", "euro2024_t1"))) == "pres2022_t1"
    assert main_test(run(("2024-06-30", "leg2024_t1"), ("2019-05-26", "euro2019_t1"), ("2024-06-09", "euro2024_t1"))) == "leg2024_t1"
