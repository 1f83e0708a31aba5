//! Scenario files: the examples in `scenarios/` validate and run from a clean checkout,
//! flags override the file, a cluster-sized SWF replay gives exactly the schedule of the
//! same trace on a processor pool of the same size, and bad files are clear errors naming
//! the file, the line and the key.

mod common;

use common::repo;

use common::{clustersim, scratch, text};
use std::path::Path;

const EXAMPLES: [&str; 3] = ["hpc-cpu", "gpu-cluster", "mixed"];

#[test]
fn the_examples_validate_and_run() {
    let dir = scratch("scenario_examples");
    for name in EXAMPLES {
        let file = repo(&format!("scenarios/{name}.toml"));
        let v = clustersim(&["validate", &file]);
        assert!(v.status.success(), "{name}: {}", text(&v));
        assert!(text(&v).contains("valid scenario"), "{}", text(&v));
        let out = dir.join(name);
        let r = clustersim(&["run", &file, "--out", out.to_str().unwrap()]);
        assert!(r.status.success(), "{name}: {}", text(&r));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert!(
            summary["jobs"]["simulated"].as_u64().unwrap() > 1000,
            "{name}"
        );
        assert_eq!(summary["options"]["scenario"], file.as_str());
        assert!(out.join("report.html").is_file());
        if name == "gpu-cluster" {
            // Node-level reports: resources, partitions, fragmentation, nodes per job.
            let r = &summary["metrics"]["resources"];
            assert_eq!(r["nodes"], 48);
            assert_eq!(r["gpus"]["capacity"], 24 * 8);
            assert_eq!(r["mig_slices"]["capacity"], 8 * 8 * 7);
            assert!(r["gpus"]["utilization"].as_f64().unwrap() > 0.1);
            assert!(r["mig_slices"]["utilization"].as_f64().unwrap() > 0.0);
            assert!(r["gpu_fragmentation"].is_number());
            assert_eq!(r["partitions"][0]["name"], "batch");
            assert_eq!(r["partitions"][1]["name"], "interactive");
            let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
            let header: Vec<&str> = jobs.lines().next().unwrap().split(',').collect();
            let col = |c: &str| header.iter().position(|h| *h == c).unwrap();
            let (gpus, mig, nodes, class) =
                (col("gpus"), col("mig_slices"), col("nodes"), col("class"));
            let mut saw = (false, false);
            for line in jobs.lines().skip(1) {
                let f: Vec<&str> = line.split(',').collect();
                assert!(!f[nodes].is_empty(), "a job without nodes: {line}");
                if f[class] == "training" {
                    assert!(f[gpus].parse::<u32>().unwrap() >= 1, "{line}");
                    saw.0 = true;
                }
                if f[class] == "notebook" {
                    assert_eq!(f[mig], "1", "{line}");
                    // The interactive pool's nodes are the MIG nodes, numbered 40 to 47.
                    assert!(f[nodes].parse::<u32>().unwrap() >= 40, "{line}");
                    saw.1 = true;
                }
            }
            assert!(saw.0 && saw.1);
            let html = std::fs::read_to_string(out.join("report.html")).unwrap();
            assert!(html.contains("GPU fragmentation"));
        }
    }
}

#[test]
fn the_bench_scenario_is_valid() {
    let v = clustersim(&["validate", &repo("scenarios/bench-10k-gpu.toml")]);
    assert!(v.status.success(), "{}", text(&v));
    assert!(text(&v).contains("10000 nodes"), "{}", text(&v));
}

#[test]
fn flags_override_the_file() {
    let dir = scratch("scenario_flags");
    let file = repo("scenarios/mixed.toml");
    let out = dir.join("run");
    let r = clustersim(&[
        "run",
        &file,
        "--policy",
        "easy",
        "--seed",
        "9",
        "--bsld-tau",
        "60",
        "--no-plots",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["policy"], "easy");
    assert_eq!(summary["seed"], 9);
    assert_eq!(summary["options"]["bsld_tau_s"], 60);
    // format = "both" in the file, csv on the command line.
    assert!(out.join("summary.csv").is_file());
    assert!(!out.join("summary.parquet").exists());
    assert!(!out.join("report.html").exists());
}

/// The jobs.csv of `clustersim run ARGS --out DIR`.
fn jobs_csv(args: &[&str], out: &Path) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--no-plots", "-q", "--out", out.to_str().unwrap()]);
    let r = clustersim(&all);
    assert!(r.status.success(), "{}", text(&r));
    std::fs::read_to_string(out.join("jobs.csv")).unwrap()
}

