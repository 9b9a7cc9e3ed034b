//! Hostile peers against a `PeerManager`: a corrupted MAC, bad acts,
//! garbage after the handshake, a maximal length prefix that never
//! completes, a peer that never reads, a peer that never answers ping, and
//! messages before `init`. Each ends in a clean disconnect, never a panic,
//! and memory stays bounded.

mod peer_common;
use lnkit::bitcoin::secp256k1::{Secp256k1, SecretKey};
use lnkit::peer::noise::{NoiseError, NoiseSession, SessionEvent, StaticKey, LENGTH_HEADER_LEN};
use lnkit::peer::pipe::PipeDescriptor;
use lnkit::peer::{PeerHandleError, PeerManagerConfig, SocketDescriptor};
use peer_common::*;

/// A raw BOLT 8 attacker: completes the handshake with `victim` and then
/// sends whatever frames it wants.
struct Attacker {
    session: NoiseSession,
    key: StaticKey,
    desc: PipeDescriptor,
}

impl Attacker {
    fn connect(victim: &Node, seed: u8) -> Attacker {
        let secp = Secp256k1::new();
        let key = StaticKey::new(&secp, SecretKey::from_slice(&[seed; 32]).unwrap());
        let (mut session, act1) = NoiseSession::new_outbound(
            &secp,
            victim.id,
            SecretKey::from_slice(&[seed ^ 0x55; 32]).unwrap(),
        );
        let desc = PipeDescriptor::new(next_id());
        victim
            .pm
            .new_inbound_connection(desc.clone(), None)
            .unwrap();
        let mut d = desc.clone();
        victim.pm.read_event(&mut d, &act1).unwrap();
        session.push_input(&desc.take());
        let mut act3 = Vec::new();
        assert!(matches!(
            session.next_event(&key, &mut act3),
            Ok(SessionEvent::HandshakeDone { .. })
        ));
        victim.pm.read_event(&mut d, &act3).unwrap();
        Attacker { session, key, desc }
    }
    fn seal(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; LENGTH_HEADER_LEN];
        out.extend_from_slice(frame);
        self.session.seal_in_place(&mut out, 0).unwrap();
        out
    }
    fn send(&mut self, victim: &Node, frame: &[u8]) -> Result<bool, PeerHandleError> {
        let bytes = self.seal(frame);
        let mut d = self.desc.clone();
        victim.pm.read_event(&mut d, &bytes)
    }
    fn send_init(&mut self, victim: &Node) {
        // init: empty globalfeatures, empty features, no TLVs.
        self.send(victim, &[0, 16, 0, 0, 0, 0]).unwrap();
    }
    /// Reads what the victim sent us (decrypting it).
    fn received(&mut self) -> Vec<Vec<u8>> {
        self.session.push_input(&self.desc.take());
        let mut out = Vec::new();
        let mut sink = Vec::new();
        loop {
            match self.session.next_event(&self.key, &mut sink).unwrap() {
                SessionEvent::Message(r) => out.push(self.session.input()[r].to_vec()),
                SessionEvent::NeedMore => break,
                _ => {}
            }
        }
        self.session.compact();
        out
    }
}

#[test]
fn peer_hostile_corrupted_mac_disconnects() {
    let v = node(30);
    let mut at = Attacker::connect(&v, 31);
    at.send_init(&v);
    assert_eq!(v.pm.list_peers().len(), 1);
    let mut bytes = at.seal(&[0, 18, 0, 0, 0, 0]); // a ping
    let n = bytes.len();
    bytes[n - 3] ^= 0x01; // body MAC
    let mut d = at.desc.clone();
    assert_eq!(
        v.pm.read_event(&mut d, &bytes),
        Err(PeerHandleError::Noise(NoiseError::BadMessageMac))
    );
    assert!(v.pm.list_peers().is_empty());
    assert_eq!(v.h.disconnected.lock().unwrap().len(), 1);
    // The socket is forgotten: further bytes are refused, not processed.
    assert_eq!(
        v.pm.read_event(&mut d, &bytes),
        Err(PeerHandleError::UnknownDescriptor)
    );
}

