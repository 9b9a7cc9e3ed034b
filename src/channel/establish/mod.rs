//! BOLT 2 channel establishment (v1) as a pure state machine: no peer, no
//! manager, no I/O. Messages go in, messages and a [`ChannelMonitor`] come
//! out.
//!
//! ```text
//!  funder (OutboundV1Channel)              fundee (InboundV1Channel)
//!  new() ─ open_channel() ───────────────▶ new_from_open_channel()
//!  accept_channel(msg) ◀────────────────── accept_channel()
//!  funding_created(tx) ──────────────────▶ funding_created(msg)
//!                                            → PendingV1Channel + ChannelMonitor
//!  funding_signed(msg) ◀────────────────── funding_signed msg
//!    → PendingV1Channel + ChannelMonitor
//!  both: check_funding_depth(confs) → channel_ready; channel_ready_received(msg)
//!        into_funded() → FundedChannel
//! ```
//!
//! The [`ChannelMonitor`] is returned when our first commitment is signed
//! by the peer; the caller MUST hand it to
//! [`Watch::watch_channel`](crate::chain::monitor::Watch::watch_channel)
//! and see it persisted *before* sending `funding_signed` (fundee) or
//! broadcasting the funding transaction (funder).
//!
//! Every BOLT 2 requirement enforced here fails with a [`ChannelError`]
//! carrying a stable tag (`bolt2-open-funding-too-small`, …).

mod checks;
pub mod fuzz;
mod inbound;
mod outbound;
pub(crate) mod ser;

pub use checks::{is_allowed_shutdown_script, MAX_ACCEPTED_HTLCS, MIN_DUST_LIMIT_SATOSHIS};
pub use inbound::InboundV1Channel;
pub use outbound::OutboundV1Channel;

use crate::chain::monitor::{
    ChannelMonitor, CounterpartyCommitmentInfo, HolderCommitmentInfo, MonitorUpdateError,
};
use crate::chain::BestBlock;
use crate::channel::keys::ChannelPublicKeys;
use crate::channel::script::{CommitmentFormat, ANCHOR_OUTPUT_VALUE};
use crate::channel::tx::{
    commitment_fee, ChannelTransactionParameters, CounterpartyCommitmentTransaction,
    HolderCommitmentTransaction,
};
use crate::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use crate::codec::TlvStream;
use crate::config::UserConfig;
use crate::msgs::features::ChannelTypeFeatures;
use crate::msgs::ChannelReady;
use crate::sign::{ChannelSigner, SignError};
use crate::types::{ChannelId, ShortChannelId};
use bitcoin::secp256k1::{ecdsa, PublicKey};
use bitcoin::{Amount, OutPoint, ScriptBuf};
use core::fmt;
use std::sync::Arc;

