//! Per-node availability: each node's free resources over time, for conservative
//! backfilling of node-level jobs.
//!
//! Each node keeps a step function of its free resources. Finding the earliest start walks
//! each allowed node's steps once (O(nodes × steps)), so this suits clusters of tens to
//! hundreds of nodes; EASY (`node_backfill.rs`) is the one built for 10,000.

use super::availability::Availability;
use super::SchedView;
use crate::cluster::nodes::{NodeFree, NodeRequest, NodeState, Nodes, Placement};
use crate::engine::time::{SimDuration, SimTime};
use crate::workload::classes::NodeWorkload;
use crate::workload::JobIdx;

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

/// Whether a share is taken from a node's free resources or given back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Take,
    GiveBack,
}

/// Takes or gives back what one share of `r` uses on each of `nodes` during
/// `[start_ms, end_ms)`.
fn change_nodes(
    profiles: &mut [NodeProfile],
    cluster: &Nodes,
    r: &NodeRequest,
    (start_ms, end_ms): (u64, u64),
    nodes: &[u32],
    change: Change,
) {
    for &n in nodes {
        let t = cluster.type_of(n);
        let share = r.taken(t);
        let profile = &mut profiles[n as usize];
        match change {
            Change::Take => profile.change(start_ms, end_ms, |f| sub(f, share)),
            Change::GiveBack => {
                let cap = t.capacity();
                profile.change(start_ms, end_ms, |f| min(add(f, share), cap));
            }
        }
    }
}

/// Passes between two trims of the step functions: trimming walks every node, and steps in
/// the past only cost the searches a binary search.
const PASSES_PER_TRIM: u64 = 256;

/// The nodes of a node-level workload, each with its free resources over time.
pub struct NodeAvailability {
    /// Per job: its partition's placement rule.
    placement: Vec<Placement>,
    cluster: Nodes,
    /// Per job (aligned with the workload's jobs): its request.
    requests: Vec<NodeRequest>,
    profiles: Vec<NodeProfile>,
    /// Per node: whether it is down (failed). A down node is no candidate for any start.
    down: Vec<bool>,
    /// Calls to `forget_before`, to trim every [`PASSES_PER_TRIM`].
    passes: u64,
}

impl NodeAvailability {
    /// Takes or gives back what `job` uses on `nodes` during `[start, end)`.
    fn change(&mut self, job: JobIdx, start: SimTime, end: SimTime, nodes: &[u32], how: Change) {
        let r = &self.requests[job.get()];
        let window_ms = (start.as_ms(), end.as_ms());
        change_nodes(&mut self.profiles, &self.cluster, r, window_ms, nodes, how);
    }

    /// Every node of `workload`'s cluster free from time zero on.
    pub fn new(workload: &NodeWorkload) -> Self {
        let cluster = workload.cluster.clone();
        let profiles = (0..cluster.len() as u32)
            .map(|n| NodeProfile {
                steps: vec![(0, cluster.type_of(n).capacity())],
            })
            .collect();
        NodeAvailability {
            placement: (0..workload.requests.len())
                .map(|i| workload.placement_of(i))
                .collect(),
            down: vec![false; cluster.len()],
            cluster,
            requests: workload.requests.clone(),
            profiles,
            passes: 0,
        }
    }

    /// The earliest start in `[from, before)` for `r` over `est` ms, and its nodes: the
    /// placement rule's choice among the nodes free enough for the whole window.
    fn earliest_before(
        &self,
        r: &NodeRequest,
        placement: Placement,
        from: u64,
        est: u64,
        before: u64,
    ) -> Option<(u64, Vec<u32>)> {
        let want = r.nodes as usize;
        // Usable start intervals of every allowed node, swept in time order.
        let mut events: Vec<(u64, i8, u32)> = Vec::new();
        let mut intervals = Vec::new();
        for n in 0..self.cluster.len() as u32 {
            let ti = self.cluster.type_index(n);
            if !Nodes::allowed(r, ti) || self.down[n as usize] {
                continue;
            }
            let t = self.cluster.type_of(n);
            if !r.could_ever_fit(t) {
                continue;
            }
            let fits = |f: &NodeFree| r.fits_free(t, f);
            intervals.clear();
            self.profiles[n as usize].usable_starts(&fits, from, est, &mut intervals);
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
            if t >= before {
                return None;
            }
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
                    Nodes::allowed(r, ti)
                        && !self.down[n as usize]
                        && r.could_ever_fit(self.cluster.type_of(n))
                })
                .map(|n| (n, self.profiles[n as usize].least(t, t + est)))
                .filter(|(n, f)| r.fits_free(self.cluster.type_of(*n), f))
                .collect();
            if let Some(set) = self.cluster.choose_among(r, placement, &cands) {
                return Some((t, set));
            }
        }
        None
    }
}

