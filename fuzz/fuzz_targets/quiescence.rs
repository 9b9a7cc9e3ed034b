#![no_main]
//! Fuzz target `quiescence`: see `lnkit::channel::quiescence::fuzz::fuzz_quiescence`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::channel::quiescence::fuzz::fuzz_quiescence(data));
