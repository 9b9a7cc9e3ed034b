//! Stateless inbound payments: the node recognises its own payments (and,
//! for payments it created the preimage of, re-derives the preimage) from
//! the `payment_secret` alone, so nothing is stored per invoice.
//!
//! # The 32-byte payment secret
//!
//! ```text
//! secret = iv (16 bytes) || encrypted_metadata (16 bytes)
//!
//! metadata (16 bytes, big-endian):
//!   byte  0      flags: bit 0 = method (0: we derive the preimage,
//!                1: the user holds it), bit 1 = min_value present,
//!                bit 2 = min_final_cltv_expiry_delta present, bits 3-7
//!                zero (a later layout sets them; today they are refused)
//!   bytes 1..9   min_value_msat (0 when absent)
//!   bytes 9..14  expiry time, seconds since the UNIX epoch (40 bits)
//!   bytes 14..16 min_final_cltv_expiry_delta (0 when absent)
//!
//! encrypted_metadata = metadata XOR HMAC-SHA256(k_meta, iv)[..16]
//!
//! method 0 (derived preimage): iv = 16 random bytes,
//!   preimage = HMAC-SHA256(k_preimage, iv || metadata),
//!   payment_hash = SHA256(preimage)
//! method 1 (user's hash): iv = HMAC-SHA256(k_auth, metadata || payment_hash)[..16]
//! ```
//!
//! The three keys come from the node's [`InboundPaymentKey`] by HKDF-SHA256
//! (RFC 5869) in [`ExpandedKey::new`]. Verification decrypts the metadata
//! and then authenticates it: with method 0 the re-derived preimage must
//! hash to the HTLC's payment hash, with method 1 the 128-bit tag must match.
//! Changing any byte of the secret (or the hash) changes what is
//! authenticated, so a forged or foreign secret is refused except with
//! probability about 2^-128 per try.
//!
//! Every refusal is answered to the payer with
//! `incorrect_or_unknown_payment_details` (BOLT 4): see
//! [`InboundPaymentError::to_failure`].

use crate::payment::invoice::{Bolt11Invoice, BuildError, Currency, InvoiceBuilder, RouteHint};
use crate::payment::onion::FailureMessage;
use crate::sign::{EntropySource, InboundPaymentKey, NodeSigner};
use crate::types::{PaymentHash, PaymentPreimage, PaymentSecret};
use bitcoin::hashes::{sha256, Hash, HashEngine, Hmac, HmacEngine};
use core::fmt;

/// Largest expiry time the 40-bit field of the secret holds (year 36812).
pub const MAX_EXPIRY_TIME_SECS: u64 = (1 << 40) - 1;

const METHOD_USER_HASH: u8 = 0x01;
const HAS_MIN_VALUE: u8 = 0x02;
const HAS_MIN_CLTV: u8 = 0x04;
const KNOWN_FLAGS: u8 = METHOD_USER_HASH | HAS_MIN_VALUE | HAS_MIN_CLTV;

/// HKDF salt and info strings: they name this layout so keys derived for
/// another purpose never coincide with these.
const HKDF_SALT: &[u8] = b"lnkit inbound payment key";
const HKDF_INFO: &[u8] = b"lnkit/inbound/v1";

/// The sub-keys of the node's [`InboundPaymentKey`]: one encrypts the
/// metadata, one authenticates secrets for user-supplied hashes, one derives
/// preimages. Derive once at start-up and keep it.
#[derive(Clone)]
pub struct ExpandedKey {
    metadata_key: [u8; 32],
    auth_key: [u8; 32],
    preimage_key: [u8; 32],
}

impl fmt::Debug for ExpandedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets: never printed.
        f.write_str("ExpandedKey(..)")
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut e = HmacEngine::<sha256::Hash>::new(key);
    for p in parts {
        e.input(p);
    }
    Hmac::<sha256::Hash>::from_engine(e).to_byte_array()
}

impl ExpandedKey {
    /// Derives the sub-keys with HKDF-SHA256: `PRK = HMAC(salt, key)`,
    /// `T(i) = HMAC(PRK, T(i-1) || info || i)` for `i = 1, 2, 3`.
    pub fn new(key: &InboundPaymentKey) -> Self {
        let prk = hmac_sha256(HKDF_SALT, &[&key.0]);
        let t1 = hmac_sha256(&prk, &[HKDF_INFO, &[1]]);
        let t2 = hmac_sha256(&prk, &[&t1, HKDF_INFO, &[2]]);
        let t3 = hmac_sha256(&prk, &[&t2, HKDF_INFO, &[3]]);
        ExpandedKey {
            metadata_key: t1,
            auth_key: t2,
            preimage_key: t3,
        }
    }

