"""Incremental fetch runs against a local agency site serving synthetic reports: outcomes and
counts, files and manifest rows written, one conditional request per URL on a quiet night,
revisions, robots.txt, broken URLs, a lost log, the CLI and the summary."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import replace
from pathlib import Path

import pytest
from fetchkit import (
    FAST,
    Document,
    Flaky,
    RecordingClock,
    Reply,
    Site,
    attachment_page,
    docx_report,
    html_report,
    pdf_bytes,
    site,
)

from fetch.run import FetchRun, run_fetch
from fetch.sources import read_sources
from pipelines.cli import main
from pipelines.ingest import run_ingest
from warehouse.db import query

__all__ = ["site"]

HTML = "text/html; charset=utf-8"
ERROR_PAGE = b"<!DOCTYPE html><html><head><title>Error</title></head><body>Service busy</body></html>"


class Project:
    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.raw = self.data / "raw"
        self.db = self.data / "warehouse.ducklake"
        self.sources = self.data / "sources.csv"
        self.data.mkdir(parents=True)

    def write_sources(self, rows: list[tuple[str, int, str]], region: str = "") -> None:
        lines = ["agency,year,url,region", *(f"{a},{y},{u},{region}" for a, y, u in rows)]
        self.sources.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def fetch(self, clock: RecordingClock | None = None, **politeness: object) -> FetchRun:
        return run_fetch(
            read_sources(self.sources),
            self.raw,
            self.db,
            politeness=replace(FAST, **politeness),  # type: ignore[arg-type]
            clock=clock or RecordingClock(),
        )

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Every file under the raw folder: bytes and modification time (ns)."""
        return {
            p.relative_to(self.raw).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(self.raw.rglob("*"))
            if p.is_file()
        }

    def manifest(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((self.raw / "manifest.csv").read_text(encoding="utf-8"))))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


AGENCIES = {
    "jia": "测试市甲局",
    "yi": "测试市乙局",
    "bing": "测试市丙局",
    "ding": "测试市丁局",
    "wu": "测试市戊局",
    "ji": "测试市己局",
    "geng": "测试市庚局",
    "xin": "测试市辛局",
}


def _serve_corpus(site: Site) -> dict[str, bytes]:
    """The synthetic corpus: every case of issue 15, on one host. Returns the report bytes."""
    bodies = {
        "jia": html_report(AGENCIES["jia"], 2023, seed=1),
        "yi": pdf_bytes("yi 2023"),
        "bing": docx_report(AGENCIES["bing"], 2023, seed=3),
        "ji": docx_report(AGENCIES["ji"], 2023, seed=4),
        "geng": pdf_bytes("geng 2023"),
        "xin": html_report(AGENCIES["xin"], 2022, seed=5),
    }
    r = site.routes
    r["/2023/jia.html"] = Document(bodies["jia"], '"jia-1"', "Mon, 12 Feb 2024 08:00:00 GMT", HTML)
    r["/2023/yi.pdf"] = Document(bodies["yi"], None, "Tue, 13 Feb 2024 08:00:00 GMT", "application/pdf")
    r["/2023/bing.html"] = Document(
        attachment_page(AGENCIES["bing"], 2023, "/files/bing.docx"), '"p"', None, HTML
    )
    r["/files/bing.docx"] = Document(bodies["bing"], '"bing-1"')
    r["/2023/ding.pdf"] = Reply(200, ERROR_PAGE, {"Content-Type": "text/html"})
    r["/2023/ji.docx"] = Flaky([Reply(500)], Document(bodies["ji"], '"ji-1"'))
    r["/2023/geng.pdf"] = Flaky(
        [Reply(429, headers={"Retry-After": "5"})], Document(bodies["geng"], '"geng-1"')
    )
    r["/2022/xin.html"] = Document(bodies["xin"], '"xin-1"', None, HTML)
    return bodies


def _corpus_sources(site: Site) -> list[tuple[str, int, str]]:
    paths = {
        "jia": "/2023/jia.html",
        "yi": "/2023/yi.pdf",
        "bing": "/2023/bing.html",
        "ding": "/2023/ding.pdf",
        "wu": "/2023/wu.pdf",  # 404
        "ji": "/2023/ji.docx",
        "geng": "/2023/geng.pdf",
        "xin": "/2022/xin.html",
    }
    return [(AGENCIES[k], 2022 if k == "xin" else 2023, site.url(p)) for k, p in paths.items()]


