//! The simulation loop: events in, policy decisions checked and applied, every job's life
//! recorded as segments (see [`crate::lifecycle`]).
//!
//! At each instant `t` the loop runs rounds until nothing more is due at `t`:
//! 1. pop every event due at `t` in key order: the shared file system's stage ends (rank
//!    0) start the work of jobs done staging in and complete jobs done staging out;
//!    segment stops (rank 1) end a job's segment (completed or timeout; a job with output
//!    to write begins its stage out instead), free its resources and are told to the
//!    policy; node failures and repairs (rank 2) end the segments on a failed node
//!    (requeued or failed, by class) and take it out of service, or put it back, and are
//!    told to the policy; arrivals (rank 3) are told to the policy, in queue order; users
//!    giving up on waiting jobs (rank 4) end them as `abandoned`; the idle culler's runs
//!    (rank 5) end idle sessions as `cancelled`; policy wake-ups (rank 6) only make sure a
//!    pass happens;
//! 2. one scheduling pass: the policy returns decisions, applied in the order given. Each
//!    is checked (a start: the job is pending and fits; a suspend: it runs; a resume: it is
//!    suspended and its cores and GPUs are free again on its nodes; …) and applied, and the
//!    transition is told to the policy. An invalid decision stops the run with
//!    [`SimError::InvalidDecision`].
//!
//! Zero-length segments started by the pass stop at `t`, which makes another round at `t`.
//! Arrivals are fed lazily: only the next job's arrival is queued, so the queue holds the
//! running jobs' stops plus one arrival, the waiting jobs' patience ends, at most one
//! culler run and at most one wake-up. A round whose only events were culler runs that
//! ended nothing has no pass: nothing changed, so turning the culler on changes no schedule
//! until it culls.
//!
//! **The idle culler** ([`Culler`], JupyterHub's semantics), when on, runs every
//! `cull_every_s` from time 0: every *running* interactive session whose current idle
//! period (by its activity timeline, [`crate::workload::activity`]) has lasted at least
//! `timeout_s`, or whose age since its first start is at least `max_age_s` (when not 0),
//! is cancelled as a `Decision::Cancel` would be, and recorded ([`Cull`]). After a run it
//! is queued again only if something else is queued (a stop, an arrival, a patience end, a
//! wake-up): with no job running and nothing to come, it would only keep the run alive.
//!
//! **Withdrawn events.** A running job has exactly one pending stop event,
//! `Event::JobStop(job)`. Suspending, requeueing or cancelling it withdraws that event by
//! identity ([`EventQueue::cancel`]); a resumed job gets a new one. The stop that pops is
//! therefore always the running segment's (checked: its due time is recorded and compared).
//!
//! **Staging** ([`crate::filesystem`], when `SimOptions::filesystem` is set): a segment
//! stages its input in, spends its start-up latency, works, and stages its output out.
//! While a job stages, its one stop event is at its time limit; one `StagingEnds` event is
//! queued at the next stage end and moved whenever a job begins or stops staging.

use crate::cluster::nodes::{NodeState, Nodes, SharePart};
use crate::cluster::spec::PreemptMode;
use crate::cluster::ProcessorPool;
use crate::engine::queue::{EventKind, EventQueue};
use crate::engine::time::{SimDuration, SimTime, CLOCK_LIMIT};
use crate::failures::{FailureTimeline, Failures};
use crate::filesystem::{FileSystemSettings, SharedFs, Stager};
use crate::lifecycle::{
    Budget, JobLog, JobRecord, JobState, LiveJob, Outcome, Rate, Segment, SegmentEnd, Stages,
    Transition,
};
use crate::lifecycle::{Cull, CullReason, QosLimit, Rejection, UserPresence};
use crate::lifecycle::{IdleSuspension, NodeChange, Preemption};
use crate::policy::{Decision, Policy, Predictor, SchedView};
use crate::workload::activity::Timeline;
use crate::workload::classes::{Checkpointing, FailureAction, NodeWorkload};
use crate::workload::{Job, JobIdx, JobKind, Workload};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub use crate::lifecycle::RunResult;

/// The events of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A running job's segment reaches its stop: its work is done or its limit reached.
    JobStop(JobIdx),
    /// A node fails: the jobs on it are requeued or end `failed`, and it is out of service
    /// until its `NodeUp`.
    NodeDown(u32),
    /// A failed node is repaired and back in service.
    NodeUp(u32),
    /// A leaf switch fails: every node under it is down until its `LeafUp` (and, for a
    /// node failed on its own too, its own repair).
    LeafDown(u32),
    /// A failed leaf switch is repaired.
    LeafUp(u32),
    /// A job is submitted.
    JobArrival(JobIdx),
    /// A waiting job's user gives up: their patience ran out before it started. Withdrawn
    /// when the job starts or is cancelled.
    PatienceEnds(JobIdx),
    /// The idle culler looks at the running sessions.
    CullerRuns,
    /// The next stage through the shared file system ends (one queued at a time, moved
    /// whenever a job starts or stops staging).
    StagingEnds,
    /// The policy asked to be run at this time.
    PolicyWakeup,
    /// The controller's main pass that `sched_min_interval` held back is due.
    MainPassDue,
    /// The controller's main pass over the whole queue (every `sched_interval`).
    FullMainPass,
    /// The controller's backfill pass (every `bf_interval`).
    BackfillPass,
    /// The controller's pass that held it ends: the passes due meanwhile may run.
    ControllerFree,
    /// The primary controller fails (its `k`-th outage).
    ControllerDown(u32),
    /// The controller serves again after an outage.
    ControllerUp,
    /// A client retries a submission that found the controller down.
    SubmitRetry(JobIdx),
    /// The controller's RPC service acknowledges a submission: the job is pending from
    /// now.
    Acknowledged(JobIdx),
    /// A start that a controller's pass decided is launched: the pass has tested the job
    /// (pass start + its cost so far). Withdrawn if the decision is dropped before.
    Launch(JobIdx),
    /// Dynamic backfill: a running session's user has now been idle for its pool's
    /// `suspend_idle_after_s` (it may be suspended from now on). Withdrawn when its segment
    /// ends.
    SessionIdle(JobIdx),
    /// Dynamic backfill: a session suspended while idle either has its user back (the
    /// policy is to resume it) or reaches its natural end (it ends, completed: its user
    /// left). Withdrawn when it leaves its suspension otherwise.
    UserBack(JobIdx),
}

impl EventKind for Event {
    fn rank(&self) -> u8 {
        match self {
            // Before stops, so that a job whose stage out ends as its time limit is reached
            // has completed (as work and limit running out together is a completion).
            Event::StagingEnds => 0,
            Event::JobStop(_) => 1,
            // After stops, so that a job whose work is done at the instant its node fails
            // completes; before arrivals and the pass, so that the pass at t sees the
            // nodes as they are at t.
            Event::NodeDown(_) | Event::NodeUp(_) | Event::LeafDown(_) | Event::LeafUp(_) => 2,
            Event::JobArrival(_) | Event::Acknowledged(_) | Event::SubmitRetry(_) => 3,
            // With node events: after stops, before arrivals and passes.
            Event::ControllerDown(_) | Event::ControllerUp => 2,
            // After arrivals, so that a patience of 0 still finds its job waiting; before
            // the pass, so that a job whose patience ends at t cannot start at t.
            Event::PatienceEnds(_) => 4,
            // After stops, so that a session ending by itself at t is not culled at t; before
            // the pass, so that what it frees can be used at t.
            Event::CullerRuns => 5,
            // Like the culler's: after stops, before the pass that may act on them.
            Event::SessionIdle(_) | Event::UserBack(_) => 5,
            // After stops, failures and patience ends: a node failing or a user giving up
            // at the instant of the launch drops it.
            Event::Launch(_) => 5,
            Event::PolicyWakeup => 6,
            // The controller's passes: after everything else at the instant.
            Event::MainPassDue
            | Event::FullMainPass
            | Event::BackfillPass
            | Event::ControllerFree => 6,
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
        /// Jobs still waiting (pending or suspended).
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

/// The rate a segment runs at, fixed when it starts. The engine asks it at every start and
/// resume; models that slow jobs down or speed them up (fabric, GPU speed) implement it.
pub trait RateModel {
    /// The rate of `job` starting a segment on `nodes` (empty for processors anywhere).
    fn rate(&self, job: JobIdx, nodes: &[u32]) -> Rate;
}

/// Models and options of the engine beyond the workload and the policy. The default is
/// today's replay: every segment at rate 1, no predictor, no node failures, no culler.
#[derive(Clone, Copy, Default)]
pub struct SimOptions<'a> {
    /// The segments' rates (`None`: rate 1 everywhere).
    pub rates: Option<&'a dyn RateModel>,
    /// What policies may know of true runtimes.
    pub predictor: Predictor,
    /// When nodes fail and are repaired (`None`: never; node-level workloads only).
    pub failures: Option<&'a Failures>,
    /// The idle culler (`None`: off).
    pub culler: Option<Culler>,
    /// Per-user limits on interactive sessions (`None`: none).
    pub qos: Option<Qos>,
    /// The shared file system jobs stage through (`None`: nothing stages).
    pub filesystem: Option<FileSystemSettings>,
    /// Credits whose spent allowance acts on new charged jobs at submission (`None` for
    /// credits that only bill, `when_exhausted = "bill"`): rejects them (`"deny"`) or
    /// demotes them (`"deprioritize"`), as its `when_exhausted` says.
    pub credit_limit: Option<&'a crate::credits::Credits>,
    /// The head node's scheduling loops (`None`: a pass at every instant where something
    /// changed, costing nothing).
    pub controller: Option<crate::controller::Controller>,
    /// The primary controller's outages, in order, disjoint (`controller::outage_windows`).
    pub controller_outages: &'a [(SimTime, SimTime)],
}

/// Per-user limits on interactive sessions, as a Slurm QOS with `DenyOnLimit` sets them: a
/// session whose user's sessions (waiting, running or suspended) would pass a limit with it
/// is rejected at submission (outcome `cancelled`, never queued) and counted. Jobs of an
/// unknown user (-1) and batch jobs are not limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qos {
    /// Sessions at once (`MaxJobsPerUser`).
    #[serde(default)]
    pub max_sessions_per_user: Option<u32>,
    /// Cores at once (`MaxTRESPerUser=cpu=N`).
    #[serde(default)]
    pub max_cores_per_user: Option<u64>,
    /// Whole GPUs at once (`MaxTRESPerUser=gres/gpu=N`).
    #[serde(default)]
    pub max_gpus_per_user: Option<u64>,
}

/// The idle culler's settings, as JupyterHub's idle culler takes them (the defaults are
/// those Zero to JupyterHub configures: `cull.timeout` 3600 s, `cull.every` 600 s,
/// `cull.maxAge` 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Culler {
    /// A session idle this long (its current idle period) is ended, s (at least 1).
    pub timeout_s: u64,
    /// Time between the culler's runs, s (at least 1); the first is at time 0.
    pub cull_every_s: u64,
    /// A session this old (since its first start) is ended, busy or not, s; 0: no limit.
    pub max_age_s: u64,
}

