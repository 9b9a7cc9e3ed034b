//! [`ChannelMonitor`]: one channel's on-chain enforcement state.

use super::encoding::{decode_events, encode_events};
use super::update::{
    check_version, rec, ChannelMonitorUpdate, ChannelMonitorUpdateStep, CounterpartyCommitmentInfo,
    Fields, HolderCommitmentInfo, MIN_READ_VERSION, SERIALIZATION_VERSION,
};
use super::{FundingSpend, FundingSpendKind, MonitorEvent, MonitorUpdateError};
use crate::chain::{
    bounded_feerate, BestBlock, BroadcasterInterface, ConfirmationTarget, FeeEstimator, Filter,
    WatchedOutput,
};
use crate::channel::keys::{per_commitment_point, CounterpartyCommitmentSecrets};
use crate::channel::script::to_local_script;
use crate::channel::tx::{
    der_with_sighash, ChannelTransactionParameters, HolderCommitmentTransaction, HtlcDirection,
    Side,
};
use crate::channel::{CommitmentNumber, FeeRatePerKw, MAX_COMMITMENT_NUMBER};
use crate::codec::{BigSize, DecodeError, Readable, Writeable};
use crate::logger::Logger;
use crate::sign::{ChannelSigner, SignError, SignerProvider};
use crate::types::{PaymentHash, PaymentPreimage};
use crate::{log_error, log_info, log_warn};
use bitcoin::absolute::LockTime;
use bitcoin::block::Header;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::SecretKey;
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, BlockHash, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use core::fmt;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

/// Everything needed to enforce one channel on chain: its parameters and
/// signer, our latest commitment with the peer's signatures, the peer's
/// unrevoked commitments, the peer's revocation secrets and the payment
/// preimages we know.
///
/// The channel feeds it [`ChannelMonitorUpdate`]s through
/// [`update_monitor`](Self::update_monitor); the chain feeds it blocks (via
/// a [`ChainMonitor`](super::ChainMonitor), or directly with
/// [`block_connected`](Self::block_connected) and friends). It reports what
/// it saw as [`MonitorEvent`]s.
pub struct ChannelMonitor {
    params: ChannelTransactionParameters,
    signer: Arc<dyn ChannelSigner>,
    destination_script: ScriptBuf,
    latest_update_id: u64,
    holder: HolderCommitmentInfo,
    holder_tx: HolderCommitmentTransaction,
    /// The peer's commitments not yet revoked, oldest first.
    counterparty_commitments: Vec<CounterpartyCommitmentInfo>,
    counterparty_secrets: CounterpartyCommitmentSecrets,
    preimages: BTreeMap<PaymentHash, PaymentPreimage>,
    shutdown_script: Option<ScriptBuf>,
    force_closed: bool,
    best_block: BestBlock,
    funding_spend: Option<FundingSpend>,
    pending_events: Vec<MonitorEvent>,
    /// Outputs a light client must now watch (not persisted).
    outputs_to_watch: Vec<WatchedOutput>,
}

impl fmt::Debug for ChannelMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelMonitor")
            .field("funding_outpoint", &self.params.funding_outpoint)
            .field("latest_update_id", &self.latest_update_id)
            .field("holder_commitment", &self.holder.commitment_number)
            .field("funding_spend", &self.funding_spend)
            .field("force_closed", &self.force_closed)
            .finish_non_exhaustive()
    }
}

impl ChannelMonitor {
    /// A monitor for a channel whose first commitments were just signed
    /// (before `funding_signed` leaves, BOLT 2). Checks the peer's
    /// signatures on our commitment and records it with the signer.
    /// `destination_script` receives swept funds (justice transactions).
    pub fn new(
        params: ChannelTransactionParameters,
        signer: Arc<dyn ChannelSigner>,
        destination_script: ScriptBuf,
        holder: HolderCommitmentInfo,
        counterparty: CounterpartyCommitmentInfo,
        best_block: BestBlock,
    ) -> Result<Self, MonitorUpdateError> {
        if *signer.pubkeys() != params.holder_pubkeys {
            return Err(MonitorUpdateError::Signer(
                SignError::WrongChannelParameters,
            ));
        }
        let holder_tx = checked_holder_tx(&params, &*signer, &holder)?;
        check_counterparty(&params, &counterparty)?;
        Ok(ChannelMonitor {
            params,
            signer,
            destination_script,
            latest_update_id: 0,
            holder,
            holder_tx,
            counterparty_commitments: vec![counterparty],
            counterparty_secrets: CounterpartyCommitmentSecrets::new(),
            preimages: BTreeMap::new(),
            shutdown_script: None,
            force_closed: false,
            best_block,
            funding_spend: None,
            pending_events: Vec::new(),
            outputs_to_watch: Vec::new(),
        })
    }

