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
