//! Retry waits, redirect-loop detection and progress counters.

use super::*;

impl Crawler<'_> {
    pub(super) fn retry_wait(&self, attempts: u32, asked: Option<Duration>) -> Duration {
        let backoff = Duration::from_millis(500u64.saturating_mul(1 << attempts.min(10)));
        asked.unwrap_or(backoff).min(self.cfg.max_retry_wait)
    }

    /// When `target` is `from` or one of the URLs whose redirects led to `from`, the chain
    /// `target → … → from → target` as text.
    pub(super) fn redirect_loop(&self, from: &str, target: &str) -> Option<String> {
        let mut chain = vec![from.to_string()];
        let mut cur = from;
        while cur != target {
            cur = self.redirected_from.get(cur)?;
            chain.push(cur.to_string());
            if chain.len() > self.cfg.max_redirects + 2 {
                return None;
            }
        }
        chain.reverse();
        chain.push(target.to_string());
        Some(chain.join(" → "))
    }

    /// Progress after each unit (the sink hears of it every [`PROGRESS_EVERY`]).
    pub(super) fn after_unit(&mut self) -> Result<(), CaptureError> {
        if self.progress_sent.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return Ok(());
        }
        self.send_progress()
    }

    /// Reports progress to the sink now.
    pub(super) fn send_progress(&mut self) -> Result<(), CaptureError> {
        self.progress_sent = Some(Instant::now());
        let elapsed = self.run_started.elapsed().as_secs_f64();
        self.progress.frontier = self.frontier.len();
        self.progress.elapsed_s = elapsed;
        self.progress.pages_per_s = if elapsed > 0.0 {
            self.run_pages as f64 / elapsed
        } else {
            0.0
        };
        let per_s = if elapsed > 0.0 {
            self.run_exchanges as f64 / elapsed
        } else {
            0.0
        };
        self.progress.eta_s = (per_s > 0.0).then(|| self.frontier.len() as f64 / per_s);
        self.out.send(Event::Progress(Box::new(self.progress.clone())))
    }
}
