//! BOLT 4 onion routing: Sphinx packets, hop payloads and failures.
//!
//! - [`packet`]: building a Sphinx packet for a route (up to 27 hops in the
//!   1,300-byte payment onion, any size for onion messages) and peeling one
//!   layer at a hop.
//! - [`payload`]: the TLV `hop_payload` a hop finds in its layer, decoded into
//!   a forward or a receive instruction with BOLT 4's validation.
//! - [`failure`]: every BOLT 4 failure message as a typed value.
//! - [`error_packet`]: failure packets on the way back: built and encrypted at
//!   the failing hop, re-wrapped at each hop back, decrypted and attributed at
//!   the sender (with the attribution data of BOLT 4's returning-errors vector).
//!
//! The shared secrets computed while building (or peeling) are returned so the
//! caller keeps them for the return path: they are computed once.

pub mod error_packet;
pub mod failure;
pub mod packet;
pub mod payload;

pub use error_packet::{
    create_fulfill_attribution, decode_failure, decode_fulfill_attribution, AttributionData,
    DecodedFailure, FailureOutcome, ReturnedFailure, ATTRIBUTION_DATA_LEN, MAX_ATTRIBUTABLE_HOPS,
};
pub use failure::{ChannelUpdateBytes, Failure, FailureDecodeError, FailureMessage};
pub use packet::{
    build_onion_message_packet, build_payment_onion, build_payment_onion_raw, peel_payment_onion,
    peel_payment_onion_raw, peel_payment_onion_with_ecdh, peel_payment_onion_with_signer,
    peel_var_onion, OnionError, OnionPacket, PeeledOnion, RawPeeled, VarOnionPacket,
    HOP_PAYLOADS_LEN, MAX_PAYMENT_HOPS, ONION_PACKET_LEN,
};
pub use payload::{
    BlindedForwardPayload, BlindedReceivePayload, ForwardPayload, HopPayload, HopPayloadError,
    PaymentData, ReceivePayload,
};

use bitcoin::hashes::{sha256, Hash, HashEngine, Hmac, HmacEngine};
use bitcoin::secp256k1::{ecdh, PublicKey, Scalar, SecretKey};
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;
use core::fmt;

/// The ECDH shared secret between the sender's ephemeral key and one hop:
/// `SHA256(compressed(ecdh point))`. Everything a hop derives (rho, mu, um,
/// ammag keys) comes from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharedSecret(pub [u8; 32]);

impl SharedSecret {
    /// ECDH of `secret` and `point`, hashed as BOLT 4 "Shared Secret" says
    /// (libsecp256k1's default: SHA256 of the compressed point).
    pub fn new(point: &PublicKey, secret: &SecretKey) -> Self {
        SharedSecret(ecdh::SharedSecret::new(point, secret).secret_bytes())
    }
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A secret: do not print it.
        f.write_str("SharedSecret(..)")
    }
}

/// The key types of BOLT 4 "Key Generation" (no trailing NUL byte).
pub mod key_type {
    /// Obfuscates the forward `hop_payloads`.
    pub const RHO: &[u8] = b"rho";
    /// Authenticates the forward packet.
    pub const MU: &[u8] = b"mu";
    /// Authenticates failure packets and attribution data.
    pub const UM: &[u8] = b"um";
    /// Seeds the initial random `hop_payloads`.
    pub const PAD: &[u8] = b"pad";
    /// Obfuscates failure packets.
    pub const AMMAG: &[u8] = b"ammag";
    /// Obfuscates attribution data.
    pub const AMMAG_EXT: &[u8] = b"ammagext";
}

/// BOLT 4 "Key Generation": `HMAC-SHA256(key = key_type, msg = secret)`.
#[inline]
pub fn generate_key(key_type: &[u8], secret: &[u8; 32]) -> [u8; 32] {
    let mut e = HmacEngine::<sha256::Hash>::new(key_type);
    e.input(secret);
    Hmac::<sha256::Hash>::from_engine(e).to_byte_array()
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
#[inline]
pub(crate) fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut e = HmacEngine::<sha256::Hash>::new(key);
    for p in parts {
        e.input(p);
    }
    Hmac::<sha256::Hash>::from_engine(e).to_byte_array()
}

/// Constant-time equality of two byte strings of the same length (BOLT 4:
/// "Comparison of the computed HMAC and the packet's HMAC MUST be
/// time-constant").
#[inline]
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// BOLT 4 "Pseudo Random Byte Stream": XORs `buf` with the ChaCha20 stream
/// of `key` (zero nonce), starting `offset` bytes into the stream.
#[inline]
pub(crate) fn xor_stream(key: &[u8; 32], offset: u64, buf: &mut [u8]) {
    let mut c = ChaCha20::new(key.into(), &[0u8; 12].into());
    if offset != 0 {
        c.seek(offset);
    }
    c.apply_keystream(buf);
}

