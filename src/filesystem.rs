//! The shared file system (`[filesystem]` in a scenario): jobs stage data in at the start of
//! a segment and write data out at its end, all stagers sharing one aggregate bandwidth.
//!
//! **This project's model** (documented in the README, *Shared file system*):
//!
//! - A job class says how much a job reads before it works (`stage_in_gb`) and writes
//!   after its work is done (`stage_out_gb`); the scenario's `[filesystem]` says the file
//!   system's aggregate bandwidth (`bandwidth_gb_s`). Without the section nothing stages
//!   (a class with volumes then is an error), and every run is today's replay.
//! - A segment runs in phases: *stage in* (what is left of the job's input: all of it at a
//!   fresh start — the first, and after each requeue —, what a suspension cut short when
//!   it resumes, nothing otherwise), then the start-up latency (fresh starts), then the
//!   work, then *stage out* (all of the output once the work is done; what is left of it
//!   on resuming a job suspended while writing). The job holds its allocation throughout,
//!   and the time limit runs in every phase: a job can time out while staging.
//! - *Processor sharing*: the `n` jobs staging at a time (in or out) each get
//!   `bandwidth / n`. Whenever a job starts or stops staging (its stage done, or its
//!   segment cut short: suspended, requeued, cancelled, failed, timed out), every stager's
//!   progress is brought up to that instant at the old share and the next end is
//!   recomputed at the new one.
//!
//! **Integer arithmetic.** Volumes are bytes (1 GB = 10⁹ bytes, as file systems quote
//! bandwidth), the bandwidth bytes per millisecond (`bandwidth_gb_s` × 10⁶, rounded to the
//! nearest byte per ms). While the number of stagers stays `n`, each stager has received
//! `⌊T × B / n⌋` bytes after `T` ms (rounded down: nobody is credited with data not moved;
//! the division's remainder is carried from one update to the next, and dropped when `n`
//! changes, so where progress is brought up to date never changes a result), and the next
//! stage ends the first millisecond the stager with the least left has it all (rounded up,
//! as a segment's length is): all stagers move at the same speed, so the one with the
//! least left ends first, and stagers with equal amounts left end at the same millisecond
//! (handled in job order).

use crate::engine::time::{SimDuration, SimTime};
use crate::lifecycle::RunResult;
use crate::workload::classes::Staging;
use crate::workload::{JobIdx, Workload};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The range of `bandwidth_gb_s`: 1 MB/s to 1 PB/s; beyond that a value is more likely a
/// typing error than a file system.
pub const BANDWIDTH_GB_S_RANGE: (f64, f64) = (0.001, 1e6);

/// The largest volume one job may stage in or out, GB (1 PB).
pub const MAX_STAGE_GB: f64 = 1e6;

/// `[filesystem]`: the shared file system jobs stage their data through.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileSystemSpec {
    /// The aggregate bandwidth every job staging at the same time shares, GB/s.
    pub bandwidth_gb_s: f64,
}

impl FileSystemSpec {
    /// The run's settings.
    pub fn settings(&self) -> FileSystemSettings {
        FileSystemSettings {
            bandwidth_gb_s: self.bandwidth_gb_s,
        }
    }
}

/// The file system's settings for a run, as `summary.json` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FileSystemSettings {
    /// The aggregate bandwidth, GB/s.
    pub bandwidth_gb_s: f64,
}

impl FileSystemSettings {
    /// The bandwidth in bytes per millisecond (at least 1).
    pub fn bytes_per_ms(&self) -> u64 {
        // GB/s × 10⁹ bytes / 10³ ms; the range check keeps it within u64.
        ((self.bandwidth_gb_s * 1e6).round() as u64).max(1)
    }
}

/// Checks `[filesystem]` and the classes' volumes: an error is (key path, message).
/// `classes` are (key prefix, stage_in_gb, stage_out_gb) of every node-level class.
pub fn check(
    spec: Option<&FileSystemSpec>,
    classes: &[(String, f64, f64)],
) -> Result<(), (String, String)> {
    if let Some(s) = spec {
        let (low, high) = BANDWIDTH_GB_S_RANGE;
        if !(low..=high).contains(&s.bandwidth_gb_s) {
            return Err((
                "filesystem.bandwidth_gb_s".into(),
                format!("expected {low} to {high} GB/s, got {}", s.bandwidth_gb_s),
            ));
        }
    }
    for (prefix, stage_in, stage_out) in classes {
        for (field, gb) in [("stage_in_gb", stage_in), ("stage_out_gb", stage_out)] {
            if !(0.0..=MAX_STAGE_GB).contains(gb) {
                return Err((
                    format!("{prefix}.{field}"),
                    format!("expected 0 to {MAX_STAGE_GB} GB, got {gb}"),
                ));
            }
            if *gb > 0.0 && spec.is_none() {
                return Err((
                    format!("{prefix}.{field}"),
                    "staging needs a shared file system: add a [filesystem] with its \
                     bandwidth_gb_s"
                        .into(),
                ));
            }
        }
    }
    Ok(())
}

