//! Runs the monitor fuzz entry points (`lnkit::chain::monitor::fuzz`) over
//! their seeds in `fuzz/seeds/<target>/`, with every truncation and a few
//! bit flips. Regenerate the seeds with
//! `cargo test --test monitor_fuzz_seeds -- --ignored regenerate_monitor_seeds`.

mod monitor_common;

use lnkit::chain::monitor::fuzz::{fuzz_channel_monitor, fuzz_channel_monitor_update};
use lnkit::chain::monitor::{ChannelMonitorUpdate, ChannelMonitorUpdateStep};
use lnkit::chain::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lnkit::codec::Writeable;
use lnkit::logger::NullLogger;
use lnkit::types::PaymentPreimage;
use monitor_common::*;
use std::path::{Path, PathBuf};

type Target = fn(&[u8]);
const TARGETS: &[(&str, Target)] = &[
    ("channel_monitor_update", fuzz_channel_monitor_update),
    ("channel_monitor", fuzz_channel_monitor),
];

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("seeds")
        .join(target)
}

#[test]
fn monitor_fuzz_seeds_pass() {
    for (name, target) in TARGETS {
        let mut n = 0;
        for entry in std::fs::read_dir(seed_dir(name)).expect("seed dir exists") {
            let data = std::fs::read(entry.expect("entry").path()).expect("readable seed");
            target(&data);
            for cut in 0..data.len() {
                target(&data[..cut]);
            }
            for i in (0..data.len()).step_by(7) {
                let mut flipped = data.clone();
                flipped[i] ^= 0x01;
                target(&flipped);
            }
            n += 1;
        }
        assert!(n > 0, "{name} has no seeds");
    }
}

struct Nothing;
impl BroadcasterInterface for Nothing {
    fn broadcast_transactions(&self, _: &[&bitcoin::Transaction]) {}
}
impl FeeEstimator for Nothing {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        253
    }
}

#[test]
#[ignore]
fn regenerate_monitor_seeds() {
    let write = |target: &str, name: &str, bytes: Vec<u8>| {
        let dir = seed_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    let f = Fixture::new();
    let mut m = f.monitor();
    write("channel_monitor", "fresh", m.encode());
    let u1 = commitments_update(&f, 1, 1);
    let u2 = ChannelMonitorUpdate {
        update_id: 2,
        updates: vec![
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(0),
                secret: f.b_secret(0),
            },
            ChannelMonitorUpdateStep::PaymentPreimage {
                preimage: PaymentPreimage([7; 32]),
            },
            ChannelMonitorUpdateStep::ShutdownScript {
                script: bitcoin::ScriptBuf::from_bytes(vec![0, 20, 9, 9]),
            },
            ChannelMonitorUpdateStep::ChannelForceClosed {
                should_broadcast: false,
            },
        ],
    };
    write("channel_monitor_update", "commitments", u1.encode());
    write(
        "channel_monitor_update",
        "secret_preimage_close",
        u2.encode(),
    );
    for u in [&u1, &u2] {
        m.update_monitor(u, &Nothing, &Nothing, &NullLogger)
            .unwrap();
    }
    write("channel_monitor", "updated", m.encode());
    // A breach seen on chain: funding spend, justice and a pending event.
    let mut breached = f.monitor();
    breached
        .update_monitor(&u1, &Nothing, &Nothing, &NullLogger)
        .unwrap();
    breached
        .update_monitor(
            &ChannelMonitorUpdate {
                update_id: 2,
                updates: vec![ChannelMonitorUpdateStep::CommitmentSecret {
                    commitment_number: n(0),
                    secret: f.b_secret(0),
                }],
            },
            &Nothing,
            &Nothing,
            &NullLogger,
        )
        .unwrap();
    let header = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest).header;
    let revoked = f.b_commitment_tx(0);
    assert!(breached.transactions_confirmed(
        &header,
        &[(1, &revoked)],
        5,
        &Nothing,
        &Nothing,
        &NullLogger
    ));
    write("channel_monitor", "breached", breached.encode());
}

#[test]
fn monitor_seeds_read_with_the_fuzz_keys() {
    let keys = lnkit::sign::KeysManager::new(&[0x11; 32], 0, 0);
    for name in ["fresh", "updated", "breached"] {
        let bytes = std::fs::read(seed_dir("channel_monitor").join(name)).unwrap();
        let m = lnkit::chain::monitor::ChannelMonitor::read(&bytes, &keys).unwrap();
        assert_eq!(m.encode(), bytes);
    }
}
