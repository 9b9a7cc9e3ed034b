//! BOLT 4 onion-message vector (tests/vectors/bolt04-onion-message.txt):
//! the variable-size Sphinx packet built for a blinded route, and peeled at
//! each hop with the blinded node key derived from its path key.

use hex::FromHex;
use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::payment::onion::packet::{build_onion_message_packet, peel_var_onion, VarOnionPacket};
use lnkit::payment::onion::{blinded_node_secret, decrypt_recipient_data, next_path_key};

const V: &str = include_str!("vectors/bolt04-onion-message.txt");

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

/// `onionmsg_tlv` payloads: `encrypted_recipient_data` (type 4) at every
/// hop, plus the test's unknown record 1 ("hello") at the final hop.
fn payloads(ls: &[(&str, Vec<&str>)]) -> Vec<(PublicKey, Vec<u8>)> {
    let hops: Vec<_> = ls.iter().filter(|(k, _)| *k == "hop").collect();
    let tag1 = h(ls
        .iter()
        .find(|(k, _)| *k == "final_unknown_tag_1")
        .unwrap()
        .1[0]);
    hops.iter()
        .enumerate()
        .map(|(i, (_, f))| {
            let enc = h(f[1]);
            let mut p = Vec::new();
            if i == hops.len() - 1 {
                p.push(1);
                p.push(tag1.len() as u8);
                p.extend_from_slice(&tag1);
            }
            p.push(4);
            p.push(enc.len() as u8);
            p.extend_from_slice(&enc);
            (PublicKey::from_slice(&h(f[0])).unwrap(), p)
        })
        .collect()
}

#[test]
fn bolt4_onion_message_packet_construction() {
    let secp = Secp256k1::new();
    let ls = lines();
    let session =
        SecretKey::from_slice(&h(
            ls.iter().find(|(k, _)| *k == "session_key").unwrap().1[0]
        ))
        .unwrap();
    let p = payloads(&ls);
    let hops: Vec<(PublicKey, &[u8])> = p.iter().map(|(k, v)| (*k, &v[..])).collect();
    let (packet, _) = build_onion_message_packet(&secp, &session, &hops, 1300).unwrap();
    let expected = h(ls.iter().find(|(k, _)| *k == "packet").unwrap().1[0]);
    assert_eq!(packet.encode(), expected);
}

#[test]
fn bolt4_onion_message_peeling_with_blinded_keys() {
    let secp = Secp256k1::new();
    let ls = lines();
    let p = payloads(&ls);
    let decrypt: Vec<(SecretKey, Vec<u8>)> = ls
        .iter()
        .filter(|(k, _)| *k == "decrypt")
        .map(|(_, f)| (SecretKey::from_slice(&h(f[0])).unwrap(), h(f[1])))
        .collect();
    for (i, (key, msg)) in decrypt.iter().enumerate() {
        // onion_message: type 513, path key, u16 length, packet.
        assert_eq!(&msg[..2], &[0x02, 0x01]);
        let path_key = PublicKey::from_slice(&msg[2..35]).unwrap();
        let len = u16::from_be_bytes([msg[35], msg[36]]) as usize;
        let packet = VarOnionPacket::decode(&msg[37..37 + len]).unwrap();
        let blinded = blinded_node_secret(key, &path_key).unwrap();
        assert_eq!(
            PublicKey::from_secret_key(&secp, &blinded),
            p[i].0,
            "blinded node id of hop {i}"
        );
        let peeled = peel_var_onion(&secp, &blinded, &packet).unwrap();
        // The encrypted data decrypts to the recipient's encrypted_data_tlv.
        let tlvs: Vec<Vec<u8>> = ls
            .iter()
            .filter(|(k, _)| *k == "encrypted_data_tlv")
            .map(|(_, f)| h(f[0]))
            .collect();
        let enc = &p[i].1[p[i].1.len() - (tlvs[i].len() + 16)..];
        assert_eq!(
            decrypt_recipient_data(key, &path_key, enc).unwrap(),
            tlvs[i],
            "encrypted data of hop {i}"
        );
        let mut tampered = enc.to_vec();
        tampered[0] ^= 1;
        assert!(decrypt_recipient_data(key, &path_key, &tampered).is_none());
        assert_eq!(peeled.payload, p[i].1, "payload of hop {i}");
        match decrypt.get(i + 1) {
            Some((_, next_msg)) => {
                assert_eq!(
                    peeled.next.unwrap().encode(),
                    next_msg[37..],
                    "packet for hop {}",
                    i + 1
                );
                // Hop 0's encrypted data overrides the next path key; the
                // others derive it.
                if i > 0 {
                    let next = next_path_key(&secp, key, &path_key).unwrap();
                    assert_eq!(&next.serialize()[..], &next_msg[2..35]);
                }
            }
            None => assert!(peeled.next.is_none()),
        }
    }
}
