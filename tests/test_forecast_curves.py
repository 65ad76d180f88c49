"""Forecast curves: targets on the same day (européennes and législatives 2029) get distinct, labelled bars
(analysis/figures.side_by_side, forecasts/charts.py for the report, dashboard/charts.fan_chart)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from electio.analysis.figures import side_by_side
from electio.forecasts.charts import TARGET_GAP, _draw_forecast, _target_ticks


def test_close_positions_are_spread_around_their_centre() -> None:
    spread = side_by_side(pd.Series([2029.44, 2027.27, 2029.44, 2027.45, 2024.4]), 0.6)
    assert np.allclose(spread, [2029.14, 2027.06, 2029.74, 2027.66, 2024.4])  # same day: ±0.3 around the date; order kept
    dates = side_by_side(pd.to_datetime(pd.Series(["2029-06-10", "2029-06-10", "2027-04-11"])), pd.Timedelta(days=200))
    assert dates.iloc[1] - dates.iloc[0] == pd.Timedelta(days=200) and dates.iloc[2] == pd.Timestamp("2027-04-11")
    assert side_by_side(pd.Series([], dtype=float), 0.6).empty


def curve_points() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One bloc: two past ballots and four targets, two of them on 10 June 2029."""
    past = pd.DataFrame({"annee": [2022.27, 2024.44], "valeur": [0.20, 0.25], "type_scrutin": ["presidentielle", "europeennes"]})
    points = pd.DataFrame({"scrutin_cible": ["pres2027_t1", "leg2027_t1", "euro2029_t1", "leg2029_t1"],
                           "type_scrutin": ["presidentielle", "legislatives", "europeennes", "legislatives"],
                           "annee": [2027.27, 2027.45, 2029.44, 2029.44], "court": ["prés. 2027", "légis. 2027", "euro. 2029", "légis. 2029"],
                           "moyenne": [0.3, 0.2, 0.25, 0.22], "q025": [0.1] * 4, "q10": [0.15] * 4, "q25": [0.18] * 4,
                           "q75": [0.3] * 4, "q90": [0.35] * 4, "q975": [0.4] * 4})
    return past, points.assign(position=side_by_side(points["annee"], TARGET_GAP))


def test_report_curves_draw_one_labelled_bar_per_target() -> None:
    past, points = curve_points()
    ax = Figure().subplots()
    _draw_forecast(ax, points, past, "#0072B2")
    _target_ticks(ax, past, points)
    bars = [np.asarray(c.get_segments())[:, 0, 0] for c in ax.collections]  # one vlines collection per interval
    assert all(len(set(np.round(x, 6))) == 4 for x in bars)  # four distinct positions, the 2029 pair included
    assert all(isinstance(c, LineCollection) for c in ax.collections)  # bars only: no band joining two targets
    ticks = dict(zip([t.get_text() for t in ax.get_xticklabels()], ax.get_xticks(), strict=True))
    assert ticks["euro. 2029"] != ticks["légis. 2029"] and abs(ticks["légis. 2029"] - ticks["euro. 2029"]) >= TARGET_GAP - 1e-9
    assert {"prés. 2027", "légis. 2027", "2022"} <= set(ticks)
