//! The availability profile of conservative backfilling: free processors over future time.
//!
//! A step function: each breakpoint `t` holds the number of processors free from `t` until
//! the next breakpoint (the last step lasts forever). Adjacent steps with equal values are
//! merged and steps wholly in the past are dropped, so a profile holds about two breakpoints
//! per running job and reservation.
//!
//! Two representations, chosen by size (measured: neither wins everywhere):
//! - sorted vectors scanned linearly (the fit search 64 steps at a time, through bit masks),
//!   fastest up to tens of thousands of steps (memory moves and scans over contiguous arrays
//!   beat pointer-chasing by a wide margin);
//! - a treap (a randomized balanced search tree, with priorities from a fixed-seed generator
//!   so its shape is deterministic) keyed by time, each subtree keeping the minimum and
//!   maximum free count below it and a pending addition for its children. Every operation is
//!   O(log steps): a reservation change is a range addition; the earliest fit alternates
//!   "first step from here with at least p free" and "first step with fewer than p free"
//!   descents; a range maximum is one descent. It takes over when queues of thousands of jobs
//!   (RICC-2010) make linear scans hopeless.
//!
//! [`Profile`] switches from vectors to the treap above [`TO_TREE_STEPS`] steps and back
//! below [`TO_VEC_STEPS`]; the gap keeps it from switching back and forth. The thresholds
//! were measured: vectors still beat the treap at 16,000 steps (a 60,000-job prefix of
//! RICC-2010 replays in 33 s instead of 160 s).

use crate::engine::time::{SimDuration, SimTime};

/// Above this many steps the profile moves to the treap.
pub const TO_TREE_STEPS: usize = 32_768;
/// Below this many steps the profile moves back to vectors.
pub const TO_VEC_STEPS: usize = 8_192;

/// Free processors over time.
#[derive(Clone, Debug)]
pub struct Profile {
    repr: Repr,
    to_tree_steps: usize,
    to_vec_steps: usize,
}

#[derive(Clone, Debug)]
enum Repr {
    Vec(VecProfile),
    Tree(TreapProfile),
}

macro_rules! dispatch {
    ($self:expr, $p:ident => $e:expr) => {
        match &$self.repr {
            Repr::Vec($p) => $e,
            Repr::Tree($p) => $e,
        }
    };
}

impl Profile {
    /// A machine of `total` processors, all free forever.
    pub fn new(total: u32) -> Self {
        Self::with_thresholds(total, TO_TREE_STEPS, TO_VEC_STEPS)
    }

    /// A profile that switches representation at other sizes (tests use small ones).
    pub fn with_thresholds(total: u32, to_tree_steps: usize, to_vec_steps: usize) -> Self {
        Profile {
            repr: Repr::Vec(VecProfile::new(total)),
            to_tree_steps,
            to_vec_steps: to_vec_steps.min(to_tree_steps),
        }
    }

    /// Number of steps.
    pub fn steps(&self) -> usize {
        dispatch!(self, p => p.steps())
    }

    /// Whether the treap is in use (for tests and benches).
    pub fn is_tree(&self) -> bool {
        matches!(self.repr, Repr::Tree(_))
    }

    /// Moves to the representation that suits the current size.
    fn adapt(&mut self) {
        match &mut self.repr {
            Repr::Vec(v) if v.steps() > self.to_tree_steps => {
                self.repr = Repr::Tree(TreapProfile::from_steps(v.total, &v.steps_list()));
            }
            Repr::Tree(t) if t.steps() < self.to_vec_steps => {
                let steps = t.steps_list();
                self.repr = Repr::Vec(VecProfile::from_steps(t.total, &steps));
            }
            _ => {}
        }
    }

    /// Takes `procs` processors during `[start, end)`.
    pub fn reserve(&mut self, start: SimTime, end: SimTime, procs: u32) {
        match &mut self.repr {
            Repr::Vec(p) => p.reserve(start, end, procs),
            Repr::Tree(p) => p.reserve(start, end, procs),
        }
        self.adapt();
    }

    /// Gives back `procs` processors during `[start, end)`.
    pub fn release(&mut self, start: SimTime, end: SimTime, procs: u32) {
        match &mut self.repr {
            Repr::Vec(p) => p.release(start, end, procs),
            Repr::Tree(p) => p.release(start, end, procs),
        }
        self.adapt();
    }

