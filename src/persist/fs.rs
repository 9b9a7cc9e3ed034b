//! [`FilesystemStore`]: a [`KVStore`] of one file per key.

use super::{check_key, is_valid_key, KVStore};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A [`KVStore`] keeping each value in `<root>/<namespace>/<key>`.
///
/// A write goes to a temporary file in the same directory (named with a
/// leading `.`, which no key has), is fsynced, renamed over the key (atomic
/// on POSIX file systems), and the directory is fsynced so the rename
/// itself survives a crash. A crash mid-write leaves the old value and at
/// worst a stray temporary file, which [`list`](KVStore::list) ignores.
#[derive(Debug)]
pub struct FilesystemStore {
    root: PathBuf,
    tmp_counter: AtomicU64,
}

impl FilesystemStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FilesystemStore {
            root: root.into(),
            tmp_counter: AtomicU64::new(0),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, namespace: &str) -> PathBuf {
        self.root.join(namespace)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    // Directories can be opened and fsynced on Unix; elsewhere skip.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl KVStore for FilesystemStore {
    fn read(&self, namespace: &str, key: &str) -> io::Result<Vec<u8>> {
        check_key(namespace, Some(key))?;
        fs::read(self.dir(namespace).join(key))
    }

    fn write(&self, namespace: &str, key: &str, value: &[u8]) -> io::Result<()> {
        check_key(namespace, Some(key))?;
        let dir = self.dir(namespace);
        fs::create_dir_all(&dir)?;
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{key}.{}.{n}.tmp", std::process::id()));
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(value)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, dir.join(key))?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn remove(&self, namespace: &str, key: &str) -> io::Result<()> {
        check_key(namespace, Some(key))?;
        let dir = self.dir(namespace);
        match fs::remove_file(dir.join(key)) {
            Ok(()) => sync_dir(&dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn list(&self, namespace: &str) -> io::Result<Vec<String>> {
        check_key(namespace, None)?;
        let entries = match fs::read_dir(self.dir(namespace)) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str() {
                if is_valid_key(name) {
                    keys.push(name.to_owned());
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}
