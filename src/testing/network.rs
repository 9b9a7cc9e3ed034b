//! [`Network`]: N full in-process nodes (keys, `ChainMonitor`,
//! `ChannelManager`, router, encrypted `PeerManager`s over in-memory pipes)
//! on one [`MockChain`], deterministic (seeded keys, block times), with
//! hooks to drop, hold, reorder and disconnect, and to restart a node from
//! what it persisted.
//!
//! ```
//! use lnkit::testing::Network;
//! let mut net = Network::new(2);
//! net.connect(0, 1);
//! let chan = net.open_channel(0, 1, 1_000_000, 0);
//! let invoice = net.node(1).manager.create_bolt11_invoice(Some(50_000), "coffee", 3600).unwrap();
//! net.pay_invoice(0, &invoice).unwrap();
//! assert_eq!(net.balance_msat(1, &chan), 50_000);
//! ```

use super::{MockChain, TestFeeEstimator, TestLogger};
use crate::chain::monitor::{ChainMonitor, ChannelMonitor, Watch};
use crate::chain::{BroadcasterInterface, ChannelMonitorUpdateStatus, Listen};
use crate::config::UserConfig;
use crate::events::{MessageSendEvent, MessageSendEventsProvider};
use crate::gossip::NetworkGraph;
use crate::manager::{
    APIError, ChainParameters, ChannelManager, ChannelManagerDeps, Event, EventsProvider,
    PaymentId, RecipientOnionFields, Retry,
};
use crate::msgs::features::{InitFeatures, NodeFeatures};
use crate::msgs::{ChannelMessageHandler, Message};
use crate::payment::invoice::Bolt11Invoice;
use crate::peer::pipe::PipeDescriptor;
use crate::peer::{
    IgnoringMessageHandler, MessageHandler, PeerManager, SignerEntropy, SignerNodeKey,
};
use crate::persist::{InMemoryStore, KVStore, MonitorUpdatingPersister, Persist};
use crate::routing::{DefaultRouter, FixedPenaltyScorer, PaymentParameters, RouteParameters};
use crate::sign::{EntropySource, KeysManager, NodeSigner, SignerProvider};
use crate::types::{ChannelId, PaymentPreimage};
use bitcoin::absolute::LockTime;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::PublicKey;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, Network as BtcNetwork, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the harness does with a message from one node to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// Drop the next message with this name (`"commitment_signed"`, …).
    DropNext(&'static str),
    /// Hold every message until [`Network::release`].
    Hold,
}

/// The hooks of one direction, shared with that node's interceptor.
#[derive(Default)]
struct Rules {
    /// (to, hook)
    hooks: Vec<(PublicKey, Hook)>,
    /// Messages held, in order, per destination.
    held: Vec<(PublicKey, Message)>,
}

/// Wraps the node's `ChannelManager` for its `PeerManager`: outgoing
/// messages pass the [`Hook`]s.
struct Interceptor {
    inner: Arc<ChannelManager>,
    rules: Arc<Mutex<Rules>>,
}

macro_rules! delegate {
    ($($m:ident($t:ty);)*) => {
        impl ChannelMessageHandler for Interceptor {
            $( fn $m(&self, n: PublicKey, msg: &$t) { self.inner.$m(n, msg) } )*
            fn handle_error(&self, n: PublicKey, msg: &crate::msgs::ErrorMessage) { self.inner.handle_error(n, msg) }
            fn peer_connected(&self, n: PublicKey, init: &crate::msgs::Init, inbound: bool) -> Result<(), ()> {
                self.inner.peer_connected(n, init, inbound)
            }
            fn peer_disconnected(&self, n: PublicKey) { self.inner.peer_disconnected(n) }
            fn provided_init_features(&self, n: PublicKey) -> InitFeatures { self.inner.provided_init_features(n) }
            fn provided_node_features(&self) -> NodeFeatures { self.inner.provided_node_features() }
            fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> { self.inner.get_chain_hashes() }
        }
    };
}

