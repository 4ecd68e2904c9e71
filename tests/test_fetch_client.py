"""The polite client against a local server: conditional requests, retries and backoff,
Retry-After, timeouts, redirects, robots.txt, the size limit, the pacing per host.

Waits are asserted on a recording clock (nothing sleeps); the server counts every request.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fetchkit import FAST, Document, RecordingClock, Reply, Site, pdf_bytes, site

from fetch.client import PoliteClient, Politeness, retry_after

__all__ = ["site"]  # the fixture


def _client(politeness: Politeness = FAST) -> tuple[PoliteClient, RecordingClock]:
    clock = RecordingClock()
    return PoliteClient(politeness, clock), clock


def test_conditional_request_gets_304_and_sends_validators(site: Site) -> None:
    body = pdf_bytes()
    site.routes["/r.pdf"] = Document(body, etag='"v1"', last_modified="Tue, 20 Feb 2024 08:00:00 GMT")
    client, clock = _client()
    first = client.get(site.url("/r.pdf"))
    assert (first.status, first.body, first.etag, first.error) == (200, body, '"v1"', None)
    again = client.get(site.url("/r.pdf"), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.body is None and again.requests == 1
    sent = site.requests_to("/r.pdf")[-1].headers
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == "Tue, 20 Feb 2024 08:00:00 GMT"
    assert clock.sleeps == []


def test_identifying_user_agent_with_contact(site: Site) -> None:
    site.routes["/r.pdf"] = Document(pdf_bytes())
    client, _clock = _client()
    client.get(site.url("/r.pdf"))
    agents = {s.headers["User-Agent"] for s in site.seen}
    assert len(agents) == 1  # robots.txt too
    (agent,) = agents
    assert agent.startswith("gongkai/") and "contact: tests@example.invalid" in agent


def test_a_contact_cannot_break_the_header() -> None:
    agent = Politeness(contact="me@example.org\r\nX-Evil: 1").user_agent()
    assert agent.endswith("contact: me@example.org X-Evil: 1)") and "\n" not in agent
    assert "no contact set (GONGKAI_FETCH_CONTACT)" in Politeness().user_agent()


def test_404_is_final_no_retry(site: Site) -> None:
    client, clock = _client()
    resp = client.get(site.url("/gone.pdf"))
    assert (resp.status, resp.error, resp.requests) == (404, "HTTP 404", 1)
    assert len(site.requests_to("/gone.pdf")) == 1 and clock.sleeps == []


def test_500_then_success_retries_with_backoff(site: Site) -> None:
    site.routes["/r.pdf"] = [Reply(500), Reply(502), Reply(200, pdf_bytes())]
    client, clock = _client()
    resp = client.get(site.url("/r.pdf"))
    assert (resp.status, resp.error, resp.requests) == (200, None, 3)
    assert resp.body == pdf_bytes()
    assert clock.sleeps == [1.0, 2.0]  # backoff_s, then doubled


def test_5xx_gives_up_after_the_retries(site: Site) -> None:
    site.routes["/r.pdf"] = Reply(503)
    client, clock = _client()
    resp = client.get(site.url("/r.pdf"))
    assert resp.error == "HTTP 503 (after 3 attempts)" and resp.body is None
    assert len(site.requests_to("/r.pdf")) == 3 and clock.sleeps == [1.0, 2.0]


def test_429_honours_retry_after(site: Site) -> None:
    site.routes["/r.pdf"] = [Reply(429, headers={"Retry-After": "7"}), Reply(200, pdf_bytes())]
    client, clock = _client()
    resp = client.get(site.url("/r.pdf"))
    assert (resp.status, resp.requests) == (200, 2)
    assert clock.sleeps == [7.0]  # longer than the 1 s backoff: the server's word wins


def test_retry_after_beyond_the_longest_wait_is_not_waited_for(site: Site) -> None:
    site.routes["/r.pdf"] = Reply(503, headers={"Retry-After": "3600"})
    client, clock = _client()
    resp = client.get(site.url("/r.pdf"))
    assert resp.error == "HTTP 503: the server asks to retry after 3600 s (more than 60 s)"
    assert resp.requests == 1 and clock.sleeps == []


def test_retry_after_parses_seconds_and_dates() -> None:
    now = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("120", now) == 120.0
    assert retry_after("Fri, 01 Mar 2024 12:01:30 GMT", now) == 90.0
    assert retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now) == 0.0
    assert retry_after("soon", now) is None and retry_after(None, now) is None


def test_slow_response_times_out_and_is_retried(site: Site) -> None:
    site.routes["/slow.pdf"] = Reply(200, pdf_bytes(), delay=1.5)
    client, clock = _client(replace(FAST, timeout_s=0.3, retries=1))
    resp = client.get(site.url("/slow.pdf"))
    assert resp.status is None and resp.error == "timed out (after 2 attempts)"
    assert resp.requests == 2 and clock.sleeps == [1.0]


def test_redirects_are_followed_within_limits(site: Site) -> None:
    site.routes["/old.pdf"] = Reply(301, headers={"Location": "/moved/r.pdf"})
    site.routes["/moved/r.pdf"] = Document(pdf_bytes())
    client, _clock = _client()
    resp = client.get(site.url("/old.pdf"))
    assert resp.body == pdf_bytes() and resp.final_url == site.url("/moved/r.pdf") and resp.requests == 2


def test_redirect_loop_is_named_and_stops(site: Site) -> None:
    site.routes["/a.pdf"] = Reply(302, headers={"Location": "/b.pdf"})
    site.routes["/b.pdf"] = Reply(302, headers={"Location": "/a.pdf"})
    client, clock = _client()
    resp = client.get(site.url("/a.pdf"))
    assert resp.error == f"redirect loop: {site.url('/b.pdf')} → {site.url('/a.pdf')}"
    assert resp.requests == 2 and len(site.report_requests()) == 2 and clock.sleeps == []


def test_too_many_redirects(site: Site) -> None:
    for n in range(6):
        site.routes[f"/r{n}.pdf"] = Reply(302, headers={"Location": f"/r{n + 1}.pdf"})
    client, _clock = _client()
    resp = client.get(site.url("/r0.pdf"))
    assert resp.error == "more than 3 redirects" and resp.requests == 4


def test_size_limit_from_content_length_downloads_nothing(site: Site) -> None:
    site.routes["/big.pdf"] = Reply(200, b"%PDF" + b"x" * 5000)
    client, _clock = _client(replace(FAST, max_bytes=1024))
    resp = client.get(site.url("/big.pdf"))
    assert resp.body is None and resp.requests == 1
    assert resp.error == "larger than the 1024 bytes limit (Content-Length 5004); not downloaded"


def test_size_limit_enforced_while_streaming(site: Site) -> None:
    site.routes["/big.pdf"] = Reply(200, b"%PDF" + b"x" * 300_000, length=False)
    client, _clock = _client(replace(FAST, max_bytes=100_000))
    resp = client.get(site.url("/big.pdf"))
    assert resp.body is None and resp.requests == 1
    assert resp.error is not None and resp.error.startswith(
        "larger than the 100000 bytes limit; download stopped"
    )
    stopped = int(resp.error.split("stopped at ")[1].split()[0])
    assert 100_000 < stopped < 300_000  # cut off, not read to the end


def test_robots_disallow_is_obeyed(site: Site) -> None:
    site.routes["/robots.txt"] = Reply(
        200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}
    )
    site.routes["/private/r.pdf"] = Document(pdf_bytes())
    site.routes["/public/r.pdf"] = Document(pdf_bytes())
    client, _clock = _client()
    refused = client.get(site.url("/private/r.pdf"))
    assert refused.error == f"robots.txt of {site.base} disallows /private/r.pdf for gongkai"
    assert refused.requests == 0 and site.requests_to("/private/r.pdf") == []
    assert client.get(site.url("/public/r.pdf")).body == pdf_bytes()
    assert len(site.requests_to("/robots.txt")) == 1  # read once per host


def test_robots_5xx_disallows_everything_this_run(site: Site) -> None:
    site.routes["/robots.txt"] = Reply(503)
    site.routes["/r.pdf"] = Document(pdf_bytes())
    client, _clock = _client()
    resp = client.get(site.url("/r.pdf"))
    assert resp.error == f"robots.txt of {site.base} answered HTTP 503: nothing fetched from it this run"
    assert site.requests_to("/r.pdf") == []


def test_requests_to_one_host_are_spaced_and_crawl_delay_lengthens_it(site: Site) -> None:
    site.routes["/a.pdf"] = Document(pdf_bytes())
    site.routes["/b.pdf"] = Document(pdf_bytes())
    client, clock = _client(replace(FAST, host_interval_s=5.0))
    client.get(site.url("/a.pdf"))
    client.get(site.url("/b.pdf"))
    assert clock.sleeps == [5.0, 5.0]  # robots.txt, then each request 5 s after the one before

    site.routes["/robots.txt"] = Reply(200, b"User-agent: gongkai\nCrawl-delay: 12\n")
    client, clock = _client(replace(FAST, host_interval_s=5.0))
    client.get(site.url("/a.pdf"))
    client.get(site.url("/b.pdf"))
    assert clock.sleeps == [12.0, 12.0]
