//! Parsing and verifying BOLT 11 strings.

use super::bech32::{self, Bech32Error};
use super::{
    signing_hash, Bolt11Invoice, Currency, Description, Fallback, RouteHint, RouteHintHop,
    TaggedField,
};
use crate::msgs::features::Bolt11InvoiceFeatures;
use crate::types::{PaymentHash, PaymentSecret, ShortChannelId};
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId, Signature};
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1};
use core::fmt;
use core::str::FromStr;

/// Why a string is not a valid BOLT 11 invoice. Each variant is something a
/// wallet can show its user.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// `bolt11-bech32-separator`: no `1` separating prefix and data.
    MissingSeparator,
    /// `bolt11-bech32-case`: upper and lower case mixed.
    MixedCase,
    /// `bolt11-bech32-char`: a character outside the bech32 alphabet.
    InvalidCharacter(char),
    /// `bolt11-bech32-checksum`: the checksum is wrong ("MUST fail the payment").
    InvalidChecksum,
    /// `bolt11-too-short`: too short to hold a timestamp and a signature.
    TooShort,
    /// `bolt11-prefix`: the human-readable part does not start with `ln`.
    InvalidPrefix,
    /// `bolt11-currency`: an unknown currency prefix ("if it does NOT
    /// understand the `prefix`: MUST fail the payment").
    UnknownCurrency(String),
    /// `bolt11-amount`: the amount is not a positive decimal integer
    /// without leading zeros.
    InvalidAmount,
    /// `bolt11-multiplier`: the amount is followed by something other than
    /// one of `m`, `u`, `n`, `p`.
    InvalidMultiplier(String),
    /// `bolt11-sub-msat`: a `p` amount whose last digit is not 0 ("MUST fail
    /// the payment").
    SubMillisatoshiPrecision,
    /// `bolt11-amount-overflow`: the amount does not fit in 64 bits of
    /// millisatoshis.
    AmountOverflow,
    /// `bolt11-field-truncated`: a tagged field runs into the signature.
    TruncatedField,
    /// `bolt11-field-integer`: an `x` or `c` value too large for 64 bits.
    IntegerOverflow(char),
    /// `bolt11-description-utf8`: the `d` field is not valid UTF-8.
    InvalidDescription,
    /// `bolt11-payee-key`: the `n` field is not a valid public key.
    InvalidPayeeKey,
    /// `bolt11-route-hint`: an `r` field that is not a whole number of
    /// valid hops.
    InvalidRouteHint,
    /// `bolt11-missing-p`: no valid payment hash.
    MissingPaymentHash,
    /// `bolt11-missing-s`: no valid payment secret.
    MissingPaymentSecret,
    /// `bolt11-missing-description`: neither `d` nor `h`.
    MissingDescription,
    /// `bolt11-feature-even`: an unknown even feature bit is set ("MUST
    /// fail the payment"; the bit is given so it can be shown).
    UnknownRequiredFeature(usize),
    /// `bolt11-signature-recid`: the recovery id is not 0–3.
    InvalidRecoveryId(u8),
    /// `bolt11-signature-recovery`: no public key can be recovered.
    UnrecoverableSignature,
    /// `bolt11-signature-invalid`: the signature does not verify against the
    /// `n` field.
    InvalidSignature,
    /// `bolt11-signature-high-s`: a high-S signature with an `n` field
    /// (verification requires low-S).
    HighSSignatureWithPayeeField,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseError as E;
        match self {
            E::MissingSeparator => f.write_str("bolt11-bech32-separator: no '1' separator"),
            E::MixedCase => f.write_str("bolt11-bech32-case: mixed upper and lower case"),
            E::InvalidCharacter(c) => write!(f, "bolt11-bech32-char: invalid character {c:?}"),
            E::InvalidChecksum => f.write_str("bolt11-bech32-checksum: checksum is invalid"),
            E::TooShort => f.write_str("bolt11-too-short: invoice is too short"),
            E::InvalidPrefix => {
                f.write_str("bolt11-prefix: not a lightning invoice (no 'ln' prefix)")
            }
            E::UnknownCurrency(c) => write!(f, "bolt11-currency: unknown currency prefix {c:?}"),
            E::InvalidAmount => f.write_str("bolt11-amount: invalid amount"),
            E::InvalidMultiplier(m) => {
                write!(f, "bolt11-multiplier: invalid amount multiplier {m:?}")
            }
            E::SubMillisatoshiPrecision => f.write_str(
                "bolt11-sub-msat: pico-bitcoin amount is not a whole number of millisatoshis",
            ),
            E::AmountOverflow => f.write_str("bolt11-amount-overflow: amount is too large"),
            E::TruncatedField => f.write_str("bolt11-field-truncated: a tagged field is truncated"),
            E::IntegerOverflow(t) => write!(f, "bolt11-field-integer: field '{t}' is too large"),
            E::InvalidDescription => {
                f.write_str("bolt11-description-utf8: description is not valid utf-8")
            }
            E::InvalidPayeeKey => f.write_str("bolt11-payee-key: payee public key is invalid"),
            E::InvalidRouteHint => f.write_str("bolt11-route-hint: route hint is malformed"),
            E::MissingPaymentHash => f.write_str("bolt11-missing-p: no payment hash"),
            E::MissingPaymentSecret => f.write_str("bolt11-missing-s: no payment secret"),
            E::MissingDescription => {
                f.write_str("bolt11-missing-description: no description or description hash")
            }
            E::UnknownRequiredFeature(b) => {
                write!(f, "bolt11-feature-even: unknown required feature bit {b}")
            }
            E::InvalidRecoveryId(r) => write!(f, "bolt11-signature-recid: invalid recovery id {r}"),
            E::UnrecoverableSignature => {
                f.write_str("bolt11-signature-recovery: signature is not recoverable")
            }
            E::InvalidSignature => {
                f.write_str("bolt11-signature-invalid: signature does not match the payee")
            }
            E::HighSSignatureWithPayeeField => f.write_str(
                "bolt11-signature-high-s: non-canonical (high-s) signature with a payee field",
            ),
        }
    }
}

