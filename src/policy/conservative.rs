//! Conservative backfilling (Mu'alem & Feitelson, 2001), written once for a pool of
//! processors and for nodes.
//!
//! Every waiting job holds a reservation: a start time and, on nodes, the nodes it will
//! get. The machine's future is an [`Availability`]: its free resources over time, given
//! the running jobs until their estimated ends and every reservation. A job *fits* at a
//! start if what it asks for is free throughout its estimate from there: on a pool, that
//! many processors; on nodes, as many nodes as it asks for, each free enough for one share
//! for the whole window, and the nodes it gets are those the cluster's placement rule
//! chooses among all the nodes free enough for the whole window.
//!
//! Semantics, at each instant `now`:
//! 1. Completions: a job that ended before its estimated end gives back the rest of its
//!    estimated time (on nodes, on the nodes it ran on).
//! 2. Compression, once, if any job ended: the waiting jobs, in queue order, each move to
//!    the earliest start `≥ now` at which they fit around the running jobs and all other
//!    current reservations, their own treated as free, if that start is strictly earlier
//!    than their reservation. A reservation never moves later, and never moves at all to
//!    another place at the same start (on nodes, a job keeps its nodes unless it starts
//!    earlier): compression only ever brings starts forward.
//! 3. Arrivals (and requeued jobs, placed again as arrivals), in queue order: each gets a
//!    reservation at the earliest start at which it fits, so it never delays an earlier
//!    reservation. A node-level job that fits on no node of the cluster gets none, and
//!    waits.
//! 4. Every job whose reservation is `now` starts, in queue order.
//!
//! The queue order is the policy's [`Priority`]: each job's [`QueueKey`] is fixed when it
//! enters the queue (arrival or requeue). A job with a zero estimate is planned as lasting
//! 1 ms, so it still needs its resources free at its start instant.
//!
//! Cost: compression is made incremental by a log of *rises* of the availability, without
//! changing its result. A job sits at its earliest fit when it is placed or examined. Later
//! it can only fit earlier at a start whose window was blocked then and is clear now: some
//! instant of the window rose since. On a pool the window runs from that start to its
//! reservation or the end of its estimate, whichever is first (its own reservation frees
//! the rest), and the last rise of such an instant left at least as many free processors as
//! the job needs. Rises happen in two places only: a job ending before its estimated end
//! (its tail), and a reservation moving earlier (the part of its old place it leaves). Each
//! rise is logged with its interval and the largest free count over it just after it.
//! Compression examines a job only if a logged rise reaching its processors starts before
//! its reservation; the search for its new start then only covers starts less than the
//! job's estimate before the earliest such rise and before the latest end of one. The
//! waiting jobs sit in a segment tree over queue slots that keeps, per subtree, the fewest
//! processors and the earliest and latest reservations, so whole runs of jobs that no rise
//! can help are skipped at once, and the jobs that start now are found without another
//! index. Examining a job is a search that leaves the availability as it was; only jobs
//! that move are taken out and put back. (Every waiting job is considered in every
//! compression, examined or skipped with its subtree, so the rises logged since the start
//! of the previous compression cover everything any job has not yet considered.)
//!
//! On nodes the window of an earlier start is its whole estimate: the job may start on
//! other nodes than those it holds, which its own reservation does not free, so a rise
//! after its reservation's start can help it too. Node rises are therefore logged as
//! reaching back to time zero and helping every job whatever it asks for: each
//! compression after a rise examines every waiting job, and only the latest end of a rise
//! bounds the search.

use super::availability::Availability;
use super::priority::{queue_key, ArrivalOrder, Priority, QueueKey};
use super::{Allocation, Decision, JobInfo, Policy, SchedView};
use crate::cluster::nodes::NodeState;
use crate::engine::time::{SimDuration, SimTime, CLOCK_LIMIT};
use crate::lifecycle::{Outcome, Transition};
use crate::workload::JobIdx;

