"""Exploratory analysis: statistics against scipy/numpy, polygons, indicator availability, storage, figures."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import geopandas as gpd
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from shapely.geometry import box
from test_warehouse_store import tiny_tables
from typer.testing import CliRunner

from electio.analysis import correlations as corr
from electio.analysis import explore
from electio.analysis.figures import fr_number
from electio.analysis.geometry import commune_shapes, coverage, dissolve_to_reference
from electio.cli import app
from electio.warehouse.store import replace_stage_tables, write_tables

# ─── Statistics against direct computations ─────────────────────────────────────────────


@pytest.fixture()
def sample() -> dict[str, np.ndarray]:
    """A small case with ties, two controls, positive weights and two targets."""
    rng = np.random.default_rng(42)
    n = 40
    z = rng.normal(size=(n, 2))
    x = np.round(z @ [1.0, 0.5] + rng.normal(size=n), 1)  # rounded: ties
    y = np.stack([np.round(0.4 * x + rng.normal(size=n), 1), -z[:, 0] + rng.normal(size=n)])
    return {"x": x, "y": y, "z": z, "w": rng.uniform(1, 20, n)}


def weighted_r(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> float:
    """Reference weighted Pearson from numpy's weighted covariance."""
    c = np.cov(a, b, aweights=w)
    return c[0, 1] / np.sqrt(c[0, 0] * c[1, 1])


