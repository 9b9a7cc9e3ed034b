//! The `PeerManager`: owns every connection's state, runs the BOLT 8
//! handshake, the BOLT 1 `init` exchange and ping/pong, routes decrypted
//! messages to the handlers, relays gossip, and applies back-pressure.
//!
//! It never touches a socket: the driver (for example [`crate::net`]) feeds
//! received bytes to [`PeerManager::read_event`] and sends what the manager
//! hands to [`SocketDescriptor::send_data`].

use super::descriptor::{PeerHandleError, SocketDescriptor};
use super::gossip::Relay;
use super::keys::{PeerEntropy, PeerNodeKey};
use super::noise::{NoiseSession, SessionEvent, StaticKeyEcdh, LENGTH_HEADER_LEN};
use crate::codec::WithU16Len;
use crate::events::MessageSendEvent;
use crate::logger::Logger;
use crate::msgs::*;
use crate::types::Point;
use crate::{log_debug, log_info};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard};

/// The handlers a `PeerManager` routes messages to.
#[derive(Clone)]
pub struct MessageHandler {
    /// BOLT 2 channel messages (the `ChannelManager`, or [`super::ErroringMessageHandler`]).
    pub chan_handler: Arc<dyn ChannelMessageHandler>,
    /// BOLT 7 gossip (the gossip sync, or [`super::IgnoringMessageHandler`]).
    pub route_handler: Arc<dyn RoutingMessageHandler>,
    /// BOLT 4 onion messages.
    pub onion_message_handler: Arc<dyn OnionMessageHandler>,
    /// Application-defined messages.
    pub custom_message_handler: Arc<dyn CustomMessageHandler>,
}

/// Watches connection-level events the handlers do not see: every message
/// received, `init`, `ping` and `pong` included. For shells, metrics, tests.
pub trait PeerObserver: Send + Sync {
    /// A message of `type_id` (named `name` if known) arrived from `their_node_id`.
    fn message_received(&self, their_node_id: PublicKey, type_id: u16, name: Option<&'static str>);
}

/// Limits a `PeerManager` applies to every connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerManagerConfig {
    /// Connections allowed in the handshake (or before `init`) at once;
    /// more inbound ones are refused.
    pub max_pending_handshakes: usize,
    /// Unsent bytes above which we stop reading from the peer (so its
    /// requests cannot make us queue more) until it drains.
    pub pause_read_bytes: usize,
    /// Unsent bytes above which gossip (relay and initial sync) is no longer
    /// queued for the peer: a slow peer loses gossip first.
    pub drop_gossip_bytes: usize,
    /// Unsent bytes at which the peer is disconnected: it is not reading.
    pub max_outbound_bytes: usize,
}

impl Default for PeerManagerConfig {
    fn default() -> Self {
        PeerManagerConfig {
            max_pending_handshakes: 256,
            pause_read_bytes: 256 * 1024,
            drop_gossip_bytes: 64 * 1024,
            max_outbound_bytes: 4 * 1024 * 1024,
        }
    }
}

/// A connected peer as [`PeerManager::list_peers`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDetails {
    /// The peer's node id.
    pub counterparty_node_id: PublicKey,
    /// The address the driver gave for the connection.
    pub socket_address: Option<SocketAddress>,
    /// The features the peer sent in `init`.
    pub init_features: InitFeatures,
    /// Whether the peer connected to us.
    pub is_inbound_connection: bool,
}

/// Where the initial gossip sync to a peer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum InitialSync {
    NotRequested,
    Channels(u64),
    Nodes(Option<Point>),
    Done,
}

pub(super) struct Peer<D> {
    pub(super) descriptor: D,
    pub(super) session: NoiseSession,
    pub(super) inbound: bool,
    pub(super) remote_addr: Option<SocketAddress>,
    pub(super) their_node_id: Option<PublicKey>,
    /// Set once their `init` was accepted and the handlers told.
    pub(super) their_features: Option<InitFeatures>,
    /// Whether we sent our `init` (right after the handshake).
    pub(super) sent_init: bool,
    /// Encrypted bytes not yet accepted by the socket: `outbuf[out_pos..]`.
    pub(super) outbuf: Vec<u8>,
    pub(super) out_pos: usize,
    pub(super) read_paused: bool,
    /// The pong length we wait for, if a ping is outstanding.
    pub(super) awaiting_pong: Option<u16>,
    pub(super) ticks_awaiting_pong: u8,
    pub(super) received_since_tick: bool,
    pub(super) ticks_before_init: u8,
    pub(super) gossip_filter: Option<GossipTimestampFilter>,
    pub(super) sync: InitialSync,
}

