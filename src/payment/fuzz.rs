//! Fuzz entry points for the payment decoders (wired into `fuzz/` by the
//! lead). Each returns normally on any input; a panic is a bug. Where a
//! decoder promises an exact round trip, the entry point checks it.

use crate::codec::Readable;
use crate::payment::invoice::Bolt11Invoice;
use crate::payment::onion::error_packet::{decode_failure, AttributionData, ATTRIBUTION_DATA_LEN};
use crate::payment::onion::packet::{
    peel_payment_onion, peel_var_onion, OnionPacket, VarOnionPacket,
};
use crate::payment::onion::{Failure, HopPayload, SharedSecret, ONION_PACKET_LEN};
use bitcoin::secp256k1::{Secp256k1, SecretKey};

/// Onion peeling with arbitrary bytes: the first 32 bytes are the node key,
/// the rest a payment onion (when long enough), a variable-size onion and a
/// bare hop payload.
pub fn fuzz_onion_peel(data: &[u8]) {
    if data.len() < 32 {
        return;
    }
    let (key, rest) = data.split_at(32);
    if let Ok(payload) = HopPayload::decode(rest, rest.first().is_some_and(|b| b & 1 == 1), false) {
        // A payload that decodes re-encodes to the same bytes.
        assert_eq!(payload.encode(), rest, "hop payload round trip");
    }
    let _ = HopPayload::decode(rest, false, true);
    let Ok(secret) = SecretKey::from_slice(key) else {
        return;
    };
    let secp = Secp256k1::verification_only();
    if rest.len() >= ONION_PACKET_LEN {
        if let Ok(packet) = OnionPacket::read(&mut &rest[..ONION_PACKET_LEN]) {
            let mut ad = [0u8; 32];
            let tail = &rest[ONION_PACKET_LEN..];
            ad[..tail.len().min(32)].copy_from_slice(&tail[..tail.len().min(32)]);
            let _ = peel_payment_onion(&secp, &secret, &packet, &ad, false);
        }
    }
    if let Ok(packet) = VarOnionPacket::decode(rest) {
        let _ = peel_var_onion(&secp, &secret, &packet);
    }
}

/// Failure decryption and failure-message decoding with arbitrary bytes:
/// the first byte picks the route length (0–27), the next 920 bytes (when
/// present and the second byte is odd) are attribution data, the rest is the
/// packet. The bytes are also decoded as a bare failure message.
pub fn fuzz_onion_failure(data: &[u8]) {
    if let Ok(f) = Failure::decode(data) {
        assert_eq!(f.encode(), data, "failure message round trip");
    }
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let secrets: Vec<SharedSecret> = (0..(n % 28))
        .map(|i| SharedSecret([i.wrapping_mul(37) ^ 0x5a; 32]))
        .collect();
    let (attribution, packet) = match rest.split_first() {
        Some((&flag, tail)) if flag & 1 == 1 && tail.len() >= ATTRIBUTION_DATA_LEN => {
            let (a, p) = tail.split_at(ATTRIBUTION_DATA_LEN);
            (AttributionData::from_slice(a), p)
        }
        _ => (None, rest),
    };
    let _ = decode_failure(&secrets, packet, attribution.as_ref());
}

/// Invoice parsing with arbitrary strings: an invoice that parses prints
/// back to exactly the same string.
pub fn fuzz_invoice_parse(data: &[u8]) {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(inv) = s.parse::<Bolt11Invoice>() {
        assert_eq!(inv.to_string(), s, "invoice round trip");
    }
}

/// The fixed node the payment-piece targets decode as (one key derivation
/// per process, not per input).
fn fuzz_node() -> &'static crate::sign::KeysManager {
    static NODE: std::sync::OnceLock<crate::sign::KeysManager> = std::sync::OnceLock::new();
    NODE.get_or_init(|| crate::sign::KeysManager::new(&[0x42; 32], 0, 0))
}

