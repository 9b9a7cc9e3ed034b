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
//! - [`payment`]: BOLT 4 onions and failures, BOLT 11 invoices.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod codec;
pub mod logger;
pub mod payment;
pub mod types;

pub use bitcoin;
