//! BOLT 3 "Keys": per-commitment key derivation and per-commitment secrets.
//!
//! Vocabulary. A commitment transaction has a **broadcaster** (its owner,
//! BOLT 3's "local node") and a **countersignatory** (BOLT 3's "remote
//! node"). Which of the two is *us* depends on whose commitment it is: on
//! our own (holder) commitment we are the broadcaster; on the counterparty's
//! commitment we are the countersignatory. This module speaks only
//! broadcaster/countersignatory; [`super::tx::ChannelTransactionParameters`]
//! maps holder/counterparty onto it so callers never translate by hand.
//!
//! | function | BOLT 3 section |
//! |---|---|
//! | [`derive_public_key`] | Key Derivation: `localpubkey`, `local_htlcpubkey`, `local_delayedpubkey`… |
//! | [`derive_private_key`] | same section, "privkey = basepoint_secret + SHA256(per_commitment_point \|\| basepoint)" |
//! | [`derive_revocation_public_key`] | `revocationpubkey` Derivation |
//! | [`derive_revocation_private_key`] | `revocationpubkey` Derivation, `revocationprivkey` |
//! | [`build_commitment_secret`] | Per-commitment Secret Requirements, `generate_from_seed` |
//! | [`CounterpartyCommitmentSecrets`] | Efficient Per-commitment Secret Storage (`insert_secret`, `derive_old_secret`) |
//! | [`CommitmentKeys::derive`] | all of the above, once per commitment |

use crate::codec::{read_array, DecodeError, Readable, Writeable};
use crate::sign::ops;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Scalar, SecretKey};
use core::fmt;
use std::io::{self, Read, Write};

pub use super::units::MAX_COMMITMENT_NUMBER;

/// Why a key could not be derived. With hash-derived tweaks each case has
/// probability about 2^-128, but a peer chooses the points we combine, so
/// the result is still checked and reported instead of unwrapped.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// A SHA256 tweak was not a valid scalar (not below the group order).
    InvalidTweak,
    /// The derived key was zero or the point at infinity.
    InvalidResult,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::InvalidTweak => f.write_str("key derivation tweak is not a valid scalar"),
            KeyError::InvalidResult => f.write_str("key derivation produced an invalid key"),
        }
    }
}
impl std::error::Error for KeyError {}

