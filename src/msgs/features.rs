//! Feature bits (BOLT 9) in every context they appear in.
//!
//! A feature is a pair of bits: the even one means "required", the odd one
//! "optional". [`Features<T>`] keeps the bits of one context `T` (init,
//! node announcement, channel announcement, BOLT 11 invoice, channel type);
//! each context knows which assigned features it may carry, so
//! [`Features::requires_unknown_bits`] answers BOLT 1's "unknown even bit"
//! rule for that context.

use crate::codec::{DecodeError, Readable, TlvValue, Writeable};
use core::fmt;
use core::marker::PhantomData;
use std::io::{self, Read, Write};

/// Where a feature may appear (BOLT 9's "Context" column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextKind {
    /// `init` (I).
    Init,
    /// `node_announcement` (N).
    Node,
    /// `channel_announcement` (C).
    Channel,
    /// BOLT 11 invoices (9).
    Bolt11Invoice,
    /// The `channel_type` field of open/accept (BOLT 2).
    ChannelType,
}

/// A context that a feature vector belongs to.
pub trait FeatureContext:
    Clone + Copy + fmt::Debug + PartialEq + Eq + core::hash::Hash + Default + Send + Sync + 'static
{
    /// Which context this is.
    const KIND: ContextKind;
}

macro_rules! contexts {
    ($($(#[$m:meta])* $name:ident => $kind:ident, $alias:ident;)*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
        pub struct $name;
        impl FeatureContext for $name {
            const KIND: ContextKind = ContextKind::$kind;
        }
        #[doc = concat!("Features in the ", stringify!($kind), " context.")]
        pub type $alias = Features<$name>;
    )*};
}
contexts! {
    /// Marker for features sent in `init`.
    InitContext => Init, InitFeatures;
    /// Marker for features in `node_announcement`.
    NodeContext => Node, NodeFeatures;
    /// Marker for features in `channel_announcement`.
    ChannelContext => Channel, ChannelFeatures;
    /// Marker for features in BOLT 11 invoices.
    Bolt11InvoiceContext => Bolt11Invoice, Bolt11InvoiceFeatures;
    /// Marker for the `channel_type` of a channel.
    ChannelTypeContext => ChannelType, ChannelTypeFeatures;
}

/// One assigned feature of BOLT 9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureInfo {
    /// Its name in the spec.
    pub name: &'static str,
    /// The even (required) bit; the optional bit is `even_bit + 1`.
    pub even_bit: usize,
    /// Contexts it may appear in.
    pub contexts: &'static [ContextKind],
    /// The even bit of a feature it depends on, if any.
    pub depends_on: Option<usize>,
}

