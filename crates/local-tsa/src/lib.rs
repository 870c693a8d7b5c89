//! A local RFC 3161 timestamp authority for demos and tests.
//!
//! It wraps `openssl ts -reply` behind a tiny HTTP endpoint on 127.0.0.1.
//! The root CA it creates is a throw-away test root: tokens it issues prove
//! nothing to a third party, and every name it mints says "NOT TRUSTED".

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::process::Command;
use tokio::sync::{oneshot, Mutex};
use tokio::task::JoinHandle;

/// Errors raised while preparing or running the local TSA.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("`openssl` was not found on PATH; the local test TSA needs the OpenSSL command-line tool")]
    OpensslMissing,
    #[error("`openssl {step}` failed ({status}): {stderr}")]
    Openssl {
        step: String,
        status: String,
        stderr: String,
    },
    #[error("local TSA I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, TsaError>;

/// Policy OID from a private arc; any OID works for a test authority.
pub const TEST_POLICY_OID: &str = "1.3.6.1.4.1.99999.1.1";

const TSA_EXT_CNF: &str = "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
extendedKeyUsage=critical,timeStamping
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
";

/// How the test authority signs. The default is RSA-3072 with ESSCertIDv2 and whole-second
/// genTime; the other settings reproduce what real TSAs also send, so verifiers get tested on them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsaProfile {
    /// ECDSA P-256 keys (root and TSA) instead of RSA-3072.
    pub ec_p256: bool,
    /// Digits of fractional seconds in genTime (OpenSSL `clock_precision_digits`, 0..=6).
    pub clock_precision_digits: u8,
    /// Identify the signer with the older ESSCertID (SHA-1) instead of ESSCertIDv2.
    pub ess_cert_id_v1: bool,
}

// Paths are relative: openssl always runs with the workdir as its cwd, which
// avoids quoting issues with `$` or spaces in absolute paths in the config.
fn tsa_cnf(p: &TsaProfile) -> String {
    let ess = if p.ess_cert_id_v1 { "sha1" } else { "sha256" };
    let digits = p.clock_precision_digits.min(6);
    format!(
        "[tsa]
default_tsa = tsa_config1

[tsa_config1]
serial = tsaserial
signer_cert = tsa.crt
certs = ca.crt
signer_key = tsa.key
signer_digest = sha256
default_policy = {TEST_POLICY_OID}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = {digits}
ordering = yes
tsa_name = yes
ess_cert_id_alg = {ess}
"
    )
}

struct Inner {
    dir: PathBuf,
    // `openssl ts -reply` reads and rewrites the shared serial file.
    lock: Mutex<()>,
}

