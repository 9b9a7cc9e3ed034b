//! A small real lnkit node shell other implementations can talk to.
//!
//! ```text
//! cargo run --release --example peer -- listen 127.0.0.1:PORT --node-secret HEX64 [--network regtest] [--tick-ms 10000]
//! cargo run --release --example peer -- connect <node_id>@HOST:PORT --node-secret HEX64 [--network regtest] [--tick-ms 10000]
//! cargo run --release --example peer            # two nodes in one process over 127.0.0.1
//! ```
//!
//! Prints `node_id <hex>`, then one line per event: `connected <node_id>`,
//! `received <message_name>` (every message, ping and pong included) and
//! `disconnected <node_id>`. It answers every ping, drops a connection at
//! once on a bad MAC, sends `init` with the features a full lnkit node will
//! have, and runs until killed.

use lnkit::bitcoin::blockdata::constants::ChainHash;
use lnkit::bitcoin::secp256k1::{PublicKey, SecretKey};
use lnkit::bitcoin::Network;
use lnkit::logger::{Level, Logger, Record};
use lnkit::msgs::*;
use lnkit::net::{self, TcpPeerManager};
use lnkit::peer::{
    ErroringMessageHandler, IgnoringMessageHandler, InMemoryNodeKey, MessageHandler, OsEntropy,
    PeerManager, PeerObserver,
};
use std::sync::Arc;
use std::time::Duration;

/// Prints events, with an optional prefix (for the two-node demo).
struct Shell {
    prefix: &'static str,
}

fn print(prefix: &str, line: String) {
    println!("{prefix}{line}");
}

impl PeerObserver for Shell {
    fn message_received(&self, _: PublicKey, type_id: u16, name: Option<&'static str>) {
        match name {
            Some(n) => print(self.prefix, format!("received {n}")),
            None => print(self.prefix, format!("received unknown_{type_id}")),
        }
    }
}

/// The init features of a full lnkit node (BOLT 9), as real peers expect:
/// LDK refuses a peer without data_loss_protect, var_onion_optin,
/// static_remotekey, payment_secret or channel_type.
fn node_features() -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_data_loss_protect_optional();
    f.set_variable_length_onion_required();
    f.set_static_remote_key_required();
    f.set_payment_secret_required();
    f.set_basic_mpp_optional();
    f.set_wumbo_optional();
    f.set_anchors_zero_fee_htlc_tx_optional();
    f.set_shutdown_anysegwit_optional();
    f.set_channel_type_optional();
    f.set_scid_privacy_optional();
    f
}

impl CustomMessageHandler for Shell {
    fn is_custom_type(&self, _: u16) -> bool {
        false
    }
    fn handle_custom_message(&self, _: PublicKey, _: u16, _: &[u8]) -> Result<(), LightningError> {
        Ok(())
    }
    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, u16, Vec<u8>)> {
        Vec::new()
    }
    fn peer_connected(&self, id: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        print(self.prefix, format!("connected {id}"));
        Ok(())
    }
    fn peer_disconnected(&self, id: PublicKey) {
        print(self.prefix, format!("disconnected {id}"));
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        node_features()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        node_features().to_context()
    }
}

/// Log lines go to stderr when `LNKIT_LOG` is set (`debug`, `trace`…).
struct StderrLogger(Option<Level>);
impl Logger for StderrLogger {
    fn log(&self, r: Record<'_>) {
        if let Some(min) = self.0 {
            if r.level >= min {
                eprintln!("{} {} {}", r.level, r.module_path, r.args);
            }
        }
    }
}

fn logger() -> Arc<StderrLogger> {
    let level = match std::env::var("LNKIT_LOG").as_deref() {
        Ok("trace") => Some(Level::Trace),
        Ok("debug") => Some(Level::Debug),
        Ok("info") => Some(Level::Info),
        Ok("warn") => Some(Level::Warn),
        Ok("gossip") => Some(Level::Gossip),
        _ => None,
    };
    Arc::new(StderrLogger(level))
}

