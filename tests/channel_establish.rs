//! BOLT 2 v1 channel establishment: the full handshake between two
//! KeysManager-backed state machines (every message through the codec),
//! one test per enforced rule (named by its tag), phase errors, and a
//! property test over acceptable parameters.

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
use lnkit::msgs::features::{ChannelTypeFeatures, InitFeatures};
use lnkit::msgs::{
    read_message, AcceptChannel, ChannelReady, FundingCreated, FundingSigned, Message, OpenChannel,
};
use lnkit::sign::KeysManager;
use lnkit::types::{ChannelId, Point, ShortChannelId, WireSignature};
use proptest::prelude::*;

/// A fee estimator answering `fee` for our own targets, 253 for the
/// floors and `max` for the maximum.
struct Fees {
    fee: u32,
    max: u32,
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

const FEES: Fees = Fees {
    fee: 1000,
    max: 50_000,
};

fn chain() -> ChainHash {
    ChainHash::using_genesis_block(Network::Regtest)
}
fn best() -> BestBlock {
    BestBlock::from_network(Network::Regtest)
}

fn features(anchors: bool) -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_static_remote_key_optional();
    if anchors {
        f.set_anchors_zero_fee_htlc_tx_optional();
    }
    f
}

fn keys(seed: u8) -> KeysManager {
    KeysManager::new(&[seed; 32], 1_700_000_000, seed as u32)
}

