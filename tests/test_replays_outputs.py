"""Issue 14, items 4 and 6 in the outputs: the replays' section of the report, its slide, the dashboard's replays table,
and the provenance (as-of date, polls, each target's date, candidate hypothesis) of every forecast output.

A tiny hand-made warehouse with the stored tables' columns: the outputs must read every number from it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pptx import Presentation

from electio.dashboard import replays as dashboard_replays
from electio.forecasts import provenance
from electio.models.replay_summary import headline, replay_summary
from electio.outputs import report_replays
from electio.outputs.slides_replays import slide_replays

MODELS = {"retenu_rejoue": 2.71, "total_precedent_rejoue": 8.21, "persistance_rejoue": 7.94, "plancher_bruit_rejoue": 1.00}


def replay_metrics(ballot: str, as_of: str, horizon: int, shift: float) -> list[tuple]:
    rows = [(m, ballot, "69", horizon, False, "moyenne", "mae", v + shift, None, None, 267, "toutes", as_of) for m, v in MODELS.items()]
    rows += [("retenu_rejoue", ballot, "69", horizon, False, "moyenne", metric, value, None, None, 267, "toutes", as_of)
             for metric, value in (("acc_tete", 0.936), ("couv80", 0.966), ("couv95", 0.993), ("brier_blocs", 0.023))]
    rows.append(("retenu_rejoue", ballot, "69", horizon, False, "moyenne", "mae_taille_moins_200", 9.9, None, None, 50, "moins_200", as_of))
    return rows


def group_metrics(ballot: str, as_of: str) -> list[tuple]:
    """The retained model's scores on Lyon's 9 arrondissements and on the 265 other communes apart (issue 18)."""
    values = {"arrondissements": (3.27, 0.111, 0.921), "autres_communes": (2.45, 0.962, 0.959)}
    return [("retenu_rejoue", ballot, "69", 0, False, "moyenne", f"{metric}_{group}", value, None, None, 9 if group == "arrondissements" else 265,
             group, as_of) for group, scores in values.items() for metric, value in zip(("mae", "acc_tete", "couv80"), scores, strict=True)]


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "electio.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE dim_scrutin (scrutin_id VARCHAR, libelle VARCHAR, date_scrutin DATE)")
        con.execute("INSERT INTO dim_scrutin VALUES ('euro2024_t1', 'Européennes 2024 (1er tour)', '2024-06-09'), "
                    "('pres2022_t1', 'Présidentielle 2022 (1er tour)', '2022-04-10')")
        con.execute("""CREATE TABLE model_evaluation (modele VARCHAR, scrutin_test VARCHAR, territoire VARCHAR, horizon_ans INTEGER,
                       conditionnel BOOLEAN, bloc VARCHAR, metrique VARCHAR, valeur DOUBLE, ic_basse DOUBLE, ic_haute DOUBLE,
                       n_communes INTEGER, classe_taille VARCHAR, date_reference DATE)""")
        rows = [*replay_metrics("euro2024_t1", "2024-05-15", 0, 0.0), *replay_metrics("euro2024_t1", "2023-06-09", 1, 1.5),
                *replay_metrics("pres2022_t1", "2022-03-10", 0, 2.0), *group_metrics("euro2024_t1", "2024-05-15"),
                ("retenu", "pres2022_t1", "69", 5, True, "moyenne", "mae", 2.04, None, None, 267, "toutes", None)]  # a backtest: not a replay
        con.executemany("INSERT INTO model_evaluation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("""CREATE TABLE dim_scrutin_cible (scrutin_cible VARCHAR, type_scrutin VARCHAR, tour INTEGER, date_scrutin DATE,
                       statut VARCHAR, date_reference DATE, horizon_ans INTEGER, libelle VARCHAR, prevu BOOLEAN, methode_totaux VARCHAR,
                       nb_sondages INTEGER, sondage_debut DATE, sondage_fin DATE, instituts VARCHAR, note_totaux VARCHAR)""")
        con.execute("""INSERT INTO dim_scrutin_cible VALUES
            ('pres2027_t1', 'presidentielle', 1, '2027-04-11', 'prevu', '2026-12-02', 1, 'Présidentielle 2027, 1er tour (11 avril 2027, date prévue)', true,
             'sondages', 12, '2026-10-01', '2026-11-25', 'Elabe, Ifop', 'Hypothèse de candidatures retenue : Attal, Bardella. 2 autre(s) hypothèse(s) testée(s) dans les 60 jours.'),
            ('euro2029_t1', 'europeennes', 1, '2029-06-10', 'prevu', '2026-12-02', 3, 'Européennes 2029, 1er tour (10 juin 2029, date prévue)', true,
             'dernier_scrutin_comparable', 0, NULL, NULL, NULL, 'Sans sondage.'),
            ('pres2027_t2', 'presidentielle', 2, '2027-04-25', 'prevu', '2026-12-02', 1, 'Présidentielle 2027, 2d tour', false,
             NULL, NULL, NULL, NULL, NULL, NULL)""")
        con.execute("""CREATE TABLE dim_hypothese (hypothese_id VARCHAR, libelle VARCHAR, sondages INTEGER, sondages_recents INTEGER,
                       dernier_sondage DATE, par_defaut BOOLEAN, retenue BOOLEAN)""")
        con.execute("""INSERT INTO dim_hypothese VALUES ('a', 'Attal, Bardella', 8, 5, '2026-11-25', true, true),
                       ('b', 'Philippe, Le Pen', 3, 1, '2026-11-02', false, false), ('c', 'Retailleau', 1, 1, '2026-10-20', false, false)""")
    return path


def test_report_section_reads_the_replays(warehouse: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        section = report_replays.replay_section(con)
    assert section["disponible"] and section["n_scrutins"] == 2
    lines = {(r["scrutin_test"], r["date"]): r for r in section["lignes"]}
    assert set(lines) == {("euro2024_t1", "15/05/2024"), ("euro2024_t1", "09/06/2023"), ("pres2022_t1", "10/03/2022")}  # no backtest row
    one_month = lines[("euro2024_t1", "15/05/2024")]
    assert one_month["avance"] == "25 jours" and lines[("euro2024_t1", "09/06/2023")]["avance"] == "1 an"
    assert one_month["mae_retenu"] == pytest.approx(2.71) and one_month["mae_persistance"] == pytest.approx(7.94)
    assert one_month["mae_total_precedent"] == pytest.approx(8.21) and one_month["mae_plancher"] == pytest.approx(1.0)
    assert one_month["acc_tete"] == pytest.approx(0.936) and one_month["couv80"] == pytest.approx(0.966)
    assert section["titre"] == "Rejouée un mois avant le vote, la prévision se trompe de 2,7 à 4,7 points par bloc selon le scrutin"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = report_replays.replay_rows(con)
    assert headline(replay_summary(rows[rows["scrutin_test"] == "euro2024_t1"])) == \
        "Rejouée 25 jours avant le vote, la prévision « Européennes 2024 » se trompe de 2,7 points par bloc"
    goals = {(g["scrutin_test"], g["objectif"]): g for g in section["objectifs"]}
    assert not goals[("euro2024_t1", "MAE moyenne par bloc ≤ 2,2 points")]["atteint"]  # 2.71 > 2.2
    assert not goals[("euro2024_t1", "bloc en tête juste dans ≥ 95 % des communes")]["atteint"]  # 93.6 %
    assert not goals[("pres2022_t1", "MAE moyenne par bloc ≤ 3,0 points")]["atteint"]  # 4.71
    assert goals[("euro2024_t1", "MAE moyenne par bloc ≤ 2,2 points")]["plancher_bruit"] == pytest.approx(1.0)
    figure = report_replays.replay_figure(section["tableau"], tmp_path / "rejeux.png", "source")
    assert figure is not None and figure.stat().st_size > 10_000
    [split] = section["arrondissements"]  # only the one-month euro2024 replay has them
    assert split["scrutin_test"] == "euro2024_t1" and split["mae_arrondissements"] == pytest.approx(3.27)
    assert split["acc_tete_arrondissements"] == pytest.approx(0.111) and split["mae_autres_communes"] == pytest.approx(2.45)
    assert one_month["mae_retenu"] == pytest.approx(2.71)  # the groups do not replace the whole-territory score


def test_report_renders_the_replays_and_provenance(warehouse: Path) -> None:
    from electio.outputs.report import environment

    with duckdb.connect(str(warehouse), read_only=True) as con:
        ctx = {"replays": report_replays.replay_section(con), "provenance": report_replays.provenance_section(con), "figures": {}}
    env = environment()
    page = env.from_string('{% macro fig(f, cls="") %}{% endmacro %}{% include "_rejeux.html.j2" %}{% include "_provenance.html.j2" %}').render(**ctx)
    assert "Erreur d'une prévision rejouée" in page and "rejouée" in page and "non atteint" in page and "2,71\u202fpt" in page
    assert "02/12/2026" in page and "12 scénarios de sondages nationaux" in page and "01/10/2026 au 25/11/2026" in page and "Elabe, Ifop" in page
    assert "11/04/2027" in page and "Hypothèse utilisée : « Attal, Bardella »" in page and "2 autres listes sondées, dont 2 dans les 60 derniers jours (la plus sondée récemment : « Philippe, Le Pen »)" in page
    assert "2d tour" not in page  # a ballot not forecast is not presented as a target
    assert "Arrondissements municipaux à part" in page and "3,3\u202fpt" in page and "11\u202f%" in page and "2,5\u202fpt" in page


def test_provenance_sentences() -> None:
    row = pd.Series({"libelle": "Européennes 2029, 1er tour (10 juin 2029, date prévue)", "date_scrutin": "2029-06-10", "statut": "prevu",
                     "methode_totaux": "dernier_scrutin_comparable", "nb_sondages": 0})
    assert provenance.target_sentence(row).startswith("Européennes 2029, 1er tour — scrutin le 10/06/2029 (date prévue par la loi) ; aucun sondage")
    assert provenance.hypothesis_used("Sondages. Hypothèse de candidatures retenue : Attal, Bardella. Autre.") == "Attal, Bardella"
    assert provenance.other_hypotheses("2 autre(s) hypothèse(s) testée(s)") == 2 and provenance.other_hypotheses(None) == 0
    assert provenance.hypothesis_sentence(None) == ""


def test_csv_provenance_columns(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        targets = con.sql("SELECT * FROM dim_scrutin_cible").df()
    columns = provenance.csv_provenance(targets).set_index("scrutin_cible")
    assert list(columns.columns) == list(provenance.CSV_COLUMNS)
    assert str(columns["nb_sondages"].dtype) == "Int64" and columns.loc["pres2027_t1", "nb_sondages"] == 12 and columns.loc["pres2027_t1", "hypothese_candidats"] == "Attal, Bardella"
    assert columns.loc["pres2027_t1", "autres_hypotheses"] == 2 and pd.isna(columns.loc["euro2029_t1", "hypothese_candidats"])


def test_replay_slide_exists(warehouse: Path, tmp_path: Path) -> None:
    from electio.outputs.slides import HEIGHT, SLIDES, WIDTH

    assert slide_replays in SLIDES
    from electio.outputs.report import ReportFigure

    with duckdb.connect(str(warehouse), read_only=True) as con:
        ctx = {"replays": report_replays.replay_section(con), "exploration": [], "forecast": {}}
    chart = report_replays.replay_figure(ctx["replays"]["tableau"], tmp_path / "rejeux.png", "source")
    ctx["figures"] = {"rejeux": ReportFigure("rejeux", chart, "titre")}
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    slide_replays(deck, ctx, 1)
    texts = [shape.text_frame.text for shape in deck.slides[0].shapes if shape.has_text_frame]
    assert texts[0] == ctx["replays"]["titre"]
    cells = [cell.text for shape in deck.slides[0].shapes if shape.has_table for row in shape.table.rows for cell in row.cells]
    assert "2,7\u202fpt" in cells and "7,9\u202fpt" in cells and "15/05/2024" in cells
    assert any("non atteint — Européennes 2024, prévision du 15/05/2024" in t for t in texts)
    assert any(shape.shape_type == 13 for shape in deck.slides[0].shapes)  # the chart (a picture)


def test_dashboard_lists_the_replays(warehouse: Path) -> None:
    section = dashboard_replays.replays_section(warehouse)
    table = next(c for c in walk(section) if getattr(c, "id", None) == "rejeux-tableau")
    rows = [[str(td.children) for td in tr.children] for tr in table.children[2].children]
    assert len(rows) == 3 and ["Européennes 2024", "15/05/2024", "25 jours", "2,7", "7,9", "8,2", "1,0", "94\u202f%", "97\u202f%"] in rows
    split = next(c for c in walk(section) if getattr(c, "id", None) == "rejeux-arrondissements")
    assert [[str(td.children) for td in tr.children] for tr in split.children[2].children] == \
        [["Européennes 2024", "3,3", "11\u202f%", "92\u202f%", "2,5", "96\u202f%"]]
    text = " ".join(str(c.children) for c in walk(section) if isinstance(getattr(c, "children", None), str))
    assert "Erreur d'une prévision rejouée" in text and "non atteint" in text
    goals = next(c for c in walk(section) if getattr(c, "id", None) == "rejeux-objectifs")
    assert "Européennes 2024, prévision du 15/05/2024 : MAE moyenne par bloc ≤ 2,2 points (mesuré 2,71 points)" in str(goals)
    sources = " ".join(str(c.children) for c in walk(dashboard_replays.provenance_section(warehouse)) if isinstance(getattr(c, "children", None), str))
    assert "02/12/2026" in sources and "12 scénarios de sondages" in sources and "Attal, Bardella" in sources


def walk(component: object) -> list:
    """Every Dash component under ``component`` (itself included)."""
    children = getattr(component, "children", None)
    kids = children if isinstance(children, list) else [children] if children is not None and not isinstance(children, str) else []
    return [component, *(c for kid in kids for c in walk(kid))]
