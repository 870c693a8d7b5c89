//! Xiezhi evidence stage: exports a case's matches as a self-verifying ZIP
//! bundle (PDF report, original exhibits, custody log, captures, manifest,
//! SHA256SUMS, RFC 3161 timestamp) and verifies such bundles offline.

mod error;
mod export;
pub mod model;
pub mod overlay;
mod pdf;
mod pdf_text;
mod template;
pub mod tls_meta;
pub mod tsa;
mod tsa_sig;
mod tst_info;
mod verify;
mod verify_stage1;
mod wacz;
mod wacz_check;
mod warc_record;
mod zip_section;

pub use error::EvidenceError;
pub use export::{export_bundle, export_bundle_cancellable};
pub use model::{BundleSpec, Exhibit, ExhibitFile, ExportSummary, Manifest, Provenance, ReferenceStamp, ReportOptions};
pub use tsa::{request_timestamp, verify_timestamp_response, TimestampInfo};
pub use verify::{verify_bundle, Check, VerifyReport, MAX_ENTRIES};
pub use wacz::{surt, RecordRef, WaczPage, WaczSpec, WACZ_PATH};
pub use warc_record::{metadata_after, read_record_block};
