//! BOLT 3 "Transactions": commitment, HTLC-timeout/success and closing
//! transactions.
//!
//! # Holder, counterparty, broadcaster
//! Each side holds its *own* commitment transaction (signed by the peer)
//! and can broadcast it. On the **holder** commitment we are the
//! broadcaster (BOLT 3's "local"); on the **counterparty** commitment the
//! peer is. [`ChannelTransactionParameters`] holds both sides' keys and
//! limits once, and [`ChannelTransactionParameters::build_holder_commitment`]
//! / [`build_counterparty_commitment`](ChannelTransactionParameters::build_counterparty_commitment)
//! pick, for that commitment, whose keys, dust limit and `to_self_delay`
//! apply. The results are distinct types ([`HolderCommitmentTransaction`],
//! [`CounterpartyCommitmentTransaction`]) so a signer cannot be handed the
//! wrong one. Balances and HTLC directions are given from the holder's
//! view ([`HtlcDirection`]); the builder maps them to "offered"/"received"
//! from the broadcaster's view as BOLT 3 defines outputs.
//!
//! | item | BOLT 3 section |
//! |---|---|
//! | [`ChannelTransactionParameters::funding_script`] | Funding Transaction Output |
//! | [`obscure_factor`], [`CommitmentTransaction`] | Commitment Transaction, Commitment Transaction Construction |
//! | trimming, [`commitment_fee`] | Trimmed Outputs, Fees (Fee Calculation, Fee Payment) |
//! | output order | Transaction Output Ordering (BIP 69 + `cltv_expiry`) |
//! | [`CommitmentTransaction::htlc_transaction`] | HTLC-Timeout and HTLC-Success Transactions |
//! | [`ClosingTransaction`] (in [`super::closing`]) | Closing Transaction |

use super::keys::{ChannelPublicKeys, CommitmentKeys, KeyError};
use super::script::{
    anchor_script, commitment_tx_weight, funding_script, htlc_script, to_local_script,
    to_remote_anchored_script, CommitmentFormat, ANCHOR_OUTPUT_VALUE, HTLC_SUCCESS_WEIGHT,
    HTLC_TIMEOUT_WEIGHT,
};
use super::units::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use crate::codec::{DecodeError, Readable, Writeable};
use crate::types::{PaymentHash, PaymentPreimage};
use bitcoin::absolute::LockTime;
use bitcoin::hashes::{hash160, sha256, Hash};
use bitcoin::secp256k1::{ecdsa, PublicKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, WPubkeyHash, Witness,
};
use core::fmt;
use core::ops::Deref;

mod sides;
pub use sides::{CounterpartyCommitmentTransaction, HolderCommitmentTransaction, SignatureError};

pub use super::closing::ClosingTransaction;
use std::io::{self, Read, Write};

/// Which side of the channel something belongs to, seen from this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// This node ("us").
    Holder,
    /// The channel peer.
    Counterparty,
}

impl Side {
    /// The other side.
    pub const fn other(self) -> Side {
        match self {
            Side::Holder => Side::Counterparty,
            Side::Counterparty => Side::Holder,
        }
    }
}

/// Why a transaction could not be built.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxBuildError {
    /// `bolt3-commitment-balance`: the balances and HTLCs do not add up to
    /// the channel value (in msat).
    BalanceMismatch {
        /// Sum of balances and HTLC amounts, in msat (saturating).
        total_msat: u64,
        /// The channel value in msat.
        channel_value_msat: u64,
    },
    /// A per-commitment key could not be derived.
    Key(KeyError),
    /// `bolt3-closing-fee`: the closing fee exceeds the funder's balance.
    FeeExceedsFunderBalance,
    /// An HTLC index past the commitment's HTLC outputs.
    NoSuchHtlc(usize),
    /// An HTLC-success transaction needs the preimage of the HTLC's hash.
    PreimageMismatch,
    /// Commitment keys derived for another channel or side were given.
    KeysMismatch,
    /// The commitment has HTLC outputs but its keys were derived without
    /// the HTLC keys ([`CommitmentKeys::derive_without_htlc_keys`]).
    MissingHtlcKeys,
}

impl fmt::Display for TxBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxBuildError::BalanceMismatch { total_msat, channel_value_msat } => write!(
                f,
                "bolt3-commitment-balance: balances and htlcs sum to {total_msat} msat, channel holds {channel_value_msat} msat"
            ),
            TxBuildError::Key(e) => write!(f, "key derivation failed: {e}"),
            TxBuildError::FeeExceedsFunderBalance => {
                f.write_str("bolt3-closing-fee: closing fee exceeds the funder's balance")
            }
            TxBuildError::NoSuchHtlc(i) => write!(f, "no htlc output number {i}"),
            TxBuildError::KeysMismatch => {
                f.write_str("commitment keys were derived for another channel or side")
            }
            TxBuildError::MissingHtlcKeys => {
                f.write_str("commitment has htlc outputs but no htlc keys were derived")
            }
            TxBuildError::PreimageMismatch => {
                f.write_str("the preimage does not match the htlc's payment hash")
            }
        }
    }
}
impl std::error::Error for TxBuildError {}
impl From<KeyError> for TxBuildError {
    fn from(e: KeyError) -> Self {
        TxBuildError::Key(e)
    }
}

