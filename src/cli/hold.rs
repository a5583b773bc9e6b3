//! `line-oa hold set|release|list`: legal hold from the command line, on the local store or a
//! DynamoDB table.

use super::{conversation, open_store, CliResult};
use crate::config;
use crate::domain::ids::ConversationId;
use crate::service::hold::{set_hold, HoldChange};

/// Legal hold: a held conversation's items never expire; a release gives them their TTL back
/// (RETENTION_DAYS).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Hold a conversation: its items no longer expire
    Set {
        #[arg(long, value_name = "ID", value_parser = conversation)]
        conversation: ConversationId,
        /// Why (a case, a claim): kept with the hold
        #[arg(long)]
        reason: String,
        /// A DynamoDB table [default: the local store in DATA_DIR]
        #[arg(long)]
        table: Option<String>,
    },
    /// Release a hold: the items expire again, RETENTION_DAYS after their time
    Release {
        #[arg(long, value_name = "ID", value_parser = conversation)]
        conversation: ConversationId,
        /// A DynamoDB table [default: the local store in DATA_DIR]
        #[arg(long)]
        table: Option<String>,
    },
    /// The conversations on hold
    List {
        /// A DynamoDB table [default: the local store in DATA_DIR]
        #[arg(long)]
        table: Option<String>,
    },
}

pub async fn run(command: Command) -> CliResult {
    let (conversation, held, reason, table) = match command {
        Command::Set { conversation, reason, table } => (conversation, true, reason, table),
        Command::Release { conversation, table } => (conversation, false, String::new(), table),
        Command::List { table } => return list(table).await,
    };
    let store = open_store(table).await?;
    let retention_days = config::retention_days_from_lookup(config::process_env)?;
    let now_ms = jiff::Timestamp::now().as_millisecond();
    match set_hold(store.as_ref(), &conversation, held, &reason, retention_days, now_ms).await? {
        HoldChange::Held { items, .. } => println!("{conversation} on hold; {items} item(s) no longer expire"),
        HoldChange::Released { items, .. } => {
            println!("{conversation} released; {items} item(s) expire again ({retention_days} days after their time)")
        }
    }
    Ok(())
}

async fn list(table: Option<String>) -> CliResult {
    let store = open_store(table).await?;
    let holds = store.holds().await?;
    for h in &holds {
        let since = jiff::Timestamp::from_millisecond(h.since_ms).map(|t| t.to_string()).unwrap_or_default();
        println!("{}\tsince {since}\t{}", h.conversation, h.reason);
    }
    println!("{} conversation(s) on hold", holds.len());
    Ok(())
}
