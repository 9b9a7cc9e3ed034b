//! Making and signing invoices.

use super::bech32;
use super::parse::tag;
use super::{
    signing_hash, signing_preimage, Bolt11Invoice, Currency, Description, Fallback, RouteHint,
    MAX_TIMESTAMP,
};
use crate::types::{PaymentHash, PaymentSecret};
use bitcoin::secp256k1::ecdsa::RecoverableSignature;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey, Signing};
use core::fmt;

/// Most 5-bit values one tagged field can carry (10-bit length).
const MAX_FIELD_VALUES: usize = 1023;

/// Why an invoice could not be built.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// No payment hash was set (BOLT 11: "MUST include exactly one `p` field").
    MissingPaymentHash,
    /// No payment secret was set.
    MissingPaymentSecret,
    /// Neither a description nor a description hash was set.
    MissingDescription,
    /// The timestamp does not fit in 35 bits.
    TimestampOutOfRange,
    /// A field is longer than 1023 5-bit values (a description over 639
    /// bytes, or more than 12 hops in one route hint).
    FieldTooLong(char),
    /// A route hint with no hops.
    EmptyRouteHint,
    /// A segwit fallback with an invalid version or program length.
    InvalidFallback,
    /// An amount of zero (BOLT 11: "a positive decimal integer").
    ZeroAmount,
    /// The signer's signature did not verify (wrong key or bad signer).
    BadSignature,
    /// The node signer refused or failed to sign.
    SignerFailed,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MissingPaymentHash => f.write_str("invoice needs a payment hash"),
            BuildError::MissingPaymentSecret => f.write_str("invoice needs a payment secret"),
            BuildError::MissingDescription => {
                f.write_str("invoice needs a description or a description hash")
            }
            BuildError::TimestampOutOfRange => f.write_str("timestamp does not fit in 35 bits"),
            BuildError::FieldTooLong(t) => write!(f, "field '{t}' is too long"),
            BuildError::EmptyRouteHint => f.write_str("route hint has no hops"),
            BuildError::InvalidFallback => f.write_str("fallback address is invalid"),
            BuildError::ZeroAmount => f.write_str("amount must be positive"),
            BuildError::BadSignature => f.write_str("signature does not verify"),
            BuildError::SignerFailed => f.write_str("node signer could not sign the invoice"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds a BOLT 11 invoice field by field, then signs it.
///
/// Fields are written in the order their setters are first called (the
/// feature field last), so an invoice made elsewhere can be reproduced
/// exactly. Features default to `var_onion_optin` and `payment_secret`
/// required (bits 8 and 14), as every current invoice sets.
#[derive(Clone, Debug)]
pub struct InvoiceBuilder {
    order: Vec<Slot>,
    currency: Currency,
    amount_msat: Option<u64>,
    timestamp: Option<u64>,
    payment_hash: Option<PaymentHash>,
    payment_secret: Option<PaymentSecret>,
    description: Option<Description>,
    payee: Option<PublicKey>,
    expiry: Option<u64>,
    min_final_cltv: Option<u64>,
    fallbacks: Vec<Fallback>,
    route_hints: Vec<RouteHint>,
    features: Vec<usize>,
    metadata: Option<Vec<u8>>,
}

impl InvoiceBuilder {
    /// A new builder for `currency`.
    pub fn new(currency: Currency) -> Self {
        InvoiceBuilder {
            order: Vec::new(),
            currency,
            amount_msat: None,
            timestamp: None,
            payment_hash: None,
            payment_secret: None,
            description: None,
            payee: None,
            expiry: None,
            min_final_cltv: None,
            fallbacks: Vec::new(),
            route_hints: Vec::new(),
            features: vec![8, 14],
            metadata: None,
        }
    }
    /// The amount requested, in millisatoshis (omit for "any amount").
    pub fn amount_msat(mut self, msat: u64) -> Self {
        self.amount_msat = Some(msat);
        self
    }
    /// Creation time, seconds since the UNIX epoch (defaults to now).
    pub fn timestamp_secs(mut self, secs: u64) -> Self {
        self.timestamp = Some(secs);
        self
    }
    /// The payment hash.
    pub fn payment_hash(mut self, hash: PaymentHash) -> Self {
        self.payment_hash = Some(hash);
        self.slot(Slot::PaymentHash);
        self
    }
    /// The payment secret.
    pub fn payment_secret(mut self, secret: PaymentSecret) -> Self {
        self.payment_secret = Some(secret);
        self.slot(Slot::PaymentSecret);
        self
    }
    /// An inline description (`d`).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(Description::Direct(description.into()));
        self.slot(Slot::Description);
        self
    }
    /// A description hash (`h`).
    pub fn description_hash(mut self, hash: [u8; 32]) -> Self {
        self.description = Some(Description::Hash(hash));
        self.slot(Slot::Description);
        self
    }
    /// Includes the payee's node id (`n`) so payers need not recover it.
    pub fn payee_pubkey(mut self, pk: PublicKey) -> Self {
        self.payee = Some(pk);
        self.slot(Slot::Payee);
        self
    }
    /// Expiry in seconds (`x`).
    pub fn expiry_secs(mut self, secs: u64) -> Self {
        self.expiry = Some(secs);
        self.slot(Slot::Expiry);
        self
    }
    /// Minimum final CLTV expiry delta (`c`).
    pub fn min_final_cltv_expiry_delta(mut self, delta: u64) -> Self {
        self.min_final_cltv = Some(delta);
        self.slot(Slot::MinFinalCltv);
        self
    }
    /// Adds a fallback address (`f`), most preferred first.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.order.push(Slot::Fallback(self.fallbacks.len()));
        self.fallbacks.push(fallback);
        self
    }
    /// Adds a route hint (`r`), most preferred first.
    pub fn route_hint(mut self, hint: RouteHint) -> Self {
        self.order.push(Slot::RouteHint(self.route_hints.len()));
        self.route_hints.push(hint);
        self
    }
    /// Sets feature bit `bit` (even = required, odd = optional).
    pub fn feature_bit(mut self, bit: usize) -> Self {
        if !self.features.contains(&bit) {
            self.features.push(bit);
        }
        self
    }
    /// Sets every bit of `features` (in addition to the defaults).
    pub fn features(mut self, features: &crate::msgs::features::Bolt11InvoiceFeatures) -> Self {
        for bit in features.set_bits() {
            if !self.features.contains(&bit) {
                self.features.push(bit);
            }
        }
        self
    }
    /// Offers basic multi-part payments (bit 17, optional).
    pub fn basic_mpp(self) -> Self {
        self.feature_bit(17)
    }
    /// Payment metadata (`m`) the payer must echo; sets bit 49 (optional).
    pub fn payment_metadata(mut self, metadata: Vec<u8>) -> Self {
        self.metadata = Some(metadata);
        self.slot(Slot::Metadata);
        self.feature_bit(49)
    }

    fn slot(&mut self, slot: Slot) {
        if !self.order.contains(&slot) {
            self.order.push(slot);
        }
    }

    /// The human-readable part with the shortest amount representation
    /// (BOLT 11: "SHOULD use the shortest representation possible").
    fn hrp(&self) -> Result<String, BuildError> {
        let mut hrp = format!("ln{}", self.currency.prefix());
        if let Some(msat) = self.amount_msat {
            if msat == 0 {
                return Err(BuildError::ZeroAmount);
            }
            let msat = msat as u128;
            let (value, mult) = [
                (100_000_000_000u128, ""),
                (100_000_000, "m"),
                (100_000, "u"),
                (100, "n"),
            ]
            .iter()
            .find(|(unit, _)| msat % unit == 0)
            .map(|(unit, m)| (msat / unit, *m))
            // Pico: ten per millisatoshi, so the last digit is 0.
            .unwrap_or((msat * 10, "p"));
            hrp.push_str(&value.to_string());
            hrp.push_str(mult);
        }
        Ok(hrp)
    }

    /// The 5-bit data part (timestamp and fields), without signature.
    fn data(&self, timestamp: u64) -> Result<Vec<u8>, BuildError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(BuildError::TimestampOutOfRange);
        }
        let mut data = Vec::with_capacity(256);
        for i in (0..7).rev() {
            data.push(((timestamp >> (5 * i)) & 31) as u8);
        }
        let hash = self.payment_hash.ok_or(BuildError::MissingPaymentHash)?;
        let secret = self
            .payment_secret
            .ok_or(BuildError::MissingPaymentSecret)?;
        let description = self
            .description
            .as_ref()
            .ok_or(BuildError::MissingDescription)?;
        for slot in &self.order {
            match *slot {
                Slot::PaymentHash => push_field(
                    &mut data,
                    tag::PAYMENT_HASH,
                    &bech32::from_bytes(&hash.0),
                    'p',
                )?,
                Slot::PaymentSecret => push_field(
                    &mut data,
                    tag::PAYMENT_SECRET,
                    &bech32::from_bytes(&secret.0),
                    's',
                )?,
                Slot::Description => match description {
                    Description::Direct(d) => push_field(
                        &mut data,
                        tag::DESCRIPTION,
                        &bech32::from_bytes(d.as_bytes()),
                        'd',
                    )?,
                    Description::Hash(h) => push_field(
                        &mut data,
                        tag::DESCRIPTION_HASH,
                        &bech32::from_bytes(h),
                        'h',
                    )?,
                },
                Slot::Payee => {
                    if let Some(pk) = &self.payee {
                        push_field(
                            &mut data,
                            tag::PAYEE,
                            &bech32::from_bytes(&pk.serialize()),
                            'n',
                        )?;
                    }
                }
                Slot::Expiry => {
                    if let Some(x) = self.expiry {
                        push_field(&mut data, tag::EXPIRY, &int_values(x), 'x')?;
                    }
                }
                Slot::MinFinalCltv => {
                    if let Some(c) = self.min_final_cltv {
                        push_field(&mut data, tag::MIN_FINAL_CLTV, &int_values(c), 'c')?;
                    }
                }
                Slot::Fallback(i) => push_fallback(&mut data, &self.fallbacks[i])?,
                Slot::RouteHint(i) => push_route_hint(&mut data, &self.route_hints[i])?,
                Slot::Metadata => {
                    if let Some(m) = &self.metadata {
                        push_field(&mut data, tag::METADATA, &bech32::from_bytes(m), 'm')?;
                    }
                }
            }
        }
        if let Some(&max) = self.features.iter().max() {
            // Minimal length: just enough 5-bit values for the highest bit.
            let mut values = vec![0u8; max / 5 + 1];
            let n = values.len();
            for &bit in &self.features {
                values[n - 1 - bit / 5] |= 1 << (bit % 5);
            }
            push_field(&mut data, tag::FEATURES, &values, '9')?;
        }
        Ok(data)
    }

    /// The hash to sign, with the human-readable part and data it covers.
    fn prepare(&self) -> Result<(String, Vec<u8>, [u8; 32]), BuildError> {
        let hrp = self.hrp()?;
        let timestamp = match self.timestamp {
            Some(t) => t,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let data = self.data(timestamp)?;
        let hash = signing_hash(&hrp, &data);
        Ok((hrp, data, hash))
    }

    /// Signs with `sign` (given the hash to sign, returns a recoverable
    /// signature: a `NodeSigner` plugs in here) and returns the invoice,
    /// checked by parsing it back.
    pub fn build_signed<F>(self, sign: F) -> Result<Bolt11Invoice, BuildError>
    where
        F: FnOnce(&Message) -> RecoverableSignature,
    {
        let (hrp, data, hash) = self.prepare()?;
        let sig = sign(&Message::from_digest(hash));
        self.finish(hrp, data, &sig)
    }

    /// Appends the signature, encodes, and parses back (which verifies it).
    fn finish(
        &self,
        hrp: String,
        mut data: Vec<u8>,
        sig: &RecoverableSignature,
    ) -> Result<Bolt11Invoice, BuildError> {
        let (id, compact) = sig.serialize_compact();
        let mut sig_bytes = [0u8; 65];
        sig_bytes[..64].copy_from_slice(&compact);
        sig_bytes[64] = id.to_i32() as u8;
        data.extend(bech32::from_bytes(&sig_bytes));
        let s = bech32::encode(&hrp, &data, false);
        s.parse::<Bolt11Invoice>()
            .map_err(|_| BuildError::BadSignature)
    }

    /// Signs with the node's [`NodeSigner`](crate::sign::NodeSigner)
    /// (`sign_invoice` over the human-readable part and data) and checks the
    /// result recovers to (or, with `n`, verifies against) its node id.
    pub fn build_signed_by(
        self,
        signer: &dyn crate::sign::NodeSigner,
    ) -> Result<Bolt11Invoice, BuildError> {
        let (hrp, data, _) = self.prepare()?;
        let sig = signer
            .sign_invoice(&signing_preimage(&hrp, &data))
            .map_err(|_| BuildError::SignerFailed)?;
        let node_id = signer
            .node_id(crate::sign::Recipient::Node)
            .map_err(|_| BuildError::SignerFailed)?;
        let inv = self.finish(hrp, data, &sig)?;
        if inv.payee_pubkey() != node_id {
            return Err(BuildError::BadSignature);
        }
        Ok(inv)
    }

    /// Signs with a secret key.
    pub fn build_signed_with_key<C: Signing>(
        self,
        secp: &Secp256k1<C>,
        key: &SecretKey,
    ) -> Result<Bolt11Invoice, BuildError> {
        let payee = self.payee;
        let inv = self.build_signed(|m| secp.sign_ecdsa_recoverable(m, key))?;
        // With an `n` field the parse already checked the key; without one,
        // make sure the recovered payee is the signer.
        if payee.is_none() && inv.payee_pubkey() != PublicKey::from_secret_key(secp, key) {
            return Err(BuildError::BadSignature);
        }
        Ok(inv)
    }
}

