//! Payment hot-path benches (`harness = false`): prints `name value unit`
//! lines as `../shared/BENCHMARKS.md` asks.
//!
//! - `onion_build_20_hops_per_s`: build a 20-hop payment onion.
//! - `onion_peel_per_s`: peel one (forwarding) layer.
//! - `onion_failure_decode_5_hops_per_s`: decrypt and attribute a failure
//!   from the last of 5 hops (with attribution data; padded to 27 rounds).
//! - `invoice_parse_verify_per_s`: parse an invoice and recover its payee.

use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::TlvStream;
use lnkit::payment::invoice::Bolt11Invoice;
use lnkit::payment::onion::{
    build_payment_onion, peel_payment_onion, Failure, FailureMessage, ForwardPayload, HopPayload,
    PaymentData, ReceivePayload, ReturnedFailure,
};
use lnkit::types::{PaymentSecret, ShortChannelId};
use std::hint::black_box;
use std::time::Instant;

const INVOICE: &str = "lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9q9qrsgqrvgkpnmps664wgkp43l22qsgdw4ve24aca4nymnxddlnp8vh9v2sdxlu5ywdxefsfvm0fq3sesf08uf6q9a2ke0hc9j6z6wlxg5z5kqpu2v9wz";

fn rate(name: &str, unit: &str, iters: u32, mut f: impl FnMut()) {
    for _ in 0..iters / 10 + 1 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{name} {:.1} {unit}", iters as f64 / secs);
}

fn key(i: u32) -> SecretKey {
    let mut b = [0x11u8; 32];
    b[..4].copy_from_slice(&(i + 1).to_be_bytes());
    SecretKey::from_slice(&b).expect("valid key")
}

fn route(secp: &Secp256k1<lnkit::bitcoin::secp256k1::All>, n: u32) -> Vec<(PublicKey, HopPayload)> {
    (0..n)
        .map(|i| {
            let payload = if i + 1 < n {
                HopPayload::Forward(ForwardPayload {
                    short_channel_id: ShortChannelId(0x0a_0000_0100_0000 + i as u64),
                    amt_to_forward: 1_000_000 - i as u64 * 10,
                    outgoing_cltv_value: 800_000 + 40 * (n - i),
                    unknown_tlvs: TlvStream::new(),
                })
            } else {
                HopPayload::Receive(ReceivePayload {
                    amt_to_forward: 1_000_000,
                    outgoing_cltv_value: 800_040,
                    payment_data: Some(PaymentData {
                        payment_secret: PaymentSecret([3; 32]),
                        total_msat: 1_000_000,
                    }),
                    payment_metadata: None,
                    keysend_preimage: None,
                    unknown_tlvs: TlvStream::new(),
                })
            };
            (PublicKey::from_secret_key(secp, &key(i)), payload)
        })
        .collect()
}

fn main() {
    let secp = Secp256k1::new();
    let session = SecretKey::from_slice(&[0x42; 32]).expect("valid key");
    let hash = [7u8; 32];

    let hops20 = route(&secp, 20);
    rate("onion_build_20_hops_per_s", "onions/s", 300, || {
        black_box(build_payment_onion(&secp, &session, black_box(&hops20), &hash).expect("fits"));
    });

    let (packet, _) = build_payment_onion(&secp, &session, &hops20, &hash).expect("fits");
    let k0 = key(0);
    rate("onion_peel_per_s", "peels/s", 5_000, || {
        black_box(peel_payment_onion(&secp, &k0, black_box(&packet), &hash, false).expect("valid"));
    });

    let hops5 = route(&secp, 5);
    let (_, secrets) = build_payment_onion(&secp, &session, &hops5, &hash).expect("fits");
    let failure = Failure::from(FailureMessage::IncorrectOrUnknownPaymentDetails {
        htlc_msat: 1,
        height: 2,
    });
    let mut returned = ReturnedFailure::create(&secrets[4], &failure, 1);
    for ss in secrets[..4].iter().rev() {
        returned.relay(ss, 1);
    }
    rate(
        "onion_failure_decode_5_hops_per_s",
        "failures/s",
        2_000,
        || {
            black_box(returned.decode(black_box(&secrets)));
        },
    );

    // Calibration: the curve operations the above are made of.
    let pk = PublicKey::from_secret_key(&secp, &k0);
    rate("secp_ecdh_per_s", "ops/s", 5_000, || {
        black_box(lnkit::payment::onion::SharedSecret::new(
            black_box(&pk),
            &session,
        ));
    });
    rate("secp_pubkey_from_secret_per_s", "ops/s", 5_000, || {
        black_box(PublicKey::from_secret_key(&secp, black_box(&session)));
    });

    rate("invoice_parse_verify_per_s", "invoices/s", 5_000, || {
        black_box(black_box(INVOICE).parse::<Bolt11Invoice>().expect("valid"));
    });
}
