#![no_main]
//! Fuzz target `path_failure`: see `lnkit::payment::fuzz::fuzz_path_failure`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::payment::fuzz::fuzz_path_failure(data));
