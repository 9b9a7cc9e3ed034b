//! The two sides' views of a built commitment: ours
//! ([`HolderCommitmentTransaction`], whose peer signatures we check and
//! whose witness we assemble to broadcast) and the peer's
//! ([`CounterpartyCommitmentTransaction`], which we sign).

use super::*;

/// Why the peer's signatures on our commitment were rejected.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// `bolt2-commitment-signed-sig`: the commitment signature does not
    /// verify against the peer's funding key.
    Commitment,
    /// `bolt2-commitment-signed-num-htlcs`: `num_htlcs` differs from the
    /// number of HTLC outputs.
    HtlcCount {
        /// HTLC outputs in the commitment.
        expected: usize,
        /// Signatures received.
        got: usize,
    },
    /// `bolt2-commitment-signed-htlc-sig`: the HTLC signature at this
    /// position does not verify against the peer's HTLC key.
    Htlc(usize),
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::Commitment => f.write_str("bolt2-commitment-signed-sig: invalid commitment signature"),
            SignatureError::HtlcCount { expected, got } => write!(
                f,
                "bolt2-commitment-signed-num-htlcs: {got} htlc signatures for {expected} htlc outputs"
            ),
            SignatureError::Htlc(i) => write!(f, "bolt2-commitment-signed-htlc-sig: invalid signature for htlc output {i}"),
        }
    }
}
impl std::error::Error for SignatureError {}

/// Our own commitment transaction (we are the broadcaster).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCommitmentTransaction(pub(super) CommitmentTransaction);

/// The peer's commitment transaction (we are the countersignatory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterpartyCommitmentTransaction(pub(super) CommitmentTransaction);

impl Deref for HolderCommitmentTransaction {
    type Target = CommitmentTransaction;
    fn deref(&self) -> &CommitmentTransaction {
        &self.0
    }
}
impl Deref for CounterpartyCommitmentTransaction {
    type Target = CommitmentTransaction;
    fn deref(&self) -> &CommitmentTransaction {
        &self.0
    }
}

impl HolderCommitmentTransaction {
    /// Checks the peer's `commitment_signed` signatures on this commitment
    /// (BOLT 2: the commitment signature against the peer's funding key,
    /// then one signature per HTLC output against the peer's HTLC key for
    /// this commitment). Signatures must be low-S, as libsecp256k1 requires.
    pub fn verify_counterparty_signatures(
        &self,
        params: &ChannelTransactionParameters,
        commitment_sig: &ecdsa::Signature,
        htlc_sigs: &[ecdsa::Signature],
    ) -> Result<(), SignatureError> {
        if !crate::sign::ops::verify(
            &self.funding_sighash(),
            commitment_sig,
            &params.counterparty_pubkeys.funding_pubkey,
        ) {
            return Err(SignatureError::Commitment);
        }
        if htlc_sigs.len() != self.htlcs.len() {
            return Err(SignatureError::HtlcCount {
                expected: self.htlcs.len(),
                got: htlc_sigs.len(),
            });
        }
        // Built commitments with HTLC outputs always carry HTLC keys.
        let Some(key) = self.keys.htlc.map(|k| k.countersignatory) else {
            return Ok(());
        };
        for (i, (h, sig)) in self
            .htlc_sighashes(self.countersignatory_htlc_sighash_type())
            .iter()
            .zip(htlc_sigs)
            .enumerate()
        {
            if !crate::sign::ops::verify(h, sig, &key) {
                return Err(SignatureError::Htlc(i));
            }
        }
        Ok(())
    }

    /// The fully signed commitment, ready to broadcast.
    pub fn signed_transaction(
        &self,
        params: &ChannelTransactionParameters,
        holder_sig: &ecdsa::Signature,
        counterparty_sig: &ecdsa::Signature,
    ) -> Transaction {
        self.0.finalize(
            holder_sig,
            &params.holder_pubkeys.funding_pubkey,
            counterparty_sig,
            &params.counterparty_pubkeys.funding_pubkey,
        )
    }

    /// The signed HTLC transaction for HTLC output `i`: witness `0
    /// <remotehtlcsig> <localhtlcsig> <payment_preimage>` (success) or `0
    /// <remotehtlcsig> <localhtlcsig> <>` (timeout), then the script.
    pub fn signed_htlc_transaction(
        &self,
        i: usize,
        holder_sig: &ecdsa::Signature,
        counterparty_sig: &ecdsa::Signature,
        preimage: Option<&PaymentPreimage>,
    ) -> Result<Transaction, TxBuildError> {
        let h = self.0.htlcs.get(i).ok_or(TxBuildError::NoSuchHtlc(i))?;
        let mut tx = self.0.build_htlc_tx(h);
        let mut w = Witness::new();
        w.push([0u8; 0]);
        w.push(der_with_sighash(
            counterparty_sig,
            self.0.countersignatory_htlc_sighash_type(),
        ));
        w.push(der_with_sighash(holder_sig, EcdsaSighashType::All));
        if h.offered {
            w.push([0u8; 0]);
        } else {
            match preimage {
                Some(p) if p.payment_hash() == h.htlc.payment_hash => w.push(p.0),
                _ => return Err(TxBuildError::PreimageMismatch),
            }
        }
        w.push(h.witness_script.as_bytes());
        tx.input[0].witness = w;
        Ok(tx)
    }
}
