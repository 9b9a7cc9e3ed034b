//! The persisted byte form of a [`PendingV1Channel`] (funded, waiting for
//! `channel_ready`), and the helpers the update-phase
//! [`Channel`](crate::channel::funded::Channel) form shares with it.
//!
//! # Layout
//! `version (u8) || min_version (u8) || TLV stream`, the same rules as the
//! monitor's (see [`crate::chain::monitor::update`]): a reader refuses data
//! whose `min_version` is newer than it knows
//! ([`DecodeError::UnknownVersion`]); unknown odd records are skipped,
//! unknown even records fail ([`DecodeError::UnknownRequiredFeature`]).
//! Every record below is known to version-1 readers; an optional one is
//! simply absent. Later fields that old readers may safely ignore take an
//! odd type; fields they must understand take an even type.
//!
//! | type | field | value |
//! |------|-------|-------|
//! | 0 | temporary channel id | 32 bytes |
//! | 2 | user channel id | u128, 16 bytes big-endian |
//! | 4 | signer | [`ChannelSigner::encode_signer`](crate::sign::ChannelSigner::encode_signer) |
//! | 6 | destination script | script bytes |
//! | 8 | we are the funder | u8 0/1 |
//! | 10 | channel value (sat) | u64 |
//! | 12 | push (msat) | u64 |
//! | 14 | feerate per kw | u32 |
//! | 16 | channel type | feature bytes |
//! | 18 | announced | u8 0/1 |
//! | 20, 22 | holder / counterparty limits | see [`write_limits`] |
//! | 24 | counterparty public keys | 5 × 33 bytes |
//! | 26 | counterparty first per-commitment point | 33 bytes |
//! | 28 | counterparty upfront shutdown script (optional) | script bytes |
//! | 30 | minimum depth | u32 |
//! | 32 | transaction parameters | their own versioned encoding |
//! | 34 | channel id | 32 bytes |
//! | 36 | the peer's signature of our commitment 0 | 64 bytes compact |
//! | 38 | our `channel_ready` sent | u8 0/1 |
//! | 40 | the peer's second per-commitment point (optional) | 33 bytes |
//! | 42 | the peer's alias, with 40 (optional) | 8 bytes |
//! | 44 | our alias (optional) | 8 bytes |
//!
//! Our commitment 0 is not stored: it is rebuilt from the negotiated
//! values and the peer's signature must still verify on it, or the read
//! fails with [`DecodeError::InvalidValue`].

use super::{ChannelLimits, Negotiated, PendingV1Channel};
use crate::chain::monitor::update::{rec, Fields};
use crate::channel::FeeRatePerKw;
use crate::codec::{BigSize, DecodeError, Readable, Writeable};
use crate::sign::SignerProvider;
use crate::types::ShortChannelId;

/// The version the channel forms write.
pub(crate) const CHANNEL_SER_VERSION: u8 = 1;
/// The oldest reader version that can read what this code writes.
pub(crate) const CHANNEL_MIN_READ_VERSION: u8 = 1;

/// Checks the two version bytes of a channel form and returns the stream.
pub(crate) fn check_version(bytes: &[u8]) -> Result<&[u8], DecodeError> {
    match bytes {
        [_version, min, rest @ ..] => {
            if *min > CHANNEL_SER_VERSION {
                return Err(DecodeError::UnknownVersion);
            }
            Ok(rest)
        }
        _ => Err(DecodeError::ShortRead),
    }
}

/// The record `t`, which must be present, as raw bytes.
pub(crate) fn raw_req<'a>(f: &Fields<'a>, t: u64) -> Result<&'a [u8], DecodeError> {
    f.raw(t).ok_or(DecodeError::InvalidValue)
}

/// A boolean record: one byte, 0 or 1.
pub(crate) fn read_bool(f: &Fields<'_>, t: u64) -> Result<bool, DecodeError> {
    match f.req::<u8>(t)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::InvalidValue),
    }
}

/// A `u128` record: 16 bytes big-endian.
pub(crate) fn read_u128(f: &Fields<'_>, t: u64) -> Result<u128, DecodeError> {
    let raw: [u8; 16] = raw_req(f, t)?
        .try_into()
        .map_err(|_| DecodeError::BadLengthDescriptor)?;
    Ok(u128::from_be_bytes(raw))
}

/// Reads a whole value with `Readable`, refusing trailing bytes.
pub(crate) fn read_exact<T: Readable>(mut raw: &[u8]) -> Result<T, DecodeError> {
    let v = T::read(&mut raw)?;
    if !raw.is_empty() {
        return Err(DecodeError::BadLengthDescriptor);
    }
    Ok(v)
}

/// Limits: dust limit, max in flight, reserve, HTLC minimum (u64 each),
/// then `to_self_delay` and `max_accepted_htlcs` (u16 each): 36 bytes.
pub(crate) fn write_limits(l: &ChannelLimits) -> Vec<u8> {
    let mut b = Vec::with_capacity(36);
    b.extend_from_slice(&l.dust_limit_satoshis.to_be_bytes());
    b.extend_from_slice(&l.max_htlc_value_in_flight_msat.to_be_bytes());
    b.extend_from_slice(&l.channel_reserve_satoshis.to_be_bytes());
    b.extend_from_slice(&l.htlc_minimum_msat.to_be_bytes());
    b.extend_from_slice(&l.to_self_delay.to_be_bytes());
    b.extend_from_slice(&l.max_accepted_htlcs.to_be_bytes());
    b
}

