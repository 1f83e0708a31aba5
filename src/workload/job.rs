//! The job model: what a job asks for and how long it runs.

use crate::engine::time::{SimDuration, SimTime};
use serde::Serialize;

/// Index of a job in its [`Workload`](super::Workload): the job's position in queue order.
///
/// Jobs are stored sorted by `(submit time, trace job number)`, so this index *is* the
/// first-come-first-served queue order that the built-in policies use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct JobIdx(pub u32);

impl JobIdx {
    /// The index as a `usize`, for indexing vectors.
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

impl Job {
    /// Whether its work exceeds its time limit, so that at rate 1 it is stopped at the limit
    /// (ends as `timeout`; only with `--kill-at-walltime`).
    pub fn exceeds_limit(&self) -> bool {
        self.work > self.estimate
    }
}

/// Interactive session or batch job. SWF marks interactive jobs with queue number 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// A batch job.
    Batch,
    /// An interactive session (notebook, shell).
    Interactive,
}

/// One job as the simulator sees it, after the workload's rules (estimate fallback, runtime
/// above estimate) have been applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The job's number in its trace (SWF field 1).
    pub trace_id: u64,
    /// When the job is submitted.
    pub submit: SimTime,
    /// Its *work*: how long it runs at rate 1 (the trace's runtime). A scheduler never
    /// sees it (policies read the estimate).
    pub work: SimDuration,
    /// Its time limit: the walltime estimate the scheduler plans with, which the engine
    /// enforces. Readers raise it to the work unless `--kill-at-walltime` asks to stop
    /// such jobs at their limit.
    pub estimate: SimDuration,
    /// Processors requested ("this many processors anywhere").
    pub procs: u32,
    /// Batch or interactive.
    pub kind: JobKind,
    /// User number from the trace (-1: unknown).
    pub user: i32,
    /// Group number from the trace (-1: unknown).
    pub group: i32,
    /// Queue number from the trace (-1: unknown; 0: interactive).
    pub queue: i32,
    /// Partition number from the trace (-1: unknown).
    pub partition: i32,
}
