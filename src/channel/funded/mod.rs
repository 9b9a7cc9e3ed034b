//! BOLT 2 normal operation of an established channel: HTLCs, fee updates,
//! the commitment dance (`commitment_signed` / `revoke_and_ack`) and
//! reconnection (`channel_reestablish`), as a pure state machine.
//!
//! A [`Channel`] is made from the [`FundedChannel`] that establishment
//! produced. Every call returns an [`Outcome`]: the messages to send the
//! peer, in order, the [`ChannelMonitorUpdate`] that must be persisted
//! *before* any of those messages leaves (ARCHITECTURE.md, "persist before
//! you speak"), and [`HtlcEvent`]s for the manager (an incoming HTLC became
//! irrevocable, one of ours was fulfilled or failed).
//!
//! Updates we queue (`send_htlc`, `fulfill_htlc`, `fail_htlc`,
//! `send_update_fee`) are signed together by
//! [`maybe_sign_commitment`](Channel::maybe_sign_commitment), which the
//! manager calls once it has drained a batch of work: one
//! `commitment_signed` covers them all.
//!
//! Every BOLT 2 receiver rule enforced here fails with a
//! [`ChannelError`] whose tag names the rule (`bolt2-add-htlc-reserve`, …).

mod checks;
mod commit;
pub mod htlc;
mod reestablish;
mod ser;
mod shutdown;

pub use checks::{AvailableBalances, HtlcToSend, MIN_FEERATE, TEMPORARY_CHANNEL_FAILURE};
pub use htlc::{InboundResolution, OutboundResolution};
pub use reestablish::DataLoss;

use crate::chain::monitor::{ChannelMonitorUpdate, ChannelMonitorUpdateStep};
use crate::channel::establish::{ChannelError, ChannelLimits, FundedChannel};
use crate::channel::script::{CommitmentFormat, ANCHOR_OUTPUT_VALUE};
use crate::channel::tx::{
    commitment_fee, is_trimmed, ChannelTransactionParameters, HolderCommitmentTransaction, Htlc,
    HtlcDirection,
};
use crate::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use crate::config::ChannelConfig;
use crate::msgs::features::ChannelTypeFeatures;
use crate::msgs::{ChannelReady, CommitmentSigned, Message, OnionPacket, RevokeAndAck};
use crate::sign::ChannelSigner;
use crate::types::{ChannelId, PaymentHash, PaymentPreimage, Point, ShortChannelId};
use bitcoin::secp256k1::{ecdsa, PublicKey};
use bitcoin::{Amount, OutPoint, ScriptBuf};
use core::fmt;
use htlc::{InState, InboundHtlc, OutState, OutboundHtlc, PendingFee, Presence};
use std::sync::Arc;

/// What one call produced.
#[derive(Debug, Default)]
#[must_use = "messages must be sent after the monitor update is persisted"]
pub struct Outcome {
    /// Messages for the peer, in order.
    pub msgs: Vec<Message>,
    /// Persist this (through `chain::Watch::update_channel`) before sending
    /// any of `msgs`.
    pub monitor_update: Option<ChannelMonitorUpdate>,
    /// What the manager must act on.
    pub events: Vec<HtlcEvent>,
}

impl Outcome {
    fn msg(m: impl Into<Message>) -> Self {
        Outcome {
            msgs: vec![m.into()],
            ..Default::default()
        }
    }
    /// Appends another outcome (messages in order; the monitor updates of
    /// both are merged into one with the later id).
    pub fn merge(&mut self, other: Outcome) {
        self.msgs.extend(other.msgs);
        self.events.extend(other.events);
        match (&mut self.monitor_update, other.monitor_update) {
            (Some(a), Some(b)) => {
                a.update_id = b.update_id;
                a.updates.extend(b.updates);
            }
            (None, Some(b)) => self.monitor_update = Some(b),
            _ => {}
        }
    }
}

