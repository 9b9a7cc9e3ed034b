//! Functional tests of the `ChannelManager` on `lnkit::testing::Network`:
//! two full nodes with encrypted `PeerManager`s, a mock chain, persisted
//! monitors.

use lnkit::chain::ChannelMonitorUpdateStatus;
use lnkit::manager::{
    ClosureReason, Event, PaymentFailureReason, PaymentPurpose, RecipientOnionFields, Retry,
};
use lnkit::routing::{PaymentParameters, RouteParameters};
use lnkit::testing::{Hook, Network};
use lnkit::types::{ChannelId, PaymentPreimage, Point};

fn invoice(net: &Network, to: usize, msat: u64) -> lnkit::payment::invoice::Bolt11Invoice {
    net.node(to)
        .manager
        .create_bolt11_invoice(Some(msat), "test", 3600)
        .expect("invoice")
}

fn channel_type_of(
    net: &mut Network,
    i: usize,
    id: &ChannelId,
) -> lnkit::msgs::features::ChannelTypeFeatures {
    net.node(i)
        .manager
        .list_channels()
        .into_iter()
        .find(|c| c.channel_id == *id)
        .and_then(|c| c.channel_type)
        .expect("channel")
}

/// Node `from` starts paying `inv` for `amount` msat (no retries).
fn send(
    net: &mut Network,
    from: usize,
    inv: &lnkit::payment::invoice::Bolt11Invoice,
    amount: u64,
) -> lnkit::manager::PaymentId {
    let pid = net.payment_id();
    let params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_bolt11_invoice(inv),
        amount,
    );
    net.node(from)
        .manager
        .send_payment(
            inv.payment_hash(),
            RecipientOnionFields::secret_only(inv.payment_secret()),
            pid,
            params,
            Retry::Attempts(0),
        )
        .unwrap();
    pid
}

/// Total of both balances plus the funder's commitment fee is the channel.
fn assert_conserved(net: &Network, id: &ChannelId, value_sat: u64) {
    let a = net.balance_msat(0, id);
    let b = net.balance_msat(1, id);
    assert_eq!(
        a + b,
        value_sat * 1000,
        "balances {a} + {b} must make the channel value"
    );
}

#[test]
fn open_static_remotekey_and_anchors() {
    let mut net = Network::new(2);
    let anchors = net.open_channel(0, 1, 1_000_000, 0);
    assert!(channel_type_of(&mut net, 0, &anchors).supports_anchors_zero_fee_htlc_tx());
    let mut cfg = lnkit::config::UserConfig::default();
    cfg.channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = false;
    let mut net = Network::with_configs(vec![cfg, lnkit::config::UserConfig::default()]);
    let srk = net.open_channel(0, 1, 1_000_000, 0);
    let ct = channel_type_of(&mut net, 1, &srk);
    assert!(ct.supports_static_remote_key() && !ct.supports_anchors_zero_fee_htlc_tx());
    let inv = invoice(&net, 1, 12_345);
    net.pay_invoice(0, &inv).unwrap();
    assert_eq!(net.balance_msat(1, &srk), 12_345);
    assert_conserved(&net, &srk, 1_000_000);
}

#[test]
fn thousand_payments_each_way_exact_to_the_msat() {
    let mut net = Network::new(2);
    // Node 1 starts with 5,000,000 sat so it is above its reserve.
    let id = net.open_channel(0, 1, 10_000_000, 5_000_000_000);
    let mut expect_b = 5_000_000_000u64;
    // 0 → 1 first (1 starts with nothing), then both ways interleaved.
    for i in 0..1_000u64 {
        let amt = 100_000 + i;
        let inv = invoice(&net, 1, amt);
        net.pay_invoice(0, &inv).unwrap();
        expect_b += amt;
    }
    assert_eq!(net.balance_msat(1, &id), expect_b);
    for i in 0..1_000u64 {
        let amt = 50_000 + 3 * i;
        let inv = invoice(&net, 0, amt);
        net.pay_invoice(1, &inv).unwrap();
        expect_b -= amt;
    }
    assert_eq!(net.balance_msat(1, &id), expect_b);
    assert_conserved(&net, &id, 10_000_000);
    let claimed = net
        .take_events(1)
        .iter()
        .filter(|e| matches!(e, Event::PaymentClaimed { .. }))
        .count();
    assert_eq!(claimed, 1_000);
}

