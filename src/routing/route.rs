//! What a route request says and what a route is.

use crate::gossip::NodeId;
use crate::types::ShortChannelId;
use core::fmt;

/// BOLT 4 limits a payment onion to 20 hops.
pub const MAX_PATH_HOPS: usize = 20;
/// Default ceiling on the sum of CLTV deltas of a path (about a week).
pub const DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA: u32 = 1008;
/// Default ceiling on the number of MPP parts.
pub const DEFAULT_MAX_PATH_COUNT: u8 = 10;
/// BOLT 9 `basic_mpp` feature bits (16 required / 17 optional).
pub const BASIC_MPP_FEATURE_BIT: usize = 16;

/// A channel's forwarding fees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoutingFees {
    /// Fixed fee, msat.
    pub base_msat: u32,
    /// Proportional fee, millionths.
    pub proportional_millionths: u32,
}

/// One hop of a private route hint from an invoice (BOLT 11 `r` field).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteHintHop {
    /// The node forwarding over this channel.
    pub src_node_id: NodeId,
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// Its fees.
    pub fees: RoutingFees,
    /// Its CLTV delta.
    pub cltv_expiry_delta: u16,
    /// Smallest HTLC it forwards, if known.
    pub htlc_minimum_msat: Option<u64>,
    /// Largest HTLC it forwards, if known.
    pub htlc_maximum_msat: Option<u64>,
}

/// A private path to the payee: the last hop's channel ends at the payee.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteHint(pub Vec<RouteHintHop>);

/// One of the payer's own channels, with what it can send right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstHop {
    /// The channel's short id (or its alias for unannounced channels).
    pub short_channel_id: ShortChannelId,
    /// The peer at the other end.
    pub counterparty_node_id: NodeId,
    /// The largest HTLC we can add now, msat.
    pub next_outbound_htlc_limit_msat: u64,
    /// The smallest HTLC the peer accepts, msat.
    pub next_outbound_htlc_minimum_msat: u64,
}

/// Who is paid and under which constraints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentParameters {
    /// The payee's node id.
    pub payee_pubkey: NodeId,
    /// The payee's invoice features (little-endian bytes); `None` falls back
    /// to its `node_announcement`.
    pub features_le: Option<Vec<u8>>,
    /// Private route hints to the payee.
    pub route_hints: Vec<RouteHint>,
    /// The CLTV delta the payee asks for on the final hop.
    pub final_cltv_expiry_delta: u32,
    /// Ceiling on the total CLTV delta of any path.
    pub max_total_cltv_expiry_delta: u32,
    /// Ceiling on the number of parts.
    pub max_path_count: u8,
    /// Each path may use at most `capacity >> this` of a channel (2: a
    /// quarter). The router relaxes it to the full capacity only when no
    /// route exists otherwise.
    pub max_channel_saturation_power_of_half: u8,
    /// Channels that failed this payment before; avoided.
    pub previously_failed_channels: Vec<ShortChannelId>,
}

impl PaymentParameters {
    /// Parameters to pay `payee` with default limits.
    pub fn from_node_id(payee: NodeId, final_cltv_expiry_delta: u32) -> Self {
        PaymentParameters {
            payee_pubkey: payee,
            features_le: None,
            route_hints: Vec::new(),
            final_cltv_expiry_delta,
            max_total_cltv_expiry_delta: DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA,
            max_path_count: DEFAULT_MAX_PATH_COUNT,
            max_channel_saturation_power_of_half: 2,
            previously_failed_channels: Vec::new(),
        }
    }
    /// Sets the maximum number of parts.
    pub fn with_max_path_count(mut self, n: u8) -> Self {
        self.max_path_count = n;
        self
    }
    /// Sets the payee's invoice features (little-endian bytes).
    pub fn with_features_le(mut self, le: Vec<u8>) -> Self {
        self.features_le = Some(le);
        self
    }
    /// Adds route hints.
    pub fn with_route_hints(mut self, hints: Vec<RouteHint>) -> Self {
        self.route_hints = hints;
        self
    }
}

impl From<&crate::payment::invoice::RouteHint> for RouteHint {
    fn from(h: &crate::payment::invoice::RouteHint) -> Self {
        RouteHint(
            h.0.iter()
                .map(|hop| RouteHintHop {
                    src_node_id: hop.src_node_id.into(),
                    short_channel_id: hop.short_channel_id,
                    fees: RoutingFees {
                        base_msat: hop.fee_base_msat,
                        proportional_millionths: hop.fee_proportional_millionths,
                    },
                    cltv_expiry_delta: hop.cltv_expiry_delta,
                    htlc_minimum_msat: None,
                    htlc_maximum_msat: None,
                })
                .collect(),
        )
    }
}

