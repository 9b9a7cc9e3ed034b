#![no_main]
//! Fuzz target `peer_manager`: see `lnkit::peer::fuzz::fuzz_peer_manager`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::peer::fuzz::fuzz_peer_manager(data));
