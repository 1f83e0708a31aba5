//! The waiting queue of the backfilling policies: a segment tree over queue positions.
//!
//! Queue position = workload index, so the tree has one leaf per job of the workload, set
//! while the job waits. Each node keeps the minimum processors and the minimum estimate of
//! the waiting jobs below it, so a backfill scan can jump straight to the next job that may
//! fit and skip whole runs of jobs that cannot: a pass costs about O(log n) per candidate
//! examined rather than O(queue length).

use crate::workload::JobIdx;

const EMPTY: (u64, u64) = (u64::MAX, u64::MAX);

/// A set of waiting jobs, iterable in queue order with pruning.
pub struct WaitQueue {
    leaves: usize,
    /// `(min procs, min estimate in ms)` per node; node 1 is the root, leaves start at `leaves`.
    nodes: Vec<(u64, u64)>,
    len: usize,
}

impl WaitQueue {
    /// An empty queue for a workload of `jobs` jobs.
    pub fn new(jobs: usize) -> Self {
        let leaves = jobs.max(1).next_power_of_two();
        WaitQueue {
            leaves,
            nodes: vec![EMPTY; 2 * leaves],
            len: 0,
        }
    }

    /// Number of waiting jobs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no job waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fewest processors any waiting job needs (`u64::MAX` when none waits).
    pub fn min_procs(&self) -> u64 {
        self.nodes[1].0
    }

    /// Adds a job with its processors and estimate (ms).
    pub fn insert(&mut self, job: JobIdx, procs: u32, estimate_ms: u64) {
        let leaf = self.leaves + job.get();
        debug_assert_eq!(self.nodes[leaf], EMPTY, "job queued twice");
        self.nodes[leaf] = (u64::from(procs), estimate_ms);
        self.len += 1;
        self.update_path(leaf);
    }

    /// Removes a job.
    pub fn remove(&mut self, job: JobIdx) {
        let leaf = self.leaves + job.get();
        debug_assert_ne!(self.nodes[leaf], EMPTY, "removing a job that does not wait");
        self.nodes[leaf] = EMPTY;
        self.len -= 1;
        self.update_path(leaf);
    }

    fn update_path(&mut self, mut node: usize) {
        while node > 1 {
            node /= 2;
            let (a, b) = (self.nodes[2 * node], self.nodes[2 * node + 1]);
            let merged = (a.0.min(b.0), a.1.min(b.1));
            if self.nodes[node] == merged {
                break; // nothing above can change either
            }
            self.nodes[node] = merged;
        }
    }

    /// The first waiting job in queue order.
    pub fn first(&self) -> Option<JobIdx> {
        self.find_from(0, |procs, _| procs != u64::MAX)
    }

    /// The first waiting job at or after position `from` for which `may_match(min procs,
    /// min estimate ms)` holds. `may_match` is called on subtrees with their minima, so it
    /// must be monotone: if it holds for some job it must hold for any smaller pair; on a
    /// single job it decides exactly.
    pub fn find_from(&self, from: usize, may_match: impl Fn(u64, u64) -> bool) -> Option<JobIdx> {
        if from >= self.leaves {
            return None;
        }
        let mut node = self.leaves + from;
        // Visit `node`, then the right siblings of its ancestors, leftmost first: together
        // they cover positions `from..` in order.
        loop {
            if let Some(found) = self.search(node, &may_match) {
                return Some(found);
            }
            while node & 1 == 1 {
                node /= 2;
            }
            if node <= 1 {
                return None;
            }
            node += 1;
        }
    }

    /// Depth-first search of `node`'s subtree, left first. The minima of a node may come
    /// from different jobs, so a subtree that may match can still hold no match: backtrack.
    fn search(&self, node: usize, may_match: &impl Fn(u64, u64) -> bool) -> Option<JobIdx> {
        let (procs, est) = self.nodes[node];
        if procs == u64::MAX || !may_match(procs, est) {
            return None;
        }
        if node >= self.leaves {
            return Some(JobIdx((node - self.leaves) as u32));
        }
        self.search(2 * node, may_match)
            .or_else(|| self.search(2 * node + 1, may_match))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_in_queue_order_with_pruning() {
        let mut q = WaitQueue::new(10);
        for (i, procs) in [(1, 8), (3, 2), (4, 16), (7, 1), (9, 4)] {
            q.insert(JobIdx(i), procs, 100 * i as u64);
        }
        assert_eq!(q.first(), Some(JobIdx(1)));
        let small = |p: u64, _| p <= 4;
        assert_eq!(q.find_from(0, small), Some(JobIdx(3)));
        assert_eq!(q.find_from(4, small), Some(JobIdx(7)));
        assert_eq!(q.find_from(8, small), Some(JobIdx(9)));
        assert_eq!(q.find_from(10, small), None);
        // the estimate bound: procs <= 16 and estimate <= 400
        assert_eq!(q.find_from(2, |p, e| p <= 16 && e <= 400), Some(JobIdx(3)));
        q.remove(JobIdx(1));
        q.remove(JobIdx(3));
        assert_eq!(q.first(), Some(JobIdx(4)));
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn agrees_with_a_linear_scan() {
        let n = 37;
        let mut q = WaitQueue::new(n);
        let mut present = vec![None; n];
        for i in (0..n).filter(|i| i % 3 != 1) {
            let procs = ((i * 7) % 11 + 1) as u32;
            q.insert(JobIdx(i as u32), procs, (i * 13 % 17) as u64);
            present[i] = Some((procs as u64, (i * 13 % 17) as u64));
        }
        for from in 0..=n {
            for limit in 0..12 {
                let pred = |p: u64, e: u64| p <= limit && e <= 10;
                let expected = (from..n)
                    .find(|&i| matches!(present[i], Some((p, e)) if pred(p, e)))
                    .map(|i| JobIdx(i as u32));
                assert_eq!(
                    q.find_from(from, pred),
                    expected,
                    "from {from} limit {limit}"
                );
            }
        }
    }
}
