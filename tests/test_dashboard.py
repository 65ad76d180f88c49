"""Dashboard data layer on a real Rhône warehouse built in a temporary home (ETL, fast evaluation, forecasts).

Every expected value is computed here with plain SQL on the warehouse, independently of
``electio.dashboard.data``. The browser tests (test_dashboard_browser.py) reuse the same warehouse.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from electio.dashboard import data, simulation, views
from electio.dashboard.charts import percent

TERRITORY = "69"
LYON = "69123"
LYON_6 = "69386"  # a unit of analysis: Lyon's arrondissements replace the city


def build_warehouse(home: Path, etl: Path) -> Path:
    """The session's Rhône ETL (``etl``, copied) with a fast evaluation and forecasts, in ``home`` (once per test session)."""
    from electio.forecasts.stage import ForecastOptions, run_forecast
    from electio.models.evaluate import run_evaluation

    path = home / "data" / "warehouse" / "electio.duckdb"
    done = home / "complet"
    if done.is_file():
        return path
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ELECTIO_HOME", str(home))
        patch.setattr("electio.forecasts.charts.draw_all", lambda *_args, **_kwargs: [])  # the stage's PNG charts are not tested here
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(etl, path)
        run_evaluation(path, fast=True)
        run_forecast(path, ForecastOptions(html=False))
    done.touch()
    return path


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory, rhone_etl: Path) -> Path:
    """The session's Rhône warehouse (shared with the browser tests through a fixed folder)."""
    return build_warehouse(tmp_path_factory.getbasetemp() / "tableau_de_bord", rhone_etl)


