//! Sphinx packets (BOLT 4 "Packet Construction", "Packet Forwarding",
//! "Filler Generation"): building one for a route and peeling one layer.
//!
//! The core works on a `hop_payloads` buffer of any length, in place, so the
//! 1,300-byte payment onion and the variable-size onion-message packet share
//! it. Per hop, building costs one ECDH, one base-point multiplication and a
//! ChaCha20 pass over the buffer; peeling costs one ECDH, one HMAC, one
//! ChaCha20 pass and (only when forwarding) one point multiplication.

use super::payload::{HopPayload, HopPayloadError};
use super::{blinding_factor, ct_eq, generate_key, hmac, key_type, xor_stream, SharedSecret};
use crate::codec::{BigSize, DecodeError};
use crate::payment::onion::failure::FailureMessage;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing, Verification};
use core::fmt;

/// Length of `hop_payloads` in a payment onion (BOLT 4 "Packet Structure").
pub const HOP_PAYLOADS_LEN: usize = 1300;
/// Length of a whole payment onion: version, key, payloads, HMAC.
pub const ONION_PACKET_LEN: usize = 1 + 33 + HOP_PAYLOADS_LEN + 32;
/// Most hops a payment onion is built for. With the smallest useful TLV
/// payload (a few bytes plus the 32-byte HMAC) 27 hops fill 1,300 bytes.
pub const MAX_PAYMENT_HOPS: usize = 27;
/// The only packet version BOLT 4 defines.
pub const ONION_VERSION: u8 = 0;

/// The payment onion of `update_add_htlc`, defined with the messages.
pub use crate::msgs::OnionPacket;

/// A Sphinx packet whose `hop_payloads` length is set by the sender: the
/// `onion_message_packet` of BOLT 4 "Onion Messages" (1,300 or 32,768 bytes
/// of payloads are the recommended sizes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarOnionPacket {
    /// Packet version (0).
    pub version: u8,
    /// The sender's ephemeral key for this hop, compressed.
    pub public_key: [u8; 33],
    /// The obfuscated `onionmsg_payloads`.
    pub hop_payloads: Vec<u8>,
    /// The HMAC over `hop_payloads`.
    pub hmac: [u8; 32],
}

impl VarOnionPacket {
    /// Decodes a packet from exactly `bytes` (its length comes from the
    /// enclosing message's `len`).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < 1 + 33 + 32 {
            return Err(DecodeError::ShortRead);
        }
        let n = bytes.len() - 32;
        let mut public_key = [0u8; 33];
        public_key.copy_from_slice(&bytes[1..34]);
        let mut hmac = [0u8; 32];
        hmac.copy_from_slice(&bytes[n..]);
        Ok(VarOnionPacket {
            version: bytes[0],
            public_key,
            hop_payloads: bytes[34..n].to_vec(),
            hmac,
        })
    }

    /// The packet's bytes: version, key, payloads, HMAC.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 33 + self.hop_payloads.len() + 32);
        out.push(self.version);
        out.extend_from_slice(&self.public_key);
        out.extend_from_slice(&self.hop_payloads);
        out.extend_from_slice(&self.hmac);
        out
    }
}

/// Why an onion could not be built or peeled.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnionError {
    /// `bolt4-onion-version`: the version byte is not 0.
    UnknownVersion(u8),
    /// `bolt4-onion-key`: the ephemeral key is not a point on the curve.
    InvalidEphemeralKey,
    /// `bolt4-onion-hmac`: the HMAC does not match (wrong key, associated
    /// data or tampering).
    InvalidHmac,
    /// `bolt4-onion-payload-length`: the layer's length prefix is 0 or 1
    /// (reserved) or runs past the end of the packet.
    InvalidPayloadLength,
    /// The layer's `hop_payload` failed validation.
    Payload(HopPayloadError),
    /// Building: no hops were given.
    EmptyRoute,
    /// Building: more hops than a payment onion carries (27).
    TooManyHops(usize),
    /// Building: the payloads (with length prefixes and HMACs) do not fit.
    PayloadsTooLarge {
        /// Bytes the hops need.
        needed: usize,
        /// Bytes the packet has.
        available: usize,
    },
    /// A blinding factor was not a valid scalar (probability ~2^-128).
    InvalidBlindingFactor,
    /// The node signer could not compute the shared secret.
    Ecdh,
}

