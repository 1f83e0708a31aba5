//! The head node's scheduler (`[controller]` in a scenario): Slurm's two scheduling loops,
//! each pass testing a bounded number of jobs.
//!
//! **This project's model** (documented in the README and docs/semantics.md, *The
//! controller*), with Slurm's names and defaults (`slurm.conf` `SchedulerParameters`):
//!
//! - *The main loop.* At an instant where something changed (a submission, a job's end, a
//!   node failure or repair), a main pass runs if at least `sched_min_interval_s` has passed
//!   since the previous one (else one runs once it has). It tests at most
//!   `default_queue_depth` jobs in queue order, starting each that fits now; a job that does
//!   not fit blocks the jobs behind it in its partition, as Slurm's main scheduler skips a
//!   partition once one of its jobs cannot start. It never backfills. Every
//!   `sched_interval_s`, from time 0, a main pass tests the whole queue.
//! - *The backfill loop* (policies that backfill: `easy`): every `bf_interval_s` from time
//!   0, a backfill pass runs the policy's own pass (start from the head, the head's
//!   reservation, backfilling behind it), testing at most `bf_max_job_test` jobs: a job
//!   beyond that waits for a later pass.
//! - A job is *considered* when a pass tests it (tries to place it); each job's first
//!   consideration is recorded, and the passes' counts and depths reported.
//! - Passes take no simulated time yet (their cost is the next step of this model).
//!
//! Without the section every pass is the instant one of a controller that costs nothing:
//! today's replays, unchanged.

use crate::engine::time::SimDuration;
use serde::{Deserialize, Serialize};

/// The longest interval a loop may have, s (a day: a scheduler idle longer is a typing
/// error).
pub const MAX_INTERVAL_S: u64 = 86_400;

/// `[controller]`: the scheduling loops' parameters (Slurm's `SchedulerParameters`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControllerSpec {
    /// Jobs a main pass tests when something changed (Slurm's `default_queue_depth`,
    /// default 100).
    #[serde(default = "default_queue_depth")]
    pub default_queue_depth: u32,
    /// Time between main passes that test the whole queue, s (Slurm's `sched_interval`,
    /// default 60).
    #[serde(default = "sixty")]
    pub sched_interval_s: u64,
    /// The least time between two main passes, s (Slurm's `sched_min_interval`, default 2
    /// microseconds: 0 at this model's millisecond resolution).
    #[serde(default)]
    pub sched_min_interval_s: f64,
    /// Time between backfill passes, s (Slurm's `bf_interval`, default 30).
    #[serde(default = "thirty")]
    pub bf_interval_s: u64,
    /// Jobs a backfill pass tests (Slurm's `bf_max_job_test`, default 500).
    #[serde(default = "five_hundred")]
    pub bf_max_job_test: u32,
}

fn default_queue_depth() -> u32 {
    100
}
fn sixty() -> u64 {
    60
}
fn thirty() -> u64 {
    30
}
fn five_hundred() -> u32 {
    500
}

impl Default for ControllerSpec {
    fn default() -> Self {
        ControllerSpec {
            default_queue_depth: default_queue_depth(),
            sched_interval_s: sixty(),
            sched_min_interval_s: 0.0,
            bf_interval_s: thirty(),
            bf_max_job_test: five_hundred(),
        }
    }
}

impl ControllerSpec {
    /// Checks the values; an error is (key under `controller`, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        let interval = |key: &str, v: u64| {
            if v == 0 || v > MAX_INTERVAL_S {
                Err((
                    key.to_string(),
                    format!("expected 1 to {MAX_INTERVAL_S} s, got {v}"),
                ))
            } else {
                Ok(())
            }
        };
        interval("sched_interval_s", self.sched_interval_s)?;
        interval("bf_interval_s", self.bf_interval_s)?;
        if !(self.sched_min_interval_s >= 0.0 && self.sched_min_interval_s <= MAX_INTERVAL_S as f64)
        {
            return Err((
                "sched_min_interval_s".into(),
                format!(
                    "expected 0 to {MAX_INTERVAL_S} s, got {}",
                    self.sched_min_interval_s
                ),
            ));
        }
        for (key, v) in [
            ("default_queue_depth", self.default_queue_depth),
            ("bf_max_job_test", self.bf_max_job_test),
        ] {
            if v == 0 {
                return Err((key.into(), "expected at least 1 job".into()));
            }
        }
        Ok(())
    }

    /// The run's settings.
    pub fn settings(&self) -> Controller {
        Controller {
            default_queue_depth: self.default_queue_depth,
            sched_interval: SimDuration::from_secs(self.sched_interval_s),
            sched_min_interval: SimDuration::from_ms(
                (self.sched_min_interval_s * 1000.0).round() as u64
            ),
            bf_interval: SimDuration::from_secs(self.bf_interval_s),
            bf_max_job_test: self.bf_max_job_test,
        }
    }
}

