//! robots.txt rules per host, parsed by `texting_robots` (RFC 9309 semantics), and the
//! fetch of a robots.txt with its redirects.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::header::HeaderValue;
use texting_robots::Robot;
use url::Url;

use crate::fetch::{fetch, Attempt};
use crate::scope::resolve;

/// RFC 9309 §2.3.1.2: crawlers SHOULD follow at least five consecutive redirects for
/// robots.txt, even across authorities; past that they MAY treat it as unavailable.
pub const MAX_ROBOTS_REDIRECTS: usize = 5;

fn gave_up(why: String) -> Rules {
    Rules::Unavailable(format!("{why} (RFC 9309: robots.txt unavailable, crawling allowed)"))
}

/// A robots.txt fetch: every exchange it took (the request for `/robots.txt`, then each
/// redirect target, in order; each is recorded as its own exchange) and the rules it gave.
pub struct RobotsFetch {
    pub hops: Vec<(Url, Attempt)>,
    pub rules: Rules,
}

/// [`fetch_following`], with the last exchange (the one that decided) taken out of `hops`.
pub async fn fetch_robots(
    client: &reqwest::Client,
    url: &Url,
    user_agent: &HeaderValue,
    cap: u64,
) -> (Url, Attempt, RobotsFetch) {
    let mut f = fetch_following(client, url, user_agent, cap).await;
    match f.hops.pop() {
        Some((last_url, last)) => (last_url, last, f),
        // Unreachable: fetch_following always makes a request.
        None => (url.clone(), fetch(client, url, user_agent, cap).await, f),
    }
}

/// Fetches `url` (a `/robots.txt`), following up to [`MAX_ROBOTS_REDIRECTS`] redirects to
/// http(s) URLs on any host, as RFC 9309 asks. A redirect loop, a redirect without a usable
/// `Location`, or a sixth redirect make robots.txt "unavailable" (RFC 9309 §2.3.1.3: allow).
pub async fn fetch_following(client: &reqwest::Client, url: &Url, user_agent: &HeaderValue, cap: u64) -> RobotsFetch {
    let mut hops: Vec<(Url, Attempt)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut current = url.clone();
    loop {
        let attempt = fetch(client, &current, user_agent, cap).await;
        seen.insert(current.to_string());
        let outcome = match &attempt.response {
            Err(why) => Err(Rules::unreachable(why)),
            Ok(r) if (300..400).contains(&r.status) => match r.location.as_deref().and_then(|l| resolve(&current, l)) {
                None => Err(gave_up(format!(
                    "robots.txt redirect from {current} without a usable http(s) Location"
                ))),
                Some(next) if seen.contains(next.as_str()) => {
                    Err(gave_up(format!("robots.txt redirect loop back to {next}")))
                }
                Some(_) if hops.len() >= MAX_ROBOTS_REDIRECTS => Err(gave_up(format!(
                    "robots.txt redirected more than {MAX_ROBOTS_REDIRECTS} times"
                ))),
                Some(next) => Ok(next),
            },
            Ok(r) => Err(Rules::from_response(r.status, &r.body)),
        };
        hops.push((current.clone(), attempt));
        match outcome {
            Ok(next) => current = next,
            Err(rules) => return RobotsFetch { hops, rules },
        }
    }
}

/// The product token we match `User-agent` lines against.
pub const AGENT_TOKEN: &str = "Xiezhi";

/// What a host's robots.txt lets us do.
pub enum Rules {
    AllowAll,
    /// robots.txt could not be obtained through its redirects (RFC 9309: treated like an
    /// unavailable file, i.e. allow); the text says why.
    Unavailable(String),
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
            // A redirect is followed by `fetch_following`; one reaching here was not
            // followable, and like "unavailable" (4xx) it allows.
            300..=499 => Rules::AllowAll,
            s => Rules::DisallowAll(format!(
                "not fetched: robots.txt answered HTTP {s} (RFC 9309: unavailable robots.txt means disallow)"
            )),
        }
    }

    /// Why robots.txt counts as unavailable after its redirects (crawling is then allowed).
    pub fn unavailable(&self) -> Option<&str> {
        match self {
            Rules::Unavailable(why) => Some(why),
            _ => None,
        }
    }

    /// `None` if allowed, else why not.
    pub fn refusal(&self, url: &str) -> Option<String> {
        match self {
            Rules::AllowAll | Rules::Unavailable(_) => None,
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