#[test]
fn a_cluster_replays_swf_exactly_like_a_processor_pool_of_its_size() {
    let dir = scratch("scenario_equivalence");
    // mixed.toml: 16 nodes of 8 cores = the demo trace's 128 processors.
    let trace = repo("workloads/demo-3000-128.swf");
    for policy in ["fcfs", "easy", "conservative"] {
        let from_scenario = jobs_csv(
            &["run", &repo("scenarios/mixed.toml"), "--policy", policy],
            &dir.join(format!("scenario-{policy}")),
        );
        let from_pool = jobs_csv(
            &[
                "run",
                "--workload",
                &trace,
                "--procs",
                "128",
                "--policy",
                policy,
            ],
            &dir.join(format!("pool-{policy}")),
        );
        assert!(
            from_scenario == from_pool,
            "{policy}: the cluster's schedule differs from the pool's"
        );
    }
    // A real trace, on a cluster of two node types adding up to CTC-SP2's 338 processors.
    let Some(shared) = common::shared_dir("a_cluster_replays_swf_exactly") else {
        return;
    };
    let ctc = shared.join("traces/swf/CTC-SP2-1996-3.1-cln.swf.gz");
    let scenario = dir.join("ctc.toml");
    std::fs::write(
        &scenario,
        format!(
            "[cluster.node_types.thin]\ncount = 300\ncores = 1\nmemory_gb = 1\n\
             [cluster.node_types.wide]\ncount = 2\ncores = 19\nmemory_gb = 2\n\
             [workload]\ntrace = {:?}\n",
            ctc.display().to_string()
        ),
    )
    .unwrap();
    for policy in ["fcfs", "easy", "conservative"] {
        let from_scenario = jobs_csv(
            &["run", scenario.to_str().unwrap(), "--policy", policy],
            &dir.join(format!("ctc-scenario-{policy}")),
        );
        let from_pool = jobs_csv(
            &[
                "run",
                "--workload",
                ctc.to_str().unwrap(),
                "--policy",
                policy,
            ],
            &dir.join(format!("ctc-pool-{policy}")),
        );
        assert!(
            from_scenario == from_pool,
            "CTC-SP2 {policy}: the cluster's schedule differs from the pool's"
        );
    }
}

/// Runs `validate` on `body` and returns the error line.
fn error_of(dir: &Path, name: &str, body: &str) -> String {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, body).unwrap();
    let v = clustersim(&["validate", file.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2), "{name}: {}", text(&v));
    let err = String::from_utf8_lossy(&v.stderr).into_owned();
    assert!(err.contains(&format!("{name}.toml:")), "{name}: {err}");
    err
}

const NODES: &str = "[cluster.node_types.cpu]\ncount = 4\ncores = 8\nmemory_gb = 16\n";
const GENERATOR: &str = "[workload.generator]\njobs = 10\n";

