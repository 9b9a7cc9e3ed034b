//! `UtxoLookup`: how gossip validation asks the chain whether a channel's
//! funding output exists, with a synchronous answer or one that comes later.

use bitcoin::blockdata::constants::ChainHash;
use bitcoin::blockdata::opcodes::all::{OP_CHECKMULTISIG, OP_PUSHNUM_2};
use bitcoin::blockdata::script::Builder;
use bitcoin::{ScriptBuf, TxOut};
use core::fmt;
use std::sync::{Arc, Mutex};

/// Why the chain source could not produce the output.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UtxoLookupError {
    /// The chain is not one the source serves.
    UnknownChain,
    /// No such transaction output, or it is spent.
    UnknownTx,
}

impl fmt::Display for UtxoLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UtxoLookupError::UnknownChain => "unknown chain",
            UtxoLookupError::UnknownTx => "funding output not found or spent",
        })
    }
}

impl std::error::Error for UtxoLookupError {}

/// An answer the chain source will give later: it keeps a clone and calls
/// [`resolve`](Self::resolve); the gossip handler picks the result up on its
/// next call (or [`P2PGossipSync::process_pending_lookups`](super::P2PGossipSync::process_pending_lookups)).
#[derive(Clone, Debug, Default)]
pub struct UtxoFuture {
    result: Arc<Mutex<Option<Result<TxOut, UtxoLookupError>>>>,
}

impl UtxoFuture {
    /// A future with no answer yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Supplies the answer.
    pub fn resolve(&self, result: Result<TxOut, UtxoLookupError>) {
        *self.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    }
    /// The answer, once given.
    pub(crate) fn take(&self) -> Option<Result<TxOut, UtxoLookupError>> {
        self.result.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// What [`UtxoLookup::get_utxo`] answers.
#[derive(Clone, Debug)]
pub enum UtxoResult {
    /// The answer now.
    Sync(Result<TxOut, UtxoLookupError>),
    /// The answer later, through the future.
    Async(UtxoFuture),
}

/// The chain access gossip validation needs: the output a short channel id
/// points at (block height, transaction index, output index).
pub trait UtxoLookup: Send + Sync {
    /// The output `short_channel_id` names on `chain_hash`, if unspent.
    fn get_utxo(&self, chain_hash: &ChainHash, short_channel_id: u64) -> UtxoResult;
}

/// BOLT 3 funding output script: P2WSH of
/// `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys sorted lexicographically.
pub fn funding_script_pubkey(key_a: &[u8; 33], key_b: &[u8; 33]) -> ScriptBuf {
    let (k1, k2) = if key_a <= key_b {
        (key_a, key_b)
    } else {
        (key_b, key_a)
    };
    let witness = Builder::new()
        .push_opcode(OP_PUSHNUM_2)
        .push_slice(k1)
        .push_slice(k2)
        .push_opcode(OP_PUSHNUM_2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script();
    ScriptBuf::new_p2wsh(&witness.wscript_hash())
}
