//! Helpers shared by the engine's integration tests (each test file is its own crate).
#![allow(dead_code)] // each test binary uses a part of it

use std::path::PathBuf;

use xiezhi_store::MatchRecord;

/// A file of the bundled demo site's assets (`crates/demo/assets`): real pictures.
pub fn asset(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../demo/assets")
        .join(rel)
}

/// What a match says, without the row's id and time: two runs that should agree on
/// every match compare equal on these.
pub fn outcome(m: &MatchRecord) -> (i64, i64, u64, String, String) {
    (
        m.reference.id,
        m.asset.id,
        m.score.to_bits(),
        m.signals.to_string(),
        m.explanation.clone(),
    )
}
