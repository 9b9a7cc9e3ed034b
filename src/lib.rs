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
//! - [`sign`]: key traits (`NodeSigner`, `SignerProvider`, `ChannelSigner`), `KeysManager`.
//! - [`channel`]: BOLT 3 keys and transactions (commitment, HTLC, closing).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod channel;
pub mod codec;
pub mod logger;
pub mod sign;
pub mod types;

pub use bitcoin;