#[test]
fn keysend() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let to = Point::from(net.node(1).node_id);
    let params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(to, 40),
        77_000,
    );
    let pid = net.payment_id();
    let preimage = PaymentPreimage([42; 32]);
    let hash = net
        .node(0)
        .manager
        .send_spontaneous_payment(
            Some(preimage),
            RecipientOnionFields::spontaneous_empty(),
            pid,
            params,
            Retry::Attempts(0),
        )
        .unwrap();
    assert_eq!(hash, preimage.payment_hash());
    net.pump();
    assert_eq!(net.payment_result(0, pid).unwrap(), preimage);
    assert_eq!(net.balance_msat(1, &id), 77_000);
    assert!(net.take_events(1).iter().any(|e| matches!(
        e,
        Event::PaymentClaimed { purpose: PaymentPurpose::SpontaneousPayment(p), .. } if *p == preimage
    )));
}

#[test]
fn send_payment_is_idempotent_by_payment_id() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let inv = invoice(&net, 1, 10_000);
    let pid = net.payment_id();
    let params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_bolt11_invoice(&inv),
        10_000,
    );
    let send = |net: &Network| {
        net.node(0).manager.send_payment(
            inv.payment_hash(),
            RecipientOnionFields::secret_only(inv.payment_secret()),
            pid,
            params.clone(),
            Retry::Attempts(0),
        )
    };
    send(&net).unwrap();
    assert_eq!(
        send(&net),
        Err(lnkit::manager::RetryableSendFailure::DuplicatePayment)
    );
    net.pump();
    assert_eq!(
        send(&net),
        Err(lnkit::manager::RetryableSendFailure::DuplicatePayment)
    );
    net.pump();
    assert_eq!(net.balance_msat(1, &id), 10_000);
}

#[test]
fn unknown_payment_is_failed_back() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    // A payment secret node 1 never made.
    let inv = invoice(&net, 1, 10_000);
    let pid = net.payment_id();
    let params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_bolt11_invoice(&inv),
        10_000,
    );
    net.node(0)
        .manager
        .send_payment(
            inv.payment_hash(),
            RecipientOnionFields::secret_only(lnkit::types::PaymentSecret([9; 32])),
            pid,
            params,
            Retry::Attempts(0),
        )
        .unwrap();
    net.pump();
    match net.payment_result(0, pid) {
        Err(e) => match *e {
            Event::PaymentFailed { reason, .. } => {
                assert_eq!(reason, PaymentFailureReason::RecipientRejected)
            }
            other => panic!("expected a failure, got {other:?}"),
        },
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(net.balance_msat(1, &id), 0);
    assert_conserved(&net, &id, 1_000_000);
}

#[test]
fn update_fee_on_the_timer() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    net.node(0).fee_estimator.set(2_000);
    net.node(1).fee_estimator.set(2_000);
    net.tick();
    for i in 0..2 {
        let c = net
            .node(i)
            .manager
            .list_channels()
            .into_iter()
            .find(|c| c.channel_id == id)
            .unwrap();
        assert_eq!(c.feerate_sat_per_1000_weight, Some(2_000), "node {i}");
    }
    // Payments still work at the new rate.
    let inv = invoice(&net, 1, 5_000);
    net.pay_invoice(0, &inv).unwrap();
    assert_eq!(net.balance_msat(1, &id), 5_000);
}

#[test]
fn quiescence_blocks_updates_until_resumed() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let (a, b) = (net.node(0).node_id, net.node(1).node_id);
    net.node(0).manager.quiesce_channel(&id, &b).unwrap();
    net.pump();
    assert!(net.node(0).manager.is_channel_quiescent(&id, &b));
    assert!(net.node(1).manager.is_channel_quiescent(&id, &a));
    let inv = invoice(&net, 1, 5_000);
    assert!(
        net.pay_invoice(0, &inv).is_err(),
        "no update while quiescent"
    );
    net.node(0).manager.exit_quiescence(&id, &b).unwrap();
    net.node(1).manager.exit_quiescence(&id, &a).unwrap();
    let inv = invoice(&net, 1, 5_000);
    net.pay_invoice(0, &inv).unwrap();
    assert_eq!(net.balance_msat(1, &id), 5_000);
}

