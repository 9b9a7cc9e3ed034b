//! BOLT 2 `channel_type` variations `option_scid_alias` (bit 46) and
//! `option_zeroconf` (bit 50) in v1 establishment: which types are
//! accepted, the announced-channel and trust rules (one test per tag),
//! `minimum_depth = 0` on both sides and the alias `channel_ready` must
//! carry.

mod establish_common;

use establish_common::*;
use lnkit::channel::establish::{
    ChannelError, FundedChannel, InboundV1Channel, OutboundV1Channel, PendingV1Channel,
};
use lnkit::config::UserConfig;
use lnkit::msgs::features::{ChannelTypeFeatures, InitFeatures};
use lnkit::msgs::OpenChannel;
use lnkit::types::ShortChannelId;

/// Init features of a peer offering anchors, scid_alias and zeroconf.
fn peer_features() -> InitFeatures {
    let mut f = features(true);
    f.set_scid_privacy_optional();
    f.set_zero_conf_optional();
    f
}

fn ct(anchors: bool, scid_alias: bool, zero_conf: bool) -> ChannelTypeFeatures {
    let mut t = if anchors {
        ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies()
    } else {
        ChannelTypeFeatures::only_static_remote_key()
    };
    if scid_alias {
        t.set_scid_privacy_required();
    }
    if zero_conf {
        t.set_zero_conf_required();
    }
    t
}

fn outbound(config: &UserConfig, their: &InitFeatures) -> OutboundV1Channel {
    let ka = keys(1);
    OutboundV1Channel::new(&FEES, &ka, &ka, their, 1_000_000, 0, 42, config, chain())
        .expect("outbound channel")
}

fn inbound(open: &OpenChannel, config: &UserConfig) -> Result<InboundV1Channel, ChannelError> {
    InboundV1Channel::new_from_open_channel(
        &FEES,
        &keys(2),
        &peer_features(),
        open,
        43,
        config,
        chain(),
    )
}

/// A plain `open_channel` from node 1 with `channel_type` replaced.
fn open_with(t: Option<ChannelTypeFeatures>, announced: bool) -> OpenChannel {
    let a = outbound(&UserConfig::default(), &peer_features());
    let mut open = a.open_channel().unwrap();
    open.channel_type = t;
    open.channel_flags = announced as u8;
    wire_open(open)
}

fn tag<T>(r: Result<T, ChannelError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.tag(),
    }
}

#[test]
fn defined_channel_type_variations_are_accepted() {
    for anchors in [false, true] {
        for scid_alias in [false, true] {
            for zero_conf in [false, true] {
                let t = ct(anchors, scid_alias, zero_conf);
                let chan = inbound(&open_with(Some(t.clone()), false), &UserConfig::default())
                    .unwrap_or_else(|e| panic!("{t:?} refused: {e}"));
                assert_eq!(chan.channel_type(), &t);
                assert_eq!(chan.negotiated_scid_alias(), scid_alias);
                assert_eq!(chan.negotiated_zero_conf(), zero_conf);
            }
        }
    }
}

#[test]
fn bolt2_open_channel_type_unsupported_variations() {
    let mut odd_alias = ChannelTypeFeatures::only_static_remote_key();
    odd_alias.set_scid_privacy_optional();
    let mut odd_zero_conf = ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies();
    odd_zero_conf.set_zero_conf_optional();
    let mut alias_only = ChannelTypeFeatures::empty();
    alias_only.set_scid_privacy_required();
    let mut zero_conf_only = ChannelTypeFeatures::empty();
    zero_conf_only.set_zero_conf_required();
    let mut extra = ct(false, true, true);
    extra.set_bit(48, true);
    for t in [odd_alias, odd_zero_conf, alias_only, zero_conf_only, extra] {
        assert_eq!(
            tag(inbound(
                &open_with(Some(t.clone()), false),
                &UserConfig::default()
            )),
            "bolt2-open-channel-type-unsupported",
            "{t:?}"
        );
    }
    // Anchors variations need anchors allowed.
    let mut no_anchors = UserConfig::default();
    no_anchors
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = false;
    assert_eq!(
        tag(inbound(
            &open_with(Some(ct(true, true, false)), false),
            &no_anchors
        )),
        "bolt2-open-channel-type-unsupported"
    );
    assert_eq!(
        tag(inbound(
            &open_with(Some(ct(false, true, false)), false),
            &no_anchors
        )),
        "ok"
    );
}

