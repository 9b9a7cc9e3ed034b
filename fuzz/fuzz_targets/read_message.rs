#![no_main]
//! Fuzz target `read_message`: see `lnkit::fuzz::fuzz_read_message`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::fuzz::fuzz_read_message(data));
