//! The persisted forms of `Channel` and `PendingV1Channel`: byte-stable
//! round trips in every state of the dance, reloads that continue with the
//! peer to exact balances, the TLV extension rules, refusal of corrupt
//! data, and no panic on hostile bytes.

mod funded_common;

use funded_common::*;
use lnkit::channel::establish::PendingV1Channel;
use lnkit::channel::funded::{Channel, HtlcEvent};
use lnkit::codec::{BigSize, DecodeError};
use lnkit::config::ChannelConfig;
use lnkit::msgs::{ChannelReady, Message};
use lnkit::sign::KeysManager;
use lnkit::types::{PaymentPreimage, ShortChannelId};
use proptest::prelude::*;
/// Encode, read with `keys`, encode again: the same bytes, and the same
/// observable state.
fn assert_stable(c: &Channel, keys: &KeysManager) {
    let bytes = c.encode();
    let back = Channel::read(&bytes, keys).expect("a written channel reads back");
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.balance_msat(), c.balance_msat());
    assert_eq!(
        back.counterparty_balance_msat(),
        c.counterparty_balance_msat()
    );
    assert_eq!(back.pending_htlc_count(), c.pending_htlc_count());
    assert_eq!(back.holder_commitment(), c.holder_commitment());
    assert_eq!(back.feerate(), c.feerate());
    assert_eq!(
        back.latest_monitor_update_id(),
        c.latest_monitor_update_id()
    );
    assert_eq!(back.channel_ready_message(), c.channel_ready_message());
    assert_eq!(back.has_changes_to_sign(), c.has_changes_to_sign());
    assert_eq!(back.is_awaiting_revoke(), c.is_awaiting_revoke());
}

const PRE_A_TO_B: [u8; 32] = [9; 32];
const PRE_B_TO_A: [u8; 32] = [8; 32];
const DUST_A_TO_B: [u8; 32] = [7; 32];

/// The scenario: a pays b 3M msat and a dust 4k msat HTLC (which b fails),
/// b pays a 2M msat, and a (the funder) raises the fee to 2000 sat/kw.
/// Delivers `k` messages (one at a time, signing and claiming as soon as
/// possible, `check` after each), then returns the pair mid-dance.
fn scenario(anchors: bool, k: usize, check: &mut dyn FnMut(&Pair)) -> (Pair, u64, u64) {
    let mut p = Pair::new(anchors);
    let (a0, b0) = balances(&p);
    p.pay(true, 3_000_000, PRE_A_TO_B);
    p.pay(true, 4_000, DUST_A_TO_B);
    p.pay(false, 2_000_000, PRE_B_TO_A);
    let out = p.a.chan.send_update_fee(2_000).unwrap();
    p.apply(true, out);
    check(&p);
    let mut delivered = 0;
    loop {
        p.sign(true);
        p.sign(false);
        p.claim_all(false, &[PaymentPreimage(PRE_A_TO_B)]);
        p.claim_all(true, &[PaymentPreimage(PRE_B_TO_A)]);
        check(&p);
        if p.wire.is_empty() || delivered == k {
            break;
        }
        let (from_a, m) = p.wire.remove(0);
        p.deliver(!from_a, m);
        delivered += 1;
    }
    (p, a0, b0)
}

fn finish(p: &mut Pair) {
    for _ in 0..3 {
        p.run();
        p.claim_all(false, &[PaymentPreimage(PRE_A_TO_B)]);
        p.claim_all(true, &[PaymentPreimage(PRE_B_TO_A)]);
    }
    p.run();
}

#[test]
fn encode_read_encode_is_stable_at_every_step_of_the_dance() {
    for anchors in [false, true] {
        let ka = keys(1);
        let kb = keys(2);
        let mut steps = 0;
        let (mut p, a0, b0) = scenario(anchors, usize::MAX, &mut |p| {
            assert_stable(&p.a.chan, &ka);
            assert_stable(&p.b.chan, &kb);
            steps += 1;
        });
        assert!(steps > 10, "the scenario went through {steps} states");
        finish(&mut p);
        assert_stable(&p.a.chan, &ka);
        assert_stable(&p.b.chan, &kb);
        assert_eq!(
            balances(&p),
            (a0 - 3_000_000 + 2_000_000, b0 + 3_000_000 - 2_000_000)
        );
    }
}

