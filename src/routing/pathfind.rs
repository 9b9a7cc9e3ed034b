//! `find_route`: Dijkstra from the payee back to the payer, so that each
//! hop's amount (payee amount plus downstream fees) is known when the hop is
//! considered, then multi-path splitting when one path cannot carry it all.
//!
//! Labels: for a node `u`, `amount[u]` is the HTLC amount on the channel
//! into `u` if `u` is on the path, `cost[u]` the fees plus scorer penalties
//! from `u` to the payee, `fees[u]`/`cltv[u]`/`hops[u]` the totals used for
//! the limits. A channel `u → v` is usable when its `u → v` policy exists and
//! is enabled, `htlc_minimum ≤ amount[v] ≤` its remaining liquidity, and the
//! new totals stay within the fee, CLTV and hop limits. The payer charges
//! itself no fee and asks no CLTV delta on its own channel.

use crate::gossip::graph::GraphData;
use crate::gossip::route_index::{InEdge, RouteIndex, EDGE_DIR_1, EDGE_USABLE};
use crate::gossip::{feature_set, NetworkGraph, NodeId};
use crate::logger::Logger;
use crate::routing::route::{
    FirstHop, Path, Route, RouteError, RouteHop, RouteParameters, BASIC_MPP_FEATURE_BIT,
    MAX_PATH_HOPS,
};
use crate::routing::scoring::{CandidateHop, ChannelUsage, ScoreLookUp};
use crate::types::ShortChannelId;
use crate::{log_debug, log_trace};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A small, fast hasher for integer keys (not exposed to peer-chosen keys
/// in a way that matters: the maps live for one route computation).
#[derive(Default)]
struct IntHasher(u64);
impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ *b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64)
    }
}
type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// A usable channel direction `source → target`, resolved for the search.
#[derive(Clone, Copy, Debug)]
struct Edge {
    source: u32,
    target: u32,
    scid: u64,
    /// Key of the liquidity this edge consumes (`scid << 1 | direction`).
    key: u64,
    fee_base: u32,
    fee_ppm: u32,
    cltv: u16,
    htlc_min: u64,
    /// Per-path ceiling before other parts' usage.
    liquidity: u64,
    /// Capacity handed to the scorer.
    capacity: u64,
    /// Whether the scorer is asked about it (not for known first hops).
    scored: bool,
    public: bool,
}

impl Edge {
    #[inline]
    fn fee(&self, amount: u64) -> Option<u64> {
        let prop = (amount as u128 * self.fee_ppm as u128) / 1_000_000;
        u64::try_from(prop).ok()?.checked_add(self.fee_base as u64)
    }
}

/// A 4-ary min-heap of `(cost, tie, node)`: shallower than a binary heap,
/// so fewer cache misses per pop on the search's frontier.
#[derive(Default)]
struct QuadHeap {
    v: Vec<(u64, u32, u32)>,
}

impl QuadHeap {
    #[inline]
    fn push(&mut self, item: (u64, u32, u32)) {
        let mut i = self.v.len();
        self.v.push(item);
        while i > 0 {
            let p = (i - 1) / 4;
            if (self.v[p].0, self.v[p].1) <= (item.0, item.1) {
                break;
            }
            self.v[i] = self.v[p];
            i = p;
        }
        self.v[i] = item;
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, u32, u32)> {
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = self.v[0];
        let n = self.v.len();
        let mut i = 0;
        loop {
            let c = 4 * i + 1;
            if c >= n {
                break;
            }
            let mut best = c;
            for j in c + 1..(c + 4).min(n) {
                if (self.v[j].0, self.v[j].1) < (self.v[best].0, self.v[best].1) {
                    best = j;
                }
            }
            if (self.v[best].0, self.v[best].1) >= (last.0, last.1) {
                break;
            }
            self.v[i] = self.v[best];
            i = best;
        }
        self.v[i] = last;
        Some(top)
    }
}

/// Where a label's next hop comes from: a graph channel (`idx << 1 | dir`)
/// or an extra edge (high bit set).
const EXTRA: u32 = 1 << 31;

