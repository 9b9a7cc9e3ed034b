//! `noise` benchmark (see BENCHMARKS.md): BOLT 8 through two `PeerManager`s
//! over an in-memory pipe.
//!
//! - `noise_handshakes_per_s`: new connection, acts one to three and the
//!   encrypted `init` both ways, then disconnect both sides; 2,000 times
//!   after 20 warm-ups.
//! - `noise_msgs_per_s`, `noise_payload_mb_per_s`: one connection; A's custom
//!   handler queues batches of 100 messages (type 32769, 1,024-byte payload);
//!   bytes reach B's `read_event` in 8 KiB chunks; 100,000 messages.

use lnkit::bitcoin::secp256k1::{PublicKey, SecretKey};
use lnkit::logger::NullLogger;
use lnkit::msgs::*;
use lnkit::peer::pipe::PipeDescriptor;
use lnkit::peer::{
    ErroringMessageHandler, IgnoringMessageHandler, InMemoryNodeKey, MessageHandler, OsEntropy,
    PeerManager,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const MSG_TYPE: u16 = 32769;
const READ_CHUNK: usize = 8192;

#[derive(Default)]
struct Bench {
    outbox: Mutex<Vec<(PublicKey, u16, Vec<u8>)>>,
    received: AtomicU64,
    received_bytes: AtomicU64,
}

impl CustomMessageHandler for Bench {
    fn is_custom_type(&self, t: u16) -> bool {
        t == MSG_TYPE
    }
    fn handle_custom_message(&self, _: PublicKey, _: u16, p: &[u8]) -> Result<(), LightningError> {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.received_bytes
            .fetch_add(p.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, u16, Vec<u8>)> {
        std::mem::take(&mut *self.outbox.lock().unwrap())
    }
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
}

struct Side {
    pm: PeerManager<PipeDescriptor>,
    id: PublicKey,
    h: Arc<Bench>,
}

fn side(seed: u8) -> Side {
    let h = Arc::new(Bench::default());
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: Arc::new(IgnoringMessageHandler),
        onion_message_handler: Arc::new(IgnoringMessageHandler),
        custom_message_handler: h.clone(),
    };
    let key = Arc::new(InMemoryNodeKey::new(
        SecretKey::from_slice(&[seed; 32]).unwrap(),
    ));
    let pm = PeerManager::new(handlers, key, Arc::new(OsEntropy), Arc::new(NullLogger));
    Side {
        id: pm.node_id(),
        pm,
        h,
    }
}

/// Moves bytes both ways until nothing moves; returns bytes moved.
fn pump(sides: [&Side; 2], descs: [&PipeDescriptor; 2], buf: &mut Vec<u8>) -> u64 {
    let mut moved = 0u64;
    loop {
        let mut progress = false;
        for s in sides {
            s.pm.process_events();
        }
        for i in 0..2 {
            descs[i].take_into(buf);
            if buf.is_empty() {
                continue;
            }
            progress = true;
            moved += buf.len() as u64;
            let mut d = descs[1 - i].clone();
            for chunk in buf.chunks(READ_CHUNK) {
                sides[1 - i]
                    .pm
                    .read_event(&mut d, chunk)
                    .expect("read_event");
            }
        }
        if !progress {
            return moved;
        }
    }
}

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.1} {unit}");
}

fn main() {
    let a = side(11);
    let b = side(12);
    let mut next = 1u64;
    let mut buf = Vec::with_capacity(256 * 1024);

    let handshake = |next: &mut u64, buf: &mut Vec<u8>| {
        let da = PipeDescriptor::new(*next);
        let db = PipeDescriptor::new(*next + 1);
        *next += 2;
        let act1 =
            a.pm.new_outbound_connection(b.id, da.clone(), None)
                .unwrap();
        b.pm.new_inbound_connection(db.clone(), None).unwrap();
        let mut d = db.clone();
        b.pm.read_event(&mut d, &act1).unwrap();
        pump([&a, &b], [&da, &db], buf);
        assert!(a.pm.peer_by_id(&b.id).is_some() && b.pm.peer_by_id(&a.id).is_some());
        a.pm.socket_disconnected(&da);
        b.pm.socket_disconnected(&db);
    };
    for _ in 0..20 {
        handshake(&mut next, &mut buf);
    }
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        handshake(&mut next, &mut buf);
    }
    let el = t.elapsed().as_secs_f64();
    report("noise_handshakes_per_s", n as f64 / el, "handshakes/s");

    // Throughput.
    let da = PipeDescriptor::new(next);
    let db = PipeDescriptor::new(next + 1);
    let act1 =
        a.pm.new_outbound_connection(b.id, da.clone(), None)
            .unwrap();
    b.pm.new_inbound_connection(db.clone(), None).unwrap();
    let mut d = db.clone();
    b.pm.read_event(&mut d, &act1).unwrap();
    pump([&a, &b], [&da, &db], &mut buf);
    let nmsgs = 100_000usize;
    let size = 1024usize;
    let batch = 100usize;
    let payload = vec![0xabu8; size];
    let r0 = b.h.received.load(Ordering::Relaxed);
    let t = Instant::now();
    let mut sent = 0;
    while sent < nmsgs {
        let k = batch.min(nmsgs - sent);
        {
            let mut ob = a.h.outbox.lock().unwrap();
            for _ in 0..k {
                ob.push((b.id, MSG_TYPE, payload.clone()));
            }
        }
        sent += k;
        pump([&a, &b], [&da, &db], &mut buf);
    }
    let el = t.elapsed().as_secs_f64();
    let got = b.h.received.load(Ordering::Relaxed) - r0;
    assert_eq!(got as usize, nmsgs, "every message delivered");
    assert_eq!(
        b.h.received_bytes.load(Ordering::Relaxed),
        (nmsgs * size) as u64
    );
    report("noise_msgs_per_s", nmsgs as f64 / el, "msgs/s");
    report(
        "noise_payload_mb_per_s",
        (nmsgs * size) as f64 / 1e6 / el,
        "MB/s",
    );
}
