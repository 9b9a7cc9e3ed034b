#![no_main]
//! Fuzz target `manager_read`: see `lnkit::manager::fuzz::fuzz_manager_read`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::manager::fuzz::fuzz_manager_read(data));
