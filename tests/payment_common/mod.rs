//! Helpers shared by the payment-piece tests: nodes, paths, HTLCs and
//! relaying a failure back.
#![allow(dead_code)]

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::codec::TlvStream;
use lnkit::msgs::{UpdateAddHtlc, UpdateFailHtlc};
use lnkit::payment::onion::{ReturnedFailure, SharedSecret};
use lnkit::payment::outbound::OutboundOnion;
use lnkit::payment::receive::{decode_incoming_htlc, HtlcFailure, HtlcFailureMsg, IncomingHtlc};
use lnkit::routing::{Path, RouteHop};
use lnkit::sign::{KeysManager, NodeSigner, Recipient};
use lnkit::types::{ChannelId, PaymentHash, ShortChannelId};

pub const HEIGHT: u32 = 800_000;

pub fn node(i: u8) -> KeysManager {
    KeysManager::new(&[i; 32], 1_700_000_000, u32::from(i))
}

pub fn node_id(k: &KeysManager) -> PublicKey {
    k.node_id(Recipient::Node).unwrap()
}

pub fn session() -> SecretKey {
    SecretKey::from_slice(&[0x41; 32]).unwrap()
}

/// A path over `nodes`: every hop but the last takes 1,000 msat and 40
/// blocks; the last receives `amount` with a final delta of 18.
pub fn path(nodes: &[KeysManager], amount: u64) -> Path {
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

pub fn add(
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

pub fn first_add(onion: &OutboundOnion, hash: PaymentHash) -> UpdateAddHtlc {
    add(
        onion.first_hop_amount_msat,
        onion.first_hop_cltv_expiry,
        hash,
        onion,
    )
}

/// Peels through every intermediate node, checking each forward, and
/// returns the HTLC the last node receives plus every hop's shared secret.
pub fn forward_to_last(
    nodes: &[KeysManager],
    path: &Path,
    mut msg: UpdateAddHtlc,
) -> (UpdateAddHtlc, Vec<SharedSecret>) {
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

pub fn fail_msg(f: &HtlcFailure) -> UpdateFailHtlc {
    match f.to_update_fail(ChannelId([7; 32]), 0) {
        HtlcFailureMsg::Fail(m) => *m,
        HtlcFailureMsg::Malformed(m) => panic!("expected update_fail_htlc, got {m:?}"),
    }
}

/// Relays a failure back through `secrets` (last to first) as each
/// intermediate node would.
pub fn relay_back(msg: &UpdateFailHtlc, secrets: &[SharedSecret]) -> UpdateFailHtlc {
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
