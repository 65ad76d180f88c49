"""Territory justification: how close each département votes to France (analysis/territories.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio.analysis.territories import compare_territories


def tiny_totals() -> duckdb.DuckDBPyConnection:
    """France, two départements and one collectivity on two national first rounds, plus a municipal ballot and a 2012 one."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE dim_scrutin AS SELECT * FROM (VALUES
        ('pres2022_t1', 'Présidentielle 2022 - 1er tour', DATE '2022-04-10', 'presidentielle', 1),
        ('euro2024_t1', 'Européennes 2024', DATE '2024-06-09', 'europeennes', 1),
        ('muni2026_t1', 'Municipales 2026', DATE '2026-03-15', 'municipales', 1),
        ('pres2012_t1', 'Présidentielle 2012 - 1er tour', DATE '2012-04-22', 'presidentielle', 1))
        t(scrutin_id, libelle, date_scrutin, type_scrutin, tour)""")
    con.execute("""CREATE TABLE dim_departement AS SELECT * FROM (VALUES ('01', 'Ain', '84'), ('69', 'Rhône', '84'), ('975', 'Saint-Pierre-et-Miquelon', '975'))
        t(code_departement, nom_departement, code_region)""")
    rows = []  # (ballot, level, code, bloc, share)
    for ballot in ("pres2022_t1", "euro2024_t1", "muni2026_t1", "pres2012_t1"):
        rows += [(ballot, "france", "FR", "a", 0.5), (ballot, "france", "FR", "b", 0.3), (ballot, "france", "FR", "c", 0.2),
                 (ballot, "departement", "975", "a", 0.5), (ballot, "departement", "975", "b", 0.3), (ballot, "departement", "975", "c", 0.2)]
    rows += [("pres2022_t1", "departement", "01", "a", 0.52), ("pres2022_t1", "departement", "01", "b", 0.28), ("pres2022_t1", "departement", "01", "c", 0.20),
             ("euro2024_t1", "departement", "01", "a", 0.50), ("euro2024_t1", "departement", "01", "b", 0.30), ("euro2024_t1", "departement", "01", "c", 0.20),
             # bloc c has no candidate in the Rhône in 2022: it counts 0, a 20-point gap
             ("pres2022_t1", "departement", "69", "a", 0.60), ("pres2022_t1", "departement", "69", "b", 0.40),
             ("euro2024_t1", "departement", "69", "a", 0.44), ("euro2024_t1", "departement", "69", "b", 0.36), ("euro2024_t1", "departement", "69", "c", 0.20),
             ("muni2026_t1", "departement", "01", "a", 0.9), ("pres2012_t1", "departement", "69", "a", 0.9)]
    con.execute("CREATE TABLE v_resultat_bloc_territoire (scrutin_id VARCHAR, niveau VARCHAR, code_territoire VARCHAR, bloc VARCHAR, part DOUBLE)")
    con.executemany("INSERT INTO v_resultat_bloc_territoire VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE fact_participation_territoire (scrutin_id VARCHAR, niveau VARCHAR, code_territoire VARCHAR, inscrits BIGINT, votants BIGINT)")
    turnout = [("FR", 1000, 700), ("01", 100, 72), ("69", 100, 64), ("975", 100, 70)]
    con.executemany("INSERT INTO fact_participation_territoire VALUES (?, ?, ?, ?, ?)",
                    [(b, "france" if c == "FR" else "departement", c, i, v) for b in ("pres2022_t1", "euro2024_t1", "muni2026_t1", "pres2012_t1") for c, i, v in turnout])
    return con


def test_departements_are_ranked_by_their_gap_to_france() -> None:
    result = compare_territories(tiny_totals())
    assert result.ballots["scrutin_id"].tolist() == ["pres2022_t1", "euro2024_t1"]  # recent national first rounds only
    assert result.table["code_departement"].tolist() == ["01", "69"]  # a collectivity is not a candidate département
    ain, rhone = result.row("01"), result.row("69")
    assert ain["distance_blocs"] == pytest.approx((4 / 3 + 0) / 2)  # 2022: (2 + 2 + 0) / 3 points; 2024: identical
    assert rhone["distance_blocs"] == pytest.approx(((10 + 10 + 20) / 3 + (6 + 6 + 0) / 3) / 2)
    assert ain["ecart_participation"] == pytest.approx(2.0) and rhone["ecart_participation"] == pytest.approx(6.0)
    assert (ain["rang"], rhone["rang"]) == (1, 2) and (ain["rang_participation"], rhone["rang_participation"]) == (1, 2)
    assert result.row("975") is None


def test_no_comparison_without_territory_totals() -> None:
    con = tiny_totals()
    con.execute("DROP TABLE fact_participation_territoire")
    assert compare_territories(con) is None


@pytest.mark.realdata
def test_every_departement_is_compared_in_the_rhone_warehouse(rhone_etl: Path) -> None:
    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        result = compare_territories(con)
        departements = con.execute("SELECT count(*) FROM dim_departement WHERE code_region <> code_departement").fetchone()[0]
    assert len(result.ballots) >= 6 and set(result.ballots["scrutin_id"]) >= {"pres2022_t1", "euro2024_t1"}
    assert len(result.table) == departements  # France's 101 départements, each on the same ballots
    assert result.table["rang"].tolist() == list(range(1, len(result.table) + 1))
    assert result.table["distance_blocs"].is_monotonic_increasing and (result.table["distance_blocs"] > 0).all()
    rhone = result.row("69")
    assert rhone is not None and 0 < rhone["distance_blocs"] < result.table["distance_blocs"].max()
    # the ETL's national views: every metropolitan département's socio-economic profile (overseas, Mayotte lacks the 2018
    # census and Filosofi is secret in Guadeloupe and Guyane), and the coverage of every file read
    metropolitan = ~result.table["code_departement"].str.startswith("97")
    assert result.table.loc[metropolitan, "distance_socio"].notna().all() and rhone["indicateurs_socio"] == len(result.profile)
    assert result.table["rang_socio"].max() == result.table["distance_socio"].notna().sum()
    assert rhone["scrutins_communes"] == rhone["scrutins_lus"]  # the warehouse reads the national files and the Rhône's own
    assert rhone["scrutins_communes"] > result.table["scrutins_communes"].median() and rhone["rang_disponibilite"] == 1
    assert 0 < result.table["couverture_indicateurs"].min() and result.table["disponibilite"].max() <= 1


def socio_tables(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The ETL's national views on the tiny warehouse: two indicators (an older year to ignore) and four files."""
    con.execute("""CREATE TABLE dim_indicateur AS SELECT * FROM (VALUES ('taux_chomage', 'Taux de chômage', '%'), ('densite', 'Densité', 'hab/km²'))
        t(indicateur, libelle, unite)""")
    con.execute("""CREATE TABLE fact_indicateur_territoire AS SELECT *, 'comparateur' AS source_id, 10 AS communes FROM (VALUES
        ('taux_chomage', 'france', 'FR', 2018, 10.0), ('taux_chomage', 'departement', '01', 2018, 11.0), ('taux_chomage', 'departement', '69', 2018, 14.0),
        ('taux_chomage', 'departement', '975', 2018, 50.0), ('taux_chomage', 'departement', '69', 2013, 90.0), ('taux_chomage', 'france', 'FR', 2013, 1.0),
        ('densite', 'france', 'FR', 2018, 100.0), ('densite', 'departement', '01', 2018, 100.0), ('densite', 'departement', '69', 2018, 1000.0))
        t(indicateur, niveau, code_territoire, annee, valeur)""")
    con.execute("""CREATE TABLE disponibilite_territoire AS SELECT * FROM (VALUES
        ('01', 'scrutin', 'ballot_fr', 'a_t1', 10, 10), ('69', 'scrutin', 'ballot_fr', 'a_t1', 5, 10), ('69', 'scrutin', 'ballot_69', 'b_t1', 10, 10),
        ('01', 'indicateur', 'ind_fr', NULL, 10, 10), ('69', 'indicateur', 'ind_fr', NULL, 10, 10), ('69', 'indicateur', 'iris_69', NULL, 8, 10))
        t(code_departement, famille, source_id, scrutin_id, communes, communes_attendues)""")
    return con


