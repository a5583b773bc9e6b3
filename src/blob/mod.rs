//! One object-storage port for the compliance archive and the export files: whole objects by
//! key, listings by prefix, finished files taken from disk, and links a reader can follow by
//! itself. Adapters: `dir` (a local folder) and `s3` (a bucket).
//!
//! On `aws-sdk-s3`, not the `object_store` crate: that would bring a second S3 client and credential chain.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::errors::{BoxError, Fault};

pub mod dir;
pub mod s3;

/// A failed call to object storage, sorted by the adapter: `fault` says whether a retry may help.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct BlobError {
    pub fault: Fault,
    pub detail: String,
    #[source]
    pub source: Option<BoxError>,
}

impl BlobError {
    pub fn new(fault: Fault, detail: impl Into<String>, source: Option<BoxError>) -> Self {
        Self { fault, detail: detail.into(), source }
    }

    /// A local file operation failed.
    pub fn io(e: std::io::Error) -> Self {
        Self::new(Fault::of_io(&e), e.to_string(), Some(Box::new(e)))
    }
}

/// How a reader fetches an object by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Link {
    /// A presigned GET, valid for `expires_in_secs` from when it was made.
    Url { url: String, expires_in_secs: u64 },
    /// A file on this machine (the local server serves it).
    File { path: PathBuf },
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes the whole object; writing the same key again replaces it (a retry). Stores that
    /// keep a content type (S3) keep `content_type`.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError>;
    /// Every key under `prefix`, in lexicographic order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError>;
    /// Takes the finished file at `file` (a scratch file the caller is done with) to `key`,
    /// without holding it in memory.
    async fn put_file(&self, key: &str, file: &Path, content_type: &str) -> Result<(), BlobError>;
    /// A way for a reader to fetch `key`, made fresh on every call: a presigned GET valid for
    /// `ttl` (S3; `save_as` names the file a browser saves), or the file itself (a folder, which
    /// fails `NotFound` if there is none).
    async fn link(&self, key: &str, ttl: Duration, save_as: Option<&str>) -> Result<Link, BlobError>;
    /// Where a caller writes a file before `put_file` (the same disk as the store, if local).
    fn scratch_dir(&self) -> PathBuf;
}
