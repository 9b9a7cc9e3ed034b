#![no_main]
//! Fuzz target `aead`: see `lnkit::peer::aead::fuzz::fuzz_aead`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::peer::aead::fuzz::fuzz_aead(data));
