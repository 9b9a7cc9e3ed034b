#![no_main]
//! Fuzz target `channel_read`: see `lnkit::channel::fuzz::fuzz_channel_read`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::channel::fuzz::fuzz_channel_read(data));