def _outcomes(run: FetchRun) -> dict[str, str]:
    return {r.source.agency: r.outcome for r in run.results}


def test_first_run_takes_every_case_of_the_corpus(site: Site, project: Project) -> None:
    bodies = _serve_corpus(site)
    project.write_sources(_corpus_sources(site), region="测试省/测试市")
    clock = RecordingClock()
    run = project.fetch(clock)

    assert _outcomes(run) == {
        "测试市甲局": "new",  # a page holding the template tables is the report
        "测试市乙局": "new",
        "测试市丙局": "new",  # the attachment of a page without tables
        "测试市丁局": "not_report",  # an HTML error page with status 200 at a .pdf URL
        "测试市戊局": "failed",  # 404
        "测试市己局": "new",  # 500, then success
        "测试市庚局": "new",  # 429 with Retry-After, then success
        "测试市辛局": "new",
    }
    assert run.counts(2023) == {"new": 5, "changed": 0, "unchanged": 0, "failed": 1, "not_report": 1}
    assert run.counts(2022) == {"new": 1, "changed": 0, "unchanged": 0, "failed": 0, "not_report": 0}
    assert clock.sleeps == [1.0, 5.0]  # the 500's backoff, then the 429's Retry-After
    # Requests: 8 sources + 1 attachment, the 500 and the 429 retried once each.
    assert len(site.report_requests()) == 11 and run.requests == 11
    assert len(site.requests_to("/robots.txt")) == 1 and run.robots_requests == 1

    by_agency = {r.source.agency: r for r in run.results}
    for key, body in bodies.items():
        path = by_agency[AGENCIES[key]].path
        assert path is not None and (project.raw / path).read_bytes() == body
    files = project.files()
    reports = sorted(p for p in files if not p.startswith(("2023/.pages/", "manifest")))
    assert len(reports) == 6 and [p for p in files if "/.pages/" in p] == [
        f"2023/.pages/测试市丙局-{_sha(attachment_page(AGENCIES['bing'], 2023, '/files/bing.docx'))}.html"
    ]
    assert by_agency["测试市乙局"].path == f"2023/测试市乙局-{_sha(bodies['yi'])}.pdf"
    assert by_agency["测试市丙局"].path.endswith(".docx")
    assert by_agency["测试市甲局"].path.endswith(".html")

    manifest = {row["agency"]: row for row in project.manifest()}
    assert set(manifest) == {AGENCIES[k] for k in bodies}
    assert manifest["测试市乙局"] == {
        "path": by_agency["测试市乙局"].path,
        "agency": "测试市乙局",
        "year": "2023",
        "region": "测试省/测试市",
        "url": site.url("/2023/yi.pdf"),
        "published": "2024-02-13",  # the server's Last-Modified
    }
    assert manifest["测试市丙局"]["url"] == site.url("/files/bing.docx")  # the attachment's URL
    assert manifest["测试市丙局"]["published"] == ""  # the server said nothing

    logged = query(
        project.db, "SELECT url, role, outcome, http_status, bytes, requests, error FROM fetch_log"
    )
    assert len(logged) == 9
    rows = {r[0].removeprefix(site.base): r[1:] for r in logged}
    assert rows["/2023/bing.html"][:2] == ("page", "new")
    assert rows["/files/bing.docx"] == ("attachment", "new", 200, len(bodies["bing"]), 1, None)
    assert rows["/2023/wu.pdf"] == ("report", "failed", 404, 0, 1, "HTTP 404")
    assert rows["/2023/ding.pdf"][1:3] == ("not_report", 200)
    assert rows["/2023/ding.pdf"][5].startswith("an HTML page where a PDF was expected")
    assert rows["/2023/ji.docx"] == ("report", "new", 200, len(bodies["ji"]), 2, None)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:12]


