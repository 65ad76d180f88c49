"""Duels: vote-transfer estimator, candidate hypotheses and duels of the polls, the poll tie, the backtest on the Rhône."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from electio.errors import InputError
from electio.forecasts import hypotheses as hy
from electio.forecasts.duels import Analogue, DuelRates, a_share, duel_rates, load_analogues, national_shift, shift_rates, simulate_duel
from electio.models.transfers import Transfers, constrained_regression, fit_transfers, project_simplex

# ─── Transfer estimator ──────────────────────────────────────────────────────────────────


def test_simplex_projection_lands_on_the_simplex() -> None:
    rows = np.array([[0.2, 0.3, 0.5], [2.0, -1.0, 0.1], [-3.0, -3.0, -3.0]])
    projected = project_simplex(rows)
    assert np.allclose(projected.sum(axis=1), 1) and (projected >= 0).all()
    assert np.allclose(projected[0], rows[0])  # already on it: unchanged
    assert np.allclose(projected[1], [1, 0, 0]) and np.allclose(projected[2], 1 / 3)


def test_constrained_regression_recovers_rates_of_synthetic_communes() -> None:
    """Commune mixes built from known rates (no noise): the estimator returns those rates; an option with no voters is NaN."""
    rng = np.random.default_rng(7)
    rates = np.array([[0.85, 0.05, 0.10], [0.30, 0.45, 0.25], [0.0, 0.97, 0.03], [0.02, 0.03, 0.95]])
    x = np.column_stack([rng.dirichlet([4, 3, 5, 3], size=120), np.zeros(120)])
    y = x[:, :4] @ rates
    fitted = constrained_regression(x, y, rng.uniform(100, 5000, size=120))
    assert np.allclose(fitted[:4], rates, atol=1e-4)
    assert np.isnan(fitted[4]).all()


def test_constrained_rates_stay_proportions_when_the_data_push_them_out() -> None:
    """Noisy mixes would give an unconstrained Goodman regression rates outside [0, 1]; the constrained ones stay on the simplex."""
    rng = np.random.default_rng(3)
    x = rng.dirichlet([2, 2, 2], size=40)
    y = np.clip(x @ np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) + rng.normal(0, 0.08, (40, 3)), 0, None)
    y = y / y.sum(axis=1, keepdims=True)
    unconstrained = np.linalg.lstsq(x, y, rcond=None)[0]
    fitted = constrained_regression(x, y, np.ones(40))
    assert (unconstrained < 0).any() or (unconstrained > 1).any()
    assert (fitted >= 0).all() and np.allclose(fitted.sum(axis=1), 1)


def test_fit_transfers_reads_commune_frames() -> None:
    rng = np.random.default_rng(11)
    n = 60
    inscrits = rng.integers(200, 3000, n).astype(float)
    mix = rng.dirichlet([5, 4, 3], size=n)  # gauche, droite, non-exprimés
    rates = np.array([[0.9, 0.02, 0.08], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    t2 = mix @ rates
    first = pd.DataFrame({"code_commune": [f"{i:05d}" for i in range(n)], "inscrits": inscrits,
                          "voix_gauche": mix[:, 0] * inscrits, "voix_droite": mix[:, 1] * inscrits})
    second = pd.DataFrame({"code_commune": first["code_commune"], "inscrits": inscrits,
                           "voix_gauche": t2[:, 0] * inscrits, "voix_droite": t2[:, 1] * inscrits})
    fit = fit_transfers(first, second, ("gauche", "droite", "abstention"), ("gauche", "droite"), replicates=5)
    assert np.allclose(fit.rates, rates, atol=1e-3)
    assert fit.draws.shape == (5, 3, 3) and fit.residual_sd < 1e-3


# ─── Poll tie ────────────────────────────────────────────────────────────────────────────


def test_national_shift_reaches_the_poll_and_keeps_turnout() -> None:
    rates = np.array([[0.7, 0.1, 0.2], [0.2, 0.6, 0.2], [0.05, 0.05, 0.9]])
    national = np.array([0.4, 0.35, 0.25])
    delta = national_shift(rates, national, 0.42)
    shifted = shift_rates(rates, delta)
    assert a_share(national, shifted) == pytest.approx(0.42, abs=1e-6)
    assert np.allclose(shifted[:, 0] + shifted[:, 1], rates[:, 0] + rates[:, 1]) and np.allclose(shifted[:, 2], rates[:, 2])


def test_simulation_territory_follows_the_poll_and_the_territory_deviation() -> None:
    """A territory whose voters moved to A more than France's (deviation < 0) stays above the national poll."""
    rates = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.02, 0.02, 0.96]])
    duel = DuelRates(("a", "b", "abstention"), rates, rates[None], 0.0, ("h",), deviation=-0.3)
    mixes = np.broadcast_to(np.array([[0.4, 0.35, 0.25], [0.3, 0.45, 0.25]]), (400, 2, 3))
    national = np.array([0.4, 0.35, 0.25])
    draws = simulate_duel(["1", "2"], mixes, np.array([1000.0, 1000.0]), duel, national, 0.5, 0.0, np.random.default_rng(1))
    assert draws.communes.shape == (400, 2)
    assert np.allclose(draws.communes[:, 0], draws.communes[0, 0])  # no spread given: identical draws
    assert draws.communes[0, 0] > 0.5  # commune 1 has France's mix: above the 50 % poll by the territory's deviation
    plain = simulate_duel(["1", "2"], mixes, np.array([1000.0, 1000.0]), DuelRates(duel.options, rates, rates[None], 0.0, ("h",)), national, 0.5, 0.0,
                          np.random.default_rng(1))
    assert plain.communes[0, 0] == pytest.approx(0.5, abs=1e-6) and plain.communes[0, 1] < 0.5  # no deviation: France's mix gives the poll


