//! The in-memory network graph: nodes, channels and both directions'
//! forwarding policies, stored compactly and shared between the gossip
//! handler (writer) and the router (readers).
//!
//! Layout: nodes and channels live in two slabs (`Vec`s with free lists)
//! addressed by `u32` indices; a channel refers to its two nodes by index and
//! a node lists its channels by index. Public keys are stored once, in the
//! node slab. Signatures and other relay-only data are boxed and absent for
//! channels inserted through the trusted path, so a routing-only channel
//! costs about 150 bytes (see `NetworkGraph::memory_estimate`).
//!
//! Concurrency: the data sits behind an `RwLock`; [`NetworkGraph::read_only`]
//! takes a shared lock for as long as the view lives (a route computation),
//! gossip updates take the exclusive lock for the few microseconds an update
//! needs.

use super::route_index::RouteIndex;
use crate::gossip::{GraphError, NodeId};
use crate::types::ShortChannelId;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::ecdsa::Signature;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// BOLT 7: "if a channel's latest `channel_update`s `timestamp` is older than
/// two weeks (1209600 seconds): MAY prune the channel."
pub const STALE_CHANNEL_SECS: u64 = 1_209_600;
/// How long a channel closed on chain is remembered, so replayed gossip does
/// not bring it back.
pub const REMOVED_CHANNEL_MEMORY_SECS: u64 = 7 * 24 * 3600;

/// The forwarding policy one node announces for one direction of a channel
/// (the content of its latest `channel_update`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelPolicy {
    /// `timestamp` of the update this policy came from.
    pub last_update: u32,
    /// False when `channel_flags` bit 1 (`disable`) was set.
    pub enabled: bool,
    /// `message_flags` of the update (kept to re-create it for relay).
    pub message_flags: u8,
    /// `channel_flags` of the update (direction bit and `disable` bit).
    pub channel_flags: u8,
    /// Blocks the forwarding node subtracts from the incoming HTLC's expiry.
    pub cltv_expiry_delta: u16,
    /// Smallest HTLC the node will forward, in msat.
    pub htlc_minimum_msat: u64,
    /// Largest HTLC the node will forward, in msat.
    pub htlc_maximum_msat: u64,
    /// Fixed fee charged per forwarded HTLC, in msat.
    pub fee_base_msat: u32,
    /// Proportional fee, in millionths of the forwarded amount.
    pub fee_proportional_millionths: u32,
    /// The update's signature and trailing bytes, when it came from gossip.
    pub proof: Option<Box<UpdateProof>>,
}

impl ChannelPolicy {
    /// The fee for forwarding `amount_msat`, or `None` on overflow.
    #[inline]
    pub fn fee_msat(&self, amount_msat: u64) -> Option<u64> {
        let prop = (amount_msat as u128 * self.fee_proportional_millionths as u128) / 1_000_000;
        u64::try_from(prop)
            .ok()?
            .checked_add(self.fee_base_msat as u64)
    }
}

/// What is needed to re-create a signed `channel_update` for relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateProof {
    /// The forwarding node's signature.
    pub signature: Signature,
    /// Signed bytes after the known fields.
    pub excess_data: Vec<u8>,
}

/// What is needed to re-create a signed `channel_announcement` for relay
/// (the node ids, features, chain and scid are stored in the graph itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnouncementProof {
    /// `node_signature_1`, `node_signature_2`, `bitcoin_signature_1`, `bitcoin_signature_2`.
    pub signatures: [Signature; 4],
    /// The funding key of `node_id_1`.
    pub bitcoin_key_1: NodeId,
    /// The funding key of `node_id_2`.
    pub bitcoin_key_2: NodeId,
    /// Signed bytes after the known fields.
    pub excess_data: Vec<u8>,
}

