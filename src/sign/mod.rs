//! Keys and signing: the traits a wallet may implement itself (for example
//! on a hardware or remote signer) and the in-memory defaults.
//!
//! - [`EntropySource`]: random bytes.
//! - [`NodeSigner`]: the node key: node id, ECDH (BOLT 8 and BOLT 4),
//!   invoice and gossip signatures, and the inbound payment key.
//! - [`SignerProvider`]: creates a [`ChannelSigner`] per channel from a
//!   [`ChannelKeysId`], and gives the scripts funds are swept to.
//! - [`ChannelSigner`]: per-channel keys: per-commitment points and
//!   secrets, and every signature a channel needs. It enforces two
//!   policies with typed errors: it never signs a holder commitment older
//!   than one it has revoked, and it releases per-commitment secrets only
//!   in order.
//! - [`KeysManager`] and [`InMemorySigner`]: the default implementations,
//!   deriving everything from one 32-byte seed with BIP 32.
//!
//! Holder/counterparty: "holder" is this node, "counterparty" the peer (see
//! [`crate::channel::tx`]). Curve operations are counted per thread in
//! [`CurveOpStats`].

mod in_memory;
mod keys_manager;
pub(crate) mod ops;

pub mod fuzz;

pub use in_memory::InMemorySigner;
pub use keys_manager::KeysManager;
pub use ops::CurveOpStats;

use crate::channel::tx::{
    ChannelTransactionParameters, ClosingTransaction, CounterpartyCommitmentTransaction,
    HolderCommitmentTransaction, HtlcOutput,
};
use crate::channel::CommitmentNumber;
use crate::codec::{read_array, DecodeError, Readable, Writeable};
use bitcoin::secp256k1::{ecdsa, PublicKey, Scalar, SecretKey};
use bitcoin::{Amount, ScriptBuf, Transaction};
use core::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;

/// Why a signer refused or failed to sign.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// `policy-holder-commitment-revoked`: the holder commitment (or one of
    /// its HTLC transactions) is older than or equal to a commitment whose
    /// secret was released; broadcasting it would let the peer take every
    /// output.
    HolderCommitmentRevoked {
        /// The commitment asked for.
        requested: CommitmentNumber,
        /// The newest revoked commitment.
        revoked: CommitmentNumber,
    },
    /// `policy-secret-release-order`: per-commitment secrets are released
    /// one at a time in order (the latest may be released again, for
    /// retransmission); this request skipped ahead or went back.
    SecretOutOfOrder {
        /// The commitment whose secret was asked for.
        requested: CommitmentNumber,
        /// The commitment whose secret may be released next.
        next: CommitmentNumber,
    },
    /// `policy-revoke-needs-next`: a commitment may be revoked only once the
    /// next holder commitment has been validated, or we would be left with
    /// nothing safe to broadcast.
    NoNextCommitment {
        /// The commitment whose secret was asked for.
        requested: CommitmentNumber,
    },
    /// The channel parameters given do not hold this signer's keys.
    WrongChannelParameters,
    /// A key derivation or transaction build failed.
    Derivation,
    /// An input index outside the transaction.
    InputOutOfRange,
    /// The signer cannot sign this request right now (remote signers).
    Unavailable,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::HolderCommitmentRevoked { requested, revoked } => write!(
                f,
                "policy-holder-commitment-revoked: commitment {requested} is not newer than revoked commitment {revoked}"
            ),
            SignError::SecretOutOfOrder { requested, next } => write!(
                f,
                "policy-secret-release-order: asked for the secret of commitment {requested}, next is {next}"
            ),
            SignError::NoNextCommitment { requested } => write!(
                f,
                "policy-revoke-needs-next: commitment {requested} cannot be revoked before the next one is validated"
            ),
            SignError::WrongChannelParameters => f.write_str("channel parameters do not match this signer"),
            SignError::Derivation => f.write_str("key derivation or transaction build failed"),
            SignError::InputOutOfRange => f.write_str("input index out of range"),
            SignError::Unavailable => f.write_str("signer unavailable"),
        }
    }
}
impl std::error::Error for SignError {}

/// A source of cryptographically secure random bytes.
pub trait EntropySource: Send + Sync {
    /// 32 fresh random bytes; never the same twice.
    fn get_secure_random_bytes(&self) -> [u8; 32];
}

/// The 32-byte key from which inbound payment secrets and hashes are
/// derived (stateless invoices).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InboundPaymentKey(pub [u8; 32]);

impl fmt::Debug for InboundPaymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InboundPaymentKey(..)")
    }
}

/// Which key an operation uses on the node level. Only the node key today;
/// the enum leaves room for phantom-node keys.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// The node's own key.
    Node,
}

