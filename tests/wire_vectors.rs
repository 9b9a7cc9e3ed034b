//! Real messages: the BOLT 7 extended-queries vectors and messages captured
//! from other implementations must decode and re-encode byte for byte.

mod common;
use common::{h, lines};

use lnkit::codec::DecodeError;
use lnkit::msgs::{read_message, Message};
use lnkit::types::ShortChannelId;

#[test]
fn bolt7_extended_queries_decode_and_reencode_exactly() {
    let mut seen = 0;
    for line in lines(include_str!("vectors/bolt07-extended-queries.txt")) {
        let f: Vec<&str> = line.split(' ').collect();
        // Each vector is a whole frame: 2-byte type, then the payload.
        let bytes = h(f[2]);
        let result = read_message(&bytes);
        if f[1] == "zlib" {
            // bolt7-zlib-rejected: deprecated zlib encoding is refused, clearly.
            assert_eq!(result, Err(DecodeError::UnsupportedCompression), "{line}");
            seen += 1;
            continue;
        }
        let msg = result.unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(msg.encode(), bytes, "{line}");
        let want_scids: Option<Vec<ShortChannelId>> =
            f.get(3).and_then(|s| s.strip_prefix("scids=")).map(|s| {
                s.split(',')
                    .map(|x| ShortChannelId(x.parse().unwrap()))
                    .collect()
            });
        match (f[0], &msg) {
            ("QueryChannelRange", Message::QueryChannelRange(_)) => {}
            ("ReplyChannelRange", Message::ReplyChannelRange(m)) => {
                assert_eq!(Some(&m.short_channel_ids.0), want_scids.as_ref());
            }
            ("QueryShortChannelIds", Message::QueryShortChannelIds(m)) => {
                assert_eq!(Some(&m.short_channel_ids.0), want_scids.as_ref());
            }
            (t, m) => panic!("{t} decoded as {}", m.name()),
        }
        seen += 1;
    }
    assert_eq!(seen, 10);
}

#[test]
fn reply_channel_range_carries_timestamps_and_checksums() {
    let line = lines(include_str!("vectors/bolt07-extended-queries.txt"))
        .find(|l| l.starts_with("ReplyChannelRange plain") && l.contains("scids=12355"))
        .unwrap();
    let bytes = h(line.split(' ').nth(2).unwrap());
    let Ok(Message::ReplyChannelRange(m)) = read_message(&bytes) else {
        panic!("not decoded")
    };
    assert_eq!(
        m.checksums.unwrap().0,
        vec![(1111, 2222), (3333, 4444), (5555, 6666)]
    );
    assert_eq!(m.timestamps.unwrap().0.len(), 3);
    assert_eq!(m.sync_complete, 1);
}

#[test]
fn messages_from_other_implementations_round_trip_byte_for_byte() {
    let mut names = Vec::new();
    for line in lines(include_str!("vectors/codec-samples.txt")) {
        let (name, hexs) = line.split_once(' ').unwrap();
        let bytes = h(hexs.trim());
        let msg = read_message(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(msg.encode(), bytes, "{name}");
        assert!(
            name.starts_with(msg.name()),
            "{name} decoded as {}",
            msg.name()
        );
        names.push(name.to_string());
    }
    assert_eq!(names.len(), 7);
}
