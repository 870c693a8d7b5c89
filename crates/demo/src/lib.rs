//! Xiezhi's bundled demo site.
//!
//! A small fake "community prints" website served on 127.0.0.1. Some of its
//! images are edited copies of the demo references (the "client's artworks"),
//! generated deterministically at start; the rest are unrelated distractors.
//! `xiezhi demo` writes the references into a case, crawls this site and
//! should rank the [`Planted`] copies above the distractors.
//!
//! All images are real photos and clip art from Debian packages under
//! public-domain/CC0 terms; see `assets/SOURCES.md`.

mod catalog;
mod edits;
mod pages;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Errors from building or serving the demo site.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot generate demo image {name}: {source}")]
    Image {
        name: String,
        #[source]
        source: image::ImageError,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("demo catalog refers to unknown asset {0}")]
    UnknownAsset(&'static str),
    #[error("demo site build task failed: {0}")]
    Task(String),
}

/// One planted copy: the ground truth the demo checks the pipeline against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planted {
    /// File name of the reference it was derived from, as written by [`write_references`].
    pub reference: &'static str,
    /// URL path of the copy, e.g. `/img/gallery/tabby-mirror.jpg`.
    pub asset_path: String,
    /// URL path of the page whose HTML shows it.
    pub page_path: String,
    /// What was done to it: `exact`, `png-reencode`, `webp-lossless`, `crop-60`,
    /// `crop-35`, `mirror`, `hue-rotate-90`, `channel-swap`, `downscale-25`,
    /// `jpeg-q25`, `paste-30`, `crop-mirror-recolour`.
    pub edit: &'static str,
}

/// The ground truth without starting a server (it does not depend on the port).
pub fn planted_catalog() -> Vec<Planted> {
    catalog::PLANTS
        .iter()
        .map(|p| Planted {
            reference: p.reference,
            asset_path: p.asset_path.to_string(),
            page_path: p.page_path.to_string(),
            edit: p.edit_name,
        })
        .collect()
}

/// File names of all references, including the one planted nowhere.
pub fn reference_names() -> Vec<&'static str> {
    catalog::REFERENCES.iter().map(|r| r.name).collect()
}

/// URL paths of the unrelated images on the site.
pub fn distractor_paths() -> Vec<String> {
    catalog::DISTRACTOR_ROUTES
        .iter()
        .map(|(path, _)| (*path).to_string())
        .collect()
}

/// URL paths of the site's HTML pages (the index is `/`).
pub fn page_paths() -> Vec<String> {
    catalog::PAGES.iter().map(|p| (*p).to_string()).collect()
}

/// Writes the reference originals (the client's material) into `dir`,
/// creating it if needed, and returns the written paths in catalog order.
pub fn write_references(dir: &Path) -> Result<Vec<PathBuf>, DemoError> {
    std::fs::create_dir_all(dir).map_err(|source| DemoError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    catalog::REFERENCES
        .iter()
        .map(|r| {
            let path = dir.join(r.name);
            std::fs::write(&path, r.bytes).map_err(|source| DemoError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(path)
        })
        .collect()
}

/// URL path → (content type, body).
type Files = HashMap<String, (&'static str, Bytes)>;

/// The running demo site. Dropping it stops the server too; prefer
/// [`DemoSite::shutdown`], which also waits for it to finish.
pub struct DemoSite {
    addr: SocketAddr,
    planted: Vec<Planted>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl DemoSite {
    /// Starts the site on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Result<DemoSite, DemoError> {
        Self::start_on(0).await
    }

    /// Starts the site on `port` of 127.0.0.1 (0 picks a free one).
    pub async fn start_on(port: u16) -> Result<DemoSite, DemoError> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| DemoError::Bind { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DemoError::Bind { port, source })?;
        let base = base_url_of(addr);
        // Image encoding is CPU-bound: keep it off the async workers.
        let files = tokio::task::spawn_blocking(move || build_files(&base))
            .await
            .map_err(|e| DemoError::Task(e.to_string()))??;

        let app = Router::new().fallback(serve).with_state(Arc::new(files));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // A dropped sender also resolves `stopped`, so Drop stops the server.
            let shutdown = async {
                let _ = stopped.await;
            };
            // Serving errors after bind cannot be reported anywhere useful; the
            // demo's crawl would fail visibly instead.
            let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
        });
        Ok(DemoSite {
            addr,
            planted: planted_catalog(),
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT/`
    pub fn base_url(&self) -> String {
        base_url_of(self.addr)
    }

    /// The socket the site listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Ground truth: every planted copy and the page that shows it.
    pub fn planted(&self) -> &[Planted] {
        &self.planted
    }

    /// Stops the server and waits (briefly) for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // Graceful shutdown waits for open connections; a client holding a
            // keep-alive connection must not hang the caller.
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for DemoSite {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn base_url_of(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}

/// Builds every response body once: pages (which embed `base` in their
/// absolute links), the untouched distractors and the generated copies.
fn build_files(base: &str) -> Result<Files, DemoError> {
    let mut files = Files::new();
    let mut put = |path: &str, body: Bytes| {
        files.insert(path.to_string(), (catalog::content_type(path), body));
    };

    for (path, html) in pages::all(base) {
        put(path, Bytes::from(html));
    }
    put("/robots.txt", Bytes::from_static(pages::ROBOTS_TXT.as_bytes()));
    put("/static/site.css", Bytes::from_static(pages::SITE_CSS.as_bytes()));

    for (path, name) in catalog::DISTRACTOR_ROUTES {
        let d = catalog::distractor(name).ok_or(DemoError::UnknownAsset(name))?;
        put(path, Bytes::from_static(d.bytes));
    }

    let mut decoded: HashMap<&'static str, image::DynamicImage> = HashMap::new();
    for plant in catalog::PLANTS {
        let reference = catalog::reference(plant.reference).ok_or(DemoError::UnknownAsset(plant.reference))?;
        if !decoded.contains_key(plant.reference) {
            let img = decode(plant.reference, reference.bytes)?;
            decoded.insert(plant.reference, img);
        }
        let img = decoded
            .get(plant.reference)
            .ok_or(DemoError::UnknownAsset(plant.reference))?;
        let host = match plant.edit {
            catalog::Edit::PasteInto { host, .. } => {
                let h = catalog::distractor(host).ok_or(DemoError::UnknownAsset(host))?;
                Some(decode(host, h.bytes)?)
            }
            _ => None,
        };
        let bytes =
            edits::apply(plant.edit, reference.bytes, img, host.as_ref()).map_err(|source| DemoError::Image {
                name: plant.asset_path.to_string(),
                source,
            })?;
        put(plant.asset_path, Bytes::from(bytes));
    }
    Ok(files)
}

fn decode(name: &str, bytes: &[u8]) -> Result<image::DynamicImage, DemoError> {
    image::load_from_memory(bytes).map_err(|source| DemoError::Image {
        name: name.to_string(),
        source,
    })
}

async fn serve(State(files): State<Arc<Files>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    match files.get(uri.path()) {
        Some((content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type)], Body::from(body.clone())).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "404 not found\n",
        )
            .into_response(),
    }
}