/// Node-level keys and signatures.
pub trait NodeSigner: Send + Sync {
    /// The node id (BOLT 7 `node_id`, the BOLT 8 static key).
    fn node_id(&self, recipient: Recipient) -> Result<PublicKey, SignError>;

    /// ECDH with the node key as BOLT 8 and BOLT 4 define it: the SHA256 of
    /// the compressed point `k·other_key`, where `k` is the node secret,
    /// multiplied by `tweak` when given (blinded paths use a tweaked node
    /// key: `k' = k·tweak`).
    fn ecdh(
        &self,
        recipient: Recipient,
        other_key: &PublicKey,
        tweak: Option<&Scalar>,
    ) -> Result<[u8; 32], SignError>;

    /// Signs a BOLT 11 invoice. `signing_preimage` is the exact byte string
    /// BOLT 11 hashes: the human-readable part's bytes followed by the data
    /// part (without the signature) converted from 5-bit groups to bytes,
    /// zero-padded. The signer computes its SHA256, so it can parse and
    /// check what it signs.
    fn sign_invoice(
        &self,
        signing_preimage: &[u8],
    ) -> Result<ecdsa::RecoverableSignature, SignError>;

    /// Signs a gossip message (`node_announcement`, `channel_update`, the
    /// node half of `channel_announcement`) given its 32-byte double-SHA256
    /// hash (BOLT 7).
    fn sign_gossip_message(&self, msg_hash: &[u8; 32]) -> Result<ecdsa::Signature, SignError>;

    /// The key stateless inbound payments are derived from.
    fn get_inbound_payment_key(&self) -> InboundPaymentKey;
}

/// Identifies a channel's keys: a [`SignerProvider`] re-derives the same
/// signer from the same id, so persisting the id is enough.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelKeysId(pub [u8; 32]);

impl fmt::Debug for ChannelKeysId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelKeysId(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}
impl Writeable for ChannelKeysId {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.0)
    }
    fn size_hint(&self) -> usize {
        32
    }
}
impl Readable for ChannelKeysId {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelKeysId(read_array(r)?))
    }
}

/// Creates channel signers and provides the scripts funds are paid to.
pub trait SignerProvider: Send + Sync {
    /// A fresh, unique keys id for a new channel.
    fn generate_channel_keys_id(&self, inbound: bool, user_channel_id: u128) -> ChannelKeysId;
    /// The signer for a channel's keys id (the same keys each time).
    fn derive_channel_signer(
        &self,
        channel_value: Amount,
        keys_id: ChannelKeysId,
    ) -> Arc<dyn ChannelSigner>;
    /// Where swept funds of the channel with this keys id go.
    fn get_destination_script(&self, keys_id: ChannelKeysId) -> Result<ScriptBuf, SignError>;
    /// The `scriptpubkey` for our `shutdown` message.
    fn get_shutdown_scriptpubkey(&self) -> Result<ScriptBuf, SignError>;
    /// Restores a signer from [`ChannelSigner::encode_signer`] bytes (all of
    /// `bytes` must be used), refusing keys this provider did not derive.
    fn read_channel_signer(&self, bytes: &[u8]) -> Result<Arc<dyn ChannelSigner>, DecodeError>;
}

/// Signatures for the peer's commitment: the funding signature and one
/// signature per untrimmed HTLC in output order (`commitment_signed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentSignatures {
    /// Signature of the commitment transaction with our funding key.
    pub commitment: ecdsa::Signature,
    /// Signatures of the peer's HTLC transactions with our HTLC key.
    pub htlcs: Vec<ecdsa::Signature>,
}

/// A channel's keys and every signature the channel needs. Object-safe:
/// channels hold an `Arc<dyn ChannelSigner>`.
///
/// Each method takes the [`ChannelTransactionParameters`] so a stateless
/// remote signer can check what it signs; implementations must refuse
/// parameters whose holder keys are not theirs.
pub trait ChannelSigner: Send + Sync {
    /// The id these keys were derived from.
    fn channel_keys_id(&self) -> ChannelKeysId;

    /// Our basepoints and funding key.
    fn pubkeys(&self) -> &crate::channel::keys::ChannelPublicKeys;

    /// The signer's persistent form, including its revocation state, for
    /// [`SignerProvider::read_channel_signer`]. Channels and monitors store
    /// it so the signer's policies survive a restart.
    fn encode_signer(&self) -> Vec<u8>;

    /// Our per-commitment point for holder commitment `number`.
    fn per_commitment_point(&self, number: CommitmentNumber) -> Result<PublicKey, SignError>;

