//! Property tests for BOLT 4: a random route's onion peels hop by hop to
//! exactly what was put in; a failure from any hop is attributed to that
//! hop; arbitrary bytes never panic the decoders. Also replays the fuzz seeds.

use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::{TlvRecord, TlvStream};
use lnkit::payment::onion::{
    build_payment_onion, peel_payment_onion, Failure, FailureMessage, FailureOutcome,
    ForwardPayload, HopPayload, OnionPacket, PaymentData, PeeledOnion, ReceivePayload,
    ReturnedFailure, HOP_PAYLOADS_LEN,
};
use lnkit::types::{PaymentPreimage, PaymentSecret, ShortChannelId};
use proptest::prelude::*;

fn secret() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("valid key", |b| SecretKey::from_slice(&b).ok())
}

fn unknown_tlvs() -> impl Strategy<Value = TlvStream> {
    // Odd types above the known ones, strictly increasing.
    proptest::collection::btree_map(0u64..50, proptest::collection::vec(any::<u8>(), 0..8), 0..3)
        .prop_map(|m| {
            TlvStream(
                m.into_iter()
                    .map(|(k, v)| TlvRecord {
                        typ: 101 + 2 * k,
                        value: v,
                    })
                    .collect(),
            )
        })
}

fn forward() -> impl Strategy<Value = HopPayload> {
    (any::<u64>(), any::<u64>(), any::<u32>(), unknown_tlvs()).prop_map(
        |(scid, amt, cltv, unknown_tlvs)| {
            HopPayload::Forward(ForwardPayload {
                short_channel_id: ShortChannelId(scid),
                amt_to_forward: amt,
                outgoing_cltv_value: cltv,
                unknown_tlvs,
            })
        },
    )
}

fn receive() -> impl Strategy<Value = HopPayload> {
    (
        any::<u64>(),
        any::<u32>(),
        proptest::option::of((any::<[u8; 32]>(), any::<u64>())),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        proptest::option::of(any::<[u8; 32]>()),
        unknown_tlvs(),
    )
        .prop_map(|(amt, cltv, pd, metadata, keysend, unknown_tlvs)| {
            HopPayload::Receive(ReceivePayload {
                amt_to_forward: amt,
                outgoing_cltv_value: cltv,
                payment_data: pd.map(|(s, t)| PaymentData {
                    payment_secret: PaymentSecret(s),
                    total_msat: t,
                }),
                payment_metadata: metadata,
                keysend_preimage: keysend.map(PaymentPreimage),
                unknown_tlvs,
            })
        })
}

fn route() -> impl Strategy<Value = (SecretKey, Vec<(SecretKey, HopPayload)>)> {
    (1usize..=20).prop_flat_map(|n| {
        (
            secret(),
            proptest::collection::vec((secret(), forward()), n - 1),
            (secret(), receive()),
        )
            .prop_map(|(session, mut hops, last)| {
                hops.push(last);
                (session, hops)
            })
    })
}

fn failure_message() -> impl Strategy<Value = FailureMessage> {
    prop_oneof![
        Just(FailureMessage::TemporaryNodeFailure),
        Just(FailureMessage::UnknownNextPeer),
        Just(FailureMessage::MppTimeout),
        (any::<u64>(), any::<u32>()).prop_map(|(htlc_msat, height)| {
            FailureMessage::IncorrectOrUnknownPaymentDetails { htlc_msat, height }
        }),
        (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..200)).prop_map(
            |(htlc_msat, u)| {
                FailureMessage::FeeInsufficient {
                    htlc_msat,
                    channel_update: lnkit::payment::onion::ChannelUpdateBytes(u),
                }
            }
        ),
        (any::<u64>(), any::<u16>())
            .prop_map(|(typ, offset)| FailureMessage::InvalidOnionPayload { typ, offset }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_route_peels_to_what_was_put_in((session, hops) in route(), hash in any::<[u8; 32]>()) {
        let secp = Secp256k1::new();
        let spec: Vec<(PublicKey, HopPayload)> =
            hops.iter().map(|(k, p)| (PublicKey::from_secret_key(&secp, k), p.clone())).collect();
        let needed: usize = spec.iter().map(|(_, p)| p.encode().len() + 3 + 32).sum();
        prop_assume!(needed <= HOP_PAYLOADS_LEN);
        let (mut packet, secrets) = build_payment_onion(&secp, &session, &spec, &hash).unwrap();
        for (i, (key, payload)) in hops.iter().enumerate() {
            match peel_payment_onion(&secp, key, &packet, &hash, false).unwrap() {
                PeeledOnion::Forward { payload: got, next_packet, shared_secret } => {
                    prop_assert!(i + 1 < hops.len());
                    prop_assert_eq!(&got, payload);
                    prop_assert_eq!(shared_secret, secrets[i]);
                    packet = *next_packet;
                }
                PeeledOnion::Receive { payload: got, shared_secret } => {
                    prop_assert_eq!(i + 1, hops.len());
                    prop_assert_eq!(&got, payload);
                    prop_assert_eq!(shared_secret, secrets[i]);
                }
            }
        }
    }

    #[test]
    fn failure_from_any_hop_is_attributed_to_it(
        (session, hops) in route(),
        pick in any::<prop::sample::Index>(),
        msg in failure_message(),
        holds in proptest::collection::vec(any::<u32>(), 20),
    ) {
        let secp = Secp256k1::new();
        let spec: Vec<(PublicKey, HopPayload)> =
            hops.iter().map(|(k, p)| (PublicKey::from_secret_key(&secp, k), p.clone())).collect();
        let needed: usize = spec.iter().map(|(_, p)| p.encode().len() + 3 + 32).sum();
        prop_assume!(needed <= HOP_PAYLOADS_LEN);
        let (_, secrets) = build_payment_onion(&secp, &session, &spec, &[7; 32]).unwrap();
        let k = pick.index(hops.len());
        let failure = Failure::from(msg);
        let mut returned = ReturnedFailure::create(&secrets[k], &failure, holds[k]);
        for i in (0..k).rev() {
            returned.relay(&secrets[i], holds[i]);
        }
        let decoded = returned.decode(&secrets);
        prop_assert_eq!(decoded.outcome, FailureOutcome::Attributed { hop_index: k, failure });
        prop_assert_eq!(decoded.hold_times, holds[..=k].to_vec());
    }

    #[test]
    fn arbitrary_onions_never_panic(bytes in proptest::collection::vec(any::<u8>(), 1366), key in secret()) {
        let secp = Secp256k1::new();
        let packet: OnionPacket = lnkit::codec::Readable::read(&mut &bytes[..]).unwrap();
        // Random bytes essentially never carry a valid HMAC.
        prop_assert!(peel_payment_onion(&secp, &key, &packet, &[0; 32], false).is_err());
    }

    #[test]
    fn arbitrary_failures_and_payloads_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(f) = Failure::decode(&bytes) {
            prop_assert_eq!(f.encode(), bytes.clone());
        }
        for (is_final, blinded) in [(false, false), (true, false), (false, true), (true, true)] {
            if let Ok(p) = HopPayload::decode(&bytes, is_final, blinded) {
                prop_assert_eq!(p.encode(), bytes.clone());
            }
        }
        lnkit::payment::fuzz::fuzz_onion_failure(&bytes);
        lnkit::payment::fuzz::fuzz_onion_peel(&bytes);
    }
}

