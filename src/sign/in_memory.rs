//! [`InMemorySigner`]: a channel's secret keys held in memory.

use super::ops;
use super::{ChannelKeysId, ChannelSigner, CommitmentSignatures, SignError};
use crate::channel::keys::{
    build_commitment_secret, derive_private_key, derive_public_key, derive_revocation_private_key,
    ChannelPublicKeys,
};
use crate::channel::script::{anchor_script, to_local_script, ANCHOR_OUTPUT_VALUE};
use crate::channel::tx::{
    ChannelTransactionParameters, ClosingTransaction, CounterpartyCommitmentTransaction,
    HolderCommitmentTransaction, HtlcOutput,
};
use crate::channel::CommitmentNumber;
use crate::codec::{read_array, DecodeError, Readable, Writeable};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa, PublicKey, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, ScriptBuf, Transaction};
use core::fmt;
use std::io::{self, Read, Write};
use std::sync::{Mutex, MutexGuard};

/// Revocation bookkeeping that backs the signer's two policies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct SignerState {
    /// The newest holder commitment whose secret was released.
    last_revoked: Option<CommitmentNumber>,
    /// The newest holder commitment validated (signed by the peer).
    highest_validated: Option<CommitmentNumber>,
    /// The last two per-commitment points handed out: a channel asks for
    /// the current and the next one repeatedly (`revoke_and_ack`,
    /// `channel_reestablish`), and each costs a multiplication by `G`.
    point_cache: [Option<(CommitmentNumber, PublicKey)>; 2],
}

/// The default [`ChannelSigner`]: all of a channel's secrets in memory.
///
/// Persisted with [`Writeable`]/[`Readable`] (secrets, keys id and
/// revocation state); a `KeysManager` can also re-derive the keys from the
/// keys id alone, but the revocation state must be persisted with the
/// channel for the signer's policies to survive restarts.
pub struct InMemorySigner {
    funding_key: SecretKey,
    revocation_base_key: SecretKey,
    payment_key: SecretKey,
    delayed_payment_base_key: SecretKey,
    htlc_base_key: SecretKey,
    commitment_seed: [u8; 32],
    pubkeys: ChannelPublicKeys,
    keys_id: ChannelKeysId,
    state: Mutex<SignerState>,
}

impl fmt::Debug for InMemorySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySigner")
            .field("keys_id", &self.keys_id)
            .field("pubkeys", &self.pubkeys)
            .finish_non_exhaustive()
    }
}

impl InMemorySigner {
    /// A signer from explicit secrets. Computes the five public keys (five
    /// multiplications by `G`), once.
    pub fn new(
        funding_key: SecretKey,
        revocation_base_key: SecretKey,
        payment_key: SecretKey,
        delayed_payment_base_key: SecretKey,
        htlc_base_key: SecretKey,
        commitment_seed: [u8; 32],
        keys_id: ChannelKeysId,
    ) -> Self {
        let pubkeys = ChannelPublicKeys {
            funding_pubkey: ops::pubkey_of(&funding_key),
            revocation_basepoint: ops::pubkey_of(&revocation_base_key),
            payment_point: ops::pubkey_of(&payment_key),
            delayed_payment_basepoint: ops::pubkey_of(&delayed_payment_base_key),
            htlc_basepoint: ops::pubkey_of(&htlc_base_key),
        };
        InMemorySigner {
            funding_key,
            revocation_base_key,
            payment_key,
            delayed_payment_base_key,
            htlc_base_key,
            commitment_seed,
            pubkeys,
            keys_id,
            state: Mutex::new(SignerState::default()),
        }
    }

    /// The `payment_basepoint` secret: with `option_static_remotekey` the
    /// peer pays our `to_remote` output straight to it, so sweeping that
    /// output needs it.
    pub fn payment_key(&self) -> &SecretKey {
        &self.payment_key
    }

    /// The delayed payment basepoint secret, for sweeping our delayed
    /// outputs (combine with [`derive_private_key`]).
    pub fn delayed_payment_base_key(&self) -> &SecretKey {
        &self.delayed_payment_base_key
    }