    /// The earliest `t ≥ now` such that `procs` processors are free throughout
    /// `[t, t + duration)`; [`SimTime::MAX`] if `procs` exceeds the machine.
    pub fn earliest_fit(&self, now: SimTime, duration: SimDuration, procs: u32) -> SimTime {
        dispatch!(self, p => p.fit_between(now, duration, procs, SimTime::MAX, SimTime::MAX))
            .unwrap_or(SimTime::MAX)
    }

    /// The earliest `t` in `[now, before)` at which a job already reserved at `before` for
    /// `duration` could run instead, or `None`. Its own reservation is treated as free: on
    /// `[before, before + duration)` it fits by construction, so only `[t, min(t + duration,
    /// before))` has to have `procs` free.
    ///
    /// Only starts before `start_before` are searched (conservative backfilling knows where
    /// a new start cannot be).
    pub fn earlier_fit(
        &self,
        now: SimTime,
        duration: SimDuration,
        procs: u32,
        start_before: SimTime,
        before: SimTime,
    ) -> Option<SimTime> {
        dispatch!(self, p => p.fit_between(now, duration, procs, start_before.min(before), before))
    }

    /// The largest number of free processors at any time in `[from, until)`.
    pub fn max_free(&self, from: SimTime, until: SimTime) -> u32 {
        dispatch!(self, p => p.max_free(from, until))
    }

    /// Drops steps that end at or before `now`.
    pub fn forget_before(&mut self, now: SimTime) {
        match &mut self.repr {
            Repr::Vec(p) => p.forget_before(now),
            Repr::Tree(p) => p.forget_before(now),
        }
        self.adapt();
    }

    /// Free processors at `t`.
    pub fn free_at(&self, t: SimTime) -> u32 {
        dispatch!(self, p => p.free_at(t))
    }
}

/// The profile as sorted vectors: linear scans, fastest for short profiles.
#[derive(Clone, Debug)]
struct VecProfile {
    times: Vec<SimTime>,
    free: Vec<u32>,
    total: u32,
    /// The step holding the instant of the last [`VecProfile::forget_before`]; it starts
    /// exactly then, and the slots before it are dead: never merged with, their times no
    /// later than its own, kept as room for shifting the front (see [`VecProfile::split`])
    /// until enough of them pile up to be worth removing.
    live: usize,
}

impl VecProfile {
    /// A machine of `total` processors, all free forever.
    fn new(total: u32) -> Self {
        VecProfile {
            times: vec![SimTime::ZERO],
            free: vec![total],
            total,
            live: 0,
        }
    }

    /// Number of live steps (what the representation switch and diagnostics count).
    fn steps(&self) -> usize {
        self.times.len() - self.live
    }

    /// Index of the step that contains `t`.
    fn step_at(&self, t: SimTime) -> usize {
        self.times.partition_point(|&x| x <= t).saturating_sub(1)
    }

    /// Ensures a breakpoint at `t` (not before the present) and returns its index.
    ///
    /// The new step goes in by shifting the shorter side: the live steps before it one place
    /// into the dead slots, or the steps after it one place back (measured on a loaded
    /// trace: 59 live steps before a split or merge and 81 after on average, but 31 on the
    /// shorter side). Shifting the front moves `live` and every live index before `t` down
    /// by one.
    fn split(&mut self, t: SimTime) -> usize {
        let i = self.step_at(t);
        debug_assert!(i >= self.live, "a split before the present");
        if self.times[i] == t {
            return i;
        }
        let at = i + 1;
        if self.live > 0 && at - self.live < self.times.len() - at {
            self.times.copy_within(self.live..at, self.live - 1);
            self.free.copy_within(self.live..at, self.live - 1);
            self.live -= 1;
            self.times[i] = t;
            self.free[i] = self.free[i - 1];
            return i;
        }
        self.times.insert(at, t);
        self.free.insert(at, self.free[i]);
        at
    }

    /// Merges step `i` into step `i - 1` if they have the same value, shifting the shorter
    /// side (see [`VecProfile::split`]): shifting the front moves `live` and every live index
    /// before `i` up by one, and leaves a dead slot.
    fn merge_at(&mut self, i: usize) {
        if i > self.live && i < self.times.len() && self.free[i] == self.free[i - 1] {
            if i - self.live < self.times.len() - i {
                self.times.copy_within(self.live..i, self.live + 1);
                self.free.copy_within(self.live..i, self.live + 1);
                self.live += 1;
            } else {
                self.times.remove(i);
                self.free.remove(i);
            }
        }
    }

    /// Takes `procs` processors during `[start, end)`.
    fn reserve(&mut self, start: SimTime, end: SimTime, procs: u32) {
        self.apply(start, end, |f| {
            debug_assert!(f >= procs, "profile over-committed");
            f.saturating_sub(procs)
        });
    }

