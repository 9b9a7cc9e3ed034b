//! Property tests of BOLT 3 transactions and key storage.

mod sign_common;

use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::{Amount, ScriptBuf};
use lnkit::channel::keys::{
    build_commitment_secret, CommitmentKeys, CounterpartyCommitmentSecrets,
};
use lnkit::channel::script::{
    anchor_script, commitment_tx_weight, CommitmentFormat, ANCHOR_OUTPUT_VALUE,
};
use lnkit::channel::tx::{is_trimmed, ChannelTransactionParameters, Htlc, HtlcDirection};
use lnkit::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use lnkit::codec::{DecodeError, Readable, Writeable};
use lnkit::sign::{ChannelSigner, CurveOpStats, InMemorySigner};
use lnkit::types::PaymentHash;
use proptest::prelude::*;
use sign_common::pair;

const CHANNEL_SAT: u64 = 10_000_000;

#[derive(Debug, Clone)]
struct Scenario {
    anchors: bool,
    a_funds: bool,
    feerate: u32,
    a_dust: u64,
    b_dust: u64,
    htlcs: Vec<Htlc>,
    holder_share: u64, // per mille of what is left after HTLCs
    number: u64,
    pcp_seed: [u8; 32],
}

fn htlc() -> impl Strategy<Value = Htlc> {
    (any::<bool>(), 0u64..30_000_000, 500_000u32..500_004, 0u8..3).prop_map(
        |(holder, amount, cltv, h)| Htlc {
            direction: if holder {
                HtlcDirection::HolderOffered
            } else {
                HtlcDirection::CounterpartyOffered
            },
            amount: MilliSatoshi(amount),
            cltv_expiry: cltv,
            payment_hash: PaymentHash([h; 32]),
        },
    )
}

fn scenario(max_htlcs: usize) -> impl Strategy<Value = Scenario> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![0u32..300, 253u32..20_000, 100_000u32..10_000_000],
        294u64..5_000,
        294u64..5_000,
        prop::collection::vec(htlc(), 0..max_htlcs),
        0u64..=1000,
        0u64..1_000_000,
        prop::array::uniform32(1u8..255),
    )
        .prop_map(
            |(anchors, a_funds, feerate, a_dust, b_dust, htlcs, holder_share, number, pcp_seed)| {
                Scenario {
                    anchors,
                    a_funds,
                    feerate,
                    a_dust,
                    b_dust,
                    htlcs,
                    holder_share,
                    number,
                    pcp_seed,
                }
            },
        )
}

struct Built {
    pair: sign_common::Pair,
    to_a: MilliSatoshi,
    to_b: MilliSatoshi,
    pcp: PublicKey,
}

fn setup(s: &Scenario) -> Built {
    let format = if s.anchors {
        CommitmentFormat::Anchors
    } else {
        CommitmentFormat::StaticRemoteKey
    };
    let mut pair = pair(format, CHANNEL_SAT, s.a_dust, s.b_dust);
    pair.a_params.is_outbound_from_holder = s.a_funds;
    pair.b_params = pair.a_params.mirrored();
    let htlc_total: u64 = s.htlcs.iter().map(|h| h.amount.0).sum();
    let rest = CHANNEL_SAT * 1000 - htlc_total;
    let to_a = rest / 1000 * s.holder_share;
    let secp = Secp256k1::new();
    let pcp = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&s.pcp_seed).unwrap());
    Built {
        pair,
        to_a: MilliSatoshi(to_a),
        to_b: MilliSatoshi(rest - to_a),
        pcp,
    }
}

fn flip(htlcs: &[Htlc]) -> Vec<Htlc> {
    htlcs
        .iter()
        .map(|h| Htlc {
            direction: match h.direction {
                HtlcDirection::HolderOffered => HtlcDirection::CounterpartyOffered,
                HtlcDirection::CounterpartyOffered => HtlcDirection::HolderOffered,
            },
            ..*h
        })
        .collect()
}

fn sat(m: u64) -> u64 {
    m / 1000
}

