//! The in-memory side of the frontier: per-host FIFO queues (breadth-first within a host),
//! per-host politeness slots, robots.txt gates, delayed retries, and the set of URLs ever
//! seen (nothing is fetched twice) — as 128-bit hashes, 16 bytes a URL whatever its length,
//! so memory follows the crawl's size only slowly. The engine keeps the durable copy in case.db.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use url::Url;

use crate::robots::Rules;
use crate::scope::host_key;
use crate::FrontierEntry;

pub enum RobotsGate {
    /// Not asked yet.
    Unknown,
    /// A robots.txt request is in flight; the host's URLs wait.
    Fetching,
    Ready(Rules),
}

struct Host {
    queue: VecDeque<FrontierEntry>,
    /// Earliest time the next request to this host may start.
    next_slot: Instant,
    robots: RobotsGate,
}

/// What the crawl loop should do next.
pub enum Next {
    Fetch(FrontierEntry, Url),
    /// Fetch this host's robots.txt first.
    Robots(String, Url),
    /// Refused without a request (robots.txt); the reason is given.
    Refused(FrontierEntry, String),
}

pub struct Frontier {
    hosts: HashMap<String, Host>,
    /// Round-robin order of hosts.
    order: Vec<String>,
    cursor: usize,
    delayed: Vec<(Instant, FrontierEntry)>,
    seen: HashSet<u128>,
    gap: Duration,
    obey_robots: bool,
    queued: usize,
}

/// A URL's key in the seen set: the first 128 bits of its SHA-256 (a collision among a
/// billion URLs has odds around 1e-21).
fn url_key(url: &str) -> u128 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(url.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    u128::from_le_bytes(k)
}

impl Frontier {
    pub fn new(rate_per_host: f64, obey_robots: bool) -> Self {
        let gap = if rate_per_host > 0.0 {
            Duration::from_secs_f64(1.0 / rate_per_host)
        } else {
            Duration::ZERO
        };
        Self {
            hosts: HashMap::new(),
            order: Vec::new(),
            cursor: 0,
            delayed: Vec::new(),
            seen: HashSet::new(),
            gap,
            obey_robots,
            queued: 0,
        }
    }

    /// Marks a URL as known without queueing it (done or failed in an earlier run).
    pub fn mark_seen(&mut self, url: &str) {
        self.seen.insert(url_key(url));
    }

    pub fn is_seen(&self, url: &str) -> bool {
        self.seen.contains(&url_key(url))
    }

    /// Queues an entry unless its URL was seen; true when queued.
    pub fn push(&mut self, e: FrontierEntry) -> bool {
        if !self.seen.insert(url_key(&e.url)) {
            return false;
        }
        self.enqueue(e);
        true
    }

    fn enqueue(&mut self, e: FrontierEntry) {
        let Ok(u) = Url::parse(&e.url) else {
            return;
        };
        let key = host_key(&u);
        let host = self.hosts.entry(key.clone()).or_insert_with(|| {
            self.order.push(key);
            Host {
                queue: VecDeque::new(),
                next_slot: Instant::now(),
                robots: RobotsGate::Unknown,
            }
        });
        host.queue.push_back(e);
        self.queued += 1;
    }

    /// Requeues an entry (already seen) to be fetched again no earlier than `at`.
    pub fn retry_at(&mut self, e: FrontierEntry, at: Instant) {
        self.delayed.push((at, e));
        self.queued += 1;
    }

    /// URLs waiting (queued or delayed).
    pub fn len(&self) -> usize {
        self.queued
    }

    pub fn set_robots(&mut self, host: &str, rules: Rules) {
        if let Some(h) = self.hosts.get_mut(host) {
            if let Some(delay) = rules.crawl_delay() {
                // Crawl-delay only ever slows us down, and only when politeness is on.
                if !self.gap.is_zero() && delay > self.gap {
                    h.next_slot += delay - self.gap;
                }
            }
            h.robots = RobotsGate::Ready(rules);
        }
    }

    /// The next thing to do now, honouring politeness and robots; `None` if nothing is ready.
    pub fn next(&mut self, now: Instant) -> Option<Next> {
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].0 <= now {
                let (_, e) = self.delayed.swap_remove(i);
                self.queued -= 1;
                self.enqueue(e);
            } else {
                i += 1;
            }
        }
        let n = self.order.len();
        for step in 0..n {
            let idx = (self.cursor + step) % n;
            let key = &self.order[idx];
            let Some(h) = self.hosts.get_mut(key) else {
                continue;
            };
            if h.queue.is_empty() || h.next_slot > now {
                continue;
            }
            let gap = self.gap;
            let gate_delay = match &h.robots {
                RobotsGate::Ready(r) if !gap.is_zero() => r.crawl_delay().filter(|d| *d > gap),
                _ => None,
            };
            match &h.robots {
                RobotsGate::Unknown if self.obey_robots => {
                    let Some(front) = h.queue.front().and_then(|e| Url::parse(&e.url).ok()) else {
                        continue;
                    };
                    let Ok(robots) = front.join("/robots.txt") else {
                        continue;
                    };
                    h.robots = RobotsGate::Fetching;
                    h.next_slot = now + gap;
                    self.cursor = (idx + 1) % n;
                    return Some(Next::Robots(key.clone(), robots));
                }
                RobotsGate::Fetching => continue,
                _ => {}
            }
            let Some(e) = h.queue.pop_front() else {
                continue;
            };
            self.queued -= 1;
            if let RobotsGate::Ready(rules) = &h.robots {
                if self.obey_robots {
                    if let Some(why) = rules.refusal(&e.url) {
                        return Some(Next::Refused(e, why));
                    }
                }
            }
            h.next_slot = now + gate_delay.unwrap_or(gap);
            self.cursor = (idx + 1) % n;
            return match Url::parse(&e.url) {
                Ok(u) => Some(Next::Fetch(e, u)),
                Err(err) => Some(Next::Refused(e, format!("not a valid URL: {err}"))),
            };
        }
        None
    }

    /// When something may become ready (a politeness slot or a delayed retry), if anything waits.
    pub fn next_wake(&self) -> Option<Instant> {
        let hosts = self
            .hosts
            .values()
            .filter(|h| !h.queue.is_empty() && !matches!(h.robots, RobotsGate::Fetching))
            .map(|h| h.next_slot);
        hosts.chain(self.delayed.iter().map(|d| d.0)).min()
    }
}
