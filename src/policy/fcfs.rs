//! First come, first served.
//!
//! Semantics: at each pass, start jobs from the head of the queue while they fit in the free
//! processors; stop at the first job that does not fit (no job ever overtakes another).
//! A pass costs O(jobs started + 1), however long the queue.

use super::{Decision, Policy, SchedView};
use crate::lifecycle::{Outcome, Transition};
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

    fn on_transition(&mut self, job: JobIdx, transition: Transition, _view: &SchedView) {
        match transition {
            // Arrivals come in queue order, so pushing at the back keeps the queue sorted;
            // a requeued job goes back to its place.
            Transition::Pending => self.queue.push_back(job),
            Transition::Requeued => {
                let at = self.queue.partition_point(|&j| j < job);
                self.queue.insert(at, job);
            }
            // Pending jobs that are cancelled or abandoned leave the queue (a running job
            // is not in it).
            Transition::Ended(Outcome::Cancelled | Outcome::Abandoned) => {
                if let Some(at) = self.queue.iter().position(|&j| j == job) {
                    self.queue.remove(at);
                }
            }
            // The pass reads the free processors: nothing else to keep.
            Transition::Ended(_)
            | Transition::Started
            | Transition::Suspended
            | Transition::Resumed => {}
        }
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let mut free = view.cluster.free();
        while let Some(&head) = self.queue.front() {
            let procs = view.job(head).procs();
            if procs > free {
                break;
            }
            free -= procs;
            decisions.push(Decision::Start(head));
            self.queue.pop_front();
        }
    }
}
