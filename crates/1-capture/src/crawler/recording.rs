//! The crawler's recording half: WARC records built in the fetch tasks, appended by the
//! coordinator, and made durable in batches (group commit).
//!
//! Invariant: the sink commits a unit (case rows) only after the WARC bytes of every exchange
//! in it are fsynced, so a case row never points at bytes a crash could lose. A `kill -9` or
//! power loss between the WARC append and the commit leaves records past the committed length;
//! the resumed crawl cuts them off and fetches those URLs again.

use super::*;

use crate::warcfile::encode_record;

/// A batch is committed once it holds this many units (fetched URLs)…
const BATCH_MAX_UNITS: usize = 512;
/// …or this many WARC bytes…
const BATCH_MAX_BYTES: u64 = 32 * 1024 * 1024;
/// …or is this old, even when fetches keep completing.
const BATCH_MAX_AGE: Duration = Duration::from_millis(500);
/// When nothing else is ready, a batch this old is committed at once: a slow crawl keeps a
/// short window of uncommitted work, a fast one gets large batches.
pub(super) const BATCH_IDLE_AGE: Duration = Duration::from_millis(20);

/// An exchange's request and response records, gzip members encoded in its fetch task.
pub(super) struct Encoded {
    /// The warcinfo record they name; re-encoded when the writer has rotated since.
    warcinfo_id: String,
    request_id: String,
    response_id: String,
    request: Vec<u8>,
    response: Vec<u8>,
    /// Hex SHA-256 of the payload (the body as received).
    payload_sha256: String,
}

/// Builds the request and response records of an exchange (digests, gzip).
pub(super) fn encode_exchange(
    url: &Url,
    attempt: &Attempt,
    resp: &Response,
    warcinfo_id: &str,
) -> Result<Encoded, CaptureError> {
    let request_id = new_record_id();
    let response_id = new_record_id();
    let payload = Sha256::digest(&resp.body);
    let mut common = vec![("WARC-Target-URI", url.to_string())];
    if let Some(ip) = &resp.server_ip {
        common.push(("WARC-IP-Address", ip.clone()));
    }
    let mut req_extra = common.clone();
    req_extra.push(("WARC-Concurrent-To", response_id.clone()));
    let request = encode_record(
        &RecordSpec {
            warc_type: "request",
            record_id: &request_id,
            date: &attempt.fetched_at,
            content_type: "application/http; msgtype=request",
            extra: req_extra,
            block: &[&attempt.request_block],
        },
        Some(warcinfo_id),
    )?;
    let mut resp_extra = common;
    resp_extra.push(("WARC-Concurrent-To", request_id.clone()));
    resp_extra.push(("WARC-Payload-Digest", format!("sha256:{}", crate::base32(&payload))));
    if let Some((t, _)) = &resp.truncated {
        resp_extra.push(("WARC-Truncated", t.warc_value().to_string()));
    }
    let response = encode_record(
        &RecordSpec {
            warc_type: "response",
            record_id: &response_id,
            date: &attempt.fetched_at,
            content_type: "application/http; msgtype=response",
            extra: resp_extra,
            block: &[&resp.head, &resp.body],
        },
        Some(warcinfo_id),
    )?;
    Ok(Encoded {
        warcinfo_id: warcinfo_id.to_string(),
        request_id,
        response_id,
        request,
        response,
        payload_sha256: hex::encode(payload),
    })
}

/// Units recorded but not yet committed.
#[derive(Default)]
pub(super) struct Batch {
    units: usize,
    bytes: u64,
    since: Option<Instant>,
    /// Pages to add to the full-text index once their rows are committed.
    pages: Vec<PageText>,
}

/// What the full-text index keeps of a page.
pub(super) struct PageText {
    pub url: String,
    pub title: String,
    pub text: String,
    pub alt_texts: Vec<String>,
    pub fetched_at: String,
}

