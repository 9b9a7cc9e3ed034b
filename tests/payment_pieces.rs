//! The payment pieces a ChannelManager calls, through the public API only:
//! building a path's onion, peeling it hop by hop, the final node's BOLT 4
//! checks, failing back and reading the failure at the sender, stateless
//! inbound payments and invoice creation.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::TlvStream;
use lnkit::msgs::{UpdateAddHtlc, UpdateFailHtlc};
use lnkit::payment::inbound::{
    create_inbound_payment, create_inbound_payment_for_hash, create_invoice,
    verify_inbound_payment, ExpandedKey, InboundPaymentError,
};
use lnkit::payment::invoice::{Bolt11Invoice, Currency, RouteHint, RouteHintHop};
use lnkit::payment::onion::{
    build_payment_onion, decode_fulfill_attribution, FailureMessage, HopPayload, PaymentData,
    ReceivePayload, ReturnedFailure,
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
use lnkit::routing::{Path, RouteHop};
use lnkit::sign::{EntropySource, KeysManager, NodeSigner, Recipient};
use lnkit::types::{ChannelId, PaymentHash, PaymentPreimage, PaymentSecret, ShortChannelId};
use proptest::prelude::*;

const HEIGHT: u32 = 800_000;

fn node(i: u8) -> KeysManager {
    KeysManager::new(&[i; 32], 1_700_000_000, u32::from(i))
}

fn node_id(k: &KeysManager) -> PublicKey {
    k.node_id(Recipient::Node).unwrap()
}

fn session() -> SecretKey {
    SecretKey::from_slice(&[0x41; 32]).unwrap()
}

/// A path over `nodes`: every hop but the last takes 1,000 msat and 40
/// blocks; the last receives `amount` with a final delta of 18.
fn path(nodes: &[KeysManager], amount: u64) -> Path {
    let n = nodes.len();
    Path {
        hops: nodes
            .iter()
            .enumerate()
            .map(|(i, k)| RouteHop {
                pubkey: node_id(k).into(),
                short_channel_id: ShortChannelId(1000 + i as u64),
                fee_msat: if i + 1 == n { amount } else { 1_000 },
                cltv_expiry_delta: if i + 1 == n { 18 } else { 40 },
                node_features_le: Vec::new(),
                maybe_announced_channel: true,
            })
            .collect(),
    }
}

fn add(
    amount_msat: u64,
    cltv_expiry: u32,
    hash: PaymentHash,
    onion: &OutboundOnion,
) -> UpdateAddHtlc {
    UpdateAddHtlc {
        channel_id: ChannelId([7; 32]),
        id: 0,
        amount_msat,
        payment_hash: hash,
        cltv_expiry,
        onion_routing_packet: onion.onion.clone(),
        blinding_point: None,
        unknown_tlvs: TlvStream::new(),
    }
}

fn first_add(onion: &OutboundOnion, hash: PaymentHash) -> UpdateAddHtlc {
    add(
        onion.first_hop_amount_msat,
        onion.first_hop_cltv_expiry,
        hash,
        onion,
    )
}

/// Peels through every intermediate node, checking each forward, and
/// returns the HTLC the last node receives plus every hop's shared secret.
fn forward_to_last(
    nodes: &[KeysManager],
    path: &Path,
    mut msg: UpdateAddHtlc,
) -> (UpdateAddHtlc, Vec<lnkit::payment::onion::SharedSecret>) {
    let secp = Secp256k1::new();
    let mut secrets = Vec::new();
    for (i, k) in nodes[..nodes.len() - 1].iter().enumerate() {
        match decode_incoming_htlc(k, &secp, &msg, HEIGHT).unwrap() {
            IncomingHtlc::Forward {
                short_channel_id,
                amt_to_forward,
                outgoing_cltv_value,
                next_onion,
                shared_secret,
            } => {
                assert_eq!(short_channel_id, path.hops[i + 1].short_channel_id);
                // The node keeps its fee and delta.
                assert_eq!(amt_to_forward + path.hops[i].fee_msat, msg.amount_msat);
                assert_eq!(
                    outgoing_cltv_value + path.hops[i].cltv_expiry_delta,
                    msg.cltv_expiry
                );
                secrets.push(shared_secret);
                msg = UpdateAddHtlc {
                    amount_msat: amt_to_forward,
                    cltv_expiry: outgoing_cltv_value,
                    onion_routing_packet: *next_onion,
                    ..msg
                };
            }
            other => panic!("hop {i} should forward, got {other:?}"),
        }
    }
    (msg, secrets)
}

fn fail_msg(f: &HtlcFailure) -> UpdateFailHtlc {
    match f.to_update_fail(ChannelId([7; 32]), 0) {
        HtlcFailureMsg::Fail(m) => *m,
        HtlcFailureMsg::Malformed(m) => panic!("expected update_fail_htlc, got {m:?}"),
    }
}

/// Relays a failure back through `secrets` (last to first) as each
/// intermediate node would.
fn relay_back(
    msg: &UpdateFailHtlc,
    secrets: &[lnkit::payment::onion::SharedSecret],
) -> UpdateFailHtlc {
    let mut r = ReturnedFailure::from_update_fail_htlc(msg);
    for ss in secrets.iter().rev() {
        r.relay(ss, 1);
    }
    UpdateFailHtlc {
        reason: lnkit::codec::WithU16Len(r.packet),
        attribution_data: r.attribution,
        ..msg.clone()
    }
}

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

    #[test]
    fn random_secrets_never_verify(secret in any::<[u8; 32]>(), hash in any::<[u8; 32]>(), total in any::<u64>()) {
        let k = keys();
        prop_assert!(verify_inbound_payment(&k, &PaymentHash(hash), &PaymentSecret(secret), total, 0).is_err());
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