/// One job staging now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stager {
    /// Bytes it still has to move.
    pub(crate) left_bytes: u64,
    /// Writing out (its work done), else reading in.
    pub(crate) out: bool,
    /// When it began this stage.
    pub(crate) since: SimTime,
}

/// The engine's file system: who stages now and how much each has left.
#[derive(Clone, Debug)]
pub(crate) struct SharedFs {
    bytes_per_ms: u64,
    /// By job, so that stages ending at one instant are handled in job order.
    stagers: BTreeMap<JobIdx, Stager>,
    /// Per job in a segment's life that still has data to stage (set at a fresh start):
    /// (input left, output left), bytes; what a suspension cut short waits here for the
    /// resumption. Kept here, not in the job's record, so that runs without a file system
    /// carry nothing for it.
    left: BTreeMap<JobIdx, (u64, u64)>,
    /// When the stagers' progress was last brought up to date.
    last: SimTime,
    /// The remainder of the last share's division (bytes × stagers, below `carry_n`), kept
    /// while the number of stagers stays `carry_n`.
    carry: u64,
    /// The number of stagers `carry` is for.
    carry_n: u64,
}

impl SharedFs {
    pub(crate) fn new(settings: FileSystemSettings) -> SharedFs {
        SharedFs {
            bytes_per_ms: settings.bytes_per_ms(),
            stagers: BTreeMap::new(),
            left: BTreeMap::new(),
            last: SimTime::ZERO,
            carry: 0,
            carry_n: 0,
        }
    }

    /// Brings every stager's progress up to `now` at the current share.
    fn advance(&mut self, now: SimTime) {
        let dt = now.saturating_since(self.last).as_ms();
        self.last = now;
        let n = self.stagers.len() as u64;
        if dt == 0 || n == 0 {
            return;
        }
        if n != self.carry_n {
            (self.carry, self.carry_n) = (0, n);
        }
        let total = u128::from(dt) * u128::from(self.bytes_per_ms) + u128::from(self.carry);
        let each = u64::try_from(total / u128::from(n)).unwrap_or(u64::MAX);
        self.carry = (total % u128::from(n)) as u64;
        for s in self.stagers.values_mut() {
            s.left_bytes = s.left_bytes.saturating_sub(each);
        }
    }

    /// `job` begins a stage of `bytes` (more than 0) at `now`.
    pub(crate) fn join(&mut self, job: JobIdx, bytes: u64, out: bool, now: SimTime) {
        self.advance(now);
        self.stagers.insert(
            job,
            Stager {
                left_bytes: bytes,
                out,
                since: now,
            },
        );
    }

    /// `job` stops staging at `now` (its stage done or cut short): what it had left.
    pub(crate) fn leave(&mut self, job: JobIdx, now: SimTime) -> Option<Stager> {
        if !self.stagers.contains_key(&job) {
            return None;
        }
        self.advance(now);
        self.stagers.remove(&job)
    }

    /// `job` starts afresh: all of `staging` is left to move.
    pub(crate) fn fresh(&mut self, job: JobIdx, staging: Staging) {
        if staging.any() {
            self.left.insert(job, (staging.in_bytes, staging.out_bytes));
        } else {
            self.left.remove(&job);
        }
    }

    /// What `job` has left to stage: (in, out), bytes.
    pub(crate) fn left(&self, job: JobIdx) -> (u64, u64) {
        self.left.get(&job).copied().unwrap_or((0, 0))
    }

    /// `job`'s stage ended with `stager.left_bytes` still to move.
    pub(crate) fn keep_left(&mut self, job: JobIdx, stager: Stager) {
        let (mut input, mut output) = self.left(job);
        if stager.out {
            output = stager.left_bytes;
        } else {
            input = stager.left_bytes;
        }
        if input == 0 && output == 0 {
            self.left.remove(&job);
        } else {
            self.left.insert(job, (input, output));
        }
    }

