//! [`P2PGossipSync`]: the `RoutingMessageHandler` that validates gossip into
//! the [`NetworkGraph`], answers gossip queries and drives an initial sync.
//!
//! Relay: a message accepted synchronously is relayed by the peer manager
//! (the handler returns `Ok(true)`); an announcement accepted after an
//! asynchronous UTXO answer is handed back as a `BroadcastChannelAnnouncement`
//! event, since no peer message is then in hand.

use super::graph::{AnnouncementProof, ChannelPolicy, NodeAnnouncementInfo, UpdateProof};
use super::utxo::{funding_script_pubkey, UtxoFuture, UtxoLookup, UtxoResult};
use super::validate::{
    check_channel_announcement, check_channel_update_sig, check_node_announcement_sig, GossipError,
};
use super::{NetworkGraph, NodeId, STALE_CHANNEL_SECS};
use crate::codec::{Readable, Writeable};
use crate::events::{MessageSendEvent, MessageSendEventsProvider};
use crate::logger::Logger;
use crate::msgs::{
    ChannelAnnouncement, ChannelFeatures, ChannelUpdate, EncodedShortChannelIds, EncodedTimestamps,
    GossipTimestampFilter, Init, InitFeatures, LightningError, Message, NodeAddresses,
    NodeAnnouncement, NodeFeatures, QueryChannelRange, QueryShortChannelIds, ReplyChannelRange,
    ReplyShortChannelIdsEnd, RoutingMessageHandler,
};
use crate::types::{Point, ShortChannelId, WireSignature};
use crate::{log_debug, log_trace};
use bitcoin::secp256k1::{PublicKey, Secp256k1, VerifyOnly};
use bitcoin::TxOut;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

/// Spam limit: funding checks allowed to wait on asynchronous answers.
pub const MAX_PENDING_UTXO_LOOKUPS: usize = 1000;
/// Spam limit: short channel ids queued for querying from one peer.
pub const MAX_QUEUED_QUERY_IDS: usize = 200_000;
/// How many short channel ids one `query_short_channel_ids` asks for.
pub const QUERY_BATCH: usize = 1000;
/// How many ids one `reply_channel_range` carries (a message stays < 64 KiB).
pub const REPLY_BATCH: usize = 7000;
/// Updates further than this in the future are ignored (seconds).
pub const MAX_FUTURE_SECS: u64 = 24 * 3600;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The ids and update timestamps of one `reply_channel_range`.
type ReplyBatch = (Vec<ShortChannelId>, Vec<(u32, u32)>);

struct PendingLookup {
    msg: ChannelAnnouncement,
    sigs: [bitcoin::secp256k1::ecdsa::Signature; 4],
    future: UtxoFuture,
    updates: [Option<ChannelUpdate>; 2],
}

#[derive(Default)]
struct PeerSync {
    to_query: VecDeque<ShortChannelId>,
    query_in_flight: bool,
}

/// Validates gossip into a shared [`NetworkGraph`].
pub struct P2PGossipSync {
    graph: Arc<NetworkGraph>,
    utxo_lookup: Option<Arc<dyn UtxoLookup>>,
    logger: Arc<dyn Logger>,
    secp: Secp256k1<VerifyOnly>,
    events: Mutex<Vec<MessageSendEvent>>,
    pending: Mutex<HashMap<u64, PendingLookup>>,
    peers: Mutex<HashMap<PublicKey, PeerSync>>,
}

