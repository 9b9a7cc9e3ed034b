//! P2PGossipSync with real signed gossip (keys made in the test): a valid
//! set is accepted; each invalid kind is rejected with a typed error and
//! leaves the graph as it was; asynchronous UTXO answers; gossip queries
//! between two handlers; a recorded stream of mainnet-shaped gossip.

use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{Message as SecpMessage, PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, ScriptBuf, TxOut};
use lnkit::codec::Writeable;
use lnkit::events::{MessageSendEvent, MessageSendEventsProvider};
use lnkit::gossip::{
    funding_script_pubkey, GossipError, NetworkGraph, P2PGossipSync, UtxoFuture, UtxoLookup,
    UtxoLookupError, UtxoResult,
};
use lnkit::logger::NullLogger;
use lnkit::msgs::{
    ChannelAnnouncement, ChannelFeatures, ChannelUpdate, ErrorAction, Init, InitFeatures, Message,
    NodeAddresses, NodeAnnouncement, NodeFeatures, RoutingMessageHandler, SocketAddress,
};
use lnkit::routing::{find_route, FixedPenaltyScorer, PaymentParameters, RouteParameters};
use lnkit::types::{Point, ShortChannelId, WireSignature};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

fn sk(i: u32) -> SecretKey {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&(i + 1).to_be_bytes());
    b[31] = 1;
    SecretKey::from_slice(&b).expect("valid key")
}

fn pk(k: &SecretKey) -> Point {
    PublicKey::from_secret_key(&Secp256k1::new(), k).into()
}

fn sign(hash: [u8; 32], k: &SecretKey) -> WireSignature {
    Secp256k1::new()
        .sign_ecdsa(&SecpMessage::from_digest(hash), k)
        .into()
}

const ZERO_SIG: WireSignature = WireSignature([0; 64]);

/// A channel between nodes `a` and `b` (node keys `sk(a)`, funding keys `sk(1000 + a)`).
fn chan_ann(scid: u64, a: u32, b: u32, chain: ChainHash) -> ChannelAnnouncement {
    let (mut na, mut nb) = (sk(a), sk(b));
    let (mut fa, mut fb) = (sk(1000 + a), sk(1000 + b));
    if pk(&na) > pk(&nb) {
        std::mem::swap(&mut na, &mut nb);
        std::mem::swap(&mut fa, &mut fb);
    }
    let mut m = ChannelAnnouncement {
        node_signature_1: ZERO_SIG,
        node_signature_2: ZERO_SIG,
        bitcoin_signature_1: ZERO_SIG,
        bitcoin_signature_2: ZERO_SIG,
        features: ChannelFeatures::empty(),
        chain_hash: chain,
        short_channel_id: ShortChannelId(scid),
        node_id_1: pk(&na),
        node_id_2: pk(&nb),
        bitcoin_key_1: pk(&fa),
        bitcoin_key_2: pk(&fb),
        excess_data: Vec::new(),
    };
    let h = m.signed_hash();
    m.node_signature_1 = sign(h, &na);
    m.node_signature_2 = sign(h, &nb);
    m.bitcoin_signature_1 = sign(h, &fa);
    m.bitcoin_signature_2 = sign(h, &fb);
    m
}

/// An update of `scid` from node `from` towards `to`.
fn chan_upd(scid: u64, from: u32, to: u32, ts: u32, base: u32) -> ChannelUpdate {
    let dir = (pk(&sk(from)) > pk(&sk(to))) as u8;
    let mut u = ChannelUpdate {
        signature: ZERO_SIG,
        chain_hash: ChainHash::BITCOIN,
        short_channel_id: ShortChannelId(scid),
        timestamp: ts,
        message_flags: 1,
        channel_flags: dir,
        cltv_expiry_delta: 40,
        htlc_minimum_msat: 1000,
        fee_base_msat: base,
        fee_proportional_millionths: 100,
        htlc_maximum_msat: 500_000_000,
        excess_data: Vec::new(),
    };
    u.signature = sign(u.signed_hash(), &sk(from));
    u
}

