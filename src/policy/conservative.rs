//! Conservative backfilling (Mu'alem & Feitelson, 2001).
//!
//! Semantics, at each instant `now`:
//! 1. Completions: a job that ended before its estimated end gives back the rest of its
//!    estimated time in the availability profile.
//! 2. Compression, once, if any job ended: the waiting jobs, in queue order, are each taken
//!    out of the profile and placed again at the earliest time `≥ now` at which they fit for
//!    their estimate around the running jobs and all other current reservations. A
//!    reservation can move earlier but never later (its old place is still free).
//! 3. Arrivals, in queue order: each gets a reservation at the earliest time at which it
//!    fits for its estimate in the profile (running jobs until their estimated ends, plus
//!    every reservation already made), so it never delays an earlier reservation.
//! 4. Every job whose reservation is `now` starts, in queue order.
//!
//! A job with a zero estimate is planned as lasting 1 ms, so it still needs its processors
//! free at its start instant.
//!
//! Cost: compression is made incremental by a log of *rises* of the profile, without
//! changing its result. A job sits at its earliest fit when it is placed or examined. Later
//! it can only fit earlier at a start whose window (from that start to its reservation or
//! the end of its estimate, whichever is first) was blocked then and is clear now: some
//! instant of the window rose since. Take the last rise of such an instant: it left at least
//! as many free processors as the job needs. Rises happen in two places only: a job ending
//! before its estimated end (its tail), and a reservation moving earlier (the part of its old
//! slot it leaves). Each rise is logged with its interval and the largest free count over it
//! just after it. Compression examines a job only if a logged rise reaching its processors
//! starts before its reservation; the search for its new start then only covers starts
//! less than the job's estimate before the earliest such rise and before the latest end of
//! one. The waiting jobs sit in a segment tree over queue slots that keeps, per subtree, the
//! fewest processors and the earliest and latest reservations, so whole runs of jobs that no
//! rise can help are skipped at once, and the jobs that start now are found without another
//! index. Examining a job is a read-only search of the profile; only jobs that move are taken
//! out and put back. (Every waiting job is considered in every compression, examined or
//! skipped with its subtree, so the rises logged since the start of the previous compression
//! cover everything any job has not yet considered.)

use super::profile::Profile;
use super::{Decision, JobInfo, Policy, SchedView};
use crate::engine::time::{SimDuration, SimTime};
use crate::lifecycle::{Outcome, Transition};
use crate::workload::JobIdx;

/// The conservative backfilling policy.
pub struct Conservative {
    profile: Profile,
    /// Waiting jobs in queue order, with their reservations.
    queue: ReservationTree,
    /// Arrivals since the last pass, in queue order.
    arrivals: Vec<JobIdx>,
    /// Whether a job ended since the last pass.
    job_ended: bool,
    /// Rises logged since the start of the previous compression (see the module docs):
    /// every waiting job has considered all older ones.
    rises: Vec<Rise>,
    /// Rises logged before the current compression started.
    rises_before_pass: usize,
    /// The earliest start of a rise reaching a given number of free processors.
    earliest_rise: Staircase,
    /// The latest end of a rise reaching a given number of free processors (keys are
    /// `u64::MAX - until_ms`, so that the smallest key is the latest end).
    latest_rise_end: Staircase,
    /// Scratch: slots of the jobs that start now.
    starting: Vec<usize>,
    /// Scratch: the tree walk's stack.
    stack: Vec<usize>,
}

/// A rise of the profile.
#[derive(Clone, Copy, Debug)]
struct Rise {
    /// Where the raised interval starts, ms.
    from_ms: u64,
    /// Where it ends, ms.
    until_ms: u64,
    /// The most free processors at any instant of the raised interval, just after the rise.
    max_free: u64,
}

/// Pairs `(key, max_free)` reduced to those no other pair dominates (one dominates another
/// if its key is no larger and its free count no smaller), sorted by key; along that order
/// the free counts increase. "The smallest key among pairs reaching `p` free processors" is
/// then a binary search.
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