    /// `job` has ended: nothing of it is left to stage.
    pub(crate) fn forget(&mut self, job: JobIdx) {
        self.left.remove(&job);
    }

    /// Whether `job` is staging.
    pub(crate) fn stages(&self, job: JobIdx) -> bool {
        self.stagers.contains_key(&job)
    }

    /// When the next stage ends, if anyone stages: the stager with the least left ends
    /// `⌈(left × n − r) / B⌉` ms after the last change (`r` the remainder carried).
    pub(crate) fn next_end(&self) -> Option<SimTime> {
        let least = self.stagers.values().map(|s| s.left_bytes).min()?;
        let n = self.stagers.len() as u64;
        let carry = if n == self.carry_n { self.carry } else { 0 };
        // left ≥ 1 and carry < n: the numerator is positive.
        let need = u128::from(least) * u128::from(n) - u128::from(carry);
        let ms = need.div_ceil(u128::from(self.bytes_per_ms));
        Some(self.last + SimDuration::from_ms(u64::try_from(ms).unwrap_or(u64::MAX)))
    }

    /// The stages done at `now`, in job order, taken out of the file system.
    pub(crate) fn take_done(&mut self, now: SimTime) -> Vec<(JobIdx, Stager)> {
        self.advance(now);
        let done: Vec<JobIdx> = self
            .stagers
            .iter()
            .filter(|(_, s)| s.left_bytes == 0)
            .map(|(&j, _)| j)
            .collect();
        done.into_iter()
            .filter_map(|j| self.stagers.remove(&j).map(|s| (j, s)))
            .collect()
    }
}

/// Per job, its staging time over all its segments, ms.
pub fn staging_ms_by_job(result: &RunResult, jobs: usize) -> Vec<u64> {
    let mut ms = vec![0u64; jobs];
    for (s, st) in result.segments.iter().zip(&result.stages) {
        if let Some(slot) = ms.get_mut(s.job.get()) {
            *slot += st.total_ms();
        }
    }
    ms
}

/// The file system's stages of a finished run as `[from, to)` intervals with their
/// segment's index and whether they stage out, in segment order: a segment's stage in is
/// its first `in_ms`, its stage out its last `out_ms`.
pub fn stage_intervals(result: &RunResult) -> Vec<(SimTime, SimTime, usize, bool)> {
    let mut v = Vec::new();
    for (k, (s, st)) in result.segments.iter().zip(&result.stages).enumerate() {
        if st.in_ms > 0 {
            v.push((s.start, s.start + SimDuration::from_ms(st.in_ms), k, false));
        }
        if st.out_ms > 0 {
            let from = SimTime::from_ms(s.end.as_ms().saturating_sub(st.out_ms));
            v.push((from, s.end, k, true));
        }
    }
    v
}

/// What the file system did (`summary.json` `metrics.filesystem`, present when the
/// scenario has a `[filesystem]`; its bandwidth is in `options.filesystem`, and not
/// repeated here, where a sweep over `filesystem.bandwidth_gb_s` would find a metric of
/// the same name).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FileSystemMetrics {
    /// Jobs that spent time staging.
    pub jobs_staging: u64,
    /// Time jobs spent staging in, summed over segments, s.
    pub stage_in_s: f64,
    /// Time jobs spent staging out, summed over segments, s.
    pub stage_out_s: f64,
    /// Node-hours held while staging: Σ over segments of nodes × staging time.
    pub staging_node_hours: f64,
    /// The file system's busy time: time with at least one job staging, s.
    pub busy_s: f64,
    /// Busy time over the makespan (0 for an empty run).
    pub busy_fraction: f64,
    /// Data moved, GB: busy time × bandwidth (a busy file system moves data at its full
    /// bandwidth; stage ends rounded up to the millisecond make this an upper bound by at
    /// most a millisecond's worth per stage).
    pub volume_moved_gb: f64,
    /// Mean number of jobs staging while the file system is busy (time-weighted; 0 when
    /// it never was).
    pub stagers_mean: f64,
    /// Most jobs staging at once.
    pub stagers_max: u64,
}

