//! Two `PeerManager`s over TCP loopback through `lnkit::net`: handshake,
//! init, ping/pong and custom messages, then a clean disconnect.

use lnkit::bitcoin::secp256k1::{PublicKey, SecretKey};
use lnkit::logger::NullLogger;
use lnkit::msgs::*;
use lnkit::net::{self, TcpPeerManager};
use lnkit::peer::{
    ErroringMessageHandler, InMemoryNodeKey, MessageHandler, OsEntropy, PeerManager, PeerObserver,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counter {
    received: Mutex<Vec<&'static str>>,
    custom: AtomicUsize,
    out: Mutex<Vec<(PublicKey, u16, Vec<u8>)>>,
}
impl PeerObserver for Counter {
    fn message_received(&self, _: PublicKey, _: u16, name: Option<&'static str>) {
        self.received.lock().unwrap().push(name.unwrap_or("custom"));
    }
}
impl CustomMessageHandler for Counter {
    fn is_custom_type(&self, t: u16) -> bool {
        t == 32769
    }
    fn handle_custom_message(&self, _: PublicKey, _: u16, p: &[u8]) -> Result<(), LightningError> {
        assert_eq!(p.len(), 3000);
        self.custom.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, u16, Vec<u8>)> {
        std::mem::take(&mut *self.out.lock().unwrap())
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

fn make(seed: u8) -> (Arc<TcpPeerManager>, Arc<Counter>) {
    let c = Arc::new(Counter::default());
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: Arc::new(lnkit::peer::IgnoringMessageHandler),
        onion_message_handler: Arc::new(lnkit::peer::IgnoringMessageHandler),
        custom_message_handler: c.clone(),
    };
    let key = Arc::new(InMemoryNodeKey::new(
        SecretKey::from_slice(&[seed; 32]).unwrap(),
    ));
    let pm = PeerManager::new(handlers, key, Arc::new(OsEntropy), Arc::new(NullLogger))
        .with_observer(c.clone());
    (Arc::new(pm), c)
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    // A generous bound so a loaded machine does not fail the test; this is a
    // liveness check, not a timing assertion.
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn peer_tcp_loopback_handshake_init_ping_and_messages() {
    let (a, ca) = make(61);
    let (b, cb) = make(62);
    let listener = net::listen(b.clone(), "127.0.0.1:0").unwrap();
    let reader = net::connect_outbound(a.clone(), b.node_id(), listener.local_addr()).unwrap();
    wait_for("init both ways", || {
        a.list_peers().len() == 1 && b.list_peers().len() == 1
    });
    assert_eq!(a.list_peers()[0].counterparty_node_id, b.node_id());
    assert!(b.list_peers()[0].is_inbound_connection);
    // Ping/pong over the wire.
    a.timer_tick_occurred();
    wait_for("pong", || ca.received.lock().unwrap().contains(&"pong"));
    assert!(cb.received.lock().unwrap().contains(&"ping"));
    a.timer_tick_occurred(); // answered: still connected
    assert_eq!(a.list_peers().len(), 1);
    // 500 custom messages of 3000 bytes cross key rotation and TCP splits.
    for _ in 0..5 {
        let mut out = ca.out.lock().unwrap();
        for _ in 0..100 {
            out.push((b.node_id(), 32769, vec![9; 3000]));
        }
        drop(out);
        a.process_events();
    }
    wait_for("custom messages", || {
        cb.custom.load(Ordering::SeqCst) == 500
    });
    // Disconnect from a's side: b sees the socket close.
    a.disconnect_by_node_id(b.node_id());
    wait_for("b notices", || b.list_peers().is_empty());
    reader.join().unwrap();
    listener.stop();
}
