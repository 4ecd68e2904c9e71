-- Fetching reports from agency websites (gongkai fetch, asset fetched_files): one row per URL
-- requested per fetch run. The latest good row of a URL is also its conditional state (ETag,
-- Last-Modified, sha256, path): no other state file. A fetch writes only this file's objects,
-- so it never touches the views and marts of views.sql.
CREATE TABLE IF NOT EXISTS fetch_log (
    run_id        VARCHAR   NOT NULL,  -- one fetch run (gongkai fetch, or one nightly partition)
    attempted_at  TIMESTAMP NOT NULL,  -- UTC, when the URL's first request started
    year          INTEGER   NOT NULL,  -- sources.csv year: the report year filed under
    agency        VARCHAR   NOT NULL,  -- sources.csv agency
    source_url    VARCHAR   NOT NULL,  -- the sources.csv URL this request serves
    url           VARCHAR   NOT NULL,  -- the URL requested (the source, or its page's attachment)
    role          VARCHAR   NOT NULL,  -- report | page | attachment
    http_status   INTEGER,             -- last HTTP status; NULL when no response (timeout, robots.txt)
    bytes         BIGINT    NOT NULL,  -- body bytes received (0 for 304 and failures)
    sha256        VARCHAR,             -- of the body, or of the kept file when unchanged
    outcome       VARCHAR   NOT NULL,  -- new | changed | unchanged | failed | not_report
    error         VARCHAR,             -- why failed or not a report
    path          VARCHAR,             -- the file kept, relative to the raw folder
    etag          VARCHAR,             -- validators the server gave, sent back next time
    last_modified VARCHAR,
    requests      INTEGER   NOT NULL   -- HTTP requests made for this URL (retries, redirects)
);

-- One row per URL ever requested: its latest attempt and how many runs in a row it failed.
CREATE OR REPLACE VIEW fetch_urls AS
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY url ORDER BY attempted_at DESC, run_id DESC) AS n
    FROM fetch_log
), streaks AS (
    SELECT url,
           coalesce(min(n) FILTER (WHERE outcome <> 'failed') - 1, count(*)) AS failures_in_a_row,
           max(attempted_at) FILTER (WHERE outcome <> 'failed') AS last_success
    FROM ranked GROUP BY url
)
SELECT r.url, r.source_url, r.agency, r.year, r.role,
       r.attempted_at AS last_attempt, r.outcome AS last_outcome, r.http_status AS last_status,
       r.error AS last_error, s.failures_in_a_row, s.last_success,
       s.failures_in_a_row >= 3 AS broken, r.path
FROM ranked r JOIN streaks s USING (url)
WHERE r.n = 1;
