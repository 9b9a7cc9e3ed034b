//! BOLT 8 packets over ChaCha20-Poly1305: the 2-byte length prefix sealed
//! under nonce `n` and the body under `n + 1`, with keystream computed in
//! full eight-block batches and the unused lanes of a batch spent on the
//! blocks most likely needed next (the rest of this packet, or the start
//! of the next one), kept for the next call.
//!
//! A packet at nonce `n` uses the block sequence `S(n)`: position 0 is
//! block 0 of nonce `n` (the prefix's Poly1305 key), 1 is block 1 of `n`
//! (the prefix's keystream), 2 is block 0 of `n + 1` (the body's Poly1305
//! key) and position `p >= 3` is block `p - 2` of `n + 1`. Keystream does
//! not depend on the data, so computing it early changes nothing but when
//! the work is done; the tag of a received body is still checked before
//! any of it is decrypted.

use super::chacha::{xor_into, LANES};
use super::{compute_tag_word, tag_matches, AeadError, ChaCha20Poly1305, MAX_LEN, TAG_LEN};

/// Keystream blocks `S(n)[start..start + len]` computed ahead of need,
/// held in the cipher's batch output from lane `lane` on.
#[derive(Clone)]
struct Ahead {
    n: u64,
    start: usize,
    len: usize,
    lane: usize,
}

/// What to compute in the spare lanes of a packet's last batch.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Then {
    /// More of the same packet (its body length is not known yet).
    SamePacket,
    /// The start of the packet at `n + 2`, if it will use the same key.
    NextPacket,
}

/// One direction of a BOLT 8 stream under one key: seals or opens packets
/// (prefix at nonce `n`, body at `n + 1`). Replace it when the key rotates.
#[derive(Clone)]
pub struct Bolt8Cipher {
    aead: ChaCha20Poly1305,
    ahead: Ahead,
    /// The packet nonce up to which the next packet may be prefetched:
    /// prefetching `S(n + 2)` needs `n + 3` below it (BOLT 8 rotates the
    /// key when the nonce reaches 1000).
    limit: u64,
    /// Output of the last batch: the blocks wanted, then those kept
    /// [`Ahead`] (read before the next batch overwrites them).
    scratch: [[u8; 64]; LANES],
}

impl core::fmt::Debug for Bolt8Cipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Bolt8Cipher(..)")
    }
}

/// Block counter and nonce words of position `pos` of `S(n)`.
#[inline]
fn job(n: u64, pos: usize) -> (u32, [u32; 3]) {
    let (n, counter) = if pos < 2 {
        (n, pos as u32)
    } else {
        (n.wrapping_add(1), (pos - 2) as u32)
    };
    (counter, [0, n as u32, (n >> 32) as u32])
}

impl Bolt8Cipher {
    /// A cipher for `key`, whose nonces stay below `limit` (BOLT 8: 1000).
    pub fn new(key: &[u8; 32], limit: u64) -> Self {
        Self::with_aead(ChaCha20Poly1305::new(key), limit)
    }

    /// The same on the portable ChaCha20 code (for tests).
    pub fn new_portable(key: &[u8; 32], limit: u64) -> Self {
        Self::with_aead(ChaCha20Poly1305::new_portable(key), limit)
    }

    fn with_aead(aead: ChaCha20Poly1305, limit: u64) -> Self {
        Bolt8Cipher {
            aead,
            ahead: Ahead {
                n: 0,
                start: 0,
                len: 0,
                lane: 0,
            },
            limit,
            scratch: [[0; 64]; LANES],
        }
    }

    /// The plain AEAD under this key (one message, any nonce).
    pub fn aead(&self) -> &ChaCha20Poly1305 {
        &self.aead
    }

