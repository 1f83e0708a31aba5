//! The job lifecycle on its own, before any feature uses it: a scripted test-only policy
//! suspends, resumes, requeues and cancels jobs on a small hand-computed case (every segment
//! asserted); time limits stop jobs; a rate below 1 stretches a segment; a withdrawn stop
//! event never fires; and random lifecycle decisions on random workloads, on processors and
//! on nodes (with impatient users), keep every invariant of `check`.

mod common;

use clustersim::check::{check_nodes, check_schedule};
use clustersim::cluster::nodes::{NodeRequest, Nodes, Placement};
use clustersim::cluster::spec::ClusterSpec;
use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::lifecycle::{JobState, Outcome, Rate, RunResult, SegmentEnd, Transition};
use clustersim::policy::{Decision, Policy, SchedView};
use clustersim::simulation::{simulate, simulate_with, RateModel, SimOptions};
use clustersim::workload::classes::UserBehaviour;
use clustersim::workload::{Job, JobIdx, JobKind, Workload};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A job: (submit s, work s, limit s, processors).
type Spec = (u64, u64, u64, u32);

fn workload(jobs: &[Spec], procs: u32) -> Workload {
    Workload {
        machine_procs: procs,
        input_jobs: jobs.len() as u64,
        jobs: jobs
            .iter()
            .enumerate()
            .map(|(i, &(submit, work, limit, procs))| Job {
                trace_id: i as u64 + 1,
                submit: SimTime::from_secs(submit),
                work: SimDuration::from_secs(work),
                estimate: SimDuration::from_secs(limit),
                procs,
                kind: JobKind::Batch,
                user: -1,
                group: -1,
                queue: 1,
                partition: -1,
            })
            .collect(),
        ..Workload::default()
    }
}

/// A policy that does exactly what its script says at each instant (times in s), and asks
/// to be woken at every scripted instant.
struct Scripted {
    script: BTreeMap<u64, Vec<Decision>>,
    told: Vec<(u64, u64, Transition)>,
    now_s: u64,
}

impl Scripted {
    fn new(script: Vec<(u64, Decision)>) -> Self {
        let mut map: BTreeMap<u64, Vec<Decision>> = BTreeMap::new();
        for (t, d) in script {
            map.entry(t).or_default().push(d);
        }
        Scripted {
            script: map,
            told: Vec::new(),
            now_s: 0,
        }
    }
}

impl Policy for Scripted {
    fn label(&self) -> String {
        "scripted".into()
    }
    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView) {
        self.told.push((
            view.now.as_ms() / 1000,
            view.job(job).trace_id(),
            transition,
        ));
    }
    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        self.now_s = view.now.as_ms() / 1000;
        if view.now.as_ms() % 1000 == 0 {
            if let Some(ds) = self.script.remove(&self.now_s) {
                decisions.extend(ds);
            }
        }
    }
    fn next_wakeup(&self) -> Option<SimTime> {
        self.script.keys().next().map(|&t| SimTime::from_secs(t))
    }
}

fn s(t: u64) -> SimTime {
    SimTime::from_secs(t)
}

/// Job `trace_id`'s segments as (start s, end s, released s, how it ended).
fn segments_of(r: &RunResult, trace_index: u32) -> Vec<(u64, u64, u64, SegmentEnd)> {
    r.segments
        .iter()
        .filter(|seg| seg.job == JobIdx(trace_index))
        .map(|seg| {
            (
                seg.start.as_ms() / 1000,
                seg.end.as_ms() / 1000,
                seg.released.as_ms() / 1000,
                seg.ended,
            )
        })
        .collect()
}

