//! KeysManager: deterministic BIP 32 derivation, node signatures, ECDH.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{ecdh::SharedSecret, Message, PublicKey, Scalar, Secp256k1, SecretKey};
use bitcoin::Amount;
use lnkit::sign::{
    ChannelSigner, EntropySource, KeysManager, NodeSigner, Recipient, SignerProvider,
};
use std::collections::HashSet;
use std::sync::Arc;

#[test]
fn same_seed_same_keys_across_runs() {
    let k1 = KeysManager::new(&[3; 32], 1_000, 5);
    let k2 = KeysManager::new(&[3; 32], 2_000, 6);
    assert_eq!(
        k1.node_id(Recipient::Node).unwrap(),
        k2.node_id(Recipient::Node).unwrap()
    );
    assert_eq!(k1.get_inbound_payment_key(), k2.get_inbound_payment_key());
    assert_eq!(
        k1.get_shutdown_scriptpubkey().unwrap(),
        k2.get_shutdown_scriptpubkey().unwrap()
    );
    let id = k1.generate_channel_keys_id(false, 42);
    assert_eq!(
        k1.get_destination_script(id).unwrap(),
        k2.get_destination_script(id).unwrap()
    );
    assert!(k1.get_destination_script(id).unwrap().is_p2wpkh());
    assert_ne!(
        k1.get_destination_script(id).unwrap(),
        k1.get_shutdown_scriptpubkey().unwrap()
    );
    let s1: Arc<dyn ChannelSigner> = k1.derive_channel_signer(Amount::from_sat(1_000_000), id);
    let s2 = k2.derive_channel_signer(Amount::from_sat(1_000_000), id);
    assert_eq!(s1.pubkeys(), s2.pubkeys());
    assert_eq!(s1.channel_keys_id(), id);

    let other = KeysManager::new(&[4; 32], 1_000, 5);
    assert_ne!(
        k1.node_id(Recipient::Node).unwrap(),
        other.node_id(Recipient::Node).unwrap()
    );
    assert_ne!(
        other.derive_channel_signer(Amount::ZERO, id).pubkeys(),
        s1.pubkeys()
    );
}

#[test]
fn keys_ids_and_random_bytes_are_unique() {
    let k1 = KeysManager::new(&[3; 32], 1_000, 5);
    let k2 = KeysManager::new(&[3; 32], 1_000, 6);
    let mut seen = HashSet::new();
    for i in 0..100u128 {
        assert!(seen.insert(k1.generate_channel_keys_id(false, i)));
        assert!(seen.insert(k2.generate_channel_keys_id(false, i)));
        assert!(seen.insert(lnkit::sign::ChannelKeysId(k1.get_secure_random_bytes())));
    }
    // Different keys ids give different channel keys; all five differ.
    let a = k1.derive_in_memory_signer(k1.generate_channel_keys_id(true, 1));
    let b = k1.derive_in_memory_signer(k1.generate_channel_keys_id(true, 1));
    assert_ne!(a.pubkeys().funding_pubkey, b.pubkeys().funding_pubkey);
    let p = a.pubkeys();
    let keys: HashSet<PublicKey> = [
        p.funding_pubkey,
        p.revocation_basepoint,
        p.payment_point,
        p.delayed_payment_basepoint,
        p.htlc_basepoint,
    ]
    .into();
    assert_eq!(keys.len(), 5);
}

#[test]
fn ecdh_is_sha256_of_shared_point_and_tweakable() {
    let secp = Secp256k1::new();
    let k = KeysManager::new(&[9; 32], 0, 0);
    let node_id = k.node_id(Recipient::Node).unwrap();
    let their_secret = SecretKey::from_slice(&[0x42; 32]).unwrap();
    let their_point = PublicKey::from_secret_key(&secp, &their_secret);
    // Symmetric: what the peer computes with our node id.
    let ours = k.ecdh(Recipient::Node, &their_point, None).unwrap();
    assert_eq!(
        ours,
        SharedSecret::new(&node_id, &their_secret).secret_bytes()
    );
    // And it is SHA256 of the compressed shared point (BOLT 8).
    let shared = node_id
        .mul_tweak(&secp, &Scalar::from(their_secret))
        .unwrap();
    assert_eq!(
        ours,
        sha256::Hash::hash(&shared.serialize()).to_byte_array()
    );
    // Tweaked: ECDH with node_secret * t.
    let t = Scalar::from_be_bytes([5; 32]).unwrap();
    let tweaked_id = node_id.mul_tweak(&secp, &t).unwrap();
    assert_eq!(
        k.ecdh(Recipient::Node, &their_point, Some(&t)).unwrap(),
        SharedSecret::new(&tweaked_id, &their_secret).secret_bytes()
    );
}