/// Everything about a channel that every commitment, HTLC and closing
/// transaction depends on, with both sides' keys and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelTransactionParameters {
    /// Our keys.
    pub holder_pubkeys: ChannelPublicKeys,
    /// The peer's keys (from `open_channel`/`accept_channel`).
    pub counterparty_pubkeys: ChannelPublicKeys,
    /// The `to_self_delay` *we* chose: it delays the peer's outputs on the
    /// peer's commitments.
    pub holder_selected_contest_delay: u16,
    /// The `to_self_delay` the peer chose: it delays *our* outputs on our
    /// commitments.
    pub counterparty_selected_contest_delay: u16,
    /// Our `dust_limit_satoshis`, applied to our commitments.
    pub holder_dust_limit: Amount,
    /// The peer's `dust_limit_satoshis`, applied to its commitments.
    pub counterparty_dust_limit: Amount,
    /// Whether we opened (funded) the channel and so pay commitment fees.
    pub is_outbound_from_holder: bool,
    /// The funding output.
    pub funding_outpoint: OutPoint,
    /// The funding output's value.
    pub channel_value: Amount,
    /// The commitment format (channel type).
    pub format: CommitmentFormat,
}

/// The BOLT 3 obscuring factor: the lower 48 bits of
/// `SHA256(payment_basepoint from open_channel || payment_basepoint from
/// accept_channel)`.
pub fn obscure_factor(opener_payment_point: &PublicKey, accepter_payment_point: &PublicKey) -> u64 {
    let mut e = sha256::Hash::engine();
    bitcoin::hashes::HashEngine::input(&mut e, &opener_payment_point.serialize());
    bitcoin::hashes::HashEngine::input(&mut e, &accepter_payment_point.serialize());
    let h = sha256::Hash::from_engine(e).to_byte_array();
    let mut low = [0u8; 8];
    low[2..].copy_from_slice(&h[26..]);
    u64::from_be_bytes(low)
}

/// One side's view of which keys and limits apply to a commitment.
struct Directed<'a> {
    side: Side,
    broadcaster: &'a ChannelPublicKeys,
    countersignatory: &'a ChannelPublicKeys,
    contest_delay: u16,
    dust_limit: Amount,
    broadcaster_is_funder: bool,
}

impl ChannelTransactionParameters {
    /// The funding output's witness script (sorted 2-of-2).
    pub fn funding_script(&self) -> ScriptBuf {
        funding_script(
            &self.holder_pubkeys.funding_pubkey,
            &self.counterparty_pubkeys.funding_pubkey,
        )
    }

    /// The commitment number obscuring factor of this channel.
    pub fn obscure_factor(&self) -> u64 {
        if self.is_outbound_from_holder {
            obscure_factor(
                &self.holder_pubkeys.payment_point,
                &self.counterparty_pubkeys.payment_point,
            )
        } else {
            obscure_factor(
                &self.counterparty_pubkeys.payment_point,
                &self.holder_pubkeys.payment_point,
            )
        }
    }

    /// The same channel seen from the peer: holder and counterparty swapped.
    pub fn mirrored(&self) -> ChannelTransactionParameters {
        ChannelTransactionParameters {
            holder_pubkeys: self.counterparty_pubkeys,
            counterparty_pubkeys: self.holder_pubkeys,
            holder_selected_contest_delay: self.counterparty_selected_contest_delay,
            counterparty_selected_contest_delay: self.holder_selected_contest_delay,
            holder_dust_limit: self.counterparty_dust_limit,
            counterparty_dust_limit: self.holder_dust_limit,
            is_outbound_from_holder: !self.is_outbound_from_holder,
            funding_outpoint: self.funding_outpoint,
            channel_value: self.channel_value,
            format: self.format,
        }
    }

