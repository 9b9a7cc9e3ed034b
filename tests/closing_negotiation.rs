//! `closing_signed` negotiation between two real channel ends (from the
//! establishment handshake), one test per tagged BOLT 2 rule, the shutdown
//! receiver checks, and a property test: whatever the balances and fee
//! targets, the two ends either agree on one fully signed transaction
//! spending the funding output or stop with a tagged error.

mod establish_common;

use establish_common::*;
use lnkit::bitcoin::hashes::Hash;
use lnkit::bitcoin::{Amount, PubkeyHash, ScriptBuf, Transaction, WPubkeyHash, WScriptHash};
use lnkit::channel::closing::ClosingTransaction;
use lnkit::channel::closing_negotiation::{
    script_dust_limit, shutdown_received_checks, ClosingNegotiation, ClosingStep,
    CLOSING_SIGNED_TIMEOUT_TICKS,
};
use lnkit::channel::establish::{ChannelError, FundedChannel};
use lnkit::channel::script::CommitmentFormat;
use lnkit::channel::tx::commitment_fee;
use lnkit::channel::{FeeRatePerKw, MilliSatoshi};
use lnkit::codec::TlvStream;
use lnkit::msgs::{ClosingSigned, FeeRange, Message, Shutdown};
use lnkit::types::WireSignature;
use proptest::prelude::*;

fn p2wpkh() -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([1; 20]))
}
fn p2wsh() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([2; 32]))
}
fn p2pkh() -> ScriptBuf {
    ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array([3; 20]))
}
fn p2tr_like() -> ScriptBuf {
    let mut b = vec![0x51, 0x20];
    b.extend_from_slice(&[4; 32]);
    ScriptBuf::from_bytes(b)
}