def test_a_quiet_night_makes_one_conditional_request_per_url_and_changes_no_file(
    site: Site, project: Project
) -> None:
    _serve_corpus(site)
    project.write_sources(_corpus_sources(site))
    project.fetch()
    before = project.files()
    site.seen.clear()

    clock = RecordingClock()
    run = project.fetch(clock)
    assert run.counts(2023) == {"new": 0, "changed": 0, "unchanged": 5, "failed": 1, "not_report": 1}
    assert run.counts(2022)["unchanged"] == 1
    asked = [s.path for s in site.report_requests()]
    every_url = ["/2023/jia.html", "/2023/yi.pdf", "/2023/bing.html", "/files/bing.docx", "/2023/ding.pdf"]
    every_url += ["/2023/wu.pdf", "/2023/ji.docx", "/2023/geng.pdf", "/2022/xin.html"]
    assert sorted(asked) == sorted(every_url)  # one request per URL, the attachment included
    conditional = {
        s.path
        for s in site.report_requests()
        if "If-None-Match" in s.headers or "If-Modified-Since" in s.headers
    }
    assert conditional == set(asked) - {"/2023/ding.pdf", "/2023/wu.pdf"}  # every URL with a file kept
    assert site.requests_to("/2023/yi.pdf")[0].headers["If-Modified-Since"] == "Tue, 13 Feb 2024 08:00:00 GMT"
    assert project.files() == before  # same bytes, same times: nothing written, manifest included
    assert run.manifest_rows == 0 and clock.sleeps == []


def test_same_bytes_again_write_nothing_without_a_304(site: Site, project: Project) -> None:
    """A server that ignores validators: the sha256 decides, nothing is written."""
    site.routes["/r.html"] = Reply(200, html_report("测试市甲局", 2023), {"Content-Type": HTML})
    project.write_sources([("测试市甲局", 2023, site.url("/r.html"))])
    assert _outcomes(project.fetch()) == {"测试市甲局": "new"}
    before = project.files()
    assert _outcomes(project.fetch()) == {"测试市甲局": "unchanged"}
    assert project.files() == before


def test_changed_report_is_a_new_revision_that_supersedes_the_old(site: Site, project: Project) -> None:
    old, new, newest = (html_report("测试市甲局", 2023, seed=s) for s in (1, 2, 3))
    site.routes["/r.html"] = Document(old, '"1"', "Mon, 12 Feb 2024 08:00:00 GMT", HTML)
    project.write_sources([("测试市甲局", 2023, site.url("/r.html"))])
    first = project.fetch().results[0]
    site.routes["/r.html"] = Document(new, '"2"', "Fri, 01 Mar 2024 08:00:00 GMT", HTML)
    second = project.fetch().results[0]
    assert (first.outcome, second.outcome) == ("new", "changed")
    assert first.path != second.path and (project.raw / first.path).read_bytes() == old  # both kept
    assert [(r["path"], r["published"]) for r in project.manifest()] == [
        (first.path, "2024-02-12"),
        (second.path, "2024-03-01"),
    ]
    # Changed again the same day: the same Last-Modified date would tie with the revision before,
    # so the new row has no published date and its file time (now) makes it the current one. (The
    # seeds are such that a tie would go to the older file: its name sorts first.)
    site.routes["/r.html"] = Document(newest, '"3"', "Fri, 01 Mar 2024 17:00:00 GMT", HTML)
    third = project.fetch().results[0]
    assert third.outcome == "changed" and project.manifest()[-1]["published"] == ""
    assert len({first.path, second.path, third.path}) == 3

    assert run_ingest(raw_dir=project.raw, db_path=project.db).success  # one ingest: a costly step
    assert _statuses(project) == {
        first.path: ("superseded", _id(newest)),
        second.path: ("superseded", _id(newest)),
        third.path: ("ok", None),
    }


def _id(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:16]


def _statuses(project: Project) -> dict[str, tuple[str, str | None]]:
    rows = query(project.db, "SELECT source_path, status, superseded_by FROM reports")
    return {path: (status, by) for path, status, by in rows}


