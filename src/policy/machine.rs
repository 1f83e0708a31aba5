//! What the queue policies (FCFS and EASY, `backfill.rs`) need of the machine they start
//! jobs on, and its two implementations: [`ProcessorMachine`] (jobs of processors anywhere:
//! only a count matters) and [`NodeMachine`] (jobs that ask for nodes, cores, memory, GPUs
//! or MIG slices, placed by a placement rule).
//!
//! The algorithm decides *which* job to try and *when* (queue order, the head's
//! reservation, which jobs may backfill); the machine answers *whether it fits and where*,
//! keeps track of what the pass has taken, and prunes: [`Machine::may_backfill`] is a cheap
//! bound on the waiting queue's summaries, [`Machine::backfill_exhausted`] ends a scan once
//! nothing more can fit. Neither pruning changes a schedule.

use super::{Allocation, SchedView};
use crate::cluster::nodes::{NodeRequest, NodeSet, NodeState, Nodes, Placement, SharePart};
use crate::engine::time::{SimDuration, SimTime};
use crate::lifecycle::JobState;
use crate::workload::classes::NodeWorkload;
use crate::workload::JobIdx;
use std::collections::{BTreeMap, BTreeSet};

/// A running job as the queue policies file it: its estimated end (the reservation order),
/// the job, and its processors.
pub type RunningJob = (SimTime, JobIdx, u32);

/// The machine as the queue policies see it. See the module docs.
pub trait Machine {
    /// Where a job starts: nothing for processors anywhere, a node set for nodes.
    type Placement: Allocation;
    /// What the head's reservation withholds from jobs that would still run at its time:
    /// for processors, the *extra* processors (those free at the reservation beyond the
    /// head's need), which such jobs consume; for nodes, the reserved node set, which they
    /// must avoid.
    type Reserved: Clone;

    /// `job` entered the waiting queue.
    fn entered_queue(&mut self, _job: JobIdx) {}
    /// `job` left the waiting queue (started, cancelled or abandoned).
    fn left_queue(&mut self, _job: JobIdx) {}
    /// `part` of what `job` holds on the allocation the view shows is free again.
    fn give_back(&mut self, job: JobIdx, part: SharePart, view: &SchedView);
    /// `job`, suspended, takes its cores, GPUs and slices back (it resumed).
    fn take_back(&mut self, job: JobIdx, view: &SchedView);
    /// What a pass placed `job` on (`nodes`: its nodes, if placed on nodes) is free again:
    /// its start was dropped before it launched.
    fn unplace(&mut self, job: JobIdx, nodes: &[u32], view: &SchedView);

    /// `node` went down or came back up (between passes; its jobs were given back first).
    fn node_changed(&mut self, _node: u32, _state: NodeState) {}
    /// What a reservation withholds when there is none: the head cannot be placed on the
    /// machine in service, so nothing behind it is held back.
    fn no_reservation(&self) -> Self::Reserved;

    /// A pass starts at `view.now`.
    fn begin_pass(&mut self, view: &SchedView);
    /// A pass ends.
    fn end_pass(&mut self) {}