/// What a `node_announcement` told us about a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAnnouncementInfo {
    /// The announcement's `timestamp`.
    pub timestamp: u32,
    /// Feature bits, little-endian bytes (bit 0 is the lowest bit of byte 0).
    pub features_le: Vec<u8>,
    /// The node's chosen colour.
    pub rgb: [u8; 3],
    /// The node's alias (32 bytes, usually UTF-8 padded with zeros).
    pub alias: [u8; 32],
    /// The `addresses` field exactly as on the wire (without its length).
    pub addresses_raw: Vec<u8>,
    /// Signature and trailing bytes, when it came from gossip.
    pub proof: Option<(Signature, Vec<u8>)>,
}

impl NodeAnnouncementInfo {
    /// Whether the node announces feature `bit` (either parity of its pair).
    pub fn supports_bit(&self, bit: usize) -> bool {
        let pair = bit & !1;
        feature_set(&self.features_le, pair) || feature_set(&self.features_le, pair + 1)
    }
}

/// Whether bit `bit` is set in a little-endian feature byte string.
#[inline]
pub(crate) fn feature_set(le: &[u8], bit: usize) -> bool {
    le.get(bit / 8).is_some_and(|b| b & (1 << (bit % 8)) != 0)
}

/// One public channel as the graph stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The channel's short id.
    pub short_channel_id: ShortChannelId,
    /// Index of `node_id_1` (the lexicographically lesser key) in the node slab.
    pub(crate) node_one: u32,
    /// Index of `node_id_2`.
    pub(crate) node_two: u32,
    /// Funding amount in satoshis, when known (from the UTXO or trusted input).
    pub capacity_sats: Option<u64>,
    /// `features` of the announcement (big-endian wire bytes).
    pub features: Box<[u8]>,
    /// When we first learned of the channel (seconds since the epoch).
    pub added_at: u32,
    /// `[node_1 → node_2, node_2 → node_1]` policies, when announced.
    pub policies: [Option<ChannelPolicy>; 2],
    /// Signatures, when the channel came from gossip.
    pub proof: Option<Box<AnnouncementProof>>,
}

impl ChannelInfo {
    /// The policy for forwarding from `node_one` (direction 0) or `node_two` (1).
    pub fn policy(&self, direction: u8) -> Option<&ChannelPolicy> {
        self.policies[(direction & 1) as usize].as_ref()
    }
    /// The latest update time of either direction, or `added_at` without updates.
    pub fn last_activity(&self) -> u32 {
        self.policies
            .iter()
            .flatten()
            .map(|p| p.last_update)
            .max()
            .unwrap_or(self.added_at)
    }
}

/// One node as the graph stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's public key.
    pub node_id: NodeId,
    /// Indices of its channels in the channel slab.
    pub(crate) channels: Vec<u32>,
    /// Its latest `node_announcement`, if any.
    pub announcement: Option<Box<NodeAnnouncementInfo>>,
}

impl NodeInfo {
    /// How many public channels the node has.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
}

/// A trusted, unsigned channel policy update (as from a snapshot or a test).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedPolicy {
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// 0: set by `node_id_1` for forwarding towards `node_id_2`; 1: the reverse.
    pub direction: u8,
    /// The update's timestamp; must be newer than the stored one.
    pub timestamp: u32,
    /// Whether forwarding is enabled.
    pub enabled: bool,
    /// CLTV delta the forwarding node asks for.
    pub cltv_expiry_delta: u16,
    /// Smallest forwarded HTLC, msat.
    pub htlc_minimum_msat: u64,
    /// Largest forwarded HTLC, msat.
    pub htlc_maximum_msat: u64,
    /// Base fee, msat.
    pub fee_base_msat: u32,
    /// Proportional fee, millionths.
    pub fee_proportional_millionths: u32,
}

/// The graph's data; reached through [`NetworkGraph::read_only`].
#[derive(Debug, Default)]
pub(crate) struct GraphData {
    pub(crate) nodes: Vec<Option<NodeInfo>>,
    pub(crate) free_nodes: Vec<u32>,
    pub(crate) node_index: BTreeMap<NodeId, u32>,
    pub(crate) channels: Vec<Option<ChannelInfo>>,
    pub(crate) free_channels: Vec<u32>,
    pub(crate) channel_index: BTreeMap<u64, u32>,
    pub(crate) removed_channels: HashMap<u64, u64>,
    pub(crate) node_count: usize,
    pub(crate) route_index: Mutex<Option<Arc<RouteIndex>>>,
}

