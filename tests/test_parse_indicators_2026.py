"""Indicator sources added in 2026: RNA associations, DVF, Filosofi 2012/2017/2019 poverty/2020/2021 DEC,
unemployment by zone d'emploi, Rhône census unemployment and URSSAF establishments (issue 13, item 5)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from electio.catalogue import get_source
from electio.errors import InputError
from electio.features.modelling_table import indicator_features, load_indicators
from electio.harmonise.indicators import derive_rates
from electio.parse import axcvwy, dvf, insee_filosofi, insee_zones_emploi, rna
from electio.parse.indicators_common import is_arrondissement
from electio.pipeline.indicators import load_availability, parse_indicator
from test_parse_indicators import FIXTURES, check_contract, long_frame, value

RAW = Path("indicators")
ZE_RATES = RAW / "emploi" / "insee_taux_chomage_localises_zone_emploi_2003T1-2023T3.xlsx"
ZE_COMPOSITION = RAW / "emploi" / "insee_ZE2020_composition_communale_au_01-01-2023.xlsx"
ASSOCIATIONS = RAW / "associations" / "ntd_rna_waldec_associations_actives_par_commune.csv"
NEW_INDICATORS = {
    "associations": 2026, "associations_pour_1000hab": 2026, "ventes_logements": 2024, "prix_m2_moyen": 2014,
    "part_ventes_maisons": 2024, "revenu_declare_median": 2021, "intensite_pauvrete": 2019,
    "taux_chomage_zone_emploi": 2022, "etablissements_employeurs": 2012, "etablissements_employeurs_pour_1000hab": 2022,
}


# --- tiny fixtures in the original layouts -------------------------------------------------


def test_associations_lyon_is_the_sum_of_its_arrondissements() -> None:
    frame = rna.parse_associations(FIXTURES / "rna_waldec_associations.csv")
    check_contract(frame)
    raw = pd.read_csv(FIXTURES / "rna_waldec_associations.csv", dtype={"CODGEO": str})
    lyon = raw[raw["CODGEO"].str.startswith("6938")]["nb_assos"].sum()
    assert value(frame, "69123", "associations", 2026) == (lyon, "derive")
    assert value(frame, "69001", "associations", 2026)[1] == "ok"
    assert not is_arrondissement(frame["code_commune_source"]).any()
    # Marseille has only its 1st arrondissement in the fixture: the parent gets that part only
    assert value(frame, "13055", "associations", 2026)[0] == raw.loc[raw["CODGEO"] == "13201", "nb_assos"].iloc[0]
    # a commune absent from the file has no row (missing, not zero)
    assert frame[frame["code_commune_source"] == "69002"].empty
    assert set(frame["indicateur"]) == {"associations"} and set(frame["cog_annee"]) == {rna.COG}


def test_associations_rate_uses_a_population_published_before_the_snapshot() -> None:
    frame = long_frame(
        [
            ("69001", 2026, "associations", 2026, 20, "ok"),
            ("69001", 2026, "population", 2022, 400, "ok"),
            ("69001", 2026, "population", 2023, 500, "ok"),
        ]
    )
    out = derive_rates(frame)
    assert value(out, "69001", "associations_pour_1000hab", 2026) == (40, "derive")
    populations = load_availability().query("source_id.str.startswith('population__') and annee == 2023")
    snapshot = load_availability().query("source_id == 'associations__ntd_rna_waldec_associations_actives_par_commune'")
    assert populations["date_publication"].max() <= snapshot["date_publication"].iloc[0]


def test_dvf_both_layouts_and_the_unknown_code_row() -> None:
    old = dvf.parse_dvf(FIXTURES / "dvf_communes_2014.csv")
    new = dvf.parse_dvf(FIXTURES / "dvf_communes_2024.csv")
    for frame in (old, new):
        check_contract(frame)
        assert "NA" not in set(frame["code_commune_source"])
    assert value(old, "2A146", "prix_m2_moyen", 2014) == (1087, "ok")
    assert value(old, "69123", "ventes_maisons", 2014) == (143, "ok")
    assert set(old["cog_annee"]) == {2022} and set(new["cog_annee"]) == {2024}
    assert value(new, "69123", "ventes_logements", 2024) == (5894, "ok")


def test_dvf_2024_share_of_houses_is_recomputed_from_counts() -> None:
    frame = derive_rates(dvf.parse_dvf(FIXTURES / "dvf_communes_2024.csv"))
    raw = pd.read_csv(FIXTURES / "dvf_communes_2024.csv", dtype={"INSEE_COM": str}).set_index("INSEE_COM")
    share = value(frame, "01001", "part_ventes_maisons", 2024)[0]
    assert share == 100 and raw.loc["01001", "PropMaison"] == 0  # the file's share is swapped
    lyon = value(frame, "69123", "part_ventes_maisons", 2024)[0]
    assert lyon == pytest.approx(100 * 141 / 5894)
    assert abs(lyon - raw.loc["69123", "PropAppart"]) < 0.5 < abs(lyon - raw.loc["69123", "PropMaison"])


def test_dvf_year_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "dvf_communes_2015.csv"
    path.write_bytes((FIXTURES / "dvf_communes_2014.csv").read_bytes())
    with pytest.raises(InputError, match="année inattendue"):
        dvf.parse_dvf(path)


def test_filosofi_2012_and_2020_comparateur_layouts() -> None:
    f2012 = insee_filosofi.parse_cc(FIXTURES / "base-cc-filosofi-2012_COM.csv")
    f2020 = insee_filosofi.parse_cc(FIXTURES / "cc_filosofi_2020_COM.csv")
    for frame, year, cog in ((f2012, 2012, 2013), (f2020, 2020, 2022)):
        check_contract(frame)
        assert set(frame["annee"]) == {year} and set(frame["cog_annee"]) == {cog}
        assert "69381" not in set(frame["code_commune_source"])
    assert value(f2012, "69123", "revenu_median", 2012) == (21659.6, "ok")
    assert value(f2012, "69123", "taux_pauvrete", 2012) == (14, "ok")
    assert value(f2012, "01001", "taux_pauvrete", 2012)[1] == "secret"
    assert "part_revenus_activite" not in set(f2012["indicateur"])  # no PACT in 2012
    assert value(f2020, "01001", "revenu_median", 2020) == (24820, "ok")
    assert value(f2020, "01001", "taux_pauvrete", 2020)[1] == "secret"


def test_filosofi_2021_declared_income_drops_the_trailing_empty_row() -> None:
    frame = insee_filosofi.parse_dec(FIXTURES / "FILO2021_DEC_COM.csv")
    check_contract(frame)
    assert value(frame, "69123", "revenu_declare_median", 2021) == (25860, "ok")
    assert value(frame, "01001", "revenu_declare_median", 2021) == (26410, "ok")
    assert value(frame, "01001", "indice_gini_declare", 2021)[1] == "secret"
    assert set(frame["code_commune_source"]) == {"01001", "69123"}


def test_filosofi_2017_median_only() -> None:
    frame = insee_filosofi.parse_median_2017(FIXTURES / "ntd_filosofi2017_revenu_median_commune.csv")
    check_contract(frame)
    assert set(frame["indicateur"]) == {"revenu_median"} and set(frame["cog_annee"]) == {2018}
    assert value(frame, "69123", "revenu_median", 2017) == (23250, "ok")


def write_workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """An xlsx workbook with INSEE-style title rows already included in ``rows``."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