/// What happened to an HTLC that the manager must act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HtlcEvent {
    /// An HTLC the peer offered is irrevocably committed: decode its onion
    /// and claim, forward or fail it.
    InboundCommitted {
        /// The HTLC id.
        htlc_id: u64,
        /// Its amount.
        amount: MilliSatoshi,
        /// Its payment hash.
        payment_hash: PaymentHash,
        /// Its expiry height.
        cltv_expiry: u32,
        /// Its onion.
        onion: Box<OnionPacket>,
        /// Its blinding point, inside a blinded route.
        blinding_point: Option<Point>,
        /// Set when the channel already decided to fail it back (dust
        /// exposure), with the BOLT 4 failure code to use.
        fail_with: Option<u16>,
    },
    /// The peer fulfilled one of our HTLCs (we have the preimage now).
    OutboundFulfilled {
        /// The HTLC id.
        htlc_id: u64,
        /// The preimage.
        preimage: PaymentPreimage,
        /// Its amount.
        amount: MilliSatoshi,
    },
    /// One of our HTLCs was failed and the failure is irrevocably
    /// committed: the value is back on our side.
    OutboundFailed {
        /// The HTLC id.
        htlc_id: u64,
        /// How it failed.
        resolution: OutboundResolution,
        /// Its payment hash.
        payment_hash: PaymentHash,
    },
    /// One of the peer's HTLCs that we fulfilled is irrevocably removed:
    /// the value is ours.
    InboundSettled {
        /// The HTLC id.
        htlc_id: u64,
        /// Its amount.
        amount: MilliSatoshi,
    },
}

/// An update message we sent, kept until the peer acknowledged it, for
/// retransmission after a reconnection (BOLT 2 `channel_reestablish`).
#[derive(Clone, Debug)]
struct SentUpdate {
    msg: Message,
    /// The number of the remote commitment that first included it.
    covered_by: Option<CommitmentNumber>,
}

/// An established channel in normal operation.
pub struct Channel {
    pub(crate) channel_id: ChannelId,
    pub(crate) user_channel_id: u128,
    pub(crate) params: ChannelTransactionParameters,
    pub(crate) channel_type: ChannelTypeFeatures,
    pub(crate) announced: bool,
    pub(crate) holder_limits: ChannelLimits,
    pub(crate) counterparty_limits: ChannelLimits,
    pub(crate) config: ChannelConfig,
    pub(crate) signer: Arc<dyn ChannelSigner>,

    /// Balances with every forgotten HTLC applied.
    pub(crate) to_holder: MilliSatoshi,
    pub(crate) to_counterparty: MilliSatoshi,
    /// The fee rate both current commitments use.
    pub(crate) feerate: FeeRatePerKw,
    pub(crate) pending_fees: Vec<PendingFee>,

    pub(crate) outbound: Vec<OutboundHtlc>,
    pub(crate) inbound: Vec<InboundHtlc>,
    pub(crate) next_outbound_id: u64,
    pub(crate) next_inbound_id: u64,

    /// Our current commitment (signed by the peer).
    pub(crate) holder_number: CommitmentNumber,
    pub(crate) holder_tx: HolderCommitmentTransaction,
    pub(crate) holder_sig: ecdsa::Signature,
    pub(crate) holder_htlc_sigs: Vec<ecdsa::Signature>,

    /// The newest peer commitment we signed.
    pub(crate) cp_number: CommitmentNumber,
    pub(crate) cp_point: PublicKey,
    /// The point of the peer's next commitment (known once it revoked the
    /// one before our newest).
    pub(crate) cp_next_point: Option<PublicKey>,
    /// While we wait for `revoke_and_ack`: the point of the commitment it
    /// must revoke.
    pub(crate) cp_awaiting_revoke: Option<PublicKey>,
    /// The last secret the peer gave us, for `channel_reestablish`.
    pub(crate) cp_last_secret: Option<[u8; 32]>,

    pub(crate) latest_monitor_update_id: u64,

    sent_updates: Vec<SentUpdate>,
    /// The last `commitment_signed` and `revoke_and_ack` we sent, with the
    /// order they left in, for retransmission.
    pub(crate) last_cs: Option<(u64, CommitmentSigned)>,
    pub(crate) last_raa: Option<(u64, RevokeAndAck)>,
    pub(crate) msg_seq: u64,

    pub(crate) peer_connected: bool,
    /// After a reconnection, until the peer's `channel_reestablish`.
    pub(crate) awaiting_reestablish: bool,
    pub(crate) channel_ready: ChannelReady,

    pub(crate) short_channel_id: Option<ShortChannelId>,
    pub(crate) counterparty_scid_alias: Option<ShortChannelId>,
    pub(crate) outbound_scid_alias: Option<ShortChannelId>,
    pub(crate) counterparty_shutdown_script: Option<ScriptBuf>,
    /// Set once either side sent `shutdown`: no new HTLCs.
    pub(crate) shutdown_sent: Option<ScriptBuf>,
    pub(crate) shutdown_received: Option<ScriptBuf>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("channel_id", &self.channel_id)
            .field("to_holder", &self.to_holder)
            .field("to_counterparty", &self.to_counterparty)
            .field("outbound", &self.outbound.len())
            .field("inbound", &self.inbound.len())
            .finish_non_exhaustive()
    }
}