/// The conservative backfilling policy, on availability `A`, in the queue order of `P`.
pub struct Conservative<A: Availability, P: Priority = ArrivalOrder> {
    availability: A,
    priority: P,
    /// Waiting jobs in queue order, with their reservations.
    queue: ReservationTree<A::Request, A::Placement>,
    /// Arrivals (and requeued jobs) since the last pass.
    arrivals: Vec<QueueKey>,
    /// Waiting jobs that fit on no nodes in service (some are down), without a
    /// reservation: planned again as arrivals when a node comes back.
    unplaced: Vec<QueueKey>,
    /// Whether a job ended since the last pass.
    job_ended: bool,
    /// Rises logged since the start of the previous compression (see the module docs):
    /// every waiting job has considered all older ones.
    rises: Vec<Rise>,
    /// Rises logged before the current compression started.
    rises_before_pass: usize,
    /// The earliest start of a rise reaching a given free amount.
    earliest_rise: Staircase,
    /// The latest end of a rise reaching a given free amount (keys are
    /// `u64::MAX - until_ms`, so that the smallest key is the latest end).
    latest_rise_end: Staircase,
    /// Scratch: slots of the jobs that start now.
    starting: Vec<usize>,
    /// Scratch: the tree walk's stack.
    stack: Vec<usize>,
}

/// A rise of the availability.
#[derive(Clone, Copy, Debug)]
struct Rise {
    /// Where the raised interval starts, ms.
    from_ms: u64,
    /// Where it ends, ms.
    until_ms: u64,
    /// The most free at any instant of the raised interval, just after the rise.
    max_free: u64,
}

/// Pairs `(key, max_free)` reduced to those no other pair dominates (one dominates another
/// if its key is no larger and its free count no smaller), sorted by key; along that order
/// the free counts increase. "The smallest key among pairs reaching `p` free" is then a
/// binary search.
#[derive(Debug, Default)]
struct Staircase {
    steps: Vec<(u64, u64)>,
}

impl Staircase {
    fn clear(&mut self) {
        self.steps.clear();
    }

    fn add(&mut self, key: u64, max_free: u64) {
        let at = self.steps.partition_point(|s| s.0 < key);
        // Dominated by a smaller-or-equal key with at least as many free processors?
        let dominated = self.steps[..at].last().is_some_and(|s| s.1 >= max_free)
            || self
                .steps
                .get(at)
                .is_some_and(|s| s.0 == key && s.1 >= max_free);
        if dominated {
            return;
        }
        // Drop the pairs it dominates: keys at or after it with no more free.
        let end = at + self.steps[at..].partition_point(|s| s.1 <= max_free);
        self.steps.splice(at..end, std::iter::once((key, max_free)));
    }

    /// The smallest key among pairs with at least `procs` free.
    fn best_key(&self, procs: u64) -> Option<u64> {
        let first = self.steps.partition_point(|s| s.1 < procs);
        self.steps.get(first).map(|s| s.0)
    }
}

/// The length a job occupies in the availability.
fn planned(job: JobInfo) -> SimDuration {
    job.estimate().max(SimDuration::from_ms(1))
}

