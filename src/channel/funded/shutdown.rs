//! Starting a cooperative close (`shutdown`) and what quiescence and the
//! closing negotiation need to know about pending updates.

use super::htlc::{FeeStage, InState, OutState};
use super::{Channel, Outcome};
use crate::chain::monitor::ChannelMonitorUpdateStep;
use crate::channel::closing_negotiation::shutdown_received_checks;
use crate::channel::establish::ChannelError;
use crate::codec::TlvStream;
use crate::msgs::Shutdown;
use bitcoin::ScriptBuf;

impl Channel {
    /// Whether any of *our* updates (adds, removals, fee) is not yet
    /// irrevocably committed on both commitments.
    pub fn holder_has_pending_updates(&self) -> bool {
        self.outbound.iter().any(|h| {
            matches!(
                h.state,
                OutState::SentAdd | OutState::AddCommitted | OutState::AddRevoked
            )
        }) || self
            .inbound
            .iter()
            .any(|h| matches!(h.state, InState::Removed(..)))
            || self.pending_fees.iter().any(|f| {
                matches!(
                    f.stage,
                    FeeStage::Sent | FeeStage::SentCommitted | FeeStage::SentRevoked
                )
            })
    }

    /// Whether any of the *peer's* updates is not yet irrevocably
    /// committed on both commitments.
    pub fn counterparty_has_pending_updates(&self) -> bool {
        self.inbound.iter().any(|h| {
            matches!(
                h.state,
                InState::RcvdAdd | InState::AddSigned | InState::AddCommitted
            )
        }) || self
            .outbound
            .iter()
            .any(|h| matches!(h.state, OutState::Removed(..)))
            || self.pending_fees.iter().any(|f| {
                matches!(
                    f.stage,
                    FeeStage::Rcvd | FeeStage::RcvdSigned | FeeStage::RcvdCommitted
                )
            })
    }

    /// Whether we sent updates no `commitment_signed` covers yet (BOLT 2
    /// `shutdown` sender: "if there are updates pending on the receiving
    /// node's commitment transaction: MUST NOT send a `shutdown`").
    pub fn has_unsigned_updates(&self) -> bool {
        self.sent_updates.iter().any(|u| u.covered_by.is_none())
    }

    /// Whether the channel holds no HTLC and no fee update at all: the
    /// closing negotiation may start once both `shutdown`s are exchanged.
    pub fn is_clean(&self) -> bool {
        self.outbound.is_empty()
            && self.inbound.is_empty()
            && self.pending_fees.is_empty()
            && self.cp_awaiting_revoke.is_none()
    }

    /// The alias we gave the peer in our `channel_ready`.
    pub fn outbound_scid_alias_value(&self) -> Option<crate::types::ShortChannelId> {
        self.outbound_scid_alias
    }

    /// Whether one of our HTLCs expires at or before `height` + `grace`:
    /// BOLT 2 ("the deadline for offered HTLCs") says to fail the channel
    /// then, so the HTLC can be timed out on chain.
    pub fn has_expiring_outbound(&self, height: u32, grace: u32) -> bool {
        self.outbound.iter().any(|h| {
            !matches!(h.state, OutState::SentAdd | OutState::Removed(..))
                && h.cltv_expiry <= height + grace
        })
    }

    /// Starts a cooperative close: our `shutdown` with `script`, whose
    /// monitor update (the script) must be persisted before it leaves.
    pub fn send_shutdown(&mut self, script: ScriptBuf) -> Result<Outcome, ChannelError> {
        if self.shutdown_sent.is_some() {
            return Err(Self::err_ignore(
                "api-shutdown-sent",
                "shutdown was already sent",
            ));
        }
        if self.has_unsigned_updates() {
            return Err(Self::err_ignore(
                "bolt2-shutdown-pending-updates",
                "sign the pending updates first",
            ));
        }
        self.shutdown_sent = Some(script.clone());
        let update = self.monitor_update(vec![ChannelMonitorUpdateStep::ShutdownScript {
            script: script.clone(),
        }]);
        let mut out = Outcome {
            monitor_update: Some(update),
            ..Default::default()
        };
        if self.is_live() {
            out.msgs.push(self.shutdown_message(script).into());
        }
        Ok(out)
    }

    /// Our `shutdown`, for retransmission after a reconnection.
    pub fn shutdown_message(&self, script: ScriptBuf) -> Shutdown {
        Shutdown {
            channel_id: self.channel_id,
            scriptpubkey: script,
            unknown_tlvs: TlvStream::new(),
        }
    }

    /// The peer's `shutdown`, checked against the BOLT 2 receiver rules
    /// (allowed script form, the upfront script if one was given).
    pub fn receive_shutdown(
        &mut self,
        msg: &Shutdown,
        allow_any_segwit: bool,
    ) -> Result<(), ChannelError> {
        self.check_live("shutdown")?;
        let script = shutdown_received_checks(
            msg,
            self.counterparty_shutdown_script.as_ref(),
            allow_any_segwit,
        )?;
        // BOLT 2: once sent, the scriptpubkey may not change.
        if let Some(old) = &self.shutdown_received {
            if *old != script {
                return Err(Self::err_close(
                    "bolt2-shutdown-script-changed",
                    "a second shutdown with another script",
                ));
            }
        }
        // "if the sender has pending updates": the peer must have signed
        // its updates first.
        if self.inbound.iter().any(|h| h.state == InState::RcvdAdd) {
            return Err(Self::err_close(
                "bolt2-shutdown-pending-updates",
                "shutdown with unsigned update_add_htlc pending",
            ));
        }
        self.shutdown_received = Some(script);
        Ok(())
    }
}
