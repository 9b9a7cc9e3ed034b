//! The node operator's channel policy: what we offer when a channel is
//! opened ([`ChannelHandshakeConfig`]), what we accept from a peer
//! ([`ChannelHandshakeLimits`]), and how an open channel forwards
//! ([`ChannelConfig`]), gathered in [`UserConfig`].
//!
//! Every default is stated on its field and given by `Default`.

/// What we propose in our own `open_channel` / `accept_channel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelHandshakeConfig {
    /// Confirmations of the funding transaction we ask for before
    /// `channel_ready` when we accept a channel (`minimum_depth`).
    /// Default: 6. Clamped to at least 1.
    pub minimum_depth: u32,
    /// The `to_self_delay` we impose on the peer's own outputs, in blocks.
    /// Default: 144 (one day). Raised to 144 if set lower.
    pub our_to_self_delay: u16,
    /// The smallest HTLC we accept (`htlc_minimum_msat`). Default: 1 msat
    /// (0 is raised to 1).
    pub our_htlc_minimum_msat: u64,
    /// Percentage (1..=100) of the channel value the peer may have in
    /// flight towards us at once (`max_htlc_value_in_flight_msat`).
    /// Default: 10.
    pub max_inbound_htlc_value_in_flight_percent: u8,
    /// Most HTLCs the peer may offer us at once (`max_accepted_htlcs`).
    /// Default: 50; capped at the BOLT 2 maximum of 483.
    pub our_max_accepted_htlcs: u16,
    /// Whether channels we open are announced (`channel_flags` bit 0).
    /// Default: false (private channels, as a wallet wants).
    pub announced_channel: bool,
    /// Whether we propose and accept `option_anchors` (zero-fee HTLC
    /// transactions). Default: true.
    pub negotiate_anchors_zero_fee_htlc_tx: bool,
    /// Whether we propose `option_scid_alias` in the `channel_type` of the
    /// private (unannounced) channels we open, when the peer offers the
    /// feature: the peer then never learns to use, nor may route-hint, the
    /// real short channel id, only aliases (BOLT 2 `channel_ready`).
    /// Ignored for announced channels (BOLT 2 forbids the bit there).
    /// Inbound `option_scid_alias` proposals are accepted either way.
    /// Default: false.
    pub negotiate_scid_privacy: bool,
    /// The reserve we require the peer to keep, in millionths of the
    /// channel value (BOLT 2 suggests 1%). Default: 10_000; the result is
    /// never below 1_000 sat.
    pub their_channel_reserve_proportional_millionths: u32,
}

impl Default for ChannelHandshakeConfig {
    fn default() -> Self {
        ChannelHandshakeConfig {
            minimum_depth: 6,
            our_to_self_delay: 144,
            our_htlc_minimum_msat: 1,
            max_inbound_htlc_value_in_flight_percent: 10,
            our_max_accepted_htlcs: 50,
            announced_channel: false,
            negotiate_anchors_zero_fee_htlc_tx: true,
            negotiate_scid_privacy: false,
            their_channel_reserve_proportional_millionths: 10_000,
        }
    }
}

/// What we accept from the peer's `open_channel` / `accept_channel`
/// (BOLT 2 leaves "unreasonable" to each node; these say what it means).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelHandshakeLimits {
    /// Smallest channel a peer may open to us. Default: 1_000 sat.
    pub min_funding_satoshis: u64,
    /// Largest channel a peer may open to us. Default: 2^24 - 1 sat (the
    /// limit without `option_support_large_channel`).
    pub max_funding_satoshis: u64,
    /// Largest `htlc_minimum_msat` we accept. Default: `u64::MAX` (no limit
    /// beyond the channel value).
    pub max_htlc_minimum_msat: u64,
    /// Smallest `max_htlc_value_in_flight_msat` we accept. Default: 0.
    pub min_max_htlc_value_in_flight_msat: u64,
    /// Largest reserve the peer may make us keep. Default: `u64::MAX` (no
    /// limit beyond the channel value).
    pub max_channel_reserve_satoshis: u64,
    /// Smallest `max_accepted_htlcs` we accept. Default: 0.
    pub min_max_accepted_htlcs: u16,
    /// Largest `minimum_depth` we accept from the acceptor. Default: 144.
    pub max_minimum_depth: u32,
    /// Largest `to_self_delay` the peer may impose on us, in blocks.
    /// Default: 2016 (two weeks).
    pub max_to_self_delay: u16,
    /// Whether we send `channel_ready` for a channel we funded as soon as
    /// the acceptor asks for 0 confirmations (we trust our own funding
    /// transaction). Default: false (we wait for 1 confirmation at least).
    pub trust_own_funding_0conf: bool,
}