# ─── Analogues ───────────────────────────────────────────────────────────────────────────


def test_duel_rates_map_finalists_and_rows() -> None:
    """A 2012-like fit (gauche vs droite) read for a centre vs extrême droite duel: columns and rows follow the referential."""
    options = ("gauche", "centre", "droite", "extreme_droite", "abstention")
    rates = np.array([[0.9, 0.05, 0.05], [0.3, 0.5, 0.2], [0.02, 0.95, 0.03], [0.15, 0.6, 0.25], [0.05, 0.05, 0.9]])  # columns: gauche, droite, non
    fit = Transfers(options, rates, rates[None], 0.1, ("gauche", "droite"), "h")
    analogue = Analogue(("centre", "extreme_droite"), "h", {"centre": "gauche", "extreme_droite": "droite"},
                        {"centre": "gauche", "extreme_droite": "droite", "droite": "centre"})
    out = duel_rates(("centre", "extreme_droite"), {("centre", "extreme_droite"): [analogue]}, {"h": fit}, options)
    assert np.allclose(out.rates[1], rates[0])  # centre voters inherit the gauche finalist's own voters
    assert np.allclose(out.rates[3], rates[2])  # extrême droite voters inherit the droite finalist's own voters
    assert np.allclose(out.rates[2], rates[1])  # droite inherits the eliminated centre
    with pytest.raises(InputError, match="aucun second tour historique"):
        duel_rates(("gauche", "droite"), {("centre", "extreme_droite"): [analogue]}, {"h": fit}, options)


def test_analogue_referential_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "duels_analogues.csv"
    path.write_text("duel,scrutin_id,finalistes,lignes,justification\ncentre|extreme_droite,pres2017_t2,centre=centre;extreme_droite=extreme_droite,,ok\n"
                    "centre|extreme_droite,pres2022_t2,centre=centre,,incomplet\n", encoding="utf-8")
    with pytest.raises(InputError, match="ligne 3"):
        load_analogues(path, ["centre", "extreme_droite"])


def test_shipped_analogues_are_valid() -> None:
    blocs = pd.read_csv(hy.BLOCS_CSV)["code_bloc"].tolist()
    analogues = load_analogues(blocs=blocs)
    assert ("centre", "extreme_droite") in analogues


# ─── Hypotheses and duels ────────────────────────────────────────────────────────────────

NAMES = {"LE PEN": "Marine Le Pen", "PHILIPPE": "Édouard Philippe", "ATTAL": "Gabriel Attal", "MÉLENCHON": "Jean-Luc Mélenchon"}
BLOC_OF = {"LE PEN": "extreme_droite", "PHILIPPE": "centre", "ATTAL": "centre", "MÉLENCHON": "gauche_radicale"}


def poll_rows(target: str, day: str, candidates: list[str], shares: list[float], number: int) -> pd.DataFrame:
    return pd.DataFrame({"sondage_id": f"{target}_{number}", "scrutin_cible": target, "date_fin": pd.Timestamp(day),
                         "candidats": "; ".join(sorted(candidates)), "code_bloc": [BLOC_OF[c] for c in candidates], "intention": shares})