/// Why an establishment step failed, with a stable tag naming the rule.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelError {
    /// Send the peer a `warning`; the channel is kept.
    Warn {
        /// The rule's tag.
        tag: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Nothing to tell the peer: the call was refused (a local API misuse,
    /// a message to drop).
    Ignore {
        /// The rule's tag.
        tag: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Fail the channel: send an `error` and forget it (BOLT 2 "MUST fail
    /// the channel").
    Close {
        /// The rule's tag.
        tag: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl ChannelError {
    pub(crate) fn close(tag: &'static str, message: impl Into<String>) -> Self {
        ChannelError::Close {
            tag,
            message: message.into(),
        }
    }
    pub(crate) fn ignore(tag: &'static str, message: impl Into<String>) -> Self {
        ChannelError::Ignore {
            tag,
            message: message.into(),
        }
    }
    /// The rule's stable tag.
    pub fn tag(&self) -> &'static str {
        match self {
            ChannelError::Warn { tag, .. }
            | ChannelError::Ignore { tag, .. }
            | ChannelError::Close { tag, .. } => tag,
        }
    }
    /// Whether the channel must be failed.
    pub fn is_close(&self) -> bool {
        matches!(self, ChannelError::Close { .. })
    }
    fn signer(e: SignError) -> Self {
        ChannelError::close("signer", format!("signer refused: {e}"))
    }
    fn monitor(e: MonitorUpdateError) -> Self {
        ChannelError::close("monitor-new", format!("cannot create the monitor: {e}"))
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, tag, message) = match self {
            ChannelError::Warn { tag, message } => ("warn", tag, message),
            ChannelError::Ignore { tag, message } => ("ignore", tag, message),
            ChannelError::Close { tag, message } => ("close", tag, message),
        };
        write!(f, "{tag}: {message} ({kind})")
    }
}
impl std::error::Error for ChannelError {}

/// The limits one side announced in its `open_channel`/`accept_channel`.
/// Each binds the *other* side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Outputs below this are trimmed from the announcing side's commitments.
    pub dust_limit_satoshis: u64,
    /// Most value the other side may have in offered HTLCs at once.
    pub max_htlc_value_in_flight_msat: u64,
    /// What the other side must keep on its side.
    pub channel_reserve_satoshis: u64,
    /// Smallest HTLC the announcing side accepts.
    pub htlc_minimum_msat: u64,
    /// The delay the other side's own outputs wait.
    pub to_self_delay: u16,
    /// Most HTLCs the other side may offer.
    pub max_accepted_htlcs: u16,
}

/// Our dust limit (BOLT 2 floor; outputs this small are uneconomic anyway).
const HOLDER_DUST_LIMIT_SATOSHIS: u64 = checks::MIN_DUST_LIMIT_SATOSHIS;
/// The floor of the reserve we require.
const MIN_THEIR_RESERVE_SATOSHIS: u64 = 1_000;

/// The limits we announce for a channel of `funding_satoshis`.
/// `their_dust` (inbound) raises the reserve we require to their dust
/// limit (BOLT 2 accept_channel: "MUST set `channel_reserve_satoshis`
/// greater than or equal to `dust_limit_satoshis` from the `open_channel`").
fn holder_limits(config: &UserConfig, funding_satoshis: u64, their_dust: u64) -> ChannelLimits {
    let c = &config.channel_handshake_config;
    let pct = c.max_inbound_htlc_value_in_flight_percent.clamp(1, 100) as u64;
    let reserve = (funding_satoshis as u128
        * c.their_channel_reserve_proportional_millionths as u128
        / 1_000_000) as u64;
    ChannelLimits {
        dust_limit_satoshis: HOLDER_DUST_LIMIT_SATOSHIS,
        max_htlc_value_in_flight_msat: funding_satoshis.saturating_mul(10 * pct),
        channel_reserve_satoshis: reserve.max(MIN_THEIR_RESERVE_SATOSHIS).max(their_dust),
        htlc_minimum_msat: c.our_htlc_minimum_msat.max(1),
        to_self_delay: c.our_to_self_delay.max(144),
        max_accepted_htlcs: c
            .our_max_accepted_htlcs
            .clamp(1, checks::MAX_ACCEPTED_HTLCS),
    }
}

/// The commitment format of a negotiated channel type.
fn format_of(ct: &ChannelTypeFeatures) -> CommitmentFormat {
    if ct.supports_anchors_zero_fee_htlc_tx() {
        CommitmentFormat::Anchors
    } else {
        CommitmentFormat::StaticRemoteKey
    }
}

/// What the funder pays on the first commitment: the fee of a commitment
/// without HTLCs, plus both anchors with `option_anchors` (BOLT 3 Fee
/// Payment).
fn initial_funder_cost(format: CommitmentFormat, feerate: FeeRatePerKw) -> Amount {
    let anchors = if format.has_anchors() {
        ANCHOR_OUTPUT_VALUE * 2
    } else {
        Amount::ZERO
    };
    commitment_fee(format, feerate, 0) + anchors
}

/// Everything both sides agreed on by the end of open/accept.
struct Negotiated {
    temporary_channel_id: ChannelId,
    user_channel_id: u128,
    signer: Arc<dyn ChannelSigner>,
    destination_script: ScriptBuf,
    is_outbound: bool,
    channel_value_satoshis: u64,
    push_msat: u64,
    feerate: FeeRatePerKw,
    channel_type: ChannelTypeFeatures,
    announced: bool,
    holder_limits: ChannelLimits,
    counterparty_limits: ChannelLimits,
    counterparty_pubkeys: ChannelPublicKeys,
    counterparty_first_point: PublicKey,
    counterparty_shutdown_script: Option<ScriptBuf>,
    /// Confirmations before we send `channel_ready`.
    minimum_depth: u32,
}

impl Negotiated {
    fn has_scid_alias(&self) -> bool {
        self.channel_type.is_set(checks::SCID_ALIAS_BIT)
    }
    fn has_zero_conf(&self) -> bool {
        self.channel_type.is_set(checks::ZERO_CONF_BIT)
    }

    fn params(&self, funding_outpoint: OutPoint) -> ChannelTransactionParameters {
        ChannelTransactionParameters {
            holder_pubkeys: *self.signer.pubkeys(),
            counterparty_pubkeys: self.counterparty_pubkeys,
            holder_selected_contest_delay: self.holder_limits.to_self_delay,
            counterparty_selected_contest_delay: self.counterparty_limits.to_self_delay,
            holder_dust_limit: Amount::from_sat(self.holder_limits.dust_limit_satoshis),
            counterparty_dust_limit: Amount::from_sat(self.counterparty_limits.dust_limit_satoshis),
            is_outbound_from_holder: self.is_outbound,
            funding_outpoint,
            channel_value: Amount::from_sat(self.channel_value_satoshis),
            format: format_of(&self.channel_type),
        }
    }

    /// The first commitment's balances (before fees): (holder, counterparty).
    fn balances(&self) -> (MilliSatoshi, MilliSatoshi) {
        let funder = MilliSatoshi(self.channel_value_satoshis * 1000 - self.push_msat);
        let fundee = MilliSatoshi(self.push_msat);
        if self.is_outbound {
            (funder, fundee)
        } else {
            (fundee, funder)
        }
    }

    fn holder_commitment(
        &self,
        params: &ChannelTransactionParameters,
    ) -> Result<HolderCommitmentTransaction, ChannelError> {
        let point = self
            .signer
            .per_commitment_point(CommitmentNumber::ZERO)
            .map_err(ChannelError::signer)?;
        let (h, c) = self.balances();
        params
            .build_holder_commitment(CommitmentNumber::ZERO, &point, h, c, self.feerate, &[])
            .map_err(|e| ChannelError::close("bolt3-commitment-build", e.to_string()))
    }

    fn counterparty_commitment(
        &self,
        params: &ChannelTransactionParameters,
    ) -> Result<CounterpartyCommitmentTransaction, ChannelError> {
        let (h, c) = self.balances();
        params
            .build_counterparty_commitment(
                CommitmentNumber::ZERO,
                &self.counterparty_first_point,
                h,
                c,
                self.feerate,
                &[],
            )
            .map_err(|e| ChannelError::close("bolt3-commitment-build", e.to_string()))
    }

    /// Checks the peer's signature of our first commitment and builds the
    /// monitor from both first commitments.
    fn finish_funding(
        self,
        params: ChannelTransactionParameters,
        counterparty_tx: &CounterpartyCommitmentTransaction,
        their_sig: ecdsa::Signature,
        sig_tag: &'static str,
        best_block: BestBlock,
    ) -> Result<(PendingV1Channel, ChannelMonitor), ChannelError> {
        let holder_tx = self.holder_commitment(&params)?;
        holder_tx
            .verify_counterparty_signatures(&params, &their_sig, &[])
            .map_err(|e| ChannelError::close(sig_tag, e.to_string()))?;
        let (h, c) = self.balances();
        let monitor = ChannelMonitor::new(
            params.clone(),
            self.signer.clone(),
            self.destination_script.clone(),
            HolderCommitmentInfo::from_checked(
                holder_tx.clone(),
                h,
                c,
                Vec::new(),
                their_sig,
                Vec::new(),
            ),
            CounterpartyCommitmentInfo::from_built(counterparty_tx, h, c, Vec::new()),
            best_block,
        )
        .map_err(ChannelError::monitor)?;
        let channel_id = ChannelId::from_funding_outpoint(
            &params.funding_outpoint.txid,
            params.funding_outpoint.vout as u16,
        );
        Ok((
            PendingV1Channel {
                neg: self,
                params,
                channel_id,
                holder_commitment: holder_tx,
                counterparty_sig: their_sig,
                our_ready_sent: false,
                their_ready: None,
                outbound_scid_alias: None,
            },
            monitor,
        ))
    }
}

/// A funded channel waiting for `channel_ready` from both sides.
pub struct PendingV1Channel {
    neg: Negotiated,
    params: ChannelTransactionParameters,
    channel_id: ChannelId,
    holder_commitment: HolderCommitmentTransaction,
    counterparty_sig: ecdsa::Signature,
    our_ready_sent: bool,
    their_ready: Option<(PublicKey, Option<ShortChannelId>)>,
    outbound_scid_alias: Option<ShortChannelId>,
}

impl fmt::Debug for PendingV1Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingV1Channel")
            .field("channel_id", &self.channel_id)
            .field("our_ready_sent", &self.our_ready_sent)
            .field("their_ready", &self.their_ready.is_some())
            .finish_non_exhaustive()
    }
}

