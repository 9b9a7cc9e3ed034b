//! Storage: the [`KVStore`] a wallet provides (or one of ours), and the
//! [`Persist`] trait through which a [`ChainMonitor`](crate::chain::monitor::ChainMonitor)
//! saves channel monitors.
//!
//! - [`KVStore`]: bytes by `(namespace, key)`; [`InMemoryStore`] and
//!   [`FilesystemStore`] (atomic writes: temp file, fsync, rename, fsync
//!   of the directory).
//! - [`Persist`]: saves a whole [`ChannelMonitor`] when created and after
//!   every update; [`KVStorePersister`] writes the whole monitor each
//!   time, [`MonitorUpdatingPersister`] writes only the update and the
//!   whole monitor every few updates.
//!
//! Persist before speak: a `Persist` implementation answers
//! [`ChannelMonitorUpdateStatus::Completed`] only once the data is durable
//! (it survives a crash or power loss). Messages to the peer that depend on
//! the update are held until then.

mod fs;
mod memory;
mod update_log;

pub use fs::FilesystemStore;
pub use memory::InMemoryStore;
pub use update_log::MonitorUpdatingPersister;

use crate::chain::monitor::{ChannelMonitor, ChannelMonitorUpdate};
use crate::chain::ChannelMonitorUpdateStatus;
use crate::codec::Writeable;
use crate::sign::SignerProvider;
use bitcoin::OutPoint;
use std::io;
use std::sync::Arc;

/// The longest namespace or key a [`KVStore`] must accept.
pub const KVSTORE_MAX_KEY_LEN: usize = 120;

/// Whether `s` is a valid key (or non-empty namespace): 1 to
/// [`KVSTORE_MAX_KEY_LEN`] characters of `A-Z a-z 0-9 _ -`. Stores refuse
/// anything else, so keys map safely to file names.
pub fn is_valid_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= KVSTORE_MAX_KEY_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `InvalidInput` unless `namespace` and `key` are valid.
pub(crate) fn check_key(namespace: &str, key: Option<&str>) -> io::Result<()> {
    if !is_valid_key(namespace) || key.is_some_and(|k| !is_valid_key(k)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "kvstore namespaces and keys are 1-120 characters of A-Z a-z 0-9 _ -",
        ));
    }
    Ok(())
}

/// A durable key-value store, by namespace and key (see [`is_valid_key`]).
/// `write` must be atomic (a reader sees the old or the new value, never a
/// mix) and durable when it returns.
pub trait KVStore: Send + Sync {
    /// The value at `key`; `NotFound` if there is none.
    fn read(&self, namespace: &str, key: &str) -> io::Result<Vec<u8>>;
    /// Replaces the value at `key`, atomically and durably.
    fn write(&self, namespace: &str, key: &str, value: &[u8]) -> io::Result<()>;
    /// Removes `key`; removing a missing key is not an error.
    fn remove(&self, namespace: &str, key: &str) -> io::Result<()>;
    /// The keys in `namespace`, sorted.
    fn list(&self, namespace: &str) -> io::Result<Vec<String>>;
}

/// Saves channel monitors. Called by the `ChainMonitor` with the monitor
/// already updated.
///
/// Return [`ChannelMonitorUpdateStatus::Completed`] only when the data is
/// durable; return `InProgress` when it is being written in the background
/// and call `ChainMonitor::channel_monitor_updated` once it is; return
/// `UnrecoverableError` if it can never be written (the node must stop).
pub trait Persist: Send + Sync {
    /// A new channel's monitor.
    fn persist_new_channel(
        &self,
        funding_outpoint: OutPoint,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus;
    /// A monitor after `update` (or after a chain event when `update` is
    /// `None`).
    fn update_persisted_channel(
        &self,
        funding_outpoint: OutPoint,
        update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus;
}

/// The namespace [`KVStorePersister`] keeps monitors in.
pub const MONITOR_NAMESPACE: &str = "monitors";

/// The key of a monitor: `<funding txid>_<output index>`.
pub fn monitor_key(funding_outpoint: &OutPoint) -> String {
    format!("{}_{}", funding_outpoint.txid, funding_outpoint.vout)
}

/// A [`Persist`] that writes the whole monitor to a [`KVStore`] on every
/// change, synchronously. Simple and always consistent;
/// [`MonitorUpdatingPersister`] writes less per payment.
#[derive(Clone)]
pub struct KVStorePersister {
    store: Arc<dyn KVStore>,
}

impl KVStorePersister {
    /// A persister over `store`.
    pub fn new(store: Arc<dyn KVStore>) -> Self {
        KVStorePersister { store }
    }

    /// Reads every monitor in the store (on startup), restoring signers
    /// through `signer_provider`. A monitor that does not decode, or is
    /// stored under another channel's key, is an `InvalidData` error: never
    /// skip a channel silently.
    pub fn read_all_monitors(
        &self,
        signer_provider: &dyn SignerProvider,
    ) -> io::Result<Vec<ChannelMonitor>> {
        let mut out = Vec::new();
        for key in self.store.list(MONITOR_NAMESPACE)? {
            let bytes = self.store.read(MONITOR_NAMESPACE, &key)?;
            let m = ChannelMonitor::read(&bytes, signer_provider).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("monitor {key} does not decode: {e}"),
                )
            })?;
            if monitor_key(&m.funding_outpoint()) != key {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("monitor stored under {key} is for {}", m.funding_outpoint()),
                ));
            }
            out.push(m);
        }
        Ok(out)
    }

    fn save(
        &self,
        funding_outpoint: OutPoint,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        match self.store.write(
            MONITOR_NAMESPACE,
            &monitor_key(&funding_outpoint),
            &monitor.encode(),
        ) {
            Ok(()) => ChannelMonitorUpdateStatus::Completed,
            Err(_) => ChannelMonitorUpdateStatus::UnrecoverableError,
        }
    }
}

impl Persist for KVStorePersister {
    fn persist_new_channel(
        &self,
        funding_outpoint: OutPoint,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        self.save(funding_outpoint, monitor)
    }
    fn update_persisted_channel(
        &self,
        funding_outpoint: OutPoint,
        _update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        self.save(funding_outpoint, monitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_restricted_to_safe_characters() {
        assert!(is_valid_key("monitors"));
        assert!(is_valid_key("a-b_C9"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("../x"));
        assert!(!is_valid_key("a/b"));
        assert!(!is_valid_key(".tmp"));
        assert!(!is_valid_key(&"a".repeat(121)));
        assert!(is_valid_key(&"a".repeat(120)));
    }
}
