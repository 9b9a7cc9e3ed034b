//! Shared setup for the monitor_* tests: a channel between A (the opener,
//! whose monitor we test) and B, with commitments built and signed by both
//! real signers.
#![allow(dead_code)]

use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};
use lnkit::chain::monitor::{
    ChannelMonitor, ChannelMonitorUpdate, ChannelMonitorUpdateStep, CounterpartyCommitmentInfo,
    HolderCommitmentInfo,
};
use lnkit::chain::BestBlock;
use lnkit::channel::script::CommitmentFormat;
use lnkit::channel::tx::{ChannelTransactionParameters, Htlc, HtlcDirection};
use lnkit::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use lnkit::sign::{ChannelKeysId, ChannelSigner, InMemorySigner, KeysManager, SignerProvider};
use lnkit::types::PaymentPreimage;

pub const CHANNEL_SAT: u64 = 1_000_000;
/// The preimage of the HTLC A offered.
pub const PREIMAGE_A: PaymentPreimage = PaymentPreimage([0xa1; 32]);
/// The preimage of the HTLC B offered.
pub const PREIMAGE_B: PaymentPreimage = PaymentPreimage([0xb2; 32]);
pub const FEERATE: FeeRatePerKw = FeeRatePerKw(2500);

pub struct Fixture {
    pub ka: KeysManager,
    pub kb: KeysManager,
    pub a_keys_id: ChannelKeysId,
    /// A's channel signer (the monitor gets its own copy).
    pub a: InMemorySigner,
    pub b: InMemorySigner,
    pub a_params: ChannelTransactionParameters,
    pub b_params: ChannelTransactionParameters,
    pub funding_tx: Transaction,
}

pub fn n(x: u64) -> CommitmentNumber {
    CommitmentNumber::new(x).unwrap()
}

/// HTLCs from A's view: one offered by A, one by B.
pub fn htlcs() -> Vec<Htlc> {
    vec![
        Htlc {
            direction: HtlcDirection::HolderOffered,
            amount: MilliSatoshi(50_000_000),
            cltv_expiry: 500_100,
            payment_hash: PREIMAGE_A.payment_hash(),
        },
        Htlc {
            direction: HtlcDirection::CounterpartyOffered,
            amount: MilliSatoshi(30_000_000),
            cltv_expiry: 500_200,
            payment_hash: PREIMAGE_B.payment_hash(),
        },
    ]
}

fn mirrored(h: &[Htlc]) -> Vec<Htlc> {
    h.iter()
        .map(|h| Htlc {
            direction: match h.direction {
                HtlcDirection::HolderOffered => HtlcDirection::CounterpartyOffered,
                HtlcDirection::CounterpartyOffered => HtlcDirection::HolderOffered,
            },
            ..*h
        })
        .collect()
}

/// A's and B's balances (msat) at commitment `x`: A pays B 1 sat per step.
pub fn balances(x: u64) -> (MilliSatoshi, MilliSatoshi) {
    let a = 550_000_000 - x * 1_000;
    (
        MilliSatoshi(a),
        MilliSatoshi(1_000_000_000 - 80_000_000 - a),
    )
}

