//! A hostile web site served on 127.0.0.1, for testing that a crawl finishes in bounded
//! time and memory, reports every bad URL, and keeps every good page and image.
//!
//! | path | what it does |
//! |---|---|
//! | `/` | links everything below |
//! | `/good/N` (1..=5), `/img/good-N.png` | ordinary pages and real PNG images (must be kept) |
//! | `/loop/a` ↔ `/loop/b` | redirect loop |
//! | `/calendar?month=N` | infinite calendar: every month links the next and the previous |
//! | `/huge` | 2 GB body, generated while streaming, `Content-Length` announced |
//! | `/bomb` | gzip bomb: ~64 KB on the wire, 64 MB expanded, `Content-Encoding: gzip` |
//! | `/img/giant.png` | a PNG whose header claims 100000 × 100000 pixels |
//! | `/drip` | an HTML page sent 1 byte per second |
//! | `/nested` | 100,000 nested unclosed `<div>`s plus malformed markup |
//! | `/invalid-utf8` | HTML with invalid UTF-8 bytes (links still work) |
//! | `/lie/png-as-html` | PNG bytes served as `text/html` (linked from `<a>` and `<img>`) |
//! | `/lie/html-as-png` | an HTML page served as `image/png` (linked from `<a>`) |
//! | `/lie/html-img` | HTML served as `image/png` and referenced by `<img>`: not an image |
//! | `/status/404`, `/status/500`, `/status/429` | error statuses (429 with `Retry-After: 1`) |
//! | `/private/secret` | disallowed by `/robots.txt` |

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use bytes::Bytes;

/// Size of `/huge`.
pub const HUGE_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Expanded size of `/bomb`.
pub const BOMB_EXPANDED: usize = 64 * 1024 * 1024;
/// Good pages `/good/1..=GOOD_PAGES`, each with one image.
pub const GOOD_PAGES: usize = 5;

/// Paths that must end up as failures, with a word their reason must contain.
pub const BAD: &[(&str, &str)] = &[
    ("/loop/b", "redirect loop"),
    ("/huge", "larger than"),
    ("/bomb", "compression bomb"),
    ("/drip", "timeout"),
    ("/status/404", "HTTP 404"),
    ("/status/500", "HTTP 500"),
    ("/status/429", "HTTP 429"),
    ("/private/secret", "robots.txt"),
    ("/lie/html-img", "not an image"),
];

struct Site {
    bomb: Vec<u8>,
}

fn gzip_bomb() -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..BOMB_EXPANDED / zeros.len() {
        e.write_all(&zeros).expect("gzip to memory");
    }
    e.finish().expect("gzip to memory")
}

/// A valid 2×2 RGB PNG, varied by `seed` so that every good image has its own bytes.
pub fn png(seed: u8) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..2u8 {
        raw.push(0); // filter: none
        for x in 0..2u8 {
            raw.extend_from_slice(&[seed, x.wrapping_mul(90), y.wrapping_mul(120)]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("zlib to memory");
    let idat = z.finish().expect("zlib to memory");
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&2u32.to_be_bytes());
    ihdr.extend_from_slice(&2u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_file(&ihdr, &idat)
}

/// A PNG whose IHDR claims 100000 × 100000 RGBA pixels (40 GB decoded) over a tiny IDAT.
pub fn giant_png() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_file(&ihdr, &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1])
}

fn png_file(ihdr: &[u8], idat: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], ihdr), (b"IDAT", idat), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    out
}

fn respond(status: StatusCode, ct: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, ct)
        .body(body.into())
        .unwrap_or_default()
}

fn html(body: String) -> Response {
    respond(StatusCode::OK, "text/html; charset=utf-8", body)
}

fn redirect(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, to)
        .body(Body::empty())
        .unwrap_or_default()
}

fn index() -> String {
    let mut links = String::new();
    for n in 1..=GOOD_PAGES {
        links.push_str(&format!("<a href=\"/good/{n}\">good {n}</a>\n"));
    }
    for p in [
        "/loop/a",
        "/calendar?month=0",
        "/huge",
        "/bomb",
        "/drip",
        "/nested",
        "/invalid-utf8",
        "/lie/png-as-html",
        "/lie/html-as-png",
        "/status/404",
        "/status/500",
        "/status/429",
        "/private/secret",
    ] {
        links.push_str(&format!("<a href=\"{p}\">{p}</a>\n"));
    }
    format!(
        "<!doctype html><html><head><title>Hostile site</title></head><body>\n{links}\
         <img src=\"/img/giant.png\"><img src=\"/lie/png-as-html\"><img src=\"/lie/html-img\">\n</body></html>"
    )
}

