"""Agency and report year: from the manifest, else the title or first paragraph, else the path.

Never from the publication date, which is always in the following year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from extract.normalize import nfkc

# "2022年", "2022 年度" — but not a date "2023年1月12日" (a publication date).
_YEAR = re.compile(r"(20[1-4]\d)\s*年(?!\s*\d{1,2}\s*月)")
_TITLE_WORDS = re.compile(r"政府信息公开|政务公开|信息公开")
_REPORT = re.compile(r"报告")
# A title: <agency><year>年(度)…报告 or <year>年(度)<agency>政府信息公开…报告
_AGENCY_FIRST = re.compile(r"^(?P<agency>.+?)\s*(?P<year>20[1-4]\d)\s*年度?\s*(?:政府|政务|信息)")
_YEAR_FIRST = re.compile(
    r"^(?P<year>20[1-4]\d)\s*年度?\s*(?P<agency>.+?)\s*(?:政府信息公开|政务公开|信息公开)"
)
_PREFIXES = re.compile(r"^(?:标题|题目|title)\s*[:：]\s*", re.IGNORECASE)
# Markdown or transcript decoration around a title line: "# 标题", "> 标题", "**标题**".
_DECORATION = re.compile(r"^(?:#{1,6}|>|\*{1,2}|_{1,2})\s*|\s*(?:\*{1,2}|_{1,2}|#+)\s*$")
# Words that are not an agency name when they are all a title has.
_NOT_AGENCY = re.compile(
    r"^(?:(?:我|本)(?:单位|局|委|办|大队|中心|区|县|市|镇|街道|部门)?|政府|政务|年度|工作)$"
)
# A line that is only an agency name: no digits or sentence punctuation, an agency-like ending.
_AGENCY_LINE = re.compile(
    r"^[^\d，,。；;：:、]{2,30}(?:政府|局|委|委员会|办|办公室|厅|院|署|中心|管委会|街道办事处|街道|镇|乡|队|所|会)$"
)
_YEAR_FOLDER = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True)
class Metadata:
    agency: str | None
    agency_source: str | None  # manifest | title | None
    year: int | None
    year_source: str | None  # manifest | title | first paragraph | path


def _clean_agency(name: str) -> str | None:
    name = re.sub(r"\s+", "", name).strip("：:，,。、 ")
    if not name or _NOT_AGENCY.match(name) or len(name) > 40:
        return None
    return name


def _head(text: str, lines: int = 15) -> list[str]:
    """The first ``lines`` non-blank lines, stripped but not normalised (``nfkc`` costs time
    on long lines, and most titles are found on the first line)."""
    head: list[str] = []
    for raw in text.splitlines():
        if raw.strip():
            head.append(raw)
            if len(head) == lines:
                break
    return head


def _bare(raw: str) -> str:
    """A head line as a title is read: normalised, without a label or Markdown marks."""
    line = _DECORATION.sub("", nfkc(raw).strip())
    return _PREFIXES.sub("", _DECORATION.sub("", line)).strip()


def title_metadata(text: str) -> tuple[str | None, int | None, str | None]:
    """(agency, year, where the year came from) read from the title or first paragraph."""
    raw_head = _head(text)  # only the head of the document is read: the title lives there
    head: list[str] = []  # normalised lines, filled as far as the title search goes
    for n, raw in enumerate(raw_head):
        i = len(head)
        head.append(line := _bare(raw))
        if len(line) > 80 or not _TITLE_WORDS.search(line):
            continue
        if not _REPORT.search(line):
            # A title wrapped over two lines (text pulled from a PDF): "…政府信息公开工作" ⏎ "年度报告".
            rest = _bare(raw_head[n + 1]) if n + 1 < len(raw_head) else ""
            if not (len(rest) <= 12 and _REPORT.search(rest)):
                continue
            line += rest
        for pattern in (_AGENCY_FIRST, _YEAR_FIRST):
            m = pattern.search(line)
            if m and (agency := _clean_agency(m["agency"])):
                return agency, int(m["year"]), "title"
        m = _YEAR.search(line)
        if m:
            # A title printed over two lines: the agency alone on the line above "2024年…报告".
            above = head[i - 1] if i else ""
            agency = (
                _clean_agency(above) if line.startswith(m.group(0)) and _AGENCY_LINE.match(above) else None
            )
            return agency, int(m.group(1)), "title"
    # No title: the year of the first paragraph that names one (the reporting period).
    for line in head:
        if len(line) < 20:
            continue
        m = _YEAR.search(line)
        if m:
            return None, int(m.group(1)), "first paragraph"
    return None, None, None


def path_year(path: str) -> int | None:
    """The year folder of ``data/raw/<year>/…`` (any ancestor folder named like a year)."""
    for part in reversed(PurePath(path).parts[:-1]):
        if _YEAR_FOLDER.match(part):
            return int(part)
    return None


def resolve(
    text: str,
    path: str,
    manifest_agency: str | None = None,
    manifest_year: int | None = None,
) -> Metadata:
    agency, year, year_source = title_metadata(text)
    agency_source = "title" if agency else None
    if manifest_agency:
        agency, agency_source = manifest_agency, "manifest"
    if manifest_year:
        year, year_source = manifest_year, "manifest"
    if year is None:
        year = path_year(path)
        year_source = "path" if year else None
    return Metadata(agency, agency_source, year, year_source)
