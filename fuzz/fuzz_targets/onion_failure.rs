#![no_main]
//! Fuzz target `onion_failure`: see `lnkit::payment::fuzz::fuzz_onion_failure`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::payment::fuzz::fuzz_onion_failure(data));
