//! Node failures: a node that goes down takes its jobs along (requeued or ended `failed`,
//! by class), is out of service until its repair, and every policy plans around it.
//! Hand-computed cases under every policy, the invariants on random failures, and the
//! scenario's `[failures]`.

mod common;

use clustersim::check::{check_nodes, check_policy, check_schedule};
use clustersim::cluster::nodes::{NodeState, Placement};
use clustersim::engine::time::SimTime;
use clustersim::failures::{parse_log, Failures};
use clustersim::lifecycle::{Outcome, RunResult, SegmentEnd};
use clustersim::policy::PolicyKind;
use clustersim::simulation::{simulate, simulate_with, SimOptions};
use clustersim::workload::classes::FailureAction;
use clustersim::workload::{JobKind, Workload};
use common::nodes::{cluster, workload, TWO_GPU_NODES};

fn failures(w: &Workload, log: &str) -> Failures {
    let nodes = w.nodes.as_ref().unwrap().cluster.len();
    let outages = parse_log(&format!("node,down_s,up_s\n{log}"), "log.csv", nodes).unwrap();
    Failures::from_log(&outages, nodes)
}

fn run_with(w: &Workload, policy: PolicyKind, f: &Failures) -> RunResult {
    let mut p = policy.build_for(w).unwrap();
    let options = SimOptions {
        failures: Some(f),
        ..SimOptions::default()
    };
    let r = simulate_with(w, p.as_mut(), options, &mut |_| {}).expect("the run completes");
    check_schedule(w, &r).unwrap();
    check_nodes(w, &r).unwrap();
    check_policy(policy, w, &r).unwrap();
    r
}

fn secs(t: SimTime) -> u64 {
    t.as_ms() / 1000
}

/// Job 1 runs on node 0 from 0 (work 100 s, limit 200 s), job 2 on node 1 from 0 (work 300
/// s, limit 400 s); job 3 (submit 10, 50 s) waits for a whole node. Node 0 fails at 40 and
/// is back at 250.
///
/// At 40 job 1, a batch job, is requeued with its 40 s of work lost; it is ahead of job 3
/// in the queue. Nothing is free until node 0 is back at 250: job 1 starts there again
/// (FCFS and EASY at once; conservative had planned it on node 1 at 400, and compresses it
/// to 250 on the rise), and ends at 350. Job 2 ends at 300 and job 3 starts on node 1.
fn one_outage() -> Workload {
    let spec = cluster(TWO_GPU_NODES);
    let jobs = [(0, 100, 200, 1, 8), (0, 300, 400, 1, 8), (10, 50, 60, 1, 8)];
    workload(&spec, &jobs, Placement::FirstFit)
}

#[test]
fn a_failed_node_requeues_its_batch_job_and_comes_back() {
    let w = one_outage();
    let f = failures(&w, "0,40,250\n");
    for policy in PolicyKind::ALL {
        let r = run_with(&w, policy, &f);
        let outcomes: Vec<Outcome> = r.log.iter().map(|l| l.outcome).collect();
        assert_eq!(outcomes, [Outcome::Completed; 3], "{policy}");
        let segments: Vec<(u64, u64, u64, SegmentEnd, Vec<u32>)> = r
            .segments
            .iter()
            .map(|s| {
                let id = w.jobs[s.job.get()].trace_id;
                (
                    id,
                    secs(s.start),
                    secs(s.end),
                    s.ended,
                    r.nodes_of(s).to_vec(),
                )
            })
            .collect();
        use SegmentEnd::{Completed, Failed};
        assert_eq!(
            segments,
            [
                (1, 0, 40, Failed, vec![0]),
                (2, 0, 300, Completed, vec![1]),
                (1, 250, 350, Completed, vec![0]),
                (3, 300, 350, Completed, vec![1]),
            ],
            "{policy}"
        );
        assert_eq!(r.log[0].requeues, 1, "{policy}");
        assert_eq!(r.log[0].work_lost.as_ms(), 40_000, "{policy}");
        let changes: Vec<(u64, u32, NodeState)> = r
            .node_changes
            .iter()
            .map(|c| (secs(c.at), c.node, c.state))
            .collect();
        assert_eq!(changes, [(40, 0, NodeState::Down), (250, 0, NodeState::Up)]);
    }
}

