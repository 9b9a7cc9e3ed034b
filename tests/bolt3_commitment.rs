//! BOLT 3 Appendix B (funding script), C (static_remotekey) and F (anchors):
//! every commitment transaction and HTLC transaction, byte for byte, with
//! every signature, built and signed by both sides' signers.

#[path = "vectors/bolt03.rs"]
mod vectors;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, SecretKey};
use bitcoin::{Amount, OutPoint, Txid};
use lnkit::channel::script::CommitmentFormat;
use lnkit::channel::tx::{ChannelTransactionParameters, Htlc, HtlcDirection};
use lnkit::channel::{CommitmentNumber, FeeRatePerKw, MilliSatoshi};
use lnkit::sign::{ChannelKeysId, ChannelSigner, InMemorySigner};
use lnkit::types::{PaymentHash, PaymentPreimage};
use vectors::*;

fn h32(s: &str) -> [u8; 32] {
    let v: Vec<u8> = hex::FromHex::from_hex(s).expect("hex");
    v.try_into().expect("32 bytes")
}
fn pk(s: &str) -> PublicKey {
    s.parse().expect("pubkey")
}
fn sk(s: &str) -> SecretKey {
    s.parse().expect("secret key")
}
fn der(sig: &bitcoin::secp256k1::ecdsa::Signature) -> String {
    hex::DisplayHex::to_lower_hex_string(&sig.serialize_der()[..])
}

struct Setup {
    local: InMemorySigner,
    remote: InMemorySigner,
    local_params: ChannelTransactionParameters,
    remote_params: ChannelTransactionParameters,
}

fn setup(format: CommitmentFormat, dust_limit_sat: u64) -> Setup {
    // The spec does not give local's revocation basepoint secret nor
    // remote's delayed payment basepoint secret: neither appears in a local
    // commitment, so any key serves.
    let unused = SecretKey::from_slice(&[0x55; 32]).unwrap();
    let local = InMemorySigner::new(
        sk(LOCAL_FUNDING_PRIVKEY),
        unused,
        sk(LOCAL_PAYMENT_BASEPOINT_SECRET),
        sk(LOCAL_DELAYED_PAYMENT_BASEPOINT_SECRET),
        // local_htlc_basepoint == local_payment_basepoint in the vectors
        sk(LOCAL_PAYMENT_BASEPOINT_SECRET),
        [1; 32],
        ChannelKeysId([1; 32]),
    );
    let remote = InMemorySigner::new(
        sk(REMOTE_FUNDING_PRIVKEY),
        sk(REMOTE_REVOCATION_BASEPOINT_SECRET),
        sk(REMOTE_PAYMENT_BASEPOINT_SECRET),
        unused,
        sk(REMOTE_PAYMENT_BASEPOINT_SECRET),
        [2; 32],
        ChannelKeysId([2; 32]),
    );
    assert_eq!(local.pubkeys().funding_pubkey, pk(LOCAL_FUNDING_PUBKEY));
    assert_eq!(local.pubkeys().payment_point, pk(LOCAL_PAYMENT_BASEPOINT));
    assert_eq!(
        local.pubkeys().delayed_payment_basepoint,
        pk(LOCAL_DELAYED_PAYMENT_BASEPOINT)
    );
    assert_eq!(remote.pubkeys().funding_pubkey, pk(REMOTE_FUNDING_PUBKEY));
    assert_eq!(remote.pubkeys().payment_point, pk(REMOTE_PAYMENT_BASEPOINT));
    assert_eq!(
        remote.pubkeys().revocation_basepoint,
        pk(REMOTE_REVOCATION_BASEPOINT)
    );
    let local_params = ChannelTransactionParameters {
        holder_pubkeys: *local.pubkeys(),
        counterparty_pubkeys: *remote.pubkeys(),
        holder_selected_contest_delay: 6,
        counterparty_selected_contest_delay: TO_SELF_DELAY,
        holder_dust_limit: Amount::from_sat(dust_limit_sat),
        counterparty_dust_limit: Amount::from_sat(354),
        is_outbound_from_holder: true,
        funding_outpoint: OutPoint {
            txid: FUNDING_TXID.parse::<Txid>().unwrap(),
            vout: FUNDING_OUTPUT_INDEX,
        },
        channel_value: Amount::from_sat(FUNDING_SATOSHIS),
        format,
    };
    let remote_params = local_params.mirrored();
    Setup {
        local,
        remote,
        local_params,
        remote_params,
    }
}

