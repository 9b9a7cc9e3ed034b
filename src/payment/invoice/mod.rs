//! BOLT 11 invoices: [`Bolt11Invoice`] parses (`FromStr`), verifies its
//! signature, exposes every tagged field, and prints back (`Display`) exactly
//! the string it was parsed from: the original field order, unknown and
//! skipped fields, non-minimal encodings and the letter case are all kept.
//! [`InvoiceBuilder`] makes and signs new invoices.

pub mod bech32;
mod builder;
mod parse;

pub use builder::{BuildError, InvoiceBuilder};
pub use parse::ParseError;

use crate::msgs::features::Bolt11InvoiceFeatures;
use crate::types::{PaymentHash, PaymentSecret, ShortChannelId};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::ecdsa::RecoverableSignature;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, Network, ScriptBuf};
use core::fmt;

/// Default `expiry` when the `x` field is absent (BOLT 11: 3600 seconds).
pub const DEFAULT_EXPIRY_SECS: u64 = 3600;
/// Default `min_final_cltv_expiry_delta` when the `c` field is absent
/// (BOLT 11: "MUST use an expiry delta of at least 18").
pub const DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 18;
/// Largest timestamp the 35-bit field holds.
pub const MAX_TIMESTAMP: u64 = (1 << 35) - 1;

/// The chain an invoice is for, from its human-readable prefix.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Currency {
    /// `lnbc`: Bitcoin mainnet.
    Bitcoin,
    /// `lntb`: Bitcoin testnet.
    BitcoinTestnet,
    /// `lntbs`: signet.
    Signet,
    /// `lnbcrt`: regtest.
    Regtest,
    /// `lnsb`: simnet.
    Simnet,
}

impl Currency {
    /// The BIP 173 prefix after `ln`.
    pub fn prefix(&self) -> &'static str {
        match self {
            Currency::Bitcoin => "bc",
            Currency::BitcoinTestnet => "tb",
            Currency::Signet => "tbs",
            Currency::Regtest => "bcrt",
            Currency::Simnet => "sb",
        }
    }

    fn from_prefix(p: &str) -> Option<Currency> {
        Some(match p {
            "bc" => Currency::Bitcoin,
            "tb" => Currency::BitcoinTestnet,
            "tbs" => Currency::Signet,
            "bcrt" => Currency::Regtest,
            "sb" => Currency::Simnet,
            _ => return None,
        })
    }

    /// The bitcoin network, for fallback addresses (simnet has none).
    pub fn network(&self) -> Option<Network> {
        match self {
            Currency::Bitcoin => Some(Network::Bitcoin),
            Currency::BitcoinTestnet => Some(Network::Testnet),
            Currency::Signet => Some(Network::Signet),
            Currency::Regtest => Some(Network::Regtest),
            Currency::Simnet => None,
        }
    }
}

/// An on-chain fallback address (`f` field).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fallback {
    /// A segwit output: witness version 0–16 and program.
    SegWit {
        /// Witness version.
        version: u8,
        /// Witness program (2 to 40 bytes).
        program: Vec<u8>,
    },
    /// Version 17: pay to public key hash.
    PubKeyHash([u8; 20]),
    /// Version 18: pay to script hash.
    ScriptHash([u8; 20]),
}

impl Fallback {
    /// The output script this fallback pays to.
    pub fn script_pubkey(&self) -> ScriptBuf {
        let mut s = Vec::with_capacity(42);
        match self {
            Fallback::SegWit { version, program } => {
                s.push(if *version == 0 { 0 } else { 0x50 + version });
                s.push(program.len() as u8);
                s.extend_from_slice(program);
            }
            Fallback::PubKeyHash(h) => {
                s.extend_from_slice(&[0x76, 0xa9, 0x14]);
                s.extend_from_slice(h);
                s.extend_from_slice(&[0x88, 0xac]);
            }
            Fallback::ScriptHash(h) => {
                s.extend_from_slice(&[0xa9, 0x14]);
                s.extend_from_slice(h);
                s.push(0x87);
            }
        }
        ScriptBuf::from_bytes(s)
    }

    /// The address on `network`, if the script is a standard address.
    pub fn address(&self, network: Network) -> Option<Address> {
        Address::from_script(&self.script_pubkey(), network).ok()
    }
}