    fn directed(&self, broadcaster: Side) -> Directed<'_> {
        match broadcaster {
            Side::Holder => Directed {
                side: Side::Holder,
                broadcaster: &self.holder_pubkeys,
                countersignatory: &self.counterparty_pubkeys,
                // Our outputs on our commitment wait the delay the peer chose.
                contest_delay: self.counterparty_selected_contest_delay,
                dust_limit: self.holder_dust_limit,
                broadcaster_is_funder: self.is_outbound_from_holder,
            },
            Side::Counterparty => Directed {
                side: Side::Counterparty,
                broadcaster: &self.counterparty_pubkeys,
                countersignatory: &self.holder_pubkeys,
                contest_delay: self.holder_selected_contest_delay,
                dust_limit: self.counterparty_dust_limit,
                broadcaster_is_funder: !self.is_outbound_from_holder,
            },
        }
    }

    fn origin(&self, broadcaster: Side) -> KeyOrigin {
        let d = self.directed(broadcaster);
        KeyOrigin {
            broadcaster_funding: d.broadcaster.funding_pubkey,
            countersignatory_funding: d.countersignatory.funding_pubkey,
        }
    }

    /// The output script of `side`'s `to_remote` output on the other side's
    /// commitments (BOLT 3 `to_remote` Output; with `option_static_remotekey`
    /// and anchors it never changes): P2WPKH of its `payment_basepoint`, or
    /// the P2WSH of the one-block-delayed script with anchors.
    pub fn to_remote_script_pubkey(&self, side: Side) -> ScriptBuf {
        let key = match side {
            Side::Holder => &self.holder_pubkeys.payment_point,
            Side::Counterparty => &self.counterparty_pubkeys.payment_point,
        };
        if self.format.has_anchors() {
            ScriptBuf::new_p2wsh(&to_remote_anchored_script(key).wscript_hash())
        } else {
            p2wpkh(key)
        }
    }

    /// Derives the keys of our own commitment from our
    /// `per_commitment_point` (BOLT 3 Key Derivation). Derive once per
    /// commitment and reuse with
    /// [`build_holder_commitment_with_keys`](Self::build_holder_commitment_with_keys).
    pub fn holder_commitment_keys(
        &self,
        per_commitment_point: &PublicKey,
    ) -> Result<HolderCommitmentKeys, KeyError> {
        let d = self.directed(Side::Holder);
        Ok(HolderCommitmentKeys {
            keys: CommitmentKeys::derive(per_commitment_point, d.broadcaster, d.countersignatory)?,
            origin: self.origin(Side::Holder),
        })
    }

    /// Derives the keys of the peer's commitment from the peer's
    /// `per_commitment_point`.
    pub fn counterparty_commitment_keys(
        &self,
        per_commitment_point: &PublicKey,
    ) -> Result<CounterpartyCommitmentKeys, KeyError> {
        let d = self.directed(Side::Counterparty);
        Ok(CounterpartyCommitmentKeys {
            keys: CommitmentKeys::derive(per_commitment_point, d.broadcaster, d.countersignatory)?,
            origin: self.origin(Side::Counterparty),
        })
    }

    /// The keys of `side`'s commitment with these HTLCs: the HTLC keys
    /// (two curve multiplications) only when some HTLC gets an output.
    fn derive_keys(
        &self,
        side: Side,
        per_commitment_point: &PublicKey,
        feerate: FeeRatePerKw,
        htlcs: &[Htlc],
    ) -> Result<CommitmentKeys, KeyError> {
        let d = self.directed(side);
        let any_output = htlcs.iter().any(|h| {
            !is_trimmed(
                self.format,
                feerate,
                d.dust_limit,
                h.amount,
                h.offered_by(d.side),
            )
        });
        if any_output {
            CommitmentKeys::derive(per_commitment_point, d.broadcaster, d.countersignatory)
        } else {
            CommitmentKeys::derive_without_htlc_keys(
                per_commitment_point,
                d.broadcaster,
                d.countersignatory,
            )
        }
    }

    /// Builds our own commitment number `number` (the one we would
    /// broadcast) with our `per_commitment_point`. Balances and HTLC
    /// directions are from the holder's view.
    pub fn build_holder_commitment(
        &self,
        number: CommitmentNumber,
        per_commitment_point: &PublicKey,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        feerate: FeeRatePerKw,
        htlcs: &[Htlc],
    ) -> Result<HolderCommitmentTransaction, TxBuildError> {
        let keys = HolderCommitmentKeys {
            keys: self.derive_keys(Side::Holder, per_commitment_point, feerate, htlcs)?,
            origin: self.origin(Side::Holder),
        };
        self.build_holder_commitment_with_keys(
            number,
            &keys,
            to_holder,
            to_counterparty,
            feerate,
            htlcs,
        )
    }

    /// [`build_holder_commitment`](Self::build_holder_commitment) with keys
    /// already derived for this commitment. `TxBuildError::KeysMismatch` if
    /// they were derived for another channel.
    pub fn build_holder_commitment_with_keys(
        &self,
        number: CommitmentNumber,
        keys: &HolderCommitmentKeys,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        feerate: FeeRatePerKw,
        htlcs: &[Htlc],
    ) -> Result<HolderCommitmentTransaction, TxBuildError> {
        if keys.origin != self.origin(Side::Holder) {
            return Err(TxBuildError::KeysMismatch);
        }
        build_commitment(
            self,
            Side::Holder,
            number,
            keys.keys,
            to_holder,
            to_counterparty,
            feerate,
            htlcs,
        )
        .map(HolderCommitmentTransaction)
    }

    /// Builds the peer's commitment number `number` with the peer's
    /// `per_commitment_point`. Balances and HTLC directions are from the
    /// holder's view.
    pub fn build_counterparty_commitment(
        &self,
        number: CommitmentNumber,
        per_commitment_point: &PublicKey,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        feerate: FeeRatePerKw,
        htlcs: &[Htlc],
    ) -> Result<CounterpartyCommitmentTransaction, TxBuildError> {
        let keys = CounterpartyCommitmentKeys {
            keys: self.derive_keys(Side::Counterparty, per_commitment_point, feerate, htlcs)?,
            origin: self.origin(Side::Counterparty),
        };
        self.build_counterparty_commitment_with_keys(
            number,
            &keys,
            to_holder,
            to_counterparty,
            feerate,
            htlcs,
        )
    }

    /// [`build_counterparty_commitment`](Self::build_counterparty_commitment)
    /// with keys already derived for this commitment.
    pub fn build_counterparty_commitment_with_keys(
        &self,
        number: CommitmentNumber,
        keys: &CounterpartyCommitmentKeys,
        to_holder: MilliSatoshi,
        to_counterparty: MilliSatoshi,
        feerate: FeeRatePerKw,
        htlcs: &[Htlc],
    ) -> Result<CounterpartyCommitmentTransaction, TxBuildError> {
        if keys.origin != self.origin(Side::Counterparty) {
            return Err(TxBuildError::KeysMismatch);
        }
        build_commitment(
            self,
            Side::Counterparty,
            number,
            keys.keys,
            to_holder,
            to_counterparty,
            feerate,
            htlcs,
        )
        .map(CounterpartyCommitmentTransaction)
    }
}

