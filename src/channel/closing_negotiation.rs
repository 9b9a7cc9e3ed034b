//! BOLT 2 legacy cooperative close: the `shutdown` receiver checks and the
//! `closing_signed` fee negotiation (with and without `fee_range`), as a
//! pure state machine. No I/O: messages go in, messages and a fully signed
//! closing transaction come out.
//!
//! The channel creates a [`ClosingNegotiation`] once both `shutdown`
//! messages were exchanged and no HTLC remains on either commitment.
//!
//! ```text
//!  funder                                         fundee
//!  initial_closing_signed() ─ closing_signed ───▶ closing_signed_received()
//!    fee F1, fee_range R1                           F2 := our target clamped to R1 ∩ R2
//!                                                   F2 == F1 → Done{reply: F1, tx}
//!                                                   otherwise propose F2:
//!  closing_signed_received() ◀─ closing_signed ── Reply(F2, R2)
//!    F2 in R1 ∩ R2 → Done{reply: F2, tx} (else fail the channel)
//!  ─ closing_signed F2 ─────────────────────────▶ closing_signed_received()
//!                                                   F2 == what we sent → Done{reply: None, tx}
//!  (R1 ∩ R2 empty → warning, then failure after CLOSING_SIGNED_TIMEOUT_TICKS)
//! ```
//!
//! Without `fee_range` (peers predating it) each side answers a fee it
//! does not accept with one strictly between its last offer and the
//! peer's, until one side echoes the other's fee.
//!
//! Whenever we accept the peer's fee we sign exactly the transaction the
//! peer signed (BOLT 3 allows variants: each side trims outputs below its
//! own dust limit, and may drop its own output), so both sides end up
//! with the same fully signed transaction.
//!
//! Every BOLT 2 requirement enforced here fails with a
//! [`ChannelError`] carrying a stable tag (`bolt2-closing-…`,
//! `bolt2-shutdown-…`).

use super::closing::ClosingTransaction;
use super::establish::{is_allowed_shutdown_script, ChannelError};
use super::tx::{ChannelTransactionParameters, TxBuildError};
use super::{FeeRatePerKw, MilliSatoshi};
use crate::chain::FEERATE_FLOOR_SATS_PER_KW;
use crate::codec::TlvStream;
use crate::msgs::{ClosingSigned, FeeRange, Shutdown};
use crate::sign::ChannelSigner;
use crate::types::ChannelId;
use bitcoin::secp256k1::ecdsa;
use bitcoin::{Amount, Script, ScriptBuf, Transaction};
use core::fmt;
use std::sync::Arc;

/// Weight a closing transaction's witness adds: the segwit marker and flag
/// (2) plus the funding witness `0 <sig> <sig> <2-of-2 script>`, counted
/// with the largest DER signatures: 1 + 1 + (1 + 73) × 2 + (1 + 71) = 222.
pub const CLOSING_WITNESS_WEIGHT: u64 = 2 + 222;

/// Timer ticks we wait for a `closing_signed` answer (or, after a
/// `fee_range` without overlap, for a satisfying one) before failing the
/// channel: 30 ticks, five minutes at the crate's ~10 s tick. BOLT 2: "if
/// it doesn't receive a `closing_signed` response after a reasonable
/// amount of time: MUST fail the channel".
pub const CLOSING_SIGNED_TIMEOUT_TICKS: u32 = 30;

/// BOLT 3 Dust Limits: the relay dust threshold of an output paying to
/// `script` (Bitcoin Core's, which BOLT 3 lists): P2PKH 546, P2SH 540,
/// P2WPKH 294, P2WSH 330, other witness programs 354 sat. Other scripts
/// get the P2PKH value.
pub fn script_dust_limit(script: &Script) -> Amount {
    let sat = if script.is_p2pkh() {
        546
    } else if script.is_p2sh() {
        540
    } else if script.is_p2wpkh() {
        294
    } else if script.is_p2wsh() {
        330
    } else if script.is_witness_program() {
        354
    } else {
        546
    };
    Amount::from_sat(sat)
}

