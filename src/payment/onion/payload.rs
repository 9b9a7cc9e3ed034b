//! The TLV `hop_payload` of BOLT 4 "`payload` format" and the reader's rules
//! about which fields each kind of hop must and must not have.

use crate::codec::tlv::{read_tlv_stream, TlvValue};
use crate::codec::{BigSize, DecodeError, TlvRecord, TlvStream, Tu32, Tu64};
use crate::payment::onion::failure::FailureMessage;
use crate::types::{PaymentPreimage, PaymentSecret, Point, ShortChannelId};
use core::fmt;

/// TLV type numbers of the payment `hop_payload`.
pub mod tlv_type {
    /// `amt_to_forward` (tu64).
    pub const AMT_TO_FORWARD: u64 = 2;
    /// `outgoing_cltv_value` (tu32).
    pub const OUTGOING_CLTV_VALUE: u64 = 4;
    /// `short_channel_id`.
    pub const SHORT_CHANNEL_ID: u64 = 6;
    /// `payment_data`: payment secret and total amount.
    pub const PAYMENT_DATA: u64 = 8;
    /// `encrypted_recipient_data` (route blinding).
    pub const ENCRYPTED_RECIPIENT_DATA: u64 = 10;
    /// `current_blinding_point` (route blinding).
    pub const CURRENT_BLINDING_POINT: u64 = 12;
    /// `payment_metadata`.
    pub const PAYMENT_METADATA: u64 = 16;
    /// `total_amount_msat` (blinded final hop).
    pub const TOTAL_AMOUNT_MSAT: u64 = 18;
    /// The keysend preimage (bLIP 3), an even type above 2^32.
    pub const KEYSEND_PREIMAGE: u64 = 5_482_373_484;
}
use tlv_type::*;

/// `payment_data`: the invoice's payment secret and the total the sender
/// pays across all parts (basic MPP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentData {
    /// The payment secret from the invoice.
    pub payment_secret: PaymentSecret,
    /// The total amount of the HTLC set, in millisatoshis.
    pub total_msat: u64,
}

/// Instructions for a hop that forwards (outside a blinded route).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardPayload {
    /// The outgoing channel.
    pub short_channel_id: ShortChannelId,
    /// Amount of the outgoing HTLC, in millisatoshis.
    pub amt_to_forward: u64,
    /// CLTV expiry of the outgoing HTLC.
    pub outgoing_cltv_value: u32,
    /// Unknown odd records, kept in order.
    pub unknown_tlvs: TlvStream,
}

/// Instructions for the final hop (outside a blinded route).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivePayload {
    /// Amount this HTLC should carry, in millisatoshis.
    pub amt_to_forward: u64,
    /// CLTV expiry this HTLC should carry.
    pub outgoing_cltv_value: u32,
    /// Payment secret and MPP total, when the invoice gave a secret.
    pub payment_data: Option<PaymentData>,
    /// The invoice's `payment_metadata`, echoed back.
    pub payment_metadata: Option<Vec<u8>>,
    /// A spontaneous payment's preimage (keysend).
    pub keysend_preimage: Option<PaymentPreimage>,
    /// Unknown odd records, kept in order.
    pub unknown_tlvs: TlvStream,
}

impl ReceivePayload {
    /// The HTLC set's total: `payment_data.total_msat`, or `amt_to_forward`
    /// when absent (BOLT 4: "MUST treat `total_msat` as if it were equal to
    /// `amt_to_forward` if it is not present").
    pub fn total_msat(&self) -> u64 {
        self.payment_data
            .map_or(self.amt_to_forward, |d| d.total_msat)
    }
}

/// Instructions for a forwarding hop inside a blinded route: the real values
/// are in `encrypted_recipient_data`, which the hop decrypts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlindedForwardPayload {
    /// The recipient's encrypted data for this hop.
    pub encrypted_recipient_data: Vec<u8>,
    /// The blinding point, present at the introduction node only.
    pub current_blinding_point: Option<Point>,
}

