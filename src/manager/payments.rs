//! Payments over the manager's channels: sending (routes from the
//! [`Router`](crate::routing::Router), idempotent by [`PaymentId`],
//! retries), receiving (stateless payment secrets, multi-part sets,
//! keysend), claiming and failing back.

use super::events::{Event, PaymentFailureReason, PaymentId, PaymentPurpose, Retry};
use super::{lock, APIError, ChannelEntry, ChannelManager, PeerState};
use crate::channel::funded::{HtlcEvent, HtlcToSend, InboundResolution, OutboundResolution};
use crate::channel::MilliSatoshi;
use crate::log_debug;
use crate::log_info;
use crate::log_warn;
use crate::msgs::{UpdateAddHtlc, UpdateFailHtlc, UpdateFailMalformedHtlc};
use crate::payment::inbound;
use crate::payment::invoice::Bolt11Invoice;
use crate::payment::onion::failure::FailureMessage;
use crate::payment::onion::SharedSecret;
use crate::payment::outbound::{self, PathFailure};
use crate::payment::receive::{self, HtlcFailure, HtlcFailureMsg, IncomingHtlc};
use crate::routing::{FirstHop, InFlightHtlcs, Path, RouteParameters};
use crate::types::{ChannelId, PaymentHash, PaymentPreimage, PaymentSecret, ShortChannelId};
use bitcoin::secp256k1::{PublicKey, SecretKey};
use core::fmt;

pub use crate::payment::outbound::RecipientOnionFields;

/// Blocks before an incoming HTLC's expiry at which we fail it back rather
/// than risk claiming it on chain too late.
pub const CLTV_CLAIM_BUFFER: u32 = 18;
/// The final CLTV delta our invoices ask for (BOLT 11 default is 18; we
/// leave room for the claim buffer).
pub const MIN_FINAL_CLTV_EXPIRY_DELTA: u16 = 24;

/// Timer ticks (~10 s each) an incomplete multi-part set waits.
pub const MPP_TIMEOUT_TICKS: u8 = 6;

/// Blocks of grace added to the final hop's expiry.
pub const FINAL_CLTV_GRACE: u32 = 3;

/// Why `send_payment` refused at once (nothing was sent).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryableSendFailure {
    /// A payment with this id is already pending or done.
    DuplicatePayment,
    /// No route was found.
    RouteNotFound,
    /// The onion could not be built (bad custom records, invalid keys).
    OnionPacketSizeExceeded,
    /// Every first hop refused the HTLC.
    ChannelUnavailable(String),
}

impl fmt::Display for RetryableSendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryableSendFailure::DuplicatePayment => f.write_str("duplicate payment id"),
            RetryableSendFailure::RouteNotFound => f.write_str("no route found"),
            RetryableSendFailure::OnionPacketSizeExceeded => f.write_str("cannot build the onion"),
            RetryableSendFailure::ChannelUnavailable(e) => write!(f, "channel unavailable: {e}"),
        }
    }
}
impl std::error::Error for RetryableSendFailure {}

/// What we keep of one of our HTLCs to read its fate.
#[derive(Clone, Debug)]
pub(crate) struct HtlcSource {
    pub payment_id: PaymentId,
    pub path: Path,
    pub session_priv: SecretKey,
}

/// An outgoing payment.
#[derive(Clone, Debug)]
pub(crate) struct PendingPayment {
    pub payment_hash: PaymentHash,
    pub recipient: RecipientOnionFields,
    pub keysend: Option<PaymentPreimage>,
    pub route_params: RouteParameters,
    pub retries_left: u32,
    pub parts_in_flight: usize,
    pub fee_msat: u64,
    pub preimage: Option<PaymentPreimage>,
    pub failed_scids: Vec<ShortChannelId>,
    /// Amounts waiting for a retry.
    pub to_retry: u64,
    /// Finished (sent or failed); kept a while so the id stays used.
    pub done_ticks: Option<u8>,
    pub permanent_failure: bool,
}

/// A part of an incoming payment.
#[derive(Clone, Debug)]
pub(crate) struct ClaimablePart {
    pub node: PublicKey,
    pub channel_id: ChannelId,
    pub htlc_id: u64,
    pub amount_msat: u64,
    pub sender_intended_msat: u64,
    pub cltv_expiry: u32,
    pub shared_secret: SharedSecret,
}

