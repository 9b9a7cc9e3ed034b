//! A routing-friendly copy of the graph's edges: every channel direction as
//! a 48-byte record, grouped by the node it leads *to* (compressed sparse
//! rows), so the router's backward search reads each node's incoming edges
//! from one contiguous run instead of chasing channel records.
//!
//! Built lazily on the first route after a structural change (a channel
//! added or removed: a few milliseconds for 50,000 channels); policy
//! updates patch it in place when no route computation holds it.

use super::graph::{ChannelPolicy, GraphData};
use super::NodeId;
use std::sync::Arc;

/// `InEdge::flags`: the direction has an enabled policy.
pub(crate) const EDGE_USABLE: u8 = 1;
/// `InEdge::flags`: the edge runs `node_2 → node_1`.
pub(crate) const EDGE_DIR_1: u8 = 2;

/// One channel direction `source → target`, stored under `target`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct InEdge {
    pub(crate) scid: u64,
    pub(crate) htlc_min: u64,
    pub(crate) htlc_max: u64,
    /// Capacity in msat, `u64::MAX` when unknown.
    pub(crate) capacity_msat: u64,
    pub(crate) source: u32,
    pub(crate) fee_base: u32,
    pub(crate) fee_ppm: u32,
    pub(crate) cltv: u16,
    pub(crate) flags: u8,
}

/// The index: `edges[offsets[v]..offsets[v + 1]]` are the edges into node `v`.
#[derive(Debug, Default)]
pub(crate) struct RouteIndex {
    pub(crate) offsets: Vec<u32>,
    pub(crate) edges: Vec<InEdge>,
    /// Position of each channel's two directions in `edges`.
    pub(crate) slots: Vec<[u32; 2]>,
    /// Node ids by slab index (dead slots hold a dummy key).
    pub(crate) ids: Vec<NodeId>,
}

pub(crate) fn fill_policy(e: &mut InEdge, p: Option<&ChannelPolicy>) {
    let dir = e.flags & EDGE_DIR_1;
    match p {
        Some(p) => {
            e.htlc_min = p.htlc_minimum_msat;
            e.htlc_max = p.htlc_maximum_msat;
            e.fee_base = p.fee_base_msat;
            e.fee_ppm = p.fee_proportional_millionths;
            e.cltv = p.cltv_expiry_delta;
            e.flags = dir | if p.enabled { EDGE_USABLE } else { 0 };
        }
        None => e.flags = dir,
    }
}

impl RouteIndex {
    pub(crate) fn build(data: &GraphData) -> RouteIndex {
        let n = data.nodes.len();
        let mut offsets = vec![0u32; n + 1];
        for c in data.channels.iter().flatten() {
            offsets[c.node_one as usize + 1] += 1;
            offsets[c.node_two as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut edges = vec![InEdge::default(); offsets[n] as usize];
        let mut slots = vec![[u32::MAX; 2]; data.channels.len()];
        for (ci, c) in data.channels.iter().enumerate() {
            let Some(c) = c else { continue };
            let capacity_msat = c.capacity_sats.map_or(u64::MAX, |s| s.saturating_mul(1000));
            // Direction 0 runs node_1 → node_2, so it is an edge into node_2.
            for (dir, (source, target)) in [(c.node_one, c.node_two), (c.node_two, c.node_one)]
                .into_iter()
                .enumerate()
            {
                let pos = fill[target as usize];
                fill[target as usize] += 1;
                let mut e = InEdge {
                    scid: c.short_channel_id.0,
                    capacity_msat,
                    source,
                    flags: if dir == 1 { EDGE_DIR_1 } else { 0 },
                    ..InEdge::default()
                };
                fill_policy(&mut e, c.policies[dir].as_ref());
                edges[pos as usize] = e;
                slots[ci][dir] = pos;
            }
        }
        let dummy = NodeId::from_bytes([2; 33]).expect("valid prefix");
        let ids = data
            .nodes
            .iter()
            .map(|n| n.as_ref().map_or(dummy, |n| n.node_id))
            .collect();
        RouteIndex {
            offsets,
            edges,
            slots,
            ids,
        }
    }

    /// Approximate heap bytes used.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.offsets.len() * 4
            + self.edges.len() * core::mem::size_of::<InEdge>()
            + self.slots.len() * 8
            + self.ids.len() * 33
    }
}

impl GraphData {
    /// The current index, built if needed.
    pub(crate) fn route_index(&self) -> Arc<RouteIndex> {
        let mut guard = self.route_index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(idx) = guard.as_ref() {
            return idx.clone();
        }
        let idx = Arc::new(RouteIndex::build(self));
        *guard = Some(idx.clone());
        idx
    }

    /// Drops the index after a structural change.
    pub(crate) fn invalidate_route_index(&mut self) {
        *self
            .route_index
            .get_mut()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Mirrors a changed policy of channel slot `chan_idx` into the index.
    pub(crate) fn patch_route_index(&mut self, chan_idx: u32, dir: usize) {
        let policy = self.channels[chan_idx as usize]
            .as_ref()
            .and_then(|c| c.policies[dir].as_ref());
        let slot = self
            .route_index
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        let Some(arc) = slot.as_mut() else { return };
        match Arc::get_mut(arc) {
            Some(idx) => {
                let pos = idx
                    .slots
                    .get(chan_idx as usize)
                    .map_or(u32::MAX, |s| s[dir]);
                match idx.edges.get_mut(pos as usize) {
                    Some(e) => fill_policy(e, policy),
                    None => *slot = None,
                }
            }
            // A route computation holds it: rebuild on the next one.
            None => *slot = None,
        }
    }
}
