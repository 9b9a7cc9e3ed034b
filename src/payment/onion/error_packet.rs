//! Failures on the way back (BOLT 4 "Returning Errors"), with attribution
//! data (the attributable-failures extension whose trace is BOLT 4's
//! returning-errors test vector).
//!
//! - The failing hop builds the packet `hmac || u16 failure_len || failure ||
//!   u16 pad_len || pad`, authenticated with its `um` key, adds attribution
//!   data (its hold time and HMACs), and encrypts both: the packet with its
//!   `ammag` stream, the attribution data with its `ammagext` stream.
//! - Each hop back adds its hold time and HMACs to the attribution data and
//!   encrypts again.
//! - The sender, which kept every hop's shared secret, removes the layers one
//!   by one: the hop whose `um` HMAC matches made the failure. A packet no hop
//!   authenticates is garbled; the attribution data then narrows the culprit
//!   to the pair of hops around the first layer whose HMACs do not verify.

use super::failure::{Failure, FailureDecodeError};
use super::{ct_eq, generate_key, hmac, key_type, xor_stream, SharedSecret};

/// Hops the attribution data covers.
pub const MAX_ATTRIBUTABLE_HOPS: usize = 20;
const HOLD_TIME_LEN: usize = 4;
/// Attribution HMACs are truncated to 4 bytes.
const ATTR_HMAC_LEN: usize = 4;
const HOLD_TIMES_LEN: usize = MAX_ATTRIBUTABLE_HOPS * HOLD_TIME_LEN;
/// Length of the attribution data: 20 hold times and 210 truncated HMACs.
pub const ATTRIBUTION_DATA_LEN: usize =
    HOLD_TIMES_LEN + MAX_ATTRIBUTABLE_HOPS * (MAX_ATTRIBUTABLE_HOPS + 1) / 2 * ATTR_HMAC_LEN;
/// `failure_len + pad_len` the failing hop pads to by default (the length the
/// current BOLT 4 vector uses; BOLT 4 requires at least 256).
pub const DEFAULT_FAILURE_PAD_TOTAL: usize = 1024;
/// The minimum `failure_len + pad_len` (BOLT 4: "MUST set `pad` such that the
/// `failure_len` plus `pad_len` is at least 256").
pub const MIN_FAILURE_PAD_TOTAL: usize = 256;

/// Attribution data riding with a failure (or a fulfill): hold times in
/// units of 100 ms and truncated HMACs, one set per hop back to the sender.
/// The wire type of `update_fulfill_htlc`/`update_fail_htlc`; the onion
/// logic that builds and checks it lives here.
pub use crate::msgs::AttributionData;