#[test]
fn bad_files_name_the_file_line_and_key() {
    let dir = scratch("scenario_errors");
    let many_types: String = (0..65)
        .map(|i| format!("[cluster.node_types.t{i}]\ncount = 1\ncores = 8\nmemory_gb = 16\n"))
        .collect();
    let cases: [(&str, String, &str); 18] = [
        (
            "unknown_mig_profile",
            "[cluster.node_types.g]\ncount = 1\ncores = 8\nmemory_gb = 16\ngpus = 1\n\
             mig = { profile = \"1g.10gb\", slices_per_gpu = 7 }\n\
             [workload.generator]\njobs = 5\n[[workload.generator.classes]]\nname = \"nb\"\n\
             share = 1\nmig_slices_per_node = 1\nmig_profile = \"2g.20gb\"\nruntime_median_s = 60\n"
                .to_string(),
            ":13: workload.generator.classes[0].mig_profile: no node type is sliced as \"2g.20gb\"",
        ),
        (
            "classes_without_cluster",
            "[workload.generator]\njobs = 5\n[[workload.generator.classes]]\nname = \"a\"\nshare = 1\nruntime_median_s = 60\n".to_string(),
            "workload.generator.classes: node-level job classes need a [cluster]",
        ),
        (
            "unknown_key",
            format!("{NODES}colour = \"red\"\n{GENERATOR}"),
            ":5: cluster.node_types.cpu.colour: unknown field `colour`",
        ),
        (
            "wrong_type",
            format!("[cluster.node_types.cpu]\ncount = \"four\"\ncores = 8\nmemory_gb = 16\n{GENERATOR}"),
            ":2: cluster.node_types.cpu.count: invalid type: string \"four\", expected u32",
        ),
        (
            "syntax",
            "seed = 1\n[cluster.node_types.cpu\ncount = 4\n".to_string(),
            ":2: (syntax):",
        ),
        (
            "unknown_node_type",
            format!("{NODES}\n[cluster.partitions.gpu]\nnode_types = [\"gpu\"]\n{GENERATOR}"),
            ":7: cluster.partitions.gpu.node_types: node type \"gpu\" does not exist",
        ),
        (
            "mig_without_gpus",
            format!("{NODES}mig = {{ profile = \"1g.10gb\", slices_per_gpu = 7 }}\n{GENERATOR}"),
            ":5: cluster.node_types.cpu.mig: MIG slices on a node type without GPUs",
        ),
        (
            "bad_mig_profile",
            format!("{NODES}gpus = 4\nmig = {{ profile = \"big\", slices_per_gpu = 7 }}\n{GENERATOR}"),
            "cluster.node_types.cpu.mig.profile: expected a profile like \"1g.10gb\"",
        ),
        (
            "unknown_policy",
            format!("{NODES}{GENERATOR}[policy]\nname = \"sjf\"\n"),
            ":8: policy.name: unknown variant `sjf`",
        ),
        (
            "no_workload",
            format!("{NODES}[workload]\n"),
            ":5: workload: say where the jobs come from",
        ),
        (
            "cycle_out_of_range",
            format!(
                "{NODES}[workload.generator]\njobs = 5\n[[workload.generator.classes]]\n\
                 name = \"a\"\nshare = 1\nruntime_median_s = 60\ndaily_cycle = [{}]\n\
                 weekly_cycle = [{}]\n",
                ["1e200"; 24].join(", "),
                ["1e200"; 7].join(", ")
            ),
            ":11: workload.generator.classes[0].daily_cycle: the hourly rates",
        ),
        (
            "weights_out_of_range",
            format!(
                "{NODES}[workload.generator]\njobs = 5\n[[workload.generator.classes]]\n\
                 name = \"a\"\nshare = 1\nruntime_median_s = 60\nnodes = [1, 2]\n\
                 node_weights = [1e308, 1e308]\n"
            ),
            ":12: workload.generator.classes[0].node_weights: expected 2 non-negative weights",
        ),
        (
            "node_list_and_cluster",
            format!(
                "{NODES}[workload]\ntrace = \"pods.csv\"\nformat = \"openb\"\n\
                 node_list = \"nodes.csv\"\n"
            ),
            ":8: workload.node_list: the scenario has a [cluster]",
        ),
        (
            "zero_tau",
            format!("{NODES}{GENERATOR}[policy]\nbsld_tau_s = 0\n"),
            ":8: policy.bsld_tau_s: expected at least 1 s",
        ),
        (
            "too_many_jobs",
            format!("{NODES}[workload.generator]\njobs = 100000000000\n"),
            ":6: workload.generator.jobs: expected at most 100000000 jobs",
        ),
        (
            "too_many_node_types",
            format!("{many_types}{GENERATOR}"),
            "cluster.node_types: 65 node types; expected at most 64",
        ),
        (
            "too_many_gpus",
            format!("{NODES}gpus = 4000000000\n{GENERATOR}"),
            ":5: cluster.node_types.cpu.gpus: expected at most 64 GPUs per node",
        ),
        (
            "zero_nodes",
            format!("[cluster.node_types.cpu]\ncount = 0\ncores = 8\nmemory_gb = 16\n{GENERATOR}"),
            ":2: cluster.node_types.cpu.count: expected at least 1 node",
        ),
    ];
    for (name, body, expected) in cases {
        let err = error_of(&dir, name, &body);
        assert!(
            err.contains(expected),
            "{name}: expected {expected:?} in {err:?}"
        );
    }
    // A trace that is not there is named with the scenario's line.
    let file = dir.join("missing_trace.toml");
    std::fs::write(&file, "[workload]\ntrace = \"nope.swf\"\n").unwrap();
    let r = clustersim(&["run", file.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("missing_trace.toml:2: workload.trace") && err.contains("nope.swf"),
        "{err}"
    );
}

#[test]
fn the_scenario_scales_and_filters_its_workload() {
    let dir = scratch("scenario_shaping");
    let file = dir.join("shaped.toml");
    std::fs::write(
        &file,
        format!(
            "[workload]\ntrace = {:?}\nprocs = 128\nload_factor = 1.5\n\
             [workload.filter]\nqueues = [0]\n",
            repo("workloads/demo-3000-128.swf")
        ),
    )
    .unwrap();
    let out = dir.join("run");
    let r = clustersim(&[
        "run",
        file.to_str().unwrap(),
        "--no-plots",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["jobs"]["simulated"], s["metrics"]["interactive"]["jobs"]);
    assert!(s["workload"].as_str().unwrap().contains("load x1.5"));
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[workload]\ntrace = \"x.swf\"\nload_factor = -1\n").unwrap();
    let v = clustersim(&["validate", bad.to_str().unwrap()]);
    assert!(
        text(&v).contains("bad.toml:3: workload.load_factor"),
        "{}",
        text(&v)
    );
}

/// A scenario replaying one trace format: (scenario, format, input jobs, dropped by
/// reason).
type FormatScenario = (
    &'static str,
    &'static str,
    u64,
    &'static [(&'static str, u64)],
);

