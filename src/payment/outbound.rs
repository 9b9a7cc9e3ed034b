//! Sending side of a payment, one path at a time: the onion for an
//! `update_add_htlc` over a [`Path`], and the reading of the failure that
//! comes back (`update_fail_htlc` or `update_fail_malformed_htlc`).
//!
//! [`RouteHop`](crate::routing::RouteHop) semantics: on every hop but the
//! last, `fee_msat` and `cltv_expiry_delta` are what that hop's node takes
//! for forwarding to the next hop; on the last hop they are the amount
//! delivered and the recipient's final CLTV delta.

use crate::codec::{TlvRecord, TlvStream};
use crate::gossip::NodeId;
use crate::msgs::{UpdateFailHtlc, UpdateFailMalformedHtlc};
use crate::payment::onion::failure::{BADONION, NODE, PERM, UPDATE};
use crate::payment::onion::packet::onion_shared_secrets;
use crate::payment::onion::payload::tlv_type::KEYSEND_PREIMAGE;
use crate::payment::onion::{
    build_payment_onion, ChannelUpdateBytes, FailureMessage, FailureOutcome, ForwardPayload,
    HopPayload, OnionError, OnionPacket, PaymentData, ReceivePayload, ReturnedFailure,
    SharedSecret,
};
use crate::routing::Path;
use crate::types::{PaymentHash, PaymentPreimage, PaymentSecret, ShortChannelId};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use core::fmt;

/// Custom TLV records in the final hop's payload must use types at or above
/// this (BOLT 1 reserves lower types for the spec).
pub const MIN_CUSTOM_TLV_TYPE: u64 = 1 << 16;

/// What the recipient's payload carries besides amount and CLTV: the
/// invoice's payment secret and metadata, and custom records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipientOnionFields {
    /// The invoice's `payment_secret` (sent in `payment_data` with the
    /// total). Required for multi-part payments.
    pub payment_secret: Option<PaymentSecret>,
    /// The invoice's `payment_metadata`, echoed to the recipient.
    pub payment_metadata: Option<Vec<u8>>,
    /// Custom records `(type, value)`: types at least 65,536, strictly
    /// increasing, not the keysend type. An even type is refused by a
    /// recipient that does not know it (BOLT 1), including this crate's.
    pub custom_tlvs: Vec<(u64, Vec<u8>)>,
}

impl RecipientOnionFields {
    /// Fields for paying an invoice that gave only a payment secret.
    pub fn secret_only(payment_secret: PaymentSecret) -> Self {
        RecipientOnionFields {
            payment_secret: Some(payment_secret),
            ..Default::default()
        }
    }

    /// No secret, metadata or records: a spontaneous (keysend) payment.
    pub fn spontaneous_empty() -> Self {
        Self::default()
    }

    /// Sets the custom records after checking them (see
    /// [`RecipientOnionFields::check_custom_tlvs`]).
    pub fn with_custom_tlvs(
        mut self,
        custom_tlvs: Vec<(u64, Vec<u8>)>,
    ) -> Result<Self, OnionBuildError> {
        self.custom_tlvs = custom_tlvs;
        self.check_custom_tlvs()?;
        Ok(self)
    }

    /// `onion-custom-tlv`: every custom type is at least 65,536, not the
    /// keysend type, and the list is strictly increasing (a TLV stream must
    /// be, BOLT 1: no duplicates).
    pub fn check_custom_tlvs(&self) -> Result<(), OnionBuildError> {
        let mut prev: Option<u64> = None;
        for (typ, _) in &self.custom_tlvs {
            if *typ < MIN_CUSTOM_TLV_TYPE
                || *typ == KEYSEND_PREIMAGE
                || prev.is_some_and(|p| p >= *typ)
            {
                return Err(OnionBuildError::InvalidCustomTlv(*typ));
            }
            prev = Some(*typ);
        }
        Ok(())
    }
}

/// Why an onion could not be built for a path.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnionBuildError {
    /// The path has no hops.
    EmptyPath,
    /// `onion-custom-tlv`: a custom record type is below 65,536, is the
    /// keysend type, or is out of order or repeated.
    InvalidCustomTlv(u64),
    /// A hop's node id is not a valid public key.
    InvalidNodeId(usize),
    /// Amounts or CLTV values along the path overflow.
    Overflow,
    /// `onion-total-msat`: `total_msat` is below what this path delivers,
    /// or differs from it without a payment secret (BOLT 4: without
    /// `payment_data` the total is the HTLC's amount).
    InvalidTotal {
        /// The total given.
        total_msat: u64,
        /// What the path delivers.
        path_msat: u64,
    },
    /// `onion-keysend-preimage`: the keysend preimage does not hash to the
    /// payment hash.
    KeysendPreimageMismatch,
    /// The Sphinx construction failed (too many hops, payloads too large).
    Onion(OnionError),
}