/// An incoming payment, complete or still collecting parts.
#[derive(Clone, Debug)]
pub(crate) struct ClaimablePayment {
    pub purpose: PaymentPurpose,
    pub parts: Vec<ClaimablePart>,
    pub total_msat: u64,
    pub announced: bool,
    /// Timer ticks while incomplete.
    pub ticks: u8,
}

impl ChannelManager {
    /// Creates a payment hash and secret for an invoice of ours; the
    /// preimage is derived again from the secret when the payment arrives,
    /// so nothing is stored. Expiry counts from the latest block time seen.
    pub fn create_inbound_payment(
        &self,
        min_value_msat: Option<u64>,
        invoice_expiry_delta_secs: u32,
        min_final_cltv_expiry_delta: Option<u16>,
    ) -> Result<(PaymentHash, PaymentSecret), APIError> {
        inbound::create_inbound_payment(
            &self.inbound_key,
            min_value_msat,
            invoice_expiry_delta_secs,
            &*self.deps.entropy_source,
            self.now_secs(),
            min_final_cltv_expiry_delta,
        )
        .map_err(|e| APIError::APIMisuseError { err: e.to_string() })
    }

    /// A payment secret for a hash whose preimage the user holds (it must
    /// then pass the preimage to [`claim_funds`](Self::claim_funds)).
    pub fn create_inbound_payment_for_hash(
        &self,
        payment_hash: PaymentHash,
        min_value_msat: Option<u64>,
        invoice_expiry_delta_secs: u32,
        min_final_cltv_expiry_delta: Option<u16>,
    ) -> Result<PaymentSecret, APIError> {
        inbound::create_inbound_payment_for_hash(
            &self.inbound_key,
            min_value_msat,
            payment_hash,
            invoice_expiry_delta_secs,
            self.now_secs(),
            min_final_cltv_expiry_delta,
        )
        .map_err(|e| APIError::APIMisuseError { err: e.to_string() })
    }

    /// A signed BOLT 11 invoice for a new inbound payment, with route hints
    /// through our private channels (by the alias we gave each peer).
    pub fn create_bolt11_invoice(
        &self,
        amount_msat: Option<u64>,
        description: &str,
        invoice_expiry_delta_secs: u32,
    ) -> Result<Bolt11Invoice, APIError> {
        let (hash, secret) = self.create_inbound_payment(
            amount_msat,
            invoice_expiry_delta_secs,
            Some(MIN_FINAL_CLTV_EXPIRY_DELTA),
        )?;
        let hints = self
            .list_usable_channels()
            .into_iter()
            .filter_map(|c| {
                let scid = c.inbound_scid_alias.or(c.short_channel_id)?;
                Some(crate::payment::invoice::RouteHint(vec![
                    crate::payment::invoice::RouteHintHop {
                        src_node_id: c.counterparty_node_id,
                        short_channel_id: scid,
                        fee_base_msat: 0,
                        fee_proportional_millionths: 0,
                        cltv_expiry_delta: self
                            .get_current_config()
                            .channel_config
                            .cltv_expiry_delta,
                    },
                ]))
            })
            .take(3)
            .collect();
        inbound::create_invoice(
            &*self.deps.node_signer,
            currency(self.network),
            amount_msat,
            description,
            invoice_expiry_delta_secs,
            hash,
            secret,
            MIN_FINAL_CLTV_EXPIRY_DELTA,
            self.now_secs(),
            hints,
        )
        .map_err(|e| APIError::APIMisuseError { err: e.to_string() })
    }

