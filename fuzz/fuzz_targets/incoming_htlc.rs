#![no_main]
//! Fuzz target `incoming_htlc`: see `lnkit::payment::fuzz::fuzz_incoming_htlc`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::payment::fuzz::fuzz_incoming_htlc(data));