/// Which field goes next, in call order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    PaymentHash,
    PaymentSecret,
    Description,
    Payee,
    Expiry,
    MinFinalCltv,
    Fallback(usize),
    RouteHint(usize),
    Metadata,
}

fn push_fallback(data: &mut Vec<u8>, fb: &Fallback) -> Result<(), BuildError> {
    let (version, program): (u8, &[u8]) = match fb {
        Fallback::SegWit { version, program } => {
            let ok = match version {
                0 => program.len() == 20 || program.len() == 32,
                1..=16 => (2..=40).contains(&program.len()),
                _ => false,
            };
            if !ok {
                return Err(BuildError::InvalidFallback);
            }
            (*version, program)
        }
        Fallback::PubKeyHash(h) => (17, h),
        Fallback::ScriptHash(h) => (18, h),
    };
    let mut values = vec![version];
    values.extend(bech32::from_bytes(program));
    push_field(data, tag::FALLBACK, &values, 'f')
}

fn push_route_hint(data: &mut Vec<u8>, hint: &RouteHint) -> Result<(), BuildError> {
    if hint.0.is_empty() {
        return Err(BuildError::EmptyRouteHint);
    }
    let mut bytes = Vec::with_capacity(51 * hint.0.len());
    for h in &hint.0 {
        bytes.extend_from_slice(&h.src_node_id.serialize());
        bytes.extend_from_slice(&h.short_channel_id.0.to_be_bytes());
        bytes.extend_from_slice(&h.fee_base_msat.to_be_bytes());
        bytes.extend_from_slice(&h.fee_proportional_millionths.to_be_bytes());
        bytes.extend_from_slice(&h.cltv_expiry_delta.to_be_bytes());
    }
    push_field(data, tag::ROUTE_HINT, &bech32::from_bytes(&bytes), 'r')
}