impl fmt::Display for OnionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnionError::UnknownVersion(v) => {
                write!(f, "bolt4-onion-version: unknown onion version {v}")
            }
            OnionError::InvalidEphemeralKey => {
                f.write_str("bolt4-onion-key: ephemeral key is not on the curve")
            }
            OnionError::InvalidHmac => f.write_str("bolt4-onion-hmac: onion hmac does not match"),
            OnionError::InvalidPayloadLength => f.write_str(
                "bolt4-onion-payload-length: hop payload length is reserved or too long",
            ),
            OnionError::Payload(e) => write!(f, "invalid hop payload: {e}"),
            OnionError::EmptyRoute => f.write_str("route has no hops"),
            OnionError::TooManyHops(n) => {
                write!(f, "route has {n} hops, more than {MAX_PAYMENT_HOPS}")
            }
            OnionError::PayloadsTooLarge { needed, available } => {
                write!(
                    f,
                    "hop payloads need {needed} bytes but the packet has {available}"
                )
            }
            OnionError::Ecdh => {
                f.write_str("node signer could not compute the onion shared secret")
            }
            OnionError::InvalidBlindingFactor => {
                f.write_str("blinding factor is not a valid scalar")
            }
        }
    }
}

impl std::error::Error for OnionError {}

impl From<HopPayloadError> for OnionError {
    fn from(e: HopPayloadError) -> Self {
        OnionError::Payload(e)
    }
}

impl OnionError {
    /// The failure message a processing hop returns for this error (BOLT 4
    /// "Failure Messages"). `packet_bytes` is the onion as received, whose
    /// SHA256 the BADONION failures carry.
    pub fn to_failure(&self, packet_bytes: &[u8]) -> FailureMessage {
        let sha256_of_onion = || sha256::Hash::hash(packet_bytes).to_byte_array();
        match self {
            OnionError::UnknownVersion(_) => FailureMessage::InvalidOnionVersion {
                sha256_of_onion: sha256_of_onion(),
            },
            OnionError::InvalidEphemeralKey => FailureMessage::InvalidOnionKey {
                sha256_of_onion: sha256_of_onion(),
            },
            OnionError::InvalidHmac => FailureMessage::InvalidOnionHmac {
                sha256_of_onion: sha256_of_onion(),
            },
            OnionError::Payload(HopPayloadError::Blinding(_)) => {
                FailureMessage::InvalidOnionBlinding {
                    sha256_of_onion: sha256_of_onion(),
                }
            }
            OnionError::Payload(e) => e.to_failure(),
            _ => FailureMessage::InvalidOnionPayload { typ: 0, offset: 0 },
        }
    }
}

/// Per-hop values the builder derives once and reuses for the filler, the
/// layers and (returned to the caller) the return path.
struct HopKeys {
    shared_secret: SharedSecret,
    rho: [u8; 32],
}

/// The shared secret of every hop of a route, as [`build_payment_onion`]
/// returns them: for a sender that kept only its session key (after a
/// restart) and must decrypt a failure.
pub fn onion_shared_secrets<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[PublicKey],
) -> Result<Vec<SharedSecret>, OnionError> {
    Ok(derive_hop_keys(secp, session_key, hops)?
        .into_iter()
        .map(|k| k.shared_secret)
        .collect())
}

/// Derives the shared secret of every hop (BOLT 4 "Packet Construction":
/// `ss_k = SHA256(ecdh(ek_k, node_k))`, `ek_{k+1} = ek_k * SHA256(epk_k || ss_k)`).
fn derive_hop_keys<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[PublicKey],
) -> Result<Vec<HopKeys>, OnionError> {
    let mut out = Vec::with_capacity(hops.len());
    let mut ek = *session_key;
    let last = hops.len().saturating_sub(1);
    for (i, node) in hops.iter().enumerate() {
        let ss = SharedSecret::new(node, &ek);
        out.push(HopKeys {
            shared_secret: ss,
            rho: generate_key(key_type::RHO, &ss.0),
        });
        if i < last {
            let epk = PublicKey::from_secret_key(secp, &ek);
            let b = blinding_factor(&epk, &ss)?;
            ek = ek
                .mul_tweak(&b)
                .map_err(|_| OnionError::InvalidBlindingFactor)?;
        }
    }
    Ok(out)
}

