//! BOLT 4 blinded-payment vector (tests/vectors/bolt04-blinded-payment.txt):
//! an onion through one normal hop and a four-hop blinded route, built byte
//! for byte, then peeled at each hop into the typed payload the BOLT 4
//! reader rules give (forward, blinded forward at the introduction node and
//! beyond, blinded receive at the end).

use hex::FromHex;
use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::{Readable, Writeable};
use lnkit::payment::onion::{
    blinded_node_secret, build_payment_onion_raw, next_path_key, peel_payment_onion, HopPayload,
    OnionPacket, PeeledOnion,
};

const V: &str = include_str!("vectors/bolt04-blinded-payment.txt");

fn h(s: &str) -> Vec<u8> {
    Vec::from_hex(s).unwrap()
}

fn lines() -> Vec<(&'static str, Vec<&'static str>)> {
    V.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split(' ');
            (it.next().unwrap(), it.collect())
        })
        .collect()
}

fn one(ls: &[(&str, Vec<&'static str>)], k: &str) -> &'static str {
    ls.iter().find(|(key, _)| *key == k).unwrap().1[0]
}

#[test]
fn bolt4_blinded_payment_onion_construction() {
    let secp = Secp256k1::new();
    let ls = lines();
    let session = SecretKey::from_slice(&h(one(&ls, "session_key"))).unwrap();
    let hops: Vec<(PublicKey, Vec<u8>)> = ls
        .iter()
        .filter(|(k, _)| *k == "hop")
        .map(|(_, f)| (PublicKey::from_slice(&h(f[0])).unwrap(), h(f[1])))
        .collect();
    let raw: Vec<(PublicKey, &[u8])> = hops.iter().map(|(k, p)| (*k, &p[..])).collect();
    let (packet, _) =
        build_payment_onion_raw(&secp, &session, &raw, &h(one(&ls, "associated_data"))).unwrap();
    assert_eq!(packet.encode(), h(one(&ls, "onion")));
}

#[test]
fn bolt4_blinded_payment_onion_peeling() {
    let secp = Secp256k1::new();
    let ls = lines();
    let ad: [u8; 32] = h(one(&ls, "associated_data")).try_into().unwrap();
    let decrypt: Vec<(SecretKey, Option<PublicKey>, Vec<u8>)> = ls
        .iter()
        .filter(|(k, _)| *k == "decrypt")
        .map(|(_, f)| {
            let next = (f[1] != "-").then(|| PublicKey::from_slice(&h(f[1])).unwrap());
            (SecretKey::from_slice(&h(f[0])).unwrap(), next, h(f[2]))
        })
        .collect();

    // The path key each hop is handed in update_add_htlc (None: not blinded,
    // or the introduction node, which finds it in its payload).
    let mut incoming_path_key: Option<PublicKey> = None;
    for (i, (key, next_path, onion)) in decrypt.iter().enumerate() {
        let packet = OnionPacket::read(&mut &onion[..]).unwrap();
        // Alice and Bob (the introduction node, reached by its real id) peel
        // with their own keys; Bob finds the path key in his payload. The
        // hops after him peel with the blinded key their path key gives.
        let peel_key = match incoming_path_key {
            Some(e) if i >= 2 => blinded_node_secret(key, &e).unwrap(),
            _ => *key,
        };
        if i == 1 {
            incoming_path_key =
                Some(PublicKey::from_slice(&h(one(&ls, "first_path_key"))).unwrap());
        }
        let update_add_blinded = i >= 2;
        let peeled = peel_payment_onion(&secp, &peel_key, &packet, &ad, update_add_blinded)
            .unwrap_or_else(|e| panic!("hop {i}: {e}"));
        match (i, peeled) {
            (
                0,
                PeeledOnion::Forward {
                    payload: HopPayload::Forward(p),
                    next_packet,
                    ..
                },
            ) => {
                assert_eq!(
                    (
                        p.short_channel_id.0,
                        p.amt_to_forward,
                        p.outgoing_cltv_value
                    ),
                    (10, 110_125, 749_150)
                );
                assert_eq!(next_packet.encode(), decrypt[1].2);
            }
            (
                1..=3,
                PeeledOnion::Forward {
                    payload: HopPayload::BlindedForward(p),
                    next_packet,
                    ..
                },
            ) => {
                // Only the introduction node finds the path key in its payload.
                assert_eq!(p.current_blinding_point.is_some(), i == 1, "hop {i}");
                assert!(!p.encrypted_recipient_data.is_empty());
                assert_eq!(
                    next_packet.encode(),
                    decrypt[i + 1].2,
                    "packet for hop {}",
                    i + 1
                );
            }
            (
                4,
                PeeledOnion::Receive {
                    payload: HopPayload::BlindedReceive(p),
                    ..
                },
            ) => {
                assert_eq!(
                    (p.amt_to_forward, p.total_amount_msat, p.outgoing_cltv_value),
                    (100_000, 150_000, 749_000)
                );
                assert!(p.current_blinding_point.is_none());
            }
            (i, other) => panic!("hop {i}: unexpected {other:?}"),
        }
        // The next path key: derived, except where the encrypted data
        // overrides it (Carol's `next_path_key_override`).
        if let (Some(e), Some(next)) = (incoming_path_key, next_path) {
            if i != 2 {
                assert_eq!(
                    next_path_key(&secp, key, &e).unwrap(),
                    *next,
                    "next path key after hop {i}"
                );
            }
            incoming_path_key = Some(*next);
        }
    }
}