def first_round_polls() -> pd.DataFrame:
    rows = [poll_rows("pres2027_t1", "2026-05-01", ["LE PEN", "PHILIPPE", "MÉLENCHON"], [40, 35, 25], 1),
            poll_rows("pres2027_t1", "2026-05-10", ["LE PEN", "PHILIPPE", "MÉLENCHON"], [42, 33, 25], 2),
            poll_rows("pres2027_t1", "2026-06-20", ["LE PEN", "ATTAL", "MÉLENCHON"], [44, 30, 26], 3),
            poll_rows("pres2027_t1", "2026-06-01", ["LE PEN", "ATTAL", "MÉLENCHON"], [43, 31, 26], 4),
            poll_rows("pres2027_t1", "2026-06-25", ["LE PEN", "ATTAL", "MÉLENCHON"], [45, 29, 26], 5)]
    return pd.concat(rows, ignore_index=True)


def test_default_hypothesis_is_the_most_polled_in_60_days() -> None:
    polls = first_round_polls()
    hypotheses = hy.list_hypotheses(polls, pd.Timestamp("2026-07-01"), names=NAMES)
    assert hypotheses[0].candidats == ("ATTAL", "LE PEN", "MÉLENCHON") and hypotheses[0].sondages_recents == 3
    assert hypotheses[0].libelle == "Hypothèse Gabriel Attal"  # Le Pen and Mélenchon are in every hypothesis
    assert hypotheses[0].agregat["extreme_droite"] == pytest.approx(0.44)
    # As of mid-May only the Philippe polls are known and recent
    early = hy.list_hypotheses(polls[polls["date_fin"] < pd.Timestamp("2026-05-15")], pd.Timestamp("2026-05-15"), names=NAMES)
    assert early[0].candidats == ("LE PEN", "MÉLENCHON", "PHILIPPE")


def test_default_without_recent_polls_weighs_recency_up_to_the_latest_poll() -> None:
    polls = first_round_polls()
    polls = polls[polls["sondage_id"].isin(["pres2027_t1_1", "pres2027_t1_2", "pres2027_t1_3"])]
    hypotheses = hy.list_hypotheses(polls, pd.Timestamp("2026-12-01"), names=NAMES)
    # no poll in the 60 days before 1 December: the 60 days up to the latest poll (20 June) hold two Philippe polls
    # (1 and 10 May: recency weights 0.5^(50/14) + 0.5^(41/14) ≈ 0.22) and one Attal poll (20 June: weight 1)
    philippe = next(h for h in hypotheses if "PHILIPPE" in h.candidats)
    assert philippe.sondages_recents == 2 and philippe.poids_recents == pytest.approx(0.5 ** (50 / 14) + 0.5 ** (41 / 14))
    assert hypotheses[0].candidats == ("ATTAL", "LE PEN", "MÉLENCHON") and hypotheses[0].poids_recents == pytest.approx(1.0)
    older = polls[polls["sondage_id"] != "pres2027_t1_1"]
    tie = hy.list_hypotheses(older, pd.Timestamp("2026-12-01"), names=NAMES)  # one poll each: the most recent wins
    assert tie[0].candidats == ("ATTAL", "LE PEN", "MÉLENCHON")


def test_hypothesis_choice_and_bad_input() -> None:
    hypotheses = hy.list_hypotheses(first_round_polls(), pd.Timestamp("2026-07-01"), names=NAMES)
    assert hy.choose_hypothesis(hypotheses, "Philippe, Le Pen, Mélenchon", NAMES).candidats == ("LE PEN", "MÉLENCHON", "PHILIPPE")
    assert hy.choose_hypothesis(hypotheses, "philippe", NAMES).candidats == ("LE PEN", "MÉLENCHON", "PHILIPPE")
    assert hy.choose_hypothesis(hypotheses, None, NAMES) is hypotheses[0]
    assert hy.choose_hypothesis(hypotheses, "Le Pen", NAMES) is hypotheses[0]  # in every hypothesis: the default one
    with pytest.raises(InputError, match="aucune hypothèse des sondages ne contient les candidats ATTAL, PHILIPPE"):
        hy.choose_hypothesis(hypotheses, "Attal, Philippe", NAMES)
    with pytest.raises(InputError, match="candidat\\(s\\) inconnu\\(s\\) du référentiel : Macron") as error:
        hy.choose_hypothesis(hypotheses, "Macron, Le Pen", NAMES)
    assert "Hypothèse Gabriel Attal" in str(error.value) and "blocs_affectation.csv" in str(error.value)