    /// Gives back `procs` processors during `[start, end)`.
    fn release(&mut self, start: SimTime, end: SimTime, procs: u32) {
        let total = self.total;
        self.apply(start, end, |f| (f + procs).min(total));
    }

    fn apply(&mut self, start: SimTime, end: SimTime, op: impl Fn(u32) -> u32) {
        if start >= end {
            return;
        }
        let i0 = self.split(start);
        let live = self.live;
        let i1 = self.split(end);
        // Splitting at `end` may have shifted the steps before it (`i0` among them) down.
        let i0 = i0 - (live - self.live);
        for f in &mut self.free[i0..i1] {
            *f = op(*f);
        }
        let live = self.live;
        self.merge_at(i1);
        // Merging at `i1` may have shifted the steps before it up.
        let i0 = i0 + (self.live - live);
        self.merge_at(i0);
    }

    /// The earliest `t` in `[now, start_before)` such that `procs` processors are free
    /// throughout `[t, min(t + duration, before))`, or `None`.
    ///
    /// Works on runs of steps with at least `procs` free, found 64 steps at a time from a
    /// bit mask (a compare the compiler vectorizes): a run's candidate start is its first
    /// instant (or `now`), and it fits if the run lasts until the window's end. Runs are few
    /// next to steps, so failing searches cost a few word operations per 64 steps.
    fn fit_between(
        &self,
        now: SimTime,
        duration: SimDuration,
        procs: u32,
        start_before: SimTime,
        before: SimTime,
    ) -> Option<SimTime> {
        // Most searches start at the present, whose step is known.
        let first = if self.times[self.live] == now {
            self.live
        } else {
            self.step_at(now)
        };
        let steps = self.times.len();
        // The candidate start of the run being followed, if one is.
        let mut run_start: Option<SimTime> = None;
        let mut chunk = first;
        while chunk < steps {
            let len = (steps - chunk).min(64);
            let free_mask = free_mask(&self.free[chunk..chunk + len], procs);
            let in_chunk = if len == 64 {
                u64::MAX
            } else {
                (1u64 << len) - 1
            };
            let blocked_mask = !free_mask & in_chunk;
            // Bits below `pos` are done.
            let mut pos = 0u32;
            loop {
                let candidate = match run_start {
                    Some(candidate) => candidate,
                    None => {
                        let ahead = free_mask & (u64::MAX << pos);
                        if ahead == 0 {
                            break;
                        }
                        pos = ahead.trailing_zeros();
                        let candidate = self.times[chunk + pos as usize].max(now);
                        if candidate >= start_before {
                            return None;
                        }
                        run_start = Some(candidate);
                        candidate
                    }
                };
                let needed_until = (candidate + duration).min(before);
                let ahead = blocked_mask & (u64::MAX << pos);
                if ahead == 0 {
                    // The run goes on past this chunk: done if it reaches far enough already.
                    match self.times.get(chunk + len) {
                        Some(&next) if next < needed_until => break,
                        _ => return Some(candidate),
                    }
                }
                pos = ahead.trailing_zeros();
                if self.times[chunk + pos as usize] >= needed_until {
                    return Some(candidate);
                }
                run_start = None;
            }
            chunk += len;
        }
        // The last step lasts forever: a run still open there fits.
        run_start
    }

    /// The largest number of free processors at any time in `[from, until)`.
    fn max_free(&self, from: SimTime, until: SimTime) -> u32 {
        let i0 = self.step_at(from);
        let mut best = 0;
        for i in i0..self.times.len() {
            if i > i0 && self.times[i] >= until {
                break;
            }
            best = best.max(self.free[i]);
        }
        best
    }

    /// The steps as `(start ms, free)` pairs, in time order.
    fn steps_list(&self) -> Vec<(u64, i64)> {
        self.times[self.live..]
            .iter()
            .zip(&self.free[self.live..])
            .map(|(t, &f)| (t.as_ms(), i64::from(f)))
            .collect()
    }

    /// Drops steps that end at or before `now`.
    fn forget_before(&mut self, now: SimTime) {
        let mut i = self.step_at(now);
        // The past does not matter: the present's step may as well start now.
        self.times[i] = self.times[i].max(now);
        // Batch the removal: shifting the vector is only worth it once enough steps are dead.
        // Some dead slots stay, for splits near the present to shift into.
        if i >= 128 {
            self.times.drain(..i - 32);
            self.free.drain(..i - 32);
            i = 32;
        }
        self.live = i;
    }