fn wire_closing(m: ClosingSigned) -> ClosingSigned {
    match wire(m) {
        Message::ClosingSigned(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}

/// The two ends of one channel and what they close with.
struct Ends {
    d: Done,
    /// The funder's balance; the fundee has the rest.
    bal_a: MilliSatoshi,
    script_a: ScriptBuf,
    script_b: ScriptBuf,
}

fn ends(anchors: bool) -> Ends {
    let s = Setup::new(anchors);
    let d = handshake(&s);
    Ends {
        bal_a: d.a.to_holder,
        d,
        script_a: p2wpkh(),
        script_b: p2wsh(),
    }
}

impl Ends {
    fn bal_b(&self) -> MilliSatoshi {
        MilliSatoshi(self.d.a.params.channel_value.to_sat() * 1000 - self.bal_a.0)
    }
    fn commit_fee(&self) -> Amount {
        commitment_fee(CommitmentFormat::StaticRemoteKey, FeeRatePerKw(1000), 0)
    }
    /// The funder's negotiation (holder = a).
    fn a(&self, feerate: u32, max_fee: Option<Amount>) -> ClosingNegotiation {
        let c = &self.d.a;
        ClosingNegotiation::new(
            c.params.clone(),
            c.signer.clone(),
            c.channel_id,
            self.bal_a,
            self.bal_b(),
            self.script_a.clone(),
            self.script_b.clone(),
            FeeRatePerKw(feerate),
            max_fee,
            self.commit_fee(),
        )
        .expect("funder negotiation")
    }
    /// The fundee's negotiation (holder = b).
    fn b(&self, feerate: u32) -> ClosingNegotiation {
        let c = &self.d.b;
        ClosingNegotiation::new(
            c.params.clone(),
            c.signer.clone(),
            c.channel_id,
            self.bal_b(),
            self.bal_a,
            self.script_b.clone(),
            self.script_a.clone(),
            FeeRatePerKw(feerate),
            None,
            self.commit_fee(),
        )
        .expect("fundee negotiation")
    }
    /// A `closing_signed` the fundee's key really signed, for any fee and
    /// range (to play a misbehaving peer towards the funder).
    fn signed_by_b(&self, fee: u64, range: Option<(u64, u64)>) -> ClosingSigned {
        sign_as(
            &self.d.b,
            self.bal_b(),
            self.bal_a,
            fee,
            &self.script_b,
            &self.script_a,
            range,
        )
    }
    /// The same from the funder's key, towards the fundee.
    fn signed_by_a(&self, fee: u64, range: Option<(u64, u64)>) -> ClosingSigned {
        sign_as(
            &self.d.a,
            self.bal_a,
            self.bal_b(),
            fee,
            &self.script_a,
            &self.script_b,
            range,
        )
    }
}

fn sign_as(
    c: &FundedChannel,
    holder: MilliSatoshi,
    counterparty: MilliSatoshi,
    fee: u64,
    own: &ScriptBuf,
    other: &ScriptBuf,
    range: Option<(u64, u64)>,
) -> ClosingSigned {
    let tx = ClosingTransaction::build(
        &c.params,
        holder,
        counterparty,
        Amount::from_sat(fee),
        own.clone(),
        other.clone(),
        c.params.holder_dust_limit,
    )
    .expect("buildable");
    let sig = c.signer.sign_closing_transaction(&c.params, &tx).unwrap();
    ClosingSigned {
        channel_id: c.channel_id,
        fee_satoshis: fee,
        signature: sig.into(),
        fee_range: range.map(|(min_fee_satoshis, max_fee_satoshis)| FeeRange {
            min_fee_satoshis,
            max_fee_satoshis,
        }),
        unknown_tlvs: TlvStream::new(),
    }
}

fn expect_err(r: Result<ClosingStep, ChannelError>) -> ChannelError {
    match r {
        Err(e) => e,
        Ok(step) => panic!("expected an error, got {step:?}"),
    }
}

fn fee_of(tx: &Transaction, funding_value: Amount) -> Amount {
    funding_value - tx.output.iter().map(|o| o.value).sum::<Amount>()
}

/// Runs the exchange between `a` (funder) and `b` to the end through the
/// codec; returns both transactions and the number of messages.
fn negotiate(
    a: &mut ClosingNegotiation,
    b: &mut ClosingNegotiation,
    strip_fee_range: bool,
) -> Result<(Transaction, Transaction, usize), ChannelError> {
    let strip = |mut m: ClosingSigned| {
        if strip_fee_range {
            m.fee_range = None;
        }
        wire_closing(m)
    };
    assert_eq!(b.initial_closing_signed()?, None, "the fundee waits");
    let mut msg = strip(a.initial_closing_signed()?.expect("the funder starts"));
    let mut sent = 1;
    let (mut tx_a, mut tx_b) = (None, None);
    // Alternate: b receives first.
    let mut to_b = true;
    while sent < 20 {
        let (rx, tx_slot) = if to_b {
            (&mut *b, &mut tx_b)
        } else {
            (&mut *a, &mut tx_a)
        };
        match rx.closing_signed_received(&msg)? {
            ClosingStep::Reply(m) => msg = strip(m),
            ClosingStep::Done { reply, tx } => {
                *tx_slot = Some(tx);
                match reply {
                    Some(m) => msg = strip(m),
                    None => break,
                }
            }
        }
        sent += 1;
        to_b = !to_b;
        if tx_a.is_some() && tx_b.is_some() {
            break;
        }
    }
    Ok((tx_a.expect("a done"), tx_b.expect("b done"), sent))
}

fn check_same_valid(e: &Ends, ta: &Transaction, tb: &Transaction) {
    assert_eq!(ta, tb, "both ends broadcast the same transaction");
    assert_spends_funding(ta, &e.d.funding, 1);
}

#[test]
fn fee_range_equal_targets_agree_in_two_messages() {
    for anchors in [false, true] {
        let e = ends(anchors);
        let (mut a, mut b) = (e.a(1000, None), e.b(1000));
        let (ta, tb, sent) = negotiate(&mut a, &mut b, false).unwrap();
        assert_eq!(sent, 2, "funder proposes, fundee echoes");
        check_same_valid(&e, &ta, &tb);
        assert_eq!(fee_of(&ta, e.d.a.params.channel_value), a.target_fee());
        assert_eq!(ta.output.len(), 2);
        assert!(a.is_complete() && b.is_complete());
    }
}

#[test]
fn fee_range_fundee_counter_proposal_agrees_in_three_messages() {
    let e = ends(false);
    // The fundee wants a higher fee; it is inside the funder's range
    // (the funder's max defaults to its commitment fee or target).
    let (mut a, mut b) = (e.a(400, None), e.b(900));
    let range = a.fee_range();
    assert!(b.target_fee() > a.target_fee());
    assert!(b.target_fee().to_sat() <= range.max_fee_satoshis);
    let (ta, tb, sent) = negotiate(&mut a, &mut b, false).unwrap();
    assert_eq!(sent, 3, "proposal, counter-proposal, echo");
    check_same_valid(&e, &ta, &tb);
    assert_eq!(fee_of(&ta, e.d.a.params.channel_value), b.target_fee());
}

#[test]
fn fee_range_fundee_counter_capped_by_funder_max() {
    let e = ends(false);
    let cap = Amount::from_sat(600);
    let (mut a, mut b) = (e.a(300, Some(cap)), e.b(5000));
    assert_eq!(a.fee_range().max_fee_satoshis, 600);
    let (ta, tb, _) = negotiate(&mut a, &mut b, false).unwrap();
    check_same_valid(&e, &ta, &tb);
    // The fundee proposed the overlap's edge nearest its target.
    assert_eq!(fee_of(&ta, e.d.a.params.channel_value), cap);
}

#[test]
fn fee_ranges_are_documented_values() {
    let e = ends(false);
    let a = e.a(2000, None);
    let w = a.closing_weight();
    // Both outputs P2WPKH/P2WSH: 4 × non-witness size + witness.
    assert!(w > 600 && w < 800, "weight {w}");
    assert_eq!(a.target_fee(), FeeRatePerKw(2000).fee_for_weight(w));
    let r = a.fee_range();
    assert_eq!(
        r.min_fee_satoshis,
        FeeRatePerKw(253).fee_for_weight(w).to_sat()
    );
    assert_eq!(
        r.max_fee_satoshis,
        a.target_fee().max(e.commit_fee()).to_sat()
    );
    // The fundee does not pay: its max is the funder's balance.
    let b = e.b(2000);
    assert_eq!(b.fee_range().max_fee_satoshis, e.bal_a.0 / 1000);
    // A target below the relay floor is raised to it.
    assert_eq!(e.a(1, None).target_fee().to_sat(), r.min_fee_satoshis);
    // The funder's max never exceeds its balance.
    let mut poor = ends(false);
    poor.bal_a = MilliSatoshi(700_000);
    let a = poor.a(50_000, Some(Amount::from_sat(10_000)));
    assert_eq!(a.fee_range().max_fee_satoshis, 700);
    assert!(a.target_fee().to_sat() <= 700);
}

#[test]
fn bolt2_closing_fee_range_no_overlap() {
    let e = ends(false);
    // The funder will pay at most 100 sat, below the fundee's relay floor.
    let (mut a, mut b) = (e.a(1000, Some(Amount::from_sat(100))), e.b(1000));
    let m = wire_closing(a.initial_closing_signed().unwrap().unwrap());
    assert_eq!(m.fee_range.unwrap().max_fee_satoshis, 100);
    let err = expect_err(b.closing_signed_received(&m));
    assert!(matches!(err, ChannelError::Warn { .. }), "{err:?}");
    assert_eq!(err.tag(), "bolt2-closing-fee-range-no-overlap");
    // "MUST fail the channel if it doesn't receive a satisfying fee_range
    // after a reasonable amount of time."
    for _ in 1..CLOSING_SIGNED_TIMEOUT_TICKS {
        b.timer_tick().unwrap();
    }
    let err = b.timer_tick().unwrap_err();
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-fee-range-no-overlap");
}

#[test]
fn fee_range_no_overlap_then_satisfying_range_resumes() {
    let e = ends(false);
    let (mut a, mut b) = (e.a(1000, None), e.b(1000));
    let bad = e.signed_by_a(100, Some((50, 100)));
    let err = expect_err(b.closing_signed_received(&bad));
    assert_eq!(err.tag(), "bolt2-closing-fee-range-no-overlap");
    b.timer_tick().unwrap();
    let (ta, tb, _) = negotiate(&mut a, &mut b, false).unwrap();
    check_same_valid(&e, &ta, &tb);
    // No timeout once complete.
    for _ in 0..CLOSING_SIGNED_TIMEOUT_TICKS * 2 {
        b.timer_tick().unwrap();
    }
}

#[test]
fn bolt2_closing_fee_not_in_overlap() {
    let e = ends(false);
    let mut a = e.a(1000, None);
    let sent = a.initial_closing_signed().unwrap().unwrap();
    let max = sent.fee_range.unwrap().max_fee_satoshis;
    // A fee within the peer's own range but above ours.
    let m = e.signed_by_b(max + 10, Some((300, max + 100)));
    let err = expect_err(a.closing_signed_received(&m));
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-fee-not-in-overlap");
}

#[test]
fn funder_replies_with_fundee_fee_in_overlap() {
    let e = ends(false);
    let mut a = e.a(400, None);
    let sent = a.initial_closing_signed().unwrap().unwrap();
    let fee = sent.fee_satoshis + 7;
    let m = e.signed_by_b(fee, Some((fee, fee + 1000)));
    match a.closing_signed_received(&m).unwrap() {
        ClosingStep::Done { reply: Some(r), tx } => {
            assert_eq!(r.fee_satoshis, fee, "MUST reply with the same fee_satoshis");
            assert_spends_funding(&tx, &e.d.funding, 1);
            assert_eq!(fee_of(&tx, e.d.a.params.channel_value).to_sat(), fee);
        }
        other => panic!("{other:?}"),
    }
    let err = expect_err(a.closing_signed_received(&m));
    assert_eq!(err.tag(), "closing-complete");
}

#[test]
fn bolt2_closing_fee_changed() {
    let e = ends(false);
    let (mut a, mut b) = (e.a(400, None), e.b(900));
    let first = a.initial_closing_signed().unwrap().unwrap();
    // The fundee counter-proposes…
    let ClosingStep::Reply(counter) = b.closing_signed_received(&first).unwrap() else {
        panic!("expected a counter-proposal");
    };
    // …and then the funder sends yet another fee.
    let other = counter.fee_satoshis - 3;
    let m = e.signed_by_a(other, Some((300, 2000)));
    let err = expect_err(b.closing_signed_received(&m));
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-fee-changed");
}

#[test]
fn bolt2_closing_fee_outside_own_range() {
    let e = ends(false);
    let mut b = e.b(1000);
    let m = e.signed_by_a(800, Some((300, 700)));
    let err = expect_err(b.closing_signed_received(&m));
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-fee-outside-own-range");
}

#[test]
fn bolt2_closing_fee_range_invalid() {
    let e = ends(false);
    let mut b = e.b(1000);
    let m = e.signed_by_a(800, Some((900, 700)));
    let err = expect_err(b.closing_signed_received(&m));
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-fee-range-invalid");
}

/// `n - s` for the secp256k1 group order `n` (big-endian).
fn negate_s(sig: &WireSignature) -> WireSignature {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];
    let mut out = sig.0;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = N[i] as i16 - sig.0[32 + i] as i16 - borrow;
        borrow = if d < 0 { 1 } else { 0 };
        out[32 + i] = (d + 256 * borrow) as u8;
    }
    WireSignature(out)
}

