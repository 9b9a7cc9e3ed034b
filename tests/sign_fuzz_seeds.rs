//! Runs this module's fuzz entry points (`lnkit::sign::fuzz`,
//! `lnkit::channel::fuzz`) over their seeds in `fuzz/seeds/<target>/`,
//! with every truncation. Regenerate the seeds with
//! `cargo test --test sign_fuzz_seeds -- --ignored regenerate_sign_seeds`.

use lnkit::channel::keys::{build_commitment_secret, CounterpartyCommitmentSecrets};
use lnkit::channel::CommitmentNumber;
use lnkit::codec::Writeable;
use lnkit::sign::{ChannelSigner, KeysManager, SignerProvider};
use std::path::{Path, PathBuf};

type Target = fn(&[u8]);
const TARGETS: &[(&str, Target)] = &[
    ("in_memory_signer", lnkit::sign::fuzz::fuzz_in_memory_signer),
    (
        "counterparty_commitment_secrets",
        lnkit::channel::fuzz::fuzz_counterparty_commitment_secrets,
    ),
];

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("seeds")
        .join(target)
}

#[test]
fn sign_fuzz_seeds_pass() {
    for (name, target) in TARGETS {
        let mut n = 0;
        for entry in std::fs::read_dir(seed_dir(name)).expect("seed dir exists") {
            let data = std::fs::read(entry.expect("entry").path()).expect("readable seed");
            target(&data);
            for cut in 0..data.len() {
                target(&data[..cut]);
            }
            n += 1;
        }
        assert!(n > 0, "{name} has no seeds");
    }
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
