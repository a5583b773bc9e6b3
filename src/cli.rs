//! The command line's subcommands other than the server: `explain` and `archive verify`.

use std::sync::Arc;

use crate::archive::dir::DirArchive;
use crate::archive::s3::S3Archive;
use crate::archive::{ArchiveStore, Archiver};
use crate::config;
use crate::domain::ids::ConversationId;
use crate::explain::{explain as explain_rules, ExplainRequest};
use crate::settings::Settings;

pub const USAGE: &str = "usage:
  line-oa                                   run the local server (PORT, DATA_DIR, LINE_CHANNEL_SECRET, ...)
  line-oa explain [--at 2026-12-24T21:30] (--text \"営業時間は？\" | --follow) [--settings FILE]
                                            what the rules would do with that message, and why
  line-oa archive verify [--conversation user:U…] [--dir DIR | --bucket BUCKET]
                                            check archive hash chains end to end (default DATA_DIR/archive)";

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
        None => config::settings_from_lookup(|k| std::env::var(k).ok())?,
    };
    let explanation = explain_rules(&settings, &request, jiff::Timestamp::now())?;
    println!("{}", serde_json::to_string_pretty(&explanation)?);
    Ok(())
}

pub async fn archive(args: &[String]) -> CliResult {
    if args.first().map(String::as_str) != Some("verify") {
        return Err(format!("unknown archive command\n{USAGE}").into());
    }
    let mut conversation = None;
    let mut store: Option<Arc<dyn ArchiveStore>> = None;
    for (flag, value) in flags(&args[1..], &["--conversation", "--dir", "--bucket"], &[])? {
        let value = value.unwrap_or_default();
        match flag {
            "--conversation" => {
                conversation = Some(ConversationId::parse(value).ok_or_else(|| format!("{value:?} is not a conversation id like user:U…"))?)
            }
            "--dir" => store = Some(Arc::new(DirArchive::new(value))),
            _ => {
                let aws = aws_config::load_from_env().await;
                store = Some(Arc::new(S3Archive::new(aws_sdk_s3::Client::new(&aws), value)));
            }
        }
    }
    let store = store.unwrap_or_else(|| Arc::new(DirArchive::new(config::data_dir().join("archive"))));
    let archiver = Archiver::new(store);
    let conversations = match conversation {
        Some(c) => vec![c],
        None => archiver.conversations().await?,
    };
    let mut broken = 0;
    for c in &conversations {
        match archiver.verify(c).await? {
            Ok(report) => println!("ok      {c}: {} objects, {} items", report.objects, report.items),
            Err(b) => {
                broken += 1;
                println!("BROKEN  {c}: {b}");
            }
        }
    }
    println!("{} conversations checked, {broken} broken", conversations.len());
    if broken > 0 {
        return Err(format!("{broken} broken chain(s)").into());
    }
    Ok(())
}
