//! NetworkGraph storage (serialization, pruning, closes, ordering,
//! concurrent readers) and the probabilistic scorer (learning, decay,
//! persistence).

use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::{DecodeError, Readable, Writeable};
use lnkit::gossip::{GraphError, NetworkGraph, NodeAnnouncementInfo, NodeId, UnsignedPolicy};
use lnkit::logger::NullLogger;
use lnkit::routing::{
    find_route, CandidateHop, ChannelUsage, PaymentParameters, ProbabilisticScorer,
    RouteParameters, ScoreLookUp, ScoreUpdate, ScoringParameters,
};
use lnkit::types::ShortChannelId;
use std::sync::Arc;
use std::time::Duration;

fn node(i: u8) -> NodeId {
    let secp = Secp256k1::new();
    PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[i; 32]).expect("key")).into()
}

fn upd(scid: u64, direction: u8, timestamp: u32, base: u32) -> UnsignedPolicy {
    UnsignedPolicy {
        short_channel_id: ShortChannelId(scid),
        direction,
        timestamp,
        enabled: true,
        cltv_expiry_delta: 40,
        htlc_minimum_msat: 1,
        htlc_maximum_msat: 100_000_000,
        fee_base_msat: base,
        fee_proportional_millionths: 10,
    }
}

fn sample_graph() -> NetworkGraph {
    let g = NetworkGraph::new(ChainHash::BITCOIN);
    for (scid, a, b) in [(1u64, 1u8, 2u8), (2, 2, 3), (3, 3, 4), (4, 1, 4)] {
        g.add_channel_unchecked(
            ShortChannelId(scid),
            node(a),
            node(b),
            Some(1_000_000),
            5000,
        )
        .unwrap();
        g.update_channel_unchecked(&upd(scid, 0, 5000, 100))
            .unwrap();
        g.update_channel_unchecked(&upd(scid, 1, 5000, 200))
            .unwrap();
    }
    g.update_node_unchecked(
        &node(2),
        NodeAnnouncementInfo {
            timestamp: 7,
            features_le: vec![0, 0, 2],
            rgb: [1, 2, 3],
            alias: [b'x'; 32],
            addresses_raw: vec![1, 127, 0, 0, 1, 0x26, 0x07],
            proof: None,
        },
    )
    .unwrap();
    g
}

