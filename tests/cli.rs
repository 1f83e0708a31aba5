//! The `clustersim` binary as a user runs it: the demo, replays writing their files,
//! determinism of the outputs, and clear errors with a non-zero exit on bad input.

mod common;

use common::{clustersim, scratch, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[test]
fn demo_needs_no_input_and_tells_the_pool_story() {
    let out = clustersim(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for word in [
        "no-pool",
        "pool-preemption",
        "sessions on target (%)",
        "batch wait mean (s)",
        "preemptions",
        "utilization",
        "clustersim run --demo policies",
    ] {
        assert!(stdout.contains(word), "demo output lacks {word}:\n{stdout}");
    }
    let run = clustersim(&["run"]);
    assert!(run.status.success());
    // The demo is deterministic apart from its wall-time row.
    let strip = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with("simulation wall time"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&out), strip(&run));
    // The story: a pool starts more sessions on target than none; preemption lets batch
    // borrow it back, so batch waits less than with a dedicated pool.
    let row = |label: &str| -> Vec<f64> {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no row {label}:\n{stdout}"));
        line[label.len()..]
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let on_target = row("sessions on target (%)");
    let batch_wait = row("batch wait mean (s)");
    assert!(on_target[1] > on_target[0], "{stdout}");
    assert!(batch_wait[2] < batch_wait[1], "{stdout}");
}

#[test]
fn the_policies_demo_compares_the_three_policies() {
    let out = clustersim(&["run", "--demo", "policies"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for word in [
        "fcfs",
        "easy",
        "conservative",
        "utilization",
        "wait mean (s)",
        "bounded slowdown mean",
    ] {
        assert!(stdout.contains(word), "demo output lacks {word}:\n{stdout}");
    }
}

/// The files `run --out` writes by default besides the foundation's four.
const REPORT_FILES: &[&str] = &[
    "jobs.parquet",
    "segments.parquet",
    "summary.parquet",
    "timeseries.parquet",
    "report.html",
    "plots/utilization.png",
    "plots/utilization.svg",
    "plots/queue.png",
    "plots/queue.svg",
    "plots/wait_cdf.png",
    "plots/wait_cdf.svg",
    "plots/slowdown_heatmap.png",
    "plots/slowdown_heatmap.svg",
    "plots/gantt.png",
    "plots/gantt.svg",
];

fn write_trace(dir: &Path) -> PathBuf {
    let path = dir.join("small.swf");
    let mut text =
        String::from("; Version: 2.2\n; MaxProcs: 64\n; Computer: <script>test</script>\n");
    text.push_str(&common::random_trace(5, 500, 64));
    // one job of each drop reason
    text.push_str("9001 -1 -1 10 4 -1 -1 4 10 -1 1 1 1 -1 1 1 -1 -1\n");
    text.push_str("9002 5 -1 -1 4 -1 -1 4 10 -1 1 1 1 -1 1 1 -1 -1\n");
    text.push_str("9003 5 -1 10 0 -1 -1 -1 10 -1 1 1 1 -1 1 1 -1 -1\n");
    text.push_str("9004 5 -1 10 65 -1 -1 65 10 -1 1 1 1 -1 1 1 -1 -1\n");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_writes_every_output_and_is_byte_identical_when_repeated() {
    let dir = scratch("run_outputs");
    let trace = write_trace(&dir);
    for policy in ["fcfs", "easy", "conservative"] {
        let mut results = Vec::new();
        for attempt in ["a", "b"] {
            let out_dir = dir.join(format!("{policy}_{attempt}"));
            let o = clustersim(&[
                "run",
                "--workload",
                trace.to_str().unwrap(),
                "--policy",
                policy,
                "--out",
                out_dir.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", text(&o));
            for file in ["jobs.csv", "dropped.csv", "summary.json", "timing.json"]
                .iter()
                .chain(REPORT_FILES)
            {
                assert!(out_dir.join(file).is_file(), "{file} missing");
            }
            results.push(out_dir);
        }
        for file in ["jobs.csv", "segments.csv", "dropped.csv", "summary.json"]
            .iter()
            .chain(REPORT_FILES)
        {
            let a = std::fs::read(results[0].join(file)).unwrap();
            let b = std::fs::read(results[1].join(file)).unwrap();
            assert!(
                a == b,
                "{policy}: {file} differs between two identical runs"
            );
        }
        let jobs = std::fs::read_to_string(results[0].join("jobs.csv")).unwrap();
        assert!(jobs.starts_with(
            "job_id,submit_s,start_s,end_s,wait_s,run_s,procs,estimate_s,user,group,queue,\
             partition,interactive,killed,first_reservation_s,cores,memory_mb,gpus,mig_slices,\
             tasks,partition_name,class,nodes,outcome,segments,suspended_s,requeues,work_lost_s,\
             culled,leaves,rate,staging_s,busy_slowdown,deprioritized,first_considered_s,acknowledged_s\n"
        ));
        let segments = std::fs::read_to_string(results[0].join("segments.csv")).unwrap();
        assert!(segments.starts_with(
            "job_id,segment,start_s,end_s,released_s,rate,ended,nodes,stage_in_s,stage_out_s\n"
        ));
        assert_eq!(segments.lines().count(), 501, "one segment per job");
        assert_eq!(jobs.lines().count(), 501);
        let dropped = std::fs::read_to_string(results[0].join("dropped.csv")).unwrap();
        for reason in [
            "negative_submit",
            "negative_runtime",
            "non_positive_size",
            "larger_than_machine",
        ] {
            assert!(
                dropped.contains(reason),
                "dropped.csv lacks {reason}:\n{dropped}"
            );
        }
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(results[0].join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(summary["policy"], policy);
        assert_eq!(summary["jobs"]["simulated"], 500);
        assert_eq!(summary["jobs"]["dropped"], 4);
        assert_eq!(
            summary["jobs"]["dropped_by_reason"]["larger_than_machine"],
            1
        );
        assert_eq!(summary["program"]["version"], env!("CARGO_PKG_VERSION"));
        for key in [
            "wait_mean_s",
            "wait_p50_s",
            "wait_p95_s",
            "wait_p99_s",
            "wait_max_s",
            "bsld_mean",
            "bsld_p95",
            "bsld_max",
            "slowdown_mean",
            "response_mean_s",
        ] {
            for class in ["all", "interactive", "batch"] {
                assert!(
                    summary["metrics"][class][key].is_number(),
                    "summary lacks metrics.{class}.{key}"
                );
            }
        }
        let timing: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(results[0].join("timing.json")).unwrap())
                .unwrap();
        assert!(timing["simulation_wall_s"].is_number());
        assert!(summary["engine"]["events"].as_u64().unwrap() >= 1000);
    }
}

#[test]
fn malformed_lines_name_file_line_and_field_and_exit_non_zero() {
    let dir = scratch("malformed");
    let path = dir.join("bad.swf");
    std::fs::write(&path, "; MaxProcs: 8\n1 0 -1 10 1 -1 -1 1 10 -1 1 1 1 -1 1 1 -1 -1\n2 0 -1 ten 1 -1 -1 1 10 -1 1 1 1 -1 1 1 -1 -1\n").unwrap();
    let o = clustersim(&["run", "--workload", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let msg = text(&o);
    assert!(
        msg.contains("bad.swf:3: field 4 (run time): expected a number, found 'ten'"),
        "{msg}"
    );
    assert!(!msg.contains("panicked"));
    // --lenient skips and counts it instead
    let out_dir = dir.join("out");
    let o = clustersim(&[
        "run",
        "--workload",
        path.to_str().unwrap(),
        "--lenient",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let summary = std::fs::read_to_string(out_dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"malformed_line\": 1"), "{summary}");
}

#[test]
fn missing_files_and_unknown_machine_sizes_are_clear_errors() {
    let o = clustersim(&["run", "--workload", "/nonexistent/trace.swf"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("/nonexistent/trace.swf: cannot open"),
        "{}",
        text(&o)
    );
    let dir = scratch("nosize");
    let path = dir.join("nosize.swf");
    std::fs::write(&path, "1 0 -1 10 1 -1 -1 1 10 -1 1 1 1 -1 1 1 -1 -1\n").unwrap();
    let o = clustersim(&["run", "--workload", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("pass --procs N"), "{}", text(&o));
    let o = clustersim(&[
        "run",
        "--workload",
        path.to_str().unwrap(),
        "--procs",
        "4",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = clustersim(&["run", "--policy", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
    // τ = 0 would divide a waiting zero-runtime job's response by zero (the report's
    // heat map then never finished drawing).
    let o = clustersim(&["run", "--bsld-tau", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--bsld-tau"), "{}", text(&o));
    // An endless input is refused after a bounded read, not read until memory runs out.
    if Path::new("/dev/zero").exists() {
        let o = clustersim(&["run", "--workload", "/dev/zero", "--procs", "4"]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("/dev/zero:1: a line longer than"),
            "{}",
            text(&o)
        );
    }
}

#[test]
fn times_that_could_pass_the_clock_are_refused_not_saturated() {
    // Three jobs of the longest runtime the reader takes: one after another they would end
    // past the clock's range (saturated ends once gave a utilization of 1.5).
    let dir = scratch("clock");
    let path = dir.join("far.swf");
    let line =
        |id: u32| format!("{id} {id} -1 9223372036854775 1 -1 -1 1 -1 -1 1 1 1 -1 1 1 -1 -1\n");
    std::fs::write(
        &path,
        format!("; MaxProcs: 1\n{}{}{}", line(1), line(2), line(3)),
    )
    .unwrap();
    for policy in ["fcfs", "easy", "conservative"] {
        let o = clustersim(&["run", "-w", path.to_str().unwrap(), "-p", policy, "-q"]);
        assert_eq!(o.status.code(), Some(2), "{policy}: {}", text(&o));
        assert!(
            text(&o).contains("far.swf: the workload's times are too large to simulate"),
            "{policy}: {}",
            text(&o)
        );
    }
}

#[test]
fn inspect_reports_the_trace() {
    let dir = scratch("inspect");
    let trace = write_trace(&dir);
    let o = clustersim(&["inspect", trace.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "machine size used: 64 processors",
        "job records: 504",
        "would simulate: 500",
        "larger_than_machine: 1",
        "offered load",
    ] {
        assert!(
            out.contains(needle),
            "inspect output lacks '{needle}':\n{out}"
        );
    }
}

#[test]
fn generate_writes_a_trace_that_replays() {
    let dir = scratch("generate");
    let path = dir.join("gen.swf.gz");
    let o = clustersim(&[
        "generate",
        "--jobs",
        "300",
        "--procs",
        "32",
        "--seed",
        "4",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = clustersim(&["inspect", path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("would simulate: 300"));
    // A count no run could hold is refused before anything is allocated.
    let too_many = dir.join("huge.swf");
    let o = clustersim(&[
        "generate",
        "--jobs",
        "100000000000",
        "--out",
        too_many.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--jobs must be at most 100000000"),
        "{}",
        text(&o)
    );
    assert!(!too_many.exists());
    let o = clustersim(&[
        "generate",
        "--load",
        "1e-300",
        "--out",
        too_many.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--load must be a number of at least 0.000001"),
        "{}",
        text(&o)
    );
    assert!(!too_many.exists());
}

#[test]
fn help_documents_every_command() {
    let commands: [(&str, &[&str]); 10] = [
        (
            "",
            &[
                "run", "inspect", "generate", "compare", "validate", "convert", "sweep", "merge",
                "check",
            ],
        ),
        (
            "run",
            &[
                "--workload",
                "--policy",
                "--procs",
                "--out",
                "--kill-at-walltime",
                "--lenient",
                "--bsld-tau",
                "--seed",
                "--format",
                "--timeseries-step",
                "--no-plots",
            ],
        ),
        ("inspect", &["--procs"]),
        (
            "generate",
            &["--jobs", "--procs", "--load", "--seed", "--out"],
        ),
        ("compare", &["--markdown", "--out"]),
        ("validate", &[]),
        ("convert", &["--to", "--out"]),
        (
            "sweep",
            &[
                "--out",
                "--threads",
                "--shard",
                "--resume",
                "--emit-slurm",
                "--shards",
            ],
        ),
        ("merge", &["--out"]),
        (
            "check",
            &["--baseline", "--update-baseline", "--markdown", "--junit"],
        ),
    ];
    for (command, words) in commands {
        let args: Vec<&str> = [command, "--help"]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        let o = clustersim(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        for word in words {
            assert!(out.contains(word), "{args:?} lacks {word}");
        }
    }
}

#[test]
fn the_committed_demo_trace_is_what_the_generator_makes() {
    use clustersim::workload::swf::{read_swf_file, SwfOptions};
    use clustersim::workload::synthetic::{generate, SyntheticSpec};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("workloads/demo-3000-128.swf");
    let file = read_swf_file(&path, &SwfOptions::default()).unwrap();
    let generated = generate(&SyntheticSpec::demo(1));
    assert_eq!(file.machine_procs, generated.machine_procs);
    assert_eq!(
        file.jobs, generated.jobs,
        "regenerate workloads/demo-3000-128.swf (see workloads/README.md)"
    );
}

#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    // `clustersim | head`: standard output closes before the program has written it all.
    use std::process::Stdio;
    for args in [&[][..], &["inspect", "workloads/demo-3000-128.swf"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clustersim"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?}: {stderr}");
    }
}

#[test]
fn demo_with_out_writes_reports_and_the_readme_picture_is_current() {
    let dir = scratch("demo_out");
    let out_dir = dir.join("demo");
    let o = clustersim(&["run", "--out", out_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("compare.html"));
    for run in ["no-pool", "pool", "pool-preemption"] {
        for file in REPORT_FILES {
            assert!(out_dir.join(run).join(file).is_file(), "{run}/{file}");
        }
    }
    assert!(out_dir
        .join("pool-preemption/plots/preemptions.svg")
        .is_file());
    for file in [
        "compare.html",
        "compare.md",
        "plots/runs.png",
        "plots/runs.svg",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/demo-runs.png");
    assert!(
        std::fs::read(&committed).unwrap() == std::fs::read(out_dir.join("plots/runs.png")).unwrap(),
        "docs/demo-runs.png is stale: regenerate it with \
         `cargo run --release -- run --out /tmp/demo && cp /tmp/demo/plots/runs.png docs/demo-runs.png`"
    );
    // The policies demo writes one folder per policy.
    let policies = dir.join("policies");
    let o = clustersim(&[
        "run",
        "--demo",
        "policies",
        "--out",
        policies.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for policy in ["fcfs", "easy", "conservative"] {
        assert!(
            policies.join(policy).join("report.html").is_file(),
            "{policy}"
        );
    }
}

#[test]
fn compare_shows_changes_relative_to_the_first_run() {
    let dir = scratch("compare");
    let trace = write_trace(&dir);
    let mut runs = Vec::new();
    for policy in ["fcfs", "easy"] {
        let out_dir = dir.join(policy);
        let o = clustersim(&[
            "run",
            "-q",
            "--no-plots",
            "--format",
            "csv",
            "--workload",
            trace.to_str().unwrap(),
            "--policy",
            policy,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        // --format csv: the tables as CSV, no Parquet, no plots.
        assert!(out_dir.join("timeseries.csv").is_file());
        assert!(out_dir.join("summary.csv").is_file());
        assert!(!out_dir.join("jobs.parquet").exists());
        assert!(!out_dir.join("report.html").exists());
        runs.push(out_dir.to_str().unwrap().to_string());
    }
    let cmp_dir = dir.join("cmp");
    let o = clustersim(&[
        "compare",
        &runs[0],
        &runs[1],
        "--out",
        cmp_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    let header = table.lines().next().unwrap();
    assert!(header.starts_with("metric") && header.contains("fcfs") && header.contains("easy"));
    let wait = table
        .lines()
        .find(|l| l.starts_with("wait mean (s)"))
        .unwrap();
    assert!(wait.contains(" %)"), "no relative change: {wait}");
    assert!(cmp_dir.join("compare.html").is_file());
    assert!(cmp_dir.join("plots/runs.png").is_file());

    let md = clustersim(&["compare", &runs[0], &runs[1], "--markdown"]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.starts_with("| metric | fcfs | easy |\n| --- | ---: | ---: |\n"),
        "{md}"
    );

    let bad = clustersim(&["compare", dir.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    // A folder that is not a finished run (no manifest.json) is refused, and what is
    // missing named.
    assert!(text(&bad).contains("manifest.json"), "{}", text(&bad));
}

#[test]
fn load_scaling_and_filters_shape_the_workload() {
    let dir = scratch("shaping");
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/demo-3000-128.swf");
    let summary_of = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec![
            "run",
            "-q",
            "--no-plots",
            "--policy",
            "easy",
            "--workload",
            trace.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = clustersim(&args);
        assert!(o.status.success(), "{}", text(&o));
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
        let last_submit: f64 = jobs
            .lines()
            .last()
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        (s, last_submit)
    };
    let (base, base_last) = summary_of("base", &[]);
    let (scaled, scaled_last) = summary_of("scaled", &["--load-factor", "2"]);
    // Inter-arrival times halved: the last submission comes at half the time.
    let first = 0.0;
    assert!(((scaled_last - first) - (base_last - first) / 2.0).abs() < 1.0);
    assert_eq!(scaled["jobs"]["simulated"], base["jobs"]["simulated"]);
    assert!(
        scaled["metrics"]["all"]["wait_mean_s"].as_f64().unwrap()
            > base["metrics"]["all"]["wait_mean_s"].as_f64().unwrap()
    );
    // A window and a queue filter: the rest is dropped as filtered_out, and counted.
    let (window, _) = summary_of(
        "window",
        &["--window-start", "86400", "--window-end", "172800"],
    );
    let kept = window["jobs"]["simulated"].as_u64().unwrap();
    let filtered = window["jobs"]["dropped_by_reason"]["filtered_out"]
        .as_u64()
        .unwrap();
    assert!(kept > 100 && kept < 1000, "{kept}");
    assert_eq!(kept + filtered, 3000);
    let (interactive, _) = summary_of("interactive", &["--queues", "0"]);
    assert_eq!(
        interactive["jobs"]["simulated"],
        interactive["metrics"]["interactive"]["jobs"]
    );
    let bad = clustersim(&["run", "-w", trace.to_str().unwrap(), "--load-factor", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    // A factor that stretches the submissions past the clock is an error, for a run and
    // for a conversion alike (not saturated times).
    let far = dir.join("far.swf");
    for args in [
        vec!["run", "-w", trace.to_str().unwrap()],
        vec![
            "convert",
            trace.to_str().unwrap(),
            "--to",
            "swf",
            "--out",
            far.to_str().unwrap(),
        ],
    ] {
        let mut args = args;
        args.extend(["--load-factor", "1e-300"]);
        let o = clustersim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("past the clock's limit"), "{}", text(&o));
    }
}

#[test]
fn date_filters_cut_a_trace_by_calendar_dates() {
    // A trace without UnixStartTime cannot place dates.
    let dir = scratch("date-filters");
    let bare = dir.join("bare.swf");
    std::fs::write(&bare, "1 0 0 10 1 -1 -1 1 20 -1 1 1 1 -1 1 -1 -1 -1\n").unwrap();
    let o = clustersim(&[
        "inspect",
        bare.to_str().unwrap(),
        "--procs",
        "4",
        "--from-date",
        "2020-01-01",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("does not say when it starts"),
        "{}",
        text(&o)
    );
    let o = clustersim(&[
        "inspect",
        bare.to_str().unwrap(),
        "--procs",
        "4",
        "--to-date",
        "2020-13-01",
    ]);
    assert!(
        text(&o).contains("\"2020-13-01\" is not a date"),
        "{}",
        text(&o)
    );
    // An empty window is an error, as with --window-start / --window-end; an extreme
    // UnixStartTime places dates without overflowing.
    let dated = dir.join("dated.swf");
    std::fs::write(
        &dated,
        "; UnixStartTime: -9223372036854775808\n1 0 0 10 1 -1 -1 1 20 -1 1 1 1 -1 1 -1 -1 -1\n",
    )
    .unwrap();
    let window = |from: &str, to: &str| {
        clustersim(&[
            "inspect",
            dated.to_str().unwrap(),
            "--procs",
            "4",
            "--from-date",
            from,
            "--to-date",
            to,
        ])
    };
    let o = window("2020-02-01", "2020-01-01");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the date window is empty"),
        "{}",
        text(&o)
    );
    let o = window("9999-12-30", "9999-12-31");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("would simulate: 0\n"), "{}", text(&o));
    let Some(shared) = common::shared_dir("date_filters_cut_a_trace_by_calendar_dates") else {
        return;
    };
    // CTC-SP2 starts 1996-06-26 (UnixStartTime 835823160); 7,289 of its jobs were submitted
    // in August 1996 (UTC), counted independently of clustersim from the file.
    let ctc = shared.join("traces/swf/CTC-SP2-1996-3.1-cln.swf.gz");
    let o = clustersim(&[
        "inspect",
        ctc.to_str().unwrap(),
        "--from-date",
        "1996-08-01",
        "--to-date",
        "1996-09-01",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("would simulate: 7289\n"), "{out}");
    assert!(out.contains("filtered_out: 69933"), "{out}");
}