    /// Vectors holding these steps.
    fn from_steps(total: u32, steps: &[(u64, i64)]) -> Self {
        VecProfile {
            times: steps.iter().map(|&(t, _)| SimTime::from_ms(t)).collect(),
            free: steps
                .iter()
                .map(|&(_, f)| f.clamp(0, i64::from(total)) as u32)
                .collect(),
            total,
            live: 0,
        }
    }

    /// Free processors at `t` (for tests).
    fn free_at(&self, t: SimTime) -> u32 {
        self.free[self.step_at(t)]
    }
}

/// Bit `k` is set if `free[k] >= procs` (`free` holds at most 64 steps).
fn free_mask(free: &[u32], procs: u32) -> u64 {
    // Compare into bytes (which the compiler vectorizes), then gather each eight flag bytes
    // into eight bits with one multiplication.
    let mut flags = [0u8; 64];
    for (flag, &f) in flags.iter_mut().zip(free) {
        *flag = u8::from(f >= procs);
    }
    let mut mask = 0u64;
    for (w, bytes) in flags.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
        mask |= (word.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * w);
    }
    mask
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    /// Breakpoint time, ms.
    key: u64,
    /// Free processors on this step; `min`/`max` over the subtree. All three already
    /// include `lazy`, which is still owed to the children.
    value: i64,
    min: i64,
    max: i64,
    lazy: i64,
    priority: u64,
    left: u32,
    right: u32,
}

/// The profile as a treap: O(log steps) everything.
#[derive(Clone, Debug)]
struct TreapProfile {
    nodes: Vec<Node>,
    free_slots: Vec<u32>,
    root: u32,
    len: usize,
    total: u32,
    rng_state: u64,
}

impl TreapProfile {
    /// Number of steps (for diagnostics and benches).
    fn steps(&self) -> usize {
        self.len
    }

    fn next_priority(&mut self) -> u64 {
        // xorshift64*: a fixed generator, so the tree's shape is the same on every run.
        let mut x = self.rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng_state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn new_node(&mut self, key: u64, value: i64) -> u32 {
        let node = Node {
            key,
            value,
            min: value,
            max: value,
            lazy: 0,
            priority: self.next_priority(),
            left: NIL,
            right: NIL,
        };
        self.len += 1;
        if let Some(slot) = self.free_slots.pop() {
            self.nodes[slot as usize] = node;
            slot
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    fn apply(&mut self, n: u32, delta: i64) {
        if n != NIL {
            let node = &mut self.nodes[n as usize];
            node.value += delta;
            node.min += delta;
            node.max += delta;
            node.lazy += delta;
        }
    }

    fn push_down(&mut self, n: u32) {
        let Node {
            lazy, left, right, ..
        } = self.nodes[n as usize];
        if lazy != 0 {
            self.apply(left, lazy);
            self.apply(right, lazy);
            self.nodes[n as usize].lazy = 0;
        }
    }

    fn pull_up(&mut self, n: u32) {
        let Node {
            value, left, right, ..
        } = self.nodes[n as usize];
        let (mut min, mut max) = (value, value);
        for c in [left, right] {
            if c != NIL {
                min = min.min(self.nodes[c as usize].min);
                max = max.max(self.nodes[c as usize].max);
            }
        }
        let node = &mut self.nodes[n as usize];
        node.min = min;
        node.max = max;
    }

    /// Splits `n` into keys `< key` and keys `>= key`.
    fn split(&mut self, n: u32, key: u64) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        self.push_down(n);
        if self.nodes[n as usize].key < key {
            let (l, r) = self.split(self.nodes[n as usize].right, key);
            self.nodes[n as usize].right = l;
            self.pull_up(n);
            (n, r)
        } else {
            let (l, r) = self.split(self.nodes[n as usize].left, key);
            self.nodes[n as usize].left = r;
            self.pull_up(n);
            (l, n)
        }
    }

    /// Joins two trees, every key of `a` below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].priority > self.nodes[b as usize].priority {
            self.push_down(a);
            let r = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = r;
            self.pull_up(a);
            a
        } else {
            self.push_down(b);
            let l = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = l;
            self.pull_up(b);
            b
        }
    }

    /// The last breakpoint at or before `key`, with its true value.
    fn floor(&self, key: u64) -> Option<(u64, i64)> {
        let (mut n, mut acc, mut best) = (self.root, 0i64, None);
        while n != NIL {
            let node = &self.nodes[n as usize];
            if node.key <= key {
                best = Some((node.key, node.value + acc));
                acc += node.lazy;
                n = node.right;
            } else {
                acc += node.lazy;
                n = node.left;
            }
        }
        best
    }

