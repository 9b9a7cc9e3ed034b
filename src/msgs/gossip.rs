//! BOLT 7 gossip messages: announcements, updates and the gossip queries.

use super::address::NodeAddresses;
use super::features::{ChannelFeatures, NodeFeatures};
use crate::codec::{read_array, BigSize, DecodeError, Readable, TlvValue, Writeable};
use crate::types::{ChannelId, Point, ShortChannelId, WireSignature};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::hashes::{sha256d, Hash};
use std::io::{self, Read, Write};

crate::impl_writable_msg! {
    @with_sample
    /// `announcement_signatures` (type 259): one side's signatures for the
    /// channel's `channel_announcement`.
    pub struct AnnouncementSignatures = 259 {
        /// The channel.
        pub channel_id: ChannelId,
        /// Its short id.
        pub short_channel_id: ShortChannelId,
        /// Signature with the sender's node key.
        pub node_signature: WireSignature,
        /// Signature with the sender's funding key.
        pub bitcoin_signature: WireSignature,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `channel_announcement` (type 256): proves a public channel exists
    /// between two nodes.
    pub struct ChannelAnnouncement = 256 {
        /// `node_id_1`'s signature.
        pub node_signature_1: WireSignature,
        /// `node_id_2`'s signature.
        pub node_signature_2: WireSignature,
        /// `bitcoin_key_1`'s signature.
        pub bitcoin_signature_1: WireSignature,
        /// `bitcoin_key_2`'s signature.
        pub bitcoin_signature_2: WireSignature,
        /// Channel features.
        pub features: ChannelFeatures,
        /// The chain.
        pub chain_hash: ChainHash,
        /// The channel's short id.
        pub short_channel_id: ShortChannelId,
        /// The node with the lexicographically smaller id.
        pub node_id_1: Point,
        /// The other node.
        pub node_id_2: Point,
        /// `node_id_1`'s funding key.
        pub bitcoin_key_1: Point,
        /// `node_id_2`'s funding key.
        pub bitcoin_key_2: Point,
    }
    excess_data
}

crate::impl_writable_msg! {
    @with_sample
    /// `node_announcement` (type 257): a node's features, alias and addresses.
    pub struct NodeAnnouncement = 257 {
        /// Signature by `node_id`.
        pub signature: WireSignature,
        /// Node features.
        pub features: NodeFeatures,
        /// Newer announcements replace older ones.
        pub timestamp: u32,
        /// The node.
        pub node_id: Point,
        /// A colour for display.
        pub rgb_color: [u8; 3],
        /// A name for display (UTF-8, zero-padded).
        pub alias: [u8; 32],
        /// Where to reach the node.
        pub addresses: NodeAddresses,
    }
    excess_data
}

crate::impl_writable_msg! {
    @with_sample
    /// `channel_update` (type 258): one direction's forwarding policy.
    pub struct ChannelUpdate = 258 {
        /// Signature by the originating node.
        pub signature: WireSignature,
        /// The chain.
        pub chain_hash: ChainHash,
        /// The channel.
        pub short_channel_id: ShortChannelId,
        /// Newer updates replace older ones.
        pub timestamp: u32,
        /// Bit 0: `must_be_one` (htlc_maximum_msat present); bit 1: dont_forward.
        pub message_flags: u8,
        /// Bit 0: direction; bit 1: disabled.
        pub channel_flags: u8,
        /// Blocks this hop subtracts from the CLTV.
        pub cltv_expiry_delta: u16,
        /// Smallest HTLC forwarded.
        pub htlc_minimum_msat: u64,
        /// Base fee.
        pub fee_base_msat: u32,
        /// Proportional fee, in millionths.
        pub fee_proportional_millionths: u32,
        /// Largest HTLC forwarded.
        pub htlc_maximum_msat: u64,
    }
    excess_data
}

fn sha256d_of(bytes: &[u8]) -> [u8; 32] {
    sha256d::Hash::hash(bytes).to_byte_array()
}

impl ChannelAnnouncement {
    /// Size of the four signatures that precede the signed part.
    const SIGNATURES_LEN: usize = 4 * 64;
    /// BOLT 7: the signatures cover "the double-SHA256 of the message after
    /// the signatures", trailing data included.
    pub fn signed_hash(&self) -> [u8; 32] {
        sha256d_of(&self.encode()[Self::SIGNATURES_LEN..])
    }
}
impl NodeAnnouncement {
    /// BOLT 7: the signature covers the double-SHA256 of everything after it.
    pub fn signed_hash(&self) -> [u8; 32] {
        sha256d_of(&self.encode()[64..])
    }
}
impl ChannelUpdate {
    /// BOLT 7: the signature covers the double-SHA256 of everything after it.
    pub fn signed_hash(&self) -> [u8; 32] {
        sha256d_of(&self.encode()[64..])
    }
    /// The direction bit: 0 if sent by `node_id_1`, 1 if by `node_id_2`.
    pub fn direction(&self) -> u8 {
        self.channel_flags & 1
    }
    /// Whether the sender disabled the channel in this direction.
    pub fn is_disabled(&self) -> bool {
        self.channel_flags & 2 != 0
    }
}

/// How a list in a gossip query is encoded (BOLT 7 "encoding_type").
const ENCODING_UNCOMPRESSED: u8 = 0;
/// The deprecated zlib encoding, which we refuse.
const ENCODING_ZLIB: u8 = 1;

fn check_encoding(typ: u8) -> Result<(), DecodeError> {
    match typ {
        ENCODING_UNCOMPRESSED => Ok(()),
        ENCODING_ZLIB => Err(DecodeError::UnsupportedCompression),
        _ => Err(DecodeError::InvalidValue),
    }
}

/// An `encoded_short_ids` field: `u16` length, encoding type, then the ids.
/// Only the uncompressed encoding is accepted; zlib gives
/// [`DecodeError::UnsupportedCompression`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EncodedShortChannelIds(pub Vec<ShortChannelId>);

impl Readable for EncodedShortChannelIds {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let len = u16::read(r)? as usize;
        if len == 0 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        check_encoding(u8::read(r)?)?;
        if (len - 1) % 8 != 0 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let n = (len - 1) / 8;
        let mut out = Vec::with_capacity(n.min(512));
        for _ in 0..n {
            out.push(ShortChannelId::read(r)?);
        }
        Ok(EncodedShortChannelIds(out))
    }
}
impl Writeable for EncodedShortChannelIds {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let len = u16::try_from(1 + 8 * self.0.len()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "too many short channel ids")
        })?;
        len.write(w)?;
        w.write_all(&[ENCODING_UNCOMPRESSED])?;
        for id in &self.0 {
            id.write(w)?;
        }
        Ok(())
    }
    fn size_hint(&self) -> usize {
        3 + 8 * self.0.len()
    }
}

