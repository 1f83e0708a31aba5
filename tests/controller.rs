//! The head node's scheduling loops (`[controller]`): hand-computed cases of the main
//! loop's depth and minimum interval and of the backfill loop's job limit, the controller's
//! report, off = unchanged, and the keys' errors.

mod common;

use clustersim::check::{check_nodes, check_policy, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::controller::{ControllerSpec, Cycle};
use clustersim::engine::time::SimTime;
use clustersim::lifecycle::RunResult;
use clustersim::policy::PolicyKind;
use clustersim::simulation::{simulate_with, SimOptions};
use clustersim::workload::Workload;
use common::nodes::{cluster, workload, Spec, TWO_GPU_NODES};

fn run(w: &Workload, policy: PolicyKind, spec: Option<ControllerSpec>) -> RunResult {
    let mut p = policy.build_for(w).unwrap();
    let outages = spec.as_ref().map_or(Vec::new(), |s| {
        clustersim::controller::outage_windows(s, 1, SimTime::from_secs(1_000_000))
    });
    let options = SimOptions {
        controller: spec.map(|s| s.settings()),
        controller_outages: &outages,
        ..SimOptions::default()
    };
    let r = simulate_with(w, p.as_mut(), options, &mut |_| {}).expect("the run completes");
    check_schedule(w, &r).unwrap();
    check_nodes(w, &r).unwrap();
    check_policy(policy, w, &r).unwrap();
    r
}

/// `spec` with passes that take no time (each at an instant).
fn instant(spec: ControllerSpec) -> ControllerSpec {
    ControllerSpec {
        pass_cost_us: 0,
        main_cost_per_job_us: 0,
        bf_cost_per_job_us: 0,
        cost_per_node_us: 0.0,
        rpc_service_us: 0,
        ..spec
    }
}

fn starts_ms(r: &RunResult) -> Vec<u64> {
    r.start.iter().map(|t| t.as_ms()).collect()
}

fn controller_metrics(w: &Workload, r: &RunResult) -> clustersim::controller::ControllerMetrics {
    let options = clustersim::metrics::MetricOptions {
        bsld_tau: clustersim::engine::time::SimDuration::from_secs(10),
        session_start_target: clustersim::engine::time::SimDuration::from_secs(60),
    };
    clustersim::metrics::compute(w, r, &options)
        .controller
        .expect("a controller ran")
}

fn starts(r: &RunResult) -> Vec<u64> {
    r.start.iter().map(|t| t.as_ms() / 1000).collect()
}

/// Job 0 holds node 0 from 0 to 1,000; job 1 (submitted at 10) needs both nodes; jobs 2
/// and 3 (at 20 and 25) need 4 GPUs each for at most 500 s: both could backfill on node 1
/// at once.
const BLOCKED_HEAD: [Spec; 4] = [
    (0, 1_000, 1_000, 1, 8),
    (10, 100, 100, 2, 8),
    (20, 400, 500, 1, 4),
    (25, 400, 500, 1, 4),
];

#[test]
fn a_job_beyond_bf_max_job_test_waits_for_the_next_backfill_cycle() {
    let w = workload(&cluster(TWO_GPU_NODES), &BLOCKED_HEAD, Placement::FirstFit);
    // Without a controller, both backfill as they arrive.
    assert_eq!(starts(&run(&w, PolicyKind::Easy, None)), [0, 1_000, 20, 25]);
    // Main passes test one job (the blocked head) and never backfill; the backfill pass at
    // 30 tests two (the head, then job 2, which starts); job 3 waits for the next one, at
    // 60.
    let spec = instant(ControllerSpec {
        default_queue_depth: 1,
        bf_max_job_test: 2,
        ..ControllerSpec::default()
    });
    let r = run(&w, PolicyKind::Easy, Some(spec));
    assert_eq!(starts(&r), [0, 1_000, 30, 60]);
    let considered: Vec<u64> = r
        .first_considered
        .iter()
        .map(|t| t.expect("every job is tested").as_ms() / 1000)
        .collect();
    assert_eq!(considered, [0, 10, 30, 60]);
    let cycles = r.cycles.as_ref().unwrap();
    let at = |s: u64, backfill: bool| -> &Cycle {
        cycles
            .iter()
            .find(|c| c.at == SimTime::from_secs(s) && c.backfill == backfill)
            .unwrap_or_else(|| panic!("no cycle at {s}"))
    };
    // The main pass at 20 tests the blocked head and stops: its partition (the only one)
    // is blocked.
    let main_20 = at(20, false);
    assert_eq!(
        (main_20.tested, main_20.hit_limit, main_20.started),
        (1, false, 0)
    );
    let backfill_30 = at(30, true);
    assert_eq!(
        (
            backfill_30.tested,
            backfill_30.hit_limit,
            backfill_30.started
        ),
        (2, true, 1)
    );
    // At 60 the main pass over the whole queue tests the head only and starts nothing
    // (the head blocks its partition: job 3 is skipped); the backfill pass after it starts
    // job 3.
    let full_60 = at(60, false);
    assert_eq!(
        (full_60.full, full_60.tested, full_60.started),
        (true, 1, 0)
    );
    let backfill_60 = at(60, true);
    assert_eq!(
        (
            backfill_60.tested,
            backfill_60.hit_limit,
            backfill_60.started
        ),
        (2, false, 1)
    );
    // Main passes happen on changes (arrivals, ends) and every 60 s while jobs wait;
    // backfill passes every 30 s while jobs wait.
    assert!(cycles
        .iter()
        .all(|c| c.full == (c.at.as_ms() % 60_000 == 0 && !c.backfill) || !c.full));
    assert!(cycles
        .iter()
        .filter(|c| c.backfill)
        .all(|c| c.at.as_ms() % 30_000 == 0));
}

#[test]
fn sched_min_interval_holds_a_main_pass_back() {
    // Job 0 from 0 on node 0; job 1 (at 10) fits on node 1, but the main pass at 0 holds
    // the next back to 50. Under EASY the backfill pass at 30 starts it first.
    let jobs: [Spec; 2] = [(0, 100, 100, 1, 8), (10, 100, 100, 1, 8)];
    let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let spec = ControllerSpec {
        sched_min_interval_s: 50.0,
        ..ControllerSpec::default()
    };
    for policy in [PolicyKind::Fcfs, PolicyKind::Easy] {
        let r = run(&w, policy, Some(spec.clone()));
        let expected = if policy == PolicyKind::Easy { 30 } else { 50 };
        assert_eq!(starts(&r), [0, expected], "{policy}");
        // FCFS has no backfill loop.
        let backfills = r.cycles.as_ref().unwrap().iter().any(|c| c.backfill);
        assert_eq!(backfills, policy == PolicyKind::Easy);
    }
}

#[test]
fn the_main_loop_skips_a_blocked_partition_and_tests_only_its_depth() {
    // Job 0 (partition 0) holds node 0 to 1,000; job 1 (partition 0, at 10) needs both
    // nodes; job 2 (partition 1, at 20) fits on node 1. A main pass tests job 1 first:
    // with a depth of 1 job 2 waits for the pass over the whole queue at 60, which goes on
    // past job 1's blocked partition and starts job 2; with a depth of 2 it starts at
    // once.
    let jobs: [Spec; 3] = [
        (0, 1_000, 1_000, 1, 8),
        (10, 100, 100, 2, 8),
        (20, 100, 100, 1, 8),
    ];
    let mut w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let nw = w.nodes.as_mut().unwrap();
    nw.partitions = vec!["a".into(), "b".into()];
    nw.partition_of = vec![0, 0, 1];
    for (depth, expected) in [(1, [0, 1_000, 60]), (2, [0, 1_000, 20])] {
        let spec = ControllerSpec {
            default_queue_depth: depth,
            ..ControllerSpec::default()
        };
        let r = run(&w, PolicyKind::Fcfs, Some(spec));
        assert_eq!(starts(&r), expected, "depth {depth}");
    }
}

#[test]
fn a_pass_launches_each_job_once_it_has_tested_it() {
    // Jobs 0 and 1 (at 0) take a node each; job 2 (at 0) needs both. The main pass at 0
    // costs 1 ms + 2.5 ms per job tested: job 0 is launched at 3.5 ms (the clock's 4 ms),
    // job 1 at 6 ms; job 2 is tested (8.5 ms) and blocks: the pass holds the controller
    // to 9 ms. Job 2 is tested first by the main pass at job 1's end, 6 ms + 200 s, and
    // launched 1 + 2.5 ms later.
    let jobs: [Spec; 3] = [(0, 100, 100, 1, 8), (0, 200, 200, 1, 8), (0, 10, 10, 2, 8)];
    let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let spec = ControllerSpec {
        pass_cost_us: 1_000,
        main_cost_per_job_us: 2_500,
        rpc_service_us: 0,
        ..ControllerSpec::default()
    };
    let r = run(&w, PolicyKind::Fcfs, Some(spec.clone()));
    assert_eq!(starts_ms(&r), [4, 6, 200_006 + 4]);
    let first = &r.cycles.as_ref().unwrap()[0];
    assert_eq!(
        (first.tested, first.started, first.length_us),
        (3, 2, 8_500)
    );
    let considered: Vec<u64> = r
        .first_considered
        .iter()
        .map(|t| t.unwrap().as_ms())
        .collect();
    assert_eq!(considered, [4, 6, 9]);
    // A cost per node examined: 2 nodes × 250 µs more per test.
    let per_node = ControllerSpec {
        cost_per_node_us: 250.0,
        ..spec.clone()
    };
    let r = run(&w, PolicyKind::Fcfs, Some(per_node));
    assert_eq!(starts_ms(&r)[..2], [4, 7]);
    assert_eq!(r.cycles.as_ref().unwrap()[0].length_us, 1_000 + 3 * 3_000);
    // The same passes at an instant: today's starts.
    let r = run(&w, PolicyKind::Fcfs, Some(instant(spec)));
    assert_eq!(starts_ms(&r), [0, 0, 200_000]);
}

#[test]
fn a_pass_stops_at_its_time_limit_and_a_backfill_pass_yields() {
    // Job 0 holds node 0 to 1,000 s; job 1 (at 10) needs both nodes: the blocked head.
    // Jobs 2, 3, 4 (at 20, 21, 22) take 2 GPUs of node 1 for at most 500 s: all could
    // backfill. A backfill test costs 1 s; the pass yields 0.5 s after every 2 s of work;
    // `bf_max_time` = 4 s lets it test 3 jobs (3 s of work + a yield = 3.5 s; a fourth
    // would end at 4.5 s). The pass at 30 tests the head (31), job 2 (launched at 32) and
    // job 3 (33.5), and ends at 33.5; the next one, 30 s later at 63.5, launches job 4
    // after its second test, at 65.5.
    let jobs: [Spec; 5] = [
        (0, 1_000, 1_000, 1, 8),
        (10, 100, 100, 2, 8),
        (20, 400, 500, 1, 2),
        (21, 400, 500, 1, 2),
        (22, 400, 500, 1, 2),
    ];
    let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let spec = ControllerSpec {
        default_queue_depth: 1,
        pass_cost_us: 0,
        main_cost_per_job_us: 0,
        bf_cost_per_job_us: 1_000_000,
        bf_max_time_s: Some(4.0),
        rpc_service_us: 0,
        ..ControllerSpec::default()
    };
    let r = run(&w, PolicyKind::Easy, Some(spec));
    assert_eq!(starts_ms(&r), [0, 1_000_000, 32_000, 33_500, 65_500]);
    let backfills: Vec<&Cycle> = r
        .cycles
        .as_ref()
        .unwrap()
        .iter()
        .filter(|c| c.backfill)
        .collect();
    let first = backfills[0];
    assert_eq!(first.at, SimTime::from_secs(30));
    assert_eq!(
        (
            first.tested,
            first.hit_limit,
            first.hit_time,
            first.length_us
        ),
        (3, true, true, 3_500_000)
    );
    assert_eq!(backfills[1].at, SimTime::from_ms(63_500));
    assert_eq!((backfills[1].tested, backfills[1].started), (2, 1));
    let m = controller_metrics(&w, &r);
    assert_eq!(m.backfill_cycles_at_time, 1);
    assert_eq!(m.backfill_cycle_max_us, 3_500_000);
    // A main pass at its time limit: `max_sched_time` = 5 ms at 1 + 2.5 ms a test lets it
    // test one job. Under FCFS job 1 (at 0, fits) waits for the main pass at 60 s.
    let jobs: [Spec; 2] = [(0, 100, 100, 1, 8), (0, 100, 100, 1, 8)];
    let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let spec = ControllerSpec {
        pass_cost_us: 1_000,
        main_cost_per_job_us: 2_500,
        max_sched_time_s: 0.005,
        rpc_service_us: 0,
        ..ControllerSpec::default()
    };
    let r = run(&w, PolicyKind::Fcfs, Some(spec));
    assert_eq!(starts_ms(&r), [4, 60_004]);
    let first = &r.cycles.as_ref().unwrap()[0];
    assert_eq!(
        (first.tested, first.hit_limit, first.hit_time),
        (1, true, true)
    );
}

#[test]
fn a_start_is_dropped_when_its_user_gives_up_before_the_launch() {
    // A test costs 2 s. Job 0 (both nodes) is launched at 2 s and ends at 102 s; job 1 (at
    // 10, patience 93 s) and job 2 (at 20) take a GPU each. The main pass at 102 tests job
    // 1 (launch at 104) and job 2 (106); job 1's user gives up at 103: its start is
    // dropped, counted, never applied; job 2 starts at 106 as planned.
    let jobs: [Spec; 3] = [(0, 100, 100, 2, 8), (10, 50, 50, 1, 1), (20, 50, 50, 1, 1)];
    let mut w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    w.nodes.as_mut().unwrap().users = [u64::MAX, 93, u64::MAX]
        .iter()
        .map(|&patience_s| clustersim::workload::classes::UserBehaviour {
            patience_s,
            ..Default::default()
        })
        .collect();
    let spec = ControllerSpec {
        pass_cost_us: 0,
        main_cost_per_job_us: 2_000_000,
        max_sched_time_s: 10.0,
        rpc_service_us: 0,
        ..ControllerSpec::default()
    };
    let r = run(&w, PolicyKind::Fcfs, Some(spec));
    assert_eq!(r.launches_dropped, 1);
    assert!(!r.started(1));
    assert_eq!(r.log[1].outcome, clustersim::lifecycle::Outcome::Abandoned);
    assert_eq!(r.end[1], SimTime::from_secs(103));
    assert_eq!(starts_ms(&r)[2], 106_000);
    assert_eq!(starts_ms(&r)[0], 2_000);
}

#[test]
fn a_submission_is_pending_once_the_controller_acknowledges_it() {
    // A request takes 1 ms; a test 10 ms. Job 0 (at 0) is acknowledged at 1 ms, tested by
    // the main pass at 1 ms and launched at 11 ms; that pass holds the controller to 11
    // ms, so job 1 (at 5 ms) is served from 11 ms and acknowledged at 12 ms, then
    // launched at 22 ms.
    let mut jobs: [Spec; 2] = [(0, 100, 100, 1, 8), (0, 100, 100, 1, 8)];
    jobs[1].0 = 0;
    let mut w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    w.jobs[1].submit = SimTime::from_ms(5);
    let spec = ControllerSpec {
        pass_cost_us: 0,
        main_cost_per_job_us: 10_000,
        ..ControllerSpec::default()
    };
    let r = run(&w, PolicyKind::Fcfs, Some(spec));
    let acked: Vec<u64> = r.acknowledged.iter().map(|t| t.unwrap().as_ms()).collect();
    assert_eq!(acked, [1, 12]);
    assert_eq!(starts_ms(&r), [11, 22]);
    let m = controller_metrics(&w, &r);
    assert_eq!((m.ack_latency_p50_s, m.ack_latency_max_s), (0.001, 0.007));
    // The wait split: 1 and 7 ms before acknowledgement (4 ms on average); then 10 ms
    // before a pass tested each (its test ends at its launch), none after.
    assert_eq!(m.wait_before_ack_mean_s, 0.004);
    assert_eq!(m.wait_before_consideration_mean_s, 0.010);
    assert_eq!(m.wait_after_consideration_mean_s, 0.0);
    // With one thread, three submissions at once are acknowledged 1 ms apart; all three
    // waited together.
    let jobs: [Spec; 3] = [(0, 10, 10, 1, 1), (0, 10, 10, 1, 1), (0, 10, 10, 1, 1)];
    let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let one_thread = ControllerSpec {
        rpc_service_us: 1_000,
        rpc_threads: 1,
        ..instant(ControllerSpec::default())
    };
    let r = run(&w, PolicyKind::Fcfs, Some(one_thread));
    assert_eq!(starts_ms(&r), [1, 2, 3]);
    assert_eq!(r.longest_backlog, 3);
}

#[test]
fn submissions_are_served_while_a_backfill_pass_yields() {
    // Job 0 holds node 0; job 1 (both nodes) is the blocked head; jobs 2 and 3 backfill.
    // The backfill pass at 30 tests three jobs at 1 s each, yielding at 32 for 0.5 s: it
    // launches job 2 at 32, job 3 at 33.5, and ends at 33.5. Job 4 (at 30.2) is served
    // in the yield, acknowledged at 32.001; job 5 (at 32.6), once the pass ends, at
    // 33.501.
    let jobs: [Spec; 6] = [
        (0, 1_000, 1_000, 1, 8),
        (10, 100, 100, 2, 8),
        (20, 400, 500, 1, 2),
        (21, 400, 500, 1, 2),
        (30, 400, 500, 1, 1),
        (32, 400, 500, 1, 1),
    ];
    let mut w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    w.jobs[4].submit = SimTime::from_ms(30_200);
    w.jobs[5].submit = SimTime::from_ms(32_600);
    let spec = ControllerSpec {
        default_queue_depth: 1,
        pass_cost_us: 0,
        main_cost_per_job_us: 0,
        bf_cost_per_job_us: 1_000_000,
        ..ControllerSpec::default()
    };
    let r = run(&w, PolicyKind::Easy, Some(spec));
    assert_eq!(starts_ms(&r)[2..4], [32_000, 33_500]);
    assert_eq!(r.acknowledged[4], Some(SimTime::from_ms(32_001)));
    assert_eq!(r.acknowledged[5], Some(SimTime::from_ms(33_501)));
}

#[test]
fn max_rpc_cnt_defers_a_backfill_pass_while_submissions_wait() {
    // One thread, 40 s a request: jobs 0, 1, 2 (at 0) are acknowledged at 40, 80 and 120.
    // Job 1 (both nodes) waits from 80: the backfill pass due at 90 is deferred while job
    // 2's request is served (max_rpc_cnt = 1), and runs at 120.
    let jobs: [Spec; 3] = [
        (0, 1_000, 1_000, 1, 8),
        (0, 100, 100, 2, 8),
        (0, 100, 100, 1, 8),
    ];
    let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let spec = ControllerSpec {
        rpc_service_us: 40_000_000,
        rpc_threads: 1,
        ..instant(ControllerSpec::default())
    };
    let backfills = |r: &RunResult| -> Vec<u64> {
        r.cycles
            .as_ref()
            .unwrap()
            .iter()
            .filter(|c| c.backfill)
            .map(|c| c.at.as_ms() / 1000)
            .collect()
    };
    let r = run(&w, PolicyKind::Easy, Some(spec.clone()));
    assert_eq!(starts(&r), [40, 1_040, 120]);
    assert_eq!(backfills(&r)[0], 90);
    assert_eq!(r.backfill_deferred, 0);
    let deferring = ControllerSpec {
        max_rpc_cnt: 1,
        ..spec
    };
    let r = run(&w, PolicyKind::Easy, Some(deferring));
    assert_eq!(starts(&r), [40, 1_040, 120]);
    assert_eq!(backfills(&r)[0], 120);
    assert_eq!(r.backfill_deferred, 1);
    assert_eq!(controller_metrics(&w, &r).backfill_deferred, 1);
}

#[test]
fn a_backup_takes_over_at_slurmctld_timeout_and_without_one_a_submission_is_lost() {
    // Job 0 (at 50) holds node 0 to 1,050; job 1 (at 60) needs both nodes; the primary
    // fails at 100 and is back at 10,000. Job 2 is submitted at 150, while it is down: its
    // client retries after 10, 20, 40, 80 and 160 s (at 160, 180, 220, 300, 460).
    let jobs: [Spec; 3] = [
        (50, 1_000, 1_000, 1, 8),
        (60, 10, 10, 2, 8),
        (150, 10, 10, 1, 1),
    ];
    let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
    let spec = ControllerSpec {
        outages: vec![[100.0, 10_000.0]],
        ..instant(ControllerSpec::default())
    };
    let spec = ControllerSpec {
        rpc_service_us: 1_000,
        ..spec
    };
    // With a backup: it serves from 100 + 120 s (SlurmctldTimeout) + 5 s of recovery + 2
    // jobs × 200 µs (1 ms): 225.001. Job 2's fourth retry, at 300, is acknowledged 1 ms
    // later; job 1 starts at job 0's end.
    let backup = ControllerSpec {
        backup: true,
        ..spec.clone()
    };
    let r = run(&w, PolicyKind::Fcfs, Some(backup));
    assert_eq!(
        r.outages[0].serving,
        SimTime::from_ms(225_001),
        "{:?}",
        r.outages
    );
    assert_eq!(r.acknowledged[2], Some(SimTime::from_ms(300_001)));
    assert_eq!(starts_ms(&r)[1], 1_050_001);
    assert_eq!(
        (
            r.outages[0].submissions_delayed,
            r.outages[0].submissions_lost
        ),
        (1, 0)
    );
    // Without: it serves at 10,000 + 5.001 s. Job 0's end at 1,050 is acted on only then:
    // job 1 starts at 10,005.001. Job 2's fifth retry (460) finds it down: lost, counted,
    // never started.
    let r = run(&w, PolicyKind::Fcfs, Some(spec));
    assert_eq!(r.outages[0].serving, SimTime::from_ms(10_005_001));
    assert_eq!(starts_ms(&r)[1], 10_005_001);
    assert!(!r.started(2));
    assert_eq!(r.log[2].outcome, clustersim::lifecycle::Outcome::Cancelled);
    assert_eq!(r.end[2], SimTime::from_secs(460));
    let m = controller_metrics(&w, &r);
    assert_eq!((m.outages, m.submissions_lost), (1, 1));
    let o = &m.outage_reports[0];
    assert_eq!((o.down_s, o.serving_s), (100.0, 10_005.001));
    // Jobs 1 and 2 waited within it: 9,905.001 + 9,855.001 s.
    assert_eq!(o.jobs_delayed, 2);
    assert!((o.delay_added_s - 19_760.002).abs() < 1e-6, "{o:?}");
    assert!(o.idle_core_hours > 0.0);
}

#[test]
fn without_a_controller_nothing_is_recorded() {
    let w = workload(&cluster(TWO_GPU_NODES), &BLOCKED_HEAD, Placement::FirstFit);
    let r = run(&w, PolicyKind::Easy, None);
    assert!(r.cycles.is_none());
    assert!(r.first_considered.is_empty());
}

/// The example, smaller (`jobs` jobs), as text.
fn example(jobs: u32) -> String {
    std::fs::read_to_string(common::repo("scenarios/controller-10k-gpu.toml"))
        .unwrap()
        .replace("jobs = 100000", &format!("jobs = {jobs}"))
        .replace("count = 10000", "count = 200")
}

#[test]
fn the_example_reports_the_loops_in_the_summary_the_job_table_and_the_report() {
    let dir = common::scratch("controller-example");
    let file = common::scenario_file(&dir, "controller", &example(3000));
    let out = dir.join("run");
    let (_, summary) = common::run_scenario(common::arg(&file), &out, &["--format", "csv"]);
    let c = &summary["metrics"]["controller"];
    assert!(c["main_cycles"].as_u64().unwrap() > 0, "{c}");
    assert!(c["backfill_cycles"].as_u64().unwrap() > 0, "{c}");
    assert_eq!(summary["options"]["controller"]["bf_max_job_test"], 500);
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    assert!(jobs
        .lines()
        .next()
        .unwrap()
        .ends_with(",first_considered_s,acknowledged_s"));
    assert!(
        jobs.lines().skip(1).all(|l| !l.ends_with(',')),
        "every job was tested"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<section id=\"controller\">"));
    // Cycle time over the run, and acknowledgement latency against submission rate.
    for plot in ["controller_cycles", "ack_latency"] {
        assert!(out.join(format!("plots/{plot}.svg")).is_file(), "{plot}");
        assert!(html.contains(plot), "{plot}");
    }
    // Without the section: no report, an empty column.
    let plain = example(3000);
    let plain = &plain[..plain.find("\n[controller]").unwrap()];
    let file = common::scenario_file(&dir, "plain", plain);
    let out = dir.join("plain-run");
    let (_, summary) = common::run_scenario(common::arg(&file), &out, &["--format", "csv"]);
    assert!(summary["metrics"].get("controller").is_none());
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    assert!(jobs.lines().skip(1).all(|l| l.ends_with(',')));
}

