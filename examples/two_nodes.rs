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
    let timer =
        net::spawn_timer(peers.clone(), Duration::from_millis(5), Duration::from_secs(30)).unwrap();
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
    /// and keeps them for `wait`.
    fn handle_events(&self) {
        self.manager.process_pending_events(&|event: Event| {
            match &event {
                Event::ChannelPending { funding_txo, .. } => {
                    println!("{}: channel pending, funding output {funding_txo}", self.name)
                }
                Event::ChannelReady { channel_id, .. } => {
                    println!("{}: channel {channel_id} ready", self.name)
                }
                Event::PaymentClaimable {
                    purpose,
                    amount_msat,
                    ..
                } => {
                    println!("{}: {amount_msat} msat arrived, claiming", self.name);
                    self.manager.claim_funds(purpose.preimage().unwrap());
                }
                Event::PaymentClaimed { amount_msat, .. } => {
                    println!("{}: claimed {amount_msat} msat", self.name)
                }
                Event::PaymentSent { fee_paid_msat, .. } => {
                    println!("{}: payment sent (fee {fee_paid_msat} msat)", self.name)
                }
                Event::PaymentFailed { reason, .. } => {
                    println!("{}: payment failed: {reason:?}", self.name)
                }
                Event::ChannelClosed { reason, .. } => {
                    println!("{}: channel closed: {reason:?}", self.name)
                }
                _ => {}
            }
            self.events.borrow_mut().push(event);
        });
    }

    fn saw(&self, pred: impl Fn(&Event) -> bool) -> bool {
        self.events.borrow().iter().any(pred)
    }
}

/// Handles both nodes' events until `done` holds; gives up after 30 s
/// (exit code 1) so the example never hangs.
fn wait(alice: &Node, bob: &Node, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        alice.handle_events();
        bob.handle_events();
        if start.elapsed() > Duration::from_secs(30) {
            eprintln!("gave up waiting for {what}");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() {
    let chain = Arc::new(MockChain::new());
    let alice = start_node("Alice", 1, &chain);
    let bob = start_node("Bob", 2, &chain);
    let bob_id = bob.manager.get_our_node_id();

    // 1. Bob listens on a free port; Alice dials him.
    let listener = net::listen(bob.peers.clone(), "127.0.0.1:0").unwrap();
    println!("Bob: listening on {}", listener.local_addr());
    net::connect_outbound(alice.peers.clone(), bob_id, listener.local_addr()).unwrap();
    wait(&alice, &bob, "the connection", || {
        alice.peers.peer_by_id(&bob_id).is_some()
    });
    println!("Alice: connected to {bob_id}");

    // 2. Alice opens a 1,000,000 sat channel and funds it.
    let temp_id = alice
        .manager
        .create_channel(bob_id, 1_000_000, 0, 1, None)
        .unwrap();
    wait(&alice, &bob, "the funding script", || {
        alice.saw(|e| matches!(e, Event::FundingGenerationReady { .. }))
    });
    let script = alice
        .events
        .borrow()
        .iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script.clone()),
            _ => None,
        })
        .unwrap();
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
    wait(&alice, &bob, "channel_pending", || {
        alice.saw(|e| matches!(e, Event::ChannelPending { .. }))
            && bob.saw(|e| matches!(e, Event::ChannelPending { .. }))
    });

    // 3. Six confirmations make the channel usable.
    chain.mine_blocks(6);
    println!("chain: mined 6 blocks (height {})", chain.height());
    wait(&alice, &bob, "channel_ready", || {
        alice.manager.list_usable_channels().len() == 1
            && bob.saw(|e| matches!(e, Event::ChannelReady { .. }))
    });
    let channel_id = alice.manager.list_usable_channels()[0].channel_id;

    // 4. Bob issues 10 invoices; Alice pays each.
    for i in 1..=10u64 {
        let amount_msat = i * 1_000_000;
        let invoice = bob
            .manager
            .create_bolt11_invoice(Some(amount_msat), &format!("coffee #{i}"), 3600)
            .unwrap();
        println!("Bob: invoice #{i} for {amount_msat} msat: {invoice}");
        let id = PaymentId(invoice.payment_hash().0);
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_bolt11_invoice(&invoice),
            amount_msat,
        );
        alice
            .manager
            .send_payment(
                invoice.payment_hash(),
                RecipientOnionFields::secret_only(invoice.payment_secret()),
                id,
                params,
                Retry::Attempts(0),
            )
            .unwrap();
        wait(&alice, &bob, "the payment", || {
            alice.saw(|e| matches!(e, Event::PaymentSent { payment_id, .. } if *payment_id == id))
                && bob.saw(|e| matches!(e, Event::PaymentClaimed { payment_hash, .. } if *payment_hash == invoice.payment_hash()))
        });
    }
    for n in [&alice, &bob] {
        let c = &n.manager.list_channels()[0];
        println!("{}: balance {} msat", n.name, c.balance_msat);
    }

    // 5. Alice closes cooperatively; the closing transaction is mined.
    alice.manager.close_channel(&channel_id, &bob_id).unwrap();
    wait(&alice, &bob, "the close", || {
        alice.saw(|e| matches!(e, Event::ChannelClosed { .. }))
            && bob.saw(|e| matches!(e, Event::ChannelClosed { .. }))
            && !chain.mempool().is_empty()
    });
    let closing = chain.mempool().remove(0);
    chain.mine_blocks(1);
    println!(
        "chain: closing transaction {} confirmed at height {}",
        closing.compute_txid(),
        chain.height()
    );

    // 6. Final balances: each node's output of the closing transaction.
    let mut paid_out = 0;
    for n in [&alice, &bob] {
        let script = n.keys.get_shutdown_scriptpubkey().unwrap();
        let sat: u64 = closing
            .output
            .iter()
            .filter(|o| o.script_pubkey == script)
            .map(|o| o.value.to_sat())
            .sum();
        paid_out += sat;
        println!("{}: final on-chain balance {sat} sat", n.name);
    }
    println!("closing fee: {} sat", 1_000_000 - paid_out);

    listener.stop();
    for n in [alice, bob] {
        n.peers.disconnect_all_peers();
        n.timer.stop();
    }
    println!("done");
}
