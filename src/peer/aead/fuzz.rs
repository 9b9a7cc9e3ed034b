//! Fuzz entry point for the AEAD (wired into `fuzz/` as target `aead`).

use super::{bolt8_nonce, Bolt8Cipher, ChaCha20Poly1305, TAG_LEN};
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::KeyInit;

/// Differential check: the first 32 bytes are the key, the next 12 the
/// nonce, the next byte the AAD length (mod 64), then AAD, then the
/// plaintext. Our seal must equal the `chacha20poly1305` crate's on both
/// code paths, open must restore the plaintext, and a flipped tag or
/// ciphertext bit must be rejected with the buffer unchanged. The same
/// plaintext is then cut into BOLT 8 packets (lengths from the data) and
/// sealed by a [`Bolt8Cipher`] at a nonce from the data, each compared with
/// the reference and opened by a second one. Panics on any disagreement;
/// never otherwise.
pub fn fuzz_aead(data: &[u8]) {
    if data.len() < 45 {
        return;
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&data[..32]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&data[32..44]);
    let aad_len = (data[44] as usize % 64).min(data.len() - 45);
    let aad = &data[45..45 + aad_len];
    let plain = &data[45 + aad_len..];

    let reference = chacha20poly1305::ChaCha20Poly1305::new((&key).into());
    let mut expected = plain.to_vec();
    let expected_tag: [u8; TAG_LEN] = reference
        .encrypt_in_place_detached((&nonce).into(), aad, &mut expected)
        .expect("short input")
        .into();

    for ours in [
        ChaCha20Poly1305::new(&key),
        ChaCha20Poly1305::new_portable(&key),
    ] {
        let mut buf = plain.to_vec();
        let tag = ours.seal(&nonce, aad, &mut buf).expect("short input");
        assert_eq!(buf, expected, "ciphertext differs from the reference");
        assert_eq!(tag, expected_tag, "tag differs from the reference");

        let mut bad_tag = tag;
        bad_tag[data[0] as usize % TAG_LEN] ^= 1 << (data[1] % 8);
        assert!(ours.open(&nonce, aad, &mut buf, &bad_tag).is_err());
        assert_eq!(buf, expected, "a rejected open must not touch the buffer");
        if !buf.is_empty() {
            let i = data[2] as usize % buf.len();
            buf[i] ^= 0x80;
            assert!(ours.open(&nonce, aad, &mut buf, &tag).is_err());
            buf[i] ^= 0x80;
        }
        ours.open(&nonce, aad, &mut buf, &tag)
            .expect("own ciphertext opens");
        assert_eq!(buf, plain, "open did not restore the plaintext");
    }
    packets(&key, &data[32..44], plain);
}

/// Cuts `plain` into packets and checks [`Bolt8Cipher`] against the
/// reference AEAD (prefix at nonce `n`, body at `n + 1`).
fn packets(key: &[u8; 32], seed: &[u8], plain: &[u8]) {
    let reference = chacha20poly1305::ChaCha20Poly1305::new(key.into());
    let seal = |n: u64, data: &[u8]| {
        let mut buf = data.to_vec();
        let tag: [u8; TAG_LEN] = reference
            .encrypt_in_place_detached((&bolt8_nonce(n)).into(), &[], &mut buf)
            .expect("short input")
            .into();
        (buf, tag)
    };
    // An even start nonce below 1000, and a prefetch limit from the data.
    let mut n = u64::from(u16::from_le_bytes([seed[0], seed[1]]) % 480) * 2;
    let limit = if seed[2] & 1 == 0 { 1000 } else { n + 7 };
    let mut tx = Bolt8Cipher::new(key, limit);
    let mut rx = Bolt8Cipher::new_portable(key, limit);
    let mut rest = plain;
    let mut i = 0;
    while !rest.is_empty() && n + 1 < 1000 {
        let take = (seed[3 + i % 8] as usize * 13 + 1).min(rest.len());
        let (body, tail) = rest.split_at(take);
        rest = tail;
        i += 1;
        let prefix_plain = (body.len() as u16).to_be_bytes();
        let (pc, pt) = seal(n, &prefix_plain);
        let (bc, bt) = seal(n + 1, body);
        let mut prefix = prefix_plain;
        let mut b = body.to_vec();
        let (t1, t2) = tx.seal_packet(n, &mut prefix, &mut b).expect("short");
        assert_eq!((&prefix[..], t1), (&pc[..], pt), "prefix differs");
        assert_eq!((&b, t2), (&bc, bt), "body differs");
        rx.open_prefix(n, &mut prefix, &t1)
            .expect("own prefix opens");
        assert_eq!(prefix, prefix_plain);
        let mut bad = t2;
        bad[i % TAG_LEN] ^= 1;
        assert!(rx.open_body(n, &mut b, &bad).is_err());
        rx.open_body(n, &mut b, &t2).expect("own body opens");
        assert_eq!(b, body);
        n += 2;
    }
}
