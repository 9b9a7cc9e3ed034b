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

/// Reads bytes as a persisted [`Channel`](super::funded::Channel) and as a
/// persisted [`PendingV1Channel`](super::establish::PendingV1Channel),
/// with signers restored by a fixed-seed `KeysManager`. Whatever reads
/// must re-encode to bytes that read back and re-encode identically.
pub fn fuzz_channel_read(data: &[u8]) {
    use super::establish::PendingV1Channel;
    use super::funded::Channel;
    let keys = crate::sign::KeysManager::new(&[1; 32], 1_700_000_000, 1);
    if let Ok(c) = Channel::read(data, &keys) {
        let once = c.encode();
        let again = Channel::read(&once, &keys).expect("a written channel reads back");
        assert_eq!(again.encode(), once);
    }
    if let Ok(c) = PendingV1Channel::read(data, &keys) {
        let once = c.encode();
        let again = PendingV1Channel::read(&once, &keys).expect("a written channel reads back");
        assert_eq!(again.encode(), once);
    }
}
