//! A misbehaving peer, through the public API only: two
//! `lnkit::testing::Network` nodes open a channel, then node 1 "misbehaves"
//! by handing node 0's `ChannelManager` a crafted message as if it came
//! from node 1 (`ChannelMessageHandler` is a public trait). Every BOLT 2
//! receiver rule of normal operation ("MUST/SHOULD fail the channel") must
//! end with node 0 failing the channel: a `ChannelClosed` event whose
//! reason carries the rule's tag, its latest commitment broadcast (with any
//! HTLC in flight among its outputs), and no panic. A peer proving we lost
//! data must NOT make us broadcast. Messages for unknown channels get an
//! `error` and close nothing.
//!
//! In every test node 0's messages to node 1 are held once the crafted
//! message is delivered, so node 1 never reacts to node 0's `error` (its
//! own force close would put a second commitment on the chain).
//!
//! At the end: a property test that truncations and bit flips of a real
//! `ChannelManager::encode()` never make `ChannelManager::read` panic, and
//! the seed corpus of `lnkit::manager::fuzz::fuzz_manager_read`.

use lnkit::bitcoin::absolute::LockTime;
use lnkit::bitcoin::hashes::Hash;
use lnkit::bitcoin::secp256k1::{self, PublicKey, Secp256k1, SecretKey};
use lnkit::bitcoin::transaction::Version;
use lnkit::bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, WPubkeyHash, Witness,
};
use lnkit::codec::sample::{Sample, SampleRng};
use lnkit::codec::WithU16Len;
use lnkit::config::UserConfig;
use lnkit::events::{MessageSendEvent, MessageSendEventsProvider};
use lnkit::manager::{ClosureReason, Event, PaymentId, RecipientOnionFields, Retry};
use lnkit::msgs::features::InitFeatures;
use lnkit::msgs::*;
use lnkit::routing::{PaymentParameters, RouteParameters};
use lnkit::testing::{Hook, Network};
use lnkit::types::{ChannelId, PaymentHash, PaymentPreimage, Point, WireSignature};

// ---------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------

/// Two nodes and a channel between them.
struct Fx {
    net: Network,
    chan: ChannelId,
    funding: OutPoint,
    n0: PublicKey,
    n1: PublicKey,
}

impl Fx {
    /// Channel `funder` → the other node (0 or 1), `value_sat`, pushing
    /// `push_msat`, with per-node configs.
    fn with(configs: [UserConfig; 2], funder: usize, value_sat: u64, push_msat: u64) -> Fx {
        let mut net = Network::with_configs(configs.to_vec());
        net.connect(0, 1);
        let chan = net.open_channel(funder, 1 - funder, value_sat, push_msat);
        let funding = net
            .node(0)
            .manager
            .list_channels()
            .into_iter()
            .find(|c| c.channel_id == chan)
            .and_then(|c| c.funding_txo)
            .expect("funded channel");
        let (n0, n1) = (net.node(0).node_id, net.node(1).node_id);
        net.take_events(0);
        net.take_events(1);
        Fx {
            net,
            chan,
            funding,
            n0,
            n1,
        }
    }

    /// Node 0 funds 1_000_000 sat and pushes `push_msat` to node 1.
    fn new(push_msat: u64) -> Fx {
        Self::with([UserConfig::default(); 2], 0, 1_000_000, push_msat)
    }

    /// Hands `msg` to node 0 as if node 1 sent it. Node 0's messages to
    /// node 1 are held from now on: node 1 never sent what node 0 got, and
    /// would fail the channel on node 0's next `commitment_signed`.
    fn inject(&mut self, msg: &Message) {
        self.net.hook(0, 1, Hook::Hold);
        deliver(&self.net, 0, self.n1, msg);
    }

    /// [`inject`](Self::inject), then pumps.
    fn misbehave(&mut self, msg: &Message) {
        self.inject(msg);
        self.net.pump();
    }

    /// Asserts node 0 failed the channel for `tag` and broadcast a
    /// commitment spending the funding output; returns that commitment.
    fn assert_failed(&mut self, tag: &str) -> Transaction {
        let events = self.net.take_events(0);
        let reason = closed_reason(&events, self.chan)
            .unwrap_or_else(|| panic!("no ChannelClosed for {tag}; events: {events:?}"));
        match reason {
            ClosureReason::ProcessingError { err } => {
                assert!(err.contains(tag), "closed for {err:?}, expected {tag}")
            }
            other => panic!("closed for {other:?}, expected ProcessingError({tag})"),
        }
        assert!(!self.channel_listed(), "the failed channel is still listed");
        let spends = self.funding_spends();
        assert_eq!(
            spends.len(),
            1,
            "expected exactly our commitment on the chain, got {spends:?}"
        );
        spends.into_iter().next().expect("one commitment")
    }

    /// Asserts the channel is untouched: listed, no `ChannelClosed`,
    /// nothing spends its funding output.
    fn assert_open(&mut self) {
        let events = self.net.take_events(0);
        assert!(
            closed_reason(&events, self.chan).is_none(),
            "channel closed: {events:?}"
        );
        assert!(self.channel_listed(), "channel forgotten");
        assert!(self.funding_spends().is_empty(), "something was broadcast");
    }

    fn channel_listed(&self) -> bool {
        self.net
            .node(0)
            .manager
            .list_channels()
            .iter()
            .any(|c| c.channel_id == self.chan)
    }

    /// Every transaction ever broadcast that spends the funding output.
    fn funding_spends(&self) -> Vec<Transaction> {
        self.net
            .chain
            .broadcast_history()
            .into_iter()
            .filter(|tx| tx.input.iter().any(|i| i.previous_output == self.funding))
            .collect()
    }

    /// Node 1 (with `auto_claim` off) is paid `amount_msat` by node 0:
    /// the HTLC ends irrevocably committed on both sides, unclaimed.
    /// Returns the payment's preimage (node 1 knows it: its invoice).
    fn htlc_0_to_1(&mut self, amount_msat: u64) -> PaymentPreimage {
        self.net.node_mut(1).auto_claim = false;
        let inv = self
            .net
            .node(1)
            .manager
            .create_bolt11_invoice(Some(amount_msat), "held", 3600)
            .expect("invoice");
        let _ = self.net.pay_invoice(0, &inv);
        let preimage = self
            .net
            .take_events(1)
            .into_iter()
            .find_map(|e| match e {
                Event::PaymentClaimable { purpose, .. } => purpose.preimage(),
                _ => None,
            })
            .expect("the HTLC reached node 1");
        assert_eq!(preimage.payment_hash(), inv.payment_hash());
        self.net.take_events(0);
        preimage
    }