impl PendingV1Channel {
    /// The channel id (from the funding outpoint).
    pub fn channel_id(&self) -> ChannelId {
        self.channel_id
    }
    /// The temporary id used before funding.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.neg.temporary_channel_id
    }
    /// The funding output.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.params.funding_outpoint
    }
    /// Confirmations needed before we send `channel_ready`.
    pub fn minimum_depth(&self) -> u32 {
        self.neg.minimum_depth
    }
    /// The channel's transaction parameters.
    pub fn channel_parameters(&self) -> &ChannelTransactionParameters {
        &self.params
    }
    /// Whether the negotiated type has `option_scid_alias`: our
    /// `channel_ready` then must carry an alias, and the real short channel
    /// id must not be used in route hints nor accepted for incoming HTLCs.
    pub fn negotiated_scid_alias(&self) -> bool {
        self.neg.has_scid_alias()
    }
    /// Whether the negotiated type has `option_zeroconf`.
    pub fn negotiated_zero_conf(&self) -> bool {
        self.neg.has_zero_conf()
    }
    /// Sets the alias we give the peer in our `channel_ready`
    /// (`short_channel_id` TLV), for route hints of private channels.
    pub fn set_outbound_scid_alias(&mut self, alias: ShortChannelId) {
        self.outbound_scid_alias = Some(alias);
    }

    /// The funding transaction has `confirmations` confirmations (0 when
    /// unconfirmed). Returns our `channel_ready` the first time the depth
    /// reaches `minimum_depth` (BOLT 2: "MUST NOT send `channel_ready`
    /// until the funding transaction has reached `minimum_depth`"); then
    /// `None` (see [`channel_ready_message`](Self::channel_ready_message)
    /// to retransmit).
    pub fn check_funding_depth(
        &mut self,
        confirmations: u32,
    ) -> Result<Option<ChannelReady>, ChannelError> {
        if self.our_ready_sent || confirmations < self.neg.minimum_depth {
            return Ok(None);
        }
        let msg = self.channel_ready_message()?;
        self.our_ready_sent = true;
        Ok(Some(msg))
    }

    /// Our `channel_ready`: the per-commitment point of our second
    /// commitment (number 1) and our alias, if set.
    ///
    /// BOLT 2 channel_ready sender: "if `option_scid_alias` was negotiated:
    /// MUST set `short_channel_id` `alias`": without
    /// [`set_outbound_scid_alias`](Self::set_outbound_scid_alias) such a
    /// channel refuses (`bolt2-channel-ready-alias-required`).
    pub fn channel_ready_message(&self) -> Result<ChannelReady, ChannelError> {
        if self.neg.has_scid_alias() && self.outbound_scid_alias.is_none() {
            return Err(ChannelError::ignore(
                "bolt2-channel-ready-alias-required",
                "option_scid_alias was negotiated but no alias is set",
            ));
        }
        let next = CommitmentNumber::ZERO
            .next()
            .unwrap_or(CommitmentNumber::ZERO);
        let point = self
            .neg
            .signer
            .per_commitment_point(next)
            .map_err(ChannelError::signer)?;
        Ok(ChannelReady {
            channel_id: self.channel_id,
            second_per_commitment_point: point.into(),
            short_channel_id: self.outbound_scid_alias,
            unknown_tlvs: TlvStream::new(),
        })
    }

    /// The peer's `channel_ready`: stores its second per-commitment point
    /// and its alias. A retransmission with the same point is accepted.
    pub fn channel_ready_received(&mut self, msg: &ChannelReady) -> Result<(), ChannelError> {
        if msg.channel_id != self.channel_id {
            return Err(ChannelError::close(
                "bolt2-channel-ready-channel-id",
                "channel_ready for another channel id",
            ));
        }
        let point = msg
            .second_per_commitment_point
            .to_public_key()
            .map_err(|_| {
                ChannelError::close(
                    "bolt2-channel-ready-invalid-point",
                    "second_per_commitment_point is not a valid point",
                )
            })?;
        if let Some((known, _)) = self.their_ready {
            if known != point {
                return Err(ChannelError::close(
                    "bolt2-channel-ready-point-changed",
                    "a second channel_ready carried another per-commitment point",
                ));
            }
        }
        self.their_ready = Some((point, msg.short_channel_id));
        Ok(())
    }

    /// The user's id for the channel.
    pub fn user_channel_id(&self) -> u128 {
        self.neg.user_channel_id
    }
    /// Whether we opened the channel.
    pub fn is_outbound(&self) -> bool {
        self.neg.is_outbound
    }
    /// The negotiated channel type.
    pub fn channel_type(&self) -> &ChannelTypeFeatures {
        &self.neg.channel_type
    }
    /// Whether we sent our `channel_ready`.
    pub fn our_ready_sent(&self) -> bool {
        self.our_ready_sent
    }

    /// Our `channel_reestablish` while the channel waits for
    /// `channel_ready` (BOLT 2: needed once `funding_signed` was
    /// exchanged): both commitments are number 0.
    pub fn reestablish_message(&self) -> Result<crate::msgs::ChannelReestablish, ChannelError> {
        let point = self
            .neg
            .signer
            .per_commitment_point(CommitmentNumber::ZERO)
            .map_err(ChannelError::signer)?;
        Ok(crate::msgs::ChannelReestablish {
            channel_id: self.channel_id,
            next_commitment_number: 1,
            next_revocation_number: 0,
            your_last_per_commitment_secret: [0; 32],
            my_current_per_commitment_point: point.into(),
            next_funding: None,
            my_current_funding_locked: None,
            unknown_tlvs: TlvStream::new(),
        })
    }

    /// Whether both `channel_ready` were exchanged.
    pub fn is_ready(&self) -> bool {
        self.our_ready_sent && self.their_ready.is_some()
    }

    /// The usable channel, once [`is_ready`](Self::is_ready); otherwise
    /// `self` back.
    pub fn into_funded(self) -> Result<FundedChannel, Box<PendingV1Channel>> {
        let Some((next_point, alias)) = self.their_ready.filter(|_| self.our_ready_sent) else {
            return Err(Box::new(self));
        };
        let (to_holder, to_counterparty) = self.neg.balances();
        let n = self.neg;
        Ok(FundedChannel {
            channel_id: self.channel_id,
            user_channel_id: n.user_channel_id,
            params: self.params,
            channel_type: n.channel_type,
            announced: n.announced,
            holder_limits: n.holder_limits,
            counterparty_limits: n.counterparty_limits,
            feerate: n.feerate,
            holder_commitment_number: CommitmentNumber::ZERO,
            holder_commitment: self.holder_commitment,
            counterparty_commitment_sig: self.counterparty_sig,
            counterparty_commitment_number: CommitmentNumber::ZERO,
            counterparty_current_point: n.counterparty_first_point,
            counterparty_next_point: next_point,
            to_holder,
            to_counterparty,
            counterparty_scid_alias: alias,
            outbound_scid_alias: self.outbound_scid_alias,
            counterparty_shutdown_script: n.counterparty_shutdown_script,
            signer: n.signer,
        })
    }
}

