//! Preemption by partition tier, as Slurm's `PreemptType=preempt/partition_prio`: a job of
//! a partition of higher priority (its *tier*) that cannot start now may make running jobs
//! of lower tiers let go of their nodes, if their partition's `preempt_mode` is not `off`.
//! The queue policies (FCFS and EASY, `backfill.rs`) use it; the machine finds the victims
//! ([`super::machine::Machine::victims_for`]).
//!
//! Semantics, at each pass (only when some partition's jobs may be preempted):
//! 1. Victims whose grace time ends now let go (requeued or cancelled), if still running.
//! 2. Jobs suspended by preemption resume, in the order they were suspended, as soon as
//!    their cores, GPUs and slices are free again on their nodes and no job of a higher
//!    tier waits (before any pending job of their tier or lower is considered: Slurm
//!    resumes a suspended job when its preemptor ends). This is tried again after the
//!    jobs started from the head in step 3, which may have been the higher tier's.
//! 3. The queue is ordered by tier (higher first), then arrival; jobs start from the head
//!    while each fits now **or by preempting**: the candidates are the running jobs of
//!    lower tiers whose partition's mode is not `off` (and not already told to let go),
//!    in the *victim order*: lowest tier first, then the most recently started (least
//!    time run in its segment, so least work lost without checkpoints), then the highest
//!    job number. The victims are the shortest prefix of that order whose release lets the
//!    placement rule place the job, narrowed to those on the chosen nodes and pruned from
//!    the last to the first while the job still fits without one. Victims with no grace
//!    time let go now and the job starts now; otherwise the job waits for the longest
//!    grace of its victims, and is tried again then in queue order. Meanwhile, under EASY,
//!    the jobs behind it are tried as if it were not there (room is being made for it: it
//!    is not the head); FCFS waits.
//!
//! **Dynamic backfill** (a pool's `suspend_idle_after_s`): in step 3 the candidates also
//! include the running sessions of such pools (other than the job's own partition, any
//! tier) whose users have been idle at least that long, as the view shows them now; they
//! come first in the victim order (suspending them loses no work) and are suspended
//! (`Decision::SuspendIdle`, memory held). They do not resume as the suspended victims of
//! step 2 do: a session suspended while idle resumes once its user is back (the engine
//! runs a pass at that instant), first of all in the pass (before step 2); if its cores,
//! GPUs and slices are taken, it preempts the lower-tier jobs on its nodes that may be
//! preempted (the fewest, in the victim order, pruned as in step 3), and resumes once they
//! let go (after their grace time, if any); what jobs that may not be preempted hold, it
//! waits for.
//!
//! The policy accounts for its victims, resumptions and starts in its own machine copy
//! within the pass, and ignores the transitions the engine then tells it of for them.

use super::machine::RunningJob;
use super::{Decision, SchedView};
use crate::cluster::nodes::{Nodes, SharePart};
use crate::cluster::spec::PreemptMode;
use crate::engine::time::{SimDuration, SimTime};
use crate::lifecycle::JobState;
use crate::workload::classes::PartitionPreemption;
use crate::workload::JobIdx;
use std::collections::{BTreeMap, BTreeSet};

/// The preemption state of a queue policy.
#[derive(Default)]
pub struct Preemption {
    /// Jobs whose preemption or resumption the policy has already accounted for in the
    /// pass that decided it: the transition it is told of next changes nothing more.
    accounted: BTreeSet<JobIdx>,
    /// Jobs suspended by preemption, by (when, job): they resume in this order.
    suspended: BTreeSet<(SimTime, JobIdx)>,
    /// When each of them was suspended (to compute its new estimated end on resuming).
    suspended_at: BTreeMap<JobIdx, SimTime>,
    /// Victims told to let go, by (when their grace ends, victim, the job they make room
    /// for, mode).
    in_grace: BTreeSet<(SimTime, JobIdx, JobIdx, PreemptMode)>,
    /// Victims in `in_grace`: not candidates again.
    leaving: BTreeSet<JobIdx>,
    /// Jobs waiting for their victims' grace, until when: they do not preempt again before.
    waiting_until: BTreeMap<JobIdx, SimTime>,
    /// Sessions suspended while idle (dynamic backfill), by (when, session): they resume
    /// once their users are back, in this order.
    parked: BTreeSet<(SimTime, JobIdx)>,
    /// When each of them was suspended.
    parked_at: BTreeMap<JobIdx, SimTime>,
    /// Those whose users have come back: they wait to resume, even if their users go
    /// idle again meanwhile.
    back: BTreeSet<JobIdx>,
}

