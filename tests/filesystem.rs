//! The shared file system (`[filesystem]`): jobs stage data in at a fresh start and out
//! once their work is done, every job staging at one time getting an equal share of the
//! aggregate bandwidth. Hand-computed cases under every policy (two jobs staging at once
//! each getting half the bandwidth, a job joined halfway, stage out, the time limit while
//! staging, a failure while staging; suspension, resumption and requeue while staging under
//! a scripted policy), random lifecycle decisions while staging (a property test), the
//! replay checker, the model off equal to today's run, determinism, bad keys, and the
//! example scenario.

mod common;

use clustersim::check::{check_filesystem, check_nodes, check_policy, check_schedule};
use clustersim::cluster::nodes::Placement;
use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::failures::{parse_log, Failures};
use clustersim::filesystem::FileSystemSettings;
use clustersim::lifecycle::{JobState, Outcome, RunResult, SegmentEnd, Transition};
use clustersim::plan::{plan_run, RunRequest};
use clustersim::policy::{Decision, Policy, PolicyKind, SchedView};
use clustersim::simulation::{simulate_with, SimOptions};
use clustersim::workload::classes::Staging;
use clustersim::workload::{JobIdx, Workload};
use common::nodes::{cluster, workload, Spec, TWO_GPU_NODES};
use common::{clustersim, scenario_file, scratch, text};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const GB: u64 = 1_000_000_000;

/// 1 GB/s: 10⁶ bytes per ms.
const ONE_GB_S: FileSystemSettings = FileSystemSettings {
    bandwidth_gb_s: 1.0,
};

/// Jobs on two 8-GPU nodes, each job its own class staging `(in GB, out GB)`.
fn staged(jobs: &[Spec], volumes: &[(u64, u64)]) -> Workload {
    let mut w = workload(&cluster(TWO_GPU_NODES), jobs, Placement::FirstFit);
    let nw = w.nodes.as_mut().unwrap();
    nw.class_of = (0..jobs.len() as u16).collect();
    nw.classes = (0..jobs.len()).map(|i| format!("job{}", i + 1)).collect();
    nw.class_staging = volumes
        .iter()
        .map(|&(i, o)| Staging {
            in_bytes: i * GB,
            out_bytes: o * GB,
        })
        .collect();
    w
}

fn run(w: &Workload, policy: PolicyKind, failures: Option<&Failures>) -> RunResult {
    let mut p = policy.build_for(w).unwrap();
    let options = SimOptions {
        filesystem: Some(ONE_GB_S),
        failures,
        ..SimOptions::default()
    };
    let r = simulate_with(w, p.as_mut(), options, &mut |_| {}).expect("the run completes");
    // The checkers replay every segment's stages, start-up and work.
    check_schedule(w, &r).unwrap_or_else(|v| panic!("{policy}: {v}"));
    check_nodes(w, &r).unwrap_or_else(|v| panic!("{policy}: {v}"));
    check_policy(policy, w, &r).unwrap_or_else(|v| panic!("{policy}: {v}"));
    // The file system replayed from the stages alone.
    check_filesystem(w, &r, Some(ONE_GB_S)).unwrap_or_else(|v| panic!("{policy}: {v}"));
    r
}

/// Each job's segments as (start s, end s, stage in ms, stage out ms, how it ended).
fn segments(r: &RunResult, job: usize) -> Vec<(u64, u64, u64, u64, SegmentEnd)> {
    r.segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.job.get() == job)
        .map(|(k, s)| {
            let st = r.stages_of(k);
            (
                s.start.as_ms() / 1000,
                s.end.as_ms() / 1000,
                st.in_ms,
                st.out_ms,
                s.ended,
            )
        })
        .collect()
}

/// Two jobs start at 0 on a node each and each stages 10 GB in through 1 GB/s: each gets
/// 0.5 GB/s, so both stages end at 20 s, and their 100 s of work at 120 s. Alone, a job
/// stages in 10 s.
#[test]
fn two_jobs_staging_at_once_each_get_half_the_bandwidth() {
    let jobs = [(0, 100, 1_000, 1, 8), (0, 100, 1_000, 1, 8)];
    let w = staged(&jobs, &[(10, 0), (10, 0)]);
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, None);
        for job in 0..2 {
            assert_eq!(
                segments(&r, job),
                vec![(0, 120, 20_000, 0, SegmentEnd::Completed)],
                "{policy} job {}",
                job + 1
            );
            assert_eq!(r.log[job].outcome, Outcome::Completed);
            // Staging holds the nodes and runs the clock: the job ran 120 s.
            assert_eq!(r.log[job].ran.as_ms(), 120_000);
        }
        let alone = run(&staged(&jobs[..1], &[(10, 0)]), policy, None);
        assert_eq!(
            segments(&alone, 0),
            vec![(0, 110, 10_000, 0, SegmentEnd::Completed)]
        );
    }
}

