"""Long bureau-level ``.rds`` ballots (euro2024, leg2024 T1, leg2022 T1) on tiny hand-made files.

The 2024 fixtures are written with ``pyreadr.write_rds`` (one data frame, as upstream); the
législatives 2022 one is a named list ``$Pdt`` / ``$Leg``, which pyreadr cannot write: a
minimal XDR writer below serializes it the way R does (format 3, gzip).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadr
import pytest

from electio.errors import InputError
from electio.parse import rds_long
from electio.parse.ballot import PARTICIPATION_COLUMNS, VOIX_COLUMNS
from electio.parse.rds_xdr import data_frame, read_rds

EURO_HEADER = ["code_du_departement", "libelle_du_departement", "code_de_la_commune",
               "libelle_de_la_commune", "code_du_b_vote", "candidat", "voix"]
# Two Lyon bureaux, Guadeloupe and Saône-et-Loire sharing the cut code "71", Wallis,
# Polynésie, Saint-Martin and the French abroad. RN has no row in bureau 0002 (0 votes).
EURO_ROWS = [
    ("69", "Rhône", "123", "Lyon", "0001", "La FRANCE REVIENT", 30),
    ("69", "Rhône", "123", "Lyon", "0001", "REVEIL EUR", 50),
    ("69", "Rhône", "123", "Lyon", "0001", "abstentions", 100),
    ("69", "Rhône", "123", "Lyon", "0001", "blancs", 2),
    ("69", "Rhône", "123", "Lyon", "0001", "nuls", 1),
    ("69", "Rhône", "123", "Lyon", "0002", "REVEIL EUR", 40),
    ("69", "Rhône", "123", "Lyon", "0002", "abstentions", 60),
    ("71", "Guadeloupe", "101", "Les Abymes", "0001", "La FRANCE REVIENT", 7),
    ("71", "Guadeloupe", "101", "Les Abymes", "0001", "abstentions", 20),
    ("71", "Saône-et-Loire", "270", "Mâcon", "0001", "La FRANCE REVIENT", 9),
    ("71", "Saône-et-Loire", "270", "Mâcon", "0001", "nuls", 1),
    ("86", "Wallis et Futuna", "601", "Wallis-Et-Futuna", "0001", "REVEIL EUR", 3),
    ("87", "Polynésie française", "711", "Anaa", "0001", "REVEIL EUR", 4),
    ("ZX", "Saint-Martin/Saint-Barthélemy", "801", "Saint-Martin", "0001", "REVEIL EUR", 5),
    ("ZZ", "Français établis hors de France", "001", "Abidjan", "0001", "REVEIL EUR", 6),
]


def write_frame(path: Path, rows: list[tuple], header: list[str]) -> Path:
    frame = pd.DataFrame(rows, columns=header)
    pyreadr.write_rds(str(path), frame, compress="gzip")
    return path


def euro_file(tmp_path: Path, rows: list[tuple] = EURO_ROWS, header: list[str] = EURO_HEADER) -> Path:
    return write_frame(tmp_path / "resultats.rds", rows, header)


def by_code(ballot) -> pd.DataFrame:
    return ballot.participation.set_index("code_commune_source")


def check_contract(ballot) -> None:
    assert tuple(ballot.participation.columns) == PARTICIPATION_COLUMNS
    assert tuple(ballot.voix.columns) == VOIX_COLUMNS
    assert ballot.participation["code_commune_source"].is_unique
    assert (ballot.participation["code_commune_source"].str.len() == 5).all()


# --- européennes 2024 -------------------------------------------------------------------


def test_euro2024_bureaux_summed_and_counts_derived(tmp_path: Path) -> None:
    ballot = rds_long.parse_euro2024(euro_file(tmp_path), "euro2024_t1")
    check_contract(ballot)
    lyon = by_code(ballot).loc["69123"]
    # inscrits = every row of both bureaux; exprimés = list rows; votants = inscrits - abstentions.
    assert lyon["inscrits"] == 30 + 50 + 100 + 2 + 1 + 40 + 60
    assert lyon["exprimes"] == 30 + 50 + 40
    assert (lyon["blancs"], lyon["nuls"]) == (2, 1)
    assert lyon["votants"] == lyon["inscrits"] - 160
    assert lyon["ligne_source"] == 1
    voix = ballot.voix.set_index(["code_commune_source", "candidat"])["voix"]
    assert voix.loc[("69123", "REVEIL EUR")] == 90
    assert voix.loc[("69123", "La FRANCE REVIENT")] == 30  # bureau 0002 had no RN row: 0 votes
    assert ballot.voix["nuance"].isna().all() and ballot.voix["prenom"].isna().all()


def test_euro2024_cut_departement_codes_use_the_libelle(tmp_path: Path) -> None:
    part = by_code(rds_long.parse_euro2024(euro_file(tmp_path), "euro2024_t1"))
    assert set(part.index) == {"69123", "97101", "71270", "98601", "98711", "97801", "ZZ001"}
    assert part.loc["97101", "libelle_commune"] == "Les Abymes"
    assert part.loc["71270", "libelle_commune"] == "Mâcon"
    assert part.loc["71270", "ligne_source"] == 10


def test_euro2024_unknown_libelle_on_a_shared_code_is_rejected(tmp_path: Path) -> None:
    rows = [*EURO_ROWS, ("71", "Atlantide", "102", "Ville", "0001", "REVEIL EUR", 1)]
    with pytest.raises(InputError, match="« 71 ».*Saône-et-Loire.*Atlantide|« 71 ».*Atlantide.*Saône-et-Loire") as caught:
        rds_long.parse_euro2024(euro_file(tmp_path, rows), "euro2024_t1")
    assert "resultats.rds" in str(caught.value)


def test_euro2024_missing_column_names_file_and_column(tmp_path: Path) -> None:
    header = [*EURO_HEADER[:1], "libelle_dept", *EURO_HEADER[2:]]
    with pytest.raises(InputError, match="« libelle_du_departement »") as caught:
        rds_long.parse_euro2024(euro_file(tmp_path, header=header), "euro2024_t1")
    assert "resultats.rds" in str(caught.value) and "absente" in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"not an R file at all", gzip.compress(b"RDX3\nfoo")[:12]])
def test_unreadable_rds_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "casse.rds"
    path.write_bytes(content)
    for parse in (rds_long.parse_euro2024, rds_long.parse_leg2024, rds_long.parse_leg2022):
        with pytest.raises(InputError, match="illisible|corromp|tronqu") as caught:
            parse(path, "x")
        assert "casse.rds" in str(caught.value)


def test_truncated_real_layout_rds_is_rejected(tmp_path: Path) -> None:
    whole = euro_file(tmp_path).read_bytes()
    path = tmp_path / "tronque.rds"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="tronque.rds"):
        rds_long.parse_euro2024(path, "euro2024_t1")


# --- législatives 2024 ------------------------------------------------------------------

LEG24_HEADER = [*EURO_HEADER[:6], "nom", "prenom", "voix"]
LEG24_ROWS = [
    ("69", "Rhône", "123", "Lyon", "0001", "UG", "DUPONT", "DUPONT", 40),
    ("69", "Rhône", "123", "Lyon", "0001", "RN", "MARTIN", "MARTIN", 20),
    ("69", "Rhône", "123", "Lyon", "0001", "abstentions", None, None, 30),
    ("69", "Rhône", "123", "Lyon", "0001", "blancs", None, None, 3),
    ("74", "La Réunion", "401", "Les Avirons", "0001", "UG", "HOARAU", "HOARAU", 11),
    ("74", "Haute-Savoie", "010", "Annecy", "0001", "ENS", "BERNARD", "BERNARD", 12),
]


def test_leg2024_nuance_from_candidat_and_name_from_nom(tmp_path: Path) -> None:
    ballot = rds_long.parse_leg2024(write_frame(tmp_path / "bdv.rds", LEG24_ROWS, LEG24_HEADER), "leg2024_t1")
    check_contract(ballot)
    voix = ballot.voix.set_index(["code_commune_source", "nuance"])
    assert voix.loc[("69123", "UG"), "candidat"] == "DUPONT"
    assert voix.loc[("69123", "RN"), "voix"] == 20
    assert ballot.voix["prenom"].isna().all()  # the file's prenom repeats nom
    part = by_code(ballot)
    assert part.loc["69123", ["inscrits", "votants", "blancs", "nuls", "exprimes"]].tolist() == [93, 63, 3, 0, 60]
    assert {"97401", "74010"} <= set(part.index)


def test_leg2024_missing_nom_column(tmp_path: Path) -> None:
    header = [name if name != "nom" else "name" for name in LEG24_HEADER]
    with pytest.raises(InputError, match="« nom »") as caught:
        rds_long.parse_leg2024(write_frame(tmp_path / "bdv.rds", LEG24_ROWS, header), "leg2024_t1")
    assert "bdv.rds" in str(caught.value)


def test_leg2024_candidate_row_without_name_gives_row(tmp_path: Path) -> None:
    rows = [*LEG24_ROWS[:5], ("74", "Haute-Savoie", "010", "Annecy", "0001", "ENS", None, None, 12)]
    with pytest.raises(InputError, match="« nom »") as caught:
        rds_long.parse_leg2024(write_frame(tmp_path / "bdv.rds", rows, LEG24_HEADER), "leg2024_t1")
    assert "ligne 6" in str(caught.value)


# --- législatives 2022: a named list written in R's XDR format --------------------------


class XdrWriter:
    """The subset of R's serialization that a named list of a tibble needs (format 3)."""

    def __init__(self) -> None:
        self.out = bytearray(b"X\n")
        for number in (3, 0x040201, 0x030500, 5):  # format, R 4.2.1, min R 3.5.0, encoding length
            self.int(number)
        self.out += b"UTF-8"
        self.symbols: dict[str, int] = {}

    def int(self, value: int) -> None:
        self.out += struct.pack(">i", value)

    def ints(self, *values: int) -> None:
        for value in values:
            self.int(value)

    def string(self, value: str | None) -> None:
        if value is None:
            self.ints(9, -1)
            return
        raw = value.encode("utf-8")
        self.ints(9 | (1 << 3) << 12, len(raw))  # CHARSXP, UTF-8 flag in the levels
        self.out += raw

    def symbol(self, name: str) -> None:
        if name in self.symbols:  # a reference to a symbol already written
            self.int((self.symbols[name] << 8) | 255)
            return
        self.int(1)
        self.string(name)
        self.symbols[name] = len(self.symbols) + 1

    def attributes(self, pairs: list[tuple[str, object]]) -> None:
        for name, value in pairs:
            self.int(2 | (1 << 10))
            self.symbol(name)
            self.value(value)
        self.int(254)

    def value(self, value: object, attrs: list[tuple[str, object]] | None = None) -> None:
        flags = (1 << 9) if attrs else 0
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            self.ints(14 | flags, len(value))
            self.out += value.astype(">f8").tobytes()
        elif isinstance(value, np.ndarray):
            self.ints(13 | flags, len(value))
            self.out += value.astype(">i4").tobytes()
        else:
            self.ints(16 | flags, len(value))
            for item in value:
                self.string(item)
        if attrs:
            self.attributes(attrs)

    def frame(self, frame: pd.DataFrame) -> None:
        self.ints(19 | (1 << 8) | (1 << 9), frame.shape[1])  # VECSXP, object, attributes
        for name in frame.columns:
            column = frame[name]
            if pd.api.types.is_float_dtype(column):
                self.value(column.to_numpy(dtype="float64"))
            elif pd.api.types.is_integer_dtype(column):
                self.value(column.to_numpy(dtype="int64"))
            else:
                self.value([None if pd.isna(v) else str(v) for v in column])
        self.attributes([
            ("names", list(frame.columns)),
            ("row.names", np.array([-(2**31), -len(frame)])),
            ("class", ["tbl_df", "tbl", "data.frame"]),
        ])