def test_duels_of_the_second_round_polls_and_bad_input() -> None:
    polls = pd.concat([poll_rows("pres2027_t2", "2026-06-01", ["LE PEN", "PHILIPPE"], [52, 48], 1),
                       poll_rows("pres2027_t2", "2026-06-20", ["LE PEN", "PHILIPPE"], [54, 46], 2),
                       poll_rows("pres2027_t2", "2026-06-20", ["LE PEN", "MÉLENCHON"], [67, 33], 3)], ignore_index=True)
    duels = hy.list_duels(polls, pd.Timestamp("2026-07-01"), names=NAMES)
    first = duels[0]
    assert first.candidats == ("PHILIPPE", "LE PEN") and first.blocs == ("centre", "extreme_droite")
    assert first.part_a == pytest.approx(0.47) and first.sondages_fenetre == 2
    assert hy.choose_duels(duels, ["Le Pen contre Mélenchon"], NAMES)[0].blocs == ("gauche_radicale", "extreme_droite")
    with pytest.raises(InputError, match="aucun sondage de second tour ne teste le duel") as error:
        hy.choose_duels(duels, ["Attal contre Le Pen"], NAMES)
    assert "Édouard Philippe contre Marine Le Pen" in str(error.value)


# ─── Real data ───────────────────────────────────────────────────────────────────────────


@pytest.mark.realdata
def test_backtest_2022_on_the_rhone(rhone_etl: Path) -> None:
    """pres2022_t2 predicted from the true 2022 first round, rates of 2012 and 2017 only; reported next to the uniform swing."""
    from electio.forecasts.duel_backtest import backtest_duels

    rows = backtest_duels(rhone_etl, targets=("pres2022_t2",), draws=500, replicates=20).set_index("methode")
    model, swing = rows.loc["transferts"], rows.loc["swing_uniforme"]
    print(f"\npres2022_t2 Rhône : transferts MAE {model.mae_points:.2f} pts, vainqueur {model.precision_vainqueur:.3f}, "
          f"couverture 80 % {model.couverture_80:.3f} ; swing uniforme MAE {swing.mae_points:.2f}, vainqueur {swing.precision_vainqueur:.3f}")
    assert model.communes == 265 and "pres2022_t2" not in model.analogues and "pres2017_t2" in model.analogues  # pres2022_t2 of Lyon is estimated: its arrondissements are not scored
    assert 0 <= model.precision_vainqueur <= 1 and 0 <= model.couverture_80 <= 1 and np.isfinite(model.mae_points)
    assert np.isfinite(swing.mae_points) and np.isnan(swing.couverture_80)


# ─── First-round draws and outputs ───────────────────────────────────────────────────────


def test_first_round_draws_follow_the_stored_quantiles() -> None:
    from electio.forecasts.duel_stage import first_round_draws

    rows = []
    for code in ("69001", "69002"):
        for bloc, q in (("centre", (0.2, 0.25, 0.3, 0.35, 0.4)), ("extreme_droite", (0.5, 0.55, 0.6, 0.65, 0.7)), ("abstention", (0.2, 0.22, 0.25, 0.28, 0.3))):
            rows.append({"code_commune": code, "bloc": bloc, **dict(zip(("q025", "q10", "q50", "q90", "q975"), q, strict=True))})
    shares, abstention = first_round_draws(pd.DataFrame(rows), ["69001", "69002"], ["centre", "extreme_droite"], 4000, np.random.default_rng(5))
    assert shares.shape == (4000, 2, 2) and np.allclose(shares.sum(axis=-1), 1)
    assert np.median(abstention[:, 0]) == pytest.approx(0.25, abs=0.005)
    assert np.mean(abstention[:, 1] < 0.22) == pytest.approx(0.1, abs=0.02)


