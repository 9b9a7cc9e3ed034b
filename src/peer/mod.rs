//! The peer layer: the BOLT 8 transport ([`noise`]) and the [`PeerManager`]
//! that owns every connection, runs `init` and ping/pong, routes messages
//! to the handlers and relays gossip, without owning a socket or a runtime.
//!
//! A driver (see [`crate::net`] for std TCP) implements [`SocketDescriptor`]
//! and calls [`PeerManager::read_event`], [`PeerManager::process_events`] and
//! [`PeerManager::timer_tick_occurred`].

pub mod aead;
mod descriptor;
mod dispatch;
pub mod fuzz;
mod gossip;
mod handlers;
mod keys;
mod manager;
pub mod noise;
pub mod pipe;

pub use descriptor::{PeerHandleError, SocketDescriptor};
pub use handlers::{ErroringMessageHandler, IgnoringMessageHandler};
pub use keys::{
    InMemoryNodeKey, OsEntropy, PeerEntropy, PeerNodeKey, SignerEntropy, SignerNodeKey,
};
pub use manager::{MessageHandler, PeerDetails, PeerManager, PeerManagerConfig, PeerObserver};
