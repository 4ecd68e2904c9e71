"""Text normalisation shared by the readers and the matcher.

Full-width digits and punctuation become ASCII (NFKC), whitespace inside labels disappears,
enumerators such as （一）, 一、, 1., 1、, 1． and （1） are recognised so a label can be split
into its parent and leaf parts, and labels are compared with a small edit distance.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CN_NUM = "一二三四五六七八九十"
# An enumerator at the start of a label segment: （一） (1) 一、 1. 1、 1． 1)
ENUMERATOR = re.compile(rf"(?:\((?:[{_CN_NUM}]+|\d{{1,2}})\)|[{_CN_NUM}]+[、.]|\d{{1,2}}(?:[、.](?!\d)|\)))")
_PAREN_REMARK = re.compile(r"\([^()]*\)")
_WS = re.compile(r"\s+")
_QUOTES = str.maketrans("", "", "\"'“”‘’「」『』《》")
ARTEFACTS = re.compile(r"\[bookmark:[^\]]*\]")


def nfkc(text: str) -> str:
    """Full-width to half-width (０１２（），．：→ 012(),.:) and compatibility forms folded."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def squash(text: str) -> str:
    """NFKC, then drop every kind of whitespace (labels break mid-word: 商业⏎企业)."""
    return _WS.sub("", nfkc(text)).replace("\u200b", "").replace("\ufeff", "")


@lru_cache(maxsize=16384)
def label_key(text: str) -> str:
    """The comparable form of one label segment: squashed, unquoted, remarks dropped."""
    text = squash(text).translate(_QUOTES)
    text = _PAREN_REMARK.sub("", text)
    return text.strip(":：;；,，。、.")


@lru_cache(maxsize=8192)
def leaf_segments(label: str) -> tuple[str, ...]:
    """Split a (possibly merged) row label into segments at its enumerators.

    '三、本年度办理结果（一）予以公开' → ['本年度办理结果', '予以公开'].
    """
    text = squash(label).translate(_QUOTES)
    # Keep parenthesised remarks out of the split: only enumerators start a segment.
    parts = ENUMERATOR.split(text)
    return tuple(key for part in parts if (key := label_key(part)))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit+1) once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        row_min = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(value)
            row_min = min(row_min, value)
        if row_min > limit:
            return limit + 1
        previous = current
    return previous[-1]


def tolerance(label: str) -> int:
    """Edits allowed when matching a label of this length: none for very short labels."""
    n = len(label)
    if n <= 3:
        return 0
    if n <= 7:
        return 1
    return n // 4


class LabelIndex:
    """Tolerant lookup of label keys: exact first, then the unique closest within tolerance."""

    def __init__(self, entries: dict[str, str]):
        # label key -> code
        self._exact = {label_key(k): v for k, v in entries.items()}
        # Fuzzy answers by key: header and narrative cells recur in every report, and a miss
        # costs an edit distance against every label.
        self._fuzzy: dict[str, str | None] = {}

    def lookup(self, key: str) -> str | None:
        if not key:
            return None
        hit = self._exact.get(key)
        if hit is not None:
            return hit
        if key in self._fuzzy:
            return self._fuzzy[key]
        if len(self._fuzzy) > 50_000:  # bounded: a stream of unique junk must not grow it forever
            self._fuzzy.clear()
        self._fuzzy[key] = answer = self._closest(key)
        return answer

    def _closest(self, key: str) -> str | None:
        best: list[tuple[int, str]] = []
        for label, code in self._exact.items():
            limit = tolerance(label)
            if limit == 0:
                continue
            d = edit_distance(key, label, limit)
            if d <= limit:
                best.append((d, code))
        if not best:
            return None
        best.sort()
        if len(best) > 1 and best[0][0] == best[1][0] and best[0][1] != best[1][1]:
            return None  # two labels equally close: never decide by position alone
        return best[0][1]