    /// Places `job` now if it fits in what is free (with this pass's starts taken): takes
    /// it and says where.
    fn place_now(&mut self, job: JobIdx, view: &SchedView) -> Option<Self::Placement>;
    /// The head's reservation: the earliest instant (never before now) at which it fits
    /// if the running jobs end at their estimated ends, in `running`'s order, and what the
    /// reservation withholds. `None` if it never fits.
    fn reserve(
        &self,
        head: JobIdx,
        running: &BTreeSet<RunningJob>,
        view: &SchedView,
    ) -> Option<(SimTime, Self::Reserved)>;
    /// Whether some waiting job with at least `procs` processors and an estimate of at
    /// least `estimate_ms` might backfill now, `window` before the reservation. A bound: it
    /// must hold for every job that can, and may hold for jobs that cannot.
    fn may_backfill(
        &self,
        procs: u64,
        estimate_ms: u64,
        window: SimDuration,
        reserved: &Self::Reserved,
    ) -> bool;
    /// Places a job behind the head now if it fits without delaying the head: anywhere
    /// free if it ends by its estimate within the window (`ends_in_time`), else outside what
    /// the reservation withholds (`reserved` is updated). Takes it and says where.
    fn place_backfill(
        &mut self,
        job: JobIdx,
        ends_in_time: bool,
        reserved: &mut Self::Reserved,
        view: &SchedView,
    ) -> Option<Self::Placement>;
    /// Preemption: the victims whose release lets `job` be placed now, as indices into
    /// `candidates` (running jobs in the order they are to be preempted, each with the part
    /// of its share it would give back), in that order; `None` if even all of them would
    /// not do. Nothing is taken. Machines without partitions have no preemption.
    fn victims_for(
        &self,
        _job: JobIdx,
        _candidates: &[(JobIdx, SharePart)],
        _view: &SchedView,
    ) -> Option<Vec<usize>> {
        None
    }
    /// Whether suspended `job` could take its cores, GPUs and slices back now, on its nodes.
    fn fits_back(&self, _job: JobIdx, _view: &SchedView) -> bool {
        false
    }
    /// Dynamic backfill: the victims whose release lets suspended `job` take its cores,
    /// GPUs and slices back on its own nodes, as [`Self::victims_for`] gives them (only
    /// those on its nodes, the shortest prefix that does, pruned from the last).
    fn victims_to_fit_back(
        &self,
        _job: JobIdx,
        _candidates: &[(JobIdx, SharePart)],
        _view: &SchedView,
    ) -> Option<Vec<usize>> {
        None
    }

    /// Whether a placement constraint lapsed since the last pass (a job's wait for fewer
    /// leaf switches ended): the next pass must try every job again.
    fn constraints_lapsed(&mut self, _now: SimTime) -> bool {
        false
    }
    /// When the machine wants a pass: the earliest end of a job's wait for fewer leaf
    /// switches.
    fn next_wakeup(&self) -> Option<SimTime> {
        None
    }

    /// After a failed backfill attempt: whether no waiting job but `head` can be placed any
    /// more in this pass (the scan may stop).
    #[inline]
    fn backfill_exhausted(&self, _head: JobIdx) -> bool {
        false
    }
}

/// Jobs of processors anywhere: a job fits if its processors are free.
#[derive(Default)]
pub struct ProcessorMachine {
    /// Free processors, with this pass's starts taken (read from the view when a pass
    /// starts: the engine frees and takes processors, nothing else).
    free: u32,
}

impl ProcessorMachine {
    /// A machine whose state comes from the view.
    pub fn new() -> Self {
        ProcessorMachine::default()
    }
}

impl Machine for ProcessorMachine {
    type Placement = ();
    type Reserved = u32;

    fn give_back(&mut self, _job: JobIdx, _part: SharePart, _view: &SchedView) {}
    fn take_back(&mut self, _job: JobIdx, _view: &SchedView) {}
    // A pass's count of free processors is taken afresh from the pool at the next pass.
    fn unplace(&mut self, _job: JobIdx, _nodes: &[u32], _view: &SchedView) {}
    fn no_reservation(&self) -> u32 {
        u32::MAX
    }

    fn begin_pass(&mut self, view: &SchedView) {
        self.free = view.cluster.free();
    }

    fn place_now(&mut self, job: JobIdx, view: &SchedView) -> Option<()> {
        let procs = view.job(job).procs();
        (procs <= self.free).then(|| self.free -= procs)
    }

    /// The *shadow time*: the earliest estimated end at which enough processors are free
    /// for the head. The extra processors are those free then, counting **every** running
    /// job whose estimated end is at or before it, beyond the head's need.
    fn reserve(
        &self,
        head: JobIdx,
        running: &BTreeSet<RunningJob>,
        view: &SchedView,
    ) -> Option<(SimTime, u32)> {
        let mut available = u64::from(self.free);
        let need = u64::from(view.job(head).procs());
        let mut shadow: Option<SimTime> = None;
        for &(end, _, procs) in running {
            if let Some(s) = shadow {
                if end > s {
                    break;
                }
            }
            available += u64::from(procs);
            if shadow.is_none() && available >= need {
                shadow = Some(end);
            }
        }
        // The head never exceeds the machine, so once every running job has ended it fits.
        let shadow = shadow.unwrap_or(view.now);
        let extra = available.saturating_sub(need).min(u64::from(u32::MAX)) as u32;
        Some((shadow, extra))
    }