struct Ctx<'a> {
    data: &'a GraphData,
    index: Arc<RouteIndex>,
    payer: u32,
    payee: u32,
    /// Nodes beyond the graph's slab (hint or first-hop nodes), by id.
    virtual_ids: Vec<NodeId>,
    extra_edges: Vec<Edge>,
    extra_in: IntMap<u32, Vec<u32>>,
    skip_payer_graph_channels: bool,
    failed: HashSet<u64>,
    saturation_shift: Cell<u32>,
    max_cltv: u32,
    final_cltv: u32,
    scorer: &'a dyn ScoreLookUp,
    tie_seed: u64,
}

/// A node's search label, kept together so a relaxation touches one cache line.
#[derive(Clone, Copy)]
struct Label {
    cost: u64,
    amount: u64,
    fees: u64,
    cltv: u32,
    next: u32,
    hops: u8,
    done: bool,
}

const UNSEEN: Label = Label {
    cost: u64::MAX,
    amount: 0,
    fees: 0,
    cltv: 0,
    next: u32::MAX,
    hops: 0,
    done: false,
};

struct Scratch {
    l: Vec<Label>,
    touched: Vec<u32>,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch {
            l: vec![UNSEEN; n],
            touched: Vec::new(),
        }
    }
    fn reset(&mut self) {
        for &i in &self.touched {
            self.l[i as usize] = UNSEEN;
        }
        self.touched.clear();
    }
}

impl<'a> Ctx<'a> {
    fn node_id(&self, idx: u32) -> &NodeId {
        let n = self.index.ids.len();
        if (idx as usize) < n {
            &self.index.ids[idx as usize]
        } else {
            &self.virtual_ids[idx as usize - n]
        }
    }

    /// The edge at `pos` in the route index, leading into `target`.
    #[inline]
    fn graph_edge(&self, ie: &InEdge, target: u32) -> Edge {
        let (liquidity, capacity) = if ie.capacity_msat == u64::MAX {
            (ie.htlc_max, ie.htlc_max)
        } else {
            let sat = ie
                .capacity_msat
                .checked_shr(self.saturation_shift.get())
                .unwrap_or(0);
            (ie.htlc_max.min(sat), ie.capacity_msat)
        };
        Edge {
            source: ie.source,
            target,
            scid: ie.scid,
            key: ie.scid << 1 | (ie.flags & EDGE_DIR_1 != 0) as u64,
            fee_base: ie.fee_base,
            fee_ppm: ie.fee_ppm,
            cltv: ie.cltv,
            htlc_min: ie.htlc_min,
            liquidity,
            capacity,
            scored: true,
            public: true,
        }
    }

    fn edge_by_ref(&self, r: u32) -> Option<Edge> {
        if r & EXTRA != 0 {
            return self.extra_edges.get((r & !EXTRA) as usize).copied();
        }
        let ie = self.index.edges.get(r as usize)?;
        // The target is the node whose run contains `r`.
        let target = self.index.offsets.partition_point(|&o| o <= r) - 1;
        Some(self.graph_edge(ie, target as u32))
    }

    /// Whether some edge into the payee could carry `amount` at all (a
    /// cheap test that saves a whole search for amounts needing MPP).
    fn payee_can_receive(&self, amount: u64, used: &IntMap<u64, u64>) -> bool {
        let v = self.payee;
        let mut best = 0u64;
        let avail = |e: &Edge| {
            e.liquidity
                .saturating_sub(used.get(&e.key).copied().unwrap_or(0))
        };
        if (v as usize) < self.index.ids.len() {
            let (lo, hi) = (
                self.index.offsets[v as usize],
                self.index.offsets[v as usize + 1],
            );
            for ie in &self.index.edges[lo as usize..hi as usize] {
                if ie.flags & EDGE_USABLE != 0 {
                    best = best.max(avail(&self.graph_edge(ie, v)));
                }
            }
        }
        if let Some(list) = self.extra_in.get(&v) {
            for &ei in list {
                best = best.max(avail(&self.extra_edges[ei as usize]));
            }
        }
        best >= amount
    }

