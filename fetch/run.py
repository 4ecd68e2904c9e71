"""One incremental fetch run: every source URL of the years asked for, politely, into the raw
folder, with manifest rows and fetch_log rows.

Per source: a conditional GET (the validators of its last good fetch, when its file is still
on disk); 304 → unchanged, nothing written; a body whose sha256 is the one kept → unchanged,
nothing written; other bytes → a new file beside the old one (a new revision) and its manifest
row. A page without the template tables is followed to its attachment (``attachments``), one
level, and both are kept. A failure is logged and counted, never raised: one dead site must not
stop the night. Only faults of the machine (a full disk) stop the run, in one line.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from fetch.attachments import find_attachment, holds_template_tables
from fetch.client import Clock, PoliteClient, Politeness, Response, SystemClock
from fetch.content import classify
from fetch.sources import Source, Sources
from fetch.store import PAGES, ManifestRow, add_manifest_rows, check_manifest, file_name, write_atomic
from warehouse.fetch_log import (
    OUTCOMES,
    LogRow,
    UrlHealth,
    UrlState,
    append_log,
    page_attachments,
    url_health,
    url_states,
)
from warehouse.filelock import exclusive_lock
from warehouse.inventory import Manifest, read_manifest, sha256_file


@dataclass
class SourceResult:
    """What became of one sources.csv line: the report's outcome (an attachment page's is its
    attachment's), and the log and manifest rows it made."""

    source: Source
    outcome: str = "failed"
    error: str | None = None
    path: str | None = None  # the report file, relative to the raw folder
    log: list[LogRow] = field(default_factory=list)
    manifest: list[ManifestRow] = field(default_factory=list)


@dataclass
class FetchRun:
    run_id: str
    sources: Sources
    years: list[int]
    results: list[SourceResult] = field(default_factory=list)
    health: list[UrlHealth] = field(default_factory=list)  # this run's URLs, after it
    requests: int = 0  # HTTP requests to report URLs (robots.txt apart)
    robots_requests: int = 0
    manifest_rows: int = 0  # manifest.csv rows added or updated

    def counts(self, year: int | None = None) -> dict[str, int]:
        found = Counter(r.outcome for r in self.results if year is None or r.source.year == year)
        return {o: found.get(o, 0) for o in OUTCOMES}

    @property
    def broken(self) -> list[UrlHealth]:
        return [h for h in self.health if h.broken]

    @property
    def log(self) -> list[LogRow]:
        return [row for r in self.results for row in r.log]


def _published(last_modified: str | None) -> str | None:
    """The date a Last-Modified header gives (ISO), or None."""
    if not last_modified:
        return None
    try:
        return parsedate_to_datetime(last_modified).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Context:
    raw: Path
    run_id: str
    states: dict[str, UrlState]
    manifest: Manifest
    attachment_of: dict[str, str]  # page URL → the attachment it led to last time
    _fallback: dict[str, UrlState | None] = field(default_factory=dict)

    def previous(self, url: str) -> UrlState | None:
        """The URL's last good fetch whose file is still there: from fetch_log, else (a lost
        log) the manifest's newest file with this URL, hashed."""
        state = self.states.get(url)
        if state is not None and (self.raw / state.path).is_file():
            return state
        if url not in self._fallback:
            self._fallback[url] = self._from_manifest(url)
        return self._fallback[url]

    def _from_manifest(self, url: str) -> UrlState | None:
        files = []
        for entry in self.manifest.entries.values():
            path = self.raw / entry.path
            if entry.url == url and path.is_file():
                stamp = entry.published_date.isoformat() if entry.published_date else ""
                files.append((stamp, path.stat().st_mtime, entry.path))
        if not files:
            return None
        *_, rel = max(files)
        return UrlState(url, url, "report", sha256_file(self.raw / rel), rel, None, None)

    def published_of(self, path: str) -> str | None:
        entry = self.manifest.entries.get(path)
        return entry.published_date.isoformat() if entry and entry.published_date else None


def _validators(previous: UrlState | None) -> dict[str, str | None]:
    if previous is None:
        return {}
    return {"etag": previous.etag, "last_modified": previous.last_modified}