/// The controller of a run, as the engine follows it (`summary.json` reports its spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controller {
    /// Jobs a main pass tests when something changed.
    pub default_queue_depth: u32,
    /// Time between main passes over the whole queue.
    pub sched_interval: SimDuration,
    /// The least time between two main passes.
    pub sched_min_interval: SimDuration,
    /// Time between backfill passes.
    pub bf_interval: SimDuration,
    /// Jobs a backfill pass tests.
    pub bf_max_job_test: u32,
}

/// Which loop a pass belongs to, and how many jobs it may test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// The main loop: start from the head, each partition until one of its jobs does not
    /// fit, at most this many jobs tested.
    Main {
        /// The most jobs tested.
        depth: u32,
    },
    /// The backfill loop: the policy's own pass, at most this many jobs tested.
    Backfill {
        /// The most jobs tested.
        max_job_test: u32,
    },
}

/// What one controller pass did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cycle {
    /// When it ran.
    pub at: crate::engine::time::SimTime,
    /// Main or backfill.
    pub backfill: bool,
    /// Whether it could test the whole queue (a main pass every `sched_interval`).
    pub full: bool,
    /// Jobs it tested.
    pub tested: u32,
    /// Whether it stopped at its limit with jobs left untested.
    pub hit_limit: bool,
    /// Jobs it started.
    pub started: u32,
}

/// The controller's own report, in the style of Slurm's `sdiag` (`summary.json`
/// `metrics.controller`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ControllerMetrics {
    /// Main passes.
    pub main_cycles: u64,
    /// Of them, over the whole queue (every `sched_interval`).
    pub main_full_cycles: u64,
    /// Mean and most jobs a main pass tested.
    pub main_depth_mean: f64,
    /// The most.
    pub main_depth_max: u64,
    /// Main passes that stopped at `default_queue_depth` with jobs left.
    pub main_cycles_at_depth: u64,
    /// Jobs the main loop started.
    pub main_started: u64,
    /// Backfill passes.
    pub backfill_cycles: u64,
    /// Mean and most jobs a backfill pass tested.
    pub backfill_depth_mean: f64,
    /// The most.
    pub backfill_depth_max: u64,
    /// Backfill passes that stopped at `bf_max_job_test` with jobs left.
    pub backfill_cycles_at_limit: u64,
    /// Jobs the backfill loop started.
    pub backfill_started: u64,
    /// Mean time from submission to a job's first consideration, s, over the jobs
    /// considered.
    pub wait_before_consideration_mean_s: f64,
    /// The longest.
    pub wait_before_consideration_max_s: f64,
}

/// The report of a run's cycles and its jobs' first considerations.
pub fn metrics(
    cycles: &[Cycle],
    submits: &[crate::engine::time::SimTime],
    first_considered: &[Option<crate::engine::time::SimTime>],
) -> ControllerMetrics {
    let mut m = ControllerMetrics::default();
    let (mut main_tested, mut backfill_tested) = (0u64, 0u64);
    for c in cycles {
        let tested = u64::from(c.tested);
        if c.backfill {
            m.backfill_cycles += 1;
            backfill_tested += tested;
            m.backfill_depth_max = m.backfill_depth_max.max(tested);
            m.backfill_cycles_at_limit += u64::from(c.hit_limit);
            m.backfill_started += u64::from(c.started);
        } else {
            m.main_cycles += 1;
            m.main_full_cycles += u64::from(c.full);
            main_tested += tested;
            m.main_depth_max = m.main_depth_max.max(tested);
            m.main_cycles_at_depth += u64::from(c.hit_limit);
            m.main_started += u64::from(c.started);
        }
    }
    let mean = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
    m.main_depth_mean = mean(main_tested, m.main_cycles);
    m.backfill_depth_mean = mean(backfill_tested, m.backfill_cycles);
    let (mut sum_ms, mut max_ms, mut n) = (0u128, 0u64, 0u64);
    for (submit, first) in submits.iter().zip(first_considered) {
        if let Some(at) = first {
            let ms = at.saturating_since(*submit).as_ms();
            sum_ms += u128::from(ms);
            max_ms = max_ms.max(ms);
            n += 1;
        }
    }
    if n > 0 {
        m.wait_before_consideration_mean_s = sum_ms as f64 / n as f64 / 1000.0;
        m.wait_before_consideration_max_s = max_ms as f64 / 1000.0;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_slurms() {
        let spec: ControllerSpec = toml::from_str("").unwrap();
        assert_eq!(spec, ControllerSpec::default());
        let c = spec.settings();
        assert_eq!(c.default_queue_depth, 100);
        assert_eq!(c.sched_interval, SimDuration::from_secs(60));
        assert_eq!(c.sched_min_interval, SimDuration::ZERO);
        assert_eq!(c.bf_interval, SimDuration::from_secs(30));
        assert_eq!(c.bf_max_job_test, 500);
        assert!(spec.check().is_ok());
        let bad = ControllerSpec {
            bf_max_job_test: 0,
            ..spec
        };
        assert_eq!(bad.check().unwrap_err().0, "bf_max_job_test");
    }
}
