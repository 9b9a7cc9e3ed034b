#![no_main]
//! Fuzz target `setup_messages`: see `lnkit::fuzz::fuzz_setup_messages`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::fuzz::fuzz_setup_messages(data));