/// Which channel and side a set of commitment keys was derived for
/// (checked cheaply by the `*_with_keys` builders).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KeyOrigin {
    broadcaster_funding: PublicKey,
    countersignatory_funding: PublicKey,
}

/// Per-commitment keys of one of *our* commitments (we broadcast it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HolderCommitmentKeys {
    keys: CommitmentKeys,
    origin: KeyOrigin,
}

/// Per-commitment keys of one of the *peer's* commitments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterpartyCommitmentKeys {
    keys: CommitmentKeys,
    origin: KeyOrigin,
}

impl Deref for HolderCommitmentKeys {
    type Target = CommitmentKeys;
    fn deref(&self) -> &CommitmentKeys {
        &self.keys
    }
}
impl Deref for CounterpartyCommitmentKeys {
    type Target = CommitmentKeys;
    fn deref(&self) -> &CommitmentKeys {
        &self.keys
    }
}

/// Who offered an HTLC, from the holder's view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HtlcDirection {
    /// We offered it (an outgoing payment or forward).
    HolderOffered,
    /// The peer offered it (an incoming payment or forward).
    CounterpartyOffered,
}

/// An HTLC committed in the channel, as the state machine knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Htlc {
    /// Who offered it.
    pub direction: HtlcDirection,
    /// Its amount.
    pub amount: MilliSatoshi,
    /// Its `cltv_expiry`.
    pub cltv_expiry: u32,
    /// Its payment hash.
    pub payment_hash: PaymentHash,
}

impl Htlc {
    /// Whether it is an *offered* HTLC on the commitment broadcast by `broadcaster`.
    pub fn offered_by(&self, broadcaster: Side) -> bool {
        matches!(
            (self.direction, broadcaster),
            (HtlcDirection::HolderOffered, Side::Holder)
                | (HtlcDirection::CounterpartyOffered, Side::Counterparty)
        )
    }
}

/// An untrimmed HTLC output of a built commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtlcOutput {
    /// The HTLC.
    pub htlc: Htlc,
    /// Index of the HTLC in the slice given to the builder.
    pub source_index: usize,
    /// `true` for an offered output (HTLC-timeout), `false` for received
    /// (HTLC-success), from the broadcaster's view.
    pub offered: bool,
    /// Index of the output in the commitment transaction.
    pub output_index: u32,
    /// Its witness script (built once with the commitment's keys).
    pub witness_script: ScriptBuf,
}

impl HtlcOutput {
    /// The output value in whole satoshis.
    pub fn value(&self) -> Amount {
        self.htlc.amount.to_sat_floor()
    }
}

/// The fee of an HTLC-timeout (`offered`) or HTLC-success transaction
/// (BOLT 3 Fee Calculation; zero with `option_anchors`, whose HTLC
/// transactions are zero-fee).
pub fn htlc_tx_fee(format: CommitmentFormat, feerate: FeeRatePerKw, offered: bool) -> Amount {
    if format.has_anchors() {
        Amount::ZERO
    } else if offered {
        feerate.fee_for_weight(HTLC_TIMEOUT_WEIGHT)
    } else {
        feerate.fee_for_weight(HTLC_SUCCESS_WEIGHT)
    }
}

