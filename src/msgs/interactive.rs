//! BOLT 2 interactive transaction construction, dual funding (v2
//! establishment), splicing and `start_batch`.

use super::features::ChannelTypeFeatures;
use crate::codec::{DecodeError, Readable, TlvValue, WithU16Len, Writeable};
use crate::types::{ChannelId, Point, WireSignature};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::consensus::{Decodable, Encodable};
use bitcoin::{ScriptBuf, Transaction, Txid, Witness};
use std::io::{self, Read, Write};

/// A `prevtx` field: `u16` length then the transaction. BOLT 2 allows an
/// empty one (length 0) only for the shared input of a splice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrevTx(pub Option<Transaction>);

impl Readable for PrevTx {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes = WithU16Len::read(r)?.0;
        if bytes.is_empty() {
            return Ok(PrevTx(None));
        }
        let mut slice = bytes.as_slice();
        let tx =
            Transaction::consensus_decode(&mut slice).map_err(|_| DecodeError::InvalidValue)?;
        if !slice.is_empty() {
            return Err(DecodeError::BadLengthDescriptor);
        }
        Ok(PrevTx(Some(tx)))
    }
}
impl Writeable for PrevTx {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        match &self.0 {
            None => 0u16.write(w),
            Some(tx) => tx.write(w),
        }
    }
}

/// One input's witness in `tx_signatures`: `u16` length then the witness
/// in bitcoin's encoding (item count, then each item with its length).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireWitness(pub Witness);

impl Readable for WireWitness {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let bytes = WithU16Len::read(r)?.0;
        let mut slice = bytes.as_slice();
        let w = Witness::consensus_decode(&mut slice).map_err(|_| DecodeError::InvalidValue)?;
        if !slice.is_empty() {
            return Err(DecodeError::BadLengthDescriptor);
        }
        Ok(WireWitness(w))
    }
}
impl Writeable for WireWitness {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut bytes = Vec::new();
        self.0
            .consensus_encode(&mut bytes)
            .expect("writing into a Vec<u8> never fails");
        crate::codec::write_u16_prefixed(w, &bytes)
    }
}

/// An empty TLV value whose presence is the information
/// (`require_confirmed_inputs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flag;

