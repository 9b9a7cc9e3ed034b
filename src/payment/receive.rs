//! What a node does with an incoming `update_add_htlc` once it is
//! irrevocably committed: peel its onion layer, and either learn where to
//! forward it or check it as the final node (BOLT 4 "Accepting and
//! Forwarding a Payment", "`payload` format" reader requirements and
//! "Failure Messages"). Also: turning a refusal into the `update_fail_htlc`
//! or `update_fail_malformed_htlc` that goes back.
//!
//! Only checks that need no channel or invoice state live here. The caller
//! still checks, for a receive: the payment secret and amount
//! ([`verify_inbound_payment`](super::inbound::verify_inbound_payment)), the
//! invoice's own final CLTV delta ([`check_final_cltv_expiry`]) and the
//! multi-part set; for a forward: the outgoing channel, fee and CLTV delta.
//!
//! Route blinding is not supported yet: an HTLC inside a blinded route (a
//! `blinding_point` in `update_add_htlc`) or an onion with
//! `encrypted_recipient_data` is refused with `invalid_onion_blinding`.

use crate::codec::Writeable;
use crate::msgs::{
    AttributionData, OnionPacket, UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc,
};
use crate::payment::onion::failure::BADONION;
use crate::payment::onion::{
    create_fulfill_attribution, peel_payment_onion_with_ecdh, Failure, FailureMessage, HopPayload,
    OnionError, PeeledOnion, ReturnedFailure, SharedSecret,
};
use crate::sign::{NodeSigner, Recipient};
use crate::types::{ChannelId, PaymentHash, PaymentPreimage, PaymentSecret, ShortChannelId};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, Verification};
use core::fmt;

/// The smallest final CLTV delta accepted when the invoice's own delta is
/// not known yet (BOLT 11's default `min_final_cltv_expiry_delta`, 18).
pub const MIN_FINAL_CLTV_EXPIRY_DELTA: u16 = 18;

/// Custom records the recipient reports are those at or above this type.
const MIN_CUSTOM_TLV_TYPE: u64 = 1 << 16;

/// A committed incoming HTLC, its onion peeled.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncomingHtlc {
    /// We are the recipient; the final-node checks of this module passed.
    Receive {
        /// The hash the HTLC is locked to.
        payment_hash: PaymentHash,
        /// The HTLC's amount (`amount_msat` of `update_add_htlc`).
        amount_msat: u64,
        /// The amount the sender meant this HTLC to deliver (the onion's
        /// `amt_to_forward`, at most `amount_msat`): what counts toward
        /// `total_msat` of a multi-part set (BOLT 4 "Basic Multi-Part
        /// Payments").
        amt_to_forward: u64,
        /// The HTLC's `cltv_expiry`.
        cltv_expiry: u32,
        /// The payment secret, when the sender included `payment_data`.
        payment_secret: Option<PaymentSecret>,
        /// The total of the HTLC set (`amt_to_forward` without
        /// `payment_data`).
        total_msat: u64,
        /// A spontaneous payment's preimage (already checked against the
        /// payment hash).
        keysend_preimage: Option<PaymentPreimage>,
        /// The invoice's `payment_metadata`, echoed back.
        payment_metadata: Option<Vec<u8>>,
        /// Odd records of type 65,536 and above, in order.
        custom_tlvs: Vec<(u64, Vec<u8>)>,
        /// The onion shared secret, to fail or attribute the HTLC later.
        shared_secret: SharedSecret,
    },
    /// We are asked to forward it (done by the forwarding layer).
    Forward {
        /// The outgoing channel.
        short_channel_id: ShortChannelId,
        /// The amount of the outgoing HTLC.
        amt_to_forward: u64,
        /// The `cltv_expiry` of the outgoing HTLC.
        outgoing_cltv_value: u32,
        /// The onion for the next hop (boxed: 1,366 bytes).
        next_onion: Box<OnionPacket>,
        /// The onion shared secret, to wrap a failure coming back.
        shared_secret: SharedSecret,
    },
}

/// Why an incoming HTLC is refused, and how the refusal is sent.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HtlcFailure {
    /// The onion could not be opened (BADONION): answered with
    /// `update_fail_malformed_htlc`, which the previous hop turns into a
    /// failure it encrypts itself.
    Malformed {
        /// A BADONION failure code.
        failure_code: u16,
        /// SHA256 of the onion as received.
        sha256_of_onion: [u8; 32],
        /// The stable tag of the rule that refused it.
        tag: &'static str,
    },
    /// The onion was opened; the failure is encrypted for the origin with
    /// the shared secret and sent in `update_fail_htlc`.
    Fail {
        /// The failure message.
        failure: FailureMessage,
        /// This hop's onion shared secret.
        shared_secret: SharedSecret,
        /// The stable tag of the rule that refused it.
        tag: &'static str,
    },
}