impl P2PGossipSync {
    /// A handler writing into `graph`. Without a `utxo_lookup`, channel
    /// announcements are accepted on their signatures alone (capacity unknown).
    pub fn new(
        graph: Arc<NetworkGraph>,
        utxo_lookup: Option<Arc<dyn UtxoLookup>>,
        logger: Arc<dyn Logger>,
    ) -> Self {
        P2PGossipSync {
            graph,
            utxo_lookup,
            logger,
            secp: Secp256k1::verification_only(),
            events: Mutex::new(Vec::new()),
            pending: Mutex::new(HashMap::new()),
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// The graph it writes into.
    pub fn network_graph(&self) -> &Arc<NetworkGraph> {
        &self.graph
    }

    fn push_event(&self, ev: MessageSendEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ev);
    }

    /// Validates and applies a `channel_announcement`. `Ok(true)`: new and
    /// valid, relay it.
    pub fn apply_channel_announcement(
        &self,
        msg: &ChannelAnnouncement,
    ) -> Result<bool, GossipError> {
        let scid = msg.short_channel_id;
        if self.graph.is_recently_closed(scid) {
            return Err(GossipError::RecentlyClosed);
        }
        if self.graph.read_only().channel(scid).is_some() {
            // bolt7-chan-ann-duplicate: already known.
            return Err(GossipError::Duplicate);
        }
        if self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&scid.0)
        {
            return Err(GossipError::Duplicate);
        }
        let sigs = check_channel_announcement(&self.secp, &self.graph.chain_hash(), msg)?;
        let capacity = match &self.utxo_lookup {
            None => None,
            Some(lookup) => match lookup.get_utxo(&msg.chain_hash, scid.0) {
                UtxoResult::Sync(res) => Some(check_funding(msg, res)?),
                UtxoResult::Async(future) => {
                    if let Some(res) = future.take() {
                        Some(check_funding(msg, res)?)
                    } else {
                        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                        if pending.len() >= MAX_PENDING_UTXO_LOOKUPS {
                            return Err(GossipError::TooManyPendingLookups);
                        }
                        pending.insert(
                            scid.0,
                            PendingLookup {
                                msg: msg.clone(),
                                sigs,
                                future,
                                updates: [None, None],
                            },
                        );
                        return Err(GossipError::Pending);
                    }
                }
            },
        };
        self.insert_announced(msg, sigs, capacity)?;
        Ok(true)
    }

    fn insert_announced(
        &self,
        msg: &ChannelAnnouncement,
        sigs: [bitcoin::secp256k1::ecdsa::Signature; 4],
        capacity: Option<u64>,
    ) -> Result<(), GossipError> {
        let proof = AnnouncementProof {
            signatures: sigs,
            bitcoin_key_1: msg.bitcoin_key_1,
            bitcoin_key_2: msg.bitcoin_key_2,
            excess_data: msg.excess_data.clone(),
        };
        let mut data = self.graph.write();
        if data.channel_idx(msg.short_channel_id.0).is_some() {
            return Err(GossipError::Duplicate);
        }
        data.insert_channel(
            msg.short_channel_id,
            msg.node_id_1,
            msg.node_id_2,
            capacity,
            msg.features.to_be_bytes().into_boxed_slice(),
            now_secs() as u32,
            Some(Box::new(proof)),
        );
        Ok(())
    }

