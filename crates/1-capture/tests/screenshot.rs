//! Screenshots with the real headless Chromium against pages served on 127.0.0.1:
//! full-page height, JavaScript disabled, and the WARC records read back with warcio.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use url::Url;
use xiezhi_capture::screenshot::{self, ScreenshotConfig, Shooter};

const TALL: &str = r#"<!DOCTYPE html><html><body style="margin:0">
<div style="height:3000px;background:rgb(255,255,255)">top</div>
<div id="bottom" style="height:200px;background:rgb(255,0,0)"></div></body></html>"#;

const SCRIPTED: &str = r#"<!DOCTYPE html><html><body style="margin:0;background:rgb(0,0,255)">
<script>document.body.style.background = 'rgb(0,255,0)';</script><p>scripted</p></body></html>"#;

struct Site {
    _rt: tokio::runtime::Runtime,
    addr: SocketAddr,
}

fn serve() -> Site {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/tall.html", get(|| async { Html(TALL) }))
        .route("/scripted.html", get(|| async { Html(SCRIPTED) }));
    rt.spawn(async move { axum::serve(listener, app).await });
    Site { _rt: rt, addr }
}

fn browser() -> PathBuf {
    screenshot::find_browser().unwrap_or_else(|| panic!("{}", screenshot::INSTALL_HINT))
}

/// RGB of pixel (x, y) of an 8-bit RGB/RGBA PNG.
fn pixel(png: &[u8], x: u32, y: u32) -> [u8; 3] {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let channels = info.color_type.samples();
    let i = (y as usize * info.line_size) + x as usize * channels;
    [buf[i], buf[i + 1], buf[i + 2]]
}

fn warcio() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_default();
    let venv = Path::new(&home).join(".cache/xiezhi/venv/bin/warcio");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("warcio")
    }
}

#[test]
fn full_page_without_scripts_recorded_in_warc() {
    let site = serve();
    // One browser for both pages, as a scan does.
    let mut shooter = Shooter::new(ScreenshotConfig::new(browser()));

    let tall_url = Url::parse(&format!("http://{}/tall.html", site.addr)).expect("url");
    let tall = shooter.take(&tall_url).expect("screenshot of the tall page");
    assert!(tall.loaded);
    assert_eq!((tall.width, tall.height), (1280, 3200), "the PNG covers the whole page");
    assert_eq!(
        pixel(&tall.png, 640, 3100),
        [255, 0, 0],
        "the block below the first screen is there"
    );
    assert_eq!(pixel(&tall.png, 640, 10), [255, 255, 255]);
    assert_eq!(tall.sha256.len(), 64);

    let scripted_url = Url::parse(&format!("http://{}/scripted.html", site.addr)).expect("url");
    let scripted = shooter.take(&scripted_url).expect("screenshot of the scripted page");
    assert_eq!(
        pixel(&scripted.png, 640, 400),
        [0, 0, 255],
        "the page's script must not have run"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let records = screenshot::write_warc(
        &[tall.clone(), scripted.clone()],
        dir.path(),
        "screenshots",
        "software: xiezhi test\r\n".into(),
    )
    .expect("write WARC");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].warc_file, records[1].warc_file);
    let warc = dir.path().join(&records[0].warc_file);

    let check = Command::new(warcio())
        .arg("check")
        .arg("-v")
        .arg(&warc)
        .output()
        .expect("run warcio");
    assert!(
        check.status.success(),
        "warcio check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let index = Command::new(warcio())
        .args(["index", "-f", "warc-type,warc-target-uri,content-type,offset"])
        .arg(&warc)
        .output()
        .expect("run warcio index");
    assert!(index.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&index.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let resources: Vec<&serde_json::Value> = lines.iter().filter(|l| l["warc-type"] == "resource").collect();
    assert_eq!(resources.len(), 2);
    assert_eq!(resources[0]["warc-target-uri"], tall_url.as_str());
    assert_eq!(resources[0]["content-type"], "image/png");
    assert_eq!(resources[0]["offset"], records[0].warc_offset.to_string());
    assert_eq!(lines.iter().filter(|l| l["warc-type"] == "metadata").count(), 2);

    let payload = Command::new(warcio())
        .args(["extract", "--payload"])
        .arg(&warc)
        .arg(records[1].warc_offset.to_string())
        .output()
        .expect("run warcio extract");
    assert!(payload.status.success());
    assert_eq!(payload.stdout, scripted.png, "the record holds exactly the PNG");
}

#[test]
fn unreachable_page_is_a_clear_error() {
    // A port nobody listens on: navigation fails, the error names the URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let url = Url::parse(&format!("http://{addr}/gone.html")).expect("url");
    let err = screenshot::take(&url, &ScreenshotConfig::new(browser())).expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains(url.as_str()) && msg.contains("ERR_CONNECTION_REFUSED"),
        "{msg}"
    );
}