/// Instructions for the final hop of a blinded route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlindedReceivePayload {
    /// Amount this HTLC should carry, in millisatoshis.
    pub amt_to_forward: u64,
    /// CLTV expiry this HTLC should carry.
    pub outgoing_cltv_value: u32,
    /// The total amount of the HTLC set.
    pub total_amount_msat: u64,
    /// The recipient's encrypted data for itself.
    pub encrypted_recipient_data: Vec<u8>,
    /// The blinding point, when the recipient is the introduction node.
    pub current_blinding_point: Option<Point>,
}

/// A decoded `hop_payload`: which kind it is follows from the packet (an
/// all-zero next HMAC means final) and from route blinding.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HopPayload {
    /// Forward to the next hop.
    Forward(ForwardPayload),
    /// Forward inside a blinded route.
    BlindedForward(BlindedForwardPayload),
    /// Receive the payment.
    Receive(ReceivePayload),
    /// Receive at the end of a blinded route.
    BlindedReceive(BlindedReceivePayload),
}

/// Why a hop payload was refused; each maps to the failure the hop returns.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HopPayloadError {
    /// `bolt4-payload-tlv`: not a valid TLV stream (BOLT 1 rules).
    InvalidTlvStream(DecodeError),
    /// `bolt4-payload-field`: a known record whose value is malformed.
    InvalidField {
        /// The record's type.
        typ: u64,
        /// The record's byte offset in the payload.
        offset: u16,
    },
    /// `bolt4-payload-missing`: a record this kind of hop must have is absent.
    MissingField(u64),
    /// `bolt4-payload-unexpected`: a record this kind of hop must not have
    /// (or an unknown even record).
    UnexpectedField {
        /// The record's type.
        typ: u64,
        /// The record's byte offset in the payload.
        offset: u16,
    },
    /// `bolt4-payload-blinding`: route-blinding rules broken (blinding point
    /// present where it must not be, absent where it must be, or a blinded
    /// payload with fields it must not have). Answered with
    /// `invalid_onion_blinding`.
    Blinding(&'static str),
}

impl fmt::Display for HopPayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HopPayloadError::InvalidTlvStream(e) => {
                write!(f, "bolt4-payload-tlv: not a valid tlv stream: {e}")
            }
            HopPayloadError::InvalidField { typ, offset } => {
                write!(
                    f,
                    "bolt4-payload-field: malformed record type {typ} at offset {offset}"
                )
            }
            HopPayloadError::MissingField(t) => write!(
                f,
                "bolt4-payload-missing: required record type {t} is absent"
            ),
            HopPayloadError::UnexpectedField { typ, offset } => {
                write!(f, "bolt4-payload-unexpected: record type {typ} at offset {offset} is not allowed here")
            }
            HopPayloadError::Blinding(why) => write!(f, "bolt4-payload-blinding: {why}"),
        }
    }
}

impl std::error::Error for HopPayloadError {}

impl HopPayloadError {
    /// The failure the processing hop returns (BOLT 4: `invalid_onion_payload`
    /// with the offending type and offset when known; `invalid_onion_blinding`
    /// for blinded routes, whose SHA256-of-onion is left zero here:
    /// [`OnionError::to_failure`](super::OnionError::to_failure) fills it in).
    pub fn to_failure(&self) -> FailureMessage {
        match self {
            HopPayloadError::InvalidTlvStream(_) => {
                FailureMessage::InvalidOnionPayload { typ: 0, offset: 0 }
            }
            HopPayloadError::InvalidField { typ, offset }
            | HopPayloadError::UnexpectedField { typ, offset } => {
                FailureMessage::InvalidOnionPayload {
                    typ: *typ,
                    offset: *offset,
                }
            }
            HopPayloadError::MissingField(t) => {
                FailureMessage::InvalidOnionPayload { typ: *t, offset: 0 }
            }
            HopPayloadError::Blinding(_) => FailureMessage::InvalidOnionBlinding {
                sha256_of_onion: [0; 32],
            },
        }
    }
}

/// The records of one payload, located by type while walking the stream.
#[derive(Default)]
struct Fields<'a> {
    amt: Option<u64>,
    cltv: Option<u32>,
    scid: Option<ShortChannelId>,
    payment_data: Option<PaymentData>,
    encrypted: Option<&'a [u8]>,
    blinding: Option<Point>,
    metadata: Option<&'a [u8]>,
    total: Option<u64>,
    keysend: Option<PaymentPreimage>,
    /// Known types present, with their offsets, in stream order.
    present: Vec<(u64, u16)>,
    /// The first unknown even record.
    unknown_even: Option<(u64, u16)>,
    unknown_odd: TlvStream,
}