impl<D> Peer<D> {
    pub(super) fn pending_out(&self) -> usize {
        self.outbuf.len() - self.out_pos
    }
    pub(super) fn is_ready(&self) -> bool {
        self.their_features.is_some()
    }
}

pub(super) type PeerHolder<D> = Arc<Mutex<Peer<D>>>;

/// What a finished `read_event` wants done outside the peer's lock.
#[derive(Default)]
pub(super) struct ReadOutcome {
    pub(super) relay: Vec<(Relay, PublicKey)>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked while we held a lock must not take the node
    // down with it: the state itself stays consistent between calls.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes one plaintext message into the peer's outbound buffer and seals it
/// there (no intermediate allocation).
pub(super) fn enqueue_with<D>(peer: &mut Peer<D>, write: impl FnOnce(&mut Vec<u8>)) -> bool {
    let start = peer.outbuf.len();
    peer.outbuf.extend_from_slice(&[0u8; LENGTH_HEADER_LEN]);
    write(&mut peer.outbuf);
    if peer.session.seal_in_place(&mut peer.outbuf, start).is_err() {
        peer.outbuf.truncate(start);
        return false;
    }
    true
}

pub(super) fn enqueue<D>(peer: &mut Peer<D>, msg: &Message) -> bool {
    enqueue_with(peer, |buf| {
        msg.write(buf).expect("writing into a Vec<u8> never fails");
    })
}

pub(super) fn enqueue_raw<D>(peer: &mut Peer<D>, type_id: u16, payload: &[u8]) -> bool {
    enqueue_with(peer, |buf| {
        buf.extend_from_slice(&type_id.to_be_bytes());
        buf.extend_from_slice(payload);
    })
}

/// Drives every peer connection; see the module docs.
pub struct PeerManager<D: SocketDescriptor> {
    pub(super) handlers: MessageHandler,
    pub(super) node_key: Arc<dyn PeerNodeKey>,
    pub(super) entropy: Arc<dyn PeerEntropy>,
    pub(super) logger: Arc<dyn Logger>,
    pub(super) config: PeerManagerConfig,
    pub(super) secp: Secp256k1<All>,
    pub(super) our_node_id: PublicKey,
    pub(super) peers: Mutex<HashMap<D, PeerHolder<D>>>,
    pub(super) node_ids: Mutex<HashMap<PublicKey, D>>,
    pub(super) event_lock: Mutex<()>,
    pub(super) last_node_announcement: AtomicU32,
    pub(super) observer: Option<Arc<dyn PeerObserver>>,
}

impl<D: SocketDescriptor> PeerManager<D> {
    /// A manager with default limits. `node_key` is the node identity key
    /// (see [`super::InMemoryNodeKey`]); `entropy` makes ephemeral keys.
    pub fn new(
        handlers: MessageHandler,
        node_key: Arc<dyn PeerNodeKey>,
        entropy: Arc<dyn PeerEntropy>,
        logger: Arc<dyn Logger>,
    ) -> Self {
        Self::with_config(
            handlers,
            node_key,
            entropy,
            logger,
            PeerManagerConfig::default(),
        )
    }

    /// A manager whose node key lives in a [`NodeSigner`](crate::sign::NodeSigner)
    /// (ECDH and gossip signatures go through it) and whose ephemeral keys
    /// come from an [`EntropySource`](crate::sign::EntropySource).
    pub fn with_signer(
        handlers: MessageHandler,
        signer: Arc<dyn crate::sign::NodeSigner>,
        entropy: Arc<dyn crate::sign::EntropySource>,
        logger: Arc<dyn Logger>,
        config: PeerManagerConfig,
    ) -> Result<Self, crate::sign::SignError> {
        let key = Arc::new(super::keys::SignerNodeKey::new(signer)?);
        let entropy = Arc::new(super::keys::SignerEntropy(entropy));
        Ok(Self::with_config(handlers, key, entropy, logger, config))
    }