def lstsq_residuals(v: np.ndarray, z: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Reference residuals of a (weighted) least-squares fit on [1, z]."""
    design = np.column_stack([np.ones(len(v)), z])
    root = np.sqrt(np.ones(len(v)) if w is None else w)
    beta = np.linalg.lstsq(design * root[:, None], v * root, rcond=None)[0]
    return v - design @ beta


def test_pearson_and_spearman_match_scipy(sample: dict) -> None:
    x, y = sample["x"], sample["y"]
    assert corr.correlate(x, y, "pearson") == pytest.approx([stats.pearsonr(x, t)[0] for t in y], abs=1e-12)
    assert corr.correlate(x, y, "spearman") == pytest.approx([stats.spearmanr(x, t)[0] for t in y], abs=1e-12)
    assert corr.p_value(corr.correlate(x, y[0]), len(x)) == pytest.approx(stats.pearsonr(x, y[0])[1], rel=1e-9)


def test_weighted_correlation_matches_numpy(sample: dict) -> None:
    x, y, w = sample["x"], sample["y"][0], sample["w"]
    assert corr.weighted_pearson(x, y, w) == pytest.approx(weighted_r(x, y, w), abs=1e-12)
    assert corr.correlate(x, y, "spearman", w) == pytest.approx(weighted_r(stats.rankdata(x), stats.rankdata(y), w), abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_partial_correlation_matches_residual_method(sample: dict, weighted: bool) -> None:
    x, y, z = sample["x"], sample["y"][1], sample["z"]
    w = sample["w"] if weighted else None
    expected = weighted_r(lstsq_residuals(x, z, w), lstsq_residuals(y, z, w), w)
    assert corr.correlate(x, y, "partielle_pearson", w, z) == pytest.approx(expected, abs=1e-12)
    rz = np.column_stack([stats.rankdata(c) for c in z.T])
    expected_ranks = weighted_r(lstsq_residuals(stats.rankdata(x), rz, w), lstsq_residuals(stats.rankdata(y), rz, w), w)
    assert corr.correlate(x, y, "partielle_spearman", w, z) == pytest.approx(expected_ranks, abs=1e-12)


def test_partial_correlation_one_control_formula(sample: dict) -> None:
    x, y, z = sample["x"], sample["y"][0], sample["z"][:, :1]
    rxy, rxz, ryz = (stats.pearsonr(a, b)[0] for a, b in ((x, y), (x, z[:, 0]), (y, z[:, 0])))
    expected = (rxy - rxz * ryz) / np.sqrt((1 - rxz**2) * (1 - ryz**2))
    assert corr.correlate(x, y, "partielle_pearson", controls=z) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("method", corr.METHODS)
def test_bootstrap_interval_matches_a_direct_loop(sample: dict, method: str) -> None:
    """Resamples scored by weighting the original rows equal scipy/numpy on the copied rows."""
    x, y, z, w = sample["x"], sample["y"][0], sample["z"], sample["w"]
    n_boot, seed = 200, 7
    direct = []
    for index in corr.bootstrap_indices(len(x), n_boot, seed):
        xs, ys, zs, ws = x[index], y[index], z[index], w[index]
        if method.endswith("spearman"):
            xs, ys, zs = stats.rankdata(xs), stats.rankdata(ys), np.column_stack([stats.rankdata(c) for c in zs.T])
        if method.startswith("partielle"):
            xs, ys = lstsq_residuals(xs, zs, ws), lstsq_residuals(ys, zs, ws)
        direct.append(weighted_r(xs, ys, ws))
    low, high = corr.bootstrap_ci(x, y, method, w, z, n_boot, seed)
    assert (low, high) == pytest.approx(tuple(np.percentile(direct, [2.5, 97.5])), abs=1e-12)


def test_bootstrap_is_reproducible(sample: dict) -> None:
    x, y = sample["x"], sample["y"]
    first, again = corr.bootstrap_ci(x, y, seed=3), corr.bootstrap_ci(x, y, seed=3)
    other = corr.bootstrap_ci(x, y, seed=4)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    r = corr.correlate(x, y)
    assert np.all((first[0] <= r) & (r <= first[1]))


def test_correlation_table_uses_complete_rows(sample: dict) -> None:
    x, y, z = sample["x"], sample["y"], sample["z"]
    index = [f"c{i}" for i in range(len(x))]
    features = pd.DataFrame({"a": x, "b": np.where(np.arange(len(x)) < 5, np.nan, x**2)}, index=index)
    targets = pd.DataFrame(y.T, index=index, columns=["t1", "t2"])
    table = corr.correlation_table(features, targets, controls=pd.DataFrame(z, index=index),
                                   settings=corr.BootstrapSettings(100, 1))
    assert len(table) == 2 * 2 * len(corr.METHODS)
    row = table[(table["variable"] == "b") & (table["cible"] == "t1") & (table["methode"] == "spearman")].iloc[0]
    assert row["n_communes"] == len(x) - 5
    assert row["coefficient"] == pytest.approx(stats.spearmanr(x[5:] ** 2, y[0, 5:])[0], abs=1e-12)
    assert (row["ic_bas"], row["ic_haut"]) == pytest.approx(corr.bootstrap_ci(x[5:] ** 2, y[0, 5:], "spearman", n_boot=100, seed=1))


# ─── Polygons ───────────────────────────────────────────────────────────────────────────

def test_dissolve_unions_merged_communes_and_reports_gaps() -> None:
    polygons = gpd.GeoDataFrame(
        {"code": ["01001", "01002", "01003", "99999"], "nom": list("abcd")},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(5, 5, 6, 6)], crs="EPSG:2154",
    )
    mapping = pd.DataFrame({"code_source": ["01001", "01002", "01003"], "code_reference": ["01001", "01001", "01003"]})
    shapes, unmapped = dissolve_to_reference(polygons, mapping)
    assert unmapped == ["99999"]
    assert dict(zip(shapes["code_commune"], shapes.area, strict=True)) == {"01001": 2.0, "01003": 1.0}
    found = coverage(pd.DataFrame({"code_commune": ["01001", "01003", "01004"]}), shapes, unmapped)
    assert (found.expected, found.covered, found.missing) == (3, 2, ("01004",))
    assert "01004" in found.describe() and not found.complete


# ─── Indicators: availability, choice of year, answer (tiny in-memory DuckDB) ──────────

N = 30
CODES = [f"69{i:03d}" for i in range(1, N + 1)]


def indicator_view() -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with the indicator contract: dim_indicateur and v_indicateur_commune."""
    con = duckdb.connect()
    con.execute("CREATE TABLE dim_indicateur (indicateur VARCHAR, libelle VARCHAR, theme VARCHAR, unite VARCHAR, "
                "definition VARCHAR, source VARCHAR)")
    con.execute("INSERT INTO dim_indicateur VALUES ('revenu_median', 'Niveau de vie médian', 'pauvrete_revenus', '€/an', '', ''), "
                "('taux_chomage', 'Taux de chômage', 'emploi', '%', '', ''), ('logements', 'Logements', 'logement', 'nombre', '', ''), "
                "('population', 'Population municipale', 'population', 'habitants', '', '')")
    rank = np.arange(1, N + 1, dtype=float)
    rows = [(c, "revenu_median", 2016, 15000 + 100 * r, "filo2016") for c, r in zip(CODES, rank, strict=True)]
    rows += [(c, "revenu_median", 2019, 20000 + 100 * r, "filo2019") for c, r in zip(CODES, rank, strict=True)]
    rows += [(c, "revenu_median", 2021, 1.0, "filo2021") for c in CODES[:5]]  # sparse vintage
    rows += [(c, "taux_chomage", 2020, float((r * 7) % N), "autre") for c, r in zip(CODES, rank, strict=True)]
    rows += [(c, "logements", 2018, 10 * r, "autre") for c, r in zip(CODES, rank, strict=True)]
    rows += [(c, "population", 2019, 1000 + 50 * r, "autre") for c, r in zip(CODES, rank, strict=True)]
    frame = pd.DataFrame(rows, columns=["code_commune", "indicateur", "annee", "valeur", "source"])
    frame = frame.merge(con.sql("SELECT indicateur, unite FROM dim_indicateur").df(), on="indicateur").assign(qualite="ok")
    con.register("_rows", frame)
    con.execute("CREATE TABLE fact AS SELECT * FROM _rows")
    con.execute("CREATE VIEW v_indicateur_commune AS "
                "SELECT code_commune, indicateur, annee, valeur, unite, source, qualite FROM fact")
    return con


CALENDAR = pd.DataFrame({
    "source_id": ["filo2016", "filo2019", "filo2021"], "annee": [2016, 2019, 2021],
    "date_publication": pd.to_datetime(["2019-12-31", "2022-02-01", "2022-03-01"]),
})


def test_indicator_values_are_those_published_before_the_ballot() -> None:
    indicators, _ = explore.read_indicators(indicator_view())
    dated = explore.dated(indicators, CALENDAR)
    spring_2022 = explore.pick_years(explore.available_before(dated, pd.Timestamp("2022-04-10")))
    years = spring_2022.drop_duplicates("indicateur").set_index("indicateur")[["annee", "regle"]]
    assert years.loc["revenu_median"].tolist() == [2019, "date_publication"]  # 2021 is published but too sparse
    assert years.loc["taux_chomage"].tolist() == [2020, "annee_anterieure"]  # no date: year <= 2021
    before = explore.pick_years(explore.available_before(dated, pd.Timestamp("2021-06-20")))
    assert before.set_index("indicateur").loc["revenu_median", "annee"].unique().tolist() == [2016]
    assert "taux_chomage" in set(before["indicateur"])  # 2020 <= 2021 - 1
    municipal_2020 = explore.available_before(dated, pd.Timestamp("2020-06-28"))
    assert "taux_chomage" not in set(municipal_2020["indicateur"])  # 2020 > 2020 - 1


def test_without_calendar_the_year_rule_applies() -> None:
    indicators, _ = explore.read_indicators(indicator_view())
    rows = explore.available_before(explore.dated(indicators, None), pd.Timestamp("2020-04-01"))
    assert set(rows["regle"]) == {"annee_anterieure"} and rows["annee"].max() == 2019


def synthetic_data() -> explore.Data:
    """Two blocs driven by the 2019 median income (one monotonic, one reversed), plus turnout."""
    indicators, info = explore.read_indicators(indicator_view())
    rank = np.arange(1, N + 1)
    left = 100 + 10 * rank
    results = pd.DataFrame({
        "scrutin_id": "pres2022_t1", "code_commune": CODES * 2, "bloc": ["gauche"] * N + ["droite"] * N,
        "voix": np.r_[left, 1000 - left], "exprimes": 1000,
    })
    return explore.Data(
        territoire="69", run_id="test", run_date=datetime(2026, 1, 1),
        scrutins=pd.DataFrame({"scrutin_id": ["pres2022_t1"], "libelle": ["Présidentielle 2022 - 1er tour"],
                               "date_scrutin": [pd.Timestamp("2022-04-10")], "type_scrutin": ["presidentielle"], "tour": [1]}),
        blocs=pd.DataFrame({"code_bloc": ["gauche", "droite"], "libelle": ["Gauche", "Droite"], "ordre": [1, 2],
                            "couleur": ["#CC79A7", "#56B4E9"]}),
        communes=pd.DataFrame({"code_commune": CODES, "nom_commune": CODES, "code_departement": "69", "population": 1000 + 50 * rank}),
        results=results,
        turnout=pd.DataFrame({"scrutin_id": "pres2022_t1", "code_commune": CODES, "inscrits": 1500, "votants": 1100 + (rank * 13) % 200}),
        mapping=pd.DataFrame({"code_source": CODES, "code_reference": CODES}), input_sources=[],
        indicators=indicators, indicator_info=info,
    )


def test_most_correlated_indicator_per_bloc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explore, "load_calendar", lambda *_: CALENDAR)
    data = synthetic_data()
    indicators = explore.dated(data.indicators, CALENDAR)
    area = pd.Series(np.linspace(5, 20, N), index=CODES)
    options = explore.ExploreOptions(bootstrap=corr.BootstrapSettings(100, 5))
    table = explore.ballot_correlations(data, "pres2022_t1", indicators, area, options)
    assert "logements" not in set(table["indicateur"])  # raw count: left out
    assert set(table.loc[table["indicateur"] == "population", "transformation"]) == {"log10"}
    assert not table[(table["indicateur"] == "population") & table["methode"].str.startswith("partielle")].shape[0]
    found = explore.answers(table, data).set_index("cible")
    assert found.loc["gauche", "indicateur"] in {"revenu_median", "population"}  # both rank communes identically
    assert found.loc["gauche", "coefficient"] == pytest.approx(1.0)
    assert found.loc["droite", "coefficient"] == pytest.approx(-1.0)
    assert found.loc["gauche", "annee_indicateur"] in {2019}
    assert "corrélation n'est pas une causalité" in found.loc["gauche", "avertissement"]
    assert "IC 95" in found.loc["gauche", "texte"]
    again = explore.ballot_correlations(data, "pres2022_t1", indicators, area, options)
    pd.testing.assert_frame_equal(table, again)


