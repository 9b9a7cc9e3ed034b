//! The payment pieces a ChannelManager calls, through the public API only:
//! building a path's onion, peeling it hop by hop, the final node's BOLT 4
//! checks, failing back and reading the failure at the sender, stateless
//! inbound payments and invoice creation.

mod payment_common;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::TlvStream;
use lnkit::msgs::{UpdateAddHtlc, UpdateFailHtlc};
use lnkit::payment::inbound::{
    create_inbound_payment, create_inbound_payment_for_hash, create_invoice,
    verify_inbound_payment, ExpandedKey,
};
use lnkit::payment::invoice::Currency;
use lnkit::payment::onion::{
    build_payment_onion, decode_fulfill_attribution, FailureMessage, HopPayload, PaymentData,
    ReceivePayload,
};
use lnkit::payment::outbound::{
    build_onion_for_path, decode_update_fail, decode_update_fail_malformed,
    decode_update_fail_with_secrets, NetworkUpdate, OnionBuildError, OutboundOnion,
    RecipientOnionFields,
};
use lnkit::payment::receive::{
    check_final_cltv_expiry, decode_incoming_htlc, fail_reason_for, fulfill_attribution,
    update_fail_htlc, HtlcFailure, HtlcFailureMsg, IncomingHtlc,
};
use lnkit::routing::Path;
use lnkit::sign::{KeysManager, NodeSigner};
use lnkit::types::{ChannelId, PaymentHash, PaymentPreimage, PaymentSecret};
use payment_common::*;
use proptest::prelude::*;

