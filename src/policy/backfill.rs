//! First come, first served, and EASY backfilling (Mu'alem & Feitelson, 2001): one
//! algorithm for every machine ([`Machine`]: processors anywhere, or nodes placed by a
//! placement rule), in the queue order of one [`Priority`].
//!
//! Semantics of one pass at instant `now`:
//! 1. Start jobs from the head of the queue while they fit (on nodes: while the placement
//!    rule finds nodes for them).
//! 2. **fcfs** stops there: no job ever overtakes another.
//! 3. **easy**: if a job is still waiting, the first one (the *head*) gets a reservation:
//!    the earliest estimated end of a running job (running jobs counted by segment start +
//!    time limit, earliest first, ties by job) at which, with every running job ending by
//!    then gone, the head fits. What the reservation withholds:
//!    - processors anywhere: the *extra* processors, those free at the reservation (counting
//!      **every** running job whose estimated end is at or before it) beyond the head's need;
//!    - nodes: the *reserved nodes*, the node set the placement rule would give the head
//!      then.
//! 4. Then, in queue order, every other waiting job starts now if it fits now and either it
//!    ends by its estimate no later than the reservation (`now + estimate ≤ reservation`:
//!    ending exactly then is allowed), or it fits outside what the reservation withholds
//!    (within the extra processors, which it then consumes; on nodes not in the reserved
//!    set). A backfilled job therefore never delays the head beyond its reservation (the
//!    engine records each head's first reservation; the invariant checker verifies it).
//!
//! Preemption (when a partition's jobs may be preempted; `preemption.rs`): the queue is in
//! tier order, step 1 starts a job that does not fit now by preempting lower tiers if it
//! can, and suspended victims resume before it; under EASY a job waiting for its victims'
//! grace time is passed over (the head is the first blocked job after it).
//!
//! Lifecycle: a suspended job's cores and GPUs are free (its memory is not); a resumed job
//! counts again from its resumption to its new estimated end; a requeued job goes back in
//! the queue at its key; a cancelled or abandoned job leaves the queue.
//!
//! Cost: a pass after an instant with only arrivals (no job ended, the head unchanged)
//! examines only the new arrivals: the head, its reservation and what is left of what it
//! withholds are unchanged since the previous pass, and every job that failed then still
//! fails. A pass after a job ended rescans the queue through [`WaitQueue`], which jumps over
//! runs of jobs that [`Machine::may_backfill`] rules out, and stops when
//! [`Machine::backfill_exhausted`] says nothing more fits.

use super::machine::{Machine, RunningJob};
use super::preemption::Preemption;
use super::priority::{queue_key, ArrivalOrder, Priority, QueueKey};
use super::wait_queue::WaitQueue;
use super::{Allocation, Decision, Policy, PolicyKind, SchedView};
use crate::cluster::nodes::{NodeState, SharePart};
use crate::engine::time::{SimDuration, SimTime, CLOCK_LIMIT};
use crate::lifecycle::{Outcome, Transition};
use crate::workload::JobIdx;
use std::collections::BTreeSet;

/// Whether jobs may overtake the blocked head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backfilling {
    /// No: first come, first served.
    Off,
    /// EASY: one reservation, for the head.
    Easy,
}

/// The state the last pass left, valid while no job ends and the head stays.
struct LastPass<R> {
    head: JobIdx,
    /// EASY's reservation for the head and what is left of what it withholds after that
    /// pass's backfilling (`None` under fcfs, or if the head never fits).
    reservation: Option<(SimTime, R)>,
}