    /// The first breakpoint at or after `from` whose value satisfies `hit`, where
    /// `prune(min, max)` says a subtree cannot hold one.
    fn first_from(
        &self,
        n: u32,
        acc: i64,
        from: u64,
        hit: &impl Fn(i64) -> bool,
        prune: &impl Fn(i64, i64) -> bool,
    ) -> Option<u64> {
        if n == NIL {
            return None;
        }
        let node = &self.nodes[n as usize];
        if prune(node.min + acc, node.max + acc) {
            return None;
        }
        let below = acc + node.lazy;
        if node.key >= from {
            if let Some(k) = self.first_from(node.left, below, from, hit, prune) {
                return Some(k);
            }
            if hit(node.value + acc) {
                return Some(node.key);
            }
        }
        self.first_from(node.right, below, from, hit, prune)
    }

    /// First breakpoint at or after `from` with at least `procs` free.
    fn first_at_least(&self, from: u64, procs: i64) -> Option<u64> {
        self.first_from(self.root, 0, from, &|v| v >= procs, &|_, max| max < procs)
    }

    /// First breakpoint at or after `from` with fewer than `procs` free.
    fn first_below(&self, from: u64, procs: i64) -> Option<u64> {
        self.first_from(self.root, 0, from, &|v| v < procs, &|min, _| min >= procs)
    }

    /// Makes `key` a breakpoint (with the value of the step it falls in).
    fn ensure_breakpoint(&mut self, key: u64) {
        let Some((at, value)) = self.floor(key) else {
            return;
        };
        if at == key {
            return;
        }
        let node = self.new_node(key, value);
        let (l, r) = self.split(self.root, key);
        let l = self.merge(l, node);
        self.root = self.merge(l, r);
    }

    /// Removes breakpoint `key` if its value equals the previous step's.
    fn merge_if_equal(&mut self, key: u64) {
        let Some((at, value)) = self.floor(key) else {
            return;
        };
        if at != key || key == 0 {
            return;
        }
        match self.floor(key - 1) {
            Some((_, before)) if before == value => {}
            _ => return,
        }
        let (l, rest) = self.split(self.root, key);
        let (mid, r) = self.split(rest, key + 1);
        self.release_subtree(mid);
        self.root = self.merge(l, r);
    }

    fn release_subtree(&mut self, n: u32) {
        if n == NIL {
            return;
        }
        let Node { left, right, .. } = self.nodes[n as usize];
        self.release_subtree(left);
        self.release_subtree(right);
        self.free_slots.push(n);
        self.len -= 1;
    }

    fn add(&mut self, start: SimTime, end: SimTime, delta: i64) {
        if start >= end {
            return;
        }
        let (a, b) = (start.as_ms(), end.as_ms());
        self.ensure_breakpoint(a);
        self.ensure_breakpoint(b);
        let (l, rest) = self.split(self.root, a);
        let (mid, r) = self.split(rest, b);
        self.apply(mid, delta);
        let l = self.merge(l, mid);
        self.root = self.merge(l, r);
        self.merge_if_equal(b);
        self.merge_if_equal(a);
    }

    /// Takes `procs` processors during `[start, end)`.
    fn reserve(&mut self, start: SimTime, end: SimTime, procs: u32) {
        self.add(start, end, -i64::from(procs));
        debug_assert!(
            self.root == NIL || self.nodes[self.root as usize].min >= 0,
            "profile over-committed"
        );
    }

    /// Gives back `procs` processors during `[start, end)`.
    fn release(&mut self, start: SimTime, end: SimTime, procs: u32) {
        self.add(start, end, i64::from(procs));
        debug_assert!(
            self.root == NIL || self.nodes[self.root as usize].max <= i64::from(self.total),
            "profile released more than it held"
        );
    }

    /// The earliest `t` in `[now, start_before)` such that `procs` processors are free
    /// throughout `[t, min(t + duration, before))`, or `None`.
    fn fit_between(
        &self,
        now: SimTime,
        duration: SimDuration,
        procs: u32,
        start_before: SimTime,
        before: SimTime,
    ) -> Option<SimTime> {
        let procs = i64::from(procs);
        let mut from = self.floor(now.as_ms())?.0;
        loop {
            let step = self.first_at_least(from, procs)?;
            let candidate = SimTime::from_ms(step).max(now);
            if candidate >= start_before {
                return None;
            }
            let needed_until = (candidate + duration).min(before);
            match self.first_below(step + 1, procs) {
                Some(short) if short < needed_until.as_ms() => from = short + 1,
                _ => return Some(candidate),
            }
        }
    }

