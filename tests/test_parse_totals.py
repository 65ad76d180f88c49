"""Municipales 2026 JSON archive, département-level Ministry files and territory totals (tiny fixtures)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from electio.errors import InputError
from electio.harmonise import totals
from electio.parse import departement_totals
from electio.parse.ballot import LOCATION
from electio.parse.municipales_json import NO_NUANCE, parse_municipales
from electio.pipeline import etl

FIXTURES = Path(__file__).parent / "fixtures" / "elections"
MUNI = FIXTURES / "muni2026"


def archive(tmp_path: Path, replace: dict[str, object] | None = None) -> Path:
    """The fixture folder packed like the mirror's tar.gz; ``replace`` overrides members (name → JSON)."""
    path = tmp_path / "muni.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for file in sorted(MUNI.rglob("*.json")):
            name = str(file.relative_to(MUNI))
            if replace and name in replace:
                source = tmp_path / "member.json"
                source.write_text(json.dumps(replace[name]), encoding="utf-8")
                tar.add(source, arcname=name)
            else:
                tar.add(file, arcname=name)
    return path


def test_municipales_one_row_per_commune_votes_by_nuance(tmp_path: Path) -> None:
    ballot = parse_municipales(archive(tmp_path), "muni2026_t1")
    part = ballot.participation.set_index("code_commune_source")
    # plm-69.json (Lyon by secteur) repeats Lyon: not read.
    assert sorted(part.index) == ["2A004", "69001", "69123"]
    assert part["inscrits"].sum() == 323 + 1000 + 50
    voix = ballot.voix.set_index(["code_commune_source", "nuance"])["voix"]
    # Affoux's two lists carry no nuance: one NC row with their summed votes.
    assert voix[("69001", NO_NUANCE)] == 138 + 85
    assert voix[("69123", "LDVD")] == 200 + 80 and voix[("69123", "LUG")] == 300
    assert (ballot.voix["candidat"] == ballot.voix["nuance"]).all()
    # Ajaccio: nuls derived by the source as votants - blancs - exprimés = -2, left missing.
    assert pd.isna(part.at["2A004", "nuls"]) and part.at["2A004", "blancs"] == 1
    assert part.at["69123", LOCATION].endswith("69.json, commune n° 2")


def test_municipales_bad_count_names_member_and_commune(tmp_path: Path) -> None:
    records = json.loads((MUNI / "public/data/communes/69.json").read_text(encoding="utf-8"))
    records[1]["inscrits"] = "mille"
    path = archive(tmp_path, {"public/data/communes/69.json": records})
    with pytest.raises(InputError, match=r"communes/69\.json, commune n° 2 : valeur « mille » invalide pour « inscrits »"):
        parse_municipales(path, "muni2026_t1")


def test_municipales_truncated_archive_is_an_input_error(tmp_path: Path) -> None:
    path = archive(tmp_path)
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="archive tar.gz illisible"):
        parse_municipales(broken, "muni2026_t1")


def test_municipales_commune_outside_cog_names_file_and_row(tmp_path: Path) -> None:
    records = json.loads((MUNI / "public/data/communes/69.json").read_text(encoding="utf-8"))
    records[1]["codeCommune"] = "69999"
    path = archive(tmp_path, {"public/data/communes/69.json": records})
    parsed = parse_municipales(path, "muni2026_t1")
    mapping = pd.DataFrame({"code_source": ["69001", "2A004"], "code_reference": ["69001", "2A004"], "methode": "identite",
                            "annee_modification": pd.array([None, None], dtype="Int64"), "detail": ""})
    communes = pd.DataFrame({"code_commune": ["69001"]})
    with pytest.raises(InputError, match=r"muni\.tar\.gz : code commune inconnu du COG : 69999 \(Lyon\), dans public/data/communes/69\.json, commune n° 2"):
        etl.map_ballot(parsed, mapping, communes, path)


