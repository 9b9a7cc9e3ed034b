//! [`Sample`] implementations for the field types of the messages, so every
//! message can be generated for property tests and fuzz seeds.

use super::*;
use crate::codec::sample::{Sample, SampleRng};
use crate::types::ShortChannelId;
use bitcoin::{
    absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
};

impl<T: features::FeatureContext> Sample for Features<T> {
    fn sample(g: &mut SampleRng) -> Self {
        let len = g.below(5) as usize;
        Features::from_be_bytes(g.bytes(len))
    }
}

impl Sample for OnionPacket {
    fn sample(g: &mut SampleRng) -> Self {
        OnionPacket {
            version: if g.below(8) == 0 { 1 } else { 0 },
            public_key: Sample::sample(g),
            hop_data: Sample::sample(g),
            hmac: Sample::sample(g),
        }
    }
}

impl Sample for AttributionData {
    fn sample(g: &mut SampleRng) -> Self {
        AttributionData(Sample::sample(g))
    }
}

impl Sample for FeeRange {
    fn sample(g: &mut SampleRng) -> Self {
        FeeRange {
            min_fee_satoshis: Sample::sample(g),
            max_fee_satoshis: Sample::sample(g),
        }
    }
}

impl Sample for FundingRetransmit {
    fn sample(g: &mut SampleRng) -> Self {
        FundingRetransmit {
            txid: Sample::sample(g),
            retransmit_flags: Sample::sample(g),
        }
    }
}

impl Sample for EncodedShortChannelIds {
    fn sample(g: &mut SampleRng) -> Self {
        EncodedShortChannelIds((0..g.below(6)).map(|_| ShortChannelId::sample(g)).collect())
    }
}

impl Sample for EncodedQueryFlags {
    fn sample(g: &mut SampleRng) -> Self {
        EncodedQueryFlags(Sample::sample(g))
    }
}

impl Sample for EncodedTimestamps {
    fn sample(g: &mut SampleRng) -> Self {
        EncodedTimestamps(
            (0..g.below(5))
                .map(|_| (u32::sample(g), u32::sample(g)))
                .collect(),
        )
    }
}

impl Sample for Checksums {
    fn sample(g: &mut SampleRng) -> Self {
        Checksums(
            (0..g.below(5))
                .map(|_| (u32::sample(g), u32::sample(g)))
                .collect(),
        )
    }
}

impl Sample for Flag {
    fn sample(_g: &mut SampleRng) -> Self {
        Flag
    }
}

fn sample_known_address(g: &mut SampleRng) -> SocketAddress {
    match g.below(5) {
        0 => SocketAddress::TcpIpV4 {
            addr: Sample::sample(g),
            port: Sample::sample(g),
        },
        1 => SocketAddress::TcpIpV6 {
            addr: Sample::sample(g),
            port: Sample::sample(g),
        },
        2 => SocketAddress::OnionV2(Sample::sample(g)),
        3 => SocketAddress::OnionV3 {
            ed25519_pubkey: Sample::sample(g),
            checksum: Sample::sample(g),
            version: 3,
            port: Sample::sample(g),
        },
        _ => {
            let len = g.below(30) as usize;
            let hostname = (0..len).map(|_| b'a' + g.below(26) as u8).collect();
            SocketAddress::Hostname {
                hostname,
                port: Sample::sample(g),
            }
        }
    }
}

impl Sample for SocketAddress {
    fn sample(g: &mut SampleRng) -> Self {
        if g.below(6) == 0 {
            let len = g.below(8) as usize;
            SocketAddress::Unknown {
                typ: 6 + g.below(200) as u8,
                data: g.bytes(len),
            }
        } else {
            sample_known_address(g)
        }
    }
}

impl Sample for NodeAddresses {
    fn sample(g: &mut SampleRng) -> Self {
        let mut v: Vec<SocketAddress> = (0..g.below(4)).map(|_| sample_known_address(g)).collect();
        // An unknown descriptor swallows the rest of the list, so it can only come last.
        if g.below(4) == 0 {
            let len = g.below(8) as usize;
            v.push(SocketAddress::Unknown {
                typ: 6 + g.below(200) as u8,
                data: g.bytes(len),
            });
        }
        NodeAddresses(v)
    }
}

fn sample_tx(g: &mut SampleRng) -> Transaction {
    let inputs = 1 + g.below(2) as usize;
    let segwit = g.coin();
    Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::from_consensus(g.below(600_000) as u32),
        input: (0..inputs)
            .map(|_| TxIn {
                previous_output: OutPoint {
                    txid: Sample::sample(g),
                    vout: g.below(4) as u32,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence(0xffff_fffd),
                witness: if segwit {
                    Witness::from_slice(&[g.bytes(72), g.bytes(33)])
                } else {
                    Witness::new()
                },
            })
            .collect(),
        output: (0..1 + g.below(2))
            .map(|_| TxOut {
                value: Amount::from_sat(g.below(1 << 40)),
                script_pubkey: Sample::sample(g),
            })
            .collect(),
    }
}

impl Sample for PrevTx {
    fn sample(g: &mut SampleRng) -> Self {
        PrevTx(if g.below(5) == 0 {
            None
        } else {
            Some(sample_tx(g))
        })
    }
}

impl Sample for WireWitness {
    fn sample(g: &mut SampleRng) -> Self {
        let items: Vec<Vec<u8>> = (0..g.below(4))
            .map(|_| {
                let len = g.below(80) as usize;
                g.bytes(len)
            })
            .collect();
        WireWitness(Witness::from_slice(&items))
    }
}