fn make_node(secret: SecretKey, network: Network, prefix: &'static str) -> Arc<TcpPeerManager> {
    let shell = Arc::new(Shell { prefix });
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::for_chains(vec![
            ChainHash::using_genesis_block(network),
        ])),
        route_handler: Arc::new(IgnoringMessageHandler),
        onion_message_handler: Arc::new(IgnoringMessageHandler),
        custom_message_handler: shell.clone(),
    };
    let pm = PeerManager::new(
        handlers,
        Arc::new(InMemoryNodeKey::new(secret)),
        Arc::new(OsEntropy),
        logger(),
    )
    .with_observer(shell);
    Arc::new(pm)
}

fn usage() -> ! {
    eprintln!(
        "usage: peer listen HOST:PORT --node-secret HEX64 [--network NET] [--tick-ms MS]\n       \
         peer connect NODE_ID@HOST:PORT --node-secret HEX64 [--network NET] [--tick-ms MS]\n       \
         peer   (two nodes in one process)"
    );
    std::process::exit(2)
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn parse_network(s: &str) -> Network {
    match s {
        "regtest" => Network::Regtest,
        "bitcoin" | "mainnet" => Network::Bitcoin,
        "testnet" => Network::Testnet,
        "signet" => Network::Signet,
        _ => usage(),
    }
}

fn run_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn demo() {
    let a = make_node(
        SecretKey::from_slice(&[0x11; 32]).expect("valid key"),
        Network::Regtest,
        "A: ",
    );
    let b = make_node(
        SecretKey::from_slice(&[0x22; 32]).expect("valid key"),
        Network::Regtest,
        "B: ",
    );
    println!("A: node_id {}", a.node_id());
    println!("B: node_id {}", b.node_id());
    let listener = net::listen(b.clone(), "127.0.0.1:0").expect("bind 127.0.0.1");
    println!("B: listening on {}", listener.local_addr());
    let _reader =
        net::connect_outbound(a.clone(), b.node_id(), listener.local_addr()).expect("connect to B");
    std::thread::sleep(Duration::from_millis(300));
    println!(
        "A: handshake and init done: {} peer(s)",
        a.list_peers().len()
    );
    a.timer_tick_occurred();
    std::thread::sleep(Duration::from_millis(300));
    a.disconnect_all_peers();
    std::thread::sleep(Duration::from_millis(300));
    listener.stop();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        demo();
        return;
    }
    if args.len() < 2 {
        usage();
    }
    let mut secret = None;
    let mut network = Network::Regtest;
    let mut tick_ms = 10_000u64;
    let mut i = 2;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--node-secret", Some(v)) => secret = parse_hex32(v),
            ("--network", Some(v)) => network = parse_network(v),
            ("--tick-ms", Some(v)) => tick_ms = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
        i += 2;
    }
    let secret = secret
        .and_then(|b| SecretKey::from_slice(&b).ok())
        .unwrap_or_else(|| usage());
    let pm = make_node(secret, network, "");
    let _timer = net::spawn_timer(
        pm.clone(),
        Duration::from_millis(50),
        Duration::from_millis(tick_ms),
    )
    .expect("timer thread");
    match args[0].as_str() {
        "listen" => {
            let listener = net::listen(pm.clone(), args[1].as_str()).unwrap_or_else(|e| {
                eprintln!("cannot listen on {}: {e}", args[1]);
                std::process::exit(1)
            });
            println!("node_id {}", pm.node_id());
            let _keep = listener;
            run_forever();
        }
        "connect" => {
            let (id, addr) = args[1].split_once('@').unwrap_or_else(|| usage());
            let their_id: PublicKey = id.parse().unwrap_or_else(|_| usage());
            println!("node_id {}", pm.node_id());
            if let Err(e) = net::connect_outbound(pm.clone(), their_id, addr) {
                eprintln!("cannot connect to {addr}: {e}");
                std::process::exit(1);
            }
            run_forever();
        }
        _ => usage(),
    }
}
