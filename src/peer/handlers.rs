//! Handlers that let a `PeerManager` run before the real components exist:
//! [`IgnoringMessageHandler`] (gossip, onion and custom messages dropped) and
//! [`ErroringMessageHandler`] (every channel message answered with an `error`).

use crate::events::{MessageSendEvent, MessageSendEventsProvider};
use crate::msgs::*;
use crate::types::{ChannelId, Point};
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::secp256k1::PublicKey;
use std::sync::Mutex;

/// Accepts and drops gossip, onion messages and custom messages, and
/// offers no features. Use it where no routing, onion-message or custom
/// handler is wanted.
#[derive(Clone, Copy, Debug, Default)]
pub struct IgnoringMessageHandler;

impl MessageSendEventsProvider for IgnoringMessageHandler {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        Vec::new()
    }
}

impl RoutingMessageHandler for IgnoringMessageHandler {
    fn handle_node_announcement(
        &self,
        _: Option<PublicKey>,
        _: &NodeAnnouncement,
    ) -> Result<bool, LightningError> {
        Ok(false)
    }
    fn handle_channel_announcement(
        &self,
        _: Option<PublicKey>,
        _: &ChannelAnnouncement,
    ) -> Result<bool, LightningError> {
        Ok(false)
    }
    fn handle_channel_update(
        &self,
        _: Option<PublicKey>,
        _: &ChannelUpdate,
    ) -> Result<bool, LightningError> {
        Ok(false)
    }
    fn get_next_channel_announcement(
        &self,
        _: u64,
    ) -> Option<(
        ChannelAnnouncement,
        Option<ChannelUpdate>,
        Option<ChannelUpdate>,
    )> {
        None
    }
    fn get_next_node_announcement(&self, _: Option<&Point>) -> Option<NodeAnnouncement> {
        None
    }
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn handle_reply_channel_range(
        &self,
        _: PublicKey,
        _: ReplyChannelRange,
    ) -> Result<(), LightningError> {
        Ok(())
    }
    fn handle_reply_short_channel_ids_end(
        &self,
        _: PublicKey,
        _: ReplyShortChannelIdsEnd,
    ) -> Result<(), LightningError> {
        Ok(())
    }
    fn handle_query_channel_range(
        &self,
        _: PublicKey,
        _: QueryChannelRange,
    ) -> Result<(), LightningError> {
        Ok(())
    }
    fn handle_query_short_channel_ids(
        &self,
        _: PublicKey,
        _: QueryShortChannelIds,
    ) -> Result<(), LightningError> {
        Ok(())
    }
    fn processing_queue_high(&self) -> bool {
        false
    }
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
}

impl OnionMessageHandler for IgnoringMessageHandler {
    fn handle_onion_message(&self, _: PublicKey, _: &OnionMessage) {}
    fn next_onion_message_for_peer(&self, _: PublicKey) -> Option<OnionMessage> {
        None
    }
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn timer_tick_occurred(&self) {}
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
}

impl CustomMessageHandler for IgnoringMessageHandler {
    fn is_custom_type(&self, _: u16) -> bool {
        false
    }
    fn handle_custom_message(&self, _: PublicKey, _: u16, _: &[u8]) -> Result<(), LightningError> {
        Ok(())
    }
    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, u16, Vec<u8>)> {
        Vec::new()
    }
    fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
        Ok(())
    }
    fn peer_disconnected(&self, _: PublicKey) {}
    fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }
}

/// A channel handler for a node without a `ChannelManager`: answers every
/// channel message with an `error` for that channel, so peers do not wait
/// on us. Offers no features and no chains.
#[derive(Debug, Default)]
pub struct ErroringMessageHandler {
    pending: Mutex<Vec<MessageSendEvent>>,
    chains: Option<Vec<ChainHash>>,
}

impl ErroringMessageHandler {
    /// A new handler with nothing queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handler that still names the chains we are on, so `init` carries
    /// `networks` and peers on other chains are refused.
    pub fn for_chains(chains: Vec<ChainHash>) -> Self {
        ErroringMessageHandler {
            pending: Mutex::new(Vec::new()),
            chains: Some(chains),
        }
    }