/// Minimal big-endian 5-bit representation of `v` (empty for 0).
fn int_values(v: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(13);
    let mut v = v;
    while v > 0 {
        out.push((v & 31) as u8);
        v >>= 5;
    }
    out.reverse();
    out
}

fn push_field(data: &mut Vec<u8>, t: u8, values: &[u8], tag_char: char) -> Result<(), BuildError> {
    if values.len() > MAX_FIELD_VALUES {
        return Err(BuildError::FieldTooLong(tag_char));
    }
    data.push(t);
    data.push((values.len() >> 5) as u8);
    data.push((values.len() & 31) as u8);
    data.extend_from_slice(values);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_amounts() {
        let b = |m| {
            InvoiceBuilder::new(Currency::Bitcoin)
                .amount_msat(m)
                .hrp()
                .unwrap()
        };
        assert_eq!(b(250_000_000), "lnbc2500u");
        assert_eq!(b(2_000_000_000), "lnbc20m");
        assert_eq!(b(100_000_000_000), "lnbc1");
        assert_eq!(b(967_878_534), "lnbc9678785340p");
        assert_eq!(b(1000), "lnbc10n");
        assert_eq!(
            InvoiceBuilder::new(Currency::Bitcoin).amount_msat(0).hrp(),
            Err(BuildError::ZeroAmount)
        );
    }

    #[test]
    fn int_values_are_minimal() {
        assert_eq!(int_values(0), Vec::<u8>::new());
        assert_eq!(int_values(60), vec![1, 28]);
        assert_eq!(int_values(u64::MAX).len(), 13);
    }
}
