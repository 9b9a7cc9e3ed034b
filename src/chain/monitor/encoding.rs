//! Persisted forms of the funding spend and of pending monitor events
//! (TLV streams, see [`super::update`] for the versioning rules).

use super::update::{rec, Fields};
use super::{FundingSpend, FundingSpendKind, MonitorEvent};
use crate::channel::CommitmentNumber;
use crate::codec::{BigSize, DecodeError};
use crate::types::PaymentPreimage;
use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, OutPoint, Txid};

/// Writes a kind as records 6 (u8), 8 (number) and 9 (justice txid).
fn write_kind(b: &mut Vec<u8>, kind: &FundingSpendKind) {
    let (k, number, justice): (u8, Option<CommitmentNumber>, Option<Txid>) = match kind {
        FundingSpendKind::Holder { commitment_number } => (0, Some(*commitment_number), None),
        FundingSpendKind::Counterparty { commitment_number } => (1, Some(*commitment_number), None),
        FundingSpendKind::RevokedCounterparty {
            commitment_number,
            justice_txid,
        } => (2, Some(*commitment_number), *justice_txid),
        FundingSpendKind::Cooperative => (3, None, None),
        FundingSpendKind::Unknown => (4, None, None),
        FundingSpendKind::RevokedHolder { commitment_number } => {
            (5, Some(*commitment_number), None)
        }
    };
    rec(b, 6, &k);
    if let Some(n) = number {
        rec(b, 8, &n.value());
    }
    if let Some(t) = justice {
        rec(b, 9, &t);
    }
}

fn read_kind(f: &Fields<'_>) -> Result<FundingSpendKind, DecodeError> {
    let number = || -> Result<CommitmentNumber, DecodeError> {
        CommitmentNumber::new(f.req(8)?).ok_or(DecodeError::InvalidValue)
    };
    Ok(match f.req::<u8>(6)? {
        0 => FundingSpendKind::Holder {
            commitment_number: number()?,
        },
        1 => FundingSpendKind::Counterparty {
            commitment_number: number()?,
        },
        2 => FundingSpendKind::RevokedCounterparty {
            commitment_number: number()?,
            justice_txid: f.opt(9)?,
        },
        3 => FundingSpendKind::Cooperative,
        4 => FundingSpendKind::Unknown,
        5 => FundingSpendKind::RevokedHolder {
            commitment_number: number()?,
        },
        _ => return Err(DecodeError::InvalidValue),
    })
}

impl FundingSpend {
    pub(super) fn write_fields(&self) -> Vec<u8> {
        let mut b = Vec::new();
        rec(&mut b, 0, &self.txid);
        rec(&mut b, 2, &self.height);
        rec(&mut b, 4, &self.block_hash.to_byte_array());
        write_kind(&mut b, &self.kind);
        b
    }

    pub(super) fn read_fields(body: &[u8]) -> Result<Self, DecodeError> {
        let f = Fields::parse(body, &[0, 2, 4, 6, 8, 9])?;
        Ok(FundingSpend {
            txid: f.req(0)?,
            height: f.req(2)?,
            block_hash: BlockHash::from_byte_array(f.req(4)?),
            kind: read_kind(&f)?,
        })
    }
}

/// A monitor's pending events: `(BigSize length, event TLV stream)` each.
/// Record 0 is the event type (0 commitment confirmed, 2 HTLC preimage);
/// odd event types are skipped by readers that do not know them.
/// `Completed` events belong to the `ChainMonitor` and are never here.
pub(super) fn encode_events(events: &[MonitorEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let mut b = Vec::new();
        match e {
            MonitorEvent::CommitmentTxConfirmed {
                txid, height, kind, ..
            } => {
                rec(&mut b, 0, &0u8);
                rec(&mut b, 2, txid);
                rec(&mut b, 4, height);
                write_kind(&mut b, kind);
            }
            MonitorEvent::HtlcEvent {
                payment_preimage,
                claim_txid,
                height,
                ..
            } => {
                rec(&mut b, 0, &2u8);
                rec(&mut b, 2, claim_txid);
                rec(&mut b, 4, height);
                rec(&mut b, 10, payment_preimage);
            }
            MonitorEvent::Completed { .. } => continue,
        }
        BigSize::push(&mut out, b.len() as u64);
        out.extend_from_slice(&b);
    }
    out
}

/// Inverse of [`encode_events`] for the monitor of `funding_outpoint`.
pub(super) fn decode_events(
    mut raw: &[u8],
    funding_outpoint: OutPoint,
) -> Result<Vec<MonitorEvent>, DecodeError> {
    let mut events = Vec::new();
    while !raw.is_empty() {
        let len = BigSize::read_from_slice(&mut raw)?;
        if len > raw.len() as u64 {
            return Err(DecodeError::ShortRead);
        }
        let (item, rest) = raw.split_at(len as usize);
        raw = rest;
        let f = Fields::parse(item, &[0, 2, 4, 6, 8, 9, 10])?;
        match f.req::<u8>(0)? {
            0 => events.push(MonitorEvent::CommitmentTxConfirmed {
                funding_outpoint,
                txid: f.req(2)?,
                height: f.req(4)?,
                kind: read_kind(&f)?,
            }),
            2 => {
                let payment_preimage: PaymentPreimage = f.req(10)?;
                events.push(MonitorEvent::HtlcEvent {
                    funding_outpoint,
                    payment_hash: payment_preimage.payment_hash(),
                    payment_preimage,
                    claim_txid: f.req(2)?,
                    height: f.req(4)?,
                });
            }
            t if t % 2 == 1 => {}
            _ => return Err(DecodeError::UnknownRequiredFeature),
        }
    }
    Ok(events)
}