    /// The largest number of free processors at any time in `[from, until)`.
    fn max_free(&self, from: SimTime, until: SimTime) -> u32 {
        let Some((start, _)) = self.floor(from.as_ms()) else {
            return 0;
        };
        let max = self.range_max(self.root, 0, start, until.as_ms(), false, false);
        max.clamp(0, i64::from(self.total)) as u32
    }

    /// Maximum over breakpoints with keys in `[lo, hi)`; `all_lo` / `all_hi` say the bound
    /// is already known to hold for the whole subtree.
    fn range_max(&self, n: u32, acc: i64, lo: u64, hi: u64, all_lo: bool, all_hi: bool) -> i64 {
        if n == NIL {
            return i64::MIN;
        }
        let node = &self.nodes[n as usize];
        if all_lo && all_hi {
            return node.max + acc;
        }
        let below = acc + node.lazy;
        if node.key < lo {
            return self.range_max(node.right, below, lo, hi, all_lo, all_hi);
        }
        if node.key >= hi {
            return self.range_max(node.left, below, lo, hi, all_lo, all_hi);
        }
        let mut best = node.value + acc;
        best = best.max(self.range_max(node.left, below, lo, hi, all_lo, true));
        best.max(self.range_max(node.right, below, lo, hi, true, all_hi))
    }

    /// Drops steps that end at or before `now`.
    fn forget_before(&mut self, now: SimTime) {
        let Some((start, _)) = self.floor(now.as_ms()) else {
            return;
        };
        if start == 0 {
            return;
        }
        let (old, keep) = self.split(self.root, start);
        self.release_subtree(old);
        self.root = keep;
    }

    /// A treap holding these steps (sorted by time, the first at or before every query).
    fn from_steps(total: u32, steps: &[(u64, i64)]) -> Self {
        let mut p = TreapProfile {
            nodes: Vec::with_capacity(steps.len()),
            free_slots: Vec::new(),
            root: NIL,
            len: 0,
            total,
            rng_state: 0x9e37_79b9_7f4a_7c15,
        };
        for &(key, value) in steps {
            let node = p.new_node(key, value);
            p.root = p.merge(p.root, node);
        }
        p
    }

    /// The steps as `(start ms, free)` pairs, in time order.
    fn steps_list(&mut self) -> Vec<(u64, i64)> {
        let mut out = Vec::with_capacity(self.len);
        let mut stack = Vec::new();
        let mut n = self.root;
        while n != NIL || !stack.is_empty() {
            while n != NIL {
                self.push_down(n);
                stack.push(n);
                n = self.nodes[n as usize].left;
            }
            let top = stack.pop().expect("stack is not empty");
            out.push((self.nodes[top as usize].key, self.nodes[top as usize].value));
            n = self.nodes[top as usize].right;
        }
        out
    }