    /// Validates and applies a `channel_update`. `Ok(true)`: relay it.
    pub fn apply_channel_update(&self, msg: &ChannelUpdate) -> Result<bool, GossipError> {
        // bolt7-unknown-chain.
        if msg.chain_hash != self.graph.chain_hash() {
            return Err(GossipError::WrongChain);
        }
        let scid = msg.short_channel_id;
        let dir = msg.direction() as usize;
        let now = now_secs();
        // bolt7-update-future-timestamp: "if the timestamp is unreasonably
        // far in the future: MAY discard the channel_update."
        if msg.timestamp as u64 > now + MAX_FUTURE_SECS {
            return Err(GossipError::FutureTimestamp);
        }
        // bolt7-update-stale: older than the pruning horizon is useless.
        if (msg.timestamp as u64) + STALE_CHANNEL_SECS < now {
            return Err(GossipError::StaleTimestamp);
        }
        // bolt7-update-must-be-one: htlc_maximum_msat must be present.
        if msg.message_flags & 1 == 0 {
            return Err(GossipError::MustBeOneNotSet);
        }
        let (node, capacity) = {
            let ro = self.graph.read_only();
            let Some(chan) = ro.channel(scid) else {
                // A channel whose funding check is pending keeps its latest updates.
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(p) = pending.get_mut(&scid.0) {
                    let newer = p.updates[dir]
                        .as_ref()
                        .map_or(true, |u| u.timestamp < msg.timestamp);
                    if newer {
                        p.updates[dir] = Some(msg.clone());
                    }
                    return Err(GossipError::Pending);
                }
                // bolt7-update-unknown-channel: "MUST ignore channel_updates
                // that do NOT correspond to one of its own channels."
                return Err(GossipError::UnknownChannel(scid));
            };
            if let Some(old) = chan.policy(dir as u8) {
                // bolt7-update-timestamp: "if timestamp is NOT greater than
                // that of the last-received channel_update ... SHOULD ignore".
                if old.last_update == msg.timestamp {
                    return Err(GossipError::Duplicate);
                }
                if old.last_update > msg.timestamp {
                    return Err(GossipError::OutdatedTimestamp);
                }
            }
            let (n1, n2) = ro.channel_nodes(chan);
            (if dir == 0 { n1 } else { n2 }, chan.capacity_sats)
        };
        // bolt7-update-htlc-max: minimum above maximum, or maximum above the
        // capacity, cannot be routed ("SHOULD ignore this channel").
        if msg.htlc_minimum_msat > msg.htlc_maximum_msat
            || capacity.is_some_and(|c| msg.htlc_maximum_msat > c.saturating_mul(1000))
        {
            return Err(GossipError::InvalidHtlcLimits);
        }
        let signature = check_channel_update_sig(&self.secp, msg, &node)?;
        let policy = ChannelPolicy {
            last_update: msg.timestamp,
            enabled: !msg.is_disabled(),
            message_flags: msg.message_flags,
            channel_flags: msg.channel_flags,
            cltv_expiry_delta: msg.cltv_expiry_delta,
            htlc_minimum_msat: msg.htlc_minimum_msat,
            htlc_maximum_msat: msg.htlc_maximum_msat,
            fee_base_msat: msg.fee_base_msat,
            fee_proportional_millionths: msg.fee_proportional_millionths,
            proof: Some(Box::new(UpdateProof {
                signature,
                excess_data: msg.excess_data.clone(),
            })),
        };
        self.graph
            .write()
            .set_policy(scid, dir as u8, policy)
            .map_err(|_| GossipError::OutdatedTimestamp)?;
        // BOLT 7 `dont_forward` (message_flags bit 1): private, not relayed.
        Ok(msg.message_flags & 2 == 0)
    }

    /// Validates and applies a `node_announcement`. `Ok(true)`: relay it.
    pub fn apply_node_announcement(&self, msg: &NodeAnnouncement) -> Result<bool, GossipError> {
        {
            let ro = self.graph.read_only();
            // bolt7-node-ann-unknown: "if node_id is NOT previously known from
            // a channel_announcement message ... SHOULD ignore the message."
            let node = ro.node(&msg.node_id).ok_or(GossipError::UnknownNode)?;
            if let Some(old) = &node.announcement {
                // bolt7-node-ann-timestamp: not greater than the last one.
                if old.timestamp == msg.timestamp {
                    return Err(GossipError::Duplicate);
                }
                if old.timestamp > msg.timestamp {
                    return Err(GossipError::OutdatedTimestamp);
                }
            }
        }
        let sig = check_node_announcement_sig(&self.secp, msg)?;
        let addresses = msg.addresses.encode();
        let info = NodeAnnouncementInfo {
            timestamp: msg.timestamp,
            features_le: msg.features.le_flags().to_vec(),
            rgb: msg.rgb_color,
            alias: msg.alias,
            addresses_raw: addresses.get(2..).unwrap_or_default().to_vec(),
            proof: Some((sig, msg.excess_data.clone())),
        };
        self.graph
            .update_node_unchecked(&msg.node_id, info)
            .map_err(|e| match e {
                super::GraphError::UnknownNode => GossipError::UnknownNode,
                _ => GossipError::OutdatedTimestamp,
            })?;
        Ok(true)
    }

