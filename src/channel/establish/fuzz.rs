//! Fuzz entry point for the establishment handlers (wired into the
//! `fuzz/` crate by the lead).

use super::{InboundV1Channel, OutboundV1Channel};
use crate::chain::{BestBlock, ConfirmationTarget, FeeEstimator};
use crate::config::UserConfig;
use crate::msgs::features::InitFeatures;
use crate::msgs::{AcceptChannel, ChannelReady, FundingCreated, FundingSigned, OpenChannel};
use crate::sign::KeysManager;
use bitcoin::blockdata::constants::ChainHash;
use bitcoin::Network;

struct Fees;
impl FeeEstimator for Fees {
    fn get_est_sat_per_1000_weight(&self, t: ConfirmationTarget) -> u32 {
        match t {
            ConfirmationTarget::MaximumFeeEstimate => 100_000,
            _ => 253,
        }
    }
}

fn features() -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_static_remote_key_optional();
    f.set_anchors_zero_fee_htlc_tx_optional();
    f.set_shutdown_anysegwit_optional();
    f
}

/// The first byte picks the peer message under test, the rest is its
/// payload (without the type):
/// - `0`: an `open_channel` to a fresh inbound channel; if accepted, a
///   `funding_created` signed with garbage (must be refused);
/// - `1`: an `accept_channel` (its temporary id forced to ours) to a fresh
///   outbound channel;
/// - `2`: a `funding_signed` after a real handshake up to funding_created;
/// - `3`: a `channel_ready` to a pending channel.
///
/// Nothing may panic; hostile input only ever yields a `ChannelError`.
pub fn fuzz_establish(data: &[u8]) {
    let Some((&mode, payload)) = data.split_first() else {
        return;
    };
    let chain = ChainHash::using_genesis_block(Network::Regtest);
    let best = BestBlock::from_network(Network::Regtest);
    let config = UserConfig::default();
    let keys = KeysManager::new(&[7; 32], 1, 1);
    let f = features();
    match mode {
        0 => {
            let Ok(open) = OpenChannel::decode(payload) else {
                return;
            };
            if let Ok(b) =
                InboundV1Channel::new_from_open_channel(&Fees, &keys, &f, &open, 1, &config, chain)
            {
                let _ = b.accept_channel();
                let created = FundingCreated {
                    temporary_channel_id: open.temporary_channel_id,
                    funding_txid: bitcoin::Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
                    funding_output_index: 0,
                    signature: crate::types::WireSignature([1; 64]),
                    unknown_tlvs: Default::default(),
                };
                assert!(b.funding_created(&created, best).is_err());
            }
        }
        1..=3 => {
            let Ok(mut a) =
                OutboundV1Channel::new(&Fees, &keys, &keys, &f, 1_000_000, 0, 1, &config, chain)
            else {
                return;
            };
            if mode == 1 {
                if let Ok(mut accept) = AcceptChannel::decode(payload) {
                    accept.temporary_channel_id = a.temporary_channel_id();
                    let _ = a.accept_channel(&accept);
                }
                return;
            }
            let peer = KeysManager::new(&[8; 32], 1, 1);
            let Ok(open) = a.open_channel() else { return };
            let Ok(b) =
                InboundV1Channel::new_from_open_channel(&Fees, &peer, &f, &open, 2, &config, chain)
            else {
                return;
            };
            let Ok(accept) = b.accept_channel() else {
                return;
            };
            if a.accept_channel(&accept).is_err() {
                return;
            }
            let Some(spk) = a.funding_script_pubkey() else {
                return;
            };
            let tx = bitcoin::Transaction {
                version: bitcoin::transaction::Version::TWO,
                lock_time: bitcoin::absolute::LockTime::ZERO,
                input: Vec::new(),
                output: vec![bitcoin::TxOut {
                    value: bitcoin::Amount::from_sat(1_000_000),
                    script_pubkey: spk,
                }],
            };
            let Ok(created) = a.funding_created(&tx, 0) else {
                return;
            };
            if mode == 2 {
                if let Ok(signed) = FundingSigned::decode(payload) {
                    let _ = a.funding_signed(&signed, best);
                }
                return;
            }
            let Ok((mut pb, _, _)) = b.funding_created(&created, best) else {
                return;
            };
            if let Ok(mut ready) = ChannelReady::decode(payload) {
                if ready.channel_id.0[0] & 1 == 0 {
                    ready.channel_id = pb.channel_id();
                }
                let _ = pb.channel_ready_received(&ready);
            }
        }
        _ => {}
    }
}
