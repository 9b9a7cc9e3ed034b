//! The channel signer's policies and persistence.

mod sign_common;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    absolute::LockTime, transaction::Version, Amount, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Witness,
};
use lnkit::channel::keys::{per_commitment_point, CounterpartyCommitmentSecrets};
use lnkit::channel::script::{
    anchor_script, to_local_script, CommitmentFormat, ANCHOR_OUTPUT_VALUE,
};
use lnkit::channel::tx::{ClosingTransaction, HolderCommitmentTransaction, Htlc, HtlcDirection};
use lnkit::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use lnkit::codec::{Readable, Writeable};
use lnkit::sign::{ChannelSigner, InMemorySigner, SignError};
use lnkit::types::PaymentHash;
use sign_common::{pair, Pair};

fn n(x: u64) -> CommitmentNumber {
    CommitmentNumber::new(x).unwrap()
}

fn htlcs() -> Vec<Htlc> {
    vec![
        Htlc {
            direction: HtlcDirection::HolderOffered,
            amount: MilliSatoshi(5_000_000),
            cltv_expiry: 600_000,
            payment_hash: PaymentHash([1; 32]),
        },
        Htlc {
            direction: HtlcDirection::CounterpartyOffered,
            amount: MilliSatoshi(7_000_000),
            cltv_expiry: 600_010,
            payment_hash: PaymentHash([2; 32]),
        },
    ]
}

fn holder_commitment(p: &Pair, number: CommitmentNumber) -> HolderCommitmentTransaction {
    let pcp = p.a.per_commitment_point(number).unwrap();
    p.a_params
        .build_holder_commitment(
            number,
            &pcp,
            MilliSatoshi(600_000_000),
            MilliSatoshi(388_000_000),
            FeeRatePerKw(253),
            &htlcs(),
        )
        .unwrap()
}

fn new_pair() -> Pair {
    pair(CommitmentFormat::Anchors, 1_000_000, 354, 354)
}

#[test]
fn policy_revoke_needs_next_commitment() {
    let p = new_pair();
    p.a.validate_holder_commitment(&p.a_params, &holder_commitment(&p, n(0)))
        .unwrap();
    assert_eq!(
        p.a.release_commitment_secret(n(0)),
        Err(SignError::NoNextCommitment { requested: n(0) })
    );
    p.a.validate_holder_commitment(&p.a_params, &holder_commitment(&p, n(1)))
        .unwrap();
    assert!(p.a.release_commitment_secret(n(0)).is_ok());
}

#[test]
fn policy_secret_release_order() {
    let p = new_pair();
    for i in 0..3 {
        p.a.validate_holder_commitment(&p.a_params, &holder_commitment(&p, n(i)))
            .unwrap();
    }
    assert_eq!(
        p.a.release_commitment_secret(n(1)),
        Err(SignError::SecretOutOfOrder {
            requested: n(1),
            next: n(0)
        })
    );
    let s0 = p.a.release_commitment_secret(n(0)).unwrap();
    // The latest secret may be released again (revoke_and_ack retransmission).
    assert_eq!(p.a.release_commitment_secret(n(0)).unwrap(), s0);
    assert_eq!(
        p.a.release_commitment_secret(n(2)),
        Err(SignError::SecretOutOfOrder {
            requested: n(2),
            next: n(1)
        })
    );
    let s1 = p.a.release_commitment_secret(n(1)).unwrap();
    // Going back to an older secret is refused.
    assert_eq!(
        p.a.release_commitment_secret(n(0)),
        Err(SignError::SecretOutOfOrder {
            requested: n(0),
            next: n(2)
        })
    );
    // Released secrets match the points handed out, and the peer's compact
    // store accepts them in order.
    assert_eq!(
        per_commitment_point(&s0).unwrap(),
        p.a.per_commitment_point(n(0)).unwrap()
    );
    assert_eq!(
        per_commitment_point(&s1).unwrap(),
        p.a.per_commitment_point(n(1)).unwrap()
    );
    let mut store = CounterpartyCommitmentSecrets::new();
    store.insert_secret(s0, n(0).secret_index()).unwrap();
    store.insert_secret(s1, n(1).secret_index()).unwrap();
    assert_eq!(store.get_secret(n(0).secret_index()), Some(s0));
}

