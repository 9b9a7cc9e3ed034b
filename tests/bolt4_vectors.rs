//! BOLT 4 test vectors (carried in tests/vectors/bolt04-*.txt): onion
//! construction and peeling, the legacy error vector, and the returning-errors
//! vector with attribution data (errors and successes).

use hex::FromHex;
use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::Writeable;
use lnkit::payment::onion::error_packet::build_raw_packet;
use lnkit::payment::onion::{
    build_payment_onion_raw, create_fulfill_attribution, decode_fulfill_attribution, generate_key,
    key_type, peel_payment_onion, peel_payment_onion_raw, AttributionData, Failure, FailureMessage,
    FailureOutcome, HopPayload, PeeledOnion, ReturnedFailure, SharedSecret,
};

fn h(s: &str) -> Vec<u8> {
    Vec::from_hex(s).unwrap()
}
fn hex(b: &[u8]) -> String {
    use hex::DisplayHex;
    b.to_lower_hex_string()
}
fn h32(s: &str) -> [u8; 32] {
    <[u8; 32]>::from_hex(s).unwrap()
}

/// Lines as (key, fields), comments skipped.
fn lines(text: &str) -> Vec<(&str, Vec<&str>)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split(' ');
            (it.next().unwrap(), it.collect())
        })
        .collect()
}