async fn handle(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let path = uri.path();
    match path {
        "/" => html(index()),
        "/robots.txt" => respond(StatusCode::OK, "text/plain", "User-agent: *\nDisallow: /private/\n"),
        "/loop/a" => redirect("/loop/b"),
        "/loop/b" => redirect("/loop/a"),
        "/calendar" => {
            let m: i64 = uri
                .query()
                .and_then(|q| q.strip_prefix("month="))
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            html(format!(
                "<html><head><title>Calendar {m}</title></head><body>Month {m}\
                 <a href=\"/calendar?month={}\">next</a> <a href=\"/calendar?month={}\">previous</a></body></html>",
                m + 1,
                m - 1
            ))
        }
        "/huge" => {
            const CHUNK: usize = 64 * 1024;
            let chunk = Bytes::from(vec![b'a'; CHUNK]);
            let n = HUGE_BYTES / CHUNK as u64;
            let stream = futures_util::stream::iter((0..n).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html")
                .header(header::CONTENT_LENGTH, HUGE_BYTES)
                .body(Body::from_stream(stream))
                .unwrap_or_default()
        }
        "/bomb" => {
            let gz = &site.bomb;
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html")
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Body::from(gz.clone()))
                .unwrap_or_default()
        }
        "/img/giant.png" => respond(StatusCode::OK, "image/png", giant_png()),
        "/drip" => {
            let stream = futures_util::stream::unfold(0u32, |i| async move {
                if i > 0 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                (i < 3600).then(|| (Ok::<_, std::io::Error>(Bytes::from_static(b"<")), i + 1))
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html")
                .body(Body::from_stream(stream))
                .unwrap_or_default()
        }
        "/nested" => {
            let mut s = String::from("<html><head><title>Nested</title></head><body><p>deep <b><i>unclosed");
            s.push_str(&"<div>".repeat(100_000));
            s.push_str("<a href=\"/good/1\">x</a></table></td><tr>&bogus;<<>>");
            html(s)
        }
        "/invalid-utf8" => {
            let mut b = b"<html><head><title>Broken \xff\xfe bytes</title></head><body>caf\xe9 \xc3\x28 ".to_vec();
            b.extend_from_slice(b"<a href=\"/good/2\">ok</a><img src=\"/img/good-2.png\"></body></html>");
            respond(StatusCode::OK, "text/html; charset=utf-8", b)
        }
        "/lie/png-as-html" => respond(StatusCode::OK, "text/html", png(200)),
        "/lie/html-as-png" => respond(
            StatusCode::OK,
            "image/png",
            "<!doctype html><html><head><title>Not a PNG</title></head><body>I am a page \
             <a href=\"/good/3\">good</a></body></html>",
        ),
        "/lie/html-img" => respond(StatusCode::OK, "image/png", "<html><body>not an image</body></html>"),
        "/status/404" => respond(StatusCode::NOT_FOUND, "text/plain", "not found"),
        "/status/500" => respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "boom"),
        "/status/429" => Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header(header::RETRY_AFTER, "1")
            .body(Body::from("slow down"))
            .unwrap_or_default(),
        "/private/secret" => html("<html><body>secret</body></html>".into()),
        p => {
            if let Some(n) = p.strip_prefix("/good/").and_then(|n| n.parse::<u8>().ok()) {
                return html(format!(
                    "<html><head><title>Good page {n}</title></head><body><p>Good page number {n}.</p>\
                     <img src=\"/img/good-{n}.png\" alt=\"good {n}\"><a href=\"/\">home</a></body></html>"
                ));
            }
            if let Some(n) = p
                .strip_prefix("/img/good-")
                .and_then(|r| r.strip_suffix(".png"))
                .and_then(|n| n.parse::<u8>().ok())
            {
                return respond(StatusCode::OK, "image/png", png(n));
            }
            respond(StatusCode::NOT_FOUND, "text/plain", "not found")
        }
    }
}

/// Serves the site on `addr` (port 0 picks one); returns the bound address.
pub async fn serve(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    // Made before serving so that no request waits for it.
    let bomb = tokio::task::spawn_blocking(gzip_bomb)
        .await
        .map_err(std::io::Error::other)?;
    let app = Router::new().fallback(handle).with_state(Arc::new(Site { bomb }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
