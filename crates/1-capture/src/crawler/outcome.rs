//! What a fetch's outcome means for the crawl: retry, redirect, failure, page, asset or
//! stylesheet, and the frontier changes that follow.

use super::*;

impl Crawler<'_> {
    pub(super) fn handle_fetch(
        &mut self,
        mut entry: FrontierEntry,
        url: Url,
        attempt: Attempt,
        decoded: Option<Vec<u8>>,
        content: Content,
        encoded: Option<Encoded>,
    ) -> Result<(), CaptureError> {
        entry.attempts += 1;
        let may_retry = entry.attempts <= self.cfg.max_retries;
        let resp = match &attempt.response {
            Ok(r) => r,
            Err(why) => {
                if may_retry && !why.starts_with(crate::fetch::DNS_FAILED) {
                    self.summary_extra.retries += 1;
                    let at = Instant::now() + self.retry_wait(entry.attempts, None);
                    self.out.send(Event::Frontier(vec![entry.clone()]))?;
                    self.unit_done()?;
                    self.frontier.retry_at(entry, at);
                } else {
                    let why = if entry.attempts > 1 {
                        format!("{why} (after {} attempts)", entry.attempts)
                    } else {
                        why.clone()
                    };
                    self.fail(&entry.url, &why)?;
                    entry.state = FrontierState::Failed;
                    self.referrers.remove(&entry.url);
                    self.out.send(Event::Frontier(vec![entry]))?;
                    self.unit_done()?;
                }
                self.after_unit()?;
                return Ok(());
            }
        };
        let status = resp.status;
        let redirect_to = if (300..400).contains(&status) {
            resp.location.as_deref().and_then(|loc| resolve(&url, loc))
        } else {
            None
        };
        let kind = match (&content, entry.purpose) {
            _ if redirect_to.is_some() || !(200..300).contains(&status) || resp.truncated.is_some() => {
                ExchangeKind::Other
            }
            (Content::Html(_), Purpose::Page) => ExchangeKind::Page,
            (Content::Image, _) => ExchangeKind::Asset,
            (Content::Html(_) | Content::Other, Purpose::Asset) if looks_like_html(body_of(resp, &decoded)) => {
                ExchangeKind::Other
            }
            (Content::Other, Purpose::Asset) => ExchangeKind::Asset,
            _ => ExchangeKind::Other,
        };
        self.record(
            &url,
            &attempt,
            resp,
            encoded,
            kind,
            redirect_to.as_ref().map(Url::to_string),
        )?;
        let exchange_id = self.last_exchange.take();
        let mut changed: Vec<FrontierEntry> = Vec::new();
        entry.state = FrontierState::Done;

        if let Some((_, why)) = &resp.truncated {
            self.summary_extra.truncated += 1;
            self.fail(&entry.url, &format!("{why} (recorded truncated)"))?;
            entry.state = FrontierState::Failed;
        } else if (status == 429 || (500..600).contains(&status)) && may_retry {
            self.summary_extra.retries += 1;
            let at = Instant::now() + self.retry_wait(entry.attempts, resp.retry_after);
            entry.state = FrontierState::Queued;
            self.out.send(Event::Frontier(vec![entry.clone()]))?;
            self.unit_done()?;
            self.frontier.retry_at(entry, at);
            self.after_unit()?;
            return Ok(());
        } else if let Some(next) = redirect_to {
            if entry.hops as usize >= self.cfg.max_redirects {
                let reason = format!("too many redirects (more than {})", self.cfg.max_redirects);
                self.fail(&entry.url, &reason)?;
                entry.state = FrontierState::Failed;
            } else if entry.purpose == Purpose::Page && !in_scope(self.cfg.scope, &self.seeds, &next) {
                // Pages may only redirect within scope; assets may live anywhere (CDNs).
            } else if let Some(chain) = self.redirect_loop(&entry.url, next.as_str()) {
                self.fail(&entry.url, &format!("redirect loop: {chain}"))?;
                entry.state = FrontierState::Failed;
            } else {
                let target = FrontierEntry {
                    url: next.to_string(),
                    purpose: entry.purpose,
                    depth: entry.depth,
                    hops: entry.hops + 1,
                    state: FrontierState::Queued,
                    attempts: 0,
                    discovered_from: Some(entry.url.clone()),
                    element: Some("redirect".into()),
                };
                if self.push_frontier(target.clone()) {
                    self.redirected_from.insert(target.url.clone(), entry.url.clone());
                    // Who referenced the asset also referenced where it moved.
                    for r in self.referrers.get(&entry.url).cloned().unwrap_or_default() {
                        self.note_referrer(&target.url, r)?;
                    }
                    changed.push(target);
                }
            }
        } else if status >= 400 {
            let reason = format!(
                "HTTP {status} {}",
                reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
            );
            self.fail(&entry.url, reason.trim_end())?;
            entry.state = FrontierState::Failed;
        } else {
            match (kind, content) {
                (_, Content::Undecodable(why)) => {
                    self.fail(&entry.url, &why)?;
                    entry.state = FrontierState::Failed;
                }
                (ExchangeKind::Page, Content::Html(Some(ex))) => {
                    changed.extend(self.page(&entry, &url, *ex, exchange_id)?);
                }
                (ExchangeKind::Asset, _) => {
                    if entry.purpose == Purpose::Page {
                        // A link that turned out to be an image: it is an asset of the page that linked it.
                        if let (Some(from), Some(el)) = (&entry.discovered_from, &entry.element) {
                            let r = Referrer {
                                page_url: from.clone(),
                                element: el.clone(),
                            };
                            self.note_referrer(&entry.url, r)?;
                        }
                    }
                    // Without a content coding the bytes are the payload, whose digest is known.
                    let (bytes, sha256) = match decoded {
                        Some(d) => (d, None),
                        None => (
                            resp.body.clone(),
                            exchange_id.as_ref().map(|x| x.payload_sha256.clone()),
                        ),
                    };
                    self.asset(&entry, bytes, sha256, resp.content_type.clone(), exchange_id)?;
                }
                (ExchangeKind::Other, Content::Other) if entry.purpose == Purpose::Stylesheet => {
                    let css = String::from_utf8_lossy(body_of(resp, &decoded)).into_owned();
                    changed.extend(self.stylesheet(&entry, &url, &css, exchange_id)?);
                }
                (ExchangeKind::Other, _) if entry.purpose == Purpose::Asset => {
                    let why = format!(
                        "not an image: the body is HTML (Content-Type said {})",
                        resp.content_type.as_deref().unwrap_or("nothing")
                    );
                    self.fail(&entry.url, &why)?;
                    entry.state = FrontierState::Failed;
                }
                _ => {}
            }
        }
        // Fetched for good: its referrers are in its rows now; later ones go to the sink.
        self.referrers.remove(&entry.url);
        changed.insert(0, entry);
        self.out.send(Event::Frontier(changed))?;
        self.unit_done()?;
        self.after_unit()?;
        if self.cfg.max_total_bytes > 0 && self.progress.bytes >= self.cfg.max_total_bytes {
            self.summary_extra.stopped_early = Some(format!(
                "byte budget reached ({} of {} bytes recorded)",
                self.progress.bytes, self.cfg.max_total_bytes
            ));
        }
        Ok(())
    }
}
