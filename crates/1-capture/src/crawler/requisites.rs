//! What a fetched page or stylesheet refers to: links to follow, images to fetch (with the
//! page and element they appeared in), stylesheets to read — the crawler's discovery half.

use super::*;

impl Crawler<'_> {
    pub(super) fn note_referrer(&mut self, asset_url: &str, r: Referrer) -> Result<(), CaptureError> {
        let refs = self.referrers.entry(asset_url.to_string()).or_default();
        if refs.contains(&r) {
            return Ok(());
        }
        refs.push(r.clone());
        self.sink.asset_referrer(asset_url, &r)?;
        Ok(())
    }

    pub(super) fn admit_link(&self, link: &Url) -> bool {
        let s = link.as_str();
        in_scope(self.cfg.scope, &self.seeds, link)
            && (self.include.is_empty() || self.include.iter().any(|r| r.is_match(s)))
            && !self.exclude.iter().any(|r| r.is_match(s))
    }

    /// A parsed page: report and index it, queue its links and assets. Returns new entries.
    pub(super) fn page(
        &mut self,
        entry: &FrontierEntry,
        url: &Url,
        ex: Extracted,
        exchange: Option<Exchange>,
    ) -> Result<Vec<FrontierEntry>, CaptureError> {
        let Some(exchange) = exchange else {
            return Ok(Vec::new());
        };
        let page = PageCapture {
            url: url.to_string(),
            title: ex.title,
            text: ex.text,
            links: ex.links.iter().map(Url::to_string).collect(),
            images: ex.images.iter().map(|(u, _)| u.to_string()).collect(),
            alt_texts: ex.alt_texts,
            depth: entry.depth,
            exchange,
        };
        self.sink.page(&page)?;
        self.index.add(
            &page.url,
            &page.title,
            &page.text,
            &page.alt_texts,
            &page.exchange.fetched_at,
        )?;
        self.unindexed += 1;
        if self.unindexed >= INDEX_COMMIT_EVERY {
            self.index.commit()?;
            self.unindexed = 0;
        }
        self.progress.pages += 1;
        self.run_pages += 1;

        let mut added = Vec::new();
        if entry.depth < self.cfg.max_depth {
            for link in ex.links {
                if self.pages_admitted >= self.cfg.max_pages {
                    break;
                }
                if self.frontier.is_seen(link.as_str()) || !self.admit_link(&link) {
                    continue;
                }
                let e = queued(
                    link.to_string(),
                    Purpose::Page,
                    entry.depth + 1,
                    page.url.clone(),
                    "a[href]".into(),
                );
                if self.frontier.push(e.clone()) {
                    self.pages_admitted += 1;
                    added.push(e);
                }
            }
        }
        for (img, element) in ex.images {
            let r = Referrer {
                page_url: page.url.clone(),
                element: element.to_string(),
            };
            self.note_referrer(img.as_str(), r)?;
            let e = queued(
                img.to_string(),
                Purpose::Asset,
                entry.depth + 1,
                page.url.clone(),
                element.to_string(),
            );
            if self.frontier.push(e.clone()) {
                added.push(e);
            }
        }
        for sheet in ex.assets.stylesheets {
            added.extend(self.queue_stylesheet(&sheet, &page.url, entry.depth + 1));
        }
        Ok(added)
    }

    /// A fetched stylesheet: the images it draws become assets of the page that linked it
    /// (the report's "where it appeared" names the sheet), and the sheets it `@import`s are
    /// queued too, a bounded number of levels deep. Returns new entries.
    pub(super) fn stylesheet(
        &mut self,
        entry: &FrontierEntry,
        sheet_url: &Url,
        css: &str,
    ) -> Result<Vec<FrontierEntry>, CaptureError> {
        let page_url = entry.discovered_from.clone().unwrap_or_else(|| sheet_url.to_string());
        let found = crate::css::urls(css, sheet_url);
        let mut added = Vec::new();
        for img in found.images {
            let element = format!("{} in {sheet_url}", img.element);
            let r = Referrer {
                page_url: page_url.clone(),
                element: element.clone(),
            };
            self.note_referrer(img.url.as_str(), r)?;
            let e = queued(
                img.url.to_string(),
                Purpose::Asset,
                entry.depth + 1,
                page_url.clone(),
                element,
            );
            if self.frontier.push(e.clone()) {
                added.push(e);
            }
        }
        // `@import` chains (and loops) end here; the frontier's de-duplication stops cycles.
        if entry.depth < self.cfg.max_depth.saturating_add(MAX_IMPORT_LEVELS) {
            for sheet in found.stylesheets {
                added.extend(self.queue_stylesheet(&sheet, &page_url, entry.depth + 1));
            }
        }
        Ok(added)
    }

    pub(super) fn queue_stylesheet(
        &mut self,
        sheet: &crate::html::AssetRef,
        page_url: &str,
        depth: u32,
    ) -> Option<FrontierEntry> {
        let e = queued(
            sheet.url.to_string(),
            Purpose::Stylesheet,
            depth,
            page_url.to_string(),
            sheet.element.clone(),
        );
        self.frontier.push(e.clone()).then_some(e)
    }

    pub(super) fn asset(
        &mut self,
        entry: &FrontierEntry,
        bytes: Vec<u8>,
        content_type: Option<String>,
        exchange: Option<Exchange>,
    ) -> Result<(), CaptureError> {
        let Some(exchange) = exchange else {
            return Ok(());
        };
        let asset = AssetCapture {
            url: entry.url.clone(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes,
            content_type,
            referrers: self.referrers.get(&entry.url).cloned().unwrap_or_default(),
            exchange,
        };
        self.sink.asset(&asset)?;
        self.progress.assets += 1;
        Ok(())
    }
}

/// A new frontier entry found on (or through) `from`.
fn queued(url: String, purpose: Purpose, depth: u32, from: String, element: String) -> FrontierEntry {
    FrontierEntry {
        url,
        purpose,
        depth,
        hops: 0,
        state: FrontierState::Queued,
        attempts: 0,
        discovered_from: Some(from),
        element: Some(element),
    }
}
