//! What the wallet sees of its channels ([`ChannelDetails`]) and the
//! features a full lnkit node offers.

use super::ChannelEntry;
use crate::config::UserConfig;
use crate::msgs::features::{ChannelTypeFeatures, InitFeatures, NodeFeatures};
use crate::types::{ChannelId, ShortChannelId};
use bitcoin::secp256k1::PublicKey;
use bitcoin::OutPoint;

/// A channel as the wallet sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelDetails {
    /// The channel id (temporary before funding).
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty_node_id: PublicKey,
    /// The funding output, once known.
    pub funding_txo: Option<OutPoint>,
    /// The confirmed short channel id; `None` when `option_scid_alias` was
    /// negotiated (BOLT 2 channel_ready: "MUST NOT use the real
    /// `short_channel_id` in BOLT 11 `r` fields"): use the aliases.
    pub short_channel_id: Option<ShortChannelId>,
    /// The alias the peer gave us in its `channel_ready`: what our BOLT 11
    /// route hints name (BOLT 2: the receiver "MAY use any of the `alias`
    /// it received, in BOLT 11 `r` fields").
    pub inbound_scid_alias: Option<ShortChannelId>,
    /// The alias we gave the peer in our `channel_ready`: what our own
    /// payments name the channel by as first hop when it has no (public)
    /// short channel id.
    pub outbound_scid_alias: Option<ShortChannelId>,
    /// The channel value.
    pub channel_value_satoshis: u64,
    /// The user's id for the channel.
    pub user_channel_id: u128,
    /// Our balance with every HTLC counted where it started until the
    /// commitment dance removing it completes: HTLCs we offered are still
    /// in it (also just after `PaymentSent`), HTLCs paid to us not yet
    /// (also just after `PaymentClaimed`). See the two fields below.
    pub balance_msat: u64,
    /// Our HTLCs not yet removed from both commitments (pending payments,
    /// and settled ones whose removal is being signed); included in
    /// `balance_msat`.
    pub pending_outbound_htlcs_msat: u64,
    /// HTLCs paid to us not yet removed from both commitments; not in
    /// `balance_msat` yet.
    pub pending_inbound_htlcs_msat: u64,
    /// What we could send now, in total.
    pub outbound_capacity_msat: u64,
    /// The largest single HTLC we could send now.
    pub next_outbound_htlc_limit_msat: u64,
    /// The smallest HTLC the peer accepts.
    pub next_outbound_htlc_minimum_msat: u64,
    /// What the peer could send us.
    pub inbound_capacity_msat: u64,
    /// Whether we opened it.
    pub is_outbound: bool,
    /// Whether both `channel_ready` were exchanged.
    pub is_channel_ready: bool,
    /// Whether it can carry a payment now (ready and the peer connected).
    pub is_usable: bool,
    /// The negotiated channel type, once known.
    pub channel_type: Option<ChannelTypeFeatures>,
    /// The commitment fee rate.
    pub feerate_sat_per_1000_weight: Option<u32>,
}

pub(crate) fn details(
    node: PublicKey,
    id: ChannelId,
    entry: &ChannelEntry,
    connected: bool,
) -> Option<ChannelDetails> {
    let base = |value: u64, outbound: bool| ChannelDetails {
        channel_id: id,
        counterparty_node_id: node,
        funding_txo: None,
        short_channel_id: None,
        inbound_scid_alias: None,
        outbound_scid_alias: None,
        channel_value_satoshis: value,
        user_channel_id: 0,
        balance_msat: 0,
        pending_outbound_htlcs_msat: 0,
        pending_inbound_htlcs_msat: 0,
        outbound_capacity_msat: 0,
        next_outbound_htlc_limit_msat: 0,
        next_outbound_htlc_minimum_msat: 0,
        inbound_capacity_msat: 0,
        is_outbound: outbound,
        is_channel_ready: false,
        is_usable: false,
        channel_type: None,
        feerate_sat_per_1000_weight: None,
    };
    Some(match entry {
        ChannelEntry::Outbound { chan, .. } => {
            let mut d = base(chan.channel_value_satoshis(), true);
            d.channel_type = Some(chan.channel_type().clone());
            d
        }
        ChannelEntry::Unaccepted { open, .. } => base(open.funding_satoshis, false),
        ChannelEntry::Inbound(c) => {
            let mut d = base(c.channel_value_satoshis(), false);
            d.channel_type = Some(c.channel_type().clone());
            d
        }
        ChannelEntry::Pending(p) => {
            let mut d = base(
                p.chan.channel_parameters().channel_value.to_sat(),
                p.is_outbound,
            );
            d.funding_txo = Some(p.chan.funding_outpoint());
            d.short_channel_id = p.scid.filter(|_| !p.chan.negotiated_scid_alias());
            d.user_channel_id = p.user_channel_id;
            d.channel_type = Some(p.channel_type.clone());
            d
        }
        ChannelEntry::Funded(f) => {
            let c = &f.chan;
            let b = c.available_balances();
            let mut d = base(c.channel_value_satoshis(), c.is_outbound());
            d.funding_txo = Some(c.funding_outpoint());
            d.short_channel_id = c
                .short_channel_id()
                .filter(|_| !c.channel_type().requires_scid_privacy());
            d.inbound_scid_alias = c.counterparty_scid_alias();
            d.outbound_scid_alias = c.outbound_scid_alias_value();
            d.user_channel_id = c.user_channel_id();
            d.balance_msat = c.balance_msat();
            d.pending_outbound_htlcs_msat = c.pending_outbound_htlcs_msat();
            d.pending_inbound_htlcs_msat = c.pending_inbound_htlcs_msat();
            d.outbound_capacity_msat = b.outbound_capacity_msat;
            d.next_outbound_htlc_limit_msat = b.next_outbound_htlc_limit_msat;
            d.next_outbound_htlc_minimum_msat = b.next_outbound_htlc_minimum_msat;
            d.inbound_capacity_msat = b.inbound_capacity_msat;
            d.is_channel_ready = true;
            d.is_usable =
                connected && c.is_live() && f.closing.is_none() && c.shutdown_sent().is_none();
            d.channel_type = Some(c.channel_type().clone());
            d.feerate_sat_per_1000_weight = Some(c.feerate().0);
            d
        }
    })
}

/// The features a full lnkit node offers.
pub fn provided_init_features(config: &UserConfig) -> InitFeatures {
    let mut f = InitFeatures::empty();
    f.set_data_loss_protect_required();
    f.set_variable_length_onion_required();
    f.set_static_remote_key_required();
    f.set_payment_secret_required();
    f.set_basic_mpp_optional();
    f.set_wumbo_optional();
    if config
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx
    {
        f.set_anchors_zero_fee_htlc_tx_optional();
    }
    f.set_shutdown_anysegwit_optional();
    f.set_channel_type_optional();
    // We accept `option_scid_alias` and (from trusted peers, see
    // `accept_inbound_channel_from_trusted_peer_0conf`) `option_zeroconf`
    // channel types; BOLT 9: zeroconf depends on scid_alias.
    f.set_scid_privacy_optional();
    f.set_zero_conf_optional();
    f.set_quiescence_optional();
    f
}

/// The features a full lnkit node announces.
pub fn provided_node_features(config: &UserConfig) -> NodeFeatures {
    let init = provided_init_features(config);
    let mut n = NodeFeatures::empty();
    for bit in init.set_bits() {
        n.set_bit(bit, true);
    }
    n.set_keysend_optional();
    n
}
