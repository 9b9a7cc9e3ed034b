//! Adding and removing HTLCs and updating the fee, both ways, with the
//! BOLT 2 rules of `update_add_htlc`, `update_fulfill_htlc`,
//! `update_fail_htlc`, `update_fail_malformed_htlc` and `update_fee`.

use super::htlc::{
    FeeStage, InRemoveStage, InState, InboundHtlc, InboundResolution, OutRemoveStage, OutState,
    OutboundHtlc, OutboundResolution, PendingFee,
};
use super::{Channel, HtlcEvent, Outcome};
use crate::chain::monitor::ChannelMonitorUpdateStep;
use crate::channel::establish::ChannelError;
use crate::channel::{FeeRatePerKw, MilliSatoshi};
use crate::codec::{TlvStream, WithU16Len};
use crate::config::MaxDustHtlcExposure;
use crate::msgs::{
    OnionPacket, UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc, UpdateFee,
    UpdateFulfillHtlc,
};
use crate::types::{PaymentHash, PaymentPreimage, Point};

/// BOLT 2: `cltv_expiry` "MUST be less than 500000000" (a block height).
const MAX_CLTV_EXPIRY: u32 = 500_000_000;
/// The BADONION bit of BOLT 4 failure codes.
const BADONION: u16 = 0x8000;
/// BOLT 4 `temporary_channel_failure` (UPDATE|7).
pub const TEMPORARY_CHANNEL_FAILURE: u16 = 0x1000 | 7;
/// The lowest fee rate BOLT 2 lets anyone propose.
pub const MIN_FEERATE: u32 = 253;

/// What an HTLC we want to offer looks like.
#[derive(Clone, Debug)]
pub struct HtlcToSend {
    /// The amount.
    pub amount: MilliSatoshi,
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// The absolute expiry height.
    pub cltv_expiry: u32,
    /// The onion for the peer.
    pub onion: OnionPacket,
    /// The blinding point, inside a blinded route.
    pub blinding_point: Option<Point>,
}

/// How much we could send and receive right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvailableBalances {
    /// The largest HTLC we could offer now.
    pub next_outbound_htlc_limit_msat: u64,
    /// The smallest HTLC the peer accepts.
    pub next_outbound_htlc_minimum_msat: u64,
    /// What we could send in total (our balance less reserve and fees).
    pub outbound_capacity_msat: u64,
    /// What the peer could send us in total.
    pub inbound_capacity_msat: u64,
}

impl Channel {
    /// The dust exposure limit in msat for a maximum fee estimate.
    pub(crate) fn max_dust_exposure_msat(&self, max_feerate: u32) -> u64 {
        match self.config.max_dust_htlc_exposure {
            MaxDustHtlcExposure::FixedLimitMsat(v) => v,
            MaxDustHtlcExposure::FeeRateMultiplier(m) => m.saturating_mul(max_feerate as u64),
        }
    }

    /// How much we can send now: our balance on the peer's next
    /// commitment, less the reserve the peer requires, less (as funder)
    /// the fee of that commitment at twice the fee rate with one more HTLC
    /// (BOLT 2 fee spike buffer: "SHOULD keep enough to pay a fee rate
    /// twice the current one"), capped by the in-flight limit.
    pub fn available_balances(&self) -> AvailableBalances {
        let view = self.view(false);
        let reserve = self.counterparty_limits.channel_reserve_satoshis * 1000;
        let mut ours = view.to_holder.saturating_sub(reserve);
        if self.is_outbound() {
            let untrimmed = self.untrimmed(&view, false, view.feerate) + 1;
            let buffer = FeeRatePerKw(view.feerate.0.saturating_mul(2));
            ours = ours.saturating_sub(self.funder_cost_msat(buffer, untrimmed));
        }
        let in_flight: u64 = self.outbound.iter().map(|h| h.amount.0).sum();
        let flight_room = self
            .counterparty_limits
            .max_htlc_value_in_flight_msat
            .saturating_sub(in_flight);
        let local = self.view(true);
        let their_reserve = self.holder_limits.channel_reserve_satoshis * 1000;
        let mut theirs = local.to_counterparty.saturating_sub(their_reserve);
        if !self.is_outbound() {
            let untrimmed = self.untrimmed(&local, true, local.feerate) + 1;
            theirs = theirs.saturating_sub(self.funder_cost_msat(local.feerate, untrimmed));
        }
        let slots = (self.counterparty_limits.max_accepted_htlcs as usize)
            > view
                .htlcs
                .iter()
                .filter(|h| h.direction == crate::channel::tx::HtlcDirection::HolderOffered)
                .count();
        let limit = if slots && self.is_live() && self.shutdown_sent.is_none() {
            ours.min(flight_room)
        } else {
            0
        };
        AvailableBalances {
            next_outbound_htlc_limit_msat: limit,
            next_outbound_htlc_minimum_msat: self.counterparty_limits.htlc_minimum_msat.max(1),
            outbound_capacity_msat: ours,
            inbound_capacity_msat: theirs,
        }
    }

