//! Stateless inbound payments and invoice creation, through the public API:
//! create/verify round trips, tampering, expiry, under- and overpayment, and
//! a signed invoice that parses back.

use bitcoin::secp256k1::{PublicKey, Secp256k1};
use lnkit::payment::inbound::{
    create_inbound_payment, create_inbound_payment_for_hash, create_invoice,
    verify_inbound_payment, ExpandedKey, InboundPaymentError,
};
use lnkit::payment::invoice::{Bolt11Invoice, Currency, RouteHint, RouteHintHop};
use lnkit::sign::{EntropySource, KeysManager, NodeSigner, Recipient};
use lnkit::types::{PaymentHash, PaymentPreimage, ShortChannelId};
use proptest::prelude::*;

const HEIGHT: u32 = 800_000;

fn node(i: u8) -> KeysManager {
    KeysManager::new(&[i; 32], 1_700_000_000, u32::from(i))
}

fn node_id(k: &KeysManager) -> PublicKey {
    k.node_id(Recipient::Node).unwrap()
}

struct Counter(std::sync::atomic::AtomicU8);
impl EntropySource for Counter {
    fn get_secure_random_bytes(&self) -> [u8; 32] {
        let v = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        [v; 32]
    }
}

fn keys() -> ExpandedKey {
    ExpandedKey::new(&node(1).get_inbound_payment_key())
}

#[test]
fn inbound_round_trip_derived_preimage() {
    let k = keys();
    let e = Counter(0.into());
    let (hash, secret) =
        create_inbound_payment(&k, Some(5_000), 3_600, &e, 1_000_000, Some(40)).unwrap();
    let v = verify_inbound_payment(&k, &hash, &secret, 5_000, 1_000_000).unwrap();
    assert_eq!(v.preimage.unwrap().payment_hash(), hash);
    assert_eq!(v.min_final_cltv_expiry_delta, Some(40));
    // Two payments differ.
    let (hash2, secret2) =
        create_inbound_payment(&k, Some(5_000), 3_600, &e, 1_000_000, Some(40)).unwrap();
    assert_ne!((hash, secret), (hash2, secret2));
    // Another node's key does not recognise it.
    let other = ExpandedKey::new(&node(2).get_inbound_payment_key());
    assert_eq!(
        verify_inbound_payment(&other, &hash, &secret, 5_000, 1_000_000),
        Err(InboundPaymentError::UnknownPayment)
    );
}

#[test]
fn inbound_round_trip_user_hash() {
    let k = keys();
    let preimage = PaymentPreimage([0x33; 32]);
    let hash = preimage.payment_hash();
    let secret = create_inbound_payment_for_hash(&k, None, hash, 60, 1_000, None).unwrap();
    let v = verify_inbound_payment(&k, &hash, &secret, 1, 1_060).unwrap();
    assert_eq!(v.preimage, None);
    assert_eq!(v.min_final_cltv_expiry_delta, None);
    assert_eq!(
        verify_inbound_payment(&k, &PaymentHash([0x34; 32]), &secret, 1, 1_000),
        Err(InboundPaymentError::UnknownPayment)
    );
}

#[test]
fn inbound_unknown_payment_any_tampered_byte_fails() {
    let k = keys();
    let (hash, secret) =
        create_inbound_payment(&k, Some(1), 3_600, &Counter(7.into()), 1_000, Some(18)).unwrap();
    let user_hash = PaymentHash([0x55; 32]);
    let user_secret =
        create_inbound_payment_for_hash(&k, Some(1), user_hash, 3_600, 1_000, Some(18)).unwrap();
    for (h, s) in [(hash, secret), (user_hash, user_secret)] {
        assert!(verify_inbound_payment(&k, &h, &s, 1, 1_000).is_ok());
        for i in 0..32 {
            for bit in [0x01u8, 0x80] {
                let mut t = s;
                t.0[i] ^= bit;
                assert_eq!(
                    verify_inbound_payment(&k, &h, &t, 1, 1_000),
                    Err(InboundPaymentError::UnknownPayment),
                    "byte {i} bit {bit:#x}"
                );
            }
            let mut th = h;
            th.0[i] ^= 1;
            assert_eq!(
                verify_inbound_payment(&k, &th, &s, 1, 1_000),
                Err(InboundPaymentError::UnknownPayment)
            );
        }
    }
}

