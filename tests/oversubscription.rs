//! Oversubscribed interactive pools (a partition's `oversubscribe = K`): a hand-computed
//! case of the busy slowdown, the capacity it adds, off = unchanged, the example scenario's
//! outputs, and the keys' errors.

mod common;

use clustersim::cluster::nodes::{NodeRequest, Placement};
use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::metrics::{compute, MetricOptions};
use clustersim::policy::PolicyKind;
use clustersim::workload::activity::Activity;
use clustersim::workload::{Job, JobKind, Workload};
use common::nodes::{cluster, put_on_nodes, run_checked};
use common::{arg, assert_located_errors, run_scenario, scratch};

const S: u64 = 1000;

/// One pool node of 4 cores; `oversubscribe` as given.
fn pool(oversubscribe: u32) -> String {
    format!(
        "[node_types.pool]\ncount = 1\ncores = 4\nmemory_gb = 64\n\
         [partitions.pool]\nnode_types = [\"pool\"]\nkinds = \"interactive\"\n\
         oversubscribe = {oversubscribe}\n"
    )
}

/// Three 4-core sessions submitted at 0 on the pool:
/// - A runs 1,000 s: busy to 400, idle to 600, busy to its end;
/// - B runs 1,000 s: busy to 200, idle to 500, busy to 800, then gone;
/// - C runs 500 s, always busy.
fn sessions(oversubscribe: u32) -> Workload {
    let spec = cluster(&pool(oversubscribe));
    let mut w = Workload {
        machine_procs: spec.schedulable_cores() as u32,
        input_jobs: 3,
        ..Workload::default()
    };
    let mut requests = Vec::new();
    for (i, run_s) in [1_000, 1_000, 500].into_iter().enumerate() {
        w.jobs.push(Job {
            trace_id: i as u64 + 1,
            submit: SimTime::ZERO,
            work: SimDuration::from_secs(run_s),
            estimate: SimDuration::from_secs(run_s),
            procs: 4,
            kind: JobKind::Interactive,
            user: i as i32,
            group: -1,
            queue: 0,
            partition: 0,
        });
        requests.push(NodeRequest {
            nodes: 1,
            cores_per_node: 4,
            memory_mb_per_node: 1024,
            allowed_types: u64::MAX,
            ..NodeRequest::default()
        });
    }
    put_on_nodes(&mut w, &spec, requests, Placement::FirstFit);
    let mut activity = Activity::default();
    activity.push(&[400 * S, 600 * S, 1_000 * S]);
    activity.push(&[200 * S, 500 * S, 800 * S]);
    activity.push(&[]);
    w.nodes.as_mut().unwrap().activity = activity;
    w
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn overlapping_busy_periods_share_the_physical_cores() {
    let w = sessions(2);
    for policy in [PolicyKind::Fcfs, PolicyKind::Easy, PolicyKind::Conservative] {
        let r = run_checked(&w, policy);
        // The node offers 8 cores: A and B at once, C once they end.
        let starts: Vec<u64> = r.start.iter().map(|t| t.as_ms() / S).collect();
        assert_eq!(starts, [0, 0, 1_000], "{policy}");
        let options = MetricOptions {
            bsld_tau: SimDuration::from_secs(10),
            session_start_target: SimDuration::from_secs(60),
        };
        let m = compute(&w, &r, &options)
            .oversubscription
            .expect("an oversubscribed pool is reported");
        // Busy demand on the node (physical cores 4): 8 on [0, 200) and [600, 800), 4 on
        // [200, 400), [500, 600), [800, 1000) and C's [1000, 1500), 0 on [400, 500).
        assert_eq!((m.sessions, m.sessions_slowed), (3, 2));
        close(m.busy_core_hours, 7_200.0 / 3_600.0);
        close(m.contended_core_hours, 3_200.0 / 3_600.0);
        // Demanded 7,200 core-s, served 5,600.
        close(m.slowdown_mean, 7_200.0 / 5_600.0);
        // A: (200 × 2 + 200 + 200 × 2 + 200) / 800 busy s; B: (200 × 2 + 100 + 200 × 2) / 500;
        // C: never contended.
        close(m.slowdown_max, 1.8);
        close(m.slowdown_p95, 1.8);
        close(m.peak_demand_per_core, 2.0);
        let per_job = clustersim::metrics::contention::compute(&w, &r)
            .unwrap()
            .busy_slowdown;
        assert_eq!(per_job, [Some(1.5), Some(1.8), Some(1.0)]);
    }
}

#[test]
fn without_oversubscription_sessions_queue_and_nothing_is_reported() {
    let w = sessions(1);
    let r = run_checked(&w, PolicyKind::Fcfs);
    let starts: Vec<u64> = r.start.iter().map(|t| t.as_ms() / S).collect();
    assert_eq!(starts, [0, 1_000, 2_000]);
    let options = MetricOptions {
        bsld_tau: SimDuration::from_secs(10),
        session_start_target: SimDuration::from_secs(60),
    };
    assert!(compute(&w, &r, &options).oversubscription.is_none());
    // `oversubscribe = 1` is the default: the same cluster as without the key.
    let plain = cluster(&pool(1).replace("oversubscribe = 1\n", ""));
    assert_eq!(plain, {
        let mut s = cluster(&pool(1));
        s.partitions["pool"].oversubscribe = 1;
        s
    });
}

const SCENARIO: &str = "scenarios/interactive-oversubscribed.toml";

#[test]
fn the_example_reports_the_slowdown_in_the_summary_the_job_table_and_the_report() {
    let dir = scratch("oversubscription-example");
    let out = dir.join("run");
    let (_, summary) = run_scenario(SCENARIO, &out, &["--format", "csv"]);
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    let m = &summary["metrics"]["oversubscription"];
    assert!(m["sessions_slowed"].as_u64().unwrap() > 0, "{m}");
    assert!(m["slowdown_mean"].as_f64().unwrap() > 1.0, "{m}");
    let header = jobs.lines().next().unwrap();
    assert!(
        header.ends_with(",busy_slowdown,deprioritized,first_considered_s,acknowledged_s"),
        "{header}"
    );
    // `busy_slowdown` is the last column but three (`deprioritized`, `first_considered_s`
    // and `acknowledged_s` are empty here).
    let slowdown = |l: &str| {
        let l = &l[..l.rfind(',').unwrap()];
        let l = &l[..l.rfind(',').unwrap()];
        l[..l.rfind(',').unwrap()]
            .rsplit(',')
            .next()
            .unwrap()
            .to_string()
    };
    assert!(
        jobs.lines()
            .skip(1)
            .any(|l| !slowdown(l).is_empty() && slowdown(l) != "1.000000"),
        "some session is slowed in jobs.csv"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<section id=\"oversubscription\">"));

    // The same scenario with the pool not oversubscribed: no metrics, an empty column.
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCENARIO))
            .unwrap();
    let plain = common::scenario_file(
        &dir,
        "plain",
        &text.replace("oversubscribe = 4", "oversubscribe = 1"),
    );
    let (_, summary_plain) = run_scenario(arg(&plain), &dir.join("plain"), &["--format", "csv"]);
    let jobs_plain = std::fs::read_to_string(dir.join("plain").join("jobs.csv")).unwrap();
    assert!(summary_plain["metrics"].get("oversubscription").is_none());
    assert!(jobs_plain.lines().skip(1).all(|l| slowdown(l).is_empty()));
}

