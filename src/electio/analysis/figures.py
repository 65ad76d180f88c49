"""Figures of the exploratory analysis: matplotlib (PNG, for print) and plotly (HTML, for screens).

Every visible text is French (numbers with a decimal comma). Colour maps are colour-blind safe:
the bloc's Okabe–Ito colour for its share, viridis / cividis for other sequential values, PuOr for
swings (centred on the territory's own swing), RdBu for correlations (centred on 0). A commune
without data is hatched grey with a legend entry, never left blank.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib import colormaps, colors, image
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib import patheffects
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter, MaxNLocator
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from electio.parse.indicators_common import is_arrondissement

MISSING_COLOUR = "#d9d9d9"
DPI = 150
CORRELATION_CMAP = "RdBu_r"
SWING_CMAP = "PuOr_r"
SEQUENTIAL_CMAP = "viridis"
TURNOUT_CMAP = "cividis"
LABEL_OFFSETS = ((5, 5), (5, -11), (-45, 6))
NAMED_COMMUNES = 8  # the most populous communes named on every print map
NAME_SIZE = 6.0  # points
HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


def nice_ticks() -> MaxNLocator:
    """Ticks on round steps (1, 2, 5, 10 × a power of ten), so that rounded labels stay exact."""
    return MaxNLocator(nbins=6, steps=[1, 2, 5, 10])


# ─── Formatting ─────────────────────────────────────────────────────────────────────────

def fr_number(value: float, digits: int = 1) -> str:
    """A number the French way: narrow space between thousands, decimal comma, true minus sign."""
    if value is None or not np.isfinite(value):
        return "n.d."
    value = 0.0 if round(value, digits) == 0 else value  # no "−0,00"
    text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return text.replace("-", "\u2212")


def auto_digits(values: pd.Series) -> int:
    """Decimals that suit the typical magnitude of ``values``."""
    typical = float(np.nanmedian(np.abs(values.to_numpy(float)))) if values.notna().any() else 0.0
    return 0 if typical >= 100 else 1 if typical >= 1 else 2


def tick_digits(low: float, high: float) -> int:
    """Decimals of axis ticks over the range [low, high]."""
    span = abs(high - low)
    return 0 if span >= 5 else 1 if span >= 0.5 else 2


def fr_formatter(digits: int, unit: str = "") -> FuncFormatter:
    """Matplotlib tick formatter using :func:`fr_number` and an optional unit."""
    suffix = f"\u202f{unit}" if unit else ""
    return FuncFormatter(lambda value, _: fr_number(value, digits) + suffix)


def wrap(text: str, width_in: float, size: float = 7) -> str:
    """Wrap a caption to a figure width in inches."""
    return "\n".join(textwrap.wrap(text, width=max(40, int(width_in * 130 / size))))


# ─── Colours ────────────────────────────────────────────────────────────────────────────

def bloc_cmap(colour: str) -> colors.Colormap:
    """Sequential map from near white to the bloc's colour, then a darker shade of it."""
    darker = tuple(c * 0.55 for c in colors.to_rgb(colour))
    return colors.LinearSegmentedColormap.from_list(f"bloc_{colour}", ["#f7f7f7", colour, darker])


def sequential_norm(values: pd.Series, log: bool = False) -> colors.Normalize:
    """Colour range from the 2nd to the 98th percentile (log scale for skewed positive values); the full range when
    those percentiles would hide the data (a bloc present in a few communes: the percentiles span almost nothing).
    Values beyond the range are drawn in the end colours and the colour bar marks them (:func:`saturation`)."""
    known = values.dropna().to_numpy(float)
    if log:
        known = known[known > 0]
    low, high = (np.percentile(known, [2, 98]) if known.size else (0.0, 1.0))
    if known.size:
        scale = np.log10 if log else (lambda v: v)
        if scale(high) - scale(low) < 0.1 * (scale(known.max()) - scale(known.min())):
            low, high = float(known.min()), float(known.max())
    if high <= low:
        high = low + (abs(low) * 0.01 or 1.0)  # a constant layer (a bloc absent everywhere: 0 %) gets a readable 0–1 scale
    return colors.LogNorm(low, high) if log else colors.Normalize(low, high)


def saturation(values: np.ndarray, norm: colors.Normalize) -> str:
    """Matplotlib's ``extend`` for a colour bar: which ends have values beyond the range (drawn in the end colour)."""
    above, below = bool((values > norm.vmax).any()), bool((values < norm.vmin).any())
    return "both" if above and below else "max" if above else "min" if below else "neither"


