//! The local server: `cargo run --release`. Embedded store under ./data, no AWS account needed.
//! Also `explain`: a dry run of the response rules from the command line.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use line_oa::cli::{self, USAGE};
use line_oa::config;
use line_oa::line_api::http::RetryPolicy;
use line_oa::local::LocalApp;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None => {
            init_tracing();
            serve().await
        }
        Some("explain") => cli::explain(&args[1..]),
        Some("archive") => cli::archive(&args[1..]).await,
        Some("export") => cli::export(&args[1..]).await,
        Some("operator-token") => cli::operator_token(&args[1..]),
        Some("hold") => cli::hold(&args[1..]).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}").into()),
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
    axum::serve(listener, app.router)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
