//! The persisted byte form of a [`Channel`], so a manager can write its
//! channels and reload them after a restart.
//!
//! # Layout
//! `version (u8) || min_version (u8) || TLV stream`, with the versioning
//! and BOLT 1 odd/even rules of the monitor's form (see
//! [`crate::chain::monitor::update`]): a reader refuses a `min_version`
//! newer than it knows; unknown odd records are skipped, unknown even ones
//! fail. Every record below is known to version-1 readers, optional ones
//! are simply absent. To extend (a quiescence state, a closing
//! negotiation…), add a record with a new type: odd if a reader that
//! ignores it still runs the channel correctly, even (or a `min_version`
//! bump) if it must not. Nested values (HTLCs, the holder commitment,
//! the config, sent updates) are TLV streams themselves and extend the
//! same way. Lists are `(BigSize length || item)*`.
//!
//! | type | field | value |
//! |------|-------|-------|
//! | 0 | channel id | 32 bytes |
//! | 2 | user channel id | u128, 16 bytes big-endian |
//! | 4 | transaction parameters | their own versioned encoding |
//! | 6 | channel type | feature bytes |
//! | 8 | announced | u8 0/1 |
//! | 10, 12 | holder / counterparty limits | 36 bytes, see `establish::ser` |
//! | 14 | channel config | TLV: 0 prop. fee u32, 2 base fee u32, 4 cltv delta u16, 6 dust exposure kind u8 (0 fixed, 1 multiplier), 8 its value u64 |
//! | 16 | signer | `ChannelSigner::encode_signer` |
//! | 18, 20 | settled balances (holder, counterparty) msat | u64 |
//! | 22 | feerate per kw | u32 |
//! | 24 | pending fee updates | `(feerate u32, stage u8)*` |
//! | 26 | outbound HTLCs | list of HTLC TLVs (below) |
//! | 28 | inbound HTLCs | list of HTLC TLVs |
//! | 30, 32 | next outbound / inbound HTLC id | u64 |
//! | 34 | holder commitment | TLV: 0 number u64, 2 to_holder msat u64, 4 to_counterparty msat u64, 6 feerate u32, 8 HTLCs `(direction u8, amount u64, cltv u32, hash 32)*` in build order, 10 the peer's signature, 12 its HTLC signatures `(64 bytes)*` |
//! | 36 | counterparty commitment number | u64 |
//! | 38 | counterparty current point | 33 bytes |
//! | 40 | counterparty next point (optional) | 33 bytes |
//! | 42 | point awaiting revocation (optional) | 33 bytes |
//! | 44 | last counterparty secret (optional) | 32 bytes |
//! | 46 | latest monitor update id | u64 |
//! | 48 | sent updates | list of TLV: 0 message frame, 2 covering commitment number u64 (optional) |
//! | 50, 52 | last `commitment_signed` / `revoke_and_ack` (optional) | `seq u64 || message frame` |
//! | 54 | message sequence counter | u64 |
//! | 56 | our `channel_ready` | message frame |
//! | 58, 60, 62 | short channel id, peer's alias, our alias (optional) | 8 bytes |
//! | 64 | peer's upfront shutdown script (optional) | script |
//! | 66, 68 | shutdown script sent / received (optional) | script |
//!
//! HTLC TLV: 0 id u64, 2 amount msat u64, 4 cltv u32, 6 payment hash,
//! 8 state u8, 10 removal stage u8 (removed states only), 12 resolution
//! kind u8 (0 fulfill, 1 fail, 2 malformed) with 14 preimage, 16 reason,
//! 18 attribution data (optional), 20 failure code u16, 22 onion hash;
//! inbound only: 24 onion (optional), 26 blinding point (optional),
//! 28 fail-on-commit code (optional).
//!
//! Messages are stored as whole frames ([`Message::encode`]) and read
//! with [`read_message`].
//!
//! Not stored: whether the peer is connected (a reloaded channel is
//! disconnected: call `peer_reconnected` and reestablish) and the holder
//! commitment transaction, which is rebuilt from its inputs and our
//! per-commitment point; the peer's stored signatures must verify on the
//! rebuilt transaction, or the read fails with
//! [`DecodeError::InvalidValue`].