#[test]
fn bolt2_open_scid_alias_announced() {
    for zero_conf in [false, true] {
        assert_eq!(
            tag(inbound(
                &open_with(Some(ct(true, true, zero_conf)), true),
                &UserConfig::default()
            )),
            "bolt2-open-scid-alias-announced"
        );
    }
    // Announced without the alias bit is fine.
    assert_eq!(
        tag(inbound(
            &open_with(Some(ct(true, false, false)), true),
            &UserConfig::default()
        )),
        "ok"
    );
}

#[test]
fn bolt2_open_zeroconf_untrusted() {
    let open = open_with(Some(ct(true, true, true)), false);
    let chan = inbound(&open, &UserConfig::default()).expect("type accepted");
    assert!(!chan.is_trusted_zero_conf());
    assert_eq!(tag(chan.accept_channel()), "bolt2-open-zeroconf-untrusted");
    let err = chan.accept_channel().unwrap_err();
    assert!(err.is_close());
    // Trusted: accepted with minimum_depth 0 ("MUST set `minimum_depth` to
    // zero") and the same channel_type echoed.
    let mut chan = inbound(&open, &UserConfig::default()).unwrap();
    chan.trust_zero_conf();
    let accept = chan.accept_channel().expect("trusted zero-conf");
    assert_eq!(accept.minimum_depth, 0);
    assert_eq!(accept.channel_type, Some(ct(true, true, true)));
}

#[test]
fn trusted_peer_without_zeroconf_type_gets_minimum_depth_zero() {
    let open = open_with(Some(ct(true, false, false)), false);
    let mut chan = inbound(&open, &UserConfig::default()).unwrap();
    assert_eq!(chan.accept_channel().unwrap().minimum_depth, 6);
    chan.trust_zero_conf();
    assert_eq!(chan.accept_channel().unwrap().minimum_depth, 0);
}

#[test]
fn outbound_proposes_scid_alias_when_configured_supported_and_private() {
    let mut config = UserConfig::default();
    // Not configured: not proposed.
    assert!(!outbound(&config, &peer_features()).negotiated_scid_alias());
    config.channel_handshake_config.negotiate_scid_privacy = true;
    let a = outbound(&config, &peer_features());
    assert!(a.negotiated_scid_alias());
    assert_eq!(a.channel_type(), &ct(true, true, false));
    assert_eq!(
        a.open_channel().unwrap().channel_type,
        Some(ct(true, true, false))
    );
    // The peer does not offer option_scid_alias: not proposed.
    assert!(!outbound(&config, &features(true)).negotiated_scid_alias());
    // Announced: BOLT 2 "MUST NOT send `channel_type` with the
    // `option_scid_alias` bit set".
    config.channel_handshake_config.announced_channel = true;
    let a = outbound(&config, &peer_features());
    assert!(!a.negotiated_scid_alias());
    assert_eq!(a.open_channel().unwrap().channel_flags & 1, 1);
}

#[test]
fn api_peer_no_zero_conf() {
    let mut a = outbound(&UserConfig::default(), &features(true));
    assert_eq!(tag(a.propose_zero_conf()), "api-peer-no-zero-conf");
    assert!(!a.negotiated_zero_conf());
    let mut a = outbound(&UserConfig::default(), &peer_features());
    a.propose_zero_conf().unwrap();
    assert!(a.negotiated_zero_conf());
}

struct Pair {
    pa: PendingV1Channel,
    pb: PendingV1Channel,
}

/// Open → accept → funding, through the codec; `trust` makes node 2 trust
/// node 1 with 0 confirmations.
fn establish(a_config: &UserConfig, zero_conf: bool, trust: bool) -> Pair {
    let mut a = outbound(a_config, &peer_features());
    if zero_conf {
        a.propose_zero_conf().unwrap();
    }
    let open = wire_open(a.open_channel().unwrap());
    let mut b = inbound(&open, &UserConfig::default()).expect("open accepted");
    if trust {
        b.trust_zero_conf();
    }
    let accept = wire_accept(b.accept_channel().expect("accept_channel"));
    a.accept_channel(&accept).expect("accept_channel accepted");
    let funding = funding_tx(a.funding_script_pubkey().unwrap(), 1_000_000);
    let created = wire_created(a.funding_created(&funding, 1).unwrap());
    let (pb, signed, _) = b.funding_created(&created, best()).unwrap();
    let (pa, _) = a.funding_signed(&wire_signed(signed), best()).unwrap();
    Pair { pa, pb }
}

