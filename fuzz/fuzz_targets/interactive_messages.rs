#![no_main]
//! Fuzz target `interactive_messages`: see `lnkit::fuzz::fuzz_interactive_messages`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::fuzz::fuzz_interactive_messages(data));
