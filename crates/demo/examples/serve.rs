//! Serves the demo site until Ctrl-C: `cargo run -p xiezhi-demo --example serve [PORT]`.

use xiezhi_demo::DemoSite;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 0,
    };
    let site = DemoSite::start_on(port).await?;
    println!("demo site at {}", site.base_url());
    for p in site.planted() {
        println!("planted {:<22} {:<14} {}", p.edit, p.reference, p.asset_path);
    }
    tokio::signal::ctrl_c().await?;
    site.shutdown().await;
    Ok(())
}