/// FCFS or EASY on machine `M`, in the order of priority `P`.
pub struct QueuePolicy<M: Machine, P: Priority = ArrivalOrder> {
    backfilling: Backfilling,
    machine: M,
    priority: P,
    queue: WaitQueue,
    /// Running jobs by (estimated end, job): the order the reservation is computed in.
    running: BTreeSet<RunningJob>,
    /// Arrivals since the last pass, in queue order.
    arrivals: Vec<JobIdx>,
    /// A job ended (or was suspended, resumed, requeued) since the last pass: resources
    /// changed, so rescan everything.
    job_ended: bool,
    last: Option<LastPass<M::Reserved>>,
    /// The head for which a reservation was last announced.
    announced_head: Option<JobIdx>,
    /// Preemption's state, when some partition's jobs may be preempted.
    preemption: Option<Preemption>,
    /// Under a controller's pass: how many more jobs it may test (`None`: no limit, and
    /// nothing recorded).
    test_budget: Option<u32>,
    /// The jobs the controller's pass tested, in order.
    tested: Vec<JobIdx>,
    /// Whether the pass stopped at its limit with a job left to test.
    budget_hit: bool,
    /// Under a controller's backfill pass: the plan's resolution and window.
    plan: Option<(SimDuration, SimDuration)>,
    /// When the last controller pass ran (`None` without a controller): the jobs it
    /// started are filed as running from then until their launch tells their real start.
    pass_at: Option<SimTime>,
}

impl<M: Machine> QueuePolicy<M> {
    /// A policy with an empty queue in arrival order.
    pub fn new(backfilling: Backfilling, machine: M) -> Self {
        QueuePolicy::with_priority(backfilling, machine, ArrivalOrder)
    }
}

impl<M: Machine, P: Priority> QueuePolicy<M, P> {
    /// A policy with an empty queue in the order of `priority`.
    pub fn with_priority(backfilling: Backfilling, machine: M, priority: P) -> Self {
        QueuePolicy {
            backfilling,
            machine,
            priority,
            queue: WaitQueue::new(),
            running: BTreeSet::new(),
            arrivals: Vec::new(),
            job_ended: false,
            last: None,
            announced_head: None,
            preemption: None,
            test_budget: None,
            tested: Vec::new(),
            budget_hit: false,
            pass_at: None,
            plan: None,
        }
    }

    /// The policy with preemption by partition tier (`preemption.rs`): the head of the
    /// queue may make lower-tier jobs let go of their nodes. Use it with [`TierOrder`].
    ///
    /// [`TierOrder`]: super::priority::TierOrder
    pub fn with_preemption(mut self) -> Self {
        self.preemption = Some(Preemption::default());
        self
    }

    fn key(&self, job: JobIdx, view: &SchedView) -> QueueKey {
        queue_key(&self.priority, job, view.job(job))
    }

    fn enqueue(&mut self, job: JobIdx, view: &SchedView) {
        let j = view.job(job);
        self.queue
            .insert(self.key(job, view), j.procs(), j.estimate().as_ms());
        self.machine.entered_queue(job);
        self.arrivals.push(job);
    }

    /// Starts `job` (placed by the machine): out of the queue, counted as running until
    /// its estimated end, which the engine files it under too (now + its limit).
    fn start(
        &mut self,
        job: JobIdx,
        placement: M::Placement,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
    ) {
        let j = view.job(job);
        self.queue.remove(self.key(job, view));
        self.machine.left_queue(job);
        self.run(job, view.now + j.estimate(), j.procs());
        decisions.push(placement.start(job));
    }

    /// Counts `job` as running until `end`.
    fn run(&mut self, job: JobIdx, end: SimTime, procs: u32) {
        self.running.insert((end, job, procs));
    }

    /// Stops counting `job` as running (filed under the estimated end the engine shows for
    /// its last segment); false if it was not.
    fn stop_running(&mut self, job: JobIdx, view: &SchedView) -> bool {
        self.running
            .remove(&(view.estimated_end(job), job, view.job(job).procs()))
    }

    /// `job` lets go of everything: it leaves the queue, or stops running, or (suspended)
    /// gives back the memory it kept.
    fn let_go(&mut self, job: JobIdx, view: &SchedView) {
        let key = self.key(job, view);
        if self.queue.contains(key) {
            self.queue.remove(key);
            self.machine.left_queue(job);
        } else if self.stop_running(job, view) {
            self.machine.give_back(job, SharePart::Whole, view);
        } else {
            self.machine.give_back(job, SharePart::Memory, view);
        }
    }