/// Job 1 stages 10 GB alone from 0 at 1 GB/s; job 2 arrives at 5 s and stages 10 GB too.
/// At 5 s job 1 has 5 GB left; sharing (0.5 GB/s each), it is done at 5 + 10 = 15 s, when
/// job 2 has 5 GB left, alone again: done at 20 s. Their work (100 s) ends at 115 s and
/// 120 s.
#[test]
fn a_job_joined_halfway_is_re_timed_at_the_new_share() {
    let jobs = [(0, 100, 1_000, 1, 8), (5, 100, 1_000, 1, 8)];
    let w = staged(&jobs, &[(10, 0), (10, 0)]);
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, None);
        assert_eq!(
            segments(&r, 0),
            vec![(0, 115, 15_000, 0, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 1),
            vec![(5, 120, 15_000, 0, SegmentEnd::Completed)],
            "{policy}"
        );
    }
}

/// Stage out: jobs 1 and 2 work 10 s and 15 s, then write 10 GB each. Job 1 writes alone
/// from 10 s (5 GB by 15 s), then both share: job 1's last 5 GB take 10 s (done at 25 s),
/// when job 2 has 5 GB left, alone: done at 30 s. Both complete; the policies saw them run
/// until then.
#[test]
fn stage_out_follows_the_work_and_the_job_completes_when_it_is_written() {
    let jobs = [(0, 10, 1_000, 1, 8), (0, 15, 1_000, 1, 8)];
    let w = staged(&jobs, &[(0, 10), (0, 10)]);
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, None);
        assert_eq!(
            segments(&r, 0),
            vec![(0, 25, 0, 15_000, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 1),
            vec![(0, 30, 0, 15_000, SegmentEnd::Completed)],
            "{policy}"
        );
        assert_eq!(r.log[1].work_done.as_ms(), 15_000);
    }
    // In and out, with a third job waiting for a node: it starts when job 1 has written
    // its output (25 s), not when its work was done.
    let jobs = [
        (0, 10, 1_000, 1, 8),
        (0, 15, 1_000, 1, 8),
        (1, 10, 1_000, 1, 8),
    ];
    let w = staged(&jobs, &[(0, 10), (0, 10), (0, 0)]);
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, None);
        assert_eq!(r.start[2].as_ms(), 25_000, "{policy}");
    }
}

/// The time limit runs while a job stages: 20 GB in with a 15 s limit times out at 15 s
/// still staging (no work done); 10 s of work and 10 GB out with a 15 s limit times out
/// at 15 s writing (its work done); 5 GB out fits exactly (written at 15 s, as the limit
/// is reached: a completion).
#[test]
fn staging_counts_against_the_time_limit() {
    for policy in PolicyKind::ALL {
        let w = staged(&[(0, 10, 15, 1, 8)], &[(20, 0)]);
        let r = run(&w, policy, None);
        assert_eq!(
            segments(&r, 0),
            vec![(0, 15, 15_000, 0, SegmentEnd::Timeout)]
        );
        assert_eq!(r.log[0].work_done.as_ms(), 0);
        let w = staged(&[(0, 10, 15, 1, 8)], &[(0, 10)]);
        let r = run(&w, policy, None);
        assert_eq!(
            segments(&r, 0),
            vec![(0, 15, 0, 5_000, SegmentEnd::Timeout)]
        );
        assert_eq!(r.log[0].outcome, Outcome::Timeout);
        assert_eq!(r.log[0].work_done.as_ms(), 10_000);
        let w = staged(&[(0, 10, 15, 1, 8)], &[(0, 5)]);
        let r = run(&w, policy, None);
        assert_eq!(
            segments(&r, 0),
            vec![(0, 15, 0, 5_000, SegmentEnd::Completed)]
        );
        assert_eq!(r.log[0].outcome, Outcome::Completed);
    }
}

