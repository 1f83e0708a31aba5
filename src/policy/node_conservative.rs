//! Conservative backfilling on node-level workloads.
//!
//! Semantics, as for processors (`conservative.rs`), with node sets in place of counts:
//! every waiting job holds a reservation, a start time and the nodes it will get. An
//! arriving job gets the earliest start at which its nodes are free, by the running jobs'
//! estimates and every earlier reservation, for its whole estimate; the placement rule
//! chooses among the nodes free enough then (their free resources taken as the least over
//! the window). When a job ends before its estimate the schedule is compressed: in queue
//! order, each waiting job gives up its reservation and takes the earliest again (never
//! later than the one it had). Jobs whose reservation is now start.
//!
//! Each node keeps a step function of its free resources over time. Finding the earliest
//! start walks each allowed node's steps once (O(nodes × steps)), so this policy suits
//! clusters of tens to hundreds of nodes; EASY (`node_backfill.rs`) is the one built for
//! 10,000.

use super::{Decision, Policy, SchedView};
use crate::cluster::nodes::{NodeFree, NodeRequest, Nodes, Placement};
use crate::engine::time::SimTime;
use crate::lifecycle::{Outcome, Transition};
use crate::workload::classes::NodeWorkload;
use crate::workload::JobIdx;
use std::collections::BTreeSet;

/// Free resources of one node over time: `steps[i].1` holds from `steps[i].0` until the
/// next step's time (the last forever).
#[derive(Clone, Debug)]
struct NodeProfile {
    steps: Vec<(u64, NodeFree)>,
}

fn add(a: NodeFree, b: NodeFree) -> NodeFree {
    NodeFree {
        cores: a.cores + b.cores,
        memory_mb: a.memory_mb + b.memory_mb,
        gpus: a.gpus + b.gpus,
        mig_slices: a.mig_slices + b.mig_slices,
    }
}

fn sub(a: NodeFree, b: NodeFree) -> NodeFree {
    NodeFree {
        cores: a.cores.saturating_sub(b.cores),
        memory_mb: a.memory_mb.saturating_sub(b.memory_mb),
        gpus: a.gpus.saturating_sub(b.gpus),
        mig_slices: a.mig_slices.saturating_sub(b.mig_slices),
    }
}

fn min(a: NodeFree, b: NodeFree) -> NodeFree {
    NodeFree {
        cores: a.cores.min(b.cores),
        memory_mb: a.memory_mb.min(b.memory_mb),
        gpus: a.gpus.min(b.gpus),
        mig_slices: a.mig_slices.min(b.mig_slices),
    }
}

impl NodeProfile {
    /// Index of the step holding time `t`, inserting a breakpoint at `t` if needed.
    fn split_at(&mut self, t: u64) -> usize {
        match self.steps.binary_search_by_key(&t, |s| s.0) {
            Ok(i) => i,
            Err(i) => {
                let free = self.steps[i - 1].1;
                self.steps.insert(i, (t, free));
                i
            }
        }
    }

    /// Applies `f` to the free resources over `[from, to)`.
    fn change(&mut self, from: u64, to: u64, f: impl Fn(NodeFree) -> NodeFree) {
        if from >= to {
            return;
        }
        let a = self.split_at(from);
        let b = self.split_at(to);
        for step in &mut self.steps[a..b] {
            step.1 = f(step.1);
        }
        // Merge equal neighbours around the change, keeping the profile short.
        let lo = a.saturating_sub(1);
        let hi = (b + 1).min(self.steps.len());
        let mut merged: Vec<(u64, NodeFree)> = Vec::with_capacity(hi - lo);
        for &s in &self.steps[lo..hi] {
            if merged.last().is_some_and(|m| m.1 == s.1) {
                continue;
            }
            merged.push(s);
        }
        self.steps.splice(lo..hi, merged);
    }

    /// Drops steps wholly before `now`.
    fn trim(&mut self, now: u64) {
        let i = self.steps.partition_point(|s| s.0 <= now);
        if i > 1 {
            self.steps.drain(..i - 1);
        }
    }

