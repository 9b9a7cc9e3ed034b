//! `lnkit::peer::aead` (our ChaCha20-Poly1305) against the RFC 8439 test
//! vectors (Poly1305 §2.5.2 and appendix A.3, AEAD §2.8.2 and appendix A.5)
//! and, by property tests, against the `chacha20poly1305` crate on both the
//! AVX2 (when the CPU has it) and the portable ChaCha20 path.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::KeyInit;
use lnkit::peer::aead::{
    bolt8_nonce, poly1305, AeadError, Bolt8Cipher, ChaCha20Poly1305, Poly1305,
};
use proptest::prelude::*;

/// Hex as the RFC prints it: whitespace is ignored.
fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn arr<const N: usize>(v: &[u8]) -> [u8; N] {
    v.try_into().expect("length")
}

fn both(key: &[u8; 32]) -> [ChaCha20Poly1305; 2] {
    [
        ChaCha20Poly1305::new(key),
        ChaCha20Poly1305::new_portable(key),
    ]
}

/// RFC 8439 §2.5.2 and A.3 #1-#11: (key, message, tag).
const POLY_VECTORS: &[(&str, &str, &str)] = &[
    (
        "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
        "43727970746f6772617068696320466f72756d2052657365617263682047726f7570",
        "a8061dc1305136c6c22b8baf0c0127a9",
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "00000000000000000000000000000000",
    ),
    (
        "0000000000000000000000000000000036e5f6b5c5e06070f0efca96227a863e",
        A3_IETF,
        "36e5f6b5c5e06070f0efca96227a863e",
    ),
    (
        "36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000",
        A3_IETF,
        "f3477e7cd95417af89a6b8794c310cf0",
    ),
    (
        "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
        "2754776173206272696c6c69672c20616e642074686520736c6974687920746f7665730a446964206779726520616e642067696d626c6520696e2074686520776162653a0a416c6c206d696d737920776572652074686520626f726f676f7665732c0a416e6420746865206d6f6d65207261746873206f757467726162652e",
        "4541669a7eaaee61e708dc7cbcc5eb62",
    ),
    (
        "0200000000000000000000000000000000000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffff",
        "03000000000000000000000000000000",
    ),
    (
        "02000000000000000000000000000000ffffffffffffffffffffffffffffffff",
        "02000000000000000000000000000000",
        "03000000000000000000000000000000",
    ),
    (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff11000000000000000000000000000000",
        "05000000000000000000000000000000",
    ),
    (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe01010101010101010101010101010101",
        "00000000000000000000000000000000",
    ),
    (
        "0200000000000000000000000000000000000000000000000000000000000000",
        "fdffffffffffffffffffffffffffffff",
        "faffffffffffffffffffffffffffffff",
    ),
    (
        "0100000000000000040000000000000000000000000000000000000000000000",
        "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000",
        "14000000000000005500000000000000",
    ),
    (
        "0100000000000000040000000000000000000000000000000000000000000000",
        "e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000",
        "13000000000000000000000000000000",
    ),
];

/// RFC 8439 A.3 #2 and #3: the IETF contribution text (375 bytes).
const A3_IETF: &str = "
416e79207375626d697373696f6e20746f20746865204945544620696e74656e
6465642062792074686520436f6e7472696275746f7220666f72207075626c69
636174696f6e20617320616c6c206f722070617274206f6620616e2049455446
20496e7465726e65742d4472616674206f722052464320616e6420616e792073
746174656d656e74206d6164652077697468696e2074686520636f6e74657874
206f6620616e204945544620616374697669747920697320636f6e7369646572
656420616e20224945544620436f6e747269627574696f6e222e205375636820
73746174656d656e747320696e636c756465206f72616c2073746174656d656e
747320696e20494554462073657373696f6e732c2061732077656c6c20617320
7772697474656e20616e6420656c656374726f6e696320636f6d6d756e696361
74696f6e73206d61646520617420616e792074696d65206f7220706c6163652c
207768696368206172652061646472657373656420746f";

