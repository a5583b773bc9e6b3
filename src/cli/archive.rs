//! `line-oa archive verify|backfill`: check the archive's hash chains, or fill what the archive
//! lacks from the log (after an outage, or a batch parked in the dead-letter queue), on the
//! local store and folder or on a DynamoDB table and S3 bucket.

use std::path::PathBuf;
use std::sync::Arc;

use super::{conversation, open_store, CliResult};
use crate::blob::dir::DirBlobStore;
use crate::blob::s3::S3BlobStore;
use crate::blob::BlobStore;
use crate::config;
use crate::domain::ids::ConversationId;
use crate::line_api::http::HttpLineApi;
use crate::metrics::Metrics;
use crate::retry::RetryPolicy;
use crate::service::archive::{Archiver, BackfillRun};

/// Who the sweep's lease names while the command runs.
const OWNER: &str = "line-oa archive backfill";

/// The conversation archive: hash chains and the backfill sweep.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check archive hash chains end to end [default: DATA_DIR/archive]
    Verify {
        /// Only this conversation [default: every one in the archive]
        #[arg(long, value_name = "ID", value_parser = conversation)]
        conversation: Option<ConversationId>,
        /// An archive folder
        #[arg(long, value_name = "DIR", conflicts_with = "bucket")]
        dir: Option<PathBuf>,
        /// An S3 bucket
        #[arg(long)]
        bucket: Option<String>,
    },
    /// Archive what the archive lacks from the log (after an outage or a dead-letter message);
    /// prints what it filled. Media too, while LINE has them, with LINE_CHANNEL_ACCESS_TOKEN set.
    ///
    /// Give --table and --bucket together (AWS), or neither (the local store and DATA_DIR/archive,
    /// with the server stopped; --dir for another folder).
    Backfill {
        /// Only this conversation [default: every one in the log]
        #[arg(long, value_name = "ID", value_parser = conversation)]
        conversation: Option<ConversationId>,
        /// An archive folder, beside the local store
        #[arg(long, value_name = "DIR", conflicts_with_all = ["table", "bucket"])]
        dir: Option<PathBuf>,
        /// The DynamoDB table
        #[arg(long, requires = "bucket")]
        table: Option<String>,
        /// The S3 bucket
        #[arg(long, requires = "table")]
        bucket: Option<String>,
    },
}

pub async fn run(command: Command) -> CliResult {
    match command {
        Command::Verify { conversation, dir, bucket } => {
            let store = match (dir, bucket) {
                (Some(dir), _) => Arc::new(DirBlobStore::new(dir)),
                (None, Some(bucket)) => s3_archive(&bucket).await,
                (None, None) => local_archive(),
            };
            verify(store, conversation).await
        }
        Command::Backfill { conversation, dir, table, bucket } => {
            let archive = match (bucket, dir) {
                (Some(bucket), _) => s3_archive(&bucket).await,
                (None, Some(dir)) => Arc::new(DirBlobStore::new(dir)),
                (None, None) => local_archive(),
            };
            backfill(archive, table, conversation).await
        }
    }
}

async fn s3_archive(bucket: &str) -> Arc<dyn BlobStore> {
    let aws = aws_config::load_from_env().await;
    Arc::new(S3BlobStore::new(aws_sdk_s3::Client::new(&aws), bucket))
}

fn local_archive() -> Arc<dyn BlobStore> {
    Arc::new(DirBlobStore::new(config::data_dir().join("archive")))
}

async fn verify(store: Arc<dyn BlobStore>, conversation: Option<ConversationId>) -> CliResult {
    let archiver = Archiver::new(store);
    let conversations = match conversation {
        Some(c) => vec![c],
        None => archiver.conversations().await?,
    };
    let mut broken = 0;
    for c in &conversations {
        match archiver.verify_chains(c).await? {
            Ok(chains) => {
                let (report, m) = (&chains.all, chains.all.media);
                let backfilled = match chains.backfill_objects {
                    0 => String::new(),
                    n => format!(" ({n} objects, {} items archived late by the backfill sweep)", chains.backfill_items),
                };
                println!(
                    "ok      {c}: {} objects, {} items{backfilled}, media {} stored, {} recovered later, {} missing",
                    report.objects, report.items, m.stored, m.recovered, m.missing
                );
            }
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

/// The LINE content API for media still on LINE, when an access token is at hand.
fn media_source() -> Option<Arc<dyn crate::line_api::LineApi>> {
    let access = config::line_access_from_lookup(config::process_env)?;
    let api =
        HttpLineApi::new(&access.api_base_url, access.access_token, RetryPolicy::default()).with_data_base_url(&access.data_api_base_url);
    Some(Arc::new(api))
}

async fn backfill(archive: Arc<dyn BlobStore>, table: Option<String>, conversation: Option<ConversationId>) -> CliResult {
    let store: Arc<dyn crate::store::Store> = Arc::from(open_store(table).await?);
    let mut archiver = Archiver::new(archive).with_metrics(Metrics::off());
    if let Some(line) = media_source() {
        archiver = archiver.with_media(line).with_media_retries(store.clone());
    } else {
        println!("LINE_CHANNEL_ACCESS_TOKEN is not set: transcripts only, no media fetched");
    }
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let run = match conversation {
        Some(c) => BackfillRun::conversation(c, now_ms, OWNER),
        None => BackfillRun::everything(now_ms, OWNER),
    };
    let report = archiver.backfill(store.as_ref(), &run).await?;
    for filled in &report.filled {
        println!("filled  {}: {} item(s), {} media", filled.conversation, filled.items.len(), filled.media);
        for key in &filled.items {
            println!("          {key}");
        }
    }
    for (conversation, error) in &report.failed {
        println!("FAILED  {conversation}: {error}");
    }
    println!(
        "{} conversations checked ({} settled items), {} item(s) archived in {} conversation(s), {} failed",
        report.conversations,
        report.checked,
        report.items_filled(),
        report.filled.len(),
        report.failed.len()
    );
    if !report.failed.is_empty() {
        return Err(format!("{} conversation(s) could not be checked", report.failed.len()).into());
    }
    Ok(())
}