#[test]
fn quiescence_stall_disconnects() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let b = net.node(1).node_id;
    // Node 1 never answers: hold what it sends.
    net.hook(1, 0, Hook::Hold);
    net.node(0).manager.quiesce_channel(&id, &b).unwrap();
    net.pump();
    for _ in 0..8 {
        net.tick();
    }
    assert!(
        net.node(0).peer_manager.list_peers().is_empty(),
        "the stalling peer was disconnected"
    );
}

#[test]
fn cooperative_close_pays_both_sides() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let inv = invoice(&net, 1, 90_000_000);
    net.pay_invoice(0, &inv).unwrap();
    let funding = net.node(0).manager.list_channels()[0].funding_txo.unwrap();
    let b = net.node(1).node_id;
    net.node(0).manager.close_channel(&id, &b).unwrap();
    net.pump();
    let tx = net
        .chain
        .mempool()
        .into_iter()
        .find(|t| t.input.iter().any(|i| i.previous_output == funding))
        .expect("closing transaction broadcast");
    assert_eq!(tx.output.len(), 2);
    assert!(tx.output.iter().any(|o| o.value.to_sat() == 90_000));
    for i in 0..2 {
        assert!(net.take_events(i).iter().any(|e| matches!(
            e,
            Event::ChannelClosed {
                reason: ClosureReason::CooperativeClosure,
                ..
            }
        )));
    }
    net.mine(1);
    assert!(net.node(1).manager.list_channels().is_empty());
}

#[test]
fn close_waits_for_htlcs_in_flight() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    net.node_mut(1).auto_claim = false;
    let inv = invoice(&net, 1, 10_000);
    let pid = send(&mut net, 0, &inv, 10_000);
    net.pump();
    let b = net.node(1).node_id;
    net.node(0).manager.close_channel(&id, &b).unwrap();
    net.pump();
    assert!(
        net.chain.mempool().is_empty(),
        "no closing transaction while an HTLC is in flight"
    );
    let preimage = net
        .take_events(1)
        .iter()
        .find_map(|e| match e {
            Event::PaymentClaimable { purpose, .. } => purpose.preimage(),
            _ => None,
        })
        .unwrap();
    net.node(1).manager.claim_funds(preimage);
    net.pump();
    assert!(net.payment_result(0, pid).is_ok());
    assert_eq!(
        net.chain.mempool().len(),
        1,
        "closing transaction once clean"
    );
}

#[test]
fn force_close_broadcasts_the_latest_commitment() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let inv = invoice(&net, 1, 20_000_000);
    net.pay_invoice(0, &inv).unwrap();
    let funding = net.node(0).manager.list_channels()[0].funding_txo.unwrap();
    let b = net.node(1).node_id;
    net.node(0)
        .manager
        .force_close_broadcasting_latest_txn(&id, &b)
        .unwrap();
    net.pump();
    let commit = net
        .chain
        .mempool()
        .into_iter()
        .find(|t| t.input[0].previous_output == funding)
        .expect("commitment broadcast");
    // The peer's output pays its 20,000 sat.
    assert!(commit.output.iter().any(|o| o.value.to_sat() == 20_000));
    assert!(net.take_events(0).iter().any(|e| matches!(
        e,
        Event::ChannelClosed {
            reason: ClosureReason::HolderForceClosed,
            ..
        }
    )));
    assert!(net.take_events(1).iter().any(|e| matches!(
        e,
        Event::ChannelClosed {
            reason: ClosureReason::CounterpartyForceClosed { .. },
            ..
        }
    )));
}

