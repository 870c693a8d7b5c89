//! Loopback servers the e2e test needs besides the demo site.

use super::MARKER;

/// The hostile page: script and onerror payloads in markup, in its title and as text, and
/// an exact copy of a reference so that it becomes a finding the reviewer opens.
pub async fn serve_hostile(copy: Vec<u8>) -> String {
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

/// A loopback HTTP endpoint that accepts connections and never answers.
pub async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}/tsr")
}