#[test]
fn graph_round_trips_through_its_serialization() {
    let g = sample_graph();
    g.channel_closed(ShortChannelId(4), 9000);
    let bytes = g.encode();
    let back = NetworkGraph::read(&mut &bytes[..]).expect("decodes");
    assert_eq!(back.encode(), bytes);
    let ro = back.read_only();
    assert_eq!(ro.channel_count(), 3);
    assert_eq!(ro.node_count(), 4);
    assert!(back.is_recently_closed(ShortChannelId(4)));
    let c = ro.channel(ShortChannelId(2)).unwrap();
    assert_eq!(c.policy(1).unwrap().fee_base_msat, 200);
    assert_eq!(
        ro.node(&node(2))
            .unwrap()
            .announcement
            .as_ref()
            .unwrap()
            .rgb,
        [1, 2, 3]
    );
    // A newer version we cannot read is refused; truncations fail cleanly.
    let mut future = bytes.clone();
    future[1] = 9;
    assert_eq!(
        NetworkGraph::read(&mut &future[..]).err(),
        Some(DecodeError::UnknownVersion)
    );
    for cut in [0, 1, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            NetworkGraph::read(&mut &bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn timestamps_must_increase_and_nodes_need_channels() {
    let g = sample_graph();
    assert_eq!(
        g.update_channel_unchecked(&upd(1, 0, 5000, 1)),
        Err(GraphError::OutdatedUpdate)
    );
    assert_eq!(
        g.update_channel_unchecked(&upd(1, 0, 4999, 1)),
        Err(GraphError::OutdatedUpdate)
    );
    g.update_channel_unchecked(&upd(1, 0, 5001, 1)).unwrap();
    assert_eq!(
        g.read_only()
            .channel(ShortChannelId(1))
            .unwrap()
            .policy(0)
            .unwrap()
            .fee_base_msat,
        1
    );
    assert_eq!(
        g.update_channel_unchecked(&upd(99, 0, 1, 1)),
        Err(GraphError::UnknownChannel(ShortChannelId(99)))
    );
    let info = NodeAnnouncementInfo {
        timestamp: 1,
        features_le: vec![],
        rgb: [0; 3],
        alias: [0; 32],
        addresses_raw: vec![],
        proof: None,
    };
    assert_eq!(
        g.update_node_unchecked(&node(9), info.clone()),
        Err(GraphError::UnknownNode)
    );
    assert_eq!(
        g.update_node_unchecked(&node(2), info),
        Err(GraphError::OutdatedUpdate)
    );
    assert_eq!(
        g.add_channel_unchecked(ShortChannelId(1), node(5), node(6), None, 0),
        Err(GraphError::DuplicateChannel(ShortChannelId(1)))
    );
}

#[test]
fn stale_channels_are_pruned_and_lonely_nodes_go_with_them() {
    let g = sample_graph();
    g.update_channel_unchecked(&upd(3, 0, 2_000_000, 1))
        .unwrap();
    // At 1,300,000 s every update but channel 3's is older than two weeks.
    assert_eq!(g.remove_stale_channels(1_300_000), 3);
    let ro = g.read_only();
    assert_eq!(ro.channel_count(), 1);
    assert!(ro.channel(ShortChannelId(3)).is_some());
    assert!(ro.node(&node(1)).is_none() && ro.node(&node(2)).is_none());
    assert_eq!(ro.node_count(), 2);
}

#[test]
fn closed_channels_leave_routing_immediately() {
    let g = Arc::new(sample_graph());
    let pay = |g: &NetworkGraph| {
        let p = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(node(4), 40),
            1000,
        );
        find_route(
            &node(1),
            &p,
            g,
            None,
            &NullLogger,
            &lnkit::routing::FixedPenaltyScorer(0),
            &[0; 32],
        )
    };
    assert_eq!(
        pay(&g).unwrap().paths[0].hops[0].short_channel_id,
        ShortChannelId(4)
    );
    assert!(g.channel_closed(ShortChannelId(4), 100));
    assert_eq!(
        pay(&g).unwrap().paths[0].hops.len(),
        3,
        "the direct channel is gone"
    );
    // A policy update after a route patched the index in place.
    let dir = (node(2) > node(3)) as u8;
    g.update_channel_unchecked(&UnsignedPolicy {
        enabled: false,
        ..upd(2, dir, 6000, 1)
    })
    .unwrap();
    assert!(pay(&g).is_err(), "the only path now has a disabled channel");
}

#[test]
fn readers_see_consistent_views_while_updates_come_in() {
    let g = Arc::new(sample_graph());
    let writer = {
        let g = g.clone();
        std::thread::spawn(move || {
            for t in 0..2000u32 {
                g.update_channel_unchecked(&upd(2, 0, 10_000 + t, t))
                    .unwrap();
            }
        })
    };
    let mut last = 0;
    for _ in 0..2000 {
        let ro = g.read_only();
        let p = ro.channel(ShortChannelId(2)).unwrap().policy(0).unwrap();
        // Within a view, base fee and timestamp always belong to one update.
        if p.last_update >= 10_000 {
            assert_eq!(p.fee_base_msat, p.last_update - 10_000);
        }
        assert!(p.last_update >= last);
        last = p.last_update;
    }
    writer.join().unwrap();
    assert_eq!(
        g.read_only()
            .channel(ShortChannelId(2))
            .unwrap()
            .policy(0)
            .unwrap()
            .fee_base_msat,
        1999
    );
}

fn usage(amount: u64) -> ChannelUsage {
    ChannelUsage {
        amount_msat: amount,
        inflight_htlc_msat: 0,
        capacity_msat: 1_000_000_000,
    }
}

#[test]
fn scorer_learns_from_failure_and_success_then_decays_and_persists() {
    let g = Arc::new(sample_graph());
    let mut scorer = ProbabilisticScorer::new(ScoringParameters::default(), g.clone());
    let a = node(1);
    // A 90,000 sat payment failed at the first channel of its path.
    let p = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(node(3), 40),
        90_000_000,
    );
    let route = find_route(
        &a,
        &p,
        &g,
        None,
        &NullLogger,
        &lnkit::routing::FixedPenaltyScorer(0),
        &[0; 32],
    )
    .unwrap();
    let path = &route.paths[0];
    let first = path.hops[0].short_channel_id;
    let b = path.hops[0].pubkey;
    let hop = CandidateHop {
        short_channel_id: first,
        source: &a,
        target: &b,
    };
    let fresh = scorer.channel_penalty_msat(&hop, usage(400_000_000));
    let t0 = Duration::from_secs(1_000_000);
    scorer.payment_path_failed(path, first, t0);
    let (lo, hi) = scorer.estimated_liquidity_range(first, &a, &b).unwrap();
    assert_eq!(lo, 0);
    assert!(hi < path.first_hop_amount_msat());
    let after_fail = scorer.channel_penalty_msat(&hop, usage(400_000_000));
    assert!(after_fail > fresh + 1_000_000, "{after_fail} vs {fresh}");
    // The reverse direction is now known to hold at least what failed.
    let back = CandidateHop {
        short_channel_id: first,
        source: &b,
        target: &a,
    };
    assert!(scorer.channel_penalty_msat(&back, usage(500_000_000)) < fresh);

    // Persistence keeps what was learned.
    let bytes = scorer.encode();
    let mut again =
        ProbabilisticScorer::read_from(&mut &bytes[..], ScoringParameters::default(), g.clone())
            .unwrap();
    assert_eq!(
        again.channel_penalty_msat(&hop, usage(400_000_000)),
        after_fail
    );

    // Decay: after many half-lives the bounds are back to unknown.
    again.time_passed(t0 + Duration::from_secs(6 * 3600));
    let half = again.channel_penalty_msat(&hop, usage(400_000_000));
    assert!(half < after_fail);
    again.time_passed(t0 + Duration::from_secs(40 * 6 * 3600));
    assert_eq!(again.channel_penalty_msat(&hop, usage(400_000_000)), fresh);

    // Success: the second hop had at least the amount.
    let mut s2 = ProbabilisticScorer::new(ScoringParameters::default(), g.clone());
    s2.probe_successful(path, t0);
    let (lo, _) = s2
        .estimated_liquidity_range(path.hops[1].short_channel_id, &b, &path.hops[1].pubkey)
        .unwrap();
    assert!(lo >= path.final_value_msat());
}

#[test]
fn default_router_routes_and_counts_in_flight_htlcs() {
    use lnkit::routing::{DefaultRouter, InFlightHtlcs, Router};
    use std::sync::RwLock;
    let g = Arc::new(sample_graph());
    let scorer = Arc::new(RwLock::new(ProbabilisticScorer::new(
        ScoringParameters::default(),
        g.clone(),
    )));
    let router = DefaultRouter::new(g.clone(), Arc::new(NullLogger), scorer, [3; 32]);
    let p = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(node(4), 40),
        50_000_000,
    );
    let direct = router
        .find_route(&node(1), &p, None, InFlightHtlcs::new())
        .unwrap();
    assert_eq!(direct.paths[0].hops[0].short_channel_id, ShortChannelId(4));
    // Nearly the whole direct channel already in flight: its penalty makes
    // the router prefer the other way round.
    let mut inflight = InFlightHtlcs::new();
    inflight.add(4, &node(1), &node(4), 960_000_000);
    assert_eq!(inflight.used_msat(4, &node(1), &node(4)), 960_000_000);
    let around = router.find_route(&node(1), &p, None, inflight).unwrap();
    assert_ne!(around.paths[0].hops[0].short_channel_id, ShortChannelId(4));
}