/// The blinding factor of BOLT 4 "Blinding Ephemeral Keys":
/// `SHA256(compressed(ephemeral_pubkey) || shared_secret)` as a scalar.
#[inline]
pub(crate) fn blinding_factor(
    ephemeral: &PublicKey,
    ss: &SharedSecret,
) -> Result<Scalar, OnionError> {
    let mut e = sha256::Hash::engine();
    e.input(&ephemeral.serialize());
    e.input(&ss.0);
    let h = sha256::Hash::from_engine(e).to_byte_array();
    // A hash at or above the curve order has negligible probability; refuse
    // it rather than reduce it, as every implementation would fail there too.
    Scalar::from_be_bytes(h).map_err(|_| OnionError::InvalidBlindingFactor)
}

/// Route blinding, reader side with a [`NodeSigner`](crate::sign::NodeSigner):
/// the tweak `HMAC256("blinded_node_id", ss_i)` that turns the node key into
/// its blinded key, from `ss_i` = the signer's `ecdh` with the path key.
pub fn blinded_node_tweak(path_key_shared_secret: &SharedSecret) -> Result<Scalar, OnionError> {
    Scalar::from_be_bytes(generate_key(b"blinded_node_id", &path_key_shared_secret.0))
        .map_err(|_| OnionError::InvalidBlindingFactor)
}

/// Route blinding (BOLT 4 "Route Blinding"), reader side: the key a node
/// inside a blinded route peels its onion with,
/// `b_i = HMAC256("blinded_node_id", ss_i) * k_i` where
/// `ss_i = SHA256(k_i * E_i)` and `E_i` is the path key it was handed.
pub fn blinded_node_secret(
    node_secret: &SecretKey,
    path_key: &PublicKey,
) -> Result<SecretKey, OnionError> {
    let tweak = blinded_node_tweak(&SharedSecret::new(path_key, node_secret))?;
    node_secret
        .mul_tweak(&tweak)
        .map_err(|_| OnionError::InvalidBlindingFactor)
}

/// Route blinding: decrypts the `encrypted_recipient_data` a node in a
/// blinded route finds in its payload, with `rho` of `SHA256(k_i * E_i)` and
/// ChaCha20-Poly1305 under a zero nonce (BOLT 4 "Route Blinding": "MUST
/// decrypt the `encrypted_data` field using `rho_i`"). Returns the
/// `encrypted_data_tlv` bytes, or `None` if it does not decrypt ("MUST
/// return an error").
pub fn decrypt_recipient_data(
    node_secret: &SecretKey,
    path_key: &PublicKey,
    encrypted: &[u8],
) -> Option<Vec<u8>> {
    use chacha20poly1305::aead::Aead;
    use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
    let ss = SharedSecret::new(path_key, node_secret);
    let rho = generate_key(key_type::RHO, &ss.0);
    let cipher = ChaCha20Poly1305::new((&rho).into());
    cipher.decrypt((&[0u8; 12]).into(), encrypted).ok()
}

/// Route blinding: the path key for the next node,
/// `E_{i+1} = SHA256(E_i || ss_i) * E_i` (unless the encrypted data carries a
/// `next_path_key_override`).
pub fn next_path_key<C: bitcoin::secp256k1::Verification>(
    secp: &bitcoin::secp256k1::Secp256k1<C>,
    node_secret: &SecretKey,
    path_key: &PublicKey,
) -> Result<PublicKey, OnionError> {
    let ss = SharedSecret::new(path_key, node_secret);
    let b = blinding_factor(path_key, &ss)?;
    path_key
        .mul_tweak(secp, &b)
        .map_err(|_| OnionError::InvalidBlindingFactor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ammag_key_matches_bolt4_vector() {
        // onion-error-test.json, hop 4: shared secret → ammag / um keys.
        let ss = hex_arr("b5756b9b542727dbafc6765a49488b023a725d631af688fc031217e90770c328");
        assert_eq!(
            generate_key(key_type::AMMAG, &ss),
            hex_arr("2f36bb8822e1f0d04c27b7d8bb7d7dd586e032a3218b8d414afbba6f169a4d68")
        );
        assert_eq!(
            generate_key(key_type::UM, &ss),
            hex_arr("4da7f2923edce6c2d85987d1d9fa6d88023e6c3a9c3d20f07d3b10b61a78d646")
        );
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    fn hex_arr(s: &str) -> [u8; 32] {
        use hex::FromHex;
        <[u8; 32]>::from_hex(s).unwrap()
    }
}
