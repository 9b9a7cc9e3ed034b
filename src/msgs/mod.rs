//! Every BOLT wire message, the [`Message`] enum that dispatches on the
//! 2-byte type, feature bits (BOLT 9), and the handler traits that
//! components implement to receive messages from the `PeerManager`.
//!
//! Decoding follows BOLT 1: a message of an unknown odd type is kept as
//! [`Message::Unknown`]; an unknown even type is an error; every message may
//! carry an extension TLV stream whose unknown odd records are kept and
//! written back in order.

mod address;
mod channel;
pub mod features;
mod gossip;
pub mod handlers;
mod interactive;
mod onion;
mod samples;
mod setup;

pub use address::{NodeAddresses, SocketAddress};
pub use channel::*;
pub use features::{
    Bolt11InvoiceFeatures, ChannelFeatures, ChannelTypeFeatures, Features, InitFeatures,
    NodeFeatures,
};
pub use gossip::*;
pub use handlers::*;
pub use interactive::*;
pub use onion::*;
pub use setup::*;

pub use crate::events::{MessageSendEvent, MessageSendEventsProvider};

use crate::codec::{DecodeError, Type, Writeable};
use std::io::{self, Write};

macro_rules! messages {
    ($( $(#[$m:meta])* $variant:ident($ty:ty) = $name:literal, )*) => {
        /// Any wire message, as decoded from (or to be encoded into) one
        /// decrypted BOLT 8 frame.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Message {
            $( $(#[$m])* #[doc = concat!("`", $name, "`")] $variant($ty), )*
            /// A message of a type we do not know (odd, or claimed by a
            /// custom message handler), kept raw.
            Unknown {
                /// Its type.
                type_id: u16,
                /// Its payload.
                payload: Vec<u8>,
            },
        }

        impl Message {
            /// The 2-byte wire type.
            pub fn type_id(&self) -> u16 {
                match self {
                    $( Message::$variant(_) => <$ty as Type>::TYPE, )*
                    Message::Unknown { type_id, .. } => *type_id,
                }
            }

            /// The message's name in the BOLTs (`"update_add_htlc"`), or
            /// `"unknown"`.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Message::$variant(_) => $name, )*
                    Message::Unknown { .. } => "unknown",
                }
            }

            /// The BOLT name of a known message type.
            pub fn name_of_type(type_id: u16) -> Option<&'static str> {
                match type_id {
                    $( t if t == <$ty as Type>::TYPE => Some($name), )*
                    _ => None,
                }
            }

            fn write_payload<W: Write>(&self, w: &mut W) -> io::Result<()> {
                match self {
                    $( Message::$variant(m) => m.write(w), )*
                    Message::Unknown { payload, .. } => w.write_all(payload),
                }
            }

            fn payload_size_hint(&self) -> usize {
                match self {
                    $( Message::$variant(m) => m.size_hint(), )*
                    Message::Unknown { payload, .. } => payload.len(),
                }
            }
        }

        impl Message {
            /// One random message of every known type, in a fixed order (for
            /// property tests, fuzz seeds and benches).
            pub fn sample_each(g: &mut crate::codec::sample::SampleRng) -> Vec<Message> {
                vec![ $( Message::$variant(<$ty as crate::codec::sample::Sample>::sample(g)), )* ]
            }
        }

        /// Decodes one frame's payload by its type (see [`read_message_with_custom`]).
        #[inline]
        fn decode_frame(type_id: u16, payload: &[u8], is_custom: &dyn Fn(u16) -> bool) -> Result<Message, DecodeError> {
            if is_custom(type_id) {
                return Ok(Message::Unknown { type_id, payload: payload.to_vec() });
            }
            match type_id {
                $( t if t == <$ty as Type>::TYPE => Ok(Message::$variant(<$ty>::decode(payload)?)), )*
                t if t % 2 == 1 => Ok(Message::Unknown { type_id, payload: payload.to_vec() }),
                t => Err(DecodeError::UnknownRequiredMessage(t)),
            }
        }

        $(
            impl From<$ty> for Message {
                fn from(m: $ty) -> Self {
                    Message::$variant(m)
                }
            }
        )*
    };
}