impl Default for Culler {
    fn default() -> Self {
        Culler {
            timeout_s: 3_600,
            cull_every_s: 600,
            max_age_s: 0,
        }
    }
}

/// Events between two calls of the progress observer.
const PROGRESS_EVERY_EVENTS: u64 = 1 << 16;

/// Refuses a workload whose times could saturate the clock. No policy here runs a job later
/// than the last submission plus the work of every job before it (each job's longer of
/// runtime and estimate, at least 1 ms as conservative plans it), so a bound below the
/// limit rules out saturated arithmetic anywhere in the run. (Rates below 1 and requeues
/// stretch this; runs that use them stay far below the limit in practice, and a time past
/// it would still saturate, never wrap.)
fn check_clock_range(workload: &Workload) -> Result<(), SimError> {
    let jobs = &workload.jobs;
    let last_submit = jobs.iter().map(|j| j.submit).max().unwrap_or(SimTime::ZERO);
    let work_ms: u128 = jobs
        .iter()
        .map(|j| u128::from(j.work.max(j.estimate).as_ms().max(1)))
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

/// The engine's state of one run.
struct Engine<'w> {
    workload: &'w Workload,
    jobs: &'w [Job],
    node_jobs: Option<&'w NodeWorkload>,
    pool: ProcessorPool,
    /// The engine only checks and applies placements: no search index to keep.
    nodes: Option<Nodes>,
    /// Per job, everything the engine keeps, in one record (one place in memory per job).
    records: Vec<JobRecord>,
    result: RunResult,
    queue: EventQueue<Event>,
    /// Pending jobs.
    waiting: usize,
    /// Suspended jobs.
    suspended: usize,
    done: usize,
    options: SimOptions<'w>,
    /// The failure model being followed, if the run has one.
    failures: Option<FailureTimeline<'w>>,
    /// With failures: per node, the jobs holding something on it (running or suspended),
    /// so that a failure finds them without a scan.
    on_node: Vec<Vec<JobIdx>>,
    /// Node and leaf events in the queue (they alone never let a waiting job start while
    /// every node is up: see the stall check).
    node_events_queued: usize,
    /// With failures: per node, how many causes keep it down now (its own failure, its leaf
    /// switch's); it is down while any does.
    down_causes: Vec<u8>,
    /// Running interactive sessions, kept only when the culler is on (it looks at these);
    /// ordered, so it looks at them in workload order.
    running_sessions: BTreeSet<u32>,
    /// The sessions the culler ended.
    culls: Vec<Cull>,
    /// With QOS limits: per user, the sessions not yet ended and their cores and GPUs.
    user_sessions: BTreeMap<i32, [u64; 3]>,
    /// With QOS limits: per job, whether it counts in `user_sessions`.
    counted: Vec<bool>,
    /// The sessions QOS limits rejected.
    rejections: Vec<Rejection>,
    /// With credits that deny or deprioritize: per account, its charged jobs' segments so
    /// far.
    account_segments: BTreeMap<String, Vec<u32>>,
    /// With a shared file system: who stages now.
    fs: Option<SharedFs>,
    /// Whether some pool suspends idle sessions (dynamic backfill).
    dynamic_backfill: bool,
    /// Sessions suspended while idle: when, and their record in
    /// `result.idle_suspensions`.
    parked: BTreeMap<JobIdx, (SimTime, usize)>,
    /// Starts a controller's pass decided, waiting for their launch (`Event::Launch`).
    launching: BTreeMap<JobIdx, Decision>,
}

/// What a node event tells the policy, in order.
enum Told {
    Job(JobIdx, Transition),
    Node(u32, NodeState),
    /// A start waiting for its launch on the failed node was dropped.
    Dropped(JobIdx, Vec<u32>),
}

/// An invalid decision, before the policy's label and the time are added.
type Refusal = String;

/// The controller's loops as the run follows them ([`crate::controller`]).
struct ControllerState {
    settings: crate::controller::Controller,
    /// Whether the policy backfills (it then has a backfill loop).
    backfills: bool,
    /// When the last main pass ran.
    last_main: Option<SimTime>,
    /// Which of `MainPassDue`, `FullMainPass`, `BackfillPass`, `ControllerFree` are
    /// queued.
    due_queued: bool,
    full_queued: bool,
    backfill_queued: bool,
    /// Passes due and not yet run: a main pass after a change, a main pass over the whole
    /// queue, a backfill pass.
    main_wanted: bool,
    full_wanted: bool,
    backfill_wanted: bool,
    /// Until when the last pass holds the controller.
    busy_until: SimTime,
    /// When the last backfill pass ended: the next one is `bf_interval` after it.
    backfill_anchor: SimTime,
    /// The nodes a pass examines for each job it tests (a processor pool's processors).
    examined_nodes: u64,
    /// The submission path: its settings and queue (`None`: acknowledged at once).
    rpc: Option<(crate::controller::Rpc, crate::controller::RpcQueue)>,
    /// The yields of the pass that holds the controller: when RPCs may be served.
    yields: Vec<(SimTime, SimTime)>,
    /// Whether a backfill pass is being deferred for `max_rpc_cnt` (counted once).
    deferring_backfill: bool,
    /// Backfill passes deferred.
    backfill_deferred: u64,
    /// Per job, when its submission was acknowledged (empty without an RPC path).
    acknowledged: Vec<Option<SimTime>>,
    /// The primary's outages, and each as followed.
    outages: Vec<(SimTime, SimTime)>,
    outage_logs: Vec<crate::controller::OutageLog>,
    /// While down: when the controller serves again.
    serving_at: Option<SimTime>,
    /// Per job, the submission attempts that found the controller down (empty without
    /// outages).
    attempts: Vec<u32>,
    /// Since the last change, a full main pass (and, for a policy that backfills, a
    /// backfill pass) ran and started nothing: more passes alone change nothing.
    quiet_main: bool,
    quiet_backfill: bool,
    /// Every pass, in order.
    cycles: Vec<crate::controller::Cycle>,
    /// Per job, when a pass first tested it.
    first_considered: Vec<Option<SimTime>>,
}

impl ControllerState {
    /// The first multiple of `interval` after `now` (the loops tick on a grid from time 0).
    fn next_tick(now: SimTime, interval: SimDuration) -> SimTime {
        let step = interval.as_ms().max(1);
        SimTime::from_ms((now.as_ms() / step + 1).saturating_mul(step))
    }

    /// `None` if the controller is free at `now` (no pass holds it, or the pass yields);
    /// else when it is next free.
    fn held_until(&self, now: SimTime) -> Option<SimTime> {
        if let Some(serving) = self.serving_at {
            return Some(serving);
        }
        if now >= self.busy_until {
            return None;
        }
        match self.yields.iter().find(|&&(_, end)| now < end) {
            Some(&(start, _)) if start <= now => None,
            Some(&(start, _)) => Some(start),
            None => Some(self.busy_until),
        }
    }

    /// The backfill loop's next tick after `now`: `bf_interval` steps from the end of its
    /// last pass.
    fn next_backfill(&self, now: SimTime) -> SimTime {
        let step = self.settings.bf_interval.as_ms().max(1);
        let anchor = self.backfill_anchor.as_ms();
        let steps = now.as_ms().saturating_sub(anchor) / step + 1;
        SimTime::from_ms(anchor.saturating_add(steps.saturating_mul(step)))
    }

    /// Whether passes alone can change nothing more.
    fn quiet(&self) -> bool {
        self.quiet_main && (self.quiet_backfill || !self.backfills)
    }
}