def write_pres_xlsx(path: Path) -> Path:
    """A two-row présidentielle file in the Ministry's layout (Inscrits stored as text, as in T1)."""
    import openpyxl

    fixed = ["Code du département", "Libellé du département", "Etat saisie", "Inscrits", "Abstentions", "% Abs/Ins", "Votants",
             "% Vot/Ins", "Blancs", "% Blancs/Ins", "% Blancs/Vot", "Nuls", "% Nuls/Ins", "% Nuls/Vot", "Exprimés", "% Exp/Ins", "% Exp/Vot"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*fixed, "Sexe", "Nom", "Prénom", "Voix", "% Voix/Ins", "% Voix/Exp"])
    sheet.append(["01", "Ain", "Complet", "1000", 200, 20.0, 800, 80.0, 10, 1.0, 1.25, 5, 0.5, 0.62, 785, 78.5, 98.12,
                  "M", "MACRON", "Emmanuel", 400, 40.0, 50.96, "F", "LE PEN", "Marine", 385, 38.5, 49.04])
    sheet.append(["ZA", "Guadeloupe", "Complet", "300", 100, 33.3, 200, 66.6, 0, 0.0, 0.0, 0, 0.0, 0.0, 200, 66.6, 100.0,
                  "M", "MACRON", "Emmanuel", 120, 40.0, 60.0, "F", "LE PEN", "Marine", 80, 26.6, 40.0])
    book.save(path)
    return path


def test_pres2022_xlsx_by_departement(tmp_path: Path) -> None:
    parsed = departement_totals.parse_pres2022(write_pres_xlsx(tmp_path / "pres.xlsx"), "pres2022_t2")
    part = parsed.participation.set_index("code_territoire")
    assert list(part.index) == ["01", "971"]  # ZA → INSEE 971
    assert part.at["01", "inscrits"] == 1000 and part.at["01", "exprimes"] == 785 and part.at["01", "ligne_source"] == 2
    voix = parsed.voix.set_index(["code_territoire", "candidat"])
    assert voix.at[("971", "LE PEN"), "voix"] == 80 and voix.at[("01", "MACRON"), "prenom"] == "Emmanuel"
    assert voix["nuance"].isna().all()


def test_leg2022_t2_latin1_variable_blocks() -> None:
    parsed = departement_totals.parse_leg2022_t2(FIXTURES / "leg2022_t2_dpt_mini.txt", "leg2022_t2")
    voix = parsed.voix.groupby("code_territoire")["nuance"].apply(list).to_dict()
    assert voix == {"01": ["NUP", "ENS", "LR", "DVD", "RN"], "971": ["NUP", "DVG"]}
    assert parsed.participation.set_index("code_territoire").at["01", "libelle_territoire"] == "Ain"
    assert parsed.voix["voix"].sum() == 179591 + 40


def test_leg2024_t2_quoted_percentages_and_empty_blocks() -> None:
    parsed = departement_totals.parse_leg2024_t2(FIXTURES / "leg2024_t2_dpt_mini.csv", "leg2024_t2")
    part = parsed.participation.set_index("code_territoire")
    assert list(part.index) == ["02", "ZX"] and part.at["02", "exprimes"] == 45342
    assert parsed.voix.groupby("code_territoire")["voix"].sum().to_dict() == {"02": 45342, "ZX": 7037}


def test_departement_file_bad_count_names_line(tmp_path: Path) -> None:
    text = (FIXTURES / "leg2024_t2_dpt_mini.csv").read_text(encoding="utf-8").replace(";73181;", ";-73181;")
    path = tmp_path / "dpt.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"dpt\.csv, ligne 2 : valeur « -73181 » invalide pour « inscrits »"):
        departement_totals.parse_leg2024_t2(path, "leg2024_t2")