/// Both `channel_ready` at `confs` confirmations, then both funded.
fn exchange_ready(mut p: Pair, confs: u32) -> (FundedChannel, FundedChannel) {
    p.pa.set_outbound_scid_alias(ShortChannelId(0x1111));
    p.pb.set_outbound_scid_alias(ShortChannelId(0x2222));
    let ra = wire_ready(p.pa.check_funding_depth(confs).unwrap().expect("a ready"));
    let rb = wire_ready(p.pb.check_funding_depth(confs).unwrap().expect("b ready"));
    assert_eq!(ra.short_channel_id, Some(ShortChannelId(0x1111)));
    assert_eq!(rb.short_channel_id, Some(ShortChannelId(0x2222)));
    p.pa.channel_ready_received(&rb).unwrap();
    p.pb.channel_ready_received(&ra).unwrap();
    (
        p.pa.into_funded().expect("a funded"),
        p.pb.into_funded().expect("b funded"),
    )
}

#[test]
fn zero_conf_channel_is_ready_at_zero_confirmations() {
    let mut config = UserConfig::default();
    config.channel_handshake_config.negotiate_scid_privacy = true;
    let p = establish(&config, true, true);
    assert_eq!(p.pa.minimum_depth(), 0);
    assert_eq!(p.pb.minimum_depth(), 0);
    for c in [&p.pa, &p.pb] {
        assert!(c.negotiated_zero_conf() && c.negotiated_scid_alias());
        assert_eq!(c.channel_type(), &ct(true, true, true));
    }
    let (a, b) = exchange_ready(p, 0);
    for f in [&a, &b] {
        assert!(f.negotiated_zero_conf() && f.negotiated_scid_alias());
    }
    assert_eq!(a.counterparty_scid_alias, Some(ShortChannelId(0x2222)));
    assert_eq!(b.counterparty_scid_alias, Some(ShortChannelId(0x1111)));
}

#[test]
fn outbound_minimum_depth_zero_needs_zeroconf_type_or_own_trust() {
    // The acceptor trusts us and asks for 0, but we proposed no zeroconf
    // type and do not trust our own funding: we wait for 1 confirmation.
    let p = establish(&UserConfig::default(), false, true);
    assert_eq!(p.pb.minimum_depth(), 0);
    assert_eq!(p.pa.minimum_depth(), 1);
    let mut pa = p.pa;
    assert_eq!(pa.check_funding_depth(0).unwrap(), None);
    assert!(pa.check_funding_depth(1).unwrap().is_some());
    assert!(!pa.negotiated_zero_conf());
    // trust_own_funding_0conf honours the 0.
    let mut config = UserConfig::default();
    config.channel_handshake_limits.trust_own_funding_0conf = true;
    let p = establish(&config, false, true);
    assert_eq!(p.pa.minimum_depth(), 0);
    let (a, b) = exchange_ready(p, 0);
    assert!(!a.negotiated_zero_conf() && !b.negotiated_scid_alias());
}

#[test]
fn bolt2_channel_ready_alias_required() {
    let mut config = UserConfig::default();
    config.channel_handshake_config.negotiate_scid_privacy = true;
    let mut p = establish(&config, false, false);
    assert!(p.pa.negotiated_scid_alias() && !p.pa.negotiated_zero_conf());
    let depth = p.pb.minimum_depth();
    // "if `option_scid_alias` was negotiated: MUST set `short_channel_id`
    // `alias`": no alias, no channel_ready.
    assert_eq!(
        tag(p.pb.check_funding_depth(depth)),
        "bolt2-channel-ready-alias-required"
    );
    assert!(!p.pb.our_ready_sent());
    assert_eq!(
        tag(p.pa.channel_ready_message()),
        "bolt2-channel-ready-alias-required"
    );
    let (a, _) = exchange_ready(p, depth);
    assert!(a.negotiated_scid_alias());
}