/// `query_flags` of `query_short_channel_ids`: encoding type then one
/// BigSize per queried id (bit 0 announcement, 1/2 updates, 3/4 node anns).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EncodedQueryFlags(pub Vec<u64>);

impl TlvValue for EncodedQueryFlags {
    fn value_len(&self) -> usize {
        1 + self
            .0
            .iter()
            .map(|f| BigSize::encoded_len(*f))
            .sum::<usize>()
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&[ENCODING_UNCOMPRESSED])?;
        for f in &self.0 {
            BigSize(*f).write(w)?;
        }
        Ok(())
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&typ, mut rest) = bytes.split_first().ok_or(DecodeError::ShortRead)?;
        check_encoding(typ)?;
        let mut out = Vec::new();
        while !rest.is_empty() {
            out.push(BigSize::read_from_slice(&mut rest)?);
        }
        Ok(EncodedQueryFlags(out))
    }
}

/// `timestamps_tlv` of `reply_channel_range`: for each id, the timestamps
/// of the updates from node 1 and node 2.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EncodedTimestamps(pub Vec<(u32, u32)>);

impl TlvValue for EncodedTimestamps {
    fn value_len(&self) -> usize {
        1 + 8 * self.0.len()
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&[ENCODING_UNCOMPRESSED])?;
        for (a, b) in &self.0 {
            a.write(w)?;
            b.write(w)?;
        }
        Ok(())
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (&typ, rest) = bytes.split_first().ok_or(DecodeError::ShortRead)?;
        check_encoding(typ)?;
        Ok(EncodedTimestamps(read_u32_pairs(rest)?))
    }
}

