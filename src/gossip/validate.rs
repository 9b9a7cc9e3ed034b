//! BOLT 7 validation of the three gossip messages, with typed errors and a
//! stable tag per requirement (used in the error text, the log line and
//! the test names).

use crate::codec::WithU16Len;
use crate::logger::Level;
use crate::msgs::{
    ChannelAnnouncement, ChannelUpdate, ErrorAction, LightningError, NodeAnnouncement, Warning,
};
use crate::types::{ChannelId, Point, ShortChannelId, WireSignature};
use bitcoin::secp256k1::{ecdsa::Signature, Message, PublicKey, Secp256k1, VerifyOnly};
use core::fmt;

/// Why a gossip message was not applied.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipError {
    /// `bolt7-unknown-chain`: the message is for another chain.
    WrongChain,
    /// `bolt7-invalid-point`: a node id or funding key is not a valid point.
    InvalidPoint,
    /// `bolt7-chan-ann-node-order`: `node_id_1` is not the lesser key.
    NodeIdsNotOrdered,
    /// `bolt7-chan-ann-sig` / `bolt7-node-ann-sig` / `bolt7-update-sig`: a
    /// signature does not verify; the field is which one.
    InvalidSignature(&'static str),
    /// `bolt7-chan-ann-unknown-features`: unknown even (required) feature bits.
    UnknownRequiredFeatures,
    /// `bolt7-chan-ann-funding`: the UTXO source has no such unspent output.
    FundingOutputMissing,
    /// `bolt7-chan-ann-funding-script`: the output is not the P2WSH of the two funding keys.
    FundingScriptMismatch,
    /// The funding check is waiting for an asynchronous UTXO answer.
    Pending,
    /// Spam limit: too many funding checks are already waiting.
    TooManyPendingLookups,
    /// `bolt7-chan-ann-duplicate` / `bolt7-update-duplicate`: already known.
    Duplicate,
    /// The channel was closed on chain recently; its gossip is ignored.
    RecentlyClosed,
    /// `bolt7-update-unknown-channel`: no announced channel with this id.
    UnknownChannel(ShortChannelId),
    /// `bolt7-node-ann-unknown`: the node has no announced channel.
    UnknownNode,
    /// `bolt7-update-timestamp` / `bolt7-node-ann-timestamp`: not newer than what we have.
    OutdatedTimestamp,
    /// `bolt7-update-future-timestamp`: unreasonably far in the future.
    FutureTimestamp,
    /// `bolt7-update-stale`: older than two weeks.
    StaleTimestamp,
    /// `bolt7-update-must-be-one`: `message_flags` bit 0 is not set.
    MustBeOneNotSet,
    /// `bolt7-update-htlc-max`: `htlc_maximum_msat` is below the minimum or above the capacity.
    InvalidHtlcLimits,
}

impl GossipError {
    /// The stable tag of the BOLT requirement this error enforces.
    pub fn tag(&self) -> &'static str {
        match self {
            GossipError::WrongChain => "bolt7-unknown-chain",
            GossipError::InvalidPoint => "bolt7-invalid-point",
            GossipError::NodeIdsNotOrdered => "bolt7-chan-ann-node-order",
            GossipError::InvalidSignature(_) => "bolt7-invalid-signature",
            GossipError::UnknownRequiredFeatures => "bolt7-chan-ann-unknown-features",
            GossipError::FundingOutputMissing => "bolt7-chan-ann-funding",
            GossipError::FundingScriptMismatch => "bolt7-chan-ann-funding-script",
            GossipError::Pending => "gossip-utxo-pending",
            GossipError::TooManyPendingLookups => "gossip-spam-pending-lookups",
            GossipError::Duplicate => "bolt7-duplicate",
            GossipError::RecentlyClosed => "gossip-recently-closed",
            GossipError::UnknownChannel(_) => "bolt7-update-unknown-channel",
            GossipError::UnknownNode => "bolt7-node-ann-unknown",
            GossipError::OutdatedTimestamp => "bolt7-update-timestamp",
            GossipError::FutureTimestamp => "bolt7-update-future-timestamp",
            GossipError::StaleTimestamp => "bolt7-update-stale",
            GossipError::MustBeOneNotSet => "bolt7-update-must-be-one",
            GossipError::InvalidHtlcLimits => "bolt7-update-htlc-max",
        }
    }

    /// What the peer manager should do about the sender.
    pub fn action(&self) -> ErrorAction {
        match self {
            // BOLT 7: invalid signatures "SHOULD send a warning".
            GossipError::InvalidSignature(_)
            | GossipError::InvalidPoint
            | GossipError::NodeIdsNotOrdered => ErrorAction::SendWarningMessage {
                msg: Warning {
                    channel_id: ChannelId::ALL,
                    data: WithU16Len(self.to_string().into_bytes()),
                    unknown_tlvs: Default::default(),
                },
                log_level: Level::Warn,
            },
            GossipError::Duplicate => ErrorAction::IgnoreDuplicateGossip,
            _ => ErrorAction::IgnoreAndLog(Level::Debug),
        }
    }

    /// As the handler trait's error type.
    pub fn into_lightning_error(self) -> LightningError {
        LightningError {
            err: self.to_string(),
            action: self.action(),
        }
    }
}

