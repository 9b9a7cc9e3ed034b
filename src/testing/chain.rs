//! [`MockChain`]: a regtest block chain in memory.

use crate::chain::{BestBlock, BroadcasterInterface, Listen};
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::opcodes::all::{OP_PUSHNUM_1, OP_RETURN};
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence,
    Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

/// Something that wants every block of a [`MockChain`].
pub type ChainListener = Arc<dyn Listen + Send + Sync>;

struct ChainState {
    /// The best chain; `blocks[h]` is the block at height `h` (0 is the
    /// regtest genesis block).
    blocks: Vec<Block>,
    mempool: Vec<Transaction>,
    broadcast: Vec<Transaction>,
    /// Makes coinbases of competing blocks at one height differ.
    salt: u64,
}

/// A regtest chain in memory that mines real [`bitcoin::Block`]s: a BIP 34
/// coinbase, a BIP 141 witness commitment, a valid merkle root, the
/// previous block's hash, and proof of work at the regtest target.
///
/// It is also a [`BroadcasterInterface`]: whatever is broadcast goes to
/// its mempool, and [`mine_blocks`](Self::mine_blocks) confirms the
/// mempool. Registered [`Listen`]ers get every block connected and
/// disconnected, in order. It checks no scripts, amounts or double spends:
/// it confirms what it is given, as a test wants.
///
/// No lock is held while listeners run, so a listener may broadcast (a
/// justice transaction, say) from inside a block callback.
pub struct MockChain {
    state: Mutex<ChainState>,
    listeners: Mutex<Vec<ChainListener>>,
}

impl Default for MockChain {
    fn default() -> Self {
        Self::new()
    }
}

impl MockChain {
    /// A chain holding only the regtest genesis block.
    pub fn new() -> Self {
        MockChain {
            state: Mutex::new(ChainState {
                blocks: vec![bitcoin::blockdata::constants::genesis_block(
                    bitcoin::Network::Regtest,
                )],
                mempool: Vec::new(),
                broadcast: Vec::new(),
                salt: 0,
            }),
            listeners: Mutex::new(Vec::new()),
        }
    }

    fn state(&self) -> MutexGuard<'_, ChainState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends every later block to `listener` (it should start at
    /// [`best_block`](Self::best_block)).
    pub fn register_listener(&self, listener: ChainListener) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }

    fn listeners(&self) -> Vec<ChainListener> {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The tip.
    pub fn best_block(&self) -> BestBlock {
        let s = self.state();
        let tip = s.blocks.last().expect("the genesis block is never removed");
        BestBlock {
            block_hash: tip.block_hash(),
            height: (s.blocks.len() - 1) as u32,
        }
    }

    /// The tip's height.
    pub fn height(&self) -> u32 {
        self.best_block().height
    }

    /// The block at `height` on the best chain.
    pub fn block(&self, height: u32) -> Option<Block> {
        self.state().blocks.get(height as usize).cloned()
    }

    /// The transactions waiting to be mined.
    pub fn mempool(&self) -> Vec<Transaction> {
        self.state().mempool.clone()
    }

    /// Every transaction ever broadcast, in order.
    pub fn broadcast_history(&self) -> Vec<Transaction> {
        self.state().broadcast.clone()
    }

    /// The confirmations of `txid` on the best chain (1 in the tip), or
    /// `None` if it is not confirmed.
    pub fn confirmations(&self, txid: &Txid) -> Option<u32> {
        let s = self.state();
        let tip = s.blocks.len() - 1;
        s.blocks.iter().enumerate().rev().find_map(|(h, b)| {
            b.txdata
                .iter()
                .any(|t| t.compute_txid() == *txid)
                .then_some((tip - h + 1) as u32)
        })
    }

    /// Mines `n` blocks; the first confirms the whole mempool. Returns the
    /// new blocks' hashes. Listeners hear of each block after it is added.
    pub fn mine_blocks(&self, n: u32) -> Vec<BlockHash> {
        let mut hashes = Vec::with_capacity(n as usize);
        for i in 0..n {
            let txs = if i == 0 {
                std::mem::take(&mut self.state().mempool)
            } else {
                Vec::new()
            };
            hashes.push(self.mine_block_with(txs));
        }
        hashes
    }

    /// Mines one block holding exactly `txs` (after the coinbase),
    /// leaving the mempool alone except for removing `txs` from it.
    pub fn mine_block_with(&self, txs: Vec<Transaction>) -> BlockHash {
        let (block, height) = {
            let mut s = self.state();
            let ids: HashSet<Txid> = txs.iter().map(|t| t.compute_txid()).collect();
            s.mempool.retain(|t| !ids.contains(&t.compute_txid()));
            s.salt += 1;
            let height = s.blocks.len() as u32;
            let prev = s.blocks.last().expect("genesis").header;
            let block = build_block(&prev, height, s.salt, txs);
            s.blocks.push(block.clone());
            (block, height)
        };
        for l in self.listeners() {
            l.block_connected(&block, height);
        }
        block.block_hash()
    }

    /// Disconnects the top `depth` blocks (never the genesis block),
    /// telling listeners tip first; their transactions go back to the
    /// front of the mempool. Returns the disconnected blocks, tip first.
    pub fn disconnect_blocks(&self, depth: u32) -> Vec<Block> {
        let mut gone = Vec::new();
        for _ in 0..depth {
            let popped = {
                let mut s = self.state();
                if s.blocks.len() <= 1 {
                    None
                } else {
                    let b = s.blocks.pop().expect("checked");
                    let h = s.blocks.len() as u32;
                    let mut back: Vec<Transaction> = b.txdata[1..].to_vec();
                    back.append(&mut s.mempool);
                    s.mempool = back;
                    Some((b, h))
                }
            };
            let Some((b, h)) = popped else { break };
            for l in self.listeners() {
                l.block_disconnected(&b.header, h);
            }
            gone.push(b);
        }
        gone
    }

    /// A reorg: disconnects `depth` blocks, then mines `depth + 1` empty
    /// blocks on the new tip, so the new chain is longer and the
    /// reorged-out transactions wait in the mempool (mine again to
    /// confirm them).
    pub fn reorg(&self, depth: u32) -> Vec<BlockHash> {
        self.disconnect_blocks(depth);
        (0..=depth)
            .map(|_| self.mine_block_with(Vec::new()))
            .collect()
    }
}