TITLE = [["Titre"], ["Source : Insee"], [None], [None], ["Libellés"]]


def test_filosofi_2019_poverty_workbook(tmp_path: Path) -> None:
    rows = [*TITLE, ["CODGEO", "LIBGEO", "TP4019", "TP5019", "TP6019", "TP60Q219", "TP60IP19"],
            ["69123", "Lyon", 5, 9, 15, 10620, 0.221], ["69381", "Lyon 1er", 6, 11, 17, 10500, 0.23],
            ["69264", "Villefranche", None, None, 22, 10900, None]]
    path = write_workbook(tmp_path / "FILO2019_DISP_Pauvres_COM.xlsx", {"Sommaire": [["x"]], "ENSEMBLE": rows})
    frame = insee_filosofi.parse_poverty(path)
    check_contract(frame)
    assert value(frame, "69123", "taux_pauvrete", 2019) == (15, "ok")
    assert value(frame, "69123", "intensite_pauvrete", 2019) == (0.221, "ok")
    assert value(frame, "69264", "intensite_pauvrete", 2019)[1] == "secret"
    assert "69381" not in set(frame["code_commune_source"]) and set(frame["cog_annee"]) == {2020}
    assert frame.loc[frame["code_commune_source"] == "69123", "ligne_source"].iloc[0] == 7


