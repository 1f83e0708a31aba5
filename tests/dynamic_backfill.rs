//! Dynamic backfill (a pool's `suspend_idle_after_s`): a waiting batch job suspends a
//! session whose user has been idle that long; the session resumes when its user is back,
//! preempting the batch job if it must, and ends when its user leaves, as it would have.
//! Hand-computed cases under FCFS and EASY, off = unchanged, the scenario's outputs and
//! the keys' errors.

mod common;

use clustersim::cluster::nodes::Placement;
use clustersim::cluster::spec::PreemptMode;
use clustersim::engine::time::SimTime;
use clustersim::lifecycle::{IdleSuspension, Outcome, RunResult, SegmentEnd};
use clustersim::policy::PolicyKind;
use clustersim::workload::activity::Activity;
use clustersim::workload::classes::PartitionPreemption;
use clustersim::workload::{JobIdx, JobKind, Workload};
use common::nodes::{cluster, run_checked, workload, Spec};
use common::repo;

const QUEUE_POLICIES: [PolicyKind; 2] = [PolicyKind::Fcfs, PolicyKind::Easy];

const ONE_GPU_NODE: &str = "[node_types.gpu]\ncount = 1\ncores = 16\nmemory_gb = 64\ngpus = 8\n";

const S: u64 = 1000;

/// Session 0 (the whole node, from 0, runtime `session_s`) with activity `periods` (s),
/// in pool `interactive` (tier 10; idle sessions suspended after `idle_after_s`, if any);
/// batch job 1 (the whole node, submitted at 100, `batch_s` of work) in `batch` (tier 0,
/// preempted by suspension).
fn pool(session_s: u64, periods: &[u64], batch_s: u64, idle_after_s: Option<u64>) -> Workload {
    let spec = cluster(ONE_GPU_NODE);
    let jobs: [Spec; 2] = [
        (0, session_s, session_s, 1, 8),
        (100, batch_s, batch_s, 1, 8),
    ];
    let mut w = workload(&spec, &jobs, Placement::FirstFit);
    w.jobs[0].kind = JobKind::Interactive;
    let nw = w.nodes.as_mut().unwrap();
    nw.partitions = vec!["interactive".into(), "batch".into()];
    nw.partition_of = vec![0, 1];
    nw.partition_preemption = vec![
        PartitionPreemption {
            tier: 10,
            mode: PreemptMode::Off,
            grace_ms: 0,
            suspend_idle_after_ms: idle_after_s.map(|s| s * S),
        },
        PartitionPreemption {
            tier: 0,
            mode: PreemptMode::Suspend,
            grace_ms: 0,
            suspend_idle_after_ms: None,
        },
    ];
    let mut activity = Activity::default();
    activity.push(&periods.iter().map(|p| p * S).collect::<Vec<u64>>());
    activity.push(&[]);
    nw.activity = activity;
    w
}

/// Each segment of job `i`: (start s, end s, how it ended).
fn segments(r: &RunResult, i: u32) -> Vec<(u64, u64, SegmentEnd)> {
    r.segments
        .iter()
        .filter(|s| s.job == JobIdx(i))
        .map(|s| (s.start.as_ms() / S, s.end.as_ms() / S, s.ended))
        .collect()
}

fn parked(at_s: u64, back_s: Option<u64>, resumed_s: Option<u64>) -> IdleSuspension {
    IdleSuspension {
        at: SimTime::from_secs(at_s),
        session: JobIdx(0),
        by: JobIdx(1),
        user_back: back_s.map(SimTime::from_secs),
        resumed: resumed_s.map(SimTime::from_secs),
    }
}

#[test]
fn an_idle_session_lets_a_batch_job_through_and_resumes_when_its_user_is_back() {
    // The user is busy to 1,000, idle to 5,000, busy to the end (10,000). Idle for 600 s at
    // 1,600, the session is suspended and the batch job runs 1,600 to 4,600; the user is
    // back at 5,000 and the session resumes with its idle time counted: it ends at 10,000,
    // as it would have.
    let w = pool(10_000, &[1_000, 5_000, 10_000], 3_000, Some(600));
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            segments(&r, 0),
            [
                (0, 1_600, SegmentEnd::Suspended),
                (5_000, 10_000, SegmentEnd::Completed)
            ],
            "{policy}"
        );
        assert_eq!(segments(&r, 1), [(1_600, 4_600, SegmentEnd::Completed)]);
        assert_eq!(
            r.idle_suspensions,
            [parked(1_600, Some(5_000), Some(5_000))]
        );
        assert_eq!(r.log[0].outcome, Outcome::Completed);
        assert_eq!(r.log[0].suspended.as_ms(), 3_400 * S);
        assert!(r.preemptions.is_empty());
    }
}

