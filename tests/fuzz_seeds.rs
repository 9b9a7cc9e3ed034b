//! Runs every fuzz target of `lnkit::fuzz` over its committed seed corpus
//! (`fuzz/seeds/<target>/`), plus every truncation of each seed, on stable
//! Rust as part of `cargo test`.
//!
//! Regenerate the seeds of the codec targets with
//! `cargo test --test fuzz_seeds -- --ignored regenerate_codec_seeds`.

use lnkit::codec::sample::SampleRng;
use lnkit::codec::Type;
use lnkit::msgs::Message;
use std::path::{Path, PathBuf};

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("seeds")
        .join(target)
}

#[test]
fn fuzz_seed_corpus_passes_on_stable() {
    for (name, target) in lnkit::fuzz::TARGETS {
        let dir = seed_dir(name);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| {
                panic!(
                    "no seed corpus for fuzz target {name} at {}: {e}",
                    dir.display()
                )
            })
            .map(|e| e.expect("readable dir entry").path())
            .collect();
        entries.sort();
        assert!(!entries.is_empty(), "fuzz target {name} has no seeds");
        for path in entries {
            let data = std::fs::read(&path).expect("readable seed");
            target(&data);
            for cut in 0..data.len().min(600) {
                target(&data[..cut]);
            }
        }
    }
}

/// Index of a message in its family target (the first byte of the input).
fn family_of(m: &Message) -> Option<(&'static str, u8)> {
    use lnkit::msgs::*;
    let setup: &[u16] = &[
        Init::TYPE,
        ErrorMessage::TYPE,
        Warning::TYPE,
        Ping::TYPE,
        Pong::TYPE,
        PeerStorage::TYPE,
        PeerStorageRetrieval::TYPE,
    ];
    let channel: &[u16] = &[
        OpenChannel::TYPE,
        AcceptChannel::TYPE,
        FundingCreated::TYPE,
        FundingSigned::TYPE,
        ChannelReady::TYPE,
        Stfu::TYPE,
        Shutdown::TYPE,
        ClosingSigned::TYPE,
        ClosingComplete::TYPE,
        ClosingSig::TYPE,
        UpdateAddHtlc::TYPE,
        UpdateFulfillHtlc::TYPE,
        UpdateFailHtlc::TYPE,
        UpdateFailMalformedHtlc::TYPE,
        CommitmentSigned::TYPE,
        RevokeAndAck::TYPE,
        UpdateFee::TYPE,
        ChannelReestablish::TYPE,
    ];
    let interactive: &[u16] = &[
        TxAddInput::TYPE,
        TxAddOutput::TYPE,
        TxRemoveInput::TYPE,
        TxRemoveOutput::TYPE,
        TxComplete::TYPE,
        TxSignatures::TYPE,
        TxInitRbf::TYPE,
        TxAckRbf::TYPE,
        TxAbort::TYPE,
        OpenChannel2::TYPE,
        AcceptChannel2::TYPE,
        SpliceInit::TYPE,
        SpliceAck::TYPE,
        SpliceLocked::TYPE,
        StartBatch::TYPE,
    ];
    let gossip: &[u16] = &[
        AnnouncementSignatures::TYPE,
        ChannelAnnouncement::TYPE,
        NodeAnnouncement::TYPE,
        ChannelUpdate::TYPE,
        QueryShortChannelIds::TYPE,
        ReplyShortChannelIdsEnd::TYPE,
        QueryChannelRange::TYPE,
        ReplyChannelRange::TYPE,
        GossipTimestampFilter::TYPE,
        OnionMessage::TYPE,
    ];
    for (name, list) in [
        ("setup_messages", setup),
        ("channel_messages", channel),
        ("interactive_messages", interactive),
        ("gossip_messages", gossip),
    ] {
        if let Some(i) = list.iter().position(|t| *t == m.type_id()) {
            return Some((name, i as u8));
        }
    }
    None
}

#[test]
#[ignore = "writes the seed corpus; run by hand after changing messages"]
fn regenerate_codec_seeds() {
    for (name, _) in &lnkit::fuzz::TARGETS[..6] {
        let dir = seed_dir(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    for seed in 0..3u64 {
        for m in Message::sample_each(&mut SampleRng::new(seed)) {
            let frame = m.encode();
            std::fs::write(
                seed_dir("read_message").join(format!("{}-{seed}", m.name())),
                &frame,
            )
            .unwrap();
            let (family, idx) = family_of(&m).expect("every message is in a family");
            let mut input = vec![idx];
            input.extend_from_slice(&frame[2..]);
            std::fs::write(seed_dir(family).join(format!("{}-{seed}", m.name())), input).unwrap();
        }
    }
    let tlv = [
        &b"\x01\x00"[..],
        b"\x21\x00",
        b"\xfd\x02\x01\x00",
        b"\x01\x01\x01\x03\x02\x00\x00",
        b"\xfe\x00\x01\x00\x00",
    ];
    for (i, s) in tlv.iter().enumerate() {
        std::fs::write(seed_dir("tlv_stream").join(format!("stream-{i}")), s).unwrap();
    }
}