impl<A: Availability, P: Priority> Conservative<A, P> {
    /// A policy planning on `availability` (all free), ordering its queue by `priority`.
    pub fn new(availability: A, priority: P) -> Self {
        Conservative {
            availability,
            priority,
            queue: ReservationTree::new(),
            arrivals: Vec::new(),
            unplaced: Vec::new(),
            job_ended: false,
            rises: Vec::new(),
            rises_before_pass: 0,
            earliest_rise: Staircase::default(),
            latest_rise_end: Staircase::default(),
            starting: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// The end a running job occupies in the availability: its segment's start plus its
    /// planned length (the engine's estimated end, at least 1 ms after the start).
    fn planned_end(job: JobIdx, view: &SchedView) -> SimTime {
        view.estimated_end(job)
            .max(view.segment_start(job) + SimDuration::from_ms(1))
    }

    /// A running (or just suspended) job stops: the rest of its planned time is free.
    fn stop_running(&mut self, job: JobIdx, view: &SchedView) {
        let end = Self::planned_end(job, view);
        if end > view.now {
            self.availability.release_running(job, view, view.now, end);
            self.log_rise(view.now, end, view.now);
        }
        self.job_ended = true;
    }

    /// Takes `job` out of the waiting jobs (its reservation given back); false if it does not
    /// wait. Rare (cancellations, requeues), so a walk over the slots.
    fn leave_queue(&mut self, job: JobIdx, view: &SchedView) -> bool {
        if let Some(at) = self.arrivals.iter().position(|key| key.job == job) {
            self.arrivals.remove(at);
            return true;
        }
        if let Some(at) = self.unplaced.iter().position(|key| key.job == job) {
            self.unplaced.remove(at);
            return true;
        }
        let Some(slot) = (0..self.queue.next_slot()).find(|&slot| {
            self.queue.slot_key[slot].job == job
                && self.queue.summary(self.queue.leaf(slot)) != Group::EMPTY
        }) else {
            return false;
        };
        let start = SimTime::from_ms(self.queue.summary(self.queue.leaf(slot)).latest_start_ms);
        let end = start + self.queue.slot_duration[slot];
        self.availability.release(
            self.queue.slot_request[slot],
            start,
            end,
            &self.queue.slot_placement[slot],
        );
        self.queue.remove(slot);
        self.log_rise(start, end, view.now);
        self.job_ended = true;
        true
    }

    /// Logs that the availability rose on `[from, until)` (only the part after `now`
    /// matters).
    fn log_rise(&mut self, from: SimTime, until: SimTime, now: SimTime) {
        let from = from.max(now);
        if from < until {
            let max_free = self.availability.max_free(from, until);
            // On nodes a rise may help any job reserved before its end (see the module
            // docs), so it is logged as starting at time zero.
            let from_ms = if A::OWN_RESERVATION_COVERS_EARLIER_STARTS {
                from.as_ms()
            } else {
                0
            };
            let rise = Rise {
                from_ms,
                until_ms: until.as_ms(),
                max_free,
            };
            self.rises.push(rise);
            self.add_to_staircases(rise);
        }
    }

    fn add_to_staircases(&mut self, rise: Rise) {
        self.earliest_rise.add(rise.from_ms, rise.max_free);
        self.latest_rise_end
            .add(u64::MAX - rise.until_ms, rise.max_free);
    }

    /// Moves each waiting job, in queue order, to its earliest fit if that is earlier.
    ///
    /// Walks the queue tree in queue order and skips every subtree for which no logged rise
    /// may help (a rise helps only jobs needing at most its maximum, reserved after its
    /// start). Skipping a job that cannot move changes nothing, so the result is exactly
    /// that of examining every job in turn.
    fn compress(&mut self, now: SimTime) {
        self.rises.drain(..self.rises_before_pass);
        self.rises_before_pass = self.rises.len();
        if self.rises.is_empty() {
            return; // the availability only fell since every job was last placed
        }
        self.earliest_rise.clear();
        self.latest_rise_end.clear();
        for r in 0..self.rises.len() {
            self.add_to_staircases(self.rises[r]);
        }
        let mut stack = std::mem::take(&mut self.stack);
        stack.push(ReservationTree::<A::Request, A::Placement>::ROOT);
        while let Some(node) = stack.pop() {
            let group = self.queue.summary(node);
            let Some(rises_start_ms) = self
                .earliest_rise
                .best_key(group.demand)
                .filter(|&from_ms| from_ms < group.latest_start_ms)
            else {
                continue; // no rise may help
            };
            match self.queue.slot_at(node) {
                None => {
                    let (left, right) = ReservationTree::<A::Request, A::Placement>::children(node);
                    stack.push(right);
                    stack.push(left);
                }
                Some(slot) => self.examine(slot, rises_start_ms, now),
            }
        }
        self.stack = stack;
    }

    /// Moves the job in `slot` to the earliest time before its reservation at which it
    /// fits, if any. `rises_start_ms` is the earliest start of a rise reaching its demand
    /// (the tree walk has just looked it up).
    fn examine(&mut self, slot: usize, rises_start_ms: u64, now: SimTime) {
        let old = SimTime::from_ms(self.queue.summary(self.queue.leaf(slot)).latest_start_ms);
        if old <= now {
            return; // starts now: it cannot move earlier
        }
        let request = self.queue.slot_request[slot];
        let duration = self.queue.slot_duration[slot];
        // See the module docs: a new start has its window over a rise reaching the job's
        // demand, so it is before the latest end of one, and less than the job's duration
        // before the earliest start of one.
        let rises_end = self
            .latest_rise_end
            .best_key(self.availability.demand(request))
            .map_or(SimTime::ZERO, |key| SimTime::from_ms(u64::MAX - key));
        let search_from = now.max(SimTime::from_ms(
            (rises_start_ms + 1).saturating_sub(duration.as_ms()),
        ));
        let Some((new, placement)) = self.availability.earlier(
            request,
            &self.queue.slot_placement[slot],
            search_from,
            duration,
            old,
            rises_end,
        ) else {
            return;
        };
        let held = &self.queue.slot_placement[slot];
        self.availability
            .release(request, old, old + duration, held);
        self.availability
            .hold(request, new, new + duration, &placement);
        self.queue.slot_placement[slot] = placement;
        self.queue.set_start(slot, new.as_ms());
        // The part of its old place it leaves: on a pool, what its new place does not
        // cover; on nodes, all of it (it may be on other nodes now).
        let left_from = if A::OWN_RESERVATION_COVERS_EARLIER_STARTS {
            (new + duration).max(old)
        } else {
            old
        };
        self.log_rise(left_from, old + duration, now);
    }
}

impl<A: Availability, P: Priority> Policy for Conservative<A, P> {
    fn label(&self) -> String {
        "conservative".to_string()
    }

    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView) {
        match transition {
            Transition::Pending => {
                self.arrivals
                    .push(queue_key(&self.priority, job, view.job(job)))
            }
            Transition::Started => {}
            Transition::Ended(Outcome::Completed | Outcome::Timeout | Outcome::Failed)
            | Transition::Suspended => self.stop_running(job, view),
            Transition::Ended(Outcome::Cancelled | Outcome::Abandoned) => {
                if !self.leave_queue(job, view) {
                    self.stop_running(job, view);
                }
            }
            Transition::Requeued => {
                // Placed again as an arrival, under the key it gets now.
                if !self.leave_queue(job, view) {
                    self.stop_running(job, view);
                }
                self.arrivals
                    .push(queue_key(&self.priority, job, view.job(job)));
            }
            // Conservative never suspends, so only another actor could resume a job; it is
            // then planned from now to its estimated end like a start.
            Transition::Resumed => {
                let end = Self::planned_end(job, view);
                self.availability.hold_running(job, view, view.now, end);
            }
        }
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let now = view.now;
        self.availability.forget_before(now);
        if self.job_ended {
            self.compress(now);
            self.job_ended = false;
        }
        self.arrivals.sort_unstable();
        for a in 0..self.arrivals.len() {
            let key = self.arrivals[a];
            let job = key.job;
            let request = self.availability.request(job, view);
            let duration = planned(view.job(job));
            let Some((at, placement)) = self.availability.earliest(request, now, duration) else {
                // It fits on no nodes in service: it waits without a reservation until a
                // node comes back.
                self.unplaced.push(key);
                continue;
            };
            self.availability
                .hold(request, at, at + duration, &placement);
            let demand = self.availability.demand(request);
            self.queue
                .insert(key, request, demand, duration, placement, at.as_ms());
            decisions.push(Decision::Reserve { job, at });
        }
        self.arrivals.clear();
        // Reservations are never in the past, so every job due now is reserved at `now`:
        // queue order is (reservation, queue position) order.
        let mut starting = std::mem::take(&mut self.starting);
        self.queue.due(now.as_ms(), &mut starting, &mut self.stack);
        for &slot in &starting {
            let job = self.queue.slot_key[slot].job;
            let placement = std::mem::take(&mut self.queue.slot_placement[slot]);
            self.queue.remove(slot);
            decisions.push(placement.start(job));
        }
        starting.clear();
        self.starting = starting;
    }

    /// A node that fails takes the reservations on it along: those jobs are planned again,
    /// as arrivals under their keys, after the others are compressed (so they may start
    /// later than they were promised). A node that comes back is a rise from now on, and
    /// the jobs that fitted nowhere are planned again.
    fn on_node_change(&mut self, node: u32, state: NodeState, view: &SchedView) {
        match state {
            NodeState::Down => {
                let on_node: Vec<QueueKey> = (0..self.queue.next_slot())
                    .filter(|&slot| {
                        self.queue.summary(self.queue.leaf(slot)) != Group::EMPTY
                            && A::uses_node(&self.queue.slot_placement[slot], node)
                    })
                    .map(|slot| self.queue.slot_key[slot])
                    .collect();
                for key in on_node {
                    self.leave_queue(key.job, view);
                    self.arrivals.push(key);
                }
                self.availability.node_changed(node, state);
            }
            NodeState::Up => {
                self.availability.node_changed(node, state);
                self.log_rise(view.now, CLOCK_LIMIT, view.now);
                self.job_ended = true;
                self.arrivals.append(&mut self.unplaced);
            }
        }
    }

    fn next_wakeup(&self) -> Option<SimTime> {
        let earliest = self
            .queue
            .summary(ReservationTree::<A::Request, A::Placement>::ROOT)
            .earliest_start_ms;
        (earliest != u64::MAX).then(|| SimTime::from_ms(earliest))
    }
}

/// What compression's pruning and the start search know of a group of waiting jobs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Group {
    /// The least demand (see [`Availability::demand`]).
    demand: u64,
    /// The earliest reserved start, ms.
    earliest_start_ms: u64,
    /// The latest reserved start, ms.
    latest_start_ms: u64,
}