impl GraphData {
    pub(crate) fn node_idx(&self, id: &NodeId) -> Option<u32> {
        self.node_index.get(id).copied()
    }
    pub(crate) fn channel_idx(&self, scid: u64) -> Option<u32> {
        self.channel_index.get(&scid).copied()
    }
    pub(crate) fn node(&self, idx: u32) -> &NodeInfo {
        self.nodes[idx as usize].as_ref().expect("live node index")
    }
    pub(crate) fn channel(&self, idx: u32) -> &ChannelInfo {
        self.channels[idx as usize]
            .as_ref()
            .expect("live channel index")
    }

    fn intern_node(&mut self, id: NodeId) -> u32 {
        if let Some(i) = self.node_index.get(&id) {
            return *i;
        }
        let info = NodeInfo {
            node_id: id,
            channels: Vec::new(),
            announcement: None,
        };
        let idx = match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(info);
                i
            }
            None => {
                self.nodes.push(Some(info));
                (self.nodes.len() - 1) as u32
            }
        };
        self.node_index.insert(id, idx);
        self.node_count += 1;
        idx
    }

    /// Inserts a channel; the caller checked it is not present.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert_channel(
        &mut self,
        scid: ShortChannelId,
        node_1: NodeId,
        node_2: NodeId,
        capacity_sats: Option<u64>,
        features: Box<[u8]>,
        added_at: u32,
        proof: Option<Box<AnnouncementProof>>,
    ) -> u32 {
        let n1 = self.intern_node(node_1);
        let n2 = self.intern_node(node_2);
        let info = ChannelInfo {
            short_channel_id: scid,
            node_one: n1,
            node_two: n2,
            capacity_sats,
            features,
            added_at,
            policies: [None, None],
            proof,
        };
        let idx = match self.free_channels.pop() {
            Some(i) => {
                self.channels[i as usize] = Some(info);
                i
            }
            None => {
                self.channels.push(Some(info));
                (self.channels.len() - 1) as u32
            }
        };
        self.channel_index.insert(scid.0, idx);
        self.invalidate_route_index();
        for n in [n1, n2] {
            if let Some(node) = self.nodes[n as usize].as_mut() {
                node.channels.push(idx);
            }
        }
        idx
    }

    /// Removes a channel, and any node left without channels.
    pub(crate) fn remove_channel(&mut self, scid: u64) -> Option<ChannelInfo> {
        let idx = self.channel_index.remove(&scid)?;
        let info = self.channels[idx as usize].take()?;
        self.free_channels.push(idx);
        self.invalidate_route_index();
        for n in [info.node_one, info.node_two] {
            let now_empty = match self.nodes[n as usize].as_mut() {
                Some(node) => {
                    if let Some(pos) = node.channels.iter().position(|c| *c == idx) {
                        node.channels.swap_remove(pos);
                    }
                    node.channels.is_empty()
                }
                None => false,
            };
            // BOLT 7: nodes are only announced with channels; a node without
            // any is forgotten with its announcement.
            if now_empty {
                if let Some(node) = self.nodes[n as usize].take() {
                    self.node_index.remove(&node.node_id);
                    self.free_nodes.push(n);
                    self.node_count -= 1;
                }
            }
        }
        Some(info)
    }

    /// Stores a direction's policy if it is newer than the stored one
    /// (BOLT 7 `bolt7-update-timestamp`), keeping the route index in step.
    pub(crate) fn set_policy(
        &mut self,
        scid: ShortChannelId,
        direction: u8,
        policy: ChannelPolicy,
    ) -> Result<(), GraphError> {
        let idx = self
            .channel_idx(scid.0)
            .ok_or(GraphError::UnknownChannel(scid))?;
        let dir = (direction & 1) as usize;
        let chan = self.channels[idx as usize]
            .as_mut()
            .ok_or(GraphError::UnknownChannel(scid))?;
        if let Some(old) = &chan.policies[dir] {
            if old.last_update >= policy.last_update {
                return Err(GraphError::OutdatedUpdate);
            }
        }
        chan.policies[dir] = Some(policy);
        self.patch_route_index(idx, dir);
        Ok(())
    }
}

