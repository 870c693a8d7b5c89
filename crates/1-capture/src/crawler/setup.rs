//! Checking a crawl configuration and describing it in the warcinfo record.

use super::*;

pub(super) fn validate(c: &CrawlConfig) -> Result<(), CaptureError> {
    let bad = |m: &str| Err(CaptureError::Config(m.to_string()));
    if c.seeds.iter().filter_map(normalize).next().is_none() {
        return bad("no http(s) seed URL");
    }
    if c.concurrency == 0 {
        return bad("concurrency must be at least 1");
    }
    if !(c.rate_per_host.is_finite() && c.rate_per_host >= 0.0) {
        return bad("rate_per_host must be a finite number >= 0");
    }
    if c.warc_prefix.is_empty() || c.warc_prefix.contains(['/', '\\']) {
        return bad("warc_prefix must be a non-empty file-name part");
    }
    if c.max_response_bytes == 0 {
        return bad("max_response_bytes must be > 0");
    }
    Ok(())
}

/// warcinfo block (application/warc-fields): who, what software, which settings.
pub(super) fn warcinfo_fields(c: &CrawlConfig, seeds: &[Url]) -> String {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut f = String::new();
    let mut add = |k: &str, v: &str| {
        let _ = write!(f, "{k}: {}\r\n", one_line(v));
    };
    add("software", &format!("Xiezhi {}", env!("CARGO_PKG_VERSION")));
    add("format", "WARC File Format 1.1");
    add(
        "conformsTo",
        "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
    );
    add("isPartOf", &c.case_id);
    if let Some(op) = &c.operator {
        add("operator", op);
    }
    add("http-header-user-agent", &c.user_agent);
    add("robots", if c.obey_robots { "obey" } else { "ignore" });
    add("seeds", &seeds.iter().map(Url::as_str).collect::<Vec<_>>().join(" "));
    add(
        "description",
        &format!(
            "scope={:?} max_pages={} max_depth={} rate_per_host={} concurrency={} \
             connect_timeout_ms={} request_timeout_ms={} read_timeout_ms={} max_response_bytes={} \
             max_total_bytes={} max_redirects={} max_retries={} include={:?} exclude={:?}",
            c.scope,
            c.max_pages,
            c.max_depth,
            c.rate_per_host,
            c.concurrency,
            c.connect_timeout.as_millis(),
            c.request_timeout.as_millis(),
            c.read_timeout.as_millis(),
            c.max_response_bytes,
            c.max_total_bytes,
            c.max_redirects,
            c.max_retries,
            c.include,
            c.exclude
        ),
    );
    add(
        "x-xiezhi-http-fidelity",
        "status line and headers reconstructed from the parsed response (names lower-cased); \
         body bytes as received after transfer decoding",
    );
    f
}