impl<'w> Engine<'w> {
    fn view(&self, now: SimTime) -> SchedView<'_> {
        SchedView::new(
            now,
            self.jobs,
            &self.pool,
            self.node_jobs.zip(self.nodes.as_ref()),
            &self.records,
            &self.result.segments,
            &self.result.segment_nodes,
            &self.result.start,
            self.options.predictor,
        )
    }

    /// `job`'s checkpoints and its work, if it takes any.
    fn checkpoints(&self, job: JobIdx) -> Option<(Checkpointing, u64)> {
        let i = job.get();
        let c = self.node_jobs?.checkpointing(i)?;
        Some((c, self.jobs[i].work.as_ms()))
    }

    fn name(&self, job: JobIdx) -> u64 {
        self.jobs[job.get()].trace_id
    }

    fn expect_state(&self, job: JobIdx, want: JobState, doing: &str) -> Result<(), Refusal> {
        let Some(live) = self.records.get(job.get()).map(|r| &r.live) else {
            return Err(format!("no job {} to {doing}", job.0));
        };
        if live.state != want {
            return Err(format!(
                "cannot {doing} job {}: it is {:?}, not {want:?}",
                self.name(job),
                live.state
            ));
        }
        Ok(())
    }

    /// Starts a segment of `job` on `nodes` (already allocated) at `now`; a `fresh` start
    /// (not a resumption) first spends the job's start-up latency.
    fn begin_segment(&mut self, job: JobIdx, nodes: &[u32], now: SimTime, fresh: bool) {
        let i = job.get();
        let startup_ms = match (fresh, self.node_jobs) {
            (true, Some(nw)) => u32::try_from(nw.user(i).startup_ms).unwrap_or(u32::MAX),
            _ => 0,
        };
        let rate = match self.options.rates {
            Some(model) => model.rate(job, nodes),
            None => Rate::ONE,
        };
        // A fresh start stages all of the job's data; a resumed one what is left of it.
        if let (true, Some(fs), Some(nw)) = (fresh, self.fs.as_mut(), self.node_jobs) {
            fs.fresh(job, nw.staging(i));
        }
        let first_node = self.result.segment_nodes.len() as u32;
        self.result.segment_nodes.extend_from_slice(nodes);
        let index = self.result.segments.len() as u32;
        self.result.segments.push(Segment {
            job,
            start: now,
            end: now,
            released: now,
            rate,
            first_node,
            node_count: nodes.len() as u32,
            startup_ms,
            ended: SegmentEnd::Completed,
        });
        if self.fs.is_some() {
            self.result.stages.push(Stages::default());
        }
        if let Some(credits) = self.options.credit_limit {
            if credits.charges(self.workload, i) {
                self.account_segments
                    .entry(crate::credits::account_of(self.workload, i))
                    .or_default()
                    .push(index);
            }
        }
        let record = &mut self.records[i];
        let limit_left_ms = record.budget.limit_left_ms;
        let log = &mut record.log;
        if log.segments == 0 {
            self.result.start[i] = now;
        }
        log.segments += 1;
        log.last_segment = Some(index);
        record.live = LiveJob {
            state: JobState::Running,
            segment_start: now,
            estimated_end: now + SimDuration::from_ms(limit_left_ms),
            segment: index,
            // Decided at submission, kept for the job's life.
            demoted: record.live.demoted,
        };
        let stage_in_bytes = self.fs.as_ref().map_or(0, |fs| fs.left(job).0);
        let stop_at = match self.fs.as_mut() {
            Some(fs) if stage_in_bytes > 0 => {
                // Staging in: only the time limit can stop the segment before the stage
                // ends (then the stop moves to the work's end).
                fs.join(job, stage_in_bytes, false, now);
                self.retime_staging();
                now + SimDuration::from_ms(limit_left_ms)
            }
            _ => self.working_stop(job).0,
        };
        self.queue.push(stop_at, Event::JobStop(job));
        if self.options.culler.is_some() && self.jobs[i].kind == JobKind::Interactive {
            self.running_sessions.insert(job.0);
        }
        if self.dynamic_backfill {
            self.queue_session_idle(job, now, now);
        }
    }

    /// Ends `job`'s running segment at `now` with `how`: credits the work done, withdraws
    /// its stop event unless it is the one that fired, and frees the segment's resources
    /// (all of them, or, for a suspension, all but memory).
    fn end_segment(&mut self, job: JobIdx, now: SimTime, how: SegmentEnd) {
        let i = job.get();
        // Cut short while staging: the stage stops here, and what it had left waits for a
        // resumption (a fresh start stages everything again).
        if let Some(stager) = self.fs.as_mut().and_then(|fs| fs.leave(job, now)) {
            self.record_stage(job, stager, now);
            self.retime_staging();
        }
        let segment = self.records[i].live.segment as usize;
        let seg = &self.result.segments[segment];
        let (start, rate) = (seg.start, seg.rate);
        let elapsed_ms = now.saturating_since(start).as_ms();
        // The start-up latency and the stages use the limit but do no work; the stage out
        // comes only after all the work, so what is left is the time worked.
        let working_ms = elapsed_ms
            .saturating_sub(u64::from(seg.startup_ms))
            .saturating_sub(self.result.stages_of(segment).total_ms());
        let checkpoints = self.checkpoints(job);
        let b = &mut self.records[i].budget;
        let worked = match (how, checkpoints) {
            (SegmentEnd::Completed, _) => b.remaining_work_ms,
            (_, None) => rate.work_in(working_ms).min(b.remaining_work_ms),
            (_, Some((c, work_ms))) => {
                let done_ms = work_ms - b.remaining_work_ms;
                let progress = c.progress(done_ms, work_ms, rate, working_ms);
                if let Some(saved_ms) = progress.saved_ms {
                    b.checkpointed_ms = saved_ms;
                }
                progress.done_ms - done_ms
            }
        };
        b.remaining_work_ms -= worked;
        b.limit_left_ms = b.limit_left_ms.saturating_sub(elapsed_ms);
        if !matches!(how, SegmentEnd::Completed | SegmentEnd::Timeout) {
            let withdrawn = self.queue.cancel(&Event::JobStop(job));
            debug_assert!(withdrawn.is_some(), "a running job has one stop event");
        }
        if self.options.culler.is_some() {
            self.running_sessions.remove(&job.0);
        }
        if self.dynamic_backfill {
            self.queue.cancel(&Event::SessionIdle(job));
        }
        let log = &mut self.records[i].log;
        log.work_done = log.work_done + SimDuration::from_ms(worked);
        log.ran = log.ran + SimDuration::from_ms(elapsed_ms);
        let seg = &mut self.result.segments[segment];
        seg.end = now;
        seg.released = now;
        seg.ended = how;
        let part = if how == SegmentEnd::Suspended {
            SharePart::Compute
        } else {
            SharePart::Whole
        };
        self.free(job, part);
    }

    /// The nodes of job `i`'s current (or last) segment.
    fn allocation(&self, i: usize) -> &[u32] {
        match self
            .result
            .segments
            .get(self.records[i].live.segment as usize)
        {
            Some(seg) => self.result.nodes_of(seg),
            None => &[],
        }
    }

    /// Frees `part` of `job`'s allocation (its last segment's nodes, or its processors).
    fn free(&mut self, job: JobIdx, part: SharePart) {
        let i = job.get();
        if part != SharePart::Memory {
            self.pool.release(self.jobs[i].procs);
        }
        if let (Some(nw), Some(nodes)) = (self.node_jobs, self.nodes.as_mut()) {
            let seg = &self.result.segments[self.records[i].live.segment as usize];
            let from = seg.first_node as usize;
            let set = &self.result.segment_nodes[from..from + seg.node_count as usize];
            nodes.give(&nw.requests[i], set, part);
            if part != SharePart::Compute && !self.on_node.is_empty() {
                // It holds nothing on its nodes any more.
                for &n in set {
                    let list = &mut self.on_node[n as usize];
                    if let Some(at) = list.iter().position(|&j| j == job) {
                        list.swap_remove(at);
                    }
                }
            }
        }
    }

    /// A suspended job resumes, is requeued or cancelled at `now`: its last segment's memory
    /// is released then, and the segment is marked with what followed the suspension.
    fn leave_suspension(&mut self, job: JobIdx, now: SimTime, then: SegmentEnd) {
        let i = job.get();
        if let Some((since, k)) = self.parked.remove(&job) {
            // A session is user-paced: the time it spent suspended while its user was idle
            // counts as session time, so it ends when its user leaves, as it would have.
            self.queue.cancel(&Event::UserBack(job));
            let b = &mut self.records[i].budget;
            let idle_ms = now.saturating_since(since).as_ms().min(b.remaining_work_ms);
            b.remaining_work_ms -= idle_ms;
            let log = &mut self.records[i].log;
            log.work_done = log.work_done + SimDuration::from_ms(idle_ms);
            if then == SegmentEnd::Suspended {
                self.result.idle_suspensions[k].resumed = Some(now);
            }
        }
        let seg = &mut self.result.segments[self.records[i].live.segment as usize];
        seg.released = now;
        seg.ended = then;
        let since = seg.end;
        let log = &mut self.records[i].log;
        log.suspended = log.suspended + now.saturating_since(since);
        self.suspended -= 1;
    }

    fn finish(&mut self, job: JobIdx, now: SimTime, outcome: Outcome) {
        let i = job.get();
        if self.counted.get(i).copied().unwrap_or(false) {
            self.counted[i] = false;
            let held = self.session_size(i);
            if let Some(user) = self.user_sessions.get_mut(&self.jobs[i].user) {
                for (have, less) in user.iter_mut().zip(held) {
                    *have = have.saturating_sub(less);
                }
            }
        }
        if let Some(fs) = self.fs.as_mut() {
            fs.forget(job);
        }
        self.records[i].live.state = JobState::Done(outcome);
        self.records[i].log.outcome = outcome;
        self.result.end[i] = now;
        if self.records[i].log.segments == 0 {
            self.result.start[i] = now;
        }
        self.done += 1;
    }

    /// Work done since the last checkpoint is lost: the job will start again from there.
    fn lose_work(&mut self, job: JobIdx) {
        let i = job.get();
        let b = &mut self.records[i].budget;
        let work = self.jobs[i].work.as_ms();
        let done = work - b.remaining_work_ms;
        let lost = done.saturating_sub(b.checkpointed_ms);
        b.remaining_work_ms = work - b.checkpointed_ms.min(work);
        b.limit_left_ms = self.jobs[i].estimate.as_ms();
        let log = &mut self.records[i].log;
        log.work_lost = log.work_lost + SimDuration::from_ms(lost);
    }

    /// When `job`'s running segment stops if nothing cuts it short, and whether its work
    /// is then done (else its time limit is reached): while it stages, its limit; else
    /// the end of its start-up and work after its stage in, or the limit if sooner.
    fn stop_due(&self, job: JobIdx) -> (SimTime, bool) {
        if self.fs.as_ref().is_some_and(|fs| fs.stages(job)) {
            return (self.deadline(job), false);
        }
        let record = &self.records[job.get()];
        let k = record.live.segment as usize;
        let seg = &self.result.segments[k];
        let in_ms = self.result.stages_of(k).in_ms;
        let budget = Budget {
            limit_left_ms: record.budget.limit_left_ms.saturating_sub(in_ms),
            ..record.budget
        };
        let (length_ms, completes) = budget.stop(seg.rate, self.checkpoints(job), seg.startup_ms);
        let from = seg.start + SimDuration::from_ms(in_ms);
        (from + SimDuration::from_ms(length_ms), completes)
    }

    /// [`Self::stop_due`] for a job past its stage in.
    fn working_stop(&self, job: JobIdx) -> (SimTime, bool) {
        debug_assert!(!self.fs.as_ref().is_some_and(|fs| fs.stages(job)));
        self.stop_due(job)
    }

    /// When `job`'s running segment reaches its time limit.
    fn deadline(&self, job: JobIdx) -> SimTime {
        let record = &self.records[job.get()];
        let seg = &self.result.segments[record.live.segment as usize];
        seg.start + SimDuration::from_ms(record.budget.limit_left_ms)
    }

    /// Queues the next stage end, or withdraws it when nobody stages.
    fn retime_staging(&mut self) {
        let Some(fs) = &self.fs else {
            return;
        };
        match fs.next_end() {
            Some(at) => self.queue.push(at, Event::StagingEnds),
            None => {
                self.queue.cancel(&Event::StagingEnds);
            }
        }
    }

    /// `job`'s stage ended (done or cut short) at `now`: its segment's stages record the
    /// stage's time, the file system what it had left.
    fn record_stage(&mut self, job: JobIdx, stager: Stager, now: SimTime) {
        let k = self.records[job.get()].live.segment as usize;
        let ms = now.saturating_since(stager.since).as_ms();
        if let Some(st) = self.result.stages.get_mut(k) {
            if stager.out {
                st.out_ms = ms;
            } else {
                st.in_ms = ms;
            }
        }
        if let Some(fs) = self.fs.as_mut() {
            fs.keep_left(job, stager);
        }
    }

    /// The stages due at `now` end, in job order: a stage in done lets the job's work
    /// begin (its stop moves from its limit to its work's end); a stage out done completes
    /// the job, which is appended to `completed`.
    fn staging_ends(&mut self, now: SimTime, completed: &mut Vec<JobIdx>) {
        let Some(fs) = self.fs.as_mut() else {
            return;
        };
        for (job, stager) in fs.take_done(now) {
            self.record_stage(job, stager, now);
            if stager.out {
                self.queue.cancel(&Event::JobStop(job));
                self.end_segment(job, now, SegmentEnd::Completed);
                self.finish(job, now, Outcome::Completed);
                completed.push(job);
            } else {
                let (at, _) = self.working_stop(job);
                self.queue.push(at, Event::JobStop(job));
            }
        }
        self.retime_staging();
    }

    /// The segment stop of `job` fired at `now`: its outcome, or `None` when its work is
    /// done and it goes on to stage its output out.
    fn stop(&mut self, job: JobIdx, now: SimTime) -> Option<Outcome> {
        let i = job.get();
        debug_assert_eq!(self.records[i].live.state, JobState::Running);
        let (due, mut completes) = self.stop_due(job);
        debug_assert_eq!(due, now, "a withdrawn stop fired");
        let out_bytes = self.fs.as_ref().map_or(0, |fs| fs.left(job).1);
        if completes && out_bytes > 0 {
            let deadline = self.deadline(job);
            if let (Some(fs), true) = (self.fs.as_mut(), deadline > now) {
                fs.join(job, out_bytes, true, now);
                self.retime_staging();
                self.queue.push(deadline, Event::JobStop(job));
                return None;
            }
            // The limit is reached as the work is done: no time is left to write.
            completes = false;
        }
        let (how, outcome) = if completes {
            (SegmentEnd::Completed, Outcome::Completed)
        } else {
            (SegmentEnd::Timeout, Outcome::Timeout)
        };
        self.end_segment(job, now, how);
        self.finish(job, now, outcome);
        Some(outcome)
    }

    /// Checks and applies one decision; returns the transition to tell the policy.
    fn apply(
        &mut self,
        decision: Decision,
        now: SimTime,
    ) -> Result<Option<(JobIdx, Transition)>, Refusal> {
        match decision {
            Decision::Reserve { job, at } => {
                if let Some(slot) = self.result.first_reservation.get_mut(job.get()) {
                    slot.get_or_insert(at);
                }
                Ok(None)
            }
            Decision::Start(job) => self.start(job, None, now),
            Decision::StartOn { job, nodes } => self.start(job, Some(nodes), now),
            Decision::Suspend(job) => {
                self.expect_state(job, JobState::Running, "suspend")?;
                self.end_segment(job, now, SegmentEnd::Suspended);
                self.records[job.get()].live.state = JobState::Suspended;
                self.suspended += 1;
                Ok(Some((job, Transition::Suspended)))
            }
            Decision::Resume(job) => {
                self.expect_state(job, JobState::Suspended, "resume")?;
                let i = job.get();
                let procs = self.jobs[i].procs;
                if procs > self.pool.free() {
                    return Err(format!(
                        "job {} cannot resume: needs {procs} processors, {} free",
                        self.name(job),
                        self.pool.free()
                    ));
                }
                let set = self.allocation(i).to_vec();
                if let (Some(nw), Some(nodes)) = (self.node_jobs, self.nodes.as_mut()) {
                    nodes
                        .check_part(&nw.requests[i], &set, SharePart::Compute)
                        .map_err(|e| format!("job {} cannot resume: {e}", self.jobs[i].trace_id))?;
                    nodes.take(&nw.requests[i], &set, SharePart::Compute);
                }
                self.pool.allocate(procs).map_err(|e| e.to_string())?;
                self.leave_suspension(job, now, SegmentEnd::Suspended);
                self.begin_segment(job, &set, now, false);
                Ok(Some((job, Transition::Resumed)))
            }
            Decision::Requeue(job) => {
                self.let_go(job, now, SegmentEnd::Requeued)?;
                let i = job.get();
                self.lose_work(job);
                self.records[i].log.requeues += 1;
                self.records[i].live.state = JobState::Pending;
                self.waiting += 1;
                Ok(Some((job, Transition::Requeued)))
            }
            Decision::Cancel(job) => {
                self.cancel(job, now)?;
                Ok(Some((job, Transition::Ended(Outcome::Cancelled))))
            }
            Decision::SuspendIdle { job, by } => self.suspend_idle(job, by, now),
            Decision::Preempt { job, by, mode } => {
                // For a pending job, or a suspended session whose user is back.
                if self.records.get(by.get()).map(|r| r.live.state) != Some(JobState::Suspended) {
                    self.expect_state(by, JobState::Pending, "preempt for")?;
                }
                let stop = match mode {
                    PreemptMode::Suspend => Decision::Suspend(job),
                    PreemptMode::Requeue => Decision::Requeue(job),
                    PreemptMode::Cancel => Decision::Cancel(job),
                    PreemptMode::Off => {
                        return Err(format!("job {} preempted with mode off", self.name(job)))
                    }
                };
                self.expect_state(job, JobState::Running, "preempt")?;
                let lost_before = self.records[job.get()].log.work_lost;
                let told = self.apply(stop, now)?;
                let log = &self.records[job.get()].log;
                let work_lost = match mode {
                    PreemptMode::Cancel => log.work_done,
                    _ => SimDuration::from_ms(
                        log.work_lost.as_ms().saturating_sub(lost_before.as_ms()),
                    ),
                };
                self.result.preemptions.push(Preemption {
                    at: now,
                    victim: job,
                    by,
                    mode,
                    work_lost,
                });
                Ok(told)
            }
        }
    }

    /// `job`'s pool's idleness threshold for dynamic backfill, ms, if it is a session of
    /// such a pool.
    fn idle_threshold_ms(&self, job: JobIdx) -> Option<u64> {
        let i = job.get();
        if self.jobs[i].kind != JobKind::Interactive {
            return None;
        }
        self.node_jobs?.preemption_of(i)?.suspend_idle_after_ms
    }

    /// `job`'s activity timeline, and its first start.
    fn timeline(&self, job: JobIdx) -> Option<(Timeline<'w>, SimTime)> {
        let i = job.get();
        let nw = self.node_jobs?;
        Some((Timeline::of(nw, i, &self.jobs[i]), self.result.start[i]))
    }

    /// Queues `job`'s next `SessionIdle`: the first instant at or after `from` at which its
    /// user will have been idle for its pool's threshold (the world's clock, not the
    /// policy's: the policy only sees the user's state at each pass).
    fn queue_session_idle(&mut self, job: JobIdx, from: SimTime, now: SimTime) {
        let (Some(threshold_ms), Some((timeline, first))) =
            (self.idle_threshold_ms(job), self.timeline(job))
        else {
            return;
        };
        let from_ms = from.saturating_since(first).as_ms();
        if let Some(at_ms) = timeline.idle_reaches(from_ms, threshold_ms) {
            let at = first + SimDuration::from_ms(at_ms);
            if at < CLOCK_LIMIT && at >= now {
                self.queue.push(at, Event::SessionIdle(job));
            }
        }
    }

    /// A `SessionIdle` event: the session may now be suspended (a pass follows); its next
    /// idle period long enough is queued. Returns whether it is still running.
    fn session_idle(&mut self, job: JobIdx, now: SimTime) -> bool {
        if self.records[job.get()].live.state != JobState::Running {
            return false;
        }
        if let Some((timeline, first)) = self.timeline(job) {
            let state = timeline.state_at(now.saturating_since(first).as_ms());
            if let Some(back_ms) = state.back_ms {
                self.queue_session_idle(job, first + SimDuration::from_ms(back_ms), now);
            }
        }
        true
    }

    /// Applies `Decision::SuspendIdle`: checks that `job` is a running session idle for its
    /// pool's threshold and `by` waits, suspends it, and queues its `UserBack` at its
    /// user's return or its natural end, whichever comes first.
    fn suspend_idle(
        &mut self,
        job: JobIdx,
        by: JobIdx,
        now: SimTime,
    ) -> Result<Option<(JobIdx, Transition)>, Refusal> {
        self.expect_state(by, JobState::Pending, "suspend an idle session for")?;
        self.expect_state(job, JobState::Running, "suspend as idle")?;
        let (Some(threshold_ms), Some((timeline, first))) =
            (self.idle_threshold_ms(job), self.timeline(job))
        else {
            return Err(format!(
                "job {} is not a session of a pool whose idle sessions may be suspended",
                self.name(job)
            ));
        };
        let state = timeline.state_at(now.saturating_since(first).as_ms());
        let idle_ms = now
            .saturating_since(first)
            .as_ms()
            .saturating_sub(state.since_ms);
        if !state.idle || idle_ms < threshold_ms {
            return Err(format!(
                "session {} is not idle for {} s",
                self.name(job),
                threshold_ms / 1000
            ));
        }
        let told = self.apply(Decision::Suspend(job), now)?;
        let left_ms = self.records[job.get()].budget.remaining_work_ms;
        let natural_end = now + SimDuration::from_ms(left_ms);
        let back = state.back_ms.map(|b| first + SimDuration::from_ms(b));
        let wake = back.map_or(natural_end, |b| b.min(natural_end));
        self.queue.push(wake.min(CLOCK_LIMIT), Event::UserBack(job));
        self.parked
            .insert(job, (now, self.result.idle_suspensions.len()));
        self.result.idle_suspensions.push(IdleSuspension {
            at: now,
            session: job,
            by,
            user_back: None,
            resumed: None,
        });
        Ok(told)
    }

    /// A `UserBack` event for a session suspended while idle: at its natural end it ends,
    /// completed (its user left while it was suspended; returns the outcome to tell);
    /// otherwise its user is back, recorded, the pass that follows may resume it, and its
    /// natural end is queued in case nothing lets it resume before.
    fn user_back(&mut self, job: JobIdx, now: SimTime) -> Option<Outcome> {
        let &(since, k) = self.parked.get(&job)?;
        let left_ms = self.records[job.get()].budget.remaining_work_ms;
        if now >= since + SimDuration::from_ms(left_ms) {
            self.free(job, SharePart::Memory);
            self.leave_suspension(job, now, SegmentEnd::Completed);
            self.finish(job, now, Outcome::Completed);
            return Some(Outcome::Completed);
        }
        let record = &mut self.result.idle_suspensions[k];
        if record.user_back.is_none() {
            record.user_back = Some(now);
            // If it cannot resume before, it still ends when its user leaves.
            self.queue
                .push(since + SimDuration::from_ms(left_ms), Event::UserBack(job));
        }
        None
    }

    /// Cancels `job` at `now`, pending, running or suspended: a policy's decision or the
    /// culler's.
    fn cancel(&mut self, job: JobIdx, now: SimTime) -> Result<(), Refusal> {
        self.let_go(job, now, SegmentEnd::Cancelled)?;
        self.finish(job, now, Outcome::Cancelled);
        Ok(())
    }

    /// The culler's run at `now`: ends every running session idle for `timeout_s` (or
    /// older than `max_age_s`), in workload order, and appends them to `culled`.
    fn cull(&mut self, culler: Culler, now: SimTime, culled: &mut Vec<JobIdx>) {
        let timeout_ms = culler.timeout_s.saturating_mul(1000);
        let max_age_ms = culler.max_age_s.saturating_mul(1000);
        let sessions: Vec<u32> = self.running_sessions.iter().copied().collect();
        for j in sessions {
            let (job, i) = (JobIdx(j), j as usize);
            let first_start = self.result.start[i];
            let age_ms = now.saturating_since(first_start).as_ms();
            let timeline = match self.node_jobs {
                Some(nw) => Timeline::of(nw, i, &self.jobs[i]),
                None => Timeline::Busy,
            };
            let state = timeline.state_at(age_ms);
            let reason = if state.idle && age_ms - state.since_ms >= timeout_ms {
                CullReason::Idle
            } else if max_age_ms > 0 && age_ms >= max_age_ms {
                CullReason::MaxAge
            } else {
                continue;
            };
            // Where it would have stopped by itself: its pending stop (while it stages, its
            // limit; a stage out to come is not counted).
            let natural_end = self.stop_due(job).0;
            let user = match state.back_ms {
                _ if !state.idle => UserPresence::Active,
                Some(back_ms) if first_start + SimDuration::from_ms(back_ms) < natural_end => {
                    UserPresence::Away
                }
                _ => UserPresence::Gone,
            };
            if self.cancel(job, now).is_ok() {
                self.culls.push(Cull {
                    job,
                    at: now,
                    reason,
                    user,
                    reclaimed_ms: natural_end.saturating_since(now).as_ms(),
                });
                culled.push(job);
            }
        }
    }

    /// Takes `job` out of whatever it is in, for a requeue or a cancellation (`how`): a
    /// running segment ends with `how` and frees everything; a suspended job's memory is
    /// freed and its last segment marked `how`; a pending job (cancelled only) leaves the
    /// queue.
    fn let_go(&mut self, job: JobIdx, now: SimTime, how: SegmentEnd) -> Result<(), Refusal> {
        let cancel = how == SegmentEnd::Cancelled;
        debug_assert!(
            how != SegmentEnd::Failed
                || matches!(
                    self.records[job.get()].live.state,
                    JobState::Running | JobState::Suspended
                ),
            "only jobs on a node fail with it"
        );
        match self.records.get(job.get()).map(|r| r.live.state) {
            Some(JobState::Running) => self.end_segment(job, now, how),
            Some(JobState::Suspended) => {
                // Its memory is all it still holds.
                self.free(job, SharePart::Memory);
                self.leave_suspension(job, now, how);
            }
            Some(JobState::Pending) if cancel => {
                self.waiting -= 1;
                self.withdraw_patience(job);
            }
            _ => {
                let (doing, allowed) = if cancel {
                    ("cancel", "pending, running or suspended")
                } else {
                    ("requeue", "running or suspended")
                };
                let name = self
                    .jobs
                    .get(job.get())
                    .map_or(u64::from(job.0), |j| j.trace_id);
                return Err(format!("cannot {doing} job {name}: it is not {allowed}"));
            }
        }
        Ok(())
    }

    /// When `job`'s user gives up waiting, if ever (see [`crate::workload::classes::UserBehaviour`]).
    fn patience_ends(&self, job: JobIdx) -> Option<SimTime> {
        let patience_s = self.node_jobs?.users.get(job.get())?.patience_s;
        let at_ms = self.jobs[job.get()]
            .submit
            .as_ms()
            .saturating_add(patience_s.saturating_mul(1000));
        (at_ms < CLOCK_LIMIT.as_ms()).then(|| SimTime::from_ms(at_ms))
    }

    /// What session `i` counts against its user's limits: one session, its cores, its GPUs.
    fn session_size(&self, i: usize) -> [u64; 3] {
        let gpus = self.node_jobs.map_or(0, |nw| {
            let r = &nw.requests[i];
            u64::from(r.nodes) * u64::from(r.gpus_per_node)
        });
        [1, u64::from(self.jobs[i].procs), gpus]
    }

    /// Whether `job`, arriving, passes its account's credit and its user's QOS limits; if
    /// not, it is rejected: it ends `cancelled` at once, never queued. With credits that
    /// deprioritize, a job whose account's credit is spent is admitted demoted instead.
    fn admit(&mut self, job: JobIdx, now: SimTime) -> bool {
        let i = job.get();
        if let Some(credits) = self.options.credit_limit {
            if credits.charges(self.workload, i) && self.credit_spent(credits, i, now) {
                if credits.when_exhausted == crate::credits::WhenExhausted::Deny {
                    self.rejections.push(Rejection {
                        job,
                        limit: QosLimit::Credit,
                    });
                    self.finish(job, now, Outcome::Cancelled);
                    return false;
                }
                // Deprioritize: admitted, demoted for good. Set before the job enters the
                // queue, so the policy files it under its demoted key from its arrival (and
                // again after any requeue, since nothing clears it).
                self.records[i].live.demoted = true;
            }
        }
        let Some(qos) = self.options.qos else {
            return true;
        };
        let user = self.jobs[i].user;
        if self.jobs[i].kind != JobKind::Interactive || user < 0 {
            return true;
        }
        let size = self.session_size(i);
        let have = self.user_sessions.get(&user).copied().unwrap_or([0; 3]);
        let limits = [
            (QosLimit::Sessions, qos.max_sessions_per_user.map(u64::from)),
            (QosLimit::Cores, qos.max_cores_per_user),
            (QosLimit::Gpus, qos.max_gpus_per_user),
        ];
        for (r, (limit, max)) in limits.into_iter().enumerate() {
            if max.is_some_and(|max| have[r] + size[r] > max) {
                self.rejections.push(Rejection { job, limit });
                self.finish(job, now, Outcome::Cancelled);
                return false;
            }
        }
        let entry = self.user_sessions.entry(user).or_insert([0; 3]);
        for r in 0..3 {
            entry[r] += size[r];
        }
        self.counted[i] = true;
        true
    }

    /// Whether job `i`'s account has spent its allowance for the month of `now`: the cost
    /// its charged jobs' segments accrued from the month's start to `now` (a running
    /// segment up to `now`) reaches the allowance.
    fn credit_spent(&self, credits: &crate::credits::Credits, i: usize, now: SimTime) -> bool {
        let account = crate::credits::account_of(self.workload, i);
        let Some(segments) = self.account_segments.get(&account) else {
            return credits.monthly_allowance <= 0.0;
        };
        let from = credits.month_start(now);
        let mut cost = 0.0;
        for &k in segments {
            let seg = &self.result.segments[k as usize];
            let j = seg.job.get();
            let live = &self.records[j].live;
            let running = live.segment == k
                && matches!(live.state, JobState::Running | JobState::Suspended)
                && seg.end == seg.start;
            // A suspended job holds its memory only, which costs nothing: its segment
            // ended at its suspension.
            let end = if running && live.state == JobState::Running {
                now
            } else {
                seg.end
            };
            cost += credits.cost_between(
                self.workload,
                j,
                self.result.nodes_of(seg),
                self.result.start[j],
                (seg.start, end),
                (from, now),
            );
        }
        cost >= credits.monthly_allowance
    }

    /// `job` arrives: it waits, and its user's patience starts running.
    fn arrive(&mut self, job: JobIdx) {
        self.records[job.get()].live.state = JobState::Pending;
        self.waiting += 1;
        if let Some(at) = self.patience_ends(job) {
            self.queue.push(at, Event::PatienceEnds(job));
        }
    }

    /// `job` will not be given up on: it started, or was cancelled.
    fn withdraw_patience(&mut self, job: JobIdx) {
        if self.patience_ends(job).is_some() {
            self.queue.cancel(&Event::PatienceEnds(job));
        }
    }

    /// `job`'s user gave up on it; false if it is no longer waiting for a first start.
    fn abandon(&mut self, job: JobIdx, now: SimTime) -> bool {
        let record = &self.records[job.get()];
        if record.live.state != JobState::Pending || record.log.segments > 0 {
            return false;
        }
        self.waiting -= 1;
        self.finish(job, now, Outcome::Abandoned);
        true
    }

    /// `node` fails at `now` (a failure of its own or of its leaf switch): every job on
    /// it, running or suspended, in job order, is requeued or ends `failed` (its class says
    /// which); then the node is out of service. Returns the transitions to tell the policy.
    fn take_down(&mut self, node: u32, now: SimTime) -> Vec<(JobIdx, Transition)> {
        let mut hit = std::mem::take(&mut self.on_node[node as usize]);
        hit.sort_unstable();
        let mut told = Vec::with_capacity(hit.len());
        for &job in &hit {
            let i = job.get();
            let action = self.node_jobs.map_or(FailureAction::Fail, |nw| {
                nw.on_node_failure(i, self.jobs[i].kind)
            });
            if self.records[i].live.state == JobState::Suspended {
                // Its memory is all it still holds.
                self.free(job, SharePart::Memory);
                self.leave_suspension(job, now, SegmentEnd::Failed);
            } else {
                self.end_segment(job, now, SegmentEnd::Failed);
            }
            match action {
                FailureAction::Requeue => {
                    self.lose_work(job);
                    self.records[i].log.requeues += 1;
                    self.records[i].live.state = JobState::Pending;
                    self.waiting += 1;
                    told.push((job, Transition::Requeued));
                }
                FailureAction::Fail => {
                    self.finish(job, now, Outcome::Failed);
                    told.push((job, Transition::Ended(Outcome::Failed)));
                }
            }
        }
        if let Some(nodes) = self.nodes.as_mut() {
            nodes.set_down(node);
        }
        self.result.node_changes.push(NodeChange {
            at: now,
            node,
            state: NodeState::Down,
        });
        told
    }

    /// `node` is back in service at `now`.
    fn bring_up(&mut self, node: u32, now: SimTime) {
        if let Some(nodes) = self.nodes.as_mut() {
            nodes.set_up(node);
        }
        self.result.node_changes.push(NodeChange {
            at: now,
            node,
            state: NodeState::Up,
        });
    }

    /// A cause of `node` being down begins (`+1`) or ends (`-1`): its own failure or its
    /// leaf switch's. Returns the node's new state if it changed.
    fn count_down_cause(&mut self, node: u32, delta: i8) -> Option<NodeState> {
        let causes = &mut self.down_causes[node as usize];
        let before = *causes;
        *causes = causes.saturating_add_signed(delta);
        match (before, *causes) {
            (0, 1) => Some(NodeState::Down),
            (1, 0) => Some(NodeState::Up),
            _ => None,
        }
    }

    /// A node or leaf switch fails or is repaired at `now`: the nodes it takes down or
    /// brings back (a node is down while its own failure or its leaf's lasts), in node
    /// order, and the cause's next event queued. Returns what to tell the policy, in order:
    /// for each node taken down, its jobs' transitions, then the node's change.
    fn node_event(&mut self, event: Event, now: SimTime) -> Vec<Told> {
        let Some(failures) = self.options.failures else {
            return Vec::new();
        };
        let (nodes, delta): (&[u32], i8) = match &event {
            Event::NodeDown(n) => (std::slice::from_ref(n), 1),
            Event::NodeUp(n) => (std::slice::from_ref(n), -1),
            Event::LeafDown(l) => (failures.nodes_of_leaf(*l), 1),
            Event::LeafUp(l) => (failures.nodes_of_leaf(*l), -1),
            _ => return Vec::new(),
        };
        let mut told = Vec::new();
        for &node in nodes {
            match self.count_down_cause(node, delta) {
                Some(NodeState::Down) => {
                    for (job, nodes) in self.drop_launches_on(node) {
                        told.push(Told::Dropped(job, nodes));
                    }
                    let jobs = self.take_down(node, now);
                    told.extend(jobs.into_iter().map(|(job, t)| Told::Job(job, t)));
                    told.push(Told::Node(node, NodeState::Down));
                }
                Some(NodeState::Up) => {
                    self.bring_up(node, now);
                    told.push(Told::Node(node, NodeState::Up));
                }
                None => {}
            }
        }
        let Some(timeline) = self.failures.as_mut() else {
            return told;
        };
        let (at, next) = match event {
            Event::NodeDown(n) => (Some(timeline.up_again(n, now)), Event::NodeUp(n)),
            Event::NodeUp(n) => (timeline.next_down(n, now), Event::NodeDown(n)),
            Event::LeafDown(l) => (Some(timeline.leaf_up_again(l, now)), Event::LeafUp(l)),
            Event::LeafUp(l) => (timeline.next_leaf_down(l, now), Event::LeafDown(l)),
            _ => return told,
        };
        self.queue_node_event(at, next);
        told
    }

    /// Drops the starts waiting for their launch on `node` (it failed), in job order:
    /// returns each with its nodes.
    fn drop_launches_on(&mut self, node: u32) -> Vec<(JobIdx, Vec<u32>)> {
        let hit: Vec<JobIdx> = self
            .launching
            .iter()
            .filter(|(_, d)| matches!(d, Decision::StartOn { nodes, .. } if nodes.contains(&node)))
            .map(|(&job, _)| job)
            .collect();
        hit.into_iter()
            .filter_map(|job| self.drop_launch(job))
            .collect()
    }

    /// Drops `job`'s start if it waits for its launch: returns its nodes (empty for
    /// processors anywhere).
    fn drop_launch(&mut self, job: JobIdx) -> Option<(JobIdx, Vec<u32>)> {
        let decision = self.launching.remove(&job)?;
        self.queue.cancel(&Event::Launch(job));
        self.result.launches_dropped += 1;
        let nodes = match decision {
            Decision::StartOn { nodes, .. } => nodes,
            _ => Vec::new(),
        };
        Some((job, nodes))
    }

    /// Queues `event` at `at` if there is one (a node event); forgets it otherwise.
    fn queue_node_event(&mut self, at: Option<SimTime>, event: Event) {
        match at {
            Some(at) => self.queue.push(at, event),
            None => self.node_events_queued -= 1,
        }
    }

    fn start(
        &mut self,
        job: JobIdx,
        on: Option<Vec<u32>>,
        now: SimTime,
    ) -> Result<Option<(JobIdx, Transition)>, Refusal> {
        self.expect_state(job, JobState::Pending, "start")?;
        let i = job.get();
        let j = &self.jobs[i];
        let set = match (self.node_jobs, self.nodes.as_mut(), on) {
            (Some(nw), Some(nodes), Some(set)) => {
                let request = &nw.requests[i];
                nodes
                    .check_placement(request, &set)
                    .map_err(|e| format!("job {}: {e}", j.trace_id))?;
                nodes.allocate(request, &set);
                if !self.on_node.is_empty() {
                    for &n in &set {
                        self.on_node[n as usize].push(job);
                    }
                }
                set
            }
            (None, None, None) => Vec::new(),
            (Some(_), _, None) => {
                return Err(format!(
                    "job {} asks for nodes: start it on nodes",
                    j.trace_id
                ))
            }
            _ => return Err(format!("job {} asks for processors, not nodes", j.trace_id)),
        };
        self.pool
            .allocate(j.procs)
            .map_err(|e| format!("job {} does not fit: {e}", j.trace_id))?;
        self.waiting -= 1;
        if self.records[i].log.segments == 0 {
            self.withdraw_patience(job);
        }
        self.begin_segment(job, &set, now, true);
        Ok(Some((job, Transition::Started)))
    }
}