/// How a victim lets go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// As its partition's `preempt_mode` says.
    Preempt(PreemptMode),
    /// Suspended while its user is idle (dynamic backfill).
    SuspendIdle,
}

/// What preempting for one job decided.
pub struct Preempted {
    /// The victims that let go now, each with the part of its share it gives back.
    pub let_go: Vec<(JobIdx, SharePart)>,
    /// Whether the job may start now (no victim has a grace time); otherwise it waits
    /// for the longest grace of its victims.
    pub start_now: bool,
}

/// The tier of `job`'s partition, if preemption is on.
pub fn tier_of(view: &SchedView, job: JobIdx) -> Option<i32> {
    of(view, job).map(|p| p.tier)
}

/// Whether `job` may preempt anything: some partition of a lower tier than its own may be
/// preempted, or another partition's idle sessions suspended (else no running job is ever
/// a candidate for it).
pub fn may_preempt(view: &SchedView, job: JobIdx) -> bool {
    let (Some(tier), Some((nw, _))) = (tier_of(view, job), view.nodes) else {
        return false;
    };
    let own = nw.partition_of.get(job.get()).map(|&p| p as usize);
    nw.partition_preemption.iter().enumerate().any(|(k, p)| {
        (p.tier < tier && p.mode != PreemptMode::Off)
            || (p.suspend_idle_after_ms.is_some() && Some(k) != own)
    })
}

/// Whether running `v` is a session whose user has been idle at least its pool's
/// threshold (dynamic backfill), a candidate for a pending job of another partition.
fn idle_enough(view: &SchedView, v: JobIdx, job: JobIdx) -> bool {
    let Some(threshold_ms) = of(view, v).and_then(|p| p.suspend_idle_after_ms) else {
        return false;
    };
    let same_partition = view
        .nodes
        .is_some_and(|(nw, _)| nw.partition_of.get(v.get()) == nw.partition_of.get(job.get()));
    !same_partition
        && view.job(v).kind() == crate::workload::JobKind::Interactive
        && view
            .idle_since(v)
            .is_some_and(|since| view.now.saturating_since(since).as_ms() >= threshold_ms)
}

/// A partition's preemption settings for job `job`.
fn of(view: &SchedView, job: JobIdx) -> Option<PartitionPreemption> {
    view.nodes?.0.preemption_of(job.get())
}

fn part(action: Action) -> SharePart {
    match action {
        Action::Preempt(PreemptMode::Suspend) | Action::SuspendIdle => SharePart::Compute,
        Action::Preempt(_) => SharePart::Whole,
    }
}

impl Preemption {
    /// Whether the policy has already accounted for `job`'s coming transition (and forgets
    /// it).
    pub fn accounted(&mut self, job: JobIdx) -> bool {
        self.accounted.remove(&job)
    }

    /// `job` was requeued, cancelled or failed by something else than this policy: it is
    /// no longer a suspended job to resume nor a victim to stop.
    pub fn forget(&mut self, job: JobIdx) {
        if let Some(at) = self.suspended_at.remove(&job) {
            self.suspended.remove(&(at, job));
        }
        if let Some(at) = self.parked_at.remove(&job) {
            self.parked.remove(&(at, job));
        }
        self.back.remove(&job);
    }