#[test]
fn bad_controller_keys_are_errors_naming_file_line_and_key() {
    let dir = common::scratch("controller-errors");
    let base = example(100);
    common::assert_located_errors(
        &dir,
        vec![
            (
                "limit",
                base.replace("bf_max_job_test = 500", "bf_max_job_test = 0"),
                "bf_max_job_test",
                "controller.bf_max_job_test: expected at least 1 job",
            ),
            (
                "interval",
                base.replace("bf_interval_s = 30", "bf_interval_s = 0"),
                "bf_interval_s",
                "controller.bf_interval_s: expected 1 to 86400 s, got 0",
            ),
            (
                "unknown",
                base.replace("bf_interval_s = 30", "bf_intervl_s = 30"),
                "bf_intervl_s",
                "controller.bf_intervl_s: unknown field `bf_intervl_s`",
            ),
        ],
    );
    let file = common::scenario_file(
        &dir,
        "conservative",
        &base.replace("name = \"easy\"", "name = \"conservative\""),
    );
    let o = common::clustersim(&[
        "run",
        common::arg(&file),
        "--out",
        common::arg(&dir.join("out")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", common::text(&o));
    assert!(
        common::text(&o).contains("[controller]"),
        "{}",
        common::text(&o)
    );
}

#[test]
fn generated_runs_keep_every_invariant_and_repeat_exactly() {
    // The example, smaller, with tight limits, FCFS and EASY, three seeds, node failures
    // on top.
    let dir = common::scratch("controller-invariants");
    let text = example(2000)
        .replace("default_queue_depth = 100", "default_queue_depth = 5")
        .replace("bf_max_job_test = 500", "bf_max_job_test = 20")
        .replace(
            "[policy]",
            "[failures.node_types.gpu]\n\
             time_between = { dist = \"exponential\", mean_s = 2000000 }\n\
             repair = { dist = \"lognormal\", median_s = 3600, sigma = 0.5 }\n\n[policy]",
        );
    let path = common::scenario_file(&dir, "tight", &text);
    let mut limited = 0;
    common::checked_runs_at_seeds(
        &path,
        &[1, 2, 3],
        &[PolicyKind::Fcfs, PolicyKind::Easy],
        |at, w, a| {
            let cycles = a.result.cycles.as_ref().expect("cycles");
            limited += cycles.iter().filter(|c| c.hit_limit).count();
            for (i, first) in a.result.first_considered.iter().enumerate() {
                if a.result.started(i) {
                    let first = first.unwrap_or_else(|| panic!("{at}: job {i} never tested"));
                    assert!(
                        first >= w.jobs[i].submit && first <= a.result.start[i],
                        "{at}"
                    );
                }
            }
        },
    );
    assert!(limited > 0);
}

#[test]
fn the_storm_example_tests_jobs_sooner_with_a_tuned_controller() {
    let dir = common::scratch("controller-storm");
    let out = dir.join("sweep");
    let file = common::repo("scenarios/submission-storm.toml");
    let o = common::clustersim(&["sweep", &file, "--out", common::arg(&out)]);
    assert!(o.status.success(), "{}", common::text(&o));
    let points = std::fs::read_to_string(out.join("points.csv")).unwrap();
    let header: Vec<&str> = points.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let wait = column("controller.wait_before_consideration_mean_s.mean");
    let at_limit = column("controller.backfill_cycles_at_limit.mean");
    let rows: Vec<Vec<&str>> = points
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let number = |row: &[&str], k: usize| row[k].parse::<f64>().unwrap();
    assert_eq!(rows.len(), 2, "{points}");
    // The storm fills the queue: the default backfill loop stops at bf_max_job_test, and
    // jobs wait longer before a pass tests them than under the tuned loops.
    assert!(number(&rows[0], at_limit) > 0.0, "{points}");
    assert!(number(&rows[1], wait) < number(&rows[0], wait), "{points}");
}

#[test]
fn the_head_node_example_costs_less_with_a_pair_in_high_availability() {
    let dir = common::scratch("controller-ha");
    let file = common::repo("scenarios/head-node-ha.toml");
    // The run as written: one head node, its two-hour outage reported in the summary and
    // the report.
    let out = dir.join("run");
    let (_, summary) = common::run_scenario(&file, &out, &[]);
    let c = &summary["metrics"]["controller"];
    assert_eq!(c["outages"], 1, "{c}");
    let o = &c["outage_reports"][0];
    assert_eq!(o["down_s"], 864_000.0);
    assert!(o["submissions_lost"].as_u64().unwrap() > 0, "{o}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("outage at 864000 s"));
    // The sweep: the pair serves again after SlurmctldTimeout + recovery and loses nothing.
    let sweep = dir.join("sweep");
    let o = common::clustersim(&["sweep", &file, "--out", common::arg(&sweep)]);
    assert!(o.status.success(), "{}", common::text(&o));
    let points = std::fs::read_to_string(sweep.join("points.csv")).unwrap();
    let header: Vec<&str> = points.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // Fields split at commas outside quotes (the outages column is quoted TOML).
    let fields = |line: &str| -> Vec<String> {
        let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
        for ch in line.chars() {
            match ch {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(std::mem::take(&mut field)),
                _ => field.push(ch),
            }
        }
        out.push(field);
        out
    };
    let rows: Vec<Vec<String>> = points.lines().skip(1).map(fields).collect();
    let number = |row: &[String], name: &str| row[column(name)].parse::<f64>().unwrap();
    let (pair, one) = (&rows[0], &rows[1]);
    let length = number(pair, "controller.outage_s.mean");
    assert!((125.0..126.0).contains(&length), "{points}");
    assert_eq!(number(pair, "controller.submissions_lost.mean"), 0.0);
    assert!(number(one, "controller.outage_s.mean") > 7_200.0);
    assert!(number(one, "controller.submissions_lost.mean") > 0.0);
}

#[test]
fn calibrate_fits_a_section_from_sdiag_and_names_bad_lines() {
    let dir = common::scratch("controller-calibrate");
    std::fs::create_dir_all(&dir).unwrap();
    let sdiag = dir.join("sdiag.txt");
    std::fs::write(
        &sdiag,
        "Main schedule statistics (microseconds):\n\tTotal cycles: 10\n\tMean cycle:   1260\n\
         \tMean depth cycle:  20\n\nRemote Procedure Call statistics by message type\n\
         \tREQUEST_SUBMIT_BATCH_JOB ( 4003) count:40 ave_time:2400 total_time:96000\n",
    )
    .unwrap();
    let conf = dir.join("slurm.conf");
    std::fs::write(
        &conf,
        "SlurmctldHost=a\nSlurmctldHost=b\nSchedulerParameters=bf_interval=45,max_rpc_cnt=64\n",
    )
    .unwrap();
    let o = common::clustersim(&[
        "calibrate",
        "--sdiag",
        common::arg(&sdiag),
        "--slurm-conf",
        common::arg(&conf),
    ]);
    assert!(o.status.success(), "{}", common::text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    // (1,260 − 160) / 20 = 55 µs a job; the service time is sdiag's mean.
    let section: toml::Table = toml::from_str(&out).unwrap();
    let spec: ControllerSpec = section["controller"].clone().try_into().unwrap();
    assert_eq!(spec.main_cost_per_job_us, 55);
    assert_eq!(spec.rpc_service_us, 2_400);
    assert_eq!((spec.bf_interval_s, spec.max_rpc_cnt), (45, 64));
    assert!(spec.backup);
    // A bad value: exit 2, the file, line and option named.
    std::fs::write(
        &conf,
        "# a comment\nSchedulerParameters=bf_max_job_test=-1\n",
    )
    .unwrap();
    let o = common::clustersim(&[
        "calibrate",
        "--sdiag",
        common::arg(&sdiag),
        "--slurm-conf",
        common::arg(&conf),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let t = common::text(&o);
    assert!(
        t.contains("slurm.conf: line 2: SchedulerParameters bf_max_job_test"),
        "{t}"
    );
}

#[test]
fn the_backfill_plan_has_a_window_and_a_resolution() {
    // Job 0 holds node 0 to 1,000 s; job 1 (at 10), needing both nodes, is the blocked
    // head with its reservation at 1,000.
    let run_with = |third: Spec, spec: ControllerSpec| {
        let jobs: [Spec; 3] = [(0, 1_000, 1_000, 1, 8), (10, 100, 100, 2, 8), third];
        let w = workload(&cluster(TWO_GPU_NODES), &jobs, Placement::FirstFit);
        starts(&run(&w, PolicyKind::Easy, Some(instant(spec))))
    };
    // Job 2 (at 20, at most 5,000 s) would delay the head: it waits for it. With a window
    // of 500 s the head, 970 s away at the pass at 30, gets no reservation, and job 2
    // starts at once; the head waits for its end (4,030).
    let long: Spec = (20, 4_000, 5_000, 1, 4);
    assert_eq!(run_with(long, ControllerSpec::default()), [0, 1_000, 1_100]);
    let narrow = ControllerSpec {
        bf_window_s: 500,
        ..ControllerSpec::default()
    };
    assert_eq!(run_with(long, narrow), [0, 4_030, 30]);
    // Job 2 asks for at most 1,000 s: at 30 it would end at 1,030, after the head's 1,000.
    // At a resolution of 1 s it waits; at Slurm's 60 s the reservation is rounded up to
    // 30 + 17 × 60 = 1,050 and it backfills, delaying the head to its end at 1,020.
    let tight: Spec = (20, 990, 1_000, 1, 4);
    let fine = ControllerSpec {
        bf_resolution_s: 1,
        ..ControllerSpec::default()
    };
    assert_eq!(run_with(tight, fine), [0, 1_000, 1_100]);
    assert_eq!(run_with(tight, ControllerSpec::default()), [0, 1_020, 30]);
}
