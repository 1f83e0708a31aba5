//! Preemption by partition tier: a session of the interactive partition (tier 10) that
//! cannot start makes a batch job (tier 0) let go — requeued, suspended or cancelled, after
//! its grace time — under FCFS and EASY. Hand-computed cases, then the invariants on
//! generated sessions and batch.

mod common;

use clustersim::cluster::nodes::Placement;
use clustersim::cluster::spec::PreemptMode;
use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::lifecycle::{Outcome, Preemption, RunResult, SegmentEnd};
use clustersim::policy::PolicyKind;
use clustersim::workload::classes::PartitionPreemption;
use clustersim::workload::{JobIdx, JobKind, Workload};
use common::nodes::{cluster, run_checked, workload, Spec, TWO_GPU_NODES};
use common::repo;

const QUEUE_POLICIES: [PolicyKind; 2] = [PolicyKind::Fcfs, PolicyKind::Easy];

/// `jobs` on two 8-GPU nodes; the jobs listed in `sessions` are interactive, in partition
/// `interactive` (tier 10, never preempted); the others are batch, in partition `batch`
/// (tier 0, preempted by `mode` after `grace_s`).
fn tiered(jobs: &[Spec], sessions: &[usize], mode: PreemptMode, grace_s: u64) -> Workload {
    let spec = cluster(TWO_GPU_NODES);
    let mut w = workload(&spec, jobs, Placement::FirstFit);
    let nw = w.nodes.as_mut().unwrap();
    nw.partitions = vec!["batch".into(), "interactive".into()];
    nw.partition_preemption = vec![
        PartitionPreemption {
            tier: 0,
            mode,
            grace_ms: grace_s * 1000,
            suspend_idle_after_ms: None,
        },
        PartitionPreemption {
            tier: 10,
            mode: PreemptMode::Off,
            grace_ms: 0,
            suspend_idle_after_ms: None,
        },
    ];
    for &i in sessions {
        nw.partition_of[i] = 1;
        w.jobs[i].kind = JobKind::Interactive;
    }
    w
}

fn secs(t: SimTime) -> u64 {
    t.as_ms() / 1000
}

/// Each segment of job `i`: (start s, end s, how it ended).
fn segments(r: &RunResult, i: u32) -> Vec<(u64, u64, SegmentEnd)> {
    r.segments
        .iter()
        .filter(|s| s.job == JobIdx(i))
        .map(|s| (secs(s.start), secs(s.end), s.ended))
        .collect()
}

fn preemption(at_s: u64, victim: u32, by: u32, mode: PreemptMode, lost_s: u64) -> Preemption {
    Preemption {
        at: SimTime::from_secs(at_s),
        victim: JobIdx(victim),
        by: JobIdx(by),
        mode,
        work_lost: SimDuration::from_secs(lost_s),
    }
}

/// Batch job 0 (work 100 s, limit 200 s) on node 0 and batch job 1 (300 s, limit 400 s) on
/// node 1 from 0; session 2 (submit 50, 60 s, 4 GPUs) finds nothing free. Both batch jobs
/// started at 0: the victim order takes the higher job number first, job 1, whose
/// release alone makes room on node 1.
const TWO_BATCH_ONE_SESSION: [Spec; 3] = [
    (0, 100, 200, 1, 8),
    (0, 300, 400, 1, 8),
    (50, 60, 100, 1, 4),
];

#[test]
fn a_session_requeues_the_latest_batch_job_which_loses_its_work() {
    // At 50 job 1 is requeued (50 s of work lost) and the session starts on node 1, to 110.
    // Job 1 waits (4 GPUs free on node 1) until job 0 ends at 100, then runs 300 s on node 0.
    let w = tiered(&TWO_BATCH_ONE_SESSION, &[2], PreemptMode::Requeue, 0);
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            segments(&r, 1),
            [
                (0, 50, SegmentEnd::Requeued),
                (100, 400, SegmentEnd::Completed)
            ],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 2),
            [(50, 110, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 0),
            [(0, 100, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(r.log[1].work_lost.as_ms(), 50_000, "{policy}");
        assert_eq!(r.log[1].requeues, 1);
        assert_eq!(
            r.preemptions,
            [preemption(50, 1, 2, PreemptMode::Requeue, 50)]
        );
    }
}

#[test]
fn a_suspended_batch_job_resumes_on_its_node_when_the_session_ends() {
    // At 50 job 1 is suspended (its memory stays on node 1) and the session runs there to
    // 110. Node 0 is free at 100, but a suspended job resumes only on its own nodes: at 110,
    // with its 250 s of work left, to 360.
    let w = tiered(&TWO_BATCH_ONE_SESSION, &[2], PreemptMode::Suspend, 0);
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            segments(&r, 1),
            [
                (0, 50, SegmentEnd::Suspended),
                (110, 360, SegmentEnd::Completed)
            ],
            "{policy}"
        );
        assert_eq!(r.log[1].suspended.as_ms(), 60_000, "{policy}");
        assert_eq!(r.log[1].work_lost.as_ms(), 0, "{policy}");
        assert_eq!(
            r.preemptions,
            [preemption(50, 1, 2, PreemptMode::Suspend, 0)]
        );
    }
}

