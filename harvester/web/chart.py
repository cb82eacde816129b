"""Ideas per week as small multiples: one small bar chart per theme, all on the same scale.

Laid out on the server as numbers for inline SVG (no chart library, no JS). One panel per theme
instead of lines over each other, so each theme reads on its own and panels compare by bar
height. The week still going on is drawn open (outline, hatched) and named as such, so that its
low count does not read as a drop.
"""

from __future__ import annotations

from dataclasses import dataclass

# panel size in SVG units; the page scales the SVG to its column
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 240, 120, 30, 6, 8, 22
GAP = 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    week: str
    complete: bool


@dataclass(frozen=True)
class Panel:
    label: str
    total: int
    bars: list[Bar]


@dataclass(frozen=True)
class SmallMultiples:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int                            # y of the axis
    y_ticks: list[tuple[float, int]]       # (y, value), shared by every panel
    x_labels: list[tuple[float, str]]      # (x, label) of the first, middle and last week
    panels: list[Panel]


def _scale_top(top_value: int) -> tuple[int, int]:
    """A round maximum for the shared axis and its step: three steps up to at least `top_value`."""
    step = 1
    for base in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        step = base
        if 3 * base >= top_value:
            break
    else:
        step = -(-top_value // 3)
    return 3 * step, step


def small_multiples(weeks: list[tuple[str, bool]], series: dict[str, list[int]],
                    labels: dict[str, str]) -> SmallMultiples:
    """`weeks`: (label, complete) oldest first; `series`: theme id -> a value per week, one panel
    each, titled with its label from `labels` (the id itself when it has none)."""
    y_max, step = _scale_top(max([1] + [v for values in series.values() for v in values]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(weeks))
    axis = TOP + plot_h

    def y(v: int) -> float:
        return round(axis - plot_h * v / y_max, 1)

    panels = [
        Panel(labels.get(theme, theme), sum(values), [
            Bar(round(LEFT + i * slot + GAP / 2, 1), y(v), round(slot - GAP, 1), round(axis - y(v), 1), v, week, complete)
            for i, ((week, complete), v) in enumerate(zip(weeks, values))
        ])
        for theme, values in series.items()
    ]
    marks = sorted({0, len(weeks) // 2, len(weeks) - 1}) if weeks else []
    return SmallMultiples(
        WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, axis,
        y_ticks=[(y(v), v) for v in range(0, y_max + 1, step)],
        x_labels=[(round(LEFT + (i + 0.5) * slot, 1), weeks[i][0]) for i in marks],
        panels=panels,
    )
