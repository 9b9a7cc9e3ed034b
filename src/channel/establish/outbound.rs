//! The funder's side: `open_channel` out, `accept_channel` in,
//! `funding_created` out, `funding_signed` in.

use super::checks::{self, Msg};
use super::{
    format_of, holder_limits, initial_funder_cost, ChannelError, ChannelLimits, Negotiated,
    PendingV1Channel,
};
use crate::chain::monitor::ChannelMonitor;
use crate::chain::{bounded_feerate, BestBlock, ConfirmationTarget, FeeEstimator};
use crate::channel::keys::ChannelPublicKeys;
use crate::channel::tx::{ChannelTransactionParameters, CounterpartyCommitmentTransaction};
use crate::channel::FeeRatePerKw;
use crate::codec::TlvStream;
use crate::config::{ChannelHandshakeLimits, UserConfig};
use crate::msgs::features::{ChannelTypeFeatures, InitFeatures};
use crate::msgs::{AcceptChannel, FundingCreated, FundingSigned, OpenChannel};
use crate::sign::{ChannelSigner, EntropySource, SignerProvider};
use crate::types::ChannelId;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction};
use core::fmt;
use std::sync::Arc;

enum State {
    AwaitingAccept,
    Accepted(Box<Negotiated>),
    /// Our first-commitment data, with the peer's commitment we signed.
    FundingCreated(
        Box<(
            Negotiated,
            ChannelTransactionParameters,
            CounterpartyCommitmentTransaction,
        )>,
    ),
    /// Transient while a step moves the state.
    Poisoned,
}

/// A channel we are opening (we fund it), before `funding_signed`.
pub struct OutboundV1Channel {
    chain_hash: ChainHash,
    temporary_channel_id: ChannelId,
    user_channel_id: u128,
    signer: Arc<dyn ChannelSigner>,
    destination_script: ScriptBuf,
    channel_value_satoshis: u64,
    push_msat: u64,
    feerate: FeeRatePerKw,
    channel_type: ChannelTypeFeatures,
    announced: bool,
    holder_limits: ChannelLimits,
    limits: ChannelHandshakeLimits,
    their_features: InitFeatures,
    state: State,
}

impl fmt::Debug for OutboundV1Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundV1Channel")
            .field("temporary_channel_id", &self.temporary_channel_id)
            .field("channel_value_satoshis", &self.channel_value_satoshis)
            .finish_non_exhaustive()
    }
}

