//! Disconnection and `channel_reestablish` (BOLT 2 "Message
//! Retransmission").

use super::htlc::{FeeStage, InState, OutRemoveStage, OutState};
use super::{Channel, Outcome};
use crate::channel::establish::ChannelError;
use crate::channel::keys::per_commitment_point;
use crate::channel::CommitmentNumber;
use crate::codec::TlvStream;
use crate::msgs::{ChannelReestablish, Message};

/// Why a reestablish failed the channel, beyond a plain protocol error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataLoss {
    /// The peer proved it has newer state than ours: we must NOT broadcast
    /// our (revoked) commitment; ask the peer to close instead.
    Ours,
    /// The peer is behind us: fail the channel and broadcast our latest
    /// commitment.
    Theirs,
}

impl Channel {
    /// The peer disconnected. BOLT 2: "A node: ... MUST reverse any
    /// uncommitted updates sent by the other side (i.e. all messages
    /// beginning with `update_` for which no `commitment_signed` has been
    /// received)." Our own uncommitted updates are kept and sent again.
    pub fn peer_disconnected(&mut self) {
        self.peer_connected = false;
        self.awaiting_reestablish = false;
        if let Some(lowest) = self
            .inbound
            .iter()
            .filter(|h| h.state == InState::RcvdAdd)
            .map(|h| h.id)
            .min()
        {
            self.next_inbound_id = lowest;
        }
        self.inbound.retain(|h| h.state != InState::RcvdAdd);
        for h in &mut self.outbound {
            if let OutState::Removed(_, OutRemoveStage::Received) = h.state {
                h.state = OutState::Committed;
            }
        }
        self.pending_fees.retain(|f| f.stage != FeeStage::Rcvd);
    }

    /// The peer reconnected: send [`reestablish_message`](Self::reestablish_message)
    /// and wait for its own before anything else.
    pub fn peer_reconnected(&mut self) {
        self.peer_connected = true;
        self.awaiting_reestablish = true;
    }

    /// Our `channel_reestablish`.
    pub fn reestablish_message(&self) -> Result<ChannelReestablish, ChannelError> {
        let point = self
            .signer
            .per_commitment_point(self.holder_number)
            .map_err(|e| Self::err_close("signer", e.to_string()))?;
        // "next_revocation_number: the commitment number of the next
        // `revoke_and_ack` message it expects to receive."
        let next_revocation = if self.cp_awaiting_revoke.is_some() {
            self.cp_number.value().saturating_sub(1)
        } else {
            self.cp_number.value()
        };
        Ok(ChannelReestablish {
            channel_id: self.channel_id,
            next_commitment_number: self.holder_number.value() + 1,
            next_revocation_number: next_revocation,
            your_last_per_commitment_secret: self.cp_last_secret.unwrap_or([0; 32]),
            my_current_per_commitment_point: point.into(),
            next_funding: None,
            my_current_funding_locked: None,
            unknown_tlvs: TlvStream::new(),
        })
    }

    /// The peer's `channel_reestablish`: checks it against our state and
    /// returns what must be retransmitted, in the order it first left.
    /// A [`DataLoss`] comes with the error when one side lost state.
    pub fn channel_reestablish(
        &mut self,
        msg: &ChannelReestablish,
    ) -> Result<Outcome, (ChannelError, Option<DataLoss>)> {
        if !self.awaiting_reestablish {
            return Err((
                Self::err_close(
                    "bolt2-reestablish-unexpected",
                    "channel_reestablish outside a reconnection",
                ),
                None,
            ));
        }
        let holder = self.holder_number.value();
        // What they expect of our revocations. BOLT 2: "if
        // `next_revocation_number` is greater than expected above, AND
        // `your_last_per_commitment_secret` is correct for that
        // `next_revocation_number` minus 1: MUST NOT broadcast its
        // commitment transaction" (we lost data).
        let nr = msg.next_revocation_number;
        if nr > 0 {
            let claimed = CommitmentNumber::new(nr - 1);
            let ours = claimed.and_then(|n| self.signer.per_commitment_point(n).ok());
            let theirs = per_commitment_point(&msg.your_last_per_commitment_secret).ok();
            if nr > holder {
                if ours.is_some() && ours == theirs {
                    return Err((
                        Self::err_close(
                            "bolt2-reestablish-we-lost-data",
                            format!("peer expects revocation {nr}, we are at commitment {holder}"),
                        ),
                        Some(DataLoss::Ours),
                    ));
                }
                return Err((
                    Self::err_close(
                        "bolt2-reestablish-secret",
                        "next_revocation_number ahead of us with a wrong secret",
                    ),
                    None,
                ));
            }
            // "if it supports `option_static_remotekey`: if
            // `your_last_per_commitment_secret` does not match the expected
            // values: SHOULD send an `error` and fail the channel."
            if ours.is_none() || ours != theirs {
                return Err((
                    Self::err_close(
                        "bolt2-reestablish-secret",
                        "your_last_per_commitment_secret is not ours",
                    ),
                    Some(DataLoss::Theirs),
                ));
            }
        }
        if nr + 1 < holder {
            return Err((
                Self::err_close(
                    "bolt2-reestablish-peer-behind",
                    format!(
                        "peer expects revocation {nr}, we revoked up to {}",
                        holder - 1
                    ),
                ),
                Some(DataLoss::Theirs),
            ));
        }
        let resend_raa = nr + 1 == holder;
        // What they expect of our commitments.
        let nc = msg.next_commitment_number;
        let cp = self.cp_number.value();
        let resend_cs = if nc == cp + 1 {
            false
        } else if nc == cp && self.cp_awaiting_revoke.is_some() {
            true
        } else if nc > cp + 1 {
            // Unproven: the revocation check above showed our state is
            // current, so our commitment is safe to broadcast. Only a
            // correct `your_last_per_commitment_secret` proves we lost
            // data.
            return Err((
                Self::err_close(
                    "bolt2-reestablish-commitment-ahead",
                    format!("peer expects commitment {nc}, we signed up to {cp}"),
                ),
                Some(DataLoss::Theirs),
            ));
        } else {
            return Err((
                Self::err_close(
                    "bolt2-reestablish-peer-behind",
                    format!("peer expects commitment {nc}, we signed {cp}"),
                ),
                Some(DataLoss::Theirs),
            ));
        };
        self.awaiting_reestablish = false;
        let mut out = Outcome::default();
        // "if `next_commitment_number` is 1 in both the
        // `channel_reestablish` it sent and received: MUST retransmit
        // `channel_ready`".
        if nc == 1 && holder == 0 {
            out.msgs.push(self.channel_ready.clone().into());
        }
        let mut ordered: Vec<(u64, Vec<Message>)> = Vec::new();
        if resend_raa {
            if let Some((seq, raa)) = &self.last_raa {
                ordered.push((*seq, vec![raa.clone().into()]));
            }
        }
        if resend_cs {
            if let Some((seq, cs)) = &self.last_cs {
                let mut batch: Vec<Message> = self
                    .sent_updates
                    .iter()
                    .filter(|u| u.covered_by == Some(self.cp_number))
                    .map(|u| u.msg.clone())
                    .collect();
                batch.push(cs.clone().into());
                ordered.push((*seq, batch));
            }
        }
        ordered.sort_by_key(|(seq, _)| *seq);
        for (_, batch) in ordered {
            out.msgs.extend(batch);
        }
        // Then our updates not yet in any commitment, which the peer
        // dropped at the disconnection.
        out.msgs.extend(
            self.sent_updates
                .iter()
                .filter(|u| u.covered_by.is_none())
                .map(|u| u.msg.clone()),
        );
        Ok(out)
    }
}