impl Crawler<'_> {
    /// Appends the request, response (and TLS metadata) records of an exchange and reports
    /// the exchange to the sink; it becomes durable with the batch (see [`Crawler::flush`]).
    pub(super) fn record(
        &mut self,
        url: &Url,
        attempt: &Attempt,
        resp: &Response,
        encoded: Option<Encoded>,
        kind: ExchangeKind,
        redirect_to: Option<String>,
    ) -> Result<(), CaptureError> {
        if self.warc.needs_rotation() {
            // Nothing of the current unit is reported yet: commit the finished units with the
            // file they were written to before the next file opens.
            self.flush()?;
            if let Some(pos) = self.warc.prepare()? {
                self.sink.warc_opened(&pos)?;
            }
        }
        let enc = match encoded {
            Some(e) if e.warcinfo_id == self.warc.warcinfo_id() => e,
            _ => encode_exchange(url, attempt, resp, self.warc.warcinfo_id())?,
        };
        self.warc.append(&enc.request)?;
        let written = self.warc.append(&enc.response)?;
        self.batch.bytes += (enc.request.len() + enc.response.len()) as u64;
        if url.scheme() == "https" {
            self.record_tls(url, resp, &enc.response_id, &attempt.fetched_at)?;
        }
        let exchange = Exchange {
            url: url.to_string(),
            method: "GET".to_string(),
            status: resp.status,
            content_type: resp.content_type.clone(),
            fetched_at: attempt.fetched_at.clone(),
            server_ip: resp.server_ip.clone(),
            warc_file: written.file_name,
            warc_offset: written.offset,
            response_record_id: enc.response_id,
            request_record_id: enc.request_id,
            payload_sha256: enc.payload_sha256,
            payload_len: resp.body.len() as u64,
            redirect_to,
            kind,
        };
        self.exchanges += 1;
        self.run_exchanges += 1;
        self.progress.bytes += resp.body.len() as u64;
        self.sink.exchange(&exchange)?;
        self.last_exchange = Some(exchange);
        Ok(())
    }

    /// A `metadata` record per TLS handshake made for this host since the last one recorded:
    /// the chain as presented, leaf first, PEM.
    fn record_tls(&mut self, url: &Url, resp: &Response, response_id: &str, date: &str) -> Result<(), CaptureError> {
        for hs in self.chains.take(&host_of(url)) {
            let block = self
                .chains
                .metadata_block(&hs, url, resp.server_ip.as_deref(), resp.tls_version.as_deref())?;
            let mut extra = vec![("WARC-Target-URI", url.to_string())];
            if let Some(ip) = &resp.server_ip {
                extra.push(("WARC-IP-Address", ip.clone()));
            }
            extra.push(("WARC-Concurrent-To", response_id.to_string()));
            self.warc.write(&RecordSpec {
                warc_type: "metadata",
                record_id: &new_record_id(),
                date,
                content_type: "text/plain; charset=utf-8",
                extra,
                block: &[block.as_bytes()],
            })?;
        }
        Ok(())
    }

    /// Holds a page's text for the index until its rows are committed.
    pub(super) fn queue_for_index(&mut self, page: &PageCapture) {
        self.batch.pages.push(PageText {
            url: page.url.clone(),
            title: page.title.clone(),
            text: page.text.clone(),
            alt_texts: page.alt_texts.clone(),
            fetched_at: page.exchange.fetched_at.clone(),
        });
    }

    /// End of a unit (one fetched URL, or a URL refused or retried without a fetch).
    pub(super) fn unit_done(&mut self) -> Result<(), CaptureError> {
        self.batch.units += 1;
        let since = *self.batch.since.get_or_insert_with(Instant::now);
        if self.batch.units >= BATCH_MAX_UNITS
            || self.batch.bytes >= BATCH_MAX_BYTES
            || since.elapsed() >= BATCH_MAX_AGE
        {
            self.flush()?;
        }
        Ok(())
    }

    /// When the open batch should be committed if nothing else happens.
    pub(super) fn flush_due(&self) -> Option<Instant> {
        self.batch.since.map(|t| t + BATCH_IDLE_AGE)
    }

    /// Group commit: one fsync of the WARC file, then one sink commit (one database
    /// transaction) for every unit of the batch; then their pages go to the text index.
    pub(super) fn flush(&mut self) -> Result<(), CaptureError> {
        if self.batch.units == 0 {
            return Ok(());
        }
        self.warc.sync()?;
        let pos = self.warc.position();
        self.sink.commit(pos.as_ref())?;
        let batch = std::mem::take(&mut self.batch);
        for p in batch.pages {
            self.index.add(&p.url, &p.title, &p.text, &p.alt_texts, &p.fetched_at)?;
            self.unindexed += 1;
        }
        if self.unindexed >= INDEX_COMMIT_EVERY {
            self.index.commit()?;
            self.unindexed = 0;
        }
        Ok(())
    }
}