#[test]
fn reloaded_channels_finish_the_dance_to_exact_balances() {
    for anchors in [false, true] {
        let mut k = 0;
        loop {
            let (mut p, a0, b0) = scenario(anchors, k, &mut |_| {});
            let settled = p.wire.is_empty();
            p.restart();
            finish(&mut p);
            assert_eq!(
                balances(&p),
                (a0 - 1_000_000, b0 + 1_000_000),
                "anchors {anchors}, k = {k}"
            );
            assert_eq!(p.a.chan.pending_htlc_count(), 0, "k = {k}");
            assert_eq!(p.b.chan.pending_htlc_count(), 0, "k = {k}");
            assert_eq!(p.a.chan.feerate().0, 2_000, "k = {k}");
            assert_eq!(p.b.chan.feerate().0, 2_000, "k = {k}");
            // The monitors (never reloaded) followed the reloaded channels.
            assert_eq!(
                p.a.monitor.holder_commitment().txid(),
                p.a.chan.holder_commitment().txid()
            );
            assert_eq!(
                p.b.monitor.holder_commitment().txid(),
                p.b.chan.holder_commitment().txid()
            );
            assert!(p.a.events.iter().any(|e| matches!(
                e,
                HtlcEvent::OutboundFulfilled { preimage, .. } if preimage.0 == PRE_A_TO_B
            )));
            assert!(p
                .a
                .events
                .iter()
                .any(|e| matches!(e, HtlcEvent::OutboundFailed { .. })));
            if settled {
                break;
            }
            k += 1;
        }
        assert!(k > 10);
    }
}

#[test]
fn a_reloaded_channel_keeps_paying() {
    let (mut p, a0, b0) = scenario(false, usize::MAX, &mut |_| {});
    finish(&mut p);
    p.restart();
    p.pay(false, 1_500_000, [5; 32]);
    p.run();
    p.claim_all(true, &[PaymentPreimage([5; 32])]);
    p.run();
    assert_eq!(balances(&p), (a0 + 500_000, b0 - 500_000));
}

// ---- the pending channel ----

#[test]
fn pending_channel_reloads_and_becomes_funded() {
    for anchors in [false, true] {
        let s = Setup::new(anchors);
        let mut p = pending_pair(&s);
        for (c, k) in [(&mut p.pa, keys(1)), (&mut p.pb, keys(2))] {
            let bytes = c.encode();
            let back = PendingV1Channel::read(&bytes, &k).expect("reads back");
            assert_eq!(back.encode(), bytes);
            assert_eq!(back.channel_id(), c.channel_id());
            assert_eq!(back.temporary_channel_id(), c.temporary_channel_id());
            assert_eq!(back.channel_parameters(), c.channel_parameters());
            assert_eq!(back.minimum_depth(), c.minimum_depth());
            *c = back;
        }
        let depth = p.pb.minimum_depth();
        ready(&mut p.pa, &mut p.pb, depth);
        // Reload again once both channel_ready went both ways.
        p.pa = PendingV1Channel::read(&p.pa.encode(), &keys(1)).unwrap();
        p.pb = PendingV1Channel::read(&p.pb.encode(), &keys(2)).unwrap();
        assert!(p.pa.is_ready() && p.pb.is_ready());
        let mut pair = Pair::from_pending(p);
        assert_eq!(
            pair.a.chan.counterparty_scid_alias(),
            Some(ShortChannelId(0xabcdef))
        );
        let (a0, b0) = balances(&pair);
        pair.pay(true, 2_500_000, [4; 32]);
        pair.run();
        pair.claim_all(false, &[PaymentPreimage([4; 32])]);
        pair.run();
        assert_eq!(balances(&pair), (a0 - 2_500_000, b0 + 2_500_000));
    }
}

