//! BOLT 2 Channel Quiescence (`stfu`, "SomeThing Fundamental is
//! Underway") as a pure state machine. It knows nothing of HTLCs: the
//! channel tells it whether updates are pending and asks it whether
//! update messages may be sent or accepted.
//!
//! ```text
//!            request()                      stfu_received(1)
//!   Idle ───────────────▶ Requested       Idle ─────────────▶ PeerStfu
//!                          │ maybe_send_stfu(no pending)        │ maybe_send_stfu(no pending)
//!                          ▼   → stfu(initiator=1)              ▼   → stfu(initiator=0)
//!                        SentStfu ── stfu_received(_) ──▶ Quiescent ◀─┘
//!                                                          │ resume() / on_disconnect()
//!                                                          ▼
//!                                                        Idle
//! ```
//!
//! Initiator: whoever sent `stfu` first; if both sent `initiator = 1`
//! at once, the channel funder (the sender of `open_channel`).
//!
//! Tags of the enforced rules: `bolt2-stfu-not-negotiated`,
//! `bolt2-stfu-twice`, `bolt2-stfu-pending-updates`,
//! `bolt2-stfu-initiator-flag`, `bolt2-stfu-update-after`.

use super::establish::ChannelError;

/// Timer ticks a quiescence may stay unresolved (our `stfu` unanswered,
/// or the channel quiescent without [`Quiescence::resume`]) before
/// [`Quiescence::timer_tick`] asks for a disconnection: 6 ticks, 60
/// seconds at the crate's ~10 s tick. BOLT 2: "Both nodes: MUST disconnect
/// after 60 seconds of quiescence if the HTLCs are pending." The state
/// machine does not know about HTLCs, so it applies the bound always.
pub const QUIESCENCE_TIMEOUT_TICKS: u32 = 6;

/// The quiescence state of one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quiescence {
    is_channel_funder: bool,
    negotiated: bool,
    /// The user asked for quiescence; we send `stfu` (initiator) once our
    /// updates clear.
    requested: bool,
    /// The `initiator` flag of the `stfu` we sent.
    sent: Option<bool>,
    /// The `initiator` flag of the `stfu` we received.
    received: Option<bool>,
    ticks: u32,
}

impl Quiescence {
    /// The state of a channel we funded (`is_channel_funder`: we sent
    /// `open_channel`) or not, with a peer that negotiated
    /// `option_quiesce` (`negotiated`) on this connection or not.
    pub fn new(is_channel_funder: bool, negotiated: bool) -> Self {
        Quiescence {
            is_channel_funder,
            negotiated,
            requested: false,
            sent: None,
            received: None,
            ticks: 0,
        }
    }

    /// A new connection: whether both `init` messages offered
    /// `option_quiesce`.
    pub fn peer_connected(&mut self, negotiated: bool) {
        self.on_disconnect();
        self.negotiated = negotiated;
    }

    /// The user (a protocol that needs quiescence, such as splicing) asks
    /// for it: we will send `stfu` as initiator once our updates clear.
    /// Fails (`Ignore`) with `bolt2-stfu-not-negotiated` ("MUST NOT send
    /// `stfu` unless `option_quiesce` is negotiated") or
    /// `quiescence-in-progress` when a quiescence was already requested or
    /// started by either side.
    pub fn request(&mut self) -> Result<(), ChannelError> {
        if !self.negotiated {
            return Err(ChannelError::ignore(
                "bolt2-stfu-not-negotiated",
                "option_quiesce was not negotiated with this peer",
            ));
        }
        if self.requested || self.sent.is_some() || self.received.is_some() {
            return Err(ChannelError::ignore(
                "quiescence-in-progress",
                "a quiescence is already requested or under way",
            ));
        }
        self.requested = true;
        Ok(())
    }

    /// Called by the channel whenever its state changes: returns the
    /// `initiator` flag of the `stfu` to send now, if any.
    ///
    /// `holder_has_pending_updates`: whether any of *our* `update_add_htlc`,
    /// `update_fulfill/fail/fail_malformed_htlc` or `update_fee` is not yet
    /// irrevocably committed on both commitments. BOLT 2: "MUST NOT send
    /// `stfu` if any of the sender's htlc additions, htlc removals or fee
    /// updates are pending for either peer" (the peer's own pending updates
    /// do not hold us back). We send when we were asked to
    /// ([`request`](Self::request), `initiator = 1`) or must answer the
    /// peer's `stfu` ("MUST reply with `stfu` once it can do so",
    /// `initiator = 0`: "if it is replying to an `stfu`: MUST set
    /// `initiator` to 0"), and never twice ("MUST NOT send `stfu` twice").
    pub fn maybe_send_stfu(&mut self, holder_has_pending_updates: bool) -> Option<bool> {
        if !self.negotiated || self.sent.is_some() || holder_has_pending_updates {
            return None;
        }
        let initiator = match self.received {
            Some(_) => false,
            None if self.requested => true,
            None => return None,
        };
        // "MUST now consider the channel to be quiescing."
        self.sent = Some(initiator);
        self.ticks = 0;
        Some(initiator)
    }

