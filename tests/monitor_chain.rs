//! ChainMonitor on a MockChain: force close, funding-spend detection
//! (holder, counterparty, revoked counterparty with justice), reorgs,
//! InProgress persistence and reload from a FilesystemStore.
#![cfg(feature = "testing")]

mod monitor_common;

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa, Message, PublicKey, Secp256k1};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{ScriptBuf, Transaction};
use lnkit::chain::monitor::{
    ChainMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, FundingSpendKind, MonitorEvent,
    MonitorStatusError, Watch,
};
use lnkit::chain::{ChannelMonitorUpdateStatus, Listen};
use lnkit::channel::script::to_local_script;
use lnkit::codec::Writeable;
use lnkit::persist::{FilesystemStore, KVStorePersister, Persist};
use lnkit::sign::{ChannelSigner, SignerProvider};
use lnkit::testing::{MockChain, TestFeeEstimator, TestLogger, TestPersister};
use monitor_common::*;
use std::sync::Arc;

struct Node {
    chain: Arc<MockChain>,
    persister: Arc<TestPersister>,
    logger: Arc<TestLogger>,
    cm: Arc<ChainMonitor>,
}

fn node_with(f: &Fixture, persister: Arc<dyn Persist>, test_persister: Arc<TestPersister>) -> Node {
    let chain = Arc::new(MockChain::new());
    let logger = Arc::new(TestLogger::new());
    let cm = Arc::new(ChainMonitor::new(
        None,
        chain.clone(),
        logger.clone(),
        Arc::new(TestFeeEstimator::new(1000)),
        persister,
    ));
    chain.register_listener(cm.clone());
    use lnkit::chain::BroadcasterInterface;
    chain.broadcast_transactions(&[&f.funding_tx]);
    chain.mine_blocks(1);
    Node {
        chain,
        persister: test_persister,
        logger,
        cm,
    }
}

fn node(f: &Fixture) -> Node {
    let p = Arc::new(TestPersister::new());
    let n = node_with(f, p.clone(), p);
    assert_eq!(
        n.cm.watch_channel(f.funding_outpoint(), f.monitor()),
        Ok(ChannelMonitorUpdateStatus::Completed)
    );
    n
}

fn step(id: u64, s: ChannelMonitorUpdateStep) -> ChannelMonitorUpdate {
    ChannelMonitorUpdate {
        update_id: id,
        updates: vec![s],
    }
}

fn der(bytes: &[u8]) -> (ecdsa::Signature, u8) {
    let (sighash, der) = bytes.split_last().unwrap();
    (ecdsa::Signature::from_der(der).unwrap(), *sighash)
}

fn verifies(digest: [u8; 32], sig: &ecdsa::Signature, key: &PublicKey) -> bool {
    Secp256k1::verification_only()
        .verify_ecdsa(&Message::from_digest(digest), sig, key)
        .is_ok()
}

