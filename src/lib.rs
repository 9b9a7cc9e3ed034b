//! # lnkit
//!
//! An embeddable Lightning Network node library: a runtime-agnostic,
//! trait-based core that a wallet wires to its own keys, chain source,
//! broadcaster, fee estimator and storage.
//!
//! Module map (see `ARCHITECTURE.md`):
//! - [`chain`]: the chain traits (`Listen`, `Confirm`, `Filter`, `FeeEstimator`, `BroadcasterInterface`);
//!   [`chain::monitor`]: `ChannelMonitor`, `ChainMonitor`, the `Watch` trait.
//! - [`persist`]: `KVStore` (in memory, filesystem) and the `Persist` trait for monitors.
//! - `testing` (feature `testing`): `MockChain`, test doubles and `Network`, N full nodes
//!   in one process, for wallet tests.
//! - [`manager`]: the `ChannelManager`, every channel and payment of the node.
//! - [`codec`]: `Readable`/`Writeable`, BigSize, TLV streams, `impl_writable_msg!`.
//! - [`types`]: domain newtypes (`ChannelId`, `ShortChannelId`, `PaymentHash`, …).
//! - [`msgs`]: every BOLT 1/2/4/7 message, [`msgs::Message`] dispatch, BOLT 9 features,
//!   and the handler traits.
//! - [`events`]: `MessageSendEvent`, what components ask the `PeerManager` to send.
//! - [`logger`]: the `Logger` trait the wallet supplies.
//! - [`gossip`]: BOLT 7 network graph and gossip validation.
//! - [`routing`]: `find_route`, the `Router` trait and scorers.
//! - [`payment`]: BOLT 4 onions and failures, BOLT 11 invoices.
//! - [`sign`]: key traits (`NodeSigner`, `SignerProvider`, `ChannelSigner`), `KeysManager`.
//! - [`channel`]: BOLT 3 keys and transactions (commitment, HTLC, closing);
//!   [`channel::establish`]: the BOLT 2 v1 establishment state machine;
//!   [`channel::funded`]: BOLT 2 normal operation (HTLCs, the commitment dance,
//!   reestablish); [`channel::closing_negotiation`], [`channel::quiescence`].
//! - [`config`]: `UserConfig`, the channel policy (handshake offers and limits, forwarding).
//! - [`peer`]: BOLT 8 transport and the `PeerManager` (connections, init, ping, gossip relay).
//! - [`net`]: a std `TcpStream` + threads driver for the `PeerManager`.
//!
//! ## Wiring a node
//!
//! The wallet supplies a broadcaster, a fee estimator, a logger and a
//! store; lnkit supplies the rest. Everything is `Arc<dyn Trait>` at the
//! edges and nothing runs on its own: the wallet feeds bytes, blocks and
//! timer ticks.
//!
//! ```
//! use std::sync::{Arc, RwLock};
//! use lnkit::bitcoin::{Network, Transaction};
//! use lnkit::chain::{BestBlock, BroadcasterInterface, ConfirmationTarget, FeeEstimator};
//! use lnkit::chain::monitor::ChainMonitor;
//! use lnkit::gossip::NetworkGraph;
//! use lnkit::logger::{Logger, Record};
//! use lnkit::manager::{ChainParameters, ChannelManager, ChannelManagerDeps};
//! use lnkit::peer::{IgnoringMessageHandler, MessageHandler, PeerManager, SignerEntropy, SignerNodeKey};
//! use lnkit::persist::{InMemoryStore, MonitorUpdatingPersister};
//! use lnkit::routing::{DefaultRouter, FixedPenaltyScorer};
//! use lnkit::sign::KeysManager;
//!
//! struct Wallet; // the wallet's own chain access
//! impl BroadcasterInterface for Wallet {
//!     fn broadcast_transactions(&self, _txs: &[&Transaction]) { /* to bitcoind, Esplora, ... */ }
//! }
//! impl FeeEstimator for Wallet {
//!     fn get_est_sat_per_1000_weight(&self, _t: ConfirmationTarget) -> u32 { 253 }
//! }
//! impl Logger for Wallet {
//!     fn log(&self, record: Record<'_>) { let _ = record; }
//! }
//!
//! let wallet = Arc::new(Wallet);
//! let keys = Arc::new(KeysManager::new(&[7; 32], 1_700_000_000, 0));
//! let store = Arc::new(InMemoryStore::new()); // or FilesystemStore
//! let persister = Arc::new(MonitorUpdatingPersister::new(store, 100));
//! let chain_monitor = Arc::new(ChainMonitor::new(
//!     None, wallet.clone(), wallet.clone(), wallet.clone(), persister,
//! ));
//! let graph = Arc::new(NetworkGraph::new(
//!     lnkit::bitcoin::blockdata::constants::ChainHash::using_genesis_block(Network::Regtest),
//! ));
//! let router = Arc::new(DefaultRouter::new(
//!     graph, wallet.clone(), Arc::new(RwLock::new(FixedPenaltyScorer(0))), [1; 32],
//! ));
//! let manager = Arc::new(ChannelManager::new(
//!     ChannelManagerDeps {
//!         fee_estimator: wallet.clone(),
//!         chain_monitor: chain_monitor.clone(),
//!         broadcaster: wallet.clone(),
//!         router,
//!         logger: wallet.clone(),
//!         entropy_source: keys.clone(),
//!         node_signer: keys.clone(),
//!         signer_provider: keys.clone(),
//!     },
//!     Default::default(),
//!     ChainParameters { network: Network::Regtest, best_block: BestBlock::from_network(Network::Regtest) },
//! ).expect("the node key is available"));
//! let peers = PeerManager::<lnkit::peer::pipe::PipeDescriptor>::new(
//!     MessageHandler {
//!         chan_handler: manager.clone(),
//!         route_handler: Arc::new(IgnoringMessageHandler), // or P2PGossipSync
//!         onion_message_handler: Arc::new(IgnoringMessageHandler),
//!         custom_message_handler: Arc::new(IgnoringMessageHandler),
//!     },
//!     Arc::new(SignerNodeKey::new(keys.clone()).unwrap()),
//!     Arc::new(SignerEntropy(keys.clone())),
//!     wallet.clone(),
//! );
//! // Then: connect sockets (lnkit::net), feed blocks to `manager` and
//! // `chain_monitor` (chain::Listen), call `peers.process_events()` after
//! // work, `timer_tick_occurred()` on both every ~10 s, take events with
//! // `manager.process_pending_events(&handler)`, and persist
//! // `manager.encode()` when `get_and_clear_needs_persistence()` says so.
//! # let _ = peers;
//! ```
//!
//! ## Decoding and encoding wire messages
//!
//! ```
//! use lnkit::msgs::{read_message, Message, Ping};
//!
//! // A decrypted BOLT 8 frame: 2-byte type, then the payload.
//! let frame = [0x00, 0x12, 0x00, 0x04, 0x00, 0x00];
//! let msg = read_message(&frame).expect("a valid ping");
//! let Message::Ping(Ping { num_pong_bytes, .. }) = &msg else { unreachable!() };
//! assert_eq!(*num_pong_bytes, 4);
//! assert_eq!(msg.encode(), frame);
//! ```

#![deny(missing_docs)]
// `deny`, not `forbid`: the AVX2 ChaCha20 in `peer::aead` opts out, for
// its intrinsics only.
#![deny(unsafe_code)]

pub mod chain;
pub mod channel;
pub mod codec;
pub mod config;
pub mod events;
pub mod fuzz;
pub mod gossip;
pub mod logger;
pub mod manager;
pub mod msgs;
pub mod net;
pub mod payment;
pub mod peer;
pub mod persist;
pub mod routing;
pub mod sign;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;

pub use bitcoin;

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
