//! End-to-end replay benches: read the trace, simulate, write every output file, as
//! `clustersim run --workload FILE --policy P --out DIR` does, with each policy on
//! - CTC-SP2 from ../shared/traces (77,222 jobs, 338 processors), and
//! - a generated 1,000,000-job trace at offered load 0.9 on 1,024 processors, written once
//!   to the target directory (see docs/performance.md).
//!
//! A third group, `report`, measures what `--out` adds by default on top of those files: the
//! time series, the Parquet tables, the plots and `report.html`, for a run of CTC-SP2.
//!
//! Run with `cargo bench --bench replay`; `CLUSTERSIM_BENCH_JOBS` changes the size of the
//! generated trace.

use clustersim::output::write_run_dir;
use clustersim::policy::PolicyKind;
use clustersim::report::{write_report, ReportOptions};
use clustersim::run::{run, RunOptions};
use clustersim::workload::swf::{read_swf_file, write_swf, SwfOptions};
use clustersim::workload::synthetic::{generate, SyntheticSpec};
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn replay(trace: &Path, policy: PolicyKind, out: &Path) {
    replay_with(trace, policy, &RunOptions::default(), out)
}

fn replay_with(trace: &Path, policy: PolicyKind, options: &RunOptions, out: &Path) {
    let workload = read_swf_file(trace, &SwfOptions::default()).expect("trace reads");
    let outcome = run(&workload, policy, options, &mut |_| {}).expect("run completes");
    write_run_dir(out, &workload, &outcome).expect("outputs written");
}

fn generated_trace(jobs: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("generated-{jobs}-1024-0.9-seed7.swf"));
    if !path.exists() {
        let w = generate(&SyntheticSpec {
            jobs,
            procs: 1024,
            load: 0.9,
            seed: 7,
        });
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        write_swf(file, &w.jobs, w.machine_procs, "clustersim bench generator").unwrap();
    }
    path
}

fn benches(c: &mut Criterion) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-out");
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/traces/swf");
    let ctc = shared.join("CTC-SP2-1996-3.1-cln.swf.gz");
    let mut group = c.benchmark_group("replay");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    if ctc.exists() {
        for policy in PolicyKind::ALL {
            group.bench_function(format!("ctc-sp2/{policy}"), |b| {
                b.iter(|| replay(&ctc, policy, &out))
            });
        }
    } else {
        eprintln!("replay/ctc-sp2: skipped, ../shared/traces is not beside the checkout");
    }
    let jobs = std::env::var("CLUSTERSIM_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let generated = generated_trace(jobs);
    for policy in PolicyKind::ALL {
        group.bench_function(format!("generated-{jobs}/{policy}"), |b| {
            b.iter(|| replay(&generated, policy, &out))
        });
    }
    // The head node's loops with Slurm's defaults (`[controller]`).
    let controlled = RunOptions {
        controller: Some(clustersim::controller::ControllerSpec::default()),
        ..RunOptions::default()
    };
    group.bench_function(format!("generated-{jobs}/easy-controller"), |b| {
        b.iter(|| replay_with(&generated, PolicyKind::Easy, &controlled, &out))
    });
    group.finish();

    if ctc.exists() {
        let mut group = c.benchmark_group("report");
        group.sample_size(10).warm_up_time(Duration::from_secs(1));
        let workload = read_swf_file(&ctc, &SwfOptions::default()).expect("trace reads");
        let outcome = run(
            &workload,
            PolicyKind::Easy,
            &RunOptions::default(),
            &mut |_| {},
        )
        .expect("run completes");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-report");
        std::fs::create_dir_all(&dir).unwrap();
        group.bench_function("ctc-sp2/easy", |b| {
            b.iter(|| write_report(&dir, &workload, &outcome, &ReportOptions::default()).unwrap())
        });
        group.finish();
    }
}

criterion_group!(replay_benches, benches);
criterion_main!(replay_benches);
