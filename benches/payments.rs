//! `payments` benchmark (see BENCHMARKS.md): two full nodes in one process
//! paying each other.
//!
//! Each node is a real `ChannelManager`, `ChainMonitor` (persisting through
//! a `MonitorUpdatingPersister` over an in-memory store: every update
//! serialized, the full monitor every 100 updates, completed synchronously),
//! `KeysManager`, `DefaultRouter` (probabilistic scorer) and `PeerManager`;
//! the two `PeerManager`s speak full BOLT 8 over an in-memory pipe whose
//! bytes reach the other side's `read_event` in 8 KiB chunks. A `MockChain`
//! mines the funding transaction and 6 blocks; the channel holds
//! 100,000,000 sat at 253 sat/kW. A pays B 5,000,000 msat per payment to a
//! pre-created inbound payment (`create_inbound_payment`); B claims as soon
//! as the payment is claimable.
//!
//! The harness is wired here rather than on `lnkit::testing::Network`,
//! whose pump also re-encodes each `ChannelManager` after every round and
//! whose `TestLogger` formats and keeps every log line: neither is in the
//! contract, and LDK's reference does neither.
//!
//! Lines: `pay_serial_per_s`, `pay_serial_p50_ms`, `pay_serial_p99_ms` (one
//! payment at a time, each fully settled: `PaymentSent` at A,
//! `PaymentClaimed` at B, both commitment dances done), `pay_w10_per_s`,
//! `pay_w50_per_s`, `pay_w200_per_s` (up to N in flight),
//! `pay_wire_bytes_per_payment` (both directions, serial run) and
//! `pay_monitor_writes_per_payment` (A's `KVStore` writes, serial run).

use lnkit::chain::monitor::ChainMonitor;
use lnkit::chain::BroadcasterInterface;
use lnkit::config::UserConfig;
use lnkit::gossip::NetworkGraph;
use lnkit::logger::NullLogger;
use lnkit::manager::{
    ChainParameters, ChannelManager, ChannelManagerDeps, Event, EventsProvider, PaymentId,
    RecipientOnionFields, Retry,
};
use lnkit::peer::pipe::PipeDescriptor;
use lnkit::peer::{
    IgnoringMessageHandler, MessageHandler, PeerManager, SignerEntropy, SignerNodeKey,
};
use lnkit::persist::{InMemoryStore, KVStore, MonitorUpdatingPersister};
use lnkit::routing::{
    DefaultRouter, PaymentParameters, ProbabilisticScorer, RouteParameters, ScoringParameters,
};
use lnkit::sign::{CurveOpStats, KeysManager};
use lnkit::testing::{MockChain, TestFeeEstimator};
use lnkit::types::{PaymentHash, PaymentSecret};

use lnkit::bitcoin::absolute::LockTime;
use lnkit::bitcoin::blockdata::constants::ChainHash;
use lnkit::bitcoin::hashes::Hash;
use lnkit::bitcoin::secp256k1::PublicKey;
use lnkit::bitcoin::transaction::Version;
use lnkit::bitcoin::{
    Amount, Network as BtcNetwork, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

const READ_CHUNK: usize = 8192;
const CHANNEL_SAT: u64 = 100_000_000;
const AMOUNT_MSAT: u64 = 5_000_000;
const FEE_RATE: u32 = 253;
const WARMUPS: usize = 20;
const PAYMENTS_DEFAULT: usize = 2000;
const WINDOWS: [usize; 3] = [10, 50, 200];
/// The final CLTV delta the payer puts in its route (as in LDK's reference).
const FINAL_CLTV: u32 = 80;

/// An in-memory `KVStore` that counts writes.
#[derive(Default)]
struct CountingStore {
    inner: InMemoryStore,
    writes: AtomicU64,
}

impl KVStore for CountingStore {
    fn read(&self, namespace: &str, key: &str) -> io::Result<Vec<u8>> {
        self.inner.read(namespace, key)
    }
    fn write(&self, namespace: &str, key: &str, value: &[u8]) -> io::Result<()> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.write(namespace, key, value)
    }
    fn remove(&self, namespace: &str, key: &str) -> io::Result<()> {
        self.inner.remove(namespace, key)
    }
    fn list(&self, namespace: &str) -> io::Result<Vec<String>> {
        self.inner.list(namespace)
    }
}

