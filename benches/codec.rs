//! `codec` bench (../shared/BENCHMARKS.md): decode with `msgs::read_message`
//! and re-encode with `Message::encode`, per sample message and for a
//! round-robin mix of all seven. Prints `name value unit` lines.
//!
//! Samples: `$CODEC_SAMPLES`, else `../shared/bench-data/codec-samples.txt`,
//! else the copy in `tests/vectors/codec-samples.txt`.

use lnkit::msgs::read_message;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn load_samples() -> Vec<(String, Vec<u8>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let candidates = [
        std::env::var("CODEC_SAMPLES").ok(),
        Some(format!("{root}/../shared/bench-data/codec-samples.txt")),
        Some(format!("{root}/tests/vectors/codec-samples.txt")),
    ];
    let text = candidates
        .iter()
        .flatten()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .expect("no codec samples file found");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, hex) = l.split_once(' ').expect("name hex");
            let bytes = <Vec<u8> as hex::FromHex>::from_hex(hex.trim()).expect("hex");
            (name.to_string(), bytes)
        })
        .collect()
}

/// Round trips per second: the median of 5 timed runs of `iters` each.
fn rate(iters: u64, mut f: impl FnMut()) -> f64 {
    let mut rates: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            iters as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    rates[2]
}

/// Iterations that take about `target` for one run.
fn calibrate(target: Duration, mut f: impl FnMut()) -> u64 {
    let mut n = 1_000u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        let t = start.elapsed();
        if t >= target / 4 {
            return ((n as f64) * target.as_secs_f64() / t.as_secs_f64()).max(1.0) as u64;
        }
        n *= 4;
    }
}

fn round_trip(frame: &[u8]) -> usize {
    let msg = read_message(black_box(frame)).expect("sample decodes");
    black_box(msg.encode()).len()
}

fn main() {
    let samples = load_samples();
    for (name, frame) in &samples {
        let msg = read_message(frame).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            &msg.encode(),
            frame,
            "{name} does not re-encode byte for byte"
        );
    }
    // CODEC_BENCH_ITERS=N runs a fixed count (for instruction counting
    // under valgrind) instead of calibrating to wall-clock time.
    if let Some(n) = std::env::var("CODEC_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        for (_, frame) in &samples {
            for _ in 0..n {
                round_trip(frame);
            }
        }
        println!("codec_fixed_iters {n} iters");
        return;
    }
    let target = Duration::from_millis(300);
    for (name, frame) in &samples {
        let iters = calibrate(target, || {
            round_trip(frame);
        });
        let r = rate(iters, || {
            round_trip(frame);
        });
        let line = match name.as_str() {
            "commitment_signed_10htlc" => "commitment_signed",
            n => n,
        };
        println!("codec_{line}_per_s {r:.0} msgs/s");
    }
    let mut i = 0usize;
    let mut next = || {
        round_trip(&samples[i % samples.len()].1);
        i += 1;
    };
    let iters = calibrate(target, &mut next);
    let r = rate(iters, &mut next);
    println!("codec_mix_per_s {r:.0} msgs/s");
}
