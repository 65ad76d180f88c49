"""Indicator parsers, indicator referentials and the indicator harmonisation (issue "Indicators ETL")."""

from __future__ import annotations

import csv
import importlib
import io
import json
import logging
import tarfile
import tomllib
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from electio.config import REFERENTIALS_DIR, SOURCES_DIR
from electio.errors import InputError
from electio.harmonise import indicators as harmonise
from electio.harmonise.indicators import derive_rates, indicator_units, to_reference_cog
from electio.parse import (
    cnaf,
    france_travail,
    insee_comparateur,
    insee_entreprises,
    insee_filosofi,
    insee_population,
    insee_salaires,
    ptod_iris,
    ssmsi,
    urssaf,
)
from electio.parse.indicators_common import COLUMNS, QUALITES, finalize

RANK_DERIVE = QUALITES.index("derive")

FIXTURES = Path(__file__).parent / "fixtures" / "indicators"
DTYPES = ["str", "Int64", "str", "Int64", "Float64", "str", "Int64"]


def check_contract(frame: pd.DataFrame) -> None:
    """The exact output contract of every indicator parser."""
    assert list(frame.columns) == COLUMNS
    assert [str(t) for t in frame.dtypes] == DTYPES
    assert frame["qualite"].isin(QUALITES).all()
    assert frame["code_commune_source"].str.len().eq(5).all()
    assert frame.loc[frame["qualite"].isin(["secret", "non_publie"]), "valeur"].isna().all()
    assert set(frame["indicateur"]) <= set(indicator_units())


def value(frame: pd.DataFrame, code: str, indicateur: str, annee: int) -> tuple[object, str]:
    """(valeur, qualite) of one key."""
    row = frame[
        (frame["code_commune_source"] == code) & (frame["indicateur"] == indicateur) & (frame["annee"] == annee)
    ]
    assert len(row) == 1, (code, indicateur, annee, len(row))
    return row["valeur"].iloc[0], row["qualite"].iloc[0]


# --- tiny fixtures in the original layouts -------------------------------------------------


