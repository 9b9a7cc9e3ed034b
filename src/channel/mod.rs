//! Channels: keys and transactions of BOLT 3 (the state machine of BOLT 2
//! will live beside them).
//!
//! - [`keys`]: per-commitment key derivation, per-commitment secrets and
//!   their compact storage.
//! - [`script`]: the witness scripts and expected weights.
//! - [`tx`]: commitment and HTLC transactions, built from
//!   [`tx::ChannelTransactionParameters`] for the holder's or the
//!   counterparty's side.
//! - [`closing`]: the cooperative closing transaction.
//! - [`closing_negotiation`]: `shutdown` checks and the `closing_signed`
//!   fee negotiation.
//! - [`quiescence`]: the `stfu` quiescence protocol state.
//! - [`establish`]: BOLT 2 v1 channel establishment as a state machine
//!   (open/accept/funding_created/funding_signed/channel_ready).
//!
//! "Holder" is this node, "counterparty" the peer; "broadcaster" and
//! "countersignatory" name the roles on one commitment transaction (BOLT 3's
//! "local" and "remote"). See [`tx`] for how they map.

pub mod closing;
pub mod closing_negotiation;
pub mod establish;
pub mod funded;
pub mod fuzz;
pub mod keys;
pub mod quiescence;
pub mod script;
pub mod tx;
mod units;

pub use units::{CommitmentNumber, FeeRatePerKw, MilliSatoshi, MAX_COMMITMENT_NUMBER};
