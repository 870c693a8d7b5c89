//! The case: its folder, database connection and every write that must leave a
//! trace in the custody log (done in the same transaction as the row it records).

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

use crate::blobs::BlobStore;
use crate::custody::{self, CustodyEntry};
use crate::mapping::*;
use crate::rows::*;
use crate::schema::MIGRATIONS;
use crate::{now_utc, sha256_hex, StoreError, TOOL_VERSION};

pub struct Case {
    root: PathBuf,
    db_path: PathBuf,
    pub(crate) conn: Connection,
    blobs: BlobStore,
    info: CaseInfo,
}

impl Case {
    /// Create a new case folder (it may exist but must not already hold a case).
    pub fn init(dir: &Path, name: &str) -> Result<Case, StoreError> {
        let db_path = dir.join("case.db");
        if db_path.exists() {
            return Err(StoreError::AlreadyACase(dir.to_path_buf()));
        }
        for sub in ["", "blobs", "warc", "index", "exports"] {
            let p = dir.join(sub);
            fs::create_dir_all(&p).map_err(|source| StoreError::Io {
                path: p.clone(),
                source,
            })?;
        }
        let conn = open_db(&db_path)?;
        let info = CaseInfo {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            created_at: now_utc(),
            tool_version: TOOL_VERSION.to_string(),
        };
        let mut case = Case {
            root: dir.to_path_buf(),
            db_path: db_path.clone(),
            blobs: BlobStore::new(dir.join("blobs")),
            conn,
            info: info.clone(),
        };
        case.with_tx(|tx, case| {
            tx.execute(
                "INSERT INTO case_info (id, name, created_at, tool_version) VALUES (?1, ?2, ?3, ?4)",
                params![info.id, info.name, info.created_at, info.tool_version],
            )?;
            case.append_custody_tx(
                tx,
                "case.created",
                json!({"case_id": info.id, "name": info.name, "tool_version": info.tool_version}),
            )?;
            Ok(())
        })?;
        Ok(case)
    }