    /// The sessions suspended while idle whose users have come back (busy now, or at an
    /// earlier pass), in the order they were suspended (not those whose victims are in
    /// their grace time).
    pub fn users_back(&mut self, view: &SchedView) -> Vec<JobIdx> {
        let mut ready = Vec::new();
        for &(_, job) in &self.parked {
            if view.state(job) != JobState::Suspended {
                continue;
            }
            if view.idle_since(job).is_none() {
                self.back.insert(job);
            }
            if self.back.contains(&job) && !self.waiting_until.contains_key(&job) {
                ready.push(job);
            }
        }
        ready
    }

    /// Session `job`, suspended while idle, resumes now (the caller checked it fits back):
    /// the decision, and its new estimated end.
    pub fn resume_parked(
        &mut self,
        job: JobIdx,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
    ) -> SimTime {
        let at = self.parked_at.remove(&job).unwrap_or(view.now);
        self.parked.remove(&(at, job));
        self.back.remove(&job);
        decisions.push(Decision::Resume(job));
        self.accounted.insert(job);
        // The limit left when it was suspended, counted from now.
        view.now + view.estimated_end(job).saturating_since(at)
    }

    /// Whether `job` waits for its victims' grace time.
    pub fn awaits_grace(&self, job: JobIdx) -> bool {
        self.waiting_until.contains_key(&job)
    }

