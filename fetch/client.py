"""A polite HTTP client over ``requests``: robots.txt, one request at a time per host with a
minimum interval, timeouts, retries with backoff, redirects within limits, a size limit while
streaming.

Politeness is the point, not speed: an agency's web server is often a small machine, and a
crawler that hammers it gets blocked for everyone. What is polite here:

- robots.txt of each host is read once per client (``urllib.robotparser``) and obeyed for every
  URL, redirect targets included; its Crawl-delay lengthens the interval. A robots.txt answering
  4xx allows everything and one answering 5xx (or not at all) disallows everything for this run,
  as RFC 9309 says.
- Requests to one host start at least ``host_interval_s`` apart (the clock is injected, so tests
  record the waits instead of sleeping).
- 5xx, 429, timeouts and connection errors are retried ``retries`` times, waiting
  ``backoff_s``·2ⁿ or the server's Retry-After, whichever is longer (a Retry-After longer than
  ``max_wait_s`` is not waited for: the URL fails this run). A 4xx is final.
- Redirects are followed by hand (at most ``max_redirects``), so each hop is rate-limited and
  checked against robots.txt, and a loop is named as one.
- A body over ``max_bytes`` is refused from its Content-Length, or cut off while streaming.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests

from extract.limits import MAX_BYTES
from fetch.sources import host_of

ROBOTS_AGENT = "gongkai"  # the product token robots.txt rules name
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: parse at least the first 500 KiB
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


class Clock(Protocol):
    """Where waits happen: the real clock, or a test's recording one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _package_version() -> str:
    try:
        return version("gongkai")
    except PackageNotFoundError:
        return "0"


@dataclass(frozen=True)
class Politeness:
    """How the client treats a web server (README, Fetching reports: the defaults and why)."""

    contact: str | None = None  # an e-mail or URL site operators can reach the user at
    host_interval_s: float = 1.0  # at least this long between two requests to one host
    timeout_s: float = 30.0  # to connect, and between two reads of the response
    download_s: float = 300.0  # a whole body must arrive within this (a trickling server)
    retries: int = 3  # more attempts after the first on 5xx, 429, timeouts, connection errors
    backoff_s: float = 2.0  # first retry's wait, doubled for each further one
    max_wait_s: float = 300.0  # the longest wait a Retry-After is honoured for
    max_redirects: int = 5
    max_bytes: int = MAX_BYTES  # the extractor's limit: a larger file would be rejected unread
    concurrency: int = 1  # hosts fetched at a time; one host is always one request at a time

    def user_agent(self) -> str:
        # One line of printable text: a header value cannot carry a newline (or be split by one).
        contact = " ".join("".join(c if c.isprintable() else " " for c in self.contact or "").split())
        contact = contact or "no contact set (GONGKAI_FETCH_CONTACT)"
        return (
            f"{ROBOTS_AGENT}/{_package_version()} (government information-disclosure annual "
            f"reports; contact: {contact})"
        )


@dataclass
class Response:
    """What one GET came to: a body (2xx), not modified (304), or an error saying why not."""

    url: str  # as asked for
    final_url: str  # after redirects
    status: int | None = None  # the last HTTP status; None when no response came
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    error: str | None = None
    requests: int = 0  # HTTP requests this GET made (attempts and redirect hops; robots.txt apart)

    @property
    def not_modified(self) -> bool:
        return self.status == 304 and self.error is None


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class _Robots:
    parser: RobotFileParser | None  # None: every path disallowed this run
    reason: str | None = None