use super::htlc::{
    FeeStage, InRemoveStage, InState, InboundHtlc, InboundResolution, OutRemoveStage, OutState,
    OutboundHtlc, OutboundResolution, PendingFee,
};
use super::{Channel, SentUpdate};
use crate::chain::monitor::update::{decode_htlcs, encode_htlcs, rec, Fields, HTLC_LEN};
use crate::channel::establish::ser::{
    check_version, items, push_item, raw_req, read_bool, read_exact, read_limits, read_u128,
    write_limits, CHANNEL_MIN_READ_VERSION, CHANNEL_SER_VERSION,
};
use crate::channel::tx::{ChannelTransactionParameters, Htlc, HtlcDirection};
use crate::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use crate::codec::{DecodeError, Readable, Writeable};
use crate::config::{ChannelConfig, MaxDustHtlcExposure};
use crate::msgs::{read_message, AttributionData, Message, OnionPacket};
use crate::sign::SignerProvider;
use crate::types::{PaymentHash, PaymentPreimage};
use bitcoin::secp256k1::ecdsa;

const KNOWN: &[u64] = &[
    0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44, 46, 48,
    50, 52, 54, 56, 58, 60, 62, 64, 66, 68,
];
const HTLC_KNOWN: &[u64] = &[0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28];
const HOLDER_KNOWN: &[u64] = &[0, 2, 4, 6, 8, 10, 12];

fn number(n: u64) -> Result<CommitmentNumber, DecodeError> {
    CommitmentNumber::new(n).ok_or(DecodeError::InvalidValue)
}

// ---- resolutions -------------------------------------------------------