impl std::error::Error for ParseError {}

impl From<Bech32Error> for ParseError {
    fn from(e: Bech32Error) -> Self {
        match e {
            Bech32Error::MissingSeparator => ParseError::MissingSeparator,
            Bech32Error::MixedCase => ParseError::MixedCase,
            Bech32Error::InvalidChar(c) => ParseError::InvalidCharacter(c),
            Bech32Error::TooShort => ParseError::TooShort,
            Bech32Error::InvalidChecksum => ParseError::InvalidChecksum,
        }
    }
}

/// Tag values (5-bit) of the known fields.
pub(crate) mod tag {
    pub const PAYMENT_HASH: u8 = 1;
    pub const ROUTE_HINT: u8 = 3;
    pub const FEATURES: u8 = 5;
    pub const EXPIRY: u8 = 6;
    pub const FALLBACK: u8 = 9;
    pub const DESCRIPTION: u8 = 13;
    pub const PAYMENT_SECRET: u8 = 16;
    pub const PAYEE: u8 = 19;
    pub const DESCRIPTION_HASH: u8 = 23;
    pub const MIN_FINAL_CLTV: u8 = 24;
    pub const METADATA: u8 = 27;
}

/// Millisatoshis per unit for a multiplier, as (numerator, denominator).
fn multiplier(m: Option<u8>) -> Option<(u64, u64)> {
    Some(match m {
        None => (100_000_000_000, 1),
        Some(b'm') => (100_000_000, 1),
        Some(b'u') => (100_000, 1),
        Some(b'n') => (100, 1),
        Some(b'p') => (1, 10),
        Some(_) => return None,
    })
}

/// Parses the human-readable part into currency and amount.
fn parse_hrp(hrp: &str) -> Result<(Currency, Option<u64>), ParseError> {
    let rest = hrp.strip_prefix("ln").ok_or(ParseError::InvalidPrefix)?;
    let split = rest
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (cur, amount) = rest.split_at(split);
    let currency =
        Currency::from_prefix(cur).ok_or_else(|| ParseError::UnknownCurrency(cur.to_string()))?;
    if amount.is_empty() {
        return Ok((currency, None));
    }
    let digits_end = amount
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(amount.len());
    let (digits, mult) = amount.split_at(digits_end);
    // Writer: "MUST encode `amount` as a positive decimal integer with no
    // leading 0s". Reader: "if `amount` contains a non-digit OR is followed by
    // anything except a `multiplier`: MUST fail the payment".
    if digits.starts_with('0') {
        return Err(ParseError::InvalidAmount);
    }
    let m = match mult.as_bytes() {
        [] => None,
        [b] => Some(*b),
        _ => return Err(ParseError::InvalidMultiplier(mult.to_string())),
    };
    let (num, den) =
        multiplier(m).ok_or_else(|| ParseError::InvalidMultiplier(mult.to_string()))?;
    let value: u64 = digits.parse().map_err(|_| ParseError::AmountOverflow)?;
    // "if multiplier is `p` and the last decimal of `amount` is not 0: MUST
    // fail the payment."
    if value % den != 0 {
        return Err(ParseError::SubMillisatoshiPrecision);
    }
    let msat = (value / den)
        .checked_mul(num)
        .ok_or(ParseError::AmountOverflow)?;
    Ok((currency, Some(msat)))
}