LEG22_ROWS = [
    # rowid, dep, circo, commune, bureau, nom, prenom, nuance_ministere, nuance Le Monde, voix, candidat
    (1, "69", 1, 123, "0001", "DURAND", "Alice", "NUP", "LFI-Nupes", 52.0, None),
    (1, "69", 1, 123, "0001", "PETIT", "Paul", "ENS", "LRM-Ensemble", 61.0, None),
    (1, "69", 1, 123, "0001", "abstentions", None, "abstentions", "abstentions", 80.0, "abstentions"),
    (1, "69", 1, 123, "0001", "blancs", None, "blancs", "blancs", 4.0, "blancs"),
    (1, "69", 1, 123, "0001", "nuls", None, "nuls", "nuls", 2.0, "nuls"),
    (2, "ZA", 1, 101, "0001", "LEBON", "Marc", "DVG", "DVG", 0.0, None),
    (2, "ZA", 1, 101, "0001", "abstentions", None, "abstentions", "abstentions", 9.0, "abstentions"),
    (3, "ZZ", 5, 1, "0001", "ROSE", "Lina", "ENS", "LRM-Ensemble", 3.0, None),
]
LEG22_HEADER = ["rowid", "code_du_departement", "code_de_la_circonscription", "code_de_la_commune",
                "code_du_b_vote", "nom", "prenom", "nuance_ministere", "nuance_agregee_par_le_monde", "voix",
                "candidat"]