#[test]
fn a_session_on_a_failed_node_fails_unless_its_class_requeues_it() {
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(&spec, &[(0, 100, 100, 1, 8)], Placement::FirstFit);
    w.jobs[0].kind = JobKind::Interactive;
    let f = failures(&w, "0,30,60\n");
    for policy in PolicyKind::ALL {
        let r = run_with(&w, policy, &f);
        assert_eq!(r.log[0].outcome, Outcome::Failed, "{policy}");
        assert_eq!(secs(r.end[0]), 30, "{policy}");
        assert_eq!(r.segments[0].ended, SegmentEnd::Failed);
    }
    w.nodes.as_mut().unwrap().class_on_failure = vec![Some(FailureAction::Requeue)];
    for policy in PolicyKind::ALL {
        let r = run_with(&w, policy, &f);
        assert_eq!(r.log[0].outcome, Outcome::Completed, "{policy}");
        // Requeued at 30; node 1 is free: it starts again at once.
        let starts: Vec<(u64, Vec<u32>)> = r
            .segments
            .iter()
            .map(|s| (secs(s.start), r.nodes_of(s).to_vec()))
            .collect();
        assert_eq!(starts, [(0, vec![0]), (30, vec![1])], "{policy}");
        assert_eq!(secs(r.end[0]), 130, "{policy}");
    }
}

/// A two-node job cannot run while either node is down: it waits without a reservation,
/// and jobs behind it that fit start (EASY and conservative) instead of waiting with it.
#[test]
fn a_job_that_fits_no_nodes_in_service_waits_and_lets_others_pass() {
    let spec = cluster(TWO_GPU_NODES);
    // Job 1 needs both nodes; job 2 one node. Node 1 is down from 0 to 100.
    let jobs = [(5, 50, 50, 2, 8), (6, 20, 20, 1, 8)];
    let w = workload(&spec, &jobs, Placement::FirstFit);
    let f = failures(&w, "1,0,100\n");
    let starts = |policy| {
        let r = run_with(&w, policy, &f);
        (secs(r.start[0]), secs(r.start[1]))
    };
    // FCFS keeps queue order: job 2 waits behind job 1 until node 1 is back.
    assert_eq!(starts(PolicyKind::Fcfs), (100, 150));
    assert_eq!(starts(PolicyKind::Easy), (100, 6));
    assert_eq!(starts(PolicyKind::Conservative), (100, 6));
}

/// Outages that only begin after every job has ended change nothing.
#[test]
fn failures_after_the_last_job_change_nothing() {
    let w = one_outage();
    let f = failures(&w, "0,10000,20000\n1,5000,5001\n");
    for policy in PolicyKind::ALL {
        let mut p = policy.build_for(&w).unwrap();
        let plain = simulate(&w, p.as_mut(), &mut |_| {}).unwrap();
        let with = run_with(&w, policy, &f);
        assert_eq!(plain.start, with.start, "{policy}");
        assert_eq!(plain.end, with.end, "{policy}");
        assert_eq!(plain.segments, with.segments, "{policy}");
        assert!(with.node_changes.is_empty(), "{policy}");
    }
}

const CLUSTER: &str = "
[node_types.cpu]
count = 4
cores = 32
memory_gb = 128
[node_types.gpu]
count = 4
cores = 48
memory_gb = 512
gpus = 8
[fabric]
nodes_per_leaf = 4
leaves_per_spine = 2
";

