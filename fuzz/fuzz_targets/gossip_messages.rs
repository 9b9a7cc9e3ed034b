#![no_main]
//! Fuzz target `gossip_messages`: see `lnkit::fuzz::fuzz_gossip_messages`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::fuzz::fuzz_gossip_messages(data));