#[test]
fn monitor_force_close_broadcasts_signed_holder_commitment_which_confirms() {
    let f = Fixture::new();
    let nd = node(&f);
    let op = f.funding_outpoint();
    assert_eq!(
        nd.cm.update_channel(op, &commitments_update(&f, 1, 1)),
        ChannelMonitorUpdateStatus::Completed
    );
    assert_eq!(
        nd.cm.update_channel(
            op,
            &step(
                2,
                ChannelMonitorUpdateStep::ChannelForceClosed {
                    should_broadcast: true
                }
            )
        ),
        ChannelMonitorUpdateStatus::Completed
    );
    let mempool = nd.chain.mempool();
    assert_eq!(mempool.len(), 1);
    let tx = &mempool[0];
    let (holder_txid, sighash) = nd
        .cm
        .with_monitor(&op, |m| {
            (
                m.holder_commitment().txid(),
                m.holder_commitment().funding_sighash(),
            )
        })
        .unwrap();
    assert_eq!(tx.compute_txid(), holder_txid);
    assert_eq!(tx.input[0].previous_output, op);
    // Witness: 0 <sig for the lower key> <sig for the higher key> <script>.
    let w: Vec<&[u8]> = tx.input[0].witness.iter().collect();
    assert_eq!(w.len(), 4);
    assert!(w[0].is_empty());
    assert_eq!(w[3], f.a_params.funding_script().as_bytes());
    let mut keys = [f.a.pubkeys().funding_pubkey, f.b.pubkeys().funding_pubkey];
    keys.sort_by_key(|k| k.serialize());
    for (i, key) in keys.iter().enumerate() {
        let (sig, ty) = der(w[i + 1]);
        assert_eq!(ty, EcdsaSighashType::All as u8);
        assert!(verifies(sighash, &sig, key), "signature {i}");
    }

    nd.chain.mine_blocks(1);
    assert_eq!(nd.chain.confirmations(&holder_txid), Some(1));
    let events = nd.cm.release_pending_monitor_events();
    assert_eq!(
        events,
        vec![MonitorEvent::CommitmentTxConfirmed {
            funding_outpoint: op,
            txid: holder_txid,
            height: 2,
            kind: FundingSpendKind::Holder {
                commitment_number: n(1)
            },
        }]
    );
    // The chain event was persisted.
    assert_eq!(nd.persister.calls().last(), Some(&(op, None)));
    // Nothing more to say.
    assert!(nd.cm.release_pending_monitor_events().is_empty());
}

/// Both commitments moved to 1 and B's secret for 0 given to A's monitor.
fn both_at_1_with_b_secret_0() -> (Fixture, Node) {
    let f = Fixture::new();
    let nd = node(&f);
    let op = f.funding_outpoint();
    assert_eq!(
        nd.cm.update_channel(op, &commitments_update(&f, 1, 1)),
        ChannelMonitorUpdateStatus::Completed
    );
    let s0 = f.b_secret(0);
    assert_eq!(
        nd.cm.update_channel(
            op,
            &step(
                2,
                ChannelMonitorUpdateStep::CommitmentSecret {
                    commitment_number: n(0),
                    secret: s0
                }
            )
        ),
        ChannelMonitorUpdateStatus::Completed
    );
    (f, nd)
}

