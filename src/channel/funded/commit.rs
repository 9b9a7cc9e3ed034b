//! The commitment dance: `commitment_signed` and `revoke_and_ack`, both
//! ways (BOLT 2 "Committing Updates So Far" and "Completing the Transition
//! to the Updated State").

use super::htlc::{FeeStage, InRemoveStage, InState, OutRemoveStage, OutState, OutboundResolution};
use super::{Channel, HtlcEvent, Outcome};
use crate::chain::monitor::{
    ChannelMonitorUpdateStep, CounterpartyCommitmentInfo, HolderCommitmentInfo,
};
use crate::channel::establish::ChannelError;
use crate::channel::keys::per_commitment_point;
use crate::channel::{FeeRatePerKw, MilliSatoshi};
use crate::codec::TlvStream;
use crate::msgs::{CommitmentSigned, RevokeAndAck};
use bitcoin::secp256k1::ecdsa;

impl Channel {
    /// Signs the peer's next commitment if anything changed and we are not
    /// waiting for its `revoke_and_ack` (we need the point that message
    /// carries). Returns `commitment_signed` and the monitor update that
    /// must be persisted before it leaves.
    pub fn maybe_sign_commitment(&mut self) -> Result<Outcome, ChannelError> {
        if !self.is_live() || self.cp_awaiting_revoke.is_some() || !self.has_changes_to_sign() {
            return Ok(Outcome::default());
        }
        let Some(point) = self.cp_next_point else {
            return Ok(Outcome::default());
        };
        let number = self.cp_number.next().ok_or_else(|| {
            Self::err_close("bolt3-commitment-number", "commitment numbers exhausted")
        })?;
        let view = self.view(false);
        let tx = self
            .params
            .build_counterparty_commitment(
                number,
                &point,
                MilliSatoshi(view.to_holder),
                MilliSatoshi(view.to_counterparty),
                view.feerate,
                &view.htlcs,
            )
            .map_err(|e| Self::err_close("bolt3-commitment-build", e.to_string()))?;
        let sigs = self
            .signer
            .sign_counterparty_commitment(&self.params, &tx)
            .map_err(|e| Self::err_close("signer", e.to_string()))?;
        // The transitions of "we sign": see htlc.rs.
        for h in &mut self.outbound {
            match h.state {
                OutState::SentAdd => h.state = OutState::AddCommitted,
                OutState::Removed(ref r, OutRemoveStage::Signed) => {
                    h.state = OutState::Removed(r.clone(), OutRemoveStage::Committed)
                }
                _ => {}
            }
        }
        for h in &mut self.inbound {
            match h.state {
                InState::AddSigned => h.state = InState::AddCommitted,
                InState::Removed(ref r, InRemoveStage::Queued) => {
                    h.state = InState::Removed(r.clone(), InRemoveStage::Committed)
                }
                _ => {}
            }
        }
        for f in &mut self.pending_fees {
            f.stage = match f.stage {
                FeeStage::Sent => FeeStage::SentCommitted,
                FeeStage::RcvdSigned => FeeStage::RcvdCommitted,
                s => s,
            };
        }
        for u in &mut self.sent_updates {
            if u.covered_by.is_none() {
                u.covered_by = Some(number);
            }
        }
        let info = CounterpartyCommitmentInfo::from_built(
            &tx,
            MilliSatoshi(view.to_holder),
            MilliSatoshi(view.to_counterparty),
            view.htlcs,
        );
        self.cp_awaiting_revoke = Some(self.cp_point);
        self.cp_point = point;
        self.cp_next_point = None;
        self.cp_number = number;
        let update = self.monitor_update(vec![
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(info),
        ]);
        let msg = CommitmentSigned {
            channel_id: self.channel_id,
            signature: sigs.commitment.into(),
            htlc_signatures: sigs.htlcs.into_iter().map(Into::into).collect(),
            funding_txid: None,
            unknown_tlvs: TlvStream::new(),
        };
        let seq = self.next_seq();
        self.last_cs = Some((seq, msg.clone()));
        Ok(Outcome {
            msgs: vec![msg.into()],
            monitor_update: Some(update),
            events: Vec::new(),
        })
    }