    /// One backward Dijkstra for `amount`; returns the edges payer → payee.
    fn search(
        &self,
        s: &mut Scratch,
        amount: u64,
        fee_limit: u64,
        used: &IntMap<u64, u64>,
    ) -> Option<Vec<Edge>> {
        s.reset();
        let mut heap = QuadHeap::default();
        let t = self.payee as usize;
        s.l[t].cost = 0;
        s.l[t].amount = amount;
        s.l[t].fees = 0;
        s.l[t].cltv = self.final_cltv;
        s.l[t].hops = 0;
        s.touched.push(self.payee);
        heap.push((0, 0, self.payee));
        let n_graph = self.data.nodes.len() as u32;
        while let Some((cost, _, v)) = heap.pop() {
            let vi = v as usize;
            if s.l[vi].done || cost > s.l[vi].cost {
                continue;
            }
            s.l[vi].done = true;
            if v == self.payer {
                return Some(self.collect(s));
            }
            if s.l[vi].hops as usize >= MAX_PATH_HOPS {
                continue;
            }
            if v < n_graph {
                let (lo, hi) = (self.index.offsets[vi], self.index.offsets[vi + 1]);
                for pos in lo..hi {
                    let ie = &self.index.edges[pos as usize];
                    if ie.flags & EDGE_USABLE == 0
                        || (self.skip_payer_graph_channels && ie.source == self.payer)
                    {
                        continue;
                    }
                    let e = self.graph_edge(ie, v);
                    self.relax(s, &mut heap, &e, pos, fee_limit, used);
                }
            }
            if let Some(list) = self.extra_in.get(&v) {
                for &ei in list {
                    let e = self.extra_edges[ei as usize];
                    self.relax(s, &mut heap, &e, ei | EXTRA, fee_limit, used);
                }
            }
        }
        None
    }

