#![no_main]
//! Fuzz target `scorer_read`: see `lnkit::routing::fuzz::fuzz_scorer_read`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::routing::fuzz::fuzz_scorer_read(data));
