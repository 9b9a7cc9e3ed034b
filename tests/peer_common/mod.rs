//! Shared helpers for the peer tests: a handler that records every call on
//! all four handler traits, and two `PeerManager`s joined by an in-memory pipe.
#![allow(dead_code)]

use lnkit::bitcoin::blockdata::constants::ChainHash;
use lnkit::bitcoin::secp256k1::{PublicKey, SecretKey};
use lnkit::bitcoin::Network;
use lnkit::events::{MessageSendEvent, MessageSendEventsProvider};
use lnkit::logger::{Logger, Record};
use lnkit::msgs::*;
use lnkit::peer::pipe::PipeDescriptor;
use lnkit::peer::{
    InMemoryNodeKey, MessageHandler, PeerManager, PeerManagerConfig, SocketDescriptor,
};
use lnkit::types::Point;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub type GraphEntry = (
    ChannelAnnouncement,
    Option<ChannelUpdate>,
    Option<ChannelUpdate>,
);

/// Which handler saw what: `"chan:update_add_htlc"`, `"route:channel_update"`, …
#[derive(Default)]
pub struct Recorder {
    pub seen: Mutex<Vec<String>>,
    pub events: Mutex<Vec<MessageSendEvent>>,
    pub custom_out: Mutex<Vec<(PublicKey, u16, Vec<u8>)>>,
    pub onion_out: Mutex<Vec<OnionMessage>>,
    pub connected: Mutex<Vec<(PublicKey, bool)>>,
    pub disconnected: Mutex<Vec<PublicKey>>,
    pub features: Mutex<Option<InitFeatures>>,
    pub chains: Mutex<Option<Vec<ChainHash>>>,
    pub relay_gossip: std::sync::atomic::AtomicBool,
    pub custom_count: AtomicU64,
    pub graph: Mutex<Vec<GraphEntry>>,
    pub nodes: Mutex<Vec<NodeAnnouncement>>,
    pub received_nodes: Mutex<Vec<NodeAnnouncement>>,
    pub refuse_peers: std::sync::atomic::AtomicBool,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    fn note(&self, who: &str, what: &str) {
        self.seen.lock().unwrap().push(format!("{who}:{what}"));
    }
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
    pub fn saw(&self, entry: &str) -> bool {
        self.seen.lock().unwrap().iter().any(|s| s == entry)
    }
    fn init_features(&self) -> InitFeatures {
        self.features
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(InitFeatures::empty)
    }
}