impl Group {
    /// No job: no rise can help it, nothing in it is due.
    const EMPTY: Group = Group {
        demand: u64::MAX,
        earliest_start_ms: u64::MAX,
        latest_start_ms: 0,
    };

    fn combine(a: Group, b: Group) -> Group {
        Group {
            demand: a.demand.min(b.demand),
            earliest_start_ms: a.earliest_start_ms.min(b.earliest_start_ms),
            latest_start_ms: a.latest_start_ms.max(b.latest_start_ms),
        }
    }
}

/// The waiting jobs in queue order: a segment tree over queue slots holding each subtree's
/// [`Group`], and each slot's queue key, request (`R`), planned duration and placement
/// (`L`).
///
/// Slots are in queue-key order. A job entering the queue behind every slot takes the next
/// slot at the end; when the slots run out, or a job enters ahead of a used slot (a requeued
/// job, or any job under a priority other than arrival order), the waiting jobs are packed
/// to the front (keeping their order, the new job among them) into a tree with room for as
/// many again. The tree therefore stays about the size of the queue, shallow and in cache
/// however long the trace, and what compression reads of a job sits in its slot.
struct ReservationTree<R, L> {
    leaves: usize,
    nodes: Vec<Group>,
    /// Per used slot (as many as slots used since the last packing).
    slot_key: Vec<QueueKey>,
    slot_request: Vec<R>,
    slot_duration: Vec<SimDuration>,
    slot_placement: Vec<L>,
}

