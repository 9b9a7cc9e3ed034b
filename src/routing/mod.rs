//! Pathfinding: [`find_route`] over the [`NetworkGraph`](crate::gossip::NetworkGraph),
//! the [`Router`] the channel manager calls, and scoring of channels from
//! payment outcomes ([`ProbabilisticScorer`]).

pub mod fuzz;
mod pathfind;
mod route;
mod router;
mod scoring;

pub use pathfind::find_route;
pub use route::{
    FirstHop, Path, PaymentParameters, Route, RouteError, RouteHint, RouteHintHop, RouteHop,
    RouteParameters, RoutingFees, BASIC_MPP_FEATURE_BIT, DEFAULT_MAX_PATH_COUNT,
    DEFAULT_MAX_TOTAL_CLTV_EXPIRY_DELTA, MAX_PATH_HOPS,
};
pub use router::{DefaultRouter, InFlightHtlcs, Router};
pub use scoring::{
    CandidateHop, ChannelUsage, FixedPenaltyScorer, ProbabilisticScorer, ScoreLookUp, ScoreUpdate,
    ScoringParameters,
};
