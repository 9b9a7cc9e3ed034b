//! Poly1305 one-time authenticator (RFC 8439 §2.5), written for this crate.
//!
//! The accumulator and the clamped key `r` are held in three limbs of 44, 44
//! and 42 bits, so each 16-byte block costs nine 64×64→128-bit multiplies.
//! Reduction modulo `p = 2^130 - 5` uses `2^130 ≡ 5`, hence a limb product
//! that lands at weight `2^132` folds back multiplied by 20. Every step is
//! constant-time: no branch or memory index depends on the key or the data,
//! only on the message length. Runs of eight or more blocks go four at a
//! time through AVX2 when the CPU has it (see the `avx2` module below).

/// Length of a Poly1305 key (`r || s`).
pub const KEY_LEN: usize = 32;
/// Length of a Poly1305 tag.
pub const TAG_LEN: usize = 16;

const MASK44: u64 = (1 << 44) - 1;
const MASK42: u64 = (1 << 42) - 1;

/// A 16-byte block read little-endian as limbs, with `hibit` added at
/// bit 128 (`1 << 40` of limb 2) for a full block.
#[inline(always)]
fn limbs(block: &[u8], hibit: u64) -> [u64; 3] {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&block[..8]);
    hi.copy_from_slice(&block[8..16]);
    word_limbs(u64::from_le_bytes(lo), u64::from_le_bytes(hi), hibit)
}

/// A block given as its low and high little-endian words, as limbs.
#[inline(always)]
fn word_limbs(lo: u64, hi: u64, hibit: u64) -> [u64; 3] {
    [
        lo & MASK44,
        ((lo >> 44) | (hi << 20)) & MASK44,
        (hi >> 24) | hibit,
    ]
}

/// Fewer than 8 bytes read little-endian, zero-extended.
#[inline(always)]
fn short_word(b: &[u8]) -> u64 {
    debug_assert!(b.len() < 8);
    let mut w = 0u64;
    for (i, &x) in b.iter().enumerate() {
        w |= (x as u64) << (8 * i);
    }
    w
}

/// Fewer than 16 bytes as the two little-endian words of a zero-padded
/// block. Built in registers: copying them into a zeroed block and reading
/// it back stalls on store forwarding.
#[inline(always)]
fn partial_words(rest: &[u8]) -> (u64, u64) {
    debug_assert!(rest.len() < 16);
    if rest.len() >= 8 {
        let mut lo = [0u8; 8];
        lo.copy_from_slice(&rest[..8]);
        (u64::from_le_bytes(lo), short_word(&rest[8..]))
    } else {
        (short_word(rest), 0)
    }
}

/// Reduces a product given as three 128-bit limb sums back to 44/44/42-bit
/// limbs (limb 0 and 1 may exceed their width by a few bits).
#[inline(always)]
fn carry(d0: u128, mut d1: u128, mut d2: u128) -> [u64; 3] {
    d1 += d0 >> 44;
    let mut h0 = (d0 as u64) & MASK44;
    d2 += d1 >> 44;
    let mut h1 = (d1 as u64) & MASK44;
    let c = (d2 >> 42) as u64;
    let h2 = (d2 as u64) & MASK42;
    h0 += c * 5;
    h1 += h0 >> 44;
    h0 &= MASK44;
    [h0, h1, h2]
}

#[cfg(target_arch = "x86_64")]
fn avx2_available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_available() -> bool {
    false
}

/// `a * b mod p` on limbs (not fully reduced), for precomputing powers of `r`.
fn mul(a: [u64; 3], b: [u64; 3]) -> [u64; 3] {
    let m = |x: u64, y: u64| (x as u128) * (y as u128);
    let (b1x, b2x) = (b[1] * 20, b[2] * 20);
    let d0 = m(a[0], b[0]) + m(a[1], b2x) + m(a[2], b1x);
    let d1 = m(a[0], b[1]) + m(a[1], b[0]) + m(a[2], b2x);
    let d2 = m(a[0], b[2]) + m(a[1], b[1]) + m(a[2], b[0]);
    carry(d0, d1, d2)
}