    /// Tries `job` behind the head; true if it started.
    fn try_backfill(
        &mut self,
        job: JobIdx,
        shadow: SimTime,
        reserved: &mut M::Reserved,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
    ) -> bool {
        let window = shadow.saturating_since(view.now);
        let ends_in_time = view.job(job).estimate() <= window;
        match self
            .machine
            .place_backfill(job, ends_in_time, reserved, view)
        {
            Some(placement) => {
                self.start(job, placement, view, decisions);
                true
            }
            None => false,
        }
    }

    /// Preemption's first step at a pass: victims whose grace ended let go. Taken in the
    /// machine copy now.
    fn end_grace(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let Some(p) = self.preemption.as_mut() else {
            return;
        };
        for (victim, part) in p.end_grace(view, decisions) {
            self.stop_running(victim, view);
            self.machine.give_back(victim, part, view);
        }
    }

    /// Preemption's second step: sessions suspended while idle whose users are back
    /// resume first (preempting what holds their nodes if they must), then suspended
    /// victims that fit back resume, unless a job of a higher tier waits. Taken in the
    /// machine copy now.
    fn resume_suspended(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let Some(p) = self.preemption.as_mut() else {
            return;
        };
        for session in p.users_back(view) {
            let p = self.preemption.as_mut().expect("preemption is on");
            if !self.machine.fits_back(session, view) {
                let machine = &self.machine;
                let made_room = p.preempt_for(session, &self.running, view, decisions, |c| {
                    machine.victims_to_fit_back(session, c, view)
                });
                for (victim, part) in made_room.map(|done| done.let_go).unwrap_or_default() {
                    self.stop_running(victim, view);
                    self.machine.give_back(victim, part, view);
                }
                if !self.machine.fits_back(session, view) {
                    // It waits for its victims' grace, or for jobs that may not be preempted.
                    continue;
                }
            }
            let p = self.preemption.as_mut().expect("preemption is on");
            let end = p.resume_parked(session, view, decisions);
            self.machine.take_back(session, view);
            self.run(session, end, view.job(session).procs());
        }
        let Some(p) = self.preemption.as_mut() else {
            return;
        };
        let machine = &mut self.machine;
        let head_tier = self
            .queue
            .first()
            .and_then(|k| super::preemption::tier_of(view, k.job));
        let resumed = p.resume(view, head_tier, decisions, |job| {
            let fits = machine.fits_back(job, view);
            if fits {
                machine.take_back(job, view);
            }
            fits
        });
        for (job, end) in resumed {
            self.run(job, end, view.job(job).procs());
        }
    }

    /// `job` cannot start now: preempts for it if it may; true if it started.
    fn preempt(&mut self, job: JobIdx, view: &SchedView, decisions: &mut Vec<Decision>) -> bool {
        let Some(p) = self.preemption.as_mut() else {
            return false;
        };
        let machine = &self.machine;
        let Some(done) = p.preempt_for(job, &self.running, view, decisions, |candidates| {
            machine.victims_for(job, candidates, view)
        }) else {
            return false;
        };
        for (victim, part) in done.let_go {
            self.stop_running(victim, view);
            self.machine.give_back(victim, part, view);
        }
        if !done.start_now {
            return false;
        }
        match self.machine.place_now(job, view) {
            Some(placement) => {
                self.start(job, placement, view, decisions);
                true
            }
            None => {
                debug_assert!(false, "the victims' release leaves room for the job");
                false
            }
        }
    }

    /// Under a controller's pass, whether `job` may still be tested (it is then counted and
    /// recorded); always true otherwise.
    #[inline]
    fn take_test(&mut self, job: JobIdx) -> bool {
        match &mut self.test_budget {
            None => true,
            Some(0) => {
                self.budget_hit = true;
                false
            }
            Some(left) => {
                *left -= 1;
                self.tested.push(job);
                true
            }
        }
    }

