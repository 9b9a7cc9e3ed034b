//! The `PeerManager`: owns every connection's state, runs the BOLT 8
//! handshake, the BOLT 1 `init` exchange and ping/pong, routes decrypted
//! messages to the handlers, relays gossip, and applies back-pressure.
//!
//! It never touches a socket: the driver (for example [`crate::net`]) feeds
//! received bytes to [`PeerManager::read_event`] and sends what the manager
//! hands to [`SocketDescriptor::send_data`].

use super::descriptor::{PeerHandleError, SocketDescriptor};
use super::keys::{PeerEntropy, PeerNodeKey};
use super::noise::{NoiseSession, SessionEvent, StaticKeyEcdh, LENGTH_HEADER_LEN};
use crate::codec::WithU16Len;
use crate::events::MessageSendEvent;
use crate::logger::Logger;
use crate::msgs::*;
use crate::types::Point;
use crate::{log_at, log_debug, log_info, log_trace, log_warn};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
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
enum InitialSync {
    NotRequested,
    Channels(u64),
    Nodes(Option<Point>),
    Done,
}

struct Peer<D> {
    descriptor: D,
    session: NoiseSession,
    inbound: bool,
    remote_addr: Option<SocketAddress>,
    their_node_id: Option<PublicKey>,
    /// Set once their `init` was accepted and the handlers told.
    their_features: Option<InitFeatures>,
    /// Whether we sent our `init` (right after the handshake).
    sent_init: bool,
    /// Encrypted bytes not yet accepted by the socket: `outbuf[out_pos..]`.
    outbuf: Vec<u8>,
    out_pos: usize,
    read_paused: bool,
    /// The pong length we wait for, if a ping is outstanding.
    awaiting_pong: Option<u16>,
    ticks_awaiting_pong: u8,
    received_since_tick: bool,
    ticks_before_init: u8,
    gossip_filter: Option<GossipTimestampFilter>,
    sync: InitialSync,
}

impl<D> Peer<D> {
    fn pending_out(&self) -> usize {
        self.outbuf.len() - self.out_pos
    }
    fn is_ready(&self) -> bool {
        self.their_features.is_some()
    }
}

type PeerHolder<D> = Arc<Mutex<Peer<D>>>;

/// A gossip message to relay, with the timestamp the peers' filters see.
enum Relay {
    ChannelAnnouncement(Box<(ChannelAnnouncement, Option<ChannelUpdate>)>),
    ChannelUpdate(ChannelUpdate),
    NodeAnnouncement(NodeAnnouncement),
}

/// What a finished `read_event` wants done outside the peer's lock.
#[derive(Default)]
struct ReadOutcome {
    relay: Vec<(Relay, PublicKey)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked while we held a lock must not take the node
    // down with it: the state itself stays consistent between calls.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes one plaintext message into the peer's outbound buffer and seals it
/// there (no intermediate allocation).
fn enqueue_with<D>(peer: &mut Peer<D>, write: impl FnOnce(&mut Vec<u8>)) -> bool {
    let start = peer.outbuf.len();
    peer.outbuf.extend_from_slice(&[0u8; LENGTH_HEADER_LEN]);
    write(&mut peer.outbuf);
    if peer.session.seal_in_place(&mut peer.outbuf, start).is_err() {
        peer.outbuf.truncate(start);
        return false;
    }
    true
}

fn enqueue<D>(peer: &mut Peer<D>, msg: &Message) -> bool {
    enqueue_with(peer, |buf| {
        msg.write(buf).expect("writing into a Vec<u8> never fails");
    })
}

fn enqueue_raw<D>(peer: &mut Peer<D>, type_id: u16, payload: &[u8]) -> bool {
    enqueue_with(peer, |buf| {
        buf.extend_from_slice(&type_id.to_be_bytes());
        buf.extend_from_slice(payload);
    })
}

/// Whether `peer` wants gossip with `timestamp` relayed.
fn wants_gossip<D>(peer: &Peer<D>, timestamp: Option<u32>, our_queries: bool) -> bool {
    match (&peer.gossip_filter, timestamp) {
        (Some(f), Some(ts)) => f.accepts(ts),
        (Some(_), None) => true,
        // BOLT 7: "if the `gossip_queries` feature is negotiated: MUST NOT
        // relay any gossip messages it did not generate itself, unless
        // explicitly requested."
        (None, _) => {
            let theirs = peer
                .their_features
                .as_ref()
                .is_some_and(|f| f.supports_gossip_queries());
            !(theirs && our_queries)
        }
    }
}

/// Drives every peer connection; see the module docs.
pub struct PeerManager<D: SocketDescriptor> {
    handlers: MessageHandler,
    node_key: Arc<dyn PeerNodeKey>,
    entropy: Arc<dyn PeerEntropy>,
    logger: Arc<dyn Logger>,
    config: PeerManagerConfig,
    secp: Secp256k1<All>,
    our_node_id: PublicKey,
    peers: Mutex<HashMap<D, PeerHolder<D>>>,
    node_ids: Mutex<HashMap<PublicKey, D>>,
    event_lock: Mutex<()>,
    last_node_announcement: AtomicU32,
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
        }
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

