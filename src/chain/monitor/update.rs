//! [`ChannelMonitorUpdate`]: what the channel tells its monitor after each
//! state change, and its persisted byte form.
//!
//! # Byte form
//! An update is `version (u8) || min_version (u8) || tlv_stream`. A reader
//! refuses data whose `min_version` is newer than it understands
//! ([`DecodeError::UnknownVersion`]); otherwise it reads the TLV stream
//! with the BOLT 1 rules: unknown odd records are skipped, unknown even
//! ones fail. Each step is itself a TLV stream, so fields can be added as
//! odd types without breaking old readers, and new step kinds with an odd
//! type are skipped by old code.
//!
//! Update stream: type 0 `update_id` (u64), type 2 the steps: a sequence of
//! `(BigSize step_type, BigSize length, step TLV stream)` in order (order
//! matters, so it is not itself a TLV stream).

use crate::channel::tx::{
    CounterpartyCommitmentTransaction, HolderCommitmentTransaction, Htlc, HtlcDirection,
};
use crate::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use crate::codec::tlv::{read_tlv_stream, write_tlv_record};
use crate::codec::{BigSize, DecodeError, Readable, TlvStream, TlvValue, Writeable};
use crate::types::{PaymentHash, PaymentPreimage};
use bitcoin::secp256k1::{ecdsa, PublicKey};
use bitcoin::{ScriptBuf, Txid};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// The version this code writes.
pub(crate) const SERIALIZATION_VERSION: u8 = 1;
/// The oldest reader version that can read what this code writes.
pub(crate) const MIN_READ_VERSION: u8 = 1;

/// Our own commitment as of the latest `commitment_signed` from the peer:
/// the inputs it is rebuilt from and the peer's signatures on it.
///
/// Build it with [`from_checked`](Self::from_checked) from the transaction
/// the channel already built and whose signatures it verified: the monitor
/// then reuses that transaction and spends no curve operation on it. Built
/// with [`new`](Self::new), or read from bytes, the monitor rebuilds the
/// transaction and verifies the signatures itself.
#[derive(Clone, Debug)]
pub struct HolderCommitmentInfo {
    /// Its commitment number.
    pub commitment_number: CommitmentNumber,
    /// Our per-commitment point for it.
    pub per_commitment_point: PublicKey,
    /// Our balance, before fees.
    pub to_holder: MilliSatoshi,
    /// The peer's balance, before fees.
    pub to_counterparty: MilliSatoshi,
    /// Its `feerate_per_kw`.
    pub feerate: FeeRatePerKw,
    /// Every HTLC committed in it (trimmed or not), in the order the
    /// channel passed them to the builder.
    pub htlcs: Vec<Htlc>,
    /// The peer's signature of the commitment (`commitment_signed.signature`).
    pub counterparty_sig: ecdsa::Signature,
    /// The peer's HTLC signatures, in HTLC output order.
    pub counterparty_htlc_sigs: Vec<ecdsa::Signature>,
    /// The transaction the channel built and checked (not persisted).
    checked: Option<Arc<HolderCommitmentTransaction>>,
}

/// Equality of the persisted data (the cached transaction is not compared).
impl PartialEq for HolderCommitmentInfo {
    fn eq(&self, o: &Self) -> bool {
        self.commitment_number == o.commitment_number
            && self.per_commitment_point == o.per_commitment_point
            && self.to_holder == o.to_holder
            && self.to_counterparty == o.to_counterparty
            && self.feerate == o.feerate
            && self.htlcs == o.htlcs
            && self.counterparty_sig == o.counterparty_sig
            && self.counterparty_htlc_sigs == o.counterparty_htlc_sigs
    }
}
impl Eq for HolderCommitmentInfo {}

