//! ChaCha20-Poly1305 AEAD (RFC 8439 §2.8) as BOLT 8 uses it, written for
//! this crate: [`ChaCha20Poly1305`] seals and opens in place with a detached
//! tag, and [`Bolt8Cipher`] seals and opens BOLT 8 packets (length prefix
//! and body under consecutive nonces) sharing keystream batches.
//!
//! - ChaCha20 (RFC 8439 §2.3, §2.4): a portable block function and, when the
//!   CPU has AVX2 (checked at run time), eight blocks per call.
//! - Poly1305 (RFC 8439 §2.5): 44-bit limbs with 128-bit products, and
//!   four blocks at a time in radix 2^26 with AVX2 (checked at run time).
//! - The AEAD (RFC 8439 §2.8): the one-time Poly1305 key is the first 32
//!   bytes of block 0; the data is encrypted from block 1; the tag covers
//!   `aad || pad16 || ciphertext || pad16 || le64(len(aad)) || le64(len(ct))`.
//!
//! Tested against the RFC 8439 vectors and, by property tests, against the
//! `chacha20poly1305` crate on both the AVX2 and the portable path.

mod bolt8;
mod chacha;
pub mod fuzz;
mod poly1305;

pub use bolt8::Bolt8Cipher;
use chacha::{nonce_words, Batch, ChaChaKey, Sink};
use core::fmt;
pub(crate) use poly1305::tag_matches;
pub use poly1305::{poly1305, Poly1305};

/// Length of a key.
pub const KEY_LEN: usize = 32;
/// Length of a nonce.
pub const NONCE_LEN: usize = 12;
/// Length of a tag.
pub const TAG_LEN: usize = 16;
/// Longest plaintext accepted: the 32-bit block counter starts at 1, so
/// RFC 8439 allows `(2^32 - 1) * 64` bytes.
pub const MAX_LEN: u64 = (u32::MAX as u64) * 64;

/// Why sealing or opening failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AeadError {
    /// The tag did not match: the data or the tag was altered, or the key,
    /// nonce or AAD differ. The buffer is left as it was.
    BadTag,
    /// The plaintext exceeds [`MAX_LEN`].
    TooLong,
}

impl fmt::Display for AeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AeadError::BadTag => f.write_str("aead tag mismatch"),
            AeadError::TooLong => f.write_str("aead plaintext too long"),
        }
    }
}

impl std::error::Error for AeadError {}

/// A ChaCha20-Poly1305 key, ready to seal and open.
#[derive(Clone)]
pub struct ChaCha20Poly1305 {
    key: ChaChaKey,
}

impl fmt::Debug for ChaCha20Poly1305 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChaCha20Poly1305(..)")
    }
}

/// The RFC 8439 §2.8 tag input after block 0: padded AAD and ciphertext,
/// then both lengths.
pub(crate) fn compute_tag(otk: &[u8; 64], aad: &[u8], ct: &[u8]) -> [u8; TAG_LEN] {
    compute_tag_word(otk, aad, ct).to_le_bytes()
}

/// [`compute_tag`] as a little-endian number.
#[inline]
pub(crate) fn compute_tag_word(otk: &[u8; 64], aad: &[u8], ct: &[u8]) -> u128 {
    let mut key = [0u8; 32];
    key.copy_from_slice(&otk[..32]);
    let mut p = Poly1305::new(&key);
    p.padded(aad);
    p.padded(ct);
    p.lengths(aad.len() as u64, ct.len() as u64);
    p.finish_word(&[])
}

impl ChaCha20Poly1305 {
    /// A key; uses AVX2 when this CPU has it.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        ChaCha20Poly1305 {
            key: ChaChaKey::new(key),
        }
    }

    /// A key that always uses the portable ChaCha20 code (for tests).
    pub fn new_portable(key: &[u8; KEY_LEN]) -> Self {
        ChaCha20Poly1305 {
            key: ChaChaKey::portable(key),
        }
    }

    pub(crate) fn key(&self) -> &ChaChaKey {
        &self.key
    }

    /// Encrypts `buf` in place and returns its tag over `aad` and the
    /// ciphertext.
    pub fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], AeadError> {
        if buf.len() as u64 > MAX_LEN {
            return Err(AeadError::TooLong);
        }
        let n = nonce_words(nonce);
        let mut otk = [0u8; 64];
        let mut batch = Batch::new(&self.key);
        batch.push(0, &n, Sink::Store(&mut otk));
        batch.push_data(1, &n, buf);
        batch.finish();
        Ok(compute_tag(&otk, aad, buf))
    }

    /// Checks `tag` over `aad` and the ciphertext in `buf`, then decrypts
    /// `buf` in place. On a bad tag `buf` is unchanged.
    pub fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), AeadError> {
        if buf.len() as u64 > MAX_LEN {
            return Err(AeadError::BadTag);
        }
        let n = nonce_words(nonce);
        // Block 0 and the first seven data blocks are one batch anyway, so
        // compute them together; the rest only once the tag checked out.
        let head = buf.len().min(7 * 64);
        let mut ks = [[0u8; 64]; 8];
        {
            let mut batch = Batch::new(&self.key);
            for (i, k) in ks.iter_mut().enumerate().take(1 + head.div_ceil(64)) {
                batch.push(i as u32, &n, Sink::Store(k));
            }
            batch.finish();
        }
        if !tag_matches(compute_tag_word(&ks[0], aad, buf), tag) {
            return Err(AeadError::BadTag);
        }
        let (first, rest) = buf.split_at_mut(head);
        for (chunk, k) in first.chunks_mut(64).zip(ks[1..].iter()) {
            for (d, k) in chunk.iter_mut().zip(k.iter()) {
                *d ^= k;
            }
        }
        if !rest.is_empty() {
            let mut batch = Batch::new(&self.key);
            batch.push_data(8, &n, rest);
            batch.finish();
        }
        Ok(())
    }
}

/// The BOLT 8 nonce for counter `n`: 32 zero bits, then `n` as 64 bits
/// little-endian.
pub fn bolt8_nonce(n: u64) -> [u8; NONCE_LEN] {
    let mut b = [0u8; NONCE_LEN];
    b[4..].copy_from_slice(&n.to_le_bytes());
    b
}