    #[inline]
    fn relax(
        &self,
        s: &mut Scratch,
        heap: &mut QuadHeap,
        e: &Edge,
        eref: u32,
        fee_limit: u64,
        used: &IntMap<u64, u64>,
    ) {
        let u = e.source as usize;
        let v = e.target as usize;
        if s.l[u].done {
            return;
        }
        let amt = s.l[v].amount;
        if amt < e.htlc_min {
            return;
        }
        let already = if used.is_empty() {
            0
        } else {
            used.get(&e.key).copied().unwrap_or(0)
        };
        if amt > e.liquidity.saturating_sub(already) {
            return;
        }
        if !self.failed.is_empty() && self.failed.contains(&e.scid) {
            return;
        }
        let (fee, cltv) = if e.source == self.payer {
            (0, 0)
        } else {
            match e.fee(amt) {
                Some(f) => (f, e.cltv as u32),
                None => return,
            }
        };
        let new_fees = s.l[v].fees.saturating_add(fee);
        if new_fees > fee_limit {
            return;
        }
        let new_cltv = s.l[v].cltv.saturating_add(cltv);
        if new_cltv > self.max_cltv {
            return;
        }
        let base_cost = s.l[v].cost.saturating_add(fee);
        if base_cost >= s.l[u].cost {
            // Penalties are never negative: this cannot improve `u`.
            return;
        }
        let penalty = if e.scored {
            let hop = CandidateHop {
                short_channel_id: ShortChannelId(e.scid),
                source: self.node_id(e.source),
                target: self.node_id(e.target),
            };
            self.scorer.channel_penalty_msat(
                &hop,
                ChannelUsage {
                    amount_msat: amt,
                    inflight_htlc_msat: already,
                    capacity_msat: e.capacity,
                },
            )
        } else {
            0
        };
        let new_cost = base_cost.saturating_add(penalty);
        if new_cost < s.l[u].cost {
            if s.l[u].cost == u64::MAX {
                s.touched.push(e.source);
            }
            s.l[u].cost = new_cost;
            s.l[u].amount = amt.saturating_add(fee);
            s.l[u].fees = new_fees;
            s.l[u].cltv = new_cltv;
            s.l[u].hops = s.l[v].hops + 1;
            s.l[u].next = eref;
            let tie = ((e.source as u64 ^ self.tie_seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32)
                as u32;
            heap.push((new_cost, tie, e.source));
        }
    }

    fn collect(&self, s: &Scratch) -> Vec<Edge> {
        self.collect_from(s, self.payer, Vec::new())
    }

    /// Follows labels from `start` to the payee, after the edges in `out`.
    fn collect_from(&self, s: &Scratch, start: u32, mut out: Vec<Edge>) -> Vec<Edge> {
        let mut cur = start;
        while cur != self.payee {
            let Some(e) = self.edge_by_ref(s.l[cur as usize].next) else {
                break;
            };
            out.push(e);
            cur = e.target;
            if out.len() > MAX_PATH_HOPS {
                break;
            }
        }
        out
    }

    /// The payer's usable outgoing edges with their references.
    fn payer_edges(&self) -> Vec<(Edge, u32)> {
        let mut firsts: Vec<(Edge, u32)> = Vec::new();
        if !self.skip_payer_graph_channels && (self.payer as usize) < self.data.nodes.len() {
            for &ci in &self.data.node(self.payer).channels {
                let c = self.data.channel(ci);
                let dir = if c.node_one == self.payer { 0 } else { 1 };
                let target = if dir == 0 { c.node_two } else { c.node_one };
                let pos = self
                    .index
                    .slots
                    .get(ci as usize)
                    .map_or(u32::MAX, |sl| sl[dir]);
                if let Some(ie) = self.index.edges.get(pos as usize) {
                    if ie.flags & EDGE_USABLE != 0 {
                        firsts.push((self.graph_edge(ie, target), pos));
                    }
                }
            }
        }
        for (i, e) in self.extra_edges.iter().enumerate() {
            if e.source == self.payer {
                firsts.push((*e, i as u32 | EXTRA));
            }
        }
        firsts
    }

    /// Whether one of the payer's channels could carry `amount` at all.
    fn payer_can_send(&self, amount: u64, used: &IntMap<u64, u64>) -> bool {
        self.payer_edges().iter().any(|(e, _)| {
            e.liquidity
                .saturating_sub(used.get(&e.key).copied().unwrap_or(0))
                >= amount
        })
    }

    /// Other paths the last search already found: through each of the
    /// payer's channels whose far end has a label, cheapest first. They
    /// share the search tree, so each costs no new search.
    fn alternatives(&self, s: &Scratch, used: &IntMap<u64, u64>) -> Vec<Vec<Edge>> {
        let chosen = s.l[self.payer as usize].next;
        let firsts = self.payer_edges();
        let mut out: Vec<(u64, Vec<Edge>)> = Vec::new();
        for (e, eref) in firsts {
            let w = &s.l[e.target as usize];
            if eref == chosen || w.cost == u64::MAX || w.hops as usize >= MAX_PATH_HOPS {
                continue;
            }
            let already = used.get(&e.key).copied().unwrap_or(0);
            if w.amount < e.htlc_min
                || w.amount > e.liquidity.saturating_sub(already)
                || self.failed.contains(&e.scid)
            {
                continue;
            }
            let edges = self.collect_from(s, e.target, vec![e]);
            if edges.last().map(|l| l.target) == Some(self.payee) {
                out.push((w.cost, edges));
            }
        }
        out.sort_by_key(|(c, _)| *c);
        out.into_iter().map(|(_, e)| e).collect()
    }

    /// The HTLC amount on each edge for delivering `value`.
    fn amounts(edges: &[Edge], value: u64) -> Option<Vec<u64>> {
        let mut amounts = vec![0u64; edges.len()];
        let mut a = value;
        for k in (0..edges.len()).rev() {
            amounts[k] = a;
            if k > 0 {
                a = a.checked_add(edges[k].fee(a)?)?;
            }
        }
        Some(amounts)
    }

    /// The largest value the path can deliver given liquidity already used.
    fn max_value(edges: &[Edge], used: &IntMap<u64, u64>) -> u64 {
        let avail = |e: &Edge| {
            e.liquidity
                .saturating_sub(used.get(&e.key).copied().unwrap_or(0))
        };
        let mut limit = avail(&edges[0]);
        for e in &edges[1..] {
            limit = max_before_fee(limit, e).min(avail(e));
        }
        limit
    }

    fn build_path(&self, edges: &[Edge], value: u64) -> Option<Path> {
        let amounts = Self::amounts(edges, value)?;
        let mut hops = Vec::with_capacity(edges.len());
        for (k, e) in edges.iter().enumerate() {
            let (fee_msat, cltv) = if k + 1 < edges.len() {
                let next = &edges[k + 1];
                (next.fee(amounts[k + 1])?, next.cltv as u32)
            } else {
                (value, self.final_cltv)
            };
            let features = if (e.target as usize) < self.data.nodes.len() {
                self.data
                    .node(e.target)
                    .announcement
                    .as_ref()
                    .map(|a| a.features_le.clone())
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            hops.push(RouteHop {
                pubkey: *self.node_id(e.target),
                short_channel_id: ShortChannelId(e.scid),
                fee_msat,
                cltv_expiry_delta: cltv,
                node_features_le: features,
                maybe_announced_channel: e.public,
            });
        }
        Some(Path { hops })
    }
}

/// Largest amount `a` that edge `e`'s source can forward such that
/// `a + fee(a) <= x`.
fn max_before_fee(x: u64, e: &Edge) -> u64 {
    if x < e.fee_base as u64 {
        return 0;
    }
    let mut a =
        ((x - e.fee_base as u64) as u128 * 1_000_000 / (1_000_000 + e.fee_ppm as u128)) as u64;
    while a > 0 && a.saturating_add(e.fee(a).unwrap_or(u64::MAX)) > x {
        a -= 1;
    }
    while (a + 1).saturating_add(e.fee(a + 1).unwrap_or(u64::MAX)) <= x {
        a += 1;
    }
    a
}

/// Finds a route paying `params.final_value_msat` from `payer` to the
/// payee, honouring fees, HTLC limits, capacity, CLTV and hop limits,
/// disabled channels, route hints and the payee's MPP support.
///
/// `first_hops`, when given, replaces the payer's graph channels with its
/// live channels. `random_seed` only breaks ties between equal-cost nodes.
pub fn find_route(
    payer: &NodeId,
    params: &RouteParameters,
    graph: &NetworkGraph,
    first_hops: Option<&[FirstHop]>,
    logger: &dyn Logger,
    scorer: &dyn ScoreLookUp,
    random_seed: &[u8; 32],
) -> Result<Route, RouteError> {
    let pp = &params.payment_params;
    if *payer == pp.payee_pubkey {
        return Err(RouteError::PayeeIsPayer);
    }
    if params.final_value_msat == 0 {
        return Err(RouteError::ZeroAmount);
    }
    let ro = graph.read_only();
    let data: &GraphData = &ro.data;
    let mut virtual_ids: Vec<NodeId> = Vec::new();
    let mut virtual_index: HashMap<NodeId, u32> = HashMap::new();
    let n_graph = data.nodes.len() as u32;
    let mut index_of = |id: &NodeId, virtual_ids: &mut Vec<NodeId>| -> u32 {
        if let Some(i) = data.node_idx(id) {
            return i;
        }
        *virtual_index.entry(*id).or_insert_with(|| {
            virtual_ids.push(*id);
            n_graph + virtual_ids.len() as u32 - 1
        })
    };
    let payer_idx = index_of(payer, &mut virtual_ids);
    let payee_idx = index_of(&pp.payee_pubkey, &mut virtual_ids);

    let mut extra_edges = Vec::new();
    if let Some(hops) = first_hops {
        for fh in hops {
            let target = index_of(&fh.counterparty_node_id, &mut virtual_ids);
            extra_edges.push(Edge {
                source: payer_idx,
                target,
                scid: fh.short_channel_id.0,
                key: fh.short_channel_id.0 << 1 | (payer > &fh.counterparty_node_id) as u64,
                fee_base: 0,
                fee_ppm: 0,
                cltv: 0,
                htlc_min: fh.next_outbound_htlc_minimum_msat,
                liquidity: fh.next_outbound_htlc_limit_msat,
                capacity: fh.next_outbound_htlc_limit_msat,
                scored: false,
                public: data.channel_idx(fh.short_channel_id.0).is_some(),
            });
        }
    } else if payer_idx >= n_graph
        && pp
            .route_hints
            .iter()
            .all(|h| h.0.first().map(|f| &f.src_node_id) != Some(payer))
    {
        return Err(RouteError::NoFirstHop);
    }
    for hint in &pp.route_hints {
        if hint.0.is_empty() {
            return Err(RouteError::InvalidRouteHint);
        }
        for (i, hop) in hint.0.iter().enumerate() {
            let target_id = hint
                .0
                .get(i + 1)
                .map_or(&pp.payee_pubkey, |h| &h.src_node_id);
            if hop.src_node_id == *target_id {
                return Err(RouteError::InvalidRouteHint);
            }
            let source = index_of(&hop.src_node_id, &mut virtual_ids);
            let target = index_of(target_id, &mut virtual_ids);
            let max = hop.htlc_maximum_msat.unwrap_or(u64::MAX);
            extra_edges.push(Edge {
                source,
                target,
                scid: hop.short_channel_id.0,
                key: hop.short_channel_id.0 << 1 | (hop.src_node_id > *target_id) as u64,
                fee_base: hop.fees.base_msat,
                fee_ppm: hop.fees.proportional_millionths,
                cltv: hop.cltv_expiry_delta,
                htlc_min: hop.htlc_minimum_msat.unwrap_or(0),
                liquidity: max,
                capacity: max,
                scored: true,
                public: false,
            });
        }
    }
    let mut extra_in: IntMap<u32, Vec<u32>> = IntMap::default();
    for (i, e) in extra_edges.iter().enumerate() {
        extra_in.entry(e.target).or_default().push(i as u32);
    }

    // MPP needs the payee's `basic_mpp` support, from the invoice or else
    // its node announcement.
    let payee_supports_mpp = match &pp.features_le {
        Some(le) => {
            feature_set(le, BASIC_MPP_FEATURE_BIT) || feature_set(le, BASIC_MPP_FEATURE_BIT + 1)
        }
        None => data
            .node_idx(&pp.payee_pubkey)
            .and_then(|i| data.node(i).announcement.as_ref())
            .is_some_and(|a| a.supports_bit(BASIC_MPP_FEATURE_BIT)),
    };
    let max_paths = if payee_supports_mpp {
        pp.max_path_count.max(1)
    } else {
        1
    };
    let mut tie_seed = 0u64;
    for (i, b) in random_seed.iter().enumerate().take(8) {
        tie_seed |= (*b as u64) << (8 * i);
    }
    let ctx = Ctx {
        data,
        index: data.route_index(),
        payer: payer_idx,
        payee: payee_idx,
        virtual_ids,
        extra_edges,
        extra_in,
        skip_payer_graph_channels: first_hops.is_some(),
        failed: pp.previously_failed_channels.iter().map(|s| s.0).collect(),
        saturation_shift: Cell::new(pp.max_channel_saturation_power_of_half as u32),
        max_cltv: pp.max_total_cltv_expiry_delta,
        final_cltv: pp.final_cltv_expiry_delta,
        scorer,
        tie_seed,
    };
    let fee_budget = params.max_total_routing_fee_msat.unwrap_or(u64::MAX);
    let mut scratch = Scratch::new(n_graph as usize + ctx.virtual_ids.len());
    let result = route_with(
        &ctx,
        &mut scratch,
        params.final_value_msat,
        fee_budget,
        max_paths,
        logger,
    );
    match &result {
        Ok(paths) => log_debug!(
            logger,
            "found route to {} for {} msat: {} path(s), fees {} msat",
            pp.payee_pubkey,
            params.final_value_msat,
            paths.len(),
            paths.iter().map(|p| p.fee_msat()).sum::<u64>()
        ),
        Err(e) => log_debug!(logger, "no route to {}: {}", pp.payee_pubkey, e),
    }
    result.map(|paths| Route {
        paths,
        route_params: Some(params.clone()),
    })
}

fn route_with(
    ctx: &Ctx<'_>,
    s: &mut Scratch,
    value: u64,
    fee_budget: u64,
    max_paths: u8,
    logger: &dyn Logger,
) -> Result<Vec<Path>, RouteError> {
    let mut used: IntMap<u64, u64> = IntMap::default();
    // Like a person would: if nothing fits in the saturation limit (a
    // quarter of each channel by default), accept using more of a channel
    // rather than failing.
    let relax = |why: &str| {
        if ctx.saturation_shift.get() != 0 {
            log_trace!(logger, "{why}: relaxing the channel saturation limit");
            ctx.saturation_shift.set(0);
            true
        } else {
            false
        }
    };
    // First: the whole amount over one path (cheapest in base fees).
    loop {
        if !ctx.payee_can_receive(value, &used) || !ctx.payer_can_send(value, &used) {
            // No single path can deliver it: go straight to splitting.
        } else if let Some(edges) = ctx.search(s, value, fee_budget, &used) {
            if let Some(path) = ctx.build_path(&edges, value) {
                return Ok(vec![path]);
            }
        }
        if max_paths > 1 || !relax("no single path") {
            break;
        }
    }
    if max_paths <= 1 {
        return Err(RouteError::NoRoute);
    }
    // Then split: each round finds the cheapest path able to carry at least
    // an equal share of what remains and fills it as far as it goes.
    let mut paths: Vec<Path> = Vec::new();
    let mut remaining = value;
    let mut fees_used = 0u64;
    while remaining > 0 {
        let left = max_paths as u64 - paths.len() as u64;
        if left == 0 {
            return Err(RouteError::InsufficientLiquidity);
        }
        let share = remaining.div_ceil(left);
        let budget_left = fee_budget.saturating_sub(fees_used);
        let share_budget = if fee_budget == u64::MAX {
            u64::MAX
        } else {
            (budget_left as u128 * share as u128 / remaining as u128) as u64
        };
        // Cheap end checks first: a share no end channel can carry needs no search.
        let found = if ctx.payer_can_send(share, &used) && ctx.payee_can_receive(share, &used) {
            ctx.search(s, share, share_budget, &used)
        } else {
            None
        };
        let Some(edges) = found else {
            if relax("no path for the next part") {
                continue;
            }
            return Err(if paths.is_empty() {
                RouteError::NoRoute
            } else {
                RouteError::InsufficientLiquidity
            });
        };
        let alternatives = ctx.alternatives(s, &used);
        for (k, edges) in std::iter::once(edges).chain(alternatives).enumerate() {
            let left = max_paths as u64 - paths.len() as u64;
            if remaining == 0 || left == 0 {
                break;
            }
            let share = remaining.div_ceil(left);
            let budget_left = fee_budget.saturating_sub(fees_used);
            // Fees may grow at most in proportion to the value placed, so
            // the rest of the amount keeps its share of the budget.
            let fee_ok = |fee: u64, v: u64| {
                fee_budget == u64::MAX
                    || fee as u128 * remaining as u128 <= budget_left as u128 * v as u128
            };
            let mut v = Ctx::max_value(&edges, &used).min(remaining);
            if v < share {
                if k == 0 {
                    v = share;
                } else {
                    continue;
                }
            }
            let mut amounts = Ctx::amounts(&edges, v).ok_or(RouteError::NoRoute)?;
            if !fee_ok(amounts[0] - v, v) || !fits(&edges, &amounts, &used) {
                v = share;
                amounts = Ctx::amounts(&edges, v).ok_or(RouteError::NoRoute)?;
                if k > 0 && (!fee_ok(amounts[0] - v, v) || !fits(&edges, &amounts, &used)) {
                    continue;
                }
            }
            let path = ctx.build_path(&edges, v).ok_or(RouteError::NoRoute)?;
            for (e, a) in edges.iter().zip(&amounts) {
                *used.entry(e.key).or_insert(0) += a;
            }
            fees_used = fees_used.saturating_add(path.fee_msat());
            remaining -= v;
            paths.push(path);
        }
    }
    Ok(paths)
}

fn fits(edges: &[Edge], amounts: &[u64], used: &IntMap<u64, u64>) -> bool {
    edges.iter().zip(amounts).all(|(e, a)| {
        *a >= e.htlc_min
            && *a
                <= e.liquidity
                    .saturating_sub(used.get(&e.key).copied().unwrap_or(0))
    })
}