    pub fn open(dir: &Path) -> Result<Case, StoreError> {
        let db_path = dir.join("case.db");
        if !db_path.is_file() {
            return Err(StoreError::NotACase(dir.to_path_buf()));
        }
        let conn = open_db(&db_path)?;
        let info = conn
            .query_row("SELECT id, name, created_at, tool_version FROM case_info", [], |r| {
                Ok(CaseInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                    tool_version: r.get(3)?,
                })
            })
            .map_err(|source| StoreError::Db {
                path: db_path.clone(),
                source,
            })?;
        Ok(Case {
            root: dir.to_path_buf(),
            db_path,
            blobs: BlobStore::new(dir.join("blobs")),
            conn,
            info,
        })
    }

    pub fn info(&self) -> &CaseInfo {
        &self.info
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn warc_dir(&self) -> PathBuf {
        self.root.join("warc")
    }
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }
    pub fn exports_dir(&self) -> PathBuf {
        self.root.join("exports")
    }
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub(crate) fn db_err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Db {
            path: self.db_path.clone(),
            source,
        }
    }

    /// Run `f` in one transaction: either every row and custody entry lands, or none.
    pub(crate) fn with_tx<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction, &Case) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(self.db_err())?;
        let out = f(&tx, self).map_err(self.db_err())?;
        tx.commit().map_err(self.db_err())?;
        Ok(out)
    }

    pub(crate) fn append_custody_tx(
        &self,
        tx: &rusqlite::Transaction,
        event: &str,
        details: serde_json::Value,
    ) -> Result<CustodyEntry, rusqlite::Error> {
        let prev = last_custody(tx)?;
        let entry = custody::next_entry(prev.as_ref(), now_utc(), event, details);
        tx.execute(
            "INSERT INTO custody (seq, at, event, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entry.seq as i64,
                entry.at,
                entry.event,
                entry.details.to_string(),
                entry.prev_hash,
                entry.hash
            ],
        )?;
        Ok(entry)
    }

    /// Append an event that has no row of its own (crawl started, scan finished…).
    pub fn log_event(&mut self, event: &str, details: serde_json::Value) -> Result<CustodyEntry, StoreError> {
        self.with_tx(|tx, case| case.append_custody_tx(tx, event, details))
    }

    pub fn custody(&self) -> Result<Vec<CustodyEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, event, details, prev_hash, hash FROM custody ORDER BY seq")
            .map_err(self.db_err())?;
        let rows = stmt
            .query_map([], |r| {
                let details: String = r.get(3)?;
                Ok(CustodyEntry {
                    seq: r.get::<_, i64>(0)? as u64,
                    at: r.get(1)?,
                    event: r.get(2)?,
                    // An unparsable details column is kept as a string so the hash check flags it.
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
                    prev_hash: r.get(4)?,
                    hash: r.get(5)?,
                })
            })
            .map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    // ---- references -------------------------------------------------------

    /// Store a reference file's bytes and record it (once per distinct content).
    pub fn add_reference(
        &mut self,
        original_path: &str,
        bytes: &[u8],
        media_type: Option<&str>,
    ) -> Result<AddedReference, StoreError> {
        let sha = sha256_hex(bytes);
        if let Some(existing) = self.reference_by_sha(&sha)? {
            return Ok(AddedReference {
                reference: existing,
                new: false,
            });
        }
        self.blobs.put(bytes)?;
        let now = now_utc();
        let size = bytes.len() as u64;
        let id = self.with_tx(|tx, case| {
            insert_blob(tx, &sha, size, media_type, &now)?;
            let entry = case.append_custody_tx(tx, "reference.added", json!({"path": original_path, "sha256": sha, "size": size, "media_type": media_type}))?;
            tx.execute(
                "INSERT INTO refs (original_path, sha256, size, media_type, added_at, custody_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![original_path, sha, size as i64, media_type, now, entry.seq as i64],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(AddedReference {
            reference: Reference {
                id,
                original_path: original_path.to_string(),
                sha256: sha,
                size,
                media_type: media_type.map(str::to_string),
                added_at: now,
            },
            new: true,
        })
    }

    fn reference_by_sha(&self, sha: &str) -> Result<Option<Reference>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, original_path, sha256, size, media_type, added_at FROM refs WHERE sha256 = ?1",
                [sha],
                reference_from_row,
            )
            .optional()
            .map_err(self.db_err())
    }

    pub fn references(&self) -> Result<Vec<Reference>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, original_path, sha256, size, media_type, added_at FROM refs ORDER BY id")
            .map_err(self.db_err())?;
        let rows = stmt.query_map([], reference_from_row).map_err(self.db_err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db_err())
    }

    // ---- integrity --------------------------------------------------------
}

fn open_db(path: &Path) -> Result<Connection, StoreError> {
    let err = |source| StoreError::Db {
        path: path.to_path_buf(),
        source,
    };
    let mut conn = Connection::open(path).map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Db {
        path: path.to_path_buf(),
        source,
    };
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: version,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

fn last_custody(tx: &rusqlite::Transaction) -> Result<Option<CustodyEntry>, rusqlite::Error> {
    tx.query_row(
        "SELECT seq, at, event, details, prev_hash, hash FROM custody ORDER BY seq DESC LIMIT 1",
        [],
        |r| {
            let details: String = r.get(3)?;
            Ok(CustodyEntry {
                seq: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                event: r.get(2)?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
                prev_hash: r.get(4)?,
                hash: r.get(5)?,
            })
        },
    )
    .optional()
}

pub(crate) fn insert_blob(
    tx: &rusqlite::Transaction,
    sha: &str,
    size: u64,
    media_type: Option<&str>,
    now: &str,
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT OR IGNORE INTO blobs (sha256, size, media_type, stored_at) VALUES (?1, ?2, ?3, ?4)",
        params![sha, size as i64, media_type, now],
    )?;
    Ok(())
}