    /// The peer's `stfu` (`initiator` is `msg.initiator != 0`).
    /// `counterparty_has_pending_updates`: whether any of the *peer's*
    /// updates is not yet irrevocably committed on both commitments.
    ///
    /// Errors are [`ChannelError::Warn`]: send a `warning` and disconnect,
    /// which ends the quiescence and drops uncommitted updates (the channel
    /// itself is kept):
    /// - `bolt2-stfu-not-negotiated`: "MUST NOT send `stfu` unless
    ///   `option_quiesce` is negotiated."
    /// - `bolt2-stfu-twice`: "MUST NOT send `stfu` twice."
    /// - `bolt2-stfu-pending-updates`: "MUST NOT send `stfu` if any of the
    ///   sender's htlc additions, htlc removals or fee updates are pending
    ///   for either peer."
    /// - `bolt2-stfu-initiator-flag`: `initiator = 0` answers an `stfu` we
    ///   never sent ("if it is replying to an `stfu`: MUST set `initiator`
    ///   to 0; otherwise: MUST set `initiator` to 1").
    ///
    /// On success: if we had sent `stfu` the channel is now quiescent ("if
    /// it has sent `stfu` then: MUST now consider the channel to be
    /// quiescent"); otherwise we stop sending updates ("SHOULD NOT send any
    /// more update messages") and answer through
    /// [`maybe_send_stfu`](Self::maybe_send_stfu).
    pub fn stfu_received(
        &mut self,
        initiator: bool,
        counterparty_has_pending_updates: bool,
    ) -> Result<(), ChannelError> {
        let warn = |tag, message: &str| {
            Err(ChannelError::Warn {
                tag,
                message: message.into(),
            })
        };
        if !self.negotiated {
            return warn(
                "bolt2-stfu-not-negotiated",
                "stfu received without option_quiesce",
            );
        }
        if self.received.is_some() {
            return warn("bolt2-stfu-twice", "a second stfu received");
        }
        if counterparty_has_pending_updates {
            return warn(
                "bolt2-stfu-pending-updates",
                "stfu received while the peer's updates are pending",
            );
        }
        if !initiator && self.sent.is_none() {
            return warn(
                "bolt2-stfu-initiator-flag",
                "stfu with initiator = 0 but we sent no stfu",
            );
        }
        self.received = Some(initiator);
        Ok(())
    }

    /// Whether both `stfu` were exchanged: the quiescence-dependent
    /// protocol may run.
    pub fn is_quiescent(&self) -> bool {
        self.sent.is_some() && self.received.is_some()
    }

    /// Whether either side sent `stfu` and the channel is not yet
    /// quiescent.
    pub fn is_quiescing(&self) -> bool {
        (self.sent.is_some() || self.received.is_some()) && !self.is_quiescent()
    }

    /// Whether we are (or, while quiescing, will be) the quiescence
    /// initiator: we sent `initiator = 1` and the peer answered with 0, or
    /// both sent 1 and we are the channel funder ("If both sides send
    /// `stfu` simultaneously, they will both set `initiator` to `1`, in
    /// which case the "initiator" is arbitrarily considered to be the
    /// channel funder"). `false` when no quiescence is under way.
    pub fn is_initiator(&self) -> bool {
        match (self.sent, self.received) {
            (Some(true), Some(true)) => self.is_channel_funder,
            (Some(true), _) => true,
            _ => false,
        }
    }

    /// Whether we may send an update message (`update_add_htlc`,
    /// `update_fulfill/fail/fail_malformed_htlc`, `update_fee`);
    /// `commitment_signed` and `revoke_and_ack` are not updates and stay
    /// allowed. No after our `stfu` ("MUST NOT send an update message after
    /// `stfu`"), after the peer's ("SHOULD NOT send any more update
    /// messages"), and once quiescence was requested, so that our pending
    /// updates can clear.
    pub fn may_send_update(&self) -> bool {
        !self.requested && self.sent.is_none() && self.received.is_none()
    }

