//! A job's life: states, segments, outcomes, and the rules that turn work, rate and time
//! limit into the time a segment stops.
//!
//! A job is submitted, waits (*pending*), runs in one or more *segments* and ends with one
//! [`Outcome`]. Between segments it is either *suspended* (it keeps its allocation's memory
//! and its place on its nodes, and gives its cores, GPUs and MIG slices back; it resumes on
//! the same nodes) or *requeued* (it gives everything back, loses the work done since its
//! last checkpoint and waits again).
//!
//! ```text
//!  not submitted ─▶ pending ─▶ running ─┬─▶ done (completed, timeout, cancelled, failed)
//!                    ▲   │              ├─▶ suspended ─▶ running (resumed) …
//!                    │   └─▶ done        └─▶ pending (requeued)
//!                    │   (abandoned, cancelled)
//!                    └──────────────────────── requeued
//! ```
//!
//! **Work, rate and limit.** A job carries its *work* (its runtime at rate 1), its *time
//! limit* (its estimate, as Slurm enforces it) and, per segment, a [`Rate`] fixed when the
//! segment starts. A segment that starts at `t0` with `w` ms of work and `l` ms of limit
//! left stops at `t0 + min(⌈w / rate⌉, l)`. Rounding rule: a segment's length is rounded
//! *up* to the next millisecond (a job never finishes early), and the work credited to a
//! segment cut short (suspended, requeued, failed) is rounded *down* (a job is never
//! credited with work it did not do). When the work and the limit run out at the same
//! millisecond the job has completed. The limit counts running time only: suspended time
//! does not use it up (Slurm extends a suspended job's end time by the time it was
//! suspended), and a requeued job starts again with its whole limit (Slurm restarts it as
//! a new run).
//!
//! **Stages.** With a shared file system ([`crate::filesystem`]) a segment is, in order:
//! its stage in, its start-up latency (fresh starts), its work, its stage out; the stages
//! take as long as the file system's shares make them, use the limit and do no work
//! ([`Stages`], [`RunResult::stages`]).

use crate::cluster::nodes::NodeState;
use crate::cluster::spec::PreemptMode;
use crate::engine::time::{SimDuration, SimTime};
use crate::workload::classes::Checkpointing;
use crate::workload::JobIdx;
use serde::Serialize;

/// How a job's life ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It received all its work.
    Completed,
    /// It was stopped at its time limit before its work was done.
    Timeout,
    /// A policy (or its user) cancelled it, running or waiting.
    Cancelled,
    /// A node it ran on failed and it was not requeued.
    Failed,
    /// It left the queue before it started (its user gave up).
    Abandoned,
}

impl Outcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [Outcome; 5] = [
        Outcome::Completed,
        Outcome::Timeout,
        Outcome::Cancelled,
        Outcome::Failed,
        Outcome::Abandoned,
    ];

    /// The outcome's name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Timeout => "timeout",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
            Outcome::Abandoned => "abandoned",
        }
    }
}

/// How one segment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentEnd {
    /// The job's work was done.
    Completed,
    /// The job reached its time limit.
    Timeout,
    /// The job was suspended and later resumed: the next segment starts on the same nodes
    /// when this one's memory is released.
    Suspended,
    /// The job was requeued (it waits again), running or after a suspension.
    Requeued,
    /// The job was cancelled, running or after a suspension.
    Cancelled,
    /// A node of the segment failed.
    Failed,
}

impl SegmentEnd {
    /// The name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentEnd::Completed => "completed",
            SegmentEnd::Timeout => "timeout",
            SegmentEnd::Suspended => "suspended",
            SegmentEnd::Requeued => "requeued",
            SegmentEnd::Cancelled => "cancelled",
            SegmentEnd::Failed => "failed",
        }
    }
}

/// The speed at which a segment makes progress through a job's work, in millionths
/// (`Rate::ONE` = 1.0). Integral, so that a segment's length is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Rate(u32);

impl Budget {
    /// How a segment at `rate` with this budget stops: after how long, and whether its
    /// work is then done (else its limit is reached; both at once is a completion). A job
    /// that checkpoints (`work_ms` in all) also spends the checkpoints' time.
    pub(crate) fn stop(
        &self,
        rate: Rate,
        checkpoints: Option<(Checkpointing, u64)>,
        startup_ms: u32,
    ) -> (u64, bool) {
        let work_time_ms = match checkpoints {
            None => rate.time_for(self.remaining_work_ms),
            Some((c, work_ms)) => c.time_to_finish(work_ms - self.remaining_work_ms, work_ms, rate),
        }
        .saturating_add(u64::from(startup_ms));
        let completes = work_time_ms <= self.limit_left_ms;
        (work_time_ms.min(self.limit_left_ms), completes)
    }
}