#[test]
fn bad_oversubscription_keys_are_errors_naming_file_line_and_key() {
    let dir = scratch("oversubscription-errors");
    let base = "name = \"x\"\n[cluster.node_types.pool]\ncount = 1\ncores = 4\nmemory_gb = 8\n\
                [cluster.node_types.cpu]\ncount = 1\ncores = 4\nmemory_gb = 8\n\
                [cluster.partitions.pool]\nnode_types = [\"pool\"]\nkinds = \"interactive\"\n";
    let batch = "[cluster.partitions.batch]\nnode_types = [\"cpu\"]\nkinds = \"batch\"\n";
    let workload = "[workload.generator]\njobs = 10\n[[workload.generator.classes]]\n\
                    name = \"a\"\nshare = 1.0\npartition = \"batch\"\ncores_per_node = 1\n\
                    memory_gb_per_node = 1\nruntime_median_s = 60\n";
    assert_located_errors(
        &dir,
        vec![
            (
                "zero",
                format!("{base}oversubscribe = 0\n{batch}{workload}"),
                "oversubscribe",
                "cluster.partitions.pool.oversubscribe: expected 1 to 64",
            ),
            (
                "batch",
                format!(
                    "{base}{}{workload}",
                    batch.replace("kinds = \"batch\"\n", "kinds = \"batch\"\noversubscribe = 2\n")
                ),
                "oversubscribe",
                "cluster.partitions.batch.oversubscribe: only an interactive pool",
            ),
            (
                "shared",
                format!(
                    "{base}oversubscribe = 2\n{}{workload}",
                    batch.replace("[\"cpu\"]", "[\"cpu\", \"pool\"]")
                ),
                "oversubscribe",
                "cluster.partitions.pool.oversubscribe: node type \"pool\" is also in partition \"batch\"",
            ),
        ],
    );
}