#[test]
fn a_cancelled_victim_lets_go_after_its_grace_time() {
    // Grace 30 s: job 1 is told at 50, keeps running and is cancelled at 80; the session
    // starts then (30 s to start) and ends at 140.
    let w = tiered(&TWO_BATCH_ONE_SESSION, &[2], PreemptMode::Cancel, 30);
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            segments(&r, 1),
            [(0, 80, SegmentEnd::Cancelled)],
            "{policy}"
        );
        assert_eq!(r.log[1].outcome, Outcome::Cancelled);
        assert_eq!(
            segments(&r, 2),
            [(80, 140, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(
            r.preemptions,
            [preemption(80, 1, 2, PreemptMode::Cancel, 80)]
        );
    }
}

#[test]
fn a_victim_is_spared_if_room_frees_up_during_its_grace() {
    // Grace 60 s: job 1 is told at 50, but job 0 ends at 100 and the session starts on node
    // 0 then; at 110 it no longer waits, so job 1 runs on to 300 and nothing was preempted.
    let w = tiered(&TWO_BATCH_ONE_SESSION, &[2], PreemptMode::Requeue, 60);
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            segments(&r, 1),
            [(0, 300, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 2),
            [(100, 160, SegmentEnd::Completed)],
            "{policy}"
        );
        assert!(r.preemptions.is_empty());
    }
}

#[test]
fn victims_not_needed_are_spared() {
    // On one node (node 1 is full with job 0 until 1000, its own tier never preempted:
    // job 0 is a session too): job 1 (6 GPUs) from 0 and job 2 (2 GPUs) from 10. The
    // session 3 (submit 20) needs 6 GPUs. The victim order takes job 2 first (started
    // last), which is not enough; then job 1, which is, alone: job 2 is spared.
    let jobs = [
        (0, 1000, 1000, 1, 8),
        (0, 500, 600, 1, 6),
        (10, 500, 600, 1, 2),
        (20, 30, 60, 1, 6),
    ];
    let w = tiered(&jobs, &[0, 3], PreemptMode::Requeue, 0);
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert_eq!(
            r.preemptions,
            [preemption(20, 1, 3, PreemptMode::Requeue, 20)],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 2),
            [(10, 510, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 3),
            [(20, 50, SegmentEnd::Completed)],
            "{policy}"
        );
    }
}

#[test]
fn jobs_of_a_partition_with_mode_off_are_never_preempted() {
    // The session waits for job 0's end at 100.
    let w = tiered(&TWO_BATCH_ONE_SESSION, &[2], PreemptMode::Off, 0);
    for policy in QUEUE_POLICIES {
        let r = run_checked(&w, policy);
        assert!(r.preemptions.is_empty());
        assert_eq!(
            segments(&r, 2),
            [(100, 160, SegmentEnd::Completed)],
            "{policy}"
        );
    }
}

#[test]
fn conservative_refuses_preemption_with_a_clear_error() {
    let w = tiered(&TWO_BATCH_ONE_SESSION, &[2], PreemptMode::Requeue, 0);
    let e = PolicyKind::Conservative.build_for(&w).err().unwrap();
    assert!(e.contains("preempt_mode") && e.contains("easy"), "{e}");
}

