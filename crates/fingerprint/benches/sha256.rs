//! Single-core SHA-256 throughput of the `sha2` crate as built here, to
//! compare with `openssl speed -evp sha256` (both use the CPU's SHA
//! extensions when present), then this crate's one- and two-lane
//! compressors (two messages interleaved per core, see `src/sha256`).
//! Run: `cargo bench -p imagedeploy-fingerprint --bench sha256`.

use sha2::{Digest, Sha256};
use std::time::Instant;

fn main() {
    let block = vec![0x5au8; 16 * 1024];
    let total: usize = 1 << 30;
    // Warm up.
    let mut hasher = Sha256::new();
    for _ in 0..1024 {
        hasher.update(&block);
    }
    std::hint::black_box(hasher.finalize());

    let mut best = f64::MAX;
    let mut best_cpu = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let cpu_start = thread_cpu_seconds();
        let mut hasher = Sha256::new();
        for _ in 0..total / block.len() {
            hasher.update(&block);
        }
        std::hint::black_box(hasher.finalize());
        best = best.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_seconds()) {
            best_cpu = best_cpu.min(b - a);
        }
    }
    let mb_per_s = total as f64 / best / 1e6;
    if best_cpu < f64::MAX {
        // Comparable with `openssl speed`, which divides by CPU time.
        println!(
            "sha2 single-core: {:.0} MB/s per CPU-second",
            total as f64 / best_cpu / 1e6
        );
    }
    let sha_ni = std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| c.split_whitespace().any(|w| w == "sha_ni"))
        .unwrap_or(false);
    println!("sha2 single-core: {mb_per_s:.0} MB/s wall-clock (16 KiB updates, best of 3 x 1 GiB; cpu sha_ni flag: {sha_ni})");
    lanes();
}

/// One-lane vs two-lane throughput of `imagedeploy_fingerprint::sha256`
/// over 256 KiB buffers (the size the hasher reads), 1 GiB per lane count.
fn lanes() {
    use imagedeploy_fingerprint::sha256::{compress, compress_pair, State};
    let a = vec![0x11u8; 256 * 1024];
    let b = vec![0x22u8; 256 * 1024];
    let rounds = (1usize << 30) / a.len();
    let mut best = [f64::MAX; 2];
    for _ in 0..3 {
        let start = Instant::now();
        let mut s = State::default();
        for _ in 0..rounds {
            compress(&mut s, &a);
        }
        std::hint::black_box(s);
        best[0] = best[0].min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let (mut s, mut t) = (State::default(), State::default());
        for _ in 0..rounds / 2 {
            compress_pair(&mut s, &a, &mut t, &b);
        }
        std::hint::black_box((s, t));
        best[1] = best[1].min(start.elapsed().as_secs_f64());
    }
    let one = (1u64 << 30) as f64 / best[0] / 1e6;
    let two = (1u64 << 30) as f64 / best[1] / 1e6;
    println!(
        "imagedeploy sha256, one lane: {one:.0} MB/s; two lanes: {two:.0} MB/s ({:.2}x) per core",
        two / one
    );
}

/// CPU time of this thread so far (Linux `schedstat`), if available.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}
