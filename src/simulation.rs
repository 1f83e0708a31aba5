//! The simulation loop: events in, policy decisions checked and applied.
//!
//! At each instant `t` the loop runs rounds until nothing more is due at `t`:
//! 1. pop every event due at `t` in key order: job completions (rank 0) release resources
//!    and are told to the policy; arrivals (rank 1) are told to the policy, in queue order;
//!    policy wake-ups (rank 2) only make sure a pass happens;
//! 2. one scheduling pass: the policy returns decisions; each `Start` is checked (the job
//!    waits, it fits) and applied: resources taken, the completion queued at
//!    `t + run`. An invalid decision stops the run with [`SimError::InvalidDecision`].
//!
//! Zero-length jobs started by the pass complete at `t`, which makes another round at `t`.
//! Arrivals are fed lazily: only the next job's arrival is queued, so the queue holds the
//! running jobs' completions plus one arrival and at most one wake-up.

use crate::cluster::ProcessorPool;
use crate::engine::queue::{EventKind, EventQueue};
use crate::engine::time::SimTime;
use crate::policy::{Decision, Policy, SchedView};
use crate::workload::{JobIdx, Workload};

/// The events of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A running job reaches its end.
    JobEnd(JobIdx),
    /// A job is submitted.
    JobArrival(JobIdx),
    /// The policy asked to be run at this time.
    PolicyWakeup,
}

impl EventKind for Event {
    fn rank(&self) -> u8 {
        match self {
            Event::JobEnd(_) => 0,
            Event::JobArrival(_) => 1,
            Event::PolicyWakeup => 2,
        }
    }
}

/// A run that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The policy cannot run this workload.
    #[error("{0}")]
    Unsupported(String),
    /// The policy asked for something the engine cannot do.
    #[error("policy {policy} made an invalid decision at t={time}s: {detail}")]
    InvalidDecision {
        /// The policy's label.
        policy: String,
        /// When.
        time: SimTime,
        /// What was wrong.
        detail: String,
    },
    /// The workload's times could carry the clock past its range.
    #[error(
        "{workload}: the workload's times are too large to simulate: its last submission \
         ({last_submit}s) \
         plus the runtimes and estimates of all its jobs ({work}s) could pass the clock's \
         limit of {limit}s; check the trace's time fields, offsets and load factor"
    )]
    ClockOverflow {
        /// Where the jobs come from.
        workload: String,
        /// The latest submission.
        last_submit: SimTime,
        /// The sum over the jobs of the longer of runtime and estimate, s.
        work: u128,
        /// The latest instant a run may reach.
        limit: SimTime,
    },
    /// The policy left jobs waiting with nothing left to happen.
    #[error(
        "policy {policy} left {waiting} jobs waiting with no job running and nothing scheduled"
    )]
    Stalled {
        /// The policy's label.
        policy: String,
        /// Jobs still waiting.
        waiting: usize,
    },
}

/// How far a run has got, reported to the progress observer.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The current instant.
    pub now: SimTime,
    /// Jobs that have ended.
    pub jobs_done: usize,
    /// Jobs in the workload.
    pub jobs_total: usize,
    /// Events processed so far.
    pub events: u64,
}

/// What happened to every job, and counters about the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// Start time of each job, by [`JobIdx`].
    pub start: Vec<SimTime>,
    /// End time of each job, by [`JobIdx`].
    pub end: Vec<SimTime>,
    /// The first reservation the policy announced for each job, if any.
    pub first_reservation: Vec<Option<SimTime>>,
    /// Events processed.
    pub events: u64,
    /// Scheduling passes run.
    pub passes: u64,
    /// Largest number of jobs waiting at once.
    pub max_waiting: usize,
    /// For node-level workloads, the nodes each job ran on (empty otherwise).
    pub nodes: Vec<Vec<u32>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JobState {
    NotSubmitted,
    Waiting,
    Running,
    Done,
}

/// Events between two calls of the progress observer.
const PROGRESS_EVERY_EVENTS: u64 = 1 << 16;

/// The latest instant a run may reach: half the clock's range, so that a reservation's end
/// (its start plus an estimate) never saturates either.
pub const CLOCK_LIMIT: SimTime = SimTime::from_ms(u64::MAX / 2);

/// Refuses a workload whose times could saturate the clock. No policy here runs a job later
/// than the last submission plus the work of every job before it (each job's longer of
/// runtime and estimate, at least 1 ms as conservative plans it), so a bound below the
/// limit rules out saturated arithmetic anywhere in the run.
fn check_clock_range(workload: &Workload) -> Result<(), SimError> {
    let jobs = &workload.jobs;
    let last_submit = jobs.iter().map(|j| j.submit).max().unwrap_or(SimTime::ZERO);
    let work_ms: u128 = jobs
        .iter()
        .map(|j| u128::from(j.run.max(j.estimate).as_ms().max(1)))
        .sum();
    if u128::from(last_submit.as_ms()) + work_ms > u128::from(CLOCK_LIMIT.as_ms()) {
        return Err(SimError::ClockOverflow {
            workload: workload.meta.source.clone(),
            last_submit,
            work: work_ms / 1000,
            limit: CLOCK_LIMIT,
        });
    }
    Ok(())
}