delegate! {
    handle_open_channel(crate::msgs::OpenChannel);
    handle_accept_channel(crate::msgs::AcceptChannel);
    handle_funding_created(crate::msgs::FundingCreated);
    handle_funding_signed(crate::msgs::FundingSigned);
    handle_channel_ready(crate::msgs::ChannelReady);
    handle_stfu(crate::msgs::Stfu);
    handle_shutdown(crate::msgs::Shutdown);
    handle_closing_signed(crate::msgs::ClosingSigned);
    handle_closing_complete(crate::msgs::ClosingComplete);
    handle_closing_sig(crate::msgs::ClosingSig);
    handle_update_add_htlc(crate::msgs::UpdateAddHtlc);
    handle_update_fulfill_htlc(crate::msgs::UpdateFulfillHtlc);
    handle_update_fail_htlc(crate::msgs::UpdateFailHtlc);
    handle_update_fail_malformed_htlc(crate::msgs::UpdateFailMalformedHtlc);
    handle_commitment_signed(crate::msgs::CommitmentSigned);
    handle_revoke_and_ack(crate::msgs::RevokeAndAck);
    handle_update_fee(crate::msgs::UpdateFee);
    handle_channel_reestablish(crate::msgs::ChannelReestablish);
    handle_announcement_signatures(crate::msgs::AnnouncementSignatures);
    handle_tx_add_input(crate::msgs::TxAddInput);
    handle_tx_add_output(crate::msgs::TxAddOutput);
    handle_tx_remove_input(crate::msgs::TxRemoveInput);
    handle_tx_remove_output(crate::msgs::TxRemoveOutput);
    handle_tx_complete(crate::msgs::TxComplete);
    handle_tx_signatures(crate::msgs::TxSignatures);
    handle_tx_init_rbf(crate::msgs::TxInitRbf);
    handle_tx_ack_rbf(crate::msgs::TxAckRbf);
    handle_tx_abort(crate::msgs::TxAbort);
    handle_open_channel_v2(crate::msgs::OpenChannel2);
    handle_accept_channel_v2(crate::msgs::AcceptChannel2);
    handle_splice_init(crate::msgs::SpliceInit);
    handle_splice_ack(crate::msgs::SpliceAck);
    handle_splice_locked(crate::msgs::SpliceLocked);
    handle_start_batch(crate::msgs::StartBatch);
    handle_peer_storage(crate::msgs::PeerStorage);
    handle_peer_storage_retrieval(crate::msgs::PeerStorageRetrieval);
}

impl MessageSendEventsProvider for Interceptor {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        let events = self.inner.get_and_clear_pending_msg_events();
        let mut rules = lock(&self.rules);
        if rules.hooks.is_empty() {
            return events;
        }
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            let MessageSendEvent::SendMessage { node_id, msg } = e else {
                out.push(e);
                continue;
            };
            if let Some(pos) = rules.hooks.iter().position(|(to, h)| {
                *to == node_id && matches!(h, Hook::DropNext(n) if *n == msg.name())
            }) {
                rules.hooks.remove(pos);
                continue;
            }
            if rules
                .hooks
                .iter()
                .any(|(to, h)| *to == node_id && *h == Hook::Hold)
            {
                rules.held.push((node_id, msg));
                continue;
            }
            out.push(MessageSendEvent::SendMessage { node_id, msg });
        }
        out
    }
}

/// A persister over an in-memory store (update log, full monitor every
/// 100 updates) that can be switched to answer `InProgress`.
pub struct NetworkPersister {
    inner: MonitorUpdatingPersister,
    /// The store, which survives restarts.
    pub store: Arc<InMemoryStore>,
    status: Mutex<ChannelMonitorUpdateStatus>,
    in_progress: Mutex<Vec<(OutPoint, u64)>>,
}

