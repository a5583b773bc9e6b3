//! The local server: `cargo run --release`. Embedded store under ./data, no AWS account needed.
//! With a command, the command line (`line-oa --help`; see `line_oa::cli`).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use line_oa::cli::Cli;
use line_oa::config;
use line_oa::local::LocalApp;
use line_oa::retry::RetryPolicy;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors; a usage error exits 1 like any other.
        Err(e) => {
            e.print().ok();
            return if e.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        None => {
            init_tracing();
            serve().await
        }
        Some(command) => command.run().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let config = config::from_env()?;
    let port = config::port()?;
    let data_dir = config::data_dir();
    if config.access_token.is_none() {
        tracing::warn!("LINE_CHANNEL_ACCESS_TOKEN is not set: replies are logged, not sent");
    }
    let notices = line_oa::notify::NotifyConfig::from_env()?;
    let notifier = line_oa::notify::from_config(&notices, None).await;
    let app = LocalApp::start_with_notices(&config, &data_dir, RetryPolicy::default(), notifier, &notices)?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %data_dir.display(), "listening; POST /webhook, the console at /console/");
    axum::serve(listener, app.router.clone()).with_graceful_shutdown(stop_requested()).await?;
    // Events acknowledged but not yet handled would be handled at the next start (they wait in
    // the store); finishing them now spares the customer that wait. Bounded: a stuck LINE API
    // must not hold up a restart.
    match tokio::time::timeout(SHUTDOWN_GRACE, app.settle.handled()).await {
        Ok(Ok(_)) => tracing::info!("stopped; every acknowledged event handled"),
        Ok(Err(e)) => tracing::warn!(error = %e, "stopped; the backlog could not be read, the next start handles what is left"),
        Err(_) => tracing::warn!(grace_s = SHUTDOWN_GRACE.as_secs(), "stopped with events still pending; the next start handles them"),
    }
    Ok(())
}

/// How long a stopping server goes on handling what it acknowledged.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Ctrl-C, or SIGTERM (systemd, a container runtime, `kill`).
async fn stop_requested() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C still stops the server");
                tokio::signal::ctrl_c().await.ok();
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.ok();
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