impl fmt::Display for OnionBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnionBuildError::EmptyPath => f.write_str("path has no hops"),
            OnionBuildError::InvalidCustomTlv(t) => write!(
                f,
                "onion-custom-tlv: custom record type {t} is reserved, repeated or out of order"
            ),
            OnionBuildError::InvalidNodeId(i) => write!(f, "hop {i} has an invalid node id"),
            OnionBuildError::Overflow => f.write_str("path amounts or cltv values overflow"),
            OnionBuildError::InvalidTotal {
                total_msat,
                path_msat,
            } => write!(
                f,
                "onion-total-msat: total {total_msat} msat is invalid for a path delivering {path_msat} msat"
            ),
            OnionBuildError::KeysendPreimageMismatch => f.write_str(
                "onion-keysend-preimage: keysend preimage does not match the payment hash",
            ),
            OnionBuildError::Onion(e) => write!(f, "onion construction failed: {e}"),
        }
    }
}

impl std::error::Error for OnionBuildError {}

impl From<OnionError> for OnionBuildError {
    fn from(e: OnionError) -> Self {
        OnionBuildError::Onion(e)
    }
}

/// Everything the sender needs to offer the HTLC for one path and, later,
/// to read its failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundOnion {
    /// The amount of the HTLC offered to the first hop.
    pub first_hop_amount_msat: u64,
    /// The `cltv_expiry` of the HTLC offered to the first hop.
    pub first_hop_cltv_expiry: u32,
    /// The `onion_routing_packet` of that `update_add_htlc`.
    pub onion: OnionPacket,
    /// Each hop's shared secret, in path order (keep them to decrypt a
    /// failure; they can also be re-derived from the session key).
    pub shared_secrets: Vec<SharedSecret>,
}

/// Builds the payment onion for one path of a payment (BOLT 4 "Packet
/// Construction" and "`payload` format", writer side).
///
/// - Each intermediate hop `i` gets `amt_to_forward`, `outgoing_cltv_value`
///   and `short_channel_id` for the HTLC it offers to hop `i + 1`.
/// - The final hop gets `amt_to_forward` = its `fee_msat`,
///   `outgoing_cltv_value` = `best_block_height` + its `cltv_expiry_delta`,
///   and `payment_data` (secret and `total_msat`) when a secret is given,
///   the keysend preimage (type 5482373484), metadata and custom records.
/// - The associated data is the payment hash.
///
/// `total_msat` is the whole payment's total (equal to the path's amount
/// for a single-path payment).
#[allow(clippy::too_many_arguments)]
pub fn build_onion_for_path<C: Signing>(
    secp: &Secp256k1<C>,
    path: &Path,
    total_msat: u64,
    recipient: &RecipientOnionFields,
    keysend_preimage: Option<PaymentPreimage>,
    best_block_height: u32,
    payment_hash: &PaymentHash,
    session_priv: &SecretKey,
) -> Result<OutboundOnion, OnionBuildError> {
    let (last, _) = path.hops.split_last().ok_or(OnionBuildError::EmptyPath)?;
    recipient.check_custom_tlvs()?;
    if let Some(p) = &keysend_preimage {
        if p.payment_hash() != *payment_hash {
            return Err(OnionBuildError::KeysendPreimageMismatch);
        }
    }
    let final_msat = last.fee_msat;
    // BOLT 4 writer: "if the recipient provided `payment_secret` ... MUST set
    // `total_msat` to the total amount it will send"; without `payment_data`
    // the reader treats the total as `amt_to_forward`.
    if total_msat < final_msat || (recipient.payment_secret.is_none() && total_msat != final_msat) {
        return Err(OnionBuildError::InvalidTotal {
            total_msat,
            path_msat: final_msat,
        });
    }
    let mut cltv = best_block_height
        .checked_add(last.cltv_expiry_delta)
        .ok_or(OnionBuildError::Overflow)?;
    let mut amount = final_msat;

    let mut hops: Vec<(PublicKey, HopPayload)> = Vec::with_capacity(path.hops.len());
    let unknown_tlvs = TlvStream(
        recipient
            .custom_tlvs
            .iter()
            .map(|(typ, value)| TlvRecord {
                typ: *typ,
                value: value.clone(),
            })
            .collect(),
    );
    hops.push((
        node_key(path, path.hops.len() - 1)?,
        HopPayload::Receive(ReceivePayload {
            amt_to_forward: amount,
            outgoing_cltv_value: cltv,
            payment_data: recipient.payment_secret.map(|payment_secret| PaymentData {
                payment_secret,
                total_msat,
            }),
            payment_metadata: recipient.payment_metadata.clone(),
            keysend_preimage,
            unknown_tlvs,
        }),
    ));
    // Walk back from the penultimate hop: hop i forwards over hop i+1's
    // channel, keeping its fee and CLTV delta.
    for i in (0..path.hops.len() - 1).rev() {
        let hop = &path.hops[i];
        hops.push((
            node_key(path, i)?,
            HopPayload::Forward(ForwardPayload {
                short_channel_id: path.hops[i + 1].short_channel_id,
                amt_to_forward: amount,
                outgoing_cltv_value: cltv,
                unknown_tlvs: TlvStream::new(),
            }),
        ));
        amount = amount
            .checked_add(hop.fee_msat)
            .ok_or(OnionBuildError::Overflow)?;
        cltv = cltv
            .checked_add(hop.cltv_expiry_delta)
            .ok_or(OnionBuildError::Overflow)?;
    }
    hops.reverse();
    let (onion, shared_secrets) = build_payment_onion(secp, session_priv, &hops, &payment_hash.0)?;
    Ok(OutboundOnion {
        first_hop_amount_msat: amount,
        first_hop_cltv_expiry: cltv,
        onion,
        shared_secrets,
    })
}

