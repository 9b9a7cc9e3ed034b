//! BOLT 8 Appendix A test vectors: the handshake as initiator and responder
//! (successful and failing) and the encrypted messages 0, 1, 500, 501, 1000,
//! 1001 across key rotation. Vectors: `tests/vectors/bolt08-noise.txt`.

use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::peer::noise::{
    Initiator, NoiseError, NoiseSession, Responder, SessionEvent, StaticKey, StaticKeyEcdh,
    Transport, LENGTH_HEADER_LEN,
};
use std::collections::HashMap;

type Record = HashMap<String, String>;

fn records() -> Vec<Record> {
    let text = include_str!("vectors/bolt08-noise.txt");
    let mut out = Vec::new();
    let mut cur = Record::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let (k, v) = line.split_once(' ').expect("key value line");
        cur.insert(k.to_string(), v.to_string());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
fn sk(r: &Record, k: &str) -> SecretKey {
    SecretKey::from_slice(&hex(&r[k])).unwrap()
}
fn pk(r: &Record, k: &str) -> PublicKey {
    PublicKey::from_slice(&hex(&r[k])).unwrap()
}
fn key32(r: &Record, k: &str) -> [u8; 32] {
    hex(&r[k]).try_into().unwrap()
}

/// Maps the spec's error label to our error.
fn matches_label(e: &NoiseError, label: &str) -> bool {
    match label {
        "ACT1_READ_FAILED" => matches!(e, NoiseError::ActReadFailed { act: 1, .. }),
        "ACT2_READ_FAILED" => matches!(e, NoiseError::ActReadFailed { act: 2, .. }),
        "ACT3_READ_FAILED" => matches!(e, NoiseError::ActReadFailed { act: 3, .. }),
        "ACT1_BAD_VERSION" => matches!(e, NoiseError::BadVersion { act: 1, version: 1 }),
        "ACT2_BAD_VERSION" => matches!(e, NoiseError::BadVersion { act: 2, version: 1 }),
        "ACT3_BAD_VERSION" => matches!(e, NoiseError::BadVersion { act: 3, version: 1 }),
        "ACT1_BAD_PUBKEY" => matches!(e, NoiseError::BadPubkey { act: 1 }),
        "ACT2_BAD_PUBKEY" => matches!(e, NoiseError::BadPubkey { act: 2 }),
        "ACT3_BAD_PUBKEY" => matches!(e, NoiseError::BadPubkey { act: 3 }),
        "ACT1_BAD_TAG" => matches!(e, NoiseError::BadTag { act: 1 }),
        "ACT2_BAD_TAG" => matches!(e, NoiseError::BadTag { act: 2 }),
        "ACT3_BAD_TAG" => matches!(e, NoiseError::BadTag { act: 3 }),
        "ACT3_BAD_CIPHERTEXT" => matches!(e, NoiseError::BadCiphertext),
        other => panic!("unknown label {other}"),
    }
}

#[test]
fn bolt8_initiator_vectors() {
    let secp = Secp256k1::new();
    let recs: Vec<_> = records()
        .into_iter()
        .filter(|r| r["role"] == "initiator")
        .collect();
    assert_eq!(recs.len(), 5);
    for r in recs {
        let ls = StaticKey::new(&secp, sk(&r, "ls_priv"));
        assert_eq!(ls.public_key(), pk(&r, "ls_pub"));
        let (init, act1) = Initiator::new(&secp, pk(&r, "rs_pub"), sk(&r, "e_priv"));
        assert_eq!(act1.to_vec(), hex(&r["act1_output"]), "{}", r["name"]);
        let res = init.process_act_two(&hex(&r["act2_input"]), &ls);
        if r["result"] == "success" {
            let (act3, t) = res.expect("successful handshake");
            assert_eq!(act3.to_vec(), hex(&r["act3_output"]));
            assert_eq!(t.sending_key(), key32(&r, "sk"));
            assert_eq!(t.receiving_key(), key32(&r, "rk"));
        } else {
            let e = res.expect_err(&r["name"]);
            assert!(matches_label(&e, &r["result"]), "{}: got {e:?}", r["name"]);
        }
    }
}

#[test]
fn bolt8_responder_vectors() {
    let secp = Secp256k1::new();
    let recs: Vec<_> = records()
        .into_iter()
        .filter(|r| r["role"] == "responder")
        .collect();
    assert_eq!(recs.len(), 10);
    for r in recs {
        let ls = StaticKey::new(&secp, sk(&r, "ls_priv"));
        assert_eq!(ls.public_key(), pk(&r, "ls_pub"));
        let mut resp = Responder::new(&secp, &ls.public_key(), sk(&r, "e_priv"));
        let res = resp
            .process_act_one(&hex(&r["act1_input"]), &ls)
            .and_then(|act2| {
                if let Some(exp) = r.get("act2_output") {
                    assert_eq!(act2.to_vec(), hex(exp), "{}", r["name"]);
                }
                resp.process_act_three(&hex(&r["act3_input"]))
            });
        if r["result"] == "success" {
            let (rs, t) = res.expect("successful handshake");
            assert_eq!(
                rs.serialize().to_vec(),
                hex("034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa")
            );
            assert_eq!(t.sending_key(), key32(&r, "sk"));
            assert_eq!(t.receiving_key(), key32(&r, "rk"));
        } else {
            let e = res.expect_err(&r["name"]);
            assert!(matches_label(&e, &r["result"]), "{}: got {e:?}", r["name"]);
        }
    }
}

/// The streaming session treats a short act as "need more", never an error,
/// and fails on the same bad acts as the one-shot API.
#[test]
fn bolt8_responder_vectors_streamed_byte_by_byte() {
    let secp = Secp256k1::new();
    for r in records().into_iter().filter(|r| r["role"] == "responder") {
        let ls = StaticKey::new(&secp, sk(&r, "ls_priv"));
        let mut s = NoiseSession::new_inbound(&secp, &ls.public_key(), sk(&r, "e_priv"));
        let mut out = Vec::new();
        let mut input = hex(&r["act1_input"]);
        if let Some(a3) = r.get("act3_input") {
            input.extend(hex(a3));
        }
        let mut result = Ok(());
        let mut done = None;
        'feed: for b in input {
            s.push_input(&[b]);
            loop {
                match s.next_event(&ls, &mut out) {
                    Ok(SessionEvent::NeedMore) => break,
                    Ok(SessionEvent::HandshakeDone { their_node_id }) => done = Some(their_node_id),
                    Ok(_) => {}
                    Err(e) => {
                        result = Err(e);
                        break 'feed;
                    }
                }
            }
        }
        match r["result"].as_str() {
            "success" => assert!(done.is_some() && result.is_ok()),
            l if l.ends_with("READ_FAILED") => {
                assert!(done.is_none() && result.is_ok(), "{}", r["name"])
            }
            l => assert!(
                matches_label(result.as_ref().unwrap_err(), l),
                "{}: {result:?}",
                r["name"]
            ),
        }
        if let Some(a2) = r.get("act2_output") {
            if result.is_ok() {
                assert_eq!(out, hex(a2));
            }
        }
    }
}

