#![no_main]
//! Fuzz target `counterparty_commitment_secrets`: see `lnkit::channel::fuzz::fuzz_counterparty_commitment_secrets`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lnkit::channel::fuzz::fuzz_counterparty_commitment_secrets(data));
