//! Back-pressure and handler-requested actions: partial writes resume on
//! `write_buffer_space_avail`, a slow peer loses gossip before channel
//! messages, and `HandleError` events send errors, warnings or disconnect.

mod peer_common;
use lnkit::codec::sample::{Sample, SampleRng};
use lnkit::events::MessageSendEvent;
use lnkit::msgs::*;
use lnkit::peer::PeerManagerConfig;
use lnkit::types::ChannelId;
use peer_common::*;

#[test]
fn peer_partial_writes_resume_on_space_available() {
    let a = node(70);
    let b = node(71);
    let (da, db) = connect(&a, &b);
    da.set_capacity(1000); // the socket takes 1000 bytes at a time
    for _ in 0..50 {
        a.h.custom_out
            .lock()
            .unwrap()
            .push((b.id, CUSTOM_ODD, vec![3; 900]));
    }
    a.pm.process_events();
    let mut delivered = 0;
    let mut d_b = db.clone();
    let mut d_a = da.clone();
    for _ in 0..1000 {
        let chunk = da.take();
        if chunk.is_empty() {
            break;
        }
        assert!(chunk.len() <= 1000);
        b.pm.read_event(&mut d_b, &chunk).unwrap();
        delivered += chunk.len();
        a.pm.write_buffer_space_avail(&mut d_a).unwrap();
    }
    assert_eq!(delivered, 50 * (18 + 2 + 900 + 16));
    assert_eq!(
        b.h.custom_count.load(std::sync::atomic::Ordering::SeqCst),
        50
    );
}

#[test]
fn peer_slow_peer_loses_gossip_before_channel_messages() {
    let cfg = PeerManagerConfig {
        drop_gossip_bytes: 4096,
        ..Default::default()
    };
    let hub = node_with(72, cfg);
    hub.h
        .relay_gossip
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let a = node(73);
    let slow = node(74);
    let (da, dh1) = connect(&a, &hub);
    let (ds, dh2) = connect(&slow, &hub);
    // The hub's socket to `slow` stops taking data.
    dh2.set_capacity(dh2.pending());
    hub.h
        .custom_out
        .lock()
        .unwrap()
        .push((slow.id, CUSTOM_ODD, vec![0; 8000]));
    hub.pm.process_events();
    // Gossip from a is not queued for the slow peer...
    let mut g = SampleRng::new(3);
    let upd = ChannelUpdate::sample(&mut g);
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: hub.id,
            msg: Message::ChannelUpdate(upd),
        });
    pump(&a, &hub, &da, &dh1);
    // ...but a channel message still is.
    hub.h
        .events
        .lock()
        .unwrap()
        .push(MessageSendEvent::SendMessage {
            node_id: slow.id,
            msg: Message::Shutdown(Shutdown::sample(&mut g)),
        });
    hub.pm.process_events();
    dh2.set_capacity(usize::MAX);
    let mut d = dh2.clone();
    hub.pm.write_buffer_space_avail(&mut d).unwrap();
    pump(&slow, &hub, &ds, &dh2);
    assert!(hub.h.saw("route:channel_update"));
    assert!(slow.h.saw("chan:shutdown"));
    assert!(
        !slow.h.saw("route:channel_update"),
        "gossip dropped for the slow peer"
    );
    assert!(slow.h.saw(&format!("custom:{CUSTOM_ODD}:8000")));
}

#[test]
fn peer_handle_error_events_send_error_warning_or_disconnect() {
    let a = node(75);
    let b = node(76);
    let (da, db) = connect(&a, &b);
    let cid = ChannelId([5; 32]);
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::HandleError {
            node_id: b.id,
            action: ErrorAction::SendErrorMessage {
                msg: ErrorMessage::new(cid, "nope"),
            },
        });
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::HandleError {
            node_id: b.id,
            action: ErrorAction::SendWarningMessage {
                msg: Warning::new(cid, "careful"),
                log_level: lnkit::logger::Level::Info,
            },
        });
    assert!(pump(&a, &b, &da, &db));
    assert!(b.h.saw("chan:error"));
    assert!(b.logger.has("careful"));
    assert_eq!(b.pm.list_peers().len(), 1);
    a.h.events
        .lock()
        .unwrap()
        .push(MessageSendEvent::HandleError {
            node_id: b.id,
            action: ErrorAction::DisconnectPeer {
                msg: Some(ErrorMessage::new(cid, "bye")),
            },
        });
    pump(&a, &b, &da, &db);
    assert!(da.is_disconnected());
    assert!(a.pm.list_peers().is_empty());
    assert!(b.pm.list_peers().is_empty());
    assert_eq!(
        b.h.seen().iter().filter(|s| *s == "chan:error").count(),
        2,
        "error sent before disconnect"
    );
}

#[test]
fn peer_refused_by_a_handler_is_disconnected() {
    let a = node(77);
    let b = node(78);
    b.h.refuse_peers
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let da = lnkit::peer::pipe::PipeDescriptor::new(next_id());
    let db = lnkit::peer::pipe::PipeDescriptor::new(next_id());
    let act1 =
        a.pm.new_outbound_connection(b.id, da.clone(), None)
            .unwrap();
    b.pm.new_inbound_connection(db.clone(), None).unwrap();
    let mut d = db.clone();
    b.pm.read_event(&mut d, &act1).unwrap();
    assert!(!pump(&a, &b, &da, &db));
    assert!(b.pm.list_peers().is_empty());
    assert!(a.pm.list_peers().is_empty());
}
