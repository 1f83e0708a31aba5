//! EASY backfilling (Mu'alem & Feitelson, 2001).
//!
//! Semantics of one pass at instant `now`, with `free` processors:
//! 1. Start jobs from the head of the queue while they fit.
//! 2. If a job is still waiting, the first one (the *head*) gets a reservation at the
//!    *shadow time*: the earliest estimated end of a running job at which enough processors
//!    are free for it, counting running jobs by `start + estimate`. The *extra* processors
//!    are those free at the shadow time (counting **every** running job whose estimated end
//!    is at or before it) beyond what the head needs.
//! 3. Then, in queue order, every other waiting job that fits in `free` starts if either it
//!    ends by its estimate no later than the shadow time (`now + estimate ≤ shadow`: ending
//!    exactly at the shadow time is allowed), or it needs no more than the extra processors,
//!    which it then consumes. Each start reduces `free`.
//!
//! Because estimates are never below runtimes, a backfilled job never delays the head
//! beyond its reservation (the engine records each head's first reservation; the invariant
//! checker verifies it).
//!
//! Cost: a pass after an instant with only arrivals (no job ended) examines only the new
//! arrivals: the head, the shadow time, `free` and the extra processors are unchanged since
//! the previous pass, and every job that failed then still fails. A pass after a job ended
//! rescans the queue with [`WaitQueue`]'s pruning, jumping over jobs that cannot fit.

use super::wait_queue::WaitQueue;
use super::{Decision, Policy, SchedView};
use crate::engine::time::{SimDuration, SimTime};
use crate::lifecycle::{Outcome, Transition};
use crate::workload::JobIdx;

/// The head's reservation as computed by the last pass, and what is left of the extra
/// processors after that pass's backfilling.
#[derive(Clone, Copy, Debug)]
struct HeadReservation {
    head: JobIdx,
    shadow: SimTime,
    extra: u32,
}

/// The EASY policy.
#[derive(Default)]
pub struct Easy {
    queue: WaitQueue,
    /// Running jobs as `(estimated end, index, processors)`, sorted: the order the shadow
    /// time is computed in. A sorted vector rather than a `BTreeSet`: the running set is
    /// small (the machine bounds it) and the shadow computation walks it at every pass
    /// after a completion, which is far cheaper over contiguous memory (measured).
    running: Vec<(SimTime, JobIdx, u32)>,
    /// Arrivals since the last pass, in queue order.
    arrivals: Vec<JobIdx>,
    /// Whether a job ended since the last pass (resources changed: rescan everything).
    job_ended: bool,
    /// State left by the last pass, valid while no job ends.
    last: Option<HeadReservation>,
    /// The head for which a reservation was last announced.
    announced_head: Option<JobIdx>,
}

impl Easy {
    /// A policy with an empty queue.
    pub fn new() -> Self {
        Easy {
            queue: WaitQueue::new(),
            running: Vec::new(),
            arrivals: Vec::new(),
            job_ended: false,
            last: None,
            announced_head: None,
        }
    }

    fn start(&mut self, job: JobIdx, view: &SchedView, decisions: &mut Vec<Decision>) {
        // The engine will file the job under the same estimated end (now + its limit).
        let end = view.now + view.job(job).estimate();
        self.run(job, end, view.job(job).procs());
        self.queue.remove(job);
        decisions.push(Decision::Start(job));
    }

    /// Counts `job` as running until `end`.
    fn run(&mut self, job: JobIdx, end: SimTime, procs: u32) {
        let at = self
            .running
            .partition_point(|&(e, i, _)| (e, i) < (end, job));
        self.running.insert(at, (end, job, procs));
    }

    /// Forgets `job` wherever it is: in the queue, or running (filed under the estimated
    /// end the engine shows for its last segment). A suspended job is in neither.
    fn forget(&mut self, job: JobIdx, view: &SchedView) {
        if self.queue.contains(job) {
            self.queue.remove(job);
            return;
        }
        self.stop_running(job, view);
    }

    /// Stops counting `job` as running (if it is).
    fn stop_running(&mut self, job: JobIdx, view: &SchedView) {
        let key = (view.estimated_end(job), job);
        if let Ok(at) = self.running.binary_search_by(|&(e, i, _)| (e, i).cmp(&key)) {
            self.running.remove(at);
        }
    }