const CLASSES: &str = r#"
[[c]]
name = "train"
share = 0.5
nodes = [1, 2, 3]
gpus_per_node = [1, 2, 8]
cores_per_node = 8
memory_gb_per_node = 64
runtime_median_s = 3000
checkpoint_interval_s = 600
checkpoint_cost_s = 30
[[c]]
name = "notebook"
share = 0.3
kind = "interactive"
gpus_per_node = [1]
cores_per_node = 2
memory_gb_per_node = 8
runtime_median_s = 1200
startup = { dist = "lognormal", median_s = 20, sigma = 0.5 }
on_node_failure = "requeue"
[[c]]
name = "cpu"
share = 0.2
nodes = [1, 2, 4]
cores_per_node = 16
memory_gb_per_node = 32
runtime_median_s = 600
on_node_failure = "fail"
"#;

fn random_workload(seed: u64, placement: Placement) -> Workload {
    use clustersim::workload::classes::{generate, ClassGenerator, JobClassSpec};
    #[derive(serde::Deserialize)]
    struct C {
        c: Vec<JobClassSpec>,
    }
    let classes = toml::from_str::<C>(CLASSES).unwrap().c;
    generate(&ClassGenerator {
        jobs: 400,
        load: 0.9,
        classes: &classes,
        cluster: &cluster(CLUSTER),
        placement,
        seed,
        arrivals: Default::default(),
    })
}

fn random_failures(w: &Workload, seed: u64) -> Failures {
    use clustersim::failures::NodeTypeFailures;
    use clustersim::workload::distributions::RuntimeDist;
    let nodes = &w.nodes.as_ref().unwrap().cluster;
    let names: Vec<&str> = (0..nodes.len() as u32)
        .map(|n| nodes.type_of(n).name.as_str())
        .collect();
    let mut types = indexmap::IndexMap::new();
    for name in ["cpu", "gpu"] {
        types.insert(
            name.to_string(),
            NodeTypeFailures {
                time_between: RuntimeDist::Weibull {
                    shape: 0.8,
                    scale_s: 40_000.0,
                },
                repair: RuntimeDist::Lognormal {
                    median_s: 1800.0,
                    sigma: 1.0,
                },
            },
        );
    }
    let leaf_of: Vec<u32> = (0..nodes.len() as u32).map(|n| nodes.leaf_of(n)).collect();
    let leaf = NodeTypeFailures {
        time_between: RuntimeDist::Exponential { mean_s: 150_000.0 },
        repair: RuntimeDist::Lognormal {
            median_s: 1200.0,
            sigma: 0.5,
        },
    };
    Failures::from_draws(&names, &types, seed).with_leaf_failures(&leaf_of, &leaf, seed)
}

/// Random GPU workloads under random failures, every policy and placement: every invariant
/// holds (no job on a down node, requeues and lost work accounted, capacities), runs repeat
/// exactly, and the failures hit jobs both ways.
#[test]
fn random_failures_keep_every_invariant() {
    let (mut requeued, mut failed, mut downs) = (0, 0, 0);
    for seed in 1..=3 {
        for placement in [Placement::FirstFit, Placement::BestFit, Placement::Topology] {
            let w = random_workload(seed, placement);
            let f = random_failures(&w, seed);
            for policy in PolicyKind::ALL {
                let r = run_with(&w, policy, &f);
                assert_eq!(
                    r,
                    run_with(&w, policy, &f),
                    "seed {seed} {placement:?} {policy}"
                );
                requeued += r.log.iter().map(|l| l.requeues).sum::<u32>();
                failed += r
                    .log
                    .iter()
                    .filter(|l| l.outcome == Outcome::Failed)
                    .count();
                downs += r
                    .node_changes
                    .iter()
                    .filter(|c| c.state == NodeState::Down)
                    .count();
            }
        }
    }
    assert!(
        downs > 20 && requeued > 10 && failed > 10,
        "{downs} {requeued} {failed}"
    );
}

