//! Channels: keys and transactions of BOLT 3 (the state machine of BOLT 2
//! will live beside them).
//!
//! - [`keys`]: per-commitment key derivation, per-commitment secrets and
//!   their compact storage.
//! - [`script`]: the witness scripts and expected weights.
//! - [`tx`]: commitment, HTLC and closing transactions, built from
//!   [`tx::ChannelTransactionParameters`] for the holder's or the
//!   counterparty's side.
//!
//! "Holder" is this node, "counterparty" the peer; "broadcaster" and
//! "countersignatory" name the roles on one commitment transaction (BOLT 3's
//! "local" and "remote"). See [`tx`] for how they map.

pub mod fuzz;
pub mod keys;
pub mod script;
pub mod tx;
mod units;

pub use units::{CommitmentNumber, FeeRatePerKw, MilliSatoshi, MAX_COMMITMENT_NUMBER};