#[test]
fn pending_channel_reloaded_between_the_two_channel_ready() {
    let s = Setup::new(false);
    let mut p = pending_pair(&s);
    let depth = p.pb.minimum_depth();
    let ra = wire_ready(p.pa.check_funding_depth(depth).unwrap().unwrap());
    p.pa = PendingV1Channel::read(&p.pa.encode(), &keys(1)).unwrap();
    // Our channel_ready counts as sent after the restart: not again.
    assert_eq!(p.pa.check_funding_depth(depth + 1).unwrap(), None);
    assert_eq!(p.pa.channel_ready_message().unwrap(), ra);
    p.pb.channel_ready_received(&ra).unwrap();
    p.pb = PendingV1Channel::read(&p.pb.encode(), &keys(2)).unwrap();
    assert!(!p.pb.is_ready());
    let rb = wire_ready(p.pb.check_funding_depth(depth).unwrap().unwrap());
    assert!(p.pb.is_ready());
    p.pa.channel_ready_received(&rb).unwrap();
    let fa = p.pa.into_funded().expect("a funded");
    assert_eq!(fa.counterparty_scid_alias, Some(ShortChannelId(0xabcdef)));
    assert!(p.pb.into_funded().is_ok());
}

fn wire_ready(m: ChannelReady) -> ChannelReady {
    funded_common::wire_ready(m)
}

// ---- the TLV rules and corrupt data ----

/// The records of a form: (type, value), after the two version bytes.
fn records(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut r = &bytes[2..];
    let mut out = vec![];
    while !r.is_empty() {
        let t = BigSize::read_from_slice(&mut r).unwrap();
        let l = BigSize::read_from_slice(&mut r).unwrap() as usize;
        out.push((t, r[..l].to_vec()));
        r = &r[l..];
    }
    out
}

fn assemble(version: [u8; 2], recs: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut b = version.to_vec();
    for (t, v) in recs {
        BigSize::push(&mut b, *t);
        BigSize::push(&mut b, v.len() as u64);
        b.extend_from_slice(v);
    }
    b
}

fn busy_channel() -> (Pair, Vec<u8>) {
    // Mid-dance: HTLCs in several states both ways and a pending fee.
    let (p, _, _) = scenario(true, 5, &mut |_| {});
    assert_eq!(p.a.chan.pending_htlc_count(), 3);
    assert!(p.a.chan.is_awaiting_revoke() || p.b.chan.is_awaiting_revoke());
    let bytes = p.a.chan.encode();
    (p, bytes)
}

#[test]
fn unknown_odd_records_are_skipped_unknown_even_fail() {
    let (_, bytes) = busy_channel();
    let ka = keys(1);
    let recs = records(&bytes);
    let mut odd = recs.clone();
    odd.push((1001, vec![1, 2, 3]));
    let c = Channel::read(&assemble([1, 1], &odd), &ka).unwrap();
    assert_eq!(c.encode(), bytes);
    let mut even = recs.clone();
    even.push((1000, vec![1, 2, 3]));
    assert_eq!(
        Channel::read(&assemble([1, 1], &even), &ka).unwrap_err(),
        DecodeError::UnknownRequiredFeature
    );
    // A newer writer that old readers may read; one they may not.
    assert!(Channel::read(&assemble([7, 1], &recs), &ka).is_ok());
    assert_eq!(
        Channel::read(&assemble([2, 2], &recs), &ka).unwrap_err(),
        DecodeError::UnknownVersion
    );
    // The same for the pending channel.
    let p = pending_pair(&Setup::new(false));
    let pb = p.pa.encode();
    let mut odd = records(&pb);
    odd.push((77, vec![0]));
    assert_eq!(
        PendingV1Channel::read(&assemble([1, 1], &odd), &ka)
            .unwrap()
            .encode(),
        pb
    );
    let mut even = records(&pb);
    even.push((78, vec![0]));
    assert_eq!(
        PendingV1Channel::read(&assemble([1, 1], &even), &ka).unwrap_err(),
        DecodeError::UnknownRequiredFeature
    );
}

