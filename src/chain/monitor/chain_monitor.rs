//! [`ChainMonitor`] and the [`Watch`] trait the channel manager uses.

use super::{ChannelMonitor, ChannelMonitorUpdate, MonitorEvent};
use crate::chain::{
    BroadcasterInterface, ChannelMonitorUpdateStatus, Confirm, FeeEstimator, Filter, Listen,
};
use crate::logger::Logger;
use crate::persist::Persist;
use crate::{log_error, log_warn};
use bitcoin::block::Header;
use bitcoin::{BlockHash, OutPoint, Transaction, Txid};
use core::fmt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Why the [`ChainMonitor`] refused a request.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorStatusError {
    /// A monitor for this funding output is already watched.
    AlreadyWatched,
    /// The monitor is for another funding output than the one given.
    FundingOutpointMismatch,
    /// No monitor for this funding output.
    UnknownChannel,
    /// This update of the channel is not in flight.
    UnknownUpdate {
        /// The update id given.
        update_id: u64,
    },
}

impl fmt::Display for MonitorStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorStatusError::AlreadyWatched => f.write_str("channel is already watched"),
            MonitorStatusError::FundingOutpointMismatch => {
                f.write_str("monitor is for another funding output")
            }
            MonitorStatusError::UnknownChannel => f.write_str("no monitor for this channel"),
            MonitorStatusError::UnknownUpdate { update_id } => {
                write!(f, "update {update_id} is not in flight")
            }
        }
    }
}
impl std::error::Error for MonitorStatusError {}

/// What the channel manager needs from the monitors.
///
/// **Persist before speak.** A [`ChannelMonitorUpdateStatus::Completed`]
/// answer means the monitor (with the update) is durably stored, and the
/// messages that depend on the update may be sent. `InProgress` means they
/// must be held until a [`MonitorEvent::Completed`] for the channel arrives
/// from [`release_pending_monitor_events`](Watch::release_pending_monitor_events).
/// `UnrecoverableError` means the channel cannot safely continue: the node
/// must stop (or at least stop this channel) and never send the message.
pub trait Watch: Send + Sync {
    /// Starts watching a new channel's monitor (before `funding_signed` /
    /// the funding broadcast). Refused if the channel is already watched.
    /// The monitor is watched whatever the persist status (it must enforce
    /// the channel even if it could not be stored); on
    /// `UnrecoverableError` the channel must not proceed.
    fn watch_channel(
        &self,
        funding_outpoint: OutPoint,
        monitor: ChannelMonitor,
    ) -> Result<ChannelMonitorUpdateStatus, MonitorStatusError>;

    /// Applies and persists an update. Ids must increase strictly per
    /// channel: after a restart, replay only updates newer than the
    /// monitor's `latest_update_id`. An update the monitor refuses (see
    /// [`MonitorUpdateError`](super::MonitorUpdateError)) answers
    /// `UnrecoverableError`: the channel and its monitor disagree.
    fn update_channel(
        &self,
        funding_outpoint: OutPoint,
        update: &ChannelMonitorUpdate,
    ) -> ChannelMonitorUpdateStatus;

    /// Takes the events produced since the last call.
    fn release_pending_monitor_events(&self) -> Vec<MonitorEvent>;
}

struct Holder {
    monitor: ChannelMonitor,
    /// Updates (or the initial persist, with the monitor's update id)
    /// whose persistence returned `InProgress` and has not completed.
    in_flight: Vec<u64>,
}