impl Fixture {
    pub fn new() -> Fixture {
        let ka = KeysManager::new(&[0x11; 32], 1_700_000_000, 1);
        let kb = KeysManager::new(&[0x22; 32], 1_700_000_000, 2);
        let a_keys_id = ka.generate_channel_keys_id(false, 7);
        let a = ka.derive_in_memory_signer(a_keys_id);
        let b = kb.derive_in_memory_signer(kb.generate_channel_keys_id(true, 9));
        let mut a_params = ChannelTransactionParameters {
            holder_pubkeys: *a.pubkeys(),
            counterparty_pubkeys: *b.pubkeys(),
            holder_selected_contest_delay: 144,
            counterparty_selected_contest_delay: 720,
            holder_dust_limit: Amount::from_sat(354),
            counterparty_dust_limit: Amount::from_sat(354),
            is_outbound_from_holder: true,
            funding_outpoint: OutPoint::null(),
            channel_value: Amount::from_sat(CHANNEL_SAT),
            format: CommitmentFormat::StaticRemoteKey,
        };
        let funding_tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: Txid::from_byte_array([0x33; 32]),
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(CHANNEL_SAT),
                script_pubkey: ScriptBuf::new_p2wsh(&a_params.funding_script().wscript_hash()),
            }],
        };
        a_params.funding_outpoint = OutPoint {
            txid: funding_tx.compute_txid(),
            vout: 0,
        };
        let b_params = a_params.mirrored();
        Fixture {
            ka,
            kb,
            a_keys_id,
            a,
            b,
            a_params,
            b_params,
            funding_tx,
        }
    }

    pub fn funding_outpoint(&self) -> OutPoint {
        self.a_params.funding_outpoint
    }

    /// A's holder commitment `x`, signed by B.
    pub fn holder_info(&self, x: u64) -> HolderCommitmentInfo {
        let point = self.a.per_commitment_point(n(x)).unwrap();
        let (a_bal, b_bal) = balances(x);
        // B builds the same transaction as its counterparty commitment.
        let tx = self
            .b_params
            .build_counterparty_commitment(n(x), &point, b_bal, a_bal, FEERATE, &mirrored(&htlcs()))
            .unwrap();
        let sigs = self
            .b
            .sign_counterparty_commitment(&self.b_params, &tx)
            .unwrap();
        HolderCommitmentInfo::new(
            n(x),
            point,
            a_bal,
            b_bal,
            FEERATE,
            htlcs(),
            sigs.commitment,
            sigs.htlcs,
        )
    }

    /// A's holder commitment `x` as the channel hands it over: built and
    /// with B's signatures verified by the channel.
    pub fn holder_info_checked(&self, x: u64) -> HolderCommitmentInfo {
        let raw = self.holder_info(x);
        let tx = self
            .a_params
            .build_holder_commitment(
                n(x),
                &raw.per_commitment_point,
                raw.to_holder,
                raw.to_counterparty,
                FEERATE,
                &htlcs(),
            )
            .unwrap();
        tx.verify_counterparty_signatures(
            &self.a_params,
            &raw.counterparty_sig,
            &raw.counterparty_htlc_sigs,
        )
        .unwrap();
        HolderCommitmentInfo::from_checked(
            tx,
            raw.to_holder,
            raw.to_counterparty,
            htlcs(),
            raw.counterparty_sig,
            raw.counterparty_htlc_sigs,
        )
    }

    /// B's commitment `x` as the channel hands it over after building it.
    pub fn counterparty_info_built(&self, x: u64) -> CounterpartyCommitmentInfo {
        let point = self.b.per_commitment_point(n(x)).unwrap();
        let (a_bal, b_bal) = balances(x);
        let tx = self
            .a_params
            .build_counterparty_commitment(n(x), &point, a_bal, b_bal, FEERATE, &htlcs())
            .unwrap();
        CounterpartyCommitmentInfo::from_built(&tx, a_bal, b_bal, htlcs())
    }

    /// B's commitment `x` as A signed it.
    pub fn counterparty_info(&self, x: u64) -> CounterpartyCommitmentInfo {
        let point = self.b.per_commitment_point(n(x)).unwrap();
        let (a_bal, b_bal) = balances(x);
        let tx = self
            .a_params
            .build_counterparty_commitment(n(x), &point, a_bal, b_bal, FEERATE, &htlcs())
            .unwrap();
        CounterpartyCommitmentInfo::new(tx.txid(), n(x), point, a_bal, b_bal, FEERATE, htlcs())
    }

    /// B's own commitment `x` as B would broadcast it (unsigned: the mock
    /// chain checks no witnesses, and B's signer refuses to sign a revoked
    /// commitment anyway).
    pub fn b_commitment_tx(&self, x: u64) -> Transaction {
        let point = self.b.per_commitment_point(n(x)).unwrap();
        let (a_bal, b_bal) = balances(x);
        self.b_params
            .build_holder_commitment(n(x), &point, b_bal, a_bal, FEERATE, &mirrored(&htlcs()))
            .unwrap()
            .transaction()
            .clone()
    }

    /// A's own commitment `x` as A would broadcast it (unsigned).
    #[allow(dead_code)]
    pub fn a_commitment_tx(&self, x: u64) -> Transaction {
        let point = self.a.per_commitment_point(n(x)).unwrap();
        let (a_bal, b_bal) = balances(x);
        self.a_params
            .build_holder_commitment(n(x), &point, a_bal, b_bal, FEERATE, &htlcs())
            .unwrap()
            .transaction()
            .clone()
    }

    /// B revokes its commitment `x` (after validating `x + 1`).
    pub fn b_secret(&self, x: u64) -> [u8; 32] {
        let point = self.b.per_commitment_point(n(x + 1)).unwrap();
        let (a_bal, b_bal) = balances(x + 1);
        let next = self
            .b_params
            .build_holder_commitment(n(x + 1), &point, b_bal, a_bal, FEERATE, &mirrored(&htlcs()))
            .unwrap();
        self.b
            .validate_holder_commitment(&self.b_params, &next)
            .unwrap();
        self.b.release_commitment_secret(n(x)).unwrap()
    }

    /// A fresh monitor for A with commitment 0 on both sides.
    pub fn monitor(&self) -> ChannelMonitor {
        ChannelMonitor::new(
            self.a_params.clone(),
            self.ka
                .derive_channel_signer(Amount::from_sat(CHANNEL_SAT), self.a_keys_id),
            self.ka.get_destination_script(self.a_keys_id).unwrap(),
            self.holder_info(0),
            self.counterparty_info(0),
            BestBlock::from_network(bitcoin::Network::Regtest),
        )
        .unwrap()
    }
}

/// The update that moves both commitments to `x`.
pub fn commitments_update(f: &Fixture, id: u64, x: u64) -> ChannelMonitorUpdate {
    ChannelMonitorUpdate {
        update_id: id,
        updates: vec![
            ChannelMonitorUpdateStep::LatestHolderCommitment(f.holder_info(x)),
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(f.counterparty_info(x)),
        ],
    }
}
