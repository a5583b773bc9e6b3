//! Archive in a local folder (the local server's `DATA_DIR/archive`). Writes are atomic
//! (temporary file, then rename), so a crash never leaves half an object.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{ArchiveError, ArchiveStore};
use crate::errors::Fault;

#[derive(Debug, Clone)]
pub struct DirArchive {
    root: PathBuf,
}

impl DirArchive {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, ArchiveError> {
        // Keys are ours, but never let one climb out of the root.
        if key.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(ArchiveError::Storage { fault: Fault::Refused, detail: format!("invalid key {key:?}"), source: None });
        }
        Ok(self.root.join(key))
    }
}

fn io_error(e: std::io::Error) -> ArchiveError {
    ArchiveError::storage(Fault::of_io(&e), e.to_string(), e)
}

/// The blocking task itself failed (a panic, a runtime shutting down).
fn task_error(e: tokio::task::JoinError) -> ArchiveError {
    ArchiveError::storage(Fault::Unavailable, e.to_string(), e)
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
impl ArchiveStore for DirArchive {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
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
        .map_err(io_error)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ArchiveError> {
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
        .map_err(io_error)
    }
}
