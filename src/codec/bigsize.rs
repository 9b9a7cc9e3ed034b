//! BigSize (BOLT 1) and the truncated integers `tu16`, `tu32`, `tu64`.

use super::{read_array, DecodeError, Readable, Writeable};
use std::io::{self, Read, Write};

/// A BOLT 1 `bigsize`: a variable-length unsigned integer, big-endian, that
/// must be minimally encoded (BOLT 1: "MUST fail ... if not minimally encoded").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct BigSize(pub u64);

impl BigSize {
    /// How many bytes this value takes on the wire (1, 3, 5 or 9).
    #[inline]
    pub const fn encoded_len(v: u64) -> usize {
        if v < 0xfd {
            1
        } else if v <= 0xffff {
            3
        } else if v <= 0xffff_ffff {
            5
        } else {
            9
        }
    }

    /// Decodes one BigSize from the front of `buf`, advancing it.
    #[inline]
    pub fn read_from_slice(buf: &mut &[u8]) -> Result<u64, DecodeError> {
        let (&first, rest) = buf.split_first().ok_or(DecodeError::ShortRead)?;
        let (value, used, min) = match first {
            0xff => {
                let b: [u8; 8] = rest
                    .get(..8)
                    .ok_or(DecodeError::ShortRead)?
                    .try_into()
                    .expect("8 bytes");
                (u64::from_be_bytes(b), 8, 0x1_0000_0000)
            }
            0xfe => {
                let b: [u8; 4] = rest
                    .get(..4)
                    .ok_or(DecodeError::ShortRead)?
                    .try_into()
                    .expect("4 bytes");
                (u32::from_be_bytes(b) as u64, 4, 0x1_0000)
            }
            0xfd => {
                let b: [u8; 2] = rest
                    .get(..2)
                    .ok_or(DecodeError::ShortRead)?
                    .try_into()
                    .expect("2 bytes");
                (u16::from_be_bytes(b) as u64, 2, 0xfd)
            }
            v => (v as u64, 0, 0),
        };
        if value < min {
            return Err(DecodeError::InvalidValue);
        }
        *buf = &rest[used..];
        Ok(value)
    }

    /// Appends the minimal encoding of `v` to `out` without going through `io`.
    #[inline]
    pub fn push(out: &mut Vec<u8>, v: u64) {
        if v < 0xfd {
            out.push(v as u8);
        } else if v <= 0xffff {
            out.push(0xfd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        } else if v <= 0xffff_ffff {
            out.push(0xfe);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            out.push(0xff);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

impl Readable for BigSize {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let first = u8::read(r)?;
        let v = match first {
            0xff => {
                let v = u64::from_be_bytes(read_array(r)?);
                if v < 0x1_0000_0000 {
                    return Err(DecodeError::InvalidValue);
                }
                v
            }
            0xfe => {
                let v = u32::from_be_bytes(read_array(r)?) as u64;
                if v < 0x1_0000 {
                    return Err(DecodeError::InvalidValue);
                }
                v
            }
            0xfd => {
                let v = u16::from_be_bytes(read_array(r)?) as u64;
                if v < 0xfd {
                    return Err(DecodeError::InvalidValue);
                }
                v
            }
            v => v as u64,
        };
        Ok(BigSize(v))
    }
}

impl Writeable for BigSize {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let v = self.0;
        if v < 0xfd {
            w.write_all(&[v as u8])
        } else if v <= 0xffff {
            w.write_all(&[0xfd])?;
            w.write_all(&(v as u16).to_be_bytes())
        } else if v <= 0xffff_ffff {
            w.write_all(&[0xfe])?;
            w.write_all(&(v as u32).to_be_bytes())
        } else {
            w.write_all(&[0xff])?;
            w.write_all(&v.to_be_bytes())
        }
    }
    fn size_hint(&self) -> usize {
        BigSize::encoded_len(self.0)
    }
}

macro_rules! truncated {
    ($name:ident, $t:ty, $doc:literal) => {
        #[doc = $doc]
        ///
        /// Only meaningful as the whole value of a TLV record: it is written
        /// with its leading zero bytes dropped, and a reader must reject a
        /// value that keeps any (BOLT 1: "MUST be minimally encoded").
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $t);

        impl $name {
            /// How many bytes the minimal form takes.
            #[inline]
            pub fn encoded_len(&self) -> usize {
                core::mem::size_of::<$t>() - (self.0.leading_zeros() as usize / 8)
            }
            /// Writes the minimal form.
            pub fn write_truncated<W: Write>(&self, w: &mut W) -> io::Result<()> {
                let bytes = self.0.to_be_bytes();
                w.write_all(&bytes[bytes.len() - self.encoded_len()..])
            }
            /// Reads the minimal form from a whole TLV value.
            pub fn from_truncated(value: &[u8]) -> Result<Self, DecodeError> {
                const N: usize = core::mem::size_of::<$t>();
                if value.len() > N {
                    return Err(DecodeError::BadLengthDescriptor);
                }
                if value.first() == Some(&0) {
                    return Err(DecodeError::InvalidValue);
                }
                let mut bytes = [0u8; N];
                bytes[N - value.len()..].copy_from_slice(value);
                Ok($name(<$t>::from_be_bytes(bytes)))
            }
        }
    };
}
truncated!(
    Tu16,
    u16,
    "A BOLT 1 `tu16`: a `u16` without leading zero bytes."
);
truncated!(
    Tu32,
    u32,
    "A BOLT 1 `tu32`: a `u32` without leading zero bytes."
);
truncated!(
    Tu64,
    u64,
    "A BOLT 1 `tu64`: a `u64` without leading zero bytes."
);
