//! The manager as the `PeerManager` sees it: [`ChannelMessageHandler`],
//! [`MessageSendEventsProvider`] and [`EventsProvider`].

use super::{
    lock, provided_init_features, provided_node_features, ChannelEntry, ChannelManager,
    ClosureReason, Event, EventHandler, EventsProvider, FundedEntry, PeerState, PendingEntry,
};
use crate::channel::establish::ChannelError;
use crate::channel::funded::{Channel, DataLoss, Outcome};
use crate::events::{MessageSendEvent, MessageSendEventsProvider};
use crate::msgs::features::{InitFeatures, NodeFeatures};
use crate::msgs::*;
use crate::types::ChannelId;
use crate::{log_debug, log_info, log_warn};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::PublicKey;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// An `error` message for `channel_id`.
fn error_msg(channel_id: ChannelId, text: &str) -> Message {
    ErrorMessage {
        channel_id,
        data: crate::codec::WithU16Len(text.as_bytes().to_vec()),
        unknown_tlvs: Default::default(),
    }
    .into()
}

fn warning_msg(channel_id: ChannelId, text: &str) -> Message {
    Warning {
        channel_id,
        data: crate::codec::WithU16Len(text.as_bytes().to_vec()),
        unknown_tlvs: Default::default(),
    }
    .into()
}

impl ChannelManager {
    /// A message that cannot apply to `channel_id` in its phase (or names
    /// no channel). BOLT 1: we answer with an `error`, and "when sending
    /// `error`: MUST fail the channel(s) referred to by the error message"
    /// — so a live channel it names is failed (our commitment broadcast).
    fn wrong_phase(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        what: &str,
    ) {
        if peer.channels.contains_key(&channel_id) {
            self.channel_error(
                peer,
                node,
                channel_id,
                ChannelError::Close {
                    tag: "bolt2-wrong-phase",
                    message: format!("{what} does not apply to the channel in its phase"),
                },
            );
        } else {
            Self::send(peer, node, error_msg(channel_id, "unknown channel"));
        }
    }

    /// Runs `f` on the peer's state, then the follow-up work.
    fn on_peer(&self, node: PublicKey, f: impl FnOnce(&mut PeerState)) {
        self.with_peer(&node, |peer| {
            f(peer);
            self.after_channel_change(peer, node);
        });
    }

    /// Runs a call on a funded channel and applies its outcome; a missing
    /// channel gets an `error`, a failing call fails the channel.
    fn on_funded(
        &self,
        node: PublicKey,
        channel_id: ChannelId,
        what: &str,
        is_update: bool,
        f: impl FnOnce(&mut FundedEntry, &Self) -> Result<Outcome, ChannelError>,
    ) {
        self.on_peer(node, |peer| {
            let Some(ChannelEntry::Funded(entry)) = peer.channels.get_mut(&channel_id) else {
                // BOLT 1: a message for an unknown channel gets an error
                // for that channel (and a channel in another phase fails).
                return self.wrong_phase(peer, node, channel_id, what);
            };
            if is_update {
                if let Err(e) = entry.quiescence.may_accept_update() {
                    return self.quiescence_violation(peer, node, channel_id, e);
                }
            }
            match f(entry, self) {
                Ok(out) => self.apply_outcome(peer, node, channel_id, out),
                Err(e) => self.channel_error(peer, node, channel_id, e),
            }
        });
    }

    fn quiescence_violation(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        e: ChannelError,
    ) {
        log_warn!(self.logger(), "channel {}: {}", channel_id, e);
        peer.outbox.push(MessageSendEvent::HandleError {
            node_id: node,
            action: ErrorAction::DisconnectPeerWithWarning {
                msg: Warning {
                    channel_id,
                    data: crate::codec::WithU16Len(e.to_string().into_bytes()),
                    unknown_tlvs: Default::default(),
                },
            },
        });
    }

