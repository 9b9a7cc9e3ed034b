//! BOLT 4 "Failure Messages": every `failure_code` with its data.
//!
//! A failure is a 2-byte code, the code's data, then an optional TLV stream.
//! [`Failure`] keeps the typed message and the trailing bytes as received,
//! so encoding gives back exactly what was decoded.

use crate::codec::tlv::read_tlv_stream;
use crate::codec::{BigSize, DecodeError, TlvStream};
use core::fmt;

/// Flag: the onion could not be parsed by the sending peer.
pub const BADONION: u16 = 0x8000;
/// Flag: permanent failure (otherwise transient).
pub const PERM: u16 = 0x4000;
/// Flag: node failure (otherwise channel).
pub const NODE: u16 = 0x2000;
/// Flag: a `channel_update` is enclosed.
pub const UPDATE: u16 = 0x1000;

/// A `channel_update` riding along in a failure, as raw bytes.
///
/// BOLT 4: it "is encoded *with* the message type prefix, i.e. it should
/// always start with `0x0102`", though historical implementations omitted it.
/// The bytes are kept as sent; [`ChannelUpdateBytes::message_bytes`] gives
/// the message without its type prefix for gossip validation.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelUpdateBytes(pub Vec<u8>);

impl ChannelUpdateBytes {
    /// The `channel_update` message type.
    pub const MESSAGE_TYPE: u16 = 258;

    /// Whether the bytes start with the `0x0102` type prefix.
    pub fn has_type_prefix(&self) -> bool {
        self.0.starts_with(&Self::MESSAGE_TYPE.to_be_bytes())
    }

    /// Decodes the `channel_update` (with or without its type prefix). The
    /// caller still checks its signature and chain before using it.
    pub fn decode(&self) -> Result<crate::msgs::ChannelUpdate, DecodeError> {
        let mut bytes = self.message_bytes();
        crate::codec::Readable::read(&mut bytes)
    }

    /// The message payload without the type prefix (whether or not the
    /// sender included it).
    pub fn message_bytes(&self) -> &[u8] {
        if self.has_type_prefix() {
            &self.0[2..]
        } else {
            &self.0
        }
    }
}

impl fmt::Debug for ChannelUpdateBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ChannelUpdateBytes({})",
            hex::DisplayHex::as_hex(&self.0[..])
        )
    }
}

/// One BOLT 4 failure message, by code.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureMessage {
    /// PERM|1 `invalid_realm`.
    InvalidRealm,
    /// NODE|2 `temporary_node_failure`.
    TemporaryNodeFailure,
    /// PERM|NODE|2 `permanent_node_failure`.
    PermanentNodeFailure,
    /// PERM|NODE|3 `required_node_feature_missing`.
    RequiredNodeFeatureMissing,
    /// BADONION|PERM|4 `invalid_onion_version`.
    InvalidOnionVersion {
        /// SHA256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// BADONION|PERM|5 `invalid_onion_hmac`.
    InvalidOnionHmac {
        /// SHA256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// BADONION|PERM|6 `invalid_onion_key`.
    InvalidOnionKey {
        /// SHA256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// UPDATE|7 `temporary_channel_failure`.
    TemporaryChannelFailure {
        /// The outgoing channel's current update.
        channel_update: ChannelUpdateBytes,
    },
    /// PERM|8 `permanent_channel_failure`.
    PermanentChannelFailure,
    /// PERM|9 `required_channel_feature_missing`.
    RequiredChannelFeatureMissing,
    /// PERM|10 `unknown_next_peer`.
    UnknownNextPeer,
    /// UPDATE|11 `amount_below_minimum`.
    AmountBelowMinimum {
        /// The HTLC amount.
        htlc_msat: u64,
        /// The outgoing channel's current update.
        channel_update: ChannelUpdateBytes,
    },
    /// UPDATE|12 `fee_insufficient`.
    FeeInsufficient {
        /// The HTLC amount.
        htlc_msat: u64,
        /// The outgoing channel's current update.
        channel_update: ChannelUpdateBytes,
    },
    /// UPDATE|13 `incorrect_cltv_expiry`.
    IncorrectCltvExpiry {
        /// The HTLC's CLTV expiry.
        cltv_expiry: u32,
        /// The outgoing channel's current update.
        channel_update: ChannelUpdateBytes,
    },
    /// UPDATE|14 `expiry_too_soon`.
    ExpiryTooSoon {
        /// The outgoing channel's current update.
        channel_update: ChannelUpdateBytes,
    },
    /// PERM|15 `incorrect_or_unknown_payment_details`.
    IncorrectOrUnknownPaymentDetails {
        /// The HTLC amount.
        htlc_msat: u64,
        /// The final node's best block height.
        height: u32,
    },
    /// 18 `final_incorrect_cltv_expiry`.
    FinalIncorrectCltvExpiry {
        /// The HTLC's CLTV expiry.
        cltv_expiry: u32,
    },
    /// 19 `final_incorrect_htlc_amount`.
    FinalIncorrectHtlcAmount {
        /// The incoming HTLC amount.
        incoming_htlc_amt: u64,
    },
    /// UPDATE|20 `channel_disabled`.
    ChannelDisabled {
        /// Flags (none defined: zero).
        disabled_flags: u16,
        /// The outgoing channel's current update.
        channel_update: ChannelUpdateBytes,
    },
    /// 21 `expiry_too_far`.
    ExpiryTooFar,
    /// PERM|22 `invalid_onion_payload`.
    InvalidOnionPayload {
        /// The offending TLV type (0 when unknown).
        typ: u64,
        /// Its byte offset in the decrypted payload.
        offset: u16,
    },
    /// 23 `mpp_timeout`.
    MppTimeout,
    /// BADONION|PERM|24 `invalid_onion_blinding`.
    InvalidOnionBlinding {
        /// SHA256 of the onion as received.
        sha256_of_onion: [u8; 32],
    },
    /// A code we do not know, or a known code whose data is malformed: kept
    /// raw (its flags still say how to react).
    Other {
        /// The failure code.
        code: u16,
        /// Everything after the code.
        data: Vec<u8>,
    },
}

/// Why failure bytes could not be read at all.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureDecodeError {
    /// Fewer than two bytes: no failure code.
    NoCode,
}

impl fmt::Display for FailureDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureDecodeError::NoCode => f.write_str("failure message has no failure code"),
        }
    }
}