    pub(crate) fn now_secs(&self) -> u64 {
        self.highest_seen_timestamp
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Our channels as first hops for the router.
    fn first_hops(&self) -> Vec<FirstHop> {
        self.list_usable_channels()
            .into_iter()
            .filter_map(|c| {
                Some(FirstHop {
                    // Local only (the first hop's id is in no onion): the
                    // ids `by_scid` knows, the real one unless scid_alias.
                    short_channel_id: c.short_channel_id.or(c.outbound_scid_alias)?,
                    counterparty_node_id: crate::types::Point::from(c.counterparty_node_id),
                    next_outbound_htlc_limit_msat: c.next_outbound_htlc_limit_msat,
                    next_outbound_htlc_minimum_msat: c.next_outbound_htlc_minimum_msat,
                })
            })
            .collect()
    }

    /// Sends a payment to `payment_hash` along a route the router finds.
    /// Idempotent by `payment_id`: a second call with the same id is
    /// refused with `DuplicatePayment` and sends nothing. The result comes
    /// as [`Event::PaymentSent`] or [`Event::PaymentFailed`].
    pub fn send_payment(
        &self,
        payment_hash: PaymentHash,
        recipient_onion: RecipientOnionFields,
        payment_id: PaymentId,
        route_params: RouteParameters,
        retry: Retry,
    ) -> Result<(), RetryableSendFailure> {
        self.start_payment(
            payment_hash,
            None,
            recipient_onion,
            payment_id,
            route_params,
            retry,
        )
    }

    /// Sends a spontaneous (keysend) payment: the preimage travels in the
    /// onion (a random one when `None`). Returns the payment hash.
    pub fn send_spontaneous_payment(
        &self,
        payment_preimage: Option<PaymentPreimage>,
        recipient_onion: RecipientOnionFields,
        payment_id: PaymentId,
        route_params: RouteParameters,
        retry: Retry,
    ) -> Result<PaymentHash, RetryableSendFailure> {
        let preimage = payment_preimage
            .unwrap_or_else(|| PaymentPreimage(self.deps.entropy_source.get_secure_random_bytes()));
        let hash = preimage.payment_hash();
        self.start_payment(
            hash,
            Some(preimage),
            recipient_onion,
            payment_id,
            route_params,
            retry,
        )?;
        Ok(hash)
    }

    fn start_payment(
        &self,
        payment_hash: PaymentHash,
        keysend: Option<PaymentPreimage>,
        recipient: RecipientOnionFields,
        payment_id: PaymentId,
        route_params: RouteParameters,
        retry: Retry,
    ) -> Result<(), RetryableSendFailure> {
        recipient
            .check_custom_tlvs()
            .map_err(|_| RetryableSendFailure::OnionPacketSizeExceeded)?;
        {
            let mut payments = lock(&self.payments);
            if payments.contains_key(&payment_id) {
                return Err(RetryableSendFailure::DuplicatePayment);
            }
            let Retry::Attempts(n) = retry;
            payments.insert(
                payment_id,
                PendingPayment {
                    payment_hash,
                    recipient,
                    keysend,
                    route_params: route_params.clone(),
                    retries_left: n,
                    parts_in_flight: 0,
                    fee_msat: 0,
                    preimage: None,
                    failed_scids: Vec::new(),
                    to_retry: 0,
                    done_ticks: None,
                    permanent_failure: false,
                },
            );
        }
        self.changed();
        match self.route_and_send(payment_id, route_params.final_value_msat, route_params) {
            Ok(()) => Ok(()),
            Err(e) => {
                lock(&self.payments).remove(&payment_id);
                Err(e)
            }
        }
    }

    /// Finds a route for `amount` of a payment and sends each path.
    fn route_and_send(
        &self,
        payment_id: PaymentId,
        amount: u64,
        mut params: RouteParameters,
    ) -> Result<(), RetryableSendFailure> {
        let (hash, recipient, keysend, total) = {
            let payments = lock(&self.payments);
            let p = payments
                .get(&payment_id)
                .ok_or(RetryableSendFailure::RouteNotFound)?;
            params
                .payment_params
                .previously_failed_channels
                .extend(p.failed_scids.iter().copied());
            (
                p.payment_hash,
                p.recipient.clone(),
                p.keysend,
                p.route_params.final_value_msat,
            )
        };
        params.final_value_msat = amount;
        let first_hops = self.first_hops();
        let route = self
            .deps
            .router
            .find_route(
                &crate::types::Point::from(self.our_node_id),
                &params,
                Some(&first_hops),
                InFlightHtlcs::new(),
            )
            .map_err(|e| {
                log_warn!(
                    self.logger(),
                    "no route for payment {:?}: {}",
                    payment_id,
                    e
                );
                RetryableSendFailure::RouteNotFound
            })?;
        // Blocks added to the final expiry so a recipient a few blocks
        // ahead of us still sees enough of its final delta (BOLT 4's
        // recommendation to pad the final CLTV).
        let height = self.current_best_block().height + FINAL_CLTV_GRACE;
        let mut sent_any = false;
        let mut last_err = String::new();
        for path in route.paths {
            let session_priv = loop {
                if let Ok(k) =
                    SecretKey::from_slice(&self.deps.entropy_source.get_secure_random_bytes())
                {
                    break k;
                }
            };
            let onion = outbound::build_onion_for_path(
                &self.secp,
                &path,
                total,
                &recipient,
                keysend,
                height,
                &hash,
                &session_priv,
            )
            .map_err(|_| RetryableSendFailure::OnionPacketSizeExceeded)?;
            let Some(first) = path.hops.first() else {
                continue;
            };
            let Some((node, cid)) = lock(&self.by_scid).get(&first.short_channel_id).copied()
            else {
                last_err = format!("no channel {}", first.short_channel_id);
                continue;
            };
            let fee = path.fee_msat();
            let res = self.with_peer(&node, |peer| {
                let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&cid) else {
                    return Err("channel gone".to_string());
                };
                if !f.quiescence.may_send_update() || f.closing.is_some() {
                    return Err("channel quiescent or closing".to_string());
                }
                let max_fee = self.max_feerate();
                let (id, out) = f
                    .chan
                    .send_htlc(
                        HtlcToSend {
                            amount: MilliSatoshi(onion.first_hop_amount_msat),
                            payment_hash: hash,
                            cltv_expiry: onion.first_hop_cltv_expiry,
                            onion: onion.onion.clone(),
                            blinding_point: None,
                        },
                        max_fee,
                    )
                    .map_err(|e| e.to_string())?;
                f.sources.insert(
                    id,
                    HtlcSource {
                        payment_id,
                        path: path.clone(),
                        session_priv,
                    },
                );
                self.apply_outcome(peer, node, cid, out);
                Ok(())
            });
            match res {
                Some(Ok(())) => {
                    sent_any = true;
                    if let Some(p) = lock(&self.payments).get_mut(&payment_id) {
                        p.parts_in_flight += 1;
                        p.fee_msat += fee;
                    }
                }
                Some(Err(e)) => last_err = e,
                None => last_err = "peer gone".into(),
            }
        }
        if sent_any {
            Ok(())
        } else {
            Err(RetryableSendFailure::ChannelUnavailable(last_err))
        }
    }