/// One side's view of a next commitment.
#[derive(Clone, Debug)]
pub(crate) struct View {
    pub to_holder: u64,
    pub to_counterparty: u64,
    pub htlcs: Vec<Htlc>,
    pub feerate: FeeRatePerKw,
}

impl Channel {
    /// The channel in normal operation, from establishment's result.
    /// `channel_ready` is our message (kept for retransmission).
    pub fn from_funded(
        funded: FundedChannel,
        channel_ready: ChannelReady,
        config: ChannelConfig,
    ) -> Channel {
        let f = funded;
        Channel {
            channel_id: f.channel_id,
            user_channel_id: f.user_channel_id,
            channel_type: f.channel_type,
            announced: f.announced,
            holder_limits: f.holder_limits,
            counterparty_limits: f.counterparty_limits,
            config,
            signer: f.signer,
            to_holder: f.to_holder,
            to_counterparty: f.to_counterparty,
            feerate: f.feerate,
            pending_fees: Vec::new(),
            outbound: Vec::new(),
            inbound: Vec::new(),
            next_outbound_id: 0,
            next_inbound_id: 0,
            holder_number: f.holder_commitment_number,
            holder_tx: f.holder_commitment,
            holder_sig: f.counterparty_commitment_sig,
            holder_htlc_sigs: Vec::new(),
            cp_number: f.counterparty_commitment_number,
            cp_point: f.counterparty_current_point,
            cp_next_point: Some(f.counterparty_next_point),
            cp_awaiting_revoke: None,
            cp_last_secret: None,
            latest_monitor_update_id: 0,
            sent_updates: Vec::new(),
            last_cs: None,
            last_raa: None,
            msg_seq: 0,
            peer_connected: true,
            awaiting_reestablish: false,
            channel_ready,
            short_channel_id: None,
            counterparty_scid_alias: f.counterparty_scid_alias,
            outbound_scid_alias: f.outbound_scid_alias,
            counterparty_shutdown_script: f.counterparty_shutdown_script,
            shutdown_sent: None,
            shutdown_received: None,
            params: f.params,
        }
    }