/// `checksums_tlv` of `reply_channel_range`: for each id, the CRC32C
/// checksums of the updates from node 1 and node 2 (no encoding byte).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Checksums(pub Vec<(u32, u32)>);

impl TlvValue for Checksums {
    fn value_len(&self) -> usize {
        8 * self.0.len()
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        for (a, b) in &self.0 {
            a.write(w)?;
            b.write(w)?;
        }
        Ok(())
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(Checksums(read_u32_pairs(bytes)?))
    }
}

fn read_u32_pairs(bytes: &[u8]) -> Result<Vec<(u32, u32)>, DecodeError> {
    if bytes.len() % 8 != 0 {
        return Err(DecodeError::BadLengthDescriptor);
    }
    let mut b = bytes;
    let mut out = Vec::with_capacity(bytes.len() / 8);
    while !b.is_empty() {
        out.push((
            u32::from_be_bytes(read_array(&mut b)?),
            u32::from_be_bytes(read_array(&mut b)?),
        ));
    }
    Ok(out)
}

crate::impl_writable_msg! {
    @with_sample
    /// `query_short_channel_ids` (type 261): ask for the gossip of these channels.
    pub struct QueryShortChannelIds = 261 {
        /// The chain.
        pub chain_hash: ChainHash,
        /// The channels queried.
        pub short_channel_ids: EncodedShortChannelIds,
    }
    tlvs {
        /// Which messages are wanted for each channel (gossip_queries_ex).
        (1, query_flags: EncodedQueryFlags, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `reply_short_channel_ids_end` (type 262): the end of the answer to a query.
    pub struct ReplyShortChannelIdsEnd = 262 {
        /// The chain.
        pub chain_hash: ChainHash,
        /// 0 if the sender lacks information about the chain.
        pub full_information: u8,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `query_channel_range` (type 263): ask for the channels in a block range.
    pub struct QueryChannelRange = 263 {
        /// The chain.
        pub chain_hash: ChainHash,
        /// The first block.
        pub first_blocknum: u32,
        /// How many blocks.
        pub number_of_blocks: u32,
    }
    tlvs {
        /// Bit 0: timestamps wanted; bit 1: checksums wanted.
        (1, query_option: BigSize, option),
    }
}

impl QueryChannelRange {
    /// The block after the range, saturating at `u32::MAX`.
    pub fn end_blocknum(&self) -> u32 {
        self.first_blocknum.saturating_add(self.number_of_blocks)
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `reply_channel_range` (type 264): some of the channels in the range asked for.
    pub struct ReplyChannelRange = 264 {
        /// The chain.
        pub chain_hash: ChainHash,
        /// The first block this reply covers.
        pub first_blocknum: u32,
        /// How many blocks it covers.
        pub number_of_blocks: u32,
        /// 1 on the last reply.
        pub sync_complete: u8,
        /// The channels.
        pub short_channel_ids: EncodedShortChannelIds,
    }
    tlvs {
        /// Update timestamps per channel.
        (1, timestamps: EncodedTimestamps, option),
        /// Update checksums per channel.
        (3, checksums: Checksums, option),
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `gossip_timestamp_filter` (type 265): which gossip the sender wants relayed.
    pub struct GossipTimestampFilter = 265 {
        /// The chain.
        pub chain_hash: ChainHash,
        /// The earliest timestamp wanted.
        pub first_timestamp: u32,
        /// How many seconds from it.
        pub timestamp_range: u32,
    }
    tlvs {}
}

impl GossipTimestampFilter {
    /// Whether a message with `timestamp` falls in the filter.
    pub fn accepts(&self, timestamp: u32) -> bool {
        timestamp >= self.first_timestamp
            && (timestamp as u64) < self.first_timestamp as u64 + self.timestamp_range as u64
    }
}