/// The number of bytes one hop takes in `hop_payloads`: length prefix,
/// payload and HMAC (BOLT 4 `shift_size`).
#[inline]
fn shift_size(payload_len: usize) -> usize {
    BigSize::encoded_len(payload_len as u64) + payload_len + 32
}

/// Builds the layered `hop_payloads` in place and returns the outer HMAC and
/// the hops' shared secrets.
///
/// `hops[i]` is the node key and the raw TLV payload (without its length
/// prefix) for hop `i`. `buf` is the `hop_payloads` buffer, any length.
fn construct_in_place<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[(PublicKey, &[u8])],
    associated_data: &[u8],
    buf: &mut [u8],
) -> Result<([u8; 32], Vec<SharedSecret>), OnionError> {
    if hops.is_empty() {
        return Err(OnionError::EmptyRoute);
    }
    let len = buf.len();
    let needed: usize = hops.iter().map(|(_, p)| shift_size(p.len())).sum();
    if needed > len {
        return Err(OnionError::PayloadsTooLarge {
            needed,
            available: len,
        });
    }
    let nodes: Vec<PublicKey> = hops.iter().map(|(pk, _)| *pk).collect();
    let keys = derive_hop_keys(secp, session_key, &nodes)?;

    // Filler (BOLT 4 "Filler Generation"): what the last hop's layer ends
    // with after every earlier hop appended its obfuscated zeros. Growing it
    // hop by hop: F_{i+1} = (F_i || 0^shift_i) XOR rho_i[len - |F_i| ..].
    let filler_len = needed - shift_size(hops[hops.len() - 1].1.len());
    let mut filler = vec![0u8; filler_len];
    let mut filled = 0usize;
    for (i, (_, payload)) in hops[..hops.len() - 1].iter().enumerate() {
        let shift = shift_size(payload.len());
        let start = (len - filled) as u64;
        filled += shift;
        xor_stream(&keys[i].rho, start, &mut filler[..filled]);
    }

    // Initial state: 1300 (or len) pseudo-random bytes from the pad key.
    let pad_key = generate_key(key_type::PAD, &session_key.secret_bytes());
    buf.fill(0);
    xor_stream(&pad_key, 0, buf);

    let mut next_hmac = [0u8; 32];
    for (i, (_, payload)) in hops.iter().enumerate().rev() {
        let shift = shift_size(payload.len());
        buf.copy_within(0..len - shift, shift);
        let mut pos = 0;
        pos += write_bigsize(&mut buf[pos..], payload.len() as u64);
        buf[pos..pos + payload.len()].copy_from_slice(payload);
        pos += payload.len();
        buf[pos..pos + 32].copy_from_slice(&next_hmac);
        xor_stream(&keys[i].rho, 0, buf);
        if i == hops.len() - 1 {
            buf[len - filler_len..].copy_from_slice(&filler);
        }
        let mu = generate_key(key_type::MU, &keys[i].shared_secret.0);
        next_hmac = hmac(&mu, &[buf, associated_data]);
    }
    Ok((
        next_hmac,
        keys.into_iter().map(|k| k.shared_secret).collect(),
    ))
}

/// Writes a BigSize at the front of `out`, returning its length.
fn write_bigsize(out: &mut [u8], v: u64) -> usize {
    let n = BigSize::encoded_len(v);
    match n {
        1 => out[0] = v as u8,
        3 => {
            out[0] = 0xfd;
            out[1..3].copy_from_slice(&(v as u16).to_be_bytes());
        }
        5 => {
            out[0] = 0xfe;
            out[1..5].copy_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out[0] = 0xff;
            out[1..9].copy_from_slice(&v.to_be_bytes());
        }
    }
    n
}