/// The `shutdown` receiver checks that need no HTLC state; returns the
/// peer's `scriptpubkey` to close to.
///
/// - `bolt2-shutdown-script-form` ([`ChannelError::Warn`]): "if the
///   `scriptpubkey` is not in one of the above forms: SHOULD send a
///   `warning`." The forms are P2WPKH, P2WSH, with
///   `option_shutdown_anysegwit` (`allow_any_segwit`) any witness program
///   of version 1 to 16 with 2 to 40 bytes, and, "for
///   backwards-compatibility", P2PKH and P2SH.
/// - `bolt2-shutdown-upfront-mismatch` ([`ChannelError::Close`]): "if both
///   nodes advertised the `option_upfront_shutdown_script` feature, and the
///   receiving node received a non-zero-length `shutdown_scriptpubkey` in
///   `open_channel` or `accept_channel`, and that `shutdown_scriptpubkey`
///   is not equal to `scriptpubkey`: MAY send a `warning`. MUST fail the
///   connection." We fail the channel: the upfront script exists against
///   a compromised peer node, and a unilateral close pays to keys the peer
///   committed to at opening. `their_upfront` is the script from
///   `open_channel`/`accept_channel` when both advertised the feature
///   (`None`, or an empty script, when there is none).
pub fn shutdown_received_checks(
    msg: &Shutdown,
    their_upfront: Option<&ScriptBuf>,
    allow_any_segwit: bool,
) -> Result<ScriptBuf, ChannelError> {
    if !is_allowed_shutdown_script(&msg.scriptpubkey, allow_any_segwit) {
        return Err(ChannelError::Warn {
            tag: "bolt2-shutdown-script-form",
            message: "shutdown scriptpubkey is not an allowed form".into(),
        });
    }
    if let Some(up) = their_upfront.filter(|s| !s.is_empty()) {
        if *up != msg.scriptpubkey {
            return Err(ChannelError::close(
                "bolt2-shutdown-upfront-mismatch",
                "shutdown scriptpubkey differs from the upfront shutdown_scriptpubkey",
            ));
        }
    }
    Ok(msg.scriptpubkey.clone())
}

/// What [`ClosingNegotiation::closing_signed_received`] asks the caller to
/// do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosingStep {
    /// Send this counter-proposal and wait for the peer's answer.
    Reply(ClosingSigned),
    /// Agreement: send `reply` if any (our echo of the agreed fee) and
    /// broadcast `tx`, the closing transaction signed by both funding keys.
    Done {
        /// Our `closing_signed` with the agreed fee, when the peer has not
        /// seen it yet.
        reply: Option<ClosingSigned>,
        /// The fully signed closing transaction, ready to broadcast.
        tx: Transaction,
    },
}

/// Which output of a closing transaction to leave out (BOLT 3: each node
/// "MAY eliminate its own output").
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Drop {
    None,
    Holder,
    Counterparty,
}

/// The legacy (`closing_signed`) fee negotiation of one channel, with
/// `fee_range`.
pub struct ClosingNegotiation {
    params: ChannelTransactionParameters,
    signer: Arc<dyn ChannelSigner>,
    channel_id: ChannelId,
    to_holder: MilliSatoshi,
    to_counterparty: MilliSatoshi,
    holder_script: ScriptBuf,
    counterparty_script: ScriptBuf,
    /// The fee we would like, inside `range`.
    target_fee: Amount,
    /// The fees we accept (our `fee_range`), `min <= max`.
    min_fee: Amount,
    max_fee: Amount,
    last_sent: Option<Amount>,
    last_received: Option<Amount>,
    /// The peer's last `fee_range` did not overlap ours: we warned and
    /// wait for a satisfying one.
    no_overlap: bool,
    ticks_waiting: u32,
    complete: bool,
}

impl fmt::Debug for ClosingNegotiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosingNegotiation")
            .field("channel_id", &self.channel_id)
            .field("is_funder", &self.params.is_outbound_from_holder)
            .field("fee_range", &(self.min_fee, self.max_fee))
            .field("target_fee", &self.target_fee)
            .field("last_sent", &self.last_sent)
            .field("last_received", &self.last_received)
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}

fn clamp(v: Amount, lo: Amount, hi: Amount) -> Amount {
    v.max(lo).min(hi)
}

/// `v` strictly between `a` and `b` (in either order).
fn strictly_between(v: Amount, a: Amount, b: Amount) -> bool {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    lo < v && v < hi
}

fn signer_error(e: crate::sign::SignError) -> ChannelError {
    ChannelError::close(
        "signer",
        format!("signer refused the closing transaction: {e}"),
    )
}