/// Where a job's progress stands after some time of a segment (see
/// [`Checkpointing::progress`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Work done, ms at rate 1, from the job's start.
    pub done_ms: u64,
    /// The last checkpoint saved, as work done (ms), if the stretch saved any.
    pub saved_ms: Option<u64>,
}

/// The checkpoint model's arithmetic (the type is the workload's: a job class says it).
impl Checkpointing {
    /// Checkpoints between `done_ms` (excluded) and `work_ms` (excluded): the multiples of
    /// the interval there, and the first of them.
    fn ahead(self, done_ms: u64, work_ms: u64) -> (u64, u64) {
        let i = self.interval_ms.max(1);
        let first = (done_ms / i + 1) * i;
        if first >= work_ms {
            return (0, first);
        }
        ((work_ms - 1) / i - done_ms / i, first)
    }

    /// Wall time from progress `done_ms` to the job's end (`work_ms` of work) at `rate`,
    /// checkpoints included.
    pub fn time_to_finish(self, done_ms: u64, work_ms: u64, rate: Rate) -> u64 {
        let (n, first) = self.ahead(done_ms, work_ms);
        if n == 0 {
            return rate.time_for(work_ms - done_ms);
        }
        let i = self.interval_ms.max(1);
        let last = first + (n - 1) * i;
        let cycle = rate.time_for(i).saturating_add(self.cost_ms);
        rate.time_for(first - done_ms)
            .saturating_add(self.cost_ms)
            .saturating_add((n - 1).saturating_mul(cycle))
            .saturating_add(rate.time_for(work_ms - last))
    }

    /// Progress after `elapsed_ms` of a segment at `rate` that started at progress
    /// `done_ms`: the work done (rounded down) and the last checkpoint it saved.
    pub fn progress(self, done_ms: u64, work_ms: u64, rate: Rate, elapsed_ms: u64) -> Progress {
        let (n, first) = self.ahead(done_ms, work_ms);
        let compute = |from: u64, to: u64, ms: u64| Progress {
            done_ms: (from + rate.work_in(ms)).min(to),
            saved_ms: None,
        };
        if n == 0 {
            return compute(done_ms, work_ms, elapsed_ms);
        }
        let to_first = rate.time_for(first - done_ms);
        if elapsed_ms < to_first {
            return compute(done_ms, first, elapsed_ms);
        }
        if elapsed_ms < to_first + self.cost_ms {
            // Cut short while saving: the checkpoint was not written.
            return Progress {
                done_ms: first,
                saved_ms: None,
            };
        }
        let i = self.interval_ms.max(1);
        let after = elapsed_ms - to_first - self.cost_ms;
        let stretch = rate.time_for(i);
        let cycle = stretch.saturating_add(self.cost_ms).max(1);
        let cycles = (after / cycle).min(n - 1);
        let saved = first + cycles * i;
        let into = after - cycles * cycle;
        let progress = if cycles == n - 1 {
            compute(saved, work_ms, into)
        } else if into < stretch {
            compute(saved, saved + i, into)
        } else {
            Progress {
                done_ms: saved + i,
                saved_ms: None,
            }
        };
        Progress {
            saved_ms: Some(saved),
            ..progress
        }
    }
}

impl Rate {
    /// Millionths in 1.0.
    pub const PER_ONE: u32 = 1_000_000;
    /// Full speed.
    pub const ONE: Rate = Rate(Self::PER_ONE);

    /// A rate of `millionths` / 1,000,000; at least one millionth (a segment that makes no
    /// progress would never stop).
    pub const fn from_millionths(millionths: u32) -> Rate {
        Rate(if millionths == 0 { 1 } else { millionths })
    }

    /// The rate in millionths.
    pub const fn millionths(self) -> u32 {
        self.0
    }

