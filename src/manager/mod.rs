//! The `ChannelManager`: every channel of a node, from `open_channel` to
//! the closing transaction, and the payments that run over them.
//!
//! It owns the per-peer channel maps and drives each channel's phase —
//! establishment ([`channel::establish`](crate::channel::establish)),
//! normal operation ([`channel::funded`](crate::channel::funded)),
//! cooperative close — while the wallet drives it: messages come in
//! through [`ChannelMessageHandler`](crate::msgs::ChannelMessageHandler)
//! (the `PeerManager` calls it), messages leave through
//! [`MessageSendEventsProvider`](crate::events::MessageSendEventsProvider), the wallet takes [`Event`]s with
//! [`EventsProvider::process_pending_events`], feeds blocks through
//! [`chain::Listen`](crate::chain::Listen) or
//! [`chain::Confirm`](crate::chain::Confirm), and calls
//! [`timer_tick_occurred`](ChannelManager::timer_tick_occurred) about once a
//! minute.
//!
//! # Persist before you speak
//! Every state change that a message to the peer depends on is a
//! [`ChannelMonitorUpdate`]
//! handed to [`chain::Watch`](crate::chain::monitor::Watch) first. With
//! `Completed` the messages leave at once; with `InProgress` they wait in
//! the channel's queue, in order, until the monitor reports the update
//! persisted (`ChainMonitor::channel_monitor_updated`).
//!
//! # Locking
//! `peers` (read, or write to add a peer) → one peer's `Mutex` → the global
//! maps (payments, claimable, events). A peer lock is never taken while a
//! global map is held, and never two peer locks at once.

mod chain;
mod closed_htlcs;
pub mod events;
pub mod fuzz;
mod handler;
mod payments;
mod ser;

pub use events::{
    ClosureReason, Event, EventHandler, EventsProvider, PaymentFailureReason, PaymentId,
    PaymentPurpose, Retry,
};
pub use payments::{RecipientOnionFields, RetryableSendFailure};

use crate::chain::monitor::{ChannelMonitorUpdate, ChannelMonitorUpdateStep, MonitorEvent, Watch};
use crate::chain::{BestBlock, BroadcasterInterface, ChannelMonitorUpdateStatus, FeeEstimator};
use crate::channel::establish::{
    ChannelError, InboundV1Channel, OutboundV1Channel, PendingV1Channel,
};
use crate::channel::funded::{Channel, Outcome};
use crate::config::UserConfig;
use crate::events::MessageSendEvent;
use crate::logger::Logger;
use crate::msgs::features::{ChannelTypeFeatures, InitFeatures};
use crate::msgs::{ErrorMessage, Message, OpenChannel};
use crate::routing::Router;
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::types::{ChannelId, ShortChannelId};
use crate::{log_debug, log_error, log_info, log_warn};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::{Network, OutPoint, Transaction};
use core::fmt;
use payments::{ClaimablePayment, HtlcSource, PendingPayment};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Where the node's chain starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainParameters {
    /// The network.
    pub network: Network,
    /// The best block the wallet has seen.
    pub best_block: BestBlock,
}

/// Why an API call was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum APIError {
    /// A bad argument.
    APIMisuseError {
        /// What was wrong.
        err: String,
    },
    /// No such channel (with that peer).
    ChannelUnavailable {
        /// What was wrong.
        err: String,
    },
    /// The channel refused the action (with the rule's tag).
    ChannelRefused {
        /// The rule's tag and what was wrong.
        err: String,
    },
    /// The monitor update could not be persisted.
    MonitorUpdateFailed,
}

impl fmt::Display for APIError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            APIError::APIMisuseError { err } => write!(f, "misuse: {err}"),
            APIError::ChannelUnavailable { err } => write!(f, "channel unavailable: {err}"),
            APIError::ChannelRefused { err } => write!(f, "refused: {err}"),
            APIError::MonitorUpdateFailed => f.write_str("monitor update failed"),
        }
    }
}
impl std::error::Error for APIError {}

impl From<ChannelError> for APIError {
    fn from(e: ChannelError) -> Self {
        APIError::ChannelRefused { err: e.to_string() }
    }
}