/// An in-progress Poly1305 computation over whole 16-byte blocks, with a
/// final partial block allowed once, in [`Poly1305::finish`].
#[derive(Clone)]
pub struct Poly1305 {
    r: [u64; 3],
    /// `20 * r1`, `20 * r2`: the factors for products that wrap past 2^130
    /// (`2^130 ≡ 5 (mod p)`, so a product at weight `2^132` is 20 times
    /// the same product at weight 1).
    s20: [u64; 2],
    /// Whether to use the AVX2 code for long inputs.
    avx2: bool,
    h: [u64; 3],
    /// The second key half, added at the end.
    pad: u128,
}

impl Poly1305 {
    /// Starts a computation with a one-time key (never reuse a key).
    #[inline]
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let mut r = [0u8; 16];
        r.copy_from_slice(&key[..16]);
        // RFC 8439 §2.5: clamp(r): r &= 0x0ffffffc0ffffffc0ffffffc0fffffff.
        let r = u128::from_le_bytes(r) & 0x0fff_fffc_0fff_fffc_0fff_fffc_0fff_ffff;
        let r0 = (r as u64) & MASK44;
        let r1 = ((r >> 44) as u64) & MASK44;
        let r2 = ((r >> 88) as u64) & MASK42;
        let mut s = [0u8; 16];
        s.copy_from_slice(&key[16..]);
        Poly1305 {
            r: [r0, r1, r2],
            s20: [r1 * 20, r2 * 20],
            avx2: avx2_available(),
            h: [0; 3],
            pad: u128::from_le_bytes(s),
        }
    }

    /// Absorbs `data`, whose length must be a multiple of 16, as full blocks.
    #[inline]
    pub fn blocks(&mut self, data: &[u8]) {
        debug_assert!(data.len() % 16 == 0);
        self.absorb(data, 1 << 40);
    }

    /// Absorbs `data` zero-padded to a multiple of 16 bytes, as the AEAD
    /// construction does for its AAD and ciphertext (RFC 8439 §2.8).
    #[inline]
    pub fn padded(&mut self, data: &[u8]) {
        let whole = data.len() & !15;
        self.absorb(&data[..whole], 1 << 40);
        let rest = &data[whole..];
        if !rest.is_empty() {
            let (lo, hi) = partial_words(rest);
            self.absorb_words(lo, hi, 1 << 40);
        }
    }

    /// Absorbs the final block of the AEAD construction (RFC 8439 §2.8):
    /// the AAD length and the ciphertext length as 64-bit little-endian
    /// numbers.
    #[inline]
    pub fn lengths(&mut self, aad_len: u64, ct_len: u64) {
        self.absorb_words(aad_len, ct_len, 1 << 40);
    }

    /// `h = (h + m) * r mod p` for the one block `m` given as its low and
    /// high little-endian words, with `hibit` (at limb 2) set above it.
    #[inline(always)]
    fn absorb_words(&mut self, lo: u64, hi: u64, hibit: u64) {
        let [r0, r1, r2] = self.r;
        let [s1, s2] = self.s20;
        let [h0, h1, h2] = self.h;
        let m = |a: u64, b: u64| (a as u128) * (b as u128);
        let [a0, a1, a2] = word_limbs(lo, hi, hibit);
        let a0 = h0 + a0;
        let a1 = h1 + a1;
        let a2 = h2 + a2;
        let d0 = m(a0, r0) + m(a1, s2) + m(a2, s1);
        let d1 = m(a0, r1) + m(a1, r0) + m(a2, s2);
        let d2 = m(a0, r2) + m(a1, r1) + m(a2, r0);
        self.h = carry(d0, d1, d2);
    }

    /// `h = (h + m) * r mod p` for each 16-byte block `m` of `data`, the
    /// block read little-endian with `hibit` (at limb 2) set above it.
    /// Runs of 8 or more full blocks go four at a time through AVX2 when
    /// the CPU has it.
    #[inline(always)]
    fn absorb(&mut self, mut data: &[u8], hibit: u64) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 && hibit != 0 && data.len() >= 128 {
            let whole = data.len() & !63;
            #[allow(unsafe_code)]
            // SAFETY: `avx2` is only set when the CPU reported AVX2
            // (`Poly1305::new`), which is all `blocks4` requires.
            unsafe {
                avx2::blocks4(&self.r, &mut self.h, &data[..whole])
            };
            data = &data[whole..];
        }
        let [r0, r1, r2] = self.r;
        let [s1, s2] = self.s20;
        let [mut h0, mut h1, mut h2] = self.h;
        let m = |a: u64, b: u64| (a as u128) * (b as u128);
        for block in data.chunks_exact(16) {
            let [a0, a1, a2] = limbs(block, hibit);
            let a0 = h0 + a0;
            let a1 = h1 + a1;
            let a2 = h2 + a2;
            let d0 = m(a0, r0) + m(a1, s2) + m(a2, s1);
            let d1 = m(a0, r1) + m(a1, r0) + m(a2, s2);
            let d2 = m(a0, r2) + m(a1, r1) + m(a2, r0);
            [h0, h1, h2] = carry(d0, d1, d2);
        }
        self.h = [h0, h1, h2];
    }

    /// Absorbs a final `tail` of fewer than 16 bytes (RFC 8439 §2.5: the
    /// block gets a 0x01 byte after it instead of the 2^128 bit) and
    /// returns the tag `(h + s) mod 2^128`.
    pub fn finish(mut self, tail: &[u8]) -> [u8; TAG_LEN] {
        self.absorb_tail(tail);
        self.tag()
    }

    /// The final partial block of [`Poly1305::finish`], if any.
    #[inline]
    fn absorb_tail(&mut self, tail: &[u8]) {
        debug_assert!(tail.len() < 16);
        if !tail.is_empty() {
            let (mut lo, mut hi) = partial_words(tail);
            let one = tail.len() * 8;
            if one < 64 {
                lo |= 1 << one;
            } else {
                hi |= 1 << (one - 64);
            }
            self.absorb_words(lo, hi, 0);
        }
    }

    /// The same computation forced onto the portable code (for tests).
    pub fn portable(mut self) -> Self {
        self.avx2 = false;
        self
    }

    /// The tag over whole blocks absorbed so far.
    fn tag(self) -> [u8; TAG_LEN] {
        self.tag_word().to_le_bytes()
    }

    /// As [`Poly1305::finish`], with the tag as a little-endian number
    /// (kept in registers rather than stored and reloaded as bytes).
    #[inline]
    pub(crate) fn finish_word(mut self, tail: &[u8]) -> u128 {
        self.absorb_tail(tail);
        self.tag_word()
    }

    /// The tag over whole blocks absorbed so far, as a little-endian number.
    #[inline]
    fn tag_word(self) -> u128 {
        let [mut h0, mut h1, mut h2] = self.h;
        // Carry fully so each limb is within its width (h < 2^130 + small).
        h2 += h1 >> 44;
        h1 &= MASK44;
        h0 += (h2 >> 42) * 5;
        h2 &= MASK42;
        h1 += h0 >> 44;
        h0 &= MASK44;
        h2 += h1 >> 44;
        h1 &= MASK44;
        h0 += (h2 >> 42) * 5;
        h2 &= MASK42;
        h1 += h0 >> 44;
        h0 &= MASK44;
        // g = h + 5 - 2^130; keep g when it did not borrow (h >= p).
        let mut g0 = h0 + 5;
        let mut g1 = h1 + (g0 >> 44);
        g0 &= MASK44;
        let g2 = (h2 + (g1 >> 44)).wrapping_sub(1 << 42);
        g1 &= MASK44;
        // All ones when g2 did not go negative, else zero: no branch.
        let keep_g = (g2 >> 63).wrapping_sub(1);
        let h0 = (h0 & !keep_g) | (g0 & keep_g);
        let h1 = (h1 & !keep_g) | (g1 & keep_g);
        let h2 = (h2 & !keep_g) | (g2 & keep_g & MASK42);
        // Added, not or-ed: after the carries `h1` may still equal 2^44.
        let h = (h0 as u128)
            .wrapping_add((h1 as u128) << 44)
            .wrapping_add((h2 as u128) << 88);
        h.wrapping_add(self.pad)
    }
}