    /// Shadow time and extra processors for a head needing `need` with `free` free now.
    fn shadow(&self, view: &SchedView, need: u32, free: u32) -> (SimTime, u32) {
        let mut available = u64::from(free);
        let need = u64::from(need);
        let mut shadow: Option<SimTime> = None;
        for &(end, _, procs) in &self.running {
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
        (shadow, extra)
    }

    /// Whether a job with these needs may backfill now.
    fn may_backfill(procs: u64, estimate_ms: u64, free: u32, window_ms: u64, extra: u32) -> bool {
        procs <= u64::from(free) && (estimate_ms <= window_ms || procs <= u64::from(extra))
    }

    /// Starts `job` as a backfilled job; returns the extra processors left.
    fn backfill(
        &mut self,
        job: JobIdx,
        window: SimDuration,
        extra: u32,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
    ) -> u32 {
        let j = view.job(job);
        let ends_by_shadow = j.estimate() <= window;
        let procs = j.procs();
        self.start(job, view, decisions);
        if ends_by_shadow {
            extra
        } else {
            extra - procs
        }
    }

    fn full_pass(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let mut free = view.cluster.free();
        while let Some(head) = self.queue.first() {
            let procs = view.job(head).procs();
            if procs > free {
                break;
            }
            free -= procs;
            self.start(head, view, decisions);
        }
        let Some(head) = self.queue.first() else {
            self.last = None;
            return;
        };
        let (shadow, mut extra) = self.shadow(view, view.job(head).procs(), free);
        if self.announced_head != Some(head) {
            self.announced_head = Some(head);
            decisions.push(Decision::Reserve {
                job: head,
                at: shadow,
            });
        }
        let window = shadow.saturating_since(view.now);
        let mut from = head.get() + 1;
        // The cheapest test first: does any waiting job fit in the free processors at all?
        while free > 0 && self.queue.min_procs() <= u64::from(free) {
            let candidate = self.queue.find_from(from, |procs, est| {
                Self::may_backfill(procs, est, free, window.as_ms(), extra)
            });
            let Some(job) = candidate else { break };
            free -= view.job(job).procs();
            extra = self.backfill(job, window, extra, view, decisions);
            from = job.get() + 1;
        }
        self.last = Some(HeadReservation {
            head,
            shadow,
            extra,
        });
    }
}

impl Policy for Easy {
    fn label(&self) -> String {
        "easy".to_string()
    }

    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView) {
        match transition {
            Transition::Pending => {
                let j = view.job(job);
                self.queue.insert(job, j.procs(), j.estimate().as_ms());
                self.arrivals.push(job);
            }
            Transition::Started => {}
            // Resources were freed or the queue changed: the next pass rescans.
            Transition::Ended(Outcome::Completed | Outcome::Timeout | Outcome::Failed)
            | Transition::Suspended => {
                self.stop_running(job, view);
                self.job_ended = true;
            }
            Transition::Ended(Outcome::Cancelled | Outcome::Abandoned) => {
                self.forget(job, view);
                self.job_ended = true;
            }
            Transition::Requeued => {
                // Back in the queue at its place.
                self.forget(job, view);
                let j = view.job(job);
                self.queue.insert(job, j.procs(), j.estimate().as_ms());
                self.job_ended = true;
            }
            Transition::Resumed => {
                self.run(job, view.estimated_end(job), view.job(job).procs());
                self.job_ended = true;
            }
        }
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        match self.last {
            Some(last) if !self.job_ended => {
                // Only arrivals since the last pass: the head is still blocked with the same
                // shadow time and extra processors; only the new jobs can backfill.
                debug_assert_eq!(self.queue.first(), Some(last.head));
                let mut free = view.cluster.free();
                let mut extra = last.extra;
                let window = last.shadow.saturating_since(view.now);
                let arrivals = std::mem::take(&mut self.arrivals);
                for &job in &arrivals {
                    let j = view.job(job);
                    if Self::may_backfill(
                        u64::from(j.procs()),
                        j.estimate().as_ms(),
                        free,
                        window.as_ms(),
                        extra,
                    ) {
                        free -= j.procs();
                        extra = self.backfill(job, window, extra, view, decisions);
                    }
                }
                self.arrivals = arrivals;
                self.last = Some(HeadReservation { extra, ..last });
            }
            _ => self.full_pass(view, decisions),
        }
        self.arrivals.clear();
        self.job_ended = false;
    }
}
