//! The socket abstraction the `PeerManager` writes through, and the error
//! its connection calls return.

use super::noise::NoiseError;
use crate::codec::DecodeError;
use core::fmt;
use core::hash::Hash;

/// A handle on one connection, supplied by the I/O driver (see [`crate::net`]).
///
/// The `PeerManager` never owns a socket: it hands bytes to `send_data` and
/// asks for a disconnect with `disconnect_socket`. Clones must refer to the
/// same connection and compare equal.
pub trait SocketDescriptor: Clone + Eq + Hash + Send + Sync {
    /// Queues `data` for sending and returns how many bytes were accepted;
    /// the rest is offered again after the driver calls
    /// `PeerManager::write_buffer_space_avail`. `resume_read` true asks the
    /// driver to resume reading if it had paused (see `read_event`'s result).
    /// `data` may be empty when only `resume_read` matters.
    fn send_data(&mut self, data: &[u8], resume_read: bool) -> usize;
    /// Closes the connection. The driver must not call
    /// `PeerManager::socket_disconnected` for a disconnect the manager asked
    /// for (doing so is harmless).
    fn disconnect_socket(&mut self);
}

/// Why the `PeerManager` dropped (or refused) a connection. When a call
/// returns it, the peer is already forgotten: the driver should close the
/// socket.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerHandleError {
    /// The BOLT 8 handshake or transport failed (bad act, bad MAC…).
    Noise(NoiseError),
    /// A message could not be decoded.
    Decode(DecodeError),
    /// A BOLT 1 rule was broken; the string is the requirement's tag
    /// (e.g. `bolt1-init-first`).
    Protocol(&'static str),
    /// The descriptor is not a connection we know.
    UnknownDescriptor,
    /// Too many connections are still in the handshake.
    TooManyPendingHandshakes,
    /// We are already connected to this node.
    DuplicateConnection,
    /// The peer stopped reading and its outbound buffer hit its bound.
    OutboundBufferFull,
    /// A message handler asked for the disconnect.
    HandlerRequested,
}

impl PeerHandleError {
    /// A stable tag for logs and tests.
    pub fn tag(&self) -> &'static str {
        match self {
            PeerHandleError::Noise(e) => e.tag(),
            PeerHandleError::Decode(_) => "bolt1-decode",
            PeerHandleError::Protocol(t) => t,
            PeerHandleError::UnknownDescriptor => "peer-unknown-descriptor",
            PeerHandleError::TooManyPendingHandshakes => "peer-handshake-cap",
            PeerHandleError::DuplicateConnection => "peer-duplicate-connection",
            PeerHandleError::OutboundBufferFull => "peer-outbound-buffer-full",
            PeerHandleError::HandlerRequested => "peer-handler-disconnect",
        }
    }
}

impl fmt::Display for PeerHandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerHandleError::Noise(e) => write!(f, "transport: {e}"),
            PeerHandleError::Decode(e) => write!(f, "bad message: {e}"),
            PeerHandleError::Protocol(t) => write!(f, "protocol violation: {t}"),
            PeerHandleError::UnknownDescriptor => f.write_str("unknown connection"),
            PeerHandleError::TooManyPendingHandshakes => {
                f.write_str("too many connections in handshake")
            }
            PeerHandleError::DuplicateConnection => f.write_str("already connected to this node"),
            PeerHandleError::OutboundBufferFull => f.write_str("peer is not reading"),
            PeerHandleError::HandlerRequested => f.write_str("a message handler disconnected"),
        }
    }
}

impl std::error::Error for PeerHandleError {}

impl From<NoiseError> for PeerHandleError {
    fn from(e: NoiseError) -> Self {
        PeerHandleError::Noise(e)
    }
}
impl From<DecodeError> for PeerHandleError {
    fn from(e: DecodeError) -> Self {
        PeerHandleError::Decode(e)
    }
}
