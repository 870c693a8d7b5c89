//! WebDriver helpers: every call bounded, every wait with a deadline, a screenshot per step.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::json;

use super::TITLE;

/// Every WebDriver call is bounded: a hung webview fails the test instead of stalling CI.
pub async fn bounded<T, E: std::fmt::Display>(what: &str, f: impl std::future::Future<Output = Result<T, E>>) -> T {
    match tokio::time::timeout(Duration::from_secs(60), f).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: no answer from the webview within 60 s"),
    }
}

pub struct Ui {
    pub c: Client,
    pub shots: PathBuf,
    pub n: usize,
}

impl Ui {
    pub async fn shot(&mut self, name: &str) {
        self.n += 1;
        // Let the webview paint the last change before capturing it.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = bounded("screenshot", self.c.screenshot()).await;
        let path = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot {}", path.display());
    }

    pub async fn wait(&mut self, css: &str, secs: u64) -> Element {
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

    pub async fn fail(&mut self, why: &str) -> ! {
        if let Ok(Ok(png)) = tokio::time::timeout(Duration::from_secs(20), self.c.screenshot()).await {
            let _ = std::fs::write(self.shots.join("FAILED.png"), png);
        }
        let toasts = match tokio::time::timeout(Duration::from_secs(20), self.c.find(Locator::Css("#toasts"))).await {
            Ok(Ok(t)) => t.text().await.unwrap_or_default(),
            _ => String::new(),
        };
        panic!("{why}; messages on screen: {toasts:?}");
    }

    pub async fn click(&mut self, css: &str) {
        let e = self.wait(css, 20).await;
        eprintln!("e2e: click {css}");
        bounded(&format!("click {css}"), e.click()).await;
    }

    pub async fn text(&mut self, css: &str) -> String {
        let e = self.wait(css, 20).await;
        bounded(&format!("text of {css}"), e.text()).await
    }

    pub async fn set(&mut self, css: &str, value: &str) {
        let e = self.wait(css, 20).await;
        bounded(&format!("clear {css}"), e.clear()).await;
        bounded(&format!("type into {css}"), e.send_keys(value)).await;
    }

    /// Nothing from a captured page ran: the title is ours and no payload flag is set.
    pub async fn assert_no_payload_ran(&mut self, after: &str) {
        let v = self.js("return [document.title, String(window.__xz_pwned)];").await;
        assert_eq!(v, json!([TITLE, "undefined"]), "a captured payload ran after {after}");
    }

    /// A key press as a person types it: sent to whatever has the focus.
    pub async fn key(&mut self, key: &str) {
        eprintln!("e2e: key {key}");
        let e = bounded("active element", self.c.active_element()).await;
        bounded(&format!("key {key}"), e.send_keys(key)).await;
    }

    pub async fn js(&mut self, script: &str) -> serde_json::Value {
        bounded("execute", self.c.execute(script, vec![])).await
    }

    /// Wait until `css` matches exactly `n` elements; returns n.
    pub async fn wait_count(&mut self, css: &str, n: usize, secs: u64) -> usize {
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

    pub async fn count(&mut self, css: &str) -> usize {
        bounded("find all", self.c.find_all(Locator::Css(css))).await.len()
    }

    /// Wait until the progress panel shows `job` with at least `done` units done.
    pub async fn wait_progress(&mut self, job: &str, done: u64, secs: u64) {
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
    pub async fn select(&mut self, css: &str, value: &str) {
        let e = self.wait(css, 20).await;
        eprintln!("e2e: select {value} in {css}");
        bounded(&format!("select {value} in {css}"), e.select_by_value(value)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Call an app command over the real IPC from the page, as the UI would:
    /// `{ "ok": value }` or `{ "error": message }`.
    pub async fn invoke(&mut self, cmd: &str, args: serde_json::Value) -> serde_json::Value {
        let script = "const [cmd, args, done] = arguments; \
            window.__TAURI_INTERNALS__.invoke(cmd, args).then(v => done({ ok: v ?? null }), e => done({ error: String(e) }));";
        bounded(
            &format!("invoke {cmd}"),
            self.c.execute_async(script, vec![json!(cmd), args]),
        )
        .await
    }

    pub async fn goto(&mut self, screen: &str) {
        self.click(&format!("#nav-{screen}")).await;
        self.wait(&format!("#screen-{screen}"), 20).await;
    }
}