/// An incoming HTLC at a fixed node: the first 4 bytes are the current
/// height, the rest an `update_add_htlc` payload. Whatever it decodes to,
/// a receive must satisfy the final-node checks and a failure must turn
/// into a message.
pub fn fuzz_incoming_htlc(data: &[u8]) {
    use crate::payment::receive::{decode_incoming_htlc, IncomingHtlc};
    if data.len() < 4 {
        return;
    }
    let (h, rest) = data.split_at(4);
    let height = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let Ok(msg) = crate::msgs::UpdateAddHtlc::decode(rest) else {
        return;
    };
    let secp = Secp256k1::verification_only();
    match decode_incoming_htlc(fuzz_node(), &secp, &msg, height) {
        Ok(IncomingHtlc::Receive {
            amount_msat,
            amt_to_forward,
            cltv_expiry,
            keysend_preimage,
            payment_hash,
            ..
        }) => {
            assert!(amt_to_forward <= amount_msat, "receive amount check");
            assert!(
                u64::from(cltv_expiry) >= u64::from(height) + 18,
                "receive cltv check"
            );
            if let Some(p) = keysend_preimage {
                assert_eq!(p.payment_hash(), payment_hash, "keysend check");
            }
        }
        Ok(_) => {}
        Err(f) => {
            let _ = f.to_update_fail(msg.channel_id, msg.id);
        }
    }
}

/// Stateless inbound verification with arbitrary input: secret (32), hash
/// (32), total (8), timestamp (8) under a fixed key. Success would mean a
/// forged secret; a derived preimage must hash to the payment hash.
pub fn fuzz_inbound_verify(data: &[u8]) {
    use crate::payment::inbound::{verify_inbound_payment, ExpandedKey};
    use crate::sign::NodeSigner;
    use crate::types::{PaymentHash, PaymentSecret};
    if data.len() < 80 {
        return;
    }
    let arr = |r: core::ops::Range<usize>| -> [u8; 32] {
        let mut a = [0u8; 32];
        a.copy_from_slice(&data[r]);
        a
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(&data[64..72]);
    let total = u64::from_be_bytes(n);
    n.copy_from_slice(&data[72..80]);
    let now = u64::from_be_bytes(n);
    let keys = ExpandedKey::new(&fuzz_node().get_inbound_payment_key());
    let hash = PaymentHash(arr(32..64));
    if let Ok(v) = verify_inbound_payment(&keys, &hash, &PaymentSecret(arr(0..32)), total, now) {
        if let Some(p) = v.preimage {
            assert_eq!(p.payment_hash(), hash, "verified preimage matches");
        }
    }
}

/// The sender reading an `update_fail_htlc` (the input) for a fixed 3-hop
/// path and session key.
pub fn fuzz_path_failure(data: &[u8]) {
    use crate::payment::outbound::decode_update_fail;
    use crate::routing::{Path, RouteHop};
    use crate::types::ShortChannelId;
    let Ok(msg) = crate::msgs::UpdateFailHtlc::decode(data) else {
        return;
    };
    let secp = Secp256k1::new();
    let hops = (1u8..=3)
        .map(|i| {
            let sk = SecretKey::from_slice(&[i; 32]).expect("valid key");
            RouteHop {
                pubkey: bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &sk).into(),
                short_channel_id: ShortChannelId(u64::from(i)),
                fee_msat: 1000,
                cltv_expiry_delta: 40,
                node_features_le: Vec::new(),
                maybe_announced_channel: true,
            }
        })
        .collect();
    let session = SecretKey::from_slice(&[0x41; 32]).expect("valid key");
    let pf = decode_update_fail(&secp, &Path { hops }, &session, &msg);
    if let Some(i) = pf.failing_hop_index {
        assert!(i < 3, "failing hop inside the path");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_entry_points_take_odd_inputs() {
        for len in [0usize, 1, 2, 31, 32, 33, 100, 1400, 2000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            fuzz_onion_peel(&data);
            fuzz_onion_failure(&data);
            fuzz_invoice_parse(&data);
            fuzz_incoming_htlc(&data);
            fuzz_inbound_verify(&data);
            fuzz_path_failure(&data);
        }
        fuzz_invoice_parse("lnbc1".as_bytes());
        fuzz_invoice_parse("LNBC1QQQQQQ".as_bytes());
    }
}