/// The public network graph. Cheap to share (`Arc<NetworkGraph>`): readers
/// take [`read_only`](Self::read_only) views while gossip writes.
#[derive(Debug)]
pub struct NetworkGraph {
    chain_hash: ChainHash,
    pub(crate) data: RwLock<GraphData>,
}

/// A consistent, read-locked view of the graph for one computation. Updates
/// wait until it is dropped, so keep it short-lived.
pub struct ReadOnlyNetworkGraph<'a> {
    pub(crate) data: RwLockReadGuard<'a, GraphData>,
}

impl NetworkGraph {
    /// An empty graph for the chain with `chain_hash`.
    pub fn new(chain_hash: ChainHash) -> Self {
        NetworkGraph {
            chain_hash,
            data: RwLock::new(GraphData::default()),
        }
    }

    pub(crate) fn from_data(chain_hash: ChainHash, data: GraphData) -> Self {
        NetworkGraph {
            chain_hash,
            data: RwLock::new(data),
        }
    }

    /// The chain this graph belongs to.
    pub fn chain_hash(&self) -> ChainHash {
        self.chain_hash
    }

    /// A read-only view for routing or inspection.
    pub fn read_only(&self) -> ReadOnlyNetworkGraph<'_> {
        ReadOnlyNetworkGraph {
            data: self.data.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, GraphData> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a channel through the trusted path (no signature or UTXO
    /// checks): for snapshots, tests and benchmarks. `node_1` and `node_2`
    /// may come in either order; they are sorted as BOLT 7 orders them.
    pub fn add_channel_unchecked(
        &self,
        scid: ShortChannelId,
        node_1: NodeId,
        node_2: NodeId,
        capacity_sats: Option<u64>,
        added_at: u32,
    ) -> Result<(), GraphError> {
        if node_1 == node_2 {
            return Err(GraphError::SameNodes);
        }
        let (a, b) = if node_1 < node_2 {
            (node_1, node_2)
        } else {
            (node_2, node_1)
        };
        let mut data = self.write();
        if data.channel_index.contains_key(&scid.0) {
            return Err(GraphError::DuplicateChannel(scid));
        }
        data.insert_channel(scid, a, b, capacity_sats, Box::new([]), added_at, None);
        Ok(())
    }

    /// Sets one direction's policy through the trusted path. BOLT 7
    /// timestamp ordering still applies (`bolt7-update-timestamp`).
    pub fn update_channel_unchecked(&self, update: &UnsignedPolicy) -> Result<(), GraphError> {
        let policy = ChannelPolicy {
            last_update: update.timestamp,
            enabled: update.enabled,
            message_flags: 1,
            channel_flags: (update.direction & 1) | if update.enabled { 0 } else { 2 },
            cltv_expiry_delta: update.cltv_expiry_delta,
            htlc_minimum_msat: update.htlc_minimum_msat,
            htlc_maximum_msat: update.htlc_maximum_msat,
            fee_base_msat: update.fee_base_msat,
            fee_proportional_millionths: update.fee_proportional_millionths,
            proof: None,
        };
        self.write()
            .set_policy(update.short_channel_id, update.direction, policy)
    }

    /// Sets a node's announcement through the trusted path. The node must
    /// have a channel (BOLT 7) and the timestamp must be newer.
    pub fn update_node_unchecked(
        &self,
        node_id: &NodeId,
        info: NodeAnnouncementInfo,
    ) -> Result<(), GraphError> {
        let mut data = self.write();
        let idx = data.node_idx(node_id).ok_or(GraphError::UnknownNode)?;
        let node = data.nodes[idx as usize]
            .as_mut()
            .ok_or(GraphError::UnknownNode)?;
        if let Some(old) = &node.announcement {
            if old.timestamp >= info.timestamp {
                return Err(GraphError::OutdatedUpdate);
            }
        }
        node.announcement = Some(Box::new(info));
        Ok(())
    }

    /// Removes a channel whose funding output was spent on chain (a close),
    /// remembering it for a week so replayed gossip cannot re-add it.
    pub fn channel_closed(&self, scid: ShortChannelId, now_secs: u64) -> bool {
        let mut data = self.write();
        data.removed_channels.insert(scid.0, now_secs);
        data.remove_channel(scid.0).is_some()
    }

    /// Removes a channel a payment found permanently unusable.
    pub fn channel_failed_permanent(&self, scid: ShortChannelId) -> bool {
        self.write().remove_channel(scid.0).is_some()
    }

    /// Prunes channels whose newest update is older than two weeks (BOLT 7)
    /// and forgets old closed-channel records. The background processor
    /// calls it about hourly. Returns how many channels were removed.
    pub fn remove_stale_channels(&self, now_secs: u64) -> usize {
        let cutoff = now_secs.saturating_sub(STALE_CHANNEL_SECS);
        let mut data = self.write();
        let stale: Vec<u64> = data
            .channels
            .iter()
            .flatten()
            .filter(|c| (c.last_activity() as u64) < cutoff)
            .map(|c| c.short_channel_id.0)
            .collect();
        for scid in &stale {
            data.remove_channel(*scid);
        }
        let forget = now_secs.saturating_sub(REMOVED_CHANNEL_MEMORY_SECS);
        data.removed_channels.retain(|_, t| *t >= forget);
        stale.len()
    }

    /// Whether `scid` was closed on chain recently (gossip for it is ignored).
    pub fn is_recently_closed(&self, scid: ShortChannelId) -> bool {
        self.read_only().data.removed_channels.contains_key(&scid.0)
    }

    /// Builds the router's edge index now rather than on the first route
    /// (it is rebuilt after channels are added or removed). Returns its size
    /// in bytes.
    pub fn prepare_routing(&self) -> usize {
        self.read_only().data.route_index().heap_bytes()
    }

    /// Releases spare capacity in the graph's tables (after a bulk load).
    pub fn shrink_to_fit(&self) {
        let mut data = self.write();
        data.nodes.shrink_to_fit();
        data.channels.shrink_to_fit();
    }
}

impl<'a> ReadOnlyNetworkGraph<'a> {
    /// Number of channels.
    pub fn channel_count(&self) -> usize {
        self.data.channel_index.len()
    }
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.data.node_count
    }
    /// The channel with this short id.
    pub fn channel(&self, scid: ShortChannelId) -> Option<&ChannelInfo> {
        self.data.channel_idx(scid.0).map(|i| self.data.channel(i))
    }
    /// The node with this id.
    pub fn node(&self, id: &NodeId) -> Option<&NodeInfo> {
        self.data.node_idx(id).map(|i| self.data.node(i))
    }
    /// The ids of a channel's two nodes, `(node_id_1, node_id_2)`.
    pub fn channel_nodes(&self, chan: &ChannelInfo) -> (NodeId, NodeId) {
        (
            self.data.node(chan.node_one).node_id,
            self.data.node(chan.node_two).node_id,
        )
    }
    /// Every channel, in no particular order.
    pub fn channels(&self) -> impl Iterator<Item = &ChannelInfo> + '_ {
        self.data.channels.iter().flatten()
    }
    /// Every node, in no particular order.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> + '_ {
        self.data.nodes.iter().flatten()
    }
    /// The short ids of a node's channels.
    pub fn channels_of(&self, id: &NodeId) -> Vec<ShortChannelId> {
        match self.node(id) {
            Some(n) => n
                .channels
                .iter()
                .map(|c| self.data.channel(*c).short_channel_id)
                .collect(),
            None => Vec::new(),
        }
    }
    /// The channels' short ids in ascending order (for gossip queries).
    pub fn sorted_short_channel_ids(&self) -> Vec<u64> {
        self.data.channel_index.keys().copied().collect()
    }
}