/// `pubkey = basepoint + SHA256(per_commitment_point || basepoint) * G`
/// (BOLT 3 Key Derivation; used for `localpubkey`, `local_htlcpubkey`,
/// `remote_htlcpubkey`, `local_delayedpubkey` and `remote_delayedpubkey`).
pub fn derive_public_key(
    basepoint: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<PublicKey, KeyError> {
    let tweak = ops::hash_to_scalar(&per_commitment_point.serialize(), &basepoint.serialize())
        .ok_or(KeyError::InvalidTweak)?;
    ops::add_exp_tweak(basepoint, &tweak).map_err(|_| KeyError::InvalidResult)
}

/// `privkey = basepoint_secret + SHA256(per_commitment_point || basepoint)`
/// (BOLT 3 Key Derivation). `basepoint` must be `basepoint_secret * G`; it
/// is passed in (signers keep it) so that no curve multiplication is done.
pub fn derive_private_key(
    basepoint_secret: &SecretKey,
    per_commitment_point: &PublicKey,
    basepoint: &PublicKey,
) -> Result<SecretKey, KeyError> {
    let tweak = ops::hash_to_scalar(&per_commitment_point.serialize(), &basepoint.serialize())
        .ok_or(KeyError::InvalidTweak)?;
    basepoint_secret
        .add_tweak(&tweak)
        .map_err(|_| KeyError::InvalidResult)
}

/// `revocationpubkey = revocation_basepoint * SHA256(revocation_basepoint ||
/// per_commitment_point) + per_commitment_point * SHA256(per_commitment_point
/// || revocation_basepoint)` (BOLT 3 `revocationpubkey` Derivation).
///
/// `revocation_basepoint` belongs to the countersignatory (who can punish);
/// `per_commitment_point` to the broadcaster.
pub fn derive_revocation_public_key(
    revocation_basepoint: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<PublicKey, KeyError> {
    let rb = revocation_basepoint.serialize();
    let pcp = per_commitment_point.serialize();
    let t1 = ops::hash_to_scalar(&rb, &pcp).ok_or(KeyError::InvalidTweak)?;
    let t2 = ops::hash_to_scalar(&pcp, &rb).ok_or(KeyError::InvalidTweak)?;
    let a = ops::mul_tweak(revocation_basepoint, &t1).map_err(|_| KeyError::InvalidResult)?;
    let b = ops::mul_tweak(per_commitment_point, &t2).map_err(|_| KeyError::InvalidResult)?;
    ops::combine(&a, &b).map_err(|_| KeyError::InvalidResult)
}

/// `revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint
/// || per_commitment_point) + per_commitment_secret * SHA256(per_commitment_point
/// || revocation_basepoint)` (BOLT 3 `revocationpubkey` Derivation).
///
/// The two points are passed in (the holder keeps its basepoint; the point
/// is the one the counterparty sent earlier) so no multiplication by `G`
/// is needed.
pub fn derive_revocation_private_key(
    revocation_basepoint_secret: &SecretKey,
    per_commitment_secret: &SecretKey,
    revocation_basepoint: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<SecretKey, KeyError> {
    let rb = revocation_basepoint.serialize();
    let pcp = per_commitment_point.serialize();
    let t1 = ops::hash_to_scalar(&rb, &pcp).ok_or(KeyError::InvalidTweak)?;
    let t2 = ops::hash_to_scalar(&pcp, &rb).ok_or(KeyError::InvalidTweak)?;
    let a = revocation_basepoint_secret
        .mul_tweak(&t1)
        .map_err(|_| KeyError::InvalidResult)?;
    let b = per_commitment_secret
        .mul_tweak(&t2)
        .map_err(|_| KeyError::InvalidResult)?;
    a.add_tweak(&Scalar::from(b))
        .map_err(|_| KeyError::InvalidResult)
}

/// `generate_from_seed(seed, I)` of BOLT 3 Per-commitment Secret
/// Requirements: the per-commitment secret with (48-bit) index `index`.
///
/// Bits of `index` above 47 are ignored.
pub fn build_commitment_secret(seed: &[u8; 32], index: u64) -> [u8; 32] {
    derive_secret(*seed, 48, index)
}

/// BOLT 3 `derive_secret(base, bits, I)`: walks bits `bits-1` down to 0 of
/// `index`, flipping that bit of `P` and hashing when it is set.
fn derive_secret(base: [u8; 32], bits: u32, index: u64) -> [u8; 32] {
    let mut p = base;
    for b in (0..bits).rev() {
        if index & (1 << b) != 0 {
            // flip(B): the B'th least significant bit, bytes taken in order.
            p[(b / 8) as usize] ^= 1 << (b % 8);
            p = sha256::Hash::hash(&p).to_byte_array();
        }
    }
    p
}

/// The per-commitment point `per_commitment_secret * G`; `Err` if the
/// secret is not a valid private key.
pub fn per_commitment_point(secret: &[u8; 32]) -> Result<PublicKey, KeyError> {
    let sk = SecretKey::from_slice(secret).map_err(|_| KeyError::InvalidResult)?;
    Ok(ops::pubkey_of(&sk))
}

/// Why [`CounterpartyCommitmentSecrets::insert_secret`] refused a secret.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretStoreError {
    /// `bolt3-shachain-derivable`: an earlier secret could not be derived
    /// from this one, so they were not generated from the same seed
    /// (BOLT 3: "error The secret for I is incorrect").
    NotDerivable {
        /// The index of the refused secret.
        index: u64,
    },
    /// `bolt3-shachain-order`: secrets arrive with indices decreasing by
    /// one, starting at 2^48 - 1; this one was not the next.
    OutOfOrder {
        /// The index expected next.
        expected: u64,
        /// The index given.
        got: u64,
    },
}

impl fmt::Display for SecretStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretStoreError::NotDerivable { index } => write!(
                f,
                "bolt3-shachain-derivable: secret {index:#x} does not derive the earlier secrets"
            ),
            SecretStoreError::OutOfOrder { expected, got } => write!(
                f,
                "bolt3-shachain-order: expected secret {expected:#x}, got {got:#x}"
            ),
        }
    }
}
impl std::error::Error for SecretStoreError {}