    /// `from` starts paying `to` `amount_msat`; returns the messages
    /// `from`'s manager produced (taken straight from it: nothing was
    /// delivered).
    fn start_payment(&mut self, from: usize, to: usize, amount_msat: u64) -> Vec<Message> {
        let inv = self
            .net
            .node(to)
            .manager
            .create_bolt11_invoice(Some(amount_msat), "x", 3600)
            .expect("invoice");
        let id: PaymentId = self.net.payment_id();
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_bolt11_invoice(&inv),
            amount_msat,
        );
        self.net
            .node(from)
            .manager
            .send_payment(
                inv.payment_hash(),
                RecipientOnionFields::secret_only(inv.payment_secret()),
                id,
                params,
                Retry::Attempts(0),
            )
            .expect("payment starts");
        take_msgs(&self.net, from)
    }

    fn add(&self, id: u64, amount_msat: u64, cltv_expiry: u32) -> Message {
        UpdateAddHtlc {
            channel_id: self.chan,
            id,
            amount_msat,
            payment_hash: PaymentHash([7; 32]),
            cltv_expiry,
            onion_routing_packet: OnionPacket {
                version: 0,
                public_key: PublicKey::from_secret_key(&Secp256k1::new(), &key(5)).serialize(),
                hop_data: [0; 1300],
                hmac: [0; 32],
            },
            blinding_point: None,
            unknown_tlvs: Default::default(),
        }
        .into()
    }

    /// A valid expiry: a little above the tip.
    fn cltv(&self) -> u32 {
        self.net.chain.height() + 100
    }
}

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).expect("valid key")
}

fn point(b: u8) -> Point {
    PublicKey::from_secret_key(&Secp256k1::new(), &key(b)).into()
}

/// A well-formed signature of something else.
fn wrong_signature() -> WireSignature {
    let secp = Secp256k1::new();
    secp.sign_ecdsa(&secp256k1::Message::from_digest([9; 32]), &key(3))
        .into()
}

fn closed_reason(events: &[Event], chan: ChannelId) -> Option<ClosureReason> {
    events.iter().find_map(|e| match e {
        Event::ChannelClosed {
            channel_id, reason, ..
        } if *channel_id == chan => Some(reason.clone()),
        _ => None,
    })
}

/// The messages node `i`'s manager wants to send, taken from it.
fn take_msgs(net: &Network, i: usize) -> Vec<Message> {
    net.node(i)
        .manager
        .get_and_clear_pending_msg_events()
        .into_iter()
        .filter_map(|e| match e {
            MessageSendEvent::SendMessage { msg, .. } => Some(msg),
            _ => None,
        })
        .collect()
}

/// Hands `msg` to node `to`'s manager as if `from` sent it.
fn deliver(net: &Network, to: usize, from: PublicKey, msg: &Message) {
    assert!(
        lnkit::testing::deliver(&net.node(to).manager, from, msg),
        "deliver: {} not wired",
        msg.name()
    );
}

fn find<T>(msgs: &[Message], f: impl Fn(&Message) -> Option<T>) -> T {
    msgs.iter()
        .find_map(f)
        .unwrap_or_else(|| panic!("message not found among {msgs:?}"))
}

fn p2wpkh(b: u8) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([b; 20]))
}

fn shutdown(chan: ChannelId, script: ScriptBuf) -> Message {
    Shutdown {
        channel_id: chan,
        scriptpubkey: script,
        unknown_tlvs: Default::default(),
    }
    .into()
}

/// Whether `tx` has an output of exactly `sat`.
fn has_output(tx: &Transaction, sat: u64) -> bool {
    tx.output.iter().any(|o| o.value == Amount::from_sat(sat))
}

// ---------------------------------------------------------------------
// update_add_htlc
// ---------------------------------------------------------------------

/// The baseline: a well-formed add from node 1 is accepted.
#[test]
fn well_formed_add_is_accepted() {
    let mut fx = Fx::new(300_000_000);
    let m = fx.add(0, 1_000_000, fx.cltv());
    fx.misbehave(&m);
    fx.assert_open();
}

/// "receiving an `amount_msat` equal to 0 ...: MUST fail the channel."
#[test]
fn bolt2_add_htlc_minimum_zero() {
    let mut fx = Fx::new(300_000_000);
    let m = fx.add(0, 0, fx.cltv());
    fx.misbehave(&m);
    fx.assert_failed("bolt2-add-htlc-minimum");
}

/// "... OR less than its own `htlc_minimum_msat`: MUST fail the channel."
#[test]
fn bolt2_add_htlc_minimum() {
    let mut c0 = UserConfig::default();
    c0.channel_handshake_config.our_htlc_minimum_msat = 5_000;
    let mut fx = Fx::with([c0, UserConfig::default()], 0, 1_000_000, 300_000_000);
    let m = fx.add(0, 4_999, fx.cltv());
    fx.misbehave(&m);
    fx.assert_failed("bolt2-add-htlc-minimum");
}

/// "MUST set `id` to 0 [first] ... increase ... by 1": an id gap fails.
#[test]
fn bolt2_add_htlc_id() {
    let mut fx = Fx::new(300_000_000);
    let m = fx.add(1, 1_000_000, fx.cltv());
    fx.misbehave(&m);
    fx.assert_failed("bolt2-add-htlc-id");
}

/// The same id twice (no reconnection in between) is an id violation.
#[test]
fn bolt2_add_htlc_id_repeated() {
    let mut fx = Fx::new(300_000_000);
    let a = fx.add(0, 1_000_000, fx.cltv());
    fx.inject(&a);
    fx.misbehave(&a);
    fx.assert_failed("bolt2-add-htlc-id");
}

/// "if sending node sets `cltv_expiry` to greater or equal to 500000000".
#[test]
fn bolt2_add_htlc_cltv() {
    let mut fx = Fx::new(300_000_000);
    let m = fx.add(0, 1_000_000, 500_000_000);
    fx.misbehave(&m);
    fx.assert_failed("bolt2-add-htlc-cltv");
}

/// "adds more than its `max_accepted_htlcs` HTLCs" (default 50).
#[test]
fn bolt2_add_htlc_max_accepted() {
    let mut fx = Fx::new(300_000_000);
    for id in 0..50 {
        let m = fx.add(id, 1_000_000, fx.cltv());
        fx.inject(&m);
    }
    fx.net.pump();
    fx.assert_open();
    let m = fx.add(50, 1_000_000, fx.cltv());
    fx.misbehave(&m);
    fx.assert_failed("bolt2-add-htlc-max-accepted");
}

/// "adds more than its `max_htlc_value_in_flight_msat` worth of offered
/// HTLCs" (default 10% of 1_000_000 sat).
#[test]
fn bolt2_add_htlc_in_flight() {
    let mut fx = Fx::new(300_000_000);
    let a = fx.add(0, 60_000_000, fx.cltv());
    fx.inject(&a);
    let b = fx.add(1, 40_000_001, fx.cltv());
    fx.misbehave(&b);
    fx.assert_failed("bolt2-add-htlc-in-flight");
}

/// "receiving an `amount_msat` that the sending node cannot afford ...
/// (while maintaining its channel reserve)": node 1 holds 50_000 sat and
/// must keep 10_000.
#[test]
fn bolt2_add_htlc_reserve() {
    let mut fx = Fx::new(50_000_000);
    let a = fx.add(0, 30_000_000, fx.cltv());
    fx.inject(&a);
    let b = fx.add(1, 10_000_001, fx.cltv());
    fx.misbehave(&b);
    fx.assert_failed("bolt2-add-htlc-reserve");
}

/// Exactly the reserve left is fine (the boundary of the rule above).
#[test]
fn add_leaving_exactly_the_reserve_is_accepted() {
    let mut fx = Fx::new(50_000_000);
    let a = fx.add(0, 40_000_000, fx.cltv());
    fx.misbehave(&a);
    fx.assert_open();
}