fn parse_fields(bytes: &[u8]) -> Result<Fields<'_>, HopPayloadError> {
    let mut f = Fields::default();
    let base = bytes.as_ptr() as usize;
    let mut bad_value: Option<(u64, u16)> = None;
    let mut unknown = TlvStream::new();
    read_tlv_stream(bytes, &mut unknown, |typ, value| {
        let value_off = value.as_ptr() as usize - base;
        let header = BigSize::encoded_len(typ) + BigSize::encoded_len(value.len() as u64);
        let offset = u16::try_from(value_off.saturating_sub(header)).unwrap_or(u16::MAX);
        let ok = match typ {
            AMT_TO_FORWARD => Tu64::read_value(value).map(|v| f.amt = Some(v.0)).is_ok(),
            OUTGOING_CLTV_VALUE => Tu32::read_value(value).map(|v| f.cltv = Some(v.0)).is_ok(),
            SHORT_CHANNEL_ID => ShortChannelId::read_value(value)
                .map(|v| f.scid = Some(v))
                .is_ok(),
            PAYMENT_DATA => {
                if value.len() < 32 {
                    false
                } else {
                    let mut secret = [0u8; 32];
                    secret.copy_from_slice(&value[..32]);
                    Tu64::read_value(&value[32..])
                        .map(|t| {
                            f.payment_data = Some(PaymentData {
                                payment_secret: PaymentSecret(secret),
                                total_msat: t.0,
                            })
                        })
                        .is_ok()
                }
            }
            ENCRYPTED_RECIPIENT_DATA => {
                f.encrypted = Some(value);
                true
            }
            CURRENT_BLINDING_POINT => Point::read_value(value)
                .map(|p| f.blinding = Some(p))
                .is_ok(),
            PAYMENT_METADATA => {
                f.metadata = Some(value);
                true
            }
            TOTAL_AMOUNT_MSAT => Tu64::read_value(value).map(|v| f.total = Some(v.0)).is_ok(),
            KEYSEND_PREIMAGE => PaymentPreimage::read_value(value)
                .map(|v| f.keysend = Some(v))
                .is_ok(),
            t if t % 2 == 0 => {
                if f.unknown_even.is_none() {
                    f.unknown_even = Some((t, offset));
                }
                return Ok(true);
            }
            _ => return Ok(false),
        };
        if !ok && bad_value.is_none() {
            bad_value = Some((typ, offset));
        }
        f.present.push((typ, offset));
        Ok(true)
    })
    .map_err(HopPayloadError::InvalidTlvStream)?;
    if let Some((typ, offset)) = bad_value {
        return Err(HopPayloadError::InvalidField { typ, offset });
    }
    f.unknown_odd = unknown;
    Ok(f)
}

impl Fields<'_> {
    /// The first present known record not in `allowed`.
    fn first_not_in(&self, allowed: &[u64]) -> Option<(u64, u16)> {
        self.present
            .iter()
            .copied()
            .find(|(t, _)| !allowed.contains(t))
    }
}

