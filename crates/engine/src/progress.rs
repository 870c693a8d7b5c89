//! Progress reporting for long work. The CLI draws bars; the desktop app sends events.

pub trait Progress: Send + Sync {
    /// A new phase begins (`total` when known).
    fn phase(&self, name: &str, total: Option<u64>);
    /// `n` more units of the current phase are done.
    fn advance(&self, n: u64);
    /// A short status line (current URL or file).
    fn message(&self, msg: &str);
    /// The current phase is over.
    fn done(&self);
    /// True once the operator asked to stop (the desktop app's Cancel); long work checks
    /// it between units and stops cleanly, keeping what it already recorded.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn message(&self, _: &str) {}
    fn done(&self) {}
}
