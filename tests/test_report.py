"""Client deliverables: synthesis report (HTML, PDF), defence slides (PPTX), executed notebooks."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import nbformat
import pytest
from pptx import Presentation
from pypdf import PdfReader
from typer.testing import CliRunner

from electio.cli import app
from electio.models.evaluate import run_evaluation
from electio.outputs import report
from electio.pipeline.etl import Territory, run_etl

SECTIONS = ("Justification du territoire", "Choix des critères", "Démarche, méthodes et flux de données", "Modèle conceptuel de données",
            "Visualisations exploratoires", "Indicateur le plus corrélé", "Apprentissage supervisé", "Modèles testés",
            "Résultats du modèle retenu", "Précision", "Prévisions à un, deux et trois ans", "Limites", "RGPD", "Recommandations")


def plain(text: str) -> str:
    """Text with the French typographic spaces and signs made plain, on one line."""
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").replace("\u2212", "-").split())


# ─── Without data ────────────────────────────────────────────────────────────────────────

def test_french_numbers() -> None:
    assert plain(report.entier(1914667)) == "1 914 667"
    assert report.dec(-0.7319) == "\u22120,73" and report.pct(0.816) == "81,6\u202f%" and report.pts(2.0626) == "2,06\u202fpt"
    assert report.dec(None) == "n.d." and report.pct(float("nan")) == "n.d."


def test_year_ranges() -> None:
    assert report.year_ranges([2018, 2014, 2015, 2016, 2021, 2019]) == "2014–2016, 2018, 2019, 2021"
    assert report.year_ranges([]) == ""


def test_security_summary_is_read_from_security_md() -> None:
    items = report.markdown_bullets(report.SECURITY_MD.read_text(encoding="utf-8"), "Résumé RGPD")
    assert len(items) >= 4 and any("<strong>" in item for item in items)
    assert report.markdown_bullets("## Autre\n- x\n", "Résumé RGPD") == []


def test_warehouse_cell_is_injected_after_parameters() -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("WAREHOUSE = None", metadata={"tags": ["parameters"]}),
                                               nbformat.v4.new_code_cell("print(WAREHOUSE)")])
    report.inject_warehouse(notebook, Path("/tmp/w.duckdb"))
    assert notebook.cells[1].metadata["tags"] == ["injected-parameters"] and "/tmp/w.duckdb" in notebook.cells[1].source


def test_notebook_sources_are_unexecuted_and_small() -> None:
    sources = sorted(report.NOTEBOOKS_DIR.glob("*.ipynb"))
    assert [p.name for p in sources] == ["01_exploration.ipynb", "02_modelisation.ipynb", "03_previsions.ipynb"]
    for path in sources:
        notebook = nbformat.read(path, as_version=4)
        assert path.stat().st_size < 20_000
        assert all(not cell.get("outputs") and cell.get("execution_count") is None for cell in notebook.cells if cell.cell_type == "code")
        assert any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells)


# ─── End to end on the Rhône (public mirror) ────────────────────────────────────────────

def rhone_warehouse(request: pytest.FixtureRequest, target: Path) -> Path:
    """The Rhône warehouse at ``target``: a copy of the session's (conftest ``rhone_etl``) when there is one, else built."""
    try:
        built = request.getfixturevalue("rhone_etl")
    except pytest.FixtureLookupError:
        return run_etl(Territory("69"), target).warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(built, target))


