//! Helpers shared by the engine's integration tests (each test file is its own crate).

use std::path::PathBuf;

/// A file of the bundled demo site's assets (`crates/demo/assets`): real pictures.
pub fn asset(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../demo/assets")
        .join(rel)
}
