//! End to end in the real webview: Xvfb + `tauri-driver` + Debian's WebKitWebDriver drive
//! the real `xiezhi-desktop` binary against the bundled demo site on 127.0.0.1 (plus a
//! hostile page served here): create a case, add references (a folder by path, a sprite
//! sheet through the native GTK file dialog answered with `xdotool`), crawl, pause and
//! resume the crawl, cancel a scan and scan again, see the planted copies ranked on top,
//! filter and confirm, search, export, show the bundle's folder, verify — with a PNG
//! screenshot of each screen under `<target>/e2e-screens/`. The hostile page carries
//! `<script>` and `onerror=` payloads (in markup and as text); the test proves none ran.
//!
//! "Show in folder" goes through the real `xdg-open`; the test registers, in its own
//! XDG dirs, a desktop entry that records the folder it is asked to open in place of a
//! file manager (Xvfb has none), and checks it is the case's exports folder.
//!
//! The driver stack is installed by `./run test`. When it is missing the test FAILS (it
//! never skips silently); outside CI, `XIEZHI_SKIP_DESKTOP_E2E=1` skips it on purpose.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const TITLE: &str = "Xiezhi";
const MARKER: &str = "zebrafinch";

/// Processes started by the test, killed (by pid) when it ends, pass or fail.
struct Kill(Vec<Child>);
impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn find_tool(env: &str, name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().cloned())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn target_dir() -> PathBuf {
    // <target>/debug/deps/e2e-… → <target>
    let exe = std::env::current_exe().expect("test exe");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

/// The hostile page: script and onerror payloads in markup, in its title and as text, and
/// an exact copy of a reference so that it becomes a finding the reviewer opens.
async fn serve_hostile(copy: Vec<u8>) -> String {
    use axum::routing::get;
    let page = format!(
        r#"<!doctype html><html><head><title>Hostile &lt;img src=x onerror="document.title='PWNED-title'"&gt; {MARKER} shop</title>
<script>window.__xz_pwned = 'script'; document.title = 'PWNED-script';</script></head>
<body onload="document.title='PWNED-onload'"><h1>Payload page {MARKER}</h1>
<p>{MARKER} &lt;img src=x onerror="window.__xz_pwned='snippet'; document.title='PWNED-snippet'"&gt; &lt;script&gt;document.title='PWNED-text'&lt;/script&gt;</p>
<img src="/missing.png" onerror="window.__xz_pwned='onerror'; document.title='PWNED-onerror'">
<img src="/copy.png" alt="copy"></body></html>"#
    );
    let app = axum::Router::new()
        .route(
            "/",
            get(move || {
                let page = page.clone();
                async move { ([("content-type", "text/html; charset=utf-8")], page) }
            }),
        )
        .route(
            "/copy.png",
            get(move || {
                let copy = copy.clone();
                async move { ([("content-type", "image/png")], copy) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

/// Every WebDriver call is bounded: a hung webview fails the test instead of stalling CI.
async fn bounded<T, E: std::fmt::Display>(what: &str, f: impl std::future::Future<Output = Result<T, E>>) -> T {
    match tokio::time::timeout(Duration::from_secs(60), f).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer from the webview within 60 s"),
    }
}

struct Ui {
    c: Client,
    shots: PathBuf,
    n: usize,
}

impl Ui {
    async fn shot(&mut self, name: &str) {
        self.n += 1;
        // Let the webview paint the last change before capturing it.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = bounded("screenshot", self.c.screenshot()).await;
        let path = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot {}", path.display());
    }

    async fn wait(&mut self, css: &str, secs: u64) -> Element {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Ok(e)) = tokio::time::timeout(Duration::from_secs(30), self.c.find(Locator::Css(css))).await {
                return e;
            }
            if Instant::now() > deadline {
                self.fail(&format!("{css} did not appear within {secs} s")).await;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn fail(&mut self, why: &str) -> ! {
        if let Ok(Ok(png)) = tokio::time::timeout(Duration::from_secs(20), self.c.screenshot()).await {
            let _ = std::fs::write(self.shots.join("FAILED.png"), png);
        }
        let toasts = match tokio::time::timeout(Duration::from_secs(20), self.c.find(Locator::Css("#toasts"))).await {
            Ok(Ok(t)) => t.text().await.unwrap_or_default(),
            _ => String::new(),
        };
        panic!("{why}; messages on screen: {toasts:?}");
    }

    async fn click(&mut self, css: &str) {
        let e = self.wait(css, 20).await;
        eprintln!("e2e: click {css}");
        bounded(&format!("click {css}"), e.click()).await;
    }

    async fn text(&mut self, css: &str) -> String {
        let e = self.wait(css, 20).await;
        bounded(&format!("text of {css}"), e.text()).await
    }

    async fn set(&mut self, css: &str, value: &str) {
        let e = self.wait(css, 20).await;
        bounded(&format!("clear {css}"), e.clear()).await;
        bounded(&format!("type into {css}"), e.send_keys(value)).await;
    }

    /// Nothing from a captured page ran: the title is ours and no payload flag is set.
    async fn assert_no_payload_ran(&mut self, after: &str) {
        let v = self.js("return [document.title, String(window.__xz_pwned)];").await;
        assert_eq!(v, json!([TITLE, "undefined"]), "a captured payload ran after {after}");
    }

    /// A key press as a person types it: sent to whatever has the focus.
    async fn key(&mut self, key: &str) {
        eprintln!("e2e: key {key}");
        let e = bounded("active element", self.c.active_element()).await;
        bounded(&format!("key {key}"), e.send_keys(key)).await;
    }

    async fn js(&mut self, script: &str) -> serde_json::Value {
        bounded("execute", self.c.execute(script, vec![])).await
    }

    /// Wait until `css` matches exactly `n` elements; returns n.
    async fn wait_count(&mut self, css: &str, n: usize, secs: u64) -> usize {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.count(css).await;
            if got == n {
                return got;
            }
            if Instant::now() > deadline {
                self.fail(&format!("{css}: {got} elements, expected {n}")).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn count(&mut self, css: &str) -> usize {
        bounded("find all", self.c.find_all(Locator::Css(css))).await.len()
    }

    /// Wait until the progress panel shows `job` with at least `done` units done.
    async fn wait_progress(&mut self, job: &str, done: u64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let script = format!(
            "const h = document.querySelector('#job-progress .progress-head'); if (!h) return -1; \
             const t = h.textContent; if (!t.startsWith('{job}:')) return -1; \
             const m = /(\\d+) (done|\\/)/.exec(t); return m ? Number(m[1]) : -1;"
        );
        loop {
            let n = self.js(&script).await.as_i64().unwrap_or(-1);
            if n >= done as i64 {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!("{job} did not report {done} units done within {secs} s"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Choose an option of a `<select>` as a person does (the change event fires).
    async fn select(&mut self, css: &str, value: &str) {
        let e = self.wait(css, 20).await;
        eprintln!("e2e: select {value} in {css}");
        bounded(&format!("select {value} in {css}"), e.select_by_value(value)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Call an app command over the real IPC from the page, as the UI would:
    /// `{ "ok": value }` or `{ "error": message }`.
    async fn invoke(&mut self, cmd: &str, args: serde_json::Value) -> serde_json::Value {
        let script = "const [cmd, args, done] = arguments; \
            window.__TAURI_INTERNALS__.invoke(cmd, args).then(v => done({ ok: v ?? null }), e => done({ error: String(e) }));";
        bounded(
            &format!("invoke {cmd}"),
            self.c.execute_async(script, vec![json!(cmd), args]),
        )
        .await
    }

    async fn goto(&mut self, screen: &str) {
        self.click(&format!("#nav-{screen}")).await;
        self.wait(&format!("#screen-{screen}"), 20).await;
    }
}

fn driver_stack() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache"));
    let tauri_driver = find_tool(
        "TAURI_DRIVER",
        "tauri-driver",
        &[cache.join("xiezhi/tools/bin"), home.join(".cargo/bin")],
    )
    .ok_or("tauri-driver not found (./run test installs it under ~/.cache/xiezhi/tools)")?;
    let native = find_tool("WEBKIT_WEBDRIVER", "WebKitWebDriver", &[PathBuf::from("/usr/bin")])
        .ok_or("WebKitWebDriver not found (Debian package webkit2gtk-driver)")?;
    let xvfb = find_tool("XVFB", "Xvfb", &[PathBuf::from("/usr/bin")]).ok_or("Xvfb not found (Debian package xvfb)")?;
    find_tool("XDOTOOL", "xdotool", &[PathBuf::from("/usr/bin")])
        .ok_or("xdotool not found (Debian package xdotool)")?;
    find_tool("XDG_OPEN", "xdg-open", &[PathBuf::from("/usr/bin")])
        .ok_or("xdg-open not found (Debian package xdg-utils)")?;
    Ok((tauri_driver, native, xvfb))
}

/// The desktop's folder opener for the app under test: `xdg-open` finds this entry through
/// the test's XDG dirs and runs it; it appends the folder it was given to `opened`.
fn register_folder_opener(data: &Path, config: &Path, opened: &Path) {
    let script = data.join("record-open");
    std::fs::create_dir_all(data.join("applications")).expect("applications dir");
    std::fs::create_dir_all(config).expect("config dir");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\n", opened.display()),
    )
    .expect("opener script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::write(
        data.join("applications/xiezhi-e2e-folder-opener.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Folder opener (e2e)\nExec={} %f\nMimeType=inode/directory;\nNoDisplay=true\n",
            script.display()
        ),
    )
    .expect("desktop entry");
    std::fs::write(
        config.join("mimeapps.list"),
        "[Default Applications]\ninode/directory=xiezhi-e2e-folder-opener.desktop\n",
    )
    .expect("mimeapps.list");
}

/// Answer the app's native GTK file dialog titled `title` as a person would: focus it,
/// open the location field (Ctrl+L), type `path`, press Enter.
fn answer_file_dialog(display: &str, title: &str, path: &Path) {
    let xdotool = |args: &[&str]| -> String {
        let out = Command::new("timeout")
            .arg("30")
            .arg("xdotool")
            .args(args)
            .env("DISPLAY", display)
            .output()
            .expect("run xdotool");
        assert!(
            out.status.success(),
            "xdotool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let found = xdotool(&["search", "--sync", "--onlyvisible", "--name", title]);
    let win = found.lines().last().expect("the file dialog window").trim().to_string();
    xdotool(&["windowfocus", "--sync", &win]);
    std::thread::sleep(Duration::from_millis(500));
    xdotool(&["key", "--clearmodifiers", "ctrl+l"]);
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["type", "--delay", "15", &path.to_string_lossy()]);
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["key", "Return"]);
}

fn start_xvfb(xvfb: &Path) -> (Child, String) {
    for n in 0..50u32 {
        let display = 90 + (std::process::id() % 400) + n;
        if Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
            || Path::new(&format!("/tmp/.X{display}-lock")).exists()
        {
            continue;
        }
        let mut child = Command::new(xvfb)
            .args([
                format!(":{display}").as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{display}")).exists() {
                return (child, format!(":{display}"));
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("could not start Xvfb on a free display");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_app_end_to_end_in_the_real_webview() {
    let started = Instant::now();
    let (tauri_driver, native, xvfb) = match driver_stack() {
        Ok(s) => s,
        Err(why) if std::env::var_os("CI").is_none() && std::env::var_os("XIEZHI_SKIP_DESKTOP_E2E").is_some() => {
            eprintln!("skipped on request (XIEZHI_SKIP_DESKTOP_E2E): {why}");
            return;
        }
        Err(why) => panic!("desktop e2e: the driver stack is missing: {why}"),
    };
    let app = PathBuf::from(env!("CARGO_BIN_EXE_xiezhi-desktop"));
    let work = tempfile::tempdir().expect("tempdir");
    let shots = target_dir().join("e2e-screens");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("screens dir");

    // The reference the hostile page copies: the demo writes the same files the app will.
    let refs = xiezhi_demo::write_references(&work.path().join("refs")).expect("demo references");
    let copy_of = refs.first().expect("a reference").clone();
    let hostile = serve_hostile(std::fs::read(&copy_of).expect("read reference")).await;

    let opened = work.path().join("opened-folders.txt");
    register_folder_opener(&work.path().join("data"), &work.path().join("config"), &opened);
    let (xvfb_child, display) = start_xvfb(&xvfb);
    let port = free_port();
    let native_port = free_port();
    let driver = Command::new(&tauri_driver)
        .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
        .arg("--native-driver")
        .arg(&native)
        .env("DISPLAY", &display)
        .env("XDG_DATA_HOME", work.path().join("data"))
        .env("XDG_CONFIG_HOME", work.path().join("config"))
        .env("TMPDIR", work.path())
        // xdg-open must take its generic path (the test's mimeapps.list), not a desktop's.
        .env_remove("XDG_CURRENT_DESKTOP")
        .env_remove("DESKTOP_SESSION")
        .env_remove("BROWSER")
        // The GTK file dialog saves its settings; without a session bus keep them in memory.
        .env("GSETTINGS_BACKEND", "memory")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tauri-driver");
    let _procs = Kill(vec![driver, xvfb_child]);

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert("tauri:options".into(), json!({ "application": app }));
    let deadline = Instant::now() + Duration::from_secs(30);
    let c = loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => panic!("cannot start a WebDriver session with the app: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    };
    let mut ui = Ui {
        c,
        shots: shots.clone(),
        n: 0,
    };

    // Cases: start the demo, create the case the form suggests.
    ui.wait("#screen-cases", 60).await;
    ui.click("#demo-start").await;
    let site = ui.text("#demo-site").await;
    assert!(site.starts_with("http://127.0.0.1:"), "demo site {site}");
    ui.shot("cases-with-demo").await;
    ui.click("#case-create").await;
    ui.wait("#screen-dashboard", 30).await;

    // References: add the demo's folder (prefilled), see every thumbnail.
    ui.goto("references").await;
    ui.click("#refs-add").await;
    let mut want_refs = xiezhi_demo::reference_names().len();
    ui.wait_count("#refs-grid img", want_refs, 60).await;
    // A real sprite sheet (Hedgewars, 9 balls), chosen in the native file dialog.
    let sheet = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/2-fingerprint/tests/sprites/hedgewars-balls.png");
    let sheet = sheet.canonicalize().expect("sprite sheet fixture");
    ui.click("#refs-pick-files").await;
    {
        let (display, sheet) = (display.clone(), sheet.clone());
        tokio::task::spawn_blocking(move || answer_file_dialog(&display, "Add reference images", &sheet))
            .await
            .expect("dialog answered");
    }
    want_refs += 1;
    ui.wait_count("#refs-grid img", want_refs, 60).await;
    let sprite_boxes = ui
        .wait_count("#refs-grid figure[title$='hedgewars-balls.png'] .region.sprite", 9, 30)
        .await;
    assert_eq!(sprite_boxes, 9, "the ball sheet is shown split into its 9 sprites");
    let note = ui
        .text("#refs-grid figure[title$='hedgewars-balls.png'] .sprite-note")
        .await;
    assert!(note.contains("9 sprites"), "{note}");
    // Thumbnails really loaded through xzblob:// (a refused blob would leave naturalWidth 0).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loaded = ui
        .js("return Array.from(document.querySelectorAll('#refs-grid img')).filter(i => i.complete && i.naturalWidth > 0).length;")
        .await;
    assert_eq!(
        loaded,
        json!(want_refs),
        "reference thumbnails decoded from the xzblob protocol"
    );
    ui.click("#refs-grid figure[title$='hedgewars-balls.png'] button.link")
        .await;
    ui.wait_count("#sprite-sheet .region.sprite", 9, 20).await;
    ui.wait_count("#sprite-boxes tbody tr", 9, 5).await;
    ui.shot("references-sprite-sheet-split").await;

    // Targets: crawl the demo site and the hostile page at 4 requests/s per host (slow
    // enough to pause), pause it, then resume the same crawl to its end.
    ui.goto("targets").await;
    ui.set("#crawl-urls", &format!("{site} {hostile}")).await;
    ui.set("#crawl-rate", "4").await;
    ui.click("#crawl-start").await;
    ui.wait("#crawl-pause", 20).await;
    ui.wait_progress("crawl", 1, 30).await;
    ui.shot("targets-crawling").await;
    ui.click("#crawl-pause").await;
    ui.wait("#crawl-paused", 60).await;
    let paused = ui.text("#crawl-paused").await;
    let crawl_id = ui.text("#crawl-resume").await;
    assert!(paused.contains("paused"), "{paused}");
    ui.wait("#crawl-history .badge.open", 10).await;
    ui.shot("targets-paused").await;
    ui.click("#crawl-resume").await;
    ui.wait("#crawl-done", 180).await;
    let crawled = ui.text("#crawl-done").await;
    assert!(
        crawled.contains("(resumed)"),
        "the same crawl continued ({crawl_id}): {crawled}"
    );
    assert!(!crawled.contains(" 0 pages"), "{crawled}");
    let crawls = ui
        .js("return document.querySelectorAll('#crawl-history details').length;")
        .await;
    assert_eq!(crawls, json!(1), "resuming made no second crawl");

    // Scan: cancel it once it fingerprinted something, then scan again to the end.
    ui.click("#scan-start").await;
    ui.wait_progress("scan", 1, 120).await;
    ui.click("#scan-cancel").await;
    ui.wait("#scan-cancelled", 120).await;
    ui.shot("targets-scan-cancelled").await;
    ui.click("#scan-start").await;
    ui.wait("#scan-done", 600).await;
    let scanned = ui.text("#scan-done").await;
    assert!(
        !scanned.contains("(0 fingerprints reused)"),
        "the second scan reused the first one's work: {scanned}"
    );
    ui.shot("targets-scanned").await;

    // Findings: the planted copies are ranked on top.
    ui.click("#goto-findings").await;
    ui.wait("#findings-list li.finding", 30).await;
    ui.wait("#finding-detail", 30).await;
    let rows: Vec<(String, f64)> = serde_json::from_value(
        ui.js("return Array.from(document.querySelectorAll('#findings-list li.finding')).map(li => [li.querySelector('.mono').textContent, Number(li.querySelector('.score').textContent)]);")
            .await,
    )
    .expect("rows");
    let base = site.trim_end_matches('/');
    let planted: Vec<String> = xiezhi_demo::planted_catalog()
        .iter()
        .map(|p| format!("{base}{}", p.asset_path))
        .collect();
    for p in &planted {
        assert!(
            rows.iter().any(|(u, s)| u == p && *s >= 0.5),
            "planted copy {p} not listed with score ≥ 0.5: {rows:?}"
        );
    }
    let hostile_copy = format!("{hostile}copy.png");
    let lowest_planted = rows
        .iter()
        .filter(|(u, _)| planted.contains(u))
        .map(|r| r.1)
        .fold(f64::MAX, f64::min);
    let best_unrelated = rows
        .iter()
        .filter(|(u, _)| !planted.contains(u) && *u != hostile_copy)
        .map(|r| r.1)
        .fold(0.0, f64::max);
    assert!(
        lowest_planted > best_unrelated,
        "planted {lowest_planted} vs unrelated {best_unrelated}: {rows:?}"
    );
    assert!(
        rows.windows(2).all(|w| w[0].1 >= w[1].1),
        "not sorted best first: {rows:?}"
    );
    ui.shot("findings").await;

    // Confirm the top finding with the button, then the keyboard: j moves, c confirms.
    ui.click("#review-confirm").await;
    ui.wait("#findings-list li.finding.selected .badge.confirmed", 20).await;
    let first = ui.text("#finding-detail h2").await;
    ui.key("j").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ui.text("#finding-detail h2").await == first {
        if Instant::now() > deadline {
            ui.fail("j did not move to the next finding").await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ui.key("c").await;
    ui.wait("#findings-list li.finding.selected .badge.confirmed", 20).await;
    ui.shot("finding-confirmed").await;
    ui.click("#mode-overlay").await;
    ui.wait("#overlay-slider", 10).await;
    ui.shot("finding-overlay").await;

    // The hostile page's finding: open it; its markup never runs.
    let idx = rows
        .iter()
        .position(|(u, _)| *u == hostile_copy)
        .expect("the hostile page's copy is a finding");
    let id: i64 = serde_json::from_value(
        ui.js(&format!(
            "return Number(document.querySelectorAll('#findings-list li.finding')[{idx}].dataset.id);"
        ))
        .await,
    )
    .expect("id");
    ui.click(&format!("#finding-{id}")).await;
    ui.wait(&format!("#finding-detail[data-id='{id}'] #detail-provenance"), 20)
        .await;
    let prov = ui.text("#detail-provenance").await;
    assert!(prov.contains(&hostile), "provenance names the hostile page: {prov}");
    assert!(prov.contains("not HTTPS"), "plain-HTTP capture said so: {prov}");
    assert!(prov.contains("127.0.0.1"), "server IP shown: {prov}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    ui.assert_no_payload_ran("viewing the hostile finding").await;
    ui.shot("finding-hostile-page").await;

    // Filters: status and site narrow the list; back to all.
    ui.select("#filter-status", "confirmed").await;
    assert_eq!(ui.count("#findings-list li.finding").await, 2, "two confirmed findings");
    ui.shot("findings-filtered-confirmed").await;
    ui.select("#filter-status", "all").await;
    let hostile_site = hostile.trim_start_matches("http://").trim_end_matches('/').to_string();
    ui.select("#filter-site", &hostile_site).await;
    assert_eq!(
        ui.count("#findings-list li.finding").await,
        1,
        "one finding on the hostile site"
    );
    ui.select("#filter-site", "all").await;
    assert_eq!(
        ui.count("#findings-list li.finding").await,
        rows.len(),
        "all findings again"
    );

    // Search: the page's text, payloads included, comes back as text.
    ui.goto("search").await;
    ui.set("#search-query", MARKER).await;
    ui.click("#search-go").await;
    ui.wait("#search-results li.hit", 20).await;
    let results = ui.text("#search-results").await;
    assert!(results.contains(MARKER), "search results: {results}");
    assert!(
        results.contains("onerror="),
        "the payload is shown as text, not run: {results}"
    );
    let marks = bounded(
        "find",
        ui.c.find_all(Locator::Css("#search-results img, #search-results script")),
    )
    .await;
    assert!(
        marks.is_empty(),
        "captured markup became elements in the search results"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    ui.assert_no_payload_ran("showing search results").await;
    ui.shot("search").await;

    // Export with the demo's local TSA: cancel the first run (nothing is left behind), then
    // export to the end and verify the bundle.
    ui.goto("export").await;
    let exports_dir = ui.text("#export-out-hint").await;
    let bundles_in = |dir: &str| {
        std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let before = bundles_in(&exports_dir);
    ui.click("#export-start").await;
    ui.wait_progress("export", 0, 30).await;
    ui.click("#job-cancel").await;
    ui.wait("#export-cancelled", 120).await;
    ui.shot("export-cancelled").await;
    assert_eq!(
        bundles_in(&exports_dir),
        before,
        "a cancelled export leaves no file in {exports_dir}"
    );
    ui.click("#export-start").await;
    ui.wait("#export-done", 300).await;
    let bundle = ui.text("#export-path").await;
    assert!(Path::new(&bundle).is_file(), "bundle {bundle} exists");
    ui.shot("export").await;
    // Show in folder: the desktop's opener is asked for the case's exports folder, and the
    // command refuses anything outside it.
    ui.click("#export-reveal").await;
    let exports = Path::new(&bundle)
        .parent()
        .expect("exports")
        .canonicalize()
        .expect("canon");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&opened).unwrap_or_default().trim() != exports.to_string_lossy() {
        if Instant::now() > deadline {
            let got = std::fs::read_to_string(&opened).unwrap_or_default();
            ui.fail(&format!(
                "the file manager was not asked for {}: {got:?}",
                exports.display()
            ))
            .await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = ui.invoke("reveal_bundle", json!({ "bundle": "/etc/passwd" })).await;
    assert!(
        refused
            .get("error")
            .and_then(|e| e.as_str())
            .is_some_and(|e| e.contains("exports folder")),
        "a path outside exports/ is refused: {refused}"
    );
    ui.click("#goto-verify").await;
    ui.wait("#screen-verify", 20).await;
    ui.click("#verify-start").await;
    ui.wait("#verify-verdict", 120).await;
    let verdict = ui.text("#verify-verdict").await;
    let checks = ui.text("#verify-report").await;
    assert_eq!(verdict, "VERIFIED", "{checks}");
    assert!(!checks.contains("FAIL"), "{checks}");
    ui.shot("verify").await;

    // Dashboard in the dark theme: counts reflect the review.
    ui.goto("dashboard").await;
    ui.click("#theme-toggle").await;
    let confirmed = ui.text("#count-confirmed .tile-value").await;
    assert_eq!(confirmed, "2", "two findings confirmed");
    ui.shot("dashboard-dark").await;
    ui.assert_no_payload_ran("the whole run").await;

    let _ = ui.c.close().await;
    eprintln!(
        "desktop e2e passed in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
}
