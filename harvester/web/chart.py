"""Posts per week per theme as an inline SVG line chart, laid out on the server (no chart library, no JS)."""

from __future__ import annotations

from dataclasses import dataclass

# at least 3:1 against white (WCAG 1.4.11), and told apart by dash pattern as well as colour
COLOURS = ["#1d4ed8", "#c2410c", "#15803d", "#b91c1c", "#7e22ce", "#8b5a2b", "#be185d", "#374151", "#0e7490"]
DASHES = ["", "6 3", "2 3", "8 3 2 3", "", "6 3", "2 3", "8 3 2 3", ""]
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 300, 48, 16, 16, 40


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    dash: str
    points: str          # SVG polyline points
    values: list[int]


@dataclass(frozen=True)
class WeekChart:
    width: int
    height: int
    weeks: list[str]
    series: list[Series]
    y_ticks: list[tuple[float, int]]     # (y, value)
    x_ticks: list[tuple[float, str]]     # (x, label)
    left: int
    bottom: float
    right: float


def week_chart(weeks: list[str], per_theme: dict[str, dict[str, int]]) -> WeekChart:
    top_value = max([1] + [v for counts in per_theme.values() for v in counts.values()])
    step = max(1, -(-top_value // 4))
    y_max = step * 4
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / max(1, len(weeks) - 1))

    def y(v: int) -> float:
        return TOP + plot_h - plot_h * v / y_max

    series = []
    for n, (label, counts) in enumerate(per_theme.items()):
        values = [counts.get(w, 0) for w in weeks]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        series.append(Series(label, COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)], points, values))
    return WeekChart(
        WIDTH, HEIGHT, weeks, series,
        y_ticks=[(y(v), v) for v in range(0, y_max + 1, step)],
        x_ticks=[(x(i), f"{w[8:10]}-{w[5:7]}") for i, w in enumerate(weeks)],
        left=LEFT, bottom=TOP + plot_h, right=WIDTH - RIGHT,
    )
