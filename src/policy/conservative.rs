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
//! reservation and reaches its processors. Examining is itself cheap: a read-only scan of
//! the profile up to the job's current reservation; only jobs that move are taken out and
//! put back.

use super::profile::Profile;
use super::{Decision, Policy, SchedView};
use crate::engine::time::{SimDuration, SimTime};
use crate::workload::{Job, JobIdx};

/// The conservative backfilling policy.
pub struct Conservative {
    profile: Profile,
    /// Waiting jobs in queue order.
    waiting: Vec<JobIdx>,
    /// Reserved start of each waiting job, by job index.
    reserved_start: Vec<SimTime>,
    /// Start + planned duration of each running job, by job index.
    estimated_end: Vec<SimTime>,
    /// Arrivals since the last pass, in queue order.
    arrivals: Vec<JobIdx>,
    /// Whether a job ended since the last pass.
    job_ended: bool,
    /// Earliest reservation among the waiting jobs.
    next_start: Option<SimTime>,
    /// Rises of the profile not yet seen by every waiting job (see the module docs).
    rises: Vec<Rise>,
    /// Number of rises logged before `rises[0]`.
    rises_dropped: u64,
    /// For each waiting job, the number of rises logged when it was last placed or examined.
    rises_seen: Vec<u64>,
}

/// A rise of the profile.
#[derive(Clone, Copy, Debug)]
struct Rise {
    /// Where the raised interval starts.
    from: SimTime,
    /// The most free processors at any instant of the raised interval, just after the rise.
    max_free: u32,
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
            waiting: Vec::new(),
            reserved_start: vec![SimTime::ZERO; jobs],
            estimated_end: vec![SimTime::ZERO; jobs],
            arrivals: Vec::new(),
            job_ended: false,
            next_start: None,
            rises: Vec::new(),
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
            let max_free = self.profile.max_free(from, until);
            self.rises.push(Rise { from, max_free });
        }
    }

    /// Moves each waiting job, in queue order, to its earliest fit if that is earlier.
    fn compress(&mut self, now: SimTime, jobs: &[Job]) {
        let pass_start = self.rises_logged();
        for w in 0..self.waiting.len() {
            let job = self.waiting[w];
            let j = &jobs[job.get()];
            let old = self.reserved_start[job.get()];
            if old <= now {
                continue; // starts now: it cannot move earlier
            }
            let unseen = (self.rises_seen[job.get()] - self.rises_dropped) as usize;
            let may_move = self.rises[unseen..]
                .iter()
                .any(|r| r.from < old && r.max_free >= j.procs);
            if may_move {
                let duration = planned(j);
                if let Some(new) = self.profile.earlier_fit(now, duration, j.procs, old) {
                    self.profile.release(old, old + duration, j.procs);
                    self.profile.reserve(new, new + duration, j.procs);
                    self.reserved_start[job.get()] = new;
                    self.log_rise((new + duration).max(old), old + duration, now);
                }
            }
            self.rises_seen[job.get()] = self.rises_logged();
        }
        // Every job still waiting after this pass has seen the rises logged before it.
        let seen_by_all = (pass_start - self.rises_dropped) as usize;
        self.rises.drain(..seen_by_all);
        self.rises_dropped = pass_start;
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
            self.rises_seen[job.get()] = self.rises_logged();
            self.waiting.push(job);
            decisions.push(Decision::Reserve { job, at });
        }
        self.arrivals.clear();
        let mut next_start: Option<SimTime> = None;
        let (reserved, estimated_end) = (&self.reserved_start, &mut self.estimated_end);
        self.waiting.retain(|&job| {
            let start = reserved[job.get()];
            if start <= now {
                estimated_end[job.get()] = now + planned(view.job(job));
                decisions.push(Decision::Start(job));
                false
            } else {
                next_start = Some(next_start.map_or(start, |t: SimTime| t.min(start)));
                true
            }
        });
        self.next_start = next_start;
    }

    fn next_wakeup(&self) -> Option<SimTime> {
        self.next_start
    }
}
