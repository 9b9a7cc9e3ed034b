//! Address descriptors (BOLT 7 `node_announcement`, BOLT 1 `remote_addr`).

use crate::codec::{read_array, DecodeError, Readable, TlvValue, Writeable};
use std::io::{self, Read, Write};

/// One network address of a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketAddress {
    /// Type 1: IPv4 address and port.
    TcpIpV4 {
        /// The address octets.
        addr: [u8; 4],
        /// The port.
        port: u16,
    },
    /// Type 2: IPv6 address and port.
    TcpIpV6 {
        /// The address octets.
        addr: [u8; 16],
        /// The port.
        port: u16,
    },
    /// Type 3: a Tor v2 onion service (deprecated, still parsed).
    OnionV2([u8; 12]),
    /// Type 4: a Tor v3 onion service.
    OnionV3 {
        /// The ed25519 public key.
        ed25519_pubkey: [u8; 32],
        /// The checksum.
        checksum: u16,
        /// The version (3).
        version: u8,
        /// The port.
        port: u16,
    },
    /// Type 5: a DNS hostname (up to 255 ASCII bytes) and port.
    Hostname {
        /// The host name bytes.
        hostname: Vec<u8>,
        /// The port.
        port: u16,
    },
    /// A descriptor of a type we do not know, with everything after it:
    /// its length is unknown, so BOLT 7 has us stop parsing there. Kept
    /// opaque so the announcement re-encodes (and its signature verifies).
    Unknown {
        /// The descriptor type byte.
        typ: u8,
        /// The bytes that followed it.
        data: Vec<u8>,
    },
}

impl SocketAddress {
    /// The descriptor type byte.
    pub fn type_byte(&self) -> u8 {
        match self {
            SocketAddress::TcpIpV4 { .. } => 1,
            SocketAddress::TcpIpV6 { .. } => 2,
            SocketAddress::OnionV2(_) => 3,
            SocketAddress::OnionV3 { .. } => 4,
            SocketAddress::Hostname { .. } => 5,
            SocketAddress::Unknown { typ, .. } => *typ,
        }
    }

    /// The encoded length, type byte included.
    pub fn encoded_len(&self) -> usize {
        1 + match self {
            SocketAddress::TcpIpV4 { .. } => 6,
            SocketAddress::TcpIpV6 { .. } => 18,
            SocketAddress::OnionV2(_) => 12,
            SocketAddress::OnionV3 { .. } => 37,
            SocketAddress::Hostname { hostname, .. } => 1 + hostname.len() + 2,
            SocketAddress::Unknown { data, .. } => data.len(),
        }
    }

    /// Reads one descriptor from the front of `buf` (which holds the rest of
    /// the address list), advancing it.
    fn read_one(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let typ = u8::read(buf)?;
        Ok(match typ {
            1 => SocketAddress::TcpIpV4 {
                addr: read_array(buf)?,
                port: u16::read(buf)?,
            },
            2 => SocketAddress::TcpIpV6 {
                addr: read_array(buf)?,
                port: u16::read(buf)?,
            },
            3 => SocketAddress::OnionV2(read_array(buf)?),
            4 => SocketAddress::OnionV3 {
                ed25519_pubkey: read_array(buf)?,
                checksum: u16::read(buf)?,
                version: u8::read(buf)?,
                port: u16::read(buf)?,
            },
            5 => {
                let len = u8::read(buf)? as usize;
                let hostname = buf.get(..len).ok_or(DecodeError::ShortRead)?.to_vec();
                *buf = &buf[len..];
                // BOLT 7: the hostname "MUST only contain ASCII characters".
                if !hostname.is_ascii() {
                    return Err(DecodeError::InvalidValue);
                }
                SocketAddress::Hostname {
                    hostname,
                    port: u16::read(buf)?,
                }
            }
            _ => {
                let data = buf.to_vec();
                *buf = &[];
                SocketAddress::Unknown { typ, data }
            }
        })
    }

