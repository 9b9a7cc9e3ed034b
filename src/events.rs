//! Messages components ask the `PeerManager` to send.

use crate::msgs::{ChannelAnnouncement, ChannelUpdate, ErrorAction, Message, NodeAnnouncement};
use bitcoin::secp256k1::PublicKey;

/// A message a component wants sent, collected by the `PeerManager` in
/// `process_events`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum MessageSendEvent {
    /// Send `msg` to the peer `node_id`.
    SendMessage {
        /// The peer.
        node_id: PublicKey,
        /// The message.
        msg: Message,
    },
    /// Relay a channel announcement (and one of its updates) to every peer.
    BroadcastChannelAnnouncement {
        /// The announcement.
        msg: ChannelAnnouncement,
        /// An update to send right after it.
        update_msg: Option<ChannelUpdate>,
    },
    /// Relay a channel update to every peer.
    BroadcastChannelUpdate {
        /// The update.
        msg: ChannelUpdate,
    },
    /// Relay a node announcement to every peer.
    BroadcastNodeAnnouncement {
        /// The announcement.
        msg: NodeAnnouncement,
    },
    /// Act on an error with a peer (send an error or warning, or disconnect).
    HandleError {
        /// The peer.
        node_id: PublicKey,
        /// What to do.
        action: ErrorAction,
    },
}

/// A component with messages to send.
pub trait MessageSendEventsProvider {
    /// Takes the queued messages.
    fn get_and_clear_pending_msg_events(&self) -> Vec<MessageSendEvent>;
}
