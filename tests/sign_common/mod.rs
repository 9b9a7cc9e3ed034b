//! Shared setup for the sign_* and bolt3_properties tests: two nodes'
//! `KeysManager`s and one channel between them, seen from both sides.
#![allow(dead_code)]

use bitcoin::hashes::Hash;
use bitcoin::{Amount, OutPoint, Txid};
use lnkit::channel::script::CommitmentFormat;
use lnkit::channel::tx::ChannelTransactionParameters;
use lnkit::sign::{ChannelSigner, InMemorySigner, KeysManager, SignerProvider};

pub struct Pair {
    pub a: InMemorySigner,
    pub b: InMemorySigner,
    /// A's view (A opened the channel).
    pub a_params: ChannelTransactionParameters,
    /// B's view.
    pub b_params: ChannelTransactionParameters,
}

pub fn pair(format: CommitmentFormat, channel_value_sat: u64, a_dust: u64, b_dust: u64) -> Pair {
    let ka = KeysManager::new(&[0x11; 32], 1_700_000_000, 1);
    let kb = KeysManager::new(&[0x22; 32], 1_700_000_000, 2);
    let a = ka.derive_in_memory_signer(ka.generate_channel_keys_id(false, 7));
    let b = kb.derive_in_memory_signer(kb.generate_channel_keys_id(true, 9));
    let a_params = ChannelTransactionParameters {
        holder_pubkeys: *a.pubkeys(),
        counterparty_pubkeys: *b.pubkeys(),
        holder_selected_contest_delay: 144,
        counterparty_selected_contest_delay: 720,
        holder_dust_limit: Amount::from_sat(a_dust),
        counterparty_dust_limit: Amount::from_sat(b_dust),
        is_outbound_from_holder: true,
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array([7; 32]),
            vout: 1,
        },
        channel_value: Amount::from_sat(channel_value_sat),
        format,
    };
    let b_params = a_params.mirrored();
    Pair {
        a,
        b,
        a_params,
        b_params,
    }
}