fn resign_upd(mut u: ChannelUpdate, from: u32) -> ChannelUpdate {
    u.signature = sign(u.signed_hash(), &sk(from));
    u
}

fn node_ann(n: u32, ts: u32) -> NodeAnnouncement {
    let mut features = NodeFeatures::empty();
    features.set_basic_mpp_optional();
    let mut m = NodeAnnouncement {
        signature: ZERO_SIG,
        features,
        timestamp: ts,
        node_id: pk(&sk(n)),
        rgb_color: [n as u8, 2, 3],
        alias: [b'n'; 32],
        addresses: NodeAddresses(vec![SocketAddress::TcpIpV4 {
            addr: [10, 0, 0, n as u8],
            port: 9735,
        }]),
        excess_data: Vec::new(),
    };
    m.signature = sign(m.signed_hash(), &sk(n));
    m
}

fn funding_out(a: &ChannelAnnouncement, sats: u64) -> TxOut {
    TxOut {
        value: Amount::from_sat(sats),
        script_pubkey: funding_script_pubkey(
            a.bitcoin_key_1.as_bytes(),
            a.bitcoin_key_2.as_bytes(),
        ),
    }
}

#[derive(Default)]
struct Utxos {
    outs: Mutex<HashMap<u64, Result<TxOut, UtxoLookupError>>>,
    futures: Mutex<HashMap<u64, UtxoFuture>>,
}
impl UtxoLookup for Utxos {
    fn get_utxo(&self, _chain: &ChainHash, scid: u64) -> UtxoResult {
        if let Some(f) = self.futures.lock().unwrap().get(&scid) {
            return UtxoResult::Async(f.clone());
        }
        UtxoResult::Sync(
            self.outs
                .lock()
                .unwrap()
                .get(&scid)
                .cloned()
                .unwrap_or(Err(UtxoLookupError::UnknownTx)),
        )
    }
}

fn setup() -> (Arc<NetworkGraph>, Arc<Utxos>, P2PGossipSync) {
    let graph = Arc::new(NetworkGraph::new(ChainHash::BITCOIN));
    let utxos = Arc::new(Utxos::default());
    let sync = P2PGossipSync::new(graph.clone(), Some(utxos.clone()), Arc::new(NullLogger));
    (graph, utxos, sync)
}

/// Nodes 1–2–3 with channels 10 (1–2) and 20 (2–3), all updates and node
/// announcements.
fn valid_set(
    utxos: &Utxos,
) -> (
    Vec<ChannelAnnouncement>,
    Vec<ChannelUpdate>,
    Vec<NodeAnnouncement>,
) {
    let t = now() - 100;
    let anns = vec![
        chan_ann(10, 1, 2, ChainHash::BITCOIN),
        chan_ann(20, 2, 3, ChainHash::BITCOIN),
    ];
    for a in &anns {
        utxos
            .outs
            .lock()
            .unwrap()
            .insert(a.short_channel_id.0, Ok(funding_out(a, 2_000_000)));
    }
    let upds = vec![
        chan_upd(10, 1, 2, t, 1),
        chan_upd(10, 2, 1, t, 2),
        chan_upd(20, 2, 3, t, 3),
        chan_upd(20, 3, 2, t, 4),
    ];
    let nodes = vec![node_ann(1, t), node_ann(2, t), node_ann(3, t)];
    (anns, upds, nodes)
}

fn apply_all(
    sync: &P2PGossipSync,
    set: &(
        Vec<ChannelAnnouncement>,
        Vec<ChannelUpdate>,
        Vec<NodeAnnouncement>,
    ),
) {
    for a in &set.0 {
        assert_eq!(sync.handle_channel_announcement(None, a), Ok(true));
    }
    for u in &set.1 {
        assert_eq!(sync.handle_channel_update(None, u), Ok(true));
    }
    for n in &set.2 {
        assert_eq!(sync.handle_node_announcement(None, n), Ok(true));
    }
}

