//! FCFS and EASY backfilling on node-level workloads: jobs ask for nodes, cores, memory,
//! GPUs or MIG slices, and a placement rule (first-fit, best-fit, spread, topology) chooses
//! the nodes.
//!
//! Semantics, as for processors (see `fcfs.rs`, `easy.rs`), with nodes in place of counts:
//! - **fcfs** starts jobs in queue order while the head can be placed now.
//! - **easy** starts jobs from the head while they can be placed. When the head cannot, it
//!   gets a reservation: the earliest time at which, with every running job gone at its
//!   estimated end (earliest first, ties by queue position), the head can be placed, and the
//!   node set the placement rule would give it then (*the reserved nodes*). A waiting job
//!   behind the head is then started now (in queue order) if it can be placed now and
//!   either it ends, by its estimate, no later than the reservation, or it can be placed
//!   without touching the reserved nodes. So a backfilled job never delays the head: every
//!   reserved node is free at the reservation time whatever the backfilled jobs do.
//!
//! The policy keeps its own copy of the nodes' free resources (updated by its starts and by
//! the completions the engine reports), so that the jobs it starts in one pass are placed
//! together; the engine checks every placement against its own state.
//!
//! Cost: a pass after arrivals only examines the new jobs (nothing else changed); a pass
//! after completions recomputes the reservation by releasing running jobs on the copy in
//! order of estimated end until the head fits (then takes them back), and walks the queue,
//! rejecting most jobs with the free-resource index's counts before trying to place them.

use super::{Decision, Policy, PolicyKind, SchedView};
use crate::cluster::nodes::{NodeRequest, Nodes, Placement, SharePart};
use crate::engine::time::SimTime;
use crate::lifecycle::{JobState, Outcome, Transition};
use crate::workload::classes::NodeWorkload;
use crate::workload::JobIdx;
use std::collections::BTreeSet;

/// FCFS or EASY on nodes.
pub struct NodeBackfill {
    kind: PolicyKind,
    placement: Placement,
    /// Free resources as this policy's decisions and the reported completions leave them.
    nodes: Nodes,
    waiting: BTreeSet<u32>,
    /// Running jobs by (estimated end, job).
    running: BTreeSet<(SimTime, u32)>,
    /// The nodes of the jobs started in the current pass: the engine applies them after
    /// the pass, so the view does not show them yet.
    started_in_pass: Vec<(u32, Vec<u32>)>,
    /// Jobs that arrived since the last pass.
    arrived: Vec<u32>,
    /// A job ended since the last pass: the reservation and every waiting job must be
    /// looked at again.
    ended: bool,
    /// EASY's reservation for the head: (head, time, reserved nodes sorted).
    reservation: Option<(u32, SimTime, Vec<u32>)>,
    /// Each job's request shape: equal requests share a number.
    shape: Vec<u32>,
    /// Per shape, this pass: bit 0 failed with the reserved nodes avoided, bit 1 failed
    /// ending in time (reset through `failed_shapes`).
    failed: Vec<u8>,
    failed_shapes: Vec<u32>,
    /// Waiting jobs per shape, and how many shapes have any: a full pass stops walking the
    /// queue once every shape present has failed both ways.
    waiting_per_shape: Vec<u32>,
    shapes_waiting: usize,
}

impl NodeBackfill {
    /// A policy of `kind` (fcfs or easy) for a node-level workload.
    pub fn new(kind: PolicyKind, workload: &NodeWorkload) -> NodeBackfill {
        let mut shapes: std::collections::BTreeMap<&NodeRequest, u32> = Default::default();
        let shape: Vec<u32> = workload
            .requests
            .iter()
            .map(|r| {
                let next = shapes.len() as u32;
                *shapes.entry(r).or_insert(next)
            })
            .collect();
        NodeBackfill {
            waiting_per_shape: vec![0; shapes.len()],
            shapes_waiting: 0,
            failed: vec![0; shapes.len()],
            failed_shapes: Vec::new(),
            shape,
            kind,
            placement: workload.placement,
            nodes: workload.cluster.clone(),
            waiting: BTreeSet::new(),
            running: BTreeSet::new(),
            arrived: Vec::new(),
            started_in_pass: Vec::new(),
            ended: true,
            reservation: None,
        }
    }

