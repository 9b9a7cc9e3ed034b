//! # lnkit
//!
//! An embeddable Lightning Network node library: a runtime-agnostic,
//! trait-based core that a wallet wires to its own keys, chain source,
//! broadcaster, fee estimator and storage.
//!
//! Module map (see `ARCHITECTURE.md`):
//! - [`codec`]: `Readable`/`Writeable`, BigSize, TLV streams, `impl_writable_msg!`.
//! - [`types`]: domain newtypes (`ChannelId`, `ShortChannelId`, `PaymentHash`, …).
//! - [`msgs`]: every BOLT 1/2/4/7 message, [`msgs::Message`] dispatch, BOLT 9 features,
//!   and the handler traits.
//! - [`events`]: `MessageSendEvent`, what components ask the `PeerManager` to send.
//! - [`logger`]: the `Logger` trait the wallet supplies.
//! - [`payment`]: BOLT 4 onions and failures, BOLT 11 invoices.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod codec;
pub mod events;
pub mod logger;
pub mod msgs;
pub mod payment;
pub mod types;

pub use bitcoin;
