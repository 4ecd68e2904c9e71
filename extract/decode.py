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


_SAMPLE = 6000  # characters scored by _plausibility
_HINT_CAP = 50  # report words counted at most: the bonus is at most _HINT_CAP / 1000
_PREFIX = 256  # characters checked first when a candidate may be dismissed (decode)


def _plausibility(text: str) -> float:
    """Share of plausible characters in the first 6000, plus a small bonus for report words."""
    if not text:
        return 0.0
    sample = text[:_SAMPLE]
    good = len(sample) - len(_PLAUSIBLE.sub("", sample))  # a regex pass: this runs on every file
    return good / len(sample) + _hint_bonus(text)


def _hint_bonus(text: str) -> float:
    hints = 0
    for ch in _REPORT_HINTS:
        hints += text.count(ch)
        if hints >= _HINT_CAP:  # capped: a report reaches it within the first few characters
            break
    return min(hints, _HINT_CAP) / 1000


def _utf16_bound(data: bytes, codec: str) -> float:
    """An upper bound of ``_plausibility(data.decode(codec, errors="replace"))`` for a UTF-16
    codec, without decoding it all: GB18030 bytes read as UTF-16 are mostly implausible
    characters, and scoring them in full (one regex match per short run) is what is slow.

    The first ``_PREFIX`` characters decoded from the first ``2 * _PREFIX`` bytes are those of
    the full text, but for the last one (perhaps half a surrogate pair): their implausible
    ones are implausible in the full sample too. The sample is at most ``len(data) // 2``
    characters (two bytes or more each), and a longer sample only raises the share.
    """
    head = data[: 2 * _PREFIX].decode(codec, errors="replace")[:-1]
    size = min(len(data) // 2, _SAMPLE)
    bad = len(_PLAUSIBLE.sub("", head))
    return (size - bad) / size + _HINT_CAP / 1000


def _surely_not_utf8(data: bytes) -> bool:
    """True when decoding ``data`` as UTF-8 would replace more than one character in 200 (the
    lenient UTF-8 test in ``decode``), known from a prefix: a GB18030 file fails on nearly every
    character, so a few percent of it settles the question at a fraction of a full decode.

    Every U+FFFD of the prefix's decoding is in the full decoding, but for those coming from
    its last three bytes (a sequence the cut left incomplete); the full text has at most
    ``len(data)`` characters.
    """
    head = data[: 1024 + len(data) // 25]
    return (head.decode("utf-8", errors="replace").count("\ufffd") - 3) * 200 > len(data)


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
    if not _surely_not_utf8(data):
        text = data.decode("utf-8", errors="replace")
        replaced = text.count("\ufffd")
        if replaced * 200 <= len(text):
            return Decoded(text, "utf-8", replaced)
    # Not UTF-8: the most plausible of GB18030 and BOM-less UTF-16.
    text = data.decode("gb18030", errors="replace")
    replaced = text.count("\ufffd")
    best = (_plausibility(text) - replaced / max(len(text), 1), Decoded(text, "gb18030", replaced))
    if len(data) % 2:
        return best[1]
    for codec in ("utf-16-le", "utf-16-be"):
        # Only a higher score wins, and the penalty for replaced characters only lowers one.
        if _utf16_bound(data, codec) <= best[0]:
            continue
        text = data.decode(codec, errors="replace")
        replaced = text.count("\ufffd")
        score = _plausibility(text) - replaced / max(len(text), 1)
        if score > best[0]:
            best = (score, Decoded(text, codec, replaced))
    return best[1]