impl PaymentParameters {
    /// Parameters to pay a BOLT 11 invoice: its payee, features, route
    /// hints and final CLTV delta.
    pub fn from_bolt11_invoice(invoice: &crate::payment::invoice::Bolt11Invoice) -> Self {
        let final_cltv = u32::try_from(invoice.min_final_cltv_expiry_delta()).unwrap_or(u32::MAX);
        PaymentParameters::from_node_id(invoice.payee_pubkey().into(), final_cltv)
            .with_features_le(invoice.features_le().to_vec())
            .with_route_hints(invoice.route_hints().map(RouteHint::from).collect())
    }
}

/// A route request: payee constraints, amount and fee ceiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteParameters {
    /// Payee and limits.
    pub payment_params: PaymentParameters,
    /// The amount the payee must receive, msat.
    pub final_value_msat: u64,
    /// Ceiling on the total routing fee; `None` means no ceiling.
    pub max_total_routing_fee_msat: Option<u64>,
}

impl RouteParameters {
    /// A request for `value_msat` with the default fee ceiling of 1 % plus 50 sat.
    pub fn from_payment_params_and_value(
        payment_params: PaymentParameters,
        value_msat: u64,
    ) -> Self {
        RouteParameters {
            payment_params,
            final_value_msat: value_msat,
            max_total_routing_fee_msat: Some(value_msat / 100 + 50_000),
        }
    }
}

/// One hop of a path.
///
/// `fee_msat` is what this hop's node keeps for forwarding to the next hop;
/// on the last hop it is the amount delivered to the payee.
/// `cltv_expiry_delta` is the next channel's delta (what this node asks
/// for); on the last hop it is the payee's final delta.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteHop {
    /// The node this hop reaches.
    pub pubkey: NodeId,
    /// The channel used to reach it.
    pub short_channel_id: ShortChannelId,
    /// See the type's documentation.
    pub fee_msat: u64,
    /// See the type's documentation.
    pub cltv_expiry_delta: u32,
    /// The reached node's announced features (little-endian), if known.
    pub node_features_le: Vec<u8>,
    /// Whether the channel is in the public graph (false: a hint or first hop).
    pub maybe_announced_channel: bool,
}

/// One part of a payment: hops from the payer's first peer to the payee.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    /// The hops, first peer first.
    pub hops: Vec<RouteHop>,
}

impl Path {
    /// Total fees paid along the path.
    pub fn fee_msat(&self) -> u64 {
        match self.hops.split_last() {
            Some((_, rest)) => rest.iter().map(|h| h.fee_msat).sum(),
            None => 0,
        }
    }
    /// What the payee receives over this path.
    pub fn final_value_msat(&self) -> u64 {
        self.hops.last().map_or(0, |h| h.fee_msat)
    }
    /// Sum of the CLTV deltas, final delta included.
    pub fn total_cltv_expiry_delta(&self) -> u32 {
        self.hops.iter().map(|h| h.cltv_expiry_delta).sum()
    }
    /// The amount the first hop's HTLC carries.
    pub fn first_hop_amount_msat(&self) -> u64 {
        self.hops.iter().map(|h| h.fee_msat).sum()
    }
}

/// A route: one or more paths whose final values add up to the amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The parts.
    pub paths: Vec<Path>,
    /// The request this answers.
    pub route_params: Option<RouteParameters>,
}

impl Route {
    /// Fees of every path.
    pub fn get_total_fees(&self) -> u64 {
        self.paths.iter().map(|p| p.fee_msat()).sum()
    }
    /// What the payee receives in total.
    pub fn get_total_amount(&self) -> u64 {
        self.paths.iter().map(|p| p.final_value_msat()).sum()
    }
}

/// Why no route was returned.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// Payer and payee are the same node.
    PayeeIsPayer,
    /// The amount is zero.
    ZeroAmount,
    /// The payer has no usable channel (neither given first hops nor graph).
    NoFirstHop,
    /// No path satisfies the limits (fees, CLTV, capacity, hops).
    NoRoute,
    /// Paths exist but cannot carry the whole amount within `max_path_count`.
    InsufficientLiquidity,
    /// A route hint is malformed (empty, or points back at the payee).
    InvalidRouteHint,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::PayeeIsPayer => "cannot route to ourselves",
            RouteError::ZeroAmount => "cannot route a zero amount",
            RouteError::NoFirstHop => "payer has no usable channel",
            RouteError::NoRoute => "no path to the payee within the limits",
            RouteError::InsufficientLiquidity => {
                "not enough liquidity to the payee within the path limit"
            }
            RouteError::InvalidRouteHint => "invalid route hint",
        })
    }
}

impl std::error::Error for RouteError {}