impl AttributionData {
    /// Reads attribution data from exactly 920 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(AttributionData(bytes.try_into().ok()?))
    }

    fn zero() -> Self {
        AttributionData([0; ATTRIBUTION_DATA_LEN])
    }

    /// Offset of HMAC `j` of block `b` (block `b` holds `20 - b` HMACs).
    #[inline]
    fn hmac_offset(b: usize, j: usize) -> usize {
        HOLD_TIMES_LEN
            + (MAX_ATTRIBUTABLE_HOPS * b - b * b.saturating_sub(1) / 2 + j) * ATTR_HMAC_LEN
    }

    #[inline]
    fn hmac_at(&self, b: usize, j: usize) -> &[u8] {
        let o = Self::hmac_offset(b, j);
        &self.0[o..o + ATTR_HMAC_LEN]
    }

    #[inline]
    fn set_hmac(&mut self, b: usize, j: usize, v: &[u8]) {
        let o = Self::hmac_offset(b, j);
        self.0[o..o + ATTR_HMAC_LEN].copy_from_slice(&v[..ATTR_HMAC_LEN]);
    }

    /// The HMAC a hop puts at position `i` of its block (it cannot know how
    /// far it is from the failing hop, so it commits to every distance):
    /// over the packet, the first `20 - i` hold times and the downstream
    /// HMACs for the same position.
    fn position_hmac(&self, um: &[u8; 32], packet: &[u8], i: usize) -> [u8; 32] {
        let y = MAX_ATTRIBUTABLE_HOPS - i;
        let mut downstream = [0u8; MAX_ATTRIBUTABLE_HOPS * ATTR_HMAC_LEN];
        for j in 0..y - 1 {
            downstream[j * ATTR_HMAC_LEN..(j + 1) * ATTR_HMAC_LEN]
                .copy_from_slice(self.hmac_at(j + 1, i));
        }
        hmac(
            um,
            &[
                packet,
                &self.0[..y * HOLD_TIME_LEN],
                &downstream[..(y - 1) * ATTR_HMAC_LEN],
            ],
        )
    }

    /// Builds this hop's attribution data from the downstream one (`None` at
    /// the failing or fulfilling hop) and encrypts it. `packet` is the
    /// failure packet as this hop received or built it (empty for a fulfill).
    pub fn create(
        prev: Option<&AttributionData>,
        packet: &[u8],
        hold_time: u32,
        ss: &SharedSecret,
    ) -> Self {
        let zero = Self::zero();
        let prev = prev.unwrap_or(&zero);
        let mut new = Self::zero();
        new.0[..HOLD_TIME_LEN].copy_from_slice(&hold_time.to_be_bytes());
        new.0[HOLD_TIME_LEN..HOLD_TIMES_LEN]
            .copy_from_slice(&prev.0[..HOLD_TIMES_LEN - HOLD_TIME_LEN]);
        // Downstream block b (less its first HMAC) becomes our block b + 1.
        for b in 1..MAX_ATTRIBUTABLE_HOPS {
            let count = MAX_ATTRIBUTABLE_HOPS - b;
            let src = Self::hmac_offset(b - 1, 1);
            let dst = Self::hmac_offset(b, 0);
            new.0[dst..dst + count * ATTR_HMAC_LEN]
                .copy_from_slice(&prev.0[src..src + count * ATTR_HMAC_LEN]);
        }
        let um = generate_key(key_type::UM, &ss.0);
        for i in 0..MAX_ATTRIBUTABLE_HOPS {
            let mac = new.position_hmac(&um, packet, i);
            new.set_hmac(0, i, &mac);
        }
        xor_stream(&generate_key(key_type::AMMAG_EXT, &ss.0), 0, &mut new.0);
        new
    }

    /// Removes one hop's layer at the sender. `remaining` is the number of
    /// hops from this one to the end of the route (inclusive). Returns the
    /// hop's hold time and the data as the next hop sent it, or `None` if
    /// this hop's HMACs do not verify.
    fn unwrap(
        &self,
        packet: &[u8],
        ss: &SharedSecret,
        remaining: usize,
    ) -> Option<(u32, AttributionData)> {
        let mut d = *self;
        xor_stream(&generate_key(key_type::AMMAG_EXT, &ss.0), 0, &mut d.0);
        let um = generate_key(key_type::UM, &ss.0);
        for i in MAX_ATTRIBUTABLE_HOPS - remaining..MAX_ATTRIBUTABLE_HOPS {
            let mac = d.position_hmac(&um, packet, i);
            if !ct_eq(&mac[..ATTR_HMAC_LEN], d.hmac_at(0, i)) {
                return None;
            }
        }
        let hold = u32::from_be_bytes(d.0[..HOLD_TIME_LEN].try_into().expect("4 bytes"));
        let mut next = Self::zero();
        next.0[..HOLD_TIMES_LEN - HOLD_TIME_LEN]
            .copy_from_slice(&d.0[HOLD_TIME_LEN..HOLD_TIMES_LEN]);
        // Our block b + 1 was the downstream block b without its first HMAC
        // (which the sender never needs: it stays zero).
        for b in 0..MAX_ATTRIBUTABLE_HOPS - 1 {
            let count = MAX_ATTRIBUTABLE_HOPS - b - 1;
            let src = Self::hmac_offset(b + 1, 0);
            let dst = Self::hmac_offset(b, 1);
            next.0[dst..dst + count * ATTR_HMAC_LEN]
                .copy_from_slice(&d.0[src..src + count * ATTR_HMAC_LEN]);
        }
        Some((hold, next))
    }
}

/// A failure on its way back: the encrypted packet carried in
/// `update_fail_htlc`'s `reason`, and the attribution data beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnedFailure {
    /// The encrypted failure packet.
    pub packet: Vec<u8>,
    /// Attribution data, when the downstream hops sent it.
    pub attribution: Option<AttributionData>,
}

impl ReturnedFailure {
    /// The failure carried by an `update_fail_htlc` (reason and, when
    /// present, attribution data).
    pub fn from_update_fail_htlc(msg: &crate::msgs::UpdateFailHtlc) -> Self {
        ReturnedFailure {
            packet: msg.reason.0.clone(),
            attribution: msg.attribution_data.as_ref().map(|a| AttributionData(a.0)),
        }
    }