def ze_workbooks(tmp_path: Path) -> tuple[Path, Path]:
    """A rates workbook (two zones, 2022 complete, 2023 T1-T3) and a composition workbook."""
    quarters = [f"{y}-T{q}" for y in (2022, 2023) for q in (1, 2, 3, 4)][:7]
    rates = [*TITLE, ["ZE2020", "LIBZE2020", "REG", "LIBREG", *quarters],
             ["8421", "Lyon", "84", "AURA", 6.1, 6.3, 6.6, 6.8, 7.0, 7.1, 7.2],
             ["0101", "Côte sous le vent", "01", "GUADELOUPE", None, 20.0, 19.0, 18.0, 17.0, 16.0, 15.0]]
    composition = [*TITLE, ["CODGEO", "LIBGEO", "ZE2020", "LIBZE2020", "ZE2020_PARTIE_REG", "DEP", "REG"],
                   ["69123", "Lyon", "8421", "Lyon", None, "69", "84"],
                   ["69264", "Villefranche", "8421", "Lyon", None, "69", "84"],
                   ["97101", "Les Abymes", "0101", "Côte sous le vent", None, "971", "01"],
                   ["97601", "Acoua", "0601", "Mayotte", None, "976", "06"]]
    return (write_workbook(tmp_path / "rates.xlsx", {"Documentation": [["x"]], "txcho_ze": rates}),
            write_workbook(tmp_path / "composition.xlsx", {"ZE2020": [["x"]], "Composition_communale": composition}))


def test_zone_rates_annual_mean_of_four_quarters(tmp_path: Path) -> None:
    rates, composition = ze_workbooks(tmp_path)
    frame = insee_zones_emploi.parse_zone_rates(rates, composition)
    check_contract(frame)
    assert value(frame, "69123", "taux_chomage_zone_emploi", 2022)[0] == pytest.approx((6.1 + 6.3 + 6.6 + 6.8) / 4)
    assert value(frame, "69264", "taux_chomage_zone_emploi", 2022) == value(frame, "69123", "taux_chomage_zone_emploi", 2022)
    assert set(frame["annee"]) == {2022}  # 2023 has three quarters only
    assert frame[frame["code_commune_source"].isin(["97101", "97601"])].empty  # empty quarter; zone without rate


def test_zone_rates_reject_text_in_a_rate(tmp_path: Path) -> None:
    rates, composition = ze_workbooks(tmp_path)
    book = openpyxl.load_workbook(rates)
    book["txcho_ze"]["E7"] = "n.d."
    book.save(rates)
    with pytest.raises(InputError, match=r"ligne 7 .*2022-T1"):
        insee_zones_emploi.parse_zone_rates(rates, composition)


def test_missing_sheet_names_the_file(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "FILO2019_DISP_Pauvres_COM.xlsx", {"Sommaire": [["x"]]})
    with pytest.raises(InputError, match="ENSEMBLE"):
        insee_filosofi.parse_poverty(path)