impl fmt::Display for GossipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            GossipError::WrongChain => "message for an unknown chain".to_string(),
            GossipError::InvalidPoint => "invalid public key".to_string(),
            GossipError::NodeIdsNotOrdered => "node_id_1 is not the lesser node id".to_string(),
            GossipError::InvalidSignature(which) => format!("invalid {which}"),
            GossipError::UnknownRequiredFeatures => "unknown required feature bits".to_string(),
            GossipError::FundingOutputMissing => "funding output missing or spent".to_string(),
            GossipError::FundingScriptMismatch => {
                "funding output script does not match the keys".to_string()
            }
            GossipError::Pending => "funding check pending".to_string(),
            GossipError::TooManyPendingLookups => "too many pending funding checks".to_string(),
            GossipError::Duplicate => "already known".to_string(),
            GossipError::RecentlyClosed => "channel closed on chain".to_string(),
            GossipError::UnknownChannel(s) => format!("unknown channel {s}"),
            GossipError::UnknownNode => "node has no announced channel".to_string(),
            GossipError::OutdatedTimestamp => "timestamp not newer than the stored one".to_string(),
            GossipError::FutureTimestamp => "timestamp too far in the future".to_string(),
            GossipError::StaleTimestamp => "timestamp older than two weeks".to_string(),
            GossipError::MustBeOneNotSet => "must_be_one message flag not set".to_string(),
            GossipError::InvalidHtlcLimits => "invalid htlc_maximum_msat".to_string(),
        };
        write!(f, "{}: {what}", self.tag())
    }
}

impl std::error::Error for GossipError {}

pub(crate) fn parse_point(p: &Point) -> Result<PublicKey, GossipError> {
    p.to_public_key().map_err(|_| GossipError::InvalidPoint)
}

pub(crate) fn verify(
    secp: &Secp256k1<VerifyOnly>,
    hash: &[u8; 32],
    sig: &WireSignature,
    key: &PublicKey,
    which: &'static str,
) -> Result<Signature, GossipError> {
    let sig = sig
        .to_signature()
        .map_err(|_| GossipError::InvalidSignature(which))?;
    let msg = Message::from_digest(*hash);
    secp.verify_ecdsa(&msg, &sig, key)
        .map_err(|_| GossipError::InvalidSignature(which))?;
    Ok(sig)
}

/// The stateless checks of a `channel_announcement` (BOLT 7 "the receiving
/// node"): chain, key order, required features, the four signatures.
/// Returns the parsed signatures.
pub(crate) fn check_channel_announcement(
    secp: &Secp256k1<VerifyOnly>,
    chain: &bitcoin::blockdata::constants::ChainHash,
    msg: &ChannelAnnouncement,
) -> Result<[Signature; 4], GossipError> {
    // bolt7-unknown-chain: "if the specified chain_hash is unknown to the
    // receiver: MUST ignore the message."
    if msg.chain_hash != *chain {
        return Err(GossipError::WrongChain);
    }
    // bolt7-chan-ann-node-order: node_id_1 is the lexicographically lesser.
    if msg.node_id_1 >= msg.node_id_2 {
        return Err(GossipError::NodeIdsNotOrdered);
    }
    // bolt7-chan-ann-unknown-features: "if there is an unknown even bit in
    // the features field: MUST NOT attempt to route messages through the
    // channel" — we do not store it.
    if msg.features.requires_unknown_bits() {
        return Err(GossipError::UnknownRequiredFeatures);
    }
    let n1 = parse_point(&msg.node_id_1)?;
    let n2 = parse_point(&msg.node_id_2)?;
    let b1 = parse_point(&msg.bitcoin_key_1)?;
    let b2 = parse_point(&msg.bitcoin_key_2)?;
    // bolt7-chan-ann-sig: the four signatures cover the double-SHA256 of the
    // message after them; any invalid one: "MUST ignore the message".
    let hash = msg.signed_hash();
    Ok([
        verify(secp, &hash, &msg.node_signature_1, &n1, "node_signature_1")?,
        verify(secp, &hash, &msg.node_signature_2, &n2, "node_signature_2")?,
        verify(
            secp,
            &hash,
            &msg.bitcoin_signature_1,
            &b1,
            "bitcoin_signature_1",
        )?,
        verify(
            secp,
            &hash,
            &msg.bitcoin_signature_2,
            &b2,
            "bitcoin_signature_2",
        )?,
    ])
}

/// Checks a `node_announcement`'s signature and returns it parsed.
pub(crate) fn check_node_announcement_sig(
    secp: &Secp256k1<VerifyOnly>,
    msg: &NodeAnnouncement,
) -> Result<Signature, GossipError> {
    let key = parse_point(&msg.node_id)?;
    // bolt7-node-ann-sig: "if signature is not a valid signature ... MUST
    // NOT process the message further."
    verify(
        secp,
        &msg.signed_hash(),
        &msg.signature,
        &key,
        "node_announcement signature",
    )
}

/// Checks a `channel_update`'s signature against the node of its direction.
pub(crate) fn check_channel_update_sig(
    secp: &Secp256k1<VerifyOnly>,
    msg: &ChannelUpdate,
    node: &Point,
) -> Result<Signature, GossipError> {
    let key = parse_point(node)?;
    // bolt7-update-sig: signed by node_id_1 (direction 0) or node_id_2.
    verify(
        secp,
        &msg.signed_hash(),
        &msg.signature,
        &key,
        "channel_update signature",
    )
}