def test_totals_from_communes_keep_missing_counts_missing(tmp_path: Path) -> None:
    ballot = parse_municipales(archive(tmp_path), "muni2026_t1")
    summed = totals.from_communes(ballot, ballot.participation["code_commune_source"])
    part, voix = totals.territory_frames(summed, "muni2026_t1_commune", "agregation_communes")
    by = part.set_index("code_territoire")
    assert by.at["FR", "inscrits"] == 1373 and by.at["69", "inscrits"] == 1323 and by.at["2A", "exprimes"] == 41
    # Ajaccio's nuls are unknown: Corse-du-Sud and France nuls unknown too, not a partial sum.
    assert pd.isna(by.at["2A", "nuls"]) and pd.isna(by.at["FR", "nuls"]) and by.at["69", "nuls"] == 15
    fr = voix[voix["niveau"] == "france"].set_index("nuance")["voix"]
    assert fr["LDVD"] == 280 + 41 and fr[NO_NUANCE] == 223


def test_departement_of_overseas_and_saint_martin() -> None:
    codes = pd.Series(["69123", "2A004", "97101", "97701", "97801", "98735", "ZZ999"])
    assert totals.departement_of(codes).tolist() == ["69", "2A", "971", "ZX", "ZX", "987", "ZZ"]


def test_contracts_on_municipales_and_territory_totals() -> None:
    """muni2026 vote gaps are warnings; a département total that does not add up to France blocks."""
    from electio.quality import contracts

    scrutins = pd.DataFrame({"scrutin_id": ["muni2026_t1", "pres2017_t1"], "type_scrutin": ["municipales", "presidentielle"]})
    part = pd.DataFrame({"scrutin_id": ["muni2026_t1", "pres2017_t1"], "code_commune": ["69001", "69001"], "exprimes": [100, 50]})
    res = pd.DataFrame({"scrutin_id": ["muni2026_t1", "pres2017_t1"], "code_commune": ["69001", "69001"], "candidat_id": [1, 2], "voix": [90, 49]})
    by_rule = {(r.regle.split(" (")[0] + (" muni" if "muni2026" in r.regle else ""), r.severite): r.lignes_en_echec
               for r in contracts.vote_sum_rules(part, res, scrutins)}
    assert by_rule[("somme des voix = exprimés", contracts.BLOCKING)] == 1  # pres2017: blocking
    assert by_rule[("somme des voix = exprimés muni", contracts.WARNING)] == 1
    cand = pd.DataFrame({"candidat_id": [1, 2], "code_bloc": [None, "droite"]})
    assert contracts.no_bloc_rule("fact_resultat_commune", res, cand, "communes").lignes_en_echec == 1

    terr = pd.DataFrame({"scrutin_id": "pres2017_t1", "niveau": ["france", "departement", "departement"], "code_territoire": ["FR", "69", "01"],
                         "inscrits": [30, 20, 9], "votants": [20, 12, 8], "exprimes": [18, 11, 7], "methode": "agregation_communes"})
    voix = pd.DataFrame({"scrutin_id": "pres2017_t1", "niveau": ["france", "departement", "departement"], "code_territoire": ["FR", "69", "01"],
                         "candidat_id": [2, 2, 2], "voix": [18, 11, 7]})
    communes = pd.DataFrame({"code_commune": ["69001"], "code_departement": ["69"], "type_unite": ["commune"]})
    facts = pd.DataFrame({"scrutin_id": ["pres2017_t1"], "code_commune": ["69001"], "inscrits": [20], "exprimes": [11]})
    results = {r.regle: (r.severite, r.lignes_en_echec) for r in contracts.territory_rules(terr, voix, communes, facts)}
    assert results["somme des départements = total France (inscrits, votants, exprimés)"] == (contracts.BLOCKING, 1)
    assert results["total du département = somme des communes de l'entrepôt (inscrits, exprimés), même fichier"] == (contracts.BLOCKING, 0)
    facts["exprimes"] = 10
    results = {r.regle: r.lignes_en_echec for r in contracts.territory_rules(terr, voix, communes, facts)}
    assert results["total du département = somme des communes de l'entrepôt (inscrits, exprimés), même fichier"] == 1
