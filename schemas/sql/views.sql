-- Analyst views and marts. `agency` is the canonical agency everywhere (table agencies); every
-- view reads ONE report per agency-year: the current one (a later revision supersedes an earlier
-- one when the year is loaded), or a rejected one when nothing was loaded. Formulas: docs/metrics.md.
--
-- Marts: agency_reports, agency_year_metrics, group_year_metrics and agency_rankings are tables,
-- filled per year at load time from the hidden view `_<name>_query` beside each (warehouse.marts),
-- so a question about one agency or one year reads a few thousand rows, not every fact. The
-- other views read the marts and the fact tables live.

-- ------------------------------------------------------------------------------ reports
CREATE OR REPLACE VIEW _agency_reports_query AS
SELECT *
FROM reports
WHERE status <> 'superseded'
QUALIFY row_number() OVER (
    PARTITION BY agency, year
    ORDER BY status = 'rejected', status = 'warning', null_cells, source_path
) = 1;
CREATE TABLE IF NOT EXISTS agency_reports AS FROM _agency_reports_query LIMIT 0;

-- Which file replaced which: same agency and year, the later publication is current.
CREATE OR REPLACE VIEW report_revisions AS
SELECT
    old.agency,
    old.year,
    old.report_id     AS superseded_report_id,
    old.source_path   AS superseded_path,
    old.published     AS superseded_published,
    old.file_mtime    AS superseded_file_mtime,
    cur.report_id     AS current_report_id,
    cur.source_path   AS current_path,
    cur.published     AS current_published,
    cur.file_mtime    AS current_file_mtime
FROM reports AS old
JOIN reports AS cur ON cur.year = old.year AND cur.report_id = old.superseded_by
WHERE old.status = 'superseded';

-- ------------------------------------------------------------------------------ agencies
-- Names that no agencies.csv row and no manifest row names: kept as their own agency, listed here.
CREATE OR REPLACE VIEW unresolved_agencies AS
SELECT
    a.agency,
    list(DISTINCT r.year ORDER BY r.year)            AS years,
    count(*)                                         AS reports,
    list(DISTINCT r.agency_source ORDER BY r.agency_source) AS agency_sources,
    list(r.source_path ORDER BY r.source_path)       AS source_paths
FROM agencies AS a
JOIN reports AS r ON r.agency = a.agency
WHERE a.source = 'reports'
GROUP BY a.agency;

-- Pairs of agency names that may be one agency (a shorter title, one character apart as in an
-- OCR slip 沐阳/沭阳) and never report in the same year. Suggestions only: confirm them in agencies.csv.
CREATE OR REPLACE VIEW agency_alias_suggestions AS
WITH names AS (
    SELECT a.agency, list(DISTINCT r.year ORDER BY r.year) AS years
    FROM agencies AS a
    JOIN reports AS r ON r.agency = a.agency AND r.status <> 'rejected'
    GROUP BY a.agency
)
SELECT
    n.agency AS name,
    c.agency AS candidate,
    CASE WHEN suffix(c.agency, n.agency) THEN 'shorter title of the candidate' ELSE 'one character differs' END
        AS reason,
    n.years  AS name_years,
    c.years  AS candidate_years
FROM names AS n
JOIN names AS c ON c.agency <> n.agency
WHERE (
        (length(n.agency) >= 5 AND length(c.agency) > length(n.agency) AND suffix(c.agency, n.agency))
     OR (length(n.agency) >= 4 AND length(c.agency) = length(n.agency)
         AND levenshtein(c.agency, n.agency) = 1 AND n.agency < c.agency)
    )
    AND len(list_intersect(n.years, c.years)) = 0;

