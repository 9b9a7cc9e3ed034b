//! BOLT 3 witness scripts and weights.
//!
//! Each builder names the BOLT 3 section it implements. Keys are passed
//! from the broadcaster's point of view (see [`super::keys`]).

use super::keys::HtlcKeys;
use crate::types::PaymentHash;
use bitcoin::hashes::{hash160, ripemd160, Hash};
use bitcoin::opcodes::all::*;
use bitcoin::script::Builder;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, ScriptBuf};

/// Which commitment format a channel uses. Only the two formats BOLT 3
/// still specifies for new channels are supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitmentFormat {
    /// `option_static_remotekey`: `to_remote` is P2WPKH to the peer's
    /// `payment_basepoint`; HTLC transactions pay their fee from the HTLC.
    StaticRemoteKey,
    /// `option_anchors` (with zero-fee HTLC transactions): two 330-sat
    /// anchor outputs, CSV-1 locks on `to_remote` and HTLC outputs, and
    /// HTLC transactions signed `SIGHASH_SINGLE|SIGHASH_ANYONECANPAY` by
    /// the countersignatory.
    Anchors,
}

impl CommitmentFormat {
    /// Whether anchor outputs and zero-fee HTLC transactions are used.
    pub const fn has_anchors(self) -> bool {
        matches!(self, CommitmentFormat::Anchors)
    }
    /// The byte used to persist the format.
    pub(crate) const fn to_byte(self) -> u8 {
        match self {
            CommitmentFormat::StaticRemoteKey => 0,
            CommitmentFormat::Anchors => 1,
        }
    }
    /// Inverse of `to_byte`.
    pub(crate) const fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(CommitmentFormat::StaticRemoteKey),
            1 => Some(CommitmentFormat::Anchors),
            _ => None,
        }
    }
}

/// Value of each anchor output (BOLT 3: "fixed at 330 sats").
pub const ANCHOR_OUTPUT_VALUE: Amount = Amount::from_sat(330);

/// BOLT 3 Fee Calculation: expected weight of a commitment transaction with
/// `untrimmed_htlcs` HTLC outputs (724 or, with anchors, 1124, plus 172 each).
pub const fn commitment_tx_weight(format: CommitmentFormat, untrimmed_htlcs: usize) -> u64 {
    let base = if format.has_anchors() { 1124 } else { 724 };
    base + 172u64.saturating_mul(untrimmed_htlcs as u64)
}

/// BOLT 3 Fee Calculation: HTLC-timeout weight (663), used for the fee only
/// without anchors (zero-fee HTLC transactions pay nothing).
pub const HTLC_TIMEOUT_WEIGHT: u64 = 663;
/// BOLT 3 Fee Calculation: HTLC-success weight (703).
pub const HTLC_SUCCESS_WEIGHT: u64 = 703;

/// The funding output's witness script: `2 <pubkey1> <pubkey2> 2
/// OP_CHECKMULTISIG`, keys sorted lexicographically in compressed form
/// (BOLT 3 Funding Transaction Output).
pub fn funding_script(a: &PublicKey, b: &PublicKey) -> ScriptBuf {
    let (a, b) = (a.serialize(), b.serialize());
    let (k1, k2) = if a <= b { (a, b) } else { (b, a) };
    Builder::new()
        .push_opcode(OP_PUSHNUM_2)
        .push_slice(k1)
        .push_slice(k2)
        .push_opcode(OP_PUSHNUM_2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// The `to_local` witness script (BOLT 3 `to_local` Output), also the
/// output script of HTLC-timeout/success transactions.
pub fn to_local_script(
    revocation_key: &PublicKey,
    to_self_delay: u16,
    delayed_key: &PublicKey,
) -> ScriptBuf {
    Builder::new()
        .push_opcode(OP_IF)
        .push_slice(revocation_key.serialize())
        .push_opcode(OP_ELSE)
        .push_int(to_self_delay as i64)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(delayed_key.serialize())
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The anchors `to_remote` witness script: `<remotepubkey>
/// OP_CHECKSIGVERIFY 1 OP_CHECKSEQUENCEVERIFY` (BOLT 3 `to_remote` Output).
pub fn to_remote_anchored_script(payment_key: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(payment_key.serialize())
        .push_opcode(OP_CHECKSIGVERIFY)
        .push_int(1)
        .push_opcode(OP_CSV)
        .into_script()
}

/// The anchor witness script (BOLT 3 `to_local_anchor` and
/// `to_remote_anchor` Output): `<funding_pubkey> OP_CHECKSIG OP_IFDUP
/// OP_NOTIF OP_16 OP_CHECKSEQUENCEVERIFY OP_ENDIF`.
pub fn anchor_script(funding_pubkey: &PublicKey) -> ScriptBuf {
    Builder::new()
        .push_slice(funding_pubkey.serialize())
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_IFDUP)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_PUSHNUM_16)
        .push_opcode(OP_CSV)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// The witness script of an HTLC output on a commitment (BOLT 3 Offered /
/// Received HTLC Outputs), from the commitment's `revocationpubkey` and HTLC
/// keys. `offered` is from the broadcaster's view.
pub fn htlc_script(
    revocation_key: &PublicKey,
    keys: &HtlcKeys,
    offered: bool,
    payment_hash: &PaymentHash,
    cltv_expiry: u32,
    format: CommitmentFormat,
) -> ScriptBuf {
    let revocation_hash = hash160::Hash::hash(&revocation_key.serialize()).to_byte_array();
    let payment_hash160 = ripemd160::Hash::hash(&payment_hash.0).to_byte_array();
    let b = Builder::new()
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(revocation_hash)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(keys.countersignatory.serialize())
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL);
    let b = if offered {
        b.push_opcode(OP_NOTIF)
            .push_opcode(OP_DROP)
            .push_int(2)
            .push_opcode(OP_SWAP)
            .push_slice(keys.broadcaster.serialize())
            .push_int(2)
            .push_opcode(OP_CHECKMULTISIG)
            .push_opcode(OP_ELSE)
            .push_opcode(OP_HASH160)
            .push_slice(payment_hash160)
            .push_opcode(OP_EQUALVERIFY)
            .push_opcode(OP_CHECKSIG)
            .push_opcode(OP_ENDIF)
    } else {
        b.push_opcode(OP_IF)
            .push_opcode(OP_HASH160)
            .push_slice(payment_hash160)
            .push_opcode(OP_EQUALVERIFY)
            .push_int(2)
            .push_opcode(OP_SWAP)
            .push_slice(keys.broadcaster.serialize())
            .push_int(2)
            .push_opcode(OP_CHECKMULTISIG)
            .push_opcode(OP_ELSE)
            .push_opcode(OP_DROP)
            .push_int(cltv_expiry as i64)
            .push_opcode(OP_CLTV)
            .push_opcode(OP_DROP)
            .push_opcode(OP_CHECKSIG)
            .push_opcode(OP_ENDIF)
    };
    let b = if format.has_anchors() {
        b.push_int(1).push_opcode(OP_CSV).push_opcode(OP_DROP)
    } else {
        b
    };
    b.push_opcode(OP_ENDIF).into_script()
}