/// The three ways an HTLC is removed, shared by both directions.
enum Resolution<'a> {
    Fulfill(&'a PaymentPreimage),
    Fail(&'a [u8], Option<&'a AttributionData>),
    Malformed(u16, &'a [u8; 32]),
}

fn write_resolution(b: &mut Vec<u8>, r: Resolution<'_>) {
    match r {
        Resolution::Fulfill(p) => {
            rec(b, 12, &0u8);
            rec(b, 14, p);
        }
        Resolution::Fail(reason, attribution) => {
            rec(b, 12, &1u8);
            rec(b, 16, &reason.to_vec());
            if let Some(a) = attribution {
                rec(b, 18, a);
            }
        }
        Resolution::Malformed(code, sha) => {
            rec(b, 12, &2u8);
            rec(b, 20, &code);
            rec(b, 22, sha);
        }
    }
}

type ReadResolution = (
    u8,
    Option<PaymentPreimage>,
    Vec<u8>,
    Option<Box<AttributionData>>,
    u16,
    [u8; 32],
);

fn read_resolution(f: &Fields<'_>) -> Result<ReadResolution, DecodeError> {
    Ok(match f.req::<u8>(12)? {
        0 => (0, Some(f.req(14)?), Vec::new(), None, 0, [0; 32]),
        1 => (1, None, f.req(16)?, f.opt(18)?.map(Box::new), 0, [0; 32]),
        2 => (2, None, Vec::new(), None, f.req(20)?, f.req(22)?),
        _ => return Err(DecodeError::InvalidValue),
    })
}

fn read_outbound_resolution(f: &Fields<'_>) -> Result<OutboundResolution, DecodeError> {
    let (kind, preimage, reason, attribution_data, failure_code, sha256_of_onion) =
        read_resolution(f)?;
    Ok(match (kind, preimage) {
        (0, Some(p)) => OutboundResolution::Fulfilled(p),
        (1, _) => OutboundResolution::Failed {
            reason,
            attribution_data,
        },
        _ => OutboundResolution::Malformed {
            failure_code,
            sha256_of_onion,
        },
    })
}

fn read_inbound_resolution(f: &Fields<'_>) -> Result<InboundResolution, DecodeError> {
    let (kind, preimage, reason, attribution_data, failure_code, sha256_of_onion) =
        read_resolution(f)?;
    Ok(match (kind, preimage) {
        (0, Some(p)) => InboundResolution::Fulfill(p),
        (1, _) => InboundResolution::Fail {
            reason,
            attribution_data,
        },
        _ => InboundResolution::Malformed {
            failure_code,
            sha256_of_onion,
        },
    })
}

fn write_common(b: &mut Vec<u8>, id: u64, amount: MilliSatoshi, cltv: u32, hash: &PaymentHash) {
    rec(b, 0, &id);
    rec(b, 2, &amount.0);
    rec(b, 4, &cltv);
    rec(b, 6, hash);
}

fn stage_byte<T: Copy + PartialEq>(all: &[T], s: T) -> u8 {
    all.iter().position(|x| *x == s).unwrap_or(0) as u8
}

fn stage_of<T: Copy>(all: &[T], f: &Fields<'_>) -> Result<T, DecodeError> {
    all.get(f.req::<u8>(10)? as usize)
        .copied()
        .ok_or(DecodeError::InvalidValue)
}

const OUT_STAGES: [OutRemoveStage; 3] = [
    OutRemoveStage::Received,
    OutRemoveStage::Signed,
    OutRemoveStage::Committed,
];
const IN_STAGES: [InRemoveStage; 3] = [
    InRemoveStage::Queued,
    InRemoveStage::Committed,
    InRemoveStage::Revoked,
];
const FEE_STAGES: [FeeStage; 6] = [
    FeeStage::Sent,
    FeeStage::SentCommitted,
    FeeStage::SentRevoked,
    FeeStage::Rcvd,
    FeeStage::RcvdSigned,
    FeeStage::RcvdCommitted,
];

// ---- HTLCs ---------------------------------------------------------------

fn write_outbound(h: &OutboundHtlc) -> Vec<u8> {
    let mut b = Vec::with_capacity(96);
    write_common(&mut b, h.id, h.amount, h.cltv_expiry, &h.payment_hash);
    let state: u8 = match &h.state {
        OutState::SentAdd => 0,
        OutState::AddCommitted => 1,
        OutState::AddRevoked => 2,
        OutState::Committed => 3,
        OutState::Removed(..) => 4,
    };
    rec(&mut b, 8, &state);
    if let OutState::Removed(r, stage) = &h.state {
        rec(&mut b, 10, &stage_byte(&OUT_STAGES, *stage));
        write_resolution(
            &mut b,
            match r {
                OutboundResolution::Fulfilled(p) => Resolution::Fulfill(p),
                OutboundResolution::Failed {
                    reason,
                    attribution_data,
                } => Resolution::Fail(reason, attribution_data.as_deref()),
                OutboundResolution::Malformed {
                    failure_code,
                    sha256_of_onion,
                } => Resolution::Malformed(*failure_code, sha256_of_onion),
            },
        );
    }
    b
}

fn read_outbound(raw: &[u8]) -> Result<OutboundHtlc, DecodeError> {
    let f = Fields::parse(raw, HTLC_KNOWN)?;
    let state = match f.req::<u8>(8)? {
        0 => OutState::SentAdd,
        1 => OutState::AddCommitted,
        2 => OutState::AddRevoked,
        3 => OutState::Committed,
        4 => OutState::Removed(read_outbound_resolution(&f)?, stage_of(&OUT_STAGES, &f)?),
        _ => return Err(DecodeError::InvalidValue),
    };
    Ok(OutboundHtlc {
        id: f.req(0)?,
        amount: MilliSatoshi(f.req(2)?),
        cltv_expiry: f.req(4)?,
        payment_hash: f.req(6)?,
        state,
    })
}

fn write_inbound(h: &InboundHtlc) -> Vec<u8> {
    let mut b = Vec::with_capacity(96);
    write_common(&mut b, h.id, h.amount, h.cltv_expiry, &h.payment_hash);
    let state: u8 = match &h.state {
        InState::RcvdAdd => 0,
        InState::AddSigned => 1,
        InState::AddCommitted => 2,
        InState::Committed => 3,
        InState::Removed(..) => 4,
    };
    rec(&mut b, 8, &state);
    if let InState::Removed(r, stage) = &h.state {
        rec(&mut b, 10, &stage_byte(&IN_STAGES, *stage));
        write_resolution(
            &mut b,
            match r {
                InboundResolution::Fulfill(p) => Resolution::Fulfill(p),
                InboundResolution::Fail {
                    reason,
                    attribution_data,
                } => Resolution::Fail(reason, attribution_data.as_deref()),
                InboundResolution::Malformed {
                    failure_code,
                    sha256_of_onion,
                } => Resolution::Malformed(*failure_code, sha256_of_onion),
            },
        );
    }
    if let Some(o) = &h.onion {
        rec(&mut b, 24, &o.encode());
    }
    if let Some(p) = &h.blinding_point {
        rec(&mut b, 26, p);
    }
    if let Some(c) = h.fail_on_commit {
        rec(&mut b, 28, &c);
    }
    b
}

fn read_inbound(raw: &[u8]) -> Result<InboundHtlc, DecodeError> {
    let f = Fields::parse(raw, HTLC_KNOWN)?;
    let state = match f.req::<u8>(8)? {
        0 => InState::RcvdAdd,
        1 => InState::AddSigned,
        2 => InState::AddCommitted,
        3 => InState::Committed,
        4 => InState::Removed(read_inbound_resolution(&f)?, stage_of(&IN_STAGES, &f)?),
        _ => return Err(DecodeError::InvalidValue),
    };
    let onion = match f.raw(24) {
        Some(raw) => Some(Box::new(read_exact::<OnionPacket>(raw)?)),
        None => None,
    };
    Ok(InboundHtlc {
        id: f.req(0)?,
        amount: MilliSatoshi(f.req(2)?),
        cltv_expiry: f.req(4)?,
        payment_hash: f.req(6)?,
        onion,
        blinding_point: f.opt(26)?,
        fail_on_commit: f.opt(28)?,
        state,
    })
}

// ---- commitment HTLC lists and signatures --------------------------------

fn encode_sigs(sigs: &[ecdsa::Signature]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * sigs.len());
    for s in sigs {
        out.extend_from_slice(&s.serialize_compact());
    }
    out
}

