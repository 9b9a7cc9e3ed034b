//! Fuzz entry points for the gossip module.

use crate::codec::{Readable, Writeable};
use crate::gossip::NetworkGraph;

/// Deserializes a graph from arbitrary bytes; whatever decodes must
/// re-encode to a form that decodes to the same graph.
pub fn fuzz_graph_read(data: &[u8]) {
    let mut slice = data;
    if let Ok(graph) = NetworkGraph::read(&mut slice) {
        let bytes = graph.encode();
        let again = NetworkGraph::read(&mut &bytes[..]).expect("own encoding must decode");
        assert_eq!(again.encode(), bytes);
        let ro = again.read_only();
        assert_eq!(ro.channel_count(), graph.read_only().channel_count());
    }
}
