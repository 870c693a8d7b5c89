//! Full-page screenshots with headless Chromium, driven over the DevTools Protocol (CDP),
//! and their WARC `resource` records.
//!
//! We speak CDP's JSON over a plain WebSocket (`tungstenite`) instead of pulling in a CDP
//! client crate: the six commands used here do not justify the 5–7 minutes of extra cold
//! build that `chromiumoxide`/`headless_chrome` cost on a 2-core CI machine.
//! The page's JavaScript is disabled before navigation: we photograph evidence, we do not
//! run a hostile site's scripts.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::Utc;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};
use url::Url;

use crate::warcfile::{new_record_id, warc_date, warc_digest, RecordSpec, WarcOutput};

/// Program names looked up on `PATH`, in order, when `XIEZHI_CHROMIUM` is not set.
const BROWSER_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// What to tell the user when no browser is found.
pub const INSTALL_HINT: &str = "no Chromium browser found for screenshots: install one with \
`apt-get install chromium` (or set XIEZHI_CHROMIUM to the browser's path)";

#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error("{INSTALL_HINT}")]
    NoBrowser,
    #[error("could not start the browser {path}: {reason}")]
    Launch { path: PathBuf, reason: String },
    #[error("DevTools connection to the browser failed: {0}")]
    Cdp(String),
    #[error("screenshot of {url} failed: {reason}")]
    Page { url: String, reason: String },
    #[error("screenshot of {url} timed out after {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("screenshot of {url} is {bytes} bytes, more than the {max} byte cap")]
    TooLarge { url: String, bytes: usize, max: usize },
    #[error(transparent)]
    Capture(#[from] crate::CaptureError),
}

/// How screenshots are taken.
#[derive(Debug, Clone)]
pub struct ScreenshotConfig {
    pub browser: PathBuf,
    /// Viewport width in CSS pixels (the page is laid out at this width).
    pub width: u32,
    /// Pages taller than this are cut at this height (GPU textures top out near 16k).
    pub max_height: u32,
    /// Hard limit for one page: launch, load, layout and capture.
    pub timeout: Duration,
    /// How long to wait for the load event before photographing what has rendered.
    pub load_timeout: Duration,
    /// PNGs larger than this are refused.
    pub max_png_bytes: usize,
}

impl ScreenshotConfig {
    pub fn new(browser: PathBuf) -> Self {
        Self {
            browser,
            width: 1280,
            max_height: 16_384,
            timeout: Duration::from_secs(60),
            load_timeout: Duration::from_secs(30),
            max_png_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A full-page PNG of one URL.
#[derive(Debug, Clone)]
pub struct Screenshot {
    pub url: String,
    pub png: Vec<u8>,
    /// Hex SHA-256 of `png`.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    /// RFC 3339 UTC with milliseconds: when the capture command returned.
    pub taken_at: String,
    /// `Browser.getVersion` product, e.g. `Chrome/156.0.8078.79`.
    pub browser_version: String,
    /// False when the load event did not fire in time and what had rendered was captured.
    pub loaded: bool,
    /// Page height before the `max_height` cut.
    pub full_height: u32,
}

/// Where a screenshot's WARC record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenshotRecord {
    pub warc_file: String,
    pub warc_offset: u64,
    pub record_id: String,
}

/// The browser to use: `XIEZHI_CHROMIUM` if set, else the first of `chromium`,
/// `chromium-browser`, `google-chrome`, `google-chrome-stable` on `PATH`.
pub fn find_browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("XIEZHI_CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    BROWSER_NAMES
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Chromium refuses to run as root with its sandbox on; elsewhere we keep the sandbox.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// A headless browser process with its own throw-away profile; killed on drop.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws_url: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn launch(cfg: &ScreenshotConfig, deadline: Instant) -> Result<Self, ScreenshotError> {
        let launch_err = |reason: String| ScreenshotError::Launch {
            path: cfg.browser.clone(),
            reason,
        };
        let profile = tempfile::tempdir().map_err(|e| launch_err(format!("temporary profile: {e}")))?;
        let mut cmd = Command::new(&cfg.browser);
        cmd.arg("--headless")
            .arg("--disable-gpu")
            .arg("--remote-debugging-port=0")
            .arg("--remote-debugging-address=127.0.0.1")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args([
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--mute-audio",
                "--force-color-profile=srgb",
                "about:blank",
            ]);
        if running_as_root() {
            cmd.arg("--no-sandbox");
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| launch_err(e.to_string()))?;
        let stderr = child.stderr.take().ok_or_else(|| launch_err("no stderr".into()))?;
        // The browser prints its DevTools endpoint on stderr; read it on a thread so the
        // wait is bounded, and keep draining afterwards so the browser never blocks on a full pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(i) = line.find("ws://") {
                        let _ = tx.send(line[i..].trim().to_string());
                        sent = true;
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            _profile: profile,
            ws_url: String::new(),
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        browser.ws_url = rx
            .recv_timeout(wait)
            .map_err(|_| launch_err("it did not announce a DevTools endpoint".into()))?;
        Ok(browser)
    }
}

/// One CDP WebSocket connection, request/response with events collected on the side.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    deadline: Instant,
    events: Vec<(Option<String>, String)>,
}