def diverging_norm(values: pd.Series, centre: float) -> colors.Normalize:
    """Range symmetric around ``centre`` covering the 2nd–98th percentiles of ``values``."""
    low, high = np.nanpercentile(values.to_numpy(float), [2, 98])
    half = max(abs(low - centre), abs(high - centre)) or 1.0
    return colors.Normalize(centre - half, centre + half)


def plotly_scale(cmap: colors.Colormap, steps: int = 11) -> list[list]:
    """A matplotlib colour map as a plotly colour scale."""
    return [[i / (steps - 1), colors.to_hex(cmap(i / (steps - 1)))] for i in range(steps)]


# ─── Layers: one variable drawn on a map or a histogram ─────────────────────────────────

@dataclass(frozen=True)
class Layer:
    """One variable per commune (values indexed by ``code_commune``) and how to draw it."""

    key: str
    title: str
    values: pd.Series
    cmap: colors.Colormap
    norm: colors.Normalize
    unit: str = ""
    digits: int = 1
    reference: float | None = None
    reference_label: str = "Ensemble du territoire"

    @property
    def log(self) -> bool:
        return isinstance(self.norm, colors.LogNorm)

    def text(self, value: float) -> str:
        """A value with its unit, in French."""
        return fr_number(value, self.digits) + (f"\u202f{self.unit}" if self.unit else "")


def grid(count: int, max_columns: int = 4) -> tuple[int, int]:
    """Rows and columns of a small-multiples grid."""
    columns = min(count, max_columns if count > 4 else count)
    return math.ceil(count / columns), columns


def side_by_side(positions: pd.Series, gap: float | pd.Timedelta) -> pd.Series:
    """Positions moved apart so that no two are closer than ``gap`` (numbers or dates, order kept).

    Positions closer than ``gap`` to their neighbour form a cluster, spread evenly ``gap`` apart around
    the cluster's centre: two targets on the same day (européennes and législatives 2029) get two bars.
    """
    if positions.empty:
        return positions
    dates = pd.api.types.is_datetime64_any_dtype(positions)
    day, epoch = pd.Timedelta(days=1), pd.Timestamp("1970-01-01")
    values = ((positions - epoch) / day).to_numpy(float) if dates else positions.to_numpy(float)
    step = pd.Timedelta(gap) / day if dates else float(gap)
    order = np.argsort(values, kind="stable")
    out = values.copy()
    cluster = [order[0]]
    for index in [*order[1:], None]:
        if index is not None and values[index] - values[cluster[-1]] < step:
            cluster.append(index)
            continue
        centre = values[cluster].mean()
        out[cluster] = centre + (np.arange(len(cluster)) - (len(cluster) - 1) / 2) * step
        cluster = [index]
    result = pd.Series(out, index=positions.index)
    return epoch + pd.to_timedelta(result, unit="D") if dates else result


def finish_figure(fig: Figure, title: str, caption: str) -> Figure:
    fig.suptitle(title, fontsize=14, fontweight="bold")
    fig.supxlabel(wrap(caption, fig.get_figwidth()), x=0.01, ha="left", fontsize=7, color="#444444")
    return fig


def _missing_patch(count: int, label: str = "Donnée manquante") -> Patch:
    return Patch(facecolor=MISSING_COLOUR, edgecolor="#888888", hatch="////", label=f"{label} ({count})")


def rings(geometry: BaseGeometry) -> list[np.ndarray]:
    """Coordinates (x, y) of every ring of a (multi)polygon: outer rings counter-clockwise, holes clockwise."""
    polygons = [orient(p) for p in getattr(geometry, "geoms", [geometry])]
    return [np.asarray(ring.coords)[:, :2] for p in polygons for ring in (p.exterior, *p.interiors)]


def _path(geometry: BaseGeometry) -> MplPath:
    """Matplotlib path of a (multi)polygon, holes oriented so that they stay empty."""
    return MplPath.make_compound_path(*(MplPath(ring, closed=True) for ring in rings(geometry)))


def _patches(paths: list[MplPath], keep: np.ndarray, **style: object) -> PatchCollection:
    """One collection of the kept polygons (much faster than GeoDataFrame.plot, which redraws the figure)."""
    return PatchCollection([PathPatch(p) for p, k in zip(paths, keep, strict=True) if k], **style)