#[test]
fn the_tradeoff_scenario_reports_preemption_and_its_sweep_marks_the_pareto_front() {
    use common::{clustersim, scratch, text};
    let dir = scratch("preemption-tradeoff");
    let file = repo("scenarios/interactive-tradeoff.toml");
    let (_, summary) = common::run_scenario(&file, &dir.join("run"), &[]);
    let p = &summary["metrics"]["preemption"];
    assert!(p["preemptions"].as_u64().unwrap() > 0, "{p}");
    assert_eq!(
        p["preemptions"], p["requeued"],
        "the scenario requeues: {p}"
    );
    assert!(p["work_lost_s"].as_f64().unwrap() > 0.0, "{p}");
    let html = std::fs::read_to_string(dir.join("run/report.html")).unwrap();
    assert!(html.contains("<h2>Preemption</h2>"));
    assert!(dir.join("run/plots/preemptions.svg").is_file());

    let out = dir.join("sweep");
    let o = clustersim(&["sweep", &file, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    // The front is the last column (cells before it may hold quoted commas).
    assert!(points.lines().next().unwrap().ends_with(",pareto_front"));
    let on_front = points
        .lines()
        .skip(1)
        .filter(|l| l.ends_with(",true"))
        .count();
    assert!(on_front >= 1, "{points}");
    assert!(out.join("plots/pareto.svg").is_file());
    let page = std::fs::read_to_string(out.join("sweep.html")).unwrap();
    assert!(page.contains("Pareto front"));
}

#[test]
fn preemption_errors_name_the_file_line_and_key() {
    use common::{clustersim, scratch, text};
    let dir = scratch("preemption-errors");
    let base = std::fs::read_to_string(repo("scenarios/interactive-tradeoff.toml")).unwrap();
    let cases = [
        (
            base.replace("preempt_mode = \"requeue\"", "preempt_mode = \"kill\""),
            "cluster.partitions.batch.preempt_mode",
        ),
        (
            base.replace("x = \"batch.wait_mean_s\"", "x = \"batch.wait\""),
            "sweep.pareto.x",
        ),
        (
            base.replace("name = \"easy\"", "name = \"conservative\""),
            "preempt_mode",
        ),
    ];
    for (i, (text_of_file, key)) in cases.iter().enumerate() {
        let file = dir.join(format!("case{i}.toml"));
        std::fs::write(&file, text_of_file).unwrap();
        let command = if key.starts_with("sweep") {
            "sweep"
        } else {
            "run"
        };
        let o = clustersim(&[
            command,
            file.to_str().unwrap(),
            "--out",
            dir.join(format!("out{i}")).to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let message = text(&o);
        assert!(message.contains(key), "{key}: {message}");
        if i < 2 {
            assert!(message.contains(&format!("case{i}.toml:")), "{message}");
        }
    }
}

#[test]
fn generated_runs_with_every_mode_keep_every_invariant_and_repeat_exactly() {
    // The trade-off scenario, smaller, under each mode with and without grace, FCFS and
    // EASY, three seeds, with node failures on top.
    let base = std::fs::read_to_string(repo("scenarios/interactive-tradeoff.toml")).unwrap();
    let dir = common::scratch("preemption-invariants");
    let mut preempted = 0;
    for (mode, grace) in [
        ("requeue", 60),
        ("requeue", 0),
        ("suspend", 0),
        ("cancel", 30),
    ] {
        let text = base
            .replace("jobs = 3000", "jobs = 800")
            .replace(
                "preempt_mode = \"requeue\"",
                &format!("preempt_mode = \"{mode}\""),
            )
            .replace("grace_time_s = 60", &format!("grace_time_s = {grace}"))
            .replace(
                "[policy]",
                "[failures.node_types.gpu-pool]\n\
                 time_between = { dist = \"exponential\", mean_s = 200000 }\n\
                 repair = { dist = \"lognormal\", median_s = 3600, sigma = 0.5 }\n\n[policy]",
            );
        let path = dir.join(format!("{mode}-{grace}.toml"));
        std::fs::write(&path, text).unwrap();
        common::checked_runs_at_seeds(&path, &[1, 2, 3], &QUEUE_POLICIES, |at, w, a| {
            let p = a
                .summary
                .metrics
                .preemption
                .as_ref()
                .expect("preemption metrics");
            assert_eq!(p.preemptions as usize, a.result.preemptions.len(), "{at}");
            for x in &a.result.preemptions {
                assert_eq!(x.mode.as_str(), mode, "{at}");
                assert_eq!(w.jobs[x.victim.get()].kind, JobKind::Batch, "{at}");
                assert_eq!(w.jobs[x.by.get()].kind, JobKind::Interactive, "{at}");
            }
            preempted += p.preemptions;
        });
    }
    assert!(preempted > 0);
}
