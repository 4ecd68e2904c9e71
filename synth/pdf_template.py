"""Fast PDFs for large corpora: LibreOffice renders a few base documents, every report is a base
with its own numbers, agency, years and date laid into it.

``synth.render_pdf`` (python-docx + LibreOffice) costs a second or more per report. Here the same
renderer makes one *base* per (template variant, style): a report of agency 本机关 whose value
cells hold one red placeholder digit each, plus an invisible 0.5 pt "palette" paragraph holding
every character a value, title, agency name or date can need (so the PDF's subset fonts have
their glyphs). A base is parsed once: its value slots (position, size, the ruled cell's width),
the title line, the signature line, the date line and every year printed in the prose. A report
is then the base's bytes with edited content streams: the placeholders replaced by the report's
values (laid out with the subset font's own widths, left-aligned as Word sets them; a number
wider than its cell is set smaller, like Word's "fit text", or wrapped over two or three lines
when that keeps it larger), the title re-laid centred with the report's agency and year, the
signature and date re-laid right-aligned, the years in the prose rewritten; a new
cross-reference table, a creation date from the publication date and a document ID from the
content. About 2.5 ms per report, against a second or more through LibreOffice.

What varies per report: every value cell (numbers, blanks and dashes, thousands separators,
full-width digits, units, notes in cells), the agency (title, signature), the year (title,
prose, date) and the date. What does not: everything else comes from the base — the narrative
(written for 本机关 / 我单位, so it names no other agency; its distractor numbers are the
base's), the label styling (numbering, parentheses, typos), headings, title style, page breaks
and row heights. All PDFs of one base share those.

There are ``len(VARIANTS) * STYLES`` = 12 bases (an agency keeps its style across years). They
are cached under ``$GONGKAI_CACHE/pdf-bases`` (default ``~/.cache/gongkai``), keyed by the
sources they are made from, so LibreOffice runs only the first time (about 30 s for all 12 on
two workers; python-docx alone takes a second or two a base). LibreOffice's output does not
depend on the run: a fresh base gives the same report bytes as a cached one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import random
import re
import signal
import subprocess
import tempfile
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from schemas.taxonomy import taxonomy
from synth.model import SyntheticReport, random_report, template_for_year
from synth.names import CITY_DEPARTMENTS, FIRST, SECOND, STREET_SUFFIXES
from synth.narrative import title
from synth.quirks import BLANK_MARKS, TITLE_STYLES, Quirks, format_value
from synth.render_pdf import SofficeMissing, build_docx, soffice
from synth.tables import NOTE_ITEMS

BASE_AGENCY = "本机关"  # the base's agency: its prose reads 现将本机关2022年…, 我单位…
BASE_YEAR = {"2019": 2020, "2021": 2022}  # the year a base of each template is written for
VARIANTS = ("2019", "2021", "2021-single")  # 2021-single keeps （六）其他处理 as one row
STYLES = 4  # label/heading/title styles per variant: 12 bases in all
FORMAT_VERSION = "1"  # part of the cache key: bump when the base documents change
VALUE_COLOR, PALETTE_COLOR = "FF0000", "00FF00"
_PDF_COLOR = {"FF0000": (1.0, 0.0, 0.0), "00FF00": (0.0, 1.0, 0.0)}
SOFFICE_TIMEOUT_S = 300
WRAP_BELOW = 7.0  # a value that would need a smaller size on one line is wrapped instead
LEADING = 1.2  # line height of wrapped value lines, in font sizes

# Characters of value cells beyond digits: separators, full-width forms, blank marks, units,
# the notes of table 二 (format_value), and of dates.
_VALUE_CHARS = "0123456789０１２３４５６７８９,.-，．－/—无万元（其中修订件）含自然失效(新制定)年月日"


class PdfTemplateError(RuntimeError):
    """A base PDF is not laid out the way this module expects (another LibreOffice version?)."""


def palette() -> str:
    """Every character a report laid into a base may print (values, titles, agencies, dates)."""
    chars = set(_VALUE_CHARS) | set(FIRST) | set(SECOND) | set("市区县")
    chars |= set("".join(CITY_DEPARTMENTS)) | set("".join(STREET_SUFFIXES))
    chars |= {c for style in TITLE_STYLES for c in title("", 2000, Quirks(title_style=style))}
    chars |= set("".join(BLANK_MARKS))
    chars.discard(" ")
    return "".join(sorted(chars))


# ---------------------------------------------------------------------------- base documents


@dataclass(frozen=True)
class BaseSpec:
    variant: str  # 2019 | 2021 | 2021-single
    style: int  # 0 .. STYLES-1

    @property
    def template(self) -> str:
        return "2019" if self.variant == "2019" else "2021"

    @property
    def single_other_row(self) -> bool:
        return self.variant != "2021"

    @property
    def name(self) -> str:
        return f"{self.variant}-s{self.style}"


def spec_for(report: SyntheticReport, style: int) -> BaseSpec:
    variant = "2019" if report.template == "2019" else ("2021-single" if report.single_other_row else "2021")
    return BaseSpec(variant, style % STYLES)


def value_keys(report: SyntheticReport) -> list[tuple[str, tuple[str, str]]]:
    """Every value cell as (table, key), in the order the PDF prints them (table 二, 三, 四)."""
    tax = taxonomy()
    keys: list[tuple[str, tuple[str, str]]] = []
    for item in tax.proactive[report.template]:
        keys += [("proactive", (item.code, m.code)) for m in item.measures]
    keys += [("applications", (c, a)) for c in report.category_codes for a in tax.applicant_codes]
    keys += [("appeals", (p, o)) for p in tax.proceeding_codes for o in tax.outcome_codes]
    return keys


def base_quirks(spec: BaseSpec) -> Quirks:
    """The base's label styling; value quirks are off (each report brings its own)."""
    quirks = Quirks.random(random.Random(f"gongkai-pdf-base:{spec.variant}:{spec.style}"))
    return replace(quirks, blank_marks=("",), fullwidth_digits=0.0, thousands=False, notes_in_cells=0.0)