/// "MUST NOT send an `update_add_htlc` after a `shutdown`."
#[test]
fn bolt2_add_after_shutdown() {
    let mut fx = Fx::new(300_000_000);
    fx.inject(&shutdown(fx.chan, p2wpkh(4)));
    let m = fx.add(0, 1_000_000, fx.cltv());
    fx.misbehave(&m);
    fx.assert_failed("bolt2-add-after-shutdown");
}

// ---------------------------------------------------------------------
// update_fulfill_htlc / update_fail_htlc / update_fail_malformed_htlc
// ---------------------------------------------------------------------

const HTLC_MSAT: u64 = 50_000_000;

/// "if the `payment_preimage` ... doesn't SHA256 hash to the corresponding
/// HTLC `payment_hash`: MUST fail the channel." The HTLC in flight is in
/// the commitment we broadcast.
#[test]
fn bolt2_fulfill_preimage() {
    let mut fx = Fx::new(0);
    fx.htlc_0_to_1(HTLC_MSAT);
    let m = UpdateFulfillHtlc {
        channel_id: fx.chan,
        id: 0,
        payment_preimage: PaymentPreimage([0x42; 32]),
        attribution_data: None,
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    let tx = fx.assert_failed("bolt2-fulfill-preimage");
    assert!(has_output(&tx, HTLC_MSAT / 1000), "HTLC missing: {tx:?}");
}

/// "if the `id` does not correspond to an HTLC in its current commitment
/// transaction: MUST fail the channel."
#[test]
fn bolt2_fulfill_unknown_id() {
    let mut fx = Fx::new(0);
    fx.htlc_0_to_1(HTLC_MSAT);
    let m = UpdateFulfillHtlc {
        channel_id: fx.chan,
        id: 7,
        payment_preimage: PaymentPreimage([0x42; 32]),
        attribution_data: None,
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    let tx = fx.assert_failed("bolt2-fulfill-unknown-id");
    assert!(has_output(&tx, HTLC_MSAT / 1000), "HTLC missing: {tx:?}");
}

/// A fulfill for an HTLC we offered but that is in no commitment yet (the
/// peer fulfils before signing) names no HTLC of the current commitment.
#[test]
fn bolt2_fulfill_unknown_id_uncommitted() {
    let mut fx = Fx::new(0);
    let sent = fx.start_payment(0, 1, HTLC_MSAT);
    let add = find(&sent, |m| match m {
        Message::UpdateAddHtlc(a) => Some(a.clone()),
        _ => None,
    });
    // The peer "knows" the preimage of our HTLC (no onion processing):
    // any preimage is refused while the HTLC is uncommitted.
    let m = UpdateFulfillHtlc {
        channel_id: fx.chan,
        id: add.id,
        payment_preimage: PaymentPreimage([0x42; 32]),
        attribution_data: None,
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    fx.assert_failed("bolt2-fulfill-unknown-id");
}

/// A second `update_fulfill_htlc` for an HTLC already fulfilled: it is no
/// longer in the current commitment as an open HTLC.
#[test]
fn bolt2_fulfill_unknown_id_twice() {
    let mut fx = Fx::new(0);
    let preimage = fx.htlc_0_to_1(HTLC_MSAT);
    let m: Message = UpdateFulfillHtlc {
        channel_id: fx.chan,
        id: 0,
        payment_preimage: preimage,
        attribution_data: None,
        unknown_tlvs: Default::default(),
    }
    .into();
    fx.inject(&m);
    fx.misbehave(&m);
    let tx = fx.assert_failed("bolt2-fulfill-unknown-id");
    assert!(has_output(&tx, HTLC_MSAT / 1000), "HTLC missing: {tx:?}");
}

/// `update_fail_htlc` naming no HTLC of the current commitment.
#[test]
fn bolt2_fail_unknown_id() {
    let mut fx = Fx::new(0);
    fx.htlc_0_to_1(HTLC_MSAT);
    let m = UpdateFailHtlc {
        channel_id: fx.chan,
        id: 7,
        reason: WithU16Len(vec![0; 260]),
        attribution_data: None,
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    let tx = fx.assert_failed("bolt2-fail-unknown-id");
    assert!(has_output(&tx, HTLC_MSAT / 1000), "HTLC missing: {tx:?}");
}

/// "if the `BADONION` bit in `failure_code` is not set for
/// `update_fail_malformed_htlc`: MUST fail the channel."
#[test]
fn bolt2_fail_malformed_badonion() {
    let mut fx = Fx::new(0);
    fx.htlc_0_to_1(HTLC_MSAT);
    let m = UpdateFailMalformedHtlc {
        channel_id: fx.chan,
        id: 0,
        sha256_of_onion: [1; 32],
        failure_code: 0x4000 | 5,
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    let tx = fx.assert_failed("bolt2-fail-malformed-badonion");
    assert!(has_output(&tx, HTLC_MSAT / 1000), "HTLC missing: {tx:?}");
}

/// A valid fulfill, then a protocol violation: the payment stays sent
/// (the preimage is not lost with the channel) and the HTLC, whose
/// removal was not committed yet, is in the commitment we broadcast.
#[test]
fn fulfilled_payment_survives_a_later_violation() {
    let mut fx = Fx::new(0);
    let preimage = fx.htlc_0_to_1(HTLC_MSAT);
    fx.net.node(1).manager.claim_funds(preimage);
    let from1 = take_msgs(&fx.net, 1);
    let fulfill = find(&from1, |m| match m {
        Message::UpdateFulfillHtlc(f) => Some(f.clone()),
        _ => None,
    });
    fx.net.hook(0, 1, Hook::Hold);
    fx.inject(&fulfill.into());
    fx.net.pump();
    let m = fx.add(0, 1_000, 500_000_000);
    fx.misbehave(&m);
    let events = fx.net.node(0).events.clone();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::PaymentSent { payment_preimage, .. } if *payment_preimage == preimage
        )),
        "no PaymentSent after the fulfill: {events:?}"
    );
    let tx = fx.assert_failed("bolt2-add-htlc-cltv");
    assert!(has_output(&tx, HTLC_MSAT / 1000), "HTLC missing: {tx:?}");
}

// ---------------------------------------------------------------------
// commitment_signed
// ---------------------------------------------------------------------

/// Node 1 pays node 0 100_000 sat: node 1's real `update_add_htlc` is
/// delivered, its `commitment_signed` returned for tampering.
fn add_from_1_and_take_commit(fx: &mut Fx) -> CommitmentSigned {
    let msgs = fx.start_payment(1, 0, 100_000_000);
    let add = find(&msgs, |m| {
        matches!(m, Message::UpdateAddHtlc(_)).then(|| m.clone())
    });
    fx.inject(&add);
    find(&msgs, |m| match m {
        Message::CommitmentSigned(c) => Some(c.clone()),
        _ => None,
    })
}

/// The baseline: the untampered `commitment_signed` is accepted.
#[test]
fn real_commitment_signed_is_accepted() {
    let mut fx = Fx::new(300_000_000);
    let cs = add_from_1_and_take_commit(&mut fx);
    assert_eq!(cs.htlc_signatures.len(), 1);
    fx.misbehave(&cs.into());
    fx.assert_open();
}

/// "if `signature` is not valid for its local commitment transaction:
/// MUST fail the channel."
#[test]
fn bolt2_commitment_signed_sig() {
    let mut fx = Fx::new(300_000_000);
    let mut cs = add_from_1_and_take_commit(&mut fx);
    cs.signature = wrong_signature();
    fx.misbehave(&cs.into());
    fx.assert_failed("bolt2-commitment-signed-sig");
}

/// "if `num_htlcs` is not equal to the number of HTLC outputs in the local
/// commitment transaction: MUST fail the channel."
#[test]
fn bolt2_commitment_signed_htlc_count() {
    let mut fx = Fx::new(300_000_000);
    let mut cs = add_from_1_and_take_commit(&mut fx);
    cs.htlc_signatures.clear();
    fx.misbehave(&cs.into());
    fx.assert_failed("bolt2-commitment-signed-htlc-count");
}

/// One signature too many is a count violation too.
#[test]
fn bolt2_commitment_signed_htlc_count_extra() {
    let mut fx = Fx::new(300_000_000);
    let mut cs = add_from_1_and_take_commit(&mut fx);
    cs.htlc_signatures.push(wrong_signature());
    fx.misbehave(&cs.into());
    fx.assert_failed("bolt2-commitment-signed-htlc-count");
}

/// "if any `htlc_signature` is not valid for the corresponding HTLC
/// transaction: MUST fail the channel."
#[test]
fn bolt2_commitment_signed_htlc_sig() {
    let mut fx = Fx::new(300_000_000);
    let mut cs = add_from_1_and_take_commit(&mut fx);
    cs.htlc_signatures[0] = wrong_signature();
    fx.misbehave(&cs.into());
    fx.assert_failed("bolt2-commitment-signed-htlc-sig");
}

/// A commitment signature that does not even parse (r = s = 0xff..).
#[test]
fn bolt2_commitment_signed_sig_malformed() {
    let mut fx = Fx::new(300_000_000);
    let mut cs = add_from_1_and_take_commit(&mut fx);
    cs.signature = WireSignature([0xff; 64]);
    fx.misbehave(&cs.into());
    fx.assert_failed("bolt2-commitment-signed-sig");
}

// ---------------------------------------------------------------------
// revoke_and_ack
// ---------------------------------------------------------------------

/// Node 0 pays node 1; its add and `commitment_signed` reach node 1, whose
/// real `revoke_and_ack` is returned for tampering (node 0 has not seen it).
fn raa_from_1(fx: &mut Fx) -> RevokeAndAck {
    let sent = fx.start_payment(0, 1, HTLC_MSAT);
    for m in &sent {
        deliver(&fx.net, 1, fx.n0, m);
    }
    let back = take_msgs(&fx.net, 1);
    find(&back, |m| match m {
        Message::RevokeAndAck(r) => Some(r.clone()),
        _ => None,
    })
}

/// The baseline: node 1's real `revoke_and_ack` is accepted.
#[test]
fn real_revoke_and_ack_is_accepted() {
    let mut fx = Fx::new(0);
    let raa = raa_from_1(&mut fx);
    fx.misbehave(&raa.into());
    fx.assert_open();
}

/// "if `per_commitment_secret` does not generate the previous
/// `per_commitment_point`: MUST fail the channel."
#[test]
fn bolt2_raa_secret() {
    let mut fx = Fx::new(0);
    let mut raa = raa_from_1(&mut fx);
    raa.per_commitment_secret = [0x11; 32];
    fx.misbehave(&raa.into());
    fx.assert_failed("bolt2-raa-secret");
}

/// No HTLC is lost with the channel: the HTLC of `bolt2_raa_secret` was
/// only in the peer's (unrevoked) commitment; once our commitment, which
/// does not hold it, is confirmed deep enough, the payment must fail back
/// to the wallet rather than stay pending forever.
#[test]
fn htlc_missing_from_our_confirmed_commitment_fails_the_payment() {
    let mut fx = Fx::new(0);
    let mut raa = raa_from_1(&mut fx);
    raa.per_commitment_secret = [0x11; 32];
    fx.misbehave(&raa.into());
    let tx = fx.assert_failed("bolt2-raa-secret");
    assert!(!has_output(&tx, HTLC_MSAT / 1000));
    fx.net.mine(7);
    assert_eq!(fx.net.chain.confirmations(&tx.compute_txid()), Some(7));
    // The HTLC's expiry is far ahead; the peer's commitment can no longer
    // confirm, so nothing but a failure can come.
    let events = fx.net.take_events(0);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::PaymentFailed { .. })),
        "payment still pending after our commitment confirmed: {events:?}"
    );
}

