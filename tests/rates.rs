//! The rate model (`[rates]`): GPU speed and fabric slowdown. Hand-computed cases
//! (topology-aware placement slowing a job less than first-fit, a job on a faster GPU
//! finishing sooner, a mixed node set running at its slowest GPU, both factors at once),
//! the invariants with the model on, a run with the model off equal to today's, bad keys,
//! and the example scenarios.

mod common;

use common::repo;

use clustersim::check::{check_nodes, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::lifecycle::RunResult;
use clustersim::plan::{plan_run, RunRequest};
use clustersim::policy::PolicyKind;
use clustersim::rates::{RateSettings, Rates};
use clustersim::simulation::{simulate_with, SimOptions};
use clustersim::workload::classes::ClassShares;
use clustersim::workload::Workload;
use common::nodes::{cluster, workload};
use common::{clustersim, scenario_file, scratch, text};
use std::path::Path;

fn run(w: &Workload, policy: PolicyKind, settings: RateSettings) -> RunResult {
    let model = Rates::new(settings, w.nodes.as_deref().unwrap());
    let mut p = policy.build_for(w).unwrap();
    let options = SimOptions {
        rates: Some(&model),
        ..SimOptions::default()
    };
    let r = simulate_with(w, p.as_mut(), options, &mut |_| {}).expect("the run completes");
    // The checkers replay every segment at its recorded rate.
    check_schedule(w, &r).unwrap();
    check_nodes(w, &r).unwrap();
    r
}

const FABRIC: RateSettings = RateSettings {
    gpu_speed: false,
    fabric_slowdown: 1.0,
    oversubscription: 3.0,
};

/// Eight 8-GPU nodes, four per leaf (leaf 0: nodes 0-3, leaf 1: nodes 4-7), 3:1.
const TWO_LEAVES: &str = "[node_types.gpu]\ncount = 8\ncores = 16\nmemory_gb = 64\ngpus = 8\n\
     [fabric]\nnodes_per_leaf = 4\nleaves_per_spine = 2\noversubscription = 3.0\n";

/// Job 1 (one node, 10,000 s) takes node 0; job 2 (four nodes, 1,000 s of work) starts at
/// once beside it.
///
/// First-fit gives job 2 nodes 1-4: three on leaf 0, one on leaf 1, so 3 of its 6 node
/// pairs cross (cross-leaf fraction 0.5). With c = 1, the default communication share 0.3
/// of a multi-node job and oversubscription 3: rate = 1 / (1 + 1 × 0.3 × 0.5 × 3) =
/// 1 / 1.45 = 0.689655 (rounded to the millionth), and 1,000 s of work take
/// ⌈1,000,000 ms / 0.689655⌉ = 1,450,001 ms. Topology-aware placement gives it leaf 1
/// whole: no pair crosses, rate 1, 1,000 s.
#[test]
fn topology_aware_placement_slows_a_job_less_than_first_fit() {
    let spec = cluster(TWO_LEAVES);
    let jobs = [(0, 10_000, 20_000, 1, 8), (0, 1_000, 5_000, 4, 8)];
    for (placement, nodes, rate, end_ms) in [
        (Placement::FirstFit, vec![1, 2, 3, 4], 689_655, 1_450_001),
        (Placement::Topology, vec![4, 5, 6, 7], 1_000_000, 1_000_000),
    ] {
        let w = workload(&spec, &jobs, placement);
        for policy in PolicyKind::ALL {
            let r = run(&w, policy, FABRIC);
            let s = r.segments.iter().find(|s| s.job.get() == 1).unwrap();
            assert_eq!(r.nodes_of(s), nodes, "{placement:?} {policy}");
            assert_eq!(s.rate.millionths(), rate, "{placement:?} {policy}");
            assert_eq!(r.end[1].as_ms(), end_ms, "{placement:?} {policy}");
        }
        let r = run(&w, PolicyKind::Easy, FABRIC);
        let model = Rates::new(FABRIC, w.nodes.as_deref().unwrap());
        let m = model.metrics(&w, &r);
        // 1,450.001 s × (1 − 1/1.45) = 450.0003 s added; 4 nodes × that.
        let added = if placement == Placement::FirstFit {
            1_450.001 * (1.0 - 1.0 / 1.45)
        } else {
            0.0
        };
        assert!((m.fabric_time_added_s - added).abs() < 1e-6, "{m:?}");
        assert!((m.fabric_node_hours_added - 4.0 * added / 3600.0).abs() < 1e-9);
        let slowed = u64::from(placement == Placement::FirstFit);
        assert_eq!(m.jobs_slowed_by_fabric, slowed);
        assert_eq!(m.jobs_on_several_leaves, slowed);
    }
}

/// A non-blocking fabric (oversubscription 1): c alone applies. The same first-fit job:
/// 1 / (1 + 0.3 × 0.5) = 0.869565.
#[test]
fn a_non_blocking_fabric_still_slows_by_c() {
    let spec = cluster(&TWO_LEAVES.replace("3.0", "1.0"));
    let jobs = [(0, 10_000, 20_000, 1, 8), (0, 1_000, 5_000, 4, 8)];
    let w = workload(&spec, &jobs, Placement::FirstFit);
    let settings = RateSettings {
        oversubscription: 1.0,
        ..FABRIC
    };
    let r = run(&w, PolicyKind::Fcfs, settings);
    assert_eq!(r.segments[1].rate.millionths(), 869_565);
}

/// One H100 node (gpu_speed 2) and one A100 node (1.0, the reference), in that order.
const MIXED: &str = "[node_types.h100]\ncount = 1\ncores = 16\nmemory_gb = 64\ngpus = 8\n\
     gpu_speed = 2.0\n[node_types.a100]\ncount = 1\ncores = 16\nmemory_gb = 64\ngpus = 8\n";

const GPU: RateSettings = RateSettings {
    gpu_speed: true,
    fabric_slowdown: 0.0,
    oversubscription: 1.0,
};

#[test]
fn a_job_on_a_faster_gpu_finishes_sooner_and_a_mixed_set_runs_at_the_slowest() {
    let spec = cluster(MIXED);
    // Job 1 lands on the H100 (first-fit), job 2 on the A100, both 1,000 s of work; job 3
    // (two nodes) then runs on both.
    let jobs = [
        (0, 1_000, 2_000, 1, 8),
        (0, 1_000, 2_000, 1, 8),
        (0, 1_000, 2_000, 2, 8),
    ];
    let w = workload(&spec, &jobs, Placement::FirstFit);
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, GPU);
        let (s1, s2) = (&r.segments[0], &r.segments[1]);
        assert_eq!((r.nodes_of(s1), r.nodes_of(s2)), (&[0][..], &[1][..]));
        assert_eq!(r.end[0].as_ms() - r.start[0].as_ms(), 500_000, "{policy}");
        assert_eq!(r.end[1].as_ms() - r.start[1].as_ms(), 1_000_000, "{policy}");
        // On one H100 and one A100: the A100's speed.
        assert_eq!(r.start[2].as_ms(), 1_000_000, "{policy}");
        assert_eq!(r.end[2].as_ms(), 2_000_000, "{policy}");
        assert_eq!(r.segments[2].rate.millionths(), 1_000_000);
    }
    let r = run(&w, PolicyKind::Easy, GPU);
    let m = Rates::new(GPU, w.nodes.as_deref().unwrap()).metrics(&w, &r);
    // Job 1's 500 s at rate 2 saved 500 s against the reference.
    assert!((m.gpu_time_saved_s - 500.0).abs() < 1e-9, "{m:?}");
    assert_eq!(m.jobs_slowed_by_fabric, 0);
}