    fn may_backfill(&self, procs: u64, estimate_ms: u64, window: SimDuration, extra: &u32) -> bool {
        procs <= u64::from(self.free)
            && (estimate_ms <= window.as_ms() || procs <= u64::from(*extra))
    }

    fn place_backfill(
        &mut self,
        job: JobIdx,
        ends_in_time: bool,
        extra: &mut u32,
        view: &SchedView,
    ) -> Option<()> {
        let procs = view.job(job).procs();
        if procs > self.free || (!ends_in_time && procs > *extra) {
            return None;
        }
        self.free -= procs;
        if !ends_in_time {
            *extra -= procs;
        }
        Some(())
    }
}

/// Node-level jobs, placed by the workload's placement rule on a copy of the nodes' free
/// resources that this machine keeps (updated by the pass's starts and by the transitions
/// the policy is told of), so that the jobs a pass starts are placed together; the engine
/// checks every placement against its own state.
pub struct NodeMachine {
    nodes: Nodes,
    /// The nodes of the jobs started in the current pass: the engine applies them after
    /// the pass, so the view does not show them yet.
    started_in_pass: Vec<(JobIdx, NodeSet)>,
    /// Each job's request shape: equal requests share a number.
    shape: Vec<u32>,
    /// Per shape, this pass: bit 0 failed with the reserved nodes avoided, bit 1 failed
    /// ending in time (reset through `failed_shapes`).
    failed: Vec<u8>,
    failed_shapes: Vec<u32>,
    /// Shapes that failed both ways this pass.
    exhausted: usize,
    /// Waiting jobs per shape, and how many shapes have any: a scan stops once every shape
    /// present has failed both ways.
    waiting_per_shape: Vec<u32>,
    shapes_waiting: usize,
    /// Jobs that could not be placed within their leaf-switch limit, by (when their wait
    /// for it ends, job): a pass is wanted then (entries stay until that instant).
    switch_waits: BTreeSet<(SimTime, JobIdx)>,
    /// Whether any class limits its leaf switches (else no job is looked up for it: the
    /// backfill scan touches many jobs).
    switch_limits: bool,
}

impl NodeMachine {
    /// The machine for a node-level workload.
    pub fn new(workload: &NodeWorkload) -> NodeMachine {
        let mut shapes: BTreeMap<&NodeRequest, u32> = BTreeMap::new();
        let shape: Vec<u32> = workload
            .requests
            .iter()
            .map(|r| {
                let next = shapes.len() as u32;
                *shapes.entry(r).or_insert(next)
            })
            .collect();
        NodeMachine {
            nodes: workload.cluster.clone(),
            started_in_pass: Vec::new(),
            shape,
            failed: vec![0; shapes.len()],
            failed_shapes: Vec::new(),
            exhausted: 0,
            waiting_per_shape: vec![0; shapes.len()],
            shapes_waiting: 0,
            switch_waits: BTreeSet::new(),
            switch_limits: !workload.class_switches.is_empty(),
        }
    }

