//! What conservative backfilling needs of a machine's future: when a job fits, and where.
//!
//! An [`Availability`] is the free resources over time, given the running jobs until their
//! estimated ends and every reservation held. [`ProcessorAvailability`] is a count of free
//! processors (jobs of processors anywhere); the per-node one lives in `node_profile.rs`.

use super::profile::Profile;
use super::{Allocation, SchedView};
use crate::cluster::nodes::NodeState;
use crate::engine::time::{SimDuration, SimTime};
use crate::workload::JobIdx;

/// The free resources of a machine over time, as conservative backfilling plans on them.
pub trait Availability {
    /// What a search needs of a waiting job's request, kept with its reservation.
    type Request: Copy;
    /// Where a reservation puts a job (nothing for a pool, the nodes for node-level jobs).
    type Placement: Clone + Default + Allocation;
    /// Whether a job's own reservation, treated as free, frees everything an earlier start
    /// of that job could use. True for a pool (any processors do), so an earlier start can
    /// only become possible through a rise that starts before the reservation; false for
    /// nodes, where an earlier start may use other nodes, whose rises after the
    /// reservation's start help too.
    const OWN_RESERVATION_COVERS_EARLIER_STARTS: bool;

    /// `job`'s request, read from the view as it enters the queue.
    fn request(&self, job: JobIdx, view: &SchedView) -> Self::Request;
    /// The amount of the resource the rise log counts that `request` needs (see
    /// [`Availability::max_free`]).
    fn demand(&self, request: Self::Request) -> u64;
    /// The earliest start `≥ from` at which `request` fits for `duration`, and where;
    /// `None` if it never does.
    fn earliest(
        &self,
        request: Self::Request,
        from: SimTime,
        duration: SimDuration,
    ) -> Option<(SimTime, Self::Placement)>;
    /// For a job held at `before` on `held`: the earliest start in `[from, before)` and
    /// before `start_before` at which it fits, its own reservation treated as free, and
    /// where; `None` if there is none. The availability is as it was on return.
    #[allow(clippy::too_many_arguments)]
    fn earlier(
        &mut self,
        request: Self::Request,
        held: &Self::Placement,
        from: SimTime,
        duration: SimDuration,
        before: SimTime,
        start_before: SimTime,
    ) -> Option<(SimTime, Self::Placement)>;
    /// Takes what `request` needs on `placement` during `[start, end)`.
    fn hold(
        &mut self,
        request: Self::Request,
        start: SimTime,
        end: SimTime,
        placement: &Self::Placement,
    );
    /// Gives back what [`Availability::hold`] took.
    fn release(
        &mut self,
        request: Self::Request,
        start: SimTime,
        end: SimTime,
        placement: &Self::Placement,
    );
    /// Takes what running `job` uses (its allocation in the view) during `[start, end)`.
    fn hold_running(&mut self, job: JobIdx, view: &SchedView, start: SimTime, end: SimTime);
    /// Gives back what running `job` uses during `[start, end)`.
    fn release_running(&mut self, job: JobIdx, view: &SchedView, start: SimTime, end: SimTime);
    /// The most free of the counted resource at any instant of `[from, until)`: a rise
    /// there can only help jobs needing at most that. `u64::MAX` is always sound.
    fn max_free(&self, from: SimTime, until: SimTime) -> u64;
    /// Forgets what lies wholly before `now`.
    fn forget_before(&mut self, now: SimTime);
    /// `node` went down (nothing may be planned on it from now on: whatever was is given
    /// back first) or came back up (free from now on). A pool has no nodes.
    fn node_changed(&mut self, _node: u32, _state: NodeState) {}
    /// Whether a reservation at `placement` uses `node`.
    fn uses_node(_placement: &Self::Placement, _node: u32) -> bool {
        false
    }
}

/// A pool of processors, any of which can run any job: a count of free processors over time.
pub struct ProcessorAvailability {
    profile: Profile,
}

impl ProcessorAvailability {
    /// All `machine_procs` processors free from time zero on.
    pub fn new(machine_procs: u32) -> Self {
        ProcessorAvailability {
            profile: Profile::new(machine_procs),
        }
    }
}

impl Availability for ProcessorAvailability {
    /// Processors.
    type Request = u32;
    type Placement = ();
    const OWN_RESERVATION_COVERS_EARLIER_STARTS: bool = true;

    #[inline]
    fn request(&self, job: JobIdx, view: &SchedView) -> u32 {
        view.job(job).procs()
    }

    #[inline]
    fn demand(&self, procs: u32) -> u64 {
        u64::from(procs)
    }

    /// Always a start: [`SimTime::MAX`] for a job larger than the machine, a reservation
    /// that never comes due.
    #[inline]
    fn earliest(&self, procs: u32, from: SimTime, duration: SimDuration) -> Option<(SimTime, ())> {
        Some((self.profile.earliest_fit(from, duration, procs), ()))
    }

    #[inline]
    fn earlier(
        &mut self,
        procs: u32,
        _held: &(),
        from: SimTime,
        duration: SimDuration,
        before: SimTime,
        start_before: SimTime,
    ) -> Option<(SimTime, ())> {
        self.profile
            .earlier_fit(from, duration, procs, start_before, before)
            .map(|at| (at, ()))
    }

    #[inline]
    fn hold(&mut self, procs: u32, start: SimTime, end: SimTime, _placement: &()) {
        self.profile.reserve(start, end, procs);
    }

    #[inline]
    fn release(&mut self, procs: u32, start: SimTime, end: SimTime, _placement: &()) {
        self.profile.release(start, end, procs);
    }

    fn hold_running(&mut self, job: JobIdx, view: &SchedView, start: SimTime, end: SimTime) {
        self.profile.reserve(start, end, view.job(job).procs());
    }

    fn release_running(&mut self, job: JobIdx, view: &SchedView, start: SimTime, end: SimTime) {
        self.profile.release(start, end, view.job(job).procs());
    }

    #[inline]
    fn max_free(&self, from: SimTime, until: SimTime) -> u64 {
        u64::from(self.profile.max_free(from, until))
    }

    fn forget_before(&mut self, now: SimTime) {
        self.profile.forget_before(now);
    }
}