/// An established channel: what the update phase (HTLCs, commitments,
/// revocations) starts from. Both sides hold commitment 0; the next
/// holder commitment is 1 (its point was sent in our `channel_ready`),
/// the next counterparty commitment uses `counterparty_next_point`.
#[non_exhaustive]
pub struct FundedChannel {
    /// The channel id.
    pub channel_id: ChannelId,
    /// The user's id for the channel.
    pub user_channel_id: u128,
    /// Both sides' keys, delays, dust limits, funding and format.
    pub params: ChannelTransactionParameters,
    /// The negotiated channel type.
    pub channel_type: ChannelTypeFeatures,
    /// Whether the channel is announced.
    pub announced: bool,
    /// The limits we announced (binding the peer).
    pub holder_limits: ChannelLimits,
    /// The limits the peer announced (binding us).
    pub counterparty_limits: ChannelLimits,
    /// The commitment fee rate.
    pub feerate: FeeRatePerKw,
    /// Our current commitment's number (0).
    pub holder_commitment_number: CommitmentNumber,
    /// Our current commitment, signed by the peer.
    pub holder_commitment: HolderCommitmentTransaction,
    /// The peer's signature of our current commitment.
    pub counterparty_commitment_sig: ecdsa::Signature,
    /// The peer's current commitment's number (0).
    pub counterparty_commitment_number: CommitmentNumber,
    /// The peer's point for its current commitment.
    pub counterparty_current_point: PublicKey,
    /// The peer's point for its next commitment (from its `channel_ready`).
    pub counterparty_next_point: PublicKey,
    /// Our balance.
    pub to_holder: MilliSatoshi,
    /// The peer's balance.
    pub to_counterparty: MilliSatoshi,
    /// The alias the peer gave us, if any.
    pub counterparty_scid_alias: Option<ShortChannelId>,
    /// The alias we gave the peer, if any.
    pub outbound_scid_alias: Option<ShortChannelId>,
    /// The peer's upfront shutdown script, if any.
    pub counterparty_shutdown_script: Option<ScriptBuf>,
    /// Our channel signer.
    pub signer: Arc<dyn ChannelSigner>,
}

impl FundedChannel {
    /// Whether the negotiated type has `option_scid_alias` (BOLT 2: the
    /// real short channel id must not appear in route hints nor carry
    /// incoming HTLCs).
    pub fn negotiated_scid_alias(&self) -> bool {
        self.channel_type.is_set(checks::SCID_ALIAS_BIT)
    }
    /// Whether the negotiated type has `option_zeroconf`.
    pub fn negotiated_zero_conf(&self) -> bool {
        self.channel_type.is_set(checks::ZERO_CONF_BIT)
    }
}

impl fmt::Debug for FundedChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FundedChannel")
            .field("channel_id", &self.channel_id)
            .field("to_holder", &self.to_holder)
            .field("to_counterparty", &self.to_counterparty)
            .finish_non_exhaustive()
    }
}
