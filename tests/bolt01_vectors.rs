//! BOLT 1 Appendices A–D (BigSize, TLV streams, init extensions, signed
//! integers), carried into tests/vectors/ by tools/import_bolt01_vectors.py.

mod common;
use common::{h, lines};

use lnkit::bitcoin::secp256k1::PublicKey;
use lnkit::codec::{BigSize, DecodeError, Readable, TlvValue, Tu32, Tu64, Writeable};
use lnkit::msgs::{read_message, Message};
use lnkit::types::ShortChannelId;
use std::io::Write;

#[test]
fn bolt1_bigsize_decoding_and_encoding_vectors() {
    let mut n = 0;
    for line in lines(include_str!("vectors/bolt01-bigsize.txt")) {
        let f: Vec<&str> = line.split(' ').collect();
        match (f[0], f[2]) {
            ("decode", "ok") => {
                let bytes = h(f[1]);
                let want: u64 = f[3].parse().unwrap();
                assert_eq!(BigSize::read(&mut &bytes[..]), Ok(BigSize(want)), "{line}");
                // The slice fast path agrees with the reader.
                let mut s = &bytes[..];
                assert_eq!(BigSize::read_from_slice(&mut s), Ok(want));
                assert!(s.is_empty());
            }
            ("decode", "err") => {
                let bytes = h(f[1]);
                let want = match f[3] {
                    "non_canonical" => DecodeError::InvalidValue,
                    "unexpected_eof" | "eof" => DecodeError::ShortRead,
                    k => panic!("unknown error kind {k}"),
                };
                assert_eq!(BigSize::read(&mut &bytes[..]), Err(want.clone()), "{line}");
                assert_eq!(
                    BigSize::read_from_slice(&mut &bytes[..]),
                    Err(want),
                    "{line}"
                );
            }
            _ => {
                let v: u64 = f[1].parse().unwrap();
                assert_eq!(BigSize(v).encode(), h(f[2]), "{line}");
                let mut out = Vec::new();
                BigSize::push(&mut out, v);
                assert_eq!(out, h(f[2]));
            }
        }
        n += 1;
    }
    assert_eq!(n, 26);
}

/// `tlv3` of namespace n1: a point and two u64s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlv3 {
    node_id: PublicKey,
    amount_msat_1: u64,
    amount_msat_2: u64,
}

impl TlvValue for Tlv3 {
    fn value_len(&self) -> usize {
        49
    }
    fn write_value<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        self.node_id.write(w)?;
        self.amount_msat_1.write(w)?;
        self.amount_msat_2.write(w)
    }
    fn read_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 49 {
            return Err(DecodeError::BadLengthDescriptor);
        }
        let mut b = bytes;
        Ok(Tlv3 {
            node_id: PublicKey::read(&mut b)?,
            amount_msat_1: u64::read(&mut b)?,
            amount_msat_2: u64::read(&mut b)?,
        })
    }
}

lnkit::impl_writable_msg! {
    /// Namespace n1 of the BOLT 1 TLV vectors, as a message with no fixed fields.
    pub struct N1 = 65001 {}
    tlvs {
        /// tlv1
        (1, tlv1: Tu64, option),
        /// tlv2
        (2, tlv2: ShortChannelId, option),
        /// tlv3
        (3, tlv3: Tlv3, option),
        /// tlv4
        (254, tlv4: u16, option),
    }
}

lnkit::impl_writable_msg! {
    /// Namespace n2 of the BOLT 1 TLV vectors.
    pub struct N2 = 65003 {}
    tlvs {
        /// tlv1
        (0, tlv1: Tu64, option),
        /// tlv2
        (11, tlv2: Tu32, option),
    }
}

