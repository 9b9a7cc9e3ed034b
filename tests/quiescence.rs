//! The `stfu` quiescence state machine: every transition, and one test per
//! tagged BOLT 2 rule.

use lnkit::channel::establish::ChannelError;
use lnkit::channel::quiescence::{Quiescence, QUIESCENCE_TIMEOUT_TICKS};

fn warn_tag(r: Result<(), ChannelError>) -> &'static str {
    match r {
        Err(e @ ChannelError::Warn { .. }) => e.tag(),
        other => panic!("expected a warning, got {other:?}"),
    }
}

/// Both ends of a channel: `a` funded it.
fn pair() -> (Quiescence, Quiescence) {
    (Quiescence::new(true, true), Quiescence::new(false, true))
}

#[test]
fn initiator_and_responder_reach_quiescence() {
    let (mut a, mut b) = pair();
    assert!(a.may_send_update() && b.may_send_update());
    a.request().unwrap();
    // Requested: a stops adding updates so its pending ones can clear.
    assert!(!a.may_send_update());
    assert!(!a.is_quiescing());
    // Pending updates hold the stfu back.
    assert_eq!(a.maybe_send_stfu(true), None);
    assert_eq!(a.maybe_send_stfu(false), Some(true));
    assert!(a.is_quiescing() && !a.is_quiescent());
    // b: the peer's updates may still arrive until its stfu.
    b.may_accept_update().unwrap();
    b.stfu_received(true, false).unwrap();
    assert!(b.is_quiescing() && !b.may_send_update());
    // b replies once its own updates clear, with initiator = 0.
    assert_eq!(b.maybe_send_stfu(true), None);
    assert_eq!(b.maybe_send_stfu(false), Some(false));
    assert!(b.is_quiescent() && !b.is_initiator());
    a.stfu_received(false, false).unwrap();
    assert!(a.is_quiescent() && a.is_initiator());
    assert!(!a.may_send_update() && !b.may_send_update());
    // The dependent protocol finishes on both sides.
    a.resume().unwrap();
    b.resume().unwrap();
    for q in [&a, &b] {
        assert!(!q.is_quiescent() && !q.is_quiescing() && !q.is_initiator());
        assert!(q.may_send_update());
        q.may_accept_update().unwrap();
    }
    // Nothing more to send, and a new request works.
    assert_eq!(a.maybe_send_stfu(false), None);
    a.request().unwrap();
}

#[test]
fn simultaneous_stfu_funder_is_initiator() {
    let (mut a, mut b) = pair();
    a.request().unwrap();
    b.request().unwrap();
    assert_eq!(a.maybe_send_stfu(false), Some(true));
    assert_eq!(b.maybe_send_stfu(false), Some(true));
    a.stfu_received(true, false).unwrap();
    b.stfu_received(true, false).unwrap();
    assert!(a.is_quiescent() && b.is_quiescent());
    // "the "initiator" is arbitrarily considered to be the channel funder"
    assert!(a.is_initiator());
    assert!(!b.is_initiator());
}

#[test]
fn peer_stfu_overtakes_our_request() {
    let (_, mut b) = pair();
    b.request().unwrap();
    // Our updates are pending, so we have not sent yet; the peer's stfu
    // arrives: we answer as responder.
    assert_eq!(b.maybe_send_stfu(true), None);
    b.stfu_received(true, false).unwrap();
    assert_eq!(b.maybe_send_stfu(false), Some(false));
    assert!(b.is_quiescent() && !b.is_initiator());
    b.resume().unwrap();
    // Our request is still to be served: we initiate next.
    assert!(!b.may_send_update());
    assert_eq!(b.maybe_send_stfu(false), Some(true));
}

#[test]
fn request_refusals() {
    let (mut a, _) = pair();
    a.request().unwrap();
    let e = a.request().unwrap_err();
    assert!(matches!(e, ChannelError::Ignore { .. }));
    assert_eq!(e.tag(), "quiescence-in-progress");
    let (_, mut b) = pair();
    b.stfu_received(true, false).unwrap();
    assert_eq!(b.request().unwrap_err().tag(), "quiescence-in-progress");
}

#[test]
fn bolt2_stfu_not_negotiated() {
    let mut q = Quiescence::new(true, false);
    let e = q.request().unwrap_err();
    assert!(matches!(e, ChannelError::Ignore { .. }));
    assert_eq!(e.tag(), "bolt2-stfu-not-negotiated");
    // Never sends, even as a reply.
    assert_eq!(q.maybe_send_stfu(false), None);
    assert_eq!(
        warn_tag(q.stfu_received(true, false)),
        "bolt2-stfu-not-negotiated"
    );
    // A new connection that negotiated it.
    q.peer_connected(true);
    q.request().unwrap();
    assert_eq!(q.maybe_send_stfu(false), Some(true));
}