    /// When the policy wants a pass: the earliest end of a victim's grace.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        self.in_grace.first().map(|g| g.0)
    }

    /// Step 1 of a pass: the victims whose grace ended let go (decisions pushed). Returns
    /// them, each with the part of its share it gives back.
    pub fn end_grace(
        &mut self,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
    ) -> Vec<(JobIdx, SharePart)> {
        let mut let_go = Vec::new();
        while let Some(&(at, victim, by, mode)) = self.in_grace.first() {
            if at > view.now {
                break;
            }
            self.in_grace.pop_first();
            self.leaving.remove(&victim);
            // For a pending job, or a session suspended while idle whose user is back.
            let still_wanted = view.state(by) == JobState::Pending
                || (view.state(by) == JobState::Suspended && self.parked_at.contains_key(&by));
            if view.state(victim) == JobState::Running && still_wanted {
                decisions.push(Decision::Preempt {
                    job: victim,
                    by,
                    mode,
                });
                self.accounted.insert(victim);
                let_go.push((victim, part(Action::Preempt(mode))));
            }
        }
        self.waiting_until.retain(|_, until| *until > view.now);
        let_go
    }

    /// Step 2 of a pass (again after the jobs started from the head): the suspended jobs
    /// that fit back (as `fits_back` says, taking each resumption in turn) resume, unless
    /// a job of a higher tier waits (the queue's head, of tier `head_tier`): a suspended
    /// job never takes what a waiting job of a higher tier needs. Returns them with their
    /// new estimated ends.
    pub fn resume(
        &mut self,
        view: &SchedView,
        head_tier: Option<i32>,
        decisions: &mut Vec<Decision>,
        mut fits_back: impl FnMut(JobIdx) -> bool,
    ) -> Vec<(JobIdx, SimTime)> {
        let mut resumed = Vec::new();
        let suspended: Vec<(SimTime, JobIdx)> = self.suspended.iter().copied().collect();
        for (at, job) in suspended {
            let tier = of(view, job).map_or(i32::MIN, |p| p.tier);
            if view.state(job) == JobState::Suspended
                && head_tier.is_none_or(|t| t <= tier)
                && fits_back(job)
            {
                self.suspended.remove(&(at, job));
                self.suspended_at.remove(&job);
                // The limit left when it was suspended, counted from now.
                let left = view.estimated_end(job).saturating_since(at);
                decisions.push(Decision::Resume(job));
                self.accounted.insert(job);
                resumed.push((job, view.now + left));
            }
        }
        resumed
    }

    /// Step 3 for `job`, which cannot start now (or a session suspended while idle whose
    /// user is back and that does not fit back): finds its victims among `running` (what
    /// the policy counts as running, in any order) through `victims_for`, and tells them.
    /// `None` if the job preempts nothing (it is not of a higher tier than any preemptible
    /// job, it waits for its victims' grace, or even every candidate would not do). Idle
    /// sessions are candidates for a pending job only.
    pub fn preempt_for(
        &mut self,
        job: JobIdx,
        running: &BTreeSet<RunningJob>,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
        victims_for: impl FnOnce(&[(JobIdx, SharePart)]) -> Option<Vec<usize>>,
    ) -> Option<Preempted> {
        if self.waiting_until.contains_key(&job) {
            return None;
        }
        if !may_preempt(view, job) {
            return None;
        }
        let tier = of(view, job)?.tier;
        // A victim must hold some node the job may use.
        let (nw, nodes) = view.nodes?;
        let request = &nw.requests[job.get()];
        let usable = |v: JobIdx| {
            view.allocation(v)
                .iter()
                .any(|&n| Nodes::allowed(request, nodes.type_index(n)))
        };
        let pending = view.state(job) == JobState::Pending;
        // (idle sessions first, tier, the segment's start, latest first, highest job first)
        // → victim order; with each, how it lets go.
        type Rank = (
            bool,
            i32,
            std::cmp::Reverse<SimTime>,
            std::cmp::Reverse<JobIdx>,
        );
        let mut candidates: Vec<(Rank, Action)> = running
            .iter()
            .filter_map(|&(_, v, _)| {
                let p = of(view, v)?;
                if view.state(v) != JobState::Running || self.leaving.contains(&v) || !usable(v) {
                    return None;
                }
                let action = if pending && idle_enough(view, v, job) {
                    Action::SuspendIdle
                } else if p.tier < tier && p.mode != PreemptMode::Off {
                    Action::Preempt(p.mode)
                } else {
                    return None;
                };
                let rank = (
                    action != Action::SuspendIdle,
                    p.tier,
                    std::cmp::Reverse(view.segment_start(v)),
                    std::cmp::Reverse(v),
                );
                Some((rank, action))
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        candidates.sort_unstable_by_key(|c| c.0);
        let parts: Vec<(JobIdx, SharePart)> = candidates
            .iter()
            .map(|(rank, action)| (rank.3 .0, part(*action)))
            .collect();
        let chosen = victims_for(&parts)?;
        let mut now = Vec::new();
        let mut until = view.now;
        for i in chosen {
            let victim = parts[i].0;
            let mode = match candidates[i].1 {
                Action::SuspendIdle => {
                    decisions.push(Decision::SuspendIdle {
                        job: victim,
                        by: job,
                    });
                    self.accounted.insert(victim);
                    self.parked.insert((view.now, victim));
                    self.parked_at.insert(victim, view.now);
                    now.push(parts[i]);
                    continue;
                }
                Action::Preempt(mode) => mode,
            };
            let grace_ms = match mode {
                PreemptMode::Suspend => 0,
                _ => of(view, victim).map_or(0, |p| p.grace_ms),
            };
            if grace_ms == 0 {
                decisions.push(Decision::Preempt {
                    job: victim,
                    by: job,
                    mode,
                });
                self.accounted.insert(victim);
                if mode == PreemptMode::Suspend {
                    self.suspended.insert((view.now, victim));
                    self.suspended_at.insert(victim, view.now);
                }
                now.push(parts[i]);
            } else {
                let at = view.now + SimDuration::from_ms(grace_ms);
                self.in_grace.insert((at, victim, job, mode));
                self.leaving.insert(victim);
                until = until.max(at);
            }
        }
        let start_now = until == view.now;
        if !start_now {
            // Those without grace let go now all the same; the job waits for the others.
            self.waiting_until.insert(job, until);
        }
        Some(Preempted {
            let_go: now,
            start_now,
        })
    }
}