impl MessageSendEventsProvider for Recorder {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

macro_rules! record_chan {
    ($( $m:ident($t:ty) = $name:literal; )*) => {
        impl ChannelMessageHandler for Recorder {
            $( fn $m(&self, _: PublicKey, _: &$t) { self.note("chan", $name); } )*
            fn handle_error(&self, _: PublicKey, _: &ErrorMessage) { self.note("chan", "error"); }
            fn peer_connected(&self, id: PublicKey, _: &Init, inbound: bool) -> Result<(), ()> {
                if self.refuse_peers.load(Ordering::SeqCst) { return Err(()); }
                self.connected.lock().unwrap().push((id, inbound));
                Ok(())
            }
            fn peer_disconnected(&self, id: PublicKey) { self.disconnected.lock().unwrap().push(id); }
            fn provided_init_features(&self, _: PublicKey) -> InitFeatures { self.init_features() }
            fn provided_node_features(&self) -> NodeFeatures { self.init_features().to_context() }
            fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> { self.chains.lock().unwrap().clone() }
        }
    };
}

record_chan! {
    handle_open_channel(OpenChannel) = "open_channel";
    handle_accept_channel(AcceptChannel) = "accept_channel";
    handle_funding_created(FundingCreated) = "funding_created";
    handle_funding_signed(FundingSigned) = "funding_signed";
    handle_channel_ready(ChannelReady) = "channel_ready";
    handle_stfu(Stfu) = "stfu";
    handle_shutdown(Shutdown) = "shutdown";
    handle_closing_signed(ClosingSigned) = "closing_signed";
    handle_closing_complete(ClosingComplete) = "closing_complete";
    handle_closing_sig(ClosingSig) = "closing_sig";
    handle_update_add_htlc(UpdateAddHtlc) = "update_add_htlc";
    handle_update_fulfill_htlc(UpdateFulfillHtlc) = "update_fulfill_htlc";
    handle_update_fail_htlc(UpdateFailHtlc) = "update_fail_htlc";
    handle_update_fail_malformed_htlc(UpdateFailMalformedHtlc) = "update_fail_malformed_htlc";
    handle_commitment_signed(CommitmentSigned) = "commitment_signed";
    handle_revoke_and_ack(RevokeAndAck) = "revoke_and_ack";
    handle_update_fee(UpdateFee) = "update_fee";
    handle_channel_reestablish(ChannelReestablish) = "channel_reestablish";
    handle_announcement_signatures(AnnouncementSignatures) = "announcement_signatures";
    handle_tx_add_input(TxAddInput) = "tx_add_input";
    handle_tx_add_output(TxAddOutput) = "tx_add_output";
    handle_tx_remove_input(TxRemoveInput) = "tx_remove_input";
    handle_tx_remove_output(TxRemoveOutput) = "tx_remove_output";
    handle_tx_complete(TxComplete) = "tx_complete";
    handle_tx_signatures(TxSignatures) = "tx_signatures";
    handle_tx_init_rbf(TxInitRbf) = "tx_init_rbf";
    handle_tx_ack_rbf(TxAckRbf) = "tx_ack_rbf";
    handle_tx_abort(TxAbort) = "tx_abort";
    handle_open_channel_v2(OpenChannel2) = "open_channel2";
    handle_accept_channel_v2(AcceptChannel2) = "accept_channel2";
    handle_splice_init(SpliceInit) = "splice_init";
    handle_splice_ack(SpliceAck) = "splice_ack";
    handle_splice_locked(SpliceLocked) = "splice_locked";
    handle_start_batch(StartBatch) = "start_batch";
    handle_peer_storage(PeerStorage) = "peer_storage";
    handle_peer_storage_retrieval(PeerStorageRetrieval) = "peer_storage_retrieval";
}

impl RoutingMessageHandler for Recorder {
    fn handle_node_announcement(
        &self,
        _: Option<PublicKey>,
        _m: &NodeAnnouncement,
    ) -> Result<bool, LightningError> {
        self.note("route", "node_announcement");
        self.received_nodes.lock().unwrap().push(_m.clone());
        Ok(self.relay_gossip.load(Ordering::SeqCst))
    }
    fn handle_channel_announcement(
        &self,
        _: Option<PublicKey>,
        _: &ChannelAnnouncement,
    ) -> Result<bool, LightningError> {
        self.note("route", "channel_announcement");
        Ok(self.relay_gossip.load(Ordering::SeqCst))
    }
    fn handle_channel_update(
        &self,
        _: Option<PublicKey>,
        _: &ChannelUpdate,
    ) -> Result<bool, LightningError> {
        self.note("route", "channel_update");
        Ok(self.relay_gossip.load(Ordering::SeqCst))
    }
    fn get_next_channel_announcement(
        &self,
        start: u64,
    ) -> Option<(
        ChannelAnnouncement,
        Option<ChannelUpdate>,
        Option<ChannelUpdate>,
    )> {
        self.graph
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.0.short_channel_id.0 >= start)
            .cloned()
    }
    fn get_next_node_announcement(&self, start: Option<&Point>) -> Option<NodeAnnouncement> {
        let nodes = self.nodes.lock().unwrap();
        match start {
            None => nodes.first().cloned(),
            Some(p) => nodes.iter().skip_while(|n| &n.node_id != p).nth(1).cloned(),
        }
    }
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn handle_reply_channel_range(
        &self,
        _: PublicKey,
        _: ReplyChannelRange,
    ) -> Result<(), LightningError> {
        self.note("route", "reply_channel_range");
        Ok(())
    }
    fn handle_reply_short_channel_ids_end(
        &self,
        _: PublicKey,
        _: ReplyShortChannelIdsEnd,
    ) -> Result<(), LightningError> {
        self.note("route", "reply_short_channel_ids_end");
        Ok(())
    }
    fn handle_query_channel_range(
        &self,
        _: PublicKey,
        _: QueryChannelRange,
    ) -> Result<(), LightningError> {
        self.note("route", "query_channel_range");
        Ok(())
    }
    fn handle_query_short_channel_ids(
        &self,
        _: PublicKey,
        _: QueryShortChannelIds,
    ) -> Result<(), LightningError> {
        self.note("route", "query_short_channel_ids");
        Ok(())
    }
    fn processing_queue_high(&self) -> bool {
        false
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
}

impl OnionMessageHandler for Recorder {
    fn handle_onion_message(&self, _: PublicKey, _: &OnionMessage) {
        self.note("onion", "onion_message");
    }
    fn next_onion_message_for_peer(&self, _: PublicKey) -> Option<OnionMessage> {
        self.onion_out.lock().unwrap().pop()
    }
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn timer_tick_occurred(&self) {}
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
}

/// Custom types: 32768 (even, claimed) and 32769.
pub const CUSTOM_EVEN: u16 = 32768;
pub const CUSTOM_ODD: u16 = 32769;

impl CustomMessageHandler for Recorder {
    fn is_custom_type(&self, t: u16) -> bool {
        t == CUSTOM_EVEN || t == CUSTOM_ODD
    }
    fn handle_custom_message(
        &self,
        _: PublicKey,
        t: u16,
        payload: &[u8],
    ) -> Result<(), LightningError> {
        if self.custom_count.fetch_add(1, Ordering::Relaxed) < 100 {
            self.note("custom", &format!("{t}:{}", payload.len()));
        }
        Ok(())
    }
    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, u16, Vec<u8>)> {
        std::mem::take(&mut *self.custom_out.lock().unwrap())
    }
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
}