#[test]
fn a_user_back_while_the_batch_job_runs_takes_the_node_back() {
    // As above, but the batch job needs 5,000 s: at 5,000 the user is back, the batch job
    // (tier 0, preempt_mode suspend) is suspended, the session resumes and ends at 10,000,
    // then the batch job resumes with 1,600 s left, to 11,600.
    let w = pool(10_000, &[1_000, 5_000, 10_000], 5_000, Some(600));
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            segments(&r, 0),
            [
                (0, 1_600, SegmentEnd::Suspended),
                (5_000, 10_000, SegmentEnd::Completed)
            ],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 1),
            [
                (1_600, 5_000, SegmentEnd::Suspended),
                (10_000, 11_600, SegmentEnd::Completed)
            ],
            "{policy}"
        );
        assert_eq!(r.preemptions.len(), 1);
        assert_eq!(
            (r.preemptions[0].victim, r.preemptions[0].by),
            (JobIdx(1), JobIdx(0))
        );
    }
}

#[test]
fn a_session_whose_user_never_returns_ends_suspended_at_its_natural_end() {
    // Busy to 1,000, then gone; runtime 4,000. Suspended at 1,600, it ends (completed) at
    // 4,000 without resuming; the batch job ran 1,600 to 4,600.
    let w = pool(4_000, &[1_000], 3_000, Some(600));
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            segments(&r, 0),
            [(0, 1_600, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(r.end[0].as_ms(), 4_000 * S);
        assert_eq!(r.log[0].outcome, Outcome::Completed);
        assert_eq!(segments(&r, 1), [(1_600, 4_600, SegmentEnd::Completed)]);
        assert_eq!(r.idle_suspensions, [parked(1_600, None, None)]);
    }
}

#[test]
fn a_session_idle_less_than_the_threshold_is_not_suspended_and_off_is_unchanged() {
    // Idle 1,000 to 1,500 only (500 s < 600 s): the batch job waits for the session's end.
    let short_idle = pool(10_000, &[1_000, 1_500, 10_000], 3_000, Some(600));
    let off = pool(10_000, &[1_000, 5_000, 10_000], 3_000, None);
    for policy in QUEUE_POLICIES {
        for w in [&short_idle, &off] {
            let r = run_checked(w, policy);
            assert_eq!(segments(&r, 0), [(0, 10_000, SegmentEnd::Completed)]);
            assert_eq!(segments(&r, 1), [(10_000, 13_000, SegmentEnd::Completed)]);
            assert!(r.idle_suspensions.is_empty());
        }
    }
}

fn metrics(w: &Workload, r: &RunResult) -> clustersim::metrics::IdleSuspensionMetrics {
    let options = clustersim::metrics::MetricOptions {
        bsld_tau: clustersim::engine::time::SimDuration::from_secs(10),
        session_start_target: clustersim::engine::time::SimDuration::from_secs(60),
    };
    clustersim::metrics::compute(w, r, &options)
        .dynamic_backfill
        .expect("dynamic backfill is reported")
}

#[test]
fn the_metrics_count_suspensions_what_they_freed_and_returning_users() {
    let w = pool(10_000, &[1_000, 5_000, 10_000], 3_000, Some(600));
    let m = metrics(&w, &run_checked(&w, PolicyKind::Easy));
    assert_eq!((m.suspended, m.jobs_started), (1, 1));
    assert_eq!(m.suspended_s, 3_400.0);
    // The session held 16 cores and 8 GPUs: both freed for 3,400 s.
    assert!((m.freed_core_hours - 16.0 * 3_400.0 / 3_600.0).abs() < 1e-9);
    assert!((m.freed_gpu_hours - 8.0 * 3_400.0 / 3_600.0).abs() < 1e-9);
    assert_eq!((m.users_back, m.resumed_at_once), (1, 1));
    assert_eq!((m.resume_wait_mean_s, m.ended_suspended), (0.0, 0));

    let gone = pool(4_000, &[1_000], 3_000, Some(600));
    let m = metrics(&gone, &run_checked(&gone, PolicyKind::Fcfs));
    assert_eq!((m.suspended, m.users_back, m.ended_suspended), (1, 0, 1));
    assert_eq!(m.suspended_s, 2_400.0);

    let off = pool(10_000, &[1_000, 5_000, 10_000], 3_000, None);
    let r = run_checked(&off, PolicyKind::Easy);
    let options = clustersim::metrics::MetricOptions {
        bsld_tau: clustersim::engine::time::SimDuration::from_secs(10),
        session_start_target: clustersim::engine::time::SimDuration::from_secs(60),
    };
    assert!(clustersim::metrics::compute(&off, &r, &options)
        .dynamic_backfill
        .is_none());
}

#[test]
fn the_example_reports_dynamic_backfill_in_the_summary_the_report_and_its_sweep() {
    use common::{clustersim, scratch, text};
    let dir = scratch("dynamic-backfill-example");
    let file = repo("scenarios/dynamic-backfill.toml");
    let (_, summary) = common::run_scenario(&file, &dir.join("run"), &[]);
    let d = &summary["metrics"]["dynamic_backfill"];
    assert!(d["suspended"].as_u64().unwrap() > 0, "{d}");
    assert!(d["freed_gpu_hours"].as_f64().unwrap() > 0.0, "{d}");
    let html = std::fs::read_to_string(dir.join("run/report.html")).unwrap();
    assert!(html.contains("<section id=\"dynamic-backfill\">"));

    let out = dir.join("sweep");
    let o = clustersim(&["sweep", &file, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    let header: Vec<&str> = points.lines().next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "dynamic_backfill.suspended.mean")
        .expect("the sweep's metric");
    let cells: Vec<String> = points
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(column).unwrap_or("").to_string())
        .collect();
    // The point without it has no such metric; the one with it suspended sessions.
    assert_eq!(cells.len(), 2, "{points}");
    assert_eq!(cells[0], "", "{points}");
    assert!(cells[1].parse::<f64>().unwrap() > 0.0, "{points}");
}

#[test]
fn dynamic_backfill_errors_name_the_file_line_and_key() {
    use common::{clustersim, scratch, text};
    let dir = scratch("dynamic-backfill-errors");
    let base = std::fs::read_to_string(repo("scenarios/dynamic-backfill.toml")).unwrap();
    let batch = base.replace(
        "preempt_mode = \"suspend\"",
        "preempt_mode = \"suspend\"\nsuspend_idle_after_s = 60",
    );
    let line = batch
        .lines()
        .position(|l| l.starts_with("suspend_idle_after_s = 60"))
        .unwrap()
        + 1;
    let file = common::scenario_file(&dir, "batch", &batch);
    let o = clustersim(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "batch.toml:{line}: cluster.partitions.batch.suspend_idle_after_s: only an \
             interactive pool's idle sessions"
        )),
        "{}",
        text(&o)
    );
    let conservative = base.replace("name = \"easy\"", "name = \"conservative\"");
    let file = common::scenario_file(&dir, "conservative", &conservative);
    let o = clustersim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("suspend_idle_after_s"), "{}", text(&o));
}