def test_short_publisher_and_french_numbers() -> None:
    assert explore.short_publisher("Ministère de l'Intérieur (data.gouv.fr), normalised by aktiur") == "Ministère de l'Intérieur"
    assert explore.short_publisher("IGN (Admin Express COG 2018) + INSEE COG 2018 codes") == "IGN"
    assert fr_number(-1234.567, 1) == "\u22121\u202f234,6"
    assert fr_number(-0.001, 2) == "0,00"


# ─── Storage in the warehouse ───────────────────────────────────────────────────────────

def analysis_rows(territoire: str, n: int) -> dict[str, pd.DataFrame]:
    now = pd.Timestamp("2026-01-01")
    table = pd.DataFrame({
        "territoire": territoire, "scrutin_id": "pres2017_t2", "cible": "gauche", "indicateur": [f"i{k}" for k in range(n)],
        "annee_indicateur": 2016, "transformation": "aucune", "methode": "spearman", "ponderation": "aucune",
        "coefficient": 0.5, "ic_bas": 0.4, "ic_haut": 0.6, "niveau_confiance": 0.95, "p_valeur": 0.01, "n_communes": 2,
        "n_bootstrap": 100, "graine": 1, "regle_disponibilite": "annee_anterieure", "variables_controle": None,
        "run_id": "r", "calcule_le": now,
    })
    return {"analysis_correlation": table}


