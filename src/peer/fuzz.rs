//! Fuzz entry points for the peer layer.