    fn state(&self) -> MutexGuard<'_, SignerState> {
        // A poisoned lock only means another thread panicked mid-update of
        // two plain integers; the values are still meaningful.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_params(&self, params: &ChannelTransactionParameters) -> Result<(), SignError> {
        if params.holder_pubkeys != self.pubkeys {
            return Err(SignError::WrongChannelParameters);
        }
        Ok(())
    }

    fn check_not_revoked(&self, number: CommitmentNumber) -> Result<(), SignError> {
        if let Some(revoked) = self.state().last_revoked {
            if number <= revoked {
                return Err(SignError::HolderCommitmentRevoked {
                    requested: number,
                    revoked,
                });
            }
        }
        Ok(())
    }

    fn per_commitment_secret(&self, number: CommitmentNumber) -> [u8; 32] {
        build_commitment_secret(&self.commitment_seed, number.secret_index())
    }
}

fn sighash_p2wsh(
    tx: &Transaction,
    input: usize,
    script: &ScriptBuf,
    value: Amount,
) -> Result<[u8; 32], SignError> {
    SighashCache::new(tx)
        .p2wsh_signature_hash(input, script, value, EcdsaSighashType::All)
        .map(|h| h.to_byte_array())
        .map_err(|_| SignError::InputOutOfRange)
}

impl ChannelSigner for InMemorySigner {
    fn channel_keys_id(&self) -> ChannelKeysId {
        self.keys_id
    }

    fn pubkeys(&self) -> &ChannelPublicKeys {
        &self.pubkeys
    }

    fn encode_signer(&self) -> Vec<u8> {
        self.encode()
    }

    fn per_commitment_point(&self, number: CommitmentNumber) -> Result<PublicKey, SignError> {
        let cached = self
            .state()
            .point_cache
            .iter()
            .flatten()
            .find(|(n, _)| *n == number)
            .map(|(_, p)| *p);
        if let Some(point) = cached {
            return Ok(point);
        }
        let secret = SecretKey::from_slice(&self.per_commitment_secret(number))
            .map_err(|_| SignError::Derivation)?;
        let point = ops::pubkey_of(&secret);
        let mut state = self.state();
        state.point_cache = [Some((number, point)), state.point_cache[0]];
        Ok(point)
    }

    fn release_commitment_secret(&self, number: CommitmentNumber) -> Result<[u8; 32], SignError> {
        let mut state = self.state();
        let next = match state.last_revoked {
            // Retransmitting the latest revoke_and_ack (BOLT 2 reestablish).
            Some(last) if last == number => return Ok(self.per_commitment_secret(number)),
            Some(last) => last.next().ok_or(SignError::SecretOutOfOrder {
                requested: number,
                next: last,
            })?,
            None => CommitmentNumber::ZERO,
        };
        if number != next {
            return Err(SignError::SecretOutOfOrder {
                requested: number,
                next,
            });
        }
        match state.highest_validated {
            Some(v) if v > number => {}
            _ => return Err(SignError::NoNextCommitment { requested: number }),
        }
        state.last_revoked = Some(number);
        Ok(self.per_commitment_secret(number))
    }

    fn validate_holder_commitment(
        &self,
        params: &ChannelTransactionParameters,
        tx: &HolderCommitmentTransaction,
    ) -> Result<(), SignError> {
        self.check_params(params)?;
        let mut state = self.state();
        if let Some(revoked) = state.last_revoked {
            if tx.number() <= revoked {
                return Err(SignError::HolderCommitmentRevoked {
                    requested: tx.number(),
                    revoked,
                });
            }
        }
        if state.highest_validated.map_or(true, |v| v < tx.number()) {
            state.highest_validated = Some(tx.number());
        }
        Ok(())
    }

    fn sign_counterparty_commitment(
        &self,
        params: &ChannelTransactionParameters,
        tx: &CounterpartyCommitmentTransaction,
    ) -> Result<CommitmentSignatures, SignError> {
        self.check_params(params)?;
        let commitment = ops::sign(&tx.funding_sighash(), &self.funding_key);
        if tx.htlcs().is_empty() {
            return Ok(CommitmentSignatures {
                commitment,
                htlcs: Vec::new(),
            });
        }
        // One HTLC key per commitment, from the peer's point: a scalar
        // addition, no curve multiplication.
        let htlc_key = derive_private_key(
            &self.htlc_base_key,
            &tx.keys().per_commitment_point,
            &self.pubkeys.htlc_basepoint,
        )
        .map_err(|_| SignError::Derivation)?;
        let htlcs = tx
            .htlc_sighashes(tx.countersignatory_htlc_sighash_type())
            .iter()
            .map(|h| ops::sign(h, &htlc_key))
            .collect();
        Ok(CommitmentSignatures { commitment, htlcs })
    }