impl HopPayload {
    /// Decodes and validates a payload (BOLT 4 "`payload` format",
    /// requirements of the reader). `is_final` comes from the packet (an
    /// all-zero next HMAC); `update_add_blinded` says whether the incoming
    /// `update_add_htlc` carried a `blinding_point`.
    pub fn decode(
        bytes: &[u8],
        is_final: bool,
        update_add_blinded: bool,
    ) -> Result<HopPayload, HopPayloadError> {
        let f = parse_fields(bytes)?;
        if let Some(encrypted) = f.encrypted {
            // BOLT 4: "If `blinding_point` is set in the incoming
            // `update_add_htlc`: MUST return an error if
            // `current_blinding_point` is present" and "Otherwise: MUST
            // return an error if `current_blinding_point` is not present".
            if update_add_blinded && f.blinding.is_some() {
                return Err(HopPayloadError::Blinding(
                    "current_blinding_point with a blinded update_add_htlc",
                ));
            }
            if !update_add_blinded && f.blinding.is_none() {
                return Err(HopPayloadError::Blinding("missing current_blinding_point"));
            }
            if f.unknown_even.is_some() || !f.unknown_odd.is_empty() {
                return Err(HopPayloadError::Blinding(
                    "unknown record in a blinded payload",
                ));
            }
            if !is_final {
                // "MUST return an error if the payload contains other tlv
                // fields than `encrypted_recipient_data` and
                // `current_blinding_point`."
                if f.first_not_in(&[ENCRYPTED_RECIPIENT_DATA, CURRENT_BLINDING_POINT])
                    .is_some()
                {
                    return Err(HopPayloadError::Blinding(
                        "unexpected record in a blinded forward payload",
                    ));
                }
                return Ok(HopPayload::BlindedForward(BlindedForwardPayload {
                    encrypted_recipient_data: encrypted.to_vec(),
                    current_blinding_point: f.blinding,
                }));
            }
            let allowed = [
                ENCRYPTED_RECIPIENT_DATA,
                CURRENT_BLINDING_POINT,
                AMT_TO_FORWARD,
                OUTGOING_CLTV_VALUE,
                TOTAL_AMOUNT_MSAT,
            ];
            if f.first_not_in(&allowed).is_some() {
                return Err(HopPayloadError::Blinding(
                    "unexpected record in a blinded final payload",
                ));
            }
            // "MUST return an error if `amt_to_forward`, `outgoing_cltv_value`
            // or `total_amount_msat` are not present."
            let (Some(amt), Some(cltv), Some(total)) = (f.amt, f.cltv, f.total) else {
                return Err(HopPayloadError::Blinding(
                    "blinded final payload lacks amount, cltv or total",
                ));
            };
            return Ok(HopPayload::BlindedReceive(BlindedReceivePayload {
                amt_to_forward: amt,
                outgoing_cltv_value: cltv,
                total_amount_msat: total,
                encrypted_recipient_data: encrypted.to_vec(),
                current_blinding_point: f.blinding,
            }));
        }
        // "Otherwise (it is not part of a blinded route): MUST return an error
        // if `blinding_point` is set in the incoming `update_add_htlc` or
        // `current_blinding_point` is present."
        if update_add_blinded {
            return Err(HopPayloadError::Blinding(
                "blinded update_add_htlc without encrypted_recipient_data",
            ));
        }
        if let Some(&(typ, offset)) = f.present.iter().find(|(t, _)| *t == CURRENT_BLINDING_POINT) {
            return Err(HopPayloadError::UnexpectedField { typ, offset });
        }
        if let Some((typ, offset)) = f.unknown_even {
            return Err(HopPayloadError::UnexpectedField { typ, offset });
        }
        // "MUST return an error if `amt_to_forward` or `outgoing_cltv_value`
        // are not present."
        let amt = f.amt.ok_or(HopPayloadError::MissingField(AMT_TO_FORWARD))?;
        let cltv = f
            .cltv
            .ok_or(HopPayloadError::MissingField(OUTGOING_CLTV_VALUE))?;
        if !is_final {
            // "if it is not the final node: MUST return an error if
            // `short_channel_id` is not present"; the writer "MUST NOT include
            // `payment_data`" (nor any receive-only record).
            if let Some((typ, offset)) =
                f.first_not_in(&[AMT_TO_FORWARD, OUTGOING_CLTV_VALUE, SHORT_CHANNEL_ID])
            {
                return Err(HopPayloadError::UnexpectedField { typ, offset });
            }
            let scid = f
                .scid
                .ok_or(HopPayloadError::MissingField(SHORT_CHANNEL_ID))?;
            return Ok(HopPayload::Forward(ForwardPayload {
                short_channel_id: scid,
                amt_to_forward: amt,
                outgoing_cltv_value: cltv,
                unknown_tlvs: f.unknown_odd,
            }));
        }
        // The writer, "for the final node: MUST NOT include `short_channel_id`".
        let receive_allowed = [
            AMT_TO_FORWARD,
            OUTGOING_CLTV_VALUE,
            PAYMENT_DATA,
            PAYMENT_METADATA,
            KEYSEND_PREIMAGE,
        ];
        if let Some((typ, offset)) = f.first_not_in(&receive_allowed) {
            return Err(HopPayloadError::UnexpectedField { typ, offset });
        }
        Ok(HopPayload::Receive(ReceivePayload {
            amt_to_forward: amt,
            outgoing_cltv_value: cltv,
            payment_data: f.payment_data,
            payment_metadata: f.metadata.map(<[u8]>::to_vec),
            keysend_preimage: f.keysend,
            unknown_tlvs: f.unknown_odd,
        }))
    }