/// The file system's metrics of a finished run, from its segments alone.
pub fn metrics(
    settings: FileSystemSettings,
    workload: &Workload,
    result: &RunResult,
    makespan_s: f64,
) -> FileSystemMetrics {
    let per_job = staging_ms_by_job(result, workload.jobs.len());
    let (mut in_ms, mut out_ms, mut node_ms) = (0u64, 0u64, 0u128);
    for (s, st) in result.segments.iter().zip(&result.stages) {
        in_ms += st.in_ms;
        out_ms += st.out_ms;
        node_ms += u128::from(s.node_count) * u128::from(st.total_ms());
    }
    // Ends before starts at one instant: a stage ending at t and one beginning at t never
    // overlap.
    let mut changes: Vec<(SimTime, i64)> = Vec::new();
    for (from, to, _, _) in stage_intervals(result) {
        changes.push((from, 1));
        changes.push((to, -1));
    }
    changes.sort_unstable();
    let (mut busy_ms, mut now, mut count, mut max) = (0u64, SimTime::ZERO, 0i64, 0i64);
    for (t, delta) in changes {
        if count > 0 {
            busy_ms += t.saturating_since(now).as_ms();
        }
        now = t;
        count += delta;
        max = max.max(count);
    }
    let busy_s = busy_ms as f64 / 1000.0;
    FileSystemMetrics {
        jobs_staging: per_job.iter().filter(|&&ms| ms > 0).count() as u64,
        stage_in_s: in_ms as f64 / 1000.0,
        stage_out_s: out_ms as f64 / 1000.0,
        staging_node_hours: node_ms as f64 / 3_600_000.0,
        busy_s,
        busy_fraction: if makespan_s > 0.0 {
            busy_s / makespan_s
        } else {
            0.0
        },
        volume_moved_gb: busy_s * settings.bandwidth_gb_s,
        stagers_mean: if busy_ms > 0 {
            (in_ms + out_ms) as f64 / busy_ms as f64
        } else {
            0.0
        },
        stagers_max: max.max(0) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_GB_S: FileSystemSettings = FileSystemSettings {
        bandwidth_gb_s: 1.0,
    };

    #[test]
    fn two_stagers_share_the_bandwidth_and_the_rounding_is_up_for_ends() {
        let mut fs = SharedFs::new(ONE_GB_S);
        assert_eq!(ONE_GB_S.bytes_per_ms(), 1_000_000);
        fs.join(JobIdx(0), 10_000_000_000, false, SimTime::ZERO);
        assert_eq!(fs.next_end(), Some(SimTime::from_secs(10)));
        fs.join(JobIdx(1), 10_000_000_000, false, SimTime::ZERO);
        // 10 GB each at 0.5 GB/s.
        assert_eq!(fs.next_end(), Some(SimTime::from_secs(20)));
        let done = fs.take_done(SimTime::from_secs(20));
        assert_eq!(
            done.iter().map(|(j, _)| j.0).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(fs.next_end(), None);
        // Three stagers, 1 byte each, 1 byte/ms: ⌈1 × 3 / 1⌉ = 3 ms.
        let mut fs = SharedFs::new(FileSystemSettings {
            bandwidth_gb_s: 0.000_001,
        });
        for j in 0..3 {
            fs.join(JobIdx(j), 1, true, SimTime::ZERO);
        }
        // Each gets ⌊3 × 1 / 3⌋ = 1 byte in ⌈1 × 3 / 1⌉ = 3 ms.
        assert_eq!(fs.next_end(), Some(SimTime::from_ms(3)));
        assert_eq!(fs.take_done(SimTime::from_ms(3)).len(), 3);
    }

    /// Bringing progress up to date where the number of stagers does not change (a stage
    /// that begins and ends at one instant) changes no result: the remainder is carried.
    #[test]
    fn an_update_in_the_middle_of_a_stretch_changes_nothing() {
        let slow = FileSystemSettings {
            bandwidth_gb_s: 0.000_001,
        };
        let start = |fs: &mut SharedFs| {
            for j in 0..3 {
                fs.join(JobIdx(j), 2, false, SimTime::ZERO);
            }
        };
        let mut plain = SharedFs::new(slow);
        start(&mut plain);
        // 3 × 2 bytes at 1 byte per ms: 6 ms.
        assert_eq!(plain.next_end(), Some(SimTime::from_ms(6)));
        let mut cut = SharedFs::new(slow);
        start(&mut cut);
        // At 2 ms each has ⌊2 / 3⌋ = 0 bytes, 2 carried; a fourth comes and goes.
        cut.join(JobIdx(3), 5, false, SimTime::from_ms(2));
        assert!(cut.leave(JobIdx(3), SimTime::from_ms(2)).is_some());
        assert_eq!(cut.next_end(), Some(SimTime::from_ms(6)));
        assert_eq!(cut.take_done(SimTime::from_ms(6)).len(), 3);
    }
}
