//! `routing` bench (BENCHMARKS.md): load the route-bench graph through the
//! trusted insertion path, run the queries with MPP and with one path, and
//! measure graph memory, serialization and reload. Also measures
//! channel_announcement validation throughput (signatures included).
//!
//! Inputs: `ROUTE_GRAPH` / `ROUTE_QUERIES` env vars, else
//! `../shared/route-bench/graph-12k.jsonl` and `route-queries.jsonl`.
//! `ROUTE_MAX_QUERIES=N` runs only the first N queries; `ROUTE_VERBOSE=1`
//! prints each query's time and path count on stderr.

use lnkit::codec::{Readable, Writeable};
use lnkit::gossip::{NetworkGraph, NodeAnnouncementInfo, NodeId, UnsignedPolicy};
use lnkit::logger::NullLogger;
use lnkit::routing::{
    find_route, PaymentParameters, ProbabilisticScorer, RouteParameters, ScoringParameters,
};
use lnkit::types::{Point, ShortChannelId};
use std::sync::Arc;
use std::time::Instant;

// ---- a tiny JSON reader for the bench's line format -----------------------

#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    Num(u64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(v) => v
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v)
                .unwrap_or(&Json::Null),
            _ => &Json::Null,
        }
    }
    fn u64(&self) -> u64 {
        match self {
            Json::Num(n) => *n,
            other => panic!("expected a number, got {other:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("expected a string, got {other:?}"),
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.b[self.i] {
            b'{' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.b[self.i] == b'}' {
                        self.i += 1;
                        break;
                    }
                    let Json::Str(k) = self.value() else {
                        panic!("object key")
                    };
                    self.ws();
                    assert_eq!(self.b[self.i], b':');
                    self.i += 1;
                    let val = self.value();
                    v.push((k, val));
                    self.ws();
                    if self.b[self.i] == b',' {
                        self.i += 1;
                    }
                }
                Json::Obj(v)
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.b[self.i] == b']' {
                        self.i += 1;
                        break;
                    }
                    v.push(self.value());
                    self.ws();
                    if self.b[self.i] == b',' {
                        self.i += 1;
                    }
                }
                Json::Arr(v)
            }
            b'"' => {
                self.i += 1;
                let start = self.i;
                while self.b[self.i] != b'"' {
                    self.i += 1;
                }
                let s = String::from_utf8(self.b[start..self.i].to_vec()).expect("utf8");
                self.i += 1;
                Json::Str(s)
            }
            b'n' => {
                self.i += 4;
                Json::Null
            }
            b't' => {
                self.i += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Json::Bool(false)
            }
            _ => {
                let mut n = 0u64;
                while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
                    n = n * 10 + (self.b[self.i] - b'0') as u64;
                    self.i += 1;
                }
                Json::Num(n)
            }
        }
    }
}

fn parse(line: &str) -> Json {
    Parser {
        b: line.as_bytes(),
        i: 0,
    }
    .value()
}

// ---- bench data -------------------------------------------------------------

struct Policy {
    base: u32,
    ppm: u32,
    cltv: u16,
    min: u64,
    max: u64,
    disabled: bool,
}
struct Chan {
    scid: u64,
    n1: usize,
    n2: usize,
    cap_sat: u64,
    p: [Option<Policy>; 2],
}
struct Query {
    src: usize,
    dst: usize,
    amount_msat: u64,
    final_cltv: u32,
}

fn point(hex_str: &str) -> Point {
    let mut b = [0u8; 33];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex_str[2 * i..2 * i + 2], 16).expect("hex");
    }
    Point::from_bytes(b).expect("point")
}

fn policy(j: &Json) -> Option<Policy> {
    if let Json::Null = j {
        return None;
    }
    Some(Policy {
        base: j.get("base").u64() as u32,
        ppm: j.get("ppm").u64() as u32,
        cltv: j.get("cltv").u64() as u16,
        min: j.get("min").u64(),
        max: j.get("max").u64(),
        disabled: matches!(j.get("disabled"), Json::Bool(true)),
    })
}

/// Nodes (id, feature bits), channels and queries of the bench files.
type BenchData = (Vec<(Point, Vec<u64>)>, Vec<Chan>, Vec<Query>);

