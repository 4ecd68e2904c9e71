"""A local web server for the fetch tests: agency sites on 127.0.0.1, started and stopped by the
test, serving synthetic reports with known answers, every request recorded.

Never a real site: the server binds 127.0.0.1 on a free port, and each test's sources point there.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fetch.client import Politeness
from synth.model import random_report
from synth.raw_pdf import minimal_pdf
from synth.render_docx import render_docx
from synth.render_html import render_html_text


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line (a slow server)
    length: bool = True  # send Content-Length (False: the body ends when the connection closes)


@dataclass
class Document:
    """A resource that answers conditional requests like a static file server."""

    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = "application/octet-stream"

    def reply(self, headers: dict[str, str]) -> Reply:
        validators = {}
        if self.etag:
            validators["ETag"] = self.etag
        if self.last_modified:
            validators["Last-Modified"] = self.last_modified
        if (self.etag and headers.get("If-None-Match") == self.etag) or (
            not self.etag and self.last_modified and headers.get("If-Modified-Since") == self.last_modified
        ):
            return Reply(304, b"", validators)
        return Reply(200, self.body, {"Content-Type": self.content_type, **validators})


class Flaky:
    """These replies first (a 500, a 429 …), then the document."""

    def __init__(self, first: list[Reply], then: Document) -> None:
        self.first, self.then = list(first), then

    def __call__(self, headers: dict[str, str]) -> Reply:
        return self.first.pop(0) if self.first else self.then.reply(headers)


Route = Reply | Document | list[Reply] | Callable[[dict[str, str]], Reply]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class Site:
    """Routes by path; a list of replies is served in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k: v for k, v in self.headers.items()}
                with site._lock:
                    site.seen.append(Seen(self.path, headers))
                reply = site._reply(self.path, headers)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.length and "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def _reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            route = self.routes.get(path)
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        if route is None:
            return Reply(404, b"<html><body>404 Not Found</body></html>", {"Content-Type": "text/html"})
        if isinstance(route, Document):
            return route.reply(headers)
        if isinstance(route, Reply):
            return route
        return route(headers)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def report_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path != "/robots.txt"]

    def start(self) -> Site:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def site() -> Iterator[Site]:
    """An agency web site on 127.0.0.1 (a free port), stopped after the test."""
    server = Site().start()
    try:
        yield server
    finally:
        server.stop()


class RecordingClock:
    """Time that moves only when the client sleeps: waits are recorded, never slept."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


# Small limits so every failure case takes a fraction of a second.
FAST = Politeness(
    contact="tests@example.invalid",
    host_interval_s=0.0,
    timeout_s=0.5,
    download_s=5.0,
    retries=2,
    backoff_s=1.0,
    max_wait_s=60.0,
    max_redirects=3,
)


def html_report(agency: str, year: int, seed: int = 1) -> bytes:
    """A report page holding the three template tables (synthetic, known answers)."""
    rng = random.Random(seed)
    report = random_report(rng, agency=agency, year=year)
    return render_html_text(report, rng).encode("utf-8")


def docx_report(agency: str, year: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return render_docx(random_report(rng, agency=agency, year=year), rng)


def pdf_bytes(text: str = "Annual report") -> bytes:
    """A valid PDF (fetching only sniffs it; parsing is the ingest's business)."""
    return minimal_pdf(1, (text,))


def attachment_page(agency: str, year: int, href: str, other: str = "/files/form.doc") -> bytes:
    """A short notice page: no tables, a link to a form and one to the report as 附件."""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{agency}{year}年政府信息公开工作年度报告</title>"
        f"</head><body><h1>{agency}{year}年政府信息公开工作年度报告</h1><p>发布时间：{year + 1}-01-20</p>"
        f"<p><a href='{other}'>申请表</a></p>"
        f"<p>附件：<a href='{href}'>{agency}{year}年政府信息公开工作年度报告</a></p></body></html>"
    ).encode()