def base_report(spec: BaseSpec) -> SyntheticReport:
    """本机关's report with placeholder digit ``k % 10`` in value cell ``k`` (document order)."""
    year = BASE_YEAR[spec.template]
    report = random_report(
        random.Random(f"gongkai-pdf-base:{spec.variant}"),
        agency=BASE_AGENCY,
        year=year,
        single_other_row=spec.single_other_row,
    )
    assert report.template == template_for_year(year)
    report.units = {}
    for k, (table, key) in enumerate(value_keys(report)):
        getattr(report, table)[key] = k % 10
    return report


_VALUE_RUN = re.compile(r"(</w:tcPr><w:p>)<w:r><w:t>(\d)</w:t></w:r>(</w:p></w:tc>)")


def base_docx(spec: BaseSpec) -> bytes:
    """The base as DOCX: ``synth.render_pdf.build_docx``, value cells marked, palette added."""
    report = base_report(spec)
    rng = random.Random(f"gongkai-pdf-base:{spec.variant}:{spec.style}:render")
    docx = build_docx(report, rng, base_quirks(spec), ruled=True)
    expected = len(value_keys(report))
    source = zipfile.ZipFile(io.BytesIO(docx))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode("utf-8")
                red = rf'\1<w:r><w:rPr><w:color w:val="{VALUE_COLOR}"/></w:rPr><w:t>\2</w:t></w:r>\3'
                xml, n = _VALUE_RUN.subn(red, xml)
                if n != expected:
                    raise PdfTemplateError(f"base {spec.name}: {n} value cells marked, expected {expected}")
                # The palette: 0.5 pt text on a 1 pt line under the title, deleted from every report.
                pal = (
                    '<w:p><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
                    f'</w:pPr><w:r><w:rPr><w:color w:val="{PALETTE_COLOR}"/><w:sz w:val="1"/>'
                    f'<w:szCs w:val="1"/></w:rPr><w:t>{palette()}</w:t></w:r></w:p>'
                )
                end = xml.index("</w:p>") + len("</w:p>")
                xml = xml[:end] + pal + xml[end:]
                data = xml.encode("utf-8")
            elif item.filename == "docProps/core.xml":
                data = data.replace(b">python-docx<", b">Administrator<")
            out.writestr(item, data)
    return buffer.getvalue()


# Everything a base document depends on: any change to these makes new bases.
_SOURCES = (
    "synth/pdf_template.py",
    "synth/render_pdf.py",
    "synth/render.py",
    "synth/tables.py",
    "synth/quirks.py",
    "synth/narrative.py",
    "synth/model.py",
    "synth/names.py",
    "schemas/taxonomy.toml",
    "schemas/taxonomy.py",
)