    /// Whether this payload is for the final hop.
    pub fn is_final(&self) -> bool {
        matches!(self, HopPayload::Receive(_) | HopPayload::BlindedReceive(_))
    }

    /// The encoded TLV stream (no length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_to(&mut out);
        out
    }

    /// Appends the encoded TLV stream (no length prefix) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut w = RecordWriter { out, unknown: &[] };
        match self {
            HopPayload::Forward(p) => {
                w.unknown = &p.unknown_tlvs.0;
                w.tu64(AMT_TO_FORWARD, p.amt_to_forward);
                w.tu64(OUTGOING_CLTV_VALUE, p.outgoing_cltv_value as u64);
                w.bytes(SHORT_CHANNEL_ID, &p.short_channel_id.0.to_be_bytes());
            }
            HopPayload::Receive(p) => {
                w.unknown = &p.unknown_tlvs.0;
                w.tu64(AMT_TO_FORWARD, p.amt_to_forward);
                w.tu64(OUTGOING_CLTV_VALUE, p.outgoing_cltv_value as u64);
                if let Some(d) = &p.payment_data {
                    let t = d.total_msat.to_be_bytes();
                    let skip = (d.total_msat.leading_zeros() / 8) as usize;
                    w.record_parts(PAYMENT_DATA, &[&d.payment_secret.0, &t[skip..]]);
                }
                if let Some(m) = &p.payment_metadata {
                    w.bytes(PAYMENT_METADATA, m);
                }
                if let Some(k) = &p.keysend_preimage {
                    w.bytes(KEYSEND_PREIMAGE, &k.0);
                }
            }
            HopPayload::BlindedForward(p) => {
                w.bytes(ENCRYPTED_RECIPIENT_DATA, &p.encrypted_recipient_data);
                if let Some(b) = &p.current_blinding_point {
                    w.bytes(CURRENT_BLINDING_POINT, b.as_bytes());
                }
            }
            HopPayload::BlindedReceive(p) => {
                w.tu64(AMT_TO_FORWARD, p.amt_to_forward);
                w.tu64(OUTGOING_CLTV_VALUE, p.outgoing_cltv_value as u64);
                w.bytes(ENCRYPTED_RECIPIENT_DATA, &p.encrypted_recipient_data);
                if let Some(b) = &p.current_blinding_point {
                    w.bytes(CURRENT_BLINDING_POINT, b.as_bytes());
                }
                w.tu64(TOTAL_AMOUNT_MSAT, p.total_amount_msat);
            }
        }
        w.finish();
    }
}

/// Writes known records in increasing type order, merging the kept unknown
/// records (sorted by type) in between so the stream stays strictly
/// increasing.
struct RecordWriter<'a> {
    out: &'a mut Vec<u8>,
    unknown: &'a [TlvRecord],
}

