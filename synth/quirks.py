"""What real reports do to their text (QUIRKS.md), as switches the renderer honours.

Every quirk here keeps the report *readable*: a person could still tell each cell's value. The
round-trip tests rely on that — the extractor must recover exactly the generator's values.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache, lru_cache

from schemas.taxonomy import taxonomy

# How a null cell is printed (QUIRKS "Values": blank, /, -, —, ——, 无).
BLANK_MARKS = ("", "/", "-", "—", "——", "无")
DASHES = BLANK_MARKS[1:]
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "utf-16")
NUMBERINGS = ("1.", "1、", "1．", "1. ", "（1）")
TITLE_STYLES = ("plain", "spaced", "nian_du", "year_first")
HEADING_STYLES = ("standard", "arabic", "missing_two")  # Quirks.random; also "renumbered"
_FULLWIDTH = str.maketrans("0123456789,.-", "０１２３４５６７８９，．－")
_SUB_ITEM = re.compile(r"^(\d{1,2})\.")
_ENUMERATOR = re.compile(r"^（([一二三四五六七八九十]+)）")
_HAN = re.compile(r"[\u4e00-\u9fff]")
MIN_TYPO_LENGTH = 8  # never misspell short labels: a short label has no room for a typo


@dataclass(frozen=True)
class Quirks:
    """Switches for the renderer; ``Quirks()`` is a clean report, ``Quirks.random`` a realistic one."""

    blank_marks: tuple[str, ...] = ("",)  # a null cell prints as one of these
    fullwidth_digits: float = 0.0  # share of value cells printed ０１２
    thousands: bool = False  # 23,871 for numbers of 1000 and more
    notes_in_cells: float = 0.0  # share of table 二 counts printed 22（其中修订16件）
    ascii_parens: bool = False  # (一) instead of （一）, everywhere
    ascii_enumerators: bool = False  # only the leading enumerator: (一) 予以公开 (seed 002)
    ascii_punctuation: bool = False  # ：，→ :, as in seed 001's (单位:万元)
    numbering: str = "1."  # sub-item enumerator style: 1. 1、 1． (1)
    stray_spaces: float = 0.0  # share of labels with a space inside (4. 无正当理由大量反复 申请)
    broken_headers: bool = False  # header cells broken mid-word: 商业⏎企业, 结果 |
    typos: int = 0  # long table 三 labels with one character dropped or swapped
    shifted_rows: bool = False  # text/tabs rows that lost their leading empty cells (seed 002)
    bookmark: bool = False  # [bookmark: _GoBack] Word artefacts
    ascii_quotes: bool = False  # "三安全一稳定" instead of “三安全一稳定”
    heading_style: str = "standard"  # standard | arabic (1. 收到和处理…) | missing_two (no 二、) | renumbered (tables 一、二、三)
    title_style: str = "plain"  # plain | spaced | nian_du | year_first
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gb18030 | utf-16
    crlf: bool = False  # Windows line endings
    # An empty cell where the layout itself makes the column alignment undecidable (an empty
    # first value cell of a row that also ends in padding). Off: such a cell prints a dash, so
    # the text stays unambiguous. On: it prints empty, and the extractor nulls the whole row.
    edge_blanks: bool = False
    # text/pipes: the spanned-cell markers right after the label (`| 一、本年新收…` ⏎ `|||` ⏎ `0`
    # ⏎ `|` …) instead of at the row's end as seed 001 has them. Both occur.
    markers_after_label: bool = False

    @classmethod
    def random(cls, rng: random.Random, *, edge_blanks: bool = False) -> Quirks:
        """A random mix: each quirk on with roughly the frequency seen in real reports."""
        return cls(
            blank_marks=tuple(rng.sample(BLANK_MARKS, rng.randint(1, 3))),
            fullwidth_digits=rng.choice([0.0, 0.0, 0.1, 1.0]),
            thousands=rng.random() < 0.3,
            notes_in_cells=rng.choice([0.0, 0.0, 0.3]),
            ascii_parens=rng.random() < 0.3,
            ascii_enumerators=rng.random() < 0.2,
            ascii_punctuation=rng.random() < 0.2,
            numbering=rng.choice(NUMBERINGS),
            stray_spaces=rng.choice([0.0, 0.0, 0.1]),
            broken_headers=rng.random() < 0.4,
            typos=rng.choice([0, 0, 0, 1, 2]),
            shifted_rows=rng.random() < 0.5,
            bookmark=rng.random() < 0.2,
            ascii_quotes=rng.random() < 0.2,
            heading_style=rng.choice(HEADING_STYLES),
            title_style=rng.choice(TITLE_STYLES),
            encoding=rng.choices(ENCODINGS, weights=[5, 1, 4, 1])[0],
            crlf=rng.random() < 0.2,
            edge_blanks=edge_blanks,
        )


# ---------------------------------------------------------------------------- values


def format_value(
    value: int | float | None,
    rng: random.Random,
    quirks: Quirks,
    *,
    unit: str | None = None,
    note: bool = False,
    blank: str | None = None,
) -> str:
    """The printed text of one value cell. ``blank`` forces the mark used for a null."""
    if value is None:
        return blank if blank is not None else rng.choice(quirks.blank_marks)
    if quirks.thousands and abs(value) >= 1000:
        text = f"{value:,}" if isinstance(value, int) else _grouped_float(value)
    else:
        text = repr(value) if isinstance(value, float) else str(value)
    if rng.random() < quirks.fullwidth_digits:
        text = text.translate(_FULLWIDTH)
    if unit:
        text += unit
    if note and isinstance(value, int) and value > 0:
        part = rng.randint(0, value)
        text += rng.choice(["（其中修订{}件）", "（含自然失效{}件）", "(其中新制定{}件)"]).format(part)
    return text


def _grouped_float(value: float) -> str:
    whole, _, fraction = repr(value).partition(".")
    return f"{int(whole):,}.{fraction}"


# ---------------------------------------------------------------------------- labels


def style_label(text: str, rng: random.Random, quirks: Quirks) -> str:
    """Parentheses, sub-item numbering, quotes and stray spaces as this report prints them."""
    m = _SUB_ITEM.match(text)
    if m:
        n = m.group(1)
        enumerator = quirks.numbering.replace("1", n)
        text = enumerator + text[m.end() :]
    if quirks.ascii_quotes:
        text = text.replace("“", '"').replace("”", '"')
    if quirks.ascii_enumerators:
        text = _ENUMERATOR.sub(lambda m: f"({m.group(1)}) ", text, count=1)
    if quirks.ascii_parens:
        text = text.replace("（", "(").replace("）", ")")
    if quirks.ascii_punctuation:
        text = text.replace("：", ":").replace("，", ",")
    if rng.random() < quirks.stray_spaces:
        positions = [i for i in range(1, len(text)) if _HAN.match(text[i - 1]) and _HAN.match(text[i])]
        if positions:
            i = rng.choice(positions)
            text = text[:i] + " " + text[i:]
    return text


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def typo_candidates() -> list[str]:
    """Table 三 leaves long enough to survive one dropped or swapped character."""
    return list(_typo_candidates())


@cache  # asked once per table-三 row of every rendered report: computed once
def _typo_candidates() -> tuple[str, ...]:
    return tuple(
        c.leaf
        for c in taxonomy().categories
        if len(c.leaf) >= MIN_TYPO_LENGTH and all(_HAN.match(ch) or ch == "、" for ch in c.leaf)
    )


def misspell(leaf: str, rng: random.Random) -> str:
    """Drop or swap ONE character of a long leaf; the result stays closest to its own leaf.

    The typo stays within edit distance len(leaf)//4 of the canonical leaf and strictly closer
    to it than to any other leaf, so a tolerant matcher can still place the row.
    """
    for _ in range(20):
        i = rng.randrange(1, len(leaf) - 1)
        if rng.random() < 0.5:
            typo = leaf[:i] + leaf[i + 1 :]
        else:
            typo = leaf[:i] + leaf[i + 1] + leaf[i] + leaf[i + 2 :]
        if _typo_ok(typo, leaf):
            return typo
    return leaf


@lru_cache(maxsize=8192)  # a leaf has a few dozen one-character typos: each is judged once
def _typo_ok(typo: str, leaf: str) -> bool:
    own = levenshtein(typo, leaf)
    others = [c.leaf for c in taxonomy().categories if c.leaf != leaf]
    # A length difference is a lower bound of the distance: most leaves need no full comparison.
    return (
        typo != leaf
        and 0 < own <= len(leaf) // 4
        and all(abs(len(typo) - len(o)) > own or levenshtein(typo, o) > own for o in others)
    )
