#![no_main]
//! Fuzz target `channel_monitor_update`: see `lnkit::chain::monitor::fuzz::fuzz_channel_monitor_update`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::chain::monitor::fuzz::fuzz_channel_monitor_update(data));
