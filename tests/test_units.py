"""Units of analysis below the commune: the bureau → arrondissement rule and the split method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from electio.errors import InputError
from electio.harmonise import units
from electio.parse import ministere

FIXTURE = Path(__file__).parent / "fixtures" / "elections" / "pres2022_t1_bureau_69.csv"


def _fixture_with(tmp_path: Path, extra_bureau: str) -> Path:
    """The pres2022 bureau fixture plus a copy of its first row as Lyon bureau ``extra_bureau``."""
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    fields = lines[1].split(";")
    fields[4], fields[5], fields[6] = "123", "Lyon", extra_bureau
    path = tmp_path / "bureaux.csv"
    path.write_text("\n".join([*lines, ";".join(fields)]) + "\n", encoding="utf-8")
    return path


def test_referential_declares_the_three_cities() -> None:
    frame = units.load_units()
    arrondissements = frame[frame["type_unite"] == "arrondissement"].groupby("code_commune").size()
    assert arrondissements.to_dict() == {"13055": 16, "69123": 9, "75056": 20}
    lyon = frame[frame["code_commune"] == "69123"].set_index("prefixe_bureau")["code_unite"]
    assert lyon["03"] == "69383" and lyon["00"] == "69123_HA"


def test_repeated_prefix_is_rejected(tmp_path: Path) -> None:
    text = units.UNITS_CSV.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "unites.csv"
    path.write_text("\n".join([*text, "69399,Lyon X,arrondissement,69123,03,doublon"]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="préfixe de bureau en double"):
        units.load_units(path)


def test_bureaux_sum_to_their_arrondissement(tmp_path: Path) -> None:
    parsed = ministere.parse_blocks(_fixture_with(tmp_path, "0001"), "pres2022_t1")
    part, voix, audit = units.measured(parsed, units.load_units(), FIXTURE)
    assert set(audit["code_unite"]) == {"69381", "69382", "69123_HA"}
    lyon = parsed.participation.set_index("code_commune_source").loc["69123"]
    for column in ("inscrits", "votants", "blancs", "nuls", "exprimes"):
        assert part[column].sum() == lyon[column]
    commune_voix = parsed.voix[parsed.voix["code_commune_source"] == "69123"].groupby("candidat")["voix"].sum()
    assert voix.groupby("candidat")["voix"].sum().to_dict() == commune_voix.to_dict()
    first = part.set_index("code_unite").loc["69381"]
    assert first["inscrits"] == 1000 and first["exprimes"] == 870  # bureau 0101 alone


def test_bureau_without_unit_names_the_bureau(tmp_path: Path) -> None:
    parsed = ministere.parse_blocks(_fixture_with(tmp_path, "1001"), "pres2022_t1")
    with pytest.raises(InputError, match="bureau 1001 de la commune 69123"):
        units.measured(parsed, units.load_units(), FIXTURE)


def test_apportion_is_exact_and_proportional() -> None:
    parts = units.apportion(10, np.array([1.0, 1.0, 1.0]))
    assert parts.sum() == 10 and sorted(parts) == [3, 3, 4]
    assert list(units.apportion(7, np.array([0.0, 0.0]))) == [4, 3]
    assert list(units.apportion(100, np.array([3.0, 1.0]))) == [75, 25]


def _scrutins() -> pd.DataFrame:
    return pd.DataFrame({
        "scrutin_id": ["pres2012_t1", "pres2017_t1", "pres2022_t1", "euro2024_t1"],
        "type_scrutin": ["presidentielle", "presidentielle", "presidentielle", "europeennes"],
        "tour": [1, 1, 1, 1],
        "date_scrutin": pd.to_datetime(["2012-04-22", "2017-04-23", "2022-04-10", "2024-06-09"]).date,
    })


def test_reference_is_the_nearest_ballot_of_the_same_type() -> None:
    scrutins = _scrutins()
    target = scrutins.iloc[0]
    assert units.reference_ballot(target, scrutins.iloc[1:]) == "pres2017_t1"
    assert units.reference_ballot(target, scrutins.iloc[[3]]) == "euro2024_t1"  # any type when none of its own
    assert units.reference_ballot(target, scrutins.iloc[0:0]) is None


def test_estimate_splits_the_commune_with_reference_shares() -> None:
    scrutins = _scrutins()
    participation = pd.DataFrame({"scrutin_id": ["pres2012_t1", "pres2017_t1"], "code_commune": ["69123", "69123"],
                                  "inscrits": [1000, 400], "votants": [800, 300], "blancs": [pd.NA, 4],
                                  "nuls": [pd.NA, 2], "exprimes": [780, 294]})
    dim_candidat = pd.DataFrame({"candidat_id": [1, 2, 3, 4], "code_bloc": ["GAU", "DRO", "GAU", "DRO"]})
    results = pd.DataFrame({"scrutin_id": ["pres2012_t1"] * 2, "code_commune": ["69123"] * 2,
                            "candidat_id": [1, 2], "voix": [500, 280]})
    unit_part = pd.DataFrame({"scrutin_id": "pres2017_t1", "code_unite": ["69381", "69382"], "code_commune": "69123",
                              "inscrits": [100, 300], "votants": [100, 200], "blancs": [1, 3], "nuls": [1, 1],
                              "exprimes": [98, 196]})
    unit_voix = pd.DataFrame({"scrutin_id": "pres2017_t1", "code_unite": ["69381", "69382", "69381", "69382"],
                              "code_commune": "69123", "candidat_id": [3, 3, 4, 4], "voix": [90, 10, 8, 186]})
    part, voix = units.estimate(participation, results, unit_part, unit_voix, scrutins, dim_candidat)
    part = part.set_index("code_unite")
    assert part["inscrits"].to_dict() == {"69381": 250, "69382": 750}
    assert part["votants"].sum() == 800 and part["blancs"].isna().all()
    assert part["estime"].all() and set(part["scrutin_reference"]) == {"pres2017_t1"}
    split = voix.pivot_table(index="candidat_id", columns="code_unite", values="voix")
    assert split.loc[1].to_dict() == {"69381": 450, "69382": 50}  # GAU: 90 % in the 1st in 2017
    assert split.loc[2].sum() == 280 and split.loc[2, "69381"] == round(280 * 8 / 194)


def test_contract_flags_units_that_do_not_sum_to_the_commune() -> None:
    from electio.quality import contracts

    part = pd.DataFrame({"scrutin_id": "s", "code_unite": ["69381", "69382"], "code_commune": "69123",
                         "inscrits": [10, 20], "votants": [8, 15], "blancs": [0, 1], "nuls": [0, 0], "exprimes": [8, 14]})
    commune = pd.DataFrame({"scrutin_id": ["s"], "code_commune": ["69123"], "inscrits": [30], "votants": [23],
                            "blancs": [1], "nuls": [0], "exprimes": [22]})
    res = pd.DataFrame({"scrutin_id": "s", "code_unite": ["69381", "69382"], "code_commune": "69123",
                        "candidat_id": [1, 1], "voix": [8, 14]})
    tables = {"fact_participation_arrondissement": part, "fact_resultat_arrondissement": res,
              "fact_participation": commune, "dim_unite": pd.DataFrame({"code_unite": ["69381", "69382"]}),
              "fact_resultat_commune": pd.DataFrame({"scrutin_id": ["s"], "code_commune": ["69123"],
                                                     "candidat_id": [1], "voix": [22]})}
    assert [r.lignes_en_echec for r in contracts.unit_rules(tables)] == [0, 0, 0]
    tables["fact_participation"] = commune.assign(inscrits=31)
    tables["fact_resultat_commune"] = tables["fact_resultat_commune"].assign(voix=21)
    assert [r.lignes_en_echec for r in contracts.unit_rules(tables)] == [0, 1, 1]
