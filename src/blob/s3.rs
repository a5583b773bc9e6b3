//! Object storage in S3: the archive bucket (Object Lock, encryption and lifecycle are the
//! bucket's, see template.yaml) and the export bucket (its lifecycle deletes old exports).
//! Files go up in parts (a big export never sits in memory); links are presigned GETs that
//! expire soon.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;

use super::{BlobError, BlobStore, Link};
use crate::errors::{sdk_detail, sdk_fault, BoxError, Fault};

/// Part size of a multipart upload; S3 allows 5 MiB to 5 GiB, and 10,000 parts.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    part_size: u64,
    scratch: PathBuf,
}

/// An S3 call failed: sorted by meaning (`sdk_fault`), the SDK error kept as the source. The
/// detail names the service's error code (`NoSuchBucket`): it is what a failed export job
/// records. Calls on one object of many (the archive's) name the key too; a whole-file call
/// leaves that to its job, which names its own file.
fn s3_error<'a, E>(operation: &'static str, key: Option<&'a str>) -> impl FnOnce(SdkError<E, HttpResponse>) -> BlobError + 'a
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| {
        let detail = match key {
            Some(key) => format!("S3 {operation} {key}: {}", sdk_detail(&e)),
            None => format!("S3 {operation}: {}", sdk_detail(&e)),
        };
        BlobError::new(sdk_fault(&e), detail, Some(Box::new(e)))
    }
}

/// Anything else on the way (presigning settings, reading a body or the file) failed.
fn other_error(what: &str, e: impl Into<BoxError>) -> BlobError {
    let e = e.into();
    BlobError::new(Fault::Unavailable, format!("{what}: {e}"), Some(e))
}

impl S3BlobStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), part_size: DEFAULT_PART_SIZE, scratch: std::env::temp_dir() }
    }

    /// Smaller parts (tests), at least S3's 5 MiB minimum.
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes.max(5 * 1024 * 1024);
        self
    }

    async fn put_multipart(&self, key: &str, file: &Path, size: u64, content_type: &str) -> Result<(), BlobError> {
        let part_size = self.part_size.max(size.div_ceil(MAX_PARTS));
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(s3_error("CreateMultipartUpload", None))?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| BlobError::new(Fault::Unavailable, "S3 CreateMultipartUpload: no upload id in the answer", None))?
            .to_owned();
        let result = self.upload_parts(key, &upload_id, file, size, part_size).await;
        match result {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map(|_| ())
                .map_err(s3_error("CompleteMultipartUpload", None)),
            Err(e) => {
                // Parts of an abandoned upload are billed until aborted (the bucket's lifecycle
                // rule is the backstop if this fails too).
                let abort = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(&upload_id).send().await;
                if let Err(abort) = abort {
                    tracing::warn!(error = ?abort, key, "could not abort a failed multipart upload");
                }
                Err(e)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        file: &Path,
        size: u64,
        part_size: u64,
    ) -> Result<Vec<CompletedPart>, BlobError> {
        let mut parts = Vec::new();
        let mut offset = 0;
        while offset < size {
            let length = part_size.min(size - offset);
            let number = i32::try_from(parts.len() + 1).map_err(|e| other_error("numbering the parts", e))?;
            // Each part is read from the file as it is sent: memory stays at one buffer.
            let body = ByteStream::read_from()
                .path(file)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|e| other_error("reading the export file", e))?;
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body)
                .send()
                .await
                .map_err(s3_error("UploadPart", None))?;
            parts.push(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag).build());
            offset += length;
        }
        Ok(parts)
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    /// With an integrity checksum: Object Lock buckets (the archive's) require one on every write.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(s3_error("PutObject", Some(key)))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(|e| other_error(&format!("reading {key}"), e))?.into_bytes().to_vec())),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(s3_error("GetObject", Some(key))(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            keys.extend(
                page.map_err(s3_error("ListObjectsV2", Some(prefix)))?.contents.unwrap_or_default().into_iter().filter_map(|o| o.key),
            );
        }
        keys.sort();
        Ok(keys)
    }

    /// In parts above the part size, streamed from the file. Files go to the export bucket,
    /// which has no Object Lock, so they carry no checksum of their own (S3 checks each part).
    async fn put_file(&self, key: &str, file: &Path, content_type: &str) -> Result<(), BlobError> {
        let size = tokio::fs::metadata(file).await.map_err(|e| other_error("reading the export file", e))?.len();
        let result = if size > self.part_size {
            self.put_multipart(key, file, size, content_type).await
        } else {
            let body = ByteStream::from_path(file).await.map_err(|e| other_error("reading the export file", e))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(content_type)
                .body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(s3_error("PutObject", None))
        };
        // The scratch copy is not needed once uploaded (Lambda's /tmp is small and reused).
        if let Err(e) = tokio::fs::remove_file(file).await {
            tracing::warn!(error = %e, file = %file.display(), "could not remove a scratch export file");
        }
        result
    }

    async fn link(&self, key: &str, ttl: Duration, save_as: Option<&str>) -> Result<Link, BlobError> {
        let config = PresigningConfig::expires_in(ttl).map_err(|e| other_error("presigning", e))?;
        let mut get = self.client.get_object().bucket(&self.bucket).key(key);
        let named = match save_as {
            Some(name) => {
                get = get.response_content_disposition(format!("attachment; filename=\"{name}\""));
                // A whole file's link (an export's): its job names the file.
                None
            }
            None => Some(key),
        };
        let presigned = get.presigned(config).await.map_err(s3_error("presign GetObject", named))?;
        Ok(Link::Url { url: presigned.uri().to_owned(), expires_in_secs: ttl.as_secs() })
    }

    fn scratch_dir(&self) -> PathBuf {
        self.scratch.clone()
    }
}
