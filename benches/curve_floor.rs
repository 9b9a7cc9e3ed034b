//! `curve_floor`: what libsecp256k1 costs on this machine, and the least
//! time the protocol's own curve work allows for the `payments` and `noise`
//! workloads of `../shared/BENCHMARKS.md` (not a contract workload).
//!
//! `cargo bench --bench curve_floor` prints one `name value unit` line per
//! operation (microseconds, best of several rounds: hot caches, so a real
//! workload pays more), then the floors:
//!
//! - `floor_pay_serial_us`: the curve work one serial payment cannot avoid
//!   over one channel with BOLT 2/3/4 as written, both nodes together (the
//!   bench drives both in one thread). Two commitment dances sign and
//!   verify four commitments; the signer and the verifier of each derive
//!   its keys (8 key sets: a revocation key — two variable-base
//!   multiplications and an addition — and a delayed key each, plus the
//!   two HTLC keys on the 4 sets of the two commitments that carry the
//!   HTLC); 6 signatures made and checked (4 commitments, 2 HTLC
//!   transactions); 4 per-commitment points made for `revoke_and_ack`, 4
//!   revealed secrets checked against their points; the onion (sender: a
//!   key generation and an ECDH; receiver: a point parse and an ECDH); 4
//!   points parsed from `revoke_and_ack`.
//! - `floor_pay_w50_us`: the same per payment with 50 in flight and
//!   perfect batching: each HTLC is signed and checked once per side (it
//!   lives in one commitment each way), the onion work as above, and the
//!   work of 4 commitments (two dances each way, all 50 adds in one, all
//!   50 removals in the other) shared by 50 payments.
//! - `floor_handshake_us`: a BOLT 8 handshake seen from both ends: six
//!   ECDHs (es, ee, se on each side), two ephemeral key generations, three
//!   point parses (re twice, rs once).
//!
//! Dividing 1 s by a floor gives the highest rate the curve work allows;
//! compare it with LDK's figure in the same sitting to see which ratios
//! are reachable without weaker (variable-time) crypto on secrets.

use lnkit::bitcoin::secp256k1::{ecdh, Message, PublicKey, Scalar, Secp256k1, SecretKey};
use std::hint::black_box;
use std::time::Instant;

/// Best per-call time of `f` in microseconds over 5 rounds of `n` calls.
fn time_us<F: FnMut()>(n: u32, mut f: F) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.2} {unit}");
}

fn main() {
    let secp = Secp256k1::new();
    let sk = SecretKey::from_slice(&[7u8; 32]).expect("valid key");
    let pk = PublicKey::from_secret_key(&secp, &sk);
    let other = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[8u8; 32]).unwrap());
    let tweak = Scalar::from_be_bytes([9u8; 32]).expect("below the order");
    let msg = Message::from_digest([5u8; 32]);
    let sig = secp.sign_ecdsa(&msg, &sk);
    let ser = pk.serialize();
    let n = 2000;

    let keygen = time_us(n, || {
        black_box(PublicKey::from_secret_key(&secp, black_box(&sk)));
    });
    let tweak_add = time_us(n, || {
        black_box(black_box(pk).add_exp_tweak(&secp, &tweak).unwrap());
    });
    let tweak_mul = time_us(n, || {
        black_box(black_box(pk).mul_tweak(&secp, &tweak).unwrap());
    });
    let combine = time_us(n, || {
        black_box(black_box(pk).combine(&other).unwrap());
    });
    let sign = time_us(n, || {
        black_box(secp.sign_ecdsa(black_box(&msg), &sk));
    });
    let verify = time_us(n, || {
        secp.verify_ecdsa(black_box(&msg), &sig, &pk).unwrap();
    });
    let ecdh = time_us(n, || {
        black_box(ecdh::SharedSecret::new(black_box(&other), &sk));
    });
    let parse = time_us(n, || {
        black_box(PublicKey::from_slice(black_box(&ser)).unwrap());
    });
    report("op_keygen_us", keygen, "us");
    report("op_tweak_add_us", tweak_add, "us");
    report("op_tweak_mul_us", tweak_mul, "us");
    report("op_combine_us", combine, "us");
    report("op_sign_us", sign, "us");
    report("op_verify_us", verify, "us");
    report("op_ecdh_us", ecdh, "us");
    report("op_parse_us", parse, "us");

    let key_set = 2.0 * tweak_mul + combine + tweak_add;
    let pay = 8.0 * key_set
        + 4.0 * 2.0 * tweak_add
        + 6.0 * (sign + verify)
        + 8.0 * keygen
        + (keygen + ecdh)
        + (parse + ecdh)
        + 4.0 * parse;
    report("floor_pay_serial_us", pay, "us");
    report("floor_pay_serial_per_s", 1e6 / pay, "payments/s");
    // One commitment, both nodes: key sets on both sides (HTLC keys too),
    // its signature made and checked, a point made and a secret checked.
    let commitment = 2.0 * (key_set + 2.0 * tweak_add) + sign + verify + 2.0 * keygen + parse;
    let w50 = 2.0 * (sign + verify) + (keygen + ecdh) + (parse + ecdh) + 4.0 * commitment / 50.0;
    report("floor_pay_w50_us", w50, "us");
    report("floor_pay_w50_per_s", 1e6 / w50, "payments/s");
    let hs = 6.0 * ecdh + 2.0 * keygen + 3.0 * parse;
    report("floor_handshake_us", hs, "us");
    report("floor_handshakes_per_s", 1e6 / hs, "handshakes/s");
}
