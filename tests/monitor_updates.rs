//! ChannelMonitor: applying updates, their ordering and validation errors,
//! and the serialization round trip (runs without the `testing` feature).

mod monitor_common;

use lnkit::chain::monitor::{
    ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, MonitorUpdateError,
};
use lnkit::chain::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lnkit::channel::keys::SecretStoreError;
use lnkit::channel::tx::SignatureError;
use lnkit::codec::Writeable;
use lnkit::logger::NullLogger;
use lnkit::sign::KeysManager;
use lnkit::types::PaymentPreimage;
use monitor_common::*;
use std::sync::Mutex;

#[derive(Default)]
struct Recorder(Mutex<Vec<bitcoin::Transaction>>);
impl BroadcasterInterface for Recorder {
    fn broadcast_transactions(&self, txs: &[&bitcoin::Transaction]) {
        self.0
            .lock()
            .unwrap()
            .extend(txs.iter().map(|t| (*t).clone()));
    }
}
struct Fee;
impl FeeEstimator for Fee {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        1000
    }
}

fn apply(m: &mut ChannelMonitor, u: &ChannelMonitorUpdate) -> Result<(), MonitorUpdateError> {
    m.update_monitor(u, &Recorder::default(), &Fee, &NullLogger)
}

fn single(id: u64, step: ChannelMonitorUpdateStep) -> ChannelMonitorUpdate {
    ChannelMonitorUpdate {
        update_id: id,
        updates: vec![step],
    }
}

#[test]
fn monitor_update_id_order_is_enforced() {
    let f = Fixture::new();
    let mut m = f.monitor();
    assert_eq!(m.latest_update_id(), 0);
    apply(&mut m, &commitments_update(&f, 1, 1)).unwrap();
    assert_eq!(m.latest_update_id(), 1);
    assert_eq!(m.holder_commitment().number(), n(1));
    // Replaying or going back is refused and changes nothing.
    let again = commitments_update(&f, 1, 2);
    let err = apply(&mut m, &again).unwrap_err();
    assert_eq!(
        err,
        MonitorUpdateError::UpdateIdNotIncreasing { latest: 1, got: 1 }
    );
    assert!(err.to_string().starts_with("monitor-update-id-order"));
    assert_eq!(m.holder_commitment().number(), n(1));
    assert!(apply(&mut m, &commitments_update(&f, 0, 2)).is_err());
    // Ids may skip ahead.
    apply(&mut m, &commitments_update(&f, 5, 2)).unwrap();
    assert_eq!(m.latest_update_id(), 5);
    assert_eq!(m.holder_commitment().number(), n(2));
    assert_eq!(m.counterparty_commitments().len(), 3);
}

#[test]
fn monitor_holder_commitment_must_be_newer_and_signed() {
    let f = Fixture::new();
    let mut m = f.monitor();
    apply(&mut m, &commitments_update(&f, 1, 2)).unwrap();
    let err = apply(
        &mut m,
        &single(
            2,
            ChannelMonitorUpdateStep::LatestHolderCommitment(f.holder_info(1)),
        ),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MonitorUpdateError::HolderCommitmentNotNewer {
            current: n(2),
            got: n(1)
        }
    );
    // The peer's signature of commitment 3 does not sign commitment 4.
    let mut bad = f.holder_info(4);
    bad.counterparty_sig = f.holder_info(3).counterparty_sig;
    let err = apply(
        &mut m,
        &single(3, ChannelMonitorUpdateStep::LatestHolderCommitment(bad)),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MonitorUpdateError::Signatures(SignatureError::Commitment)
    );
    let mut bad = f.holder_info(4);
    bad.counterparty_htlc_sigs.pop();
    let err = apply(
        &mut m,
        &single(4, ChannelMonitorUpdateStep::LatestHolderCommitment(bad)),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        MonitorUpdateError::Signatures(SignatureError::HtlcCount {
            expected: 2,
            got: 1
        })
    ));
    assert_eq!(m.holder_commitment().number(), n(2));
}

#[test]
fn monitor_counterparty_commitment_txid_and_order_are_checked() {
    let f = Fixture::new();
    let mut m = f.monitor();
    let mut info = f.counterparty_info(1);
    info.txid = f.counterparty_info(2).txid;
    let err = apply(
        &mut m,
        &single(
            1,
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(info),
        ),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        MonitorUpdateError::CounterpartyTxidMismatch { .. }
    ));
    let err = apply(
        &mut m,
        &single(
            2,
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(f.counterparty_info(0)),
        ),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MonitorUpdateError::CounterpartyCommitmentNotNewer {
            current: n(0),
            got: n(0)
        }
    );
}

