//! Fuzz entry points for the decoders of this module (wired into the
//! `fuzz/` crate by the lead).

use super::InMemorySigner;
use crate::codec::{Readable, Writeable};

/// Decodes a persisted [`InMemorySigner`]; whatever decodes must re-encode
/// to the same bytes it was read from.
pub fn fuzz_in_memory_signer(data: &[u8]) {
    let mut r = data;
    if let Ok(signer) = InMemorySigner::read(&mut r) {
        let consumed = data.len() - r.len();
        assert_eq!(signer.encode(), &data[..consumed]);
    }
}
