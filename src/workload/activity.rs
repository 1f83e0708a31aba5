//! What a session's user does while it runs: busy and idle periods, alternating.
//!
//! A session's *timeline* is measured in time since its first segment started (wall time:
//! suspended or requeued time counts, because the user's day goes on while the session is
//! held back). It starts busy: busy until `ends[0]`, idle until `ends[1]`, busy until
//! `ends[2]`, … The periods are drawn until they cover the session's runtime (its length
//! uninterrupted at rate 1); the last period drawn, if idle, lasts forever, and after a last
//! busy period the session is idle forever: once the work the user came for is done, they
//! are gone. A class's `idle_fraction` f is the timeline with one idle tail: busy for the
//! first (1 − f) of the runtime, idle after.
//!
//! The idle-waste metrics (`metrics::resources`) and the idle culler (`simulation`) both
//! read a session's timeline here.

use super::classes::NodeWorkload;
use super::Job;

/// The most periods drawn for one session: 10,000 (a 2-hour session of 1-second periods
/// needs 7,200); past the last one drawn the user counts as gone. It bounds what a scenario
/// can make the generator allocate.
pub const MAX_PERIODS_PER_SESSION: usize = 10_000;

/// Every profiled job's period ends, flattened: job `i`'s are
/// `ends_ms[first[i]..first[i + 1]]`, ms since its first start, increasing. Jobs without a
/// profile have none. Empty (nothing allocated) when no job has a profile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Per job, the index of its first period end in `ends_ms`, plus one final entry (so
    /// `jobs + 1` entries); empty when no job has a profile.
    pub first: Vec<u64>,
    /// The period ends, ms since the job's first start.
    pub ends_ms: Vec<u64>,
}