    fn refuse(&self, node_id: PublicKey, channel_id: ChannelId) {
        let msg = ErrorMessage::new(channel_id, "we do not support channel messages");
        let ev = MessageSendEvent::HandleError {
            node_id,
            action: ErrorAction::SendErrorMessage { msg },
        };
        if let Ok(mut p) = self.pending.lock() {
            // Bounded: a peer flooding channel messages between two
            // process_events calls gets at most this many answers queued.
            if p.len() < 1024 {
                p.push(ev);
            }
        }
    }
}

impl MessageSendEventsProvider for ErroringMessageHandler {
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

macro_rules! erroring {
    ($( $method:ident($ty:ty, $field:ident); )*) => {
        impl ChannelMessageHandler for ErroringMessageHandler {
            $(
                fn $method(&self, their_node_id: PublicKey, msg: &$ty) {
                    self.refuse(their_node_id, msg.$field);
                }
            )*
            fn handle_peer_storage(&self, _: PublicKey, _: &PeerStorage) {}
            fn handle_peer_storage_retrieval(&self, _: PublicKey, _: &PeerStorageRetrieval) {}
            fn handle_error(&self, _: PublicKey, _: &ErrorMessage) {}
            fn peer_connected(&self, _: PublicKey, _: &Init, _: bool) -> Result<(), ()> {
                Ok(())
            }
            fn peer_disconnected(&self, _: PublicKey) {}
            fn provided_init_features(&self, _: PublicKey) -> InitFeatures {
                InitFeatures::empty()
            }
            fn provided_node_features(&self) -> NodeFeatures {
                NodeFeatures::empty()
            }
            fn get_chain_hashes(&self) -> Option<Vec<ChainHash>> {
                self.chains.clone()
            }
        }
    };
}

erroring! {
    handle_open_channel(OpenChannel, temporary_channel_id);
    handle_accept_channel(AcceptChannel, temporary_channel_id);
    handle_funding_created(FundingCreated, temporary_channel_id);
    handle_funding_signed(FundingSigned, channel_id);
    handle_channel_ready(ChannelReady, channel_id);
    handle_stfu(Stfu, channel_id);
    handle_shutdown(Shutdown, channel_id);
    handle_closing_signed(ClosingSigned, channel_id);
    handle_closing_complete(ClosingComplete, channel_id);
    handle_closing_sig(ClosingSig, channel_id);
    handle_update_add_htlc(UpdateAddHtlc, channel_id);
    handle_update_fulfill_htlc(UpdateFulfillHtlc, channel_id);
    handle_update_fail_htlc(UpdateFailHtlc, channel_id);
    handle_update_fail_malformed_htlc(UpdateFailMalformedHtlc, channel_id);
    handle_commitment_signed(CommitmentSigned, channel_id);
    handle_revoke_and_ack(RevokeAndAck, channel_id);
    handle_update_fee(UpdateFee, channel_id);
    handle_channel_reestablish(ChannelReestablish, channel_id);
    handle_announcement_signatures(AnnouncementSignatures, channel_id);
    handle_tx_add_input(TxAddInput, channel_id);
    handle_tx_add_output(TxAddOutput, channel_id);
    handle_tx_remove_input(TxRemoveInput, channel_id);
    handle_tx_remove_output(TxRemoveOutput, channel_id);
    handle_tx_complete(TxComplete, channel_id);
    handle_tx_signatures(TxSignatures, channel_id);
    handle_tx_init_rbf(TxInitRbf, channel_id);
    handle_tx_ack_rbf(TxAckRbf, channel_id);
    handle_tx_abort(TxAbort, channel_id);
    handle_open_channel_v2(OpenChannel2, temporary_channel_id);
    handle_accept_channel_v2(AcceptChannel2, temporary_channel_id);
    handle_splice_init(SpliceInit, channel_id);
    handle_splice_ack(SpliceAck, channel_id);
    handle_splice_locked(SpliceLocked, channel_id);
    handle_start_batch(StartBatch, channel_id);
}