struct Node {
    id: PublicKey,
    manager: Arc<ChannelManager>,
    peer_manager: PeerManager<PipeDescriptor>,
    store: Arc<CountingStore>,
}

fn node(seed: u8, config: UserConfig, chain: &Arc<MockChain>) -> Node {
    let keys = Arc::new(KeysManager::new(&[seed; 32], 1_700_000_000, seed as u32));
    let logger = Arc::new(NullLogger);
    let fee_estimator = Arc::new(TestFeeEstimator::new(FEE_RATE));
    let store = Arc::new(CountingStore::default());
    let persister = Arc::new(MonitorUpdatingPersister::new(
        store.clone() as Arc<dyn KVStore>,
        100,
    ));
    let broadcaster: Arc<dyn BroadcasterInterface> = chain.clone();
    let chain_monitor = Arc::new(ChainMonitor::new(
        None,
        broadcaster.clone(),
        logger.clone(),
        fee_estimator.clone(),
        persister,
    ));
    let graph = Arc::new(NetworkGraph::new(ChainHash::using_genesis_block(
        BtcNetwork::Regtest,
    )));
    let scorer = ProbabilisticScorer::new(ScoringParameters::default(), graph.clone());
    let router = Arc::new(DefaultRouter::new(
        graph,
        logger.clone(),
        Arc::new(RwLock::new(scorer)),
        [seed; 32],
    ));
    let deps = ChannelManagerDeps {
        fee_estimator,
        chain_monitor: chain_monitor.clone(),
        broadcaster,
        router,
        logger: logger.clone(),
        entropy_source: keys.clone(),
        node_signer: keys.clone(),
        signer_provider: keys.clone(),
    };
    let params = ChainParameters {
        network: BtcNetwork::Regtest,
        best_block: chain.best_block(),
    };
    let manager = Arc::new(ChannelManager::new(deps, config, params).expect("node id"));
    chain.register_listener(manager.clone());
    chain.register_listener(chain_monitor);
    let peer_manager = PeerManager::new(
        MessageHandler {
            chan_handler: manager.clone(),
            route_handler: Arc::new(IgnoringMessageHandler),
            onion_message_handler: Arc::new(IgnoringMessageHandler),
            custom_message_handler: Arc::new(IgnoringMessageHandler),
        },
        Arc::new(SignerNodeKey::new(keys.clone()).expect("node key")),
        Arc::new(SignerEntropy(keys)),
        logger,
    );
    Node {
        id: manager.get_our_node_id(),
        manager,
        peer_manager,
        store,
    }
}

#[derive(Default)]
struct Counters {
    sent: u64,
    claimed: u64,
    channel_ready: u64,
    funding: Option<(lnkit::types::ChannelId, ScriptBuf)>,
}

struct Harness {
    nodes: [Node; 2],
    /// `descs[i]`: node i's end of the pipe (the bytes it sends).
    descs: [PipeDescriptor; 2],
    c: Counters,
    bytes_moved: u64,
    buf: Vec<u8>,
}

impl Harness {
    fn handle(&mut self, i: usize, e: Event) {
        match e {
            Event::FundingGenerationReady {
                temporary_channel_id,
                output_script,
                ..
            } => self.c.funding = Some((temporary_channel_id, output_script)),
            Event::ChannelReady { .. } => self.c.channel_ready += 1,
            Event::PaymentClaimable { purpose, .. } => {
                let preimage = purpose.preimage().expect("our own inbound payment");
                self.nodes[i].manager.claim_funds(preimage);
            }
            Event::PaymentClaimed { .. } => self.c.claimed += 1,
            Event::PaymentSent { .. } => self.c.sent += 1,
            Event::PaymentFailed { .. } | Event::ChannelClosed { .. } => {
                panic!("node {i}: unexpected {e:?}")
            }
            _ => {}
        }
    }