    /// Free processors at `t`.
    fn free_at(&self, t: SimTime) -> u32 {
        self.floor(t.as_ms())
            .map_or(0, |(_, v)| v.clamp(0, i64::from(self.total)) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime::from_secs(x)
    }
    fn d(x: u64) -> SimDuration {
        SimDuration::from_secs(x)
    }

    #[test]
    fn reserve_release_and_merge() {
        let mut p = Profile::new(10);
        p.reserve(s(5), s(10), 4);
        p.reserve(s(10), s(20), 4);
        assert_eq!(p.steps(), 3); // [0,5)=10 [5,20)=6 [20,..)=10: merged
        assert_eq!(p.free_at(s(12)), 6);
        p.release(s(5), s(20), 4);
        assert_eq!(p.steps(), 1);
    }

    #[test]
    fn both_representations_agree_with_brute_force_across_switches() {
        // Enough reservations to cross into the treap, then releases to come back.
        let mut p = Profile::with_thresholds(64, 1_000, 300);
        let mut held = Vec::new();
        for k in 0..1500u64 {
            let (a, b, procs) = (s(7 * k), s(7 * k + 5 + k % 9), ((k * 37) % 60) as u32);
            if p.earliest_fit(s(7 * k), b - a, procs) == a {
                p.reserve(a, b, procs);
                held.push((a, b, procs));
            }
        }
        assert!(p.is_tree(), "{} steps", p.steps());
        check_against_brute_force(&p, 10_600);
        for &(a, b, procs) in held.iter().rev().take(held.len() - 100) {
            p.release(a, b, procs);
        }
        assert!(!p.is_tree(), "{} steps", p.steps());
        check_against_brute_force(&p, 10_600);
    }

    #[test]
    fn advancing_the_present_keeps_the_future_exact() {
        // Reservations and releases around a moving present (which drops dead steps and
        // makes the present's step start now, and whose dead slots splits and merges near it
        // shift into), checked against free counts kept per instant.
        const HORIZON: usize = 3_000;
        let total = 16u32;
        let mut p = Profile::new(total);
        let mut model = vec![total; HORIZON + 200];
        let mut held: Vec<(u64, u64, u32)> = Vec::new();
        let mut x = 7u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..2_000u64 {
            let now = step;
            p.forget_before(s(now));
            // Release something held (possibly in part, as a job ending early does).
            if next() % 3 == 0 && !held.is_empty() {
                let k = (next() % held.len() as u64) as usize;
                let (a, b, procs) = held.swap_remove(k);
                let from = a.max(now);
                if from < b {
                    p.release(s(from), s(b), procs);
                    model[from as usize..b as usize]
                        .iter_mut()
                        .for_each(|f| *f += procs);
                }
            }
            // Reserve at the earliest fit from now (often now itself).
            let procs = 1 + (next() % 8) as u32;
            let dur = 1 + next() % 40;
            let want = (now..)
                .find(|&t| (t..t + dur).all(|y| model[y as usize] >= procs))
                .unwrap();
            let got = p.earliest_fit(s(now), d(dur), procs);
            assert_eq!(
                got,
                s(want),
                "step {step}: earliest fit of {procs} for {dur}"
            );
            let at = want;
            if at + dur < HORIZON as u64 {
                p.reserve(s(at), s(at + dur), procs);
                model[at as usize..(at + dur) as usize]
                    .iter_mut()
                    .for_each(|f| *f -= procs);
                held.push((at, at + dur, procs));
            }
            for t in now..now + 200 {
                assert_eq!(
                    p.free_at(s(t)),
                    model[t as usize],
                    "step {step}: free at {t}"
                );
            }
            let Repr::Vec(v) = &p.repr else {
                panic!("a short profile is a vector")
            };
            assert_eq!(v.times[v.live], s(now), "step {step}: the present's step");
            assert!(v.times[..=v.live].windows(2).all(|w| w[0] <= w[1]));
            assert!(
                v.times[v.live..].windows(2).all(|w| w[0] < w[1]),
                "step {step}: live steps in time order"
            );
            assert!(
                v.free[v.live..].windows(2).all(|w| w[0] != w[1]),
                "step {step}: equal neighbours merged"
            );
        }
    }

    /// The search as a plain walk over steps, one at a time (what the bit-mask search
    /// must agree with).
    fn fit_between_by_steps(
        p: &VecProfile,
        now: SimTime,
        duration: SimDuration,
        procs: u32,
        start_before: SimTime,
        before: SimTime,
    ) -> Option<SimTime> {
        let mut i = p.step_at(now);
        let mut candidate = now;
        while candidate < start_before {
            if p.free[i] < procs {
                candidate = *p.times.get(i + 1)?;
            } else {
                let needed_until = (candidate + duration).min(before);
                match p.times.get(i + 1) {
                    Some(&next) if next < needed_until => {}
                    _ => return Some(candidate),
                }
            }
            i += 1;
        }
        None
    }

    #[test]
    fn the_bit_mask_search_agrees_with_a_walk_over_steps() {
        // Profiles of a few to a few hundred steps (across 64-step chunks), queried from
        // every kind of start, length, size and bound.
        let mut x = 99u64;
        let mut next = move |below: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % below
        };
        let mut most_steps = 0;
        for round in 0..60 {
            let total = 1 + next(200) as u32;
            let mut p = VecProfile::new(total);
            for _ in 0..(round * 10) {
                let start = next(20_000);
                let end = start + 1 + next(400);
                let procs = 1 + next(u64::from(total)) as u32;
                let held = (start..end).map(|t| p.free_at(s(t))).min().unwrap();
                if held >= procs {
                    p.reserve(s(start), s(end), procs);
                }
            }
            if next(2) == 0 {
                p.forget_before(s(next(2_000)));
            }
            most_steps = most_steps.max(p.steps() - p.live);
            let first = p.times[p.live].as_ms() / 1000;
            for _ in 0..400 {
                let now = s(first + next(21_000));
                let duration = d(next(600));
                let procs = next(u64::from(total) + 2) as u32;
                let start_before = now + d(next(6_000));
                let before = if next(3) == 0 {
                    SimTime::MAX
                } else {
                    start_before + d(next(300))
                };
                assert_eq!(
                    p.fit_between(now, duration, procs, start_before, before),
                    fit_between_by_steps(&p, now, duration, procs, start_before, before),
                    "round {round}, {} steps: {procs} procs for {duration:?} from {now:?}, \
                     start before {start_before:?}, window before {before:?}",
                    p.steps()
                );
            }
        }
        assert!(
            most_steps > 3 * 64,
            "profiles span several chunks: {most_steps}"
        );
    }