    /// Stops retrying a payment; it fails once its parts in flight fail.
    pub fn abandon_payment(&self, payment_id: PaymentId) {
        let mut payments = lock(&self.payments);
        if let Some(p) = payments.get_mut(&payment_id) {
            p.retries_left = 0;
            p.to_retry = 0;
            if p.parts_in_flight == 0 && p.done_ticks.is_none() && p.preimage.is_none() {
                p.done_ticks = Some(0);
                let hash = p.payment_hash;
                drop(payments);
                self.push_event(Event::PaymentFailed {
                    payment_id,
                    payment_hash: hash,
                    reason: PaymentFailureReason::UserAbandoned,
                });
            }
        }
    }

    pub(crate) fn max_feerate(&self) -> u32 {
        crate::chain::bounded_feerate(
            &*self.deps.fee_estimator,
            crate::chain::ConfirmationTarget::MaximumFeeEstimate,
        )
    }

    /// Sends the retries queued by failed parts (outside any peer lock).
    pub(crate) fn process_retries(&self) {
        let todo: Vec<(PaymentId, u64, RouteParameters)> = {
            let mut payments = lock(&self.payments);
            payments
                .iter_mut()
                .filter(|(_, p)| p.to_retry > 0)
                .map(|(id, p)| {
                    (
                        *id,
                        core::mem::take(&mut p.to_retry),
                        p.route_params.clone(),
                    )
                })
                .collect()
        };
        for (id, amount, params) in todo {
            if let Err(e) = self.route_and_send(id, amount, params) {
                log_info!(self.logger(), "retry of {:?} failed: {}", id, e);
                let mut payments = lock(&self.payments);
                if let Some(p) = payments.get_mut(&id) {
                    if p.parts_in_flight == 0 && p.preimage.is_none() && p.done_ticks.is_none() {
                        p.done_ticks = Some(0);
                        let hash = p.payment_hash;
                        drop(payments);
                        self.push_event(Event::PaymentFailed {
                            payment_id: id,
                            payment_hash: hash,
                            reason: PaymentFailureReason::RouteNotFound,
                        });
                    }
                }
            }
        }
    }

