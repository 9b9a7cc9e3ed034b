//! The error every decoder in lnkit returns.

use core::fmt;

/// Why a byte string could not be decoded.
///
/// Every decoder in lnkit returns this instead of panicking; peers' bytes are
/// hostile input (ARCHITECTURE.md, principle 4).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A version byte or realm we do not know (for example an onion version).
    UnknownVersion,
    /// An even (required) TLV type or feature bit we do not understand
    /// (BOLT 1: "unknown even type: MUST fail").
    UnknownRequiredFeature,
    /// A value was well-framed but not acceptable (a non-canonical BigSize,
    /// an invalid point prefix, TLV records out of order, trailing bytes…).
    InvalidValue,
    /// The input ended before the value did.
    ShortRead,
    /// A length prefix disagreed with the data it describes.
    BadLengthDescriptor,
    /// An encoding we deliberately do not accept (for example zlib-compressed
    /// short channel id lists, deprecated by BOLT 7).
    UnsupportedCompression,
    /// An even (required) message type we do not understand (BOLT 1).
    UnknownRequiredMessage(u16),
    /// The underlying reader failed.
    Io(std::io::ErrorKind),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownVersion => f.write_str("unknown version"),
            DecodeError::UnknownRequiredFeature => {
                f.write_str("unknown required (even) feature or tlv type")
            }
            DecodeError::InvalidValue => f.write_str("invalid value"),
            DecodeError::ShortRead => f.write_str("input ended early"),
            DecodeError::BadLengthDescriptor => {
                f.write_str("length descriptor does not match the data")
            }
            DecodeError::UnsupportedCompression => {
                f.write_str("unsupported encoding (zlib compression is not accepted)")
            }
            DecodeError::UnknownRequiredMessage(t) => {
                write!(f, "unknown required (even) message type {t}")
            }
            DecodeError::Io(kind) => write!(f, "i/o error: {kind}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<std::io::Error> for DecodeError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            DecodeError::ShortRead
        } else {
            DecodeError::Io(e.kind())
        }
    }
}