/// Keeps every [`ChannelMonitor`] by funding output, persists each change
/// through a [`Persist`], and feeds them blocks ([`Listen`] or
/// [`Confirm`]). `Send + Sync`; each monitor has its own lock.
pub struct ChainMonitor {
    monitors: RwLock<HashMap<OutPoint, Mutex<Holder>>>,
    persister: Arc<dyn Persist>,
    broadcaster: Arc<dyn BroadcasterInterface>,
    fee_estimator: Arc<dyn FeeEstimator>,
    logger: Arc<dyn Logger>,
    filter: Option<Arc<dyn Filter>>,
    pending_events: Mutex<Vec<MonitorEvent>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ChainMonitor {
    /// A chain monitor. Give `filter` when blocks come from a light
    /// client ([`Confirm`]), so it learns which outputs to watch.
    pub fn new(
        filter: Option<Arc<dyn Filter>>,
        broadcaster: Arc<dyn BroadcasterInterface>,
        logger: Arc<dyn Logger>,
        fee_estimator: Arc<dyn FeeEstimator>,
        persister: Arc<dyn Persist>,
    ) -> Self {
        ChainMonitor {
            monitors: RwLock::new(HashMap::new()),
            persister,
            broadcaster,
            fee_estimator,
            logger,
            filter,
            pending_events: Mutex::new(Vec::new()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<OutPoint, Mutex<Holder>>> {
        self.monitors.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The funding outputs of every watched channel.
    pub fn list_monitors(&self) -> Vec<OutPoint> {
        self.read().keys().copied().collect()
    }

    /// Runs `f` on the monitor of `funding_outpoint`, if watched.
    pub fn with_monitor<R>(
        &self,
        funding_outpoint: &OutPoint,
        f: impl FnOnce(&ChannelMonitor) -> R,
    ) -> Option<R> {
        self.read()
            .get(funding_outpoint)
            .map(|h| f(&lock(h).monitor))
    }

    /// The update ids of the channel whose persistence is still in flight.
    pub fn pending_update_ids(&self, funding_outpoint: &OutPoint) -> Vec<u64> {
        self.read()
            .get(funding_outpoint)
            .map(|h| lock(h).in_flight.clone())
            .unwrap_or_default()
    }

    /// The persister finished update `update_id` of the channel (one that
    /// returned `InProgress`; for the initial persist, the monitor's
    /// update id at `watch_channel`). Once no update of the channel is in
    /// flight, a [`MonitorEvent::Completed`] with the channel's latest
    /// update id is queued.
    pub fn channel_monitor_updated(
        &self,
        funding_outpoint: OutPoint,
        update_id: u64,
    ) -> Result<(), MonitorStatusError> {
        let monitors = self.read();
        let holder = monitors
            .get(&funding_outpoint)
            .ok_or(MonitorStatusError::UnknownChannel)?;
        let mut h = lock(holder);
        let pos = h
            .in_flight
            .iter()
            .position(|id| *id == update_id)
            .ok_or(MonitorStatusError::UnknownUpdate { update_id })?;
        h.in_flight.remove(pos);
        if h.in_flight.is_empty() {
            let monitor_update_id = h.monitor.latest_update_id();
            lock(&self.pending_events).push(MonitorEvent::Completed {
                funding_outpoint,
                monitor_update_id,
            });
        }
        Ok(())
    }

    /// Broadcasts again our latest commitment of every force-closed
    /// channel whose funding output is not spent yet (call on a timer: a
    /// broadcast can be dropped by the mempool or lost while offline).
    /// Returns how many commitments were rebroadcast.
    pub fn rebroadcast_pending_claims(&self) -> usize {
        let mut n = 0;
        for (outpoint, holder) in self.read().iter() {
            let h = lock(holder);
            if !h.monitor.is_force_closed() || h.monitor.funding_spend().is_some() {
                continue;
            }
            match h.monitor.get_latest_holder_commitment_txn() {
                Ok(txs) => {
                    let refs: Vec<&Transaction> = txs.iter().collect();
                    self.broadcaster.broadcast_transactions(&refs);
                    n += 1;
                }
                Err(e) => log_error!(
                    self.logger,
                    "cannot sign the commitment of {} for rebroadcast: {}",
                    outpoint,
                    e
                ),
            }
        }
        n
    }

    /// Runs `f` on every monitor and persists those it changed.
    fn for_each_monitor(&self, mut f: impl FnMut(&mut ChannelMonitor) -> bool) {
        for (outpoint, holder) in self.read().iter() {
            let mut h = lock(holder);
            let changed = f(&mut h.monitor);
            let outputs = h.monitor.take_outputs_to_watch();
            if let Some(filter) = &self.filter {
                for o in outputs {
                    filter.register_output(o);
                }
            }
            if changed {
                let status = self
                    .persister
                    .update_persisted_channel(*outpoint, None, &h.monitor);
                if status != ChannelMonitorUpdateStatus::Completed {
                    log_warn!(
                        self.logger,
                        "persisting monitor {} after a chain event: {:?}",
                        outpoint,
                        status
                    );
                }
            }
        }
    }
}

impl Watch for ChainMonitor {
    fn watch_channel(
        &self,
        funding_outpoint: OutPoint,
        monitor: ChannelMonitor,
    ) -> Result<ChannelMonitorUpdateStatus, MonitorStatusError> {
        if monitor.funding_outpoint() != funding_outpoint {
            return Err(MonitorStatusError::FundingOutpointMismatch);
        }
        let mut monitors = self.monitors.write().unwrap_or_else(|e| e.into_inner());
        if monitors.contains_key(&funding_outpoint) {
            return Err(MonitorStatusError::AlreadyWatched);
        }
        let status = self
            .persister
            .persist_new_channel(funding_outpoint, &monitor);
        if status == ChannelMonitorUpdateStatus::UnrecoverableError {
            log_error!(
                self.logger,
                "cannot persist new monitor {}",
                funding_outpoint
            );
        }
        if let Some(filter) = &self.filter {
            monitor.load_outputs_to_watch(&**filter);
        }
        let in_flight = if status == ChannelMonitorUpdateStatus::InProgress {
            vec![monitor.latest_update_id()]
        } else {
            Vec::new()
        };
        monitors.insert(funding_outpoint, Mutex::new(Holder { monitor, in_flight }));
        Ok(status)
    }

    fn update_channel(
        &self,
        funding_outpoint: OutPoint,
        update: &ChannelMonitorUpdate,
    ) -> ChannelMonitorUpdateStatus {
        let monitors = self.read();
        let Some(holder) = monitors.get(&funding_outpoint) else {
            log_error!(
                self.logger,
                "update {} for unknown channel {}",
                update.update_id,
                funding_outpoint
            );
            return ChannelMonitorUpdateStatus::UnrecoverableError;
        };
        let mut h = lock(holder);
        let applied = h.monitor.update_monitor(
            update,
            &*self.broadcaster,
            &*self.fee_estimator,
            &*self.logger,
        );
        if let Err(e) = applied {
            // The channel and its monitor disagree: keep what was applied
            // (a force close may have broadcast) but never let the
            // dependent message go out.
            if !matches!(e, super::MonitorUpdateError::UpdateIdNotIncreasing { .. }) {
                let _ = self.persister.update_persisted_channel(
                    funding_outpoint,
                    Some(update),
                    &h.monitor,
                );
            }
            return ChannelMonitorUpdateStatus::UnrecoverableError;
        }
        let status =
            self.persister
                .update_persisted_channel(funding_outpoint, Some(update), &h.monitor);
        match status {
            ChannelMonitorUpdateStatus::InProgress => h.in_flight.push(update.update_id),
            ChannelMonitorUpdateStatus::UnrecoverableError => log_error!(
                self.logger,
                "cannot persist update {} of {}",
                update.update_id,
                funding_outpoint
            ),
            ChannelMonitorUpdateStatus::Completed => {}
        }
        status
    }

    fn release_pending_monitor_events(&self) -> Vec<MonitorEvent> {
        let mut events = std::mem::take(&mut *lock(&self.pending_events));
        for holder in self.read().values() {
            events.extend(lock(holder).monitor.get_and_clear_pending_events());
        }
        events
    }
}

impl Listen for ChainMonitor {
    fn filtered_block_connected(
        &self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
    ) {
        self.for_each_monitor(|m| {
            m.block_connected(
                header,
                txdata,
                height,
                &*self.broadcaster,
                &*self.fee_estimator,
                &*self.logger,
            )
        });
    }

    fn block_disconnected(&self, header: &Header, height: u32) {
        self.for_each_monitor(|m| m.block_disconnected(header, height));
    }
}

impl Confirm for ChainMonitor {
    fn transactions_confirmed(
        &self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
    ) {
        self.for_each_monitor(|m| {
            m.transactions_confirmed(
                header,
                txdata,
                height,
                &*self.broadcaster,
                &*self.fee_estimator,
                &*self.logger,
            )
        });
    }

    fn transaction_unconfirmed(&self, txid: &Txid) {
        self.for_each_monitor(|m| m.transaction_unconfirmed(txid));
    }

    fn best_block_updated(&self, header: &Header, height: u32) {
        self.for_each_monitor(|m| {
            m.best_block_updated(header, height);
            false
        });
    }

    fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
        let mut out = Vec::new();
        for holder in self.read().values() {
            out.extend(lock(holder).monitor.get_relevant_txids());
        }
        out
    }
}