#[test]
fn peer_hostile_corrupted_length_mac_disconnects() {
    let v = node(32);
    let mut at = Attacker::connect(&v, 33);
    let mut bytes = at.seal(&[0, 16, 0, 0, 0, 0]);
    bytes[0] ^= 0x80;
    let mut d = at.desc.clone();
    assert_eq!(
        v.pm.read_event(&mut d, &bytes),
        Err(PeerHandleError::Noise(NoiseError::BadLengthMac))
    );
}

#[test]
fn peer_hostile_bad_acts_disconnect() {
    let v = node(34);
    let secp = Secp256k1::new();
    let (_s, act1) =
        NoiseSession::new_outbound(&secp, v.id, SecretKey::from_slice(&[9; 32]).unwrap());
    // Bad version, bad key, bad MAC: each refused by the responder.
    for (i, tweak) in [(0usize, 1u8), (1, 0x07), (49, 0x01)] {
        let mut act = act1;
        act[i] ^= tweak;
        let mut d = PipeDescriptor::new(next_id());
        v.pm.new_inbound_connection(d.clone(), None).unwrap();
        let e = v.pm.read_event(&mut d, &act).unwrap_err();
        assert!(matches!(e, PeerHandleError::Noise(_)), "{e:?}");
        assert_eq!(d.pending(), 0, "no act two sent after a bad act one");
    }
    // Act one in dribbles then a bad act three.
    let mut d = PipeDescriptor::new(next_id());
    v.pm.new_inbound_connection(d.clone(), None).unwrap();
    for b in act1 {
        assert_eq!(v.pm.read_event(&mut d, &[b]), Ok(false));
    }
    assert_eq!(d.pending(), 50, "act two");
    let e = v.pm.read_event(&mut d, &[1u8; 66]).unwrap_err();
    assert_eq!(
        e,
        PeerHandleError::Noise(NoiseError::BadVersion { act: 3, version: 1 })
    );
    assert!(v.pm.list_peers().is_empty());
}

#[test]
fn peer_hostile_garbage_after_handshake_disconnects() {
    let v = node(35);
    let at = Attacker::connect(&v, 36);
    let mut d = at.desc.clone();
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let r = v.pm.read_event(&mut d, &garbage);
    assert_eq!(r, Err(PeerHandleError::Noise(NoiseError::BadLengthMac)));
}

#[test]
fn peer_hostile_message_before_init_disconnects() {
    let v = node(37);
    let mut at = Attacker::connect(&v, 38);
    // A ping before init.
    assert_eq!(
        at.send(&v, &[0, 18, 0, 0, 0, 0]),
        Err(PeerHandleError::Protocol("bolt1-init-first"))
    );
    assert!(v.h.connected.lock().unwrap().is_empty());
}

#[test]
fn peer_hostile_undecodable_message_disconnects() {
    let v = node(39);
    let mut at = Attacker::connect(&v, 40);
    at.send_init(&v);
    // update_add_htlc (128) cut short.
    let r = at.send(&v, &[0, 128, 1, 2, 3]);
    assert!(matches!(r, Err(PeerHandleError::Decode(_))), "{r:?}");
}

#[test]
fn peer_hostile_max_length_prefix_that_never_completes_is_bounded() {
    let v = node(41);
    let mut at = Attacker::connect(&v, 42);
    at.send_init(&v);
    // A genuine 65535-byte frame (the maximum): delivered as an unknown odd
    // type and ignored.
    let mut frame = vec![0u8; 65535];
    frame[..2].copy_from_slice(&32771u16.to_be_bytes());
    assert_eq!(at.send(&v, &frame), Ok(false));
    // A maximal length prefix, then the body never fully arrives but junk
    // keeps coming: once l+16 bytes are in, the MAC fails.
    let sealed = at.seal(&frame);
    let mut d = at.desc.clone();
    assert_eq!(
        v.pm.read_event(&mut d, &sealed[..LENGTH_HEADER_LEN]),
        Ok(false)
    );
    let junk = vec![0xaau8; 4096];
    let mut fed = 0;
    let r = loop {
        match v.pm.read_event(&mut d, &junk) {
            Ok(_) => fed += junk.len(),
            Err(e) => break e,
        }
        assert!(
            fed <= 65535 + 16,
            "the body is bounded by the length prefix"
        );
    };
    assert_eq!(r, PeerHandleError::Noise(NoiseError::BadMessageMac));
}

