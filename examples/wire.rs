//! Decodes real Lightning messages captured from other implementations,
//! prints what they say, and re-encodes them byte for byte.
//!
//! `cargo run --example wire`

use lnkit::msgs::{read_message, Init, InitFeatures, Message};

const SAMPLES: &str = include_str!("../tests/vectors/codec-samples.txt");

fn describe(msg: &Message) -> String {
    match msg {
        Message::ChannelUpdate(m) => format!(
            "scid {} dir {} fee {} msat + {} ppm, cltv delta {}, htlc {}..{} msat",
            m.short_channel_id,
            m.direction(),
            m.fee_base_msat,
            m.fee_proportional_millionths,
            m.cltv_expiry_delta,
            m.htlc_minimum_msat,
            m.htlc_maximum_msat
        ),
        Message::UpdateAddHtlc(m) => format!(
            "htlc #{} of {} msat, hash {}, expires at block {}",
            m.id, m.amount_msat, m.payment_hash, m.cltv_expiry
        ),
        Message::CommitmentSigned(m) => {
            format!(
                "channel {} with {} HTLC signatures",
                m.channel_id,
                m.htlc_signatures.len()
            )
        }
        Message::NodeAnnouncement(m) => format!(
            "node {} alias {:?}, {} address(es), {:?}",
            m.node_id,
            String::from_utf8_lossy(&m.alias).trim_end_matches('\0'),
            m.addresses.0.len(),
            m.features
        ),
        Message::ChannelAnnouncement(m) => {
            format!(
                "channel {} between {} and {}",
                m.short_channel_id, m.node_id_1, m.node_id_2
            )
        }
        Message::RevokeAndAck(m) => format!(
            "channel {}, next point {}",
            m.channel_id, m.next_per_commitment_point
        ),
        Message::UpdateFulfillHtlc(m) => format!(
            "htlc #{} settled, hash {}",
            m.id,
            m.payment_preimage.payment_hash()
        ),
        other => format!("{other:?}"),
    }
}

fn main() {
    for line in SAMPLES
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (label, hex) = line.split_once(' ').expect("name hex");
        let bytes = <Vec<u8> as hex::FromHex>::from_hex(hex.trim()).expect("valid hex");
        let msg = read_message(&bytes).expect("sample decodes");
        let again = msg.encode();
        println!(
            "{:<28} type {:>3} {:>5} bytes  {}",
            msg.name(),
            msg.type_id(),
            bytes.len(),
            if again == bytes {
                "re-encodes byte for byte"
            } else {
                "RE-ENCODING DIFFERS"
            }
        );
        println!("    ({label}) {}", describe(&msg));
        assert_eq!(again, bytes);
    }

    // Build our own init, as a node would send it after the handshake.
    let mut features = InitFeatures::empty();
    features
        .set_data_loss_protect_optional()
        .set_variable_length_onion_required()
        .set_static_remote_key_required()
        .set_payment_secret_required()
        .set_basic_mpp_optional()
        .set_channel_type_optional()
        .set_quiescence_optional();
    let chain = lnkit::bitcoin::blockdata::constants::ChainHash::REGTEST;
    let init = Message::from(Init::new(features, Some(vec![chain])));
    let bytes = init.encode();
    println!(
        "{:<28} type {:>3} {:>5} bytes  {}",
        init.name(),
        init.type_id(),
        bytes.len(),
        hex_string(&bytes)
    );
    assert_eq!(read_message(&bytes).expect("our init decodes"), init);
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
