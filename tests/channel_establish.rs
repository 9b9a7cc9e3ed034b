//! BOLT 2 v1 channel establishment: the full handshake between two
//! KeysManager-backed state machines (every message through the codec),
//! one test per enforced rule (named by its tag), phase errors, and a
//! property test over acceptable parameters.

mod establish_common;

use establish_common::*;
use lnkit::bitcoin::secp256k1::{Message as SecpMessage, Secp256k1};
use lnkit::bitcoin::ScriptBuf;
use lnkit::channel::establish::{InboundV1Channel, OutboundV1Channel, PendingV1Channel};
use lnkit::config::UserConfig;
use lnkit::msgs::features::{ChannelTypeFeatures, InitFeatures};
use lnkit::msgs::{FundingCreated, FundingSigned, OpenChannel};
use lnkit::types::{ChannelId, Point, WireSignature};
use proptest::prelude::*;

#[test]
fn happy_path_static_remotekey() {
    let mut s = Setup::new(false);
    s.a_config
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = false;
    let d = handshake(&s);
    assert_eq!(
        d.a.channel_type,
        ChannelTypeFeatures::only_static_remote_key()
    );
    check_done(&s, &d);
}

#[test]
fn happy_path_anchors() {
    let s = Setup::new(true);
    let d = handshake(&s);
    assert_eq!(
        d.a.channel_type,
        ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies()
    );
    check_done(&s, &d);
}

#[test]
fn peer_without_anchors_gets_static_remotekey() {
    let mut s = Setup::new(false);
    // We would like anchors, the peer does not offer them.
    s.a_config
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = true;
    let d = handshake(&s);
    assert_eq!(
        d.b.channel_type,
        ChannelTypeFeatures::only_static_remote_key()
    );
    check_done(&s, &d);
}

// ---------- funding and phase errors ----------

#[test]
fn phase_errors_are_rejected() {
    let s = Setup::new(true);
    let mut a = s.outbound(&keys(1));
    // funding_created before accept_channel.
    let e = a
        .funding_created(&funding_tx(ScriptBuf::new(), s.value), 1)
        .unwrap_err();
    assert_eq!(e.tag(), "api-funding-created-phase");
    assert!(a.funding_script_pubkey().is_none());
    let open = a.open_channel().unwrap();
    let b = s.inbound(&keys(2), &open).unwrap();
    let accept = b.accept_channel().unwrap();
    a.accept_channel(&accept).unwrap();
    // accept_channel twice.
    assert_eq!(
        a.accept_channel(&accept).unwrap_err().tag(),
        "bolt2-establish-out-of-order"
    );
    // funding_signed before funding_created.
    let bogus = FundingSigned {
        channel_id: ChannelId([1; 32]),
        signature: WireSignature([1; 64]),
        unknown_tlvs: Default::default(),
    };
    assert_eq!(
        a.funding_signed(&bogus, best()).unwrap_err().tag(),
        "bolt2-establish-out-of-order"
    );
}

#[test]
fn api_funding_output_must_pay_the_channel() {
    let s = Setup::new(true);
    let mut a = s.outbound(&keys(1));
    let b = s.inbound(&keys(2), &a.open_channel().unwrap()).unwrap();
    a.accept_channel(&b.accept_channel().unwrap()).unwrap();
    let script = a.funding_script_pubkey().unwrap();
    // Wrong value, wrong script, missing output.
    for (tx, idx) in [
        (funding_tx(script.clone(), s.value - 1), 1),
        (funding_tx(ScriptBuf::new(), s.value), 1),
        (funding_tx(script.clone(), s.value), 2),
    ] {
        assert_eq!(
            a.funding_created(&tx, idx).unwrap_err().tag(),
            "api-funding-output"
        );
    }
    // Still usable afterwards.
    a.funding_created(&funding_tx(script, s.value), 1).unwrap();
}