    fn workload<'v>(view: &SchedView<'v>) -> &'v NodeWorkload {
        let (nw, _) = view
            .nodes
            .expect("a node machine is only built for node-level workloads");
        nw
    }

    fn request<'v>(view: &SchedView<'v>, job: JobIdx) -> &'v NodeRequest {
        &Self::workload(view).requests[job.get()]
    }

    /// The placement rule of `job`'s partition.
    fn placement(view: &SchedView, job: JobIdx) -> Placement {
        Self::workload(view).placement_of(job.get())
    }

    /// The leaf switches `job` may still insist on: its class's limit, until its wait for
    /// it has passed.
    fn switch_limit(&self, view: &SchedView, job: JobIdx) -> Option<(u32, SimTime)> {
        if !self.switch_limits {
            return None;
        }
        let limit = Self::workload(view).switch_limit_of(job.get())?;
        let until = view.job(job).submit() + SimDuration::from_ms(limit.max_wait_ms);
        (view.now < until).then_some((limit.leaves, until))
    }

    /// Places `job` within its leaf-switch limit (avoiding `avoid`), noting when its wait
    /// ends if it cannot be.
    fn place_within_limit(
        &mut self,
        job: JobIdx,
        (leaves, until): (u32, SimTime),
        avoid: &[u32],
        view: &SchedView,
    ) -> Option<NodeSet> {
        let request = Self::request(view, job);
        match self
            .nodes
            .place_within_leaves(request, Self::placement(view, job), avoid, leaves)
        {
            Some(set) => {
                self.take(job, request, &set);
                Some(set)
            }
            None => {
                self.switch_waits.insert((until, job));
                None
            }
        }
    }

    fn take(&mut self, job: JobIdx, request: &NodeRequest, set: &NodeSet) {
        self.nodes.allocate(request, set);
        self.started_in_pass.push((job, set.clone()));
    }
}

impl Machine for NodeMachine {
    type Placement = NodeSet;
    type Reserved = NodeSet;

    fn entered_queue(&mut self, job: JobIdx) {
        let shape = self.shape[job.get()] as usize;
        if self.waiting_per_shape[shape] == 0 {
            self.shapes_waiting += 1;
        }
        self.waiting_per_shape[shape] += 1;
    }

    fn left_queue(&mut self, job: JobIdx) {
        let shape = self.shape[job.get()] as usize;
        self.waiting_per_shape[shape] -= 1;
        if self.waiting_per_shape[shape] == 0 {
            self.shapes_waiting -= 1;
        }
    }

    fn give_back(&mut self, job: JobIdx, part: SharePart, view: &SchedView) {
        self.nodes
            .give(Self::request(view, job), view.allocation(job), part);
    }

    fn unplace(&mut self, job: JobIdx, nodes: &[u32], view: &SchedView) {
        self.nodes
            .give(Self::request(view, job), nodes, SharePart::Whole);
    }

    fn take_back(&mut self, job: JobIdx, view: &SchedView) {
        self.nodes.take(
            Self::request(view, job),
            view.allocation(job),
            SharePart::Compute,
        );
    }

    fn node_changed(&mut self, node: u32, state: NodeState) {
        match state {
            NodeState::Down => self.nodes.set_down(node),
            NodeState::Up => self.nodes.set_up(node),
        }
    }

    fn no_reservation(&self) -> NodeSet {
        NodeSet::new()
    }

    fn begin_pass(&mut self, _view: &SchedView) {
        self.started_in_pass.clear();
        self.exhausted = 0;
    }

    fn end_pass(&mut self) {
        for shape in self.failed_shapes.drain(..) {
            self.failed[shape as usize] = 0;
        }
    }

    fn place_now(&mut self, job: JobIdx, view: &SchedView) -> Option<NodeSet> {
        if let Some(limit) = self.switch_limit(view, job) {
            return self.place_within_limit(job, limit, &[], view);
        }
        let request = Self::request(view, job);
        if self.nodes.candidates_bound(request) < u64::from(request.nodes) {
            return None;
        }
        let set = self.nodes.place(request, Self::placement(view, job), &[])?;
        self.take(job, request, &set);
        Some(set)
    }

    /// The earliest instant at which the head can be placed, with every running job gone at
    /// its estimated end (earliest first, ties by queue position), and the node set the
    /// placement rule would give it then: the reserved nodes.
    fn reserve(
        &self,
        head: JobIdx,
        running: &BTreeSet<RunningJob>,
        view: &SchedView,
    ) -> Option<(SimTime, NodeSet)> {
        let releases = running.iter().map(|&(end, job, _)| {
            let nodes = if view.state(job) != JobState::Pending {
                // Running, or resumed earlier in this pass.
                view.allocation(job)
            } else {
                // Not applied yet: started earlier in this pass.
                self.started_in_pass
                    .iter()
                    .find(|s| s.0 == job)
                    .map_or(&[][..], |s| s.1.as_slice())
            };
            (end, Self::request(view, job), SharePart::Whole, nodes)
        });
        self.nodes
            .earliest_placement(
                Self::request(view, head),
                Self::placement(view, head),
                releases,
            )
            .map(|(at, mut set)| {
                set.sort_unstable();
                // A head waiting for fewer leaf switches may have to wait out its wait: by
                // then it takes any nodes, the reserved ones among them.
                let until = self.switch_limit(view, head).map_or(view.now, |l| l.1);
                (at.max(view.now).max(until), set)
            })
    }