/// The wallet-supplied parts a [`ChannelManager`] runs on.
#[derive(Clone)]
pub struct ChannelManagerDeps {
    /// Fee rates.
    pub fee_estimator: Arc<dyn FeeEstimator>,
    /// Where monitors live and are persisted (usually a `ChainMonitor`).
    pub chain_monitor: Arc<dyn Watch>,
    /// Broadcasts transactions.
    pub broadcaster: Arc<dyn BroadcasterInterface>,
    /// Finds routes for payments.
    pub router: Arc<dyn Router>,
    /// Logs.
    pub logger: Arc<dyn Logger>,
    /// Randomness.
    pub entropy_source: Arc<dyn EntropySource>,
    /// The node key.
    pub node_signer: Arc<dyn NodeSigner>,
    /// Channel keys.
    pub signer_provider: Arc<dyn SignerProvider>,
}

/// A channel in one of its phases.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ChannelEntry {
    /// We opened it; waiting for `accept_channel`, then for the wallet's
    /// funding transaction, then for `funding_signed`.
    Outbound {
        chan: OutboundV1Channel,
        funding_tx: Option<Transaction>,
    },
    /// The peer's `open_channel`, waiting for the user to accept it.
    Unaccepted { open: OpenChannel, ticks: u8 },
    /// We accepted; waiting for `funding_created`.
    Inbound(InboundV1Channel),
    /// Funded; waiting for confirmations and both `channel_ready`.
    Pending(Box<PendingEntry>),
    /// In normal operation (or closing).
    Funded(Box<FundedEntry>),
}

pub(crate) struct PendingEntry {
    pub chan: PendingV1Channel,
    pub user_channel_id: u128,
    pub is_outbound: bool,
    pub channel_type: ChannelTypeFeatures,
    /// The funding transaction, when we built it (broadcast once the
    /// monitor is persisted).
    pub funding_tx: Option<Transaction>,
    pub funding_broadcast: bool,
    pub conf_height: Option<u32>,
    pub scid: Option<ShortChannelId>,
    /// Whether `watch_channel` completed.
    pub monitor_persisted: bool,
    /// Messages waiting for the monitor.
    pub held: Vec<Message>,
    pub our_ready: Option<crate::msgs::ChannelReady>,
    pub awaiting_reestablish: bool,
    /// The height when the channel was funded (or reloaded), for the
    /// fundee's funding timeout.
    pub created_height: u32,
}

pub(crate) struct FundedEntry {
    pub chan: Channel,
    /// Messages waiting for monitor updates, with the update each needs.
    pub held: VecDeque<(u64, Message)>,
    /// The highest monitor update id known persisted.
    pub persisted_update_id: u64,
    /// Sources of our offered HTLCs, by HTLC id.
    pub sources: HashMap<u64, HtlcSource>,
    /// Cooperative close in progress.
    pub closing: Option<close::ClosingState>,
    /// Quiescence.
    pub quiescence: crate::channel::quiescence::Quiescence,
}

mod close;
mod details;
pub use details::{provided_init_features, provided_node_features, ChannelDetails};

/// One peer's state.
#[derive(Default)]
pub(crate) struct PeerState {
    pub connected: bool,
    pub features: Option<InitFeatures>,
    pub channels: HashMap<ChannelId, ChannelEntry>,
    pub outbox: Vec<MessageSendEvent>,
}