-- ------------------------------------------------------------------------------ table 三, comparable
-- Table 三 lined up across the 2019 and 2021 formats. kind = 'row': a printed row that means the
-- same in both formats; kind = 'group': withheld / unavailable / not_processed / other rolled up
-- (other = the single 2019-style row, or the sum of the three 2021 rows). The 2021-only rows
-- other_no_correction / other_unpaid_fee / other_other are in `applications`, not here: a series
-- never mixes a leaf with a group. A group is NULL when one of its leaves is a blank cell.
CREATE OR REPLACE VIEW applications_comparable AS
WITH cells AS (
    SELECT a.report_id, a.agency, a.year, r.template, a.applicant_type, a.category, a.count,
           c."group", c."order"
    FROM applications AS a
    -- agency in the join (a fact carries its report's agency): a question about one agency then
    -- reads that agency's rows of agency_reports, not all of them
    JOIN agency_reports AS r ON r.year = a.year AND r.report_id = a.report_id AND r.agency = a.agency
    JOIN categories AS c ON c.code = a.category
),
printed_rows AS (
    SELECT report_id, agency, year, template, applicant_type, category, 'row' AS kind, count, "order"
    FROM cells
    WHERE "group" IS DISTINCT FROM 'other'
),
groups AS (
    SELECT report_id, agency, year, template, applicant_type, "group" AS category, 'group' AS kind,
           CASE WHEN count(count) = count(*) THEN sum(count)::BIGINT END AS count,
           min("order") AS "order"
    FROM cells
    WHERE "group" IN ('withheld', 'unavailable', 'not_processed', 'other')
    GROUP BY report_id, agency, year, template, applicant_type, "group"
)
SELECT u.agency, u.year, u.report_id, u.template, u.category, u.kind,
       coalesce(g.label, c.label) AS label, u.applicant_type, u.count, u."order" AS category_order
FROM (SELECT * FROM printed_rows UNION ALL SELECT * FROM groups) AS u
LEFT JOIN categories AS c ON u.kind = 'row' AND c.code = u.category
LEFT JOIN category_groups AS g ON u.kind = 'group' AND g.code = u.category;

-- Year-over-year change of every comparable cell (rows and groups), same agency, consecutive years.
CREATE OR REPLACE VIEW applications_yoy AS
SELECT
    cur.agency,
    cur.category,
    cur.kind,
    cur.applicant_type,
    cur.year,
    cur.count,
    prev.count AS previous_count,
    cur.count - prev.count AS change,
    (cur.count - prev.count) / nullif(prev.count, 0) AS change_rate,
    cur.template,
    prev.template AS previous_template
FROM applications_comparable AS cur
LEFT JOIN applications_comparable AS prev
    ON  prev.agency = cur.agency
    AND prev.category = cur.category
    AND prev.applicant_type = cur.applicant_type
    AND prev.year = cur.year - 1;

-- ------------------------------------------------------------------------------ metrics
-- One row per loaded agency-year: the counts, and every ratio beside the counts it is made of.
-- A zero denominator gives NULL, so does a blank cell in a numerator or denominator.
-- A table macro, not a view: the years (and the agencies, NULL for all) are filtered inside
-- every part, where the scans see them (a filter on a view's result stops at its LEFT JOINs and
-- CTEs, and read every year's facts).
CREATE OR REPLACE MACRO _agency_year_metrics_for(years, agencies) AS TABLE
WITH totals AS (
    SELECT
        year,
        report_id,
        max(count) FILTER (WHERE category = 'new_received')               AS requests_received,
        max(count) FILTER (WHERE category = 'carried_over')               AS carried_over,
        max(count) FILTER (WHERE category = 'total_processed')            AS handled,
        max(count) FILTER (WHERE category = 'disclosed')                  AS disclosed,
        max(count) FILTER (WHERE category = 'partially_disclosed')        AS partially_disclosed,
        max(count) FILTER (WHERE category = 'withheld')                   AS withheld,
        max(count) FILTER (WHERE category = 'unavailable')                AS unavailable,
        max(count) FILTER (WHERE category = 'not_processed')              AS not_processed,
        max(count) FILTER (WHERE category = 'other')                      AS other,
        max(count) FILTER (WHERE category = 'carried_forward')            AS carried_forward,
        max(count) FILTER (WHERE category = 'withheld_state_secret')      AS withheld_state_secret,
        max(count) FILTER (WHERE category = 'withheld_prohibited_by_law') AS withheld_prohibited_by_law,
        max(count) FILTER (WHERE category = 'withheld_three_securities')  AS withheld_three_securities,
        max(count) FILTER (WHERE category = 'withheld_third_party')       AS withheld_third_party,
        max(count) FILTER (WHERE category = 'withheld_internal_affairs')  AS withheld_internal_affairs,
        max(count) FILTER (WHERE category = 'withheld_process_info')      AS withheld_process_info,
        max(count) FILTER (WHERE category = 'withheld_enforcement_file')  AS withheld_enforcement_file,
        max(count) FILTER (WHERE category = 'withheld_inquiry')           AS withheld_inquiry
    FROM applications_comparable
    WHERE applicant_type = 'total' AND list_contains(years, year)
      AND (agencies IS NULL OR list_contains(agencies, agency))
    GROUP BY year, report_id
),
legal_persons AS (  -- new requests from the five 法人或其他组织 columns; NULL if one is blank
    SELECT a.year, a.report_id,
           CASE WHEN count(a.count) = count(*) THEN sum(a.count)::BIGINT END AS legal_person_requests
    FROM applications AS a
    JOIN applicant_types AS t ON t.code = a.applicant_type
    WHERE a.category = 'new_received' AND t."group" = 'legal_person' AND list_contains(years, a.year)
      AND (agencies IS NULL OR list_contains(agencies, a.agency))
    GROUP BY a.year, a.report_id
),
appeal_counts AS (
    SELECT
        year,
        report_id,
        max(count) FILTER (WHERE proceeding = 'reconsideration' AND outcome = 'total')     AS reconsiderations,
        max(count) FILTER (WHERE proceeding = 'reconsideration' AND outcome = 'corrected') AS reconsiderations_corrected,
        max(count) FILTER (WHERE proceeding = 'reconsideration' AND outcome = 'pending')   AS reconsiderations_pending,
        max(count) FILTER (WHERE proceeding = 'litigation_direct' AND outcome = 'total')     AS lawsuits_direct,
        max(count) FILTER (WHERE proceeding = 'litigation_direct' AND outcome = 'corrected') AS lawsuits_direct_corrected,
        max(count) FILTER (WHERE proceeding = 'litigation_direct' AND outcome = 'pending')   AS lawsuits_direct_pending,
        max(count) FILTER (WHERE proceeding = 'litigation_after_reconsideration' AND outcome = 'total')
            AS lawsuits_after_reconsideration,
        max(count) FILTER (WHERE proceeding = 'litigation_after_reconsideration' AND outcome = 'corrected')
            AS lawsuits_after_reconsideration_corrected,
        max(count) FILTER (WHERE proceeding = 'litigation_after_reconsideration' AND outcome = 'pending')
            AS lawsuits_after_reconsideration_pending
    FROM appeals
    WHERE list_contains(years, year) AND (agencies IS NULL OR list_contains(agencies, agency))
    GROUP BY year, report_id
),
counts AS (
    SELECT
        r.agency, r.year, g.region, g.province, g.city, g.county, g.level,
        r.report_id, r.template, r.status, r.null_cells,
        t.* EXCLUDE (year, report_id),
        t.disclosed + t.partially_disclosed AS disclosed_in_whole_or_part,
        t.requests_received + t.carried_over AS caseload,
        lp.legal_person_requests,
        ap.* EXCLUDE (year, report_id),
        ap.reconsiderations - ap.reconsiderations_pending AS reconsiderations_decided,
        ap.lawsuits_direct - ap.lawsuits_direct_pending AS lawsuits_direct_decided,
        ap.lawsuits_after_reconsideration - ap.lawsuits_after_reconsideration_pending
            AS lawsuits_after_reconsideration_decided,
        ap.lawsuits_direct + ap.lawsuits_after_reconsideration AS lawsuits,
        ap.lawsuits_direct_corrected + ap.lawsuits_after_reconsideration_corrected AS lawsuits_corrected,
        (ap.lawsuits_direct - ap.lawsuits_direct_pending)
            + (ap.lawsuits_after_reconsideration - ap.lawsuits_after_reconsideration_pending) AS lawsuits_decided
    FROM agency_reports AS r
    LEFT JOIN agencies AS g ON g.agency = r.agency
    LEFT JOIN totals AS t ON t.year = r.year AND t.report_id = r.report_id
    LEFT JOIN legal_persons AS lp ON lp.year = r.year AND lp.report_id = r.report_id
    LEFT JOIN appeal_counts AS ap ON ap.year = r.year AND ap.report_id = r.report_id
    WHERE r.status IN ('ok', 'warning') AND list_contains(years, r.year)
      AND (agencies IS NULL OR list_contains(agencies, r.agency))
)
SELECT
    *,
    disclosed_in_whole_or_part / nullif(handled, 0)             AS disclosure_rate,
    disclosed / nullif(handled, 0)                              AS full_disclosure_rate,
    withheld / nullif(handled, 0)                               AS withheld_rate,
    withheld_state_secret / nullif(withheld, 0)                 AS withheld_share_state_secret,
    withheld_prohibited_by_law / nullif(withheld, 0)            AS withheld_share_prohibited_by_law,
    withheld_three_securities / nullif(withheld, 0)             AS withheld_share_three_securities,
    withheld_third_party / nullif(withheld, 0)                  AS withheld_share_third_party,
    withheld_internal_affairs / nullif(withheld, 0)             AS withheld_share_internal_affairs,
    withheld_process_info / nullif(withheld, 0)                 AS withheld_share_process_info,
    withheld_enforcement_file / nullif(withheld, 0)             AS withheld_share_enforcement_file,
    withheld_inquiry / nullif(withheld, 0)                      AS withheld_share_inquiry,
    unavailable / nullif(handled, 0)                            AS unavailable_rate,
    not_processed / nullif(handled, 0)                          AS not_processed_rate,
    other / nullif(handled, 0)                                  AS other_rate,
    carried_forward / nullif(caseload, 0)                       AS carry_forward_rate,
    legal_person_requests / nullif(requests_received, 0)        AS legal_person_share,
    100 * reconsiderations / nullif(requests_received, 0)       AS reconsiderations_per_100_requests,
    100 * lawsuits / nullif(requests_received, 0)               AS lawsuits_per_100_requests,
    reconsiderations_corrected / nullif(reconsiderations_decided, 0) AS reconsideration_correction_rate,
    lawsuits_direct_corrected / nullif(lawsuits_direct_decided, 0)   AS litigation_direct_correction_rate,
    lawsuits_after_reconsideration_corrected / nullif(lawsuits_after_reconsideration_decided, 0)
        AS litigation_after_reconsideration_correction_rate,
    lawsuits_corrected / nullif(lawsuits_decided, 0)                 AS litigation_correction_rate
FROM counts;
CREATE TABLE IF NOT EXISTS agency_year_metrics AS FROM _agency_year_metrics_for([]::INTEGER[], NULL) LIMIT 0;

-- Every metric of agency_year_metrics as (metric, value) with last year's value for the same agency.
CREATE OR REPLACE VIEW metrics_yoy AS
WITH wide AS (
    SELECT agency, year, level, region,
           COLUMNS(* EXCLUDE (agency, year, level, region, province, city, county,
                              report_id, template, status))::DOUBLE
    FROM agency_year_metrics
),
long AS (
    SELECT * FROM wide
    UNPIVOT INCLUDE NULLS (value FOR metric IN (COLUMNS(* EXCLUDE (agency, year, level, region))))
)
SELECT
    cur.agency,
    cur.level,
    cur.region,
    cur.metric,
    cur.year,
    cur.value,
    prev.value AS previous_value,
    cur.value - prev.value AS change,
    CASE
        WHEN cur.value > prev.value THEN 'rose'
        WHEN cur.value < prev.value THEN 'fell'
        WHEN cur.value = prev.value THEN 'same'
    END AS direction
FROM long AS cur
LEFT JOIN long AS prev
    ON prev.agency = cur.agency AND prev.metric = cur.metric AND prev.year = cur.year - 1;

-- One-line summary per agency-year (rejected-only agency-years included, with NULL counts).
CREATE OR REPLACE VIEW agency_year_summary AS
SELECT
    r.agency,
    r.year,
    r.report_id,
    r.template,
    r.status,
    r.null_cells,
    m.requests_received,
    m.carried_over,
    m.handled,
    m.disclosed,
    m.partially_disclosed,
    m.withheld,
    m.unavailable,
    m.not_processed,
    m.other,
    m.carried_forward,
    m.reconsiderations,
    m.lawsuits,
    m.disclosure_rate
FROM agency_reports AS r
LEFT JOIN agency_year_metrics AS m ON m.year = r.year AND m.report_id = r.report_id;

-- ------------------------------------------------------------------------------ across agencies
-- The parts of each rate, NULL together when either is NULL, so that a sum over agencies
-- divides like by like.
CREATE OR REPLACE VIEW metric_parts AS
SELECT
    agency, year, region, province, city, county, level,
    requests_received, handled, disclosed, partially_disclosed, withheld, unavailable, not_processed, other,
    carried_forward, reconsiderations, lawsuits, withheld_process_info,
    CASE WHEN handled IS NOT NULL THEN disclosed_in_whole_or_part END AS disclosure_num,
    CASE WHEN disclosed_in_whole_or_part IS NOT NULL THEN handled END AS disclosure_den,
    CASE WHEN handled IS NOT NULL THEN withheld END AS withheld_num,
    CASE WHEN withheld IS NOT NULL THEN handled END AS withheld_den,
    CASE WHEN requests_received IS NOT NULL THEN legal_person_requests END AS legal_person_num,
    CASE WHEN legal_person_requests IS NOT NULL THEN requests_received END AS legal_person_den,
    CASE WHEN requests_received IS NOT NULL THEN reconsiderations END AS reconsiderations_num,
    CASE WHEN reconsiderations IS NOT NULL THEN requests_received END AS reconsiderations_den,
    CASE WHEN requests_received IS NOT NULL THEN lawsuits END AS lawsuits_num,
    CASE WHEN lawsuits IS NOT NULL THEN requests_received END AS lawsuits_den,
    CASE WHEN reconsiderations_decided IS NOT NULL THEN reconsiderations_corrected END AS reconsideration_correction_num,
    CASE WHEN reconsiderations_corrected IS NOT NULL THEN reconsiderations_decided END AS reconsideration_correction_den,
    CASE WHEN lawsuits_decided IS NOT NULL THEN lawsuits_corrected END AS litigation_correction_num,
    CASE WHEN lawsuits_corrected IS NOT NULL THEN lawsuits_decided END AS litigation_correction_den
FROM agency_year_metrics;

-- Totals and ratio-of-sums rates across agencies, computed once for every grouping the
-- analyst views offer: by province, city, county (the region sets) and by level. `grouping_set`
-- is DuckDB's grouping() bitmask over (province, city, county, level): 7 = province, 3 = city,
-- 1 = county, 14 = level.
CREATE OR REPLACE VIEW _group_year_metrics_query AS
SELECT
    year,
    grouping(province, city, county, level) AS grouping_set,
    province,
    city,
    county,
    level,
    count(*)                  AS agencies,
    sum(requests_received)::BIGINT AS requests_received,
    sum(handled)::BIGINT      AS handled,
    sum(disclosed)::BIGINT    AS disclosed,
    sum(partially_disclosed)::BIGINT AS partially_disclosed,
    sum(withheld)::BIGINT     AS withheld,
    sum(withheld_process_info)::BIGINT AS withheld_process_info,
    sum(unavailable)::BIGINT  AS unavailable,
    sum(not_processed)::BIGINT AS not_processed,
    sum(other)::BIGINT        AS other,
    sum(carried_forward)::BIGINT AS carried_forward,
    sum(reconsiderations)::BIGINT AS reconsiderations,
    sum(lawsuits)::BIGINT     AS lawsuits,
    sum(disclosure_num) / nullif(sum(disclosure_den), 0) AS disclosure_rate,
    sum(withheld_num) / nullif(sum(withheld_den), 0) AS withheld_rate,
    sum(legal_person_num) / nullif(sum(legal_person_den), 0) AS legal_person_share,
    100 * sum(reconsiderations_num) / nullif(sum(reconsiderations_den), 0) AS reconsiderations_per_100_requests,
    100 * sum(lawsuits_num) / nullif(sum(lawsuits_den), 0) AS lawsuits_per_100_requests,
    sum(reconsideration_correction_num) / nullif(sum(reconsideration_correction_den), 0)
        AS reconsideration_correction_rate,
    sum(litigation_correction_num) / nullif(sum(litigation_correction_den), 0) AS litigation_correction_rate
FROM metric_parts
GROUP BY GROUPING SETS (
    (year, province), (year, province, city), (year, province, city, county), (year, level)
);
CREATE TABLE IF NOT EXISTS group_year_metrics AS FROM _group_year_metrics_query LIMIT 0;

-- Totals and metrics by region: one row per province, per city and per county (region_level).
CREATE OR REPLACE VIEW region_year_metrics AS
SELECT
    year,
    CASE grouping_set WHEN 7 THEN 'province' WHEN 3 THEN 'city' ELSE 'county' END AS region_level,
    concat_ws('/', province, city, county) AS region,
    * EXCLUDE (year, grouping_set, level)
FROM group_year_metrics
WHERE grouping_set IN (7, 3, 1)
  AND province IS NOT NULL
  AND (grouping_set = 7 OR city IS NOT NULL)
  AND (grouping_set <> 1 OR county IS NOT NULL);

-- Totals and metrics by administrative level of the agency (province, city, county, township).
CREATE OR REPLACE VIEW level_year_metrics AS
SELECT year, level, * EXCLUDE (year, grouping_set, province, city, county, level)
FROM group_year_metrics
WHERE grouping_set = 14;

-- Agencies ranked within their year and level (1 = most); NULL metric → NULL rank. Rates are
-- ranked only among the agencies that received at least `min_requests` new requests that year
-- (an agency with 5 requests, 5 disclosed, would top every rate): below it a rate keeps its
-- value and has no rank. Counts are ranked among all agencies. The mart agency_rankings uses
-- the documented default, ranking_min_requests(); FROM agency_rankings_min(50) ranks with another.
CREATE OR REPLACE MACRO ranking_min_requests() AS 20;
CREATE OR REPLACE MACRO agency_rankings_min(min_requests) AS TABLE
WITH metrics AS (
    SELECT *, coalesce(requests_received >= min_requests, false) AS rate_ranked
    FROM agency_year_metrics
)
SELECT
    year,
    level,
    agency,
    region,
    count(*) OVER (PARTITION BY year, level) AS agencies_in_level,
    requests_received,
    CASE WHEN requests_received IS NOT NULL
         THEN rank() OVER (PARTITION BY year, level ORDER BY requests_received DESC NULLS LAST) END
        AS requests_received_rank,
    disclosure_rate,
    CASE WHEN rate_ranked AND disclosure_rate IS NOT NULL
         THEN rank() OVER (PARTITION BY year, level, rate_ranked ORDER BY disclosure_rate DESC NULLS LAST) END
        AS disclosure_rate_rank,
    withheld_rate,
    CASE WHEN rate_ranked AND withheld_rate IS NOT NULL
         THEN rank() OVER (PARTITION BY year, level, rate_ranked ORDER BY withheld_rate DESC NULLS LAST) END
        AS withheld_rate_rank,
    withheld_process_info,
    CASE WHEN withheld_process_info IS NOT NULL
         THEN rank() OVER (PARTITION BY year, level ORDER BY withheld_process_info DESC NULLS LAST) END
        AS withheld_process_info_rank,
    reconsideration_correction_rate,
    CASE WHEN rate_ranked AND reconsideration_correction_rate IS NOT NULL
         THEN rank() OVER (PARTITION BY year, level, rate_ranked
                           ORDER BY reconsideration_correction_rate DESC NULLS LAST) END
        AS reconsideration_correction_rate_rank,
    lawsuits_per_100_requests,
    CASE WHEN rate_ranked AND lawsuits_per_100_requests IS NOT NULL
         THEN rank() OVER (PARTITION BY year, level, rate_ranked ORDER BY lawsuits_per_100_requests DESC NULLS LAST) END
        AS lawsuits_per_100_requests_rank,
    min_requests::BIGINT AS min_requests,
    rate_ranked,
    count(*) FILTER (WHERE rate_ranked) OVER (PARTITION BY year, level) AS agencies_ranked_by_rate
FROM metrics;
CREATE OR REPLACE VIEW _agency_rankings_query AS FROM agency_rankings_min(ranking_min_requests());
CREATE TABLE IF NOT EXISTS agency_rankings AS FROM _agency_rankings_query LIMIT 0;

-- ------------------------------------------------------------------------------ table 二
-- Table 二 is NOT comparable across formats (different items and measures): each row carries
-- its template and the labels of that template; no 2019 measure is mapped onto a 2021 one.
CREATE OR REPLACE VIEW proactive_labelled AS
SELECT p.agency, p.year, r.template, p.item, m.item_label, p.measure, m.measure_label, p.value, p.unit
FROM proactive AS p
JOIN agency_reports AS r USING (year, report_id)
JOIN proactive_measures AS m ON m.template = r.template AND m.item = p.item AND m.measure = p.measure;

-- ------------------------------------------------------------------------------ checks
-- Failed identities A–D, with where to look.
CREATE OR REPLACE VIEW identity_failures AS
SELECT r.agency, r.year, r.source_path, k.rule, k.subject, k.expected, k.actual
FROM checks AS k
JOIN reports AS r USING (year, report_id)
WHERE k.passed = false;

-- Identity E, every applicant column: this year's 上年结转 against last year's 结转下年度继续办理.
-- Rows for every loaded agency-year after the agency's first; state says what was found.
CREATE OR REPLACE VIEW carryover_continuity AS
WITH over AS (
    SELECT agency, year, applicant_type, report_id, count
    FROM applications_comparable WHERE category = 'carried_over'
),
forward AS (
    SELECT agency, year, applicant_type, report_id, count
    FROM applications_comparable WHERE category = 'carried_forward'
),
first_years AS (
    SELECT agency, min(year) AS first_year FROM over GROUP BY agency
)
SELECT
    o.agency,
    o.year,
    o.applicant_type,
    o.count AS carried_over,
    f.count AS previous_carried_forward,
    o.count - f.count AS difference,
    o.count = f.count AS passed,
    CASE
        WHEN f.report_id IS NULL THEN 'no report for the previous year'
        WHEN o.count IS NULL OR f.count IS NULL THEN 'blank cell'
        WHEN o.count = f.count THEN 'continuous'
        ELSE 'break'
    END AS state,
    o.report_id,
    f.report_id AS previous_report_id
FROM over AS o
JOIN first_years AS y ON y.agency = o.agency AND o.year > y.first_year
LEFT JOIN forward AS f ON f.agency = o.agency AND f.applicant_type = o.applicant_type AND f.year = o.year - 1;

-- The same identity, consecutive loaded years only (kept for existing queries).
CREATE OR REPLACE VIEW carryover_check AS
SELECT agency, year, applicant_type, carried_over, previous_carried_forward, passed
FROM carryover_continuity
WHERE previous_report_id IS NOT NULL;