impl HolderCommitmentInfo {
    /// From its parts; the monitor rebuilds the transaction and verifies
    /// the signatures.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        commitment_number: CommitmentNumber,
        per_commitment_point: PublicKey,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        feerate: FeeRatePerKw,
        htlcs: Vec<Htlc>,
        counterparty_sig: ecdsa::Signature,
        counterparty_htlc_sigs: Vec<ecdsa::Signature>,
    ) -> Self {
        HolderCommitmentInfo {
            commitment_number,
            per_commitment_point,
            to_holder,
            to_counterparty,
            feerate,
            htlcs,
            counterparty_sig,
            counterparty_htlc_sigs,
            checked: None,
        }
    }

    /// From the commitment the channel built from `to_holder`,
    /// `to_counterparty` and `htlcs` and whose signatures it verified with
    /// [`HolderCommitmentTransaction::verify_counterparty_signatures`]. The
    /// monitor trusts that and reuses `tx` (it checks only that number,
    /// point, fee rate and HTLC count agree).
    pub fn from_checked(
        tx: HolderCommitmentTransaction,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        htlcs: Vec<Htlc>,
        counterparty_sig: ecdsa::Signature,
        counterparty_htlc_sigs: Vec<ecdsa::Signature>,
    ) -> Self {
        HolderCommitmentInfo {
            commitment_number: tx.number(),
            per_commitment_point: tx.keys().per_commitment_point,
            to_holder,
            to_counterparty,
            feerate: tx.feerate(),
            htlcs,
            counterparty_sig,
            counterparty_htlc_sigs,
            checked: Some(Arc::new(tx)),
        }
    }

    /// The channel's checked transaction, if it still agrees with the
    /// fields (which are public and may have been changed since).
    pub(crate) fn checked_tx(&self) -> Option<&HolderCommitmentTransaction> {
        let tx = self.checked.as_deref()?;
        (tx.number() == self.commitment_number
            && tx.keys().per_commitment_point == self.per_commitment_point
            && tx.feerate() == self.feerate
            && tx.htlcs().len() + tx.trimmed_htlcs().len() == self.htlcs.len()
            && tx.htlcs().len() == self.counterparty_htlc_sigs.len())
        .then_some(tx)
    }
}

/// A commitment of the peer we signed: what is needed to recognise it on
/// chain and to rebuild its outputs.
///
/// Built with [`from_built`](Self::from_built) the monitor trusts the txid;
/// built with [`new`](Self::new) or read from bytes, it rebuilds the
/// transaction to check the txid.
#[derive(Clone, Debug)]
pub struct CounterpartyCommitmentInfo {
    /// Its txid.
    pub txid: Txid,
    /// Its commitment number.
    pub commitment_number: CommitmentNumber,
    /// The peer's per-commitment point for it.
    pub per_commitment_point: PublicKey,
    /// Our balance, before fees.
    pub to_holder: MilliSatoshi,
    /// The peer's balance, before fees.
    pub to_counterparty: MilliSatoshi,
    /// Its `feerate_per_kw`.
    pub feerate: FeeRatePerKw,
    /// Every HTLC committed in it, in builder order.
    pub htlcs: Vec<Htlc>,
    /// The txid the channel's own build gave (not persisted).
    built_txid: Option<Txid>,
}

/// Equality of the persisted data.
impl PartialEq for CounterpartyCommitmentInfo {
    fn eq(&self, o: &Self) -> bool {
        self.txid == o.txid
            && self.commitment_number == o.commitment_number
            && self.per_commitment_point == o.per_commitment_point
            && self.to_holder == o.to_holder
            && self.to_counterparty == o.to_counterparty
            && self.feerate == o.feerate
            && self.htlcs == o.htlcs
    }
}
impl Eq for CounterpartyCommitmentInfo {}

impl CounterpartyCommitmentInfo {
    /// From its parts; the monitor rebuilds the transaction to check `txid`.
    pub fn new(
        txid: Txid,
        commitment_number: CommitmentNumber,
        per_commitment_point: PublicKey,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        feerate: FeeRatePerKw,
        htlcs: Vec<Htlc>,
    ) -> Self {
        CounterpartyCommitmentInfo {
            txid,
            commitment_number,
            per_commitment_point,
            to_holder,
            to_counterparty,
            feerate,
            htlcs,
            built_txid: None,
        }
    }

