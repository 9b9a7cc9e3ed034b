//! `ChannelManager` with `option_zeroconf` / 0-conf acceptance and
//! `option_scid_alias` on `lnkit::testing::Network`: a trusted 0-conf
//! channel carries a payment before any block is mined, and an
//! scid_alias channel is known, hinted and paid through by aliases only.

use lnkit::chain::ChannelMonitorUpdateStatus;
use lnkit::config::UserConfig;
use lnkit::manager::{ChannelDetails, Event};
use lnkit::testing::Network;
use lnkit::types::{ChannelId, ShortChannelId};

fn details(net: &Network, i: usize, id: &ChannelId) -> ChannelDetails {
    net.node(i)
        .manager
        .list_channels()
        .into_iter()
        .find(|c| c.channel_id == *id)
        .expect("channel listed")
}

fn height(net: &Network) -> u32 {
    net.node(0).manager.current_best_block().height
}

fn invoice(net: &Network, to: usize, msat: u64) -> lnkit::payment::invoice::Bolt11Invoice {
    net.node(to)
        .manager
        .create_bolt11_invoice(Some(msat), "channel types", 3600)
        .expect("invoice")
}

/// Node 0 trusts its own funding; node 1 accepts manually.
fn zero_conf_configs(scid_privacy: bool) -> Vec<UserConfig> {
    let mut a = UserConfig::default();
    a.channel_handshake_limits.trust_own_funding_0conf = true;
    a.channel_handshake_config.negotiate_scid_privacy = scid_privacy;
    let b = UserConfig {
        manually_accept_inbound_channels: true,
        ..Default::default()
    };
    vec![a, b]
}

fn open_trusted_0conf(net: &mut Network) -> ChannelId {
    net.open_channel_with(0, 1, 1_000_000, 0, 0, &|m, temp, node| {
        m.accept_inbound_channel_from_trusted_peer_0conf(temp, node, 7)
    })
}

#[test]
fn trusted_zero_conf_channel_pays_before_any_block() {
    let mut net = Network::with_configs(zero_conf_configs(false));
    let start = height(&net);
    let id = open_trusted_0conf(&mut net);
    assert_eq!(height(&net), start, "no block was mined");
    let (a, b) = (details(&net, 0, &id), details(&net, 1, &id));
    assert!(a.is_usable && b.is_usable);
    assert_eq!(b.user_channel_id, 7);
    // Unconfirmed: no real scid yet, only the aliases each side gave.
    assert_eq!(a.short_channel_id, None);
    assert!(a.outbound_scid_alias.is_some() && a.inbound_scid_alias.is_some());
    assert_eq!(a.outbound_scid_alias, b.inbound_scid_alias);
    assert_eq!(a.inbound_scid_alias, b.outbound_scid_alias);
    // A payment over the unconfirmed channel (first hop by alias).
    let inv = invoice(&net, 1, 25_000);
    net.pay_invoice(0, &inv).expect("paid unconfirmed");
    assert_eq!(net.balance_msat(1, &id), 25_000);
    assert_eq!(height(&net), start);
    // The funding confirms: the channel learns its real scid and keeps paying.
    let funding = a.funding_txo.expect("funding outpoint");
    net.mine(1);
    let real = ShortChannelId::new(start + 1, 1, funding.vout as u16).unwrap();
    assert_eq!(details(&net, 0, &id).short_channel_id, Some(real));
    assert_eq!(details(&net, 1, &id).short_channel_id, Some(real));
    let inv = invoice(&net, 1, 5_000);
    net.pay_invoice(0, &inv).expect("paid confirmed");
    assert_eq!(net.balance_msat(1, &id), 30_000);
}