    /// One round: events, `PeerManager` flush, byte delivery. Returns
    /// whether anything happened.
    fn step(&mut self) -> bool {
        let mut progress = false;
        for i in 0..2 {
            let events = Mutex::new(Vec::new());
            self.nodes[i]
                .manager
                .process_pending_events(&|e: Event| events.lock().unwrap().push(e));
            let events = events.into_inner().unwrap();
            progress |= !events.is_empty();
            for e in events {
                self.handle(i, e);
            }
            self.nodes[i].peer_manager.process_events();
        }
        for i in 0..2 {
            self.descs[i].take_into(&mut self.buf);
            if self.buf.is_empty() {
                continue;
            }
            progress = true;
            self.bytes_moved += self.buf.len() as u64;
            let j = 1 - i;
            let mut d = self.descs[j].clone();
            for chunk in self.buf.chunks(READ_CHUNK) {
                self.nodes[j]
                    .peer_manager
                    .read_event(&mut d, chunk)
                    .expect("read_event");
            }
            self.nodes[j].peer_manager.process_events();
        }
        progress
    }

    fn pump(&mut self) {
        let mut rounds = 0;
        while self.step() {
            rounds += 1;
            assert!(rounds < 1_000_000, "no quiescence");
        }
    }
}

/// Nearest-rank percentile of a sorted, non-empty slice (as LDK's reference).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.1} {unit}");
}

fn report2(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.2} {unit}");
}

/// Curve operations per payment, both nodes together (one thread drives
/// both; lnkit's counters are per thread). Informational lines, not in the
/// contract: they show where the time goes.
fn report_ops(prefix: &str, ops: CurveOpStats, payments: usize) {
    let per = |n: u64| n as f64 / payments as f64;
    for (name, n) in [
        ("base_mul", ops.base_mul),
        ("var_mul", ops.var_mul),
        ("point_add", ops.point_add),
        ("sign", ops.ecdsa_sign),
        ("verify", ops.ecdsa_verify),
        ("ecdh", ops.ecdh),
    ] {
        report2(&format!("{prefix}_{name}_per_payment"), per(n), "ops");
    }
}