    fn pad(&self, iv: &[u8; 16]) -> [u8; 16] {
        let full = hmac_sha256(&self.metadata_key, &[iv]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    fn preimage(&self, iv: &[u8; 16], metadata: &[u8; 16]) -> PaymentPreimage {
        PaymentPreimage(hmac_sha256(&self.preimage_key, &[iv, metadata]))
    }

    fn auth_tag(&self, metadata: &[u8; 16], hash: &PaymentHash) -> [u8; 16] {
        let full = hmac_sha256(&self.auth_key, &[metadata, &hash.0]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    fn seal(&self, iv: [u8; 16], metadata: &[u8; 16]) -> PaymentSecret {
        let pad = self.pad(&iv);
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(&iv);
        for i in 0..16 {
            secret[16 + i] = metadata[i] ^ pad[i];
        }
        PaymentSecret(secret)
    }
}

/// Why an inbound payment could not be created or was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundPaymentError {
    /// `inbound-expiry-range`: creation time plus expiry delta does not fit
    /// in the secret's 40-bit expiry field.
    ExpiryOutOfRange,
    /// `inbound-unknown-payment`: the secret is not one we made for this
    /// payment hash (forged, foreign, tampered, or for another hash).
    /// BOLT 4: "if the `payment_secret` doesn't match the expected value for
    /// that `payment_hash` ... MUST return an
    /// `incorrect_or_unknown_payment_details` error".
    UnknownPayment,
    /// `inbound-expired`: the payment arrived after its expiry time.
    Expired {
        /// When the payment expired, seconds since the UNIX epoch.
        expiry_time_secs: u64,
    },
    /// `inbound-underpaid`: BOLT 4: "if the amount paid is less than the
    /// amount expected: MUST fail the HTLC".
    Underpaid {
        /// The minimum the invoice asked for.
        min_value_msat: u64,
        /// The total the payer sent.
        total_msat: u64,
    },
    /// `inbound-overpaid`: BOLT 4: "if the amount paid is more than twice
    /// the amount expected: SHOULD fail the HTLC".
    Overpaid {
        /// The amount the invoice asked for.
        min_value_msat: u64,
        /// The total the payer sent.
        total_msat: u64,
    },
}

impl fmt::Display for InboundPaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InboundPaymentError::ExpiryOutOfRange => {
                f.write_str("inbound-expiry-range: expiry time does not fit in the payment secret")
            }
            InboundPaymentError::UnknownPayment => f.write_str(
                "inbound-unknown-payment: payment secret is not ours for this payment hash",
            ),
            InboundPaymentError::Expired { expiry_time_secs } => {
                write!(f, "inbound-expired: payment expired at {expiry_time_secs}")
            }
            InboundPaymentError::Underpaid {
                min_value_msat,
                total_msat,
            } => write!(
                f,
                "inbound-underpaid: paid {total_msat} msat, expected at least {min_value_msat} msat"
            ),
            InboundPaymentError::Overpaid {
                min_value_msat,
                total_msat,
            } => write!(
                f,
                "inbound-overpaid: paid {total_msat} msat, more than twice the {min_value_msat} msat expected"
            ),
        }
    }
}

impl std::error::Error for InboundPaymentError {}

impl InboundPaymentError {
    /// The failure the final node returns for a refused payment: always
    /// `incorrect_or_unknown_payment_details` (BOLT 4, so a prober cannot
    /// tell which check failed), with the HTLC amount and our best height.
    pub fn to_failure(&self, htlc_msat: u64, height: u32) -> FailureMessage {
        FailureMessage::IncorrectOrUnknownPaymentDetails { htlc_msat, height }
    }
}

fn metadata(
    method_user_hash: bool,
    min_value_msat: Option<u64>,
    expiry_time_secs: u64,
    min_final_cltv_expiry_delta: Option<u16>,
) -> [u8; 16] {
    let mut m = [0u8; 16];
    let mut flags = 0u8;
    if method_user_hash {
        flags |= METHOD_USER_HASH;
    }
    if let Some(v) = min_value_msat {
        flags |= HAS_MIN_VALUE;
        m[1..9].copy_from_slice(&v.to_be_bytes());
    }
    if let Some(d) = min_final_cltv_expiry_delta {
        flags |= HAS_MIN_CLTV;
        m[14..16].copy_from_slice(&d.to_be_bytes());
    }
    m[0] = flags;
    m[9..14].copy_from_slice(&expiry_time_secs.to_be_bytes()[3..]);
    m
}

fn expiry_time(current_time_secs: u64, delta: u32) -> Result<u64, InboundPaymentError> {
    current_time_secs
        .checked_add(u64::from(delta))
        .filter(|t| *t <= MAX_EXPIRY_TIME_SECS)
        .ok_or(InboundPaymentError::ExpiryOutOfRange)
}