    fn may_backfill(
        &self,
        _procs: u64,
        _estimate_ms: u64,
        _window: SimDuration,
        _reserved: &NodeSet,
    ) -> bool {
        // Cores alone say little on nodes; the shape cache in `place_backfill` prunes.
        true
    }

    /// Within a pass free resources only shrink, so a request that could not be placed
    /// (with or without the reserved nodes) cannot be placed later in the same pass: jobs of
    /// the same shape are rejected without a search. Generated and real workloads repeat a
    /// few dozen shapes, so this bounds the searches per pass.
    #[inline]
    fn place_backfill(
        &mut self,
        job: JobIdx,
        ends_in_time: bool,
        reserved: &mut NodeSet,
        view: &SchedView,
    ) -> Option<NodeSet> {
        if self.switch_limits {
            if let Some(limit) = self.switch_limit(view, job) {
                return self.backfill_within_limit(job, limit, ends_in_time, reserved, view);
            }
        }
        let shape = self.shape[job.get()] as usize;
        let bit = if ends_in_time { 2 } else { 1 };
        if self.failed[shape] & bit != 0 {
            return None;
        }
        self.search_backfill(job, shape, bit, reserved, view)
    }

    /// The earliest prefix of `candidates` whose release lets the placement rule place
    /// `job` (the victims' ranks serve as the release instants of
    /// [`Nodes::earliest_placement`]), narrowed to the victims on the nodes chosen, then
    /// pruned: from the last in preemption order to the first, a victim is spared if the
    /// others' releases still leave room for `job` on those nodes.
    fn victims_for(
        &self,
        job: JobIdx,
        candidates: &[(JobIdx, SharePart)],
        view: &SchedView,
    ) -> Option<Vec<usize>> {
        let request = Self::request(view, job);
        let releases = candidates
            .iter()
            .enumerate()
            .map(|(rank, &(v, part))| (rank, Self::request(view, v), part, view.allocation(v)));
        let (last, set) =
            self.nodes
                .earliest_placement(request, Self::placement(view, job), releases)?;
        let on_set = |v: JobIdx| view.allocation(v).iter().any(|n| set.contains(n));
        let chosen: Vec<usize> = (0..=last).filter(|&i| on_set(candidates[i].0)).collect();
        Some(self.prune(request, SharePart::Whole, &set, chosen, candidates, view))
    }

    fn victims_to_fit_back(
        &self,
        job: JobIdx,
        candidates: &[(JobIdx, SharePart)],
        view: &SchedView,
    ) -> Option<Vec<usize>> {
        let request = Self::request(view, job);
        let set = view.allocation(job);
        if !set.iter().all(|&n| self.nodes.is_up(n)) {
            return None;
        }
        let on_set = |v: JobIdx| view.allocation(v).iter().any(|n| set.contains(n));
        let mut chosen = Vec::new();
        let mut fits = false;
        for (i, c) in candidates.iter().enumerate() {
            if !on_set(c.0) {
                continue;
            }
            chosen.push(i);
            let releases = chosen.iter().map(|&k| candidates[k]);
            if self.fits_with_releases(request, SharePart::Compute, set, releases, view) {
                fits = true;
                break;
            }
        }
        fits.then(|| self.prune(request, SharePart::Compute, set, chosen, candidates, view))
    }

    fn constraints_lapsed(&mut self, now: SimTime) -> bool {
        let mut lapsed = false;
        while self.switch_waits.first().is_some_and(|w| w.0 <= now) {
            self.switch_waits.pop_first();
            lapsed = true;
        }
        lapsed
    }