impl OutboundV1Channel {
    /// A new channel of `channel_value_satoshis` to a peer whose `init`
    /// features are `their_features`, pushing `push_msat` to it.
    ///
    /// Proposes `option_anchors` when our config and the peer allow it,
    /// else `option_static_remotekey`. Refuses (`Ignore`) a push above the
    /// value, or a value that cannot pay the first commitment's fee.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        fee_estimator: &dyn FeeEstimator,
        entropy: &dyn EntropySource,
        signer_provider: &dyn SignerProvider,
        their_features: &InitFeatures,
        channel_value_satoshis: u64,
        push_msat: u64,
        user_channel_id: u128,
        config: &UserConfig,
        chain_hash: ChainHash,
    ) -> Result<Self, ChannelError> {
        let anchors = config
            .channel_handshake_config
            .negotiate_anchors_zero_fee_htlc_tx
            && their_features.supports_anchors_zero_fee_htlc_tx();
        let mut channel_type = if anchors {
            ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies()
        } else if their_features.supports_static_remote_key() {
            ChannelTypeFeatures::only_static_remote_key()
        } else {
            return Err(ChannelError::ignore(
                "api-peer-no-static-remotekey",
                "the peer supports neither option_static_remotekey nor option_anchors",
            ));
        };
        // `option_scid_alias` on our private channels when configured and
        // the peer understands it (BOLT 2 open_channel: "SHOULD NOT set it
        // to a type containing a feature which was not negotiated"; "if
        // `announce_channel` is `true`: MUST NOT send `channel_type` with
        // the `option_scid_alias` bit set").
        let hs = &config.channel_handshake_config;
        if hs.negotiate_scid_privacy
            && !hs.announced_channel
            && their_features.supports_scid_privacy()
        {
            channel_type.set_scid_privacy_required();
        }
        // BOLT 2 open_channel sender: "MUST set `funding_satoshis` to less
        // than 2^24 satoshis" unless both support large channels.
        if (channel_value_satoshis >= 1 << 24 && !their_features.supports_wumbo())
            || channel_value_satoshis > checks::MAX_MONEY_SATOSHIS
        {
            return Err(ChannelError::ignore(
                "bolt2-open-funding-too-large",
                "channels of 2^24 sat or more need option_support_large_channel",
            ));
        }
        // "MUST set `push_msat` to equal or less than 1000 * `funding_satoshis`."
        if push_msat > channel_value_satoshis.saturating_mul(1000) {
            return Err(ChannelError::ignore(
                "bolt2-open-push-too-large",
                "push_msat exceeds the channel value",
            ));
        }
        let target = if anchors {
            ConfirmationTarget::AnchorChannelFee
        } else {
            ConfirmationTarget::NonAnchorChannelFee
        };
        let feerate = FeeRatePerKw(bounded_feerate(fee_estimator, target));
        let holder_limits = holder_limits(config, channel_value_satoshis, 0);
        let funder_sat = (channel_value_satoshis * 1000 - push_msat) / 1000;
        let cost = initial_funder_cost(format_of(&channel_type), feerate);
        // "the funder's amount for the initial commitment transaction is
        // not sufficient for full fee payment" would make the peer fail it.
        if Amount::from_sat(funder_sat) < cost {
            return Err(ChannelError::ignore(
                "bolt2-open-funder-cannot-pay-fee",
                format!("our balance {funder_sat} sat cannot pay the commitment fee {cost}"),
            ));
        }
        let keys_id = signer_provider.generate_channel_keys_id(false, user_channel_id);
        let signer = signer_provider
            .derive_channel_signer(Amount::from_sat(channel_value_satoshis), keys_id);
        let destination_script = signer_provider
            .get_destination_script(keys_id)
            .map_err(|e| ChannelError::ignore("signer", e.to_string()))?;
        Ok(OutboundV1Channel {
            chain_hash,
            temporary_channel_id: ChannelId(entropy.get_secure_random_bytes()),
            user_channel_id,
            signer,
            destination_script,
            channel_value_satoshis,
            push_msat,
            feerate,
            channel_type,
            announced: config.channel_handshake_config.announced_channel,
            holder_limits,
            limits: config.channel_handshake_limits,
            their_features: their_features.clone(),
            state: State::AwaitingAccept,
        })
    }

    /// The temporary channel id.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.temporary_channel_id
    }

    /// The channel value.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.channel_value_satoshis
    }

    /// The user's id for the channel.
    pub fn user_channel_id(&self) -> u128 {
        self.user_channel_id
    }

    /// The channel id the funding outpoint gives, once `funding_created`
    /// was built (`None` before).
    pub fn funded_channel_id(&self) -> Option<ChannelId> {
        match &self.state {
            State::FundingCreated(f) => Some(ChannelId::from_funding_outpoint(
                &f.1.funding_outpoint.txid,
                f.1.funding_outpoint.vout as u16,
            )),
            _ => None,
        }
    }
    /// The channel type we proposed.
    pub fn channel_type(&self) -> &ChannelTypeFeatures {
        &self.channel_type
    }
    /// Whether the proposed type has `option_scid_alias`.
    pub fn negotiated_scid_alias(&self) -> bool {
        self.channel_type.is_set(checks::SCID_ALIAS_BIT)
    }
    /// Whether the proposed type has `option_zeroconf`.
    pub fn negotiated_zero_conf(&self) -> bool {
        self.channel_type.is_set(checks::ZERO_CONF_BIT)
    }
    /// The commitment fee rate we chose.
    pub fn feerate(&self) -> FeeRatePerKw {
        self.feerate
    }

    /// Proposes `option_zeroconf` in our `channel_type` (call before
    /// [`open_channel`](Self::open_channel)): the acceptor, if it trusts
    /// us, answers `minimum_depth = 0` and the channel is usable before the
    /// funding confirms. Refused (`Ignore`) once the peer answered, or when
    /// the peer's `init` lacks `option_zeroconf` (BOLT 2 open_channel:
    /// "SHOULD NOT set it to a type containing a feature which was not
    /// negotiated").
    pub fn propose_zero_conf(&mut self) -> Result<(), ChannelError> {
        if !matches!(self.state, State::AwaitingAccept) {
            return Err(ChannelError::ignore(
                "api-zero-conf-phase",
                "option_zeroconf can only be proposed before accept_channel",
            ));
        }
        if !self.their_features.supports_zero_conf() {
            return Err(ChannelError::ignore(
                "api-peer-no-zero-conf",
                "the peer does not offer option_zeroconf",
            ));
        }
        self.channel_type.set_zero_conf_required();
        Ok(())
    }

    /// Our `open_channel`.
    pub fn open_channel(&self) -> Result<OpenChannel, ChannelError> {
        let k: &ChannelPublicKeys = self.signer.pubkeys();
        let first = self
            .signer
            .per_commitment_point(crate::channel::CommitmentNumber::ZERO)
            .map_err(ChannelError::signer)?;
        let l = &self.holder_limits;
        Ok(OpenChannel {
            chain_hash: self.chain_hash,
            temporary_channel_id: self.temporary_channel_id,
            funding_satoshis: self.channel_value_satoshis,
            push_msat: self.push_msat,
            dust_limit_satoshis: l.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: l.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: l.channel_reserve_satoshis,
            htlc_minimum_msat: l.htlc_minimum_msat,
            feerate_per_kw: self.feerate.0,
            to_self_delay: l.to_self_delay,
            max_accepted_htlcs: l.max_accepted_htlcs,
            funding_pubkey: k.funding_pubkey.into(),
            revocation_basepoint: k.revocation_basepoint.into(),
            payment_basepoint: k.payment_point.into(),
            delayed_payment_basepoint: k.delayed_payment_basepoint.into(),
            htlc_basepoint: k.htlc_basepoint.into(),
            first_per_commitment_point: first.into(),
            channel_flags: self.announced as u8,
            // We commit to no upfront shutdown script: an empty one opts out.
            shutdown_scriptpubkey: Some(ScriptBuf::new()),
            channel_type: Some(self.channel_type.clone()),
            unknown_tlvs: TlvStream::new(),
        })
    }

    /// Handles the peer's `accept_channel` with every BOLT 2 receiver check.
    pub fn accept_channel(&mut self, msg: &AcceptChannel) -> Result<(), ChannelError> {
        if !matches!(self.state, State::AwaitingAccept) {
            return Err(ChannelError::close(
                "bolt2-establish-out-of-order",
                "accept_channel received twice",
            ));
        }
        if msg.temporary_channel_id != self.temporary_channel_id {
            return Err(ChannelError::close(
                "bolt2-accept-channel-id",
                "accept_channel for another temporary_channel_id",
            ));
        }
        // "if `channel_type` is set, and `channel_type` was set in
        // `open_channel`, and they are not equal types: MUST fail the
        // channel." Absent, only the legacy static_remotekey type matches.
        let type_ok = match &msg.channel_type {
            Some(ct) => *ct == self.channel_type,
            None => self.channel_type == ChannelTypeFeatures::only_static_remote_key(),
        };
        if !type_ok {
            return Err(ChannelError::close(
                "bolt2-accept-channel-type-mismatch",
                "accept_channel's channel_type differs from the one proposed",
            ));
        }
        // "if `minimum_depth` is unreasonably large: MAY fail the channel."
        if msg.minimum_depth > self.limits.max_minimum_depth {
            return Err(ChannelError::close(
                "bolt2-accept-minimum-depth-too-large",
                format!(
                    "minimum_depth {} exceeds our limit {}",
                    msg.minimum_depth, self.limits.max_minimum_depth
                ),
            ));
        }
        let theirs = ChannelLimits {
            dust_limit_satoshis: msg.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: msg.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: msg.channel_reserve_satoshis,
            htlc_minimum_msat: msg.htlc_minimum_msat,
            to_self_delay: msg.to_self_delay,
            max_accepted_htlcs: msg.max_accepted_htlcs,
        };
        checks::counterparty_limits(
            Msg::Accept,
            &theirs,
            self.channel_value_satoshis,
            &self.limits,
        )?;
        // "if `channel_reserve_satoshis` is less than `dust_limit_satoshis`
        // within the `open_channel` message: MUST reject the channel."
        if msg.channel_reserve_satoshis < self.holder_limits.dust_limit_satoshis {
            return Err(ChannelError::close(
                "bolt2-accept-reserve-below-our-dust",
                "accept_channel's reserve is below our dust limit",
            ));
        }
        // "if `channel_reserve_satoshis` from the `open_channel` message is
        // less than `dust_limit_satoshis`: MUST reject the channel."
        if self.holder_limits.channel_reserve_satoshis < msg.dust_limit_satoshis {
            return Err(ChannelError::close(
                "bolt2-accept-dust-above-our-reserve",
                "accept_channel's dust limit is above our reserve",
            ));
        }
        // Same as open_channel: "both `to_local` and `to_remote` amounts for
        // the initial commitment transaction are less than or equal to
        // `channel_reserve_satoshis`".
        let format = format_of(&self.channel_type);
        let funder_sat = ((self.channel_value_satoshis * 1000 - self.push_msat) / 1000)
            .saturating_sub(initial_funder_cost(format, self.feerate).to_sat());
        if funder_sat <= msg.channel_reserve_satoshis
            && self.push_msat / 1000 <= self.holder_limits.channel_reserve_satoshis
        {
            return Err(ChannelError::close(
                "bolt2-accept-balances-below-reserve",
                "both initial balances are at or below the reserves",
            ));
        }
        let (counterparty_pubkeys, first) = checks::counterparty_points(
            Msg::Accept,
            [
                &msg.funding_pubkey,
                &msg.revocation_basepoint,
                &msg.payment_basepoint,
                &msg.delayed_payment_basepoint,
                &msg.htlc_basepoint,
                &msg.first_per_commitment_point,
            ],
        )?;
        let shutdown = checks::upfront_shutdown_script(
            Msg::Accept,
            msg.shutdown_scriptpubkey.as_ref(),
            &self.their_features,
        )?;
        // We broadcast the funding ourselves: 0 conf is honoured when we
        // proposed `option_zeroconf` (BOLT 2 accept_channel: "if
        // `channel_type` includes `option_zeroconf`: MUST set
        // `minimum_depth` to zero"; the opener "is free to send
        // [`channel_ready`] at any time") or trust our own funding;
        // otherwise we wait for one confirmation at least.
        let zero_conf = self.channel_type.is_set(checks::ZERO_CONF_BIT);
        let minimum_depth = if zero_conf || self.limits.trust_own_funding_0conf {
            msg.minimum_depth
        } else {
            msg.minimum_depth.max(1)
        };
        self.state = State::Accepted(Box::new(Negotiated {
            temporary_channel_id: self.temporary_channel_id,
            user_channel_id: self.user_channel_id,
            signer: self.signer.clone(),
            destination_script: self.destination_script.clone(),
            is_outbound: true,
            channel_value_satoshis: self.channel_value_satoshis,
            push_msat: self.push_msat,
            feerate: self.feerate,
            channel_type: self.channel_type.clone(),
            announced: self.announced,
            holder_limits: self.holder_limits,
            counterparty_limits: theirs,
            counterparty_pubkeys,
            counterparty_first_point: first,
            counterparty_shutdown_script: shutdown,
            minimum_depth,
        }));
        Ok(())
    }

    /// The funding output's `scriptPubKey` (P2WSH of the 2-of-2), once
    /// `accept_channel` was handled: what the wallet's funding transaction
    /// must pay `channel_value_satoshis` to.
    pub fn funding_script_pubkey(&self) -> Option<ScriptBuf> {
        match &self.state {
            State::Accepted(neg) => Some(
                crate::channel::script::funding_script(
                    &self.signer.pubkeys().funding_pubkey,
                    &neg.counterparty_pubkeys.funding_pubkey,
                )
                .to_p2wsh(),
            ),
            _ => None,
        }
    }

    /// Our `funding_created` for output `output_index` of `funding_tx`:
    /// signs the peer's first commitment. The output must pay the channel
    /// value to [`funding_script_pubkey`](Self::funding_script_pubkey).
    pub fn funding_created(
        &mut self,
        funding_tx: &Transaction,
        output_index: u16,
    ) -> Result<FundingCreated, ChannelError> {
        let neg = match core::mem::replace(&mut self.state, State::Poisoned) {
            State::Accepted(neg) => neg,
            other => {
                self.state = other;
                return Err(ChannelError::ignore(
                    "api-funding-created-phase",
                    "funding_created needs an accepted channel not yet funded",
                ));
            }
        };
        let expected = self.funding_script_pubkey_of(&neg);
        let ok = funding_tx
            .output
            .get(output_index as usize)
            .is_some_and(|o| {
                o.script_pubkey == expected && o.value.to_sat() == self.channel_value_satoshis
            });
        if !ok {
            self.state = State::Accepted(neg);
            return Err(ChannelError::ignore(
                "api-funding-output",
                "the funding output does not pay the channel value to the 2-of-2",
            ));
        }
        let txid = funding_tx.compute_txid();
        let params = neg.params(OutPoint::new(txid, output_index as u32));
        let signed = neg.counterparty_commitment(&params).and_then(|tx| {
            self.signer
                .sign_counterparty_commitment(&params, &tx)
                .map(|s| (tx, s))
                .map_err(ChannelError::signer)
        });
        let (counterparty_tx, sigs) = match signed {
            Ok(v) => v,
            Err(e) => {
                self.state = State::Accepted(neg);
                return Err(e);
            }
        };
        self.state = State::FundingCreated(Box::new((*neg, params, counterparty_tx)));
        Ok(FundingCreated {
            temporary_channel_id: self.temporary_channel_id,
            funding_txid: txid,
            funding_output_index: output_index,
            signature: sigs.commitment.into(),
            unknown_tlvs: TlvStream::new(),
        })
    }

    fn funding_script_pubkey_of(&self, neg: &Negotiated) -> ScriptBuf {
        crate::channel::script::funding_script(
            &self.signer.pubkeys().funding_pubkey,
            &neg.counterparty_pubkeys.funding_pubkey,
        )
        .to_p2wsh()
    }

    /// The peer's `funding_signed`: verifies its signature of our first
    /// commitment (BOLT 2: the funder "MUST fail the channel if the
    /// signature is incorrect") and returns the pending channel and its
    /// monitor. Give the monitor to `Watch::watch_channel` before
    /// broadcasting the funding transaction. Every error here fails the
    /// channel, so the channel is consumed either way.
    pub fn funding_signed(
        self,
        msg: &FundingSigned,
        best_block: BestBlock,
    ) -> Result<(PendingV1Channel, ChannelMonitor), ChannelError> {
        let State::FundingCreated(funding) = self.state else {
            return Err(ChannelError::close(
                "bolt2-establish-out-of-order",
                "funding_signed before funding_created",
            ));
        };
        let (neg, params, counterparty_tx) = *funding;
        let channel_id = ChannelId::from_funding_outpoint(
            &params.funding_outpoint.txid,
            params.funding_outpoint.vout as u16,
        );
        if msg.channel_id != channel_id {
            return Err(ChannelError::close(
                "bolt2-funding-signed-channel-id",
                "funding_signed's channel_id is not derived from the funding outpoint",
            ));
        }
        let sig = msg
            .signature
            .to_signature()
            .map_err(|_| ChannelError::close("bolt2-funding-signed-sig", "malformed signature"))?;
        neg.finish_funding(
            params,
            &counterparty_tx,
            sig,
            "bolt2-funding-signed-sig",
            best_block,
        )
    }
}
