//! What the app holds between commands: the open case, the running job, the demo's
//! servers, and the list of recently opened cases (a small JSON file in the app's data dir).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use xiezhi_store::Case;

use crate::jobs::Jobs;

pub struct OpenCase {
    pub dir: PathBuf,
    pub case: Case,
}

#[derive(Serialize, Clone, Debug)]
pub struct DemoInfo {
    pub site_url: String,
    pub tsa_url: String,
    pub tsa_ca: String,
    pub references_dir: String,
    pub suggested_case_dir: String,
}

pub struct Demo {
    pub info: DemoInfo,
    /// Kept alive: the site and the TSA serve while the app runs.
    pub _services: xiezhi_engine::demo::DemoServices,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RecentCase {
    pub dir: String,
    pub name: String,
    pub opened_at: String,
}

pub struct AppState {
    pub case: Mutex<Option<OpenCase>>,
    pub jobs: Jobs,
    pub demo: tokio::sync::Mutex<Option<Demo>>,
    pub recent_file: Option<PathBuf>,
}

impl AppState {
    pub fn new(recent_file: Option<PathBuf>) -> Self {
        AppState {
            case: Mutex::new(None),
            jobs: Jobs::default(),
            demo: tokio::sync::Mutex::new(None),
            recent_file,
        }
    }

    /// Run `f` on the open case.
    pub fn with_case<T>(&self, f: impl FnOnce(&mut OpenCase) -> Result<T, String>) -> Result<T, String> {
        let mut guard = self.case.lock().map_err(|_| "case state poisoned".to_string())?;
        let open = guard.as_mut().ok_or("no case is open: create or open one first")?;
        f(open)
    }

    /// The open case's folder (jobs open their own connection to it).
    pub fn case_dir(&self) -> Result<PathBuf, String> {
        self.with_case(|c| Ok(c.dir.clone()))
    }

    pub fn recent(&self) -> Vec<RecentCase> {
        self.recent_file
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Put `dir` first in the recent list (at most 12 kept).
    pub fn remember(&self, dir: &Path, name: &str) {
        let Some(file) = self.recent_file.as_deref() else {
            return;
        };
        let dir = dir.to_string_lossy().into_owned();
        let mut list: Vec<RecentCase> = self.recent().into_iter().filter(|r| r.dir != dir).collect();
        list.insert(
            0,
            RecentCase {
                dir,
                name: name.to_string(),
                opened_at: xiezhi_store::now_utc(),
            },
        );
        list.truncate(12);
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Ok(bytes) = serde_json::to_vec_pretty(&list) {
            // Losing the recent list is harmless; the cases themselves are untouched.
            let _ = std::fs::write(file, bytes);
        }
    }
}
