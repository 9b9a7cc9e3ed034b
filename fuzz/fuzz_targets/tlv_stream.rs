#![no_main]
//! Fuzz target `tlv_stream`: see `lnkit::fuzz::fuzz_tlv_stream`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::fuzz::fuzz_tlv_stream(data));