    /// At the failing hop: builds, authenticates and encrypts the failure,
    /// padded to the default 1,024 bytes, with attribution data carrying
    /// `hold_time` (units of 100 ms).
    pub fn create(ss: &SharedSecret, failure: &Failure, hold_time: u32) -> Self {
        Self::create_padded(ss, failure, DEFAULT_FAILURE_PAD_TOTAL, hold_time)
    }

    /// Like [`ReturnedFailure::create`] with `failure_len + pad_len` set to
    /// `pad_total` (raised to 256 if lower, and to the failure's length if
    /// that is longer).
    pub fn create_padded(
        ss: &SharedSecret,
        failure: &Failure,
        pad_total: usize,
        hold_time: u32,
    ) -> Self {
        let packet = build_raw_packet(ss, failure, pad_total);
        let attribution = AttributionData::create(None, &packet, hold_time, ss);
        let mut packet = packet;
        xor_stream(&generate_key(key_type::AMMAG, &ss.0), 0, &mut packet);
        ReturnedFailure {
            packet,
            attribution: Some(attribution),
        }
    }

    /// At each hop back: adds this hop's attribution (hold time in units of
    /// 100 ms) and its layer of encryption. Downstream hops that sent no
    /// attribution data get a fresh one, so attribution covers at least the
    /// hops from here back.
    pub fn relay(&mut self, ss: &SharedSecret, hold_time: u32) {
        self.attribution = Some(AttributionData::create(
            self.attribution.as_ref(),
            &self.packet,
            hold_time,
            ss,
        ));
        xor_stream(&generate_key(key_type::AMMAG, &ss.0), 0, &mut self.packet);
    }

    /// At the sender: decrypts with the route's shared secrets (in route
    /// order), attributes the failure to a hop, and collects hold times.
    pub fn decode(&self, shared_secrets: &[SharedSecret]) -> DecodedFailure {
        decode_failure(shared_secrets, &self.packet, self.attribution.as_ref())
    }
}

/// The raw (unencrypted) failure packet of BOLT 4 "Returning Errors".
pub fn build_raw_packet(ss: &SharedSecret, failure: &Failure, pad_total: usize) -> Vec<u8> {
    let msg = failure.encode();
    // A failure longer than a u16 cannot be framed; such a failure is our own
    // bug, so truncate rather than panic (the HMAC still authenticates it).
    let flen = msg.len().min(u16::MAX as usize);
    let total = pad_total
        .max(MIN_FAILURE_PAD_TOTAL)
        .max(flen)
        .min(u16::MAX as usize + flen);
    let pad_len = total - flen;
    let mut packet = Vec::with_capacity(32 + 4 + total);
    packet.extend_from_slice(&[0u8; 32]);
    packet.extend_from_slice(&(flen as u16).to_be_bytes());
    packet.extend_from_slice(&msg[..flen]);
    packet.extend_from_slice(&(pad_len as u16).to_be_bytes());
    packet.resize(32 + 4 + total, 0);
    let um = generate_key(key_type::UM, &ss.0);
    let mac = hmac(&um, &[&packet[32..]]);
    packet[..32].copy_from_slice(&mac);
    packet
}

/// What the sender learned from a returned failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedFailure {
    /// Who failed and why, or that the packet is garbled.
    pub outcome: FailureOutcome,
    /// Hold times (units of 100 ms) reported by the hops whose attribution
    /// verified, in route order.
    pub hold_times: Vec<u32>,
}

/// The sender's reading of a returned failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Hop `hop_index` (0 = first hop after us) authenticated this failure.
    Attributed {
        /// Index of the failing hop in the route.
        hop_index: usize,
        /// The failure it sent.
        failure: Failure,
    },
    /// Hop `hop_index` authenticated the packet but its content is not a
    /// framed failure message: that hop misbehaved.
    Malformed {
        /// Index of the hop that sent it.
        hop_index: usize,
        /// What was wrong.
        error: FailureDecodeError,
    },
    /// No hop authenticated the packet: it was corrupted on the way back.
    /// When attribution data came along, `attribution_failed_at = Some(i)`
    /// means hops `0..i` proved they relayed faithfully, so hop `i - 1` or
    /// hop `i` corrupted it.
    Garbled {
        /// The first hop whose attribution HMACs did not verify.
        attribution_failed_at: Option<usize>,
    },
}

