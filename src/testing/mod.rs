//! A public test harness (cargo feature `testing`) for wallet developers'
//! own tests and lnkit's: a [`MockChain`] that mines real blocks, and test
//! doubles for every chain-side dependency.
//!
//! - [`MockChain`]: a regtest chain in memory; a broadcaster whose mempool
//!   [`mine_blocks`](MockChain::mine_blocks) confirms; reorgs on demand;
//!   feeds registered [`Listen`](crate::chain::Listen)ers.
//! - [`TestBroadcaster`]: records broadcasts.
//! - [`TestFeeEstimator`]: one settable fee rate for every target.
//! - [`TestLogger`]: records log lines for assertions.
//! - [`TestPersister`]: a [`Persist`] with a switch to answer
//!   `InProgress` or fail, keeping the latest bytes of each monitor.
//!
//! ```
//! use lnkit::chain::BroadcasterInterface;
//! use lnkit::testing::MockChain;
//! # use lnkit::bitcoin::{absolute::LockTime, transaction::Version, Transaction};
//! let chain = MockChain::new();
//! let tx = Transaction { version: Version::TWO, lock_time: LockTime::ZERO, input: vec![], output: vec![] };
//! chain.broadcast_transactions(&[&tx]);
//! chain.mine_blocks(6);
//! assert_eq!(chain.confirmations(&tx.compute_txid()), Some(6));
//! ```

mod chain;
mod network;

pub use chain::{anyone_can_spend_script, ChainListener, MockChain};
pub use network::{deliver, Hook, Network, NetworkPersister, Node};

use crate::chain::monitor::{ChannelMonitor, ChannelMonitorUpdate};
use crate::chain::{
    BroadcasterInterface, ChannelMonitorUpdateStatus, ConfirmationTarget, FeeEstimator,
};
use crate::codec::Writeable;
use crate::logger::{Level, Logger, Record};
use crate::persist::Persist;
use bitcoin::{OutPoint, Transaction};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A [`BroadcasterInterface`] that records what it is given.
#[derive(Debug, Default)]
pub struct TestBroadcaster {
    txs: Mutex<Vec<Transaction>>,
}

impl TestBroadcaster {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Everything broadcast so far, in order.
    pub fn txn_broadcasted(&self) -> Vec<Transaction> {
        lock(&self.txs).clone()
    }
    /// Takes and clears what was broadcast.
    pub fn take(&self) -> Vec<Transaction> {
        std::mem::take(&mut *lock(&self.txs))
    }
}

impl BroadcasterInterface for TestBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        lock(&self.txs).extend(txs.iter().map(|t| (*t).clone()));
    }
}

/// A [`FeeEstimator`] answering one fee rate (sat/kW) for every target.
#[derive(Debug)]
pub struct TestFeeEstimator {
    sat_per_kw: AtomicU32,
}

impl TestFeeEstimator {
    /// Answers `sat_per_kw`.
    pub fn new(sat_per_kw: u32) -> Self {
        TestFeeEstimator {
            sat_per_kw: AtomicU32::new(sat_per_kw),
        }
    }
    /// Changes the answer.
    pub fn set(&self, sat_per_kw: u32) {
        self.sat_per_kw.store(sat_per_kw, Ordering::Relaxed);
    }
}

impl FeeEstimator for TestFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, _target: ConfirmationTarget) -> u32 {
        self.sat_per_kw.load(Ordering::Relaxed)
    }
}

/// A [`Logger`] that keeps every line (and prints them to stderr if asked).
#[derive(Debug, Default)]
pub struct TestLogger {
    lines: Mutex<Vec<(Level, String)>>,
    print: bool,
}

impl TestLogger {
    /// A silent recorder.
    pub fn new() -> Self {
        Self::default()
    }
    /// A recorder that also prints each line to stderr.
    pub fn printing() -> Self {
        TestLogger {
            lines: Mutex::new(Vec::new()),
            print: true,
        }
    }
    /// Every line so far.
    pub fn lines(&self) -> Vec<(Level, String)> {
        lock(&self.lines).clone()
    }
    /// How many lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        lock(&self.lines)
            .iter()
            .filter(|(_, l)| l.contains(needle))
            .count()
    }
}

impl Logger for TestLogger {
    fn log(&self, record: Record<'_>) {
        let line = format!("{}", record.args);
        if self.print {
            eprintln!("{} {} {}", record.level, record.module_path, line);
        }
        lock(&self.lines).push((record.level, line));
    }
}

/// A [`Persist`] for tests: keeps the latest bytes of each monitor in
/// memory and answers the status set with
/// [`set_update_status`](Self::set_update_status) (`Completed` at first).
/// With `InProgress` it still keeps the bytes (as an asynchronous store
/// would, eventually); with `UnrecoverableError` it keeps nothing.
#[derive(Debug)]
pub struct TestPersister {
    status: Mutex<ChannelMonitorUpdateStatus>,
    monitors: Mutex<HashMap<OutPoint, Vec<u8>>>,
    calls: Mutex<Vec<(OutPoint, Option<u64>)>>,
}

impl Default for TestPersister {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPersister {
    /// A persister answering `Completed`.
    pub fn new() -> Self {
        TestPersister {
            status: Mutex::new(ChannelMonitorUpdateStatus::Completed),
            monitors: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
        }
    }
    /// The status every later persist answers.
    pub fn set_update_status(&self, status: ChannelMonitorUpdateStatus) {
        *lock(&self.status) = status;
    }
    /// The latest bytes persisted for a channel.
    pub fn persisted_monitor(&self, funding_outpoint: &OutPoint) -> Option<Vec<u8>> {
        lock(&self.monitors).get(funding_outpoint).cloned()
    }
    /// Every call so far: the channel and the update id (`None` for a new
    /// channel or a chain event).
    pub fn calls(&self) -> Vec<(OutPoint, Option<u64>)> {
        lock(&self.calls).clone()
    }

    fn save(
        &self,
        funding_outpoint: OutPoint,
        update_id: Option<u64>,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        let status = *lock(&self.status);
        lock(&self.calls).push((funding_outpoint, update_id));
        if status != ChannelMonitorUpdateStatus::UnrecoverableError {
            lock(&self.monitors).insert(funding_outpoint, monitor.encode());
        }
        status
    }
}

impl Persist for TestPersister {
    fn persist_new_channel(
        &self,
        funding_outpoint: OutPoint,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        self.save(funding_outpoint, None, monitor)
    }
    fn update_persisted_channel(
        &self,
        funding_outpoint: OutPoint,
        update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        self.save(funding_outpoint, update.map(|u| u.update_id), monitor)
    }
}
