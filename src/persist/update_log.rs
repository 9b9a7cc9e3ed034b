//! [`MonitorUpdatingPersister`]: persists each monitor update as a small
//! record and the whole monitor only every few updates.

use super::{monitor_key, KVStore, Persist, MONITOR_NAMESPACE};
use crate::chain::monitor::{ChannelMonitor, ChannelMonitorUpdate};
use crate::chain::{BroadcasterInterface, ChannelMonitorUpdateStatus, FeeEstimator};
use crate::codec::Writeable;
use crate::log_warn;
use crate::logger::Logger;
use crate::sign::SignerProvider;
use bitcoin::OutPoint;
use std::io;
use std::sync::Arc;

/// A [`Persist`] that writes each [`ChannelMonitorUpdate`] under its own
/// key (a few hundred bytes) and the full monitor only when the update id
/// is a multiple of `maximum_pending_updates` or after a chain event,
/// deleting the update records the full monitor then covers.
///
/// Layout: the monitor at (`monitors`, `<txid>_<vout>`), its updates at
/// (`upd_<txid>_<vout>`, `<update id, 20 digits>`). Every write is a
/// single atomic [`KVStore::write`], so a crash leaves either the old or
/// the new record; stale update records (ids the stored monitor already
/// has) are skipped on read and removed at the next full write.
#[derive(Clone)]
pub struct MonitorUpdatingPersister {
    store: Arc<dyn KVStore>,
    maximum_pending_updates: u64,
}

fn update_namespace(funding_outpoint: &OutPoint) -> String {
    format!("upd_{}", monitor_key(funding_outpoint))
}

fn update_key(update_id: u64) -> String {
    format!("{update_id:020}")
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl MonitorUpdatingPersister {
    /// A persister over `store` writing the full monitor every
    /// `maximum_pending_updates` updates (at least 1).
    pub fn new(store: Arc<dyn KVStore>, maximum_pending_updates: u64) -> Self {
        MonitorUpdatingPersister {
            store,
            maximum_pending_updates: maximum_pending_updates.max(1),
        }
    }

    fn write_full(&self, funding_outpoint: &OutPoint, monitor: &ChannelMonitor) -> io::Result<()> {
        self.store.write(
            MONITOR_NAMESPACE,
            &monitor_key(funding_outpoint),
            &monitor.encode(),
        )?;
        // The update records up to this monitor are now redundant.
        let ns = update_namespace(funding_outpoint);
        for key in self.store.list(&ns)? {
            if key
                .parse::<u64>()
                .is_ok_and(|id| id <= monitor.latest_update_id())
            {
                self.store.remove(&ns, &key)?;
            }
        }
        Ok(())
    }

    fn status(r: io::Result<()>) -> ChannelMonitorUpdateStatus {
        match r {
            Ok(()) => ChannelMonitorUpdateStatus::Completed,
            Err(_) => ChannelMonitorUpdateStatus::UnrecoverableError,
        }
    }

    /// Reads every monitor and replays its pending update records in id
    /// order (on startup). An update that fails to apply failed the same
    /// way when it was first applied (monitors are deterministic), so it is
    /// logged and replay goes on, reproducing the state before the
    /// restart. A replayed force close broadcasts again, which is harmless.
    pub fn read_all_monitors(
        &self,
        signer_provider: &dyn SignerProvider,
        broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator,
        logger: &dyn Logger,
    ) -> io::Result<Vec<ChannelMonitor>> {
        let mut out = Vec::new();
        for key in self.store.list(MONITOR_NAMESPACE)? {
            let bytes = self.store.read(MONITOR_NAMESPACE, &key)?;
            let mut m = ChannelMonitor::read(&bytes, signer_provider)
                .map_err(|e| invalid(format!("monitor {key} does not decode: {e}")))?;
            let op = m.funding_outpoint();
            if monitor_key(&op) != key {
                return Err(invalid(format!("monitor stored under {key} is for {op}")));
            }
            let ns = update_namespace(&op);
            let mut ids: Vec<u64> = Vec::new();
            for k in self.store.list(&ns)? {
                ids.push(
                    k.parse()
                        .map_err(|_| invalid(format!("update key {ns}/{k} is not an id")))?,
                );
            }
            ids.sort_unstable();
            let stored = m.latest_update_id();
            for id in ids.into_iter().filter(|id| *id > stored) {
                let bytes = self.store.read(&ns, &update_key(id))?;
                let update = ChannelMonitorUpdate::decode(&bytes)
                    .map_err(|e| invalid(format!("update {ns}/{id} does not decode: {e}")))?;
                if update.update_id != id {
                    return Err(invalid(format!(
                        "update {ns}/{id} holds id {}",
                        update.update_id
                    )));
                }
                if let Err(e) = m.update_monitor(&update, broadcaster, fee_estimator, logger) {
                    log_warn!(logger, "replaying update {} of {}: {}", id, op, e);
                }
            }
            out.push(m);
        }
        Ok(out)
    }
}

impl Persist for MonitorUpdatingPersister {
    fn persist_new_channel(
        &self,
        funding_outpoint: OutPoint,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        Self::status(self.write_full(&funding_outpoint, monitor))
    }

    fn update_persisted_channel(
        &self,
        funding_outpoint: OutPoint,
        update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        match update {
            Some(u) if u.update_id % self.maximum_pending_updates != 0 => {
                Self::status(self.store.write(
                    &update_namespace(&funding_outpoint),
                    &update_key(u.update_id),
                    &u.encode(),
                ))
            }
            _ => Self::status(self.write_full(&funding_outpoint, monitor)),
        }
    }
}
