//! Monitor updates through a `ChainMonitor`: what each payment's
//! commitment dance costs the monitor side. Updates (our commitment as the
//! channel checked it, the peer's commitment as the channel built it, the
//! peer's revocation secret) are prepared outside the timed loop, then
//! applied and persisted through `MonitorUpdatingPersister` over an
//! in-memory store writing the full monitor every 100 updates, as the
//! `payments` bench of ../shared/BENCHMARKS.md persists. Prints
//! `name value unit` lines.

#[path = "../tests/monitor_common/mod.rs"]
mod monitor_common;

use lnkit::chain::monitor::{ChainMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, Watch};
use lnkit::chain::{
    BroadcasterInterface, ChannelMonitorUpdateStatus, ConfirmationTarget, FeeEstimator,
};
use lnkit::codec::Writeable;
use lnkit::logger::NullLogger;
use lnkit::persist::{InMemoryStore, MonitorUpdatingPersister};
use lnkit::sign::CurveOpStats;
use monitor_common::*;
use std::sync::Arc;
use std::time::Instant;

struct Nothing;
impl BroadcasterInterface for Nothing {
    fn broadcast_transactions(&self, _: &[&bitcoin::Transaction]) {}
}
impl FeeEstimator for Nothing {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        253
    }
}

fn main() {
    const N: u64 = 2000;
    let f = Fixture::new();
    let op = f.funding_outpoint();
    let updates: Vec<ChannelMonitorUpdate> = (1..=N)
        .map(|k| ChannelMonitorUpdate {
            update_id: k,
            updates: vec![
                ChannelMonitorUpdateStep::LatestHolderCommitment(f.holder_info_checked(k)),
                ChannelMonitorUpdateStep::LatestCounterpartyCommitment(
                    f.counterparty_info_built(k),
                ),
                ChannelMonitorUpdateStep::CommitmentSecret {
                    commitment_number: n(k - 1),
                    secret: f.b_secret(k - 1),
                },
            ],
        })
        .collect();
    let update_bytes: usize = updates.iter().map(|u| u.encode().len()).sum();
    let store = Arc::new(InMemoryStore::new());
    let cm = ChainMonitor::new(
        None,
        Arc::new(Nothing),
        Arc::new(NullLogger),
        Arc::new(Nothing),
        Arc::new(MonitorUpdatingPersister::new(store, 100)),
    );
    cm.watch_channel(op, f.monitor()).expect("new channel");
    let ops = CurveOpStats::snapshot();
    let t = Instant::now();
    for u in &updates {
        let status = cm.update_channel(op, u);
        assert_eq!(status, ChannelMonitorUpdateStatus::Completed);
    }
    let elapsed = t.elapsed().as_secs_f64();
    let ops = CurveOpStats::snapshot() - ops;
    println!("monitor_update_per_s {:.0} updates/s", N as f64 / elapsed);
    println!("monitor_update_us {:.2} us", elapsed * 1e6 / N as f64);
    println!(
        "monitor_update_bytes {:.0} bytes",
        update_bytes as f64 / N as f64
    );
    println!(
        "monitor_full_bytes {} bytes",
        cm.with_monitor(&op, |m| m.encode().len()).unwrap_or(0)
    );
    println!(
        "monitor_update_curve_ops {:.2} ops",
        ops.total() as f64 / N as f64
    );
}
