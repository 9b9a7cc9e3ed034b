//! Property tests for BOLT 11: random strings (and corrupted invoices) never
//! panic the parser, anything that parses prints back to itself, and built
//! invoices parse back to what was put in.

use lnkit::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lnkit::payment::invoice::{Bolt11Invoice, Currency, Description, InvoiceBuilder};
use lnkit::types::{PaymentHash, PaymentSecret};
use proptest::prelude::*;

const EXAMPLE: &str = "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_never_panic(s in ".{0,200}") {
        if let Ok(inv) = s.parse::<Bolt11Invoice>() {
            prop_assert_eq!(inv.to_string(), s);
        }
    }

    #[test]
    fn bech32_looking_strings_never_panic(s in "ln(bc|tb|bcrt|tbs)[0-9]{0,12}[munpx]?1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{0,400}") {
        if let Ok(inv) = s.parse::<Bolt11Invoice>() {
            prop_assert_eq!(inv.to_string(), s);
        }
    }

    #[test]
    fn corrupted_invoices_never_panic(pos in any::<prop::sample::Index>(), c in "[qpzry9x8gf2tvdw0s3jn54khce6mua7l1A-Z]") {
        let mut s = EXAMPLE.to_string();
        let i = pos.index(s.len());
        s.replace_range(i..i + 1, &c);
        if let Ok(inv) = s.parse::<Bolt11Invoice>() {
            prop_assert_eq!(inv.to_string(), s);
        }
    }

    #[test]
    fn built_invoices_parse_back(
        amount in proptest::option::of(1u64..(1 << 50)),
        timestamp in 0u64..(1 << 35),
        hash in any::<[u8; 32]>(),
        secret in any::<[u8; 32]>(),
        description in ".{0,100}",
        expiry in proptest::option::of(any::<u64>()),
        cltv in proptest::option::of(0u64..100_000),
        with_n in any::<bool>(),
        key in any::<[u8; 32]>().prop_filter_map("valid key", |b| SecretKey::from_slice(&b).ok()),
    ) {
        let secp = Secp256k1::new();
        let payee = PublicKey::from_secret_key(&secp, &key);
        let mut b = InvoiceBuilder::new(Currency::BitcoinTestnet)
            .timestamp_secs(timestamp)
            .payment_hash(PaymentHash(hash))
            .payment_secret(PaymentSecret(secret))
            .description(description.clone());
        if let Some(a) = amount { b = b.amount_msat(a); }
        if let Some(x) = expiry { b = b.expiry_secs(x); }
        if let Some(c) = cltv { b = b.min_final_cltv_expiry_delta(c); }
        if with_n { b = b.payee_pubkey(payee); }
        let inv = b.build_signed_with_key(&secp, &key).unwrap();
        let s = inv.to_string();
        let back: Bolt11Invoice = s.parse().unwrap();
        prop_assert_eq!(&back, &inv);
        prop_assert_eq!(back.to_string(), s.clone());
        prop_assert_eq!(back.amount_msat(), amount);
        prop_assert_eq!(back.timestamp_secs(), timestamp);
        prop_assert_eq!(back.payment_hash(), PaymentHash(hash));
        prop_assert_eq!(back.payment_secret(), PaymentSecret(secret));
        prop_assert_eq!(back.description(), &Description::Direct(description));
        prop_assert_eq!(back.expiry_secs(), expiry.unwrap_or(3600));
        prop_assert_eq!(back.min_final_cltv_expiry_delta(), cltv.unwrap_or(18));
        prop_assert_eq!(back.payee_pubkey(), payee);
        // Upper case (for QR codes) parses to the same invoice and prints as given.
        let upper = s.to_uppercase();
        let up: Bolt11Invoice = upper.parse().unwrap();
        prop_assert_eq!(up.payment_hash(), inv.payment_hash());
        prop_assert_eq!(up.to_string(), upper);
    }
}
