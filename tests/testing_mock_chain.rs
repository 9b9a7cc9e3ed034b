//! lnkit::testing::MockChain through its public API: real blocks, the
//! mempool, listeners, reorgs.
#![cfg(feature = "testing")]

use bitcoin::block::Header;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{absolute::LockTime, Amount, OutPoint, Sequence, Transaction, TxIn, TxOut, Witness};
use lnkit::chain::{BroadcasterInterface, Listen};
use lnkit::testing::{anyone_can_spend_script, MockChain};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);
impl Listen for Recorder {
    fn filtered_block_connected(
        &self,
        header: &Header,
        txdata: &[(usize, &Transaction)],
        height: u32,
    ) {
        self.0.lock().unwrap().push(format!(
            "+{height} {} {}",
            &header.block_hash().to_string()[..8],
            txdata.len()
        ));
    }
    fn block_disconnected(&self, header: &Header, height: u32) {
        self.0.lock().unwrap().push(format!(
            "-{height} {}",
            &header.block_hash().to_string()[..8]
        ));
    }
}

fn spend(prev: OutPoint, tag: u8) -> Transaction {
    let mut w = Witness::new();
    w.push([tag]);
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: prev,
            script_sig: Default::default(),
            sequence: Sequence::MAX,
            witness: w,
        }],
        output: vec![TxOut {
            value: Amount::from_sat(1000),
            script_pubkey: anyone_can_spend_script(),
        }],
    }
}

#[test]
fn mock_chain_mines_valid_linked_blocks_confirming_the_mempool() {
    let chain = MockChain::new();
    assert_eq!(chain.height(), 0);
    chain.mine_blocks(3);
    let coinbase = chain.block(1).unwrap().txdata[0].compute_txid();
    let tx = spend(
        OutPoint {
            txid: coinbase,
            vout: 0,
        },
        1,
    );
    chain.broadcast_transactions(&[&tx, &tx]);
    assert_eq!(chain.mempool().len(), 1);
    chain.mine_blocks(2);
    assert!(chain.mempool().is_empty());
    assert_eq!(chain.height(), 5);
    assert_eq!(chain.confirmations(&tx.compute_txid()), Some(2));
    assert_eq!(chain.block(4).unwrap().txdata[1], tx);
    for h in 1..=5u32 {
        let b = chain.block(h).unwrap();
        let prev = chain.block(h - 1).unwrap();
        assert_eq!(b.header.prev_blockhash, prev.block_hash());
        assert!(b.check_merkle_root());
        assert!(b.check_witness_commitment());
        assert!(b.header.validate_pow(b.header.target()).is_ok());
        assert!(b.header.time > prev.header.time);
    }
    // BIP 34 heights are encoded as Bitcoin Core does (`CScript() << h`:
    // OP_1..OP_16 below 17, which rust-bitcoin's parser does not read), so
    // check a later one.
    chain.mine_blocks(15);
    assert_eq!(chain.block(20).unwrap().bip34_block_height().unwrap(), 20);
    assert_eq!(
        chain.best_block().block_hash,
        chain.block(20).unwrap().block_hash()
    );
    assert_eq!(chain.broadcast_history().len(), 2);
}

#[test]
fn mock_chain_reorg_disconnects_and_replaces_blocks_for_listeners() {
    let chain = MockChain::new();
    let rec = Arc::new(Recorder::default());
    chain.register_listener(rec.clone());
    chain.mine_blocks(2);
    let tx = spend(
        OutPoint {
            txid: bitcoin::Txid::from_byte_array([5; 32]),
            vout: 0,
        },
        2,
    );
    chain.broadcast_transactions(&[&tx]);
    chain.mine_blocks(1);
    let old_tip = chain.best_block();
    let old3 = chain.block(3).unwrap().block_hash();
    assert_eq!(chain.confirmations(&tx.compute_txid()), Some(1));

    let new = chain.reorg(2);
    assert_eq!(new.len(), 3);
    assert_eq!(chain.height(), 4);
    assert_ne!(chain.block(3).unwrap().block_hash(), old3);
    assert_ne!(chain.best_block(), old_tip);
    assert_eq!(chain.confirmations(&tx.compute_txid()), None);
    assert_eq!(chain.mempool(), vec![tx.clone()]);
    let log = rec.0.lock().unwrap().clone();
    let short = |h: bitcoin::BlockHash| h.to_string()[..8].to_string();
    assert_eq!(log.len(), 3 + 2 + 3);
    assert_eq!(log[3], format!("-3 {}", short(old3)));
    assert!(log[4].starts_with("-2 "));
    assert_eq!(log[5], format!("+2 {} 1", short(new[0])));
    assert_eq!(log[7], format!("+4 {} 1", short(new[2])));
    // Mining again confirms the reorged-out transaction on the new chain.
    chain.mine_blocks(1);
    assert_eq!(chain.confirmations(&tx.compute_txid()), Some(1));
    // The genesis block is never disconnected.
    assert_eq!(chain.disconnect_blocks(100).len(), 5);
    assert_eq!(chain.height(), 0);
}

#[test]
fn mock_chain_listener_may_broadcast_from_a_block_callback() {
    struct Echo(Arc<MockChain>, Mutex<bool>);
    impl Listen for Echo {
        fn filtered_block_connected(&self, _: &Header, txdata: &[(usize, &Transaction)], _: u32) {
            let mut done = self.1.lock().unwrap();
            if !*done && txdata.len() > 1 {
                *done = true;
                let prev = OutPoint {
                    txid: txdata[1].1.compute_txid(),
                    vout: 0,
                };
                self.0.broadcast_transactions(&[&spend(prev, 9)]);
            }
        }
        fn block_disconnected(&self, _: &Header, _: u32) {}
    }
    let chain = Arc::new(MockChain::new());
    chain.register_listener(Arc::new(Echo(chain.clone(), Mutex::new(false))));
    let tx = spend(OutPoint::null(), 3);
    chain.broadcast_transactions(&[&tx]);
    chain.mine_blocks(1);
    assert_eq!(chain.mempool().len(), 1);
    chain.mine_blocks(1);
    assert_eq!(chain.block(2).unwrap().txdata.len(), 2);
}