#[test]
fn valid_announcement_set_is_accepted_and_routable() {
    let (graph, utxos, sync) = setup();
    let set = valid_set(&utxos);
    apply_all(&sync, &set);
    {
        let ro = graph.read_only();
        assert_eq!(ro.channel_count(), 2);
        assert_eq!(ro.node_count(), 3);
        let c = ro.channel(ShortChannelId(10)).unwrap();
        assert_eq!(c.capacity_sats, Some(2_000_000));
        assert!(c.policy(0).is_some() && c.policy(1).is_some());
        let n = ro.node(&pk(&sk(2))).unwrap().announcement.as_ref().unwrap();
        assert_eq!(n.rgb, [2, 2, 3]);
    }
    let p = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(pk(&sk(3)), 40),
        10_000,
    );
    let r = find_route(
        &pk(&sk(1)),
        &p,
        &graph,
        None,
        &NullLogger,
        &FixedPenaltyScorer(0),
        &[0; 32],
    )
    .unwrap();
    // Node 2 charges 3 msat base + 100 ppm of 10,000 (1 msat).
    assert_eq!(r.get_total_fees(), 4);
    // Re-created messages are byte-identical to what was received.
    let (ann, u1, u2) = sync.get_next_channel_announcement(0).unwrap();
    assert_eq!(ann, set.0[0]);
    let mut ups: Vec<ChannelUpdate> = [u1, u2].into_iter().flatten().collect();
    ups.sort_by_key(|u| u.channel_flags);
    let mut expect: Vec<ChannelUpdate> = set.1[..2].to_vec();
    expect.sort_by_key(|u| u.channel_flags);
    assert_eq!(ups, expect);
    let first_node = sync.get_next_node_announcement(None).unwrap();
    assert!(set.2.contains(&first_node));
}

/// Runs `f` and checks the graph's serialized bytes did not change.
fn unchanged<T>(graph: &NetworkGraph, f: impl FnOnce() -> T) -> T {
    let before = graph.encode();
    let out = f();
    assert_eq!(graph.encode(), before, "graph changed");
    out
}

#[test]
fn bolt7_chan_ann_sig_bad_signatures_are_rejected() {
    let (graph, utxos, sync) = setup();
    let set = valid_set(&utxos);
    apply_all(&sync, &set);
    let mut a = chan_ann(30, 1, 3, ChainHash::BITCOIN);
    utxos
        .outs
        .lock()
        .unwrap()
        .insert(30, Ok(funding_out(&a, 1_000_000)));
    a.bitcoin_signature_2 = a.bitcoin_signature_1;
    let err = unchanged(&graph, || sync.apply_channel_announcement(&a));
    assert_eq!(
        err,
        Err(GossipError::InvalidSignature("bitcoin_signature_2"))
    );
    // Through the handler: a warning for the peer.
    let le = sync.handle_channel_announcement(None, &a).unwrap_err();
    assert!(matches!(le.action, ErrorAction::SendWarningMessage { .. }));
    assert!(le.err.starts_with("bolt7-invalid-signature"));
    // Signed content altered after signing.
    let mut a = chan_ann(30, 1, 3, ChainHash::BITCOIN);
    a.excess_data = vec![1];
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_announcement(&a)),
        Err(GossipError::InvalidSignature("node_signature_1"))
    );
}

#[test]
fn bolt7_unknown_chain_is_ignored() {
    let (graph, utxos, sync) = setup();
    apply_all(&sync, &valid_set(&utxos));
    let a = chan_ann(30, 1, 3, ChainHash::TESTNET3);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_announcement(&a)),
        Err(GossipError::WrongChain)
    );
    let mut u = chan_upd(10, 1, 2, now(), 9);
    u.chain_hash = ChainHash::TESTNET3;
    let u = resign_upd(u, 1);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&u)),
        Err(GossipError::WrongChain)
    );
}