class _Worker:
    """Fetches the sources of one host, one request at a time."""

    def __init__(self, ctx: _Context, client: PoliteClient) -> None:
        self.ctx, self.client = ctx, client

    def _log(
        self,
        result: SourceResult,
        url: str,
        role: str,
        at: datetime,
        resp: Response | None,
        outcome: str,
        *,
        sha256: str | None = None,
        path: str | None = None,
        error: str | None = None,
    ) -> None:
        s = result.source
        result.log.append(
            LogRow(
                run_id=self.ctx.run_id,
                attempted_at=at,
                year=s.year,
                agency=s.agency,
                source_url=s.url,
                url=url,
                role=role,
                http_status=resp.status if resp else None,
                bytes=len(resp.body) if resp and resp.body else 0,
                sha256=sha256,
                outcome=outcome,
                error=error,
                path=path,
                etag=resp.etag if resp else None,
                last_modified=resp.last_modified if resp else None,
                requests=resp.requests if resp else 0,
            )
        )

    def source(self, s: Source) -> SourceResult:
        result = SourceResult(s)
        self._url(result, s.url, "report")
        return result

    def _url(self, result: SourceResult, url: str, role: str) -> None:
        """GET one URL (the source, or an attachment) and take what it gives."""
        previous = self.ctx.previous(url)
        at = _now()
        resp = self.client.get(url, **_validators(previous))
        if resp.error is not None:
            self._log(result, url, role, at, resp, "failed", error=resp.error)
            result.outcome, result.error = "failed", f"{url}: {resp.error}"
            return
        if resp.not_modified:
            if previous is None:  # we sent no validators: a server bug, nothing to keep
                error = "HTTP 304 to an unconditional request"
                self._log(result, url, role, at, resp, "failed", error=error)
                result.outcome, result.error = "failed", f"{url}: {error}"
                return
            kept_role = previous.role if role == "report" else role
            self._log(
                result, url, kept_role, at, resp, "unchanged", sha256=previous.sha256, path=previous.path
            )
            attachment = self.ctx.attachment_of.get(url) if kept_role == "page" else None
            if attachment:  # the page is as it was; its attachment may not be
                self._url(result, attachment, "attachment")
            else:
                result.outcome, result.path = "unchanged", previous.path
            return
        self._take(result, url, role, at, resp, previous)

    def _not_report(
        self, result: SourceResult, url: str, role: str, at: datetime, resp: Response, why: str
    ) -> None:
        sha = hashlib.sha256(resp.body or b"").hexdigest()
        self._log(result, url, role, at, resp, "not_report", sha256=sha, error=why)
        result.outcome, result.error = "not_report", f"{url}: {why}"

    def _take(
        self,
        result: SourceResult,
        url: str,
        role: str,
        at: datetime,
        resp: Response,
        previous: UrlState | None,
    ) -> None:
        s, body = result.source, resp.body or b""
        kind = classify(body, resp.final_url, resp.content_type)
        if kind.problem:
            self._not_report(result, url, role, at, resp, kind.problem)
            return
        if kind.suffix in (None, ".txt"):  # a page or plain text: is it the report itself?
            suffix = ".html" if kind.page else ".txt"
            if holds_template_tables(body, f"report{suffix}", s.agency, s.year):
                self._keep(result, url, role, at, resp, previous, suffix)
                return
            attachment = find_attachment(body, resp.final_url) if kind.page and role == "report" else None
            if attachment is None:
                what = "a page" if kind.page else "text"
                more = (
                    " and no attachment link (.pdf, .doc, .docx, .wps) on the same site"
                    if role == "report"
                    else ""
                )
                self._not_report(result, url, role, at, resp, f"{what} without the template tables{more}")
                return
            self._keep_page(result, url, at, resp, previous)
            self._url(result, attachment, "attachment")
            return
        self._keep(result, url, role, at, resp, previous, kind.suffix)

    def _store(self, year: int, name: str, body: bytes, sha: str, *, page: bool = False) -> str:
        rel = f"{year}/{PAGES}/{name}" if page else f"{year}/{name}"
        target = self.ctx.raw / rel
        # The same bytes have the same name: already there (a log lost after the write) → no write.
        if not (target.is_file() and target.stat().st_size == len(body) and sha256_file(target) == sha):
            write_atomic(target, body)
        return rel

    def _keep_page(
        self, result: SourceResult, url: str, at: datetime, resp: Response, previous: UrlState | None
    ) -> None:
        s, body = result.source, resp.body or b""
        sha = hashlib.sha256(body).hexdigest()
        if previous is not None and previous.sha256 == sha:
            self._log(result, url, "page", at, resp, "unchanged", sha256=sha, path=previous.path)
            return
        rel = self._store(s.year, file_name(s.agency, sha, ".html"), body, sha, page=True)
        self._log(result, url, "page", at, resp, "changed" if previous else "new", sha256=sha, path=rel)

    def _keep(
        self,
        result: SourceResult,
        url: str,
        role: str,
        at: datetime,
        resp: Response,
        previous: UrlState | None,
        suffix: str,
    ) -> None:
        s, body = result.source, resp.body or b""
        sha = hashlib.sha256(body).hexdigest()
        if previous is not None and previous.sha256 == sha:
            self._log(result, url, role, at, resp, "unchanged", sha256=sha, path=previous.path)
            result.outcome, result.path = "unchanged", previous.path
            return
        rel = self._store(s.year, file_name(s.agency, sha, suffix), body, sha)
        outcome = "changed" if previous else "new"
        published = _published(resp.last_modified)
        before = self.ctx.published_of(previous.path) if previous else None
        if published and before and published <= before:
            # Same day (or a server clock gone back): a date would tie with the old revision or
            # lose to it; without one, the file's time (now) orders the revisions.
            published = None
        result.manifest.append(ManifestRow(rel, s.agency, s.year, s.region, url, published))
        self._log(result, url, role, at, resp, outcome, sha256=sha, path=rel)
        result.outcome, result.path = outcome, rel

    def run(self, sources: list[Source]) -> list[SourceResult]:
        try:
            return [self.source(s) for s in sources]
        finally:
            self.client.close()


