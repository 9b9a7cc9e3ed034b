//! The onion containers of BOLT 4 carried by BOLT 2 and onion messages.

use crate::codec::{read_array, DecodeError, Readable, WithU16Len, Writeable};
use crate::types::Point;
use std::io::{self, Read, Write};

/// The 1366-byte onion of `update_add_htlc`, kept as raw fields: whether
/// its version and key are valid is for the onion layer to judge, so it can
/// answer with the right BADONION failure (BOLT 4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OnionPacket {
    /// The version byte (0).
    pub version: u8,
    /// The ephemeral public key, not yet checked.
    pub public_key: [u8; 33],
    /// The encrypted hop payloads.
    pub hop_data: [u8; 1300],
    /// The HMAC over the packet.
    pub hmac: [u8; 32],
}

impl OnionPacket {
    /// The encoded size.
    pub const LEN: usize = 1366;
}

impl core::fmt::Debug for OnionPacket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OnionPacket")
            .field("version", &self.version)
            .field("public_key", &Point(self.public_key))
            .field("hmac", &self.hmac)
            .finish_non_exhaustive()
    }
}

impl Readable for OnionPacket {
    #[inline]
    fn read<R: Read>(r: &mut R) -> Result<Self, DecodeError> {
        Ok(OnionPacket {
            version: u8::read(r)?,
            public_key: read_array(r)?,
            hop_data: read_array(r)?,
            hmac: read_array(r)?,
        })
    }
}
impl Writeable for OnionPacket {
    #[inline]
    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&[self.version])?;
        w.write_all(&self.public_key)?;
        w.write_all(&self.hop_data)?;
        w.write_all(&self.hmac)
    }
    fn size_hint(&self) -> usize {
        Self::LEN
    }
}

crate::impl_writable_msg! {
    @with_sample
    /// `onion_message` (type 513): an onion-routed message (BOLT 4). The
    /// onion itself is interpreted by the `OnionMessenger`.
    pub struct OnionMessage = 513 {
        /// The path key (`blinding_point`) for the receiver.
        pub blinding_point: Point,
        /// The variable-size onion packet.
        pub onion_routing_packet: WithU16Len,
    }
    tlvs {}
}
