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
//! 4. Every job whose reservation is `now` starts.
//!
//! A job with a zero estimate is planned as lasting 1 ms, so it still needs its processors
//! free at its start instant.
//!
//! Cost: compression is made incremental by a log of *rises* of the profile, without
//! changing its result. A job sits at its earliest fit when it is placed or examined. Later
//! it can only fit earlier if, since then, the profile rose somewhere before its reservation
//! to at least its processors: take an instant that blocked the earlier window; the last
//! rise of that instant left at least as many free processors as the job needs. Rises
//! happen in two places only: a job ending before its estimated end (its tail), and a
//! reservation moving earlier (the part of its old slot it leaves). Each rise is logged with
//! its start and the largest free count over its interval just after it; compression
//! examines a job only if a rise logged since its last examination starts before its
//! reservation and reaches its processors. The waiting jobs sit in a segment tree over queue
//! positions that keeps, per subtree, the fewest processors and the latest reservation, so
//! whole runs of jobs that no rise can help are skipped at once. Examining a job is a
//! read-only search of the profile before its current reservation; only jobs that move are
//! taken out and put back. (Every waiting job is considered in every compression, examined or
//! skipped with its subtree, so "rises since the start of the previous compression" covers
//! what any job has not yet considered; each job also records how many rises it has seen.)

use super::profile::Profile;
use super::{Decision, Policy, SchedView};
use crate::engine::time::{SimDuration, SimTime};
use crate::workload::{Job, JobIdx};
use std::collections::BTreeSet;

/// The conservative backfilling policy.
pub struct Conservative {
    profile: Profile,
    /// Waiting jobs by queue position, with what compression's pruning needs.
    queue: ReservationTree,
    /// Waiting jobs by `(reserved start, index)`: who starts now, and the next wake-up.
    by_start: BTreeSet<(SimTime, JobIdx)>,
    /// Reserved start of each waiting job, by job index.
    reserved_start: Vec<SimTime>,
    /// Start + planned duration of each running job, by job index.
    estimated_end: Vec<SimTime>,
    /// Arrivals since the last pass, in queue order.
    arrivals: Vec<JobIdx>,
    /// Whether a job ended since the last pass.
    job_ended: bool,
    /// Rises logged since the start of the previous compression (see the module docs):
    /// every waiting job has considered all older ones.
    rises: Vec<Rise>,
    /// Rises logged before the current compression started.
    rises_before_pass: usize,
    /// The Pareto frontier of `rises` for the subtree test.
    frontier: RiseFrontier,
    /// Number of rises ever dropped from the front of `rises`.
    rises_dropped: u64,
    /// For each waiting job, the number of rises ever logged when it was last placed or
    /// examined: it has considered all of those.
    rises_seen: Vec<u64>,
}

/// A rise of the profile.
#[derive(Clone, Copy, Debug)]
struct Rise {
    /// Where the raised interval starts, ms.
    from_ms: u64,
    /// The most free processors at any instant of the raised interval, just after the rise.
    max_free: u64,
}

impl Rise {
    /// Whether this rise could let a job (or any job of a group) with at least `procs`
    /// processors and a reservation at or before `start_ms` start earlier.
    fn may_help(&self, procs: u64, start_ms: u64) -> bool {
        procs <= self.max_free && self.from_ms < start_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frontier_answers_like_a_scan_of_all_rises() {
        let mut all = Vec::new();
        let mut frontier = RiseFrontier::default();
        let mut x = 12345u64;
        for _ in 0..300 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let rise = Rise {
                from_ms: (x >> 33) % 1000,
                max_free: (x >> 13) % 64,
            };
            all.push(rise);
            frontier.add(rise);
            for procs in [0, 1, 7, 30, 63, 64] {
                for start in [0, 1, 250, 999, 1000] {
                    let scan = all.iter().any(|r| r.may_help(procs, start));
                    assert_eq!(
                        frontier.may_help(procs, start),
                        scan,
                        "procs {procs} start {start}"
                    );
                }
            }
        }
    }
}

/// The rises no other rise dominates (one dominates another if it starts no later and
/// reaches at least as many free processors), sorted by start; along that order the free
/// counts increase. "Could any rise help a job needing `p` reserved at `s`?" is then a
/// binary search: the earliest-starting rise with at least `p` free must start before `s`.
#[derive(Debug, Default)]
struct RiseFrontier {
    rises: Vec<Rise>,
}