    /// The controller's main loop: from the head, each job tested is started if it fits
    /// now; one that does not blocks its partition, whose later jobs are skipped, not
    /// tested (Slurm's main scheduler); the walk ends once every partition is blocked. No
    /// reservation, no backfilling.
    fn main_pass(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        let partition_of = |job: JobIdx| {
            view.nodes
                .and_then(|(nw, _)| nw.partition_of.get(job.get()).copied())
                .unwrap_or(0)
        };
        let partitions = view.nodes.map_or(1, |(nw, _)| nw.partitions.len().max(1));
        let mut blocked: BTreeSet<u16> = BTreeSet::new();
        let mut from = QueueKey::FIRST;
        while let Some(key) = self.queue.find_from(from, |_, _| true) {
            from = key.next();
            let partition = partition_of(key.job);
            if blocked.contains(&partition) {
                continue;
            }
            if !self.take_test(key.job) {
                break;
            }
            match self.machine.place_now(key.job, view) {
                Some(placement) => self.start(key.job, placement, view, decisions),
                None => {
                    blocked.insert(partition);
                    if blocked.len() >= partitions {
                        break;
                    }
                }
            }
        }
    }

    fn full_pass(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        // Under EASY a job waiting for its victims' grace is passed over (room is being made
        // for it): the head is the first job after it that cannot start. FCFS waits.
        let pass_over = |policy: &Self, job: JobIdx| {
            policy.backfilling == Backfilling::Easy
                && policy
                    .preemption
                    .as_ref()
                    .is_some_and(|p| p.awaits_grace(job))
        };
        let mut from = QueueKey::FIRST;
        let head = loop {
            // From the front (nearly always: only a job waiting for grace moves it) the
            // queue's first key needs no search.
            let next = if from == QueueKey::FIRST {
                self.queue.first()
            } else {
                self.queue.find_from(from, |_, _| true)
            };
            let Some(key) = next else {
                break None;
            };
            if !self.take_test(key.job) {
                // A controller's pass at its limit: no head, no reservation.
                break None;
            }
            match self.machine.place_now(key.job, view) {
                Some(placement) => self.start(key.job, placement, view, decisions),
                None if self.preempt(key.job, view, decisions) => {}
                None if pass_over(self, key.job) => from = key.next(),
                None => break Some(key),
            }
        };
        self.resume_suspended(view, decisions);
        self.last = head.map(|head_key| LastPass {
            head: head_key.job,
            reservation: match self.backfilling {
                Backfilling::Off => None,
                Backfilling::Easy => self.backfill(head_key, view, decisions),
            },
        });
    }

    /// EASY behind the blocked head: its reservation, then every waiting job after it that
    /// may start now without delaying it. Returns the reservation and what is left of what
    /// it withholds (the end of the clock and nothing, if the head fits on no nodes in
    /// service).
    fn backfill(
        &mut self,
        head_key: QueueKey,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
    ) -> Option<(SimTime, M::Reserved)> {
        let head = head_key.job;
        // Under a controller's backfill pass, the plan's window and resolution: a head that
        // cannot start within the window gets no reservation (as one that fits nowhere),
        // and the reservation is rounded up to the resolution.
        let planned = self
            .machine
            .reserve(head, &self.running, view)
            .and_then(|(at, reserved)| match self.plan {
                None => Some((at, reserved)),
                Some((resolution, window)) => {
                    let ahead = at.saturating_since(view.now);
                    (ahead <= window).then(|| {
                        let step = resolution.as_ms().max(1);
                        let rounded = ahead.as_ms().div_ceil(step).saturating_mul(step);
                        (view.now + SimDuration::from_ms(rounded), reserved)
                    })
                }
            });
        let (shadow, mut reserved) = match planned {
            Some(reservation) => {
                if self.announced_head != Some(head) {
                    self.announced_head = Some(head);
                    decisions.push(Decision::Reserve {
                        job: head,
                        at: reservation.0,
                    });
                }
                reservation
            }
            // The head fits on no nodes in service, even once every running job is gone
            // (nodes are down): it waits without a reservation, as Slurm's backfill skips
            // a job whose nodes are unavailable, and every job behind it may start if it
            // fits now. Only a node coming back can change that, and it makes a full pass.
            None => (CLOCK_LIMIT, self.machine.no_reservation()),
        };
        let window = shadow.saturating_since(view.now);
        let mut from = self.queue.cursor_at(head_key.next());
        // The cheapest test first: might any waiting job fit at all?
        while self.machine.may_backfill(
            self.queue.min_procs(),
            self.queue.min_estimate_ms(),
            window,
            &reserved,
        ) {
            let machine = &self.machine;
            let candidate = self.queue.find_at(from, |procs, estimate_ms| {
                machine.may_backfill(procs, estimate_ms, window, &reserved)
            });
            let Some((key, next)) = candidate else { break };
            if !self.take_test(key.job) {
                break;
            }
            if !self.try_backfill(key.job, shadow, &mut reserved, view, decisions)
                && self.machine.backfill_exhausted(head)
            {
                break;
            }
            from = next;
        }
        Some((shadow, reserved))
    }

