//! BOLT 1 messages: `init`, `error`, `warning`, `ping`, `pong`, and the peer
//! storage messages.

use super::address::SocketAddress;
use super::features::InitFeatures;
use crate::codec::WithU16Len;
use crate::types::ChannelId;
use bitcoin::blockdata::constants::ChainHash;

crate::impl_writable_msg! {
    @with_sample
    /// `init` (type 16): the first message each side sends after the
    /// handshake, telling the features it supports and requires.
    ///
    /// BOLT 1 splits features in two fields for historical reasons; both are
    /// kept as sent so the message re-encodes byte for byte. Use
    /// [`Init::combined_features`] to read them.
    pub struct Init = 16 {
        /// `globalfeatures`: the legacy field (bits below 13 only). Senders
        /// SHOULD leave it empty or repeat low bits of `features`.
        pub global_features: InitFeatures,
        /// `features`.
        pub features: InitFeatures,
    }
    tlvs {
        /// `networks`: the chains the sender is interested in.
        (1, networks: Vec<ChainHash>, option),
        /// `remote_addr`: the address the sender sees us at.
        (3, remote_addr: SocketAddress, option),
    }
}

impl Init {
    /// An `init` with these features and networks, no legacy global features.
    pub fn new(features: InitFeatures, networks: Option<Vec<ChainHash>>) -> Self {
        Init {
            global_features: InitFeatures::empty(),
            features,
            networks,
            remote_addr: None,
            unknown_tlvs: Default::default(),
        }
    }

    /// BOLT 1: "the receiving node ... MUST combine the two feature bitmaps
    /// (i.e. bitwise OR)" of `globalfeatures` and `features`.
    pub fn combined_features(&self) -> InitFeatures {
        let mut le = self.features.le_flags().to_vec();
        let g = self.global_features.le_flags();
        if le.len() < g.len() {
            le.resize(g.len(), 0);
        }
        for (a, b) in le.iter_mut().zip(g) {
            *a |= b;
        }
        InitFeatures::from_le_bytes(le)
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `error` (type 17): the sender failed a channel (or, with the all-zero
    /// channel id, every channel with us).
    pub struct ErrorMessage = 17 {
        /// The failed channel, or all-zero for all of them.
        pub channel_id: ChannelId,
        /// Human-readable detail (may not be UTF-8).
        pub data: WithU16Len,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `warning` (type 1): something is wrong but the channel stays open.
    pub struct Warning = 1 {
        /// The channel concerned, or all-zero for the connection.
        pub channel_id: ChannelId,
        /// Human-readable detail.
        pub data: WithU16Len,
    }
    tlvs {}
}

impl ErrorMessage {
    /// An error about `channel_id` with a text.
    pub fn new(channel_id: ChannelId, text: &str) -> Self {
        ErrorMessage {
            channel_id,
            data: WithU16Len(text.as_bytes().to_vec()),
            unknown_tlvs: Default::default(),
        }
    }
    /// The data as text, replacing anything that is not UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data.0).into_owned()
    }
}

impl Warning {
    /// A warning about `channel_id` with a text.
    pub fn new(channel_id: ChannelId, text: &str) -> Self {
        Warning {
            channel_id,
            data: WithU16Len(text.as_bytes().to_vec()),
            unknown_tlvs: Default::default(),
        }
    }
    /// The data as text, replacing anything that is not UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data.0).into_owned()
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `ping` (type 18): keep-alive; asks for a `pong` of `num_pong_bytes`.
    pub struct Ping = 18 {
        /// How many bytes the `pong` should carry (≥ 65532: no pong wanted).
        pub num_pong_bytes: u16,
        /// Padding, to be ignored.
        pub ignored: WithU16Len,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `pong` (type 19): the answer to a `ping`.
    pub struct Pong = 19 {
        /// Padding of the length the ping asked for.
        pub ignored: WithU16Len,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `peer_storage` (type 7): a blob the sender asks us to keep for it.
    pub struct PeerStorage = 7 {
        /// The blob (at most 65531 bytes).
        pub blob: WithU16Len,
    }
    tlvs {}
}

crate::impl_writable_msg! {
    @with_sample
    /// `peer_storage_retrieval` (type 9): returns the last blob a peer stored with us.
    pub struct PeerStorageRetrieval = 9 {
        /// The blob as it was stored.
        pub blob: WithU16Len,
    }
    tlvs {}
}