#[test]
fn bolt7_node_ann_unknown_node_is_ignored() {
    let (graph, utxos, sync) = setup();
    apply_all(&sync, &valid_set(&utxos));
    let n = node_ann(7, now());
    assert_eq!(
        unchanged(&graph, || sync.apply_node_announcement(&n)),
        Err(GossipError::UnknownNode)
    );
    let le = sync.handle_node_announcement(None, &n).unwrap_err();
    assert!(matches!(le.action, ErrorAction::IgnoreAndLog(_)));
}

#[test]
fn bolt7_update_timestamp_older_or_equal_is_ignored() {
    let (graph, utxos, sync) = setup();
    let set = valid_set(&utxos);
    apply_all(&sync, &set);
    let t = set.1[0].timestamp;
    let older = chan_upd(10, 1, 2, t - 1, 77);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&older)),
        Err(GossipError::OutdatedTimestamp)
    );
    let same = chan_upd(10, 1, 2, t, 1);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&same)),
        Err(GossipError::Duplicate)
    );
    let older_node = node_ann(2, t - 1);
    assert_eq!(
        unchanged(&graph, || sync.apply_node_announcement(&older_node)),
        Err(GossipError::OutdatedTimestamp)
    );
    // Newer is applied.
    assert_eq!(
        sync.apply_channel_update(&chan_upd(10, 1, 2, t + 1, 77)),
        Ok(true)
    );
    let dir = (pk(&sk(1)) > pk(&sk(2))) as u8;
    assert_eq!(
        graph
            .read_only()
            .channel(ShortChannelId(10))
            .unwrap()
            .policy(dir)
            .unwrap()
            .fee_base_msat,
        77
    );
}

#[test]
fn bolt7_update_sig_and_unknown_channel_and_limits() {
    let (graph, utxos, sync) = setup();
    apply_all(&sync, &valid_set(&utxos));
    // Signed by the other end of the channel.
    let u = resign_upd(chan_upd(10, 1, 2, now(), 5), 2);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&u)),
        Err(GossipError::InvalidSignature("channel_update signature"))
    );
    let u = chan_upd(99, 1, 2, now(), 5);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&u)),
        Err(GossipError::UnknownChannel(ShortChannelId(99)))
    );
    let mut u = chan_upd(10, 1, 2, now(), 5);
    u.htlc_maximum_msat = 3_000_000_000; // above the 2,000,000 sat capacity
    let u = resign_upd(u, 1);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&u)),
        Err(GossipError::InvalidHtlcLimits)
    );
    let mut u = chan_upd(10, 1, 2, now(), 5);
    u.message_flags = 0;
    let u = resign_upd(u, 1);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&u)),
        Err(GossipError::MustBeOneNotSet)
    );
    let u = chan_upd(10, 1, 2, now() + 10 * 86_400, 5);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&u)),
        Err(GossipError::FutureTimestamp)
    );
    let u = chan_upd(10, 1, 2, now() - 15 * 86_400, 5);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_update(&u)),
        Err(GossipError::StaleTimestamp)
    );
    // dont_forward: applied, not relayed.
    let mut u = chan_upd(10, 1, 2, now(), 5);
    u.message_flags = 3;
    let u = resign_upd(u, 1);
    assert_eq!(sync.apply_channel_update(&u), Ok(false));
}

