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
//! - `testing` (feature `testing`): `MockChain` and test doubles for wallet tests.
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
//!   [`channel::establish`]: the BOLT 2 v1 establishment state machine.
//! - [`config`]: `UserConfig`, the channel policy (handshake offers and limits, forwarding).
//! - [`peer`]: BOLT 8 transport and the `PeerManager` (connections, init, ping, gossip relay).
//! - [`net`]: a std `TcpStream` + threads driver for the `PeerManager`.
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
#![forbid(unsafe_code)]

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