def test_stage_tables_replace_rows_of_the_territory_and_roll_back(tmp_path: Path) -> None:
    target = tmp_path / "w.duckdb"
    write_tables(target, tiny_tables())
    def keys(territoire: str) -> dict[str, str]:
        return {"territoire": territoire, "ponderation": "aucune"}

    assert replace_stage_tables(target, "analysis.sql", analysis_rows("69", 3), keys("69")) == {"analysis_correlation": 3}
    replace_stage_tables(target, "analysis.sql", analysis_rows("FR", 2), keys("FR"))
    replace_stage_tables(target, "analysis.sql", analysis_rows("69", 2), keys("69"))
    count = "SELECT territoire, count(*) FROM analysis_correlation GROUP BY 1 ORDER BY 1"
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute(count).fetchall() == [("69", 2), ("FR", 2)]
    broken = analysis_rows("69", 5)
    broken["analysis_correlation"] = broken["analysis_correlation"].assign(scrutin_id="absent")  # foreign key violation
    with pytest.raises(duckdb.Error):
        replace_stage_tables(target, "analysis.sql", broken, keys("69"))
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute(count).fetchall() == [("69", 2), ("FR", 2)]


def test_analysis_ddl_is_commented_and_portable() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE dim_scrutin (scrutin_id VARCHAR PRIMARY KEY)")
    ddl = (Path(explore.__file__).parent.parent / "warehouse" / "analysis.sql").read_text(encoding="utf-8")
    con.execute(ddl)
    uncommented = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name LIKE 'analysis_%' AND comment IS NULL"
    ).fetchall()
    assert uncommented == []
    assert "DOUBLE" not in ddl.upper()


