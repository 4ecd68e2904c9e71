-- Analyst views. An agency can have more than one report file for a year (a re-published
-- version, a copy in another format); the views read ONE per agency-year: a loaded report
-- before a rejected one, ok before warning, then the fewest null cells, then the path.

CREATE OR REPLACE VIEW agency_reports AS
SELECT *
FROM reports
QUALIFY row_number() OVER (
    PARTITION BY agency, year
    ORDER BY status = 'rejected', status = 'warning', null_cells, source_path
) = 1;

-- Year-over-year change of every application cell, same agency, consecutive years only.
CREATE OR REPLACE VIEW applications_yoy AS
WITH cells AS (
    SELECT a.agency, a.category, a.applicant_type, a.year, a.count
    FROM applications AS a
    JOIN agency_reports AS r USING (year, report_id)
)
SELECT
    cur.agency,
    cur.category,
    cur.applicant_type,
    cur.year,
    cur.count,
    prev.count AS previous_count,
    cur.count - prev.count AS change
FROM cells AS cur
LEFT JOIN cells AS prev
    ON  prev.agency = cur.agency
    AND prev.category = cur.category
    AND prev.applicant_type = cur.applicant_type
    AND prev.year = cur.year - 1;

-- One row per agency-year: the 总计 column of table 三 rolled up by group, plus table 四 totals.
CREATE OR REPLACE VIEW agency_year_summary AS
WITH totals AS (
    SELECT
        a.year,
        a.report_id,
        sum(a.count) FILTER (WHERE a.category = 'new_received')        AS requests_received,
        sum(a.count) FILTER (WHERE a.category = 'carried_over')        AS carried_over,
        sum(a.count) FILTER (WHERE a.category = 'total_processed')     AS handled,
        sum(a.count) FILTER (WHERE a.category = 'disclosed')           AS disclosed,
        sum(a.count) FILTER (WHERE a.category = 'partially_disclosed') AS partially_disclosed,
        sum(a.count) FILTER (WHERE c."group" = 'withheld')             AS withheld,
        sum(a.count) FILTER (WHERE c."group" = 'unavailable')          AS unavailable,
        sum(a.count) FILTER (WHERE c."group" = 'not_processed')        AS not_processed,
        sum(a.count) FILTER (WHERE c."group" = 'other')                AS other,
        sum(a.count) FILTER (WHERE a.category = 'carried_forward')     AS carried_forward
    FROM applications AS a
    JOIN categories AS c ON c.code = a.category
    WHERE a.applicant_type = 'total'
    GROUP BY a.year, a.report_id
),
appeal_totals AS (
    SELECT
        year,
        report_id,
        sum(count) FILTER (WHERE proceeding = 'reconsideration') AS reconsiderations,
        sum(count) FILTER (WHERE proceeding IN ('litigation_direct', 'litigation_after_reconsideration'))
            AS lawsuits
    FROM appeals
    WHERE outcome = 'total'
    GROUP BY year, report_id
)
SELECT
    r.agency,
    r.year,
    r.report_id,
    r.template,
    r.status,
    r.null_cells,
    t.requests_received,
    t.carried_over,
    t.handled,
    t.disclosed,
    t.partially_disclosed,
    t.withheld,
    t.unavailable,
    t.not_processed,
    t.other,
    t.carried_forward,
    ap.reconsiderations,
    ap.lawsuits,
    (t.disclosed + t.partially_disclosed) / nullif(t.handled, 0) AS disclosure_rate
FROM agency_reports AS r
LEFT JOIN totals AS t USING (year, report_id)
LEFT JOIN appeal_totals AS ap USING (year, report_id);

-- Failed identities A–D, with where to look.
CREATE OR REPLACE VIEW identity_failures AS
SELECT r.agency, r.year, r.source_path, k.rule, k.subject, k.expected, k.actual
FROM checks AS k
JOIN reports AS r USING (year, report_id)
WHERE k.passed = false;

-- Identity E: this year's 上年结转 should equal last year's 结转下年度继续办理, per applicant column.
CREATE OR REPLACE VIEW carryover_check AS
SELECT
    cur.agency,
    cur.year,
    cur.applicant_type,
    cur.count AS carried_over,
    prev.count AS previous_carried_forward,
    cur.count = prev.count AS passed
FROM applications AS cur
JOIN agency_reports AS rc ON rc.year = cur.year AND rc.report_id = cur.report_id
JOIN applications AS prev
    ON  prev.agency = cur.agency
    AND prev.year = cur.year - 1
    AND prev.applicant_type = cur.applicant_type
    AND prev.category = 'carried_forward'
JOIN agency_reports AS rp ON rp.year = prev.year AND rp.report_id = prev.report_id
WHERE cur.category = 'carried_over';
