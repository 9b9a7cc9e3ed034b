//! [`InMemoryStore`]: a [`KVStore`] in memory, for tests and ephemeral nodes.

use super::{check_key, KVStore};
use std::collections::BTreeMap;
use std::io;
use std::sync::Mutex;

/// A [`KVStore`] held in memory (lost on exit). Writes are atomic.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    data: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn data(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Vec<u8>>> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl KVStore for InMemoryStore {
    fn read(&self, namespace: &str, key: &str) -> io::Result<Vec<u8>> {
        check_key(namespace, Some(key))?;
        self.data()
            .get(&(namespace.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such key"))
    }
    fn write(&self, namespace: &str, key: &str, value: &[u8]) -> io::Result<()> {
        check_key(namespace, Some(key))?;
        self.data()
            .insert((namespace.to_owned(), key.to_owned()), value.to_vec());
        Ok(())
    }
    fn remove(&self, namespace: &str, key: &str) -> io::Result<()> {
        check_key(namespace, Some(key))?;
        self.data().remove(&(namespace.to_owned(), key.to_owned()));
        Ok(())
    }
    fn list(&self, namespace: &str) -> io::Result<Vec<String>> {
        check_key(namespace, None)?;
        Ok(self
            .data()
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, k)| k.clone())
            .collect())
    }
}