/// Builds a payment onion from raw TLV hop payloads (each without its length
/// prefix). `associated_data` is the payment hash. Returns the packet and the
/// shared secret of each hop, which the sender keeps to decrypt failures.
pub fn build_payment_onion_raw<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[(PublicKey, &[u8])],
    associated_data: &[u8],
) -> Result<(OnionPacket, Vec<SharedSecret>), OnionError> {
    if hops.len() > MAX_PAYMENT_HOPS {
        return Err(OnionError::TooManyHops(hops.len()));
    }
    let mut hop_data = [0u8; HOP_PAYLOADS_LEN];
    let (hmac, secrets) =
        construct_in_place(secp, session_key, hops, associated_data, &mut hop_data)?;
    let public_key = PublicKey::from_secret_key(secp, session_key).serialize();
    Ok((
        OnionPacket {
            version: ONION_VERSION,
            public_key,
            hop_data,
            hmac,
        },
        secrets,
    ))
}

/// Builds a payment onion for a route: `hops[i]` is hop `i`'s node id and
/// its payload (forward payloads for every hop but the last, a receive
/// payload for the last). `payment_hash` is the associated data.
pub fn build_payment_onion<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[(PublicKey, HopPayload)],
    payment_hash: &[u8; 32],
) -> Result<(OnionPacket, Vec<SharedSecret>), OnionError> {
    // One buffer for every encoded payload, sliced per hop.
    let mut all = Vec::with_capacity(hops.len() * 64);
    let mut ends = Vec::with_capacity(hops.len());
    for (_, p) in hops {
        p.write_to(&mut all);
        ends.push(all.len());
    }
    let mut raw = Vec::with_capacity(hops.len());
    let mut start = 0;
    for ((pk, _), end) in hops.iter().zip(&ends) {
        raw.push((*pk, &all[start..*end]));
        start = *end;
    }
    build_payment_onion_raw(secp, session_key, &raw, payment_hash)
}

/// Builds an onion-message packet with `payloads_len` bytes of payloads
/// (BOLT 4: SHOULD be 1300 or 32768; no associated data).
pub fn build_onion_message_packet<C: Signing>(
    secp: &Secp256k1<C>,
    session_key: &SecretKey,
    hops: &[(PublicKey, &[u8])],
    payloads_len: usize,
) -> Result<(VarOnionPacket, Vec<SharedSecret>), OnionError> {
    let mut hop_payloads = vec![0u8; payloads_len];
    let (hmac, secrets) = construct_in_place(secp, session_key, hops, &[], &mut hop_payloads)?;
    let public_key = PublicKey::from_secret_key(secp, session_key).serialize();
    Ok((
        VarOnionPacket {
            version: ONION_VERSION,
            public_key,
            hop_payloads,
            hmac,
        },
        secrets,
    ))
}

/// One opened layer: where this hop's payload sits in the decrypted buffer.
struct OpenedLayer {
    shared_secret: SharedSecret,
    rho: [u8; 32],
    payload_start: usize,
    payload_len: usize,
}

impl OpenedLayer {
    fn shift(&self) -> usize {
        self.payload_start + self.payload_len + 32
    }
}

/// Checks the HMAC and decrypts `buf` in place; the layer's payload and the
/// next HMAC are then readable at the front.
fn open_layer(
    shared_secret: SharedSecret,
    buf: &mut [u8],
    packet_hmac: &[u8; 32],
    associated_data: &[u8],
    allow_short_lengths: bool,
) -> Result<OpenedLayer, OnionError> {
    let mu = generate_key(key_type::MU, &shared_secret.0);
    // BOLT 4 "Packet Forwarding": "if the computed HMAC and the packet's
    // HMAC differ: MUST abort processing" (compared in constant time).
    if !ct_eq(&hmac(&mu, &[buf, associated_data]), packet_hmac) {
        return Err(OnionError::InvalidHmac);
    }
    let rho = generate_key(key_type::RHO, &shared_secret.0);
    xor_stream(&rho, 0, buf);
    let mut cursor: &[u8] = buf;
    let payload_len =
        BigSize::read_from_slice(&mut cursor).map_err(|_| OnionError::InvalidPayloadLength)?;
    let payload_start = buf.len() - cursor.len();
    // BOLT 4: "length values of 0 and 1 are reserved" for payment onions;
    // onion messages may carry an empty payload.
    if !allow_short_lengths && payload_len < 2 {
        return Err(OnionError::InvalidPayloadLength);
    }
    if payload_len > (cursor.len() as u64).saturating_sub(32) {
        return Err(OnionError::InvalidPayloadLength);
    }
    Ok(OpenedLayer {
        shared_secret,
        rho,
        payload_start,
        payload_len: payload_len as usize,
    })
}

