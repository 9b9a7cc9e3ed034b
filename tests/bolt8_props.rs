//! Property tests for the BOLT 8 stream: any split of the input delivers
//! the same messages, and arbitrary bytes never panic a session or a
//! `PeerManager`.

use lnkit::bitcoin::secp256k1::{Secp256k1, SecretKey};
use lnkit::peer::fuzz::{fuzz_noise, fuzz_peer_manager};
use lnkit::peer::noise::{NoiseSession, SessionEvent, StaticKey, StaticKeyEcdh, LENGTH_HEADER_LEN};
use proptest::prelude::*;

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn bolt8_any_split_delivers_the_same_messages(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1500), 1..30),
        cuts in proptest::collection::vec(1usize..5000, 1..50),
    ) {
        let secp = Secp256k1::new();
        let a = StaticKey::new(&secp, key(1));
        let b = StaticKey::new(&secp, key(2));
        let (mut sa, act1) = NoiseSession::new_outbound(&secp, b.public_key(), key(3));
        let mut sb = NoiseSession::new_inbound(&secp, &b.public_key(), key(4));
        let mut to_a = Vec::new();
        let mut to_b = Vec::new();
        sb.push_input(&act1);
        while sb.next_event(&b, &mut to_a).unwrap() != SessionEvent::NeedMore {}
        sa.push_input(&to_a);
        while sa.next_event(&a, &mut to_b).unwrap() != SessionEvent::NeedMore {}
        sb.push_input(&to_b);
        while sb.next_event(&b, &mut to_a).unwrap() != SessionEvent::NeedMore {}
        prop_assert!(sa.is_established() && sb.is_established());
        let mut wire = Vec::new();
        for m in &msgs {
            let start = wire.len();
            wire.extend_from_slice(&[0u8; LENGTH_HEADER_LEN]);
            wire.extend_from_slice(m);
            sa.seal_in_place(&mut wire, start).unwrap();
        }
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut rest = &wire[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            i += 1;
            sb.push_input(&rest[..n]);
            rest = &rest[n..];
            loop {
                match sb.next_event(&b, &mut to_a).unwrap() {
                    SessionEvent::Message(r) => got.push(sb.input()[r].to_vec()),
                    SessionEvent::NeedMore => break,
                    e => prop_assert!(false, "unexpected {:?}", e),
                }
            }
            sb.compact();
        }
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn bolt8_arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..800)) {
        fuzz_noise(&data);
        fuzz_peer_manager(&data);
        let mut odd = data.clone();
        odd.insert(0, 1);
        fuzz_peer_manager(&odd);
    }
}
