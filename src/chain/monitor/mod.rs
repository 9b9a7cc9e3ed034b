//! Channel monitors: the part of a node that enforces channels on chain.
//!
//! - [`ChannelMonitorUpdate`]: what a channel tells its monitor after each
//!   state change (new commitments, revocation secrets, preimages, force
//!   close), with a versioned TLV byte form.
//! - [`ChannelMonitor`]: one channel's enforcement state; it signs and
//!   broadcasts our latest commitment on force close, recognises which
//!   commitment spent the funding output, and answers a revoked
//!   commitment with a justice transaction.
//! - [`ChainMonitor`]: keeps every monitor, persists each change through
//!   [`Persist`](crate::persist::Persist) and feeds them blocks; the
//!   channel manager talks to it through [`Watch`].
//!
//! The contract between them is **persist before speak**: a channel must
//! not send the message that depends on an update (`revoke_and_ack`,
//! `commitment_signed`, `funding_signed`, …) until the update is durably
//! persisted, i.e. [`Watch::update_channel`] returned
//! [`ChannelMonitorUpdateStatus::Completed`](crate::chain::ChannelMonitorUpdateStatus::Completed)
//! or a [`MonitorEvent::Completed`] arrived for it.

mod chain_monitor;
mod channel_monitor;
mod encoding;
pub mod update;

pub use chain_monitor::{ChainMonitor, MonitorStatusError, Watch};
pub use channel_monitor::ChannelMonitor;
pub use update::{
    ChannelMonitorUpdate, ChannelMonitorUpdateStep, CounterpartyCommitmentInfo,
    HolderCommitmentInfo,
};

use crate::channel::keys::SecretStoreError;
use crate::channel::tx::{SignatureError, TxBuildError};
use crate::channel::CommitmentNumber;
use crate::sign::SignError;
use crate::types::{PaymentHash, PaymentPreimage};
use bitcoin::{BlockHash, OutPoint, Txid};
use core::fmt;

/// Which transaction spent a channel's funding output.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FundingSpendKind {
    /// Our latest commitment.
    Holder {
        /// Its number.
        commitment_number: CommitmentNumber,
    },
    /// A commitment of the peer that it had not revoked.
    Counterparty {
        /// Its number.
        commitment_number: CommitmentNumber,
    },
    /// A commitment of the peer it had revoked: a breach. The monitor
    /// broadcast a justice transaction sweeping its `to_local` output.
    RevokedCounterparty {
        /// Its number.
        commitment_number: CommitmentNumber,
        /// The justice transaction broadcast, if one was worth it.
        justice_txid: Option<Txid>,
    },
    /// One of our own older commitments, which we had revoked: the peer can
    /// take its `to_local` and HTLC outputs with the revocation key. Only a
    /// node run from stale state (a restored backup) broadcasts one.
    RevokedHolder {
        /// Its number.
        commitment_number: CommitmentNumber,
    },
    /// A cooperative closing transaction (BOLT 3 locktime 0, final sequence).
    Cooperative,
    /// Something we cannot place.
    Unknown,
}

/// The confirmed spend of a funding output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingSpend {
    /// The spending transaction.
    pub txid: Txid,
    /// The height it confirmed at.
    pub height: u32,
    /// The block it confirmed in.
    pub block_hash: BlockHash,
    /// What it was.
    pub kind: FundingSpendKind,
}

/// What a monitor tells the channel manager.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorEvent {
    /// The funding output was spent on chain (the channel is closed);
    /// `kind` says by what.
    CommitmentTxConfirmed {
        /// The channel's funding output.
        funding_outpoint: OutPoint,
        /// The spending transaction.
        txid: Txid,
        /// The height it confirmed at.
        height: u32,
        /// What it was.
        kind: FundingSpendKind,
    },
    /// The peer claimed an HTLC we offered on chain, revealing its
    /// preimage (claim it upstream). The monitor keeps the preimage too.
    HtlcEvent {
        /// The channel's funding output.
        funding_outpoint: OutPoint,
        /// The HTLC's payment hash.
        payment_hash: PaymentHash,
        /// The preimage revealed.
        payment_preimage: PaymentPreimage,
        /// The transaction that revealed it.
        claim_txid: Txid,
        /// The height it confirmed at.
        height: u32,
    },
    /// Every in-flight update of the channel up to `monitor_update_id` is
    /// durably persisted: messages held for them may go out.
    Completed {
        /// The channel's funding output.
        funding_outpoint: OutPoint,
        /// The latest update now persisted.
        monitor_update_id: u64,
    },
}

