//! Shared helpers of the establishment tests: two KeysManager nodes, a
//! fixed fee estimator, the whole handshake through the codec, and the
//! checks of the resulting channels and monitors.
#![allow(dead_code)]

use lnkit::bitcoin::absolute::LockTime;
use lnkit::bitcoin::blockdata::constants::ChainHash;
use lnkit::bitcoin::hashes::Hash;
use lnkit::bitcoin::secp256k1::{ecdsa, Message as SecpMessage, Secp256k1};
use lnkit::bitcoin::sighash::{EcdsaSighashType, SighashCache};
use lnkit::bitcoin::transaction::Version;
use lnkit::bitcoin::{
    Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use lnkit::chain::monitor::ChannelMonitor;
use lnkit::chain::{BestBlock, ConfirmationTarget, FeeEstimator};
use lnkit::channel::establish::{
    ChannelError, FundedChannel, InboundV1Channel, OutboundV1Channel, PendingV1Channel,
};
use lnkit::channel::script::CommitmentFormat;
use lnkit::config::UserConfig;
use lnkit::msgs::features::InitFeatures;
use lnkit::msgs::{
    read_message, AcceptChannel, ChannelReady, FundingCreated, FundingSigned, Message, OpenChannel,
};
use lnkit::sign::KeysManager;
use lnkit::types::{ChannelId, Point, ShortChannelId};

/// A fee estimator answering `fee` for our own targets, 253 for the
/// floors and `max` for the maximum.
pub struct Fees {
    pub fee: u32,
    pub max: u32,
}
impl FeeEstimator for Fees {
    fn get_est_sat_per_1000_weight(&self, t: ConfirmationTarget) -> u32 {
        match t {
            ConfirmationTarget::MaximumFeeEstimate => self.max,
            ConfirmationTarget::MinAllowedAnchorChannelRemoteFee
            | ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => 253,
            _ => self.fee,
        }
    }
}

pub const FEES: Fees = Fees {
    fee: 1000,
    max: 50_000,
};

pub fn chain() -> ChainHash {
    ChainHash::using_genesis_block(Network::Regtest)
}
pub fn best() -> BestBlock {
    BestBlock::from_network(Network::Regtest)
}

pub fn features(anchors: bool) -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_static_remote_key_optional();
    if anchors {
        f.set_anchors_zero_fee_htlc_tx_optional();
    }
    f
}

pub fn keys(seed: u8) -> KeysManager {
    KeysManager::new(&[seed; 32], 1_700_000_000, seed as u32)
}

