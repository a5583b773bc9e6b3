//! `line-oa export`: conversations' logs as CSV (UTF-8 with BOM) or Excel, in the settings'
//! timezone, from the local store in DATA_DIR or a DynamoDB table.

use std::path::PathBuf;

use jiff::civil::Date;

use super::{conversation, open_store, CliResult};
use crate::config;
use crate::domain::export_job::Scope;
use crate::domain::export_job::{Format, Range};
use crate::domain::ids::ConversationId;
use crate::service::export::export_scope;

/// Conversations' logs as CSV (UTF-8 with BOM) or Excel, in the settings' timezone.
///
/// Example: line-oa export --conversation user:U4af4980629… --from 2026-12-01 --to 2026-12-31 --out december.xlsx
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A conversation (user:U…, group:C…, room:R…); give it once or more
    #[arg(long = "conversation", value_name = "ID", value_parser = conversation, required_unless_present = "all")]
    conversations: Vec<ConversationId>,
    /// Every conversation
    #[arg(long, conflicts_with = "conversations")]
    all: bool,
    /// The file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// [default: xlsx if FILE ends in .xlsx, else csv]
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// The first day, in the account's timezone [default: the beginning]
    #[arg(long, value_name = "DATE", value_parser = date)]
    from: Option<Date>,
    /// The last day, included [default: the end]
    #[arg(long, value_name = "DATE", value_parser = date)]
    to: Option<Date>,
    /// A DynamoDB table [default: the local store in DATA_DIR]
    #[arg(long)]
    table: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Csv,
    Xlsx,
}

fn date(value: &str) -> Result<Date, String> {
    value.parse().map_err(|_| format!("{value:?} is not a date like 2026-12-31"))
}

pub async fn run(mut args: Args) -> CliResult {
    let scope = match (args.all, args.conversations.len()) {
        (true, _) => Scope::All,
        (false, 1) => Scope::Conversation { id: args.conversations.remove(0) },
        (false, _) => Scope::Conversations { ids: args.conversations },
    };
    let format = match args.format {
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Xlsx) => Format::Xlsx,
        None if args.out.extension().is_some_and(|e| e == "xlsx") => Format::Xlsx,
        None => Format::Csv,
    };
    let settings = config::settings_from_lookup(config::process_env)?;
    let tz = settings.rules.timezone.clone();
    // Dates are whole days in the account's timezone; --to is inclusive.
    let day_start = |date: Date, plus: i64| -> Result<i64, String> {
        let date = date.checked_add(jiff::Span::new().days(plus)).map_err(|e| e.to_string())?;
        Ok(date.to_zoned(tz.clone()).map_err(|e| e.to_string())?.timestamp().as_millisecond())
    };
    let range = Range {
        from_ms: args.from.map(|d| day_start(d, 0)).transpose()?.unwrap_or(0),
        to_ms: args.to.map(|d| day_start(d, 1)).transpose()?.unwrap_or(i64::MAX),
    };
    let store = open_store(args.table).await?;
    let rows = export_scope(store.as_ref(), &scope, &range, &tz, format, &args.out, &Default::default()).await?;
    println!("{rows} rows written to {}", args.out.display());
    Ok(())
}
