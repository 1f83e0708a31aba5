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
//! Cost: compression skips every job that cannot move earlier without searching for its
//! place: a job can only move if, before its current reservation, some instant has at least
//! as many free processors as it needs.

use super::profile::Profile;
use super::{Decision, Policy, SchedView};
use crate::engine::time::{SimDuration, SimTime};
use crate::workload::{Job, JobIdx};
use std::collections::BTreeSet;

/// The conservative backfilling policy.
pub struct Conservative {
    profile: Profile,
    /// Waiting jobs in queue order.
    waiting: BTreeSet<JobIdx>,
    /// Waiting jobs by `(reserved start, index)`: who starts now, and the next wake-up.
    by_start: BTreeSet<(SimTime, JobIdx)>,
    /// Reserved start of each waiting job; start + planned duration of each running job.
    reserved_start: Vec<SimTime>,
    estimated_end: Vec<SimTime>,
    arrivals: Vec<JobIdx>,
    job_ended: bool,
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
            waiting: BTreeSet::new(),
            by_start: BTreeSet::new(),
            reserved_start: vec![SimTime::ZERO; jobs],
            estimated_end: vec![SimTime::ZERO; jobs],
            arrivals: Vec::new(),
            job_ended: false,
        }
    }

    fn place(&mut self, job: JobIdx, view: &SchedView) -> SimTime {
        let j = view.job(job);
        let duration = planned(j);
        let start = self.profile.earliest_fit(view.now, duration, j.procs);
        self.profile.reserve(start, start + duration, j.procs);
        self.reserved_start[job.get()] = start;
        self.by_start.insert((start, job));
        start
    }

    fn compress(&mut self, view: &SchedView) {
        let waiting: Vec<JobIdx> = self.waiting.iter().copied().collect();
        for job in waiting {
            let j = view.job(job);
            let old = self.reserved_start[job.get()];
            if old <= view.now || self.profile.max_free_before(view.now, old) < j.procs {
                continue; // cannot move earlier
            }
            let duration = planned(j);
            self.profile.release(old, old + duration, j.procs);
            self.by_start.remove(&(old, job));
            let new = self.place(job, view);
            debug_assert!(new <= old, "compression moved a reservation later");
        }
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
            self.profile
                .release(view.now, end, view.job(job).procs);
        }
        self.job_ended = true;
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        self.profile.forget_before(view.now);
        if self.job_ended {
            self.compress(view);
            self.job_ended = false;
        }
        let arrivals = std::mem::take(&mut self.arrivals);
        for &job in &arrivals {
            let at = self.place(job, view);
            self.waiting.insert(job);
            decisions.push(Decision::Reserve { job, at });
        }
        self.arrivals = arrivals;
        self.arrivals.clear();
        while let Some(&(start, job)) = self.by_start.first() {
            if start > view.now {
                break;
            }
            self.by_start.pop_first();
            self.waiting.remove(&job);
            self.estimated_end[job.get()] = start + planned(view.job(job));
            decisions.push(Decision::Start(job));
        }
    }

    fn next_wakeup(&self) -> Option<SimTime> {
        self.by_start.first().map(|&(t, _)| t)
    }
}