impl NetworkPersister {
    fn new(store: Arc<InMemoryStore>) -> Self {
        NetworkPersister {
            inner: MonitorUpdatingPersister::new(store.clone() as Arc<dyn KVStore>, 100),
            store,
            status: Mutex::new(ChannelMonitorUpdateStatus::Completed),
            in_progress: Mutex::new(Vec::new()),
        }
    }
    /// What later persists answer (the data is written either way).
    pub fn set_status(&self, s: ChannelMonitorUpdateStatus) {
        *lock(&self.status) = s;
    }
    /// The updates that answered `InProgress` and are not completed yet.
    pub fn take_in_progress(&self) -> Vec<(OutPoint, u64)> {
        core::mem::take(&mut *lock(&self.in_progress))
    }
    fn answer(
        &self,
        op: OutPoint,
        id: u64,
        s: ChannelMonitorUpdateStatus,
    ) -> ChannelMonitorUpdateStatus {
        if s != ChannelMonitorUpdateStatus::Completed {
            return s;
        }
        let want = *lock(&self.status);
        if want == ChannelMonitorUpdateStatus::InProgress {
            lock(&self.in_progress).push((op, id));
        }
        want
    }
}

impl Persist for NetworkPersister {
    fn persist_new_channel(&self, op: OutPoint, m: &ChannelMonitor) -> ChannelMonitorUpdateStatus {
        let s = self.inner.persist_new_channel(op, m);
        self.answer(op, m.latest_update_id(), s)
    }
    fn update_persisted_channel(
        &self,
        op: OutPoint,
        update: Option<&crate::chain::monitor::ChannelMonitorUpdate>,
        m: &ChannelMonitor,
    ) -> ChannelMonitorUpdateStatus {
        let s = self.inner.update_persisted_channel(op, update, m);
        match update {
            Some(u) => self.answer(op, u.update_id, s),
            None => s,
        }
    }
}

/// One node of a [`Network`].
pub struct Node {
    /// Its keys.
    pub keys: Arc<KeysManager>,
    /// Its monitors.
    pub chain_monitor: Arc<ChainMonitor>,
    /// Its persister.
    pub persister: Arc<NetworkPersister>,
    /// Its channels and payments.
    pub manager: Arc<ChannelManager>,
    /// Its connections.
    pub peer_manager: Arc<PeerManager<PipeDescriptor>>,
    /// Its fee estimator (settable).
    pub fee_estimator: Arc<TestFeeEstimator>,
    /// Its log.
    pub logger: Arc<TestLogger>,
    /// Its node id.
    pub node_id: PublicKey,
    /// Events taken so far (see [`Network::take_events`]).
    pub events: Vec<Event>,
    /// Claim every claimable payment whose preimage we know.
    pub auto_claim: bool,
    /// The manager bytes saved at the last [`Network::pump`].
    pub saved_manager: Vec<u8>,
    rules: Arc<Mutex<Rules>>,
    seed: u8,
    config: UserConfig,
}

struct Link {
    a: usize,
    b: usize,
    /// a's socket to b (bytes a sends).
    da: PipeDescriptor,
    /// b's socket to a.
    db: PipeDescriptor,
}

/// N full nodes on one mock chain, with fault hooks and restarts (see
/// `lnkit::testing` for an example).
pub struct Network {
    /// The chain every node follows.
    pub chain: Arc<MockChain>,
    nodes: Vec<Node>,
    links: Vec<Link>,
    next_pipe: u64,
    next_payment: u64,
    /// Funding transactions built, to make each input unique.
    funding_count: u32,
}

impl Network {
    /// `n` nodes with the default config.
    pub fn new(n: usize) -> Network {
        Self::with_configs(vec![UserConfig::default(); n])
    }

    /// One node per config.
    pub fn with_configs(configs: Vec<UserConfig>) -> Network {
        let chain = Arc::new(MockChain::new());
        let mut net = Network {
            chain,
            nodes: Vec::new(),
            links: Vec::new(),
            next_pipe: 1,
            next_payment: 1,
            funding_count: 0,
        };
        for (i, c) in configs.into_iter().enumerate() {
            let store = Arc::new(InMemoryStore::new());
            let node = net.build_node(i as u8 + 1, c, store, None);
            net.nodes.push(node);
        }
        net
    }