    /// Offers an HTLC: checks every BOLT 2 sender rule and our dust policy,
    /// and returns its id and the `update_add_htlc` to send (signed later
    /// by [`maybe_sign_commitment`](Self::maybe_sign_commitment)).
    /// `max_feerate` is the `MaximumFeeEstimate` for the dust limit.
    pub fn send_htlc(
        &mut self,
        htlc: HtlcToSend,
        max_feerate: u32,
    ) -> Result<(u64, Outcome), ChannelError> {
        if !self.is_live() {
            return Err(Self::err_ignore(
                "api-channel-not-live",
                "the peer is disconnected",
            ));
        }
        // BOLT 2: "MUST NOT send an `update_add_htlc` after a `shutdown`."
        if self.shutdown_sent.is_some() || self.shutdown_received.is_some() {
            return Err(Self::err_ignore(
                "bolt2-add-after-shutdown",
                "the channel is closing",
            ));
        }
        let amount = htlc.amount.0;
        // "MUST NOT offer `amount_msat` below the receiving node's
        // `htlc_minimum_msat`" (and never 0).
        if amount == 0 || amount < self.counterparty_limits.htlc_minimum_msat {
            return Err(Self::err_ignore(
                "bolt2-add-htlc-minimum",
                format!(
                    "{amount} msat is below the peer's minimum {}",
                    self.counterparty_limits.htlc_minimum_msat
                ),
            ));
        }
        if htlc.cltv_expiry >= MAX_CLTV_EXPIRY {
            return Err(Self::err_ignore(
                "bolt2-add-htlc-cltv",
                "cltv_expiry is not a block height",
            ));
        }
        let mut view = self.view(false);
        let offered = self.outbound.len();
        // "MUST NOT add an HTLC if it would result in it offering more than
        // the remote's `max_accepted_htlcs` HTLCs, in the remote commitment."
        if offered + 1 > self.counterparty_limits.max_accepted_htlcs as usize {
            return Err(Self::err_ignore(
                "bolt2-add-htlc-max-accepted",
                "the peer accepts no more HTLCs",
            ));
        }
        // "MUST NOT offer ... if the total value of offered HTLCs would
        // exceed the remote's `max_htlc_value_in_flight_msat`."
        let in_flight: u64 = self.outbound.iter().map(|h| h.amount.0).sum::<u64>() + amount;
        if in_flight > self.counterparty_limits.max_htlc_value_in_flight_msat {
            return Err(Self::err_ignore(
                "bolt2-add-htlc-in-flight",
                "the peer's max_htlc_value_in_flight_msat would be exceeded",
            ));
        }
        view.htlcs.push(crate::channel::tx::Htlc {
            direction: crate::channel::tx::HtlcDirection::HolderOffered,
            amount: htlc.amount,
            cltv_expiry: htlc.cltv_expiry,
            payment_hash: htlc.payment_hash,
        });
        view.to_holder = view.to_holder.saturating_sub(amount);
        let reserve = self.counterparty_limits.channel_reserve_satoshis * 1000;
        // "MUST NOT offer `amount_msat` it cannot pay for in the remote
        // commitment transaction at the current `feerate_per_kw` while
        // maintaining its channel reserve"; as the funder we also keep the
        // fee spike buffer (twice the fee rate, one more HTLC).
        let spent = view.to_holder.checked_add(amount).unwrap_or(0) < amount + reserve
            || (self.is_outbound() && {
                let untrimmed = self.untrimmed(&view, false, view.feerate) + 1;
                let buffer = FeeRatePerKw(view.feerate.0.saturating_mul(2));
                view.to_holder < reserve + self.funder_cost_msat(buffer, untrimmed)
            });
        if spent {
            return Err(Self::err_ignore(
                "bolt2-add-htlc-reserve",
                "the HTLC would break our channel reserve or fee buffer",
            ));
        }
        // "if it is not responsible for paying the Bitcoin fee: SHOULD NOT
        // offer `amount_msat` if, once the remote node adds that HTLC to its
        // commitment transaction, it cannot pay the fee".
        if !self.is_outbound() {
            let untrimmed = self.untrimmed(&view, false, view.feerate);
            if view.to_counterparty < self.funder_cost_msat(view.feerate, untrimmed) {
                return Err(Self::err_ignore(
                    "bolt2-add-htlc-funder-fee",
                    "the funder could not pay the commitment fee with this HTLC",
                ));
            }
        }
        // Our dust policy: dust HTLCs are lost on a force close.
        let limit = self.max_dust_exposure_msat(max_feerate);
        for local in [true, false] {
            let mut v = self.view(local);
            v.htlcs.push(view.htlcs[view.htlcs.len() - 1]);
            if self.dust_exposure_msat(&v, local, v.feerate) > limit {
                return Err(Self::err_ignore(
                    "config-dust-exposure",
                    "the HTLC would exceed our dust exposure limit",
                ));
            }
        }
        let id = self.next_outbound_id;
        self.next_outbound_id += 1;
        self.outbound.push(OutboundHtlc {
            id,
            amount: htlc.amount,
            cltv_expiry: htlc.cltv_expiry,
            payment_hash: htlc.payment_hash,
            state: OutState::SentAdd,
        });
        let msg = UpdateAddHtlc {
            channel_id: self.channel_id,
            id,
            amount_msat: amount,
            payment_hash: htlc.payment_hash,
            cltv_expiry: htlc.cltv_expiry,
            onion_routing_packet: htlc.onion,
            blinding_point: htlc.blinding_point,
            unknown_tlvs: TlvStream::new(),
        };
        self.log_sent(msg.clone().into());
        Ok((id, Outcome::msg(msg)))
    }

