#![no_main]
//! Fuzz target `channel_establish`: see `lnkit::channel::establish::fuzz::fuzz_establish`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::channel::establish::fuzz::fuzz_establish(data));