/// The counterparty's revealed per-commitment secrets in BOLT 3's compact
/// form: at most 49 (secret, index) pairs from which every revealed secret
/// can be re-derived (Efficient Per-commitment Secret Storage).
///
/// Bucket `b` holds the last received secret whose index has exactly `b`
/// trailing zero bits.
#[derive(Clone, PartialEq, Eq)]
pub struct CounterpartyCommitmentSecrets {
    known: [Option<([u8; 32], u64)>; 49],
}

impl Default for CounterpartyCommitmentSecrets {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CounterpartyCommitmentSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets of revoked states are not sensitive for us, but keep logs short.
        write!(
            f,
            "CounterpartyCommitmentSecrets {{ next: {:?} }}",
            self.next_index()
        )
    }
}

/// BOLT 3 `where_to_put_secret`: the number of trailing zeros (48 for 0).
fn bucket_of(index: u64) -> usize {
    if index == 0 {
        48
    } else {
        (index.trailing_zeros() as usize).min(48)
    }
}

impl CounterpartyCommitmentSecrets {
    /// An empty store.
    pub const fn new() -> Self {
        CounterpartyCommitmentSecrets { known: [None; 49] }
    }

    /// The smallest index received so far, `None` when empty.
    pub fn min_index(&self) -> Option<u64> {
        self.known.iter().flatten().map(|(_, i)| *i).min()
    }

    /// The index the next secret must have; `None` once index 0 was stored.
    pub fn next_index(&self) -> Option<u64> {
        match self.min_index() {
            None => Some(MAX_COMMITMENT_NUMBER),
            Some(i) => i.checked_sub(1),
        }
    }

    /// BOLT 3 `insert_secret(secret, I)`: stores the secret after checking
    /// that every stored secret derives from it.
    pub fn insert_secret(&mut self, secret: [u8; 32], index: u64) -> Result<(), SecretStoreError> {
        let expected = self.next_index();
        if expected != Some(index) {
            return Err(SecretStoreError::OutOfOrder {
                expected: expected.unwrap_or(0),
                got: index,
            });
        }
        let bucket = bucket_of(index);
        for b in 0..bucket {
            if let Some((known_secret, known_index)) = self.known[b] {
                if derive_secret(secret, bucket as u32, known_index) != known_secret {
                    return Err(SecretStoreError::NotDerivable { index });
                }
            }
        }
        self.known[bucket] = Some((secret, index));
        Ok(())
    }

    /// BOLT 3 `derive_old_secret(I)`: the secret of index `index`, if it
    /// was received (directly or derivably).
    pub fn get_secret(&self, index: u64) -> Option<[u8; 32]> {
        if index > MAX_COMMITMENT_NUMBER {
            return None;
        }
        for (b, entry) in self.known.iter().enumerate() {
            if let Some((secret, known_index)) = entry {
                let mask = if b >= 64 { 0 } else { !((1u64 << b) - 1) };
                if index & mask == *known_index {
                    return Some(derive_secret(*secret, b as u32, index));
                }
            }
        }
        None
    }
}