/// A scenario with a failure log, small enough to check by hand: two 8-GPU nodes, three
/// generated whole-node jobs of 100 s; the test writes the log.
const LOGGED: &str = r#"
[cluster.node_types.gpu]
count = 2
cores = 16
memory_gb = 64
gpus = 8

[workload.generator]
jobs = 3
load = 0.5

[[workload.generator.classes]]
name = "train"
share = 1
gpus_per_node = [8]
cores_per_node = 4
runtime_median_s = 100
runtime_sigma = 0

[failures]
log = "outages.csv"

[policy]
name = "fcfs"
"#;

#[test]
fn a_scenario_failure_log_is_followed_and_reported() {
    use common::{clustersim_in_repo, scratch, text};
    let dir = scratch("failures-log");
    let scenario = dir.join("logged.toml");
    std::fs::write(&scenario, LOGGED).unwrap();
    // The generator submits the jobs at 74 s, 174 s and 250 s (100 s each): job 1 starts on
    // node 0 and is hit at 100.
    std::fs::write(dir.join("outages.csv"), "node,down_s,up_s\n0,100,250\n").unwrap();
    let out = dir.join("out");
    let (_, summary) =
        common::run_scenario(scenario.to_str().unwrap(), &out, &["--format", "both"]);
    let f = &summary["metrics"]["failures"];
    assert_eq!(f["node_failures"], 1, "{f}");
    // Availability over time: node 0 down from 100 s to 250 s.
    let series = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let mut rows = series.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let (time, down) = (
        header.iter().position(|h| *h == "time_s").unwrap(),
        header.iter().position(|h| *h == "nodes_down").unwrap(),
    );
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        let t: f64 = f[time].parse().unwrap();
        let expected = if (100.0..250.0).contains(&t) {
            "1"
        } else {
            "0"
        };
        assert_eq!(f[down], expected, "at {t} s: {row}");
    }
    // Node 0 was down from 100 s to 250 s: 150 node-seconds, 8 GPUs.
    assert!((f["node_hours_down"].as_f64().unwrap() - 150.0 / 3600.0).abs() < 1e-9);
    assert!((f["gpu_hours_down"].as_f64().unwrap() - 8.0 * 150.0 / 3600.0).abs() < 1e-9);
    assert_eq!(f["jobs_hit"], 1, "{f}");
    assert_eq!(f["requeued"], 1, "{f}");
    let segments = std::fs::read_to_string(out.join("segments.csv")).unwrap();
    assert!(segments.contains(",failed"), "{segments}");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Node failures"));

    // A log that names a node the cluster does not have: its file, line and column.
    std::fs::write(
        dir.join("outages.csv"),
        "node,down_s,up_s\n0,10,250\n7,1,2\n",
    )
    .unwrap();
    let o = clustersim_in_repo(&["run", scenario.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("outages.csv:3: node: no node 7"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_failure_sections_are_errors_naming_their_key() {
    use common::{clustersim_in_repo, scratch, text};
    let dir = scratch("failures-bad");
    for (name, bad, key) in [
        (
            "unknown-type",
            LOGGED.replace(
                "log = \"outages.csv\"",
                "[failures.node_types.h100]\ntime_between = { dist = \"exponential\", mean_s = 10 }\nrepair = { dist = \"exponential\", mean_s = 10 }",
            ),
            "failures.node_types.h100",
        ),
        (
            "negative-mean",
            LOGGED.replace(
                "log = \"outages.csv\"",
                "[failures.node_types.gpu]\ntime_between = { dist = \"exponential\", mean_s = -1 }\nrepair = { dist = \"exponential\", mean_s = 10 }",
            ),
            "failures.node_types.gpu.time_between.mean_s",
        ),
        (
            "empty",
            LOGGED.replace("log = \"outages.csv\"", ""),
            "failures",
        ),
        (
            "leaves-without-fabric",
            LOGGED.replace(
                "log = \"outages.csv\"",
                "[failures.leaf_switches]\ntime_between = { dist = \"exponential\", mean_s = 10 }\nrepair = { dist = \"exponential\", mean_s = 10 }",
            ),
            "failures.leaf_switches",
        ),
    ] {
        let scenario = dir.join(format!("{name}.toml"));
        std::fs::write(&scenario, bad).unwrap();
        let o = clustersim_in_repo(&["validate", scenario.to_str().unwrap()]);
        assert!(!o.status.success(), "{name}");
        let t = text(&o);
        assert!(t.contains(key) && t.contains(&format!("{name}.toml:")), "{name}: {t}");
    }
}

#[test]
fn the_failure_example_runs_and_reports_what_failures_cost() {
    let out = common::scratch("failures-example").join("out");
    let (_, summary) = common::run_scenario("scenarios/gpu-failures.toml", &out, &[]);
    let f = &summary["metrics"]["failures"];
    assert!(f["node_failures"].as_u64().unwrap() > 0, "{f}");
    assert!(f["jobs_hit"].as_u64().unwrap() > 0, "{f}");
    assert!(f["availability"].as_f64().unwrap() < 1.0, "{f}");
    assert!(f["work_lost_s"].as_f64().unwrap() > 0.0, "{f}");
}

/// One job of 100 s (limit 200 s) that checkpoints every 30 s of work at a cost of 5 s, on
/// node 0 from 0; node 0 fails at 50. It saved its checkpoint at 30 s of work (time 35), and
/// had done 45 s: 15 s are lost. It is requeued and starts again on node 1 at 50 from 30 s
/// of work: 30 s to 60, a checkpoint, 30 s to 90, a checkpoint, 10 s: 80 s, to 130.
/// Without checkpoints it would lose all 50 s and end at 150.
#[test]
fn a_requeued_job_resumes_from_its_last_checkpoint() {
    use clustersim::workload::classes::Checkpointing;
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(&spec, &[(0, 100, 200, 1, 8)], Placement::FirstFit);
    let f = failures(&w, "0,50,1000\n");
    for policy in PolicyKind::ALL {
        let r = run_with(&w, policy, &f);
        assert_eq!(secs(r.end[0]), 150, "{policy}: no checkpoints");
        assert_eq!(r.log[0].work_lost.as_ms(), 50_000);
    }
    w.nodes.as_mut().unwrap().class_checkpoints = vec![Some(Checkpointing {
        interval_ms: 30_000,
        cost_ms: 5_000,
    })];
    for policy in PolicyKind::ALL {
        let r = run_with(&w, policy, &f);
        let segments: Vec<(u64, u64, SegmentEnd)> = r
            .segments
            .iter()
            .map(|s| (secs(s.start), secs(s.end), s.ended))
            .collect();
        assert_eq!(
            segments,
            [
                (0, 50, SegmentEnd::Failed),
                (50, 130, SegmentEnd::Completed)
            ],
            "{policy}"
        );
        assert_eq!(r.log[0].work_lost.as_ms(), 15_000, "{policy}");
        assert_eq!(r.log[0].outcome, Outcome::Completed);
    }
}

/// The README's checkpoint figures: goodput against the checkpoint interval rises, peaks
/// near Young's optimum (2,615 s) and falls.
#[test]
fn the_checkpoint_sweep_peaks_near_the_closed_form_optimum() {
    use common::{clustersim_in_repo, scratch, text};
    let out = scratch("checkpoint-sweep").join("out");
    let o = clustersim_in_repo(&[
        "sweep",
        "scenarios/checkpoint-sweep.toml",
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    let mut lines = points.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (interval, goodput) = (
        col("workload.generator.classes[0].checkpoint_interval_s"),
        col("lifecycle.goodput.mean"),
    );
    let rows: Vec<(u64, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[interval].parse().unwrap(), f[goodput].parse().unwrap())
        })
        .collect();
    let best = rows
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!((1800..=3600).contains(&best.0), "{rows:?}");
    assert!(best.1 > 0.75 && best.1 < 0.85, "{rows:?}");
    assert!(
        rows[0].1 < best.1 - 0.1 && rows[rows.len() - 1].1 < best.1 - 0.2,
        "{rows:?}"
    );
}

/// Leaf switch failures take every node under them down; a node is down while its own
/// failure or its leaf's lasts. Four nodes on two leaves; each leaf fails 50 s after it is
/// up and is repaired in 100 s (sigma 0: exact), so both are down over 50–150, 200–300,
/// 350–450; node 0 also fails on its own from 120 to 200. Job 2, submitted at 400, starts
/// when the leaves are back at 450.
#[test]
fn a_leaf_switch_failure_takes_its_nodes_down_with_their_own_failures() {
    use clustersim::failures::NodeTypeFailures;
    use clustersim::workload::distributions::RuntimeDist;
    let spec = cluster(
        "[node_types.gpu]\ncount = 4\ncores = 16\nmemory_gb = 64\ngpus = 8\n\
         [fabric]\nnodes_per_leaf = 2\nleaves_per_spine = 2\n",
    );
    let w = workload(
        &spec,
        &[(0, 10, 10, 1, 8), (400, 10, 10, 1, 8)],
        Placement::FirstFit,
    );
    let exactly = |median_s| RuntimeDist::Lognormal {
        median_s,
        sigma: 0.0,
    };
    let leaf = NodeTypeFailures {
        time_between: exactly(50.0),
        repair: exactly(100.0),
    };
    let f = failures(&w, "0,120,200\n").with_leaf_failures(&[0, 0, 1, 1], &leaf, 1);
    use NodeState::{Down, Up};
    let mut expected: Vec<(u64, u32, NodeState)> = (0..4).map(|n| (50, n, Down)).collect();
    expected.extend([(150, 1, Up), (150, 2, Up), (150, 3, Up), (200, 0, Up)]);
    expected.extend((0..4).map(|n| (200, n, Down)));
    expected.extend((0..4).map(|n| (300, n, Up)));
    expected.extend((0..4).map(|n| (350, n, Down)));
    expected.extend((0..4).map(|n| (450, n, Up)));
    for policy in PolicyKind::ALL {
        let r = run_with(&w, policy, &f);
        let changes: Vec<(u64, u32, NodeState)> = r
            .node_changes
            .iter()
            .map(|c| (secs(c.at), c.node, c.state))
            .collect();
        assert_eq!(changes, expected, "{policy}");
        assert_eq!(secs(r.start[1]), 450, "{policy}");
    }
}

/// Sweeps and `check` name the metrics of failures, the lifecycle and sessions' start as
/// `summary.json` does.
#[test]
fn failure_lifecycle_and_session_metrics_are_sweep_metric_names() {
    use clustersim::sweep::record::is_metric_name;
    for name in [
        "failures.node_failures",
        "failures.availability",
        "failures.work_lost_s",
        "lifecycle.goodput",
        "lifecycle.requeues",
        "session_start.on_target_share",
        "session_start.time_to_start_p95_s",
    ] {
        assert!(is_metric_name(name), "{name}");
    }
    assert!(!is_metric_name("failures.nodes"));
    assert!(!is_metric_name("session_start.nothing"));
}

/// The terminal table of a run with failures and sessions adds their rows; a run without
/// them does not.
#[test]
fn the_run_table_shows_failures_and_sessions_only_when_a_run_has_them() {
    use common::{clustersim_in_repo, scratch, text};
    let out = scratch("failures-table").join("with");
    let (table, _) = common::run_scenario("scenarios/gpu-failures.toml", &out, &["--no-plots"]);
    for row in [
        "node failures",
        "node availability (%)",
        "goodput",
        "sessions on target (%)",
    ] {
        assert!(table.contains(row), "{row}: {table}");
    }
    let o = clustersim_in_repo(&["run", "--policy", "easy", "--no-plots"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("node failures"), "{}", text(&o));
}
