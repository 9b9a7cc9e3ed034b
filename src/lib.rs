//! # lnkit
//!
//! An embeddable Lightning Network node library: a runtime-agnostic,
//! trait-based core that a wallet wires to its own keys, chain source,
//! broadcaster, fee estimator and storage.
//!
//! Module map (see `ARCHITECTURE.md`):
//! - [`codec`]: `Readable`/`Writeable`, BigSize, TLV streams, `impl_writable_msg!`.
//! - [`types`]: domain newtypes (`ChannelId`, `ShortChannelId`, `PaymentHash`, …).
//! - [`logger`]: the `Logger` trait the wallet supplies.
//! - [`gossip`]: BOLT 7 network graph and gossip validation.
//! - [`routing`]: `find_route`, the `Router` trait and scorers.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod codec;
pub mod gossip;
pub mod logger;
pub mod routing;
pub mod types;

pub use bitcoin;
