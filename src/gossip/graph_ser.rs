//! The persisted form of [`NetworkGraph`]: a version byte pair, then nodes
//! and channels with channels referring to nodes by position, so a reload
//! needs no key parsing and no per-channel key lookups.
//!
//! ```text
//! u8 version (1), u8 min_version_to_read (1), chain_hash
//! u32 node_count, nodes: point, u8 has_ann [u32 ts, u16+features, rgb, alias,
//!                        u16+addresses, u8 has_sig [sig, u16+excess]]
//! u32 channel_count, channels: u64 scid, u32 n1, u32 n2, u64 capacity (MAX: none),
//!                        u16+features, u32 added_at, u8 has_proof [4 sigs, 2 points,
//!                        u16+excess], 2 × (u8 present [u32 ts, u8 channel_flags, u8 message_flags, u16 cltv, u64 min, u64 max, u32 base, u32 ppm, u8 has_sig
//!                        [sig, u16+excess]])
//! u32 removed_count, (u64 scid, u64 when) × removed_count
//! ```

use super::graph::{
    AnnouncementProof, ChannelInfo, ChannelPolicy, GraphData, NetworkGraph, NodeAnnouncementInfo,
    NodeInfo, UpdateProof,
};
use crate::codec::{DecodeError, Readable, WithU16Len, Writeable};
use crate::types::{Point, ShortChannelId};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::ecdsa::Signature;
use std::collections::HashMap;
use std::io::{self, Read, Write};

/// The format version this code writes.
pub const GRAPH_SER_VERSION: u8 = 1;
/// The oldest reader version able to read what this code writes.
pub const GRAPH_SER_MIN_VERSION: u8 = 1;

fn write_bytes<W: Write>(w: &mut W, b: &[u8]) -> io::Result<()> {
    let len = u16::try_from(b.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "field longer than 65535"))?;
    len.write(w)?;
    w.write_all(b)
}

fn write_policy<W: Write>(w: &mut W, p: &Option<ChannelPolicy>) -> io::Result<()> {
    let Some(p) = p else { return 0u8.write(w) };
    1u8.write(w)?;
    p.last_update.write(w)?;
    p.channel_flags.write(w)?;
    p.message_flags.write(w)?;
    p.cltv_expiry_delta.write(w)?;
    p.htlc_minimum_msat.write(w)?;
    p.htlc_maximum_msat.write(w)?;
    p.fee_base_msat.write(w)?;
    p.fee_proportional_millionths.write(w)?;
    match &p.proof {
        Some(proof) => {
            1u8.write(w)?;
            proof.signature.write(w)?;
            write_bytes(w, &proof.excess_data)
        }
        None => 0u8.write(w),
    }
}

fn read_flag<R: Read>(r: &mut R) -> Result<bool, DecodeError> {
    bool::read(r)
}

fn read_policy<R: Read>(r: &mut R) -> Result<Option<ChannelPolicy>, DecodeError> {
    if !read_flag(r)? {
        return Ok(None);
    }
    let last_update = u32::read(r)?;
    let channel_flags = u8::read(r)?;
    let enabled = channel_flags & 2 == 0;
    let message_flags = u8::read(r)?;
    let cltv_expiry_delta = u16::read(r)?;
    let htlc_minimum_msat = u64::read(r)?;
    let htlc_maximum_msat = u64::read(r)?;
    let fee_base_msat = u32::read(r)?;
    let fee_proportional_millionths = u32::read(r)?;
    let proof = if read_flag(r)? {
        let signature = Signature::read(r)?;
        let excess_data = WithU16Len::read(r)?.0;
        Some(Box::new(UpdateProof {
            signature,
            excess_data,
        }))
    } else {
        None
    };
    Ok(Some(ChannelPolicy {
        last_update,
        enabled,
        message_flags,
        channel_flags,
        cltv_expiry_delta,
        htlc_minimum_msat,
        htlc_maximum_msat,
        fee_base_msat,
        fee_proportional_millionths,
        proof,
    }))
}

impl Writeable for NetworkGraph {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let ro = self.read_only();
        let data = &*ro.data;
        GRAPH_SER_VERSION.write(w)?;
        GRAPH_SER_MIN_VERSION.write(w)?;
        self.chain_hash().write(w)?;
        // Live nodes get dense positions 0..n.
        let mut pos = vec![u32::MAX; data.nodes.len()];
        let mut n = 0u32;
        for (i, node) in data.nodes.iter().enumerate() {
            if node.is_some() {
                pos[i] = n;
                n += 1;
            }
        }
        n.write(w)?;
        for node in data.nodes.iter().flatten() {
            node.node_id.write(w)?;
            match &node.announcement {
                None => 0u8.write(w)?,
                Some(a) => {
                    1u8.write(w)?;
                    a.timestamp.write(w)?;
                    write_bytes(w, &a.features_le)?;
                    a.rgb.write(w)?;
                    a.alias.write(w)?;
                    write_bytes(w, &a.addresses_raw)?;
                    match &a.proof {
                        Some((sig, excess)) => {
                            1u8.write(w)?;
                            sig.write(w)?;
                            write_bytes(w, excess)?;
                        }
                        None => 0u8.write(w)?,
                    }
                }
            }
        }
        (data.channel_index.len() as u32).write(w)?;
        for c in data.channels.iter().flatten() {
            c.short_channel_id.write(w)?;
            pos[c.node_one as usize].write(w)?;
            pos[c.node_two as usize].write(w)?;
            c.capacity_sats.unwrap_or(u64::MAX).write(w)?;
            write_bytes(w, &c.features)?;
            c.added_at.write(w)?;
            match &c.proof {
                Some(p) => {
                    1u8.write(w)?;
                    for s in &p.signatures {
                        s.write(w)?;
                    }
                    p.bitcoin_key_1.write(w)?;
                    p.bitcoin_key_2.write(w)?;
                    write_bytes(w, &p.excess_data)?;
                }
                None => 0u8.write(w)?,
            }
            write_policy(w, &c.policies[0])?;
            write_policy(w, &c.policies[1])?;
        }
        let mut removed: Vec<(&u64, &u64)> = data.removed_channels.iter().collect();
        removed.sort_unstable();
        (removed.len() as u32).write(w)?;
        for (scid, when) in removed {
            scid.write(w)?;
            when.write(w)?;
        }
        Ok(())
    }

    fn size_hint(&self) -> usize {
        let ro = self.read_only();
        64 + ro.node_count() * 40 + ro.channel_count() * 130
    }
}