/// Encodes through `Message` and decodes back: every message of the
/// handshake crosses the codec.
fn wire<M: Into<Message>>(m: M) -> Message {
    let bytes = m.into().encode();
    read_message(&bytes).expect("our own message decodes")
}
fn wire_open(m: OpenChannel) -> OpenChannel {
    match wire(m) {
        Message::OpenChannel(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
fn wire_accept(m: AcceptChannel) -> AcceptChannel {
    match wire(m) {
        Message::AcceptChannel(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
fn wire_created(m: FundingCreated) -> FundingCreated {
    match wire(m) {
        Message::FundingCreated(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
fn wire_signed(m: FundingSigned) -> FundingSigned {
    match wire(m) {
        Message::FundingSigned(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}
fn wire_ready(m: ChannelReady) -> ChannelReady {
    match wire(m) {
        Message::ChannelReady(m) => m,
        other => panic!("decoded {}", other.name()),
    }
}

fn funding_tx(script: ScriptBuf, value: u64) -> Transaction {
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

struct Setup {
    value: u64,
    push_msat: u64,
    anchors: bool,
    fees: Fees,
    a_config: UserConfig,
    b_config: UserConfig,
}

impl Setup {
    fn new(anchors: bool) -> Setup {
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
    fn outbound(&self, ka: &KeysManager) -> OutboundV1Channel {
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
    fn inbound(
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

struct Done {
    a: FundedChannel,
    b: FundedChannel,
    monitor_a: ChannelMonitor,
    monitor_b: ChannelMonitor,
    funding: Transaction,
}

/// The whole handshake, both sides, through the codec.
fn handshake(s: &Setup) -> Done {
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

fn ready(pa: &mut PendingV1Channel, pb: &mut PendingV1Channel, depth: u32) {
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
fn assert_spends_funding(tx: &Transaction, funding: &Transaction, vout: u32) {
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

fn check_done(s: &Setup, d: &Done) {
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

#[test]
fn happy_path_static_remotekey() {
    let mut s = Setup::new(false);
    s.a_config
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = false;
    let d = handshake(&s);
    assert_eq!(
        d.a.channel_type,
        ChannelTypeFeatures::only_static_remote_key()
    );
    check_done(&s, &d);
}

#[test]
fn happy_path_anchors() {
    let s = Setup::new(true);
    let d = handshake(&s);
    assert_eq!(
        d.a.channel_type,
        ChannelTypeFeatures::anchors_zero_htlc_fee_and_dependencies()
    );
    check_done(&s, &d);
}

#[test]
fn peer_without_anchors_gets_static_remotekey() {
    let mut s = Setup::new(false);
    // We would like anchors, the peer does not offer them.
    s.a_config
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = true;
    let d = handshake(&s);
    assert_eq!(
        d.b.channel_type,
        ChannelTypeFeatures::only_static_remote_key()
    );
    check_done(&s, &d);
}

// ---------- open_channel checks (one per tag) ----------

/// A valid open_channel from a fresh outbound channel.
fn valid_open(s: &Setup) -> OpenChannel {
    s.outbound(&keys(1)).open_channel().unwrap()
}

fn open_err(s: &Setup, open: &OpenChannel) -> ChannelError {
    s.inbound(&keys(2), open)
        .expect_err("open_channel must be refused")
}

fn assert_open_tag(mutate: impl FnOnce(&mut Setup, &mut OpenChannel), tag: &str) {
    let mut s = Setup::new(true);
    let mut open = valid_open(&s);
    // The unmodified message is accepted.
    s.inbound(&keys(2), &open).expect("valid open_channel");
    mutate(&mut s, &mut open);
    let e = open_err(&s, &open);
    assert_eq!(e.tag(), tag, "{e}");
    assert!(e.is_close());
    assert!(e.to_string().starts_with(tag));
}

#[test]
fn bolt2_open_chain_hash() {
    assert_open_tag(
        |_, o| o.chain_hash = ChainHash::BITCOIN,
        "bolt2-open-chain-hash",
    );
}
#[test]
fn bolt2_open_funding_too_small() {
    assert_open_tag(
        |s, _| s.b_config.channel_handshake_limits.min_funding_satoshis = 2_000_000,
        "bolt2-open-funding-too-small",
    );
}
#[test]
fn bolt2_open_funding_too_large() {
    // 2^24 sat without option_support_large_channel.
    assert_open_tag(
        |_, o| o.funding_satoshis = 1 << 24,
        "bolt2-open-funding-too-large",
    );
    // Above our configured limit.
    assert_open_tag(
        |s, _| s.b_config.channel_handshake_limits.max_funding_satoshis = 999_999,
        "bolt2-open-funding-too-large",
    );
}
#[test]
fn bolt2_open_push_too_large() {
    assert_open_tag(
        |_, o| o.push_msat = o.funding_satoshis * 1000 + 1,
        "bolt2-open-push-too-large",
    );
}
#[test]
fn bolt2_open_to_self_delay_too_large() {
    assert_open_tag(
        |_, o| o.to_self_delay = 2017,
        "bolt2-open-to-self-delay-too-large",
    );
}
#[test]
fn bolt2_open_max_accepted_htlcs() {
    assert_open_tag(
        |_, o| o.max_accepted_htlcs = 484,
        "bolt2-open-max-accepted-htlcs",
    );
}
#[test]
fn bolt2_open_max_accepted_htlcs_too_small() {
    assert_open_tag(
        |_, o| o.max_accepted_htlcs = 0,
        "bolt2-open-max-accepted-htlcs-too-small",
    );
}
#[test]
fn bolt2_open_feerate_too_low() {
    assert_open_tag(|_, o| o.feerate_per_kw = 252, "bolt2-open-feerate-too-low");
}
#[test]
fn bolt2_open_feerate_too_high() {
    assert_open_tag(
        |_, o| o.feerate_per_kw = 50_001,
        "bolt2-open-feerate-too-high",
    );
}
#[test]
fn bolt2_open_dust_above_reserve() {
    assert_open_tag(
        |_, o| {
            o.dust_limit_satoshis = 900;
            o.channel_reserve_satoshis = 899;
        },
        "bolt2-open-dust-above-reserve",
    );
}
#[test]
fn bolt2_open_dust_limit_too_small() {
    assert_open_tag(
        |_, o| o.dust_limit_satoshis = 353,
        "bolt2-open-dust-limit-too-small",
    );
}
#[test]
fn bolt2_open_dust_limit_too_large() {
    assert_open_tag(
        |_, o| {
            o.dust_limit_satoshis = 6_000;
            o.channel_reserve_satoshis = 10_000;
        },
        "bolt2-open-dust-limit-too-large",
    );
}
#[test]
fn bolt2_open_reserve_too_large() {
    assert_open_tag(
        |_, o| o.channel_reserve_satoshis = o.funding_satoshis + 1,
        "bolt2-open-reserve-too-large",
    );
    assert_open_tag(
        |s, _| {
            s.b_config
                .channel_handshake_limits
                .max_channel_reserve_satoshis = 999
        },
        "bolt2-open-reserve-too-large",
    );
}
#[test]
fn bolt2_open_htlc_minimum_too_large() {
    assert_open_tag(
        |s, _| s.b_config.channel_handshake_limits.max_htlc_minimum_msat = 0,
        "bolt2-open-htlc-minimum-too-large",
    );
}
#[test]
fn bolt2_open_max_in_flight_too_small() {
    assert_open_tag(
        |s, _| {
            s.b_config
                .channel_handshake_limits
                .min_max_htlc_value_in_flight_msat = u64::MAX
        },
        "bolt2-open-max-in-flight-too-small",
    );
}

/// A 33-byte point with a valid prefix whose x coordinate is not on the curve.
fn bad_point() -> Point {
    let mut b = [0xff; 33];
    b[0] = 0x02;
    Point(b)
}

#[test]
fn bolt2_open_invalid_pubkey() {
    assert_open_tag(
        |_, o| o.funding_pubkey = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.revocation_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.payment_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.delayed_payment_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.htlc_basepoint = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
    assert_open_tag(
        |_, o| o.first_per_commitment_point = bad_point(),
        "bolt2-open-invalid-pubkey",
    );
}
#[test]
fn bolt2_open_channel_type_unsupported() {
    // option_anchor_outputs (bit 20), which we do not implement.
    assert_open_tag(
        |_, o| {
            let mut ct = ChannelTypeFeatures::only_static_remote_key();
            ct.set_anchor_outputs_required();
            o.channel_type = Some(ct);
        },
        "bolt2-open-channel-type-unsupported",
    );
    // Anchors when our config refuses them.
    assert_open_tag(
        |s, _| {
            s.b_config
                .channel_handshake_config
                .negotiate_anchors_zero_fee_htlc_tx = false
        },
        "bolt2-open-channel-type-unsupported",
    );
    // An unknown required bit.
    assert_open_tag(
        |_, o| {
            let mut ct = ChannelTypeFeatures::only_static_remote_key();
            ct.set_required_bit(100);
            o.channel_type = Some(ct);
        },
        "bolt2-open-channel-type-unsupported",
    );
}
#[test]
fn bolt2_open_channel_type_absent_means_static_remotekey() {
    let s = Setup::new(true);
    let mut open = valid_open(&s);
    open.channel_type = None;
    let b = s.inbound(&keys(2), &open).unwrap();
    assert_eq!(
        *b.channel_type(),
        ChannelTypeFeatures::only_static_remote_key()
    );
    // ... and without option_static_remotekey in init it is refused.
    let e = InboundV1Channel::new_from_open_channel(
        &s.fees,
        &keys(2),
        &InitFeatures::empty(),
        &open,
        1,
        &s.b_config,
        chain(),
    )
    .unwrap_err();
    assert_eq!(e.tag(), "bolt2-open-channel-type-unsupported");
}
#[test]
fn bolt2_open_shutdown_script_form() {
    assert_open_tag(
        |_, o| o.shutdown_scriptpubkey = Some(ScriptBuf::from_bytes(vec![0x6a, 0x01, 0x00])),
        "bolt2-open-shutdown-script-form",
    );
}
#[test]
fn open_upfront_shutdown_script_allowed_forms_are_kept() {
    let s = Setup::new(true);
    let mut open = valid_open(&s);
    let p2wpkh = ScriptBuf::from_bytes([vec![0x00, 0x14], vec![3u8; 20]].concat());
    open.shutdown_scriptpubkey = Some(p2wpkh);
    s.inbound(&keys(2), &open).unwrap();
    // A taproot (v1) script needs option_shutdown_anysegwit.
    let p2tr = ScriptBuf::from_bytes([vec![0x51, 0x20], vec![3u8; 32]].concat());
    open.shutdown_scriptpubkey = Some(p2tr.clone());
    assert_eq!(open_err(&s, &open).tag(), "bolt2-open-shutdown-script-form");
    let mut f = features(true);
    f.set_shutdown_anysegwit_optional();
    InboundV1Channel::new_from_open_channel(&s.fees, &keys(2), &f, &open, 1, &s.b_config, chain())
        .unwrap();
}
#[test]
fn bolt2_open_funder_cannot_pay_fee() {
    assert_open_tag(
        |_, o| {
            o.funding_satoshis = 20_000;
            o.max_htlc_value_in_flight_msat = 1_000_000;
            o.push_msat = 19_500_000;
        },
        "bolt2-open-funder-cannot-pay-fee",
    );
}
#[test]
fn bolt2_open_balances_below_reserve() {
    assert_open_tag(
        |_, o| {
            o.funding_satoshis = 20_000;
            o.feerate_per_kw = 253;
            // funder keeps 1900 sat, 956 after fee and anchors: <= our 1000 reserve;
            // the fundee gets 18_100 sat: <= the 19_000 reserve the funder asks.
            o.push_msat = 18_100_000;
            o.channel_reserve_satoshis = 19_000;
        },
        "bolt2-open-balances-below-reserve",
    );
}
#[test]
fn policy_open_funder_below_reserve() {
    assert_open_tag(
        |_, o| {
            o.funding_satoshis = 20_000;
            o.feerate_per_kw = 253;
            o.push_msat = 18_100_000;
        },
        "policy-open-funder-below-reserve",
    );
}
#[test]
fn config_inbound_disabled() {
    assert_open_tag(
        |s, _| s.b_config.accept_inbound_channels = false,
        "config-inbound-disabled",
    );
}

// ---------- accept_channel checks ----------

fn assert_accept_tag(mutate: impl FnOnce(&mut AcceptChannel), tag: &str) {
    let s = Setup::new(true);
    let mut a = s.outbound(&keys(1));
    let open = a.open_channel().unwrap();
    let mut accept = s
        .inbound(&keys(2), &open)
        .unwrap()
        .accept_channel()
        .unwrap();
    mutate(&mut accept);
    let e = a
        .accept_channel(&accept)
        .expect_err("accept_channel must be refused");
    assert_eq!(e.tag(), tag, "{e}");
    assert!(e.is_close());
    // Nothing moved: funding_created is still refused.
    let f = a
        .funding_created(&funding_tx(ScriptBuf::new(), s.value), 1)
        .unwrap_err();
    assert_eq!(f.tag(), "api-funding-created-phase");
}

#[test]
fn bolt2_accept_channel_id() {
    assert_accept_tag(
        |m| m.temporary_channel_id = ChannelId([9; 32]),
        "bolt2-accept-channel-id",
    );
}
#[test]
fn bolt2_accept_channel_type_mismatch() {
    assert_accept_tag(
        |m| m.channel_type = Some(ChannelTypeFeatures::only_static_remote_key()),
        "bolt2-accept-channel-type-mismatch",
    );
    assert_accept_tag(
        |m| m.channel_type = None,
        "bolt2-accept-channel-type-mismatch",
    );
}
#[test]
fn bolt2_accept_minimum_depth_too_large() {
    assert_accept_tag(
        |m| m.minimum_depth = 145,
        "bolt2-accept-minimum-depth-too-large",
    );
}
#[test]
fn bolt2_accept_to_self_delay_too_large() {
    assert_accept_tag(
        |m| m.to_self_delay = 2017,
        "bolt2-accept-to-self-delay-too-large",
    );
}
#[test]
fn bolt2_accept_max_accepted_htlcs() {
    assert_accept_tag(
        |m| m.max_accepted_htlcs = 484,
        "bolt2-accept-max-accepted-htlcs",
    );
}
#[test]
fn bolt2_accept_dust_limit_too_small() {
    assert_accept_tag(
        |m| m.dust_limit_satoshis = 353,
        "bolt2-accept-dust-limit-too-small",
    );
}
#[test]
fn bolt2_accept_reserve_too_large() {
    assert_accept_tag(
        |m| m.channel_reserve_satoshis = 1_000_001,
        "bolt2-accept-reserve-too-large",
    );
}
#[test]
fn bolt2_accept_htlc_minimum_too_large() {
    assert_accept_tag(
        |m| m.htlc_minimum_msat = 1_000_000_000,
        "bolt2-accept-htlc-minimum-too-large",
    );
}
#[test]
fn bolt2_accept_reserve_below_our_dust() {
    assert_accept_tag(
        |m| m.channel_reserve_satoshis = 353,
        "bolt2-accept-reserve-below-our-dust",
    );
}
#[test]
fn bolt2_accept_dust_limit_too_large() {
    assert_accept_tag(
        |m| {
            m.dust_limit_satoshis = 6_000;
            m.channel_reserve_satoshis = 20_000;
        },
        "bolt2-accept-dust-limit-too-large",
    );
}
#[test]
fn bolt2_accept_balances_below_reserve() {
    // No push: the fundee has nothing, and the funder's balance after the
    // fee is below the reserve the fundee asks for.
    let mut s = Setup::new(true);
    s.push_msat = 0;
    let mut a = s.outbound(&keys(1));
    let open = a.open_channel().unwrap();
    let mut accept = s
        .inbound(&keys(2), &open)
        .unwrap()
        .accept_channel()
        .unwrap();
    accept.channel_reserve_satoshis = 999_999;
    let e = a.accept_channel(&accept).unwrap_err();
    assert_eq!(e.tag(), "bolt2-accept-balances-below-reserve");
}
#[test]
fn bolt2_accept_invalid_pubkey() {
    assert_accept_tag(
        |m| m.funding_pubkey = bad_point(),
        "bolt2-accept-invalid-pubkey",
    );
    assert_accept_tag(
        |m| m.first_per_commitment_point = bad_point(),
        "bolt2-accept-invalid-pubkey",
    );
}
#[test]
fn bolt2_accept_shutdown_script_form() {
    assert_accept_tag(
        |m| m.shutdown_scriptpubkey = Some(ScriptBuf::from_bytes(vec![0x51])),
        "bolt2-accept-shutdown-script-form",
    );
}

#[test]
fn bolt2_accept_dust_above_our_reserve_small_channel() {
    // A 20_000 sat channel: our reserve is the 1_000 sat floor; a dust
    // limit of 1_500 (allowed by itself) is above it.
    let mut s = Setup::new(true);
    s.value = 20_000;
    s.push_msat = 0;
    let mut a = s.outbound(&keys(1));
    let open = a.open_channel().unwrap();
    assert_eq!(open.channel_reserve_satoshis, 1_000);
    let mut accept = s
        .inbound(&keys(2), &open)
        .unwrap()
        .accept_channel()
        .unwrap();
    accept.dust_limit_satoshis = 1_500;
    accept.channel_reserve_satoshis = 1_500;
    let e = a.accept_channel(&accept).unwrap_err();
    assert_eq!(e.tag(), "bolt2-accept-dust-above-our-reserve");
}

// ---------- funding and phase errors ----------

#[test]
fn phase_errors_are_rejected() {
    let s = Setup::new(true);
    let mut a = s.outbound(&keys(1));
    // funding_created before accept_channel.
    let e = a
        .funding_created(&funding_tx(ScriptBuf::new(), s.value), 1)
        .unwrap_err();
    assert_eq!(e.tag(), "api-funding-created-phase");
    assert!(a.funding_script_pubkey().is_none());
    let open = a.open_channel().unwrap();
    let b = s.inbound(&keys(2), &open).unwrap();
    let accept = b.accept_channel().unwrap();
    a.accept_channel(&accept).unwrap();
    // accept_channel twice.
    assert_eq!(
        a.accept_channel(&accept).unwrap_err().tag(),
        "bolt2-establish-out-of-order"
    );
    // funding_signed before funding_created.
    let bogus = FundingSigned {
        channel_id: ChannelId([1; 32]),
        signature: WireSignature([1; 64]),
        unknown_tlvs: Default::default(),
    };
    assert_eq!(
        a.funding_signed(&bogus, best()).unwrap_err().tag(),
        "bolt2-establish-out-of-order"
    );
}

#[test]
fn api_funding_output_must_pay_the_channel() {
    let s = Setup::new(true);
    let mut a = s.outbound(&keys(1));
    let b = s.inbound(&keys(2), &a.open_channel().unwrap()).unwrap();
    a.accept_channel(&b.accept_channel().unwrap()).unwrap();
    let script = a.funding_script_pubkey().unwrap();
    // Wrong value, wrong script, missing output.
    for (tx, idx) in [
        (funding_tx(script.clone(), s.value - 1), 1),
        (funding_tx(ScriptBuf::new(), s.value), 1),
        (funding_tx(script.clone(), s.value), 2),
    ] {
        assert_eq!(
            a.funding_created(&tx, idx).unwrap_err().tag(),
            "api-funding-output"
        );
    }
    // Still usable afterwards.
    a.funding_created(&funding_tx(script, s.value), 1).unwrap();
}

/// Runs to funding_created; returns the funder, the fundee and the message.
fn to_funding_created(s: &Setup) -> (OutboundV1Channel, InboundV1Channel, FundingCreated) {
    let mut a = s.outbound(&keys(1));
    let b = s.inbound(&keys(2), &a.open_channel().unwrap()).unwrap();
    a.accept_channel(&b.accept_channel().unwrap()).unwrap();
    let tx = funding_tx(a.funding_script_pubkey().unwrap(), s.value);
    let created = a.funding_created(&tx, 1).unwrap();
    (a, b, created)
}

/// A valid low-S signature over something else.
fn other_sig() -> WireSignature {
    let secp = Secp256k1::new();
    let sk = lnkit::bitcoin::secp256k1::SecretKey::from_slice(&[5; 32]).unwrap();
    secp.sign_ecdsa(&SecpMessage::from_digest([3; 32]), &sk)
        .into()
}

#[test]
fn bolt2_funding_created_sig() {
    let s = Setup::new(true);
    let (_, b, mut created) = to_funding_created(&s);
    created.signature = other_sig();
    assert_eq!(
        b.funding_created(&created, best()).unwrap_err().tag(),
        "bolt2-funding-created-sig"
    );
    // A signature for another funding output fails too.
    let (_, b, mut created) = to_funding_created(&s);
    created.funding_output_index = 0;
    assert_eq!(
        b.funding_created(&created, best()).unwrap_err().tag(),
        "bolt2-funding-created-sig"
    );
}

#[test]
fn bolt2_funding_created_channel_id() {
    let s = Setup::new(true);
    let (_, b, mut created) = to_funding_created(&s);
    created.temporary_channel_id = ChannelId([8; 32]);
    assert_eq!(
        b.funding_created(&created, best()).unwrap_err().tag(),
        "bolt2-funding-created-channel-id"
    );
}

#[test]
fn bolt2_funding_signed_sig() {
    let s = Setup::new(false);
    let (a, b, created) = to_funding_created(&s);
    let (_, mut signed, _) = b.funding_created(&created, best()).unwrap();
    signed.signature = other_sig();
    assert_eq!(
        a.funding_signed(&signed, best()).unwrap_err().tag(),
        "bolt2-funding-signed-sig"
    );
}

#[test]
fn bolt2_funding_signed_channel_id() {
    let s = Setup::new(false);
    let (a, b, created) = to_funding_created(&s);
    let (_, mut signed, _) = b.funding_created(&created, best()).unwrap();
    signed.channel_id = ChannelId([4; 32]);
    assert_eq!(
        a.funding_signed(&signed, best()).unwrap_err().tag(),
        "bolt2-funding-signed-channel-id"
    );
}

fn to_pending(s: &Setup) -> (PendingV1Channel, PendingV1Channel) {
    let (a, b, created) = to_funding_created(s);
    let (pb, signed, _) = b.funding_created(&created, best()).unwrap();
    let (pa, _) = a.funding_signed(&signed, best()).unwrap();
    (pa, pb)
}

#[test]
fn bolt2_channel_ready_checks() {
    let s = Setup::new(true);
    let (mut pa, mut pb) = to_pending(&s);
    let depth = pb.minimum_depth();
    let good = pb.check_funding_depth(depth).unwrap().unwrap();
    let mut wrong_id = good.clone();
    wrong_id.channel_id = ChannelId([3; 32]);
    assert_eq!(
        pa.channel_ready_received(&wrong_id).unwrap_err().tag(),
        "bolt2-channel-ready-channel-id"
    );
    let mut bad = good.clone();
    bad.second_per_commitment_point = bad_point();
    assert_eq!(
        pa.channel_ready_received(&bad).unwrap_err().tag(),
        "bolt2-channel-ready-invalid-point"
    );
    pa.channel_ready_received(&good).unwrap();
    let mut changed = good.clone();
    changed.second_per_commitment_point = other_point();
    assert_eq!(
        pa.channel_ready_received(&changed).unwrap_err().tag(),
        "bolt2-channel-ready-point-changed"
    );
    // Not funded until we sent ours too.
    let pa = pa.into_funded().unwrap_err();
    assert!(!pa.is_ready());
}

/// Some valid point that is not the peer's.
fn other_point() -> Point {
    let secp = Secp256k1::new();
    let sk = lnkit::bitcoin::secp256k1::SecretKey::from_slice(&[1; 32]).unwrap();
    lnkit::bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &sk).into()
}

#[test]
fn zero_conf_only_when_trusting_own_funding() {
    let mut s = Setup::new(true);
    let (ka, kb) = (keys(1), keys(2));
    // The acceptor asks for 0 confirmations (hand-edited: our inbound side
    // always asks for at least 1).
    for trust in [false, true] {
        s.a_config.channel_handshake_limits.trust_own_funding_0conf = trust;
        let mut a = s.outbound(&ka);
        let b = s.inbound(&kb, &a.open_channel().unwrap()).unwrap();
        let mut accept = b.accept_channel().unwrap();
        accept.minimum_depth = 0;
        a.accept_channel(&accept).unwrap();
        let tx = funding_tx(a.funding_script_pubkey().unwrap(), s.value);
        let created = a.funding_created(&tx, 1).unwrap();
        let (_, signed, _) = b.funding_created(&created, best()).unwrap();
        let (mut pa, _) = a.funding_signed(&signed, best()).unwrap();
        assert_eq!(pa.minimum_depth(), if trust { 0 } else { 1 });
        assert_eq!(pa.check_funding_depth(0).unwrap().is_some(), trust);
    }
}

#[test]
fn outbound_refuses_impossible_channels() {
    let s = Setup::new(true);
    let ka = keys(1);
    let mk = |value: u64, push: u64, f: &InitFeatures| {
        OutboundV1Channel::new(&s.fees, &ka, &ka, f, value, push, 1, &s.a_config, chain())
            .map(|_| ())
            .unwrap_err()
            .tag()
    };
    assert_eq!(
        mk(1_000_000, 1_000_000_001, &features(true)),
        "bolt2-open-push-too-large"
    );
    assert_eq!(
        mk(1 << 24, 0, &features(true)),
        "bolt2-open-funding-too-large"
    );
    assert_eq!(
        mk(1_000, 0, &features(true)),
        "bolt2-open-funder-cannot-pay-fee"
    );
    assert_eq!(
        mk(1_000_000, 0, &InitFeatures::empty()),
        "api-peer-no-static-remotekey"
    );
}

// ---------- property test ----------

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any acceptable parameters complete the handshake, and both sides
    /// agree on balances, limits and each other's commitments.
    #[test]
    fn random_acceptable_parameters_complete(
        value in 50_000u64..5_000_000,
        push_frac in 0u64..=1000,
        fee in 253u32..5_000,
        anchors in any::<bool>(),
        delay in 144u16..=2016,
        depth in 1u32..=144,
        max_htlcs in 1u16..=483,
        in_flight_pct in 1u8..=100,
        htlc_min in 1u64..10_000,
    ) {
        let mut s = Setup::new(anchors);
        s.fees = Fees { fee, max: 50_000 };
        s.a_config.channel_handshake_config.our_to_self_delay = delay;
        s.a_config.channel_handshake_config.our_max_accepted_htlcs = max_htlcs;
        s.a_config.channel_handshake_config.max_inbound_htlc_value_in_flight_percent = in_flight_pct;
        s.b_config.channel_handshake_config.minimum_depth = depth;
        s.b_config.channel_handshake_config.our_htlc_minimum_msat = htlc_min;
        s.b_config.channel_handshake_limits.min_funding_satoshis = 1;
        // The funder keeps the fee, the anchors and the fundee's reserve.
        let weight = if anchors { 1124 } else { 724 };
        let cost = fee as u64 * weight / 1000 + if anchors { 660 } else { 0 };
        let reserve = (value / 100).max(1_000);
        let max_push = (value - cost - reserve - 1) * 1000;
        s.value = value;
        s.push_msat = max_push / 1000 * push_frac;
        let d = handshake(&s);
        check_done(&s, &d);
        prop_assert_eq!(d.a.to_holder.0 + d.a.to_counterparty.0, value * 1000);
        prop_assert_eq!(d.a.params.counterparty_selected_contest_delay, 144);
        prop_assert_eq!(d.b.params.counterparty_selected_contest_delay, delay);
    }
}

// ---------- fuzz entry point ----------

/// Runs `fuzz_establish` over its seeds (and every truncation of each).
/// `LNKIT_WRITE_SEEDS=1` regenerates the seeds from real messages.
#[test]
fn fuzz_establish_seeds() {
    use lnkit::channel::establish::fuzz::fuzz_establish;
    use lnkit::codec::Writeable;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/channel_establish");
    if std::env::var_os("LNKIT_WRITE_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let s = Setup::new(true);
        let mut a = s.outbound(&keys(1));
        let open = a.open_channel().unwrap();
        let b = s.inbound(&keys(2), &open).unwrap();
        let accept = b.accept_channel().unwrap();
        a.accept_channel(&accept).unwrap();
        let tx = funding_tx(a.funding_script_pubkey().unwrap(), s.value);
        let created = a.funding_created(&tx, 1).unwrap();
        let (mut pb, signed, _) = b.funding_created(&created, best()).unwrap();
        let ready = pb.check_funding_depth(10).unwrap().unwrap();
        for (name, mode, bytes) in [
            ("open_channel", 0u8, open.encode()),
            ("accept_channel", 1, accept.encode()),
            ("funding_signed", 2, signed.encode()),
            ("channel_ready", 3, ready.encode()),
        ] {
            std::fs::write(dir.join(name), [vec![mode], bytes].concat()).unwrap();
        }
    }
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for end in 0..=data.len() {
            fuzz_establish(&data[..end]);
        }
        n += 1;
    }
    assert!(n >= 4);
}

#[test]
fn fuzz_seed_open_channel_is_accepted_by_the_fuzz_node() {
    // The open_channel seed is a real, acceptable message: the fuzz entry
    // point reaches the funding_created stage with it.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/channel_establish");
    let data = std::fs::read(dir.join("open_channel")).unwrap();
    let open = OpenChannel::decode(&data[1..]).unwrap();
    let mut f = features(true);
    f.set_shutdown_anysegwit_optional();
    let fees = Fees {
        fee: 253,
        max: 100_000,
    };
    InboundV1Channel::new_from_open_channel(
        &fees,
        &keys(7),
        &f,
        &open,
        1,
        &UserConfig::default(),
        chain(),
    )
    .unwrap();
}

#[test]
fn bolt2_open_funding_above_all_bitcoin_is_refused_without_overflow() {
    // Large channels negotiated and every limit lifted: a 2^24 sat channel
    // is fine, one larger than the money supply is refused (and the msat
    // arithmetic cannot overflow).
    let mut s = Setup::new(true);
    s.b_config.channel_handshake_limits.max_funding_satoshis = u64::MAX;
    s.b_config
        .channel_handshake_limits
        .max_channel_reserve_satoshis = u64::MAX;
    let mut f = features(true);
    f.set_wumbo_optional();
    let mut open = valid_open(&s);
    open.funding_satoshis = 1 << 24;
    InboundV1Channel::new_from_open_channel(&s.fees, &keys(2), &f, &open, 1, &s.b_config, chain())
        .unwrap();
    open.funding_satoshis = u64::MAX / 10;
    let e = InboundV1Channel::new_from_open_channel(
        &s.fees,
        &keys(2),
        &f,
        &open,
        1,
        &s.b_config,
        chain(),
    )
    .unwrap_err();
    assert_eq!(e.tag(), "bolt2-open-funding-too-large");
    assert!(e.to_string().contains("exceeds our limit"), "{e}");
}