    /// A pass after arrivals only, with the head unchanged: it is still blocked with the
    /// same reservation; only the new jobs can backfill.
    fn arrivals_pass(
        &mut self,
        last: LastPass<M::Reserved>,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
    ) {
        let LastPass {
            head,
            reservation: Some((shadow, mut reserved)),
        } = last
        else {
            self.last = Some(last);
            return;
        };
        let arrivals = std::mem::take(&mut self.arrivals);
        for &job in &arrivals {
            if job == head || !self.queue.contains(self.key(job, view)) {
                continue;
            }
            if !self.try_backfill(job, shadow, &mut reserved, view, decisions)
                && self.machine.backfill_exhausted(head)
            {
                break;
            }
        }
        self.arrivals = arrivals;
        self.last = Some(LastPass {
            head,
            reservation: Some((shadow, reserved)),
        });
    }
}

impl<M: Machine, P: Priority> Policy for QueuePolicy<M, P> {
    fn label(&self) -> String {
        match self.backfilling {
            Backfilling::Off => PolicyKind::Fcfs,
            Backfilling::Easy => PolicyKind::Easy,
        }
        .as_str()
        .to_string()
    }

    fn on_transition(&mut self, job: JobIdx, transition: Transition, view: &SchedView) {
        if let Some(p) = self.preemption.as_mut() {
            if p.accounted(job) {
                // Its preemption or resumption was taken in the pass that decided it.
                debug_assert!(
                    transition != Transition::Resumed
                        || self.running.contains(&(
                            view.estimated_end(job),
                            job,
                            view.job(job).procs()
                        )),
                    "a resumed job is filed under the end the engine gives it"
                );
                if transition == Transition::Requeued {
                    self.enqueue(job, view);
                }
                self.job_ended = true;
                return;
            }
            if matches!(transition, Transition::Requeued | Transition::Ended(_)) {
                p.forget(job);
            }
        }
        match transition {
            Transition::Pending => self.enqueue(job, view),
            Transition::Started => {
                // Launched after the controller's pass that decided it (the pass's cost):
                // filed again under the end its real start gives it.
                if let Some(pass_at) = self.pass_at.filter(|&at| at != view.now) {
                    let j = view.job(job);
                    let decided = (pass_at + j.estimate(), job, j.procs());
                    if self.running.remove(&decided) {
                        self.run(job, view.estimated_end(job), j.procs());
                    }
                }
            }
            // Resources were freed or the queue changed: the next pass rescans.
            Transition::Ended(Outcome::Completed | Outcome::Timeout | Outcome::Failed) => {
                if self.stop_running(job, view) {
                    self.machine.give_back(job, SharePart::Whole, view);
                } else if transition == Transition::Ended(Outcome::Completed) {
                    // A session suspended while idle that reached its end (its user left):
                    // the memory it kept.
                    self.machine.give_back(job, SharePart::Memory, view);
                }
                self.job_ended = true;
            }
            // A suspended job keeps its memory; it is not waiting.
            Transition::Suspended => {
                if self.stop_running(job, view) {
                    self.machine.give_back(job, SharePart::Compute, view);
                }
                self.job_ended = true;
            }
            Transition::Ended(Outcome::Cancelled | Outcome::Abandoned) => {
                self.let_go(job, view);
                self.job_ended = true;
            }
            Transition::Requeued => {
                // Everything it held is free; back in the queue at its key.
                self.let_go(job, view);
                self.enqueue(job, view);
                self.job_ended = true;
            }
            Transition::Resumed => {
                self.machine.take_back(job, view);
                self.run(job, view.estimated_end(job), view.job(job).procs());
                self.job_ended = true;
            }
        }
    }