/// The node's channels and payments. See the [module docs](self).
pub struct ChannelManager {
    pub(crate) deps: ChannelManagerDeps,
    pub(crate) config: RwLock<UserConfig>,
    pub(crate) network: Network,
    pub(crate) chain_hash: ChainHash,
    pub(crate) best_block: RwLock<BestBlock>,
    pub(crate) our_node_id: PublicKey,
    pub(crate) secp: Secp256k1<All>,
    pub(crate) inbound_key: crate::payment::inbound::ExpandedKey,
    pub(crate) peers: RwLock<HashMap<PublicKey, Mutex<PeerState>>>,
    /// Funding outpoint → (peer, channel id), for monitor events.
    pub(crate) by_outpoint: Mutex<HashMap<OutPoint, (PublicKey, ChannelId)>>,
    /// Short channel id (or alias) → (peer, channel id), for first hops.
    pub(crate) by_scid: Mutex<HashMap<ShortChannelId, (PublicKey, ChannelId)>>,
    pub(crate) pending_events: Mutex<VecDeque<Event>>,
    pub(crate) payments: Mutex<HashMap<PaymentId, PendingPayment>>,
    pub(crate) claimable: Mutex<HashMap<crate::types::PaymentHash, ClaimablePayment>>,
    /// Our HTLCs on force-closed channels, waiting for the chain.
    pub(crate) closed_htlcs: Mutex<Vec<closed_htlcs::ParkedHtlc>>,
    pub(crate) needs_persist: AtomicBool,
    pub(crate) highest_seen_timestamp: AtomicU64,
    pub(crate) last_scid_alias: AtomicU64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Unknown-peer error.
fn no_peer(node: &PublicKey) -> APIError {
    APIError::ChannelUnavailable {
        err: format!("no connected peer {node}"),
    }
}

impl ChannelManager {
    /// A node with no channels.
    pub fn new(
        deps: ChannelManagerDeps,
        config: UserConfig,
        params: ChainParameters,
    ) -> Result<Self, crate::sign::SignError> {
        let secp = Secp256k1::new();
        let our_node_id = deps.node_signer.node_id(crate::sign::Recipient::Node)?;
        let inbound_key =
            crate::payment::inbound::ExpandedKey::new(&deps.node_signer.get_inbound_payment_key());
        let alias_seed = u64::from_be_bytes(
            deps.entropy_source.get_secure_random_bytes()[..8]
                .try_into()
                .unwrap_or([0; 8]),
        );
        Ok(ChannelManager {
            chain_hash: ChainHash::using_genesis_block(params.network),
            network: params.network,
            best_block: RwLock::new(params.best_block),
            our_node_id,
            secp,
            inbound_key,
            config: RwLock::new(config),
            deps,
            peers: RwLock::new(HashMap::new()),
            by_outpoint: Mutex::new(HashMap::new()),
            by_scid: Mutex::new(HashMap::new()),
            pending_events: Mutex::new(VecDeque::new()),
            payments: Mutex::new(HashMap::new()),
            claimable: Mutex::new(HashMap::new()),
            closed_htlcs: Mutex::new(Vec::new()),
            needs_persist: AtomicBool::new(true),
            highest_seen_timestamp: AtomicU64::new(params.best_block.height as u64),
            last_scid_alias: AtomicU64::new(alias_seed >> 16),
        })
    }

    /// Our node id.
    pub fn get_our_node_id(&self) -> PublicKey {
        self.our_node_id
    }