    /// From the peer's commitment the channel built from `to_holder`,
    /// `to_counterparty` and `htlcs` (and signed); the monitor does not
    /// rebuild it.
    pub fn from_built(
        tx: &CounterpartyCommitmentTransaction,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        htlcs: Vec<Htlc>,
    ) -> Self {
        CounterpartyCommitmentInfo {
            txid: tx.txid(),
            commitment_number: tx.number(),
            per_commitment_point: tx.keys().per_commitment_point,
            to_holder,
            to_counterparty,
            feerate: tx.feerate(),
            htlcs,
            built_txid: Some(tx.txid()),
        }
    }

    /// Whether the channel's build vouches for `txid`.
    pub(crate) fn is_built(&self) -> bool {
        self.built_txid == Some(self.txid)
    }
}

/// One change to a [`ChannelMonitor`](super::ChannelMonitor).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelMonitorUpdateStep {
    /// The peer signed a new holder commitment (`commitment_signed`).
    LatestHolderCommitment(HolderCommitmentInfo),
    /// We signed a new commitment of the peer.
    LatestCounterpartyCommitment(CounterpartyCommitmentInfo),
    /// The peer revoked its commitment `commitment_number`
    /// (`revoke_and_ack.per_commitment_secret`).
    CommitmentSecret {
        /// The revoked commitment of the peer.
        commitment_number: CommitmentNumber,
        /// Its per-commitment secret.
        secret: [u8; 32],
    },
    /// We learned the preimage of an HTLC (we are paid, or a forward was
    /// fulfilled downstream).
    PaymentPreimage {
        /// The preimage.
        preimage: PaymentPreimage,
    },
    /// The channel was force-closed; with `should_broadcast` the monitor
    /// broadcasts the latest holder commitment.
    ChannelForceClosed {
        /// Whether to broadcast our commitment (false when the peer's
        /// commitment is already on chain or we lost state).
        should_broadcast: bool,
    },
    /// The script our cooperative close output pays to.
    ShutdownScript {
        /// The script.
        script: ScriptBuf,
    },
}

impl ChannelMonitorUpdateStep {
    const HOLDER: u64 = 0;
    const COUNTERPARTY: u64 = 2;
    const SECRET: u64 = 4;
    const PREIMAGE: u64 = 6;
    const FORCE_CLOSED: u64 = 8;
    const SHUTDOWN: u64 = 10;