impl fmt::Display for HtlcFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HtlcFailure::Malformed {
                failure_code, tag, ..
            } => write!(f, "{tag}: malformed onion (code {failure_code:#06x})"),
            HtlcFailure::Fail { failure, tag, .. } => {
                write!(f, "{tag}: failing htlc with {}", failure.name())
            }
        }
    }
}

impl std::error::Error for HtlcFailure {}

/// The message that fails an HTLC back to the peer that offered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HtlcFailureMsg {
    /// `update_fail_htlc` with the encrypted reason and attribution data
    /// (boxed: the attribution data is 920 bytes).
    Fail(Box<UpdateFailHtlc>),
    /// `update_fail_malformed_htlc`.
    Malformed(UpdateFailMalformedHtlc),
}

impl HtlcFailure {
    /// The stable tag of the rule that refused the HTLC (for logs).
    pub fn tag(&self) -> &'static str {
        match self {
            HtlcFailure::Malformed { tag, .. } | HtlcFailure::Fail { tag, .. } => tag,
        }
    }

    /// The BOLT 4 failure code sent back.
    pub fn failure_code(&self) -> u16 {
        match self {
            HtlcFailure::Malformed { failure_code, .. } => *failure_code,
            HtlcFailure::Fail { failure, .. } => failure.code(),
        }
    }

    /// The message failing HTLC `htlc_id` of `channel_id` back to the peer:
    /// the reason encrypted for the origin (with attribution data) or the
    /// malformed report.
    pub fn to_update_fail(&self, channel_id: ChannelId, htlc_id: u64) -> HtlcFailureMsg {
        match self {
            HtlcFailure::Malformed {
                failure_code,
                sha256_of_onion,
                ..
            } => HtlcFailureMsg::Malformed(UpdateFailMalformedHtlc {
                channel_id,
                id: htlc_id,
                sha256_of_onion: *sha256_of_onion,
                failure_code: *failure_code,
                unknown_tlvs: Default::default(),
            }),
            HtlcFailure::Fail {
                failure,
                shared_secret,
                ..
            } => HtlcFailureMsg::Fail(Box::new(update_fail_htlc(
                channel_id,
                htlc_id,
                shared_secret,
                failure,
            ))),
        }
    }
}

/// The encrypted failure packet (the `reason` of `update_fail_htlc`) and its
/// attribution data, built at this node for `failure` (BOLT 4 "Returning
/// Errors", erring node). Used to fail a decoded HTLC later, e.g. with
/// `incorrect_or_unknown_payment_details` after
/// [`verify_inbound_payment`](super::inbound::verify_inbound_payment) fails.
/// The hold time reported is 0.
pub fn fail_reason_for(shared_secret: &SharedSecret, failure: &FailureMessage) -> ReturnedFailure {
    ReturnedFailure::create(shared_secret, &Failure::from(failure.clone()), 0)
}

/// A whole `update_fail_htlc` for HTLC `htlc_id` of `channel_id` failed with
/// `failure` (see [`fail_reason_for`]).
pub fn update_fail_htlc(
    channel_id: ChannelId,
    htlc_id: u64,
    shared_secret: &SharedSecret,
    failure: &FailureMessage,
) -> UpdateFailHtlc {
    let r = fail_reason_for(shared_secret, failure);
    UpdateFailHtlc {
        channel_id,
        id: htlc_id,
        reason: crate::codec::WithU16Len(r.packet),
        attribution_data: r.attribution,
        unknown_tlvs: Default::default(),
    }
}

/// The attribution data the recipient attaches to `update_fulfill_htlc`
/// (attributable failures extension; hold time 0).
pub fn fulfill_attribution(shared_secret: &SharedSecret) -> AttributionData {
    create_fulfill_attribution(None, 0, shared_secret)
}