    /// The funding output this monitor watches.
    pub fn funding_outpoint(&self) -> OutPoint {
        self.params.funding_outpoint
    }
    /// The id of the last update applied (0 for a new monitor).
    pub fn latest_update_id(&self) -> u64 {
        self.latest_update_id
    }
    /// The channel's transaction parameters.
    pub fn channel_parameters(&self) -> &ChannelTransactionParameters {
        &self.params
    }
    /// Our latest commitment as the peer signed it.
    pub fn holder_commitment(&self) -> &HolderCommitmentTransaction {
        &self.holder_tx
    }
    /// The peer's commitments we signed that it has not revoked, oldest first.
    pub fn counterparty_commitments(&self) -> &[CounterpartyCommitmentInfo] {
        &self.counterparty_commitments
    }
    /// The peer's revealed per-commitment secrets.
    pub fn counterparty_secrets(&self) -> &CounterpartyCommitmentSecrets {
        &self.counterparty_secrets
    }
    /// The preimage of `hash`, if we learned it.
    pub fn preimage(&self, hash: &PaymentHash) -> Option<PaymentPreimage> {
        self.preimages.get(hash).copied()
    }
    /// Our cooperative close script, once set.
    pub fn shutdown_script(&self) -> Option<&ScriptBuf> {
        self.shutdown_script.as_ref()
    }
    /// Whether a [`ChannelMonitorUpdateStep::ChannelForceClosed`] was applied.
    pub fn is_force_closed(&self) -> bool {
        self.force_closed
    }
    /// The confirmed spend of the funding output, if seen.
    pub fn funding_spend(&self) -> Option<&FundingSpend> {
        self.funding_spend.as_ref()
    }
    /// The last block this monitor was told about.
    pub fn best_block(&self) -> BestBlock {
        self.best_block
    }

    /// Takes the events produced since the last call.
    pub fn get_and_clear_pending_events(&mut self) -> Vec<MonitorEvent> {
        std::mem::take(&mut self.pending_events)
    }

    /// Takes the outputs a light client must watch since the last call:
    /// every output of the transaction that spent the funding output, so
    /// that claims of them (HTLC preimages, sweeps) are seen. The
    /// [`ChainMonitor`](super::ChainMonitor) hands them to its
    /// [`Filter`].
    pub fn take_outputs_to_watch(&mut self) -> Vec<WatchedOutput> {
        std::mem::take(&mut self.outputs_to_watch)
    }

    /// Asks a light client to watch the funding output (call on load and
    /// on creation when blocks come through [`crate::chain::Confirm`]).
    pub fn load_outputs_to_watch(&self, filter: &dyn Filter) {
        let funding = self.params.funding_outpoint;
        let spk = ScriptBuf::new_p2wsh(&self.params.funding_script().wscript_hash());
        filter.register_tx(&funding.txid, &spk);
        filter.register_output(WatchedOutput {
            block_hash: None,
            outpoint: funding,
            script_pubkey: spk,
        });
    }

    /// Applies `update`. Its id must be greater than every id applied
    /// before (`monitor-update-id-order`); otherwise nothing changes.
    ///
    /// Each step is checked before it changes anything. If a step fails
    /// the steps before it stay applied and the update id counts as seen:
    /// the channel's view and the monitor's have diverged, and the channel
    /// must be force-closed.
    ///
    /// A force-close step broadcasts through `broadcaster`. `fee_estimator`
    /// is not used yet: it is there for fee-bumping anchor commitments
    /// (CPFP), which the monitor does not do yet.
    pub fn update_monitor(
        &mut self,
        update: &ChannelMonitorUpdate,
        broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator,
        logger: &dyn Logger,
    ) -> Result<(), MonitorUpdateError> {
        let _ = fee_estimator;
        if update.update_id <= self.latest_update_id {
            log_error!(
                logger,
                "monitor-update-id-order: update {} for {} after update {}",
                update.update_id,
                self.params.funding_outpoint,
                self.latest_update_id
            );
            return Err(MonitorUpdateError::UpdateIdNotIncreasing {
                latest: self.latest_update_id,
                got: update.update_id,
            });
        }
        self.latest_update_id = update.update_id;
        for step in &update.updates {
            if let Err(e) = self.apply_step(step, broadcaster, logger) {
                log_error!(
                    logger,
                    "monitor update {} for {} failed: {}",
                    update.update_id,
                    self.params.funding_outpoint,
                    e
                );
                return Err(e);
            }
        }
        Ok(())
    }

