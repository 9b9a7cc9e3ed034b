//! find_route on small hand-checked graphs: exact fees and CLTVs, limits,
//! MPP splits, hints, first hops, no-route cases, and a property test that
//! every returned route is valid against the graph.

use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::gossip::{NetworkGraph, NodeId, UnsignedPolicy};
use lnkit::logger::NullLogger;
use lnkit::routing::{
    find_route, FirstHop, FixedPenaltyScorer, PaymentParameters, Route, RouteError, RouteHint,
    RouteHintHop, RouteParameters, RoutingFees,
};
use lnkit::types::ShortChannelId;
use proptest::prelude::*;

fn node(i: u8) -> NodeId {
    let secp = Secp256k1::new();
    let sk = SecretKey::from_slice(&[i.max(1); 32]).expect("valid key");
    PublicKey::from_secret_key(&secp, &sk).into()
}

#[derive(Clone, Copy, Debug)]
struct Pol {
    base: u32,
    ppm: u32,
    cltv: u16,
    min: u64,
    max: u64,
    enabled: bool,
}

fn pol(base: u32, ppm: u32, cltv: u16) -> Pol {
    Pol {
        base,
        ppm,
        cltv,
        min: 1,
        max: 10_000_000_000,
        enabled: true,
    }
}

struct G {
    graph: NetworkGraph,
}

impl G {
    fn new() -> Self {
        G {
            graph: NetworkGraph::new(ChainHash::BITCOIN),
        }
    }
    /// A channel `a`–`b` with `a → b` policy `ab` and `b → a` policy `ba`.
    fn chan(
        &self,
        scid: u64,
        a: NodeId,
        b: NodeId,
        cap_sat: u64,
        ab: Option<Pol>,
        ba: Option<Pol>,
    ) {
        let scid = ShortChannelId(scid);
        self.graph
            .add_channel_unchecked(scid, a, b, Some(cap_sat), 1000)
            .expect("add");
        for (src, dst, p) in [(a, b, ab), (b, a, ba)] {
            if let Some(p) = p {
                self.graph
                    .update_channel_unchecked(&UnsignedPolicy {
                        short_channel_id: scid,
                        direction: (src > dst) as u8,
                        timestamp: 1000,
                        enabled: p.enabled,
                        cltv_expiry_delta: p.cltv,
                        htlc_minimum_msat: p.min,
                        htlc_maximum_msat: p.max,
                        fee_base_msat: p.base,
                        fee_proportional_millionths: p.ppm,
                    })
                    .expect("update");
            }
        }
    }
    fn route(&self, payer: NodeId, params: &RouteParameters) -> Result<Route, RouteError> {
        find_route(
            &payer,
            params,
            &self.graph,
            None,
            &NullLogger,
            &FixedPenaltyScorer(0),
            &[0; 32],
        )
    }
}

fn params(payee: NodeId, amount: u64) -> RouteParameters {
    RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(payee, 40),
        amount,
    )
}

fn mpp_params(payee: NodeId, amount: u64) -> RouteParameters {
    // basic_mpp optional (bit 17) in the invoice features.
    let pp = PaymentParameters::from_node_id(payee, 40).with_features_le(vec![0, 0, 0b10]);
    RouteParameters::from_payment_params_and_value(pp, amount)
}

