//! Blocks in: funding confirmations (`channel_ready` at the negotiated
//! depth, the short channel id), reorgs, and expiring HTLCs.

use super::{ChannelEntry, ChannelManager, ClosureReason, PeerState};
use crate::chain::{BestBlock, Confirm, Listen};
use crate::types::{ChannelId, ShortChannelId};
use crate::{log_info, log_warn};
use bitcoin::block::Header;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{BlockHash, Transaction, Txid};
use std::sync::atomic::Ordering;

/// Blocks before one of our HTLCs expires at which we fail the channel so
/// the HTLC can be timed out on chain (BOLT 2 "deadline for offered
/// HTLCs": the grace after expiry is ours to choose; we act before it).
const OUTBOUND_HTLC_GRACE: u32 = 3;
/// BOLT 2's funding timeout for the fundee.
const FUNDING_TIMEOUT_BLOCKS: u32 = 2016;

impl ChannelManager {
    fn for_each_peer(&self, mut f: impl FnMut(&mut PeerState, PublicKey)) {
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        for (node, p) in peers.iter() {
            let mut peer = super::lock(p);
            f(&mut peer, *node);
        }
    }

    /// Sends our `channel_ready` for pending channel `id` once its funding
    /// has `confirmations` (0 when unconfirmed) and reached the
    /// negotiated `minimum_depth` (BOLT 2), then promotes the channel if the
    /// peer's came too. The message is held until the monitor is persisted
    /// ([`send_pending`](Self::send_pending)); a 0-conf channel is checked
    /// (with its current depth, 0 if unconfirmed) when its monitor is
    /// persisted.
    pub(crate) fn check_pending_depth(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        id: ChannelId,
        confirmations: u32,
    ) {
        let Some(ChannelEntry::Pending(p)) = peer.channels.get_mut(&id) else {
            return;
        };
        match p.chan.check_funding_depth(confirmations) {
            Ok(Some(ready)) => {
                p.our_ready = Some(ready.clone());
                Self::send_pending(peer, node, id, ready.into());
                self.changed();
                self.maybe_promote(peer, node, id);
            }
            Ok(None) => {}
            Err(e) => log_warn!(self.logger(), "channel {}: {}", id, e),
        }
    }

    fn on_new_height(&self, height: u32) {
        self.for_each_peer(|peer, node| {
            let ids: Vec<ChannelId> = peer.channels.keys().copied().collect();
            for id in ids {
                match peer.channels.get_mut(&id) {
                    Some(ChannelEntry::Pending(p))
                        if !p.is_outbound
                            && p.conf_height.is_none()
                            && height >= p.created_height + FUNDING_TIMEOUT_BLOCKS =>
                    {
                        // BOLT 2: the fundee "SHOULD forget the channel if it
                        // does not see the correct funding transaction after a
                        // timeout of 2016 blocks."
                        self.fail_channel(
                            peer,
                            node,
                            id,
                            ClosureReason::FundingAborted,
                            false,
                            true,
                        );
                    }
                    Some(ChannelEntry::Pending(p)) => {
                        let Some(conf) = p.conf_height else { continue };
                        let confs = height.saturating_sub(conf) + 1;
                        self.check_pending_depth(peer, node, id, confs);
                    }
                    Some(ChannelEntry::Funded(f))
                        if f.chan.has_expiring_outbound(height, OUTBOUND_HTLC_GRACE) =>
                    {
                        log_warn!(
                            self.logger(),
                            "channel {}: an offered HTLC is about to expire, force-closing",
                            id
                        );
                        self.fail_channel(
                            peer,
                            node,
                            id,
                            ClosureReason::ProcessingError {
                                err: "bolt2-offered-htlc-deadline".into(),
                            },
                            true,
                            true,
                        );
                    }
                    _ => {}
                }
            }
            self.after_channel_change(peer, node);
        });
        self.fail_expiring_claimables();
        self.fail_parked_htlcs(height);
    }
}

