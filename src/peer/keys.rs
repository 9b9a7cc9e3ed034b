//! Where the `PeerManager` gets its node key and randomness.
//!
//! [`PeerNodeKey`] is what the peer layer needs of the node's identity key:
//! ECDH for the handshake and a signature for our `node_announcement`. The
//! keys module's `NodeSigner` can implement it through an adapter, so the
//! secret never has to leave the signer: [`SignerNodeKey`] wraps an
//! `Arc<dyn NodeSigner>` (and [`SignerEntropy`] an `EntropySource`);
//! [`InMemoryNodeKey`] holds the key in memory.

use super::noise::{NoiseError, StaticKey, StaticKeyEcdh};
use crate::sign::{EntropySource, NodeSigner, Recipient, SignError};
use bitcoin::secp256k1::{ecdsa::Signature, Message, PublicKey, Secp256k1, SecretKey, SignOnly};
use std::sync::Arc;

/// The node identity key as the peer layer uses it.
#[allow(clippy::result_unit_err)] // `Err(())`: the signer refused; nothing more to say
pub trait PeerNodeKey: StaticKeyEcdh + Send + Sync {
    /// Signs a BOLT 7 gossip hash (the double-SHA256 of the signed part).
    fn sign_gossip_hash(&self, hash: &[u8; 32]) -> Result<Signature, ()>;
}

/// Fresh randomness for ephemeral handshake keys (BOLT 8 `generateKey()`).
pub trait PeerEntropy: Send + Sync {
    /// 32 random bytes from a CSPRNG.
    fn random_bytes(&self) -> [u8; 32];
}

impl<F: Fn() -> [u8; 32] + Send + Sync> PeerEntropy for F {
    fn random_bytes(&self) -> [u8; 32] {
        self()
    }
}

/// Randomness from the operating system's CSPRNG (via `secp256k1::rand`).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsEntropy;

impl PeerEntropy for OsEntropy {
    fn random_bytes(&self) -> [u8; 32] {
        use bitcoin::secp256k1::rand::RngCore;
        let mut b = [0u8; 32];
        bitcoin::secp256k1::rand::thread_rng().fill_bytes(&mut b);
        b
    }
}

/// The node secret key held in memory.
pub struct InMemoryNodeKey {
    key: StaticKey,
    secp: Secp256k1<SignOnly>,
}

impl InMemoryNodeKey {
    /// Wraps the node secret key.
    pub fn new(secret: SecretKey) -> Self {
        let secp = Secp256k1::signing_only();
        InMemoryNodeKey {
            key: StaticKey::new(&secp, secret),
            secp,
        }
    }
}

impl core::fmt::Debug for InMemoryNodeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "InMemoryNodeKey({})", self.key.public_key())
    }
}

impl StaticKeyEcdh for InMemoryNodeKey {
    fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
    fn ecdh(&self, other: &PublicKey) -> Result<[u8; 32], NoiseError> {
        self.key.ecdh(other)
    }
}

impl PeerNodeKey for InMemoryNodeKey {
    fn sign_gossip_hash(&self, hash: &[u8; 32]) -> Result<Signature, ()> {
        Ok(self
            .secp
            .sign_ecdsa(&Message::from_digest(*hash), self.key.secret()))
    }
}

/// The node key held by a [`NodeSigner`](crate::sign::NodeSigner): ECDH and
/// gossip signatures go through the signer, the secret never leaves it.
pub struct SignerNodeKey {
    signer: Arc<dyn NodeSigner>,
    node_id: PublicKey,
}

impl SignerNodeKey {
    /// Wraps a signer, asking it once for the node id.
    pub fn new(signer: Arc<dyn NodeSigner>) -> Result<Self, SignError> {
        let node_id = signer.node_id(Recipient::Node)?;
        Ok(SignerNodeKey { signer, node_id })
    }
}

impl core::fmt::Debug for SignerNodeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SignerNodeKey({})", self.node_id)
    }
}

impl StaticKeyEcdh for SignerNodeKey {
    fn public_key(&self) -> PublicKey {
        self.node_id
    }
    fn ecdh(&self, other: &PublicKey) -> Result<[u8; 32], NoiseError> {
        self.signer
            .ecdh(Recipient::Node, other, None)
            .map_err(|_| NoiseError::KeyFailure)
    }
}

impl PeerNodeKey for SignerNodeKey {
    fn sign_gossip_hash(&self, hash: &[u8; 32]) -> Result<Signature, ()> {
        self.signer.sign_gossip_message(hash).map_err(|_| ())
    }
}

/// Randomness from an [`EntropySource`](crate::sign::EntropySource).
pub struct SignerEntropy(pub Arc<dyn EntropySource>);

impl core::fmt::Debug for SignerEntropy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SignerEntropy(..)")
    }
}

impl PeerEntropy for SignerEntropy {
    fn random_bytes(&self) -> [u8; 32] {
        self.0.get_secure_random_bytes()
    }
}
