"""The dashboard's 30-day chart as SVG drawn on the server: no script, no style attribute
(the CSP allows neither inline), colours by class from console.css and presentation
attributes. Each bar has a <title>, which a screen reader and a mouse pointer both read;
the same numbers are in the table beside it."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 40, 28, 12


def _nice_top(value: int) -> int:
    """The axis' top: 4, 10, 20, 40, 100, 200, 400 … at or above the largest day."""
    top = 4
    while top < value:
        top = top * 5 // 2 if str(top)[0] == "4" else top * 2
    return top


def _ticks(top: int) -> list[int]:
    """Whole numbers only: quarters where they are whole (4, 20, 40 …), else halves."""
    return [top * k // 4 for k in range(5)] if top % 4 == 0 else [0, top // 2, top]


def chart_svg(days: list[tuple[date, int, int]], title: str, released: str, quarantined: str) -> Markup:
    """Stacked bars per day: released below, quarantined on top. Every text passed in is
    escaped here; the numbers and dates are the server's own."""
    top = _nice_top(max((r + q for _, r, q in days), default=0))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - 8) / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [
        f'<svg id="chart-30d" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-30d-title" class="chart">',
        f'<title id="chart-30d-title">{escape(title)}</title>',
    ]
    for value in _ticks(top):  # grid lines and their numbers
        y = TOP + plot_h - plot_h * value / top
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for index, (day, n_released, n_quarantined) in enumerate(days):
        x = LEFT + index * slot + (slot - bar) / 2
        h_r = plot_h * n_released / top
        h_q = plot_h * n_quarantined / top
        base = TOP + plot_h
        label = escape(f"{day.isoformat()}: {released} {n_released}, {quarantined} {n_quarantined}")
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
