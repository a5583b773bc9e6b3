//! `line-oa explain`: what the response rules would do with a message, and why (the same dry run
//! as the local server's `POST /explain`).

use std::path::PathBuf;

use super::CliResult;
use crate::config;
use crate::domain::explain::{explain, ExplainRequest};
use crate::settings::Settings;

/// What the rules would do with that message, and why.
///
/// Example: line-oa explain --at 2026-12-24T21:30 --text "営業時間は？"
#[derive(Debug, clap::Args)]
pub struct Args {
    /// When: 2026-12-24T21:30 in the account's timezone, or an RFC 3339 instant [default: now]
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The user's message
    #[arg(long)]
    pub text: Option<String>,
    /// Ask about the greeting a new friend gets, instead of a message
    #[arg(long)]
    pub follow: bool,
    /// A settings file [default: as the server: SETTINGS_TOML, SETTINGS_FILE, ./settings.toml]
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
}

pub fn run(args: Args) -> CliResult {
    let request = ExplainRequest { at: args.at, text: args.text, follow: args.follow };
    let settings = match args.settings {
        Some(path) => Settings::load(&path)?,
        None => config::settings_from_lookup(config::process_env)?,
    };
    let explanation = explain(&settings.rules, &request, jiff::Timestamp::now())?;
    println!("{}", serde_json::to_string_pretty(&explanation)?);
    Ok(())
}
