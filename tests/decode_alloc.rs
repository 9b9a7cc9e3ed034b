//! Decoding never allocates more than the input justifies: a counting
//! global allocator measures every allocation made while decoding hostile
//! input (length prefixes claiming 65535 bytes, huge counts, …).
//!
//! This file is its own test binary so the allocator sees only it.

use lnkit::codec::sample::SampleRng;
use lnkit::msgs::{read_message, Message};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + new_size));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Total bytes allocated by `f` on this thread.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

/// The budget for decoding `n` bytes: a small constant (one bounded
/// pre-allocation of 4 KiB per variable field) plus a multiple of the input.
fn budget(n: usize) -> usize {
    16 * 1024 + 8 * n
}

#[test]
fn fixed_size_messages_decode_without_allocating() {
    // update_fulfill_htlc, revoke_and_ack, update_add_htlc without TLVs:
    // only fixed-size fields, so no heap allocation at all.
    let mut g = SampleRng::new(7);
    for m in Message::sample_each(&mut g) {
        let stripped = match m {
            Message::UpdateFulfillHtlc(mut x) => {
                x.unknown_tlvs = Default::default();
                x.attribution_data = None;
                Message::from(x)
            }
            Message::RevokeAndAck(mut x) => {
                x.unknown_tlvs = Default::default();
                Message::from(x)
            }
            Message::UpdateAddHtlc(mut x) => {
                x.unknown_tlvs = Default::default();
                x.blinding_point = None;
                Message::from(x)
            }
            _ => continue,
        };
        let bytes = stripped.encode();
        let (decoded, used) = allocated_by(|| read_message(&bytes));
        assert_eq!(decoded.as_ref(), Ok(&stripped));
        assert_eq!(used, 0, "{} allocated {used} bytes", stripped.name());
    }
}

#[test]
fn hostile_length_prefixes_do_not_allocate_what_they_claim() {
    // error with a claimed 65535-byte data field but 3 bytes present.
    let mut frame = vec![0, 17];
    frame.extend_from_slice(&[0; 32]);
    frame.extend_from_slice(&[0xff, 0xff, 1, 2, 3]);
    let (r, used) = allocated_by(|| read_message(&frame));
    assert!(r.is_err());
    assert!(used <= budget(frame.len()), "{used}");
    // commitment_signed claiming 65535 signatures.
    let mut frame = vec![0, 132];
    frame.extend_from_slice(&[0; 32 + 64]);
    frame.extend_from_slice(&[0xff, 0xff]);
    let (r, used) = allocated_by(|| read_message(&frame));
    assert!(r.is_err());
    assert!(used <= budget(frame.len()), "{used}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoding_allocates_in_proportion_to_input(
        which in 0usize..50,
        payload in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let t = Message::sample_each(&mut SampleRng::new(0))[which].type_id();
        let mut frame = t.to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        let (_, used) = allocated_by(|| read_message(&frame));
        prop_assert!(used <= budget(frame.len()), "type {t}: {used} bytes for {} input", frame.len());
    }

    #[test]
    fn decoding_valid_messages_allocates_in_proportion(seed in any::<u64>()) {
        for m in Message::sample_each(&mut SampleRng::new(seed)) {
            let bytes = m.encode();
            let (_, used) = allocated_by(|| read_message(&bytes));
            prop_assert!(used <= budget(bytes.len()), "{}: {used} bytes for {}", m.name(), bytes.len());
        }
    }
}