/// The base commitment fee for `untrimmed_htlcs` HTLC outputs (BOLT 3 Fee
/// Calculation), excluding anchor values.
pub fn commitment_fee(
    format: CommitmentFormat,
    feerate: FeeRatePerKw,
    untrimmed_htlcs: usize,
) -> Amount {
    feerate.fee_for_weight(commitment_tx_weight(format, untrimmed_htlcs))
}

/// Whether an HTLC is trimmed from a commitment with this dust limit
/// (BOLT 3 Trimmed Outputs: "if the HTLC amount minus the HTLC-timeout
/// (or HTLC-success) fee would be less than `dust_limit_satoshis`").
pub fn is_trimmed(
    format: CommitmentFormat,
    feerate: FeeRatePerKw,
    dust_limit: Amount,
    amount: MilliSatoshi,
    offered: bool,
) -> bool {
    let fee = htlc_tx_fee(format, feerate, offered);
    // Checked: the dust limit comes from the peer's open/accept message.
    amount.to_sat_floor() < dust_limit.checked_add(fee).unwrap_or(Amount::MAX)
}

/// A built, unsigned commitment transaction with what is needed to sign
/// it and its HTLC transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentTransaction {
    broadcaster: Side,
    number: CommitmentNumber,
    format: CommitmentFormat,
    feerate: FeeRatePerKw,
    keys: CommitmentKeys,
    contest_delay: u16,
    tx: Transaction,
    txid: Txid,
    to_broadcaster: Option<(Amount, u32)>,
    to_countersignatory: Option<(Amount, u32)>,
    htlcs: Vec<HtlcOutput>,
    trimmed: Vec<Htlc>,
    funding_script: ScriptBuf,
    funding_value: Amount,
    fee: Amount,
    /// The P2WSH output script every HTLC transaction of this commitment
    /// pays to (`to_local` script with this commitment's keys), built once.
    htlc_tx_output_script: ScriptBuf,
}