    /// Moves a pending channel to normal operation once both
    /// `channel_ready` were exchanged.
    pub(crate) fn maybe_promote(&self, peer: &mut PeerState, node: PublicKey, id: ChannelId) {
        let ready = matches!(peer.channels.get(&id), Some(ChannelEntry::Pending(p)) if p.chan.is_ready() && p.monitor_persisted);
        if !ready {
            return;
        }
        let Some(ChannelEntry::Pending(p)) = peer.channels.remove(&id) else {
            return;
        };
        let p = *p;
        let our_ready = match p.chan.channel_ready_message() {
            Ok(m) => m,
            Err(e) => {
                log_warn!(self.logger(), "channel {}: {}", id, e);
                peer.channels.insert(id, ChannelEntry::Pending(Box::new(p)));
                return;
            }
        };
        let scid = p.scid;
        let quiesce = peer
            .features
            .as_ref()
            .is_some_and(|f| f.supports_quiescence());
        let PendingEntry {
            chan: pending,
            user_channel_id: pending_user_id,
            is_outbound: pending_outbound,
            channel_type: pending_type,
            funding_tx,
            funding_broadcast,
            conf_height,
            scid: pending_scid,
            monitor_persisted,
            held,
            our_ready: pending_ready,
            awaiting_reestablish,
            created_height,
        } = p;
        let funded = match pending.into_funded() {
            Ok(f) => f,
            Err(back) => {
                let p2 = PendingEntry {
                    chan: *back,
                    user_channel_id: pending_user_id,
                    is_outbound: pending_outbound,
                    channel_type: pending_type,
                    funding_tx,
                    funding_broadcast,
                    conf_height,
                    scid: pending_scid,
                    monitor_persisted,
                    held,
                    our_ready: pending_ready,
                    awaiting_reestablish,
                    created_height,
                };
                peer.channels
                    .insert(id, ChannelEntry::Pending(Box::new(p2)));
                return;
            }
        };
        let config = self.get_current_config().channel_config;
        let mut chan = Channel::from_funded(funded, our_ready, config);
        if let Some(s) = scid {
            chan.set_short_channel_id(s);
        }
        let is_outbound = chan.is_outbound();
        let channel_type = chan.channel_type().clone();
        let user_channel_id = chan.user_channel_id();
        {
            let mut by = lock(&self.by_scid);
            for s in super::local_scids(&chan) {
                by.insert(s, (node, id));
            }
        }
        peer.channels.insert(
            id,
            ChannelEntry::Funded(Box::new(FundedEntry {
                chan,
                held: VecDeque::new(),
                persisted_update_id: 0,
                sources: HashMap::new(),
                closing: None,
                quiescence: crate::channel::quiescence::Quiescence::new(is_outbound, quiesce),
            })),
        );
        self.changed();
        log_info!(self.logger(), "channel {} with {} is ready", id, node);
        self.push_event(Event::ChannelReady {
            channel_id: id,
            user_channel_id,
            counterparty_node_id: node,
            channel_type,
        });
    }

    /// Queues a message of a pending channel (held until its monitor is
    /// persisted).
    pub(crate) fn send_pending(peer: &mut PeerState, node: PublicKey, id: ChannelId, m: Message) {
        if let Some(ChannelEntry::Pending(p)) = peer.channels.get_mut(&id) {
            if !p.monitor_persisted || p.awaiting_reestablish {
                p.held.push(m);
                return;
            }
        }
        Self::send(peer, node, m);
    }