def leg2022_file(path: Path, frame: pd.DataFrame, element: str = "Leg") -> Path:
    frame = frame.assign(libelle_de_la_commune=frame["code_de_la_commune"].map(lambda n: f"Commune {n}"))
    writer = XdrWriter()
    writer.ints(19 | (1 << 9), 2)  # the named list
    writer.value(np.array([1, 2, 3]), [("class", ["fastLink"])])  # stands for $Pdt
    writer.frame(frame)
    writer.attributes([("names", ["Pdt", element])])
    path.write_bytes(gzip.compress(bytes(writer.out)))
    return path


def leg22_frame(rows: list[tuple] = LEG22_ROWS) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=LEG22_HEADER)
    return frame.astype({"rowid": "int64", "code_de_la_circonscription": "int64", "code_de_la_commune": "int64"})


def test_leg2022_named_list_reads_leg_and_ministry_nuance(tmp_path: Path) -> None:
    ballot = rds_long.parse_leg2022(leg2022_file(tmp_path / "donnees.rds", leg22_frame()), "leg2022_t1")
    check_contract(ballot)
    part = by_code(ballot)
    assert set(part.index) == {"69123", "97101", "ZZ001"}
    assert part.loc["69123", ["inscrits", "votants", "blancs", "nuls", "exprimes"]].tolist() == [199, 119, 4, 2, 113]
    assert part.loc["97101", ["inscrits", "exprimes"]].tolist() == [9, 0]
    assert part.loc["ZZ001", "ligne_source"] == 8
    voix = ballot.voix.set_index(["code_commune_source", "candidat"])
    assert voix.loc[("69123", "DURAND Alice"), "nuance"] == "NUP"  # not Le Monde's "LFI-Nupes"
    assert voix.loc[("69123", "DURAND Alice"), "prenom"] == "Alice"
    assert voix.loc[("97101", "LEBON Marc"), "voix"] == 0