/// Runs `workload` under `policy` to the end, every segment at rate 1.
pub fn simulate(
    workload: &Workload,
    policy: &mut dyn Policy,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunResult, SimError> {
    simulate_with(workload, policy, SimOptions::default(), progress)
}

/// Runs `workload` under `policy` to the end, with the engine's models set by `options`.
pub fn simulate_with(
    workload: &Workload,
    policy: &mut dyn Policy,
    options: SimOptions<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunResult, SimError> {
    let jobs = &workload.jobs;
    let n = jobs.len();
    check_clock_range(workload)?;
    let node_jobs = workload.nodes.as_deref();
    let mut engine = Engine {
        workload,
        jobs,
        node_jobs,
        pool: ProcessorPool::new(workload.machine_procs),
        nodes: node_jobs.map(|nw| nw.cluster.clone().without_index()),
        records: jobs
            .iter()
            .map(|j| JobRecord {
                live: LiveJob::NOT_SUBMITTED,
                log: JobLog {
                    outcome: Outcome::Completed,
                    segments: 0,
                    requeues: 0,
                    suspended: SimDuration::ZERO,
                    work_lost: SimDuration::ZERO,
                    work_done: SimDuration::ZERO,
                    ran: SimDuration::ZERO,
                    last_segment: None,
                },
                budget: Budget {
                    remaining_work_ms: j.work.as_ms(),
                    limit_left_ms: j.estimate.as_ms(),
                    ..Budget::default()
                },
            })
            .collect(),
        result: RunResult {
            start: vec![SimTime::ZERO; n],
            end: vec![SimTime::ZERO; n],
            segments: Vec::with_capacity(n),
            first_reservation: vec![None; n],
            ..RunResult::default()
        },
        queue: EventQueue::with_capacity(1024),
        waiting: 0,
        suspended: 0,
        done: 0,
        options,
        failures: None,
        on_node: Vec::new(),
        node_events_queued: 0,
        down_causes: Vec::new(),
        running_sessions: BTreeSet::new(),
        culls: Vec::new(),
        user_sessions: BTreeMap::new(),
        counted: if options.qos.is_some() {
            vec![false; n]
        } else {
            Vec::new()
        },
        rejections: Vec::new(),
        account_segments: BTreeMap::new(),
        fs: options.filesystem.map(SharedFs::new),
        dynamic_backfill: workload.nodes.as_deref().is_some_and(|nw| {
            nw.partition_preemption
                .iter()
                .any(|p| p.suspend_idle_after_ms.is_some())
        }),
        parked: BTreeMap::new(),
        launching: BTreeMap::new(),
    };
    if let Some(failures) = options.failures {
        let Some(nodes) = engine.nodes.as_ref() else {
            return Err(SimError::Unsupported(
                "node failures need jobs that ask for nodes (a scenario with a [cluster])"
                    .to_string(),
            ));
        };
        let node_count = nodes.len();
        let mut timeline = failures.timeline();
        engine.on_node = vec![Vec::new(); node_count];
        engine.down_causes = vec![0; node_count];
        for node in 0..node_count.min(timeline.nodes()) as u32 {
            if let Some(at) = timeline.next_down(node, SimTime::ZERO) {
                engine.queue.push(at, Event::NodeDown(node));
                engine.node_events_queued += 1;
            }
        }
        for leaf in 0..timeline.leaves() as u32 {
            if let Some(at) = timeline.next_leaf_down(leaf, SimTime::ZERO) {
                engine.queue.push(at, Event::LeafDown(leaf));
                engine.node_events_queued += 1;
            }
        }
        engine.failures = Some(timeline);
    }
    let mut decisions: Vec<Decision> = Vec::new();
    let mut wakeup: Option<SimTime> = None;
    let invalid = |policy: &dyn Policy, time, detail: String| SimError::InvalidDecision {
        policy: policy.label(),
        time,
        detail,
    };

    if let Some(first) = jobs.first() {
        engine
            .queue
            .push(first.submit, Event::JobArrival(JobIdx(0)));
    }
    let culler = options.culler.filter(|_| n > 0);
    let mut culler_queued = culler.is_some();
    if culler_queued {
        engine.queue.push(SimTime::ZERO, Event::CullerRuns);
    }
    let mut culled: Vec<JobIdx> = Vec::new();
    let mut staged: Vec<JobIdx> = Vec::new();
    let mut ctl = options.controller.map(|settings| ControllerState {
        settings,
        backfills: policy.backfills(),
        last_main: None,
        due_queued: false,
        full_queued: false,
        backfill_queued: false,
        main_wanted: false,
        full_wanted: false,
        backfill_wanted: false,
        busy_until: SimTime::ZERO,
        backfill_anchor: SimTime::ZERO,
        examined_nodes: engine
            .nodes
            .as_ref()
            .map_or(u64::from(engine.pool.total()), |nodes| nodes.len() as u64),
        rpc: settings
            .rpc
            .map(|rpc| (rpc, crate::controller::RpcQueue::default())),
        yields: Vec::new(),
        deferring_backfill: false,
        backfill_deferred: 0,
        acknowledged: if settings.rpc.is_some() {
            vec![None; n]
        } else {
            Vec::new()
        },
        outages: options.controller_outages.to_vec(),
        outage_logs: Vec::new(),
        serving_at: None,
        attempts: if options.controller_outages.is_empty() {
            Vec::new()
        } else {
            vec![0; n]
        },
        quiet_main: false,
        quiet_backfill: false,
        cycles: Vec::new(),
        first_considered: vec![None; n],
    });
    if let Some(&(down, _)) = ctl.as_ref().and_then(|c| c.outages.first()) {
        engine.queue.push(down, Event::ControllerDown(0));
    }
    let mut tested: Vec<JobIdx> = Vec::new();
    while let Some(now) = engine.queue.peek_time() {
        if engine.done == n {
            break; // only node events are left: nothing more can happen to a job
        }
        let mut culler_ran = false;
        loop {
            // Whether anything at this round may change what the policy decides.
            let mut changed = false;
            // The controller's passes due at this round.
            let (mut main_due, mut full_due, mut backfill_due) = (false, false, false);
            // The pass that held the controller ended.
            let mut freed = false;
            while let Some((_, event)) = engine.queue.pop_due(now) {
                engine.result.events += 1;
                if engine.result.events % PROGRESS_EVERY_EVENTS == 0 {
                    progress(&Progress {
                        now,
                        jobs_done: engine.done,
                        jobs_total: n,
                        events: engine.result.events,
                    });
                }
                match event {
                    Event::JobStop(job) => {
                        if let Some(outcome) = engine.stop(job, now) {
                            let ended = Transition::Ended(outcome);
                            policy.on_transition(job, ended, &engine.view(now));
                        } else {
                            // It stages out: nothing a policy sees has changed.
                            continue;
                        }
                    }
                    Event::StagingEnds => {
                        staged.clear();
                        engine.staging_ends(now, &mut staged);
                        for &job in &staged {
                            let ended = Transition::Ended(Outcome::Completed);
                            policy.on_transition(job, ended, &engine.view(now));
                        }
                        // A stage in ending changes nothing a policy sees.
                        changed |= !staged.is_empty();
                        continue;
                    }
                    Event::JobArrival(job) | Event::SubmitRetry(job) | Event::Acknowledged(job) => {
                        let through = match event {
                            Event::Acknowledged(_) => {
                                if let Some(c) = ctl.as_mut() {
                                    if let Some((_, queue)) = c.rpc.as_mut() {
                                        queue.in_service -= 1;
                                    }
                                    c.acknowledged[job.get()] = Some(now);
                                }
                                true
                            }
                            _ => {
                                let retry = matches!(event, Event::SubmitRetry(_));
                                let next = job.get() + 1;
                                if !retry && next < n {
                                    engine.queue.push(
                                        jobs[next].submit,
                                        Event::JobArrival(JobIdx(next as u32)),
                                    );
                                }
                                submit(&mut engine, ctl.as_mut(), job, now, retry)
                            }
                        };
                        // Through the controller's RPC service, the job is pending once
                        // acknowledged; while it is down, once a retry gets through.
                        if !through {
                            continue;
                        }
                        if engine.admit(job, now) {
                            engine.arrive(job);
                            policy.on_transition(job, Transition::Pending, &engine.view(now));
                        }
                    }
                    Event::ControllerDown(k) => {
                        if let Some(c) = ctl.as_mut() {
                            controller_down(&mut engine, c, k as usize, now);
                        }
                        continue;
                    }
                    Event::ControllerUp => {
                        if let Some(c) = ctl.as_mut() {
                            c.serving_at = None;
                        }
                        freed = true;
                        continue;
                    }
                    Event::PatienceEnds(job) => {
                        // A start decided for it and not yet launched is dropped first.
                        if let Some((job, nodes)) = engine.drop_launch(job) {
                            policy.launch_dropped(job, &nodes, &engine.view(now));
                        }
                        if engine.abandon(job, now) {
                            let ended = Transition::Ended(Outcome::Abandoned);
                            policy.on_transition(job, ended, &engine.view(now));
                        }
                    }
                    Event::CullerRuns => {
                        culler_ran = true;
                        culler_queued = false;
                        culled.clear();
                        if let Some(c) = culler {
                            engine.cull(c, now, &mut culled);
                        }
                        for &job in &culled {
                            let ended = Transition::Ended(Outcome::Cancelled);
                            policy.on_transition(job, ended, &engine.view(now));
                        }
                        changed |= !culled.is_empty();
                        continue;
                    }
                    Event::PolicyWakeup => wakeup = None,
                    Event::Launch(job) => {
                        if let Some(decision) = engine.launching.remove(&job) {
                            let told = engine
                                .apply(decision, now)
                                .map_err(|detail| invalid(policy, now, detail))?;
                            if let Some((job, transition)) = told {
                                policy.on_transition(job, transition, &engine.view(now));
                            }
                        }
                        // A start lets no other job start.
                        continue;
                    }
                    Event::MainPassDue
                    | Event::FullMainPass
                    | Event::BackfillPass
                    | Event::ControllerFree => {
                        if let Some(c) = ctl.as_mut() {
                            match event {
                                Event::ControllerFree => freed = true,
                                Event::MainPassDue => {
                                    c.due_queued = false;
                                    main_due = true;
                                }
                                Event::FullMainPass => {
                                    c.full_queued = false;
                                    full_due = true;
                                }
                                _ => {
                                    c.backfill_queued = false;
                                    backfill_due = true;
                                }
                            }
                        }
                        continue;
                    }
                    Event::SessionIdle(job) => {
                        if !engine.session_idle(job, now) {
                            continue;
                        }
                    }
                    Event::UserBack(job) => {
                        if let Some(outcome) = engine.user_back(job, now) {
                            let ended = Transition::Ended(outcome);
                            policy.on_transition(job, ended, &engine.view(now));
                        }
                    }
                    Event::NodeDown(_)
                    | Event::NodeUp(_)
                    | Event::LeafDown(_)
                    | Event::LeafUp(_) => {
                        for told in engine.node_event(event, now) {
                            let view = engine.view(now);
                            match told {
                                Told::Job(job, transition) => {
                                    policy.on_transition(job, transition, &view)
                                }
                                Told::Node(node, state) => {
                                    policy.on_node_change(node, state, &view)
                                }
                                Told::Dropped(job, nodes) => {
                                    policy.launch_dropped(job, &nodes, &view)
                                }
                            }
                        }
                    }
                }
                changed = true;
            }
            engine.result.max_waiting = engine.result.max_waiting.max(engine.waiting);
            if let Some(c) = ctl.as_mut() {
                serve_submissions(&mut engine, c, now);
            }
            if !changed && !main_due && !full_due && !backfill_due && !freed {
                if engine.queue.peek_time() != Some(now) {
                    break;
                }
                continue;
            }

            match ctl.as_mut() {
                None => {
                    decisions.clear();
                    engine.result.passes += 1;
                    policy.schedule(&engine.view(now), &mut decisions);
                    for decision in decisions.drain(..) {
                        let told = engine
                            .apply(decision, now)
                            .map_err(|detail| invalid(policy, now, detail))?;
                        if let Some((job, transition)) = told {
                            policy.on_transition(job, transition, &engine.view(now));
                        }
                    }
                }
                Some(c) => {
                    if changed {
                        c.quiet_main = false;
                        c.quiet_backfill = false;
                        c.main_wanted = true;
                    }
                    c.main_wanted |= main_due;
                    c.full_wanted |= full_due;
                    c.backfill_wanted |= backfill_due && c.backfills;
                    controller_passes(&mut engine, policy, c, &mut decisions, &mut tested, now)?;
                }
            }
            let wanted = policy.next_wakeup().filter(|&t| t > now);
            if wanted != wakeup {
                match wanted {
                    Some(t) => engine.queue.push(t, Event::PolicyWakeup),
                    None => {
                        engine.queue.cancel(&Event::PolicyWakeup);
                    }
                }
                wakeup = wanted;
            }
            if engine.queue.peek_time() != Some(now) {
                break;
            }
        }
        // The culler's next run, while anything else is to come.
        if let (Some(c), true) = (culler, culler_ran) {
            let next_ms = now
                .as_ms()
                .saturating_add(c.cull_every_s.saturating_mul(1000));
            if !engine.queue.is_empty() && next_ms <= CLOCK_LIMIT.as_ms() {
                engine
                    .queue
                    .push(SimTime::from_ms(next_ms), Event::CullerRuns);
                culler_queued = true;
            }
        }
        // The controller's loops tick while jobs wait.
        let mut ticks_queued = 0;
        if let Some(c) = ctl.as_mut() {
            if engine.waiting > 0 {
                if !c.full_queued {
                    let at = ControllerState::next_tick(now, c.settings.sched_interval);
                    engine.queue.push(at, Event::FullMainPass);
                    c.full_queued = true;
                }
                if c.backfills && !c.backfill_queued {
                    let at = c.next_backfill(now);
                    engine.queue.push(at, Event::BackfillPass);
                    c.backfill_queued = true;
                }
            }
            // With nothing changed since passes that started nothing, more ticks change
            // nothing either.
            if c.quiet() {
                ticks_queued = usize::from(c.full_queued) + usize::from(c.backfill_queued);
                if engine.queue.len() == ticks_queued + usize::from(culler_queued) {
                    break;
                }
            }
        }
        // With every node up and only node events (and the culler's next run) left, nothing
        // but a failure can happen next, and a failure never lets a waiting job start: the
        // policy has stalled.
        let only_node_events = engine.queue.len()
            == engine.node_events_queued + usize::from(culler_queued) + ticks_queued;
        let all_up = engine
            .nodes
            .as_ref()
            .is_none_or(|nodes| nodes.down_count() == 0);
        if only_node_events && all_up && engine.node_events_queued > 0 && engine.done < n {
            break;
        }
    }
    if engine.waiting + engine.suspended > 0 {
        return Err(SimError::Stalled {
            policy: policy.label(),
            waiting: engine.waiting + engine.suspended,
        });
    }
    debug_assert!(engine
        .records
        .iter()
        .all(|r| matches!(r.live.state, JobState::Done(_))));
    let mut result = engine.result;
    result.log = engine.records.iter().map(|r| r.log).collect();
    result.culls = culler.map(|_| engine.culls);
    if let Some(c) = ctl {
        debug_assert!(
            engine.launching.is_empty(),
            "every start was launched or dropped"
        );
        result.cycles = Some(c.cycles);
        result.first_considered = c.first_considered;
        result.acknowledged = c.acknowledged;
        result.backfill_deferred = c.backfill_deferred;
        result.longest_backlog = c.rpc.map_or(0, |(_, queue)| queue.longest_backlog);
        result.outages = c.outage_logs;
    }
    let when_exhausted = options.credit_limit.map(|c| c.when_exhausted);
    let credit_denies = when_exhausted == Some(crate::credits::WhenExhausted::Deny);
    result.rejected = (options.qos.is_some() || credit_denies).then_some(engine.rejections);
    result.demoted =
        (when_exhausted == Some(crate::credits::WhenExhausted::Deprioritize)).then(|| {
            (0..n)
                .filter(|&i| engine.records[i].live.demoted)
                .map(|i| JobIdx(i as u32))
                .collect()
        });
    // No segment staged (a file system nobody used): the run is today's, to the byte.
    if result.stages.iter().all(|s| *s == Stages::default()) {
        result.stages.clear();
    }
    Ok(result)
}

/// A submission (`retry`: a client's retry) reaches the controller at `now`: returns
/// whether the job is to be admitted at once (no controller, or one without an RPC path
/// that is up). Down, the client retries later or, past its retries, the submission is
/// lost (ended `cancelled`, counted); up with an RPC path, it queues for the service.
fn submit(
    engine: &mut Engine,
    c: Option<&mut ControllerState>,
    job: JobIdx,
    now: SimTime,
    retry: bool,
) -> bool {
    let Some(c) = c else {
        return true;
    };
    if c.serving_at.is_some() {
        let failover = c.settings.failover;
        let attempts = &mut c.attempts[job.get()];
        *attempts += 1;
        let log = c.outage_logs.last_mut().expect("an outage is under way");
        if !retry {
            log.submissions_delayed += 1;
        }
        if *attempts > failover.retries {
            log.submissions_lost += 1;
            engine.finish(job, now, Outcome::Cancelled);
        } else {
            let wait = failover.retry_wait(*attempts);
            engine.queue.push(now + wait, Event::SubmitRetry(job));
        }
        return false;
    }
    match c.rpc.as_mut() {
        Some((_, queue)) => {
            queue.submit(job);
            false
        }
        None => true,
    }
}

/// The primary controller fails at `now` (its `k`-th outage): nothing is served until the
/// backup takes over or it is back, and the state recovered. Queues its return and the
/// next outage.
fn controller_down(engine: &mut Engine, c: &mut ControllerState, k: usize, now: SimTime) {
    let (down, up) = c.outages[k];
    let held = engine
        .records
        .iter()
        .filter(|r| {
            matches!(
                r.live.state,
                JobState::Pending | JobState::Running | JobState::Suspended
            )
        })
        .count() as u64;
    let serving = c.settings.failover.serving_again(down, up, held);
    match c.serving_at {
        // Still down from the last one (its recovery outlasted this failure): one outage.
        Some(at) => {
            let serving = serving.max(at);
            c.serving_at = Some(serving);
            if let Some(log) = c.outage_logs.last_mut() {
                log.serving = serving;
            }
            engine.queue.cancel(&Event::ControllerUp);
            engine.queue.push(serving, Event::ControllerUp);
        }
        None => {
            c.serving_at = Some(serving);
            c.outage_logs.push(crate::controller::OutageLog {
                down: now,
                serving,
                ..Default::default()
            });
            engine.queue.push(serving, Event::ControllerUp);
        }
    }
    if let Some(&(next, _)) = c.outages.get(k + 1) {
        engine.queue.push(next, Event::ControllerDown(k as u32 + 1));
    }
}

/// Makes the controller look again at `at` (one `ControllerFree` is queued at a time, at
/// the earliest instant asked for).
fn wake_controller(engine: &mut Engine, at: SimTime) {
    let at = match engine.queue.cancel(&Event::ControllerFree) {
        Some(queued) => queued.min(at),
        None => at,
    };
    engine.queue.push(at, Event::ControllerFree);
}

/// Starts serving the submissions waiting for the controller's RPC service, as many as it
/// has free threads, if no pass holds the controller at `now`; else looks again when it is
/// free.
fn serve_submissions(engine: &mut Engine, c: &mut ControllerState, now: SimTime) {
    let held = c.held_until(now);
    let Some((rpc, queue)) = c.rpc.as_mut() else {
        return;
    };
    if queue.waiting.is_empty() {
        return;
    }
    if let Some(free_at) = held {
        wake_controller(engine, free_at);
        return;
    }
    while queue.in_service < rpc.threads {
        let Some(job) = queue.waiting.pop_front() else {
            break;
        };
        queue.in_service += 1;
        engine
            .queue
            .push(now + rpc.service, Event::Acknowledged(job));
    }
}

/// Runs the controller's passes wanted at `now`, one after another while they take no
/// time. A pass that takes time holds the controller: the starts it decided are launched as
/// it tests them, and what is still wanted runs when it ends.
fn controller_passes(
    engine: &mut Engine,
    policy: &mut dyn Policy,
    c: &mut ControllerState,
    decisions: &mut Vec<Decision>,
    tested: &mut Vec<JobIdx>,
    now: SimTime,
) -> Result<(), SimError> {
    use crate::controller::{ms_ceil, Cycle, PassKind};
    loop {
        let free_at = c.serving_at.unwrap_or(c.busy_until);
        if now < free_at {
            if c.main_wanted || c.full_wanted || c.backfill_wanted {
                wake_controller(engine, free_at);
            }
            return Ok(());
        }
        // The main loop first: over the whole queue on its interval; else, after a change,
        // to its depth, no sooner than `sched_min_interval` after the last one. Then the
        // backfill loop.
        let main_allowed_at = c
            .last_main
            .map_or(now, |t| t + c.settings.sched_min_interval);
        let (pass, full) = if c.full_wanted {
            c.full_wanted = false;
            c.main_wanted = false;
            (PassKind::Main { depth: u32::MAX }, true)
        } else if c.main_wanted && now >= main_allowed_at {
            c.main_wanted = false;
            let depth = c.settings.default_queue_depth;
            (PassKind::Main { depth }, false)
        } else {
            if c.main_wanted && !c.due_queued {
                engine.queue.push(main_allowed_at, Event::MainPassDue);
                c.due_queued = true;
            }
            if !c.backfill_wanted {
                return Ok(());
            }
            // Slurm's `max_rpc_cnt`: backfill waits while that many submissions do.
            if let Some((rpc, queue)) = &c.rpc {
                if rpc.max_rpc_cnt > 0 && queue.load() >= u64::from(rpc.max_rpc_cnt) {
                    c.backfill_deferred += u64::from(!c.deferring_backfill);
                    c.deferring_backfill = true;
                    return Ok(());
                }
            }
            c.deferring_backfill = false;
            c.backfill_wanted = false;
            let max_job_test = c.settings.bf_max_job_test;
            let (resolution, window) = (c.settings.bf_resolution, c.settings.bf_window);
            let pass = PassKind::Backfill {
                max_job_test,
                resolution,
                window,
            };
            (pass, false)
        };
        let backfill = matches!(pass, PassKind::Backfill { .. });
        let costs = if backfill {
            c.settings.backfill_costs
        } else {
            c.settings.main_costs
        };
        let nodes = c.examined_nodes;
        // The pass's limit: its depth, or the tests that fit in its time if fewer.
        let time_budget = costs.test_budget(nodes);
        let (pass, depth) = match pass {
            PassKind::Main { depth } => (
                PassKind::Main {
                    depth: depth.min(time_budget),
                },
                depth,
            ),
            PassKind::Backfill {
                max_job_test,
                resolution,
                window,
            } => (
                PassKind::Backfill {
                    max_job_test: max_job_test.min(time_budget),
                    resolution,
                    window,
                },
                max_job_test,
            ),
        };
        decisions.clear();
        tested.clear();
        engine.result.passes += 1;
        let hit_limit = policy
            .controller_pass(&engine.view(now), decisions, pass, tested)
            .ok_or_else(|| {
                SimError::Unsupported(format!(
                    "policy {} has no [controller] passes (fcfs and easy do)",
                    policy.label()
                ))
            })?;
        // When the pass has tested its first `p` jobs.
        let after = |p: usize| now + ms_ceil(costs.after_tests_us(p as u64, nodes));
        let mut started = 0;
        let mut cursor = 0;
        for decision in decisions.drain(..) {
            let starts = match &decision {
                Decision::Start(job) | Decision::StartOn { job, .. } => Some(*job),
                _ => None,
            };
            if let Some(job) = starts {
                while cursor < tested.len() && tested[cursor] != job {
                    cursor += 1;
                }
                debug_assert!(cursor < tested.len(), "a pass starts only jobs it tested");
                let launch = after(cursor + 1);
                if launch > now {
                    started += 1;
                    engine.launching.insert(job, decision);
                    engine.queue.push(launch, Event::Launch(job));
                    continue;
                }
            }
            let told = engine
                .apply(decision, now)
                .map_err(|detail| SimError::InvalidDecision {
                    policy: policy.label(),
                    time: now,
                    detail,
                })?;
            if let Some((job, transition)) = told {
                started += u32::from(transition == Transition::Started);
                policy.on_transition(job, transition, &engine.view(now));
            }
        }
        for (p, &job) in tested.iter().enumerate() {
            c.first_considered[job.get()].get_or_insert(after(p + 1));
        }
        let length_us = costs.after_tests_us(tested.len() as u64, nodes);
        let end = now + ms_ceil(length_us);
        c.busy_until = end;
        c.yields.clear();
        c.yields.extend(
            costs
                .yields_us(tested.len() as u64, nodes)
                .map(|(from, to)| (now + ms_ceil(from), now + ms_ceil(to))),
        );
        if backfill {
            c.quiet_backfill = started == 0;
            c.backfill_anchor = end;
        } else {
            c.last_main = Some(now);
            c.quiet_main = full && started == 0;
        }
        c.cycles.push(Cycle {
            at: now,
            backfill,
            full,
            tested: tested.len() as u32,
            hit_limit,
            hit_time: hit_limit && time_budget < depth,
            started,
            length_us,
        });
    }
}