/// Shifts the opened layer out of `buf`: the rest moves to the front and the
/// tail is filled with the rho stream past the packet's end (the "appended
/// zeros" of BOLT 4, obfuscated).
fn shift_layer(layer: &OpenedLayer, buf: &mut [u8]) {
    let len = buf.len();
    let shift = layer.shift();
    buf.copy_within(shift.., 0);
    buf[len - shift..].fill(0);
    xor_stream(&layer.rho, len as u64, &mut buf[len - shift..]);
}

/// The next hop's ephemeral key: `epk * SHA256(epk || ss)`.
fn next_ephemeral<C: Verification>(
    secp: &Secp256k1<C>,
    ephemeral: &PublicKey,
    ss: &SharedSecret,
) -> Result<PublicKey, OnionError> {
    let b = blinding_factor(ephemeral, ss)?;
    ephemeral
        .mul_tweak(secp, &b)
        .map_err(|_| OnionError::InvalidBlindingFactor)
}

/// What a hop finds when it peels its layer of a payment onion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeeledOnion {
    /// Forward the HTLC: `payload` is a [`HopPayload::Forward`] or
    /// [`HopPayload::BlindedForward`]; `next_packet` goes to the next hop.
    Forward {
        /// This hop's instructions.
        payload: HopPayload,
        /// The onion for the next hop.
        next_packet: Box<OnionPacket>,
        /// The shared secret, kept to wrap a failure coming back.
        shared_secret: SharedSecret,
    },
    /// This hop is the recipient: `payload` is a [`HopPayload::Receive`] or
    /// [`HopPayload::BlindedReceive`].
    Receive {
        /// The recipient's instructions.
        payload: HopPayload,
        /// The shared secret, kept to build a failure.
        shared_secret: SharedSecret,
    },
}

/// Peels one layer of a payment onion with this node's key (or its blinded
/// key inside a blinded route). `payment_hash` is the associated data;
/// `update_add_blinded` says whether the incoming `update_add_htlc` carried a
/// `blinding_point` (it changes which payloads are valid).
pub fn peel_payment_onion<C: Verification>(
    secp: &Secp256k1<C>,
    node_secret: &SecretKey,
    packet: &OnionPacket,
    payment_hash: &[u8; 32],
    update_add_blinded: bool,
) -> Result<PeeledOnion, OnionError> {
    peel_payment_onion_with_ecdh(
        secp,
        |ephemeral| Some(SharedSecret::new(ephemeral, node_secret)),
        packet,
        payment_hash,
        update_add_blinded,
    )
}

/// Like [`peel_payment_onion`] with the node key held by a
/// [`NodeSigner`](crate::sign::NodeSigner): the shared secret is its
/// `ecdh(Recipient::Node, ephemeral, tweak)`. Inside a blinded route, pass
/// the tweak [`blinded_node_tweak`](super::blinded_node_tweak) gives.
pub fn peel_payment_onion_with_signer<C: Verification>(
    secp: &Secp256k1<C>,
    signer: &dyn crate::sign::NodeSigner,
    tweak: Option<&bitcoin::secp256k1::Scalar>,
    packet: &OnionPacket,
    payment_hash: &[u8; 32],
    update_add_blinded: bool,
) -> Result<PeeledOnion, OnionError> {
    peel_payment_onion_with_ecdh(
        secp,
        |ephemeral| {
            signer
                .ecdh(crate::sign::Recipient::Node, ephemeral, tweak)
                .ok()
                .map(SharedSecret)
        },
        packet,
        payment_hash,
        update_add_blinded,
    )
}