    /// Applies asynchronous UTXO answers that have arrived. Called by every
    /// handler entry and by `get_and_clear_pending_msg_events`.
    pub fn process_pending_lookups(&self) {
        let ready: Vec<(PendingLookup, Result<TxOut, super::UtxoLookupError>)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let done: Vec<(u64, Result<TxOut, super::UtxoLookupError>)> = pending
                .iter()
                .filter_map(|(k, p)| p.future.take().map(|r| (*k, r)))
                .collect();
            done.into_iter()
                .filter_map(|(k, r)| pending.remove(&k).map(|p| (p, r)))
                .collect()
        };
        for (p, res) in ready {
            let scid = p.msg.short_channel_id;
            let outcome = check_funding(&p.msg, res)
                .and_then(|cap| self.insert_announced(&p.msg, p.sigs, Some(cap)));
            match outcome {
                Ok(()) => {
                    let mut first_update = None;
                    for u in p.updates.into_iter().flatten() {
                        match self.apply_channel_update(&u) {
                            Ok(true) if first_update.is_none() => first_update = Some(u),
                            Ok(true) => {
                                self.push_event(MessageSendEvent::BroadcastChannelUpdate { msg: u })
                            }
                            Ok(false) => {}
                            Err(e) => {
                                log_debug!(self.logger, "queued update for {scid} rejected: {e}")
                            }
                        }
                    }
                    self.push_event(MessageSendEvent::BroadcastChannelAnnouncement {
                        msg: p.msg,
                        update_msg: first_update,
                    });
                }
                Err(e) => log_debug!(
                    self.logger,
                    "channel_announcement {scid} rejected after lookup: {e}"
                ),
            }
        }
    }

    fn rebuild_announcement(
        &self,
        scid: u64,
    ) -> Option<(
        ChannelAnnouncement,
        Option<ChannelUpdate>,
        Option<ChannelUpdate>,
    )> {
        let ro = self.graph.read_only();
        let c = ro.channel(ShortChannelId(scid))?;
        let proof = c.proof.as_ref()?;
        let (n1, n2) = ro.channel_nodes(c);
        let ann = ChannelAnnouncement {
            node_signature_1: WireSignature::from(proof.signatures[0]),
            node_signature_2: WireSignature::from(proof.signatures[1]),
            bitcoin_signature_1: WireSignature::from(proof.signatures[2]),
            bitcoin_signature_2: WireSignature::from(proof.signatures[3]),
            features: ChannelFeatures::from_be_bytes(c.features.to_vec()),
            chain_hash: self.graph.chain_hash(),
            short_channel_id: c.short_channel_id,
            node_id_1: n1,
            node_id_2: n2,
            bitcoin_key_1: proof.bitcoin_key_1,
            bitcoin_key_2: proof.bitcoin_key_2,
            excess_data: proof.excess_data.clone(),
        };
        let upd = |dir: usize| {
            let p = c.policies[dir].as_ref()?;
            let proof = p.proof.as_ref()?;
            Some(ChannelUpdate {
                signature: WireSignature::from(proof.signature),
                chain_hash: self.graph.chain_hash(),
                short_channel_id: c.short_channel_id,
                timestamp: p.last_update,
                message_flags: p.message_flags,
                channel_flags: p.channel_flags,
                cltv_expiry_delta: p.cltv_expiry_delta,
                htlc_minimum_msat: p.htlc_minimum_msat,
                fee_base_msat: p.fee_base_msat,
                fee_proportional_millionths: p.fee_proportional_millionths,
                htlc_maximum_msat: p.htlc_maximum_msat,
                excess_data: proof.excess_data.clone(),
            })
        };
        Some((ann, upd(0), upd(1)))
    }

    fn rebuild_node_announcement(&self, id: &NodeId) -> Option<NodeAnnouncement> {
        let ro = self.graph.read_only();
        let a = ro.node(id)?.announcement.as_ref()?;
        let (sig, excess) = a.proof.as_ref()?;
        let mut raw = Vec::with_capacity(a.addresses_raw.len() + 2);
        raw.extend_from_slice(&(a.addresses_raw.len() as u16).to_be_bytes());
        raw.extend_from_slice(&a.addresses_raw);
        let addresses = NodeAddresses::read(&mut &raw[..]).ok()?;
        Some(NodeAnnouncement {
            signature: WireSignature::from(*sig),
            features: NodeFeatures::from_le_bytes(a.features_le.clone()),
            timestamp: a.timestamp,
            node_id: *id,
            rgb_color: a.rgb,
            alias: a.alias,
            addresses,
            excess_data: excess.clone(),
        })
    }

    fn send(&self, node_id: PublicKey, msg: Message) {
        self.push_event(MessageSendEvent::SendMessage { node_id, msg });
    }

    fn send_next_query(&self, peer: PublicKey) {
        let batch: Vec<ShortChannelId> = {
            let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
            let Some(state) = peers.get_mut(&peer) else {
                return;
            };
            if state.query_in_flight || state.to_query.is_empty() {
                return;
            }
            state.query_in_flight = true;
            let n = state.to_query.len().min(QUERY_BATCH);
            state.to_query.drain(..n).collect()
        };
        log_trace!(self.logger, "querying {} channels from {peer}", batch.len());
        self.send(
            peer,
            Message::QueryShortChannelIds(QueryShortChannelIds {
                chain_hash: self.graph.chain_hash(),
                short_channel_ids: EncodedShortChannelIds(batch),
                query_flags: None,
                unknown_tlvs: Default::default(),
            }),
        );
    }
}