@dataclass
class PoliteClient:
    """One client per worker: it keeps each host's last request time and robots.txt."""

    politeness: Politeness = field(default_factory=Politeness)
    clock: Clock = field(default_factory=SystemClock)
    _session: requests.Session = field(default_factory=requests.Session, init=False, repr=False)
    _last: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    _robots: dict[str, _Robots] = field(default_factory=dict, init=False, repr=False)
    robots_requests: int = 0

    def __post_init__(self) -> None:
        self._session.headers["User-Agent"] = self.politeness.user_agent()
        self._session.max_redirects = self.politeness.max_redirects
        self._session.trust_env = False  # a proxy or .netrc of the environment is not ours to use

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ pacing
    def _interval(self, host: str) -> float:
        robots = self._robots.get(host)
        delay = robots.parser.crawl_delay(ROBOTS_AGENT) if robots and robots.parser else None
        return max(self.politeness.host_interval_s, float(delay or 0))

    def _wait_turn(self, host: str) -> None:
        last = self._last.get(host)
        if last is not None:
            wait = self._interval(host) - (self.clock.monotonic() - last)
            if wait > 0:
                self.clock.sleep(wait)
        self._last[host] = self.clock.monotonic()

    # ------------------------------------------------------------------ robots.txt
    def _robots_for(self, host: str) -> _Robots:
        if host not in self._robots:
            self._robots[host] = self._read_robots(host)
        return self._robots[host]

    def _read_robots(self, host: str) -> _Robots:
        url = f"{host}/robots.txt"
        self._wait_turn(host)
        self.robots_requests += 1
        try:
            with self._session.get(url, timeout=self.politeness.timeout_s, stream=True) as resp:
                if 400 <= resp.status_code < 500:
                    return _Robots(_allow_all())  # no robots.txt: everything allowed
                if resp.status_code != 200:
                    return _Robots(None, f"robots.txt of {host} answered HTTP {resp.status_code}")
                body = _read_some(resp, ROBOTS_MAX_BYTES)
        except requests.TooManyRedirects:
            return _Robots(_allow_all())  # RFC 9309: unreachable through redirects = unavailable
        except requests.RequestException as exc:
            return _Robots(None, f"robots.txt of {host} unreachable ({_brief(exc)})")
        parser = RobotFileParser(url)
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return _Robots(parser)

    def disallowed(self, url: str) -> str | None:
        """Why robots.txt forbids ``url`` this run, or None when it may be fetched."""
        host = host_of(url)
        robots = self._robots_for(host)
        if robots.parser is None:
            return f"{robots.reason}: nothing fetched from it this run"
        if not robots.parser.can_fetch(ROBOTS_AGENT, url):
            return f"robots.txt of {host} disallows {urlsplit(url).path or '/'} for {ROBOTS_AGENT}"
        return None

    # ------------------------------------------------------------------ GET
    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Response:
        """GET ``url`` politely; conditional when validators are given (a 304 is ``not_modified``)."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        out = Response(url=url, final_url=url)
        visited = [url]
        for _hop in range(self.politeness.max_redirects + 1):
            reason = self.disallowed(out.final_url)
            if reason:
                out.error = reason
                return out
            location = self._attempts(out, headers)
            if location is None:
                return out
            target = urljoin(out.final_url, location)
            if target in visited:
                out.error = f"redirect loop: {out.final_url} → {target}"
                return out
            visited.append(target)
            out.final_url = target
        out.error = f"more than {self.politeness.max_redirects} redirects"
        return out

    def _backoff(self, attempt: int, asked: float | None) -> float:
        return max(self.politeness.backoff_s * 2**attempt, asked or 0.0)

    def _attempts(self, out: Response, headers: dict[str, str]) -> str | None:
        """Request ``out.final_url`` with retries; fill ``out``. Returns a redirect's Location."""
        p = self.politeness
        host = host_of(out.final_url)
        for attempt in range(p.retries + 1):
            last = attempt == p.retries
            self._wait_turn(host)
            out.requests += 1
            try:
                resp = self._session.get(
                    out.final_url,
                    headers=headers,
                    timeout=p.timeout_s,
                    stream=True,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                out.status, out.error = None, _brief(exc)
                if last:
                    out.error += f" (after {attempt + 1} attempts)"
                    return None
                self.clock.sleep(self._backoff(attempt, None))
                continue
            with resp:
                out.status = resp.status_code
                if resp.status_code == 429 or resp.status_code >= 500:
                    asked = retry_after(resp.headers.get("Retry-After"))
                    out.error = f"HTTP {resp.status_code}"
                    if asked is not None and asked > p.max_wait_s:
                        out.error += (
                            f": the server asks to retry after {asked:.0f} s (more than {p.max_wait_s:.0f} s)"
                        )
                        return None
                    if last:
                        out.error += f" (after {attempt + 1} attempts)"
                        return None
                    self.clock.sleep(self._backoff(attempt, asked))
                    continue
                if resp.status_code in _REDIRECTS and resp.headers.get("Location"):
                    out.error = None
                    return resp.headers["Location"]
                if resp.status_code == 304:
                    out.error = None
                    _validators(out, resp)
                    return None
                if not 200 <= resp.status_code < 300:
                    out.error = f"HTTP {resp.status_code}"  # a 4xx is the server's last word
                    return None
                _validators(out, resp)
                out.body, out.error = _read_body(resp, p.max_bytes, p.download_s)
                if out.error is not None and out.error.startswith("read failed") and not last:
                    out.body = None
                    self.clock.sleep(self._backoff(attempt, None))
                    continue
                return None
        return None


def _allow_all() -> RobotFileParser:
    parser = RobotFileParser()
    parser.parse([])
    return parser


def _validators(out: Response, resp: requests.Response) -> None:
    out.etag = resp.headers.get("ETag") or out.etag
    out.last_modified = resp.headers.get("Last-Modified") or out.last_modified
    out.content_type = resp.headers.get("Content-Type")


def _brief(exc: BaseException) -> str:
    """A requests exception in a few words (its text repeats the pool and the URL)."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _read_some(resp: requests.Response, limit: int) -> bytes:
    body = bytearray()
    for chunk in resp.iter_content(_CHUNK):
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


def _read_body(resp: requests.Response, limit: int, seconds: float) -> tuple[bytes | None, str | None]:
    """The body, or why not: over ``limit`` (from Content-Length, else counted while streaming,
    so a 5 GB body costs at most ``limit`` bytes), slower than ``seconds``, or cut off."""
    mib = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit} bytes"
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return None, f"larger than the {mib} limit (Content-Length {declared}); not downloaded"
    deadline = time.monotonic() + seconds  # real time: a trickle is measured, not simulated
    body = bytearray()
    try:
        for chunk in resp.iter_content(_CHUNK):
            body += chunk
            if len(body) > limit:
                return None, f"larger than the {mib} limit; download stopped at {len(body)} bytes"
            if time.monotonic() > deadline:
                return None, f"read failed: the body took longer than {seconds:g} s"
    except requests.RequestException as exc:
        return None, f"read failed: {_brief(exc)}"
    return bytes(body), None