impl std::error::Error for FailureDecodeError {}

/// A failure message and the bytes after its data (the optional TLV stream,
/// or extra bytes that BOLT 4 says to ignore), kept as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The typed message.
    pub message: FailureMessage,
    /// Bytes after the message's data: a TLV stream, normally empty.
    pub extension: Vec<u8>,
}

impl From<FailureMessage> for Failure {
    fn from(message: FailureMessage) -> Self {
        Failure {
            message,
            extension: Vec::new(),
        }
    }
}

impl Failure {
    /// Decodes `failuremsg` bytes. Never fails once there is a code: an
    /// unknown or malformed message becomes [`FailureMessage::Other`].
    pub fn decode(bytes: &[u8]) -> Result<Failure, FailureDecodeError> {
        if bytes.len() < 2 {
            return Err(FailureDecodeError::NoCode);
        }
        let code = u16::from_be_bytes([bytes[0], bytes[1]]);
        let data = &bytes[2..];
        match decode_known(code, data) {
            Some((message, used)) => Ok(Failure {
                message,
                extension: data[used..].to_vec(),
            }),
            None => Ok(Failure {
                message: FailureMessage::Other {
                    code,
                    data: data.to_vec(),
                },
                extension: Vec::new(),
            }),
        }
    }

    /// The encoded `failuremsg`: code, data, extension.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.extension.len());
        self.message.write_to(&mut out);
        out.extend_from_slice(&self.extension);
        out
    }

    /// The extension parsed as a TLV stream (BOLT 1 rules; every record is
    /// kept since none is defined yet).
    pub fn extension_tlvs(&self) -> Result<TlvStream, DecodeError> {
        let mut all = TlvStream::new();
        let mut keep = TlvStream::new();
        read_tlv_stream(&self.extension, &mut keep, |typ, value| {
            all.0.push(crate::codec::TlvRecord {
                typ,
                value: value.to_vec(),
            });
            Ok(true)
        })?;
        Ok(all)
    }
}

/// Reads a `u16`-length-prefixed `channel_update`.
fn read_update(data: &[u8]) -> Option<(ChannelUpdateBytes, usize)> {
    let len = u16::from_be_bytes(data.get(..2)?.try_into().ok()?) as usize;
    let bytes = data.get(2..2 + len)?;
    Some((ChannelUpdateBytes(bytes.to_vec()), 2 + len))
}

fn read_u64(data: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(..8)?.try_into().ok()?))
}

fn read_u32(data: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(..4)?.try_into().ok()?))
}