#[test]
fn monitor_commitment_secrets_are_checked_and_prune_revoked_commitments() {
    let f = Fixture::new();
    let mut m = f.monitor();
    apply(&mut m, &commitments_update(&f, 1, 1)).unwrap();
    let s0 = f.b_secret(0);
    let s1 = f.b_secret(1);
    // bolt2-revoke-secret-point: commitment 0's point is known, a wrong
    // secret is refused before it is stored.
    let err = apply(
        &mut m,
        &single(
            2,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(0),
                secret: s1,
            },
        ),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MonitorUpdateError::SecretPointMismatch {
            commitment_number: n(0)
        }
    );
    assert!(err.to_string().starts_with("bolt2-revoke-secret-point"));
    apply(
        &mut m,
        &single(
            3,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(0),
                secret: s0,
            },
        ),
    )
    .unwrap();
    assert_eq!(m.counterparty_commitments().len(), 1);
    assert_eq!(m.counterparty_commitments()[0].commitment_number, n(1));
    assert_eq!(
        m.counterparty_secrets().get_secret(n(0).secret_index()),
        Some(s0)
    );
    // Out of order.
    let err = apply(
        &mut m,
        &single(
            4,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(2),
                secret: s1,
            },
        ),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        MonitorUpdateError::Secret(SecretStoreError::OutOfOrder { .. })
    ));
    // bolt3-shachain-derivable: drop commitment 1's point check by never
    // having it, then a secret for 1 that does not derive secret 0.
    let mut m2 = f.monitor();
    apply(
        &mut m2,
        &single(
            1,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(0),
                secret: s0,
            },
        ),
    )
    .unwrap();
    let err = apply(
        &mut m2,
        &single(
            2,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(1),
                secret: [7; 32],
            },
        ),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        MonitorUpdateError::Secret(SecretStoreError::NotDerivable { .. })
    ));
    assert!(err.to_string().contains("bolt3-shachain-derivable"));
    apply(
        &mut m2,
        &single(
            3,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(1),
                secret: s1,
            },
        ),
    )
    .unwrap();
}

#[test]
fn monitor_preimages_shutdown_script_and_force_close() {
    let f = Fixture::new();
    let mut m = f.monitor();
    let p = PaymentPreimage([0x42; 32]);
    apply(
        &mut m,
        &single(1, ChannelMonitorUpdateStep::PaymentPreimage { preimage: p }),
    )
    .unwrap();
    assert_eq!(m.preimage(&p.payment_hash()), Some(p));
    let script = bitcoin::ScriptBuf::from_bytes(vec![0, 20, 1, 2, 3]);
    apply(
        &mut m,
        &single(
            2,
            ChannelMonitorUpdateStep::ShutdownScript {
                script: script.clone(),
            },
        ),
    )
    .unwrap();
    let err = apply(
        &mut m,
        &single(
            3,
            ChannelMonitorUpdateStep::ShutdownScript {
                script: bitcoin::ScriptBuf::new(),
            },
        ),
    )
    .unwrap_err();
    assert_eq!(err, MonitorUpdateError::ShutdownScriptChanged);
    assert_eq!(m.shutdown_script(), Some(&script));

    let rec = Recorder::default();
    m.update_monitor(
        &single(
            4,
            ChannelMonitorUpdateStep::ChannelForceClosed {
                should_broadcast: true,
            },
        ),
        &rec,
        &Fee,
        &NullLogger,
    )
    .unwrap();
    let txs = rec.0.lock().unwrap().clone();
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].compute_txid(), m.holder_commitment().txid());
    assert!(m.is_force_closed());
    // No new commitments after a force close; preimages still apply.
    let err = apply(&mut m, &commitments_update(&f, 5, 1)).unwrap_err();
    assert_eq!(err, MonitorUpdateError::ChannelClosed);
    apply(
        &mut m,
        &single(
            6,
            ChannelMonitorUpdateStep::PaymentPreimage {
                preimage: PaymentPreimage([1; 32]),
            },
        ),
    )
    .unwrap();
}