#[test]
fn policy_holder_commitment_revoked() {
    let p = new_pair();
    let c0 = holder_commitment(&p, n(0));
    let c1 = holder_commitment(&p, n(1));
    p.a.validate_holder_commitment(&p.a_params, &c0).unwrap();
    assert!(p.a.sign_holder_commitment(&p.a_params, &c0).is_ok());
    p.a.validate_holder_commitment(&p.a_params, &c1).unwrap();
    p.a.release_commitment_secret(n(0)).unwrap();
    let revoked = SignError::HolderCommitmentRevoked {
        requested: n(0),
        revoked: n(0),
    };
    assert_eq!(
        p.a.sign_holder_commitment(&p.a_params, &c0),
        Err(revoked.clone())
    );
    assert_eq!(
        p.a.sign_holder_htlc_transactions(&p.a_params, &c0),
        Err(revoked.clone())
    );
    assert_eq!(
        p.a.validate_holder_commitment(&p.a_params, &c0),
        Err(revoked)
    );
    assert!(p.a.sign_holder_commitment(&p.a_params, &c1).is_ok());
    assert_eq!(
        p.a.sign_holder_htlc_transactions(&p.a_params, &c1)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn policy_wrong_channel_parameters() {
    let p = new_pair();
    let c0 = holder_commitment(&p, n(0));
    assert_eq!(
        p.b.sign_holder_commitment(&p.a_params, &c0),
        Err(SignError::WrongChannelParameters)
    );
}

#[test]
fn signer_persists_keys_and_revocation_state() {
    let p = new_pair();
    let c0 = holder_commitment(&p, n(0));
    let c1 = holder_commitment(&p, n(1));
    p.a.validate_holder_commitment(&p.a_params, &c0).unwrap();
    p.a.validate_holder_commitment(&p.a_params, &c1).unwrap();
    let s0 = p.a.release_commitment_secret(n(0)).unwrap();
    let bytes = p.a.encode();
    let back = InMemorySigner::read(&mut &bytes[..]).unwrap();
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.pubkeys(), p.a.pubkeys());
    assert_eq!(back.channel_keys_id(), p.a.channel_keys_id());
    assert_eq!(back.release_commitment_secret(n(0)).unwrap(), s0);
    assert!(matches!(
        back.sign_holder_commitment(&p.a_params, &c0),
        Err(SignError::HolderCommitmentRevoked { .. })
    ));
    // Truncated or inconsistent encodings are rejected, not panicked on.
    for len in 0..bytes.len() {
        assert!(InMemorySigner::read(&mut &bytes[..len]).is_err());
    }
    let mut bad = bytes.clone();
    bad[0] = 2;
    assert!(InMemorySigner::read(&mut &bad[..]).is_err());
}

fn verify(sighash: [u8; 32], sig: &bitcoin::secp256k1::ecdsa::Signature, key: &PublicKey) {
    Secp256k1::verification_only()
        .verify_ecdsa(&Message::from_digest(sighash), sig, key)
        .expect("signature verifies");
}

fn spend(prev: OutPoint, value: Amount) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: prev,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ZERO,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value,
            script_pubkey: ScriptBuf::new_op_return([0u8; 0]),
        }],
    }
}