    fn apply_step(
        &mut self,
        step: &ChannelMonitorUpdateStep,
        broadcaster: &dyn BroadcasterInterface,
        logger: &dyn Logger,
    ) -> Result<(), MonitorUpdateError> {
        match step {
            ChannelMonitorUpdateStep::LatestHolderCommitment(info) => {
                if self.force_closed {
                    return Err(MonitorUpdateError::ChannelClosed);
                }
                if info.commitment_number <= self.holder.commitment_number {
                    return Err(MonitorUpdateError::HolderCommitmentNotNewer {
                        current: self.holder.commitment_number,
                        got: info.commitment_number,
                    });
                }
                self.holder_tx = checked_holder_tx(&self.params, &*self.signer, info)?;
                self.holder = info.clone();
            }
            ChannelMonitorUpdateStep::LatestCounterpartyCommitment(info) => {
                if self.force_closed {
                    return Err(MonitorUpdateError::ChannelClosed);
                }
                let newest = self
                    .counterparty_commitments
                    .last()
                    .map(|c| c.commitment_number)
                    .or_else(|| self.revoked_counterparty_number());
                if let Some(current) = newest {
                    if info.commitment_number <= current {
                        return Err(MonitorUpdateError::CounterpartyCommitmentNotNewer {
                            current,
                            got: info.commitment_number,
                        });
                    }
                }
                check_counterparty(&self.params, info)?;
                self.counterparty_commitments.push(info.clone());
            }
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number,
                secret,
            } => {
                // The secret must open the point the peer gave for that
                // commitment (BOLT 2 revoke_and_ack: the secret "MUST
                // generate the previous per_commitment_point").
                if let Some(c) = self
                    .counterparty_commitments
                    .iter()
                    .find(|c| c.commitment_number == *commitment_number)
                {
                    if per_commitment_point(secret).ok() != Some(c.per_commitment_point) {
                        return Err(MonitorUpdateError::SecretPointMismatch {
                            commitment_number: *commitment_number,
                        });
                    }
                }
                self.counterparty_secrets
                    .insert_secret(*secret, commitment_number.secret_index())
                    .map_err(MonitorUpdateError::Secret)?;
                self.counterparty_commitments
                    .retain(|c| c.commitment_number > *commitment_number);
            }
            ChannelMonitorUpdateStep::PaymentPreimage { preimage } => {
                self.preimages.insert(preimage.payment_hash(), *preimage);
            }
            ChannelMonitorUpdateStep::ChannelForceClosed { should_broadcast } => {
                self.force_closed = true;
                if !*should_broadcast {
                    log_info!(
                        logger,
                        "channel {} force-closed without broadcasting",
                        self.params.funding_outpoint
                    );
                } else if let Some(spend) = &self.funding_spend {
                    log_warn!(
                        logger,
                        "channel {} force-closed; funding already spent by {}, not broadcasting",
                        self.params.funding_outpoint,
                        spend.txid
                    );
                } else {
                    let txs = self
                        .get_latest_holder_commitment_txn()
                        .map_err(MonitorUpdateError::Signer)?;
                    log_info!(
                        logger,
                        "channel {} force-closed: broadcasting holder commitment {} ({})",
                        self.params.funding_outpoint,
                        self.holder.commitment_number,
                        self.holder_tx.txid()
                    );
                    let refs: Vec<&Transaction> = txs.iter().collect();
                    broadcaster.broadcast_transactions(&refs);
                }
            }
            ChannelMonitorUpdateStep::ShutdownScript { script } => {
                // BOLT 2: once sent, the shutdown scriptpubkey may not change.
                if let Some(old) = &self.shutdown_script {
                    if old != script {
                        return Err(MonitorUpdateError::ShutdownScriptChanged);
                    }
                }
                self.shutdown_script = Some(script.clone());
            }
        }
        Ok(())
    }

    /// The newest counterparty commitment whose secret we hold.
    fn revoked_counterparty_number(&self) -> Option<CommitmentNumber> {
        CommitmentNumber::from_secret_index(self.counterparty_secrets.min_index()?)
    }

    /// Our latest commitment, signed by us and the peer, ready to
    /// broadcast. Only the commitment transaction itself: HTLC
    /// transactions (timeout after expiry, success with a preimage) and an
    /// anchor CPFP are not built here yet.
    pub fn get_latest_holder_commitment_txn(&self) -> Result<Vec<Transaction>, SignError> {
        let sig = self
            .signer
            .sign_holder_commitment(&self.params, &self.holder_tx)?;
        Ok(vec![self.holder_tx.signed_transaction(
            &self.params,
            &sig,
            &self.holder.counterparty_sig,
        )])
    }

    /// A block was connected: looks for the funding spend among `txdata`,
    /// then moves the tip. Returns whether the monitor changed in a way
    /// that must be persisted.
    #[allow(clippy::too_many_arguments)]
    pub fn block_connected(
        &mut self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
        broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator,
        logger: &dyn Logger,
    ) -> bool {
        let changed =
            self.transactions_confirmed(header, txdata, height, broadcaster, fee_estimator, logger);
        self.best_block_updated(header, height);
        changed
    }

    /// Transactions confirmed at `height` (all of a block's, or those a
    /// light client matched). Returns whether the monitor must be persisted.
    pub fn transactions_confirmed(
        &mut self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
        broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator,
        logger: &dyn Logger,
    ) -> bool {
        let mut changed = false;
        if self.funding_spend.is_none() {
            changed |= self.check_funding_spend(
                header,
                txdata,
                height,
                broadcaster,
                fee_estimator,
                logger,
            );
        }
        if let Some(spend) = &self.funding_spend {
            let commitment_txid = spend.txid;
            changed |= self.check_htlc_claims(txdata, commitment_txid, height, logger);
        }
        changed
    }

    /// Looks for preimages of HTLCs we offered in the witnesses of
    /// transactions spending the commitment that closed the channel: the
    /// peer's claim (directly, or by its HTLC-success transaction) reveals
    /// the preimage we must use upstream.
    fn check_htlc_claims(
        &mut self,
        txdata: &[(usize, &Transaction)],
        commitment_txid: Txid,
        height: u32,
        logger: &dyn Logger,
    ) -> bool {
        let offered: Vec<PaymentHash> = self
            .holder
            .htlcs
            .iter()
            .chain(
                self.counterparty_commitments
                    .iter()
                    .flat_map(|c| c.htlcs.iter()),
            )
            .filter(|h| h.direction == HtlcDirection::HolderOffered)
            .map(|h| h.payment_hash)
            .collect();
        if offered.is_empty() {
            return false;
        }
        let mut changed = false;
        for (_, tx) in txdata {
            for input in &tx.input {
                if input.previous_output.txid != commitment_txid {
                    continue;
                }
                for item in input.witness.iter().filter(|i| i.len() == 32) {
                    let preimage = PaymentPreimage(item.try_into().expect("32 bytes"));
                    let payment_hash = preimage.payment_hash();
                    if !offered.contains(&payment_hash)
                        || self.preimages.contains_key(&payment_hash)
                    {
                        continue;
                    }
                    log_info!(
                        logger,
                        "channel {}: preimage of htlc {:?} learned on chain from {}",
                        self.params.funding_outpoint,
                        payment_hash,
                        tx.compute_txid()
                    );
                    self.preimages.insert(payment_hash, preimage);
                    self.pending_events.push(MonitorEvent::HtlcEvent {
                        funding_outpoint: self.params.funding_outpoint,
                        payment_hash,
                        payment_preimage: preimage,
                        claim_txid: tx.compute_txid(),
                        height,
                    });
                    changed = true;
                }
            }
        }
        changed
    }

    fn check_funding_spend(
        &mut self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
        broadcaster: &dyn BroadcasterInterface,
        fee_estimator: &dyn FeeEstimator,
        logger: &dyn Logger,
    ) -> bool {
        let funding = self.params.funding_outpoint;
        let Some(tx) = txdata
            .iter()
            .map(|(_, tx)| *tx)
            .find(|tx| tx.input.iter().any(|i| i.previous_output == funding))
        else {
            return false;
        };
        let txid = tx.compute_txid();
        let mut kind = self.classify_funding_spend(tx, txid);
        if let FundingSpendKind::RevokedCounterparty {
            commitment_number,
            justice_txid,
        } = &mut kind
        {
            log_warn!(
                logger,
                "channel {}: revoked counterparty commitment {} confirmed in {}",
                funding,
                commitment_number,
                txid
            );
            let feerate = bounded_feerate(fee_estimator, ConfirmationTarget::UrgentOnChainSweep);
            match self.build_justice_tx(tx, *commitment_number, FeeRatePerKw(feerate)) {
                Ok(Some(justice)) => {
                    *justice_txid = Some(justice.compute_txid());
                    log_info!(
                        logger,
                        "channel {}: broadcasting justice transaction {}",
                        funding,
                        justice.compute_txid()
                    );
                    broadcaster.broadcast_transactions(&[&justice]);
                }
                Ok(None) => log_warn!(
                    logger,
                    "channel {}: revoked commitment {} has no to_local output worth sweeping",
                    funding,
                    txid
                ),
                Err(e) => log_error!(
                    logger,
                    "channel {}: cannot sign justice transaction: {}",
                    funding,
                    e
                ),
            }
        } else if let FundingSpendKind::RevokedHolder { commitment_number } = &kind {
            log_error!(
                logger,
                "channel {}: our own revoked commitment {} confirmed in {}: this node ran from stale state and the peer may take the channel's funds",
                funding,
                commitment_number,
                txid
            );
        } else {
            log_info!(
                logger,
                "channel {}: funding spent by {} at height {} ({:?})",
                funding,
                txid,
                height,
                kind
            );
        }
        self.outputs_to_watch
            .extend(tx.output.iter().enumerate().map(|(i, o)| WatchedOutput {
                block_hash: Some(header.block_hash()),
                outpoint: OutPoint {
                    txid,
                    vout: i as u32,
                },
                script_pubkey: o.script_pubkey.clone(),
            }));
        self.funding_spend = Some(FundingSpend {
            txid,
            height,
            block_hash: header.block_hash(),
            kind: kind.clone(),
        });
        self.pending_events
            .push(MonitorEvent::CommitmentTxConfirmed {
                funding_outpoint: funding,
                txid,
                height,
                kind,
            });
        true
    }

    /// A transaction was reorged out. Returns whether the monitor changed.
    pub fn transaction_unconfirmed(&mut self, txid: &Txid) -> bool {
        if self.funding_spend.as_ref().is_some_and(|s| s.txid == *txid) {
            self.funding_spend = None;
            return true;
        }
        false
    }

    /// The tip moved to `header` at `height`.
    pub fn best_block_updated(&mut self, header: &Header, height: u32) {
        self.best_block = BestBlock {
            block_hash: header.block_hash(),
            height,
        };
    }

    /// The block at `height` was disconnected. Returns whether the monitor
    /// changed in a way that must be persisted.
    pub fn block_disconnected(&mut self, header: &Header, height: u32) -> bool {
        self.best_block = BestBlock {
            block_hash: header.prev_blockhash,
            height: height.saturating_sub(1),
        };
        if self
            .funding_spend
            .as_ref()
            .is_some_and(|s| s.height >= height)
        {
            self.funding_spend = None;
            return true;
        }
        false
    }

    /// The transactions whose confirmation matters to this monitor.
    pub fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)> {
        self.funding_spend
            .iter()
            .map(|s| (s.txid, s.height, Some(s.block_hash)))
            .collect()
    }

    fn classify_funding_spend(&self, tx: &Transaction, txid: Txid) -> FundingSpendKind {
        if txid == self.holder_tx.txid() {
            return FundingSpendKind::Holder {
                commitment_number: self.holder.commitment_number,
            };
        }
        if let Some(c) = self
            .counterparty_commitments
            .iter()
            .find(|c| c.txid == txid)
        {
            return FundingSpendKind::Counterparty {
                commitment_number: c.commitment_number,
            };
        }
        if let Some(n) = self.decode_commitment_number(tx) {
            // Both sides number their commitments alike, so the peer's
            // secret for `n` may be known for our own old commitment `n`
            // too: tell them apart by the outputs first.
            if self.is_older_holder_commitment(tx, n) {
                return FundingSpendKind::RevokedHolder {
                    commitment_number: n,
                };
            }
            if self
                .counterparty_secrets
                .get_secret(n.secret_index())
                .is_some()
            {
                return FundingSpendKind::RevokedCounterparty {
                    commitment_number: n,
                    justice_txid: None,
                };
            }
        }
        // BOLT 3 Closing Transaction: locktime 0, sequence 0xFFFFFFFF.
        if tx.lock_time == LockTime::ZERO
            && tx.input.len() == 1
            && tx.input[0].sequence == Sequence::MAX
        {
            return FundingSpendKind::Cooperative;
        }
        FundingSpendKind::Unknown
    }

    /// Whether commitment `tx` (number `n`) is one of ours: it pays our
    /// `to_local` script for `n`, or the peer's `to_remote` script (which
    /// only our commitments pay; one of the two outputs exists unless both
    /// balances were trimmed).
    fn is_older_holder_commitment(&self, tx: &Transaction, n: CommitmentNumber) -> bool {
        let to_local = self
            .signer
            .per_commitment_point(n)
            .ok()
            .and_then(|point| self.params.holder_commitment_keys(&point).ok())
            .map(|k| {
                ScriptBuf::new_p2wsh(
                    &to_local_script(
                        &k.revocation_key,
                        self.params.counterparty_selected_contest_delay,
                        &k.broadcaster_delayed_payment_key,
                    )
                    .wscript_hash(),
                )
            });
        let their_to_remote = self.params.to_remote_script_pubkey(Side::Counterparty);
        tx.output.iter().any(|o| {
            o.script_pubkey == their_to_remote || Some(&o.script_pubkey) == to_local.as_ref()
        })
    }

    /// The commitment number hidden in a commitment transaction's locktime
    /// and sequence (BOLT 3 Commitment Transaction: upper 8 bits 0x20 and
    /// 0x80, lower 24 bits each of the obscured number).
    fn decode_commitment_number(&self, tx: &Transaction) -> Option<CommitmentNumber> {
        let lt = tx.lock_time.to_consensus_u32();
        let seq = tx.input.first()?.sequence.0;
        if lt >> 24 != 0x20 || seq >> 24 != 0x80 {
            return None;
        }
        let obscured = (((seq & 0xff_ffff) as u64) << 24) | (lt & 0xff_ffff) as u64;
        CommitmentNumber::new((obscured ^ self.params.obscure_factor()) & MAX_COMMITMENT_NUMBER)
    }

    /// The justice transaction sweeping the `to_local` output of revoked
    /// counterparty commitment `tx` (number `number`) to our destination
    /// script by the revocation path (witness `<revocation_sig> 1
    /// <to_local script>`, BOLT 3 `to_local` Output). `None` when the
    /// output was trimmed or is not worth its fee.
    ///
    /// The revoked commitment's HTLC outputs are not swept: that needs the
    /// HTLC set of every revoked commitment, which the monitor does not
    /// keep yet.
    pub fn build_justice_tx(
        &self,
        tx: &Transaction,
        number: CommitmentNumber,
        feerate: FeeRatePerKw,
    ) -> Result<Option<Transaction>, SignError> {
        let Some(secret) = self.counterparty_secrets.get_secret(number.secret_index()) else {
            return Ok(None);
        };
        let secret = SecretKey::from_slice(&secret).map_err(|_| SignError::Derivation)?;
        let point =
            per_commitment_point(&secret.secret_bytes()).map_err(|_| SignError::Derivation)?;
        let keys = self
            .params
            .counterparty_commitment_keys(&point)
            .map_err(|_| SignError::Derivation)?;
        // The peer's to_local waits the delay we selected.
        let script = to_local_script(
            &keys.revocation_key,
            self.params.holder_selected_contest_delay,
            &keys.broadcaster_delayed_payment_key,
        );
        let spk = ScriptBuf::new_p2wsh(&script.wscript_hash());
        let txid = tx.compute_txid();
        let Some((vout, out)) = tx
            .output
            .iter()
            .enumerate()
            .find(|(_, o)| o.script_pubkey == spk)
        else {
            return Ok(None);
        };
        let mut justice = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid,
                    vout: vout as u32,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: out.value,
                script_pubkey: self.destination_script.clone(),
            }],
        };
        // Weight with a worst-case (73-byte) signature.
        let mut w = Witness::new();
        w.push([0u8; 73]);
        w.push([1u8]);
        w.push(script.as_bytes());
        justice.input[0].witness = w;
        let fee = feerate.fee_for_weight(justice.weight().to_wu());
        // A P2WSH/P2WPKH output below 330 sat would not relay.
        let value = match out.value.checked_sub(fee) {
            Some(v) if v >= Amount::from_sat(330) => v,
            _ => return Ok(None),
        };
        justice.output[0].value = value;
        justice.input[0].witness = Witness::new();
        let sig = self.signer.sign_justice_revoked_output(
            &self.params,
            &justice,
            0,
            out.value,
            &secret,
        )?;
        let mut w = Witness::new();
        w.push(der_with_sighash(&sig, EcdsaSighashType::All));
        w.push([1u8]);
        w.push(script.as_bytes());
        justice.input[0].witness = w;
        Ok(Some(justice))
    }

    /// Reads a monitor written by [`Writeable::write`], restoring its
    /// signer through `signer_provider` (which refuses keys it did not
    /// derive).
    pub fn read(bytes: &[u8], signer_provider: &dyn SignerProvider) -> Result<Self, DecodeError> {
        let body = check_version(bytes)?;
        let f = Fields::parse(body, &[0, 2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 20, 23])?;
        let mut raw_params = f.raw(0).ok_or(DecodeError::InvalidValue)?;
        let params = ChannelTransactionParameters::read(&mut raw_params)?;
        if !raw_params.is_empty() {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let params_outpoint = params.funding_outpoint;
        let signer =
            signer_provider.read_channel_signer(f.raw(2).ok_or(DecodeError::InvalidValue)?)?;
        if *signer.pubkeys() != params.holder_pubkeys {
            return Err(DecodeError::InvalidValue);
        }
        let holder = HolderCommitmentInfo::read_fields(f.raw(8).ok_or(DecodeError::InvalidValue)?)?;
        let holder_tx = params
            .build_holder_commitment(
                holder.commitment_number,
                &holder.per_commitment_point,
                holder.to_holder,
                holder.to_counterparty,
                holder.feerate,
                &holder.htlcs,
            )
            .map_err(|_| DecodeError::InvalidValue)?;
        let mut counterparty_commitments = Vec::new();
        let mut list = f.raw(10).ok_or(DecodeError::InvalidValue)?;
        while !list.is_empty() {
            let len = BigSize::read_from_slice(&mut list)?;
            if len > list.len() as u64 {
                return Err(DecodeError::ShortRead);
            }
            let (item, rest) = list.split_at(len as usize);
            list = rest;
            counterparty_commitments.push(CounterpartyCommitmentInfo::read_fields(item)?);
        }
        let counterparty_secrets = {
            let mut s = f.raw(12).ok_or(DecodeError::InvalidValue)?;
            let secrets = CounterpartyCommitmentSecrets::read(&mut s)?;
            if !s.is_empty() {
                return Err(DecodeError::BadLengthDescriptor);
            }
            secrets
        };
        let raw_preimages = f.raw(14).unwrap_or_default();
        if raw_preimages.len() % 32 != 0 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let preimages = raw_preimages
            .chunks_exact(32)
            .map(|c| {
                let p = PaymentPreimage(c.try_into().expect("32-byte chunk"));
                (p.payment_hash(), p)
            })
            .collect();
        let bb: Vec<u8> = f.req(16)?;
        if bb.len() != 36 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let best_block = BestBlock {
            block_hash: BlockHash::from_byte_array(bb[..32].try_into().expect("32 bytes")),
            height: u32::from_be_bytes(bb[32..].try_into().expect("4 bytes")),
        };
        let funding_spend = f.raw(18).map(FundingSpend::read_fields).transpose()?;
        let force_closed = match f.req::<u8>(20)? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::InvalidValue),
        };
        Ok(ChannelMonitor {
            params,
            signer,
            destination_script: f.req(4)?,
            latest_update_id: f.req(6)?,
            holder,
            holder_tx,
            counterparty_commitments,
            counterparty_secrets,
            preimages,
            shutdown_script: f.opt(17)?,
            force_closed,
            best_block,
            pending_events: match f.raw(23) {
                Some(raw) => decode_events(raw, params_outpoint)?,
                None => Vec::new(),
            },
            funding_spend,
            outputs_to_watch: Vec::new(),
        })
    }
}

