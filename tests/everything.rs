//! Every model at once: node and leaf-switch failures, checkpoints, start-up latency, class
//! time limits, activity profiles and the idle culler, patience, per-user QOS limits, GPU
//! speed and fabric slowdown, leaf-switch limits, staging through a shared file system,
//! under every policy. Every invariant holds, runs repeat exactly, and a sweep writes the
//! same bytes at any thread count. (Preemption, which conservative refuses, has its own
//! such test in `tests/preemption.rs`.)

mod common;

use clustersim::check::{check_filesystem, check_nodes, check_policy, check_schedule};
use clustersim::lifecycle::SegmentEnd;
use clustersim::policy::PolicyKind;
use common::{clustersim_in_repo, scratch, text};

const EVERYTHING: &str = r#"
name = "everything"
seed = 9

[cluster.node_types.a100]
count = 8
cores = 64
memory_gb = 512
gpus = 8
gpu_speed = 1.0

[cluster.node_types.h100]
count = 8
cores = 96
memory_gb = 1024
gpus = 8
gpu_speed = 2.0

[cluster.node_types.mig]
count = 2
cores = 64
memory_gb = 512
gpus = 4
mig = { profile = "1g.10gb", slices_per_gpu = 7 }

[cluster.partitions.batch]
node_types = ["a100", "h100"]
kinds = "batch"
max_walltime_s = 86400

[cluster.partitions.notebooks]
node_types = ["mig"]
kinds = "interactive"
max_walltime_s = 14400
priority = 10
placement = "spread"

[cluster.fabric]
nodes_per_leaf = 4
leaves_per_spine = 5
oversubscription = 2.0

[workload.generator]
jobs = 600
load = 0.9

[[workload.generator.classes]]
name = "training"
share = 0.5
partition = "batch"
nodes = [1, 2, 4]
gpus_per_node = [8]
cores_per_node = 32
memory_gb_per_node = 256
runtime_median_s = 5400
checkpoint_interval_s = 900
checkpoint_cost_s = 60
communication_share = 0.4
stage_in_gb = 200
stage_out_gb = 50
switches = 1
max_switch_wait_s = 120

[[workload.generator.classes]]
name = "notebook"
share = 0.5
kind = "interactive"
partition = "notebooks"
mig_slices_per_node = 1
cores_per_node = 2
memory_gb_per_node = 16
runtime_median_s = 5400
time_limit_s = 7200
startup = { dist = "lognormal", median_s = 10, sigma = 0.5 }
patience = { dist = "lognormal", median_s = 900, sigma = 1.0 }
busy = { dist = "lognormal", median_s = 600, sigma = 1.0 }
idle = { dist = "lognormal", median_s = 900, sigma = 1.0 }
on_node_failure = "requeue"
users = 4
stage_in_gb = 5

[failures.node_types.a100]
time_between = { dist = "weibull", shape = 0.8, scale_s = 300000 }
repair = { dist = "lognormal", median_s = 3600, sigma = 1.0 }

[failures.node_types.mig]
time_between = { dist = "exponential", mean_s = 400000 }
repair = { dist = "lognormal", median_s = 1800, sigma = 0.5 }

[failures.leaf_switches]
time_between = { dist = "exponential", mean_s = 1500000 }
repair = { dist = "lognormal", median_s = 1200, sigma = 0.5 }

[rates]
gpu_speed = true
fabric_slowdown = 1.0

# Slow enough that jobs time out, fail and are culled while staging.
[filesystem]
bandwidth_gb_s = 0.5

[policy]
name = "easy"
placement = "best-fit"

[policy.culler]
timeout_s = 1800

[policy.qos]
max_sessions_per_user = 2

[sweep]
[sweep.grid]
"policy.name" = ["fcfs", "easy", "conservative"]
seed = { from = 1, to = 2 }
"#;

#[test]
fn every_model_at_once_keeps_every_invariant_and_repeats_exactly() {
    let dir = scratch("everything");
    let path = dir.join("everything.toml");
    std::fs::write(&path, EVERYTHING).unwrap();
    let loaded = clustersim::scenario::load(&path).unwrap();
    for seed in [9, 10, 11] {
        let request = clustersim::plan::RunRequest {
            seed: Some(seed),
            ..Default::default()
        };
        let plan = clustersim::plan::plan_run(&request, Some(&loaded), None).unwrap();
        every_policy(&plan);
    }
}

fn every_policy(plan: &clustersim::plan::RunPlan) {
    let w = &plan.workload;
    for policy in PolicyKind::ALL {
        let run = || clustersim::run::run(w, policy, &plan.options, &mut |_| {}).unwrap();
        let a = run();
        check_schedule(w, &a.result).unwrap_or_else(|v| panic!("{policy}: {v}"));
        check_nodes(w, &a.result).unwrap_or_else(|v| panic!("{policy}: {v}"));
        check_policy(policy, w, &a.result).unwrap_or_else(|v| panic!("{policy}: {v}"));
        check_filesystem(w, &a.result, plan.options.filesystem)
            .unwrap_or_else(|v| panic!("{policy}: {v}"));
        let b = run();
        assert_eq!(a.result, b.result, "{policy}");
        assert_eq!(a.summary.metrics, b.summary.metrics, "{policy}");
        // Each model did something.
        let m = &a.summary.metrics;
        let f = m.failures.as_ref().expect("failures");
        assert!(f.node_failures > 0 && f.jobs_hit > 0, "{policy}: {f:?}");
        assert!(
            m.culler.as_ref().is_some_and(|c| c.sessions_culled > 0),
            "{policy}"
        );
        assert!(m.session_start.timeouts > 0, "{policy}");
        let rates = m.rates.as_ref().expect("rates");
        assert!(rates.rate_mean != 1.0, "{policy}: {rates:?}");
        assert!(m.lifecycle.goodput < 1.0, "{policy}");
        assert!(m.qos.as_ref().is_some_and(|q| q.rejected > 0), "{policy}");
        assert!(m.switches.as_ref().is_some_and(|s| s.jobs > 0), "{policy}");
        let fs = m.filesystem.as_ref().expect("filesystem");
        assert!(fs.busy_s > 0.0 && fs.stagers_max >= 2, "{policy}: {fs:?}");
        // Some segment was cut short while staging (the checkers replayed it).
        let r = &a.result;
        assert!(
            r.segments.iter().enumerate().any(|(k, s)| {
                let st = r.stages_of(k);
                s.ended != SegmentEnd::Completed
                    && (st.out_ms > 0 || st.in_ms == (s.end - s.start).as_ms())
                    && st.total_ms() > 0
            }),
            "{policy}"
        );
    }
}

#[test]
fn a_sweep_with_every_model_on_writes_the_same_bytes_at_any_thread_count() {
    let dir = scratch("everything-sweep");
    let path = dir.join("everything.toml");
    std::fs::write(&path, EVERYTHING).unwrap();
    let mut tables = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.join(format!("out-{threads}"));
        let o = clustersim_in_repo(&[
            "sweep",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
            "--force",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        tables.push(std::fs::read(out.join("sweep.csv")).unwrap());
    }
    assert_eq!(tables[0], tables[1]);
}