def test_robots_disallow_is_not_fetched_and_logged(site: Site, project: Project) -> None:
    site.routes["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /private/\n")
    site.routes["/private/r.pdf"] = Document(pdf_bytes())
    project.write_sources([("测试市甲局", 2023, site.url("/private/r.pdf"))])
    run = project.fetch()
    assert _outcomes(run) == {"测试市甲局": "failed"} and site.requests_to("/private/r.pdf") == []
    assert query(project.db, "SELECT outcome, http_status, requests, error FROM fetch_log") == [
        ("failed", None, 0, f"robots.txt of {site.base} disallows /private/r.pdf for gongkai")
    ]
    assert not (project.raw / "2023").exists()


def test_a_url_failing_three_runs_in_a_row_is_broken(site: Site, project: Project) -> None:
    site.routes["/ok.pdf"] = Document(pdf_bytes())
    project.write_sources(
        [("测试市甲局", 2023, site.url("/gone.pdf")), ("测试市乙局", 2023, site.url("/ok.pdf"))]
    )
    assert [h.url for h in project.fetch().broken] == []
    assert [h.url for h in project.fetch().broken] == []
    third = project.fetch()
    assert [(h.url, h.failures_in_a_row) for h in third.broken] == [(site.url("/gone.pdf"), 3)]
    # It comes back: no longer broken.
    site.routes["/gone.pdf"] = Document(pdf_bytes("back"))
    assert project.fetch().broken == []
    assert query(
        project.db, "SELECT failures_in_a_row, broken FROM fetch_urls WHERE url = ?", [site.url("/gone.pdf")]
    ) == [(0, False)]


def test_a_lost_log_costs_one_download_never_a_second_file(site: Site, project: Project) -> None:
    site.routes["/r.pdf"] = Document(pdf_bytes(), '"1"')
    project.write_sources([("测试市甲局", 2023, site.url("/r.pdf"))])
    project.fetch()
    before = project.files()
    project.db.unlink()  # the warehouse (and the fetch log in it) is gone
    site.seen.clear()
    run = project.fetch()
    assert _outcomes(run) == {"测试市甲局": "unchanged"}
    assert "If-None-Match" not in site.requests_to("/r.pdf")[0].headers
    assert project.files() == before


def test_manifest_rows_of_people_are_kept(site: Site, project: Project) -> None:
    site.routes["/r.pdf"] = Document(pdf_bytes())
    project.raw.mkdir(parents=True)
    (project.raw / "manifest.csv").write_text(
        "path,agency,year,note\n2022/hand.txt,某局,2022,typed by hand\n", encoding="utf-8"
    )
    project.write_sources([("测试市甲局", 2023, site.url("/r.pdf"))])
    run = project.fetch()
    rows = project.manifest()
    assert rows[0] == {
        "path": "2022/hand.txt",
        "agency": "某局",
        "year": "2022",
        "note": "typed by hand",
        "region": "",
        "url": "",
        "published": "",
    }
    assert rows[1]["path"] == run.results[0].path and rows[1]["note"] == ""


def test_bad_lines_of_sources_are_skipped_and_said(site: Site, project: Project) -> None:
    site.routes["/r.pdf"] = Document(pdf_bytes())
    project.sources.write_text(
        f"agency,year,url\n测试市甲局,2023,{site.url('/r.pdf')}\n测试市乙局,20x3,{site.url('/r.pdf')}\n"
        "测试市丙局,2023,ftp://example.invalid/r.pdf\n,2023,http://127.0.0.1:9/x.pdf\n"
        "测试市丁局,1850,http://127.0.0.1:9/y.pdf\n",
        encoding="utf-8",
    )
    sources = read_sources(project.sources)
    assert [s.agency for s in sources.rows] == ["测试市甲局"]
    assert sources.problems == [
        "sources.csv line 3: year '20x3' is not a whole number; line skipped",
        "sources.csv line 4: 'ftp://example.invalid/r.pdf' is not an http(s) URL; line skipped",
        "sources.csv line 5: no agency; line skipped",
        "sources.csv line 6: year 1850 is not a report year (2000–2100); line skipped",
    ]


