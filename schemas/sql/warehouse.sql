-- The gongkai warehouse. Codes are TAXONOMY.md's; labels live in the lookup tables only.
-- `year` is the report year = the raw/<year>/ folder = the unit of reload: every load
-- replaces one year's rows in every fact table in one transaction.

CREATE TABLE IF NOT EXISTS reports (
    report_id      VARCHAR   NOT NULL,  -- first 16 hex of the file's sha256
    agency         VARCHAR   NOT NULL,  -- from the manifest or title; else the file stem
    year           INTEGER   NOT NULL,
    template       VARCHAR,             -- '2019' | '2021'; NULL when rejected before matching
    format         VARCHAR,             -- text layout the reader found
    source_path    VARCHAR   NOT NULL,  -- relative to the raw folder
    sha256         VARCHAR   NOT NULL,
    size           BIGINT    NOT NULL,
    status         VARCHAR   NOT NULL,  -- ok | warning | rejected
    error          VARCHAR,             -- why it was rejected
    warnings       VARCHAR,             -- '; '-joined
    null_cells     INTEGER   NOT NULL,
    agency_source  VARCHAR,
    year_source    VARCHAR,
    encoding       VARCHAR,
    parser_version VARCHAR,
    ingested_at    TIMESTAMP NOT NULL,  -- UTC; kept across reloads while the row is unchanged
    PRIMARY KEY (year, report_id)
);

CREATE TABLE IF NOT EXISTS applications (
    report_id      VARCHAR NOT NULL,
    agency         VARCHAR NOT NULL,
    year           INTEGER NOT NULL,
    category       VARCHAR NOT NULL,
    applicant_type VARCHAR NOT NULL,
    count          BIGINT,               -- NULL: the cell was blank or a dash, not zero
    PRIMARY KEY (year, report_id, category, applicant_type)
);

CREATE TABLE IF NOT EXISTS proactive (
    report_id VARCHAR NOT NULL,
    agency    VARCHAR NOT NULL,
    year      INTEGER NOT NULL,
    item      VARCHAR NOT NULL,
    measure   VARCHAR NOT NULL,
    value     DOUBLE,                    -- as printed; money may carry a fraction
    unit      VARCHAR,
    PRIMARY KEY (year, report_id, item, measure)
);

CREATE TABLE IF NOT EXISTS appeals (
    report_id  VARCHAR NOT NULL,
    agency     VARCHAR NOT NULL,
    year       INTEGER NOT NULL,
    proceeding VARCHAR NOT NULL,
    outcome    VARCHAR NOT NULL,
    count      BIGINT,
    PRIMARY KEY (year, report_id, proceeding, outcome)
);

-- Identities A–D per report; passed NULL = not checkable (a null input).
CREATE TABLE IF NOT EXISTS checks (
    report_id VARCHAR NOT NULL,
    year      INTEGER NOT NULL,
    rule      VARCHAR NOT NULL,
    subject   VARCHAR NOT NULL,
    expected  DOUBLE,
    actual    DOUBLE,
    passed    BOOLEAN,
    PRIMARY KEY (year, report_id, rule, subject)
);

-- Lookups, refilled from schemas/taxonomy.toml by every load.
CREATE TABLE IF NOT EXISTS categories (
    code    VARCHAR PRIMARY KEY,
    label   VARCHAR NOT NULL,
    "group" VARCHAR,                     -- result leaves roll up into these; NULL for the totals
    "order" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS category_groups (
    code  VARCHAR PRIMARY KEY,
    label VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS applicant_types (
    code    VARCHAR PRIMARY KEY,
    label   VARCHAR NOT NULL,
    "group" VARCHAR,
    "order" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS appeal_proceedings (
    code    VARCHAR PRIMARY KEY,
    label   VARCHAR NOT NULL,
    "order" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS appeal_outcomes (
    code    VARCHAR PRIMARY KEY,
    label   VARCHAR NOT NULL,
    "order" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS proactive_measures (
    template      VARCHAR NOT NULL,
    item          VARCHAR NOT NULL,
    item_label    VARCHAR NOT NULL,
    measure       VARCHAR NOT NULL,
    measure_label VARCHAR NOT NULL,
    unit          VARCHAR,
    "order"       INTEGER NOT NULL,
    PRIMARY KEY (template, item, measure)
);
