//! The waiting queue of the backfilling policies: a segment tree over queue slots.
//!
//! Each node keeps the minimum processors and the minimum estimate of the waiting jobs below
//! it, so a backfill scan can jump straight to the next job that may fit and skip whole runs
//! of jobs that cannot: a pass costs about O(log queue) per candidate examined rather than
//! O(queue length).
//!
//! Arrivals take the next slot at the end, so slot order is queue order; when the slots run
//! out, the waiting jobs are packed to the front (keeping their order) into a tree with room
//! for as many again. The tree therefore stays about the size of the queue (a few thousand
//! slots on a loaded million-job trace, in cache) instead of one leaf per job of the
//! workload (tens of megabytes, twenty levels deep), the same layout as conservative
//! backfilling's reservation tree.

use super::priority::QueueKey;

const EMPTY: (u64, u64) = (u64::MAX, u64::MAX);

/// The summary of two subtrees: their fewest processors and shortest estimate.
fn combine(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0.min(b.0), a.1.min(b.1))
}

/// A position in a [`WaitQueue`] scan: a slot.
#[derive(Clone, Copy, Debug)]
pub struct QueueCursor(usize);

/// A set of waiting jobs, iterable in queue order with pruning.
pub struct WaitQueue {
    leaves: usize,
    /// `(min procs, min estimate in ms)` per node; node 1 is the root, leaves start at `leaves`.
    nodes: Vec<(u64, u64)>,
    /// The key of the job in each slot used since the last packing, increasing with the
    /// slot (a slot keeps its key after the job leaves, until the next packing).
    slot_key: Vec<QueueKey>,
    len: usize,
    /// The first occupied slot (`slot_key.len()` when none): every slot before it is empty.
    /// FIFO-like use takes jobs from the front, so the head is found in O(1) instead of a
    /// climb through the tree's empty front.
    front: usize,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// The smallest tree: small queues never pack more often than every 32 arrivals.
    const MIN_LEAVES: usize = 64;

    /// An empty queue (the tree grows with the queue, not with the workload).
    pub fn new() -> Self {
        Self::with_leaves(Self::MIN_LEAVES)
    }