/// Persisted as a 49-bit presence mask (`u64`) followed by `(index u64,
/// secret 32 bytes)` for each present bucket, lowest bucket first.
impl Writeable for CounterpartyCommitmentSecrets {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut mask = 0u64;
        for (b, e) in self.known.iter().enumerate() {
            if e.is_some() {
                mask |= 1 << b;
            }
        }
        mask.write(w)?;
        for (secret, index) in self.known.iter().flatten() {
            index.write(w)?;
            secret.write(w)?;
        }
        Ok(())
    }
    fn size_hint(&self) -> usize {
        8 + 40 * self.known.iter().flatten().count()
    }
}

impl Readable for CounterpartyCommitmentSecrets {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let mask = u64::read(r)?;
        if mask >> 49 != 0 {
            return Err(DecodeError::InvalidValue);
        }
        let mut out = CounterpartyCommitmentSecrets::new();
        for b in 0..49 {
            if mask & (1 << b) == 0 {
                continue;
            }
            let index = u64::read(r)?;
            let secret: [u8; 32] = read_array(r)?;
            // Each bucket must hold an index with exactly that many trailing zeros.
            if index > MAX_COMMITMENT_NUMBER || bucket_of(index) != b {
                return Err(DecodeError::InvalidValue);
            }
            out.known[b] = Some((secret, index));
        }
        // The stored secrets must be mutually consistent, as insert_secret
        // would have left them: each bucket derives every lower one.
        for hi in 0..49 {
            if let Some((s, i)) = out.known[hi] {
                for lo in 0..hi {
                    if let Some((ls, li)) = out.known[lo] {
                        // only secrets received earlier (higher index) are derivable
                        if li > i && derive_secret(s, hi as u32, li) != ls {
                            return Err(DecodeError::InvalidValue);
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// One side's static basepoints and funding key, exchanged in
/// `open_channel`/`accept_channel` (BOLT 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelPublicKeys {
    /// The key in the 2-of-2 funding output.
    pub funding_pubkey: PublicKey,
    /// Basepoint the *other* side's revocation keys are built from.
    pub revocation_basepoint: PublicKey,
    /// `payment_basepoint`; with `option_static_remotekey`/`option_anchors`
    /// the other side pays to it directly (`remotepubkey`).
    pub payment_point: PublicKey,
    /// Basepoint of this side's delayed keys on its own commitments.
    pub delayed_payment_basepoint: PublicKey,
    /// Basepoint of this side's HTLC keys.
    pub htlc_basepoint: PublicKey,
}

impl Writeable for ChannelPublicKeys {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.funding_pubkey.write(w)?;
        self.revocation_basepoint.write(w)?;
        self.payment_point.write(w)?;
        self.delayed_payment_basepoint.write(w)?;
        self.htlc_basepoint.write(w)
    }
    fn size_hint(&self) -> usize {
        5 * 33
    }
}
impl Readable for ChannelPublicKeys {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(ChannelPublicKeys {
            funding_pubkey: Readable::read(r)?,
            revocation_basepoint: Readable::read(r)?,
            payment_point: Readable::read(r)?,
            delayed_payment_basepoint: Readable::read(r)?,
            htlc_basepoint: Readable::read(r)?,
        })
    }
}

/// The per-commitment keys of one commitment transaction, derived once per
/// commitment (never per HTLC) and reused by every output, HTLC
/// transaction and signature of that commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitmentKeys {
    /// The broadcaster's `per_commitment_point` for this commitment.
    pub per_commitment_point: PublicKey,
    /// `revocationpubkey`: the countersignatory's revocation basepoint
    /// blinded with the broadcaster's point.
    pub revocation_key: PublicKey,
    /// `local_delayedpubkey` (the broadcaster's delayed payment key).
    pub broadcaster_delayed_payment_key: PublicKey,
    /// `remotepubkey`: with `option_static_remotekey` and `option_anchors`
    /// this is the countersignatory's `payment_basepoint`, not rotated.
    pub countersignatory_payment_key: PublicKey,
    /// The two HTLC keys. `None` when the keys were derived for a
    /// commitment without HTLC outputs (see
    /// [`derive_without_htlc_keys`](Self::derive_without_htlc_keys)); the
    /// commitment builders refuse to build HTLC outputs without them.
    pub htlc: Option<HtlcKeys>,
}

/// The HTLC keys of one commitment: only HTLC outputs and HTLC
/// transactions use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HtlcKeys {
    /// `local_htlcpubkey` in BOLT 3 terms (the broadcaster's HTLC key).
    pub broadcaster: PublicKey,
    /// `remote_htlcpubkey` (the countersignatory's HTLC key).
    pub countersignatory: PublicKey,
}

impl CommitmentKeys {
    /// Derives the keys of a commitment owned by `broadcaster` (BOLT 3 Key
    /// Derivation). Costs 3 tweak-adds and one revocation derivation.
    pub fn derive(
        per_commitment_point: &PublicKey,
        broadcaster: &ChannelPublicKeys,
        countersignatory: &ChannelPublicKeys,
    ) -> Result<Self, KeyError> {
        let mut keys =
            Self::derive_without_htlc_keys(per_commitment_point, broadcaster, countersignatory)?;
        keys.htlc = Some(HtlcKeys {
            broadcaster: derive_public_key(&broadcaster.htlc_basepoint, per_commitment_point)?,
            countersignatory: derive_public_key(
                &countersignatory.htlc_basepoint,
                per_commitment_point,
            )?,
        });
        Ok(keys)
    }