fn check_accounting(
    params: &ChannelTransactionParameters,
    s: &Scenario,
    b: &Built,
) -> Result<(), TestCaseError> {
    let n = CommitmentNumber::new(s.number).unwrap();
    let feerate = FeeRatePerKw(s.feerate);
    let tx = params
        .build_holder_commitment(n, &b.pcp, b.to_a, b.to_b, feerate, &s.htlcs)
        .unwrap();
    let outs = &tx.transaction().output;
    let out_sum: u64 = outs.iter().map(|o| o.value.to_sat()).sum();
    prop_assert_eq!(out_sum + tx.fee().to_sat(), CHANNEL_SAT);

    // Independent recomputation of BOLT 3's construction.
    let format = params.format;
    let dust = params.holder_dust_limit;
    let (mut untrimmed, mut trimmed_sat) = (0usize, 0u64);
    for h in &s.htlcs {
        if is_trimmed(
            format,
            feerate,
            dust,
            h.amount,
            h.direction == HtlcDirection::HolderOffered,
        ) {
            trimmed_sat += sat(h.amount.0);
        } else {
            untrimmed += 1;
        }
    }
    prop_assert_eq!(tx.htlcs().len(), untrimmed);
    prop_assert_eq!(tx.trimmed_htlcs().len(), s.htlcs.len() - untrimmed);
    let base_fee = s.feerate as u64 * commitment_tx_weight(format, untrimmed) / 1000;
    let anchors = if format.has_anchors() {
        2 * ANCHOR_OUTPUT_VALUE.to_sat()
    } else {
        0
    };
    let (funder_floor, other_floor) = if params.is_outbound_from_holder {
        (sat(b.to_a.0), sat(b.to_b.0))
    } else {
        (sat(b.to_b.0), sat(b.to_a.0))
    };
    let deducted = (base_fee + anchors).min(funder_floor);
    let funder_after = funder_floor - deducted;
    let dust_balances = [funder_after, other_floor]
        .iter()
        .filter(|v| **v < dust.to_sat())
        .sum::<u64>();
    let rounding = CHANNEL_SAT
        - sat(b.to_a.0)
        - sat(b.to_b.0)
        - s.htlcs.iter().map(|h| sat(h.amount.0)).sum::<u64>();
    let anchor_spks = [
        &params.holder_pubkeys.funding_pubkey,
        &params.counterparty_pubkeys.funding_pubkey,
    ]
    .map(|k| ScriptBuf::new_p2wsh(&anchor_script(k).wscript_hash()));
    let anchor_outputs = outs
        .iter()
        .filter(|o| anchor_spks.contains(&o.script_pubkey))
        .count() as u64;
    if !format.has_anchors() {
        prop_assert_eq!(anchor_outputs, 0);
    } else {
        // Construction step 8: each anchor iff its side's output exists or any HTLC is untrimmed.
        let holder_out = tx.to_broadcaster_output().is_some();
        let other_out = tx.to_countersignatory_output().is_some();
        let expected = (holder_out || untrimmed > 0) as u64 + (other_out || untrimmed > 0) as u64;
        prop_assert_eq!(anchor_outputs, expected);
    }
    // Outputs + fee = funding amount, where the fee is the base fee (as far
    // as the funder can pay it) plus trimmed dust and msat rounding, and
    // anchors are outputs paid by the funder.
    let expected_fee = rounding + trimmed_sat + deducted + dust_balances
        - anchor_outputs * ANCHOR_OUTPUT_VALUE.to_sat();
    prop_assert_eq!(tx.fee().to_sat(), expected_fee);
    if funder_floor >= base_fee + anchors {
        prop_assert!(tx.fee().to_sat() >= base_fee);
    }

    // BIP 69 + CLTV order, and the HTLC bookkeeping points at its outputs.
    for w in outs.windows(2) {
        prop_assert!(
            (w[0].value, w[0].script_pubkey.as_bytes())
                <= (w[1].value, w[1].script_pubkey.as_bytes())
        );
    }
    for w in tx.htlcs().windows(2) {
        prop_assert!(w[0].output_index < w[1].output_index);
        let (o0, o1) = (
            &outs[w[0].output_index as usize],
            &outs[w[1].output_index as usize],
        );
        if o0 == o1 {
            prop_assert!(w[0].htlc.cltv_expiry <= w[1].htlc.cltv_expiry);
        }
    }
    for h in tx.htlcs() {
        let o = &outs[h.output_index as usize];
        prop_assert_eq!(o.value, h.value());
        prop_assert_eq!(
            &o.script_pubkey,
            &ScriptBuf::new_p2wsh(&h.witness_script.wscript_hash())
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn bolt3_outputs_plus_fee_equal_funding(s in scenario(12)) {
        let b = setup(&s);
        check_accounting(&b.pair.a_params, &s, &b)?;
    }

    #[test]
    fn bolt3_mirrored_views_build_identical_transactions(s in scenario(12)) {
        let b = setup(&s);
        let n = CommitmentNumber::new(s.number).unwrap();
        let f = FeeRatePerKw(s.feerate);
        let (p, ap, bp) = (&b.pair, &b.pair.a_params, &b.pair.b_params);
        let _ = p;
        let a_holder = ap.build_holder_commitment(n, &b.pcp, b.to_a, b.to_b, f, &s.htlcs).unwrap();
        let b_view = bp.build_counterparty_commitment(n, &b.pcp, b.to_b, b.to_a, f, &flip(&s.htlcs)).unwrap();
        prop_assert_eq!(a_holder.transaction(), b_view.transaction());
        prop_assert_eq!(a_holder.keys(), b_view.keys());
        let ai: Vec<u32> = a_holder.htlcs().iter().map(|h| h.output_index).collect();
        let bi: Vec<u32> = b_view.htlcs().iter().map(|h| h.output_index).collect();
        prop_assert_eq!(ai, bi);
        // And the other commitment: B's own, as A sees it.
        let b_holder = bp.build_holder_commitment(n, &b.pcp, b.to_b, b.to_a, f, &flip(&s.htlcs)).unwrap();
        let a_view = ap.build_counterparty_commitment(n, &b.pcp, b.to_a, b.to_b, f, &s.htlcs).unwrap();
        prop_assert_eq!(b_holder.transaction(), a_view.transaction());
    }

    #[test]
    fn commitment_number_secret_index_round_trip(x in 0u64..(1 << 48)) {
        let n = CommitmentNumber::new(x).unwrap();
        prop_assert_eq!(CommitmentNumber::from_secret_index(n.secret_index()), Some(n));
        prop_assert!(CommitmentNumber::new(x + (1 << 48)).is_none());
    }

    #[test]
    fn shachain_stores_and_persists_every_secret(seed in prop::array::uniform32(any::<u8>()), count in 1usize..300) {
        let top = (1u64 << 48) - 1;
        let mut store = CounterpartyCommitmentSecrets::new();
        for i in 0..count as u64 {
            store.insert_secret(build_commitment_secret(&seed, top - i), top - i).unwrap();
        }
        let back = CounterpartyCommitmentSecrets::read(&mut &store.encode()[..]).unwrap();
        prop_assert!(back == store);
        for i in 0..count as u64 {
            prop_assert_eq!(back.get_secret(top - i), Some(build_commitment_secret(&seed, top - i)));
        }
        prop_assert_eq!(back.get_secret(top - count as u64), None);
        // A secret from another seed is refused (at the latest when the
        // next power-of-two boundary checks it); it is never silently kept.
        let mut other = seed;
        other[0] ^= 1;
        let mut refused = false;
        let mut s2 = store.clone();
        for i in count as u64..count as u64 + 600 {
            let secret = if i == count as u64 { build_commitment_secret(&other, top - i) } else { build_commitment_secret(&seed, top - i) };
            if s2.insert_secret(secret, top - i).is_err() {
                refused = true;
                break;
            }
        }
        prop_assert!(refused);
    }

    #[test]
    fn decoders_never_panic(data in prop::collection::vec(any::<u8>(), 0..400)) {
        lnkit::channel::fuzz::fuzz_counterparty_commitment_secrets(&data);
        lnkit::sign::fuzz::fuzz_in_memory_signer(&data);
        let _ = ChannelTransactionParameters::read(&mut &data[..]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn every_signature_verifies_against_derived_keys(s in scenario(20)) {
        let b = setup(&s);
        let n = CommitmentNumber::new(s.number).unwrap();
        let f = FeeRatePerKw(s.feerate);
        let (pa, pb) = (&b.pair.a_params, &b.pair.b_params);
        let a_holder = pa.build_holder_commitment(n, &b.pcp, b.to_a, b.to_b, f, &s.htlcs).unwrap();
        let b_view = pb.build_counterparty_commitment(n, &b.pcp, b.to_b, b.to_a, f, &flip(&s.htlcs)).unwrap();
        let sigs = b.pair.b.sign_counterparty_commitment(pb, &b_view).unwrap();
        prop_assert!(a_holder.verify_counterparty_signatures(pa, &sigs.commitment, &sigs.htlcs).is_ok());
        // A tampered signature set is rejected.
        if let Some(first) = sigs.htlcs.first() {
            let mut swapped = sigs.htlcs.clone();
            swapped[0] = sigs.commitment;
            prop_assert!(a_holder.verify_counterparty_signatures(pa, &sigs.commitment, &swapped).is_err());
            prop_assert!(a_holder.verify_counterparty_signatures(pa, first, &sigs.htlcs).is_err());
        }
        // Our own signatures verify against our keys for this commitment.
        let secp = Secp256k1::verification_only();
        let own = b.pair.a.sign_holder_commitment(pa, &a_holder).unwrap();
        secp.verify_ecdsa(&Message::from_digest(a_holder.funding_sighash()), &own, &pa.holder_pubkeys.funding_pubkey).unwrap();
        let own_htlc = b.pair.a.sign_holder_htlc_transactions(pa, &a_holder).unwrap();
        for (h, sig) in a_holder.htlc_sighashes(EcdsaSighashType::All).iter().zip(&own_htlc) {
            secp.verify_ecdsa(&Message::from_digest(*h), sig, &a_holder.keys().htlc.expect("htlc keys").broadcaster).unwrap();
        }
    }
}

#[test]
fn per_commitment_keys_are_derived_once_per_commitment() {
    // Curve operations for signing a counterparty commitment grow only by
    // one signature per HTLC: keys are derived per commitment, not per HTLC.
    let p = pair(CommitmentFormat::Anchors, CHANNEL_SAT, 354, 354);
    let pcp = p.b.per_commitment_point(CommitmentNumber::ZERO).unwrap();
    let cost = |n_htlcs: usize| {
        let htlcs: Vec<Htlc> = (0..n_htlcs)
            .map(|i| Htlc {
                direction: if i % 2 == 0 {
                    HtlcDirection::HolderOffered
                } else {
                    HtlcDirection::CounterpartyOffered
                },
                amount: MilliSatoshi(1_000_000 + i as u64),
                cltv_expiry: 500_000 + i as u32,
                payment_hash: PaymentHash([i as u8; 32]),
            })
            .collect();
        let total: u64 = htlcs.iter().map(|h| h.amount.0).sum();
        CurveOpStats::reset();
        let tx = p
            .a_params
            .build_counterparty_commitment(
                CommitmentNumber::ZERO,
                &pcp,
                MilliSatoshi(5_000_000_000 - total),
                MilliSatoshi(5_000_000_000),
                FeeRatePerKw(253),
                &htlcs,
            )
            .unwrap();
        let sigs = p.a.sign_counterparty_commitment(&p.a_params, &tx).unwrap();
        assert_eq!(sigs.htlcs.len(), n_htlcs);
        CurveOpStats::snapshot()
    };
    let zero = cost(0);
    let one = cost(1);
    let thirty = cost(30);
    assert_eq!(zero.ecdsa_sign, 1);
    assert_eq!(one.ecdsa_sign, 2);
    assert_eq!(thirty.ecdsa_sign, 31);
    assert_eq!(
        CurveOpStats {
            ecdsa_sign: 0,
            ..thirty
        },
        CurveOpStats {
            ecdsa_sign: 0,
            ..one
        },
        "key derivation must not depend on the number of HTLCs"
    );
    // With HTLC outputs: 3 tweak-adds (k*G + add each: delayed key and the
    // two HTLC keys) and one revocation key (2 k*P + add).
    assert_eq!(one.base_mul, 3);
    assert_eq!(one.var_mul, 2);
    assert_eq!(one.point_add, 4);
    // Without HTLC outputs the HTLC keys are not derived.
    assert_eq!(zero.base_mul, 1);
    assert_eq!(zero.var_mul, 2);
    assert_eq!(zero.point_add, 2);
}

#[test]
fn htlc_keys_are_derived_only_for_commitments_with_htlc_outputs() {
    let p = pair(CommitmentFormat::Anchors, CHANNEL_SAT, 354, 354);
    let pcp = p.a.per_commitment_point(CommitmentNumber::ZERO).unwrap();
    let n = CommitmentNumber::ZERO;
    let f = FeeRatePerKw(253);
    let htlc = |sat: u64| Htlc {
        direction: HtlcDirection::HolderOffered,
        amount: MilliSatoshi(sat * 1000),
        cltv_expiry: 500_000,
        payment_hash: PaymentHash([7; 32]),
    };
    let half = MilliSatoshi(CHANNEL_SAT * 500);
    for (htlcs, outputs) in [
        (vec![], false),
        (vec![htlc(100)], false), // dust: trimmed, no output
        (vec![htlc(100), htlc(50_000)], true),
    ] {
        let total: u64 = htlcs.iter().map(|h: &Htlc| h.amount.0).sum();
        let to_a = MilliSatoshi(half.0 - total);
        let lean = p
            .a_params
            .build_holder_commitment(n, &pcp, to_a, half, f, &htlcs)
            .unwrap();
        let full_keys = p.a_params.holder_commitment_keys(&pcp).unwrap();
        let full = p
            .a_params
            .build_holder_commitment_with_keys(n, &full_keys, to_a, half, f, &htlcs)
            .unwrap();
        // The same transaction either way.
        assert_eq!(lean.transaction(), full.transaction());
        assert_eq!(lean.htlcs().is_empty(), !outputs);
        assert_eq!(lean.keys().htlc.is_some(), outputs);
        assert_eq!(full.keys().htlc, full_keys.htlc);
        assert_eq!(
            lean.keys().revocation_key,
            full_keys.revocation_key,
            "revocation key"
        );
        // And the peer verifies our signatures on it either way.
        let mirrored = p
            .b_params
            .build_counterparty_commitment(n, &pcp, half, to_a, f, &flip(&htlcs))
            .unwrap();
        let sigs =
            p.b.sign_counterparty_commitment(&p.b_params, &mirrored)
                .unwrap();
        lean.verify_counterparty_signatures(&p.a_params, &sigs.commitment, &sigs.htlcs)
            .unwrap();
    }
}

#[test]
fn commitment_keys_round_trip_with_and_without_htlc_keys() {
    let p = pair(CommitmentFormat::Anchors, CHANNEL_SAT, 354, 354);
    let pcp = p.a.per_commitment_point(CommitmentNumber::ZERO).unwrap();
    let b = &p.a_params.holder_pubkeys;
    let c = &p.a_params.counterparty_pubkeys;
    let full = CommitmentKeys::derive(&pcp, b, c).unwrap();
    let lean = CommitmentKeys::derive_without_htlc_keys(&pcp, b, c).unwrap();
    assert_eq!(CommitmentKeys { htlc: None, ..full }, lean);
    for keys in [full, lean] {
        let bytes = keys.encode();
        assert_eq!(bytes.len(), keys.size_hint());
        assert_eq!(CommitmentKeys::read(&mut &bytes[..]).unwrap(), keys);
    }
    // The presence flag is 0 or 1, nothing else.
    let mut bad = lean.encode();
    *bad.last_mut().unwrap() = 2;
    assert_eq!(
        CommitmentKeys::read(&mut &bad[..]),
        Err(DecodeError::InvalidValue)
    );
}

#[test]
fn in_memory_signer_round_trips_through_codec() {
    let p = pair(CommitmentFormat::StaticRemoteKey, CHANNEL_SAT, 354, 354);
    let bytes = p.a.encode();
    let back = InMemorySigner::read(&mut &bytes[..]).unwrap();
    assert_eq!(back.pubkeys(), p.a.pubkeys());
    let params_bytes = p.a_params.encode();
    assert_eq!(
        ChannelTransactionParameters::read(&mut &params_bytes[..]).unwrap(),
        p.a_params
    );
    let _ = Amount::ZERO;
}

#[test]
fn hostile_limits_do_not_panic() {
    // The peer chooses its dust limit (u64) and the fee rate (u32).
    for format in [CommitmentFormat::StaticRemoteKey, CommitmentFormat::Anchors] {
        let mut p = pair(format, CHANNEL_SAT, u64::MAX, u64::MAX);
        p.a_params.holder_dust_limit = Amount::MAX;
        let pcp = p.a.per_commitment_point(CommitmentNumber::ZERO).unwrap();
        let htlc = Htlc {
            direction: HtlcDirection::HolderOffered,
            amount: MilliSatoshi(1_000_000),
            cltv_expiry: 1,
            payment_hash: PaymentHash([0; 32]),
        };
        let tx = p
            .a_params
            .build_holder_commitment(
                CommitmentNumber::ZERO,
                &pcp,
                MilliSatoshi(CHANNEL_SAT * 1000 - 1_000_000),
                MilliSatoshi(0),
                FeeRatePerKw(u32::MAX),
                &[htlc],
            )
            .unwrap();
        assert!(tx.transaction().output.is_empty());
        assert_eq!(tx.fee(), Amount::from_sat(CHANNEL_SAT));
        // A mismatched balance is a typed error.
        assert!(p
            .a_params
            .build_holder_commitment(
                CommitmentNumber::ZERO,
                &pcp,
                MilliSatoshi(u64::MAX),
                MilliSatoshi(u64::MAX),
                FeeRatePerKw(1),
                &[htlc]
            )
            .is_err());
    }
}

#[test]
fn commitment_keys_are_bound_to_their_channel() {
    use lnkit::channel::tx::TxBuildError;
    let p = pair(CommitmentFormat::StaticRemoteKey, CHANNEL_SAT, 354, 354);
    let pcp = p.a.per_commitment_point(CommitmentNumber::ZERO).unwrap();
    let keys = p.a_params.holder_commitment_keys(&pcp).unwrap();
    let bal = (
        MilliSatoshi(CHANNEL_SAT * 600),
        MilliSatoshi(CHANNEL_SAT * 400),
    );
    let n = CommitmentNumber::ZERO;
    let f = FeeRatePerKw(253);
    let with = p
        .a_params
        .build_holder_commitment_with_keys(n, &keys, bal.0, bal.1, f, &[])
        .unwrap();
    let plain = p
        .a_params
        .build_holder_commitment(n, &pcp, bal.0, bal.1, f, &[])
        .unwrap();
    // The same transaction; `plain` skipped the HTLC keys it has no use for.
    assert_eq!(with.transaction(), plain.transaction());
    assert_eq!(plain.keys().htlc, None);
    assert_eq!(
        lnkit::channel::keys::CommitmentKeys {
            htlc: None,
            ..*with.keys()
        },
        *plain.keys()
    );
    // Reusing derived keys costs no curve operation.
    CurveOpStats::reset();
    p.a_params
        .build_holder_commitment_with_keys(n, &keys, bal.0, bal.1, f, &[])
        .unwrap();
    assert_eq!(CurveOpStats::snapshot().total(), 0);
    // Keys of the same point for B's view of this channel (B broadcasting) are refused.
    let other = p.b_params.holder_commitment_keys(&pcp).unwrap();
    assert_eq!(
        p.a_params
            .build_holder_commitment_with_keys(n, &other, bal.0, bal.1, f, &[]),
        Err(TxBuildError::KeysMismatch)
    );
    // The peer's keys for its commitment, as B's holder keys, match A's counterparty keys.
    assert_eq!(
        *p.a_params.counterparty_commitment_keys(&pcp).unwrap(),
        *other
    );
}
