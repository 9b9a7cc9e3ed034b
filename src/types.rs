//! Domain newtypes shared by every layer: ids, hashes, secrets and points.
//!
//! Each is its own type so that a payment hash cannot be passed where a
//! channel id is expected. All encode as their plain BOLT form.

use crate::codec::{read_array, DecodeError, Readable, Writeable};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{self, PublicKey};
use core::fmt;
use std::io::{self, Read, Write};

macro_rules! bytes32_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The raw 32 bytes.
            pub const fn to_bytes(self) -> [u8; 32] {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in &self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
        impl From<[u8; 32]> for $name {
            fn from(b: [u8; 32]) -> Self {
                $name(b)
            }
        }
        impl Readable for $name {
            #[inline]
            fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
                Ok($name(read_array(r)?))
            }
        }
        impl Writeable for $name {
            #[inline]
            fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
                w.write_all(&self.0)
            }
            fn size_hint(&self) -> usize {
                32
            }
        }
    };
}

bytes32_newtype!(
    /// A channel id (BOLT 2): the funding txid XOR the funding output index,
    /// or a temporary id before funding.
    ChannelId
);
bytes32_newtype!(
    /// The SHA-256 of a payment preimage: what an HTLC is locked to.
    PaymentHash
);
bytes32_newtype!(
    /// The secret whose hash locks an HTLC; revealing it claims the payment.
    PaymentPreimage
);
bytes32_newtype!(
    /// The `payment_secret` of BOLT 4/11, proving a payer saw the invoice.
    PaymentSecret
);

impl ChannelId {
    /// The all-zero id, which in `error`/`warning` means "every channel".
    pub const ALL: ChannelId = ChannelId([0; 32]);

    /// BOLT 2: "channel_id ... is derived from the funding transaction by
    /// combining the funding_txid and the funding_output_index, using
    /// big-endian exclusive-OR (i.e. funding_output_index alters the last 2
    /// bytes)."
    pub fn from_funding_outpoint(txid: &bitcoin::Txid, output_index: u16) -> Self {
        let mut id = txid.to_byte_array();
        id[30] ^= (output_index >> 8) as u8;
        id[31] ^= (output_index & 0xff) as u8;
        ChannelId(id)
    }

    /// Whether this is the all-zero id.
    pub fn is_all(&self) -> bool {
        self.0 == [0; 32]
    }
}

impl PaymentPreimage {
    /// The payment hash this preimage unlocks.
    pub fn payment_hash(&self) -> PaymentHash {
        PaymentHash(sha256::Hash::hash(&self.0).to_byte_array())
    }
}

/// A short channel id (BOLT 7): block height (3 bytes), transaction index in
/// the block (3 bytes) and output index (2 bytes), packed in a `u64`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ShortChannelId(pub u64);

impl ShortChannelId {
    /// Packs the three parts; `None` if a part does not fit its width.
    pub fn new(block: u32, tx_index: u32, output_index: u16) -> Option<Self> {
        if block >= 1 << 24 || tx_index >= 1 << 24 {
            return None;
        }
        Some(ShortChannelId(
            ((block as u64) << 40) | ((tx_index as u64) << 16) | output_index as u64,
        ))
    }
    /// The block height of the funding transaction.
    pub fn block_height(&self) -> u32 {
        (self.0 >> 40) as u32
    }
    /// The funding transaction's index in its block.
    pub fn tx_index(&self) -> u32 {
        ((self.0 >> 16) & 0xff_ffff) as u32
    }
    /// The funding output's index in its transaction.
    pub fn output_index(&self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

impl fmt::Display for ShortChannelId {
    /// The usual `BLOCKxTXxOUTPUT` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{}x{}",
            self.block_height(),
            self.tx_index(),
            self.output_index()
        )
    }
}
impl fmt::Debug for ShortChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortChannelId({self})")
    }
}
impl Readable for ShortChannelId {
    #[inline]
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ShortChannelId(u64::read(r)?))
    }
}
impl Writeable for ShortChannelId {
    #[inline]
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.0.write(w)
    }
    fn size_hint(&self) -> usize {
        8
    }
}