/// Encodes through `Message` and decodes back: every message of the
/// handshake crosses the codec.
pub fn wire<M: Into<Message>>(m: M) -> Message {
    let bytes = m.into().encode();
    read_message(&bytes).expect("our own message decodes")
}
pub fn wire_open(m: OpenChannel) -> OpenChannel {
    match wire(m) {
        Message::OpenChannel(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
pub fn wire_accept(m: AcceptChannel) -> AcceptChannel {
    match wire(m) {
        Message::AcceptChannel(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
pub fn wire_created(m: FundingCreated) -> FundingCreated {
    match wire(m) {
        Message::FundingCreated(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
pub fn wire_signed(m: FundingSigned) -> FundingSigned {
    match wire(m) {
        Message::FundingSigned(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
pub fn wire_ready(m: ChannelReady) -> ChannelReady {
    match wire(m) {
        Message::ChannelReady(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}

pub fn funding_tx(script: ScriptBuf, value: u64) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([7; 32]), 0),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![
            TxOut {
                value: Amount::from_sat(5_000),
                script_pubkey: ScriptBuf::from_bytes(vec![0x6a, 0x04, 1, 1, 1, 1]),
            },
            TxOut {
                value: Amount::from_sat(value),
                script_pubkey: script,
            },
        ],
    }
}

pub struct Setup {
    pub value: u64,
    pub push_msat: u64,
    pub anchors: bool,
    pub fees: Fees,
    pub a_config: UserConfig,
    pub b_config: UserConfig,
}

impl Setup {
    pub fn new(anchors: bool) -> Setup {
        let mut b_config = UserConfig::default();
        b_config.channel_handshake_config.minimum_depth = 3;
        Setup {
            value: 1_000_000,
            push_msat: 100_000_000,
            anchors,
            fees: Fees {
                fee: FEES.fee,
                max: FEES.max,
            },
            a_config: UserConfig::default(),
            b_config,
        }
    }
    pub fn outbound(&self, ka: &KeysManager) -> OutboundV1Channel {
        OutboundV1Channel::new(
            &self.fees,
            ka,
            ka,
            &features(self.anchors),
            self.value,
            self.push_msat,
            42,
            &self.a_config,
            chain(),
        )
        .expect("outbound channel")
    }
    pub fn inbound(
        &self,
        kb: &KeysManager,
        open: &OpenChannel,
    ) -> Result<InboundV1Channel, ChannelError> {
        InboundV1Channel::new_from_open_channel(
            &self.fees,
            kb,
            &features(self.anchors),
            open,
            43,
            &self.b_config,
            chain(),
        )
    }
}

pub struct Done {
    pub a: FundedChannel,
    pub b: FundedChannel,
    pub monitor_a: ChannelMonitor,
    pub monitor_b: ChannelMonitor,
    pub funding: Transaction,
}

/// The whole handshake, both sides, through the codec.
pub fn handshake(s: &Setup) -> Done {
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
    let signed = wire_signed(signed);
    let (mut pa, monitor_a) = a.funding_signed(&signed, best()).expect("funding_signed");
    assert_eq!(pa.channel_id(), pb.channel_id());
    assert_eq!(
        pa.channel_id(),
        ChannelId::from_funding_outpoint(&funding.compute_txid(), 1)
    );
    let depth = pb.minimum_depth();
    assert_eq!(
        depth,
        s.b_config.channel_handshake_config.minimum_depth.max(1)
    );
    assert_eq!(pa.minimum_depth(), depth);
    pb.set_outbound_scid_alias(ShortChannelId(0xabcdef));
    ready(&mut pa, &mut pb, depth);
    let a = pa.into_funded().expect("a ready");
    let b = pb.into_funded().expect("b ready");
    assert_eq!(a.counterparty_scid_alias, Some(ShortChannelId(0xabcdef)));
    Done {
        a,
        b,
        monitor_a,
        monitor_b,
        funding,
    }
}

pub fn ready(pa: &mut PendingV1Channel, pb: &mut PendingV1Channel, depth: u32) {
    // Not before minimum_depth.
    assert_eq!(pa.check_funding_depth(depth - 1).unwrap(), None);
    assert_eq!(pb.check_funding_depth(depth - 1).unwrap(), None);
    let ra = wire_ready(
        pa.check_funding_depth(depth)
            .unwrap()
            .expect("a ready at depth"),
    );
    let rb = wire_ready(
        pb.check_funding_depth(depth)
            .unwrap()
            .expect("b ready at depth"),
    );
    // Only once.
    assert_eq!(pa.check_funding_depth(depth + 1).unwrap(), None);
    assert!(!pa.is_ready());
    pa.channel_ready_received(&rb).unwrap();
    pb.channel_ready_received(&ra).unwrap();
    // A retransmission is accepted.
    pa.channel_ready_received(&rb).unwrap();
    assert!(pa.is_ready() && pb.is_ready());
}

/// The signed commitment spends the funding output: right outpoint, the
/// funding witness script hashes to the funding output's script, and both
/// signatures verify, in key order, against the BIP 143 sighash.
pub fn assert_spends_funding(tx: &Transaction, funding: &Transaction, vout: u32) {
    let secp = Secp256k1::verification_only();
    assert_eq!(tx.input.len(), 1);
    assert_eq!(
        tx.input[0].previous_output,
        OutPoint::new(funding.compute_txid(), vout)
    );
    let w: Vec<&[u8]> = tx.input[0].witness.iter().collect();
    assert_eq!(w.len(), 4);
    assert!(w[0].is_empty());
    let script = ScriptBuf::from_bytes(w[3].to_vec());
    let out = &funding.output[vout as usize];
    assert_eq!(script.to_p2wsh(), out.script_pubkey);
    let sighash = SighashCache::new(tx)
        .p2wsh_signature_hash(0, &script, out.value, EcdsaSighashType::All)
        .unwrap();
    let msg = SecpMessage::from_digest(sighash.to_byte_array());
    let bytes = script.as_bytes();
    // 2 <33-byte key> <33-byte key> 2 CHECKMULTISIG
    let k1 = lnkit::bitcoin::secp256k1::PublicKey::from_slice(&bytes[2..35]).unwrap();
    let k2 = lnkit::bitcoin::secp256k1::PublicKey::from_slice(&bytes[36..69]).unwrap();
    for (sig, key) in [(w[1], k1), (w[2], k2)] {
        assert_eq!(*sig.last().unwrap(), EcdsaSighashType::All as u8);
        let sig = ecdsa::Signature::from_der(&sig[..sig.len() - 1]).unwrap();
        secp.verify_ecdsa(&msg, &sig, &key)
            .expect("valid funding signature");
    }
    // Outputs don't exceed the funding value.
    let total: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
    assert!(total < out.value.to_sat());
}

pub fn check_done(s: &Setup, d: &Done) {
    let format = if s.anchors {
        CommitmentFormat::Anchors
    } else {
        CommitmentFormat::StaticRemoteKey
    };
    assert_eq!(d.a.params.format, format);
    assert_eq!(d.a.params, d.b.params.mirrored());
    assert_eq!(d.a.to_holder.0, s.value * 1000 - s.push_msat);
    assert_eq!(d.a.to_counterparty.0, s.push_msat);
    assert_eq!(d.a.to_holder, d.b.to_counterparty);
    assert_eq!(d.a.to_counterparty, d.b.to_holder);
    assert_eq!(d.a.feerate, d.b.feerate);
    assert_eq!(d.a.holder_limits, d.b.counterparty_limits);
    assert_eq!(d.b.holder_limits, d.a.counterparty_limits);
    // Each side's holder commitment is the one the other signed and watches.
    assert_eq!(
        d.monitor_b.counterparty_commitments()[0].txid,
        d.a.holder_commitment.txid()
    );
    assert_eq!(
        d.monitor_a.counterparty_commitments()[0].txid,
        d.b.holder_commitment.txid()
    );
    // The next points each side gave in channel_ready.
    assert_eq!(
        d.a.counterparty_next_point,
        d.b.signer
            .per_commitment_point(lnkit::channel::CommitmentNumber::new(1).unwrap())
            .unwrap()
    );
    assert_eq!(
        d.b.counterparty_next_point,
        d.a.signer
            .per_commitment_point(lnkit::channel::CommitmentNumber::new(1).unwrap())
            .unwrap()
    );
    for m in [&d.monitor_a, &d.monitor_b] {
        let txs = m.get_latest_holder_commitment_txn().unwrap();
        assert_eq!(txs.len(), 1);
        assert_spends_funding(&txs[0], &d.funding, 1);
    }
}

/// A 33-byte point with a valid prefix whose x coordinate is not on the curve.
pub fn bad_point() -> Point {
    let mut b = [0xff; 33];
    b[0] = 0x02;
    Point(b)
}
