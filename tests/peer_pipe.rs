//! Two `PeerManager`s over an in-memory pipe: handshake, init, ping/pong,
//! delivery of every message type to the right handler, gossip relay with
//! `gossip_timestamp_filter`, initial sync, and the handshake cap.

mod peer_common;
use lnkit::codec::sample::SampleRng;
use lnkit::events::MessageSendEvent;
use lnkit::msgs::*;
use lnkit::peer::pipe::PipeDescriptor;
use lnkit::peer::{PeerHandleError, PeerManagerConfig};
use peer_common::*;

#[test]
fn peer_handshake_init_and_ping_pong() {
    let a = node(1);
    let b = node(2);
    let (da, db) = connect(&a, &b);
    let pa = a.pm.list_peers();
    let pb = b.pm.list_peers();
    assert_eq!(pa.len(), 1);
    assert_eq!(pa[0].counterparty_node_id, b.id);
    assert!(!pa[0].is_inbound_connection);
    assert_eq!(pb[0].counterparty_node_id, a.id);
    assert!(pb[0].is_inbound_connection);
    assert_eq!(*a.h.connected.lock().unwrap(), vec![(b.id, false)]);
    assert_eq!(*b.h.connected.lock().unwrap(), vec![(a.id, true)]);
    // Several ticks with answered pings keep both connected.
    for _ in 0..5 {
        a.pm.timer_tick_occurred();
        b.pm.timer_tick_occurred();
        assert!(pump(&a, &b, &da, &db));
    }
    assert_eq!(a.pm.list_peers().len(), 1);
    assert_eq!(b.pm.list_peers().len(), 1);
    assert!(!da.is_disconnected() && !db.is_disconnected());
}

#[test]
fn peer_every_message_type_reaches_its_handler() {
    let a = node(3);
    let b = node(4);
    let (da, db) = connect(&a, &b);
    let mut g = SampleRng::new(42);
    let mut expected = Vec::new();
    for msg in Message::sample_each(&mut g) {
        let who = match &msg {
            // Handled by the PeerManager itself.
            Message::Init(_) | Message::Ping(_) | Message::Pong(_) | Message::Warning(_) => {
                continue
            }
            Message::GossipTimestampFilter(_) => continue,
            Message::Error(e) if e.channel_id.is_all() => continue,
            Message::Error(_) => "chan",
            Message::OnionMessage(_) => "onion",
            m if m.is_gossip() => "route",
            Message::QueryChannelRange(_)
            | Message::ReplyChannelRange(_)
            | Message::QueryShortChannelIds(_)
            | Message::ReplyShortChannelIdsEnd(_) => "route",
            _ => "chan",
        };
        expected.push(format!("{who}:{}", msg.name()));
        a.h.events
            .lock()
            .unwrap()
            .push(MessageSendEvent::SendMessage { node_id: b.id, msg });
    }
    a.h.custom_out
        .lock()
        .unwrap()
        .push((b.id, CUSTOM_ODD, vec![1; 1000]));
    a.h.custom_out
        .lock()
        .unwrap()
        .push((b.id, CUSTOM_EVEN, vec![2; 10]));
    expected.push(format!("custom:{CUSTOM_ODD}:1000"));
    expected.push(format!("custom:{CUSTOM_EVEN}:10"));
    assert!(pump(&a, &b, &da, &db));
    assert_eq!(b.h.seen(), expected);
    assert!(expected.len() > 45, "sample_each covers every type");
    assert_eq!(b.pm.list_peers().len(), 1);
}