def _draw_map(ax: Axes, codes: pd.Series, paths: list[MplPath], layer: Layer) -> int:
    """One choropleth panel of the communes ``codes`` drawn as ``paths``; returns how many have no value."""
    values = codes.map(layer.values).to_numpy(float)
    known = np.isfinite(values)
    ax.add_collection(_patches(paths, known, facecolor=layer.cmap(layer.norm(values[known])), edgecolor="white", linewidth=0.15))
    if (~known).any():
        ax.add_collection(_patches(paths, ~known, facecolor=MISSING_COLOUR, edgecolor="#888888", hatch="////", linewidth=0.15))
        ax.legend(handles=[_missing_patch(int((~known).sum()))], loc="lower left", fontsize=7, frameon=False)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(textwrap.fill(layer.title, 40), fontsize=10)
    extend = saturation(values[known], layer.norm)
    bar = ax.figure.colorbar(ScalarMappable(layer.norm, layer.cmap), ax=ax, shrink=0.65, pad=0.01, extend=extend)
    digits = layer.digits if layer.log else tick_digits(layer.norm.vmin, layer.norm.vmax)
    ends = {"max": ((layer.norm.vmax, "≥"),), "min": ((layer.norm.vmin, "≤"),), "both": ((layer.norm.vmax, "≥"), (layer.norm.vmin, "≤"))}
    for value, sign in ends.get(extend, ()):
        bar.ax.text(0.5, 1.07 if sign == "≥" else -0.07, f"{sign} {fr_number(value, digits)}{chr(0x202f) + layer.unit if layer.unit else ''}",
                    transform=bar.ax.transAxes, ha="center", va="bottom" if sign == "≥" else "top", fontsize=6.5)
    if not layer.log:
        bar.locator = nice_ticks()
        bar.update_ticks()
    bar.ax.yaxis.set_major_formatter(fr_formatter(digits, layer.unit))
    bar.ax.yaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    bar.ax.tick_params(labelsize=7)
    if layer.reference is not None and layer.norm.vmin <= layer.reference <= layer.norm.vmax:
        bar.ax.axhline(layer.reference, color="black", linewidth=2)
        bar.ax.text(-0.3, layer.reference, "territoire", rotation=90, ha="right", va="center", fontsize=6.5, transform=bar.ax.get_yaxis_transform())
    return int((~known).sum())


@dataclass(frozen=True)
class Label:
    """A commune name placed on a map: anchor (the commune) and text centre, in map units."""

    name: str
    anchor: tuple[float, float]
    centre: tuple[float, float]


def place_labels(points: pd.DataFrame, scale: float, size: float = NAME_SIZE) -> list[Label]:
    """Greedy placement of ``points`` (name, x, y; most important first) with no two names overlapping and no name
    over another named commune: on the commune when free, else on rings around it (drawn with a leader line).
    ``scale``: map units per inch of the panel."""
    height = size * 1.4 / 72 * scale
    placed: list[tuple[float, float, float, float]] = []  # boxes: x0, y0, x1, y1
    marks = [(float(r.x), float(r.y)) for r in points.itertuples()]
    directions = [(math.cos(a), math.sin(a)) for a in np.radians([90, 270, 0, 180, 45, 135, 315, 225])]
    out = []
    for row in points.itertuples():
        width = 0.56 * size / 72 * len(str(row.name)) * scale + height / 2
        anchor = (float(row.x), float(row.y))
        candidates = [anchor] + [(anchor[0] + dx * r * scale, anchor[1] + dy * r * scale)
                                 for r in (0.22, 0.4, 0.6, 0.8) for dx, dy in directions]
        for cx, cy in candidates:
            box = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
            free = all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in placed)
            clear = all(not (box[0] <= mx <= box[2] and box[1] <= my <= box[3]) for mx, my in marks if (mx, my) != anchor)
            if free and clear:
                placed.append(box)
                out.append(Label(str(row.name), anchor, (cx, cy)))
                break
    return out


def name_communes(ax: Axes, labels: list[Label]) -> None:
    """Draw the names (white halo; leader line when moved off the commune)."""
    for label in labels:
        moved = label.centre != label.anchor
        ax.plot(*label.anchor, marker="o", markersize=1.8, color="black", zorder=4)
        ax.annotate(label.name, label.anchor, xytext=label.centre, textcoords="data", ha="center", va="center", fontsize=NAME_SIZE,
                    color="#111111", path_effects=HALO, zorder=5,
                    arrowprops={"arrowstyle": "-", "color": "#333333", "lw": 0.5, "shrinkA": 0, "shrinkB": 3} if moved else None)


