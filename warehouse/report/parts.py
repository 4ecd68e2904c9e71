"""The building blocks of the report's panels: number formats, Chinese level labels, tables and
panel frames. Every string goes through ``esc``."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.taxonomy import taxonomy
from warehouse.report.svg import Series, esc

STATUSES = ("ok", "warning", "rejected", "superseded")
STATUS_COLORS = {"ok": "#5a9e6f", "warning": "#e0a339", "rejected": "#c0504d", "superseded": "#9e9e9e"}


def count(value: float | None) -> str:
    return "–" if value is None else f"{int(value):,}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def axis_percent(value: float) -> str:
    return f"{value:.0%}"


def signed(value: float | None) -> str:
    return "–" if value is None else f"{int(value):+,}"


def level_label(code: str | None) -> str:
    if code is None:
        return "未知 unknown"
    return f"{taxonomy().levels.get(code, code)} {code}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i >= numeric_from else ''}>{esc(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def panel(panel_id: str, title: str, note: str, *parts: str) -> str:
    return (
        f'<section class="panel" id="{esc(panel_id)}"><h2>{esc(title)}</h2>'
        f'<p class="note">{esc(note)}</p>{"".join(parts)}</section>'
    )


def empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def has_values(series: Sequence[Series]) -> bool:
    return any(v for s in series for v in s.values if v is not None)