/// Peels one layer of a payment onion, the shared secret with the packet's
/// ephemeral key coming from `ecdh` (`None`: [`OnionError::Ecdh`]).
pub fn peel_payment_onion_with_ecdh<C: Verification>(
    secp: &Secp256k1<C>,
    ecdh: impl FnOnce(&PublicKey) -> Option<SharedSecret>,
    packet: &OnionPacket,
    payment_hash: &[u8; 32],
    update_add_blinded: bool,
) -> Result<PeeledOnion, OnionError> {
    // BOLT 4: "upon receiving a higher version packet than it implements:
    // MUST report a route failure".
    if packet.version != ONION_VERSION {
        return Err(OnionError::UnknownVersion(packet.version));
    }
    // BOLT 4: "if the ephemeral public key is NOT on the secp256k1 curve:
    // MUST abort processing the packet".
    let ephemeral =
        PublicKey::from_slice(&packet.public_key).map_err(|_| OnionError::InvalidEphemeralKey)?;
    let shared_secret = ecdh(&ephemeral).ok_or(OnionError::Ecdh)?;
    let mut hop_data = packet.hop_data;
    let layer = open_layer(
        shared_secret,
        &mut hop_data,
        &packet.hmac,
        payment_hash,
        false,
    )?;
    let p_end = layer.payload_start + layer.payload_len;
    let mut next_hmac = [0u8; 32];
    next_hmac.copy_from_slice(&hop_data[p_end..p_end + 32]);
    // BOLT 4: an all-zero HMAC marks the final hop.
    let is_final = next_hmac == [0u8; 32];
    let payload = HopPayload::decode(
        &hop_data[layer.payload_start..p_end],
        is_final,
        update_add_blinded,
    )?;
    if is_final {
        return Ok(PeeledOnion::Receive {
            payload,
            shared_secret: layer.shared_secret,
        });
    }
    shift_layer(&layer, &mut hop_data);
    let next_key = next_ephemeral(secp, &ephemeral, &layer.shared_secret)?;
    Ok(PeeledOnion::Forward {
        payload,
        next_packet: Box::new(OnionPacket {
            version: ONION_VERSION,
            public_key: next_key.serialize(),
            hop_data,
            hmac: next_hmac,
        }),
        shared_secret: layer.shared_secret,
    })
}

/// A layer peeled without interpreting its payload: the raw TLV bytes, and
/// the packet for the next hop unless this hop is the last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPeeled<P> {
    /// The hop's payload (TLV bytes, no length prefix).
    pub payload: Vec<u8>,
    /// The next hop's packet, or `None` at the final hop.
    pub next: Option<P>,
    /// The shared secret of this hop.
    pub shared_secret: SharedSecret,
}

/// Peels one layer of a payment onion without decoding the payload (used by
/// the onion-message layer and by tests; payment code wants
/// [`peel_payment_onion`]).
pub fn peel_payment_onion_raw<C: Verification>(
    secp: &Secp256k1<C>,
    node_secret: &SecretKey,
    packet: &OnionPacket,
    associated_data: &[u8],
) -> Result<RawPeeled<OnionPacket>, OnionError> {
    if packet.version != ONION_VERSION {
        return Err(OnionError::UnknownVersion(packet.version));
    }
    let ephemeral =
        PublicKey::from_slice(&packet.public_key).map_err(|_| OnionError::InvalidEphemeralKey)?;
    let mut hop_data = packet.hop_data;
    let layer = open_layer(
        SharedSecret::new(&ephemeral, node_secret),
        &mut hop_data,
        &packet.hmac,
        associated_data,
        false,
    )?;
    let (payload, next_hmac) = take_payload(&layer, &hop_data);
    if next_hmac == [0u8; 32] {
        return Ok(RawPeeled {
            payload,
            next: None,
            shared_secret: layer.shared_secret,
        });
    }
    shift_layer(&layer, &mut hop_data);
    let next_key = next_ephemeral(secp, &ephemeral, &layer.shared_secret)?;
    let next = OnionPacket {
        version: ONION_VERSION,
        public_key: next_key.serialize(),
        hop_data,
        hmac: next_hmac,
    };
    Ok(RawPeeled {
        payload,
        next: Some(next),
        shared_secret: layer.shared_secret,
    })
}