#[test]
fn bolt1_tlv_stream_vectors_in_both_namespaces() {
    let (mut fails, mut oks) = (0, 0);
    for line in lines(include_str!("vectors/bolt01-tlv.txt")) {
        let f: Vec<&str> = line.split(' ').collect();
        let stream = h(f[2]);
        let spaces: Vec<&str> = f[1].split(',').collect();
        match f[0] {
            "fail" => {
                for ns in &spaces {
                    let r = if *ns == "n1" {
                        N1::decode(&stream).map(|_| ())
                    } else {
                        N2::decode(&stream).map(|_| ())
                    };
                    assert!(r.is_err(), "{ns} must reject {line}");
                }
                fails += 1;
            }
            _ => {
                for ns in &spaces {
                    if *ns == "n1" {
                        let m = N1::decode(&stream)
                            .unwrap_or_else(|e| panic!("n1 rejects {line}: {e}"));
                        // Byte-exact re-encoding, unknown odd records included.
                        assert_eq!(m.encode(), stream, "{line}");
                        for rec in &f[3..] {
                            let (k, v) = rec.split_once('=').unwrap();
                            match k {
                                "tlv1" => assert_eq!(m.tlv1, Some(Tu64(v.parse().unwrap()))),
                                "tlv2" => {
                                    assert_eq!(m.tlv2, Some(ShortChannelId(v.parse().unwrap())))
                                }
                                "tlv3" => {
                                    let p: Vec<&str> = v.split(',').collect();
                                    let t = m.tlv3.clone().unwrap();
                                    assert_eq!(t.node_id.serialize().to_vec(), h(p[0]));
                                    assert_eq!(t.amount_msat_1, p[1].parse::<u64>().unwrap());
                                    assert_eq!(t.amount_msat_2, p[2].parse::<u64>().unwrap());
                                }
                                "tlv4" => assert_eq!(m.tlv4, Some(v.parse().unwrap())),
                                _ => panic!("unexpected record {k}"),
                            }
                        }
                    } else {
                        let m = N2::decode(&stream)
                            .unwrap_or_else(|e| panic!("n2 rejects {line}: {e}"));
                        assert_eq!(m.encode(), stream, "{line}");
                    }
                }
                oks += 1;
            }
        }
    }
    assert_eq!((fails, oks), (38, 19));
}

#[test]
fn bolt1_tlv_stream_composition_rules() {
    // BOLT 1: appending any invalid stream to a valid one must fail;
    // appending a higher-numbered valid stream to a lower one must not.
    let valid_low = h("0100"); // n1 tlv1 = 0
    let valid_high = h("fd00fe020226"); // n1 tlv4 = 550
    let mut both = valid_low.clone();
    both.extend_from_slice(&valid_high);
    let m = N1::decode(&both).unwrap();
    assert_eq!(m.tlv1, Some(Tu64(0)));
    assert_eq!(m.tlv4, Some(550));
    for invalid in ["fd", "0001", "ff00000000000000ff00"] {
        let mut s = valid_low.clone();
        s.extend_from_slice(&h(invalid));
        assert!(N1::decode(&s).is_err(), "{invalid}");
    }
    let mut reversed = valid_high;
    reversed.extend_from_slice(&valid_low);
    assert_eq!(N1::decode(&reversed), Err(DecodeError::InvalidValue));
}

#[test]
fn bolt1_init_extension_vectors() {
    for line in lines(include_str!("vectors/bolt01-init.txt")) {
        let (kind, hexs) = line.split_once(' ').unwrap();
        let bytes = h(hexs);
        match kind {
            "valid" => {
                let m = read_message(&bytes).unwrap_or_else(|e| panic!("{line}: {e}"));
                assert!(matches!(m, Message::Init(_)));
                assert_eq!(m.encode(), bytes, "unknown odd records are written back");
            }
            _ => assert!(read_message(&bytes).is_err(), "{line}"),
        }
    }
}

#[test]
fn bolt1_signed_integer_vectors() {
    let mut n = 0;
    for line in lines(include_str!("vectors/bolt01-signed-integers.txt")) {
        let (v, hexs) = line.split_once(' ').unwrap();
        let v: i64 = v.parse().unwrap();
        let bytes = h(hexs);
        match bytes.len() {
            1 => {
                assert_eq!((v as i8).encode(), bytes);
                assert_eq!(i8::read(&mut &bytes[..]).unwrap() as i64, v);
            }
            2 => {
                assert_eq!((v as i16).encode(), bytes);
                assert_eq!(i16::read(&mut &bytes[..]).unwrap() as i64, v);
            }
            4 => {
                assert_eq!((v as i32).encode(), bytes);
                assert_eq!(i32::read(&mut &bytes[..]).unwrap() as i64, v);
            }
            8 => {
                assert_eq!(v.encode(), bytes);
                assert_eq!(i64::read(&mut &bytes[..]).unwrap(), v);
            }
            l => panic!("unexpected width {l}"),
        }
        n += 1;
    }
    assert_eq!(n, 23);
}

#[test]
fn bolt1_truncated_integers_must_be_minimal() {
    assert_eq!(Tu64::read_value(&[]), Ok(Tu64(0)));
    assert_eq!(Tu64::read_value(&[0]), Err(DecodeError::InvalidValue));
    assert_eq!(Tu64::read_value(&[0, 1]), Err(DecodeError::InvalidValue));
    assert_eq!(
        Tu32::read_value(&[1, 2, 3, 4, 5]),
        Err(DecodeError::BadLengthDescriptor)
    );
    assert_eq!(Tu64(0x0100).value_len(), 2);
}