def test_swing_table_lists_communes_whose_winning_side_changes() -> None:
    from electio.forecasts.duel_charts import swing_table

    duels = pd.DataFrame({"duel_id": ["d1", "d2"], "libelle": ["Philippe contre Le Pen", "Mélenchon contre Bardella"], "candidat_a": ["PHILIPPE", "MÉLENCHON"],
                          "candidat_b": ["LE PEN", "BARDELLA"], "bloc_a": ["centre", "gauche_radicale"], "bloc_b": ["extreme_droite", "extreme_droite"]})
    rows = []
    for duel_id, a, b, shares in (("d1", "PHILIPPE", "LE PEN", (0.6, 0.45)), ("d2", "MÉLENCHON", "BARDELLA", (0.4, 0.4))):
        for code, share in zip(("1", "2"), shares, strict=True):
            rows += [{"duel_id": duel_id, "code_commune": code, "candidat": a, "moyenne": share, "p_victoire": float(share > 0.5)},
                     {"duel_id": duel_id, "code_commune": code, "candidat": b, "moyenne": 1 - share, "p_victoire": float(share < 0.5)}]
    table = swing_table(pd.DataFrame(rows), duels, "69", {"1": "Une", "2": "Deux"}, {"BARDELLA": "Jordan Bardella"})
    assert table["code_commune"].tolist() == ["1"]  # commune 2 votes extrême droite in both duels (Le Pen, then Bardella)
    rows += [{"duel_id": d, "code_commune": "3", "candidat": c, "moyenne": m, "p_victoire": float(m > 0.5)}
             for d, c, m in (("d2", "MÉLENCHON", 0.6), ("d2", "BARDELLA", 0.4), ("d1", "PHILIPPE", 0.7), ("d1", "LE PEN", 0.3))]
    assert "3" not in swing_table(pd.DataFrame(rows), duels, "69", {"1": "Une", "2": "Deux", "3": "Trois"})["code_commune"].tolist()  # Philippe then Mélenchon: no change
    assert table.loc[0, "Philippe contre Le Pen"] == "PHILIPPE" and table.loc[0, "Mélenchon contre Bardella"] == "Jordan Bardella"


def test_other_hypotheses_move_the_first_round_by_the_ratio_of_aggregates() -> None:
    """recentre: a bloc twice as strong nationally under the other hypothesis doubles everywhere before closing; an absent bloc is added."""
    from electio.forecasts.duel_stage import recentre, stored_hypotheses

    def hypothesis(key: str, aggregate: dict[str, float], recent: int = 1) -> hy.Hypothesis:
        return hy.Hypothesis(key, (key,), key, 1, recent, pd.Timestamp("2026-06-01"), pd.Series(aggregate))

    source = hypothesis("a", {"gauche": 0.2, "centre": 0.3, "droite": 0.5})
    target = hypothesis("b", {"gauche": 0.4, "centre": 0.3, "droite": 0.3})
    shares = np.array([[[0.1, 0.3, 0.6], [0.3, 0.3, 0.4]]])
    moved = recentre(shares, ["gauche", "centre", "droite"], source, target)
    assert np.allclose(moved.sum(axis=-1), 1)
    expected = shares * np.array([2.0, 1.0, 0.6])
    assert np.allclose(moved, expected / expected.sum(axis=-1, keepdims=True))
    assert np.allclose(recentre(shares, ["gauche", "centre", "droite"], source, source), shares)
    old = hypothesis("c", {"gauche": 0.3, "centre": 0.3, "droite": 0.4}, recent=0)
    assert [h.hypothese_id for h in stored_hypotheses([source, old, target], target)] == ["b", "a"]  # chosen first, no stale hypothesis


@pytest.mark.realdata
def test_bad_hypothesis_or_duel_stops_before_the_simulation(rhone_etl: Path) -> None:
    """The real 2027 polls: an untested duel or an unknown candidate is a French error listing what the polls test."""
    from electio.forecasts.duel_stage import check_choices

    today = pd.Timestamp("2026-12-01")
    with pytest.raises(InputError, match="aucun sondage de second tour ne teste le duel « Le Pen contre Hollande »") as error:
        check_choices(rhone_etl, today, None, ["Le Pen contre Hollande"])
    assert "Édouard Philippe contre Marine Le Pen" in str(error.value)
    with pytest.raises(InputError, match="inconnu\\(s\\) du référentiel : Macron"):
        check_choices(rhone_etl, today, "Macron, Le Pen", [])
    check_choices(rhone_etl, today, "Philippe", ["Le Pen contre Philippe"])  # known ones pass


