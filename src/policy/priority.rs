//! Queue order: one pluggable priority shared by every built-in policy.
//!
//! A policy files each waiting job under a [`QueueKey`] computed by its [`Priority`] when
//! the job enters the queue (on arrival, or when it is requeued); smaller keys go first.
//! The algorithms (FCFS, EASY, conservative) only compare keys, so a new priority (a
//! multifactor one, fair share) plugs in without touching them.
//!
//! Every policy computes a key with [`queue_key`], which puts the jobs demoted for a spent
//! credit (`[credits] when_exhausted = "deprioritize"`) after the others of the same rank:
//! a priority never sees to that itself.
//!
//! The key is fixed while the job waits. A priority that changes with time (Slurm's age
//! factor) will re-key the queue at its recalculation interval, as Slurm's
//! `PriorityCalcPeriod` does, by taking jobs out and filing them again.

use super::JobInfo;
use crate::workload::JobIdx;

/// Where a job stands in the queue: by `rank` (smaller first), then jobs not demoted
/// before demoted ones, ties by workload order (submit time, then trace job number), so the
/// order is total. (The derived order compares the fields in this order.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    /// The priority's rank: smaller goes first (a priority where larger is better files
    /// `u64::MAX - priority`).
    pub rank: u64,
    /// Demoted for a spent credit: after every job of the same rank that is not. Set by
    /// [`queue_key`] (a [`Priority`] leaves it false).
    pub demoted: bool,
    /// The job, breaking ties in workload order.
    pub job: JobIdx,
}

impl QueueKey {
    /// The smallest key: every job's key is at least this.
    pub const FIRST: QueueKey = QueueKey {
        rank: 0,
        demoted: false,
        job: JobIdx(0),
    };

    /// The key of rank `rank` for `job`, not demoted: what a [`Priority`] returns.
    pub const fn ranked(rank: u64, job: JobIdx) -> QueueKey {
        QueueKey {
            rank,
            demoted: false,
            job,
        }
    }

    /// The smallest key after this one (for scans that resume after a job).
    pub fn next(self) -> QueueKey {
        match self.job.0.checked_add(1) {
            Some(j) => QueueKey {
                job: JobIdx(j),
                ..self
            },
            // Past the last job: the demoted jobs of the same rank, or the next rank.
            None if !self.demoted => QueueKey {
                rank: self.rank,
                demoted: true,
                job: JobIdx(0),
            },
            None => QueueKey::ranked(self.rank.saturating_add(1), JobIdx(0)),
        }
    }
}

/// `job`'s key as it enters the queue under `priority`: the priority's rank (under
/// preemption, its partition's tier), then its demotion for a spent credit, then arrival.
/// The one place a policy computes a key, so every policy orders demoted jobs alike.
pub fn queue_key<P: Priority + ?Sized>(priority: &P, job: JobIdx, info: JobInfo) -> QueueKey {
    QueueKey {
        demoted: info.demoted(),
        ..priority.key(job, info)
    }
}

/// A rule ordering the queue.
pub trait Priority {
    /// The rule's name, as written in outputs.
    fn label(&self) -> &'static str;
    /// `job`'s key as it enters the queue (policies call it through [`queue_key`], which
    /// sets `demoted`).
    fn key(&self, job: JobIdx, info: JobInfo) -> QueueKey;
}

/// First come, first served: arrival order (submit time, then trace job number), the
/// order of every built-in policy so far and of the reference simulators.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArrivalOrder;

impl Priority for ArrivalOrder {
    fn label(&self) -> &'static str {
        "arrival"
    }

    fn key(&self, job: JobIdx, _info: JobInfo) -> QueueKey {
        QueueKey::ranked(0, job)
    }
}

/// Partitions' tiers first (a higher partition priority goes first), then arrival: Slurm's
/// `PriorityTier` order, which the queue policies follow when preemption is on (a job of a
/// higher tier is considered, and may preempt, before any job of a lower one).
#[derive(Clone, Debug)]
pub struct TierOrder {
    /// Per partition, its rank (smaller first).
    rank_of_partition: Vec<u64>,
    /// Per job, its partition.
    partition_of: Vec<u16>,
}

impl TierOrder {
    /// The order of `workload`'s partitions' tiers.
    pub fn of(workload: &crate::workload::classes::NodeWorkload) -> TierOrder {
        TierOrder {
            rank_of_partition: workload
                .partition_preemption
                .iter()
                .map(|p| (i64::from(i32::MAX) - i64::from(p.tier)) as u64)
                .collect(),
            partition_of: workload.partition_of.clone(),
        }
    }
}

impl Priority for TierOrder {
    fn label(&self) -> &'static str {
        "tier"
    }

    fn key(&self, job: JobIdx, _info: JobInfo) -> QueueKey {
        let partition = self.partition_of.get(job.get()).copied().unwrap_or(0);
        let rank = self
            .rank_of_partition
            .get(usize::from(partition))
            .copied()
            .unwrap_or(0);
        QueueKey::ranked(rank, job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_rank_then_demotion_then_job() {
        let a = QueueKey::ranked(0, JobIdx(9));
        let demoted = QueueKey {
            demoted: true,
            ..QueueKey::ranked(0, JobIdx(0))
        };
        let b = QueueKey::ranked(1, JobIdx(0));
        assert!(a < demoted && demoted < b);
        assert!(QueueKey::FIRST <= a);
        assert!(a < a.next() && a.next() <= demoted);
        let last = QueueKey::ranked(0, JobIdx(u32::MAX));
        assert_eq!(last.next(), demoted);
        let last_demoted = QueueKey {
            demoted: true,
            ..last
        };
        assert_eq!(last_demoted.next(), b);
    }
}
