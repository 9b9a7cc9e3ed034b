//! BOLT 3 Appendix D (per-commitment secrets) and Appendix E (key derivation).

#[path = "vectors/bolt03.rs"]
mod vectors;

use bitcoin::secp256k1::{PublicKey, SecretKey};
use lnkit::channel::keys::{
    build_commitment_secret, derive_private_key, derive_public_key, derive_revocation_private_key,
    derive_revocation_public_key, per_commitment_point, CounterpartyCommitmentSecrets,
    SecretStoreError,
};
use lnkit::codec::{Readable, Writeable};
use vectors::*;

fn h32(s: &str) -> [u8; 32] {
    let v: Vec<u8> = hex::FromHex::from_hex(s).expect("hex");
    v.try_into().expect("32 bytes")
}
fn pk(s: &str) -> PublicKey {
    s.parse().expect("pubkey")
}
fn sk(s: &str) -> SecretKey {
    s.parse().expect("secret key")
}

#[test]
fn bolt3_appendix_e_derive_pubkey() {
    let got = derive_public_key(&pk(KD_BASE_POINT), &pk(KD_PER_COMMITMENT_POINT)).unwrap();
    assert_eq!(got, pk(KD_LOCALPUBKEY));
}

#[test]
fn bolt3_appendix_e_derive_privkey() {
    let got = derive_private_key(
        &sk(KD_BASE_SECRET),
        &pk(KD_PER_COMMITMENT_POINT),
        &pk(KD_BASE_POINT),
    )
    .unwrap();
    assert_eq!(got, sk(KD_LOCALPRIVKEY));
}

#[test]
fn bolt3_appendix_e_revocation_pubkey() {
    let got =
        derive_revocation_public_key(&pk(KD_BASE_POINT), &pk(KD_PER_COMMITMENT_POINT)).unwrap();
    assert_eq!(got, pk(KD_REVOCATIONPUBKEY));
}

#[test]
fn bolt3_appendix_e_revocation_privkey() {
    let got = derive_revocation_private_key(
        &sk(KD_BASE_SECRET),
        &sk(KD_PER_COMMITMENT_SECRET),
        &pk(KD_BASE_POINT),
        &pk(KD_PER_COMMITMENT_POINT),
    )
    .unwrap();
    assert_eq!(got, sk(KD_REVOCATIONPRIVKEY));
    // The private keys match the public derivations.
    let secp = bitcoin::secp256k1::Secp256k1::new();
    assert_eq!(
        PublicKey::from_secret_key(&secp, &got),
        pk(KD_REVOCATIONPUBKEY)
    );
    assert_eq!(
        per_commitment_point(&h32(KD_PER_COMMITMENT_SECRET)).unwrap(),
        pk(KD_PER_COMMITMENT_POINT)
    );
}

#[test]
fn bolt3_appendix_d_generation() {
    assert_eq!(GENERATION.len(), 5);
    for (name, seed, index, expected) in GENERATION {
        assert_eq!(
            build_commitment_secret(&h32(seed), *index),
            h32(expected),
            "{name}"
        );
    }
}

#[test]
fn bolt3_appendix_d_storage() {
    assert_eq!(STORAGE.len(), 9);
    let mut failing_cases = 0;
    for case in STORAGE {
        let mut store = CounterpartyCommitmentSecrets::new();
        let mut inserted = Vec::new();
        for step in case.steps {
            let r = store.insert_secret(h32(step.secret), step.index);
            if step.ok {
                assert_eq!(r, Ok(()), "{}: index {:#x}", case.name, step.index);
                inserted.push((step.index, h32(step.secret)));
            } else {
                assert_eq!(
                    r,
                    Err(SecretStoreError::NotDerivable { index: step.index }),
                    "bolt3-shachain-derivable: {}",
                    case.name
                );
                failing_cases += 1;
                break;
            }
        }
        if case.steps.iter().all(|s| s.ok) {
            // Every stored secret is retrievable, also after a persist round trip.
            let reread = CounterpartyCommitmentSecrets::read(&mut &store.encode()[..]).unwrap();
            for (i, s) in &inserted {
                assert_eq!(store.get_secret(*i), Some(*s));
                assert_eq!(reread.get_secret(*i), Some(*s));
            }
        }
    }
    assert_eq!(failing_cases, 8);
}

#[test]
fn bolt3_shachain_order_rejects_skips() {
    let seed = [0xff; 32];
    let mut store = CounterpartyCommitmentSecrets::new();
    let top = (1u64 << 48) - 1;
    assert!(matches!(
        store.insert_secret(build_commitment_secret(&seed, top - 1), top - 1),
        Err(SecretStoreError::OutOfOrder { expected, got }) if expected == top && got == top - 1
    ));
    store
        .insert_secret(build_commitment_secret(&seed, top), top)
        .unwrap();
    assert!(store
        .insert_secret(build_commitment_secret(&seed, top), top)
        .is_err());
    assert_eq!(store.get_secret(top - 1), None);
}
