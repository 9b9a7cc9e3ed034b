//! Cooperative close (`shutdown` → `closing_signed`) and the per-channel
//! work that follows any state change: pending shutdowns, the closing
//! negotiation's start, quiescence's `stfu`.

use super::{lock, APIError, ChannelEntry, ChannelManager, ClosureReason, Event, PeerState};
use crate::chain::ConfirmationTarget;
use crate::channel::closing_negotiation::{ClosingNegotiation, ClosingStep};
use crate::channel::FeeRatePerKw;
use crate::msgs::{ClosingSigned, Stfu};
use crate::types::ChannelId;
use crate::{log_info, log_warn};
use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;

/// A cooperative close in progress.
pub(crate) struct ClosingState {
    /// Our shutdown script, while `shutdown` waits for our updates to be
    /// signed.
    pub pending_shutdown: Option<ScriptBuf>,
    /// The fee negotiation, once both `shutdown`s were exchanged and the
    /// channel is clean.
    pub negotiation: Option<ClosingNegotiation>,
}

impl ChannelManager {
    /// Starts a cooperative close of a channel: `shutdown` now (or once
    /// our pending updates are signed), then the closing fee negotiation
    /// once no HTLC remains; [`Event::ChannelClosed`] follows the broadcast
    /// of the closing transaction.
    pub fn close_channel(
        &self,
        channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        let script = self
            .deps
            .signer_provider
            .get_shutdown_scriptpubkey()
            .map_err(|e| APIError::APIMisuseError { err: e.to_string() })?;
        self.with_peer(counterparty_node_id, |peer| {
            let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(channel_id) else {
                return Err(APIError::ChannelUnavailable {
                    err: format!("no ready channel {channel_id}"),
                });
            };
            if f.closing.is_some() || f.chan.shutdown_sent().is_some() {
                return Err(APIError::APIMisuseError {
                    err: "the channel is already closing".into(),
                });
            }
            f.closing = Some(ClosingState {
                pending_shutdown: Some(script),
                negotiation: None,
            });
            self.after_channel_change(peer, *counterparty_node_id);
            Ok(())
        })
        .unwrap_or_else(|| {
            Err(APIError::ChannelUnavailable {
                err: "unknown peer".into(),
            })
        })
    }

    /// Asks for quiescence (`stfu`) on a channel: no update flows until
    /// [`exit_quiescence`](Self::exit_quiescence). This is what splicing
    /// and other dependent protocols start from.
    pub fn quiesce_channel(
        &self,
        channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        self.with_peer(counterparty_node_id, |peer| {
            let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(channel_id) else {
                return Err(APIError::ChannelUnavailable {
                    err: format!("no ready channel {channel_id}"),
                });
            };
            f.quiescence.request()?;
            self.after_channel_change(peer, *counterparty_node_id);
            Ok(())
        })
        .unwrap_or_else(|| {
            Err(APIError::ChannelUnavailable {
                err: "unknown peer".into(),
            })
        })
    }

    /// Whether a channel is quiescent (both `stfu` exchanged).
    pub fn is_channel_quiescent(
        &self,
        channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
    ) -> bool {
        self.with_peer(counterparty_node_id, |peer| {
            matches!(peer.channels.get(channel_id), Some(ChannelEntry::Funded(f)) if f.quiescence.is_quiescent())
        })
        .unwrap_or(false)
    }

    /// Ends quiescence (the dependent protocol finished): updates flow
    /// again.
    pub fn exit_quiescence(
        &self,
        channel_id: &ChannelId,
        counterparty_node_id: &PublicKey,
    ) -> Result<(), APIError> {
        self.with_peer(counterparty_node_id, |peer| {
            let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(channel_id) else {
                return Err(APIError::ChannelUnavailable {
                    err: format!("no ready channel {channel_id}"),
                });
            };
            f.quiescence.resume()?;
            Ok(())
        })
        .unwrap_or_else(|| {
            Err(APIError::ChannelUnavailable {
                err: "unknown peer".into(),
            })
        })
    }

    /// Work that may become possible after any change of a peer's
    /// channels: a waiting `shutdown`, the first `closing_signed`, `stfu`.
    pub(crate) fn after_channel_change(&self, peer: &mut PeerState, node: PublicKey) {
        let ids: Vec<ChannelId> = peer
            .channels
            .iter()
            .filter_map(|(id, e)| match e {
                ChannelEntry::Funded(f) if f.chan.is_live() => Some(*id),
                _ => None,
            })
            .collect();
        for id in ids {
            self.advance_channel(peer, node, id);
        }
    }