fn decode_sigs(bytes: &[u8]) -> Result<Vec<ecdsa::Signature>, DecodeError> {
    if bytes.len() % 64 != 0 {
        return Err(DecodeError::BadLengthDescriptor);
    }
    bytes
        .chunks_exact(64)
        .map(|c| ecdsa::Signature::from_compact(c).map_err(|_| DecodeError::InvalidValue))
        .collect()
}

// ---- messages --------------------------------------------------------------

fn read_frame(raw: &[u8]) -> Result<Message, DecodeError> {
    read_message(raw)
}

/// `seq u64 || message frame`.
fn write_seq_msg(seq: u64, msg: Message) -> Vec<u8> {
    let mut b = seq.to_be_bytes().to_vec();
    b.extend_from_slice(&msg.encode());
    b
}

fn read_seq_msg(raw: &[u8]) -> Result<(u64, Message), DecodeError> {
    let mut r = raw;
    let seq = u64::read(&mut r)?;
    Ok((seq, read_frame(r)?))
}

// ---- config ----------------------------------------------------------------

fn write_config(c: &ChannelConfig) -> Vec<u8> {
    let mut b = Vec::with_capacity(32);
    rec(&mut b, 0, &c.forwarding_fee_proportional_millionths);
    rec(&mut b, 2, &c.forwarding_fee_base_msat);
    rec(&mut b, 4, &c.cltv_expiry_delta);
    let (kind, v) = match c.max_dust_htlc_exposure {
        MaxDustHtlcExposure::FixedLimitMsat(v) => (0u8, v),
        MaxDustHtlcExposure::FeeRateMultiplier(v) => (1u8, v),
    };
    rec(&mut b, 6, &kind);
    rec(&mut b, 8, &v);
    b
}

fn read_config(raw: &[u8]) -> Result<ChannelConfig, DecodeError> {
    let f = Fields::parse(raw, &[0, 2, 4, 6, 8])?;
    let v: u64 = f.req(8)?;
    Ok(ChannelConfig {
        forwarding_fee_proportional_millionths: f.req(0)?,
        forwarding_fee_base_msat: f.req(2)?,
        cltv_expiry_delta: f.req(4)?,
        max_dust_htlc_exposure: match f.req::<u8>(6)? {
            0 => MaxDustHtlcExposure::FixedLimitMsat(v),
            1 => MaxDustHtlcExposure::FeeRateMultiplier(v),
            _ => return Err(DecodeError::InvalidValue),
        },
    })
}

// ---- the channel -------------------------------------------------------------