fn node_key(path: &Path, i: usize) -> Result<PublicKey, OnionBuildError> {
    path.hops[i]
        .pubkey
        .to_public_key()
        .map_err(|_| OnionBuildError::InvalidNodeId(i))
}

/// What the sender should change in its view of the network after a
/// failure (BOLT 4 "Receiving Failure Codes").
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkUpdate {
    /// The failure carried a `channel_update` (UPDATE bit): apply it if it
    /// is valid and newer than the one used.
    ChannelUpdateMessage {
        /// The enclosed update, as received.
        update: ChannelUpdateBytes,
        /// The channel the erring node forwards over (the one to avoid if the
        /// update cannot be applied).
        short_channel_id: ShortChannelId,
    },
    /// Avoid this channel (permanently, or until a new update).
    ChannelFailure {
        /// The channel.
        short_channel_id: ShortChannelId,
        /// PERM bit: remove rather than avoid for a while.
        is_permanent: bool,
    },
    /// Avoid every channel of this node (NODE bit).
    NodeFailure {
        /// The node.
        node_id: NodeId,
        /// PERM bit: remove rather than avoid for a while.
        is_permanent: bool,
    },
}

/// The sender's reading of a failed HTLC on one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFailure {
    /// Which hop (0 = our peer) produced the failure, when known.
    pub failing_hop_index: Option<usize>,
    /// The BOLT 4 failure code, when the failure could be read.
    pub failure_code: Option<u16>,
    /// The failure message, when it could be read.
    pub failure: Option<FailureMessage>,
    /// The recipient said the payment cannot succeed (PERM bit from the
    /// final node, e.g. `incorrect_or_unknown_payment_details`): stop
    /// retrying.
    pub payment_failed_permanently: bool,
    /// The channel to avoid when retrying this payment, if one is to blame.
    pub short_channel_id_to_blame: Option<ShortChannelId>,
    /// What to change in the network graph, if anything.
    pub network_update: Option<NetworkUpdate>,
    /// Hold times (units of 100 ms) the hops reported in attribution data,
    /// in path order.
    pub hold_times: Vec<u32>,
}

impl PathFailure {
    fn unknown() -> Self {
        PathFailure {
            failing_hop_index: None,
            failure_code: None,
            failure: None,
            payment_failed_permanently: false,
            short_channel_id_to_blame: None,
            network_update: None,
            hold_times: Vec::new(),
        }
    }
}

/// Reads an `update_fail_htlc` for an HTLC we sent over `path` with
/// `session_priv` (the shared secrets are re-derived from it).
pub fn decode_update_fail<C: Signing>(
    secp: &Secp256k1<C>,
    path: &Path,
    session_priv: &SecretKey,
    msg: &UpdateFailHtlc,
) -> PathFailure {
    let mut nodes = Vec::with_capacity(path.hops.len());
    for hop in &path.hops {
        match hop.pubkey.to_public_key() {
            Ok(pk) => nodes.push(pk),
            // A path we could not have built an onion for: nothing to read.
            Err(_) => return PathFailure::unknown(),
        }
    }
    match onion_shared_secrets(secp, session_priv, &nodes) {
        Ok(secrets) => decode_update_fail_with_secrets(path, &secrets, msg),
        Err(_) => PathFailure::unknown(),
    }
}

