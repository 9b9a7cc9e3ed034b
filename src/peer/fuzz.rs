//! Fuzz entry points for the peer layer (wired into `fuzz/` by the lead).
//!
//! - [`fuzz_noise`]: arbitrary bytes as handshake acts and as an encrypted
//!   stream, in arbitrary splits.
//! - [`fuzz_peer_manager`]: arbitrary bytes into a `PeerManager`, either raw
//!   from the first byte (before the handshake) or, after a fixed handshake
//!   and `init`, as frames sealed by a real BOLT 8 peer, interleaved with
//!   `process_events` and timer ticks.
//!
//! Neither may panic or grow memory beyond the manager's bounds.

use super::noise::{
    NoiseSession, SessionEvent, StaticKey, StaticKeyEcdh, Transport, LENGTH_HEADER_LEN,
};
use super::pipe::PipeDescriptor;
use super::{
    ErroringMessageHandler, IgnoringMessageHandler, InMemoryNodeKey, MessageHandler, PeerManager,
    SocketDescriptor,
};
use crate::logger::NullLogger;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use std::sync::Arc;

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).expect("constant keys are valid")
}

/// Splits `data` into chunks whose sizes come from the data itself.
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = (rest[0] as usize % 97 + 1).min(rest.len());
        let (a, b) = rest.split_at(n);
        rest = b;
        Some(a)
    })
}

/// Feeds `data` to BOLT 8 sessions and a transport; never panics.
pub fn fuzz_noise(data: &[u8]) {
    let secp = Secp256k1::new();
    let us = StaticKey::new(&secp, key(1));
    let them = StaticKey::new(&secp, key(2));
    let mut out = Vec::new();
    // As responder: the data is act one, act three, then messages.
    let mut resp = NoiseSession::new_inbound(&secp, &us.public_key(), key(3));
    'r: for c in chunks(data) {
        resp.push_input(c);
        loop {
            match resp.next_event(&us, &mut out) {
                Ok(SessionEvent::NeedMore) => break,
                Ok(SessionEvent::Message(r)) => {
                    let _ = &resp.input()[r];
                }
                Ok(_) => {}
                Err(_) => break 'r,
            }
        }
        resp.compact();
        assert!(resp.buffered() <= data.len());
    }
    // As initiator: the data is act two, then messages.
    let (mut init, _act1) = NoiseSession::new_outbound(&secp, them.public_key(), key(4));
    init.push_input(data);
    while let Ok(ev) = init.next_event(&us, &mut out) {
        if ev == SessionEvent::NeedMore {
            break;
        }
    }
    // An established transport opening an arbitrary stream.
    let mut t = Transport::new([7; 32], [8; 32], [9; 32]);
    let mut rest = data;
    while rest.len() >= LENGTH_HEADER_LEN {
        let mut hdr = [0u8; LENGTH_HEADER_LEN];
        hdr.copy_from_slice(&rest[..LENGTH_HEADER_LEN]);
        let Ok(len) = t.open_length(&hdr) else { break };
        rest = &rest[LENGTH_HEADER_LEN..];
        let n = len as usize + 16;
        if rest.len() < n {
            break;
        }
        let mut body = rest[..n].to_vec();
        if t.open_body_in_place(&mut body).is_err() {
            break;
        }
        rest = &rest[n..];
    }
}

fn manager(seed: u8) -> PeerManager<PipeDescriptor> {
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: Arc::new(IgnoringMessageHandler),
        onion_message_handler: Arc::new(IgnoringMessageHandler),
        custom_message_handler: Arc::new(IgnoringMessageHandler),
    };
    let entropy = move || [seed ^ 0x5a; 32];
    PeerManager::new(
        handlers,
        Arc::new(InMemoryNodeKey::new(key(seed))),
        Arc::new(entropy),
        Arc::new(NullLogger),
    )
}

/// Drives a `PeerManager` with `data`; never panics. The first byte picks
/// the mode: even = raw bytes from the start of an inbound connection;
/// odd = a fixed handshake and `init`, then `data` as frames
/// (`u16` length + bytes) sealed by the peer, with a byte of control
/// between frames (process events, tick, or corrupt the next frame).
pub fn fuzz_peer_manager(data: &[u8]) {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let pm = manager(21);
    let mut desc = PipeDescriptor::new(1);
    if pm.new_inbound_connection(desc.clone(), None).is_err() {
        return;
    }
    if mode % 2 == 0 {
        for c in chunks(data) {
            if pm.read_event(&mut desc, c).is_err() {
                return;
            }
            pm.process_events();
        }
        pm.timer_tick_occurred();
        pm.timer_tick_occurred();
        return;
    }
    // A real peer: handshake and init, then fuzzed frames.
    let secp = Secp256k1::new();
    let peer_key = StaticKey::new(&secp, key(22));
    let (mut session, act1) = NoiseSession::new_outbound(&secp, pm.node_id(), key(23));
    if pm.read_event(&mut desc, &act1).is_err() {
        return;
    }
    session.push_input(&desc.take());
    let mut act3 = Vec::new();
    if !matches!(
        session.next_event(&peer_key, &mut act3),
        Ok(SessionEvent::HandshakeDone { .. })
    ) {
        return;
    }
    if pm.read_event(&mut desc, &act3).is_err() {
        return;
    }
    let mut frame = vec![0u8; LENGTH_HEADER_LEN];
    frame.extend_from_slice(&[0, 16, 0, 0, 0, 0]);
    if session.seal_in_place(&mut frame, 0).is_err() || pm.read_event(&mut desc, &frame).is_err() {
        return;
    }
    let mut rest = data;
    while rest.len() >= 3 {
        let ctl = rest[0];
        let len = (u16::from_be_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let body = &rest[3..3 + len];
        rest = &rest[3 + len..];
        let mut wire = vec![0u8; LENGTH_HEADER_LEN];
        wire.extend_from_slice(body);
        if session.seal_in_place(&mut wire, 0).is_err() {
            return;
        }
        if ctl & 0x80 != 0 && !wire.is_empty() {
            let i = ctl as usize % wire.len();
            wire[i] ^= 1;
        }
        if pm.read_event(&mut desc, &wire).is_err() {
            return;
        }
        if ctl & 1 != 0 {
            pm.process_events();
        }
        if ctl & 2 != 0 {
            pm.timer_tick_occurred();
        }
        // Drain what the manager sent, as a reading peer would.
        desc.take();
    }
    pm.disconnect_all_peers();
    debug_assert!(desc.is_disconnected() || pm.list_peers().is_empty());
    let _ = desc.send_data(&[], false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_entry_points_survive_simple_inputs() {
        fuzz_noise(&[]);
        fuzz_noise(&[0u8; 300]);
        fuzz_noise(&(0..=255u8).cycle().take(2000).collect::<Vec<_>>());
        fuzz_peer_manager(&[]);
        fuzz_peer_manager(&[0; 200]);
        fuzz_peer_manager(&[1, 3, 0, 6, 0, 18, 0, 4, 0, 0, 0x83, 0, 2, 0, 19]);
        fuzz_peer_manager(&[1, 0xff, 0xff, 0xff]);
    }
}