impl RiseFrontier {
    fn clear(&mut self) {
        self.rises.clear();
    }

    fn add(&mut self, rise: Rise) {
        let at = self.rises.partition_point(|r| r.from_ms < rise.from_ms);
        // Dominated by an earlier-or-equal start with at least as many free processors?
        let dominated = self.rises[..at]
            .last()
            .is_some_and(|r| r.max_free >= rise.max_free)
            || self
                .rises
                .get(at)
                .is_some_and(|r| r.from_ms == rise.from_ms && r.max_free >= rise.max_free);
        if dominated {
            return;
        }
        // Drop the rises it dominates: starting at or after it with no more free.
        let end = at + self.rises[at..].partition_point(|r| r.max_free <= rise.max_free);
        self.rises.splice(at..end, std::iter::once(rise));
    }

    fn may_help(&self, procs: u64, start_ms: u64) -> bool {
        let first = self.rises.partition_point(|r| r.max_free < procs);
        self.rises.get(first).is_some_and(|r| r.from_ms < start_ms)
    }
}

/// The length a job occupies in the profile.
fn planned(job: &Job) -> SimDuration {
    job.estimate.max(SimDuration::from_ms(1))
}

impl Conservative {
    /// A policy for a workload of `jobs` jobs on `machine_procs` processors.
    pub fn new(jobs: usize, machine_procs: u32) -> Self {
        Conservative {
            profile: Profile::new(machine_procs),
            queue: ReservationTree::new(jobs),
            by_start: BTreeSet::new(),
            reserved_start: vec![SimTime::ZERO; jobs],
            estimated_end: vec![SimTime::ZERO; jobs],
            arrivals: Vec::new(),
            job_ended: false,
            rises: Vec::new(),
            rises_before_pass: 0,
            frontier: RiseFrontier::default(),
            rises_dropped: 0,
            rises_seen: vec![0; jobs],
        }
    }

    fn rises_logged(&self) -> u64 {
        self.rises_dropped + self.rises.len() as u64
    }

    /// Logs that the profile rose on `[from, until)` (only the part after `now` matters).
    fn log_rise(&mut self, from: SimTime, until: SimTime, now: SimTime) {
        let from = from.max(now);
        if from < until {
            let rise = Rise {
                from_ms: from.as_ms(),
                max_free: u64::from(self.profile.max_free(from, until)),
            };
            self.rises.push(rise);
            self.frontier.add(rise);
        }
    }

    /// Moves each waiting job, in queue order, to its earliest fit if that is earlier.
    ///
    /// Walks the queue tree in queue order and skips every subtree for which no logged rise
    /// may help (a rise helps only jobs needing at most its maximum, reserved after its
    /// start). Skipping a job that cannot move changes nothing, so the result is exactly
    /// that of examining every job in turn.
    fn compress(&mut self, now: SimTime, jobs: &[Job]) {
        self.rises.drain(..self.rises_before_pass);
        self.rises_dropped += self.rises_before_pass as u64;
        self.rises_before_pass = self.rises.len();
        if self.rises.is_empty() {
            return; // the profile only fell since every job was last placed
        }
        self.frontier.clear();
        for &rise in &self.rises {
            self.frontier.add(rise);
        }
        let mut stack = vec![ReservationTree::ROOT];
        while let Some(node) = stack.pop() {
            let (procs, latest_start_ms) = self.queue.summary(node);
            if !self.frontier.may_help(procs, latest_start_ms) {
                continue;
            }
            match self.queue.job_at(node) {
                None => {
                    let (left, right) = ReservationTree::children(node);
                    stack.push(right);
                    stack.push(left);
                }
                Some(job) => self.examine(job, now, jobs),
            }
        }
    }

