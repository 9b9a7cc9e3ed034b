//! The seeds of the sign/channel fuzz entry points (`lnkit::sign::fuzz`,
//! `lnkit::channel::fuzz`) in `fuzz/seeds/<target>/`; tests/fuzz_seeds.rs
//! runs them with every truncation. Regenerate the seeds with
//! `cargo test --test sign_fuzz_seeds -- --ignored regenerate_sign_seeds`.

use lnkit::channel::keys::{build_commitment_secret, CounterpartyCommitmentSecrets};
use lnkit::channel::CommitmentNumber;
use lnkit::codec::Writeable;
use lnkit::sign::{ChannelSigner, KeysManager, SignerProvider};
use std::path::{Path, PathBuf};

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("seeds")
        .join(target)
}

#[test]
#[ignore]
fn regenerate_sign_seeds() {
    let write = |target: &str, name: &str, bytes: Vec<u8>| {
        let dir = seed_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let k = KeysManager::new(&[0x33; 32], 0, 0);
    let fresh = k.derive_in_memory_signer(k.generate_channel_keys_id(false, 1));
    write("in_memory_signer", "fresh", fresh.encode());
    let _ = fresh.per_commitment_point(CommitmentNumber::ZERO);
    write(
        "in_memory_signer",
        "other",
        k.derive_in_memory_signer(k.generate_channel_keys_id(true, 2))
            .encode(),
    );

    let seed = [0x44; 32];
    for count in [1u64, 5, 64, 300] {
        let mut store = CounterpartyCommitmentSecrets::new();
        let top = (1u64 << 48) - 1;
        for i in 0..count {
            store
                .insert_secret(build_commitment_secret(&seed, top - i), top - i)
                .unwrap();
        }
        write(
            "counterparty_commitment_secrets",
            &format!("after-{count}"),
            store.encode(),
        );
    }
    write(
        "counterparty_commitment_secrets",
        "empty",
        CounterpartyCommitmentSecrets::new().encode(),
    );
}
