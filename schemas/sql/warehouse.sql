-- The gongkai warehouse (a DuckLake: this catalog + Parquet files, one folder per table and year).
-- Codes are TAXONOMY.md's; labels live in the lookup tables only. No primary keys: DuckLake has
-- none, and uniqueness is checked before every load (pandera models, schemas/models.py).
-- `year` is the report year = the partition (manifest year, else the raw/<year>/ folder) = the
-- unit of reload: every load replaces one year's rows in every fact table in one transaction.
-- `agency` is always the canonical agency (see table agencies); the name as found is
-- reports.agency_printed. Facts exist only for reports whose status is ok or warning.

CREATE TABLE IF NOT EXISTS reports (
    report_id      VARCHAR   NOT NULL,  -- first 16 hex of the file's sha256
    agency         VARCHAR   NOT NULL,  -- from the manifest or title; else the file stem
    year           INTEGER   NOT NULL,
    template       VARCHAR,             -- '2019' | '2021'; NULL when rejected before matching
    format         VARCHAR,             -- text layout the reader found
    source_path    VARCHAR   NOT NULL,  -- relative to the raw folder
    sha256         VARCHAR   NOT NULL,
    size           BIGINT    NOT NULL,
    status         VARCHAR   NOT NULL,  -- ok | warning | rejected | superseded
    error          VARCHAR,             -- why it was rejected
    warnings       VARCHAR,             -- '; '-joined
    null_cells     INTEGER   NOT NULL,
    agency_source  VARCHAR,
    year_source    VARCHAR,
    encoding       VARCHAR,
    parser_version VARCHAR,
    ingested_at    TIMESTAMP NOT NULL,  -- UTC; kept across reloads while the row is unchanged
    agency_printed VARCHAR,             -- the agency name as the manifest/title/file stem gave it
    published      DATE,                -- manifest `published`
    file_mtime     TIMESTAMP,           -- UTC modification time of the file
    superseded_by  VARCHAR             -- report_id of the later report that replaces this one
);

CREATE TABLE IF NOT EXISTS applications (
    report_id      VARCHAR NOT NULL,
    agency         VARCHAR NOT NULL,
    year           INTEGER NOT NULL,
    category       VARCHAR NOT NULL,
    applicant_type VARCHAR NOT NULL,
    count          BIGINT               -- NULL: the cell was blank or a dash, not zero
);

CREATE TABLE IF NOT EXISTS proactive (
    report_id VARCHAR NOT NULL,
    agency    VARCHAR NOT NULL,
    year      INTEGER NOT NULL,
    item      VARCHAR NOT NULL,
    measure   VARCHAR NOT NULL,
    value     DOUBLE,                    -- as printed; money may carry a fraction
    unit      VARCHAR
);

CREATE TABLE IF NOT EXISTS appeals (
    report_id  VARCHAR NOT NULL,
    agency     VARCHAR NOT NULL,
    year       INTEGER NOT NULL,
    proceeding VARCHAR NOT NULL,
    outcome    VARCHAR NOT NULL,
    count      BIGINT
);

-- Identities A–D per report; passed NULL = not checkable (a null input).
CREATE TABLE IF NOT EXISTS checks (
    report_id VARCHAR NOT NULL,
    year      INTEGER NOT NULL,
    rule      VARCHAR NOT NULL,
    subject   VARCHAR NOT NULL,
    expected  DOUBLE,
    actual    DOUBLE,
    passed    BOOLEAN
);

-- Why each null fact is null: one row per null cell of applications, proactive and appeals.
CREATE TABLE IF NOT EXISTS cell_flags (
    report_id   VARCHAR NOT NULL,
    year        INTEGER NOT NULL,
    table_name  VARCHAR NOT NULL,  -- applications | proactive | appeals
    row_code    VARCHAR NOT NULL,  -- category | item | proceeding
    column_code VARCHAR NOT NULL,  -- applicant_type | measure | outcome
    kind        VARCHAR NOT NULL,  -- blank | dash | unreadable | ambiguous
    reason      VARCHAR NOT NULL,
    candidates  DOUBLE[]           -- the values an ambiguous cell could have (run-together digits)
);

-- Corrections by people (data/corrections.csv), one row per line that names a loaded report:
-- applied (the fact carries corrected_value), stale (the file changed since), or refused.
CREATE TABLE IF NOT EXISTS corrections (
    report_id       VARCHAR NOT NULL,
    year            INTEGER NOT NULL,
    source_path     VARCHAR NOT NULL,
    table_name      VARCHAR NOT NULL,
    row_code        VARCHAR NOT NULL,
    column_code     VARCHAR NOT NULL,
    printed_value   DOUBLE,             -- what the extractor read (NULL: see printed_kind)
    printed_kind    VARCHAR,            -- read | blank | dash | unreadable | ambiguous
    corrected_value DOUBLE,
    status          VARCHAR NOT NULL,   -- applied | stale | needs_override | unknown_cell | conflict | duplicate
    reason          VARCHAR,            -- why it was not applied
    override        BOOLEAN NOT NULL,   -- the line says `override`: it may replace a value read without doubt
    note            VARCHAR,
    who             VARCHAR,
    line            INTEGER NOT NULL    -- line of corrections.csv
);

-- Lookups, refilled from schemas/taxonomy.toml by every load.
CREATE TABLE IF NOT EXISTS categories (
    code    VARCHAR NOT NULL,
    label   VARCHAR NOT NULL,
    "group" VARCHAR,                     -- result leaves roll up into these; NULL for the totals
    "order" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS category_groups (
    code  VARCHAR NOT NULL,
    label VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS applicant_types (
    code    VARCHAR NOT NULL,
    label   VARCHAR NOT NULL,
    "group" VARCHAR,
    "order" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS appeal_proceedings (
    code    VARCHAR NOT NULL,
    label   VARCHAR NOT NULL,
    "order" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS appeal_outcomes (
    code    VARCHAR NOT NULL,
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
    "order"       INTEGER NOT NULL
);

-- The agency directory (agencies.csv + manifest + names seen in reports), rebuilt by every load.
CREATE TABLE IF NOT EXISTS agencies (
    agency   VARCHAR NOT NULL,           -- canonical name
    aliases  VARCHAR[] NOT NULL,         -- other names that resolve to it
    region   VARCHAR,                    -- 省/市/县 path as given
    province VARCHAR,
    city     VARCHAR,
    county   VARCHAR,
    level    VARCHAR,                    -- province | city | county | township
    source   VARCHAR NOT NULL            -- agencies.csv | manifest | reports (unresolved)
);

CREATE TABLE IF NOT EXISTS agency_aliases (
    alias  VARCHAR NOT NULL,
    agency VARCHAR NOT NULL,
    source VARCHAR NOT NULL             -- agencies.csv | reports
);

-- One row per loaded year: the fingerprint of what it was loaded from. A run whose inputs give
-- the same fingerprint skips the year (nothing parsed, nothing written); Dagster shows it as the
-- partition's data version.
CREATE TABLE IF NOT EXISTS loads (
    year             INTEGER   NOT NULL,
    fingerprint      VARCHAR   NOT NULL,  -- files (path, sha256), manifest rows, agencies.csv, parser version
    stat_fingerprint VARCHAR,             -- the same by names, sizes and mtimes (what the sensor sees)
    files            INTEGER   NOT NULL,
    loaded_at        TIMESTAMP NOT NULL   -- UTC
);

-- Which version of the views and marts this catalog holds (schemas/sql, hashed).
CREATE TABLE IF NOT EXISTS catalog_version (
    digest VARCHAR NOT NULL
);