/// Runs to funding_created; returns the funder, the fundee and the message.
fn to_funding_created(s: &Setup) -> (OutboundV1Channel, InboundV1Channel, FundingCreated) {
    let mut a = s.outbound(&keys(1));
    let b = s.inbound(&keys(2), &a.open_channel().unwrap()).unwrap();
    a.accept_channel(&b.accept_channel().unwrap()).unwrap();
    let tx = funding_tx(a.funding_script_pubkey().unwrap(), s.value);
    let created = a.funding_created(&tx, 1).unwrap();
    (a, b, created)
}

/// A valid low-S signature over something else.
fn other_sig() -> WireSignature {
    let secp = Secp256k1::new();
    let sk = lnkit::bitcoin::secp256k1::SecretKey::from_slice(&[5; 32]).unwrap();
    secp.sign_ecdsa(&SecpMessage::from_digest([3; 32]), &sk)
        .into()
}

#[test]
fn bolt2_funding_created_sig() {
    let s = Setup::new(true);
    let (_, b, mut created) = to_funding_created(&s);
    created.signature = other_sig();
    assert_eq!(
        b.funding_created(&created, best()).unwrap_err().tag(),
        "bolt2-funding-created-sig"
    );
    // A signature for another funding output fails too.
    let (_, b, mut created) = to_funding_created(&s);
    created.funding_output_index = 0;
    assert_eq!(
        b.funding_created(&created, best()).unwrap_err().tag(),
        "bolt2-funding-created-sig"
    );
}

#[test]
fn bolt2_funding_created_channel_id() {
    let s = Setup::new(true);
    let (_, b, mut created) = to_funding_created(&s);
    created.temporary_channel_id = ChannelId([8; 32]);
    assert_eq!(
        b.funding_created(&created, best()).unwrap_err().tag(),
        "bolt2-funding-created-channel-id"
    );
}

#[test]
fn bolt2_funding_signed_sig() {
    let s = Setup::new(false);
    let (a, b, created) = to_funding_created(&s);
    let (_, mut signed, _) = b.funding_created(&created, best()).unwrap();
    signed.signature = other_sig();
    assert_eq!(
        a.funding_signed(&signed, best()).unwrap_err().tag(),
        "bolt2-funding-signed-sig"
    );
}

#[test]
fn bolt2_funding_signed_channel_id() {
    let s = Setup::new(false);
    let (a, b, created) = to_funding_created(&s);
    let (_, mut signed, _) = b.funding_created(&created, best()).unwrap();
    signed.channel_id = ChannelId([4; 32]);
    assert_eq!(
        a.funding_signed(&signed, best()).unwrap_err().tag(),
        "bolt2-funding-signed-channel-id"
    );
}

fn to_pending(s: &Setup) -> (PendingV1Channel, PendingV1Channel) {
    let (a, b, created) = to_funding_created(s);
    let (pb, signed, _) = b.funding_created(&created, best()).unwrap();
    let (pa, _) = a.funding_signed(&signed, best()).unwrap();
    (pa, pb)
}

#[test]
fn bolt2_channel_ready_checks() {
    let s = Setup::new(true);
    let (mut pa, mut pb) = to_pending(&s);
    let depth = pb.minimum_depth();
    let good = pb.check_funding_depth(depth).unwrap().unwrap();
    let mut wrong_id = good.clone();
    wrong_id.channel_id = ChannelId([3; 32]);
    assert_eq!(
        pa.channel_ready_received(&wrong_id).unwrap_err().tag(),
        "bolt2-channel-ready-channel-id"
    );
    let mut bad = good.clone();
    bad.second_per_commitment_point = bad_point();
    assert_eq!(
        pa.channel_ready_received(&bad).unwrap_err().tag(),
        "bolt2-channel-ready-invalid-point"
    );
    pa.channel_ready_received(&good).unwrap();
    let mut changed = good.clone();
    changed.second_per_commitment_point = other_point();
    assert_eq!(
        pa.channel_ready_received(&changed).unwrap_err().tag(),
        "bolt2-channel-ready-point-changed"
    );
    // Not funded until we sent ours too.
    let pa = pa.into_funded().unwrap_err();
    assert!(!pa.is_ready());
}

