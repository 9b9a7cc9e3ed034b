//! The manager's persisted form, and reloading it beside its monitors.
//!
//! # Layout
//! `version u8 || min_version u8 || body`, where the body is a sequence of
//! length-prefixed sections (u32 big-endian length, then bytes), so a
//! reader can bound every allocation by what is left of the input:
//!
//! 1. chain: chain hash (32), best block hash (32) and height (u32), the
//!    highest block time seen (u64), the alias counter (u64);
//! 2. peers: count (u32), then per peer its node id (33) and its channels:
//!    count, then `kind u8` (0 pending, 1 funded) and the channel record;
//! 3. outbound payments; 4. claimable payments (parts and purpose).
//!
//! Channels not yet funded are not persisted (BOLT 2: they are forgotten
//! on disconnection anyway). Events are not persisted: on reload the
//! manager announces again every complete claimable payment and every
//! payment of ours that succeeded, so handlers must be idempotent.

use super::events::{PaymentId, PaymentPurpose};
use super::payments::{ClaimablePart, ClaimablePayment, HtlcSource, PendingPayment};
use super::{
    ChannelEntry, ChannelManager, ChannelManagerDeps, Event, FundedEntry, PeerState, PendingEntry,
};
use crate::chain::monitor::{ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep};
use crate::chain::BestBlock;
use crate::channel::establish::PendingV1Channel;
use crate::channel::funded::Channel;
use crate::codec::DecodeError;
use crate::config::UserConfig;
use crate::payment::onion::SharedSecret;
use crate::payment::outbound::RecipientOnionFields;
use crate::routing::{Path, PaymentParameters, RouteHop, RouteParameters};
use crate::types::{ChannelId, PaymentHash, PaymentPreimage, PaymentSecret, Point, ShortChannelId};
use crate::{log_error, log_warn};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::{BlockHash, OutPoint, Transaction};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// 2: parked HTLCs of force-closed channels (appended). Version 1 bytes
/// still load (with none).
const VERSION: u8 = 2;
const MIN_VERSION: u8 = 2;
/// The oldest format `read` still understands.
const OLDEST_READABLE: u8 = 1;

#[derive(Default)]
struct W(Vec<u8>);
impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn bool(&mut self, v: bool) {
        self.0.push(v as u8);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn fixed(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn opt_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            Some(b) => {
                self.u8(1);
                self.bytes(b);
            }
            None => self.u8(0),
        }
    }
    fn opt32(&mut self, b: Option<[u8; 32]>) {
        self.opt_bytes(b.as_ref().map(|b| &b[..]));
    }
}

struct R<'a>(&'a [u8]);
impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::ShortRead);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue),
        }
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?.try_into().map_err(|_| DecodeError::ShortRead)
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.arr()?))
    }
    fn u128(&mut self) -> Result<u128, DecodeError> {
        Ok(u128::from_be_bytes(self.arr()?))
    }
    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn opt_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        Ok(if self.bool()? {
            Some(self.bytes()?)
        } else {
            None
        })
    }
    fn opt32(&mut self) -> Result<Option<[u8; 32]>, DecodeError> {
        match self.opt_bytes()? {
            Some(b) => Ok(Some(b.try_into().map_err(|_| DecodeError::InvalidValue)?)),
            None => Ok(None),
        }
    }
    /// A count of items each at least `min` bytes long, bounded by input.
    fn count(&mut self, min: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min.max(1)) > self.0.len() {
            return Err(DecodeError::ShortRead);
        }
        Ok(n)
    }
    fn pubkey(&mut self) -> Result<PublicKey, DecodeError> {
        PublicKey::from_slice(self.take(33)?).map_err(|_| DecodeError::InvalidValue)
    }
}

fn write_path(w: &mut W, p: &Path) {
    w.u32(p.hops.len() as u32);
    for h in &p.hops {
        w.fixed(&h.pubkey.0);
        w.u64(h.short_channel_id.0);
        w.u64(h.fee_msat);
        w.u32(h.cltv_expiry_delta);
        w.bytes(&h.node_features_le);
        w.bool(h.maybe_announced_channel);
    }
}