    fn build_node(
        &self,
        seed: u8,
        config: UserConfig,
        store: Arc<InMemoryStore>,
        saved: Option<&[u8]>,
    ) -> Node {
        let keys = Arc::new(KeysManager::new(&[seed; 32], 1_700_000_000, seed as u32));
        let logger = Arc::new(TestLogger::new());
        let fee_estimator = Arc::new(TestFeeEstimator::new(253));
        let persister = Arc::new(NetworkPersister::new(store));
        let broadcaster: Arc<dyn BroadcasterInterface> = self.chain.clone();
        let chain_monitor = Arc::new(ChainMonitor::new(
            None,
            broadcaster.clone(),
            logger.clone(),
            fee_estimator.clone(),
            persister.clone(),
        ));
        let graph = Arc::new(NetworkGraph::new(ChainHash::using_genesis_block(
            BtcNetwork::Regtest,
        )));
        let router = Arc::new(DefaultRouter::new(
            graph,
            logger.clone(),
            Arc::new(RwLock::new(FixedPenaltyScorer(0))),
            [seed; 32],
        ));
        let deps = ChannelManagerDeps {
            fee_estimator: fee_estimator.clone(),
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
            best_block: self.chain.best_block(),
        };
        let manager = match saved {
            Some(bytes) => {
                let monitors = persister
                    .inner
                    .read_all_monitors(&*keys, &*self.chain, &*fee_estimator, &*logger)
                    .expect("persisted monitors read back");
                let m =
                    ChannelManager::read(bytes, deps.clone(), config, monitors.iter().collect())
                        .expect("persisted manager reads back");
                for mon in monitors {
                    let op = mon.funding_outpoint();
                    let _ = chain_monitor.watch_channel(op, mon);
                }
                m
            }
            None => ChannelManager::new(deps, config, params).expect("KeysManager has a node id"),
        };
        let manager = Arc::new(manager);
        self.chain.register_listener(manager.clone());
        self.chain.register_listener(chain_monitor.clone());
        let rules = Arc::new(Mutex::new(Rules::default()));
        let interceptor = Arc::new(Interceptor {
            inner: manager.clone(),
            rules: rules.clone(),
        });
        let node_key = Arc::new(SignerNodeKey::new(keys.clone()).expect("node key"));
        let peer_manager = Arc::new(PeerManager::new(
            MessageHandler {
                chan_handler: interceptor,
                route_handler: Arc::new(IgnoringMessageHandler),
                onion_message_handler: Arc::new(IgnoringMessageHandler),
                custom_message_handler: Arc::new(IgnoringMessageHandler),
            },
            node_key,
            Arc::new(SignerEntropy(keys.clone())),
            logger.clone(),
        ));
        let node_id = manager.get_our_node_id();
        Node {
            keys,
            chain_monitor,
            persister,
            manager,
            peer_manager,
            fee_estimator,
            logger,
            node_id,
            events: Vec::new(),
            auto_claim: true,
            saved_manager: Vec::new(),
            rules,
            seed,
            config,
        }
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Node `i`, mutable (to change `auto_claim`, say).
    pub fn node_mut(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i]
    }

    /// Connects nodes `a` (outbound) and `b` and runs the handshake.
    pub fn connect(&mut self, a: usize, b: usize) {
        let da = PipeDescriptor::new(self.next_pipe);
        let db = PipeDescriptor::new(self.next_pipe + 1);
        self.next_pipe += 2;
        let bid = self.nodes[b].node_id;
        let act1 = self.nodes[a]
            .peer_manager
            .new_outbound_connection(bid, da.clone(), None)
            .expect("outbound connection");
        self.nodes[b]
            .peer_manager
            .new_inbound_connection(db.clone(), None)
            .expect("inbound connection");
        let mut db2 = db.clone();
        self.nodes[b]
            .peer_manager
            .read_event(&mut db2, &act1)
            .expect("act one");
        self.links.push(Link { a, b, da, db });
        self.pump();
    }