/// BOLT 4, final node: "if the `cltv_expiry` value is unreasonably near the
/// present: MUST fail the HTLC, MUST return an
/// `incorrect_or_unknown_payment_details` error"; the reader "MUST return an
/// error if ... incoming `cltv_expiry` < `current_block_height` +
/// `min_final_cltv_expiry_delta`". Tag `bolt4-final-cltv-too-soon`. Call it
/// again with the invoice's delta once the payment is verified.
pub fn check_final_cltv_expiry(
    cltv_expiry: u32,
    htlc_msat: u64,
    current_height: u32,
    min_final_cltv_expiry_delta: u16,
) -> Result<(), FailureMessage> {
    if u64::from(cltv_expiry) < u64::from(current_height) + u64::from(min_final_cltv_expiry_delta) {
        return Err(FailureMessage::IncorrectOrUnknownPaymentDetails {
            htlc_msat,
            height: current_height,
        });
    }
    Ok(())
}

/// Peels this node's layer of an incoming HTLC's onion (with the node key
/// held by `node_signer`) and applies the BOLT 4 checks that need no channel
/// state. `current_height` is our best block height.
pub fn decode_incoming_htlc<C: Verification>(
    node_signer: &dyn NodeSigner,
    secp: &Secp256k1<C>,
    msg: &UpdateAddHtlc,
    current_height: u32,
) -> Result<IncomingHtlc, HtlcFailure> {
    let packet = &msg.onion_routing_packet;
    let onion_hash = || sha256::Hash::hash(&packet.encode()).to_byte_array();
    let malformed = |failure: FailureMessage, tag| HtlcFailure::Malformed {
        failure_code: failure.code(),
        sha256_of_onion: onion_hash(),
        tag,
    };
    if msg.blinding_point.is_some() {
        // BOLT 4 "Failure Messages": "if `blinding_point` is set in the
        // incoming `update_add_htlc`: MUST return an `invalid_onion_blinding`
        // error" (inside a blinded route, via update_fail_malformed_htlc).
        // We do not process blinded routes yet.
        return Err(malformed(
            FailureMessage::InvalidOnionBlinding {
                sha256_of_onion: [0; 32],
            },
            "bolt4-onion-blinding",
        ));
    }
    // The shared secret is computed first so that a payload error (after the
    // HMAC checked) can still be encrypted for the origin.
    let ephemeral = PublicKey::from_slice(&packet.public_key).ok();
    let shared_secret = match ephemeral {
        Some(pk) if packet.version == 0 => match node_signer.ecdh(Recipient::Node, &pk, None) {
            Ok(ss) => Some(SharedSecret(ss)),
            // Without a shared secret nothing can be encrypted for the
            // origin: the only answer left is the malformed report.
            Err(_) => {
                return Err(malformed(
                    FailureMessage::InvalidOnionKey {
                        sha256_of_onion: [0; 32],
                    },
                    "bolt4-onion-key",
                ))
            }
        },
        _ => None,
    };
    let peeled =
        peel_payment_onion_with_ecdh(secp, |_| shared_secret, packet, &msg.payment_hash.0, false);
    let peeled = match peeled {
        Ok(p) => p,
        Err(e) => {
            let failure = e.to_failure(&packet.encode());
            let tag = onion_error_tag(&e);
            return Err(match (shared_secret, failure.code() & BADONION != 0) {
                (Some(ss), false) => HtlcFailure::Fail {
                    failure,
                    shared_secret: ss,
                    tag,
                },
                (Some(ss), true) if matches!(e, OnionError::Payload(_)) => {
                    // invalid_onion_blinding for a blinded payload at an
                    // introduction node: the HMAC verified, so it is
                    // encrypted for the origin like any other failure.
                    HtlcFailure::Fail {
                        failure,
                        shared_secret: ss,
                        tag,
                    }
                }
                _ => malformed(failure, tag),
            });
        }
    };
    match peeled {
        PeeledOnion::Forward {
            payload: HopPayload::Forward(f),
            next_packet,
            shared_secret,
        } => Ok(IncomingHtlc::Forward {
            short_channel_id: f.short_channel_id,
            amt_to_forward: f.amt_to_forward,
            outgoing_cltv_value: f.outgoing_cltv_value,
            next_onion: next_packet,
            shared_secret,
        }),
        PeeledOnion::Receive {
            payload: HopPayload::Receive(p),
            shared_secret,
        } => check_receive(msg, p, shared_secret, current_height),
        // Blinded payloads (introduction node): not supported yet.
        PeeledOnion::Forward { shared_secret, .. } | PeeledOnion::Receive { shared_secret, .. } => {
            Err(HtlcFailure::Fail {
                failure: FailureMessage::InvalidOnionBlinding {
                    sha256_of_onion: onion_hash(),
                },
                shared_secret,
                tag: "bolt4-onion-blinding",
            })
        }
    }
}

