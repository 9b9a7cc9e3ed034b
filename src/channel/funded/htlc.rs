//! The life of one HTLC through the commitment dance, per direction.
//!
//! BOLT 2 ("Normal Operation"): an update goes first into the commitment of
//! the node that *receives* it (signed by the sender's `commitment_signed`),
//! and into the sender's own commitment only after the receiver revoked its
//! previous commitment and signed the sender's. Each state below says which
//! of the two *next* commitments include the HTLC:
//!
//! ```text
//! offered by us (outbound)                      local   remote
//!   SentAdd        --we sign-->                  no      yes
//!   AddCommitted   --their RAA-->                no      yes
//!   AddRevoked     --their CS (we RAA)-->        yes     yes
//!   Committed      --their fulfill/fail-->       yes     yes
//!   Removed(Received) --their CS-->              gone    yes
//!   Removed(Signed)   --we sign-->               gone    gone
//!   Removed(Committed) --their RAA--> forgotten  gone    gone
//!
//! offered by the peer (inbound)                 local   remote
//!   RcvdAdd        --their CS (we RAA)-->        yes     no
//!   AddSigned      --we sign-->                  yes     yes
//!   AddCommitted   --their RAA--> Committed      yes     yes  (irrevocable)
//!   Committed      --we fulfill/fail-->          yes     yes
//!   Removed(Queued)    --we sign-->              yes     gone
//!   Removed(Committed) --their RAA-->            yes     gone
//!   Removed(Revoked)   --their CS--> forgotten   gone    gone
//! ```

use crate::channel::MilliSatoshi;
use crate::msgs::OnionPacket;
use crate::types::{PaymentHash, PaymentPreimage, Point};

/// Whether an HTLC is in one commitment view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Not added to this commitment yet.
    NotYet,
    /// An HTLC output (or trimmed) of this commitment.
    Included,
    /// Removed from this commitment: its value went to its resolution.
    Removed,
}

/// How the peer resolved one of our HTLCs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboundResolution {
    /// `update_fulfill_htlc`.
    Fulfilled(PaymentPreimage),
    /// `update_fail_htlc`: the encrypted reason for the origin.
    Failed {
        /// The onion-encrypted reason.
        reason: Vec<u8>,
        /// Attribution data, if the peer sent some.
        attribution_data: Option<Box<crate::msgs::AttributionData>>,
    },
    /// `update_fail_malformed_htlc`.
    Malformed {
        /// The failure code (BADONION bit set).
        failure_code: u16,
        /// SHA-256 of the onion the peer received.
        sha256_of_onion: [u8; 32],
    },
}

/// How we resolve one of the peer's HTLCs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundResolution {
    /// We fulfill it with this preimage.
    Fulfill(PaymentPreimage),
    /// We fail it with an onion-encrypted reason.
    Fail {
        /// The encrypted reason.
        reason: Vec<u8>,
        /// Attribution data to attach, if any.
        attribution_data: Option<Box<crate::msgs::AttributionData>>,
    },
    /// We fail it as malformed.
    Malformed {
        /// The failure code (BADONION bit set).
        failure_code: u16,
        /// SHA-256 of the onion we received.
        sha256_of_onion: [u8; 32],
    },
}

impl InboundResolution {
    pub(crate) fn is_fulfill(&self) -> bool {
        matches!(self, InboundResolution::Fulfill(_))
    }
}

/// Where the removal of one of our HTLCs stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutRemoveStage {
    Received,
    Signed,
    Committed,
}

/// Where one of our HTLCs stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OutState {
    SentAdd,
    AddCommitted,
    AddRevoked,
    Committed,
    Removed(OutboundResolution, OutRemoveStage),
}

/// Where the removal of one of the peer's HTLCs stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InRemoveStage {
    Queued,
    Committed,
    Revoked,
}

/// Where one of the peer's HTLCs stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum InState {
    RcvdAdd,
    AddSigned,
    AddCommitted,
    Committed,
    Removed(InboundResolution, InRemoveStage),
}

/// An HTLC we offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OutboundHtlc {
    pub id: u64,
    pub amount: MilliSatoshi,
    pub cltv_expiry: u32,
    pub payment_hash: PaymentHash,
    pub state: OutState,
}

/// An HTLC the peer offered. The onion is kept until the HTLC is
/// irrevocably committed and handed to the manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InboundHtlc {
    pub id: u64,
    pub amount: MilliSatoshi,
    pub cltv_expiry: u32,
    pub payment_hash: PaymentHash,
    pub onion: Option<Box<OnionPacket>>,
    pub blinding_point: Option<Point>,
    /// Set when we accepted the add but must fail it back once committed
    /// (for example dust exposure), with the failure code to use.
    pub fail_on_commit: Option<u16>,
    pub state: InState,
}

impl OutboundHtlc {
    pub(crate) fn presence(&self, local: bool) -> Presence {
        use OutState::*;
        match (&self.state, local) {
            (SentAdd | AddCommitted, true) => Presence::NotYet,
            (AddRevoked | Committed, true) => Presence::Included,
            (Removed(..), true) => Presence::Removed,
            (SentAdd | AddCommitted | AddRevoked | Committed, false) => Presence::Included,
            (Removed(_, OutRemoveStage::Received), false) => Presence::Included,
            (Removed(..), false) => Presence::Removed,
        }
    }
    pub(crate) fn fulfilled(&self) -> bool {
        matches!(
            self.state,
            OutState::Removed(OutboundResolution::Fulfilled(_), _)
        )
    }
}

impl InboundHtlc {
    pub(crate) fn presence(&self, local: bool) -> Presence {
        use InState::*;
        match (&self.state, local) {
            (Removed(_, InRemoveStage::Revoked), true) => Presence::Removed,
            (_, true) => Presence::Included,
            (RcvdAdd, false) => Presence::NotYet,
            (AddSigned | AddCommitted | Committed, false) => Presence::Included,
            (Removed(..), false) => Presence::Removed,
        }
    }
    pub(crate) fn fulfilled(&self) -> bool {
        matches!(&self.state, InState::Removed(r, _) if r.is_fulfill())
    }
}

/// Who proposed a fee update and how far it went (the same dance as an
/// HTLC add: the funder's update reaches the peer's commitment first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeeStage {
    /// We (the funder) sent it: in the next remote commitment.
    Sent,
    /// We signed the remote commitment with it.
    SentCommitted,
    /// The peer revoked: in our next commitment too.
    SentRevoked,
    /// The peer (the funder) sent it: in our next commitment.
    Rcvd,
    /// The peer signed our commitment with it; in the next remote one.
    RcvdSigned,
    /// We signed the peer's commitment with it; waiting for its revocation.
    RcvdCommitted,
}

/// A fee rate update in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingFee {
    pub feerate: u32,
    pub stage: FeeStage,
}

impl PendingFee {
    /// Whether this fee applies to the next local (or remote) commitment.
    pub(crate) fn applies(&self, local: bool) -> bool {
        use FeeStage::*;
        match self.stage {
            Sent | SentCommitted => !local,
            SentRevoked => true,
            Rcvd => local,
            RcvdSigned | RcvdCommitted => true,
        }
    }
}
