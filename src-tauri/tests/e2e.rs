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

mod e2e_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_support::desktop::*;
use e2e_support::servers::*;
use e2e_support::ui::*;
use e2e_support::MARKER;
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

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
    // The first export asks a timestamp authority that never answers, so it is certainly
    // still running when Cancel is pressed (the demo's export alone can finish first).
    let demo_tsa = ui.js("return document.getElementById('export-tsa1').value;").await;
    let demo_tsa = demo_tsa.as_str().expect("TSA field").to_string();
    let silent_tsa = silent_server().await;
    ui.set("#export-tsa1", &silent_tsa).await;
    ui.click("#export-start").await;
    ui.wait_progress("export", 0, 30).await;
    ui.click("#job-cancel").await;
    ui.wait("#export-cancelled", 30).await;
    ui.shot("export-cancelled").await;
    assert_eq!(
        bundles_in(&exports_dir),
        before,
        "a cancelled export leaves no file in {exports_dir}"
    );
    ui.set("#export-tsa1", &demo_tsa).await;
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
