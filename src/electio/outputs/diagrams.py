"""Box-and-arrow diagrams drawn with matplotlib (no system binary such as Graphviz's ``dot``).

Two drawings use it: the report's data-flow diagram and the conceptual data model (MCD:
entities, associations, Merise cardinalities). Both are sized for a 16:9 slide and a report page
(text at least 11 pt at 13.3 × 7.5 inches), positions are given in a unit grid by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from electio.analysis.figures import save_png

EDGE_COLOUR = "#4d4d4d"
BOX_EDGE = "#5b6b7f"
MIN_FONT = 7.0  # points: a text that does not fit its shape shrinks down to this size
END_LABEL_GAP = 0.42  # grid units between a shape's border and the cardinality next to it


@dataclass(frozen=True)
class Box:
    """A node: ``key``, centre (x, y) in grid units, bold ``title``, smaller ``lines``, fill colour, shape."""

    key: str
    x: float
    y: float
    title: str
    lines: tuple[str, ...] = ()
    fill: str = "#e8f1fa"
    width: float = 2.6
    height: float = 1.0
    shape: str = "box"  # "box" (rounded rectangle) or "ellipse" (Merise association)


@dataclass(frozen=True)
class Link:
    """An edge from ``start`` to ``end`` (box keys); ``label`` mid-way, ``start_label``/``end_label`` near the ends."""

    start: str
    end: str
    label: str = ""
    start_label: str = ""
    end_label: str = ""
    arrow: bool = True
    dashed: bool = False
    label_at: float = 0.5  # where ``label`` sits along the edge (0: start, 1: end)


def _border_point(box: Box, towards: tuple[float, float]) -> tuple[float, float]:
    """Where the segment from the box centre to ``towards`` leaves the box (rectangle or ellipse)."""
    dx, dy = towards[0] - box.x, towards[1] - box.y
    if dx == 0 and dy == 0:
        return box.x, box.y
    half_w, half_h = box.width / 2, box.height / 2
    if box.shape == "ellipse":
        scale = 1 / ((dx / half_w) ** 2 + (dy / half_h) ** 2) ** 0.5
    else:
        scale = min(half_w / abs(dx) if dx else float("inf"), half_h / abs(dy) if dy else float("inf"))
    return box.x + dx * scale, box.y + dy * scale


def room(box: Box, low: float, high: float) -> float:
    """Width available inside the shape between heights ``low`` and ``high`` (grid units; a margin kept)."""
    if box.shape != "ellipse":
        return box.width - 0.16
    far = max(abs(low - box.y), abs(high - box.y)) / (box.height / 2)
    return box.width * max(0.0, 1 - far**2) ** 0.5 - 0.08


def fit(ax, text: Text, box: Box) -> float:
    """Shrink ``text`` until it fits inside ``box`` (down to MIN_FONT); its final font size."""
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    while True:
        (x0, y0), (x1, y1) = to_data.transform(text.get_window_extent(renderer).get_points())
        if x1 - x0 <= room(box, y0, y1) or text.get_fontsize() <= MIN_FONT:
            return float(text.get_fontsize())
        text.set_fontsize(max(MIN_FONT, text.get_fontsize() - 0.5))


def _draw_box(ax, box: Box, title_size: float, text_size: float) -> list[Text]:
    if box.shape == "ellipse":
        ax.add_patch(Ellipse((box.x, box.y), box.width, box.height, facecolor=box.fill, edgecolor=BOX_EDGE, lw=1.4, zorder=2))
    else:
        ax.add_patch(FancyBboxPatch((box.x - box.width / 2, box.y - box.height / 2), box.width, box.height,
                                    boxstyle="round,pad=0,rounding_size=0.12", facecolor=box.fill, edgecolor=BOX_EDGE, lw=1.4, zorder=2))
    colour = "#1d2733"
    if not box.lines:
        return [ax.text(box.x, box.y, box.title, ha="center", va="center", fontsize=title_size, fontweight="bold", zorder=3, color=colour)]
    return [ax.text(box.x, box.y + 0.04 * box.height, box.title, ha="center", va="bottom", fontsize=title_size, fontweight="bold", zorder=3,
                    color=colour),
            ax.text(box.x, box.y - 0.04 * box.height, "\n".join(box.lines), ha="center", va="top", fontsize=text_size, zorder=3,
                    color="#333333", linespacing=1.25)]


def _end_label_at(u: tuple[float, float], v: tuple[float, float]) -> tuple[float, float]:
    """A point END_LABEL_GAP from ``u`` towards ``v`` (at most 40 % of the way on a short edge)."""
    length = ((v[0] - u[0]) ** 2 + (v[1] - u[1]) ** 2) ** 0.5
    share = min(0.4, END_LABEL_GAP / length) if length else 0.0
    return u[0] + share * (v[0] - u[0]), u[1] + share * (v[1] - u[1])


def draw(boxes: Sequence[Box], links: Sequence[Link], path: Path, title: str = "", legend: str = "",
         size: tuple[float, float] = (13.33, 7.5), title_size: float = 14, text_size: float = 11.5) -> Path:
    """Draw ``boxes`` and ``links`` on one figure (grid units: the boxes' extent) and save it as PNG."""
    by_key = {b.key: b for b in boxes}
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)  # a renderer to measure the texts
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.9 if title else 0.98))
    ax.set_axis_off()
    left = min(b.x - b.width / 2 for b in boxes) - 0.2
    right = max(b.x + b.width / 2 for b in boxes) + 0.2
    bottom = min(b.y - b.height / 2 for b in boxes) - 0.2
    top = max(b.y + b.height / 2 for b in boxes) + 0.2
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    for link in links:
        a, b = by_key[link.start], by_key[link.end]
        p, q = _border_point(a, (b.x, b.y)), _border_point(b, (a.x, a.y))
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>" if link.arrow else "-", mutation_scale=16, color=EDGE_COLOUR, lw=1.4,
                                     linestyle="--" if link.dashed else "-", zorder=1, shrinkA=2, shrinkB=2))
        style = {"fontsize": text_size, "ha": "center", "va": "center", "zorder": 4,
                 "bbox": {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.9}}
        if link.label:
            ax.text(p[0] + link.label_at * (q[0] - p[0]), p[1] + link.label_at * (q[1] - p[1]), link.label, color="#333333", style="italic", **style)
        for text, (u, v) in ((link.start_label, (p, q)), (link.end_label, (q, p))):
            if text:
                ax.text(*_end_label_at(u, v), text, color="#1f4e79", fontweight="bold", **style)
    for box in boxes:
        for text in _draw_box(ax, box, title_size, text_size):
            fit(ax, text, box)
    if title:
        fig.suptitle(title, fontsize=title_size + 4, fontweight="bold", y=0.985)
    if legend:
        fig.text(0.5, 0.925, legend, ha="center", va="center", fontsize=text_size, color="#444444")
    return save_png(fig, path)
