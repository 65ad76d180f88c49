"""The ballots referential read for a territory (``referentials/scrutins.csv``): every ballot whose candidates the
warehouse holds is in ``dim_scrutin``, by its commune-results row where the territory has one, else by its totals row."""

from __future__ import annotations

from electio.pipeline.etl import TOTALS, Territory, load_scrutins, load_total_sources


def test_a_ballot_with_commune_results_elsewhere_keeps_its_totals_row() -> None:
    """pres2022 T1 has commune results for the Rhône only: in the Hérault it is known by its département totals."""
    herault = load_scrutins(covers=Territory("34").covers).set_index("scrutin_id")
    assert herault.loc["pres2022_t1", "couverture"] == TOTALS
    assert set(load_total_sources()["scrutin_id"]) <= set(herault.index)  # every totals source has its ballot
    rhone = load_scrutins(covers=Territory("69").covers).set_index("scrutin_id")
    assert rhone.loc["pres2022_t1", "couverture"] == "69" and rhone.index.is_unique and herault.index.is_unique
    assert "muni2020_t2" in herault.index and "muni2020_t2" not in rhone.index  # the Hérault's own file


def test_without_a_territory_every_commune_row_is_kept() -> None:
    rows = load_scrutins()
    assert rows["scrutin_id"].is_unique and (rows.set_index("scrutin_id").loc["pres2022_t1", "couverture"] == "69")