    fn handle_funding_signed_inner(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        msg: &FundingSigned,
    ) {
        let temp = peer.channels.iter().find_map(|(tid, e)| match e {
            ChannelEntry::Outbound { chan, .. }
                if chan.funded_channel_id() == Some(msg.channel_id) =>
            {
                Some(*tid)
            }
            _ => None,
        });
        let Some(temp) = temp else {
            return self.wrong_phase(peer, node, msg.channel_id, "funding_signed");
        };
        let Some(ChannelEntry::Outbound { chan, funding_tx }) = peer.channels.remove(&temp) else {
            return;
        };
        let user_channel_id = chan.user_channel_id();
        let value = chan.channel_value_satoshis();
        match chan.funding_signed(msg, self.current_best_block()) {
            Ok((mut pending, monitor)) => {
                let outpoint = pending.funding_outpoint();
                let id = pending.channel_id();
                pending.set_outbound_scid_alias(self.next_scid_alias());
                let status = self.deps.chain_monitor.watch_channel(outpoint, monitor);
                let Some(done) = self.watch_status(status) else {
                    self.push_event(Event::ChannelClosed {
                        channel_id: id,
                        user_channel_id,
                        reason: ClosureReason::ProcessingError {
                            err: "watch_channel refused the monitor".into(),
                        },
                        counterparty_node_id: node,
                        channel_capacity_sats: value,
                    });
                    return;
                };
                lock(&self.by_outpoint).insert(outpoint, (node, id));
                let channel_type = pending.channel_type().clone();
                peer.channels.insert(
                    id,
                    ChannelEntry::Pending(Box::new(PendingEntry {
                        chan: pending,
                        user_channel_id,
                        is_outbound: true,
                        channel_type,
                        funding_tx,
                        funding_broadcast: false,
                        conf_height: None,
                        scid: None,
                        monitor_persisted: false,
                        held: Vec::new(),
                        our_ready: None,
                        awaiting_reestablish: false,
                        created_height: self.current_best_block().height,
                    })),
                );
                if done {
                    self.monitor_updated(peer, node, id, 0);
                }
                self.changed();
                self.push_event(Event::ChannelPending {
                    channel_id: id,
                    user_channel_id,
                    former_temporary_channel_id: temp,
                    counterparty_node_id: node,
                    funding_txo: outpoint,
                });
            }
            Err(e) => {
                Self::send(peer, node, error_msg(msg.channel_id, &e.to_string()));
                self.push_event(Event::ChannelClosed {
                    channel_id: temp,
                    user_channel_id,
                    reason: ClosureReason::ProcessingError { err: e.to_string() },
                    counterparty_node_id: node,
                    channel_capacity_sats: value,
                });
            }
        }
    }

    fn handle_funding_created_inner(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        msg: &FundingCreated,
    ) {
        if !matches!(
            peer.channels.get(&msg.temporary_channel_id),
            Some(ChannelEntry::Inbound(_))
        ) {
            return self.wrong_phase(peer, node, msg.temporary_channel_id, "funding_created");
        }
        let Some(ChannelEntry::Inbound(chan)) = peer.channels.remove(&msg.temporary_channel_id)
        else {
            return;
        };
        let user_channel_id = chan.user_channel_id();
        match chan.funding_created(msg, self.current_best_block()) {
            Ok((mut pending, signed, monitor)) => {
                let outpoint = pending.funding_outpoint();
                let id = pending.channel_id();
                if peer.channels.contains_key(&id) {
                    Self::send(peer, node, error_msg(id, "duplicate channel id"));
                    return;
                }
                pending.set_outbound_scid_alias(self.next_scid_alias());
                // BOLT 2 / persist before you speak: the monitor is watched
                // (and persisted) before `funding_signed` leaves.
                let status = self.deps.chain_monitor.watch_channel(outpoint, monitor);
                let Some(done) = self.watch_status(status) else {
                    Self::send(peer, node, error_msg(id, "cannot persist the channel"));
                    return;
                };
                lock(&self.by_outpoint).insert(outpoint, (node, id));
                let channel_type = pending.channel_type().clone();
                peer.channels.insert(
                    id,
                    ChannelEntry::Pending(Box::new(PendingEntry {
                        chan: pending,
                        user_channel_id,
                        is_outbound: false,
                        channel_type,
                        funding_tx: None,
                        funding_broadcast: false,
                        conf_height: None,
                        scid: None,
                        monitor_persisted: false,
                        held: vec![signed.into()],
                        our_ready: None,
                        awaiting_reestablish: false,
                        created_height: self.current_best_block().height,
                    })),
                );
                if done {
                    self.monitor_updated(peer, node, id, 0);
                }
                self.changed();
                self.push_event(Event::ChannelPending {
                    channel_id: id,
                    user_channel_id,
                    former_temporary_channel_id: msg.temporary_channel_id,
                    counterparty_node_id: node,
                    funding_txo: outpoint,
                });
            }
            Err(e) => {
                Self::send(
                    peer,
                    node,
                    error_msg(msg.temporary_channel_id, &e.to_string()),
                );
            }
        }
    }

