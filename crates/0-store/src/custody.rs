//! The hash-chained custody log.
//!
//! Each entry commits to the previous one: `hash = sha256(canonical_json({seq, at, event,
//! details, prev_hash}))`, where canonical JSON has sorted keys and no whitespace
//! (serde_json's default map is a BTreeMap, so serialising a `Value` sorts keys).
//! Altering, inserting, removing or reordering any entry breaks every later hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CustodyEntry {
    pub seq: u64,
    /// UTC, RFC 3339 with milliseconds.
    pub at: String,
    pub event: String,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Where and why a chain stops being valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("custody entry {seq}: {reason}")]
pub struct ChainBreak {
    pub seq: u64,
    pub reason: String,
}

/// The bytes that are hashed for an entry.
pub fn canonical_bytes(seq: u64, at: &str, event: &str, details: &serde_json::Value, prev_hash: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "seq": seq,
        "at": at,
        "event": event,
        "details": details,
        "prev_hash": prev_hash,
    });
    // Serialising a Value cannot fail: every key is a string.
    serde_json::to_vec(&v).unwrap_or_default()
}

pub fn entry_hash(seq: u64, at: &str, event: &str, details: &serde_json::Value, prev_hash: &str) -> String {
    hex::encode(Sha256::digest(canonical_bytes(seq, at, event, details, prev_hash)))
}

/// Build the next entry after `prev` (or the first one when `prev` is None).
pub fn next_entry(prev: Option<&CustodyEntry>, at: String, event: &str, details: serde_json::Value) -> CustodyEntry {
    let (seq, prev_hash) = match prev {
        Some(p) => (p.seq + 1, p.hash.clone()),
        None => (1, GENESIS_HASH.to_string()),
    };
    let hash = entry_hash(seq, &at, event, &details, &prev_hash);
    CustodyEntry {
        seq,
        at,
        event: event.to_string(),
        details,
        prev_hash,
        hash,
    }
}

/// Check sequence numbers, links and hashes; name the first broken entry.
pub fn verify_chain(entries: &[CustodyEntry]) -> Result<(), ChainBreak> {
    let mut expected_prev = GENESIS_HASH.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        if e.seq != expected_seq {
            return Err(ChainBreak {
                seq: e.seq,
                reason: format!(
                    "sequence number {} where {} was expected (entry missing or reordered)",
                    e.seq, expected_seq
                ),
            });
        }
        if e.prev_hash != expected_prev {
            return Err(ChainBreak {
                seq: e.seq,
                reason: format!(
                    "prev_hash {} does not match the hash of entry {} ({})",
                    short(&e.prev_hash),
                    e.seq.saturating_sub(1),
                    short(&expected_prev)
                ),
            });
        }
        let recomputed = entry_hash(e.seq, &e.at, &e.event, &e.details, &e.prev_hash);
        if recomputed != e.hash {
            return Err(ChainBreak {
                seq: e.seq,
                reason: format!(
                    "content altered: recorded hash {} but the entry hashes to {}",
                    short(&e.hash),
                    short(&recomputed)
                ),
            });
        }
        expected_prev = e.hash.clone();
    }
    Ok(())
}

/// One JSON object per line, in sequence order.
pub fn to_jsonl(entries: &[CustodyEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        if let Ok(line) = serde_json::to_vec(e) {
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
    }
    out
}

pub fn parse_jsonl(bytes: &[u8]) -> Result<Vec<CustodyEntry>, ChainBreak> {
    let text = std::str::from_utf8(bytes).map_err(|e| ChainBreak {
        seq: 0,
        reason: format!("custody log is not UTF-8: {e}"),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: CustodyEntry = serde_json::from_str(line).map_err(|err| ChainBreak {
            seq: i as u64 + 1,
            reason: format!("line {} is not a custody entry: {err}", i + 1),
        })?;
        out.push(e);
    }
    Ok(out)
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<CustodyEntry> {
        let mut v: Vec<CustodyEntry> = Vec::new();
        for i in 0..n {
            let e = next_entry(
                v.last(),
                format!("2026-11-23T10:00:0{i}.000Z"),
                "test",
                serde_json::json!({"i": i, "b": "x", "a": [1, 2]}),
            );
            v.push(e);
        }
        v
    }

    #[test]
    fn valid_chain_verifies_and_round_trips() {
        let c = chain(5);
        verify_chain(&c).expect("valid");
        let back = parse_jsonl(&to_jsonl(&c)).expect("parse");
        assert_eq!(back, c);
        verify_chain(&back).expect("valid after round trip");
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let b = canonical_bytes(1, "t", "e", &serde_json::json!({"z": 1, "a": 2}), GENESIS_HASH);
        let s = String::from_utf8(b).expect("utf8");
        assert!(
            s.starts_with("{\"at\":\"t\",\"details\":{\"a\":2,\"z\":1},\"event\":\"e\""),
            "{s}"
        );
    }

    #[test]
    fn altered_entry_is_named() {
        let mut c = chain(5);
        c[2].details = serde_json::json!({"i": 99});
        let err = verify_chain(&c).expect_err("must break");
        assert_eq!(err.seq, 3);
        assert!(err.reason.contains("altered"));
    }

    #[test]
    fn removed_or_reordered_entry_is_named() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(&c).expect_err("gap").seq, 3);
        let mut c = chain(5);
        c.swap(3, 4);
        assert_eq!(verify_chain(&c).expect_err("order").seq, 5);
    }

    #[test]
    fn rehashed_entry_breaks_the_next_link() {
        let mut c = chain(4);
        c[1].details = serde_json::json!({"forged": true});
        c[1].hash = entry_hash(c[1].seq, &c[1].at, &c[1].event, &c[1].details, &c[1].prev_hash);
        let err = verify_chain(&c).expect_err("link");
        assert_eq!(err.seq, 3);
    }
}