    /// Drops the connection between `a` and `b` (both sides see it).
    pub fn disconnect(&mut self, a: usize, b: usize) {
        let pos = self
            .links
            .iter()
            .position(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a));
        if let Some(p) = pos {
            let l = self.links.remove(p);
            self.nodes[l.a].peer_manager.socket_disconnected(&l.da);
            self.nodes[l.b].peer_manager.socket_disconnected(&l.db);
        }
        for n in [a, b] {
            let mut r = lock(&self.nodes[n].rules);
            r.held.clear();
        }
    }

    /// Moves bytes, messages and events until nothing moves.
    pub fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for n in &self.nodes {
                n.peer_manager.process_events();
            }
            let mut dead = Vec::new();
            for (i, l) in self.links.iter().enumerate() {
                for (from, to, src, dst) in [(l.a, l.b, &l.da, &l.db), (l.b, l.a, &l.db, &l.da)] {
                    let _ = from;
                    let bytes = src.take();
                    if !bytes.is_empty() {
                        moved = true;
                        let mut d = dst.clone();
                        for chunk in bytes.chunks(8192) {
                            if self.nodes[to]
                                .peer_manager
                                .read_event(&mut d, chunk)
                                .is_err()
                            {
                                dead.push(i);
                                break;
                            }
                        }
                    }
                    if src.is_disconnected() || dst.is_disconnected() {
                        dead.push(i);
                    }
                }
            }
            dead.sort_unstable();
            dead.dedup();
            for i in dead.into_iter().rev() {
                let l = self.links.remove(i);
                self.nodes[l.a].peer_manager.socket_disconnected(&l.da);
                self.nodes[l.b].peer_manager.socket_disconnected(&l.db);
                moved = true;
            }
            for n in &mut self.nodes {
                let collected = Mutex::new(Vec::new());
                n.manager
                    .process_pending_events(&|e: Event| lock(&collected).push(e));
                let new = collected.into_inner().unwrap_or_else(|e| e.into_inner());
                if !new.is_empty() {
                    moved = true;
                }
                for e in &new {
                    if let Event::PaymentClaimable { purpose, .. } = e {
                        if let (true, Some(p)) = (n.auto_claim, purpose.preimage()) {
                            n.manager.claim_funds(p);
                        }
                    }
                }
                n.events.extend(new);
            }
            if !moved {
                break;
            }
        }
        for n in &mut self.nodes {
            if n.manager.get_and_clear_needs_persistence() {
                n.saved_manager = n.manager.encode();
            }
        }
    }

    /// Takes node `i`'s events seen so far.
    pub fn take_events(&mut self, i: usize) -> Vec<Event> {
        core::mem::take(&mut self.nodes[i].events)
    }

    /// Sets a hook on messages from `from` to `to`.
    pub fn hook(&mut self, from: usize, to: usize, hook: Hook) {
        let to = self.nodes[to].node_id;
        lock(&self.nodes[from].rules).hooks.push((to, hook));
    }

    /// Removes the `Hold` hook from `from` to `to` and sends what was
    /// held, in order (or reversed with `reorder`).
    pub fn release(&mut self, from: usize, to: usize, reorder: bool) {
        let to_id = self.nodes[to].node_id;
        let held: Vec<Message> = {
            let mut r = lock(&self.nodes[from].rules);
            r.hooks.retain(|(t, h)| !(*t == to_id && *h == Hook::Hold));
            let mut mine = Vec::new();
            r.held.retain(|(t, m)| {
                if *t == to_id {
                    mine.push(m.clone());
                    false
                } else {
                    true
                }
            });
            mine
        };
        let mut held: VecDeque<Message> = held.into();
        if reorder {
            held = held.into_iter().rev().collect();
        }
        // Deliver straight to the destination's handler: the bytes would
        // have carried exactly these messages.
        let from_id = self.nodes[from].node_id;
        for m in held {
            deliver(&self.nodes[to].manager, from_id, &m);
        }
        self.pump();
    }

    /// Delivers the oldest message held from `from` to `to` (the `Hold`
    /// hook stays) and pumps; `false` when nothing was held.
    pub fn release_one(&mut self, from: usize, to: usize) -> bool {
        let to_id = self.nodes[to].node_id;
        let msg = {
            let mut r = lock(&self.nodes[from].rules);
            let pos = r.held.iter().position(|(t, _)| *t == to_id);
            pos.map(|p| r.held.remove(p).1)
        };
        let Some(m) = msg else {
            return false;
        };
        let from_id = self.nodes[from].node_id;
        deliver(&self.nodes[to].manager, from_id, &m);
        self.pump();
        true
    }

    /// The names of the messages held from `from` to `to`, in order.
    pub fn held(&self, from: usize, to: usize) -> Vec<&'static str> {
        let to_id = self.nodes[to].node_id;
        lock(&self.nodes[from].rules)
            .held
            .iter()
            .filter(|(t, _)| *t == to_id)
            .map(|(_, m)| m.name())
            .collect()
    }

    /// Removes every hook between `from` and `to` (held messages stay
    /// held until [`release`](Self::release) or a disconnection).
    pub fn clear_hooks(&mut self, from: usize, to: usize) {
        let to_id = self.nodes[to].node_id;
        lock(&self.nodes[from].rules)
            .hooks
            .retain(|(t, _)| *t != to_id);
    }

    /// Mines `n` blocks (confirming the mempool) and pumps.
    pub fn mine(&mut self, n: u32) {
        self.chain.mine_blocks(n);
        self.pump();
    }

    /// A funding transaction paying `value` to `script`, with a unique input.
    fn funding_tx(&mut self, script: ScriptBuf, value: u64) -> Transaction {
        self.funding_count += 1;
        let mut txid = [0u8; 32];
        txid[..4].copy_from_slice(&self.funding_count.to_be_bytes());
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array(txid), 0),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(value),
                script_pubkey: script,
            }],
        }
    }

    /// Opens a channel from `a` to `b` (connecting them first if needed),
    /// funds it, mines 6 blocks and waits until both sides see it ready.
    /// Returns the channel id.
    pub fn open_channel(
        &mut self,
        a: usize,
        b: usize,
        value_sat: u64,
        push_msat: u64,
    ) -> ChannelId {
        self.open_channel_with(a, b, value_sat, push_msat, 6, &|m, temp, node| {
            m.accept_inbound_channel(temp, node, 0)
        })
    }

    /// [`open_channel`](Self::open_channel) with a choice: when `b`
    /// accepts inbound channels manually, its `Event::OpenChannelRequest`
    /// is answered by `accept(b's manager, temporary id, a's node id)` (e.g.
    /// `accept_inbound_channel_from_trusted_peer_0conf`); `blocks` are
    /// mined after funding (0 for a zero-conf channel, which must then be
    /// ready unconfirmed). Returns the channel id once both sides see it
    /// ready.
    #[allow(clippy::type_complexity)]
    pub fn open_channel_with(
        &mut self,
        a: usize,
        b: usize,
        value_sat: u64,
        push_msat: u64,
        blocks: u32,
        accept: &dyn Fn(&ChannelManager, &ChannelId, &PublicKey) -> Result<(), APIError>,
    ) -> ChannelId {
        if !self
            .links
            .iter()
            .any(|l| (l.a == a && l.b == b) || (l.a == b && l.b == a))
        {
            self.connect(a, b);
        }
        let (aid, bid) = (self.nodes[a].node_id, self.nodes[b].node_id);
        let temp = self.nodes[a]
            .manager
            .create_channel(bid, value_sat, push_msat, 0, None)
            .expect("create_channel");
        self.pump();
        let requested = self.nodes[b].events.iter().any(|e| {
            matches!(e, Event::OpenChannelRequest { temporary_channel_id, .. }
                if *temporary_channel_id == temp)
        });
        if requested {
            accept(&self.nodes[b].manager, &temp, &aid).expect("accept the channel");
            self.pump();
        }
        let script = self.nodes[a]
            .events
            .iter()
            .find_map(|e| match e {
                Event::FundingGenerationReady {
                    temporary_channel_id,
                    output_script,
                    ..
                } if *temporary_channel_id == temp => Some(output_script.clone()),
                _ => None,
            })
            .expect("FundingGenerationReady");
        let tx = self.funding_tx(script, value_sat);
        self.nodes[a]
            .manager
            .funding_transaction_generated(&temp, &bid, tx)
            .expect("funding accepted");
        self.pump();
        let id = self.nodes[a]
            .events
            .iter()
            .find_map(|e| match e {
                Event::ChannelPending {
                    channel_id,
                    former_temporary_channel_id,
                    ..
                } if *former_temporary_channel_id == temp => Some(*channel_id),
                _ => None,
            })
            .expect("ChannelPending");
        if blocks > 0 {
            self.mine(blocks);
        }
        for n in [a, b] {
            assert!(
                self.nodes[n].events.iter().any(
                    |e| matches!(e, Event::ChannelReady { channel_id, .. } if *channel_id == id)
                ),
                "node {n} did not see the channel ready"
            );
        }
        id
    }

    /// Node `i`'s balance on channel `id` (msat).
    pub fn balance_msat(&self, i: usize, id: &ChannelId) -> u64 {
        self.nodes[i]
            .manager
            .list_channels()
            .into_iter()
            .find(|c| c.channel_id == *id)
            .map(|c| c.balance_msat)
            .unwrap_or(0)
    }

    /// A fresh payment id.
    pub fn payment_id(&mut self) -> PaymentId {
        self.next_payment += 1;
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&self.next_payment.to_be_bytes());
        PaymentId(id)
    }

    /// Node `from` pays `invoice` (no retries) and pumps until it settles.
    /// Returns the preimage (from `PaymentSent`) or the failure event.
    pub fn pay_invoice(
        &mut self,
        from: usize,
        invoice: &Bolt11Invoice,
    ) -> Result<PaymentPreimage, Box<Event>> {
        let id = self.payment_id();
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_bolt11_invoice(invoice),
            invoice.amount_msat().unwrap_or(0),
        );
        let secret = invoice.payment_secret();
        self.nodes[from]
            .manager
            .send_payment(
                invoice.payment_hash(),
                RecipientOnionFields::secret_only(secret),
                id,
                params,
                Retry::Attempts(0),
            )
            .map_err(|e| {
                Box::new(Event::PaymentFailed {
                    payment_id: id,
                    payment_hash: invoice.payment_hash(),
                    reason: match e {
                        crate::manager::RetryableSendFailure::RouteNotFound => {
                            crate::manager::PaymentFailureReason::RouteNotFound
                        }
                        _ => crate::manager::PaymentFailureReason::RetriesExhausted,
                    },
                })
            })?;
        self.pump();
        self.payment_result(from, id)
    }

    /// The outcome of payment `id` among node `from`'s events.
    pub fn payment_result(
        &self,
        from: usize,
        id: PaymentId,
    ) -> Result<PaymentPreimage, Box<Event>> {
        for e in &self.nodes[from].events {
            match e {
                Event::PaymentSent {
                    payment_id,
                    payment_preimage,
                    ..
                } if *payment_id == id => return Ok(*payment_preimage),
                Event::PaymentFailed { payment_id, .. } if *payment_id == id => {
                    return Err(Box::new(e.clone()))
                }
                _ => {}
            }
        }
        Err(Box::new(Event::PaymentFailed {
            payment_id: id,
            payment_hash: crate::types::PaymentHash([0; 32]),
            reason: crate::manager::PaymentFailureReason::PaymentExpired,
        }))
    }

    /// Restarts node `i` from what it persisted: its manager bytes (as of
    /// the last [`pump`](Self::pump)) and its monitors in the store. Its
    /// connections are dropped; reconnect with [`connect`](Self::connect).
    pub fn restart(&mut self, i: usize) {
        let peers: Vec<usize> = self
            .links
            .iter()
            .filter_map(|l| {
                if l.a == i {
                    Some(l.b)
                } else if l.b == i {
                    Some(l.a)
                } else {
                    None
                }
            })
            .collect();
        for p in peers {
            self.disconnect(i, p);
        }
        let old = &self.nodes[i];
        let saved = old.saved_manager.clone();
        let store = old.persister.store.clone();
        let (seed, config) = (old.seed, old.config);
        let node = self.build_node(seed, config, store, Some(&saved));
        self.nodes[i] = node;
    }

    /// Completes every monitor update node `i`'s persister answered
    /// `InProgress` for, and pumps.
    pub fn complete_persistence(&mut self, i: usize) {
        for (op, id) in self.nodes[i].persister.take_in_progress() {
            let _ = self.nodes[i].chain_monitor.channel_monitor_updated(op, id);
        }
        self.pump();
    }

    /// Calls `timer_tick_occurred` on every manager and pumps.
    pub fn tick(&mut self) {
        for n in &self.nodes {
            n.manager.timer_tick_occurred();
            n.peer_manager.timer_tick_occurred();
        }
        self.pump();
    }
}