fn read_hash(data: &[u8]) -> Option<[u8; 32]> {
    data.get(..32)?.try_into().ok()
}

/// Decodes a known code's data, returning the message and the bytes used.
fn decode_known(code: u16, data: &[u8]) -> Option<(FailureMessage, usize)> {
    use FailureMessage as F;
    Some(match code {
        c if c == PERM | 1 => (F::InvalidRealm, 0),
        c if c == NODE | 2 => (F::TemporaryNodeFailure, 0),
        c if c == PERM | NODE | 2 => (F::PermanentNodeFailure, 0),
        c if c == PERM | NODE | 3 => (F::RequiredNodeFeatureMissing, 0),
        c if c == BADONION | PERM | 4 => (
            F::InvalidOnionVersion {
                sha256_of_onion: read_hash(data)?,
            },
            32,
        ),
        c if c == BADONION | PERM | 5 => (
            F::InvalidOnionHmac {
                sha256_of_onion: read_hash(data)?,
            },
            32,
        ),
        c if c == BADONION | PERM | 6 => (
            F::InvalidOnionKey {
                sha256_of_onion: read_hash(data)?,
            },
            32,
        ),
        c if c == UPDATE | 7 => {
            let (u, n) = read_update(data)?;
            (F::TemporaryChannelFailure { channel_update: u }, n)
        }
        c if c == PERM | 8 => (F::PermanentChannelFailure, 0),
        c if c == PERM | 9 => (F::RequiredChannelFeatureMissing, 0),
        c if c == PERM | 10 => (F::UnknownNextPeer, 0),
        c if c == UPDATE | 11 || c == UPDATE | 12 => {
            let htlc_msat = read_u64(data)?;
            let (u, n) = read_update(&data[8..])?;
            let m = if c == UPDATE | 11 {
                F::AmountBelowMinimum {
                    htlc_msat,
                    channel_update: u,
                }
            } else {
                F::FeeInsufficient {
                    htlc_msat,
                    channel_update: u,
                }
            };
            (m, 8 + n)
        }
        c if c == UPDATE | 13 => {
            let cltv_expiry = read_u32(data)?;
            let (u, n) = read_update(&data[4..])?;
            (
                F::IncorrectCltvExpiry {
                    cltv_expiry,
                    channel_update: u,
                },
                4 + n,
            )
        }
        c if c == UPDATE | 14 => {
            let (u, n) = read_update(data)?;
            (F::ExpiryTooSoon { channel_update: u }, n)
        }
        c if c == PERM | 15 => {
            let htlc_msat = read_u64(data)?;
            let height = read_u32(&data[8..])?;
            (
                F::IncorrectOrUnknownPaymentDetails { htlc_msat, height },
                12,
            )
        }
        18 => (
            F::FinalIncorrectCltvExpiry {
                cltv_expiry: read_u32(data)?,
            },
            4,
        ),
        19 => (
            F::FinalIncorrectHtlcAmount {
                incoming_htlc_amt: read_u64(data)?,
            },
            8,
        ),
        c if c == UPDATE | 20 => {
            let disabled_flags = u16::from_be_bytes(data.get(..2)?.try_into().ok()?);
            let (u, n) = read_update(&data[2..])?;
            (
                F::ChannelDisabled {
                    disabled_flags,
                    channel_update: u,
                },
                2 + n,
            )
        }
        21 => (F::ExpiryTooFar, 0),
        c if c == PERM | 22 => {
            let mut rest = data;
            let typ = BigSize::read_from_slice(&mut rest).ok()?;
            let offset = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?);
            (
                F::InvalidOnionPayload { typ, offset },
                data.len() - rest.len() + 2,
            )
        }
        23 => (F::MppTimeout, 0),
        c if c == BADONION | PERM | 24 => (
            F::InvalidOnionBlinding {
                sha256_of_onion: read_hash(data)?,
            },
            32,
        ),
        _ => return None,
    })
}

fn push_update(out: &mut Vec<u8>, u: &ChannelUpdateBytes) {
    // A u16 length prefix: an update longer than 65535 bytes cannot be sent.
    let len = u.0.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&u.0[..len]);
}