#[test]
fn peer_hostile_peer_that_never_reads_is_bounded_then_dropped() {
    let cfg = PeerManagerConfig {
        pause_read_bytes: 32 * 1024,
        drop_gossip_bytes: 16 * 1024,
        max_outbound_bytes: 256 * 1024,
        ..Default::default()
    };
    let v = node_with(43, cfg);
    let mut at = Attacker::connect(&v, 44);
    at.send_init(&v);
    let _ = at.received();
    at.desc.set_capacity(0); // the attacker stops reading
                             // Pings asking for big pongs: the victim pauses reading once its
                             // backlog passes the bound.
    let mut paused = false;
    for _ in 0..20 {
        if at.send(&v, &[0, 18, 0x40, 0x00, 0, 0]).unwrap() {
            paused = true;
            break;
        }
    }
    assert!(paused, "read_event asked the driver to pause");
    // Our own handler keeps queueing messages for it: the buffer bound holds
    // and the peer is dropped.
    let mut dropped = false;
    for _ in 0..100 {
        v.h.custom_out.lock().unwrap().push((
            at.session.their_node_id().map(|_| key_of(44)).unwrap(),
            CUSTOM_ODD,
            vec![0; 10_000],
        ));
        v.pm.process_events();
        if at.desc.is_disconnected() {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "a peer that never reads is disconnected");
    assert!(v.pm.list_peers().is_empty());
    assert_eq!(
        at.desc.pending(),
        0,
        "nothing was accepted by the full socket"
    );
}

fn key_of(seed: u8) -> lnkit::bitcoin::secp256k1::PublicKey {
    let secp = Secp256k1::new();
    lnkit::bitcoin::secp256k1::PublicKey::from_secret_key(
        &secp,
        &SecretKey::from_slice(&[seed; 32]).unwrap(),
    )
}

#[test]
fn peer_hostile_never_answers_ping_is_dropped_on_next_tick() {
    let v = node(45);
    let mut at = Attacker::connect(&v, 46);
    at.send_init(&v);
    v.pm.timer_tick_occurred();
    let got = at.received();
    assert!(got.iter().any(|m| m[..2] == [0, 18]), "victim pinged us");
    assert_eq!(v.pm.list_peers().len(), 1);
    v.pm.timer_tick_occurred();
    assert!(at.desc.is_disconnected());
    assert!(v.pm.list_peers().is_empty());
    assert_eq!(*v.h.disconnected.lock().unwrap(), vec![key_of(46)]);
    assert!(v.logger.has("peer-ping-timeout"));
}

#[test]
fn peer_hostile_ping_burst_across_key_rotation_is_answered() {
    let v = node(47);
    let mut at = Attacker::connect(&v, 48);
    at.send_init(&v);
    let _ = at.received();
    let mut wire = Vec::new();
    for _ in 0..1200 {
        wire.extend(at.seal(&[0, 18, 0, 4, 0, 0]));
    }
    let mut d = at.desc.clone();
    for chunk in wire.chunks(1000) {
        v.pm.read_event(&mut d, chunk).unwrap();
    }
    let pongs = at.received();
    assert_eq!(pongs.len(), 1200);
    assert!(pongs.iter().all(|p| p == &[0, 19, 0, 4, 0, 0, 0, 0]));
}

#[test]
fn peer_hostile_disconnect_calls_are_idempotent() {
    let a = node(49);
    let b = node(50);
    let (da, db) = connect(&a, &b);
    a.pm.disconnect_by_node_id(b.id);
    assert!(da.is_disconnected());
    a.pm.socket_disconnected(&da);
    a.pm.disconnect_all_peers();
    b.pm.socket_disconnected(&db);
    b.pm.socket_disconnected(&db);
    assert_eq!(a.h.disconnected.lock().unwrap().len(), 1);
    assert_eq!(b.h.disconnected.lock().unwrap().len(), 1);
    let mut d = db.clone();
    assert_eq!(
        b.pm.read_event(&mut d, &[0]),
        Err(PeerHandleError::UnknownDescriptor)
    );
    let _ = d.send_data(&[], true);
}