impl Confirm for ChannelManager {
    fn transactions_confirmed(
        &self,
        _header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
    ) {
        let txids: Vec<(usize, Txid)> = txdata
            .iter()
            .map(|(i, tx)| (*i, tx.compute_txid()))
            .collect();
        self.for_each_peer(|peer, node| {
            for (id, entry) in peer.channels.iter_mut() {
                // A 0-conf channel in use learns its real short channel id
                // here; with `option_scid_alias` it stays unindexed (known
                // by alias only).
                if let ChannelEntry::Funded(f) = entry {
                    let op = f.chan.funding_outpoint();
                    if f.chan.short_channel_id().is_some() {
                        continue;
                    }
                    let Some((index, _)) = txids.iter().find(|(_, t)| *t == op.txid) else {
                        continue;
                    };
                    if let Some(scid) = ShortChannelId::new(height, *index as u32, op.vout as u16) {
                        f.chan.set_short_channel_id(scid);
                        let mut by = super::lock(&self.by_scid);
                        for s in super::local_scids(&f.chan) {
                            by.insert(s, (node, *id));
                        }
                        log_info!(
                            self.logger(),
                            "funding {} of 0-conf channel {} confirmed at {}",
                            op.txid,
                            id,
                            height
                        );
                    }
                    continue;
                }
                if let ChannelEntry::Pending(p) = entry {
                    let op = p.chan.funding_outpoint();
                    if let Some((index, _)) = txids.iter().find(|(_, t)| *t == op.txid) {
                        p.conf_height = Some(height);
                        p.scid = ShortChannelId::new(height, *index as u32, op.vout as u16);
                        log_info!(
                            self.logger(),
                            "funding {} confirmed at {} ({:?})",
                            op.txid,
                            height,
                            p.scid
                        );
                    }
                }
            }
        });
        self.changed();
    }

    fn transaction_unconfirmed(&self, txid: &Txid) {
        self.parked_unconfirmed(None, Some(*txid));
        self.for_each_peer(|peer, _| {
            for entry in peer.channels.values_mut() {
                if let ChannelEntry::Pending(p) = entry {
                    if p.chan.funding_outpoint().txid == *txid {
                        p.conf_height = None;
                        p.scid = None;
                    }
                }
            }
        });
    }

    fn best_block_updated(&self, header: &Header, height: u32) {
        *self.best_block.write().unwrap_or_else(|e| e.into_inner()) = BestBlock {
            block_hash: header.block_hash(),
            height,
        };
        self.highest_seen_timestamp
            .fetch_max(header.time as u64, Ordering::AcqRel);
        self.changed();
        self.on_new_height(height);
    }

    fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
        let mut out = Vec::new();
        self.for_each_peer(|peer, _| {
            for entry in peer.channels.values() {
                if let ChannelEntry::Pending(p) = entry {
                    if let Some(h) = p.conf_height {
                        out.push((p.chan.funding_outpoint().txid, h, None));
                    }
                }
            }
        });
        out
    }
}

impl Listen for ChannelManager {
    fn filtered_block_connected(
        &self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
    ) {
        self.transactions_confirmed(header, txdata, height);
        self.best_block_updated(header, height);
    }

    fn block_disconnected(&self, header: &Header, height: u32) {
        *self.best_block.write().unwrap_or_else(|e| e.into_inner()) = BestBlock {
            block_hash: header.prev_blockhash,
            height: height.saturating_sub(1),
        };
        self.parked_unconfirmed(Some(height), None);
        self.for_each_peer(|peer, _| {
            for entry in peer.channels.values_mut() {
                if let ChannelEntry::Pending(p) = entry {
                    if p.conf_height.is_some_and(|h| h >= height) {
                        p.conf_height = None;
                        p.scid = None;
                    }
                }
            }
        });
        self.changed();
    }
}
