//! The traits components implement to receive messages from the
//! `PeerManager`, and the error type they answer with.
//!
//! All are object-safe and `Send + Sync`: the `PeerManager` holds them as
//! `Arc<dyn …>`.

use super::*;
use crate::events::MessageSendEventsProvider;
use crate::logger::Level;
use crate::types::Point;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::PublicKey;
use core::fmt;

/// What the `PeerManager` should do about an error a handler hit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorAction {
    /// Disconnect, sending `msg` first if there is one.
    DisconnectPeer {
        /// An `error` to send before disconnecting.
        msg: Option<ErrorMessage>,
    },
    /// Send a `warning`, then disconnect.
    DisconnectPeerWithWarning {
        /// The warning.
        msg: Warning,
    },
    /// Do nothing.
    IgnoreError,
    /// Do nothing but log at this level.
    IgnoreAndLog(Level),
    /// A gossip message we already had: do nothing, log nothing.
    IgnoreDuplicateGossip,
    /// Send an `error` and stay connected.
    SendErrorMessage {
        /// The error.
        msg: ErrorMessage,
    },
    /// Send a `warning` and stay connected.
    SendWarningMessage {
        /// The warning.
        msg: Warning,
        /// The level to log it at.
        log_level: Level,
    },
}

/// An error a message handler returns: what went wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LightningError {
    /// A description for the log.
    pub err: String,
    /// What the `PeerManager` should do.
    pub action: ErrorAction,
}

impl fmt::Display for LightningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.err)
    }
}

impl std::error::Error for LightningError {}

