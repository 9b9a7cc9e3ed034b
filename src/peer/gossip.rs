//! Gossip in the `PeerManager`: relaying what the routing handler accepts
//! (honouring each peer's `gossip_timestamp_filter` and dropping gossip for
//! slow peers first), the initial sync, and our own `node_announcement`.

use super::descriptor::SocketDescriptor;
use super::manager::{enqueue, lock, InitialSync, Peer, PeerHolder, PeerManager};
use crate::log_warn;
use crate::msgs::*;
use crate::types::Point;
use bitcoin::secp256k1::PublicKey;
use std::sync::atomic::Ordering;

/// A gossip message to relay, with the timestamp the peers' filters see.
pub(super) enum Relay {
    ChannelAnnouncement(Box<(ChannelAnnouncement, Option<ChannelUpdate>)>),
    ChannelUpdate(ChannelUpdate),
    NodeAnnouncement(NodeAnnouncement),
}

/// Whether `peer` wants gossip with `timestamp` relayed.
pub(super) fn wants_gossip<D>(peer: &Peer<D>, timestamp: Option<u32>, our_queries: bool) -> bool {
    match (&peer.gossip_filter, timestamp) {
        (Some(f), Some(ts)) => f.accepts(ts),
        (Some(_), None) => true,
        // BOLT 7: "if the `gossip_queries` feature is negotiated: MUST NOT
        // relay any gossip messages it did not generate itself, unless
        // explicitly requested."
        (None, _) => {
            let theirs = peer
                .their_features
                .as_ref()
                .is_some_and(|f| f.supports_gossip_queries());
            !(theirs && our_queries)
        }
    }
}

impl<D: SocketDescriptor> PeerManager<D> {
    /// Queues the next part of the initial gossip sync while the peer has room.
    pub(super) fn continue_initial_sync(&self, p: &mut Peer<D>) {
        let rh = &*self.handlers.route_handler;
        while p.pending_out() < self.config.drop_gossip_bytes {
            match p.sync {
                InitialSync::Channels(start) => match rh.get_next_channel_announcement(start) {
                    Some((ann, u1, u2)) => {
                        let stamps = [
                            u1.as_ref().map(|u| u.timestamp),
                            u2.as_ref().map(|u| u.timestamp),
                        ];
                        let any = stamps
                            .iter()
                            .flatten()
                            .any(|&t| wants_gossip(p, Some(t), false));
                        if any || p.gossip_filter.is_none() {
                            enqueue(p, &Message::ChannelAnnouncement(ann.clone()));
                            for u in [u1, u2].into_iter().flatten() {
                                if wants_gossip(p, Some(u.timestamp), false)
                                    || p.gossip_filter.is_none()
                                {
                                    enqueue(p, &Message::ChannelUpdate(u));
                                }
                            }
                        }
                        p.sync = InitialSync::Channels(ann.short_channel_id.0.saturating_add(1));
                    }
                    None => p.sync = InitialSync::Nodes(None),
                },
                InitialSync::Nodes(start) => match rh.get_next_node_announcement(start.as_ref()) {
                    Some(n) => {
                        if wants_gossip(p, Some(n.timestamp), false) || p.gossip_filter.is_none() {
                            enqueue(p, &Message::NodeAnnouncement(n.clone()));
                        }
                        p.sync = InitialSync::Nodes(Some(n.node_id));
                    }
                    None => p.sync = InitialSync::Done,
                },
                InitialSync::NotRequested | InitialSync::Done => break,
            }
        }
    }

    pub(super) fn our_gossip_queries(&self) -> bool {
        self.handlers
            .route_handler
            .provided_init_features(self.our_node_id)
            .supports_gossip_queries()
    }

    /// Sends gossip to every ready peer except `from`, honouring their
    /// `gossip_timestamp_filter` and skipping peers with a backlog.
    pub(super) fn relay_gossip(&self, relay: &Relay, from: Option<&PublicKey>) {
        let ours = self.our_gossip_queries();
        let own = from.is_none();
        let all: Vec<PeerHolder<D>> = lock(&self.peers).values().cloned().collect();
        for h in all {
            let mut guard = lock(&h);
            let p = &mut *guard;
            if !p.is_ready() || p.their_node_id.as_ref() == from {
                continue;
            }
            // A slow peer loses gossip first (its channel messages never).
            if p.pending_out() >= self.config.drop_gossip_bytes {
                continue;
            }
            let sent = match relay {
                Relay::ChannelAnnouncement(b) => {
                    let (a, u) = &**b;
                    let ts = u.as_ref().map(|u| u.timestamp);
                    if own || wants_gossip(p, ts, ours) {
                        enqueue(p, &Message::ChannelAnnouncement(a.clone()));
                        if let Some(u) = u {
                            enqueue(p, &Message::ChannelUpdate(u.clone()));
                        }
                        true
                    } else {
                        false
                    }
                }
                Relay::ChannelUpdate(u) => {
                    (own || wants_gossip(p, Some(u.timestamp), ours))
                        && enqueue(p, &Message::ChannelUpdate(u.clone()))
                }
                Relay::NodeAnnouncement(n) => {
                    (own || wants_gossip(p, Some(n.timestamp), ours))
                        && enqueue(p, &Message::NodeAnnouncement(n.clone()))
                }
            };
            if sent {
                self.flush(p);
            }
        }
    }

    /// Signs and broadcasts our `node_announcement` with the given colour,
    /// alias and addresses, and the union of the handlers' node features.
    /// BOLT 7 wants it sent only once we have a public channel: the routing
    /// handler decides whether to keep it; peers receive it regardless.
    pub fn broadcast_node_announcement(
        &self,
        rgb: [u8; 3],
        alias: [u8; 32],
        mut addresses: Vec<SocketAddress>,
    ) {
        // BOLT 7: "MUST NOT include more than one `address descriptor` of the same type"
        // is for DNS only; we keep the order but cap the count to fit.
        addresses.truncate(100);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        // BOLT 7: a newer announcement needs a greater timestamp.
        let mut prev = self.last_node_announcement.load(Ordering::Acquire);
        let timestamp = loop {
            let ts = now.max(prev.saturating_add(1));
            match self.last_node_announcement.compare_exchange(
                prev,
                ts,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break ts,
                Err(p) => prev = p,
            }
        };
        let h = &self.handlers;
        let features = h
            .chan_handler
            .provided_node_features()
            .or(&h.route_handler.provided_node_features())
            .or(&h.onion_message_handler.provided_node_features())
            .or(&h.custom_message_handler.provided_node_features());
        let mut msg = NodeAnnouncement {
            // Replaced by the real signature below; the signed part excludes it.
            signature: crate::types::WireSignature([0; 64]),
            features,
            timestamp,
            node_id: Point::from(self.our_node_id),
            rgb_color: rgb,
            alias,
            addresses: NodeAddresses(addresses),
            excess_data: Vec::new(),
        };
        match self.node_key.sign_gossip_hash(&msg.signed_hash()) {
            Ok(sig) => msg.signature = sig.into(),
            Err(()) => {
                log_warn!(self.logger, "node key refused to sign; not announcing");
                return;
            }
        }
        let _ = h.route_handler.handle_node_announcement(None, &msg);
        self.relay_gossip(&Relay::NodeAnnouncement(msg), None);
    }
}
