"""Tests of the COG 2026 referential and of the commune-code mapping (fixtures and real mirror)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pyreadr
import pytest

from electio.errors import InputError
from electio.harmonise.geography import (
    MAPPING_COLUMNS,
    METHODES,
    build_commune_mapping,
    load_departements,
    load_reference_communes,
    load_regions,
    map_codes,
    mapping_from_frames,
    read_cog_history,
    read_communes_json,
)

FIXTURES = Path(__file__).parent / "fixtures" / "geo"
COMMUNES_2026 = FIXTURES / "communes_2026.json"
COMMUNES_2024 = FIXTURES / "communes_2024.json"
DEPARTEMENTS = FIXTURES / "departements_2026.json"
REGIONS = FIXTURES / "regions_2026.json"


# --- hand-made history -----------------------------------------------------------------


def cog(codes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"code": list(codes), "nom": list(codes.values())}, dtype="string")


def passage(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["source", "cible", "typemodif", "ratio"])
    return frame.astype({"source": "string", "cible": "string", "typemodif": "string", "ratio": float})


COMMON = {
    "01001": "L'Abergement-Clémenciat",
    "01426": "Val-Revermont",
    "12076": "Conques-en-Rouergue",
    "15141": "Neussargues en Pinatelle",
    "69123": "Lyon",
    "93059": "Pierrefitte-sur-Seine",
    "93066": "Saint-Denis",
    "97101": "Les Abymes",
}
COGS = {
    2022: cog({**COMMON, "01015": "Arbignieu", "01340": "Saint-Bois", "85084": "Essarts en Bocage"}),
    2023: cog({**COMMON, "01015": "Arboys en Bugey", "85084": "Essarts en Bocage"}),
    2024: cog(
        {**COMMON, "01015": "Arboys en Bugey", "85084": "Essarts-en-Bocage", "85165": "L'Oie", "85212": "Sainte-Florence"}
    ),
}
PASSAGES = {
    2022: passage([("01015", "01015", "f", 1.0), ("01340", "01015", "f", 1.0)]),
    2023: passage([("85084", "85084", "d", 1 / 3), ("85084", "85165", "d", 1 / 3), ("85084", "85212", "d", 1 / 3)]),
}


@pytest.fixture(scope="module")
def mapping() -> pd.DataFrame:
    communes = read_communes_json(COMMUNES_2026)
    return mapping_from_frames(communes, COGS, PASSAGES, read_communes_json(COMMUNES_2024))


def row(mapping: pd.DataFrame, code: str) -> pd.Series:
    found = mapping[mapping["code_source"] == code]
    assert len(found) == 1, code
    return found.iloc[0]


# --- referential ---------------------------------------------------------------------


def test_load_reference_communes_one_row_per_commune_actuelle() -> None:
    communes = load_reference_communes(COMMUNES_2026, DEPARTEMENTS, REGIONS)
    assert list(communes.columns) == [
        "code_commune",
        "nom_commune",
        "code_departement",
        "nom_departement",
        "code_region",
        "nom_region",
        "zone",
        "population",
    ]
    assert communes["code_commune"].is_unique
    assert len(communes) == 13
    assert "69381" not in set(communes["code_commune"])
    lyon = communes.set_index("code_commune").loc["69123"]
    assert (lyon["nom_departement"], lyon["code_region"], lyon["nom_region"]) == ("Rhône", "84", "Auvergne-Rhône-Alpes")
    assert str(communes["population"].dtype) == "Int64"
    assert pd.isna(communes.set_index("code_commune").at["98411", "population"])


def test_load_departements_and_regions() -> None:
    departements = load_departements(DEPARTEMENTS)
    regions = load_regions(REGIONS)
    assert list(departements.columns) == ["code_departement", "nom_departement", "code_region"]
    assert list(regions.columns) == ["code_region", "nom_region"]
    assert departements.set_index("code_departement").at["971", "code_region"] == "01"
    assert regions.set_index("code_region").at["11", "nom_region"] == "Île-de-France"


def test_unreadable_json_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "communes.json"
    broken.write_text('{"code": "01001"}', encoding="utf-8")
    with pytest.raises(InputError, match="communes.json"):
        read_communes_json(broken)


# --- mapping on hand-made data -----------------------------------------------------------


def test_mapping_columns_and_one_row_per_code(mapping: pd.DataFrame) -> None:
    assert list(mapping.columns) == MAPPING_COLUMNS
    assert mapping["code_source"].is_unique
    assert set(mapping["methode"]) <= set(METHODES)
    assert str(mapping["annee_modification"].dtype) == "Int64"


def test_identity(mapping: pd.DataFrame) -> None:
    found = row(mapping, "01001")
    assert (found["code_reference"], found["methode"]) == ("01001", "identite")
    assert pd.isna(found["annee_modification"])
    assert row(mapping, "98411")["methode"] == "identite"  # COM: only in the Etalab files


def test_fusion_from_passage_table(mapping: pd.DataFrame) -> None:
    found = row(mapping, "01340")
    assert (found["code_reference"], found["methode"], found["annee_modification"]) == ("01015", "fusion", 2023)
    assert found["detail"] == "fusion dans 01015 Arboys en Bugey (2023)"


def test_fusion_via_anciens_codes(mapping: pd.DataFrame) -> None:
    found = row(mapping, "93059")
    assert (found["code_reference"], found["methode"], found["annee_modification"]) == ("93066", "fusion", 2026)
    assert "Saint-Denis" in found["detail"]


def test_code_change_via_anciens_codes(mapping: pd.DataFrame) -> None:
    found = row(mapping, "12076")
    assert (found["code_reference"], found["methode"]) == ("12218", "changement_code")


def test_arrondissements_municipaux_map_to_lyon(mapping: pd.DataFrame) -> None:
    lyon = mapping[mapping["code_source"].isin([f"6938{i}" for i in range(1, 10)])]
    assert len(lyon) == 9
    assert set(lyon["code_reference"]) == {"69123"}
    assert set(lyon["methode"]) == {"arrondissement_municipal"}


def test_communes_deleguee_and_associee(mapping: pd.DataFrame) -> None:
    deleguee = row(mapping, "01137")
    assert (deleguee["code_reference"], deleguee["methode"]) == ("01426", "commune_deleguee")
    associee = row(mapping, "01120")
    assert (associee["code_reference"], associee["methode"]) == ("01001", "commune_associee")


def test_split_in_passage_table_keeps_code_and_names_other_parts(mapping: pd.DataFrame) -> None:
    found = row(mapping, "85084")
    assert (found["code_reference"], found["methode"], found["annee_modification"]) == ("85084", "scission", 2024)
    assert "85165 L'Oie" in found["detail"] and "85212 Sainte-Florence" in found["detail"]
    assert row(mapping, "85165")["methode"] == "identite"


def test_split_after_last_history_year_found_in_2024_file(mapping: pd.DataFrame) -> None:
    found = row(mapping, "15141")
    assert (found["code_reference"], found["methode"], found["annee_modification"]) == ("15141", "scission", 2026)
    assert "15031 Celles" in found["detail"]
    assert row(mapping, "15031")["methode"] == "identite"


def test_build_commune_mapping_reads_rdata(tmp_path: Path) -> None:
    cog_rdata, passage_rdata = tmp_path / "COG.RData", tmp_path / "PASSAGE.RData"
    pyreadr.write_rdata(
        str(cog_rdata), COGS[2024].rename(columns={"code": "CODGEO", "nom": "LIBGEO"}), df_name="COG2024"
    )
    pyreadr.write_rdata(str(passage_rdata), pd.DataFrame({"x": [1]}), df_name="unused")
    result = build_commune_mapping(COMMUNES_2026, passage_rdata, cog_rdata, COMMUNES_2024)
    assert row(result, "93059")["code_reference"] == "93066"
    assert row(result, "69385")["code_reference"] == "69123"


def test_missing_passage_table_is_an_input_error(tmp_path: Path) -> None:
    cog_rdata, passage_rdata = tmp_path / "COG.RData", tmp_path / "PASSAGE.RData"
    pyreadr.write_rdata(str(cog_rdata), pd.DataFrame({"CODGEO": ["01001"], "LIBGEO": ["A"]}), df_name="COG2023")
    pyreadr.write_rdata(str(passage_rdata), pd.DataFrame({"x": [1]}), df_name="unused")
    cogs, _ = read_cog_history(passage_rdata, cog_rdata)  # one year: no passage needed
    assert list(cogs) == [2023]
    with pytest.raises(InputError, match="RData"):
        read_cog_history(passage_rdata, tmp_path / "absent.RData")


def test_map_codes_flags_unknown_codes(mapping: pd.DataFrame) -> None:
    codes = pd.Series(["01340", "1001", " 69381", "99999", None], index=[10, 11, 12, 13, 14])
    result = map_codes(codes, mapping)
    assert list(result.index) == [10, 11, 12, 13, 14]
    assert list(result["code_reference"].iloc[:3]) == ["01015", "01001", "69123"]
    assert list(result["methode"]) == ["fusion", "identite", "arrondissement_municipal", "inconnu", "inconnu"]
    assert result["code_reference"].iloc[3:].isna().all()


# --- real data (mirror) ----------------------------------------------------------------

GEO_FILES = {
    "communes": "geo/cog/decoupage-administratif-6.0.0_communes.json",
    "departements": "geo/cog/decoupage-administratif-6.0.0_departements.json",
    "regions": "geo/cog/decoupage-administratif-6.0.0_regions.json",
    "communes_2024": "geo/cog/decoupage-administratif-4.1.0_communes.json",
    "passage": "geo/cog_history/COGugaison_TABLES_PASSAGE.RData",
    "cog": "geo/cog_history/COGugaison_COG.RData",
}


@pytest.fixture(scope="module")
def real(mirror: Path) -> dict[str, object]:
    paths = {key: mirror / relative for key, relative in GEO_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        message = f"fichiers géographiques absents du miroir : {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    cogs, passages = read_cog_history(paths["passage"], paths["cog"])
    communes = read_communes_json(paths["communes"])
    mapping = mapping_from_frames(communes, cogs, passages, read_communes_json(paths["communes_2024"]))
    reference = load_reference_communes(paths["communes"], paths["departements"], paths["regions"])
    return {"cogs": cogs, "mapping": mapping, "reference": reference}


@pytest.mark.realdata
@pytest.mark.parametrize("year", [2012, 2014, 2017, 2019, 2020, 2022])
def test_real_every_election_year_code_maps_to_2026(real: dict, year: int) -> None:
    codes = real["cogs"][year]["code"]
    result = map_codes(codes, real["mapping"])
    assert result["code_reference"].notna().all(), result.loc[result["code_reference"].isna(), "code_source"].tolist()
    assert set(result["code_reference"]) <= set(real["reference"]["code_commune"])


@pytest.mark.realdata
def test_real_rhone_2012_reaches_every_2026_commune(real: dict) -> None:
    cog_2012 = real["cogs"][2012]
    rhone_2012 = cog_2012.loc[cog_2012["code"].str.startswith("69"), "code"]
    reference = real["reference"]
    rhone_2026 = set(reference.loc[reference["code_departement"] == "69", "code_commune"])
    targets = set(map_codes(rhone_2012, real["mapping"])["code_reference"])
    assert len(rhone_2012) == 293
    assert len(rhone_2026) == 266
    assert targets == rhone_2026


@pytest.mark.realdata
def test_real_mapping_is_many_to_one(real: dict) -> None:
    mapping = real["mapping"]
    assert mapping["code_source"].is_unique
    assert mapping["code_source"].str.len().eq(5).all()
    assert set(mapping["methode"]) == set(METHODES)
    assert set(mapping["code_reference"]) <= set(real["reference"]["code_commune"])
    identity = mapping["methode"] == "identite"
    assert mapping.loc[identity, "annee_modification"].isna().all()
    dated = mapping["methode"].isin(["fusion", "changement_code", "scission"])
    assert mapping.loc[dated, "annee_modification"].notna().all()


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("code", "reference", "methode", "year"),
    [
        ("69221", "69255", "fusion", 2015),  # Saint-Laurent-de-Vaux → Vaugneray
        ("69195", "69228", "fusion", 2017),  # → Chabanière
        ("69237", "69228", "fusion", 2017),
        ("69211", "69019", "fusion", 2019),  # → Belleville-en-Beaujolais
        ("69152", "69149", "fusion", 2024),  # Pierre-Bénite → Oullins-Pierre-Bénite
        ("69159", "69114", "changement_code", 2026),  # Porte des Pierres Dorées
        ("69101", "69114", "fusion", 2026),  # Jarnioux → 69159 (2019) → 69114
        ("01340", "01015", "fusion", 2016),  # Arboys en Bugey
        ("93059", "93066", "fusion", 2026),  # Pierrefitte-sur-Seine → Saint-Denis
    ],
)
def test_real_known_changes(real: dict, code: str, reference: str, methode: str, year: int) -> None:
    found = row(real["mapping"], code)
    assert (found["code_reference"], found["methode"], found["annee_modification"]) == (reference, methode, year)


@pytest.mark.realdata
def test_real_splits(real: dict) -> None:
    mapping = real["mapping"]
    splits = mapping[mapping["methode"] == "scission"].set_index("code_source")["code_reference"]
    expected = ["14712", "15141", "31483", "52031", "52332", "52504", "55298", "60054", "76108", "76676", "85084", "89387"]
    assert sorted(splits.index) == expected
    assert (splits == splits.index).all()  # every split commune still exists and keeps its code
    assert row(mapping, "60455")["code_reference"] == "60694"  # déléguée of 60694 (anciensCodes says 60054)


@pytest.mark.realdata
def test_real_overseas_and_paris_lyon_marseille(real: dict) -> None:
    mapping = real["mapping"]
    overseas = ["97101", "97209", "97302", "97411", "97611", "97501", "97701", "97801", "98611", "98735", "98818"]
    result = map_codes(pd.Series(overseas), mapping)
    assert result["methode"].eq("identite").all()
    cog_2012 = real["cogs"][2012]
    drom_2012 = cog_2012.loc[cog_2012["code"].str.startswith("97"), "code"]
    assert len(drom_2012) == 129
    assert map_codes(drom_2012, mapping)["code_reference"].notna().all()
    arrondissements = mapping[mapping["methode"] == "arrondissement_municipal"]
    assert arrondissements.groupby("code_reference").size().to_dict() == {"13055": 16, "69123": 9, "75056": 20}


def test_fixture_files_keep_the_original_layout() -> None:
    records = json.loads(COMMUNES_2026.read_text(encoding="utf-8"))
    assert isinstance(records, list)
    assert {"code", "nom", "type", "departement", "region"} <= set(records[0])