    /// The rate as a float (for outputs only).
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / f64::from(Self::PER_ONE)
    }

    /// Time needed for `work_ms` of work at this rate, rounded up to the millisecond.
    pub fn time_for(self, work_ms: u64) -> u64 {
        if self.0 == Self::PER_ONE {
            return work_ms;
        }
        let t = (u128::from(work_ms) * u128::from(Self::PER_ONE)).div_ceil(u128::from(self.0));
        u64::try_from(t).unwrap_or(u64::MAX)
    }

    /// Work done in `elapsed_ms` at this rate, rounded down to the millisecond.
    pub fn work_in(self, elapsed_ms: u64) -> u64 {
        if self.0 == Self::PER_ONE {
            return elapsed_ms;
        }
        let w = u128::from(elapsed_ms) * u128::from(self.0) / u128::from(Self::PER_ONE);
        u64::try_from(w).unwrap_or(u64::MAX)
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Not yet submitted.
    NotSubmitted,
    /// Waiting to start (first time, or again after a requeue).
    Pending,
    /// Running a segment.
    Running,
    /// Suspended: holds its memory, gave its cores and GPUs back.
    Suspended,
    /// Ended, with this outcome.
    Done(Outcome),
}

/// What a scheduler may know of a job's life now: its state, and for a running (or
/// suspended) job its segment's start, allocation and estimated end. Kept by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveJob {
    /// Where the job is in its life.
    pub state: JobState,
    /// When its current (or last) segment started.
    pub segment_start: SimTime,
    /// When its current (or last) segment will stop at the latest: its start plus the time
    /// limit left then. A scheduler plans with this; the true end is earlier when the work
    /// runs out first.
    pub estimated_end: SimTime,
    /// Its current (or last) segment's index in [`RunResult::segments`] (`u32::MAX`: none).
    pub segment: u32,
    /// Admitted with its account's credit spent (`[credits] when_exhausted =
    /// "deprioritize"`): queued after the jobs of its tier that are not. Set once, at
    /// submission, and kept for the job's life (a requeue does not clear it).
    pub demoted: bool,
}

impl LiveJob {
    /// A job not yet submitted.
    pub const NOT_SUBMITTED: LiveJob = LiveJob {
        state: JobState::NotSubmitted,
        segment_start: SimTime::ZERO,
        estimated_end: SimTime::ZERO,
        segment: u32::MAX,
        demoted: false,
    };
}

/// What the engine alone knows of a running or suspended job: its progress. (The running
/// segment's rate, start and, for a suspended job, end are in its segment; its stop follows
/// from them, so it is not stored.)
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Budget {
    /// Work not yet done (since the last segment's start), ms at rate 1.
    pub(crate) remaining_work_ms: u64,
    /// Running time left before the time limit, ms.
    pub(crate) limit_left_ms: u64,
    /// Work saved by the last checkpoint, ms (0 for a job without checkpoints).
    pub(crate) checkpointed_ms: u64,
}

/// Everything the engine keeps of one job during a run, together so that the start and the
/// stop of a segment touch one place in memory: what policies may see ([`LiveJob`]), what
/// the run records ([`JobLog`]), and the job's progress, which only the engine reads.
#[derive(Clone, Copy, Debug)]
pub struct JobRecord {
    /// What the view shows.
    pub live: LiveJob,
    /// What the run records.
    pub log: JobLog,
    pub(crate) budget: Budget,
}

/// One stretch of time during which a job ran on one allocation at one rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The job.
    pub job: JobIdx,
    /// When the segment started.
    pub start: SimTime,
    /// When it ended (its start while it is still running).
    pub end: SimTime,
    /// When its allocation was wholly given back: its end, except after a suspension, when
    /// the job kept its memory until it resumed (then the next segment starts here) or was
    /// requeued or cancelled (then `ended` says so).
    pub released: SimTime,
    /// Its rate.
    pub rate: Rate,
    /// Its nodes: `RunResult::segment_nodes[first_node..first_node + node_count]`
    /// (empty for jobs of processors anywhere).
    pub first_node: u32,
    /// How many nodes.
    pub node_count: u32,
    /// Its start-up latency, ms: the time at its start spent before any work (a fresh
    /// start of a job with a start-up latency; 0 otherwise).
    pub startup_ms: u32,
    /// How it ended.
    pub ended: SegmentEnd,
}

/// The time a segment spent staging through the shared file system (see
/// [`crate::filesystem`]): its stage in is its first `in_ms`, before its start-up latency
/// and work (the whole segment if it was cut short while staging in); its stage out its
/// last `out_ms`, after its work. Kept beside the segments, not in them, so that runs
/// without a file system carry nothing for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stages {
    /// Time spent staging in, ms.
    pub in_ms: u64,
    /// Time spent staging out, ms.
    pub out_ms: u64,
}