    fn advance_channel(&self, peer: &mut PeerState, node: PublicKey, id: ChannelId) {
        let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&id) else {
            return;
        };
        // Quiescence: our stfu once our updates cleared.
        if let Some(initiator) = f
            .quiescence
            .maybe_send_stfu(f.chan.holder_has_pending_updates())
        {
            let msg = Stfu {
                channel_id: id,
                initiator: initiator as u8,
                unknown_tlvs: Default::default(),
            };
            self.apply_outcome(
                peer,
                node,
                id,
                crate::channel::funded::Outcome {
                    msgs: vec![msg.into()],
                    ..Default::default()
                },
            );
        }
        let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&id) else {
            return;
        };
        // A shutdown waiting for our updates to be signed.
        let pending = f.closing.as_ref().and_then(|c| c.pending_shutdown.clone());
        if let Some(script) = pending {
            if !f.chan.has_unsigned_updates() {
                match f.chan.send_shutdown(script) {
                    Ok(out) => {
                        if let Some(c) = f.closing.as_mut() {
                            c.pending_shutdown = None;
                        }
                        self.apply_outcome(peer, node, id, out);
                    }
                    Err(e) => log_warn!(self.logger(), "shutdown of {} waits: {}", id, e),
                }
            }
        }
        let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&id) else {
            return;
        };
        // Both shutdowns exchanged and nothing left in flight: negotiate.
        let (Some(ours), Some(theirs)) = (
            f.chan.shutdown_sent().cloned(),
            f.chan.shutdown_received().cloned(),
        ) else {
            return;
        };
        // Clean, and every message of the dance has left: `closing_signed`
        // must not overtake a `revoke_and_ack` still waiting for its
        // monitor update.
        if !f.chan.is_clean() || !f.held.is_empty() {
            return;
        }
        let closing = f.closing.get_or_insert(ClosingState {
            pending_shutdown: None,
            negotiation: None,
        });
        if closing.negotiation.is_none() {
            let feerate = crate::chain::bounded_feerate(
                &*self.deps.fee_estimator,
                ConfirmationTarget::ChannelCloseMinimum,
            );
            let c = &f.chan;
            match ClosingNegotiation::new(
                c.params().clone(),
                c.signer().clone(),
                id,
                crate::channel::MilliSatoshi(c.balance_msat()),
                crate::channel::MilliSatoshi(c.counterparty_balance_msat()),
                ours,
                theirs,
                FeeRatePerKw(feerate),
                None,
                c.holder_commitment().fee(),
            ) {
                Ok(n) => closing.negotiation = Some(n),
                Err(e) => {
                    return self.channel_error(peer, node, id, e);
                }
            }
        }
        let Some(n) = closing.negotiation.as_mut() else {
            return;
        };
        match n.initial_closing_signed() {
            Ok(Some(msg)) => self.apply_outcome(
                peer,
                node,
                id,
                crate::channel::funded::Outcome {
                    msgs: vec![msg.into()],
                    ..Default::default()
                },
            ),
            Ok(None) => {}
            Err(e) => self.channel_error(peer, node, id, e),
        }
    }

    fn channel_error_or_unknown(&self, peer: &mut PeerState, node: PublicKey, id: ChannelId) {
        if peer.channels.contains_key(&id) {
            self.channel_error(
                peer,
                node,
                id,
                crate::channel::establish::ChannelError::Close {
                    tag: "bolt2-wrong-phase",
                    message: "closing_signed for a channel not in normal operation".into(),
                },
            );
        } else {
            Self::send(
                peer,
                node,
                crate::msgs::ErrorMessage {
                    channel_id: id,
                    data: crate::codec::WithU16Len(b"unknown channel".to_vec()),
                    unknown_tlvs: Default::default(),
                }
                .into(),
            );
        }
    }

    /// The peer's `closing_signed`.
    pub(crate) fn closing_signed(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        msg: &ClosingSigned,
    ) {
        let id = msg.channel_id;
        let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&id) else {
            return self.channel_error_or_unknown(peer, node, id);
        };
        let Some(n) = f.closing.as_mut().and_then(|c| c.negotiation.as_mut()) else {
            return self.channel_error(
                peer,
                node,
                id,
                crate::channel::establish::ChannelError::Close {
                    tag: "bolt2-closing-signed-early",
                    message: "closing_signed before both shutdowns with a clean channel".into(),
                },
            );
        };
        match n.closing_signed_received(msg) {
            Ok(ClosingStep::Reply(m)) => self.apply_outcome(
                peer,
                node,
                id,
                crate::channel::funded::Outcome {
                    msgs: vec![m.into()],
                    ..Default::default()
                },
            ),
            Ok(ClosingStep::Done { reply, tx }) => {
                if let Some(m) = reply {
                    Self::send(peer, node, m.into());
                }
                log_info!(
                    self.logger(),
                    "channel {} closed cooperatively by {}",
                    id,
                    tx.compute_txid()
                );
                self.deps.broadcaster.broadcast_transactions(&[&tx]);
                let Some(ChannelEntry::Funded(f)) = peer.channels.remove(&id) else {
                    return;
                };
                self.changed();
                lock(&self.by_outpoint).remove(&f.chan.funding_outpoint());
                super::forget_scids(&self.by_scid, node, id);
                self.push_event(Event::ChannelClosed {
                    channel_id: id,
                    user_channel_id: f.chan.user_channel_id(),
                    reason: ClosureReason::CooperativeClosure,
                    counterparty_node_id: node,
                    channel_capacity_sats: f.chan.channel_value_satoshis(),
                });
            }
            Err(e) => self.channel_error(peer, node, id, e),
        }
    }
}
