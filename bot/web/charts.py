"""Small bar charts drawn on the server as inline SVG: no script, readable without colour
(each bar has its value as a tooltip, and the chart a text summary beside it). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 120


def bars(values: Sequence[float | None], label: str, unit: str) -> Markup:
    """One bar per value, oldest first; None is a gap."""
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    slot = WIDTH / max(1, len(values))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 1}" role="img" aria-label="{escape(label)}" '
        'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" class="axis"/>',
    ]
    for index, value in enumerate(values):
        if value is None:
            continue
        height = max(1.0, HEIGHT * value / top) if value > 0 else 0.0
        x = index * slot + slot * 0.15
        hours_ago = len(values) - index
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - height:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{hours_ago} h ago: {_number(value)} {escape(unit)}</title></rect>"
        )
    parts.append("</svg>")
    parts.append(f'<div class="ticks" aria-hidden="true"><span>{len(values)} h ago</span><span>now</span></div>')
    return Markup("".join(parts))


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