impl Stages {
    /// Both, ms.
    pub fn total_ms(self) -> u64 {
        self.in_ms.saturating_add(self.out_ms)
    }
}

/// What the engine tells a policy about a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Submitted (or requeued: see [`Transition::Requeued`]); waits to start.
    Pending,
    /// Started a segment (by a decision of the policy's, applied).
    Started,
    /// Suspended: its cores and GPUs are free, its memory stays held.
    Suspended,
    /// Resumed on the nodes it was suspended on.
    Resumed,
    /// Put back in the queue, its resources freed; it is pending again.
    Requeued,
    /// Ended with this outcome; its resources are free.
    Ended(Outcome),
}

/// The per-job record of a finished run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobLog {
    /// How the job ended.
    pub outcome: Outcome,
    /// Segments it ran.
    pub segments: u32,
    /// Times it was requeued.
    pub requeues: u32,
    /// Time spent suspended.
    pub suspended: SimDuration,
    /// Work lost to requeues and failures (done, then lost since the last checkpoint).
    pub work_lost: SimDuration,
    /// Work received (at rate 1), lost work included.
    pub work_done: SimDuration,
    /// Time spent running, over all its segments.
    pub ran: SimDuration,
    /// Index of its last segment in [`RunResult::segments`], if it ran.
    pub last_segment: Option<u32>,
}

/// Why the idle culler ended a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CullReason {
    /// Its current idle period had lasted the culler's timeout.
    Idle,
    /// It had run (since its first start) for the culler's `max_age`.
    MaxAge,
}

impl CullReason {
    /// The reason's name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            CullReason::Idle => "idle",
            CullReason::MaxAge => "max_age",
        }
    }
}

/// Where a culled session's user was, by its activity profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserPresence {
    /// Busy: only `max_age` ends a busy session.
    Active,
    /// Idle, but a busy period would have begun before the session's natural end.
    Away,
    /// Idle for the rest of the session's natural run.
    Gone,
}

/// One session the idle culler ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cull {
    /// The session.
    pub job: JobIdx,
    /// When.
    pub at: SimTime,
    /// Why.
    pub reason: CullReason,
    /// Where its user was.
    pub user: UserPresence,
    /// The running time it still had before it would have stopped by itself (its work done
    /// or its limit reached): what the culler freed, ms.
    pub reclaimed_ms: u64,
}

/// What happened to every job, and counters about the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunResult {
    /// When each job first started (by [`JobIdx`]); for a job that never started, the time
    /// it left the queue.
    pub start: Vec<SimTime>,
    /// When each job ended (its last segment's end, or when it left the queue).
    pub end: Vec<SimTime>,
    /// Each job's outcome and lifecycle counts.
    pub log: Vec<JobLog>,
    /// Every segment of every job, in the order they started.
    pub segments: Vec<Segment>,
    /// The segments' nodes, concatenated (see [`Segment::first_node`]).
    pub segment_nodes: Vec<u32>,
    /// The first reservation the policy announced for each job, if any.
    pub first_reservation: Vec<Option<SimTime>>,
    /// Events processed.
    pub events: u64,
    /// Scheduling passes run.
    pub passes: u64,
    /// Largest number of jobs waiting at once.
    pub max_waiting: usize,
    /// The sessions the idle culler ended, in the order it ended them; `None` when the
    /// culler was off.
    pub culls: Option<Vec<Cull>>,
    /// The sessions a QOS limit rejected at submission, in order; `None` without limits.
    pub rejected: Option<Vec<Rejection>>,
    /// The jobs admitted demoted for a spent credit, in workload order; `None` unless the
    /// run's credits deprioritize (`[credits] when_exhausted = "deprioritize"`).
    pub demoted: Option<Vec<JobIdx>>,
    /// Every node state change, in time order (empty unless the run has node failures).
    pub node_changes: Vec<NodeChange>,
    /// Every preemption, in the order applied (empty unless a partition's jobs may be
    /// preempted).
    pub preemptions: Vec<Preemption>,
    /// Every session suspended for idleness (dynamic backfill), in the order suspended
    /// (empty unless a pool's `suspend_idle_after_s` is set).
    pub idle_suspensions: Vec<IdleSuspension>,
    /// With a `[controller]`: every pass of its loops, in order.
    pub cycles: Option<Vec<crate::controller::Cycle>>,
    /// With a `[controller]`: per job, when a pass first tested it (empty without one).
    pub first_considered: Vec<Option<SimTime>>,
    /// With a `[controller]`: starts its passes decided that were dropped before their
    /// launch (the job's user gave up, one of its nodes failed).
    pub launches_dropped: u64,
    /// With a `[controller]`'s submission path: per job, when the controller acknowledged
    /// its submission (empty without one; `None` for a job never acknowledged).
    pub acknowledged: Vec<Option<SimTime>>,
    /// With a `[controller]`: backfill passes deferred for `max_rpc_cnt`.
    pub backfill_deferred: u64,
    /// With a `[controller]`'s submission path: the most submissions waiting at once.
    pub longest_backlog: u64,
    /// With a `[controller]`: its outages.
    pub outages: Vec<crate::controller::OutageLog>,
    /// Per segment (aligned with `segments`), its stages; empty when no segment staged (the
    /// run had no shared file system, or nobody staged through it). Read it with
    /// [`RunResult::stages_of`].
    pub stages: Vec<Stages>,
}