def sql(path: Path, text: str, params: list | None = None) -> pd.DataFrame:
    """An independent read-only query."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(text, params or []).df()


def test_percent_is_french() -> None:
    assert percent(0.2951) == "29,5\u202f%"
    assert percent(0.07, 0) == "7\u202f%"


def test_targets_are_the_stage_horizons(warehouse: Path) -> None:
    targets = data.targets(warehouse)
    stored = sql(warehouse, "SELECT horizon_ans, scrutin_cible, libelle FROM dim_scrutin_cible WHERE prevu ORDER BY date_scrutin, scrutin_cible")
    assert targets[["horizon_ans", "scrutin_cible", "label"]].astype(str).values.tolist() == stored.astype(str).values.tolist()
    facts = sql(warehouse, "SELECT DISTINCT horizon_ans, scrutin_cible FROM fact_prevision WHERE scenario = 'tendance'")
    assert set(map(tuple, facts.astype(str).values.tolist())) == set(map(tuple, stored[["horizon_ans", "scrutin_cible"]].astype(str).values.tolist()))
    assert targets["label"].iloc[0].startswith("Présidentielle 2027")
    assert all(data.parse_target(k) == (int(h), t) for k, h, t in zip(targets["key"], targets["horizon_ans"], targets["scrutin_cible"], strict=True))


def test_forecast_slices_split_communes_and_territory(warehouse: Path) -> None:
    key = data.targets(warehouse)["key"].iloc[0]
    horizon, target = data.parse_target(key)
    total = data.territory_forecast(warehouse, key).set_index("bloc")["moyenne"]
    expected = sql(warehouse, "SELECT bloc, moyenne FROM fact_prevision WHERE scenario = 'tendance' AND horizon_ans = ? AND scrutin_cible = ? "
                              "AND code_commune = ?", [horizon, target, TERRITORY]).set_index("bloc")["moyenne"]
    pd.testing.assert_series_equal(total.sort_index(), expected.sort_index(), check_names=False)
    communes = data.commune_forecasts(warehouse, key)
    assert TERRITORY not in set(communes["code_commune"])
    assert communes["code_commune"].nunique() == len(data.communes(warehouse)) == 274  # units: 265 communes + Lyon's 9 arrondissements
    shares = communes[communes["bloc"] != "abstention"].groupby("code_commune")["moyenne"].sum()
    assert np.allclose(shares, 1.0, atol=1e-6)


def test_leaders_are_the_highest_mean_share(warehouse: Path) -> None:
    key = data.targets(warehouse)["key"].iloc[0]
    leaders = data.leaders(data.commune_forecasts(warehouse, key)).set_index("code_commune")["bloc"]
    horizon, target = data.parse_target(key)
    expected = sql(warehouse, "SELECT code_commune, arg_max(bloc, moyenne) AS bloc FROM fact_prevision WHERE scenario = 'tendance' "
                              "AND horizon_ans = ? AND scrutin_cible = ? AND bloc <> 'abstention' AND code_commune <> ? GROUP BY 1",
                   [horizon, target, TERRITORY]).set_index("code_commune")["bloc"]
    pd.testing.assert_series_equal(leaders.sort_index(), expected.sort_index(), check_names=False)


def test_history_shares_and_territory_total(warehouse: Path) -> None:
    rows = data.history(warehouse)
    sixth = rows[(rows["code_commune"] == LYON_6) & (rows["scrutin_id"] == "pres2022_t1")].set_index("bloc")["part"]
    expected = sql(warehouse, "SELECT bloc, part FROM v_resultat_bloc_unite WHERE scrutin_id = 'pres2022_t1' AND code_unite = ? AND NOT estime",
                   [LYON_6])
    assert len(expected) > 0  # pres2022 T1 is measured by bureau in the Rhône
    pd.testing.assert_series_equal(sixth.sort_index(), expected.set_index("bloc")["part"].sort_index(), check_names=False)
    assert LYON not in set(rows["code_commune"])  # the city is its arrondissements
    whole = rows[(rows["code_commune"] == TERRITORY) & (rows["scrutin_id"] == "pres2022_t1")]
    assert whole["part"].sum() == pytest.approx(1.0)
    assert set(rows["scrutin_id"]) <= set(sql(warehouse, "SELECT scrutin_id FROM dim_scrutin WHERE tour = 1")["scrutin_id"])


def test_indicator_table_compares_with_the_territory_median(warehouse: Path) -> None:
    """An arrondissement's own poverty rate, its percentile and the median among the units of analysis (a year published twice counts once: its first source)."""
    table = data.indicator_table(warehouse, LYON_6).set_index("indicateur")
    row = table.loc["taux_pauvrete"]
    units = """WITH v AS (SELECT i.code_unite, i.annee, arg_min(i.valeur, i.source) AS valeur FROM v_indicateur_unite i
                          JOIN v_unite_analyse u ON u.code_commune = i.code_unite
                          WHERE i.indicateur = 'taux_pauvrete' AND i.valeur IS NOT NULL GROUP BY ALL)"""
    year = sql(warehouse, units + " SELECT max(annee) FROM v WHERE code_unite = ?", [LYON_6]).iloc[0, 0]
    assert int(row["annee"]) == int(year)
    expected = sql(warehouse, units + """ SELECT MEDIAN(valeur) AS mediane,
                                                 avg(CASE WHEN valeur <= (SELECT valeur FROM v WHERE code_unite = ? AND annee = ?) THEN 1 ELSE 0 END) AS part
                                          FROM v WHERE annee = ?""", [LYON_6, int(year), int(year)]).iloc[0]
    assert row["mediane"] == pytest.approx(expected["mediane"])
    assert row["centile"] == pytest.approx(100 * expected["part"])  # share of the units at or below the 6th
    directions = sql(warehouse, "SELECT indicateur, sens_defavorable FROM dim_indicateur").set_index("indicateur")["sens_defavorable"]
    assert (table["sens_defavorable"] == directions.reindex(table.index)).all()


def test_commune_page_compares_rates_not_counts() -> None:
    from electio.dashboard.pages import commune

    assert commune.reading(33652, 60.1, "hausse", "nombre") == "effectif : non comparé"  # Lyon's job seekers against a median commune
    assert commune.reading(12.0, 10.0, "hausse", "%") == "moins favorable que la médiane"
    assert commune.centile(81.6) == "82e centile" and commune.centile(0.4) == "1er centile"


def test_accuracy_table_matches_model_evaluation(warehouse: Path) -> None:
    table = data.accuracy(warehouse, "pres2022_t1")
    assert {"persistance", "swing_uniforme", "swing_proportionnel", "retenu"} <= set(table.index)
    expected = sql(warehouse, """
        SELECT modele, conditionnel, valeur FROM model_evaluation
        WHERE scrutin_test = 'pres2022_t1' AND territoire = ? AND bloc = 'moyenne' AND metrique = 'mae'
          AND horizon_ans = (SELECT min(horizon_ans) FROM model_evaluation WHERE scrutin_test = 'pres2022_t1' AND territoire = ?)""",
                   [TERRITORY, TERRITORY])
    for (model, conditional), value in expected.set_index(["modele", "conditionnel"])["valeur"].items():
        if model in table.index:
            assert table.loc[model, "mae_cond" if conditional else "mae_non_cond"] == pytest.approx(value)


