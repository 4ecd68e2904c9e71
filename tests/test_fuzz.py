"""Fuzzing (promise 6) and narrative-only edits (promise 7), the short run of ``make test``.

Mutated real (../shared, when present) and generated documents in every format go through
``extract_bytes`` in-process: the answer is always a report with status ok / warning /
rejected, a one-line reason, never an exception — and never an exception caught by a safety
net either (``reader failed`` / ``matcher failed`` are bugs). The long run (≥ 10,000 inputs,
each in a guarded child with a time limit, so a hang would show) is ``bench/fuzz.py``; its
figures are in docs/reliability.md. Seeds and mutators are shared with it.

Edits confined to the prose around the tables must not change a single extracted value:
every value equals the generator's truth or is null (and flagged).
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import (
    NARRATIVE_KINDS,
    Seed,
    mutate,
    mutate_narrative,
    problems,
    real_seeds,
    synthetic_seeds,
)
from extract import extract_bytes
from extract.readers import text as text_reader
from synth.render_docx import render_docx
from synth.verify import mismatches


@cache
def seeds() -> tuple[Seed, ...]:
    # LibreOffice renders one synthetic PDF when installed (a few seconds, once per session).
    return tuple(synthetic_seeds(3) + synthetic_seeds(1, pdf=True)[-2:] + real_seeds())


@cache
def narrative_seeds() -> tuple[Seed, ...]:
    return tuple(s for s in seeds() if s.truth is not None and s.kind in NARRATIVE_KINDS)


FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def test_seeds_cover_every_format() -> None:
    kinds = {s.kind for s in seeds()}
    assert {"txt", "md", "html", "docx", "pdf"} <= kinds
    layouts = {s.name.split("-", 1)[1] for s in seeds() if s.name.startswith("s0-")}
    every = {"cells.txt", "pipes.txt", "tabs.txt", "spaces.txt", "runon.txt", "report.md", "report.html"}
    assert every | {"report.docx"} <= layouts


def test_unmutated_synthetic_seeds_are_exact() -> None:
    # The baseline the properties below start from: every seed extracts to its truth.
    for seed in seeds():
        if seed.truth is None:
            continue
        report = extract_bytes(seed.data, seed.name)
        assert report.status != "rejected", (seed.name, report.error)
        assert [m for m in mismatches(report.to_json(), seed.truth) if m.wrong] == [], seed.name


@FAST
@given(index=st.integers(0, 10**6), other=st.integers(0, 10**6), seed=st.integers(0, 2**32 - 1))
def test_mutated_documents_always_get_a_report(index: int, other: int, seed: int) -> None:
    pool = seeds()
    source = pool[index % len(pool)]
    data = mutate(source, random.Random(seed), pool[other % len(pool)])
    report = extract_bytes(data, source.name)
    assert problems(report) == [], (source.name, seed)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(index=st.integers(0, 10**6), seed=st.integers(0, 2**32 - 1))
def test_narrative_edits_never_change_a_value(index: int, seed: int) -> None:
    pool = narrative_seeds()
    source = pool[index % len(pool)]
    data = mutate_narrative(source, random.Random(seed))
    report = extract_bytes(data, source.name)
    assert problems(report) == []
    if report.status != "rejected":
        assert source.truth is not None
        wrong = [m for m in mismatches(report.to_json(), source.truth) if m.wrong]
        assert wrong == [], (source.name, seed, wrong[:3])


def test_narrative_edits_touch_only_prose() -> None:
    # The edit really happens, and leaves the tables' text as rendered.
    source = next(s for s in narrative_seeds() if s.name.endswith("-tabs.txt"))
    before = source.data.decode(source.encoding)
    changed = 0
    for seed in range(20):
        after = mutate_narrative(source, random.Random(seed)).decode(source.encoding)
        changed += after != before
        table_part = before[before.index("主动公开政府信息情况") : before.index("存在的主要问题")]
        assert table_part in after
    assert changed >= 18


# ---------------------------------------------------------------------------- regressions found by fuzzing


def test_pipes_row_with_an_empty_cell_between_two_pipes() -> None:
    # "a||b" continuing a pipes row: the empty cell left None where a string was expected.
    rows = text_reader._pipes_layout(["| x", "a||b"])
    assert rows == [["x\na", "", "b"]]


def _with_local_header_offset(docx: bytes, member: str, offset: int) -> bytes:
    data = bytearray(docx)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, at + 42, offset)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def test_docx_with_damaged_local_header_offsets() -> None:
    # Bad magic number / negative seek from zipfile escaped as "reader failed".
    docx = render_docx(seeds()[0].truth, random.Random(1))  # type: ignore[arg-type]
    for member in ("word/document.xml", "_rels/.rels"):
        for offset in (1, 2**32 - 16):
            report = extract_bytes(_with_local_header_offset(docx, member, offset), "r.docx")
            assert report.status == "rejected"
            assert report.error.startswith("damaged or truncated DOCX"), report.error


def test_docx_xml_error_reason_is_one_line() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", b"<w:document>\n\x00\n</w:document>")
    report = extract_bytes(buf.getvalue(), "r.docx")
    assert report.error.startswith("damaged DOCX: document.xml is not well-formed XML")
    assert "\n" not in report.error
