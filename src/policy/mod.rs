//! Scheduling policies.
//!
//! A policy reads a [`SchedView`] (the clock, the jobs' requests and estimates, their
//! lifecycle states, the running jobs' starts, allocations and estimated ends, the
//! cluster's free resources) and returns [`Decision`]s; the simulation loop checks every
//! decision and applies it. A policy never mutates cluster state.
//!
//! The protocol: the engine tells the policy of every job transition through
//! [`Policy::on_transition`] — at each instant, first the segments that stopped
//! (`Ended(completed | timeout)`), then the arrivals in queue order (`Pending`), then the
//! jobs given up on (`Ended(abandoned)`) and the sessions the idle culler ended
//! (`Ended(cancelled)`); then it calls [`Policy::schedule`] once and applies the decisions in order, telling the policy
//! of each resulting transition (`Started`, `Suspended`, `Resumed`, `Requeued`,
//! `Ended(cancelled)`) right after applying it. Segments that the pass made stop at the same
//! instant (zero-length jobs) start a new round at that instant: stops, then another pass.
//! A node that fails is told after the jobs it hit (`Requeued` or `Ended(failed)`), through
//! [`Policy::on_node_change`], after the instant's stops and before its arrivals; a node
//! back in service likewise.
//!
//! The built-in policies order their queue by `(submit time, trace job number)`, which is
//! the workload's index order ([`JobIdx`]).

pub mod availability;
pub mod backfill;
pub mod conservative;
pub mod machine;
pub mod node_profile;
pub mod preemption;
pub mod priority;
pub mod profile;
pub mod wait_queue;

use availability::ProcessorAvailability;
use conservative::Conservative;
use node_profile::NodeAvailability;
use priority::{ArrivalOrder, TierOrder};

use crate::cluster::nodes::{NodeState, Nodes};
use crate::cluster::spec::PreemptMode;
use crate::cluster::ProcessorPool;
use crate::engine::time::{SimDuration, SimTime};
use crate::lifecycle::{JobRecord, JobState, Segment, Transition};
use crate::workload::classes::NodeWorkload;
use crate::workload::{Job, JobIdx, JobKind};
use backfill::{Backfilling, QueuePolicy};
use machine::{NodeMachine, ProcessorMachine};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a policy may know of a job's true runtime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Predictor {
    /// Nothing: policies see estimates only, as a real scheduler does.
    #[default]
    None,
    /// An oracle: [`SchedView::predicted_work`] gives every job's true work (for studies
    /// of what perfect runtime knowledge would be worth).
    Oracle,
}

/// What a scheduler knows of a job: everything but its true runtime.
#[derive(Clone, Copy, Debug)]
pub struct JobInfo<'a> {
    job: &'a Job,
    demoted: bool,
}

impl JobInfo<'_> {
    /// The job's number in its trace.
    pub fn trace_id(&self) -> u64 {
        self.job.trace_id
    }
    /// When it was submitted.
    pub fn submit(&self) -> SimTime {
        self.job.submit
    }
    /// Its time limit (walltime estimate).
    pub fn estimate(&self) -> SimDuration {
        self.job.estimate
    }
    /// Processors it asks for (for node-level jobs, its cores).
    pub fn procs(&self) -> u32 {
        self.job.procs
    }
    /// Batch or interactive.
    pub fn kind(&self) -> JobKind {
        self.job.kind
    }
    /// User number (-1: unknown).
    pub fn user(&self) -> i32 {
        self.job.user
    }
    /// Group number (-1: unknown).
    pub fn group(&self) -> i32 {
        self.job.group
    }
    /// Whether it was admitted with its account's credit spent (`[credits] when_exhausted
    /// = "deprioritize"`): it then queues after every job of its tier that was not.
    /// Decided at submission and kept for the job's life.
    pub fn demoted(&self) -> bool {
        self.demoted
    }
}