/// One hop of a private route hint (`r` field entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteHintHop {
    /// The node at the start of the channel.
    pub src_node_id: PublicKey,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// Base fee, millisatoshis.
    pub fee_base_msat: u32,
    /// Proportional fee, millionths.
    pub fee_proportional_millionths: u32,
    /// CLTV delta of the channel.
    pub cltv_expiry_delta: u16,
}

/// A route hint: ordered hops from a public node to the payee.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteHint(pub Vec<RouteHintHop>);

/// The payment's description: inline (`d`) or committed to by hash (`h`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Description {
    /// The description text.
    Direct(String),
    /// SHA256 of a description delivered out of band.
    Hash([u8; 32]),
}

/// One tagged field, typed, in invoice order. Fields a reader must skip
/// (unknown tags, wrong lengths, unknown fallback versions) are
/// [`TaggedField::Skipped`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaggedField {
    /// `p`: payment hash.
    PaymentHash(PaymentHash),
    /// `s`: payment secret.
    PaymentSecret(PaymentSecret),
    /// `d`: description.
    Description(String),
    /// `h`: description hash.
    DescriptionHash([u8; 32]),
    /// `n`: payee node id.
    PayeePubKey(PublicKey),
    /// `x`: expiry, seconds.
    Expiry(u64),
    /// `c`: minimum final CLTV expiry delta.
    MinFinalCltvExpiryDelta(u64),
    /// `f`: fallback address.
    Fallback(Fallback),
    /// `r`: private route.
    RouteHint(RouteHint),
    /// `9`: feature bits.
    Features(Bolt11InvoiceFeatures),
    /// `m`: payment metadata.
    Metadata(Vec<u8>),
    /// A field skipped by the BOLT 11 reader rules, kept raw.
    Skipped {
        /// The 5-bit tag.
        tag: u8,
        /// The 5-bit data values.
        data: Vec<u8>,
    },
}

/// A BOLT 11 invoice whose signature has been verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bolt11Invoice {
    hrp: String,
    currency: Currency,
    amount_msat: Option<u64>,
    timestamp: u64,
    /// 5-bit values of timestamp and tagged fields, as parsed.
    data: Vec<u8>,
    fields: Vec<TaggedField>,
    signature: [u8; 65],
    payee: PublicKey,
    uppercase: bool,
    // First valid occurrence of each field, for the accessors.
    payment_hash: PaymentHash,
    payment_secret: PaymentSecret,
    description: Description,
    expiry: Option<u64>,
    min_final_cltv: Option<u64>,
    payee_field: Option<PublicKey>,
    features: Bolt11InvoiceFeatures,
    metadata: Option<Vec<u8>>,
}

