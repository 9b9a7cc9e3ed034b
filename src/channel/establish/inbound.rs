//! The fundee's side: `open_channel` in, `accept_channel` out,
//! `funding_created` in, `funding_signed` out.

use super::checks::{self, Msg, MAX_MONEY_SATOSHIS};
use super::{
    format_of, holder_limits, initial_funder_cost, ChannelError, ChannelLimits, Negotiated,
    PendingV1Channel,
};
use crate::chain::monitor::ChannelMonitor;
use crate::chain::{BestBlock, FeeEstimator};
use crate::channel::{CommitmentNumber, FeeRatePerKw};
use crate::codec::TlvStream;
use crate::config::UserConfig;
use crate::msgs::features::InitFeatures;
use crate::msgs::{AcceptChannel, FundingCreated, FundingSigned, OpenChannel};
use crate::sign::SignerProvider;
use crate::types::ChannelId;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::{Amount, OutPoint, ScriptBuf};
use core::fmt;

/// A channel a peer is opening to us, before `funding_created`.
pub struct InboundV1Channel {
    neg: Negotiated,
    /// Whether the user trusts the funder with an unconfirmed funding
    /// transaction (set by [`InboundV1Channel::trust_zero_conf`]).
    trusted_zero_conf: bool,
}

impl fmt::Debug for InboundV1Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundV1Channel")
            .field("temporary_channel_id", &self.neg.temporary_channel_id)
            .field("channel_value_satoshis", &self.neg.channel_value_satoshis)
            .finish_non_exhaustive()
    }
}