/// The same HTLC across a restart: the parked HTLC is persisted with the
/// manager, before and after our commitment starts confirming, so the
/// payment still fails back once the commitment is deep enough.
#[test]
fn htlc_missing_from_our_confirmed_commitment_fails_the_payment_across_restarts() {
    for mined_before_restart in [0, 1, 3] {
        let mut fx = Fx::new(0);
        let mut raa = raa_from_1(&mut fx);
        raa.per_commitment_secret = [0x11; 32];
        fx.misbehave(&raa.into());
        let tx = fx.assert_failed("bolt2-raa-secret");
        fx.net.mine(mined_before_restart);
        fx.net.pump();
        fx.net.restart(0);
        fx.net.take_events(0);
        fx.net.mine(7 - mined_before_restart);
        assert_eq!(fx.net.chain.confirmations(&tx.compute_txid()), Some(7));
        let events = fx.net.take_events(0);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::PaymentFailed { .. })),
            "{mined_before_restart} blocks before the restart: payment still pending: {events:?}"
        );
    }
}

/// A reorg that takes our commitment out before it is 6 deep: the HTLC
/// must not be failed on the strength of a confirmation that is gone; it
/// fails once the commitment confirms again, 6 deep.
#[test]
fn htlc_missing_from_our_commitment_waits_again_after_a_reorg() {
    let mut fx = Fx::new(0);
    let mut raa = raa_from_1(&mut fx);
    raa.per_commitment_secret = [0x11; 32];
    fx.misbehave(&raa.into());
    let tx = fx.assert_failed("bolt2-raa-secret");
    let txid = tx.compute_txid();
    fx.net.mine(3);
    assert_eq!(fx.net.chain.confirmations(&txid), Some(3));
    fx.net.chain.reorg(3);
    for _ in 0..2 {
        fx.net.chain.mine_block_with(Vec::new());
    }
    fx.net.pump();
    // Six blocks above the first confirmation, but none holds it now.
    assert_eq!(fx.net.chain.confirmations(&txid), None);
    let failed = |events: &[Event]| {
        events
            .iter()
            .any(|e| matches!(e, Event::PaymentFailed { .. }))
    };
    let events = fx.net.take_events(0);
    assert!(
        !failed(&events),
        "failed on a reorged-out commitment: {events:?}"
    );
    fx.net.mine(6);
    assert_eq!(fx.net.chain.confirmations(&txid), Some(6));
    let events = fx.net.take_events(0);
    assert!(failed(&events), "payment still pending: {events:?}");
}

/// A secret that is not even a valid scalar (all 0xff).
#[test]
fn bolt2_raa_secret_not_a_key() {
    let mut fx = Fx::new(0);
    let mut raa = raa_from_1(&mut fx);
    raa.per_commitment_secret = [0xff; 32];
    fx.misbehave(&raa.into());
    fx.assert_failed("bolt2-raa-secret");
}