def cache_key(spec: BaseSpec) -> str:
    """The base's cache key, from its sources (building the DOCX costs python-docx a second)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"{FORMAT_VERSION}:{spec.name}".encode())
    for name in _SOURCES:
        path = root / name
        digest.update(path.read_bytes() if path.is_file() else name.encode())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    root = os.environ.get("GONGKAI_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gongkai"
    )
    return Path(root) / "pdf-bases"


def _convert(sources: dict[str, bytes]) -> dict[str, bytes]:
    """One soffice start converting every DOCX (name -> bytes) to PDF."""
    binary = soffice()
    if binary is None:
        raise SofficeMissing("soffice (LibreOffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="gongkai-pdfbase-") as tmp:
        work = Path(tmp)
        paths = []
        for name, data in sources.items():
            (work / f"{name}.docx").write_bytes(data)
            paths.append(str(work / f"{name}.docx"))
        cmd = [binary, "--headless", "--norestore", f"-env:UserInstallation={(work / 'profile').as_uri()}"]
        cmd += ["--convert-to", "pdf", "--outdir", str(work / "out"), *paths]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a hung conversion's helpers die with it
            env={**os.environ, "HOME": tmp},
        )
        try:
            _, err = proc.communicate(timeout=SOFFICE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PdfTemplateError("LibreOffice timed out converting the base documents") from None
        out = {}
        for name in sources:
            pdf = work / "out" / f"{name}.pdf"
            if not pdf.is_file():
                detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
                raise PdfTemplateError(f"LibreOffice did not convert base {name}: {detail[0]}")
            out[name] = pdf.read_bytes()
        return out


def _cached(spec: BaseSpec) -> Path:
    return cache_dir() / f"{spec.name}-{cache_key(spec)}.pdf"


def base_pdfs(specs: list[BaseSpec], *, use_cache: bool = True, workers: int = 2) -> dict[BaseSpec, bytes]:
    """The base PDFs, from the cache or made with LibreOffice (``workers`` conversions at once).
    Raises ``SofficeMissing`` when a base is not cached and LibreOffice is not installed."""
    found: dict[BaseSpec, bytes] = {}
    todo: list[BaseSpec] = []
    for spec in sorted(set(specs), key=lambda s: s.name):
        path = _cached(spec)
        if use_cache and path.is_file():
            found[spec] = path.read_bytes()
        else:
            todo.append(spec)
    if not todo:
        return found
    if soffice() is None:
        raise SofficeMissing("soffice (LibreOffice) is not installed")
    if importlib.util.find_spec("docx") is None:
        raise PdfTemplateError("python-docx is not installed (uv sync installs it with the dev group)")
    # python-docx takes a second or two per base and LibreOffice a few: both run in parallel.
    groups = [todo[i :: max(1, workers)] for i in range(min(workers, len(todo)))]
    if len(groups) == 1:
        made = [_make(groups[0])]
    else:
        with ProcessPoolExecutor(len(groups)) as pool:
            made = list(pool.map(_make, groups))
    for group, pdfs in zip(groups, made, strict=True):
        for spec in group:
            found[spec] = pdfs[spec.name]
            if use_cache:
                path = _cached(spec)
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_bytes(pdfs[spec.name])
                    os.replace(tmp, path)  # atomic: parallel runs may write the same base
                except OSError:
                    pass  # a read-only cache only costs the next run a conversion
    return found


def _make(specs: list[BaseSpec]) -> dict[str, bytes]:
    """Build the bases' DOCX and convert them in one LibreOffice start."""
    return _convert({spec.name: base_docx(spec) for spec in specs})


def bases_available(specs: list[BaseSpec]) -> bool:
    """Whether every base is cached or LibreOffice can make the missing ones."""
    return soffice() is not None or all(_cached(s).is_file() for s in specs)


# ---------------------------------------------------------------------------- reading a base


@dataclass
class Font:
    name: str
    code_length: int  # bytes per code: 1 (simple font) or 2 (CID font)
    widths: dict[bytes, float]  # code -> width in 1/1000 em
    default_width: float
    to_unicode: dict[bytes, str]


@dataclass
class Run:
    """One text-showing operator: its glyphs at (x, y) in one font and size."""

    x: float
    y: float
    font: str
    size: float
    items: list[bytes | float]  # glyph codes and TJ kerning numbers, in order
    start: int  # the show operator's span in the page's content stream
    end: int
    text: str = ""
    end_x: float = 0.0


@dataclass
class Block:
    """``q r g b rg BT … ET Q``: one LibreOffice text chunk (one or more runs)."""

    page: int
    start: int
    end: int
    color: tuple[float, float, float]
    runs: list[Run]

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    @property
    def x(self) -> float:
        return self.runs[0].x

    @property
    def y(self) -> float:
        return self.runs[0].y

    @property
    def end_x(self) -> float:
        return max(r.end_x for r in self.runs)


@dataclass
class Slot:
    """A value cell: where its text starts, the size it is set in, the room it has."""

    block: Block
    size: float
    room: float  # width for text
    depth: float  # height from the first baseline down to the cell's bottom ruling