def short_name(name: str) -> str:
    """Map label of a unit: « Lyon 3e Arrondissement » → « Lyon 3e »."""
    return name.removesuffix(" Arrondissement")


APPROXIMATE_NOTE = "Arrondissements municipaux : contours approchés (cellules autour de leur centre IGN), pas leurs limites légales."


def with_units_note(caption: str, shapes: gpd.GeoDataFrame) -> str:
    """The caption, plus a note when the map draws arrondissements municipaux (approximate shapes)."""
    return f"{caption} {APPROXIMATE_NOTE}" if is_arrondissement(shapes["code_commune"].astype(str)).any() else caption


def main_communes(shapes: gpd.GeoDataFrame, count: int = NAMED_COMMUNES) -> pd.DataFrame:
    """Name and a point inside each of the ``count`` most populous communes, and inside every
    arrondissement municipal (units of analysis; none without a population column)."""
    if "population" not in shapes or "nom_commune" not in shapes:
        return pd.DataFrame(columns=["name", "x", "y"])
    drawn = shapes[shapes.geometry.notna()]
    below = drawn[is_arrondissement(drawn["code_commune"].astype(str))]
    top = pd.concat([drawn.drop(below.index).nlargest(count, "population"), below])
    inside = top.geometry.representative_point()
    return pd.DataFrame({"name": top["nom_commune"].map(short_name).to_numpy(), "x": inside.x.to_numpy(), "y": inside.y.to_numpy()})


