//! The command line's subcommands other than the server: `explain`, `archive verify|backfill`,
//! `export`, `operator-token`, `hold`.

use crate::config;
use crate::domain::ids::ConversationId;
use crate::explain::{explain as explain_rules, ExplainRequest};
use crate::settings::Settings;

pub const USAGE: &str = "usage:
  line-oa                                   run the local server (PORT, DATA_DIR, LINE_CHANNEL_SECRET, ...)
  line-oa explain [--at 2026-12-24T21:30] (--text \"営業時間は？\" | --follow) [--settings FILE]
                                            what the rules would do with that message, and why
  line-oa export (--conversation user:U… ... | --all) --out FILE [--format csv|xlsx] [--from 2026-12-01]
               [--to 2026-12-31] [--table TABLE]
                                            conversations' logs as CSV (UTF-8 with BOM) or Excel, in the
                                            settings' timezone (default: the local store in DATA_DIR)
  line-oa archive verify [--conversation user:U…] [--dir DIR | --bucket BUCKET]
                                            check archive hash chains end to end (default DATA_DIR/archive)
  line-oa archive backfill [--conversation user:U…] [--dir DIR | --table TABLE --bucket BUCKET]
                                            archive what the archive lacks from the log (after an outage or a
                                            dead-letter message); prints what it filled. Media too, while LINE
                                            has them, with LINE_CHANNEL_ACCESS_TOKEN set
  line-oa operator-token NAME (operator|admin)
                                            make a token for the local operator API: prints the token once
                                            and the OPERATOR_TOKENS entry (its hash) to configure
  line-oa hold set --conversation user:U… --reason \"case 42\" [--table TABLE]
  line-oa hold release --conversation user:U… [--table TABLE]
  line-oa hold list [--table TABLE]          legal hold: a held conversation's items never expire; a
                                            release gives them their TTL back (RETENTION_DAYS)";

mod archive;
mod hold;
pub use archive::archive;
pub use hold::hold;

/// The store a command works on: a DynamoDB table, or the local store in DATA_DIR.
async fn open_store(table: Option<String>) -> Result<Box<dyn crate::store::Store>, Box<dyn std::error::Error>> {
    Ok(match table {
        Some(table) => {
            let aws = aws_config::load_from_env().await;
            Box::new(crate::store::dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table))
        }
        None => Box::new(
            crate::store::embedded::EmbeddedStore::open(&config::data_dir())
                .map_err(|e| format!("{e} (is the local server running? stop it first: the embedded store is single-process)"))?,
        ),
    })
}

/// Page cache of the embedded store while the CLI exports from it.
const EXPORT_CACHE_BYTES: usize = 32 * 1024 * 1024;

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Reads `--flag value` pairs and bare `--switch`es; unknown flags are errors.
fn flags<'a>(args: &'a [String], with_value: &[&str], switches: &[&str]) -> Result<Vec<(&'a str, Option<&'a str>)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if with_value.contains(&flag.as_str()) {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            out.push((flag.as_str(), Some(value.as_str())));
        } else if switches.contains(&flag.as_str()) {
            out.push((flag.as_str(), None));
        } else {
            return Err(format!("unknown option {flag:?}\n{USAGE}"));
        }
    }
    Ok(out)
}

pub fn explain(args: &[String]) -> CliResult {
    let mut request = ExplainRequest { at: None, text: None, follow: false };
    let mut settings_file = None;
    for (flag, value) in flags(args, &["--at", "--text", "--settings"], &["--follow"])? {
        match flag {
            "--at" => request.at = value.map(str::to_owned),
            "--text" => request.text = value.map(str::to_owned),
            "--settings" => settings_file = value,
            _ => request.follow = true,
        }
    }
    let settings = match settings_file {
        Some(path) => Settings::load(path.as_ref())?,
        None => config::settings_from_lookup(config::process_env)?,
    };
    let explanation = explain_rules(&settings, &request, jiff::Timestamp::now())?;
    println!("{}", serde_json::to_string_pretty(&explanation)?);
    Ok(())
}