#[test]
fn bolt4_blinding_error_maps_to_invalid_onion_blinding_with_onion_hash() {
    use lnkit::bitcoin::hashes::{sha256, Hash};
    use lnkit::codec::Writeable;
    use lnkit::payment::onion::{build_payment_onion_raw, OnionError};
    let secp = Secp256k1::new();
    let node = SecretKey::from_slice(&[0x21; 32]).unwrap();
    // A forward payload with only encrypted_recipient_data, but the
    // update_add_htlc is not blinded and no current_blinding_point is given.
    let payload = [0x0a, 0x02, 0xaa, 0xbb];
    let (packet, _) = build_payment_onion_raw(
        &secp,
        &SecretKey::from_slice(&[0x22; 32]).unwrap(),
        &[
            (PublicKey::from_secret_key(&secp, &node), &payload[..]),
            (PublicKey::from_secret_key(&secp, &node), &payload[..]),
        ],
        &[1; 32],
    )
    .unwrap();
    let err = peel_payment_onion(&secp, &node, &packet, &[1; 32], false).unwrap_err();
    assert!(matches!(err, OnionError::Payload(_)), "{err:?}");
    let bytes = packet.encode();
    assert_eq!(
        err.to_failure(&bytes),
        FailureMessage::InvalidOnionBlinding {
            sha256_of_onion: sha256::Hash::hash(&bytes).to_byte_array()
        }
    );
    // A tampered onion gets invalid_onion_hmac.
    let mut bad = packet.clone();
    bad.hop_data[0] ^= 1;
    let err = peel_payment_onion(&secp, &node, &bad, &[1; 32], false).unwrap_err();
    assert_eq!(err, OnionError::InvalidHmac);
    assert!(err.to_failure(&bad.encode()).is_bad_onion());
    // A bad version and a bad key are told apart.
    let mut v = packet.clone();
    v.version = 1;
    assert_eq!(
        peel_payment_onion(&secp, &node, &v, &[1; 32], false).unwrap_err(),
        OnionError::UnknownVersion(1)
    );
    let mut k = packet;
    k.public_key[0] = 0x05;
    assert_eq!(
        peel_payment_onion(&secp, &node, &k, &[1; 32], false).unwrap_err(),
        OnionError::InvalidEphemeralKey
    );
}

#[test]
fn bolt4_returned_failure_rides_in_update_fail_htlc() {
    use lnkit::codec::sample::{Sample, SampleRng};
    use lnkit::codec::WithU16Len;
    use lnkit::payment::onion::SharedSecret;
    let ss = [SharedSecret([1; 32]), SharedSecret([2; 32])];
    let failure = Failure::from(FailureMessage::MppTimeout);
    let mut returned = ReturnedFailure::create(&ss[1], &failure, 3);
    returned.relay(&ss[0], 4);
    let mut msg = lnkit::msgs::UpdateFailHtlc::sample(&mut SampleRng::new(1));
    msg.reason = WithU16Len(returned.packet.clone());
    msg.attribution_data = returned.attribution;
    let back = ReturnedFailure::from_update_fail_htlc(&msg);
    assert_eq!(back, returned);
    let decoded = back.decode(&ss);
    assert_eq!(
        decoded.outcome,
        FailureOutcome::Attributed {
            hop_index: 1,
            failure
        }
    );
    assert_eq!(decoded.hold_times, vec![4, 3]);
}
