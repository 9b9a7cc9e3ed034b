//! KVStore implementations: FilesystemStore and InMemoryStore behave the
//! same, FilesystemStore writes atomically (no temp files left, stray temp
//! files ignored), and keys are validated.

use lnkit::persist::{FilesystemStore, InMemoryStore, KVStore};
use std::io::ErrorKind;
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn exercise(store: &dyn KVStore) {
    assert_eq!(store.list("monitors").unwrap(), Vec::<String>::new());
    assert_eq!(
        store.read("monitors", "a").unwrap_err().kind(),
        ErrorKind::NotFound
    );
    store.write("monitors", "b", b"two").unwrap();
    store.write("monitors", "a", b"one").unwrap();
    store.write("other", "a", b"elsewhere").unwrap();
    assert_eq!(store.read("monitors", "a").unwrap(), b"one");
    assert_eq!(store.list("monitors").unwrap(), vec!["a", "b"]);
    // Overwrite replaces the whole value.
    store.write("monitors", "a", b"x").unwrap();
    assert_eq!(store.read("monitors", "a").unwrap(), b"x");
    store.write("monitors", "a", &[]).unwrap();
    assert_eq!(store.read("monitors", "a").unwrap(), b"");
    store.remove("monitors", "a").unwrap();
    store.remove("monitors", "a").unwrap();
    assert_eq!(store.list("monitors").unwrap(), vec!["b"]);
    assert_eq!(store.read("other", "a").unwrap(), b"elsewhere");
    for (ns, key) in [
        ("monitors", "../x"),
        ("a/b", "k"),
        ("", "k"),
        ("monitors", ".hidden"),
        ("monitors", ""),
    ] {
        assert_eq!(
            store.write(ns, key, b"v").unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{ns:?}/{key:?}"
        );
    }
}

#[test]
fn in_memory_store_reads_writes_lists_removes() {
    exercise(&InMemoryStore::new());
}

#[test]
fn filesystem_store_reads_writes_lists_removes() {
    let dir = temp_dir("fs_store_basic");
    exercise(&FilesystemStore::new(&dir));
    // Durable: a new store over the same directory sees the data.
    let again = FilesystemStore::new(&dir);
    assert_eq!(again.read("monitors", "b").unwrap(), b"two");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn filesystem_store_writes_leave_no_temp_files_and_ignore_stray_ones() {
    let dir = temp_dir("fs_store_atomic");
    let store = FilesystemStore::new(&dir);
    let big = vec![0xabu8; 1 << 20];
    for i in 0..5u8 {
        store.write("ns", "key", &[i; 10]).unwrap();
    }
    store.write("ns", "big", &big).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.join("ns"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, vec!["big", "key"]);
    assert_eq!(store.read("ns", "key").unwrap(), [4u8; 10]);
    assert_eq!(store.read("ns", "big").unwrap(), big);
    // A crash mid-write leaves a temp file behind: it is not a key.
    std::fs::write(dir.join("ns").join(".key.1.2.tmp"), b"partial").unwrap();
    assert_eq!(store.list("ns").unwrap(), vec!["big", "key"]);
    assert_eq!(store.read("ns", "key").unwrap(), [4u8; 10]);
    // Concurrent writers of one key: the result is one of the values, whole.
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let store = &store;
            s.spawn(move || {
                for _ in 0..20 {
                    store.write("ns", "race", &[t; 4096]).unwrap();
                }
            });
        }
    });
    let v = store.read("ns", "race").unwrap();
    assert_eq!(v.len(), 4096);
    assert!(v.iter().all(|b| *b == v[0]));
    let _ = std::fs::remove_dir_all(&dir);
}

mod monitor_common;

use lnkit::chain::monitor::ChannelMonitorUpdate;
use lnkit::chain::{
    BroadcasterInterface, ChannelMonitorUpdateStatus, ConfirmationTarget, FeeEstimator,
};
use lnkit::codec::Writeable;
use lnkit::logger::NullLogger;
use lnkit::persist::{monitor_key, MonitorUpdatingPersister, Persist, MONITOR_NAMESPACE};
use monitor_common::*;
use std::sync::Arc;

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
fn monitor_updating_persister_logs_updates_compacts_and_replays() {
    let f = Fixture::new();
    let op = f.funding_outpoint();
    let store = Arc::new(InMemoryStore::new());
    let p = MonitorUpdatingPersister::new(store.clone(), 3);
    let mut m = f.monitor();
    assert_eq!(
        p.persist_new_channel(op, &m),
        ChannelMonitorUpdateStatus::Completed
    );
    let mut updates: Vec<ChannelMonitorUpdate> = Vec::new();
    for id in 1..=5 {
        let u = commitments_update(&f, id, id);
        m.update_monitor(&u, &Nothing, &Nothing, &NullLogger)
            .unwrap();
        assert_eq!(
            p.update_persisted_channel(op, Some(&u), &m),
            ChannelMonitorUpdateStatus::Completed
        );
        updates.push(u);
    }
    let ns = format!("upd_{}", monitor_key(&op));
    assert_eq!(
        store.list(&ns).unwrap(),
        vec![format!("{:020}", 4), format!("{:020}", 5)]
    );
    // The full monitor on disk is as of update 3; replay brings it to 5.
    let stored = lnkit::chain::monitor::ChannelMonitor::read(
        &store.read(MONITOR_NAMESPACE, &monitor_key(&op)).unwrap(),
        &f.ka,
    )
    .unwrap();
    assert_eq!(stored.latest_update_id(), 3);
    let read =
        |p: &MonitorUpdatingPersister| p.read_all_monitors(&f.ka, &Nothing, &Nothing, &NullLogger);
    let back = read(&p).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].latest_update_id(), 5);
    assert_eq!(back[0].encode(), m.encode());

    // A stale record (left by a crash before cleanup) is skipped.
    store
        .write(&ns, &format!("{:020}", 2), &updates[1].encode())
        .unwrap();
    assert_eq!(read(&p).unwrap()[0].encode(), m.encode());

    // A chain event writes the full monitor and clears the log.
    assert_eq!(
        p.update_persisted_channel(op, None, &m),
        ChannelMonitorUpdateStatus::Completed
    );
    assert!(store.list(&ns).unwrap().is_empty());
    assert_eq!(read(&p).unwrap()[0].encode(), m.encode());

    // A corrupt record is an error, never a silently older monitor.
    let u6 = commitments_update(&f, 6, 6);
    store
        .write(&ns, &format!("{:020}", 6), &u6.encode()[..40])
        .unwrap();
    assert_eq!(read(&p).unwrap_err().kind(), ErrorKind::InvalidData);
    store
        .write(&ns, &format!("{:020}", 6), &updates[4].encode())
        .unwrap();
    assert_eq!(read(&p).unwrap_err().kind(), ErrorKind::InvalidData);
}