#[test]
fn corrupt_commitment_data_is_refused() {
    let (_, bytes) = busy_channel();
    let ka = keys(1);
    let recs = records(&bytes);
    let edit = |t: u64, f: &dyn Fn(&mut Vec<u8>)| {
        let mut r = recs.clone();
        let rec = r.iter_mut().find(|(k, _)| *k == t).unwrap();
        f(&mut rec.1);
        Channel::read(&assemble([1, 1], &r), &ka).unwrap_err()
    };
    // Unmodified, the reassembled records read.
    assert!(Channel::read(&assemble([1, 1], &recs), &ka).is_ok());
    // The peer's commitment signature (holder commitment record 34, its
    // record 10: the last 64 bytes before record 12).
    let flip_sig = |v: &mut Vec<u8>| {
        let inner = records(&[&[1u8, 1][..], v].concat());
        let mut inner2 = inner.clone();
        let sig = inner2.iter_mut().find(|(k, _)| *k == 10).unwrap();
        sig.1[40] ^= 1;
        *v = assemble([0, 0], &inner2)[2..].to_vec();
    };
    assert_eq!(edit(34, &flip_sig), DecodeError::InvalidValue);
    // The commitment's stored balance moved by one satoshi.
    let move_balance = |v: &mut Vec<u8>| {
        let mut inner = records(&[&[1u8, 1][..], v].concat());
        let (_, b) = inner.iter_mut().find(|(k, _)| *k == 2).unwrap();
        let n = u64::from_be_bytes(b[..].try_into().unwrap()) - 1000;
        *b = n.to_be_bytes().to_vec();
        let (_, b) = inner.iter_mut().find(|(k, _)| *k == 4).unwrap();
        let n = u64::from_be_bytes(b[..].try_into().unwrap()) + 1000;
        *b = n.to_be_bytes().to_vec();
        *v = assemble([0, 0], &inner)[2..].to_vec();
    };
    assert_eq!(edit(34, &move_balance), DecodeError::InvalidValue);
    // Settled balances that no longer add up to the channel.
    let plus_one = |v: &mut Vec<u8>| {
        let n = u64::from_be_bytes(v[..].try_into().unwrap()) + 1;
        *v = n.to_be_bytes().to_vec();
    };
    assert_eq!(edit(18, &plus_one), DecodeError::InvalidValue);
    // Another node's keys cannot restore the signer.
    assert!(Channel::read(&bytes, &keys(2)).is_err());
    // The pending channel: a corrupt signature of commitment 0.
    let p = pending_pair(&Setup::new(false));
    let mut r = records(&p.pa.encode());
    r.iter_mut().find(|(k, _)| *k == 36).unwrap().1[10] ^= 1;
    assert_eq!(
        PendingV1Channel::read(&assemble([1, 1], &r), &ka).unwrap_err(),
        DecodeError::InvalidValue
    );
}

// ---- hostile bytes ----

thread_local! {
    static SAMPLES: (Vec<u8>, Vec<u8>) = {
        let (_, c) = busy_channel();
        let p = pending_pair(&Setup::new(true));
        (c, p.pa.encode())
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn truncated_or_flipped_encodings_never_panic(cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let ka = keys(1);
        SAMPLES.with(|(c, p)| {
            for bytes in [c, p] {
                let short = &bytes[..cut.index(bytes.len())];
                // A cut at a record boundary may only drop optional
                // records: whatever reads must still be stable.
                for b in [short, &bytes[..]] {
                    if let Ok(c) = Channel::read(b, &ka) {
                        let again = c.encode();
                        prop_assert_eq!(Channel::read(&again, &ka).unwrap().encode(), again);
                    }
                }
                if let Ok(c) = PendingV1Channel::read(short, &ka) {
                    let again = c.encode();
                    prop_assert_eq!(PendingV1Channel::read(&again, &ka).unwrap().encode(), again);
                }
                let mut flipped = bytes.clone();
                flipped[flip.index(bytes.len())] ^= 1 << bit;
                if let Ok(c) = Channel::read(&flipped, &ka) {
                    let again = c.encode();
                    prop_assert_eq!(Channel::read(&again, &ka).unwrap().encode(), again);
                }
                if let Ok(c) = PendingV1Channel::read(&flipped, &ka) {
                    let again = c.encode();
                    prop_assert_eq!(PendingV1Channel::read(&again, &ka).unwrap().encode(), again);
                }
                lnkit::channel::fuzz::fuzz_channel_read(&flipped);
            }
            Ok(())
        })?;
    }

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        lnkit::channel::fuzz::fuzz_channel_read(&data);
        let mut with_version = vec![1u8, 1];
        with_version.extend_from_slice(&data);
        lnkit::channel::fuzz::fuzz_channel_read(&with_version);
    }
}