def make_npm_tarball(path: Path, version: str, page: str, communes: list[dict]) -> Path:
    """An npm tarball laid out like @etalab/decoupage-administratif."""
    members = {
        "package/package.json": json.dumps({"name": "@etalab/decoupage-administratif", "version": version}),
        "package/README.md": f"* [Population légale](https://www.insee.fr/fr/statistiques/{page}?sommaire=1) de l'INSEE",
        "package/data/communes.json": json.dumps(communes),
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


COMMUNES = [
    {"code": "69001", "nom": "Affoux", "type": "commune-actuelle", "departement": "69", "population": 383},
    {"code": "69123", "nom": "Lyon", "type": "commune-actuelle", "departement": "69", "population": 522250},
    {"code": "69381", "nom": "Lyon 1er", "type": "arrondissement-municipal", "population": 29000},
    {"code": "69024", "nom": "Le Bois-d'Oingt", "type": "commune-deleguee", "chefLieu": "69024"},
    {"code": "69114", "nom": "Porte des Pierres Dorées", "type": "commune-actuelle", "departement": "69"},
    {"code": "97611", "nom": "Mamoudzou", "type": "commune-actuelle", "departement": "976", "population": 71437},
    {"code": "98735", "nom": "Papeete", "type": "commune-actuelle", "population": 26926},
]


def test_population_tarball(tmp_path: Path) -> None:
    path = make_npm_tarball(tmp_path / "pkg-4.0.0.tgz", "4.0.0", "7739582", COMMUNES)
    frame = insee_population.parse_population(path)
    check_contract(frame)
    assert sorted(frame["code_commune_source"]) == ["69001", "69123", "97611"]
    assert frame["cog_annee"].unique().tolist() == [2023]
    assert value(frame, "69123", "population", 2021) == (522250, "ok")
    assert value(frame, "97611", "population", 2017) == (71437, "ok")
    assert frame["ligne_source"].isna().all()


def test_population_unknown_vintage(tmp_path: Path) -> None:
    path = make_npm_tarball(tmp_path / "pkg.tgz", "4.0.0", "1234567", COMMUNES)
    with pytest.raises(InputError, match="millésime de population légale inconnu") as error:
        insee_population.parse_population(path)
    assert str(path) in str(error.value)
    other = make_npm_tarball(tmp_path / "pkg-9.tgz", "9.9.9", "7739582", COMMUNES)
    with pytest.raises(InputError, match="version du paquet non vérifiée"):
        insee_population.parse_population(other)


COMPARATEUR_HEADER = ";".join(["CODGEO", *insee_comparateur.COLUMNS])


def make_comparateur_zip(path: Path, rows: list[str], header: str = COMPARATEUR_HEADER) -> Path:
    """A zip laid out like base_cc_comparateur_csv.zip."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(insee_comparateur.DATA_MEMBER, "\n".join([header, *rows]) + "\n")
        archive.writestr("meta_base_cc_comparateur.CSV", "COD_VAR;LIB_VAR\nP18_POP;Population en 2018\n")
    return path


def comparateur_row(code: str, **cells: str) -> str:
    """One comparateur row: every numeric cell '10.5' unless given."""
    values = {column: cells.get(column, "10.5") for column in insee_comparateur.COLUMNS}
    return ";".join([code, *values.values()])


def test_comparateur_zip(tmp_path: Path) -> None:
    rows = [
        comparateur_row("69123", P18_POP="518635", SUPERF="47.87", TP6019="15"),
        comparateur_row("69001", TP6019="", PIMP19=""),
        comparateur_row("69381"),
    ]
    frame = insee_comparateur.parse_comparateur(make_comparateur_zip(tmp_path / "cc.zip", rows))
    check_contract(frame)
    assert set(frame["code_commune_source"]) == {"69123", "69001"}
    assert value(frame, "69123", "population", 2018) == (518635, "ok")
    assert value(frame, "69123", "superficie", 2021) == (47.87, "ok")
    assert value(frame, "69001", "taux_pauvrete", 2019)[1] == "secret"
    assert value(frame, "69001", "population", 2013) == (10.5, "ok")
    assert frame["cog_annee"].unique().tolist() == [2021]


def test_comparateur_bad_inputs(tmp_path: Path) -> None:
    bad = make_comparateur_zip(tmp_path / "bad.zip", [comparateur_row("69001"), comparateur_row("69123", TP6019="quinze")])
    with pytest.raises(InputError, match=r"ligne 3 : valeur non numérique « quinze » dans la colonne TP6019") as error:
        insee_comparateur.parse_comparateur(bad)
    assert str(bad) in str(error.value)
    other_edition = make_comparateur_zip(tmp_path / "old.zip", ["69001;1"], header="CODGEO;P17_POP")
    with pytest.raises(InputError, match="colonnes attendues absentes"):
        insee_comparateur.parse_comparateur(other_edition)


def test_filosofi_disp() -> None:
    frame = insee_filosofi.parse_disp(FIXTURES / "FILO2019_DISP_COM.csv")
    check_contract(frame)
    assert set(frame["code_commune_source"]) == {"69001", "69003", "69123"}
    assert frame["cog_annee"].unique().tolist() == [2020]
    assert value(frame, "69001", "revenu_median", 2019) == (22490, "ok")
    assert value(frame, "69001", "revenu_d1", 2019)[1] == "secret"
    assert value(frame, "69003", "rapport_interdecile", 2019) == (3.7, "ok")
    assert value(frame, "69123", "nb_menages_fiscaux", 2019) == (232702, "ok")
    assert value(frame, "69003", "revenu_median", 2019)[1] == "ok"
    assert int(frame.loc[frame["code_commune_source"] == "69003", "ligne_source"].iloc[0]) == 3


def test_filosofi_2021_secret_tokens() -> None:
    frame = insee_filosofi.parse_cc_2021(FIXTURES / "filosofi2021_cc_filosofi_2021_COM.csv")
    check_contract(frame)
    assert frame["cog_annee"].unique().tolist() == [2024]
    assert value(frame, "69001", "revenu_median", 2021) == (24110, "ok")
    assert value(frame, "69001", "taux_pauvrete", 2021)[1] == "secret"
    assert value(frame, "60694", "revenu_median", 2021)[1] == "secret"
    assert value(frame, "69123", "taux_pauvrete", 2021) == (15.5, "ok")
    assert "69381" not in set(frame["code_commune_source"])


def write_variant(tmp_path: Path, source: Path, name: str, old: str, new: str) -> Path:
    """A copy of a fixture with one substitution, keeping its bytes otherwise."""
    data = source.read_bytes().decode("utf-8")
    assert old in data
    path = tmp_path / name
    path.write_bytes(data.replace(old, new, 1).encode("utf-8"))
    return path


def test_filosofi_rate_with_text(tmp_path: Path) -> None:
    path = write_variant(tmp_path, FIXTURES / "FILO2019_DISP_COM.csv", "FILO2019_DISP_COM.csv", "0,304", "n.c.")
    with pytest.raises(InputError, match=r"ligne 3 : valeur non numérique « n\.c\. » dans la colonne GI19") as error:
        insee_filosofi.parse_disp(path)
    assert str(path) in str(error.value)


def test_filosofi_wrong_vintage(tmp_path: Path) -> None:
    path = tmp_path / "FILO2018_DISP_COM.csv"
    path.write_bytes((FIXTURES / "FILO2019_DISP_COM.csv").read_bytes())
    with pytest.raises(InputError, match=r"millésime inattendu : colonne NBMEN18 attendue.*NBMEN19") as error:
        insee_filosofi.parse_disp(path)
    assert str(path) in str(error.value) and "ligne 1" in str(error.value)
    with pytest.raises(InputError, match=r"NBMENFISC22 attendue \(Filosofi 2022\), trouvé \[.NBMENFISC21.\]"):
        insee_filosofi.parse_cc_2021(FIXTURES / "filosofi2021_cc_filosofi_2021_COM.csv", annee=2022)


def test_cnaf_rsa() -> None:
    frame = cnaf.parse_rsa(FIXTURES / "cnaf_rsa_2020-12.csv")
    check_contract(frame)
    assert set(frame["code_commune_source"]) == {"69001", "69003", "69123", "2A004"}
    count, flag = value(frame, "69001", "foyers_rsa", 2020)
    assert pd.isna(count) and flag == "secret"
    assert value(frame, "69003", "personnes_couvertes_rsa", 2020) == (45, "ok")
    assert value(frame, "69123", "foyers_rsa", 2020) == (800, "derive")
    assert frame["cog_annee"].unique().tolist() == [2020]


def test_cnaf_code_of_wrong_length(tmp_path: Path) -> None:
    path = write_variant(tmp_path, FIXTURES / "cnaf_rsa_2020-12.csv", "rsa.csv", "2020-12;69003;", "2020-12;6903;")
    with pytest.raises(InputError, match=r"ligne 3 : code commune invalide « 6903 »") as error:
        cnaf.parse_rsa(path)
    assert str(path) in str(error.value)


def test_ssmsi_json_non_published() -> None:
    frame = ssmsi.parse_ssmsi(FIXTURES / "ssmsi" / "choisir-sa-ville_ssmsi_insecurity_commune_2017.json")
    check_contract(frame)
    assert frame["cog_annee"].unique().tolist() == [2025]
    # a 0 in a multi-category group cannot be told from "withheld": not published
    assert value(frame, "69001", "faits_atteintes_personnes", 2017)[1] == "non_publie"
    assert value(frame, "69001", "faits_atteintes_biens", 2017)[1] == "non_publie"
    assert value(frame, "69001", "faits_destructions_degradations", 2017)[1] == "non_publie"
    # a 0 in the single-category group is a published zero
    assert value(frame, "69004", "faits_destructions_degradations", 2017) == (0, "derive")
    count, flag = value(frame, "69003", "faits_atteintes_biens", 2017)
    assert flag == "derive" and count == pytest.approx(16 * 2684 / 1000)
    assert value(frame, "55039", "faits_atteintes_biens", 2017)[1] == "non_publie"
    assert int(frame.loc[frame["code_commune_source"] == "69003", "ligne_source"].iloc[0]) == 2


def test_ssmsi_without_meta_and_bad_meta(tmp_path: Path) -> None:
    source = FIXTURES / "ssmsi" / "choisir-sa-ville_ssmsi_insecurity_commune_2017.json"
    alone = tmp_path / source.name
    alone.write_bytes(source.read_bytes())
    assert ssmsi.parse_ssmsi(alone)["cog_annee"].isna().all()
    meta = tmp_path / "choisir-sa-ville_ssmsi_insecurity_commune_meta.json"
    meta.write_text(json.dumps({"unit": "faits pour 1000 habitants", "yearsAvailable": [2018], "inferredColumns": {"inseeColumn": "CODGEO_2025"}}))
    with pytest.raises(InputError, match="année 2017 absente") as error:
        ssmsi.parse_ssmsi(alone)
    assert str(meta) in str(error.value)


def test_ssmsi_base_layout() -> None:
    frame = ssmsi.parse_ssmsi_base(FIXTURES / "ssmsi_base_communale_33_2017.csv")
    check_contract(frame)
    assert frame["cog_annee"].unique().tolist() == [2024]
    assert value(frame, "33001", "faits_atteintes_personnes", 2017) == (12, "ok")
    assert value(frame, "33001", "faits_atteintes_biens", 2017)[1] == "non_publie"
    assert value(frame, "33001", "faits_destructions_degradations", 2017) == (12, "ok")


def test_urssaf_headcount(tmp_path: Path) -> None:
    path = tmp_path / "urssaf.parquet"
    pd.DataFrame(
        {
            "code": ["69001", "69001", "69381", "69382", "69", "200046977"],
            "echelon": ["communes", "communes", "communes", "communes", "dep", "epci"],
            "year": [2014, 2015, 2014, 2014, 2014, 2014],
            "eff_total": [30, 0, 8569, 1000, 500000, 1234],
            "indice_fr_2014": [0.0] * 6,
        }
    ).to_parquet(path)
    frame = urssaf.parse_headcount(path)
    check_contract(frame)
    assert value(frame, "69001", "effectifs_salaries_prives", 2015) == (0, "ok")
    assert value(frame, "69123", "effectifs_salaries_prives", 2014) == (9569, "derive")
    assert int(frame.loc[frame["annee"] == 2015, "ligne_source"].iloc[0]) == 2
    assert set(frame["code_commune_source"]) == {"69001", "69123"}


def test_urssaf_code_of_wrong_length(tmp_path: Path) -> None:
    path = tmp_path / "urssaf.parquet"
    pd.DataFrame({"code": ["69001", "6901"], "echelon": ["communes"] * 2, "year": [2014] * 2, "eff_total": [1, 2]}).to_parquet(path)
    with pytest.raises(InputError, match=r"ligne 2 : code commune invalide « 6901 »"):
        urssaf.parse_headcount(path)


def test_france_travail_duplicates(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="electio.parse.france_travail"):
        frame = france_travail.parse_job_seekers(FIXTURES / "francetravail_defm.csv")
    check_contract(frame)
    assert "1 lignes dupliquées et 24 lignes contradictoires" in caplog.text
    assert set(frame["code_commune_source"]) == {"69123", "69029"}
    assert value(frame, "69123", "demandeurs_emploi", 2020) == (53055, "derive")
    assert 2021 not in set(frame["annee"])


def test_establishments_and_salaries() -> None:
    frame = insee_entreprises.parse_establishments(FIXTURES / "etablissements_2014.csv")
    check_contract(frame)
    assert value(frame, "69001", "etablissements", 2014) == (25, "ok")
    assert value(frame, "69123", "etablissements_1_9_salaries", 2014) == (17000, "derive")
    assert value(frame, "69123", "etablissements_10_salaries_plus", 2014) == (3000, "derive")
    salaries = insee_salaires.parse_salaries(FIXTURES / "salaires_2014.csv")
    check_contract(salaries)
    assert value(salaries, "69123", "salaire_net_horaire_cadres", 2014) == (27.1, "ok")
    assert salaries["cog_annee"].unique().tolist() == [2014]


def make_iris(path: Path, rows: list[dict]) -> Path:
    """A PTOD-like IRIS parquet with every kept column (defaults: rate 10, weights 100)."""
    rates = {f"{spec.stem}_{yy}" for spec in ptod_iris.SPECS for yy in spec.periods}
    weights = {ptod_iris.WEIGHTS[spec.weight].format(yy=yy) for spec in ptod_iris.SPECS for yy in spec.periods}
    defaults = {**dict.fromkeys(rates, 10.0), **dict.fromkeys(weights, 100.0)}
    pd.DataFrame([{**defaults, **row} for row in rows]).to_parquet(path)
    return path


def test_ptod_iris_aggregation(tmp_path: Path) -> None:
    path = make_iris(
        tmp_path / "agg_iris_69.parquet",
        [
            {"code": "690010000", "COM": "69001", "TYP_IRIS": "Z", "soc_txchom_1564_22": 7.5},
            {"code": "693810101", "COM": "69381", "TYP_IRIS": "H", "soc_txchom_1564_22": 10.0, "P22_POP": 1000.0},
            {"code": "693810102", "COM": "69381", "TYP_IRIS": "H", "soc_txchom_1564_22": 20.0, "P22_POP": 3000.0},
            {"code": "693820101", "COM": "69382", "TYP_IRIS": "H", "soc_txchom_1564_22": None, "P22_POP": 500.0,
             "men_mono_pct_22": 30.0, "men_tot_stock_22": 300.0},
            {"code": "690030101", "COM": "69003", "TYP_IRIS": "H", "dm_imm_pct_11": None},
            {"code": "690030102", "COM": "69003", "TYP_IRIS": "H", "dm_imm_pct_11": None},
        ],
    )
    frame = ptod_iris.parse_iris(path)
    check_contract(frame)
    assert set(frame["code_commune_source"]) == {"69001", "69123", "69003"}
    assert value(frame, "69001", "taux_chomage", 2022) == (7.5, "ok")
    lyon, flag = value(frame, "69123", "taux_chomage", 2022)
    assert flag == "derive" and lyon == pytest.approx((10 * 1000 + 20 * 3000) / 4000)
    mono, _ = value(frame, "69123", "part_familles_monoparentales", 2022)
    assert mono == pytest.approx((10 * 200 + 30 * 300) / 500)
    assert value(frame, "69003", "part_immigres", 2011)[1] == "secret"


def test_ptod_iris_rate_with_text(tmp_path: Path) -> None:
    path = make_iris(tmp_path / "agg.parquet", [{"code": "690010000", "COM": "69001", "TYP_IRIS": "Z", "dm_etr_pct_16": "beaucoup"}])
    with pytest.raises(InputError, match=r"ligne 1 : valeur non numérique « beaucoup » dans la colonne dm_etr_pct_16"):
        ptod_iris.parse_iris(path)


# --- referentials and catalogue --------------------------------------------------------------


def test_indicator_referential() -> None:
    table = pd.read_csv(REFERENTIALS_DIR / "indicateurs.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == ["indicateur", "libelle", "theme", "unite", "definition", "source", "sens_defavorable", "calcul"]
    assert table["indicateur"].is_unique
    assert table["indicateur"].str.fullmatch(r"[a-z0-9_]+").all()
    assert table["sens_defavorable"].isin(["hausse", "baisse", "neutre"]).all()
    assert (table[["libelle", "theme", "unite", "definition", "source", "calcul"]] != "").all().all()
    gap = table.set_index("indicateur").loc["creations_entreprises"]
    assert gap["theme"] == "entreprises" and "LACUNE" in gap["source"]
    assert "LACUNE" not in table.set_index("indicateur").loc["associations_pour_1000hab", "source"]
    for code in ["population", "densite", "taux_chomage", "revenu_median", "taux_pauvrete", "taux_rsa",
                 "etablissements_pour_1000hab", "atteintes_biens_pour_1000hab"]:
        assert code in set(table["indicateur"])


def test_availability_referential_and_catalogue() -> None:
    sources = tomllib.loads((SOURCES_DIR / "indicators.toml").read_text(encoding="utf-8"))["source"]
    parsers = {s["id"]: s["parser"] for s in sources}
    loaded = {s["id"] for s in sources if s["parser"] and s.get("charger", True)}
    with (REFERENTIALS_DIR / "indicateurs_disponibilite.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and set(rows[0]) == {"source_id", "annee", "date_publication", "regle"}
    assert loaded <= {r["source_id"] for r in rows} <= {i for i, p in parsers.items() if p}
    for row in rows:
        assert pd.Timestamp(row["date_publication"]).year >= int(row["annee"]) >= 2003
    for parser in filter(None, parsers.values()):
        module, function = parser.split(".")
        assert callable(getattr(importlib.import_module(f"electio.parse.{module}"), function))


# --- harmonisation ---------------------------------------------------------------------------


def long_frame(rows: list[tuple]) -> pd.DataFrame:
    """A long frame from (code, cog, indicateur, annee, valeur, qualite) tuples."""
    frame = pd.DataFrame(rows, columns=COLUMNS[:6])
    return finalize(frame.assign(ligne_source=pd.NA))


def test_to_reference_cog_fusion() -> None:
    frame = long_frame(
        [
            ("01001", 2021, "population", 2018, 100, "ok"),
            ("01002", 2021, "population", 2018, 300, "ok"),
            ("01001", 2021, "revenu_median", 2019, 20000, "ok"),
            ("01002", 2021, "revenu_median", 2019, 30000, "ok"),
            ("01001", 2021, "foyers_rsa", 2020, 10, "ok"),
            ("01002", 2021, "foyers_rsa", 2020, None, "secret"),
            ("01003", 2021, "revenu_median", 2019, 25000, "ok"),
            ("99999", 2021, "revenu_median", 2019, 1, "ok"),
        ]
    )
    mapping = pd.DataFrame({"code_source": ["01001", "01002", "01003"], "code_reference": ["01001", "01001", "01003"]})
    out = to_reference_cog(frame, mapping, frame)
    check_contract(out)
    assert out["cog_annee"].unique().tolist() == [2026]
    assert value(out, "01001", "population", 2018) == (400, "ok")
    median, flag = value(out, "01001", "revenu_median", 2019)
    assert flag == "derive" and median == pytest.approx((20000 * 100 + 30000 * 300) / 400)
    assert value(out, "01001", "foyers_rsa", 2020)[1] == "secret"
    assert value(out, "01003", "revenu_median", 2019) == (25000, "ok")
    assert "99999" not in set(out["code_commune_source"])
    mapping_with_part = pd.concat([mapping, pd.DataFrame({"code_source": ["01004"], "code_reference": ["01003"]})])
    missing = to_reference_cog(frame, mapping_with_part, frame, expected_codes=["01001", "01002", "01003", "01004"])
    assert value(missing, "01003", "revenu_median", 2019)[1] == "non_publie"
    assert value(missing, "01001", "population", 2018) == (400, "ok")


def test_to_reference_cog_bad_mapping() -> None:
    frame = long_frame([("01001", 2021, "population", 2018, 100, "ok")])
    duplicated = pd.DataFrame({"code_source": ["01001", "01001"], "code_reference": ["01001", "01002"]})
    with pytest.raises(InputError, match="code_source en double"):
        to_reference_cog(frame, duplicated, frame)
    with pytest.raises(InputError, match="plusieurs lignes par commune"):
        to_reference_cog(pd.concat([frame, frame]), duplicated.iloc[:1], frame)


def test_derive_rates() -> None:
    frame = long_frame(
        [
            ("01001", 2026, "population", 2016, 1000, "ok"),
            ("01001", 2026, "population", 2019, 1200, "ok"),
            ("01001", 2026, "superficie", 2021, 4.0, "ok"),
            ("01001", 2026, "faits_atteintes_biens", 2018, 30, "derive"),
            ("01001", 2026, "faits_atteintes_biens", 2015, 10, "derive"),
            ("01001", 2026, "faits_destructions_degradations", 2019, None, "non_publie"),
            ("01001", 2026, "chomeurs_15_64", 2018, 50, "ok"),
            ("01001", 2026, "actifs_15_64", 2018, 500, "ok"),
            ("01001", 2026, "taux_chomage", 2016, 12.0, "derive"),
        ]
    )
    out = derive_rates(frame)
    check_contract(out)
    assert value(out, "01001", "densite", 2016) == (250, "derive")
    assert value(out, "01001", "densite", 2019) == (300, "derive")
    assert value(out, "01001", "atteintes_biens_pour_1000hab", 2018) == (30, "derive")
    assert value(out, "01001", "destructions_degradations_pour_1000hab", 2019)[1] == "non_publie"
    assert value(out, "01001", "taux_chomage", 2018) == (10, "derive")
    assert value(out, "01001", "taux_chomage", 2016) == (12, "derive")
    assert out[(out["indicateur"] == "atteintes_biens_pour_1000hab") & (out["annee"] == 2015)].empty


def test_to_reference_cog_weights_nearest_earlier_then_later_population() -> None:
    frame = long_frame(
        [
            ("01001", 2021, "revenu_median", 2019, 20000, "ok"),
            ("01002", 2021, "revenu_median", 2019, 30000, "ok"),
        ]
    )
    population = long_frame(
        [
            ("01001", 2021, "population", 2016, 100, "ok"),
            ("01001", 2021, "population", 2020, 900, "ok"),  # later than 2019: not used for 01001
            ("01002", 2021, "population", 2022, 300, "ok"),  # only a later year: used
        ]
    )
    mapping = pd.DataFrame({"code_source": ["01001", "01002"], "code_reference": ["01001", "01001"]})
    median, flag = value(to_reference_cog(frame, mapping, population), "01001", "revenu_median", 2019)
    assert flag == "derive" and median == pytest.approx((20000 * 100 + 30000 * 300) / 400)


def test_to_reference_cog_without_weights_uses_simple_mean(caplog: pytest.LogCaptureFixture) -> None:
    frame = long_frame([("01001", 2021, "revenu_median", 2019, 20000, "ok"), ("01002", 2021, "revenu_median", 2019, 30000, "ok")])
    mapping = pd.DataFrame({"code_source": ["01001", "01002"], "code_reference": ["01001", "01001"]})
    with caplog.at_level(logging.WARNING):
        out = to_reference_cog(frame, mapping, frame.iloc[:0])
    assert value(out, "01001", "revenu_median", 2019) == (25000, "derive")
    assert "1 valeurs de 1 communes fusionnées sans poids" in caplog.text


def test_derived_row_keeps_its_numerator_source() -> None:
    con = duckdb.connect()
    harmonise.create_work_tables(con)
    rows = long_frame([("01001", 2026, "population", 2019, 1000, "ok"), ("01001", 2026, "faits_atteintes_biens", 2020, 25, "ok")])
    harmonise.add_rows(con, rows[rows["indicateur"] == "population"], "pop", 0)
    harmonise.add_rows(con, rows[rows["indicateur"] != "population"], "ssmsi", 1)
    harmonise.set_geography(con, pd.DataFrame({"code_source": ["01001"], "code_reference": ["01001"]}), {})
    harmonise.population_from_rows(con)
    harmonise.map_to_reference_cog(con)
    harmonise.derive(con)
    derived = con.execute("SELECT source_id, indicateur, annee, valeur, rang FROM ind_derive").fetchall()
    assert derived == [("ssmsi", "atteintes_biens_pour_1000hab", 2020, 25.0, 1)]


def test_duplicate_key_of_one_source_is_found_with_its_line() -> None:
    con = duckdb.connect()
    harmonise.create_work_tables(con)
    rows = long_frame([("01001", 2021, "population", 2018, 100, "ok"), ("01001", 2021, "population", 2019, 120, "ok")])
    harmonise.add_rows(con, rows.assign(ligne_source=[7, 9]), "pop", 0)
    harmonise.add_rows(con, rows.assign(ligne_source=[2, 3]), "autre", 1)  # same keys, another source
    assert harmonise.first_duplicate(con, "pop") is None
    harmonise.add_rows(con, rows.iloc[1:].assign(ligne_source=[12]), "pop", 0)
    assert harmonise.first_duplicate(con, "pop") == ("01001", "population", 2019, 12)
    assert harmonise.first_duplicate(con, "autre") is None


def test_missing_part_is_completed_from_another_publication() -> None:
    con = duckdb.connect()
    harmonise.create_work_tables(con)
    harmonise.add_rows(con, long_frame([("01001", 2018, "population", 2016, 100, "ok"), ("01003", 2018, "population", 2016, 50, "ok")]), "pl", 0)
    mapping = pd.DataFrame({"code_source": ["01001", "01002", "01003", "01004"], "code_reference": ["01001", "01001", "01003", "01004"]})
    harmonise.set_geography(con, mapping, {2018: {"01001", "01002", "01003", "01004"}})
    complements = pd.DataFrame({"source_id": "pl", "code": ["01001", "01002", "01004"], "cog_annee": 2018,
                                "indicateur": "population", "annee": 2016, "valeur": [999.0, 30.0, 7.0]})
    # 01001 is already there; 01004's commune has no row from the source: only 01002 is added.
    assert harmonise.complete_parts(con, complements) == 1
    harmonise.population_from_rows(con)
    harmonise.map_to_reference_cog(con)
    rows = con.execute("SELECT code_commune, valeur, rang FROM ind_cog ORDER BY 1").fetchall()
    assert rows == [("01001", 130.0, RANK_DERIVE), ("01003", 50.0, 0)]


# --- real data (the public mirror) -----------------------------------------------------------

INDICATORS = Path("indicators")


@pytest.fixture(scope="module")
def population_6(mirror: Path) -> pd.DataFrame:
    return insee_population.parse_population(mirror / INDICATORS / "population" / "npm_etalab-decoupage-administratif-6.0.0.tgz")


def raw_rhone_population(path: Path) -> tuple[int, float]:
    """Independent count and sum of the Rhône communes' populations in an npm tarball."""
    with tarfile.open(path) as archive:
        communes = json.load(archive.extractfile("package/data/communes.json"))
    rhone = [c for c in communes if c["type"] == "commune-actuelle" and c.get("departement") == "69" and c.get("population") is not None]
    return len(rhone), float(sum(c["population"] for c in rhone))


@pytest.mark.realdata
@pytest.mark.parametrize("version", sorted(insee_population.PACKAGE_COG))
def test_real_population_rhone(mirror: Path, version: str) -> None:
    path = mirror / INDICATORS / "population" / f"npm_etalab-decoupage-administratif-{version}.tgz"
    frame = insee_population.parse_population(path)
    check_contract(frame)
    rhone = frame[frame["code_commune_source"].str.startswith("69")]
    count, total = raw_rhone_population(path)
    assert len(rhone) == count and rhone["valeur"].sum() == total
    assert rhone["annee"].nunique() == 1


@pytest.mark.realdata
def test_real_population_values(population_6: pd.DataFrame) -> None:
    assert value(population_6, "69123", "population", 2023)[1] == "ok"
    assert population_6["cog_annee"].unique().tolist() == [2025]
    assert len(population_6) == 34875


@pytest.fixture(scope="module")
def filosofi_2021(mirror: Path) -> tuple[Path, pd.DataFrame]:
    path = mirror / INDICATORS / "revenus" / "filosofi2021_cc_filosofi_2021_COM.csv"
    return path, insee_filosofi.parse_cc_2021(path)


@pytest.mark.realdata
def test_real_filosofi_secret_rhone(filosofi_2021: tuple[Path, pd.DataFrame]) -> None:
    path, frame = filosofi_2021
    check_contract(frame)
    rhone = frame[frame["code_commune_source"].str.startswith("69")]
    columns = [c.format(yy="21") for c in insee_filosofi.CC_COLUMNS]
    with path.open(encoding="utf-8") as handle:
        raw = [r for r in csv.DictReader(handle, delimiter=";") if r["CODGEO"].startswith("69") and not r["CODGEO"].startswith("6938")]
    secret_cells = sum(r[c] in ("s", "nd", "") for r in raw for c in columns)
    assert rhone["code_commune_source"].nunique() == len(raw) == 266
    assert (rhone["qualite"] == "secret").sum() == secret_cells == 1183
    assert rhone.loc[rhone["qualite"] == "secret", "valeur"].isna().all()
    assert not (rhone["valeur"] == 0).any() or (rhone.loc[rhone["valeur"] == 0, "qualite"] == "ok").all()


@pytest.mark.realdata
def test_real_filosofi_disp_and_comparateur(mirror: Path) -> None:
    disp = insee_filosofi.parse_disp(mirror / INDICATORS / "revenus" / "insee_filosofi_FILO2019_DISP_COM.csv")
    check_contract(disp)
    rhone = disp[disp["code_commune_source"].str.startswith("69")]
    assert rhone["code_commune_source"].nunique() == 266
    assert not rhone.loc[rhone["indicateur"] == "revenu_median", "valeur"].isna().any()
    assert (rhone["qualite"] == "secret").sum() == 987
    comparateur = insee_comparateur.parse_comparateur(mirror / INDICATORS / "multi_themes" / "insee_base_cc_comparateur_csv_2022-01.zip")
    check_contract(comparateur)
    rhone = comparateur[comparateur["code_commune_source"].str.startswith("69")]
    assert rhone["code_commune_source"].nunique() == 267
    assert value(comparateur, "69123", "population", 2018) == (518635, "ok")
    assert (rhone["qualite"] == "secret").sum() == 328


@pytest.fixture(scope="module")
def ssmsi_2024(mirror: Path) -> tuple[dict, pd.DataFrame]:
    path = mirror / INDICATORS / "securite" / "choisir-sa-ville_ssmsi_insecurity_commune_2024.json"
    return json.loads(path.read_text(encoding="utf-8")), ssmsi.parse_ssmsi(path)


@pytest.mark.realdata
def test_real_ssmsi_non_published_rhone(ssmsi_2024: tuple[dict, pd.DataFrame]) -> None:
    raw, frame = ssmsi_2024
    check_contract(frame)
    assert frame["cog_annee"].unique().tolist() == [2025]
    rows = [dict(zip(raw["columns"], r, strict=True)) for r in raw["rows"] if r[0].startswith("69")]
    rhone = frame[frame["code_commune_source"].str.startswith("69")]
    for column, indicateur in ssmsi.GROUPS.items():
        zero_withheld = column not in ssmsi.SINGLE_CATEGORY
        expected = sum(r[column] is None or (zero_withheld and r[column] == 0) for r in rows)
        flagged = rhone[(rhone["indicateur"] == indicateur) & (rhone["qualite"] == "non_publie")]
        assert len(flagged) == expected and flagged["valeur"].isna().all()
    assert len(rows) == 266
    assert (rhone.loc[rhone["indicateur"] == "faits_destructions_degradations", "valeur"] == 0).sum() == 4


@pytest.mark.realdata
def test_real_ssmsi_layout_check_gironde(mirror: Path) -> None:
    folder = mirror / INDICATORS / "securite"
    base = ssmsi.parse_ssmsi_base(folder / "ssmsi_base_communale_gironde33_2017_subset.csv")
    year = ssmsi.parse_ssmsi(folder / "choisir-sa-ville_ssmsi_insecurity_commune_2017.json")
    raw = json.loads((folder / "choisir-sa-ville_ssmsi_insecurity_commune_2017.json").read_text(encoding="utf-8"))
    population = {r[0]: r[1] for r in raw["rows"]}
    keys = ["code_commune_source", "indicateur", "annee"]
    both = base.merge(year, on=keys, suffixes=("_base", "_json"))
    both = both[both["valeur_base"].notna() & both["valeur_json"].notna()]
    both = both[both["indicateur"].isin(["faits_atteintes_biens", "faits_destructions_degradations"])]
    tolerance = both["code_commune_source"].map(population) * 0.05 / 1000 + 1e-6
    assert len(both) > 250
    assert ((both["valeur_base"] - both["valeur_json"]).abs() <= tolerance).all()


@pytest.mark.realdata
def test_real_other_sources_rhone(mirror: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = mirror / INDICATORS
    with caplog.at_level(logging.INFO, logger="electio.parse.france_travail"):
        seekers = france_travail.parse_job_seekers(folder / "emploi" / "odis_francetravail_defm_communes5k_2020-2024.csv")
    assert "2647 lignes dupliquées" in caplog.text
    headcount = urssaf.parse_headcount(folder / "emploi" / "ptod_urssaf_serie_indice100.parquet")
    iris = ptod_iris.parse_iris(folder / "iris" / "ptod_agg_iris_69.parquet")
    rsa = cnaf.parse_rsa(folder / "revenus" / "cnaf_rsa_foyers_personnes_par_commune_2020-12.csv")
    counts = {}
    for name, frame in {"seekers": seekers, "headcount": headcount, "iris": iris, "rsa": rsa}.items():
        check_contract(frame)
        counts[name] = frame.loc[frame["code_commune_source"].str.startswith("69"), "code_commune_source"].nunique()
    assert counts == {"seekers": 58, "headcount": 267, "iris": 265, "rsa": 267}
    assert value(headcount, "69123", "effectifs_salaries_prives", 2014)[1] == "derive"
