//! `xiezhi log --check`: the custody chain, and every row the log vouches for.

use serde::Serialize;
use serde_json::json;

use crate::custody;
use crate::{Case, StoreError};

/// Something `xiezhi log --check` found wrong.
#[derive(Serialize, Clone, Debug)]
pub struct IntegrityIssue {
    /// The custody sequence number or table row at fault.
    pub at: String,
    pub problem: String,
}

#[derive(Serialize, Clone, Debug)]
pub struct IntegrityReport {
    pub ok: bool,
    pub entries: u64,
    pub head: Option<String>,
    /// The first broken custody entry, if the chain is broken.
    pub first_broken: Option<u64>,
    pub issues: Vec<IntegrityIssue>,
}

impl Case {
    /// Verify the custody chain, then that every reference, review and export row
    /// still says what its custody entry recorded, and that reference blobs are intact.
    pub fn check_integrity(&self) -> Result<IntegrityReport, StoreError> {
        let entries = self.custody()?;
        let mut issues = Vec::new();
        let mut first_broken = None;
        if let Err(b) = custody::verify_chain(&entries) {
            first_broken = Some(b.seq);
            issues.push(IntegrityIssue {
                at: format!("custody entry {}", b.seq),
                problem: b.reason,
            });
        }
        let by_seq = |seq: i64| entries.iter().find(|e| e.seq as i64 == seq);
        let mut expect =
            |table: &str, id: i64, seq: i64, event: &str, fields: &[(&str, serde_json::Value)]| match by_seq(seq) {
                None => issues.push(IntegrityIssue {
                    at: format!("{table} row {id}"),
                    problem: format!("points at custody entry {seq}, which does not exist"),
                }),
                Some(e) if e.event != event => issues.push(IntegrityIssue {
                    at: format!("{table} row {id}"),
                    problem: format!("custody entry {seq} is a {} event, not {event}", e.event),
                }),
                Some(e) => {
                    for (k, v) in fields {
                        let logged = e.details.get(*k).cloned().unwrap_or(serde_json::Value::Null);
                        if &logged != v {
                            issues.push(IntegrityIssue {
                                at: format!("{table} row {id}"),
                                problem: format!("{k} is {v} but custody entry {seq} recorded {logged}"),
                            });
                        }
                    }
                }
            };
        for (table, event, columns) in VOUCHED_ROWS {
            let names: Vec<&str> = columns.iter().map(|(col, _)| *col).collect();
            let sql = format!("SELECT id, custody_seq, {} FROM {table} ORDER BY id", names.join(", "));
            let mut stmt = self.conn.prepare(&sql).map_err(self.db_err())?;
            let rows = stmt
                .query_map([], |r| {
                    let values = (0..columns.len())
                        .map(|i| r.get_ref(i + 2).map(sql_to_json))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, values))
                })
                .map_err(self.db_err())?;
            for row in rows {
                let (id, seq, values) = row.map_err(self.db_err())?;
                let fields: Vec<(&str, serde_json::Value)> = columns.iter().map(|(_, key)| *key).zip(values).collect();
                expect(table, id, seq, event, &fields);
            }
        }
        for r in self.references()? {
            if let Err(e) = self.blobs().read_verified(&r.sha256) {
                issues.push(IntegrityIssue {
                    at: format!("refs row {}", r.id),
                    problem: e.to_string(),
                });
            }
        }
        Ok(IntegrityReport {
            ok: issues.is_empty(),
            entries: entries.len() as u64,
            head: entries.last().map(|e| e.hash.clone()),
            first_broken,
            issues,
        })
    }
}

/// Rows the custody log vouches for.
/// (table, custody event, [(column, key in the entry's details)])
type VouchedRow = (&'static str, &'static str, &'static [(&'static str, &'static str)]);
const VOUCHED_ROWS: &[VouchedRow] = &[
    (
        "refs",
        "reference.added",
        &[("original_path", "path"), ("sha256", "sha256"), ("size", "size")],
    ),
    (
        "reviews",
        "review.decision",
        &[("match_id", "match_id"), ("decision", "decision"), ("note", "note")],
    ),
    (
        "exports",
        "export.created",
        &[
            ("bundle_sha256", "bundle_sha256"),
            ("manifest_sha256", "manifest_sha256"),
        ],
    ),
];

fn sql_to_json(v: rusqlite::types::ValueRef) -> serde_json::Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!(hex::encode(b)),
    }
}