impl Channel {
    /// The inputs our current commitment was built from: its HTLCs in build
    /// order and its balances before fees (holder, counterparty), in msat.
    fn holder_commitment_inputs(&self) -> (Vec<Htlc>, u64, u64) {
        // Build order from the transaction itself: untrimmed HTLCs carry
        // their index in the build input, the trimmed ones fill the other
        // slots in input order.
        let tx = &self.holder_tx;
        let n = tx.htlcs().len() + tx.trimmed_htlcs().len();
        let mut slots: Vec<Option<Htlc>> = vec![None; n];
        for h in tx.htlcs() {
            if let Some(s) = slots.get_mut(h.source_index) {
                *s = Some(h.htlc);
            }
        }
        let mut trimmed = tx.trimmed_htlcs().iter();
        let htlcs: Vec<Htlc> = slots
            .into_iter()
            .filter_map(|s| s.or_else(|| trimmed.next().copied()))
            .collect();
        // Balances: the settled ones, less the HTLCs still on the
        // commitment, with the removals the commitment already applied but
        // the settled balances not yet (our HTLCs fulfilled by the peer and
        // signed, until its revoke_and_ack forgets them; see htlc.rs).
        let offered = |d: HtlcDirection| -> u64 {
            htlcs
                .iter()
                .filter(|h| h.direction == d)
                .map(|h| h.amount.0)
                .sum()
        };
        let moved: u64 = self
            .outbound
            .iter()
            .filter(|h| {
                matches!(
                    h.state,
                    OutState::Removed(
                        OutboundResolution::Fulfilled(_),
                        OutRemoveStage::Signed | OutRemoveStage::Committed
                    )
                )
            })
            .map(|h| h.amount.0)
            .sum();
        let to_h = self
            .to_holder
            .0
            .saturating_sub(offered(HtlcDirection::HolderOffered))
            .saturating_sub(moved);
        let to_c = self
            .to_counterparty
            .0
            .saturating_sub(offered(HtlcDirection::CounterpartyOffered))
            .saturating_add(moved);
        (htlcs, to_h, to_c)
    }