#[test]
fn bolt2_closing_signature() {
    let e = ends(false);
    let mut b = e.b(1000);
    let good = e.signed_by_a(700, Some((300, 2000)));
    // A signature of another fee.
    let mut wrong = e.signed_by_a(701, Some((300, 2000)));
    wrong.fee_satoshis = 700;
    let err = expect_err(b.closing_signed_received(&wrong));
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-signature");
    // The same signature with a high S ("non-compliant with LOW-S").
    let mut high_s = good.clone();
    high_s.signature = negate_s(&good.signature);
    assert_ne!(high_s.signature, good.signature);
    // It is the same signature, only with S negated (n - s).
    let mut normalized = high_s.signature.to_signature().unwrap();
    normalized.normalize_s();
    assert_eq!(WireSignature::from(normalized), good.signature);
    let err = expect_err(b.closing_signed_received(&high_s));
    assert_eq!(err.tag(), "bolt2-closing-signature");
    // Not a signature at all (r = 0xff…: above the group order).
    let mut junk = good.clone();
    junk.signature = WireSignature([0xff; 64]);
    let err = expect_err(b.closing_signed_received(&junk));
    assert_eq!(err.tag(), "bolt2-closing-signature");
    // Signed by the wrong key (our own).
    let mut own = e.signed_by_b(700, Some((300, 2000)));
    own.channel_id = good.channel_id;
    let err = expect_err(b.closing_signed_received(&own));
    assert_eq!(err.tag(), "bolt2-closing-signature");
    // The good one is still accepted after all that (the fundee
    // counter-proposes its own target, 724 sat).
    assert!(matches!(
        b.closing_signed_received(&good).unwrap(),
        ClosingStep::Reply(_)
    ));
}