fn field<'a>(ls: &'a [(&str, Vec<&'a str>)], key: &str) -> &'a str {
    ls.iter()
        .find(|(k, _)| *k == key)
        .unwrap_or_else(|| panic!("no {key}"))
        .1[0]
}

const ONION: &str = include_str!("vectors/bolt04-onion.txt");
const ONION_ERROR: &str = include_str!("vectors/bolt04-onion-error.txt");
const RETURNING: &str = include_str!("vectors/bolt04-returning-errors.txt");

struct Hop {
    pubkey: PublicKey,
    secret: SecretKey,
    payload: Vec<u8>,
}

fn onion_hops(ls: &[(&str, Vec<&str>)]) -> Vec<Hop> {
    ls.iter()
        .filter(|(k, _)| *k == "hop")
        .map(|(_, f)| Hop {
            pubkey: PublicKey::from_slice(&h(f[0])).unwrap(),
            secret: SecretKey::from_slice(&h(f[1])).unwrap(),
            payload: h(f[2]),
        })
        .collect()
}

#[test]
fn bolt4_onion_construction_vector() {
    let secp = Secp256k1::new();
    let ls = lines(ONION);
    let session = SecretKey::from_slice(&h(field(&ls, "session_key"))).unwrap();
    let ad = h(field(&ls, "associated_data"));
    let hops = onion_hops(&ls);
    let raw: Vec<(PublicKey, &[u8])> = hops.iter().map(|h| (h.pubkey, &h.payload[..])).collect();
    let (packet, secrets) = build_payment_onion_raw(&secp, &session, &raw, &ad).unwrap();
    assert_eq!(packet.encode(), h(field(&ls, "onion")));

    // Recomputed from the session key alone, they are the same.
    let nodes: Vec<PublicKey> = hops.iter().map(|h| h.pubkey).collect();
    assert_eq!(
        lnkit::payment::onion::packet::onion_shared_secrets(&secp, &session, &nodes).unwrap(),
        secrets
    );
    // The shared secrets are the ones the error vector lists per hop.
    let err = lines(ONION_ERROR);
    let listed: Vec<_> = err
        .iter()
        .filter(|(k, _)| *k == "hop")
        .map(|(_, f)| h32(f[1]))
        .collect();
    assert_eq!(secrets.iter().map(|s| s.0).collect::<Vec<_>>(), listed);
}

#[test]
fn bolt4_onion_peeling_vector() {
    let secp = Secp256k1::new();
    let ls = lines(ONION);
    let ad = h(field(&ls, "associated_data"));
    let hops = onion_hops(&ls);
    let mut packet = lnkit::codec::Readable::read(&mut &h(field(&ls, "onion"))[..]).unwrap();
    for (i, hop) in hops.iter().enumerate() {
        let peeled = peel_payment_onion_raw(&secp, &hop.secret, &packet, &ad).unwrap();
        assert_eq!(peeled.payload, hop.payload, "hop {i}");
        match peeled.next {
            Some(next) => {
                assert!(i < hops.len() - 1, "hop {i} should be final");
                packet = next;
            }
            None => assert_eq!(i, hops.len() - 1, "hop {i} is not the last"),
        }
    }
}

#[test]
fn bolt4_onion_vector_first_hop_is_a_typed_forward() {
    let secp = Secp256k1::new();
    let ls = lines(ONION);
    let ad = <[u8; 32]>::from_hex(field(&ls, "associated_data")).unwrap();
    let hops = onion_hops(&ls);
    let packet = lnkit::codec::Readable::read(&mut &h(field(&ls, "onion"))[..]).unwrap();
    match peel_payment_onion(&secp, &hops[0].secret, &packet, &ad, false).unwrap() {
        PeeledOnion::Forward {
            payload: HopPayload::Forward(p),
            ..
        } => {
            assert_eq!(p.short_channel_id.0, 1);
            assert_eq!(p.amt_to_forward, 15000);
            assert_eq!(p.outgoing_cltv_value, 1500);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn bolt4_legacy_error_vector() {
    let ls = lines(ONION_ERROR);
    let hops: Vec<_> = ls
        .iter()
        .filter(|(k, _)| *k == "hop")
        .map(|(_, f)| (h32(f[1]), h32(f[2])))
        .collect();
    for (ss, ammag) in &hops {
        assert_eq!(&generate_key(key_type::AMMAG, ss), ammag);
    }
    let (ss4, _) = hops[4];
    assert_eq!(generate_key(key_type::UM, &ss4), h32(field(&ls, "um_key")));
    let failure = Failure::decode(&h(field(&ls, "failure_message"))).unwrap();
    assert_eq!(failure.message, FailureMessage::TemporaryNodeFailure);
    let raw = build_raw_packet(&SharedSecret(ss4), &failure, 256);
    assert_eq!(raw[32..], h(field(&ls, "payload"))[..]);

    let mut returned = ReturnedFailure::create_padded(&SharedSecret(ss4), &failure, 256, 0);
    for (ss, _) in hops[..4].iter().rev() {
        returned.relay(&SharedSecret(*ss), 0);
    }
    assert_eq!(returned.packet, h(field(&ls, "errorpacket")));
    let secrets: Vec<_> = hops.iter().map(|(ss, _)| SharedSecret(*ss)).collect();
    let decoded = returned.decode(&secrets);
    assert_eq!(
        decoded.outcome,
        FailureOutcome::Attributed {
            hop_index: 4,
            failure
        }
    );
}

struct Returning {
    secrets: Vec<SharedSecret>,
    /// Hold time per route index. The vector's list is in processing order:
    /// the failing (last) node reports the first value, the first hop the
    /// last one.
    hold_times: Vec<u32>,
    forward: Vec<Vec<String>>,
    success: Vec<Vec<u8>>,
}

fn returning(ls: &[(&str, Vec<&str>)]) -> Returning {
    let secp = Secp256k1::new();
    let session = SecretKey::from_slice(&h(field(ls, "session_key"))).unwrap();
    let mut pks = Vec::new();
    let mut hold_times = Vec::new();
    for (_, f) in ls.iter().filter(|(k, _)| *k == "hop") {
        pks.push(PublicKey::from_slice(&h(f[0])).unwrap());
        hold_times.push(f[1].parse().unwrap());
    }
    // Shared secrets as the sender computes them while building its onion.
    let payload = [0x02u8, 0x01, 0x01];
    let raw: Vec<(PublicKey, &[u8])> = pks.iter().map(|p| (*p, &payload[..])).collect();
    let (_, secrets) = build_payment_onion_raw(&secp, &session, &raw, &[0; 32]).unwrap();
    hold_times.reverse();
    Returning {
        secrets,
        hold_times,
        forward: ls
            .iter()
            .filter(|(k, _)| *k == "forward")
            .map(|(_, f)| f.iter().map(|s| s.to_string()).collect())
            .collect(),
        success: ls
            .iter()
            .filter(|(k, _)| *k == "success")
            .map(|(_, f)| h(f[1]))
            .collect(),
    }
}

#[test]
fn bolt4_returning_errors_vector_with_attribution() {
    let ls = lines(RETURNING);
    let r = returning(&ls);
    let ss4 = r.secrets[4];
    assert_eq!(ss4.0, h32(field(&ls, "shared_secret")));
    assert_eq!(
        generate_key(key_type::UM, &ss4.0),
        h32(field(&ls, "um_key"))
    );

    // The failure: incorrect_or_unknown_payment_details + a TLV extension;
    // the vector's encoded message is followed by pad_len and padding.
    let encoded = h(field(&ls, "encoded_failure_message"));
    let failure_len =
        u16::from_be_bytes([h(field(&ls, "payload"))[0], h(field(&ls, "payload"))[1]]) as usize;
    let failure = Failure::decode(&encoded[..failure_len]).unwrap();
    assert_eq!(
        failure.message,
        FailureMessage::IncorrectOrUnknownPaymentDetails {
            htlc_msat: 100,
            height: 800_000
        }
    );
    let raw = build_raw_packet(&ss4, &failure, 1024);
    assert_eq!(raw, h(field(&ls, "raw_error_packet")));
    assert_eq!(raw[32..], h(field(&ls, "payload"))[..]);

    // Failing node 4, then relays by nodes 3..0: every intermediate packet
    // and attribution blob matches.
    let mut returned = ReturnedFailure::create(&ss4, &failure, r.hold_times[4]);
    for (step, f) in r.forward.iter().enumerate() {
        let node: usize = f[0].parse().unwrap();
        assert_eq!(
            r.secrets[node].0,
            h32(&f[1]),
            "shared secret of node {node}"
        );
        assert_eq!(
            generate_key(key_type::AMMAG, &r.secrets[node].0),
            h32(&f[2])
        );
        if step > 0 {
            returned.relay(&r.secrets[node], r.hold_times[node]);
        }
        assert_eq!(
            hex(&returned.packet),
            f[4],
            "error packet after node {node}"
        );
        assert_eq!(
            hex(&returned.attribution.unwrap().0),
            f[5],
            "attribution after node {node}"
        );
    }

    let decoded = returned.decode(&r.secrets);
    assert_eq!(
        decoded.outcome,
        FailureOutcome::Attributed {
            hop_index: 4,
            failure
        }
    );
    assert_eq!(decoded.hold_times, r.hold_times);
}

#[test]
fn bolt4_returning_success_attribution_vector() {
    let ls = lines(RETURNING);
    let r = returning(&ls);
    let mut attr: Option<AttributionData> = None;
    for (step, node) in (0..5).rev().enumerate() {
        attr = Some(create_fulfill_attribution(
            attr.as_ref(),
            r.hold_times[node],
            &r.secrets[node],
        ));
        assert_eq!(
            hex(&attr.unwrap().0),
            hex(&r.success[step]),
            "success attribution after node {node}"
        );
    }
    assert_eq!(
        decode_fulfill_attribution(&r.secrets, &attr.unwrap()),
        r.hold_times
    );
}

#[test]
fn bolt4_garbled_failure_is_told_apart_and_narrowed() {
    let ls = lines(RETURNING);
    let r = returning(&ls);
    let failure = Failure::from(FailureMessage::TemporaryNodeFailure);
    let mut returned = ReturnedFailure::create(&r.secrets[4], &failure, 5);
    returned.relay(&r.secrets[3], 4);
    returned.relay(&r.secrets[2], 3);
    // Node 1 corrupts the packet before relaying it.
    returned.packet[100] ^= 1;
    returned.relay(&r.secrets[1], 2);
    returned.relay(&r.secrets[0], 1);
    let decoded = returned.decode(&r.secrets);
    // Node 1's attribution covers the corrupted packet and verifies; node 2's
    // does not: the culprit is node 1 or node 2.
    assert_eq!(
        decoded.outcome,
        lnkit::payment::onion::FailureOutcome::Garbled {
            attribution_failed_at: Some(2)
        }
    );
    assert_eq!(decoded.hold_times, vec![1, 2]);
}
