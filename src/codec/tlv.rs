//! TLV streams (BOLT 1 "Type-Length-Value Format").
//!
//! Decoding enforces every BOLT 1 rule: types are minimal BigSizes and
//! strictly increasing, lengths are minimal and fit in the stream, an unknown
//! even type fails the stream, an unknown odd type is skipped (and kept, so a
//! message writes back exactly the records it was sent with).

use super::{BigSize, DecodeError, Readable, Tu16, Tu32, Tu64, Writeable};
use crate::types::{
    ChannelId, PaymentHash, PaymentPreimage, PaymentSecret, Point, ShortChannelId, WireSignature,
};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{ScriptBuf, Txid};
use std::io::{self, Read, Write};

/// One TLV record kept as raw bytes: a record we did not interpret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlvRecord {
    /// The record's type.
    pub typ: u64,
    /// The record's value, exactly as received.
    pub value: Vec<u8>,
}

impl TlvRecord {
    /// Writes the record: type, length, value.
    pub fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        BigSize(self.typ).write(w)?;
        BigSize(self.value.len() as u64).write(w)?;
        w.write_all(&self.value)
    }
}

/// The records of a TLV stream that nobody interpreted: unknown odd types
/// from a peer, kept in the order received and written back in that order.
///
/// When a message with known records is encoded, these are merged in by type
/// so that the whole stream stays strictly increasing; keep them sorted by
/// type if you build one by hand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlvStream(pub Vec<TlvRecord>);

impl TlvStream {
    /// An empty stream (allocates nothing).
    pub const fn new() -> Self {
        TlvStream(Vec::new())
    }
    /// Whether the stream has no records.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The encoded length of all records.
    pub fn encoded_len(&self) -> usize {
        self.0
            .iter()
            .map(|r| {
                BigSize::encoded_len(r.typ)
                    + BigSize::encoded_len(r.value.len() as u64)
                    + r.value.len()
            })
            .sum()
    }
}

/// Walks a whole TLV stream held in `buf`.
///
/// `known(type, value)` is called for every record in order; it returns
/// `Ok(true)` if it understood the record. A record it did not understand is
/// an error if its type is even and is pushed to `unknown` if odd.
pub fn read_tlv_stream<'a>(
    mut buf: &'a [u8],
    unknown: &mut TlvStream,
    mut known: impl FnMut(u64, &'a [u8]) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let mut last: Option<u64> = None;
    while !buf.is_empty() {
        let typ = BigSize::read_from_slice(&mut buf)?;
        // BOLT 1: "if decoded `type`s are not strictly-increasing (including
        // situations where two or more occurrences of the same `type` are
        // present): MUST fail to parse the `tlv_stream`."
        if last.is_some_and(|l| typ <= l) {
            return Err(DecodeError::InvalidValue);
        }
        last = Some(typ);
        let len = BigSize::read_from_slice(&mut buf)?;
        // BOLT 1: "if `length` exceeds the number of bytes remaining in the
        // message: MUST fail to parse the `tlv_stream`."
        if len > buf.len() as u64 {
            return Err(DecodeError::ShortRead);
        }
        let (value, rest) = buf.split_at(len as usize);
        buf = rest;
        if !known(typ, value)? {
            // BOLT 1: unknown even type → fail; unknown odd type → ignore.
            if typ % 2 == 0 {
                return Err(DecodeError::UnknownRequiredFeature);
            }
            unknown.0.push(TlvRecord {
                typ,
                value: value.to_vec(),
            });
        }
    }
    Ok(())
}

/// Writes one record whose value is a [`TlvValue`].
pub fn write_tlv_record<W: Write, T: TlvValue>(w: &mut W, typ: u64, value: &T) -> io::Result<()> {
    BigSize(typ).write(w)?;
    BigSize(value.value_len() as u64).write(w)?;
    value.write_value(w)
}

/// A type that can be the whole value of a TLV record.
///
/// Unlike [`Readable`], the reader gets exactly the value's bytes and must
/// use all of them: leftover bytes are an error.
pub trait TlvValue: Sized {
    /// The number of bytes [`TlvValue::write_value`] writes.
    fn value_len(&self) -> usize;
    /// Writes the value (without type or length).
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()>;
    /// Decodes the value from all of `bytes`.
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// Decodes a fixed-size [`Readable`] that must fill `bytes` exactly.
pub fn read_exact_value<T: Readable>(mut bytes: &[u8]) -> Result<T, DecodeError> {
    let v = T::read(&mut bytes)?;
    if !bytes.is_empty() {
        return Err(DecodeError::BadLengthDescriptor);
    }
    Ok(v)
}

macro_rules! tlv_fixed {
    ($($t:ty => $len:expr),* $(,)?) => {$(
        impl TlvValue for $t {
            #[inline]
            fn value_len(&self) -> usize { $len }
            #[inline]
            fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> { Writeable::write(self, w) }
            #[inline]
            fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
                if bytes.len() != $len { return Err(DecodeError::BadLengthDescriptor); }
                read_exact_value(bytes)
            }
        }
    )*};
}
tlv_fixed!(
    u8 => 1, u16 => 2, u32 => 4, u64 => 8,
    [u8; 32] => 32, Point => 33, PublicKey => 33, ShortChannelId => 8, ChannelId => 32,
    PaymentHash => 32, PaymentPreimage => 32, PaymentSecret => 32, ChainHash => 32, Txid => 32,
    i64 => 8, bitcoin::secp256k1::ecdsa::Signature => 64, WireSignature => 64,
);

macro_rules! tlv_truncated {
    ($($t:ty),*) => {$(
        impl TlvValue for $t {
            fn value_len(&self) -> usize { self.encoded_len() }
            fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> { self.write_truncated(w) }
            fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> { Self::from_truncated(bytes) }
        }
    )*};
}
tlv_truncated!(Tu16, Tu32, Tu64);

/// A raw byte string: the whole value.
impl TlvValue for Vec<u8> {
    fn value_len(&self) -> usize {
        self.len()
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(self)
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(bytes.to_vec())
    }
}

/// A script as a TLV value: the whole value, no length prefix of its own.
impl TlvValue for ScriptBuf {
    fn value_len(&self) -> usize {
        self.len()
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(self.as_bytes())
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(ScriptBuf::from_bytes(bytes.to_vec()))
    }
}

/// A list of chain hashes (`init`'s `networks`): 32-byte hashes back to back.
impl TlvValue for Vec<ChainHash> {
    fn value_len(&self) -> usize {
        self.len() * 32
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        for h in self {
            w.write_all(h.as_bytes())?;
        }
        Ok(())
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() % 32 != 0 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        Ok(bytes
            .chunks_exact(32)
            .map(|c| ChainHash::from(<[u8; 32]>::try_from(c).expect("32-byte chunk")))
            .collect())
    }
}

/// A BigSize as the whole value of a record.
impl TlvValue for BigSize {
    fn value_len(&self) -> usize {
        BigSize::encoded_len(self.0)
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        Writeable::write(self, w)
    }
    fn read_value(mut bytes: &[u8]) -> Result<Self, DecodeError> {
        let v = BigSize::read_from_slice(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(DecodeError::BadLengthDescriptor);
        }
        Ok(BigSize(v))
    }
}

/// Reads the rest of a reader as a TLV stream's bytes (for [`Readable`]
/// implementations over an arbitrary reader). The buffer grows only as data
/// arrives.
pub fn read_rest<R: Read>(r: &mut R) -> Result<Vec<u8>, DecodeError> {
    let mut rest = Vec::new();
    r.read_to_end(&mut rest)?;
    Ok(rest)
}