/// The length a job occupies in the profile.
fn planned(job: JobInfo) -> SimDuration {
    job.estimate().max(SimDuration::from_ms(1))
}

impl Conservative {
    /// A policy for a machine of `machine_procs` processors.
    pub fn new(machine_procs: u32) -> Self {
        Conservative {
            profile: Profile::new(machine_procs),
            queue: ReservationTree::new(),
            arrivals: Vec::new(),
            job_ended: false,
            rises: Vec::new(),
            rises_before_pass: 0,
            earliest_rise: Staircase::default(),
            latest_rise_end: Staircase::default(),
            starting: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// The end a running job occupies in the profile: its segment's start plus its planned
    /// length (the engine's estimated end, at least 1 ms after the start).
    fn planned_end(job: JobIdx, view: &SchedView) -> SimTime {
        view.estimated_end(job)
            .max(view.segment_start(job) + SimDuration::from_ms(1))
    }

    /// A running (or just suspended) job stops: the rest of its planned time is free.
    fn stop_running(&mut self, job: JobIdx, view: &SchedView) {
        let end = Self::planned_end(job, view);
        if end > view.now {
            self.profile.release(view.now, end, view.job(job).procs());
            self.log_rise(view.now, end, view.now);
        }
        self.job_ended = true;
    }

    /// Takes `job` out of the waiting jobs (its reservation given back); false if it does not
    /// wait. Rare (cancellations, requeues), so a walk over the slots.
    fn leave_queue(&mut self, job: JobIdx, view: &SchedView) -> bool {
        if let Some(at) = self.arrivals.iter().position(|&j| j == job) {
            self.arrivals.remove(at);
            return true;
        }
        let Some(slot) = (0..self.queue.next_slot).find(|&slot| {
            self.queue.slot_job[slot] == job
                && self.queue.summary(self.queue.leaf(slot)) != Group::EMPTY
        }) else {
            return false;
        };
        let start = SimTime::from_ms(self.queue.summary(self.queue.leaf(slot)).latest_start_ms);
        let end = start + self.queue.slot_duration[slot];
        self.profile
            .release(start, end, self.queue.slot_procs[slot]);
        self.queue.remove(slot);
        self.log_rise(start, end, view.now);
        self.job_ended = true;
        true
    }

    /// Logs that the profile rose on `[from, until)` (only the part after `now` matters).
    fn log_rise(&mut self, from: SimTime, until: SimTime, now: SimTime) {
        let from = from.max(now);
        if from < until {
            let rise = Rise {
                from_ms: from.as_ms(),
                until_ms: until.as_ms(),
                max_free: u64::from(self.profile.max_free(from, until)),
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
            return; // the profile only fell since every job was last placed
        }
        self.earliest_rise.clear();
        self.latest_rise_end.clear();
        for r in 0..self.rises.len() {
            self.add_to_staircases(self.rises[r]);
        }
        let mut stack = std::mem::take(&mut self.stack);
        stack.push(ReservationTree::ROOT);
        while let Some(node) = stack.pop() {
            let group = self.queue.summary(node);
            let Some(rises_start_ms) = self
                .earliest_rise
                .best_key(group.procs)
                .filter(|&from_ms| from_ms < group.latest_start_ms)
            else {
                continue; // no rise may help
            };
            match self.queue.slot_at(node) {
                None => {
                    let (left, right) = ReservationTree::children(node);
                    stack.push(right);
                    stack.push(left);
                }
                Some(slot) => self.examine(slot, rises_start_ms, now),
            }
        }
        self.stack = stack;
    }

    /// Moves the job in `slot` to the earliest time before its reservation at which it
    /// fits, if any. `rises_start_ms` is the earliest start of a rise reaching its
    /// processors (the tree walk has just looked it up).
    fn examine(&mut self, slot: usize, rises_start_ms: u64, now: SimTime) {
        let old = SimTime::from_ms(self.queue.summary(self.queue.leaf(slot)).latest_start_ms);
        if old <= now {
            return; // starts now: it cannot move earlier
        }
        let procs = self.queue.slot_procs[slot];
        let duration = self.queue.slot_duration[slot];
        // See the module docs: a new start has its window over a rise reaching the job's
        // processors, so it is before the latest end of one, and less than the job's
        // duration before the earliest start of one.
        let rises_end = self
            .latest_rise_end
            .best_key(u64::from(procs))
            .map_or(SimTime::ZERO, |key| SimTime::from_ms(u64::MAX - key));
        let search_from = now.max(SimTime::from_ms(
            (rises_start_ms + 1).saturating_sub(duration.as_ms()),
        ));
        let Some(new) = self
            .profile
            .earlier_fit(search_from, duration, procs, rises_end, old)
        else {
            return;
        };
        self.profile.release(old, old + duration, procs);
        self.profile.reserve(new, new + duration, procs);
        self.queue.set_start(slot, new.as_ms());
        self.log_rise((new + duration).max(old), old + duration, now);
    }
}

impl Policy for Conservative {
    fn label(&self) -> String {
        "conservative".to_string()
    }

    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView) {
        match transition {
            Transition::Pending => self.arrivals.push(job),
            Transition::Started => {}
            Transition::Ended(Outcome::Completed | Outcome::Timeout | Outcome::Failed)
            | Transition::Suspended => self.stop_running(job, view),
            Transition::Ended(Outcome::Cancelled | Outcome::Abandoned) => {
                if !self.leave_queue(job, view) {
                    self.stop_running(job, view);
                }
            }
            Transition::Requeued => {
                // Placed again as an arrival (after the jobs already reserved).
                if !self.leave_queue(job, view) {
                    self.stop_running(job, view);
                }
                self.arrivals.push(job);
            }
            // Conservative never suspends, so only another actor could resume a job; it is
            // then planned from now to its estimated end like a start.
            Transition::Resumed => {
                let procs = view.job(job).procs();
                self.profile
                    .reserve(view.now, Self::planned_end(job, view), procs);
            }
        }
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let now = view.now;
        self.profile.forget_before(now);
        if self.job_ended {
            self.compress(now);
            self.job_ended = false;
        }
        for a in 0..self.arrivals.len() {
            let job = self.arrivals[a];
            let j = view.job(job);
            let duration = planned(j);
            let at = self.profile.earliest_fit(now, duration, j.procs());
            self.profile.reserve(at, at + duration, j.procs());
            self.queue.insert(job, j.procs(), duration, at.as_ms());
            decisions.push(Decision::Reserve { job, at });
        }
        self.arrivals.clear();
        // Reservations are never in the past, so every job due now is reserved at `now`:
        // queue order is (reservation, queue position) order.
        let mut starting = std::mem::take(&mut self.starting);
        self.queue.due(now.as_ms(), &mut starting, &mut self.stack);
        for &slot in &starting {
            let job = self.queue.slot_job[slot];
            self.queue.remove(slot);
            decisions.push(Decision::Start(job));
        }
        starting.clear();
        self.starting = starting;
    }

    fn next_wakeup(&self) -> Option<SimTime> {
        let earliest = self.queue.summary(ReservationTree::ROOT).earliest_start_ms;
        (earliest != u64::MAX).then(|| SimTime::from_ms(earliest))
    }
}

/// What compression's pruning and the start search know of a group of waiting jobs.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Group {
    /// The fewest processors.
    procs: u64,
    /// The earliest reserved start, ms.
    earliest_start_ms: u64,
    /// The latest reserved start, ms.
    latest_start_ms: u64,
}

impl Group {
    /// No job: no rise can help it, nothing in it is due.
    const EMPTY: Group = Group {
        procs: u64::MAX,
        earliest_start_ms: u64::MAX,
        latest_start_ms: 0,
    };