/// The right secret with a `next_per_commitment_point` that is no point.
#[test]
fn bolt2_raa_invalid_point() {
    let mut fx = Fx::new(0);
    let mut raa = raa_from_1(&mut fx);
    let mut p = [0xff; 33];
    p[0] = 0x02;
    raa.next_per_commitment_point = Point(p);
    fx.misbehave(&raa.into());
    fx.assert_failed("bolt2-raa-invalid-point");
}

/// A `revoke_and_ack` when we signed nothing it could acknowledge.
#[test]
fn bolt2_raa_unexpected() {
    let mut fx = Fx::new(0);
    let m = RevokeAndAck {
        channel_id: fx.chan,
        per_commitment_secret: [0x11; 32],
        next_per_commitment_point: point(8),
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    fx.assert_failed("bolt2-raa-unexpected");
}

/// The real `revoke_and_ack` delivered twice: the second acknowledges
/// nothing.
#[test]
fn bolt2_raa_unexpected_replayed() {
    let mut fx = Fx::new(0);
    let raa = raa_from_1(&mut fx);
    fx.net.hook(0, 1, Hook::Hold);
    fx.inject(&raa.clone().into());
    fx.misbehave(&raa.into());
    fx.assert_failed("bolt2-raa-unexpected");
}

// ---------------------------------------------------------------------
// update_fee
// ---------------------------------------------------------------------

fn fee(chan: ChannelId, feerate_per_kw: u32) -> Message {
    UpdateFee {
        channel_id: chan,
        feerate_per_kw,
        unknown_tlvs: Default::default(),
    }
    .into()
}

/// "if the sender is not responsible for paying the Bitcoin fee: MUST fail
/// the channel." (node 0 funded this channel).
#[test]
fn bolt2_update_fee_not_funder() {
    let mut fx = Fx::new(300_000_000);
    let m = fee(fx.chan, 300);
    fx.misbehave(&m);
    fx.assert_failed("bolt2-update-fee-not-funder");
}

/// A channel node 1 funds, pushing `push_msat` to node 0.
fn funded_by_1(value_sat: u64, push_msat: u64) -> Fx {
    Fx::with([UserConfig::default(); 2], 1, value_sat, push_msat)
}

/// The baseline: a reasonable `update_fee` from the funder is accepted.
#[test]
fn update_fee_from_funder_is_accepted() {
    let mut fx = funded_by_1(1_000_000, 0);
    fx.net.node(0).fee_estimator.set(2_000);
    let m = fee(fx.chan, 1_000);
    fx.misbehave(&m);
    fx.assert_open();
}

/// "if the `update_fee` is too low for timely processing ...: SHOULD fail
/// the channel" (below the 253 sat/kW floor).
#[test]
fn bolt2_update_fee_too_low() {
    let mut fx = funded_by_1(1_000_000, 0);
    let m = fee(fx.chan, 252);
    fx.misbehave(&m);
    fx.assert_failed("bolt2-update-fee-too-low");
}

/// "... OR is unreasonably large: SHOULD fail the channel" (above our
/// maximum estimate).
#[test]
fn bolt2_update_fee_too_high() {
    let mut fx = funded_by_1(1_000_000, 0);
    fx.net.node(0).fee_estimator.set(1_000);
    let m = fee(fx.chan, 1_000_001);
    fx.misbehave(&m);
    fx.assert_failed("bolt2-update-fee-too-high");
}

/// "if the sender cannot afford the new fee rate on the receiving node's
/// current commitment transaction: SHOULD fail the channel": node 1 keeps
/// 5_000 sat of 100_000 and proposes 20_000 sat/kW (over 22_000 sat of
/// fee).
#[test]
fn bolt2_update_fee_afford() {
    let mut fx = funded_by_1(100_000, 95_000_000);
    fx.net.node(0).fee_estimator.set(100_000);
    let m = fee(fx.chan, 20_000);
    fx.misbehave(&m);
    fx.assert_failed("bolt2-update-fee-afford");
}

// ---------------------------------------------------------------------
// shutdown / closing_signed
// ---------------------------------------------------------------------

/// "if the `scriptpubkey` is not in one of the above forms: SHOULD send a
/// `warning`" (current BOLT 2; older text said "fail the connection"): a
/// warning naming the rule, and the channel stays open.
#[test]
fn bolt2_shutdown_script_form() {
    let mut fx = Fx::new(300_000_000);
    let m = shutdown(
        fx.chan,
        ScriptBuf::from_bytes(vec![0x00, 0x05, 1, 2, 3, 4, 5]),
    );
    let out = reaction(&mut fx, &m);
    assert!(
        out.iter().any(|r| matches!(
            r,
            Message::Warning(w) if w.channel_id == fx.chan
                && String::from_utf8_lossy(&w.data.0).contains("scriptpubkey")
        )),
        "no warning: {out:?}"
    );
    fx.net.pump();
    fx.assert_open();
}

/// "if there are updates pending on the receiving node's commitment
/// transaction: MUST NOT send a `shutdown`" (an unsigned add is pending).
#[test]
fn bolt2_shutdown_pending_updates() {
    let mut fx = Fx::new(300_000_000);
    let a = fx.add(0, 1_000_000, fx.cltv());
    fx.inject(&a);
    let m = shutdown(fx.chan, p2wpkh(4));
    fx.misbehave(&m);
    fx.assert_failed("bolt2-shutdown-pending-updates");
}

/// A second `shutdown` with another script.
#[test]
fn bolt2_shutdown_script_changed() {
    let mut fx = Fx::new(300_000_000);
    fx.htlc_0_to_1(HTLC_MSAT);
    fx.net.hook(0, 1, Hook::Hold);
    fx.inject(&shutdown(fx.chan, p2wpkh(4)));
    let m = shutdown(fx.chan, p2wpkh(5));
    fx.misbehave(&m);
    let tx = fx.assert_failed("bolt2-shutdown-script-changed");
    assert!(has_output(&tx, HTLC_MSAT / 1000), "HTLC missing: {tx:?}");
}

/// `closing_signed` in normal operation (no `shutdown` exchanged).
#[test]
fn bolt2_closing_signed_early() {
    let mut fx = Fx::new(300_000_000);
    let m = ClosingSigned {
        channel_id: fx.chan,
        fee_satoshis: 1_000,
        signature: wrong_signature(),
        fee_range: None,
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    fx.assert_failed("bolt2-closing-signed-early");
}

// ---------------------------------------------------------------------
// channel_reestablish
// ---------------------------------------------------------------------

fn init() -> Init {
    Init {
        global_features: InitFeatures::empty(),
        features: lnkit::manager::provided_init_features(&UserConfig::default()),
        networks: None,
        remote_addr: None,
        unknown_tlvs: Default::default(),
    }
}

/// After one settled payment (so revocations were exchanged), drops the
/// connection and reconnects the two managers directly (not through
/// their `PeerManager`s): returns node 1's real `channel_reestablish`,
/// which node 0 waits for.
fn reconnect_and_take_reestablish(fx: &mut Fx) -> ChannelReestablish {
    let inv = fx
        .net
        .node(1)
        .manager
        .create_bolt11_invoice(Some(10_000_000), "x", 3600)
        .expect("invoice");
    fx.net.pay_invoice(0, &inv).expect("payment settles");
    fx.net.take_events(0);
    fx.net.disconnect(0, 1);
    fx.net
        .node(1)
        .manager
        .peer_connected(fx.n0, &init(), false)
        .expect("node 1 accepts");
    let r1 = find(&take_msgs(&fx.net, 1), |m| match m {
        Message::ChannelReestablish(r) => Some(r.clone()),
        _ => None,
    });
    fx.net
        .node(0)
        .manager
        .peer_connected(fx.n1, &init(), true)
        .expect("node 0 accepts");
    take_msgs(&fx.net, 0);
    assert!(r1.next_revocation_number > 0);
    r1
}

/// The baseline: node 1's real `channel_reestablish` resumes the channel.
#[test]
fn real_reestablish_is_accepted() {
    let mut fx = Fx::new(0);
    let r1 = reconnect_and_take_reestablish(&mut fx);
    fx.misbehave(&r1.into());
    fx.assert_open();
}

/// "if it supports `option_static_remotekey`: if
/// `your_last_per_commitment_secret` does not match the expected values:
/// SHOULD send an `error` and fail the channel."
#[test]
fn bolt2_reestablish_secret() {
    let mut fx = Fx::new(0);
    let mut r1 = reconnect_and_take_reestablish(&mut fx);
    r1.your_last_per_commitment_secret = [0x11; 32];
    fx.misbehave(&r1.into());
    fx.assert_failed("bolt2-reestablish-secret");
}

/// A `next_revocation_number` ahead of us without the secret to prove it:
/// the peer is lying or broken, not us behind; we fail and broadcast.
#[test]
fn bolt2_reestablish_secret_claimed_ahead() {
    let mut fx = Fx::new(0);
    let mut r1 = reconnect_and_take_reestablish(&mut fx);
    r1.next_revocation_number += 5;
    r1.your_last_per_commitment_secret = [0x11; 32];
    fx.misbehave(&r1.into());
    fx.assert_failed("bolt2-reestablish-secret");
}

/// "if `next_commitment_number` is not 1 greater than the commitment
/// number of the last `commitment_signed` ...: SHOULD fail the channel"
/// (the peer is behind: it expects a commitment we signed long ago).
#[test]
fn bolt2_reestablish_peer_behind() {
    let mut fx = Fx::new(0);
    let mut r1 = reconnect_and_take_reestablish(&mut fx);
    r1.next_commitment_number = 1;
    fx.misbehave(&r1.into());
    fx.assert_failed("bolt2-reestablish-peer-behind");
}

/// After a reconnection, anything before the peer's `channel_reestablish`
/// ("MUST wait to receive the other node's `channel_reestablish` message
/// before sending any other messages for that channel").
#[test]
fn bolt2_reestablish_first() {
    let mut fx = Fx::new(0);
    let _r1 = reconnect_and_take_reestablish(&mut fx);
    let m = fx.add(0, 1_000_000, fx.cltv());
    fx.misbehave(&m);
    fx.assert_failed("bolt2-reestablish-first");
}

/// The peer claims a `next_commitment_number` far ahead while its
/// `next_revocation_number` and secret prove our current commitment is not
/// revoked. Broadcasting it is safe then, and we must: a close without
/// broadcast leaves our funds to the peer's goodwill (it can simply never
/// broadcast). Only a *proven* revocation (next test) forbids it.
#[test]
fn reestablish_unproven_commitment_claim_still_broadcasts() {
    let mut fx = Fx::new(0);
    let mut r1 = reconnect_and_take_reestablish(&mut fx);
    r1.next_commitment_number += 5;
    fx.misbehave(&r1.into());
    let events = fx.net.take_events(0);
    assert!(
        closed_reason(&events, fx.chan).is_some(),
        "not closed: {events:?}"
    );
    assert_eq!(
        fx.funding_spends().len(),
        1,
        "our commitment was not broadcast"
    );
}

/// A `channel_reestablish` in the middle of normal operation.
#[test]
fn bolt2_reestablish_unexpected() {
    let mut fx = Fx::new(0);
    let m = ChannelReestablish {
        channel_id: fx.chan,
        next_commitment_number: 1,
        next_revocation_number: 0,
        your_last_per_commitment_secret: [0; 32],
        my_current_per_commitment_point: point(8),
        next_funding: None,
        my_current_funding_locked: None,
        unknown_tlvs: Default::default(),
    };
    fx.misbehave(&m.into());
    fx.assert_failed("bolt2-reestablish-unexpected");
}

/// Every record of a node's monitor store.
fn store_records(store: &dyn lnkit::persist::KVStore) -> Vec<(String, String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in store.list(lnkit::persist::MONITOR_NAMESPACE).expect("list") {
        let v = store
            .read(lnkit::persist::MONITOR_NAMESPACE, &key)
            .expect("read");
        let ns = format!("upd_{key}");
        out.push((lnkit::persist::MONITOR_NAMESPACE.to_string(), key, v));
        for k in store.list(&ns).expect("list") {
            let v = store.read(&ns, &k).expect("read");
            out.push((ns.clone(), k, v));
        }
    }
    out
}

/// "if `next_revocation_number` is greater than expected above, AND
/// `your_last_per_commitment_secret` is correct for that
/// `next_revocation_number` minus 1: MUST NOT broadcast its commitment
/// transaction." Node 0 is restored from a backup two payments old; node 1
/// proves it.
#[test]
fn bolt2_reestablish_we_lost_data() {
    let mut fx = Fx::new(0);
    let pay = |fx: &mut Fx| {
        let inv = fx
            .net
            .node(1)
            .manager
            .create_bolt11_invoice(Some(10_000_000), "x", 3600)
            .expect("invoice");
        fx.net.pay_invoice(0, &inv).expect("payment settles");
    };
    pay(&mut fx);
    // The backup: the manager and every monitor record, at one instant.
    let old_manager = fx.net.node(0).manager.encode();
    let old_store = store_records(&*fx.net.node(0).persister.store);
    pay(&mut fx);
    pay(&mut fx);
    // Restore it.
    let store = fx.net.node(0).persister.store.clone();
    for (ns, k, _) in store_records(&*store) {
        lnkit::persist::KVStore::remove(&*store, &ns, &k).expect("remove");
    }
    for (ns, k, v) in &old_store {
        lnkit::persist::KVStore::write(&*store, ns, k, v).expect("write");
    }
    fx.net.node_mut(0).saved_manager = old_manager;
    fx.net.restart(0);
    fx.net.take_events(0);
    // Node 1 must not hear that node 0 is behind (it would close and put
    // its own commitment on the chain).
    fx.net.hook(0, 1, Hook::Hold);
    fx.net.connect(0, 1);
    let events = fx.net.take_events(0);
    assert_eq!(
        closed_reason(&events, fx.chan),
        Some(ClosureReason::DataLossDetected),
        "events: {events:?}"
    );
    assert!(
        fx.funding_spends().is_empty(),
        "a node that lost data broadcast its (revoked) commitment"
    );
    assert!(!fx.channel_listed());
}

// ---------------------------------------------------------------------
// Unknown channels and wrong-phase messages
// ---------------------------------------------------------------------

/// One message of every channel type, for `channel_id` `id`.
fn messages_for(id: ChannelId) -> Vec<Message> {
    let mut g = SampleRng::new(7);
    let mut out: Vec<Message> = Vec::new();
    let mut add = UpdateAddHtlc::sample(&mut g);
    add.channel_id = id;
    out.push(add.into());
    let mut x = UpdateFulfillHtlc::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = UpdateFailHtlc::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = UpdateFailMalformedHtlc::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = CommitmentSigned::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = RevokeAndAck::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = UpdateFee::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = ChannelReestablish::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = ChannelReady::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = Shutdown::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = Stfu::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = FundingSigned::sample(&mut g);
    x.channel_id = id;
    out.push(x.into());
    let mut x = FundingCreated::sample(&mut g);
    x.temporary_channel_id = id;
    out.push(x.into());
    let mut x = AcceptChannel::sample(&mut g);
    x.temporary_channel_id = id;
    out.push(x.into());
    out
}

/// Node 0's messages to node 1 after `msg` (taken from its manager).
fn reaction(fx: &mut Fx, msg: &Message) -> Vec<Message> {
    fx.inject(msg);
    take_msgs(&fx.net, 0)
}

fn names_channel(m: &Message, id: ChannelId) -> bool {
    matches!(m, Message::Error(e) if e.channel_id == id)
}

/// BOLT 1: "SHOULD send `error` with the unknown `channel_id` in reply to
/// messages of type `32`-`255` related to unknown channels", and that
/// closes nothing else. The channel then still pays.
#[test]
fn unknown_channel_messages_get_an_error_and_close_nothing() {
    let mut fx = Fx::new(300_000_000);
    let unknown = ChannelId([0x99; 32]);
    let mut silent = Vec::new();
    for m in messages_for(unknown) {
        let out = reaction(&mut fx, &m);
        if !out.iter().any(|r| names_channel(r, unknown)) {
            silent.push(m.name());
        }
        assert!(
            !out.iter().any(|r| names_channel(r, fx.chan)),
            "{} for an unknown channel made us fail ours",
            m.name()
        );
    }
    assert!(silent.is_empty(), "no error for: {silent:?}");
    fx.net.pump();
    fx.assert_open();
    // Node 1 gets our errors (for a channel it does not have either).
    fx.net.release(0, 1, false);
    let inv = fx
        .net
        .node(1)
        .manager
        .create_bolt11_invoice(Some(10_000_000), "after", 3600)
        .expect("invoice");
    fx.net.pay_invoice(0, &inv).expect("the channel still pays");
}

/// `closing_signed` for a channel we do not have gets an `error` too.
#[test]
fn unknown_channel_closing_signed_gets_an_error() {
    let mut fx = Fx::new(0);
    let unknown = ChannelId([0x99; 32]);
    let mut m = ClosingSigned::sample(&mut SampleRng::new(3));
    m.channel_id = unknown;
    let out = reaction(&mut fx, &m.into());
    assert!(
        out.iter().any(|r| names_channel(r, unknown)),
        "no error: {out:?}"
    );
}

/// A wrong-phase message naming a live channel must not leave the two
/// nodes disagreeing. BOLT 1: "when sending `error`: MUST fail the
/// channel(s) referred to by the error message" (and the peer fails it on
/// receipt). So if node 0 answers with an `error` naming the channel, node
/// 0 must have failed it too, broadcasting its commitment; otherwise the
/// channel must stay listed and no `error` may name it.
fn assert_consistent_reaction(fx: &mut Fx, msg: Message) {
    let out = reaction(fx, &msg);
    fx.net.pump();
    let events = fx.net.take_events(0);
    let closed = closed_reason(&events, fx.chan);
    let errored = out.iter().any(|r| names_channel(r, fx.chan));
    match (errored, closed) {
        (false, None) => {
            assert!(
                fx.channel_listed(),
                "{}: channel forgotten silently",
                msg.name()
            );
            assert!(fx.funding_spends().is_empty());
        }
        (true, Some(_)) => assert_eq!(fx.funding_spends().len(), 1),
        (errored, closed) => panic!(
            "{}: error sent naming the channel: {errored}, closed: {closed:?}, still listed: {}",
            msg.name(),
            fx.channel_listed()
        ),
    }
}

/// `funding_signed` for a channel already in normal operation.
#[test]
fn wrong_phase_funding_signed_for_funded_channel() {
    let mut fx = Fx::new(0);
    let mut m = FundingSigned::sample(&mut SampleRng::new(1));
    m.channel_id = fx.chan;
    assert_consistent_reaction(&mut fx, m.into());
}

/// `accept_channel` whose temporary id is a funded channel's id.
#[test]
fn wrong_phase_accept_channel_for_funded_channel() {
    let mut fx = Fx::new(0);
    let mut m = AcceptChannel::sample(&mut SampleRng::new(1));
    m.temporary_channel_id = fx.chan;
    assert_consistent_reaction(&mut fx, m.into());
}

/// `funding_created` whose temporary id is a funded channel's id: the
/// funded channel must not be dropped from the manager.
#[test]
fn wrong_phase_funding_created_for_funded_channel() {
    let mut fx = Fx::new(0);
    let mut m = FundingCreated::sample(&mut SampleRng::new(1));
    m.temporary_channel_id = fx.chan;
    assert_consistent_reaction(&mut fx, m.into());
}

/// `open_channel` reusing a funded channel's id as its temporary id.
#[test]
fn wrong_phase_open_channel_reusing_a_channel_id() {
    let mut fx = Fx::new(0);
    let mut m = OpenChannel::sample(&mut SampleRng::new(1));
    m.temporary_channel_id = fx.chan;
    m.chain_hash = lnkit::bitcoin::blockdata::constants::ChainHash::using_genesis_block(
        lnkit::bitcoin::Network::Regtest,
    );
    assert_consistent_reaction(&mut fx, m.into());
}

/// `commitment_signed` for a channel whose funding is not yet confirmed
/// (before `channel_ready`).
#[test]
fn wrong_phase_commitment_signed_before_channel_ready() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let n1 = net.node(1).node_id;
    let temp = net
        .node(0)
        .manager
        .create_channel(n1, 500_000, 0, 0, None)
        .expect("create_channel");
    net.pump();
    let script = net
        .take_events(0)
        .into_iter()
        .find_map(|e| match e {
            Event::FundingGenerationReady { output_script, .. } => Some(output_script),
            _ => None,
        })
        .expect("FundingGenerationReady");
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([0xaa; 32]), 0),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(500_000),
            script_pubkey: script,
        }],
    };
    net.node(0)
        .manager
        .funding_transaction_generated(&temp, &n1, tx)
        .expect("funding accepted");
    net.pump();
    let details = net.node(0).manager.list_channels();
    assert_eq!(details.len(), 1);
    assert!(!details[0].is_channel_ready);
    let funding = details[0].funding_txo.expect("funded");
    let mut fx = Fx {
        chan: details[0].channel_id,
        funding,
        n0: net.node(0).node_id,
        n1,
        net,
    };
    fx.net.take_events(0);
    let mut m = CommitmentSigned::sample(&mut SampleRng::new(1));
    m.channel_id = fx.chan;
    assert_consistent_reaction(&mut fx, m.into());
}

