//! Fuzz entry points for the decoders of this module (wired into the
//! `fuzz/` crate by the lead).

use super::keys::CounterpartyCommitmentSecrets;
use crate::codec::{Readable, Writeable};

/// Decodes a persisted [`CounterpartyCommitmentSecrets`]; whatever decodes
/// must re-encode to the same bytes, and must answer lookups without
/// panicking.
pub fn fuzz_counterparty_commitment_secrets(data: &[u8]) {
    let mut r = data;
    if let Ok(store) = CounterpartyCommitmentSecrets::read(&mut r) {
        let consumed = data.len() - r.len();
        assert_eq!(store.encode(), &data[..consumed]);
        if let Some(i) = store.min_index() {
            assert!(store.get_secret(i).is_some());
        }
        let _ = store.get_secret(u64::MAX);
    }
}
