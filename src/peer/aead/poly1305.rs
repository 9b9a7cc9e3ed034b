//! Poly1305 one-time authenticator (RFC 8439 §2.5), written for this crate.
//!
//! The accumulator and the clamped key `r` are held in three limbs of 44, 44
//! and 42 bits, so each 16-byte block costs nine 64×64→128-bit multiplies.
//! Reduction modulo `p = 2^130 - 5` uses `2^130 ≡ 5`, hence a limb product
//! that lands at weight `2^132` folds back multiplied by 20. Every step is
//! constant-time: no branch or memory index depends on the key or the data,
//! only on the message length.

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
    let lo = u64::from_le_bytes(lo);
    let hi = u64::from_le_bytes(hi);
    [
        lo & MASK44,
        ((lo >> 44) | (hi << 20)) & MASK44,
        (hi >> 24) | hibit,
    ]
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

/// `a * b mod p` on limbs (not fully reduced), for precomputing `r^2`.
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
    /// `r^2 mod p` (limbs) and 20 times its limbs 1 and 2.
    rr: [u64; 3],
    rr20: [u64; 2],
    h: [u64; 3],
    /// The second key half, added at the end.
    pad: u128,
}

impl Poly1305 {
    /// Starts a computation with a one-time key (never reuse a key).
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
        let rr = mul([r0, r1, r2], [r0, r1, r2]);
        Poly1305 {
            r: [r0, r1, r2],
            s20: [r1 * 20, r2 * 20],
            rr,
            rr20: [rr[1] * 20, rr[2] * 20],
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
            let mut b = [0u8; 16];
            b[..rest.len()].copy_from_slice(rest);
            self.absorb(&b, 1 << 40);
        }
    }

    /// `h = (h + m) * r mod p` for each 16-byte block `m` of `data`, the
    /// block read little-endian with `hibit` (at limb 2) set above it.
    ///
    /// Blocks go in pairs as `h = (h + m1) * r^2 + m2 * r`, the same value
    /// as two single steps: the two products are independent, so the CPU
    /// overlaps them, and the carries run once per pair.
    #[inline(always)]
    fn absorb(&mut self, data: &[u8], hibit: u64) {
        let [r0, r1, r2] = self.r;
        let [s1, s2] = self.s20;
        let [q0, q1, q2] = self.rr;
        let [t1, t2] = self.rr20;
        let [mut h0, mut h1, mut h2] = self.h;
        let m = |a: u64, b: u64| (a as u128) * (b as u128);
        let mut pairs = data.chunks_exact(32);
        for pair in &mut pairs {
            let [a0, a1, a2] = limbs(&pair[..16], hibit);
            let [b0, b1, b2] = limbs(&pair[16..], hibit);
            let a0 = h0 + a0;
            let a1 = h1 + a1;
            let a2 = h2 + a2;
            let d0 = m(a0, q0) + m(a1, t2) + m(a2, t1) + m(b0, r0) + m(b1, s2) + m(b2, s1);
            let d1 = m(a0, q1) + m(a1, q0) + m(a2, t2) + m(b0, r1) + m(b1, r0) + m(b2, s2);
            let d2 = m(a0, q2) + m(a1, q1) + m(a2, q0) + m(b0, r2) + m(b1, r1) + m(b2, r0);
            [h0, h1, h2] = carry(d0, d1, d2);
        }
        for block in pairs.remainder().chunks_exact(16) {
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
        debug_assert!(tail.len() < 16);
        if !tail.is_empty() {
            let mut b = [0u8; 16];
            b[..tail.len()].copy_from_slice(tail);
            b[tail.len()] = 1;
            self.absorb(&b, 0);
        }
        self.tag()
    }

    /// The tag over whole blocks absorbed so far.
    fn tag(self) -> [u8; TAG_LEN] {
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
        h.wrapping_add(self.pad).to_le_bytes()
    }
}

/// Poly1305 of `msg` under `key` in one call.
pub fn poly1305(key: &[u8; KEY_LEN], msg: &[u8]) -> [u8; TAG_LEN] {
    let mut p = Poly1305::new(key);
    let whole = msg.len() & !15;
    p.blocks(&msg[..whole]);
    p.finish(&msg[whole..])
}

/// Compares two tags in constant time.
pub fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    let mut acc = 0u8;
    for (x, y) in a.iter().zip(b) {
        acc |= x ^ y;
    }
    core::hint::black_box(acc) == 0
}