/// What a policy sees: read-only. Jobs' requests and estimates, their lifecycle state, the
/// running jobs' segment starts, allocations and estimated ends, and the cluster's free
/// resources. Not the jobs' true runtimes, unless the run has an explicit [`Predictor`].
pub struct SchedView<'a> {
    /// The current instant.
    pub now: SimTime,
    jobs: &'a [Job],
    /// The cluster's processors as they are now (for node-level workloads: its cores,
    /// counted as a pool).
    pub cluster: &'a ProcessorPool,
    /// For node-level workloads: each job's request and the cluster's nodes as they are now
    /// (free resources only: the engine keeps no search index, so a policy that places jobs
    /// keeps its own indexed copy, as `machine::NodeMachine` does).
    pub nodes: Option<(&'a NodeWorkload, &'a Nodes)>,
    live: &'a [JobRecord],
    segments: &'a [Segment],
    segment_nodes: &'a [u32],
    first_starts: &'a [SimTime],
    predictor: Predictor,
}

impl<'a> SchedView<'a> {
    /// The view at `now`, as the engine builds it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        now: SimTime,
        jobs: &'a [Job],
        cluster: &'a ProcessorPool,
        nodes: Option<(&'a NodeWorkload, &'a Nodes)>,
        live: &'a [JobRecord],
        segments: &'a [Segment],
        segment_nodes: &'a [u32],
        first_starts: &'a [SimTime],
        predictor: Predictor,
    ) -> Self {
        SchedView {
            now,
            jobs,
            cluster,
            nodes,
            live,
            segments,
            segment_nodes,
            first_starts,
            predictor,
        }
    }

    /// The job at `idx`, as a scheduler knows it.
    pub fn job(&self, idx: JobIdx) -> JobInfo<'a> {
        let i = idx.get();
        JobInfo {
            job: &self.jobs[i],
            demoted: self.live[i].live.demoted,
        }
    }

    /// Jobs in the workload.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// Where `job` is in its life.
    pub fn state(&self, job: JobIdx) -> JobState {
        self.live[job.get()].live.state
    }

    /// When `job`'s current (or last) segment started.
    pub fn segment_start(&self, job: JobIdx) -> SimTime {
        self.live[job.get()].live.segment_start
    }

    /// When `job`'s current (or last) segment stops at the latest, by its time limit.
    /// Still the ended segment's value while a policy is told that it ended.
    pub fn estimated_end(&self, job: JobIdx) -> SimTime {
        self.live[job.get()].live.estimated_end
    }

    /// The nodes of `job`'s current (or last) segment (empty for processors anywhere, or
    /// if it never ran).
    pub fn allocation(&self, job: JobIdx) -> &'a [u32] {
        let live = &self.live[job.get()].live;
        match self.segments.get(live.segment as usize) {
            Some(s) => {
                let from = s.first_node as usize;
                &self.segment_nodes[from..from + s.node_count as usize]
            }
            None => &[],
        }
    }

    /// Whether `job`'s user is idle now, and since when: a session's activity as a
    /// monitor sees it (its timeline up to now, never beyond). `None` while its user is
    /// busy, and for jobs without an activity timeline or that never started.
    pub fn idle_since(&self, job: JobIdx) -> Option<SimTime> {
        let (nw, _) = self.nodes?;
        let i = job.get();
        let first = *self.first_starts.get(i)?;
        if self.live[i].live.segment == u32::MAX || self.now < first {
            return None;
        }
        let timeline = crate::workload::activity::Timeline::of(nw, i, &self.jobs[i]);
        let state = timeline.state_at(self.now.saturating_since(first).as_ms());
        state
            .idle
            .then(|| first + SimDuration::from_ms(state.since_ms))
    }

    /// `job`'s true work, if the run has an oracle predictor; `None` otherwise.
    pub fn predicted_work(&self, job: JobIdx) -> Option<SimDuration> {
        match self.predictor {
            Predictor::Oracle => Some(self.jobs[job.get()].work),
            Predictor::None => None,
        }
    }
}