    fn type_and_body(&self) -> (u64, Vec<u8>) {
        let mut b = Vec::new();
        let t = match self {
            ChannelMonitorUpdateStep::LatestHolderCommitment(h) => {
                h.write_fields(&mut b);
                Self::HOLDER
            }
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(c) => {
                c.write_fields(&mut b);
                Self::COUNTERPARTY
            }
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number,
                secret,
            } => {
                rec(&mut b, 0, &commitment_number.value());
                rec(&mut b, 2, secret);
                Self::SECRET
            }
            ChannelMonitorUpdateStep::PaymentPreimage { preimage } => {
                rec(&mut b, 0, preimage);
                Self::PREIMAGE
            }
            ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast } => {
                rec(&mut b, 0, &(*should_broadcast as u8));
                Self::FORCE_CLOSED
            }
            ChannelMonitorUpdateStep::ShutdownScript { script } => {
                rec(&mut b, 0, script);
                Self::SHUTDOWN
            }
        };
        (t, b)
    }

    /// Decodes a step of type `typ`; `Ok(None)` for an unknown odd type.
    fn read_step(typ: u64, body: &[u8]) -> Result<Option<Self>, DecodeError> {
        Ok(Some(match typ {
            Self::HOLDER => ChannelMonitorUpdateStep::LatestHolderCommitment(
                HolderCommitmentInfo::read_fields(body)?,
            ),
            Self::COUNTERPARTY => ChannelMonitorUpdateStep::LatestCounterpartyCommitment(
                CounterpartyCommitmentInfo::read_fields(body)?,
            ),
            Self::SECRET => {
                let f = Fields::parse(body, &[0, 2])?;
                ChannelMonitorUpdateStep::CommitmentSecret {
                    commitment_number: commitment_number(f.req(0)?)?,
                    secret: f.req(2)?,
                }
            }
            Self::PREIMAGE => {
                let f = Fields::parse(body, &[0])?;
                ChannelMonitorUpdateStep::PaymentPreimage {
                    preimage: f.req(0)?,
                }
            }
            Self::FORCE_CLOSED => {
                let f = Fields::parse(body, &[0])?;
                ChannelMonitorUpdateStep::ChannelForceClosed {
                    should_broadcast: match f.req::<u8>(0)? {
                        0 => false,
                        1 => true,
                        _ => return Err(DecodeError::InvalidValue),
                    },
                }
            }
            Self::SHUTDOWN => {
                let f = Fields::parse(body, &[0])?;
                ChannelMonitorUpdateStep::ShutdownScript { script: f.req(0)? }
            }
            t if t % 2 == 1 => return Ok(None),
            _ => return Err(DecodeError::UnknownRequiredFeature),
        }))
    }
}

/// A batch of monitor changes with an id. Ids increase strictly across a
/// channel's updates; the monitor refuses one that does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMonitorUpdate {
    /// This update's id.
    pub update_id: u64,
    /// The changes, applied in order.
    pub updates: Vec<ChannelMonitorUpdateStep>,
}

impl Writeable for ChannelMonitorUpdate {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&[SERIALIZATION_VERSION, MIN_READ_VERSION])?;
        write_tlv_record(w, 0, &self.update_id)?;
        let mut steps = Vec::new();
        for s in &self.updates {
            let (t, body) = s.type_and_body();
            BigSize(t).write(&mut steps)?;
            BigSize(body.len() as u64).write(&mut steps)?;
            steps.extend_from_slice(&body);
        }
        write_tlv_record(w, 2, &steps)
    }
}

impl Readable for ChannelMonitorUpdate {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes = crate::codec::tlv::read_rest(r)?;
        Self::decode(&bytes)
    }
}

impl ChannelMonitorUpdate {
    /// Decodes an update from all of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let body = check_version(bytes)?;
        let f = Fields::parse(body, &[0, 2])?;
        let update_id: u64 = f.req(0)?;
        let mut steps_buf: &[u8] = f.raw(2).ok_or(DecodeError::InvalidValue)?;
        let mut updates = Vec::new();
        while !steps_buf.is_empty() {
            let t = BigSize::read_from_slice(&mut steps_buf)?;
            let len = BigSize::read_from_slice(&mut steps_buf)?;
            if len > steps_buf.len() as u64 {
                return Err(DecodeError::ShortRead);
            }
            let (step, rest) = steps_buf.split_at(len as usize);
            steps_buf = rest;
            if let Some(s) = ChannelMonitorUpdateStep::read_step(t, step)? {
                updates.push(s);
            }
        }
        Ok(ChannelMonitorUpdate { update_id, updates })
    }
}

/// Checks the two version bytes and returns the rest.
pub(crate) fn check_version(bytes: &[u8]) -> Result<&[u8], DecodeError> {
    match bytes {
        [_version, min, rest @ ..] => {
            if *min > SERIALIZATION_VERSION {
                return Err(DecodeError::UnknownVersion);
            }
            Ok(rest)
        }
        _ => Err(DecodeError::ShortRead),
    }
}