/// The hand-computed case. Four processors.
/// - A (work 100 s, limit 200 s, 4 procs) starts at 0, is suspended at 10 (10 s of work
///   done), resumed at 60 (90 s left: its stop would be at 150), requeued at 100 (40 s more
///   done; all 50 s lost), started again at 120 with its whole work and limit, completes
///   at 220. Its first stop, due at 100, was withdrawn at 10; its second, due at 150, at 100.
/// - B (work 50, limit 60, 4 procs) starts at 10 while A is suspended, completes at 60.
/// - C (submitted at 5) is cancelled at 110 while waiting: it never runs.
/// - D (work 500 s, limit 100 s: a trace with --kill-at-walltime) starts at 300 and is
///   stopped at its limit at 400.
#[test]
fn suspend_resume_requeue_cancel_and_timeout_on_a_hand_computed_case() {
    let w = workload(
        &[
            (0, 100, 200, 4),
            (0, 50, 60, 4),
            (5, 1000, 1000, 4),
            (300, 500, 100, 4),
        ],
        4,
    );
    let (a, b, c, d) = (JobIdx(0), JobIdx(1), JobIdx(2), JobIdx(3));
    let mut policy = Scripted::new(vec![
        (0, Decision::Start(a)),
        (10, Decision::Suspend(a)),
        (10, Decision::Start(b)),
        (60, Decision::Resume(a)),
        (100, Decision::Requeue(a)),
        (110, Decision::Cancel(c)),
        (120, Decision::Start(a)),
        (300, Decision::Start(d)),
    ]);
    let r = simulate(&w, &mut policy, &mut |_| {}).expect("the script is valid");
    check_schedule(&w, &r).unwrap();

    assert_eq!(
        segments_of(&r, 0),
        vec![
            (0, 10, 60, SegmentEnd::Suspended),
            (60, 100, 100, SegmentEnd::Requeued),
            (120, 220, 220, SegmentEnd::Completed),
        ]
    );
    assert_eq!(
        segments_of(&r, 1),
        vec![(10, 60, 60, SegmentEnd::Completed)]
    );
    assert_eq!(segments_of(&r, 2), vec![]);
    assert_eq!(
        segments_of(&r, 3),
        vec![(300, 400, 400, SegmentEnd::Timeout)]
    );

    let la = r.log[0];
    assert_eq!(la.outcome, Outcome::Completed);
    assert_eq!((la.segments, la.requeues), (3, 1));
    assert_eq!(la.suspended, SimDuration::from_secs(50));
    assert_eq!(la.work_lost, SimDuration::from_secs(50));
    assert_eq!(la.work_done, SimDuration::from_secs(150));
    assert_eq!(la.ran, SimDuration::from_secs(150));
    assert_eq!((r.start[0], r.end[0]), (s(0), s(220)));
    assert_eq!(r.log[1].outcome, Outcome::Completed);
    assert_eq!(r.log[2].outcome, Outcome::Cancelled);
    assert_eq!((r.start[2], r.end[2]), (s(110), s(110)));
    assert_eq!(r.log[3].outcome, Outcome::Timeout);
    assert_eq!(r.log[3].work_done, SimDuration::from_secs(100));

    // The policy was told of every transition, in order, each once.
    let told_a: Vec<(u64, Transition)> = policy
        .told
        .iter()
        .filter(|t| t.1 == 1)
        .map(|t| (t.0, t.2))
        .collect();
    assert_eq!(
        told_a,
        vec![
            (0, Transition::Pending),
            (0, Transition::Started),
            (10, Transition::Suspended),
            (60, Transition::Resumed),
            (100, Transition::Requeued),
            (120, Transition::Started),
            (220, Transition::Ended(Outcome::Completed)),
        ]
    );
    assert!(policy
        .told
        .contains(&(400, 4, Transition::Ended(Outcome::Timeout))));
    assert!(policy
        .told
        .contains(&(110, 3, Transition::Ended(Outcome::Cancelled))));
}

