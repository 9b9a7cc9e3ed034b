//! The ChaCha20 block function (RFC 8439 §2.3), written for this crate, with
//! a portable path and an AVX2 path that computes eight blocks at once.
//!
//! Keystream is produced in batches of up to eight blocks, each block with
//! its own counter and nonce, so one batch can serve the Poly1305 key block
//! and the data blocks of a message, or of two messages (BOLT 8 seals the
//! length prefix and the body under consecutive nonces).

/// "expand 32-byte k", the first four state words (RFC 8439 §2.3).
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// Blocks computed per batch.
pub(crate) const LANES: usize = 8;

/// A ChaCha20 key expanded to words, and the implementation to run.
#[derive(Clone)]
pub(crate) struct ChaChaKey {
    key: [u32; 8],
    avx2: bool,
}

impl ChaChaKey {
    /// The key, using AVX2 when this CPU has it.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        ChaChaKey {
            key: key_words(key),
            avx2: avx2_available(),
        }
    }

    /// The key, always on the portable path (for tests and comparison).
    pub(crate) fn portable(key: &[u8; 32]) -> Self {
        ChaChaKey {
            key: key_words(key),
            avx2: false,
        }
    }
}

fn key_words(key: &[u8; 32]) -> [u32; 8] {
    let mut w = [0u32; 8];
    for (w, b) in w.iter_mut().zip(key.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    w
}

/// A 12-byte nonce as three little-endian words.
pub(crate) fn nonce_words(nonce: &[u8; 12]) -> [u32; 3] {
    let mut w = [0u32; 3];
    for (w, b) in w.iter_mut().zip(nonce.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    w
}

#[cfg(target_arch = "x86_64")]
fn avx2_available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_available() -> bool {
    false
}

/// Where one keystream block goes.
pub(crate) enum Sink<'a> {
    /// Store the block itself (the Poly1305 key comes from block 0).
    Store(&'a mut [u8; 64]),
    /// XOR the block into up to 64 bytes of data.
    Xor(&'a mut [u8]),
}

/// Collects up to eight `(counter, nonce, sink)` jobs, runs them as one
/// batch when full, and on [`Batch::finish`].
pub(crate) struct Batch<'k, 'a> {
    key: &'k ChaChaKey,
    counters: [u32; LANES],
    /// `nonces[w][lane]`: word `w` of each lane's nonce.
    nonces: [[u32; LANES]; 3],
    sinks: [Option<Sink<'a>>; LANES],
    len: usize,
}

impl<'k, 'a> Batch<'k, 'a> {
    /// An empty batch under `key`.
    pub(crate) fn new(key: &'k ChaChaKey) -> Self {
        Batch {
            key,
            counters: [0; LANES],
            nonces: [[0; LANES]; 3],
            sinks: Default::default(),
            len: 0,
        }
    }

    /// Queues block `counter` of `nonce` for `sink`.
    #[inline]
    pub(crate) fn push(&mut self, counter: u32, nonce: &[u32; 3], sink: Sink<'a>) {
        let i = self.len;
        self.counters[i] = counter;
        self.nonces[0][i] = nonce[0];
        self.nonces[1][i] = nonce[1];
        self.nonces[2][i] = nonce[2];
        self.sinks[i] = Some(sink);
        self.len += 1;
        if self.len == LANES {
            self.run();
        }
    }

    /// Queues the keystream from block `first` of `nonce` onward for `data`.
    #[inline]
    pub(crate) fn push_data(&mut self, first: u32, nonce: &[u32; 3], data: &'a mut [u8]) {
        for (i, chunk) in data.chunks_mut(64).enumerate() {
            // Callers bound the data far below 2^32 blocks.
            self.push(first.wrapping_add(i as u32), nonce, Sink::Xor(chunk));
        }
    }

    /// Runs whatever is queued.
    #[inline]
    pub(crate) fn finish(mut self) {
        if self.len > 0 {
            self.run();
        }
    }

    fn run(&mut self) {
        let mut out = [[0u8; 64]; LANES];
        self.key
            .blocks(&self.counters, &self.nonces, self.len, &mut out);
        for (sink, ks) in self.sinks[..self.len].iter_mut().zip(out.iter()) {
            match sink.take() {
                Some(Sink::Store(dst)) => *dst = *ks,
                Some(Sink::Xor(data)) => xor_into(data, ks),
                None => {}
            }
        }
        self.len = 0;
    }
}

impl ChaChaKey {
    /// Keystream blocks for the first `len` lanes: lane `j` is block
    /// `counters[j]` of nonce `(nonces[0][j], nonces[1][j], nonces[2][j])`.
    /// Lanes past `len` may be computed too but hold nothing useful.
    #[inline]
    pub(crate) fn blocks(
        &self,
        counters: &[u32; LANES],
        nonces: &[[u32; LANES]; 3],
        len: usize,
        out: &mut [[u8; 64]; LANES],
    ) {
        self.blocks_xor(counters, nonces, len, out, &mut Default::default());
    }

    /// As [`ChaChaKey::blocks`], but lane `j`'s block is XORed into
    /// `targets[j]` instead of stored in `out[j]` when that is set.
    #[inline]
    pub(crate) fn blocks_xor(
        &self,
        counters: &[u32; LANES],
        nonces: &[[u32; LANES]; 3],
        len: usize,
        out: &mut [[u8; 64]; LANES],
        targets: &mut [Option<&mut [u8; 64]>; LANES],
    ) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            #[allow(unsafe_code)]
            // SAFETY: `avx2` is only true when the CPU reported AVX2 support
            // (`ChaChaKey::new`), which is what `blocks8` requires.
            unsafe {
                avx2::blocks8(&self.key, counters, nonces, out, targets)
            };
            return;
        }
        for (lane, (out, target)) in out.iter_mut().zip(targets.iter_mut()).enumerate().take(len) {
            let nonce = [nonces[0][lane], nonces[1][lane], nonces[2][lane]];
            let words = block(&self.key, counters[lane], &nonce);
            for (o, w) in out.chunks_exact_mut(4).zip(words.iter()) {
                o.copy_from_slice(&w.to_le_bytes());
            }
            if let Some(data) = target {
                xor_into(&mut data[..], out);
            }
        }
    }
}

#[inline]
pub(crate) fn xor_into(data: &mut [u8], ks: &[u8; 64]) {
    if data.len() == 64 {
        for (d, k) in data.chunks_exact_mut(8).zip(ks.chunks_exact(8)) {
            let x = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
                ^ u64::from_le_bytes([k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]]);
            d.copy_from_slice(&x.to_le_bytes());
        }
    } else {
        for (d, k) in data.iter_mut().zip(ks.iter()) {
            *d ^= k;
        }
    }
}

/// RFC 8439 §2.1 quarter round on four state words.
#[inline(always)]
fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

/// RFC 8439 §2.3: the 64-byte block for `counter` and `nonce`, as words.
pub(crate) fn block(key: &[u32; 8], counter: u32, nonce: &[u32; 3]) -> [u32; 16] {
    let mut init = [0u32; 16];
    init[..4].copy_from_slice(&SIGMA);
    init[4..12].copy_from_slice(key);
    init[12] = counter;
    init[13..].copy_from_slice(nonce);
    let mut x = init;
    // 20 rounds: ten column rounds each followed by a diagonal round.
    for _ in 0..10 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for (x, i) in x.iter_mut().zip(init.iter()) {
        *x = x.wrapping_add(*i);
    }
    x
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    //! Eight ChaCha20 blocks at once: vector `v[i]` holds state word `i` of
    //! every block (one block per 32-bit lane), so the rounds need no
    //! shuffles between words; an 8×8 transpose turns the result into blocks.
    //!
    //! The helpers are macros, not functions, so that everything is compiled
    //! inside the one `#[target_feature(enable = "avx2")]` function and the
    //! intrinsics inline (helper functions with their own target feature
    //! attribute may not).

    use super::{LANES, SIGMA};
    use std::arch::x86_64::*;

    macro_rules! quarter {
        ($v:ident, $r16:ident, $r8:ident, $a:expr, $b:expr, $c:expr, $d:expr) => {
            $v[$a] = _mm256_add_epi32($v[$a], $v[$b]);
            $v[$d] = _mm256_shuffle_epi8(_mm256_xor_si256($v[$d], $v[$a]), $r16);
            $v[$c] = _mm256_add_epi32($v[$c], $v[$d]);
            let x = _mm256_xor_si256($v[$b], $v[$c]);
            $v[$b] = _mm256_or_si256(_mm256_slli_epi32::<12>(x), _mm256_srli_epi32::<20>(x));
            $v[$a] = _mm256_add_epi32($v[$a], $v[$b]);
            $v[$d] = _mm256_shuffle_epi8(_mm256_xor_si256($v[$d], $v[$a]), $r8);
            $v[$c] = _mm256_add_epi32($v[$c], $v[$d]);
            let x = _mm256_xor_si256($v[$b], $v[$c]);
            $v[$b] = _mm256_or_si256(_mm256_slli_epi32::<7>(x), _mm256_srli_epi32::<25>(x));
        };
    }

    macro_rules! lanes {
        ($w:expr) => {
            _mm256_setr_epi32(
                $w[0] as i32,
                $w[1] as i32,
                $w[2] as i32,
                $w[3] as i32,
                $w[4] as i32,
                $w[5] as i32,
                $w[6] as i32,
                $w[7] as i32,
            )
        };
    }

    /// Transposes eight vectors of eight words: the result's vector `j`
    /// holds lane `j` of each input vector, in order. Interleaves words
    /// within 128-bit halves, then 64-bit pairs, then swaps halves.
    macro_rules! transpose {
        ($a:expr) => {{
            let a = $a;
            let t0 = _mm256_unpacklo_epi32(a[0], a[1]);
            let t1 = _mm256_unpackhi_epi32(a[0], a[1]);
            let t2 = _mm256_unpacklo_epi32(a[2], a[3]);
            let t3 = _mm256_unpackhi_epi32(a[2], a[3]);
            let t4 = _mm256_unpacklo_epi32(a[4], a[5]);
            let t5 = _mm256_unpackhi_epi32(a[4], a[5]);
            let t6 = _mm256_unpacklo_epi32(a[6], a[7]);
            let t7 = _mm256_unpackhi_epi32(a[6], a[7]);
            let u0 = _mm256_unpacklo_epi64(t0, t2);
            let u1 = _mm256_unpackhi_epi64(t0, t2);
            let u2 = _mm256_unpacklo_epi64(t1, t3);
            let u3 = _mm256_unpackhi_epi64(t1, t3);
            let u4 = _mm256_unpacklo_epi64(t4, t6);
            let u5 = _mm256_unpackhi_epi64(t4, t6);
            let u6 = _mm256_unpacklo_epi64(t5, t7);
            let u7 = _mm256_unpackhi_epi64(t5, t7);
            [
                _mm256_permute2x128_si256::<0x20>(u0, u4),
                _mm256_permute2x128_si256::<0x20>(u1, u5),
                _mm256_permute2x128_si256::<0x20>(u2, u6),
                _mm256_permute2x128_si256::<0x20>(u3, u7),
                _mm256_permute2x128_si256::<0x31>(u0, u4),
                _mm256_permute2x128_si256::<0x31>(u1, u5),
                _mm256_permute2x128_si256::<0x31>(u2, u6),
                _mm256_permute2x128_si256::<0x31>(u3, u7),
            ]
        }};
    }

    /// Eight keystream blocks: block `j` uses `counters[j]` and nonce words
    /// `nonces[0][j]`, `nonces[1][j]`, `nonces[2][j]`. It is XORed into
    /// `targets[j]` when that is set, else stored in `out[j]`.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn blocks8(
        key: &[u32; 8],
        counters: &[u32; LANES],
        nonces: &[[u32; LANES]; 3],
        out: &mut [[u8; 64]; LANES],
        targets: &mut [Option<&mut [u8; 64]>; LANES],
    ) {
        // Rotating a 32-bit lane left by 16 swaps its halves; by 8, byte k
        // moves to k+1 and byte 3 to 0. Both are byte shuffles.
        // Opaque to the optimizer: with a known mask it turns this byte
        // shuffle into two word shuffles (`vpshuflw` + `vpshufhw`), one
        // more instruction on the ports the rounds are short of.
        let r16 = core::hint::black_box(_mm256_setr_epi8(
            2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11,
            8, 9, 14, 15, 12, 13,
        ));
        let r8 = _mm256_setr_epi8(
            3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9,
            10, 15, 12, 13, 14,
        );
        let mut init = [_mm256_setzero_si256(); 16];
        for (v, w) in init.iter_mut().zip(SIGMA.iter().chain(key.iter())) {
            *v = _mm256_set1_epi32(*w as i32);
        }
        init[12] = lanes!(counters);
        init[13] = lanes!(nonces[0]);
        init[14] = lanes!(nonces[1]);
        init[15] = lanes!(nonces[2]);
        let mut v = init;
        for _ in 0..10 {
            quarter!(v, r16, r8, 0, 4, 8, 12);
            quarter!(v, r16, r8, 1, 5, 9, 13);
            quarter!(v, r16, r8, 2, 6, 10, 14);
            quarter!(v, r16, r8, 3, 7, 11, 15);
            quarter!(v, r16, r8, 0, 5, 10, 15);
            quarter!(v, r16, r8, 1, 6, 11, 12);
            quarter!(v, r16, r8, 2, 7, 8, 13);
            quarter!(v, r16, r8, 3, 4, 9, 14);
        }
        for (v, i) in v.iter_mut().zip(init.iter()) {
            *v = _mm256_add_epi32(*v, *i);
        }
        let lo = transpose!([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]);
        let hi = transpose!([v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]]);
        for (j, (block, target)) in out.iter_mut().zip(targets.iter_mut()).enumerate() {
            let (first, second) = match target {
                Some(data) => {
                    let (first, second) = data.split_at_mut(32);
                    // SAFETY: `first` and `second` are 32 bytes each, exactly
                    // one unaligned 256-bit load; `loadu` has no alignment
                    // requirement.
                    let (a, b) = unsafe {
                        (
                            _mm256_loadu_si256(first.as_ptr() as *const __m256i),
                            _mm256_loadu_si256(second.as_ptr() as *const __m256i),
                        )
                    };
                    (
                        (first, _mm256_xor_si256(a, lo[j])),
                        (second, _mm256_xor_si256(b, hi[j])),
                    )
                }
                None => {
                    let (first, second) = block.split_at_mut(32);
                    ((first, lo[j]), (second, hi[j]))
                }
            };
            // SAFETY: `first.0` and `second.0` are 32 bytes each, exactly one
            // unaligned 256-bit store; `storeu` has no alignment requirement.
            unsafe {
                _mm256_storeu_si256(first.0.as_mut_ptr() as *mut __m256i, first.1);
                _mm256_storeu_si256(second.0.as_mut_ptr() as *mut __m256i, second.1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 §2.3.2: the block function test vector.
    #[test]
    fn block_rfc8439_2_3_2() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let nonce = nonce_words(&[0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0]);
        let out = block(&key_words(&key), 1, &nonce);
        // "ChaCha state at the end of the ChaCha20 operation".
        assert_eq!(
            out,
            [
                0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033, 0x9aaa2204,
                0x4e6cd4c3, 0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9, 0xd19c12b5, 0xb94e16de,
                0xe883d0cb, 0x4e3c50a2,
            ]
        );
    }

    /// Both implementations give the same blocks for eight lanes with
    /// unrelated counters (including the wrap to 0) and nonces.
    #[test]
    fn avx2_and_portable_blocks_agree() {
        let key = [0x5au8; 32];
        let fast = ChaChaKey::new(&key);
        let slow = ChaChaKey::portable(&key);
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u32
        };
        for round in 0..64 {
            let mut counters = [0u32; LANES];
            let mut nonces = [[0u32; LANES]; 3];
            for lane in 0..LANES {
                counters[lane] = if lane == round % LANES {
                    u32::MAX
                } else {
                    next()
                };
                for w in nonces.iter_mut() {
                    w[lane] = next();
                }
            }
            let mut a = [[0u8; 64]; LANES];
            let mut b = [[1u8; 64]; LANES];
            fast.blocks(&counters, &nonces, LANES, &mut a);
            slow.blocks(&counters, &nonces, LANES, &mut b);
            assert_eq!(a, b, "round {round}");
        }
    }
}
