//! One test per BOLT 2 receiver check of `open_channel` and
//! `accept_channel`, each named after the rule's tag.

mod establish_common;

use establish_common::*;
use lnkit::bitcoin::blockdata::constants::ChainHash;
use lnkit::bitcoin::ScriptBuf;
use lnkit::channel::establish::{ChannelError, InboundV1Channel};
use lnkit::msgs::features::{ChannelTypeFeatures, InitFeatures};
use lnkit::msgs::{AcceptChannel, OpenChannel};
use lnkit::types::ChannelId;

// ---------- open_channel checks (one per tag) ----------

/// A valid open_channel from a fresh outbound channel.
fn valid_open(s: &Setup) -> OpenChannel {
    s.outbound(&keys(1)).open_channel().unwrap()
}

fn open_err(s: &Setup, open: &OpenChannel) -> ChannelError {
    s.inbound(&keys(2), open)
        .expect_err("open_channel must be refused")
}

fn assert_open_tag(mutate: impl FnOnce(&mut Setup, &mut OpenChannel), tag: &str) {
    let mut s = Setup::new(true);
    let mut open = valid_open(&s);
    // The unmodified message is accepted.
    s.inbound(&keys(2), &open).expect("valid open_channel");
    mutate(&mut s, &mut open);
    let e = open_err(&s, &open);
    assert_eq!(e.tag(), tag, "{e}");
    assert!(e.is_close());
    assert!(e.to_string().starts_with(tag));
}

#[test]
fn bolt2_open_chain_hash() {
    assert_open_tag(
        |_, o| o.chain_hash = ChainHash::BITCOIN,
        "bolt2-open-chain-hash",
    );
}
#[test]
fn bolt2_open_funding_too_small() {
    assert_open_tag(
        |s, _| s.b_config.channel_handshake_limits.min_funding_satoshis = 2_000_000,
        "bolt2-open-funding-too-small",
    );
}
#[test]
fn bolt2_open_funding_too_large() {
    // 2^24 sat without option_support_large_channel.
    assert_open_tag(
        |_, o| o.funding_satoshis = 1 << 24,
        "bolt2-open-funding-too-large",
    );
    // Above our configured limit.
    assert_open_tag(
        |s, _| s.b_config.channel_handshake_limits.max_funding_satoshis = 999_999,
        "bolt2-open-funding-too-large",
    );
}
#[test]
fn bolt2_open_push_too_large() {
    assert_open_tag(
        |_, o| o.push_msat = o.funding_satoshis * 1000 + 1,
        "bolt2-open-push-too-large",
    );
}
#[test]
fn bolt2_open_to_self_delay_too_large() {
    assert_open_tag(
        |_, o| o.to_self_delay = 2017,
        "bolt2-open-to-self-delay-too-large",
    );
}
#[test]
fn bolt2_open_max_accepted_htlcs() {
    assert_open_tag(
        |_, o| o.max_accepted_htlcs = 484,
        "bolt2-open-max-accepted-htlcs",
    );
}
#[test]
fn bolt2_open_max_accepted_htlcs_too_small() {
    assert_open_tag(
        |_, o| o.max_accepted_htlcs = 0,
        "bolt2-open-max-accepted-htlcs-too-small",
    );
}
#[test]
fn bolt2_open_feerate_too_low() {
    assert_open_tag(|_, o| o.feerate_per_kw = 252, "bolt2-open-feerate-too-low");
}
#[test]
fn bolt2_open_feerate_too_high() {
    assert_open_tag(
        |_, o| o.feerate_per_kw = 50_001,
        "bolt2-open-feerate-too-high",
    );
}
#[test]
fn bolt2_open_dust_above_reserve() {
    assert_open_tag(
        |_, o| {
            o.dust_limit_satoshis = 900;
            o.channel_reserve_satoshis = 899;
        },
        "bolt2-open-dust-above-reserve",
    );
}
#[test]
fn bolt2_open_dust_limit_too_small() {
    assert_open_tag(
        |_, o| o.dust_limit_satoshis = 353,
        "bolt2-open-dust-limit-too-small",
    );
}
#[test]
fn bolt2_open_dust_limit_too_large() {
    assert_open_tag(
        |_, o| {
            o.dust_limit_satoshis = 6_000;
            o.channel_reserve_satoshis = 10_000;
        },
        "bolt2-open-dust-limit-too-large",
    );
}
#[test]
fn bolt2_open_reserve_too_large() {
    assert_open_tag(
        |_, o| o.channel_reserve_satoshis = o.funding_satoshis + 1,
        "bolt2-open-reserve-too-large",
    );
    assert_open_tag(
        |s, _| {
            s.b_config
                .channel_handshake_limits
                .max_channel_reserve_satoshis = 999
        },
        "bolt2-open-reserve-too-large",
    );
}
#[test]
fn bolt2_open_htlc_minimum_too_large() {
    assert_open_tag(
        |s, _| s.b_config.channel_handshake_limits.max_htlc_minimum_msat = 0,
        "bolt2-open-htlc-minimum-too-large",
    );
}
#[test]
fn bolt2_open_max_in_flight_too_small() {
    assert_open_tag(
        |s, _| {
            s.b_config
                .channel_handshake_limits
                .min_max_htlc_value_in_flight_msat = u64::MAX
        },
        "bolt2-open-max-in-flight-too-small",
    );
}