/// Runs one payment 0 → 1 holding every message; delivers `k` of them
/// one at a time, then disconnects and reconnects. The payment must
/// complete with exact balances.
fn reconnect_after(k: usize) -> usize {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    net.hook(0, 1, Hook::Hold);
    net.hook(1, 0, Hook::Hold);
    let inv = invoice(&net, 1, 250_000);
    let pid = send(&mut net, 0, &inv, 250_000);
    net.pump();
    let mut delivered = 0;
    while delivered < k {
        if !(net.release_one(0, 1) || net.release_one(1, 0)) {
            break;
        }
        delivered += 1;
    }
    net.clear_hooks(0, 1);
    net.clear_hooks(1, 0);
    net.disconnect(0, 1);
    net.connect(0, 1);
    net.pump();
    assert!(
        net.payment_result(0, pid).is_ok(),
        "k = {k}: payment did not complete"
    );
    assert_eq!(net.balance_msat(1, &id), 250_000, "k = {k}");
    assert_conserved(&net, &id, 1_000_000);
    delivered
}

#[test]
fn reconnect_in_the_middle_of_every_step_of_the_dance() {
    let mut k = 0;
    // A full payment is about 10 messages; go until a run delivers fewer
    // than asked (the dance was over).
    loop {
        let delivered = reconnect_after(k);
        if delivered < k {
            break;
        }
        k += 1;
        assert!(k < 40);
    }
    assert!(k >= 8, "the dance has at least 8 messages, saw {k}");
}

#[test]
fn restart_in_the_middle_of_a_payment() {
    for k in 0..12 {
        for restart in [0usize, 1] {
            let mut net = Network::new(2);
            let id = net.open_channel(0, 1, 1_000_000, 0);
            net.hook(0, 1, Hook::Hold);
            net.hook(1, 0, Hook::Hold);
            let inv = invoice(&net, 1, 400_000);
            send(&mut net, 0, &inv, 400_000);
            net.pump();
            for _ in 0..k {
                if !(net.release_one(0, 1) || net.release_one(1, 0)) {
                    break;
                }
            }
            net.clear_hooks(0, 1);
            net.clear_hooks(1, 0);
            net.restart(restart);
            net.connect(0, 1);
            net.pump();
            // Replayed claimable events are claimed by the harness.
            net.pump();
            if net.node(0).manager.list_channels().is_empty() {
                panic!(
                    "k = {k}, restart {restart}: closed: {:?} / {:?}",
                    net.take_events(0),
                    net.take_events(1)
                );
            }
            let b = net.balance_msat(1, &id);
            assert!(
                b == 0 || b == 400_000,
                "k = {k}, restart {restart}: balance {b}"
            );
            assert_conserved(&net, &id, 1_000_000);
            // The channel still works.
            let inv = invoice(&net, 1, 1_000);
            net.pay_invoice(0, &inv)
                .unwrap_or_else(|e| panic!("k = {k}, restart {restart}: {e:?}"));
        }
    }
}

#[test]
fn in_progress_persistence_holds_messages_until_completed() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    net.node(0)
        .persister
        .set_status(ChannelMonitorUpdateStatus::InProgress);
    let inv = invoice(&net, 1, 60_000);
    let pid = send(&mut net, 0, &inv, 60_000);
    net.pump();
    // The commitment_signed waits for its monitor update: node 1 has only
    // the add, nothing is committed.
    assert!(net
        .take_events(1)
        .iter()
        .all(|e| !matches!(e, Event::PaymentClaimable { .. })));
    assert_eq!(net.balance_msat(1, &id), 0);
    for _ in 0..10 {
        net.complete_persistence(0);
    }
    assert!(net.payment_result(0, pid).is_ok());
    assert_eq!(net.balance_msat(1, &id), 60_000);
}