@pytest.mark.realdata
def test_the_cli_stops_on_a_bad_hypothesis_or_duel_and_lists_the_available_ones(rhone_etl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``electio forecast --duel`` / ``--hypothese``: exit code 1, a French message listing the duels or hypotheses the polls test."""
    from typer.testing import CliRunner

    from electio.cli import app

    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    runner = CliRunner()
    duel = runner.invoke(app, ["forecast", "--entrepot", str(rhone_etl), "--au", "2026-12-01", "--duel", "Le Pen contre Hollande"])
    said = " ".join(duel.output.split())
    assert duel.exit_code == 1 and "aucun sondage de second tour ne teste le duel « Le Pen contre Hollande »" in said
    assert "Duels testés par les sondages" in said and "Édouard Philippe contre Marine Le Pen" in said
    person = runner.invoke(app, ["forecast", "--entrepot", str(rhone_etl), "--au", "2026-12-01", "--hypothese", "Macron, Le Pen"])
    said = " ".join(person.output.split())
    assert person.exit_code == 1 and "candidat(s) inconnu(s) du référentiel : Macron" in said
    assert "Candidats connus" in said and "Hypothèses disponibles" in said


def test_holdout_spread_measures_the_commune_pattern_error_out_of_sample() -> None:
    """Two synthetic ballots of the same duel: same rates → no out-of-sample error; rates that differ by commune type → some."""
    from electio.features.election_data import ElectionData
    from electio.forecasts.duels import DuelInputs, holdout_spread

    rng = np.random.default_rng(2)
    options = ("gauche", "droite", "abstention")
    n = 80
    codes = [f"{i:05d}" for i in range(n)]
    inscrits = rng.integers(300, 3000, n).astype(float)

    def ballot(t2: str, rates_of: callable) -> tuple[pd.DataFrame, pd.DataFrame]:
        mix = rng.dirichlet([5, 4, 3], size=n)
        t2_mix = np.stack([mix[i] @ rates_of(i) for i in range(n)])
        first = pd.DataFrame({"scrutin_id": t2.replace("_t2", "_t1"), "code_commune": codes, "inscrits": inscrits, "voix_gauche": mix[:, 0] * inscrits,
                              "voix_droite": mix[:, 1] * inscrits})
        second = pd.DataFrame({"scrutin_id": t2, "code_commune": codes, "inscrits": inscrits, "voix_gauche": t2_mix[:, 0] * inscrits,
                               "voix_droite": t2_mix[:, 1] * inscrits})
        return first, second

    same = np.array([[0.9, 0.02, 0.08], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])
    analogues = {("gauche", "droite"): [Analogue(("gauche", "droite"), s, {"gauche": "gauche", "droite": "droite"}) for s in ("h1_t2", "h2_t2")]}
    spreads = []
    for second_rates in (lambda i: same, lambda i: same if i % 2 else np.array([[0.5, 0.4, 0.1], [0.05, 0.9, 0.05], [0.1, 0.1, 0.8]])):
        (f1, s1), (f2, s2) = ballot("h1_t2", lambda i: same), ballot("h2_t2", second_rates)
        results, second = pd.concat([f1, f2], ignore_index=True), pd.concat([s1, s2], ignore_index=True)
        data = ElectionData(("gauche", "droite"), pd.DataFrame(), results)
        inputs = DuelInputs(data, second, pd.DataFrame(), pd.DataFrame())
        fits = {t: fit_transfers(results[results["scrutin_id"] == t.replace("_t2", "_t1")], second[second["scrutin_id"] == t], options,
                                 ("gauche", "droite"), replicates=0, scrutin_id=t) for t in ("h1_t2", "h2_t2")}
        spreads.append(holdout_spread(("gauche", "droite"), analogues, fits, inputs, options))
    assert spreads[0] < 0.01 < spreads[1]


def test_a_second_round_without_commune_results_has_no_finalists_and_says_so() -> None:
    """Outside the Rhône, pres2022 T2 is known by its totals only: its finalists cannot be read from commune results."""
    from electio.forecasts.duel_backtest import finals, known_finals

    candidates = pd.DataFrame({"scrutin_id": ["pres2017_t2", "pres2017_t2"], "candidat": ["MACRON", "LE PEN"],
                               "bloc": ["centre", "extreme_droite"]})
    assert set(finals(None, "pres2017_t2", candidates).blocs) == {"centre", "extreme_droite"}  # type: ignore[arg-type]
    assert finals(None, "pres2022_t2", candidates).blocs == ()  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pres2022_t2 : aucun résultat par commune du second tour"):
        known_finals(None, "pres2022_t2", candidates)  # type: ignore[arg-type]
