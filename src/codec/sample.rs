//! Deterministic random values of every wire type, for property tests,
//! fuzz seed generation and benches.
//!
//! [`Sample`] builds a value from a [`SampleRng`]; every message declared
//! with [`impl_writable_msg!`](crate::impl_writable_msg) gets an
//! implementation, unknown odd TLV records included, so a property test can
//! check `read(encode(m)) == m` for every message type from one seed.

use super::{BigSize, Tu16, Tu32, Tu64, WithU16Len};
use crate::types::{
    ChannelId, PaymentHash, PaymentPreimage, PaymentSecret, Point, ShortChannelId, WireSignature,
};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::ecdsa;
use bitcoin::{ScriptBuf, Txid};

/// A small deterministic generator (SplitMix64); not for keys.
#[derive(Clone, Debug)]
pub struct SampleRng(u64);

impl SampleRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SampleRng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A coin flip.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.fill(&mut v);
        v
    }
}

/// A type that can produce a random, valid (encodable and decodable) value.
pub trait Sample: Sized {
    /// A random value.
    fn sample(g: &mut SampleRng) -> Self;
}

macro_rules! sample_int {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn sample(g: &mut SampleRng) -> Self {
                // Mix small and full-width values so truncated forms get exercised.
                match g.below(3) {
                    0 => g.below(300) as $t,
                    _ => g.next_u64() as $t,
                }
            }
        }
    )*};
}
sample_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl<const N: usize> Sample for [u8; N] {
    fn sample(g: &mut SampleRng) -> Self {
        let mut a = [0u8; N];
        g.fill(&mut a);
        a
    }
}

impl<T: Sample> Sample for Option<T> {
    fn sample(g: &mut SampleRng) -> Self {
        g.coin().then(|| T::sample(g))
    }
}

impl<T: Sample> Sample for Vec<T> {
    fn sample(g: &mut SampleRng) -> Self {
        (0..g.below(5)).map(|_| T::sample(g)).collect()
    }
}

impl Sample for WithU16Len {
    fn sample(g: &mut SampleRng) -> Self {
        let len = g.below(48) as usize;
        WithU16Len(g.bytes(len))
    }
}

impl Sample for BigSize {
    fn sample(g: &mut SampleRng) -> Self {
        BigSize(u64::sample(g))
    }
}
impl Sample for Tu16 {
    fn sample(g: &mut SampleRng) -> Self {
        Tu16(u16::sample(g))
    }
}
impl Sample for Tu32 {
    fn sample(g: &mut SampleRng) -> Self {
        Tu32(u32::sample(g))
    }
}
impl Sample for Tu64 {
    fn sample(g: &mut SampleRng) -> Self {
        Tu64(u64::sample(g))
    }
}

macro_rules! sample_bytes32 {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn sample(g: &mut SampleRng) -> Self {
                <$t>::from(<[u8; 32]>::sample(g))
            }
        }
    )*};
}
sample_bytes32!(
    ChannelId,
    PaymentHash,
    PaymentPreimage,
    PaymentSecret,
    ChainHash
);

impl Sample for Txid {
    fn sample(g: &mut SampleRng) -> Self {
        Txid::from_byte_array(<[u8; 32]>::sample(g))
    }
}

impl Sample for ShortChannelId {
    fn sample(g: &mut SampleRng) -> Self {
        ShortChannelId(g.next_u64())
    }
}

impl Sample for Point {
    fn sample(g: &mut SampleRng) -> Self {
        let mut b = <[u8; 33]>::sample(g);
        b[0] = 2 + (b[0] & 1);
        Point(b)
    }
}

impl Sample for ecdsa::Signature {
    fn sample(g: &mut SampleRng) -> Self {
        loop {
            // A random (r, s) is valid unless either is 0 or ≥ n: astronomically rare.
            if let Ok(s) = ecdsa::Signature::from_compact(&<[u8; 64]>::sample(g)) {
                return s;
            }
        }
    }
}

impl Sample for ScriptBuf {
    fn sample(g: &mut SampleRng) -> Self {
        let len = g.below(40) as usize;
        ScriptBuf::from_bytes(g.bytes(len))
    }
}

impl Sample for WireSignature {
    fn sample(g: &mut SampleRng) -> Self {
        WireSignature::from(ecdsa::Signature::sample(g))
    }
}