    /// Acts on what a channel reported about an HTLC.
    pub(crate) fn handle_htlc_event(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        event: HtlcEvent,
    ) {
        match event {
            HtlcEvent::InboundCommitted {
                htlc_id,
                amount,
                payment_hash,
                cltv_expiry,
                onion,
                blinding_point,
                fail_with,
            } => {
                let add = UpdateAddHtlc {
                    channel_id,
                    id: htlc_id,
                    amount_msat: amount.0,
                    payment_hash,
                    cltv_expiry,
                    onion_routing_packet: *onion,
                    blinding_point,
                    unknown_tlvs: Default::default(),
                };
                self.inbound_htlc(peer, node, channel_id, &add, fail_with);
            }
            HtlcEvent::OutboundFulfilled {
                htlc_id, preimage, ..
            } => {
                let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&channel_id) else {
                    return;
                };
                let Some(src) = f.sources.remove(&htlc_id) else {
                    return;
                };
                self.path_succeeded(src, preimage);
            }
            HtlcEvent::OutboundFailed {
                htlc_id,
                resolution,
                ..
            } => {
                let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&channel_id) else {
                    return;
                };
                let Some(src) = f.sources.remove(&htlc_id) else {
                    return;
                };
                self.changed();
                let failure = match &resolution {
                    OutboundResolution::Failed {
                        reason,
                        attribution_data,
                    } => outbound::decode_update_fail(
                        &self.secp,
                        &src.path,
                        &src.session_priv,
                        &UpdateFailHtlc {
                            channel_id,
                            id: htlc_id,
                            reason: crate::codec::WithU16Len(reason.clone()),
                            attribution_data: attribution_data.as_deref().copied(),
                            unknown_tlvs: Default::default(),
                        },
                    ),
                    OutboundResolution::Malformed {
                        failure_code,
                        sha256_of_onion,
                    } => outbound::decode_update_fail_malformed(
                        &src.path,
                        &UpdateFailMalformedHtlc {
                            channel_id,
                            id: htlc_id,
                            sha256_of_onion: *sha256_of_onion,
                            failure_code: *failure_code,
                            unknown_tlvs: Default::default(),
                        },
                    ),
                    OutboundResolution::Fulfilled(_) => return,
                };
                self.path_failed(src, failure);
            }
            HtlcEvent::InboundSettled { .. } => {}
        }
    }

    pub(crate) fn path_succeeded(&self, src: HtlcSource, preimage: PaymentPreimage) {
        self.changed();
        let mut payments = lock(&self.payments);
        let Some(p) = payments.get_mut(&src.payment_id) else {
            return;
        };
        p.parts_in_flight = p.parts_in_flight.saturating_sub(1);
        let first = p.preimage.is_none();
        p.preimage = Some(preimage);
        if p.parts_in_flight == 0 {
            p.done_ticks = Some(0);
        }
        let (hash, fee) = (p.payment_hash, p.fee_msat);
        drop(payments);
        if first {
            self.push_event(Event::PaymentSent {
                payment_id: src.payment_id,
                payment_preimage: preimage,
                payment_hash: hash,
                fee_paid_msat: fee,
            });
        }
    }

    pub(crate) fn path_failed(&self, src: HtlcSource, failure: PathFailure) {
        let mut payments = lock(&self.payments);
        let Some(p) = payments.get_mut(&src.payment_id) else {
            return;
        };
        p.parts_in_flight = p.parts_in_flight.saturating_sub(1);
        log_debug!(
            self.logger(),
            "payment {:?}: a path failed (code {:?}, permanent {})",
            src.payment_id,
            failure.failure_code,
            failure.payment_failed_permanently
        );
        if p.preimage.is_some() {
            if p.parts_in_flight == 0 {
                p.done_ticks = Some(0);
            }
            return;
        }
        if let Some(scid) = failure.short_channel_id_to_blame {
            p.failed_scids.push(scid);
        }
        p.permanent_failure |= failure.payment_failed_permanently;
        let amount = src.path.final_value_msat();
        if !p.permanent_failure && p.retries_left > 0 {
            p.retries_left -= 1;
            p.to_retry += amount;
            return;
        }
        if p.parts_in_flight == 0 && p.to_retry == 0 && p.done_ticks.is_none() {
            p.done_ticks = Some(0);
            let reason = if p.permanent_failure {
                PaymentFailureReason::RecipientRejected
            } else {
                PaymentFailureReason::RetriesExhausted
            };
            let hash = p.payment_hash;
            drop(payments);
            self.push_event(Event::PaymentFailed {
                payment_id: src.payment_id,
                payment_hash: hash,
                reason,
            });
        }
    }

    /// Fails an incoming HTLC back on its channel.
    fn fail_inbound(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        htlc_id: u64,
        failure: HtlcFailure,
    ) {
        log_info!(
            self.logger(),
            "failing HTLC {} of {}: {}",
            htlc_id,
            channel_id,
            failure
        );
        let resolution = match failure.to_update_fail(channel_id, htlc_id) {
            HtlcFailureMsg::Fail(m) => InboundResolution::Fail {
                reason: m.reason.0,
                attribution_data: m.attribution_data.map(Box::new),
            },
            HtlcFailureMsg::Malformed(m) => InboundResolution::Malformed {
                failure_code: m.failure_code,
                sha256_of_onion: m.sha256_of_onion,
            },
        };
        let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&channel_id) else {
            return;
        };
        match f.chan.fail_htlc(htlc_id, resolution) {
            Ok(out) => self.apply_outcome(peer, node, channel_id, out),
            Err(e) => log_warn!(self.logger(), "cannot fail HTLC {}: {}", htlc_id, e),
        }
    }

    fn inbound_htlc(
        &self,
        peer: &mut PeerState,
        node: PublicKey,
        channel_id: ChannelId,
        add: &UpdateAddHtlc,
        fail_with: Option<u16>,
    ) {
        let height = self.current_best_block().height;
        let decoded =
            receive::decode_incoming_htlc(&*self.deps.node_signer, &self.secp, add, height);
        let decoded = match decoded {
            Ok(d) => d,
            Err(f) => return self.fail_inbound(peer, node, channel_id, add.id, f),
        };
        let (hash, amount, sent_msat, cltv, secret, total, keysend, ss) = match decoded {
            IncomingHtlc::Receive {
                payment_hash,
                amount_msat,
                amt_to_forward,
                cltv_expiry,
                payment_secret,
                total_msat,
                keysend_preimage,
                shared_secret,
                ..
            } => (
                payment_hash,
                amount_msat,
                amt_to_forward,
                cltv_expiry,
                payment_secret,
                total_msat,
                keysend_preimage,
                shared_secret,
            ),
            IncomingHtlc::Forward { shared_secret, .. } => {
                // Forwarding comes with the multi-hop issue.
                return self.fail_inbound(
                    peer,
                    node,
                    channel_id,
                    add.id,
                    HtlcFailure::Fail {
                        failure: FailureMessage::UnknownNextPeer,
                        shared_secret,
                        tag: "forwarding-disabled",
                    },
                );
            }
        };
        let reject = |tag: &'static str| HtlcFailure::Fail {
            failure: FailureMessage::IncorrectOrUnknownPaymentDetails {
                htlc_msat: amount,
                height,
            },
            shared_secret: ss,
            tag,
        };
        if let Some(code) = fail_with {
            let _ = code;
            return self.fail_inbound(
                peer,
                node,
                channel_id,
                add.id,
                HtlcFailure::Fail {
                    failure: FailureMessage::TemporaryChannelFailure {
                        channel_update: crate::payment::onion::failure::ChannelUpdateBytes(
                            Vec::new(),
                        ),
                    },
                    shared_secret: ss,
                    tag: "config-dust-exposure",
                },
            );
        }
        let purpose = match (keysend, secret) {
            (Some(p), _) => PaymentPurpose::SpontaneousPayment(p),
            (None, Some(secret)) => {
                match inbound::verify_inbound_payment(
                    &self.inbound_key,
                    &hash,
                    &secret,
                    total,
                    self.now_secs(),
                ) {
                    Ok(v) => {
                        if let Some(delta) = v.min_final_cltv_expiry_delta {
                            if receive::check_final_cltv_expiry(cltv, amount, height, delta)
                                .is_err()
                            {
                                return self.fail_inbound(
                                    peer,
                                    node,
                                    channel_id,
                                    add.id,
                                    reject("bolt4-final-cltv-too-soon"),
                                );
                            }
                        }
                        PaymentPurpose::Bolt11InvoicePayment {
                            payment_preimage: v.preimage,
                            payment_secret: secret,
                        }
                    }
                    Err(e) => {
                        log_info!(self.logger(), "unknown payment {}: {}", hash, e);
                        return self.fail_inbound(
                            peer,
                            node,
                            channel_id,
                            add.id,
                            reject("bolt4-unknown-payment"),
                        );
                    }
                }
            }
            (None, None) => {
                return self.fail_inbound(peer, node, channel_id, add.id, reject("bolt4-no-secret"))
            }
        };
        let part = ClaimablePart {
            node,
            channel_id,
            htlc_id: add.id,
            amount_msat: amount,
            sender_intended_msat: sent_msat,
            cltv_expiry: cltv,
            shared_secret: ss,
        };
        let mut claimable = lock(&self.claimable);
        let entry = claimable.entry(hash).or_insert_with(|| ClaimablePayment {
            purpose: purpose.clone(),
            parts: Vec::new(),
            total_msat: total,
            announced: false,
            ticks: 0,
        });
        // BOLT 4 (basic MPP): every part must agree on `total_msat`.
        if entry.total_msat != total || entry.purpose != purpose {
            drop(claimable);
            return self.fail_inbound(
                peer,
                node,
                channel_id,
                add.id,
                reject("bolt4-mpp-total-mismatch"),
            );
        }
        entry.parts.push(part);
        self.changed();
        let got: u64 = entry.parts.iter().map(|p| p.sender_intended_msat).sum();
        if got >= entry.total_msat && !entry.announced {
            entry.announced = true;
            let deadline = entry
                .parts
                .iter()
                .map(|p| p.cltv_expiry)
                .min()
                .unwrap_or(cltv)
                .saturating_sub(CLTV_CLAIM_BUFFER);
            let amount_msat: u64 = entry.parts.iter().map(|p| p.amount_msat).sum();
            let via = entry.parts[0].channel_id;
            let purpose = entry.purpose.clone();
            drop(claimable);
            self.push_event(Event::PaymentClaimable {
                payment_hash: hash,
                amount_msat,
                purpose,
                via_channel_id: via,
                claim_deadline: deadline,
            });
        }
    }

    /// Claims a payment announced by [`Event::PaymentClaimable`]: every part
    /// is fulfilled (the preimage reaches each monitor first), then
    /// [`Event::PaymentClaimed`] follows.
    pub fn claim_funds(&self, payment_preimage: PaymentPreimage) {
        let hash = payment_preimage.payment_hash();
        let Some(entry) = lock(&self.claimable).remove(&hash) else {
            log_warn!(self.logger(), "claim_funds: no claimable payment {}", hash);
            return;
        };
        self.changed();
        let mut claimed = 0;
        for part in &entry.parts {
            self.with_peer(&part.node, |peer| {
                let Some(ChannelEntry::Funded(f)) = peer.channels.get_mut(&part.channel_id) else {
                    return;
                };
                match f.chan.fulfill_htlc(part.htlc_id, payment_preimage) {
                    Ok(out) => {
                        claimed += part.amount_msat;
                        self.apply_outcome(peer, part.node, part.channel_id, out);
                    }
                    Err(e) => log_warn!(self.logger(), "cannot claim part: {}", e),
                }
            });
        }
        let purpose = match entry.purpose {
            PaymentPurpose::Bolt11InvoicePayment { payment_secret, .. } => {
                PaymentPurpose::Bolt11InvoicePayment {
                    payment_preimage: Some(payment_preimage),
                    payment_secret,
                }
            }
            p => p,
        };
        self.push_event(Event::PaymentClaimed {
            payment_hash: hash,
            amount_msat: claimed,
            purpose,
        });
    }

    /// Fails every part of a payment to us back with
    /// `incorrect_or_unknown_payment_details`.
    pub fn fail_htlc_backwards(&self, payment_hash: &PaymentHash) {
        let Some(entry) = lock(&self.claimable).remove(payment_hash) else {
            return;
        };
        self.fail_parts(entry, "api-fail-backwards");
    }

    fn fail_parts(&self, entry: ClaimablePayment, tag: &'static str) {
        self.changed();
        let height = self.current_best_block().height;
        for part in entry.parts {
            self.with_peer(&part.node, |peer| {
                self.fail_inbound(
                    peer,
                    part.node,
                    part.channel_id,
                    part.htlc_id,
                    HtlcFailure::Fail {
                        failure: FailureMessage::IncorrectOrUnknownPaymentDetails {
                            htlc_msat: part.amount_msat,
                            height,
                        },
                        shared_secret: part.shared_secret,
                        tag,
                    },
                )
            });
        }
    }

    /// Fails back payments to us whose HTLCs near expiry (or whose parts
    /// never completed): claiming them on chain later would be unsafe.
    pub(crate) fn fail_expiring_claimables(&self) {
        let height = self.current_best_block().height;
        let expiring: Vec<ClaimablePayment> = {
            let mut claimable = lock(&self.claimable);
            let hashes: Vec<PaymentHash> = claimable
                .iter()
                .filter(|(_, c)| {
                    c.parts
                        .iter()
                        .any(|p| p.cltv_expiry <= height + CLTV_CLAIM_BUFFER)
                })
                .map(|(h, _)| *h)
                .collect();
            hashes.iter().filter_map(|h| claimable.remove(h)).collect()
        };
        for e in expiring {
            self.fail_parts(e, "cltv-claim-buffer");
        }
        let mut payments = lock(&self.payments);
        payments.retain(|_, p| match &mut p.done_ticks {
            Some(t) => {
                *t += 1;
                *t < 3
            }
            None => true,
        });
    }

    /// Fails back multi-part sets still incomplete after
    /// [`MPP_TIMEOUT_TICKS`] timer ticks with `mpp_timeout` (BOLT 4: the
    /// final node "SHOULD fail the entire HTLC set" after "at least 60
    /// seconds").
    pub(crate) fn fail_incomplete_mpp(&self) {
        let timed_out: Vec<ClaimablePayment> = {
            let mut claimable = lock(&self.claimable);
            for c in claimable.values_mut() {
                if !c.announced {
                    c.ticks = c.ticks.saturating_add(1);
                }
            }
            let hashes: Vec<PaymentHash> = claimable
                .iter()
                .filter(|(_, c)| !c.announced && c.ticks > MPP_TIMEOUT_TICKS)
                .map(|(h, _)| *h)
                .collect();
            hashes.iter().filter_map(|h| claimable.remove(h)).collect()
        };
        for entry in timed_out {
            self.changed();
            for part in entry.parts {
                self.with_peer(&part.node, |peer| {
                    self.fail_inbound(
                        peer,
                        part.node,
                        part.channel_id,
                        part.htlc_id,
                        HtlcFailure::Fail {
                            failure: FailureMessage::MppTimeout,
                            shared_secret: part.shared_secret,
                            tag: "bolt4-mpp-timeout",
                        },
                    )
                });
            }
        }
    }

    /// A channel with HTLCs closed: incoming parts on it are dropped from
    /// the claimable sets (they resolve on chain).
    pub(crate) fn channel_closed_with_htlcs(&self, f: &super::FundedEntry) {
        let id = f.chan.channel_id();
        let mut claimable = lock(&self.claimable);
        for c in claimable.values_mut() {
            c.parts.retain(|p| p.channel_id != id);
        }
        claimable.retain(|_, c| !c.parts.is_empty());
    }
}

fn currency(network: bitcoin::Network) -> crate::payment::invoice::Currency {
    use crate::payment::invoice::Currency;
    match network {
        bitcoin::Network::Bitcoin => Currency::Bitcoin,
        bitcoin::Network::Testnet | bitcoin::Network::Testnet4 => Currency::BitcoinTestnet,
        bitcoin::Network::Signet => Currency::Signet,
        _ => Currency::Regtest,
    }
}