/// Peels one layer of a variable-size packet (onion messages: no associated
/// data, empty payloads allowed).
pub fn peel_var_onion<C: Verification>(
    secp: &Secp256k1<C>,
    node_secret: &SecretKey,
    packet: &VarOnionPacket,
) -> Result<RawPeeled<VarOnionPacket>, OnionError> {
    if packet.version != ONION_VERSION {
        return Err(OnionError::UnknownVersion(packet.version));
    }
    let ephemeral =
        PublicKey::from_slice(&packet.public_key).map_err(|_| OnionError::InvalidEphemeralKey)?;
    let mut hop_payloads = packet.hop_payloads.clone();
    let layer = open_layer(
        SharedSecret::new(&ephemeral, node_secret),
        &mut hop_payloads,
        &packet.hmac,
        &[],
        true,
    )?;
    let (payload, next_hmac) = take_payload(&layer, &hop_payloads);
    if next_hmac == [0u8; 32] {
        return Ok(RawPeeled {
            payload,
            next: None,
            shared_secret: layer.shared_secret,
        });
    }
    shift_layer(&layer, &mut hop_payloads);
    let next_key = next_ephemeral(secp, &ephemeral, &layer.shared_secret)?;
    let next = VarOnionPacket {
        version: ONION_VERSION,
        public_key: next_key.serialize(),
        hop_payloads,
        hmac: next_hmac,
    };
    Ok(RawPeeled {
        payload,
        next: Some(next),
        shared_secret: layer.shared_secret,
    })
}

fn take_payload(layer: &OpenedLayer, buf: &[u8]) -> (Vec<u8>, [u8; 32]) {
    let p_end = layer.payload_start + layer.payload_len;
    let mut next_hmac = [0u8; 32];
    next_hmac.copy_from_slice(&buf[p_end..p_end + 32]);
    (buf[layer.payload_start..p_end].to_vec(), next_hmac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_slice(&[b; 32]).unwrap()
    }

    #[test]
    fn var_onion_round_trips_with_empty_payload() {
        let secp = Secp256k1::new();
        let nodes = [key(0x51), key(0x52)];
        let hops: Vec<(PublicKey, &[u8])> = vec![
            (PublicKey::from_secret_key(&secp, &nodes[0]), &b""[..]),
            (PublicKey::from_secret_key(&secp, &nodes[1]), &b"hi"[..]),
        ];
        let (pkt, secrets) = build_onion_message_packet(&secp, &key(0x61), &hops, 500).unwrap();
        let bytes = pkt.encode();
        assert_eq!(bytes.len(), 1 + 33 + 500 + 32);
        let pkt = VarOnionPacket::decode(&bytes).unwrap();
        let p0 = peel_var_onion(&secp, &nodes[0], &pkt).unwrap();
        assert_eq!(p0.payload, b"");
        assert_eq!(p0.shared_secret, secrets[0]);
        let p1 = peel_var_onion(&secp, &nodes[1], &p0.next.unwrap()).unwrap();
        assert_eq!(p1.payload, b"hi");
        assert!(p1.next.is_none());
    }

    #[test]
    fn too_large_payloads_are_refused() {
        let secp = Secp256k1::new();
        let pk = PublicKey::from_secret_key(&secp, &key(1));
        let big = vec![0x01u8; 1300];
        let err = build_payment_onion_raw(&secp, &key(2), &[(pk, &big[..])], &[0; 32]).unwrap_err();
        assert!(matches!(err, OnionError::PayloadsTooLarge { .. }));
        let small = [0x02u8, 0x01, 0x01];
        let many: Vec<(PublicKey, &[u8])> = (0..28).map(|_| (pk, &small[..])).collect();
        assert_eq!(
            build_payment_onion_raw(&secp, &key(2), &many, &[0; 32]).unwrap_err(),
            OnionError::TooManyHops(28)
        );
    }
}
