"""Lyon's arrondissements as units of the model (issue 18, item 4) on the real Rhône warehouse:
the rule for estimated rows, and the other communes unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from electio.features.election_data import cut_to_date, load_election_data
from electio.features.modelling_table import build_modelling_table
from electio.forecasts.targets import latest_rows

pytestmark = pytest.mark.realdata

LYON = "69123"
ARRONDISSEMENTS = {f"6938{i}" for i in range(1, 10)}


@pytest.fixture(scope="module")
def both(rhone_etl: Path) -> tuple:
    return load_election_data(rhone_etl, units=False), load_election_data(rhone_etl, units=True)


def test_lyon_is_nine_units_and_the_other_communes_are_unchanged(both: tuple) -> None:
    communes, units = both
    assert ARRONDISSEMENTS <= set(units.results["code_commune"]) and LYON not in set(units.results["code_commune"])
    assert f"{LYON}_HA" not in set(units.results["code_commune"])  # hors_arrondissement: out of the model
    columns = [c for c in communes.results.columns if c not in ("estime", "date_estimation")]
    keys = ["scrutin_id", "code_commune"]
    other = communes.results[communes.results["code_commune"] != LYON][columns].sort_values(keys).reset_index(drop=True)
    same = units.results[~units.results["code_commune"].isin(units.arrondissements)][columns].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(other, same, check_dtype=False)


def test_estimated_rows_are_known_only_after_their_reference_and_never_targets(both: tuple) -> None:
    _, units = both
    estimated = units.results[units.results["estime"]]
    assert not estimated.empty and estimated["date_estimation"].notna().all()
    for as_of in ("2019-06-01", "2022-03-10", "2024-05-15"):
        cut = cut_to_date(units, pd.Timestamp(as_of))
        assert (cut.results.loc[cut.results["estime"], "date_estimation"] < pd.Timestamp(as_of)).all()
        table = build_modelling_table(cut)
        rows = table.merge(cut.results[["scrutin_id", "code_commune", "estime"]], on=["scrutin_id", "code_commune"])
        assert len(rows) == len(table) and not rows["estime"].any()
    # euro2019 of Lyon is estimated from euro2024: no arrondissement is a euro2019 target
    table = build_modelling_table(units)
    assert not set(table.loc[table["scrutin_id"] == "euro2019_t1", "code_commune"]) & ARRONDISSEMENTS
    assert ARRONDISSEMENTS <= set(table.loc[table["scrutin_id"] == "pres2022_t1", "code_commune"])


def test_forecast_target_keeps_units_whose_latest_ballot_is_not_yet_known(both: tuple) -> None:
    _, units = both
    cut = cut_to_date(units, pd.Timestamp("2022-03-10"))
    gone = (cut.results["scrutin_id"] == "euro2019_t1") & cut.results["code_commune"].isin(ARRONDISSEMENTS)
    latest = latest_rows(replace(cut, results=cut.results[~gone]))  # a unit absent from the latest ballot
    assert ARRONDISSEMENTS <= set(latest["code_commune"]) and not latest["estime"].any()
    kept = cut.results[~gone & cut.results["code_commune"].isin(ARRONDISSEMENTS)].merge(cut.ballots[["scrutin_id", "date_scrutin"]])
    newest = kept.loc[kept["date_scrutin"] == kept["date_scrutin"].max(), "scrutin_id"].iloc[0]
    assert newest != "euro2019_t1"
    assert set(latest.loc[latest["code_commune"].isin(ARRONDISSEMENTS), "scrutin_id"]) == {newest}


def test_arrondissement_indicators_inherit_the_city_where_not_published(both: tuple) -> None:
    communes, units = both
    city = communes.indicators[communes.indicators["code_commune"] == LYON]
    first = units.indicators[units.indicators["code_commune"] == "69381"]
    assert set(city["indicateur"]) <= set(first["indicateur"])
    assert LYON not in set(units.indicators["code_commune"])
    assert communes.arrondissements == {LYON} and units.arrondissements == ARRONDISSEMENTS | {f"{LYON}_HA"}


def test_indicators_published_by_arrondissement_are_kept_and_gaps_stated(rhone_etl: Path) -> None:
    import duckdb

    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        cover = con.execute("SELECT indicateur, unites_couvertes, unites_attendues, statut FROM couverture_indicateur_unite").df().set_index("indicateur")
        population = con.execute("SELECT code_unite, valeur FROM fact_indicateur_unite WHERE indicateur = 'population' AND annee = 2018").df()
        city = con.execute("SELECT valeur FROM fact_indicateur_commune WHERE code_commune = '69123' AND indicateur = 'population' AND annee = 2018").fetchone()[0]
        rates = con.execute("SELECT count(DISTINCT code_unite) FROM fact_indicateur_unite WHERE indicateur = 'part_cadres' AND annee = 2022").fetchone()[0]
    assert (cover["unites_attendues"] == 9).all()
    assert cover.loc["revenu_median", "statut"] == "ok" and cover.loc["part_cadres", "statut"] == "ok" and rates == 9
    assert (cover.loc[cover["statut"] == "lacune", "unites_couvertes"] == 0).all() and (cover["statut"] == "lacune").any()
    # the comparateur's arrondissement populations sum to the city's own row
    assert set(population["code_unite"]) == ARRONDISSEMENTS and population["valeur"].sum() == pytest.approx(city)


def test_maps_draw_and_label_every_arrondissement_inside_the_city(rhone_etl: Path) -> None:
    import duckdb

    from electio.analysis.figures import main_communes, with_units_note
    from electio.analysis.geometry import commune_shapes, dissolve_to_reference, load_polygons

    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        units = con.execute("SELECT code_commune, nom_commune, code_departement, population FROM v_unite_analyse").df()
        mapping = con.execute("SELECT code_source, code_reference FROM map_commune_cog").df()
    shapes, cover, _ = commune_shapes(units, mapping)
    assert cover.complete
    cells = shapes[shapes["code_commune"].isin(ARRONDISSEMENTS)]
    city = dissolve_to_reference(load_polygons(["69"])[0], mapping)[0].set_index("code_commune").to_crs(cells.crs).geometry[LYON]
    assert len(cells) == 9 and cells.geometry.notna().all()
    assert cells.union_all().symmetric_difference(city).area < 1e-6 * city.area  # they tile the city
    assert cells.area.sum() == pytest.approx(city.area, rel=1e-6)  # without overlaps
    assert "population" in shapes  # carried from the units: the labels pick the most populous
    names = set(main_communes(shapes)["name"])
    assert {f"Lyon {n}" for n in ("1er", "2e", "9e")} <= names
    assert "contours approchés" in with_units_note("Carte.", shapes)


def test_rows_estimated_from_a_later_ballot_are_rebuilt_from_what_was_known(both: tuple) -> None:
    _, units = both
    cut = cut_to_date(units, pd.Timestamp("2024-05-15"))  # euro2019 of Lyon: the ETL split it with euro2024
    rows = cut.results[(cut.results["scrutin_id"] == "euro2019_t1") & cut.results["code_commune"].isin(ARRONDISSEMENTS)]
    assert len(rows) == 9 and rows["estime"].all() and (rows["date_estimation"] < pd.Timestamp("2024-05-15")).all()
    city = units.cities[units.cities["scrutin_id"] == "euro2019_t1"].iloc[0]
    voix = [c for c in rows.columns if c.startswith("voix_")]
    for column in ["inscrits", "votants", "exprimes", *voix]:
        assert rows[column].sum() == pytest.approx(0 if pd.isna(city[column]) else city[column]), column
    full = units.results[(units.results["scrutin_id"] == "euro2019_t1") & units.results["code_commune"].isin(ARRONDISSEMENTS)]
    assert not rows.set_index("code_commune")["voix_gauche"].round().equals(full.set_index("code_commune")["voix_gauche"].astype(float))


def test_backtest_features_never_use_a_split_dated_after_the_target(both: tuple) -> None:
    _, units = both
    table = build_modelling_table(units)
    # pres2012 and euro2014 of Lyon are split with 2017 and 2024 shares: unknown before pres2017
    assert not set(table.loc[table["scrutin_id"] == "pres2017_t1", "code_commune"]) & ARRONDISSEMENTS