#[test]
fn peer_init_unknown_even_feature_disconnects_with_error() {
    let a = node(5);
    let b = node(6);
    let mut f = InitFeatures::empty();
    f.set_required_bit(200);
    *a.h.features.lock().unwrap() = Some(f);
    let da = PipeDescriptor::new(next_id());
    let db = PipeDescriptor::new(next_id());
    let act1 =
        a.pm.new_outbound_connection(b.id, da.clone(), None)
            .unwrap();
    b.pm.new_inbound_connection(db.clone(), None).unwrap();
    let mut d = db.clone();
    b.pm.read_event(&mut d, &act1).unwrap();
    assert!(!pump(&a, &b, &da, &db));
    assert!(b.logger.has("bolt1-init-unknown-even-feature"));
    assert!(b.pm.list_peers().is_empty());
    assert!(a.pm.list_peers().is_empty());
    assert!(
        b.h.connected.lock().unwrap().is_empty(),
        "handlers told only after a good init"
    );
}

#[test]
fn peer_init_no_common_chain_disconnects() {
    let a = node(7);
    let b = node(8);
    *a.h.chains.lock().unwrap() = Some(vec![
        lnkit::bitcoin::blockdata::constants::ChainHash::BITCOIN,
    ]);
    let da = PipeDescriptor::new(next_id());
    let db = PipeDescriptor::new(next_id());
    let act1 =
        a.pm.new_outbound_connection(b.id, da.clone(), None)
            .unwrap();
    b.pm.new_inbound_connection(db.clone(), None).unwrap();
    let mut d = db.clone();
    b.pm.read_event(&mut d, &act1).unwrap();
    pump(&a, &b, &da, &db);
    assert!(
        a.logger.has("bolt1-init-no-common-chain") || b.logger.has("bolt1-init-no-common-chain")
    );
    assert!(a.pm.list_peers().is_empty() && b.pm.list_peers().is_empty());
}

#[test]
fn peer_unknown_odd_ignored_unknown_even_disconnects() {
    let a = node(9);
    let b = node(10);
    let (da, db) = connect(&a, &b);
    // 32771 is odd and nobody claims it: ignored.
    a.h.custom_out
        .lock()
        .unwrap()
        .push((b.id, 32771, vec![0; 5]));
    assert!(pump(&a, &b, &da, &db));
    assert_eq!(b.pm.list_peers().len(), 1);
    // 32770 is even and unclaimed: BOLT 1 says close the connection.
    a.h.custom_out
        .lock()
        .unwrap()
        .push((b.id, 32770, vec![0; 5]));
    assert!(!pump(&a, &b, &da, &db));
    assert!(b.logger.has("bolt1-unknown-even-type"));
    assert!(b.pm.list_peers().is_empty());
    assert!(a.pm.list_peers().is_empty());
    assert_eq!(*b.h.disconnected.lock().unwrap(), vec![a.id]);
}

#[test]
fn peer_error_for_all_channels_disconnects() {
    let a = node(11);
    let b = node(12);
    let (da, db) = connect(&a, &b);
    let msg = Message::Error(ErrorMessage::new(lnkit::types::ChannelId::ALL, "bye"));
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage { node_id: b.id, msg });
    pump(&a, &b, &da, &db);
    assert!(b.h.saw("chan:error"));
    assert!(b.pm.list_peers().is_empty());
}

#[test]
fn peer_ping_with_large_num_pong_bytes_is_not_answered_and_pong_length_checked() {
    let a = node(13);
    let b = node(14);
    let (da, db) = connect(&a, &b);
    let ping = |n: u16| {
        Message::Ping(Ping {
            num_pong_bytes: n,
            ignored: lnkit::codec::WithU16Len(vec![]),
            unknown_tlvs: Default::default(),
        })
    };
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: b.id,
            msg: ping(65532),
        });
    a.pm.process_events();
    let mut d = db.clone();
    b.pm.read_event(&mut d, &da.take()).unwrap();
    assert_eq!(db.pending(), 0, "no pong for num_pong_bytes >= 65532");
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: b.id,
            msg: ping(100),
        });
    a.pm.process_events();
    b.pm.read_event(&mut d, &da.take()).unwrap();
    assert_eq!(db.pending(), 18 + 2 + 2 + 100 + 16, "pong of 100 bytes");
    // Deliver that pong (unsolicited for a: ignored).
    let mut d = da.clone();
    a.pm.read_event(&mut d, &db.take()).unwrap();
    // A pong of the wrong length, while we wait for one, disconnects.
    a.pm.timer_tick_occurred(); // a pings b with num_pong_bytes 0
    da.take();
    b.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: a.id,
            msg: Message::Pong(Pong {
                ignored: lnkit::codec::WithU16Len(vec![0; 3]),
                unknown_tlvs: Default::default(),
            }),
        });
    b.pm.process_events();
    let mut d = da.clone();
    assert_eq!(
        a.pm.read_event(&mut d, &db.take()),
        Err(PeerHandleError::Protocol("bolt1-pong-length"))
    );
}