#[test]
fn bolt2_closing_fee_too_large() {
    let e = ends(false);
    let mut b = e.b(1000);
    let mut m = e.signed_by_a(700, None);
    m.fee_satoshis = e.bal_a.0 / 1000 + 1;
    let err = expect_err(b.closing_signed_received(&m));
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-fee-too-large");
}

#[test]
fn dust_output_omitted() {
    let mut e = ends(false);
    // The fundee's balance is 300 sat: below both dust limits (354).
    e.bal_a = MilliSatoshi(e.d.a.params.channel_value.to_sat() * 1000 - 300_000);
    let (mut a, mut b) = (e.a(1000, None), e.b(1000));
    let (ta, tb, _) = negotiate(&mut a, &mut b, false).unwrap();
    check_same_valid(&e, &ta, &tb);
    assert_eq!(ta.output.len(), 1);
    assert_eq!(ta.output[0].script_pubkey, e.script_a);
    // The funder paid the fee; the dust went to fees too.
    assert_eq!(ta.output[0].value, e.bal_a.to_sat_floor() - a.target_fee());
}

#[test]
fn own_output_below_its_script_dust_is_eliminated() {
    let mut e = ends(false);
    // The funder pays to P2PKH (dust 546) and keeps 500 sat after the fee:
    // above the channel dust limit (354), below its script's.
    e.script_a = p2pkh();
    let probe = e.a(1000, None);
    let fee = probe.target_fee().to_sat();
    e.bal_a = MilliSatoshi((500 + fee) * 1000);
    let (mut a, mut b) = (e.a(1000, None), e.b(1000));
    assert_eq!(a.target_fee().to_sat(), fee);
    let (ta, tb, _) = negotiate(&mut a, &mut b, false).unwrap();
    check_same_valid(&e, &ta, &tb);
    // "MAY eliminate its own output": only the fundee's output is left,
    // and the fundee accepted that variant.
    assert_eq!(ta.output.len(), 1);
    assert_eq!(ta.output[0].script_pubkey, e.script_b);
}