macro_rules! channel_handler {
    ($( $(#[$m:meta])* $method:ident($ty:ty); )*) => {
        /// Receives the BOLT 2 channel messages of every peer; the
        /// `ChannelManager` implements it.
        ///
        /// Handlers must not block; anything they want to send goes out
        /// through [`MessageSendEventsProvider`].
        #[allow(clippy::result_unit_err)]
        pub trait ChannelMessageHandler: MessageSendEventsProvider + Send + Sync {
            $(
                $(#[$m])*
                #[doc = concat!("Handles `", stringify!($ty), "` from `their_node_id`.")]
                fn $method(&self, their_node_id: PublicKey, msg: &$ty);
            )*
            /// Handles an `error` from the peer: fail the channel it names
            /// (or every channel with the peer for the all-zero id).
            fn handle_error(&self, their_node_id: PublicKey, msg: &ErrorMessage);
            /// A peer finished the `init` exchange. Return `Err` to refuse it
            /// (the peer is then disconnected).
            fn peer_connected(&self, their_node_id: PublicKey, init: &Init, inbound: bool) -> Result<(), ()>;
            /// A peer disconnected; channels with it stop until it reconnects.
            fn peer_disconnected(&self, their_node_id: PublicKey);
            /// The features we offer this peer in `init`.
            fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures;
            /// The features we announce in `node_announcement`.
            fn provided_node_features(&self) -> NodeFeatures;
            /// The chains we operate on, sent as `init`'s `networks`.
            fn get_chain_hashes(&self) -> Option<Vec<ChainHash>>;
        }
    };
}

channel_handler! {
    handle_open_channel(OpenChannel);
    handle_accept_channel(AcceptChannel);
    handle_funding_created(FundingCreated);
    handle_funding_signed(FundingSigned);
    handle_channel_ready(ChannelReady);
    /// Quiescence (BOLT 2 `stfu`).
    handle_stfu(Stfu);
    handle_shutdown(Shutdown);
    handle_closing_signed(ClosingSigned);
    handle_closing_complete(ClosingComplete);
    handle_closing_sig(ClosingSig);
    handle_update_add_htlc(UpdateAddHtlc);
    handle_update_fulfill_htlc(UpdateFulfillHtlc);
    handle_update_fail_htlc(UpdateFailHtlc);
    handle_update_fail_malformed_htlc(UpdateFailMalformedHtlc);
    handle_commitment_signed(CommitmentSigned);
    handle_revoke_and_ack(RevokeAndAck);
    handle_update_fee(UpdateFee);
    handle_channel_reestablish(ChannelReestablish);
    handle_announcement_signatures(AnnouncementSignatures);
    handle_tx_add_input(TxAddInput);
    handle_tx_add_output(TxAddOutput);
    handle_tx_remove_input(TxRemoveInput);
    handle_tx_remove_output(TxRemoveOutput);
    handle_tx_complete(TxComplete);
    handle_tx_signatures(TxSignatures);
    handle_tx_init_rbf(TxInitRbf);
    handle_tx_ack_rbf(TxAckRbf);
    handle_tx_abort(TxAbort);
    handle_open_channel_v2(OpenChannel2);
    handle_accept_channel_v2(AcceptChannel2);
    handle_splice_init(SpliceInit);
    handle_splice_ack(SpliceAck);
    handle_splice_locked(SpliceLocked);
    handle_start_batch(StartBatch);
    handle_peer_storage(PeerStorage);
    handle_peer_storage_retrieval(PeerStorageRetrieval);
}

/// Receives gossip (BOLT 7) from every peer; `P2PGossipSync` implements it.
#[allow(clippy::result_unit_err)] // `Err(())` only means "refuse this peer"
pub trait RoutingMessageHandler: MessageSendEventsProvider + Send + Sync {
    /// Handles a `node_announcement`. `Ok(true)` means it is new and valid
    /// and should be relayed. `their_node_id` is `None` for our own.
    fn handle_node_announcement(
        &self,
        their_node_id: Option<PublicKey>,
        msg: &NodeAnnouncement,
    ) -> Result<bool, LightningError>;
    /// Handles a `channel_announcement`; `Ok(true)` to relay.
    fn handle_channel_announcement(
        &self,
        their_node_id: Option<PublicKey>,
        msg: &ChannelAnnouncement,
    ) -> Result<bool, LightningError>;
    /// Handles a `channel_update`; `Ok(true)` to relay.
    fn handle_channel_update(
        &self,
        their_node_id: Option<PublicKey>,
        msg: &ChannelUpdate,
    ) -> Result<bool, LightningError>;
    /// The next channel (with its two updates) at or after short channel id
    /// `starting_point`, for sending a peer our graph.
    fn get_next_channel_announcement(
        &self,
        starting_point: u64,
    ) -> Option<(
        ChannelAnnouncement,
        Option<ChannelUpdate>,
        Option<ChannelUpdate>,
    )>;
    /// The next node announcement after `starting_point` (from the start if `None`).
    fn get_next_node_announcement(
        &self,
        starting_point: Option<&Point>,
    ) -> Option<NodeAnnouncement>;
    /// A peer finished `init`; the handler may start a gossip sync with it.
    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        init: &Init,
        inbound: bool,
    ) -> Result<(), ()>;
    /// A peer disconnected.
    fn peer_disconnected(&self, their_node_id: PublicKey);
    /// Handles a `reply_channel_range`.
    fn handle_reply_channel_range(
        &self,
        their_node_id: PublicKey,
        msg: ReplyChannelRange,
    ) -> Result<(), LightningError>;
    /// Handles a `reply_short_channel_ids_end`.
    fn handle_reply_short_channel_ids_end(
        &self,
        their_node_id: PublicKey,
        msg: ReplyShortChannelIdsEnd,
    ) -> Result<(), LightningError>;
    /// Handles a `query_channel_range`.
    fn handle_query_channel_range(
        &self,
        their_node_id: PublicKey,
        msg: QueryChannelRange,
    ) -> Result<(), LightningError>;
    /// Handles a `query_short_channel_ids`.
    fn handle_query_short_channel_ids(
        &self,
        their_node_id: PublicKey,
        msg: QueryShortChannelIds,
    ) -> Result<(), LightningError>;
    /// The next message answering this peer's gossip queries, if any. The
    /// `PeerManager` pulls these only while the peer's outbound buffer has
    /// room, so a large answer is paced rather than flooding the peer.
    fn next_query_reply(&self, their_node_id: PublicKey) -> Option<Message> {
        let _ = their_node_id;
        None
    }
    /// True while the handler's queue of work is long: the `PeerManager`
    /// then stops reading gossip from peers.
    fn processing_queue_high(&self) -> bool;
    /// The features we offer in `init` (e.g. gossip_queries).
    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures;
    /// The features we announce.
    fn provided_node_features(&self) -> NodeFeatures;
}

/// Receives `onion_message`s; the `OnionMessenger` implements it.
#[allow(clippy::result_unit_err)] // `Err(())` only means "refuse this peer"
pub trait OnionMessageHandler: Send + Sync {
    /// Handles an onion message from a peer.
    fn handle_onion_message(&self, peer_node_id: PublicKey, msg: &OnionMessage);
    /// The next onion message to send to this peer, if any.
    fn next_onion_message_for_peer(&self, peer_node_id: PublicKey) -> Option<OnionMessage>;
    /// A peer finished `init`.
    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        init: &Init,
        inbound: bool,
    ) -> Result<(), ()>;
    /// A peer disconnected.
    fn peer_disconnected(&self, their_node_id: PublicKey);
    /// Called on every timer tick.
    fn timer_tick_occurred(&self);
    /// The features we offer in `init`.
    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures;
    /// The features we announce.
    fn provided_node_features(&self) -> NodeFeatures;
}

/// Receives messages of application-defined types (odd ones, by BOLT 1's
/// "it's OK to be odd" rule, or even ones both sides agreed on).
#[allow(clippy::result_unit_err)] // `Err(())` only means "refuse this peer"
pub trait CustomMessageHandler: Send + Sync {
    /// Whether this handler takes messages of `type_id`.
    fn is_custom_type(&self, type_id: u16) -> bool;
    /// Handles a message of a type it claimed.
    fn handle_custom_message(
        &self,
        sender: PublicKey,
        type_id: u16,
        payload: &[u8],
    ) -> Result<(), LightningError>;
    /// Messages to send: `(peer, type, payload)`.
    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, u16, Vec<u8>)>;
    /// A peer finished `init`.
    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        init: &Init,
        inbound: bool,
    ) -> Result<(), ()>;
    /// A peer disconnected.
    fn peer_disconnected(&self, their_node_id: PublicKey);
    /// The features we offer in `init`.
    fn provided_init_features(&self, their_node_id: PublicKey) -> InitFeatures;
    /// The features we announce.
    fn provided_node_features(&self) -> NodeFeatures;
}
