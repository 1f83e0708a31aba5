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
use crate::cluster::nodes::{NodeRequest, Nodes, Placement};
use crate::engine::time::SimTime;
use crate::workload::classes::NodeWorkload;
use crate::workload::JobIdx;
use std::collections::BTreeSet;

/// FCFS or EASY on nodes.
pub struct NodeBackfill {
    kind: PolicyKind,
    placement: Placement,
    /// Free resources as this policy's decisions and the reported completions leave them.
    nodes: Nodes,
    /// Nodes of each running job (by job index).
    assigned: Vec<Vec<u32>>,
    waiting: BTreeSet<u32>,
    /// Running jobs by (estimated end, job).
    running: BTreeSet<(SimTime, u32)>,
    /// Jobs that arrived since the last pass.
    arrived: Vec<u32>,
    /// A job ended since the last pass: the reservation and every waiting job must be
    /// looked at again.
    ended: bool,
    /// EASY's reservation for the head: (head, time, reserved nodes sorted).
    reservation: Option<(u32, SimTime, Vec<u32>)>,
}

impl NodeBackfill {
    /// A policy of `kind` (fcfs or easy) for a node-level workload.
    pub fn new(kind: PolicyKind, jobs: usize, workload: &NodeWorkload) -> NodeBackfill {
        NodeBackfill {
            kind,
            placement: workload.placement,
            nodes: workload.cluster.clone(),
            assigned: vec![Vec::new(); jobs],
            waiting: BTreeSet::new(),
            running: BTreeSet::new(),
            arrived: Vec::new(),
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
        self.assigned[job as usize] = set.clone();
        self.waiting.remove(&job);
        let end = view.now + view.jobs[job as usize].estimate;
        self.running.insert((end, job));
        decisions.push(Decision::StartOn {
            job: JobIdx(job),
            nodes: set,
        });
    }

    /// The earliest time the head can be placed if running jobs end at their estimates, and
    /// where: releases them on the copy in order of estimated end, then takes them back.
    fn reserve(
        &mut self,
        nw: &NodeWorkload,
        head: u32,
        now: SimTime,
    ) -> Option<(SimTime, Vec<u32>)> {
        let request = &nw.requests[head as usize];
        let mut released: Vec<(SimTime, u32)> = Vec::new();
        let mut found = None;
        let mut it = self.running.iter().copied().peekable();
        while let Some((end, job)) = it.next() {
            self.nodes
                .release(&nw.requests[job as usize], &self.assigned[job as usize]);
            released.push((end, job));
            // Release every job ending at the same instant before trying.
            if it.peek().is_some_and(|&(next, _)| next == end) {
                continue;
            }
            if self.nodes.candidates_bound(request) < u64::from(request.nodes) {
                continue;
            }
            if let Some(mut set) = self.nodes.place(request, self.placement, &[]) {
                set.sort_unstable();
                found = Some((end.max(now), set));
                break;
            }
        }
        for (_, job) in released.iter().rev() {
            self.nodes
                .allocate(&nw.requests[*job as usize], &self.assigned[*job as usize]);
        }
        found
    }
}

impl Policy for NodeBackfill {
    fn label(&self) -> String {
        self.kind.as_str().to_string()
    }

    fn on_arrival(&mut self, job: JobIdx, _view: &SchedView) {
        self.waiting.insert(job.0);
        self.arrived.push(job.0);
    }

    fn on_job_end(&mut self, job: JobIdx, view: &SchedView) {
        let Some((nw, _)) = view.nodes else {
            return;
        };
        let set = std::mem::take(&mut self.assigned[job.get()]);
        self.nodes.release(&nw.requests[job.get()], &set);
        // The estimated end it was filed under: start + estimate; find it by job.
        let est = view.jobs[job.get()].estimate;
        let run = view.jobs[job.get()].run;
        // The job started at now − run; it was filed at start + estimate.
        let filed = SimTime::from_ms(view.now.as_ms() - run.as_ms()) + est;
        self.running.remove(&(filed, job.0));
        self.ended = true;
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let Some((nw, _)) = view.nodes else {
            return;
        };
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
                Some(set) => self.start(view, head, request, set, decisions),
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
                .reserve(nw, head, view.now)
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
        let candidates: Vec<u32> = if full || head_changed {
            self.waiting.iter().copied().skip(1).collect()
        } else {
            arrived
                .into_iter()
                .filter(|&j| j != head && self.waiting.contains(&j))
                .collect()
        };
        for job in candidates {
            let request = &nw.requests[job as usize];
            if self.nodes.candidates_bound(request) < u64::from(request.nodes) {
                continue;
            }
            let ends_in_time = view.now + view.jobs[job as usize].estimate <= shadow;
            let avoid: &[u32] = if ends_in_time { &[] } else { &reserved };
            if let Some(set) = self.nodes.place(request, self.placement, avoid) {
                self.start(view, job, request, set, decisions);
            }
        }
    }
}