    /// The peer's `update_add_htlc`, with every BOLT 2 receiver rule.
    pub fn update_add_htlc(
        &mut self,
        msg: &UpdateAddHtlc,
        max_feerate: u32,
    ) -> Result<(), ChannelError> {
        self.check_live("update_add_htlc")?;
        // "if it has sent or received `shutdown`": an add after the peer's
        // shutdown is a protocol violation.
        if self.shutdown_received.is_some() {
            return Err(Self::err_close(
                "bolt2-add-after-shutdown",
                "update_add_htlc after the peer's shutdown",
            ));
        }
        // "if it receives an `amount_msat` equal to 0, or less than its own
        // `htlc_minimum_msat`: MUST fail the channel."
        if msg.amount_msat == 0 || msg.amount_msat < self.holder_limits.htlc_minimum_msat {
            return Err(Self::err_close(
                "bolt2-add-htlc-minimum",
                format!("amount_msat {} below our minimum", msg.amount_msat),
            ));
        }
        // "if other `id` violations occur": ids count up by one.
        if msg.id != self.next_inbound_id {
            return Err(Self::err_close(
                "bolt2-add-htlc-id",
                format!("id {} where {} was next", msg.id, self.next_inbound_id),
            ));
        }
        // "if `cltv_expiry` is greater or equal to 500000000".
        if msg.cltv_expiry >= MAX_CLTV_EXPIRY {
            return Err(Self::err_close(
                "bolt2-add-htlc-cltv",
                "cltv_expiry is not a block height",
            ));
        }
        // "if a sending node adds more than receiver `max_accepted_htlcs`
        // HTLCs to its local commitment transaction".
        if self.inbound.len() + 1 > self.holder_limits.max_accepted_htlcs as usize {
            return Err(Self::err_close(
                "bolt2-add-htlc-max-accepted",
                "the peer offered more HTLCs than our max_accepted_htlcs",
            ));
        }
        // "or adds more than receiver `max_htlc_value_in_flight_msat` worth
        // of offered HTLCs to its local commitment transaction".
        let in_flight: u64 = self.inbound.iter().map(|h| h.amount.0).sum::<u64>() + msg.amount_msat;
        if in_flight > self.holder_limits.max_htlc_value_in_flight_msat {
            return Err(Self::err_close(
                "bolt2-add-htlc-in-flight",
                "the peer exceeded our max_htlc_value_in_flight_msat",
            ));
        }
        let htlc = InboundHtlc {
            id: msg.id,
            amount: MilliSatoshi(msg.amount_msat),
            cltv_expiry: msg.cltv_expiry,
            payment_hash: msg.payment_hash,
            onion: Some(Box::new(msg.onion_routing_packet.clone())),
            blinding_point: msg.blinding_point,
            fail_on_commit: None,
            state: InState::RcvdAdd,
        };
        self.inbound.push(htlc);
        // "receiving an `amount_msat` that the sending node cannot afford at
        // the current `feerate_per_kw` (while maintaining its channel reserve
        // and any `to_local_anchor` and `to_remote_anchor` costs)".
        let view = self.view(true);
        let reserve = self.holder_limits.channel_reserve_satoshis * 1000;
        let mut needed = reserve;
        if !self.is_outbound() {
            let untrimmed = self.untrimmed(&view, true, view.feerate);
            needed += self.funder_cost_msat(view.feerate, untrimmed);
        }
        if view.to_counterparty < needed {
            self.inbound.pop();
            return Err(Self::err_close(
                "bolt2-add-htlc-reserve",
                "the peer cannot afford this HTLC while keeping its reserve",
            ));
        }
        // Our dust policy: accept the add but fail it back once committed.
        let limit = self.max_dust_exposure_msat(max_feerate);
        let over = [true, false].into_iter().any(|local| {
            let mut v = self.view(local);
            if !local {
                v.htlcs.push(crate::channel::tx::Htlc {
                    direction: crate::channel::tx::HtlcDirection::CounterpartyOffered,
                    amount: MilliSatoshi(msg.amount_msat),
                    cltv_expiry: msg.cltv_expiry,
                    payment_hash: msg.payment_hash,
                });
            }
            self.dust_exposure_msat(&v, local, v.feerate) > limit
        });
        if over {
            if let Some(h) = self.inbound.last_mut() {
                h.fail_on_commit = Some(TEMPORARY_CHANNEL_FAILURE);
            }
        }
        self.next_inbound_id += 1;
        Ok(())
    }

