//! Long work (adding references, crawl, scan, export, verify) runs on its own thread,
//! never on the UI thread. Progress reaches the webview as `job-progress` events and the
//! outcome as one `job-done` event; one job runs at a time and can be cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::{AppHandle, Emitter};

pub const PROGRESS_EVENT: &str = "job-progress";
pub const DONE_EVENT: &str = "job-done";

/// What the UI shows in a progress bar.
#[derive(Serialize, Clone, Debug, Default)]
pub struct ProgressEvent {
    pub job: String,
    pub phase: String,
    pub total: Option<u64>,
    pub done: u64,
    pub message: String,
    pub elapsed_ms: u64,
}

#[derive(Serialize, Clone, Debug)]
pub struct DoneEvent {
    pub job: String,
    pub ok: bool,
    pub cancelled: bool,
    pub result: serde_json::Value,
    pub error: Option<String>,
}

/// The engine's `Progress`, sent as Tauri events (at most every 100 ms, plus phase changes).
pub struct EventProgress {
    app: AppHandle,
    cancel: Arc<AtomicBool>,
    started: Instant,
    state: Mutex<(ProgressEvent, Option<Instant>)>,
}

impl EventProgress {
    fn new(app: AppHandle, job: &str, cancel: Arc<AtomicBool>) -> Self {
        EventProgress {
            app,
            cancel,
            started: Instant::now(),
            state: Mutex::new((
                ProgressEvent {
                    job: job.to_string(),
                    ..Default::default()
                },
                None,
            )),
        }
    }

    fn emit(&self, force: bool) {
        if let Ok(mut s) = self.state.lock() {
            let now = Instant::now();
            if !force && s.1.is_some_and(|t| now.duration_since(t) < Duration::from_millis(100)) {
                return;
            }
            s.1 = Some(now);
            s.0.elapsed_ms = self.started.elapsed().as_millis() as u64;
            let _ = self.app.emit(PROGRESS_EVENT, s.0.clone());
        }
    }

    fn update(&self, f: impl FnOnce(&mut ProgressEvent)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s.0);
        }
    }
}

impl xiezhi_engine::Progress for EventProgress {
    fn phase(&self, name: &str, total: Option<u64>) {
        self.update(|p| {
            p.phase = name.to_string();
            p.total = total;
            p.done = 0;
            p.message.clear();
        });
        self.emit(true);
    }
    fn advance(&self, n: u64) {
        self.update(|p| p.done += n);
        self.emit(false);
    }
    fn message(&self, msg: &str) {
        self.update(|p| p.message = msg.to_string());
        self.emit(false);
    }
    fn done(&self) {
        self.emit(true);
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// The running job, if any.
#[derive(Default)]
pub struct Jobs {
    current: Mutex<Option<(String, Arc<AtomicBool>)>>,
}

impl Jobs {
    /// Start `work` on its own thread; refuses while another job runs.
    pub fn spawn<T, F>(&self, app: &AppHandle, job: &str, work: F) -> Result<(), String>
    where
        T: Serialize,
        F: FnOnce(&EventProgress) -> Result<T, String> + Send + 'static,
    {
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut cur = self.current.lock().map_err(|_| "job state poisoned".to_string())?;
            if let Some((running, _)) = cur.as_ref() {
                return Err(format!("the {running} job is still running; wait for it or cancel it"));
            }
            *cur = Some((job.to_string(), cancel.clone()));
        }
        let app = app.clone();
        let name = job.to_string();
        std::thread::Builder::new()
            .name(format!("job-{name}"))
            .spawn(move || {
                let progress = EventProgress::new(app.clone(), &name, cancel.clone());
                let outcome = work(&progress);
                let cancelled = cancel.load(Ordering::Relaxed);
                let done = match outcome {
                    Ok(v) => DoneEvent {
                        job: name.clone(),
                        ok: true,
                        cancelled,
                        result: serde_json::to_value(v).unwrap_or_default(),
                        error: None,
                    },
                    Err(e) => DoneEvent {
                        job: name.clone(),
                        ok: false,
                        cancelled,
                        result: serde_json::Value::Null,
                        error: Some(e),
                    },
                };
                if let Some(jobs) = tauri::Manager::try_state::<crate::state::AppState>(&app) {
                    if let Ok(mut cur) = jobs.jobs.current.lock() {
                        *cur = None;
                    }
                }
                let _ = app.emit(DONE_EVENT, done);
            })
            .map_err(|e| format!("cannot start the {job} job: {e}"))?;
        Ok(())
    }

    /// Ask the running job to stop; what it captured so far stays recorded.
    pub fn cancel(&self) -> Option<String> {
        let cur = self.current.lock().ok()?;
        let (name, flag) = cur.as_ref()?;
        flag.store(true, Ordering::Relaxed);
        Some(name.clone())
    }

    pub fn running(&self) -> Option<String> {
        self.current.lock().ok()?.as_ref().map(|(n, _)| n.clone())
    }
}
