//! The peer layer: the BOLT 8 transport ([`noise`]) and the `PeerManager`
//! that owns every connection, frames messages and routes them to handlers.

pub mod noise;
