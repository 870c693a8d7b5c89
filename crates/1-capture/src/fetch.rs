//! One HTTP exchange: the request as sent, the response head, and the body read in chunks up
//! to a cap. Nothing here writes WARC; the crawl loop records what this returns.

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, USER_AGENT};
use url::Url;

use crate::warcfile::warc_date;

/// Why a body ended early (the value of `WARC-Truncated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// The size cap.
    Length,
    /// The total or read timeout.
    Time,
    /// The connection failed mid-body.
    Disconnect,
}

impl Truncation {
    pub fn warc_value(self) -> &'static str {
        match self {
            Truncation::Length => "length",
            Truncation::Time => "time",
            Truncation::Disconnect => "disconnect",
        }
    }
}

/// A response whose head arrived; the body may be truncated.
pub struct Response {
    pub status: u16,
    /// `HTTP/1.1 200 OK` etc. plus headers in received order (names lower-cased), CRLF-ended,
    /// with the blank line; reconstructed from the parsed response.
    pub head: Vec<u8>,
    pub body: Vec<u8>,
    pub truncated: Option<(Truncation, String)>,
    pub server_ip: Option<String>,
    pub tls_version: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<Duration>,
}

/// The request we sent and what came back.
pub struct Attempt {
    pub request_block: Vec<u8>,
    /// WARC-Date of the exchange: when the request was sent.
    pub fetched_at: String,
    /// `Err` when no response head arrived (DNS, connect, TLS, timeout…), with the reason.
    pub response: Result<Response, String>,
}

pub async fn fetch(client: &reqwest::Client, url: &Url, user_agent: &HeaderValue, cap: u64) -> Attempt {
    let req = match client
        .get(url.clone())
        .header(USER_AGENT, user_agent.clone())
        .header(ACCEPT, HeaderValue::from_static("*/*"))
        // We record bytes as transmitted; content codings are undone (bounded) only to parse.
        .header(ACCEPT_ENCODING, HeaderValue::from_static("identity"))
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return Attempt {
                request_block: Vec::new(),
                fetched_at: warc_date(&Utc::now()),
                response: Err(format!("invalid request: {}", error_chain(&e))),
            }
        }
    };
    let request_block = request_bytes(&req);
    let fetched_at = warc_date(&Utc::now());
    let response = match client.execute(req).await {
        Ok(resp) => Ok(read_response(resp, cap).await),
        Err(e) => Err(if e.is_timeout() {
            format!("timeout: {}", error_chain(&e))
        } else if e.is_connect() {
            let chain = error_chain(&e);
            if chain.contains("dns error") {
                format!("{DNS_FAILED}{chain}")
            } else {
                format!("connect failed: {chain}")
            }
        } else {
            format!("request failed: {}", error_chain(&e))
        }),
    };
    Attempt {
        request_block,
        fetched_at,
        response,
    }
}

/// The protocol name as OpenSSL and browsers print it (`TLSv1.3`), not reqwest's debug text.
fn tls_version_name(v: reqwest::tls::Version) -> String {
    use reqwest::tls::Version;
    match v {
        Version::TLS_1_3 => "TLSv1.3".into(),
        Version::TLS_1_2 => "TLSv1.2".into(),
        Version::TLS_1_1 => "TLSv1.1".into(),
        Version::TLS_1_0 => "TLSv1".into(),
        other => format!("{other:?}"),
    }
}

async fn read_response(mut resp: reqwest::Response, cap: u64) -> Response {
    let header = |name: reqwest::header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let content_encoding = header(reqwest::header::CONTENT_ENCODING);
    let location = header(reqwest::header::LOCATION);
    let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v));
    let server_ip = resp.remote_addr().map(|a| a.ip().to_string());
    let tls_version = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.version())
        .map(tls_version_name);
    let head = head_bytes(&resp);
    let status = resp.status().as_u16();

    let mut body: Vec<u8> = Vec::new();
    let mut truncated = None;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap.saturating_sub(body.len() as u64) as usize;
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = Some((Truncation::Length, format!("response larger than {cap} bytes")));
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                let (kind, what) = if e.is_timeout() {
                    (Truncation::Time, "timeout")
                } else {
                    (Truncation::Disconnect, "body read failed")
                };
                let reason = format!("{what} after {} bytes of the body: {}", body.len(), error_chain(&e));
                truncated = Some((kind, reason));
                break;
            }
        }
    }
    Response {
        status,
        head,
        body,
        truncated,
        server_ip,
        tls_version,
        content_type,
        content_encoding,
        location,
        retry_after,
    }
}

/// `Retry-After`: delta-seconds or an HTTP-date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = when.with_timezone(&Utc) - Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Prefix of a failure whose host name did not resolve: not retried (a name that does not
/// resolve now will not a second later, and waiting out the backoff held whole crawls up,
/// e.g. the GIMP manual's links to images on hosts this machine cannot resolve).
pub const DNS_FAILED: &str = "DNS lookup failed: ";

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let msg = inner.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = inner.source();
    }
    s
}

/// The request as sent, rebuilt: request line, Host, then the headers we set (hyper adds no
/// others to a body-less HTTP/1.1 GET).
fn request_bytes(req: &reqwest::Request) -> Vec<u8> {
    let u = req.url();
    let mut target = u.path().to_string();
    if let Some(q) = u.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_string(),
    };
    let mut out = format!("{} {target} HTTP/1.1\r\nhost: {host}\r\n", req.method()).into_bytes();
    for (name, value) in req.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Status line + headers as received (reconstructed), ending with the blank line.
fn head_bytes(resp: &reqwest::Response) -> Vec<u8> {
    let status = resp.status();
    let mut out = format!(
        "{:?} {} {}\r\n",
        resp.version(),
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in resp.headers() {
        // The body we hold is already de-chunked; keep the fact but not the instruction.
        let name = if name == reqwest::header::TRANSFER_ENCODING {
            "x-xiezhi-original-transfer-encoding"
        } else {
            name.as_str()
        };
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
