//! Property tests of the codec: every message type round-trips, and any
//! byte string either decodes (to something that re-encodes to exactly
//! those bytes) or fails with a typed error — never a panic.

use lnkit::codec::sample::SampleRng;
use lnkit::codec::{BigSize, Readable, Writeable};
use lnkit::msgs::{read_message, Message};
use proptest::prelude::*;

/// How many distinct known message types there are (BOLT 1, 2, 4, 7).
const KNOWN_TYPES: usize = 50;

#[test]
fn every_known_type_is_sampled_once() {
    let msgs = Message::sample_each(&mut SampleRng::new(1));
    assert_eq!(msgs.len(), KNOWN_TYPES);
    let mut types: Vec<u16> = msgs.iter().map(Message::type_id).collect();
    types.sort_unstable();
    types.dedup();
    assert_eq!(types.len(), KNOWN_TYPES, "two variants share a type number");
    for m in &msgs {
        assert_eq!(Message::name_of_type(m.type_id()), Some(m.name()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// read(encode(m)) == m and encode(read(bytes)) == bytes, for every type.
    #[test]
    fn every_message_round_trips(seed in any::<u64>()) {
        for msg in Message::sample_each(&mut SampleRng::new(seed)) {
            let bytes = msg.encode();
            let back = read_message(&bytes);
            prop_assert_eq!(back.as_ref(), Ok(&msg), "{}", msg.name());
            prop_assert_eq!(back.unwrap().encode(), bytes);
        }
    }

    /// Truncating an encoded message never panics; a prefix that still
    /// decodes re-encodes to itself.
    #[test]
    fn truncated_messages_fail_cleanly(seed in any::<u64>(), cut in any::<prop::sample::Index>()) {
        for msg in Message::sample_each(&mut SampleRng::new(seed)) {
            let bytes = msg.encode();
            let prefix = &bytes[..cut.index(bytes.len())];
            if let Ok(m) = read_message(prefix) {
                prop_assert_eq!(m.encode(), prefix.to_vec(), "{}", msg.name());
            }
        }
    }

    /// Appending bytes or flipping one never panics, and whatever decodes
    /// re-encodes byte for byte.
    #[test]
    fn extended_or_corrupted_messages_fail_cleanly(
        seed in any::<u64>(),
        tail in prop::collection::vec(any::<u8>(), 0..40),
        flip in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        for msg in Message::sample_each(&mut SampleRng::new(seed)) {
            let mut bytes = msg.encode();
            bytes.extend_from_slice(&tail);
            if let Ok(m) = read_message(&bytes) {
                prop_assert_eq!(m.encode(), bytes.clone(), "{}", msg.name());
            }
            let i = flip.index(bytes.len());
            bytes[i] ^= mask;
            if let Ok(m) = read_message(&bytes) {
                prop_assert_eq!(m.encode(), bytes, "{}", msg.name());
            }
        }
    }

    /// Arbitrary bytes: a value or a DecodeError, and canonical if a value.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = read_message(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }

    /// Arbitrary payloads behind every known type prefix.
    #[test]
    fn arbitrary_payloads_of_known_types_never_panic(
        which in 0..KNOWN_TYPES,
        payload in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let t = Message::sample_each(&mut SampleRng::new(0))[which].type_id();
        let mut bytes = t.to_be_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        if let Ok(m) = read_message(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }

    /// BigSize round-trips and its encoding is minimal.
    #[test]
    fn bigsize_round_trips(v in any::<u64>()) {
        let bytes = BigSize(v).encode();
        prop_assert_eq!(bytes.len(), BigSize::encoded_len(v));
        prop_assert_eq!(BigSize::read(&mut &bytes[..]), Ok(BigSize(v)));
    }
}

#[test]
fn unknown_even_message_is_an_error_and_unknown_odd_is_kept() {
    use lnkit::codec::DecodeError;
    assert_eq!(
        read_message(&[0x80, 0x00, 1, 2]),
        Err(DecodeError::UnknownRequiredMessage(0x8000))
    );
    let odd = read_message(&[0x80, 0x01, 1, 2]).unwrap();
    assert_eq!(
        odd,
        Message::Unknown {
            type_id: 0x8001,
            payload: vec![1, 2]
        }
    );
    assert_eq!(odd.encode(), vec![0x80, 0x01, 1, 2]);
    assert_eq!(read_message(&[0x01]), Err(DecodeError::ShortRead));
}