fn htlcs_for(ids: &[u64], holder_is_local: bool) -> (Vec<Htlc>, Vec<PaymentPreimage>) {
    let mut htlcs = Vec::new();
    let mut preimages = Vec::new();
    for id in ids {
        let (_, offered_by_local, amount, expiry, preimage) = HTLCS[*id as usize];
        let preimage = PaymentPreimage(h32(preimage));
        let direction = if offered_by_local == holder_is_local {
            HtlcDirection::HolderOffered
        } else {
            HtlcDirection::CounterpartyOffered
        };
        htlcs.push(Htlc {
            direction,
            amount: MilliSatoshi(amount),
            cltv_expiry: expiry,
            payment_hash: PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array()),
        });
        preimages.push(preimage);
    }
    (htlcs, preimages)
}

#[test]
fn bolt3_appendix_b_funding_script_and_obscuring() {
    let s = setup(CommitmentFormat::StaticRemoteKey, LOCAL_DUST_LIMIT_SAT);
    let script = s.local_params.funding_script();
    assert_eq!(
        hex::DisplayHex::to_lower_hex_string(script.as_bytes()),
        FUNDING_WITNESS_SCRIPT
    );
    assert_eq!(s.remote_params.funding_script(), script);
    assert_eq!(
        s.local_params.obscure_factor() ^ COMMITMENT_NUMBER,
        OBSCURED_COMMITMENT_NUMBER
    );
    assert_eq!(
        s.remote_params.obscure_factor(),
        s.local_params.obscure_factor()
    );
}

fn run(cases: &[CommitmentCase], format: CommitmentFormat) -> (usize, usize) {
    let pcp = pk(LOCAL_PER_COMMITMENT_POINT);
    let number = CommitmentNumber::new(COMMITMENT_NUMBER).unwrap();
    let mut htlc_txs_checked = 0;
    for case in cases {
        let s = setup(format, case.dust_limit_sat);
        let feerate = FeeRatePerKw(case.feerate_per_kw);
        let (local_htlcs, preimages) = htlcs_for(case.htlc_ids, true);
        let (remote_htlcs, _) = htlcs_for(case.htlc_ids, false);

        let holder_tx = s
            .local_params
            .build_holder_commitment(
                number,
                &pcp,
                MilliSatoshi(case.to_local_msat),
                MilliSatoshi(case.to_remote_msat),
                feerate,
                &local_htlcs,
            )
            .unwrap();
        // The remote builds the same transaction as *its* counterparty commitment.
        let remote_view = s
            .remote_params
            .build_counterparty_commitment(
                number,
                &pcp,
                MilliSatoshi(case.to_remote_msat),
                MilliSatoshi(case.to_local_msat),
                feerate,
                &remote_htlcs,
            )
            .unwrap();
        assert_eq!(
            remote_view.transaction(),
            holder_tx.transaction(),
            "{}: mirrored build",
            case.name
        );
        assert_eq!(holder_tx.keys().revocation_key, pk(LOCAL_REVOCATION_PUBKEY));
        // HTLC keys are derived only when some HTLC gets an output.
        match holder_tx.keys().htlc {
            Some(h) => {
                assert_eq!(h.broadcaster, pk(LOCAL_HTLCPUBKEY));
                assert_eq!(h.countersignatory, pk(REMOTE_HTLCPUBKEY));
            }
            None => assert!(holder_tx.htlcs().is_empty(), "{}", case.name),
        }
        assert_eq!(
            holder_tx.keys().broadcaster_delayed_payment_key,
            pk(LOCAL_DELAYEDPUBKEY)
        );

        let remote_sigs = s
            .remote
            .sign_counterparty_commitment(&s.remote_params, &remote_view)
            .unwrap();
        assert_eq!(
            der(&remote_sigs.commitment),
            case.remote_sig,
            "{}: remote signature",
            case.name
        );
        let local_sig = s
            .local
            .sign_holder_commitment(&s.local_params, &holder_tx)
            .unwrap();
        if let Some(expected) = case.local_sig {
            assert_eq!(der(&local_sig), expected, "{}: local signature", case.name);
        }
        holder_tx
            .verify_counterparty_signatures(
                &s.local_params,
                &remote_sigs.commitment,
                &remote_sigs.htlcs,
            )
            .unwrap();
        let signed =
            holder_tx.signed_transaction(&s.local_params, &local_sig, &remote_sigs.commitment);
        assert_eq!(
            serialize_hex(&signed),
            case.tx_hex,
            "{}: commitment tx",
            case.name
        );

        assert_eq!(
            holder_tx.htlcs().len(),
            case.htlc_txs.len(),
            "{}: untrimmed htlcs",
            case.name
        );
        assert_eq!(remote_sigs.htlcs.len(), case.htlc_txs.len());
        let local_htlc_sigs = s
            .local
            .sign_holder_htlc_transactions(&s.local_params, &holder_tx)
            .unwrap();
        for (i, expected) in case.htlc_txs.iter().enumerate() {
            let out = &holder_tx.htlcs()[i];
            if expected.output_index != u32::MAX {
                assert_eq!(
                    out.output_index, expected.output_index,
                    "{}: htlc {i}",
                    case.name
                );
            }
            assert_eq!(
                der(&remote_sigs.htlcs[i]),
                expected.remote_sig,
                "{}: remote htlc sig {i}",
                case.name
            );
            if let Some(l) = expected.local_sig {
                assert_eq!(
                    der(&local_htlc_sigs[i]),
                    l,
                    "{}: local htlc sig {i}",
                    case.name
                );
            }
            let preimage = preimages[out.source_index];
            let tx = holder_tx
                .signed_htlc_transaction(
                    i,
                    &local_htlc_sigs[i],
                    &remote_sigs.htlcs[i],
                    Some(&preimage),
                )
                .unwrap();
            assert_eq!(
                serialize_hex(&tx),
                expected.tx_hex,
                "{}: htlc tx {i}",
                case.name
            );
            htlc_txs_checked += 1;
        }
    }
    (cases.len(), htlc_txs_checked)
}