impl Activity {
    /// Whether no job has a profile.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// Job `i`'s period ends (empty: it has no profile).
    pub fn periods(&self, i: usize) -> &[u64] {
        match (self.first.get(i), self.first.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.ends_ms[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Appends the next job's period ends (empty for a job without a profile).
    pub fn push(&mut self, ends_ms: &[u64]) {
        if self.first.is_empty() {
            self.first.push(0);
        }
        self.ends_ms.extend_from_slice(ends_ms);
        self.first.push(self.ends_ms.len() as u64);
    }

    /// Keeps the jobs for which `keep` says so, in order (a filter dropped the others).
    pub fn retain(&mut self, keep: &[bool]) {
        if self.is_empty() {
            return;
        }
        let old = std::mem::take(self);
        let jobs = old.first.len() - 1;
        for (i, _) in keep.iter().enumerate().take(jobs).filter(|(_, &k)| k) {
            self.push(old.periods(i));
        }
        if self.ends_ms.is_empty() {
            *self = Activity::default();
        }
    }
}

/// A session's timeline (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeline<'a> {
    /// No profile and no idle share: always busy.
    Busy,
    /// Drawn periods.
    Periods(&'a [u64]),
    /// `idle_fraction`: busy for this long, idle after.
    IdleTail {
        /// Length of the busy part, ms.
        busy_ms: u64,
    },
}

/// Where a session's user is at some point of its timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    /// Whether the session is idle.
    pub idle: bool,
    /// When the current period began, ms since the first start.
    pub since_ms: u64,
    /// When the user is busy again, ms since the first start (idle only; `None`: never).
    pub back_ms: Option<u64>,
}

impl<'a> Timeline<'a> {
    /// The timeline of job `i` of `nw` (`job` is its record, for the runtime an idle share
    /// applies to).
    pub fn of(nw: &'a NodeWorkload, i: usize, job: &Job) -> Timeline<'a> {
        let periods = nw.activity.periods(i);
        if !periods.is_empty() {
            return Timeline::Periods(periods);
        }
        let f = f64::from(nw.user(i).idle_fraction);
        if f > 0.0 {
            let work_ms = job.work.as_ms();
            let busy_ms = ((1.0 - f).max(0.0) * work_ms as f64).round() as u64;
            Timeline::IdleTail {
                busy_ms: busy_ms.min(work_ms),
            }
        } else {
            Timeline::Busy
        }
    }

    /// Runs `f` on the period ends with the rule for the last one applied: an odd number of
    /// ends, the last ending a busy period, idle forever after it (a last idle period drawn
    /// is cut off: it lasts forever from where it began).
    fn with_ends<T>(&self, f: impl FnOnce(&[u64]) -> T) -> Option<T> {
        match *self {
            Timeline::Busy => None,
            Timeline::Periods(ends) => {
                let odd = if ends.len() % 2 == 0 {
                    &ends[..ends.len() - 1]
                } else {
                    ends
                };
                Some(f(odd))
            }
            Timeline::IdleTail { busy_ms } => Some(f(&[busy_ms])),
        }
    }

    /// The user's state at `at_ms` since the first start.
    pub fn state_at(&self, at_ms: u64) -> State {
        self.with_ends(|ends| {
            // Period k spans [ends[k − 1], ends[k]) (ends[−1] = 0); even k are busy.
            let k = ends.partition_point(|&e| e <= at_ms);
            let since_ms = if k == 0 { 0 } else { ends[k - 1] };
            if k == ends.len() {
                return State {
                    idle: true,
                    since_ms,
                    back_ms: None,
                };
            }
            let idle = k % 2 == 1;
            State {
                idle,
                since_ms,
                back_ms: idle.then_some(ends[k]),
            }
        })
        .unwrap_or(State {
            idle: false,
            since_ms: 0,
            back_ms: None,
        })
    }

    /// The first instant at or after `from_ms` at which the user has been idle for
    /// `threshold_ms` without a break (since the first start), if any: `from_ms` itself
    /// when they already have. Only idle periods at least that long count.
    pub fn idle_reaches(&self, from_ms: u64, threshold_ms: u64) -> Option<u64> {
        self.with_ends(|ends| {
            // Idle periods: [ends[k], ends[k + 1]) for even k, the last one endless.
            let p = ends.partition_point(|&e| e <= from_ms);
            // The idle period holding `from_ms`, or the next one.
            let mut k = if p % 2 == 1 { p - 1 } else { p };
            while k < ends.len() {
                let (a, b) = (ends[k], ends.get(k + 1).copied().unwrap_or(u64::MAX));
                let crossing = a.saturating_add(threshold_ms);
                if crossing < b && from_ms < b {
                    return Some(crossing.max(from_ms));
                }
                k += 2;
            }
            None
        })
        .flatten()
    }

    /// Idle time within `[from_ms, to_ms)` since the first start, ms.
    pub fn idle_ms_in(&self, from_ms: u64, to_ms: u64) -> u64 {
        let mut busy_ms = 0;
        self.busy_spans_in(from_ms, to_ms, |a, b| busy_ms += b - a);
        to_ms.saturating_sub(from_ms) - busy_ms
    }

    /// Calls `f(a, b)` for each busy span `[a, b)` within `[from_ms, to_ms)` since the first
    /// start, in time order (non-empty spans only).
    pub fn busy_spans_in(&self, from_ms: u64, to_ms: u64, mut f: impl FnMut(u64, u64)) {
        if to_ms <= from_ms {
            return;
        }
        let all_busy = self
            .with_ends(|ends| {
                // Busy intervals: [ends[k − 1], ends[k]) for even k (ends[−1] = 0); idle
                // after the last end.
                // `from_ms` is in period p: busy (even p) from ends[p − 1], else the next
                // busy interval is period p + 1.
                let p = ends.partition_point(|&e| e <= from_ms);
                let mut k = if p % 2 == 0 { p } else { p + 1 };
                while k < ends.len() {
                    let start = if k == 0 { 0 } else { ends[k - 1] };
                    if start >= to_ms {
                        break;
                    }
                    let a = start.max(from_ms);
                    let b = ends[k].min(to_ms);
                    if a < b {
                        f(a, b);
                    }
                    k += 2;
                }
            })
            .is_none();
        if all_busy {
            f(from_ms, to_ms);
        }
    }
}
