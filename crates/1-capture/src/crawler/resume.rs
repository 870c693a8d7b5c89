//! Continuing an interrupted crawl: its frontier, and the pages a crash kept out of the
//! full-text index.

use super::*;

use crate::warcfile::{find, read_block};
use crate::CapturedPage;

impl Crawler<'_> {
    /// Fills the frontier: the seeds of a new crawl, or what an interrupted one left.
    pub(super) fn load(&mut self, resume: Option<&ResumeState>) -> Result<(), CaptureError> {
        // A crawl interrupted before its seeds were committed has an empty frontier: seed it.
        match resume.filter(|r| !r.frontier.is_empty()) {
            Some(r) => {
                for e in &r.frontier {
                    if e.purpose == Purpose::Page && e.hops == 0 {
                        self.pages_admitted += 1;
                    }
                    if let (Some(from), Some(el), FrontierState::Queued) = (&e.discovered_from, &e.element, e.state) {
                        // Only waiting assets need theirs in memory (see `note_referrer`).
                        if e.purpose == Purpose::Asset && el != "redirect" {
                            self.referrers.entry(e.url.clone()).or_default().push(Referrer {
                                page_url: from.clone(),
                                element: el.clone(),
                            });
                        }
                    }
                    if let (Some(from), Some("redirect")) = (&e.discovered_from, e.element.as_deref()) {
                        self.redirected_from.insert(e.url.clone(), from.clone());
                    }
                    if e.state == FrontierState::Queued {
                        self.push_frontier(e.clone());
                    } else {
                        self.frontier.mark_seen(&e.url);
                    }
                }
            }
            None => {
                let mut added = Vec::new();
                for seed in self.seeds.clone() {
                    let e = FrontierEntry {
                        url: seed.to_string(),
                        purpose: Purpose::Page,
                        depth: 0,
                        hops: 0,
                        state: FrontierState::Queued,
                        attempts: 0,
                        discovered_from: None,
                        element: None,
                    };
                    if self.push_frontier(e.clone()) {
                        self.pages_admitted += 1;
                        added.push(e);
                    }
                }
                self.out.send(Event::Frontier(added))?;
                self.out.send(Event::Commit { sync: None, pos: None })?;
            }
        }
        self.progress.frontier = self.frontier.len();
        Ok(())
    }
}

/// After a crash: indexes again, from their WARC response records, the pages committed to the
/// case that the text index lacks (the index commits less often than the case). Returns how
/// many. A record that cannot be read back is an error naming it.
pub(super) fn reindex_missing(
    index: &mut PageIndex,
    warc_dir: &std::path::Path,
    pages: &[CapturedPage],
    cap: u64,
) -> Result<usize, CaptureError> {
    let missing = index.missing(pages)?;
    for p in &missing {
        let path = warc_dir.join(&p.warc_file);
        let block = read_block(&path, p.warc_offset, cap.saturating_add(1 << 20))?;
        let bad = |what: String| CaptureError::Warc(format!("{} at offset {}: {what}", path.display(), p.warc_offset));
        let split = find(&block, b"\r\n\r\n").ok_or_else(|| bad("no end of the HTTP head".into()))?;
        let (head, body) = (&block[..split], &block[split + 4..]);
        let encoding = String::from_utf8_lossy(head)
            .lines()
            .find_map(|l| l.strip_prefix("content-encoding:").map(|v| v.trim().to_string()));
        let body = decode_content(body, encoding.as_deref(), cap).map_err(bad)?;
        let url = Url::parse(&p.url).map_err(|e| bad(format!("page URL {}: {e}", p.url)))?;
        let ex = extract(&url, &crate::nesting::bound_nesting(&String::from_utf8_lossy(&body)));
        index.add(&p.url, &ex.title, &ex.text, &ex.alt_texts, &p.fetched_at)?;
    }
    if !missing.is_empty() {
        index.commit()?;
    }
    Ok(missing.len())
}