def test_rhone_census_unemployment_and_urssaf_establishments() -> None:
    chomage = axcvwy.parse_unemployment(FIXTURES / "axcvwy_taux_chomage_communes_dep69.csv")
    check_contract(chomage)
    assert set(chomage["annee"]) == {2011, 2016, 2022} and set(chomage["indicateur"]) == {"taux_chomage"}
    assert value(chomage, "69123", "taux_chomage", 2011)[0] == pytest.approx(12.67, abs=0.01)
    urssaf = axcvwy.parse_establishments(FIXTURES / "axcvwy_urssaf_etablissements_dep69.csv")
    check_contract(urssaf)
    raw = pd.read_csv(FIXTURES / "axcvwy_urssaf_etablissements_dep69.csv", sep=";", dtype={"code_commune": str}, encoding="utf-8-sig")
    lyon = raw[raw["code_commune"].str.startswith("6938") & (raw["annee"] == 2012)]
    assert value(urssaf, "69123", "etablissements_employeurs", 2012) == (lyon["nb_etablissements"].sum(), "derive")
    assert value(urssaf, "69123", "effectifs_salaries_prives", 2012) == (lyon["effectifs_salaries"].sum(), "derive")
    assert not is_arrondissement(urssaf["code_commune_source"]).any()


def test_rhone_files_reject_a_bad_year(tmp_path: Path) -> None:
    path = tmp_path / "chomage.csv"
    text = (FIXTURES / "axcvwy_taux_chomage_communes_dep69.csv").read_text(encoding="utf-8-sig")
    path.write_text(text.replace("2016;", "2O16;", 1), encoding="utf-8-sig")
    with pytest.raises(InputError, match="année invalide"):
        axcvwy.parse_unemployment(path)


# --- real data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rhone_indicators(rhone_etl: Path) -> pd.DataFrame:
    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        return con.execute("SELECT * FROM fact_indicateur_commune WHERE code_commune LIKE '69%'").df()


def covered(facts: pd.DataFrame, indicateur: str, annee: int) -> int:
    rows = facts[(facts["indicateur"] == indicateur) & (facts["annee"] == annee) & facts["valeur"].notna()]
    return rows["code_commune"].nunique()


@pytest.mark.realdata
def test_real_rhone_coverage_of_each_new_indicator(rhone_indicators: pd.DataFrame, rhone_etl: Path) -> None:
    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        communes = con.execute("SELECT count(*) FROM dim_commune WHERE code_departement = '69'").fetchall()[0][0]
        coverage = con.execute("SELECT DISTINCT theme FROM couverture_indicateur WHERE statut = 'ok'").df()
    assert {"securite", "emploi", "pauvrete_revenus", "population", "entreprises", "vie_associative"} <= set(coverage["theme"])
    for indicateur, annee in NEW_INDICATORS.items():
        share = covered(rhone_indicators, indicateur, annee) / communes
        minimum = 0.25 if indicateur == "intensite_pauvrete" else 0.7  # poverty: large communes only
        assert share >= minimum, (indicateur, annee, share)


@pytest.mark.realdata
def test_real_associations_of_lyon_and_the_rhone_reconcile_with_the_raw_file(mirror: Path, rhone_indicators: pd.DataFrame) -> None:
    raw = pd.read_csv(mirror / ASSOCIATIONS, dtype={"CODGEO": str})
    rhone = raw[raw["CODGEO"].str.startswith("69")]
    lyon = rhone[rhone["CODGEO"].str.match(r"^6938[1-9]$")]
    assert len(lyon) == 9
    facts = rhone_indicators[rhone_indicators["indicateur"] == "associations"]
    assert facts.loc[facts["code_commune"] == "69123", "valeur"].iloc[0] == lyon["nb_assos"].sum()
    assert facts["valeur"].sum() == rhone["nb_assos"].sum()
    assert len(facts) == len(rhone) - len(lyon) + 1  # absent communes: no row
    assert set(facts["date_publication"].astype(str)) == {"2026-06-15"}