pub async fn export(args: &[String]) -> CliResult {
    use crate::domain::export_job::Scope;
    use crate::export::{export_scope, Format, Range};
    use crate::store::Store;
    let mut conversations = Vec::new();
    let mut all = false;
    let mut out = None;
    let mut format = None;
    let (mut from, mut to, mut table) = (None, None, None);
    for (flag, value) in flags(args, &["--conversation", "--out", "--format", "--from", "--to", "--table"], &["--all"])? {
        let value = value.unwrap_or_default();
        match flag {
            "--all" => all = true,
            "--conversation" => {
                conversations.push(ConversationId::parse(value).ok_or_else(|| format!("{value:?} is not a conversation id like user:U…"))?)
            }
            "--out" => out = Some(std::path::PathBuf::from(value)),
            "--format" => {
                format = Some(match value {
                    "csv" => Format::Csv,
                    "xlsx" => Format::Xlsx,
                    other => return Err(format!("--format: {other:?} is not csv or xlsx").into()),
                })
            }
            "--from" => from = Some(value.to_owned()),
            "--to" => to = Some(value.to_owned()),
            _ => table = Some(value.to_owned()),
        }
    }
    let scope = match (all, conversations.len()) {
        (true, 0) => Scope::All,
        (false, 1) => Scope::Conversation { id: conversations.remove(0) },
        (false, n) if n > 1 => Scope::Conversations { ids: conversations },
        _ => return Err(format!("give --conversation (once or more) or --all\n{USAGE}").into()),
    };
    let out = out.ok_or(format!("--out is required\n{USAGE}"))?;
    let format = format.unwrap_or(if out.extension().is_some_and(|e| e == "xlsx") { Format::Xlsx } else { Format::Csv });
    let settings = config::settings_from_lookup(config::process_env)?;
    let tz = settings.rules.timezone.clone();
    // Dates are whole days in the account's timezone; --to is inclusive.
    let day_start = |flag: &str, d: &str, plus: i64| -> Result<i64, String> {
        let date: jiff::civil::Date = d.parse().map_err(|_| format!("{flag}: {d:?} is not a date like 2026-12-31"))?;
        let date = date.checked_add(jiff::Span::new().days(plus)).map_err(|e| e.to_string())?;
        Ok(date.to_zoned(tz.clone()).map_err(|e| e.to_string())?.timestamp().as_millisecond())
    };
    let range = Range {
        from_ms: from.as_deref().map(|d| day_start("--from", d, 0)).transpose()?.unwrap_or(0),
        to_ms: to.as_deref().map(|d| day_start("--to", d, 1)).transpose()?.unwrap_or(i64::MAX),
    };
    let store: Box<dyn Store> = match table {
        Some(table) => {
            let aws = aws_config::load_from_env().await;
            Box::new(crate::store::dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table))
        }
        // One pass over the log: a small cache keeps memory flat however big the store.
        None => Box::new(
            crate::store::embedded::EmbeddedStore::open_with_cache_size(&config::data_dir(), EXPORT_CACHE_BYTES)
                .map_err(|e| format!("{e} (is the local server running? stop it first: the embedded store is single-process)"))?,
        ),
    };
    let rows = export_scope(store.as_ref(), &scope, &range, &tz, format, &out, &Default::default()).await?;
    println!("{rows} rows written to {}", out.display());
    Ok(())
}

/// A new local operator token. Only its hash is configured, so the token is shown once.
pub fn operator_token(args: &[String]) -> CliResult {
    let (Some(name), Some(role), None) = (args.first(), args.get(1), args.get(2)) else {
        return Err(format!("operator-token needs NAME and ROLE\n{USAGE}").into());
    };
    let role = crate::domain::staff::Role::parse(role).ok_or_else(|| format!("ROLE must be operator or admin, not {role:?}"))?;
    if name.is_empty() || name.contains([':', ',']) || name.chars().any(char::is_whitespace) {
        return Err(format!("NAME {name:?} must be non-empty, without spaces, `:` or `,`").into());
    }
    let token = format!("loa_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    println!("token (give it to {name}; it is not stored anywhere):\n  {token}");
    println!("OPERATOR_TOKENS entry (comma-separate several):\n  {name}:{}:{}", role.as_str(), crate::domain::staff::hash_token(&token));
    Ok(())
}
