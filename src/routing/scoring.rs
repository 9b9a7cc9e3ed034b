//! Scoring: how the router weighs a channel beyond its fee.
//!
//! [`ScoreLookUp`] gives a penalty (in msat-equivalents) for sending an
//! amount over a channel; [`ScoreUpdate`] feeds payment outcomes back.
//! [`ProbabilisticScorer`] keeps, per channel, bounds on the liquidity in
//! each direction, learned from successes and failures and decaying back
//! towards "unknown" over time; its penalty grows with the negative log of
//! the estimated success probability (liquidity assumed uniform between the
//! bounds).

use crate::codec::{DecodeError, Readable, Writeable};
use crate::gossip::{NetworkGraph, NodeId};
use crate::routing::route::Path;
use crate::types::ShortChannelId;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

/// A channel direction the router considers.
#[derive(Clone, Copy, Debug)]
pub struct CandidateHop<'a> {
    /// The channel.
    pub short_channel_id: ShortChannelId,
    /// The forwarding node.
    pub source: &'a NodeId,
    /// The node receiving the HTLC.
    pub target: &'a NodeId,
}

/// How a candidate would be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelUsage {
    /// The HTLC amount over the channel, msat.
    pub amount_msat: u64,
    /// Amount already routed over it (other parts, in-flight HTLCs), msat.
    pub inflight_htlc_msat: u64,
    /// The channel's capacity (or `htlc_maximum_msat` when unknown), msat.
    pub capacity_msat: u64,
}

/// Gives the router a penalty for using a channel. Must be cheap: it is
/// called once per edge the search relaxes.
pub trait ScoreLookUp {
    /// The penalty, in msat, for sending `usage.amount_msat` over `hop`.
    fn channel_penalty_msat(&self, hop: &CandidateHop<'_>, usage: ChannelUsage) -> u64;
}

/// Learns from payment outcomes.
pub trait ScoreUpdate {
    /// A path failed at `short_channel_id` (its forwarding node could not
    /// send the HTLC on).
    fn payment_path_failed(
        &mut self,
        path: &Path,
        short_channel_id: ShortChannelId,
        duration_since_epoch: Duration,
    );
    /// Every hop of a path forwarded and the payee claimed.
    fn payment_path_successful(&mut self, path: &Path, duration_since_epoch: Duration);
    /// A probe over `path` reached its end (every hop had the liquidity).
    fn probe_successful(&mut self, path: &Path, duration_since_epoch: Duration);
    /// Time moved on: decay what was learned.
    fn time_passed(&mut self, duration_since_epoch: Duration);
}

/// A scorer giving every channel the same penalty (tests, or fee-only routing).
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedPenaltyScorer(pub u64);

impl ScoreLookUp for FixedPenaltyScorer {
    fn channel_penalty_msat(&self, _hop: &CandidateHop<'_>, _usage: ChannelUsage) -> u64 {
        self.0
    }
}
impl ScoreUpdate for FixedPenaltyScorer {
    fn payment_path_failed(&mut self, _: &Path, _: ShortChannelId, _: Duration) {}
    fn payment_path_successful(&mut self, _: &Path, _: Duration) {}
    fn probe_successful(&mut self, _: &Path, _: Duration) {}
    fn time_passed(&mut self, _: Duration) {}
}

/// The knobs of [`ProbabilisticScorer`]'s penalty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoringParameters {
    /// Flat penalty per hop, msat (prefers shorter paths).
    pub base_penalty_msat: u64,
    /// Per-hop penalty per 2^30 msat of amount.
    pub base_penalty_amount_multiplier_msat: u64,
    /// Penalty multiplied by `-log10(success probability)`.
    pub liquidity_penalty_multiplier_msat: u64,
    /// Per 2^20 msat of amount, multiplied by `-log10(success probability)`.
    pub liquidity_penalty_amount_multiplier_msat: u64,
    /// Penalty when the amount exceeds what the channel is known to hold.
    pub considered_impossible_penalty_msat: u64,
    /// Time after which learned bounds have moved halfway back to unknown.
    pub liquidity_offset_half_life: Duration,
}

impl Default for ScoringParameters {
    fn default() -> Self {
        ScoringParameters {
            base_penalty_msat: 500,
            base_penalty_amount_multiplier_msat: 8192,
            liquidity_penalty_multiplier_msat: 10_000,
            liquidity_penalty_amount_multiplier_msat: 64,
            considered_impossible_penalty_msat: 100_000_000,
            liquidity_offset_half_life: Duration::from_secs(6 * 3600),
        }
    }
}

/// Learned bounds for one channel, in the `node_1 → node_2` direction:
/// its liquidity lies in `[min_offset, capacity - max_offset]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Liquidity {
    min_offset_msat: u64,
    max_offset_msat: u64,
    last_updated_secs: u64,
}

/// The scorer: learns per-channel liquidity bounds and turns them into
/// success probabilities.
pub struct ProbabilisticScorer {
    params: ScoringParameters,
    graph: Arc<NetworkGraph>,
    channels: HashMap<u64, Liquidity>,
}