/// Some valid point that is not the peer's.
fn other_point() -> Point {
    let secp = Secp256k1::new();
    let sk = lnkit::bitcoin::secp256k1::SecretKey::from_slice(&[1; 32]).unwrap();
    lnkit::bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &sk).into()
}

#[test]
fn zero_conf_only_when_trusting_own_funding() {
    let mut s = Setup::new(true);
    let (ka, kb) = (keys(1), keys(2));
    // The acceptor asks for 0 confirmations (hand-edited: our inbound side
    // always asks for at least 1).
    for trust in [false, true] {
        s.a_config.channel_handshake_limits.trust_own_funding_0conf = trust;
        let mut a = s.outbound(&ka);
        let b = s.inbound(&kb, &a.open_channel().unwrap()).unwrap();
        let mut accept = b.accept_channel().unwrap();
        accept.minimum_depth = 0;
        a.accept_channel(&accept).unwrap();
        let tx = funding_tx(a.funding_script_pubkey().unwrap(), s.value);
        let created = a.funding_created(&tx, 1).unwrap();
        let (_, signed, _) = b.funding_created(&created, best()).unwrap();
        let (mut pa, _) = a.funding_signed(&signed, best()).unwrap();
        assert_eq!(pa.minimum_depth(), if trust { 0 } else { 1 });
        assert_eq!(pa.check_funding_depth(0).unwrap().is_some(), trust);
    }
}

#[test]
fn outbound_refuses_impossible_channels() {
    let s = Setup::new(true);
    let ka = keys(1);
    let mk = |value: u64, push: u64, f: &InitFeatures| {
        OutboundV1Channel::new(&s.fees, &ka, &ka, f, value, push, 1, &s.a_config, chain())
            .map(|_| ())
            .unwrap_err()
            .tag()
    };
    assert_eq!(
        mk(1_000_000, 1_000_000_001, &features(true)),
        "bolt2-open-push-too-large"
    );
    assert_eq!(
        mk(1 << 24, 0, &features(true)),
        "bolt2-open-funding-too-large"
    );
    assert_eq!(
        mk(1_000, 0, &features(true)),
        "bolt2-open-funder-cannot-pay-fee"
    );
    assert_eq!(
        mk(1_000_000, 0, &InitFeatures::empty()),
        "api-peer-no-static-remotekey"
    );
}

// ---------- property test ----------

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any acceptable parameters complete the handshake, and both sides
    /// agree on balances, limits and each other's commitments.
    #[test]
    fn random_acceptable_parameters_complete(
        value in 50_000u64..5_000_000,
        push_frac in 0u64..=1000,
        fee in 253u32..5_000,
        anchors in any::<bool>(),
        delay in 144u16..=2016,
        depth in 1u32..=144,
        max_htlcs in 1u16..=483,
        in_flight_pct in 1u8..=100,
        htlc_min in 1u64..10_000,
    ) {
        let mut s = Setup::new(anchors);
        s.fees = Fees { fee, max: 50_000 };
        s.a_config.channel_handshake_config.our_to_self_delay = delay;
        s.a_config.channel_handshake_config.our_max_accepted_htlcs = max_htlcs;
        s.a_config.channel_handshake_config.max_inbound_htlc_value_in_flight_percent = in_flight_pct;
        s.b_config.channel_handshake_config.minimum_depth = depth;
        s.b_config.channel_handshake_config.our_htlc_minimum_msat = htlc_min;
        s.b_config.channel_handshake_limits.min_funding_satoshis = 1;
        // The funder keeps the fee, the anchors and the fundee's reserve.
        let weight = if anchors { 1124 } else { 724 };
        let cost = fee as u64 * weight / 1000 + if anchors { 660 } else { 0 };
        let reserve = (value / 100).max(1_000);
        let max_push = (value - cost - reserve - 1) * 1000;
        s.value = value;
        s.push_msat = max_push / 1000 * push_frac;
        let d = handshake(&s);
        check_done(&s, &d);
        prop_assert_eq!(d.a.to_holder.0 + d.a.to_counterparty.0, value * 1000);
        prop_assert_eq!(d.a.params.counterparty_selected_contest_delay, 144);
        prop_assert_eq!(d.b.params.counterparty_selected_contest_delay, delay);
    }
}