    fn combine(a: Group, b: Group) -> Group {
        Group {
            procs: a.procs.min(b.procs),
            earliest_start_ms: a.earliest_start_ms.min(b.earliest_start_ms),
            latest_start_ms: a.latest_start_ms.max(b.latest_start_ms),
        }
    }
}

/// The waiting jobs in queue order: a segment tree over queue slots holding each subtree's
/// [`Group`], and each slot's job, processors and planned duration.
///
/// Arrivals take the next slot at the end, so slot order is queue order; when the slots run
/// out, the waiting jobs are packed to the front (keeping their order) into a tree with room
/// for as many again. The tree therefore stays about the size of the queue, shallow and in
/// cache however long the trace, and what compression reads of a job sits in its slot.
struct ReservationTree {
    leaves: usize,
    nodes: Vec<Group>,
    slot_job: Vec<JobIdx>,
    slot_procs: Vec<u32>,
    slot_duration: Vec<SimDuration>,
    /// The first slot not used since the last packing.
    next_slot: usize,
}

impl ReservationTree {
    const ROOT: usize = 1;
    const MIN_LEAVES: usize = 64;

    fn new() -> Self {
        Self::with_leaves(Self::MIN_LEAVES)
    }

    fn with_leaves(leaves: usize) -> Self {
        ReservationTree {
            leaves,
            nodes: vec![Group::EMPTY; 2 * leaves],
            slot_job: vec![JobIdx(0); leaves],
            slot_procs: vec![0; leaves],
            slot_duration: vec![SimDuration::ZERO; leaves],
            next_slot: 0,
        }
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

    /// Packs the waiting jobs into the first slots of a tree with room for as many again.
    fn pack(&mut self) {
        let waiting: Vec<usize> = (0..self.next_slot)
            .filter(|&slot| self.nodes[self.leaf(slot)] != Group::EMPTY)
            .collect();
        let mut packed = Self::with_leaves((2 * waiting.len() + 1).next_power_of_two());
        for (to, &from) in waiting.iter().enumerate() {
            packed.slot_job[to] = self.slot_job[from];
            packed.slot_procs[to] = self.slot_procs[from];
            packed.slot_duration[to] = self.slot_duration[from];
            packed.nodes[packed.leaves + to] = self.nodes[self.leaf(from)];
        }
        for node in (1..packed.leaves).rev() {
            packed.nodes[node] = Group::combine(packed.nodes[2 * node], packed.nodes[2 * node + 1]);
        }
        packed.next_slot = waiting.len();
        *self = packed;
    }

    /// Adds an arriving job, reserved at `start_ms`, at the end of the queue.
    fn insert(&mut self, job: JobIdx, procs: u32, duration: SimDuration, start_ms: u64) {
        if self.next_slot == self.leaves {
            self.pack();
        }
        let slot = self.next_slot;
        self.next_slot += 1;
        self.slot_job[slot] = job;
        self.slot_procs[slot] = procs;
        self.slot_duration[slot] = duration;
        let group = Group {
            procs: u64::from(procs),
            earliest_start_ms: start_ms,
            latest_start_ms: start_ms,
        };
        self.set_leaf(slot, group);
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
        let mut tree = ReservationTree::new();
        let mut waiting = Vec::new();
        for i in 0..1000u32 {
            let start_ms = u64::from(i % 7);
            tree.insert(JobIdx(i), 1 + i % 5, SimDuration::from_ms(10), start_ms);
            waiting.push((i, start_ms));
            if i % 3 == 0 {
                // the oldest waiting job leaves, as a start would take it
                let first = (0..tree.next_slot)
                    .find(|&s| tree.summary(tree.leaf(s)) != Group::EMPTY)
                    .unwrap();
                assert_eq!(tree.slot_job[first], JobIdx(waiting[0].0));
                tree.remove(first);
                waiting.remove(0);
            }
        }
        let (mut due, mut stack) = (Vec::new(), Vec::new());
        tree.due(3, &mut due, &mut stack);
        let due_jobs: Vec<u32> = due.iter().map(|&s| tree.slot_job[s].0).collect();
        let want: Vec<u32> = waiting.iter().filter(|w| w.1 <= 3).map(|w| w.0).collect();
        assert_eq!(due_jobs, want);
        assert!(
            tree.leaves < 2048,
            "the tree stays about the size of the queue"
        );
    }
}
