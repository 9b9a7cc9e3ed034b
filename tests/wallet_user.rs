//! The README's ten-line wallet test: `lnkit::testing` used only
//! through its public API, as a wallet developer's own test would.

use lnkit::testing::Network;

#[test]
fn pays_an_invoice() {
    let mut net = Network::new(2);
    let chan = net.open_channel(0, 1, 1_000_000, 0); // funds, mines 6 blocks
    let invoice = net
        .node(1)
        .manager
        .create_bolt11_invoice(Some(50_000), "coffee", 3600)
        .unwrap();
    net.pay_invoice(0, &invoice).unwrap();
    assert_eq!(net.balance_msat(1, &chan), 50_000);
}