/// A — B — C — D, hand-computed: C charges 500 + 1000 ppm on 1,000,000 =
/// 1,500; B charges 2000 + 500 ppm on 1,001,500 = 2,500 (500.75 floored).
#[test]
fn line_graph_fees_and_cltv_are_exact() {
    let (a, b, c, d) = (node(1), node(2), node(3), node(4));
    let g = G::new();
    g.chan(1, a, b, 10_000_000, Some(pol(1000, 100, 10)), None);
    g.chan(2, b, c, 10_000_000, Some(pol(2000, 500, 20)), None);
    g.chan(3, c, d, 10_000_000, Some(pol(500, 1000, 30)), None);
    let route = g.route(a, &params(d, 1_000_000)).expect("route");
    assert_eq!(route.paths.len(), 1);
    let hops = &route.paths[0].hops;
    let got: Vec<(NodeId, u64, u64, u32)> = hops
        .iter()
        .map(|h| {
            (
                h.pubkey,
                h.short_channel_id.0,
                h.fee_msat,
                h.cltv_expiry_delta,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(b, 1, 2_500, 20), (c, 2, 1_500, 30), (d, 3, 1_000_000, 40)]
    );
    assert_eq!(route.get_total_fees(), 4_000);
    assert_eq!(route.paths[0].first_hop_amount_msat(), 1_004_000);
    assert_eq!(route.paths[0].total_cltv_expiry_delta(), 90);
    assert_eq!(route.get_total_amount(), 1_000_000);
}

/// Diamond A→{B,C}→D: the cheaper middle node wins; limits push to the other.
fn diamond(b_pol: Pol, c_pol: Pol) -> (G, [NodeId; 4]) {
    let (a, b, c, d) = (node(1), node(2), node(3), node(4));
    let g = G::new();
    g.chan(1, a, b, 10_000_000, Some(pol(0, 0, 10)), None);
    g.chan(2, a, c, 10_000_000, Some(pol(0, 0, 10)), None);
    g.chan(3, b, d, 10_000_000, Some(b_pol), None);
    g.chan(4, c, d, 10_000_000, Some(c_pol), None);
    (g, [a, b, c, d])
}

#[test]
fn cheaper_path_is_chosen() {
    let (g, [a, b, _, d]) = diamond(pol(100, 10, 40), pol(1000, 10, 40));
    let r = g.route(a, &params(d, 500_000)).expect("route");
    assert_eq!(r.paths[0].hops[0].pubkey, b);
    assert_eq!(r.get_total_fees(), 105);
}

#[test]
fn disabled_channel_is_avoided() {
    let (g, [a, _, c, d]) = diamond(
        Pol {
            enabled: false,
            ..pol(100, 10, 40)
        },
        pol(1000, 10, 40),
    );
    let r = g.route(a, &params(d, 500_000)).expect("route");
    assert_eq!(r.paths[0].hops[0].pubkey, c);
    assert_eq!(r.get_total_fees(), 1005);
}

#[test]
fn htlc_maximum_and_minimum_are_honoured() {
    let (g, [a, _, c, d]) = diamond(
        Pol {
            max: 400_000,
            ..pol(100, 10, 40)
        },
        pol(1000, 10, 40),
    );
    let r = g.route(a, &params(d, 500_000)).expect("route");
    assert_eq!(
        r.paths[0].hops[0].pubkey, c,
        "cheap path's htlc_maximum is below the amount"
    );
    let (g, [a, _, c, d]) = diamond(
        Pol {
            min: 600_000,
            ..pol(100, 10, 40)
        },
        pol(1000, 10, 40),
    );
    let r = g.route(a, &params(d, 500_000)).expect("route");
    assert_eq!(
        r.paths[0].hops[0].pubkey, c,
        "cheap path's htlc_minimum is above the amount"
    );
}

#[test]
fn cltv_limit_is_honoured() {
    let (g, [a, _, c, d]) = diamond(pol(100, 10, 1000), pol(1000, 10, 40));
    let r = g.route(a, &params(d, 500_000)).expect("route");
    assert_eq!(
        r.paths[0].hops[0].pubkey, c,
        "40 + 1000 exceeds the 1008 CLTV limit"
    );
    assert!(r.paths[0].total_cltv_expiry_delta() <= 1008);
    let (g, [a, _, _, d]) = diamond(pol(100, 10, 1000), pol(1000, 10, 980));
    assert_eq!(g.route(a, &params(d, 500_000)), Err(RouteError::NoRoute));
}

#[test]
fn fee_limit_is_honoured() {
    let (g, [a, _, _, d]) = diamond(pol(100, 10, 40), pol(1000, 10, 40));
    let mut p = params(d, 500_000);
    p.max_total_routing_fee_msat = Some(104);
    assert_eq!(g.route(a, &p), Err(RouteError::NoRoute));
    p.max_total_routing_fee_msat = Some(105);
    assert_eq!(g.route(a, &p).expect("route").get_total_fees(), 105);
}

#[test]
fn channel_capacity_saturation_is_a_preference() {
    // 1,000 sat channels; 400,000 msat is more than a quarter of 1,000,000
    // msat: the router still finds the path rather than failing.
    let (a, b, c) = (node(1), node(2), node(3));
    let g = G::new();
    g.chan(1, a, b, 1_000, Some(pol(0, 0, 10)), None);
    g.chan(2, b, c, 1_000, Some(pol(10, 0, 10)), None);
    let r = g.route(a, &params(c, 400_000)).expect("route");
    assert_eq!(r.get_total_fees(), 10);
    // More than the capacity: impossible.
    assert_eq!(g.route(a, &params(c, 1_000_001)), Err(RouteError::NoRoute));
}

#[test]
fn mpp_splits_when_one_path_cannot_carry_the_amount() {
    let (g, [a, _, _, d]) = diamond(
        Pol {
            max: 600_000,
            ..pol(100, 10, 40)
        },
        Pol {
            max: 600_000,
            ..pol(200, 10, 40)
        },
    );
    let r = g.route(a, &mpp_params(d, 1_000_000)).expect("mpp route");
    assert_eq!(r.paths.len(), 2);
    assert_eq!(r.get_total_amount(), 1_000_000);
    for p in &r.paths {
        assert!(p.final_value_msat() <= 600_000);
    }
    // Without the payee's basic_mpp support there is no single path.
    assert_eq!(g.route(a, &params(d, 1_000_000)), Err(RouteError::NoRoute));
    // A path-count limit of one forbids the split.
    let mut p = mpp_params(d, 1_000_000);
    p.payment_params.max_path_count = 1;
    assert_eq!(g.route(a, &p), Err(RouteError::NoRoute));
    // More than both paths together: not enough liquidity.
    assert!(g.route(a, &mpp_params(d, 1_300_000)).is_err());
}

#[test]
fn no_route_when_disconnected_or_one_way() {
    let (a, b, c, x) = (node(1), node(2), node(3), node(9));
    let g = G::new();
    g.chan(1, a, b, 1_000_000, Some(pol(0, 0, 10)), None);
    g.chan(2, c, x, 1_000_000, Some(pol(0, 0, 10)), Some(pol(0, 0, 10)));
    assert_eq!(g.route(a, &params(x, 1000)), Err(RouteError::NoRoute));
    // b → a has no policy: b cannot pay a.
    assert_eq!(g.route(b, &params(a, 1000)), Err(RouteError::NoRoute));
    assert_eq!(g.route(a, &params(a, 1000)), Err(RouteError::PayeeIsPayer));
    assert_eq!(g.route(a, &params(b, 0)), Err(RouteError::ZeroAmount));
}

#[test]
fn route_hints_reach_a_private_payee() {
    let (a, b, c, p) = (node(1), node(2), node(3), node(7));
    let g = G::new();
    g.chan(1, a, b, 10_000_000, Some(pol(0, 0, 10)), None);
    g.chan(2, b, c, 10_000_000, Some(pol(1000, 0, 20)), None);
    let hint = RouteHint(vec![RouteHintHop {
        src_node_id: c,
        short_channel_id: ShortChannelId(99),
        fees: RoutingFees {
            base_msat: 10,
            proportional_millionths: 1000,
        },
        cltv_expiry_delta: 50,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }]);
    let pp = PaymentParameters::from_node_id(p, 40).with_route_hints(vec![hint]);
    let rp = RouteParameters::from_payment_params_and_value(pp, 100_000);
    let r = g.route(a, &rp).expect("route via hint");
    let hops = &r.paths[0].hops;
    // c charges 10 + 100 on 100,000; b charges 1000 on 100,110.
    let got: Vec<_> = hops
        .iter()
        .map(|h| (h.short_channel_id.0, h.fee_msat, h.cltv_expiry_delta))
        .collect();
    assert_eq!(got, vec![(1, 1000, 20), (2, 110, 50), (99, 100_000, 40)]);
    assert!(!hops[2].maybe_announced_channel);
}

#[test]
fn first_hops_replace_the_payers_graph_channels() {
    let (a, b, c) = (node(1), node(2), node(3));
    let g = G::new();
    g.chan(2, b, c, 10_000_000, Some(pol(5, 0, 20)), None);
    // `a` is not in the graph at all; its live channel to b is a first hop.
    let fh = [FirstHop {
        short_channel_id: ShortChannelId(77),
        counterparty_node_id: b,
        next_outbound_htlc_limit_msat: 50_000,
        next_outbound_htlc_minimum_msat: 1,
    }];
    let run = |amt| {
        find_route(
            &a,
            &params(c, amt),
            &g.graph,
            Some(&fh),
            &NullLogger,
            &FixedPenaltyScorer(0),
            &[0; 32],
        )
    };
    let r = run(40_000).expect("route");
    assert_eq!(r.paths[0].hops[0].short_channel_id.0, 77);
    assert_eq!(r.get_total_fees(), 5);
    assert_eq!(
        run(49_996),
        Err(RouteError::NoRoute),
        "first hop limit of 50,000 < 49,996 + 5"
    );
    // Without first hops and outside the graph, the payer cannot pay.
    assert_eq!(g.route(a, &params(c, 1000)), Err(RouteError::NoFirstHop));
}

#[test]
fn previously_failed_channels_are_avoided() {
    let (g, [a, _, c, d]) = diamond(pol(100, 10, 40), pol(1000, 10, 40));
    let mut p = params(d, 500_000);
    p.payment_params
        .previously_failed_channels
        .push(ShortChannelId(3));
    assert_eq!(g.route(a, &p).expect("route").paths[0].hops[0].pubkey, c);
}

// ---- property: any returned route is valid against the graph --------------

/// (node a, node b, capacity sat, a → b policy, b → a policy)
type ChanSpec = (u8, u8, u64, Option<Pol>, Option<Pol>);

#[derive(Clone, Debug)]
struct Spec {
    n: u8,
    chans: Vec<ChanSpec>,
    payer: u8,
    payee: u8,
    amount: u64,
    mpp: bool,
}

fn pol_strategy() -> impl Strategy<Value = Option<Pol>> {
    prop::option::weighted(
        0.85,
        (
            0u32..2000,
            0u32..5000,
            1u16..200,
            1u64..5000,
            10_000u64..5_000_000,
            prop::bool::weighted(0.9),
        )
            .prop_map(|(base, ppm, cltv, min, max, enabled)| Pol {
                base,
                ppm,
                cltv,
                min,
                max,
                enabled,
            }),
    )
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (3u8..12).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::vec(
                (0..n, 0..n, 5u64..5_000, pol_strategy(), pol_strategy()),
                1..40,
            ),
            0..n,
            0..n,
            1_000u64..3_000_000,
            any::<bool>(),
        )
            .prop_map(|(n, chans, payer, payee, amount, mpp)| Spec {
                n,
                chans,
                payer,
                payee,
                amount,
                mpp,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn every_route_is_valid_against_the_graph(spec in spec_strategy()) {
        let ids: Vec<NodeId> = (0..spec.n).map(|i| node(i + 1)).collect();
        let g = G::new();
        for (i, (x, y, cap, p1, p2)) in spec.chans.iter().enumerate() {
            if x != y {
                g.chan(i as u64 + 1, ids[*x as usize], ids[*y as usize], *cap, *p1, *p2);
            }
        }
        let payer = ids[spec.payer as usize];
        let payee = ids[spec.payee as usize];
        let p = if spec.mpp { mpp_params(payee, spec.amount) } else { params(payee, spec.amount) };
        let Ok(route) = g.route(payer, &p) else { return Ok(()) };
        prop_assert!(payer != payee);
        prop_assert_eq!(route.get_total_amount(), spec.amount);
        prop_assert!(route.get_total_fees() <= p.max_total_routing_fee_msat.unwrap());
        let max_paths = if spec.mpp { 10 } else { 1 };
        prop_assert!(route.paths.len() <= max_paths);
        let ro = g.graph.read_only();
        let mut used: std::collections::HashMap<(u64, bool), u64> = Default::default();
        for path in &route.paths {
            prop_assert!(path.total_cltv_expiry_delta() <= 1008);
            prop_assert_eq!(path.hops.last().unwrap().pubkey, payee);
            prop_assert_eq!(path.hops.last().unwrap().cltv_expiry_delta, 40);
            let mut prev = payer;
            let mut amount = path.first_hop_amount_msat();
            for (k, hop) in path.hops.iter().enumerate() {
                let chan = ro.channel(hop.short_channel_id).expect("channel in graph");
                let (n1, n2) = ro.channel_nodes(chan);
                prop_assert!((n1 == prev && n2 == hop.pubkey) || (n2 == prev && n1 == hop.pubkey));
                let policy = chan.policy((prev != n1) as u8).expect("policy for the direction used");
                prop_assert!(policy.enabled);
                prop_assert!(amount >= policy.htlc_minimum_msat && amount <= policy.htlc_maximum_msat);
                *used.entry((hop.short_channel_id.0, prev == n1)).or_default() += amount;
                prop_assert!(used[&(hop.short_channel_id.0, prev == n1)] <= chan.capacity_sats.unwrap() * 1000);
                if let Some(next) = path.hops.get(k + 1) {
                    // This hop's node forwards over the next channel with its policy.
                    let nchan = ro.channel(next.short_channel_id).expect("next channel");
                    let (m1, _) = ro.channel_nodes(nchan);
                    let np = nchan.policy((hop.pubkey != m1) as u8).expect("next policy");
                    let next_amount = amount - hop.fee_msat;
                    prop_assert_eq!(hop.fee_msat, np.fee_msat(next_amount).unwrap());
                    prop_assert_eq!(hop.cltv_expiry_delta, np.cltv_expiry_delta as u32);
                }
                amount -= hop.fee_msat;
                prev = hop.pubkey;
            }
        }
    }
}

#[test]
fn bolt11_invoice_gives_payee_features_hints_and_final_cltv() {
    use lnkit::payment::invoice::{self, Currency, InvoiceBuilder};
    use lnkit::types::{PaymentHash, PaymentSecret};
    let secp = Secp256k1::new();
    let payee_key = SecretKey::from_slice(&[7; 32]).unwrap();
    let (a, b, c) = (node(1), node(2), node(3));
    let g = G::new();
    g.chan(1, a, b, 10_000_000, Some(pol(0, 0, 10)), None);
    g.chan(2, b, c, 10_000_000, Some(pol(1000, 0, 20)), None);
    let inv = InvoiceBuilder::new(Currency::Bitcoin)
        .timestamp_secs(1_700_000_000)
        .payment_hash(PaymentHash([1; 32]))
        .payment_secret(PaymentSecret([2; 32]))
        .description("coffee")
        .amount_msat(100_000)
        .min_final_cltv_expiry_delta(80)
        .basic_mpp()
        .route_hint(invoice::RouteHint(vec![invoice::RouteHintHop {
            src_node_id: c.to_public_key().unwrap(),
            short_channel_id: ShortChannelId(99),
            fee_base_msat: 10,
            fee_proportional_millionths: 1000,
            cltv_expiry_delta: 50,
        }]))
        .build_signed_with_key(&secp, &payee_key)
        .unwrap();
    let pp = PaymentParameters::from_bolt11_invoice(&inv);
    assert_eq!(
        pp.payee_pubkey,
        NodeId::from(PublicKey::from_secret_key(&secp, &payee_key))
    );
    assert_eq!(pp.final_cltv_expiry_delta, 80);
    let r = g
        .route(
            a,
            &RouteParameters::from_payment_params_and_value(pp, 100_000),
        )
        .unwrap();
    let got: Vec<_> = r.paths[0]
        .hops
        .iter()
        .map(|h| (h.short_channel_id.0, h.fee_msat, h.cltv_expiry_delta))
        .collect();
    assert_eq!(got, vec![(1, 1000, 20), (2, 110, 50), (99, 100_000, 80)]);
}

proptest! {
    /// Hostile invoice data (hints with extreme fees and deltas, extreme
    /// amounts, no fee ceiling) never panics the router.
    #[test]
    fn extreme_hints_and_amounts_never_panic(
        base in any::<u32>(), ppm in any::<u32>(), cltv in any::<u16>(),
        amount in 1u64..=u64::MAX, max_cltv in any::<u32>(), mpp in any::<bool>(),
    ) {
        let (a, b, p) = (node(1), node(2), node(9));
        let g = G::new();
        g.chan(1, a, b, u64::MAX / 1000, Some(Pol { max: u64::MAX, ..pol(base, ppm, cltv) }), None);
        let hint = RouteHint(vec![RouteHintHop {
            src_node_id: b,
            short_channel_id: ShortChannelId(5),
            fees: RoutingFees { base_msat: base, proportional_millionths: ppm },
            cltv_expiry_delta: cltv,
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
        }]);
        let mut pp = PaymentParameters::from_node_id(p, u32::MAX - 5).with_route_hints(vec![hint]);
        pp.max_total_cltv_expiry_delta = max_cltv;
        if mpp {
            pp = pp.with_features_le(vec![0, 0, 2]);
        }
        let rp = RouteParameters { payment_params: pp, final_value_msat: amount, max_total_routing_fee_msat: None };
        if let Ok(r) = g.route(a, &rp) {
            prop_assert_eq!(r.get_total_amount(), amount);
        }
    }
}

#[test]
fn paths_are_limited_to_twenty_hops() {
    // A line of 22 nodes: 21 channels from the first to the last.
    let ids: Vec<NodeId> = (1..=22).map(node).collect();
    let g = G::new();
    for i in 0..21 {
        g.chan(
            i as u64 + 1,
            ids[i],
            ids[i + 1],
            10_000_000,
            Some(pol(1, 0, 10)),
            None,
        );
    }
    assert_eq!(
        g.route(ids[0], &params(ids[21], 10_000)),
        Err(RouteError::NoRoute)
    );
    let r = g
        .route(ids[1], &params(ids[21], 10_000))
        .expect("20 hops are fine");
    assert_eq!(r.paths[0].hops.len(), 20);
    assert_eq!(r.get_total_fees(), 19);
}