impl FailureMessage {
    /// The `failure_code`.
    pub fn code(&self) -> u16 {
        use FailureMessage as F;
        match self {
            F::InvalidRealm => PERM | 1,
            F::TemporaryNodeFailure => NODE | 2,
            F::PermanentNodeFailure => PERM | NODE | 2,
            F::RequiredNodeFeatureMissing => PERM | NODE | 3,
            F::InvalidOnionVersion { .. } => BADONION | PERM | 4,
            F::InvalidOnionHmac { .. } => BADONION | PERM | 5,
            F::InvalidOnionKey { .. } => BADONION | PERM | 6,
            F::TemporaryChannelFailure { .. } => UPDATE | 7,
            F::PermanentChannelFailure => PERM | 8,
            F::RequiredChannelFeatureMissing => PERM | 9,
            F::UnknownNextPeer => PERM | 10,
            F::AmountBelowMinimum { .. } => UPDATE | 11,
            F::FeeInsufficient { .. } => UPDATE | 12,
            F::IncorrectCltvExpiry { .. } => UPDATE | 13,
            F::ExpiryTooSoon { .. } => UPDATE | 14,
            F::IncorrectOrUnknownPaymentDetails { .. } => PERM | 15,
            F::FinalIncorrectCltvExpiry { .. } => 18,
            F::FinalIncorrectHtlcAmount { .. } => 19,
            F::ChannelDisabled { .. } => UPDATE | 20,
            F::ExpiryTooFar => 21,
            F::InvalidOnionPayload { .. } => PERM | 22,
            F::MppTimeout => 23,
            F::InvalidOnionBlinding { .. } => BADONION | PERM | 24,
            F::Other { code, .. } => *code,
        }
    }

    /// The failure an upstream hop wraps and returns for an
    /// `update_fail_malformed_htlc` it received: the code and onion hash of
    /// that message (BOLT 2: the code must have the BADONION bit, which the
    /// channel layer checks).
    pub fn from_malformed(failure_code: u16, sha256_of_onion: [u8; 32]) -> FailureMessage {
        let mut bytes = Vec::with_capacity(34);
        bytes.extend_from_slice(&failure_code.to_be_bytes());
        bytes.extend_from_slice(&sha256_of_onion);
        match Failure::decode(&bytes) {
            Ok(f) => f.message,
            Err(_) => FailureMessage::Other {
                code: failure_code,
                data: sha256_of_onion.to_vec(),
            },
        }
    }