#[test]
fn funding_waits_for_in_progress_monitor_persistence() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    // The fundee's monitor persists in the background: funding_signed
    // must not leave before it completes.
    net.node(1)
        .persister
        .set_status(ChannelMonitorUpdateStatus::InProgress);
    let b = net.node(1).node_id;
    let temp = net
        .node(0)
        .manager
        .create_channel(b, 500_000, 0, 7, None)
        .unwrap();
    net.pump();
    let script = net
        .take_events(0)
        .into_iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script),
            _ => None,
        })
        .unwrap();
    let tx = lnkit::bitcoin::Transaction {
        version: lnkit::bitcoin::transaction::Version::TWO,
        lock_time: lnkit::bitcoin::absolute::LockTime::ZERO,
        input: vec![lnkit::bitcoin::TxIn::default()],
        output: vec![lnkit::bitcoin::TxOut {
            value: lnkit::bitcoin::Amount::from_sat(500_000),
            script_pubkey: script,
        }],
    };
    net.node(0)
        .manager
        .funding_transaction_generated(&temp, &b, tx)
        .unwrap();
    net.pump();
    assert!(
        !net.take_events(0)
            .iter()
            .any(|e| matches!(e, Event::ChannelPending { .. })),
        "the funder must not see funding_signed before the fundee persisted"
    );
    assert!(net.chain.mempool().is_empty(), "no funding broadcast yet");
    net.node(1)
        .persister
        .set_status(ChannelMonitorUpdateStatus::Completed);
    net.complete_persistence(1);
    assert!(net.take_events(0).iter().any(|e| matches!(
        e,
        Event::ChannelPending {
            user_channel_id: 7,
            ..
        }
    )));
    assert_eq!(net.chain.mempool().len(), 1, "funding broadcast");
    net.mine(6);
    assert!(net
        .take_events(1)
        .iter()
        .any(|e| matches!(e, Event::ChannelReady { .. })));
}

#[test]
fn manual_acceptance_and_rejection() {
    let cfg = lnkit::config::UserConfig {
        manually_accept_inbound_channels: true,
        ..Default::default()
    };
    let mut net = Network::with_configs(vec![lnkit::config::UserConfig::default(), cfg]);
    net.connect(0, 1);
    let (a, b) = (net.node(0).node_id, net.node(1).node_id);
    // Rejected: the opener is told and forgets the channel.
    net.node(0)
        .manager
        .create_channel(b, 400_000, 0, 1, None)
        .unwrap();
    net.pump();
    let temp = net
        .take_events(1)
        .into_iter()
        .find_map(|e| match e {
            Event::OpenChannelRequest {
                temporary_channel_id,
                funding_satoshis: 400_000,
                ..
            } => Some(temporary_channel_id),
            _ => None,
        })
        .expect("OpenChannelRequest");
    net.node(1)
        .manager
        .reject_inbound_channel(&temp, &a)
        .unwrap();
    net.pump();
    assert!(net
        .take_events(0)
        .iter()
        .any(|e| matches!(e, Event::ChannelClosed { channel_id, .. } if *channel_id == temp)));
    assert!(net.node(0).manager.list_channels().is_empty());
    // Accepted: the channel opens.
    net.node(0)
        .manager
        .create_channel(b, 400_000, 0, 2, None)
        .unwrap();
    net.pump();
    let temp = net
        .take_events(1)
        .into_iter()
        .find_map(|e| match e {
            Event::OpenChannelRequest {
                temporary_channel_id,
                ..
            } => Some(temporary_channel_id),
            _ => None,
        })
        .unwrap();
    net.node(1)
        .manager
        .accept_inbound_channel(&temp, &a, 99)
        .unwrap();
    net.pump();
    assert!(net
        .node(0)
        .events
        .iter()
        .any(|e| matches!(e, Event::FundingGenerationReady { .. })));
}

#[test]
fn underpaying_an_invoice_is_refused() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let inv = invoice(&net, 1, 80_000);
    let pid = send(&mut net, 0, &inv, 30_000);
    net.pump();
    assert!(net
        .take_events(1)
        .iter()
        .all(|e| !matches!(e, Event::PaymentClaimable { .. })));
    assert!(net.payment_result(0, pid).is_err());
    assert_eq!(net.balance_msat(1, &id), 0);
    assert_conserved(&net, &id, 1_000_000);
}

#[test]
fn channel_manager_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<lnkit::manager::ChannelManager>();
}

