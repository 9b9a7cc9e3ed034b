#![no_main]
//! Fuzz target `inbound_verify`: see `lnkit::payment::fuzz::fuzz_inbound_verify`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::payment::fuzz::fuzz_inbound_verify(data));