#[test]
fn bolt7_chan_ann_funding_missing_or_wrong_script_is_ignored() {
    let (graph, utxos, sync) = setup();
    apply_all(&sync, &valid_set(&utxos));
    let a = chan_ann(30, 1, 3, ChainHash::BITCOIN);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_announcement(&a)),
        Err(GossipError::FundingOutputMissing)
    );
    utxos.outs.lock().unwrap().insert(
        30,
        Ok(TxOut {
            value: Amount::from_sat(5),
            script_pubkey: ScriptBuf::new(),
        }),
    );
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_announcement(&a)),
        Err(GossipError::FundingScriptMismatch)
    );
    // The keys of another channel: still the wrong script.
    let other = chan_ann(31, 2, 3, ChainHash::BITCOIN);
    utxos
        .outs
        .lock()
        .unwrap()
        .insert(30, Ok(funding_out(&other, 5)));
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_announcement(&a)),
        Err(GossipError::FundingScriptMismatch)
    );
    utxos
        .outs
        .lock()
        .unwrap()
        .insert(30, Ok(funding_out(&a, 5)));
    assert_eq!(sync.apply_channel_announcement(&a), Ok(true));
    assert_eq!(
        sync.apply_channel_announcement(&a),
        Err(GossipError::Duplicate)
    );
}

#[test]
fn bolt7_chan_ann_unknown_features_and_bad_order_are_rejected() {
    let (graph, _utxos, sync) = setup();
    let mut a = chan_ann(30, 1, 3, ChainHash::BITCOIN);
    a.features = ChannelFeatures::from_le_bytes(vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_announcement(&a)),
        Err(GossipError::UnknownRequiredFeatures)
    );
    let mut a = chan_ann(30, 1, 3, ChainHash::BITCOIN);
    std::mem::swap(&mut a.node_id_1, &mut a.node_id_2);
    assert_eq!(
        unchanged(&graph, || sync.apply_channel_announcement(&a)),
        Err(GossipError::NodeIdsNotOrdered)
    );
}

#[test]
fn async_utxo_answer_is_applied_later_and_broadcast() {
    let (graph, utxos, sync) = setup();
    let a = chan_ann(40, 4, 5, ChainHash::BITCOIN);
    let fut = UtxoFuture::new();
    utxos.futures.lock().unwrap().insert(40, fut.clone());
    assert_eq!(
        sync.apply_channel_announcement(&a),
        Err(GossipError::Pending)
    );
    let u = chan_upd(40, 4, 5, now(), 6);
    assert_eq!(sync.apply_channel_update(&u), Err(GossipError::Pending));
    assert_eq!(graph.read_only().channel_count(), 0);
    assert!(sync.get_and_clear_pending_msg_events().is_empty());
    fut.resolve(Ok(funding_out(&a, 3_000_000)));
    let events = sync.get_and_clear_pending_msg_events();
    assert_eq!(events.len(), 1);
    match &events[0] {
        MessageSendEvent::BroadcastChannelAnnouncement { msg, update_msg } => {
            assert_eq!(msg, &a);
            assert_eq!(update_msg.as_ref(), Some(&u));
        }
        e => panic!("unexpected {e:?}"),
    }
    let ro = graph.read_only();
    let c = ro.channel(ShortChannelId(40)).unwrap();
    assert_eq!(c.capacity_sats, Some(3_000_000));
    assert_eq!(c.policies.iter().flatten().count(), 1);

    // A failed asynchronous answer leaves the graph untouched.
    drop(ro);
    let b = chan_ann(41, 4, 6, ChainHash::BITCOIN);
    let fut = UtxoFuture::new();
    utxos.futures.lock().unwrap().insert(41, fut.clone());
    assert_eq!(
        sync.apply_channel_announcement(&b),
        Err(GossipError::Pending)
    );
    fut.resolve(Err(UtxoLookupError::UnknownTx));
    unchanged(&graph, || {
        assert!(sync.get_and_clear_pending_msg_events().is_empty())
    });
    assert!(graph.read_only().channel(ShortChannelId(41)).is_none());
}

fn gossip_init() -> Init {
    let mut features = InitFeatures::empty();
    features.set_gossip_queries_optional();
    Init {
        global_features: InitFeatures::empty(),
        features,
        networks: None,
        remote_addr: None,
        unknown_tlvs: Default::default(),
    }
}

