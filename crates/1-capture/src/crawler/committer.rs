//! The durable half of the crawl, off the coordinator: sink events, the group commit (WARC
//! fsync, then one sink commit) and the full-text index run on their own thread, so a fetch
//! never waits for an fsync or a database transaction to start its next request. Only the
//! *visibility* of a unit in the case waits for its commit.
//!
//! Events keep their order through one channel, so the sink sees exactly what it saw when the
//! coordinator called it directly. At most [`MAX_PENDING_COMMITS`] batches wait for the
//! committer: a slow disk slows the crawl instead of filling memory. On a current-thread
//! runtime (no second thread to hand the work to) events are applied inline.

use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::index::PageIndex;
use crate::{
    AssetCapture, CaptureError, CaptureSink, Exchange, FrontierEntry, InlineResource, PageCapture, Progress, Referrer,
    WarcPosition,
};

/// Pages indexed between tantivy commits (a commit is costly). A crash loses at most these
/// from the index, never from the case or the WARC; the resumed crawl indexes them again
/// from their WARC records.
const INDEX_COMMIT_EVERY: usize = 1000;
/// Batches handed over but not yet committed before the coordinator waits.
const MAX_PENDING_COMMITS: usize = 2;
/// Freed memory goes back to the system at most this often (re-faulting it costs).
const TRIM_EVERY: Duration = Duration::from_millis(50);
/// How often an idle committer looks whether the operator cancelled.
const CANCEL_POLL: Duration = Duration::from_millis(50);

pub(super) enum Event {
    Exchange(Exchange),
    Page(Box<PageCapture>),
    Asset(Box<AssetCapture>),
    Referrer(String, Referrer),
    Inline(Box<InlineResource>),
    Failure(String, String),
    Frontier(Vec<FrontierEntry>),
    WarcOpened(WarcPosition),
    Progress(Box<Progress>),
    /// End of a batch: fsync `sync` (the WARC file the batch was written to, if it has
    /// unsynced bytes), then commit everything since the previous commit with `pos`.
    Commit {
        sync: Option<(File, String)>,
        pos: Option<WarcPosition>,
    },
}

/// Applies events to the sink and the index.
pub(super) struct Committer<'a> {
    sink: &'a mut dyn CaptureSink,
    index: PageIndex,
    /// Pages to add to the full-text index once their rows are committed.
    pages: Vec<PageText>,
    unindexed: usize,
    /// When freed memory was last handed back.
    trimmed: std::time::Instant,
}

impl<'a> Committer<'a> {
    pub fn new(sink: &'a mut dyn CaptureSink, index: PageIndex) -> Self {
        Self {
            sink,
            index,
            pages: Vec::new(),
            unindexed: 0,
            trimmed: std::time::Instant::now(),
        }
    }

    fn apply(&mut self, ev: Event) -> Result<(), CaptureError> {
        match ev {
            Event::Exchange(e) => self.sink.exchange(&e)?,
            Event::Page(p) => {
                self.sink.page(&p)?;
                let p = *p;
                self.pages.push(PageText {
                    url: p.url,
                    title: p.title,
                    text: p.text,
                    alt_texts: p.alt_texts,
                    fetched_at: p.exchange.fetched_at,
                });
            }
            Event::Asset(a) => self.sink.asset(&a)?,
            Event::Referrer(url, r) => self.sink.asset_referrer(&url, &r)?,
            Event::Inline(r) => self.sink.inline_resource(&r)?,
            Event::Failure(url, why) => self.sink.failure(&url, &why)?,
            Event::Frontier(entries) => self.sink.frontier(&entries)?,
            Event::WarcOpened(pos) => self.sink.warc_opened(&pos)?,
            Event::Progress(p) => self.sink.progress(&p),
            Event::Commit { sync, pos } => {
                if let Some((file, path)) = sync {
                    file.sync_data()
                        .map_err(|e| CaptureError::io(std::path::Path::new(&path), e))?;
                }
                self.sink.commit(pos.as_ref())?;
                for p in std::mem::take(&mut self.pages) {
                    self.index.add(&p.url, &p.title, &p.text, &p.alt_texts, &p.fetched_at)?;
                    self.unindexed += 1;
                }
                if self.unindexed >= INDEX_COMMIT_EVERY {
                    self.index.commit()?;
                    self.unindexed = 0;
                }
                if self.trimmed.elapsed() >= TRIM_EVERY {
                    release_freed_memory();
                    self.trimmed = std::time::Instant::now();
                }
            }
        }
        Ok(())
    }

    /// Commits the index: what was added is in the WARCs and the case.
    pub fn finish(&mut self) -> Result<(), CaptureError> {
        self.index.commit()
    }