fn load(graph_path: &str, query_path: &str) -> BenchData {
    let text = std::fs::read_to_string(graph_path).expect("graph file");
    let mut nodes = Vec::new();
    let mut chans = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let j = parse(line);
        match j.get("type").str() {
            "node" => {
                let feats = match j.get("features") {
                    Json::Arr(v) => v.iter().map(|x| x.u64()).collect(),
                    _ => Vec::new(),
                };
                nodes.push((point(j.get("id").str()), feats));
            }
            "channel" => chans.push(Chan {
                scid: j.get("scid").u64(),
                n1: j.get("n1").u64() as usize,
                n2: j.get("n2").u64() as usize,
                cap_sat: j.get("cap_sat").u64(),
                p: [policy(j.get("p12")), policy(j.get("p21"))],
            }),
            _ => {}
        }
    }
    let qtext = std::fs::read_to_string(query_path).expect("queries file");
    let queries = qtext
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let j = parse(l);
            Query {
                src: j.get("src").u64() as usize,
                dst: j.get("dst").u64() as usize,
                amount_msat: j.get("amount_msat").u64(),
                final_cltv: j.get("final_cltv_delta").u64() as u32,
            }
        })
        .collect();
    (nodes, chans, queries)
}

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.3} {unit}");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn build(nodes: &[(Point, Vec<u64>)], chans: &[Chan], now: u32) -> NetworkGraph {
    let graph = NetworkGraph::new(bitcoin::blockdata::constants::ChainHash::BITCOIN);
    for c in chans {
        let scid = ShortChannelId(c.scid);
        graph
            .add_channel_unchecked(scid, nodes[c.n1].0, nodes[c.n2].0, Some(c.cap_sat), now)
            .expect("add channel");
        for (dir, p) in c.p.iter().enumerate() {
            if let Some(p) = p {
                graph
                    .update_channel_unchecked(&UnsignedPolicy {
                        short_channel_id: scid,
                        direction: dir as u8,
                        timestamp: now,
                        enabled: !p.disabled,
                        cltv_expiry_delta: p.cltv,
                        htlc_minimum_msat: p.min,
                        htlc_maximum_msat: p.max,
                        fee_base_msat: p.base,
                        fee_proportional_millionths: p.ppm,
                    })
                    .expect("update");
            }
        }
    }
    for (id, feats) in nodes {
        let mut le = Vec::new();
        for &b in feats {
            let (byte, bit) = (b as usize / 8, b % 8);
            if le.len() <= byte {
                le.resize(byte + 1, 0u8);
            }
            le[byte] |= 1 << bit;
        }
        let info = NodeAnnouncementInfo {
            timestamp: now,
            features_le: le,
            rgb: [0; 3],
            alias: [0; 32],
            addresses_raw: Vec::new(),
            proof: None,
        };
        // Nodes without channels cannot be announced (BOLT 7); skip them.
        let _ = graph.update_node_unchecked(id, info);
    }
    graph
}

/// channel_announcement validation (chain, order, features, four ECDSA
/// signatures) and insertion, without a UTXO source.
fn bench_channel_announcement_validation(n: u32) {
    use bitcoin::secp256k1::{Message as SecpMessage, PublicKey, Secp256k1, SecretKey};
    use lnkit::msgs::{ChannelAnnouncement, ChannelFeatures};
    use lnkit::types::WireSignature;
    let secp = Secp256k1::new();
    let key = |i: u32| {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&(i + 1).to_be_bytes());
        b[31] = 7;
        SecretKey::from_slice(&b).expect("key")
    };
    let pk = |k: &SecretKey| Point::from(PublicKey::from_secret_key(&secp, k));
    let mut anns = Vec::with_capacity(n as usize);
    for i in 0..n {
        let (mut a, mut b) = (key(4 * i), key(4 * i + 1));
        if pk(&a) > pk(&b) {
            std::mem::swap(&mut a, &mut b);
        }
        let (fa, fb) = (key(4 * i + 2), key(4 * i + 3));
        let zero = WireSignature([0; 64]);
        let mut m = ChannelAnnouncement {
            node_signature_1: zero,
            node_signature_2: zero,
            bitcoin_signature_1: zero,
            bitcoin_signature_2: zero,
            features: ChannelFeatures::empty(),
            chain_hash: bitcoin::blockdata::constants::ChainHash::BITCOIN,
            short_channel_id: ShortChannelId::new(800_000, i, 0).expect("scid"),
            node_id_1: pk(&a),
            node_id_2: pk(&b),
            bitcoin_key_1: pk(&fa),
            bitcoin_key_2: pk(&fb),
            excess_data: Vec::new(),
        };
        let h = SecpMessage::from_digest(m.signed_hash());
        m.node_signature_1 = secp.sign_ecdsa(&h, &a).into();
        m.node_signature_2 = secp.sign_ecdsa(&h, &b).into();
        m.bitcoin_signature_1 = secp.sign_ecdsa(&h, &fa).into();
        m.bitcoin_signature_2 = secp.sign_ecdsa(&h, &fb).into();
        anns.push(m);
    }
    let graph = Arc::new(NetworkGraph::new(
        bitcoin::blockdata::constants::ChainHash::BITCOIN,
    ));
    let sync = lnkit::gossip::P2PGossipSync::new(graph.clone(), None, Arc::new(NullLogger));
    let t = Instant::now();
    for a in &anns {
        assert_eq!(sync.apply_channel_announcement(a), Ok(true));
    }
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(graph.read_only().channel_count(), n as usize);
    report(
        "gossip_channel_announcement_validate_per_s",
        n as f64 / secs,
        "msgs/s",
    );
}

