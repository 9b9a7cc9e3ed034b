//! Small helpers shared by the integration tests.
#![allow(dead_code)]

use hex::FromHex;

/// Hex to bytes; `-` means empty.
pub fn h(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    Vec::<u8>::from_hex(s).unwrap_or_else(|e| panic!("bad hex in vector {s}: {e}"))
}

/// The non-comment, non-empty lines of a vector file.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}