/// Delivers every queued message between two handlers until both are quiet.
fn pump(a: (&P2PGossipSync, PublicKey), b: (&P2PGossipSync, PublicKey)) -> usize {
    let mut delivered = 0;
    loop {
        let mut moved = false;
        for (from, to, to_id_of_from) in [(a.0, b.0, a.1), (b.0, a.0, b.1)] {
            for ev in from.get_and_clear_pending_msg_events() {
                let MessageSendEvent::SendMessage { msg, .. } = ev else {
                    continue;
                };
                moved = true;
                delivered += 1;
                let peer = to_id_of_from;
                match msg {
                    Message::QueryChannelRange(m) => {
                        to.handle_query_channel_range(peer, m).unwrap()
                    }
                    Message::ReplyChannelRange(m) => {
                        to.handle_reply_channel_range(peer, m).unwrap()
                    }
                    Message::QueryShortChannelIds(m) => {
                        to.handle_query_short_channel_ids(peer, m).unwrap()
                    }
                    Message::ReplyShortChannelIdsEnd(m) => {
                        to.handle_reply_short_channel_ids_end(peer, m).unwrap()
                    }
                    Message::ChannelAnnouncement(m) => {
                        assert_eq!(to.handle_channel_announcement(Some(peer), &m), Ok(true))
                    }
                    Message::ChannelUpdate(m) => {
                        assert_eq!(to.handle_channel_update(Some(peer), &m), Ok(true))
                    }
                    Message::NodeAnnouncement(m) => {
                        assert_eq!(to.handle_node_announcement(Some(peer), &m), Ok(true))
                    }
                    Message::GossipTimestampFilter(_) => {}
                    other => panic!("unexpected {}", other.name()),
                }
            }
        }
        if !moved {
            return delivered;
        }
    }
}

/// A mainnet-shaped stream: `n` nodes, each new node opening 1–3 channels
/// to earlier ones, with updates both ways and node announcements.
fn stream(n: u32, utxos: &Utxos) -> Vec<Message> {
    let t = now() - 1000;
    let mut out = Vec::new();
    let mut scid_n = 0u64;
    let mut seed = 0x1234_5678u64;
    let mut rnd = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    for node in 2..=n {
        let k = 1 + rnd(3) as u32;
        let mut peers: Vec<u32> = (0..k).map(|_| 1 + rnd(node as u64 - 1) as u32).collect();
        peers.sort();
        peers.dedup();
        for peer in peers {
            scid_n += 1;
            let scid = ShortChannelId::new(700_000 + scid_n as u32 / 3, scid_n as u32, 0)
                .unwrap()
                .0;
            let a = chan_ann(scid, peer, node, ChainHash::BITCOIN);
            utxos
                .outs
                .lock()
                .unwrap()
                .insert(scid, Ok(funding_out(&a, 500_000 + rnd(5_000_000))));
            out.push(Message::ChannelAnnouncement(a));
            out.push(Message::ChannelUpdate(chan_upd(
                scid,
                peer,
                node,
                t + rnd(500) as u32,
                rnd(2000) as u32,
            )));
            out.push(Message::ChannelUpdate(chan_upd(
                scid,
                node,
                peer,
                t + rnd(500) as u32,
                rnd(2000) as u32,
            )));
        }
    }
    for node in 1..=n {
        out.push(Message::NodeAnnouncement(node_ann(node, t + node)));
    }
    out
}