#[test]
fn node_signatures_verify() {
    let secp = Secp256k1::new();
    let k = KeysManager::new(&[9; 32], 0, 0);
    let node_id = k.node_id(Recipient::Node).unwrap();
    let hash = sha256::Hash::hash(b"gossip").to_byte_array();
    let sig = k.sign_gossip_message(&hash).unwrap();
    secp.verify_ecdsa(&Message::from_digest(hash), &sig, &node_id)
        .unwrap();

    let preimage = b"lnbc1pvjluez\x00\x01\x02";
    let rsig = k.sign_invoice(preimage).unwrap();
    let digest = sha256::Hash::hash(preimage).to_byte_array();
    assert_eq!(
        secp.recover_ecdsa(&Message::from_digest(digest), &rsig)
            .unwrap(),
        node_id
    );
}

#[test]
fn channel_signer_restores_through_the_provider() {
    use bitcoin::secp256k1::PublicKey as Pk;
    use lnkit::channel::script::CommitmentFormat;
    use lnkit::channel::tx::ChannelTransactionParameters;
    use lnkit::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
    use lnkit::sign::SignError;
    let k = KeysManager::new(&[3; 32], 1_000, 5);
    let peer = KeysManager::new(&[4; 32], 1_000, 5);
    let id = k.generate_channel_keys_id(false, 1);
    let signer = k.derive_channel_signer(Amount::from_sat(1_000_000), id);
    let other = peer.derive_channel_signer(
        Amount::from_sat(1_000_000),
        peer.generate_channel_keys_id(true, 1),
    );
    let params = ChannelTransactionParameters {
        holder_pubkeys: *signer.pubkeys(),
        counterparty_pubkeys: *other.pubkeys(),
        holder_selected_contest_delay: 144,
        counterparty_selected_contest_delay: 144,
        holder_dust_limit: Amount::from_sat(354),
        counterparty_dust_limit: Amount::from_sat(354),
        is_outbound_from_holder: true,
        funding_outpoint: bitcoin::OutPoint::null(),
        channel_value: Amount::from_sat(1_000_000),
        format: CommitmentFormat::Anchors,
    };
    let build = |n: u64| {
        let n = CommitmentNumber::new(n).unwrap();
        let pcp: Pk = signer.per_commitment_point(n).unwrap();
        params
            .build_holder_commitment(
                n,
                &pcp,
                MilliSatoshi(600_000_000),
                MilliSatoshi(400_000_000),
                FeeRatePerKw(253),
                &[],
            )
            .unwrap()
    };
    let (c0, c1) = (build(0), build(1));
    signer.validate_holder_commitment(&params, &c0).unwrap();
    signer.validate_holder_commitment(&params, &c1).unwrap();
    signer
        .release_commitment_secret(CommitmentNumber::ZERO)
        .unwrap();

    let bytes = signer.encode_signer();
    let restored = k.read_channel_signer(&bytes).unwrap();
    assert_eq!(restored.pubkeys(), signer.pubkeys());
    assert!(matches!(
        restored.sign_holder_commitment(&params, &c0),
        Err(SignError::HolderCommitmentRevoked { .. })
    ));
    assert!(restored.sign_holder_commitment(&params, &c1).is_ok());
    // Another seed's provider, trailing bytes and foreign keys are refused.
    assert!(peer.read_channel_signer(&bytes).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(k.read_channel_signer(&longer).is_err());
    let mut foreign = bytes.clone();
    foreign[40] ^= 1; // inside the funding secret
    assert!(k.read_channel_signer(&foreign).is_err());
}