messages! {
    // BOLT 1
    Init(Init) = "init",
    Error(ErrorMessage) = "error",
    Warning(Warning) = "warning",
    Ping(Ping) = "ping",
    Pong(Pong) = "pong",
    PeerStorage(PeerStorage) = "peer_storage",
    PeerStorageRetrieval(PeerStorageRetrieval) = "peer_storage_retrieval",
    // BOLT 2
    OpenChannel(OpenChannel) = "open_channel",
    AcceptChannel(AcceptChannel) = "accept_channel",
    FundingCreated(FundingCreated) = "funding_created",
    FundingSigned(FundingSigned) = "funding_signed",
    ChannelReady(ChannelReady) = "channel_ready",
    Stfu(Stfu) = "stfu",
    Shutdown(Shutdown) = "shutdown",
    ClosingSigned(ClosingSigned) = "closing_signed",
    ClosingComplete(ClosingComplete) = "closing_complete",
    ClosingSig(ClosingSig) = "closing_sig",
    UpdateAddHtlc(UpdateAddHtlc) = "update_add_htlc",
    UpdateFulfillHtlc(UpdateFulfillHtlc) = "update_fulfill_htlc",
    UpdateFailHtlc(UpdateFailHtlc) = "update_fail_htlc",
    UpdateFailMalformedHtlc(UpdateFailMalformedHtlc) = "update_fail_malformed_htlc",
    CommitmentSigned(CommitmentSigned) = "commitment_signed",
    RevokeAndAck(RevokeAndAck) = "revoke_and_ack",
    UpdateFee(UpdateFee) = "update_fee",
    ChannelReestablish(ChannelReestablish) = "channel_reestablish",
    TxAddInput(TxAddInput) = "tx_add_input",
    TxAddOutput(TxAddOutput) = "tx_add_output",
    TxRemoveInput(TxRemoveInput) = "tx_remove_input",
    TxRemoveOutput(TxRemoveOutput) = "tx_remove_output",
    TxComplete(TxComplete) = "tx_complete",
    TxSignatures(TxSignatures) = "tx_signatures",
    TxInitRbf(TxInitRbf) = "tx_init_rbf",
    TxAckRbf(TxAckRbf) = "tx_ack_rbf",
    TxAbort(TxAbort) = "tx_abort",
    OpenChannel2(OpenChannel2) = "open_channel2",
    AcceptChannel2(AcceptChannel2) = "accept_channel2",
    SpliceInit(SpliceInit) = "splice_init",
    SpliceAck(SpliceAck) = "splice_ack",
    SpliceLocked(SpliceLocked) = "splice_locked",
    StartBatch(StartBatch) = "start_batch",
    // BOLT 7
    AnnouncementSignatures(AnnouncementSignatures) = "announcement_signatures",
    ChannelAnnouncement(ChannelAnnouncement) = "channel_announcement",
    NodeAnnouncement(NodeAnnouncement) = "node_announcement",
    ChannelUpdate(ChannelUpdate) = "channel_update",
    QueryShortChannelIds(QueryShortChannelIds) = "query_short_channel_ids",
    ReplyShortChannelIdsEnd(ReplyShortChannelIdsEnd) = "reply_short_channel_ids_end",
    QueryChannelRange(QueryChannelRange) = "query_channel_range",
    ReplyChannelRange(ReplyChannelRange) = "reply_channel_range",
    GossipTimestampFilter(GossipTimestampFilter) = "gossip_timestamp_filter",
    // BOLT 4
    OnionMessage(OnionMessage) = "onion_message",
}

impl Message {
    /// Encodes the whole frame: the 2-byte type, then the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.payload_size_hint());
        self.write(&mut out)
            .expect("writing into a Vec<u8> never fails");
        out
    }

    /// Writes the whole frame (type, then payload) to `w`.
    pub fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.type_id().to_be_bytes())?;
        self.write_payload(w)
    }

    /// Whether this is a BOLT 7 gossip message (relayed, rate-limited).
    pub fn is_gossip(&self) -> bool {
        matches!(
            self,
            Message::ChannelAnnouncement(_)
                | Message::NodeAnnouncement(_)
                | Message::ChannelUpdate(_)
        )
    }
}

/// Decodes one whole frame: a 2-byte type, then the payload.
///
/// BOLT 1: an unknown odd type gives [`Message::Unknown`]; an unknown even
/// type gives [`DecodeError::UnknownRequiredMessage`].
pub fn read_message(frame: &[u8]) -> Result<Message, DecodeError> {
    read_message_with_custom(frame, &|_| false)
}

/// Like [`read_message`], but types for which `is_custom` is true (even
/// ones included) come back as [`Message::Unknown`] for a custom handler.
pub fn read_message_with_custom(
    frame: &[u8],
    is_custom: &dyn Fn(u16) -> bool,
) -> Result<Message, DecodeError> {
    if frame.len() < 2 {
        return Err(DecodeError::ShortRead);
    }
    let type_id = u16::from_be_bytes([frame[0], frame[1]]);
    decode_frame(type_id, &frame[2..], is_custom)
}