    fn outbound_committed(
        &mut self,
        id: u64,
        tag: &'static str,
    ) -> Result<&mut OutboundHtlc, ChannelError> {
        // BOLT 2: "if the `id` does not correspond to an HTLC in its current
        // commitment transaction: MUST fail the channel." (A removal may
        // only name an HTLC irrevocably committed on both sides.)
        self.outbound
            .iter_mut()
            .find(|h| h.id == id && h.state == OutState::Committed)
            .ok_or_else(|| {
                Self::err_close(tag, format!("no committed HTLC with id {id} to remove"))
            })
    }

    /// The peer's `update_fulfill_htlc`: the payment succeeded.
    pub fn update_fulfill_htlc(
        &mut self,
        msg: &UpdateFulfillHtlc,
    ) -> Result<Outcome, ChannelError> {
        self.check_live("update_fulfill_htlc")?;
        let h = self.outbound_committed(msg.id, "bolt2-fulfill-unknown-id")?;
        // "if the `payment_preimage` value in `update_fulfill_htlc` doesn't
        // SHA256 hash to the corresponding HTLC `payment_hash`: MUST fail
        // the channel."
        if msg.payment_preimage.payment_hash() != h.payment_hash {
            return Err(Self::err_close(
                "bolt2-fulfill-preimage",
                "the preimage does not hash to the HTLC's payment hash",
            ));
        }
        h.state = OutState::Removed(
            OutboundResolution::Fulfilled(msg.payment_preimage),
            OutRemoveStage::Received,
        );
        let amount = h.amount;
        Ok(Outcome {
            events: vec![HtlcEvent::OutboundFulfilled {
                htlc_id: msg.id,
                preimage: msg.payment_preimage,
                amount,
            }],
            ..Default::default()
        })
    }

    /// The peer's `update_fail_htlc`.
    pub fn update_fail_htlc(&mut self, msg: &UpdateFailHtlc) -> Result<(), ChannelError> {
        self.check_live("update_fail_htlc")?;
        let h = self.outbound_committed(msg.id, "bolt2-fail-unknown-id")?;
        h.state = OutState::Removed(
            OutboundResolution::Failed {
                reason: msg.reason.0.clone(),
                attribution_data: msg.attribution_data.map(Box::new),
            },
            OutRemoveStage::Received,
        );
        Ok(())
    }

