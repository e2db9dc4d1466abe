"""The dashboard's 30-day chart as SVG drawn on the server: no script, no style attribute
(the CSP allows neither inline), colours by class from console.css and presentation
attributes. Each bar has a <title>, which a screen reader and a mouse pointer both read;
the same numbers are in the table beside it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 40, 28, 12


def _step(largest: int) -> int:
    """The axis' step: the smallest of 1, 2, 5, 10, 20, 50 … that needs at most 5 steps."""
    step = 1
    while step * 5 < largest:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1 → 2 → 5 → 10 → 20 → 50
    return step


def axis(largest: int) -> list[int]:
    """The ticks from 0 to the first step at or above the largest day (at least one step):
    whole numbers in even steps of 1, 2 or 5 × 10ⁿ — 0, 2, 4, 6, 8, 10 for 9 files."""
    step = _step(largest)
    top = max(1, -(-largest // step)) * step
    return list(range(0, top + 1, step))


def chart_svg(
    days: list[tuple[date, int, int]],
    title: str,
    released: str,
    quarantined: str,
    day_label: Callable[[date], str] = date.isoformat,
) -> Markup:
    """Stacked bars per day: released below, quarantined on top; each bar's title names its
    day by ``day_label``. Every text passed in is escaped here; the numbers are the server's own."""
    ticks = axis(max((r + q for _, r, q in days), default=0))
    top = ticks[-1]
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - 8) / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [
        f'<svg id="chart-30d" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-30d-title" class="chart">',
        f'<title id="chart-30d-title">{escape(title)}</title>',
    ]
    for value in ticks:  # grid lines and their numbers
        y = TOP + plot_h - plot_h * value / top
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for index, (day, n_released, n_quarantined) in enumerate(days):
        x = LEFT + index * slot + (slot - bar) / 2
        h_r = plot_h * n_released / top
        h_q = plot_h * n_quarantined / top
        base = TOP + plot_h
        label = escape(f"{day_label(day)}: {released} {n_released}, {quarantined} {n_quarantined}")
        parts.append(f"<g><title>{label}</title>")
        parts.append(f'<rect class="released" x="{x:.1f}" y="{base - h_r:.1f}" width="{bar:.1f}" height="{h_r:.1f}"/>')
        parts.append(
            f'<rect class="quarantined" x="{x:.1f}" y="{base - h_r - h_q:.1f}" width="{bar:.1f}" height="{h_q:.1f}"/>'
        )
        parts.append("</g>")
        if index % 5 == 0 or index == len(days) - 1:
            parts.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{day:%m/%d}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
