//! The local server: `cargo run --release`. Embedded store under ./data, no AWS account needed.
//! Also `explain`: a dry run of the response rules from the command line.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use line_oa::config;
use line_oa::explain::{explain, ExplainRequest};
use line_oa::line_api::http::RetryPolicy;
use line_oa::local::LocalApp;
use line_oa::settings::Settings;

const USAGE: &str = "usage:
  line-oa                                   run the local server (PORT, DATA_DIR, LINE_CHANNEL_SECRET, ...)
  line-oa explain [--at 2026-12-24T21:30] (--text \"営業時間は？\" | --follow) [--settings FILE]
                                            what the rules would do with that message, and why";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None => {
            init_tracing();
            serve().await
        }
        Some("explain") => explain_command(&args[1..]),
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
    let app = LocalApp::start(&config, &data_dir, RetryPolicy::default())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    tracing::info!(address = %listener.local_addr()?, data_dir = %data_dir.display(), "listening; POST /webhook");
    axum::serve(listener, app.router)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}

fn explain_command(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut request = ExplainRequest { at: None, text: None, follow: false };
    let mut settings_file = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--at" => request.at = Some(value()?),
            "--text" => request.text = Some(value()?),
            "--settings" => settings_file = Some(value()?),
            "--follow" => request.follow = true,
            other => return Err(format!("unknown option {other:?}\n{USAGE}").into()),
        }
    }
    let settings = match settings_file {
        Some(path) => Settings::load(path.as_ref())?,
        None => config::settings_from_lookup(|k| std::env::var(k).ok())?,
    };
    let explanation = explain(&settings, &request, jiff::Timestamp::now())?;
    println!("{}", serde_json::to_string_pretty(&explanation)?);
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