@dataclass
class Page:
    obj: int  # the page object
    content: int  # its content stream object
    length_obj: int | None  # the stream's indirect /Length object, if any
    stream: bytes  # decompressed
    blocks: list[Block] = field(default_factory=list)


_NUM = rb"-?\d+(?:\.\d+)?"
_BLOCK = re.compile(rb"q (" + _NUM + rb") (" + _NUM + rb") (" + _NUM + rb") rg\nBT\n(.*?)\nET\nQ\n", re.S)
_OP = re.compile(
    rb"(?P<td>(" + _NUM + rb") (" + _NUM + rb") Td)"
    rb"|(?P<tm>1 0 0 1 (" + _NUM + rb") (" + _NUM + rb") Tm)"
    rb"|(?P<tf>/(\S+) (" + _NUM + rb") Tf)"
    rb"|(?P<tj><[0-9A-Fa-f]*>Tj)"
    rb"|(?P<TJ>\[[^\]]*\]TJ)"
    rb"|(?P<ws>\s+)"
)
_TJ_ITEM = re.compile(rb"<([0-9A-Fa-f]*)>|(" + _NUM + rb")")
_VLINE = re.compile(rb"(" + _NUM + rb") (" + _NUM + rb") m\s+(" + _NUM + rb") (" + _NUM + rb") l\s+S")
_REF = rb"(\d+) 0 R"