impl HolderCommitmentInfo {
    pub(crate) fn write_fields(&self, b: &mut Vec<u8>) {
        rec(b, 0, &self.commitment_number.value());
        rec(b, 2, &self.per_commitment_point);
        rec(b, 4, &self.to_holder.0);
        rec(b, 6, &self.to_counterparty.0);
        rec(b, 8, &self.feerate.0);
        rec(b, 10, &encode_htlcs(&self.htlcs));
        rec(b, 12, &self.counterparty_sig);
        let mut sigs = Vec::with_capacity(64 * self.counterparty_htlc_sigs.len());
        for s in &self.counterparty_htlc_sigs {
            sigs.extend_from_slice(&s.serialize_compact());
        }
        rec(b, 14, &sigs);
    }

    pub(crate) fn read_fields(body: &[u8]) -> Result<Self, DecodeError> {
        let f = Fields::parse(body, &[0, 2, 4, 6, 8, 10, 12, 14])?;
        let sigs: Vec<u8> = f.req(14)?;
        if sigs.len() % 64 != 0 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let counterparty_htlc_sigs = sigs
            .chunks_exact(64)
            .map(|c| ecdsa::Signature::from_compact(c).map_err(|_| DecodeError::InvalidValue))
            .collect::<Result<_, _>>()?;
        Ok(HolderCommitmentInfo::new(
            commitment_number(f.req(0)?)?,
            f.req(2)?,
            MilliSatoshi(f.req(4)?),
            MilliSatoshi(f.req(6)?),
            FeeRatePerKw(f.req(8)?),
            decode_htlcs(f.raw(10).unwrap_or_default())?,
            f.req(12)?,
            counterparty_htlc_sigs,
        ))
    }
}

impl CounterpartyCommitmentInfo {
    pub(crate) fn write_fields(&self, b: &mut Vec<u8>) {
        rec(b, 0, &self.txid);
        rec(b, 2, &self.commitment_number.value());
        rec(b, 4, &self.per_commitment_point);
        rec(b, 6, &self.to_holder.0);
        rec(b, 8, &self.to_counterparty.0);
        rec(b, 10, &self.feerate.0);
        rec(b, 12, &encode_htlcs(&self.htlcs));
    }

    pub(crate) fn read_fields(body: &[u8]) -> Result<Self, DecodeError> {
        let f = Fields::parse(body, &[0, 2, 4, 6, 8, 10, 12])?;
        Ok(CounterpartyCommitmentInfo::new(
            f.req(0)?,
            commitment_number(f.req(2)?)?,
            f.req(4)?,
            MilliSatoshi(f.req(6)?),
            MilliSatoshi(f.req(8)?),
            FeeRatePerKw(f.req(10)?),
            decode_htlcs(f.raw(12).unwrap_or_default())?,
        ))
    }
}

fn commitment_number(n: u64) -> Result<CommitmentNumber, DecodeError> {
    CommitmentNumber::new(n).ok_or(DecodeError::InvalidValue)
}

/// One HTLC: direction (u8: 0 holder offered, 1 counterparty offered),
/// amount msat (u64), cltv_expiry (u32), payment hash (32 bytes).
pub(crate) const HTLC_LEN: usize = 45;

pub(crate) fn encode_htlcs(htlcs: &[Htlc]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HTLC_LEN * htlcs.len());
    for h in htlcs {
        out.push(match h.direction {
            HtlcDirection::HolderOffered => 0,
            HtlcDirection::CounterpartyOffered => 1,
        });
        out.extend_from_slice(&h.amount.0.to_be_bytes());
        out.extend_from_slice(&h.cltv_expiry.to_be_bytes());
        out.extend_from_slice(&h.payment_hash.0);
    }
    out
}

