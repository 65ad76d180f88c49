"""Political blocs referential: loading, versioning, assignment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from electio.errors import InputError
from electio.harmonise import blocs

HEADER = "version,scrutin_id,type_cle,cle,libelle,bloc,justification\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "affectation.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_referential_is_consistent() -> None:
    dim = blocs.load_blocs()
    assignments = blocs.load_assignments(blocs.ASSIGNMENTS_CSV, dim)
    assert set(assignments["bloc"]) <= set(dim["code_bloc"]) | {blocs.NO_BLOC}
    assert dim["couleur"].str.fullmatch(r"#[0-9A-Fa-f]{6}").all()
    assert dim["ordre"].is_unique


def test_latest_version_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "2026.1,pres2017_t1,candidat,FILLON,F,droite,a\n2026.10,pres2017_t1,candidat,FILLON,F,centre,b\n2026.2,pres2017_t1,candidat,FILLON,F,gauche,c\n")
    assert blocs.load_assignments(path)["bloc"].tolist() == ["centre"]
    assert blocs.load_assignments(path, version="2026.2")["bloc"].tolist() == ["gauche"]


def test_duplicate_key_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "2026.1,pres2017_t1,candidat,FILLON,F,droite,a\n2026.1,pres2017_t1,candidat,FILLON,F,droite,a\n")
    with pytest.raises(InputError, match=r"affectation.csv, ligne 2 : clé en double"):
        blocs.load_assignments(path)


def test_unknown_bloc_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "2026.1,pres2017_t1,candidat,FILLON,F,droite_molle,a\n")
    with pytest.raises(InputError, match="ligne 2 : bloc inconnu"):
        blocs.load_assignments(path, blocs.load_blocs())


def test_candidate_absent_from_referential_names_source_file(tmp_path: Path) -> None:
    path = write(tmp_path, "2026.1,pres2017_t1,candidat,FILLON,F,droite,a\n2026.1,leg2017_t1,nuance,LR,LR,droite,b\n")
    assignments = blocs.load_assignments(path)
    ok = pd.DataFrame({"scrutin_id": ["leg2017_t1"], "candidat": ["DUPONT Jean"], "prenom": [None], "nuance": ["LR"]})
    assert blocs.assign_blocs(ok, assignments, "leg.csv")["code_bloc"].tolist() == ["droite"]
    unknown = pd.DataFrame({"scrutin_id": ["pres2017_t1"], "candidat": ["MACRON"], "prenom": [None], "nuance": [None]})
    with pytest.raises(InputError, match=r"pres2017\.csv.*MACRON"):
        blocs.assign_blocs(unknown, assignments, "pres2017.csv")


def test_no_bloc_key_gets_a_null_bloc(tmp_path: Path) -> None:
    """A key assigned to « aucun » (municipales lists without nuance) is counted in no bloc, not in divers."""
    path = write(tmp_path, "2026.1,muni2026_t1,nuance,NC,Sans nuance,aucun,a\n2026.1,muni2026_t1,nuance,LDIV,Divers,divers,b\n")
    assignments = blocs.load_assignments(path, blocs.load_blocs())
    lists = pd.DataFrame({"scrutin_id": ["muni2026_t1"] * 2, "candidat": ["NC", "LDIV"], "prenom": [None, None], "nuance": ["NC", "LDIV"]})
    assigned = blocs.assign_blocs(lists, assignments, "muni.tar.gz")
    assert assigned["code_bloc"].isna().tolist() == [True, False]
    assert assigned["code_bloc"].iloc[1] == "divers"