    /// A manager with explicit limits.
    pub fn with_config(
        handlers: MessageHandler,
        node_key: Arc<dyn PeerNodeKey>,
        entropy: Arc<dyn PeerEntropy>,
        logger: Arc<dyn Logger>,
        config: PeerManagerConfig,
    ) -> Self {
        let our_node_id = node_key.public_key();
        PeerManager {
            handlers,
            node_key,
            entropy,
            logger,
            config,
            secp: Secp256k1::new(),
            our_node_id,
            peers: Mutex::new(HashMap::new()),
            node_ids: Mutex::new(HashMap::new()),
            event_lock: Mutex::new(()),
            last_node_announcement: AtomicU32::new(0),
            observer: None,
        }
    }

    /// Adds an observer of every received message (before sharing the manager).
    pub fn with_observer(mut self, observer: Arc<dyn PeerObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Our node id.
    pub fn node_id(&self) -> PublicKey {
        self.our_node_id
    }

    fn ephemeral_key(&self) -> SecretKey {
        loop {
            // A 32-byte string is a valid key except with probability ~2^-128.
            if let Ok(k) = SecretKey::from_slice(&self.entropy.random_bytes()) {
                return k;
            }
        }
    }

    fn new_peer(
        &self,
        descriptor: D,
        session: NoiseSession,
        inbound: bool,
        remote_addr: Option<SocketAddress>,
    ) -> Peer<D> {
        Peer {
            descriptor,
            their_node_id: session.their_node_id(),
            session,
            inbound,
            remote_addr,
            their_features: None,
            sent_init: false,
            outbuf: Vec::new(),
            out_pos: 0,
            read_paused: false,
            awaiting_pong: None,
            ticks_awaiting_pong: 0,
            received_since_tick: false,
            ticks_before_init: 0,
            gossip_filter: None,
            sync: InitialSync::NotRequested,
        }
    }

    fn pending_handshakes(&self, peers: &HashMap<D, PeerHolder<D>>) -> usize {
        peers.values().filter(|p| !lock(p).is_ready()).count()
    }

    /// Starts an outbound connection to `their_node_id` over `descriptor`;
    /// returns Act One, which the caller sends itself.
    pub fn new_outbound_connection(
        &self,
        their_node_id: PublicKey,
        descriptor: D,
        remote_addr: Option<SocketAddress>,
    ) -> Result<Vec<u8>, PeerHandleError> {
        let (session, act1) =
            NoiseSession::new_outbound(&self.secp, their_node_id, self.ephemeral_key());
        let mut peers = lock(&self.peers);
        if peers.contains_key(&descriptor) {
            return Err(PeerHandleError::DuplicateConnection);
        }
        let peer = self.new_peer(descriptor.clone(), session, false, remote_addr);
        peers.insert(descriptor, Arc::new(Mutex::new(peer)));
        Ok(act1.to_vec())
    }

    /// Registers an inbound connection; its first bytes will be Act One.
    /// Refused when too many connections are still in the handshake.
    pub fn new_inbound_connection(
        &self,
        descriptor: D,
        remote_addr: Option<SocketAddress>,
    ) -> Result<(), PeerHandleError> {
        let session =
            NoiseSession::new_inbound(&self.secp, &self.our_node_id, self.ephemeral_key());
        let mut peers = lock(&self.peers);
        if peers.contains_key(&descriptor) {
            return Err(PeerHandleError::DuplicateConnection);
        }
        if self.pending_handshakes(&peers) >= self.config.max_pending_handshakes {
            log_debug!(
                self.logger,
                "refusing inbound connection: handshake cap reached"
            );
            return Err(PeerHandleError::TooManyPendingHandshakes);
        }
        let peer = self.new_peer(descriptor.clone(), session, true, remote_addr);
        peers.insert(descriptor, Arc::new(Mutex::new(peer)));
        Ok(())
    }

    pub(super) fn get_peer(&self, descriptor: &D) -> Option<PeerHolder<D>> {
        lock(&self.peers).get(descriptor).cloned()
    }

    pub(super) fn peer_by_node_id(&self, node_id: &PublicKey) -> Option<PeerHolder<D>> {
        let d = lock(&self.node_ids).get(node_id).cloned()?;
        self.get_peer(&d)
    }

    /// Feeds bytes received on `descriptor`. Returns `Ok(true)` when the
    /// driver should stop reading until `send_data` is called with
    /// `resume_read`. On `Err` the peer is already forgotten: close the socket.
    pub fn read_event(&self, descriptor: &mut D, data: &[u8]) -> Result<bool, PeerHandleError> {
        let holder = self
            .get_peer(descriptor)
            .ok_or(PeerHandleError::UnknownDescriptor)?;
        let mut outcome = ReadOutcome::default();
        let result = {
            let mut guard = lock(&holder);
            let peer = &mut *guard;
            let r = self.do_read(peer, data, &mut outcome);
            // Whatever happened, try to send what we queued (act two/three,
            // init, pongs, or the error we are leaving with).
            self.flush(peer);
            match r {
                Ok(()) => {
                    if peer.pending_out() >= self.config.max_outbound_bytes {
                        Err(PeerHandleError::OutboundBufferFull)
                    } else {
                        let pause = peer.pending_out() >= self.config.pause_read_bytes
                            || (peer.is_ready()
                                && self.handlers.route_handler.processing_queue_high());
                        peer.read_paused = pause;
                        Ok(pause)
                    }
                }
                Err(e) => Err(e),
            }
        };
        if let Err(e) = &result {
            log_debug!(self.logger, "dropping peer: {} ({})", e, e.tag());
            self.forget_peer(descriptor);
        }
        for (relay, from) in outcome.relay {
            self.relay_gossip(&relay, Some(&from));
        }
        result
    }

    fn do_read(
        &self,
        peer: &mut Peer<D>,
        data: &[u8],
        outcome: &mut ReadOutcome,
    ) -> Result<(), PeerHandleError> {
        peer.session.push_input(data);
        let key: &dyn StaticKeyEcdh = &*self.node_key;
        let r = loop {
            match peer.session.next_event(key, &mut peer.outbuf) {
                Ok(SessionEvent::NeedMore) => break Ok(()),
                Ok(SessionEvent::ActSent) => {}
                Ok(SessionEvent::HandshakeDone { their_node_id }) => {
                    if let Err(e) = self.handshake_done(peer, their_node_id) {
                        break Err(e);
                    }
                }
                Ok(SessionEvent::Message(range)) => {
                    peer.received_since_tick = true;
                    if let Err(e) = self.handle_frame(peer, range, outcome) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(PeerHandleError::Noise(e)),
            }
        };
        peer.session.compact();
        r
    }

    fn handshake_done(
        &self,
        peer: &mut Peer<D>,
        their_node_id: PublicKey,
    ) -> Result<(), PeerHandleError> {
        {
            let mut ids = lock(&self.node_ids);
            if ids.contains_key(&their_node_id) || their_node_id == self.our_node_id {
                log_debug!(
                    self.logger,
                    "already connected to {their_node_id}; dropping the new connection"
                );
                return Err(PeerHandleError::DuplicateConnection);
            }
            ids.insert(their_node_id, peer.descriptor.clone());
        }
        peer.their_node_id = Some(their_node_id);
        log_debug!(self.logger, "handshake complete with {their_node_id}");
        // BOLT 1: "MUST send `init` as the first Lightning message for any connection."
        let mut features = self
            .handlers
            .chan_handler
            .provided_init_features(their_node_id);
        features = features.or(&self
            .handlers
            .route_handler
            .provided_init_features(their_node_id));
        features = features.or(&self
            .handlers
            .onion_message_handler
            .provided_init_features(their_node_id));
        features = features.or(&self
            .handlers
            .custom_message_handler
            .provided_init_features(their_node_id));
        let mut init = Init::new(features, self.handlers.chan_handler.get_chain_hashes());
        // BOLT 1: SHOULD set `remote_addr` to the remote IP address of an
        // incoming connection, if it was made via IP.
        if peer.inbound {
            init.remote_addr = peer.remote_addr.clone().filter(|a| {
                matches!(
                    a,
                    SocketAddress::TcpIpV4 { .. } | SocketAddress::TcpIpV6 { .. }
                )
            });
        }
        enqueue(peer, &Message::Init(init));
        peer.sent_init = true;
        Ok(())
    }

    /// Hands queued bytes to the socket; asks it to resume reading once
    /// the backlog is small again.
    pub(super) fn flush(&self, peer: &mut Peer<D>) {
        let resume = peer.pending_out() < self.config.pause_read_bytes;
        while peer.out_pos < peer.outbuf.len() {
            let n = peer
                .descriptor
                .send_data(&peer.outbuf[peer.out_pos..], resume);
            if n == 0 {
                break;
            }
            peer.out_pos += n.min(peer.outbuf.len() - peer.out_pos);
            if resume {
                peer.read_paused = false;
            }
        }
        if peer.out_pos == peer.outbuf.len() {
            peer.outbuf.clear();
            peer.out_pos = 0;
            if peer.outbuf.capacity() > 4 * self.config.drop_gossip_bytes.max(1 << 16) {
                peer.outbuf.shrink_to(1 << 16);
            }
        } else if peer.out_pos > (1 << 16) && peer.out_pos * 2 > peer.outbuf.len() {
            peer.outbuf.drain(..peer.out_pos);
            peer.out_pos = 0;
        }
        if peer.read_paused && peer.pending_out() < self.config.pause_read_bytes {
            peer.read_paused = false;
            peer.descriptor.send_data(&[], true);
        }
    }

    /// The driver calls this when the socket can take more data after a
    /// short `send_data`.
    pub fn write_buffer_space_avail(&self, descriptor: &mut D) -> Result<(), PeerHandleError> {
        let holder = self
            .get_peer(descriptor)
            .ok_or(PeerHandleError::UnknownDescriptor)?;
        let mut guard = lock(&holder);
        let peer = &mut *guard;
        self.flush(peer);
        self.continue_initial_sync(peer);
        self.flush(peer);
        Ok(())
    }

    /// The driver calls this when the connection closed (not after a
    /// disconnect the manager asked for, nor after an `Err`; both are harmless).
    pub fn socket_disconnected(&self, descriptor: &D) {
        self.forget_peer(descriptor);
    }

    /// Drops the peer's state and tells the handlers if it had finished init.
    pub(super) fn forget_peer(&self, descriptor: &D) -> Option<PeerHolder<D>> {
        let holder = lock(&self.peers).remove(descriptor)?;
        let (node_id, ready) = {
            let p = lock(&holder);
            (p.their_node_id, p.is_ready())
        };
        if let Some(id) = node_id {
            let mut ids = lock(&self.node_ids);
            if ids.get(&id) == Some(descriptor) {
                ids.remove(&id);
            }
        }
        if let (Some(id), true) = (node_id, ready) {
            log_info!(self.logger, "peer {id} disconnected");
            self.tell_disconnected(id);
        }
        Some(holder)
    }

    /// Forgets the peer and asks the driver to close its socket.
    pub(super) fn disconnect_descriptor(&self, descriptor: &D) {
        if let Some(holder) = self.forget_peer(descriptor) {
            let mut d = {
                let mut p = lock(&holder);
                // Last chance for an error message queued before the decision.
                self.flush(&mut p);
                p.descriptor.clone()
            };
            d.disconnect_socket();
        }
    }

    /// Disconnects the peer with this node id, if connected.
    pub fn disconnect_by_node_id(&self, node_id: PublicKey) {
        let d = lock(&self.node_ids).get(&node_id).cloned();
        if let Some(d) = d {
            self.disconnect_descriptor(&d);
        }
    }

    /// Disconnects every peer.
    pub fn disconnect_all_peers(&self) {
        let all: Vec<D> = lock(&self.peers).keys().cloned().collect();
        for d in all {
            self.disconnect_descriptor(&d);
        }
    }

    /// The peers that finished the handshake and `init`.
    pub fn list_peers(&self) -> Vec<PeerDetails> {
        let holders: Vec<_> = lock(&self.peers).values().cloned().collect();
        holders
            .iter()
            .filter_map(|h| {
                let p = lock(h);
                Some(PeerDetails {
                    counterparty_node_id: p.their_node_id?,
                    socket_address: p.remote_addr.clone(),
                    init_features: p.their_features.clone()?,
                    is_inbound_connection: p.inbound,
                })
            })
            .collect()
    }

    /// Details of one connected peer.
    pub fn peer_by_id(&self, node_id: &PublicKey) -> Option<PeerDetails> {
        let h = self.peer_by_node_id(node_id)?;
        let p = lock(&h);
        Some(PeerDetails {
            counterparty_node_id: p.their_node_id?,
            socket_address: p.remote_addr.clone(),
            init_features: p.their_features.clone()?,
            is_inbound_connection: p.inbound,
        })
    }

    /// Pulls every handler's queued messages and sends them, continues
    /// initial gossip syncs, and flushes each touched peer in one write.
    pub fn process_events(&self) {
        let _serial = lock(&self.event_lock);
        let mut events = self
            .handlers
            .chan_handler
            .get_and_clear_pending_msg_events();
        events.extend(
            self.handlers
                .route_handler
                .get_and_clear_pending_msg_events(),
        );
        let mut touched: Vec<PeerHolder<D>> = Vec::new();
        let mut to_disconnect: Vec<D> = Vec::new();
        // Consecutive messages usually go to the same peer: keep it at hand.
        let mut cached: Option<(PublicKey, PeerHolder<D>)> = None;
        let mut find =
            |id: &PublicKey, touched: &mut Vec<PeerHolder<D>>| -> Option<PeerHolder<D>> {
                if let Some((cid, h)) = &cached {
                    // `==` on public keys serializes both; the internal form
                    // is canonical within one library version, and a miss
                    // only means the slower lookup below.
                    if cid.eq_fast_unstable(id) {
                        return Some(h.clone());
                    }
                }
                let h = self.peer_by_node_id(id)?;
                if !touched.iter().any(|t| Arc::ptr_eq(t, &h)) {
                    touched.push(h.clone());
                }
                cached = Some((*id, h.clone()));
                Some(h)
            };
        for ev in events {
            match ev {
                MessageSendEvent::SendMessage { node_id, msg } => {
                    if let Some(h) = find(&node_id, &mut touched) {
                        let mut p = lock(&h);
                        if p.is_ready() {
                            enqueue(&mut p, &msg);
                        } else {
                            log_debug!(
                                self.logger,
                                "dropping {} for {node_id}: init not done",
                                msg.name()
                            );
                        }
                    } else {
                        log_debug!(
                            self.logger,
                            "dropping {} for unconnected {node_id}",
                            msg.name()
                        );
                    }
                }
                MessageSendEvent::BroadcastChannelAnnouncement { msg, update_msg } => self
                    .relay_gossip(
                        &Relay::ChannelAnnouncement(Box::new((msg, update_msg))),
                        None,
                    ),
                MessageSendEvent::BroadcastChannelUpdate { msg } => {
                    self.relay_gossip(&Relay::ChannelUpdate(msg), None)
                }
                MessageSendEvent::BroadcastNodeAnnouncement { msg } => {
                    self.relay_gossip(&Relay::NodeAnnouncement(msg), None)
                }
                MessageSendEvent::HandleError { node_id, action } => {
                    if let Some(h) = find(&node_id, &mut touched) {
                        let mut p = lock(&h);
                        let e = LightningError {
                            err: "handler requested".into(),
                            action,
                        };
                        if self.handle_lightning_error(&mut p, node_id, e).is_err() {
                            to_disconnect.push(p.descriptor.clone());
                        }
                    }
                }
                // Future variants: nothing to send.
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
        for (node_id, type_id, payload) in self
            .handlers
            .custom_message_handler
            .get_and_clear_pending_msg()
        {
            match find(&node_id, &mut touched) {
                Some(h) => {
                    let mut p = lock(&h);
                    if !p.is_ready() || !enqueue_raw(&mut p, type_id, &payload) {
                        log_debug!(
                            self.logger,
                            "dropping custom message {type_id} for {node_id}"
                        );
                    }
                }
                None => log_debug!(
                    self.logger,
                    "dropping custom message {type_id} for unconnected {node_id}"
                ),
            }
        }
        // Onion messages and initial gossip sync, for every ready peer with room.
        let all: Vec<PeerHolder<D>> = lock(&self.peers).values().cloned().collect();
        for h in &all {
            let mut guard = lock(h);
            let p = &mut *guard;
            let Some(id) = p.their_node_id else { continue };
            if !p.is_ready() {
                continue;
            }
            let before = p.pending_out();
            while p.pending_out() < self.config.drop_gossip_bytes {
                match self
                    .handlers
                    .onion_message_handler
                    .next_onion_message_for_peer(id)
                {
                    Some(m) => {
                        enqueue(p, &Message::OnionMessage(m));
                    }
                    None => break,
                }
            }
            // Answers to this peer's gossip queries, paced by its buffer.
            while p.pending_out() < self.config.drop_gossip_bytes {
                match self.handlers.route_handler.next_query_reply(id) {
                    Some(m) => {
                        enqueue(p, &m);
                    }
                    None => break,
                }
            }
            self.continue_initial_sync(p);
            if p.pending_out() != before && !touched.iter().any(|t| Arc::ptr_eq(t, h)) {
                touched.push(h.clone());
            }
        }
        for h in touched {
            let mut p = lock(&h);
            self.flush(&mut p);
            if p.pending_out() >= self.config.max_outbound_bytes {
                log_info!(
                    self.logger,
                    "peer-outbound-buffer-full: {:?} is not reading",
                    p.their_node_id
                );
                to_disconnect.push(p.descriptor.clone());
            }
        }
        for d in to_disconnect {
            self.disconnect_descriptor(&d);
        }
    }

    /// Pings every ready peer, disconnects those that did not answer the
    /// previous ping, and drops connections stuck before `init`. Call it
    /// about every 10 seconds.
    pub fn timer_tick_occurred(&self) {
        let all: Vec<(D, PeerHolder<D>)> = lock(&self.peers)
            .iter()
            .map(|(d, h)| (d.clone(), h.clone()))
            .collect();
        let mut to_disconnect = Vec::new();
        for (d, h) in all {
            let mut guard = lock(&h);
            let p = &mut *guard;
            if !p.is_ready() {
                // A connection that did not finish the handshake and init
                // within two ticks is dropped (it holds a handshake slot).
                p.ticks_before_init += 1;
                if p.ticks_before_init >= 2 {
                    log_debug!(
                        self.logger,
                        "peer-handshake-timeout on {:?}",
                        p.their_node_id
                    );
                    to_disconnect.push(d);
                }
                continue;
            }
            if p.awaiting_pong.is_some() {
                p.ticks_awaiting_pong += 1;
                // No pong since the last tick: drop the peer, unless it is busy
                // sending us other data (then allow a few ticks).
                if !p.received_since_tick || p.ticks_awaiting_pong > 3 {
                    log_info!(
                        self.logger,
                        "peer-ping-timeout: {:?} did not answer ping",
                        p.their_node_id
                    );
                    to_disconnect.push(d);
                    continue;
                }
            } else {
                let ping = Ping {
                    num_pong_bytes: 0,
                    ignored: WithU16Len(Vec::new()),
                    unknown_tlvs: Default::default(),
                };
                if enqueue(p, &Message::Ping(ping)) {
                    p.awaiting_pong = Some(0);
                    p.ticks_awaiting_pong = 0;
                }
            }
            p.received_since_tick = false;
            self.flush(p);
        }
        for d in to_disconnect {
            self.disconnect_descriptor(&d);
        }
        self.handlers.onion_message_handler.timer_tick_occurred();
    }
}

impl<D: SocketDescriptor> core::fmt::Debug for PeerManager<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "PeerManager({}, {} connections)",
            self.our_node_id,
            lock(&self.peers).len()
        )
    }
}