    /// Intervals of start times `[a, b]` (inclusive; `b = u64::MAX` for unbounded) at or
    /// after `from` at which one share fits (by `fits`) for `est` ms.
    fn usable_starts(
        &self,
        fits: &dyn Fn(&NodeFree) -> bool,
        from: u64,
        est: u64,
        out: &mut Vec<(u64, u64)>,
    ) {
        let first = self
            .steps
            .partition_point(|s| s.0 <= from)
            .saturating_sub(1);
        let mut run_start: Option<u64> = None;
        for i in first..self.steps.len() {
            let (t, free) = self.steps[i];
            let t = t.max(from);
            if fits(&free) {
                run_start.get_or_insert(t);
            } else if let Some(a) = run_start.take() {
                // The stretch [a, t) fits; starts up to t − est.
                if t >= a + est {
                    out.push((a, t - est));
                }
            }
        }
        if let Some(a) = run_start {
            out.push((a, u64::MAX));
        }
    }

    /// The least free resources over `[from, to)`.
    fn least(&self, from: u64, to: u64) -> NodeFree {
        let first = self
            .steps
            .partition_point(|s| s.0 <= from)
            .saturating_sub(1);
        let mut least = self.steps[first].1;
        for s in &self.steps[first..] {
            if s.0 >= to {
                break;
            }
            least = min(least, s.1);
        }
        least
    }
}

/// Conservative backfilling on nodes.
pub struct NodeConservative {
    placement: Placement,
    cluster: Nodes,
    profiles: Vec<NodeProfile>,
    /// Per waiting job: its reservation (start ms, nodes). Once it starts, the view holds
    /// its segment's start, nodes and estimated end.
    held: Vec<Option<(u64, Vec<u32>)>>,
    waiting: BTreeSet<u32>,
    arrived: Vec<u32>,
    /// Some job ended before its estimate: compress.
    compress: bool,
    passes: u64,
}

impl NodeConservative {
    /// The policy for a node-level workload of `jobs` jobs.
    pub fn new(jobs: usize, workload: &NodeWorkload) -> Self {
        let cluster = workload.cluster.clone();
        let profiles = (0..cluster.len() as u32)
            .map(|n| NodeProfile {
                steps: vec![(0, cluster.type_of(n).capacity())],
            })
            .collect();
        NodeConservative {
            placement: workload.placement,
            cluster,
            profiles,
            held: vec![None; jobs],
            waiting: BTreeSet::new(),
            arrived: Vec::new(),
            compress: false,
            passes: 0,
        }
    }

    fn hold(&mut self, r: &NodeRequest, start: u64, est: u64, nodes: &[u32]) {
        for &n in nodes {
            let take = r.taken(self.cluster.type_of(n));
            self.profiles[n as usize].change(start, start + est, |f| sub(f, take));
        }
    }

    fn unhold(&mut self, r: &NodeRequest, start: u64, end: u64, nodes: &[u32]) {
        for &n in nodes {
            let t = self.cluster.type_of(n);
            let take = r.taken(t);
            let cap = t.capacity();
            self.profiles[n as usize].change(start, end, |f| min(add(f, take), cap));
        }
    }

    /// The earliest start at or after `now` for `r` over `est` ms, and its nodes.
    fn earliest(&self, r: &NodeRequest, now: u64, est: u64) -> Option<(u64, Vec<u32>)> {
        let want = r.nodes as usize;
        let est = est.max(1);
        // Usable start intervals of every allowed node, swept in time order.
        let mut events: Vec<(u64, i8, u32)> = Vec::new();
        let mut intervals = Vec::new();
        for n in 0..self.cluster.len() as u32 {
            let ti = self.cluster.type_index(n);
            if !Nodes::allowed(r, ti) {
                continue;
            }
            let t = self.cluster.type_of(n);
            if !r.could_ever_fit(t) {
                continue;
            }
            let fits = |f: &NodeFree| r.fits_free(t, f);
            intervals.clear();
            self.profiles[n as usize].usable_starts(&fits, now, est, &mut intervals);
            for &(a, b) in &intervals {
                events.push((a, 1, n));
                if b != u64::MAX {
                    events.push((b + 1, -1, n));
                }
            }
        }
        // At one instant, intervals that ended before it close first.
        events.sort_unstable_by_key(|&(t, d, n)| (t, d, n));
        let mut count = 0usize;
        let mut k = 0;
        while k < events.len() {
            let t = events[k].0;
            while k < events.len() && events[k].0 == t {
                count = (count as i64 + i64::from(events[k].1)) as usize;
                k += 1;
            }
            if count < want {
                continue;
            }
            // Nodes usable at t, with their least free resources over the window.
            let cands: Vec<(u32, NodeFree)> = (0..self.cluster.len() as u32)
                .filter(|&n| {
                    let ti = self.cluster.type_index(n);
                    Nodes::allowed(r, ti) && r.could_ever_fit(self.cluster.type_of(n))
                })
                .map(|n| (n, self.profiles[n as usize].least(t, t + est)))
                .filter(|(n, f)| r.fits_free(self.cluster.type_of(*n), f))
                .collect();
            if let Some(set) = self.cluster.choose_among(r, self.placement, &cands) {
                return Some((t, set));
            }
        }
        None
    }
}

