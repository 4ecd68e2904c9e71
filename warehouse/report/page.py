"""The report as one self-contained HTML page: inline CSS and SVG, no script, no external URL.

A Content-Security-Policy forbids every fetch and every script, so even a string that escaped
escaping could not run or call out; every string from the data is escaped all the same.
"""

from __future__ import annotations

from datetime import UTC, datetime

from warehouse.report import panels
from warehouse.report.data import ReportData
from warehouse.report.parts import count, level_label
from warehouse.report.svg import esc

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


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
    sections = (
        panels.requests_panel(data),
        panels.rates_by_level_panel(data),
        panels.withheld_mix_panel(data),
        panels.movers_panel(data),
        panels.highest_panel(data),
        panels.correction_rates_panel(data),
        panels.quality_panel(data),
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-Hans"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc('政府信息公开年度报告数据 · ' + _scope(data))}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>政府信息公开工作年度报告 · Government information disclosure reports</h1>"
        f"<p>{esc(_scope(data))}</p><div class=facts>{facts}</div></header>"
        f"<main>{''.join(sections)}</main>"
        f"<footer>gongkai report · generated {esc(when)} from the warehouse · "
        "formulas: docs/metrics.md</footer></body></html>\n"
    )
