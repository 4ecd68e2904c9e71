"""One function per panel of the report: a title, what the numbers are, a chart and the table of
its numbers. Labels of codes come from the taxonomy."""

from __future__ import annotations

from schemas.taxonomy import taxonomy
from warehouse.report.data import ReportData
from warehouse.report.parts import (
    STATUS_COLORS,
    STATUSES,
    axis_percent,
    count,
    empty,
    has_values,
    level_label,
    panel,
    percent,
    signed,
    table,
)
from warehouse.report.svg import PALETTE, Series, bar_chart, esc, hbar_chart, stacked_chart


def requests_panel(data: ReportData) -> str:
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
    return panel(
        "requests",
        f"{label} · Requests received by year",
        "一、本年新收 (new_received), 总计 column, summed over the agencies with a loaded report "
        "(agency_year_metrics). Carried-over requests are not included.",
        chart,
        table(("year", "agencies", "requests received"), rows),
    )


def rates_by_level_panel(data: ReportData) -> str:
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
                fmt=axis_percent,
                y_max=1.0,
            )
            if has_values(series)
            else empty(f"no {rate.replace('_', ' ')} to show: nothing handled")
        )
    rows = [(y, level_label(lv), count(a), percent(d), percent(w)) for y, lv, a, d, w in frame.iter_rows()]
    return panel(
        "rates-by-level",
        "公开率与不予公开率 · Disclosure and withholding rates by agency level",
        "Disclosure rate = (予以公开 + 部分公开) / 总计 handled; withheld rate = 不予公开 / handled. "
        "Across agencies: Σ numerator / Σ denominator over the agencies whose both parts are known "
        "(metric_parts, as level_year_metrics), never an average of rates.",
        *charts,
        table(("year", "level", "agencies", "disclosure rate", "withheld rate"), rows, numeric_from=2),
    )


def withheld_mix_panel(data: ReportData) -> str:
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
            fmt=axis_percent,
            y_max=1.0,
            height=360,
        )
        if any(withheld.values())
        else empty("no request was withheld in these years")
    )
    rows = [
        (
            f"{i + 1}.{c.leaf}",
            *(f"{count(withheld.get((y, c.code)))} ({percent(share.get((y, c.code)))})" for y in years),
        )
        for i, c in enumerate(reasons)
    ]
    return panel(
        "withheld-mix",
        f"{taxonomy().groups['withheld']}理由构成 · Withheld reasons mix",
        "Each reason's share of 不予公开: Σ withheld_<reason> / Σ withheld, over the agency-years whose "
        "withheld count is known (withheld_share_<reason> in docs/metrics.md).",
        chart,
        table(("reason", *map(str, years)), rows),
    )


def movers_panel(data: ReportData) -> str:
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
        else empty(f"no agency has loaded reports for both {data.last - 1} and {data.last}")
    )
    listing = table(
        ("agency", "level", "region", str(data.last - 1), str(data.last), "change"),
        [
            (a, level_label(lv), r or "–", count(p), count(v), signed(c))
            for a, lv, r, p, v, c in frame.iter_rows()
        ],
        numeric_from=3,
    )
    return panel(
        "movers",
        f"{data.last}年变化最大的机关 · The year's biggest movers",
        f"Agencies whose requests received (一、本年新收) changed most between {data.last - 1} and "
        f"{data.last} (metrics_yoy), largest absolute change first.",
        chart,
        listing,
    )


def highest_panel(data: ReportData) -> str:
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
                empty(f"no agency with at least {data.min_requests} requests has a {rate.replace('_', ' ')}")
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
            table(
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
    return panel(
        "highest",
        "最高比率 · Highest rates",
        f"Only agencies that received at least {data.min_requests} requests in {data.last}{default} are ranked "
        "on a rate: a handful of requests makes any rate extreme. Ranks are within year and level "
        f"(agency_rankings_min({data.min_requests})).",
        *parts,
    )


def correction_rates_panel(data: ReportData) -> str:
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
            fmt=axis_percent,
            y_max=1.0,
        )
        if has_values(series)
        else empty("no reconsideration or lawsuit was decided in these years")
    )
    rows = [(y, percent(rr), count(rd), percent(lr), count(ld)) for y, rr, rd, lr, ld in frame.iter_rows()]
    return panel(
        "correction-rates",
        f"{reconsideration}、{litigation}{corrected}率 · Reconsideration and litigation correction rates",
        "结果纠正 / (总计 − 尚未审结): pending cases are left out of the base. Litigation counts both kinds "
        "(direct suits and suits after reconsideration). Ratios of sums over agencies (metric_parts).",
        chart,
        table(
            ("year", "reconsideration correction rate", "decided", "litigation correction rate", "decided"),
            rows,
        ),
    )


def quality_panel(data: ReportData) -> str:
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
        else empty("no null cell in these years")
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
    return panel(
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
        table(
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