/// Hands a message straight to a manager's `ChannelMessageHandler` (held
/// messages, and tests that inject crafted ones). Returns `false` for a
/// message type the manager does not handle.
pub fn deliver(m: &ChannelManager, from: PublicKey, msg: &Message) -> bool {
    match msg {
        Message::UpdateAddHtlc(x) => m.handle_update_add_htlc(from, x),
        Message::UpdateFulfillHtlc(x) => m.handle_update_fulfill_htlc(from, x),
        Message::UpdateFailHtlc(x) => m.handle_update_fail_htlc(from, x),
        Message::UpdateFailMalformedHtlc(x) => m.handle_update_fail_malformed_htlc(from, x),
        Message::CommitmentSigned(x) => m.handle_commitment_signed(from, x),
        Message::RevokeAndAck(x) => m.handle_revoke_and_ack(from, x),
        Message::UpdateFee(x) => m.handle_update_fee(from, x),
        Message::ChannelReady(x) => m.handle_channel_ready(from, x),
        Message::ChannelReestablish(x) => m.handle_channel_reestablish(from, x),
        Message::Shutdown(x) => m.handle_shutdown(from, x),
        Message::ClosingSigned(x) => m.handle_closing_signed(from, x),
        Message::Stfu(x) => m.handle_stfu(from, x),
        Message::OpenChannel(x) => m.handle_open_channel(from, x),
        Message::AcceptChannel(x) => m.handle_accept_channel(from, x),
        Message::FundingCreated(x) => m.handle_funding_created(from, x),
        Message::FundingSigned(x) => m.handle_funding_signed(from, x),
        Message::Error(x) => m.handle_error(from, x),
        _ => return false,
    }
    true
}

impl Node {
    /// The node's signer as `NodeSigner`.
    pub fn node_signer(&self) -> Arc<dyn NodeSigner> {
        self.keys.clone()
    }
    /// The node's entropy.
    pub fn entropy(&self) -> Arc<dyn EntropySource> {
        self.keys.clone()
    }
    /// The node's signer provider.
    pub fn signer_provider(&self) -> Arc<dyn SignerProvider> {
        self.keys.clone()
    }
    /// Whether the listener trait object of the manager is usable (for
    /// custom chain feeding).
    pub fn listener(&self) -> Arc<dyn Listen + Send + Sync> {
        self.manager.clone()
    }
}