def test_departements_are_ranked_on_socio_economic_profile_and_data_availability() -> None:
    result = compare_territories(socio_tables(tiny_totals()))
    ain, rhone = result.row("01"), result.row("69")
    # 2018 only; sd over the two départements: 1.5 points of unemployment, 0.5 on log10(density) (2 and 3)
    assert ain["distance_socio"] == pytest.approx((1 / 1.5 + 0) / 2) and rhone["distance_socio"] == pytest.approx((4 / 1.5 + 1 / 0.5) / 2)
    assert (ain["rang_socio"], rhone["rang_socio"]) == (1, 2)
    assert result.profile.loc["taux_chomage", ["FR", "01", "69", "mediane"]].tolist() == [10.0, 11.0, 14.0, 12.5]
    assert "975" not in result.profile.columns and result.indicators["annee"].tolist() == [2018, 2018]
    # a file without the département counts 0: Ain (1 + 0) / 2 for each family; Rhône (0.5 + 1) / 2 and (1 + 0.8) / 2
    assert ain["disponibilite"] == pytest.approx(0.5) and rhone["disponibilite"] == pytest.approx((0.75 + 0.9) / 2)
    assert (rhone["rang_disponibilite"], ain["rang_disponibilite"]) == (1, 2)
    assert (ain["scrutins_communes"], rhone["scrutins_communes"], rhone["scrutins_lus"], rhone["indicateurs_lus"]) == (1, 2, 2, 2)
    # national files (communes in more than half of the départements): ballot_fr and ind_fr; Ain (1 + 1) / 2, Rhône (0.5 + 1) / 2
    assert ain["disponibilite_nationale"] == pytest.approx(1.0) and rhone["disponibilite_nationale"] == pytest.approx(0.75)
    assert (ain["rang_disponibilite_nationale"], rhone["rang_disponibilite_nationale"], ain["fichiers_nationaux"]) == (1, 2, 2)