/// A withdrawn stop never fires. A (100 s of work) starts at 0 with its stop due at 100, is
/// suspended at 10 and stays suspended past 100 (resumed at 120, its new stop due at 210),
/// then is requeued at 130 and waits past 210 (started again at 250, done at 350). Had either
/// withdrawn stop fired, a segment would end at 100 or 210. The only ends are B's at 60 and
/// A's at 350; events: 2 arrivals, 2 stops, 4 wake-ups (10, 120, 130, 250).
#[test]
fn a_withdrawn_stop_event_never_fires() {
    let w = workload(&[(0, 100, 200, 4), (0, 50, 60, 4)], 4);
    let (a, b) = (JobIdx(0), JobIdx(1));
    let mut policy = Scripted::new(vec![
        (0, Decision::Start(a)),
        (10, Decision::Suspend(a)),
        (10, Decision::Start(b)),
        (120, Decision::Resume(a)),
        (130, Decision::Requeue(a)),
        (250, Decision::Start(a)),
    ]);
    let r = simulate(&w, &mut policy, &mut |_| {}).unwrap();
    check_schedule(&w, &r).unwrap();
    let ends: Vec<u64> = policy
        .told
        .iter()
        .filter(|t| matches!(t.2, Transition::Ended(_)))
        .map(|t| t.0)
        .collect();
    assert_eq!(ends, vec![60, 350]);
    assert_eq!(
        segments_of(&r, 0),
        vec![
            (0, 10, 120, SegmentEnd::Suspended),
            (120, 130, 130, SegmentEnd::Requeued),
            (250, 350, 350, SegmentEnd::Completed),
        ]
    );
    assert_eq!(r.events, 2 + 2 + 4);
}

/// A rate model that runs job 1 (index 0) at half speed.
struct HalfSpeedFirst;

impl RateModel for HalfSpeedFirst {
    fn rate(&self, job: JobIdx, _nodes: &[u32]) -> Rate {
        if job == JobIdx(0) {
            Rate::from_millionths(500_000)
        } else {
            Rate::ONE
        }
    }
}

/// At rate 0.5, 100 s of work takes 200 s: within a 300 s limit the job completes at 200;
/// within a 150 s limit it is stopped at 150 having done 75 s of work.
#[test]
fn a_rate_below_one_stretches_a_segment_up_to_its_limit() {
    for (limit, end, outcome, work_done) in [
        (300, 200, Outcome::Completed, 100),
        (150, 150, Outcome::Timeout, 75),
    ] {
        let w = workload(&[(0, 100, limit, 2), (0, 100, 100, 2)], 4);
        let mut policy = Scripted::new(vec![
            (0, Decision::Start(JobIdx(0))),
            (0, Decision::Start(JobIdx(1))),
        ]);
        let options = SimOptions {
            rates: Some(&HalfSpeedFirst),
            ..SimOptions::default()
        };
        let r = simulate_with(&w, &mut policy, options, &mut |_| {}).unwrap();
        check_schedule(&w, &r).unwrap();
        assert_eq!(r.end[0], s(end));
        assert_eq!(r.log[0].outcome, outcome);
        assert_eq!(r.log[0].work_done, SimDuration::from_secs(work_done));
        assert_eq!(r.segments[0].rate, Rate::from_millionths(500_000));
        // The other job, at rate 1, is untouched.
        assert_eq!((r.end[1], r.log[1].outcome), (s(100), Outcome::Completed));
    }
}

/// Suspending a job stops its limit's clock: a job with a 100 s limit and 200 s of work,
/// suspended from 50 to 80, is stopped at its limit at 130 (100 s of running).
#[test]
fn time_limits_count_running_time_only() {
    let w = workload(&[(0, 200, 100, 4)], 4);
    let mut policy = Scripted::new(vec![
        (0, Decision::Start(JobIdx(0))),
        (50, Decision::Suspend(JobIdx(0))),
        (80, Decision::Resume(JobIdx(0))),
    ]);
    let r = simulate(&w, &mut policy, &mut |_| {}).unwrap();
    check_schedule(&w, &r).unwrap();
    assert_eq!(r.end[0], s(130));
    assert_eq!(r.log[0].outcome, Outcome::Timeout);
    assert_eq!(r.log[0].suspended, SimDuration::from_secs(30));
}