fn read_path(r: &mut R) -> Result<Path, DecodeError> {
    let n = r.count(58)?;
    let mut hops = Vec::with_capacity(n);
    for _ in 0..n {
        hops.push(RouteHop {
            pubkey: Point(r.arr()?),
            short_channel_id: ShortChannelId(r.u64()?),
            fee_msat: r.u64()?,
            cltv_expiry_delta: r.u32()?,
            node_features_le: r.bytes()?.to_vec(),
            maybe_announced_channel: r.bool()?,
        });
    }
    Ok(Path { hops })
}

fn write_purpose(w: &mut W, p: &PaymentPurpose) {
    match p {
        PaymentPurpose::Bolt11InvoicePayment {
            payment_preimage,
            payment_secret,
        } => {
            w.u8(0);
            w.opt32(payment_preimage.map(|p| p.0));
            w.fixed(&payment_secret.0);
        }
        PaymentPurpose::SpontaneousPayment(p) => {
            w.u8(1);
            w.fixed(&p.0);
        }
    }
}

fn read_purpose(r: &mut R) -> Result<PaymentPurpose, DecodeError> {
    Ok(match r.u8()? {
        0 => PaymentPurpose::Bolt11InvoicePayment {
            payment_preimage: r.opt32()?.map(PaymentPreimage),
            payment_secret: PaymentSecret(r.arr()?),
        },
        1 => PaymentPurpose::SpontaneousPayment(PaymentPreimage(r.arr()?)),
        _ => return Err(DecodeError::InvalidValue),
    })
}