#[test]
fn generated_runs_keep_every_invariant_and_repeat_exactly() {
    // The example, smaller, with the batch jobs suspended, requeued (60 s grace) or never
    // preempted when a user is back, FCFS and EASY, three seeds, node failures on top.
    let base = std::fs::read_to_string(repo("scenarios/dynamic-backfill.toml")).unwrap();
    let dir = common::scratch("dynamic-backfill-invariants");
    let mut suspended = 0;
    for mode in ["suspend", "requeue\"\ngrace_time_s = 60\n#\"", "off"] {
        let text = base
            .replace("jobs = 1500", "jobs = 500")
            .replace(
                "preempt_mode = \"suspend\"",
                &format!("preempt_mode = \"{mode}\""),
            )
            .replace(
                "[policy]",
                "[failures.node_types.gpu-pool]\n\
                 time_between = { dist = \"exponential\", mean_s = 200000 }\n\
                 repair = { dist = \"lognormal\", median_s = 3600, sigma = 0.5 }\n\n[policy]",
            );
        let name = mode.split('"').next().unwrap();
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        common::checked_runs_at_seeds(&path, &[1, 2, 3], &QUEUE_POLICIES, |at, w, a| {
            for p in &a.result.idle_suspensions {
                assert_eq!(w.jobs[p.session.get()].kind, JobKind::Interactive, "{at}");
                assert_eq!(w.jobs[p.by.get()].kind, JobKind::Batch, "{at}");
                if let (Some(back), Some(resumed)) = (p.user_back, p.resumed) {
                    assert!(resumed >= back, "{at}");
                }
            }
            suspended += a.result.idle_suspensions.len();
        });
    }
    assert!(suspended > 0);
}
