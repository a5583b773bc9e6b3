//! Object storage in a local folder: the local server's archive (`DATA_DIR/archive`) and export
//! files (`DATA_DIR`, so they land in `DATA_DIR/exports/<job id>/`). Writes are atomic
//! (temporary file, then rename), so a crash never leaves half an object.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use super::{BlobError, BlobStore, Link};
use crate::errors::Fault;

/// Objects in a folder; keys are paths under it. Content types are not kept (a folder has none).
#[derive(Debug, Clone)]
pub struct DirBlobStore {
    root: PathBuf,
}

impl DirBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        // Keys are ours, but never let one climb out of the root.
        if key.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(BlobError::new(Fault::Refused, format!("invalid key {key:?}"), None));
        }
        Ok(self.root.join(key))
    }
}

/// The blocking task itself failed (a panic, a runtime shutting down).
fn task_error(e: tokio::task::JoinError) -> BlobError {
    BlobError::new(Fault::Unavailable, e.to_string(), Some(Box::new(e)))
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, root, out)?;
        } else if path.extension().is_none_or(|e| e != "tmp") {
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(())
}

#[async_trait]
impl BlobStore for DirBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(path.parent().expect("keys have a parent"))?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, &bytes)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(task_error)?
        .map_err(BlobError::io)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::io(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        // Only the folder the prefix names is walked (a conversation's, not the whole archive).
        let start = match prefix.rsplit_once('/') {
            Some((dir, _)) if !dir.is_empty() => self.path(dir)?,
            _ => root.clone(),
        };
        tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            walk(&start, &root, &mut keys)?;
            keys.retain(|k| k.starts_with(&prefix));
            keys.sort();
            Ok(keys)
        })
        .await
        .map_err(task_error)?
        .map_err(BlobError::io)
    }

    async fn put_file(&self, key: &str, file: &Path, _content_type: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        tokio::fs::create_dir_all(path.parent().expect("keys have a parent")).await.map_err(BlobError::io)?;
        // Same disk (the scratch dir is inside the root): a rename, never half a file.
        tokio::fs::rename(file, &path).await.map_err(BlobError::io)
    }

    /// The file itself: a folder has no links of its own, and none expire.
    async fn link(&self, key: &str, _ttl: Duration, _save_as: Option<&str>) -> Result<Link, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::try_exists(&path).await {
            Ok(true) => Ok(Link::File { path }),
            Ok(false) => Err(BlobError::new(Fault::NotFound, format!("{} is missing", path.display()), None)),
            Err(e) => Err(BlobError::io(e)),
        }
    }

    fn scratch_dir(&self) -> PathBuf {
        self.root.join(".export-tmp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export_job::Format;

    #[tokio::test]
    async fn a_dir_output_moves_the_file_under_its_key_and_refuses_escapes() {
        let root = tempfile::tempdir().unwrap();
        let output = DirBlobStore::new(root.path());
        std::fs::create_dir_all(output.scratch_dir()).unwrap();
        let scratch = output.scratch_dir().join("x.csv");
        std::fs::write(&scratch, "a,b\n").unwrap();
        output.put_file("exports/j/x.csv", &scratch, Format::Csv.content_type()).await.unwrap();
        let Link::File { path } = output.link("exports/j/x.csv", Duration::from_secs(900), None).await.unwrap() else {
            panic!("a file link")
        };
        assert_eq!(std::fs::read_to_string(path).unwrap(), "a,b\n");
        assert!(!scratch.exists());
        assert!(output.link("../etc/passwd", Duration::from_secs(900), None).await.is_err());
    }
}