/// The committed seeds of the `channel_read` fuzz target still read (so
/// the fuzzer starts from valid channels), with the target's keys.
#[test]
fn channel_read_seeds_read() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/channel_read");
    let ka = keys(1);
    for name in ["busy", "fresh"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(Channel::read(&bytes, &ka).unwrap().encode(), bytes);
    }
    let bytes = std::fs::read(dir.join("pending")).unwrap();
    assert_eq!(PendingV1Channel::read(&bytes, &ka).unwrap().encode(), bytes);
}

/// Writes the seeds of the `channel_read` fuzz target (node a's forms,
/// readable with the target's `KeysManager`):
/// `cargo test --test channel_ser -- --ignored regenerate_channel_read_seeds`.
#[test]
#[ignore]
fn regenerate_channel_read_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/channel_read");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, busy) = busy_channel();
    std::fs::write(dir.join("busy"), busy).unwrap();
    let fresh = Pair::new(false);
    std::fs::write(dir.join("fresh"), fresh.a.chan.encode()).unwrap();
    let p = pending_pair(&Setup::new(true));
    std::fs::write(dir.join("pending"), p.pa.encode()).unwrap();
}

#[test]
fn every_field_survives_a_reload() {
    use lnkit::bitcoin::hashes::Hash;
    use lnkit::bitcoin::{ScriptBuf, WPubkeyHash};
    use lnkit::config::MaxDustHtlcExposure;
    let mut pp = pending_pair(&Setup::new(true));
    let depth = pp.pb.minimum_depth();
    ready(&mut pp.pa, &mut pp.pb, depth);
    let fa = pp.pa.into_funded().unwrap();
    let fb = pp.pb.into_funded().unwrap();
    let config = ChannelConfig {
        forwarding_fee_proportional_millionths: 17,
        forwarding_fee_base_msat: 2_345,
        cltv_expiry_delta: 99,
        max_dust_htlc_exposure: MaxDustHtlcExposure::FixedLimitMsat(5_432_100),
    };
    let (ra, rb) = (dummy_ready(&fa), dummy_ready(&fb));
    let mut a = Channel::from_funded(fa, ra, config);
    let mut b = Channel::from_funded(fb, rb, ChannelConfig::default());
    a.set_short_channel_id(ShortChannelId(0x0102_0304_0506));
    let script = ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([3; 20]));
    let out = a.send_shutdown(script.clone()).unwrap();
    let Some(Message::Shutdown(msg)) = out.msgs.into_iter().next().map(wire) else {
        panic!("shutdown sent")
    };
    b.receive_shutdown(&msg, false).unwrap();
    for (c, k) in [(&a, keys(1)), (&b, keys(2))] {
        let back = Channel::read(&c.encode(), &k).unwrap();
        assert_eq!(back.channel_id(), c.channel_id());
        assert_eq!(back.user_channel_id(), c.user_channel_id());
        assert_eq!(back.params(), c.params());
        assert_eq!(back.channel_type(), c.channel_type());
        assert_eq!(back.holder_limits(), c.holder_limits());
        assert_eq!(back.counterparty_limits(), c.counterparty_limits());
        assert_eq!(back.config(), c.config());
        assert_eq!(back.short_channel_id(), c.short_channel_id());
        assert_eq!(back.counterparty_scid_alias(), c.counterparty_scid_alias());
        assert_eq!(
            back.outbound_scid_alias_value(),
            c.outbound_scid_alias_value()
        );
        assert_eq!(back.shutdown_sent(), c.shutdown_sent());
        assert_eq!(back.shutdown_received(), c.shutdown_received());
        assert_eq!(
            back.counterparty_upfront_shutdown_script(),
            c.counterparty_upfront_shutdown_script()
        );
        assert_eq!(
            back.latest_monitor_update_id(),
            c.latest_monitor_update_id()
        );
        assert_eq!(
            back.reestablish_message().unwrap(),
            c.reestablish_message().unwrap()
        );
    }
    assert_eq!(a.user_channel_id(), 42);
    assert_eq!(b.user_channel_id(), 43);
    assert_eq!(*a.config(), config);
    assert_eq!(a.shutdown_sent(), Some(&script));
    assert_eq!(b.shutdown_received(), Some(&script));
    assert_eq!(
        b.outbound_scid_alias_value(),
        Some(ShortChannelId(0xabcdef))
    );
}