/// Node 0 funds its channel `temp` to node 1 (after
/// `FundingGenerationReady`) and pumps.
fn fund(net: &mut Network, temp: &ChannelId) {
    let script = net
        .take_events(0)
        .into_iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady {
                temporary_channel_id,
                output_script,
                ..
            } if temporary_channel_id == *temp => Some(output_script),
            _ => None,
        })
        .expect("FundingGenerationReady");
    let tx = lnkit::bitcoin::Transaction {
        version: lnkit::bitcoin::transaction::Version::TWO,
        lock_time: lnkit::bitcoin::absolute::LockTime::ZERO,
        input: vec![lnkit::bitcoin::TxIn {
            previous_output: lnkit::bitcoin::OutPoint::new(
                <lnkit::bitcoin::Txid as lnkit::bitcoin::hashes::Hash>::from_byte_array([9; 32]),
                0,
            ),
            ..Default::default()
        }],
        output: vec![lnkit::bitcoin::TxOut {
            value: lnkit::bitcoin::Amount::from_sat(1_000_000),
            script_pubkey: script,
        }],
    };
    let bid = net.node(1).node_id;
    net.node(0)
        .manager
        .funding_transaction_generated(temp, &bid, tx)
        .unwrap();
    net.pump();
}

/// Node 0 opens a 1,000,000 sat channel to node 1, which accepts it
/// trusting 0 confirmations. Returns the temporary id.
fn request_and_trust(net: &mut Network) -> ChannelId {
    net.connect(0, 1);
    let bid = net.node(1).node_id;
    let temp = net
        .node(0)
        .manager
        .create_channel(bid, 1_000_000, 0, 0, None)
        .unwrap();
    net.pump();
    let events = net.take_events(1);
    assert!(events.iter().any(|e| matches!(e,
        Event::OpenChannelRequest { temporary_channel_id, .. } if *temporary_channel_id == temp)));
    let aid = net.node(0).node_id;
    net.node(1)
        .manager
        .accept_inbound_channel_from_trusted_peer_0conf(&temp, &aid, 0)
        .unwrap();
    net.pump();
    temp
}

fn saw_ready(net: &mut Network, i: usize) -> bool {
    net.take_events(i)
        .iter()
        .any(|e| matches!(e, Event::ChannelReady { .. }))
}

#[test]
fn zero_conf_channel_ready_waits_for_the_monitor() {
    // Persist before we speak: with node 1's monitor persistence in
    // progress, neither funding_signed nor channel_ready leaves it.
    let mut net = Network::with_configs(zero_conf_configs(false));
    let start = height(&net);
    let temp = request_and_trust(&mut net);
    net.node(1)
        .persister
        .set_status(ChannelMonitorUpdateStatus::InProgress);
    fund(&mut net, &temp);
    assert!(!saw_ready(&mut net, 0) && !saw_ready(&mut net, 1));
    assert!(net.node(0).manager.list_usable_channels().is_empty());
    net.node(1)
        .persister
        .set_status(ChannelMonitorUpdateStatus::Completed);
    net.complete_persistence(1);
    net.pump();
    assert!(saw_ready(&mut net, 0) && saw_ready(&mut net, 1));
    assert_eq!(height(&net), start);
    let inv = invoice(&net, 1, 3_000);
    net.pay_invoice(0, &inv).expect("paid unconfirmed");
}

#[test]
fn untrusted_funder_waits_one_confirmation_despite_minimum_depth_zero() {
    // Node 1 trusts node 0 (asks minimum_depth 0) but node 0 neither
    // proposed zeroconf nor trusts its own funding: it waits for 1 block.
    let mut configs = zero_conf_configs(false);
    configs[0].channel_handshake_limits.trust_own_funding_0conf = false;
    let mut net = Network::with_configs(configs);
    let temp = request_and_trust(&mut net);
    fund(&mut net, &temp);
    assert!(!saw_ready(&mut net, 0) && !saw_ready(&mut net, 1));
    assert!(net.node(0).manager.list_usable_channels().is_empty());
    net.mine(1);
    assert!(saw_ready(&mut net, 0) && saw_ready(&mut net, 1));
    assert_eq!(net.node(0).manager.list_usable_channels().len(), 1);
}

#[test]
fn plain_accept_keeps_the_configured_depth() {
    // accept_inbound_channel (untrusted) keeps the configured depth.
    let mut configs = zero_conf_configs(false);
    configs[1].channel_handshake_config.minimum_depth = 2;
    let mut net = Network::with_configs(configs);
    let start = height(&net);
    let id = net.open_channel_with(0, 1, 1_000_000, 0, 2, &|m, temp, node| {
        m.accept_inbound_channel(temp, node, 0)
    });
    assert_eq!(height(&net), start + 2);
    assert!(details(&net, 0, &id).is_usable);
}