/// Poly1305 of `msg` under `key` in one call.
pub fn poly1305(key: &[u8; KEY_LEN], msg: &[u8]) -> [u8; TAG_LEN] {
    let mut p = Poly1305::new(key);
    let whole = msg.len() & !15;
    p.blocks(&msg[..whole]);
    p.finish(&msg[whole..])
}

/// Whether a computed tag (as a little-endian number) equals `tag`, in
/// constant time: one XOR and one test of the whole 128 bits.
#[inline]
pub(crate) fn tag_matches(computed: u128, tag: &[u8; TAG_LEN]) -> bool {
    core::hint::black_box(computed ^ u128::from_le_bytes(*tag)) == 0
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    //! Four Poly1305 blocks at a time. The value is kept in radix 2^26
    //! (five limbs, one 64-bit lane per limb per block stream) so that
    //! `vpmuludq` (32×32→64 bits) can multiply four streams at once.
    //!
    //! For blocks `m_1..m_4q` and starting value `h`, the result must be
    //! `sum m_i r^(4q-i+1) + h r^(4q)`. Each lane takes one block of every
    //! group of four (lanes 0 to 3 take the group's blocks 1, 3, 2, 4): each
    //! round multiplies every lane by `r^4` and adds the next four blocks,
    //! and the last round multiplies the lane of block `4k+i` by `r^(5-i)`
    //! instead, so each block ends with its right power. `h` enters lane 0
    //! with block 1.
    //! The lanes are then summed and handed back to the 44-bit code.
    //!
    //! Bounds: limbs entering a product are below 2^27 and the factors
    //! below 5 * 2^26 < 2^29, so each of the five products summed per limb
    //! is below 2^56 and the sums fit the 64-bit lanes.

    use super::{mul, MASK44};
    use std::arch::x86_64::*;

    const M26: u64 = (1 << 26) - 1;

    /// 44/44/42-bit limbs (limb 1 may slightly exceed 44 bits) to five
    /// 26-bit limbs of the same value (the top limb may slightly exceed).
    fn to26(h: [u64; 3]) -> [u64; 5] {
        let l0 = h[0] & M26;
        let mut t = (h[0] >> 26) + (h[1] << 18);
        let l1 = t & M26;
        t >>= 26;
        let l2 = t & M26;
        t >>= 26;
        t += h[2] << 10;
        let l3 = t & M26;
        [l0, l1, l2, l3, t >> 26]
    }

    /// Five radix-2^26 limbs (each below 2^28) back to 44-bit limbs,
    /// reducing modulo `p` on the way.
    fn to44(mut l: [u64; 5]) -> [u64; 3] {
        let mut c = 0;
        for x in l.iter_mut() {
            *x += c;
            c = *x >> 26;
            *x &= M26;
        }
        l[0] += c * 5;
        l[1] += l[0] >> 26;
        l[0] &= M26;
        let x = l[0] + (l[1] << 26);
        let y = (x >> 44) + (l[2] << 8) + (l[3] << 34);
        [x & MASK44, y & MASK44, (y >> 44) + (l[4] << 16)]
    }

    /// Lane `j` of each result vector is the product of lane `j` of `a`
    /// and of `b`, modulo `p` only partially: `b5` holds `5 * b`.
    macro_rules! mulmod {
        ($a:expr, $b:expr, $b5:expr) => {{
            let (a, b, b5) = (&$a, &$b, &$b5);
            let m = |x: __m256i, y: __m256i| _mm256_mul_epu32(x, y);
            let s = |x: __m256i, y: __m256i| _mm256_add_epi64(x, y);
            // Sums as trees, not chains: shorter latency per round.
            [
                s(
                    s(m(a[0], b[0]), m(a[1], b5[4])),
                    s(s(m(a[2], b5[3]), m(a[3], b5[2])), m(a[4], b5[1])),
                ),
                s(
                    s(m(a[0], b[1]), m(a[1], b[0])),
                    s(s(m(a[2], b5[4]), m(a[3], b5[3])), m(a[4], b5[2])),
                ),
                s(
                    s(m(a[0], b[2]), m(a[1], b[1])),
                    s(s(m(a[2], b[0]), m(a[3], b5[4])), m(a[4], b5[3])),
                ),
                s(
                    s(m(a[0], b[3]), m(a[1], b[2])),
                    s(s(m(a[2], b[1]), m(a[3], b[0])), m(a[4], b5[4])),
                ),
                s(
                    s(m(a[0], b[4]), m(a[1], b[3])),
                    s(s(m(a[2], b[2]), m(a[3], b[1])), m(a[4], b[0])),
                ),
            ]
        }};
    }

    /// A carry pass over five limb vectors in two interleaved chains
    /// (limb 3 to 4 to 0 to 1 and limb 0 to 1 to 2 to 3 to 4), so its
    /// latency is four steps instead of seven; the carry out of limb 4
    /// comes back times 5 into limb 0. For inputs below 2^60 every limb
    /// ends below 2^26 + 2^11.
    macro_rules! carry {
        ($d:expr, $mask:expr) => {{
            let [mut d0, mut d1, mut d2, mut d3, mut d4] = $d;
            let mask = $mask;
            let c3 = _mm256_srli_epi64::<26>(d3);
            d3 = _mm256_and_si256(d3, mask);
            d4 = _mm256_add_epi64(d4, c3);
            let c0 = _mm256_srli_epi64::<26>(d0);
            d0 = _mm256_and_si256(d0, mask);
            d1 = _mm256_add_epi64(d1, c0);
            let c4 = _mm256_srli_epi64::<26>(d4);
            d4 = _mm256_and_si256(d4, mask);
            d0 = _mm256_add_epi64(d0, _mm256_add_epi64(c4, _mm256_slli_epi64::<2>(c4)));
            let c1 = _mm256_srli_epi64::<26>(d1);
            d1 = _mm256_and_si256(d1, mask);
            d2 = _mm256_add_epi64(d2, c1);
            let c2 = _mm256_srli_epi64::<26>(d2);
            d2 = _mm256_and_si256(d2, mask);
            d3 = _mm256_add_epi64(d3, c2);
            let c0 = _mm256_srli_epi64::<26>(d0);
            d0 = _mm256_and_si256(d0, mask);
            d1 = _mm256_add_epi64(d1, c0);
            let c3 = _mm256_srli_epi64::<26>(d3);
            d3 = _mm256_and_si256(d3, mask);
            d4 = _mm256_add_epi64(d4, c3);
            [d0, d1, d2, d3, d4]
        }};
    }

    /// Four consecutive full blocks (64 bytes) as limb vectors, blocks
    /// 0, 2, 1, 3 in lanes 0 to 3, with the 2^128 bit set.
    macro_rules! load {
        ($chunk:expr, $mask:expr) => {{
            let chunk: &[u8] = $chunk;
            debug_assert_eq!(chunk.len(), 64);
            // SAFETY: `chunk` is 64 bytes, read as two unaligned 32-byte
            // loads; `loadu` has no alignment requirement.
            let (x, y) = unsafe {
                (
                    _mm256_loadu_si256(chunk.as_ptr() as *const __m256i),
                    _mm256_loadu_si256(chunk[32..].as_ptr() as *const __m256i),
                )
            };
            // x = lo0 hi0 lo1 hi1, y = lo2 hi2 lo3 hi3 (64-bit words).
            // Lanes hold blocks 0, 2, 1, 3: the 128-bit halves are not
            // crossed (that would cost a `vpermq` per vector), the final
            // powers of `r` follow the same order instead.
            let lo = _mm256_unpacklo_epi64(x, y);
            let hi = _mm256_unpackhi_epi64(x, y);
            let mask = $mask;
            [
                _mm256_and_si256(lo, mask),
                _mm256_and_si256(_mm256_srli_epi64::<26>(lo), mask),
                _mm256_and_si256(
                    _mm256_or_si256(_mm256_srli_epi64::<52>(lo), _mm256_slli_epi64::<12>(hi)),
                    mask,
                ),
                _mm256_and_si256(_mm256_srli_epi64::<14>(hi), mask),
                _mm256_or_si256(_mm256_srli_epi64::<40>(hi), _mm256_set1_epi64x(1 << 24)),
            ]
        }};
    }

    /// Absorbs `data` (a non-zero multiple of 64 bytes, full blocks) into
    /// `h` with key `r` (both 44-bit limbs).
    ///
    /// `r` and `h` are read and `h` written by reference, limb by limb: an
    /// array passed by value goes through the stack as wider copies of the
    /// caller's 8-byte stores, which stalls store forwarding.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn blocks4(r: &[u64; 3], h: &mut [u64; 3], data: &[u8]) {
        let r = [r[0], r[1], r[2]];
        debug_assert!(!data.is_empty() && data.len() % 64 == 0);
        let r2 = mul(r, r);
        let r3 = mul(r2, r);
        let r4 = mul(r2, r2);
        let (p1, p2, p3, p4) = (to26(r), to26(r2), to26(r3), to26(r4));
        // The multipliers are below 2^32 and `vpmuludq` reads only the low
        // half of each 64-bit lane. Repeating the value in the high half
        // hides that the high half is zero, which otherwise lets the
        // compiler rewrite the product as a full 64-bit multiply (three
        // multiplies and shifts each) once the value crosses the loop.
        let splat = |l: [u64; 5]| l.map(|x| _mm256_set1_epi32(x as i32));
        let k4 = splat(p4);
        let x5 = |v: __m256i| _mm256_add_epi32(v, _mm256_slli_epi32::<2>(v));
        let k4x5 = k4.map(x5);
        // The lanes hold blocks 0, 2, 1, 3 of each group (see `load!`), so
        // lane 0 ends with r^4, lane 1 with r^2, lane 2 with r^3, lane 3 with r.
        let last = |a: [u64; 5], b: [u64; 5], c: [u64; 5], d: [u64; 5]| {
            [0, 1, 2, 3, 4]
                .map(|i| _mm256_setr_epi64x(a[i] as i64, b[i] as i64, c[i] as i64, d[i] as i64))
        };
        let kl = last(p4, p2, p3, p1);
        // Limbs below 2^27 times 5 stay below 2^32: 32-bit lanes suffice.
        let klx5 = kl.map(x5);

        // The limb mask, opaque to the optimizer for the same reason: with
        // a known mask it proves the accumulator's high halves zero, drops
        // the masking `vpmuludq` implies, and then widens the multiply.
        let mask = _mm256_set1_epi64x(core::hint::black_box(M26) as i64);
        let mut groups = data.chunks_exact(64);
        let first = groups.next().expect("at least one group");
        let hv = to26([h[0], h[1], h[2]]).map(|x| _mm256_setr_epi64x(x as i64, 0, 0, 0));
        let m = load!(first, mask);
        let mut acc = [0, 1, 2, 3, 4].map(|i| _mm256_add_epi64(m[i], hv[i]));
        for g in groups {
            let prod = carry!(mulmod!(acc, k4, k4x5), mask);
            let m = load!(g, mask);
            acc = [0, 1, 2, 3, 4].map(|i| _mm256_add_epi64(prod[i], m[i]));
        }
        let fin = carry!(mulmod!(acc, kl, klx5), mask);
        let sum = fin.map(|v| {
            (_mm256_extract_epi64::<0>(v) as u64)
                + (_mm256_extract_epi64::<1>(v) as u64)
                + (_mm256_extract_epi64::<2>(v) as u64)
                + (_mm256_extract_epi64::<3>(v) as u64)
        });
        let [h0, h1, h2] = to44(sum);
        h[0] = h0;
        h[1] = h1;
        h[2] = h2;
    }
}