macro_rules! features {
    ($(
        $(#[$m:meta])*
        ($even:literal, $spec:literal, $supports:ident, $requires:ident, $set_opt:ident, $set_req:ident,
         [$($ctx:ident),*], $dep:expr);
    )*) => {
        /// Every feature assigned by BOLT 9 (and a few widely deployed
        /// ones), with the contexts it may appear in.
        pub const KNOWN_FEATURES: &[FeatureInfo] = &[
            $( FeatureInfo { name: $spec, even_bit: $even, contexts: &[$(ContextKind::$ctx),*], depends_on: $dep }, )*
        ];

        impl<T: FeatureContext> Features<T> {
            $(
                #[doc = concat!("Whether `", $spec, "` is set, required or optional (bits ", stringify!($even), "/", stringify!($even), "+1).")]
                pub fn $supports(&self) -> bool { self.supports_bit($even) }
                #[doc = concat!("Whether `", $spec, "` is required (even bit ", stringify!($even), ").")]
                pub fn $requires(&self) -> bool { self.requires_bit($even) }
                #[doc = concat!("Sets `", $spec, "` as optional.")]
                pub fn $set_opt(&mut self) -> &mut Self { self.set_optional_bit($even); self }
                #[doc = concat!("Sets `", $spec, "` as required.")]
                pub fn $set_req(&mut self) -> &mut Self { self.set_required_bit($even); self }
            )*
        }
    };
}

features! {
    (0, "option_data_loss_protect", supports_data_loss_protect, requires_data_loss_protect, set_data_loss_protect_optional, set_data_loss_protect_required, [Init, Node], None);
    (2, "initial_routing_sync", supports_initial_routing_sync, requires_initial_routing_sync, set_initial_routing_sync_optional, set_initial_routing_sync_required, [Init], None);
    (4, "option_upfront_shutdown_script", supports_upfront_shutdown_script, requires_upfront_shutdown_script, set_upfront_shutdown_script_optional, set_upfront_shutdown_script_required, [Init, Node], None);
    (6, "gossip_queries", supports_gossip_queries, requires_gossip_queries, set_gossip_queries_optional, set_gossip_queries_required, [Init, Node], None);
    (8, "var_onion_optin", supports_variable_length_onion, requires_variable_length_onion, set_variable_length_onion_optional, set_variable_length_onion_required, [Init, Node, Bolt11Invoice], None);
    (10, "gossip_queries_ex", supports_gossip_queries_ex, requires_gossip_queries_ex, set_gossip_queries_ex_optional, set_gossip_queries_ex_required, [Init, Node], None);
    (12, "option_static_remotekey", supports_static_remote_key, requires_static_remote_key, set_static_remote_key_optional, set_static_remote_key_required, [Init, Node, ChannelType], None);
    (14, "payment_secret", supports_payment_secret, requires_payment_secret, set_payment_secret_optional, set_payment_secret_required, [Init, Node, Bolt11Invoice], None);
    (16, "basic_mpp", supports_basic_mpp, requires_basic_mpp, set_basic_mpp_optional, set_basic_mpp_required, [Init, Node, Bolt11Invoice], Some(14));
    (18, "option_support_large_channel", supports_wumbo, requires_wumbo, set_wumbo_optional, set_wumbo_required, [Init, Node], None);
    (20, "option_anchor_outputs", supports_anchor_outputs, requires_anchor_outputs, set_anchor_outputs_optional, set_anchor_outputs_required, [Init, Node, ChannelType], Some(12));
    (22, "option_anchors", supports_anchors_zero_fee_htlc_tx, requires_anchors_zero_fee_htlc_tx, set_anchors_zero_fee_htlc_tx_optional, set_anchors_zero_fee_htlc_tx_required, [Init, Node, ChannelType], None);
    (24, "option_route_blinding", supports_route_blinding, requires_route_blinding, set_route_blinding_optional, set_route_blinding_required, [Init, Node, Bolt11Invoice], None);
    (26, "option_shutdown_anysegwit", supports_shutdown_anysegwit, requires_shutdown_anysegwit, set_shutdown_anysegwit_optional, set_shutdown_anysegwit_required, [Init, Node], None);
    (28, "option_dual_fund", supports_dual_fund, requires_dual_fund, set_dual_fund_optional, set_dual_fund_required, [Init, Node], None);
    (34, "option_quiesce", supports_quiescence, requires_quiescence, set_quiescence_optional, set_quiescence_required, [Init, Node], None);
    (36, "option_attribution_data", supports_attribution_data, requires_attribution_data, set_attribution_data_optional, set_attribution_data_required, [Init, Node, Bolt11Invoice], None);
    (38, "option_onion_messages", supports_onion_messages, requires_onion_messages, set_onion_messages_optional, set_onion_messages_required, [Init, Node], None);
    (42, "option_provide_storage", supports_provide_storage, requires_provide_storage, set_provide_storage_optional, set_provide_storage_required, [Init, Node], None);
    (44, "option_channel_type", supports_channel_type, requires_channel_type, set_channel_type_optional, set_channel_type_required, [Init, Node], None);
    (46, "option_scid_alias", supports_scid_privacy, requires_scid_privacy, set_scid_privacy_optional, set_scid_privacy_required, [Init, Node, ChannelType], None);
    (48, "option_payment_metadata", supports_payment_metadata, requires_payment_metadata, set_payment_metadata_optional, set_payment_metadata_required, [Bolt11Invoice], None);
    (50, "option_zeroconf", supports_zero_conf, requires_zero_conf, set_zero_conf_optional, set_zero_conf_required, [Init, Node, ChannelType], Some(46));
    (54, "keysend", supports_keysend, requires_keysend, set_keysend_optional, set_keysend_required, [Node], None);
    (60, "option_simple_close", supports_simple_close, requires_simple_close, set_simple_close_optional, set_simple_close_required, [Init, Node], Some(26));
    (62, "option_splice", supports_splicing, requires_splicing, set_splicing_optional, set_splicing_required, [Init, Node], None);
}

/// Feature bytes, little-endian, stored inline when short (every feature
/// vector seen in practice) so decoding one allocates nothing.
#[derive(Clone)]
enum FlagBytes {
    Inline {
        len: u8,
        bytes: [u8; FlagBytes::INLINE],
    },
    Heap(Vec<u8>),
}

impl FlagBytes {
    const INLINE: usize = 22;

    const fn new() -> Self {
        FlagBytes::Inline {
            len: 0,
            bytes: [0; FlagBytes::INLINE],
        }
    }
    fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= Self::INLINE {
            let mut bytes = [0; Self::INLINE];
            bytes[..v.len()].copy_from_slice(&v);
            FlagBytes::Inline {
                len: v.len() as u8,
                bytes,
            }
        } else {
            FlagBytes::Heap(v)
        }
    }
    fn as_slice(&self) -> &[u8] {
        match self {
            FlagBytes::Inline { len, bytes } => &bytes[..*len as usize],
            FlagBytes::Heap(v) => v,
        }
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            FlagBytes::Inline { len, bytes } => &mut bytes[..*len as usize],
            FlagBytes::Heap(v) => v,
        }
    }
    /// Grows to `n` bytes (zero-filled); never shrinks.
    fn grow(&mut self, n: usize) {
        match self {
            FlagBytes::Inline { len, .. } if n <= Self::INLINE => *len = (*len).max(n as u8),
            FlagBytes::Inline { .. } => {
                let mut v = self.as_slice().to_vec();
                v.resize(n, 0);
                *self = FlagBytes::Heap(v);
            }
            FlagBytes::Heap(v) => {
                if v.len() < n {
                    v.resize(n, 0)
                }
            }
        }
    }
}

