//! Where finished export files go and how a reader gets them: the port, and the local-folder
//! adapter (keys under `DATA_DIR`, so files land in `DATA_DIR/exports/<job id>/`). The S3 adapter is in `super::s3`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Serialize;

use super::ExportError;
use crate::domain::export_job::Format;
use crate::errors::Fault;

/// How a finished export is fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportLink {
    /// A presigned GET, valid for `expires_in_secs` from when it was made.
    Url { url: String, expires_in_secs: u64 },
    /// A file on this machine (the local server serves it).
    File { path: PathBuf },
}

#[async_trait]
pub trait ExportOutput: Send + Sync {
    /// Takes the finished file at `file` (a scratch file the caller is done with) to `key`.
    async fn put_file(&self, key: &str, file: &Path, format: Format) -> Result<(), ExportError>;
    /// A way for the requester to fetch `key`; made fresh on every call.
    async fn link(&self, key: &str) -> Result<ExportLink, ExportError>;
    /// Where the runner writes before `put_file` (the same disk as the output, if local).
    fn scratch_dir(&self) -> PathBuf;
}

/// Exports in a local folder; keys are paths under it.
#[derive(Debug, Clone)]
pub struct DirOutput {
    root: PathBuf,
}

impl DirOutput {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, ExportError> {
        // Keys are ours, but never let one climb out of the root.
        if key.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(ExportError::storage(Fault::Refused, format!("invalid key {key:?}"), None));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl ExportOutput for DirOutput {
    async fn put_file(&self, key: &str, file: &Path, _format: Format) -> Result<(), ExportError> {
        let path = self.path(key)?;
        tokio::fs::create_dir_all(path.parent().expect("keys have a parent")).await.map_err(ExportError::storage_io)?;
        // Same disk (the scratch dir is inside the root): a rename, never half a file.
        tokio::fs::rename(file, &path).await.map_err(ExportError::storage_io)
    }

    async fn link(&self, key: &str) -> Result<ExportLink, ExportError> {
        let path = self.path(key)?;
        match tokio::fs::try_exists(&path).await {
            Ok(true) => Ok(ExportLink::File { path }),
            Ok(false) => Err(ExportError::storage(Fault::NotFound, format!("{} is missing", path.display()), None)),
            Err(e) => Err(ExportError::storage_io(e)),
        }
    }

    fn scratch_dir(&self) -> PathBuf {
        self.root.join(".export-tmp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dir_output_moves_the_file_under_its_key_and_refuses_escapes() {
        let root = tempfile::tempdir().unwrap();
        let output = DirOutput::new(root.path());
        std::fs::create_dir_all(output.scratch_dir()).unwrap();
        let scratch = output.scratch_dir().join("x.csv");
        std::fs::write(&scratch, "a,b\n").unwrap();
        output.put_file("exports/j/x.csv", &scratch, Format::Csv).await.unwrap();
        let ExportLink::File { path } = output.link("exports/j/x.csv").await.unwrap() else { panic!("a file link") };
        assert_eq!(std::fs::read_to_string(path).unwrap(), "a,b\n");
        assert!(!scratch.exists());
        assert!(output.link("../etc/passwd").await.is_err());
    }
}