    /// BOLT 4 name of the failure (`"unknown"` for [`FailureMessage::Other`]).
    pub fn name(&self) -> &'static str {
        use FailureMessage as F;
        match self {
            F::InvalidRealm => "invalid_realm",
            F::TemporaryNodeFailure => "temporary_node_failure",
            F::PermanentNodeFailure => "permanent_node_failure",
            F::RequiredNodeFeatureMissing => "required_node_feature_missing",
            F::InvalidOnionVersion { .. } => "invalid_onion_version",
            F::InvalidOnionHmac { .. } => "invalid_onion_hmac",
            F::InvalidOnionKey { .. } => "invalid_onion_key",
            F::TemporaryChannelFailure { .. } => "temporary_channel_failure",
            F::PermanentChannelFailure => "permanent_channel_failure",
            F::RequiredChannelFeatureMissing => "required_channel_feature_missing",
            F::UnknownNextPeer => "unknown_next_peer",
            F::AmountBelowMinimum { .. } => "amount_below_minimum",
            F::FeeInsufficient { .. } => "fee_insufficient",
            F::IncorrectCltvExpiry { .. } => "incorrect_cltv_expiry",
            F::ExpiryTooSoon { .. } => "expiry_too_soon",
            F::IncorrectOrUnknownPaymentDetails { .. } => "incorrect_or_unknown_payment_details",
            F::FinalIncorrectCltvExpiry { .. } => "final_incorrect_cltv_expiry",
            F::FinalIncorrectHtlcAmount { .. } => "final_incorrect_htlc_amount",
            F::ChannelDisabled { .. } => "channel_disabled",
            F::ExpiryTooFar => "expiry_too_far",
            F::InvalidOnionPayload { .. } => "invalid_onion_payload",
            F::MppTimeout => "mpp_timeout",
            F::InvalidOnionBlinding { .. } => "invalid_onion_blinding",
            F::Other { .. } => "unknown",
        }
    }

    /// BADONION: the sending peer could not parse the onion (sent with
    /// `update_fail_malformed_htlc`).
    pub fn is_bad_onion(&self) -> bool {
        self.code() & BADONION != 0
    }
    /// PERM: permanent failure.
    pub fn is_permanent(&self) -> bool {
        self.code() & PERM != 0
    }
    /// NODE: the node failed, not a channel.
    pub fn is_node(&self) -> bool {
        self.code() & NODE != 0
    }
    /// UPDATE: a `channel_update` is enclosed.
    pub fn has_update(&self) -> bool {
        self.code() & UPDATE != 0
    }

    /// The enclosed `channel_update`, if this failure carries one.
    pub fn channel_update(&self) -> Option<&ChannelUpdateBytes> {
        use FailureMessage as F;
        match self {
            F::TemporaryChannelFailure { channel_update }
            | F::AmountBelowMinimum { channel_update, .. }
            | F::FeeInsufficient { channel_update, .. }
            | F::IncorrectCltvExpiry { channel_update, .. }
            | F::ExpiryTooSoon { channel_update }
            | F::ChannelDisabled { channel_update, .. } => Some(channel_update),
            _ => None,
        }
    }

    /// Appends the code and data.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        use FailureMessage as F;
        out.extend_from_slice(&self.code().to_be_bytes());
        match self {
            F::InvalidOnionVersion { sha256_of_onion }
            | F::InvalidOnionHmac { sha256_of_onion }
            | F::InvalidOnionKey { sha256_of_onion }
            | F::InvalidOnionBlinding { sha256_of_onion } => out.extend_from_slice(sha256_of_onion),
            F::TemporaryChannelFailure { channel_update } | F::ExpiryTooSoon { channel_update } => {
                push_update(out, channel_update)
            }
            F::AmountBelowMinimum {
                htlc_msat,
                channel_update,
            }
            | F::FeeInsufficient {
                htlc_msat,
                channel_update,
            } => {
                out.extend_from_slice(&htlc_msat.to_be_bytes());
                push_update(out, channel_update);
            }
            F::IncorrectCltvExpiry {
                cltv_expiry,
                channel_update,
            } => {
                out.extend_from_slice(&cltv_expiry.to_be_bytes());
                push_update(out, channel_update);
            }
            F::IncorrectOrUnknownPaymentDetails { htlc_msat, height } => {
                out.extend_from_slice(&htlc_msat.to_be_bytes());
                out.extend_from_slice(&height.to_be_bytes());
            }
            F::FinalIncorrectCltvExpiry { cltv_expiry } => {
                out.extend_from_slice(&cltv_expiry.to_be_bytes())
            }
            F::FinalIncorrectHtlcAmount { incoming_htlc_amt } => {
                out.extend_from_slice(&incoming_htlc_amt.to_be_bytes())
            }
            F::ChannelDisabled {
                disabled_flags,
                channel_update,
            } => {
                out.extend_from_slice(&disabled_flags.to_be_bytes());
                push_update(out, channel_update);
            }
            F::InvalidOnionPayload { typ, offset } => {
                BigSize::push(out, *typ);
                out.extend_from_slice(&offset.to_be_bytes());
            }
            F::Other { data, .. } => out.extend_from_slice(data),
            F::InvalidRealm
            | F::TemporaryNodeFailure
            | F::PermanentNodeFailure
            | F::RequiredNodeFeatureMissing
            | F::PermanentChannelFailure
            | F::RequiredChannelFeatureMissing
            | F::UnknownNextPeer
            | F::ExpiryTooFar
            | F::MppTimeout => {}
        }
    }
}

