//! The two-channel harness of the `channel::funded` tests: both sides of
//! a channel wired directly, every message through the codec, every
//! monitor update applied to a real `ChannelMonitor`.
#![allow(dead_code)]

#[path = "../establish_common/mod.rs"]
pub mod establish_common;

pub use establish_common::*;
use lnkit::chain::monitor::ChannelMonitor;
use lnkit::channel::establish::{FundedChannel, PendingV1Channel};
use lnkit::channel::funded::{Channel, HtlcEvent, HtlcToSend, InboundResolution, Outcome};
use lnkit::channel::MilliSatoshi;
use lnkit::config::ChannelConfig;
use lnkit::msgs::{ChannelReady, Message, OnionPacket};
use lnkit::sign::KeysManager;
use lnkit::testing::{TestBroadcaster, TestFeeEstimator, TestLogger};
use lnkit::types::{PaymentPreimage, ShortChannelId};

pub struct Node {
    pub chan: Channel,
    pub monitor: ChannelMonitor,
    pub events: Vec<HtlcEvent>,
    pub keys: KeysManager,
}

pub struct Pair {
    pub a: Node,
    pub b: Node,
    /// Messages in flight: (from_a, msg).
    pub wire: Vec<(bool, Message)>,
}

pub fn dummy_ready(c: &FundedChannel) -> ChannelReady {
    ChannelReady {
        channel_id: c.channel_id,
        second_per_commitment_point: c.counterparty_next_point.into(),
        short_channel_id: None,
        unknown_tlvs: Default::default(),
    }
}

pub fn onion() -> OnionPacket {
    OnionPacket {
        version: 0,
        public_key: [2; 33],
        hop_data: [7; 1300],
        hmac: [3; 32],
    }
}

/// The handshake up to both `PendingV1Channel`s (before `channel_ready`).
pub struct PendingPair {
    pub pa: PendingV1Channel,
    pub pb: PendingV1Channel,
    pub monitor_a: ChannelMonitor,
    pub monitor_b: ChannelMonitor,
}

pub fn pending_pair(s: &Setup) -> PendingPair {
    let (ka, kb) = (keys(1), keys(2));
    let mut a = s.outbound(&ka);
    let open = wire_open(a.open_channel().unwrap());
    let b = s.inbound(&kb, &open).expect("open_channel accepted");
    let accept = wire_accept(b.accept_channel().unwrap());
    a.accept_channel(&accept).expect("accept_channel accepted");
    let funding = funding_tx(a.funding_script_pubkey().unwrap(), s.value);
    let created = wire_created(a.funding_created(&funding, 1).unwrap());
    let (mut pb, signed, monitor_b) = b
        .funding_created(&created, best())
        .expect("funding_created");
    let (pa, monitor_a) = a
        .funding_signed(&wire_signed(signed), best())
        .expect("funding_signed");
    pb.set_outbound_scid_alias(ShortChannelId(0xabcdef));
    PendingPair {
        pa,
        pb,
        monitor_a,
        monitor_b,
    }
}

impl Pair {
    pub fn from_pending(p: PendingPair) -> Pair {
        let fa = p.pa.into_funded().expect("a ready");
        let fb = p.pb.into_funded().expect("b ready");
        let (ra, rb) = (dummy_ready(&fa), dummy_ready(&fb));
        Pair {
            a: Node {
                chan: Channel::from_funded(fa, ra, ChannelConfig::default()),
                monitor: p.monitor_a,
                events: vec![],
                keys: keys(1),
            },
            b: Node {
                chan: Channel::from_funded(fb, rb, ChannelConfig::default()),
                monitor: p.monitor_b,
                events: vec![],
                keys: keys(2),
            },
            wire: vec![],
        }
    }

    pub fn new(anchors: bool) -> Pair {
        let mut p = pending_pair(&Setup::new(anchors));
        let depth = p.pb.minimum_depth();
        ready(&mut p.pa, &mut p.pb, depth);
        Pair::from_pending(p)
    }

    pub fn node(&mut self, a: bool) -> &mut Node {
        if a {
            &mut self.a
        } else {
            &mut self.b
        }
    }

    pub fn apply(&mut self, from_a: bool, out: Outcome) {
        let n = self.node(from_a);
        if let Some(u) = &out.monitor_update {
            n.monitor
                .update_monitor(
                    u,
                    &TestBroadcaster::new(),
                    &TestFeeEstimator::new(253),
                    &TestLogger::new(),
                )
                .expect("monitor accepts the update");
        }
        n.events.extend(out.events);
        for m in out.msgs {
            self.wire.push((from_a, wire(m)));
        }
    }