/// Inverse of [`write_limits`].
pub(crate) fn read_limits(raw: &[u8]) -> Result<ChannelLimits, DecodeError> {
    if raw.len() != 36 {
        return Err(DecodeError::BadLengthDescriptor);
    }
    let mut r = raw;
    Ok(ChannelLimits {
        dust_limit_satoshis: u64::read(&mut r)?,
        max_htlc_value_in_flight_msat: u64::read(&mut r)?,
        channel_reserve_satoshis: u64::read(&mut r)?,
        htlc_minimum_msat: u64::read(&mut r)?,
        to_self_delay: u16::read(&mut r)?,
        max_accepted_htlcs: u16::read(&mut r)?,
    })
}

/// Appends one item of a list: `BigSize length || bytes`.
pub(crate) fn push_item(list: &mut Vec<u8>, item: &[u8]) {
    BigSize::push(list, item.len() as u64);
    list.extend_from_slice(item);
}

/// The items of a list written with [`push_item`]. Every item costs at
/// least its one-byte length, so the count is bounded by the input.
pub(crate) fn items(mut raw: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let len = BigSize::read_from_slice(&mut raw)?;
        if len > raw.len() as u64 {
            return Err(DecodeError::ShortRead);
        }
        let (item, rest) = raw.split_at(len as usize);
        out.push(item);
        raw = rest;
    }
    Ok(out)
}

const KNOWN: &[u64] = &[
    0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42, 44,
];

impl PendingV1Channel {
    /// Appends the persisted form (see the module doc) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let n = &self.neg;
        let b = out;
        b.push(CHANNEL_SER_VERSION);
        b.push(CHANNEL_MIN_READ_VERSION);
        rec(b, 0, &n.temporary_channel_id);
        rec(b, 2, &n.user_channel_id.to_be_bytes().to_vec());
        rec(b, 4, &n.signer.encode_signer());
        rec(b, 6, &n.destination_script);
        rec(b, 8, &(n.is_outbound as u8));
        rec(b, 10, &n.channel_value_satoshis);
        rec(b, 12, &n.push_msat);
        rec(b, 14, &n.feerate.0);
        rec(b, 16, &n.channel_type);
        rec(b, 18, &(n.announced as u8));
        rec(b, 20, &write_limits(&n.holder_limits));
        rec(b, 22, &write_limits(&n.counterparty_limits));
        rec(b, 24, &n.counterparty_pubkeys.encode());
        rec(b, 26, &n.counterparty_first_point);
        if let Some(s) = &n.counterparty_shutdown_script {
            rec(b, 28, s);
        }
        rec(b, 30, &n.minimum_depth);
        rec(b, 32, &self.params.encode());
        rec(b, 34, &self.channel_id);
        rec(b, 36, &self.counterparty_sig);
        rec(b, 38, &(self.our_ready_sent as u8));
        if let Some((point, alias)) = &self.their_ready {
            rec(b, 40, point);
            if let Some(a) = alias {
                rec(b, 42, a);
            }
        }
        if let Some(a) = &self.outbound_scid_alias {
            rec(b, 44, a);
        }
    }

    /// The persisted form (see the module doc).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_to(&mut out);
        out
    }

    /// Reads a channel written by [`encode`](Self::encode), restoring its
    /// signer through `signer_provider`. Our first commitment is rebuilt
    /// and the peer's stored signature must verify on it.
    pub fn read(
        bytes: &[u8],
        signer_provider: &dyn SignerProvider,
    ) -> Result<PendingV1Channel, DecodeError> {
        let f = Fields::parse(check_version(bytes)?, KNOWN)?;
        let signer = signer_provider.read_channel_signer(raw_req(&f, 4)?)?;
        let channel_value_satoshis: u64 = f.req(10)?;
        let push_msat: u64 = f.req(12)?;
        // The first balances subtract the push from the funding (msat).
        if channel_value_satoshis
            .checked_mul(1000)
            .map_or(true, |v| v < push_msat)
        {
            return Err(DecodeError::InvalidValue);
        }
        let neg = Negotiated {
            temporary_channel_id: f.req(0)?,
            user_channel_id: read_u128(&f, 2)?,
            signer,
            destination_script: f.req(6)?,
            is_outbound: read_bool(&f, 8)?,
            channel_value_satoshis,
            push_msat,
            feerate: FeeRatePerKw(f.req(14)?),
            channel_type: f.req(16)?,
            announced: read_bool(&f, 18)?,
            holder_limits: read_limits(raw_req(&f, 20)?)?,
            counterparty_limits: read_limits(raw_req(&f, 22)?)?,
            counterparty_pubkeys: read_exact(raw_req(&f, 24)?)?,
            counterparty_first_point: f.req(26)?,
            counterparty_shutdown_script: f.opt(28)?,
            minimum_depth: f.req(30)?,
        };
        let params: crate::channel::tx::ChannelTransactionParameters =
            read_exact(raw_req(&f, 32)?)?;
        // The parameters are a function of the negotiated values and the
        // funding outpoint (this also checks the signer's keys).
        if params != neg.params(params.funding_outpoint) {
            return Err(DecodeError::InvalidValue);
        }
        let counterparty_sig = f.req(36)?;
        let holder_commitment = neg
            .holder_commitment(&params)
            .map_err(|_| DecodeError::InvalidValue)?;
        holder_commitment
            .verify_counterparty_signatures(&params, &counterparty_sig, &[])
            .map_err(|_| DecodeError::InvalidValue)?;
        let their_ready = match f.opt(40)? {
            Some(point) => Some((point, f.opt::<ShortChannelId>(42)?)),
            None if f.raw(42).is_some() => return Err(DecodeError::InvalidValue),
            None => None,
        };
        Ok(PendingV1Channel {
            neg,
            params,
            channel_id: f.req(34)?,
            holder_commitment,
            counterparty_sig,
            our_ready_sent: read_bool(&f, 38)?,
            their_ready,
            outbound_scid_alias: f.opt(44)?,
        })
    }
}