/// Why a [`ChannelMonitor`] refused an update.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorUpdateError {
    /// `monitor-update-id-order`: update ids must increase strictly.
    UpdateIdNotIncreasing {
        /// The latest id applied.
        latest: u64,
        /// The id given.
        got: u64,
    },
    /// `monitor-closed`: no new commitments after a force close.
    ChannelClosed,
    /// `monitor-holder-commitment-order`: the holder commitment is not
    /// newer than the one held.
    HolderCommitmentNotNewer {
        /// The commitment held.
        current: CommitmentNumber,
        /// The commitment given.
        got: CommitmentNumber,
    },
    /// `monitor-counterparty-commitment-order`: the counterparty
    /// commitment is not newer than the newest known.
    CounterpartyCommitmentNotNewer {
        /// The newest known.
        current: CommitmentNumber,
        /// The commitment given.
        got: CommitmentNumber,
    },
    /// A commitment could not be rebuilt from the update's data.
    Build(TxBuildError),
    /// The peer's signatures on our commitment do not verify.
    Signatures(SignatureError),
    /// `monitor-counterparty-txid`: the counterparty commitment rebuilt
    /// from the update's data has another txid than the one given.
    CounterpartyTxidMismatch {
        /// The txid in the update.
        given: Txid,
        /// The txid rebuilt.
        built: Txid,
    },
    /// The revocation secret was refused (not the next one, or it does
    /// not derive the earlier ones: `bolt3-shachain-derivable`).
    Secret(SecretStoreError),
    /// `bolt2-revoke-secret-point`: the secret does not generate the
    /// per-commitment point the peer gave for that commitment.
    SecretPointMismatch {
        /// The commitment the secret was for.
        commitment_number: CommitmentNumber,
    },
    /// `bolt2-shutdown-script-fixed`: the shutdown script changed.
    ShutdownScriptChanged,
    /// The signer refused or failed.
    Signer(SignError),
}

impl fmt::Display for MonitorUpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorUpdateError::UpdateIdNotIncreasing { latest, got } => write!(
                f,
                "monitor-update-id-order: update {got} is not newer than update {latest}"
            ),
            MonitorUpdateError::ChannelClosed => {
                f.write_str("monitor-closed: no new commitments after a force close")
            }
            MonitorUpdateError::HolderCommitmentNotNewer { current, got } => write!(
                f,
                "monitor-holder-commitment-order: holder commitment {got} is not newer than {current}"
            ),
            MonitorUpdateError::CounterpartyCommitmentNotNewer { current, got } => write!(
                f,
                "monitor-counterparty-commitment-order: counterparty commitment {got} is not newer than {current}"
            ),
            MonitorUpdateError::Build(e) => write!(f, "cannot rebuild commitment: {e}"),
            MonitorUpdateError::Signatures(e) => write!(f, "{e}"),
            MonitorUpdateError::CounterpartyTxidMismatch { given, built } => write!(
                f,
                "monitor-counterparty-txid: update says {given}, data builds {built}"
            ),
            MonitorUpdateError::Secret(e) => write!(f, "{e}"),
            MonitorUpdateError::SecretPointMismatch { commitment_number } => write!(
                f,
                "bolt2-revoke-secret-point: secret does not match the point of commitment {commitment_number}"
            ),
            MonitorUpdateError::ShutdownScriptChanged => {
                f.write_str("bolt2-shutdown-script-fixed: the shutdown script cannot change")
            }
            MonitorUpdateError::Signer(e) => write!(f, "signer: {e}"),
        }
    }
}
impl std::error::Error for MonitorUpdateError {}

pub mod fuzz;
