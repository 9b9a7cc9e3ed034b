#![no_main]
//! Fuzz target `graph_read`: see `lnkit::gossip::fuzz::fuzz_graph_read`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::gossip::fuzz::fuzz_graph_read(data));
