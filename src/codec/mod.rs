//! The one serialization layer for wire messages and persisted state.
//!
//! [`Readable`] and [`Writeable`] cover the BOLT 1 fundamental types, the
//! `bitcoin` types used on the wire, [`BigSize`], truncated integers and TLV
//! streams ([`tlv`]). The [`impl_writable_msg!`](crate::impl_writable_msg)
//! macro declares a message by its fixed fields and TLV records.
//!
//! Decoders never panic and never allocate more than the input justifies:
//! variable-length data is read in bounded chunks as it arrives.

mod bigsize;
mod error;
mod macros;
pub mod sample;
pub mod tlv;

pub use bigsize::{BigSize, Tu16, Tu32, Tu64};
pub use error::DecodeError;
pub use tlv::{TlvRecord, TlvStream, TlvValue};

use bitcoin::blockdata::constants::ChainHash;
use bitcoin::consensus::{Decodable, Encodable};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa, schnorr, PublicKey};
use bitcoin::{BlockHash, ScriptBuf, Transaction, Txid};
use std::io::{self, Read, Write};

/// A value that can be decoded from its BOLT (or persisted) byte form.
pub trait Readable: Sized {
    /// Reads one value from `r`, or says why it could not.
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError>;
}

/// A value that can be encoded in its BOLT (or persisted) byte form.
pub trait Writeable {
    /// Writes the value to `w`.
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()>;

    /// A guess at the encoded size, used to size buffers; never a limit.
    fn size_hint(&self) -> usize {
        64
    }

    /// Encodes the value into a new vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_hint());
        self.write(&mut out)
            .expect("writing into a Vec<u8> never fails");
        out
    }
}

/// Reads exactly `N` bytes.
#[inline]
pub(crate) fn read_array<R: Read, const N: usize>(r: &mut R) -> Result<[u8; N], DecodeError> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Reads `len` bytes into a vector that grows as data actually arrives, so a
/// hostile length prefix cannot make us allocate more than the input holds.
pub(crate) fn read_bytes<R: Read>(r: &mut R, len: usize) -> Result<Vec<u8>, DecodeError> {
    const CHUNK: usize = 4096;
    let mut out = vec![0u8; len.min(CHUNK)];
    r.read_exact(&mut out)?;
    while out.len() < len {
        let start = out.len();
        out.resize((start + CHUNK).min(len), 0);
        r.read_exact(&mut out[start..])?;
    }
    Ok(out)
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl Readable for $t {
            #[inline]
            fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(read_array(r)?))
            }
        }
        impl Writeable for $t {
            #[inline]
            fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
                w.write_all(&self.to_be_bytes())
            }
            fn size_hint(&self) -> usize { core::mem::size_of::<$t>() }
        }
    )*};
}
// BOLT 1 fundamental types: u8..u64 and (Appendix D) s8..s64, big-endian.
impl_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Readable for bool {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        match u8::read(r)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue),
        }
    }
}
impl Writeable for bool {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&[*self as u8])
    }
}

impl<const N: usize> Readable for [u8; N] {
    #[inline]
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        read_array(r)
    }
}
impl<const N: usize> Writeable for [u8; N] {
    #[inline]
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(self)
    }
    fn size_hint(&self) -> usize {
        N
    }
}

/// A `Vec` on the wire: a `u16` count, then that many elements.
impl<T: Readable> Readable for Vec<T> {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let count = u16::read(r)? as usize;
        // Bound the up-front allocation; the vector grows only as elements decode.
        let cap = count.min(4096 / core::mem::size_of::<T>().max(1));
        let mut out = Vec::with_capacity(cap);
        for _ in 0..count {
            out.push(T::read(r)?);
        }
        Ok(out)
    }
}
impl<T: Writeable> Writeable for Vec<T> {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let len = u16::try_from(self.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "more than 65535 elements"))?;
        len.write(w)?;
        for item in self {
            item.write(w)?;
        }
        Ok(())
    }
    fn size_hint(&self) -> usize {
        2 + self.first().map_or(0, |f| f.size_hint() * self.len())
    }
}

/// A length-prefixed byte string (`u16` length then the bytes), the usual BOLT
/// form of `len*byte` fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WithU16Len(pub Vec<u8>);