/// A class whose work is a quarter GPU-bound gains by Amdahl's law only:
/// 1 / (0.75 + 0.25 / 2) = 1.142857; a CPU job (no GPUs) runs at 1 on the H100 node.
#[test]
fn the_gpu_bound_share_weighs_the_speed_by_amdahls_law() {
    let spec = cluster(MIXED);
    let mut w = workload(&spec, &[(0, 1_000, 2_000, 1, 8)], Placement::FirstFit);
    w.nodes.as_mut().unwrap().class_rates = vec![ClassShares {
        gpu_bound: Some(0.25),
        communication: None,
    }];
    let r = run(&w, PolicyKind::Fcfs, GPU);
    assert_eq!(r.segments[0].rate.millionths(), 1_142_857);
    // ⌈1,000,000 / 1.142857⌉
    assert_eq!(r.end[0].as_ms(), 875_001);
    let mut w = workload(&spec, &[(0, 1_000, 2_000, 1, 0)], Placement::FirstFit);
    w.nodes.as_mut().unwrap().requests[0].gpus_per_node = 0;
    let r = run(&w, PolicyKind::Fcfs, GPU);
    assert_eq!(r.segments[0].rate.millionths(), 1_000_000);
    assert_eq!(r.end[0].as_ms(), 1_000_000);
}