/// A job entering the reservation tree.
struct Entry<R, L> {
    key: QueueKey,
    request: R,
    duration: SimDuration,
    placement: L,
    group: Group,
}

impl<R: Copy, L> ReservationTree<R, L> {
    const ROOT: usize = 1;
    const MIN_LEAVES: usize = 64;

    fn new() -> Self {
        Self::with_leaves(Self::MIN_LEAVES)
    }

    fn with_leaves(leaves: usize) -> Self {
        ReservationTree {
            leaves,
            nodes: vec![Group::EMPTY; 2 * leaves],
            slot_key: Vec::with_capacity(leaves),
            slot_request: Vec::with_capacity(leaves),
            slot_duration: Vec::with_capacity(leaves),
            slot_placement: Vec::with_capacity(leaves),
        }
    }

    /// The first slot not used since the last packing.
    fn next_slot(&self) -> usize {
        self.slot_key.len()
    }

    fn children(node: usize) -> (usize, usize) {
        (2 * node, 2 * node + 1)
    }

    fn summary(&self, node: usize) -> Group {
        self.nodes[node]
    }

    fn leaf(&self, slot: usize) -> usize {
        self.leaves + slot
    }

    /// The slot at `node` if it is a leaf.
    fn slot_at(&self, node: usize) -> Option<usize> {
        (node >= self.leaves).then(|| node - self.leaves)
    }