/// The persisted form: two version bytes, then a TLV stream (see
/// [`super::update`] for the versioning rules). Pending events are
/// persisted with the monitor: released events come back after a restart
/// until the monitor is persisted again (at-least-once delivery).
impl Writeable for ChannelMonitor {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut b = vec![SERIALIZATION_VERSION, MIN_READ_VERSION];
        rec(&mut b, 0, &self.params.encode());
        rec(&mut b, 2, &self.signer.encode_signer());
        rec(&mut b, 4, &self.destination_script);
        rec(&mut b, 6, &self.latest_update_id);
        let mut holder = Vec::new();
        self.holder.write_fields(&mut holder);
        rec(&mut b, 8, &holder);
        let mut list = Vec::new();
        for c in &self.counterparty_commitments {
            let mut item = Vec::new();
            c.write_fields(&mut item);
            BigSize::push(&mut list, item.len() as u64);
            list.extend_from_slice(&item);
        }
        rec(&mut b, 10, &list);
        rec(&mut b, 12, &self.counterparty_secrets.encode());
        let mut pre = Vec::with_capacity(32 * self.preimages.len());
        for p in self.preimages.values() {
            pre.extend_from_slice(&p.0);
        }
        rec(&mut b, 14, &pre);
        let mut bb = self.best_block.block_hash.to_byte_array().to_vec();
        bb.extend_from_slice(&self.best_block.height.to_be_bytes());
        rec(&mut b, 16, &bb);
        if let Some(s) = &self.shutdown_script {
            rec(&mut b, 17, s);
        }
        if let Some(s) = &self.funding_spend {
            rec(&mut b, 18, &s.write_fields());
        }
        rec(&mut b, 20, &(self.force_closed as u8));
        if !self.pending_events.is_empty() {
            rec(&mut b, 23, &encode_events(&self.pending_events));
        }
        w.write_all(&b)
    }
    fn size_hint(&self) -> usize {
        2048
    }
}

