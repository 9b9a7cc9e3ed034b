//! Fuzz entry points for the routing module.

use crate::codec::Writeable;
use crate::gossip::NetworkGraph;
use crate::routing::{ProbabilisticScorer, ScoringParameters};
use std::sync::Arc;

/// Reads persisted scorer state from arbitrary bytes; whatever decodes must
/// re-encode to bytes that decode to the same state.
pub fn fuzz_scorer_read(data: &[u8]) {
    let graph = Arc::new(NetworkGraph::new(
        bitcoin::blockdata::constants::ChainHash::BITCOIN,
    ));
    if let Ok(s) =
        ProbabilisticScorer::read_from(&mut &data[..], ScoringParameters::default(), graph.clone())
    {
        let bytes = s.encode();
        let again =
            ProbabilisticScorer::read_from(&mut &bytes[..], ScoringParameters::default(), graph)
                .expect("own encoding must decode");
        assert_eq!(again.encode(), bytes);
    }
}