    fn set_leaf(&mut self, slot: usize, group: Group) {
        let mut node = self.leaf(slot);
        self.nodes[node] = group;
        while node > 1 {
            node /= 2;
            let group = Group::combine(self.nodes[2 * node], self.nodes[2 * node + 1]);
            if self.nodes[node] == group {
                break; // nothing above changes either
            }
            self.nodes[node] = group;
        }
    }

    /// Appends `entry` in the next slot (there is room, and its key is the largest).
    fn push(&mut self, entry: Entry<R, L>) {
        let slot = self.next_slot();
        self.slot_key.push(entry.key);
        self.slot_request.push(entry.request);
        self.slot_duration.push(entry.duration);
        self.slot_placement.push(entry.placement);
        self.set_leaf(slot, entry.group);
    }

    /// Packs the waiting jobs and `entry`, in key order, into the first slots of a tree
    /// with room for as many again.
    fn pack_with(&mut self, entry: Entry<R, L>) {
        let old = std::mem::replace(self, Self::with_leaves(0));
        let waiting = (0..old.next_slot())
            .filter(|&slot| old.nodes[old.leaf(slot)] != Group::EMPTY)
            .count();
        let mut packed = Self::with_leaves((2 * (waiting + 1) + 1).next_power_of_two());
        let mut entry = Some(entry);
        let ReservationTree {
            leaves,
            nodes,
            slot_key,
            slot_request,
            slot_duration,
            slot_placement,
        } = old;
        let slots = slot_key
            .into_iter()
            .zip(slot_request)
            .zip(slot_duration)
            .zip(slot_placement)
            .enumerate();
        for (slot, (((key, request), duration), placement)) in slots {
            let group = nodes[leaves + slot];
            if group == Group::EMPTY {
                continue;
            }
            if entry.as_ref().is_some_and(|e| e.key < key) {
                packed.put(entry.take().expect("checked"));
            }
            packed.put(Entry {
                key,
                request,
                duration,
                placement,
                group,
            });
        }
        if let Some(entry) = entry {
            packed.put(entry);
        }
        for node in (1..packed.leaves).rev() {
            packed.nodes[node] = Group::combine(packed.nodes[2 * node], packed.nodes[2 * node + 1]);
        }
        *self = packed;
    }

    /// [`Self::push`] without updating the inner nodes (packing computes them at the end).
    fn put(&mut self, entry: Entry<R, L>) {
        let leaf = self.leaf(self.next_slot());
        self.nodes[leaf] = entry.group;
        self.slot_key.push(entry.key);
        self.slot_request.push(entry.request);
        self.slot_duration.push(entry.duration);
        self.slot_placement.push(entry.placement);
    }

    /// Adds a job entering the queue under `key`, needing `demand`, reserved at `start_ms`
    /// on `placement`.
    fn insert(
        &mut self,
        key: QueueKey,
        request: R,
        demand: u64,
        duration: SimDuration,
        placement: L,
        start_ms: u64,
    ) {
        let entry = Entry {
            key,
            request,
            duration,
            placement,
            group: Group {
                demand,
                earliest_start_ms: start_ms,
                latest_start_ms: start_ms,
            },
        };
        let behind_all = self.slot_key.last().is_none_or(|&last| last < key);
        if self.next_slot() == self.leaves || !behind_all {
            self.pack_with(entry);
        } else {
            self.push(entry);
        }
    }

