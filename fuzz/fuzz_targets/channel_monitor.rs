#![no_main]
//! Fuzz target `channel_monitor`: see `lnkit::chain::monitor::fuzz::fuzz_channel_monitor`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::chain::monitor::fuzz::fuzz_channel_monitor(data));