    fn check_against_brute_force(p: &Profile, horizon: u64) {
        for procs in [1, 5, 20, 40, 63, 64] {
            for dur in [1, 3, 9, 30] {
                for now in [0, 13, 555, 1999, horizon / 2] {
                    let got = p.earliest_fit(s(now), d(dur), procs);
                    let want = (now..)
                        .find(|&t| (t..t + dur).all(|x| p.free_at(s(x)) >= procs))
                        .unwrap();
                    assert_eq!(got, s(want), "procs {procs} dur {dur} now {now}");
                    // a job reserved at `before`, searching starts before `start_before`
                    let (start_before, before) = (now + 25, now + 40);
                    let want = (now..start_before)
                        .find(|&t| (t..(t + dur).min(before)).all(|x| p.free_at(s(x)) >= procs));
                    assert_eq!(
                        p.earlier_fit(s(now), d(dur), procs, s(start_before), s(before)),
                        want.map(s),
                        "earlier fit: procs {procs} dur {dur} now {now}"
                    );
                    let until = now + 40;
                    let max = (now..until).map(|x| p.free_at(s(x))).max().unwrap();
                    assert_eq!(
                        p.max_free(s(now), s(until)),
                        max,
                        "max over [{now}, {until})"
                    );
                }
            }
        }
    }

    #[test]
    fn earliest_fit_agrees_with_brute_force() {
        let mut p = Profile::new(64);
        for k in 0..200u64 {
            p.reserve(s(10 * k), s(10 * k + 7 + k % 5), ((k * 37) % 60) as u32);
        }
        for procs in [1, 5, 20, 40, 63, 64] {
            for dur in [1, 3, 9, 30] {
                for now in [0, 13, 555, 1999] {
                    let got = p.earliest_fit(s(now), d(dur), procs);
                    // brute force over whole seconds (all breakpoints are whole seconds)
                    let want = (now..)
                        .find(|&t| (t..t + dur).all(|x| p.free_at(s(x)) >= procs))
                        .unwrap();
                    assert_eq!(got, s(want), "procs {procs} dur {dur} now {now}");
                }
            }
        }
    }

    #[test]
    fn earliest_fit_finds_holes_long_enough() {
        let mut p = Profile::new(10);
        p.reserve(s(0), s(10), 8); // 2 free until 10
        p.reserve(s(15), s(30), 9); // hole of 10 free in [10,15), then 1 free until 30
        assert_eq!(p.earliest_fit(s(0), d(10), 2), s(0));
        assert_eq!(p.earliest_fit(s(0), d(100), 2), s(30));
        assert_eq!(p.earliest_fit(s(0), d(5), 5), s(10));
        assert_eq!(p.earliest_fit(s(0), d(6), 5), s(30));
        assert_eq!(p.earliest_fit(s(3), d(0), 1), s(3));
        assert_eq!(p.max_free(s(0), s(10)), 2);
        assert_eq!(p.max_free(s(0), s(11)), 10);
        // a job reserved at 30 for 5 s could use the hole at 10; one needing 6 s could not
        assert_eq!(p.earlier_fit(s(0), d(5), 5, s(30), s(30)), Some(s(10)));
        assert_eq!(p.earlier_fit(s(0), d(6), 5, s(30), s(30)), None);
        // its own reservation counts as free: reserved at 12 for 10 s, it may start at 10
        assert_eq!(p.earlier_fit(s(0), d(10), 5, s(12), s(12)), Some(s(10)));
        // starts at or after `start_before` are not searched
        assert_eq!(p.earlier_fit(s(0), d(5), 5, s(10), s(30)), None);
        assert_eq!(p.earlier_fit(s(0), d(5), 5, s(11), s(30)), Some(s(10)));
        assert_eq!(p.earlier_fit(s(11), d(3), 5, s(14), s(30)), Some(s(11)));
    }
}