/// Creates a payment whose preimage we can re-derive from its secret: put
/// the returned hash and secret in an invoice; nothing needs storing.
///
/// `invoice_expiry_delta_secs` after `current_time_secs` the payment is
/// refused; `min_value_msat` is the invoice amount: the least total
/// accepted, and half the most (BOLT 4); `min_final_cltv_expiry_delta`, when given, is returned by
/// [`verify_inbound_payment`] so the caller can enforce the invoice's delta.
pub fn create_inbound_payment(
    keys: &ExpandedKey,
    min_value_msat: Option<u64>,
    invoice_expiry_delta_secs: u32,
    entropy: &dyn EntropySource,
    current_time_secs: u64,
    min_final_cltv_expiry_delta: Option<u16>,
) -> Result<(PaymentHash, PaymentSecret), InboundPaymentError> {
    let expiry = expiry_time(current_time_secs, invoice_expiry_delta_secs)?;
    let meta = metadata(false, min_value_msat, expiry, min_final_cltv_expiry_delta);
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&entropy.get_secure_random_bytes()[..16]);
    let preimage = keys.preimage(&iv, &meta);
    Ok((preimage.payment_hash(), keys.seal(iv, &meta)))
}

/// Creates a payment secret for a hash whose preimage the user holds (and
/// reveals when claiming). The secret authenticates the hash and metadata.
pub fn create_inbound_payment_for_hash(
    keys: &ExpandedKey,
    min_value_msat: Option<u64>,
    payment_hash: PaymentHash,
    invoice_expiry_delta_secs: u32,
    current_time_secs: u64,
    min_final_cltv_expiry_delta: Option<u16>,
) -> Result<PaymentSecret, InboundPaymentError> {
    let expiry = expiry_time(current_time_secs, invoice_expiry_delta_secs)?;
    let meta = metadata(true, min_value_msat, expiry, min_final_cltv_expiry_delta);
    let iv = keys.auth_tag(&meta, &payment_hash);
    Ok(keys.seal(iv, &meta))
}

/// A payment [`verify_inbound_payment`] recognised as ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedInbound {
    /// The preimage, for payments made with [`create_inbound_payment`];
    /// `None` when the user holds it ([`create_inbound_payment_for_hash`]).
    pub preimage: Option<PaymentPreimage>,
    /// The invoice's final CLTV delta, when one was given at creation: the
    /// caller checks the HTLC's `cltv_expiry` against it.
    pub min_final_cltv_expiry_delta: Option<u16>,
}

/// Checks that `payment_secret` is one we made for `payment_hash`, that it
/// has not expired (against `highest_seen_timestamp_secs`, e.g. the latest
/// block time) and that `total_msat` (the HTLC set's total) pays at least
/// the minimum and at most twice it (when a minimum was set). Every error maps to `incorrect_or_unknown_payment_details`.
pub fn verify_inbound_payment(
    keys: &ExpandedKey,
    payment_hash: &PaymentHash,
    payment_secret: &PaymentSecret,
    total_msat: u64,
    highest_seen_timestamp_secs: u64,
) -> Result<VerifiedInbound, InboundPaymentError> {
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&payment_secret.0[..16]);
    let pad = keys.pad(&iv);
    let mut meta = [0u8; 16];
    for i in 0..16 {
        meta[i] = payment_secret.0[16 + i] ^ pad[i];
    }
    let flags = meta[0];
    let preimage = if flags & METHOD_USER_HASH == 0 {
        let preimage = keys.preimage(&iv, &meta);
        if !ct_eq(&preimage.payment_hash().0, &payment_hash.0) {
            return Err(InboundPaymentError::UnknownPayment);
        }
        Some(preimage)
    } else {
        if !ct_eq(&keys.auth_tag(&meta, payment_hash), &iv) {
            return Err(InboundPaymentError::UnknownPayment);
        }
        None
    };
    // Authenticated from here on; a set reserved bit is a layout we do not
    // know (a secret from a later version): refuse it rather than misread.
    if flags & !KNOWN_FLAGS != 0 {
        return Err(InboundPaymentError::UnknownPayment);
    }
    let mut expiry = [0u8; 8];
    expiry[3..].copy_from_slice(&meta[9..14]);
    let expiry_time_secs = u64::from_be_bytes(expiry);
    if highest_seen_timestamp_secs > expiry_time_secs {
        return Err(InboundPaymentError::Expired { expiry_time_secs });
    }
    if flags & HAS_MIN_VALUE != 0 {
        let min_value_msat = u64::from_be_bytes(meta[1..9].try_into().expect("8 bytes"));
        if total_msat < min_value_msat {
            return Err(InboundPaymentError::Underpaid {
                min_value_msat,
                total_msat,
            });
        }
        if u128::from(total_msat) > 2 * u128::from(min_value_msat) {
            return Err(InboundPaymentError::Overpaid {
                min_value_msat,
                total_msat,
            });
        }
    }
    let min_final_cltv_expiry_delta =
        (flags & HAS_MIN_CLTV != 0).then(|| u16::from_be_bytes([meta[14], meta[15]]));
    Ok(VerifiedInbound {
        preimage,
        min_final_cltv_expiry_delta,
    })
}

