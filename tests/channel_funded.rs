//! The update-phase state machine (`channel::funded`) between two channels
//! wired directly, every message through the codec and every monitor
//! update applied to a real `ChannelMonitor`.

mod funded_common;

use funded_common::*;
use lnkit::channel::funded::HtlcEvent;
use lnkit::msgs::Message;
use lnkit::types::{PaymentHash, PaymentPreimage};

#[test]
fn one_payment_settles_both_ways() {
    for anchors in [false, true] {
        let mut p = Pair::new(anchors);
        let (a0, b0) = balances(&p);
        p.pay(true, 5_000_000, [1; 32]);
        p.run();
        assert_eq!(p.a.chan.pending_htlc_count(), 1);
        p.claim_all(false, &[PaymentPreimage([1; 32])]);
        p.run();
        assert_eq!(balances(&p), (a0 - 5_000_000, b0 + 5_000_000));
        assert_eq!(p.a.chan.pending_htlc_count(), 0);
        assert_eq!(p.b.chan.pending_htlc_count(), 0);
        assert!(p.a.events.iter().any(
            |e| matches!(e, HtlcEvent::OutboundFulfilled { preimage, .. } if preimage.0 == [1; 32])
        ));
        // And back.
        p.pay(false, 2_000_000, [2; 32]);
        p.run();
        p.claim_all(true, &[PaymentPreimage([2; 32])]);
        p.run();
        assert_eq!(balances(&p), (a0 - 3_000_000, b0 + 3_000_000));
        // The monitors saw the same commitments.
        assert_eq!(
            p.a.monitor.holder_commitment().txid(),
            p.a.chan.holder_commitment().txid()
        );
    }
}

#[test]
fn failed_payment_returns_funds() {
    let mut p = Pair::new(false);
    let (a0, b0) = balances(&p);
    p.pay(true, 7_000_000, [3; 32]);
    p.run();
    p.claim_all(false, &[]);
    p.run();
    assert_eq!(balances(&p), (a0, b0));
    assert!(p
        .a
        .events
        .iter()
        .any(|e| matches!(e, HtlcEvent::OutboundFailed { .. })));
}

#[test]
fn many_payments_in_flight_both_directions() {
    let mut p = Pair::new(true);
    let (a0, b0) = balances(&p);
    let mut pre_a = vec![];
    let mut pre_b = vec![];
    for i in 0..20u8 {
        p.pay(true, 1_000_000 + i as u64, [10 + i; 32]);
        pre_b.push(PaymentPreimage([10 + i; 32]));
        p.pay(false, 500_000, [100 + i; 32]);
        pre_a.push(PaymentPreimage([100 + i; 32]));
        if i % 3 == 0 {
            p.run();
        }
    }
    p.run();
    p.claim_all(false, &pre_b);
    p.claim_all(true, &pre_a);
    p.run();
    let sent: u64 = (0..20u64).map(|i| 1_000_000 + i).sum();
    assert_eq!(
        balances(&p),
        (a0 - sent + 10_000_000, b0 + sent - 10_000_000)
    );
    assert_eq!(
        p.a.chan.pending_htlc_count() + p.b.chan.pending_htlc_count(),
        0
    );
}

#[test]
fn update_fee_applies_to_both_commitments() {
    let mut p = Pair::new(false);
    let out = p.a.chan.send_update_fee(2_000).unwrap();
    p.apply(true, out);
    p.run();
    assert_eq!(p.a.chan.feerate().0, 2_000);
    assert_eq!(p.b.chan.feerate().0, 2_000);
    assert_eq!(p.a.chan.holder_commitment().feerate().0, 2_000);
    assert_eq!(p.b.chan.holder_commitment().feerate().0, 2_000);
    // The fundee may not send update_fee.
    assert_eq!(
        p.b.chan.send_update_fee(3_000).unwrap_err().tag(),
        "bolt2-update-fee-not-funder"
    );
}

/// Disconnects both sides, exchanges reestablish messages and delivers
/// the retransmissions.
fn reconnect(p: &mut Pair) {
    p.wire.clear();
    p.a.chan.peer_disconnected();
    p.b.chan.peer_disconnected();
    p.a.chan.peer_reconnected();
    p.b.chan.peer_reconnected();
    let ra = p.a.chan.reestablish_message().unwrap();
    let rb = p.b.chan.reestablish_message().unwrap();
    let out_a = p.a.chan.channel_reestablish(&rb).map_err(|e| e.0).unwrap();
    let out_b = p.b.chan.channel_reestablish(&ra).map_err(|e| e.0).unwrap();
    p.apply(true, out_a);
    p.apply(false, out_b);
    p.run();
}

#[test]
fn reconnect_at_every_step_of_the_dance() {
    // Deliver k messages of a full payment, then disconnect; the payment
    // must still complete with exact balances.
    for k in 0..12 {
        let mut p = Pair::new(false);
        let (a0, b0) = balances(&p);
        p.pay(true, 3_000_000, [9; 32]);
        let mut delivered = 0;
        let mut claimed = false;
        'outer: loop {
            p.sign(true);
            p.sign(false);
            if !claimed
                && p.b
                    .events
                    .iter()
                    .any(|e| matches!(e, HtlcEvent::InboundCommitted { .. }))
            {
                p.claim_all(false, &[PaymentPreimage([9; 32])]);
                claimed = true;
                continue;
            }
            if p.wire.is_empty() {
                break;
            }
            let (from_a, m) = p.wire.remove(0);
            if delivered == k {
                break 'outer;
            }
            p.deliver(!from_a, m);
            delivered += 1;
        }
        reconnect(&mut p);
        if !claimed {
            p.claim_all(false, &[PaymentPreimage([9; 32])]);
            p.run();
        }
        assert_eq!(balances(&p), (a0 - 3_000_000, b0 + 3_000_000), "k = {k}");
        assert_eq!(p.a.chan.pending_htlc_count(), 0, "k = {k}");
    }
}

#[test]
fn bolt2_add_htlc_id() {
    let mut p = Pair::new(false);
    p.pay(true, 1_000_000, [1; 32]);
    let Some((_, Message::UpdateAddHtlc(mut m))) = p.wire.pop() else {
        panic!()
    };
    m.id = 5;
    assert_eq!(
        p.b.chan.update_add_htlc(&m, 50_000).unwrap_err().tag(),
        "bolt2-add-htlc-id"
    );
}

#[test]
fn bolt2_fulfill_preimage_and_unknown_id() {
    let mut p = Pair::new(false);
    p.pay(true, 1_000_000, [1; 32]);
    p.run();
    let m = lnkit::msgs::UpdateFulfillHtlc {
        channel_id: p.a.chan.channel_id(),
        id: 0,
        payment_preimage: PaymentPreimage([2; 32]),
        attribution_data: None,
        unknown_tlvs: Default::default(),
    };
    assert_eq!(
        p.a.chan.update_fulfill_htlc(&m).unwrap_err().tag(),
        "bolt2-fulfill-preimage"
    );
    let m = lnkit::msgs::UpdateFulfillHtlc { id: 7, ..m };
    assert_eq!(
        p.a.chan.update_fulfill_htlc(&m).unwrap_err().tag(),
        "bolt2-fulfill-unknown-id"
    );
    let _ = PaymentHash([0; 32]);
}