#[test]
fn recorded_stream_builds_the_graph_and_gossip_queries_sync_it_to_a_new_peer() {
    let (graph_a, utxos_a, sync_a) = setup();
    let msgs = stream(40, &utxos_a);
    let mut channels = 0;
    for m in &msgs {
        let r = match m {
            Message::ChannelAnnouncement(a) => {
                channels += 1;
                sync_a.handle_channel_announcement(None, a)
            }
            Message::ChannelUpdate(u) => sync_a.handle_channel_update(None, u),
            Message::NodeAnnouncement(n) => sync_a.handle_node_announcement(None, n),
            _ => unreachable!(),
        };
        assert_eq!(r, Ok(true));
    }
    assert_eq!(graph_a.read_only().channel_count(), channels);
    assert_eq!(graph_a.read_only().node_count(), 40);

    // A new peer B with an empty graph (and the same chain view) syncs from A.
    let graph_b = Arc::new(NetworkGraph::new(ChainHash::BITCOIN));
    let sync_b = P2PGossipSync::new(graph_b.clone(), Some(utxos_a.clone()), Arc::new(NullLogger));
    let (id_a, id_b) = (
        PublicKey::from_secret_key(&Secp256k1::new(), &sk(500)),
        PublicKey::from_secret_key(&Secp256k1::new(), &sk(501)),
    );
    sync_b.peer_connected(id_a, &gossip_init(), false).unwrap();
    let delivered = pump((&sync_a, id_b), (&sync_b, id_a));
    assert!(delivered > channels * 3);
    assert_eq!(graph_b.read_only().channel_count(), channels);
    assert_eq!(graph_b.read_only().node_count(), 40);
    // Same content (added_at stamps aside): every channel's policies match.
    let (ra, rb) = (graph_a.read_only(), graph_b.read_only());
    for c in ra.channels() {
        let d = rb.channel(c.short_channel_id).unwrap();
        assert_eq!(c.policies, d.policies);
        assert_eq!(c.capacity_sats, d.capacity_sats);
    }
}

