//! The cluster-model bench: `scenarios/bench-10k-gpu.toml`, 1,000,000 generated GPU jobs
//! on 10,000 nodes with 8 GPUs each, under EASY with best-fit placement, one thread.
//!
//! Measured: the simulation with its metrics (`run::run`), on a workload generated once
//! outside the timing; generating it takes about 1.5 s more (see docs/performance.md).
//! Run with `cargo bench --bench cluster`; `CLUSTERSIM_BENCH_JOBS` changes the job count.

use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::scenario;
use clustersim::workload::classes::{generate, ClassGenerator};
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench-10k-gpu.toml");
    let loaded = scenario::load(&path).expect("the bench scenario is valid");
    let f = &loaded.scenario;
    let g = f.workload.generator.as_ref().expect("a generated workload");
    let jobs = std::env::var("CLUSTERSIM_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(g.jobs);
    let workload = generate(&ClassGenerator {
        jobs,
        load: g.load,
        classes: &g.classes,
        cluster: f.cluster.as_ref().expect("a cluster"),
        placement: f.policy.placement,
        seed: f.seed.unwrap_or(1),
    });
    let mut group = c.benchmark_group("cluster");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60));
    group.bench_function(format!("10k-gpu-nodes/{jobs}/easy-best-fit"), |b| {
        b.iter(|| {
            run(
                &workload,
                PolicyKind::Easy,
                &RunOptions::default(),
                &mut |_| {},
            )
            .expect("run completes")
        })
    });
    group.finish();
}

criterion_group!(cluster_benches, benches);
criterion_main!(cluster_benches);
