//! Message dispatch of the `PeerManager`: the `init` rules, BOLT 1
//! control messages, and routing every other message to its handler.

use super::descriptor::{PeerHandleError, SocketDescriptor};
use super::gossip::Relay;
use super::manager::{enqueue, enqueue_with, InitialSync, Peer, PeerManager, ReadOutcome};
use crate::msgs::*;
use crate::{log_at, log_debug, log_info, log_trace, log_warn};
use bitcoin::secp256k1::PublicKey;

impl<D: SocketDescriptor> PeerManager<D> {
    pub(super) fn handle_frame(
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
        if let Some(o) = &self.observer {
            o.message_received(their_node_id, type_id, Message::name_of_type(type_id));
        }
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

    pub(super) fn handle_init(
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

    pub(super) fn tell_disconnected(&self, node_id: PublicKey) {
        let h = &self.handlers;
        h.chan_handler.peer_disconnected(node_id);
        h.route_handler.peer_disconnected(node_id);
        h.onion_message_handler.peer_disconnected(node_id);
        h.custom_message_handler.peer_disconnected(node_id);
    }

    pub(super) fn handle_message(
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
    pub(super) fn handle_lightning_error(
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
}