    fn sign_holder_commitment(
        &self,
        params: &ChannelTransactionParameters,
        tx: &HolderCommitmentTransaction,
    ) -> Result<ecdsa::Signature, SignError> {
        self.check_params(params)?;
        self.check_not_revoked(tx.number())?;
        Ok(ops::sign(&tx.funding_sighash(), &self.funding_key))
    }

    fn sign_holder_htlc_transactions(
        &self,
        params: &ChannelTransactionParameters,
        tx: &HolderCommitmentTransaction,
    ) -> Result<Vec<ecdsa::Signature>, SignError> {
        self.check_params(params)?;
        self.check_not_revoked(tx.number())?;
        if tx.htlcs().is_empty() {
            return Ok(Vec::new());
        }
        let htlc_key = derive_private_key(
            &self.htlc_base_key,
            &tx.keys().per_commitment_point,
            &self.pubkeys.htlc_basepoint,
        )
        .map_err(|_| SignError::Derivation)?;
        Ok(tx
            .htlc_sighashes(EcdsaSighashType::All)
            .iter()
            .map(|h| ops::sign(h, &htlc_key))
            .collect())
    }

    fn sign_holder_htlc_input(
        &self,
        params: &ChannelTransactionParameters,
        commitment: &HolderCommitmentTransaction,
        htlc_index: usize,
        tx: &Transaction,
        input: usize,
    ) -> Result<ecdsa::Signature, SignError> {
        self.check_params(params)?;
        self.check_not_revoked(commitment.number())?;
        let htlc = commitment
            .htlcs()
            .get(htlc_index)
            .ok_or(SignError::Derivation)?;
        let key = derive_private_key(
            &self.htlc_base_key,
            &commitment.keys().per_commitment_point,
            &self.pubkeys.htlc_basepoint,
        )
        .map_err(|_| SignError::Derivation)?;
        let sighash = sighash_p2wsh(tx, input, &htlc.witness_script, htlc.value())?;
        Ok(ops::sign(&sighash, &key))
    }

    fn sign_justice_revoked_output(
        &self,
        params: &ChannelTransactionParameters,
        justice_tx: &Transaction,
        input: usize,
        amount: Amount,
        per_commitment_secret: &SecretKey,
    ) -> Result<ecdsa::Signature, SignError> {
        self.check_params(params)?;
        let pcp = ops::pubkey_of(per_commitment_secret);
        let revocation_key = derive_revocation_private_key(
            &self.revocation_base_key,
            per_commitment_secret,
            &self.pubkeys.revocation_basepoint,
            &pcp,
        )
        .map_err(|_| SignError::Derivation)?;
        let revocation_pubkey = ops::pubkey_of(&revocation_key);
        let delayed =
            derive_public_key(&params.counterparty_pubkeys.delayed_payment_basepoint, &pcp)
                .map_err(|_| SignError::Derivation)?;
        // The peer's to_local waits the delay *we* selected.
        let script = to_local_script(
            &revocation_pubkey,
            params.holder_selected_contest_delay,
            &delayed,
        );
        let sighash = sighash_p2wsh(justice_tx, input, &script, amount)?;
        Ok(ops::sign(&sighash, &revocation_key))
    }

    fn sign_justice_revoked_htlc(
        &self,
        params: &ChannelTransactionParameters,
        justice_tx: &Transaction,
        input: usize,
        per_commitment_secret: &SecretKey,
        htlc: &HtlcOutput,
    ) -> Result<ecdsa::Signature, SignError> {
        self.check_params(params)?;
        let pcp = ops::pubkey_of(per_commitment_secret);
        let revocation_key = derive_revocation_private_key(
            &self.revocation_base_key,
            per_commitment_secret,
            &self.pubkeys.revocation_basepoint,
            &pcp,
        )
        .map_err(|_| SignError::Derivation)?;
        let sighash = sighash_p2wsh(justice_tx, input, &htlc.witness_script, htlc.value())?;
        Ok(ops::sign(&sighash, &revocation_key))
    }