#[test]
fn inbound_expired() {
    let k = keys();
    let (hash, secret) =
        create_inbound_payment(&k, None, 100, &Counter(1.into()), 5_000, None).unwrap();
    assert!(verify_inbound_payment(&k, &hash, &secret, 1, 5_100).is_ok());
    assert_eq!(
        verify_inbound_payment(&k, &hash, &secret, 1, 5_101),
        Err(InboundPaymentError::Expired {
            expiry_time_secs: 5_100
        })
    );
}

#[test]
fn inbound_underpaid() {
    let k = keys();
    let (hash, secret) =
        create_inbound_payment(&k, Some(10_000), 100, &Counter(1.into()), 5_000, None).unwrap();
    let e = verify_inbound_payment(&k, &hash, &secret, 9_999, 5_000).unwrap_err();
    assert_eq!(
        e,
        InboundPaymentError::Underpaid {
            min_value_msat: 10_000,
            total_msat: 9_999
        }
    );
    assert_eq!(e.to_failure(9_999, HEIGHT).code(), 0x400f);
    assert!(verify_inbound_payment(&k, &hash, &secret, 10_000, 5_000).is_ok());
}

#[test]
fn inbound_overpaid() {
    let k = keys();
    let (hash, secret) =
        create_inbound_payment(&k, Some(10_000), 100, &Counter(1.into()), 5_000, None).unwrap();
    assert!(verify_inbound_payment(&k, &hash, &secret, 20_000, 5_000).is_ok());
    assert_eq!(
        verify_inbound_payment(&k, &hash, &secret, 20_001, 5_000),
        Err(InboundPaymentError::Overpaid {
            min_value_msat: 10_000,
            total_msat: 20_001
        })
    );
}

#[test]
fn invoice_creation_parses_back_and_checks_signature() {
    let signer = node(6);
    let k = ExpandedKey::new(&signer.get_inbound_payment_key());
    let (hash, secret) =
        create_inbound_payment(&k, Some(123_000), 3_600, &signer, 1_700_000_000, Some(40)).unwrap();
    let hint = RouteHint(vec![RouteHintHop {
        src_node_id: node_id(&node(7)),
        short_channel_id: ShortChannelId::new(700_000, 1, 0).unwrap(),
        fee_base_msat: 1_000,
        fee_proportional_millionths: 100,
        cltv_expiry_delta: 144,
    }]);
    let inv = create_invoice(
        &signer,
        Currency::Regtest,
        Some(123_000),
        "coffee",
        3_600,
        hash,
        secret,
        40,
        1_700_000_000,
        vec![hint.clone()],
    )
    .unwrap();
    let parsed: Bolt11Invoice = inv.to_string().parse().unwrap();
    assert_eq!(parsed, inv);
    assert_eq!(parsed.payee_pubkey(), node_id(&signer));
    assert_eq!(parsed.payment_hash(), hash);
    assert_eq!(parsed.payment_secret(), secret);
    assert_eq!(parsed.amount_msat(), Some(123_000));
    assert_eq!(parsed.expiry_secs(), 3_600);
    assert_eq!(parsed.min_final_cltv_expiry_delta(), 40);
    assert!(parsed.matches_description("coffee"));
    assert!(parsed.has_feature(8) && parsed.has_feature(14));
    assert_eq!(
        parsed.route_hints().cloned().collect::<Vec<_>>(),
        vec![hint]
    );
    assert!(parsed.to_string().starts_with("lnbcrt"));
    // The signature checks against the node id by recovery.
    let secp = Secp256k1::verification_only();
    let sig = parsed.recoverable_signature().unwrap();
    let msg = bitcoin::secp256k1::Message::from_digest(parsed.signing_hash());
    assert_eq!(secp.recover_ecdsa(&msg, &sig).unwrap(), node_id(&signer));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_secrets_never_verify(secret in any::<[u8; 32]>(), hash in any::<[u8; 32]>(), total in any::<u64>()) {
        let k = keys();
        prop_assert!(verify_inbound_payment(&k, &PaymentHash(hash), &lnkit::types::PaymentSecret(secret), total, 0).is_err());
    }
}