def test_report_section_says_what_is_missing_without_the_national_views() -> None:
    from electio.outputs.report_data import departements_section

    section = departements_section(tiny_totals(), "69")
    assert section["territoire"]["rang"] == 2 and section["socio"] is None and section["disponibilite"] is None
    full = departements_section(socio_tables(tiny_totals()), "69")
    assert full["socio"]["rang"] == 2 and [line["territoire"] for line in full["socio"]["lignes"]] == [1000.0, 14.0]
    assert [(line["libelle"], round(line["z"], 3)) for line in full["socio"]["plus_eloignes"]] == [("Taux de chômage", 2.667), ("Densité", 2.0)]
    assert full["disponibilite"]["rang"] == 1 and full["disponibilite"]["scrutins_lus"] == 2 and full["disponibilite"]["rang_national"] == 2


def test_territory_values_sum_counts_and_weight_published_rates() -> None:
    from electio.harmonise.territory_indicators import published_communes, territory_values

    rows = []  # (code, indicateur, annee, valeur): two communes of the Ain, one of the Rhône; a secret poverty rate
    for code, pop, area, unemployed, active, poverty in (("01001", 1000, 10, 50, 500, 12.0), ("01002", 3000, 20, 300, 1500, None),
                                                        ("69001", 2000, 5, 100, 1000, 20.0)):
        rows += [(code, "population", 2018, pop), (code, "superficie", 2021, area), (code, "chomeurs_15_64", 2018, unemployed),
                 (code, "actifs_15_64", 2018, active), (code, "taux_pauvrete", 2019, poverty)]
    frame = pd.DataFrame(rows, columns=["code_commune_source", "indicateur", "annee", "valeur"]).assign(cog_annee=2021, qualite="ok", ligne_source=1)
    values = territory_values(frame, "comparateur").set_index(["indicateur", "code_territoire"])
    assert values.loc[("taux_chomage", "01"), "valeur"] == pytest.approx(100 * 350 / 2000)
    assert values.loc[("taux_chomage", "FR"), "valeur"] == pytest.approx(100 * 450 / 3000)
    assert values.loc[("densite", "01"), "valeur"] == pytest.approx(4000 / 30) and values.loc[("densite", "FR"), "annee"] == 2018
    assert values.loc[("taux_pauvrete", "01"), "valeur"] == pytest.approx(12.0) and values.loc[("taux_pauvrete", "01"), "communes"] == 1
    assert values.loc[("taux_pauvrete", "FR"), "valeur"] == pytest.approx((12 * 1000 + 20 * 2000) / 3000)
    assert not values.index.get_level_values("indicateur").isin(["population", "chomeurs_15_64"]).any()  # counts are not kept
    found = published_communes(pd.Series(["01001", "01001", "97101", None]), pd.Series(["01001", "01002", "97101", "69001"]))
    assert found.set_index("code_departement").to_dict("index") == {"01": {"communes": 1, "communes_attendues": 2}, "971": {"communes": 1, "communes_attendues": 1}}


@pytest.mark.realdata
def test_france_and_departement_indicators_match_the_national_file(mirror: Path) -> None:
    """Département and France values of the comparateur de territoires, recomputed from its raw CSV."""
    import io
    import zipfile

    from electio.harmonise.territory_indicators import TERRITORY_SOURCES, territory_values
    from electio.parse.insee_comparateur import parse_comparateur

    path = mirror / "indicators/multi_themes/insee_base_cc_comparateur_csv_2022-01.zip"
    values = territory_values(parse_comparateur(path), TERRITORY_SOURCES[0])
    values = values[values["annee"] >= 2018].set_index(["indicateur", "code_territoire"])  # RP 2018, Filosofi 2019 (not RP 2013)
    raw = pd.read_csv(io.BytesIO(zipfile.ZipFile(path).read("base_cc_comparateur.CSV")), sep=";", dtype={"CODGEO": str})
    raw = raw[~raw["CODGEO"].str.match(r"^(751\d\d|6938\d|132\d\d)$")]  # arrondissements: their city has its own row
    rhone = raw[raw["CODGEO"].str.startswith("69")]
    assert values.loc[("taux_chomage", "FR"), "valeur"] == pytest.approx(100 * raw["P18_CHOM1564"].sum() / raw["P18_ACT1564"].sum())
    assert values.loc[("densite", "69"), "valeur"] == pytest.approx(rhone["P18_POP"].sum() / rhone["SUPERF"].sum())
    published = rhone.dropna(subset=["TP6019"])
    assert values.loc[("taux_pauvrete", "69"), "valeur"] == pytest.approx((published["TP6019"] * published["P18_POP"]).sum() / published["P18_POP"].sum())
    assert values.loc[("taux_pauvrete", "69"), "communes"] == len(published)
    departements = values.loc["taux_chomage"].drop(index="FR")
    assert len(departements) >= 100 and "976" not in departements.index  # Mayotte has no RP 2018 in this file