    /// The peer's `update_fail_malformed_htlc`.
    pub fn update_fail_malformed_htlc(
        &mut self,
        msg: &UpdateFailMalformedHtlc,
    ) -> Result<(), ChannelError> {
        self.check_live("update_fail_malformed_htlc")?;
        // "if the `BADONION` bit in `failure_code` is not set for
        // `update_fail_malformed_htlc`: MUST fail the channel."
        if msg.failure_code & BADONION == 0 {
            return Err(Self::err_close(
                "bolt2-fail-malformed-badonion",
                "update_fail_malformed_htlc without the BADONION bit",
            ));
        }
        let h = self.outbound_committed(msg.id, "bolt2-fail-unknown-id")?;
        h.state = OutState::Removed(
            OutboundResolution::Malformed {
                failure_code: msg.failure_code,
                sha256_of_onion: msg.sha256_of_onion,
            },
            OutRemoveStage::Received,
        );
        Ok(())
    }

    fn inbound_committed(&mut self, id: u64) -> Result<&mut InboundHtlc, ChannelError> {
        // BOLT 2: "MUST NOT send an `update_fulfill_htlc`,
        // `update_fail_htlc`, or `update_fail_malformed_htlc` until the
        // corresponding HTLC is irrevocably committed in both sides'
        // commitment transactions."
        self.inbound
            .iter_mut()
            .find(|h| h.id == id && h.state == InState::Committed)
            .ok_or_else(|| {
                Self::err_ignore(
                    "bolt2-remove-not-committed",
                    format!("HTLC {id} is not irrevocably committed"),
                )
            })
    }

    /// Fulfills one of the peer's HTLCs. The monitor learns the preimage in
    /// the same update, before `update_fulfill_htlc` leaves.
    pub fn fulfill_htlc(
        &mut self,
        id: u64,
        preimage: PaymentPreimage,
    ) -> Result<Outcome, ChannelError> {
        let h = self.inbound_committed(id)?;
        if preimage.payment_hash() != h.payment_hash {
            return Err(Self::err_ignore(
                "api-fulfill-preimage",
                "the preimage does not match the HTLC",
            ));
        }
        h.state = InState::Removed(InboundResolution::Fulfill(preimage), InRemoveStage::Queued);
        let update =
            self.monitor_update(vec![ChannelMonitorUpdateStep::PaymentPreimage { preimage }]);
        let msg = UpdateFulfillHtlc {
            channel_id: self.channel_id,
            id,
            payment_preimage: preimage,
            attribution_data: None,
            unknown_tlvs: TlvStream::new(),
        };
        self.log_sent(msg.clone().into());
        let mut out = Outcome::msg(msg);
        out.monitor_update = Some(update);
        if !self.is_live() {
            out.msgs.clear();
        }
        Ok(out)
    }

    /// Fails one of the peer's HTLCs.
    pub fn fail_htlc(
        &mut self,
        id: u64,
        resolution: InboundResolution,
    ) -> Result<Outcome, ChannelError> {
        let channel_id = self.channel_id;
        let msg: crate::msgs::Message = match &resolution {
            InboundResolution::Fail {
                reason,
                attribution_data,
            } => UpdateFailHtlc {
                channel_id,
                id,
                reason: WithU16Len(reason.clone()),
                attribution_data: attribution_data.as_deref().copied(),
                unknown_tlvs: TlvStream::new(),
            }
            .into(),
            InboundResolution::Malformed {
                failure_code,
                sha256_of_onion,
            } => UpdateFailMalformedHtlc {
                channel_id,
                id,
                sha256_of_onion: *sha256_of_onion,
                failure_code: *failure_code | BADONION,
                unknown_tlvs: TlvStream::new(),
            }
            .into(),
            InboundResolution::Fulfill(_) => {
                return Err(Self::err_ignore(
                    "api-fail-with-preimage",
                    "use fulfill_htlc to fulfill",
                ))
            }
        };
        let h = self.inbound_committed(id)?;
        h.state = InState::Removed(resolution, InRemoveStage::Queued);
        self.log_sent(msg.clone());
        let mut out = Outcome::default();
        if self.is_live() {
            out.msgs.push(msg);
        }
        Ok(out)
    }

