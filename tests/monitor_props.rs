//! Property tests of the monitor update decoder: arbitrary bytes never
//! panic, and arbitrary updates round-trip.

mod monitor_common;

use lnkit::chain::monitor::{
    ChannelMonitorUpdate, ChannelMonitorUpdateStep, CounterpartyCommitmentInfo,
    HolderCommitmentInfo,
};
use lnkit::channel::tx::{Htlc, HtlcDirection};
use lnkit::channel::{FeeRatePerKw, MilliSatoshi};
use lnkit::codec::Writeable;
use lnkit::types::{PaymentHash, PaymentPreimage};
use monitor_common::*;
use proptest::prelude::*;
use std::sync::OnceLock;

fn base() -> &'static (HolderCommitmentInfo, CounterpartyCommitmentInfo) {
    static B: OnceLock<(HolderCommitmentInfo, CounterpartyCommitmentInfo)> = OnceLock::new();
    B.get_or_init(|| {
        let f = Fixture::new();
        (f.holder_info(1), f.counterparty_info(1))
    })
}

fn htlc() -> impl Strategy<Value = Htlc> {
    (any::<bool>(), any::<u64>(), any::<u32>(), any::<[u8; 32]>()).prop_map(|(d, a, c, h)| Htlc {
        direction: if d {
            HtlcDirection::HolderOffered
        } else {
            HtlcDirection::CounterpartyOffered
        },
        amount: MilliSatoshi(a),
        cltv_expiry: c,
        payment_hash: PaymentHash(h),
    })
}

fn step() -> impl Strategy<Value = ChannelMonitorUpdateStep> {
    prop_oneof![
        (
            0..(1u64 << 48),
            any::<u64>(),
            any::<u32>(),
            prop::collection::vec(htlc(), 0..4)
        )
            .prop_map(|(num, bal, fee, htlcs)| {
                let mut h = base().0.clone();
                h.commitment_number = n(num);
                h.to_holder = MilliSatoshi(bal);
                h.feerate = FeeRatePerKw(fee);
                h.htlcs = htlcs;
                ChannelMonitorUpdateStep::LatestHolderCommitment(h)
            }),
        (
            0..(1u64 << 48),
            any::<[u8; 32]>(),
            prop::collection::vec(htlc(), 0..4)
        )
            .prop_map(|(num, txid, htlcs)| {
                let mut c = base().1.clone();
                c.commitment_number = n(num);
                c.txid = bitcoin::hashes::Hash::from_byte_array(txid);
                c.htlcs = htlcs;
                ChannelMonitorUpdateStep::LatestCounterpartyCommitment(c)
            }),
        (0..(1u64 << 48), any::<[u8; 32]>()).prop_map(|(num, secret)| {
            ChannelMonitorUpdateStep::CommitmentSecret {
                commitment_number: n(num),
                secret,
            }
        }),
        any::<[u8; 32]>().prop_map(|p| ChannelMonitorUpdateStep::PaymentPreimage {
            preimage: PaymentPreimage(p)
        }),
        any::<bool>().prop_map(|b| ChannelMonitorUpdateStep::ChannelForceClosed {
            should_broadcast: b
        }),
        prop::collection::vec(any::<u8>(), 0..60).prop_map(|s| {
            ChannelMonitorUpdateStep::ShutdownScript {
                script: bitcoin::ScriptBuf::from_bytes(s),
            }
        }),
    ]
}

proptest! {
    #[test]
    fn monitor_update_round_trips(id in any::<u64>(), steps in prop::collection::vec(step(), 0..6)) {
        let u = ChannelMonitorUpdate { update_id: id, updates: steps };
        let bytes = u.encode();
        prop_assert_eq!(ChannelMonitorUpdate::decode(&bytes), Ok(u));
    }

    #[test]
    fn monitor_update_decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..400)) {
        lnkit::chain::monitor::fuzz::fuzz_channel_monitor_update(&data);
    }

    #[test]
    fn monitor_update_decoder_survives_mutations(
        id in any::<u64>(),
        steps in prop::collection::vec(step(), 1..4),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = ChannelMonitorUpdate { update_id: id, updates: steps }.encode();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        lnkit::chain::monitor::fuzz::fuzz_channel_monitor_update(&bytes);
    }
}
