#![no_main]
//! Fuzz target `channel_messages`: see `lnkit::fuzz::fuzz_channel_messages`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::fuzz::fuzz_channel_messages(data));
