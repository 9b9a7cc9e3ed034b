//! BOLT 3 Closing Transaction: the cooperative close both funding keys sign.

use super::tx::{multisig_witness, p2wsh_sighash, ChannelTransactionParameters, TxBuildError};
use super::units::MilliSatoshi;
use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::ecdsa;
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::transaction::Version;
use bitcoin::{Amount, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

/// A cooperative closing transaction (BOLT 3 Closing Transaction).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosingTransaction {
    tx: Transaction,
    funding_script: ScriptBuf,
    funding_value: Amount,
}

impl ClosingTransaction {
    /// Builds the closing transaction: each balance rounded down to whole
    /// satoshis, `fee` taken from the funder's output, outputs below
    /// `dust_limit` (the signer's own) removed, BIP 69 order.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        params: &ChannelTransactionParameters,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        fee: Amount,
        holder_script: ScriptBuf,
        counterparty_script: ScriptBuf,
        dust_limit: Amount,
    ) -> Result<Self, TxBuildError> {
        let mut h = to_holder.to_sat_floor();
        let mut c = to_counterparty.to_sat_floor();
        let funder = if params.is_outbound_from_holder {
            &mut h
        } else {
            &mut c
        };
        // "MUST subtract the fee given by `fee_satoshis` from the output to the funder."
        *funder = funder
            .checked_sub(fee)
            .ok_or(TxBuildError::FeeExceedsFunderBalance)?;
        let mut outs = Vec::with_capacity(2);
        // "MUST remove any output below its own `dust_limit_satoshis`."
        if h >= dust_limit {
            outs.push(TxOut {
                value: h,
                script_pubkey: holder_script,
            });
        }
        if c >= dust_limit {
            outs.push(TxOut {
                value: c,
                script_pubkey: counterparty_script,
            });
        }
        outs.sort_by(|a, b| {
            a.value
                .cmp(&b.value)
                .then_with(|| a.script_pubkey.as_bytes().cmp(b.script_pubkey.as_bytes()))
        });
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: params.funding_outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: outs,
        };
        Ok(ClosingTransaction {
            tx,
            funding_script: params.funding_script(),
            funding_value: params.channel_value,
        })
    }

    /// The unsigned transaction.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }
    /// The sighash both funding keys sign.
    pub fn funding_sighash(&self) -> [u8; 32] {
        p2wsh_sighash(
            &self.tx,
            &self.funding_script,
            self.funding_value,
            EcdsaSighashType::All,
        )
    }
    /// The signed transaction.
    pub fn signed_transaction(
        &self,
        params: &ChannelTransactionParameters,
        holder_sig: &ecdsa::Signature,
        counterparty_sig: &ecdsa::Signature,
    ) -> Transaction {
        let mut tx = self.tx.clone();
        tx.input[0].witness = multisig_witness(
            &self.funding_script,
            holder_sig,
            &params.holder_pubkeys.funding_pubkey,
            counterparty_sig,
            &params.counterparty_pubkeys.funding_pubkey,
        );
        tx
    }
}