impl PartialEq for FlagBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for FlagBytes {}
impl core::hash::Hash for FlagBytes {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}
impl Default for FlagBytes {
    fn default() -> Self {
        FlagBytes::new()
    }
}

/// A feature vector of one context: the bits as the spec numbers them
/// (bit 0 is the least significant bit of the last byte on the wire).
///
/// Bytes are kept exactly as received (leading zero bytes included) so that
/// a message re-encodes byte for byte.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Features<T: FeatureContext> {
    /// Little-endian bytes: `flags[0]` holds bits 0..8.
    flags: FlagBytes,
    _context: PhantomData<T>,
}

impl<T: FeatureContext> Features<T> {
    /// No bits set.
    pub fn empty() -> Self {
        Features {
            flags: FlagBytes::new(),
            _context: PhantomData,
        }
    }
    /// From little-endian bytes (`bytes[0]` holds bits 0..8).
    pub fn from_le_bytes(flags: Vec<u8>) -> Self {
        Features {
            flags: FlagBytes::from_vec(flags),
            _context: PhantomData,
        }
    }
    /// From the big-endian wire bytes.
    pub fn from_be_bytes(mut bytes: Vec<u8>) -> Self {
        bytes.reverse();
        Features::from_le_bytes(bytes)
    }
    /// The little-endian bytes.
    pub fn le_flags(&self) -> &[u8] {
        self.flags.as_slice()
    }
    /// The big-endian wire bytes.
    pub fn to_be_bytes(&self) -> Vec<u8> {
        let mut b = self.flags.as_slice().to_vec();
        b.reverse();
        b
    }
    /// Whether `bit` is set.
    pub fn is_set(&self, bit: usize) -> bool {
        self.flags
            .as_slice()
            .get(bit / 8)
            .is_some_and(|b| b & (1 << (bit % 8)) != 0)
    }
    /// Sets or clears `bit`, growing the vector if needed.
    pub fn set_bit(&mut self, bit: usize, on: bool) {
        if on {
            self.flags.grow(bit / 8 + 1);
            self.flags.as_mut_slice()[bit / 8] |= 1 << (bit % 8);
        } else if let Some(b) = self.flags.as_mut_slice().get_mut(bit / 8) {
            *b &= !(1 << (bit % 8));
        }
    }
    /// Whether the feature whose pair contains `bit` is set, either way.
    pub fn supports_bit(&self, bit: usize) -> bool {
        let even = bit & !1;
        self.is_set(even) || self.is_set(even + 1)
    }
    /// Whether the feature whose pair contains `bit` is required.
    pub fn requires_bit(&self, bit: usize) -> bool {
        self.is_set(bit & !1)
    }
    /// Sets the optional (odd) bit of the pair containing `bit`.
    pub fn set_optional_bit(&mut self, bit: usize) {
        let even = bit & !1;
        self.set_bit(even, false);
        self.set_bit(even + 1, true);
    }
    /// Sets the required (even) bit of the pair containing `bit`.
    pub fn set_required_bit(&mut self, bit: usize) {
        let even = bit & !1;
        self.set_bit(even + 1, false);
        self.set_bit(even, true);
    }
    /// Every set bit, ascending.
    pub fn set_bits(&self) -> impl Iterator<Item = usize> + '_ {
        self.flags.as_slice().iter().enumerate().flat_map(|(i, b)| {
            (0..8)
                .filter(move |j| b & (1 << j) != 0)
                .map(move |j| i * 8 + j)
        })
    }
    /// Whether `bit`'s feature is assigned and allowed in this context.
    pub fn is_known_bit(bit: usize) -> bool {
        // BOLT 9 assigns `initial_routing_sync` only its odd bit (3): bit 2
        // has no meaning, so a peer requiring it requires something unknown.
        if bit == 2 {
            return false;
        }
        KNOWN_FEATURES
            .iter()
            .any(|f| f.even_bit == bit & !1 && f.contexts.contains(&T::KIND))
    }
    /// Whether an even (required) bit is set that this context does not know.
    ///
    /// BOLT 1: a receiver of `init` "MUST ... close the connection" if the
    /// peer requires a feature it does not understand.
    pub fn requires_unknown_bits(&self) -> bool {
        self.set_bits()
            .any(|b| b % 2 == 0 && !Self::is_known_bit(b))
    }
    /// Any set bit this context does not know.
    pub fn unknown_bits(&self) -> Vec<usize> {
        self.set_bits()
            .filter(|&b| !Self::is_known_bit(b))
            .collect()
    }
    /// The first set feature whose dependency is missing (BOLT 9: "MUST set
    /// all transitive feature dependencies"), as `(feature, missing)` names.
    pub fn missing_dependency(&self) -> Option<(&'static str, &'static str)> {
        KNOWN_FEATURES.iter().find_map(|f| {
            let dep = f.depends_on?;
            if !self.supports_bit(f.even_bit) || self.supports_bit(dep) {
                return None;
            }
            let dep_name = KNOWN_FEATURES
                .iter()
                .find(|d| d.even_bit == dep)
                .map_or("?", |d| d.name);
            Some((f.name, dep_name))
        })
    }
    /// The bits of this vector that are known in context `U`, as a `U`
    /// vector (for example the node features implied by our init features).
    pub fn to_context<U: FeatureContext>(&self) -> Features<U> {
        let mut out = Features::<U>::empty();
        for bit in self.set_bits() {
            if Features::<U>::is_known_bit(bit) {
                out.set_bit(bit, true);
            }
        }
        out
    }
    /// The union of two vectors' bits (a required bit wins over an optional one).
    pub fn or(mut self, other: &Self) -> Self {
        for bit in other.set_bits() {
            if bit % 2 == 1 && self.is_set(bit - 1) {
                continue;
            }
            self.set_bit(bit, true);
            if bit % 2 == 0 {
                self.set_bit(bit + 1, false);
            }
        }
        self
    }
    /// Writes the big-endian wire bytes without allocating for short vectors.
    fn write_be<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut buf = [0u8; 64];
        let flags = self.flags.as_slice();
        if flags.len() <= buf.len() {
            let n = flags.len();
            for (dst, src) in buf[..n].iter_mut().zip(flags.iter().rev()) {
                *dst = *src;
            }
            w.write_all(&buf[..n])
        } else {
            w.write_all(&self.to_be_bytes())
        }
    }
    /// The number of bytes on the wire (without the length prefix).
    pub fn byte_len(&self) -> usize {
        self.flags.as_slice().len()
    }
}

