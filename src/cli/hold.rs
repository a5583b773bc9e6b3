//! `line-oa hold set|release|list`: legal hold from the command line, on the local store or a
//! DynamoDB table.

use super::{flags, open_store, CliResult, USAGE};
use crate::config;
use crate::domain::ids::ConversationId;
use crate::service::hold::{set_hold, HoldChange};

pub async fn hold(args: &[String]) -> CliResult {
    let command = args.first().map(String::as_str).unwrap_or_default();
    if !matches!(command, "set" | "release" | "list") {
        return Err(format!("unknown hold command {command:?}\n{USAGE}").into());
    }
    let (mut conversation, mut reason, mut table) = (None, String::new(), None);
    for (flag, value) in flags(&args[1..], &["--conversation", "--reason", "--table"], &[])? {
        let value = value.unwrap_or_default();
        match flag {
            "--conversation" => {
                conversation = Some(ConversationId::parse(value).ok_or_else(|| format!("{value:?} is not a conversation id like user:U…"))?)
            }
            "--reason" => reason = value.to_owned(),
            _ => table = Some(value.to_owned()),
        }
    }
    let store = open_store(table).await?;
    if command == "list" {
        let holds = store.holds().await?;
        for h in &holds {
            let since = jiff::Timestamp::from_millisecond(h.since_ms).map(|t| t.to_string()).unwrap_or_default();
            println!("{}\tsince {since}\t{}", h.conversation, h.reason);
        }
        println!("{} conversation(s) on hold", holds.len());
        return Ok(());
    }
    let conversation = conversation.ok_or(format!("--conversation is required\n{USAGE}"))?;
    let retention_days = config::retention_days_from_lookup(config::process_env)?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    match set_hold(store.as_ref(), &conversation, command == "set", &reason, retention_days, now_ms).await? {
        HoldChange::Held { items, .. } => println!("{conversation} on hold; {items} item(s) no longer expire"),
        HoldChange::Released { items, .. } => {
            println!("{conversation} released; {items} item(s) expire again ({retention_days} days after their time)")
        }
    }
    Ok(())
}