    /// Checks an update message from the peer: after its `stfu` it is a
    /// protocol violation (`bolt2-stfu-update-after`, [`ChannelError::Warn`]:
    /// warn and disconnect), from "MUST NOT send an update message after
    /// `stfu`".
    pub fn may_accept_update(&self) -> Result<(), ChannelError> {
        if self.received.is_some() {
            return Err(ChannelError::Warn {
                tag: "bolt2-stfu-update-after",
                message: "update message received after the peer's stfu".into(),
            });
        }
        Ok(())
    }

    /// The connection dropped. "Upon disconnection: the channel is no
    /// longer considered quiescent." A pending [`request`](Self::request)
    /// is dropped too: the dependent protocol asks again after reconnecting.
    pub fn on_disconnect(&mut self) {
        self.requested = false;
        self.sent = None;
        self.received = None;
        self.ticks = 0;
    }

    /// The quiescence-dependent protocol reached one of its terminal states
    /// (BOLT 2: "Dependent Protocols: MUST specify all states that
    /// terminate quiescence"): updates may flow again. Fails (`Ignore`,
    /// `quiescence-not-quiescent`) when the channel is not quiescent.
    pub fn resume(&mut self) -> Result<(), ChannelError> {
        if !self.is_quiescent() {
            return Err(ChannelError::ignore(
                "quiescence-not-quiescent",
                "resume called while the channel is not quiescent",
            ));
        }
        let we_initiated = self.is_initiator();
        self.sent = None;
        self.received = None;
        self.ticks = 0;
        // A request of ours that the peer's quiescence overtook stays, to
        // be served next; ours is served by this one.
        if we_initiated {
            self.requested = false;
        }
        Ok(())
    }

    /// A timer tick (the crate's ~10 s tick). Returns `true` when the
    /// quiescence has been unresolved for [`QUIESCENCE_TIMEOUT_TICKS`]
    /// ticks (our `stfu` unanswered, the peer's unanswered because our
    /// updates do not clear, or quiescent without `resume`): the manager
    /// must disconnect the peer, which ends the quiescence.
    pub fn timer_tick(&mut self) -> bool {
        if self.sent.is_none() && self.received.is_none() {
            self.ticks = 0;
            return false;
        }
        self.ticks = self.ticks.saturating_add(1);
        self.ticks >= QUIESCENCE_TIMEOUT_TICKS
    }
}

/// Fuzz entry point for the quiescence state machine (wired into the
/// `fuzz/` crate by the lead).
pub mod fuzz {
    use super::Quiescence;

    /// Each input byte is one event on a channel (byte 0 bit 0: we are the
    /// funder): low 3 bits pick `request`, `maybe_send_stfu`,
    /// `stfu_received`, `may_accept_update`, `resume`, `on_disconnect`,
    /// `timer_tick` or `peer_connected`; bits 3 and 4 are their boolean
    /// arguments. Nothing may panic, and the invariants hold after every
    /// event: no update is sent once quiescing, an initiator is quiescing
    /// or quiescent, and `stfu` goes out at most once per quiescence.
    pub fn fuzz_quiescence(data: &[u8]) {
        let Some((&first, events)) = data.split_first() else {
            return;
        };
        let mut q = Quiescence::new(first & 1 == 1, true);
        let mut sent_this_round = false;
        for &ev in events {
            let (x, y) = (ev & 8 != 0, ev & 16 != 0);
            match ev & 7 {
                0 => {
                    let _ = q.request();
                }
                1 => {
                    if let Some(initiator) = q.maybe_send_stfu(x) {
                        assert!(!x, "stfu with our updates pending");
                        assert!(!sent_this_round, "stfu sent twice");
                        sent_this_round = true;
                        let _ = initiator;
                    }
                }
                2 => {
                    let _ = q.stfu_received(x, y);
                }
                3 => {
                    let _ = q.may_accept_update();
                }
                4 => {
                    if q.resume().is_ok() {
                        sent_this_round = false;
                    }
                }
                5 => {
                    q.on_disconnect();
                    sent_this_round = false;
                }
                6 => {
                    let _ = q.timer_tick();
                }
                _ => {
                    q.peer_connected(x);
                    sent_this_round = false;
                }
            }
            if q.is_quiescing() || q.is_quiescent() {
                assert!(!q.may_send_update());
            }
            if q.is_initiator() {
                assert!(q.is_quiescing() || q.is_quiescent());
            }
            assert!(!(q.is_quiescing() && q.is_quiescent()));
        }
    }
}