/// Both factors multiply: four H100 nodes (speed 2) placed 3 + 1 across leaves, c = 1,
/// 3:1: rate = 2 / 1.45 = 1.379310, and 1,000 s of work take ⌈1,000,000 / 1.37931⌉ =
/// 725,001 ms.
#[test]
fn gpu_speed_and_fabric_multiply() {
    let spec = cluster(&TWO_LEAVES.replace("gpus = 8\n", "gpus = 8\ngpu_speed = 2.0\n"));
    let jobs = [(0, 10_000, 20_000, 1, 8), (0, 1_000, 5_000, 4, 8)];
    let w = workload(&spec, &jobs, Placement::FirstFit);
    let both = RateSettings {
        gpu_speed: true,
        ..FABRIC
    };
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, both);
        let s = r.segments.iter().find(|s| s.job.get() == 1).unwrap();
        assert_eq!(s.rate.millionths(), 1_379_310, "{policy}");
        assert_eq!(r.end[1].as_ms(), 725_001, "{policy}");
        // Job 1, alone on its node: twice as fast.
        assert_eq!(r.end[0].as_ms(), 5_000_000, "{policy}");
    }
}

/// Runs a scenario file in-process, checking the invariants; returns the schedule and the
/// summary as JSON.
fn run_scenario(path: &Path) -> (Workload, RunResult, serde_json::Value) {
    let loaded = clustersim::scenario::load(path).unwrap();
    let plan = plan_run(&RunRequest::default(), Some(&loaded), None).unwrap();
    let out =
        clustersim::run::run(&plan.workload, plan.policies[0], &plan.options, &mut |_| {}).unwrap();
    check_schedule(&plan.workload, &out.result).unwrap();
    check_nodes(&plan.workload, &out.result).unwrap();
    let summary = serde_json::to_value(&out.summary).unwrap();
    (plan.workload, out.result, summary)
}

/// A small GPU cluster with a fabric, speeds other than 1, and multi-node jobs.
const SCENARIO: &str = r#"
seed = 3
[cluster.node_types.fast]
count = 8
cores = 32
memory_gb = 256
gpus = 4
gpu_speed = 1.5
[cluster.node_types.slow]
count = 8
cores = 32
memory_gb = 256
gpus = 4
gpu_speed = 0.8
[cluster.fabric]
nodes_per_leaf = 4
leaves_per_spine = 4
oversubscription = 2.0
[workload.generator]
jobs = 400
load = 0.9
[[workload.generator.classes]]
name = "train"
share = 0.6
gpus = [1, 4, 8, 16]
cores_per_node = 8
memory_gb_per_node = 32
runtime_median_s = 1800
[[workload.generator.classes]]
name = "cpu"
share = 0.4
nodes = [1, 2, 4]
cores_per_node = 8
memory_gb_per_node = 16
runtime_median_s = 900
communication_share = 0.5
[policy]
name = "POLICY"
placement = "PLACEMENT"
"#;