    pub fn sign(&mut self, a: bool) {
        let out = self.node(a).chan.maybe_sign_commitment().unwrap();
        self.apply(a, out);
    }

    pub fn run(&mut self) {
        let mut rounds = 0;
        loop {
            self.sign(true);
            self.sign(false);
            if self.wire.is_empty() {
                break;
            }
            let msgs: Vec<_> = self.wire.drain(..).collect();
            for (from_a, m) in msgs {
                self.deliver(!from_a, m);
            }
            rounds += 1;
            assert!(rounds < 50, "the dance did not settle");
        }
    }

    pub fn deliver(&mut self, to_a: bool, m: Message) {
        let n = self.node(to_a);
        let out = match m {
            Message::UpdateAddHtlc(m) => n
                .chan
                .update_add_htlc(&m, 50_000)
                .map(|_| Outcome::default()),
            Message::UpdateFulfillHtlc(m) => n.chan.update_fulfill_htlc(&m),
            Message::UpdateFailHtlc(m) => n.chan.update_fail_htlc(&m).map(|_| Outcome::default()),
            Message::CommitmentSigned(m) => n.chan.commitment_signed(&m),
            Message::RevokeAndAck(m) => n.chan.revoke_and_ack(&m),
            Message::UpdateFee(m) => n
                .chan
                .update_fee(&m, 253, 50_000)
                .map(|_| Outcome::default()),
            Message::ChannelReady(_) => Ok(Outcome::default()),
            other => panic!("unexpected {}", other.name()),
        }
        .unwrap_or_else(|e| panic!("{e}"));
        self.apply(to_a, out);
    }

    pub fn pay(&mut self, from_a: bool, amount: u64, preimage: [u8; 32]) -> u64 {
        let p = PaymentPreimage(preimage);
        let (id, out) = self
            .node(from_a)
            .chan
            .send_htlc(
                HtlcToSend {
                    amount: MilliSatoshi(amount),
                    payment_hash: p.payment_hash(),
                    cltv_expiry: 500,
                    onion: onion(),
                    blinding_point: None,
                },
                50_000,
            )
            .unwrap();
        self.apply(from_a, out);
        id
    }

    /// Fulfills the committed inbound HTLCs whose preimage is known, fails
    /// the others.
    pub fn claim_all(&mut self, a: bool, preimages: &[PaymentPreimage]) {
        let evs: Vec<_> = self.node(a).events.drain(..).collect();
        for e in evs {
            if let HtlcEvent::InboundCommitted {
                htlc_id,
                payment_hash,
                ..
            } = e
            {
                let p = preimages
                    .iter()
                    .find(|p| p.payment_hash() == payment_hash)
                    .copied();
                let out = match p {
                    Some(p) => self.node(a).chan.fulfill_htlc(htlc_id, p).unwrap(),
                    None => self
                        .node(a)
                        .chan
                        .fail_htlc(
                            htlc_id,
                            InboundResolution::Fail {
                                reason: vec![1; 32],
                                attribution_data: None,
                            },
                        )
                        .unwrap(),
                };
                self.apply(a, out);
            } else {
                self.node(a).events.push(e);
            }
        }
    }

    /// Both sides restart: disconnected, written, read back from bytes
    /// (the messages in flight are lost), reconnected and reestablished.
    pub fn restart(&mut self) {
        self.wire.clear();
        self.a.chan.peer_disconnected();
        self.b.chan.peer_disconnected();
        for a in [true, false] {
            let n = self.node(a);
            let bytes = n.chan.encode();
            n.chan = Channel::read(&bytes, &n.keys).expect("a written channel reads back");
            assert!(!n.chan.is_live());
            assert_eq!(n.chan.encode(), bytes);
        }
        self.a.chan.peer_reconnected();
        self.b.chan.peer_reconnected();
        let ra = self.a.chan.reestablish_message().unwrap();
        let rb = self.b.chan.reestablish_message().unwrap();
        let out_a = self
            .a
            .chan
            .channel_reestablish(&rb)
            .map_err(|e| e.0)
            .unwrap();
        let out_b = self
            .b
            .chan
            .channel_reestablish(&ra)
            .map_err(|e| e.0)
            .unwrap();
        self.apply(true, out_a);
        self.apply(false, out_b);
        self.run();
    }
}

pub fn balances(p: &Pair) -> (u64, u64) {
    (p.a.chan.balance_msat(), p.b.chan.balance_msat())
}
