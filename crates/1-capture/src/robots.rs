//! robots.txt rules per host, parsed by `texting_robots` (RFC 9309 semantics).

use std::time::Duration;

use texting_robots::Robot;

/// The product token we match `User-agent` lines against.
pub const AGENT_TOKEN: &str = "Xiezhi";

/// What a host's robots.txt lets us do.
pub enum Rules {
    AllowAll,
    /// RFC 9309 §2.3.1.4: an unreachable robots.txt (5xx, network error) means "disallow
    /// all"; the text is the refusal reason given for each URL.
    DisallowAll(String),
    Parsed(Box<Robot>),
}

impl Rules {
    /// Rules from a fetched robots.txt: 2xx parses the body, 4xx allows everything, anything
    /// else (or a body that does not parse) disallows everything.
    /// Rules when robots.txt could not be fetched at all (`why`: the network error).
    pub fn unreachable(why: &str) -> Rules {
        Rules::DisallowAll(format!(
            "{why} (fetching robots.txt; RFC 9309: unreachable robots.txt means disallow)"
        ))
    }

    pub fn from_response(status: u16, body: &[u8]) -> Rules {
        match status {
            200..=299 => match Robot::new(AGENT_TOKEN, body) {
                Ok(r) => Rules::Parsed(Box::new(r)),
                // texting_robots rejects only pathological input; be conservative.
                Err(e) => Rules::DisallowAll(format!("not fetched: robots.txt does not parse ({e})")),
            },
            // Redirects are not followed for robots.txt; like "unavailable" (4xx) they allow.
            300..=499 => Rules::AllowAll,
            s => Rules::DisallowAll(format!(
                "not fetched: robots.txt answered HTTP {s} (RFC 9309: unavailable robots.txt means disallow)"
            )),
        }
    }

    /// `None` if allowed, else why not.
    pub fn refusal(&self, url: &str) -> Option<String> {
        match self {
            Rules::AllowAll => None,
            Rules::DisallowAll(why) => Some(why.clone()),
            Rules::Parsed(r) => (!r.allowed(url)).then(|| "disallowed by robots.txt".to_string()),
        }
    }

    /// The host's Crawl-delay, capped so a hostile value cannot stall the crawl for hours.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::Parsed(r) => r
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(30.0))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let r = Rules::from_response(
            200,
            b"User-agent: *\nDisallow: /private/\n\nUser-agent: Xiezhi\nDisallow: /no-xiezhi/\nCrawl-delay: 2\n",
        );
        assert!(r.refusal("http://h/no-xiezhi/a").is_some());
        assert!(r.refusal("http://h/public").is_none());
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
        assert!(Rules::from_response(404, b"").refusal("http://h/x").is_none());
        assert!(Rules::from_response(503, b"").refusal("http://h/x").is_some());
    }
}