    /// The channel id.
    pub fn channel_id(&self) -> ChannelId {
        self.channel_id
    }
    /// The user's id for the channel.
    pub fn user_channel_id(&self) -> u128 {
        self.user_channel_id
    }
    /// The funding outpoint.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.params.funding_outpoint
    }
    /// The channel's transaction parameters.
    pub fn params(&self) -> &ChannelTransactionParameters {
        &self.params
    }
    /// The negotiated channel type.
    pub fn channel_type(&self) -> &ChannelTypeFeatures {
        &self.channel_type
    }
    /// Whether we opened (and fund) the channel.
    pub fn is_outbound(&self) -> bool {
        self.params.is_outbound_from_holder
    }
    /// The channel value.
    pub fn channel_value_satoshis(&self) -> u64 {
        self.params.channel_value.to_sat()
    }
    /// The current commitment fee rate.
    pub fn feerate(&self) -> FeeRatePerKw {
        self.feerate
    }
    /// Whether the channel was opened as a public (announced) one.
    pub fn is_announced(&self) -> bool {
        self.announced
    }
    /// The confirmed short channel id, once known.
    pub fn short_channel_id(&self) -> Option<ShortChannelId> {
        self.short_channel_id
    }
    /// Records the confirmed short channel id.
    pub fn set_short_channel_id(&mut self, scid: ShortChannelId) {
        self.short_channel_id = Some(scid);
    }
    /// The alias the peer gave us.
    pub fn counterparty_scid_alias(&self) -> Option<ShortChannelId> {
        self.counterparty_scid_alias
    }
    /// The id of the latest monitor update this channel produced.
    pub fn latest_monitor_update_id(&self) -> u64 {
        self.latest_monitor_update_id
    }
    /// The limits the peer announced (they bind us).
    pub fn counterparty_limits(&self) -> &ChannelLimits {
        &self.counterparty_limits
    }
    /// The limits we announced (they bind the peer).
    pub fn holder_limits(&self) -> &ChannelLimits {
        &self.holder_limits
    }
    /// The forwarding and dust policy of the channel.
    pub fn config(&self) -> &ChannelConfig {
        &self.config
    }
    /// Whether the peer is connected and the channel resynchronised.
    pub fn is_live(&self) -> bool {
        self.peer_connected && !self.awaiting_reestablish
    }
    /// Whether we wait for the peer's `revoke_and_ack`.
    pub fn is_awaiting_revoke(&self) -> bool {
        self.cp_awaiting_revoke.is_some()
    }
    /// Whether any HTLC or fee update is still in flight.
    pub fn has_pending_updates(&self) -> bool {
        !self.outbound.is_empty() || !self.inbound.is_empty() || !self.pending_fees.is_empty()
    }
    /// Our balance with every HTLC counted where it started until the
    /// commitment dance removing it is complete: an HTLC we offered is
    /// still in it (even once fulfilled), one we received is not yet.
    pub fn balance_msat(&self) -> u64 {
        self.to_holder.0
    }
    /// The HTLCs we offered that are not yet removed from both
    /// commitments (in flight, or settled and being signed away); they are
    /// still counted in [`balance_msat`](Self::balance_msat).
    pub fn pending_outbound_htlcs_msat(&self) -> u64 {
        self.outbound.iter().map(|h| h.amount.0).sum()
    }
    /// The HTLCs offered to us that are not yet removed from both
    /// commitments; not yet in [`balance_msat`](Self::balance_msat).
    pub fn pending_inbound_htlcs_msat(&self) -> u64 {
        self.inbound.iter().map(|h| h.amount.0).sum()
    }
    /// The peer's settled balance.
    pub fn counterparty_balance_msat(&self) -> u64 {
        self.to_counterparty.0
    }
    /// The number of HTLCs in flight (both directions).
    pub fn pending_htlc_count(&self) -> usize {
        self.outbound.len() + self.inbound.len()
    }
    /// Our current commitment (signed by the peer).
    pub fn holder_commitment(&self) -> &HolderCommitmentTransaction {
        &self.holder_tx
    }
    /// The channel signer.
    pub fn signer(&self) -> &Arc<dyn ChannelSigner> {
        &self.signer
    }
    /// The `channel_ready` we sent (for retransmission).
    pub fn channel_ready_message(&self) -> &ChannelReady {
        &self.channel_ready
    }
    /// The peer's shutdown script, once it sent `shutdown`.
    pub fn shutdown_received(&self) -> Option<&ScriptBuf> {
        self.shutdown_received.as_ref()
    }
    /// Our shutdown script, once we sent `shutdown`.
    pub fn shutdown_sent(&self) -> Option<&ScriptBuf> {
        self.shutdown_sent.as_ref()
    }
    /// The peer's upfront shutdown script, if it gave one.
    pub fn counterparty_upfront_shutdown_script(&self) -> Option<&ScriptBuf> {
        self.counterparty_shutdown_script.as_ref()
    }

    pub(crate) fn format(&self) -> CommitmentFormat {
        self.params.format
    }

    fn anchors_cost(&self) -> Amount {
        if self.format().has_anchors() {
            ANCHOR_OUTPUT_VALUE * 2
        } else {
            Amount::ZERO
        }
    }

    /// The fee rate of the next local (or remote) commitment.
    pub(crate) fn view_feerate(&self, local: bool) -> FeeRatePerKw {
        self.pending_fees
            .iter()
            .rev()
            .find(|f| f.applies(local))
            .map(|f| FeeRatePerKw(f.feerate))
            .unwrap_or(self.feerate)
    }

    /// The next local (`local`) or remote commitment's balances (before
    /// fees) and HTLCs, in holder terms.
    pub(crate) fn view(&self, local: bool) -> View {
        let mut to_h = self.to_holder.0;
        let mut to_c = self.to_counterparty.0;
        let mut htlcs = Vec::with_capacity(self.outbound.len() + self.inbound.len());
        for h in &self.outbound {
            match h.presence(local) {
                Presence::NotYet => {}
                Presence::Included => {
                    to_h = to_h.saturating_sub(h.amount.0);
                    htlcs.push(Htlc {
                        direction: HtlcDirection::HolderOffered,
                        amount: h.amount,
                        cltv_expiry: h.cltv_expiry,
                        payment_hash: h.payment_hash,
                    });
                }
                Presence::Removed => {
                    if h.fulfilled() {
                        to_h = to_h.saturating_sub(h.amount.0);
                        to_c += h.amount.0;
                    }
                }
            }
        }
        for h in &self.inbound {
            match h.presence(local) {
                Presence::NotYet => {}
                Presence::Included => {
                    to_c = to_c.saturating_sub(h.amount.0);
                    htlcs.push(Htlc {
                        direction: HtlcDirection::CounterpartyOffered,
                        amount: h.amount,
                        cltv_expiry: h.cltv_expiry,
                        payment_hash: h.payment_hash,
                    });
                }
                Presence::Removed => {
                    if h.fulfilled() {
                        to_c = to_c.saturating_sub(h.amount.0);
                        to_h += h.amount.0;
                    }
                }
            }
        }
        View {
            to_holder: to_h,
            to_counterparty: to_c,
            htlcs,
            feerate: self.view_feerate(local),
        }
    }

    /// Each HTLC of a view with whether it is trimmed from the local (or
    /// remote) commitment at `feerate` (BOLT 3 Trimmed Outputs).
    fn trimmed<'a>(
        &'a self,
        view: &'a View,
        local: bool,
        feerate: FeeRatePerKw,
    ) -> impl Iterator<Item = (&'a Htlc, bool)> + 'a {
        let (dust, broadcaster) = if local {
            (
                self.params.holder_dust_limit,
                crate::channel::tx::Side::Holder,
            )
        } else {
            (
                self.params.counterparty_dust_limit,
                crate::channel::tx::Side::Counterparty,
            )
        };
        let format = self.format();
        view.htlcs.iter().map(move |h| {
            (
                h,
                is_trimmed(format, feerate, dust, h.amount, h.offered_by(broadcaster)),
            )
        })
    }

    /// Untrimmed HTLCs of a view on the local (or remote) commitment.
    pub(crate) fn untrimmed(&self, view: &View, local: bool, feerate: FeeRatePerKw) -> usize {
        self.trimmed(view, local, feerate)
            .filter(|(_, t)| !t)
            .count()
    }

    /// What the funder pays on a commitment with `untrimmed` HTLC outputs
    /// at `feerate`: the fee plus both anchors, in msat.
    pub(crate) fn funder_cost_msat(&self, feerate: FeeRatePerKw, untrimmed: usize) -> u64 {
        (commitment_fee(self.format(), feerate, untrimmed) + self.anchors_cost()).to_sat() * 1000
    }

    /// The dust HTLC value (msat) on the local (or remote) commitment of
    /// a view: value lost to miners on a force close.
    pub(crate) fn dust_exposure_msat(
        &self,
        view: &View,
        local: bool,
        feerate: FeeRatePerKw,
    ) -> u64 {
        self.trimmed(view, local, feerate)
            .filter(|(_, t)| *t)
            .map(|(h, _)| h.amount.0)
            .sum()
    }

    /// The next monitor update id, bumping the counter.
    pub(crate) fn monitor_update(
        &mut self,
        steps: Vec<ChannelMonitorUpdateStep>,
    ) -> ChannelMonitorUpdate {
        self.latest_monitor_update_id += 1;
        ChannelMonitorUpdate {
            update_id: self.latest_monitor_update_id,
            updates: steps,
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.msg_seq += 1;
        self.msg_seq
    }

    /// Records an update message we send, for retransmission.
    pub(crate) fn log_sent(&mut self, msg: Message) {
        self.sent_updates.push(SentUpdate {
            msg,
            covered_by: None,
        });
    }

    /// Whether the next remote commitment would differ from the newest one
    /// we signed (BOLT 2: "MUST NOT send a `commitment_signed` message that
    /// does not include any updates").
    pub fn has_changes_to_sign(&self) -> bool {
        self.outbound.iter().any(|h| {
            matches!(
                h.state,
                OutState::SentAdd | OutState::Removed(_, htlc::OutRemoveStage::Signed)
            )
        }) || self.inbound.iter().any(|h| {
            matches!(
                h.state,
                InState::AddSigned | InState::Removed(_, htlc::InRemoveStage::Queued)
            )
        }) || self
            .pending_fees
            .iter()
            .any(|f| matches!(f.stage, htlc::FeeStage::Sent | htlc::FeeStage::RcvdSigned))
    }
}

impl Channel {
    fn err_close(tag: &'static str, message: impl Into<String>) -> ChannelError {
        ChannelError::close(tag, message)
    }
    fn err_ignore(tag: &'static str, message: impl Into<String>) -> ChannelError {
        ChannelError::ignore(tag, message)
    }
}