/// A running job made to let go of its nodes for a job of a higher tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preemption {
    /// When the victim let go (after its grace time, for cancel and requeue).
    pub at: SimTime,
    /// The victim.
    pub victim: JobIdx,
    /// The job it made room for.
    pub by: JobIdx,
    /// Suspended, requeued or cancelled.
    pub mode: PreemptMode,
    /// The victim's work this preemption threw away (at rate 1): since its last
    /// checkpoint when requeued, all it had done when cancelled, none when suspended.
    pub work_lost: SimDuration,
}

/// A session suspended while its user was idle, to let a waiting job start (dynamic
/// backfill: a pool's `suspend_idle_after_s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdleSuspension {
    /// When it was suspended.
    pub at: SimTime,
    /// The session.
    pub session: JobIdx,
    /// The job it made room for.
    pub by: JobIdx,
    /// When its user came back while it was suspended (`None`: they did not, before it
    /// ended or was requeued).
    pub user_back: Option<SimTime>,
    /// When it resumed (`None`: it did not; it ended while suspended — its user had left —
    /// or was requeued or cancelled).
    pub resumed: Option<SimTime>,
}

/// A session rejected at submission by a per-user QOS limit (Slurm's `DenyOnLimit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The job (outcome `cancelled`, never started).
    pub job: JobIdx,
    /// The limit it would have passed.
    pub limit: QosLimit,
}

/// A per-user QOS limit on interactive sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QosLimit {
    /// Sessions at once (`MaxJobsPerUser`).
    Sessions,
    /// Cores held or asked for at once (`MaxTRESPerUser=cpu`).
    Cores,
    /// Whole GPUs at once (`MaxTRESPerUser=gres/gpu`).
    Gpus,
    /// The account's credit for the month is spent (`[credits] when_exhausted = "deny"`).
    Credit,
}

impl QosLimit {
    /// The name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            QosLimit::Sessions => "sessions",
            QosLimit::Cores => "cores",
            QosLimit::Gpus => "gpus",
            QosLimit::Credit => "credit",
        }
    }
}

/// A node going down or coming back up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeChange {
    /// When.
    pub at: SimTime,
    /// The node.
    pub node: u32,
    /// Its state from then on.
    pub state: NodeState,
}

impl RunResult {
    /// The record of a run in which job `i` ran once, from `start[i]` to `end[i]` at rate
    /// 1, on no nodes, and completed (a schedule given by its start and end times, as the
    /// tests of derived reports build it).
    pub fn ran_once(start: &[SimTime], end: &[SimTime]) -> RunResult {
        let segments: Vec<Segment> = start
            .iter()
            .zip(end)
            .enumerate()
            .map(|(i, (&start, &end))| Segment {
                job: JobIdx(i as u32),
                start,
                end,
                released: end,
                rate: Rate::ONE,
                first_node: 0,
                node_count: 0,
                startup_ms: 0,
                ended: SegmentEnd::Completed,
            })
            .collect();
        let log = segments
            .iter()
            .enumerate()
            .map(|(i, s)| JobLog {
                outcome: Outcome::Completed,
                segments: 1,
                requeues: 0,
                suspended: SimDuration::ZERO,
                work_lost: SimDuration::ZERO,
                work_done: s.end.saturating_since(s.start),
                ran: s.end.saturating_since(s.start),
                last_segment: Some(i as u32),
            })
            .collect();
        RunResult {
            start: start.to_vec(),
            end: end.to_vec(),
            log,
            segments,
            first_reservation: vec![None; start.len()],
            ..RunResult::default()
        }
    }

