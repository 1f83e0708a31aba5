//! The cluster-model benches, one thread each, on workloads generated once outside the
//! timing (generating them takes about 1.5 s more for a million jobs, see
//! docs/performance.md):
//!
//! - `scenarios/bench-10k-gpu.toml`: 1,000,000 generated GPU jobs on 10,000 nodes with 8
//!   GPUs each, under EASY with best-fit placement;
//! - `scenarios/bench-10k-sessions.toml`: 200,000 jobs, half of them notebook sessions on a
//!   pool of 400 of the 10,000 nodes that batch borrows, with preemption (requeue) on.
//!
//! Measured: the simulation with its metrics (`run::run`). Run with
//! `cargo bench --bench cluster`; `CLUSTERSIM_BENCH_JOBS` changes the job count of both.

use clustersim::policy::PolicyKind;
use clustersim::run::{run, RunOptions};
use clustersim::scenario;
use clustersim::workload::classes::{generate, ClassGenerator};
use clustersim::workload::Workload;
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::time::Duration;

/// The scenario's generated workload, and its job count.
fn workload(file: &str) -> (Workload, usize) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
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
        arrivals: Default::default(),
    });
    (workload, jobs)
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("cluster");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60));
    for (file, name) in [
        ("scenarios/bench-10k-gpu.toml", "10k-gpu-nodes"),
        (
            "scenarios/bench-10k-sessions.toml",
            "10k-gpu-nodes-sessions-preemption",
        ),
    ] {
        let (workload, jobs) = workload(file);
        group.bench_function(format!("{name}/{jobs}/easy-best-fit"), |b| {
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
    }
    group.finish();
}

criterion_group!(cluster_benches, benches);
criterion_main!(cluster_benches);
