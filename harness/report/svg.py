"""Inline SVG line charts for the self-contained HTML report.

Hand-written on purpose: the report must be one file with no external URLs or scripts, and
the charting libraries that emit static SVG pull in far more than a few polylines need.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

PALETTE = ["#2563eb", "#d97706", "#dc2626", "#059669", "#7c3aed", "#0891b2"]


@dataclass(frozen=True)
class Band:
    """A shaded interval on the x axis (e.g. a chaos fault injection)."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line at one moment (e.g. a game-day guardrail firing)."""

    at: float
    label: str


BAND_LABEL_CHAR_PX = 6.0  # 10 px sans-serif: a generous average glyph width


def _band_label(label: str, x0: float, x1: float, y: float, plot_right: float) -> str:
    """A band's label after its left edge, or ending at its right edge when it would run off the plot."""
    if x0 + 3 + len(label) * BAND_LABEL_CHAR_PX <= plot_right:
        return f'<text x="{x0 + 3:.1f}" y="{y}" class="band-label">{escape(label)}</text>'
    return (f'<text x="{min(x1, plot_right) - 3:.1f}" y="{y}" class="band-label" '
            f'text-anchor="end">{escape(label)}</text>')


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _contiguous_runs(points: list[tuple[float, float]], max_gap: float = 2.5) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = []
    for point in points:
        if runs and point[0] - runs[-1][-1][0] <= max_gap:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _nice_step(raw: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if raw <= step:
            return float(step)
    return 3600.0 * max(1, round(raw / 3600))


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    title: str,
    y_label: str,
    bands: list[Band] | None = None,
    markers: list[Marker] | None = None,
    width: int = 760,
    height: int = 240,
) -> str:
    """An SVG line chart; x is seconds since start. Empty series give an empty string."""
    points = [p for values in series.values() for p in values]
    if not points:
        return ""
    left, right, top, bottom = 56, 16, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max(max(p[0] for p in points), max((b.end for b in bands or []), default=0),
                max((m.at for m in markers or []), default=0), 1.0)
    y_max = _nice_max(max(p[1] for p in points))

    def sx(x: float) -> float:
        return left + plot_w * x / x_max

    def sy(y: float) -> float:
        return top + plot_h * (1 - y / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for index, band in enumerate(bands or []):
        x0, x1 = sx(max(band.start, 0)), sx(min(band.end, x_max))
        parts.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{plot_h}" class="band">'
            f"<title>{escape(band.label)}</title></rect>"
        )
        # alternate rows, so labels of neighbouring bands do not run into each other
        parts.append(_band_label(band.label, x0, x1, top + 12 + 12 * (index % 2), width - right))
    for marker in markers or []:
        x = sx(min(max(marker.at, 0), x_max))
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" class="marker">'
                     f"<title>{escape(marker.label)}</title></line>")
        parts.append(f'<text x="{x - 3:.1f}" y="{top + plot_h - 4}" class="marker-label" text-anchor="end">'
                     f"{escape(marker.label)}</text>")
    for i in range(5):  # horizontal grid + y ticks
        value = y_max * i / 4
        y = sy(value)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{value:g}</text>')
    step = _nice_step(x_max / 6)
    tick = 0.0
    while tick <= x_max + 1e-9:  # x ticks on round seconds
        parts.append(
            f'<text x="{sx(tick):.1f}" y="{height - 18}" class="tick" text-anchor="middle">{tick:g}s</text>'
        )
        tick += step
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.0f}" class="axis" transform="rotate(-90 12 {top + plot_h / 2:.0f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    legend_x = left
    for index, (name, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        for run in _contiguous_runs(sorted(values)):  # a gap (e.g. between experiments) breaks the line
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in run)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        parts.append(f'<rect x="{legend_x}" y="{height - 10}" width="10" height="3" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{height - 6}" class="tick">{escape(name)}</text>')
        legend_x += 14 + 7 * len(name) + 18
    parts.append("</svg>")
    return "".join(parts)
