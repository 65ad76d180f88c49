"""Tests of the election parsers: hand-made fixtures, broken inputs, and the real mirror."""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from electio.config import mirror_dir
from electio.errors import InputError
from electio.parse import aktiur, ministere, opendatasoft
from electio.parse.ballot import (
    PARTICIPATION_COLUMNS,
    VOIX_COLUMNS,
    ParsedBallot,
    insee_commune,
)

FIXTURES = Path(__file__).parent / "fixtures" / "elections"
Parser = Callable[[Path, str], ParsedBallot]

#: fixture file → (parser, scrutin_id)
FIXTURE_CASES: dict[str, tuple[Parser, str]] = {
    "pres2017_t1_commune_large.csv.gz": (aktiur.parse_wide, "pres2017_t1"),
    "pres2017_t2_bureau_large.csv.gz": (aktiur.parse_wide, "pres2017_t2"),
    "euro2014_commune_large.csv.gz": (aktiur.parse_wide, "euro2014"),
    "euro2019_commune_large.csv.gz": (aktiur.parse_wide, "euro2019"),
    "leg2017_t1_commune_large.csv.gz": (aktiur.parse_wide, "leg2017_t1"),
    "leg2017_t1_commune_long.csv.gz": (aktiur.parse_long, "leg2017_t1"),
    "pres2022_t1_bureau_69.csv": (ministere.parse_blocks, "pres2022_t1"),
    "pres2022_t2_commune_69.csv": (ministere.parse_blocks, "pres2022_t2"),
    "pres2012_t1_commune_69.csv": (ministere.parse_blocks, "pres2012_t1"),
    "muni2020_t2_herault_34.csv": (opendatasoft.parse_municipales, "muni2020_t2"),
}


def parse_fixture(name: str) -> ParsedBallot:
    """Parse a fixture with its parser."""
    parser, scrutin_id = FIXTURE_CASES[name]
    return parser(FIXTURES / name, scrutin_id)


def commune(ballot: ParsedBallot, code: str) -> dict[str, object]:
    """Participation row of one commune as a dict (NA as None)."""
    rows = ballot.participation[ballot.participation["code_commune_source"] == code]
    assert len(rows) == 1, code
    return {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].to_dict().items()}


def votes(ballot: ParsedBallot, code: str) -> dict[str, int]:
    """Votes of one commune: candidat → voix."""
    rows = ballot.voix[ballot.voix["code_commune_source"] == code]
    assert not rows["candidat"].duplicated().any()
    return dict(zip(rows["candidat"], rows["voix"].astype(int), strict=True))


def write_gz(path: Path, text: str) -> Path:
    """Write ``text`` gzip-compressed."""
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    return path