/// What a policy asks the engine to do. Each is checked; an invalid one stops the run with
/// an error naming the policy and the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start this pending job now, on free processors (workloads of processors anywhere).
    Start(JobIdx),
    /// Start this pending job now on these nodes, one node's share of its request on each
    /// (node-level workloads).
    StartOn {
        /// The job.
        job: JobIdx,
        /// Distinct nodes, as many as the request asks for.
        nodes: Vec<u32>,
    },
    /// A promise that this job will start no later than `at` (EASY's head reservation,
    /// conservative's reservations). The engine records each job's first promise; the
    /// invariant checkers verify it was kept.
    Reserve {
        /// The job.
        job: JobIdx,
        /// The latest start promised.
        at: SimTime,
    },
    /// Suspend this running job: its cores, GPUs and MIG slices are freed now, its memory
    /// stays held, its time limit stops counting.
    Suspend(JobIdx),
    /// Resume this suspended job on the nodes it was suspended on (its cores, GPUs and
    /// slices there must be free).
    Resume(JobIdx),
    /// Put this running or suspended job back in the queue: everything it holds is freed
    /// and the work since its last checkpoint is lost.
    Requeue(JobIdx),
    /// Cancel this pending, running or suspended job: it ends as `cancelled`.
    Cancel(JobIdx),
    /// Preempt this running job for the pending job `by`: suspend, requeue or cancel it
    /// as `mode` says (never `off`). Applied as that decision, and recorded as a preemption.
    Preempt {
        /// The victim.
        job: JobIdx,
        /// The job it makes room for.
        by: JobIdx,
        /// How it lets go.
        mode: PreemptMode,
    },
    /// Dynamic backfill: suspend this running session, whose user has been idle for at
    /// least its pool's `suspend_idle_after_s`, for the pending job `by`. The engine checks
    /// the idleness, resumes nothing by itself, and tells the policy (through a pass) when
    /// the user is back; idle time suspended counts as session time.
    SuspendIdle {
        /// The session.
        job: JobIdx,
        /// The job it makes room for.
        by: JobIdx,
    },
}

/// Where a policy starts a job: nothing for jobs of processors anywhere, the nodes for
/// node-level jobs. Each turns into its start decision, so the algorithms (written once for
/// both) never tell the two apart.
pub trait Allocation {
    /// The decision that starts `job` here.
    fn start(self, job: JobIdx) -> Decision;
}

impl Allocation for () {
    fn start(self, job: JobIdx) -> Decision {
        Decision::Start(job)
    }
}

impl Allocation for Vec<u32> {
    fn start(self, job: JobIdx) -> Decision {
        Decision::StartOn { job, nodes: self }
    }
}

/// A scheduling policy. See the module docs for the calling protocol.
pub trait Policy {
    /// The policy's canonical label, as written in outputs (`easy`, `conservative`, …).
    fn label(&self) -> String;
    /// `job` went through `transition` (the view shows the state after it).
    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView);
    /// One scheduling pass: push decisions to `decisions` (which arrives empty). They are
    /// applied in order; jobs started here must fit in the view's free resources, taken
    /// together with the decisions before them.
    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>);
    /// `node` went down (failed) or came back up. When it fails, the jobs on it have been
    /// told of first (`Requeued` or `Ended(failed)`); a down node is out of the view's
    /// nodes' service (`Nodes::is_up`), and starting a job on it is an invalid decision.
    /// Policies that keep their own copy of the nodes or plans on them update them here.
    fn on_node_change(&mut self, _node: u32, _state: NodeState, _view: &SchedView) {}
    /// A time at which the policy wants a pass even if no job ends or arrives.
    fn next_wakeup(&self) -> Option<SimTime> {
        None
    }
    /// Whether the policy backfills (under a `[controller]`, it then has a backfill loop).
    fn backfills(&self) -> bool {
        false
    }
    /// A pass of the head node's controller ([`crate::controller`]), instead of
    /// [`Self::schedule`]: testing at most the jobs `pass` allows, each pushed to `tested`
    /// as it is tested. Returns whether it stopped at its limit with jobs left untested;
    /// `None` if the policy has no controller passes.
    fn controller_pass(
        &mut self,
        _view: &SchedView,
        _decisions: &mut Vec<Decision>,
        _pass: crate::controller::PassKind,
        _tested: &mut Vec<JobIdx>,
    ) -> Option<bool> {
        None
    }
    /// A start decided by the last controller pass, on `nodes` (empty for processors
    /// anywhere), was dropped before its launch: the job never started (its user gave up,
    /// or one of the nodes failed). What the pass took for it is free again, and the job
    /// waits as before (told `Ended(abandoned)` next if its user gave up).
    fn launch_dropped(&mut self, _job: JobIdx, _nodes: &[u32], _view: &SchedView) {}
}