#[test]
fn query_channel_range_answers_the_range_with_timestamps() {
    use lnkit::codec::BigSize;
    use lnkit::msgs::QueryChannelRange;
    let (_graph, utxos, sync) = setup();
    let set = valid_set(&utxos);
    apply_all(&sync, &set);
    let peer = PublicKey::from_secret_key(&Secp256k1::new(), &sk(600));
    let q = |chain, first, n, opt: Option<u64>| QueryChannelRange {
        chain_hash: chain,
        first_blocknum: first,
        number_of_blocks: n,
        query_option: opt.map(BigSize),
        unknown_tlvs: Default::default(),
    };
    // scids 10 and 20 are in block 0.
    sync.handle_query_channel_range(peer, q(ChainHash::BITCOIN, 0, 100, Some(1)))
        .unwrap();
    let ev = sync.get_and_clear_pending_msg_events();
    assert_eq!(ev.len(), 1);
    let MessageSendEvent::SendMessage {
        msg: Message::ReplyChannelRange(r),
        ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(
        (r.first_blocknum, r.number_of_blocks, r.sync_complete),
        (0, 100, 1)
    );
    assert_eq!(
        r.short_channel_ids.0,
        vec![ShortChannelId(10), ShortChannelId(20)]
    );
    let ts = r.timestamps.as_ref().expect("timestamps were asked for");
    assert_eq!(ts.0.len(), 2);
    assert!(ts
        .0
        .iter()
        .all(|(a, b)| *a == set.1[0].timestamp && *b == set.1[0].timestamp));
    // A range without channels, and another chain.
    sync.handle_query_channel_range(peer, q(ChainHash::BITCOIN, 5, 10, None))
        .unwrap();
    sync.handle_query_channel_range(peer, q(ChainHash::TESTNET3, 0, 10, None))
        .unwrap();
    let ev = sync.get_and_clear_pending_msg_events();
    let replies: Vec<_> = ev
        .iter()
        .map(|e| match e {
            MessageSendEvent::SendMessage {
                msg: Message::ReplyChannelRange(r),
                ..
            } => r.clone(),
            e => panic!("{e:?}"),
        })
        .collect();
    assert!(replies[0].short_channel_ids.0.is_empty() && replies[0].sync_complete == 1);
    assert_eq!(replies[0].timestamps, None);
    assert_eq!(
        replies[1].sync_complete, 0,
        "no information about that chain"
    );
}

/// Two `PeerManager`s over an in-memory pipe, each with a `P2PGossipSync`:
/// the new node learns the whole graph through gossip_queries.
#[test]
fn two_peer_managers_sync_a_graph_with_gossip_queries() {
    use lnkit::peer::pipe::PipeDescriptor;
    use lnkit::peer::{
        ErroringMessageHandler, IgnoringMessageHandler, InMemoryNodeKey, MessageHandler,
        PeerManager, PeerManagerConfig,
    };
    use std::sync::atomic::{AtomicU64, Ordering};

    fn manager(seed: u8, sync: Arc<P2PGossipSync>) -> PeerManager<PipeDescriptor> {
        let handlers = MessageHandler {
            chan_handler: Arc::new(ErroringMessageHandler::new()),
            route_handler: sync,
            onion_message_handler: Arc::new(IgnoringMessageHandler),
            custom_message_handler: Arc::new(IgnoringMessageHandler),
        };
        let counter = AtomicU64::new(seed as u64 * 1_000_000);
        let entropy = move || {
            let mut b = [9u8; 32];
            b[..8].copy_from_slice(&counter.fetch_add(1, Ordering::Relaxed).to_le_bytes());
            b
        };
        let key = Arc::new(InMemoryNodeKey::new(
            SecretKey::from_slice(&[seed; 32]).unwrap(),
        ));
        // Large gossip allowance: the whole initial sync is queued at once here.
        let config = PeerManagerConfig {
            drop_gossip_bytes: 64 << 20,
            max_outbound_bytes: 128 << 20,
            ..Default::default()
        };
        PeerManager::with_config(
            handlers,
            key,
            Arc::new(entropy),
            Arc::new(NullLogger),
            config,
        )
    }

    let (graph_a, utxos, sync_a) = setup();
    let msgs = stream(30, &utxos);
    for m in &msgs {
        let ok = match m {
            Message::ChannelAnnouncement(a) => sync_a.handle_channel_announcement(None, a),
            Message::ChannelUpdate(u) => sync_a.handle_channel_update(None, u),
            Message::NodeAnnouncement(n) => sync_a.handle_node_announcement(None, n),
            _ => unreachable!(),
        };
        assert_eq!(ok, Ok(true));
    }
    let graph_b = Arc::new(NetworkGraph::new(ChainHash::BITCOIN));
    let sync_b = Arc::new(P2PGossipSync::new(
        graph_b.clone(),
        Some(utxos.clone()),
        Arc::new(NullLogger),
    ));
    let pm_a = manager(11, Arc::new(sync_a));
    let pm_b = manager(12, sync_b);

    let (da, db) = (PipeDescriptor::new(9001), PipeDescriptor::new(9002));
    let act1 = pm_b
        .new_outbound_connection(pm_a.node_id(), db.clone(), None)
        .unwrap();
    pm_a.new_inbound_connection(da.clone(), None).unwrap();
    pm_a.read_event(&mut da.clone(), &act1).unwrap();
    for _ in 0..200 {
        pm_a.process_events();
        pm_b.process_events();
        let mut moved = false;
        for (from, to_pm, to_d) in [(&da, &pm_b, &db), (&db, &pm_a, &da)] {
            let data = from.take();
            if !data.is_empty() {
                moved = true;
                for chunk in data.chunks(8192) {
                    to_pm.read_event(&mut to_d.clone(), chunk).unwrap();
                }
            }
        }
        if !moved {
            break;
        }
    }
    assert!(!da.is_disconnected() && !db.is_disconnected());
    let (ra, rb) = (graph_a.read_only(), graph_b.read_only());
    assert!(ra.channel_count() > 30);
    assert_eq!(rb.channel_count(), ra.channel_count());
    assert_eq!(rb.node_count(), 30);
    for c in ra.channels() {
        assert_eq!(rb.channel(c.short_channel_id).unwrap().policies, c.policies);
    }
}