@pytest.mark.realdata
def test_real_dvf_2024_shares_recomputed(mirror: Path, rhone_indicators: pd.DataFrame) -> None:
    raw = pd.read_csv(mirror / RAW / "autres" / "dvf_indicateurs_immobiliers" / "dvf_communes_2024.csv", dtype={"INSEE_COM": str})
    raw = raw[raw["INSEE_COM"].str.startswith("69")].set_index("INSEE_COM")
    facts = rhone_indicators[(rhone_indicators["indicateur"] == "part_ventes_maisons") & (rhone_indicators["annee"] == 2024)]
    share = facts.set_index("code_commune")["valeur"].astype(float)
    common = share.index.intersection(raw.index)
    assert len(common) > 200
    counts = 100 * raw.loc[common, "NbMaisons"] / raw.loc[common, "nb_mutations"]
    assert (share[common] - counts).abs().max() < 1e-9
    # the file's PropMaison is the share of flats: it matches 100 - recomputed, not the recomputed share
    assert ((raw.loc[common, "PropMaison"] - (100 - counts)).abs() <= 0.5).mean() > 0.99
    assert ((raw.loc[common, "PropMaison"] - counts).abs() <= 0.5).mean() < 0.2


@pytest.mark.realdata
def test_real_zone_rate_is_the_mean_of_four_quarters(mirror: Path, rhone_indicators: pd.DataFrame) -> None:
    composition = insee_zones_emploi.parse_composition(mirror / ZE_COMPOSITION)
    zone = composition.set_index("code_commune_source").loc["69264", "zone"]  # Villefranche-sur-Saône
    book = openpyxl.load_workbook(mirror / ZE_RATES, read_only=True)
    rows = list(book["txcho_ze"].iter_rows(values_only=True))
    header = list(rows[5])
    quarters = next(r for r in rows[6:] if r[0] == zone)
    expected = sum(float(quarters[header.index(f"2019-T{q}")]) for q in range(1, 5)) / 4
    facts = rhone_indicators[(rhone_indicators["indicateur"] == "taux_chomage_zone_emploi") & (rhone_indicators["code_commune"] == "69264")]
    assert facts.set_index("annee").loc[2019, "valeur"] == pytest.approx(expected)


@pytest.mark.realdata
def test_real_value_published_after_a_ballot_is_not_used(rhone_etl: Path) -> None:
    with duckdb.connect(str(rhone_etl), read_only=True) as con:
        indicators = load_indicators(con)
    communes = pd.Index(["69123", "69264"])
    before = indicator_features(indicators, communes, pd.Timestamp("2022-04-10"))  # présidentielle 2022
    after = indicator_features(indicators, communes, pd.Timestamp("2027-04-11"))
    assert before["f_ind_associations"].isna().all() and after["f_ind_associations"].notna().all()
    # ZE unemployment: 2021 is published on 2022-06-30, after the ballot, so the 2020 mean is used
    ze = indicators[(indicators["indicateur"] == "taux_chomage_zone_emploi") & (indicators["code_commune"] == "69123")]
    assert before.loc["69123", "f_ind_taux_chomage_zone_emploi"] == ze.set_index("annee").loc[2020, "valeur"]


@pytest.mark.realdata
def test_real_urssaf_counts_reconcile_with_the_raw_file_for_dep_69(mirror: Path, rhone_indicators: pd.DataFrame) -> None:
    path = mirror / RAW / "entreprises" / "axcvwy_urssaf_etablissements_effectifs_communes_dep69_2012_2017_2022.csv"
    with path.open(encoding="utf-8-sig") as handle:
        raw = pd.DataFrame(list(csv.DictReader(handle, delimiter=";")))
    source = "entreprises__axcvwy_urssaf_etablissements_effectifs_communes_dep69_2012_2017_2022"
    facts = rhone_indicators[rhone_indicators["source_id"] == source]
    for year in ("2012", "2017", "2022"):
        expected = raw.loc[raw["annee"] == year, "nb_etablissements"].astype(float).sum()
        rows = facts[(facts["indicateur"] == "etablissements_employeurs") & (facts["annee"] == int(year))]
        assert rows["valeur"].sum() == expected


@pytest.mark.realdata
def test_real_zone_parser_gets_its_composition_from_the_catalogue(mirror: Path) -> None:
    source = get_source("emploi__insee_taux_chomage_localises_zone_emploi_2003t1_2023t3_xlsx")
    frame = parse_indicator(source, mirror / ZE_RATES)
    assert frame["annee"].min() == 2003 and frame["annee"].max() == 2022
    assert frame["code_commune_source"].nunique() > 34000