# ─── End to end on the Rhône (public mirror) ────────────────────────────────────────────

@pytest.fixture(scope="module")
def rhone_warehouse(rhone_etl: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's Rhône warehouse (``electio explore`` writes its tables into it)."""
    target = tmp_path_factory.mktemp("rhone") / "electio.duckdb"
    shutil.copy(rhone_etl, target)
    return target


@pytest.fixture(scope="module")
def explored(rhone_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One ``electio explore`` command on the Rhône warehouse, in a throw-away project home."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ELECTIO_HOME", str(home))
        result = CliRunner().invoke(app, ["explore", "--entrepot", str(rhone_warehouse), "--scrutins", "pres2017_t1,pres2022_t1",
                                          "--bootstrap", "100"])
        assert result.exit_code == 0, result.output
        yield home / "output" / "exploration", result.output



@pytest.mark.realdata
def test_explore_writes_figures_that_open(explored: tuple[Path, str]) -> None:
    folder, output = explored
    expected = ["carte_blocs_pres2017_t1", "carte_blocs_pres2022_t1", "histogrammes_blocs_pres2022_t1",
                "carte_evolution_pres2017_t1_pres2022_t1"]
    for name in expected:
        assert (folder / f"{name}.png").is_file(), name
    for png in folder.glob("*.png"):
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 500 and image.shape[1] > 500 and image.std() > 0.01, png.name
    for page in folder.glob("*.html"):
        assert "plotly-graph-div" in page.read_text(encoding="utf-8"), page.name
    assert (folder / "plotly.min.js").is_file()
    assert "Contours : 274/274 communes couvertes" in " ".join(output.split())  # 265 communes + Lyon's 9 arrondissements
    if (folder / "correlations.csv").is_file():  # indicators loaded by the ETL
        assert {"correlations_pres2022_t1.png", "nuages_pres2022_t1.png", "carte_indicateurs.html"} <= {p.name for p in folder.iterdir()}
        assert "corrélation n'est pas une causalité" in " ".join(output.split())
        assert "corrélation n'est pas une causalité" in (folder / "reponse_correlation.txt").read_text(encoding="utf-8")


@pytest.mark.realdata
def test_map_polygons_cover_every_commune(rhone_warehouse: Path) -> None:
    with duckdb.connect(str(rhone_warehouse), read_only=True) as con:
        communes = con.sql("SELECT code_commune, nom_commune, code_departement FROM dim_commune WHERE type_unite = 'commune'").df()
        mapping = con.sql("SELECT code_source, code_reference FROM map_commune_cog").df()
    shapes, found, _ = commune_shapes(communes, mapping)
    assert found.complete and found.expected == found.covered == len(communes) == 266
    assert found.unmapped_sources == () and found.extra == ()
    assert shapes.geometry.notna().all() and not shapes.geometry.is_empty.any()
    assert sorted(shapes["code_commune"]) == sorted(communes["code_commune"])
    assert 3_200 < shapes.area.sum() / 1e6 < 3_300  # Rhône + Métropole de Lyon: about 3,250 km²


@pytest.mark.realdata
def test_analysis_tables_stored_once_per_territory(explored: tuple[Path, str], rhone_warehouse: Path) -> None:
    with duckdb.connect(str(rhone_warehouse), read_only=True) as con:
        if not explore.has_relation(con, "analysis_correlation"):
            pytest.skip("indicateurs absents de l'entrepôt : pas de table d'analyse")
        table = con.sql("SELECT * FROM analysis_correlation").df()
        found = con.sql("SELECT * FROM analysis_answer").df()
    keys = ["territoire", "scrutin_id", "cible", "indicateur", "methode", "ponderation"]
    assert len(table) > 0 and not table.duplicated(keys).any()
    assert set(table["territoire"]) == {"69"} and set(table["n_bootstrap"]) == {100}
    assert (table["ic_bas"] <= table["coefficient"] + 1e-9).all() and (table["coefficient"] <= table["ic_haut"] + 1e-9).all()
    assert len(found) > 0 and found["texte"].str.contains("IC 95").all()
    rows = {"analysis_correlation": table, "analysis_answer": found}
    replace_stage_tables(rhone_warehouse, "analysis.sql", rows, {"territoire": "69", "ponderation": "aucune"})
    with duckdb.connect(str(rhone_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM analysis_correlation").fetchall()[0][0] == len(table)


@pytest.mark.realdata
def test_explore_without_indicators_still_draws_the_ballots(rhone_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "sans_indicateurs.duckdb"
    shutil.copy(rhone_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        if explore.has_relation(con, "v_indicateur_commune"):
            con.execute("DROP VIEW v_indicateur_commune")
    monkeypatch.setenv("ELECTIO_HOME", str(tmp_path))
    result = explore.run_explore(copy, explore.ExploreOptions(scrutins=("pres2022_t1",), html=False))
    assert [p.name for p in result.figures] == ["carte_blocs_pres2022_t1.png", "histogrammes_blocs_pres2022_t1.png"]
    assert result.correlations.empty and result.stored == {}
    assert any("Indicateurs absents" in note for note in result.notes)
    assert any("Carte d'évolution non produite" in note for note in result.notes)


def test_colour_scales_never_hide_the_data() -> None:
    """A bloc standing in two communes of 266: the 2–98 % percentiles would read 0–0 ; the scale takes the full range."""
    import numpy as np
    import pandas as pd

    from electio.analysis import figures

    sparse = pd.Series([0.0] * 264 + [17.65, 9.2])
    norm = figures.sequential_norm(sparse)
    assert norm.vmin == 0.0 and norm.vmax == 17.65
    spread = pd.Series(np.linspace(0, 100, 101))
    clipped = figures.sequential_norm(spread)
    assert clipped.vmax == 98.0 and figures.saturation(spread.to_numpy(), clipped) == "both"  # saturated ends are marked
    assert figures.saturation(sparse.to_numpy(), norm) == "neither"


def test_printed_heat_map_keeps_the_strongest_indicators_in_theme_order() -> None:
    matrix = pd.DataFrame({"a": [0.1, -0.8, 0.3, np.nan], "b": [0.2, 0.1, -0.5, 0.9]}, index=["x", "y", "z", "w"])
    assert explore.strongest_rows(matrix, 2) == ["y", "w"]  # |−0.8| and 0.9, the matrix's order kept
    assert explore.strongest_rows(matrix, 10) == ["x", "y", "z", "w"]


def test_commune_names_never_overlap_nor_cover_another_named_commune() -> None:
    from electio.analysis.figures import place_labels

    points = pd.DataFrame({"name": ["Lyon", "Villeurbanne", "Vénissieux", "Vaulx-en-Velin", "Bron", "Caluire-et-Cuire"],
                           "x": [0.0, 0.3, 0.1, 0.5, 0.4, 0.15], "y": [0.0, 0.1, -0.3, 0.2, -0.1, 0.25]})
    scale = 1.0  # map units per inch: the points are a few tenths of an inch apart, as in the urban core
    labels = place_labels(points, scale)
    assert [label.name for label in labels] == points["name"].tolist()
    assert labels[0].centre == labels[0].anchor  # the first (most populous) sits on its commune
    height = 6.0 * 1.4 / 72 * scale
    boxes = [(lb.centre[0] - (0.56 * 6.0 / 72 * len(lb.name) * scale + height / 2) / 2, lb.centre[1] - height / 2,
              lb.centre[0] + (0.56 * 6.0 / 72 * len(lb.name) * scale + height / 2) / 2, lb.centre[1] + height / 2) for lb in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3]
        for other in labels:
            if other.anchor != labels[i].anchor:
                assert not (a[0] <= other.anchor[0] <= a[2] and a[1] <= other.anchor[1] <= a[3])