impl Availability for NodeAvailability {
    /// The job: its request is in `requests`.
    type Request = JobIdx;
    /// The nodes, one share of the request on each.
    type Placement = Vec<u32>;
    const OWN_RESERVATION_COVERS_EARLIER_STARTS: bool = false;

    fn request(&self, job: JobIdx, _view: &SchedView) -> JobIdx {
        job
    }

    /// Nodes are not counted: the rise log gets `u64::MAX` as every rise's free amount.
    fn demand(&self, _job: JobIdx) -> u64 {
        0
    }

    fn earliest(
        &self,
        job: JobIdx,
        from: SimTime,
        duration: SimDuration,
    ) -> Option<(SimTime, Vec<u32>)> {
        let r = &self.requests[job.get()];
        let placement = self.placement[job.get()];
        self.earliest_before(r, placement, from.as_ms(), duration.as_ms(), u64::MAX)
            .map(|(at, nodes)| (SimTime::from_ms(at), nodes))
    }

    /// Gives the job's own reservation back for the search (an earlier start may use some
    /// of its nodes), then takes it again.
    fn earlier(
        &mut self,
        job: JobIdx,
        held: &Vec<u32>,
        from: SimTime,
        duration: SimDuration,
        before: SimTime,
        start_before: SimTime,
    ) -> Option<(SimTime, Vec<u32>)> {
        let window_ms = (before.as_ms(), (before + duration).as_ms());
        let r = &self.requests[job.get()];
        change_nodes(
            &mut self.profiles,
            &self.cluster,
            r,
            window_ms,
            held,
            Change::GiveBack,
        );
        let found = self.earliest_before(
            r,
            self.placement[job.get()],
            from.as_ms(),
            duration.as_ms(),
            before.min(start_before).as_ms(),
        );
        change_nodes(
            &mut self.profiles,
            &self.cluster,
            r,
            window_ms,
            held,
            Change::Take,
        );
        found.map(|(at, nodes)| (SimTime::from_ms(at), nodes))
    }

    fn hold(&mut self, job: JobIdx, start: SimTime, end: SimTime, nodes: &Vec<u32>) {
        self.change(job, start, end, nodes, Change::Take);
    }

    fn release(&mut self, job: JobIdx, start: SimTime, end: SimTime, nodes: &Vec<u32>) {
        self.change(job, start, end, nodes, Change::GiveBack);
    }

    fn hold_running(&mut self, job: JobIdx, view: &SchedView, start: SimTime, end: SimTime) {
        self.change(job, start, end, view.allocation(job), Change::Take);
    }

    fn release_running(&mut self, job: JobIdx, view: &SchedView, start: SimTime, end: SimTime) {
        self.change(job, start, end, view.allocation(job), Change::GiveBack);
    }

    fn max_free(&self, _from: SimTime, _until: SimTime) -> u64 {
        u64::MAX
    }

    fn node_changed(&mut self, node: u32, state: NodeState) {
        self.down[node as usize] = state == NodeState::Down;
    }

    fn uses_node(placement: &Vec<u32>, node: u32) -> bool {
        placement.contains(&node)
    }

    fn forget_before(&mut self, now: SimTime) {
        self.passes += 1;
        if self.passes % PASSES_PER_TRIM == 0 {
            for p in &mut self.profiles {
                p.trim(now.as_ms());
            }
        }
    }
}