#[allow(clippy::too_many_arguments)]
fn build_commitment(
    params: &ChannelTransactionParameters,
    broadcaster: Side,
    number: CommitmentNumber,
    keys: CommitmentKeys,
    to_holder: MilliSatoshi,
    to_counterparty: MilliSatoshi,
    feerate: FeeRatePerKw,
    htlcs: &[Htlc],
) -> Result<CommitmentTransaction, TxBuildError> {
    let d = params.directed(broadcaster);
    let format = params.format;

    let channel_value_msat = params.channel_value.to_sat().saturating_mul(1000);
    let total_msat = htlcs
        .iter()
        .fold(to_holder.0.saturating_add(to_counterparty.0), |acc, h| {
            acc.saturating_add(h.amount.0)
        });
    if total_msat != channel_value_msat {
        return Err(TxBuildError::BalanceMismatch {
            total_msat,
            channel_value_msat,
        });
    }

    // Trimmed Outputs.
    let mut untrimmed: Vec<(usize, bool)> = Vec::with_capacity(htlcs.len());
    let mut trimmed = Vec::new();
    for (i, h) in htlcs.iter().enumerate() {
        let offered = h.offered_by(d.side);
        if is_trimmed(format, feerate, d.dust_limit, h.amount, offered) {
            trimmed.push(*h);
        } else {
            untrimmed.push((i, offered));
        }
    }

    // Fee Payment: base fee and (with anchors) the two anchors come out of
    // the funder's balance, floored at zero.
    let base_fee = commitment_fee(format, feerate, untrimmed.len());
    let anchors_value = if format.has_anchors() {
        ANCHOR_OUTPUT_VALUE * 2
    } else {
        Amount::ZERO
    };
    let (to_broadcaster_msat, to_countersignatory_msat) = match d.side {
        Side::Holder => (to_holder, to_counterparty),
        Side::Counterparty => (to_counterparty, to_holder),
    };
    let mut to_broadcaster = to_broadcaster_msat.to_sat_floor();
    let mut to_countersignatory = to_countersignatory_msat.to_sat_floor();
    let charge = base_fee.checked_add(anchors_value).unwrap_or(Amount::MAX);
    if d.broadcaster_is_funder {
        to_broadcaster = to_broadcaster.checked_sub(charge).unwrap_or(Amount::ZERO);
    } else {
        to_countersignatory = to_countersignatory
            .checked_sub(charge)
            .unwrap_or(Amount::ZERO);
    }

    // Outputs, each with its BIP 69 + CLTV sort key.
    enum Kind {
        ToBroadcaster,
        ToCountersignatory,
        Anchor,
        Htlc(usize),
    }
    let mut outputs: Vec<(TxOut, u32, Kind)> = Vec::with_capacity(untrimmed.len() + 4);
    let mut htlc_scripts: Vec<ScriptBuf> = Vec::with_capacity(untrimmed.len());
    for (n, &(i, offered)) in untrimmed.iter().enumerate() {
        let h = &htlcs[i];
        // Keys derived without HTLC keys serve HTLC-less commitments only.
        let hk = keys.htlc.as_ref().ok_or(TxBuildError::MissingHtlcKeys)?;
        let ws = htlc_script(
            &keys.revocation_key,
            hk,
            offered,
            &h.payment_hash,
            h.cltv_expiry,
            format,
        );
        outputs.push((
            TxOut {
                value: h.amount.to_sat_floor(),
                script_pubkey: ScriptBuf::new_p2wsh(&ws.wscript_hash()),
            },
            h.cltv_expiry,
            Kind::Htlc(n),
        ));
        htlc_scripts.push(ws);
    }
    // The to_local script is also the output script of every HTLC
    // transaction of this commitment: build it once.
    let to_local_spk = ScriptBuf::new_p2wsh(
        &to_local_script(
            &keys.revocation_key,
            d.contest_delay,
            &keys.broadcaster_delayed_payment_key,
        )
        .wscript_hash(),
    );
    let has_to_broadcaster = to_broadcaster >= d.dust_limit;
    if has_to_broadcaster {
        outputs.push((
            TxOut {
                value: to_broadcaster,
                script_pubkey: to_local_spk.clone(),
            },
            0,
            Kind::ToBroadcaster,
        ));
    }
    let has_to_countersignatory = to_countersignatory >= d.dust_limit;
    if has_to_countersignatory {
        let spk = if format.has_anchors() {
            ScriptBuf::new_p2wsh(
                &to_remote_anchored_script(&keys.countersignatory_payment_key).wscript_hash(),
            )
        } else {
            p2wpkh(&keys.countersignatory_payment_key)
        };
        outputs.push((
            TxOut {
                value: to_countersignatory,
                script_pubkey: spk,
            },
            0,
            Kind::ToCountersignatory,
        ));
    }
    if format.has_anchors() {
        // Commitment Transaction Construction step 8.
        if has_to_broadcaster || !untrimmed.is_empty() {
            let spk =
                ScriptBuf::new_p2wsh(&anchor_script(&d.broadcaster.funding_pubkey).wscript_hash());
            outputs.push((
                TxOut {
                    value: ANCHOR_OUTPUT_VALUE,
                    script_pubkey: spk,
                },
                0,
                Kind::Anchor,
            ));
        }
        if has_to_countersignatory || !untrimmed.is_empty() {
            let spk = ScriptBuf::new_p2wsh(
                &anchor_script(&d.countersignatory.funding_pubkey).wscript_hash(),
            );
            outputs.push((
                TxOut {
                    value: ANCHOR_OUTPUT_VALUE,
                    script_pubkey: spk,
                },
                0,
                Kind::Anchor,
            ));
        }
    }
    // Transaction Output Ordering: value, then scriptpubkey (memcmp of the
    // common prefix, shorter first), then cltv_expiry for HTLCs. The sort
    // is stable, so fully identical HTLCs keep the order they were given.
    outputs.sort_by(|a, b| {
        a.0.value
            .cmp(&b.0.value)
            .then_with(|| {
                a.0.script_pubkey
                    .as_bytes()
                    .cmp(b.0.script_pubkey.as_bytes())
            })
            .then_with(|| a.1.cmp(&b.1))
    });

    let mut htlc_outputs: Vec<Option<HtlcOutput>> = vec![None; untrimmed.len()];
    let mut to_b = None;
    let mut to_c = None;
    let mut txouts = Vec::with_capacity(outputs.len());
    let mut scripts = htlc_scripts.into_iter().map(Some).collect::<Vec<_>>();
    for (idx, (out, _, kind)) in outputs.into_iter().enumerate() {
        let idx = idx as u32;
        match kind {
            Kind::ToBroadcaster => to_b = Some((out.value, idx)),
            Kind::ToCountersignatory => to_c = Some((out.value, idx)),
            Kind::Anchor => {}
            Kind::Htlc(n) => {
                let (i, offered) = untrimmed[n];
                htlc_outputs[n] = Some(HtlcOutput {
                    htlc: htlcs[i],
                    source_index: i,
                    offered,
                    output_index: idx,
                    witness_script: scripts[n].take().unwrap_or_default(),
                });
            }
        }
        txouts.push(out);
    }
    let mut htlc_outputs: Vec<HtlcOutput> = htlc_outputs.into_iter().flatten().collect();
    htlc_outputs.sort_by_key(|h| h.output_index);

    // Commitment Transaction: locktime and sequence carry the obscured number.
    let obscured = (number.value() ^ params.obscure_factor()) & super::units::MAX_COMMITMENT_NUMBER;
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::from_consensus((0x20 << 24) | (obscured & 0xff_ffff) as u32),
        input: vec![TxIn {
            previous_output: params.funding_outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence((0x80 << 24) | (obscured >> 24) as u32),
            witness: Witness::new(),
        }],
        output: txouts,
    };
    let out_total: Amount = tx.output.iter().map(|o| o.value).sum();
    let fee = params
        .channel_value
        .checked_sub(out_total)
        .unwrap_or(Amount::ZERO);
    Ok(CommitmentTransaction {
        broadcaster,
        number,
        format,
        feerate,
        keys,
        contest_delay: d.contest_delay,
        txid: tx.compute_txid(),
        tx,
        to_broadcaster: to_b,
        to_countersignatory: to_c,
        htlcs: htlc_outputs,
        trimmed,
        funding_script: params.funding_script(),
        funding_value: params.channel_value,
        fee,
        htlc_tx_output_script: to_local_spk,
    })
}