pub(crate) fn decode_htlcs(bytes: &[u8]) -> Result<Vec<Htlc>, DecodeError> {
    if bytes.len() % HTLC_LEN != 0 {
        return Err(DecodeError::BadLengthDescriptor);
    }
    bytes
        .chunks_exact(HTLC_LEN)
        .map(|mut c| {
            let direction = match u8::read(&mut c)? {
                0 => HtlcDirection::HolderOffered,
                1 => HtlcDirection::CounterpartyOffered,
                _ => return Err(DecodeError::InvalidValue),
            };
            Ok(Htlc {
                direction,
                amount: MilliSatoshi(u64::read(&mut c)?),
                cltv_expiry: u32::read(&mut c)?,
                payment_hash: PaymentHash(Readable::read(&mut c)?),
            })
        })
        .collect()
}

/// Appends one TLV record to `b` (writing into a `Vec` cannot fail).
pub(crate) fn rec<T: TlvValue>(b: &mut Vec<u8>, typ: u64, v: &T) {
    write_tlv_record(b, typ, v).expect("writing into a Vec<u8> never fails");
}

/// The known records of one TLV stream, by type.
pub(crate) struct Fields<'a> {
    recs: Vec<(u64, &'a [u8])>,
}

impl<'a> Fields<'a> {
    /// Parses `body` as a TLV stream (BOLT 1 rules), keeping the records
    /// whose type is in `known`; unknown odd records are skipped, unknown
    /// even ones fail.
    pub(crate) fn parse(body: &'a [u8], known: &[u64]) -> Result<Self, DecodeError> {
        let mut recs = Vec::new();
        let mut skipped = TlvStream::new();
        read_tlv_stream(body, &mut skipped, |t, v| {
            if known.contains(&t) {
                recs.push((t, v));
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        Ok(Fields { recs })
    }
    /// The raw value of record `t`.
    pub(crate) fn raw(&self, t: u64) -> Option<&'a [u8]> {
        self.recs.iter().find(|(k, _)| *k == t).map(|(_, v)| *v)
    }
    /// Record `t`, which must be present.
    pub(crate) fn req<T: TlvValue>(&self, t: u64) -> Result<T, DecodeError> {
        T::read_value(self.raw(t).ok_or(DecodeError::InvalidValue)?)
    }
    /// Record `t`, if present.
    pub(crate) fn opt<T: TlvValue>(&self, t: u64) -> Result<Option<T>, DecodeError> {
        self.raw(t).map(T::read_value).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_odd_step_is_skipped_and_unknown_even_step_fails() {
        let u = ChannelMonitorUpdate {
            update_id: 3,
            updates: vec![ChannelMonitorUpdateStep::PaymentPreimage {
                preimage: PaymentPreimage([9; 32]),
            }],
        };
        let mut bytes = u.encode();
        // Append an unknown odd step (type 99, 1 byte) inside record 2: the
        // steps record is last, so extend it and fix its length byte.
        // The steps record's value: step type, step length, 34-byte body.
        let steps_len_pos = bytes.len() - 36 - 1;
        assert_eq!(bytes[steps_len_pos], 36);
        bytes[steps_len_pos] = 39;
        bytes.extend_from_slice(&[99, 1, 0]);
        assert_eq!(ChannelMonitorUpdate::decode(&bytes).unwrap(), u);
        let n = bytes.len();
        bytes[n - 3] = 98;
        assert_eq!(
            ChannelMonitorUpdate::decode(&bytes),
            Err(DecodeError::UnknownRequiredFeature)
        );
    }

    #[test]
    fn newer_min_version_is_refused() {
        let mut bytes = ChannelMonitorUpdate {
            update_id: 1,
            updates: vec![],
        }
        .encode();
        bytes[1] = SERIALIZATION_VERSION + 1;
        assert_eq!(
            ChannelMonitorUpdate::decode(&bytes),
            Err(DecodeError::UnknownVersion)
        );
        // A newer writer that old readers can still read is fine.
        bytes[0] = 7;
        bytes[1] = MIN_READ_VERSION;
        assert!(ChannelMonitorUpdate::decode(&bytes).is_ok());
    }
}