/// Runs `workload` under `policy` to the end.
pub fn simulate(
    workload: &Workload,
    policy: &mut dyn Policy,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunResult, SimError> {
    let jobs = &workload.jobs;
    let n = jobs.len();
    check_clock_range(workload)?;
    let mut cluster = ProcessorPool::new(workload.machine_procs);
    let node_jobs = workload.nodes.as_deref();
    // The engine only checks and applies placements: no search index to keep.
    let mut nodes = node_jobs.map(|nw| nw.cluster.clone().without_index());
    let mut placed: Vec<Vec<u32>> = if node_jobs.is_some() {
        vec![Vec::new(); n]
    } else {
        Vec::new()
    };
    // The view of a pass: the node state goes with the requests.
    macro_rules! view {
        ($now:expr) => {{
            let mut v = SchedView::new($now, jobs, &cluster);
            v.nodes = node_jobs.zip(nodes.as_ref());
            v
        }};
    }
    let mut queue: EventQueue<Event> = EventQueue::with_capacity(1024);
    let mut state = vec![JobState::NotSubmitted; n];
    let mut result = RunResult {
        start: vec![SimTime::ZERO; n],
        end: vec![SimTime::ZERO; n],
        first_reservation: vec![None; n],
        events: 0,
        passes: 0,
        max_waiting: 0,
        nodes: Vec::new(),
    };
    let mut decisions: Vec<Decision> = Vec::new();
    let mut waiting = 0usize;
    let mut done = 0usize;
    let mut wakeup: Option<SimTime> = None;
    let invalid = |policy: &dyn Policy, time, detail: String| SimError::InvalidDecision {
        policy: policy.label(),
        time,
        detail,
    };

    if let Some(first) = jobs.first() {
        queue.push(first.submit, Event::JobArrival(JobIdx(0)));
    }
    while let Some(now) = queue.peek_time() {
        loop {
            while let Some((_, event)) = queue.pop_due(now) {
                result.events += 1;
                if result.events % PROGRESS_EVERY_EVENTS == 0 {
                    progress(&Progress {
                        now,
                        jobs_done: done,
                        jobs_total: n,
                        events: result.events,
                    });
                }
                match event {
                    Event::JobEnd(job) => {
                        cluster.release(&jobs[job.get()]);
                        if let (Some(nw), Some(nodes)) = (node_jobs, nodes.as_mut()) {
                            nodes.release(&nw.requests[job.get()], &placed[job.get()]);
                        }
                        state[job.get()] = JobState::Done;
                        result.end[job.get()] = now;
                        done += 1;
                        policy.on_job_end(job, &view!(now));
                    }
                    Event::JobArrival(job) => {
                        state[job.get()] = JobState::Waiting;
                        waiting += 1;
                        policy.on_arrival(job, &view!(now));
                        let next = job.get() + 1;
                        if next < n {
                            queue.push(jobs[next].submit, Event::JobArrival(JobIdx(next as u32)));
                        }
                    }
                    Event::PolicyWakeup => wakeup = None,
                }
            }
            result.max_waiting = result.max_waiting.max(waiting);

            decisions.clear();
            result.passes += 1;
            policy.schedule(&view!(now), &mut decisions);
            for decision in decisions.drain(..) {
                let (job, on) = match decision {
                    Decision::Reserve { job, at } => {
                        if let Some(slot) = result.first_reservation.get_mut(job.get()) {
                            slot.get_or_insert(at);
                        }
                        continue;
                    }
                    Decision::Start(job) => (job, None),
                    Decision::StartOn { job, nodes } => (job, Some(nodes)),
                };
                let Some(s) = state.get_mut(job.get()) else {
                    return Err(invalid(policy, now, format!("no job {}", job.0)));
                };
                if *s != JobState::Waiting {
                    return Err(invalid(
                        policy,
                        now,
                        format!("job {} is not waiting", jobs[job.get()].trace_id),
                    ));
                }
                let j = &jobs[job.get()];
                match (node_jobs, nodes.as_mut(), on) {
                    (Some(nw), Some(nodes), Some(set)) => {
                        let request = &nw.requests[job.get()];
                        nodes.check_placement(request, &set).map_err(|e| {
                            invalid(policy, now, format!("job {}: {e}", j.trace_id))
                        })?;
                        nodes.allocate(request, &set);
                        placed[job.get()] = set;
                    }
                    (None, None, None) => {}
                    (Some(_), _, None) => {
                        return Err(invalid(
                            policy,
                            now,
                            format!("job {} asks for nodes: start it on nodes", j.trace_id),
                        ))
                    }
                    _ => {
                        return Err(invalid(
                            policy,
                            now,
                            format!("job {} asks for processors, not nodes", j.trace_id),
                        ))
                    }
                }
                cluster.allocate(j).map_err(|e| {
                    invalid(policy, now, format!("job {} does not fit: {e}", j.trace_id))
                })?;
                *s = JobState::Running;
                waiting -= 1;
                result.start[job.get()] = now;
                queue.push(now + j.run, Event::JobEnd(job));
            }
            let wanted = policy.next_wakeup().filter(|&t| t > now);
            if wanted != wakeup {
                match wanted {
                    Some(t) => queue.push(t, Event::PolicyWakeup),
                    None => {
                        queue.cancel(&Event::PolicyWakeup);
                    }
                }
                wakeup = wanted;
            }
            if queue.peek_time() != Some(now) {
                break;
            }
        }
    }
    if waiting > 0 {
        return Err(SimError::Stalled {
            policy: policy.label(),
            waiting,
        });
    }
    debug_assert!(state.iter().all(|&s| s == JobState::Done));
    result.nodes = placed;
    Ok(result)
}
