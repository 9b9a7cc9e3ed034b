//! The persisted graph decoder on hostile input: never panics, and random
//! graphs round-trip exactly.

use bitcoin::blockdata::constants::ChainHash;
use lnkit::codec::{Readable, Writeable};
use lnkit::gossip::fuzz::fuzz_graph_read;
use lnkit::gossip::{NetworkGraph, UnsignedPolicy};
use lnkit::types::{Point, ShortChannelId};
use proptest::prelude::*;

fn point(i: u8) -> Point {
    let mut b = [i; 33];
    b[0] = 2 + (i & 1);
    Point::from_bytes(b).unwrap()
}

fn graph_from(chans: &[(u8, u8, u64, Option<u32>)]) -> NetworkGraph {
    let g = NetworkGraph::new(ChainHash::BITCOIN);
    for (i, (a, b, cap, fee)) in chans.iter().enumerate() {
        let scid = ShortChannelId(i as u64 * 7 + 1);
        if g.add_channel_unchecked(scid, point(*a), point(*b), Some(*cap), 100)
            .is_ok()
        {
            if let Some(fee) = fee {
                g.update_channel_unchecked(&UnsignedPolicy {
                    short_channel_id: scid,
                    direction: (*fee & 1) as u8,
                    timestamp: 200,
                    enabled: fee % 3 != 0,
                    cltv_expiry_delta: 40,
                    htlc_minimum_msat: 1,
                    htlc_maximum_msat: *cap * 1000,
                    fee_base_msat: *fee,
                    fee_proportional_millionths: 7,
                })
                .unwrap();
            }
        }
    }
    g
}

#[test]
fn committed_seeds_decode_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/graph_read");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        fuzz_graph_read(&std::fs::read(e.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 2);
    let one = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds/graph_read/one_channel.bin"),
    )
    .unwrap();
    let g = NetworkGraph::read(&mut &one[..]).expect("the one-channel seed is a valid graph");
    assert_eq!(g.read_only().channel_count(), 1);
    assert!(g.is_recently_closed(ShortChannelId(12345)));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        fuzz_graph_read(&bytes);
    }

    #[test]
    fn mutated_valid_graphs_never_panic(pos in any::<prop::sample::Index>(), val in any::<u8>()) {
        let mut bytes = graph_from(&[(1, 2, 1000, Some(5)), (2, 3, 2000, None), (3, 1, 500, Some(4))]).encode();
        let i = pos.index(bytes.len());
        bytes[i] = val;
        fuzz_graph_read(&bytes);
    }

    #[test]
    fn random_graphs_round_trip(chans in prop::collection::vec((0u8..20, 0u8..20, 1u64..10_000_000, prop::option::of(0u32..5000)), 0..40)) {
        let g = graph_from(&chans);
        let bytes = g.encode();
        let back = NetworkGraph::read(&mut &bytes[..]).unwrap();
        prop_assert_eq!(back.encode(), bytes);
        prop_assert_eq!(back.read_only().channel_count(), g.read_only().channel_count());
        prop_assert_eq!(back.read_only().node_count(), g.read_only().node_count());
    }
}

proptest! {
    #[test]
    fn scorer_state_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        lnkit::routing::fuzz::fuzz_scorer_read(&bytes);
    }
}

#[test]
fn scorer_seeds_decode() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/scorer_read");
    for e in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        let g = std::sync::Arc::new(NetworkGraph::new(ChainHash::BITCOIN));
        assert!(lnkit::routing::ProbabilisticScorer::read_from(
            &mut &bytes[..],
            Default::default(),
            g
        )
        .is_ok());
        lnkit::routing::fuzz::fuzz_scorer_read(&bytes);
    }
}