/// Invalid lifecycle decisions are errors naming the policy and the job, never applied.
#[test]
fn invalid_lifecycle_decisions_are_refused_with_the_job_named() {
    let cases: Vec<(Vec<(u64, Decision)>, &str)> = vec![
        (
            vec![(0, Decision::Suspend(JobIdx(0)))],
            "cannot suspend job 1",
        ),
        (
            vec![
                (0, Decision::Start(JobIdx(0))),
                (1, Decision::Resume(JobIdx(0))),
            ],
            "cannot resume job 1",
        ),
        (
            vec![(0, Decision::Requeue(JobIdx(0)))],
            "cannot requeue job 1",
        ),
        (
            vec![
                (0, Decision::Start(JobIdx(0))),
                (1, Decision::Suspend(JobIdx(0))),
                (1, Decision::Start(JobIdx(1))),
                (2, Decision::Resume(JobIdx(0))),
            ],
            "job 1 cannot resume",
        ),
    ];
    for (script, expected) in cases {
        let w = workload(&[(0, 100, 100, 4), (0, 100, 100, 4)], 4);
        let mut policy = Scripted::new(script);
        let e = simulate(&w, &mut policy, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("policy scripted") && e.contains(expected), "{e}");
    }
}

/// A test-only policy making random lifecycle decisions from its own seeded stream: it
/// starts and resumes what fits (one taking decision per pass, so that the view's free
/// resources are exact), and suspends, requeues and cancels at random, at most twice per
/// job so that every run ends. It asks for a pass every second while any job is not done.
struct Chaos {
    rng: ChaCha8Rng,
    state: Vec<JobState>,
    disruptions: Vec<u8>,
}

impl Chaos {
    fn new(seed: u64, jobs: usize) -> Self {
        Chaos {
            rng: ChaCha8Rng::seed_from_u64(seed),
            state: vec![JobState::NotSubmitted; jobs],
            disruptions: vec![0; jobs],
        }
    }

    fn pick(&mut self, want: JobState) -> Option<JobIdx> {
        let found: Vec<usize> = (0..self.state.len())
            .filter(|&i| self.state[i] == want)
            .collect();
        if found.is_empty() {
            return None;
        }
        let k = self.rng.gen_range(0..found.len());
        Some(JobIdx(found[k] as u32))
    }

    /// Nodes where `job` fits now, first-fit, if any.
    fn place(view: &SchedView, job: JobIdx) -> Option<Vec<u32>> {
        let (nw, nodes) = view.nodes?;
        let r = &nw.requests[job.get()];
        let chosen: Vec<u32> = (0..nodes.len() as u32)
            .filter(|&n| {
                Nodes::allowed(r, nodes.type_index(n))
                    && r.fits_free(nodes.type_of(n), &nodes.free(n))
            })
            .take(r.nodes as usize)
            .collect();
        (chosen.len() == r.nodes as usize).then_some(chosen)
    }
}