/// Jobs 1 (node 0) and 2 (node 1) stage 10 GB each from 0; node 0 fails at 10 s (5 GB
/// each staged) and is back at 30 s. Job 2 stages its last 5 GB alone: done at 15 s, its
/// work at 115 s. Job 1 is requeued and, restarting at 30 s, stages all 10 GB again,
/// alone: 40 s, its work done at 140 s.
#[test]
fn a_job_leaving_mid_stage_speeds_up_the_others_and_stages_again_on_restart() {
    let jobs = [(0, 100, 1_000, 1, 8), (0, 100, 1_000, 1, 8)];
    let w = staged(&jobs, &[(10, 0), (10, 0)]);
    let nodes = w.nodes.as_ref().unwrap().cluster.len();
    let outages = parse_log("node,down_s,up_s\n0,10,30\n", "log.csv", nodes).unwrap();
    let failures = Failures::from_log(&outages, nodes);
    for policy in PolicyKind::ALL {
        let r = run(&w, policy, Some(&failures));
        assert_eq!(
            segments(&r, 0),
            vec![
                (0, 10, 10_000, 0, SegmentEnd::Failed),
                (30, 140, 10_000, 0, SegmentEnd::Completed)
            ],
            "{policy}"
        );
        assert_eq!(
            segments(&r, 1),
            vec![(0, 115, 15_000, 0, SegmentEnd::Completed)],
            "{policy}"
        );
    }
}

/// A policy that does exactly what its script says at each instant (times in s).
struct Scripted(BTreeMap<u64, Vec<Decision>>);

impl Policy for Scripted {
    fn label(&self) -> String {
        "scripted".into()
    }
    fn on_transition(&mut self, _job: JobIdx, _t: Transition, _view: &SchedView) {}
    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        if view.now.as_ms() % 1000 == 0 {
            if let Some(ds) = self.0.remove(&(view.now.as_ms() / 1000)) {
                decisions.extend(ds);
            }
        }
    }
    fn next_wakeup(&self) -> Option<SimTime> {
        self.0.keys().next().map(|&t| SimTime::from_secs(t))
    }
}

/// Suspended, resumed and requeued while staging, by hand. Jobs 1 and 2 (10 GB in, 100 s
/// of work; job 2 also 10 GB out) start at 0 on nodes 0 and 1, 0.5 GB/s each.
/// - Job 1 is suspended at 4 s (2 GB in, 8 left); job 2, alone, has its last 8 GB by 12 s
///   and works until 112 s. Job 1 resumes at 20 s and stages only its 8 GB left, alone:
///   28 s; it is requeued at 50 s (22 s of work lost), restarts at 60 s and stages all
///   10 GB again: 70 s; done at 170 s.
/// - Job 2 writes from 112 s, alone: suspended at 117 s with 5 GB written, resumed at
///   130 s, it writes the other 5 GB (nothing to stage in, no work left): 135 s.
#[test]
fn suspension_keeps_what_was_staged_and_a_requeue_stages_again() {
    let jobs = [(0, 100, 1_000, 1, 8), (0, 100, 1_000, 1, 8)];
    let w = staged(&jobs, &[(10, 0), (10, 10)]);
    let (a, b) = (JobIdx(0), JobIdx(1));
    let on = |job, node| Decision::StartOn {
        job,
        nodes: vec![node],
    };
    let script = [
        (0, on(a, 0)),
        (0, on(b, 1)),
        (4, Decision::Suspend(a)),
        (20, Decision::Resume(a)),
        (50, Decision::Requeue(a)),
        (60, on(a, 0)),
        (117, Decision::Suspend(b)),
        (130, Decision::Resume(b)),
    ];
    let mut map: BTreeMap<u64, Vec<Decision>> = BTreeMap::new();
    for (t, d) in script {
        map.entry(t).or_default().push(d);
    }
    let options = SimOptions {
        filesystem: Some(ONE_GB_S),
        ..SimOptions::default()
    };
    let r = simulate_with(&w, &mut Scripted(map), options, &mut |_| {}).unwrap();
    check_schedule(&w, &r).unwrap();
    check_nodes(&w, &r).unwrap();
    check_filesystem(&w, &r, Some(ONE_GB_S)).unwrap();
    assert_eq!(
        segments(&r, 0),
        vec![
            (0, 4, 4_000, 0, SegmentEnd::Suspended),
            (20, 50, 8_000, 0, SegmentEnd::Requeued),
            (60, 170, 10_000, 0, SegmentEnd::Completed)
        ]
    );
    assert_eq!(r.log[0].work_lost.as_ms(), 22_000);
    assert_eq!(
        segments(&r, 1),
        vec![
            (0, 117, 12_000, 5_000, SegmentEnd::Suspended),
            (130, 135, 0, 5_000, SegmentEnd::Completed)
        ]
    );
    assert_eq!(r.log[1].outcome, Outcome::Completed);
}