fn p2wpkh(key: &PublicKey) -> ScriptBuf {
    let h = hash160::Hash::hash(&key.serialize());
    ScriptBuf::new_p2wpkh(&WPubkeyHash::from_raw_hash(h))
}

/// Appends the sighash type byte to a DER signature, as witnesses carry it.
pub fn der_with_sighash(sig: &ecdsa::Signature, ty: EcdsaSighashType) -> Vec<u8> {
    let mut v = sig.serialize_der().to_vec();
    v.push(ty.to_u32() as u8);
    v
}

/// The BIP 143 sighash of input 0 spending a P2WSH output.
pub fn p2wsh_sighash(
    tx: &Transaction,
    witness_script: &ScriptBuf,
    value: Amount,
    ty: EcdsaSighashType,
) -> [u8; 32] {
    SighashCache::new(tx)
        .p2wsh_signature_hash(0, witness_script, value, ty)
        .map(|h| h.to_byte_array())
        .expect("every transaction built here has an input 0")
}

impl CommitmentTransaction {
    /// Whose commitment this is.
    pub fn broadcaster(&self) -> Side {
        self.broadcaster
    }
    /// Its commitment number.
    pub fn number(&self) -> CommitmentNumber {
        self.number
    }
    /// Its format.
    pub fn format(&self) -> CommitmentFormat {
        self.format
    }
    /// The fee rate it was built with.
    pub fn feerate(&self) -> FeeRatePerKw {
        self.feerate
    }
    /// The per-commitment keys.
    pub fn keys(&self) -> &CommitmentKeys {
        &self.keys
    }
    /// The unsigned transaction.
    pub fn transaction(&self) -> &Transaction {
        &self.tx
    }
    /// Its txid (witness-independent, so known before signing).
    pub fn txid(&self) -> Txid {
        self.txid
    }
    /// The untrimmed HTLC outputs in output order: the order of
    /// `htlc_signatures` in `commitment_signed` (BOLT 2).
    pub fn htlcs(&self) -> &[HtlcOutput] {
        &self.htlcs
    }
    /// The HTLCs trimmed as dust (their value went to fees).
    pub fn trimmed_htlcs(&self) -> &[Htlc] {
        &self.trimmed
    }
    /// The broadcaster's own output (value, index), if not trimmed.
    pub fn to_broadcaster_output(&self) -> Option<(Amount, u32)> {
        self.to_broadcaster
    }
    /// The countersignatory's output (value, index), if not trimmed.
    pub fn to_countersignatory_output(&self) -> Option<(Amount, u32)> {
        self.to_countersignatory
    }
    /// The `to_self_delay` on the broadcaster's outputs.
    pub fn contest_delay(&self) -> u16 {
        self.contest_delay
    }
    /// The actual fee: funding value minus all outputs (base fee, trimmed
    /// dust and rounding).
    pub fn fee(&self) -> Amount {
        self.fee
    }
    /// The funding output's witness script.
    pub fn funding_script(&self) -> &ScriptBuf {
        &self.funding_script
    }
    /// The sighash both funding keys sign (SIGHASH_ALL).
    pub fn funding_sighash(&self) -> [u8; 32] {
        p2wsh_sighash(
            &self.tx,
            &self.funding_script,
            self.funding_value,
            EcdsaSighashType::All,
        )
    }

    /// The unsigned HTLC-timeout (offered) or HTLC-success (received)
    /// transaction spending HTLC output `i` (BOLT 3 HTLC-Timeout and
    /// HTLC-Success Transactions).
    pub fn htlc_transaction(&self, i: usize) -> Result<Transaction, TxBuildError> {
        let h = self.htlcs.get(i).ok_or(TxBuildError::NoSuchHtlc(i))?;
        Ok(self.build_htlc_tx(h))
    }