impl ProbabilisticScorer {
    /// A scorer with nothing learned.
    pub fn new(params: ScoringParameters, graph: Arc<NetworkGraph>) -> Self {
        ProbabilisticScorer {
            params,
            graph,
            channels: HashMap::new(),
        }
    }

    /// The estimated liquidity bounds `(min, max)` in msat for sending from
    /// `source` over `scid`, if something was learned.
    pub fn estimated_liquidity_range(
        &self,
        scid: ShortChannelId,
        source: &NodeId,
        target: &NodeId,
    ) -> Option<(u64, u64)> {
        let l = self.channels.get(&scid.0)?;
        let cap = self.capacity_msat(scid)?;
        Some(bounds(l, cap, source < target))
    }

    fn capacity_msat(&self, scid: ShortChannelId) -> Option<u64> {
        let ro = self.graph.read_only();
        let c = ro.channel(scid)?;
        effective_capacity(
            c.capacity_sats,
            c.policies
                .iter()
                .flatten()
                .map(|p| p.htlc_maximum_msat)
                .max(),
        )
    }

    /// `(scid, forward direction?, capacity)` of each hop of a path, as far
    /// as the graph knows them.
    fn resolve(&self, path: &Path) -> Vec<(ShortChannelId, bool, u64, u64)> {
        let ro = self.graph.read_only();
        let mut out = Vec::with_capacity(path.hops.len());
        let mut amount = path.first_hop_amount_msat();
        for hop in &path.hops {
            if let Some(c) = ro.channel(hop.short_channel_id) {
                let (n1, _) = ro.channel_nodes(c);
                let max_htlc = c
                    .policies
                    .iter()
                    .flatten()
                    .map(|p| p.htlc_maximum_msat)
                    .max();
                if let Some(cap) = effective_capacity(c.capacity_sats, max_htlc) {
                    // The hop's target is node_2 exactly when we go node_1 → node_2.
                    out.push((hop.short_channel_id, hop.pubkey != n1, cap, amount));
                }
            }
            amount = amount.saturating_sub(hop.fee_msat);
        }
        out
    }

    fn entry(&mut self, scid: ShortChannelId, now: u64) -> &mut Liquidity {
        self.channels.entry(scid.0).or_insert(Liquidity {
            min_offset_msat: 0,
            max_offset_msat: 0,
            last_updated_secs: now,
        })
    }

    /// Records that the liquidity from the hop's source is at least `amount`.
    fn learn_at_least(
        &mut self,
        scid: ShortChannelId,
        forward: bool,
        cap: u64,
        amount: u64,
        now: u64,
    ) {
        let l = self.entry(scid, now);
        let (mut lo, mut hi) = bounds(l, cap, forward);
        lo = lo.max(amount.min(cap));
        hi = hi.max(lo);
        set_bounds(l, cap, forward, lo, hi, now);
    }

    /// Records that the liquidity from the hop's source is below `amount`.
    fn learn_less_than(
        &mut self,
        scid: ShortChannelId,
        forward: bool,
        cap: u64,
        amount: u64,
        now: u64,
    ) {
        let l = self.entry(scid, now);
        let (mut lo, mut hi) = bounds(l, cap, forward);
        hi = hi.min(amount.saturating_sub(1));
        lo = lo.min(hi);
        set_bounds(l, cap, forward, lo, hi, now);
    }

    /// Records that `amount` moved from the source's side to the target's.
    fn learn_moved(
        &mut self,
        scid: ShortChannelId,
        forward: bool,
        cap: u64,
        amount: u64,
        now: u64,
    ) {
        let l = self.entry(scid, now);
        let (lo, hi) = bounds(l, cap, forward);
        let lo = lo.max(amount).saturating_sub(amount);
        let hi = hi.saturating_sub(amount).max(lo);
        set_bounds(l, cap, forward, lo, hi, now);
    }

    /// Writes what was learned (versioned).
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        1u8.write(w)?;
        (self.channels.len() as u32).write(w)?;
        let mut entries: Vec<_> = self.channels.iter().collect();
        entries.sort_unstable_by_key(|(k, _)| **k);
        for (scid, l) in entries {
            scid.write(w)?;
            l.min_offset_msat.write(w)?;
            l.max_offset_msat.write(w)?;
            l.last_updated_secs.write(w)?;
        }
        Ok(())
    }

    /// Reads what [`write_to`](Self::write_to) wrote.
    pub fn read_from<R: Read>(
        r: &mut R,
        params: ScoringParameters,
        graph: Arc<NetworkGraph>,
    ) -> Result<Self, DecodeError> {
        if u8::read(r)? != 1 {
            return Err(DecodeError::UnknownVersion);
        }
        let n = u32::read(r)?;
        let mut channels = HashMap::with_capacity((n as usize).min(1 << 16));
        for _ in 0..n {
            let scid = u64::read(r)?;
            let l = Liquidity {
                min_offset_msat: u64::read(r)?,
                max_offset_msat: u64::read(r)?,
                last_updated_secs: u64::read(r)?,
            };
            channels.insert(scid, l);
        }
        Ok(ProbabilisticScorer {
            params,
            graph,
            channels,
        })
    }
}