impl ChannelTypeFeatures {
    /// `option_static_remotekey` alone: the legacy default channel type.
    pub fn only_static_remote_key() -> Self {
        let mut f = Self::empty();
        f.set_static_remote_key_required();
        f
    }
    /// `option_anchors` with static remote key (zero-fee HTLC anchors).
    pub fn anchors_zero_htlc_fee_and_dependencies() -> Self {
        let mut f = Self::only_static_remote_key();
        f.set_anchors_zero_fee_htlc_tx_required();
        f
    }
}

impl<T: FeatureContext> fmt::Debug for Features<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}Features[", T::KIND)?;
        let mut first = true;
        for bit in self.set_bits() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            let name = KNOWN_FEATURES
                .iter()
                .find(|k| k.even_bit == bit & !1)
                .map_or("unknown", |k| k.name);
            let kind = if bit % 2 == 0 { "required" } else { "optional" };
            write!(f, "{name}({bit}, {kind})")?;
        }
        f.write_str("]")
    }
}

/// On the wire: `u16` length, then the bytes big-endian.
impl<T: FeatureContext> Readable for Features<T> {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let len = u16::read(r)? as usize;
        if len <= FlagBytes::INLINE {
            let mut be = [0u8; FlagBytes::INLINE];
            r.read_exact(&mut be[..len])?;
            let mut bytes = [0u8; FlagBytes::INLINE];
            for (dst, src) in bytes[..len].iter_mut().zip(be[..len].iter().rev()) {
                *dst = *src;
            }
            return Ok(Features {
                flags: FlagBytes::Inline {
                    len: len as u8,
                    bytes,
                },
                _context: PhantomData,
            });
        }
        Ok(Features::from_be_bytes(crate::codec::read_bytes(r, len)?))
    }
}
impl<T: FeatureContext> Writeable for Features<T> {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let len = u16::try_from(self.flags.as_slice().len()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "features over 65535 bytes")
        })?;
        len.write(w)?;
        self.write_be(w)
    }
    fn size_hint(&self) -> usize {
        2 + self.flags.as_slice().len()
    }
}
/// As a TLV value (`channel_type`): the big-endian bytes, no length prefix.
impl<T: FeatureContext> TlvValue for Features<T> {
    fn value_len(&self) -> usize {
        self.flags.as_slice().len()
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.write_be(w)
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Features::from_be_bytes(bytes.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_set_and_read_back_in_wire_order() {
        let mut f = InitFeatures::empty();
        f.set_payment_secret_required();
        f.set_basic_mpp_optional();
        // bits 14 and 17: 0b10_0100_0000_0000_0000 → be bytes 02 40 00
        assert_eq!(f.to_be_bytes(), vec![0x02, 0x40, 0x00]);
        assert!(f.requires_payment_secret());
        assert!(f.supports_basic_mpp() && !f.requires_basic_mpp());
        assert_eq!(f.encode(), vec![0, 3, 0x02, 0x40, 0x00]);
        let back: InitFeatures = Readable::read(&mut &f.encode()[..]).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn unknown_even_bit_is_detected_per_context() {
        let mut f = InitFeatures::empty();
        f.set_bit(100, true);
        assert!(f.requires_unknown_bits());
        let mut g = InitFeatures::empty();
        g.set_bit(101, true);
        assert!(!g.requires_unknown_bits());
        // payment_metadata is invoice-only: required in init is unknown.
        let mut h = InitFeatures::empty();
        h.set_payment_metadata_required();
        assert!(h.requires_unknown_bits());
        let mut i = Bolt11InvoiceFeatures::empty();
        i.set_payment_metadata_required();
        assert!(!i.requires_unknown_bits());
    }

    #[test]
    fn bolt9_initial_routing_sync_is_odd_only() {
        let mut f = InitFeatures::empty();
        f.set_bit(3, true);
        assert!(f.supports_initial_routing_sync() && !f.requires_unknown_bits());
        let mut g = InitFeatures::empty();
        g.set_bit(2, true);
        assert!(g.requires_unknown_bits(), "bit 2 is not assigned");
    }

    #[test]
    fn bolt9_dependency_basic_mpp_needs_payment_secret() {
        let mut f = NodeFeatures::empty();
        f.set_basic_mpp_optional();
        assert_eq!(
            f.missing_dependency(),
            Some(("basic_mpp", "payment_secret"))
        );
        f.set_payment_secret_optional();
        assert_eq!(f.missing_dependency(), None);
    }

    #[test]
    fn context_conversion_drops_foreign_bits() {
        let mut f = InitFeatures::empty();
        f.set_static_remote_key_required();
        f.set_gossip_queries_optional();
        let ct: ChannelTypeFeatures = f.to_context();
        assert_eq!(ct, ChannelTypeFeatures::only_static_remote_key());
    }

    #[test]
    fn leading_zero_bytes_survive_round_trip() {
        let bytes = vec![0, 4, 0x00, 0x00, 0x02, 0x00];
        let f: NodeFeatures = Readable::read(&mut &bytes[..]).unwrap();
        assert_eq!(f.encode(), bytes);
    }
}