    /// The committer thread: applies events until the coordinator hangs up or one fails.
    pub fn run(mut self, events: Receiver<Event>, shared: &Shared) -> Result<(), CaptureError> {
        let _wake = WakeOnPanic(shared);
        let mut result = Ok(());
        loop {
            match events.recv_timeout(CANCEL_POLL) {
                Ok(ev) => {
                    let commit = matches!(ev, Event::Commit { .. });
                    if let Err(e) = self.apply(ev) {
                        result = Err(e);
                        break;
                    }
                    if commit {
                        shared.committed();
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if self.sink.cancelled() {
                shared.cancelled.store(true, Ordering::Relaxed);
            }
        }
        // Commit what was indexed even when the crawl aborted: those pages are in the WARCs.
        let indexed = self.finish();
        if let Err(e) = &result {
            shared.fail(e.to_string());
        }
        result.and(indexed)
    }
}

/// What the full-text index keeps of a page.
struct PageText {
    url: String,
    title: String,
    text: String,
    alt_texts: Vec<String>,
    fetched_at: String,
}

/// A panicking sink must not leave the coordinator waiting for a commit forever.
struct WakeOnPanic<'s>(&'s Shared);

impl Drop for WakeOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail("the recording thread panicked".into());
        }
    }
}

/// What the coordinator and the committer thread share.
#[derive(Default)]
pub(super) struct Shared {
    pending: Mutex<usize>,
    done: Condvar,
    /// The committer stopped on this error; the coordinator stops too.
    failed: Mutex<Option<String>>,
    cancelled: AtomicBool,
}

impl Shared {
    fn committed(&self) {
        if let Ok(mut n) = self.pending.lock() {
            *n = n.saturating_sub(1);
        }
        self.done.notify_all();
    }

    fn fail(&self, why: String) {
        if let Ok(mut f) = self.failed.lock() {
            *f = Some(why);
        }
        // Wake a coordinator waiting for a commit that will not come. Taking `pending` first
        // closes the gap between its check of `failure()` and its wait (both under that
        // lock): without it the wake-up could land in between and the crawl would hang on a
        // full disk instead of stopping with the error.
        let _pending = self.pending.lock();
        self.done.notify_all();
    }

    fn failure(&self) -> Option<CaptureError> {
        let f = self.failed.lock().ok()?;
        f.as_ref()
            .map(|why| CaptureError::Warc(format!("recording stopped: {why}")))
    }
}

/// Where the coordinator sends its events.
pub(super) enum Outbox<'a> {
    Inline(Box<Committer<'a>>),
    /// `tx` is `None` once the coordinator is done ([`Outbox::close`]).
    Thread {
        tx: Option<Sender<Event>>,
        shared: Arc<Shared>,
    },
}

impl Outbox<'_> {
    pub fn send(&mut self, ev: Event) -> Result<(), CaptureError> {
        match self {
            Outbox::Inline(c) => c.apply(ev),
            Outbox::Thread { tx, shared } => {
                let commit = matches!(ev, Event::Commit { .. });
                if commit {
                    let mut pending = shared.pending.lock().map_err(|_| poisoned())?;
                    while *pending >= MAX_PENDING_COMMITS {
                        if let Some(e) = shared.failure() {
                            return Err(e);
                        }
                        pending = shared.done.wait(pending).map_err(|_| poisoned())?;
                    }
                    *pending += 1;
                }
                if tx.as_ref().is_none_or(|tx| tx.send(ev).is_err()) {
                    return Err(shared
                        .failure()
                        .unwrap_or_else(|| CaptureError::Warc("the recording thread stopped".into())));
                }
                Ok(())
            }
        }
    }

    /// True when no handed-over batch waits for its commit.
    pub fn idle(&self) -> bool {
        match self {
            Outbox::Inline(_) => true,
            Outbox::Thread { shared, .. } => shared.pending.lock().map_or(true, |n| *n == 0),
        }
    }

    pub fn cancelled(&self) -> bool {
        match self {
            Outbox::Inline(c) => c.sink.cancelled(),
            Outbox::Thread { shared, .. } => shared.cancelled.load(Ordering::Relaxed),
        }
    }

    /// No more events: the recording thread finishes what it has and ends.
    pub fn close(&mut self) {
        if let Outbox::Thread { tx, .. } = self {
            *tx = None;
        }
    }
}

/// glibc keeps what a thread freed in that thread's arena; with fetch tasks, blocking
/// workers and the blob writers each allocating, the crawl's resident size would settle far
/// above what it holds. Trimming after each commit keeps it near the live data.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the kernel; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn poisoned() -> CaptureError {
    CaptureError::Warc("the recording thread panicked".into())
}
