//! Export files in S3: uploaded in parts (a big export never sits in memory), fetched with a
//! presigned GET that expires soon. The bucket's lifecycle deletes old exports (template.yaml).

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;

use super::output::{ExportLink, ExportOutput};
use super::ExportError;
use crate::domain::export_job::Format;
use crate::errors::{sdk_detail, sdk_fault, BoxError, Fault};

/// Part size of a multipart upload; S3 allows 5 MiB to 5 GiB, and 10,000 parts.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct S3Output {
    client: Client,
    bucket: String,
    link_ttl: Duration,
    part_size: u64,
    scratch: PathBuf,
}

/// An S3 call failed: sorted by meaning (`sdk_fault`), the SDK error kept as the source. The
/// detail names the service's error code (`NoSuchBucket`): it is what a failed job records.
fn s3_error<E>(operation: &'static str) -> impl FnOnce(SdkError<E, HttpResponse>) -> ExportError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| ExportError::storage(sdk_fault(&e), format!("S3 {operation}: {}", sdk_detail(&e)), Some(Box::new(e)))
}

/// Anything else on the way (reading the scratch file, presigning settings) failed.
fn other_error(what: &str, e: impl Into<BoxError>) -> ExportError {
    let e = e.into();
    ExportError::storage(Fault::Unavailable, format!("{what}: {e}"), Some(e))
}

impl S3Output {
    pub fn new(client: Client, bucket: impl Into<String>, link_ttl: Duration) -> Self {
        Self { client, bucket: bucket.into(), link_ttl, part_size: DEFAULT_PART_SIZE, scratch: std::env::temp_dir() }
    }

    /// Smaller parts (tests), at least S3's 5 MiB minimum.
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes.max(5 * 1024 * 1024);
        self
    }

    async fn put_multipart(&self, key: &str, file: &Path, size: u64, format: Format) -> Result<(), ExportError> {
        let part_size = self.part_size.max(size.div_ceil(MAX_PARTS));
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(format.content_type())
            .send()
            .await
            .map_err(s3_error("CreateMultipartUpload"))?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| ExportError::storage(Fault::Unavailable, "S3 CreateMultipartUpload: no upload id in the answer", None))?
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
                .map_err(s3_error("CompleteMultipartUpload")),
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
    ) -> Result<Vec<CompletedPart>, ExportError> {
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
                .map_err(s3_error("UploadPart"))?;
            parts.push(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag).build());
            offset += length;
        }
        Ok(parts)
    }
}

#[async_trait]
impl ExportOutput for S3Output {
    async fn put_file(&self, key: &str, file: &Path, format: Format) -> Result<(), ExportError> {
        let size = tokio::fs::metadata(file).await.map_err(|e| other_error("reading the export file", e))?.len();
        let result = if size > self.part_size {
            self.put_multipart(key, file, size, format).await
        } else {
            let body = ByteStream::from_path(file).await.map_err(|e| other_error("reading the export file", e))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type(format.content_type())
                .body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(s3_error("PutObject"))
        };
        // The scratch copy is not needed once uploaded (Lambda's /tmp is small and reused).
        if let Err(e) = tokio::fs::remove_file(file).await {
            tracing::warn!(error = %e, file = %file.display(), "could not remove a scratch export file");
        }
        result
    }

    async fn link(&self, key: &str) -> Result<ExportLink, ExportError> {
        let file_name = key.rsplit('/').next().unwrap_or(key);
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{file_name}\""))
            .presigned(PresigningConfig::expires_in(self.link_ttl).map_err(|e| other_error("presigning", e))?)
            .await
            .map_err(s3_error("presign GetObject"))?;
        Ok(ExportLink::Url { url: presigned.uri().to_owned(), expires_in_secs: self.link_ttl.as_secs() })
    }

    fn scratch_dir(&self) -> PathBuf {
        self.scratch.clone()
    }
}
