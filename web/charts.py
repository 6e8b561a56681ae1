"""Geometry of the server-rendered SVG charts (templates: crm/_charts.html). No JavaScript, no chart library.

Each builder turns report figures into shapes with coordinates; the macros draw them with a ``<title>``, a
``<desc>`` and the numbers as a table next to the chart, so the figures never live in the picture alone.
Coordinates are computed with Decimal and rounded to one decimal (pixels, not money).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

PIXEL = Decimal("0.1")


def px(value: Decimal | int) -> str:
    return str(Decimal(value).quantize(PIXEL, ROUND_HALF_UP))


def short(text: str, size: int = 22) -> str:
    """A label that fits its slot; the full text is in the table and the shape's own title."""
    return text if len(text) <= size else text[: size - 1] + "…"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    short_label: str
    value: Decimal
    x: str
    y: str
    width: str
    height: str
    text_x: str
    text_y: str


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    label_x: str


def horizontal_bars(items: Sequence[tuple[str, Decimal | int]], *, width: int = 560, row: int = 30,
                    label_width: int = 170, full: Decimal | None = None) -> BarChart:
    """One bar per item, full length = ``full`` (default: the largest value); labels left, values at the end."""
    largest = full if full is not None else max((Decimal(v) for _, v in items), default=Decimal(0))
    room = Decimal(width - label_width - 70)
    bars = []
    for index, (label, raw) in enumerate(items):
        value = Decimal(raw)
        length = room * value / largest if largest > 0 and value > 0 else Decimal(0)
        y = Decimal(index * row + 4)
        bars.append(Bar(label, short(label), value, px(label_width), px(y), px(length), px(row - 8),
                        px(label_width + length + 6), px(y + (row - 8) / Decimal(2) + 5)))
    return BarChart(width, max(len(items), 1) * row + 8, bars, px(label_width - 8))


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    value: Decimal
    x: str
    y: str
    width: str
    height: str
    label_x: str


@dataclass(frozen=True, slots=True)
class ColumnChart:
    width: int
    height: int
    baseline: str
    columns: list[Column]
    label_y: str


def columns(items: Sequence[tuple[str, Decimal]], *, width: int = 640, height: int = 220) -> ColumnChart:
    """Vertical columns on one baseline, tallest = the largest value; labels under the baseline."""
    plot_top, plot_bottom = Decimal(10), Decimal(height - 40)
    largest = max((v for _, v in items), default=Decimal(0))
    slot = Decimal(width - 20) / max(len(items), 1)
    drawn = []
    for index, (label, value) in enumerate(items):
        tall = (plot_bottom - plot_top) * value / largest if largest > 0 and value > 0 else Decimal(0)
        x = Decimal(10) + slot * index
        drawn.append(Column(label, value, px(x + slot * Decimal("0.15")), px(plot_bottom - tall),
                            px(slot * Decimal("0.7")), px(tall), px(x + slot / 2)))
    return ColumnChart(width, height, px(plot_bottom), drawn, px(plot_bottom + 16))


@dataclass(frozen=True, slots=True)
class Cell:
    key: str
    count: int
    x: str
    y: str
    size: str
    shade: str  # a fill opacity from 0.08 to 1
    text_x: str
    text_y: str


@dataclass(frozen=True, slots=True)
class Matrix:
    size: int
    cells: list[Cell]
    rows: list[tuple[str, str]]  # (label, y)
    cols: list[tuple[str, str]]  # (label, x)


def matrix(counts: dict[str, int], rows: str = "ABC", cols: str = "XYZ", *, cell: int = 70) -> Matrix:
    """A rows x cols grid of counts, darker where more accounts sit."""
    most = max(counts.values(), default=0)
    cells = []
    for r, row in enumerate(rows):
        for c, col in enumerate(cols):
            count = counts.get(row + col, 0)
            shade = Decimal("0.08") + Decimal("0.92") * count / most if most else Decimal("0.08")
            x, y = 30 + c * cell, 20 + r * cell
            cells.append(Cell(row + col, count, px(x), px(y), px(cell - 4),
                              str(shade.quantize(Decimal("0.01"), ROUND_HALF_UP)), px(x + (cell - 4) // 2),
                              px(y + (cell - 4) // 2 + 5)))
    return Matrix(30 + len(cols) * cell, cells,
                  [(row, px(20 + r * cell + cell // 2)) for r, row in enumerate(rows)],
                  [(col, px(30 + c * cell + cell // 2)) for c, col in enumerate(cols)])


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    quadrant: str
    cx: str
    cy: str


@dataclass(frozen=True, slots=True)
class Scatter:
    width: int
    height: int
    points: list[Point]
    share_x: str  # the "high share" line
    growth_y: str  # the "high growth" line
    left: str
    right: str
    top: str
    bottom: str
    frame_width: str
    frame_height: str
    x_label_y: str
    x_ticks: list[tuple[Decimal, str, str]]  # (share, x, y) of the tick labels
    y_ticks: list[tuple[Decimal, str, str]]  # (growth percent, x, y)


GROWTH_LOW, GROWTH_HIGH = Decimal(-100), Decimal(200)


def scatter(points: Sequence[tuple[str, str, Decimal, Decimal | None]], share_line: Decimal, growth_line: Decimal,
            *, width: int = 560, height: int = 340) -> Scatter:
    """Relative share (0-1) across, growth (-100 % to 200 %, clamped; new accounts at the top) up."""
    left, right, top, bottom = Decimal(50), Decimal(width - 20), Decimal(20), Decimal(height - 40)

    def x_of(share: Decimal) -> Decimal:
        return left + (right - left) * min(max(share, Decimal(0)), Decimal(1))

    def y_of(growth: Decimal | None) -> Decimal:
        value = GROWTH_HIGH if growth is None else min(max(growth, GROWTH_LOW), GROWTH_HIGH)
        return bottom - (bottom - top) * (value - GROWTH_LOW) / (GROWTH_HIGH - GROWTH_LOW)

    drawn = [Point(label, quadrant, px(x_of(share)), px(y_of(growth))) for label, quadrant, share, growth in points]
    return Scatter(width, height, drawn, px(x_of(share_line)), px(y_of(growth_line)), px(left), px(right), px(top),
                   px(bottom), px(right - left), px(bottom - top), px(bottom + 30),
                   [(v, px(x_of(v)), px(bottom + 14)) for v in (Decimal(0), Decimal("0.5"), Decimal(1))],
                   [(v, px(left - 4), px(y_of(v) + 4)) for v in (GROWTH_LOW, Decimal(0), Decimal(100), GROWTH_HIGH)])