impl Writeable for ProbabilisticScorer {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.write_to(w)
    }
}

/// Channel capacity in msat, or its largest `htlc_maximum_msat` when the
/// capacity is unknown.
pub(crate) fn effective_capacity(capacity_sats: Option<u64>, max_htlc: Option<u64>) -> Option<u64> {
    match capacity_sats {
        Some(c) => Some(c.saturating_mul(1000)),
        None => max_htlc,
    }
}

/// `log10(x)` for `x > 0`, to about 1e-4: the penalty needs no more, and
/// the router calls this once per edge it relaxes.
#[inline]
pub(crate) fn fast_log10(x: f64) -> f64 {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    // Mantissa m in [1, 2): ln(m) = 2·atanh((m - 1)/(m + 1)), a short odd series.
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln_m = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (0.2 + t2 * (1.0 / 7.0))));
    (exp as f64 * core::f64::consts::LN_2 + ln_m) * core::f64::consts::LOG10_E
}

/// `(min, max)` liquidity in the given direction.
fn bounds(l: &Liquidity, cap: u64, forward: bool) -> (u64, u64) {
    let lo0 = l.min_offset_msat.min(cap);
    let hi0 = cap.saturating_sub(l.max_offset_msat).max(lo0);
    if forward {
        (lo0, hi0)
    } else {
        (cap - hi0, cap - lo0)
    }
}

fn set_bounds(l: &mut Liquidity, cap: u64, forward: bool, lo: u64, hi: u64, now: u64) {
    let (lo0, hi0) = if forward {
        (lo, hi)
    } else {
        (cap - hi.min(cap), cap - lo.min(cap))
    };
    l.min_offset_msat = lo0;
    l.max_offset_msat = cap - hi0.min(cap);
    l.last_updated_secs = now;
}

impl ScoreLookUp for ProbabilisticScorer {
    fn channel_penalty_msat(&self, hop: &CandidateHop<'_>, usage: ChannelUsage) -> u64 {
        let p = &self.params;
        let amount = usage.amount_msat.saturating_add(usage.inflight_htlc_msat);
        let cap = usage.capacity_msat.max(1);
        let mut penalty = p.base_penalty_msat
            + ((amount as u128 * p.base_penalty_amount_multiplier_msat as u128) >> 30) as u64;
        let (lo, hi) = if self.channels.is_empty() {
            (0, cap)
        } else {
            match self.channels.get(&hop.short_channel_id.0) {
                Some(l) => bounds(l, cap, hop.source < hop.target),
                None => (0, cap),
            }
        };
        if amount <= lo {
            return penalty;
        }
        if amount >= hi {
            return penalty.saturating_add(p.considered_impossible_penalty_msat);
        }
        // Uniform liquidity in [lo, hi]: P(success) = (hi - amount) / (hi - lo).
        let prob = (hi - amount) as f64 / (hi - lo) as f64;
        let neg_log = -fast_log10(prob);
        let liq = p.liquidity_penalty_multiplier_msat as f64 * neg_log
            + p.liquidity_penalty_amount_multiplier_msat as f64
                * (amount as f64 / 1048576.0)
                * neg_log;
        penalty =
            penalty.saturating_add(liq.min(p.considered_impossible_penalty_msat as f64) as u64);
        penalty
    }
}

impl ScoreUpdate for ProbabilisticScorer {
    fn payment_path_failed(&mut self, path: &Path, failed: ShortChannelId, now: Duration) {
        let now = now.as_secs();
        for (scid, fwd, cap, amount) in self.resolve(path) {
            if scid == failed {
                self.learn_less_than(scid, fwd, cap, amount, now);
                break;
            }
            self.learn_at_least(scid, fwd, cap, amount, now);
        }
    }
    fn payment_path_successful(&mut self, path: &Path, now: Duration) {
        let now = now.as_secs();
        for (scid, fwd, cap, amount) in self.resolve(path) {
            self.learn_moved(scid, fwd, cap, amount, now);
        }
    }
    fn probe_successful(&mut self, path: &Path, now: Duration) {
        let now = now.as_secs();
        for (scid, fwd, cap, amount) in self.resolve(path) {
            self.learn_at_least(scid, fwd, cap, amount, now);
        }
    }
    fn time_passed(&mut self, now: Duration) {
        let now = now.as_secs();
        let hl = self.params.liquidity_offset_half_life.as_secs().max(1) as f64;
        self.channels.retain(|_, l| {
            let elapsed = now.saturating_sub(l.last_updated_secs);
            if elapsed == 0 {
                return true;
            }
            let factor = 0.5f64.powf(elapsed as f64 / hl);
            l.min_offset_msat = (l.min_offset_msat as f64 * factor) as u64;
            l.max_offset_msat = (l.max_offset_msat as f64 * factor) as u64;
            l.last_updated_secs = now;
            l.min_offset_msat > 0 || l.max_offset_msat > 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::fast_log10;

    #[test]
    fn fast_log10_is_close_to_log10() {
        for i in 1..2000 {
            let x = i as f64 / 2000.0;
            assert!((fast_log10(x) - x.log10()).abs() < 1e-5, "x={x}");
        }
    }
}