#[test]
fn bolt2_closing_output_dust() {
    let mut e = ends(false);
    // The fundee pays to P2PKH and has 500 sat: its output is above the
    // dust limit but below its script's relay dust (546).
    e.script_b = p2pkh();
    e.bal_a = MilliSatoshi(e.d.a.params.channel_value.to_sat() * 1000 - 500_000);
    let mut a = e.a(1000, None);
    let err = a.initial_closing_signed().unwrap_err();
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-output-dust");
    // The fundee receiving a transaction with that output fails too.
    let mut b = e.b(1000);
    let m = e.signed_by_a(700, Some((300, 2000)));
    let err = expect_err(b.closing_signed_received(&m));
    assert_eq!(err.tag(), "bolt2-closing-output-dust");
}

#[test]
fn legacy_without_fee_range_agrees() {
    let e = ends(false);
    let (mut a, mut b) = (e.a(1000, None), e.b(3000));
    let (ta, tb, sent) = negotiate(&mut a, &mut b, true).unwrap();
    // The fundee accepts any fee in its range: it agrees at once.
    assert_eq!(sent, 2);
    check_same_valid(&e, &ta, &tb);
}

#[test]
fn bolt2_closing_fee_not_strictly_between() {
    let e = ends(false);
    let mut a = e.a(400, None);
    let first = a.initial_closing_signed().unwrap().unwrap();
    let max = a.fee_range().max_fee_satoshis;
    let high = max + 1000;
    // A legacy fee above our range: we move half way, within our range.
    let ClosingStep::Reply(r) = a
        .closing_signed_received(&e.signed_by_b(high, None))
        .unwrap()
    else {
        panic!("expected a counter-proposal");
    };
    assert!(r.fee_satoshis > first.fee_satoshis && r.fee_satoshis < high);
    assert!(r.fee_satoshis <= max);
    // The peer must now offer strictly between our last and its previous.
    let err = expect_err(a.closing_signed_received(&e.signed_by_b(high, None)));
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-fee-not-strictly-between");
}