impl InboundV1Channel {
    /// Checks the peer's `open_channel` with every BOLT 2 receiver rule and
    /// our limits; on success the channel is ready to answer with
    /// [`accept_channel`](Self::accept_channel). `chain_hash` is our chain.
    ///
    /// Manual acceptance (`manually_accept_inbound_channels`) is the
    /// caller's: it may hold the checked channel until the user decides.
    #[allow(clippy::too_many_arguments)]
    pub fn new_from_open_channel(
        fee_estimator: &dyn FeeEstimator,
        signer_provider: &dyn SignerProvider,
        their_features: &InitFeatures,
        msg: &OpenChannel,
        user_channel_id: u128,
        config: &UserConfig,
        chain_hash: ChainHash,
    ) -> Result<Self, ChannelError> {
        let limits = &config.channel_handshake_limits;
        if !config.accept_inbound_channels {
            return Err(ChannelError::close(
                "config-inbound-disabled",
                "we do not accept inbound channels",
            ));
        }
        // "the `chain_hash` value is set to a hash of a chain that is
        // unknown to the receiver."
        if msg.chain_hash != chain_hash {
            return Err(ChannelError::close(
                "bolt2-open-chain-hash",
                "open_channel for another chain",
            ));
        }
        let funding = msg.funding_satoshis;
        // "`funding_satoshis` is greater than or equal to 2^24 and the
        // receiver does not support `option_support_large_channel`."
        // (We support it when our limit allows such channels.)
        if funding >= 1 << 24
            && !(their_features.supports_wumbo() && limits.max_funding_satoshis >= 1 << 24)
        {
            return Err(ChannelError::close(
                "bolt2-open-funding-too-large",
                format!("funding_satoshis {funding} needs option_support_large_channel"),
            ));
        }
        if funding > limits.max_funding_satoshis || funding > MAX_MONEY_SATOSHIS {
            return Err(ChannelError::close(
                "bolt2-open-funding-too-large",
                format!(
                    "funding_satoshis {funding} exceeds our limit {}",
                    limits.max_funding_satoshis
                ),
            ));
        }
        // "MAY fail the channel if `funding_satoshis` is too small."
        if funding < limits.min_funding_satoshis {
            return Err(ChannelError::close(
                "bolt2-open-funding-too-small",
                format!(
                    "funding_satoshis {funding} is below our minimum {}",
                    limits.min_funding_satoshis
                ),
            ));
        }
        // "`push_msat` is greater than `funding_satoshis` * 1000."
        if msg.push_msat > funding * 1000 {
            return Err(ChannelError::close(
                "bolt2-open-push-too-large",
                "push_msat exceeds the channel value",
            ));
        }
        // Channel type first: the fee checks depend on the format.
        let channel_type = checks::negotiate_inbound_channel_type(
            msg.channel_type.as_ref(),
            their_features,
            config
                .channel_handshake_config
                .negotiate_anchors_zero_fee_htlc_tx,
            msg.channel_flags & 1 == 1,
        )?;
        let format = format_of(&channel_type);
        checks::feerate(msg.feerate_per_kw, format.has_anchors(), fee_estimator)?;
        let theirs = ChannelLimits {
            dust_limit_satoshis: msg.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: msg.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: msg.channel_reserve_satoshis,
            htlc_minimum_msat: msg.htlc_minimum_msat,
            to_self_delay: msg.to_self_delay,
            max_accepted_htlcs: msg.max_accepted_htlcs,
        };
        checks::counterparty_limits(Msg::Open, &theirs, funding, limits)?;
        // "`dust_limit_satoshis` is greater than `channel_reserve_satoshis`."
        if msg.dust_limit_satoshis > msg.channel_reserve_satoshis {
            return Err(ChannelError::close(
                "bolt2-open-dust-above-reserve",
                "dust_limit_satoshis exceeds channel_reserve_satoshis",
            ));
        }
        let (counterparty_pubkeys, first) = checks::counterparty_points(
            Msg::Open,
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
            Msg::Open,
            msg.shutdown_scriptpubkey.as_ref(),
            their_features,
        )?;
        let holder_limits = holder_limits(config, funding, msg.dust_limit_satoshis);
        // "the funder's amount for the initial commitment transaction is
        // not sufficient for full fee payment."
        let funder_sat = (funding * 1000 - msg.push_msat) / 1000;
        let feerate = FeeRatePerKw(msg.feerate_per_kw);
        let cost = initial_funder_cost(format, feerate).to_sat();
        if funder_sat < cost {
            return Err(ChannelError::close(
                "bolt2-open-funder-cannot-pay-fee",
                format!("funder balance {funder_sat} sat cannot pay the commitment fee {cost} sat"),
            ));
        }
        // "both `to_local` and `to_remote` amounts for the initial
        // commitment transaction are less than or equal to
        // `channel_reserve_satoshis`."
        let funder_after_fee = funder_sat - cost;
        if funder_after_fee <= holder_limits.channel_reserve_satoshis
            && msg.push_msat / 1000 <= msg.channel_reserve_satoshis
        {
            return Err(ChannelError::close(
                "bolt2-open-balances-below-reserve",
                "both initial balances are at or below the reserves",
            ));
        }
        // Our policy (as LDK's): the funder must be able to keep the reserve
        // we require after paying the fee, or it could never send.
        if funder_after_fee < holder_limits.channel_reserve_satoshis {
            return Err(ChannelError::close(
                "policy-open-funder-below-reserve",
                format!(
                    "funder balance after fee {funder_after_fee} sat is below our reserve {} sat",
                    holder_limits.channel_reserve_satoshis
                ),
            ));
        }
        let keys_id = signer_provider.generate_channel_keys_id(true, user_channel_id);
        let signer = signer_provider.derive_channel_signer(Amount::from_sat(funding), keys_id);
        let destination_script = signer_provider
            .get_destination_script(keys_id)
            .map_err(|e| ChannelError::close("signer", e.to_string()))?;
        Ok(InboundV1Channel {
            neg: Negotiated {
                temporary_channel_id: msg.temporary_channel_id,
                user_channel_id,
                signer,
                destination_script,
                is_outbound: false,
                channel_value_satoshis: funding,
                push_msat: msg.push_msat,
                feerate,
                channel_type,
                announced: msg.channel_flags & 1 == 1,
                holder_limits,
                counterparty_limits: theirs,
                counterparty_pubkeys,
                counterparty_first_point: first,
                counterparty_shutdown_script: shutdown,
                minimum_depth: config.channel_handshake_config.minimum_depth.max(1),
            },
            trusted_zero_conf: false,
        })
    }