// ---------------------------------------------------------------------
// ChannelManager::read on damaged bytes, and the fuzz seeds
// ---------------------------------------------------------------------

mod read {
    use super::*;
    use lnkit::chain::monitor::{ChainMonitor, ChannelMonitor};
    use lnkit::gossip::NodeId;
    use lnkit::logger::NullLogger;
    use lnkit::manager::fuzz::fuzz_manager_read;
    use lnkit::manager::{ChannelManager, ChannelManagerDeps};
    use lnkit::persist::MonitorUpdatingPersister;
    use lnkit::routing::{FirstHop, InFlightHtlcs, Route, RouteError, Router};
    use lnkit::testing::{TestBroadcaster, TestFeeEstimator, TestLogger, TestPersister};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::path::PathBuf;
    use std::sync::Arc;

    struct NoRoute;
    impl Router for NoRoute {
        fn find_route(
            &self,
            _: &NodeId,
            _: &RouteParameters,
            _: Option<&[FirstHop]>,
            _: InFlightHtlcs,
        ) -> Result<Route, RouteError> {
            Err(RouteError::NoRoute)
        }
    }

    /// A fresh dependency set over node `i`'s keys (so its channel
    /// signers are restored).
    fn deps(fx: &Fx, i: usize) -> ChannelManagerDeps {
        let keys = fx.net.node(i).keys.clone();
        let fee = Arc::new(TestFeeEstimator::new(253));
        let logger = Arc::new(TestLogger::new());
        let broadcaster = Arc::new(TestBroadcaster::new());
        let chain_monitor = Arc::new(ChainMonitor::new(
            None,
            broadcaster.clone(),
            logger.clone(),
            fee.clone(),
            Arc::new(TestPersister::new()),
        ));
        ChannelManagerDeps {
            fee_estimator: fee,
            chain_monitor,
            broadcaster,
            router: Arc::new(NoRoute),
            logger,
            entropy_source: keys.clone(),
            node_signer: keys.clone(),
            signer_provider: keys,
        }
    }

