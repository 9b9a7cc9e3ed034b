//! Fuzz entry point for the AEAD (wired into `fuzz/` as target `aead`).

use super::{ChaCha20Poly1305, TAG_LEN};
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::KeyInit;

/// Differential check: the first 32 bytes are the key, the next 12 the
/// nonce, the next byte the AAD length (mod 64), then AAD, then the
/// plaintext. Our seal must equal the `chacha20poly1305` crate's on both
/// code paths, open must restore the plaintext, and a flipped tag or
/// ciphertext bit must be rejected with the buffer unchanged. Panics on
/// any disagreement; never otherwise.
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
}