    /// The stages of segment `k` (none without a file system).
    pub fn stages_of(&self, k: usize) -> Stages {
        self.stages.get(k).copied().unwrap_or_default()
    }

    /// The nodes of segment `s`.
    pub fn nodes_of(&self, s: &Segment) -> &[u32] {
        let from = s.first_node as usize;
        &self.segment_nodes[from..from + s.node_count as usize]
    }

    /// The nodes of job `i`'s last segment (empty if it never ran or asks for processors).
    pub fn last_nodes(&self, i: usize) -> &[u32] {
        match self.log[i].last_segment {
            Some(s) => self.nodes_of(&self.segments[s as usize]),
            None => &[],
        }
    }

    /// Time job `i` spent running, over all its segments.
    pub fn run_time(&self, i: usize) -> SimDuration {
        self.log[i].ran
    }

    /// Whether job `i` ever started.
    pub fn started(&self, i: usize) -> bool {
        self.log[i].segments > 0
    }

    /// Per job, why the idle culler ended it, if it did.
    pub fn cull_reasons(&self) -> Vec<Option<CullReason>> {
        let mut why = vec![None; self.log.len()];
        for c in self.culls.iter().flatten() {
            if let Some(slot) = why.get_mut(c.job.get()) {
                *slot = Some(c.reason);
            }
        }
        why
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_rounds_time_up_and_work_down() {
        let half = Rate::from_millionths(500_000);
        assert_eq!(half.time_for(1_000), 2_000);
        let third = Rate::from_millionths(333_333);
        // 1000 / 0.333333 = 3000.003: rounded up.
        assert_eq!(third.time_for(1_000), 3_001);
        assert_eq!(third.work_in(3_001), 1_000);
        assert_eq!(third.work_in(3_000), 999);
        assert_eq!(Rate::ONE.time_for(7), 7);
        assert_eq!(Rate::from_millionths(0), Rate::from_millionths(1));
        // Faster than 1: 1000 ms of work in 500 ms.
        assert_eq!(Rate::from_millionths(2_000_000).time_for(1_000), 500);
    }
}

#[cfg(test)]
mod checkpoint_tests {
    use super::*;

    const C: Checkpointing = Checkpointing {
        interval_ms: 30,
        cost_ms: 5,
    };

    #[test]
    fn checkpoints_add_their_cost_between_intervals_and_none_at_the_end() {
        // 100 ms of work, checkpoints at 30, 60, 90: 100 + 3 × 5.
        assert_eq!(C.time_to_finish(0, 100, Rate::ONE), 115);
        // From a checkpoint at 30: those at 60 and 90 are left.
        assert_eq!(C.time_to_finish(30, 100, Rate::ONE), 80);
        // 90 of work: the checkpoints at 30 and 60 only (none at the end).
        assert_eq!(C.time_to_finish(0, 90, Rate::ONE), 100);
        // Half speed doubles the compute, not the checkpoints: 200 + 15.
        let half = Rate::from_millionths(500_000);
        assert_eq!(C.time_to_finish(0, 100, half), 215);
        // Mid-interval (a resumed job): to 30 is 5 ms of work.
        assert_eq!(C.time_to_finish(25, 100, Rate::ONE), 5 + 5 + 35 + 35 + 10);
    }

    #[test]
    fn progress_counts_what_was_done_and_saved() {
        let at = |elapsed| C.progress(0, 100, Rate::ONE, elapsed);
        let p = |done_ms, saved_ms| Progress { done_ms, saved_ms };
        assert_eq!(at(20), p(20, None));
        // Saving the first checkpoint (30..35): not saved yet.
        assert_eq!(at(32), p(30, None));
        assert_eq!(at(35), p(30, Some(30)));
        assert_eq!(at(50), p(45, Some(30)));
        // Saving the second (65..70).
        assert_eq!(at(66), p(60, Some(30)));
        assert_eq!(at(105), p(90, Some(90)));
        assert_eq!(at(115), p(100, Some(90)));
        // Time to finish and progress agree: the whole time does all the work.
        for done in [0, 17, 30, 59, 61, 99] {
            let t = C.time_to_finish(done, 100, Rate::ONE);
            assert_eq!(
                C.progress(done, 100, Rate::ONE, t).done_ms,
                100,
                "from {done}"
            );
        }
    }
}