    fn handle_reestablish_inner(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        msg: &ChannelReestablish,
    ) {
        let id = msg.channel_id;
        match peer.channels.get_mut(&id) {
            Some(ChannelEntry::Pending(p)) => {
                p.awaiting_reestablish = false;
                let mut msgs: Vec<Message> = Vec::new();
                // Retransmit channel_ready if we sent it.
                if p.chan.our_ready_sent() {
                    if let Ok(m) = p.chan.channel_ready_message() {
                        msgs.push(m.into());
                    }
                }
                let held: Vec<Message> = if p.monitor_persisted {
                    p.held.drain(..).collect()
                } else {
                    Vec::new()
                };
                for m in held.into_iter().chain(msgs) {
                    Self::send_pending(peer, node, id, m);
                }
            }
            Some(ChannelEntry::Funded(f)) => match f.chan.channel_reestablish(msg) {
                Ok(mut out) => {
                    if let Some(script) = f.chan.shutdown_sent().cloned() {
                        // "upon reconnection: if it has sent `shutdown`: MUST
                        // retransmit `shutdown`."
                        out.msgs.push(f.chan.shutdown_message(script).into());
                    }
                    if let Some(n) = f.closing.as_mut().and_then(|c| c.negotiation.as_mut()) {
                        n.on_disconnect();
                    }
                    self.apply_outcome(peer, node, id, out);
                }
                Err((e, loss)) => {
                    let (reason, broadcast) = match loss {
                        Some(DataLoss::Ours) => (ClosureReason::DataLossDetected, false),
                        _ => (ClosureReason::ProcessingError { err: e.to_string() }, true),
                    };
                    self.fail_channel(peer, node, id, reason, broadcast, true);
                }
            },
            _ => self.wrong_phase(peer, node, id, "channel_reestablish"),
        }
    }
}

impl ChannelMessageHandler for ChannelManager {
    fn handle_open_channel(&self, node: PublicKey, msg: &OpenChannel) {
        let config = self.get_current_config();
        self.on_peer(node, |peer| {
            if peer.channels.contains_key(&msg.temporary_channel_id) {
                return self.wrong_phase(peer, node, msg.temporary_channel_id, "open_channel");
            }
            if config.manually_accept_inbound_channels {
                let ct = msg.channel_type.clone().unwrap_or_else(
                    crate::msgs::features::ChannelTypeFeatures::only_static_remote_key,
                );
                peer.channels.insert(
                    msg.temporary_channel_id,
                    ChannelEntry::Unaccepted {
                        open: msg.clone(),
                        ticks: 0,
                    },
                );
                self.push_event(Event::OpenChannelRequest {
                    temporary_channel_id: msg.temporary_channel_id,
                    counterparty_node_id: node,
                    funding_satoshis: msg.funding_satoshis,
                    push_msat: msg.push_msat,
                    channel_type: ct,
                });
                return;
            }
            let features = peer.features.clone().unwrap_or_else(InitFeatures::empty);
            let user_id = u128::from_be_bytes(
                self.deps.entropy_source.get_secure_random_bytes()[..16]
                    .try_into()
                    .unwrap_or([0; 16]),
            );
            if let Err(e) = self.accept_open(peer, node, &features, msg, user_id, &config, false) {
                log_info!(self.logger(), "refused open_channel from {}: {}", node, e);
            }
        });
    }

    fn handle_accept_channel(&self, node: PublicKey, msg: &AcceptChannel) {
        self.on_peer(node, |peer| {
            let Some(ChannelEntry::Outbound { chan, .. }) =
                peer.channels.get_mut(&msg.temporary_channel_id)
            else {
                return self.wrong_phase(peer, node, msg.temporary_channel_id, "accept_channel");
            };
            match chan.accept_channel(msg) {
                Ok(()) => {
                    let Some(script) = chan.funding_script_pubkey() else {
                        return;
                    };
                    self.push_event(Event::FundingGenerationReady {
                        temporary_channel_id: msg.temporary_channel_id,
                        counterparty_node_id: node,
                        channel_value_satoshis: chan.channel_value_satoshis(),
                        output_script: script,
                        user_channel_id: chan.user_channel_id(),
                    });
                }
                Err(e) => self.fail_channel(
                    peer,
                    node,
                    msg.temporary_channel_id,
                    ClosureReason::ProcessingError { err: e.to_string() },
                    false,
                    true,
                ),
            }
        });
    }

    fn handle_funding_created(&self, node: PublicKey, msg: &FundingCreated) {
        self.on_peer(node, |peer| {
            self.handle_funding_created_inner(peer, node, msg)
        });
    }