impl Cdp {
    fn connect(ws_url: &str, deadline: Instant, max_message: usize) -> Result<Self, ScreenshotError> {
        let cdp = |e: &dyn std::fmt::Display| ScreenshotError::Cdp(e.to_string());
        let url = Url::parse(ws_url).map_err(|e| cdp(&e))?;
        let addr = url
            .socket_addrs(|| None)
            .map_err(|e| cdp(&e))?
            .into_iter()
            .next()
            .ok_or_else(|| ScreenshotError::Cdp(format!("no address in {ws_url}")))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| cdp(&e))?;
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message));
        let (ws, _) = tungstenite::client::client_with_config(ws_url, MaybeTlsStream::Plain(stream), Some(config))
            .map_err(|e| cdp(&e))?;
        Ok(Self {
            ws,
            next_id: 0,
            deadline,
            events: Vec::new(),
        })
    }

    fn set_read_timeout(&mut self, until: Instant) -> Result<(), ScreenshotError> {
        let left = until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        if let MaybeTlsStream::Plain(s) = self.ws.get_mut() {
            s.set_read_timeout(Some(left))
                .map_err(|e| ScreenshotError::Cdp(e.to_string()))?;
        }
        Ok(())
    }

    /// Reads one message before `until`; `Ok(None)` when the time is up.
    fn read(&mut self, until: Instant) -> Result<Option<Value>, ScreenshotError> {
        loop {
            if Instant::now() >= until {
                return Ok(None);
            }
            self.set_read_timeout(until)?;
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    return serde_json::from_str(t.as_str())
                        .map(Some)
                        .map_err(|e| ScreenshotError::Cdp(format!("unreadable message: {e}")));
                }
                Ok(Message::Close(_)) => return Err(ScreenshotError::Cdp("the browser closed the connection".into())),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(ScreenshotError::Cdp(e.to_string())),
            }
        }
    }

    /// Sends a command and waits for its result; events that arrive meanwhile are kept.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value, ScreenshotError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| ScreenshotError::Cdp(format!("{method}: {e}")))?;
        loop {
            let Some(m) = self.read(self.deadline)? else {
                return Err(ScreenshotError::Cdp(format!("{method}: no answer before the deadline")));
            };
            if m.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(err) = m.get("error") {
                    return Err(ScreenshotError::Cdp(format!("{method}: {err}")));
                }
                return Ok(m.get("result").cloned().unwrap_or(Value::Null));
            }
            self.keep_event(&m);
        }
    }

    fn keep_event(&mut self, m: &Value) {
        if let Some(method) = m.get("method").and_then(Value::as_str) {
            let session = m.get("sessionId").and_then(Value::as_str).map(str::to_string);
            self.events.push((session, method.to_string()));
        }
    }

    /// Waits for `method` on `session` until `until`; true if it came.
    fn wait_event(&mut self, session: &str, method: &str, until: Instant) -> Result<bool, ScreenshotError> {
        let seen = |events: &[(Option<String>, String)]| {
            events.iter().any(|(s, m)| s.as_deref() == Some(session) && m == method)
        };
        while !seen(&self.events) {
            match self.read(until.min(self.deadline))? {
                Some(m) => self.keep_event(&m),
                None => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let h = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    Some((w, h))
}

fn metric(metrics: &Value, key: &str, field: &str) -> Option<f64> {
    metrics.get(key).and_then(|v| v.get(field)).and_then(Value::as_f64)
}

/// Loads `url` with JavaScript disabled and captures the whole page as PNG, in a browser
/// started for this one shot. For several pages, use a [`Shooter`].
pub fn take(url: &Url, cfg: &ScreenshotConfig) -> Result<Screenshot, ScreenshotError> {
    Shooter::new(cfg.clone()).take(url)
}

/// One browser reused for several screenshots (each in its own fresh tab); relaunched after
/// a failure, since a hung page can leave the browser unusable.
pub struct Shooter {
    cfg: ScreenshotConfig,
    live: Option<(Browser, Cdp, String)>,
}

impl Shooter {
    pub fn new(cfg: ScreenshotConfig) -> Self {
        Self { cfg, live: None }
    }

    pub fn take(&mut self, url: &Url) -> Result<Screenshot, ScreenshotError> {
        let deadline = Instant::now() + self.cfg.timeout;
        let result = self.take_before(url, deadline);
        if result.is_err() {
            self.live = None;
        }
        match result {
            Err(ScreenshotError::Cdp(_)) if Instant::now() >= deadline => Err(ScreenshotError::Timeout {
                url: url.to_string(),
                secs: self.cfg.timeout.as_secs(),
            }),
            other => other,
        }
    }

    fn take_before(&mut self, url: &Url, deadline: Instant) -> Result<Screenshot, ScreenshotError> {
        if self.live.is_none() {
            let browser = Browser::launch(&self.cfg, deadline)?;
            // Base64 inflates by 4/3; leave room for the JSON around it.
            let max_message = self.cfg.max_png_bytes / 3 * 4 + 1024 * 1024;
            let mut cdp = Cdp::connect(&browser.ws_url, deadline, max_message)?;
            let version = cdp.call(None, "Browser.getVersion", json!({}))?;
            let product = version["product"].as_str().unwrap_or("unknown").to_string();
            self.live = Some((browser, cdp, product));
        }
        let Some((_, cdp, product)) = self.live.as_mut() else {
            return Err(ScreenshotError::Cdp("no browser".into()));
        };
        cdp.deadline = deadline;
        cdp.events.clear();
        let product = product.clone();
        shoot(cdp, &product, url, &self.cfg)
    }
}

impl Drop for Shooter {
    fn drop(&mut self) {
        if let Some((_, cdp, _)) = self.live.as_mut() {
            cdp.deadline = Instant::now() + Duration::from_secs(2);
            let _ = cdp.call(None, "Browser.close", json!({}));
        }
    }
}

fn shoot(
    cdp: &mut Cdp,
    browser_version: &str,
    url: &Url,
    cfg: &ScreenshotConfig,
) -> Result<Screenshot, ScreenshotError> {
    let page_err = |reason: String| ScreenshotError::Page {
        url: url.to_string(),
        reason,
    };
    let target = cdp.call(None, "Target.createTarget", json!({"url": "about:blank"}))?;
    let target_id = target["targetId"]
        .as_str()
        .ok_or_else(|| ScreenshotError::Cdp("Target.createTarget returned no targetId".into()))?
        .to_string();
    let attached = cdp.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target_id, "flatten": true}),
    )?;
    let session = attached["sessionId"]
        .as_str()
        .ok_or_else(|| ScreenshotError::Cdp("Target.attachToTarget returned no sessionId".into()))?
        .to_string();
    let s = Some(session.as_str());
    // Before navigating: no script of the page may run.
    cdp.call(s, "Emulation.setScriptExecutionDisabled", json!({"value": true}))?;
    cdp.call(s, "Page.enable", json!({}))?;
    let viewport_height = 800;
    cdp.call(
        s,
        "Emulation.setDeviceMetricsOverride",
        json!({"width": cfg.width, "height": viewport_height, "deviceScaleFactor": 1, "mobile": false}),
    )?;
    let nav = cdp.call(s, "Page.navigate", json!({"url": url.as_str()}))?;
    if let Some(e) = nav.get("errorText").and_then(Value::as_str) {
        return Err(page_err(format!("navigation failed: {e}")));
    }
    let loaded = cdp.wait_event(&session, "Page.loadEventFired", Instant::now() + cfg.load_timeout)?;

    let metrics = cdp.call(s, "Page.getLayoutMetrics", json!({}))?;
    let content_w = metric(&metrics, "cssContentSize", "width")
        .or_else(|| metric(&metrics, "contentSize", "width"))
        .unwrap_or(cfg.width as f64);
    let content_h = metric(&metrics, "cssContentSize", "height")
        .or_else(|| metric(&metrics, "contentSize", "height"))
        .unwrap_or(viewport_height as f64);
    let full_height = content_h.ceil().clamp(1.0, u32::MAX as f64) as u32;
    let width = (content_w.ceil() as u32).clamp(cfg.width, cfg.width.saturating_mul(4));
    let height = full_height.min(cfg.max_height);
    // Make the viewport as large as the page so fixed and viewport-relative content is laid
    // out once, over the whole page.
    cdp.call(
        s,
        "Emulation.setDeviceMetricsOverride",
        json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
    )?;
    let shot = cdp.call(
        s,
        "Page.captureScreenshot",
        json!({"format": "png", "captureBeyondViewport": true, "fromSurface": true,
               "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
    )?;
    let taken_at = warc_date(&Utc::now());
    let data = shot["data"]
        .as_str()
        .ok_or_else(|| page_err("Page.captureScreenshot returned no data".into()))?;
    if data.len() / 4 * 3 > cfg.max_png_bytes {
        return Err(ScreenshotError::TooLarge {
            url: url.to_string(),
            bytes: data.len() / 4 * 3,
            max: cfg.max_png_bytes,
        });
    }
    let png = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| page_err(format!("screenshot data is not base64: {e}")))?;
    let (w, h) = png_size(&png).ok_or_else(|| page_err("the browser returned something that is not a PNG".into()))?;
    let _ = cdp.call(None, "Target.closeTarget", json!({"targetId": target_id}));
    Ok(Screenshot {
        url: url.to_string(),
        sha256: hex::encode(Sha256::digest(&png)),
        png,
        width: w,
        height: h,
        taken_at,
        browser_version: browser_version.to_string(),
        loaded,
        full_height,
    })
}