def test_drivers_are_ranked_positive_importances(warehouse: Path) -> None:
    rows = data.drivers(warehouse, "retenu", "moyenne", 5)
    assert 0 < len(rows) <= 5
    assert rows["rang"].is_monotonic_increasing and (rows["importance"] > 0).all()


def test_reliability_and_lineage_tables(warehouse: Path) -> None:
    bins = data.reliability(warehouse)
    assert {(s, c) for s, c in zip(bins["source"], bins["conditionnel"], strict=True)} >= {("backtest", True), ("simulation", False)}
    assert bins["proba"].between(0, 1).all() and (bins["effectif"] > 0).all()
    inputs = data.run_inputs(warehouse)
    assert inputs.set_index("source_id")["sha256"].to_dict() == sql(warehouse, "SELECT source_id, sha256 FROM etl_input").set_index("source_id")["sha256"].to_dict()
    assert inputs["titre"].notna().all()
    assert len(data.ballot_coverage(warehouse)) == len(sql(warehouse, "SELECT * FROM couverture_scrutin"))
    summary = data.indicator_coverage_summary(warehouse)
    gaps = sql(warehouse, "SELECT DISTINCT indicateur FROM couverture_indicateur WHERE statut = 'lacune'")["indicateur"]
    assert set(summary.loc[summary["statut"] == "lacune", "indicateur"]) == set(gaps)


def test_outlines_cover_every_commune(warehouse: Path) -> None:
    shapes = data.outlines(warehouse)
    assert shapes is not None
    assert {f["id"] for f in shapes["features"]} == set(data.communes(warehouse)["code_commune"])


def test_queries_are_cached_and_read_only(warehouse: Path) -> None:
    before = warehouse.stat().st_mtime_ns
    data.warm(warehouse)
    hits = data.query.cache_info().hits
    data.warm(warehouse)
    assert data.query.cache_info().hits >= hits
    assert warehouse.stat().st_mtime_ns == before


def test_scenarios_use_the_stored_rows_or_the_forecast_engine(warehouse: Path) -> None:
    key = data.targets(warehouse)["key"].iloc[0]
    rows, stored = simulation.simulate(warehouse, key, (), ())
    assert stored == "tendance"
    pd.testing.assert_frame_equal(rows, data.forecast_slice(warehouse, key))
    swung, stored = simulation.simulate(warehouse, key, (("droite", 1.5),), ())
    assert stored == ""
    before = rows[(rows["code_commune"] == TERRITORY) & (rows["bloc"] == "droite")]["moyenne"].iloc[0]
    after = swung[(swung["code_commune"] == TERRITORY) & (swung["bloc"] == "droite")]["moyenne"].iloc[0]
    assert after == pytest.approx(before + 0.015, abs=1e-9)
    communes = swung[(swung["code_commune"] != TERRITORY) & (swung["bloc"] != "abstention")]
    assert np.allclose(communes.groupby("code_commune")["moyenne"].sum(), 1.0, atol=1e-6)
    assert communes["code_commune"].nunique() == 274  # units of analysis


def test_every_page_renders(warehouse: Path) -> None:
    from electio.dashboard.app import PAGES, create_app

    app = create_app(warehouse)
    client = app.server.test_client()
    page = client.get("/")
    assert page.status_code == 200 and '<html lang="fr">' in page.get_data(as_text=True)
    assert client.get("/fonds-de-carte/world_110m.json").get_json()["type"] == "Topology"
    url = data.outlines_url(warehouse)  # the maps reference the outlines by URL instead of embedding them
    served = client.get(url)
    assert served.status_code == 200 and served.get_json() == data.outlines(warehouse)
    assert client.get(data.OUTLINES_URL + "communes-0000000000000000.json").status_code == 404
    key = data.targets(warehouse)["key"].iloc[0]
    figure, _ = views.share_view(warehouse, data.commune_forecasts(warehouse, key), data.territory_forecast(warehouse, key), "centre", "x")
    assert figure.data[0].geojson == url and len(figure.to_json()) < 100_000
    for module in PAGES:
        assert module.layout(warehouse) is not None


