//! The crawler's recording half: WARC records built in the fetch tasks, appended by the
//! coordinator, and made durable in batches (group commit).
//!
//! Invariant: the sink commits a unit (case rows) only after the WARC bytes of every exchange
//! in it are fsynced, so a case row never points at bytes a crash could lose. A `kill -9` or
//! power loss between the WARC append and the commit leaves records past the committed length;
//! the resumed crawl cuts them off and fetches those URLs again.

use super::*;

use crate::warcfile::{encode_record, encode_record_at, GZIP_LEVEL};

/// A batch is handed to the recording thread once it holds this many units (fetched URLs)…
const BATCH_MAX_UNITS: usize = 128;
/// …or this many WARC bytes (the sink holds a batch's images until its commit, and up to
/// three batches are alive at once: this bounds the crawl's memory)…
const BATCH_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// …or, when the recording thread is idle, once it is this old. While a commit runs the
/// batch keeps growing, so the number of commits (each an fsync or two and a transaction)
/// adapts to how long one takes: a slow crawl keeps a short window of uncommitted work, a
/// fast one gets large batches.
const BATCH_IDLE_AGE: Duration = Duration::from_millis(20);
/// How often the loop looks again whether a busy recording thread became idle.
const BUSY_RECHECK: Duration = Duration::from_millis(5);

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
    // An image body does not deflate: store it (any level is valid gzip).
    let level = if image_type(&resp.body).is_some() {
        0
    } else {
        GZIP_LEVEL
    };
    let response = encode_record_at(
        &RecordSpec {
            warc_type: "response",
            record_id: &response_id,
            date: &attempt.fetched_at,
            content_type: "application/http; msgtype=response",
            extra: resp_extra,
            block: &[&resp.head, &resp.body],
        },
        Some(warcinfo_id),
        level,
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
                self.out.send(Event::WarcOpened(pos))?;
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
        self.out.send(Event::Exchange(exchange.clone()))?;
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

    /// End of a unit (one fetched URL, or a URL refused or retried without a fetch).
    pub(super) fn unit_done(&mut self) -> Result<(), CaptureError> {
        self.batch.units += 1;
        let since = *self.batch.since.get_or_insert_with(Instant::now);
        if self.batch.units >= BATCH_MAX_UNITS
            || self.batch.bytes >= BATCH_MAX_BYTES
            || (since.elapsed() >= BATCH_IDLE_AGE && self.out.idle())
        {
            self.flush()?;
        }
        Ok(())
    }

    /// When the open batch should be committed if nothing else happens.
    pub(super) fn flush_due(&self) -> Option<Instant> {
        let due = self.batch.since? + BATCH_IDLE_AGE;
        if self.out.idle() {
            Some(due)
        } else {
            Some(due.max(Instant::now() + BUSY_RECHECK))
        }
    }

    /// Group commit: one fsync of the WARC file, then one sink commit (one database
    /// transaction) for every unit of the batch; then their pages go to the text index. All
    /// of it on the recording thread: this only hands the batch over.
    pub(super) fn flush(&mut self) -> Result<(), CaptureError> {
        if self.batch.units == 0 {
            return Ok(());
        }
        self.batch = Batch::default();
        let sync = self.warc.sync_handle()?;
        let pos = self.warc.position();
        self.out.send(Event::Commit { sync, pos })
    }
}