impl Bolt11Invoice {
    /// The payment hash (`p`).
    pub fn payment_hash(&self) -> PaymentHash {
        self.payment_hash
    }
    /// The payment secret (`s`), which a valid invoice always has.
    pub fn payment_secret(&self) -> PaymentSecret {
        self.payment_secret
    }
    /// The amount requested, in millisatoshis, if any.
    pub fn amount_msat(&self) -> Option<u64> {
        self.amount_msat
    }
    /// The payee: the `n` field if present, otherwise the key recovered
    /// from the signature.
    pub fn payee_pubkey(&self) -> PublicKey {
        self.payee
    }
    /// The explicit `n` field, if present.
    pub fn payee_pubkey_field(&self) -> Option<PublicKey> {
        self.payee_field
    }
    /// Creation time, seconds since the UNIX epoch.
    pub fn timestamp_secs(&self) -> u64 {
        self.timestamp
    }
    /// Seconds after the timestamp the invoice expires (`x`, default 3600).
    pub fn expiry_secs(&self) -> u64 {
        self.expiry.unwrap_or(DEFAULT_EXPIRY_SECS)
    }
    /// Whether the invoice has expired at `now_secs` (UNIX time).
    pub fn is_expired_at(&self, now_secs: u64) -> bool {
        now_secs >= self.timestamp.saturating_add(self.expiry_secs())
    }
    /// The final CLTV expiry delta (`c`, default 18).
    pub fn min_final_cltv_expiry_delta(&self) -> u64 {
        self.min_final_cltv
            .unwrap_or(DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA)
    }
    /// The currency (chain) of the invoice.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The description or its hash.
    pub fn description(&self) -> &Description {
        &self.description
    }
    /// Checks a description delivered out of band against the `h` field
    /// (BOLT 11: "MUST check that the SHA2 256-bit hash in the `h` field
    /// exactly matches the hashed description"). An inline `d` description
    /// matches only itself.
    pub fn matches_description(&self, description: &str) -> bool {
        match &self.description {
            Description::Direct(d) => d == description,
            Description::Hash(h) => {
                sha256::Hash::hash(description.as_bytes()).to_byte_array() == *h
            }
        }
    }
    /// Feature bits (`9`); empty if absent.
    pub fn features(&self) -> &Bolt11InvoiceFeatures {
        &self.features
    }
    /// Feature bits (`9`), little-endian bytes; empty if absent.
    pub fn features_le(&self) -> &[u8] {
        self.features.le_flags()
    }
    /// Whether feature `bit` is set.
    pub fn has_feature(&self, bit: usize) -> bool {
        self.features.is_set(bit)
    }
    /// The payment metadata (`m`), if any.
    pub fn payment_metadata(&self) -> Option<&[u8]> {
        self.metadata.as_deref()
    }
    /// Fallback addresses (`f`), most preferred first.
    pub fn fallbacks(&self) -> impl Iterator<Item = &Fallback> {
        self.fields.iter().filter_map(|f| match f {
            TaggedField::Fallback(fb) => Some(fb),
            _ => None,
        })
    }
    /// Route hints (`r`), most preferred first.
    pub fn route_hints(&self) -> impl Iterator<Item = &RouteHint> {
        self.fields.iter().filter_map(|f| match f {
            TaggedField::RouteHint(r) => Some(r),
            _ => None,
        })
    }
    /// Every tagged field in invoice order, including skipped ones.
    pub fn tagged_fields(&self) -> &[TaggedField] {
        &self.fields
    }
    /// The signature as carried: 64-byte compact `r || s` and recovery id.
    pub fn signature_bytes(&self) -> &[u8; 65] {
        &self.signature
    }
    /// The signature as a recoverable signature.
    pub fn recoverable_signature(&self) -> Option<RecoverableSignature> {
        let id = bitcoin::secp256k1::ecdsa::RecoveryId::from_i32(self.signature[64] as i32).ok()?;
        RecoverableSignature::from_compact(&self.signature[..64], id).ok()
    }
    /// The hash the signature covers: SHA256 of the human-readable part and
    /// the data part (without signature) packed into bytes.
    pub fn signing_hash(&self) -> [u8; 32] {
        signing_hash(&self.hrp, &self.data)
    }
    /// The human-readable part, lower case (`lnbc2500u`, …).
    pub fn hrp(&self) -> &str {
        &self.hrp
    }
}

/// The bytes the signature covers: `hrp` then `data` (5-bit values) packed
/// into bytes with zero padding (what a `NodeSigner::sign_invoice` hashes).
pub(crate) fn signing_preimage(hrp: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hrp.len() + data.len() * 5 / 8 + 1);
    out.extend_from_slice(hrp.as_bytes());
    out.extend(bech32::to_bytes_padded(data));
    out
}

/// SHA256 of `hrp` bytes followed by `data` (5-bit values) packed into bytes
/// with zero padding (BOLT 11 "Data Part").
pub(crate) fn signing_hash(hrp: &str, data: &[u8]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    bitcoin::hashes::HashEngine::input(&mut engine, hrp.as_bytes());
    bitcoin::hashes::HashEngine::input(&mut engine, &bech32::to_bytes_padded(data));
    sha256::Hash::from_engine(engine).to_byte_array()
}

impl fmt::Display for Bolt11Invoice {
    /// Prints the invoice exactly as parsed (or built).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut all = Vec::with_capacity(self.data.len() + 104);
        all.extend_from_slice(&self.data);
        all.extend(bech32::from_bytes(&self.signature));
        f.write_str(&bech32::encode(&self.hrp, &all, self.uppercase))
    }
}