#[test]
fn bolt2_open_invalid_pubkey() {
    assert_open_tag(
        |_, o| o.funding_pubkey = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.revocation_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.payment_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.delayed_payment_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.htlc_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.first_per_commitment_point = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
}
#[test]
fn bolt2_open_channel_type_unsupported() {
    // option_anchor_outputs (bit 20), which we do not implement.
    assert_open_tag(
        |_, o| {
            let mut ct = ChannelTypeFeatures::only_static_remote_key();
            ct.set_anchor_outputs_required();
            o.channel_type = Some(ct);
        },
        "bolt2-open-channel-type-unsupported",
    );
    // Anchors when our config refuses them.
    assert_open_tag(
        |s, _| {
            s.b_config
                .channel_handshake_config
                .negotiate_anchors_zero_fee_htlc_tx = false
        },
        "bolt2-open-channel-type-unsupported",
    );
    // An unknown required bit.
    assert_open_tag(
        |_, o| {
            let mut ct = ChannelTypeFeatures::only_static_remote_key();
            ct.set_required_bit(100);
            o.channel_type = Some(ct);
        },
        "bolt2-open-channel-type-unsupported",
    );
}
#[test]
fn bolt2_open_channel_type_absent_means_static_remotekey() {
    let s = Setup::new(true);
    let mut open = valid_open(&s);
    open.channel_type = None;
    let b = s.inbound(&keys(2), &open).unwrap();
    assert_eq!(
        *b.channel_type(),
        ChannelTypeFeatures::only_static_remote_key()
    );
    // ... and without option_static_remotekey in init it is refused.
    let e = InboundV1Channel::new_from_open_channel(
        &s.fees,
        &keys(2),
        &InitFeatures::empty(),
        &open,
        1,
        &s.b_config,
        chain(),
    )
    .unwrap_err();
    assert_eq!(e.tag(), "bolt2-open-channel-type-unsupported");
}
#[test]
fn bolt2_open_shutdown_script_form() {
    assert_open_tag(
        |_, o| o.shutdown_scriptpubkey = Some(ScriptBuf::from_bytes(vec![0x6a, 0x01, 0x00])),
        "bolt2-open-shutdown-script-form",
    );
}
#[test]
fn open_upfront_shutdown_script_allowed_forms_are_kept() {
    let s = Setup::new(true);
    let mut open = valid_open(&s);
    let p2wpkh = ScriptBuf::from_bytes([vec![0x00, 0x14], vec![3u8; 20]].concat());
    open.shutdown_scriptpubkey = Some(p2wpkh);
    s.inbound(&keys(2), &open).unwrap();
    // A taproot (v1) script needs option_shutdown_anysegwit.
    let p2tr = ScriptBuf::from_bytes([vec![0x51, 0x20], vec![3u8; 32]].concat());
    open.shutdown_scriptpubkey = Some(p2tr.clone());
    assert_eq!(open_err(&s, &open).tag(), "bolt2-open-shutdown-script-form");
    let mut f = features(true);
    f.set_shutdown_anysegwit_optional();
    InboundV1Channel::new_from_open_channel(&s.fees, &keys(2), &f, &open, 1, &s.b_config, chain())
        .unwrap();
}
#[test]
fn bolt2_open_funder_cannot_pay_fee() {
    assert_open_tag(
        |_, o| {
            o.funding_satoshis = 20_000;
            o.max_htlc_value_in_flight_msat = 1_000_000;
            o.push_msat = 19_500_000;
        },
        "bolt2-open-funder-cannot-pay-fee",
    );
}
#[test]
fn bolt2_open_balances_below_reserve() {
    assert_open_tag(
        |_, o| {
            o.funding_satoshis = 20_000;
            o.feerate_per_kw = 253;
            // funder keeps 1900 sat, 956 after fee and anchors: <= our 1000 reserve;
            // the fundee gets 18_100 sat: <= the 19_000 reserve the funder asks.
            o.push_msat = 18_100_000;
            o.channel_reserve_satoshis = 19_000;
        },
        "bolt2-open-balances-below-reserve",
    );
}
#[test]
fn policy_open_funder_below_reserve() {
    assert_open_tag(
        |_, o| {
            o.funding_satoshis = 20_000;
            o.feerate_per_kw = 253;
            o.push_msat = 18_100_000;
        },
        "policy-open-funder-below-reserve",
    );
}
#[test]
fn config_inbound_disabled() {
    assert_open_tag(
        |s, _| s.b_config.accept_inbound_channels = false,
        "config-inbound-disabled",
    );
}

// ---------- accept_channel checks ----------

fn assert_accept_tag(mutate: impl FnOnce(&mut AcceptChannel), tag: &str) {
    let s = Setup::new(true);
    let mut a = s.outbound(&keys(1));
    let open = a.open_channel().unwrap();
    let mut accept = s
        .inbound(&keys(2), &open)
        .unwrap()
        .accept_channel()
        .unwrap();
    mutate(&mut accept);
    let e = a
        .accept_channel(&accept)
        .expect_err("accept_channel must be refused");
    assert_eq!(e.tag(), tag, "{e}");
    assert!(e.is_close());
    // Nothing moved: funding_created is still refused.
    let f = a
        .funding_created(&funding_tx(ScriptBuf::new(), s.value), 1)
        .unwrap_err();
    assert_eq!(f.tag(), "api-funding-created-phase");
}

#[test]
fn bolt2_accept_channel_id() {
    assert_accept_tag(
        |m| m.temporary_channel_id = ChannelId([9; 32]),
        "bolt2-accept-channel-id",
    );
}
#[test]
fn bolt2_accept_channel_type_mismatch() {
    assert_accept_tag(
        |m| m.channel_type = Some(ChannelTypeFeatures::only_static_remote_key()),
        "bolt2-accept-channel-type-mismatch",
    );
    assert_accept_tag(
        |m| m.channel_type = None,
        "bolt2-accept-channel-type-mismatch",
    );
}
#[test]
fn bolt2_accept_minimum_depth_too_large() {
    assert_accept_tag(
        |m| m.minimum_depth = 145,
        "bolt2-accept-minimum-depth-too-large",
    );
}
#[test]
fn bolt2_accept_to_self_delay_too_large() {
    assert_accept_tag(
        |m| m.to_self_delay = 2017,
        "bolt2-accept-to-self-delay-too-large",
    );
}
#[test]
fn bolt2_accept_max_accepted_htlcs() {
    assert_accept_tag(
        |m| m.max_accepted_htlcs = 484,
        "bolt2-accept-max-accepted-htlcs",
    );
}
#[test]
fn bolt2_accept_dust_limit_too_small() {
    assert_accept_tag(
        |m| m.dust_limit_satoshis = 353,
        "bolt2-accept-dust-limit-too-small",
    );
}
#[test]
fn bolt2_accept_reserve_too_large() {
    assert_accept_tag(
        |m| m.channel_reserve_satoshis = 1_000_001,
        "bolt2-accept-reserve-too-large",
    );
}
#[test]
fn bolt2_accept_htlc_minimum_too_large() {
    assert_accept_tag(
        |m| m.htlc_minimum_msat = 1_000_000_000,
        "bolt2-accept-htlc-minimum-too-large",
    );
}
#[test]
fn bolt2_accept_reserve_below_our_dust() {
    assert_accept_tag(
        |m| m.channel_reserve_satoshis = 353,
        "bolt2-accept-reserve-below-our-dust",
    );
}
#[test]
fn bolt2_accept_dust_limit_too_large() {
    assert_accept_tag(
        |m| {
            m.dust_limit_satoshis = 6_000;
            m.channel_reserve_satoshis = 20_000;
        },
        "bolt2-accept-dust-limit-too-large",
    );
}
#[test]
fn bolt2_accept_balances_below_reserve() {
    // No push: the fundee has nothing, and the funder's balance after the
    // fee is below the reserve the fundee asks for.
    let mut s = Setup::new(true);
    s.push_msat = 0;
    let mut a = s.outbound(&keys(1));
    let open = a.open_channel().unwrap();
    let mut accept = s
        .inbound(&keys(2), &open)
        .unwrap()
        .accept_channel()
        .unwrap();
    accept.channel_reserve_satoshis = 999_999;
    let e = a.accept_channel(&accept).unwrap_err();
    assert_eq!(e.tag(), "bolt2-accept-balances-below-reserve");
}
#[test]
fn bolt2_accept_invalid_pubkey() {
    assert_accept_tag(
        |m| m.funding_pubkey = bad_point(),
        "bolt2-accept-invalid-pubkey",
    );
    assert_accept_tag(
        |m| m.first_per_commitment_point = bad_point(),
        "bolt2-accept-invalid-pubkey",
    );
}
#[test]
fn bolt2_accept_shutdown_script_form() {
    assert_accept_tag(
        |m| m.shutdown_scriptpubkey = Some(ScriptBuf::from_bytes(vec![0x51])),
        "bolt2-accept-shutdown-script-form",
    );
}

#[test]
fn bolt2_accept_dust_above_our_reserve_small_channel() {
    // A 20_000 sat channel: our reserve is the 1_000 sat floor; a dust
    // limit of 1_500 (allowed by itself) is above it.
    let mut s = Setup::new(true);
    s.value = 20_000;
    s.push_msat = 0;
    let mut a = s.outbound(&keys(1));
    let open = a.open_channel().unwrap();
    assert_eq!(open.channel_reserve_satoshis, 1_000);
    let mut accept = s
        .inbound(&keys(2), &open)
        .unwrap()
        .accept_channel()
        .unwrap();
    accept.dust_limit_satoshis = 1_500;
    accept.channel_reserve_satoshis = 1_500;
    let e = a.accept_channel(&accept).unwrap_err();
    assert_eq!(e.tag(), "bolt2-accept-dust-above-our-reserve");
}

#[test]
fn bolt2_open_funding_above_all_bitcoin_is_refused_without_overflow() {
    // Large channels negotiated and every limit lifted: a 2^24 sat channel
    // is fine, one larger than the money supply is refused (and the msat
    // arithmetic cannot overflow).
    let mut s = Setup::new(true);
    s.b_config.channel_handshake_limits.max_funding_satoshis = u64::MAX;
    s.b_config
        .channel_handshake_limits
        .max_channel_reserve_satoshis = u64::MAX;
    let mut f = features(true);
    f.set_wumbo_optional();
    let mut open = valid_open(&s);
    open.funding_satoshis = 1 << 24;
    InboundV1Channel::new_from_open_channel(&s.fees, &keys(2), &f, &open, 1, &s.b_config, chain())
        .unwrap();
    open.funding_satoshis = u64::MAX / 10;
    let e = InboundV1Channel::new_from_open_channel(
        &s.fees,
        &keys(2),
        &f,
        &open,
        1,
        &s.b_config,
        chain(),
    )
    .unwrap_err();
    assert_eq!(e.tag(), "bolt2-open-funding-too-large");
    assert!(e.to_string().contains("exceeds our limit"), "{e}");
}
