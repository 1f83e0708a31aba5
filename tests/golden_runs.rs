//! Replays are unchanged by the job lifecycle: the job tables of the demo, the example
//! scenarios under several policies, and a real trace run with `--kill-at-walltime` (7,174
//! jobs stopped at their limit) are the ones clustersim wrote before jobs ran in segments,
//! column for column (the lifecycle's new columns aside). The digests of those files are
//! committed in `tests/golden/jobs-before-lifecycle.txt`. One run changed on purpose since,
//! as the file says: conservative on nodes, when it became one algorithm with processors.

mod common;

use common::{arg, clustersim_in_repo, scratch, shared_dir, text};
use std::path::Path;

/// The runs: name (as in the golden file), arguments after `run`, and whether it needs
/// `../shared`.
const RUNS: &[(&str, &[&str], bool)] = &[
    ("demo/fcfs", &["--demo", "policies"], false),
    ("demo/easy", &["--demo", "policies"], false),
    ("demo/conservative", &["--demo", "policies"], false),
    ("gpu-cluster", &["scenarios/gpu-cluster.toml"], false),
    (
        "gpu-conservative",
        &["scenarios/gpu-cluster.toml", "--policy", "conservative"],
        false,
    ),
    ("hpc-cpu", &["scenarios/hpc-cpu.toml"], false),
    (
        "hpc-fcfs",
        &["scenarios/hpc-cpu.toml", "--policy", "fcfs"],
        false,
    ),
    ("mixed", &["scenarios/mixed.toml"], false),
    (
        "trace-plus-sessions",
        &["scenarios/trace-plus-sessions.toml"],
        false,
    ),
    (
        "ctc-kill",
        &[
            "--workload",
            "../shared/traces/swf/CTC-SP2-1996-3.1-cln.swf.gz",
            "--policy",
            "easy",
            "--kill-at-walltime",
        ],
        true,
    ),
];

/// Columns appended to `jobs.csv` since: the lifecycle's five, then `culled`, then the rate
/// model's `leaves` and `rate`, then the file system's `staging_s`, then oversubscription's
/// `busy_slowdown`, then credits' `deprioritized`, then the controller's
/// `first_considered_s` and `acknowledged_s`.
const NEW_COLUMNS: usize = 13;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `jobs.csv` without its last `NEW_COLUMNS` columns (those come after every text field,
/// so cutting at the last commas is exact).
fn project(jobs_csv: &str) -> String {
    let mut out = String::with_capacity(jobs_csv.len());
    for line in jobs_csv.lines() {
        let mut cut = line;
        for _ in 0..NEW_COLUMNS {
            cut = &cut[..cut.rfind(',').expect("a jobs.csv line has its new columns")];
        }
        out.push_str(cut);
        out.push('\n');
    }
    out
}

#[test]
fn job_tables_are_those_of_before_the_lifecycle() {
    let golden_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/jobs-before-lifecycle.txt");
    let golden = std::fs::read_to_string(&golden_path).unwrap();
    let expected: Vec<(&str, usize, &str)> = golden
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0], f[1].parse().unwrap(), f[2])
        })
        .collect();
    let have_shared = shared_dir("job_tables_are_those_of_before_the_lifecycle").is_some();
    let dir = scratch("golden-runs");
    let mut demo_done = false;
    let mut mismatches = Vec::new();
    for &(name, args, needs_shared) in RUNS {
        if needs_shared && !have_shared {
            continue;
        }
        let is_demo = name.starts_with("demo/");
        let out = if is_demo {
            dir.join("demo")
        } else {
            dir.join(name)
        };
        if !is_demo || !demo_done {
            let mut full = vec!["run"];
            full.extend_from_slice(args);
            full.extend([
                "--quiet",
                "--no-plots",
                "--format",
                "csv",
                "--out",
                arg(&out),
            ]);
            let o = clustersim_in_repo(&full);
            assert!(o.status.success(), "{name}: {}", text(&o));
            demo_done |= is_demo;
        }
        let file = if is_demo {
            out.join(name.trim_start_matches("demo/")).join("jobs.csv")
        } else {
            out.join("jobs.csv")
        };
        let projected = project(&std::fs::read_to_string(&file).unwrap());
        let (_, lines, digest) = expected
            .iter()
            .find(|e| e.0 == name)
            .unwrap_or_else(|| panic!("{name} is not in the golden file"));
        let got = format!("{:016x}", fnv1a(projected.as_bytes()));
        if projected.lines().count() != *lines || got != *digest {
            mismatches.push(format!(
                "{name}: {} lines, digest {got}; before the lifecycle: {lines} lines, digest {digest}",
                projected.lines().count()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "schedules changed:\n{}",
        mismatches.join("\n")
    );
}