class Base:
    """A parsed base PDF, ready to take a report's values."""

    def __init__(self, spec: BaseSpec, data: bytes) -> None:
        self.spec, self.data = spec, data
        self.base_year = BASE_YEAR[spec.template]
        self.quirks = base_quirks(spec)
        self.keys = value_keys(base_report(spec))
        self._objects()
        self._fonts_and_pages()
        self._layout()

    # -- objects, trailer, page tree

    def _objects(self) -> None:
        data = self.data
        m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
        if not m or data[int(m[1]) : int(m[1]) + 4] != b"xref":
            raise PdfTemplateError(f"base {self.spec.name}: no classic cross-reference table")
        xref = int(m[1])
        offsets: dict[int, int] = {}
        pos = xref + 4
        table = data[pos : data.index(b"trailer", pos)]
        lines = table.split(b"\n")
        i = 0
        while i < len(lines):
            head = lines[i].split()
            i += 1
            if len(head) != 2:
                continue
            first, count = int(head[0]), int(head[1])
            for k in range(count):
                entry = lines[i + k].split()
                if entry[2:3] == [b"n"]:
                    offsets[first + k] = int(entry[0])
            i += count
        bounds = [*sorted(offsets.values()), xref]
        self.objects: dict[int, bytes] = {}
        for number, offset in offsets.items():
            nxt = bounds[bounds.index(offset) + 1]
            raw = data[offset:nxt]
            self.objects[number] = raw[: raw.rindex(b"endobj") + len(b"endobj")]
        self.header = data[: min(offsets.values())]
        trailer = data[data.index(b"trailer", xref) : data.index(b"startxref", xref)]
        self.root = int(re.search(rb"/Root " + _REF, trailer)[1])  # type: ignore[index]
        info = re.search(rb"/Info " + _REF, trailer)
        self.info = int(info[1]) if info else None
        self.size = max(offsets) + 1

    def body(self, number: int) -> bytes:
        raw = self.objects[number]
        return raw[raw.index(b"obj") + 3 : raw.rindex(b"endobj")].strip()

    def dict_of(self, number: int) -> bytes:
        body = self.body(number)
        return body.split(b"stream", 1)[0] if b"stream" in body else body

    def stream(self, number: int) -> bytes:
        raw = self.objects[number]
        start = raw.index(b"stream") + len(b"stream")
        start += 2 if raw[start : start + 2] == b"\r\n" else 1
        data = raw[start : raw.rindex(b"endstream")]
        if b"/FlateDecode" not in self.dict_of(number):
            return data.removesuffix(b"\n").removesuffix(b"\r")
        return zlib.decompressobj().decompress(data)  # the end-of-line before endstream is left over

    def _ref(self, where: bytes, key: bytes) -> int:
        m = re.search(b"/" + key + rb"\s*" + _REF, where)
        if not m:
            raise PdfTemplateError(f"base {self.spec.name}: no /{key.decode()} reference")
        return int(m[1])

    def _fonts_and_pages(self) -> None:
        pages_obj = self._ref(self.dict_of(self.root), b"Pages")
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", self.dict_of(pages_obj))
        assert kids is not None
        self.pages_obj = pages_obj
        self.fonts: dict[str, Font] = {}
        self.pages: list[Page] = []
        for number in (int(n) for n in re.findall(_REF, kids[1])):
            page = self.dict_of(number)
            if re.search(rb"/Contents\s*\[", page) or b"/Type/Pages" in page.replace(b" ", b""):
                raise PdfTemplateError(f"base {self.spec.name}: nested page tree or content array")
            content = self._ref(page, b"Contents")
            resources = re.search(rb"/Resources\s*" + _REF, page)
            res = self.dict_of(int(resources[1])) if resources else page
            fonts = re.search(rb"/Font\s*" + _REF, res)
            font_dict = self.dict_of(int(fonts[1])) if fonts else res
            for name, ref in re.findall(rb"/(\w+)\s*" + _REF, font_dict):
                key = name.decode()
                if key not in self.fonts:
                    self.fonts[key] = self._font(key, int(ref))
            length = re.search(rb"/Length\s*" + _REF, self.dict_of(content))
            self.pages.append(Page(number, content, int(length[1]) if length else None, self.stream(content)))
        # The glyph for each character: the first font holding it.
        self.glyph: dict[str, tuple[str, bytes]] = {}
        for font in self.fonts.values():
            for code, text in font.to_unicode.items():
                if len(text) == 1:
                    self.glyph.setdefault(text, (font.name, code))

    def _font(self, name: str, number: int) -> Font:
        d = self.dict_of(number)
        to_unicode = self._cmap(self.stream(self._ref(d, b"ToUnicode")))
        if b"/Type0" in d:
            descendant = re.search(rb"/DescendantFonts\s*\[\s*" + _REF, d)
            cid = self.dict_of(int(descendant[1])) if descendant else b""
            dw = re.search(rb"/DW\s+(" + _NUM + rb")", cid)
            widths: dict[bytes, float] = {}
            w = re.search(rb"/W\s*\[(.*)\]", cid, re.S)
            if w:
                tokens = re.findall(rb"\[[^\]]*\]|" + _NUM, w[1])
                i = 0
                while i < len(tokens):
                    first = int(tokens[i])
                    if tokens[i + 1].startswith(b"["):
                        for k, v in enumerate(re.findall(_NUM, tokens[i + 1])):
                            widths[(first + k).to_bytes(2, "big")] = float(v)
                        i += 2
                    else:
                        for c in range(first, int(tokens[i + 1]) + 1):
                            widths[c.to_bytes(2, "big")] = float(tokens[i + 2])
                        i += 3
            return Font(name, 2, widths, float(dw[1]) if dw else 1000.0, to_unicode)
        first_char = int(re.search(rb"/FirstChar\s+(\d+)", d)[1])  # type: ignore[index]
        values = re.search(rb"/Widths\s*\[([^\]]*)\]", d)
        assert values is not None
        widths = {bytes([first_char + k]): float(v) for k, v in enumerate(re.findall(_NUM, values[1]))}
        return Font(name, 1, widths, 1000.0, to_unicode)

    @staticmethod
    def _cmap(data: bytes) -> dict[bytes, str]:
        out: dict[bytes, str] = {}

        def text(hexa: bytes) -> str:
            return bytes.fromhex(hexa.decode()).decode("utf-16-be", "replace")

        for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
                out[bytes.fromhex(src.decode())] = text(dst)
        for section in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
            for lo, hi, dst in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])", section
            ):
                a, b, n = int(lo, 16), int(hi, 16), len(lo) // 2
                if dst.startswith(b"["):
                    for k, d in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", dst)):
                        out[(a + k).to_bytes(n, "big")] = text(d)
                else:
                    base = int(dst[1:-1], 16)
                    for k in range(b - a + 1):
                        out[(a + k).to_bytes(n, "big")] = chr(base + k)
        return out

    # -- content streams

    def _blocks(self, index: int, page: Page) -> None:
        stream = page.stream
        if stream.count(b"BT") != len(_BLOCK.findall(stream)):
            raise PdfTemplateError(f"base {self.spec.name}: text not in LibreOffice's q/BT/ET/Q blocks")
        for m in _BLOCK.finditer(stream):
            color = (float(m[1]), float(m[2]), float(m[3]))
            runs: list[Run] = []
            x = y = size = 0.0
            font = ""
            pos, end = m.start(4), m.end(4)
            while pos < end:
                op = _OP.match(stream, pos, end)
                if op is None:
                    raise PdfTemplateError(f"base {self.spec.name}: unexpected text operator at {pos}")
                if op["td"]:
                    x, y = float(op[2]), float(op[3])
                elif op["tm"]:
                    x, y = float(op[5]), float(op[6])
                elif op["tf"]:
                    font, size = op[8].decode(), float(op[9])
                elif op["tj"] or op["TJ"]:
                    runs.append(self._run(x, y, font, size, op.group(), op.start(), op.end()))
                pos = op.end()
            page.blocks.append(Block(index, m.start(), m.end(), color, runs))

    def _run(self, x: float, y: float, font: str, size: float, show: bytes, start: int, end: int) -> Run:
        f = self.fonts[font]
        items: list[bytes | float] = []
        if show.endswith(b"Tj"):
            hexa = bytes.fromhex(show[1 : show.index(b">")].decode())
            items = [hexa[i : i + f.code_length] for i in range(0, len(hexa), f.code_length)]
        else:
            for h, num in _TJ_ITEM.findall(show[1 : show.rindex(b"]")]):
                if num:
                    items.append(float(num))
                else:
                    hexa = bytes.fromhex(h.decode())
                    items += [hexa[i : i + f.code_length] for i in range(0, len(hexa), f.code_length)]
        run = Run(x, y, font, size, items, start, end)
        run.text = "".join(f.to_unicode.get(c, "") for c in items if isinstance(c, bytes))
        advance = sum(
            f.widths.get(c, f.default_width) if isinstance(c, bytes) else -c for c in items
        )  # a TJ number moves the next glyph left by number/1000 em
        run.end_x = x + advance * size / 1000
        return run

    def _layout(self) -> None:
        name = self.spec.name
        for index, page in enumerate(self.pages):
            self._blocks(index, page)
        black = [b for p in self.pages for b in p.blocks if b.color == (0.0, 0.0, 0.0)]
        values = [b for p in self.pages for b in p.blocks if b.color == _PDF_COLOR[VALUE_COLOR]]
        self.palette_blocks = [
            b for p in self.pages for b in p.blocks if b.color == _PDF_COLOR[PALETTE_COLOR]
        ]
        missing = [c for c in palette() if c not in self.glyph]
        if missing or not self.palette_blocks:
            raise PdfTemplateError(f"base {name}: the fonts lack {''.join(missing)!r}")
        # Value slots in document order: page, then top to bottom, then left to right.
        values.sort(key=lambda b: (b.page, -round(b.y, 1), b.x))
        if len(values) != len(self.keys) or any(b.text != str(k % 10) for k, b in enumerate(values)):
            raise PdfTemplateError(f"base {name}: {len(values)} value cells found, expected {len(self.keys)}")
        self.slots = [Slot(b, b.runs[0].size, *self._room(b)) for b in values]
        # The title: the first line of page 1.
        first = [b for b in black if b.page == 0]
        top = max(b.y for b in first)
        self.title_blocks = [b for b in first if abs(b.y - top) < 0.5]
        expected = title(BASE_AGENCY, self.base_year, self.quirks).replace(" ", "")
        if "".join(b.text for b in sorted(self.title_blocks, key=lambda b: b.x)) != expected:
            raise PdfTemplateError(f"base {name}: the first line is not the title {expected!r}")
        self.title_center = (
            min(b.x for b in self.title_blocks) + max(b.end_x for b in self.title_blocks)
        ) / 2
        # The signature (本机关 alone on its line) and the date under it, right-aligned.
        last = [b for b in black if b.page == len(self.pages) - 1]
        signature = [b for b in last if b.text == BASE_AGENCY]
        if len(signature) != 1:
            raise PdfTemplateError(f"base {name}: no signature line")
        self.signature = signature[0]
        below = [b for b in last if b.y < self.signature.y - 0.5]
        date_y = max(b.y for b in below)
        self.date_blocks = [b for b in below if abs(b.y - date_y) < 0.5]
        date_text = "".join(b.text for b in sorted(self.date_blocks, key=lambda b: b.x))
        if not re.fullmatch(rf"{self.base_year + 1}年\d{{1,2}}月\d{{1,2}}日", date_text):
            raise PdfTemplateError(f"base {name}: no date line under the signature")
        # Years printed in the prose (2022年…, 2023年…): runs that are exactly a year.
        special = {id(b) for b in [*self.title_blocks, self.signature, *self.date_blocks]}
        self.year_runs = [
            (b, r, int(r.text) - self.base_year)
            for b in black
            if id(b) not in special
            for r in b.runs
            if r.text in (str(self.base_year), str(self.base_year + 1))
        ]

    def _room(self, block: Block) -> tuple[float, float]:
        """The width the cell leaves for text (between its rulings, less the left padding on both
        sides) and the depth below its first baseline (down to the ruling under it)."""
        page = self.pages[block.page]
        if not hasattr(page, "rulings"):
            lines = []
            for m in _VLINE.finditer(page.stream):
                x0, y0, x1, y1 = (float(v) for v in m.groups())
                if abs(x0 - x1) < 0.5:
                    lines.append((False, x0, min(y0, y1), max(y0, y1)))
                elif abs(y0 - y1) < 0.5:
                    lines.append((True, y0, min(x0, x1), max(x0, x1)))
            page.rulings = lines  # type: ignore[attr-defined]
        x, y = block.x, block.y
        rulings = page.rulings  # type: ignore[attr-defined]
        crossing = [pos for horizontal, pos, lo, hi in rulings if not horizontal and lo - 1 <= y <= hi + 1]
        left = max((vx for vx in crossing if vx < x), default=None)
        right = min((vx for vx in crossing if vx > x + 1), default=None)
        under = [
            pos for horizontal, pos, lo, hi in rulings if horizontal and lo - 1 <= x <= hi + 1 and pos < y
        ]
        if left is None or right is None or not under:
            raise PdfTemplateError(f"base {self.spec.name}: a value cell at ({x}, {y}) has no rulings")
        return right - left - 2 * (x - left), y - max(under)

    def fit(self, text: str, slot: Slot) -> tuple[list[str], float]:
        """The lines and size a value is set in: one line at the base size if it fits; else the
        layout giving the largest size — one line shrunk (Word's "fit text"), or wrapped over
        two or three lines as Word wraps a long number, as far as the cell's depth allows."""
        size = slot.size
        width = self.width(text, 1.0)
        if width * size <= slot.room:
            return [text], size
        one = min(size, slot.room / width)
        if one >= WRAP_BELOW or len(text) < 2:
            return [text], round(one - 0.05, 1)
        best: tuple[float, list[str]] = (one, [text])
        cuts = range(1, len(text))
        splits = [[text[:i], text[i:]] for i in cuts]
        splits += [[text[:i], text[i:j], text[j:]] for i in cuts for j in range(i + 1, len(text))]
        for lines in splits:
            widest = max(self.width(line, 1.0) for line in lines)
            fits = min(size, slot.room / widest, (slot.depth - 2) / ((len(lines) - 1) * LEADING + 0.3))
            if fits > best[0] + 0.5:  # a clearly larger size is worth another line
                best = (fits, lines)
        return best[1], round(best[0] - 0.05, 1)

    # -- writing text

    def width(self, text: str, size: float) -> float:
        total = 0.0
        for ch in text:
            if ch == " ":
                total += 250
                continue
            font, code = self.glyph[ch]
            f = self.fonts[font]
            total += f.widths.get(code, f.default_width)
        return total * size / 1000

    def show(self, text: str, x: float, y: float, size: float) -> bytes:
        """``text`` from (x, y) as LibreOffice writes it: one black block, a run per font."""
        parts = [b"q 0 0 0 rg\nBT\n"]
        first = True
        i = 0
        while i < len(text):
            if text[i] == " ":
                x += 250 * size / 1000
                i += 1
                continue
            font, _ = self.glyph.get(text[i]) or self._missing(text[i])
            f = self.fonts[font]
            codes = []
            while i < len(text) and text[i] != " " and self.glyph.get(text[i], ("",))[0] == font:
                codes.append(self.glyph[text[i]][1])
                i += 1
            place = f"{x:.2f} {y:.2f} Td" if first else f"1 0 0 1 {x:.2f} {y:.2f} Tm"
            parts.append(f"{place} /{font} {size:g} Tf<{b''.join(codes).hex().upper()}>Tj\n".encode())
            x += sum(f.widths.get(c, f.default_width) for c in codes) * size / 1000
            first = False
        parts.append(b"ET\nQ\n")
        return b"".join(parts) if not first else b""

    def _missing(self, ch: str) -> tuple[str, bytes]:
        raise PdfTemplateError(f"base {self.spec.name}: no glyph for {ch!r} (add it to the palette)")

    # -- one report

    def value_texts(self, report: SyntheticReport, rng: random.Random, quirks: Quirks) -> list[str]:
        """The printed text of every value cell, as ``synth.tables`` formats it."""
        out = []
        for table, key in self.keys:
            if table == "proactive":
                note = key[0] in NOTE_ITEMS and rng.random() < quirks.notes_in_cells
                unit = report.units.get(key)
                out.append(format_value(report.proactive[key], rng, quirks, unit=unit, note=note))
            else:
                out.append(format_value(getattr(report, table)[key], rng, quirks))
        return out

    def render(self, report: SyntheticReport, rng: random.Random, quirks: Quirks, published: str) -> bytes:
        """The report as PDF bytes. ``published`` (YYYY-MM-DD) is the date printed at the end."""
        if spec_for(report, self.spec.style) != self.spec:
            raise ValueError(f"a {report.template} report cannot use base {self.spec.name}")
        edits: list[list[tuple[int, int, bytes]]] = [[] for _ in self.pages]
        for slot, text in zip(self.slots, self.value_texts(report, rng, quirks), strict=True):
            b = slot.block
            new = b""
            if text:
                lines, size = self.fit(text, slot)
                new = b"".join(
                    self.show(line, b.x, b.y - k * LEADING * size, size) for k, line in enumerate(lines)
                )
            edits[b.page].append((b.start, b.end, new))
        for b in self.palette_blocks:
            edits[b.page].append((b.start, b.end, b""))
        # Title, centred where the base's was.
        size = self.title_blocks[0].runs[0].size
        text = title(report.agency, report.year, self.quirks)
        x = self.title_center - self.width(text, size) / 2
        for k, b in enumerate(self.title_blocks):
            new = self.show(text, x, b.y, size) if k == 0 else b""
            edits[b.page].append((b.start, b.end, new))
        # Signature and date, right-aligned where the base's were.
        pub = date.fromisoformat(published)
        for blocks, text in (
            ([self.signature], report.agency),
            (self.date_blocks, f"{pub.year}年{pub.month}月{pub.day}日"),
        ):
            right = max(b.end_x for b in blocks)
            size = blocks[0].runs[0].size
            for k, b in enumerate(blocks):
                new = self.show(text, right - self.width(text, size), b.y, size) if k == 0 else b""
                edits[b.page].append((b.start, b.end, new))
        for b, r, delta in self.year_runs:
            edits[b.page].append((r.start, r.end, self._digits(r, str(report.year + delta))))
        return self._write(edits, pub)

    def _digits(self, run: Run, digits: str) -> bytes:
        """The run's show operator with its digits replaced (same count, same kerning)."""
        codes = iter(self.glyph[d][1] for d in digits)
        parts = []
        for item in run.items:
            if isinstance(item, bytes):
                parts.append(b"<" + next(codes).hex().upper().encode() + b">")
            else:
                parts.append(b"%g" % item)
        return b"[" + b"".join(parts) + b"]TJ"

    def _write(self, edits: list[list[tuple[int, int, bytes]]], published: date) -> bytes:
        replaced: dict[int, bytes] = {}
        digest = hashlib.md5()
        for page, page_edits in zip(self.pages, edits, strict=True):
            page_edits.sort()
            pieces, pos = [], 0
            for start, end, new in page_edits:
                pieces += [page.stream[pos:start], new]
                pos = end
            pieces.append(page.stream[pos:])
            stream = zlib.compress(b"".join(pieces), 6)
            digest.update(stream)
            if page.length_obj is not None:
                length = f"/Length {page.length_obj} 0 R".encode()
                replaced[page.length_obj] = b"%d 0 obj\n%d\nendobj" % (page.length_obj, len(stream))
            else:
                length = b"/Length %d" % len(stream)
            replaced[page.content] = b"%d 0 obj\n<<%s/Filter/FlateDecode>>\nstream\n%s\nendstream\nendobj" % (
                page.content,
                length,
                stream,
            )
        stamp = published.strftime("D:%Y%m%d") + "090000+08'00'"
        if self.info is not None:
            info = re.sub(
                rb"/CreationDate\s*\([^)]*\)", b"/CreationDate(" + stamp.encode() + b")", self.body(self.info)
            )
            replaced[self.info] = b"%d 0 obj\n%s\nendobj" % (self.info, info)
        out = bytearray(self.header)
        offsets = {}
        for number in sorted(self.objects):
            offsets[number] = len(out)
            out += replaced.get(number, self.objects[number]) + b"\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % self.size
        for number in range(1, self.size):
            out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
        doc_id = digest.hexdigest().upper().encode()
        info = b"/Info %d 0 R" % self.info if self.info is not None else b""
        out += b"trailer\n<</Size %d/Root %d 0 R\n%s\n/ID [ <%s>\n<%s> ]\n>>\nstartxref\n%d\n%%%%EOF\n" % (
            self.size,
            self.root,
            info,
            doc_id,
            doc_id,
            xref,
        )
        return bytes(out)


def load_bases(specs: list[BaseSpec], *, use_cache: bool = True) -> dict[BaseSpec, Base]:
    return {spec: Base(spec, data) for spec, data in base_pdfs(specs, use_cache=use_cache).items()}


__all__ = [
    "STYLES",
    "VARIANTS",
    "Base",
    "BaseSpec",
    "PdfTemplateError",
    "base_pdfs",
    "bases_available",
    "load_bases",
    "spec_for",
]