/// Like [`decode_update_fail`] with the shared secrets kept from
/// [`OutboundOnion::shared_secrets`].
pub fn decode_update_fail_with_secrets(
    path: &Path,
    shared_secrets: &[SharedSecret],
    msg: &UpdateFailHtlc,
) -> PathFailure {
    let decoded = ReturnedFailure::from_update_fail_htlc(msg).decode(shared_secrets);
    let n = path.hops.len();
    let mut out = PathFailure::unknown();
    out.hold_times = decoded.hold_times;
    match decoded.outcome {
        FailureOutcome::Attributed { hop_index, failure } if hop_index < n => {
            let msg = failure.message;
            out.failing_hop_index = Some(hop_index);
            out.failure_code = Some(msg.code());
            classify(path, hop_index, &msg, &mut out);
            out.failure = Some(msg);
        }
        FailureOutcome::Malformed { hop_index, .. } if hop_index < n => {
            // The hop authenticated bytes that are not a failure message: it
            // misbehaves. From the recipient, the payment cannot go on.
            out.failing_hop_index = Some(hop_index);
            if hop_index + 1 == n {
                out.payment_failed_permanently = true;
            } else {
                out.network_update = Some(NetworkUpdate::NodeFailure {
                    node_id: path.hops[hop_index].pubkey,
                    is_permanent: true,
                });
            }
        }
        FailureOutcome::Garbled {
            attribution_failed_at: Some(i),
        } if i > 0 && i < n => {
            // Hops 0..i proved they relayed faithfully; hop i-1 or hop i
            // corrupted the packet: avoid the channel between them.
            out.short_channel_id_to_blame = Some(path.hops[i].short_channel_id);
        }
        _ => {}
    }
    out
}

/// BOLT 4 "Receiving Failure Codes", origin node.
fn classify(path: &Path, i: usize, msg: &FailureMessage, out: &mut PathFailure) {
    let code = msg.code();
    let perm = code & PERM != 0;
    let n = path.hops.len();
    if i + 1 == n {
        // "if the final node is returning the error: if the PERM bit is set:
        // SHOULD fail the payment. otherwise ... MAY retry".
        out.payment_failed_permanently = perm;
        return;
    }
    // An intermediate hop. Failures only the final node may send
    // (incorrect_or_unknown_payment_details, final_incorrect_*) from an
    // intermediate hop mean the hop misbehaves: drop the node.
    let final_only = matches!(
        msg,
        FailureMessage::IncorrectOrUnknownPaymentDetails { .. }
            | FailureMessage::FinalIncorrectCltvExpiry { .. }
            | FailureMessage::FinalIncorrectHtlcAmount { .. }
    );
    let outgoing = path.hops[i + 1].short_channel_id;
    if final_only || code & NODE != 0 {
        // "if the NODE bit is set: SHOULD remove all channels connected with
        // the erring node from consideration."
        out.network_update = Some(NetworkUpdate::NodeFailure {
            node_id: path.hops[i].pubkey,
            is_permanent: perm || final_only,
        });
        return;
    }
    out.short_channel_id_to_blame = Some(outgoing);
    if code & BADONION != 0 {
        // The next node could not parse our onion (relayed from its
        // update_fail_malformed_htlc): avoid that channel for this payment.
        return;
    }
    match msg.channel_update() {
        // "if UPDATE is set, AND the channel_update is valid and more recent
        // ... SHOULD apply the channel_update".
        Some(update) if code & UPDATE != 0 => {
            out.network_update = Some(NetworkUpdate::ChannelUpdateMessage {
                update: update.clone(),
                short_channel_id: outgoing,
            });
        }
        // "otherwise: SHOULD eliminate the channel outgoing from the erring
        // node from consideration."
        _ => {
            out.network_update = Some(NetworkUpdate::ChannelFailure {
                short_channel_id: outgoing,
                is_permanent: perm,
            });
        }
    }
}

/// Reads an `update_fail_malformed_htlc` from our peer: the first hop could
/// not parse the onion we sent (BOLT 2 lets only the direct peer send it).
/// The failure is the first hop's; the payment may be retried.
pub fn decode_update_fail_malformed(path: &Path, msg: &UpdateFailMalformedHtlc) -> PathFailure {
    let mut out = PathFailure::unknown();
    if path.hops.is_empty() {
        return out;
    }
    out.failing_hop_index = Some(0);
    out.failure_code = Some(msg.failure_code);
    out.failure = Some(FailureMessage::from_malformed(
        msg.failure_code,
        msg.sha256_of_onion,
    ));
    out.short_channel_id_to_blame = Some(path.hops[0].short_channel_id);
    out
}