    fn set_start(&mut self, slot: usize, start_ms: u64) {
        let group = Group {
            earliest_start_ms: start_ms,
            latest_start_ms: start_ms,
            ..self.nodes[self.leaf(slot)]
        };
        self.set_leaf(slot, group);
    }

    fn remove(&mut self, slot: usize) {
        self.set_leaf(slot, Group::EMPTY);
    }

    /// Appends the slots reserved at or before `now_ms`, in queue order.
    fn due(&self, now_ms: u64, out: &mut Vec<usize>, stack: &mut Vec<usize>) {
        stack.push(Self::ROOT);
        while let Some(node) = stack.pop() {
            if self.nodes[node].earliest_start_ms > now_ms {
                continue;
            }
            match self.slot_at(node) {
                None => {
                    let (left, right) = Self::children(node);
                    stack.push(right);
                    stack.push(left);
                }
                Some(slot) => out.push(slot),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staircase_answers_like_a_scan_of_all_pairs() {
        let mut all = Vec::new();
        let mut staircase = Staircase::default();
        let mut x = 12345u64;
        for _ in 0..300 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (key, max_free) = ((x >> 33) % 1000, (x >> 13) % 64);
            all.push((key, max_free));
            staircase.add(key, max_free);
            for procs in [0, 1, 7, 30, 63, 64] {
                let scan = all.iter().filter(|p| p.1 >= procs).map(|p| p.0).min();
                assert_eq!(staircase.best_key(procs), scan, "procs {procs}");
            }
        }
    }

    #[test]
    fn the_queue_tree_keeps_queue_order_across_packing() {
        let mut tree = ReservationTree::<u32, ()>::new();
        let mut waiting = Vec::new();
        for i in 0..1000u32 {
            let start_ms = u64::from(i % 7);
            let procs = 1 + i % 5;
            let key = QueueKey::ranked(0, JobIdx(i));
            let duration = SimDuration::from_ms(10);
            tree.insert(key, procs, u64::from(procs), duration, (), start_ms);
            waiting.push((i, start_ms));
            if i % 3 == 0 {
                // the oldest waiting job leaves, as a start would take it
                let first = (0..tree.next_slot())
                    .find(|&s| tree.summary(tree.leaf(s)) != Group::EMPTY)
                    .unwrap();
                assert_eq!(tree.slot_key[first].job, JobIdx(waiting[0].0));
                tree.remove(first);
                waiting.remove(0);
            }
        }
        let (mut due, mut stack) = (Vec::new(), Vec::new());
        tree.due(3, &mut due, &mut stack);
        let due_jobs: Vec<u32> = due.iter().map(|&s| tree.slot_key[s].job.0).collect();
        let want: Vec<u32> = waiting.iter().filter(|w| w.1 <= 3).map(|w| w.0).collect();
        assert_eq!(due_jobs, want);
        assert!(
            tree.leaves < 2048,
            "the tree stays about the size of the queue"
        );
    }

    #[test]
    fn a_job_entering_ahead_takes_its_place_in_key_order() {
        let mut tree = ReservationTree::<u32, ()>::new();
        let key = |job| QueueKey::ranked(0, JobIdx(job));
        let duration = SimDuration::from_ms(10);
        for job in [2, 4, 6] {
            tree.insert(key(job), 1, 1, duration, (), 5);
        }
        tree.remove(1); // job 4 starts
        tree.insert(key(4), 1, 1, duration, (), 5); // and is requeued
        tree.insert(key(1), 1, 1, duration, (), 5);
        tree.insert(key(9), 1, 1, duration, (), 5);
        let (mut due, mut stack) = (Vec::new(), Vec::new());
        tree.due(5, &mut due, &mut stack);
        let order: Vec<u32> = due.iter().map(|&s| tree.slot_key[s].job.0).collect();
        assert_eq!(order, [1, 2, 4, 6, 9]);
    }
}
