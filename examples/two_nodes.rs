//! Two lnkit nodes in one process, talking BOLT 8 over TCP on 127.0.0.1:
//! Alice opens a channel to Bob, pays him 10 invoices, and closes the
//! channel cooperatively.
//!
//! ```text
//! cargo run --example two_nodes
//! ```
//!
//! Each node is what a wallet wires: keys (`KeysManager`), a `ChainMonitor`
//! saving channel monitors through a persister, a router, the
//! `ChannelManager`, and a `PeerManager` run by the `lnkit::net` threads.
//! The chain is `lnkit::testing::MockChain`, an in-memory regtest chain
//! that mines when told to; a wallet feeds real blocks instead.

use lnkit::bitcoin::absolute::LockTime;
use lnkit::bitcoin::blockdata::constants::ChainHash;
use lnkit::bitcoin::hashes::Hash;
use lnkit::bitcoin::transaction::Version;
use lnkit::bitcoin::{Amount, Network, OutPoint, Sequence, Transaction, TxIn, TxOut, Txid};
use lnkit::chain::monitor::ChainMonitor;
use lnkit::config::UserConfig;
use lnkit::gossip::NetworkGraph;
use lnkit::logger::{Level, Logger, Record};
use lnkit::manager::{
    ChainParameters, ChannelManager, ChannelManagerDeps, Event, EventsProvider, PaymentId,
    RecipientOnionFields, Retry,
};
use lnkit::net::{self, TcpPeerManager};
use lnkit::peer::{IgnoringMessageHandler, MessageHandler, PeerManager, PeerManagerConfig};
use lnkit::persist::{InMemoryStore, MonitorUpdatingPersister};
use lnkit::routing::{DefaultRouter, PaymentParameters, ProbabilisticScorer, RouteParameters};
use lnkit::sign::{KeysManager, SignerProvider};
use lnkit::testing::{MockChain, TestFeeEstimator};
use std::cell::RefCell;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Prints lnkit's warnings and errors to stderr.
struct StderrLogger(&'static str);

impl Logger for StderrLogger {
    fn log(&self, record: Record<'_>) {
        if record.level >= Level::Warn {
            eprintln!("[{} {}] {}", self.0, record.level, record.args);
        }
    }
}

struct Node {
    name: &'static str,
    keys: Arc<KeysManager>,
    manager: Arc<ChannelManager>,
    peers: Arc<TcpPeerManager>,
    timer: net::Timer,
    /// Every event the node has handed us, in order.
    events: RefCell<Vec<Event>>,
}

fn start_node(name: &'static str, seed: u8, chain: &Arc<MockChain>) -> Node {
    // A real wallet uses a secret random seed and stores it.
    let keys = Arc::new(KeysManager::new(&[seed; 32], 1_700_000_000, 0));
    let logger = Arc::new(StderrLogger(name));
    let fees = Arc::new(TestFeeEstimator::new(253));
    // Monitors go to a key-value store: each update as a small record, the
    // whole monitor every 100 updates. Use `FilesystemStore` for real.
    let persister = Arc::new(MonitorUpdatingPersister::new(
        Arc::new(InMemoryStore::new()),
        100,
    ));
    let chain_monitor = Arc::new(ChainMonitor::new(
        None,
        chain.clone(),
        logger.clone(),
        fees.clone(),
        persister,
    ));
    let graph = Arc::new(NetworkGraph::new(ChainHash::using_genesis_block(
        Network::Regtest,
    )));
    let scorer = ProbabilisticScorer::new(Default::default(), graph.clone());
    let router = Arc::new(DefaultRouter::new(
        graph,
        logger.clone(),
        Arc::new(RwLock::new(scorer)),
        [seed; 32],
    ));
    let deps = ChannelManagerDeps {
        fee_estimator: fees,
        chain_monitor: chain_monitor.clone(),
        broadcaster: chain.clone(),
        router,
        logger: logger.clone(),
        entropy_source: keys.clone(),
        node_signer: keys.clone(),
        signer_provider: keys.clone(),
    };
    let params = ChainParameters {
        network: Network::Regtest,
        best_block: chain.best_block(),
    };
    let manager = Arc::new(ChannelManager::new(deps, UserConfig::default(), params).unwrap());
    // Both follow the chain: the manager for confirmations, the monitor
    // to watch for the channel's transactions.
    chain.register_listener(manager.clone());
    chain.register_listener(chain_monitor);
    let handlers = MessageHandler {
        chan_handler: manager.clone(),
        route_handler: Arc::new(IgnoringMessageHandler),
        onion_message_handler: Arc::new(IgnoringMessageHandler),
        custom_message_handler: Arc::new(IgnoringMessageHandler),
    };
    let peers = Arc::new(
        PeerManager::with_signer(
            handlers,
            keys.clone(),
            keys.clone(),
            logger,
            PeerManagerConfig::default(),
        )
        .unwrap(),
    );
    // A thread that flushes outgoing messages every 5 ms and pings peers
    // every 30 s.
    let timer = net::spawn_timer(
        peers.clone(),
        Duration::from_millis(5),
        Duration::from_secs(30),
    )
    .unwrap();
    Node {
        name,
        keys,
        manager,
        peers,
        timer,
        events: RefCell::new(Vec::new()),
    }
}

impl Node {
    /// Takes the manager's events: prints them, claims payments to us,
    /// and keeps them for `wait_for`.
    fn handle_events(&self) {
        self.manager.process_pending_events(&|event: Event| {
            let name = self.name;
            match &event {
                Event::ChannelPending { funding_txo, .. } => {
                    println!("{name}: channel pending, funding output {funding_txo}")
                }
                Event::ChannelReady { channel_id, .. } => {
                    println!("{name}: channel {channel_id} ready")
                }
                Event::PaymentClaimable {
                    purpose,
                    amount_msat,
                    ..
                } => {
                    println!("{name}: {amount_msat} msat arrived, claiming");
                    self.manager.claim_funds(purpose.preimage().unwrap());
                }
                Event::PaymentClaimed { amount_msat, .. } => {
                    println!("{name}: claimed {amount_msat} msat")
                }
                Event::PaymentSent { fee_paid_msat, .. } => {
                    println!("{name}: payment sent, fee {fee_paid_msat} msat")
                }
                Event::PaymentFailed { reason, .. } => {
                    println!("{name}: payment failed: {reason:?}")
                }
                Event::ChannelClosed { reason, .. } => {
                    println!("{name}: channel closed: {reason:?}")
                }
                _ => {}
            }
            self.events.borrow_mut().push(event);
        });
    }
}

/// [`wait_for`] an event matching `pred`.
fn wait(nodes: [&Node; 2], who: &Node, pred: impl Fn(&Event) -> bool) {
    wait_for(nodes, who, |e| pred(e).then_some(()))
}

/// Handles both nodes' events until `who` has seen an event `pick` takes
/// (it may have come earlier), and returns what `pick` took from it.
/// Gives up after 30 s with exit code 1, so the example never hangs.
fn wait_for<T>(nodes: [&Node; 2], who: &Node, pick: impl Fn(&Event) -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        for n in nodes {
            n.handle_events();
        }
        if let Some(t) = who.events.borrow().iter().find_map(&pick) {
            return t;
        }
        if start.elapsed() > Duration::from_secs(30) {
            eprintln!("{}: gave up waiting", who.name);
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() {
    let chain = Arc::new(MockChain::new());
    let alice = start_node("Alice", 1, &chain);
    let bob = start_node("Bob", 2, &chain);
    let both = [&alice, &bob];
    let bob_id = bob.manager.get_our_node_id();

    // 1. Bob listens on a free port; Alice dials him (BOLT 8 handshake, init).
    let listener = net::listen(bob.peers.clone(), "127.0.0.1:0").unwrap();
    println!("Bob: listening on {}", listener.local_addr());
    net::connect_outbound(alice.peers.clone(), bob_id, listener.local_addr()).unwrap();
    let start = Instant::now();
    while alice.peers.peer_by_id(&bob_id).is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "no connection");
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("Alice: connected to {bob_id}");

    // 2. Alice opens a 1,000,000 sat channel; once Bob accepts, she funds it.
    let temp_id = alice
        .manager
        .create_channel(bob_id, 1_000_000, 0, 1, None)
        .unwrap();
    let script = wait_for(both, &alice, |e| match e {
        Event::FundingGenerationReady { output_script, .. } => Some(output_script.clone()),
        _ => None,
    });
    // A wallet builds and signs this from its own coins; the mock chain
    // confirms it as it is.
    let funding = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([7; 32]), 0),
            sequence: Sequence::MAX,
            ..Default::default()
        }],
        output: vec![TxOut {
            value: Amount::from_sat(1_000_000),
            script_pubkey: script,
        }],
    };
    alice
        .manager
        .funding_transaction_generated(&temp_id, &bob_id, funding)
        .unwrap();
    for n in both {
        wait(both, n, |e| matches!(e, Event::ChannelPending { .. }));
    }

    // 3. Six confirmations make the channel usable.
    chain.mine_blocks(6);
    println!("chain: mined 6 blocks, height {}", chain.height());
    let channel_id = wait_for(both, &alice, |e| match e {
        Event::ChannelReady { channel_id, .. } => Some(*channel_id),
        _ => None,
    });
    wait(both, &bob, |e| matches!(e, Event::ChannelReady { .. }));

    // 4. Bob issues 10 invoices; Alice pays each, and both see it settle.
    for i in 1..=10u64 {
        let amount_msat = i * 1_000_000;
        let invoice = bob
            .manager
            .create_bolt11_invoice(Some(amount_msat), &format!("coffee #{i}"), 3600)
            .unwrap();
        println!("Bob: invoice #{i}: {}...", &invoice.to_string()[..40]);
        let hash = invoice.payment_hash();
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_bolt11_invoice(&invoice),
            amount_msat,
        );
        let onion = RecipientOnionFields::secret_only(invoice.payment_secret());
        let id = PaymentId(hash.0);
        alice
            .manager
            .send_payment(hash, onion, id, params, Retry::Attempts(0))
            .unwrap();
        wait(
            both,
            &alice,
            |e| matches!(e, Event::PaymentSent { payment_id, .. } if *payment_id == id),
        );
        wait(
            both,
            &bob,
            |e| matches!(e, Event::PaymentClaimed { payment_hash: h, .. } if *h == hash),
        );
    }
    // PaymentSent comes with the preimage, before the last commitment
    // dance: wait until both settled balances show every payment.
    let paid_msat = 55_000_000; // 1 + 2 + ... + 10 thousand sat
    let balance = |n: &Node| n.manager.list_channels()[0].balance_msat;
    let start = Instant::now();
    while balance(&bob) != paid_msat || balance(&alice) != 1_000_000_000 - paid_msat {
        assert!(start.elapsed() < Duration::from_secs(30), "HTLCs stuck");
        std::thread::sleep(Duration::from_millis(1));
    }
    for n in both {
        let balance = balance(n);
        println!("{}: channel balance {balance} msat", n.name);
    }

    // 5. Alice closes cooperatively: shutdown, fee negotiation, broadcast.
    alice.manager.close_channel(&channel_id, &bob_id).unwrap();
    for n in both {
        wait(both, n, |e| matches!(e, Event::ChannelClosed { .. }));
    }
    let closing = chain.mempool().pop().expect("closing transaction");
    chain.mine_blocks(1);
    println!(
        "chain: mined closing transaction {}",
        closing.compute_txid()
    );

    // 6. Final balances: each node's output of the closing transaction.
    let mut paid_out = 0;
    for n in both {
        let script = n.keys.get_shutdown_scriptpubkey().unwrap();
        let outputs = closing.output.iter().filter(|o| o.script_pubkey == script);
        let sat: u64 = outputs.map(|o| o.value.to_sat()).sum();
        paid_out += sat;
        println!("{}: final on-chain balance {sat} sat", n.name);
    }
    println!(
        "closing fee, paid by the opener: {} sat",
        1_000_000 - paid_out
    );

    listener.stop();
    for n in [alice, bob] {
        n.peers.disconnect_all_peers();
        n.timer.stop();
    }
}
