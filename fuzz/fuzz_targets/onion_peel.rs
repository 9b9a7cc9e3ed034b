#![no_main]
//! Fuzz target `onion_peel`: see `lnkit::payment::fuzz::fuzz_onion_peel`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::payment::fuzz::fuzz_onion_peel(data));