#[test]
fn legacy_moves_toward_then_agrees() {
    let e = ends(false);
    let mut a = e.a(400, None);
    let first = a.initial_closing_signed().unwrap().unwrap().fee_satoshis;
    let max = a.fee_range().max_fee_satoshis;
    let ClosingStep::Reply(r) = a
        .closing_signed_received(&e.signed_by_b(max + 100, None))
        .unwrap()
    else {
        panic!("expected a counter-proposal");
    };
    assert!(r.fee_satoshis > first);
    // The peer comes down into our range: we agree and echo.
    assert!(r.fee_satoshis < max, "half way: {}", r.fee_satoshis);
    let agreed = max - 1;
    assert!(agreed > r.fee_satoshis && agreed < max + 100);
    match a
        .closing_signed_received(&e.signed_by_b(agreed, None))
        .unwrap()
    {
        ClosingStep::Done { reply: Some(m), tx } => {
            assert_eq!(m.fee_satoshis, agreed);
            assert_spends_funding(&tx, &e.d.funding, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn legacy_no_agreement_at_range_edge() {
    let e = ends(false);
    let mut a = e.a(400, Some(Amount::from_sat(700)));
    a.initial_closing_signed().unwrap().unwrap();
    // Far above: we go to our max (700)…
    let ClosingStep::Reply(r) = a
        .closing_signed_received(&e.signed_by_b(5000, None))
        .unwrap()
    else {
        panic!("expected a counter-proposal");
    };
    assert_eq!(r.fee_satoshis, 700);
    // …and cannot move any further.
    let err = expect_err(a.closing_signed_received(&e.signed_by_b(4000, None)));
    assert!(err.is_close());
    assert_eq!(err.tag(), "closing-fee-no-agreement");
}

#[test]
fn bolt2_closing_signed_timeout() {
    let e = ends(false);
    let mut a = e.a(1000, None);
    // Nothing sent: no timeout.
    for _ in 0..CLOSING_SIGNED_TIMEOUT_TICKS * 2 {
        a.timer_tick().unwrap();
    }
    a.initial_closing_signed().unwrap().unwrap();
    for _ in 1..CLOSING_SIGNED_TIMEOUT_TICKS {
        a.timer_tick().unwrap();
    }
    let err = a.timer_tick().unwrap_err();
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-closing-signed-timeout");
}

#[test]
fn reconnection_restarts_negotiation() {
    let e = ends(false);
    let mut a = e.a(400, None);
    let first = a.initial_closing_signed().unwrap().unwrap();
    assert_eq!(a.initial_closing_signed().unwrap(), None, "sent once");
    a.closing_signed_received(&e.signed_by_b(5000, None))
        .unwrap();
    a.on_disconnect();
    assert_eq!(a.last_sent_fee(), None);
    // The funder starts again with the same proposal…
    assert_eq!(a.initial_closing_signed().unwrap(), Some(first));
    // …and the "strictly between" memory is gone.
    assert!(a
        .closing_signed_received(&e.signed_by_b(5000, None))
        .is_ok());
}

#[test]
fn new_refuses_balances_above_capacity() {
    let e = ends(false);
    let c = &e.d.a;
    let err = ClosingNegotiation::new(
        c.params.clone(),
        c.signer.clone(),
        c.channel_id,
        MilliSatoshi(c.params.channel_value.to_sat() * 1000),
        MilliSatoshi(1),
        p2wpkh(),
        p2wsh(),
        FeeRatePerKw(1000),
        None,
        Amount::ZERO,
    )
    .unwrap_err();
    assert_eq!(err.tag(), "closing-balances-exceed-capacity");
}

#[test]
fn closing_channel_id_mismatch_is_ignored() {
    let e = ends(false);
    let mut b = e.b(1000);
    let mut m = e.signed_by_a(700, Some((300, 2000)));
    m.channel_id = lnkit::types::ChannelId([9; 32]);
    let err = expect_err(b.closing_signed_received(&m));
    assert!(matches!(err, ChannelError::Ignore { .. }));
    assert_eq!(err.tag(), "closing-channel-id");
}

#[test]
fn script_dust_limits_are_bolt3s() {
    assert_eq!(script_dust_limit(&p2pkh()).to_sat(), 546);
    assert_eq!(
        script_dust_limit(&ScriptBuf::new_p2sh(
            &lnkit::bitcoin::ScriptHash::from_byte_array([5; 20])
        ))
        .to_sat(),
        540
    );
    assert_eq!(script_dust_limit(&p2wpkh()).to_sat(), 294);
    assert_eq!(script_dust_limit(&p2wsh()).to_sat(), 330);
    assert_eq!(script_dust_limit(&p2tr_like()).to_sat(), 354);
}

fn shutdown(script: ScriptBuf) -> Shutdown {
    Shutdown {
        channel_id: lnkit::types::ChannelId([1; 32]),
        scriptpubkey: script,
        unknown_tlvs: TlvStream::new(),
    }
}

#[test]
fn bolt2_shutdown_script_form() {
    for ok in [p2wpkh(), p2wsh(), p2pkh()] {
        assert_eq!(
            shutdown_received_checks(&shutdown(ok.clone()), None, false).unwrap(),
            ok
        );
    }
    // A witness v1 program needs option_shutdown_anysegwit.
    let err = shutdown_received_checks(&shutdown(p2tr_like()), None, false).unwrap_err();
    assert!(matches!(err, ChannelError::Warn { .. }));
    assert_eq!(err.tag(), "bolt2-shutdown-script-form");
    assert!(shutdown_received_checks(&shutdown(p2tr_like()), None, true).is_ok());
    // OP_RETURN is never allowed here.
    let op_return = ScriptBuf::from_bytes(vec![0x6a, 0x01, 0x00]);
    let err = shutdown_received_checks(&shutdown(op_return), None, true).unwrap_err();
    assert_eq!(err.tag(), "bolt2-shutdown-script-form");
}

#[test]
fn bolt2_shutdown_upfront_mismatch() {
    let up = p2wpkh();
    assert!(shutdown_received_checks(&shutdown(up.clone()), Some(&up), false).is_ok());
    let err = shutdown_received_checks(&shutdown(p2wsh()), Some(&up), false).unwrap_err();
    assert!(err.is_close());
    assert_eq!(err.tag(), "bolt2-shutdown-upfront-mismatch");
    // An empty upfront script opts out.
    assert!(shutdown_received_checks(&shutdown(p2wsh()), Some(&ScriptBuf::new()), false).is_ok());
}

const KNOWN_TAGS: &[&str] = &[
    "closing-no-outputs",
    "bolt2-closing-fee-range-no-overlap",
    "closing-fee-no-agreement",
    "bolt2-closing-output-dust",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any balances, fee targets and funder cap: both ends agree on the
    /// same transaction spending the funding output at a fee both ranges
    /// allow, or stop with one of the expected tags.
    #[test]
    fn negotiation_converges_or_fails_tagged(
        fundee_sat in 0u64..1_000_000,
        fa in 253u32..20_000,
        fb in 253u32..20_000,
        cap in proptest::option::of(0u64..5_000),
        legacy: bool,
    ) {
        let mut e = ends(false);
        e.bal_a = MilliSatoshi((1_000_000 - fundee_sat) * 1000);
        let (mut a, mut b) = (e.a(fa, cap.map(Amount::from_sat)), e.b(fb));
        match negotiate(&mut a, &mut b, legacy) {
            Ok((ta, tb, _)) => {
                check_same_valid(&e, &ta, &tb);
                let fee = fee_of(&ta, e.d.a.params.channel_value).to_sat();
                let (ra, rb) = (a.fee_range(), b.fee_range());
                // Trimmed dust adds to the fee beyond the agreed one.
                let agreed = a.last_sent_fee().or(b.last_sent_fee()).unwrap().to_sat();
                prop_assert!(fee >= agreed);
                prop_assert!(agreed >= ra.min_fee_satoshis && agreed <= ra.max_fee_satoshis);
                prop_assert!(agreed >= rb.min_fee_satoshis && agreed <= rb.max_fee_satoshis);
            }
            Err(err) => prop_assert!(KNOWN_TAGS.contains(&err.tag()), "{err:?}"),
        }
    }
}

#[test]
fn fuzz_seeds_closing_negotiation_run_clean() {
    use lnkit::channel::closing_negotiation::fuzz::fuzz_closing_negotiation;
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/closing_negotiation");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for end in 0..=data.len() {
            fuzz_closing_negotiation(&data[..end]);
        }
        n += 1;
    }
    assert!(n >= 6);
}

#[test]
fn closing_no_outputs() {
    // Final balances of 500 and 300 sat (the rest of the channel gone to
    // fees elsewhere): after the fee both outputs are dust.
    let e = ends(false);
    let c = &e.d.a;
    let mut a = ClosingNegotiation::new(
        c.params.clone(),
        c.signer.clone(),
        c.channel_id,
        MilliSatoshi(300_000 + 200_000),
        MilliSatoshi(300_000),
        e.script_a.clone(),
        e.script_b.clone(),
        FeeRatePerKw(253),
        None,
        Amount::ZERO,
    )
    .unwrap();
    let err = a.initial_closing_signed().unwrap_err();
    assert!(err.is_close());
    assert_eq!(err.tag(), "closing-no-outputs");
}
