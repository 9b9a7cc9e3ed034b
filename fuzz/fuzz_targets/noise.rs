#![no_main]
//! Fuzz target `noise`: see `lnkit::peer::fuzz::fuzz_noise`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::peer::fuzz::fuzz_noise(data));