#[test]
fn bolt2_stfu_twice() {
    // We never send twice…
    let (mut a, _) = pair();
    a.request().unwrap();
    assert_eq!(a.maybe_send_stfu(false), Some(true));
    assert_eq!(a.maybe_send_stfu(false), None);
    a.stfu_received(false, false).unwrap();
    assert_eq!(a.maybe_send_stfu(false), None);
    // …and a peer that does is warned.
    assert_eq!(warn_tag(a.stfu_received(false, false)), "bolt2-stfu-twice");
    let (_, mut b) = pair();
    b.stfu_received(true, false).unwrap();
    assert_eq!(warn_tag(b.stfu_received(true, false)), "bolt2-stfu-twice");
}

#[test]
fn bolt2_stfu_pending_updates() {
    let (_, mut b) = pair();
    assert_eq!(
        warn_tag(b.stfu_received(true, true)),
        "bolt2-stfu-pending-updates"
    );
    // Nothing was recorded.
    assert!(!b.is_quiescing());
    assert!(b.may_send_update());
}

#[test]
fn bolt2_stfu_initiator_flag() {
    let (_, mut b) = pair();
    // initiator = 0 claims to answer an stfu we never sent.
    assert_eq!(
        warn_tag(b.stfu_received(false, false)),
        "bolt2-stfu-initiator-flag"
    );
    assert!(!b.is_quiescing());
    // Replying: 0; initiating: 1 (see the transition tests).
    b.stfu_received(true, false).unwrap();
    assert_eq!(b.maybe_send_stfu(false), Some(false));
}

#[test]
fn bolt2_stfu_update_after() {
    let (mut a, mut b) = pair();
    // After our stfu, the peer may still send updates until its own.
    a.request().unwrap();
    a.maybe_send_stfu(false).unwrap();
    a.may_accept_update().unwrap();
    assert!(
        !a.may_send_update(),
        "MUST NOT send an update message after stfu"
    );
    // After the peer's stfu, an update from it is a violation.
    b.stfu_received(true, false).unwrap();
    assert_eq!(warn_tag(b.may_accept_update()), "bolt2-stfu-update-after");
    assert!(
        !b.may_send_update(),
        "SHOULD NOT send any more update messages"
    );
    b.maybe_send_stfu(false).unwrap();
    assert_eq!(warn_tag(b.may_accept_update()), "bolt2-stfu-update-after");
}

#[test]
fn disconnection_ends_quiescence() {
    let (mut a, mut b) = pair();
    a.request().unwrap();
    a.maybe_send_stfu(false).unwrap();
    b.stfu_received(true, false).unwrap();
    b.maybe_send_stfu(false).unwrap();
    a.stfu_received(false, false).unwrap();
    assert!(a.is_quiescent() && b.is_quiescent());
    // "Upon disconnection: the channel is no longer considered quiescent."
    a.on_disconnect();
    b.on_disconnect();
    for q in [&a, &b] {
        assert!(!q.is_quiescent() && !q.is_quiescing() && !q.is_initiator());
        assert!(q.may_send_update());
        q.may_accept_update().unwrap();
    }
    // The request is dropped too.
    assert_eq!(a.maybe_send_stfu(false), None);
    // A fresh round works after reconnecting.
    a.peer_connected(true);
    a.request().unwrap();
    assert_eq!(a.maybe_send_stfu(false), Some(true));
}

#[test]
fn resume_only_when_quiescent() {
    let (mut a, _) = pair();
    let e = a.resume().unwrap_err();
    assert!(matches!(e, ChannelError::Ignore { .. }));
    assert_eq!(e.tag(), "quiescence-not-quiescent");
    a.request().unwrap();
    a.maybe_send_stfu(false).unwrap();
    assert_eq!(a.resume().unwrap_err().tag(), "quiescence-not-quiescent");
}

#[test]
fn timer_detects_stalled_peer() {
    let (mut a, _) = pair();
    // Idle or merely requested: never stalls.
    for _ in 0..QUIESCENCE_TIMEOUT_TICKS * 2 {
        assert!(!a.timer_tick());
    }
    a.request().unwrap();
    assert!(!a.timer_tick());
    a.maybe_send_stfu(false).unwrap();
    for _ in 1..QUIESCENCE_TIMEOUT_TICKS {
        assert!(!a.timer_tick());
    }
    assert!(a.timer_tick(), "the peer did not answer in time");
    a.on_disconnect();
    assert!(!a.timer_tick());
}