/// A test-only policy making random lifecycle decisions from its own seeded stream, at
/// every pass and every second: suspends, requeues and cancels running jobs (each job at
/// most twice), resumes suspended ones whose nodes have room again, and starts waiting
/// jobs on the first nodes that fit (one taking decision per pass, so that the view's free
/// resources are exact).
struct Jitter {
    rng: ChaCha8Rng,
    state: Vec<JobState>,
    disrupted: Vec<u8>,
    now: SimTime,
}

impl Jitter {
    fn pick(&mut self, want: JobState) -> Option<JobIdx> {
        let found: Vec<usize> = (0..self.state.len())
            .filter(|&i| self.state[i] == want)
            .collect();
        (!found.is_empty()).then(|| JobIdx(found[self.rng.gen_range(0..found.len())] as u32))
    }
}

impl Policy for Jitter {
    fn label(&self) -> String {
        "jitter".into()
    }
    fn on_transition(&mut self, job: JobIdx, _t: Transition, view: &SchedView) {
        self.state[job.get()] = view.state(job);
    }
    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        self.now = view.now;
        let (nw, nodes) = view.nodes.expect("node-level jobs");
        if self.rng.gen_bool(0.3) {
            let kind = self.rng.gen_range(0..3);
            if let Some(job) = self.pick(JobState::Running) {
                if self.disrupted[job.get()] < 2 {
                    self.disrupted[job.get()] += 1;
                    decisions.push(match kind {
                        0 => Decision::Suspend(job),
                        1 => Decision::Requeue(job),
                        _ => Decision::Cancel(job),
                    });
                    self.state[job.get()] = JobState::NotSubmitted; // decided
                }
            }
        }
        if let Some(job) = self.pick(JobState::Suspended) {
            let r = &nw.requests[job.get()];
            let room = view.allocation(job).iter().all(|&n| {
                let (f, take) = (nodes.free(n), r.taken(nodes.type_of(n)));
                f.cores >= take.cores && f.gpus >= take.gpus && f.mig_slices >= take.mig_slices
            });
            if room {
                decisions.push(Decision::Resume(job));
                self.state[job.get()] = JobState::NotSubmitted;
                return;
            }
        }
        if let Some(job) = self.pick(JobState::Pending) {
            let r = &nw.requests[job.get()];
            let fit: Vec<u32> = (0..nodes.len() as u32)
                .filter(|&n| r.fits_free(nodes.type_of(n), &nodes.free(n)))
                .take(r.nodes as usize)
                .collect();
            if fit.len() == r.nodes as usize {
                decisions.push(Decision::StartOn { job, nodes: fit });
                self.state[job.get()] = JobState::NotSubmitted;
            }
        }
    }
    fn next_wakeup(&self) -> Option<SimTime> {
        let open = self.state.iter().any(|s| !matches!(s, JobState::Done(_)));
        open.then(|| self.now + SimDuration::from_secs(1))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random suspensions, resumptions, requeues and cancellations of random jobs staging
    /// random volumes in and out, at 1 GB/s: every invariant holds, the file system replays
    /// exactly from the stages, and the same seed gives the same run.
    #[test]
    fn random_lifecycles_while_staging_keep_every_invariant(
        seed in 0u64..1_000_000,
        n in 1usize..16,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut jobs: Vec<Spec> = (0..n)
            .map(|_| {
                // Limits above and below work + staging: some jobs time out staging.
                (rng.gen_range(0..60), rng.gen_range(0..60), rng.gen_range(1..120), 1, 4)
            })
            .collect();
        jobs.sort_by_key(|j| j.0);
        let volumes: Vec<(u64, u64)> =
            (0..n).map(|_| (rng.gen_range(0..30), rng.gen_range(0..30))).collect();
        let w = staged(&jobs, &volumes);
        let run = || {
            let mut policy = Jitter {
                rng: ChaCha8Rng::seed_from_u64(seed),
                state: vec![JobState::NotSubmitted; n],
                disrupted: vec![0; n],
                now: SimTime::ZERO,
            };
            let options = SimOptions {
                filesystem: Some(ONE_GB_S),
                ..SimOptions::default()
            };
            simulate_with(&w, &mut policy, options, &mut |_| {})
        };
        let fail = |e: String| TestCaseError::fail(format!("seed {seed}: {e}"));
        let r = run().map_err(|e| fail(e.to_string()))?;
        check_schedule(&w, &r).map_err(|e| fail(e.to_string()))?;
        check_nodes(&w, &r).map_err(|e| fail(e.to_string()))?;
        check_filesystem(&w, &r, Some(ONE_GB_S)).map_err(|e| fail(e.to_string()))?;
        prop_assert_eq!(run().unwrap(), r);
    }
}

