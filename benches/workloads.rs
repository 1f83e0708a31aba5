//! Importer and generator benches: reading 1,000,000 sacct rows (a synthetic dump in the
//! 26-column `sacct -P` layout of ../shared/traces/slurm/sacct_simple, built in memory, so
//! that the bench needs no file), and generating 1,000,000 node-level jobs from the
//! scenario `scenarios/bench-10k-gpu.toml`'s classes.
//!
//! Run with `cargo bench --bench workloads`; `CLUSTERSIM_BENCH_JOBS` changes the counts.

use clustersim::scenario;
use clustersim::workload::classes::{generate, ClassGenerator};
use clustersim::workload::sacct::read_sacct;
use clustersim::workload::swf::SwfOptions;
use criterion::{criterion_group, criterion_main, Criterion};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

const HEADER: &str = "JobID|JobIDRaw|Cluster|Partition|Account|Group|GID|User|UID|Submit|\
Eligible|Start|End|Elapsed|ExitCode|State|NNodes|NCPUS|ReqCPUS|ReqMem|ReqTRES|Timelimit|QOS|\
NodeList|JobName|NTasks";

/// A dump of `rows` jobs, each followed by a `.batch` step every tenth job.
fn dump(rows: usize) -> String {
    let mut text = String::with_capacity(rows * 330);
    text.push_str(HEADER);
    text.push('\n');
    for i in 0..rows {
        let submit = 1_700_000_000u64 + (i as u64) * 7;
        let (d, h, m, s) = (
            submit / 86_400,
            submit / 3_600 % 24,
            submit / 60 % 60,
            submit % 60,
        );
        // Dates from a fixed day count: enough for a realistic, parseable layout.
        let day = 1 + d % 28;
        let run = 30 + (i % 7_200);
        let cpus = 1 << (i % 6);
        let _ = writeln!(
            text,
            "{i}|{i}|cl|part{p}|acct{a}|g|100|user{u}|{u}|2024-03-{day:02}T{h:02}:{m:02}:{s:02}|\
             2024-03-{day:02}T{h:02}:{m:02}:{s:02}|2024-03-{day:02}T{h:02}:{m:02}:{s:02}|\
             2024-03-{day:02}T{h:02}:{m:02}:{s:02}|{rh:02}:{rm:02}:{rs:02}|0:0|COMPLETED|1|{cpus}|\
             {cpus}|{mem}M|billing={cpus},cpu={cpus},mem={mem}M,node=1|1-00:00:00|normal|n{n:03}|\
             job_{i}|",
            p = i % 4,
            a = i % 50,
            u = i % 300,
            rh = run / 3_600,
            rm = run / 60 % 60,
            rs = run % 60,
            mem = cpus * 2_000,
            n = i % 512,
        );
        if i % 10 == 0 {
            let _ = writeln!(
                text,
                "{i}.batch|{i}.batch|cl|||||||2024-03-{day:02}T{h:02}:{m:02}:{s:02}|||||0:0|\
                 COMPLETED|1|{cpus}|||||||batch|"
            );
        }
    }
    text
}

fn benches(c: &mut Criterion) {
    let n = std::env::var("CLUSTERSIM_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut group = c.benchmark_group("workloads");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));

    let text = dump(n);
    let options = SwfOptions {
        procs: Some(4_096),
        ..SwfOptions::default()
    };
    group.bench_function(format!("sacct-import/{n}"), |b| {
        b.iter(|| {
            let w = read_sacct(&text, "bench", &options).expect("the dump reads");
            assert_eq!(w.jobs.len(), n);
            w
        })
    });

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench-10k-gpu.toml");
    let loaded = scenario::load(&path).expect("the bench scenario is valid");
    let f = &loaded.scenario;
    let g = f.workload.generator.as_ref().expect("a generator");
    let cluster = f.cluster.as_ref().expect("a cluster");
    group.bench_function(format!("generate-classes/{n}"), |b| {
        b.iter(|| {
            generate(&ClassGenerator {
                jobs: n,
                load: g.load,
                classes: &g.classes,
                cluster,
                placement: f.policy.placement,
                seed: 1,
                arrivals: Default::default(),
            })
        })
    });
    group.finish();
}

criterion_group!(workload_benches, benches);
criterion_main!(workload_benches);
