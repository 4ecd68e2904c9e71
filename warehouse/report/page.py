"""The report as one self-contained HTML page: inline CSS and SVG, no script, no external URL.

A Content-Security-Policy forbids every fetch and every script, so even a string that escaped
escaping could not run or call out; every string from the data is escaped all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from schemas.taxonomy import taxonomy
from warehouse.report.data import ReportData
from warehouse.report.svg import PALETTE, Series, bar_chart, esc, hbar_chart, stacked_chart

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STATUSES = ("ok", "warning", "rejected", "superseded")
STATUS_COLORS = {"ok": "#5a9e6f", "warning": "#e0a339", "rejected": "#c0504d", "superseded": "#9e9e9e"}


def count(value: float | None) -> str:
    return "–" if value is None else f"{int(value):,}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _axis_percent(value: float) -> str:
    return f"{value:.0%}"


def signed(value: float | None) -> str:
    return "–" if value is None else f"{int(value):+,}"


def level_label(code: str | None) -> str:
    if code is None:
        return "未知 unknown"
    return f"{taxonomy().levels.get(code, code)} {code}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i >= numeric_from else ''}>{esc(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _panel(panel_id: str, title: str, note: str, *parts: str) -> str:
    return (
        f'<section class="panel" id="{esc(panel_id)}"><h2>{esc(title)}</h2>'
        f'<p class="note">{esc(note)}</p>{"".join(parts)}</section>'
    )


def _empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def _has_values(series: Sequence[Series]) -> bool:
    return any(v for s in series for v in s.values if v is not None)


def _requests(data: ReportData) -> str:
    frame = data.requests_by_year
    label = taxonomy().category("new_received").leaf
    chart = bar_chart(
        "requests_by_year",
        [str(y) for y in frame["year"]],
        [Series("requests received", list(frame["requests_received"]), PALETTE[0])],
        title="Requests received by year",
        x_label="report year 年度",
        y_label="requests 件",
        fmt=count,
        whole=True,
    )
    rows = [(y, count(a), count(r)) for y, a, r in frame.iter_rows()]
    return _panel(
        "requests",
        f"{label} · Requests received by year",
        "一、本年新收 (new_received), 总计 column, summed over the agencies with a loaded report "
        "(agency_year_metrics). Carried-over requests are not included.",
        chart,
        _table(("year", "agencies", "requests received"), rows),
    )


def _rates_by_level(data: ReportData) -> str:
    frame = data.rates_by_level
    levels = list(dict.fromkeys(frame["level"]))  # ordered: levels as the SQL sorted them
    order = list(taxonomy().levels)
    levels.sort(key=lambda c: order.index(c) if c in order else len(order))
    years = sorted(set(frame["year"]))
    by = {(y, lv): (d, w) for y, lv, _a, d, w in frame.iter_rows()}
    charts = []
    for index, (rate, title) in enumerate(
        (
            ("disclosure_rate", "Disclosure rate 公开率 by level"),
            ("withheld_rate", "Withheld rate 不予公开率 by level"),
        )
    ):
        series = [
            Series(str(y), [by.get((y, lv), (None, None))[index] for lv in levels], PALETTE[i % len(PALETTE)])
            for i, y in enumerate(years)
        ]
        charts.append(f"<h3>{esc(title)}</h3>")
        charts.append(
            bar_chart(
                f"{rate}_by_level",
                [level_label(lv) for lv in levels],
                series,
                title=title,
                x_label="agency level 机关层级",
                y_label=f"{rate.replace('_', ' ')} (%)",
                fmt=_axis_percent,
                y_max=1.0,
            )
            if _has_values(series)
            else _empty(f"no {rate.replace('_', ' ')} to show: nothing handled")
        )
    rows = [(y, level_label(lv), count(a), percent(d), percent(w)) for y, lv, a, d, w in frame.iter_rows()]
    return _panel(
        "rates-by-level",
        "公开率与不予公开率 · Disclosure and withholding rates by agency level",
        "Disclosure rate = (予以公开 + 部分公开) / 总计 handled; withheld rate = 不予公开 / handled. "
        "Across agencies: Σ numerator / Σ denominator over the agencies whose both parts are known "
        "(metric_parts, as level_year_metrics), never an average of rates.",
        *charts,
        _table(("year", "level", "agencies", "disclosure rate", "withheld rate"), rows, numeric_from=2),
    )


def _withheld_mix(data: ReportData) -> str:
    frame = data.withheld_mix
    reasons = [c for c in taxonomy().categories if c.group == "withheld"]
    years = sorted(set(frame["year"]))
    share = {(y, c): s for y, c, _n, s in frame.iter_rows()}
    withheld = {(y, c): n for y, c, n, _s in frame.iter_rows()}
    parts = [
        Series(f"{i + 1}.{c.leaf}", [share.get((y, c.code)) for y in years], PALETTE[i % len(PALETTE)])
        for i, c in enumerate(reasons)
    ]
    chart = (
        stacked_chart(
            "withheld_mix",
            [str(y) for y in years],
            parts,
            title="Withheld reasons mix",
            x_label="report year 年度",
            y_label="share of 不予公开 (%)",
            fmt=_axis_percent,
            y_max=1.0,
            height=360,
        )
        if any(withheld.values())
        else _empty("no request was withheld in these years")
    )
    rows = [
        (
            f"{i + 1}.{c.leaf}",
            *(f"{count(withheld.get((y, c.code)))} ({percent(share.get((y, c.code)))})" for y in years),
        )
        for i, c in enumerate(reasons)
    ]
    return _panel(
        "withheld-mix",
        f"{taxonomy().groups['withheld']}理由构成 · Withheld reasons mix",
        "Each reason's share of 不予公开: Σ withheld_<reason> / Σ withheld, over the agency-years whose "
        "withheld count is known (withheld_share_<reason> in docs/metrics.md).",
        chart,
        _table(("reason", *map(str, years)), rows),
    )


def _movers(data: ReportData) -> str:
    frame = data.movers
    rows = [(a, float(c)) for a, c in frame.select("agency", "change").iter_rows()]
    chart = (
        hbar_chart(
            "movers",
            rows,
            title=f"Biggest changes in requests received, {data.last - 1}→{data.last}",
            x_label=f"change in requests received {data.last} vs {data.last - 1} (件)",
            fmt=signed,
            color="#3b6ea5",
            negative_color="#c0504d",
        )
        if rows
        else _empty(f"no agency has loaded reports for both {data.last - 1} and {data.last}")
    )
    table = _table(
        ("agency", "level", "region", str(data.last - 1), str(data.last), "change"),
        [
            (a, level_label(lv), r or "–", count(p), count(v), signed(c))
            for a, lv, r, p, v, c in frame.iter_rows()
        ],
        numeric_from=3,
    )
    return _panel(
        "movers",
        f"{data.last}年变化最大的机关 · The year's biggest movers",
        f"Agencies whose requests received (一、本年新收) changed most between {data.last - 1} and "
        f"{data.last} (metrics_yoy), largest absolute change first.",
        chart,
        table,
    )


def _highest(data: ReportData) -> str:
    parts = []
    for rate, name in (
        ("disclosure_rate", "disclosure rate 公开率"),
        ("withheld_rate", "withheld rate 不予公开率"),
    ):
        frame = data.highest[rate]
        rows = [(a, float(r)) for a, r in frame.select("agency", "rate").iter_rows()]
        parts.append(f"<h3>{esc(f'Highest {name}, {data.last}')}</h3>")
        if not rows:
            parts.append(
                _empty(f"no agency with at least {data.min_requests} requests has a {rate.replace('_', ' ')}")
            )
            continue
        parts.append(
            hbar_chart(
                f"highest_{rate}",
                rows,
                title=f"Highest {name}, {data.last}",
                x_label=f"{name} (%)",
                fmt=percent,
                color="#3b6ea5" if rate == "disclosure_rate" else "#c0504d",
                x_max=1.0,
            )
        )
        parts.append(
            _table(
                ("agency", "level", "requests received", name, "rank in level"),
                [
                    (a, level_label(lv), count(n), percent(r), f"{k} of {of}")
                    for a, lv, n, r, k, of in frame.iter_rows()
                ],
                numeric_from=2,
            )
        )
    default = (
        "" if data.min_requests == data.default_min_requests else f" (default {data.default_min_requests})"
    )
    return _panel(
        "highest",
        "最高比率 · Highest rates",
        f"Only agencies that received at least {data.min_requests} requests in {data.last}{default} are ranked "
        "on a rate: a handful of requests makes any rate extreme. Ranks are within year and level "
        f"(agency_rankings_min({data.min_requests})).",
        *parts,
    )


def _correction_rates(data: ReportData) -> str:
    frame = data.correction_rates
    tax = taxonomy()
    corrected = next(o.label for o in tax.appeal_outcomes if o.code == "corrected")
    reconsideration = next(p.label for p in tax.appeal_proceedings if p.code == "reconsideration")
    litigation = next(p.label for p in tax.appeal_proceedings if p.code == "litigation_direct").split("/")[0]
    series = [
        Series(
            f"{reconsideration} reconsideration", list(frame["reconsideration_correction_rate"]), PALETTE[0]
        ),
        Series(f"{litigation} litigation", list(frame["litigation_correction_rate"]), PALETTE[1]),
    ]
    chart = (
        bar_chart(
            "correction_rates",
            [str(y) for y in frame["year"]],
            series,
            title="Correction rates by year",
            x_label="report year 年度",
            y_label=f"{corrected} / decided (%)",
            fmt=_axis_percent,
            y_max=1.0,
        )
        if _has_values(series)
        else _empty("no reconsideration or lawsuit was decided in these years")
    )
    rows = [(y, percent(rr), count(rd), percent(lr), count(ld)) for y, rr, rd, lr, ld in frame.iter_rows()]
    return _panel(
        "correction-rates",
        f"{reconsideration}、{litigation}{corrected}率 · Reconsideration and litigation correction rates",
        "结果纠正 / (总计 − 尚未审结): pending cases are left out of the base. Litigation counts both kinds "
        "(direct suits and suits after reconsideration). Ratios of sums over agencies (metric_parts).",
        chart,
        _table(
            ("year", "reconsideration correction rate", "decided", "litigation correction rate", "decided"),
            rows,
        ),
    )


def _quality(data: ReportData) -> str:
    q = data.quality
    years = [str(y) for y in q["year"]]
    statuses = stacked_chart(
        "report_statuses",
        years,
        [Series(s, list(q[s]), STATUS_COLORS[s]) for s in STATUSES],
        title="Reports by status",
        x_label="report year 年度",
        y_label="reports 份",
        fmt=count,
        whole=True,
    )
    kinds = taxonomy().null_kinds
    cells = {(y, k): n for y, k, n in data.null_cells.iter_rows()}
    parts = [
        Series(f"{label} {kind}", [cells.get((int(y), kind), 0) for y in years], PALETTE[i + 3])
        for i, (kind, label) in enumerate(kinds.items())
    ]
    nulls = (
        stacked_chart(
            "null_cells",
            years,
            parts,
            title="Null cells by kind",
            x_label="report year 年度",
            y_label="null cells 个",
            fmt=count,
            whole=True,
        )
        if cells
        else _empty("no null cell in these years")
    )
    rows = [
        (
            r["year"],
            *(count(r[s]) for s in STATUSES),
            f"{count(r['failed_identities'])} in {count(r['reports_failing'])} reports",
            count(r["continuity_breaks"]),
            *(count(cells.get((r["year"], k), 0)) for k in kinds),
        )
        for r in q.iter_rows(named=True)
    ]
    return _panel(
        "quality",
        "数据质量 · Data quality",
        "Reports by status: ok; warning (loaded, flagged: an identity fails, cells are null or corrected by "
        "hand); rejected (not loaded); superseded (a later file replaces it). Identities A–D that fail "
        "(identity_failures); continuity breaks: identity E in the 总计 column (carryover_continuity); "
        "null cells by kind (cell_flags).",
        "<h3>Reports by status 报告状态</h3>",
        statuses,
        "<h3>Null cells by kind 空值单元格</h3>",
        nulls,
        _table(
            (
                "year",
                *STATUSES,
                "identities failed",
                "continuity breaks",
                *(f"{v} {k}" for k, v in kinds.items()),
            ),
            rows,
        ),
    )


def _scope(data: ReportData) -> str:
    span = str(data.first) if data.first == data.last else f"{data.first}–{data.last}"
    where = [f"region {data.region}"] if data.region else []
    where += [f"level {level_label(data.level)}"] if data.level else []
    return f"{span}{' · ' + ' · '.join(where) if where else ' · all regions and levels'}"


STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 "Helvetica Neue",Arial,sans-serif;margin:0;background:#f4f5f7;color:#222;line-height:1.45}
header{background:#1f3a5f;color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:2px 0;opacity:.9}main{max-width:1000px;margin:0 auto;padding:16px}
.facts{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 0}.facts div{background:#2c4f7c;padding:6px 12px;border-radius:6px}
.facts b{font-size:20px;display:block}
.panel{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 24px;margin:16px 0}
.panel h2{font-size:19px;margin:0 0 4px;color:#1f3a5f}.panel h3{font-size:15px;margin:14px 0 2px}
.note{color:#555;font-size:13px;margin:0 0 8px}.empty{color:#777;font-style:italic}
svg.chart{width:100%;max-width:760px;height:auto;display:block;margin:8px 0}
svg .grid{stroke:#e3e3e3}svg .axisline{stroke:#444}svg .tick{font-size:12px;fill:#333}
svg .axis{font-size:13px;fill:#222}svg .legend{font-size:12px;fill:#222}svg .value{font-size:11px;fill:#333}
svg .na{font-size:12px;fill:#999}
table{border-collapse:collapse;font-size:13px;margin:8px 0;width:100%}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 8px;text-align:left}th{background:#f0f2f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
footer{color:#666;font-size:12px;text-align:center;padding:12px}
"""


def render_html(data: ReportData, *, generated: datetime | None = None) -> str:
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    t = data.totals
    facts = "".join(
        f"<div><b>{esc(v)}</b>{esc(k)}</div>"
        for k, v in (
            ("agencies 机关", count(t["agencies"])),
            ("reports loaded 报告", count(t["reports_loaded"])),
            ("requests received 新收申请", count(t["requests_received"])),
            ("min. requests to rank a rate", str(data.min_requests)),
        )
    )
    panels = (
        _requests(data),
        _rates_by_level(data),
        _withheld_mix(data),
        _movers(data),
        _highest(data),
        _correction_rates(data),
        _quality(data),
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-Hans"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc('政府信息公开年度报告数据 · ' + _scope(data))}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>政府信息公开工作年度报告 · Government information disclosure reports</h1>"
        f"<p>{esc(_scope(data))}</p><div class=facts>{facts}</div></header>"
        f"<main>{''.join(panels)}</main>"
        f"<footer>gongkai report · generated {esc(when)} from the warehouse · "
        "formulas: docs/metrics.md</footer></body></html>\n"
    )