    fn monitors(fx: &Fx, i: usize) -> Vec<ChannelMonitor> {
        let node = fx.net.node(i);
        MonitorUpdatingPersister::new(node.persister.store.clone(), 100)
            .read_all_monitors(
                &*node.keys,
                &TestBroadcaster::new(),
                &*node.fee_estimator,
                &NullLogger,
            )
            .expect("monitors read")
    }

    /// Node 0 of a channel with an HTLC in flight to node 1.
    fn with_htlc() -> Fx {
        let mut fx = Fx::new(0);
        fx.htlc_0_to_1(HTLC_MSAT);
        fx
    }

    #[test]
    fn truncations_and_bit_flips_never_panic_read() {
        let fx = with_htlc();
        let bytes = fx.net.node(0).manager.encode();
        let mons = monitors(&fx, 0);
        let config = UserConfig::default();
        let read = |b: &[u8]| ChannelManager::read(b, deps(&fx, 0), config, mons.iter().collect());
        let whole = read(&bytes).expect("the real bytes read back");
        assert_eq!(whole.list_channels().len(), 1);
        assert_eq!(whole.encode(), bytes, "read then encode is the identity");
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(
                &(0..bytes.len(), 0..bytes.len(), 1u8..=255),
                |(cut, pos, mask)| {
                    // Every field is mandatory: any truncation is an error.
                    prop_assert!(read(&bytes[..cut]).is_err(), "truncated at {} read", cut);
                    let mut flipped = bytes.clone();
                    flipped[pos] ^= mask;
                    if let Ok(m) = read(&flipped) {
                        let _ = m.encode();
                        let _ = m.list_channels();
                    }
                    Ok(())
                },
            )
            .expect("no panic, truncations refused");
    }