    fn build_htlc_tx(&self, h: &HtlcOutput) -> Transaction {
        let fee = htlc_tx_fee(self.format, self.feerate, h.offered);
        let value = h.value().checked_sub(fee).unwrap_or(Amount::ZERO);
        Transaction {
            version: Version::TWO,
            lock_time: if h.offered {
                LockTime::from_consensus(h.htlc.cltv_expiry)
            } else {
                LockTime::ZERO
            },
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: self.txid,
                    vout: h.output_index,
                },
                script_sig: ScriptBuf::new(),
                sequence: if self.format.has_anchors() {
                    Sequence(1)
                } else {
                    Sequence::ZERO
                },
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value,
                script_pubkey: self.htlc_tx_output_script.clone(),
            }],
        }
    }

    /// The sighash type the countersignatory uses on HTLC transactions:
    /// `SIGHASH_SINGLE|SIGHASH_ANYONECANPAY` with anchors, else `SIGHASH_ALL`.
    pub fn countersignatory_htlc_sighash_type(&self) -> EcdsaSighashType {
        if self.format.has_anchors() {
            EcdsaSighashType::SinglePlusAnyoneCanPay
        } else {
            EcdsaSighashType::All
        }
    }

    /// The sighashes of all HTLC transactions, in output order, for
    /// signatures of sighash type `ty`. Each HTLC transaction is built once,
    /// reusing the commitment's txid and the shared output script.
    ///
    /// No BIP 143 midstate can be shared *between* HTLC transactions: with
    /// `SIGHASH_ALL` each one's `hashPrevouts`/`hashOutputs` commit to its own
    /// outpoint and output, and with `SIGHASH_SINGLE|ANYONECANPAY` only the
    /// zeroed 64-byte prefix is common, which saves one SHA256 block out of
    /// about ten. Signing (one `k·G` each) dominates either way.
    pub fn htlc_sighashes(&self, ty: EcdsaSighashType) -> Vec<[u8; 32]> {
        self.htlcs
            .iter()
            .map(|h| p2wsh_sighash(&self.build_htlc_tx(h), &h.witness_script, h.value(), ty))
            .collect()
    }

    /// Assembles the witness `0 <sig_for_pubkey1> <sig_for_pubkey2>
    /// <funding_script>` given each side's signature and funding key.
    fn finalize(
        &self,
        sig_a: &ecdsa::Signature,
        key_a: &PublicKey,
        sig_b: &ecdsa::Signature,
        key_b: &PublicKey,
    ) -> Transaction {
        let mut tx = self.tx.clone();
        tx.input[0].witness = multisig_witness(&self.funding_script, sig_a, key_a, sig_b, key_b);
        tx
    }
}

pub(super) fn multisig_witness(
    script: &ScriptBuf,
    sig_a: &ecdsa::Signature,
    key_a: &PublicKey,
    sig_b: &ecdsa::Signature,
    key_b: &PublicKey,
) -> Witness {
    let (s1, s2) = if key_a.serialize() <= key_b.serialize() {
        (sig_a, sig_b)
    } else {
        (sig_b, sig_a)
    };
    let mut w = Witness::new();
    w.push([0u8; 0]);
    w.push(der_with_sighash(s1, EcdsaSighashType::All));
    w.push(der_with_sighash(s2, EcdsaSighashType::All));
    w.push(script.as_bytes());
    w
}

/// Persisted form: version byte 1, both sides' keys, the two delays and
/// dust limits, the funder flag, the funding outpoint and value, the format.
impl Writeable for ChannelTransactionParameters {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        1u8.write(w)?;
        self.holder_pubkeys.write(w)?;
        self.counterparty_pubkeys.write(w)?;
        self.holder_selected_contest_delay.write(w)?;
        self.counterparty_selected_contest_delay.write(w)?;
        self.holder_dust_limit.to_sat().write(w)?;
        self.counterparty_dust_limit.to_sat().write(w)?;
        self.is_outbound_from_holder.write(w)?;
        self.funding_outpoint.txid.write(w)?;
        self.funding_outpoint.vout.write(w)?;
        self.channel_value.to_sat().write(w)?;
        self.format.to_byte().write(w)
    }
    fn size_hint(&self) -> usize {
        1 + 330 + 4 + 16 + 1 + 36 + 8 + 1
    }
}

impl Readable for ChannelTransactionParameters {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        if u8::read(r)? != 1 {
            return Err(DecodeError::UnknownVersion);
        }
        Ok(ChannelTransactionParameters {
            holder_pubkeys: Readable::read(r)?,
            counterparty_pubkeys: Readable::read(r)?,
            holder_selected_contest_delay: Readable::read(r)?,
            counterparty_selected_contest_delay: Readable::read(r)?,
            holder_dust_limit: Amount::from_sat(u64::read(r)?),
            counterparty_dust_limit: Amount::from_sat(u64::read(r)?),
            is_outbound_from_holder: Readable::read(r)?,
            funding_outpoint: OutPoint {
                txid: Readable::read(r)?,
                vout: Readable::read(r)?,
            },
            channel_value: Amount::from_sat(u64::read(r)?),
            format: CommitmentFormat::from_byte(u8::read(r)?).ok_or(DecodeError::InvalidValue)?,
        })
    }
}
