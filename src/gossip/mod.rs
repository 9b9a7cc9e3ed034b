//! Gossip (BOLT 7): the [`NetworkGraph`] of public channels and nodes, and
//! the handler that validates and applies gossip messages into it.
//!
//! The graph is compact (about 150 bytes per routing-only channel, plus the
//! boxed signatures when the channel came from gossip), safe for concurrent
//! readers while updates are applied, and persisted through [`crate::codec`].

pub mod fuzz;
pub(crate) mod graph;
mod graph_ser;
pub(crate) mod route_index;
mod sync;
mod utxo;
mod validate;

pub(crate) use graph::feature_set;
pub use graph::{
    AnnouncementProof, ChannelInfo, ChannelPolicy, NetworkGraph, NodeAnnouncementInfo, NodeInfo,
    ReadOnlyNetworkGraph, UnsignedPolicy, UpdateProof, REMOVED_CHANNEL_MEMORY_SECS,
    STALE_CHANNEL_SECS,
};
pub use graph_ser::{GRAPH_SER_MIN_VERSION, GRAPH_SER_VERSION};
pub use sync::{
    P2PGossipSync, MAX_FUTURE_SECS, MAX_PENDING_UTXO_LOOKUPS, MAX_QUEUED_QUERY_IDS, QUERY_BATCH,
    REPLY_BATCH,
};
pub use utxo::{funding_script_pubkey, UtxoFuture, UtxoLookup, UtxoLookupError, UtxoResult};
pub use validate::GossipError;

use crate::types::ShortChannelId;
use core::fmt;

/// A node's identity in the graph: its 33-byte compressed public key.
pub type NodeId = crate::types::Point;

/// Why a graph change was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// The channel is already in the graph.
    DuplicateChannel(ShortChannelId),
    /// No channel with this short id is known.
    UnknownChannel(ShortChannelId),
    /// The node has no known channel (`bolt7-node-ann-unknown`).
    UnknownNode,
    /// A channel's two ends are the same node.
    SameNodes,
    /// The update is not newer than the one stored (`bolt7-update-timestamp`).
    OutdatedUpdate,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::DuplicateChannel(s) => write!(f, "channel {s} already known"),
            GraphError::UnknownChannel(s) => write!(f, "unknown channel {s}"),
            GraphError::UnknownNode => f.write_str("node has no known channel"),
            GraphError::SameNodes => f.write_str("channel endpoints are the same node"),
            GraphError::OutdatedUpdate => f.write_str("update is not newer than the stored one"),
        }
    }
}

impl std::error::Error for GraphError {}
