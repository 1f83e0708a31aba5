//! Sweep scaling: one sweep of 12 runs (FCFS and EASY × 6 seeds of a generated 50,000-job
//! workload on 256 processors) run with 1 and with 2 worker threads. Each run is
//! single-threaded and independent, so on a machine with two free cores the 2-thread
//! sweep should take close to half the time of the 1-thread one.
//!
//! Run with `cargo bench --bench sweep`. docs/performance.md also reports the full
//! measurement on a real trace (`scenarios/sweep-ctc.toml`, 204 runs).

use clustersim::sweep::spec::Sweep;
use clustersim::sweep::{run_sweep, SweepOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::path::PathBuf;
use std::time::Duration;

const SCENARIO: &str = r#"
name = "bench-sweep"
[workload.generator]
jobs = 50000
procs = 256
load = 0.9
[sweep.grid]
"policy.name" = ["fcfs", "easy"]
seed = { from = 1, to = 6 }
"#;

fn bench_sweep(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("clustersim-bench-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let path = dir.join("sweep.toml");
    std::fs::write(&path, SCENARIO).expect("the scenario is written");
    let loaded = clustersim::scenario::load(&path).expect("the scenario loads");
    let sweep = Sweep::from_scenario(&loaded).expect("the sweep expands");
    let mut group = c.benchmark_group("sweep_12_runs");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for threads in [1usize, 2] {
        group.bench_with_input(
            BenchmarkId::new("threads", threads),
            &threads,
            |b, &threads| {
                let mut round = 0u64;
                b.iter(|| {
                    round += 1;
                    let out: PathBuf = dir.join(format!("out-{threads}-{round}"));
                    let options = SweepOptions {
                        out: out.clone(),
                        threads: Some(threads),
                        shard: None,
                        resume: false,
                        allow_empty: false,
                    };
                    let outcome = run_sweep(&sweep, &options, &|_, _| {}).expect("the sweep runs");
                    assert_eq!(outcome.total_runs, 12);
                    let _ = std::fs::remove_dir_all(&out);
                })
            },
        );
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_sweep);
criterion_main!(benches);