/// The built-in policies, by name.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// First come, first served: start from the head while jobs fit.
    Fcfs,
    /// EASY backfilling: one reservation, for the queue's head.
    Easy,
    /// Conservative backfilling: a reservation for every job.
    Conservative,
}

impl PolicyKind {
    /// Every built-in policy, in the order reports list them.
    pub const ALL: [PolicyKind; 3] = [PolicyKind::Fcfs, PolicyKind::Easy, PolicyKind::Conservative];

    /// The policy's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Fcfs => "fcfs",
            PolicyKind::Easy => "easy",
            PolicyKind::Conservative => "conservative",
        }
    }

    /// A fresh policy for `workload`: the processor-pool implementations for jobs of
    /// processors anywhere, the node-level ones for jobs that ask for nodes.
    pub fn build_for(
        self,
        workload: &crate::workload::Workload,
    ) -> Result<Box<dyn Policy>, String> {
        match (&workload.nodes, self) {
            (None, _) => Ok(self.build(workload.machine_procs)),
            (Some(nw), PolicyKind::Fcfs | PolicyKind::Easy) => {
                let backfilling = match self {
                    PolicyKind::Fcfs => Backfilling::Off,
                    _ => Backfilling::Easy,
                };
                if nw.partition_preemption.is_empty() {
                    Ok(Box::new(QueuePolicy::new(
                        backfilling,
                        NodeMachine::new(nw),
                    )))
                } else {
                    Ok(Box::new(
                        QueuePolicy::with_priority(
                            backfilling,
                            NodeMachine::new(nw),
                            TierOrder::of(nw),
                        )
                        .with_preemption(),
                    ))
                }
            }
            (Some(nw), PolicyKind::Conservative) if !nw.partition_preemption.is_empty() => Err(
                "preemption (a partition's preempt_mode or suspend_idle_after_s) is supported \
                     under the fcfs and easy policies; conservative does not preempt"
                    .to_string(),
            ),
            (Some(nw), PolicyKind::Conservative) => Ok(Box::new(Conservative::new(
                NodeAvailability::new(nw),
                ArrivalOrder,
            ))),
        }
    }

    /// A fresh policy for jobs of processors anywhere on a machine of `machine_procs`
    /// processors. (Policies are given no jobs: they learn of each from the view, which
    /// never shows a true runtime.)
    pub fn build(self, machine_procs: u32) -> Box<dyn Policy> {
        match self {
            PolicyKind::Fcfs => {
                Box::new(QueuePolicy::new(Backfilling::Off, ProcessorMachine::new()))
            }
            PolicyKind::Easy => {
                Box::new(QueuePolicy::new(Backfilling::Easy, ProcessorMachine::new()))
            }
            PolicyKind::Conservative => Box::new(Conservative::new(
                ProcessorAvailability::new(machine_procs),
                ArrivalOrder,
            )),
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