fn onion_error_tag(e: &OnionError) -> &'static str {
    match e {
        OnionError::UnknownVersion(_) => "bolt4-onion-version",
        OnionError::InvalidEphemeralKey => "bolt4-onion-key",
        OnionError::InvalidHmac => "bolt4-onion-hmac",
        OnionError::InvalidPayloadLength => "bolt4-onion-payload-length",
        OnionError::Payload(p) => match p {
            crate::payment::onion::HopPayloadError::InvalidTlvStream(_) => "bolt4-payload-tlv",
            crate::payment::onion::HopPayloadError::InvalidField { .. } => "bolt4-payload-field",
            crate::payment::onion::HopPayloadError::MissingField(_) => "bolt4-payload-missing",
            crate::payment::onion::HopPayloadError::UnexpectedField { .. } => {
                "bolt4-payload-unexpected"
            }
            _ => "bolt4-payload-blinding",
        },
        OnionError::Ecdh => "bolt4-onion-key",
        _ => "bolt4-onion-payload",
    }
}

/// The final-node checks (BOLT 4 "`payload` format", reader, "If it is the
/// final node", and "Failure Messages", final node).
fn check_receive(
    msg: &UpdateAddHtlc,
    p: crate::payment::onion::ReceivePayload,
    shared_secret: SharedSecret,
    current_height: u32,
) -> Result<IncomingHtlc, HtlcFailure> {
    let fail = |failure, tag| HtlcFailure::Fail {
        failure,
        shared_secret,
        tag,
    };
    let unknown_details = FailureMessage::IncorrectOrUnknownPaymentDetails {
        htlc_msat: msg.amount_msat,
        height: current_height,
    };
    // The checks against the HTLC itself come first: they catch a
    // penultimate hop that took too much or shortened the expiry.
    // "if `amount_msat` from the final node's HTLC is below `amt_to_forward`:
    // MUST return a `final_incorrect_htlc_amount` error."
    if msg.amount_msat < p.amt_to_forward {
        return Err(fail(
            FailureMessage::FinalIncorrectHtlcAmount {
                incoming_htlc_amt: msg.amount_msat,
            },
            "bolt4-final-incorrect-htlc-amount",
        ));
    }
    // "if the `cltv_expiry` from the final node's HTLC is below
    // `outgoing_cltv_value`: MUST return `final_incorrect_cltv_expiry` error."
    if msg.cltv_expiry < p.outgoing_cltv_value {
        return Err(fail(
            FailureMessage::FinalIncorrectCltvExpiry {
                cltv_expiry: msg.cltv_expiry,
            },
            "bolt4-final-incorrect-cltv-expiry",
        ));
    }
    // "if the `cltv_expiry` value is unreasonably near the present: MUST
    // return an `incorrect_or_unknown_payment_details` error."
    if let Err(f) = check_final_cltv_expiry(
        msg.cltv_expiry,
        msg.amount_msat,
        current_height,
        MIN_FINAL_CLTV_EXPIRY_DELTA,
    ) {
        return Err(fail(f, "bolt4-final-cltv-too-soon"));
    }
    // A keysend preimage that does not unlock the HTLC: the payment hash is
    // unknown to us ("if the payment hash is unknown: MUST fail the HTLC,
    // MUST return an `incorrect_or_unknown_payment_details` error").
    if let Some(pre) = &p.keysend_preimage {
        if pre.payment_hash() != msg.payment_hash {
            return Err(fail(unknown_details, "bolt4-final-keysend-preimage"));
        }
    }
    // "if ... the `payment_secret` is required and is not present: MUST fail
    // the HTLC, MUST return an `incorrect_or_unknown_payment_details` error".
    // We require it for every invoice payment; keysend carries the preimage.
    if p.payment_data.is_none() && p.keysend_preimage.is_none() {
        return Err(fail(unknown_details, "bolt4-final-payment-secret-missing"));
    }
    let total_msat = p.total_msat();
    let custom_tlvs = p
        .unknown_tlvs
        .0
        .into_iter()
        .filter(|r| r.typ >= MIN_CUSTOM_TLV_TYPE)
        .map(|r| (r.typ, r.value))
        .collect();
    Ok(IncomingHtlc::Receive {
        payment_hash: msg.payment_hash,
        amount_msat: msg.amount_msat,
        amt_to_forward: p.amt_to_forward,
        cltv_expiry: msg.cltv_expiry,
        payment_secret: p.payment_data.map(|d| d.payment_secret),
        total_msat,
        keysend_preimage: p.keysend_preimage,
        payment_metadata: p.payment_metadata,
        custom_tlvs,
        shared_secret,
    })
}