#[test]
fn runs_keep_every_invariant_with_the_model_on_and_are_unchanged_with_it_off() {
    let dir = scratch("rates_scenarios");
    for policy in ["fcfs", "easy", "conservative"] {
        for placement in ["first-fit", "best-fit", "topology"] {
            let base = SCENARIO
                .replace("POLICY", policy)
                .replace("PLACEMENT", placement);
            let name = format!("{policy}-{placement}");
            let (_, today, today_summary) =
                run_scenario(&scenario_file(&dir, &format!("{name}-today"), &base));
            // Turned off explicitly: the same run, the same summary.
            let off = format!("{base}[rates]\ngpu_speed = false\nfabric_slowdown = 0.0\n");
            let (_, r, s) = run_scenario(&scenario_file(&dir, &format!("{name}-off"), &off));
            assert_eq!(r, today, "{name}");
            assert_eq!(
                s["metrics"], today_summary["metrics"],
                "{name}: the model off adds no metrics"
            );
            assert!(s["metrics"].get("rates").is_none());
            // On: still every invariant (checked by run_scenario), rates other than 1.
            let on = format!("{base}[rates]\ngpu_speed = true\nfabric_slowdown = 2.0\n");
            let (_, r, s) = run_scenario(&scenario_file(&dir, &format!("{name}-on"), &on));
            assert!(r.segments.iter().any(|s| s.rate.millionths() > 1_000_000));
            assert!(r.segments.iter().any(|s| s.rate.millionths() < 1_000_000));
            let m = &s["metrics"]["rates"];
            assert!(m["rate_mean"].as_f64().unwrap() > 0.0, "{m}");
            assert_eq!(s["options"]["rates"]["oversubscription"], 2.0);
            // Deterministic: the same again.
            let (_, again, _) = run_scenario(&scenario_file(&dir, &format!("{name}-on"), &on));
            assert_eq!(again, r, "{name}");
        }
    }
}

