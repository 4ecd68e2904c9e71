"""Inline SVG charts, drawn here: the report needs no JavaScript, no network and no dependency.

Every mark (a bar or a bar segment) is a ``<rect class="mark">`` carrying ``data-series``,
``data-key`` and ``data-value`` (the number drawn, as SQL returned it) and a ``<title>``
tooltip, so a test can read back exactly what a chart shows. Every string is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 54
PALETTE = ("#3b6ea5", "#e07b39", "#5a9e6f", "#c0504d", "#8064a2", "#4bacc6", "#9b8b3c", "#7f7f7f")
Format = Callable[[float], str]


def esc(text: object) -> str:
    """Text for HTML or SVG content and attribute values (quotes included)."""
    return escape(str(text), quote=True)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per category; None: no value (drawn as "–")
    color: str


def _nice_max(value: float, *, whole: bool = False) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (an axis that ends on a round
    number); at least 5 for ``whole`` counts, so that each of the five ticks is a whole number."""
    if whole and value <= 5:
        return 5.0
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value * (1 - 1e-12))


def _mark(
    x: float, y: float, w: float, h: float, color: str, series: str, key: str, value: float, tip: str
) -> str:
    return (
        f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{max(h, 0.0):.1f}" '
        f'fill="{color}" data-series="{esc(series)}" data-key="{esc(key)}" data-value="{value!r}">'
        f"<title>{esc(tip)}</title></rect>"
    )


def _frame(chart_id: str, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{esc(chart_id)}" role="img" aria-label="{esc(title)}" '
        f'viewBox="0 0 {WIDTH} {height}">' + "".join(body) + "</svg>"
    )


def _text_width(text: str) -> int:
    """Roughly how wide ``text`` is at 12 px: CJK characters are about twice a Latin letter."""
    return sum(13 if ord(c) >= 0x2E80 else 7 for c in text)


def _legend(series: Sequence[Series]) -> list[str]:
    out, x = [], LEFT
    for s in series:
        out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{s.color}"/>')
        out.append(f'<text x="{x + 16}" y="18" class="legend">{esc(s.name)}</text>')
        x += 30 + _text_width(s.name)
    return out


def _y_axis(top: float, bottom: float, y_max: float, fmt: Format, label: str, right: float) -> list[str]:
    out = []
    for i in range(6):
        value = y_max * i / 5
        y = bottom - (bottom - top) * i / 5
        out.append(f'<line x1="{LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{esc(fmt(value))}</text>'
        )
    middle = (top + bottom) / 2
    out.append(
        f'<text transform="translate(14 {middle:.1f}) rotate(-90)" text-anchor="middle" class="axis">'
        f"{esc(label)}</text>"
    )
    return out


def bar_chart(
    chart_id: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    fmt: Format,
    y_max: float | None = None,
    whole: bool = False,
    height: int = 300,
) -> str:
    """Vertical bars, one group per category and one bar per series."""
    top, bottom, right = TOP, height - BOTTOM, WIDTH - RIGHT
    values = [v for s in series for v in s.values if v is not None]
    top_value = y_max if y_max is not None else _nice_max(max(values, default=0), whole=whole)
    body = _y_axis(top, bottom, top_value, fmt, y_label, right) + (_legend(series) if len(series) > 1 else [])
    band = (right - LEFT) / max(len(categories), 1)
    bar = min(band * 0.8 / max(len(series), 1), 48)
    for i, category in enumerate(categories):
        start = LEFT + band * i + (band - bar * len(series)) / 2
        for j, s in enumerate(series):
            value = s.values[i]
            x = start + bar * j
            if value is None:
                body.append(
                    f'<text x="{x + bar / 2:.1f}" y="{bottom - 4}" text-anchor="middle" class="na">–</text>'
                )
                continue
            h = (bottom - top) * value / top_value
            tip = f"{category} · {s.name}: {fmt(value)}"
            body.append(_mark(x, bottom - h, bar * 0.92, h, s.color, s.name, category, value, tip))
        body.append(
            f'<text x="{LEFT + band * (i + 0.5):.1f}" y="{bottom + 16}" text-anchor="middle" class="tick">'
            f"{esc(category)}</text>"
        )
    body.append(f'<line x1="{LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}" class="axisline"/>')
    body.append(
        f'<text x="{(LEFT + right) / 2:.1f}" y="{height - 10}" text-anchor="middle" class="axis">{esc(x_label)}</text>'
    )
    return _frame(chart_id, height, title, body)


