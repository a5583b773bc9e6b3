//! Archive in S3 (Object Lock, encryption and lifecycle are the bucket's, see template.yaml).

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use aws_sdk_s3::Client;

use super::{ArchiveError, ArchiveStore};
use crate::errors::{sdk_detail, sdk_fault, Fault};

#[derive(Debug, Clone)]
pub struct S3Archive {
    client: Client,
    bucket: String,
}

impl S3Archive {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }
}

impl S3Archive {
    async fn put_typed(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), ArchiveError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            // Object Lock buckets require an integrity checksum on every write.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(s3_error("PutObject", key))
    }
}

/// An S3 call failed: sorted by meaning (`sdk_fault`), the SDK error kept as the source.
fn s3_error<'a, E>(operation: &'static str, key: &'a str) -> impl FnOnce(SdkError<E, HttpResponse>) -> ArchiveError + 'a
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| ArchiveError::storage(sdk_fault(&e), format!("S3 {operation} {key}: {}", sdk_detail(&e)), e)
}

/// Anything else on the way (presigning settings, reading a body) failed.
fn other_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> ArchiveError {
    ArchiveError::storage(Fault::Unavailable, format!("{what}: {e}"), e)
}

#[async_trait]
impl ArchiveStore for S3Archive {
    async fn presigned_get(&self, key: &str, ttl: std::time::Duration) -> Result<Option<String>, ArchiveError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(ttl).map_err(|e| other_error("presigning", e))?;
        let presigned =
            self.client.get_object().bucket(&self.bucket).key(key).presigned(config).await.map_err(s3_error("presign GetObject", key))?;
        Ok(Some(presigned.uri().to_owned()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        let content_type = if key.ends_with(".jsonl") { "application/x-ndjson" } else { "application/json" };
        self.put_typed(key, bytes, content_type).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(|e| other_error(&format!("reading {key}"), e))?.into_bytes().to_vec())),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(s3_error("GetObject", key)(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            keys.extend(page.map_err(s3_error("ListObjectsV2", prefix))?.contents.unwrap_or_default().into_iter().filter_map(|o| o.key));
        }
        keys.sort();
        Ok(keys)
    }

    async fn put_media(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), ArchiveError> {
        self.put_typed(key, bytes, content_type).await
    }
}