impl TlvValue for Flag {
    fn value_len(&self) -> usize {
        0
    }
    fn write_value<W: Write>(&self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.is_empty() {
            Ok(Flag)
        } else {
            Err(DecodeError::BadLengthDescriptor)
        }
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_add_input` (type 66): add an input to the transaction being built.
    pub struct TxAddInput = 66 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The input's id (even from the initiator, odd from the other side).
        pub serial_id: u64,
        /// The transaction whose output is spent (empty for a splice's shared input).
        pub prevtx: PrevTx,
        /// The output index spent.
        pub prevtx_vout: u32,
        /// The input's nSequence.
        pub sequence: u32,
    }
    tlvs {
        /// For a splice: the current funding txid this shared input spends.
        (0, shared_input_txid: Txid, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_add_output` (type 67): add an output.
    pub struct TxAddOutput = 67 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The output's id.
        pub serial_id: u64,
        /// Its value.
        pub sats: u64,
        /// Its script.
        pub script: ScriptBuf,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_remove_input` (type 68): remove an input the sender added.
    pub struct TxRemoveInput = 68 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The input's id.
        pub serial_id: u64,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_remove_output` (type 69): remove an output the sender added.
    pub struct TxRemoveOutput = 69 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The output's id.
        pub serial_id: u64,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_complete` (type 70): the sender has nothing more to add.
    pub struct TxComplete = 70 {
        /// The channel.
        pub channel_id: ChannelId,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_signatures` (type 71): the sender's witnesses for its inputs.
    pub struct TxSignatures = 71 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The transaction signed.
        pub txid: Txid,
        /// One witness per input the sender added, by serial id.
        pub witnesses: Vec<WireWitness>,
    }
    tlvs {
        /// For a splice: the signature spending the shared funding input.
        (0, shared_input_signature: WireSignature, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_init_rbf` (type 72): replace the funding transaction at a higher fee.
    pub struct TxInitRbf = 72 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The new transaction's locktime.
        pub locktime: u32,
        /// The new feerate (per kw).
        pub feerate: u32,
    }
    tlvs {
        /// The sender's contribution to the funding output (may be negative).
        (0, funding_output_contribution: i64, option),
        /// The receiver must use only confirmed inputs.
        (2, require_confirmed_inputs: Flag, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_ack_rbf` (type 73): accept a `tx_init_rbf`.
    pub struct TxAckRbf = 73 {
        /// The channel.
        pub channel_id: ChannelId,
    }
    tlvs {
        /// The sender's contribution to the funding output.
        (0, funding_output_contribution: i64, option),
        /// The receiver must use only confirmed inputs.
        (2, require_confirmed_inputs: Flag, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `tx_abort` (type 74): abandon the transaction being built.
    pub struct TxAbort = 74 {
        /// The channel.
        pub channel_id: ChannelId,
        /// Why.
        pub data: WithU16Len,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `open_channel2` (type 64): propose a dual-funded channel.
    pub struct OpenChannel2 = 64 {
        /// The chain.
        pub chain_hash: ChainHash,
        /// The temporary id.
        pub temporary_channel_id: ChannelId,
        /// Feerate of the funding transaction.
        pub funding_feerate_perkw: u32,
        /// Feerate of the commitment transactions.
        pub commitment_feerate_perkw: u32,
        /// The opener's contribution.
        pub funding_satoshis: u64,
        /// Dust limit of the opener's commitment.
        pub dust_limit_satoshis: u64,
        /// Cap on the accepter's outstanding offered HTLCs.
        pub max_htlc_value_in_flight_msat: u64,
        /// Smallest HTLC the opener accepts.
        pub htlc_minimum_msat: u64,
        /// Delay the accepter's to_self outputs must wait.
        pub to_self_delay: u16,
        /// Most HTLCs the accepter may offer.
        pub max_accepted_htlcs: u16,
        /// The funding transaction's locktime.
        pub locktime: u32,
        /// Funding key.
        pub funding_pubkey: Point,
        /// Revocation basepoint.
        pub revocation_basepoint: Point,
        /// Payment basepoint.
        pub payment_basepoint: Point,
        /// Delayed payment basepoint.
        pub delayed_payment_basepoint: Point,
        /// HTLC basepoint.
        pub htlc_basepoint: Point,
        /// First per-commitment point.
        pub first_per_commitment_point: Point,
        /// Second per-commitment point.
        pub second_per_commitment_point: Point,
        /// Bit 0: announce the channel.
        pub channel_flags: u8,
    }
    tlvs {
        /// Upfront shutdown script.
        (0, shutdown_scriptpubkey: ScriptBuf, option),
        /// The channel type.
        (1, channel_type: ChannelTypeFeatures, option),
        /// The accepter must use only confirmed inputs.
        (2, require_confirmed_inputs: Flag, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `accept_channel2` (type 65): accept a dual-funded channel.
    pub struct AcceptChannel2 = 65 {
        /// The temporary id.
        pub temporary_channel_id: ChannelId,
        /// The accepter's contribution.
        pub funding_satoshis: u64,
        /// Dust limit of the accepter's commitment.
        pub dust_limit_satoshis: u64,
        /// Cap on the opener's outstanding offered HTLCs.
        pub max_htlc_value_in_flight_msat: u64,
        /// Smallest HTLC the accepter accepts.
        pub htlc_minimum_msat: u64,
        /// Confirmations wanted.
        pub minimum_depth: u32,
        /// Delay the opener's to_self outputs must wait.
        pub to_self_delay: u16,
        /// Most HTLCs the opener may offer.
        pub max_accepted_htlcs: u16,
        /// Funding key.
        pub funding_pubkey: Point,
        /// Revocation basepoint.
        pub revocation_basepoint: Point,
        /// Payment basepoint.
        pub payment_basepoint: Point,
        /// Delayed payment basepoint.
        pub delayed_payment_basepoint: Point,
        /// HTLC basepoint.
        pub htlc_basepoint: Point,
        /// First per-commitment point.
        pub first_per_commitment_point: Point,
        /// Second per-commitment point.
        pub second_per_commitment_point: Point,
    }
    tlvs {
        /// Upfront shutdown script.
        (0, shutdown_scriptpubkey: ScriptBuf, option),
        /// The channel type.
        (1, channel_type: ChannelTypeFeatures, option),
        /// The opener must use only confirmed inputs.
        (2, require_confirmed_inputs: Flag, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `splice_init` (type 80): propose a splice of a quiescent channel.
    pub struct SpliceInit = 80 {
        /// The channel.
        pub channel_id: ChannelId,
        /// Funds the sender adds (positive) or takes out (negative).
        pub funding_contribution_satoshis: i64,
        /// Feerate of the splice transaction.
        pub funding_feerate_perkw: u32,
        /// Its locktime.
        pub locktime: u32,
        /// The sender's funding key for the new funding output.
        pub funding_pubkey: Point,
    }
    tlvs {
        /// The receiver must use only confirmed inputs.
        (2, require_confirmed_inputs: Flag, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `splice_ack` (type 81): accept a splice.
    pub struct SpliceAck = 81 {
        /// The channel.
        pub channel_id: ChannelId,
        /// Funds the sender adds or takes out.
        pub funding_contribution_satoshis: i64,
        /// The sender's funding key for the new funding output.
        pub funding_pubkey: Point,
    }
    tlvs {
        /// The receiver must use only confirmed inputs.
        (2, require_confirmed_inputs: Flag, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `splice_locked` (type 77): the splice transaction is deep enough.
    pub struct SpliceLocked = 77 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The splice transaction.
        pub splice_txid: Txid,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `start_batch` (type 127): the next `batch_size` messages (of
    /// `message_type`, `commitment_signed`) belong together.
    pub struct StartBatch = 127 {
        /// The channel.
        pub channel_id: ChannelId,
        /// How many messages follow.
        pub batch_size: u16,
    }
    tlvs {
        /// The type of the batched messages (132).
        (1, message_type: u16, option),
    }
}