    /// Moves `job` to the earliest time before its reservation at which it fits, if any.
    fn examine(&mut self, job: JobIdx, now: SimTime, jobs: &[Job]) {
        let j = &jobs[job.get()];
        let old = self.reserved_start[job.get()];
        if old <= now {
            return; // starts now: it cannot move earlier
        }
        // The subtree test used every rise of the window; this job may have seen some.
        let unseen = self.rises_seen[job.get()].saturating_sub(self.rises_dropped) as usize;
        let may_move = self.rises[unseen.min(self.rises.len())..]
            .iter()
            .any(|r| r.may_help(u64::from(j.procs), old.as_ms()));
        self.rises_seen[job.get()] = self.rises_logged();
        if !may_move {
            return;
        }
        let duration = planned(j);
        let Some(new) = self.profile.earlier_fit(now, duration, j.procs, old) else {
            return;
        };
        self.profile.release(old, old + duration, j.procs);
        self.profile.reserve(new, new + duration, j.procs);
        self.reserved_start[job.get()] = new;
        self.by_start.remove(&(old, job));
        self.by_start.insert((new, job));
        self.queue.set_start(job, new.as_ms());
        self.log_rise((new + duration).max(old), old + duration, now);
        self.rises_seen[job.get()] = self.rises_logged();
    }
}

impl Policy for Conservative {
    fn label(&self) -> String {
        "conservative".to_string()
    }

    fn on_arrival(&mut self, job: JobIdx, _view: &SchedView) {
        self.arrivals.push(job);
    }

    fn on_job_end(&mut self, job: JobIdx, view: &SchedView) {
        let end = self.estimated_end[job.get()];
        if end > view.now {
            self.profile.release(view.now, end, view.job(job).procs);
            self.log_rise(view.now, end, view.now);
        }
        self.job_ended = true;
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let now = view.now;
        self.profile.forget_before(now);
        if self.job_ended {
            self.compress(now, view.jobs);
            self.job_ended = false;
        }
        for a in 0..self.arrivals.len() {
            let job = self.arrivals[a];
            let j = view.job(job);
            let duration = planned(j);
            let at = self.profile.earliest_fit(now, duration, j.procs);
            self.profile.reserve(at, at + duration, j.procs);
            self.reserved_start[job.get()] = at;
            self.by_start.insert((at, job));
            self.queue.insert(job, j.procs, at.as_ms());
            self.rises_seen[job.get()] = self.rises_logged();
            decisions.push(Decision::Reserve { job, at });
        }
        self.arrivals.clear();
        while let Some(&(start, job)) = self.by_start.first() {
            if start > now {
                break;
            }
            self.by_start.pop_first();
            self.queue.remove(job);
            self.estimated_end[job.get()] = now + planned(view.job(job));
            decisions.push(Decision::Start(job));
        }
    }

    fn next_wakeup(&self) -> Option<SimTime> {
        self.by_start.first().map(|&(t, _)| t)
    }
}

/// A segment tree over queue positions (job indices) holding, per subtree, the fewest
/// processors and the latest reserved start among its waiting jobs.
struct ReservationTree {
    leaves: usize,
    /// `(min procs, max reserved start ms)`; `(u64::MAX, 0)` for an empty subtree.
    nodes: Vec<(u64, u64)>,
}

impl ReservationTree {
    const ROOT: usize = 1;
    const EMPTY: (u64, u64) = (u64::MAX, 0);

    fn new(jobs: usize) -> Self {
        let leaves = jobs.max(1).next_power_of_two();
        ReservationTree {
            leaves,
            nodes: vec![Self::EMPTY; 2 * leaves],
        }
    }

    fn children(node: usize) -> (usize, usize) {
        (2 * node, 2 * node + 1)
    }

    fn summary(&self, node: usize) -> (u64, u64) {
        self.nodes[node]
    }

    /// The job at `node` if it is a leaf.
    fn job_at(&self, node: usize) -> Option<JobIdx> {
        (node >= self.leaves).then(|| JobIdx((node - self.leaves) as u32))
    }

    fn set(&mut self, job: JobIdx, value: (u64, u64)) {
        let mut node = self.leaves + job.get();
        self.nodes[node] = value;
        while node > 1 {
            node /= 2;
            let (a, b) = (self.nodes[2 * node], self.nodes[2 * node + 1]);
            self.nodes[node] = (a.0.min(b.0), a.1.max(b.1));
        }
    }

    fn insert(&mut self, job: JobIdx, procs: u32, start_ms: u64) {
        self.set(job, (u64::from(procs), start_ms));
    }

    fn set_start(&mut self, job: JobIdx, start_ms: u64) {
        let procs = self.nodes[self.leaves + job.get()].0;
        self.set(job, (procs, start_ms));
    }

    fn remove(&mut self, job: JobIdx) {
        self.set(job, Self::EMPTY);
    }
}