    /// Appends the persisted form (see the module doc) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let b = out;
        b.push(CHANNEL_SER_VERSION);
        b.push(CHANNEL_MIN_READ_VERSION);
        rec(b, 0, &self.channel_id);
        rec(b, 2, &self.user_channel_id.to_be_bytes().to_vec());
        rec(b, 4, &self.params.encode());
        rec(b, 6, &self.channel_type);
        rec(b, 8, &(self.announced as u8));
        rec(b, 10, &write_limits(&self.holder_limits));
        rec(b, 12, &write_limits(&self.counterparty_limits));
        rec(b, 14, &write_config(&self.config));
        rec(b, 16, &self.signer.encode_signer());
        rec(b, 18, &self.to_holder.0);
        rec(b, 20, &self.to_counterparty.0);
        rec(b, 22, &self.feerate.0);
        let mut fees = Vec::with_capacity(5 * self.pending_fees.len());
        for f in &self.pending_fees {
            fees.extend_from_slice(&f.feerate.to_be_bytes());
            fees.push(stage_byte(&FEE_STAGES, f.stage));
        }
        rec(b, 24, &fees);
        let mut list = Vec::new();
        for h in &self.outbound {
            push_item(&mut list, &write_outbound(h));
        }
        rec(b, 26, &list);
        let mut list = Vec::new();
        for h in &self.inbound {
            push_item(&mut list, &write_inbound(h));
        }
        rec(b, 28, &list);
        rec(b, 30, &self.next_outbound_id);
        rec(b, 32, &self.next_inbound_id);
        let (htlcs, to_h, to_c) = self.holder_commitment_inputs();
        let mut hc = Vec::with_capacity(128 + HTLC_LEN * htlcs.len());
        rec(&mut hc, 0, &self.holder_number.value());
        rec(&mut hc, 2, &to_h);
        rec(&mut hc, 4, &to_c);
        rec(&mut hc, 6, &self.holder_tx.feerate().0);
        rec(&mut hc, 8, &encode_htlcs(&htlcs));
        rec(&mut hc, 10, &self.holder_sig);
        rec(&mut hc, 12, &encode_sigs(&self.holder_htlc_sigs));
        rec(b, 34, &hc);
        rec(b, 36, &self.cp_number.value());
        rec(b, 38, &self.cp_point);
        if let Some(p) = &self.cp_next_point {
            rec(b, 40, p);
        }
        if let Some(p) = &self.cp_awaiting_revoke {
            rec(b, 42, p);
        }
        if let Some(s) = &self.cp_last_secret {
            rec(b, 44, s);
        }
        rec(b, 46, &self.latest_monitor_update_id);
        let mut list = Vec::new();
        for u in &self.sent_updates {
            let mut item = Vec::new();
            rec(&mut item, 0, &u.msg.encode());
            if let Some(n) = u.covered_by {
                rec(&mut item, 2, &n.value());
            }
            push_item(&mut list, &item);
        }
        rec(b, 48, &list);
        if let Some((seq, m)) = &self.last_cs {
            rec(b, 50, &write_seq_msg(*seq, m.clone().into()));
        }
        if let Some((seq, m)) = &self.last_raa {
            rec(b, 52, &write_seq_msg(*seq, m.clone().into()));
        }
        rec(b, 54, &self.msg_seq);
        rec(b, 56, &Message::from(self.channel_ready.clone()).encode());
        if let Some(s) = &self.short_channel_id {
            rec(b, 58, s);
        }
        if let Some(s) = &self.counterparty_scid_alias {
            rec(b, 60, s);
        }
        if let Some(s) = &self.outbound_scid_alias {
            rec(b, 62, s);
        }
        if let Some(s) = &self.counterparty_shutdown_script {
            rec(b, 64, s);
        }
        if let Some(s) = &self.shutdown_sent {
            rec(b, 66, s);
        }
        if let Some(s) = &self.shutdown_received {
            rec(b, 68, s);
        }
    }

    /// The persisted form (see the module doc).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2048);
        self.write_to(&mut out);
        out
    }

    /// Reads a channel written by [`encode`](Self::encode), restoring its
    /// signer through `signer_provider`. The channel comes back
    /// disconnected (call [`peer_reconnected`](Self::peer_reconnected) and
    /// reestablish). Our current commitment is rebuilt and the peer's
    /// stored signatures must verify on it; inconsistent balances are
    /// refused ([`DecodeError::InvalidValue`]).
    pub fn read(
        bytes: &[u8],
        signer_provider: &dyn SignerProvider,
    ) -> Result<Channel, DecodeError> {
        let f = Fields::parse(check_version(bytes)?, KNOWN)?;
        let params: ChannelTransactionParameters = read_exact(raw_req(&f, 4)?)?;
        let signer = signer_provider.read_channel_signer(raw_req(&f, 16)?)?;
        if *signer.pubkeys() != params.holder_pubkeys {
            return Err(DecodeError::InvalidValue);
        }

        let raw_fees = raw_req(&f, 24)?;
        if raw_fees.len() % 5 != 0 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let pending_fees = raw_fees
            .chunks_exact(5)
            .map(|c| {
                Ok(PendingFee {
                    feerate: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                    stage: *FEE_STAGES
                        .get(c[4] as usize)
                        .ok_or(DecodeError::InvalidValue)?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let outbound = items(raw_req(&f, 26)?)?
            .into_iter()
            .map(read_outbound)
            .collect::<Result<Vec<_>, _>>()?;
        let inbound = items(raw_req(&f, 28)?)?
            .into_iter()
            .map(read_inbound)
            .collect::<Result<Vec<_>, _>>()?;
        let to_holder = MilliSatoshi(f.req(18)?);
        let to_counterparty = MilliSatoshi(f.req(20)?);
        // The settled balances make the channel (an HTLC's value stays
        // with the side that offered it until it is forgotten), and each
        // side's HTLCs in flight are covered by its settled balance.
        let out_sum = outbound
            .iter()
            .try_fold(0u64, |acc, h| acc.checked_add(h.amount.0));
        let in_sum = inbound
            .iter()
            .try_fold(0u64, |acc, h| acc.checked_add(h.amount.0));
        if to_holder.0.checked_add(to_counterparty.0)
            != params.channel_value.to_sat().checked_mul(1000)
            || out_sum.map_or(true, |s| s > to_holder.0)
            || in_sum.map_or(true, |s| s > to_counterparty.0)
        {
            return Err(DecodeError::InvalidValue);
        }

        // Our current commitment, rebuilt and checked.
        let hc = Fields::parse(raw_req(&f, 34)?, HOLDER_KNOWN)?;
        let holder_number = number(hc.req(0)?)?;
        let holder_sig: ecdsa::Signature = hc.req(10)?;
        let holder_htlc_sigs = decode_sigs(raw_req(&hc, 12)?)?;
        let point = signer
            .per_commitment_point(holder_number)
            .map_err(|_| DecodeError::InvalidValue)?;
        let (hc_to_h, hc_to_c): (u64, u64) = (hc.req(2)?, hc.req(4)?);
        let holder_tx = params
            .build_holder_commitment(
                holder_number,
                &point,
                MilliSatoshi(hc_to_h),
                MilliSatoshi(hc_to_c),
                FeeRatePerKw(hc.req(6)?),
                &decode_htlcs(raw_req(&hc, 8)?)?,
            )
            .map_err(|_| DecodeError::InvalidValue)?;
        holder_tx
            .verify_counterparty_signatures(&params, &holder_sig, &holder_htlc_sigs)
            .map_err(|_| DecodeError::InvalidValue)?;

        let sent_updates = items(raw_req(&f, 48)?)?
            .into_iter()
            .map(|raw| {
                let u = Fields::parse(raw, &[0, 2])?;
                let msg = read_frame(raw_req(&u, 0)?)?;
                if !matches!(
                    msg,
                    Message::UpdateAddHtlc(_)
                        | Message::UpdateFulfillHtlc(_)
                        | Message::UpdateFailHtlc(_)
                        | Message::UpdateFailMalformedHtlc(_)
                        | Message::UpdateFee(_)
                ) {
                    return Err(DecodeError::InvalidValue);
                }
                Ok(SentUpdate {
                    msg,
                    covered_by: u.opt::<u64>(2)?.map(number).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let last_cs = match f.raw(50) {
            Some(raw) => match read_seq_msg(raw)? {
                (seq, Message::CommitmentSigned(m)) => Some((seq, m)),
                _ => return Err(DecodeError::InvalidValue),
            },
            None => None,
        };
        let last_raa = match f.raw(52) {
            Some(raw) => match read_seq_msg(raw)? {
                (seq, Message::RevokeAndAck(m)) => Some((seq, m)),
                _ => return Err(DecodeError::InvalidValue),
            },
            None => None,
        };
        let channel_ready = match read_frame(raw_req(&f, 56)?)? {
            Message::ChannelReady(m) => m,
            _ => return Err(DecodeError::InvalidValue),
        };

        let holder_limits = read_limits(raw_req(&f, 10)?)?;
        let counterparty_limits = read_limits(raw_req(&f, 12)?)?;
        // Establishment refuses a reserve above the funding
        // (`bolt2-open-reserve-too-large`, `bolt2-accept-reserve-too-large`):
        // a larger one is corrupt, and its msat value would overflow the
        // balance arithmetic.
        let value_sat = params.channel_value.to_sat();
        if holder_limits.channel_reserve_satoshis > value_sat
            || counterparty_limits.channel_reserve_satoshis > value_sat
        {
            return Err(DecodeError::InvalidValue);
        }

        let channel = Channel {
            channel_id: f.req(0)?,
            user_channel_id: read_u128(&f, 2)?,
            params,
            channel_type: f.req(6)?,
            announced: read_bool(&f, 8)?,
            holder_limits,
            counterparty_limits,
            config: read_config(raw_req(&f, 14)?)?,
            signer,
            to_holder,
            to_counterparty,
            feerate: FeeRatePerKw(f.req(22)?),
            pending_fees,
            outbound,
            inbound,
            next_outbound_id: f.req(30)?,
            next_inbound_id: f.req(32)?,
            holder_number,
            holder_tx,
            holder_sig,
            holder_htlc_sigs,
            cp_number: number(f.req(36)?)?,
            cp_point: f.req(38)?,
            cp_next_point: f.opt(40)?,
            cp_awaiting_revoke: f.opt(42)?,
            cp_last_secret: f.opt(44)?,
            latest_monitor_update_id: f.req(46)?,
            sent_updates,
            last_cs,
            last_raa,
            msg_seq: f.req(54)?,
            peer_connected: false,
            awaiting_reestablish: false,
            channel_ready,
            short_channel_id: f.opt(58)?,
            counterparty_scid_alias: f.opt(60)?,
            outbound_scid_alias: f.opt(62)?,
            counterparty_shutdown_script: f.opt(64)?,
            shutdown_sent: f.opt(66)?,
            shutdown_received: f.opt(68)?,
        };
        // The commitment's balances must be the ones the HTLC states imply
        // (what `write_to` stores), or the state is inconsistent.
        let (_, to_h, to_c) = channel.holder_commitment_inputs();
        if (to_h, to_c) != (hc_to_h, hc_to_c) {
            return Err(DecodeError::InvalidValue);
        }
        Ok(channel)
    }
}
