//! Small channel-level newtypes: commitment numbers, fee rates, millisatoshis.
//!
//! They exist so that a secret index cannot be passed as a commitment
//! number, a fee rate as an amount, or msat added to sat by mistake.

use crate::codec::{DecodeError, Readable, Writeable};
use bitcoin::Amount;
use core::fmt;
use std::io::{self, Read, Write};

/// The largest commitment number / per-commitment secret index: 2^48 - 1.
pub const MAX_COMMITMENT_NUMBER: u64 = (1 << 48) - 1;

/// The number of a commitment transaction, counting **up** from 0 (the
/// first commitment, signed during funding) as BOLT 2 and the obscured
/// commitment number of BOLT 3 count it.
///
/// BOLT 3 indexes per-commitment secrets the other way: "The first secret
/// used MUST be index 281474976710655, and from there, the index is
/// decremented." [`CommitmentNumber::secret_index`] converts; only the
/// [`keys`](super::keys) module deals in raw secret indices.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CommitmentNumber(u64);

impl CommitmentNumber {
    /// The first commitment of a channel.
    pub const ZERO: CommitmentNumber = CommitmentNumber(0);

    /// A commitment number; `None` if it does not fit in 48 bits.
    pub const fn new(n: u64) -> Option<Self> {
        if n > MAX_COMMITMENT_NUMBER {
            None
        } else {
            Some(CommitmentNumber(n))
        }
    }
    /// The plain number (0 for the first commitment).
    pub const fn value(self) -> u64 {
        self.0
    }
    /// The BOLT 3 per-commitment secret index `I` of this commitment:
    /// 2^48 - 1 for commitment 0, decreasing by one per commitment.
    pub const fn secret_index(self) -> u64 {
        MAX_COMMITMENT_NUMBER - self.0
    }
    /// The commitment whose per-commitment secret has BOLT 3 index `index`;
    /// `None` if the index does not fit in 48 bits.
    pub const fn from_secret_index(index: u64) -> Option<Self> {
        if index > MAX_COMMITMENT_NUMBER {
            None
        } else {
            Some(CommitmentNumber(MAX_COMMITMENT_NUMBER - index))
        }
    }
    /// The next commitment; `None` after the last one (2^48 - 1).
    pub const fn next(self) -> Option<Self> {
        CommitmentNumber::new(self.0 + 1)
    }
    /// The previous commitment; `None` for commitment 0.
    pub const fn prev(self) -> Option<Self> {
        match self.0.checked_sub(1) {
            Some(n) => Some(CommitmentNumber(n)),
            None => None,
        }
    }
}

impl fmt::Debug for CommitmentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitmentNumber({})", self.0)
    }
}
impl fmt::Display for CommitmentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}
impl Writeable for CommitmentNumber {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.0.write(w)
    }
    fn size_hint(&self) -> usize {
        8
    }
}
impl Readable for CommitmentNumber {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        CommitmentNumber::new(u64::read(r)?).ok_or(DecodeError::InvalidValue)
    }
}

/// A fee rate in satoshis per 1000 weight units (`feerate_per_kw`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct FeeRatePerKw(pub u32);

impl FeeRatePerKw {
    /// The fee in whole satoshis for `weight`, rounded down (BOLT 3 Fee
    /// Calculation: "multiply `feerate_per_kw` by `weight`, divide by 1000
    /// (rounding down)").
    pub const fn fee_for_weight(self, weight: u64) -> Amount {
        Amount::from_sat((self.0 as u64).saturating_mul(weight) / 1000)
    }
}
impl fmt::Display for FeeRatePerKw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sat/kw", self.0)
    }
}

/// An amount in millisatoshis, the unit of channel balances and HTLCs.
///
/// Kept apart from [`bitcoin::Amount`] (whole satoshis, the unit of
/// transaction outputs); [`MilliSatoshi::to_sat_floor`] is the one BOLT 3
/// conversion ("amounts MUST be rounded down to whole satoshis").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct MilliSatoshi(pub u64);

impl MilliSatoshi {
    /// Whole satoshis, rounded down.
    pub const fn to_sat_floor(self) -> Amount {
        Amount::from_sat(self.0 / 1000)
    }
    /// The msat value of a whole-satoshi amount; `None` on overflow.
    pub fn from_sat(amount: Amount) -> Option<Self> {
        amount.to_sat().checked_mul(1000).map(MilliSatoshi)
    }
    /// Adds, `None` on overflow.
    pub const fn checked_add(self, other: MilliSatoshi) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(MilliSatoshi(v)),
            None => None,
        }
    }
}
impl fmt::Display for MilliSatoshi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} msat", self.0)
    }
}
impl Writeable for MilliSatoshi {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.0.write(w)
    }
    fn size_hint(&self) -> usize {
        8
    }
}
impl Readable for MilliSatoshi {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(MilliSatoshi(u64::read(r)?))
    }
}
