//! [`KeysManager`]: every key of the node derived from one 32-byte seed.
//!
//! BIP 32 (hardened) layout under the master key of the seed:
//! - `m/0'`: the node key;
//! - `m/1'`: the destination key (P2WPKH) swept funds are paid to;
//! - `m/2'`: the shutdown key (P2WPKH) for cooperative closes;
//! - `m/3'/a'/b'`: per-channel material, `a` and `b` taken from the first 8
//!   bytes of the [`ChannelKeysId`] (high bit cleared); each channel secret
//!   is `SHA256(SHA256(child key || keys_id) || label)`;
//! - `m/4'`: the key of the random-bytes generator;
//! - `m/5'`: hashed into the inbound payment key.
//!
//! The same seed always gives the same node id, scripts and channel keys
//! (for the same keys id); the starting time only makes random bytes and
//! new keys ids differ between runs.

use super::ops;
use super::{
    ChannelKeysId, ChannelSigner, EntropySource, InMemorySigner, InboundPaymentKey, NodeSigner,
    Recipient, SignError, SignerProvider,
};
use crate::codec::{DecodeError, Readable, Writeable};
use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::hashes::{hash160, sha256, Hash, HashEngine, Hmac, HmacEngine};
use bitcoin::secp256k1::{ecdsa, PublicKey, Scalar, SecretKey};
use bitcoin::{Amount, NetworkKind, ScriptBuf, WPubkeyHash};
use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Length of an encoded signer's version, keys id, five secrets and
/// commitment seed (everything but the revocation state).
const CORE_LEN: usize = 1 + 32 + 5 * 32 + 32;

/// The default [`NodeSigner`], [`SignerProvider`] and [`EntropySource`].
pub struct KeysManager {
    node_secret: SecretKey,
    node_id: PublicKey,
    inbound_payment_key: InboundPaymentKey,
    destination_script: ScriptBuf,
    shutdown_script: ScriptBuf,
    channel_master: Xpriv,
    entropy_key: [u8; 32],
    starting_time_secs: u64,
    starting_time_nanos: u32,
    counter: AtomicU64,
}

impl fmt::Debug for KeysManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeysManager")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

fn hardened(i: u32) -> ChildNumber {
    ChildNumber::Hardened {
        index: i & 0x7fff_ffff,
    }
}

fn p2wpkh(key: &PublicKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&WPubkeyHash::from_raw_hash(hash160::Hash::hash(
        &key.serialize(),
    )))
}

/// A valid secret key from `SHA256(base || label || n)`, trying `n = 0, 1,
/// …` (a retry has probability ~2^-128).
fn hashed_secret(base: &[u8; 32], label: &[u8]) -> SecretKey {
    let mut n = 0u8;
    loop {
        let mut e = sha256::Hash::engine();
        e.input(base);
        e.input(label);
        e.input(&[n]);
        if let Ok(k) = SecretKey::from_slice(&sha256::Hash::from_engine(e).to_byte_array()) {
            return k;
        }
        n = n.wrapping_add(1);
    }
}

impl KeysManager {
    /// Derives the node's keys from `seed`. The starting time (of this run)
    /// seeds random bytes and keys ids so that two runs from one seed never
    /// hand out the same keys id; pass the current time.
    ///
    /// The seed must be secret and random; it is not stored.
    pub fn new(seed: &[u8; 32], starting_time_secs: u64, starting_time_nanos: u32) -> Self {
        let secp = ops::secp();
        let master = Xpriv::new_master(NetworkKind::Main, seed)
            .expect("a 32-byte seed yields a valid master key except with probability 2^-127");
        let child = |i: u32| {
            master
                .derive_priv(secp, &[hardened(i)])
                .expect("hardened derivation fails only with probability 2^-127")
                .private_key
        };
        let node_secret = child(0);
        let destination = child(1);
        let shutdown = child(2);
        let channel_master = master
            .derive_priv(secp, &[hardened(3)])
            .expect("hardened derivation fails only with probability 2^-127");
        let entropy_key = child(4).secret_bytes();
        let inbound = sha256::Hash::hash(&child(5).secret_bytes()).to_byte_array();
        KeysManager {
            node_id: ops::pubkey_of(&node_secret),
            node_secret,
            inbound_payment_key: InboundPaymentKey(inbound),
            destination_script: p2wpkh(&ops::pubkey_of(&destination)),
            shutdown_script: p2wpkh(&ops::pubkey_of(&shutdown)),
            channel_master,
            entropy_key,
            starting_time_secs,
            starting_time_nanos,
            counter: AtomicU64::new(0),
        }
    }