    fn with_leaves(leaves: usize) -> Self {
        WaitQueue {
            leaves,
            nodes: vec![EMPTY; 2 * leaves],
            slot_key: Vec::with_capacity(leaves),
            len: 0,
            front: 0,
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

    /// The first slot holding a key at or after `key`.
    fn slot_from(&self, key: QueueKey) -> usize {
        if self.slot_key.get(self.front) == Some(&key) {
            return self.front;
        }
        self.slot_key.partition_point(|k| *k < key)
    }

    /// Adds a job under its key with its processors and estimate (ms). Jobs mostly arrive
    /// in queue order; one that does not (a requeued job, a higher priority) is put in its
    /// place by a packing.
    pub fn insert(&mut self, job: QueueKey, procs: u32, estimate_ms: u64) {
        let in_order = self.slot_key.last().is_none_or(|last| *last < job);
        if self.slot_key.len() == self.leaves || !in_order {
            self.pack(Some((job, (u64::from(procs), estimate_ms))));
            return;
        }
        let slot = self.slot_key.len();
        self.slot_key.push(job);
        self.len += 1;
        self.set_leaf(slot, (u64::from(procs), estimate_ms));
    }

    /// Packs the queue if its slots hold more holes (jobs that left) than jobs, so that
    /// scans do not walk over them pass after pass. Amortised O(1) per removal; cursors
    /// taken before are invalid, so call it between scans.
    pub fn compact_if_sparse(&mut self) {
        let holes = self.slot_key.len() - self.front - self.len;
        if holes > self.len + Self::MIN_LEAVES {
            self.pack(None);
        }
    }

    /// Whether the job filed under `job` waits here.
    pub fn contains(&self, job: QueueKey) -> bool {
        let slot = self.slot_from(job);
        self.slot_key.get(slot) == Some(&job) && self.nodes[self.leaves + slot] != EMPTY
    }

    /// Removes the job filed under `job`.
    pub fn remove(&mut self, job: QueueKey) {
        let slot = self.slot_from(job);
        let leaf = self.leaves + slot;
        let waits = self.slot_key.get(slot) == Some(&job) && self.nodes[leaf] != EMPTY;
        debug_assert!(waits, "removing a job that does not wait");
        if !waits {
            return;
        }
        self.len -= 1;
        self.set_leaf(slot, EMPTY);
        if slot == self.front {
            while self.front < self.slot_key.len() && self.nodes[self.leaves + self.front] == EMPTY
            {
                self.front += 1;
            }
        }
    }

    fn set_leaf(&mut self, slot: usize, value: (u64, u64)) {
        let mut node = self.leaves + slot;
        self.nodes[node] = value;
        while node > 1 {
            node /= 2;
            let merged = combine(self.nodes[2 * node], self.nodes[2 * node + 1]);
            if self.nodes[node] == merged {
                break; // nothing above can change either
            }
            self.nodes[node] = merged;
        }
    }

    /// Packs the waiting jobs, and `extra` if given, into the first slots of a tree with
    /// room for as many again, in queue order.
    fn pack(&mut self, extra: Option<(QueueKey, (u64, u64))>) {
        let mut waiting: Vec<(QueueKey, (u64, u64))> = (0..self.slot_key.len())
            .filter(|&slot| self.nodes[self.leaves + slot] != EMPTY)
            .map(|slot| (self.slot_key[slot], self.nodes[self.leaves + slot]))
            .collect();
        if let Some((job, value)) = extra {
            let at = waiting.partition_point(|w| w.0 < job);
            waiting.insert(at, (job, value));
        }
        let leaves = (2 * waiting.len() + 1)
            .next_power_of_two()
            .max(Self::MIN_LEAVES);
        let mut packed = Self::with_leaves(leaves);
        for (slot, &(job, value)) in waiting.iter().enumerate() {
            packed.slot_key.push(job);
            packed.nodes[leaves + slot] = value;
        }
        for node in (1..leaves).rev() {
            packed.nodes[node] = combine(packed.nodes[2 * node], packed.nodes[2 * node + 1]);
        }
        packed.len = waiting.len();
        *self = packed;
    }

    /// The key of the first waiting job.
    pub fn first(&self) -> Option<QueueKey> {
        self.slot_key.get(self.front).copied()
    }

    /// The shortest estimate of any waiting job, ms (`u64::MAX` when none waits).
    pub fn min_estimate_ms(&self) -> u64 {
        self.nodes[1].1
    }

    /// The first waiting job with a key at or after `from` for which `may_match(min
    /// procs, min estimate ms)` holds. `may_match` is called on subtrees with their minima,
    /// so it must be monotone: if it holds for some job it must hold for any smaller pair;
    /// on a single job it decides exactly.
    pub fn find_from(
        &self,
        from: QueueKey,
        may_match: impl Fn(u64, u64) -> bool,
    ) -> Option<QueueKey> {
        self.find_at(self.cursor_at(from), may_match)
            .map(|(key, _)| key)
    }

    /// Where a scan from `from` starts: the first slot at or after it. A cursor stays valid
    /// while no job is inserted (removals never move slots), so a scan over a pass walks
    /// slots without searching keys again.
    pub fn cursor_at(&self, from: QueueKey) -> QueueCursor {
        QueueCursor(self.slot_from(from))
    }

    /// As [`WaitQueue::find_from`], from a cursor; also returns the cursor just after the
    /// job found.
    pub fn find_at(
        &self,
        from: QueueCursor,
        may_match: impl Fn(u64, u64) -> bool,
    ) -> Option<(QueueKey, QueueCursor)> {
        let slot = from.0.max(self.front);
        if slot >= self.slot_key.len() {
            return None;
        }
        let mut node = self.leaves + slot;
        // Most scans take the very next slot: try it before climbing the tree.
        let (procs, estimate_ms) = self.nodes[node];
        if procs != u64::MAX && may_match(procs, estimate_ms) {
            return Some((self.slot_key[slot], QueueCursor(slot + 1)));
        }
        // Visit `node`, then the right siblings of its ancestors, leftmost first: together
        // they cover slots `slot..` in order.
        loop {
            if let Some(found) = self.search(node, &may_match) {
                return Some((self.slot_key[found], QueueCursor(found + 1)));
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
    fn search(&self, node: usize, may_match: &impl Fn(u64, u64) -> bool) -> Option<usize> {
        let (procs, est) = self.nodes[node];
        if procs == u64::MAX || !may_match(procs, est) {
            return None;
        }
        if node >= self.leaves {
            return Some(node - self.leaves);
        }
        self.search(2 * node, may_match)
            .or_else(|| self.search(2 * node + 1, may_match))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::JobIdx;

    fn k(job: u32) -> QueueKey {
        QueueKey::ranked(0, JobIdx(job))
    }

    #[test]
    fn scans_in_queue_order_with_pruning() {
        let mut q = WaitQueue::new();
        for (i, procs) in [(1, 8), (3, 2), (4, 16), (7, 1), (9, 4)] {
            q.insert(k(i), procs, 100 * i as u64);
        }
        assert_eq!(q.first(), Some(k(1)));
        let small = |p: u64, _| p <= 4;
        assert_eq!(q.find_from(k(0), small), Some(k(3)));
        assert_eq!(q.find_from(k(4), small), Some(k(7)));
        assert_eq!(q.find_from(k(8), small), Some(k(9)));
        assert_eq!(q.find_from(k(10), small), None);
        // the estimate bound: procs <= 16 and estimate <= 400
        assert_eq!(q.find_from(k(2), |p, e| p <= 16 && e <= 400), Some(k(3)));
        q.remove(k(1));
        q.remove(k(3));
        assert_eq!(q.first(), Some(k(4)));
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn agrees_with_a_linear_scan() {
        let n = 37;
        let mut q = WaitQueue::new();
        let mut present = vec![None; n];
        for i in (0..n).filter(|i| i % 3 != 1) {
            let procs = ((i * 7) % 11 + 1) as u32;
            q.insert(k(i as u32), procs, (i * 13 % 17) as u64);
            present[i] = Some((procs as u64, (i * 13 % 17) as u64));
        }
        for from in 0..=n {
            for limit in 0..12 {
                let pred = |p: u64, e: u64| p <= limit && e <= 10;
                let expected = (from..n)
                    .find(|&i| matches!(present[i], Some((p, e)) if pred(p, e)))
                    .map(|i| k(i as u32));
                assert_eq!(
                    q.find_from(k(from as u32), pred),
                    expected,
                    "from {from} limit {limit}"
                );
            }
        }
    }

    #[test]
    fn keeps_queue_order_across_packings_and_late_inserts() {
        // A model: the waiting jobs by position, scanned linearly.
        let mut q = WaitQueue::new();
        let mut model: std::collections::BTreeMap<u32, (u64, u64)> = Default::default();
        let mut x = 99u64;
        let mut next = |bound: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % bound
        };
        let mut id = 0u32;
        for round in 0..5_000 {
            // Mostly arrivals in queue order; now and then one that arrives late.
            let job = if round % 97 == 0 && id > 10 {
                let late = id - 1 - next(10) as u32;
                if model.contains_key(&late) {
                    continue;
                }
                late
            } else {
                id += 1;
                id
            };
            let value = (1 + next(16), next(50));
            q.insert(k(job), value.0 as u32, value.1);
            model.insert(job, value);
            // Remove about as many as arrive, so the queue sweeps along the positions.
            while model.len() > 300 || (next(2) == 0 && !model.is_empty()) {
                let nth = next(model.len().min(40) as u64) as usize;
                let gone = *model.keys().nth(nth).unwrap();
                q.remove(k(gone));
                model.remove(&gone);
            }
            assert_eq!(q.len(), model.len());
            if round % 7 == 0 {
                q.compact_if_sparse();
            }
            let from = id.saturating_sub(next(400) as u32) as usize;
            let (procs, est) = (1 + next(16), next(50));
            let pred = |p: u64, e: u64| p <= procs && e <= est;
            let expected = model
                .range(from as u32..)
                .find(|(_, &(p, e))| pred(p, e))
                .map(|(&j, _)| k(j));
            assert_eq!(q.find_from(k(from as u32), pred), expected, "round {round}");
            assert_eq!(q.first(), model.keys().next().map(|&j| k(j)));
        }
        assert!(
            q.leaves <= 2048,
            "the tree stays about the size of the queue"
        );
    }
}