def map_figure(shapes: gpd.GeoDataFrame, layers: list[Layer], title: str, caption: str, without_shape: tuple[str, ...] = ()) -> Figure:
    """Small multiples of choropleth maps (Lambert-93 shapes), one panel per layer.

    Communes listed in ``without_shape`` cannot be drawn: a figure legend names them.
    """
    rows, columns = grid(len(layers))
    fig = Figure(figsize=(3.9 * columns, 4.4 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    drawn = shapes[shapes.geometry.notna()]
    paths = [_path(g) for g in drawn.geometry]
    xmin, ymin, xmax, ymax = drawn.total_bounds if len(drawn) else (0, 0, 1, 1)
    labels = place_labels(main_communes(drawn), max((xmax - xmin) / 2.9, (ymax - ymin) / 3.4))  # a panel's map: about 2.9 × 3.4 in
    for ax, layer in zip(axes.flat, layers, strict=False):
        _draw_map(ax, drawn["code_commune"], paths, layer)
        ax.set_anchor("N")  # every map at the top of its slot: titles aligned, clear of the figure title
        name_communes(ax, labels)
    for ax in list(axes.flat)[len(layers):]:
        ax.set_visible(False)
    if without_shape:
        label = f"Sans contour, non dessinées : {', '.join(without_shape)}"
        fig.legend(handles=[Patch(facecolor="white", edgecolor="red", label=label)], loc="outside lower right", fontsize=8)
    return finish_figure(fig, title, with_units_note(caption, drawn))


def histogram_figure(layers: list[Layer], title: str, caption: str) -> Figure:
    """Small multiples of histograms of commune values, with the median and the territory value."""
    rows, columns = grid(len(layers))
    fig = Figure(figsize=(3.9 * columns, 2.9 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, layer in zip(axes.flat, layers, strict=False):
        _draw_histogram(ax, layer)
    for ax in list(axes.flat)[len(layers):]:
        ax.set_visible(False)
    return finish_figure(fig, title, caption)


def _draw_histogram(ax: Axes, layer: Layer) -> None:
    values = layer.values.dropna().to_numpy(float)
    if layer.log:
        values = values[values > 0]
        bins = np.logspace(np.log10(values.min()), np.log10(values.max()), 30) if values.size else 10
        ax.set_xscale("log")
    else:
        bins = 30
    ax.hist(values, bins=bins, color=layer.cmap(0.75), edgecolor="white", linewidth=0.4)
    median = float(np.median(values)) if values.size else np.nan
    ax.axvline(median, color="#222222", linestyle=":", linewidth=1.2, label=f"Médiane : {layer.text(median)}")
    if layer.reference is not None:
        ax.axvline(layer.reference, color="#222222", linestyle="--", linewidth=1.2,
                   label=f"{layer.reference_label} : {layer.text(layer.reference)}")
    digits = layer.digits if layer.log or not values.size else tick_digits(values.min(), values.max())
    if not layer.log:
        ax.xaxis.set_major_locator(nice_ticks())
    ax.xaxis.set_major_formatter(fr_formatter(digits, layer.unit))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.tick_params(labelsize=7)
    ax.set_title(textwrap.fill(layer.title, 40), fontsize=10)
    ax.set_ylabel("Nombre de communes", fontsize=8)
    ax.legend(fontsize=7, framealpha=0.85, edgecolor="none")
    missing = int(layer.values.isna().sum())
    if missing:
        ax.text(0.99, 0.6, f"{missing} commune(s) sans valeur", transform=ax.transAxes, ha="right", fontsize=7, color="#666666")


# ─── Correlation heat map ───────────────────────────────────────────────────────────────

def heatmap_figure(matrix: pd.DataFrame, significant: pd.DataFrame, title: str, caption: str) -> Figure:
    """Indicators (rows) × targets (columns) coefficients; bold where the CI excludes 0."""
    height = 0.3 * len(matrix) + 2.6
    width = max(9.0, 0.11 * max(len(str(i)) for i in matrix.index) + 1.1 * len(matrix.columns) + 1.5)
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix.to_numpy(float), cmap=CORRELATION_CMAP, vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=30, ha="right", fontsize=9)
    ax.set_yticks(range(len(matrix.index)), matrix.index, fontsize=8)
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", labelrotation=30)
    for (i, j), value in np.ndenumerate(matrix.to_numpy(float)):
        if np.isfinite(value):
            strong = bool(significant.iat[i, j])
            ax.text(j, i, fr_number(value, 2), ha="center", va="center", fontsize=7,
                    fontweight="bold" if strong else "normal",
                    color=("white" if abs(value) > 0.55 else "black") if strong else "#666666")
    bar = fig.colorbar(image, ax=ax, shrink=0.5, pad=0.01, ticks=[-1, -0.5, 0, 0.5, 1])
    bar.ax.yaxis.set_major_formatter(fr_formatter(1))
    bar.set_label("Coefficient de corrélation", fontsize=8)
    return finish_figure(fig, title, caption)


# ─── Scatter plots ──────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class ScatterPair:
    """An indicator against an electoral target, commune by commune (aligned series)."""

    x: pd.Series
    y: pd.Series
    names: pd.Series
    sizes: pd.Series
    x_label: str
    y_label: str
    title: str
    colour: str
    note: str
    log_x: bool = False
    weights: pd.Series | None = None


def trend_line(pair: ScatterPair) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares line (weighted if the pair has weights; on log10 x when ``log_x``): x and y of its ends."""
    x = np.log10(pair.x.to_numpy(float)) if pair.log_x else pair.x.to_numpy(float)
    w = None if pair.weights is None else np.sqrt(pair.weights.to_numpy(float))
    slope, intercept = np.polyfit(x, pair.y.to_numpy(float), 1, w=w)
    ends = np.array([x.min(), x.max()])
    return (10**ends if pair.log_x else ends), slope * ends + intercept


def scatter_figure(pairs: list[ScatterPair], title: str, caption: str, labelled: int = 3) -> Figure:
    """Small multiples of scatter plots with trend lines; the ``labelled`` largest communes are named."""
    rows, columns = grid(len(pairs), 3)
    fig = Figure(figsize=(4.6 * columns, 3.9 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, pair in zip(axes.flat, pairs, strict=False):
        area = 8 + 140 * np.sqrt(pair.sizes / pair.sizes.max())
        ax.scatter(pair.x, pair.y, s=area, color=pair.colour, alpha=0.55, edgecolor="#333333", linewidth=0.3)
        ax.plot(*trend_line(pair), color="#222222", linewidth=1.5, label="Tendance (moindres carrés)")
        for code, offset in zip(pair.sizes.nlargest(labelled).index, LABEL_OFFSETS, strict=False):
            ax.annotate(pair.names[code], (pair.x[code], pair.y[code]), fontsize=6.5, xytext=offset, textcoords="offset points")
        if pair.log_x:
            ax.set_xscale("log")
        if not pair.log_x:
            ax.xaxis.set_major_locator(nice_ticks())
        ax.yaxis.set_major_locator(nice_ticks())
        ax.xaxis.set_major_formatter(fr_formatter(tick_digits(pair.x.min(), pair.x.max())))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
        ax.yaxis.set_major_formatter(fr_formatter(tick_digits(pair.y.min(), pair.y.max()), "%"))
        ax.set_xlabel(textwrap.fill(pair.x_label, 60), fontsize=8)
        ax.set_ylabel(pair.y_label, fontsize=8)
        ax.set_title(f"{textwrap.fill(pair.title, 48)}\n{pair.note}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(loc="lower right", fontsize=7, frameon=False)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    return finish_figure(fig, title, caption)


# ─── Interactive (plotly) versions ──────────────────────────────────────────────────────

def html_page_layout(fig: go.Figure, title: str, caption: str, height: int) -> go.Figure:
    """Title in the top margin, menu just above the plot, caption below the x axis."""
    fig.update_layout(
        title={"text": title, "x": 0.5, "xanchor": "center", "y": 0.97, "yanchor": "top", "yref": "container"},
        height=height, separators=",\u202f", margin={"l": 20, "r": 20, "t": 130, "b": 150},
        paper_bgcolor="white", plot_bgcolor="white", font={"family": "Arial, sans-serif", "size": 13},
    )
    fig.add_annotation(text="<br>".join(textwrap.wrap(caption, 170)), xref="paper", yref="paper", x=0, y=0, yshift=-70,
                       xanchor="left", yanchor="top", showarrow=False, font={"size": 10, "color": "#444444"}, align="left")
    return fig


def dropdown_menu(labels: list[str], args: list[list]) -> list[dict]:
    buttons = [{"label": label, "method": "update", "args": arg} for label, arg in zip(labels, args, strict=True)]
    return [{"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "y": 1.01, "yanchor": "bottom", "showactive": True}]


def _outline(geometry: BaseGeometry) -> tuple[list, list]:
    """x and y (km, Lambert-93) of every ring of a (multi)polygon, rings separated by None."""
    xs: list = []
    ys: list = []
    for ring in rings(geometry):
        coords = np.round(ring / 1000.0, 3)
        xs += [*coords[:, 0].tolist(), None]
        ys += [*coords[:, 1].tolist(), None]
    return xs, ys


def _colour_bar(layer: Layer) -> dict:
    """Colour-bar carrier attributes of a layer (log layers: log10 scale with real-value ticks)."""
    low, high = (np.log10(layer.norm.vmin), np.log10(layer.norm.vmax)) if layer.log else (layer.norm.vmin, layer.norm.vmax)
    ticks = np.arange(math.ceil(low), math.floor(high) + 1) if layer.log else MaxNLocator(6).tick_values(low, high)
    ticks = ticks[(ticks >= low - 1e-9) & (ticks <= high + 1e-9)]
    digits = 0 if layer.log else max(0, -math.floor(math.log10(np.diff(ticks).min()))) if len(ticks) > 1 else 1
    return {
        "marker.colorscale": plotly_scale(layer.cmap), "marker.cmin": float(low), "marker.cmax": float(high),
        "marker.colorbar.title.text": layer.unit, "marker.colorbar.tickvals": ticks.tolist(),
        "marker.colorbar.ticktext": [fr_number(10.0**t if layer.log else t, digits) for t in ticks],
    }


def _layer_update(layer: Layer, codes: pd.Series, names: pd.Series) -> dict:
    """Restyle of every commune trace (fill colour, hatching, hover name) plus the colour-bar carrier (last)."""
    values = codes.map(layer.values).to_numpy(float)
    known = np.isfinite(values)
    fills = [colors.to_hex(layer.cmap(layer.norm(v))) if ok else MISSING_COLOUR for v, ok in zip(values, known, strict=True)]
    update = {
        "fillcolor": [*fills, None],
        "fillpattern.shape": [*("" if ok else "/" for ok in known), None],
        "name": [*(f"{n} : {layer.text(v) if ok else 'donnée manquante'}" for n, v, ok in zip(names, values, known, strict=True)), ""],
    }
    return {**update, **{key: [None] * len(codes) + [value] for key, value in _colour_bar(layer).items()}}


def map_html(shapes: gpd.GeoDataFrame, layers: list[Layer], title: str, caption: str) -> go.Figure:
    """Interactive choropleth (SVG, works offline): a menu chooses the layer; missing values hatched grey."""
    drawn = shapes[shapes.geometry.notna()]
    codes, names = drawn["code_commune"], drawn["nom_commune"]
    fig = go.Figure()
    for geometry in drawn.geometry:
        xs, ys = _outline(geometry)
        fig.add_scatter(x=xs, y=ys, fill="toself", mode="lines", line={"color": "white", "width": 0.5},
                        hoveron="fills", hoverinfo="name", showlegend=False)
    fig.add_scatter(x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
                    marker={"color": [0], "showscale": True, "colorbar": {"thickness": 18}})
    updates = [_layer_update(layer, codes, names) for layer in layers]
    for index, trace in enumerate(fig.data):
        trace.update({key.replace(".", "_"): value[index] for key, value in updates[0].items() if value[index] is not None})
    args = [[update, {"title.text": f"{title}<br><sub>{layer.title}</sub>"}] for update, layer in zip(updates, layers, strict=True)]
    fig.update_layout(updatemenus=dropdown_menu([layer.title for layer in layers], args), hoverlabel={"namelength": -1})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return html_page_layout(fig, f"{title}<br><sub>{layers[0].title}</sub>", with_units_note(caption, drawn), 820)


def heatmap_html(matrix: pd.DataFrame, hover: pd.DataFrame, title: str, caption: str) -> go.Figure:
    """Interactive heat map of coefficients, the confidence interval in the hover text."""
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(float), x=list(matrix.columns), y=list(matrix.index), zmin=-1, zmax=1, zmid=0,
        colorscale=plotly_scale(colormaps[CORRELATION_CMAP]), text=hover.to_numpy(), texttemplate="%{z:.2f}",
        hovertemplate="%{y}<br>%{x}<br>%{text}<extra></extra>", colorbar={"title": {"text": "Coefficient"}},
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    return html_page_layout(fig, title, caption, max(600, 24 * len(matrix) + 250))


def scatter_html(pairs: list[ScatterPair], title: str, caption: str) -> go.Figure:
    """Interactive scatter plots, one pair at a time chosen from a menu; commune names on hover."""
    fig = go.Figure()
    for index, pair in enumerate(pairs):
        hover = [f"<b>{n}</b><br>{fr_number(x, auto_digits(pair.x))} ; {fr_number(y, 1)} %"
                 for n, x, y in zip(pair.names, pair.x, pair.y, strict=True)]
        fig.add_scatter(x=pair.x, y=pair.y, mode="markers", visible=index == 0, name=pair.title, text=hover,
                        hovertemplate="%{text}<extra></extra>",
                        marker={"color": pair.colour, "opacity": 0.6, "size": (6 + 24 * np.sqrt(pair.sizes / pair.sizes.max())).tolist(),
                                "line": {"color": "#333333", "width": 0.5}})
        line_x, line_y = trend_line(pair)
        fig.add_scatter(x=line_x, y=line_y, mode="lines", visible=index == 0, name="Tendance", line={"color": "#222222"})
    args = []
    for index, pair in enumerate(pairs):
        visible = [i // 2 == index for i in range(2 * len(pairs))]
        args.append([{"visible": visible}, {"xaxis.title.text": pair.x_label, "yaxis.title.text": pair.y_label,
                                            "xaxis.type": "log" if pair.log_x else "linear",
                                            "title.text": f"{title}<br><sub>{pair.title} — {pair.note}</sub>"}])
    first = pairs[0]
    fig.update_layout(updatemenus=dropdown_menu([p.title for p in pairs], args), showlegend=False,
                      xaxis={"title": {"text": first.x_label}, "type": "log" if first.log_x else "linear"},
                      yaxis={"title": {"text": first.y_label}, "ticksuffix": " %"})
    return html_page_layout(fig, f"{title}<br><sub>{first.title} — {first.note}</sub>", caption, 700)


# ─── Saving ─────────────────────────────────────────────────────────────────────────────

def save_png(fig: Figure, path: Path) -> Path:
    """Write a matplotlib figure as PNG (figures are built without pyplot: nothing to close)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(DPI)
    fig.set_facecolor("white")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # one draw (layout then render); ``savefig`` draws a layout figure twice, for the same pixels
    image.imsave(path, canvas.buffer_rgba(), format="png", origin="upper", dpi=DPI, pil_kwargs={"compress_level": 3})
    return path


def save_html(fig: go.Figure, path: Path) -> Path:
    """Write a plotly figure as a standalone page; plotly.js is written once beside it (offline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs="directory", full_html=True, config={"displaylogo": False})
    return path