/// Constant-time equality (the comparisons above check authenticators).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Builds and signs a BOLT 11 invoice for an inbound payment with the
/// node's signer: payment hash and secret, description, expiry, final CLTV
/// delta and route hints; features `var_onion_optin` and `payment_secret`
/// (required). The result is parsed back and its signature checked against
/// the signer's node id.
#[allow(clippy::too_many_arguments)]
pub fn create_invoice(
    node_signer: &dyn NodeSigner,
    currency: Currency,
    amount_msat: Option<u64>,
    description: &str,
    invoice_expiry_delta_secs: u32,
    payment_hash: PaymentHash,
    payment_secret: PaymentSecret,
    min_final_cltv_expiry_delta: u16,
    duration_since_epoch_secs: u64,
    route_hints: Vec<RouteHint>,
) -> Result<Bolt11Invoice, BuildError> {
    let mut b = InvoiceBuilder::new(currency)
        .timestamp_secs(duration_since_epoch_secs)
        .payment_hash(payment_hash)
        .payment_secret(payment_secret)
        .description(description)
        .expiry_secs(u64::from(invoice_expiry_delta_secs))
        .min_final_cltv_expiry_delta(u64::from(min_final_cltv_expiry_delta));
    if let Some(a) = amount_msat {
        b = b.amount_msat(a);
    }
    for hint in route_hints {
        b = b.route_hint(hint);
    }
    b.build_signed_by(node_signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);
    impl EntropySource for Fixed {
        fn get_secure_random_bytes(&self) -> [u8; 32] {
            [self.0; 32]
        }
    }

    #[test]
    fn hkdf_subkeys_differ_and_depend_on_key() {
        let a = ExpandedKey::new(&InboundPaymentKey([1; 32]));
        let b = ExpandedKey::new(&InboundPaymentKey([2; 32]));
        assert_ne!(a.metadata_key, a.auth_key);
        assert_ne!(a.auth_key, a.preimage_key);
        assert_ne!(a.metadata_key, b.metadata_key);
    }

    #[test]
    fn metadata_round_trips_through_seal() {
        let k = ExpandedKey::new(&InboundPaymentKey([3; 32]));
        let (hash, secret) =
            create_inbound_payment(&k, Some(u64::MAX), 3600, &Fixed(9), 1_000, Some(u16::MAX))
                .unwrap();
        let v = verify_inbound_payment(&k, &hash, &secret, u64::MAX, 4_600).unwrap();
        assert_eq!(v.min_final_cltv_expiry_delta, Some(u16::MAX));
        assert_eq!(v.preimage.unwrap().payment_hash(), hash);
        assert!(matches!(
            verify_inbound_payment(&k, &hash, &secret, u64::MAX, 4_601),
            Err(InboundPaymentError::Expired {
                expiry_time_secs: 4_600
            })
        ));
    }

    #[test]
    fn inbound_expiry_range() {
        let k = ExpandedKey::new(&InboundPaymentKey([3; 32]));
        assert_eq!(
            create_inbound_payment(&k, None, 10, &Fixed(1), MAX_EXPIRY_TIME_SECS, None),
            Err(InboundPaymentError::ExpiryOutOfRange)
        );
    }

    #[test]
    fn secret_layout_is_pinned() {
        // Secrets outlive releases (invoices are paid days later): the
        // layout and key derivation must not change silently. The expected
        // values were computed independently (Python hmac/hashlib) from the
        // layout in the module documentation.
        let k = ExpandedKey::new(&InboundPaymentKey([0x11; 32]));
        let (hash, secret) = create_inbound_payment(
            &k,
            Some(1_000),
            3_600,
            &Fixed(0x22),
            1_700_000_000,
            Some(40),
        )
        .unwrap();
        let user = create_inbound_payment_for_hash(
            &k,
            None,
            PaymentHash([0x33; 32]),
            60,
            1_700_000_000,
            None,
        )
        .unwrap();
        assert_eq!(
            (hash.to_string(), secret.to_string(), user.to_string()),
            (
                "646d92d06d85b00409e516f696d620ffa4da0464eb09bac46ace43e3cba3cc4e".to_string(),
                "222222222222222222222222222222227b6c2d320a5e4502ced10d20fad0a3d2".to_string(),
                "16a9d0445eab4453ba463f86a590547e768c25db42685fe9dfe84924f9f38116".to_string()
            )
        );
    }
}