def test_pages_explain_what_to_run_before_the_later_stages(warehouse: Path, tmp_path: Path) -> None:
    import shutil

    from electio.dashboard.app import PAGES

    bare = tmp_path / "etl_seul.duckdb"
    shutil.copy(warehouse, bare)
    with duckdb.connect(str(bare)) as con:
        for table in ("fact_prevision", "dim_scenario", "forecast_calibration", "model_evaluation", "model_importance", "model_card"):
            con.execute(f"DROP TABLE {table}")
    data.warm(bare)
    assert data.targets(bare).empty and data.accuracy(bare, "pres2022_t1").empty and simulation.engine(bare) is None
    texts = " ".join(str(module.layout(bare).to_plotly_json()) for module in PAGES)
    assert "electio forecast" in texts and "electio evaluate" in texts


@pytest.mark.realdata
def test_report_slides_and_dashboard_show_the_same_headline(warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One set of numbers: the leading bloc's mean share, its probability and the communes it leads, for every target,
    are the same in the report, the slides and the dashboard (expected values computed here in plain SQL)."""
    from pptx import Presentation

    from electio.dashboard import views
    from electio.outputs import report, slides

    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    ctx = report.build_context(warehouse, output=tmp_path / "output")
    page = " ".join(report.render_html(ctx).replace("\u202f", " ").split())
    deck = Presentation(slides.write_slides(ctx, tmp_path / "soutenance.pptx"))
    deck_text = " ".join(" ".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame) for slide in deck.slides).replace("\u202f", " ")
    expected = sql(warehouse, """
        WITH lead AS (SELECT scrutin_cible, code_commune, arg_max(bloc, moyenne) AS bloc FROM fact_prevision
                      WHERE scenario = 'tendance' AND bloc <> 'abstention' AND code_commune <> ? GROUP BY ALL),
        counts AS (SELECT scrutin_cible, bloc, count(*) AS communes FROM lead GROUP BY ALL)
        SELECT p.horizon_ans, p.scrutin_cible, p.bloc, p.moyenne, p.p_tete, c.communes FROM fact_prevision p JOIN counts c USING (scrutin_cible, bloc)
        JOIN dim_scrutin_cible t USING (scrutin_cible)
        WHERE p.scenario = 'tendance' AND p.code_commune = ? AND p.bloc <> 'abstention'
        QUALIFY ROW_NUMBER() OVER (PARTITION BY p.scrutin_cible ORDER BY p.moyenne DESC) = 1
        ORDER BY t.date_scrutin, p.scrutin_cible""", [TERRITORY, TERRITORY])
    labels = data.bloc_labels(warehouse)
    last = expected.iloc[-1]
    for row in expected.itertuples():
        key = data.target_key(row.horizon_ans, row.scrutin_cible)
        shown = views.forecast_view(warehouse, data.forecast_slice(warehouse, key), row.bloc, "à l'horizon")
        share, chance = percent(row.moyenne).replace("\u202f", " "), percent(row.p_tete, 0).replace("\u202f", " ")
        assert f"{labels[row.bloc]} en tête avec {share}" in shown.bars_text.replace("\u202f", " ")
        assert f"{labels[row.bloc]} dans {row.communes} communes" in shown.leader_text
        assert f"<strong>{share}</strong>" in page  # the report's forecast table
        if row.scrutin_cible in (expected["scrutin_cible"].iloc[0], last.scrutin_cible):  # the synthesis and the deck state the first and last targets
            assert f"{labels[row.bloc]} en tête du territoire avec {share} des exprimés" in page
            assert f"{share}" in deck_text and f"probabilité {chance}" in deck_text and f"en tête dans {row.communes} communes" in deck_text
            assert f"en tête dans {row.communes} communes" in page


def test_a_map_click_opens_the_commune_page() -> None:
    from electio.dashboard import views

    assert views.commune_href({"points": [{"location": "69123", "z": 0.3}]}) == "/commune?code=69123"
    assert views.commune_href(None) is None and views.commune_href({"points": []}) is None
    assert views.requested_commune("?code=69123", {"69123"}) == "69123" and views.requested_commune("?code=99999", {"69123"}) is None


def test_commune_chart_never_joins_forecasts_across_ballot_types() -> None:
    from electio.dashboard.charts import fan_chart

    past = pd.DataFrame({"annee": [2017, 2019, 2022], "part": [0.20, 0.10, 0.30], "libelle": ["prés. 2017", "euro. 2019", "prés. 2022"],
                         "type_scrutin": ["presidentielle", "europeennes", "presidentielle"]})
    future = pd.DataFrame({"annee": [2027, 2027.2, 2029], "moyenne": [0.33, 0.40, 0.20], "q025": [0.1, 0.2, 0.05], "q10": [0.2, 0.3, 0.1],
                           "q90": [0.5, 0.5, 0.3], "q975": [0.6, 0.6, 0.4], "label": ["prés. 2027", "légis. 2027", "euro. 2029"]})
    fig = fan_chart(past, future, "#D55E00", "Lyon")
    lines = [t for t in fig.data if "lines" in (t.mode or "")]
    assert len(lines) == 2 and all(max(t.x) <= 2022 for t in lines)  # one line per past ballot type, none into the future
    forecast = next(t for t in fig.data if t.name == "Prévision (moyenne)")
    assert forecast.mode == "markers" and np.allclose(forecast.y, [33, 40, 20])
    band = next(t for t in fig.data if t.name == "Intervalle à 80 %")
    assert np.allclose(np.asarray(forecast.y) + band.error_y.array, [50, 50, 30]) and np.allclose(np.asarray(forecast.y) - band.error_y.arrayminus, [20, 30, 10])


def test_accuracy_page_lists_the_stored_replays(warehouse: Path) -> None:
    """Issue 14: the replays table of the accuracy page has one row per stored replay (ballot × as-of date), and the
    overview states the as-of date and each target's polls (read from dim_scrutin_cible)."""
    from electio.dashboard import replays

    stored = sql(warehouse, "SELECT DISTINCT scrutin_test, date_reference FROM model_evaluation WHERE date_reference IS NOT NULL")
    table = replays.replay_table(warehouse)
    assert set(zip(table["scrutin_test"], pd.to_datetime(table["date_reference"]))) == set(zip(stored["scrutin_test"], pd.to_datetime(stored["date_reference"])))
    assert len(table) == len(stored)
    if stored.empty:  # the session's fast evaluation stores no replay: the page says so (tests/test_replays_outputs.py covers the table)
        assert "Aucune prévision rejouée" in str(replays.replays_section(warehouse))
    targets = sql(warehouse, "SELECT * FROM dim_scrutin_cible WHERE prevu")
    section = str(replays.provenance_section(warehouse))
    assert f"{pd.Timestamp(targets['date_reference'].iloc[0]):%d/%m/%Y}" in section
    assert all(f"{pd.Timestamp(d):%d/%m/%Y}" in section for d in targets["date_scrutin"])
    for row in targets[targets["methode_totaux"] == "sondages"].itertuples():
        assert f"{row.nb_sondages} scénario" in section and row.instituts in section


def test_duel_page_reads_the_stored_duels_of_the_chosen_hypothesis(warehouse: Path) -> None:
    """« Seconds tours 2027 »: every stored hypothesis × duel is offered; the answer and the winner counts are those of fact_prevision_duel."""
    from electio.dashboard.pages import duels

    stored = sql(warehouse, "SELECT DISTINCT hypothese_id FROM fact_prevision_duel")["hypothese_id"]
    assert set(duels.hypotheses(warehouse)["hypothese_id"]) == set(stored) and len(stored) >= 1
    other = duels.hypotheses(warehouse)["hypothese_id"].iloc[-1]
    duel = duels.duels(warehouse)["duel_id"].iloc[0]
    winner, winner_text, _legend, chance, _chance_text, answer = duels.duel_view(warehouse, other, duel)
    first = sql(warehouse, "SELECT candidat_a FROM dim_duel WHERE duel_id = ?", [duel]).iloc[0, 0]
    rows = sql(warehouse, "SELECT code_commune, moyenne, p_victoire FROM fact_prevision_duel WHERE hypothese_id = ? AND duel_id = ? AND candidat = ?",
               [other, duel, first])
    communes, total = rows[rows["code_commune"] != TERRITORY], rows[rows["code_commune"] == TERRITORY].iloc[0]
    won = int((communes["p_victoire"] > 0.5).sum())
    assert f"vainqueur prévu dans {won} commune" in winner_text and f"sur {len(communes)}" in winner_text
    assert percent(total["moyenne"]) in answer and percent(total["p_victoire"], 0) in answer
    assert sorted(np.concatenate([list(t.locations) for t in winner.data])) == sorted(communes["code_commune"])
    assert np.allclose(sorted(chance.data[0].z), sorted(100 * communes["p_victoire"]))


@pytest.mark.realdata
def test_report_slides_and_dashboard_show_the_same_duels(warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 2027 duels of the retained hypothesis: the territory share, P(win) and communes won of the most polled duel, and the
    unconditional 2022 backtest, are the same in the report, the slides and the dashboard (expected values in plain SQL)."""
    from pptx import Presentation

    from electio.dashboard.pages import duels
    from electio.outputs import report, slides

    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    ctx = report.build_context(warehouse, output=tmp_path / "output")
    page = " ".join(report.render_html(ctx).replace("\u202f", " ").split())
    deck = Presentation(slides.write_slides(ctx, tmp_path / "soutenance.pptx"))
    cells = [cell.text for slide in deck.slides for shape in slide.shapes if shape.has_table for row in shape.table.rows for cell in row.cells]
    deck_text = " ".join([*cells, *(shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame)]).replace("\u202f", " ")
    top = sql(warehouse, """SELECT d.duel_id, d.libelle, f.moyenne, f.p_victoire, h.hypothese_id FROM dim_duel d JOIN fact_prevision_duel f
                            ON f.duel_id = d.duel_id AND f.candidat = d.candidat_a JOIN dim_hypothese h ON h.hypothese_id = f.hypothese_id AND h.retenue
                            WHERE f.code_commune = ? ORDER BY d.sondages_fenetre DESC, d.sondages DESC, d.duel_id LIMIT 1""", [TERRITORY]).iloc[0]
    won = sql(warehouse, """SELECT count(*) FROM fact_prevision_duel f JOIN dim_duel d ON f.duel_id = d.duel_id AND f.candidat = d.candidat_a
                            WHERE f.duel_id = ? AND f.hypothese_id = ? AND f.code_commune <> ? AND f.p_victoire > 0.5""",
              [top.duel_id, top.hypothese_id, TERRITORY]).iloc[0, 0]
    units = sql(warehouse, "SELECT count(DISTINCT code_commune) FROM fact_prevision_duel WHERE duel_id = ? AND hypothese_id = ? AND code_commune <> ?",
                [top.duel_id, top.hypothese_id, TERRITORY]).iloc[0, 0]
    assert units == 274  # 265 communes and Lyon's 9 arrondissements
    share, chance = percent(top.moyenne).replace("\u202f", " "), percent(top.p_victoire, 0).replace("\u202f", " ")
    assert f"<strong>{share}</strong>" in page and f"{won} sur {units}" in page and chance in page
    assert percent(top.moyenne, 0).replace("\u202f", " ") in deck_text and f"{won} sur {units}" in deck_text
    answer = duels.duel_view(warehouse, top.hypothese_id, top.duel_id)[5].replace("\u202f", " ")
    assert share in answer and f"probabilité de victoire {chance}" in answer
    replay = sql(warehouse, "SELECT mae_points FROM model_evaluation_duel WHERE scrutin_test = 'pres2022_t2' AND NOT conditionnel AND methode = 'transferts'")
    assert len(replay) == 1  # the unconditional backtest is stored
    mae = f"{replay.iloc[0, 0]:.1f}".replace(".", ",") + " pt"
    assert mae in page and mae in deck_text


def test_commune_chart_draws_same_day_targets_side_by_side() -> None:
    """Européennes and législatives 2029 fall on the same day: two bars at two positions, each named."""
    from electio.dashboard.charts import fan_chart

    past = pd.DataFrame({"annee": pd.to_datetime(["2022-04-10", "2024-06-09"]), "part": [0.2, 0.3], "libelle": ["prés. 2022", "euro. 2024"],
                         "type_scrutin": ["presidentielle", "europeennes"]})
    future = pd.DataFrame({"annee": pd.to_datetime(["2027-04-11", "2029-06-10", "2029-06-10"]), "moyenne": [0.3, 0.25, 0.2],
                           "q025": [0.1] * 3, "q10": [0.2] * 3, "q90": [0.4] * 3, "q975": [0.5] * 3,
                           "label": ["Présidentielle 2027", "Européennes 2029", "Législatives 2029"], "court": ["prés. 2027", "euro. 2029", "légis. 2029"]})
    fig = fan_chart(past, future, "#D55E00", "Lyon")
    forecast = next(t for t in fig.data if t.name == "Prévision (moyenne)")
    assert len(set(pd.to_datetime(list(forecast.x)))) == 3 and list(forecast.customdata) == list(future["label"])
    names = next(t for t in fig.data if t.name == "Scrutin prévu")
    assert list(names.x) == list(forecast.x) and [t.replace("<br>", " ") for t in names.text] == list(future["court"])
    assert all(list(t.x) == list(forecast.x) for t in fig.data if t.name and t.name.startswith("Intervalle"))