/// Our commitment from `info`: the channel's checked transaction, or
/// rebuilt with the peer's signatures verified. Either way recorded with
/// the signer.
fn checked_holder_tx(
    params: &ChannelTransactionParameters,
    signer: &dyn ChannelSigner,
    info: &HolderCommitmentInfo,
) -> Result<HolderCommitmentTransaction, MonitorUpdateError> {
    let tx = match info.checked_tx() {
        Some(tx) => tx.clone(),
        None => {
            let tx = params
                .build_holder_commitment(
                    info.commitment_number,
                    &info.per_commitment_point,
                    info.to_holder,
                    info.to_counterparty,
                    info.feerate,
                    &info.htlcs,
                )
                .map_err(MonitorUpdateError::Build)?;
            tx.verify_counterparty_signatures(
                params,
                &info.counterparty_sig,
                &info.counterparty_htlc_sigs,
            )
            .map_err(MonitorUpdateError::Signatures)?;
            tx
        }
    };
    signer
        .validate_holder_commitment(params, &tx)
        .map_err(MonitorUpdateError::Signer)?;
    Ok(tx)
}

/// Checks the txid of the peer's commitment by rebuilding it, unless the
/// channel's own build vouches for it.
fn check_counterparty(
    params: &ChannelTransactionParameters,
    info: &CounterpartyCommitmentInfo,
) -> Result<(), MonitorUpdateError> {
    if info.is_built() {
        return Ok(());
    }
    let tx = params
        .build_counterparty_commitment(
            info.commitment_number,
            &info.per_commitment_point,
            info.to_holder,
            info.to_counterparty,
            info.feerate,
            &info.htlcs,
        )
        .map_err(MonitorUpdateError::Build)?;
    if tx.txid() != info.txid {
        return Err(MonitorUpdateError::CounterpartyTxidMismatch {
            given: info.txid,
            built: tx.txid(),
        });
    }
    Ok(())
}
