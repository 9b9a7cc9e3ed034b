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
        }
        fuzz_invoice_parse("lnbc1".as_bytes());
        fuzz_invoice_parse("LNBC1QQQQQQ".as_bytes());
    }
}