    fn next_wakeup(&self) -> Option<SimTime> {
        self.switch_waits.first().map(|w| w.0)
    }

    fn fits_back(&self, job: JobIdx, view: &SchedView) -> bool {
        self.nodes
            .check_part(
                Self::request(view, job),
                view.allocation(job),
                SharePart::Compute,
            )
            .is_ok()
            && view.allocation(job).iter().all(|&n| self.nodes.is_up(n))
    }

    /// Every waiting shape (the head's aside, when only the head has it) failed both ways.
    #[inline]
    fn backfill_exhausted(&self, head: JobIdx) -> bool {
        if self.exhausted == 0 {
            return false;
        }
        let head_shape = self.shape[head.get()] as usize;
        let head_alone = usize::from(self.waiting_per_shape[head_shape] == 1);
        self.exhausted >= self.shapes_waiting - head_alone
    }
}

impl NodeMachine {
    /// `place_backfill` for a job still waiting for fewer leaf switches: not by its shape
    /// (the limit is the job's; the shape cache is for requests). Out of line, so that the
    /// scan's common path stays small.
    #[cold]
    #[inline(never)]
    fn backfill_within_limit(
        &mut self,
        job: JobIdx,
        limit: (u32, SimTime),
        ends_in_time: bool,
        reserved: &NodeSet,
        view: &SchedView,
    ) -> Option<NodeSet> {
        let avoid: Vec<u32> = if ends_in_time {
            Vec::new()
        } else {
            reserved.clone()
        };
        self.place_within_limit(job, limit, &avoid, view)
    }

    /// Whether `request` fits on every node of `set` once `victims` give back their parts.
    /// Whether `part` of `request` fits on every node of `set` once `victims` give back
    /// their parts.
    fn fits_with_releases(
        &self,
        request: &NodeRequest,
        part: SharePart,
        set: &[u32],
        victims: impl Iterator<Item = (JobIdx, SharePart)> + Clone,
        view: &SchedView,
    ) -> bool {
        set.iter().all(|&n| {
            let t = self.nodes.type_of(n);
            let cap = t.capacity();
            let mut free = self.nodes.free(n);
            for (v, part) in victims.clone() {
                if view.allocation(v).contains(&n) {
                    free = free.given_back(part.of(Self::request(view, v).taken(t)), cap);
                }
            }
            if part == SharePart::Whole {
                return request.fits_free(t, &free);
            }
            let take = part.of(request.taken(t));
            free.cores >= take.cores
                && free.memory_mb >= take.memory_mb
                && free.gpus >= take.gpus
                && free.mig_slices >= take.mig_slices
        })
    }

    /// `chosen` victims (indices into `candidates`) without those, from the last to the
    /// first, that `part` of `request` still fits on `set` without.
    fn prune(
        &self,
        request: &NodeRequest,
        part: SharePart,
        set: &[u32],
        mut chosen: Vec<usize>,
        candidates: &[(JobIdx, SharePart)],
        view: &SchedView,
    ) -> Vec<usize> {
        for at in (0..chosen.len()).rev() {
            let spared = chosen.remove(at);
            let releases = chosen.iter().map(|&i| candidates[i]);
            if !self.fits_with_releases(request, part, set, releases, view) {
                chosen.insert(at, spared);
            }
        }
        chosen
    }

    /// `place_backfill`'s search, for a shape not known to fail.
    fn search_backfill(
        &mut self,
        job: JobIdx,
        shape: usize,
        bit: u8,
        reserved: &NodeSet,
        view: &SchedView,
    ) -> Option<NodeSet> {
        let ends_in_time = bit == 2;
        let request = Self::request(view, job);
        let avoid: &[u32] = if ends_in_time { &[] } else { reserved };
        match self.nodes.place(request, Self::placement(view, job), avoid) {
            Some(set) => {
                self.take(job, request, &set);
                Some(set)
            }
            None => {
                if self.failed[shape] == 0 {
                    self.failed_shapes.push(shape as u32);
                }
                self.failed[shape] |= bit;
                if self.failed[shape] == 3 {
                    self.exhausted += 1;
                }
                None
            }
        }
    }
}
