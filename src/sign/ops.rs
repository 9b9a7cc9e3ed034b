//! Elliptic-curve operations, counted.
//!
//! Every curve operation lnkit's key derivation and signers perform goes
//! through the helpers here, which bump per-thread counters. Benches and
//! tests read them with [`CurveOpStats::snapshot`] to check, for example,
//! that per-commitment keys are derived once per commitment rather than
//! once per HTLC. The counters are thread-local `Cell`s: no atomics and no
//! contention, and parallel tests do not disturb each other.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{ecdh, ecdsa, All, Message, PublicKey, Scalar, Secp256k1, SecretKey};
use core::cell::Cell;
use core::ops::Sub;
use std::sync::OnceLock;

/// The process-wide secp256k1 context (randomized once at creation).
pub(crate) fn secp() -> &'static Secp256k1<All> {
    static CTX: OnceLock<Secp256k1<All>> = OnceLock::new();
    CTX.get_or_init(Secp256k1::new)
}

/// Counts of curve operations done on this thread since it started (or
/// since the last [`CurveOpStats::reset`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CurveOpStats {
    /// Fixed-base multiplications `k·G` (public key from secret, and the
    /// `k·G` half of a tweak-add).
    pub base_mul: u64,
    /// Variable-base multiplications `k·P` (revocation key derivation).
    pub var_mul: u64,
    /// Point additions (tweak-adds and combinations).
    pub point_add: u64,
    /// ECDSA signatures produced (each costs one `k·G` inside libsecp).
    pub ecdsa_sign: u64,
    /// ECDSA signatures verified.
    pub ecdsa_verify: u64,
    /// ECDH computations (one variable-base multiplication each).
    pub ecdh: u64,
}

thread_local! {
    static STATS: Cell<CurveOpStats> = Cell::new(CurveOpStats::default());
}

impl CurveOpStats {
    /// The counters for the current thread.
    pub fn snapshot() -> CurveOpStats {
        STATS.with(|s| s.get())
    }
    /// Sets the current thread's counters back to zero.
    pub fn reset() {
        STATS.with(|s| s.set(CurveOpStats::default()))
    }
    /// The sum of all counted operations.
    pub fn total(&self) -> u64 {
        self.base_mul
            + self.var_mul
            + self.point_add
            + self.ecdsa_sign
            + self.ecdsa_verify
            + self.ecdh
    }
}

impl Sub for CurveOpStats {
    type Output = CurveOpStats;
    fn sub(self, o: CurveOpStats) -> CurveOpStats {
        CurveOpStats {
            base_mul: self.base_mul - o.base_mul,
            var_mul: self.var_mul - o.var_mul,
            point_add: self.point_add - o.point_add,
            ecdsa_sign: self.ecdsa_sign - o.ecdsa_sign,
            ecdsa_verify: self.ecdsa_verify - o.ecdsa_verify,
            ecdh: self.ecdh - o.ecdh,
        }
    }
}

#[inline]
fn bump(f: impl FnOnce(&mut CurveOpStats)) {
    STATS.with(|s| {
        let mut v = s.get();
        f(&mut v);
        s.set(v);
    })
}

/// `secret·G`.
#[inline]
pub(crate) fn pubkey_of(secret: &SecretKey) -> PublicKey {
    bump(|s| s.base_mul += 1);
    PublicKey::from_secret_key(secp(), secret)
}

/// `point + tweak·G`; `Err` only if the result is the point at infinity
/// (probability ~2^-256 for hash-derived tweaks).
#[inline]
pub(crate) fn add_exp_tweak(
    point: &PublicKey,
    tweak: &Scalar,
) -> Result<PublicKey, bitcoin::secp256k1::Error> {
    bump(|s| {
        s.base_mul += 1;
        s.point_add += 1
    });
    point.add_exp_tweak(secp(), tweak)
}

/// `point·tweak`.
#[inline]
pub(crate) fn mul_tweak(
    point: &PublicKey,
    tweak: &Scalar,
) -> Result<PublicKey, bitcoin::secp256k1::Error> {
    bump(|s| s.var_mul += 1);
    point.mul_tweak(secp(), tweak)
}

/// `a + b`.
#[inline]
pub(crate) fn combine(
    a: &PublicKey,
    b: &PublicKey,
) -> Result<PublicKey, bitcoin::secp256k1::Error> {
    bump(|s| s.point_add += 1);
    a.combine(b)
}

/// Deterministic (RFC 6979) ECDSA without low-R grinding: the BOLT 3
/// vectors are made this way, and grinding costs extra `k·G` per retry.
#[inline]
pub(crate) fn sign(digest: &[u8; 32], key: &SecretKey) -> ecdsa::Signature {
    bump(|s| s.ecdsa_sign += 1);
    secp().sign_ecdsa(&Message::from_digest(*digest), key)
}

/// Recoverable ECDSA (BOLT 11 invoices).
#[inline]
pub(crate) fn sign_recoverable(digest: &[u8; 32], key: &SecretKey) -> ecdsa::RecoverableSignature {
    bump(|s| s.ecdsa_sign += 1);
    secp().sign_ecdsa_recoverable(&Message::from_digest(*digest), key)
}

/// Verifies an ECDSA signature.
#[inline]
pub(crate) fn verify(digest: &[u8; 32], sig: &ecdsa::Signature, key: &PublicKey) -> bool {
    bump(|s| s.ecdsa_verify += 1);
    secp()
        .verify_ecdsa(&Message::from_digest(*digest), sig, key)
        .is_ok()
}

/// ECDH as BOLT 8 and BOLT 4 define it: SHA256 of the compressed shared
/// point `secret·point`.
#[inline]
pub(crate) fn ecdh_sha256(point: &PublicKey, secret: &SecretKey) -> [u8; 32] {
    bump(|s| s.ecdh += 1);
    // libsecp256k1's default ECDH hash is SHA256(0x02|0x03 || x), that is
    // the SHA256 of the compressed point.
    ecdh::SharedSecret::new(point, secret).secret_bytes()
}

/// SHA256 of `a || b` as a scalar tweak; `None` if ≥ the group order
/// (probability ~2^-128).
#[inline]
pub(crate) fn hash_to_scalar(a: &[u8], b: &[u8]) -> Option<Scalar> {
    let mut e = sha256::Hash::engine();
    bitcoin::hashes::HashEngine::input(&mut e, a);
    bitcoin::hashes::HashEngine::input(&mut e, b);
    Scalar::from_be_bytes(sha256::Hash::from_engine(e).to_byte_array()).ok()
}
