"""Bytes to text: BOMs, UTF-16, UTF-8, GB18030 — detected, never crashing on a bad byte."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# Characters that almost always appear in a report: scoring candidate decodings by them tells
# GB18030 from a lucky UTF-8/latin decode without a detection library.
_REPORT_HINTS = "政府信息公开年度报告申请情况总计行政复议诉讼"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int  # bytes that could not be decoded and became U+FFFD


def _utf16_without_bom(data: bytes) -> str | None:
    """Detect BOM-less UTF-16 by the zero bytes of its ASCII-range code units."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4000]
    even_zero = sample[0::2].count(0)
    odd_zero = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_zero > half * 0.2 and even_zero < half * 0.05:
        return "utf-16-le"
    if even_zero > half * 0.2 and odd_zero < half * 0.05:
        return "utf-16-be"
    return None


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
    utf16 = _utf16_without_bom(data)
    if utf16:
        text = data.decode(utf16, errors="replace")
        return Decoded(text, utf16, text.count("\ufffd"))

    candidates = []
    if declared:
        try:
            codecs.lookup(declared)
            candidates.append(declared.lower())
        except LookupError:
            pass
    candidates += ["utf-8", "gb18030"]
    best: Decoded | None = None
    for encoding in dict.fromkeys(candidates):
        # GBK and GB2312 are subsets of GB18030: decode them with the superset.
        codec = "gb18030" if encoding in ("gbk", "gb2312", "gb_2312-80", "x-gbk") else encoding
        try:
            text = data.decode(codec)
            return Decoded(text, codec, 0)
        except UnicodeDecodeError:
            text = data.decode(codec, errors="replace")
            candidate = Decoded(text, codec, text.count("\ufffd"))
            score = (candidate.replaced, -sum(text.count(ch) for ch in _REPORT_HINTS))
            if best is None or score < (best.replaced, -sum(best.text.count(ch) for ch in _REPORT_HINTS)):
                best = candidate
    assert best is not None
    return best