#[test]
fn bolt3_appendix_c_static_remotekey_vectors() {
    assert_eq!(
        run(STATIC_REMOTEKEY, CommitmentFormat::StaticRemoteKey),
        (16, 33)
    );
}

#[test]
fn bolt3_appendix_f_anchors_vectors() {
    assert_eq!(run(ANCHORS, CommitmentFormat::Anchors), (9, 15));
}

#[test]
fn bolt3_appendix_b_funding_transaction_pays_the_funding_script() {
    use bitcoin::consensus::deserialize;
    let bytes: Vec<u8> = hex::FromHex::from_hex(FUNDING_TX_HEX).unwrap();
    let tx: bitcoin::Transaction = deserialize(&bytes).unwrap();
    assert_eq!(tx.compute_txid(), FUNDING_TXID.parse::<Txid>().unwrap());
    let s = setup(CommitmentFormat::StaticRemoteKey, LOCAL_DUST_LIMIT_SAT);
    let out = &tx.output[FUNDING_OUTPUT_INDEX as usize];
    assert_eq!(out.value.to_sat(), FUNDING_TX_FUNDING_SATOSHIS);
    assert_eq!(
        out.script_pubkey,
        bitcoin::ScriptBuf::new_p2wsh(&s.local_params.funding_script().wscript_hash())
    );
    assert_eq!(tx.output[1].value.to_sat(), FUNDING_TX_CHANGE_SATOSHIS);
    // The fee is the fee rate applied to the (non-witness) funding tx weight.
    let fee = 5_000_000_000 - FUNDING_TX_FUNDING_SATOSHIS - FUNDING_TX_CHANGE_SATOSHIS;
    assert_eq!(
        fee,
        FeeRatePerKw(FUNDING_TX_FEERATE_PER_KW)
            .fee_for_weight(tx.weight().to_wu())
            .to_sat()
    );
}

#[test]
fn channel_signer_is_object_safe_send_sync() {
    fn assert_send_sync<T: Send + Sync + ?Sized>() {}
    assert_send_sync::<dyn ChannelSigner>();
    let s = setup(CommitmentFormat::Anchors, 546);
    let boxed: std::sync::Arc<dyn ChannelSigner> = std::sync::Arc::new(s.local);
    assert_eq!(boxed.channel_keys_id(), ChannelKeysId([1; 32]));
}
