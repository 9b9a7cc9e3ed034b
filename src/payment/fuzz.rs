//! Fuzz entry points for the payment decoders (wired into `fuzz/` by the
//! lead). Each must return normally on any input.