    fn write_one<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&[self.type_byte()])?;
        match self {
            SocketAddress::TcpIpV4 { addr, port } => {
                w.write_all(addr)?;
                port.write(w)
            }
            SocketAddress::TcpIpV6 { addr, port } => {
                w.write_all(addr)?;
                port.write(w)
            }
            SocketAddress::OnionV2(b) => w.write_all(b),
            SocketAddress::OnionV3 {
                ed25519_pubkey,
                checksum,
                version,
                port,
            } => {
                w.write_all(ed25519_pubkey)?;
                checksum.write(w)?;
                version.write(w)?;
                port.write(w)
            }
            SocketAddress::Hostname { hostname, port } => {
                let len = u8::try_from(hostname.len()).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "hostname over 255 bytes")
                })?;
                w.write_all(&[len])?;
                w.write_all(hostname)?;
                port.write(w)
            }
            SocketAddress::Unknown { data, .. } => w.write_all(data),
        }
    }
}

impl From<std::net::SocketAddr> for SocketAddress {
    fn from(a: std::net::SocketAddr) -> Self {
        match a {
            std::net::SocketAddr::V4(v4) => SocketAddress::TcpIpV4 {
                addr: v4.ip().octets(),
                port: v4.port(),
            },
            std::net::SocketAddr::V6(v6) => SocketAddress::TcpIpV6 {
                addr: v6.ip().octets(),
                port: v6.port(),
            },
        }
    }
}

/// As a TLV value (`init`'s `remote_addr`): exactly one descriptor.
impl TlvValue for SocketAddress {
    fn value_len(&self) -> usize {
        self.encoded_len()
    }
    fn write_value<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.write_one(w)
    }
    fn read_value(mut bytes: &[u8]) -> Result<Self, DecodeError> {
        let a = SocketAddress::read_one(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(DecodeError::BadLengthDescriptor);
        }
        Ok(a)
    }
}

/// The address list of a `node_announcement`: `u16 addrlen` then the descriptors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeAddresses(pub Vec<SocketAddress>);

impl Readable for NodeAddresses {
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        let len = u16::read(r)? as usize;
        // Address lists are short: parse from the stack unless this one is not.
        let mut stack = [0u8; 512];
        let heap;
        let mut buf: &[u8] = if len <= stack.len() {
            r.read_exact(&mut stack[..len])?;
            &stack[..len]
        } else {
            heap = crate::codec::read_bytes(r, len)?;
            &heap
        };
        let mut out = Vec::with_capacity(4);
        while !buf.is_empty() {
            out.push(SocketAddress::read_one(&mut buf)?);
        }
        Ok(NodeAddresses(out))
    }
}
impl Writeable for NodeAddresses {
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let len: usize = self.0.iter().map(SocketAddress::encoded_len).sum();
        let len = u16::try_from(len).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "address list over 65535 bytes")
        })?;
        len.write(w)?;
        for a in &self.0 {
            a.write_one(w)?;
        }
        Ok(())
    }
    fn size_hint(&self) -> usize {
        2 + self.0.iter().map(SocketAddress::encoded_len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_descriptor_type_round_trips() {
        let list = NodeAddresses(vec![
            SocketAddress::TcpIpV4 {
                addr: [127, 0, 0, 1],
                port: 9735,
            },
            SocketAddress::TcpIpV6 {
                addr: [1; 16],
                port: 9736,
            },
            SocketAddress::OnionV2([7; 12]),
            SocketAddress::OnionV3 {
                ed25519_pubkey: [9; 32],
                checksum: 0xabcd,
                version: 3,
                port: 9737,
            },
            SocketAddress::Hostname {
                hostname: b"node.example.com".to_vec(),
                port: 9738,
            },
            SocketAddress::Unknown {
                typ: 42,
                data: vec![1, 2, 3],
            },
        ]);
        let bytes = list.encode();
        let back = NodeAddresses::read(&mut &bytes[..]).unwrap();
        assert_eq!(back, list);
    }

    #[test]
    fn truncated_descriptor_is_short_read() {
        // addrlen 3, then an ipv4 descriptor cut short
        let bytes = [0u8, 3, 1, 127, 0];
        assert_eq!(
            NodeAddresses::read(&mut &bytes[..]),
            Err(DecodeError::ShortRead)
        );
    }

    #[test]
    fn non_ascii_hostname_is_rejected() {
        let bytes = [0u8, 6, 5, 1, 0xff, 0x26, 0x07, 0];
        assert_eq!(
            NodeAddresses::read(&mut &bytes[..]).unwrap_err(),
            DecodeError::InvalidValue
        );
    }
}