    /// The temporary channel id the funder chose.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.neg.temporary_channel_id
    }
    /// The channel value.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.neg.channel_value_satoshis
    }
    /// The user's id for the channel.
    pub fn user_channel_id(&self) -> u128 {
        self.neg.user_channel_id
    }
    /// The negotiated channel type.
    pub fn channel_type(&self) -> &crate::msgs::features::ChannelTypeFeatures {
        &self.neg.channel_type
    }

    /// Whether the negotiated type has `option_scid_alias`.
    pub fn negotiated_scid_alias(&self) -> bool {
        self.neg.has_scid_alias()
    }
    /// Whether the negotiated type has `option_zeroconf`.
    pub fn negotiated_zero_conf(&self) -> bool {
        self.neg.has_zero_conf()
    }

    /// Marks the funder as trusted with an unconfirmed funding
    /// transaction: our `accept_channel` then asks for `minimum_depth = 0`
    /// (BOLT 2 accept_channel: "if `channel_type` includes
    /// `option_zeroconf`: MUST set `minimum_depth` to zero"), and a
    /// proposed `option_zeroconf` type is accepted. Call it before
    /// [`accept_channel`](Self::accept_channel).
    pub fn trust_zero_conf(&mut self) {
        self.trusted_zero_conf = true;
        self.neg.minimum_depth = 0;
    }
    /// Whether [`trust_zero_conf`](Self::trust_zero_conf) was called.
    pub fn is_trusted_zero_conf(&self) -> bool {
        self.trusted_zero_conf
    }

    /// Our `accept_channel`.
    ///
    /// BOLT 2 open_channel receiver: "MUST fail the channel if ... `type`
    /// includes `option_zeroconf` and it does not trust the sender to open
    /// an unconfirmed channel": without
    /// [`trust_zero_conf`](Self::trust_zero_conf) such a type fails with
    /// `bolt2-open-zeroconf-untrusted`.
    pub fn accept_channel(&self) -> Result<AcceptChannel, ChannelError> {
        if self.neg.has_zero_conf() && !self.trusted_zero_conf {
            return Err(ChannelError::close(
                "bolt2-open-zeroconf-untrusted",
                "channel_type has option_zeroconf but we do not trust the funder with 0 confirmations",
            ));
        }
        let k = *self.neg.signer.pubkeys();
        let first = self
            .neg
            .signer
            .per_commitment_point(CommitmentNumber::ZERO)
            .map_err(ChannelError::signer)?;
        let l = &self.neg.holder_limits;
        Ok(AcceptChannel {
            temporary_channel_id: self.neg.temporary_channel_id,
            dust_limit_satoshis: l.dust_limit_satoshis,
            max_htlc_value_in_flight_msat: l.max_htlc_value_in_flight_msat,
            channel_reserve_satoshis: l.channel_reserve_satoshis,
            htlc_minimum_msat: l.htlc_minimum_msat,
            minimum_depth: self.neg.minimum_depth,
            to_self_delay: l.to_self_delay,
            max_accepted_htlcs: l.max_accepted_htlcs,
            funding_pubkey: k.funding_pubkey.into(),
            revocation_basepoint: k.revocation_basepoint.into(),
            payment_basepoint: k.payment_point.into(),
            delayed_payment_basepoint: k.delayed_payment_basepoint.into(),
            htlc_basepoint: k.htlc_basepoint.into(),
            first_per_commitment_point: first.into(),
            shutdown_scriptpubkey: Some(ScriptBuf::new()),
            channel_type: Some(self.neg.channel_type.clone()),
            unknown_tlvs: TlvStream::new(),
        })
    }

    /// The funder's `funding_created`: verifies its signature of our first
    /// commitment (BOLT 2: "MUST fail the channel if `signature` is
    /// incorrect"), signs its first commitment, and returns the pending
    /// channel, our `funding_signed` and the monitor. The monitor must be
    /// given to `Watch::watch_channel` (and persisted) before
    /// `funding_signed` is sent. Every error here fails the channel, so the
    /// channel is consumed either way.
    pub fn funding_created(
        self,
        msg: &FundingCreated,
        best_block: BestBlock,
    ) -> Result<(PendingV1Channel, FundingSigned, ChannelMonitor), ChannelError> {
        if msg.temporary_channel_id != self.neg.temporary_channel_id {
            return Err(ChannelError::close(
                "bolt2-funding-created-channel-id",
                "funding_created for another temporary_channel_id",
            ));
        }
        let outpoint = OutPoint::new(msg.funding_txid, msg.funding_output_index as u32);
        let params = self.neg.params(outpoint);
        let sig = msg
            .signature
            .to_signature()
            .map_err(|_| ChannelError::close("bolt2-funding-created-sig", "malformed signature"))?;
        let counterparty_tx = self.neg.counterparty_commitment(&params)?;
        let signer = self.neg.signer.clone();
        // Verify theirs (inside finish_funding) before signing ours.
        let (pending, monitor) = self.neg.finish_funding(
            params,
            &counterparty_tx,
            sig,
            "bolt2-funding-created-sig",
            best_block,
        )?;
        let ours = signer
            .sign_counterparty_commitment(pending.channel_parameters(), &counterparty_tx)
            .map_err(ChannelError::signer)?;
        let signed = FundingSigned {
            channel_id: pending.channel_id(),
            signature: ours.commitment.into(),
            unknown_tlvs: TlvStream::new(),
        };
        Ok((pending, signed, monitor))
    }
}