/// Our own old commitment confirming is ours, revoked: not mistaken for
/// the peer's revoked commitment of the same number (whose secret we hold),
/// and no justice transaction is attempted against it.
#[test]
fn monitor_own_revoked_commitment_is_not_taken_for_a_breach() {
    let (f, nd) = both_at_1_with_b_secret_0();
    let op = f.funding_outpoint();
    // A (this monitor's node) broadcasts its own stale commitment 0.
    let stale = f.a_commitment_tx(0);
    use lnkit::chain::BroadcasterInterface;
    nd.chain.broadcast_transactions(&[&stale]);
    nd.chain.mine_blocks(1);
    let events = nd.cm.release_pending_monitor_events();
    assert_eq!(events.len(), 1);
    let MonitorEvent::CommitmentTxConfirmed { txid, kind, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(*txid, stale.compute_txid());
    assert_eq!(
        *kind,
        FundingSpendKind::RevokedHolder {
            commitment_number: n(0)
        }
    );
    assert!(nd.logger.count("our own revoked commitment") > 0);
    assert_eq!(nd.logger.count("revoked counterparty commitment"), 0);
    assert!(
        nd.chain.mempool().is_empty(),
        "no justice against ourselves"
    );
    // The kind survives the monitor's byte form.
    let stored = nd.persister.persisted_monitor(&op).unwrap();
    let reloaded = lnkit::chain::monitor::ChannelMonitor::read(&stored, &f.ka).unwrap();
    assert_eq!(
        reloaded.funding_spend().map(|s| s.kind.clone()),
        Some(kind.clone())
    );
}

#[test]
fn monitor_revoked_counterparty_commitment_is_answered_with_justice() {
    let (f, nd) = both_at_1_with_b_secret_0();
    let op = f.funding_outpoint();
    // B cheats with its revoked commitment 0.
    let revoked = f.b_commitment_tx(0);
    use lnkit::chain::BroadcasterInterface;
    nd.chain.broadcast_transactions(&[&revoked]);
    nd.chain.mine_blocks(1);
    let events = nd.cm.release_pending_monitor_events();
    assert_eq!(events.len(), 1);
    let MonitorEvent::CommitmentTxConfirmed { txid, kind, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(*txid, revoked.compute_txid());
    let FundingSpendKind::RevokedCounterparty {
        commitment_number,
        justice_txid,
    } = kind
    else {
        panic!("{kind:?}")
    };
    assert_eq!(*commitment_number, n(0));
    let justice_txid = justice_txid.expect("a justice transaction");
    assert!(nd.logger.count("revoked counterparty commitment") > 0);
    // The event was persisted with the monitor: a restart delivers it again.
    let stored = nd.persister.persisted_monitor(&op).unwrap();
    let mut reloaded = lnkit::chain::monitor::ChannelMonitor::read(&stored, &f.ka).unwrap();
    assert_eq!(reloaded.get_and_clear_pending_events(), events);
    // Persisted again after release, the events are gone.
    let cleared = lnkit::chain::monitor::ChannelMonitor::read(&reloaded.encode(), &f.ka)
        .unwrap()
        .get_and_clear_pending_events();
    assert!(cleared.is_empty());

    // The justice transaction is in the mempool: check it, then mine it.
    let justice: Transaction = nd
        .chain
        .mempool()
        .into_iter()
        .find(|t| t.compute_txid() == justice_txid)
        .unwrap();
    let point = f.b.per_commitment_point(n(0)).unwrap();
    let keys = f.a_params.counterparty_commitment_keys(&point).unwrap();
    let script = to_local_script(
        &keys.revocation_key,
        144,
        &keys.broadcaster_delayed_payment_key,
    );
    let spk = ScriptBuf::new_p2wsh(&script.wscript_hash());
    let vout = revoked
        .output
        .iter()
        .position(|o| o.script_pubkey == spk)
        .unwrap();
    assert_eq!(
        justice.input[0].previous_output.txid,
        revoked.compute_txid()
    );
    assert_eq!(justice.input[0].previous_output.vout, vout as u32);
    assert_eq!(
        justice.output[0].script_pubkey,
        f.ka.get_destination_script(f.a_keys_id).unwrap()
    );
    let value = revoked.output[vout].value;
    assert!(justice.output[0].value < value);
    let w: Vec<&[u8]> = justice.input[0].witness.iter().collect();
    assert_eq!(w.len(), 3);
    assert_eq!(w[1], [1u8]);
    assert_eq!(w[2], script.as_bytes());
    let (sig, _) = der(w[0]);
    let digest = SighashCache::new(&justice)
        .p2wsh_signature_hash(0, &script, value, EcdsaSighashType::All)
        .unwrap();
    assert!(verifies(digest.to_byte_array(), &sig, &keys.revocation_key));
    nd.chain.mine_blocks(1);
    assert_eq!(nd.chain.confirmations(&justice_txid), Some(1));
}

#[test]
fn monitor_current_counterparty_commitment_and_reorg_of_the_spend() {
    let f = Fixture::new();
    let nd = node(&f);
    let op = f.funding_outpoint();
    nd.cm.update_channel(op, &commitments_update(&f, 1, 1));
    let theirs = f.b_commitment_tx(1);
    use lnkit::chain::BroadcasterInterface;
    nd.chain.broadcast_transactions(&[&theirs]);
    nd.chain.mine_blocks(1);
    let expect = MonitorEvent::CommitmentTxConfirmed {
        funding_outpoint: op,
        txid: theirs.compute_txid(),
        height: 2,
        kind: FundingSpendKind::Counterparty {
            commitment_number: n(1),
        },
    };
    assert_eq!(nd.cm.release_pending_monitor_events(), vec![expect.clone()]);
    assert_eq!(
        nd.cm.with_monitor(&op, |m| m.get_relevant_txids().len()),
        Some(1)
    );
    // Reorg the spend out: the monitor forgets it, and sees it again when
    // it confirms on the new chain.
    nd.chain.reorg(1);
    assert_eq!(nd.chain.confirmations(&theirs.compute_txid()), None);
    assert_eq!(
        nd.cm.with_monitor(&op, |m| m.funding_spend().is_none()),
        Some(true)
    );
    assert!(nd.cm.release_pending_monitor_events().is_empty());
    nd.chain.mine_blocks(1);
    let events = nd.cm.release_pending_monitor_events();
    assert_eq!(events.len(), 1);
    let MonitorEvent::CommitmentTxConfirmed { height, kind, .. } = &events[0] else {
        panic!()
    };
    assert_eq!(*height, 4);
    assert_eq!(
        *kind,
        FundingSpendKind::Counterparty {
            commitment_number: n(1)
        }
    );
}

#[test]
fn monitor_in_progress_persistence_completes_only_when_every_update_is_done() {
    let f = Fixture::new();
    let p = Arc::new(TestPersister::new());
    let nd = node_with(&f, p.clone(), p.clone());
    let op = f.funding_outpoint();
    p.set_update_status(ChannelMonitorUpdateStatus::InProgress);
    assert_eq!(
        nd.cm.watch_channel(op, f.monitor()),
        Ok(ChannelMonitorUpdateStatus::InProgress)
    );
    assert_eq!(
        nd.cm.watch_channel(op, f.monitor()),
        Err(MonitorStatusError::AlreadyWatched)
    );
    assert_eq!(
        nd.cm.update_channel(op, &commitments_update(&f, 1, 1)),
        ChannelMonitorUpdateStatus::InProgress
    );
    assert_eq!(
        nd.cm.update_channel(op, &commitments_update(&f, 2, 2)),
        ChannelMonitorUpdateStatus::InProgress
    );
    assert_eq!(nd.cm.pending_update_ids(&op), vec![0, 1, 2]);
    assert_eq!(
        nd.cm.channel_monitor_updated(op, 9),
        Err(MonitorStatusError::UnknownUpdate { update_id: 9 })
    );
    nd.cm.channel_monitor_updated(op, 2).unwrap();
    nd.cm.channel_monitor_updated(op, 0).unwrap();
    assert!(nd.cm.release_pending_monitor_events().is_empty());
    nd.cm.channel_monitor_updated(op, 1).unwrap();
    assert_eq!(
        nd.cm.release_pending_monitor_events(),
        vec![MonitorEvent::Completed {
            funding_outpoint: op,
            monitor_update_id: 2
        }]
    );
    // A failing persister is unrecoverable; so is an update the monitor refuses.
    p.set_update_status(ChannelMonitorUpdateStatus::UnrecoverableError);
    assert_eq!(
        nd.cm.update_channel(op, &commitments_update(&f, 3, 3)),
        ChannelMonitorUpdateStatus::UnrecoverableError
    );
    p.set_update_status(ChannelMonitorUpdateStatus::Completed);
    assert_eq!(
        nd.cm.update_channel(op, &commitments_update(&f, 3, 4)),
        ChannelMonitorUpdateStatus::UnrecoverableError
    );
    let unknown = bitcoin::OutPoint {
        txid: op.txid,
        vout: 7,
    };
    assert_eq!(
        nd.cm.update_channel(unknown, &commitments_update(&f, 4, 4)),
        ChannelMonitorUpdateStatus::UnrecoverableError
    );
    assert_eq!(
        nd.cm.channel_monitor_updated(unknown, 1),
        Err(MonitorStatusError::UnknownChannel)
    );
}

#[test]
fn monitor_reloads_from_a_filesystem_store() {
    let f = Fixture::new();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("monitor_reload");
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(FilesystemStore::new(&dir));
    let kv = Arc::new(KVStorePersister::new(store.clone()));
    let nd = node_with(&f, kv.clone(), Arc::new(TestPersister::new()));
    let op = f.funding_outpoint();
    assert_eq!(
        nd.cm.watch_channel(op, f.monitor()),
        Ok(ChannelMonitorUpdateStatus::Completed)
    );
    nd.cm.update_channel(op, &commitments_update(&f, 1, 1));
    nd.cm.update_channel(
        op,
        &step(
            2,
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(0),
                secret: f.b_secret(0),
            },
        ),
    );
    let live = nd.cm.with_monitor(&op, |m| m.encode()).unwrap();
    let reloaded = KVStorePersister::new(Arc::new(FilesystemStore::new(&dir)))
        .read_all_monitors(&f.ka)
        .unwrap();
    assert_eq!(reloaded.len(), 1);
    assert_eq!(reloaded[0].encode(), live);
    assert_eq!(reloaded[0].latest_update_id(), 2);

    // A reloaded monitor goes on watching: feed it a block with the
    // holder commitment through a fresh ChainMonitor.
    let chain = MockChain::new();
    let cm2 = ChainMonitor::new(
        None,
        nd.chain.clone(),
        Arc::new(TestLogger::new()),
        Arc::new(TestFeeEstimator::new(1000)),
        Arc::new(TestPersister::new()),
    );
    let m = reloaded.into_iter().next().unwrap();
    let commitment = m.get_latest_holder_commitment_txn().unwrap().remove(0);
    cm2.watch_channel(op, m).unwrap();
    let block = chain.block(0).unwrap();
    let mut with_tx = block.clone();
    with_tx.txdata.push(commitment.clone());
    cm2.block_connected(&with_tx, 1);
    assert!(matches!(
        cm2.release_pending_monitor_events()[..],
        [MonitorEvent::CommitmentTxConfirmed {
            kind: FundingSpendKind::Holder { .. },
            ..
        }]
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn monitor_learns_preimage_from_the_peers_htlc_claim_on_chain() {
    let f = Fixture::new();
    let nd = node(&f);
    let op = f.funding_outpoint();
    nd.cm.update_channel(
        op,
        &step(
            1,
            ChannelMonitorUpdateStep::ChannelForceClosed {
                should_broadcast: true,
            },
        ),
    );
    nd.chain.mine_blocks(1);
    assert_eq!(nd.cm.release_pending_monitor_events().len(), 1);
    let (commitment_txid, outputs) = nd
        .cm
        .with_monitor(&op, |m| {
            let c = m.holder_commitment();
            (c.txid(), c.htlcs().to_vec())
        })
        .unwrap();
    let ours = outputs.iter().find(|h| h.offered).unwrap();
    let theirs = outputs.iter().find(|h| !h.offered).unwrap();
    // B claims the HTLC A offered with its preimage (witness
    // `<remotehtlcsig> <payment_preimage> <script>`); a spend of B's HTLC
    // with a 32-byte element that is no preimage of ours says nothing.
    let claim = |vout: u32, item: [u8; 32]| {
        let mut w = bitcoin::Witness::new();
        w.push([0x30; 72]);
        w.push(item);
        w.push([0x51; 100]);
        Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![bitcoin::TxIn {
                previous_output: bitcoin::OutPoint {
                    txid: commitment_txid,
                    vout,
                },
                script_sig: ScriptBuf::new(),
                sequence: bitcoin::Sequence::MAX,
                witness: w,
            }],
            output: vec![bitcoin::TxOut {
                value: bitcoin::Amount::from_sat(40_000),
                script_pubkey: ScriptBuf::new(),
            }],
        }
    };
    let noise = claim(theirs.output_index, [0x77; 32]);
    let good = claim(ours.output_index, PREIMAGE_A.0);
    use lnkit::chain::BroadcasterInterface;
    nd.chain.broadcast_transactions(&[&noise, &good]);
    nd.chain.mine_blocks(1);
    assert_eq!(
        nd.cm.release_pending_monitor_events(),
        vec![MonitorEvent::HtlcEvent {
            funding_outpoint: op,
            payment_hash: PREIMAGE_A.payment_hash(),
            payment_preimage: PREIMAGE_A,
            claim_txid: good.compute_txid(),
            height: 3,
        }]
    );
    assert_eq!(
        nd.cm
            .with_monitor(&op, |m| m.preimage(&PREIMAGE_A.payment_hash())),
        Some(Some(PREIMAGE_A))
    );
    // Learned once: seeing it again (a reorg and re-mine) says nothing new.
    nd.chain.reorg(1);
    nd.chain.mine_blocks(1);
    assert!(nd
        .cm
        .release_pending_monitor_events()
        .iter()
        .all(|e| !matches!(e, MonitorEvent::HtlcEvent { .. })));
}

#[derive(Default)]
struct RecFilter(std::sync::Mutex<Vec<String>>);
impl lnkit::chain::Filter for RecFilter {
    fn register_tx(&self, txid: &bitcoin::Txid, _: &bitcoin::Script) {
        self.0.lock().unwrap().push(format!("tx {txid}"));
    }
    fn register_output(&self, output: lnkit::chain::WatchedOutput) {
        self.0
            .lock()
            .unwrap()
            .push(format!("out {}", output.outpoint));
    }
}

#[test]
fn monitor_light_client_registers_the_funding_output_and_confirms_by_txid() {
    use lnkit::chain::Confirm;
    let f = Fixture::new();
    let op = f.funding_outpoint();
    let filter = Arc::new(RecFilter::default());
    let chain = MockChain::new();
    let cm = ChainMonitor::new(
        Some(filter.clone()),
        Arc::new(lnkit::testing::TestBroadcaster::new()),
        Arc::new(TestLogger::new()),
        Arc::new(TestFeeEstimator::new(1000)),
        Arc::new(TestPersister::new()),
    );
    cm.watch_channel(op, f.monitor()).unwrap();
    assert_eq!(
        *filter.0.lock().unwrap(),
        vec![format!("tx {}", op.txid), format!("out {op}")]
    );
    let theirs = f.b_commitment_tx(0);
    chain.mine_blocks(3);
    let header = chain.block(3).unwrap().header;
    cm.transactions_confirmed(&header, &[(1, &theirs)], 3);
    cm.best_block_updated(&header, 3);
    assert!(matches!(
        cm.release_pending_monitor_events()[..],
        [MonitorEvent::CommitmentTxConfirmed {
            kind: FundingSpendKind::Counterparty { .. },
            height: 3,
            ..
        }]
    ));
    assert_eq!(
        cm.get_relevant_txids(),
        vec![(theirs.compute_txid(), 3, Some(header.block_hash()))]
    );
    // The light client now watches every output of the spending commitment.
    let registered = filter.0.lock().unwrap().clone();
    assert_eq!(registered.len(), 2 + theirs.output.len());
    for i in 0..theirs.output.len() {
        assert!(registered.contains(&format!("out {}:{i}", theirs.compute_txid())));
    }
    assert_eq!(cm.with_monitor(&op, |m| m.best_block().height), Some(3));
    cm.transaction_unconfirmed(&theirs.compute_txid());
    assert!(cm.get_relevant_txids().is_empty());
}

#[test]
fn monitor_chain_monitor_is_a_shareable_watch_and_rebroadcasts_unconfirmed_force_closes() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ChainMonitor>();
    send_sync::<lnkit::chain::monitor::ChannelMonitor>();
    let f = Fixture::new();
    let nd = node(&f);
    let op = f.funding_outpoint();
    let watch: Arc<dyn Watch> = nd.cm.clone();
    assert_eq!(nd.cm.rebroadcast_pending_claims(), 0);
    watch.update_channel(
        op,
        &step(
            1,
            ChannelMonitorUpdateStep::ChannelForceClosed {
                should_broadcast: true,
            },
        ),
    );
    let first = nd.chain.broadcast_history().len();
    assert_eq!(nd.cm.rebroadcast_pending_claims(), 1);
    let history = nd.chain.broadcast_history();
    assert_eq!(history.len(), first + 1);
    assert_eq!(history[history.len() - 1], history[history.len() - 2]);
    nd.chain.mine_blocks(1);
    assert_eq!(nd.cm.rebroadcast_pending_claims(), 0);
}