#[test]
fn timer_bounds_quiescence_without_resume() {
    // "MUST disconnect after 60 seconds of quiescence if the HTLCs are
    // pending": quiescent and not resumed within the bound.
    let (mut a, mut b) = pair();
    a.request().unwrap();
    a.maybe_send_stfu(false).unwrap();
    b.stfu_received(true, false).unwrap();
    // b cannot answer yet (its updates pending): that counts too.
    for _ in 1..QUIESCENCE_TIMEOUT_TICKS {
        assert!(!b.timer_tick());
    }
    assert!(b.timer_tick());
    // Resumed in time: no disconnection.
    b.maybe_send_stfu(false).unwrap();
    a.stfu_received(false, false).unwrap();
    for _ in 1..QUIESCENCE_TIMEOUT_TICKS - 1 {
        assert!(!a.timer_tick());
    }
    a.resume().unwrap();
    for _ in 0..QUIESCENCE_TIMEOUT_TICKS * 2 {
        assert!(!a.timer_tick());
    }
}

#[test]
fn fuzz_seeds_quiescence_run_clean() {
    use lnkit::channel::quiescence::fuzz::fuzz_quiescence;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/quiescence");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for end in 0..=data.len() {
            fuzz_quiescence(&data[..end]);
        }
        n += 1;
    }
    assert!(n >= 4);
    // Every single event from every state reached by a two-event prefix.
    for a in 0u8..32 {
        for b in 0u8..32 {
            for c in 0u8..32 {
                fuzz_quiescence(&[a & 1, a, b, c]);
            }
        }
    }
}

mod honest_peers {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// One step of two honest channel ends exchanging `stfu` over an
    /// ordered link.
    #[derive(Clone, Debug)]
    enum Step {
        Request(bool),
        /// The channel of side `.0` reports its pending updates as `.1`.
        Poll(bool, bool),
        Deliver(bool),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            any::<bool>().prop_map(Step::Request),
            (any::<bool>(), any::<bool>()).prop_map(|(s, p)| Step::Poll(s, p)),
            any::<bool>().prop_map(Step::Deliver),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever the interleaving, honest ends never see a protocol
        /// error, send at most one stfu each, and once both are quiescent
        /// exactly one of them is the initiator (the funder on a tie).
        #[test]
        fn exactly_one_initiator(steps in proptest::collection::vec(step(), 1..40)) {
            let (mut a, mut b) = pair();
            // In flight towards a / towards b: the initiator flags.
            let (mut to_a, mut to_b): (VecDeque<bool>, VecDeque<bool>) = Default::default();
            let (mut sent_a, mut sent_b) = (0, 0);
            for s in steps {
                match s {
                    Step::Request(side) => {
                        let q = if side { &mut a } else { &mut b };
                        let _ = q.request();
                    }
                    Step::Poll(side, pending) => {
                        let (q, out, n) = if side {
                            (&mut a, &mut to_b, &mut sent_a)
                        } else {
                            (&mut b, &mut to_a, &mut sent_b)
                        };
                        if let Some(flag) = q.maybe_send_stfu(pending) {
                            prop_assert!(!pending);
                            out.push_back(flag);
                            *n += 1;
                        }
                    }
                    Step::Deliver(side) => {
                        let (q, inbox) = if side { (&mut a, &mut to_a) } else { (&mut b, &mut to_b) };
                        if let Some(flag) = inbox.pop_front() {
                            prop_assert!(q.stfu_received(flag, false).is_ok());
                        }
                    }
                }
                prop_assert!(sent_a <= 1 && sent_b <= 1);
                if a.is_quiescent() && b.is_quiescent() {
                    prop_assert!(a.is_initiator() != b.is_initiator());
                }
            }
            // Drain: both ends poll with nothing pending and deliver.
            for _ in 0..3 {
                if let Some(f) = a.maybe_send_stfu(false) { to_b.push_back(f); }
                if let Some(f) = b.maybe_send_stfu(false) { to_a.push_back(f); }
                while let Some(f) = to_a.pop_front() { prop_assert!(a.stfu_received(f, false).is_ok()); }
                while let Some(f) = to_b.pop_front() { prop_assert!(b.stfu_received(f, false).is_ok()); }
            }
            // Once anyone sent stfu, both end quiescent with one initiator.
            if sent_a + sent_b > 0 || a.is_quiescing() || b.is_quiescing() {
                prop_assert!(a.is_quiescent() && b.is_quiescent());
                prop_assert!(a.is_initiator() != b.is_initiator());
            }
        }
    }
}