#[test]
fn three_hop_round_trip_receive_then_fail_back() {
    let secp = Secp256k1::new();
    let nodes = [node(1), node(2), node(3)];
    let path = path(&nodes, 100_000);
    let preimage = PaymentPreimage([9; 32]);
    let hash = preimage.payment_hash();
    let secret = PaymentSecret([5; 32]);
    let recipient = RecipientOnionFields {
        payment_secret: Some(secret),
        payment_metadata: Some(vec![1, 2, 3]),
        custom_tlvs: vec![(65_537, vec![0xaa]), (70_001, vec![])],
    };
    let onion = build_onion_for_path(
        &secp,
        &path,
        250_000,
        &recipient,
        None,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    assert_eq!(onion.first_hop_amount_msat, 102_000);
    assert_eq!(onion.first_hop_cltv_expiry, HEIGHT + 18 + 40 + 40);
    assert_eq!(onion.shared_secrets.len(), 3);

    let (last, secrets) = forward_to_last(&nodes, &path, first_add(&onion, hash));
    assert_eq!(secrets[..], onion.shared_secrets[..2]);
    let got = decode_incoming_htlc(&nodes[2], &secp, &last, HEIGHT).unwrap();
    let IncomingHtlc::Receive {
        payment_hash,
        amount_msat,
        amt_to_forward,
        cltv_expiry,
        payment_secret,
        total_msat,
        keysend_preimage,
        payment_metadata,
        custom_tlvs,
        shared_secret,
    } = got
    else {
        panic!("final hop should receive, got {got:?}");
    };
    assert_eq!(payment_hash, hash);
    assert_eq!(amount_msat, 100_000);
    assert_eq!(amt_to_forward, 100_000);
    assert_eq!(cltv_expiry, HEIGHT + 18);
    assert_eq!(payment_secret, Some(secret));
    assert_eq!(total_msat, 250_000);
    assert_eq!(keysend_preimage, None);
    assert_eq!(payment_metadata, Some(vec![1, 2, 3]));
    assert_eq!(custom_tlvs, recipient.custom_tlvs);
    assert_eq!(shared_secret, onion.shared_secrets[2]);

    // The recipient refuses it; the failure travels back and the sender
    // attributes it to the recipient with the right code.
    let failure = FailureMessage::IncorrectOrUnknownPaymentDetails {
        htlc_msat: 100_000,
        height: HEIGHT,
    };
    let at_recipient = update_fail_htlc(ChannelId([7; 32]), 0, &shared_secret, &failure);
    assert!(at_recipient.attribution_data.is_some());
    let at_sender = relay_back(&at_recipient, &secrets);
    let pf = decode_update_fail(&secp, &path, &session(), &at_sender);
    assert_eq!(pf.failing_hop_index, Some(2));
    assert_eq!(pf.failure_code, Some(0x400f));
    assert_eq!(pf.failure, Some(failure));
    assert!(pf.payment_failed_permanently);
    assert_eq!(pf.network_update, None);
    assert_eq!(pf.hold_times, vec![1, 1, 0]);
    // The same with the kept shared secrets.
    assert_eq!(
        decode_update_fail_with_secrets(&path, &onion.shared_secrets, &at_sender),
        pf
    );
}

#[test]
fn intermediate_failure_blames_its_outgoing_channel() {
    let secp = Secp256k1::new();
    let nodes = [node(1), node(2), node(3)];
    let path = path(&nodes, 50_000);
    let hash = PaymentPreimage([3; 32]).payment_hash();
    let onion = build_onion_for_path(
        &secp,
        &path,
        50_000,
        &RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    // Hop 1 decodes the forward, then fails it (e.g. the channel is gone).
    let msg0 = first_add(&onion, hash);
    let IncomingHtlc::Forward {
        next_onion,
        amt_to_forward,
        outgoing_cltv_value,
        ..
    } = decode_incoming_htlc(&nodes[0], &secp, &msg0, HEIGHT).unwrap()
    else {
        panic!("hop 0 forwards");
    };
    let msg1 = UpdateAddHtlc {
        amount_msat: amt_to_forward,
        cltv_expiry: outgoing_cltv_value,
        onion_routing_packet: *next_onion,
        ..msg0
    };
    let IncomingHtlc::Forward { shared_secret, .. } =
        decode_incoming_htlc(&nodes[1], &secp, &msg1, HEIGHT).unwrap()
    else {
        panic!("hop 1 forwards");
    };
    let f = HtlcFailure::Fail {
        failure: FailureMessage::PermanentChannelFailure,
        shared_secret,
        tag: "test",
    };
    let back = relay_back(&fail_msg(&f), &onion.shared_secrets[..1]);
    let pf = decode_update_fail(&secp, &path, &session(), &back);
    assert_eq!(pf.failing_hop_index, Some(1));
    assert_eq!(pf.failure_code, Some(0x4008));
    assert!(!pf.payment_failed_permanently);
    assert_eq!(
        pf.short_channel_id_to_blame,
        Some(path.hops[2].short_channel_id)
    );
    assert_eq!(
        pf.network_update,
        Some(NetworkUpdate::ChannelFailure {
            short_channel_id: path.hops[2].short_channel_id,
            is_permanent: true
        })
    );

    // A node failure from hop 1 names the node.
    let back = relay_back(
        &update_fail_htlc(
            ChannelId([7; 32]),
            0,
            &shared_secret,
            &FailureMessage::TemporaryNodeFailure,
        ),
        &onion.shared_secrets[..1],
    );
    let pf = decode_update_fail(&secp, &path, &session(), &back);
    assert_eq!(
        pf.network_update,
        Some(NetworkUpdate::NodeFailure {
            node_id: path.hops[1].pubkey,
            is_permanent: false
        })
    );

    // A corrupted reason is attributed to nobody.
    let mut garbled = back.clone();
    garbled.reason.0[40] ^= 1;
    let pf = decode_update_fail(&secp, &path, &session(), &garbled);
    assert_eq!(pf.failing_hop_index, None);
    assert_eq!(pf.failure_code, None);
}

#[test]
fn one_hop_keysend_round_trip_and_fulfill_attribution() {
    let secp = Secp256k1::new();
    let nodes = [node(4)];
    let path = path(&nodes, 42_000);
    let preimage = PaymentPreimage([0x77; 32]);
    let hash = preimage.payment_hash();
    let onion = build_onion_for_path(
        &secp,
        &path,
        42_000,
        &RecipientOnionFields::spontaneous_empty(),
        Some(preimage),
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    assert_eq!(onion.first_hop_amount_msat, 42_000);
    assert_eq!(onion.first_hop_cltv_expiry, HEIGHT + 18);
    let got = decode_incoming_htlc(&nodes[0], &secp, &first_add(&onion, hash), HEIGHT).unwrap();
    let IncomingHtlc::Receive {
        keysend_preimage,
        payment_secret,
        total_msat,
        shared_secret,
        ..
    } = got
    else {
        panic!("receive");
    };
    assert_eq!(keysend_preimage, Some(preimage));
    assert_eq!(payment_secret, None);
    assert_eq!(total_msat, 42_000);
    let attr = fulfill_attribution(&shared_secret);
    assert_eq!(
        decode_fulfill_attribution(&onion.shared_secrets, &attr),
        vec![0]
    );
}

#[test]
fn bolt4_onion_hmac_tampered_onion_is_malformed() {
    let secp = Secp256k1::new();
    let nodes = [node(1), node(2)];
    let path = path(&nodes, 10_000);
    let hash = PaymentHash([1; 32]);
    let onion = build_onion_for_path(
        &secp,
        &path,
        10_000,
        &RecipientOnionFields::secret_only(PaymentSecret([2; 32])),
        None,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    let mut msg = first_add(&onion, hash);
    msg.onion_routing_packet.hop_data[100] ^= 0x01;
    let err = decode_incoming_htlc(&nodes[0], &secp, &msg, HEIGHT).unwrap_err();
    let HtlcFailure::Malformed {
        failure_code,
        sha256_of_onion,
        tag,
    } = err.clone()
    else {
        panic!("malformed expected, got {err:?}");
    };
    assert_eq!(failure_code, 0xc005);
    assert_eq!(tag, "bolt4-onion-hmac");
    use bitcoin::hashes::{sha256, Hash};
    use lnkit::codec::Writeable;
    assert_eq!(
        sha256_of_onion,
        sha256::Hash::hash(&msg.onion_routing_packet.encode()).to_byte_array()
    );
    let HtlcFailureMsg::Malformed(m) = err.to_update_fail(ChannelId([7; 32]), 3) else {
        panic!("malformed message expected");
    };
    assert_eq!((m.id, m.failure_code), (3, 0xc005));
    let pf = decode_update_fail_malformed(&path, &m);
    assert_eq!(pf.failing_hop_index, Some(0));
    assert_eq!(pf.failure_code, Some(0xc005));
    assert_eq!(
        pf.short_channel_id_to_blame,
        Some(path.hops[0].short_channel_id)
    );
    assert!(!pf.payment_failed_permanently);

    // A wrong payment hash (the associated data) fails the HMAC too.
    let mut msg = first_add(&onion, hash);
    msg.payment_hash = PaymentHash([2; 32]);
    assert_eq!(
        decode_incoming_htlc(&nodes[0], &secp, &msg, HEIGHT)
            .unwrap_err()
            .failure_code(),
        0xc005
    );
}

#[test]
fn bolt4_onion_version_and_key() {
    let secp = Secp256k1::new();
    let nodes = [node(1)];
    let path = path(&nodes, 10_000);
    let hash = PaymentHash([1; 32]);
    let onion = build_onion_for_path(
        &secp,
        &path,
        10_000,
        &RecipientOnionFields::secret_only(PaymentSecret([2; 32])),
        None,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    let mut msg = first_add(&onion, hash);
    msg.onion_routing_packet.version = 1;
    let e = decode_incoming_htlc(&nodes[0], &secp, &msg, HEIGHT).unwrap_err();
    assert_eq!((e.failure_code(), e.tag()), (0xc004, "bolt4-onion-version"));
    let mut msg = first_add(&onion, hash);
    msg.onion_routing_packet.public_key[0] = 0x05;
    let e = decode_incoming_htlc(&nodes[0], &secp, &msg, HEIGHT).unwrap_err();
    assert_eq!((e.failure_code(), e.tag()), (0xc006, "bolt4-onion-key"));
}

#[test]
fn bolt4_onion_blinding_point_is_refused() {
    let secp = Secp256k1::new();
    let nodes = [node(1)];
    let path = path(&nodes, 10_000);
    let hash = PaymentHash([1; 32]);
    let onion = build_onion_for_path(
        &secp,
        &path,
        10_000,
        &RecipientOnionFields::secret_only(PaymentSecret([2; 32])),
        None,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    let mut msg = first_add(&onion, hash);
    msg.blinding_point = Some(node_id(&nodes[0]).into());
    let e = decode_incoming_htlc(&nodes[0], &secp, &msg, HEIGHT).unwrap_err();
    assert!(matches!(
        e,
        HtlcFailure::Malformed {
            failure_code: 0xc018,
            ..
        }
    ));
}

/// A one-hop onion to node(9) with secret, for the final-node checks.
fn one_hop(
    amount: u64,
    recipient: RecipientOnionFields,
    keysend: Option<PaymentPreimage>,
    hash: PaymentHash,
) -> (KeysManager, OutboundOnion) {
    let secp = Secp256k1::new();
    let n = node(9);
    let p = path(std::slice::from_ref(&n), amount);
    let onion = build_onion_for_path(
        &secp,
        &p,
        amount,
        &recipient,
        keysend,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    (n, onion)
}

fn expect_fail(e: HtlcFailure, tag: &str) -> FailureMessage {
    assert_eq!(e.tag(), tag);
    match e {
        HtlcFailure::Fail { failure, .. } => failure,
        other => panic!("expected an encrypted failure, got {other:?}"),
    }
}

#[test]
fn bolt4_final_incorrect_htlc_amount() {
    let secp = Secp256k1::new();
    let hash = PaymentHash([4; 32]);
    let (n, onion) = one_hop(
        10_000,
        RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        hash,
    );
    let msg = add(9_999, onion.first_hop_cltv_expiry, hash, &onion);
    let f = expect_fail(
        decode_incoming_htlc(&n, &secp, &msg, HEIGHT).unwrap_err(),
        "bolt4-final-incorrect-htlc-amount",
    );
    assert_eq!(
        f,
        FailureMessage::FinalIncorrectHtlcAmount {
            incoming_htlc_amt: 9_999
        }
    );
    // Overpaying the HTLC is fine.
    let msg = add(10_001, onion.first_hop_cltv_expiry, hash, &onion);
    assert!(decode_incoming_htlc(&n, &secp, &msg, HEIGHT).is_ok());
}

#[test]
fn bolt4_final_incorrect_cltv_expiry() {
    let secp = Secp256k1::new();
    let hash = PaymentHash([4; 32]);
    let (n, onion) = one_hop(
        10_000,
        RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        hash,
    );
    let msg = add(10_000, onion.first_hop_cltv_expiry - 1, hash, &onion);
    let f = expect_fail(
        decode_incoming_htlc(&n, &secp, &msg, HEIGHT).unwrap_err(),
        "bolt4-final-incorrect-cltv-expiry",
    );
    assert_eq!(
        f,
        FailureMessage::FinalIncorrectCltvExpiry {
            cltv_expiry: HEIGHT + 17
        }
    );
}

#[test]
fn bolt4_final_cltv_too_soon() {
    let secp = Secp256k1::new();
    let hash = PaymentHash([4; 32]);
    let (n, onion) = one_hop(
        10_000,
        RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        hash,
    );
    let msg = first_add(&onion, hash);
    // Two blocks arrived since the sender built it: expiry is now too close.
    let f = expect_fail(
        decode_incoming_htlc(&n, &secp, &msg, HEIGHT + 2).unwrap_err(),
        "bolt4-final-cltv-too-soon",
    );
    assert_eq!(
        f,
        FailureMessage::IncorrectOrUnknownPaymentDetails {
            htlc_msat: 10_000,
            height: HEIGHT + 2
        }
    );
    // The invoice's own (larger) delta is checked by the caller.
    assert!(check_final_cltv_expiry(HEIGHT + 18, 1, HEIGHT, 18).is_ok());
    assert!(check_final_cltv_expiry(HEIGHT + 18, 1, HEIGHT, 40).is_err());
}

#[test]
fn bolt4_final_keysend_preimage() {
    // build_onion_for_path refuses a mismatched preimage, so build by hand.
    let secp = Secp256k1::new();
    let n = node(9);
    let hash = PaymentHash([4; 32]);
    let payload = HopPayload::Receive(ReceivePayload {
        amt_to_forward: 5_000,
        outgoing_cltv_value: HEIGHT + 18,
        payment_data: None,
        payment_metadata: None,
        keysend_preimage: Some(PaymentPreimage([1; 32])),
        unknown_tlvs: TlvStream::new(),
    });
    let (packet, _) =
        build_payment_onion(&secp, &session(), &[(node_id(&n), payload)], &hash.0).unwrap();
    let msg = UpdateAddHtlc {
        channel_id: ChannelId([7; 32]),
        id: 0,
        amount_msat: 5_000,
        payment_hash: hash,
        cltv_expiry: HEIGHT + 18,
        onion_routing_packet: packet,
        blinding_point: None,
        unknown_tlvs: TlvStream::new(),
    };
    let f = expect_fail(
        decode_incoming_htlc(&n, &secp, &msg, HEIGHT).unwrap_err(),
        "bolt4-final-keysend-preimage",
    );
    assert_eq!(f.code(), 0x400f);
    // With payment_data the secret path is taken instead.
    let payload = HopPayload::Receive(ReceivePayload {
        amt_to_forward: 5_000,
        outgoing_cltv_value: HEIGHT + 18,
        payment_data: Some(PaymentData {
            payment_secret: PaymentSecret([3; 32]),
            total_msat: 5_000,
        }),
        payment_metadata: None,
        keysend_preimage: None,
        unknown_tlvs: TlvStream::new(),
    });
    let (packet, _) =
        build_payment_onion(&secp, &session(), &[(node_id(&n), payload)], &hash.0).unwrap();
    assert!(decode_incoming_htlc(
        &n,
        &secp,
        &UpdateAddHtlc {
            onion_routing_packet: packet,
            ..msg
        },
        HEIGHT
    )
    .is_ok());
}

#[test]
fn bolt4_final_payment_secret_missing() {
    let secp = Secp256k1::new();
    let hash = PaymentHash([4; 32]);
    let (n, onion) = one_hop(
        10_000,
        RecipientOnionFields::spontaneous_empty(),
        None,
        hash,
    );
    let f = expect_fail(
        decode_incoming_htlc(&n, &secp, &first_add(&onion, hash), HEIGHT).unwrap_err(),
        "bolt4-final-payment-secret-missing",
    );
    assert_eq!(f.code(), 0x400f);
}

#[test]
fn failing_a_decoded_htlc_later_reaches_the_sender() {
    let secp = Secp256k1::new();
    let hash = PaymentHash([4; 32]);
    let (n, onion) = one_hop(
        10_000,
        RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        hash,
    );
    let IncomingHtlc::Receive { shared_secret, .. } =
        decode_incoming_htlc(&n, &secp, &first_add(&onion, hash), HEIGHT).unwrap()
    else {
        panic!("receive");
    };
    let r = fail_reason_for(&shared_secret, &FailureMessage::MppTimeout);
    let msg = UpdateFailHtlc {
        channel_id: ChannelId([7; 32]),
        id: 0,
        reason: lnkit::codec::WithU16Len(r.packet),
        attribution_data: r.attribution,
        unknown_tlvs: TlvStream::new(),
    };
    let p = path(std::slice::from_ref(&n), 10_000);
    let pf = decode_update_fail(&secp, &p, &session(), &msg);
    assert_eq!((pf.failing_hop_index, pf.failure_code), (Some(0), Some(23)));
    // mpp_timeout is not permanent: the payment may be retried.
    assert!(!pf.payment_failed_permanently);
}

#[test]
fn onion_build_rules() {
    let secp = Secp256k1::new();
    let nodes = [node(1)];
    let p = path(&nodes, 1_000);
    let hash = PaymentHash([1; 32]);
    let build = |total, r: &RecipientOnionFields, k| {
        build_onion_for_path(&secp, &p, total, r, k, HEIGHT, &hash, &session())
    };
    let secret = RecipientOnionFields::secret_only(PaymentSecret([1; 32]));
    // onion-total-msat
    assert!(matches!(
        build(999, &secret, None),
        Err(OnionBuildError::InvalidTotal { .. })
    ));
    assert!(matches!(
        build(2_000, &RecipientOnionFields::spontaneous_empty(), None),
        Err(OnionBuildError::InvalidTotal { .. })
    ));
    assert!(build(2_000, &secret, None).is_ok());
    // onion-keysend-preimage
    assert_eq!(
        build(1_000, &secret, Some(PaymentPreimage([0; 32]))),
        Err(OnionBuildError::KeysendPreimageMismatch)
    );
    // onion-custom-tlv
    for bad in [
        vec![(65_535, vec![])],
        vec![(70_000, vec![]), (70_000, vec![])],
        vec![(70_001, vec![]), (70_000, vec![])],
        vec![(5_482_373_484, vec![])],
    ] {
        assert!(matches!(
            secret.clone().with_custom_tlvs(bad.clone()),
            Err(OnionBuildError::InvalidCustomTlv(_))
        ));
        let r = RecipientOnionFields {
            custom_tlvs: bad,
            ..secret.clone()
        };
        assert!(matches!(
            build(1_000, &r, None),
            Err(OnionBuildError::InvalidCustomTlv(_))
        ));
    }
    assert!(secret
        .clone()
        .with_custom_tlvs(vec![(65_536, vec![1]), (65_537, vec![])])
        .is_ok());
    assert_eq!(
        build_onion_for_path(
            &secp,
            &Path { hops: vec![] },
            1,
            &secret,
            None,
            HEIGHT,
            &hash,
            &session()
        ),
        Err(OnionBuildError::EmptyPath)
    );
}

#[test]
fn invoice_to_claim_end_to_end() {
    // Recipient makes an invoice; sender pays it over two hops; recipient
    // decodes, verifies statelessly and finds the preimage.
    let secp = Secp256k1::new();
    let nodes = [node(1), node(6)];
    let k = ExpandedKey::new(&nodes[1].get_inbound_payment_key());
    let (hash, secret) =
        create_inbound_payment(&k, Some(20_000), 600, &nodes[1], 1_000, None).unwrap();
    let inv = create_invoice(
        &nodes[1],
        Currency::Bitcoin,
        Some(20_000),
        "x",
        600,
        hash,
        secret,
        18,
        1_000,
        vec![],
    )
    .unwrap();
    let p = path(&nodes, inv.amount_msat().unwrap());
    let onion = build_onion_for_path(
        &secp,
        &p,
        20_000,
        &RecipientOnionFields::secret_only(inv.payment_secret()),
        None,
        HEIGHT,
        &inv.payment_hash(),
        &session(),
    )
    .unwrap();
    let (last, _) = forward_to_last(&nodes, &p, first_add(&onion, hash));
    let IncomingHtlc::Receive {
        payment_hash,
        payment_secret,
        total_msat,
        ..
    } = decode_incoming_htlc(&nodes[1], &secp, &last, HEIGHT).unwrap()
    else {
        panic!("receive");
    };
    let v = verify_inbound_payment(
        &k,
        &payment_hash,
        &payment_secret.unwrap(),
        total_msat,
        1_200,
    )
    .unwrap();
    assert_eq!(v.preimage.unwrap().payment_hash(), hash);
}

fn valid_htlc() -> (KeysManager, UpdateAddHtlc) {
    let hash = PaymentHash([4; 32]);
    let (n, onion) = one_hop(
        10_000,
        RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        hash,
    );
    let msg = first_add(&onion, hash);
    (n, msg)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_update_add_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 1440..1500)) {
        let (n, _) = valid_htlc();
        if let Ok(msg) = UpdateAddHtlc::decode(&bytes) {
            let _ = decode_incoming_htlc(&n, &Secp256k1::verification_only(), &msg, HEIGHT);
        }
    }

    #[test]
    fn mutated_onion_never_panics_and_never_receives(i in 0usize..1366, x in 1u8..=255) {
        use lnkit::codec::{Readable, Writeable};
        let (n, msg) = valid_htlc();
        let mut bytes = msg.onion_routing_packet.encode();
        bytes[i] ^= x;
        let packet = lnkit::msgs::OnionPacket::read(&mut &bytes[..]).unwrap();
        let msg = UpdateAddHtlc { onion_routing_packet: packet, ..msg };
        // Any change is caught by the version, key or HMAC check.
        prop_assert!(decode_incoming_htlc(&n, &Secp256k1::verification_only(), &msg, HEIGHT).is_err());
    }

    #[test]
    fn htlc_amount_and_expiry_checks_agree(amount in 0u64..20_000, cltv in HEIGHT..HEIGHT + 40) {
        let (n, msg) = valid_htlc();
        let msg = UpdateAddHtlc { amount_msat: amount, cltv_expiry: cltv, ..msg };
        let ok = decode_incoming_htlc(&n, &Secp256k1::verification_only(), &msg, HEIGHT).is_ok();
        prop_assert_eq!(ok, amount >= 10_000 && cltv >= HEIGHT + 18);
    }
}

/// Writes the seed corpus of the payment-piece fuzz targets
/// (`fuzz/seeds/{incoming_htlc,inbound_verify,path_failure}/`):
/// `cargo test --test payment_pieces -- --ignored regenerate_payment_piece_seeds`.
#[test]
#[ignore]
fn regenerate_payment_piece_seeds() {
    use lnkit::codec::Writeable;
    let dir = |t: &str| {
        let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(t);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let secp = Secp256k1::new();
    // The fuzz targets decode as KeysManager::new(&[0x42; 32], 0, 0).
    let fuzz_node = KeysManager::new(&[0x42; 32], 0, 0);
    let height = HEIGHT.to_be_bytes();
    let with_height = |m: &UpdateAddHtlc| {
        let mut v = height.to_vec();
        v.extend(m.encode());
        v
    };
    let hash = PaymentPreimage([8; 32]).payment_hash();
    let p1 = Path {
        hops: path(&[node(1)], 10_000)
            .hops
            .into_iter()
            .map(|mut h| {
                h.pubkey = node_id(&fuzz_node).into();
                h
            })
            .collect(),
    };
    let recv = build_onion_for_path(
        &secp,
        &p1,
        10_000,
        &RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    std::fs::write(
        dir("incoming_htlc").join("receive"),
        with_height(&first_add(&recv, hash)),
    )
    .unwrap();
    let ks = build_onion_for_path(
        &secp,
        &p1,
        10_000,
        &RecipientOnionFields::spontaneous_empty(),
        Some(PaymentPreimage([8; 32])),
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    std::fs::write(
        dir("incoming_htlc").join("keysend"),
        with_height(&first_add(&ks, hash)),
    )
    .unwrap();
    let mut p2 = path(&[node(1), node(2)], 10_000);
    p2.hops[0].pubkey = node_id(&fuzz_node).into();
    let fwd = build_onion_for_path(
        &secp,
        &p2,
        10_000,
        &RecipientOnionFields::secret_only(PaymentSecret([1; 32])),
        None,
        HEIGHT,
        &hash,
        &session(),
    )
    .unwrap();
    std::fs::write(
        dir("incoming_htlc").join("forward"),
        with_height(&first_add(&fwd, hash)),
    )
    .unwrap();

    let k = ExpandedKey::new(&fuzz_node.get_inbound_payment_key());
    let (h, s) =
        create_inbound_payment(&k, Some(1_000), 3_600, &fuzz_node, 1_000, Some(18)).unwrap();
    let mut v = s.0.to_vec();
    v.extend(h.0);
    v.extend(1_000u64.to_be_bytes());
    v.extend(1_000u64.to_be_bytes());
    std::fs::write(dir("inbound_verify").join("derived"), &v).unwrap();
    let s = create_inbound_payment_for_hash(&k, None, hash, 60, 1_000, None).unwrap();
    let mut v = s.0.to_vec();
    v.extend(hash.0);
    v.extend(5u64.to_be_bytes());
    v.extend(1_000u64.to_be_bytes());
    std::fs::write(dir("inbound_verify").join("user-hash"), &v).unwrap();

    // path_failure: the fuzz target's path is keys [1;32], [2;32], [3;32]
    // with session [0x41; 32]; fail at hop 2 and relay back.
    let sks: Vec<SecretKey> = (1u8..=3)
        .map(|i| SecretKey::from_slice(&[i; 32]).unwrap())
        .collect();
    let pks: Vec<PublicKey> = sks
        .iter()
        .map(|s| PublicKey::from_secret_key(&secp, s))
        .collect();
    let secrets =
        lnkit::payment::onion::packet::onion_shared_secrets(&secp, &session(), &pks).unwrap();
    let last = update_fail_htlc(
        ChannelId([7; 32]),
        0,
        &secrets[2],
        &FailureMessage::IncorrectOrUnknownPaymentDetails {
            htlc_msat: 1,
            height: HEIGHT,
        },
    );
    let back = relay_back(&last, &secrets[..2]);
    std::fs::write(
        dir("path_failure").join("final-unknown-details"),
        back.encode(),
    )
    .unwrap();
    let mid = update_fail_htlc(
        ChannelId([7; 32]),
        0,
        &secrets[1],
        &FailureMessage::TemporaryNodeFailure,
    );
    std::fs::write(
        dir("path_failure").join("hop1-node-failure"),
        relay_back(&mid, &secrets[..1]).encode(),
    )
    .unwrap();
}

#[test]
fn payment_piece_seeds_run_through_their_fuzz_targets() {
    use lnkit::payment::fuzz::{fuzz_inbound_verify, fuzz_incoming_htlc, fuzz_path_failure};
    type Target = fn(&[u8]);
    let targets: [(&str, Target); 3] = [
        ("incoming_htlc", fuzz_incoming_htlc),
        ("inbound_verify", fuzz_inbound_verify),
        ("path_failure", fuzz_path_failure),
    ];
    for (name, target) in targets {
        let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds")
            .join(name);
        let mut n = 0;
        for e in std::fs::read_dir(&d).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            target(&data);
            for cut in (0..data.len()).step_by(97) {
                target(&data[..cut]);
            }
            n += 1;
        }
        assert!(n > 0, "{name} has seeds");
    }
    // The HTLC seeds are valid for the fuzz node: they reach the deep paths.
    let fuzz_node = KeysManager::new(&[0x42; 32], 0, 0);
    for seed in ["receive", "keysend", "forward"] {
        let data = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/seeds/incoming_htlc")
                .join(seed),
        )
        .unwrap();
        let msg = UpdateAddHtlc::decode(&data[4..]).unwrap();
        let got = decode_incoming_htlc(&fuzz_node, &Secp256k1::new(), &msg, HEIGHT).unwrap();
        assert_eq!(
            matches!(got, IncomingHtlc::Forward { .. }),
            seed == "forward"
        );
    }
}

/// A one-hop onion to node(9) from a raw TLV payload.
fn raw_one_hop(payload: &[u8], hash: PaymentHash) -> (KeysManager, UpdateAddHtlc) {
    let secp = Secp256k1::new();
    let n = node(9);
    let (packet, _) = lnkit::payment::onion::build_payment_onion_raw(
        &secp,
        &session(),
        &[(node_id(&n), payload)],
        &hash.0,
    )
    .unwrap();
    let msg = UpdateAddHtlc {
        channel_id: ChannelId([7; 32]),
        id: 0,
        amount_msat: 5_000,
        payment_hash: hash,
        cltv_expiry: HEIGHT + 18,
        onion_routing_packet: packet,
        blinding_point: None,
        unknown_tlvs: TlvStream::new(),
    };
    (n, msg)
}

#[test]
fn bolt4_payload_missing_amount_is_failed_back_encrypted() {
    let secp = Secp256k1::new();
    let hash = PaymentHash([4; 32]);
    // outgoing_cltv_value only: amt_to_forward (type 2) is missing.
    let (n, msg) = raw_one_hop(&[0x04, 0x02, 0x05, 0xdc], hash);
    let e = decode_incoming_htlc(&n, &secp, &msg, HEIGHT).unwrap_err();
    let f = expect_fail(e.clone(), "bolt4-payload-missing");
    assert_eq!(f, FailureMessage::InvalidOnionPayload { typ: 2, offset: 0 });
    let p = path(std::slice::from_ref(&n), 5_000);
    let pf = decode_update_fail(&secp, &p, &session(), &fail_msg(&e));
    assert_eq!(
        (pf.failing_hop_index, pf.failure_code),
        (Some(0), Some(0x4016))
    );
    assert!(pf.payment_failed_permanently);
}

#[test]
fn bolt4_onion_blinding_payload_at_introduction_node_is_refused() {
    let secp = Secp256k1::new();
    let hash = PaymentHash([4; 32]);
    // encrypted_recipient_data and current_blinding_point, no amounts.
    let mut payload = vec![0x0a, 0x03, 1, 2, 3, 0x0c, 0x21];
    payload.extend(node_id(&node(3)).serialize());
    let (n, msg) = raw_one_hop(&payload, hash);
    let e = decode_incoming_htlc(&n, &secp, &msg, HEIGHT).unwrap_err();
    // The HMAC verified, so the failure is encrypted for the origin.
    let f = expect_fail(e, "bolt4-payload-blinding");
    assert_eq!(f.code(), 0xc018);
}
