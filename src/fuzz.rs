//! Fuzz entry points. Each `fuzz/` target is a one-line call into a
//! function here, so the same code runs under libFuzzer (nightly,
//! `cargo fuzz run NAME`) and, over the committed seed corpus in
//! `fuzz/seeds/NAME/`, under plain `cargo test` on stable.
//!
//! Every function panics only if lnkit is wrong: on any input it must
//! decode or fail with a typed error, and whatever decodes must re-encode
//! to exactly the bytes it came from.

use crate::codec::{tlv, BigSize, DecodeError, Readable, TlvStream, Type, Writeable};
use crate::msgs::{self, read_message};

/// Asserts the canonical-encoding invariant of a decode result.
fn check_round_trip<T: Writeable>(input: &[u8], decoded: Result<T, DecodeError>) {
    if let Ok(v) = decoded {
        assert_eq!(
            v.encode(),
            input,
            "decoded value does not re-encode to its input"
        );
    }
}

/// `read_message` over a whole frame (2-byte type, then payload).
pub fn fuzz_read_message(data: &[u8]) {
    if let Ok(m) = read_message(data) {
        assert_eq!(
            m.encode(),
            data,
            "{} does not re-encode to its input",
            m.name()
        );
    }
}

macro_rules! family {
    ($(#[$m:meta])* $fname:ident: $($ty:ty),* $(,)?) => {
        $(#[$m])*
        ///
        /// The first byte picks the message type of the family, the rest is
        /// its payload.
        pub fn $fname(data: &[u8]) {
            let Some((&which, payload)) = data.split_first() else { return };
            const TYPES: &[u16] = &[$(<$ty as Type>::TYPE),*];
            let t = TYPES[which as usize % TYPES.len()];
            $(
                if t == <$ty as Type>::TYPE {
                    check_round_trip(payload, <$ty>::decode(payload));
                }
            )*
        }
    };
}

family!(
    /// The BOLT 1 setup and control messages.
    fuzz_setup_messages: msgs::Init, msgs::ErrorMessage, msgs::Warning, msgs::Ping, msgs::Pong,
    msgs::PeerStorage, msgs::PeerStorageRetrieval,
);
family!(
    /// The BOLT 2 channel messages (v1 establishment, updates, close, reestablish).
    fuzz_channel_messages: msgs::OpenChannel, msgs::AcceptChannel, msgs::FundingCreated, msgs::FundingSigned,
    msgs::ChannelReady, msgs::Stfu, msgs::Shutdown, msgs::ClosingSigned, msgs::ClosingComplete, msgs::ClosingSig,
    msgs::UpdateAddHtlc, msgs::UpdateFulfillHtlc, msgs::UpdateFailHtlc, msgs::UpdateFailMalformedHtlc,
    msgs::CommitmentSigned, msgs::RevokeAndAck, msgs::UpdateFee, msgs::ChannelReestablish,
);
family!(
    /// The interactive-tx, dual-funding and splicing messages.
    fuzz_interactive_messages: msgs::TxAddInput, msgs::TxAddOutput, msgs::TxRemoveInput, msgs::TxRemoveOutput,
    msgs::TxComplete, msgs::TxSignatures, msgs::TxInitRbf, msgs::TxAckRbf, msgs::TxAbort, msgs::OpenChannel2,
    msgs::AcceptChannel2, msgs::SpliceInit, msgs::SpliceAck, msgs::SpliceLocked, msgs::StartBatch,
);
family!(
    /// The BOLT 7 gossip messages and queries.
    fuzz_gossip_messages: msgs::AnnouncementSignatures, msgs::ChannelAnnouncement, msgs::NodeAnnouncement,
    msgs::ChannelUpdate, msgs::QueryShortChannelIds, msgs::ReplyShortChannelIdsEnd, msgs::QueryChannelRange,
    msgs::ReplyChannelRange, msgs::GossipTimestampFilter, msgs::OnionMessage,
);

/// A bare TLV stream with no known types, and BigSize decoding.
pub fn fuzz_tlv_stream(data: &[u8]) {
    let mut unknown = TlvStream::new();
    if tlv::read_tlv_stream(data, &mut unknown, |_, _| Ok(false)).is_ok() {
        let mut out = Vec::new();
        for r in &unknown.0 {
            r.write(&mut out)
                .expect("writing into a Vec<u8> never fails");
        }
        assert_eq!(out, data, "a valid TLV stream re-encodes to itself");
    }
    let mut s = data;
    let fast = BigSize::read_from_slice(&mut s);
    let slow = BigSize::read(&mut &data[..]);
    assert_eq!(
        fast.clone().map(BigSize),
        slow,
        "the two BigSize decoders disagree"
    );
    if let Ok(v) = fast {
        assert_eq!(BigSize(v).encode(), data[..data.len() - s.len()]);
    }
}

/// A fuzz entry point: takes arbitrary bytes, panics only on an lnkit bug.
pub type FuzzFn = fn(&[u8]);

/// Every fuzz target by name, as used by `fuzz/` and the seed-corpus test.
pub const TARGETS: &[(&str, FuzzFn)] = &[
    ("read_message", crate::fuzz::fuzz_read_message),
    ("setup_messages", crate::fuzz::fuzz_setup_messages),
    ("channel_messages", crate::fuzz::fuzz_channel_messages),
    (
        "interactive_messages",
        crate::fuzz::fuzz_interactive_messages,
    ),
    ("gossip_messages", crate::fuzz::fuzz_gossip_messages),
    ("tlv_stream", crate::fuzz::fuzz_tlv_stream),
    ("in_memory_signer", crate::sign::fuzz::fuzz_in_memory_signer),
    (
        "counterparty_commitment_secrets",
        crate::channel::fuzz::fuzz_counterparty_commitment_secrets,
    ),
    ("onion_peel", crate::payment::fuzz::fuzz_onion_peel),
    ("onion_failure", crate::payment::fuzz::fuzz_onion_failure),
    ("invoice_parse", crate::payment::fuzz::fuzz_invoice_parse),
    ("noise", crate::peer::fuzz::fuzz_noise),
    ("aead", crate::peer::aead::fuzz::fuzz_aead),
    ("peer_manager", crate::peer::fuzz::fuzz_peer_manager),
    ("graph_read", crate::gossip::fuzz::fuzz_graph_read),
    ("scorer_read", crate::routing::fuzz::fuzz_scorer_read),
    (
        "channel_monitor_update",
        crate::chain::monitor::fuzz::fuzz_channel_monitor_update,
    ),
    (
        "channel_monitor",
        crate::chain::monitor::fuzz::fuzz_channel_monitor,
    ),
    (
        "channel_establish",
        crate::channel::establish::fuzz::fuzz_establish,
    ),
    ("incoming_htlc", crate::payment::fuzz::fuzz_incoming_htlc),
    ("inbound_verify", crate::payment::fuzz::fuzz_inbound_verify),
    ("path_failure", crate::payment::fuzz::fuzz_path_failure),
    (
        "closing_negotiation",
        crate::channel::closing_negotiation::fuzz::fuzz_closing_negotiation,
    ),
    (
        "quiescence",
        crate::channel::quiescence::fuzz::fuzz_quiescence,
    ),
    ("channel_read", crate::channel::fuzz::fuzz_channel_read),
    ("manager_read", crate::manager::fuzz::fuzz_manager_read),
];