#[test]
fn monitor_serialization_round_trips_before_and_after_updates() {
    let f = Fixture::new();
    let mut m = f.monitor();
    let bytes = m.encode();
    let back = ChannelMonitor::read(&bytes, &f.ka).unwrap();
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.holder_commitment(), m.holder_commitment());

    apply(&mut m, &commitments_update(&f, 1, 1)).unwrap();
    apply(
        &mut m,
        &single(
            2,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(0),
                secret: f.b_secret(0),
            },
        ),
    )
    .unwrap();
    apply(
        &mut m,
        &single(
            3,
            ChannelMonitorUpdateStep::PaymentPreimage {
                preimage: PaymentPreimage([9; 32]),
            },
        ),
    )
    .unwrap();
    apply(
        &mut m,
        &single(
            4,
            ChannelMonitorUpdateStep::ShutdownScript {
                script: bitcoin::ScriptBuf::from_bytes(vec![0, 1, 2]),
            },
        ),
    )
    .unwrap();
    let bytes = m.encode();
    let back = ChannelMonitor::read(&bytes, &f.ka).unwrap();
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.latest_update_id(), 4);
    assert_eq!(back.holder_commitment().number(), n(1));
    assert_eq!(
        back.counterparty_commitments(),
        m.counterparty_commitments()
    );
    assert_eq!(
        back.preimage(&PaymentPreimage([9; 32]).payment_hash()),
        Some(PaymentPreimage([9; 32]))
    );
    assert_eq!(
        back.get_latest_holder_commitment_txn().unwrap(),
        m.get_latest_holder_commitment_txn().unwrap()
    );

    // Another node's keys cannot restore this monitor's signer.
    let stranger = KeysManager::new(&[0x99; 32], 1, 1);
    assert!(ChannelMonitor::read(&bytes, &stranger).is_err());
    // Truncations fail cleanly.
    for cut in [0, 1, 2, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            ChannelMonitor::read(&bytes[..cut], &f.ka).is_err(),
            "cut {cut}"
        );
    }
}

#[test]
fn monitor_update_encoding_round_trips() {
    let f = Fixture::new();
    let u = ChannelMonitorUpdate {
        update_id: 77,
        updates: vec![
            ChannelMonitorUpdateStep::LatestHolderCommitment(f.holder_info(1)),
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(f.counterparty_info(1)),
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(0),
                secret: [3; 32],
            },
            ChannelMonitorUpdateStep::PaymentPreimage {
                preimage: PaymentPreimage([4; 32]),
            },
            ChannelMonitorUpdateStep::ShutdownScript {
                script: bitcoin::ScriptBuf::from_bytes(vec![0, 1]),
            },
            ChannelMonitorUpdateStep::ChannelForceClosed {
                should_broadcast: false,
            },
        ],
    };
    let bytes = u.encode();
    assert_eq!(ChannelMonitorUpdate::decode(&bytes).unwrap(), u);
    for cut in 0..bytes.len() {
        // Every strict prefix either fails or (when cut between records of
        // the outer stream) decodes to something that re-encodes stably.
        if let Ok(d) = ChannelMonitorUpdate::decode(&bytes[..cut]) {
            assert_eq!(ChannelMonitorUpdate::decode(&d.encode()).unwrap(), d);
        }
    }
    lnkit::chain::monitor::fuzz::fuzz_channel_monitor_update(&bytes);
}

#[test]
fn monitor_checked_commitments_cost_no_curve_operations() {
    use lnkit::sign::CurveOpStats;
    let f = Fixture::new();
    let mut m = f.monitor();
    let checked = ChannelMonitorUpdate {
        update_id: 1,
        updates: vec![
            ChannelMonitorUpdateStep::LatestHolderCommitment(f.holder_info_checked(1)),
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(f.counterparty_info_built(1)),
        ],
    };
    let raw = commitments_update(&f, 2, 2);
    // The two forms carry the same data.
    assert_eq!(checked, commitments_update(&f, 1, 1));
    let before = CurveOpStats::snapshot();
    apply(&mut m, &checked).unwrap();
    assert_eq!((CurveOpStats::snapshot() - before).total(), 0);
    assert_eq!(m.holder_commitment().number(), n(1));
    let before = CurveOpStats::snapshot();
    apply(&mut m, &raw).unwrap();
    let ops = CurveOpStats::snapshot() - before;
    // Rebuilt: keys derived for both commitments, 1 + 2 signatures verified.
    assert_eq!(ops.ecdsa_verify, 3);
    assert!(ops.var_mul >= 2);

    // A checked info whose public fields were changed afterwards is not
    // trusted: it is rebuilt, and B's signatures of commitment 3 do not
    // sign commitment 4.
    let mut stale = f.holder_info_checked(3);
    stale.commitment_number = n(4);
    let err = apply(
        &mut m,
        &single(3, ChannelMonitorUpdateStep::LatestHolderCommitment(stale)),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MonitorUpdateError::Signatures(SignatureError::Commitment)
    );
    // Decoded updates are always rebuilt and checked.
    let decoded = ChannelMonitorUpdate::decode(&commitments_update(&f, 4, 3).encode()).unwrap();
    let before = CurveOpStats::snapshot();
    apply(&mut m, &decoded).unwrap();
    assert_eq!((CurveOpStats::snapshot() - before).ecdsa_verify, 3);
}