    fn start(
        &mut self,
        view: &SchedView,
        job: u32,
        request: &NodeRequest,
        set: Vec<u32>,
        decisions: &mut Vec<Decision>,
    ) {
        self.nodes.allocate(request, &set);
        // (The caller takes the job out of `waiting`.)
        self.count_out_of_queue(job);
        // The engine files the job under the same estimated end: now + its limit.
        let end = view.now + view.job(JobIdx(job)).estimate();
        self.running.insert((end, job));
        self.started_in_pass.push((job, set.clone()));
        decisions.push(Decision::StartOn {
            job: JobIdx(job),
            nodes: set,
        });
    }

    fn count_into_queue(&mut self, job: u32) {
        let shape = self.shape[job as usize] as usize;
        if self.waiting_per_shape[shape] == 0 {
            self.shapes_waiting += 1;
        }
        self.waiting_per_shape[shape] += 1;
    }

    fn count_out_of_queue(&mut self, job: u32) {
        let shape = self.shape[job as usize] as usize;
        self.waiting_per_shape[shape] -= 1;
        if self.waiting_per_shape[shape] == 0 {
            self.shapes_waiting -= 1;
        }
    }

    /// `job` stops running: `part` of its share on its nodes (as the view shows them) is
    /// free again, and it no longer counts in the reservation.
    fn stop_running(&mut self, job: JobIdx, part: SharePart, view: &SchedView) {
        let Some((nw, _)) = view.nodes else {
            return;
        };
        if self.running.remove(&(view.estimated_end(job), job.0)) {
            self.nodes
                .give(&nw.requests[job.get()], view.allocation(job), part);
        }
    }

    /// The earliest time the head can be placed if running jobs end at their estimates, and
    /// where (never before now).
    fn reserve(
        &self,
        view: &SchedView,
        nw: &NodeWorkload,
        head: u32,
    ) -> Option<(SimTime, Vec<u32>)> {
        let now = view.now;
        let releases = self.running.iter().map(|&(end, job)| {
            let nodes = if view.state(JobIdx(job)) == JobState::Running {
                view.allocation(JobIdx(job))
            } else {
                // Not applied yet: started earlier in this pass.
                self.started_in_pass
                    .iter()
                    .find(|s| s.0 == job)
                    .map_or(&[][..], |s| s.1.as_slice())
            };
            (end, &nw.requests[job as usize], nodes)
        });
        self.nodes
            .earliest_placement(&nw.requests[head as usize], self.placement, releases)
            .map(|(at, mut set)| {
                set.sort_unstable();
                (at.max(now), set)
            })
    }
}