    /// The peer's `commitment_signed`: checks its signatures of our next
    /// commitment, revokes our previous one and answers `revoke_and_ack`
    /// (after the monitor update is persisted).
    pub fn commitment_signed(&mut self, msg: &CommitmentSigned) -> Result<Outcome, ChannelError> {
        self.check_live("commitment_signed")?;
        let number = self.holder_number.next().ok_or_else(|| {
            Self::err_close("bolt3-commitment-number", "commitment numbers exhausted")
        })?;
        let point = self
            .signer
            .per_commitment_point(number)
            .map_err(|e| Self::err_close("signer", e.to_string()))?;
        let view = self.view(true);
        let tx = self
            .params
            .build_holder_commitment(
                number,
                &point,
                MilliSatoshi(view.to_holder),
                MilliSatoshi(view.to_counterparty),
                view.feerate,
                &view.htlcs,
            )
            .map_err(|e| Self::err_close("bolt3-commitment-build", e.to_string()))?;
        // BOLT 2: "if `signature` is not valid for its local commitment
        // transaction OR non-compliant with LOW-S-standard rule: MUST send
        // an `error` and fail the channel." and "if `num_htlcs` is not
        // equal to the number of HTLC outputs in the local commitment
        // transaction: MUST send an `error` and fail the channel."
        let sig = msg.signature.to_signature().map_err(|_| {
            Self::err_close(
                "bolt2-commitment-signed-sig",
                "malformed commitment signature",
            )
        })?;
        if msg.htlc_signatures.len() != tx.htlcs().len() {
            return Err(Self::err_close(
                "bolt2-commitment-signed-htlc-count",
                format!(
                    "{} HTLC signatures for {} HTLC outputs",
                    msg.htlc_signatures.len(),
                    tx.htlcs().len()
                ),
            ));
        }
        let htlc_sigs: Vec<ecdsa::Signature> = msg
            .htlc_signatures
            .iter()
            .map(|s| s.to_signature())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                Self::err_close(
                    "bolt2-commitment-signed-htlc-sig",
                    "malformed HTLC signature",
                )
            })?;
        tx.verify_counterparty_signatures(&self.params, &sig, &htlc_sigs)
            .map_err(|e| {
                let tag = match e {
                    crate::channel::tx::SignatureError::Commitment => "bolt2-commitment-signed-sig",
                    _ => "bolt2-commitment-signed-htlc-sig",
                };
                Self::err_close(tag, e.to_string())
            })?;
        self.signer
            .validate_holder_commitment(&self.params, &tx)
            .map_err(|e| Self::err_close("signer", e.to_string()))?;
        let old = self.holder_number;
        let secret = self
            .signer
            .release_commitment_secret(old)
            .map_err(|e| Self::err_close("signer", e.to_string()))?;
        let after_next = number.next().ok_or_else(|| {
            Self::err_close("bolt3-commitment-number", "commitment numbers exhausted")
        })?;
        let next_point = self
            .signer
            .per_commitment_point(after_next)
            .map_err(|e| Self::err_close("signer", e.to_string()))?;
        // The transitions of "they signed": see htlc.rs.
        let mut events = Vec::new();
        for h in &mut self.outbound {
            match h.state {
                OutState::AddRevoked => h.state = OutState::Committed,
                OutState::Removed(ref r, OutRemoveStage::Received) => {
                    h.state = OutState::Removed(r.clone(), OutRemoveStage::Signed)
                }
                _ => {}
            }
        }
        let (mut to_h, mut to_c) = (self.to_holder.0, self.to_counterparty.0);
        self.inbound.retain_mut(|h| match h.state {
            InState::RcvdAdd => {
                h.state = InState::AddSigned;
                true
            }
            InState::Removed(ref r, InRemoveStage::Revoked) => {
                if r.is_fulfill() {
                    to_c -= h.amount.0;
                    to_h += h.amount.0;
                    events.push(HtlcEvent::InboundSettled {
                        htlc_id: h.id,
                        amount: h.amount,
                    });
                }
                false
            }
            _ => true,
        });
        self.to_holder = MilliSatoshi(to_h);
        self.to_counterparty = MilliSatoshi(to_c);
        let mut done_fee = None;
        for (i, f) in self.pending_fees.iter_mut().enumerate() {
            match f.stage {
                FeeStage::SentRevoked => done_fee = Some(i),
                FeeStage::Rcvd => f.stage = FeeStage::RcvdSigned,
                _ => {}
            }
        }
        if let Some(i) = done_fee {
            self.feerate = FeeRatePerKw(self.pending_fees[i].feerate);
            self.pending_fees.drain(..=i);
        }
        let info = HolderCommitmentInfo::from_checked(
            tx.clone(),
            MilliSatoshi(view.to_holder),
            MilliSatoshi(view.to_counterparty),
            view.htlcs,
            sig,
            htlc_sigs.clone(),
        );
        self.holder_number = number;
        self.holder_tx = tx;
        self.holder_sig = sig;
        self.holder_htlc_sigs = htlc_sigs;
        let update =
            self.monitor_update(vec![ChannelMonitorUpdateStep::LatestHolderCommitment(info)]);
        let raa = RevokeAndAck {
            channel_id: self.channel_id,
            per_commitment_secret: secret,
            next_per_commitment_point: next_point.into(),
            unknown_tlvs: TlvStream::new(),
        };
        let seq = self.next_seq();
        self.last_raa = Some((seq, raa.clone()));
        Ok(Outcome {
            msgs: vec![raa.into()],
            monitor_update: Some(update),
            events,
        })
    }

    /// The peer's `revoke_and_ack` for our latest `commitment_signed`.
    pub fn revoke_and_ack(&mut self, msg: &RevokeAndAck) -> Result<Outcome, ChannelError> {
        self.check_live("revoke_and_ack")?;
        let Some(expected) = self.cp_awaiting_revoke else {
            return Err(Self::err_close(
                "bolt2-raa-unexpected",
                "revoke_and_ack without a pending commitment_signed",
            ));
        };
        // BOLT 2: "if `per_commitment_secret` is not a valid secret key or
        // does not generate the previous `per_commitment_point`: MUST send an
        // `error` and fail the channel."
        if per_commitment_point(&msg.per_commitment_secret).ok() != Some(expected) {
            return Err(Self::err_close(
                "bolt2-raa-secret",
                "per_commitment_secret does not open the revoked commitment's point",
            ));
        }
        let next = msg.next_per_commitment_point.to_public_key().map_err(|_| {
            Self::err_close(
                "bolt2-raa-invalid-point",
                "next_per_commitment_point is invalid",
            )
        })?;
        let revoked = self.cp_number.prev().ok_or_else(|| {
            Self::err_close(
                "bolt2-raa-unexpected",
                "nothing to revoke before commitment 0",
            )
        })?;
        self.cp_awaiting_revoke = None;
        self.cp_next_point = Some(next);
        self.cp_last_secret = Some(msg.per_commitment_secret);
        let acked = self.cp_number;
        self.sent_updates
            .retain(|u| u.covered_by.map_or(true, |n| n > acked));
        // The transitions of "they revoked": see htlc.rs.
        let mut events = Vec::new();
        let (mut to_h, mut to_c) = (self.to_holder.0, self.to_counterparty.0);
        self.outbound.retain_mut(|h| match h.state {
            OutState::AddCommitted => {
                h.state = OutState::AddRevoked;
                true
            }
            OutState::Removed(ref r, OutRemoveStage::Committed) => {
                match r {
                    OutboundResolution::Fulfilled(_) => {
                        to_h -= h.amount.0;
                        to_c += h.amount.0;
                    }
                    _ => events.push(HtlcEvent::OutboundFailed {
                        htlc_id: h.id,
                        resolution: r.clone(),
                        payment_hash: h.payment_hash,
                    }),
                }
                false
            }
            _ => true,
        });
        self.to_holder = MilliSatoshi(to_h);
        self.to_counterparty = MilliSatoshi(to_c);
        for h in &mut self.inbound {
            match h.state {
                InState::AddCommitted => {
                    h.state = InState::Committed;
                    if let Some(onion) = h.onion.take() {
                        events.push(HtlcEvent::InboundCommitted {
                            htlc_id: h.id,
                            amount: h.amount,
                            payment_hash: h.payment_hash,
                            cltv_expiry: h.cltv_expiry,
                            onion,
                            blinding_point: h.blinding_point,
                            fail_with: h.fail_on_commit,
                        });
                    }
                }
                InState::Removed(ref r, InRemoveStage::Committed) => {
                    h.state = InState::Removed(r.clone(), InRemoveStage::Revoked)
                }
                _ => {}
            }
        }
        let mut done_fee = None;
        for (i, f) in self.pending_fees.iter_mut().enumerate() {
            match f.stage {
                FeeStage::SentCommitted => f.stage = FeeStage::SentRevoked,
                FeeStage::RcvdCommitted => done_fee = Some(i),
                _ => {}
            }
        }
        if let Some(i) = done_fee {
            self.feerate = FeeRatePerKw(self.pending_fees[i].feerate);
            self.pending_fees.drain(..=i);
        }
        let update = self.monitor_update(vec![ChannelMonitorUpdateStep::CommitmentSecret {
            commitment_number: revoked,
            secret: msg.per_commitment_secret,
        }]);
        Ok(Outcome {
            msgs: Vec::new(),
            monitor_update: Some(update),
            events,
        })
    }
}