impl Readable for WithU16Len {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let len = u16::read(r)? as usize;
        Ok(WithU16Len(read_bytes(r, len)?))
    }
}
impl Writeable for WithU16Len {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        write_u16_prefixed(w, &self.0)
    }
    fn size_hint(&self) -> usize {
        2 + self.0.len()
    }
}

/// Writes `bytes` behind a `u16` length, failing if they do not fit.
pub(crate) fn write_u16_prefixed<W: Write>(w: &mut W, bytes: &[u8]) -> io::Result<()> {
    let len = u16::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "longer than 65535 bytes"))?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(bytes)
}

impl Readable for PublicKey {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes: [u8; 33] = read_array(r)?;
        PublicKey::from_slice(&bytes).map_err(|_| DecodeError::InvalidValue)
    }
}
impl Writeable for PublicKey {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.serialize())
    }
    fn size_hint(&self) -> usize {
        33
    }
}

/// ECDSA signatures travel in BOLT's 64-byte compact form (r then s).
impl Readable for ecdsa::Signature {
    #[inline]
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes: [u8; 64] = read_array(r)?;
        ecdsa::Signature::from_compact(&bytes).map_err(|_| DecodeError::InvalidValue)
    }
}
impl Writeable for ecdsa::Signature {
    #[inline]
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.serialize_compact())
    }
    fn size_hint(&self) -> usize {
        64
    }
}

impl Readable for schnorr::Signature {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes: [u8; 64] = read_array(r)?;
        schnorr::Signature::from_slice(&bytes).map_err(|_| DecodeError::InvalidValue)
    }
}
impl Writeable for schnorr::Signature {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(self.as_ref())
    }
    fn size_hint(&self) -> usize {
        64
    }
}

impl Readable for ChainHash {
    #[inline]
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChainHash::from(read_array::<_, 32>(r)?))
    }
}
impl Writeable for ChainHash {
    #[inline]
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(self.as_bytes())
    }
    fn size_hint(&self) -> usize {
        32
    }
}

/// A txid on the wire is in the byte order of the transaction's own encoding.
impl Readable for Txid {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(Txid::from_byte_array(read_array(r)?))
    }
}
impl Writeable for Txid {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(self.as_byte_array())
    }
    fn size_hint(&self) -> usize {
        32
    }
}

impl Readable for BlockHash {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(BlockHash::from_byte_array(read_array(r)?))
    }
}
impl Writeable for BlockHash {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(self.as_byte_array())
    }
    fn size_hint(&self) -> usize {
        32
    }
}

/// A script on the wire: `u16` length, then the script bytes.
impl Readable for ScriptBuf {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ScriptBuf::from_bytes(WithU16Len::read(r)?.0))
    }
}
impl Writeable for ScriptBuf {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        write_u16_prefixed(w, self.as_bytes())
    }
    fn size_hint(&self) -> usize {
        2 + self.len()
    }
}

/// A transaction on the wire (as in `tx_add_input`'s `prevtx`): `u16` length,
/// then its consensus encoding, which must fill that length exactly.
impl Readable for Transaction {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes = WithU16Len::read(r)?.0;
        let mut slice = bytes.as_slice();
        let tx =
            Transaction::consensus_decode(&mut slice).map_err(|_| DecodeError::InvalidValue)?;
        if !slice.is_empty() {
            return Err(DecodeError::BadLengthDescriptor);
        }
        Ok(tx)
    }
}
impl Writeable for Transaction {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(self.total_size());
        self.consensus_encode(&mut bytes)
            .expect("writing into a Vec<u8> never fails");
        write_u16_prefixed(w, &bytes)
    }
    fn size_hint(&self) -> usize {
        2 + self.total_size()
    }
}

impl<A: Readable, B: Readable> Readable for (A, B) {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok((A::read(r)?, B::read(r)?))
    }
}
impl<A: Writeable, B: Writeable> Writeable for (A, B) {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.0.write(w)?;
        self.1.write(w)
    }
}

impl<T: Writeable + ?Sized> Writeable for &T {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        (**self).write(w)
    }
    fn size_hint(&self) -> usize {
        (**self).size_hint()
    }
}

/// Ties a message struct to its BOLT wire type number.
pub trait Type {
    /// The 2-byte message type that precedes the payload on the wire.
    const TYPE: u16;
}