    /// The channel signer for `keys_id`, as a concrete type.
    pub fn derive_in_memory_signer(&self, keys_id: ChannelKeysId) -> InMemorySigner {
        let id = &keys_id.0;
        let a = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        let b = u32::from_be_bytes([id[4], id[5], id[6], id[7]]);
        let child = self
            .channel_master
            .derive_priv(ops::secp(), &[hardened(a), hardened(b)])
            .expect("hardened derivation fails only with probability 2^-127");
        let mut e = sha256::Hash::engine();
        e.input(&child.private_key.secret_bytes());
        e.input(id);
        let base = sha256::Hash::from_engine(e).to_byte_array();
        let mut se = sha256::Hash::engine();
        se.input(&base);
        se.input(b"commitment seed");
        InMemorySigner::new(
            hashed_secret(&base, b"funding key"),
            hashed_secret(&base, b"revocation base key"),
            hashed_secret(&base, b"payment key"),
            hashed_secret(&base, b"delayed payment base key"),
            hashed_secret(&base, b"htlc base key"),
            sha256::Hash::from_engine(se).to_byte_array(),
            keys_id,
        )
    }
}

impl EntropySource for KeysManager {
    /// `HMAC-SHA256(m/4' key, starting time || counter)`: unique per call
    /// within a run and across runs with different starting times.
    fn get_secure_random_bytes(&self) -> [u8; 32] {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut e = HmacEngine::<sha256::Hash>::new(&self.entropy_key);
        e.input(&self.starting_time_secs.to_be_bytes());
        e.input(&self.starting_time_nanos.to_be_bytes());
        e.input(&n.to_be_bytes());
        Hmac::<sha256::Hash>::from_engine(e).to_byte_array()
    }
}

impl NodeSigner for KeysManager {
    fn node_id(&self, recipient: Recipient) -> Result<PublicKey, SignError> {
        match recipient {
            Recipient::Node => Ok(self.node_id),
        }
    }

    fn ecdh(
        &self,
        recipient: Recipient,
        other_key: &PublicKey,
        tweak: Option<&Scalar>,
    ) -> Result<[u8; 32], SignError> {
        let Recipient::Node = recipient;
        let key = match tweak {
            Some(t) => self
                .node_secret
                .mul_tweak(t)
                .map_err(|_| SignError::Derivation)?,
            None => self.node_secret,
        };
        Ok(ops::ecdh_sha256(other_key, &key))
    }

    fn sign_invoice(
        &self,
        signing_preimage: &[u8],
    ) -> Result<ecdsa::RecoverableSignature, SignError> {
        let hash = sha256::Hash::hash(signing_preimage).to_byte_array();
        Ok(ops::sign_recoverable(&hash, &self.node_secret))
    }

    fn sign_gossip_message(&self, msg_hash: &[u8; 32]) -> Result<ecdsa::Signature, SignError> {
        Ok(ops::sign(msg_hash, &self.node_secret))
    }

    fn get_inbound_payment_key(&self) -> InboundPaymentKey {
        self.inbound_payment_key
    }
}

impl SignerProvider for KeysManager {
    fn generate_channel_keys_id(&self, inbound: bool, user_channel_id: u128) -> ChannelKeysId {
        let mut e = sha256::Hash::engine();
        e.input(&self.get_secure_random_bytes());
        e.input(&user_channel_id.to_be_bytes());
        e.input(&[inbound as u8]);
        ChannelKeysId(sha256::Hash::from_engine(e).to_byte_array())
    }

    fn derive_channel_signer(
        &self,
        _channel_value: Amount,
        keys_id: ChannelKeysId,
    ) -> Arc<dyn ChannelSigner> {
        Arc::new(self.derive_in_memory_signer(keys_id))
    }

    fn get_destination_script(&self, _keys_id: ChannelKeysId) -> Result<ScriptBuf, SignError> {
        Ok(self.destination_script.clone())
    }

    fn get_shutdown_scriptpubkey(&self) -> Result<ScriptBuf, SignError> {
        Ok(self.shutdown_script.clone())
    }

    fn read_channel_signer(&self, bytes: &[u8]) -> Result<Arc<dyn ChannelSigner>, DecodeError> {
        let mut r = bytes;
        let signer = InMemorySigner::read(&mut r)?;
        if !r.is_empty() {
            return Err(DecodeError::InvalidValue);
        }
        // The keys must be the ones this seed derives for the keys id.
        let expected = self.derive_in_memory_signer(signer.channel_keys_id());
        if expected.pubkeys() != signer.pubkeys()
            || expected.encode()[..CORE_LEN] != bytes[..CORE_LEN]
        {
            return Err(DecodeError::InvalidValue);
        }
        Ok(Arc::new(signer))
    }
}