/// Up-front capacity for a count read from untrusted input.
fn bounded(count: u32) -> usize {
    (count as usize).min(1 << 16)
}

impl Readable for NetworkGraph {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let _version = u8::read(r)?;
        let min_version = u8::read(r)?;
        if min_version > GRAPH_SER_VERSION {
            return Err(DecodeError::UnknownVersion);
        }
        let chain_hash = ChainHash::read(r)?;
        let node_count = u32::read(r)?;
        let mut data = GraphData::default();
        data.nodes.reserve(bounded(node_count));
        for i in 0..node_count {
            let node_id = Point::read(r)?;
            let announcement = if read_flag(r)? {
                let timestamp = u32::read(r)?;
                let features_le = WithU16Len::read(r)?.0;
                let rgb = <[u8; 3]>::read(r)?;
                let alias = <[u8; 32]>::read(r)?;
                let addresses_raw = WithU16Len::read(r)?.0;
                let proof = if read_flag(r)? {
                    Some((Signature::read(r)?, WithU16Len::read(r)?.0))
                } else {
                    None
                };
                Some(Box::new(NodeAnnouncementInfo {
                    timestamp,
                    features_le,
                    rgb,
                    alias,
                    addresses_raw,
                    proof,
                }))
            } else {
                None
            };
            if data.node_index.insert(node_id, i).is_some() {
                return Err(DecodeError::InvalidValue);
            }
            data.nodes.push(Some(NodeInfo {
                node_id,
                channels: Vec::new(),
                announcement,
            }));
        }
        data.node_count = data.nodes.len();
        let chan_count = u32::read(r)?;
        data.channels.reserve(bounded(chan_count));
        for i in 0..chan_count {
            let short_channel_id = ShortChannelId::read(r)?;
            let n1 = u32::read(r)?;
            let n2 = u32::read(r)?;
            if n1 >= node_count || n2 >= node_count || n1 == n2 {
                return Err(DecodeError::InvalidValue);
            }
            if data.node(n1).node_id >= data.node(n2).node_id {
                return Err(DecodeError::InvalidValue);
            }
            let cap = u64::read(r)?;
            let features = WithU16Len::read(r)?.0.into_boxed_slice();
            let added_at = u32::read(r)?;
            let proof = if read_flag(r)? {
                let signatures = [
                    Signature::read(r)?,
                    Signature::read(r)?,
                    Signature::read(r)?,
                    Signature::read(r)?,
                ];
                let bitcoin_key_1 = Point::read(r)?;
                let bitcoin_key_2 = Point::read(r)?;
                let excess_data = WithU16Len::read(r)?.0;
                Some(Box::new(AnnouncementProof {
                    signatures,
                    bitcoin_key_1,
                    bitcoin_key_2,
                    excess_data,
                }))
            } else {
                None
            };
            let policies = [read_policy(r)?, read_policy(r)?];
            if data.channel_index.insert(short_channel_id.0, i).is_some() {
                return Err(DecodeError::InvalidValue);
            }
            data.channels.push(Some(ChannelInfo {
                short_channel_id,
                node_one: n1,
                node_two: n2,
                capacity_sats: (cap != u64::MAX).then_some(cap),
                features,
                added_at,
                policies,
                proof,
            }));
            for n in [n1, n2] {
                if let Some(node) = data.nodes[n as usize].as_mut() {
                    node.channels.push(i);
                }
            }
        }
        let removed = u32::read(r)?;
        let mut removed_channels = HashMap::with_capacity(bounded(removed));
        for _ in 0..removed {
            removed_channels.insert(u64::read(r)?, u64::read(r)?);
        }
        data.removed_channels = removed_channels;
        // Nodes without channels are not kept (BOLT 7 ties nodes to channels).
        for i in 0..data.nodes.len() {
            if data.nodes[i]
                .as_ref()
                .is_some_and(|n| n.channels.is_empty())
            {
                if let Some(node) = data.nodes[i].take() {
                    data.node_index.remove(&node.node_id);
                    data.free_nodes.push(i as u32);
                    data.node_count -= 1;
                }
            }
        }
        Ok(NetworkGraph::from_data(chain_hash, data))
    }
}