impl fmt::Display for FailureMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:04x})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex::FromHex;

    fn all_messages() -> Vec<FailureMessage> {
        use FailureMessage as F;
        let u = ChannelUpdateBytes(vec![0x01, 0x02, 0xaa, 0xbb]);
        vec![
            F::InvalidRealm,
            F::TemporaryNodeFailure,
            F::PermanentNodeFailure,
            F::RequiredNodeFeatureMissing,
            F::InvalidOnionVersion {
                sha256_of_onion: [1; 32],
            },
            F::InvalidOnionHmac {
                sha256_of_onion: [2; 32],
            },
            F::InvalidOnionKey {
                sha256_of_onion: [3; 32],
            },
            F::TemporaryChannelFailure {
                channel_update: u.clone(),
            },
            F::PermanentChannelFailure,
            F::RequiredChannelFeatureMissing,
            F::UnknownNextPeer,
            F::AmountBelowMinimum {
                htlc_msat: 5,
                channel_update: u.clone(),
            },
            F::FeeInsufficient {
                htlc_msat: 6,
                channel_update: u.clone(),
            },
            F::IncorrectCltvExpiry {
                cltv_expiry: 7,
                channel_update: u.clone(),
            },
            F::ExpiryTooSoon {
                channel_update: u.clone(),
            },
            F::IncorrectOrUnknownPaymentDetails {
                htlc_msat: 100,
                height: 800_000,
            },
            F::FinalIncorrectCltvExpiry { cltv_expiry: 9 },
            F::FinalIncorrectHtlcAmount {
                incoming_htlc_amt: 10,
            },
            F::ChannelDisabled {
                disabled_flags: 0,
                channel_update: u,
            },
            F::ExpiryTooFar,
            F::InvalidOnionPayload {
                typ: 300,
                offset: 12,
            },
            F::MppTimeout,
            F::InvalidOnionBlinding {
                sha256_of_onion: [4; 32],
            },
            F::Other {
                code: 0x1234,
                data: vec![1, 2, 3],
            },
        ]
    }

    #[test]
    fn every_failure_round_trips() {
        for m in all_messages() {
            let f = Failure::from(m.clone());
            let bytes = f.encode();
            assert_eq!(Failure::decode(&bytes).unwrap(), f, "{m}");
        }
    }

    #[test]
    fn bolt4_vector_failure_message_with_tlv() {
        // bolt04-onion.json returning_errors: 0x400f, htlc_msat 100, height
        // 800000, then a TLV record 34001 of 300 bytes of 0x80.
        let mut bytes = Vec::from_hex("400f0000000000000064000c3500fd84d1fd012c").unwrap();
        bytes.extend([0x80; 300]);
        let f = Failure::decode(&bytes).unwrap();
        assert_eq!(
            f.message,
            FailureMessage::IncorrectOrUnknownPaymentDetails {
                htlc_msat: 100,
                height: 800_000
            }
        );
        let tlvs = f.extension_tlvs().unwrap();
        assert_eq!(tlvs.0.len(), 1);
        assert_eq!(tlvs.0[0].typ, 34001);
        assert_eq!(tlvs.0[0].value, vec![0x80; 300]);
        assert_eq!(f.encode(), bytes);
    }

    #[test]
    fn malformed_known_code_is_kept_raw() {
        let f = Failure::decode(&[0x10, 0x07, 0x00, 0x05, 0x01]).unwrap();
        assert_eq!(
            f.message,
            FailureMessage::Other {
                code: 0x1007,
                data: vec![0, 5, 1]
            }
        );
        assert!(f.message.has_update());
        assert_eq!(Failure::decode(&[0x10]), Err(FailureDecodeError::NoCode));
    }

    #[test]
    fn channel_update_decodes_with_or_without_prefix() {
        use crate::codec::sample::{Sample, SampleRng};
        use crate::codec::Writeable;
        let update = crate::msgs::ChannelUpdate::sample(&mut SampleRng::new(7));
        let payload = update.encode();
        let mut prefixed = 258u16.to_be_bytes().to_vec();
        prefixed.extend_from_slice(&payload);
        assert_eq!(
            ChannelUpdateBytes(prefixed.clone()).decode().unwrap(),
            update
        );
        assert_eq!(ChannelUpdateBytes(payload).decode().unwrap(), update);
        // Inside a failure message, the update survives a round trip.
        let f = Failure::from(FailureMessage::TemporaryChannelFailure {
            channel_update: ChannelUpdateBytes(prefixed),
        });
        let back = Failure::decode(&f.encode()).unwrap();
        assert_eq!(
            back.message.channel_update().unwrap().decode().unwrap(),
            update
        );
    }

    #[test]
    fn malformed_codes_become_typed_failures() {
        assert_eq!(
            FailureMessage::from_malformed(BADONION | PERM | 5, [9; 32]),
            FailureMessage::InvalidOnionHmac {
                sha256_of_onion: [9; 32]
            }
        );
        assert_eq!(
            FailureMessage::from_malformed(BADONION | PERM | 24, [8; 32]),
            FailureMessage::InvalidOnionBlinding {
                sha256_of_onion: [8; 32]
            }
        );
        assert_eq!(
            FailureMessage::from_malformed(BADONION | 99, [7; 32]),
            FailureMessage::Other {
                code: BADONION | 99,
                data: vec![7; 32]
            }
        );
    }

    #[test]
    fn channel_update_prefix() {
        assert_eq!(ChannelUpdateBytes(vec![1, 2, 9]).message_bytes(), &[9]);
        assert_eq!(ChannelUpdateBytes(vec![9, 9]).message_bytes(), &[9, 9]);
    }
}