    /// Runs positions `from..to` of `S(n)` in order, from blocks kept ahead
    /// where possible, computing the rest: positions 0 to 2 go to
    /// `f(pos, block)`, and position `p >= 3` is XORed into the 64-byte
    /// chunk `p - 3` of `body`.
    fn keystream(
        &mut self,
        n: u64,
        from: usize,
        to: usize,
        then: Then,
        body: &mut [u8],
        mut f: impl FnMut(usize, &[u8; 64]),
    ) {
        let mut chunks = body.chunks_mut(64);
        if from > 3 {
            // Chunks before `from` are not ours to touch.
            let _ = chunks.nth(from - 4);
        }
        let mut pos = from;
        let a = &self.ahead;
        if a.len > 0 && a.n == n && a.start <= pos && pos < a.start + a.len {
            let end = to.min(a.start + a.len);
            while pos < end {
                let ks = &self.scratch[a.lane + pos - a.start];
                if pos < 3 {
                    f(pos, ks);
                } else if let Some(chunk) = chunks.next() {
                    xor_into(chunk, ks);
                }
                pos += 1;
            }
        }
        while pos < to {
            let take = LANES.min(to - pos);
            let mut counters = [0u32; LANES];
            let mut nonces = [[0u32; LANES]; 3];
            let mut set = |lane: usize, (c, w): (u32, [u32; 3])| {
                counters[lane] = c;
                nonces[0][lane] = w[0];
                nonces[1][lane] = w[1];
                nonces[2][lane] = w[2];
            };
            // Whole body chunks are XORed by the block function itself; a
            // short last chunk afterwards.
            let mut targets: [Option<&mut [u8; 64]>; LANES] = Default::default();
            let mut short: Option<(usize, &mut [u8])> = None;
            for (i, target) in targets.iter_mut().enumerate().take(take) {
                set(i, job(n, pos + i));
                if pos + i >= 3 {
                    match chunks.next() {
                        Some(c) if c.len() == 64 => *target = c.try_into().ok(),
                        Some(c) => short = Some((i, c)),
                        None => {}
                    }
                }
            }
            let spare = LANES - take;
            let last = pos + take == to;
            let (pn, pstart, plen) = match then {
                _ if !last || spare == 0 => (0, 0, 0),
                Then::SamePacket => (n, to, spare),
                Then::NextPacket if n.checked_add(3).is_some_and(|x| x < self.limit) => {
                    (n + 2, 0, spare)
                }
                Then::NextPacket => (0, 0, 0),
            };
            for i in 0..plen {
                set(take + i, job(pn, pstart + i));
            }
            let out = &mut self.scratch;
            self.aead
                .key()
                .blocks_xor(&counters, &nonces, take + plen, out, &mut targets);
            for (i, block) in out
                .iter()
                .enumerate()
                .take(take.min(3usize.saturating_sub(pos)))
            {
                f(pos + i, block);
            }
            if let Some((i, c)) = short {
                xor_into(c, &out[i]);
            }
            self.ahead.len = 0;
            if plen > 0 {
                self.ahead = Ahead {
                    n: pn,
                    start: pstart,
                    len: plen,
                    lane: take,
                };
            }
            pos += take;
        }
    }

    /// Seals a packet at nonce `n`: `prefix` (the 2-byte length) under `n`
    /// and `body` under `n + 1`. Returns both tags.
    #[inline]
    pub fn seal_packet(
        &mut self,
        n: u64,
        prefix: &mut [u8; 2],
        body: &mut [u8],
    ) -> Result<([u8; TAG_LEN], [u8; TAG_LEN]), AeadError> {
        if body.len() as u64 > MAX_LEN {
            return Err(AeadError::TooLong);
        }
        let end = 3 + body.len().div_ceil(64);
        let mut otk1 = [0u8; 64];
        let mut otk2 = [0u8; 64];
        self.keystream(n, 0, end, Then::NextPacket, body, |pos, ks| match pos {
            0 => otk1 = *ks,
            1 => xor_into(prefix, ks),
            _ => otk2 = *ks,
        });
        Ok((
            compute_tag_word(&otk1, &[], prefix).to_le_bytes(),
            compute_tag_word(&otk2, &[], body).to_le_bytes(),
        ))
    }

    /// Opens the 2-byte prefix of the packet at nonce `n` in place after
    /// checking its tag; on a bad tag `prefix` is unchanged.
    pub fn open_prefix(
        &mut self,
        n: u64,
        prefix: &mut [u8; 2],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), AeadError> {
        let mut otk = [0u8; 64];
        let mut ks = [0u8; 64];
        self.keystream(n, 0, 2, Then::SamePacket, &mut [], |pos, b| {
            if pos == 0 {
                otk = *b
            } else {
                ks = *b
            }
        });
        if !tag_matches(compute_tag_word(&otk, &[], prefix), tag) {
            return Err(AeadError::BadTag);
        }
        xor_into(prefix, &ks);
        Ok(())
    }

    /// Opens the body of the packet at nonce `n` (sealed under `n + 1`) in
    /// place after checking its tag; on a bad tag `body` is unchanged.
    pub fn open_body(
        &mut self,
        n: u64,
        body: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), AeadError> {
        if body.len() as u64 > MAX_LEN {
            return Err(AeadError::BadTag);
        }
        let mut otk = [0u8; 64];
        self.keystream(n, 2, 3, Then::SamePacket, &mut [], |_, b| otk = *b);
        if !tag_matches(compute_tag_word(&otk, &[], body), tag) {
            return Err(AeadError::BadTag);
        }
        let end = 3 + body.len().div_ceil(64);
        self.keystream(n, 3, end, Then::NextPacket, body, |_, _| {});
        Ok(())
    }
}