/// Appends screenshots to one new `<prefix>-<time>-00001.warc.gz` in a WARC folder (opened
/// at the first shot): per shot a `resource` record (the PNG, `WARC-Target-URI` = page URL,
/// `WARC-Date` = capture time, sha256 digests) and a `metadata` record saying how it was taken.
pub struct ScreenshotWriter {
    out: WarcOutput,
}

impl ScreenshotWriter {
    /// `warcinfo_fields` is the `application/warc-fields` block of the file's warcinfo record.
    pub fn new(warc_dir: &Path, prefix: &str, warcinfo_fields: String) -> Result<Self, ScreenshotError> {
        Ok(Self {
            out: WarcOutput::new(warc_dir, prefix, &Utc::now(), 0, warcinfo_fields)?,
        })
    }

    /// Writes and fsyncs one screenshot's records; returns where the resource record landed.
    pub fn write(&mut self, shot: &Screenshot) -> Result<ScreenshotRecord, ScreenshotError> {
        self.out.prepare()?;
        let record_id = new_record_id();
        let written = self.out.write(&RecordSpec {
            warc_type: "resource",
            record_id: &record_id,
            date: &shot.taken_at,
            content_type: "image/png",
            extra: vec![
                ("WARC-Target-URI", shot.url.clone()),
                ("WARC-Payload-Digest", warc_digest(&shot.png)),
            ],
            block: &[&shot.png],
        })?;
        let about = format!(
            "software: {}\r\nwidth: {}\r\nheight: {}\r\npage-height: {}\r\n\
             javascript: disabled\r\nload-event: {}\r\n",
            shot.browser_version,
            shot.width,
            shot.height,
            shot.full_height,
            if shot.loaded {
                "fired"
            } else {
                "not fired before the timeout"
            },
        );
        let meta_id = new_record_id();
        self.out.write(&RecordSpec {
            warc_type: "metadata",
            record_id: &meta_id,
            date: &shot.taken_at,
            content_type: "application/warc-fields",
            extra: vec![
                ("WARC-Target-URI", shot.url.clone()),
                ("WARC-Refers-To", record_id.clone()),
            ],
            block: &[about.as_bytes()],
        })?;
        self.out.sync()?;
        Ok(ScreenshotRecord {
            warc_file: written.file_name,
            warc_offset: written.offset,
            record_id,
        })
    }
}

/// Writes screenshots to one new WARC file (see [`ScreenshotWriter`]).
pub fn write_warc(
    shots: &[Screenshot],
    warc_dir: &Path,
    prefix: &str,
    warcinfo_fields: String,
) -> Result<Vec<ScreenshotRecord>, ScreenshotError> {
    let mut w = ScreenshotWriter::new(warc_dir, prefix, warcinfo_fields)?;
    shots.iter().map(|s| w.write(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_size_reads_ihdr() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&1280u32.to_be_bytes());
        png.extend_from_slice(&4000u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((1280, 4000)));
        assert_eq!(png_size(b"GIF89a"), None);
    }
}