/// Decrypts a failure packet hop by hop (BOLT 4: "It then iteratively
/// decrypts the error message, using each hop's `ammag` key, and computes the
/// HMAC, using each hop's `um` key").
pub fn decode_failure(
    shared_secrets: &[SharedSecret],
    packet: &[u8],
    attribution: Option<&AttributionData>,
) -> DecodedFailure {
    let n = shared_secrets.len();
    let mut pkt = packet.to_vec();
    let mut attr = if n <= MAX_ATTRIBUTABLE_HOPS {
        attribution.copied()
    } else {
        None
    };
    let mut attribution_failed_at = None;
    let mut hold_times = Vec::with_capacity(n);
    for (i, ss) in shared_secrets.iter().enumerate() {
        xor_stream(&generate_key(key_type::AMMAG, &ss.0), 0, &mut pkt);
        if let Some(a) = attr.take() {
            match a.unwrap(&pkt, ss, n - i) {
                Some((hold, next)) => {
                    hold_times.push(hold);
                    attr = Some(next);
                }
                None => attribution_failed_at = Some(i),
            }
        }
        if pkt.len() < 32 + 2 {
            continue;
        }
        let um = generate_key(key_type::UM, &ss.0);
        if !ct_eq(&hmac(&um, &[&pkt[32..]]), &pkt[..32]) {
            continue;
        }
        let flen = u16::from_be_bytes([pkt[32], pkt[33]]) as usize;
        let outcome = match pkt.get(34..34 + flen) {
            Some(msg) => match Failure::decode(msg) {
                Ok(failure) => FailureOutcome::Attributed {
                    hop_index: i,
                    failure,
                },
                Err(error) => FailureOutcome::Malformed {
                    hop_index: i,
                    error,
                },
            },
            None => FailureOutcome::Malformed {
                hop_index: i,
                error: FailureDecodeError::NoCode,
            },
        };
        pad_rounds(&mut pkt, i + 1);
        return DecodedFailure {
            outcome,
            hold_times,
        };
    }
    pad_rounds(&mut pkt, n);
    DecodedFailure {
        outcome: FailureOutcome::Garbled {
            attribution_failed_at,
        },
        hold_times,
    }
}

/// BOLT 4, origin node: "SHOULD continue decrypting, until the loop has been
/// repeated 20 times" and "SHOULD use constant `ammag` and `um` keys to
/// obfuscate the route length": the work done does not tell which hop
/// failed. We pad to the 27 hops a payment onion can have.
fn pad_rounds(scratch: &mut [u8], done: usize) {
    const DUMMY_KEY: [u8; 32] = [0x42; 32];
    for _ in done..super::packet::MAX_PAYMENT_HOPS {
        xor_stream(&DUMMY_KEY, 0, scratch);
        let mac = hmac(&DUMMY_KEY, &[scratch.get(32..).unwrap_or(&[])]);
        core::hint::black_box(mac);
    }
}

/// Attribution data for a fulfilled HTLC: built at the recipient over an
/// empty packet, then relayed the same way (pass the downstream data).
pub fn create_fulfill_attribution(
    prev: Option<&AttributionData>,
    hold_time: u32,
    ss: &SharedSecret,
) -> AttributionData {
    AttributionData::create(prev, &[], hold_time, ss)
}

/// At the sender of a fulfilled payment: the hold times of the hops whose
/// attribution verifies, in route order (stops at the first that does not).
pub fn decode_fulfill_attribution(
    shared_secrets: &[SharedSecret],
    attribution: &AttributionData,
) -> Vec<u32> {
    let n = shared_secrets.len();
    let mut out = Vec::with_capacity(n);
    if n > MAX_ATTRIBUTABLE_HOPS {
        return out;
    }
    let mut attr = *attribution;
    for (i, ss) in shared_secrets.iter().enumerate() {
        match attr.unwrap(&[], ss, n - i) {
            Some((hold, next)) => {
                out.push(hold);
                attr = next;
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribution_layout_has_210_hmacs() {
        assert_eq!(ATTRIBUTION_DATA_LEN, 920);
        assert_eq!(
            AttributionData::hmac_offset(19, 0),
            ATTRIBUTION_DATA_LEN - 4
        );
        assert_eq!(AttributionData::hmac_offset(1, 0), 80 + 20 * 4);
    }

    #[test]
    fn padding_is_at_least_256() {
        let ss = SharedSecret([7; 32]);
        let f = Failure::from(crate::payment::onion::FailureMessage::TemporaryNodeFailure);
        assert_eq!(build_raw_packet(&ss, &f, 0).len(), 32 + 4 + 256);
        assert_eq!(build_raw_packet(&ss, &f, 1024).len(), 32 + 4 + 1024);
    }
}