    fn next_wakeup(&self) -> Option<SimTime> {
        let grace = self.preemption.as_ref().and_then(Preemption::next_wakeup);
        match (grace, self.machine.next_wakeup()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn backfills(&self) -> bool {
        self.backfilling == Backfilling::Easy
    }

    fn controller_pass(
        &mut self,
        view: &SchedView,
        decisions: &mut Vec<Decision>,
        pass: crate::controller::PassKind,
        tested: &mut Vec<JobIdx>,
    ) -> Option<bool> {
        use crate::controller::PassKind;
        self.machine.begin_pass(view);
        // Every controller pass starts from the head: the leaf-switch waits that lapsed
        // need no flag.
        self.machine.constraints_lapsed(view.now);
        self.queue.compact_if_sparse();
        self.budget_hit = false;
        self.pass_at = Some(view.now);
        match pass {
            PassKind::Main { depth } => {
                self.test_budget = Some(depth);
                self.main_pass(view, decisions);
            }
            PassKind::Backfill {
                max_job_test,
                resolution,
                window,
            } => {
                self.test_budget = Some(max_job_test);
                self.plan = Some((resolution, window));
                self.full_pass(view, decisions);
                self.plan = None;
            }
        }
        self.test_budget = None;
        // The next pass starts from the head again (no arrivals-only shortcut).
        self.last = None;
        self.machine.end_pass();
        self.arrivals.clear();
        self.job_ended = false;
        tested.append(&mut self.tested);
        Some(self.budget_hit)
    }

    fn launch_dropped(&mut self, job: JobIdx, nodes: &[u32], view: &SchedView) {
        let j = view.job(job);
        let pass_at = self.pass_at.unwrap_or(view.now);
        let removed = self
            .running
            .remove(&(pass_at + j.estimate(), job, j.procs()));
        debug_assert!(
            removed,
            "a dropped start was filed as running from its pass"
        );
        self.machine.unplace(job, nodes, view);
        self.enqueue(job, view);
        self.job_ended = true;
    }

    fn on_node_change(&mut self, node: u32, state: NodeState, _view: &SchedView) {
        self.machine.node_changed(node, state);
        // The head's reservation may have been on it, or may now be earlier.
        self.job_ended = true;
    }

    fn schedule(&mut self, view: &SchedView, decisions: &mut Vec<Decision>) {
        self.machine.begin_pass(view);
        if self.machine.constraints_lapsed(view.now) {
            // A job that waited for fewer leaf switches may now take any: try everyone.
            self.job_ended = true;
        }
        self.end_grace(view, decisions);
        self.resume_suspended(view, decisions);
        self.queue.compact_if_sparse();
        let head = self.queue.first().map(|k| k.job);
        match self.last.take() {
            // A blocked head that may preempt gets a full pass: it may preempt jobs
            // started since.
            Some(last)
                if !self.job_ended
                    && Some(last.head) == head
                    && !(self.preemption.is_some()
                        && head.is_some_and(|h| super::preemption::may_preempt(view, h))) =>
            {
                self.arrivals_pass(last, view, decisions)
            }
            _ => self.full_pass(view, decisions),
        }
        self.machine.end_pass();
        self.arrivals.clear();
        self.job_ended = false;
    }
}
