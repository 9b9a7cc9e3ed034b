//! Our HTLCs on force-closed channels ("parked"): their fate is read from
//! the chain. A preimage the monitor sees completes the payment; our own
//! commitment confirming [`ANTI_REORG_DELAY`] deep without them fails
//! them; a reorg of that commitment makes them wait again. Persisted with
//! the manager (`ser.rs`, format version 2).

use super::lock;
use super::payments::HtlcSource;
use super::ChannelManager;
use crate::payment::outbound::PathFailure;
use crate::types::{PaymentHash, PaymentPreimage};

/// One of our HTLCs on a channel that was force-closed: its fate is
/// decided by which commitment confirms.
#[derive(Clone, Debug)]
pub(crate) struct ParkedHtlc {
    pub funding_outpoint: bitcoin::OutPoint,
    pub payment_hash: PaymentHash,
    pub source: HtlcSource,
    /// Whether it is in our commitment (the one we broadcast).
    pub in_holder: bool,
    pub holder_number: crate::channel::CommitmentNumber,
    /// Our commitment without it, confirmed: its txid and height. The
    /// HTLC fails back at [`ANTI_REORG_DELAY`] confirmations; a reorg
    /// that unconfirms the commitment first clears this.
    pub confirmed: Option<(bitcoin::Txid, u32)>,
}

/// Confirmations of a commitment without an HTLC before the HTLC is
/// failed back (a reorg deeper than this is not planned for).
pub const ANTI_REORG_DELAY: u32 = 6;

impl ChannelManager {
    /// A force-closed channel's HTLCs of ours: one in no commitment at all
    /// is failed at once; the others wait for the chain.
    pub(crate) fn park_outbound_htlcs(&self, f: &super::FundedEntry) {
        let op = f.chan.funding_outpoint();
        let number = f.chan.holder_commitment_number();
        for (id, src) in &f.sources {
            match f.chan.outbound_htlc_commitments(*id) {
                None => {}
                Some((false, false)) => self.path_failed(src.clone(), closed_channel_failure(src)),
                Some((in_holder, _)) => {
                    let Some(hash) = lock(&self.payments)
                        .get(&src.payment_id)
                        .map(|p| p.payment_hash)
                    else {
                        continue;
                    };
                    lock(&self.closed_htlcs).push(ParkedHtlc {
                        funding_outpoint: op,
                        payment_hash: hash,
                        source: src.clone(),
                        in_holder,
                        holder_number: number,
                        confirmed: None,
                    });
                    self.changed();
                }
            }
        }
    }

    /// The peer claimed one of our HTLCs on chain, revealing the preimage.
    pub(crate) fn closed_htlc_claimed(
        &self,
        funding_outpoint: bitcoin::OutPoint,
        hash: PaymentHash,
        preimage: PaymentPreimage,
    ) {
        let done: Vec<ParkedHtlc> = {
            let mut parked = lock(&self.closed_htlcs);
            let (hit, keep): (Vec<_>, Vec<_>) = parked
                .drain(..)
                .partition(|p| p.funding_outpoint == funding_outpoint && p.payment_hash == hash);
            *parked = keep;
            hit
        };
        if !done.is_empty() {
            self.changed();
        }
        for p in done {
            self.path_succeeded(p.source, preimage);
        }
    }

    /// A commitment spent a closed channel's funding output. Our own
    /// commitment confirming settles every HTLC it does not hold: they
    /// fail back after [`ANTI_REORG_DELAY`] confirmations. (HTLCs in the
    /// confirmed commitment are resolved on chain by the monitor.)
    pub(crate) fn commitment_confirmed(
        &self,
        funding_outpoint: bitcoin::OutPoint,
        txid: bitcoin::Txid,
        kind: &crate::chain::monitor::FundingSpendKind,
        height: u32,
    ) {
        let crate::chain::monitor::FundingSpendKind::Holder { commitment_number } = kind else {
            return;
        };
        let mut parked = lock(&self.closed_htlcs);
        for p in parked.iter_mut() {
            if p.funding_outpoint == funding_outpoint
                && !p.in_holder
                && p.holder_number == *commitment_number
            {
                p.confirmed = Some((txid, height));
                self.changed();
            }
        }
    }

    /// A reorg took the block at `height` (and those above) or the
    /// transaction `txid` away: parked HTLCs whose commitment confirmed
    /// there wait again (the monitor reports the next confirmation).
    pub(crate) fn parked_unconfirmed(&self, height: Option<u32>, txid: Option<bitcoin::Txid>) {
        let mut parked = lock(&self.closed_htlcs);
        for p in parked.iter_mut() {
            let gone = p.confirmed.is_some_and(|(t, at)| {
                height.is_some_and(|h| at >= h) || txid.is_some_and(|x| x == t)
            });
            if gone {
                p.confirmed = None;
                self.changed();
            }
        }
    }

    /// Fails back parked HTLCs whose time came.
    pub(crate) fn fail_parked_htlcs(&self, height: u32) {
        let due: Vec<ParkedHtlc> = {
            let mut parked = lock(&self.closed_htlcs);
            let (due, keep): (Vec<_>, Vec<_>) = parked.drain(..).partition(|p| {
                p.confirmed
                    .is_some_and(|(_, at)| height >= at + ANTI_REORG_DELAY - 1)
            });
            *parked = keep;
            due
        };
        if !due.is_empty() {
            self.changed();
        }
        for p in due {
            let failure = closed_channel_failure(&p.source);
            self.path_failed(p.source, failure);
        }
    }
}

/// How a path whose first channel was force-closed failed: the first hop
/// is to blame, the payment may be retried elsewhere.
fn closed_channel_failure(src: &HtlcSource) -> PathFailure {
    PathFailure {
        failing_hop_index: Some(0),
        failure_code: None,
        failure: None,
        payment_failed_permanently: false,
        short_channel_id_to_blame: src.path.hops.first().map(|h| h.short_channel_id),
        network_update: None,
        hold_times: Vec::new(),
    }
}