#[test]
fn peer_gossip_relay_honours_timestamp_filter_and_initial_sync() {
    let a = node(15);
    let hub = node(16);
    let c = node(17);
    hub.h
        .relay_gossip
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (da, dh1) = connect(&a, &hub);
    let (dc, dh2) = connect(&c, &hub);
    let mut g = SampleRng::new(7);
    let mut upd: ChannelUpdate = lnkit::codec::sample::Sample::sample(&mut g);
    upd.timestamp = 1000;
    // No filter, no gossip_queries: relayed to c.
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: hub.id,
            msg: Message::ChannelUpdate(upd.clone()),
        });
    pump(&a, &hub, &da, &dh1);
    pump(&c, &hub, &dc, &dh2);
    assert!(hub.h.saw("route:channel_update"));
    assert!(c.h.saw("route:channel_update"));
    assert!(
        !a.h.saw("route:channel_update"),
        "not sent back to its source"
    );
    // c asks only for timestamps in [5000, 6000): the hub's graph is synced
    // through the filter, and later gossip outside it is not relayed.
    let mut ann: ChannelAnnouncement = lnkit::codec::sample::Sample::sample(&mut g);
    ann.short_channel_id = lnkit::types::ShortChannelId(5);
    let mut u_in = upd.clone();
    u_in.timestamp = 5500;
    hub.h.graph.lock().unwrap().push((ann, Some(u_in), None));
    let filter = GossipTimestampFilter {
        chain_hash: lnkit::bitcoin::blockdata::constants::ChainHash::REGTEST,
        first_timestamp: 5000,
        timestamp_range: 1000,
        unknown_tlvs: Default::default(),
    };
    c.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: hub.id,
            msg: Message::GossipTimestampFilter(filter),
        });
    c.h.seen.lock().unwrap().clear();
    pump(&c, &hub, &dc, &dh2);
    assert_eq!(
        c.h.seen(),
        vec!["route:channel_announcement", "route:channel_update"]
    );
    c.h.seen.lock().unwrap().clear();
    upd.timestamp = 2000;
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: hub.id,
            msg: Message::ChannelUpdate(upd.clone()),
        });
    pump(&a, &hub, &da, &dh1);
    pump(&c, &hub, &dc, &dh2);
    assert!(c.h.seen().is_empty(), "filtered out");
    upd.timestamp = 5999;
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: hub.id,
            msg: Message::ChannelUpdate(upd),
        });
    pump(&a, &hub, &da, &dh1);
    pump(&c, &hub, &dc, &dh2);
    assert_eq!(c.h.seen(), vec!["route:channel_update"]);
}

#[test]
fn peer_handshake_cap_refuses_extra_inbound() {
    let cfg = PeerManagerConfig {
        max_pending_handshakes: 2,
        ..Default::default()
    };
    let b = node_with(18, cfg);
    b.pm.new_inbound_connection(PipeDescriptor::new(next_id()), None)
        .unwrap();
    b.pm.new_inbound_connection(PipeDescriptor::new(next_id()), None)
        .unwrap();
    assert_eq!(
        b.pm.new_inbound_connection(PipeDescriptor::new(next_id()), None),
        Err(PeerHandleError::TooManyPendingHandshakes)
    );
    // Stuck handshakes are dropped after two ticks, freeing the slots.
    b.pm.timer_tick_occurred();
    b.pm.timer_tick_occurred();
    b.pm.new_inbound_connection(PipeDescriptor::new(next_id()), None)
        .unwrap();
}