#[test]
fn fundee_forgets_a_channel_whose_funding_never_confirms() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let b = net.node(1).node_id;
    let temp = net
        .node(0)
        .manager
        .create_channel(b, 300_000, 0, 0, None)
        .unwrap();
    net.pump();
    let script = net
        .take_events(0)
        .into_iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script),
            _ => None,
        })
        .unwrap();
    let tx = lnkit::bitcoin::Transaction {
        version: lnkit::bitcoin::transaction::Version::TWO,
        lock_time: lnkit::bitcoin::absolute::LockTime::ZERO,
        input: vec![lnkit::bitcoin::TxIn::default()],
        output: vec![lnkit::bitcoin::TxOut {
            value: lnkit::bitcoin::Amount::from_sat(300_000),
            script_pubkey: script,
        }],
    };
    net.node(0)
        .manager
        .funding_transaction_generated(&temp, &b, tx)
        .unwrap();
    net.pump();
    assert_eq!(net.node(1).manager.list_channels().len(), 1);
    // The funding transaction never confirms: mine empty blocks past
    // BOLT 2's 2016-block timeout.
    for _ in 0..2020 {
        net.chain.mine_block_with(Vec::new());
        if net.node(1).manager.list_channels().is_empty() {
            break;
        }
    }
    net.pump();
    assert!(net.node(1).manager.list_channels().is_empty());
    assert!(net.take_events(1).iter().any(|e| matches!(
        e,
        Event::ChannelClosed {
            reason: ClosureReason::FundingAborted,
            ..
        }
    )));
}

#[test]
fn cooperative_close_with_in_progress_persistence() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let inv = invoice(&net, 1, 30_000_000);
    net.node(0)
        .persister
        .set_status(ChannelMonitorUpdateStatus::InProgress);
    let pid = send(&mut net, 0, &inv, 30_000_000);
    let b = net.node(1).node_id;
    net.node(0).manager.close_channel(&id, &b).unwrap();
    net.pump();
    for _ in 0..20 {
        net.complete_persistence(0);
    }
    assert!(net.payment_result(0, pid).is_ok());
    for i in 0..2 {
        assert!(
            net.take_events(i).iter().any(|e| matches!(
                e,
                Event::ChannelClosed {
                    reason: ClosureReason::CooperativeClosure,
                    ..
                }
            )),
            "node {i} did not close cooperatively"
        );
    }
}

/// `ChannelDetails` shows HTLCs in flight apart from the balance: while the
/// payee's answers are held, the payer's HTLC is pending on both sides and
/// no balance has moved; once delivered, nothing is pending and the
/// balances moved by the amount exactly.
#[test]
fn channel_details_show_pending_htlcs() {
    let mut net = Network::new(2);
    let id = net.open_channel(0, 1, 1_000_000, 0);
    let details = |net: &Network, i: usize| {
        net.node(i)
            .manager
            .list_channels()
            .into_iter()
            .find(|c| c.channel_id == id)
            .expect("channel")
    };
    let (a0, b0) = (details(&net, 0).balance_msat, details(&net, 1).balance_msat);
    assert_eq!(details(&net, 0).pending_outbound_htlcs_msat, 0);
    net.hook(1, 0, Hook::Hold);
    let inv = invoice(&net, 1, 100_000);
    let pid = send(&mut net, 0, &inv, 100_000);
    net.pump();
    let (a, b) = (details(&net, 0), details(&net, 1));
    assert_eq!(a.pending_outbound_htlcs_msat, 100_000);
    assert_eq!(a.pending_inbound_htlcs_msat, 0);
    assert_eq!(a.balance_msat, a0, "an offered HTLC stays in the balance");
    assert_eq!(b.pending_inbound_htlcs_msat, 100_000);
    assert_eq!(b.balance_msat, b0, "a received HTLC is not in it yet");
    net.clear_hooks(1, 0);
    net.release(1, 0, false);
    net.pump();
    assert!(net.payment_result(0, pid).is_ok());
    let (a, b) = (details(&net, 0), details(&net, 1));
    assert_eq!(
        (a.pending_outbound_htlcs_msat, b.pending_inbound_htlcs_msat),
        (0, 0)
    );
    assert_eq!(a.balance_msat, a0 - 100_000);
    assert_eq!(b.balance_msat, b0 + 100_000);
}