def path_without(tool: str, folder: Path) -> str:
    """A PATH of symbolic links to every program of the current PATH except ``tool`` (a machine without it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        for program in Path(directory).glob("*") if Path(directory).is_dir() else ():
            link = folder / program.name
            if program.name != tool and not link.exists() and os.access(program, os.X_OK):
                link.symlink_to(program)
    return str(folder)


@pytest.fixture(scope="module")
def reported(mirror: Path, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """ETL, exploration (reference ballot), fast evaluation, then ``electio report`` in a throw-away project home,
    on a PATH without Graphviz's ``dot`` (a fresh machine: Python and make only)."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ELECTIO_HOME", str(home))
        patch.setenv("PATH", path_without("dot", tmp_path_factory.mktemp("bin")))
        assert shutil.which("dot") is None
        warehouse = rhone_warehouse(request, home / "data" / "warehouse" / "electio.duckdb")
        explored = CliRunner().invoke(app, ["explore", "--scrutins", "pres2022_t1", "--bootstrap", "100", "--sans-html"])
        assert explored.exit_code == 0, explored.output
        run_evaluation(warehouse, fast=True)
        result = CliRunner().invoke(app, ["report"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        yield home / "output" / "rapport", warehouse, result.output


@pytest.mark.realdata
def test_pdf_has_the_sections(reported: tuple[Path, Path, str]) -> None:
    folder, _, output = reported
    pages = PdfReader(folder / "dossier_synthese.pdf").pages
    assert 15 <= len(pages) <= 60
    text = plain(" ".join(page.extract_text() for page in pages))
    for title in SECTIONS:
        assert title in text, title
    assert "Section manquante" in text and "electio forecast" in text  # no forecast tables in this warehouse: said, not invented
    assert f"({len(pages)} pages)" in plain(output)
    assert "Flux de données, de la source publique aux livrables" in text and "Modèle conceptuel de données." in text  # drawn without Graphviz
    raw = " ".join(page.extract_text() for page in pages)
    machine_paths = re.findall(r"(?:[A-Za-z]:\\|(?<![\w.])/(?:tmp|work|home|root|usr|var|opt|Users)/)\S*", raw)
    assert machine_paths == [], machine_paths[:5]  # every path relative to the project or output folder
    assert str(report.config.PROJECT_DIR) not in raw.replace("\n", "")


def keyed(page: str, key: str) -> str:
    """The text of the element marked ``data-key="key"`` in the HTML report."""
    found = re.search(rf'data-key="{key}">([^<]+)<', page)
    assert found, key
    return plain(found.group(1))


@pytest.mark.realdata
def test_report_numbers_are_the_warehouse_numbers(reported: tuple[Path, Path, str]) -> None:
    folder, warehouse, _ = reported
    page = (folder / "dossier_synthese.html").read_text(encoding="utf-8")
    pdf_text = plain(" ".join(p.extract_text() for p in PdfReader(folder / "dossier_synthese.pdf").pages))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        communes = con.execute("SELECT count(*) FROM dim_commune WHERE type_unite = 'commune'").fetchone()[0]
        mae = con.execute("""SELECT valeur FROM model_evaluation WHERE modele = 'retenu' AND scrutin_test = 'pres2022_t1' AND territoire = '69'
                             AND conditionnel AND bloc = 'moyenne' AND metrique = 'mae' ORDER BY horizon_ans LIMIT 1""").fetchone()[0]
        top = con.execute("""
            WITH n AS (SELECT count(*) AS n FROM dim_commune WHERE type_unite = 'commune'),
            blocs AS (SELECT c.code_bloc, count(DISTINCT r.candidat_id) AS candidats, count(DISTINCT r.code_commune) FILTER (WHERE r.voix > 0) AS communes
                      FROM fact_resultat_commune r JOIN dim_candidat c USING (candidat_id) WHERE r.scrutin_id = 'pres2022_t1' GROUP BY 1)
            SELECT coefficient FROM analysis_answer a LEFT JOIN blocs b ON b.code_bloc = a.cible
            WHERE a.scrutin_id = 'pres2022_t1' AND a.ponderation = 'aucune'
              AND (a.cible = 'participation' OR (b.candidats > 1 AND b.communes >= 0.8 * (SELECT n FROM n)))
            ORDER BY abs(coefficient) DESC LIMIT 1""").fetchone()[0]  # one-candidate and sparse blocs are kept out of the answer
        population = con.execute("SELECT SUM(population) FROM dim_commune WHERE type_unite = 'commune'").fetchone()[0]
    expected = {"communes": f"{communes}", "mae_retenu": f"{mae:.2f}".replace(".", ","), "top_coefficient": f"{top:.2f}".replace(".", ",")}
    for key, value in expected.items():
        assert keyed(page, key) == value, key
        assert value in pdf_text, key
    assert communes == 266
    assert f"{population:,}".replace(",", " ") + " habitants" in pdf_text


@pytest.mark.realdata
def test_slides_have_notes_and_stay_on_the_slide(reported: tuple[Path, Path, str]) -> None:
    folder = reported[0]
    deck = Presentation(folder / "soutenance.pptx")
    assert 14 <= len(deck.slides) <= 24  # a 30-minute defence: about one slide a minute and a half, annexes in the report
    for number, slide in enumerate(deck.slides, 1):
        assert len(slide.notes_slide.notes_text_frame.text) > 80, number
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0, (number, shape.name)
            assert shape.left + shape.width <= deck.slide_width and shape.top + shape.height <= deck.slide_height, (number, shape.name)
    pictures = sum(1 for slide in deck.slides for shape in slide.shapes if shape.shape_type == 13)
    assert pictures >= 7
    texts = " ".join(shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame)
    assert "Figure absente" not in texts and "Section manquante" in texts


def wrapped_height(paragraphs: list[tuple[str, float, bool]], width: float) -> float | None:
    """Inches that paragraphs (text, size in pt, bold) take wrapped at word boundaries in ``width`` inches, measured with
    the deck's font metrics (Liberation Sans, Arial's metrics; DejaVu Sans, wider, otherwise); None when one word is too wide."""
    from matplotlib import font_manager
    from PIL import ImageFont

    total = 0.0
    for value, size, bold in paragraphs:
        family = font_manager.findfont(font_manager.FontProperties(family=["Liberation Sans", "Arial", "DejaVu Sans"], weight="bold" if bold else "normal"))
        font = ImageFont.truetype(family, round(size * 10))
        lines, current = 1, ""
        for word in value.split():
            if font.getlength(word) / 720 > width:
                return None
            if current and font.getlength(f"{current} {word}") / 720 > width:
                lines, current = lines + 1, word
            else:
                current = f"{current} {word}".strip()
        total += lines * size * 1.2 / 72
    return total


def frame_paragraphs(frame) -> list[tuple[str, float, bool]]:
    """(text, size, bold) of each paragraph of a text frame (its first run's style)."""
    out = []
    for paragraph in frame.paragraphs:
        if paragraph.runs and paragraph.runs[0].font.size is not None:
            out.append(("".join(r.text for r in paragraph.runs), paragraph.runs[0].font.size.pt, bool(paragraph.runs[0].font.bold)))
    return out


@pytest.mark.realdata
def test_slide_texts_fit_their_boxes(reported: tuple[Path, Path, str]) -> None:
    deck = Presentation(reported[0] / "soutenance.pptx")
    emu = 914400
    for number, slide in enumerate(deck.slides, 1):
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                needed = wrapped_height(frame_paragraphs(shape.text_frame), shape.width / emu - 0.2)
                assert needed is not None and needed <= shape.height / emu, (number, shape.text_frame.text[:60])
            if shape.has_table:
                grid = shape.table
                for i, row in enumerate(grid.rows):
                    for j, cell in enumerate(row.cells):
                        needed = wrapped_height(frame_paragraphs(cell.text_frame), grid.columns[j].width / emu - 0.2)
                        assert needed is not None and needed <= row.height / emu + 0.02, (number, i, j, cell.text_frame.text[:60])
        texts = " ".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)
        assert not re.search(r"\w…|\w\.\.\.$", texts), number  # no text cut mid-word


@pytest.mark.realdata
def test_notebooks_run_top_to_bottom(reported: tuple[Path, Path, str]) -> None:
    folder, warehouse, output = reported
    executed = sorted((folder / "notebooks").glob("*.ipynb"))
    assert [p.name for p in executed] == ["01_exploration.ipynb", "02_modelisation.ipynb", "03_previsions.ipynb"]
    for path in executed:
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(cell.execution_count for cell in code), path.name
        assert not [o for cell in code for o in cell.outputs if o.output_type == "error"], path.name
        assert str(warehouse) in code[1].source  # the injected warehouse
    images = [o for path in executed for cell in nbformat.read(path, as_version=4).cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 4
    assert "erreur" not in plain(output)


class NoPango:
    """An import hook that fails as WeasyPrint does on a machine without Pango (an ``OSError`` at import)."""

    def find_spec(self, name: str, path=None, target=None):
        if name.split(".")[0] == "weasyprint":
            raise OSError("cannot load library 'libpangoft2-1.0-0': error 0x7e")
        return None


@pytest.fixture
def without_pango(monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint cannot load: its modules are forgotten and importing them raises ``OSError``."""
    import sys

    for name in [n for n in sys.modules if n.split(".")[0] == "weasyprint"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [NoPango(), *sys.meta_path])


def test_pdf_is_skipped_when_weasyprint_cannot_load(without_pango: None, tmp_path: Path) -> None:
    target = tmp_path / "rapport.pdf"
    target.write_bytes(b"old")
    assert report.write_pdf("<p>Bonjour</p>", target) is None
    assert not target.exists()  # no stale PDF beside the new HTML


@pytest.mark.realdata
def test_report_stage_finishes_without_pango(reported: tuple[Path, Path, str], without_pango: None, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``electio report`` on a machine without Pango: HTML and slides written, the PDF skipped with a French note."""
    from electio import cli

    home = tmp_path / "home"
    monkeypatch.setenv("ELECTIO_HOME", str(home))
    rhone_warehouse_copy = home / "data" / "warehouse" / "electio.duckdb"
    rhone_warehouse_copy.parent.mkdir(parents=True)
    shutil.copy(reported[1], rhone_warehouse_copy)
    result = CliRunner().invoke(app, ["report", "--sans-notebooks"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    folder = home / "output" / "rapport"
    assert (folder / "dossier_synthese.html").stat().st_size > 100_000 and (folder / "soutenance.pptx").is_file()
    assert not (folder / "dossier_synthese.pdf").exists()
    out = plain(result.output)
    assert "(HTML seul)" in out and "PDF non produit" in out and "Pango" in out
    assert cli.RUN_NOTES == [report.PDF_SKIPPED]  # repeated in the summary of « electio run »


def test_code_version_without_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh machine may have no git (code from an archive): the ETL's code version is the package version."""
    from electio import __version__
    from electio.pipeline.lineage import code_version

    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no program at all
    assert shutil.which("git") is None
    assert code_version() == __version__