# ------------------------------------------------------------------------------------ the CLI
@pytest.fixture
def cli_env(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("GONGKAI_RAW", str(project.raw))
    monkeypatch.setenv("GONGKAI_DB", str(project.db))
    monkeypatch.setenv("GONGKAI_SOURCES", str(project.sources))
    monkeypatch.setenv("GONGKAI_FETCH_CONTACT", "tests@example.invalid")
    return project


FAST_CLI = ["--interval", "0", "--timeout", "1", "--retries", "0"]


def test_cli_fetch_counts_failures_exit_3_and_summary_lists_broken(
    site: Site, cli_env: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    site.routes["/r.html"] = Document(html_report("测试市甲局", 2023), '"1"', None, HTML)
    cli_env.write_sources(
        [("测试市甲局", 2023, site.url("/r.html")), ("测试市乙局", 2023, site.url("/gone.pdf"))]
    )
    assert main(["fetch", *FAST_CLI]) == 3
    out = capsys.readouterr().out
    assert "2023: 2 URLs: 1 new, 0 changed, 0 unchanged, 1 failed, 0 not a report" in out
    assert f"  2023 测试市乙局: {site.url('/gone.pdf')}: HTTP 404" in out
    assert main(["fetch", "2023", *FAST_CLI]) == 3
    assert main(["fetch", "2019-2023", *FAST_CLI]) == 3
    out = capsys.readouterr().out
    assert "2023: 2 URLs: 0 new, 0 changed, 1 unchanged, 1 failed, 0 not a report" in out
    assert (
        f"broken: 1 URL failing 3 runs in a row or more:\n  {site.url('/gone.pdf')} (测试市乙局 2023): 3 runs"
        in out
    )

    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "last fetch (" in out
    assert (
        "UTC): 2 URLs requested (attachments included): 0 new, 0 changed, 1 unchanged, 1 failed, 0 not a report"
        in out
    )
    assert "failed fetches (URLs whose last attempt failed): 1" in out
    assert f"BROKEN {site.url('/gone.pdf')} (测试市乙局 2023): 3 run(s) in a row, last: HTTP 404" in out
    assert "broken URLs (failing 3 runs in a row or more): 1" in out


def test_cli_fetch_all_fetched_exit_0(
    site: Site, cli_env: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    site.routes["/r.pdf"] = Document(pdf_bytes())
    cli_env.write_sources([("测试市甲局", 2023, site.url("/r.pdf"))])
    assert main(["fetch", *FAST_CLI]) == 0
    assert "1 report file written, manifest.csv: 1 rows added or updated" in capsys.readouterr().out


def test_cli_fetch_without_sources_says_so(cli_env: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gongkai: error: nothing to fetch: {cli_env.sources} is absent;")
    assert err.count("\n") == 1 and not cli_env.raw.exists()


@pytest.mark.parametrize(
    ("content", "code", "said"),
    [
        (
            "agency,year\n甲,2023\n",
            1,
            "no 'url' column (header: agency,year; expected agency,year,url,region); nothing fetched",
        ),
        (b"agency,year,url\n\xff\xfe,2023,http://x\n", 1, "unreadable"),
    ],
)
def test_cli_fetch_unusable_sources_one_line(
    cli_env: Project, capsys: pytest.CaptureFixture[str], content: str | bytes, code: int, said: str
) -> None:
    if isinstance(content, bytes):
        cli_env.sources.write_bytes(content)
    else:
        cli_env.sources.write_text(content, encoding="utf-8")
    assert main(["fetch"]) == code
    err = capsys.readouterr().err
    assert err.startswith("gongkai: error: ") and said in err and err.count("\n") == 1


def test_cli_fetch_bad_year_is_a_usage_error(cli_env: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "20x3"]) == 2
    assert main(["fetch", "--retries", "-1"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_fetch_unreadable_manifest_loses_nothing(
    site: Site, cli_env: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    site.routes["/r.pdf"] = Document(pdf_bytes())
    cli_env.write_sources([("测试市甲局", 2023, site.url("/r.pdf"))])
    cli_env.raw.mkdir(parents=True)
    (cli_env.raw / "manifest.csv").write_bytes(b"path,agency\n\xff\xfe,x\n")
    assert main(["fetch", *FAST_CLI]) == 1
    err = capsys.readouterr().err
    assert "manifest.csv: unreadable" in err and err.count("\n") == 1
    assert site.report_requests() == [] and os.listdir(cli_env.raw) == ["manifest.csv"]
