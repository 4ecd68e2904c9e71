"""Bytes to text: BOMs, UTF-16, UTF-8, GB18030 — detected, never crashing on a bad byte."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Characters that almost always appear in a report: scoring candidate decodings by them tells
# GB18030 from a lucky UTF-8/latin decode without a detection library.
_REPORT_HINTS = "政府信息公开年度报告申请情况总计行政复议诉讼"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int  # bytes that could not be decoded and became U+FFFD


# Characters a Chinese report is made of: CJK, printable ASCII, whitespace, CJK and full-width
# punctuation, general punctuation (quotes, dashes).
_PLAUSIBLE = re.compile("[\u4e00-\u9fff\x20-\x7e\t\n\r\u3000-\u303f\uff00-\uffef\u2010-\u201f]+")


def _plausibility(text: str) -> float:
    """Share of plausible characters in the first 6000, plus a small bonus for report words."""
    if not text:
        return 0.0
    sample = text[:6000]
    good = len(sample) - len(_PLAUSIBLE.sub("", sample))  # a regex pass: this runs on every file
    hints = sum(text.count(ch) for ch in _REPORT_HINTS)
    return good / len(sample) + min(hints, 50) / 1000


def decode(data: bytes, declared: str | None = None) -> Decoded:
    """Decode report bytes. ``declared`` (e.g. an HTML meta charset) is tried first."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            text = data.decode(encoding, errors="replace")
            return Decoded(text, encoding.replace("-sig", ""), text.count("\ufffd"))
    candidates = []
    if declared:
        try:
            codecs.lookup(declared)
            candidates.append(declared.lower())
        except LookupError:
            pass
    candidates.append("utf-8")
    for encoding in dict.fromkeys(candidates):
        # GBK and GB2312 are subsets of GB18030: decode them with the superset.
        codec = "gb18030" if encoding in ("gbk", "gb2312", "gb_2312-80", "x-gbk") else encoding
        try:
            return Decoded(data.decode(codec), codec, 0)
        except UnicodeDecodeError:
            pass
    # UTF-8 but for a few bad bytes (a file cut mid-character, one corrupt byte): still UTF-8.
    # GB18030 text read as UTF-8 fails on nearly every character, so this cannot mistake it;
    # without it, one bad byte would turn a whole UTF-8 report into GB18030 mojibake.
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd")
    if replaced * 200 <= len(text):
        return Decoded(text, "utf-8", replaced)
    # Not UTF-8: the most plausible of GB18030 and BOM-less UTF-16.
    best: tuple[float, Decoded] | None = None
    for codec in ("gb18030", "utf-16-le", "utf-16-be"):
        if codec.startswith("utf-16") and len(data) % 2:
            continue
        text = data.decode(codec, errors="replace")
        replaced = text.count("\ufffd")
        score = _plausibility(text) - replaced / max(len(text), 1)
        if best is None or score > best[0]:
            best = (score, Decoded(text, codec, replaced))
    assert best is not None
    return best[1]