def stacked_chart(
    chart_id: str,
    categories: Sequence[str],
    parts: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    fmt: Format,
    y_max: float | None = None,
    whole: bool = False,
    height: int = 320,
) -> str:
    """Vertical stacked bars: one bar per category, one segment per part (legend above)."""
    legend_rows = math.ceil(sum(30 + _text_width(p.name) for p in parts) / (WIDTH - LEFT - RIGHT))
    top, bottom, right = TOP + 18 * (legend_rows - 1), height - BOTTOM, WIDTH - RIGHT
    sums = [sum(p.values[i] or 0 for p in parts) for i in range(len(categories))]
    top_value = y_max if y_max is not None else _nice_max(max(sums, default=0), whole=whole)
    body = _y_axis(top, bottom, top_value, fmt, y_label, right) + _wrapped_legend(parts)
    band = (right - LEFT) / max(len(categories), 1)
    bar = min(band * 0.6, 64)
    for i, category in enumerate(categories):
        x, level = LEFT + band * i + (band - bar) / 2, bottom
        for p in parts:
            value = p.values[i]
            if not value:
                continue
            h = (bottom - top) * value / top_value
            level -= h
            body.append(
                _mark(
                    x, level, bar, h, p.color, p.name, category, value, f"{category} · {p.name}: {fmt(value)}"
                )
            )
        body.append(
            f'<text x="{LEFT + band * (i + 0.5):.1f}" y="{bottom + 16}" text-anchor="middle" class="tick">'
            f"{esc(category)}</text>"
        )
    body.append(f'<line x1="{LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}" class="axisline"/>')
    body.append(
        f'<text x="{(LEFT + right) / 2:.1f}" y="{height - 10}" text-anchor="middle" class="axis">{esc(x_label)}</text>'
    )
    return _frame(chart_id, height, title, body)


def _wrapped_legend(parts: Sequence[Series]) -> list[str]:
    out, x, y = [], LEFT, 8
    for p in parts:
        width = 30 + _text_width(p.name)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = LEFT, y + 18
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{p.color}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 10}" class="legend">{esc(p.name)}</text>')
        x += width
    return out


def hbar_chart(
    chart_id: str,
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    x_label: str,
    fmt: Format,
    color: str,
    negative_color: str | None = None,
    x_max: float | None = None,
    label_width: int = 200,
) -> str:
    """Horizontal bars, one per (label, value) row; negative values extend left of zero."""
    row_height, top = 24, 12
    height = top + row_height * len(rows) + 40
    left, right = label_width, WIDTH - 70
    low = min((v for _, v in rows), default=0)
    reach = x_max if x_max is not None else _nice_max(max((abs(v) for _, v in rows), default=0))
    zero = left + (right - left) / 2 if low < 0 else left
    scale = (right - zero) / reach
    body = [f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 4}" y2="{height - 36}" class="axisline"/>']
    for i, (label, value) in enumerate(rows):
        y = top + row_height * i
        shown = label if len(label) <= 14 else label[:13] + "…"
        body.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" class="tick">{esc(shown)}<title>{esc(label)}</title></text>'
        )
        w = abs(value) * scale
        x = zero if value >= 0 else zero - w
        fill = negative_color if value < 0 and negative_color else color
        body.append(_mark(x, y + 3, w, row_height - 8, fill, title, label, value, f"{label}: {fmt(value)}"))
        anchor, tx = ("start", x + w + 4) if value >= 0 else ("end", x - 4)
        body.append(
            f'<text x="{tx:.1f}" y="{y + 15}" text-anchor="{anchor}" class="value">{esc(fmt(value))}</text>'
        )
    body.append(
        f'<text x="{(left + right) / 2:.1f}" y="{height - 12}" text-anchor="middle" class="axis">{esc(x_label)}</text>'
    )
    return _frame(chart_id, height, title, body)