fn main() {
    // The contract's 2,000 payments; `LNKIT_PAY_PAYMENTS=N` shrinks a run
    // for profilers (callgrind, perf) and is not for reported figures.
    // `LNKIT_PAY_ONLY=serial|w10|w50|w200` times one workload only (the
    // others still run, on 20 payments, to keep the channel state alike).
    let only = std::env::var("LNKIT_PAY_ONLY").ok();
    let runs = |name: &str| only.as_deref().map_or(true, |o| o == name);
    let payments_env = std::env::var("LNKIT_PAY_PAYMENTS").ok();
    let timed: usize = payments_env
        .and_then(|v| v.parse().ok())
        .unwrap_or(PAYMENTS_DEFAULT);
    // Up to 200 payments in flight: B must accept 200 HTLCs and all their
    // value at once (the defaults are 50 HTLCs and 10 % of the channel), as
    // in LDK's reference. A's side is set the same way for symmetry, and B
    // accepts a channel above the default 2^24-sat funding limit.
    let mut config = UserConfig::default();
    config.channel_handshake_config.our_max_accepted_htlcs = 483;
    config
        .channel_handshake_config
        .max_inbound_htlc_value_in_flight_percent = 100;
    config.channel_handshake_limits.max_funding_satoshis = 21_000_000 * 100_000_000;

    let chain = Arc::new(MockChain::new());
    let a = node(1, config, &chain);
    let b = node(2, config, &chain);
    let b_id = b.id;
    let da = PipeDescriptor::new(1);
    let db = PipeDescriptor::new(2);
    let mut h = Harness {
        nodes: [a, b],
        descs: [da.clone(), db.clone()],
        c: Counters::default(),
        bytes_moved: 0,
        buf: Vec::with_capacity(64 * 1024),
    };

    // Connect: BOLT 8 handshake and init.
    let act1 = h.nodes[0]
        .peer_manager
        .new_outbound_connection(b_id, da, None)
        .expect("outbound");
    h.nodes[1]
        .peer_manager
        .new_inbound_connection(db.clone(), None)
        .expect("inbound");
    h.nodes[1]
        .peer_manager
        .read_event(&mut db.clone(), &act1)
        .expect("act one");
    h.pump();

    // Open, fund, mine the funding transaction and 6 blocks.
    h.nodes[0]
        .manager
        .create_channel(b_id, CHANNEL_SAT, 0, 42, None)
        .expect("create_channel");
    h.pump();
    let (temp, script) = h.c.funding.take().expect("FundingGenerationReady");
    let funding = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([42; 32]), 0),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::from_slice(&[vec![1u8; 72], vec![2u8; 33]]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(CHANNEL_SAT),
            script_pubkey: script,
        }],
    };
    h.nodes[0]
        .manager
        .funding_transaction_generated(&temp, &b_id, funding)
        .expect("funding accepted");
    h.pump();
    assert_eq!(chain.mempool().len(), 1, "funding not broadcast");
    chain.mine_blocks(6);
    h.pump();
    assert_eq!(h.c.channel_ready, 2, "channel not ready on both sides");
    assert_eq!(h.nodes[0].manager.list_usable_channels().len(), 1);

    let specs = |h: &Harness, n: usize| -> Vec<(PaymentHash, PaymentSecret)> {
        (0..n)
            .map(|_| {
                h.nodes[1]
                    .manager
                    .create_inbound_payment(Some(AMOUNT_MSAT), 7200, None)
                    .expect("inbound payment")
            })
            .collect()
    };
    let send = |h: &Harness, (hash, secret): &(PaymentHash, PaymentSecret)| {
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(b_id.into(), FINAL_CLTV),
            AMOUNT_MSAT,
        );
        h.nodes[0]
            .manager
            .send_payment(
                *hash,
                RecipientOnionFields::secret_only(*secret),
                PaymentId(hash.0),
                params,
                Retry::Attempts(0),
            )
            .expect("send_payment");
    };

    // Warm-up, not timed.
    for s in &specs(&h, WARMUPS) {
        send(&h, s);
        h.pump();
    }
    assert_eq!(h.c.sent as usize, WARMUPS, "warm-up payments failed");

    // Serial: each payment fully settled before the next.
    let n = if runs("serial") { timed } else { WARMUPS };
    let list = specs(&h, n);
    let (s0, c0, b0) = (h.c.sent, h.c.claimed, h.bytes_moved);
    let w0 = h.nodes[0].store.writes.load(Ordering::Relaxed);
    let mut lat = Vec::with_capacity(n);
    let ops0 = CurveOpStats::snapshot();
    let t = Instant::now();
    for s in &list {
        let t1 = Instant::now();
        send(&h, s);
        h.pump();
        lat.push(t1.elapsed().as_secs_f64() * 1e3);
    }
    let el = t.elapsed().as_secs_f64();
    assert_eq!((h.c.sent - s0) as usize, n, "serial: not all sent");
    assert_eq!((h.c.claimed - c0) as usize, n, "serial: not all claimed");
    let n_serial = n;
    let writes = h.nodes[0].store.writes.load(Ordering::Relaxed) - w0;
    let bytes = h.bytes_moved - b0;
    lat.sort_by(|x, y| x.total_cmp(y));
    report("pay_serial_per_s", n as f64 / el, "payments/s");
    report2("pay_serial_p50_ms", percentile(&lat, 50.0), "ms");
    report2("pay_serial_p99_ms", percentile(&lat, 99.0), "ms");
    report_ops("pay_serial", CurveOpStats::snapshot() - ops0, n);

    // Pipelined: up to `w` payments outstanding, refilled as they complete.
    for w in WINDOWS {
        let n = if runs(&format!("w{w}")) {
            timed
        } else {
            WARMUPS
        };
        let list = specs(&h, n);
        let (s0, c0) = (h.c.sent, h.c.claimed);
        let ops0 = CurveOpStats::snapshot();
        let t = Instant::now();
        let mut next = 0usize;
        loop {
            let done = (h.c.sent - s0) as usize;
            while next < n && next - done < w {
                send(&h, &list[next]);
                next += 1;
            }
            if !h.step() {
                if next == n {
                    break;
                }
                let done = (h.c.sent - s0) as usize;
                assert!(next - done < w, "w{w}: stalled with the window full");
            }
        }
        h.pump();
        let el = t.elapsed().as_secs_f64();
        assert_eq!((h.c.sent - s0) as usize, n, "w{w}: not all sent");
        assert_eq!((h.c.claimed - c0) as usize, n, "w{w}: not all claimed");
        report(&format!("pay_w{w}_per_s"), n as f64 / el, "payments/s");
        report_ops(&format!("pay_w{w}"), CurveOpStats::snapshot() - ops0, n);
    }

    report(
        "pay_wire_bytes_per_payment",
        bytes as f64 / n_serial as f64,
        "bytes",
    );
    report2(
        "pay_monitor_writes_per_payment",
        writes as f64 / n_serial as f64,
        "writes",
    );
}