    /// Releases the per-commitment secret of holder commitment `number`,
    /// revoking it (`revoke_and_ack`). Refuses out of order (see
    /// [`SignError::SecretOutOfOrder`]) and before the next holder
    /// commitment was validated ([`SignError::NoNextCommitment`]).
    fn release_commitment_secret(&self, number: CommitmentNumber) -> Result<[u8; 32], SignError>;

    /// Records that the peer signed holder commitment `tx` (its signatures
    /// were checked by the channel). Refuses a revoked commitment.
    fn validate_holder_commitment(
        &self,
        params: &ChannelTransactionParameters,
        tx: &HolderCommitmentTransaction,
    ) -> Result<(), SignError>;

    /// Signs the peer's commitment and its HTLC transactions
    /// (`commitment_signed`).
    fn sign_counterparty_commitment(
        &self,
        params: &ChannelTransactionParameters,
        tx: &CounterpartyCommitmentTransaction,
    ) -> Result<CommitmentSignatures, SignError>;

    /// Signs our own commitment for broadcast. Refuses a revoked one.
    fn sign_holder_commitment(
        &self,
        params: &ChannelTransactionParameters,
        tx: &HolderCommitmentTransaction,
    ) -> Result<ecdsa::Signature, SignError>;

    /// Signs our HTLC-timeout/success transactions of holder commitment
    /// `tx`, in output order. Refuses a revoked commitment.
    fn sign_holder_htlc_transactions(
        &self,
        params: &ChannelTransactionParameters,
        tx: &HolderCommitmentTransaction,
    ) -> Result<Vec<ecdsa::Signature>, SignError>;

    /// Signs input `input` of `tx` spending HTLC output `htlc_index` of
    /// holder commitment `commitment`, with `SIGHASH_ALL`. With anchors the
    /// zero-fee HTLC transaction is broadcast with extra fee inputs and
    /// outputs added (the peer's `SIGHASH_SINGLE|ANYONECANPAY` signature
    /// allows it), so our signature must cover that final transaction.
    /// Refuses a revoked commitment.
    fn sign_holder_htlc_input(
        &self,
        params: &ChannelTransactionParameters,
        commitment: &HolderCommitmentTransaction,
        htlc_index: usize,
        tx: &Transaction,
        input: usize,
    ) -> Result<ecdsa::Signature, SignError>;

    /// Signs input `input` of `justice_tx`, which spends the `to_local`
    /// output of a revoked counterparty commitment worth `amount`, with the
    /// revocation key built from the released `per_commitment_secret`.
    /// The outputs of the peer's HTLC-timeout/success transactions of that
    /// commitment have the same script, so this signs their justice inputs
    /// too (with their own `amount`).
    fn sign_justice_revoked_output(
        &self,
        params: &ChannelTransactionParameters,
        justice_tx: &Transaction,
        input: usize,
        amount: Amount,
        per_commitment_secret: &SecretKey,
    ) -> Result<ecdsa::Signature, SignError>;

    /// Signs input `input` of `justice_tx`, which spends HTLC output `htlc`
    /// of a revoked counterparty commitment, with the revocation key.
    fn sign_justice_revoked_htlc(
        &self,
        params: &ChannelTransactionParameters,
        justice_tx: &Transaction,
        input: usize,
        per_commitment_secret: &SecretKey,
        htlc: &HtlcOutput,
    ) -> Result<ecdsa::Signature, SignError>;

    /// Signs input `input` of `tx`, which claims HTLC output `htlc` of a
    /// (current) counterparty commitment directly: by preimage for HTLCs we
    /// received, after timeout for HTLCs we offered. `per_commitment_point`
    /// is the peer's point of that commitment.
    fn sign_counterparty_htlc_claim(
        &self,
        params: &ChannelTransactionParameters,
        tx: &Transaction,
        input: usize,
        per_commitment_point: &PublicKey,
        htlc: &HtlcOutput,
    ) -> Result<ecdsa::Signature, SignError>;

    /// Signs a cooperative closing transaction with the funding key.
    fn sign_closing_transaction(
        &self,
        params: &ChannelTransactionParameters,
        tx: &ClosingTransaction,
    ) -> Result<ecdsa::Signature, SignError>;

    /// Signs input `input` of `tx`, which spends our anchor output
    /// (330 sat, locked to our funding key) to bump a commitment by CPFP.
    fn sign_holder_anchor_input(
        &self,
        params: &ChannelTransactionParameters,
        tx: &Transaction,
        input: usize,
    ) -> Result<ecdsa::Signature, SignError>;

    /// Signs a `channel_announcement` hash (double-SHA256, BOLT 7) with the
    /// funding key (`bitcoin_signature`).
    fn sign_channel_announcement_with_funding_key(
        &self,
        msg_hash: &[u8; 32],
    ) -> Result<ecdsa::Signature, SignError>;
}