impl Policy for NodeConservative {
    fn label(&self) -> String {
        "conservative".to_string()
    }

    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView) {
        let Some((nw, _)) = view.nodes else {
            return;
        };
        let r = &nw.requests[job.get()];
        let now = view.now.as_ms();
        match transition {
            Transition::Pending => {
                self.waiting.insert(job.0);
                self.arrived.push(job.0);
            }
            Transition::Started => {}
            // A waiting job that leaves: its reservation is free.
            Transition::Ended(Outcome::Cancelled | Outcome::Abandoned)
                if self.waiting.remove(&job.0) =>
            {
                self.arrived.retain(|&j| j != job.0);
                if let Some((start, nodes)) = self.held[job.get()].take() {
                    let est = view.job(job).estimate().as_ms().max(1);
                    self.unhold(r, start, start + est, &nodes);
                    self.compress = true;
                }
            }
            // Conservative never suspends or resumes; another actor's suspension is planned
            // as an end (the memory it keeps is then the engine's to check), a resumption
            // as a start until its estimated end.
            Transition::Ended(_) | Transition::Suspended | Transition::Requeued => {
                let start = view.segment_start(job).as_ms();
                let est_end = view.estimated_end(job).as_ms().max(start + 1);
                if now < est_end {
                    // Stopped early: its nodes are free from now; the schedule may compress.
                    self.unhold(r, now, est_end, view.allocation(job));
                    self.compress = true;
                }
                if transition == Transition::Requeued {
                    self.waiting.insert(job.0);
                    self.arrived.push(job.0);
                }
            }
            Transition::Resumed => {
                let est_end = view.estimated_end(job).as_ms().max(now + 1);
                self.hold(r, now, est_end - now, view.allocation(job));
            }
        }
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let Some((nw, _)) = view.nodes else {
            return;
        };
        let now = view.now.as_ms();
        self.passes += 1;
        if self.passes % 256 == 0 {
            for p in &mut self.profiles {
                p.trim(now);
            }
        }
        let arrived = std::mem::take(&mut self.arrived);
        if std::mem::take(&mut self.compress) {
            let queue: Vec<u32> = self.waiting.iter().copied().collect();
            for job in queue {
                if arrived.contains(&job) {
                    continue;
                }
                let r = &nw.requests[job as usize];
                let est = view.job(JobIdx(job)).estimate().as_ms().max(1);
                let Some((start, nodes)) = self.held[job as usize].take() else {
                    continue;
                };
                self.unhold(r, start, start + est, &nodes);
                let (at, set) = self
                    .earliest(r, now, est)
                    .filter(|&(at, _)| at <= start)
                    .unwrap_or((start, nodes));
                self.hold(r, at, est, &set);
                self.held[job as usize] = Some((at, set));
            }
        }
        for &job in &arrived {
            let r = &nw.requests[job as usize];
            let est = view.job(JobIdx(job)).estimate().as_ms().max(1);
            if let Some((at, set)) = self.earliest(r, now, est) {
                self.hold(r, at, est, &set);
                self.held[job as usize] = Some((at, set));
                decisions.push(Decision::Reserve {
                    job: JobIdx(job),
                    at: SimTime::from_ms(at),
                });
            }
        }
        let due: Vec<u32> = self
            .waiting
            .iter()
            .copied()
            .filter(|&j| self.held[j as usize].as_ref().is_some_and(|h| h.0 <= now))
            .collect();
        for job in due {
            self.waiting.remove(&job);
            let nodes = self.held[job as usize]
                .take()
                .map(|h| h.1)
                .unwrap_or_default();
            decisions.push(Decision::StartOn {
                job: JobIdx(job),
                nodes,
            });
        }
    }
}