impl BroadcasterInterface for MockChain {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        let mut s = self.state();
        for tx in txs {
            s.broadcast.push((*tx).clone());
            let txid = tx.compute_txid();
            if !s.mempool.iter().any(|t| t.compute_txid() == txid) {
                s.mempool.push((*tx).clone());
            }
        }
    }
}

/// The 32-byte witness reserved value our coinbases commit with.
const WITNESS_RESERVED: [u8; 32] = [0; 32];

fn build_block(prev: &Header, height: u32, salt: u64, txs: Vec<Transaction>) -> Block {
    // BIP 34: the coinbase script starts with the height, encoded as
    // Bitcoin Core's `CScript() << height` (OP_1..OP_16 for small heights);
    // the salt makes competing blocks differ.
    let script_sig = Builder::new()
        .push_int(height as i64)
        .push_int((salt & 0x7fff_ffff) as i64)
        .into_script();
    let mut witness = Witness::new();
    witness.push(WITNESS_RESERVED);
    let coinbase = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness,
        }],
        output: vec![TxOut {
            value: Amount::from_int_btc(50),
            script_pubkey: Builder::new().push_opcode(OP_PUSHNUM_1).into_script(),
        }],
    };
    let mut txdata = Vec::with_capacity(txs.len() + 1);
    txdata.push(coinbase);
    txdata.extend(txs);
    let mut block = Block {
        header: Header {
            version: BlockVersion::from_consensus(0x2000_0000),
            prev_blockhash: prev.block_hash(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: prev.time + 600,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        },
        txdata,
    };
    // BIP 141 witness commitment (the coinbase's own wtxid counts as zero,
    // so adding this output does not change the witness root).
    let root = block.witness_root().expect("a block has a coinbase");
    let commitment = Block::compute_witness_commitment(&root, &WITNESS_RESERVED);
    let mut data = PushBytesBuf::new();
    data.extend_from_slice(&[0xaa, 0x21, 0xa9, 0xed])
        .expect("short");
    data.extend_from_slice(commitment.as_byte_array())
        .expect("short");
    block.txdata[0].output.push(TxOut {
        value: Amount::ZERO,
        script_pubkey: Builder::new()
            .push_opcode(OP_RETURN)
            .push_slice(data)
            .into_script(),
    });
    block.header.merkle_root = block.compute_merkle_root().expect("a block has a coinbase");
    // Regtest proof of work: about two tries.
    let target = block.header.target();
    while block.header.validate_pow(target).is_err() {
        block.header.nonce += 1;
    }
    block
}

/// A script anyone can spend (`OP_TRUE`), handy for test outputs.
pub fn anyone_can_spend_script() -> ScriptBuf {
    Builder::new().push_opcode(OP_PUSHNUM_1).into_script()
}