    fn get_peer(&self, descriptor: &D) -> Option<PeerHolder<D>> {
        lock(&self.peers).get(descriptor).cloned()
    }

    fn peer_by_node_id(&self, node_id: &PublicKey) -> Option<PeerHolder<D>> {
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

    fn handle_frame(
        &self,
        peer: &mut Peer<D>,
        range: core::ops::Range<usize>,
        outcome: &mut ReadOutcome,
    ) -> Result<(), PeerHandleError> {
        let their_node_id = peer
            .their_node_id
            .ok_or(PeerHandleError::Protocol("bolt8-no-node-id"))?;
        let frame = &peer.session.input()[range];
        if frame.len() < 2 {
            return Err(PeerHandleError::Decode(
                crate::codec::DecodeError::ShortRead,
            ));
        }
        let type_id = u16::from_be_bytes([frame[0], frame[1]]);
        // Custom messages go to their handler straight from the decrypted
        // buffer: no copy, no decode.
        if peer.is_ready() && self.handlers.custom_message_handler.is_custom_type(type_id) {
            log_trace!(
                self.logger,
                "received custom message {type_id} from {their_node_id}"
            );
            let r = self.handlers.custom_message_handler.handle_custom_message(
                their_node_id,
                type_id,
                &frame[2..],
            );
            if let Err(e) = r {
                self.handle_lightning_error(peer, their_node_id, e)?;
            }
            return Ok(());
        }
        let msg = match read_message(frame) {
            Ok(m) => m,
            // BOLT 1: "upon receiving a message of _even_, unknown type: MUST
            // close the connection".
            Err(crate::codec::DecodeError::UnknownRequiredMessage(t)) => {
                log_debug!(
                    self.logger,
                    "bolt1-unknown-even-type: {t} from {their_node_id}"
                );
                return Err(PeerHandleError::Protocol("bolt1-unknown-even-type"));
            }
            Err(e) => {
                log_debug!(
                    self.logger,
                    "undecodable message type {type_id} from {their_node_id}: {e}"
                );
                let warn = Warning::new(crate::types::ChannelId::ALL, "could not decode message");
                if peer.is_ready() {
                    enqueue(peer, &Message::Warning(warn));
                }
                return Err(PeerHandleError::Decode(e));
            }
        };
        if !peer.is_ready() {
            return self.handle_init(peer, their_node_id, msg);
        }
        self.handle_message(peer, their_node_id, msg, outcome)
    }

    fn handle_init(
        &self,
        peer: &mut Peer<D>,
        their_node_id: PublicKey,
        msg: Message,
    ) -> Result<(), PeerHandleError> {
        let init = match msg {
            Message::Init(i) => i,
            other => {
                // BOLT 1: the peer MUST send `init` first; we "MUST wait to
                // receive `init` before sending any other messages".
                log_debug!(
                    self.logger,
                    "bolt1-init-first: {} before init from {their_node_id}",
                    other.name()
                );
                return Err(PeerHandleError::Protocol("bolt1-init-first"));
            }
        };
        let features = init.combined_features();
        // BOLT 1: "upon receiving unknown _even_ feature bits that are
        // non-zero: MUST close the connection."
        if features.requires_unknown_bits() {
            log_info!(
                self.logger,
                "bolt1-init-unknown-even-feature: {their_node_id} requires {:?}",
                features.unknown_bits()
            );
            let err = ErrorMessage::new(
                crate::types::ChannelId::ALL,
                "unknown required feature bits",
            );
            enqueue(peer, &Message::Error(err));
            return Err(PeerHandleError::Protocol("bolt1-init-unknown-even-feature"));
        }
        // BOLT 1: "if the feature vector does not set all known, transitive
        // dependencies: MUST close the connection."
        if let Some((f, dep)) = features.missing_dependency() {
            log_info!(
                self.logger,
                "bolt1-init-feature-dependency: {their_node_id} sets {f} without {dep}"
            );
            let err = ErrorMessage::new(crate::types::ChannelId::ALL, "feature dependency missing");
            enqueue(peer, &Message::Error(err));
            return Err(PeerHandleError::Protocol("bolt1-init-feature-dependency"));
        }
        // BOLT 1: "upon receiving `networks` containing no common chains: MAY
        // close the connection." We do: we could do nothing together.
        if let (Some(ours), Some(theirs)) = (
            self.handlers.chan_handler.get_chain_hashes(),
            &init.networks,
        ) {
            if !ours.iter().any(|c| theirs.contains(c)) {
                log_info!(
                    self.logger,
                    "bolt1-init-no-common-chain with {their_node_id}"
                );
                let err = ErrorMessage::new(crate::types::ChannelId::ALL, "no common chain");
                enqueue(peer, &Message::Error(err));
                return Err(PeerHandleError::Protocol("bolt1-init-no-common-chain"));
            }
        }
        let inbound = peer.inbound;
        let h = &self.handlers;
        let refused = h
            .chan_handler
            .peer_connected(their_node_id, &init, inbound)
            .is_err()
            || h.route_handler
                .peer_connected(their_node_id, &init, inbound)
                .is_err()
            || h.onion_message_handler
                .peer_connected(their_node_id, &init, inbound)
                .is_err()
            || h.custom_message_handler
                .peer_connected(their_node_id, &init, inbound)
                .is_err();
        if refused {
            log_debug!(self.logger, "a handler refused {their_node_id}");
            self.tell_disconnected(their_node_id);
            return Err(PeerHandleError::HandlerRequested);
        }
        // BOLT 7: a peer that set `initial_routing_sync` without
        // negotiating gossip_queries wants our whole graph now.
        if features.supports_initial_routing_sync() && !features.supports_gossip_queries() {
            peer.sync = InitialSync::Channels(0);
        }
        peer.their_features = Some(features);
        log_info!(
            self.logger,
            "peer {their_node_id} connected ({})",
            if inbound { "inbound" } else { "outbound" }
        );
        Ok(())
    }

    fn tell_disconnected(&self, node_id: PublicKey) {
        let h = &self.handlers;
        h.chan_handler.peer_disconnected(node_id);
        h.route_handler.peer_disconnected(node_id);
        h.onion_message_handler.peer_disconnected(node_id);
        h.custom_message_handler.peer_disconnected(node_id);
    }

    fn handle_message(
        &self,
        peer: &mut Peer<D>,
        id: PublicKey,
        msg: Message,
        outcome: &mut ReadOutcome,
    ) -> Result<(), PeerHandleError> {
        log_trace!(self.logger, "received {} from {id}", msg.name());
        let ch = &*self.handlers.chan_handler;
        let rh = &*self.handlers.route_handler;
        match msg {
            Message::Init(_) => {
                // A second init is meaningless; ignore it as LDK and CLN do.
                log_debug!(self.logger, "duplicate init from {id} ignored");
            }
            Message::Error(e) => {
                log_info!(
                    self.logger,
                    "error from {id} for channel {}: {}",
                    e.channel_id,
                    e.text()
                );
                ch.handle_error(id, &e);
                // BOLT 1: an error for all channels (all-zero id) fails every
                // channel with the peer; nothing remains to talk about.
                if e.channel_id.is_all() {
                    return Err(PeerHandleError::Protocol("bolt1-error-all-channels"));
                }
            }
            Message::Warning(w) => {
                log_warn!(
                    self.logger,
                    "warning from {id} for channel {}: {}",
                    w.channel_id,
                    w.text()
                );
            }
            Message::Ping(p) => {
                // BOLT 1: "if `num_pong_bytes` is less than 65532: MUST respond
                // by sending a `pong` message, with `byteslen` equal to
                // `num_pong_bytes`. otherwise: MUST ignore the `ping`."
                if p.num_pong_bytes < 65532 {
                    let n = p.num_pong_bytes as usize;
                    enqueue_with(peer, |buf| {
                        buf.extend_from_slice(&19u16.to_be_bytes());
                        buf.extend_from_slice(&(n as u16).to_be_bytes());
                        buf.resize(buf.len() + n, 0);
                    });
                }
            }
            Message::Pong(p) => match peer.awaiting_pong {
                Some(n) if p.ignored.0.len() == n as usize => {
                    peer.awaiting_pong = None;
                    peer.ticks_awaiting_pong = 0;
                }
                // BOLT 1: "if `byteslen` does not correspond to any `ping`'s
                // `num_pong_bytes` value it has sent: MAY fail the channels."
                Some(_) => return Err(PeerHandleError::Protocol("bolt1-pong-length")),
                None => log_debug!(self.logger, "unsolicited pong from {id} ignored"),
            },
            Message::PeerStorage(m) => ch.handle_peer_storage(id, &m),
            Message::PeerStorageRetrieval(m) => ch.handle_peer_storage_retrieval(id, &m),
            Message::OpenChannel(m) => ch.handle_open_channel(id, &m),
            Message::AcceptChannel(m) => ch.handle_accept_channel(id, &m),
            Message::FundingCreated(m) => ch.handle_funding_created(id, &m),
            Message::FundingSigned(m) => ch.handle_funding_signed(id, &m),
            Message::ChannelReady(m) => ch.handle_channel_ready(id, &m),
            Message::Stfu(m) => ch.handle_stfu(id, &m),
            Message::Shutdown(m) => ch.handle_shutdown(id, &m),
            Message::ClosingSigned(m) => ch.handle_closing_signed(id, &m),
            Message::ClosingComplete(m) => ch.handle_closing_complete(id, &m),
            Message::ClosingSig(m) => ch.handle_closing_sig(id, &m),
            Message::UpdateAddHtlc(m) => ch.handle_update_add_htlc(id, &m),
            Message::UpdateFulfillHtlc(m) => ch.handle_update_fulfill_htlc(id, &m),
            Message::UpdateFailHtlc(m) => ch.handle_update_fail_htlc(id, &m),
            Message::UpdateFailMalformedHtlc(m) => ch.handle_update_fail_malformed_htlc(id, &m),
            Message::CommitmentSigned(m) => ch.handle_commitment_signed(id, &m),
            Message::RevokeAndAck(m) => ch.handle_revoke_and_ack(id, &m),
            Message::UpdateFee(m) => ch.handle_update_fee(id, &m),
            Message::ChannelReestablish(m) => ch.handle_channel_reestablish(id, &m),
            Message::TxAddInput(m) => ch.handle_tx_add_input(id, &m),
            Message::TxAddOutput(m) => ch.handle_tx_add_output(id, &m),
            Message::TxRemoveInput(m) => ch.handle_tx_remove_input(id, &m),
            Message::TxRemoveOutput(m) => ch.handle_tx_remove_output(id, &m),
            Message::TxComplete(m) => ch.handle_tx_complete(id, &m),
            Message::TxSignatures(m) => ch.handle_tx_signatures(id, &m),
            Message::TxInitRbf(m) => ch.handle_tx_init_rbf(id, &m),
            Message::TxAckRbf(m) => ch.handle_tx_ack_rbf(id, &m),
            Message::TxAbort(m) => ch.handle_tx_abort(id, &m),
            Message::OpenChannel2(m) => ch.handle_open_channel_v2(id, &m),
            Message::AcceptChannel2(m) => ch.handle_accept_channel_v2(id, &m),
            Message::SpliceInit(m) => ch.handle_splice_init(id, &m),
            Message::SpliceAck(m) => ch.handle_splice_ack(id, &m),
            Message::SpliceLocked(m) => ch.handle_splice_locked(id, &m),
            Message::StartBatch(m) => ch.handle_start_batch(id, &m),
            Message::AnnouncementSignatures(m) => ch.handle_announcement_signatures(id, &m),
            Message::ChannelAnnouncement(m) => match rh.handle_channel_announcement(Some(id), &m) {
                Ok(true) => outcome
                    .relay
                    .push((Relay::ChannelAnnouncement(Box::new((m, None))), id)),
                Ok(false) => {}
                Err(e) => self.handle_lightning_error(peer, id, e)?,
            },
            Message::NodeAnnouncement(m) => match rh.handle_node_announcement(Some(id), &m) {
                Ok(true) => outcome.relay.push((Relay::NodeAnnouncement(m), id)),
                Ok(false) => {}
                Err(e) => self.handle_lightning_error(peer, id, e)?,
            },
            Message::ChannelUpdate(m) => match rh.handle_channel_update(Some(id), &m) {
                Ok(true) => outcome.relay.push((Relay::ChannelUpdate(m), id)),
                Ok(false) => {}
                Err(e) => self.handle_lightning_error(peer, id, e)?,
            },
            Message::QueryShortChannelIds(m) => {
                if let Err(e) = rh.handle_query_short_channel_ids(id, m) {
                    self.handle_lightning_error(peer, id, e)?;
                }
            }
            Message::ReplyShortChannelIdsEnd(m) => {
                if let Err(e) = rh.handle_reply_short_channel_ids_end(id, m) {
                    self.handle_lightning_error(peer, id, e)?;
                }
            }
            Message::QueryChannelRange(m) => {
                if let Err(e) = rh.handle_query_channel_range(id, m) {
                    self.handle_lightning_error(peer, id, e)?;
                }
            }
            Message::ReplyChannelRange(m) => {
                if let Err(e) = rh.handle_reply_channel_range(id, m) {
                    self.handle_lightning_error(peer, id, e)?;
                }
            }
            Message::GossipTimestampFilter(f) => {
                // BOLT 7: on `gossip_timestamp_filter` a node "SHOULD send all
                // gossip messages whose timestamp is greater or equal to
                // `first_timestamp`, and less than `first_timestamp` plus
                // `timestamp_range`", and relay future gossip through it.
                if peer.sync == InitialSync::NotRequested && f.timestamp_range > 0 {
                    peer.sync = InitialSync::Channels(0);
                }
                peer.gossip_filter = Some(f);
            }
            Message::OnionMessage(m) => self
                .handlers
                .onion_message_handler
                .handle_onion_message(id, &m),
            // BOLT 1: "upon receiving a message of _odd_, unknown type: MUST
            // ignore the received message."
            Message::Unknown { type_id, .. } => {
                log_trace!(
                    self.logger,
                    "ignoring unknown odd message {type_id} from {id}"
                );
            }
        }
        Ok(())
    }

    /// Applies a handler's [`LightningError`] to the peer it came from.
    fn handle_lightning_error(
        &self,
        peer: &mut Peer<D>,
        id: PublicKey,
        e: LightningError,
    ) -> Result<(), PeerHandleError> {
        match e.action {
            ErrorAction::DisconnectPeer { msg } => {
                log_debug!(self.logger, "disconnecting {id}: {}", e.err);
                if let Some(m) = msg {
                    enqueue(peer, &Message::Error(m));
                }
                Err(PeerHandleError::HandlerRequested)
            }
            ErrorAction::DisconnectPeerWithWarning { msg } => {
                log_debug!(self.logger, "disconnecting {id} with a warning: {}", e.err);
                enqueue(peer, &Message::Warning(msg));
                Err(PeerHandleError::HandlerRequested)
            }
            ErrorAction::SendErrorMessage { msg } => {
                enqueue(peer, &Message::Error(msg));
                Ok(())
            }
            ErrorAction::SendWarningMessage { msg, log_level } => {
                log_at!(self.logger, log_level, "sending warning to {id}: {}", e.err);
                enqueue(peer, &Message::Warning(msg));
                Ok(())
            }
            ErrorAction::IgnoreAndLog(level) => {
                log_at!(self.logger, level, "{} (from {id})", e.err);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Hands queued bytes to the socket; asks it to resume reading once
    /// the backlog is small again.
    fn flush(&self, peer: &mut Peer<D>) {
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
    fn forget_peer(&self, descriptor: &D) -> Option<PeerHolder<D>> {
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
    fn disconnect_descriptor(&self, descriptor: &D) {
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
                    if cid == id {
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

    /// Queues the next part of the initial gossip sync while the peer has room.
    fn continue_initial_sync(&self, p: &mut Peer<D>) {
        let rh = &*self.handlers.route_handler;
        while p.pending_out() < self.config.drop_gossip_bytes {
            match p.sync {
                InitialSync::Channels(start) => match rh.get_next_channel_announcement(start) {
                    Some((ann, u1, u2)) => {
                        let stamps = [
                            u1.as_ref().map(|u| u.timestamp),
                            u2.as_ref().map(|u| u.timestamp),
                        ];
                        let any = stamps
                            .iter()
                            .flatten()
                            .any(|&t| wants_gossip(p, Some(t), false));
                        if any || p.gossip_filter.is_none() {
                            enqueue(p, &Message::ChannelAnnouncement(ann.clone()));
                            for u in [u1, u2].into_iter().flatten() {
                                if wants_gossip(p, Some(u.timestamp), false)
                                    || p.gossip_filter.is_none()
                                {
                                    enqueue(p, &Message::ChannelUpdate(u));
                                }
                            }
                        }
                        p.sync = InitialSync::Channels(ann.short_channel_id.0.saturating_add(1));
                    }
                    None => p.sync = InitialSync::Nodes(None),
                },
                InitialSync::Nodes(start) => match rh.get_next_node_announcement(start.as_ref()) {
                    Some(n) => {
                        if wants_gossip(p, Some(n.timestamp), false) || p.gossip_filter.is_none() {
                            enqueue(p, &Message::NodeAnnouncement(n.clone()));
                        }
                        p.sync = InitialSync::Nodes(Some(n.node_id));
                    }
                    None => p.sync = InitialSync::Done,
                },
                InitialSync::NotRequested | InitialSync::Done => break,
            }
        }
    }

    fn our_gossip_queries(&self) -> bool {
        self.handlers
            .route_handler
            .provided_init_features(self.our_node_id)
            .supports_gossip_queries()
    }

    /// Sends gossip to every ready peer except `from`, honouring their
    /// `gossip_timestamp_filter` and skipping peers with a backlog.
    fn relay_gossip(&self, relay: &Relay, from: Option<&PublicKey>) {
        let ours = self.our_gossip_queries();
        let own = from.is_none();
        let all: Vec<PeerHolder<D>> = lock(&self.peers).values().cloned().collect();
        for h in all {
            let mut guard = lock(&h);
            let p = &mut *guard;
            if !p.is_ready() || p.their_node_id.as_ref() == from {
                continue;
            }
            // A slow peer loses gossip first (its channel messages never).
            if p.pending_out() >= self.config.drop_gossip_bytes {
                continue;
            }
            let sent = match relay {
                Relay::ChannelAnnouncement(b) => {
                    let (a, u) = &**b;
                    let ts = u.as_ref().map(|u| u.timestamp);
                    if own || wants_gossip(p, ts, ours) {
                        enqueue(p, &Message::ChannelAnnouncement(a.clone()));
                        if let Some(u) = u {
                            enqueue(p, &Message::ChannelUpdate(u.clone()));
                        }
                        true
                    } else {
                        false
                    }
                }
                Relay::ChannelUpdate(u) => {
                    (own || wants_gossip(p, Some(u.timestamp), ours))
                        && enqueue(p, &Message::ChannelUpdate(u.clone()))
                }
                Relay::NodeAnnouncement(n) => {
                    (own || wants_gossip(p, Some(n.timestamp), ours))
                        && enqueue(p, &Message::NodeAnnouncement(n.clone()))
                }
            };
            if sent {
                self.flush(p);
            }
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

    /// Signs and broadcasts our `node_announcement` with the given colour,
    /// alias and addresses, and the union of the handlers' node features.
    /// BOLT 7 wants it sent only once we have a public channel: the routing
    /// handler decides whether to keep it; peers receive it regardless.
    pub fn broadcast_node_announcement(
        &self,
        rgb: [u8; 3],
        alias: [u8; 32],
        mut addresses: Vec<SocketAddress>,
    ) {
        // BOLT 7: "MUST NOT include more than one `address descriptor` of the same type"
        // is for DNS only; we keep the order but cap the count to fit.
        addresses.truncate(100);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        // BOLT 7: a newer announcement needs a greater timestamp.
        let mut prev = self.last_node_announcement.load(Ordering::Acquire);
        let timestamp = loop {
            let ts = now.max(prev.saturating_add(1));
            match self.last_node_announcement.compare_exchange(
                prev,
                ts,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break ts,
                Err(p) => prev = p,
            }
        };
        let h = &self.handlers;
        let features = h
            .chan_handler
            .provided_node_features()
            .or(&h.route_handler.provided_node_features())
            .or(&h.onion_message_handler.provided_node_features())
            .or(&h.custom_message_handler.provided_node_features());
        let placeholder = match self.node_key.sign_gossip_hash(&[1u8; 32]) {
            Ok(s) => s,
            Err(()) => {
                log_warn!(self.logger, "node key refused to sign; not announcing");
                return;
            }
        };
        let mut msg = NodeAnnouncement {
            signature: placeholder,
            features,
            timestamp,
            node_id: Point::from(self.our_node_id),
            rgb_color: rgb,
            alias,
            addresses: NodeAddresses(addresses),
            excess_data: Vec::new(),
        };
        match self.node_key.sign_gossip_hash(&msg.signed_hash()) {
            Ok(sig) => msg.signature = sig,
            Err(()) => {
                log_warn!(self.logger, "node key refused to sign; not announcing");
                return;
            }
        }
        let _ = h.route_handler.handle_node_announcement(None, &msg);
        self.relay_gossip(&Relay::NodeAnnouncement(msg), None);
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
