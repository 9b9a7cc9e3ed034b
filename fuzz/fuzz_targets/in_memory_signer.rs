#![no_main]
//! Fuzz target `in_memory_signer`: see `lnkit::sign::fuzz::fuzz_in_memory_signer`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::sign::fuzz::fuzz_in_memory_signer(data));