impl RecordWriter<'_> {
    fn flush_below(&mut self, typ: u64) {
        while let Some((r, rest)) = self.unknown.split_first() {
            if r.typ >= typ {
                break;
            }
            BigSize::push(self.out, r.typ);
            BigSize::push(self.out, r.value.len() as u64);
            self.out.extend_from_slice(&r.value);
            self.unknown = rest;
        }
    }
    fn record_parts(&mut self, typ: u64, parts: &[&[u8]]) {
        self.flush_below(typ);
        BigSize::push(self.out, typ);
        BigSize::push(
            self.out,
            parts.iter().map(|p| p.len()).sum::<usize>() as u64,
        );
        for p in parts {
            self.out.extend_from_slice(p);
        }
    }
    fn bytes(&mut self, typ: u64, v: &[u8]) {
        self.record_parts(typ, &[v]);
    }
    fn tu64(&mut self, typ: u64, v: u64) {
        let b = v.to_be_bytes();
        let skip = (v.leading_zeros() / 8) as usize;
        self.record_parts(typ, &[&b[skip..]]);
    }
    fn finish(&mut self) {
        self.flush_below(u64::MAX);
        if let Some(r) = self.unknown.first() {
            // A record of type u64::MAX.
            BigSize::push(self.out, r.typ);
            BigSize::push(self.out, r.value.len() as u64);
            self.out.extend_from_slice(&r.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex::FromHex;

    fn h(s: &str) -> Vec<u8> {
        Vec::from_hex(s).unwrap()
    }

    #[test]
    fn bolt4_vector_payloads_decode() {
        // onion-test.json hop 0 payload (length prefix stripped).
        let p =
            HopPayload::decode(&h("02023a98040205dc06080000000000000001"), false, false).unwrap();
        assert_eq!(
            p,
            HopPayload::Forward(ForwardPayload {
                short_channel_id: ShortChannelId(1),
                amt_to_forward: 15000,
                outgoing_cltv_value: 1500,
                unknown_tlvs: TlvStream::new()
            })
        );
        assert_eq!(p.encode(), h("02023a98040205dc06080000000000000001"));
    }

    #[test]
    fn bolt4_payload_missing_amount_is_refused() {
        let e = HopPayload::decode(&h("040205dc06080000000000000001"), false, false).unwrap_err();
        assert_eq!(e, HopPayloadError::MissingField(AMT_TO_FORWARD));
        assert_eq!(
            e.to_failure(),
            FailureMessage::InvalidOnionPayload { typ: 2, offset: 0 }
        );
    }

    #[test]
    fn bolt4_payload_unexpected_scid_at_final_hop() {
        let e = HopPayload::decode(&h("02023a98040205dc06080000000000000001"), true, false)
            .unwrap_err();
        assert_eq!(e, HopPayloadError::UnexpectedField { typ: 6, offset: 8 });
    }

    #[test]
    fn bolt4_payload_forward_without_scid_is_refused() {
        let e = HopPayload::decode(&h("02023a98040205dc"), false, false).unwrap_err();
        assert_eq!(e, HopPayloadError::MissingField(SHORT_CHANNEL_ID));
    }

    #[test]
    fn bolt4_payload_payment_data_at_forward_is_refused() {
        let mut p = h("02023a98040205dc06080000000000000001");
        p.extend(h("0821"));
        p.extend([0x11; 32]);
        p.push(0x05);
        let e = HopPayload::decode(&p, false, false).unwrap_err();
        assert!(matches!(
            e,
            HopPayloadError::UnexpectedField {
                typ: PAYMENT_DATA,
                ..
            }
        ));
    }

    #[test]
    fn bolt4_payload_blinding_rules() {
        // encrypted data without a blinding point, update_add not blinded.
        let e = HopPayload::decode(&h("0a03010203"), false, false).unwrap_err();
        assert!(matches!(e, HopPayloadError::Blinding(_)));
        // with update_add blinded, it is a valid blinded forward.
        let p = HopPayload::decode(&h("0a03010203"), false, true).unwrap();
        assert!(matches!(p, HopPayload::BlindedForward(_)));
        // unblinded payload but a blinded update_add.
        let e = HopPayload::decode(&h("02023a98040205dc06080000000000000001"), false, true)
            .unwrap_err();
        assert!(matches!(e, HopPayloadError::Blinding(_)));
    }

    #[test]
    fn bolt4_payload_unknown_even_refused_odd_kept() {
        let e = HopPayload::decode(
            &h("02023a98040205dc06080000000000000001fd01000100"),
            false,
            false,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            HopPayloadError::UnexpectedField { typ: 256, .. }
        ));
        let bytes = h("02023a98040205dc0508aabbccddeeff001106080000000000000001fd01010100");
        let p = HopPayload::decode(&bytes, false, false).unwrap();
        assert_eq!(p.encode(), bytes);
    }

    #[test]
    fn bolt4_payload_non_minimal_amount_is_refused() {
        let e = HopPayload::decode(&h("0203003a98040205dc06080000000000000001"), false, false)
            .unwrap_err();
        assert_eq!(e, HopPayloadError::InvalidField { typ: 2, offset: 0 });
    }
}