impl ChannelManager {
    /// The manager's persisted form: chain position, pending and funded
    /// channels, HTLC sources, payments and claimable sets. Persist
    /// it whenever [`get_and_clear_needs_persistence`](Self::get_and_clear_needs_persistence)
    /// says so; the monitors are persisted on their own.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W::default();
        w.u8(VERSION);
        w.u8(MIN_VERSION);
        let best = self.current_best_block();
        w.fixed(self.chain_hash.as_bytes());
        w.fixed(best.block_hash.as_byte_array());
        w.u32(best.height);
        w.u64(self.highest_seen_timestamp.load(Ordering::Acquire));
        w.u64(self.last_scid_alias.load(Ordering::Acquire));
        let peers = self.peers.read().unwrap_or_else(|e| e.into_inner());
        let mut nodes: Vec<&PublicKey> = peers.keys().collect();
        nodes.sort();
        w.u32(nodes.len() as u32);
        for node in nodes {
            let p = super::lock(&peers[node]);
            w.fixed(&node.serialize());
            let chans: Vec<(&ChannelId, &ChannelEntry)> = p
                .channels
                .iter()
                .filter(|(_, e)| matches!(e, ChannelEntry::Pending(_) | ChannelEntry::Funded(_)))
                .collect();
            w.u32(chans.len() as u32);
            for (_, e) in chans {
                match e {
                    ChannelEntry::Pending(p) => {
                        w.u8(0);
                        w.bytes(&p.chan.encode());
                        w.u128(p.user_channel_id);
                        w.opt_bytes(p.funding_tx.as_ref().map(serialize).as_deref());
                        w.bool(p.funding_broadcast);
                        w.opt_bytes(
                            p.conf_height
                                .map(|h| h.to_be_bytes())
                                .as_ref()
                                .map(|b| &b[..]),
                        );
                        w.opt_bytes(p.scid.map(|s| s.0.to_be_bytes()).as_ref().map(|b| &b[..]));
                    }
                    ChannelEntry::Funded(f) => {
                        w.u8(1);
                        w.bytes(&f.chan.encode());
                        let mut srcs: Vec<(&u64, &HtlcSource)> = f.sources.iter().collect();
                        srcs.sort_by_key(|(id, _)| **id);
                        w.u32(srcs.len() as u32);
                        for (id, s) in srcs {
                            w.u64(*id);
                            w.fixed(&s.payment_id.0);
                            w.fixed(&s.session_priv.secret_bytes());
                            write_path(&mut w, &s.path);
                        }
                        let pending_shutdown =
                            f.closing.as_ref().and_then(|c| c.pending_shutdown.as_ref());
                        w.opt_bytes(pending_shutdown.map(|s| s.as_bytes()));
                    }
                    _ => {}
                }
            }
        }
        drop(peers);
        let payments = super::lock(&self.payments);
        let mut ids: Vec<&PaymentId> = payments.keys().collect();
        ids.sort();
        w.u32(ids.len() as u32);
        for id in ids {
            let p = &payments[id];
            w.fixed(&id.0);
            w.fixed(&p.payment_hash.0);
            w.u32(p.parts_in_flight as u32);
            w.u64(p.fee_msat);
            w.opt32(p.preimage.map(|p| p.0));
            w.bool(p.done_ticks.is_some());
            w.fixed(&p.route_params.payment_params.payee_pubkey.0);
            w.u64(p.route_params.final_value_msat);
        }
        drop(payments);
        let claimable = super::lock(&self.claimable);
        let mut hashes: Vec<&PaymentHash> = claimable.keys().collect();
        hashes.sort_by_key(|h| h.0);
        w.u32(hashes.len() as u32);
        for h in hashes {
            let c = &claimable[h];
            w.fixed(&h.0);
            write_purpose(&mut w, &c.purpose);
            w.u64(c.total_msat);
            w.bool(c.announced);
            w.u32(c.parts.len() as u32);
            for part in &c.parts {
                w.fixed(&part.node.serialize());
                w.fixed(&part.channel_id.0);
                w.u64(part.htlc_id);
                w.u64(part.amount_msat);
                w.u64(part.sender_intended_msat);
                w.u32(part.cltv_expiry);
                w.fixed(part.shared_secret.as_bytes());
            }
        }
        drop(claimable);
        // Since version 2: our HTLCs of force-closed channels, waiting for
        // the chain (a preimage, or our commitment deep enough without them).
        let parked = super::lock(&self.closed_htlcs);
        w.u32(parked.len() as u32);
        for p in parked.iter() {
            w.fixed(p.funding_outpoint.txid.as_byte_array());
            w.u32(p.funding_outpoint.vout);
            w.fixed(&p.payment_hash.0);
            w.fixed(&p.source.payment_id.0);
            w.fixed(&p.source.session_priv.secret_bytes());
            write_path(&mut w, &p.source.path);
            w.bool(p.in_holder);
            w.u64(p.holder_number.value());
            match p.confirmed {
                None => w.u8(0),
                Some((txid, height)) => {
                    w.u8(1);
                    w.fixed(txid.as_byte_array());
                    w.u32(height);
                }
            }
        }
        w.0
    }

    /// Reloads a manager from [`encode`](Self::encode)'s bytes. Hand every
    /// monitor to the `chain::Watch` in `deps` first (`watch_channel`) and
    /// pass them here too: a channel whose monitor has seen updates the
    /// manager has not (the manager was saved before them) is
    /// force-closed from the monitor's newer state; a monitor behind its
    /// channel is refused ([`DecodeError::InvalidValue`]: the data is
    /// inconsistent and running would risk funds); a monitor without a
    /// channel is force-closed.
    pub fn read(
        bytes: &[u8],
        deps: ChannelManagerDeps,
        config: UserConfig,
        monitors: Vec<&ChannelMonitor>,
    ) -> Result<ChannelManager, DecodeError> {
        let mut r = R(bytes);
        let version = r.u8()?;
        let min = r.u8()?;
        if min > VERSION || version < OLDEST_READABLE {
            return Err(DecodeError::UnknownVersion);
        }
        let chain_hash: [u8; 32] = r.arr()?;
        let block_hash = BlockHash::from_byte_array(r.arr()?);
        let height = r.u32()?;
        let network = [
            bitcoin::Network::Bitcoin,
            bitcoin::Network::Testnet,
            bitcoin::Network::Testnet4,
            bitcoin::Network::Signet,
            bitcoin::Network::Regtest,
        ]
        .into_iter()
        .find(|n| {
            bitcoin::blockdata::constants::ChainHash::using_genesis_block(*n).to_bytes()
                == chain_hash
        })
        .ok_or(DecodeError::InvalidValue)?;
        let mgr = ChannelManager::new(
            deps,
            config,
            super::ChainParameters {
                network,
                best_block: BestBlock { block_hash, height },
            },
        )
        .map_err(|_| DecodeError::InvalidValue)?;
        mgr.highest_seen_timestamp
            .store(r.u64()?, Ordering::Release);
        mgr.last_scid_alias.store(r.u64()?, Ordering::Release);
        let by_op: HashMap<OutPoint, &ChannelMonitor> = monitors
            .iter()
            .map(|m| (m.funding_outpoint(), *m))
            .collect();
        let mut matched: Vec<OutPoint> = Vec::new();
        let mut stale: Vec<(PublicKey, ChannelId, OutPoint, u64)> = Vec::new();
        let sp = mgr.deps.signer_provider.clone();
        let npeers = r.count(37)?;
        let mut peers = HashMap::new();
        for _ in 0..npeers {
            let node = r.pubkey()?;
            let mut state = PeerState::default();
            let nchan = r.count(5)?;
            for _ in 0..nchan {
                match r.u8()? {
                    0 => {
                        let chan = PendingV1Channel::read(r.bytes()?, &*sp)?;
                        let user_channel_id = r.u128()?;
                        let funding_tx: Option<Transaction> = match r.opt_bytes()? {
                            Some(b) => Some(deserialize(b).map_err(|_| DecodeError::InvalidValue)?),
                            None => None,
                        };
                        let funding_broadcast = r.bool()?;
                        let conf_height = match r.opt_bytes()? {
                            Some(b) => Some(u32::from_be_bytes(
                                b.try_into().map_err(|_| DecodeError::InvalidValue)?,
                            )),
                            None => None,
                        };
                        let scid = match r.opt_bytes()? {
                            Some(b) => Some(ShortChannelId(u64::from_be_bytes(
                                b.try_into().map_err(|_| DecodeError::InvalidValue)?,
                            ))),
                            None => None,
                        };
                        let op = chan.funding_outpoint();
                        if !by_op.contains_key(&op) {
                            log_error!(
                                mgr.logger(),
                                "no monitor for pending channel {}",
                                chan.channel_id()
                            );
                            return Err(DecodeError::InvalidValue);
                        }
                        matched.push(op);
                        let id = chan.channel_id();
                        let is_outbound = chan.is_outbound();
                        let channel_type = chan.channel_type().clone();
                        super::lock(&mgr.by_outpoint).insert(op, (node, id));
                        state.channels.insert(
                            id,
                            ChannelEntry::Pending(Box::new(PendingEntry {
                                chan,
                                user_channel_id,
                                is_outbound,
                                channel_type,
                                funding_tx,
                                funding_broadcast,
                                conf_height,
                                scid,
                                monitor_persisted: true,
                                held: Vec::new(),
                                our_ready: None,
                                awaiting_reestablish: false,
                                created_height: height,
                            })),
                        );
                    }
                    1 => {
                        let mut chan = Channel::read(r.bytes()?, &*sp)?;
                        // Saved while connected maybe: what the peer sent and
                        // never signed is forgotten, as on any disconnection.
                        chan.peer_disconnected();
                        let n = r.count(8 + 32 + 32 + 4)?;
                        let mut sources = HashMap::new();
                        for _ in 0..n {
                            let id = r.u64()?;
                            let payment_id = PaymentId(r.arr()?);
                            let session_priv = SecretKey::from_slice(&r.arr::<32>()?)
                                .map_err(|_| DecodeError::InvalidValue)?;
                            let path = read_path(&mut r)?;
                            sources.insert(
                                id,
                                HtlcSource {
                                    payment_id,
                                    path,
                                    session_priv,
                                },
                            );
                        }
                        let pending_shutdown = r
                            .opt_bytes()?
                            .map(|b| bitcoin::ScriptBuf::from_bytes(b.to_vec()));
                        let op = chan.funding_outpoint();
                        let id = chan.channel_id();
                        let Some(mon) = by_op.get(&op) else {
                            log_error!(mgr.logger(), "no monitor for channel {}", id);
                            return Err(DecodeError::InvalidValue);
                        };
                        matched.push(op);
                        if mon.latest_update_id() < chan.latest_monitor_update_id() {
                            log_error!(
                                mgr.logger(),
                                "monitor of {} is at update {} but the channel at {}: stale monitor",
                                id,
                                mon.latest_update_id(),
                                chan.latest_monitor_update_id()
                            );
                            return Err(DecodeError::InvalidValue);
                        }
                        if mon.latest_update_id() > chan.latest_monitor_update_id()
                            || mon.is_force_closed()
                        {
                            stale.push((node, id, op, mon.latest_update_id()));
                        }
                        super::lock(&mgr.by_outpoint).insert(op, (node, id));
                        {
                            let mut by = super::lock(&mgr.by_scid);
                            for s in super::local_scids(&chan) {
                                by.insert(s, (node, id));
                            }
                        }
                        let is_outbound = chan.is_outbound();
                        let persisted = chan.latest_monitor_update_id();
                        state.channels.insert(
                            id,
                            ChannelEntry::Funded(Box::new(FundedEntry {
                                chan,
                                held: VecDeque::new(),
                                persisted_update_id: persisted,
                                sources,
                                closing: pending_shutdown.map(|s| super::close::ClosingState {
                                    pending_shutdown: Some(s),
                                    negotiation: None,
                                }),
                                quiescence: crate::channel::quiescence::Quiescence::new(
                                    is_outbound,
                                    false,
                                ),
                            })),
                        );
                    }
                    _ => return Err(DecodeError::InvalidValue),
                }
            }
            peers.insert(node, Mutex::new(state));
        }
        let npay = r.count(32 + 32 + 4 + 8 + 1 + 1 + 33 + 8)?;
        let mut payments = HashMap::new();
        let mut replay = Vec::new();
        for _ in 0..npay {
            let id = PaymentId(r.arr()?);
            let hash = PaymentHash(r.arr()?);
            let parts = r.u32()? as usize;
            let fee = r.u64()?;
            let preimage = r.opt32()?.map(PaymentPreimage);
            let done = r.bool()?;
            let payee = Point(r.arr()?);
            let value = r.u64()?;
            if let Some(p) = preimage {
                replay.push(Event::PaymentSent {
                    payment_id: id,
                    payment_preimage: p,
                    payment_hash: hash,
                    fee_paid_msat: fee,
                });
            }
            payments.insert(
                id,
                PendingPayment {
                    payment_hash: hash,
                    recipient: RecipientOnionFields::spontaneous_empty(),
                    keysend: None,
                    route_params: RouteParameters::from_payment_params_and_value(
                        PaymentParameters::from_node_id(payee, 0),
                        value,
                    ),
                    // No retries after a restart: what is in flight settles.
                    retries_left: 0,
                    parts_in_flight: parts,
                    fee_msat: fee,
                    preimage,
                    failed_scids: Vec::new(),
                    to_retry: 0,
                    done_ticks: done.then_some(0),
                    permanent_failure: false,
                },
            );
        }
        let nclaim = r.count(32 + 1 + 32 + 8 + 1 + 4)?;
        let mut claimable = HashMap::new();
        for _ in 0..nclaim {
            let hash = PaymentHash(r.arr()?);
            let purpose = read_purpose(&mut r)?;
            let total_msat = r.u64()?;
            let announced = r.bool()?;
            let nparts = r.count(33 + 32 + 8 + 8 + 8 + 4 + 32)?;
            let mut parts = Vec::with_capacity(nparts);
            for _ in 0..nparts {
                parts.push(ClaimablePart {
                    node: r.pubkey()?,
                    channel_id: ChannelId(r.arr()?),
                    htlc_id: r.u64()?,
                    amount_msat: r.u64()?,
                    sender_intended_msat: r.u64()?,
                    cltv_expiry: r.u32()?,
                    shared_secret: SharedSecret(r.arr()?),
                });
            }
            if announced {
                replay.push(Event::PaymentClaimable {
                    payment_hash: hash,
                    amount_msat: parts.iter().map(|p| p.amount_msat).sum(),
                    purpose: purpose.clone(),
                    via_channel_id: parts
                        .first()
                        .map(|p| p.channel_id)
                        .unwrap_or(ChannelId([0; 32])),
                    claim_deadline: parts
                        .iter()
                        .map(|p| p.cltv_expiry)
                        .min()
                        .unwrap_or(0)
                        .saturating_sub(super::payments::CLTV_CLAIM_BUFFER),
                });
            }
            claimable.insert(
                hash,
                ClaimablePayment {
                    purpose,
                    parts,
                    total_msat,
                    announced,
                    ticks: 0,
                },
            );
        }
        let mut parked = Vec::new();
        if version >= 2 {
            let n = r.count(32 + 4 + 32 + 32 + 32 + 4 + 1 + 8 + 1)?;
            for _ in 0..n {
                let txid = bitcoin::Txid::from_byte_array(r.arr()?);
                let vout = r.u32()?;
                let payment_hash = PaymentHash(r.arr()?);
                let payment_id = PaymentId(r.arr()?);
                let session_priv = SecretKey::from_slice(&r.arr::<32>()?)
                    .map_err(|_| DecodeError::InvalidValue)?;
                let path = read_path(&mut r)?;
                let in_holder = r.bool()?;
                let holder_number = crate::channel::CommitmentNumber::new(r.u64()?)
                    .ok_or(DecodeError::InvalidValue)?;
                let confirmed = match r.u8()? {
                    0 => None,
                    1 => Some((bitcoin::Txid::from_byte_array(r.arr()?), r.u32()?)),
                    _ => return Err(DecodeError::InvalidValue),
                };
                parked.push(super::closed_htlcs::ParkedHtlc {
                    funding_outpoint: bitcoin::OutPoint { txid, vout },
                    payment_hash,
                    source: HtlcSource {
                        payment_id,
                        path,
                        session_priv,
                    },
                    in_holder,
                    holder_number,
                    confirmed,
                });
            }
        }
        if !r.0.is_empty() {
            return Err(DecodeError::InvalidValue);
        }
        *super::lock(&mgr.closed_htlcs) = parked;
        *mgr.peers.write().unwrap_or_else(|e| e.into_inner()) = peers;
        *super::lock(&mgr.payments) = payments;
        *super::lock(&mgr.claimable) = claimable;
        for e in replay {
            mgr.push_event(e);
        }
        // Channels the monitors know better: close them from the monitor.
        for (node, id, op, latest) in stale {
            log_warn!(
                mgr.logger(),
                "channel {} is older than its monitor: force-closing",
                id
            );
            let removed = mgr.with_peer(&node, |p| p.channels.remove(&id)).flatten();
            super::lock(&mgr.by_outpoint).remove(&op);
            let update = ChannelMonitorUpdate {
                update_id: latest + 1,
                updates: vec![ChannelMonitorUpdateStep::ChannelForceClosed {
                    should_broadcast: true,
                }],
            };
            let _ = mgr.deps.chain_monitor.update_channel(op, &update);
            if let Some(ChannelEntry::Funded(f)) = removed {
                mgr.push_event(Event::ChannelClosed {
                    channel_id: id,
                    user_channel_id: f.chan.user_channel_id(),
                    reason: super::ClosureReason::DataLossDetected,
                    counterparty_node_id: node,
                    channel_capacity_sats: f.chan.channel_value_satoshis(),
                });
            }
        }
        for m in monitors {
            let op = m.funding_outpoint();
            if !matched.contains(&op) && !m.is_force_closed() {
                log_warn!(mgr.logger(), "monitor {} has no channel: force-closing", op);
                let update = ChannelMonitorUpdate {
                    update_id: m.latest_update_id() + 1,
                    updates: vec![ChannelMonitorUpdateStep::ChannelForceClosed {
                        should_broadcast: true,
                    }],
                };
                let _ = mgr.deps.chain_monitor.update_channel(op, &update);
            }
        }
        Ok(mgr)
    }
}