fn main() {
    // `../shared` from the repository root; `../../shared` from a worktree under `wt/`.
    let dir = ["../shared/route-bench", "../../shared/route-bench"]
        .into_iter()
        .find(|d| std::path::Path::new(d).exists())
        .unwrap_or("../shared/route-bench");
    let graph_path =
        std::env::var("ROUTE_GRAPH").unwrap_or_else(|_| format!("{dir}/graph-12k.jsonl"));
    let query_path =
        std::env::var("ROUTE_QUERIES").unwrap_or_else(|_| format!("{dir}/route-queries.jsonl"));
    let max_queries: usize = std::env::var("ROUTE_MAX_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let (nodes, chans, mut queries) = load(&graph_path, &query_path);
    queries.truncate(max_queries);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0);

    let rss0 = rss_bytes();
    let t = Instant::now();
    let graph = build(&nodes, &chans, now);
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let rss1 = rss_bytes();
    report(
        "graph_nodes",
        graph.read_only().node_count() as f64,
        "count",
    );
    report(
        "graph_channels",
        graph.read_only().channel_count() as f64,
        "count",
    );
    report("graph_load_ms", load_ms, "ms");
    report(
        "graph_rss_bytes_per_channel",
        rss1.saturating_sub(rss0) as f64 / chans.len().max(1) as f64,
        "bytes",
    );
    let t = Instant::now();
    let index_bytes = graph.prepare_routing();
    report(
        "graph_route_index_build_ms",
        t.elapsed().as_secs_f64() * 1e3,
        "ms",
    );
    let rss2 = rss_bytes();
    report(
        "graph_route_index_bytes_per_channel",
        index_bytes as f64 / chans.len().max(1) as f64,
        "bytes",
    );
    report(
        "graph_rss_bytes_per_channel_with_index",
        rss2.saturating_sub(rss0) as f64 / chans.len().max(1) as f64,
        "bytes",
    );
    let ser = graph.encode();
    report("graph_serialized_bytes", ser.len() as f64, "bytes");
    let t = Instant::now();
    let reloaded = NetworkGraph::read(&mut &ser[..]).expect("reload");
    report("graph_reload_ms", t.elapsed().as_secs_f64() * 1e3, "ms");
    assert_eq!(
        reloaded.read_only().channel_count(),
        graph.read_only().channel_count()
    );
    drop(reloaded);
    drop(ser);

    bench_channel_announcement_validation(2000);

    let graph = Arc::new(graph);
    let scorer = ProbabilisticScorer::new(ScoringParameters::default(), graph.clone());
    let seed = [7u8; 32];
    let verbose = std::env::var("ROUTE_VERBOSE").is_ok();
    let ids: Vec<NodeId> = nodes.iter().map(|n| n.0).collect();
    for (mode, max_paths) in [("mpp", 10u8), ("single", 1u8)] {
        let mut times = Vec::with_capacity(queries.len());
        let (mut found, mut fees, mut paths, mut hops) = (0u64, 0u64, 0u64, 0u64);
        for q in &queries {
            let pp = PaymentParameters::from_node_id(ids[q.dst], q.final_cltv)
                .with_max_path_count(max_paths);
            let rp = RouteParameters::from_payment_params_and_value(pp, q.amount_msat);
            let t = Instant::now();
            let r = find_route(&ids[q.src], &rp, &graph, None, &NullLogger, &scorer, &seed);
            let ms = t.elapsed().as_secs_f64() * 1e3;
            times.push(ms);
            if verbose {
                eprintln!(
                    "{mode} {} ms={ms:.2} amt={} {:?}",
                    times.len() - 1,
                    q.amount_msat,
                    r.as_ref().map(|r| r.paths.len())
                );
            }
            if let Ok(route) = r {
                assert_eq!(route.get_total_amount(), q.amount_msat);
                found += 1;
                fees += route.get_total_fees();
                paths += route.paths.len() as u64;
                hops += route.paths.iter().map(|p| p.hops.len() as u64).sum::<u64>();
            }
        }
        times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        report(&format!("route_{mode}_found"), found as f64, "count");
        report(
            &format!("route_{mode}_median_ms"),
            percentile(&times, 50.0),
            "ms",
        );
        report(
            &format!("route_{mode}_p99_ms"),
            percentile(&times, 99.0),
            "ms",
        );
        report(
            &format!("route_{mode}_avg_fee_msat"),
            fees as f64 / found.max(1) as f64,
            "msat",
        );
        report(
            &format!("route_{mode}_avg_paths"),
            paths as f64 / found.max(1) as f64,
            "paths",
        );
        report(
            &format!("route_{mode}_avg_hops_per_path"),
            hops as f64 / paths.max(1) as f64,
            "hops",
        );
    }
}
