//! The smallest exporter: the hardware collector only, built without the other collectors and
//! without the binary's command-line dependencies.
//!
//! ```text
//! cargo run -p health-server --no-default-features --features system --example minimal_system
//! ```
//!
//! It serves health-server's usual endpoints on `HEALTH_METRICS_HOST:HEALTH_METRICS_PORT`
//! (default `0.0.0.0:8080`), or on the address given as its argument, until Ctrl-C or SIGTERM.

use health_server::config::HealthConfig;
use health_server::{Exporter, run};
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = HealthConfig::default();
    // The network and stream collectors are not compiled in: asking for them is a start-up error.
    config.network.enabled = false;
    config.stream.enabled = false;
    let mut terminate = signal(SignalKind::terminate())?;
    let stopped = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    match std::env::args().nth(1) {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let exporter = Exporter::start_on(listener, &config)?;
            println!("listening on http://{}", exporter.local_addr());
            stopped.await;
            exporter.shutdown().await;
        }
        None => run(&config, stopped).await?,
    }
    Ok(())
}