/// A BOLT `point`: a compressed secp256k1 public key as it travels on the wire.
///
/// Decoding checks only its length and prefix byte; the curve check (a
/// square root, several microseconds) is done when the point is first used,
/// with [`Point::to_public_key`]. Handlers that use a point must call it and
/// treat an error as the peer sending an invalid point. This keeps message
/// decoding allocation-free and cheap, and lets gossip that is never
/// verified cost nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Point(pub [u8; 33]);

impl Point {
    /// Wraps 33 bytes after checking the compressed-key prefix (0x02 or 0x03).
    pub fn from_bytes(bytes: [u8; 33]) -> Result<Self, DecodeError> {
        if bytes[0] == 2 || bytes[0] == 3 {
            Ok(Point(bytes))
        } else {
            Err(DecodeError::InvalidValue)
        }
    }
    /// Parses the point onto the curve.
    pub fn to_public_key(&self) -> Result<PublicKey, secp256k1::Error> {
        PublicKey::from_slice(&self.0)
    }
    /// The 33 serialized bytes.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }
}

impl From<PublicKey> for Point {
    fn from(pk: PublicKey) -> Self {
        Point(pk.serialize())
    }
}
impl From<&PublicKey> for Point {
    fn from(pk: &PublicKey) -> Self {
        Point(pk.serialize())
    }
}
impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
impl fmt::Debug for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Point({self})")
    }
}
impl Readable for Point {
    #[inline]
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Point::from_bytes(read_array(r)?)
    }
}
impl Writeable for Point {
    #[inline]
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.0)
    }
    fn size_hint(&self) -> usize {
        33
    }
}

/// A BOLT `signature`: a 64-byte compact ECDSA signature (r then s) as it
/// travels on the wire.
///
/// Like [`Point`], it is kept as bytes while decoding — parsing checks that
/// r and s are below the curve order, work that only matters when the
/// signature is verified. [`WireSignature::to_signature`] parses it; a
/// handler must treat an error there as the peer sending an invalid
/// signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WireSignature(pub [u8; 64]);

impl WireSignature {
    /// Parses the compact form.
    pub fn to_signature(&self) -> Result<secp256k1::ecdsa::Signature, secp256k1::Error> {
        secp256k1::ecdsa::Signature::from_compact(&self.0)
    }
}

impl From<secp256k1::ecdsa::Signature> for WireSignature {
    fn from(sig: secp256k1::ecdsa::Signature) -> Self {
        WireSignature(sig.serialize_compact())
    }
}
impl From<&secp256k1::ecdsa::Signature> for WireSignature {
    fn from(sig: &secp256k1::ecdsa::Signature) -> Self {
        WireSignature(sig.serialize_compact())
    }
}
impl fmt::Debug for WireSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WireSignature(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}
impl Readable for WireSignature {
    #[inline]
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(WireSignature(read_array(r)?))
    }
}
impl Writeable for WireSignature {
    #[inline]
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.0)
    }
    fn size_hint(&self) -> usize {
        64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_channel_id_parts_round_trip() {
        let scid = ShortChannelId::new(600_000, 1, 7).expect("fits");
        assert_eq!(scid.block_height(), 600_000);
        assert_eq!(scid.tx_index(), 1);
        assert_eq!(scid.output_index(), 7);
        assert_eq!(scid.to_string(), "600000x1x7");
        assert!(ShortChannelId::new(1 << 24, 0, 0).is_none());
    }

    #[test]
    fn channel_id_xors_output_index_into_last_two_bytes() {
        let txid = bitcoin::Txid::from_byte_array([0xaa; 32]);
        let id = ChannelId::from_funding_outpoint(&txid, 0x0102);
        assert_eq!(id.0[30], 0xaa ^ 0x01);
        assert_eq!(id.0[31], 0xaa ^ 0x02);
        assert_eq!(id.0[..30], [0xaa; 30]);
    }

    #[test]
    fn point_rejects_bad_prefix() {
        let mut b = [0u8; 33];
        b[0] = 4;
        assert_eq!(Point::from_bytes(b), Err(DecodeError::InvalidValue));
        b[0] = 2;
        assert!(Point::from_bytes(b).is_ok());
    }
}