impl Default for ChannelHandshakeLimits {
    fn default() -> Self {
        ChannelHandshakeLimits {
            min_funding_satoshis: 1_000,
            max_funding_satoshis: (1 << 24) - 1,
            max_htlc_minimum_msat: u64::MAX,
            min_max_htlc_value_in_flight_msat: 0,
            max_channel_reserve_satoshis: u64::MAX,
            min_max_accepted_htlcs: 0,
            max_minimum_depth: 144,
            max_to_self_delay: 2016,
            trust_own_funding_0conf: false,
        }
    }
}

/// How an open channel forwards: its fees, its CLTV delta and its dust
/// exposure limit. May change during the channel's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Proportional forwarding fee, in millionths of the amount.
    /// Default: 0.
    pub forwarding_fee_proportional_millionths: u32,
    /// Base forwarding fee per HTLC, in msat. Default: 1_000.
    pub forwarding_fee_base_msat: u32,
    /// Blocks we require between an incoming and outgoing HTLC's expiry
    /// when forwarding. Default: 72 (BOLT 2 recommends at least 34 plus
    /// margin).
    pub cltv_expiry_delta: u16,
    /// Most value of dust HTLCs (trimmed, lost to fees on a force close)
    /// we allow on either commitment.
    pub max_dust_htlc_exposure: MaxDustHtlcExposure,
}

/// The limit on dust HTLC exposure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxDustHtlcExposure {
    /// A fixed amount in msat.
    FixedLimitMsat(u64),
    /// A multiple of the `MaximumFeeEstimate` feerate (sat/kW), in msat:
    /// the exposure then follows fees.
    FeeRateMultiplier(u64),
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            forwarding_fee_proportional_millionths: 0,
            forwarding_fee_base_msat: 1_000,
            cltv_expiry_delta: 72,
            // LDK-like: 10_000 msat per sat/kW of the maximum fee estimate.
            max_dust_htlc_exposure: MaxDustHtlcExposure::FeeRateMultiplier(10_000),
        }
    }
}

/// The whole channel policy of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserConfig {
    /// What we offer.
    pub channel_handshake_config: ChannelHandshakeConfig,
    /// What we accept.
    pub channel_handshake_limits: ChannelHandshakeLimits,
    /// How channels forward.
    pub channel_config: ChannelConfig,
    /// Whether peers may open channels to us at all. Default: true.
    pub accept_inbound_channels: bool,
    /// Whether each inbound channel waits for the user to accept it
    /// (an `OpenChannelRequest` event) instead of being accepted
    /// automatically. Default: false.
    pub manually_accept_inbound_channels: bool,
    /// Whether HTLCs to fake short channel ids are held for the user
    /// (interception) instead of failed. Default: false.
    pub accept_intercept_htlcs: bool,
}

impl Default for UserConfig {
    fn default() -> Self {
        UserConfig {
            channel_handshake_config: ChannelHandshakeConfig::default(),
            channel_handshake_limits: ChannelHandshakeLimits::default(),
            channel_config: ChannelConfig::default(),
            accept_inbound_channels: true,
            manually_accept_inbound_channels: false,
            accept_intercept_htlcs: false,
        }
    }
}
