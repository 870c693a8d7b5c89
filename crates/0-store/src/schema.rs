//! Versioned schema migrations, applied in order; `PRAGMA user_version` records
//! how many have run. Never edit a released migration: append a new one.

pub const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE case_info (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    tool_version TEXT NOT NULL
);
CREATE TABLE custody (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
-- The custody log is append-only; these triggers make an edit an explicit act of tampering.
CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody
BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END;
CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody
BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END;
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    media_type TEXT,
    stored_at TEXT NOT NULL
);
CREATE TABLE refs (
    id INTEGER PRIMARY KEY,
    original_path TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE REFERENCES blobs(sha256),
    size INTEGER NOT NULL,
    media_type TEXT,
    added_at TEXT NOT NULL,
    custody_seq INTEGER NOT NULL REFERENCES custody(seq)
);
CREATE TABLE crawls (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    seeds TEXT NOT NULL,
    settings TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE captures (
    id INTEGER PRIMARY KEY,
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    method TEXT NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT,
    fetched_at TEXT NOT NULL,
    server_ip TEXT,
    warc_file TEXT NOT NULL,
    warc_offset INTEGER NOT NULL,
    response_record_id TEXT NOT NULL,
    request_record_id TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    payload_len INTEGER NOT NULL,
    redirect_to TEXT
);
CREATE INDEX captures_url ON captures(url);
CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    depth INTEGER NOT NULL,
    links INTEGER NOT NULL,
    captured_at TEXT NOT NULL
);
CREATE TABLE failures (
    id INTEGER PRIMARY KEY,
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    url TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL CHECK (origin IN ('crawl', 'local')),
    locator TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    media_type TEXT,
    capture_id INTEGER REFERENCES captures(id),
    first_seen TEXT NOT NULL,
    UNIQUE (origin, locator, sha256)
);
CREATE TABLE asset_sources (
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    page_url TEXT NOT NULL,
    element TEXT NOT NULL,
    PRIMARY KEY (asset_id, page_url, element)
);
CREATE TABLE fingerprints (
    sha256 TEXT NOT NULL REFERENCES blobs(sha256),
    model_id TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    data BLOB,
    error TEXT,
    PRIMARY KEY (sha256, model_id)
);
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('scan', 'check')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    summary TEXT
);
CREATE TABLE matches (
    id INTEGER PRIMARY KEY,
    reference_id INTEGER NOT NULL REFERENCES refs(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    scan_id INTEGER NOT NULL REFERENCES scans(id),
    score REAL NOT NULL,
    signals TEXT NOT NULL,
    explanation TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (reference_id, asset_id)
);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    match_id INTEGER NOT NULL REFERENCES matches(id),
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    note TEXT,
    reviewer TEXT,
    decided_at TEXT NOT NULL,
    custody_seq INTEGER NOT NULL REFERENCES custody(seq)
);
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    bundle_id TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    custody_seq INTEGER NOT NULL REFERENCES custody(seq)
);
"#,
    // Evidence (issue 5): page screenshots, the case's timestamp authority, and the
    // RFC 3161 tokens taken over the reference manifest at `refs add`.
    r#"
CREATE TABLE screenshots (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    taken_at TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    warc_file TEXT NOT NULL,
    warc_offset INTEGER NOT NULL
);
CREATE INDEX screenshots_url ON screenshots(url);
ALTER TABLE case_info ADD COLUMN tsa_url TEXT;
CREATE TABLE reference_timestamps (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    manifest TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    tsa_url TEXT NOT NULL,
    token BLOB NOT NULL,
    gen_time TEXT NOT NULL,
    custody_seq INTEGER NOT NULL REFERENCES custody(seq)
);
"#,
    // Capture (issue 3): the resumable crawl frontier, the committed length of each WARC file
    // (a resumed crawl cuts anything after it), page→asset references seen during a crawl, and
    // whether robots.txt was obeyed.
    r#"
CREATE TABLE crawl_frontier (
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    url TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('page', 'asset')),
    depth INTEGER NOT NULL,
    hops INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    attempts INTEGER NOT NULL,
    discovered_from TEXT,
    element TEXT,
    PRIMARY KEY (crawl_id, url)
);
CREATE TABLE crawl_warc_files (
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    file TEXT NOT NULL,
    committed_len INTEGER NOT NULL,
    PRIMARY KEY (crawl_id, file)
);
CREATE TABLE crawl_asset_refs (
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    asset_url TEXT NOT NULL,
    page_url TEXT NOT NULL,
    element TEXT NOT NULL,
    PRIMARY KEY (crawl_id, asset_url, page_url, element)
);
ALTER TABLE crawls ADD COLUMN ignore_robots INTEGER NOT NULL DEFAULT 0;
"#,
    // 4: stylesheets join the frontier (their images are page requisites). SQLite cannot
    // alter a CHECK constraint, so the table is rebuilt with its rows.
    r#"
CREATE TABLE crawl_frontier_v4 (
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    url TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('page', 'asset', 'stylesheet')),
    depth INTEGER NOT NULL,
    hops INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    attempts INTEGER NOT NULL,
    discovered_from TEXT,
    element TEXT,
    PRIMARY KEY (crawl_id, url)
);
INSERT INTO crawl_frontier_v4 SELECT crawl_id, url, purpose, depth, hops, state, attempts, discovered_from, element
    FROM crawl_frontier;
DROP TABLE crawl_frontier;
ALTER TABLE crawl_frontier_v4 RENAME TO crawl_frontier;
"#,
    // Capture (issue 3): `data:` images decoded from a page or stylesheet, each kept as a WARC
    // `resource` record (target `urn:sha256:<hex>`) written with the response that carried it.
    r#"
CREATE TABLE inline_assets (
    crawl_id INTEGER NOT NULL REFERENCES crawls(id),
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    source_url TEXT NOT NULL,
    source_record_id TEXT NOT NULL,
    warc_file TEXT NOT NULL,
    warc_offset INTEGER NOT NULL,
    record_id TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL
);
CREATE INDEX inline_assets_sha256 ON inline_assets(sha256);
"#,
    // Matching (issue 4): the scorer's strength orders matches whose shown score is equal;
    // the calibrated score rounds to 1.0 from a logit of about 17. Older rows keep NULL.
    r#"
ALTER TABLE matches ADD COLUMN strength REAL;
"#,
];