// ---------- fuzz entry point ----------

/// Runs `fuzz_establish` over its seeds (and every truncation of each).
/// `LNKIT_WRITE_SEEDS=1` regenerates the seeds from real messages.
#[test]
fn fuzz_establish_seeds() {
    use lnkit::channel::establish::fuzz::fuzz_establish;
    use lnkit::codec::Writeable;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/channel_establish");
    if std::env::var_os("LNKIT_WRITE_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let s = Setup::new(true);
        let mut a = s.outbound(&keys(1));
        let open = a.open_channel().unwrap();
        let b = s.inbound(&keys(2), &open).unwrap();
        let accept = b.accept_channel().unwrap();
        a.accept_channel(&accept).unwrap();
        let tx = funding_tx(a.funding_script_pubkey().unwrap(), s.value);
        let created = a.funding_created(&tx, 1).unwrap();
        let (mut pb, signed, _) = b.funding_created(&created, best()).unwrap();
        let ready = pb.check_funding_depth(10).unwrap().unwrap();
        for (name, mode, bytes) in [
            ("open_channel", 0u8, open.encode()),
            ("accept_channel", 1, accept.encode()),
            ("funding_signed", 2, signed.encode()),
            ("channel_ready", 3, ready.encode()),
        ] {
            std::fs::write(dir.join(name), [vec![mode], bytes].concat()).unwrap();
        }
    }
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for end in 0..=data.len() {
            fuzz_establish(&data[..end]);
        }
        n += 1;
    }
    assert!(n >= 4);
}

#[test]
fn fuzz_seed_open_channel_is_accepted_by_the_fuzz_node() {
    // The open_channel seed is a real, acceptable message: the fuzz entry
    // point reaches the funding_created stage with it.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/channel_establish");
    let data = std::fs::read(dir.join("open_channel")).unwrap();
    let open = OpenChannel::decode(&data[1..]).unwrap();
    let mut f = features(true);
    f.set_shutdown_anysegwit_optional();
    let fees = Fees {
        fee: 253,
        max: 100_000,
    };
    InboundV1Channel::new_from_open_channel(
        &fees,
        &keys(7),
        &f,
        &open,
        1,
        &UserConfig::default(),
        chain(),
    )
    .unwrap();
}

/// The monitors the handshake yields are what `chain::Watch` takes: both
/// are accepted and persisted (the caller's step before `funding_signed`
/// leaves / the funding transaction is broadcast), and the persisted bytes
/// read back into a monitor with the same holder commitment.
#[test]
fn monitors_are_watched_and_persisted() {
    use lnkit::chain::monitor::{ChainMonitor, Watch};
    use lnkit::chain::ChannelMonitorUpdateStatus;
    use lnkit::testing::{TestBroadcaster, TestFeeEstimator, TestLogger, TestPersister};
    use std::sync::Arc;
    let s = Setup::new(true);
    let d = handshake(&s);
    for (monitor, seed) in [(d.monitor_a, 1), (d.monitor_b, 2)] {
        let persister = Arc::new(TestPersister::new());
        let chain_monitor = ChainMonitor::new(
            None,
            Arc::new(TestBroadcaster::new()),
            Arc::new(TestLogger::new()),
            Arc::new(TestFeeEstimator::new(253)),
            persister.clone(),
        );
        let outpoint = monitor.funding_outpoint();
        let holder_txid = monitor.holder_commitment().txid();
        assert_eq!(
            chain_monitor.watch_channel(outpoint, monitor).unwrap(),
            ChannelMonitorUpdateStatus::Completed
        );
        let bytes = persister.persisted_monitor(&outpoint).expect("persisted");
        let back = lnkit::chain::monitor::ChannelMonitor::read(&bytes, &keys(seed)).unwrap();
        assert_eq!(back.holder_commitment().txid(), holder_txid);
    }
}
