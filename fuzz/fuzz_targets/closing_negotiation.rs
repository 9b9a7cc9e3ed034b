#![no_main]
//! Fuzz target `closing_negotiation`: see `lnkit::channel::closing_negotiation::fuzz::fuzz_closing_negotiation`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::channel::closing_negotiation::fuzz::fuzz_closing_negotiation(data));