#[test]
fn justice_and_claim_signatures_verify() {
    // B's commitment #0 as A sees it (A is the countersignatory); B revokes it.
    let p = new_pair();
    let b_pcp = p.b.per_commitment_point(n(0)).unwrap();
    let theirs = p
        .a_params
        .build_counterparty_commitment(
            n(0),
            &b_pcp,
            MilliSatoshi(600_000_000),
            MilliSatoshi(388_000_000),
            FeeRatePerKw(253),
            &htlcs(),
        )
        .unwrap();
    for i in 0..2 {
        let c = p
            .b_params
            .build_holder_commitment(
                n(i),
                &p.b.per_commitment_point(n(i)).unwrap(),
                MilliSatoshi(400_000_000),
                MilliSatoshi(600_000_000),
                FeeRatePerKw(253),
                &[],
            )
            .unwrap();
        p.b.validate_holder_commitment(&p.b_params, &c).unwrap();
    }
    let secret = SecretKey::from_slice(&p.b.release_commitment_secret(n(0)).unwrap()).unwrap();
    let keys = theirs.keys();

    // to_local of the revoked commitment, with the revocation key.
    let (value, vout) = theirs
        .to_broadcaster_output()
        .expect("B has a to_local output");
    let justice = spend(
        OutPoint {
            txid: theirs.txid(),
            vout,
        },
        Amount::from_sat(1000),
    );
    let sig =
        p.a.sign_justice_revoked_output(&p.a_params, &justice, 0, value, &secret)
            .unwrap();
    let script = to_local_script(
        &keys.revocation_key,
        p.a_params.holder_selected_contest_delay,
        &keys.broadcaster_delayed_payment_key,
    );
    let sighash = SighashCache::new(&justice)
        .p2wsh_signature_hash(0, &script, value, EcdsaSighashType::All)
        .unwrap();
    verify(sighash.to_byte_array(), &sig, &keys.revocation_key);
    assert_eq!(
        p.a.sign_justice_revoked_output(&p.a_params, &justice, 1, value, &secret),
        Err(SignError::InputOutOfRange)
    );

    for h in theirs.htlcs() {
        let tx = spend(
            OutPoint {
                txid: theirs.txid(),
                vout: h.output_index,
            },
            Amount::from_sat(1000),
        );
        let sighash = SighashCache::new(&tx)
            .p2wsh_signature_hash(0, &h.witness_script, h.value(), EcdsaSighashType::All)
            .unwrap()
            .to_byte_array();
        let sig =
            p.a.sign_justice_revoked_htlc(&p.a_params, &tx, 0, &secret, h)
                .unwrap();
        verify(sighash, &sig, &keys.revocation_key);
        // Claims on the peer's commitment use our HTLC key for it.
        let sig =
            p.a.sign_counterparty_htlc_claim(&p.a_params, &tx, 0, &b_pcp, h)
                .unwrap();
        verify(
            sighash,
            &sig,
            &keys.htlc.expect("htlc keys").countersignatory,
        );
    }
}

#[test]
fn anchor_closing_and_announcement_signatures_verify() {
    let p = new_pair();
    let c0 = holder_commitment(&p, n(0));
    let anchor_spk =
        ScriptBuf::new_p2wsh(&anchor_script(&p.a.pubkeys().funding_pubkey).wscript_hash());
    let vout = c0
        .transaction()
        .output
        .iter()
        .position(|o| o.script_pubkey == anchor_spk)
        .unwrap() as u32;
    let cpfp = spend(
        OutPoint {
            txid: c0.txid(),
            vout,
        },
        Amount::from_sat(100),
    );
    let sig = p.a.sign_holder_anchor_input(&p.a_params, &cpfp, 0).unwrap();
    let sighash = SighashCache::new(&cpfp)
        .p2wsh_signature_hash(
            0,
            &anchor_script(&p.a.pubkeys().funding_pubkey),
            ANCHOR_OUTPUT_VALUE,
            EcdsaSighashType::All,
        )
        .unwrap();
    verify(sighash.to_byte_array(), &sig, &p.a.pubkeys().funding_pubkey);

    let a_script = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([1; 20]));
    let b_script = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([2; 20]));
    let close_a = ClosingTransaction::build(
        &p.a_params,
        MilliSatoshi(600_000_500),
        MilliSatoshi(399_999_500),
        Amount::from_sat(500),
        a_script.clone(),
        b_script.clone(),
        Amount::from_sat(354),
    )
    .unwrap();
    let close_b = ClosingTransaction::build(
        &p.b_params,
        MilliSatoshi(399_999_500),
        MilliSatoshi(600_000_500),
        Amount::from_sat(500),
        b_script,
        a_script,
        Amount::from_sat(354),
    )
    .unwrap();
    assert_eq!(close_a.transaction(), close_b.transaction());
    // The funder (A) pays the fee; balances are rounded down.
    let values: Vec<u64> = close_a
        .transaction()
        .output
        .iter()
        .map(|o| o.value.to_sat())
        .collect();
    assert_eq!(values, vec![399_999, 599_500]);
    let sa = p.a.sign_closing_transaction(&p.a_params, &close_a).unwrap();
    let sb = p.b.sign_closing_transaction(&p.b_params, &close_b).unwrap();
    verify(
        close_a.funding_sighash(),
        &sa,
        &p.a.pubkeys().funding_pubkey,
    );
    verify(
        close_a.funding_sighash(),
        &sb,
        &p.b.pubkeys().funding_pubkey,
    );
    assert_eq!(
        close_a.signed_transaction(&p.a_params, &sa, &sb),
        close_b.signed_transaction(&p.b_params, &sb, &sa)
    );
    // A fee larger than the funder's balance cannot be paid.
    assert!(ClosingTransaction::build(
        &p.a_params,
        MilliSatoshi(100_000),
        MilliSatoshi(999_900_000),
        Amount::from_sat(101),
        ScriptBuf::new(),
        ScriptBuf::new(),
        Amount::ZERO
    )
    .is_err());

    let hash = sha256::Hash::hash(b"channel_announcement").to_byte_array();
    let sig =
        p.a.sign_channel_announcement_with_funding_key(&hash)
            .unwrap();
    verify(hash, &sig, &p.a.pubkeys().funding_pubkey);
}

