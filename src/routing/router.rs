//! The [`Router`] trait the channel manager calls to route payments, and
//! [`DefaultRouter`], which runs [`find_route`] over a shared graph and
//! scorer.

use crate::gossip::{NetworkGraph, NodeId};
use crate::logger::Logger;
use crate::routing::pathfind::find_route;
use crate::routing::route::{FirstHop, Route, RouteError, RouteParameters};
use crate::routing::scoring::{CandidateHop, ChannelUsage, ScoreLookUp};
use bitcoin::hashes::{sha256, Hash, HashEngine};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// HTLCs of ours already in flight, per channel direction: the router
/// counts them as used liquidity through the scorer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InFlightHtlcs(HashMap<(u64, bool), u64>);

impl InFlightHtlcs {
    /// No HTLC in flight.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records `amount_msat` in flight from `source` to `target` over `scid`.
    pub fn add(&mut self, scid: u64, source: &NodeId, target: &NodeId, amount_msat: u64) {
        *self.0.entry((scid, source < target)).or_insert(0) += amount_msat;
    }
    /// The amount in flight over a channel direction.
    pub fn used_msat(&self, scid: u64, source: &NodeId, target: &NodeId) -> u64 {
        self.0.get(&(scid, source < target)).copied().unwrap_or(0)
    }
}

/// Finds routes for payments. Object-safe; the channel manager holds an
/// `Arc<dyn Router>`.
pub trait Router: Send + Sync {
    /// A route from `payer` satisfying `params`.
    fn find_route(
        &self,
        payer: &NodeId,
        params: &RouteParameters,
        first_hops: Option<&[FirstHop]>,
        inflight_htlcs: InFlightHtlcs,
    ) -> Result<Route, RouteError>;
}

/// A scorer that adds in-flight HTLCs to the usage it forwards.
struct InFlightScorer<'a> {
    inner: &'a dyn ScoreLookUp,
    inflight: &'a InFlightHtlcs,
}

impl ScoreLookUp for InFlightScorer<'_> {
    fn channel_penalty_msat(&self, hop: &CandidateHop<'_>, mut usage: ChannelUsage) -> u64 {
        if !self.inflight.0.is_empty() {
            usage.inflight_htlc_msat =
                usage
                    .inflight_htlc_msat
                    .saturating_add(self.inflight.used_msat(
                        hop.short_channel_id.0,
                        hop.source,
                        hop.target,
                    ));
        }
        self.inner.channel_penalty_msat(hop, usage)
    }
}

/// The standard router: [`find_route`] on a shared graph with a shared scorer.
pub struct DefaultRouter<S: ScoreLookUp + Send + Sync> {
    graph: Arc<NetworkGraph>,
    logger: Arc<dyn Logger>,
    scorer: Arc<RwLock<S>>,
    seed: Mutex<[u8; 32]>,
}

impl<S: ScoreLookUp + Send + Sync> DefaultRouter<S> {
    /// A router over `graph` using `scorer`; `entropy` seeds tie-breaking.
    pub fn new(
        graph: Arc<NetworkGraph>,
        logger: Arc<dyn Logger>,
        scorer: Arc<RwLock<S>>,
        entropy: [u8; 32],
    ) -> Self {
        DefaultRouter {
            graph,
            logger,
            scorer,
            seed: Mutex::new(entropy),
        }
    }

    fn next_seed(&self) -> [u8; 32] {
        let mut seed = self.seed.lock().unwrap_or_else(|e| e.into_inner());
        let mut eng = sha256::Hash::engine();
        eng.input(&*seed);
        let next = sha256::Hash::from_engine(eng).to_byte_array();
        *seed = next;
        next
    }
}

impl<S: ScoreLookUp + Send + Sync> Router for DefaultRouter<S> {
    fn find_route(
        &self,
        payer: &NodeId,
        params: &RouteParameters,
        first_hops: Option<&[FirstHop]>,
        inflight_htlcs: InFlightHtlcs,
    ) -> Result<Route, RouteError> {
        let seed = self.next_seed();
        let scorer = self.scorer.read().unwrap_or_else(|e| e.into_inner());
        let wrapped = InFlightScorer {
            inner: &*scorer,
            inflight: &inflight_htlcs,
        };
        find_route(
            payer,
            params,
            &self.graph,
            first_hops,
            &*self.logger,
            &wrapped,
            &seed,
        )
    }
}
