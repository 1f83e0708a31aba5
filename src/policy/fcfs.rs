//! First come, first served.
//!
//! Semantics: at each pass, start jobs from the head of the queue while they fit in the free
//! processors; stop at the first job that does not fit (no job ever overtakes another).
//! A pass costs O(jobs started + 1), however long the queue.

use super::{Decision, Policy, SchedView};
use crate::workload::JobIdx;
use std::collections::VecDeque;

/// The FCFS policy.
#[derive(Default)]
pub struct Fcfs {
    queue: VecDeque<JobIdx>,
}

impl Fcfs {
    /// An empty queue.
    pub fn new() -> Self {
        Fcfs::default()
    }
}

impl Policy for Fcfs {
    fn label(&self) -> String {
        "fcfs".to_string()
    }

    fn on_arrival(&mut self, job: JobIdx, _view: &SchedView) {
        // Arrivals come in queue order, so pushing at the back keeps the queue sorted.
        self.queue.push_back(job);
    }

    fn on_job_end(&mut self, _job: JobIdx, _view: &SchedView) {}

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let mut free = view.cluster.free();
        while let Some(&head) = self.queue.front() {
            let procs = view.job(head).procs;
            if procs > free {
                break;
            }
            free -= procs;
            decisions.push(Decision::Start(head));
            self.queue.pop_front();
        }
    }
}