#[test]
fn scid_alias_channel_pays_using_only_aliases() {
    let mut cfg = UserConfig::default();
    cfg.channel_handshake_config.negotiate_scid_privacy = true;
    let mut net = Network::with_configs(vec![cfg, UserConfig::default()]);
    let start = height(&net);
    // Node 1 starts with 500,000 sat so it can pay back above its reserve.
    let id = net.open_channel(0, 1, 1_000_000, 500_000_000);
    let (a, b) = (details(&net, 0, &id), details(&net, 1, &id));
    for d in [&a, &b] {
        let ct = d.channel_type.as_ref().expect("type");
        assert!(ct.requires_scid_privacy() && !ct.supports_zero_conf());
        // Confirmed, yet the real scid is not exposed.
        assert_eq!(d.short_channel_id, None);
        assert!(d.inbound_scid_alias.is_some() && d.outbound_scid_alias.is_some());
    }
    assert_eq!(a.outbound_scid_alias, b.inbound_scid_alias);
    let real = ShortChannelId::new(start + 1, 1, a.funding_txo.unwrap().vout as u16).unwrap();
    // Node 1's invoice hints the alias node 0 gave it, never the real scid
    // (BOLT 2: "MUST NOT use the real `short_channel_id` in BOLT 11 `r`
    // fields").
    let inv = invoice(&net, 1, 40_000);
    let hints: Vec<ShortChannelId> = inv
        .route_hints()
        .flat_map(|h| h.0.iter().map(|hop| hop.short_channel_id))
        .collect();
    assert_eq!(hints, vec![b.inbound_scid_alias.unwrap()]);
    assert!(!hints.contains(&real));
    net.pay_invoice(0, &inv).expect("paid by alias");
    assert_eq!(net.balance_msat(1, &id), 500_040_000);
    // And back.
    let inv = invoice(&net, 0, 10_000);
    assert!(inv.route_hints().all(|h| h.0[0].short_channel_id != real));
    net.pay_invoice(1, &inv).expect("paid back by alias");
    assert_eq!(net.balance_msat(1, &id), 500_030_000);
}

#[test]
fn scid_alias_not_proposed_unless_configured() {
    // Without negotiate_scid_privacy the real scid is exposed as before.
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let a = details(&net, 0, &id);
    assert!(!a.channel_type.unwrap().supports_scid_privacy());
    assert!(a.short_channel_id.is_some());
    // Invoices hint the peer's alias (what the peer recognizes).
    let inv = invoice(&net, 1, 1_000);
    let b = details(&net, 1, &id);
    assert_eq!(
        inv.route_hints().next().unwrap().0[0].short_channel_id,
        b.inbound_scid_alias.unwrap()
    );
    net.pay_invoice(0, &inv).unwrap();
}

#[test]
fn zero_conf_scid_alias_channel_stays_alias_only_after_confirmation() {
    let mut net = Network::with_configs(zero_conf_configs(true));
    let start = height(&net);
    let id = open_trusted_0conf(&mut net);
    assert_eq!(height(&net), start);
    let inv = invoice(&net, 1, 12_000);
    net.pay_invoice(0, &inv).expect("paid unconfirmed");
    net.mine(3);
    let (a, b) = (details(&net, 0, &id), details(&net, 1, &id));
    assert!(a.channel_type.unwrap().requires_scid_privacy());
    assert_eq!((a.short_channel_id, b.short_channel_id), (None, None));
    let inv = invoice(&net, 1, 13_000);
    net.pay_invoice(0, &inv).expect("paid confirmed, by alias");
    assert_eq!(net.balance_msat(1, &id), 25_000);
    // After a restart the payer still finds the channel by alias only.
    net.restart(0);
    net.connect(0, 1);
    let a2 = details(&net, 0, &id);
    assert_eq!(a2.short_channel_id, None);
    assert_eq!(a2.outbound_scid_alias, a.outbound_scid_alias);
    assert!(a2.is_usable);
    let inv = invoice(&net, 1, 1_000);
    net.pay_invoice(0, &inv)
        .expect("paid after restart, by alias");
    assert_eq!(net.balance_msat(1, &id), 26_000);
}