    /// The node's configuration.
    pub fn get_current_config(&self) -> UserConfig {
        *self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The best block we know.
    pub fn current_best_block(&self) -> BestBlock {
        *self.best_block.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the manager changed since the last call: persist it
    /// ([`encode`](Self::encode)) when this says so.
    pub fn get_and_clear_needs_persistence(&self) -> bool {
        self.needs_persist.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn changed(&self) {
        self.needs_persist.store(true, Ordering::Release);
    }

    pub(crate) fn push_event(&self, e: Event) {
        lock(&self.pending_events).push_back(e);
    }

    pub(crate) fn logger(&self) -> &dyn Logger {
        &*self.deps.logger
    }

    /// Runs `f` on a peer's state (which must exist).
    pub(crate) fn with_peer<R>(
        &self,
        node: &PublicKey,
        f: impl FnOnce(&mut PeerState) -> R,
    ) -> Option<R> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        let peer = peers.get(node)?;
        let mut p = lock(peer);
        Some(f(&mut p))
    }

    /// Queues `msg` for the peer.
    pub(crate) fn send(peer: &mut PeerState, node: PublicKey, msg: Message) {
        peer.outbox
            .push(MessageSendEvent::SendMessage { node_id: node, msg });
    }

    /// Hands a channel's outcome to the monitor and queues its messages
    /// (now, or once the update is persisted); acts on its events.
    pub(crate) fn apply_outcome(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        out: Outcome,
    ) {
        let Outcome {
            msgs,
            monitor_update,
            events,
        } = out;
        let Some(ChannelEntry::Funded(entry)) = peer.channels.get_mut(&channel_id) else {
            return;
        };
        if let Some(update) = monitor_update {
            self.changed();
            let status = self
                .deps
                .chain_monitor
                .update_channel(entry.chan.funding_outpoint(), &update);
            match status {
                ChannelMonitorUpdateStatus::Completed => {
                    if entry.held.is_empty() {
                        entry.persisted_update_id = update.update_id;
                    }
                }
                ChannelMonitorUpdateStatus::InProgress => {
                    log_debug!(
                        self.logger(),
                        "monitor update {} of {} in progress: holding messages",
                        update.update_id,
                        channel_id
                    );
                }
                ChannelMonitorUpdateStatus::UnrecoverableError => {
                    log_error!(
                        self.logger(),
                        "monitor update {} of {} failed for good: the channel is frozen",
                        update.update_id,
                        channel_id
                    );
                }
            }
        }
        let need = entry.chan.latest_monitor_update_id();
        for m in msgs {
            if entry.held.is_empty() && entry.persisted_update_id >= need {
                peer.outbox.push(MessageSendEvent::SendMessage {
                    node_id: node,
                    msg: m,
                });
            } else {
                entry.held.push_back((need, m));
            }
        }
        // Re-borrow: the events may touch this channel again.
        for e in events {
            self.handle_htlc_event(peer, node, channel_id, e);
        }
    }

    /// Releases held messages once `update_id` is persisted.
    pub(crate) fn monitor_updated(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        update_id: u64,
    ) {
        match peer.channels.get_mut(&channel_id) {
            Some(ChannelEntry::Funded(entry)) => {
                entry.persisted_update_id = entry.persisted_update_id.max(update_id);
                while let Some((need, _)) = entry.held.front() {
                    if *need > entry.persisted_update_id {
                        break;
                    }
                    let Some((_, m)) = entry.held.pop_front() else {
                        break;
                    };
                    peer.outbox.push(MessageSendEvent::SendMessage {
                        node_id: node,
                        msg: m,
                    });
                }
            }
            Some(ChannelEntry::Pending(p)) if !p.monitor_persisted => {
                p.monitor_persisted = true;
                for m in p.held.drain(..) {
                    peer.outbox.push(MessageSendEvent::SendMessage {
                        node_id: node,
                        msg: m,
                    });
                }
                if let Some(tx) = p.funding_tx.as_ref().filter(|_| !p.funding_broadcast) {
                    self.deps.broadcaster.broadcast_transactions(&[tx]);
                    p.funding_broadcast = true;
                }
                // A 0-conf channel (`minimum_depth = 0`) is ready now that
                // its monitor is persisted; deeper ones wait for blocks.
                let confs = p.conf_height.map_or(0, |h| {
                    self.current_best_block().height.saturating_sub(h) + 1
                });
                self.check_pending_depth(peer, node, channel_id, confs);
            }
            _ => {}
        }
    }

    /// Fails a channel: tells the monitor (broadcasting our latest
    /// commitment unless `broadcast` is false), sends the peer an `error`,
    /// forgets the channel and reports it.
    pub(crate) fn fail_channel(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        reason: ClosureReason,
        broadcast: bool,
        tell_peer: bool,
    ) {
        let Some(entry) = peer.channels.remove(&channel_id) else {
            return;
        };
        self.changed();
        log_warn!(self.logger(), "closing channel {}: {}", channel_id, reason);
        let (user_channel_id, value, outpoint, update_id) = match &entry {
            ChannelEntry::Outbound { chan, .. } => (0, chan.channel_value_satoshis(), None, 0),
            ChannelEntry::Unaccepted { open, .. } => (0, open.funding_satoshis, None, 0),
            ChannelEntry::Inbound(c) => (0, c.channel_value_satoshis(), None, 0),
            ChannelEntry::Pending(p) => (
                p.user_channel_id,
                p.chan.channel_parameters().channel_value.to_sat(),
                Some(p.chan.funding_outpoint()),
                1,
            ),
            ChannelEntry::Funded(f) => (
                f.chan.user_channel_id(),
                f.chan.channel_value_satoshis(),
                Some(f.chan.funding_outpoint()),
                f.chan.latest_monitor_update_id() + 1,
            ),
        };
        if let Some(op) = outpoint {
            let update = ChannelMonitorUpdate {
                update_id,
                updates: vec![ChannelMonitorUpdateStep::ChannelForceClosed {
                    should_broadcast: broadcast,
                }],
            };
            let _ = self.deps.chain_monitor.update_channel(op, &update);
            lock(&self.by_outpoint).remove(&op);
        }
        if let ChannelEntry::Funded(f) = &entry {
            forget_scids(&self.by_scid, node, channel_id);
            self.channel_closed_with_htlcs(f);
            self.park_outbound_htlcs(f);
        }
        if tell_peer {
            Self::send(
                peer,
                node,
                ErrorMessage {
                    channel_id,
                    data: crate::codec::WithU16Len(reason.to_string().into_bytes()),
                    unknown_tlvs: Default::default(),
                }
                .into(),
            );
        }
        self.push_event(Event::ChannelClosed {
            channel_id,
            user_channel_id,
            reason,
            counterparty_node_id: node,
            channel_capacity_sats: value,
        });
    }

    /// Fails the channel for a protocol error from the peer.
    pub(crate) fn channel_error(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        err: ChannelError,
    ) {
        match err {
            ChannelError::Close { .. } => {
                log_error!(self.logger(), "channel {}: {}", channel_id, err);
                self.fail_channel(
                    peer,
                    node,
                    channel_id,
                    ClosureReason::ProcessingError {
                        err: err.to_string(),
                    },
                    true,
                    true,
                );
            }
            ChannelError::Warn { ref message, .. } => {
                log_warn!(self.logger(), "channel {}: {}", channel_id, err);
                Self::send(
                    peer,
                    node,
                    crate::msgs::Warning {
                        channel_id,
                        data: crate::codec::WithU16Len(message.clone().into_bytes()),
                        unknown_tlvs: Default::default(),
                    }
                    .into(),
                );
            }
            _ => log_info!(self.logger(), "channel {}: {}", channel_id, err),
        }
    }

    /// Handles a `Watch` answer for a new monitor.
    pub(crate) fn watch_status<E>(
        &self,
        status: Result<ChannelMonitorUpdateStatus, E>,
    ) -> Option<bool> {
        match status {
            Ok(ChannelMonitorUpdateStatus::Completed) => Some(true),
            Ok(ChannelMonitorUpdateStatus::InProgress) => Some(false),
            _ => None,
        }
    }

    /// Acts on what the monitors reported.
    pub(crate) fn process_monitor_events(&self) {
        let events = self.deps.chain_monitor.release_pending_monitor_events();
        for e in events {
            match e {
                MonitorEvent::Completed {
                    funding_outpoint,
                    monitor_update_id,
                } => {
                    let Some((node, cid)) = lock(&self.by_outpoint).get(&funding_outpoint).copied()
                    else {
                        continue;
                    };
                    self.with_peer(&node, |p| {
                        self.monitor_updated(p, node, cid, monitor_update_id);
                        self.after_channel_change(p, node);
                    });
                }
                MonitorEvent::HtlcEvent {
                    funding_outpoint,
                    payment_hash,
                    payment_preimage,
                    ..
                } => self.closed_htlc_claimed(funding_outpoint, payment_hash, payment_preimage),
                MonitorEvent::CommitmentTxConfirmed {
                    funding_outpoint,
                    txid,
                    kind,
                    height,
                } => {
                    let found = lock(&self.by_outpoint).get(&funding_outpoint).copied();
                    if let Some((node, cid)) = found {
                        let reason =
                            if matches!(kind, crate::chain::monitor::FundingSpendKind::Cooperative)
                            {
                                ClosureReason::CooperativeClosure
                            } else {
                                ClosureReason::CommitmentTxConfirmed
                            };
                        self.with_peer(&node, |p| {
                            self.fail_channel(p, node, cid, reason, false, false)
                        });
                    }
                    self.commitment_confirmed(funding_outpoint, txid, &kind, height);
                }
            }
        }
        // Blocks may have passed before the events were read.
        self.fail_parked_htlcs(self.current_best_block().height);
    }

    /// Opens a channel of `channel_value_satoshis` to a connected peer,
    /// pushing `push_msat` to it. Returns the temporary channel id; an
    /// [`Event::FundingGenerationReady`] follows the peer's acceptance.
    pub fn create_channel(
        &self,
        their_node_id: PublicKey,
        channel_value_satoshis: u64,
        push_msat: u64,
        user_channel_id: u128,
        override_config: Option<UserConfig>,
    ) -> Result<ChannelId, APIError> {
        let config = override_config.unwrap_or_else(|| self.get_current_config());
        self.with_peer(&their_node_id, |peer| {
            let Some(features) = peer.features.clone().filter(|_| peer.connected) else {
                return Err(no_peer(&their_node_id));
            };
            let chan = OutboundV1Channel::new(
                &*self.deps.fee_estimator,
                &*self.deps.entropy_source,
                &*self.deps.signer_provider,
                &features,
                channel_value_satoshis,
                push_msat,
                user_channel_id,
                &config,
                self.chain_hash,
            )?;
            let open = chan.open_channel()?;
            let id = chan.temporary_channel_id();
            Self::send(peer, their_node_id, open.into());
            peer.channels.insert(
                id,
                ChannelEntry::Outbound {
                    chan,
                    funding_tx: None,
                },
            );
            Ok(id)
        })
        .unwrap_or_else(|| Err(no_peer(&their_node_id)))
    }

    /// Accepts a channel the peer proposed ([`Event::OpenChannelRequest`]).
    /// A proposal of an `option_zeroconf` channel type is refused here (BOLT
    /// 2: a node that does not trust the funder with an unconfirmed channel
    /// MUST fail it): see
    /// [`accept_inbound_channel_from_trusted_peer_0conf`](Self::accept_inbound_channel_from_trusted_peer_0conf).
    pub fn accept_inbound_channel(
        &self,
        temporary_channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
        user_channel_id: u128,
    ) -> Result<(), APIError> {
        self.accept_inbound(
            temporary_channel_id,
            counterparty_node_id,
            user_channel_id,
            false,
        )
    }

    /// Accepts a channel the peer proposed ([`Event::OpenChannelRequest`])
    /// trusting the peer not to double-spend the funding transaction: we
    /// ask for `minimum_depth = 0` and send `channel_ready` as soon as the
    /// channel's monitor is persisted, so the channel carries payments
    /// before the funding confirms. Accepts `option_zeroconf` channel
    /// types. Only for peers you trust (an LSP you pay, your own node).
    pub fn accept_inbound_channel_from_trusted_peer_0conf(
        &self,
        temporary_channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
        user_channel_id: u128,
    ) -> Result<(), APIError> {
        self.accept_inbound(
            temporary_channel_id,
            counterparty_node_id,
            user_channel_id,
            true,
        )
    }

    fn accept_inbound(
        &self,
        temporary_channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
        user_channel_id: u128,
        trusted_zero_conf: bool,
    ) -> Result<(), APIError> {
        let config = self.get_current_config();
        self.with_peer(counterparty_node_id, |peer| {
            let features = peer.features.clone().unwrap_or_else(InitFeatures::empty);
            let Some(ChannelEntry::Unaccepted { open, .. }) =
                peer.channels.remove(temporary_channel_id)
            else {
                return Err(APIError::ChannelUnavailable {
                    err: "no such channel request".into(),
                });
            };
            self.accept_open(
                peer,
                *counterparty_node_id,
                &features,
                &open,
                user_channel_id,
                &config,
                trusted_zero_conf,
            )
        })
        .unwrap_or_else(|| Err(no_peer(counterparty_node_id)))
    }

    /// Refuses a channel the peer proposed: the peer is sent an `error`.
    pub fn reject_inbound_channel(
        &self,
        temporary_channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        self.with_peer(counterparty_node_id, |peer| {
            match peer.channels.remove(temporary_channel_id) {
                Some(ChannelEntry::Unaccepted { .. }) => {
                    Self::send(
                        peer,
                        *counterparty_node_id,
                        ErrorMessage {
                            channel_id: *temporary_channel_id,
                            data: crate::codec::WithU16Len(b"channel refused".to_vec()),
                            unknown_tlvs: Default::default(),
                        }
                        .into(),
                    );
                    Ok(())
                }
                Some(other) => {
                    peer.channels.insert(*temporary_channel_id, other);
                    Err(APIError::APIMisuseError {
                        err: "the channel is not a pending request".into(),
                    })
                }
                None => Err(APIError::ChannelUnavailable {
                    err: "no such channel request".into(),
                }),
            }
        })
        .unwrap_or_else(|| Err(no_peer(counterparty_node_id)))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn accept_open(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        features: &InitFeatures,
        open: &OpenChannel,
        user_channel_id: u128,
        config: &UserConfig,
        trusted_zero_conf: bool,
    ) -> Result<(), APIError> {
        match InboundV1Channel::new_from_open_channel(
            &*self.deps.fee_estimator,
            &*self.deps.signer_provider,
            features,
            open,
            user_channel_id,
            config,
            self.chain_hash,
        )
        .and_then(|mut c| {
            if trusted_zero_conf {
                c.trust_zero_conf();
            }
            c.accept_channel().map(|m| (c, m))
        }) {
            Ok((chan, accept)) => {
                Self::send(peer, node, accept.into());
                peer.channels
                    .insert(open.temporary_channel_id, ChannelEntry::Inbound(chan));
                Ok(())
            }
            Err(e) => {
                Self::send(
                    peer,
                    node,
                    ErrorMessage {
                        channel_id: open.temporary_channel_id,
                        data: crate::codec::WithU16Len(e.to_string().into_bytes()),
                        unknown_tlvs: Default::default(),
                    }
                    .into(),
                );
                Err(e.into())
            }
        }
    }

    /// The wallet's signed funding transaction for a channel announced by
    /// [`Event::FundingGenerationReady`]. It is broadcast once the peer
    /// signed our first commitment and the monitor is persisted.
    pub fn funding_transaction_generated(
        &self,
        temporary_channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
        funding_transaction: Transaction,
    ) -> Result<(), APIError> {
        self.with_peer(counterparty_node_id, |peer| {
            let Some(ChannelEntry::Outbound { chan, funding_tx }) =
                peer.channels.get_mut(temporary_channel_id)
            else {
                return Err(APIError::ChannelUnavailable {
                    err: "no channel awaiting funding".into(),
                });
            };
            if funding_tx.is_some() {
                return Err(APIError::APIMisuseError {
                    err: "funding already provided".into(),
                });
            }
            let script = chan
                .funding_script_pubkey()
                .ok_or_else(|| APIError::APIMisuseError {
                    err: "the peer has not accepted the channel yet".into(),
                })?;
            let vout = funding_transaction
                .output
                .iter()
                .position(|o| o.script_pubkey == script)
                .ok_or_else(|| APIError::APIMisuseError {
                    err: "no output pays the channel's funding script".into(),
                })?;
            let vout = u16::try_from(vout).map_err(|_| APIError::APIMisuseError {
                err: "funding output index too large".into(),
            })?;
            let created = chan.funding_created(&funding_transaction, vout)?;
            *funding_tx = Some(funding_transaction);
            Self::send(peer, *counterparty_node_id, created.into());
            Ok(())
        })
        .unwrap_or_else(|| Err(no_peer(counterparty_node_id)))
    }

    /// Every channel.
    pub fn list_channels(&self) -> Vec<ChannelDetails> {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (node, p) in peers.iter() {
            let p = lock(p);
            for (id, entry) in &p.channels {
                if let Some(d) = details::details(*node, *id, entry, p.connected) {
                    out.push(d);
                }
            }
        }
        out.sort_by_key(|d| (d.counterparty_node_id, d.channel_id.0));
        out
    }

    /// The channels that can carry a payment now.
    pub fn list_usable_channels(&self) -> Vec<ChannelDetails> {
        self.list_channels()
            .into_iter()
            .filter(|d| d.is_usable)
            .collect()
    }

    /// Force-closes a channel: the monitor broadcasts our latest
    /// commitment, the peer is sent an `error`.
    pub fn force_close_broadcasting_latest_txn(
        &self,
        channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        self.with_peer(counterparty_node_id, |peer| {
            if !peer.channels.contains_key(channel_id) {
                return Err(APIError::ChannelUnavailable {
                    err: format!("no channel {channel_id}"),
                });
            }
            self.fail_channel(
                peer,
                *counterparty_node_id,
                *channel_id,
                ClosureReason::HolderForceClosed,
                true,
                true,
            );
            Ok(())
        })
        .unwrap_or_else(|| Err(no_peer(counterparty_node_id)))
    }

    /// Fresh alias for a channel (`short_channel_id` in `channel_ready`).
    pub(crate) fn next_scid_alias(&self) -> ShortChannelId {
        // Aliases live above block 16_000_000: never a real channel.
        let n = self.last_scid_alias.fetch_add(1, Ordering::Relaxed);
        ShortChannelId(
            ((16_000_000u64 + (n >> 40 & 0xff_ffff) % 0x0f_ffff) << 40) | (n & 0xff_ffff_ffff),
        )
    }

    /// Call about every 10 seconds (the `PeerManager`'s ping tick will
    /// do): updates commitment fees (channels we funded), fails back
    /// payments to us close to expiry, drops channel requests nobody
    /// accepted after two ticks, disconnects peers that stall quiescence
    /// for a minute and fails channels whose closing negotiation stalls.
    pub fn timer_tick_occurred(&self) {
        let target = |anchors: bool| {
            crate::chain::bounded_feerate(
                &*self.deps.fee_estimator,
                if anchors {
                    crate::chain::ConfirmationTarget::AnchorChannelFee
                } else {
                    crate::chain::ConfirmationTarget::NonAnchorChannelFee
                },
            )
        };
        let nodes: Vec<PublicKey> = self
            .peers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        for node in nodes {
            self.with_peer(&node, |peer| {
                let ids: Vec<ChannelId> = peer.channels.keys().copied().collect();
                for id in ids {
                    let mut out = None;
                    let mut stalled = false;
                    let mut expire = false;
                    let mut closing_failed = None;
                    match peer.channels.get_mut(&id) {
                        Some(ChannelEntry::Unaccepted { ticks, .. }) => {
                            *ticks += 1;
                            expire = *ticks > UNACCEPTED_TICKS;
                        }
                        Some(ChannelEntry::Funded(f)) => {
                            stalled = f.quiescence.timer_tick();
                            if let Some(n) = f.closing.as_mut().and_then(|c| c.negotiation.as_mut())
                            {
                                if let Err(e) = n.timer_tick() {
                                    closing_failed = Some(e);
                                }
                            }
                            let want = target(f.chan.format().has_anchors());
                            let cur = f.chan.feerate().0;
                            // Update when the estimate moved by a quarter
                            // up, or halved down (the funder's duty).
                            if f.chan.is_outbound()
                                && f.chan.is_live()
                                && f.closing.is_none()
                                && f.quiescence.may_send_update()
                                && (want > cur + cur / 4 || want < cur / 2)
                            {
                                match f.chan.send_update_fee(want) {
                                    Ok(o) => out = Some(o),
                                    Err(e) => {
                                        log_debug!(self.logger(), "no fee update on {}: {}", id, e)
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                    if expire {
                        peer.channels.remove(&id);
                    }
                    if let Some(e) = closing_failed {
                        self.channel_error(peer, node, id, e);
                        continue;
                    }
                    if let Some(o) = out {
                        self.apply_outcome(peer, node, id, o);
                    }
                    if stalled {
                        log_warn!(self.logger(), "peer {} stalled quiescence on {}", node, id);
                        peer.outbox.push(MessageSendEvent::HandleError {
                            node_id: node,
                            action: crate::msgs::ErrorAction::DisconnectPeerWithWarning {
                                msg: crate::msgs::Warning {
                                    channel_id: id,
                                    data: crate::codec::WithU16Len(
                                        b"quiescence timed out".to_vec(),
                                    ),
                                    unknown_tlvs: Default::default(),
                                },
                            },
                        });
                    }
                }
            });
        }
        self.fail_expiring_claimables();
        self.fail_incomplete_mpp();
    }

    /// Signs pending updates of every live channel (one
    /// `commitment_signed` per batch of updates).
    pub(crate) fn sign_pending_commitments(&self) {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        for (node, p) in peers.iter() {
            let mut peer = lock(p);
            let ids: Vec<ChannelId> = peer
                .channels
                .iter()
                .filter_map(|(id, e)| match e {
                    ChannelEntry::Funded(f) if f.chan.has_changes_to_sign() => Some(*id),
                    _ => None,
                })
                .collect();
            for id in ids {
                let res = match peer.channels.get_mut(&id) {
                    Some(ChannelEntry::Funded(f)) => f.chan.maybe_sign_commitment(),
                    _ => continue,
                };
                match res {
                    Ok(o) => self.apply_outcome(&mut peer, *node, id, o),
                    Err(e) => self.channel_error(&mut peer, *node, id, e),
                }
            }
            self.after_channel_change(&mut peer, *node);
        }
    }
}

/// The short channel ids our payments find a funded channel by (the
/// first hop of a route): the alias we gave the peer and the confirmed
/// short channel id, unless `option_scid_alias` was negotiated (BOLT 2
/// channel_ready: "MUST NOT allow incoming HTLCs to this channel using the
/// real `short_channel_id`"; the channel is then known by alias only).
pub(crate) fn local_scids(chan: &Channel) -> impl Iterator<Item = ShortChannelId> {
    let real = chan
        .short_channel_id()
        .filter(|_| !chan.channel_type().requires_scid_privacy());
    [chan.outbound_scid_alias_value(), real]
        .into_iter()
        .flatten()
}

/// Forgets every short channel id that names channel `id` of `node`.
pub(crate) fn forget_scids(
    by_scid: &Mutex<HashMap<ShortChannelId, (PublicKey, ChannelId)>>,
    node: PublicKey,
    id: ChannelId,
) {
    lock(by_scid).retain(|_, v| *v != (node, id));
}

/// Ticks an unaccepted channel request waits for the user.
const UNACCEPTED_TICKS: u8 = 2;