/// Reads a big-endian number of 5-bit values.
fn parse_int(data: &[u8], tag_char: char) -> Result<u64, ParseError> {
    data.iter().try_fold(0u64, |acc, &v| {
        acc.checked_mul(32)
            .map(|a| a | v as u64)
            .ok_or(ParseError::IntegerOverflow(tag_char))
    })
}

fn parse_hash(data: &[u8]) -> [u8; 32] {
    let b = bech32::to_bytes_truncated(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(&b[..32]);
    out
}

fn parse_fallback(data: &[u8]) -> Option<Fallback> {
    let (&version, program) = data.split_first()?;
    let program = bech32::to_bytes_truncated(program);
    match version {
        17 => Some(Fallback::PubKeyHash(program.try_into().ok()?)),
        18 => Some(Fallback::ScriptHash(program.try_into().ok()?)),
        0 if program.len() == 20 || program.len() == 32 => {
            Some(Fallback::SegWit { version, program })
        }
        1..=16 if (2..=40).contains(&program.len()) => Some(Fallback::SegWit { version, program }),
        // "MUST skip over ... an `f` field with unknown `version`".
        _ => None,
    }
}

fn parse_route_hint(data: &[u8]) -> Result<RouteHint, ParseError> {
    let bytes = bech32::to_bytes_truncated(data);
    if bytes.is_empty() || bytes.len() % 51 != 0 {
        return Err(ParseError::InvalidRouteHint);
    }
    let hops = bytes
        .chunks_exact(51)
        .map(|c| {
            Ok(RouteHintHop {
                src_node_id: PublicKey::from_slice(&c[..33])
                    .map_err(|_| ParseError::InvalidRouteHint)?,
                short_channel_id: ShortChannelId(u64::from_be_bytes(
                    c[33..41].try_into().expect("8 bytes"),
                )),
                fee_base_msat: u32::from_be_bytes(c[41..45].try_into().expect("4 bytes")),
                fee_proportional_millionths: u32::from_be_bytes(
                    c[45..49].try_into().expect("4 bytes"),
                ),
                cltv_expiry_delta: u16::from_be_bytes(c[49..51].try_into().expect("2 bytes")),
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(RouteHint(hops))
}

/// Feature bits from 5-bit big-endian values into little-endian bytes.
fn parse_features(data: &[u8]) -> Vec<u8> {
    let nbits = data.len() * 5;
    let mut le = vec![0u8; nbits.div_ceil(8)];
    for (i, &v) in data.iter().rev().enumerate() {
        for b in 0..5 {
            if v & (1 << b) != 0 {
                let bit = i * 5 + b;
                le[bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    while le.last() == Some(&0) {
        le.pop();
    }
    le
}

/// Interprets one tagged field under the BOLT 11 reader rules.
fn parse_field(t: u8, data: &[u8]) -> Result<TaggedField, ParseError> {
    let skipped = || TaggedField::Skipped {
        tag: t,
        data: data.to_vec(),
    };
    // "MUST skip over unknown fields, OR an `f` field with unknown `version`,
    // OR `p`, `h`, `s` or `n` fields that do NOT have `data_length`s of 52,
    // 52, 52 or 53, respectively."
    Ok(match t {
        tag::PAYMENT_HASH if data.len() == 52 => {
            TaggedField::PaymentHash(PaymentHash(parse_hash(data)))
        }
        tag::PAYMENT_SECRET if data.len() == 52 => {
            TaggedField::PaymentSecret(PaymentSecret(parse_hash(data)))
        }
        tag::DESCRIPTION_HASH if data.len() == 52 => TaggedField::DescriptionHash(parse_hash(data)),
        tag::PAYEE if data.len() == 53 => TaggedField::PayeePubKey(
            PublicKey::from_slice(&bech32::to_bytes_truncated(data))
                .map_err(|_| ParseError::InvalidPayeeKey)?,
        ),
        tag::DESCRIPTION => TaggedField::Description(
            String::from_utf8(bech32::to_bytes_truncated(data))
                .map_err(|_| ParseError::InvalidDescription)?,
        ),
        tag::EXPIRY => TaggedField::Expiry(parse_int(data, 'x')?),
        tag::MIN_FINAL_CLTV => TaggedField::MinFinalCltvExpiryDelta(parse_int(data, 'c')?),
        tag::FALLBACK => match parse_fallback(data) {
            Some(f) => TaggedField::Fallback(f),
            None => skipped(),
        },
        tag::ROUTE_HINT => TaggedField::RouteHint(parse_route_hint(data)?),
        tag::FEATURES => {
            TaggedField::Features(Bolt11InvoiceFeatures::from_le_bytes(parse_features(data)))
        }
        tag::METADATA => TaggedField::Metadata(bech32::to_bytes_truncated(data)),
        _ => skipped(),
    })
}

impl FromStr for Bolt11Invoice {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let decoded = bech32::decode(s)?;
        let (currency, amount_msat) = parse_hrp(&decoded.hrp)?;
        let mut data = decoded.data;
        // 35-bit timestamp (7 values) and a 520-bit signature (104 values).
        if data.len() < 7 + 104 {
            return Err(ParseError::TooShort);
        }
        let sig_values = data.split_off(data.len() - 104);
        let timestamp = parse_int(&data[..7], 't')?;

        let mut fields = Vec::new();
        let mut pos = 7;
        while pos < data.len() {
            if data.len() - pos < 3 {
                return Err(ParseError::TruncatedField);
            }
            let t = data[pos];
            let len = ((data[pos + 1] as usize) << 5) | data[pos + 2] as usize;
            let body = data
                .get(pos + 3..pos + 3 + len)
                .ok_or(ParseError::TruncatedField)?;
            fields.push(parse_field(t, body)?);
            pos += 3 + len;
        }

        // The first valid occurrence of each field is the one used (writers
        // put the most preferred first).
        let mut payment_hash = None;
        let mut payment_secret = None;
        let mut description = None;
        let mut expiry = None;
        let mut min_final_cltv = None;
        let mut payee_field = None;
        let mut features = None;
        let mut metadata = None;
        for f in &fields {
            match f {
                TaggedField::PaymentHash(h) => {
                    payment_hash.get_or_insert(*h);
                }
                TaggedField::PaymentSecret(s) => {
                    payment_secret.get_or_insert(*s);
                }
                TaggedField::Description(d) => {
                    description.get_or_insert_with(|| Description::Direct(d.clone()));
                }
                TaggedField::DescriptionHash(h) => {
                    description.get_or_insert(Description::Hash(*h));
                }
                TaggedField::PayeePubKey(k) => {
                    payee_field.get_or_insert(*k);
                }
                TaggedField::Expiry(x) => {
                    expiry.get_or_insert(*x);
                }
                TaggedField::MinFinalCltvExpiryDelta(c) => {
                    min_final_cltv.get_or_insert(*c);
                }
                TaggedField::Features(b) => {
                    features.get_or_insert_with(|| b.clone());
                }
                TaggedField::Metadata(m) => {
                    metadata.get_or_insert_with(|| m.clone());
                }
                _ => {}
            }
        }
        let features = features.unwrap_or_else(Bolt11InvoiceFeatures::empty);
        // "if the `9` field contains unknown _even_ bits that are non-zero:
        // MUST fail the payment" (known = BOLT 9 features of context `9`).
        if let Some(bit) = features.unknown_bits().into_iter().find(|b| b % 2 == 0) {
            return Err(ParseError::UnknownRequiredFeature(bit));
        }

        let sig_bytes = bech32::to_bytes_truncated(&sig_values);
        let mut signature = [0u8; 65];
        signature.copy_from_slice(&sig_bytes[..65]);
        let hash = signing_hash(&decoded.hrp, &data);
        let payee = verify_signature(&signature, &hash, payee_field)?;

        let payment_hash = payment_hash.ok_or(ParseError::MissingPaymentHash)?;
        let payment_secret = payment_secret.ok_or(ParseError::MissingPaymentSecret)?;
        let description = description.ok_or(ParseError::MissingDescription)?;
        Ok(Bolt11Invoice {
            hrp: decoded.hrp,
            currency,
            amount_msat,
            timestamp,
            data,
            fields,
            signature,
            payee,
            uppercase: decoded.uppercase,
            payment_hash,
            payment_secret,
            description,
            expiry,
            min_final_cltv,
            payee_field,
            features,
            metadata,
        })
    }
}

/// Checks the signature and returns the payee (BOLT 11: "if a valid `n`
/// field is provided: MUST use the `n` field to validate the signature
/// instead of performing signature recovery").
fn verify_signature(
    sig: &[u8; 65],
    hash: &[u8; 32],
    payee_field: Option<PublicKey>,
) -> Result<PublicKey, ParseError> {
    let recid = sig[64];
    let id =
        RecoveryId::from_i32(recid as i32).map_err(|_| ParseError::InvalidRecoveryId(recid))?;
    let msg = Message::from_digest(*hash);
    let secp = Secp256k1::verification_only();
    let standard = Signature::from_compact(&sig[..64]);
    if let Some(n) = payee_field {
        let standard = standard.map_err(|_| ParseError::InvalidSignature)?;
        let mut normalized = standard;
        normalized.normalize_s();
        if normalized != standard {
            return Err(ParseError::HighSSignatureWithPayeeField);
        }
        secp.verify_ecdsa(&msg, &standard, &n)
            .map_err(|_| ParseError::InvalidSignature)?;
        return Ok(n);
    }
    // Recovery accepts high-S signatures by normalizing s first (the BOLT 11
    // "Public-key recovery with high-S signature" example).
    let mut normalized = standard.map_err(|_| ParseError::UnrecoverableSignature)?;
    normalized.normalize_s();
    let rec = RecoverableSignature::from_compact(&normalized.serialize_compact(), id)
        .map_err(|_| ParseError::UnrecoverableSignature)?;
    secp.recover_ecdsa(&msg, &rec)
        .map_err(|_| ParseError::UnrecoverableSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrp_amounts() {
        assert_eq!(parse_hrp("lnbc"), Ok((Currency::Bitcoin, None)));
        assert_eq!(
            parse_hrp("lnbc2500u"),
            Ok((Currency::Bitcoin, Some(250_000_000)))
        );
        assert_eq!(
            parse_hrp("lnbcrt1m"),
            Ok((Currency::Regtest, Some(100_000_000)))
        );
        assert_eq!(parse_hrp("lntbs10n"), Ok((Currency::Signet, Some(1000))));
        assert_eq!(
            parse_hrp("lnbc9678785340p"),
            Ok((Currency::Bitcoin, Some(967_878_534)))
        );
        assert_eq!(
            parse_hrp("lnbc1"),
            Ok((Currency::Bitcoin, Some(100_000_000_000)))
        );
        assert_eq!(
            parse_hrp("lnbc2500000001p"),
            Err(ParseError::SubMillisatoshiPrecision)
        );
        assert_eq!(
            parse_hrp("lnbc2500x"),
            Err(ParseError::InvalidMultiplier("x".into()))
        );
        assert_eq!(
            parse_hrp("lnbc25mm"),
            Err(ParseError::InvalidMultiplier("mm".into()))
        );
        assert_eq!(parse_hrp("lnbc0100m"), Err(ParseError::InvalidAmount));
        assert_eq!(
            parse_hrp("lnxy1m"),
            Err(ParseError::UnknownCurrency("xy".into()))
        );
        assert_eq!(parse_hrp("bc1m"), Err(ParseError::InvalidPrefix));
        assert_eq!(
            parse_hrp("lnbc999999999999999999999"),
            Err(ParseError::AmountOverflow)
        );
        assert_eq!(parse_hrp("lnbc1000000000"), Err(ParseError::AmountOverflow));
    }

    #[test]
    fn features_bits() {
        // "9qrsgq" data: values [0x10, 0x03? ...]: check bit mapping directly.
        assert_eq!(parse_features(&[1, 0]), vec![0x20]);
        assert_eq!(parse_features(&[0, 1]), vec![0x01]);
        assert!(parse_features(&[0, 0]).is_empty());
    }
}