impl Policy for Chaos {
    fn label(&self) -> String {
        "chaos".into()
    }
    fn on_transition(&mut self, job: JobIdx, _t: Transition, view: &SchedView) {
        self.state[job.get()] = view.state(job);
    }
    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        // One disruption, at random.
        if self.rng.gen_bool(0.3) {
            let kind = self.rng.gen_range(0..4);
            let want = match kind {
                0 | 1 => JobState::Running,
                2 => JobState::Suspended,
                _ => JobState::Pending,
            };
            if let Some(job) = self.pick(want) {
                if self.disruptions[job.get()] < 2 {
                    self.disruptions[job.get()] += 1;
                    decisions.push(match (kind, want) {
                        (0, _) => Decision::Suspend(job),
                        (1, _) | (2, _) => Decision::Requeue(job),
                        _ => Decision::Cancel(job),
                    });
                    self.state[job.get()] = JobState::NotSubmitted; // decided: skip below
                }
            }
        }
        // One resume or start of something that fits now.
        let nodes = view.nodes.is_some();
        let fits = |view: &SchedView, job: JobIdx| {
            view.job(job).procs() <= view.cluster.free()
                && (!nodes || Chaos::place(view, job).is_some())
        };
        if let Some(job) = self.pick(JobState::Suspended) {
            let on = view.allocation(job);
            let free_enough = view.job(job).procs() <= view.cluster.free()
                && view.nodes.is_none_or(|(nw, ns)| {
                    on.iter().all(|&n| {
                        let f = ns.free(n);
                        let take = nw.requests[job.get()].taken(ns.type_of(n));
                        f.cores >= take.cores
                            && f.gpus >= take.gpus
                            && f.mig_slices >= take.mig_slices
                    })
                });
            if free_enough && self.rng.gen_bool(0.7) {
                decisions.push(Decision::Resume(job));
                self.state[job.get()] = JobState::NotSubmitted;
                return;
            }
        }
        if let Some(job) = self.pick(JobState::Pending) {
            if fits(view, job) {
                decisions.push(match Chaos::place(view, job) {
                    Some(set) => Decision::StartOn { job, nodes: set },
                    None => Decision::Start(job),
                });
                self.state[job.get()] = JobState::NotSubmitted;
            }
        }
    }
    fn next_wakeup(&self) -> Option<SimTime> {
        None
    }
}

/// Chaos plus a wake-up every second while jobs wait.
struct Ticking(Chaos, SimTime);

impl Policy for Ticking {
    fn label(&self) -> String {
        self.0.label()
    }
    fn on_transition(&mut self, job: JobIdx, t: Transition, view: &SchedView) {
        self.0.on_transition(job, t, view);
    }
    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        self.1 = view.now;
        self.0.schedule(view, decisions);
    }
    fn next_wakeup(&self) -> Option<SimTime> {
        let waiting = self.0.state.iter().any(|s| {
            matches!(
                s,
                JobState::Pending | JobState::Suspended | JobState::NotSubmitted
            )
        });
        waiting.then(|| self.1 + SimDuration::from_secs(1))
    }
}

/// A rate model from the job's number: 0.25 to 2.
struct Varied;

impl RateModel for Varied {
    fn rate(&self, job: JobIdx, _nodes: &[u32]) -> Rate {
        Rate::from_millionths([250_000, 500_000, 1_000_000, 1_333_333, 2_000_000][job.get() % 5])
    }
}

fn random_jobs(seed: u64, n: usize, max_procs: u32) -> Vec<Spec> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let work = rng.gen_range(0..200);
            (
                rng.gen_range(0..300),
                work,
                // Limits above and below the work: some jobs time out.
                rng.gen_range(0..300),
                rng.gen_range(1..=max_procs),
            )
        })
        .collect()
}

fn sorted(mut jobs: Vec<Spec>) -> Vec<Spec> {
    jobs.sort_by_key(|j| j.0);
    jobs
}

fn node_workload(jobs: &[Spec]) -> Workload {
    let spec: ClusterSpec =
        toml::from_str("[node_types.gpu]\ncount = 3\ncores = 8\nmemory_gb = 16\ngpus = 4\n")
            .unwrap();
    let mut w = workload(jobs, spec.total_cores() as u32);
    let requests: Vec<NodeRequest> = jobs
        .iter()
        .map(|&(_, _, _, procs)| NodeRequest {
            nodes: 1 + procs % 2,
            cores_per_node: 1 + procs % 4,
            memory_mb_per_node: 1024 * u64::from(1 + procs % 5),
            gpus_per_node: procs % 3,
            allowed_types: u64::MAX,
            ..NodeRequest::default()
        })
        .collect();
    for (j, r) in w.jobs.iter_mut().zip(&requests) {
        j.procs = r.nodes * r.cores_per_node;
    }
    common::nodes::put_on_nodes(&mut w, &spec, requests, Placement::FirstFit);
    w
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The lifecycle's VOPR: random suspends, resumes, requeues and cancels, at random
    /// rates, on random workloads of processors and of nodes (with impatient users), keep every invariant, and the
    /// same seed gives the same run.
    #[test]
    fn random_lifecycle_decisions_keep_every_invariant(seed in 0u64..1_000_000, n in 1usize..25) {
        for on_nodes in [false, true] {
            let jobs = sorted(random_jobs(seed, n, 8));
            let mut w = if on_nodes { node_workload(&jobs) } else { workload(&jobs, 8) };
            if on_nodes {
                impatient_users(&mut w, seed);
            }
            let run = || {
                let mut policy = Ticking(Chaos::new(seed, n), SimTime::ZERO);
                let options = SimOptions { rates: Some(&Varied), ..SimOptions::default() };
                simulate_with(&w, &mut policy, options, &mut |_| {})
            };
            let r = run().map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
            check_schedule(&w, &r).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
            check_nodes(&w, &r).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
            // Every job ended, with one outcome; only jobs that never started were given up on.
            prop_assert_eq!(r.log.len(), n);
            for l in &r.log {
                prop_assert!(l.outcome != Outcome::Abandoned || l.segments == 0);
            }
            prop_assert_eq!(run().unwrap(), r);
        }
    }
}