/// A running local TSA. Stops serving when dropped.
pub struct LocalTsa {
    addr: SocketAddr,
    dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LocalTsa {
    /// Create (or reuse) the test PKI in `workdir` and serve on an ephemeral
    /// 127.0.0.1 port.
    pub async fn start(workdir: &Path) -> Result<LocalTsa> {
        Self::start_with(workdir, &TsaProfile::default()).await
    }

    /// Like [`LocalTsa::start`] with a chosen profile. A workdir keeps the key type it
    /// was created with: use one workdir per profile.
    pub async fn start_with(workdir: &Path, profile: &TsaProfile) -> Result<LocalTsa> {
        std::fs::create_dir_all(workdir).map_err(|e| io_err(workdir, e))?;
        let dir = std::fs::canonicalize(workdir).map_err(|e| io_err(workdir, e))?;
        ensure_pki(&dir, profile).await?;

        let inner = Arc::new(Inner {
            dir: dir.clone(),
            lock: Mutex::new(()),
        });
        let app = Router::new()
            .route("/", post(handle))
            .route("/tsa", post(handle))
            .with_state(inner);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| io_err(Path::new("127.0.0.1:0"), e))?;
        let addr = listener.local_addr().map_err(|e| io_err(Path::new("127.0.0.1:0"), e))?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(LocalTsa {
            addr,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The URL to POST `application/timestamp-query` bodies to.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The self-signed test root (use as `-CAfile` with `openssl ts -verify`).
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// TSA certificate followed by the root, PEM.
    pub fn chain_pem_path(&self) -> PathBuf {
        self.dir.join("chain.pem")
    }

    /// The OpenSSL TSA configuration (for `openssl ts -reply -config`).
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("tsa.cnf")
    }

    /// The directory holding keys, certificates and the config.
    pub fn workdir(&self) -> &Path {
        &self.dir
    }

    /// Stop serving and wait for the server task to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LocalTsa {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn io_err(path: &Path, source: std::io::Error) -> TsaError {
    TsaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

async fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                TsaError::OpensslMissing
            } else {
                io_err(Path::new("openssl"), e)
            }
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TsaError::Openssl {
            step: args.iter().take(2).copied().collect::<Vec<_>>().join(" "),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

async fn write(dir: &Path, name: &str, contents: &[u8]) -> Result<()> {
    let p = dir.join(name);
    tokio::fs::write(&p, contents).await.map_err(|e| io_err(&p, e))
}

async fn ensure_pki(dir: &Path, profile: &TsaProfile) -> Result<()> {
    let have = |n: &str| dir.join(n).is_file();
    let (newkey, pkeyopt) = if profile.ec_p256 {
        ("ec", "ec_paramgen_curve:P-256")
    } else {
        ("rsa", "rsa_keygen_bits:3072")
    };
    if !(have("ca.key") && have("ca.crt")) {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                newkey,
                "-pkeyopt",
                pkeyopt,
                "-nodes",
                "-sha256",
                "-days",
                "3650",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=Xiezhi Local Test Root (NOT TRUSTED)",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )
        .await?;
        // A new root invalidates any TSA certificate issued by an old one.
        let _ = std::fs::remove_file(dir.join("tsa.crt"));
    }
    if !(have("tsa.key") && have("tsa.crt")) {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                newkey,
                "-pkeyopt",
                pkeyopt,
                "-nodes",
                "-sha256",
                "-keyout",
                "tsa.key",
                "-out",
                "tsa.csr",
                "-subj",
                "/CN=Xiezhi Local Test TSA (NOT TRUSTED)",
            ],
        )
        .await?;
        write(dir, "tsa_ext.cnf", TSA_EXT_CNF.as_bytes()).await?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "3650",
                "-sha256",
                "-extfile",
                "tsa_ext.cnf",
                "-out",
                "tsa.crt",
            ],
        )
        .await?;
    }
    if !have("tsaserial") {
        write(dir, "tsaserial", b"01\n").await?;
    }
    write(dir, "tsa.cnf", tsa_cnf(profile).as_bytes()).await?;
    let read = |n: &str| std::fs::read(dir.join(n)).map_err(|e| io_err(&dir.join(n), e));
    let mut chain = read("tsa.crt")?;
    chain.extend_from_slice(&read("ca.crt")?);
    write(dir, "chain.pem", &chain).await?;
    Ok(())
}

async fn handle(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    match reply(&inner, &body).await {
        Ok(der) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/timestamp-reply")],
            der,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn reply(inner: &Inner, query: &[u8]) -> Result<Vec<u8>> {
    let _guard = inner.lock.lock().await;
    let q = tempfile::Builder::new()
        .prefix("q-")
        .suffix(".tsq")
        .tempfile_in(&inner.dir)
        .map_err(|e| io_err(&inner.dir, e))?;
    std::fs::write(q.path(), query).map_err(|e| io_err(q.path(), e))?;
    let r = tempfile::Builder::new()
        .prefix("r-")
        .suffix(".tsr")
        .tempfile_in(&inner.dir)
        .map_err(|e| io_err(&inner.dir, e))?;
    let qp = q.path().to_string_lossy().into_owned();
    let rp = r.path().to_string_lossy().into_owned();
    openssl(
        &inner.dir,
        &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", &qp, "-out", &rp],
    )
    .await?;
    std::fs::read(r.path()).map_err(|e| io_err(r.path(), e))
}