def test_leg2022_without_leg_element(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\$Leg") as caught:
        rds_long.parse_leg2022(leg2022_file(tmp_path / "donnees.rds", leg22_frame(), "Legislatives"), "leg2022_t1")
    assert "donnees.rds" in str(caught.value)


def test_leg2022_missing_column(tmp_path: Path) -> None:
    frame = leg22_frame().drop(columns="nuance_ministere")
    with pytest.raises(InputError, match="« nuance_ministere »") as caught:
        rds_long.parse_leg2022(leg2022_file(tmp_path / "donnees.rds", frame), "leg2022_t1")
    assert "donnees.rds" in str(caught.value)


@pytest.mark.parametrize("value", [-1.0, 2.5, float("nan")])
def test_leg2022_bad_vote_count_gives_row(tmp_path: Path, value: float) -> None:
    rows = list(LEG22_ROWS)
    rows[5] = (*rows[5][:9], value, None)
    with pytest.raises(InputError, match="voix") as caught:
        rds_long.parse_leg2022(leg2022_file(tmp_path / "donnees.rds", leg22_frame(rows)), "leg2022_t1")
    assert "ligne 6" in str(caught.value)


def test_xdr_reader_agrees_with_pyreadr(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "t.rds", LEG24_ROWS, LEG24_HEADER)
    ours = data_frame(read_rds(path), path)
    theirs = pyreadr.read_r(str(path))[None]
    assert list(ours.columns) == list(theirs.columns)
    for column in ours.columns:
        assert ours[column].astype("str").tolist() == theirs[column].astype("str").tolist()