/// BOLT 7: "if the short_channel_id's output does NOT correspond to a P2WSH
/// (using bitcoin_key_1 and bitcoin_key_2, as specified in BOLT #3) OR the
/// output is spent: MUST ignore the message." Returns the capacity in sats.
fn check_funding(
    msg: &ChannelAnnouncement,
    res: Result<TxOut, super::UtxoLookupError>,
) -> Result<u64, GossipError> {
    let out = res.map_err(|_| GossipError::FundingOutputMissing)?;
    let expected =
        funding_script_pubkey(msg.bitcoin_key_1.as_bytes(), msg.bitcoin_key_2.as_bytes());
    if out.script_pubkey != expected {
        return Err(GossipError::FundingScriptMismatch);
    }
    Ok(out.value.to_sat())
}

impl MessageSendEventsProvider for P2PGossipSync {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        self.process_pending_lookups();
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl RoutingMessageHandler for P2PGossipSync {
    fn handle_node_announcement(
        &self,
        _their_node_id: Option<PublicKey>,
        msg: &NodeAnnouncement,
    ) -> Result<bool, LightningError> {
        self.process_pending_lookups();
        self.apply_node_announcement(msg)
            .map_err(GossipError::into_lightning_error)
    }

    fn handle_channel_announcement(
        &self,
        _their_node_id: Option<PublicKey>,
        msg: &ChannelAnnouncement,
    ) -> Result<bool, LightningError> {
        self.process_pending_lookups();
        self.apply_channel_announcement(msg)
            .map_err(GossipError::into_lightning_error)
    }

    fn handle_channel_update(
        &self,
        _their_node_id: Option<PublicKey>,
        msg: &ChannelUpdate,
    ) -> Result<bool, LightningError> {
        self.process_pending_lookups();
        self.apply_channel_update(msg)
            .map_err(GossipError::into_lightning_error)
    }

    fn get_next_channel_announcement(
        &self,
        starting_point: u64,
    ) -> Option<(
        ChannelAnnouncement,
        Option<ChannelUpdate>,
        Option<ChannelUpdate>,
    )> {
        let scids: Vec<u64> = {
            let ro = self.graph.read_only();
            ro.data
                .channel_index
                .range(starting_point..)
                .take(64)
                .map(|(k, _)| *k)
                .collect()
        };
        scids.into_iter().find_map(|s| self.rebuild_announcement(s))
    }

    fn get_next_node_announcement(
        &self,
        starting_point: Option<&Point>,
    ) -> Option<NodeAnnouncement> {
        let mut from = starting_point.copied();
        loop {
            let ids: Vec<NodeId> = {
                let ro = self.graph.read_only();
                let range = match &from {
                    Some(p) => ro
                        .data
                        .node_index
                        .range((Bound::Excluded(*p), Bound::Unbounded)),
                    None => ro.data.node_index.range(..),
                };
                range.take(64).map(|(k, _)| *k).collect()
            };
            if ids.is_empty() {
                return None;
            }
            if let Some(a) = ids.iter().find_map(|id| self.rebuild_node_announcement(id)) {
                return Some(a);
            }
            from = ids.last().copied();
        }
    }

    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        init: &Init,
        _inbound: bool,
    ) -> Result<(), ()> {
        if !init.features.supports_gossip_queries() {
            return Ok(());
        }
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(their_node_id, PeerSync::default());
        let chain_hash = self.graph.chain_hash();
        // Ask for gossip from the last two weeks onwards, then for every
        // channel the peer knows (BOLT 7 gossip_queries).
        let first = now_secs().saturating_sub(STALE_CHANNEL_SECS) as u32;
        self.send(
            their_node_id,
            Message::GossipTimestampFilter(GossipTimestampFilter {
                chain_hash,
                first_timestamp: first,
                timestamp_range: u32::MAX,
                unknown_tlvs: Default::default(),
            }),
        );
        self.send(
            their_node_id,
            Message::QueryChannelRange(QueryChannelRange {
                chain_hash,
                first_blocknum: 0,
                number_of_blocks: u32::MAX,
                query_option: None,
                unknown_tlvs: Default::default(),
            }),
        );
        Ok(())
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&their_node_id);
    }

    fn handle_reply_channel_range(
        &self,
        their_node_id: PublicKey,
        msg: ReplyChannelRange,
    ) -> Result<(), LightningError> {
        if msg.chain_hash != self.graph.chain_hash() {
            return Err(GossipError::WrongChain.into_lightning_error());
        }
        let unknown: Vec<ShortChannelId> = {
            let ro = self.graph.read_only();
            let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            msg.short_channel_ids
                .0
                .iter()
                .filter(|s| ro.channel(**s).is_none() && !pending.contains_key(&s.0))
                .copied()
                .collect()
        };
        {
            let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
            let state = peers.entry(their_node_id).or_default();
            let room = MAX_QUEUED_QUERY_IDS.saturating_sub(state.to_query.len());
            state.to_query.extend(unknown.into_iter().take(room));
        }
        self.send_next_query(their_node_id);
        Ok(())
    }

    fn handle_reply_short_channel_ids_end(
        &self,
        their_node_id: PublicKey,
        msg: ReplyShortChannelIdsEnd,
    ) -> Result<(), LightningError> {
        if msg.chain_hash != self.graph.chain_hash() {
            return Err(GossipError::WrongChain.into_lightning_error());
        }
        if let Some(s) = self
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&their_node_id)
        {
            s.query_in_flight = false;
        }
        self.send_next_query(their_node_id);
        Ok(())
    }

    fn handle_query_channel_range(
        &self,
        their_node_id: PublicKey,
        msg: QueryChannelRange,
    ) -> Result<(), LightningError> {
        let chain_hash = self.graph.chain_hash();
        let reply = |first: u32,
                     number: u32,
                     complete: bool,
                     ids: Vec<ShortChannelId>,
                     ts: Option<Vec<(u32, u32)>>| {
            Message::ReplyChannelRange(ReplyChannelRange {
                chain_hash: msg.chain_hash,
                first_blocknum: first,
                number_of_blocks: number,
                sync_complete: complete as u8,
                short_channel_ids: EncodedShortChannelIds(ids),
                timestamps: ts.map(EncodedTimestamps),
                checksums: None,
                unknown_tlvs: Default::default(),
            })
        };
        // BOLT 7: without information about the chain, answer once with
        // `sync_complete` 0.
        if msg.chain_hash != chain_hash {
            self.send(
                their_node_id,
                reply(
                    msg.first_blocknum,
                    msg.number_of_blocks,
                    false,
                    Vec::new(),
                    None,
                ),
            );
            return Ok(());
        }
        let want_ts = msg.query_option.is_some_and(|o| o.0 & 1 != 0);
        let end = msg.end_blocknum();
        let (lo, hi) = ((msg.first_blocknum as u64) << 40, (end as u64) << 40);
        let mut batches: Vec<ReplyBatch> = vec![(Vec::new(), Vec::new())];
        {
            let ro = self.graph.read_only();
            let mut last_block = None;
            for (&scid, &idx) in ro.data.channel_index.range(lo..hi) {
                let c = ro.data.channel(idx);
                if c.proof.is_none() {
                    continue;
                }
                let block = ShortChannelId(scid).block_height();
                let cur = batches.last_mut().expect("non-empty");
                // Start a new reply only between blocks, so replies never overlap.
                if cur.0.len() >= REPLY_BATCH && last_block != Some(block) {
                    batches.push((Vec::new(), Vec::new()));
                }
                last_block = Some(block);
                let cur = batches.last_mut().expect("non-empty");
                cur.0.push(ShortChannelId(scid));
                let ts = |d: usize| c.policies[d].as_ref().map_or(0, |p| p.last_update);
                cur.1.push((ts(0), ts(1)));
            }
        }
        // Reply i covers [start of i, start of i + 1): consecutive, no overlap.
        let n = batches.len();
        let starts: Vec<u32> = batches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if i == 0 {
                    msg.first_blocknum
                } else {
                    b.0[0].block_height()
                }
            })
            .collect();
        for (i, (ids, ts)) in batches.into_iter().enumerate() {
            let next = if i + 1 < n { starts[i + 1] } else { end };
            let ts = want_ts.then_some(ts);
            self.send(
                their_node_id,
                reply(
                    starts[i],
                    next.saturating_sub(starts[i]),
                    i + 1 == n,
                    ids,
                    ts,
                ),
            );
        }
        Ok(())
    }

    fn handle_query_short_channel_ids(
        &self,
        their_node_id: PublicKey,
        msg: QueryShortChannelIds,
    ) -> Result<(), LightningError> {
        let chain_hash = self.graph.chain_hash();
        if msg.chain_hash != chain_hash {
            self.send(
                their_node_id,
                Message::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
                    chain_hash: msg.chain_hash,
                    full_information: 0,
                    unknown_tlvs: Default::default(),
                }),
            );
            return Ok(());
        }
        let mut nodes_sent: HashSet<NodeId> = HashSet::new();
        for scid in &msg.short_channel_ids.0 {
            let Some((ann, u1, u2)) = self.rebuild_announcement(scid.0) else {
                continue;
            };
            let (n1, n2) = (ann.node_id_1, ann.node_id_2);
            self.send(their_node_id, Message::ChannelAnnouncement(ann));
            for u in [u1, u2].into_iter().flatten() {
                self.send(their_node_id, Message::ChannelUpdate(u));
            }
            for n in [n1, n2] {
                if nodes_sent.insert(n) {
                    if let Some(na) = self.rebuild_node_announcement(&n) {
                        self.send(their_node_id, Message::NodeAnnouncement(na));
                    }
                }
            }
        }
        self.send(
            their_node_id,
            Message::ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd {
                chain_hash,
                full_information: 1,
                unknown_tlvs: Default::default(),
            }),
        );
        Ok(())
    }

    fn processing_queue_high(&self) -> bool {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len() >= MAX_PENDING_UTXO_LOOKUPS / 2
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        let mut f = InitFeatures::empty();
        f.set_gossip_queries_optional();
        f
    }

    fn provided_node_features(&self) -> NodeFeatures {
        let mut f = NodeFeatures::empty();
        f.set_gossip_queries_optional();
        f
    }
}
