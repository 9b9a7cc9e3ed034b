//! Two full nodes through `lnkit::testing::Network`: open, pay, close.

use lnkit::manager::Event;
use lnkit::testing::Network;

#[test]
fn open_pay_and_close() {
    let mut net = Network::new(2);
    net.connect(0, 1);
    let chan = net.open_channel(0, 1, 1_000_000, 0);
    let a0 = net.balance_msat(0, &chan);
    let invoice = net
        .node(1)
        .manager
        .create_bolt11_invoice(Some(50_000), "coffee", 3600)
        .unwrap();
    net.pay_invoice(0, &invoice).unwrap();
    assert_eq!(net.balance_msat(1, &chan), 50_000);
    assert_eq!(net.balance_msat(0, &chan), a0 - 50_000);
    assert!(net.take_events(1).iter().any(|e| matches!(
        e,
        Event::PaymentClaimed {
            amount_msat: 50_000,
            ..
        }
    )));
    let b = net.node(1).node_id;
    net.node(0).manager.close_channel(&chan, &b).unwrap();
    net.pump();
    assert!(net
        .take_events(0)
        .iter()
        .any(|e| matches!(e, Event::ChannelClosed { .. })));
    assert!(net.node(0).manager.list_channels().is_empty());
}