impl ClosingNegotiation {
    /// Starts the negotiation of a channel whose shutdown is complete and
    /// whose commitments hold no HTLC.
    ///
    /// `to_holder`/`to_counterparty` are the final balances (before the
    /// closing fee, which the funder pays: BOLT 3 "MUST subtract the fee
    /// given by `fee_satoshis` from the output to the funder"); the scripts
    /// are the ones from both `shutdown` messages. Our fee is the closing
    /// transaction's weight ([`Self::closing_weight`]) at `target_feerate`.
    ///
    /// Our `fee_range` (BOLT 2: "SHOULD set `fee_range` according to the
    /// minimum and maximum fees it is prepared to pay"):
    /// - min: the weight at 253 sat/kW, the relay floor: less would not
    ///   propagate ("SHOULD set `min_fee_satoshis` to a fairly low value").
    /// - max, as funder: `max_fee` if given, otherwise the larger of our
    ///   target fee and `current_commitment_fee` (the BOLT 2 rule before
    ///   `fee_range` capped closing fees at the final commitment's base
    ///   fee; a unilateral close would cost at least that); never more
    ///   than the funder's balance.
    /// - max, as fundee: the funder's whole balance: we do not pay, so any
    ///   fee the funder agrees to is fine ("SHOULD set `max_fee_satoshis`
    ///   to at least the `max_fee_satoshis` received"); `max_fee` is not
    ///   used.
    ///
    /// Fails with `closing-balances-exceed-capacity`
    /// ([`ChannelError::Ignore`]) when the balances add up to more than the
    /// channel.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: ChannelTransactionParameters,
        signer: Arc<dyn ChannelSigner>,
        channel_id: ChannelId,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        holder_script: ScriptBuf,
        counterparty_script: ScriptBuf,
        target_feerate: FeeRatePerKw,
        max_fee: Option<Amount>,
        current_commitment_fee: Amount,
    ) -> Result<Self, ChannelError> {
        let total = to_holder.checked_add(to_counterparty);
        let capacity = MilliSatoshi::from_sat(params.channel_value);
        if total.is_none() || capacity.is_none() || total > capacity {
            return Err(ChannelError::ignore(
                "closing-balances-exceed-capacity",
                format!(
                    "balances {to_holder} + {to_counterparty} exceed the channel value {}",
                    params.channel_value
                ),
            ));
        }
        let mut n = ClosingNegotiation {
            params,
            signer,
            channel_id,
            to_holder,
            to_counterparty,
            holder_script,
            counterparty_script,
            target_fee: Amount::ZERO,
            min_fee: Amount::ZERO,
            max_fee: Amount::ZERO,
            last_sent: None,
            last_received: None,
            no_overlap: false,
            ticks_waiting: 0,
            complete: false,
        };
        let weight = n.closing_weight();
        let floor = FeeRatePerKw(FEERATE_FLOOR_SATS_PER_KW).fee_for_weight(weight);
        let target = target_feerate.fee_for_weight(weight).max(floor);
        let funder_balance = n.funder_balance();
        let max = if n.is_funder() {
            max_fee.unwrap_or(target.max(current_commitment_fee))
        } else {
            funder_balance
        }
        .min(funder_balance);
        let min = floor.min(max);
        n.min_fee = min;
        n.max_fee = max;
        n.target_fee = clamp(target, min, max);
        Ok(n)
    }

    /// Whether we funded the channel (and so pay the closing fee).
    pub fn is_funder(&self) -> bool {
        self.params.is_outbound_from_holder
    }

    /// The expected weight of the closing transaction with both outputs
    /// (an upper bound: trimmed outputs only make it lighter).
    pub fn closing_weight(&self) -> u64 {
        // Fee and dust limit zero keep both outputs whatever the balances.
        match ClosingTransaction::build(
            &self.params,
            self.to_holder,
            self.to_counterparty,
            Amount::ZERO,
            self.holder_script.clone(),
            self.counterparty_script.clone(),
            Amount::ZERO,
        ) {
            Ok(tx) => tx.transaction().weight().to_wu() + CLOSING_WITNESS_WEIGHT,
            // Unreachable (a zero fee always fits); a 2-output P2WSH-sized
            // estimate keeps the fee sane regardless.
            Err(_) => 4 * (10 + 41 + 2 * 43) + CLOSING_WITNESS_WEIGHT,
        }
    }

    /// Our `fee_range` (the fees we accept), in satoshis.
    pub fn fee_range(&self) -> FeeRange {
        FeeRange {
            min_fee_satoshis: self.min_fee.to_sat(),
            max_fee_satoshis: self.max_fee.to_sat(),
        }
    }

    /// The fee we propose first (weight × target fee rate, within our
    /// range).
    pub fn target_fee(&self) -> Amount {
        self.target_fee
    }

    /// The fee of our last `closing_signed`, if we sent one since the
    /// negotiation (re)started.
    pub fn last_sent_fee(&self) -> Option<Amount> {
        self.last_sent
    }

    /// Whether both sides agreed and the transaction was handed out.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The channel id.
    pub fn channel_id(&self) -> ChannelId {
        self.channel_id
    }

    fn funder_balance(&self) -> Amount {
        if self.is_funder() {
            self.to_holder.to_sat_floor()
        } else {
            self.to_counterparty.to_sat_floor()
        }
    }

    /// Our first `closing_signed`. BOLT 2: "The funding node: after
    /// `shutdown` has been received, AND no HTLCs remain in either
    /// commitment transaction: SHOULD send a `closing_signed` message"
    /// with "the initial `fee_satoshis` according to its estimate of cost
    /// of inclusion in a block" and its `fee_range`. The fundee waits for
    /// the funder's (`None`), as does a side that already sent one since
    /// the negotiation (re)started.
    pub fn initial_closing_signed(&mut self) -> Result<Option<ClosingSigned>, ChannelError> {
        if self.complete || !self.is_funder() || self.last_sent.is_some() {
            return Ok(None);
        }
        self.propose(self.target_fee).map(Some)
    }

    /// The peer's `closing_signed`: checks it against every BOLT 2 receiver
    /// rule and answers with a counter-proposal or the agreement.
    ///
    /// Tags: `bolt2-closing-signature` (Close), `bolt2-closing-fee-too-large`
    /// (Close), `bolt2-closing-output-dust` (Close),
    /// `bolt2-closing-fee-range-invalid` (Close),
    /// `bolt2-closing-fee-outside-own-range` (Close),
    /// `bolt2-closing-fee-range-no-overlap` (Warn),
    /// `bolt2-closing-fee-not-in-overlap` (Close),
    /// `bolt2-closing-fee-changed` (Close),
    /// `bolt2-closing-fee-not-strictly-between` (Close),
    /// `closing-fee-no-agreement` (Close), `closing-no-outputs` (Close),
    /// `signer` (Close), `closing-complete` and
    /// `closing-channel-id` (Ignore).
    pub fn closing_signed_received(
        &mut self,
        msg: &ClosingSigned,
    ) -> Result<ClosingStep, ChannelError> {
        if self.complete {
            return Err(ChannelError::ignore(
                "closing-complete",
                "closing_signed after the negotiation completed",
            ));
        }
        if msg.channel_id != self.channel_id {
            return Err(ChannelError::ignore(
                "closing-channel-id",
                "closing_signed for another channel",
            ));
        }
        let fee = Amount::from_sat(msg.fee_satoshis);
        // "if the `signature` is not valid for either variant of closing
        // transaction specified in BOLT #3 OR non-compliant with LOW-S-standard
        // rule: MUST send a `warning` and close the connection, or send an
        // `error` and fail the channel." (libsecp256k1 verification rejects
        // high-S signatures.)
        let their_sig = msg.signature.to_signature().map_err(|_| {
            ChannelError::close(
                "bolt2-closing-signature",
                "closing_signed signature is not a valid signature encoding",
            )
        })?;
        let tx = self.verify_peer_signature(fee, &their_sig)?;
        self.ticks_waiting = 0;

        // "if `fee_satoshis` is equal to its previously sent
        // `fee_satoshis`: SHOULD sign and broadcast the final closing
        // transaction."
        if Some(fee) == self.last_sent {
            return self.finish(tx, &their_sig, fee, false);
        }
        let prev_received = self.last_received.replace(fee);

        match msg.fee_range {
            Some(theirs) => self.fee_range_received(tx, &their_sig, fee, theirs),
            None => self.legacy_received(tx, &their_sig, fee, prev_received),
        }
    }

    /// The `fee_range` rules of BOLT 2's receiver.
    fn fee_range_received(
        &mut self,
        tx: ClosingTransaction,
        their_sig: &ecdsa::Signature,
        fee: Amount,
        theirs: FeeRange,
    ) -> Result<ClosingStep, ChannelError> {
        let (their_min, their_max) = (
            Amount::from_sat(theirs.min_fee_satoshis),
            Amount::from_sat(theirs.max_fee_satoshis),
        );
        // A range that is empty, or a fee the sender itself would not
        // accept, leaves nothing to agree on: the message contradicts
        // itself.
        if their_min > their_max {
            return Err(ChannelError::close(
                "bolt2-closing-fee-range-invalid",
                format!("fee_range min {their_min} > max {their_max}"),
            ));
        }
        if fee < their_min || fee > their_max {
            return Err(ChannelError::close(
                "bolt2-closing-fee-outside-own-range",
                format!(
                    "fee_satoshis {fee} outside the sender's fee_range {their_min}..{their_max}"
                ),
            ));
        }
        let lo = self.min_fee.max(their_min);
        let hi = self.max_fee.min(their_max);
        // "if there is no overlap between that and its own `fee_range`:
        // SHOULD send a warning; MUST fail the channel if it doesn't receive
        // a satisfying `fee_range` after a reasonable amount of time"
        // (see `timer_tick`).
        if lo > hi {
            self.no_overlap = true;
            return Err(ChannelError::Warn {
                tag: "bolt2-closing-fee-range-no-overlap",
                message: format!(
                    "fee_range {their_min}..{their_max} does not overlap ours {}..{}",
                    self.min_fee, self.max_fee
                ),
            });
        }
        self.no_overlap = false;
        if self.is_funder() {
            // "if it is the funder: if `fee_satoshis` is not in the overlap
            // between the sent and received `fee_range`: MUST fail the
            // channel; otherwise: MUST reply with the same `fee_satoshis`."
            if fee < lo || fee > hi {
                return Err(ChannelError::close(
                    "bolt2-closing-fee-not-in-overlap",
                    format!("fee_satoshis {fee} is not in the overlap {lo}..{hi}"),
                ));
            }
            return self.finish(tx, their_sig, fee, true);
        }
        // "otherwise (it is not the funder): if it has already sent a
        // `closing_signed`: if `fee_satoshis` is not the same as the value it
        // sent: MUST fail the channel" (the same value was handled above).
        if let Some(sent) = self.last_sent {
            return Err(ChannelError::close(
                "bolt2-closing-fee-changed",
                format!("fee_satoshis {fee} differs from the {sent} we sent"),
            ));
        }
        // "otherwise: MUST propose a `fee_satoshis` in the overlap between
        // received and (about-to-be) sent `fee_range`." Ours is the one
        // closest to our target; if it is theirs, "if `fee_satoshis` matches
        // its previously sent `fee_range`: SHOULD use `fee_satoshis` to sign
        // and broadcast the final closing transaction; SHOULD reply with a
        // `closing_signed` with the same `fee_satoshis`".
        let ours = clamp(self.target_fee, lo, hi);
        if ours == fee {
            return self.finish(tx, their_sig, fee, true);
        }
        self.propose(ours).map(ClosingStep::Reply)
    }

    /// The rules for a `closing_signed` without `fee_range`.
    fn legacy_received(
        &mut self,
        tx: ClosingTransaction,
        their_sig: &ecdsa::Signature,
        fee: Amount,
        prev_received: Option<Amount>,
    ) -> Result<ClosingStep, ChannelError> {
        // "otherwise, if `fee_satoshis` is not strictly between its
        // last-sent `fee_satoshis` and its previously-received
        // `fee_satoshis`, UNLESS it has since reconnected: SHOULD send a
        // `warning` and close the connection, or send an `error` and fail
        // the channel." (`on_disconnect` forgets both.)
        if let (Some(sent), Some(prev)) = (self.last_sent, prev_received) {
            if !strictly_between(fee, sent, prev) {
                return Err(ChannelError::close(
                    "bolt2-closing-fee-not-strictly-between",
                    format!("fee_satoshis {fee} is not strictly between {sent} and {prev}"),
                ));
            }
        }
        // "otherwise, if the receiver agrees with the fee: SHOULD reply with
        // a `closing_signed` with the same `fee_satoshis` value."
        if fee >= self.min_fee && fee <= self.max_fee {
            return self.finish(tx, their_sig, fee, true);
        }
        // "otherwise: MUST propose a value "strictly between" the received
        // `fee_satoshis` and its previously-sent `fee_satoshis`." We go half
        // way, within our range; at our range's edge we cannot move.
        let next = match self.last_sent {
            None => self.target_fee,
            Some(sent) => {
                let mid = ((sent.to_sat() as u128 + fee.to_sat() as u128) / 2) as u64;
                let mid = Amount::from_sat(mid);
                let next = clamp(mid, self.min_fee, self.max_fee);
                if !strictly_between(next, sent, fee) {
                    return Err(ChannelError::close(
                        "closing-fee-no-agreement",
                        format!(
                            "the peer's fee {fee} is outside our range {}..{} and we cannot move from {sent}",
                            self.min_fee, self.max_fee
                        ),
                    ));
                }
                next
            }
        };
        self.propose(next).map(ClosingStep::Reply)
    }

    /// The network forgot the connection: the negotiation restarts on
    /// reconnection (BOLT 2 rationale: "negotiation restarts on
    /// reconnection"; the "strictly between" rule holds "UNLESS it has
    /// since reconnected"). The funder then calls
    /// [`initial_closing_signed`](Self::initial_closing_signed) again.
    pub fn on_disconnect(&mut self) {
        self.last_sent = None;
        self.last_received = None;
        self.no_overlap = false;
        self.ticks_waiting = 0;
    }

    /// A timer tick (the crate's ~10 s tick). While we wait for the peer's
    /// answer to our `closing_signed`, or for a satisfying `fee_range`
    /// after a non-overlapping one, fails the channel after
    /// [`CLOSING_SIGNED_TIMEOUT_TICKS`] ticks: `bolt2-closing-signed-timeout`
    /// ("if it doesn't receive a `closing_signed` response after a
    /// reasonable amount of time: MUST fail the channel") or
    /// `bolt2-closing-fee-range-no-overlap` ("MUST fail the channel if it
    /// doesn't receive a satisfying `fee_range` after a reasonable amount
    /// of time").
    pub fn timer_tick(&mut self) -> Result<(), ChannelError> {
        if self.complete || (self.last_sent.is_none() && !self.no_overlap) {
            self.ticks_waiting = 0;
            return Ok(());
        }
        self.ticks_waiting = self.ticks_waiting.saturating_add(1);
        if self.ticks_waiting < CLOSING_SIGNED_TIMEOUT_TICKS {
            return Ok(());
        }
        if self.no_overlap {
            Err(ChannelError::close(
                "bolt2-closing-fee-range-no-overlap",
                "no satisfying fee_range received in time",
            ))
        } else {
            Err(ChannelError::close(
                "bolt2-closing-signed-timeout",
                "no closing_signed response in time",
            ))
        }
    }

    /// The closing transaction with `fee`, outputs below `dust` removed
    /// (at least 1 sat: a zero-value output is never valid) and `drop`
    /// left out.
    fn build(
        &self,
        fee: Amount,
        dust: Amount,
        drop: Drop,
    ) -> Result<ClosingTransaction, TxBuildError> {
        // An output is left out by making it zero after the fee: the
        // funder's balance becomes exactly the fee.
        let fee_msat = MilliSatoshi(fee.to_sat().saturating_mul(1000));
        let gone = |funder: bool| if funder { fee_msat } else { MilliSatoshi(0) };
        let to_holder = if drop == Drop::Holder {
            gone(self.is_funder())
        } else {
            self.to_holder
        };
        let to_counterparty = if drop == Drop::Counterparty {
            gone(!self.is_funder())
        } else {
            self.to_counterparty
        };
        ClosingTransaction::build(
            &self.params,
            to_holder,
            to_counterparty,
            fee,
            self.holder_script.clone(),
            self.counterparty_script.clone(),
            dust.max(Amount::ONE_SAT),
        )
    }

    fn fee_too_large(&self, fee: Amount) -> ChannelError {
        ChannelError::close(
            "bolt2-closing-fee-too-large",
            format!(
                "fee_satoshis {fee} exceeds the funder's balance {}",
                self.funder_balance()
            ),
        )
    }

    /// BOLT 2: "if one of the outputs in the closing transaction is below
    /// the dust limit for its `scriptpubkey` (see BOLT 3): MUST fail the
    /// channel".
    /// A transaction without outputs is invalid: `closing-no-outputs`
    /// (only possible for channels smaller than twice the dust limits).
    fn check_output_dust(&self, tx: &ClosingTransaction) -> Result<(), ChannelError> {
        if tx.transaction().output.is_empty() {
            return Err(ChannelError::close(
                "closing-no-outputs",
                "every output of the closing transaction is dust",
            ));
        }
        for out in &tx.transaction().output {
            let limit = script_dust_limit(&out.script_pubkey);
            if out.value < limit {
                return Err(ChannelError::close(
                    "bolt2-closing-output-dust",
                    format!(
                        "closing output of {} is below the {limit} dust limit of its script",
                        out.value
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Our variant at `fee` (BOLT 3 Closing Transaction, "Each node
    /// offering a signature: MUST round each output down to whole
    /// satoshis. MUST subtract the fee given by `fee_satoshis` from the
    /// output to the funder. MUST remove any output below its own
    /// `dust_limit_satoshis`. MAY eliminate its own output."): our dust
    /// limit, and our own output dropped if its script's relay dust limit
    /// is higher than what is left of it.
    fn our_variant(&self, fee: Amount) -> Result<ClosingTransaction, ChannelError> {
        let dust = self.params.holder_dust_limit;
        let tx = self
            .build(fee, dust, Drop::None)
            .map_err(|_| self.fee_too_large(fee))?;
        // Dropping our output must leave one: a transaction needs outputs.
        let ours_too_small = tx.transaction().output.len() > 1
            && tx.transaction().output.iter().any(|o| {
                o.script_pubkey == self.holder_script
                    && o.value < script_dust_limit(&o.script_pubkey)
            });
        let tx = if ours_too_small {
            self.build(fee, dust, Drop::Holder)
                .map_err(|_| self.fee_too_large(fee))?
        } else {
            tx
        };
        self.check_output_dust(&tx)?;
        Ok(tx)
    }

    /// Finds the variant the peer signed at `fee`: the one we would sign
    /// (when the peer echoes our fee), or trimmed at its dust limit
    /// (BOLT 3's rule for the signer) or at ours (what several
    /// implementations build), each with or without its own output.
    fn verify_peer_signature(
        &self,
        fee: Amount,
        sig: &ecdsa::Signature,
    ) -> Result<ClosingTransaction, ChannelError> {
        let mut candidates: Vec<ClosingTransaction> = Vec::with_capacity(5);
        // The variant we sign ourselves (our output may be eliminated): the
        // one a peer echoing our proposal signed.
        if let Ok(tx) = self.our_variant(fee) {
            candidates.push(tx);
        }
        for dust in [
            self.params.counterparty_dust_limit,
            self.params.holder_dust_limit,
        ] {
            for drop in [Drop::None, Drop::Counterparty] {
                let tx = self
                    .build(fee, dust, drop)
                    .map_err(|_| self.fee_too_large(fee))?;
                if !candidates.contains(&tx) {
                    candidates.push(tx);
                }
            }
        }
        for tx in candidates {
            if crate::sign::ops::verify(
                &tx.funding_sighash(),
                sig,
                &self.params.counterparty_pubkeys.funding_pubkey,
            ) {
                self.check_output_dust(&tx)?;
                return Ok(tx);
            }
        }
        Err(ChannelError::close(
            "bolt2-closing-signature",
            format!("closing_signed signature for fee {fee} is valid for no closing transaction variant"),
        ))
    }

    fn message(&self, fee: Amount, sig: &ecdsa::Signature) -> ClosingSigned {
        ClosingSigned {
            channel_id: self.channel_id,
            fee_satoshis: fee.to_sat(),
            signature: sig.into(),
            fee_range: Some(self.fee_range()),
            unknown_tlvs: TlvStream::new(),
        }
    }

    /// Signs our variant at `fee` and remembers it as sent.
    fn propose(&mut self, fee: Amount) -> Result<ClosingSigned, ChannelError> {
        let tx = self.our_variant(fee)?;
        let sig = self
            .signer
            .sign_closing_transaction(&self.params, &tx)
            .map_err(signer_error)?;
        self.last_sent = Some(fee);
        self.ticks_waiting = 0;
        Ok(self.message(fee, &sig))
    }

    /// Agreement on `fee`: signs the very transaction the peer signed, and
    /// echoes the fee when `reply`.
    fn finish(
        &mut self,
        tx: ClosingTransaction,
        their_sig: &ecdsa::Signature,
        fee: Amount,
        reply: bool,
    ) -> Result<ClosingStep, ChannelError> {
        let our_sig = self
            .signer
            .sign_closing_transaction(&self.params, &tx)
            .map_err(signer_error)?;
        let reply = reply.then(|| self.message(fee, &our_sig));
        if reply.is_some() {
            self.last_sent = Some(fee);
        }
        self.complete = true;
        Ok(ClosingStep::Done {
            reply,
            tx: tx.signed_transaction(&self.params, &our_sig, their_sig),
        })
    }
}

/// Fuzz entry point for the negotiation (wired into the `fuzz/` crate by
/// the lead).
pub mod fuzz {
    use super::{ClosingNegotiation, ClosingStep, ClosingTransaction};
    use crate::channel::script::CommitmentFormat;
    use crate::channel::tx::ChannelTransactionParameters;
    use crate::channel::{FeeRatePerKw, MilliSatoshi};
    use crate::codec::TlvStream;
    use crate::msgs::{ClosingSigned, FeeRange};
    use crate::sign::{KeysManager, SignerProvider};
    use crate::types::{ChannelId, WireSignature};
    use bitcoin::hashes::Hash;
    use bitcoin::{Amount, OutPoint, ScriptBuf, Txid, WPubkeyHash, WScriptHash};

    const VALUE_SAT: u64 = 1_000_000;

    fn u64_at(d: &[u8], i: usize) -> u64 {
        let mut b = [0u8; 8];
        for (k, v) in b.iter_mut().enumerate() {
            *v = d.get(i + k).copied().unwrap_or(0);
        }
        u64::from_be_bytes(b)
    }

    /// Input: a 16-byte header (byte 0 bit 0: we are the funder, bit 1:
    /// messages are raw `closing_signed` payloads instead of structured;
    /// bytes 1..4: our target fee rate; bytes 4..12: the funder's balance
    /// in sat modulo the channel value; bytes 12..16: the funder's fee cap
    /// in sat, 0 for none), then the peer's messages.
    ///
    /// Raw: each message is a 1-byte length and that many payload bytes,
    /// decoded as `closing_signed`. Structured: 25-byte records (fee, range
    /// min, range max as u64, then a flag byte: bit 0 no `fee_range`,
    /// bit 1 corrupt the signature, bit 2 call `timer_tick`, bit 3
    /// disconnect first), signed with the peer's real key so the fee logic
    /// is reached.
    ///
    /// Nothing may panic; a completed negotiation yields a transaction
    /// spending the funding outpoint, and nothing more is accepted.
    pub fn fuzz_closing_negotiation(data: &[u8]) {
        if data.len() < 16 {
            return;
        }
        let (head, mut rest) = data.split_at(16);
        let we_fund = head[0] & 1 == 1;
        let raw = head[0] & 2 == 2;
        let feerate = u32::from_be_bytes([0, head[1], head[2], head[3]]);
        let funder_sat = u64_at(head, 4) % (VALUE_SAT + 1);
        let cap = u32::from_be_bytes([head[12], head[13], head[14], head[15]]);

        let keys = KeysManager::new(&[9; 32], 1, 1);
        let value = Amount::from_sat(VALUE_SAT);
        let ours = keys.derive_channel_signer(value, keys.generate_channel_keys_id(!we_fund, 1));
        let theirs = keys.derive_channel_signer(value, keys.generate_channel_keys_id(we_fund, 2));
        let params = ChannelTransactionParameters {
            holder_pubkeys: *ours.pubkeys(),
            counterparty_pubkeys: *theirs.pubkeys(),
            holder_selected_contest_delay: 144,
            counterparty_selected_contest_delay: 144,
            holder_dust_limit: Amount::from_sat(354),
            counterparty_dust_limit: Amount::from_sat(546),
            is_outbound_from_holder: we_fund,
            funding_outpoint: OutPoint::new(Txid::from_byte_array([3; 32]), 0),
            channel_value: value,
            format: CommitmentFormat::StaticRemoteKey,
        };
        let peer_params = params.mirrored();
        let funder = MilliSatoshi(funder_sat * 1000);
        let fundee = MilliSatoshi((VALUE_SAT - funder_sat) * 1000);
        let (to_holder, to_counterparty) = if we_fund {
            (funder, fundee)
        } else {
            (fundee, funder)
        };
        let our_script = ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([1; 20]));
        let their_script = ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([2; 32]));
        let channel_id = ChannelId([5; 32]);
        let Ok(mut n) = ClosingNegotiation::new(
            params.clone(),
            ours,
            channel_id,
            to_holder,
            to_counterparty,
            our_script.clone(),
            their_script.clone(),
            FeeRatePerKw(feerate),
            (cap != 0).then(|| Amount::from_sat(cap as u64)),
            Amount::from_sat(724),
        ) else {
            return;
        };
        let _ = n.initial_closing_signed();
        loop {
            let msg = if raw {
                let Some((&len, tail)) = rest.split_first() else {
                    return;
                };
                let len = (len as usize).min(tail.len());
                let (payload, tail) = tail.split_at(len);
                rest = tail;
                match ClosingSigned::decode(payload) {
                    Ok(m) => m,
                    Err(_) => continue,
                }
            } else {
                if rest.len() < 25 {
                    return;
                }
                let (rec, tail) = rest.split_at(25);
                rest = tail;
                let flags = rec[24];
                if flags & 8 != 0 {
                    n.on_disconnect();
                    let _ = n.initial_closing_signed();
                }
                if flags & 4 != 0 {
                    let _ = n.timer_tick();
                }
                let fee = u64_at(rec, 0) % (VALUE_SAT * 2);
                let signature = ClosingTransaction::build(
                    &peer_params,
                    to_counterparty,
                    to_holder,
                    Amount::from_sat(fee),
                    their_script.clone(),
                    our_script.clone(),
                    peer_params.holder_dust_limit,
                )
                .ok()
                .and_then(|tx| theirs.sign_closing_transaction(&peer_params, &tx).ok())
                .map(WireSignature::from)
                .unwrap_or(WireSignature([1; 64]));
                let mut signature = signature;
                if flags & 2 != 0 {
                    signature.0[40] ^= 1;
                }
                ClosingSigned {
                    channel_id,
                    fee_satoshis: fee,
                    signature,
                    fee_range: (flags & 1 == 0).then(|| FeeRange {
                        min_fee_satoshis: u64_at(rec, 8) % (VALUE_SAT * 2),
                        max_fee_satoshis: u64_at(rec, 16) % (VALUE_SAT * 2),
                    }),
                    unknown_tlvs: TlvStream::new(),
                }
            };
            let was_complete = n.is_complete();
            match n.closing_signed_received(&msg) {
                Ok(ClosingStep::Done { tx, reply }) => {
                    assert!(!was_complete);
                    assert_eq!(tx.input[0].previous_output, params.funding_outpoint);
                    assert_eq!(tx.input[0].witness.len(), 4);
                    if let Some(r) = reply {
                        assert_eq!(r.fee_satoshis, msg.fee_satoshis);
                    }
                    assert!(n.is_complete());
                }
                Ok(ClosingStep::Reply(r)) => {
                    assert!(!was_complete);
                    let range = n.fee_range();
                    assert!(r.fee_satoshis >= range.min_fee_satoshis);
                    assert!(r.fee_satoshis <= range.max_fee_satoshis);
                }
                Err(e) => assert!(!was_complete || e.tag() == "closing-complete"),
            }
        }
    }
}