/// A logger that keeps lines (for asserting on tags).
#[derive(Default)]
pub struct TestLogger {
    pub lines: Mutex<Vec<String>>,
}
impl Logger for TestLogger {
    fn log(&self, r: Record<'_>) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{} {}", r.level, r.args));
    }
}
impl TestLogger {
    pub fn has(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(needle))
    }
}

pub struct Node {
    pub pm: Arc<PeerManager<PipeDescriptor>>,
    pub h: Arc<Recorder>,
    pub id: PublicKey,
    pub secret: SecretKey,
    pub logger: Arc<TestLogger>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::SeqCst) as u64
}

pub fn node_with(seed: u8, config: PeerManagerConfig) -> Node {
    let h = Recorder::new();
    *h.chains.lock().unwrap() = Some(vec![ChainHash::using_genesis_block(Network::Regtest)]);
    let secret = SecretKey::from_slice(&[seed; 32]).unwrap();
    let key = Arc::new(InMemoryNodeKey::new(secret));
    let logger = Arc::new(TestLogger::default());
    let counter = Arc::new(AtomicU64::new(seed as u64 * 1_000_000));
    let entropy = move || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let mut b = [7u8; 32];
        b[..8].copy_from_slice(&n.to_le_bytes());
        b
    };
    let handlers = MessageHandler {
        chan_handler: h.clone(),
        route_handler: h.clone(),
        onion_message_handler: h.clone(),
        custom_message_handler: h.clone(),
    };
    let pm = Arc::new(PeerManager::with_config(
        handlers,
        key.clone(),
        Arc::new(entropy),
        logger.clone(),
        config,
    ));
    Node {
        id: pm.node_id(),
        pm,
        h,
        secret,
        logger,
    }
}

pub fn node(seed: u8) -> Node {
    node_with(seed, PeerManagerConfig::default())
}

/// Moves bytes both ways (8 KiB reads) until nothing moves, closing the
/// other end when a side fails or disconnects; returns false if a
/// read_event failed on either side.
pub fn pump(a: &Node, b: &Node, da: &PipeDescriptor, db: &PipeDescriptor) -> bool {
    let mut ok = true;
    loop {
        a.pm.process_events();
        b.pm.process_events();
        let mut moved = false;
        for (from, to, to_d) in [(da, b, db), (db, a, da)] {
            let data = from.take();
            if data.is_empty() || to_d.is_disconnected() {
                continue;
            }
            moved = true;
            let mut d = to_d.clone();
            for chunk in data.chunks(8192) {
                if to.pm.read_event(&mut d, chunk).is_err() {
                    ok = false;
                    d.disconnect_socket();
                    break;
                }
            }
        }
        // A closed socket is seen by the other end.
        if da.is_disconnected() {
            b.pm.socket_disconnected(db);
        }
        if db.is_disconnected() {
            a.pm.socket_disconnected(da);
        }
        if !moved {
            return ok;
        }
    }
}

/// Connects a (outbound) to b (inbound) and runs the handshake and init.
pub fn connect(a: &Node, b: &Node) -> (PipeDescriptor, PipeDescriptor) {
    let da = PipeDescriptor::new(next_id());
    let db = PipeDescriptor::new(next_id());
    let act1 =
        a.pm.new_outbound_connection(b.id, da.clone(), None)
            .unwrap();
    b.pm.new_inbound_connection(db.clone(), None).unwrap();
    let mut d = db.clone();
    b.pm.read_event(&mut d, &act1).unwrap();
    assert!(pump(a, b, &da, &db));
    (da, db)
}