    fn sign_counterparty_htlc_claim(
        &self,
        params: &ChannelTransactionParameters,
        tx: &Transaction,
        input: usize,
        per_commitment_point: &PublicKey,
        htlc: &HtlcOutput,
    ) -> Result<ecdsa::Signature, SignError> {
        self.check_params(params)?;
        let key = derive_private_key(
            &self.htlc_base_key,
            per_commitment_point,
            &self.pubkeys.htlc_basepoint,
        )
        .map_err(|_| SignError::Derivation)?;
        let sighash = sighash_p2wsh(tx, input, &htlc.witness_script, htlc.value())?;
        Ok(ops::sign(&sighash, &key))
    }

    fn sign_closing_transaction(
        &self,
        params: &ChannelTransactionParameters,
        tx: &ClosingTransaction,
    ) -> Result<ecdsa::Signature, SignError> {
        self.check_params(params)?;
        Ok(ops::sign(&tx.funding_sighash(), &self.funding_key))
    }

    fn sign_holder_anchor_input(
        &self,
        params: &ChannelTransactionParameters,
        tx: &Transaction,
        input: usize,
    ) -> Result<ecdsa::Signature, SignError> {
        self.check_params(params)?;
        let script = anchor_script(&self.pubkeys.funding_pubkey);
        let sighash = sighash_p2wsh(tx, input, &script, ANCHOR_OUTPUT_VALUE)?;
        Ok(ops::sign(&sighash, &self.funding_key))
    }

    fn sign_channel_announcement_with_funding_key(
        &self,
        msg_hash: &[u8; 32],
    ) -> Result<ecdsa::Signature, SignError> {
        Ok(ops::sign(msg_hash, &self.funding_key))
    }
}

fn write_opt(n: Option<CommitmentNumber>, w: &mut impl Write) -> io::Result<()> {
    match n {
        None => 0u8.write(w),
        Some(n) => {
            1u8.write(w)?;
            n.write(w)
        }
    }
}
fn read_opt(r: &mut impl Read) -> Result<Option<CommitmentNumber>, DecodeError> {
    match u8::read(r)? {
        0 => Ok(None),
        1 => Ok(Some(CommitmentNumber::read(r)?)),
        _ => Err(DecodeError::InvalidValue),
    }
}

/// Persisted form: version byte 1, keys id, the five secrets, the
/// commitment seed, then the revocation state (two optional commitment
/// numbers, each a presence byte then a `u64`).
impl Writeable for InMemorySigner {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        1u8.write(w)?;
        self.keys_id.write(w)?;
        for k in [
            &self.funding_key,
            &self.revocation_base_key,
            &self.payment_key,
            &self.delayed_payment_base_key,
            &self.htlc_base_key,
        ] {
            w.write_all(&k.secret_bytes())?;
        }
        w.write_all(&self.commitment_seed)?;
        let state = *self.state();
        write_opt(state.last_revoked, w)?;
        write_opt(state.highest_validated, w)
    }
    fn size_hint(&self) -> usize {
        1 + 32 * 7 + 18
    }
}

impl Readable for InMemorySigner {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        if u8::read(r)? != 1 {
            return Err(DecodeError::UnknownVersion);
        }
        let keys_id = ChannelKeysId::read(r)?;
        let mut secrets =
            [SecretKey::from_slice(&[1; 32]).map_err(|_| DecodeError::InvalidValue)?; 5];
        for s in secrets.iter_mut() {
            let bytes: [u8; 32] = read_array(r)?;
            *s = SecretKey::from_slice(&bytes).map_err(|_| DecodeError::InvalidValue)?;
        }
        let commitment_seed: [u8; 32] = read_array(r)?;
        let last_revoked = read_opt(r)?;
        let highest_validated = read_opt(r)?;
        // A revoked commitment always had a validated successor.
        if let Some(rev) = last_revoked {
            if highest_validated.map_or(true, |v| v <= rev) {
                return Err(DecodeError::InvalidValue);
            }
        }
        let [funding, revocation, payment, delayed, htlc] = secrets;
        let signer = InMemorySigner::new(
            funding,
            revocation,
            payment,
            delayed,
            htlc,
            commitment_seed,
            keys_id,
        );
        *signer.state() = SignerState {
            last_revoked,
            highest_validated,
            point_cache: [None; 2],
        };
        Ok(signer)
    }
}