@contextmanager
def fetch_lock(raw: Path, say: Callable[[str], None]) -> Iterator[None]:
    """One fetch at a time per raw folder (they would race on manifest.csv); a second waits."""
    path = raw.parent / f".{raw.name}.fetch.lock"
    with exclusive_lock(path, lambda _fd: say(f"another fetch holds {path}; waiting…")):
        yield


def _by_host(sources: list[Source]) -> list[list[Source]]:
    groups: dict[str, list[Source]] = {}
    for s in sources:
        groups.setdefault(s.host, []).append(s)
    return list(groups.values())


def run_fetch(
    sources: Sources,
    raw: Path,
    db: Path,
    *,
    years: list[int] | None = None,
    politeness: Politeness | None = None,
    clock: Clock | None = None,
    say: Callable[[str], None] | None = None,
) -> FetchRun:
    """Fetch the sources of ``years`` (default: all) into ``raw``; log the run in ``db``."""
    say = say or (lambda _m: None)
    politeness = politeness or Politeness()
    chosen = sources.for_years(years)
    run = FetchRun(run_id=uuid.uuid4().hex, sources=sources, years=sorted({s.year for s in chosen}))
    if not chosen:
        return run
    with fetch_lock(raw, say):
        check_manifest(raw)  # before any download: rows must be addable
        raw.mkdir(parents=True, exist_ok=True)
        ctx = _Context(
            raw=raw,
            run_id=run.run_id,
            states=url_states(db),
            manifest=read_manifest(raw),
            attachment_of=page_attachments(db),
        )
        groups = _by_host(chosen)
        workers = max(1, min(politeness.concurrency, len(groups)))
        clients = [PoliteClient(politeness, clock or SystemClock()) for _ in groups]
        failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_Worker(ctx, c).run, g) for c, g in zip(clients, groups, strict=True)]
            for future in futures:
                try:
                    run.results.extend(future.result())
                except BaseException as exc:  # a machine fault: keep the others' rows, then raise
                    failure = failure or exc
        run.results.sort(key=lambda r: r.source.line)
        run.requests = sum(row.requests for row in run.log)
        run.robots_requests = sum(c.robots_requests for c in clients)
        run.manifest_rows = add_manifest_rows(raw, [m for r in run.results for m in r.manifest])
        if failure is not None:
            raise failure
    append_log(db, run.log, say)
    run.health = url_health(db, sorted({row.url for row in run.log}))
    return run
