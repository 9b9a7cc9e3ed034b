//! Build and sign a counterparty commitment with 0, 30 and 483 HTLCs,
//! including every HTLC signature (what `commitment_signed` costs), and
//! verify it on the receiving side. Prints `name value unit` lines
//! (../shared/BENCHMARKS.md) and the curve operations per commitment.

use bitcoin::hashes::Hash;
use bitcoin::{Amount, OutPoint, Txid};
use lnkit::channel::script::CommitmentFormat;
use lnkit::channel::tx::{ChannelTransactionParameters, Htlc, HtlcDirection};
use lnkit::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use lnkit::sign::{ChannelSigner, CurveOpStats, KeysManager, SignerProvider};
use lnkit::types::PaymentHash;
use std::hint::black_box;
use std::time::Instant;

const CHANNEL_SAT: u64 = 10_000_000;

/// Raw libsecp256k1 costs on this machine, to read the figures against.
fn calibrate() {
    use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
    let secp = Secp256k1::new();
    let sk = SecretKey::from_slice(&[0x42; 32]).expect("valid");
    let pk = PublicKey::from_secret_key(&secp, &sk);
    let msg = Message::from_digest([7; 32]);
    let sig = secp.sign_ecdsa(&msg, &sk);
    let n = 2000;
    let t = Instant::now();
    for i in 0..n {
        black_box(secp.sign_ecdsa(&Message::from_digest([i as u8; 32]), &sk));
    }
    println!(
        "secp_sign_ecdsa_us {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        black_box(secp.verify_ecdsa(&msg, &sig, &pk).is_ok());
    }
    println!(
        "secp_verify_ecdsa_us {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    for _ in 0..n {
        black_box(lnkit::channel::keys::derive_public_key(&pk, &pk).expect("valid"));
    }
    println!(
        "derive_public_key_us {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

fn main() {
    calibrate();
    let ka = KeysManager::new(&[0x11; 32], 1, 0);
    let kb = KeysManager::new(&[0x22; 32], 1, 0);
    let a = ka.derive_in_memory_signer(ka.generate_channel_keys_id(false, 1));
    let b = kb.derive_in_memory_signer(kb.generate_channel_keys_id(true, 2));
    for format in [CommitmentFormat::StaticRemoteKey, CommitmentFormat::Anchors] {
        let tag = match format {
            CommitmentFormat::StaticRemoteKey => "static",
            CommitmentFormat::Anchors => "anchors",
        };
        let a_params = ChannelTransactionParameters {
            holder_pubkeys: *a.pubkeys(),
            counterparty_pubkeys: *b.pubkeys(),
            holder_selected_contest_delay: 144,
            counterparty_selected_contest_delay: 144,
            holder_dust_limit: Amount::from_sat(354),
            counterparty_dust_limit: Amount::from_sat(354),
            is_outbound_from_holder: true,
            funding_outpoint: OutPoint {
                txid: Txid::from_byte_array([7; 32]),
                vout: 0,
            },
            channel_value: Amount::from_sat(CHANNEL_SAT),
            format,
        };
        let b_params = a_params.mirrored();
        for (n_htlcs, iters) in [(0usize, 2000u32), (30, 200), (483, 12)] {
            let htlcs: Vec<Htlc> = (0..n_htlcs)
                .map(|i| Htlc {
                    direction: if i % 2 == 0 {
                        HtlcDirection::HolderOffered
                    } else {
                        HtlcDirection::CounterpartyOffered
                    },
                    amount: MilliSatoshi(1_000_000 + i as u64 * 1000),
                    cltv_expiry: 800_000 + (i % 50) as u32,
                    payment_hash: PaymentHash([(i % 251) as u8; 32]),
                })
                .collect();
            let htlc_total: u64 = htlcs.iter().map(|h| h.amount.0).sum();
            let to_a = MilliSatoshi(6_000_000_000 - htlc_total);
            let to_b = MilliSatoshi(4_000_000_000);
            let flipped: Vec<Htlc> = htlcs
                .iter()
                .map(|h| Htlc {
                    direction: match h.direction {
                        HtlcDirection::HolderOffered => HtlcDirection::CounterpartyOffered,
                        HtlcDirection::CounterpartyOffered => HtlcDirection::HolderOffered,
                    },
                    ..*h
                })
                .collect();
            let number = CommitmentNumber::new(1000).expect("small");
            let pcp = b.per_commitment_point(number).expect("valid");

            // Sender: build B's commitment and sign it with all HTLC signatures.
            let sign_once = || {
                let tx = a_params
                    .build_counterparty_commitment(
                        number,
                        &pcp,
                        to_a,
                        to_b,
                        FeeRatePerKw(253),
                        &htlcs,
                    )
                    .expect("builds");
                a.sign_counterparty_commitment(&a_params, &tx)
                    .expect("signs")
            };
            CurveOpStats::reset();
            let sigs = sign_once();
            let ops = CurveOpStats::snapshot();
            assert_eq!(sigs.htlcs.len(), n_htlcs);
            for _ in 0..iters / 10 + 1 {
                black_box(sign_once());
            }
            let t = Instant::now();
            for _ in 0..iters {
                black_box(sign_once());
            }
            let sign_us = t.elapsed().as_secs_f64() * 1e6 / iters as f64;

            // Receiver: build its own commitment and verify the signatures.
            let verify_once = || {
                let tx = b_params
                    .build_holder_commitment(number, &pcp, to_b, to_a, FeeRatePerKw(253), &flipped)
                    .expect("builds");
                tx.verify_counterparty_signatures(&b_params, &sigs.commitment, &sigs.htlcs)
                    .expect("verifies");
            };
            CurveOpStats::reset();
            verify_once();
            let vops = CurveOpStats::snapshot();
            let t = Instant::now();
            for _ in 0..iters {
                verify_once();
            }
            let verify_us = t.elapsed().as_secs_f64() * 1e6 / iters as f64;

            let name = format!("commitment_{tag}_{n_htlcs}htlc");
            println!("{name}_build_sign_us {sign_us:.1} us");
            println!("{name}_build_sign_per_s {:.1} commitments/s", 1e6 / sign_us);
            println!("{name}_build_verify_us {verify_us:.1} us");
            println!("{name}_sign_curve_ops {} ops", ops.total());
            println!(
                "{name}_sign_curve_ops_detail base_mul={} var_mul={} point_add={} ecdsa_sign={} ecdsa_verify={} ecdh={}",
                ops.base_mul, ops.var_mul, ops.point_add, ops.ecdsa_sign, ops.ecdsa_verify, ops.ecdh
            );
            println!("{name}_verify_curve_ops {} ops", vops.total());
            println!(
                "{name}_verify_curve_ops_detail base_mul={} var_mul={} point_add={} ecdsa_sign={} ecdsa_verify={} ecdh={}",
                vops.base_mul, vops.var_mul, vops.point_add, vops.ecdsa_sign, vops.ecdsa_verify, vops.ecdh
            );
        }
    }
}