/// The scenarios that replay each trace format from ../shared.
const FORMAT_SCENARIOS: [FormatScenario; 3] = [
    ("slurm-sacct", "sacct", 4, &[]),
    ("openb", "openb", 8_152, &[("never_started", 897)]),
    (
        "dlrm",
        "dlrm",
        23_871,
        &[("negative_submit", 7_280), ("no_end", 4_201)],
    ),
];

#[test]
fn every_trace_format_replays_end_to_end_from_its_scenario() {
    if common::shared_dir("every_trace_format_replays_end_to_end_from_its_scenario").is_none() {
        return;
    }
    let dir = scratch("format-scenarios");
    for (name, format, input, dropped) in FORMAT_SCENARIOS {
        let out = dir.join(name);
        let o = clustersim(&[
            "run",
            &repo(&format!("scenarios/{name}.toml")),
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
            "--quiet",
        ]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["format"], format, "{name}");
        let jobs = &summary["jobs"];
        assert_eq!(jobs["input"], input, "{name}");
        let drops: u64 = dropped.iter().map(|(_, n)| n).sum();
        assert_eq!(jobs["simulated"], input - drops, "{name}");
        for (reason, n) in dropped {
            assert_eq!(jobs["dropped_by_reason"][reason], *n, "{name}: {reason}");
        }
        // Node-level jobs: the jobs table names each job's nodes.
        let table = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
        assert_eq!(table.lines().count() as u64, 1 + input - drops, "{name}");
        assert!(table.lines().next().unwrap().contains("nodes"), "{name}");
    }
}

/// A cluster of two nodes with 4 whole GPUs each, in one batch-only partition.
const GPU_NODES: &str =
    "[cluster.node_types.gpu]\ncount = 2\ncores = 32\nmemory_gb = 256\ngpus = 4\n\
                         [cluster.partitions.batch]\nnode_types = [\"gpu\"]\nkinds = \"batch\"\n";

/// One job class (lines 11 on), with `extra` keys.
fn one_class(extra: &str) -> String {
    format!(
        "{GPU_NODES}[workload.generator]\njobs = 20\n[[workload.generator.classes]]\n\
         name = \"c\"\nshare = 1\nruntime_median_s = 60\n{extra}"
    )
}

