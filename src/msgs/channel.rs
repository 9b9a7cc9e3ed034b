//! BOLT 2 channel messages: establishment (v1), quiescence, close, and the
//! normal operation of HTLC updates, commitments and reestablishment.

use super::features::ChannelTypeFeatures;
use super::onion::OnionPacket;
use crate::codec::{read_array, DecodeError, TlvValue, WithU16Len, Writeable};
use crate::types::{ChannelId, PaymentHash, PaymentPreimage, Point, ShortChannelId, WireSignature};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::{ScriptBuf, Txid};
use std::io::{self, Write};

crate::impl_writable_msg! {
    @with_sample
    /// `open_channel` (type 32): the funder proposes a channel.
    pub struct OpenChannel = 32 {
        /// The chain the channel will live on.
        pub chain_hash: ChainHash,
        /// A temporary id until the funding transaction is known.
        pub temporary_channel_id: ChannelId,
        /// The channel's value.
        pub funding_satoshis: u64,
        /// An amount given to the acceptor at opening.
        pub push_msat: u64,
        /// Outputs below this are not created on the funder's commitment.
        pub dust_limit_satoshis: u64,
        /// Cap on the value of the acceptor's outstanding offered HTLCs.
        pub max_htlc_value_in_flight_msat: u64,
        /// What the acceptor must keep on its side.
        pub channel_reserve_satoshis: u64,
        /// Smallest HTLC the funder accepts.
        pub htlc_minimum_msat: u64,
        /// Initial commitment fee rate.
        pub feerate_per_kw: u32,
        /// Delay the acceptor's to_self outputs must wait.
        pub to_self_delay: u16,
        /// Most HTLCs the acceptor may offer.
        pub max_accepted_htlcs: u16,
        /// The funder's funding key.
        pub funding_pubkey: Point,
        /// Revocation basepoint.
        pub revocation_basepoint: Point,
        /// Payment basepoint.
        pub payment_basepoint: Point,
        /// Delayed payment basepoint.
        pub delayed_payment_basepoint: Point,
        /// HTLC basepoint.
        pub htlc_basepoint: Point,
        /// The per-commitment point of the first commitment.
        pub first_per_commitment_point: Point,
        /// Bit 0: announce the channel.
        pub channel_flags: u8,
    }
    tlvs {
        /// Where the funder's funds must go on a cooperative close.
        (0, shutdown_scriptpubkey: ScriptBuf, option),
        /// The channel type proposed.
        (1, channel_type: ChannelTypeFeatures, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `accept_channel` (type 33): the acceptor's answer to `open_channel`.
    pub struct AcceptChannel = 33 {
        /// The id from `open_channel`.
        pub temporary_channel_id: ChannelId,
        /// Dust limit of the acceptor's commitment.
        pub dust_limit_satoshis: u64,
        /// Cap on the funder's outstanding offered HTLCs.
        pub max_htlc_value_in_flight_msat: u64,
        /// What the funder must keep on its side.
        pub channel_reserve_satoshis: u64,
        /// Smallest HTLC the acceptor accepts.
        pub htlc_minimum_msat: u64,
        /// Confirmations the acceptor wants before channel_ready.
        pub minimum_depth: u32,
        /// Delay the funder's to_self outputs must wait.
        pub to_self_delay: u16,
        /// Most HTLCs the funder may offer.
        pub max_accepted_htlcs: u16,
        /// The acceptor's funding key.
        pub funding_pubkey: Point,
        /// Revocation basepoint.
        pub revocation_basepoint: Point,
        /// Payment basepoint.
        pub payment_basepoint: Point,
        /// Delayed payment basepoint.
        pub delayed_payment_basepoint: Point,
        /// HTLC basepoint.
        pub htlc_basepoint: Point,
        /// The per-commitment point of the first commitment.
        pub first_per_commitment_point: Point,
    }
    tlvs {
        /// Where the acceptor's funds must go on a cooperative close.
        (0, shutdown_scriptpubkey: ScriptBuf, option),
        /// The channel type accepted.
        (1, channel_type: ChannelTypeFeatures, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `funding_created` (type 34): the funder names the funding outpoint and
    /// signs the acceptor's first commitment.
    pub struct FundingCreated = 34 {
        /// The temporary id.
        pub temporary_channel_id: ChannelId,
        /// The funding transaction id.
        pub funding_txid: Txid,
        /// The funding output index.
        pub funding_output_index: u16,
        /// Signature of the acceptor's first commitment.
        pub signature: WireSignature,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `funding_signed` (type 35): the acceptor signs the funder's first commitment.
    pub struct FundingSigned = 35 {
        /// The real channel id.
        pub channel_id: ChannelId,
        /// Signature of the funder's first commitment.
        pub signature: WireSignature,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `channel_ready` (type 36): the funding is deep enough on the sender's side.
    pub struct ChannelReady = 36 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The per-commitment point of the next commitment.
        pub second_per_commitment_point: Point,
    }
    tlvs {
        /// An alias to use in route hints for this channel.
        (1, short_channel_id: ShortChannelId, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `stfu` (type 2): "SomeThing Fundamental is Underway" — the sender will
    /// send no more updates until the channel leaves quiescence.
    pub struct Stfu = 2 {
        /// The channel.
        pub channel_id: ChannelId,
        /// 1 if the sender started the quiescence, else 0.
        pub initiator: u8,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `shutdown` (type 38): the sender begins a cooperative close.
    pub struct Shutdown = 38 {
        /// The channel.
        pub channel_id: ChannelId,
        /// Where the sender's funds go.
        pub scriptpubkey: ScriptBuf,
    }
    tlvs {}
}

/// The `fee_range` of `closing_signed`: the fees the sender accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FeeRange {
    /// Lowest acceptable closing fee.
    pub min_fee_satoshis: u64,
    /// Highest acceptable closing fee.
    pub max_fee_satoshis: u64,
}

impl TlvValue for FeeRange {
    fn value_len(&self) -> usize {
        16
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.min_fee_satoshis.write(w)?;
        self.max_fee_satoshis.write(w)
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 16 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let mut b = bytes;
        Ok(FeeRange {
            min_fee_satoshis: u64::from_be_bytes(read_array(&mut b)?),
            max_fee_satoshis: u64::from_be_bytes(read_array(&mut b)?),
        })
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `closing_signed` (type 39): a proposed closing fee and its signature.
    pub struct ClosingSigned = 39 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The proposed fee.
        pub fee_satoshis: u64,
        /// Signature of the closing transaction with that fee.
        pub signature: WireSignature,
    }
    tlvs {
        /// The range of fees the sender would accept.
        (1, fee_range: FeeRange, option),
    }
}

/// A txid and a byte of retransmission flags (`channel_reestablish` TLVs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FundingRetransmit {
    /// The funding transaction.
    pub txid: Txid,
    /// Bit 0: the peer should retransmit its signature message for it.
    pub retransmit_flags: u8,
}

impl TlvValue for FundingRetransmit {
    fn value_len(&self) -> usize {
        33
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.txid.write(w)?;
        self.retransmit_flags.write(w)
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 33 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let mut b = bytes;
        Ok(FundingRetransmit {
            txid: Txid::from_byte_array(read_array(&mut b)?),
            retransmit_flags: b[0],
        })
    }
}

/// The `attribution_data` of BOLT 4 attributable failures: 20 hold times
/// (`u32` each, 80 bytes) then 840 bytes of truncated HMACs. Built and
/// checked by `payment::onion`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributionData(pub [u8; 920]);

impl AttributionData {
    /// The encoded size.
    pub const LEN: usize = 920;
    /// The 80 bytes of hold times.
    pub fn hold_times(&self) -> &[u8] {
        &self.0[..80]
    }
    /// The 840 bytes of truncated HMACs.
    pub fn hmacs(&self) -> &[u8] {
        &self.0[80..]
    }
}

impl core::fmt::Debug for AttributionData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AttributionData({} bytes)", Self::LEN)
    }
}

impl TlvValue for AttributionData {
    fn value_len(&self) -> usize {
        Self::LEN
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.0)
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(AttributionData(
            bytes
                .try_into()
                .map_err(|_| DecodeError::BadLengthDescriptor)?,
        ))
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `update_add_htlc` (type 128): offer an HTLC.
    pub struct UpdateAddHtlc = 128 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id (counts up from 0 per direction).
        pub id: u64,
        /// The amount.
        pub amount_msat: u64,
        /// The hash it is locked to.
        pub payment_hash: PaymentHash,
        /// The absolute block height at which it times out.
        pub cltv_expiry: u32,
        /// The onion for the next hop (1366 bytes).
        pub onion_routing_packet: OnionPacket,
    }
    tlvs {
        /// The path key (`blinding_point`) when the HTLC is inside a blinded route.
        (0, blinding_point: Point, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `update_fulfill_htlc` (type 130): settle an HTLC with its preimage.
    pub struct UpdateFulfillHtlc = 130 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id.
        pub id: u64,
        /// The preimage.
        pub payment_preimage: PaymentPreimage,
    }
    tlvs {
        /// Attributable-failure data (hold times and truncated HMACs).
        (1, attribution_data: AttributionData, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `update_fail_htlc` (type 131): fail an HTLC with an encrypted reason.
    pub struct UpdateFailHtlc = 131 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id.
        pub id: u64,
        /// The onion-encrypted failure for the origin.
        pub reason: WithU16Len,
    }
    tlvs {
        /// Attributable-failure data (hold times and truncated HMACs).
        (1, attribution_data: AttributionData, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `update_fail_malformed_htlc` (type 135): the onion could not be parsed.
    pub struct UpdateFailMalformedHtlc = 135 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The HTLC's id.
        pub id: u64,
        /// SHA-256 of the onion received.
        pub sha256_of_onion: [u8; 32],
        /// The failure code (BADONION bit set).
        pub failure_code: u16,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `commitment_signed` (type 132): signatures for the receiver's next commitment.
    pub struct CommitmentSigned = 132 {
        /// The channel.
        pub channel_id: ChannelId,
        /// Signature of the commitment transaction.
        pub signature: WireSignature,
        /// One signature per HTLC transaction, in output order.
        pub htlc_signatures: Vec<WireSignature>,
    }
    tlvs {
        /// With pending splices: which funding transaction this commitment spends.
        (1, funding_txid: Txid, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `revoke_and_ack` (type 133): revoke the previous commitment.
    pub struct RevokeAndAck = 133 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The secret of the commitment being revoked.
        pub per_commitment_secret: [u8; 32],
        /// The point for the commitment after next.
        pub next_per_commitment_point: Point,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `update_fee` (type 134): the funder changes the commitment fee rate.
    pub struct UpdateFee = 134 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The new fee rate.
        pub feerate_per_kw: u32,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `channel_reestablish` (type 136): resynchronise after a reconnection.
    pub struct ChannelReestablish = 136 {
        /// The channel.
        pub channel_id: ChannelId,
        /// The commitment number the sender expects next.
        pub next_commitment_number: u64,
        /// The revocation number the sender expects next.
        pub next_revocation_number: u64,
        /// The last per-commitment secret the sender received.
        pub your_last_per_commitment_secret: [u8; 32],
        /// The sender's current per-commitment point.
        pub my_current_per_commitment_point: Point,
    }
    tlvs {
        /// `next_funding`: an interactive funding transaction not yet signed
        /// by both, and what to retransmit for it.
        (1, next_funding: FundingRetransmit, option),
        /// `my_current_funding_locked`: the latest funding transaction the
        /// sender sent `channel_ready`/`splice_locked` for.
        (5, my_current_funding_locked: FundingRetransmit, option),
    }
}

/// The `closing_tlvs` signatures of `closing_complete` / `closing_sig`.
macro_rules! simple_close_msg {
    ($(#[$m:meta])* $name:ident = $typ:literal) => {
        crate::impl_writable_msg! {
    @with_sample
            $(#[$m])*
            pub struct $name = $typ {
                /// The channel.
                pub channel_id: ChannelId,
                /// The closer's output script.
                pub closer_scriptpubkey: ScriptBuf,
                /// The closee's output script.
                pub closee_scriptpubkey: ScriptBuf,
                /// The fee the closer pays.
                pub fee_satoshis: u64,
                /// The closing transaction's locktime.
                pub locktime: u32,
            }
            tlvs {
                /// Signature of the version with only the closer's output.
                (1, closer_output_only: WireSignature, option),
                /// Signature of the version with only the closee's output.
                (2, closee_output_only: WireSignature, option),
                /// Signature of the version with both outputs.
                (3, closer_and_closee_outputs: WireSignature, option),
            }
        }
    };
}
simple_close_msg!(
    /// `closing_complete` (type 40): the closer's proposal in option_simple_close.
    ClosingComplete = 40
);
simple_close_msg!(
    /// `closing_sig` (type 41): the closee's signature in option_simple_close.
    ClosingSig = 41
);
