//! The chain side of a node: the traits through which lnkit learns about
//! blocks and transactions, estimates fees and broadcasts, and how a light
//! client is told what to watch.
//!
//! Two ways to feed blocks, pick one per component:
//! - [`Listen`]: every block in order (a full node or a block source).
//! - [`Confirm`]: only the transactions that matter, as an Electrum/Esplora
//!   style client learns them, after [`Filter`] told it what to watch.
//!
//! Nothing here reads the clock or the network: the wallet calls in.

pub mod monitor;

use bitcoin::block::Header;
use bitcoin::{Block, BlockHash, OutPoint, Script, ScriptBuf, Transaction, Txid};

/// The tip the caller has told us about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BestBlock {
    /// The tip's hash.
    pub block_hash: BlockHash,
    /// The tip's height.
    pub height: u32,
}

impl BestBlock {
    /// The genesis block of `network` as the tip.
    pub fn from_network(network: bitcoin::Network) -> Self {
        BestBlock {
            block_hash: bitcoin::blockdata::constants::genesis_block(network).block_hash(),
            height: 0,
        }
    }
}

/// Sends transactions to the Bitcoin network. lnkit rebroadcasts what
/// matters on its own schedule, so an implementation need not retry.
pub trait BroadcasterInterface: Send + Sync {
    /// Broadcasts these transactions (a package may depend on earlier ones
    /// in the slice).
    fn broadcast_transactions(&self, txs: &[&Transaction]);
}

/// What a fee estimate is for; each maps to a confirmation urgency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfirmationTarget {
    /// The highest fee we will ever see from a peer's `update_fee` before we
    /// call it excessive.
    MaximumFeeEstimate,
    /// Sweeping outputs that become contested after a deadline (HTLCs on chain).
    UrgentOnChainSweep,
    /// The lowest `update_fee` we accept from a peer on an anchor channel.
    MinAllowedAnchorChannelRemoteFee,
    /// The lowest `update_fee` we accept from a peer on a non-anchor channel.
    MinAllowedNonAnchorChannelRemoteFee,
    /// The commitment feerate we set on anchor channels (fees can be bumped later).
    AnchorChannelFee,
    /// The commitment feerate we set on non-anchor channels (must confirm as is).
    NonAnchorChannelFee,
    /// The lowest fee of a cooperative closing transaction.
    ChannelCloseMinimum,
    /// Spending our own outputs back to the wallet, with no deadline.
    OutputSpendingFee,
}

/// The floor of every feerate lnkit uses: 253 sat/kW (1 sat/vB after rounding).
pub const FEERATE_FLOOR_SATS_PER_KW: u32 = 253;

/// Estimates fees. Answers must be cheap: they are asked for often.
pub trait FeeEstimator: Send + Sync {
    /// The feerate, in satoshis per 1000 weight units, for `target`.
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32;
}

/// A fee estimate clamped to [`FEERATE_FLOOR_SATS_PER_KW`].
pub fn bounded_feerate(estimator: &dyn FeeEstimator, target: ConfirmationTarget) -> u32 {
    estimator
        .get_est_sat_per_1000_weight(target)
        .max(FEERATE_FLOOR_SATS_PER_KW)
}

/// An output a light client must watch for spends.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WatchedOutput {
    /// The block the output confirmed in, if known.
    pub block_hash: Option<BlockHash>,
    /// The output.
    pub outpoint: OutPoint,
    /// Its script.
    pub script_pubkey: ScriptBuf,
}

/// Tells a light client what lnkit needs to hear about: transactions by
/// id and script, and spends of outputs.
pub trait Filter: Send + Sync {
    /// Watch for a transaction with this id (which pays `script_pubkey`).
    fn register_tx(&self, txid: &Txid, script_pubkey: &Script);
    /// Watch for any spend of this output.
    fn register_output(&self, output: WatchedOutput);
}

/// Receives every block, in order, connected and disconnected.
pub trait Listen {
    /// A block was connected at `height`; `txdata` holds the transactions
    /// with their positions in the block (all of them, or those matching a
    /// [`Filter`]).
    fn filtered_block_connected(
        &self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
    );
    /// A whole block was connected at `height`.
    fn block_connected(&self, block: &Block, height: u32) {
        let txdata: Vec<(usize, &Transaction)> = block.txdata.iter().enumerate().collect();
        self.filtered_block_connected(&block.header, &txdata, height);
    }
    /// The block at `height` was disconnected (a reorg).
    fn block_disconnected(&self, header: &Header, height: u32);
}

/// Receives only the transactions that matter, as a light client finds them.
pub trait Confirm {
    /// These transactions confirmed in the block with `header` at `height`.
    fn transactions_confirmed(
        &self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
    );
    /// This transaction is no longer confirmed (reorged out).
    fn transaction_unconfirmed(&self, txid: &Txid);
    /// The chain tip moved.
    fn best_block_updated(&self, header: &Header, height: u32);
    /// Transactions whose confirmation matters, with the block they are
    /// in, so the client can check they are still on the best chain.
    fn get_relevant_txids(&self) -> Vec<(Txid, u32, Option<BlockHash>)>;
}

/// What persisting a `ChannelMonitorUpdate` came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelMonitorUpdateStatus {
    /// Durably persisted: messages that depend on it may go out.
    Completed,
    /// Persisting in the background; messages that depend on it are held
    /// until the persister reports completion.
    InProgress,
    /// Persisting failed for good: the node must stop, it cannot safely
    /// continue the channel.
    UnrecoverableError,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u32);
    impl FeeEstimator for Fixed {
        fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
            self.0
        }
    }

    #[test]
    fn feerates_are_clamped_to_the_floor() {
        assert_eq!(
            bounded_feerate(&Fixed(1), ConfirmationTarget::AnchorChannelFee),
            253
        );
        assert_eq!(
            bounded_feerate(&Fixed(5000), ConfirmationTarget::AnchorChannelFee),
            5000
        );
    }

    #[test]
    fn best_block_starts_at_genesis() {
        let b = BestBlock::from_network(bitcoin::Network::Regtest);
        assert_eq!(b.height, 0);
        assert_eq!(
            b.block_hash,
            bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest).block_hash()
        );
    }

    struct Count(std::cell::Cell<usize>);
    impl Listen for Count {
        fn filtered_block_connected(&self, _: &Header, txdata: &[(usize, &Transaction)], _: u32) {
            self.0.set(self.0.get() + txdata.len());
        }
        fn block_disconnected(&self, _: &Header, _: u32) {}
    }

    #[test]
    fn block_connected_passes_every_transaction_with_its_index() {
        let block = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest);
        let c = Count(std::cell::Cell::new(0));
        c.block_connected(&block, 0);
        assert_eq!(c.0.get(), 1);
    }
}