#[test]
fn peer_broadcast_node_announcement_is_signed_and_sent() {
    let a = node(19);
    let b = node(20);
    let (da, db) = connect(&a, &b);
    let mut alias = [0u8; 32];
    alias[..4].copy_from_slice(b"test");
    a.pm.broadcast_node_announcement(
        [1, 2, 3],
        alias,
        vec![SocketAddress::TcpIpV4 {
            addr: [127, 0, 0, 1],
            port: 9735,
        }],
    );
    pump(&a, &b, &da, &db);
    assert!(b.h.saw("route:node_announcement"));
    assert_signed_by(&b.h.received_nodes.lock().unwrap()[0], &a.id);
}

/// BOLT 7: the signature covers the double-SHA256 of the rest of the message.
fn assert_signed_by(n: &NodeAnnouncement, id: &lnkit::bitcoin::secp256k1::PublicKey) {
    let secp = lnkit::bitcoin::secp256k1::Secp256k1::verification_only();
    let m = lnkit::bitcoin::secp256k1::Message::from_digest(n.signed_hash());
    secp.verify_ecdsa(&m, &n.signature.to_signature().unwrap(), id)
        .expect("valid signature");
    assert_eq!(n.node_id, lnkit::types::Point::from(*id));
}

#[test]
fn peer_manager_with_node_signer_interoperates() {
    use lnkit::peer::{IgnoringMessageHandler, MessageHandler, PeerManager};
    use lnkit::sign::{KeysManager, NodeSigner, Recipient};
    use std::sync::Arc;
    let keys = Arc::new(KeysManager::new(&[9; 32], 1, 2));
    let handlers = MessageHandler {
        chan_handler: Arc::new(lnkit::peer::ErroringMessageHandler::new()),
        route_handler: Arc::new(IgnoringMessageHandler),
        onion_message_handler: Arc::new(IgnoringMessageHandler),
        custom_message_handler: Arc::new(IgnoringMessageHandler),
    };
    let pm: PeerManager<PipeDescriptor> = PeerManager::with_signer(
        handlers,
        keys.clone(),
        keys.clone(),
        Arc::new(lnkit::logger::NullLogger),
        PeerManagerConfig::default(),
    )
    .unwrap();
    assert_eq!(pm.node_id(), keys.node_id(Recipient::Node).unwrap());
    let b = node(21);
    // The signer-backed manager dials b; b answers; both finish init.
    let da = PipeDescriptor::new(next_id());
    let db = PipeDescriptor::new(next_id());
    let act1 = pm.new_outbound_connection(b.id, da.clone(), None).unwrap();
    b.pm.new_inbound_connection(db.clone(), None).unwrap();
    let (mut dda, mut ddb) = (da.clone(), db.clone());
    b.pm.read_event(&mut ddb, &act1).unwrap();
    for _ in 0..4 {
        let x = db.take();
        if !x.is_empty() {
            pm.read_event(&mut dda, &x).unwrap();
        }
        let y = da.take();
        if !y.is_empty() {
            b.pm.read_event(&mut ddb, &y).unwrap();
        }
    }
    assert_eq!(pm.list_peers().len(), 1);
    assert_eq!(b.pm.list_peers()[0].counterparty_node_id, pm.node_id());
    // Our node_announcement is signed by the signer.
    pm.broadcast_node_announcement([0; 3], [0; 32], vec![]);
    b.pm.read_event(&mut ddb, &da.take()).unwrap();
    assert!(b.h.saw("route:node_announcement"));
    assert_signed_by(&b.h.received_nodes.lock().unwrap()[0], &pm.node_id());
}