    /// Proposes a new commitment fee rate (we must be the funder).
    pub fn send_update_fee(&mut self, feerate: u32) -> Result<Outcome, ChannelError> {
        // BOLT 2: "The node *responsible* for paying the Bitcoin fee: ...
        // the other node MUST NOT send `update_fee`."
        if !self.is_outbound() {
            return Err(Self::err_ignore(
                "bolt2-update-fee-not-funder",
                "only the funder sends update_fee",
            ));
        }
        if !self.is_live() {
            return Err(Self::err_ignore(
                "api-channel-not-live",
                "the peer is disconnected",
            ));
        }
        if feerate < MIN_FEERATE {
            return Err(Self::err_ignore(
                "bolt2-update-fee-too-low",
                "fee rate below 253 sat/kW",
            ));
        }
        if self.view_feerate(false).0 == feerate {
            return Ok(Outcome::default());
        }
        // "MUST NOT send `update_fee` ... if it cannot afford it": keep the
        // reserve on the peer's commitment at the new rate.
        let view = self.view(false);
        let cost = self.funder_cost_msat(
            FeeRatePerKw(feerate),
            self.untrimmed(&view, false, FeeRatePerKw(feerate)),
        );
        let reserve = self.counterparty_limits.channel_reserve_satoshis * 1000;
        if view.to_holder < cost + reserve {
            return Err(Self::err_ignore(
                "bolt2-update-fee-afford",
                "we cannot afford that fee rate",
            ));
        }
        self.pending_fees.retain(|f| f.stage != FeeStage::Sent);
        self.pending_fees.push(PendingFee {
            feerate,
            stage: FeeStage::Sent,
        });
        let msg = UpdateFee {
            channel_id: self.channel_id,
            feerate_per_kw: feerate,
            unknown_tlvs: TlvStream::new(),
        };
        self.log_sent(msg.clone().into());
        Ok(Outcome::msg(msg))
    }

    /// The peer's `update_fee`. `min_feerate`/`max_feerate` bound what we
    /// find reasonable (from our fee estimator).
    pub fn update_fee(
        &mut self,
        msg: &UpdateFee,
        min_feerate: u32,
        max_feerate: u32,
    ) -> Result<(), ChannelError> {
        self.check_live("update_fee")?;
        // "if the sender is not responsible for paying the Bitcoin fee: ...
        // MUST fail the channel."
        if self.is_outbound() {
            return Err(Self::err_close(
                "bolt2-update-fee-not-funder",
                "update_fee from the non-funder",
            ));
        }
        // "if the `update_fee` is too low for timely processing, OR is
        // unreasonably large: MAY ... fail the channel." Anchor channels
        // may run below our estimate (they bump by CPFP).
        let floor = if self.format().has_anchors() {
            MIN_FEERATE
        } else {
            min_feerate.max(MIN_FEERATE)
        };
        if msg.feerate_per_kw < floor {
            return Err(Self::err_close(
                "bolt2-update-fee-too-low",
                format!("feerate {} below {floor}", msg.feerate_per_kw),
            ));
        }
        if msg.feerate_per_kw > max_feerate {
            return Err(Self::err_close(
                "bolt2-update-fee-too-high",
                format!("feerate {} above {max_feerate}", msg.feerate_per_kw),
            ));
        }
        // "if the sender cannot afford the new fee rate on the receiving
        // node's current commitment transaction".
        let view = self.view(true);
        let rate = FeeRatePerKw(msg.feerate_per_kw);
        let cost = self.funder_cost_msat(rate, self.untrimmed(&view, true, rate));
        if view.to_counterparty < cost {
            return Err(Self::err_close(
                "bolt2-update-fee-afford",
                "the funder cannot afford its new fee rate",
            ));
        }
        self.pending_fees.retain(|f| f.stage != FeeStage::Rcvd);
        self.pending_fees.push(PendingFee {
            feerate: msg.feerate_per_kw,
            stage: FeeStage::Rcvd,
        });
        Ok(())
    }

    pub(crate) fn check_live(&self, what: &str) -> Result<(), ChannelError> {
        if self.awaiting_reestablish || !self.peer_connected {
            return Err(Self::err_close(
                "bolt2-reestablish-first",
                format!("{what} before channel_reestablish"),
            ));
        }
        Ok(())
    }
}