#[test]
fn holder_htlc_input_signature_matches_plain_htlc_signature() {
    let p = new_pair();
    let c0 = holder_commitment(&p, n(0));
    let plain = p.a.sign_holder_htlc_transactions(&p.a_params, &c0).unwrap();
    for (i, sig) in plain.iter().enumerate() {
        let tx = c0.htlc_transaction(i).unwrap();
        assert_eq!(
            &p.a.sign_holder_htlc_input(&p.a_params, &c0, i, &tx, 0)
                .unwrap(),
            sig
        );
        // With a fee input added (anchors), the signature covers the new tx.
        let mut bumped = tx.clone();
        bumped.input.push(TxIn {
            previous_output: OutPoint {
                txid: bitcoin::Txid::from_byte_array([9; 32]),
                vout: 3,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ZERO,
            witness: Witness::new(),
        });
        let sig2 =
            p.a.sign_holder_htlc_input(&p.a_params, &c0, i, &bumped, 0)
                .unwrap();
        let h = &c0.htlcs()[i];
        let sighash = SighashCache::new(&bumped)
            .p2wsh_signature_hash(0, &h.witness_script, h.value(), EcdsaSighashType::All)
            .unwrap();
        verify(
            sighash.to_byte_array(),
            &sig2,
            &c0.keys().htlc.expect("commitment with htlcs").broadcaster,
        );
        assert_ne!(&sig2, sig);
    }
}

#[test]
fn per_commitment_points_are_cached() {
    use lnkit::sign::CurveOpStats;
    let p = new_pair();
    let p0 = p.a.per_commitment_point(n(0)).unwrap();
    let p1 = p.a.per_commitment_point(n(1)).unwrap();
    CurveOpStats::reset();
    assert_eq!(p.a.per_commitment_point(n(0)).unwrap(), p0);
    assert_eq!(p.a.per_commitment_point(n(1)).unwrap(), p1);
    assert_eq!(CurveOpStats::snapshot().total(), 0);
    let p2 = p.a.per_commitment_point(n(2)).unwrap();
    assert_eq!(CurveOpStats::snapshot().base_mul, 1);
    assert_ne!(p2, p1);
    // The cache is not a different answer: a fresh signer agrees.
    let fresh = InMemorySigner::read(&mut &p.a.encode()[..]).unwrap();
    assert_eq!(fresh.per_commitment_point(n(0)).unwrap(), p0);
}

#[test]
fn commitment_zero_uses_secret_index_2_pow_48_minus_1() {
    use lnkit::channel::keys::build_commitment_secret;
    use lnkit::channel::MAX_COMMITMENT_NUMBER;
    let k = |b: u8| SecretKey::from_slice(&[b; 32]).unwrap();
    let seed = [0xff; 32];
    let s = InMemorySigner::new(
        k(1),
        k(2),
        k(3),
        k(4),
        k(5),
        seed,
        lnkit::sign::ChannelKeysId([0; 32]),
    );
    let p = new_pair();
    let mut params = p.a_params.clone();
    params.holder_pubkeys = *s.pubkeys();
    for i in 0..2 {
        let pcp = s.per_commitment_point(n(i)).unwrap();
        let c = params
            .build_holder_commitment(
                n(i),
                &pcp,
                MilliSatoshi(600_000_000),
                MilliSatoshi(400_000_000),
                FeeRatePerKw(253),
                &[],
            )
            .unwrap();
        s.validate_holder_commitment(&params, &c).unwrap();
    }
    // BOLT 3: "The first secret used MUST be index 281474976710655".
    assert_eq!(
        s.release_commitment_secret(n(0)).unwrap(),
        build_commitment_secret(&seed, MAX_COMMITMENT_NUMBER)
    );
    assert_eq!(n(1).secret_index(), MAX_COMMITMENT_NUMBER - 1);
}