#[test]
fn validate_checks_everything_run_and_sweep_would() {
    let dir = scratch("validate-complete");
    let generated = format!("{GPU_NODES}[workload.generator]\njobs = 20\n");
    // The sweep: unknown keys, empty lists and huge grids, at their lines.
    for (name, sweep, expected) in [
        (
            "sweep_unknown_key",
            "[sweep.grid]\n\"policy.nmae\" = [\"easy\"]\n",
            ":12: sweep.grid.policy.nmae: in the run policy.nmae = \"easy\": policy.nmae: unknown field `nmae`",
        ),
        ("sweep_empty_list", "[sweep.grid]\nseed = []\n", ":12: sweep.grid.seed: no values"),
        (
            "sweep_huge",
            "[sweep.grid]\nseed = { from = 1, to = 1000 }\n\"workload.generator.jobs\" = { from = 1, to = 1000 }\n\
             \"workload.generator.load\" = { from = 0.001, to = 1.0, step = 0.001 }\n",
            ":11: sweep: the sweep has 1000 x 1000 x 1000 runs",
        ),
    ] {
        let err = error_of(&dir, name, &format!("{generated}{sweep}"));
        assert!(err.contains(expected), "{name}: {err}");
    }
    // A missing trace fails before anything is called valid.
    let file = dir.join("missing_trace.toml");
    std::fs::write(&file, "[workload]\ntrace = \"nowhere.swf\"\n").unwrap();
    let v = clustersim(&["validate", file.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2), "{}", text(&v));
    assert!(!text(&v).contains("valid scenario"), "{}", text(&v));
    // Job classes that can never be placed: every job would be dropped, so `validate` and
    // `run` refuse them at the classes' line, unless --allow-empty.
    for (name, extra) in [
        ("more_gpus_than_a_node", "gpus_per_node = [16]\n"),
        ("mig_without_mig", "mig_slices_per_node = 1\n"),
        ("interactive_without_partition", "kind = \"interactive\"\n"),
    ] {
        let body = one_class(extra);
        let err = error_of(&dir, name, &body);
        assert!(
            err.contains(&format!("{name}.toml:11: workload.generator.classes"))
                && (err.contains("every one of the 20 jobs would be dropped")
                    || err.contains("workload.generator.classes[0].")),
            "{name}: {err}"
        );
        let file = dir.join(format!("{name}.toml"));
        let file = file.to_str().unwrap();
        if err.contains("every one of the 20 jobs would be dropped") {
            assert!(err.contains("--allow-empty"), "{name}: {err}");
            let r = clustersim(&["run", file, "--no-plots"]);
            assert_eq!(r.status.code(), Some(2), "{name}: {}", text(&r));
            assert!(
                text(&r).contains("every one of the 20 jobs"),
                "{name}: {}",
                text(&r)
            );
            let r = clustersim(&["run", file, "--no-plots", "--allow-empty"]);
            assert!(r.status.success(), "{name}: {}", text(&r));
            let v = clustersim(&["validate", file, "--allow-empty"]);
            assert!(v.status.success(), "{name}: {}", text(&v));
        }
    }
    // A class that fits is valid, and validate says how many of its jobs would run.
    let file = dir.join("fits.toml");
    std::fs::write(&file, one_class("gpus_per_node = [4]\n")).unwrap();
    let v = clustersim(&["validate", file.to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
    assert!(
        text(&v).contains("20 to simulate, 0 dropped"),
        "{}",
        text(&v)
    );
}

/// A node count too large is reported at its node type's line, not at the file's first.
#[test]
fn a_node_count_too_large_names_its_node_type_line() {
    let dir = scratch("scenario_node_count");
    let body = format!(
        "name = \"big\"\n\n{}{GENERATOR}",
        NODES.replace("count = 4", "count = 1000000000")
    );
    let err = error_of(&dir, "too_many_nodes", &body);
    assert!(
        err.contains("too_many_nodes.toml:3: cluster.node_types")
            && err.contains("1000000000 nodes"),
        "{err}"
    );
}

/// A class that can never be placed is refused at its own line even when another class
/// fits (its jobs would otherwise be dropped while the run succeeds), unless --allow-empty.
#[test]
fn a_class_that_never_fits_beside_one_that_does_is_refused() {
    let dir = scratch("validate-class-never-fits");
    let body = format!(
        "{}[[workload.generator.classes]]\nname = \"huge\"\nshare = 1\nruntime_median_s = 60\n\
         gpus_per_node = [16]\n",
        one_class("gpus_per_node = [4]\n")
    );
    let err = error_of(&dir, "one_never_fits", &body);
    assert!(
        err.contains("one_never_fits.toml:16: workload.generator.classes[1]")
            && err.contains("class \"huge\" could ever be placed")
            && err.contains("--allow-empty"),
        "{err}"
    );
    let file = dir.join("one_never_fits.toml");
    let file = file.to_str().unwrap();
    let r = clustersim(&[
        "run",
        file,
        "--no-plots",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    let v = clustersim(&["validate", file, "--allow-empty"]);
    assert!(v.status.success(), "{}", text(&v));
}

/// A sweep one of whose runs would drop every job: validate names the run, file and line;
/// sweep stops on it; --allow-empty runs it.
#[test]
fn a_sweep_run_that_drops_every_job_is_refused() {
    let dir = scratch("sweep-run-empty");
    let body = format!(
        "{}[sweep.grid]\n\"cluster.node_types.gpu.gpus\" = [4, 2]\n",
        one_class("gpus_per_node = [4]\n")
    );
    let err = error_of(&dir, "empty_run", &body);
    assert!(
        err.contains("in the sweep's run 1 (cluster.node_types.gpu.gpus = 2)")
            && err.contains("empty_run.toml:11: workload.generator.classes"),
        "{err}"
    );
    let file = dir.join("empty_run.toml");
    let file = file.to_str().unwrap();
    let out = dir.join("out");
    let s = clustersim(&["sweep", file, "--quiet", "--out", out.to_str().unwrap()]);
    assert_eq!(s.status.code(), Some(2), "{}", text(&s));
    assert!(
        text(&s).contains("every one of the 20 jobs"),
        "{}",
        text(&s)
    );
    let out = dir.join("out-allowed");
    let s = clustersim(&[
        "sweep",
        file,
        "--quiet",
        "--allow-empty",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(s.status.success(), "{}", text(&s));
}
