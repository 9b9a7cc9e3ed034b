//! Fuzz entry points for the monitor decoders (wired into the `fuzz/`
//! crate by the lead).

use super::ChannelMonitorUpdate;
use crate::codec::Writeable;

/// Decodes a [`ChannelMonitorUpdate`]; whatever decodes must re-encode to
/// bytes that decode to the same update (unknown odd records are dropped,
/// so the bytes themselves may differ).
pub fn fuzz_channel_monitor_update(data: &[u8]) {
    if let Ok(u) = ChannelMonitorUpdate::decode(data) {
        let again = ChannelMonitorUpdate::decode(&u.encode());
        assert_eq!(again.as_ref(), Ok(&u));
    }
}