    /// The keys of a commitment that has no HTLC outputs: the revocation
    /// and delayed payment keys only, two curve multiplications fewer than
    /// [`derive`](Self::derive). Half the commitments of a payment (those
    /// signed after the HTLC is settled) need nothing more.
    pub fn derive_without_htlc_keys(
        per_commitment_point: &PublicKey,
        broadcaster: &ChannelPublicKeys,
        countersignatory: &ChannelPublicKeys,
    ) -> Result<Self, KeyError> {
        Ok(CommitmentKeys {
            per_commitment_point: *per_commitment_point,
            revocation_key: derive_revocation_public_key(
                &countersignatory.revocation_basepoint,
                per_commitment_point,
            )?,
            broadcaster_delayed_payment_key: derive_public_key(
                &broadcaster.delayed_payment_basepoint,
                per_commitment_point,
            )?,
            countersignatory_payment_key: countersignatory.payment_point,
            htlc: None,
        })
    }
}

impl Writeable for CommitmentKeys {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.per_commitment_point.write(w)?;
        self.revocation_key.write(w)?;
        self.broadcaster_delayed_payment_key.write(w)?;
        self.countersignatory_payment_key.write(w)?;
        match &self.htlc {
            None => 0u8.write(w),
            Some(h) => {
                1u8.write(w)?;
                h.broadcaster.write(w)?;
                h.countersignatory.write(w)
            }
        }
    }
    fn size_hint(&self) -> usize {
        4 * 33 + 1 + if self.htlc.is_some() { 2 * 33 } else { 0 }
    }
}
impl Readable for CommitmentKeys {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let per_commitment_point = Readable::read(r)?;
        let revocation_key = Readable::read(r)?;
        let broadcaster_delayed_payment_key = Readable::read(r)?;
        let countersignatory_payment_key = Readable::read(r)?;
        let htlc = match u8::read(r)? {
            0 => None,
            1 => Some(HtlcKeys {
                broadcaster: Readable::read(r)?,
                countersignatory: Readable::read(r)?,
            }),
            _ => return Err(DecodeError::InvalidValue),
        };
        Ok(CommitmentKeys {
            per_commitment_point,
            revocation_key,
            broadcaster_delayed_payment_key,
            countersignatory_payment_key,
            htlc,
        })
    }
}
