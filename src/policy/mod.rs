//! Scheduling policies.
//!
//! A policy reads a [`SchedView`] (the clock, the jobs' static attributes, the cluster's
//! free resources) and returns [`Decision`]s; the simulation loop checks every decision
//! (the job is waiting, it fits) and applies it. A policy never mutates cluster state.
//!
//! The engine calls, at each instant: [`Policy::on_job_end`] for every completion, then
//! [`Policy::on_arrival`] for every arrival (in queue order), then [`Policy::schedule`]
//! once. Completions caused by that pass at the same instant (zero-length jobs) start a new
//! round at that instant: ends, then another pass.
//!
//! The built-in policies order their queue by `(submit time, trace job number)`, which is
//! the workload's index order ([`JobIdx`]).

pub mod conservative;
pub mod easy;
pub mod fcfs;
pub mod node_backfill;
pub mod node_conservative;
pub mod profile;
pub mod wait_queue;

use crate::cluster::nodes::Nodes;
use crate::cluster::ProcessorPool;
use crate::engine::time::SimTime;
use crate::workload::classes::NodeWorkload;
use crate::workload::{Job, JobIdx};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a policy sees: read-only.
pub struct SchedView<'a> {
    /// The current instant.
    pub now: SimTime,
    /// Every job of the workload, indexed by [`JobIdx`] (static attributes only).
    pub jobs: &'a [Job],
    /// The cluster's processors as they are at the start of the pass (for node-level
    /// workloads: its cores, counted as a pool).
    pub cluster: &'a ProcessorPool,
    /// For node-level workloads: each job's request and the cluster's nodes as they are at
    /// the start of the pass (free resources only: the engine keeps no search index, so a
    /// policy that places jobs keeps its own indexed copy, as `node_backfill` does).
    pub nodes: Option<(&'a NodeWorkload, &'a Nodes)>,
}

impl<'a> SchedView<'a> {
    /// The view at `now` of these jobs on this cluster.
    pub fn new(now: SimTime, jobs: &'a [Job], cluster: &'a ProcessorPool) -> Self {
        SchedView {
            now,
            jobs,
            cluster,
            nodes: None,
        }
    }

    /// The job at `idx`.
    pub fn job(&self, idx: JobIdx) -> &Job {
        &self.jobs[idx.get()]
    }
}

/// What a policy asks the engine to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start this waiting job now, on free processors (workloads of processors anywhere).
    Start(JobIdx),
    /// Start this waiting job now on these nodes, one node's share of its request on each
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
}

/// A scheduling policy. See the module docs for the calling protocol.
pub trait Policy {
    /// The policy's canonical label, as written in outputs (`easy`, `conservative`, …).
    fn label(&self) -> String;
    /// `job` has been submitted.
    fn on_arrival(&mut self, job: JobIdx, view: &SchedView);
    /// `job` has ended and its resources are free again.
    fn on_job_end(&mut self, job: JobIdx, view: &SchedView);
    /// One scheduling pass: push decisions to `decisions` (which arrives empty). Jobs started
    /// here must fit in the view's free resources, taken together.
    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>);
    /// A time at which the policy wants a pass even if no job ends or arrives.
    fn next_wakeup(&self) -> Option<SimTime> {
        None
    }
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
            (None, _) => Ok(self.build(&workload.jobs, workload.machine_procs)),
            (Some(nw), PolicyKind::Fcfs | PolicyKind::Easy) => Ok(Box::new(
                node_backfill::NodeBackfill::new(self, workload.jobs.len(), nw),
            )),
            (Some(nw), PolicyKind::Conservative) => Ok(Box::new(
                node_conservative::NodeConservative::new(workload.jobs.len(), nw),
            )),
        }
    }

    /// A fresh policy for a workload of these jobs on a machine of `machine_procs`
    /// processors.
    pub fn build(self, jobs: &[Job], machine_procs: u32) -> Box<dyn Policy> {
        match self {
            PolicyKind::Fcfs => Box::new(fcfs::Fcfs::new()),
            PolicyKind::Easy => Box::new(easy::Easy::new(jobs)),
            PolicyKind::Conservative => {
                Box::new(conservative::Conservative::new(jobs.len(), machine_procs))
            }
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