    /// Bytes of format version 1 (no parked-HTLC section) still read, and
    /// are written back as version 2.
    #[test]
    fn version_1_bytes_still_read() {
        let fx = with_htlc();
        let bytes = fx.net.node(0).manager.encode();
        assert_eq!(&bytes[..2], &[2, 2], "version, oldest reader");
        assert_eq!(&bytes[bytes.len() - 4..], &[0; 4], "no parked HTLCs");
        let mut v1 = vec![1, 1];
        v1.extend_from_slice(&bytes[2..bytes.len() - 4]);
        let mons = monitors(&fx, 0);
        let m = ChannelManager::read(
            &v1,
            deps(&fx, 0),
            UserConfig::default(),
            mons.iter().collect(),
        )
        .expect("version 1 reads");
        assert_eq!(m.list_channels().len(), 1);
        assert_eq!(m.encode(), bytes);
        // A reader of version 2 refuses bytes that need a newer one.
        let mut newer = bytes.clone();
        newer[1] = 3;
        assert!(ChannelManager::read(
            &newer,
            deps(&fx, 0),
            UserConfig::default(),
            mons.iter().collect()
        )
        .is_err());
    }

    /// Every byte of a real encoding flipped (lowest and highest bit), one
    /// at a time: `read` never panics, nor does using what it accepted.
    /// (Found: a flipped high byte of a persisted `channel_reserve_satoshis`
    /// was accepted and overflowed `list_channels`.)
    #[test]
    fn every_byte_flipped_never_panics() {
        let fx = with_htlc();
        let bytes = fx.net.node(0).manager.encode();
        let mons = monitors(&fx, 0);
        let config = UserConfig::default();
        let mut panicked = Vec::new();
        for pos in 0..bytes.len() {
            for bit in [0u8, 7] {
                let mut f = bytes.clone();
                f[pos] ^= 1 << bit;
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    if let Ok(m) =
                        ChannelManager::read(&f, deps(&fx, 0), config, mons.iter().collect())
                    {
                        let _ = m.list_channels();
                        let _ = m.encode();
                    }
                }));
                if r.is_err() {
                    panicked.push((pos, bit));
                }
            }
        }
        assert!(panicked.is_empty(), "panics at (byte, bit): {panicked:?}");
    }

    fn seed_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/manager_read")
    }

    #[test]
    fn manager_read_seeds_pass() {
        let mut n = 0;
        for entry in std::fs::read_dir(seed_dir()).expect("seed dir exists") {
            let data = std::fs::read(entry.expect("entry").path()).expect("readable seed");
            fuzz_manager_read(&data);
            for cut in 0..data.len().min(600) {
                fuzz_manager_read(&data[..cut]);
            }
            for i in (0..data.len()).step_by(11) {
                let mut flipped = data.clone();
                flipped[i] ^= 0x01;
                fuzz_manager_read(&flipped);
            }
            n += 1;
        }
        assert!(n >= 3, "manager_read has {n} seeds");
    }

    /// Regenerates `fuzz/seeds/manager_read/`:
    /// `cargo test --test manager_hostile -- --ignored regenerate_manager_read_seeds`.
    #[test]
    #[ignore]
    fn regenerate_manager_read_seeds() {
        let dir = seed_dir();
        std::fs::create_dir_all(&dir).expect("seed dir");
        let write = |name: &str, b: Vec<u8>| std::fs::write(dir.join(name), b).expect("write");
        write("empty", Network::new(1).node(0).manager.encode());
        let mut fx = with_htlc();
        write("payer_htlc_in_flight", fx.net.node(0).manager.encode());
        write("payee_htlc_claimable", fx.net.node(1).manager.encode());
        // No channel left (force-closed), one payment still pending: with
        // no monitors this one reads through every section.
        let n1 = fx.n1;
        fx.net
            .node(0)
            .manager
            .force_close_broadcasting_latest_txn(&fx.chan, &n1)
            .expect("force close");
        fx.net.pump();
        write("payer_after_force_close", fx.net.node(0).manager.encode());
    }
}