def write_lines(path: Path, lines: list[str]) -> None:
    """Write text lines as UTF-8."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- output contract --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIXTURE_CASES))
def test_output_contract(name: str) -> None:
    ballot = parse_fixture(name)
    assert ballot.scrutin_id == FIXTURE_CASES[name][1]
    part, voix = ballot.participation, ballot.voix
    assert tuple(part.columns) == PARTICIPATION_COLUMNS
    assert tuple(voix.columns) == VOIX_COLUMNS
    for column in ("inscrits", "votants", "blancs", "nuls", "exprimes"):
        assert part[column].dtype == "Int64"
    assert voix["voix"].dtype == "Int64"
    assert pd.api.types.is_integer_dtype(part["ligne_source"])
    assert part["code_commune_source"].is_unique
    assert (part["code_commune_source"].str.len() == 5).all()
    assert set(voix["code_commune_source"]) <= set(part["code_commune_source"])
    assert not voix.duplicated(["code_commune_source", "candidat", "prenom", "nuance"]).any()
    assert voix["candidat"].notna().all() and voix["voix"].notna().all()


# --- aktiur wide ------------------------------------------------------------------


def test_wide_presidentielle_overseas_codes_and_nuls() -> None:
    ballot = parse_fixture("pres2017_t1_commune_large.csv.gz")
    codes = ballot.participation["code_commune_source"].tolist()
    assert codes == ["01001", "2A004", "97101", "97601", "97801", "98601", "ZZ001"]
    assert commune(ballot, "2A004") == {
        "code_commune_source": "2A004",
        "libelle_commune": "Ajaccio",
        "inscrits": 100,
        "votants": 80,
        "blancs": 3,
        "nuls": 2,
        "exprimes": 75,
        "ligne_source": 3,
    }
    assert votes(ballot, "01001")["MÉLENCHON"] == 59
    assert votes(ballot, "01001")["LE PEN"] == 126
    assert ballot.voix["prenom"].isna().all() and ballot.voix["nuance"].isna().all()


def test_wide_bureau_file_summed_to_communes() -> None:
    ballot = parse_fixture("pres2017_t2_bureau_large.csv.gz")
    assert commune(ballot, "69123") == {
        "code_commune_source": "69123",
        "libelle_commune": "Lyon",
        "inscrits": 3100,
        "votants": 2400,
        "blancs": 90,
        "nuls": 30,
        "exprimes": 2280,
        "ligne_source": 3,
    }
    assert votes(ballot, "69123") == {"LE PEN": 410, "MACRON": 1870}


def test_wide_euro2014_without_blancs_and_nuance_columns() -> None:
    ballot = parse_fixture("euro2014_commune_large.csv.gz")
    codes = ballot.participation["code_commune_source"].tolist()
    assert codes == ["01001", "97601", "97801", "98711"]
    assert ballot.participation["blancs"].isna().all() and ballot.participation["nuls"].isna().all()
    lfn = ballot.voix[ballot.voix["candidat"] == "LFN"]
    assert (lfn["nuance"] == "LFN").all() and lfn["voix"].sum() == 155 + 200 + 719 + 60


def test_wide_euro2019_list_headers_kept_as_is() -> None:
    ballot = parse_fixture("euro2019_commune_large.csv.gz")
    assert ballot.participation["code_commune_source"].tolist() == ["01001", "97601", "98711"]
    assert votes(ballot, "98711")["ÉVOLUTION CITOYENNE"] == 20
    assert ballot.voix["nuance"].isna().all()
    assert commune(ballot, "01001")["nuls"] == 333 - 1 - 314


# --- aktiur long ------------------------------------------------------------------


def test_long_sums_each_circonscription_part_once() -> None:
    ballot = parse_fixture("leg2017_t1_commune_long.csv.gz")
    lyon = commune(ballot, "69123")
    assert (lyon["inscrits"], lyon["votants"], lyon["blancs"], lyon["nuls"], lyon["exprimes"]) == (
        3000,
        1800,
        30,
        20,
        1750,
    )
    assert lyon["ligne_source"] == 4
    # two parts with identical counts (Paris here) are still two parts
    paris = commune(ballot, "75056")
    assert (paris["inscrits"], paris["exprimes"]) == (1000, 580)
    lyon_votes = ballot.voix[ballot.voix["code_commune_source"] == "69123"]
    row = lyon_votes[lyon_votes["candidat"] == "DUBOIS, BERTRAND Véronique"].iloc[0]
    assert (row["prenom"], row["nuance"], row["voix"]) == ("Véronique", "ECO", 100)
    summed = ballot.voix.groupby("code_commune_source")["voix"].sum()
    expected = ballot.participation.set_index("code_commune_source")["exprimes"]
    assert summed.reindex(expected.index).eq(expected).all()


def test_long_agrees_with_large_file() -> None:
    long = parse_fixture("leg2017_t1_commune_long.csv.gz")
    large = parse_fixture("leg2017_t1_commune_large.csv.gz")
    columns = ["code_commune_source", "inscrits", "votants", "blancs", "nuls", "exprimes"]
    pd.testing.assert_frame_equal(long.participation[columns], large.participation[columns])
    by_nuance = long.voix.groupby(["code_commune_source", "nuance"])["voix"].sum()
    wide = large.voix.groupby(["code_commune_source", "nuance"])["voix"].sum()
    pd.testing.assert_series_equal(by_nuance, wide[wide > 0])
    assert (large.voix["candidat"] == large.voix["nuance"]).all()


# --- Ministry blocks --------------------------------------------------------------


def test_blocks_bureau_level_aggregated() -> None:
    ballot = parse_fixture("pres2022_t1_bureau_69.csv")
    assert ballot.participation["code_commune_source"].tolist() == ["69001", "69002", "69123"]
    assert commune(ballot, "69123") == {
        "code_commune_source": "69123",
        "libelle_commune": "Lyon",
        "inscrits": 1900,
        "votants": 1615,
        "blancs": 18,
        "nuls": 7,
        "exprimes": 1590,
        "ligne_source": 4,
    }
    lyon = votes(ballot, "69123")
    assert len(lyon) == 12
    assert (lyon["MACRON"], lyon["MÉLENCHON"], lyon["LE PEN"]) == (550, 450, 190)
    row = ballot.voix[ballot.voix["candidat"] == "DUPONT-AIGNAN"].iloc[0]
    assert row["prenom"] == "Nicolas" and pd.isna(row["nuance"])


def test_blocks_commune_level_two_blocks() -> None:
    ballot = parse_fixture("pres2022_t2_commune_69.csv")
    assert votes(ballot, "69001") == {"MACRON": 98, "LE PEN": 139}
    assert commune(ballot, "69001")["nuls"] == 9


def test_blocks_2012_unpadded_codes_and_unsplit_blank_votes() -> None:
    ballot = parse_fixture("pres2012_t1_commune_69.csv")
    assert ballot.participation["code_commune_source"].tolist() == ["69001", "69010", "69123"]
    assert ballot.participation["blancs"].isna().all() and ballot.participation["nuls"].isna().all()
    assert commune(ballot, "69010")["exprimes"] == 1605
    assert votes(ballot, "69123")["HOLLANDE"] == 1300


# --- Opendatasoft municipales -----------------------------------------------------


def test_municipales_lists_and_individual_candidates() -> None:
    ballot = parse_fixture("muni2020_t2_herault_34.csv")
    assert commune(ballot, "34088") == {
        "code_commune_source": "34088",
        "libelle_commune": "Cournonterral",
        "inscrits": 2359,
        "votants": 1295,
        "blancs": 26,
        "nuls": 15,
        "exprimes": 1254,
        "ligne_source": 2,
    }
    assert votes(ballot, "34088") == {"COURNON'AVENIR": 707, "s'unir  pour COURNONTERRAL": 547}
    lists = ballot.voix[ballot.voix["code_commune_source"] == "34088"]
    assert lists["prenom"].isna().all() and lists["nuance"].tolist() == ["LDIV", "LDVG"]
    assert commune(ballot, "34326")["ligne_source"] == 3
    assert votes(ballot, "34326") == {"DORIGNY Pascal": 30, "HUC Sylvie": 35, "POLINI Claude": 0}
    people = ballot.voix[ballot.voix["code_commune_source"] == "34326"]
    assert people["prenom"].tolist() == ["Pascal", "Sylvie", "Claude"]
    assert (people["nuance"] == "NC").all()


# --- commune codes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("departement", "number", "expected"),
    [
        ("01", "001", "01001"),
        ("1", "1", "01001"),
        ("69", "123", "69123"),
        ("2A", "004", "2A004"),
        ("ZA", "101", "97101"),
        ("ZB", "209", "97209"),
        ("ZC", "362", "97362"),
        ("ZD", "411", "97411"),
        ("ZM", "501", "97601"),
        ("ZM", "617", "97617"),
        ("ZS", "502", "97502"),
        ("ZX", "701", "97701"),
        ("ZX", "801", "97801"),
        ("ZN", "833", "98833"),
        ("ZP", "011", "98711"),
        ("ZP", "758", "98758"),
        ("ZW", "001", "98601"),
        ("ZZ", "001", "ZZ001"),
        ("971", "101", "97101"),
        ("976", "501", "97601"),
        ("977", "801", "97801"),
        ("988", "801", "98801"),
        ("ZX", "101", None),
        ("ZQ", "101", None),
        ("69", "12a", None),
        ("69", "1234", None),
    ],
)
def test_insee_commune(departement: str, number: str, expected: str | None) -> None:
    assert insee_commune(departement, number) == expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["01", "2B", "69", "ZA"]),
            st.integers(101, 104),
            st.integers(0, 500),
            st.integers(0, 20),
            st.integers(0, 500),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_wide_bureaux_preserve_totals(rows: list[tuple[str, int, int, int, int]]) -> None:
    lines = ["departement,commune,bureau,commune_libelle,inscrits,votants,blancs,exprimes,A,B"]
    for bureau, (dep, number, a, blancs, b) in enumerate(rows):
        exprimes = a + b
        counts = f"{exprimes * 2 + blancs},{exprimes + blancs},{blancs},{exprimes},{a},{b}"
        lines.append(f"{dep},{number},{bureau:04d},X,{counts}")
    with tempfile.TemporaryDirectory() as folder:
        ballot = aktiur.parse_wide(write_gz(Path(folder) / "f.csv.gz", "\n".join(lines)), "pres")
    frame = pd.DataFrame(rows, columns=["dep", "number", "a", "blancs", "b"])
    assert ballot.participation["blancs"].sum() == frame["blancs"].sum()
    assert ballot.participation["exprimes"].sum() == frame["a"].sum() + frame["b"].sum()
    assert ballot.participation["nuls"].sum() == 0
    assert len(ballot.participation) == len(frame.drop_duplicates(["dep", "number"]))
    assert ballot.voix.groupby("candidat")["voix"].sum().to_dict() == {
        "A": frame["a"].sum(),
        "B": frame["b"].sum(),
    }


# --- errors -----------------------------------------------------------------------

WIDE_HEADER = "departement,commune,commune_libelle,inscrits,votants,blancs,exprimes,LE PEN,MACRON"
LONG_HEADER = (
    "departement,commune,commune_libelle,inscrits,votants,blancs,exprimes,"
    "numero_panneau,sexe,nom,prenom,nuance,voix"
)
BLOCKS_HEADER = (
    "Code du département;Code de la commune;Libellé de la commune;"
    "Inscrits;Votants;Blancs;Nuls;Exprimés"
)


@pytest.mark.parametrize(
    ("parser", "header", "missing"),
    [
        (aktiur.parse_wide, WIDE_HEADER.replace("votants,", ""), "votants"),
        (aktiur.parse_long, LONG_HEADER.replace("numero_panneau,", ""), "numero_panneau"),
        (ministere.parse_blocks, BLOCKS_HEADER.replace("Code de la commune;", ""), "Code de la commune"),
        (opendatasoft.parse_municipales, "Code Officiel Commune;Nom Officiel Commune", "Code B.Vote"),
    ],
)
def test_missing_column_is_named(tmp_path: Path, parser: Parser, header: str, missing: str) -> None:
    sep = "," if "," in header else ";"
    path = tmp_path / "f.csv"
    row = sep.join(["1"] * (header.count(sep) + 1))
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"« {missing} »") as caught:
        parser(path, "x")
    assert caught.value.line is None


def test_ministry_block_without_name_column(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(f"{BLOCKS_HEADER};Voix_1\n69;1;A;10;5;0;0;5;5\n", encoding="utf-8")
    with pytest.raises(InputError, match="« Nom_1 »"):
        ministere.parse_blocks(path, "x")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12a", "non numérique « 12a »"),
        ("-3", "négative « -3 »"),
        ("", "manquante"),
        ("4.5", "non numérique"),
    ],
)
def test_bad_vote_count_gives_line(tmp_path: Path, value: str, message: str) -> None:
    text = f"{WIDE_HEADER}\n01,001,A,10,8,0,8,4,4\n01,002,B,10,8,0,8,{value},4\n"
    with pytest.raises(InputError, match=message) as caught:
        aktiur.parse_wide(write_gz(tmp_path / "f.csv.gz", text), "pres2017_t2")
    assert caught.value.line == 3
    assert "ligne 3" in str(caught.value) and "LE PEN" in str(caught.value)


def test_negative_count_in_ministry_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    rows = "69;1;A;10;5;0;0;5;X;5\n69;2;B;10;5;0;0;5;X;-5\n"
    path.write_text(f"{BLOCKS_HEADER};Nom_1;Voix_1\n{rows}", encoding="utf-8")
    with pytest.raises(InputError, match="négative") as caught:
        ministere.parse_blocks(path, "x")
    assert caught.value.line == 3


def test_bad_count_line_after_quoted_line_break(tmp_path: Path) -> None:
    text = f'{WIDE_HEADER}\n01,001,"Saint\nCommune",10,8,0,8,4,4\n01,002,B,10,8,0,8,x,4\n'
    with pytest.raises(InputError) as caught:
        aktiur.parse_wide(write_gz(tmp_path / "f.csv.gz", text), "pres2017_t2")
    assert caught.value.line == 4


def test_row_with_extra_field_gives_line(tmp_path: Path) -> None:
    text = f'{WIDE_HEADER}\n01,001,"Saint\nCommune",10,8,0,8,4,4\n01,002,B,10,8,0,8,4,4,9\n'
    with pytest.raises(InputError, match="ligne mal formée") as caught:
        aktiur.parse_wide(write_gz(tmp_path / "f.csv.gz", text), "pres2017_t2")
    assert caught.value.line == 4


def test_municipales_decimal_comma_count_is_rejected(tmp_path: Path) -> None:
    original = (FIXTURES / "muni2020_t2_herault_34.csv").read_text(encoding="utf-8").splitlines()
    fields = original[3].split(";")
    fields[24] = "3,5"  # Voix
    path = tmp_path / "muni.csv"
    write_lines(path, [*original[:3], ";".join(fields), *original[4:]])
    with pytest.raises(InputError, match="Voix") as caught:
        opendatasoft.parse_municipales(path, "muni2020_t2")
    assert caught.value.line == 4


@pytest.mark.parametrize("content", [b"", b"\n\n", gzip.compress(b"", mtime=0)])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / ("f.csv.gz" if content.startswith(b"\x1f\x8b") else "f.csv")
    path.write_bytes(content)
    with pytest.raises(InputError, match="fichier vide"):
        aktiur.parse_wide(path, "x")


def test_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(WIDE_HEADER + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="aucune ligne"):
        aktiur.parse_wide(path, "x")


def test_truncated_gzip(tmp_path: Path) -> None:
    data = (FIXTURES / "pres2017_t1_commune_large.csv.gz").read_bytes()
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="gzip tronquée ou corrompue") as caught:
        aktiur.parse_wide(path, "pres2017_t1")
    assert caught.value.path == str(path)


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "leg2017_t1_commune_long.csv.gz").read_bytes())
    data[20:40] = b"\xff" * 20
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="gzip") as caught:
        aktiur.parse_long(path, "leg2017_t1")
    assert "bad.csv.gz" in str(caught.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = f"{BLOCKS_HEADER}\n69;1;Sainte-Foy-lès-Lyon;1;1;0;0;1\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8") as caught:
        ministere.parse_blocks(path, "x")
    assert caught.value.line == 1


def test_duplicate_unit_is_rejected(tmp_path: Path) -> None:
    text = f"{WIDE_HEADER}\n01,001,A,10,8,0,8,4,4\n01,001,A,10,8,0,8,4,4\n"
    with pytest.raises(InputError, match="en double") as caught:
        aktiur.parse_wide(write_gz(tmp_path / "f.csv.gz", text), "x")
    assert caught.value.line == 3


def test_unknown_commune_code(tmp_path: Path) -> None:
    text = f"{WIDE_HEADER}\nQQ,001,A,10,8,0,8,4,4\n"
    with pytest.raises(InputError, match="code commune invalide") as caught:
        aktiur.parse_wide(write_gz(tmp_path / "f.csv.gz", text), "x")
    assert caught.value.line == 2


def test_long_votes_not_matching_exprimes(tmp_path: Path) -> None:
    text = f"{LONG_HEADER}\n01,001,A,10,8,0,8,1,F,X,Y,REM,5\n01,001,A,10,8,0,8,2,M,Z,W,LR,4\n"
    with pytest.raises(InputError, match="somme des voix") as caught:
        aktiur.parse_long(write_gz(tmp_path / "f.csv.gz", text), "leg2017_t1")
    assert caught.value.line == 2


def test_municipales_bureau_counts_must_agree(tmp_path: Path) -> None:
    original = (FIXTURES / "muni2020_t2_herault_34.csv").read_text(encoding="utf-8").splitlines()
    fields = original[4].split(";")
    fields[4] = "1360"  # Inscrits of bureau 34088/0002, first seen on line 2
    path = tmp_path / "muni.csv"
    write_lines(path, [*original[:4], ";".join(fields), *original[5:]])
    with pytest.raises(InputError, match="participation différente") as caught:
        opendatasoft.parse_municipales(path, "muni2020_t2")
    assert caught.value.line == 5


# --- real data (mirror) -----------------------------------------------------------

AKTIUR_WIDE = (aktiur.parse_wide, ",")
#: case → (file under elections/, (parser, CSV separator))
REAL_CASES: dict[str, tuple[str, tuple[Parser, str]]] = {
    "pres2017_t1": ("pres2017_t1/2017-presidentielle-1_par_commune_large.csv.gz", AKTIUR_WIDE),
    "pres2017_t1_bureau": ("pres2017_t1/2017-presidentielle-1_par_bureau_large.csv.gz", AKTIUR_WIDE),
    "pres2017_t2": ("pres2017_t2/2017-presidentielle-2_par_commune_large.csv.gz", AKTIUR_WIDE),
    "pres2017_t2_bureau": ("pres2017_t2/2017-presidentielle-2_par_bureau_large.csv.gz", AKTIUR_WIDE),
    "leg2017_t1": ("leg2017_t1/2017-legislatives-1_par_commune_long.csv.gz", (aktiur.parse_long, ",")),
    "leg2017_t1_large": ("leg2017_t1/2017-legislatives-1_par_commune_large.csv.gz", AKTIUR_WIDE),
    "leg2017_t2": ("leg2017_t2/2017-legislatives-2_par_commune_large.csv.gz", AKTIUR_WIDE),
    "euro2014": ("euro2014/2014-europeennes_par_commune_large.csv.gz", AKTIUR_WIDE),
    "euro2019": ("euro2019/2019-europeennes_par_commune_large.csv.gz", AKTIUR_WIDE),
    "pres2022_t1": ("pres2022_t1/2022-pres-t1-bureau-rhone-69.csv", (ministere.parse_blocks, ";")),
    "pres2022_t2": ("pres2022_t2/2022-pres-t2-commune-rhone-69.csv", (ministere.parse_blocks, ";")),
    "pres2012_t1": (
        "pres2012_t1/2012-pres-t1-commune-rhone-69-bronze.csv",
        (ministere.parse_blocks, ";"),
    ),
    "pres2012_t2": (
        "pres2012_t2/2012-pres-t2-commune-rhone-69-bronze.csv",
        (ministere.parse_blocks, ";"),
    ),
    "muni2020_t2": (
        "muni2020_t2/elections-municipales-2020-resultats-du-2eme-tour_herault-34.csv",
        (opendatasoft.parse_municipales, ";"),
    ),
}


def mirror_file(relative: str) -> Path:
    """A mirror file; fails under CI (CI=true) when it is missing, skips otherwise."""
    root = mirror_dir()
    path = root / "elections" / relative if root is not None else None
    if path is None or not path.is_file():
        message = f"miroir des données absent : elections/{relative} (ELECTIO_MIRROR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def parsed() -> Callable[[str], ParsedBallot]:
    """Parse each real file once per module."""
    cache: dict[str, ParsedBallot] = {}

    def get(case: str) -> ParsedBallot:
        relative, (parser, _) = REAL_CASES[case]
        if case not in cache:
            scrutin_id = case.removesuffix("_bureau").removesuffix("_large")
            cache[case] = parser(mirror_file(relative), scrutin_id)
        return cache[case]

    return get


def raw_query(case: str, sql: str) -> pd.DataFrame:
    """Run ``sql`` with duckdb on the raw file, exposed as view ``raw`` (all text columns)."""
    relative, (_, sep) = REAL_CASES[case]
    path = mirror_file(relative)
    with duckdb.connect() as con:
        con.execute(
            f"CREATE VIEW raw AS SELECT * FROM read_csv('{path}', header = true, "
            f"delim = '{sep}', quote = '\"', all_varchar = true)"
        )
        return con.execute(sql).df()


def q(column: str) -> str:
    """SQL-quoted identifier."""
    return '"' + column.replace('"', '""') + '"'


def raw_sums(case: str, inscrits: str, exprimes: str, source: str = "raw") -> tuple[int, int]:
    """Sums of two count columns of ``source`` (the raw view or a query on it)."""
    row = raw_query(
        case,
        f"SELECT sum(CAST({q(inscrits)} AS BIGINT)), sum(CAST({q(exprimes)} AS BIGINT)) "
        f"FROM {source}",
    ).iloc[0]
    return int(row.iloc[0]), int(row.iloc[1])


def raw_votes(case: str, label: str, votes: str, source: str = "raw") -> dict[str, int]:
    """Votes per candidate label (an SQL expression) straight from the raw file."""
    frame = raw_query(
        case, f"SELECT {label} AS c, sum(CAST({votes} AS BIGINT)) AS v FROM {source} GROUP BY 1"
    )
    return {str(c): int(v) for c, v in zip(frame["c"], frame["v"], strict=True)}


def raw_totals(case: str) -> tuple[tuple[int, int], dict[str, int]]:
    """(inscrits, exprimés) and votes per candidate, computed on the raw file."""
    columns = raw_query(case, "SELECT * FROM raw LIMIT 0").columns.tolist()
    if "numero_panneau" in columns:  # long: one participation per circonscription part
        parts = "(SELECT DISTINCT departement, commune, inscrits, votants, blancs, exprimes FROM raw)"
        return raw_sums(case, "inscrits", "exprimes", parts), raw_votes(
            case, "nom || ' ' || prenom", "voix"
        )
    if "Voix_1" in columns:  # Ministry blocks
        blocks = " UNION ALL ".join(
            f"SELECT {q(column.replace('Voix_', 'Nom_'))} AS nom, {q(column)} AS voix FROM raw"
            for column in columns
            if column.startswith("Voix_")
        )
        return raw_sums(case, "Inscrits", "Exprimés"), raw_votes(case, "nom", "voix", f"({blocks})")
    if "Liste" in columns:  # Opendatasoft: bureau counts repeated on each list row
        bureau = f"{q('Code Officiel Commune')}, {q('Code B.Vote')}"
        bureaux = f"(SELECT DISTINCT {bureau}, Inscrits, {q('Exprimés')} FROM raw)"
        label = f"CASE WHEN coalesce(trim(Liste), '') = '' THEN {q('Nom Prénom')} ELSE Liste END"
        return raw_sums(case, "Inscrits", "Exprimés", bureaux), raw_votes(case, label, "Voix")
    candidates = columns[columns.index("exprimes") + 1 :]
    sums = ", ".join(f"sum(CAST({q(c)} AS BIGINT)) AS {q(c)}" for c in candidates)
    row = raw_query(case, f"SELECT {sums} FROM raw").iloc[0]
    return raw_sums(case, "inscrits", "exprimes"), {c: int(row[c]) for c in candidates}


@pytest.mark.realdata
@pytest.mark.parametrize("case", sorted(REAL_CASES))
def test_real_totals_match_raw_file(parsed: Callable[[str], ParsedBallot], case: str) -> None:
    ballot = parsed(case)
    (inscrits, exprimes), per_candidate = raw_totals(case)
    assert int(ballot.participation["inscrits"].sum()) == inscrits
    assert int(ballot.participation["exprimes"].sum()) == exprimes
    got = ballot.voix.groupby("candidat")["voix"].sum().astype(int).to_dict()
    assert got == per_candidate
    assert (ballot.participation["code_commune_source"].str.len() == 5).all()
    assert ballot.participation["code_commune_source"].is_unique
    assert ballot.participation["ligne_source"].min() == 2
    if case != "muni2020_t2":  # small communes vote for several names each
        summed = ballot.voix.groupby("code_commune_source")["voix"].sum()
        exprimes_by_commune = ballot.participation.set_index("code_commune_source")["exprimes"]
        assert summed.reindex(exprimes_by_commune.index).eq(exprimes_by_commune).all()


@pytest.mark.realdata
def test_real_pres2017_t1_national_inscrits(parsed: Callable[[str], ParsedBallot]) -> None:
    communes, bureaux = parsed("pres2017_t1"), parsed("pres2017_t1_bureau")
    assert int(communes.participation["inscrits"].sum()) == 47_582_183
    assert len(communes.participation) == 35_719
    pd.testing.assert_frame_equal(
        communes.participation.drop(columns="ligne_source"),
        bureaux.participation.drop(columns="ligne_source"),
    )
    codes = set(communes.participation["code_commune_source"])
    overseas = {"97101", "97209", "97302", "97411", "97501", "97601", "97701", "97801", "98711"}
    assert overseas | {"98801", "98601"} <= codes
    assert {"69123", "75056", "13055", "ZZ001"} <= codes
    assert not any(code.startswith("Z") and not code.startswith("ZZ") for code in codes)


@pytest.mark.realdata
def test_real_pres2012_t1_rhone(parsed: Callable[[str], ParsedBallot]) -> None:
    ballot = parsed("pres2012_t1")
    assert len(ballot.participation) == 293
    assert int(ballot.participation["inscrits"].sum()) == 1_100_632
    assert int(ballot.participation["exprimes"].sum()) == 883_651
    assert ballot.participation["blancs"].isna().all() and ballot.participation["nuls"].isna().all()
    hollande = ballot.voix[ballot.voix["candidat"] == "HOLLANDE"]
    assert int(hollande["voix"].sum()) == 237_779
    assert set(hollande["prenom"]) == {"François"}


@pytest.mark.realdata
def test_real_pres2022_t1_rhone_bureaux_to_communes(parsed: Callable[[str], ParsedBallot]) -> None:
    ballot = parsed("pres2022_t1")
    assert raw_query("pres2022_t1", "SELECT count(*) AS n FROM raw")["n"].iloc[0] == 1317
    assert len(ballot.participation) == 267
    assert len(ballot.voix) == 267 * 12
    assert ballot.participation["code_commune_source"].str.startswith("69").all()


@pytest.mark.realdata
def test_real_leg2017_t1_long_matches_large(parsed: Callable[[str], ParsedBallot]) -> None:
    long, large = parsed("leg2017_t1"), parsed("leg2017_t1_large")
    columns = ["code_commune_source", "inscrits", "votants", "blancs", "nuls", "exprimes"]
    pd.testing.assert_frame_equal(long.participation[columns], large.participation[columns])
    lyon = long.participation.set_index("code_commune_source").loc["69123"]
    parts = raw_query(
        "leg2017_t1",
        "SELECT DISTINCT inscrits FROM raw WHERE departement = '69' AND commune = '123'",
    )
    assert len(parts) == 4
    assert int(lyon["inscrits"]) == parts["inscrits"].astype(int).sum() == 296_676
    by_nuance = long.voix.groupby(["code_commune_source", "nuance"])["voix"].sum()
    wide = large.voix.groupby(["code_commune_source", "nuance"])["voix"].sum()
    pd.testing.assert_series_equal(by_nuance[by_nuance > 0], wide[wide > 0])
