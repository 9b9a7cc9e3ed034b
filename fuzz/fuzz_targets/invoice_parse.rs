#![no_main]
//! Fuzz target `invoice_parse`: see `lnkit::payment::fuzz::fuzz_invoice_parse`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::payment::fuzz::fuzz_invoice_parse(data));