/// The random policy does exercise the lifecycle: over a few seeds it suspends, resumes,
/// requeues and cancels, and some jobs time out (so the property above tests something).
#[test]
fn the_random_policy_reaches_every_transition() {
    let (mut suspended, mut requeues, mut cancelled, mut timeouts, mut resumed) = (0, 0, 0, 0, 0);
    for seed in 0..20 {
        let jobs = sorted(random_jobs(seed, 20, 8));
        let w = workload(&jobs, 8);
        let mut policy = Ticking(Chaos::new(seed, 20), SimTime::ZERO);
        let r = simulate(&w, &mut policy, &mut |_| {}).unwrap();
        check_schedule(&w, &r).unwrap();
        suspended += r
            .log
            .iter()
            .filter(|l| l.suspended > SimDuration::ZERO)
            .count();
        requeues += r.log.iter().map(|l| l.requeues).sum::<u32>();
        cancelled += r
            .log
            .iter()
            .filter(|l| l.outcome == Outcome::Cancelled)
            .count();
        timeouts += r
            .log
            .iter()
            .filter(|l| l.outcome == Outcome::Timeout)
            .count();
        resumed += r
            .segments
            .iter()
            .filter(|s| s.ended == SegmentEnd::Suspended)
            .count();
    }
    assert!(
        suspended > 0 && requeues > 0 && cancelled > 0 && timeouts > 0 && resumed > 0,
        "suspended {suspended}, requeues {requeues}, cancelled {cancelled}, timeouts {timeouts}, \
         resumed {resumed}"
    );
}

/// Gives a third of `w`'s jobs users who wait forever and the others a patience of 0 to
/// 119 s (a node-level workload).
fn impatient_users(w: &mut Workload, seed: u64) {
    let n = w.jobs.len() as u64;
    w.nodes.as_mut().unwrap().users = (0..n)
        .map(|i| UserBehaviour {
            patience_s: if (seed + i) % 3 == 0 {
                u64::MAX
            } else {
                (seed * 31 + i * 17) % 120
            },
            ..UserBehaviour::default()
        })
        .collect();
}

/// With impatient users, the random policy's runs on nodes do see jobs given up on.
#[test]
fn the_random_policy_sees_users_give_up() {
    let mut abandoned = 0;
    for seed in 0..20 {
        let jobs = sorted(random_jobs(seed, 20, 8));
        let mut w = node_workload(&jobs);
        impatient_users(&mut w, seed);
        let mut policy = Ticking(Chaos::new(seed, 20), SimTime::ZERO);
        let r = simulate(&w, &mut policy, &mut |_| {}).unwrap();
        check_schedule(&w, &r).unwrap();
        abandoned += r
            .log
            .iter()
            .filter(|l| l.outcome == Outcome::Abandoned)
            .count();
    }
    assert!(abandoned > 0);
}
