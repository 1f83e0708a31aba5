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
