//! Bech32 (BIP 173) without the 90-character limit, as BOLT 11 requires
//! ("MUST parse the address as Bech32 ... also without the character limit"),
//! plus the 5-bit/8-bit regrouping BOLT 11 uses.

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

/// Reverse of [`CHARSET`]: ASCII byte → 5-bit value, or -1.
const REV: [i8; 128] = {
    let mut t = [-1i8; 128];
    let mut i = 0;
    while i < 32 {
        t[CHARSET[i] as usize] = i as i8;
        t[CHARSET[i].to_ascii_uppercase() as usize] = i as i8;
        i += 1;
    }
    t
};

/// Why a string is not valid bech32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bech32Error {
    /// No `1` separator (or nothing before it).
    MissingSeparator,
    /// Upper and lower case mixed.
    MixedCase,
    /// A character outside the bech32 alphabet (or outside printable ASCII
    /// in the human-readable part).
    InvalidChar(char),
    /// Fewer than 6 characters after the separator.
    TooShort,
    /// The checksum does not verify.
    InvalidChecksum,
}

fn polymod_step(chk: u32, v: u8) -> u32 {
    let top = chk >> 25;
    let mut chk = ((chk & 0x1ff_ffff) << 5) ^ v as u32;
    for (i, g) in GEN.iter().enumerate() {
        if (top >> i) & 1 == 1 {
            chk ^= g;
        }
    }
    chk
}

fn hrp_polymod(hrp: &[u8]) -> u32 {
    let mut chk = 1u32;
    for c in hrp {
        chk = polymod_step(chk, c.to_ascii_lowercase() >> 5);
    }
    chk = polymod_step(chk, 0);
    for c in hrp {
        chk = polymod_step(chk, c.to_ascii_lowercase() & 31);
    }
    chk
}

/// A decoded bech32 string: the lower-cased human-readable part, the 5-bit
/// data without checksum, and whether the string was upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Human-readable part, lower case.
    pub hrp: String,
    /// Data values (each < 32), checksum removed.
    pub data: Vec<u8>,
    /// The input was all upper case.
    pub uppercase: bool,
}

/// Decodes a bech32 string of any length.
pub fn decode(s: &str) -> Result<Decoded, Bech32Error> {
    let bytes = s.as_bytes();
    let (mut lower, mut upper) = (false, false);
    for &b in bytes {
        if !(33..=126).contains(&b) {
            return Err(Bech32Error::InvalidChar(char_at(s, b)));
        }
        lower |= b.is_ascii_lowercase();
        upper |= b.is_ascii_uppercase();
    }
    if lower && upper {
        return Err(Bech32Error::MixedCase);
    }
    let sep = bytes
        .iter()
        .rposition(|&b| b == b'1')
        .ok_or(Bech32Error::MissingSeparator)?;
    if sep == 0 {
        return Err(Bech32Error::MissingSeparator);
    }
    let (hrp, rest) = (&bytes[..sep], &bytes[sep + 1..]);
    if rest.len() < 6 {
        return Err(Bech32Error::TooShort);
    }
    let mut chk = hrp_polymod(hrp);
    let mut data = Vec::with_capacity(rest.len());
    for &b in rest {
        let v = REV[b as usize];
        if v < 0 {
            return Err(Bech32Error::InvalidChar(b as char));
        }
        chk = polymod_step(chk, v as u8);
        data.push(v as u8);
    }
    if chk != 1 {
        return Err(Bech32Error::InvalidChecksum);
    }
    data.truncate(data.len() - 6);
    let hrp =
        String::from_utf8(hrp.to_ascii_lowercase()).map_err(|_| Bech32Error::InvalidChar('?'))?;
    Ok(Decoded {
        hrp,
        data,
        uppercase: upper,
    })
}

fn char_at(s: &str, b: u8) -> char {
    // Report the first character that is not printable ASCII.
    s.chars()
        .find(|c| !(33..=126).contains(&(*c as u32)))
        .unwrap_or(b as char)
}

/// Encodes `hrp` (lower case) and 5-bit `data` with a checksum, in upper
/// case if asked.
pub fn encode(hrp: &str, data: &[u8], uppercase: bool) -> String {
    let mut chk = hrp_polymod(hrp.as_bytes());
    for &v in data {
        chk = polymod_step(chk, v);
    }
    for _ in 0..6 {
        chk = polymod_step(chk, 0);
    }
    chk ^= 1;
    let mut out = String::with_capacity(hrp.len() + 1 + data.len() + 6);
    let conv = |c: u8| {
        if uppercase {
            c.to_ascii_uppercase() as char
        } else {
            c as char
        }
    };
    out.extend(hrp.bytes().map(conv));
    out.push('1');
    out.extend(data.iter().map(|&v| conv(CHARSET[v as usize & 31])));
    for i in 0..6 {
        out.push(conv(CHARSET[((chk >> (5 * (5 - i))) & 31) as usize]));
    }
    out
}

/// Packs 5-bit values into bytes, padding the last byte with zero bits.
pub fn to_bytes_padded(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 5 / 8 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &v in data {
        acc = (acc << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push((acc << (8 - bits)) as u8);
    }
    out
}

/// Packs 5-bit values into whole bytes, dropping the leftover (< 8) bits.
pub fn to_bytes_truncated(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &v in data {
        acc = ((acc << 5) | v as u32) & 0xfff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Splits bytes into 5-bit values, padding the last one with zero bits.
pub fn from_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity((bytes.len() * 8).div_ceil(5));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = ((acc << 8) | b as u32) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bip173_valid_strings() {
        for s in [
            "A12UEL5L",
            "a12uel5l",
            "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
            "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        ] {
            let d = decode(s).unwrap();
            assert_eq!(encode(&d.hrp, &d.data, d.uppercase), s);
        }
    }

    #[test]
    fn bip173_invalid_strings() {
        assert_eq!(decode("pzry9x0s0muk"), Err(Bech32Error::MissingSeparator));
        assert_eq!(decode("1pzry9x0s0muk"), Err(Bech32Error::MissingSeparator));
        assert_eq!(decode("A12UEl5L"), Err(Bech32Error::MixedCase));
        assert_eq!(decode("a12uel5m"), Err(Bech32Error::InvalidChecksum));
        assert_eq!(decode("li1dgmt3"), Err(Bech32Error::TooShort));
        assert!(matches!(
            decode("x1b4n0q5v"),
            Err(Bech32Error::InvalidChar('b'))
        ));
    }

    #[test]
    fn regrouping_round_trips() {
        let bytes = [0xffu8, 0x00, 0x12, 0x34, 0x56];
        assert_eq!(to_bytes_truncated(&from_bytes(&bytes)), bytes);
        assert_eq!(to_bytes_padded(&from_bytes(&bytes)), bytes);
    }
}
