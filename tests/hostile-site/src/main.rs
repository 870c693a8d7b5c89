//! `xiezhi-hostile-site [PORT]`: serve the hostile site on 127.0.0.1 until killed.

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = match std::env::args().nth(1) {
        Some(p) => p
            .parse::<u16>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("port {p:?}: {e}")))?,
        None => 0,
    };
    let addr = xiezhi_hostile_site::serve(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!("http://{addr}/");
    std::future::pending::<()>().await;
    Ok(())
}
