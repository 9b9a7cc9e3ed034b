//! The payment layer with the node key held by a `NodeSigner`: peeling a
//! payment onion (plain and inside a blinded route) and signing an invoice.

use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::TlvStream;
use lnkit::payment::invoice::{Bolt11Invoice, Currency, InvoiceBuilder};
use lnkit::payment::onion::{
    blinded_node_tweak, build_payment_onion, build_payment_onion_raw,
    peel_payment_onion_with_signer, HopPayload, OnionError, PeeledOnion, ReceivePayload,
    SharedSecret,
};
use lnkit::sign::{KeysManager, NodeSigner, Recipient};
use lnkit::types::{PaymentHash, PaymentSecret};

#[test]
fn onion_peels_through_a_node_signer() {
    let secp = Secp256k1::new();
    let km = KeysManager::new(&[7; 32], 1, 2);
    let node_id = km.node_id(Recipient::Node).unwrap();
    let payload = HopPayload::Receive(ReceivePayload {
        amt_to_forward: 1000,
        outgoing_cltv_value: 500,
        payment_data: None,
        payment_metadata: None,
        keysend_preimage: None,
        unknown_tlvs: TlvStream::new(),
    });
    let session = SecretKey::from_slice(&[9; 32]).unwrap();
    let (packet, secrets) =
        build_payment_onion(&secp, &session, &[(node_id, payload.clone())], &[1; 32]).unwrap();
    match peel_payment_onion_with_signer(&secp, &km, None, &packet, &[1; 32], false).unwrap() {
        PeeledOnion::Receive {
            payload: got,
            shared_secret,
        } => {
            assert_eq!(got, payload);
            assert_eq!(shared_secret, secrets[0]);
        }
        other => panic!("{other:?}"),
    }
    // Wrong associated data: the HMAC check fails.
    assert_eq!(
        peel_payment_onion_with_signer(&secp, &km, None, &packet, &[2; 32], false).unwrap_err(),
        OnionError::InvalidHmac
    );
}

#[test]
fn blinded_hop_peels_through_a_node_signer_with_a_tweak() {
    let secp = Secp256k1::new();
    let km = KeysManager::new(&[8; 32], 1, 2);
    let node_id = km.node_id(Recipient::Node).unwrap();
    // The recipient blinds our node id with path key E = e·G.
    let e = SecretKey::from_slice(&[5; 32]).unwrap();
    let path_key = PublicKey::from_secret_key(&secp, &e);
    let ss = SharedSecret::new(&node_id, &e);
    let tweak = blinded_node_tweak(&ss).unwrap();
    let blinded_id = node_id.mul_tweak(&secp, &tweak).unwrap();
    // Final blinded payload: amount, cltv, encrypted data, total.
    let payload = [
        0x02, 0x01, 0x05, 0x04, 0x01, 0x06, 0x0a, 0x01, 0xff, 0x12, 0x01, 0x05,
    ];
    let session = SecretKey::from_slice(&[9; 32]).unwrap();
    let (packet, _) =
        build_payment_onion_raw(&secp, &session, &[(blinded_id, &payload[..])], &[1; 32]).unwrap();
    // The node learns ss from its signer's ECDH with the path key.
    let node_ss = SharedSecret(km.ecdh(Recipient::Node, &path_key, None).unwrap());
    assert_eq!(node_ss, ss);
    let tweak = blinded_node_tweak(&node_ss).unwrap();
    let peeled =
        peel_payment_onion_with_signer(&secp, &km, Some(&tweak), &packet, &[1; 32], true).unwrap();
    assert!(matches!(
        peeled,
        PeeledOnion::Receive {
            payload: HopPayload::BlindedReceive(_),
            ..
        }
    ));
}

#[test]
fn invoice_signed_by_a_node_signer() {
    let km = KeysManager::new(&[3; 32], 1, 2);
    let inv = InvoiceBuilder::new(Currency::Bitcoin)
        .timestamp_secs(1_700_000_000)
        .amount_msat(5_000)
        .payment_hash(PaymentHash([1; 32]))
        .payment_secret(PaymentSecret([2; 32]))
        .description("signed by the node signer")
        .build_signed_by(&km)
        .unwrap();
    assert_eq!(inv.payee_pubkey(), km.node_id(Recipient::Node).unwrap());
    let back: Bolt11Invoice = inv.to_string().parse().unwrap();
    assert_eq!(back, inv);
}
