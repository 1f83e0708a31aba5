//! The event queue: a priority queue with a unique, documented key.
//!
//! Events pop in order of `(time, kind rank, sequence number)`. The kind rank is a fixed
//! order of event kinds (at one instant completions come before arrivals, see
//! [`EventKind::rank`]), and the sequence number is assigned at push, so two events never
//! compare equal and the pop order never depends on a hasher or on memory layout.
//!
//! It wraps the `priority-queue` crate rather than `std`'s `BinaryHeap` because events must
//! be cancellable by identity: a job's completion is withdrawn when the job is preempted or
//! its node fails (roadmap), and a policy's wake-up is replaced when it asks for another.
//! The crate's index map uses a fixed hasher ([`rustc_hash::FxBuildHasher`]); it is only ever
//! used for look-ups, never iterated.

use super::time::SimTime;
use priority_queue::PriorityQueue;
use rustc_hash::FxBuildHasher;
use std::cmp::Reverse;
use std::hash::Hash;

/// What an event type must tell the queue: its rank among the kinds at one instant.
pub trait EventKind: Hash + Eq + Copy {
    /// Lower ranks pop first among events at the same instant.
    fn rank(&self) -> u8;
}

/// The full ordering key of a queued event. Unique because `seq` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    /// When the event happens.
    pub time: SimTime,
    /// The kind's rank at that instant.
    pub rank: u8,
    /// Push order, the last tie-break.
    pub seq: u64,
}

/// A min-queue of events keyed by [`EventKey`]. Each event value is queued at most once.
pub struct EventQueue<E: EventKind> {
    heap: PriorityQueue<E, Reverse<EventKey>, FxBuildHasher>,
    next_seq: u64,
}

impl<E: EventKind> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: EventKind> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: PriorityQueue::with_default_hasher(),
            next_seq: 0,
        }
    }

    /// An empty queue with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: PriorityQueue::with_capacity_and_default_hasher(capacity),
            next_seq: 0,
        }
    }

    /// Queues `event` at `time`. If the same event is already queued it is moved to the new
    /// time and takes a fresh sequence number (as if cancelled and pushed again).
    pub fn push(&mut self, time: SimTime, event: E) {
        let key = EventKey {
            time,
            rank: event.rank(),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.heap.push(event, Reverse(key));
    }

    /// Withdraws `event`; returns when it was due, if it was queued.
    pub fn cancel(&mut self, event: &E) -> Option<SimTime> {
        self.heap.remove(event).map(|(_, Reverse(key))| key.time)
    }

    /// The time of the next event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|(_, Reverse(key))| key.time)
    }

    /// Pops the next event if it is due at or before `time`.
    pub fn pop_due(&mut self, time: SimTime) -> Option<(SimTime, E)> {
        match self.heap.peek() {
            Some((_, Reverse(key))) if key.time <= time => {
                let (event, Reverse(key)) = self.heap.pop()?;
                Some((key.time, event))
            }
            _ => None,
        }
    }

    /// Pops the next event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap
            .pop()
            .map(|(event, Reverse(key))| (key.time, event))
    }

    /// Number of queued events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    enum Ev {
        End(u32),
        Arrive(u32),
    }
    impl EventKind for Ev {
        fn rank(&self) -> u8 {
            match self {
                Ev::End(_) => 0,
                Ev::Arrive(_) => 1,
            }
        }
    }

    #[test]
    fn ties_pop_by_kind_rank_then_push_order() {
        let mut q = EventQueue::new();
        let t = SimTime::from_secs(5);
        q.push(t, Ev::Arrive(1));
        q.push(t, Ev::End(9));
        q.push(t, Ev::Arrive(0));
        q.push(t, Ev::End(3));
        q.push(SimTime::from_secs(1), Ev::Arrive(7));
        let order: Vec<Ev> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            vec![
                Ev::Arrive(7),
                Ev::End(9),
                Ev::End(3),
                Ev::Arrive(1),
                Ev::Arrive(0)
            ]
        );
    }

    #[test]
    fn cancel_and_reschedule_by_identity() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_secs(5), Ev::End(1));
        q.push(SimTime::from_secs(6), Ev::End(2));
        assert_eq!(q.cancel(&Ev::End(1)), Some(SimTime::from_secs(5)));
        assert_eq!(q.cancel(&Ev::End(1)), None);
        q.push(SimTime::from_secs(9), Ev::End(2));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_due(SimTime::from_secs(8)), None);
        assert_eq!(
            q.pop_due(SimTime::from_secs(9)),
            Some((SimTime::from_secs(9), Ev::End(2)))
        );
    }
}