#[test]
fn bolt8_message_encryption_vectors() {
    let r = records()
        .into_iter()
        .find(|r| r["role"] == "messages")
        .unwrap();
    let mut t = Transport::new(key32(&r, "ck"), key32(&r, "sk"), key32(&r, "rk"));
    // A receiver with the mirrored keys must open every output.
    let mut rx = Transport::new(key32(&r, "ck"), key32(&r, "rk"), key32(&r, "sk"));
    let msg = hex(&r["plaintext_hex"]);
    let mut checked = 0;
    for i in 0..=1001u32 {
        if let Some(rot) = r.get(&format!("rotation_{i}")) {
            let (_, k) = rot.split_once(' ').unwrap();
            assert_eq!(t.sending_key().to_vec(), hex(k), "rotation before {i}");
        }
        let mut out = Vec::new();
        t.encrypt_message(&msg, &mut out).unwrap();
        if let Some(exp) = r.get(&format!("output_{i}")) {
            assert_eq!(out, hex(exp), "message {i}");
            checked += 1;
        }
        let hdr: [u8; LENGTH_HEADER_LEN] = out[..LENGTH_HEADER_LEN].try_into().unwrap();
        assert_eq!(rx.open_length(&hdr).unwrap() as usize, msg.len());
        rx.open_body_in_place(&mut out[LENGTH_HEADER_LEN..])
            .unwrap();
        assert_eq!(
            &out[LENGTH_HEADER_LEN..LENGTH_HEADER_LEN + msg.len()],
            &msg[..]
        );
    }
    assert_eq!(checked, 6);
}

#[test]
fn bolt8_tampered_message_fails_mac() {
    let r = records()
        .into_iter()
        .find(|r| r["role"] == "messages")
        .unwrap();
    let mut t = Transport::new(key32(&r, "ck"), key32(&r, "sk"), key32(&r, "rk"));
    let mut out = Vec::new();
    t.encrypt_message(b"hello", &mut out).unwrap();
    let mut rx = Transport::new(key32(&r, "ck"), key32(&r, "rk"), key32(&r, "sk"));
    let mut bad = out.clone();
    bad[0] ^= 1;
    assert_eq!(
        rx.open_length(&bad[..18].try_into().unwrap()),
        Err(NoiseError::BadLengthMac)
    );
    let mut rx = Transport::new(key32(&r, "ck"), key32(&r, "rk"), key32(&r, "sk"));
    rx.open_length(&out[..18].try_into().unwrap()).unwrap();
    let n = out.len();
    out[n - 1] ^= 0x80;
    assert_eq!(
        rx.open_body_in_place(&mut out[18..]),
        Err(NoiseError::BadMessageMac)
    );
    assert_eq!(
        t.encrypt_message(&vec![0u8; 65536], &mut Vec::new()),
        Err(NoiseError::MessageTooLong(65536))
    );
}