#[test]
fn poly1305_rfc8439_vectors() {
    for (i, (key, msg, tag)) in POLY_VECTORS.iter().enumerate() {
        let key: [u8; 32] = arr(&h(key));
        let msg = h(msg);
        assert_eq!(poly1305(&key, &msg).to_vec(), h(tag), "vector {i}");
        // Whole blocks, then the tail, through the incremental API.
        let whole = msg.len() & !15;
        let mut p = Poly1305::new(&key);
        for b in msg[..whole].chunks(48) {
            p.blocks(&b[..b.len() & !15]);
        }
        assert_eq!(p.finish(&msg[whole..]).to_vec(), h(tag), "vector {i} split");
    }
}

#[test]
fn aead_rfc8439_2_8_2_seal() {
    let key: [u8; 32] = arr(&h(
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    ));
    let nonce: [u8; 12] = arr(&h("07000000 4041424344454647"));
    let aad = h("50515253c0c1c2c3c4c5c6c7");
    let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let ct = h("
        d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
        3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
        92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
        3ff4def08e4b7a9de576d26586cec64b6116");
    let tag = h("1ae10b594f09e26a7e902ecbd0600691");
    for aead in both(&key) {
        let mut buf = plain.to_vec();
        let t = aead.seal(&nonce, &aad, &mut buf).unwrap();
        assert_eq!(buf, ct);
        assert_eq!(t.to_vec(), tag);
        aead.open(&nonce, &aad, &mut buf, &t).unwrap();
        assert_eq!(buf, plain);
    }
}

#[test]
fn aead_rfc8439_a5_open() {
    let key: [u8; 32] = arr(&h(
        "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
    ));
    let nonce: [u8; 12] = arr(&h("000000000102030405060708"));
    let aad = h("f33388860000000000004e91");
    let ct = h("
        64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
        4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
        332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
        9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
        b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
        af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
        0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
        49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
        a6ad5cb4022b02709b");
    let tag: [u8; 16] = arr(&h("eead9d67890cbb22392336fea1851f38"));
    let plain = h("
        496e7465726e65742d4472616674732061726520647261667420646f63756d65
        6e74732076616c696420666f722061206d6178696d756d206f6620736978206d
        6f6e74687320616e64206d617920626520757064617465642c207265706c6163
        65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65
        6e747320617420616e792074696d652e20497420697320696e617070726f7072
        6961746520746f2075736520496e7465726e65742d4472616674732061732072
        65666572656e6365206d6174657269616c206f7220746f206369746520746865
        6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67
        726573732e2fe2809d");
    for aead in both(&key) {
        let mut buf = ct.clone();
        let mut bad = tag;
        bad[15] ^= 1;
        assert_eq!(
            aead.open(&nonce, &aad, &mut buf, &bad),
            Err(AeadError::BadTag)
        );
        assert_eq!(buf, ct, "a rejected open leaves the buffer alone");
        aead.open(&nonce, &aad, &mut buf, &tag).unwrap();
        assert_eq!(buf, plain);
        let t = aead.seal(&nonce, &aad, &mut buf).unwrap();
        assert_eq!((buf.as_slice(), t), (ct.as_slice(), tag));
    }
}

fn reference_seal(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    plain: &[u8],
) -> (Vec<u8>, [u8; 16]) {
    let r = chacha20poly1305::ChaCha20Poly1305::new(key.into());
    let mut buf = plain.to_vec();
    let tag = r
        .encrypt_in_place_detached(nonce.into(), aad, &mut buf)
        .unwrap();
    (buf, tag.into())
}

/// A plain Poly1305 (RFC 8439 §2.5) on little-endian 64-bit words, for
/// checking tails independently of the library: schoolbook products, then
/// `2^130 = 5 (mod p)` folding.
fn reference_poly1305(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    const P: [u64; 3] = [0xffff_ffff_ffff_fffb, 0xffff_ffff_ffff_ffff, 3];
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
    let r = [
        word(&key[0..8]) & 0x0fff_fffc_0fff_ffff,
        word(&key[8..16]) & 0x0fff_fffc_0fff_fffc,
    ];
    // x mod p for x given as words (x < 2^256).
    let reduce = |mut x: [u64; 4]| -> [u64; 3] {
        for _ in 0..3 {
            // hi = x >> 130; x = (x mod 2^130) + 5 * hi.
            let hi = [(x[2] >> 2) | (x[3] << 62), x[3] >> 2];
            let lo = [x[0], x[1], x[2] & 3];
            let mut c = 0u128;
            let add = [hi[0] as u128 * 5, hi[1] as u128 * 5];
            let mut out = [0u64; 4];
            for i in 0..4 {
                let a = if i < 3 { lo[i] as u128 } else { 0 };
                let b = if i < 2 { add[i] as u64 as u128 } else { 0 };
                let b_hi = if (1..3).contains(&i) {
                    add[i - 1] >> 64
                } else {
                    0
                };
                let t = a + b + b_hi + c;
                out[i] = t as u64;
                c = t >> 64;
            }
            x = out;
        }
        let mut h = [x[0], x[1], x[2]];
        // One conditional subtraction of p (h < 2p here).
        let ge = (h[2], h[1], h[0]) >= (P[2], P[1], P[0]);
        if ge {
            let (a, b0) = h[0].overflowing_sub(P[0]);
            let (b, b1) = h[1].overflowing_sub(P[1] + b0 as u64);
            h = [a, b, h[2] - P[2] - b1 as u64];
        }
        h
    };
    let mut h = [0u64; 3];
    for chunk in msg.chunks(16) {
        let mut b = [0u8; 17];
        b[..chunk.len()].copy_from_slice(chunk);
        b[chunk.len()] = 1;
        // h += block
        let m = [word(&b[0..8]), word(&b[8..16]), b[16] as u64];
        let mut c = 0u128;
        for i in 0..3 {
            let t = h[i] as u128 + m[i] as u128 + c;
            h[i] = t as u64;
            c = t >> 64;
        }
        // h *= r
        let mut prod = [0u128; 5];
        for i in 0..3 {
            for j in 0..2 {
                let t = h[i] as u128 * r[j] as u128;
                prod[i + j] += t as u64 as u128;
                prod[i + j + 1] += t >> 64;
            }
        }
        let mut x = [0u64; 4];
        let mut c = 0u128;
        for i in 0..4 {
            let t = prod[i] + c;
            x[i] = t as u64;
            c = t >> 64;
        }
        h = reduce(x);
    }
    let s = [word(&key[16..24]), word(&key[24..32])];
    let (lo, c) = h[0].overflowing_add(s[0]);
    let hi = h[1].wrapping_add(s[1]).wrapping_add(c as u64);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&lo.to_le_bytes());
    out[8..].copy_from_slice(&hi.to_le_bytes());
    out
}

/// The reference above agrees with RFC 8439's Poly1305 vectors.
#[test]
fn reference_poly1305_matches_rfc_vectors() {
    for (key, msg, tag) in POLY_VECTORS {
        let key: [u8; 32] = arr(&h(key));
        assert_eq!(reference_poly1305(&key, &h(msg)).to_vec(), h(tag));
    }
}

/// Every body length from 0 to 300 bytes (every Poly1305 tail length, on
/// both sides of the 128-byte AVX2 threshold and with 0 to 3 leftover
/// 16-byte blocks) and AAD lengths with and without a partial block, on
/// both code paths and through `Poly1305` with the portable code forced,
/// against the `chacha20poly1305` crate.
#[test]
fn every_short_length_matches_reference() {
    let key: [u8; 32] = core::array::from_fn(|i| (i * 29 + 3) as u8);
    let nonce: [u8; 12] = core::array::from_fn(|i| (i * 7 + 1) as u8);
    for aad_len in [0usize, 5, 16, 21] {
        let aad: Vec<u8> = (0..aad_len).map(|i| (i * 13) as u8).collect();
        for len in 0..=300usize {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let (ct, tag) = reference_seal(&key, &nonce, &aad, &plain);
            for aead in both(&key) {
                let mut buf = plain.clone();
                let t = aead.seal(&nonce, &aad, &mut buf).unwrap();
                assert_eq!((&buf, t), (&ct, tag), "seal len {len} aad {aad_len}");
                aead.open(&nonce, &aad, &mut buf, &tag).unwrap();
                assert_eq!(buf, plain, "open len {len} aad {aad_len}");
            }
            let pkey: [u8; 32] = core::array::from_fn(|i| (i * 5 + len) as u8);
            let whole = len & !15;
            let expected = reference_poly1305(&pkey, &plain);
            let mut slow = Poly1305::new(&pkey).portable();
            slow.blocks(&plain[..whole]);
            assert_eq!(slow.finish(&plain[whole..]), expected, "portable len {len}");
            assert_eq!(poly1305(&pkey, &plain), expected, "poly1305 len {len}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn aead_matches_chacha20poly1305_crate(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..80),
        plain in proptest::collection::vec(any::<u8>(), 0..3000),
        flip in any::<(usize, u8)>(),
    ) {
        let (ct, tag) = reference_seal(&key, &nonce, &aad, &plain);
        for aead in both(&key) {
            let mut buf = plain.clone();
            let t = aead.seal(&nonce, &aad, &mut buf).unwrap();
            prop_assert_eq!(&buf, &ct);
            prop_assert_eq!(t, tag);
            // A tampered tag, then a tampered ciphertext, are rejected.
            let mut bad = tag;
            bad[flip.0 % 16] ^= flip.1 | 1;
            prop_assert_eq!(aead.open(&nonce, &aad, &mut buf, &bad), Err(AeadError::BadTag));
            prop_assert_eq!(&buf, &ct);
            if !buf.is_empty() {
                let i = flip.0 % buf.len();
                buf[i] ^= flip.1 | 1;
                prop_assert!(aead.open(&nonce, &aad, &mut buf, &tag).is_err());
                buf[i] ^= flip.1 | 1;
            }
            aead.open(&nonce, &aad, &mut buf, &tag).unwrap();
            prop_assert_eq!(&buf, &plain);
        }
    }

    #[test]
    fn poly1305_avx2_and_portable_agree(
        key in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..3000),
        cut in any::<usize>(),
    ) {
        let whole = msg.len() & !15;
        let cut = if whole == 0 { 0 } else { (cut % whole) & !15 };
        let mut fast = Poly1305::new(&key);
        let mut slow = Poly1305::new(&key).portable();
        for p in [&mut fast, &mut slow] {
            p.blocks(&msg[..cut]);
            p.blocks(&msg[cut..whole]);
        }
        let expected = poly1305(&key, &msg);
        prop_assert_eq!(fast.finish(&msg[whole..]), expected);
        prop_assert_eq!(slow.finish(&msg[whole..]), expected);
    }

    #[test]
    fn bolt8_packets_match_reference(
        key in any::<[u8; 32]>(),
        start in 0u64..480,
        near_limit in any::<bool>(),
        lens in proptest::collection::vec(0usize..2100, 1..7),
        flip in any::<(usize, u8)>(),
    ) {
        let n0 = start * 2;
        // A limit right after these packets makes the last ones skip prefetching.
        let limit = if near_limit { n0 + 2 * lens.len() as u64 + 1 } else { 1000 };
        let senders = [Bolt8Cipher::new(&key, limit), Bolt8Cipher::new_portable(&key, limit)];
        for mut tx in senders {
            let mut rx = Bolt8Cipher::new(&key, limit);
            let mut n = n0;
            for (i, len) in lens.iter().enumerate() {
                let body: Vec<u8> = (0..*len).map(|j| (j * 7 + i) as u8).collect();
                let prefix_plain = (*len as u16).to_be_bytes();
                let (pc, pt) = reference_seal(&key, &bolt8_nonce(n), &[], &prefix_plain);
                let (bc, bt) = reference_seal(&key, &bolt8_nonce(n + 1), &[], &body);
                let mut prefix = prefix_plain;
                let mut b = body.clone();
                let (t1, t2) = tx.seal_packet(n, &mut prefix, &mut b).unwrap();
                prop_assert_eq!((prefix.to_vec(), t1), (pc, pt));
                prop_assert_eq!((&b, t2), (&bc, bt));

                let mut bad = t1;
                bad[flip.0 % 16] ^= flip.1 | 1;
                prop_assert_eq!(rx.open_prefix(n, &mut prefix, &bad), Err(AeadError::BadTag));
                rx.open_prefix(n, &mut prefix, &t1).unwrap();
                prop_assert_eq!(prefix, prefix_plain);
                let mut bad = t2;
                bad[flip.0 % 16] ^= flip.1 | 1;
                prop_assert_eq!(rx.open_body(n, &mut b, &bad), Err(AeadError::BadTag));
                prop_assert_eq!(&b, &bc);
                rx.open_body(n, &mut b, &t2).unwrap();
                prop_assert_eq!(&b, &body);
                n += 2;
            }
        }
    }
}