impl Policy for NodeBackfill {
    fn label(&self) -> String {
        self.kind.as_str().to_string()
    }

    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView) {
        match transition {
            Transition::Pending => {
                self.waiting.insert(job.0);
                self.count_into_queue(job.0);
                self.arrived.push(job.0);
            }
            Transition::Started => {}
            Transition::Ended(Outcome::Completed | Outcome::Timeout | Outcome::Failed) => {
                self.stop_running(job, SharePart::Whole, view);
                self.ended = true;
            }
            Transition::Ended(Outcome::Cancelled | Outcome::Abandoned) => {
                if self.waiting.remove(&job.0) {
                    self.count_out_of_queue(job.0);
                } else {
                    self.stop_running(job, SharePart::Whole, view);
                }
                self.ended = true;
            }
            // A suspended job keeps its memory; it is not waiting.
            Transition::Suspended => {
                self.stop_running(job, SharePart::Compute, view);
                self.ended = true;
            }
            Transition::Resumed => {
                if let Some((nw, _)) = view.nodes {
                    let set = view.allocation(job);
                    self.nodes
                        .take(&nw.requests[job.get()], set, SharePart::Compute);
                }
                self.running.insert((view.estimated_end(job), job.0));
                self.ended = true;
            }
            Transition::Requeued => {
                // Everything it held is free (the memory of a suspended job too).
                let part = if self.running.contains(&(view.estimated_end(job), job.0)) {
                    SharePart::Whole
                } else {
                    SharePart::Memory
                };
                if let Some((nw, _)) = view.nodes {
                    if part == SharePart::Memory {
                        self.nodes
                            .give(&nw.requests[job.get()], view.allocation(job), part);
                    }
                }
                self.stop_running(job, part, view);
                self.waiting.insert(job.0);
                self.count_into_queue(job.0);
                self.arrived.push(job.0);
                self.ended = true;
            }
        }
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let Some((nw, _)) = view.nodes else {
            return;
        };
        self.started_in_pass.clear();
        let full = std::mem::take(&mut self.ended);
        let arrived = std::mem::take(&mut self.arrived);
        if !full && arrived.is_empty() {
            return;
        }
        // From the head while jobs can be placed.
        let head_before = self.reservation.as_ref().map(|r| r.0);
        while let Some(&head) = self.waiting.first() {
            let request = &nw.requests[head as usize];
            if self.nodes.candidates_bound(request) < u64::from(request.nodes) {
                break;
            }
            match self.nodes.place(request, self.placement, &[]) {
                Some(set) => {
                    self.start(view, head, request, set, decisions);
                    self.waiting.remove(&head);
                }
                None => break,
            }
        }
        let Some(&head) = self.waiting.first() else {
            self.reservation = None;
            return;
        };
        if self.kind == PolicyKind::Fcfs {
            return;
        }
        let head_changed = head_before != Some(head);
        if full || head_changed || self.reservation.is_none() {
            self.reservation = self
                .reserve(view, nw, head)
                .map(|(at, set)| (head, at, set));
            if let Some((_, at, _)) = &self.reservation {
                decisions.push(Decision::Reserve {
                    job: JobIdx(head),
                    at: *at,
                });
            }
        }
        let Some((_, shadow, reserved)) = self.reservation.clone() else {
            return;
        };
        // Backfill: after completions (or a new head) every waiting job, else only the new.
        // Within a pass free resources only shrink, so a request that could not be placed
        // (with or without the reserved nodes) cannot be placed later in the same pass:
        // jobs of the same shape are rejected without a search, and once every shape still
        // waiting has failed both ways the walk stops. Generated and real workloads repeat
        // a few dozen shapes, so this bounds the searches per pass.
        let walk_queue = full || head_changed;
        let head_shape = self.shape[head as usize] as usize;
        // The queue is walked as it was at the start of the walk; jobs started are taken
        // out of it afterwards.
        let waiting = std::mem::take(&mut self.waiting);
        let mut started: Vec<u32> = Vec::new();
        let queue: Box<dyn Iterator<Item = u32> + '_> = if walk_queue {
            Box::new(waiting.range(head + 1..).copied())
        } else {
            Box::new(
                arrived
                    .into_iter()
                    .filter(|j| *j != head && waiting.contains(j)),
            )
        };
        let mut exhausted = 0usize;
        for job in queue {
            let request = &nw.requests[job as usize];
            let ends_in_time = view.now + view.job(JobIdx(job)).estimate() <= shadow;
            let shape = self.shape[job as usize];
            let bit = if ends_in_time { 2 } else { 1 };
            if self.failed[shape as usize] & bit != 0 {
                continue;
            }
            let avoid: &[u32] = if ends_in_time { &[] } else { &reserved };
            match self.nodes.place(request, self.placement, avoid) {
                Some(set) => {
                    self.start(view, job, request, set, decisions);
                    started.push(job);
                }
                None => {
                    if self.failed[shape as usize] == 0 {
                        self.failed_shapes.push(shape);
                    }
                    self.failed[shape as usize] |= bit;
                    if self.failed[shape as usize] == 3 {
                        exhausted += 1;
                        // Every waiting shape (the head's aside, when only the head has
                        // it) failed both ways: nothing more can start.
                        let head_alone = usize::from(self.waiting_per_shape[head_shape] == 1);
                        if exhausted >= self.shapes_waiting - head_alone {
                            break;
                        }
                    }
                }
            }
        }
        self.waiting = waiting;
        for job in started {
            self.waiting.remove(&job);
        }
        for shape in self.failed_shapes.drain(..) {
            self.failed[shape as usize] = 0;
        }
    }
}