#[test]
fn bad_keys_name_the_file_line_and_key() {
    let dir = scratch("rates_errors");
    let base = SCENARIO
        .replace("POLICY", "easy")
        .replace("PLACEMENT", "best-fit");
    let cases: Vec<(&str, String, &str, &str)> =
        vec![
        (
            "negative_c",
            format!("{base}[rates]\nfabric_slowdown = -1.0\n"),
            "fabric_slowdown",
            "rates.fabric_slowdown: expected 0 (off) to 100, got -1",
        ),
        (
            "unknown_key",
            format!("{base}[rates]\nspeed = true\n"),
            "speed",
            "rates.speed: unknown field `speed`",
        ),
        (
            "no_fabric",
            format!(
                "{}[rates]\nfabric_slowdown = 1.0\n",
                base.replace(
                    "[cluster.fabric]\nnodes_per_leaf = 4\nleaves_per_spine = 4\n\
                     oversubscription = 2.0\n",
                    ""
                )
            ),
            "fabric_slowdown",
            "rates.fabric_slowdown: a fabric slowdown needs leaf switches",
        ),
        (
            "share_above_one",
            base.replace("communication_share = 0.5", "communication_share = 1.5"),
            "communication_share",
            "workload.generator.classes[1].communication_share: expected a share from 0 to 1",
        ),
        (
            "negative_gpu_share",
            base.replace("name = \"train\"\n", "name = \"train\"\ngpu_bound_share = -0.1\n"),
            "gpu_bound_share",
            "workload.generator.classes[0].gpu_bound_share: expected a share from 0 to 1",
        ),
        (
            "speed_out_of_range",
            format!(
                "{}[rates]\ngpu_speed = true\n",
                base.replace("gpu_speed = 0.8", "gpu_speed = 1000.0")
            ),
            "gpu_speed = 1000",
            "cluster.node_types.slow.gpu_speed: with [rates] gpu_speed on, expected 0.01 to 100",
        ),
    ];
    common::assert_located_errors(&dir, cases);
    // On a workload of processors anywhere: the scenario says where.
    let pool = "[workload.generator]\njobs = 10\nprocs = 64\n[rates]\ngpu_speed = true\n";
    let file = scenario_file(&dir, "pool", pool);
    let r = clustersim(&["run", file.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("pool.toml:4: rates: the rate model needs jobs that ask for nodes"),
        "{err}"
    );
}

/// The examples: they validate and run; on the 3:1 fabric topology-aware placement adds
/// less fabric time than first-fit; on the H100/A100 cluster training on the H100s saves
/// more GPU time than training on the A100s.
#[test]
fn the_example_scenarios_validate_and_run() {
    let dir = scratch("rates_examples");
    for name in ["fabric-oversubscribed", "h100-a100"] {
        let file = repo(&format!("scenarios/{name}.toml"));
        let v = clustersim(&["validate", &file]);
        assert!(v.status.success(), "{name}: {}", text(&v));
        let out = dir.join(name);
        let r = clustersim(&["run", &file, "--out", out.to_str().unwrap(), "--force"]);
        assert!(r.status.success(), "{name}: {}", text(&r));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert!(summary["metrics"]["rates"].is_object(), "{name}");
        let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
        assert!(jobs.lines().next().unwrap().contains(",leaves,rate,"));
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(html.contains("<section id=\"rates\">"), "{name}");
    }
    let text_of = |name: &str| std::fs::read_to_string(repo(&format!("scenarios/{name}"))).unwrap();
    let fabric = text_of("fabric-oversubscribed.toml");
    let added = |placement: &str| {
        let body = fabric.replace(
            "placement = \"first-fit\"",
            &format!("placement = \"{placement}\""),
        );
        let (_, _, s) = run_scenario(&scenario_file(&dir, placement, &body));
        s["metrics"]["rates"]["fabric_time_added_s"]
            .as_f64()
            .unwrap()
    };
    let (first_fit, topology) = (added("first-fit"), added("topology"));
    assert!(
        topology < first_fit,
        "topology {topology} s, first-fit {first_fit} s"
    );
    let mixed = text_of("h100-a100.toml");
    let saved = |training: &str, preprocessing: &str| {
        let body = mixed
            .replacen(
                "partition = \"any\"",
                &format!("partition = \"{training}\""),
                1,
            )
            .replacen(
                "partition = \"any\"",
                &format!("partition = \"{preprocessing}\""),
                1,
            );
        let (_, _, s) = run_scenario(&scenario_file(
            &dir,
            &format!("{training}-{preprocessing}"),
            &body,
        ));
        s["metrics"]["rates"]["gpu_time_saved_s"].as_f64().unwrap()
    };
    assert!(saved("h100", "a100") > saved("a100", "h100"));
}

/// Sweeps with the model on give the same bytes at any thread count.
#[test]
fn sweeps_with_the_model_on_are_the_same_at_any_thread_count() {
    let dir = scratch("rates_sweep_threads");
    let file = repo("scenarios/h100-a100.toml");
    let csv = common::sweep_csv_at_any_thread_count(&file, &dir);
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("rates.gpu_time_saved_s"));
}

#[test]
fn a_sweep_over_a_rate_setting_writes_its_tables() {
    // The rate metrics repeat the model's settings (`rates.fabric_slowdown`): swept, that
    // name is the key's column, not a second one.
    let dir = scratch("rates_sweep");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fabric-oversubscribed.toml"),
    )
    .unwrap();
    let grid = example.find("[sweep.grid]").unwrap();
    let body = format!(
        "{}[sweep.grid]\n\"rates.fabric_slowdown\" = [0.5, 1.0]\n",
        &example[..grid]
    )
    .replace("jobs = 2000", "jobs = 200");
    let file = scenario_file(&dir, "sweep", &body);
    let out = dir.join("out");
    let o = clustersim(&[
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let header = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header = header.lines().next().unwrap();
    assert_eq!(
        header.matches("rates.fabric_slowdown,").count(),
        1,
        "{header}"
    );
}