/// The random policy does suspend and requeue jobs while they stage (so the property above
/// tests something).
#[test]
fn the_random_policy_cuts_stages_short() {
    let (mut suspended_staging, mut requeued_staging) = (0, 0);
    for seed in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut jobs: Vec<Spec> = (0..12)
            .map(|_| (rng.gen_range(0..60), rng.gen_range(0..60), 200, 1, 4))
            .collect();
        jobs.sort_by_key(|j| j.0);
        let w = staged(&jobs, &[(20, 20); 12]);
        let mut policy = Jitter {
            rng: ChaCha8Rng::seed_from_u64(seed),
            state: vec![JobState::NotSubmitted; 12],
            disrupted: vec![0; 12],
            now: SimTime::ZERO,
        };
        let options = SimOptions {
            filesystem: Some(ONE_GB_S),
            ..SimOptions::default()
        };
        let r = simulate_with(&w, &mut policy, options, &mut |_| {}).unwrap();
        check_filesystem(&w, &r, Some(ONE_GB_S)).unwrap();
        for (k, s) in r.segments.iter().enumerate() {
            let st = r.stages_of(k);
            let cut_staging = st.out_ms > 0 || st.in_ms == (s.end - s.start).as_ms();
            if cut_staging && st.total_ms() > 0 {
                match s.ended {
                    SegmentEnd::Suspended => suspended_staging += 1,
                    SegmentEnd::Requeued => requeued_staging += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(
        suspended_staging > 0 && requeued_staging > 0,
        "suspended {suspended_staging}, requeued {requeued_staging} while staging"
    );
}

/// The replay of the file system catches stages that end too late, too early, or not at
/// all, and a completion with output not written.
#[test]
fn the_file_system_checker_catches_wrong_stages() {
    let jobs = [(0, 100, 1_000, 1, 8), (5, 100, 1_000, 1, 8)];
    let w = staged(&jobs, &[(10, 0), (10, 0)]);
    let r = run(&w, PolicyKind::Easy, None);
    let tampered = |f: &dyn Fn(&mut RunResult)| {
        let mut bad = r.clone();
        f(&mut bad);
        check_filesystem(&w, &bad, Some(ONE_GB_S)).unwrap_err().0
    };
    // Job 1's stage in a millisecond late (it had all its data at 15 s).
    let e = tampered(&|r| {
        r.stages[0].in_ms += 1;
        r.segments[0].end = r.segments[0].end + clustersim::engine::time::SimDuration::from_ms(1);
    });
    assert!(e.contains("had moved all its data"), "{e}");
    // A millisecond early: 1,000,000 bytes... less than its share moved.
    let e = tampered(&|r| r.stages[0].in_ms -= 1);
    assert!(e.contains("bytes left"), "{e}");
    // No stage in at all.
    let e = tampered(&|r| r.stages[1].in_ms = 0);
    assert!(e.contains("without staging in"), "{e}");
    // A job that writes output completing without writing it.
    let w_out = staged(&jobs, &[(10, 1), (10, 0)]);
    let e = check_filesystem(&w_out, &r, Some(ONE_GB_S)).unwrap_err().0;
    assert!(e.contains("not written"), "{e}");
    // Twice the bandwidth: every stage would have ended sooner.
    let fast = FileSystemSettings {
        bandwidth_gb_s: 2.0,
    };
    assert!(check_filesystem(&w, &r, Some(fast)).is_err());
}

/// The file system's metrics, by hand, for the first case: two jobs staging 20 s each at
/// once: 40 s of staging, 20 s busy, two stagers at most and on average, 2 node-staging
/// periods of 20 s.
#[test]
fn metrics_count_staging_busy_time_and_stagers() {
    let jobs = [(0, 100, 1_000, 1, 8), (0, 100, 1_000, 1, 8)];
    let w = staged(&jobs, &[(10, 0), (10, 0)]);
    let r = run(&w, PolicyKind::Easy, None);
    let m = clustersim::filesystem::metrics(ONE_GB_S, &w, &r, 120.0);
    assert_eq!(m.jobs_staging, 2);
    assert_eq!(m.stage_in_s, 40.0);
    assert_eq!(m.stage_out_s, 0.0);
    assert_eq!(m.busy_s, 20.0);
    assert_eq!(m.stagers_max, 2);
    assert_eq!(m.stagers_mean, 2.0);
    assert_eq!(m.volume_moved_gb, 20.0);
    assert!((m.busy_fraction - 20.0 / 120.0).abs() < 1e-12);
    assert!((m.staging_node_hours - 40.0 / 3600.0).abs() < 1e-12);
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs a scenario file in-process, checking the invariants; returns the schedule and the
/// summary as JSON.
fn run_scenario(path: &Path) -> (RunResult, serde_json::Value) {
    let loaded = clustersim::scenario::load(path).unwrap();
    let plan = plan_run(&RunRequest::default(), Some(&loaded), None).unwrap();
    let out =
        clustersim::run::run(&plan.workload, plan.policies[0], &plan.options, &mut |_| {}).unwrap();
    check_schedule(&plan.workload, &out.result).unwrap();
    check_nodes(&plan.workload, &out.result).unwrap();
    check_filesystem(&plan.workload, &out.result, plan.options.filesystem).unwrap();
    (out.result, serde_json::to_value(&out.summary).unwrap())
}

/// The example scenario without its volumes and file system.
fn without_staging(body: &str, keep_section: bool) -> String {
    body.lines()
        .filter(|l| !l.starts_with("stage_in_gb") && !l.starts_with("stage_out_gb"))
        .filter(|l| {
            keep_section || (!l.starts_with("[filesystem]") && !l.starts_with("bandwidth_gb_s"))
        })
        .filter(|l| !l.contains("filesystem."))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Off is today's run: a scenario without `[filesystem]`, and the same with a file system
/// that nobody stages through, give the same schedule (and the same `segments.csv` bytes;
/// `jobs.csv` differs only in its `staging_s` column, empty without a file system).
#[test]
fn off_or_with_nothing_to_stage_is_todays_run() {
    let dir = scratch("fs_off");
    let example = std::fs::read_to_string(repo("scenarios/filesystem-staging.toml")).unwrap();
    for policy in ["fcfs", "easy", "conservative"] {
        let body = example.replace("name = \"easy\"", &format!("name = \"{policy}\""));
        let absent = scenario_file(&dir, "absent", &without_staging(&body, false));
        let idle = scenario_file(&dir, "idle", &without_staging(&body, true));
        let (today, s_today) = run_scenario(&absent);
        let (idle_run, s_idle) = run_scenario(&idle);
        assert_eq!(idle_run, today, "{policy}");
        assert!(s_today["metrics"].get("filesystem").is_none());
        assert_eq!(s_idle["metrics"]["filesystem"]["busy_s"], 0.0);
        let mut m = s_idle["metrics"].clone();
        m.as_object_mut().unwrap().remove("filesystem");
        assert_eq!(m, s_today["metrics"], "{policy}");
    }
    let absent = scenario_file(&dir, "absent", &without_staging(&example, false));
    let idle = scenario_file(&dir, "idle", &without_staging(&example, true));
    let mut files = Vec::new();
    for (name, file) in [("absent", &absent), ("idle", &idle)] {
        let out = dir.join(format!("out-{name}"));
        let o = clustersim(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
            "--no-plots",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
        let cut: String = jobs
            .lines()
            .map(|l| {
                // Without the last five columns, from `staging_s` on.
                let l = &l[..l.rfind(',').unwrap()];
                let l = &l[..l.rfind(',').unwrap()];
                let l = &l[..l.rfind(',').unwrap()];
                let l = &l[..l.rfind(',').unwrap()];
                format!("{}\n", &l[..l.rfind(',').unwrap()])
            })
            .collect();
        files.push((std::fs::read(out.join("segments.csv")).unwrap(), cut, jobs));
    }
    assert!(files[0].0 == files[1].0, "segments.csv differs");
    assert_eq!(files[0].1, files[1].1, "jobs.csv differs before staging_s");
    assert!(files[0].2.lines().nth(1).unwrap().ends_with(",,,,,"));
    assert!(files[1].2.lines().nth(1).unwrap().ends_with(",0,,,,"));
}

/// With staging on, runs repeat byte for byte, and a sweep writes the same bytes at 1 and
/// 2 threads.
#[test]
fn runs_with_staging_are_deterministic_at_any_thread_count() {
    let dir = scratch("fs_determinism");
    let file = repo("scenarios/filesystem-staging.toml");
    let mut outs = Vec::new();
    for k in 0..2 {
        let out = dir.join(format!("run{k}"));
        let o = clustersim(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--force",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        outs.push(out);
    }
    for f in [
        "jobs.csv",
        "segments.csv",
        "summary.json",
        "report.html",
        "jobs.parquet",
    ] {
        let (a, b) = (outs[0].join(f), outs[1].join(f));
        if a.exists() || b.exists() {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{f} differs"
            );
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outs[0].join("summary.json")).unwrap())
            .unwrap();
    let m = &summary["metrics"]["filesystem"];
    assert!(m["busy_s"].as_f64().unwrap() > 0.0, "{m}");
    assert!(m["stagers_max"].as_u64().unwrap() >= 2, "{m}");
    assert_eq!(summary["options"]["filesystem"]["bandwidth_gb_s"], 10.0);
    let jobs = std::fs::read_to_string(outs[0].join("jobs.csv")).unwrap();
    assert!(jobs.lines().next().unwrap().ends_with(
        ",rate,staging_s,busy_slowdown,deprioritized,first_considered_s,acknowledged_s"
    ));
    let html = std::fs::read_to_string(outs[0].join("report.html")).unwrap();
    assert!(html.contains("<section id=\"filesystem\">"));

    let csv = common::sweep_csv_at_any_thread_count(file.to_str().unwrap(), &dir);
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("filesystem.busy_fraction"));
}

#[test]
fn bad_keys_name_the_file_line_and_key() {
    let dir = scratch("fs_errors");
    let example = std::fs::read_to_string(repo("scenarios/filesystem-staging.toml")).unwrap();
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "unknown_key",
            example.replace("bandwidth_gb_s = 10.0", "bandwith_gb_s = 10.0"),
            "bandwith_gb_s",
            "filesystem.bandwith_gb_s: unknown field `bandwith_gb_s`",
        ),
        (
            "zero_bandwidth",
            example.replace("bandwidth_gb_s = 10.0", "bandwidth_gb_s = 0.0"),
            "bandwidth_gb_s",
            "filesystem.bandwidth_gb_s: expected 0.001 to 1000000 GB/s, got 0",
        ),
        (
            "negative_volume",
            example.replace("stage_out_gb = 50", "stage_out_gb = -1"),
            "stage_out_gb = -1",
            "workload.generator.classes[0].stage_out_gb: expected 0 to 1000000 GB, got -1",
        ),
        (
            "no_filesystem",
            without_staging(&example, false).replace(
                "runtime_median_s = 1200",
                "runtime_median_s = 1200\nstage_in_gb = 5",
            ),
            "stage_in_gb",
            "workload.generator.classes[1].stage_in_gb: staging needs a shared file system",
        ),
    ];
    common::assert_located_errors(&dir, cases);
    // On a workload of processors anywhere: nothing could stage; the scenario says where.
    let pool = "[workload.generator]\njobs = 10\nprocs = 64\n[filesystem]\nbandwidth_gb_s = 1\n";
    let file = scenario_file(&dir, "pool", pool);
    let r = clustersim(&["run", file.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("pool.toml:4: filesystem: staging needs jobs of node-level classes"),
        "{err}"
    );
}
