//! What the [`ChannelManager`](super::ChannelManager) tells the wallet, and
//! how the wallet takes it.

use crate::msgs::features::ChannelTypeFeatures;
use crate::types::{ChannelId, PaymentHash, PaymentPreimage, PaymentSecret};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{OutPoint, ScriptBuf};
use core::fmt;

/// A payment's id, chosen by the sender: sending twice with the same id
/// sends once (`send_payment` is idempotent).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentId(pub [u8; 32]);

impl fmt::Debug for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentId({})", hex::DisplayHex::as_hex(&self.0[..]))
    }
}

/// What an incoming payment is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentPurpose {
    /// A payment to an invoice of ours (a payment secret was given).
    Bolt11InvoicePayment {
        /// The preimage, when we derived the payment hash ourselves
        /// (`create_inbound_payment`); `None` when the user holds it.
        payment_preimage: Option<PaymentPreimage>,
        /// The payment secret.
        payment_secret: PaymentSecret,
    },
    /// A spontaneous (keysend) payment: the sender chose the preimage.
    SpontaneousPayment(PaymentPreimage),
}

impl PaymentPurpose {
    /// The preimage, when we know it.
    pub fn preimage(&self) -> Option<PaymentPreimage> {
        match self {
            PaymentPurpose::Bolt11InvoicePayment {
                payment_preimage, ..
            } => *payment_preimage,
            PaymentPurpose::SpontaneousPayment(p) => Some(*p),
        }
    }
}

/// Why a channel closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClosureReason {
    /// Both sides agreed on a closing transaction.
    CooperativeClosure,
    /// We force-closed on the user's request.
    HolderForceClosed,
    /// The peer sent an `error` for the channel.
    CounterpartyForceClosed {
        /// What the peer said.
        peer_msg: String,
    },
    /// We failed the channel because the peer broke a protocol rule.
    ProcessingError {
        /// The rule's tag and what went wrong.
        err: String,
    },
    /// The funding output was spent on chain by a commitment.
    CommitmentTxConfirmed,
    /// The peer disconnected before the channel was funded.
    DisconnectedPeer,
    /// The channel was never funded in time, or the user dropped it.
    FundingAborted,
    /// The peer proved we lost state: we must not broadcast our commitment.
    DataLossDetected,
}

impl fmt::Display for ClosureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosureReason::CooperativeClosure => f.write_str("cooperative close"),
            ClosureReason::HolderForceClosed => f.write_str("we force-closed"),
            ClosureReason::CounterpartyForceClosed { peer_msg } => {
                write!(f, "the peer force-closed: {peer_msg}")
            }
            ClosureReason::ProcessingError { err } => write!(f, "protocol error: {err}"),
            ClosureReason::CommitmentTxConfirmed => f.write_str("a commitment confirmed"),
            ClosureReason::DisconnectedPeer => f.write_str("the peer disconnected before funding"),
            ClosureReason::FundingAborted => f.write_str("funding aborted"),
            ClosureReason::DataLossDetected => f.write_str("we lost channel state"),
        }
    }
}

/// Why an outgoing payment failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentFailureReason {
    /// The recipient rejected it (unknown hash, wrong amount, expired).
    RecipientRejected,
    /// Every retry was used.
    RetriesExhausted,
    /// No route was found.
    RouteNotFound,
    /// The user abandoned it.
    UserAbandoned,
    /// The payment expired before it could complete.
    PaymentExpired,
}

/// How often a failed payment is retried on a new route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// At most this many more attempts.
    Attempts(u32),
}

/// Something the wallet must know or act on. Taken with
/// [`EventsProvider::process_pending_events`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Build and sign a funding transaction paying `channel_value_satoshis`
    /// to `output_script`, then call `funding_transaction_generated`.
    FundingGenerationReady {
        /// The channel's temporary id.
        temporary_channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The output value.
        channel_value_satoshis: u64,
        /// The 2-of-2 P2WSH script to pay.
        output_script: ScriptBuf,
        /// The user's id for the channel.
        user_channel_id: u128,
    },
    /// A peer wants to open a channel and `manually_accept_inbound_channels`
    /// is set: call `accept_inbound_channel` or `reject_inbound_channel`.
    OpenChannelRequest {
        /// The channel's temporary id.
        temporary_channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The channel value.
        funding_satoshis: u64,
        /// What the peer pushes to us.
        push_msat: u64,
        /// The proposed channel type.
        channel_type: ChannelTypeFeatures,
    },
    /// The funding transaction is signed by both sides (and broadcast, if
    /// we funded it); the channel waits for confirmations.
    ChannelPending {
        /// The channel id.
        channel_id: ChannelId,
        /// The user's id for the channel.
        user_channel_id: u128,
        /// The id used before funding.
        former_temporary_channel_id: ChannelId,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The funding output.
        funding_txo: OutPoint,
    },
    /// The channel can send and receive payments.
    ChannelReady {
        /// The channel id.
        channel_id: ChannelId,
        /// The user's id for the channel.
        user_channel_id: u128,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The channel type.
        channel_type: ChannelTypeFeatures,
    },
    /// The channel is closed (or was never opened).
    ChannelClosed {
        /// The channel id (temporary, if it closed before funding).
        channel_id: ChannelId,
        /// The user's id for the channel.
        user_channel_id: u128,
        /// Why.
        reason: ClosureReason,
        /// The peer.
        counterparty_node_id: PublicKey,
        /// The channel value.
        channel_capacity_sats: u64,
    },
    /// A payment to us arrived in full: call `claim_funds` with the
    /// preimage (or `fail_htlc_backwards`) before `claim_deadline`.
    PaymentClaimable {
        /// Its hash.
        payment_hash: PaymentHash,
        /// What arrived (every part).
        amount_msat: u64,
        /// What it is for.
        purpose: PaymentPurpose,
        /// The channel it came through (the first part's).
        via_channel_id: ChannelId,
        /// The height by which it must be claimed.
        claim_deadline: u32,
    },
    /// We claimed a payment to us.
    PaymentClaimed {
        /// Its hash.
        payment_hash: PaymentHash,
        /// What we received.
        amount_msat: u64,
        /// What it was for.
        purpose: PaymentPurpose,
    },
    /// A payment we sent succeeded.
    PaymentSent {
        /// Its id.
        payment_id: PaymentId,
        /// The preimage, proof of payment.
        payment_preimage: PaymentPreimage,
        /// Its hash.
        payment_hash: PaymentHash,
        /// Routing fees paid.
        fee_paid_msat: u64,
    },
    /// A payment we sent failed for good.
    PaymentFailed {
        /// Its id.
        payment_id: PaymentId,
        /// Its hash.
        payment_hash: PaymentHash,
        /// Why.
        reason: PaymentFailureReason,
    },
}

/// Takes events from the manager.
pub trait EventHandler {
    /// Handles one event. Events are delivered in order, each once.
    fn handle_event(&self, event: Event);
}

impl<F: Fn(Event)> EventHandler for F {
    fn handle_event(&self, event: Event) {
        self(event)
    }
}

/// A component with events for the wallet.
pub trait EventsProvider {
    /// Hands every pending event to `handler`, in order.
    fn process_pending_events(&self, handler: &dyn EventHandler);
}