    fn handle_funding_signed(&self, node: PublicKey, msg: &FundingSigned) {
        self.on_peer(node, |peer| {
            self.handle_funding_signed_inner(peer, node, msg)
        });
    }

    fn handle_channel_ready(&self, node: PublicKey, msg: &ChannelReady) {
        self.on_peer(node, |peer| {
            match peer.channels.get_mut(&msg.channel_id) {
                Some(ChannelEntry::Pending(p)) => {
                    if let Err(e) = p.chan.channel_ready_received(msg) {
                        return self.channel_error(peer, node, msg.channel_id, e);
                    }
                    self.maybe_promote(peer, node, msg.channel_id);
                }
                Some(ChannelEntry::Funded(_)) => {
                    // A retransmission after a reconnection.
                }
                _ => self.wrong_phase(peer, node, msg.channel_id, "channel_ready"),
            }
        });
    }

    fn handle_stfu(&self, node: PublicKey, msg: &Stfu) {
        self.on_peer(node, |peer| {
            let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&msg.channel_id) else {
                return self.wrong_phase(peer, node, msg.channel_id, "stfu");
            };
            let pending = f.chan.counterparty_has_pending_updates();
            if let Err(e) = f.quiescence.stfu_received(msg.initiator != 0, pending) {
                self.quiescence_violation(peer, node, msg.channel_id, e);
            }
        });
    }

    fn handle_shutdown(&self, node: PublicKey, msg: &Shutdown) {
        let script = self.deps.signer_provider.get_shutdown_scriptpubkey();
        let anysegwit = true;
        self.on_funded(node, msg.channel_id, "shutdown", false, |f, _| {
            f.chan.receive_shutdown(msg, anysegwit)?;
            // "A receiving node: if it hasn't sent a `shutdown`, MUST reply
            // to a `shutdown` message with a `shutdown`" (once its own
            // updates are signed).
            if f.chan.shutdown_sent().is_none() {
                let closing = f.closing.get_or_insert(super::close::ClosingState {
                    pending_shutdown: None,
                    negotiation: None,
                });
                if closing.pending_shutdown.is_none() {
                    closing.pending_shutdown =
                        Some(script.clone().map_err(|e| ChannelError::Close {
                            tag: "signer",
                            message: e.to_string(),
                        })?);
                }
            }
            Ok(Outcome::default())
        });
    }

    fn handle_closing_signed(&self, node: PublicKey, msg: &ClosingSigned) {
        self.on_peer(node, |peer| self.closing_signed(peer, node, msg));
    }

    fn handle_closing_complete(&self, node: PublicKey, msg: &ClosingComplete) {
        self.on_peer(node, |peer| {
            Self::send(
                peer,
                node,
                warning_msg(msg.channel_id, "option_simple_close is not supported"),
            )
        });
    }

    fn handle_closing_sig(&self, node: PublicKey, msg: &ClosingSig) {
        self.on_peer(node, |peer| {
            Self::send(
                peer,
                node,
                warning_msg(msg.channel_id, "option_simple_close is not supported"),
            )
        });
    }

    fn handle_update_add_htlc(&self, node: PublicKey, msg: &UpdateAddHtlc) {
        let max = self.max_feerate();
        self.on_funded(node, msg.channel_id, "update_add_htlc", true, |f, _| {
            f.chan.update_add_htlc(msg, max).map(|_| Outcome::default())
        });
    }

    fn handle_update_fulfill_htlc(&self, node: PublicKey, msg: &UpdateFulfillHtlc) {
        self.on_funded(node, msg.channel_id, "update_fulfill_htlc", true, |f, _| {
            f.chan.update_fulfill_htlc(msg)
        });
    }

    fn handle_update_fail_htlc(&self, node: PublicKey, msg: &UpdateFailHtlc) {
        self.on_funded(node, msg.channel_id, "update_fail_htlc", true, |f, _| {
            f.chan.update_fail_htlc(msg).map(|_| Outcome::default())
        });
    }

    fn handle_update_fail_malformed_htlc(&self, node: PublicKey, msg: &UpdateFailMalformedHtlc) {
        self.on_funded(
            node,
            msg.channel_id,
            "update_fail_malformed_htlc",
            true,
            |f, _| {
                f.chan
                    .update_fail_malformed_htlc(msg)
                    .map(|_| Outcome::default())
            },
        );
    }

    fn handle_commitment_signed(&self, node: PublicKey, msg: &CommitmentSigned) {
        // Our own pending updates are signed in the same step, so the
        // holder-commitment and counterparty-commitment monitor steps are
        // persisted as one update (`revoke_and_ack` then `commitment_signed`
        // leave together after it).
        self.on_funded(node, msg.channel_id, "commitment_signed", false, |f, _| {
            let mut out = f.chan.commitment_signed(msg)?;
            out.merge(f.chan.maybe_sign_commitment()?);
            Ok(out)
        });
    }

    fn handle_revoke_and_ack(&self, node: PublicKey, msg: &RevokeAndAck) {
        self.on_funded(node, msg.channel_id, "revoke_and_ack", false, |f, _| {
            f.chan.revoke_and_ack(msg)
        });
    }

    fn handle_update_fee(&self, node: PublicKey, msg: &UpdateFee) {
        let min = crate::chain::bounded_feerate(
            &*self.deps.fee_estimator,
            crate::chain::ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee,
        );
        let max = self.max_feerate();
        self.on_funded(node, msg.channel_id, "update_fee", true, |f, _| {
            f.chan.update_fee(msg, min, max).map(|_| Outcome::default())
        });
    }

    fn handle_channel_reestablish(&self, node: PublicKey, msg: &ChannelReestablish) {
        self.on_peer(node, |peer| self.handle_reestablish_inner(peer, node, msg));
    }

    fn handle_announcement_signatures(&self, node: PublicKey, msg: &AnnouncementSignatures) {
        log_debug!(
            self.logger(),
            "ignoring announcement_signatures from {} for {}: channels are private",
            node,
            msg.channel_id
        );
    }

    fn handle_tx_add_input(&self, node: PublicKey, msg: &TxAddInput) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_add_output(&self, node: PublicKey, msg: &TxAddOutput) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_remove_input(&self, node: PublicKey, msg: &TxRemoveInput) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_remove_output(&self, node: PublicKey, msg: &TxRemoveOutput) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_complete(&self, node: PublicKey, msg: &TxComplete) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_signatures(&self, node: PublicKey, msg: &TxSignatures) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_init_rbf(&self, node: PublicKey, msg: &TxInitRbf) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_ack_rbf(&self, node: PublicKey, msg: &TxAckRbf) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_tx_abort(&self, node: PublicKey, msg: &TxAbort) {
        self.unsupported(node, msg.channel_id, "interactive-tx");
    }
    fn handle_open_channel_v2(&self, node: PublicKey, msg: &OpenChannel2) {
        self.on_peer(node, |peer| {
            Self::send(
                peer,
                node,
                error_msg(msg.temporary_channel_id, "dual funding is not supported"),
            )
        });
    }
    fn handle_accept_channel_v2(&self, node: PublicKey, msg: &AcceptChannel2) {
        self.unsupported(node, msg.temporary_channel_id, "dual funding");
    }
    fn handle_splice_init(&self, node: PublicKey, msg: &SpliceInit) {
        self.unsupported(node, msg.channel_id, "splicing");
    }
    fn handle_splice_ack(&self, node: PublicKey, msg: &SpliceAck) {
        self.unsupported(node, msg.channel_id, "splicing");
    }
    fn handle_splice_locked(&self, node: PublicKey, msg: &SpliceLocked) {
        self.unsupported(node, msg.channel_id, "splicing");
    }
    fn handle_start_batch(&self, _node: PublicKey, _msg: &StartBatch) {}
    fn handle_peer_storage(&self, _node: PublicKey, _msg: &PeerStorage) {}
    fn handle_peer_storage_retrieval(&self, _node: PublicKey, _msg: &PeerStorageRetrieval) {}

    fn handle_error(&self, node: PublicKey, msg: &ErrorMessage) {
        let text = String::from_utf8_lossy(&msg.data.0).into_owned();
        self.on_peer(node, |peer| {
            // BOLT 1: an all-zero channel_id means every channel.
            let ids: Vec<ChannelId> = if msg.channel_id.0 == [0; 32] {
                peer.channels.keys().copied().collect()
            } else {
                peer.channels
                    .keys()
                    .copied()
                    .filter(|id| *id == msg.channel_id)
                    .collect()
            };
            for id in ids {
                self.fail_channel(
                    peer,
                    node,
                    id,
                    ClosureReason::CounterpartyForceClosed {
                        peer_msg: text.clone(),
                    },
                    true,
                    false,
                );
            }
        });
    }

    fn peer_connected(&self, node: PublicKey, init: &Init, _inbound: bool) -> Result<(), ()> {
        {
            let mut peers = self.peers.write().unwrap_or_else(|e| e.into_inner());
            peers
                .entry(node)
                .or_insert_with(|| Mutex::new(PeerState::default()));
        }
        let ours = provided_init_features(&self.get_current_config());
        let quiesce = init.features.supports_quiescence() && ours.supports_quiescence();
        self.on_peer(node, |peer| {
            peer.connected = true;
            peer.features = Some(init.features.clone());
            let ids: Vec<ChannelId> = peer.channels.keys().copied().collect();
            for id in ids {
                let msg = match peer.channels.get_mut(&id) {
                    Some(ChannelEntry::Funded(f)) => {
                        f.chan.peer_reconnected();
                        f.quiescence.peer_connected(quiesce);
                        f.chan.reestablish_message()
                    }
                    Some(ChannelEntry::Pending(p)) => {
                        p.awaiting_reestablish = true;
                        p.chan.reestablish_message()
                    }
                    _ => continue,
                };
                match msg {
                    // channel_reestablish goes first, ahead of anything held.
                    Ok(m) => Self::send(peer, node, m.into()),
                    Err(e) => log_warn!(self.logger(), "no reestablish for {}: {}", id, e),
                }
            }
        });
        Ok(())
    }

    fn peer_disconnected(&self, node: PublicKey) {
        self.with_peer(&node, |peer| {
            peer.connected = false;
            peer.outbox.clear();
            let ids: Vec<ChannelId> = peer.channels.keys().copied().collect();
            for id in ids {
                let drop_it = match peer.channels.get_mut(&id) {
                    Some(ChannelEntry::Funded(f)) => {
                        f.chan.peer_disconnected();
                        f.quiescence.on_disconnect();
                        f.held.clear();
                        if let Some(n) = f.closing.as_mut().and_then(|c| c.negotiation.as_mut()) {
                            n.on_disconnect();
                        }
                        false
                    }
                    Some(ChannelEntry::Pending(p)) => {
                        // What is held is rebuilt after the reestablish.
                        p.held.retain(|m| matches!(m, Message::FundingSigned(_)));
                        false
                    }
                    // BOLT 2: channels not yet funded are forgotten.
                    _ => true,
                };
                if drop_it {
                    self.fail_channel(
                        peer,
                        node,
                        id,
                        ClosureReason::DisconnectedPeer,
                        false,
                        false,
                    );
                }
            }
        });
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        provided_init_features(&self.get_current_config())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        provided_node_features(&self.get_current_config())
    }

    fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
        Some(vec![self.chain_hash])
    }
}

impl ChannelManager {
    fn unsupported(&self, node: PublicKey, channel_id: ChannelId, what: &str) {
        self.on_peer(node, |peer| {
            Self::send(
                peer,
                node,
                warning_msg(channel_id, &format!("{what} is not supported")),
            )
        });
    }
}

impl MessageSendEventsProvider for ChannelManager {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        self.process_monitor_events();
        self.process_retries();
        self.sign_pending_commitments();
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for p in peers.values() {
            out.append(&mut lock(p).outbox);
        }
        out
    }
}

impl EventsProvider for ChannelManager {
    fn process_pending_events(&self, handler: &dyn EventHandler) {
        self.process_monitor_events();
        // Events the handler causes (claiming a payment, say) are handled
        // in the same call, in order.
        for _ in 0..1_000 {
            let Some(e) = lock(&self.pending_events).pop_front() else {
                break;
            };
            self.changed();
            handler.handle_event(e);
        }
    }
}

impl ChannelManager {
    /// The pending events, without handling them (tests and tools).
    pub fn get_and_clear_pending_events(&self) -> Vec<Event> {
        self.process_monitor_events();
        lock(&self.pending_events).drain(..).collect()
    }
}
