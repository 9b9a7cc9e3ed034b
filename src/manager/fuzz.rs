//! Fuzz entry point for the manager's persisted form (wired into the
//! `fuzz/` crate by the lead).

use super::{ChannelManager, ChannelManagerDeps};
use crate::chain::monitor::{
    ChannelMonitor, ChannelMonitorUpdate, MonitorEvent, MonitorStatusError, Watch,
};
use crate::chain::{
    BroadcasterInterface, ChannelMonitorUpdateStatus, ConfirmationTarget, FeeEstimator,
};
use crate::config::UserConfig;
use crate::gossip::NodeId;
use crate::logger::NullLogger;
use crate::routing::{FirstHop, InFlightHtlcs, Route, RouteError, RouteParameters, Router};
use crate::sign::KeysManager;
use bitcoin::{OutPoint, Transaction};
use std::sync::Arc;

/// The chain side of a manager that is only read: no fees to estimate, no
/// monitors to watch, nothing to broadcast, no routes.
struct Inert;

impl FeeEstimator for Inert {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        253
    }
}

impl BroadcasterInterface for Inert {
    fn broadcast_transactions(&self, _: &[&Transaction]) {}
}

impl Watch for Inert {
    fn watch_channel(
        &self,
        _: OutPoint,
        _: ChannelMonitor,
    ) -> Result<ChannelMonitorUpdateStatus, MonitorStatusError> {
        Ok(ChannelMonitorUpdateStatus::Completed)
    }
    fn update_channel(&self, _: OutPoint, _: &ChannelMonitorUpdate) -> ChannelMonitorUpdateStatus {
        ChannelMonitorUpdateStatus::Completed
    }
    fn release_pending_monitor_events(&self) -> Vec<MonitorEvent> {
        Vec::new()
    }
}

impl Router for Inert {
    fn find_route(
        &self,
        _: &NodeId,
        _: &RouteParameters,
        _: Option<&[FirstHop]>,
        _: InFlightHtlcs,
    ) -> Result<Route, RouteError> {
        Err(RouteError::NoRoute)
    }
}

/// A dependency set with a fixed-seed `KeysManager` and inert chain side.
fn deps() -> ChannelManagerDeps {
    let keys = Arc::new(KeysManager::new(&[1; 32], 0, 0));
    let inert = Arc::new(Inert);
    ChannelManagerDeps {
        fee_estimator: inert.clone(),
        chain_monitor: inert.clone(),
        broadcaster: inert.clone(),
        router: inert,
        logger: Arc::new(NullLogger),
        entropy_source: keys.clone(),
        node_signer: keys.clone(),
        signer_provider: keys,
    }
}

/// Reads arbitrary bytes as a persisted [`ChannelManager`] with no
/// monitors (so any channel record is refused once decoded, after its own
/// decoder ran). Must never panic; whatever reads must re-encode to bytes
/// that read back and re-encode identically.
pub fn fuzz_manager_read(data: &[u8]) {
    let config = UserConfig::default();
    if let Ok(m) = ChannelManager::read(data, deps(), config, Vec::new()) {
        let once = m.encode();
        let again = ChannelManager::read(&once, deps(), config, Vec::new())
            .expect("a written manager reads back");
        assert_eq!(again.encode(), once);
        // The read manager must answer its queries.
        let _ = m.list_channels();
        let _ = m.get_and_clear_pending_events();
    }
}
