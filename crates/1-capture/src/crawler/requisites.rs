//! What a fetched page or stylesheet refers to: links to follow, images to fetch (with the
//! page and element they appeared in), stylesheets to read — the crawler's discovery half.

use super::*;
use crate::sniff::looks_like_svg;

impl Crawler<'_> {
    /// Reports that `r` referenced `asset_url`. While the URL waits in the frontier its
    /// referrers are also kept for its asset row; once it was fetched they go to the sink
    /// only (it adds them to the stored asset).
    pub(super) fn note_referrer(&mut self, asset_url: &str, r: Referrer) -> Result<(), CaptureError> {
        let refs = match self.referrers.get_mut(asset_url) {
            Some(refs) => Some(refs),
            None if self.frontier.is_seen(asset_url) => None,
            // About to be queued by the caller.
            None => Some(self.referrers.entry(asset_url.to_string()).or_default()),
        };
        if let Some(refs) = refs {
            if refs.contains(&r) {
                return Ok(());
            }
            refs.push(r.clone());
        }
        self.out.send(Event::Referrer(asset_url.to_string(), r))
    }

    /// Queues an entry unless its URL was seen; true when queued. Its referrers are kept
    /// until it is fetched (see [`Crawler::note_referrer`]).
    pub(super) fn push_frontier(&mut self, e: FrontierEntry) -> bool {
        let url = e.url.clone();
        if !self.frontier.push(e) {
            return false;
        }
        self.referrers.entry(url).or_default();
        true
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
        let source = exchange.clone();
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
        let links = ex.links;
        let assets = ex.assets;
        let page_url = page.url.clone();
        // Indexed once its rows are committed (committer.rs).
        self.out.send(Event::Page(Box::new(page)))?;
        self.progress.pages += 1;
        self.run_pages += 1;

        let mut added = Vec::new();
        if entry.depth < self.cfg.max_depth {
            for link in links {
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
                    page_url.clone(),
                    "a[href]".into(),
                );
                if self.push_frontier(e.clone()) {
                    self.pages_admitted += 1;
                    added.push(e);
                }
            }
        }
        // Every (URL, element) pair: the full element description is "where it appeared".
        added.extend(self.queue_assets(assets.images, &page_url, None, entry.depth + 1)?);
        added.extend(self.queue_assets(assets.fonts, &page_url, None, entry.depth + 1)?);
        for sheet in assets.stylesheets {
            added.extend(self.queue_stylesheet(&sheet, &page_url, entry.depth + 1));
        }
        self.keep_inline(assets.inline, &page_url, None, &source)?;
        self.report_rejected(assets.rejected, &page_url, None)?;
        Ok(added)
    }

    /// Queues images (or fonts) referenced from `page_url` — directly, or through the sheet
    /// `sheet` — noting each referring element. Returns new entries.
    fn queue_assets(
        &mut self,
        refs: Vec<crate::html::AssetRef>,
        page_url: &str,
        sheet: Option<&Url>,
        depth: u32,
    ) -> Result<Vec<FrontierEntry>, CaptureError> {
        let mut added = Vec::new();
        for a in refs {
            let element = in_sheet(a.element, sheet);
            let r = Referrer {
                page_url: page_url.to_string(),
                element: element.clone(),
            };
            self.note_referrer(a.url.as_str(), r)?;
            let e = queued(a.url.to_string(), Purpose::Asset, depth, page_url.to_string(), element);
            if self.push_frontier(e.clone()) {
                added.push(e);
            }
        }
        Ok(added)
    }

    /// Keeps the `data:` images of a page or sheet: each distinct image is written once per
    /// run as a WARC `resource` record (`urn:sha256:<hex>`, concurrent to the response that
    /// carried it, same WARC-Date) plus a `metadata` record naming the page and elements, and
    /// reported as an asset whose exchange is that response. Later sightings add referrers.
    /// The records go to the file that holds the response (rotation happens only between
    /// exchanges) and become durable with the unit's batch, before its rows are committed.
    fn keep_inline(
        &mut self,
        inline: Vec<crate::html::InlineAsset>,
        page_url: &str,
        sheet: Option<&Url>,
        source: &Exchange,
    ) -> Result<(), CaptureError> {
        if inline.is_empty() {
            return Ok(());
        }
        // Group by content: one record per distinct image, every element a referrer.
        let mut distinct: Vec<(crate::html::InlineAsset, Vec<Referrer>)> = Vec::new();
        for i in inline {
            let r = Referrer {
                page_url: page_url.to_string(),
                element: in_sheet(i.element.clone(), sheet),
            };
            match distinct.iter_mut().find(|(d, _)| d.sha256 == i.sha256) {
                Some((_, refs)) => refs.push(r),
                None => distinct.push((i, vec![r])),
            }
        }
        for (img, refs) in distinct {
            let locator = format!("urn:sha256:{}", img.sha256);
            let mut key = [0u8; 32];
            if hex::decode_to_slice(&img.sha256, &mut key).is_err() {
                key = Sha256::digest(&img.bytes).into();
            }
            if !self.inline_kept.insert(key) {
                for r in refs {
                    self.out.send(Event::Referrer(locator.clone(), r))?;
                }
                continue;
            }
            let record_id = new_record_id();
            let written = self.warc.write(&RecordSpec {
                warc_type: "resource",
                record_id: &record_id,
                date: &source.fetched_at,
                content_type: &img.media_type,
                extra: vec![
                    ("WARC-Target-URI", locator.clone()),
                    ("WARC-Concurrent-To", source.response_record_id.clone()),
                    ("WARC-Payload-Digest", warc_digest(&img.bytes)),
                ],
                block: &[&img.bytes],
            })?;
            let mut about = String::new();
            let one_line = |s: &str| s.replace(['\r', '\n'], " ");
            let _ = write!(about, "via: {}\r\n", one_line(page_url));
            let _ = write!(about, "source-url: {}\r\n", one_line(&source.url));
            let _ = write!(about, "source-record: {}\r\n", source.response_record_id);
            let _ = write!(
                about,
                "decoded-from: a data: URI in the body of that response, {} bytes\r\n",
                img.bytes.len()
            );
            let _ = write!(about, "declared-media-type: {}\r\n", one_line(&img.media_type));
            for r in &refs {
                let _ = write!(about, "element: {}\r\n", one_line(&r.element));
            }
            self.warc.write(&RecordSpec {
                warc_type: "metadata",
                record_id: &new_record_id(),
                date: &source.fetched_at,
                content_type: "application/warc-fields",
                extra: vec![
                    ("WARC-Target-URI", locator.clone()),
                    ("WARC-Refers-To", record_id.clone()),
                ],
                block: &[about.as_bytes()],
            })?;
            let asset = AssetCapture {
                url: locator.clone(),
                sha256: img.sha256.clone(),
                bytes: img.bytes,
                content_type: Some(img.media_type.clone()),
                referrers: refs,
                exchange: source.clone(),
            };
            self.out.send(Event::Asset(Box::new(asset)))?;
            self.out.send(Event::Inline(Box::new(crate::InlineResource {
                locator,
                sha256: img.sha256,
                media_type: img.media_type,
                source_url: source.url.clone(),
                source_record_id: source.response_record_id.clone(),
                warc_file: written.file_name,
                warc_offset: written.offset,
                record_id,
                recorded_at: source.fetched_at.clone(),
            })))?;
            self.progress.assets += 1;
        }
        Ok(())
    }

    /// References that cannot be captured get a failure row naming the reference, the page
    /// (and sheet) and the element, with the reason.
    fn report_rejected(
        &mut self,
        rejected: Vec<crate::html::Rejected>,
        page_url: &str,
        sheet: Option<&Url>,
    ) -> Result<(), CaptureError> {
        for r in rejected {
            let element = in_sheet(r.element, sheet);
            let why = format!("not captured: {} (in {element} on {page_url})", r.reason);
            self.fail(&r.reference, &why)?;
        }
        Ok(())
    }

    /// A fetched stylesheet: the images it draws become assets of the page that linked it
    /// (the report's "where it appeared" names the sheet), and the sheets it `@import`s are
    /// queued too, a bounded number of levels deep. Returns new entries.
    /// `data:` images in the sheet are kept like a page's (see [`Crawler::page`]).
    pub(super) fn stylesheet(
        &mut self,
        entry: &FrontierEntry,
        sheet_url: &Url,
        css: &str,
        exchange: Option<Exchange>,
    ) -> Result<Vec<FrontierEntry>, CaptureError> {
        let page_url = entry.discovered_from.clone().unwrap_or_else(|| sheet_url.to_string());
        let found = crate::css::urls(css, sheet_url);
        let mut added = self.queue_assets(found.images, &page_url, Some(sheet_url), entry.depth + 1)?;
        added.extend(self.queue_assets(found.fonts, &page_url, Some(sheet_url), entry.depth + 1)?);
        if let Some(source) = &exchange {
            self.keep_inline(found.inline, &page_url, Some(sheet_url), source)?;
        }
        self.report_rejected(found.rejected, &page_url, Some(sheet_url))?;
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
        self.push_frontier(e.clone()).then_some(e)
    }

    pub(super) fn asset(
        &mut self,
        entry: &FrontierEntry,
        bytes: Vec<u8>,
        sha256: Option<String>,
        content_type: Option<String>,
        exchange: Option<Exchange>,
    ) -> Result<(), CaptureError> {
        let Some(exchange) = exchange else {
            return Ok(());
        };
        let referrers = self.referrers.get(&entry.url).cloned().unwrap_or_default();
        let only_font = !referrers.is_empty() && referrers.iter().all(|r| r.element.contains("@font-face"));
        if only_font && image_type(&bytes).is_none() && !looks_like_svg(&bytes) {
            // A web font: recorded (WARC + capture row) as a page requisite, but not an image
            // to fingerprint.
            return Ok(());
        }
        let asset = AssetCapture {
            url: entry.url.clone(),
            sha256: sha256.unwrap_or_else(|| hex::encode(Sha256::digest(&bytes))),
            bytes,
            content_type,
            referrers,
            exchange,
        };
        self.out.send(Event::Asset(Box::new(asset)))?;
        self.progress.assets += 1;
        Ok(())
    }
}

/// The element label, naming the stylesheet it was found in, if any.
fn in_sheet(element: String, sheet: Option<&Url>) -> String {
    match sheet {
        Some(s) => format!("{element} in {s}"),
        None => element,
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
