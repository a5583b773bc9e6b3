//! `line-oa archive verify|backfill`: check the archive's hash chains, or fill what the archive
//! lacks from the log (after an outage, or a batch parked in the dead-letter queue), on the
//! local store and folder or on a DynamoDB table and S3 bucket.

use std::sync::Arc;

use super::{flags, open_store, CliResult, USAGE};
use crate::archive::dir::DirArchive;
use crate::archive::s3::S3Archive;
use crate::archive::{ArchiveStore, Archiver, BackfillRun};
use crate::config;
use crate::domain::ids::ConversationId;
use crate::line_api::http::{HttpLineApi, RetryPolicy};
use crate::metrics::Metrics;

/// Who the sweep's lease names while the command runs.
const OWNER: &str = "line-oa archive backfill";

pub async fn archive(args: &[String]) -> CliResult {
    match args.first().map(String::as_str) {
        Some("verify") => verify(&args[1..]).await,
        Some("backfill") => backfill(&args[1..]).await,
        _ => Err(format!("unknown archive command\n{USAGE}").into()),
    }
}

fn conversation_flag(value: &str) -> Result<ConversationId, String> {
    ConversationId::parse(value).ok_or_else(|| format!("{value:?} is not a conversation id like user:U…"))
}

async fn s3_archive(bucket: &str) -> Arc<dyn ArchiveStore> {
    let aws = aws_config::load_from_env().await;
    Arc::new(S3Archive::new(aws_sdk_s3::Client::new(&aws), bucket))
}

fn local_archive() -> Arc<dyn ArchiveStore> {
    Arc::new(DirArchive::new(config::data_dir().join("archive")))
}

async fn verify(args: &[String]) -> CliResult {
    let mut conversation = None;
    let mut store: Option<Arc<dyn ArchiveStore>> = None;
    for (flag, value) in flags(args, &["--conversation", "--dir", "--bucket"], &[])? {
        let value = value.unwrap_or_default();
        match flag {
            "--conversation" => conversation = Some(conversation_flag(value)?),
            "--dir" => store = Some(Arc::new(DirArchive::new(value))),
            _ => store = Some(s3_archive(value).await),
        }
    }
    let archiver = Archiver::new(store.unwrap_or_else(local_archive));
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

async fn backfill(args: &[String]) -> CliResult {
    let (mut conversation, mut dir, mut table, mut bucket) = (None, None, None, None);
    for (flag, value) in flags(args, &["--conversation", "--dir", "--table", "--bucket"], &[])? {
        let value = value.unwrap_or_default().to_owned();
        match flag {
            "--conversation" => conversation = Some(conversation_flag(&value)?),
            "--dir" => dir = Some(value),
            "--table" => table = Some(value),
            _ => bucket = Some(value),
        }
    }
    let archive = match (&table, bucket, dir) {
        (Some(_), Some(bucket), None) => s3_archive(&bucket).await,
        (None, None, Some(dir)) => Arc::new(DirArchive::new(dir)),
        (None, None, None) => local_archive(),
        _ => {
            return Err(format!(
                "give --table and --bucket together (AWS), or neither (the local store; --dir for another folder)\n{USAGE}"
            )
            .into())
        }
    };
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
